//! What IPv4 and IPv6 share: the network header a transport printer needs (addresses for
//! the line and the checksum), the demultiplexer by protocol number, and the Internet
//! checksum.

use super::{gre, icmp, icmp6, igmp, ip, ip6, ipsec, pim, sctp, tcp, udp, vrrp, Ctx};

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

    /// The TTL (IPv4) or hop limit (IPv6).
    pub fn ttl(&self) -> u8 {
        match self {
            Net::V4 { hdr, .. } => hdr[8],
            Net::V6 { hdr, .. } => hdr[7],
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
pub fn demux(cx: &mut Ctx, net: &Net, mut proto: u8, mut p: &[u8], mut len: u32) {
    // AH headers, each followed by the next header (a loop, not recursion: a chain of them
    // costs no stack).
    while proto == 51 {
        let Some((nh, n)) = ipsec::ah(cx, p) else {
            return;
        };
        proto = nh;
        p = &p[n.min(p.len())..];
        len = len.saturating_sub(n as u32);
    }
    match proto {
        2 => {
            if net.is_v6() {
                cx.t.s("[IGMP requires IPv4] (invalid)");
            } else {
                igmp::print(cx, p, len);
            }
        }
        47 => gre::print(cx, p, len),
        132 => sctp::print(cx, net, p, len),
        50 => ipsec::esp(cx, p, len),
        103 => pim::print(cx, net, p, len),
        112 => vrrp::print(cx, net, p, len),
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
                if let Some(name) = proto_netdb_name(proto) {
                    cx.t.ch(b' ').s(name).ch(b' ').u(len);
                    return;
                }
            }
            cx.t.s(" ip-proto-").u(proto).ch(b' ').u(len);
        }
    }
}

/// tcpdump's built-in protocol names (IANA's keywords), for protocols printed as a name
/// without -n: the same whatever /etc/protocols says.
pub fn proto_netdb_name(p: u8) -> Option<&'static str> {
    Some(match p {
        0 => "hopopt",
        1 => "icmp",
        2 => "igmp",
        3 => "ggp",
        4 => "ipencap",
        5 => "st",
        6 => "tcp",
        7 => "cbt",
        8 => "egp",
        9 => "igp",
        10 => "bbn-rcc-mon",
        11 => "nvp-ii",
        12 => "pup",
        13 => "argus",
        14 => "emcon",
        15 => "xnet",
        16 => "chaos",
        17 => "udp",
        18 => "mux",
        19 => "dcn-meas",
        20 => "hmp",
        21 => "prm",
        22 => "xns-idp",
        23 => "trunk-1",
        24 => "trunk-2",
        25 => "leaf-1",
        26 => "leaf-2",
        27 => "rdp",
        28 => "irtp",
        29 => "iso-tp4",
        30 => "netblt",
        31 => "mfe-nsp",
        32 => "merit-inp",
        33 => "dccp",
        34 => "3pc",
        35 => "idpr",
        36 => "xtp",
        37 => "ddp",
        38 => "idpr-cmtp",
        39 => "tp++",
        40 => "il",
        41 => "ipv6",
        42 => "sdrp",
        43 => "ipv6-route",
        44 => "ipv6-frag",
        45 => "idrp",
        46 => "rsvp",
        47 => "gre",
        48 => "dsr",
        49 => "bna",
        50 => "esp",
        51 => "ah",
        52 => "i-nlsp",
        53 => "swipe",
        54 => "narp",
        55 => "mobile",
        56 => "tlsp",
        57 => "skip",
        58 => "ipv6-icmp",
        59 => "ipv6-nonxt",
        60 => "ipv6-opts",
        62 => "cftp",
        64 => "sat-expak",
        65 => "kryptolan",
        66 => "rvd",
        67 => "ippc",
        69 => "sat-mon",
        70 => "visa",
        71 => "ipcv",
        72 => "cpnx",
        73 => "cphb",
        74 => "wsn",
        75 => "pvp",
        76 => "br-sat-mon",
        77 => "sun-nd",
        78 => "wb-mon",
        79 => "wb-expak",
        80 => "iso-ip",
        81 => "vmtp",
        82 => "secure-vmtp",
        83 => "vines",
        84 => "ttp",
        85 => "nsfnet-igp",
        86 => "dgp",
        87 => "tcf",
        88 => "eigrp",
        89 => "ospf",
        90 => "sprite-rpc",
        91 => "larp",
        92 => "mtp",
        93 => "ax.25",
        94 => "ipip",
        95 => "micp",
        96 => "scc-sp",
        97 => "etherip",
        98 => "encap",
        100 => "gmtp",
        101 => "ifmp",
        102 => "pnni",
        103 => "pim",
        104 => "aris",
        105 => "scps",
        106 => "qnx",
        107 => "a/n",
        108 => "ipcomp",
        109 => "snp",
        110 => "compaq-peer",
        111 => "ipx-in-ip",
        112 => "vrrp",
        113 => "pgm",
        115 => "l2tp",
        116 => "ddx",
        117 => "iatp",
        118 => "stp",
        119 => "srp",
        120 => "uti",
        121 => "smp",
        122 => "sm",
        123 => "ptp",
        124 => "isis",
        125 => "fire",
        126 => "crtp",
        127 => "crudp",
        128 => "sscopmce",
        129 => "iplt",
        130 => "sps",
        131 => "pipe",
        132 => "sctp",
        133 => "fc",
        134 => "rsvp-e2e-ignore",
        135 => "mobility-header",
        136 => "udplite",
        137 => "mpls-in-ip",
        138 => "manet",
        139 => "hip",
        140 => "shim6",
        141 => "wesp",
        142 => "rohc",
        143 => "ethernet",
        253 => "exptest-253",
        254 => "exptest-254",
        _ => return None,
    })
}
