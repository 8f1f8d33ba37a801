//! AST to [`Bool`]: what each primitive means, as libpcap's gencode defines it, for each
//! target.
//!
//! Lowering walks the expression left to right and keeps libpcap's parse-order state: `vlan`,
//! `mpls` and `pppoes` move the link-type and network-layer offsets for everything after them
//! (so `vlan and ip` looks for IPv4 behind the tag, and `ip or vlan and ip` does not).

use crate::ast::*;
use crate::cbpf::{self, Insn};
use crate::error::{
    Applied, BadAddress, Error, ErrorKind, Field, KernelView, Limit, LinkFeature, Named, Note,
    QualifierMismatch as Q, Unsupported,
};
use crate::ir::{Bool, ChainWalk};
use crate::resolve::{Resolver, ServiceProto};
use crate::target::{LinkType, Mode, Target};
use crate::Options;
use cbpf::*;
use std::rc::Rc;

type R<T> = Result<T, Error>;

const ETHERMTU: u32 = 1500;
const ETHERTYPE_IP: u32 = 0x0800;
const ETHERTYPE_ARP: u32 = 0x0806;
const ETHERTYPE_RARP: u32 = 0x8035;
const ETHERTYPE_IPV6: u32 = 0x86dd;
const ETHERTYPE_ATALK: u32 = 0x809b;
const ETHERTYPE_AARP: u32 = 0x80f3;
const ETHERTYPE_IPX: u32 = 0x8137;
const ETHERTYPE_DN: u32 = 0x6003;
const ETHERTYPE_LAT: u32 = 0x6004;
const ETHERTYPE_SCA: u32 = 0x6007;
const ETHERTYPE_MOPDL: u32 = 0x6001;
const ETHERTYPE_MOPRC: u32 = 0x6002;
const ETHERTYPE_MPLS: u32 = 0x8847;
const ETHERTYPE_PPPOED: u32 = 0x8863;
const ETHERTYPE_PPPOES: u32 = 0x8864;
const LLCSAP_ISONS: u32 = 0xfe;
const LLCSAP_IP: u32 = 0x06;
const LLCSAP_NETBEUI: u32 = 0xf0;
const LLCSAP_IPX: u32 = 0xe0;
const LLCSAP_8021D: u32 = 0x42;
/// SLL protocol values for frames that are not Ethernet II.
const LINUX_SLL_P_802_3: u32 = 0x0001;
const LINUX_SLL_P_802_2: u32 = 0x0004;

const IPPROTO_ICMP: u32 = 1;
const IPPROTO_IGMP: u32 = 2;
const IPPROTO_TCP: u32 = 6;
const IPPROTO_IGRP: u32 = 9;
const IPPROTO_UDP: u32 = 17;
const IPPROTO_FRAGMENT: u32 = 44;
const IPPROTO_ESP: u32 = 50;
const IPPROTO_AH: u32 = 51;
const IPPROTO_ICMPV6: u32 = 58;
const IPPROTO_PIM: u32 = 103;
const IPPROTO_VRRP: u32 = 112;
const IPPROTO_SCTP: u32 = 132;

const ISO8473_CLNP: u32 = 0x81;
const ISO9542_ESIS: u32 = 0x82;
const ISO10589_ISIS: u32 = 0x83;

/// How many headers `protochain` steps over (libpcap loops without bound; the kernel accepts
/// no loops): the protocol after the last of them is still compared, so `ip6 protochain 6`
/// matches TCP behind up to 12 extension headers. 12 IPv6 steps of 15 instructions keep
/// `ip6 protochain 6` on Ethernet at 187 instructions (199 when the walk took 8 steps of 24).
pub const PROTOCHAIN_STEPS: u32 = 12;

/// What the link-type field currently holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkField {
    /// Ethernet type/length at `off` (values <= 1500 are 802.3 lengths).
    Ether(u32),
    /// A Linux cooked header's protocol field at `off`.
    Sll(u32),
    /// The kernel's skb->protocol, through SKF_AD_PROTOCOL (cooked sockets).
    Anc,
    /// A PPP protocol field at `off` (inside PPPoE).
    Ppp(u32),
    /// None: the packet starts with the IP header; the version nibble tells.
    Raw,
    /// Only this network protocol (LINKTYPE_IPV4/IPV6): its EtherType.
    Ip(u32),
}

pub struct Lower<'a> {
    target: Target,
    resolver: &'a dyn Resolver,
    netmask: u32,
    link: LinkField,
    /// Offset of the link-layer payload (the LLC header or the network header).
    off_linkpl: u32,
    /// Extra offset of the network header past `off_linkpl` (MPLS labels).
    off_nl: u32,
    vlan_depth: u32,
    mpls_depth: u32,
    /// Start of the link-layer header (variable inside `geneve`).
    off_ll: u32,
    /// `geneve` or `vxlan` was lowered: loads at virtual offsets must be rewritten (see
    /// [`crate::geneve`]).
    pub geneve: bool,
    /// The innermost such tunnel, for messages ("geneve", "vxlan").
    tunnel: &'static str,
    /// Lowering for frames whose outer VLAN tag the kernel moved into metadata (see
    /// [`kernel_view`]); the program still reads the frame as stored.
    stripped: bool,
    /// Scratch slots in use by the relation being lowered.
    slots: u32,
    /// The optimizer will run: constant folding it would do may raise errors (as libpcap's).
    optimize: bool,
    /// Errors libpcap's optimizer raises only if the code survives (`x << 40` is refused,
    /// unless the comparison it is in can never be reached): each with the kernel-invalid
    /// instruction that stands for it in the program until then.
    pub deferred: Vec<(Insn, Error)>,
}

fn ld(size: u16, k: u32) -> Insn {
    Insn::stmt(LD | size | ABS, k)
}

/// Kernel target: the packet was sent by this host (ancillary packet type).
pub fn outgoing() -> Bool {
    Bool::test(vec![anc(SKF_AD_PKTTYPE)], JMP | JEQ | K, PACKET_OUTGOING)
}

fn anc(off: u32) -> Insn {
    Insn::stmt(LD | W | ABS, SKF_AD_OFF + off)
}

fn size_code(bytes: u32) -> u16 {
    match bytes {
        1 => B,
        2 => H,
        _ => W,
    }
}

/// `ld [off]` of `size`, optionally `and #mask`, then `jmp #k`.
fn cmp_op(off: u32, size: u16, mask: Option<u32>, jmp: u16, k: u32) -> Bool {
    let mut stmts = vec![ld(size, off)];
    if let Some(m) = mask {
        stmts.push(Insn::stmt(ALU | AND | K, m));
    }
    Bool::test(stmts, JMP | jmp | K, k)
}

fn cmp(off: u32, size: u16, k: u32) -> Bool {
    cmp_op(off, size, None, JEQ, k)
}

fn mcmp(off: u32, size: u16, mask: u32, k: u32) -> Bool {
    if mask == 0xffff_ffff || (size == H && mask == 0xffff) || (size == B && mask == 0xff) {
        cmp(off, size, k)
    } else {
        cmp_op(off, size, Some(mask), JEQ, k)
    }
}

/// Compares bytes at `off` with `bytes`, last word first (as libpcap does, so a truncated
/// frame fails on the same load).
fn bcmp(off: u32, bytes: &[u8]) -> Bool {
    let mut parts = Vec::new();
    let mut len = bytes.len();
    while len >= 4 {
        let k = u32::from_be_bytes(bytes[len - 4..len].try_into().unwrap());
        parts.push(cmp(off + len as u32 - 4, W, k));
        len -= 4;
    }
    while len >= 2 {
        let k = u16::from_be_bytes(bytes[len - 2..len].try_into().unwrap()) as u32;
        parts.push(cmp(off + len as u32 - 2, H, k));
        len -= 2;
    }
    if len == 1 {
        parts.push(cmp(off, B, bytes[0] as u32));
    }
    Bool::all(parts)
}

fn err<T>(kind: impl Into<ErrorKind>, span: &Span) -> R<T> {
    Err(Error::new(kind, span.clone()))
}

