//! What IPv4 and IPv6 share: the network header a transport printer needs (addresses for
//! the line and the checksum), the demultiplexer by protocol number, and the Internet
//! checksum.

use super::{icmp, icmp6, ip, ip6, tcp, udp, Ctx};

/// The network header around a transport payload.
pub enum Net<'a> {
    V4 {
        /// The IPv4 header (with options).
        hdr: &'a [u8],
        more_frags: bool,
    },
    V6 {
        /// The fixed 40-byte header.
        hdr: &'a [u8],
        /// A fragment header was seen.
        fragmented: bool,
        /// The last address of a type 0/2 routing header: the destination the transport
        /// checksum covers (tcpdump's ip6_finddst).
        final_dst: Option<&'a [u8]>,
    },
}

impl Net<'_> {
    pub fn is_v6(&self) -> bool {
        matches!(self, Net::V6 { .. })
    }

    pub fn src(&self) -> &[u8] {
        match self {
            Net::V4 { hdr, .. } => &hdr[12..16],
            Net::V6 { hdr, .. } => &hdr[8..24],
        }
    }

    pub fn dst(&self) -> &[u8] {
        match self {
            Net::V4 { hdr, .. } => &hdr[16..20],
            Net::V6 { hdr, .. } => &hdr[24..40],
        }
    }

    /// The protocol field of the IP header itself: a transport printer shows the addresses
    /// only when it follows the IP header directly (otherwise they were printed already).
    pub fn first_proto(&self) -> u8 {
        match self {
            Net::V4 { hdr, .. } => hdr[9],
            Net::V6 { hdr, .. } => hdr[6],
        }
    }

    pub fn fragmented(&self) -> bool {
        match self {
            Net::V4 { more_frags, .. } => *more_frags,
            Net::V6 { fragmented, .. } => *fragmented,
        }
    }

    pub fn addr(&self, cx: &mut Ctx, a: &[u8]) {
        if self.is_v6() {
            cx.t.ipv6(a);
        } else {
            cx.t.ipv4(a);
        }
    }

    /// The transport checksum over `seg` (header and payload, `seg.len()` bytes) with this
    /// header's pseudo-header: 0 when it is right.
    pub fn transport_sum(&self, proto: u8, seg: &[u8]) -> u16 {
        let len = seg.len() as u32;
        let mut pseudo = [0u8; 40];
        let n = match self {
            Net::V4 { .. } => {
                pseudo[..4].copy_from_slice(self.src());
                pseudo[4..8].copy_from_slice(self.dst());
                pseudo[9] = proto;
                pseudo[10..12].copy_from_slice(&(len as u16).to_be_bytes());
                12
            }
            Net::V6 { final_dst, .. } => {
                pseudo[..16].copy_from_slice(self.src());
                pseudo[16..32].copy_from_slice(final_dst.unwrap_or(self.dst()));
                pseudo[32..36].copy_from_slice(&len.to_be_bytes());
                pseudo[39] = proto;
                40
            }
        };
        checksum(&[&pseudo[..n], seg], 0)
    }
}

/// The Internet checksum (RFC 1071) of the concatenated parts, each of even length but the
/// last: 0 when the data includes a correct checksum.
pub fn checksum(parts: &[&[u8]], init: u32) -> u16 {
    let mut sum: u64 = u64::from(init);
    for part in parts {
        let mut chunks = part.chunks_exact(2);
        for c in &mut chunks {
            sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [b] = chunks.remainder() {
            sum += u64::from(*b) << 8;
        }
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// tcpdump's in_cksum_shouldbe: the checksum the packet should have carried, from the one it
/// carried and the sum computed over the packet with it.
pub fn shouldbe(sum: u16, computed: u16) -> u16 {
    let mut s = u32::from(sum) + u32::from(computed);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// tcpdump's ip_demux_print: the payload of protocol `proto`, `len` bytes on the wire.
pub fn demux(cx: &mut Ctx, net: &Net, proto: u8, p: &[u8], len: u32) {
    match proto {
        6 => tcp::print(cx, net, p, len),
        17 => udp::print(cx, net, p, len),
        1 => {
            if net.is_v6() {
                cx.t.s("[ICMP requires IPv4] (invalid)");
            } else {
                icmp::print(cx, net, p, len);
            }
        }
        58 => {
            if net.is_v6() {
                icmp6::print(cx, net, p, len);
            } else {
                cx.t.s("[ICMPv6 requires IPv6] (invalid)");
            }
        }
        4 => ip::print(cx, p, len),
        41 => ip6::print(cx, p, len),
        77 => {
            cx.t.s(" nd ").u(len);
        }
        59 => {
            cx.t.s("no next header");
        }
        _ => {
            if cx.o.numeric == 0 {
                if let Some(name) = crate::resolver::protocol_name(proto) {
                    cx.t.ch(b' ').s(name).ch(b' ').u(len);
                    return;
                }
            }
            cx.t.s(" ip-proto-").u(proto).ch(b' ').u(len);
        }
    }
}
