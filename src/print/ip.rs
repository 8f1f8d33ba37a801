//! IPv4 (tcpdump's print-ip.c): the addresses, -v's header line, fragments, then the
//! payload by protocol.

use super::l4::{self, Net};
use super::{be16, u8_at, Ctx};

pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    let Some(vhl) = u8_at(p, 0) else {
        cx.trunc_jump("ip");
        return;
    };
    if vhl >> 4 != 4 {
        if vhl >> 4 == 6 {
            cx.t.s("IP6, wrong link-layer encapsulation");
        } else {
            cx.t.s("IP").u(vhl >> 4);
        }
        cx.t.s(" (invalid)");
        return;
    }
    if !cx.o.link {
        cx.t.s("IP ");
    }
    if p.len() < 20 {
        cx.trunc("ip");
        return;
    }
    if len < 20 {
        cx.t.s("truncated-ip ").u(len);
        return;
    }
    let hlen = usize::from(vhl & 0x0f) * 4;
    if hlen < 20 {
        cx.t.s("bad-hlen ").u(hlen as u64);
        return;
    }
    let total = u32::from(be16(p, 2).unwrap_or(0));
    if len < total {
        cx.t.s("truncated-ip - ")
            .u(total - len)
            .s(" bytes missing! ");
    }
    // tcpdump's ip_print as built (without GUESS_TSO): a total length shorter than the
    // header, zero included, is "bad-len" and nothing more, even with -v. Guessing a TSO
    // send (total = len) would also let `total - hlen` below go negative when fewer than
    // hlen bytes are on the wire.
    if total < hlen as u32 {
        cx.t.s("bad-len ").u(total);
        return;
    }
    // The payload ends where the IP length says, even if more was captured (padding).
    let end = (len.min(total) as usize).min(p.len());
    let p = &p[..end];
    let plen = total - hlen as u32;
    let off = be16(p, 6).unwrap_or(0);
    let proto = p[9];
    let src = &p[12..16];
    let dst = &p[16..20];
    if cx.o.verbose > 0 {
        verbose_header(cx, p, off, proto);
        match print_options(cx, p, hlen) {
            Opts::Whole => {}
            Opts::Cut => {
                cx.t.ipv4(src).s(" > ").ipv4(dst).s(": ");
                cx.trunc("ip");
                return;
            }
            Opts::Jumped => return,
        }
    }
    if off & 0x1fff == 0 {
        if !matches!(proto, 6 | 17 | 132 | 33) {
            cx.t.ipv4(src).s(" > ").ipv4(dst).s(": ");
        }
        if p.len() < hlen {
            cx.t.s(" [remaining caplen(")
                .u(p.len() as u64)
                .s(") < header length(")
                .u(hlen as u64)
                .s(")]");
            cx.trunc_jump("ip");
            return;
        }
        let net = Net::V4 {
            hdr: &p[..hlen],
            more_frags: off & 0x2000 != 0,
        };
        l4::demux(cx, &net, proto, &p[hlen..], plen);
    } else {
        if cx.o.quiet && cx.o.verbose > 1 {
            return;
        }
        cx.t.ipv4(src).s(" > ").ipv4(dst).ch(b':');
        match super::l4::proto_netdb_name(proto).filter(|_| cx.o.numeric == 0) {
            Some(name) => cx.t.ch(b' ').s(name),
            None => cx.t.s(" ip-proto-").u(proto),
        };
    }
}

fn verbose_header(cx: &mut Ctx, p: &[u8], off: u16, proto: u8) {
    let tos = p[1];
    cx.t.s("(tos 0x").hex(u64::from(tos), 1);
    match tos & 3 {
        1 => cx.t.s(",ECT(1)"),
        2 => cx.t.s(",ECT(0)"),
        3 => cx.t.s(",CE"),
        _ => cx.t,
    };
    let ttl = p[8];
    if ttl >= 1 {
        cx.t.s(", ttl ").u(ttl);
    }
    cx.t.s(", id ")
        .u(be16(p, 4).unwrap_or(0))
        .s(", offset ")
        .u(u64::from(off & 0x1fff) * 8)
        .s(", flags [")
        .bits(
            u32::from(off),
            &[(0x2000, "+"), (0x4000, "DF"), (0x8000, "rsvd")],
            ", ",
            "none",
        )
        .s("], proto ")
        .s(proto_name(proto).unwrap_or("unknown"))
        .s(" (")
        .u(proto)
        .s("), length ")
        .u(be16(p, 2).unwrap_or(0));
}