impl<'a> Lower<'a> {
    pub fn new(target: Target, opts: &'a Options<'a>) -> Lower<'a> {
        let (link, off_linkpl) = match (target.linktype, target.mode) {
            (LinkType::En10mb, _) => (LinkField::Ether(12), 14),
            (LinkType::LinuxSll | LinkType::LinuxSll2, Mode::Kernel) => (LinkField::Anc, 0),
            (LinkType::LinuxSll, Mode::Offline) => (LinkField::Sll(14), 16),
            (LinkType::LinuxSll2, Mode::Offline) => (LinkField::Sll(0), 20),
            (LinkType::Raw, _) => (LinkField::Raw, 0),
            (LinkType::Ipv4, _) => (LinkField::Ip(ETHERTYPE_IP), 0),
            (LinkType::Ipv6, _) => (LinkField::Ip(ETHERTYPE_IPV6), 0),
        };
        Lower {
            target,
            resolver: opts.resolver,
            netmask: opts.netmask,
            link,
            off_linkpl,
            off_nl: 0,
            vlan_depth: 0,
            mpls_depth: 0,
            off_ll: 0,
            geneve: false,
            tunnel: "",
            stripped: false,
            slots: 0,
            optimize: opts.optimize,
            deferred: Vec::new(),
        }
    }

    /// The packet's length as it would be in a capture file: a cooked socket's filter sees
    /// the packet without the cooked header the file has.
    fn len(&self) -> Vec<Insn> {
        let mut s = vec![Insn::stmt(LD | W | LEN, 0)];
        if self.cooked_kernel() {
            let hdr = if self.target.linktype == LinkType::LinuxSll {
                16
            } else {
                20
            };
            s.push(Insn::stmt(ALU | ADD | K, hdr));
        }
        s
    }

    /// Lower for frames the kernel stripped a VLAN tag from (see [`crate::kernel_view`]).
    pub fn for_stripped_frames(mut self) -> Self {
        self.stripped = true;
        self
    }

    fn nl(&self) -> u32 {
        self.off_linkpl + self.off_nl
    }

    fn cooked_kernel(&self) -> bool {
        self.link == LinkField::Anc
    }

    pub fn expr(&mut self, e: &Expr) -> R<Bool> {
        Ok(match e {
            Expr::And(a, b) => {
                let a = self.expr(a)?;
                a.and(self.expr(b)?)
            }
            Expr::Or(a, b) => {
                let a = self.expr(a)?;
                a.or(self.expr(b)?)
            }
            Expr::Not(a) => self.expr(a)?.not(),
            Expr::Prim(p, span) => self.prim(p, span)?,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Link layer

    /// The frame carries `proto` (an EtherType, or an LLC SAP when <= 1500).
    fn linktype(&self, proto: u32, span: &Span) -> R<Bool> {
        if self.mpls_depth > 0 {
            // Behind MPLS there is no type field: the bottom-of-stack bit and the IP version.
            let bos = mcmp(self.nl() - 2, B, 0x01, 0x01);
            return match proto {
                ETHERTYPE_IP => Ok(bos.and(mcmp(self.nl(), B, 0xf0, 0x40))),
                ETHERTYPE_IPV6 => Ok(bos.and(mcmp(self.nl(), B, 0xf0, 0x60))),
                _ => err(Unsupported::ProtoOverMpls, span),
            };
        }
        Ok(match self.link {
            LinkField::Ether(off) => {
                let llc = self.off_linkpl;
                let is_8023 = cmp_op(off, H, None, JGT, ETHERMTU).not();
                let b = match proto {
                    LLCSAP_ISONS | LLCSAP_IP | LLCSAP_NETBEUI => {
                        is_8023.and(cmp(llc, H, (proto << 8) | proto))
                    }
                    LLCSAP_IPX => {
                        let llc_ipx = cmp(llc, B, LLCSAP_IPX).or(cmp(llc, H, 0xffff));
                        let b = self.snap(0, ETHERTYPE_IPX).or(llc_ipx);
                        cmp(off, H, ETHERTYPE_IPX).or(is_8023.and(b))
                    }
                    ETHERTYPE_ATALK | ETHERTYPE_AARP => {
                        let snap = if proto == ETHERTYPE_ATALK {
                            self.snap(0x080007, ETHERTYPE_ATALK)
                        } else {
                            self.snap(0, ETHERTYPE_AARP)
                        };
                        cmp(off, H, proto).or(is_8023.and(snap))
                    }
                    p if p <= ETHERMTU => is_8023.and(cmp(llc, B, p)),
                    p => cmp(off, H, p),
                };
                if self.stripped && off == 12 {
                    // The frame's type field is the stripped tag's TPID: only the TPIDs can
                    // match there, and everything behind it is dead code.
                    return Ok(match proto {
                        0x8100 | 0x88a8 | 0x9100 => cmp(off, H, proto),
                        _ => Bool::Const(false),
                    });
                }
                b
            }
            LinkField::Sll(_) | LinkField::Anc => {
                let field = |k: u32| match self.link {
                    LinkField::Sll(off) => cmp(off, H, k),
                    _ => Bool::test(vec![anc(SKF_AD_PROTOCOL)], JMP | JEQ | K, k),
                };
                let pl = self.off_linkpl;
                match proto {
                    LLCSAP_ISONS | LLCSAP_IP | LLCSAP_NETBEUI => {
                        field(LINUX_SLL_P_802_2).and(cmp(pl, H, (proto << 8) | proto))
                    }
                    LLCSAP_IPX => {
                        // The SAP first, as libpcap: a frame too short for the SNAP
                        // header's EtherType (byte 20 on).
                        let b = cmp(pl, B, LLCSAP_IPX).or(self.snap(0, ETHERTYPE_IPX));
                        let b = field(LINUX_SLL_P_802_2).and(b);
                        field(ETHERTYPE_IPX).or(field(LINUX_SLL_P_802_3).or(b))
                    }
                    ETHERTYPE_ATALK | ETHERTYPE_AARP => {
                        let snap = if proto == ETHERTYPE_ATALK {
                            self.snap(0x080007, ETHERTYPE_ATALK)
                        } else {
                            self.snap(0, ETHERTYPE_AARP)
                        };
                        field(proto).or(field(LINUX_SLL_P_802_2).and(snap))
                    }
                    p if p <= ETHERMTU => field(LINUX_SLL_P_802_2).and(cmp(pl, B, p)),
                    p => field(p),
                }
            }
            LinkField::Ppp(off) => match ppp_proto(proto) {
                Some(p) => cmp(off, H, p),
                None => Bool::Const(false),
            },
            LinkField::Raw => match proto {
                ETHERTYPE_IP => mcmp(0, B, 0xf0, 0x40),
                ETHERTYPE_IPV6 => mcmp(0, B, 0xf0, 0x60),
                _ => Bool::Const(false),
            },
            // libpcap's gen_linktype for DLT_IPV4/DLT_IPV6: known without a test.
            LinkField::Ip(v) => Bool::Const(proto == v),
        })
    }

    /// An 802.2 SNAP header with `org` and `ptype` at the LLC offset.
    fn snap(&self, org: u32, ptype: u32) -> Bool {
        let b = [
            0xaa,
            0xaa,
            0x03,
            (org >> 16) as u8,
            (org >> 8) as u8,
            org as u8,
            (ptype >> 8) as u8,
            ptype as u8,
        ];
        bcmp(self.off_linkpl, &b)
    }

    /// DECnet `area.node` as source or destination of a DECnet routing header. The header
    /// may start with one padding byte (0x81) and be short (flags 2) or long (flags 6).
    ///
    /// Read as libpcap's `__pcap_atodn` reads it: `sscanf("%d.%d")`, so only the first two
    /// numbers count (`decnet host 10.0.0.1` is 10.0), and neither is range-checked: the
    /// area is masked to 6 bits and the node to 10.
    fn decnet_host(&self, text: &str, dir: Option<Dir>, span: &Span) -> R<Bool> {
        /// A `%d` at the start of `s`: the number and the rest.
        fn int(s: &str) -> Option<(i64, &str)> {
            let s = s.trim_start();
            let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
            let n = digits.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            let end = s.len() - digits.len() + n;
            // (Out of i32's range sscanf's result is undefined; keep the low bits.)
            Some((s[..end].parse::<i128>().ok()? as i64, &s[end..]))
        }
        let parsed = int(text).and_then(|(area, rest)| {
            let (node, _) = int(rest.strip_prefix('.')?)?;
            Some((area as u32, node as u32))
        });
        let Some((area, node)) = parsed else {
            return err(
                BadAddress::InvalidDecnet {
                    text: text.to_string(),
                },
                span,
            );
        };
        self.decnet_addr(((area << 10) & 0xfc00) | (node & 0x3ff), dir, span)
    }

    /// A DECnet address given as its 16-bit value (`decnet host 1025`).
    fn decnet_addr(&self, value: u32, dir: Option<Dir>, span: &Span) -> R<Bool> {
        // Stored little-endian; loaded as a big-endian half word.
        let addr = (value as u16).swap_bytes() as u32;
        let nl = self.nl();
        let side = |short: u32, long: u32| {
            let short_nopad = mcmp(nl + 2, B, 0x7, 0x2).and(cmp(nl + short, H, addr));
            let short_pad = mcmp(nl + 2, H, 0xff07, 0x8102).and(cmp(nl + short + 1, H, addr));
            let long_nopad = mcmp(nl + 2, B, 0x7, 0x6).and(cmp(nl + long, H, addr));
            let long_pad = mcmp(nl + 2, H, 0xff07, 0x8106).and(cmp(nl + long + 1, H, addr));
            short_nopad.or(short_pad).or(long_nopad).or(long_pad)
        };
        let (src, dst) = (side(5, 17), side(3, 9));
        let b = match dir.unwrap_or(Dir::Or) {
            Dir::Src => src,
            Dir::Dst => dst,
            Dir::Or => src.or(dst),
            Dir::And => src.and(dst),
        };
        Ok(self.linktype(ETHERTYPE_DN, span)?.and(b))
    }

    fn need_ether(&self, what: &'static str, span: &Span) -> R<()> {
        // Behind `pppoes` the link is PPP: no MAC addresses there.
        if self.target.linktype != LinkType::En10mb || matches!(self.link, LinkField::Ppp(_)) {
            return err(
                ErrorKind::NoSupportForLinkType {
                    what: LinkFeature::Ethernet(what),
                    linktype: self.link_name(),
                },
                span,
            );
        }
        Ok(())
    }

    fn ether_host(&self, mac: &[u8; 6], dir: Option<Dir>, span: &Span) -> R<Bool> {
        self.need_ether("ethernet addresses", span)?;
        let src = bcmp(self.off_ll + 6, mac);
        let dst = bcmp(self.off_ll, mac);
        Ok(self.has_mac_header().and(match dir.unwrap_or(Dir::Or) {
            Dir::Src => src,
            Dir::Dst => dst,
            Dir::Or => src.or(dst),
            Dir::And => src.and(dst),
        }))
    }

    // -----------------------------------------------------------------------------------------
    // Network layer

    /// IPv4 `host`/`net`: (addr & mask) == net, for the given protocol and direction.
    fn host4(
        &self,
        addr: u32,
        mask: u32,
        proto: Option<Proto>,
        dir: Option<Dir>,
        what: &'static str,
        span: &Span,
    ) -> R<Bool> {
        let dir = dir.unwrap_or(Dir::Or);
        let op = |lt: u32, src: u32, dst: u32| -> R<Bool> {
            let nl = self.nl();
            let s = mcmp(nl + src, W, mask, addr);
            let d = mcmp(nl + dst, W, mask, addr);
            let b = match dir {
                Dir::Src => s,
                Dir::Dst => d,
                Dir::Or => s.or(d),
                Dir::And => s.and(d),
            };
            Ok(self.linktype(lt, span)?.and(b))
        };
        match proto {
            None => {
                let ip = op(ETHERTYPE_IP, 12, 16)?;
                if self.mpls_depth > 0 {
                    return Ok(ip);
                }
                let arp = op(ETHERTYPE_ARP, 14, 24)?;
                let rarp = op(ETHERTYPE_RARP, 14, 24)?;
                Ok(ip.or(arp).or(rarp))
            }
            Some(Proto::Ip) => op(ETHERTYPE_IP, 12, 16),
            Some(Proto::Arp) => op(ETHERTYPE_ARP, 14, 24),
            Some(Proto::Rarp) => op(ETHERTYPE_RARP, 14, 24),
            Some(Proto::Link) => err(Q::LinkLevelIpv4 { what }, span),
            Some(Proto::Ip6) => err(
                Q::ModifierApplied {
                    modifier: "ip6",
                    to: Applied::Ip(what),
                },
                span,
            ),
            Some(p) => err(
                Q::ModifierApplied {
                    modifier: p.name(),
                    to: Applied::Plain(what),
                },
                span,
            ),
        }
    }

    fn host6(
        &self,
        addr: &[u8; 16],
        mask: &[u8; 16],
        proto: Option<Proto>,
        dir: Option<Dir>,
        what: &'static str,
        span: &Span,
    ) -> R<Bool> {
        match proto {
            None | Some(Proto::Ip6) => {}
            Some(p) => {
                return err(
                    Q::ModifierApplied {
                        modifier: p.name(),
                        to: Applied::Ip6(what),
                    },
                    span,
                )
            }
        }
        let nl = self.nl();
        let side = |off: u32| {
            // First word first, as libpcap. Words the mask ignores become `and #0` tests,
            // which the optimizer folds away with their loads (libpcap's -O keeps them).
            Bool::all((0..4).map(|w| {
                let m = u32::from_be_bytes(mask[w * 4..w * 4 + 4].try_into().unwrap());
                let a = u32::from_be_bytes(addr[w * 4..w * 4 + 4].try_into().unwrap());
                mcmp(off + w as u32 * 4, W, m, a & m)
            }))
        };
        let (s, d) = (side(nl + 8), side(nl + 24));
        let b = match dir.unwrap_or(Dir::Or) {
            Dir::Src => s,
            Dir::Dst => d,
            Dir::Or => s.or(d),
            Dir::And => s.and(d),
        };
        Ok(self.linktype(ETHERTYPE_IPV6, span)?.and(b))
    }

    /// `ip proto N` (no extension-header walk).
    fn ip_proto(&self, p: u32, span: &Span) -> R<Bool> {
        Ok(self
            .linktype(ETHERTYPE_IP, span)?
            .and(cmp(self.nl() + 9, B, p)))
    }

    /// `ip6 proto N`: the next header, or the one behind a fragment header.
    fn ip6_proto(&self, p: u32, span: &Span) -> R<Bool> {
        let nl = self.nl();
        let direct = cmp(nl + 6, B, p);
        let frag = cmp(nl + 6, B, IPPROTO_FRAGMENT).and(cmp(nl + 40, B, p));
        Ok(self.linktype(ETHERTYPE_IPV6, span)?.and(direct.or(frag)))
    }

    /// Not a non-first IPv4 fragment.
    fn ip_first_frag(&self) -> Bool {
        cmp_op(self.nl() + 6, H, None, JSET, 0x1fff).not()
    }

    /// X = IPv4 header length.
    fn ldx_iphdr(&self) -> Insn {
        Insn::stmt(LDX | B | MSH, self.nl())
    }

    /// The transport protocol check of `tcp`, `udp`, ... on its own.
    fn proto_abbrev(&mut self, p: Proto, span: &Span) -> R<Bool> {
        use Proto::*;
        let both = |s: &mut Self, n: u32| -> R<Bool> {
            Ok(s.ip_proto(n, span)?.or(s.ip6_proto(n, span)?))
        };
        match p {
            Sctp => both(self, IPPROTO_SCTP),
            Tcp => both(self, IPPROTO_TCP),
            Udp => both(self, IPPROTO_UDP),
            Icmp => self.ip_proto(IPPROTO_ICMP, span),
            Igmp => self.ip_proto(IPPROTO_IGMP, span),
            Igrp => self.ip_proto(IPPROTO_IGRP, span),
            Pim => both(self, IPPROTO_PIM),
            Vrrp | Carp => self.ip_proto(IPPROTO_VRRP, span),
            Ip => self.linktype(ETHERTYPE_IP, span),
            Arp => self.linktype(ETHERTYPE_ARP, span),
            Rarp => self.linktype(ETHERTYPE_RARP, span),
            Atalk => self.linktype(ETHERTYPE_ATALK, span),
            Aarp => self.linktype(ETHERTYPE_AARP, span),
            Decnet => self.linktype(ETHERTYPE_DN, span),
            Lat => self.linktype(ETHERTYPE_LAT, span),
            Sca => self.linktype(ETHERTYPE_SCA, span),
            Mopdl => self.linktype(ETHERTYPE_MOPDL, span),
            Moprc => self.linktype(ETHERTYPE_MOPRC, span),
            Ip6 => self.linktype(ETHERTYPE_IPV6, span),
            Icmp6 => self.ip6_proto(IPPROTO_ICMPV6, span),
            Ah => both(self, IPPROTO_AH),
            Esp => both(self, IPPROTO_ESP),
            Iso => self.linktype(LLCSAP_ISONS, span),
            Esis => self.iso_proto(ISO9542_ESIS, span),
            Isis => self.iso_proto(ISO10589_ISIS, span),
            Clnp => self.iso_proto(ISO8473_CLNP, span),
            IsisL1 => self.isis_pdu(&[26, 24, 18, 15, 17], span),
            IsisL2 => self.isis_pdu(&[27, 25, 20, 16, 17], span),
            IsisIih => self.isis_pdu(&[17, 15, 16], span),
            IsisLsp => self.isis_pdu(&[18, 20], span),
            IsisSnp => self.isis_pdu(&[24, 25, 26, 27], span),
            IsisCsnp => self.isis_pdu(&[24, 25], span),
            IsisPsnp => self.isis_pdu(&[26, 27], span),
            Stp => self.linktype(LLCSAP_8021D, span),
            Ipx => self.linktype(LLCSAP_IPX, span),
            Netbeui => self.linktype(LLCSAP_NETBEUI, span),
            Link => err(Q::LinkNeedsQualifier, span),
            Radio => err(
                ErrorKind::NoSupportForLinkType {
                    what: LinkFeature::Radio,
                    linktype: self.target.linktype.name(),
                },
                span,
            ),
        }
    }

    /// Where the OSI network layer starts behind an 802.2 header without SNAP
    /// (libpcap's OR_LINKPL_NOSNAP): 3 bytes into the link payload, except on Linux cooked
    /// headers, where libpcap's init_linktype sets off_nl_nosnap to 0 ("XXX - what does it
    /// do with 802.3 packets?"), and its programs read the NLPID at the payload's start.
    fn off_nl_nosnap(&self) -> u32 {
        match self.link {
            LinkField::Sll(_) | LinkField::Anc => self.off_linkpl,
            _ => self.off_linkpl + 3,
        }
    }

    /// OSI network-layer protocol id behind an ISONS LLC header.
    fn iso_proto(&self, nlpid: u32, span: &Span) -> R<Bool> {
        let iso = self.linktype(LLCSAP_ISONS, span)?;
        Ok(iso.and(cmp(self.off_nl_nosnap(), B, nlpid)))
    }

    /// IS-IS with one of these PDU types (the byte 4 into the IS-IS header).
    fn isis_pdu(&self, types: &[u32], span: &Span) -> R<Bool> {
        let isis = self.iso_proto(ISO10589_ISIS, span)?;
        let off = self.off_nl_nosnap() + 4;
        Ok(isis.and(Bool::any(types.iter().map(|&t| cmp(off, B, t)))))
    }

    // -----------------------------------------------------------------------------------------
    // Transport layer

    /// `[proto] [dir] port a..=b` over IPv4 and IPv6.
    fn port(
        &self,
        lo: u32,
        hi: u32,
        ip_proto: Option<u32>,
        dir: Option<Dir>,
        span: &Span,
    ) -> R<Bool> {
        let protos: Vec<u32> = match ip_proto {
            Some(p) => vec![p],
            None => vec![IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP],
        };
        let dir = dir.unwrap_or(Dir::Or);
        let test = |stmts_ld: Vec<Insn>| -> Bool {
            if lo == hi {
                Bool::test(stmts_ld, JMP | JEQ | K, lo)
            } else {
                Bool::test(stmts_ld.clone(), JMP | JGE | K, lo)
                    .and(Bool::test(stmts_ld, JMP | JGT | K, hi).not())
            }
        };
        let sides = |src: Bool, dst: Bool| match dir {
            Dir::Src => src,
            Dir::Dst => dst,
            Dir::Or => src.or(dst),
            Dir::And => src.and(dst),
        };
        let nl = self.nl();
        // IPv6: the next header must be the transport protocol itself (no walk).
        let v6_proto = Bool::any(protos.iter().map(|&p| cmp(nl + 6, B, p)));
        let v6 = self
            .linktype(ETHERTYPE_IPV6, span)?
            .and(v6_proto)
            .and(sides(
                test(vec![ld(H, nl + 40)]),
                test(vec![ld(H, nl + 42)]),
            ));
        let v4_proto = Bool::any(protos.iter().map(|&p| cmp(nl + 9, B, p)));
        let x = self.ldx_iphdr();
        let v4 = self
            .linktype(ETHERTYPE_IP, span)?
            .and(v4_proto)
            .and(self.ip_first_frag())
            .and(sides(
                test(vec![x, Insn::stmt(LD | H | IND, nl)]),
                test(vec![x, Insn::stmt(LD | H | IND, nl + 2)]),
            ));
        Ok(v6.or(v4))
    }

    // -----------------------------------------------------------------------------------------
    // Primitives

    fn prim(&mut self, p: &Prim, span: &Span) -> R<Bool> {
        match p {
            Prim::Id {
                quals,
                id,
                id_span,
                inherited,
            } => self.qualified(quals, id, id_span).map_err(|e| {
                if *inherited {
                    // `host a or port 80 or b`: say where `b`'s qualifiers came from.
                    e.note(Note::InheritedQualifiers {
                        quals: quals.describe(),
                    })
                } else {
                    e
                }
            }),
            Prim::Proto(p) => self.proto_abbrev(*p, span),
            Prim::Broadcast(proto) => self.broadcast(*proto, span),
            Prim::Multicast(proto) => self.multicast(*proto, span),
            Prim::Less(n) => Ok(Bool::test(self.len(), JMP | JGT | K, *n).not()),
            Prim::Greater(n) => Ok(Bool::test(self.len(), JMP | JGE | K, *n)),
            Prim::Byte { off, op, val } => {
                // `byte N`: byte N of the packet, as libpcap reads it. (libpcap's `&` and `|`
                // forms test a value it never loads; see docs/differences.md.)
                let (off, val) = (packet_offset(self.off_ll, *off), *val);
                let b = match op {
                    ByteOp::Eq => cmp(off, B, val),
                    ByteOp::Lt => cmp_op(off, B, None, JGE, val).not(),
                    ByteOp::Gt => cmp_op(off, B, None, JGT, val),
                    ByteOp::Or => cmp_op(off, B, Some(!val), JEQ, 0).not(),
                    ByteOp::And => cmp_op(off, B, Some(val), JEQ, 0).not(),
                };
                Ok(b)
            }
            Prim::Inbound | Prim::Outbound => {
                let outgoing = match (self.target.mode, self.cooked_header()) {
                    (Mode::Kernel, _) => outgoing(),
                    (Mode::Offline, Some(LinkType::LinuxSll)) => cmp(0, H, PACKET_OUTGOING),
                    (Mode::Offline, Some(LinkType::LinuxSll2)) => cmp(10, B, PACKET_OUTGOING),
                    (Mode::Offline, _) => {
                        return err(
                            ErrorKind::NoSupportForLinkType {
                                what: LinkFeature::Direction,
                                linktype: self.link_name(),
                            },
                            span,
                        )
                    }
                };
                Ok(if *p == Prim::Inbound {
                    outgoing.not()
                } else {
                    outgoing
                })
            }
            Prim::Ifindex(n) => match (self.target.mode, self.cooked_header()) {
                (Mode::Kernel, _) => Ok(Bool::test(vec![anc(SKF_AD_IFINDEX)], JMP | JEQ | K, *n)),
                (Mode::Offline, Some(LinkType::LinuxSll2)) => Ok(cmp(4, W, *n)),
                _ => err(
                    ErrorKind::NoSupportForLinkType {
                        what: LinkFeature::Ifindex,
                        linktype: self.link_name(),
                    },
                    span,
                ),
            },
            Prim::Vlan(id) => self.vlan(*id, span),
            Prim::Mpls(label) => self.mpls(*label, span),
            Prim::Pppoed => self.linktype(ETHERTYPE_PPPOED, span),
            Prim::Pppoes(sess) => self.pppoes(*sess, span),
            Prim::Geneve(vni) => self.geneve(*vni, span),
            Prim::Vxlan(vni) => self.vxlan(*vni, span),
            Prim::Llc(kind) => self.llc(kind.as_deref(), span),
            Prim::Rel { op, lhs, rhs } => self.relation(*op, lhs, rhs),
        }
    }

    /// The cooked header the packet direction and interface come from, when the link layer
    /// in effect is still the file's cooked one (not PPP behind `pppoes`, nor the frame
    /// inside `geneve`).
    fn cooked_header(&self) -> Option<LinkType> {
        match (self.target.linktype, self.link) {
            (LinkType::LinuxSll | LinkType::LinuxSll2, LinkField::Sll(_)) if !self.geneve => {
                Some(self.target.linktype)
            }
            _ => None,
        }
    }

    /// The link layer in effect, for messages.
    fn link_name(&self) -> &'static str {
        match self.link {
            LinkField::Ppp(_) => "PPP",
            _ if self.geneve => "EN10MB",
            _ => self.target.linktype.name(),
        }
    }

    fn broadcast(&self, proto: Option<Proto>, span: &Span) -> R<Bool> {
        match proto {
            None | Some(Proto::Link) => {
                if self.target.linktype != LinkType::En10mb
                    || matches!(self.link, LinkField::Ppp(_))
                {
                    return err(
                        ErrorKind::NoSupportForLinkType {
                            what: LinkFeature::Broadcast,
                            linktype: self.link_name(),
                        },
                        span,
                    );
                }
                Ok(self.has_mac_header().and(bcmp(self.off_ll, &[0xff; 6])))
            }
            Some(Proto::Ip) => {
                // Broadcast: host part all zeros or all ones under the interface netmask.
                let hostmask = !self.netmask;
                let dst = self.nl() + 16;
                let b = mcmp(dst, W, hostmask, 0).or(mcmp(dst, W, hostmask, hostmask));
                Ok(self.linktype(ETHERTYPE_IP, span)?.and(b))
            }
            Some(p) => err(Unsupported::Broadcast { proto: p.name() }, span),
        }
    }

    fn multicast(&self, proto: Option<Proto>, span: &Span) -> R<Bool> {
        match proto {
            None | Some(Proto::Link) => {
                if self.target.linktype != LinkType::En10mb
                    || matches!(self.link, LinkField::Ppp(_))
                {
                    return err(
                        ErrorKind::NoSupportForLinkType {
                            what: LinkFeature::Multicast,
                            linktype: self.link_name(),
                        },
                        span,
                    );
                }
                Ok(self
                    .has_mac_header()
                    .and(cmp_op(self.off_ll, B, None, JSET, 1)))
            }
            Some(Proto::Ip) => Ok(self.linktype(ETHERTYPE_IP, span)?.and(cmp_op(
                self.nl() + 16,
                B,
                None,
                JGE,
                224,
            ))),
            Some(Proto::Ip6) => {
                Ok(self
                    .linktype(ETHERTYPE_IPV6, span)?
                    .and(cmp(self.nl() + 24, B, 255)))
            }
            Some(p) => err(Unsupported::Multicast { proto: p.name() }, span),
        }
    }

    fn vlan(&mut self, id: Option<u32>, span: &Span) -> R<Bool> {
        check_max(id, 4095, Field::VlanTag, span)?;
        let LinkField::Ether(off) = self.link else {
            return err(
                ErrorKind::NoSupportForLinkType {
                    what: LinkFeature::Vlan,
                    linktype: self.target.linktype.name(),
                },
                span,
            );
        };
        if self.mpls_depth > 0 {
            return err(Unsupported::VlanAfterMpls, span);
        }
        // Written against the frame as stored; on a live socket whose kernel stripped the
        // tag, `kernel_view` turns the reads of bytes 12..16 into metadata loads.
        let tpid = cmp(off, H, 0x8100)
            .or(cmp(off, H, 0x88a8))
            .or(cmp(off, H, 0x9100));
        let vid = id
            .map(|v| mcmp(off + 2, H, 0x0fff, v))
            .unwrap_or(Bool::Const(true));
        let b = tpid.and(vid);
        self.link = LinkField::Ether(off + 4);
        self.off_linkpl += 4;
        self.vlan_depth += 1;
        Ok(b)
    }

    /// `geneve [vni]`: UDP to port 6081 carrying Geneve version 0 (with that VNI). Everything
    /// after it looks inside: at the inner Ethernet frame when the Geneve protocol is 0x6558,
    /// else at the payload with the Geneve protocol field as its EtherType. Those offsets are
    /// only known at run time; see [`crate::geneve`].
    fn geneve(&mut self, vni: Option<u32>, span: &Span) -> R<Bool> {
        use crate::geneve::{self as g, VIRT_LL, VIRT_LT, VIRT_NL};
        check_max(vni, 0xff_ffff, Field::GeneveVni, span)?;
        let nl = self.nl();
        let vni_test = |off: Vec<Insn>| match vni {
            Some(v) => Bool::test(off, JMP | JEQ | K, v << 8),
            None => Bool::Const(true),
        };
        // Over IPv4: the UDP header follows the variable-length IP header.
        let x = self.ldx_iphdr();
        let ind = |size: u16, k: u32| vec![x, Insn::stmt(LD | size | IND, k)];
        let mut vni4 = ind(W, nl + 12);
        vni4.push(Insn::stmt(ALU | AND | K, 0xffff_ff00));
        let mut ver4 = ind(B, nl + 8);
        ver4.push(Insn::stmt(ALU | AND | K, 0xc0));
        let v4 = self
            .ip_proto(IPPROTO_UDP, span)?
            .and(self.ip_first_frag())
            .and(Bool::test(ind(H, nl + 2), JMP | JEQ | K, g::PORT))
            .and(Bool::test(ver4, JMP | JEQ | K, 0))
            .and(vni_test(vni4))
            .and(Bool::Effect(Rc::new(
                [
                    vec![x, Insn::stmt(MISC | TXA, 0)],
                    self.add_offset(nl + 8),
                    vec![Insn::stmt(ST, g::SLOT_LL)],
                ]
                .concat(),
            )));
        // Over IPv6: at a fixed offset (no extension headers, as libpcap).
        let v6 = self
            .linktype(ETHERTYPE_IPV6, span)?
            .and(cmp(nl + 6, B, IPPROTO_UDP))
            .and(cmp(nl + 42, H, g::PORT))
            .and(mcmp(nl + 48, B, 0xc0, 0))
            .and(vni_test(vec![
                ld(W, nl + 52),
                Insn::stmt(ALU | AND | K, 0xffff_ff00),
            ]))
            .and(Bool::Effect(Rc::new(
                [
                    vec![Insn::stmt(LD | IMM, 0)],
                    self.add_offset(nl + 48),
                    vec![Insn::stmt(ST, g::SLOT_LL)],
                ]
                .concat(),
            )));
        let b = v4.or(v6).and(g::inner_offsets());
        self.geneve = true;
        self.tunnel = "geneve";
        self.link = LinkField::Ether(VIRT_LT);
        self.off_ll = VIRT_LL;
        self.off_linkpl = VIRT_NL;
        self.off_nl = 0;
        self.vlan_depth = 0;
        Ok(b)
    }

    /// `vxlan [vni]`: UDP to port 4789 carrying a VXLAN header (flags byte exactly 0x08, the
    /// VNI-valid flag; with that VNI), as libpcap's gen_vxlan4/6. What follows looks at the
    /// inner Ethernet frame, 8 bytes past the UDP header: at a run-time offset over IPv4
    /// (the IP header's length varies), so it shares `geneve`'s virtual offsets.
    fn vxlan(&mut self, vni: Option<u32>, span: &Span) -> R<Bool> {
        use crate::geneve::{self as g, VIRT_LL, VIRT_LT, VIRT_NL};
        check_max(vni, 0xff_ffff, Field::VxlanVni, span)?;
        let nl = self.nl();
        let vni_test = |off: Vec<Insn>| match vni {
            Some(v) => Bool::test(off, JMP | JEQ | K, v << 8),
            None => Bool::Const(true),
        };
        let x = self.ldx_iphdr();
        let ind = |size: u16, k: u32| vec![x, Insn::stmt(LD | size | IND, k)];
        let mut vni4 = ind(W, nl + 12);
        vni4.push(Insn::stmt(ALU | AND | K, 0xffff_ff00));
        let v4 = self
            .ip_proto(IPPROTO_UDP, span)?
            .and(self.ip_first_frag())
            .and(Bool::test(ind(H, nl + 2), JMP | JEQ | K, g::VXLAN_PORT))
            .and(Bool::test(ind(B, nl + 8), JMP | JEQ | K, g::VXLAN_FLAGS))
            .and(vni_test(vni4))
            .and(Bool::Effect(Rc::new(
                [
                    vec![x, Insn::stmt(MISC | TXA, 0)],
                    self.add_offset(nl + 16),
                    vec![Insn::stmt(ST, g::SLOT_LL)],
                ]
                .concat(),
            )));
        // Over IPv6: at a fixed offset (no extension headers, as libpcap).
        let v6 = self
            .linktype(ETHERTYPE_IPV6, span)?
            .and(cmp(nl + 6, B, IPPROTO_UDP))
            .and(cmp(nl + 42, H, g::VXLAN_PORT))
            .and(cmp(nl + 48, B, g::VXLAN_FLAGS))
            .and(vni_test(vec![
                ld(W, nl + 52),
                Insn::stmt(ALU | AND | K, 0xffff_ff00),
            ]))
            .and(Bool::Effect(Rc::new(
                [
                    vec![Insn::stmt(LD | IMM, 0)],
                    self.add_offset(nl + 56),
                    vec![Insn::stmt(ST, g::SLOT_LL)],
                ]
                .concat(),
            )));
        let b = v4.or(v6).and(g::ethernet_offsets());
        self.geneve = true;
        self.tunnel = "vxlan";
        self.link = LinkField::Ether(VIRT_LT);
        self.off_ll = VIRT_LL;
        self.off_linkpl = VIRT_NL;
        self.off_nl = 0;
        self.vlan_depth = 0;
        Ok(b)
    }

    /// `A += off`, where `off` may be a virtual offset (a second `geneve` inside the first):
    /// then the base comes from scratch memory.
    fn add_offset(&self, off: u32) -> Vec<Insn> {
        use crate::geneve::{SLOT_NL, VIRT_NL};
        if off >= VIRT_NL {
            vec![
                Insn::stmt(LDX | MEM, SLOT_NL),
                Insn::stmt(ALU | ADD | X, 0),
                Insn::stmt(ALU | ADD | K, off - VIRT_NL),
            ]
        } else {
            vec![Insn::stmt(ALU | ADD | K, off)]
        }
    }

    /// Inside `geneve` the inner frame may have no MAC header (a Geneve protocol other than
    /// Ethernet): link-layer address tests then fail, as in libpcap.
    fn has_mac_header(&self) -> Bool {
        use crate::geneve::{SLOT_LL, SLOT_NL};
        if !self.geneve || self.tunnel == "vxlan" {
            return Bool::Const(true);
        }
        let same = vec![
            Insn::stmt(LD | MEM, SLOT_LL),
            Insn::stmt(LDX | MEM, SLOT_NL),
        ];
        Bool::test(same, JMP | JEQ | X, 0).not()
    }

    fn mpls(&mut self, label: Option<u32>, span: &Span) -> R<Bool> {
        check_max(label, 0xfffff, Field::MplsLabel, span)?;
        let b = if self.mpls_depth > 0 {
            // Only if the label before this one was not the bottom of the stack.
            cmp_op(self.nl() - 2, B, None, JSET, 1).not()
        } else {
            match self.link {
                LinkField::Ether(_) => self.linktype(ETHERTYPE_MPLS, span)?,
                LinkField::Sll(_) | LinkField::Anc | LinkField::Raw | LinkField::Ip(_) => {
                    return err(
                        ErrorKind::NoSupportForLinkType {
                            what: LinkFeature::Mpls,
                            linktype: self.target.linktype.name(),
                        },
                        span,
                    )
                }
                LinkField::Ppp(off) => cmp(off, H, 0x0281),
            }
        };
        let b = match label {
            Some(l) => b.and(mcmp(self.nl(), W, 0xfffff000, l << 12)),
            None => b,
        };
        self.off_nl += 4;
        self.mpls_depth += 1;
        Ok(b)
    }

    fn pppoes(&mut self, sess: Option<u32>, span: &Span) -> R<Bool> {
        check_max(sess, 0xffff, Field::PppoeSession, span)?;
        let b = self.linktype(ETHERTYPE_PPPOES, span)?;
        let b = match sess {
            Some(s) => b.and(mcmp(self.off_linkpl, W, 0xffff, s)),
            None => b,
        };
        // The PPP protocol field follows the 6-byte PPPoE header; the payload after it.
        // libpcap's PUSH_LINKHDR: the link header is now the PPP one (`link[]`, `byte`).
        self.off_ll = self.off_linkpl + 6;
        self.link = LinkField::Ppp(self.off_linkpl + 6);
        self.off_linkpl += 8;
        Ok(b)
    }

    fn llc(&self, kind: Option<&str>, span: &Span) -> R<Bool> {
        let LinkField::Ether(off) = self.link else {
            return err(
                ErrorKind::NoSupportForLinkType {
                    what: LinkFeature::Llc,
                    linktype: self.target.linktype.name(),
                },
                span,
            );
        };
        let pl = self.off_linkpl;
        // 802.3 frame and not Novell's raw 802.3 (0xffff where the LLC header would be).
        let llc = cmp_op(off, H, None, JGT, ETHERMTU)
            .not()
            .and(cmp(pl, H, 0xffff).not());
        let ctl = pl + 2;
        let extra = match kind {
            None => Bool::Const(true),
            Some(k) => match k.to_ascii_lowercase().as_str() {
                "i" => cmp_op(ctl, B, None, JSET, 1).not(),
                "s" => mcmp(ctl, B, 3, 1),
                "u" => mcmp(ctl, B, 3, 3),
                "rr" => mcmp(ctl, B, 0x0f, 0x01),
                "rnr" => mcmp(ctl, B, 0x0f, 0x05),
                "rej" => mcmp(ctl, B, 0x0f, 0x09),
                "ui" => mcmp(ctl, B, 0xef, 0x03),
                "ua" => mcmp(ctl, B, 0xef, 0x63),
                "disc" => mcmp(ctl, B, 0xef, 0x43),
                "dm" => mcmp(ctl, B, 0xef, 0x0f),
                "sabme" => mcmp(ctl, B, 0xef, 0x6f),
                "test" => mcmp(ctl, B, 0xef, 0xe3),
                "xid" => mcmp(ctl, B, 0xef, 0xaf),
                "frmr" => mcmp(ctl, B, 0xef, 0x87),
                other => return err(unknown(Named::LlcType, other), span),
            },
        };
        Ok(llc.and(extra))
    }

    // -----------------------------------------------------------------------------------------
    // Qualified ids: host, net, port, portrange, proto, protochain, gateway

    fn qualified(&mut self, q: &Quals, id: &Id, span: &Span) -> R<Bool> {
        let proto = q.proto.as_ref().map(|p| p.0);
        let dir = q.dir.as_ref().map(|d| d.0);
        let kind = q.kind.as_ref().map(|k| k.0);
        let kind_name = kind.map_or("host", |k| k.name());
        match id {
            Id::Mac(mac) => match kind {
                None | Some(Kind::Host) if proto == Some(Proto::Link) => {
                    self.ether_host(mac, dir, span)
                }
                None | Some(Kind::Host) => err(Q::EtherAddressWithoutEther, span),
                Some(k) => err(
                    Q::ModifierApplied {
                        modifier: k.name(),
                        to: Applied::EtherAddress,
                    },
                    span,
                ),
            },
            Id::V4 { .. } | Id::Dotted(_) if proto == Some(Proto::Decnet) => {
                let text = match id {
                    Id::V4 { addr, bits } => {
                        ipv4_text(addr.checked_shl(32 - bits).unwrap_or(0), *bits)
                    }
                    Id::Dotted(t) => t.clone(),
                    _ => unreachable!(),
                };
                match kind {
                    None | Some(Kind::Host) | Some(Kind::Net) => self.decnet_host(&text, dir, span),
                    Some(k) => err(
                        Q::ModifierApplied {
                            modifier: k.name(),
                            to: Applied::DecnetAddress,
                        },
                        span,
                    ),
                }
            }
            Id::Dotted(t) => err(BadAddress::InvalidIpv4 { text: t.clone() }, span),
            Id::V4 { addr, bits } => {
                let (v, mask) = match kind {
                    Some(Kind::Net) => promote_net(*addr),
                    None | Some(Kind::Host) => shift_host(*addr, *bits),
                    Some(k) => {
                        return err(
                            Q::ModifierApplied {
                                modifier: k.name(),
                                to: Applied::IpAddress,
                            },
                            span,
                        )
                    }
                };
                if proto == Some(Proto::Link) {
                    return err(Q::IpAddressWithEther, span);
                }
                self.host4(v, mask, proto, dir, kind_name, span)
            }
            Id::V4Prefix { addr, bits, len } => {
                let n = addr.checked_shl(32 - bits).unwrap_or(0);
                if *len > 32 {
                    return err(BadAddress::MaskTooLong { max: 32 }, span);
                }
                let m = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
                if n & !m != 0 {
                    return err(
                        BadAddress::NonNetworkBits {
                            net: format!("{}/{}", ipv4_text(n, *bits), len),
                        },
                        span,
                    );
                }
                net_only(kind, "prefix length", span)?;
                self.host4(n, m, proto, dir, "net", span)
            }
            Id::V4Mask { addr, bits, mask } => {
                let n = addr.checked_shl(32 - bits).unwrap_or(0);
                if n & !mask != 0 {
                    return err(
                        BadAddress::NonNetworkBits {
                            net: format!("{} mask {}", ipv4_text(n, *bits), ipv4_text(*mask, 32)),
                        },
                        span,
                    );
                }
                net_only(kind, "netmask", span)?;
                self.host4(n, *mask, proto, dir, "net", span)
            }
            Id::V6(a) => match kind {
                None | Some(Kind::Host) | Some(Kind::Net) => {
                    self.host6(a, &[0xff; 16], proto, dir, kind_name, span)
                }
                Some(k) => err(
                    Q::ModifierApplied {
                        modifier: k.name(),
                        to: Applied::IpAddress,
                    },
                    span,
                ),
            },
            Id::V6Prefix(a, len) => {
                if *len > 128 {
                    return err(BadAddress::MaskTooLong { max: 128 }, span);
                }
                let m = v6_mask(*len);
                if a.iter().zip(m.iter()).any(|(a, m)| a & !m != 0) {
                    return err(BadAddress::NonNetworkBitsV6, span);
                }
                // libpcap's gen_mcode6: a host may carry /128 (its own address, whole).
                if matches!(kind, None | Some(Kind::Host)) && *len == 128 {
                    return self.host6(a, &m, proto, dir, kind_name, span);
                }
                net_only(kind, "prefix length", span)?;
                self.host6(a, &m, proto, dir, "net", span)
            }
            Id::Num(n) => self.numeric(*n, proto, dir, kind, span),
            Id::Name(name) => self.named(name, proto, dir, kind, span),
        }
    }

    /// `pnum` ids: `port 80`, `proto 6`, `net 10`, `host 0x0a000001`, `vlan`-less numbers.
    fn numeric(
        &mut self,
        n: u32,
        proto: Option<Proto>,
        dir: Option<Dir>,
        kind: Option<Kind>,
        span: &Span,
    ) -> R<Bool> {
        if proto == Some(Proto::Decnet) && matches!(kind, None | Some(Kind::Host) | Some(Kind::Net))
        {
            return self.decnet_addr(n, dir, span);
        }
        match kind {
            None | Some(Kind::Host) => {
                if proto == Some(Proto::Link) {
                    return err(Q::IpAddressWithEther, span);
                }
                self.host4(n, u32::MAX, proto, dir, "host", span)
            }
            Some(Kind::Net) => {
                let (v, m) = promote_net(n);
                self.host4(v, m, proto, dir, "net", span)
            }
            Some(Kind::Port) => {
                if n > 65535 {
                    return err(ErrorKind::PortTooLarge { port: n }, span);
                }
                let ipp = self.port_proto(proto, "port", span)?;
                self.port(n, n, ipp, dir, span)
            }
            Some(Kind::PortRange) => {
                if n > 65535 {
                    return err(ErrorKind::PortTooLarge { port: n }, span);
                }
                let ipp = self.port_proto(proto, "portrange", span)?;
                self.port(n, n, ipp, dir, span)
            }
            Some(Kind::Proto) => self.proto_num(n, proto, span),
            Some(Kind::Protochain) => self.protochain(n, proto, span),
            Some(Kind::Gateway) => err(Q::GatewayNeedsName, span),
        }
    }

    fn port_proto(&self, proto: Option<Proto>, what: &'static str, span: &Span) -> R<Option<u32>> {
        match proto {
            None => Ok(None),
            Some(Proto::Tcp) => Ok(Some(IPPROTO_TCP)),
            Some(Proto::Udp) => Ok(Some(IPPROTO_UDP)),
            Some(Proto::Sctp) => Ok(Some(IPPROTO_SCTP)),
            Some(p) => err(
                Q::IllegalQualifier {
                    of: what,
                    qualifier: p.name(),
                },
                span,
            ),
        }
    }

    /// `[ether|ip|ip6] proto N`. Values too large for the field are not an error (libpcap
    /// compiles them; they never match, and `not proto 256` matches everything).
    fn proto_num(&mut self, n: u32, proto: Option<Proto>, span: &Span) -> R<Bool> {
        match proto {
            None => Ok(self.ip_proto(n, span)?.or(self.ip6_proto(n, span)?)),
            Some(Proto::Ip) => self.ip_proto(n, span),
            Some(Proto::Ip6) => self.ip6_proto(n, span),
            Some(Proto::Link) => self.linktype(n, span),
            Some(Proto::Iso) => self.iso_proto(n, span),
            // libpcap's gen_proto, Q_ISIS: the PDU type byte, 4 into the IS-IS header.
            Some(Proto::Isis) => self.isis_pdu(&[n], span),
            Some(p) => err(
                Q::QualifierApplied {
                    qualifier: "proto",
                    proto: p.name(),
                },
                span,
            ),
        }
    }

    fn protochain(&mut self, n: u32, proto: Option<Proto>, span: &Span) -> R<Bool> {
        if self.geneve {
            return err(
                Unsupported::ProtochainInTunnel {
                    tunnel: self.tunnel,
                },
                span,
            );
        }
        let nl = self.nl();
        let v4 = |s: &Self| -> R<Bool> {
            let walk = ChainWalk {
                start: vec![
                    Insn::stmt(LDX | B | MSH, nl),
                    Insn::stmt(LD | B | ABS, nl + 9),
                ],
                base: nl,
                proto: n,
                v6: false,
                steps: PROTOCHAIN_STEPS,
            };
            Ok(s.linktype(ETHERTYPE_IP, span)?
                .and(Bool::Chain(Rc::new(walk))))
        };
        let v6 = |s: &Self| -> R<Bool> {
            let walk = ChainWalk {
                start: vec![Insn::stmt(LDX | IMM, 40), Insn::stmt(LD | B | ABS, nl + 6)],
                base: nl,
                proto: n,
                v6: true,
                steps: PROTOCHAIN_STEPS,
            };
            Ok(s.linktype(ETHERTYPE_IPV6, span)?
                .and(Bool::Chain(Rc::new(walk))))
        };
        match proto {
            None => Ok(v4(self)?.or(v6(self)?)),
            Some(Proto::Ip) => v4(self),
            Some(Proto::Ip6) => v6(self),
            Some(p) => err(
                Q::QualifierApplied {
                    qualifier: "protochain",
                    proto: p.name(),
                },
                span,
            ),
        }
    }

    /// Ids that are names: host names, port names, protocol names, network names.
    fn named(
        &mut self,
        name: &str,
        proto: Option<Proto>,
        dir: Option<Dir>,
        kind: Option<Kind>,
        span: &Span,
    ) -> R<Bool> {
        match kind {
            None | Some(Kind::Host) => {
                if proto == Some(Proto::Link) {
                    let Some(mac) = self.resolver.ether_host(name) else {
                        return err(unknown(Named::EtherHost, name), span);
                    };
                    return self.ether_host(&mac, dir, span);
                }
                // A resolver may list an address more than once (getaddrinfo gives one
                // entry per socket type): test each once.
                let v4 = if matches!(proto, Some(Proto::Ip6)) {
                    vec![]
                } else {
                    dedup(self.resolver.host_v4(name))
                };
                let v6 = if matches!(proto, None | Some(Proto::Ip6)) {
                    dedup(self.resolver.host_v6(name))
                } else {
                    vec![]
                };
                if v4.is_empty() && v6.is_empty() {
                    return err(unknown(Named::Host, name), span);
                }
                let mut b = Bool::Const(false);
                for a in v4 {
                    b = b.or(self.host4(
                        u32::from_be_bytes(a),
                        u32::MAX,
                        proto,
                        dir,
                        "host",
                        span,
                    )?);
                }
                for a in v6 {
                    b = b.or(self.host6(&a, &[0xff; 16], proto, dir, "host", span)?);
                }
                Ok(b)
            }
            Some(Kind::Net) => {
                // libpcap takes network number 0 (`default`) for "unknown".
                let Some(n) = self.resolver.network(name).filter(|&n| n != 0) else {
                    return err(unknown(Named::Network, name), span);
                };
                let (v, m) = promote_net(n);
                self.host4(v, m, proto, dir, "net", span)
            }
            Some(Kind::Port) => {
                let want = self.port_proto(proto, "port", span)?;
                let (port, real) = self.service(name, want, span)?;
                self.port(port, port, real, dir, span)
            }
            Some(Kind::PortRange) => {
                let want = self.port_proto(proto, "portrange", span)?;
                let (lo, hi, real) = self.port_range(name, span)?;
                let real = check_proto(want, real, Named::PortInRange, name, span)?;
                self.port(lo, hi, real, dir, span)
            }
            Some(Kind::Proto) => {
                let n = match proto {
                    Some(Proto::Link) => match ether_proto_name(name) {
                        Some(n) => n,
                        None => return err(unknown(Named::EtherProto, name), span),
                    },
                    Some(Proto::Iso) => match name {
                        "clnp" => ISO8473_CLNP,
                        "esis" | "es-is" => ISO9542_ESIS,
                        "isis" | "is-is" => ISO10589_ISIS,
                        _ => return err(unknown(Named::OsiProto, name), span),
                    },
                    _ => match self.ip_proto_name(name) {
                        Some(n) => n,
                        None => {
                            let qualified = match proto {
                                Some(p @ (Proto::Ip6 | Proto::Ip)) => Some(p.name()),
                                _ => None,
                            };
                            return err(unknown(Named::Proto(qualified), name), span);
                        }
                    },
                };
                self.proto_num(n, proto, span)
            }
            Some(Kind::Protochain) => match self.ip_proto_name(name) {
                Some(n) => self.protochain(n, proto, span),
                None => err(unknown(Named::Protocol, name), span),
            },
            Some(Kind::Gateway) => self.gateway(name, proto, span),
        }
    }

    /// Protocol names come from the system's table only, as in libpcap (`icmp6` is not there;
    /// `ipv6-icmp` is).
    fn ip_proto_name(&self, name: &str) -> Option<u32> {
        self.resolver.protocol(name).map(u32::from)
    }

    /// A service name or a number, as libpcap's `pcap_nametoport` (through getaddrinfo): the
    /// port, and the one protocol it is known for (None: both, or a number).
    fn name_to_port(&self, name: &str) -> Option<(u32, Option<u32>)> {
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            // getaddrinfo takes decimal digits and keeps the low 16 bits.
            let v = name.bytes().fold(0u32, |v, d| {
                v.wrapping_mul(10).wrapping_add((d - b'0') as u32)
            });
            return Some((v & 0xffff, None));
        }
        let tcp = self
            .resolver
            .service(name, ServiceProto::Tcp)
            .map(u32::from);
        let udp = self
            .resolver
            .service(name, ServiceProto::Udp)
            .map(u32::from);
        match (tcp, udp) {
            (Some(t), Some(u)) if t == u => Some((t, None)),
            (Some(t), _) => Some((t, Some(IPPROTO_TCP))),
            (None, Some(u)) => Some((u, Some(IPPROTO_UDP))),
            (None, None) => None,
        }
    }

    /// A service name as libpcap's `pcap_nametoport`: a name known only for TCP (or UDP)
    /// restricts the match to that protocol.
    fn service(&self, name: &str, want: Option<u32>, span: &Span) -> R<(u32, Option<u32>)> {
        let Some((port, real)) = self.name_to_port(name) else {
            return err(unknown(Named::Port, name), span);
        };
        Ok((port, check_proto(want, real, Named::Port, name, span)?))
    }

    /// `portrange A-B` as libpcap's `pcap_nametoportrange`: two decimal numbers (checked),
    /// else two names or numbers (not checked); the range's protocol is the one both ends
    /// share.
    fn port_range(&self, name: &str, span: &Span) -> R<(u32, u32, Option<u32>)> {
        let unknown = || err(unknown(Named::PortInRange, name), span);
        let (p1, p2, real) = match scan_decimal_range(name) {
            Some((a, b)) => {
                for p in [a, b] {
                    if p > 65535 {
                        return err(ErrorKind::PortTooLarge { port: p }, span);
                    }
                }
                (a, b, None)
            }
            None => {
                let Some((a, b)) = name.split_once('-') else {
                    return unknown();
                };
                let (Some((p1, r1)), Some((p2, r2))) = (self.name_to_port(a), self.name_to_port(b))
                else {
                    return unknown();
                };
                (p1, p2, if r1 == r2 { r1 } else { None })
            }
        };
        Ok((p1.min(p2), p1.max(p2), real))
    }

    /// `[ip|arp|rarp] gateway H`: a packet with H's Ethernet address as source or destination
    /// whose ARP/IPv4/RARP addresses are not H's: routed through H. As current libpcap
    /// (since its issue 1571): the frame must be one of the protocols named (all three
    /// when none is), so an IPv6 or other frame to or from H's MAC is not "through" it.
    fn gateway(&mut self, name: &str, proto: Option<Proto>, span: &Span) -> R<Bool> {
        let protos = match proto {
            None => vec![Proto::Ip, Proto::Arp, Proto::Rarp],
            Some(p @ (Proto::Ip | Proto::Arp | Proto::Rarp)) => vec![p],
            Some(p) => {
                return err(
                    Q::IllegalQualifier {
                        of: "gateway",
                        qualifier: p.name(),
                    },
                    span,
                )
            }
        };
        self.need_ether("'gateway'", span)?;
        // The MAC and the addresses would come from different layers.
        if self.mpls_depth > 0 {
            return err(Unsupported::GatewayWithin { what: "MPLS" }, span);
        }
        if self.geneve {
            let what = if self.tunnel == "vxlan" {
                "VXLAN"
            } else {
                "Geneve"
            };
            return err(Unsupported::GatewayWithin { what }, span);
        }
        let Some(mac) = self.resolver.ether_host(name) else {
            return err(unknown(Named::EtherHost, name), span);
        };
        let addrs = dedup(self.resolver.host_v4(name));
        if addrs.is_empty() {
            return err(unknown(Named::Host, name), span);
        }
        let ether = self.ether_host(&mac, None, span)?;
        let mut through = Bool::Const(false);
        for p in protos {
            let lt = match p {
                Proto::Ip => ETHERTYPE_IP,
                Proto::Arp => ETHERTYPE_ARP,
                _ => ETHERTYPE_RARP,
            };
            let mut host = Bool::Const(false);
            for &a in &addrs {
                let a = u32::from_be_bytes(a);
                host = host.or(self.host4(a, u32::MAX, Some(p), None, "host", span)?);
            }
            through = through.or(self.linktype(lt, span)?.and(host.not()));
        }
        Ok(ether.and(through))
    }

    // -----------------------------------------------------------------------------------------
    // Arithmetic and relations

    fn relation(&mut self, op: RelOp, lhs: &Arith, rhs: &Arith) -> R<Bool> {
        self.slots = 0;
        let (jmp, negate) = match op {
            RelOp::Gt => (JGT, false),
            RelOp::Ge => (JGE, false),
            RelOp::Eq => (JEQ, false),
            RelOp::Le => (JGT, true),
            RelOp::Lt => (JGE, true),
            RelOp::Ne => (JEQ, true),
        };
        validate(lhs)?;
        validate(rhs)?;
        let (lc, mut stmts) = self.arith(lhs)?;
        // The left value waits in a slot while the right one is computed (allocated first,
        // so the right side's own slots differ).
        let slot = self.slot(lhs_span(lhs))?;
        let (rc, rs) = self.arith(rhs)?;
        let value = |s: &[Insn]| match s {
            [i] if i.code == LD | IMM => Some(i.k),
            _ => None,
        };
        let test = match (value(&stmts), value(&rs)) {
            // With the optimizer, a relation between values it knows is decided now.
            (Some(a), Some(b)) if self.optimize => Bool::Const(match jmp {
                JGT => a > b,
                JGE => a >= b,
                _ => a == b,
            }),
            (_, Some(k)) => Bool::test(stmts, JMP | jmp | K, k),
            _ => {
                stmts.push(Insn::stmt(ST, slot));
                stmts.extend(rs);
                stmts.push(Insn::stmt(MISC | TAX, 0));
                stmts.push(Insn::stmt(LD | MEM, slot));
                Bool::test(stmts, JMP | jmp | X, 0)
            }
        };
        // Only the comparison is negated: `tcp[0] != 1` still requires TCP.
        let test = if negate { test.not() } else { test };
        Ok(lc.and(rc).and(test))
    }

    /// `M[slot] << A` (or `>>`) where a count of 32 or more gives 0, as in libpcap's
    /// interpreter; the kernel would use the count modulo 32. Branch-free, so it stays one
    /// test: `(v << (n & 31)) * ((n >> 5) - 1 >> 31)`.
    fn variable_shift(
        &mut self,
        s: &mut Vec<Insn>,
        value_slot: u32,
        code: u16,
        span: &Span,
    ) -> R<()> {
        let count = self.slot(span)?;
        s.extend([
            Insn::stmt(ST, count),
            Insn::stmt(ALU | AND | K, 31),
            Insn::stmt(MISC | TAX, 0),
            Insn::stmt(LD | MEM, value_slot),
            Insn::stmt(ALU | code | X, 0),
            Insn::stmt(ST, value_slot),
            Insn::stmt(LD | MEM, count),
            Insn::stmt(ALU | RSH | K, 5),
            Insn::stmt(ALU | SUB | K, 1),
            Insn::stmt(ALU | RSH | K, 31),
            Insn::stmt(MISC | TAX, 0),
            Insn::stmt(LD | MEM, value_slot),
            Insn::stmt(ALU | MUL | X, 0),
        ]);
        Ok(())
    }

    fn slot(&mut self, span: &Span) -> R<u32> {
        if self.slots >= crate::geneve::FIRST_SLOT {
            return err(
                Limit::Values {
                    max: crate::geneve::FIRST_SLOT,
                },
                span,
            );
        }
        self.slots += 1;
        Ok(self.slots - 1)
    }

    /// Statements leaving the value of `a` in A, and the protocol conditions its packet loads
    /// need (`tcp[0]` only means something for TCP).
    fn arith(&mut self, a: &Arith) -> R<(Bool, Vec<Insn>)> {
        if let Some(k) = self.constant(a)? {
            return Ok((Bool::Const(true), vec![Insn::stmt(LD | IMM, k)]));
        }
        match a {
            Arith::Num(k) => Ok((Bool::Const(true), vec![Insn::stmt(LD | IMM, *k)])),
            Arith::Len => Ok((Bool::Const(true), self.len())),
            Arith::Neg(x) => {
                let (c, mut s) = self.arith(x)?;
                s.push(Insn::stmt(ALU | NEG, 0));
                Ok((c, s))
            }
            Arith::Bin(op, l, r, span) => self.binary(*op, l, r, span),
            Arith::Load {
                proto,
                off,
                size,
                span,
            } => self.load(*proto, off, *size, span),
        }
    }

    /// `l op r`. libpcap's `gen_arth` keeps only the left operand's protocol conditions
    /// (`len / ip[1] > 0` also matches non-IP frames), and checks for division by zero and
    /// oversized shifts only when the right operand's code starts with a constant load.
    fn binary(&mut self, op: ArOp, l: &Arith, r: &Arith, span: &Span) -> R<(Bool, Vec<Insn>)> {
        let code = match op {
            ArOp::Add => ADD,
            ArOp::Sub => SUB,
            ArOp::Mul => MUL,
            ArOp::Div => DIV,
            ArOp::Mod => MOD,
            ArOp::And => AND,
            ArOp::Or => OR,
            ArOp::Xor => XOR,
            ArOp::Lsh => LSH,
            ArOp::Rsh => RSH,
        };
        let (lc, mut s) = self.arith(l)?;
        // The left value waits in a slot while the right one is computed (allocated first,
        // so the right side's own slots differ); freed again on the way out.
        let slot = self.slot(span)?;
        let (_, rs) = self.arith(r)?;
        self.slots = slot + 1; // the right side's slots are free again; `slot` is not yet
                               // What the optimizer knows: an operand that came out as a single constant load.
        let value = |v: &[Insn]| match v {
            [i] if i.code == LD | IMM => Some(i.k),
            _ => None,
        };
        if self.optimize {
            // libpcap's optimizer: a zero on the left absorbs the right operand (and its
            // loads); `x * 0` and `x & 0` are 0 without x's loads.
            let zero = vec![Insn::stmt(LD | IMM, 0)];
            // ... but a divisor known to be zero is folded first, with a constant left side,
            // and fails (opt_stmt folds A op X when both are constant: `0 % (1 / 13)` is
            // "modulus by zero"); with a left side it does not know, the error waits below.
            let zero_divisor =
                matches!(op, ArOp::Div | ArOp::Mod) && value(&rs) == Some(0) && value(&s).is_some();
            if value(&s) == Some(0) && !zero_divisor {
                match op {
                    ArOp::Mul | ArOp::Div | ArOp::Mod | ArOp::And | ArOp::Lsh | ArOp::Rsh => {
                        return Ok((lc, zero))
                    }
                    ArOp::Add | ArOp::Or | ArOp::Xor => return Ok((lc, rs)),
                    ArOp::Sub => {}
                }
            }
            if let Some(k) = value(&rs) {
                match op {
                    ArOp::Mul | ArOp::And if k == 0 => return Ok((lc, zero)),
                    ArOp::Div | ArOp::Mod if k == 0 => {
                        let kind = if op == ArOp::Div {
                            ErrorKind::DivisionByZero
                        } else {
                            ErrorKind::ModulusByZero
                        };
                        return Ok((lc, self.defer(s, code, k, kind, span)));
                    }
                    // libpcap's optimizer turns `lsh x` with a known X into `lsh #k` and
                    // refuses k > 31 (with a constant left side it folds to 0 instead).
                    ArOp::Lsh | ArOp::Rsh if k > 31 => {
                        return Ok((lc, self.defer(s, code, k, ErrorKind::ShiftTooLarge, span)))
                    }
                    _ => {
                        s.push(Insn::stmt(ALU | code | K, k));
                        return Ok((lc, s));
                    }
                }
            }
        } else if let Arith::Num(k) = r {
            // Without the optimizer only literal right operands are immediate, and only
            // where the kernel accepts them; the rest is computed at run time, as libpcap.
            let ok = match op {
                ArOp::Div | ArOp::Mod => *k != 0,
                ArOp::Lsh | ArOp::Rsh => *k < 32,
                _ => true,
            };
            if ok {
                s.push(Insn::stmt(ALU | code | K, *k));
                return Ok((lc, s));
            }
        }
        s.push(Insn::stmt(ST, slot));
        s.extend(rs);
        if matches!(op, ArOp::Lsh | ArOp::Rsh) {
            self.variable_shift(&mut s, slot, code, span)?;
        } else {
            s.push(Insn::stmt(MISC | TAX, 0));
            s.push(Insn::stmt(LD | MEM, slot));
            s.push(Insn::stmt(ALU | code | X, 0));
        }
        self.slots = slot; // the slot is free again
        Ok((lc, s))
    }

    /// `s` followed by `op #k`, which the kernel refuses: an error if it is still reachable
    /// after optimization (see `deferred`).
    fn defer(
        &mut self,
        mut s: Vec<Insn>,
        code: u16,
        k: u32,
        kind: ErrorKind,
        span: &Span,
    ) -> Vec<Insn> {
        let insn = Insn::stmt(ALU | code | K, k);
        self.deferred.push((insn, Error::new(kind, span.clone())));
        s.push(insn);
        s
    }

    /// The value of `a` if it is known at compile time: with the optimizer, folded as
    /// libpcap's optimizer folds (shifts by 32 or more give 0, division by zero is an error);
    /// without it, only literal numbers (libpcap computes the rest at run time).
    fn constant(&self, a: &Arith) -> R<Option<u32>> {
        if !self.optimize {
            return Ok(match a {
                Arith::Num(k) => Some(*k),
                _ => None,
            });
        }
        Ok(match a {
            Arith::Num(k) => Some(*k),
            Arith::Neg(x) => self.constant(x)?.map(|v| v.wrapping_neg()),
            Arith::Bin(op, l, r, _) => {
                let (x, y) = (self.constant(l)?, self.constant(r)?);
                // A divisor known to be zero: libpcap's optimizer folds both sides and fails
                // before anything absorbs it; `binary` compiles it, and the error waits for
                // the optimizer.
                if matches!(op, ArOp::Div | ArOp::Mod) && y == Some(0) && x.is_some() {
                    return Ok(None);
                }
                // libpcap's optimizer: a zero on the left absorbs the right side. (`x * 0`
                // is zero too, but keeps x's protocol conditions: see `binary`.)
                if let (
                    ArOp::Mul | ArOp::Div | ArOp::Mod | ArOp::And | ArOp::Lsh | ArOp::Rsh,
                    Some(0),
                ) = (op, x)
                {
                    return Ok(Some(0));
                }
                let (Some(x), Some(y)) = (x, y) else {
                    return Ok(None);
                };
                Some(match op {
                    ArOp::Add => x.wrapping_add(y),
                    ArOp::Sub => x.wrapping_sub(y),
                    ArOp::Mul => x.wrapping_mul(y),
                    // Not folded: `binary` compiles it, and the error waits for the optimizer.
                    ArOp::Div | ArOp::Mod if y == 0 => return Ok(None),
                    ArOp::Div => x / y,
                    ArOp::Mod => x % y,
                    ArOp::And => x & y,
                    ArOp::Or => x | y,
                    ArOp::Xor => x ^ y,
                    ArOp::Lsh => x.checked_shl(y).unwrap_or(0),
                    ArOp::Rsh => x.checked_shr(y).unwrap_or(0),
                })
            }
            Arith::Len | Arith::Load { .. } => None,
        })
    }

    /// On a cooked socket the kernel shows the filter no cooked header: whole header fields
    /// that it keeps as socket metadata are read through ancillary loads instead.
    fn cooked_field(&self, off: &Arith, size: u32, span: &Span) -> R<Insn> {
        use LinkType::{LinuxSll, LinuxSll2};
        let field = match (self.target.linktype, self.constant(off)?, size) {
            (LinuxSll, Some(0), 2) | (LinuxSll2, Some(10), 1) => Some(SKF_AD_PKTTYPE),
            (LinuxSll, Some(2), 2) | (LinuxSll2, Some(8), 2) => Some(SKF_AD_HATYPE),
            (LinuxSll, Some(14), 2) | (LinuxSll2, Some(0), 2) => Some(SKF_AD_PROTOCOL),
            (LinuxSll2, Some(4), 4) => Some(SKF_AD_IFINDEX),
            _ => None,
        };
        match field {
            Some(f) => Ok(anc(f)),
            None => err(KernelView::CookedField, span),
        }
    }

    /// `proto[off:size]`.
    fn load(&mut self, proto: Proto, off: &Arith, size: u32, span: &Span) -> R<(Bool, Vec<Insn>)> {
        use Proto::*;
        let sz = size_code(size);
        // Where offsets count from, the conditions for that to mean anything (checked before
        // and after the index's own, in libpcap's order), and whether the base is the IPv4
        // transport header (variable: X = IP header length).
        let (base, pre, post, transport) = match proto {
            Link => {
                if self.cooked_kernel() {
                    let insn = self.cooked_field(off, size, span)?;
                    return Ok((Bool::Const(true), vec![insn]));
                }
                (self.off_ll, Bool::Const(true), Bool::Const(true), false)
            }
            Ip | Arp | Rarp | Atalk | Decnet | Sca | Lat | Moprc | Mopdl | Ip6 => {
                let c = self.proto_abbrev(proto, span)?;
                (self.nl(), Bool::Const(true), c, false)
            }
            Sctp | Tcp | Udp | Icmp | Igmp | Igrp | Pim | Vrrp | Carp => {
                let pre = self.linktype(ETHERTYPE_IP, span)?;
                let post = self
                    .ip_proto(proto_number(proto), span)?
                    .and(self.ip_first_frag());
                (self.nl(), pre, post, true)
            }
            Icmp6 => {
                let c =
                    self.linktype(ETHERTYPE_IPV6, span)?
                        .and(cmp(self.nl() + 6, B, IPPROTO_ICMPV6));
                (self.nl() + 40, Bool::Const(true), c, false)
            }
            p => return err(Unsupported::PacketAccess { proto: p.name() }, span),
        };
        // A constant offset is folded into the load, except a huge one under a transport
        // header: libpcap adds it to the header length in A, where it wraps around.
        if let Some(k) = self
            .constant(off)?
            .filter(|&k| !(transport && k >= 0x1000_0000))
        {
            let mut s = Vec::new();
            // Unoptimized, libpcap loads the index into X and reads [x + base]: an index
            // that wraps past 2^32 is out of bounds there (its optimizer folds and wraps).
            let k = if !self.optimize && !transport && base.checked_add(k).is_none() {
                SKF_LL_OFF - 1
            } else {
                packet_offset(base, k)
            };
            if transport {
                s.push(self.ldx_iphdr());
                s.push(Insn::stmt(LD | sz | IND, k));
            } else {
                s.push(ld(sz, k));
            }
            return Ok((pre.and(post), s));
        }
        let (oc, mut s) = self.arith(off)?;
        if transport {
            let slot = self.slot(span)?;
            s.push(Insn::stmt(ST, slot));
            s.push(self.ldx_iphdr());
            s.push(Insn::stmt(LD | MEM, slot));
            s.push(Insn::stmt(ALU | ADD | X, 0));
            self.slots = slot;
        }
        s.push(Insn::stmt(MISC | TAX, 0));
        s.push(Insn::stmt(LD | sz | IND, base));
        Ok((pre.and(oc).and(post), s))
    }
}

