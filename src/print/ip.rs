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
    let mut total = u32::from(be16(p, 2).unwrap_or(0));
    if len < total {
        cx.t.s("truncated-ip - ")
            .u(total - len)
            .s(" bytes missing! ");
    }
    if total < hlen as u32 {
        if total != 0 {
            cx.t.s("bad-len ").u(total);
            return;
        }
        // A zero length: TSO hands the packet over before the kernel fills it in.
        total = len;
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
        verbose_header(cx, p, hlen, total, off, proto);
        if !print_options_ok(cx, p, hlen) {
            cx.t.ipv4(src).s(" > ").ipv4(dst).s(": ");
            cx.trunc("ip");
            return;
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
            cx.trunc("ip");
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

fn verbose_header(cx: &mut Ctx, p: &[u8], hlen: usize, total: u32, off: u16, proto: u8) {
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
    let _ = (hlen, total);
}

/// -v: the options and the header checksum note, then the line break before the addresses.
/// False if the options were cut off (tcpdump then prints the addresses and stops).
fn print_options_ok(cx: &mut Ctx, p: &[u8], hlen: usize) -> bool {
    let mut whole = true;
    if hlen > 20 {
        cx.t.s(", options (");
        if !options(cx, p.get(20..hlen.min(p.len())).unwrap_or(&[]), hlen - 20) {
            cx.t.s(" [truncated-option]");
            whole = false;
        }
        cx.t.ch(b')');
    }
    if p.len() >= hlen {
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
    whole
}

/// tcpdump's ip_optprint; false when an option runs past what was captured.
fn options(cx: &mut Ctx, o: &[u8], length: usize) -> bool {
    let mut at = 0;
    let mut sep = "";
    while at < length {
        cx.t.s(sep);
        sep = ",";
        let Some(&kind) = o.get(at) else {
            return false;
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
                return false;
            };
            if l < 2 {
                cx.t.s(" [bad length ").u(l).ch(b']');
                return true;
            }
            usize::from(l)
        };
        if len > length - at {
            cx.t.s(" [bad length ").u(len as u64).ch(b']');
            return true;
        }
        let Some(body) = o.get(at..at + len) else {
            return false;
        };
        match kind {
            0 => return true,
            7 | 131 | 137 => route(cx, body),
            148 => {
                if len < 4 {
                    cx.t.s(" [bad length ").u(len as u64).ch(b']');
                } else {
                    let v = be16(body, 2).unwrap_or(0);
                    if v != 0 {
                        cx.t.s(" value ").u(v);
                    }
                }
            }
            _ => {}
        }
        at += len;
    }
    true
}

/// Record route and source routes (tcpdump's ip_printroute): each address, with a comma
/// after those before the pointer.
fn route(cx: &mut Ctx, body: &[u8]) {
    let len = body.len();
    if len < 3 {
        cx.t.s(" [bad length ").u(len as u64).ch(b']');
        return;
    }
    if (len + 1) & 3 != 0 {
        cx.t.s(" [bad length ").u(len as u64).ch(b']');
    }
    let ptr = usize::from(body[2]).wrapping_sub(1);
    if !(3..=len + 1).contains(&ptr) || (ptr + 1) & 3 != 0 {
        cx.t.s(" [bad ptr ").u(body[2]).ch(b']');
    }
    let mut i = 3;
    while i + 4 <= len {
        cx.t.ch(b' ').ipv4(&body[i..i + 4]);
        if ptr > i {
            cx.t.ch(b',');
        }
        i += 4;
    }
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