/// How far ip_optprint got through the options.
enum Opts {
    Whole,
    /// An option's body, or a route or timestamp entry, ran past the capture (a checked
    /// failure in tcpdump): it notes " [truncated-option]", then prints the addresses and
    /// stops.
    Cut,
    /// An option's type or length byte was past the capture (a GET_U_1): tcpdump longjmps
    /// out with " [|ip]" in the middle of the list; already printed.
    Jumped,
}

/// -v: the options and the header checksum note, then the line break before the addresses.
fn print_options(cx: &mut Ctx, p: &[u8], hlen: usize) -> Opts {
    let mut got = Opts::Whole;
    if hlen > 20 {
        cx.t.s(", options (");
        match options(cx, &p[20..], hlen - 20) {
            Opts::Whole => {}
            Opts::Cut => {
                cx.t.s(" [truncated-option]");
                got = Opts::Cut;
            }
            Opts::Jumped => {
                cx.trunc_jump("ip");
                return Opts::Jumped;
            }
        }
        cx.t.ch(b')');
    }
    if !cx.o.no_checksums && p.len() >= hlen {
        let sum = l4::checksum(&[&p[..hlen]], 0);
        if sum != 0 {
            let ip_sum = be16(p, 10).unwrap_or(0);
            cx.t.s(", bad cksum ")
                .hex(u64::from(ip_sum), 1)
                .s(" (->")
                .hex(u64::from(l4::shouldbe(ip_sum, sum)), 1)
                .s(")!");
        }
    }
    cx.t.s(")\n    ");
    got
}

/// tcpdump's ip_optprint. `o` runs from the first option to the end of what was captured
/// of the datagram, not just to the end of the header: like tcpdump, a length byte or a
/// route or timestamp entry may be read from the bytes after the options.
fn options(cx: &mut Ctx, o: &[u8], length: usize) -> Opts {
    let mut at = 0;
    let mut sep = "";
    while at < length {
        cx.t.s(sep);
        sep = ",";
        let Some(&kind) = o.get(at) else {
            return Opts::Jumped;
        };
        match kind {
            0 => cx.t.s("EOL"),
            1 => cx.t.s("NOP"),
            68 => cx.t.s("timestamp"),
            130 => cx.t.s("security"),
            7 => cx.t.s("RR"),
            137 => cx.t.s("SSRR"),
            131 => cx.t.s("LSRR"),
            148 => cx.t.s("RA"),
            82 => cx.t.s("traceroute"),
            _ => cx.t.s("unknown ").u(kind),
        };
        let len = if kind == 0 || kind == 1 {
            1
        } else {
            let Some(&l) = o.get(at + 1) else {
                return Opts::Jumped;
            };
            if l < 2 {
                cx.t.s(" [bad length ").u(l).ch(b']');
                return Opts::Whole;
            }
            usize::from(l)
        };
        if len > length - at {
            cx.t.s(" [bad length ").u(len as u64).ch(b']');
            return Opts::Whole;
        }
        let Some(body) = o.get(at..at + len) else {
            return Opts::Cut;
        };
        let after = &o[at..];
        // None where a route or timestamp entry is past the capture.
        let entries = match kind {
            0 => return Opts::Whole,
            7 | 131 | 137 => route(cx, after, len),
            68 => timestamp(cx, after, len),
            148 => {
                if len < 4 {
                    cx.t.s(" [bad length ").u(len as u64).ch(b']');
                } else {
                    let v = be16(body, 2).unwrap_or(0);
                    if v != 0 {
                        cx.t.s(" value ").u(v);
                    }
                }
                Some(())
            }
            _ => Some(()),
        };
        if entries.is_none() {
            return Opts::Cut;
        }
        at += len;
    }
    Opts::Whole
}

