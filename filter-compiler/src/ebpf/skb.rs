//! Offsets of the `struct __sk_buff` fields (include/uapi/linux/bpf.h) a socket filter reads.
//! The verifier rewrites each read into a read of the real `sk_buff`; `data`, `data_end` and
//! `tstamp` are refused to socket filters.

pub const LEN: i16 = 0;
pub const PKT_TYPE: i16 = 4;
pub const MARK: i16 = 8;
pub const QUEUE_MAPPING: i16 = 12;
/// skb->protocol, network byte order.
pub const PROTOCOL: i16 = 16;
pub const VLAN_PRESENT: i16 = 20;
pub const VLAN_TCI: i16 = 24;
/// The stripped tag's TPID, network byte order.
pub const VLAN_PROTO: i16 = 28;
pub const IFINDEX: i16 = 40;
pub const HASH: i16 = 68;
/// Wire segments of a GSO packet, 0 for any other.
pub const GSO_SEGS: i16 = 164;

/// The name of the field at `off`, for listings.
pub fn field_name(off: i16) -> Option<&'static str> {
    Some(match off {
        LEN => "len",
        PKT_TYPE => "pkt_type",
        MARK => "mark",
        QUEUE_MAPPING => "queue_mapping",
        PROTOCOL => "protocol",
        VLAN_PRESENT => "vlan_present",
        VLAN_TCI => "vlan_tci",
        VLAN_PROTO => "vlan_proto",
        IFINDEX => "ifindex",
        HASH => "hash",
        GSO_SEGS => "gso_segs",
        _ => return None,
    })
}