/// Offsets from 0xffe00000 up address kernel metadata, not packet bytes. A load there from a
/// filter expression (`ether[0xffffffff]`) can only be past the end of the packet: use an
/// offset that is, for the kernel as for libpcap.
fn packet_offset(base: u32, k: u32) -> u32 {
    use crate::geneve::VIRT_LL;
    // `tcp[-1:2]` wraps around to the byte before the header, as in libpcap. Anything that
    // lands past 256 MiB is past any packet; so are offsets into the virtual range `geneve`
    // uses (for a virtual `base`, only the offset inside the inner frame counts).
    let v = base.wrapping_add(k);
    let past_any_packet = if base >= VIRT_LL {
        k >= 0x1000_0000
    } else {
        v >= 0x1000_0000
    };
    if past_any_packet {
        SKF_LL_OFF - 1
    } else {
        v
    }
}

fn lhs_span(a: &Arith) -> &Span {
    const NONE: &Span = &(0..0);
    match a {
        Arith::Load { span, .. } | Arith::Bin(_, _, _, span) => span,
        _ => NONE,
    }
}

/// libpcap's `gen_arth` checks, on every operation of an arithmetic expression (constant or
/// not): division by zero and shifts by more than 31, judged by the constant the right
/// operand's code starts with.
fn validate(a: &Arith) -> R<()> {
    match a {
        Arith::Num(_) | Arith::Len => Ok(()),
        Arith::Neg(x) => validate(x),
        Arith::Load { off, .. } => validate(off),
        Arith::Bin(op, l, r, span) => {
            validate(l)?;
            validate(r)?;
            match (op, first_constant(r)) {
                (ArOp::Div, Some(0)) => err(ErrorKind::DivisionByZero, span),
                (ArOp::Mod, Some(0)) => err(ErrorKind::ModulusByZero, span),
                (ArOp::Lsh | ArOp::Rsh, Some(k)) if k > 31 => err(ErrorKind::ShiftTooLarge, span),
                _ => Ok(()),
            }
        }
    }
}

