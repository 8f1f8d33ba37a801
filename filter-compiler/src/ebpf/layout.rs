//! What the eBPF program's maps hold: the one home of the counter slots and the flow-table
//! key and value layouts, for the code generator that writes them and the tool that reads them.

/// The counters map: a per-CPU array of one entry, a row of u64 counters. Slot numbers.
pub mod slot {
    /// Every packet the socket's filter ran on.
    pub const SEEN_PACKETS: usize = 0;
    /// Their length as the capture file records it, so that the matched bytes are the sum
    /// of the written packets' lengths: Ethernet frames with their VLAN tag (the kernel
    /// strips it before the filter runs), cooked packets (`any`) with the cooked header.
    pub const SEEN_BYTES: usize = 1;
    /// Wire segments: a GSO packet counts `gso_segs`, any other 1.
    pub const SEEN_SEGMENTS: usize = 2;
    /// The packets the filter accepted.
    pub const MATCHED_PACKETS: usize = 3;
    pub const MATCHED_BYTES: usize = 4;
    pub const MATCHED_SEGMENTS: usize = 5;
    /// First of [`super::L3_CLASSES`]`.len()` slots: packets seen, by link-layer class.
    pub const SEEN_L3: usize = 6;
    /// First of [`super::L4_CLASSES`]`.len()` slots: packets seen, by transport.
    pub const SEEN_L4: usize = SEEN_L3 + super::L3_CLASSES.len();
    pub const MATCHED_L3: usize = SEEN_L4 + super::L4_CLASSES.len();
    pub const MATCHED_L4: usize = MATCHED_L3 + super::L3_CLASSES.len();
    /// New entries the program put in the flow table (with the entry count, tells evictions).
    pub const FLOW_INSERTS: usize = MATCHED_L4 + super::L4_CLASSES.len();
    /// Matched packets the flow table could not take (an update the kernel refused).
    pub const FLOW_FAILURES: usize = FLOW_INSERTS + 1;
    /// Rule `i` counts packets at `RULES + 2 * i` and bytes at `RULES + 2 * i + 1`.
    pub const RULES: usize = FLOW_FAILURES + 1;
}

/// Link-layer classes, in slot order. Exactly one per packet: `vlan` for a tagged frame
/// (the kernel stripped the tag, or one is in the packet: TPID 0x8100, 0x88a8 or 0x9100, as
/// libpcap's `vlan` takes them), else by EtherType.
pub const L3_CLASSES: [&str; 5] = ["ipv4", "ipv6", "arp", "vlan", "other"];
/// Transport classes, in slot order; exactly one per packet (`other` includes non-IP).
/// IPv4 and IPv6 behind the tag the kernel stripped and one more tag in the packet count
/// too; up to three IPv6 extension headers are skipped.
pub const L4_CLASSES: [&str; 6] = ["tcp", "udp", "icmp", "icmp6", "sctp", "other"];

pub const L3_IPV4: usize = 0;
pub const L3_IPV6: usize = 1;
pub const L3_ARP: usize = 2;
pub const L3_VLAN: usize = 3;
pub const L3_OTHER: usize = 4;

pub const L4_TCP: usize = 0;
pub const L4_UDP: usize = 1;
pub const L4_ICMP: usize = 2;
pub const L4_ICMP6: usize = 3;
pub const L4_SCTP: usize = 4;
pub const L4_OTHER: usize = 5;

/// Number of u64 counters for `rules` rules.
pub const fn counter_slots(rules: usize) -> usize {
    slot::RULES + 2 * rules
}

/// The flow table: an LRU hash from [`FlowKey`] to two u64 (packets, bytes), updated
/// atomically, behind a per-CPU cache of recent flows (see [`cache`]). Offsets in the key.
pub mod flow {
    /// EtherType (u16, host order).
    pub const ETHERTYPE: usize = 0;
    /// IP protocol (u8), 0 if none.
    pub const PROTO: usize = 2;
    /// Link-layer class (u8), an index of [`super::L3_CLASSES`].
    pub const L3: usize = 3;
    /// Source port (u16, host order), or ICMP/ICMPv6 type.
    pub const SPORT: usize = 4;
    /// Destination port (u16), or ICMP/ICMPv6 code.
    pub const DPORT: usize = 6;
    /// Source address: IPv4 in the first u32, IPv6 in four; each u32 in host order of the
    /// big-endian word (as a classic word load leaves it).
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
    pub const KEY_SIZE: usize = 40;
    /// Value: packets (u64) at 0, bytes (u64) at 8.
    pub const VALUE_SIZE: usize = 16;
}

/// The flow cache: a per-CPU array, direct-mapped by a hash of the key, in front of the
/// shared LRU table. A packet whose flow is in its slot adds to the slot, with plain adds on
/// this CPU's row: no hashing by the kernel, no shared cache line, no atomic operation. A
/// packet of another flow moves the slot's counts into the LRU table (adding to the flow's
/// entry, or inserting one) and takes the slot. So a flow's counts are its LRU entry plus its
/// slots on every CPU, and the reader adds them up ([`entries`]).
pub mod cache {
    use super::{flow, FlowKey};

    /// A slot: the key, then packets (u64) and bytes (u64), the LRU value's layout, so the
    /// slot's tail is handed to the LRU update as the value. Packets 0: an empty slot.
    pub const KEY: usize = 0;
    pub const PACKETS: usize = flow::KEY_SIZE;
    pub const BYTES: usize = flow::KEY_SIZE + 8;
    pub const VALUE_SIZE: usize = flow::KEY_SIZE + flow::VALUE_SIZE;
    /// Most slots per CPU (28 KiB a CPU).
    pub const MAX_SLOTS: u32 = 512;

