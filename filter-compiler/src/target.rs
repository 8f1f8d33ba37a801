//! What the compiled program will run against: the link type of the packets, and whether the
//! packet bytes are those of a file (or user space) or those the Linux kernel shows a socket
//! filter, which differ (stripped VLAN tags, cooked sockets starting at the network header).

/// Link-layer header types we compile for. Values are the pcap LINKTYPE_ numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (DLT_EN10MB).
    En10mb,
    /// LINKTYPE_LINUX_SLL: 16-byte Linux cooked header.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2: 20-byte Linux cooked header v2 (with interface index).
    LinuxSll2,
    /// LINKTYPE_RAW: the packet starts with an IPv4 or IPv6 header.
    Raw,
    /// LINKTYPE_IPV4: the packet is an IPv4 packet (no version test needed).
    Ipv4,
    /// LINKTYPE_IPV6: the packet is an IPv6 packet.
    Ipv6,
}

impl LinkType {
    /// Every link type the compiler handles.
    pub const ALL: [LinkType; 6] = [
        LinkType::En10mb,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::Raw,
        LinkType::Ipv4,
        LinkType::Ipv6,
    ];

    /// The LINKTYPE_ value written in pcap/pcapng files.
    pub fn linktype(self) -> u32 {
        match self {
            LinkType::En10mb => 1,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::Raw => 101,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
        }
    }
    /// From a file's LINKTYPE_ value (also accepts DLT_RAW's values 12 and 14).
    pub fn from_linktype(v: u32) -> Option<LinkType> {
        Some(match v {
            1 => LinkType::En10mb,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            101 | 12 | 14 => LinkType::Raw,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            _ => return None,
        })
    }
    /// From tcpdump's `-y` names (case-insensitive): EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4,
    /// IPV6.
    pub fn from_name(s: &str) -> Option<LinkType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "EN10MB" | "ETHERNET" => LinkType::En10mb,
            "LINUX_SLL" => LinkType::LinuxSll,
            "LINUX_SLL2" => LinkType::LinuxSll2,
            "RAW" => LinkType::Raw,
            "IPV4" => LinkType::Ipv4,
            "IPV6" => LinkType::Ipv6,
            _ => return None,
        })
    }
    /// tcpdump's name for the link type.
    pub fn name(self) -> &'static str {
        match self {
            LinkType::En10mb => "EN10MB",
            LinkType::LinuxSll => "LINUX_SLL",
            LinkType::LinuxSll2 => "LINUX_SLL2",
            LinkType::Raw => "RAW",
            LinkType::Ipv4 => "IPV4",
            LinkType::Ipv6 => "IPV6",
        }
    }
}

/// Where the program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Over the bytes as stored in a capture file (libpcap's user-space `bpf_filter`).
    Offline,
    /// Attached to a Linux AF_PACKET socket. With `En10mb` the socket is SOCK_RAW and the
    /// kernel has stripped the outer VLAN tag into metadata; with `LinuxSll`/`LinuxSll2` the
    /// socket is a cooked SOCK_DGRAM one (the `any` device): the packet starts at the network
    /// header and link-level fields come from ancillary loads.
    Kernel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub linktype: LinkType,
    pub mode: Mode,
}

impl Target {
    pub fn offline(linktype: LinkType) -> Target {
        Target {
            linktype,
            mode: Mode::Offline,
        }
    }
    pub fn kernel(linktype: LinkType) -> Target {
        Target {
            linktype,
            mode: Mode::Kernel,
        }
    }
}