/// Record route and source routes (tcpdump's ip_printroute): each address, with a comma
/// after those before the pointer. `opt` starts at the option and runs to the capture's
/// end: an address that starts inside an option of a bad length is still read whole, from
/// whatever follows; None where that is past the capture (a checked failure in tcpdump:
/// the entry is not printed and the option list ends " [truncated-option]").
fn route(cx: &mut Ctx, opt: &[u8], len: usize) -> Option<()> {
    if len < 3 {
        cx.t.s(" [bad length ").u(len as u64).ch(b']');
        return Some(());
    }
    if (len + 1) & 3 != 0 {
        cx.t.s(" [bad length ").u(len as u64).ch(b']');
    }
    let ptr = usize::from(opt[2]).wrapping_sub(1);
    if !(3..=len + 1).contains(&ptr) || (ptr + 1) & 3 != 0 {
        cx.t.s(" [bad ptr ").u(opt[2]).ch(b']');
    }
    let mut i = 3;
    while i < len {
        let addr = opt.get(i..i + 4)?;
        cx.t.ch(b' ').ipv4(addr);
        if ptr > i {
            cx.t.ch(b',');
        }
        i += 4;
    }
    Some(())
}

/// The timestamp option (tcpdump's ip_printts): its flavour, then each stamp (after its
/// address for TS+ADDR and PRESPEC) with a caret where the pointer stands, and the overflow
/// count. `opt` runs to the capture's end, as for `route`.
fn timestamp(cx: &mut Ctx, opt: &[u8], len: usize) -> Option<()> {
    if len < 4 {
        cx.t.s("[bad length ").u(len as u64).ch(b']');
        return Some(());
    }
    cx.t.s(" TS{");
    let flag = opt[3] & 0xf;
    let hop = if flag == 0 { 4 } else { 8 };
    if (len - 4) & (hop - 1) != 0 {
        cx.t.s("[bad length ").u(len as u64).ch(b']');
    }
    let ptr = usize::from(opt[2]).wrapping_sub(1);
    if ptr < 4 || (ptr - 4) & (hop - 1) != 0 || ptr > len + 1 {
        cx.t.s("[bad ptr ").u(opt[2]).ch(b']');
    }
    let flavour = match flag {
        0 => Some("TSONLY"),
        1 => Some("TS+ADDR"),
        3 => Some("PRESPEC"),
        _ => None,
    };
    // Where the stamps stopped: the caret after them marks a pointer past the last one.
    let mut i = 0;
    if let Some(name) = flavour {
        cx.t.s(name);
        i = 4;
        while i < len {
            // Both read before anything of the entry is printed, as in tcpdump's one
            // ND_PRINT.
            let stamp = opt.get(i + hop - 4..i + hop)?;
            let addr = if hop == 8 { opt.get(i..i + 4)? } else { &[] };
            cx.t.s(if ptr == i { " ^ " } else { " " })
                .u(u32::from_be_bytes([stamp[0], stamp[1], stamp[2], stamp[3]]))
                .ch(b'@');
            if hop == 8 {
                cx.t.ipv4(addr);
            }
            i += hop;
        }
    } else {
        cx.t.s("[bad ts type ").u(flag).ch(b']');
    }
    if ptr == i {
        cx.t.s(" ^ ");
    }
    let over = opt[3] >> 4;
    if over != 0 {
        cx.t.s(" [").u(over).s(" hops not recorded]} ");
    } else {
        cx.t.ch(b'}');
    }
    Some(())
}

/// tcpdump's ipproto_values.
pub fn proto_name(p: u8) -> Option<&'static str> {
    Some(match p {
        0 => "Options",
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPIP",
        6 => "TCP",
        8 => "EGP",
        9 => "IGRP",
        17 => "UDP",
        33 => "DCCP",
        41 => "IPv6",
        43 => "Routing",
        44 => "Fragment",
        46 => "RSVP",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        55 => "Mobile IP",
        58 => "ICMPv6",
        62 => "Mobile IP (old)",
        88 => "EIGRP",
        89 => "OSPF",
        103 => "PIM",
        108 => "Compressed IP",
        112 => "VRRP",
        113 => "PGM",
        132 => "SCTP",
        135 => "Mobility",
        _ => return None,
    })
}