    /// Slots per CPU for a table of `flows` entries: a power of two, at most [`MAX_SLOTS`]
    /// and at most `flows` (a small table stays small). 0 for no table.
    pub fn slots(flows: u32) -> u32 {
        match flows.min(MAX_SLOTS) {
            0 => 0,
            n => 1 << (31 - n.leading_zeros()),
        }
    }

    /// The flows in one slot's per-CPU values, as a lookup returns them (one
    /// [`VALUE_SIZE`] row per CPU): (key, packets, bytes) of each occupied row.
    pub fn entries(rows: &[u8]) -> impl Iterator<Item = (FlowKey, u64, u64)> + '_ {
        rows.chunks_exact(VALUE_SIZE).filter_map(|r| {
            let word = |o: usize| u64::from_ne_bytes(r[o..o + 8].try_into().expect("8 bytes"));
            let packets = word(PACKETS);
            let key = FlowKey::decode(&r[KEY..])?;
            (packets > 0).then(|| (key, packets, word(BYTES)))
        })
    }
}

/// A flow-table key, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub ethertype: u16,
    pub proto: u8,
    pub l3: u8,
    pub sport: u16,
    pub dport: u16,
    /// Addresses as 16 bytes in network order: IPv4 in the first 4.
    pub src: [u8; 16],
    pub dst: [u8; 16],
}

impl FlowKey {
    /// An IPv4 flow (for tests and examples).
    pub fn ipv4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, proto: u8) -> FlowKey {
        let mut s = [0u8; 16];
        s[..4].copy_from_slice(&src);
        let mut d = [0u8; 16];
        d[..4].copy_from_slice(&dst);
        FlowKey {
            ethertype: 0x0800,
            proto,
            l3: L3_IPV4 as u8,
            sport,
            dport,
            src: s,
            dst: d,
        }
    }

    /// From the key's bytes as the map returns them (native byte order), `None` if short.
    pub fn decode(b: &[u8]) -> Option<FlowKey> {
        if b.len() < flow::KEY_SIZE {
            return None;
        }
        let u16_at = |o: usize| u16::from_ne_bytes([b[o], b[o + 1]]);
        let addr = |o: usize| {
            let mut a = [0u8; 16];
            for w in 0..4 {
                let v = u32::from_ne_bytes(b[o + 4 * w..o + 4 * w + 4].try_into().unwrap());
                a[4 * w..4 * w + 4].copy_from_slice(&v.to_be_bytes());
            }
            a
        };
        Some(FlowKey {
            ethertype: u16_at(flow::ETHERTYPE),
            proto: b[flow::PROTO],
            l3: b[flow::L3],
            sport: u16_at(flow::SPORT),
            dport: u16_at(flow::DPORT),
            src: addr(flow::SRC),
            dst: addr(flow::DST),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_do_not_overlap() {
        assert_eq!(slot::SEEN_L4, 11);
        assert_eq!(slot::MATCHED_L3, 17);
        assert_eq!(slot::MATCHED_L4, 22);
        assert_eq!(slot::FLOW_INSERTS, 28);
        assert_eq!(slot::RULES, 30);
        assert_eq!(counter_slots(2), 34);
    }

    #[test]
    fn cache_slots_are_a_power_of_two_within_the_table() {
        let got: Vec<u32> = [0, 1, 2, 3, 100, 512, 513, 8192]
            .iter()
            .map(|&n| cache::slots(n))
            .collect();
        assert_eq!(got, [0, 1, 2, 2, 64, 512, 512, 512]);
    }

    #[test]
    fn cache_rows_give_the_occupied_slots() {
        let mut rows = vec![0u8; 3 * cache::VALUE_SIZE];
        let k = FlowKey::ipv4([10, 0, 0, 1], 1000, [10, 0, 0, 2], 53, 17);
        let r = &mut rows[2 * cache::VALUE_SIZE..];
        r[0..2].copy_from_slice(&0x0800u16.to_ne_bytes());
        r[2] = 17;
        r[4..6].copy_from_slice(&1000u16.to_ne_bytes());
        r[6..8].copy_from_slice(&53u16.to_ne_bytes());
        r[8..12].copy_from_slice(&0x0a00_0001u32.to_ne_bytes());
        r[24..28].copy_from_slice(&0x0a00_0002u32.to_ne_bytes());
        r[cache::PACKETS..cache::PACKETS + 8].copy_from_slice(&3u64.to_ne_bytes());
        r[cache::BYTES..cache::BYTES + 8].copy_from_slice(&300u64.to_ne_bytes());
        let got: Vec<_> = cache::entries(&rows).collect();
        assert_eq!(got, [(k, 3, 300)]);
    }

    #[test]
    fn flow_key_decodes_words_as_loaded() {
        let mut b = [0u8; flow::KEY_SIZE];
        b[0..2].copy_from_slice(&0x0800u16.to_ne_bytes());
        b[2] = 6;
        b[4..6].copy_from_slice(&443u16.to_ne_bytes());
        b[8..12].copy_from_slice(&0x0a00_0001u32.to_ne_bytes());
        let k = FlowKey::decode(&b).unwrap();
        assert_eq!((k.ethertype, k.proto, k.sport), (0x0800, 6, 443));
        assert_eq!(&k.src[..4], &[10, 0, 0, 1]);
    }
}