/// The constant that the code libpcap generates for `a` starts with, if any: its
/// division and shift checks look only at that (`len / ip[0]` is "division by zero": the
/// index 0 is loaded first).
fn first_constant(a: &Arith) -> Option<u32> {
    match a {
        Arith::Num(k) => Some(*k),
        Arith::Len => None,
        Arith::Neg(x) => first_constant(x),
        Arith::Bin(_, l, _, _) => first_constant(l),
        Arith::Load { off, .. } => first_constant(off),
    }
}

/// `a/len` and `a mask m` only follow `net` (libpcap's messages otherwise).
fn net_only(kind: Option<Kind>, form: &'static str, span: &Span) -> R<()> {
    match kind {
        Some(Kind::Net) => Ok(()),
        Some(k @ (Kind::Port | Kind::PortRange | Kind::Proto | Kind::Protochain)) => err(
            Q::ModifierApplied {
                modifier: k.name(),
                to: Applied::IpNet(form),
            },
            span,
        ),
        _ => err(Q::MaskNotNet, span),
    }
}

/// `v` without repeats, first occurrences kept in order.
fn dedup<T: PartialEq>(v: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(v.len());
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

/// libpcap's range checks on `vlan`, `mpls`, `pppoes` and `geneve` numbers.
fn check_max(v: Option<u32>, max: u32, what: Field, span: &Span) -> R<()> {
    match v {
        Some(value) if value > max => err(ErrorKind::ValueTooLarge { what, value, max }, span),
        _ => Ok(()),
    }
}

/// A port's protocol against the one asked for (`udp port ssh` is an error: ssh is TCP).
fn check_proto(
    want: Option<u32>,
    real: Option<u32>,
    what: Named,
    port: &str,
    span: &Span,
) -> R<Option<u32>> {
    let name = |p| match p {
        IPPROTO_TCP => "tcp",
        IPPROTO_UDP => "udp",
        _ => "sctp",
    };
    match (want, real) {
        (Some(w), Some(r)) if w != r => err(
            Q::PortProtocol {
                what,
                port: port.to_string(),
                proto: name(r),
            },
            span,
        ),
        (Some(w), _) => Ok(Some(w)),
        (None, r) => Ok(r),
    }
}

/// `unknown {what} '{name}'`.
fn unknown(what: Named, name: &str) -> ErrorKind {
    ErrorKind::Unknown {
        what,
        name: name.to_string(),
    }
}

/// `sscanf(s, "%d-%d")` succeeding on both numbers: `80-0x50` is 80 and 0.
fn scan_decimal_range(s: &str) -> Option<(u32, u32)> {
    let digits = |s: &str| -> Option<(u32, usize)> {
        let n = s.bytes().take_while(|b| b.is_ascii_digit()).count();
        (n > 0).then(|| {
            (
                s[..n]
                    .parse::<u64>()
                    .map_or(u32::MAX, |v| v.min(u32::MAX as u64) as u32),
                n,
            )
        })
    };
    let (a, n) = digits(s)?;
    let rest = s[n..].strip_prefix('-')?;
    let rest = rest.strip_prefix('+').unwrap_or(rest);
    let (b, _) = digits(rest)?;
    Some((a, b))
}

fn proto_number(p: Proto) -> u32 {
    match p {
        Proto::Sctp => IPPROTO_SCTP,
        Proto::Tcp => IPPROTO_TCP,
        Proto::Udp => IPPROTO_UDP,
        Proto::Icmp => IPPROTO_ICMP,
        Proto::Igmp => IPPROTO_IGMP,
        Proto::Igrp => IPPROTO_IGRP,
        Proto::Pim => IPPROTO_PIM,
        Proto::Vrrp | Proto::Carp => IPPROTO_VRRP,
        _ => 0,
    }
}

/// EtherType to PPP protocol, for protocols behind `pppoes`.
fn ppp_proto(ethertype: u32) -> Option<u32> {
    // libpcap's ethertype_to_ppptype; anything else is compared as it is.
    Some(match ethertype {
        ETHERTYPE_IP => 0x0021,
        ETHERTYPE_IPV6 => 0x0057,
        ETHERTYPE_DN => 0x0027,
        ETHERTYPE_ATALK => 0x0029,
        0x0600 => 0x0025, // XNS
        LLCSAP_ISONS => 0x0023,
        LLCSAP_8021D => 0x0031,
        LLCSAP_IPX => 0x002b,
        p => p,
    })
}

/// `host 10.1`: a partial address names the network it starts.
fn shift_host(addr: u32, bits: u32) -> (u32, u32) {
    let sh = 32 - bits;
    (
        addr.checked_shl(sh).unwrap_or(0),
        u32::MAX.checked_shl(sh).unwrap_or(0),
    )
}

/// `net 10`, `net 192.168.1`: shift the number up until its top byte is set.
fn promote_net(mut v: u32) -> (u32, u32) {
    let mut m = u32::MAX;
    while v != 0 && v & 0xff00_0000 == 0 {
        v <<= 8;
        m <<= 8;
    }
    (v, m)
}

fn ipv4_text(v: u32, bits: u32) -> String {
    let b = v.to_be_bytes();
    let n = (bits / 8).clamp(1, 4) as usize;
    b[..n]
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

fn v6_mask(len: u32) -> [u8; 16] {
    std::array::from_fn(|i| {
        let bits = len.saturating_sub(i as u32 * 8).min(8);
        if bits == 0 {
            0
        } else {
            0xffu8 << (8 - bits)
        }
    })
}

/// libpcap's built-in EtherType and LLC names for `ether proto \name`.
fn ether_proto_name(name: &str) -> Option<u32> {
    Some(match name {
        "aarp" => ETHERTYPE_AARP,
        "arp" => ETHERTYPE_ARP,
        "atalk" => ETHERTYPE_ATALK,
        "decnet" => ETHERTYPE_DN,
        "ip" => ETHERTYPE_IP,
        "ip6" => ETHERTYPE_IPV6,
        "lat" => ETHERTYPE_LAT,
        "loopback" => 0x9000,
        // Added in current libpcap: Link Layer Discovery, Slow Protocols (LACP, marker, OAM).
        "lldp" => 0x88cc,
        "slow" => 0x8809,
        "mopdl" => ETHERTYPE_MOPDL,
        "moprc" => ETHERTYPE_MOPRC,
        "rarp" => ETHERTYPE_RARP,
        "sca" => ETHERTYPE_SCA,
        "iso" => LLCSAP_ISONS,
        "stp" => LLCSAP_8021D,
        "ipx" => LLCSAP_IPX,
        "netbeui" => LLCSAP_NETBEUI,
        _ => return None,
    })
}

#[allow(dead_code)]
const _: u32 = LLCSAP_IP;
