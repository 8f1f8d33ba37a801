//! The filter expression as parsed: a boolean tree of primitives, every node with its span.
//!
//! Qualifier inheritance (`host a or b`) is resolved by the parser, so each primitive carries
//! the full qualifiers it is compiled with.

use std::ops::Range;

pub type Span = Range<usize>;

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Prim(Prim, Span),
}

/// Protocol qualifiers and protocol abbreviations (`pname` in libpcap's grammar).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    Link,
    Ip,
    Arp,
    Rarp,
    Sctp,
    Tcp,
    Udp,
    Icmp,
    Igmp,
    Igrp,
    Pim,
    Vrrp,
    Carp,
    Atalk,
    Aarp,
    Decnet,
    Lat,
    Sca,
    Mopdl,
    Moprc,
    Ip6,
    Icmp6,
    Ah,
    Esp,
    Iso,
    Esis,
    Isis,
    IsisL1,
    IsisL2,
    IsisIih,
    IsisLsp,
    IsisSnp,
    IsisPsnp,
    IsisCsnp,
    Clnp,
    Stp,
    Ipx,
    Netbeui,
    Radio,
}

impl Proto {
    /// The keyword as a user writes it, for messages.
    pub fn name(self) -> &'static str {
        use Proto::*;
        match self {
            Link => "link",
            Ip => "ip",
            Arp => "arp",
            Rarp => "rarp",
            Sctp => "sctp",
            Tcp => "tcp",
            Udp => "udp",
            Icmp => "icmp",
            Igmp => "igmp",
            Igrp => "igrp",
            Pim => "pim",
            Vrrp => "vrrp",
            Carp => "carp",
            Atalk => "atalk",
            Aarp => "aarp",
            Decnet => "decnet",
            Lat => "lat",
            Sca => "sca",
            Mopdl => "mopdl",
            Moprc => "moprc",
            Ip6 => "ip6",
            Icmp6 => "icmp6",
            Ah => "ah",
            Esp => "esp",
            Iso => "iso",
            Esis => "esis",
            Isis => "isis",
            IsisL1 => "l1",
            IsisL2 => "l2",
            IsisIih => "iih",
            IsisLsp => "lsp",
            IsisSnp => "snp",
            IsisPsnp => "psnp",
            IsisCsnp => "csnp",
            Clnp => "clnp",
            Stp => "stp",
            Ipx => "ipx",
            Netbeui => "netbeui",
            Radio => "radio",
        }
    }
}

/// Direction qualifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    Src,
    Dst,
    /// `src or dst` (also the default).
    Or,
    /// `src and dst`.
    And,
}

/// Address-type qualifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Host,
    Net,
    Port,
    PortRange,
    Gateway,
    Proto,
    Protochain,
}

impl Quals {
    /// The qualifiers as written: `tcp src port`.
    pub fn describe(&self) -> String {
        let dir = self.dir.as_ref().map(|d| match d.0 {
            Dir::Src => "src",
            Dir::Dst => "dst",
            Dir::Or => "src or dst",
            Dir::And => "src and dst",
        });
        [
            self.proto.as_ref().map(|p| p.0.name()),
            dir,
            self.kind.as_ref().map(|k| k.0.name()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Host => "host",
            Kind::Net => "net",
            Kind::Port => "port",
            Kind::PortRange => "portrange",
            Kind::Gateway => "gateway",
            Kind::Proto => "proto",
            Kind::Protochain => "protochain",
        }
    }
}

/// The qualifiers in force for an id; `None` means "default" (libpcap's Q_DEFAULT).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quals {
    pub proto: Option<(Proto, Span)>,
    pub dir: Option<(Dir, Span)>,
    pub kind: Option<(Kind, Span)>,
}

/// The operand of a qualified primitive (libpcap's `nid`/`pnum`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Id {
    /// A name: host, port, protocol or network name (also `\keyword` escapes).
    Name(String),
    /// A number.
    Num(u32),
    /// A dotted IPv4 address, possibly partial (`10.1`): the value left-aligned as written
    /// (`10.1` is 0x0a01) and how many bits were written.
    V4 {
        addr: u32,
        bits: u32,
    },
    /// Two numbers with a dot that are not an IPv4 address (`63.1023`): only a DECnet
    /// address (`area.node`) can be that.
    Dotted(String),
    /// `a/len` with an IPv4 (possibly partial) address.
    V4Prefix {
        addr: u32,
        bits: u32,
        len: u32,
    },
    /// `a mask m`.
    V4Mask {
        addr: u32,
        bits: u32,
        mask: u32,
    },
    V6([u8; 16]),
    V6Prefix([u8; 16], u32),
    Mac([u8; 6]),
}

/// Relations between arithmetic expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelOp {
    Gt,
    Ge,
    Eq,
    Le,
    Lt,
    Ne,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    And,
    Or,
    Xor,
    Lsh,
    Rsh,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Arith {
    Num(u32),
    /// `len`: the packet's length on the wire.
    Len,
    /// `proto[off:size]`.
    Load {
        proto: Proto,
        off: Box<Arith>,
        size: u32,
        span: Span,
    },
    Bin(ArOp, Box<Arith>, Box<Arith>, Span),
    Neg(Box<Arith>),
}

/// `byte N op M` operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOp {
    And,
    Or,
    Lt,
    Gt,
    Eq,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Prim {
    /// `[proto] [dir] [kind] id`, with inherited qualifiers filled in.
    /// `inherited`: the qualifiers came from the primitive before (`host a or b`).
    Id {
        quals: Quals,
        id: Id,
        id_span: Span,
        inherited: bool,
    },
    /// A protocol name on its own: `tcp`, `ip6`, `arp`.
    Proto(Proto),
    Broadcast(Option<Proto>),
    Multicast(Option<Proto>),
    Less(u32),
    Greater(u32),
    Byte {
        off: u32,
        op: ByteOp,
        val: u32,
    },
    Inbound,
    Outbound,
    Ifindex(u32),
    Vlan(Option<u32>),
    Mpls(Option<u32>),
    Pppoed,
    Pppoes(Option<u32>),
    Geneve(Option<u32>),
    Vxlan(Option<u32>),
    /// `llc`, optionally with a frame kind (`i`, `s`, `u`) or subtype name.
    Llc(Option<String>),
    Rel {
        op: RelOp,
        lhs: Arith,
        rhs: Arith,
    },
}
