//! ICMPv6 (tcpdump's print-icmp6.c): type names and the common messages' details.

use super::l4::{shouldbe, Net};
use super::{be16, be32, hex, tcp, u8_at, Ctx};

fn type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "destination unreachable",
        2 => "packet too big",
        3 => "time exceeded in-transit",
        4 => "parameter problem",
        128 => "echo request",
        129 => "echo reply",
        130 => "multicast listener query",
        131 => "multicast listener report",
        132 => "multicast listener done",
        133 => "router solicitation",
        134 => "router advertisement",
        135 => "neighbor solicitation",
        136 => "neighbor advertisement",
        137 => "redirect",
        138 => "router renumbering",
        141 => "inverse neighbor solicitation",
        142 => "inverse neighbor advertisement",
        143 => "multicast listener report v2",
        144 => "ha discovery request",
        145 => "ha discovery reply",
        146 => "mobile router solicitation",
        147 => "mobile router advertisement",
        139 => "who-are-you request",
        140 => "who-are-you reply",
        200 => "mtrace message",
        201 => "mtrace response",
        155 => "RPL",
        _ => return None,
    })
}

/// The transport header inside the quoted packet of an error (tcpdump's get_upperlayer).
fn upper_layer(q: &[u8]) -> Option<(u8, u16)> {
    let mut nh = u8_at(q, 6)?;
    let mut at = 0usize;
    let mut hlen = 40usize;
    while at < q.len() {
        at += hlen;
        match nh {
            6 | 17 => return Some((nh, be16(q, at + 2)?)),
            0 | 60 | 43 => {
                let l = u8_at(q, at + 1)?;
                nh = u8_at(q, at)?;
                hlen = (usize::from(l) + 1) << 3;
            }
            44 => {
                let off = be16(q, at + 2)?;
                if off & 0xfff8 != 0 {
                    return None;
                }
                nh = u8_at(q, at)?;
                hlen = 8;
            }
            51 => {
                let l = u8_at(q, at + 1)?;
                nh = u8_at(q, at)?;
                hlen = (usize::from(l) + 2) << 2;
            }
            _ => return None,
        }
    }
    None
}

pub fn print(cx: &mut Ctx, net: &Net, p: &[u8], len: u32) {
    if len == 0 {
        cx.t.s("ICMP6, length 0 (invalid)");
        return;
    }
    if cx.o.verbose > 0 && !net.fragmented() && p.len() >= len as usize {
        let sum = net.transport_sum(58, &p[..len as usize]);
        let icmp_sum = be16(p, 2).unwrap_or(0);
        if sum != 0 {
            cx.t.s("[bad icmp6 cksum 0x")
                .hex(u64::from(icmp_sum), 4)
                .s(" -> 0x")
                .hex(u64::from(shouldbe(icmp_sum, sum)), 4)
                .s("!] ");
        } else {
            cx.t.s("[icmp6 sum ok] ");
        }
    }
    let Some(ty) = u8_at(p, 0) else {
        cx.trunc_jump("icmp6");
        return;
    };
    cx.t.s("ICMP6, ");
    match type_name(ty) {
        Some(n) => cx.t.s(n),
        None => cx.t.s("unknown icmp6 type (").u(ty).ch(b')'),
    };
    if cx.o.verbose > 0 && matches!(ty, 133..=137 | 145 | 147) {
        cx.t.s(", length ").u(len);
    }
    if body(cx, ty, p, len).is_none() {
        cx.trunc_jump("icmp6");
    }
}

/// None where one of tcpdump's GET_ macros runs past the capture (its longjmp); the few
/// reads tcpdump guards with a checked test go through `checked!` instead.
fn body(cx: &mut Ctx, ty: u8, p: &[u8], len: u32) -> Option<()> {
    // tcpdump's `goto trunc`: the plain marker, and nothing more of the message (not even
    // the closing ", length").
    macro_rules! checked {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => {
                    cx.trunc("icmp6");
                    return Some(());
                }
            }
        };
    }
    let code = u8_at(p, 1)?;
    let v = cx.o.verbose;
    let q = p.get(8..).unwrap_or(&[]);
    match ty {
        1 => {
            cx.t.s(", ");
            match code {
                0 => cx.t.s("unreachable route"),
                1 => cx.t.s(" unreachable prohibited"),
                2 => cx.t.s("beyond scope"),
                3 => cx.t.s("unreachable address"),
                4 => cx.t.s("unreachable port"),
                _ => cx.t.s("unknown unreach code (").u(code).ch(b')'),
            };
            match code {
                0 | 1 | 3 => {
                    let dst = q.get(24..40)?;
                    cx.t.ch(b' ').ipv6(dst);
                }
                2 => {
                    let dst = q.get(24..40)?;
                    let src = q.get(8..24)?;
                    cx.t.ch(b' ').ipv6(dst).s(", source address ").ipv6(src);
                }
                4 => {
                    let (proto, dport) = checked!(upper_layer(q));
                    let dst = q.get(24..40)?;
                    match proto {
                        6 | 17 => {
                            cx.t.s(", ").ipv6(dst).s(if proto == 6 {
                                " tcp port "
                            } else {
                                " udp port "
                            });
                            tcp::port(cx, proto, dport);
                        }
                        _ => {
                            cx.t.s(", ")
                                .ipv6(dst)
                                .s(" protocol ")
                                .u(proto)
                                .s(" port ")
                                .u(dport)
                                .s(" unreachable");
                        }
                    }
                }
                _ => {
                    if v <= 1 {
                        unknown_data(cx, p, len);
                        return Some(());
                    }
                }
            }
        }
        2 => {
            let mtu = be32(p, 4)?;
            cx.t.s(", mtu ").u(mtu);
        }
        3 => match code {
            0 => {
                let dst = q.get(24..40)?;
                cx.t.s(" for ").ipv6(dst);
            }
            1 => {
                cx.t.s(" (reassembly)");
            }
            _ => {
                cx.t.s(", unknown code (").u(code).ch(b')');
            }
        },
        4 => {
            checked!(q.get(24..40));
            let ptr = be32(p, 4)?;
            match code {
                0 => cx.t.s(", erroneous - octet ").u(ptr),
                1 => cx.t.s(", next header - octet ").u(ptr),
                2 => cx.t.s(", option - octet ").u(ptr),
                3 => cx.t.s(", incomplete header chain - octet ").u(ptr),
                _ => cx.t.s(", code-#").u(code),
            };
        }
        128 | 129 => {
            let (id, seq) = (be16(p, 4)?, be16(p, 6)?);
            cx.t.s(", id ").u(id).s(", seq ").u(seq);
        }
        130 => {
            if len == 24 {
                mld(cx, p);
            } else if len >= 28 {
                cx.t.s(" v2");
                mld2_query(cx, p, len)?;
            } else {
                cx.t.s(" unknown-version (len ").u(len).s(") ");
            }
        }
        131 | 132 => mld(cx, p),
        135 => {
            let tgt = p.get(8..24)?;
            cx.t.s(", who has ").ipv6(tgt);
            if v > 0 {
                checked!(nd_options(
                    cx,
                    p.get(24..).unwrap_or(&[]),
                    len.saturating_sub(24)
                ));
            }
        }
        136 => {
            let tgt = p.get(8..24)?;
            cx.t.s(", tgt is ").ipv6(tgt);
            if v > 0 {
                let flags = be32(p, 4)?;
                cx.t.s(", Flags [")
                    .bits(
                        flags,
                        &[
                            (0x8000_0000, "router"),
                            (0x4000_0000, "solicited"),
                            (0x2000_0000, "override"),
                        ],
                        ", ",
                        "none",
                    )
                    .ch(b']');
                checked!(nd_options(
                    cx,
                    p.get(24..).unwrap_or(&[]),
                    len.saturating_sub(24)
                ));
            }
        }
        137 => {
            let dst = p.get(24..40)?;
            let tgt = p.get(8..24)?;
            cx.t.s(", ").ipv6(dst).s(" to ").ipv6(tgt);
            if v > 0 {
                checked!(nd_options(
                    cx,
                    p.get(40..).unwrap_or(&[]),
                    len.saturating_sub(40)
                ));
            }
        }
        133 => {
            if v > 0 {
                checked!(nd_options(
                    cx,
                    p.get(8..).unwrap_or(&[]),
                    len.saturating_sub(8)
                ));
            }
        }
        134 => {
            if v > 0 {
                let hop = u8_at(p, 4)?;
                let flags = u8_at(p, 5)?;
                let life = be16(p, 6)?;
                let reach = be32(p, 8)?;
                let retrans = be32(p, 12)?;
                cx.t.s("\n\thop limit ").u(hop).s(", Flags [").bits(
                    u32::from(flags),
                    &[
                        (0x80, "managed"),
                        (0x40, "other stateful"),
                        (0x20, "home agent"),
                        (0x04, "proxy"),
                    ],
                    ", ",
                    "none",
                );
                cx.t.s("], pref ")
                    .s(match (flags >> 3) & 3 {
                        0 => "medium",
                        1 => "high",
                        2 => "rsv",
                        _ => "low",
                    })
                    .s(", router lifetime ")
                    .u(life)
                    .s("s, reachable time ")
                    .u(reach)
                    .s("ms, retrans timer ")
                    .u(retrans)
                    .s("ms");
                checked!(nd_options(
                    cx,
                    p.get(16..).unwrap_or(&[]),
                    len.saturating_sub(16)
                ));
            }
        }
        143 => {
            if len < 8 {
                cx.t.s(" [invalid len ").u(len).ch(b']');
            } else {
                let n = be16(p, 6)?;
                cx.t.s(", ").u(n).s(" group record(s)");
                if v > 0 {
                    mld2_report(cx, p, len)?;
                }
            }
        }
        144 | 146 => {
            let id = be16(p, 4)?;
            cx.t.s(", id 0x").hex(u64::from(id), 4);
        }
        141 | 142 => {}
        _ => {
            cx.t.s(", length ").u(len);
            if v <= 1 {
                unknown_data(cx, p, len);
            }
            return Some(());
        }
    }
    if v == 0 {
        cx.t.s(", length ").u(len);
    }
    Some(())
}

/// tcpdump's print_unknown_data: the message in hex.
fn unknown_data(cx: &mut Ctx, p: &[u8], len: u32) {
    let n = (len as usize).min(p.len());
    hex::hex(cx.t, "\n\t", &p[..n]);
}

fn mld(cx: &mut Ctx, p: &[u8]) {
    if p.len() < 24 {
        return;
    }
    cx.t.s("max resp delay: ")
        .u(be16(p, 4).unwrap_or(0))
        .s(" addr: ")
        .ipv6(&p[8..24]);
}

fn mld2_query(cx: &mut Ctx, p: &[u8], len: u32) -> Option<()> {
    let mrc = be16(p, 4)?;
    let mrt: u32 = if mrc < 32768 {
        u32::from(mrc)
    } else {
        (u32::from(mrc & 0x0fff) | 0x1000) << (((mrc & 0x7000) >> 12) + 3)
    };
    if cx.o.verbose > 0 {
        cx.t.s(" [max resp delay=").u(mrt).ch(b']');
    }
    let g = p.get(8..24)?;
    cx.t.s(" [gaddr ").ipv6(g);
    if cx.o.verbose > 0 {
        let qqi = u8_at(p, 25)?;
        let qqi = if qqi < 128 {
            u32::from(qqi)
        } else {
            (u32::from(qqi & 0x0f) | 0x10) << (((qqi & 0x70) >> 4) + 3)
        };
        let flags = u8_at(p, 24)?;
        if flags & 0x08 != 0 {
            cx.t.s(" sflag");
        }
        if flags & 0x07 != 0 {
            cx.t.s(" robustness=").u(flags & 0x07);
        }
        cx.t.s(" qqi=").u(qqi);
    }
    let n = be16(p, 26)?;
    if n > 0 {
        if len < 28 + u32::from(n) * 16 {
            cx.t.s(" [invalid number of sources]");
        } else if cx.o.verbose > 1 {
            cx.t.s(" {");
            for i in 0..usize::from(n) {
                cx.t.ch(b' ').ipv6(p.get(28 + i * 16..44 + i * 16)?);
            }
            cx.t.s(" }");
        } else {
            cx.t.s(", ").u(n).s(" source(s)");
        }
    }
    cx.t.ch(b']');
    Some(())
}

fn mld2_report(cx: &mut Ctx, p: &[u8], len: u32) -> Option<()> {
    let n = be16(p, 6)?;
    let mut group = 8usize;
    for _ in 0..n {
        if (len as usize) < group + 20 {
            cx.t.s(" [invalid number of groups]");
            return Some(());
        }
        cx.t.s(" [gaddr ").ipv6(p.get(group + 4..group + 20)?);
        let ty = u8_at(p, group)?;
        cx.t.ch(b' ');
        match super::igmp::record_type(ty) {
            Some(name) => cx.t.s(name),
            None => cx.t.s(" [v2-report-#").u(ty).ch(b']'),
        };
        let ns = usize::from(be16(p, group + 2)?);
        if (len as usize) < group + 20 + ns * 16 {
            cx.t.s(" [invalid number of sources ").u(ns as u64).ch(b']');
            return Some(());
        }
        if cx.o.verbose == 1 {
            cx.t.s(", ").u(ns as u64).s(" source(s)");
        } else {
            cx.t.s(" {");
            for j in 0..ns {
                let at = group + 20 + j * 16;
                cx.t.ch(b' ').ipv6(p.get(at..at + 16)?);
            }
            cx.t.s(" }");
        }
        group += 20 + ns * 16;
        cx.t.ch(b']');
    }
    Some(())
}

/// Neighbor discovery options with -v (tcpdump's icmp6_opt_print, the common ones).
fn nd_options(cx: &mut Ctx, o: &[u8], len: u32) -> Option<()> {
    let len = (len as usize).min(o.len());
    let mut at = 0;
    while at < len {
        let ty = u8_at(o, at)?;
        let l = usize::from(u8_at(o, at + 1)?) * 8;
        if l == 0 {
            // tcpdump: a zero length would loop forever; it stops with "[|icmp6]".
            return None;
        }
        let body = o.get(at..at + l)?;
        cx.t.s("\n\t  ");
        match ty {
            1 | 2 => {
                cx.t.s(if ty == 1 {
                    "source link-address option"
                } else {
                    "destination link-address option"
                });
                cx.t.s(" (")
                    .u(ty)
                    .s("), length ")
                    .u(l as u64)
                    .s(" (")
                    .u((l / 8) as u64)
                    .s("): ");
                // The address runs to the end of the option, trailing zeros and all, and is
                // never named.
                cx.t.mac_numeric(&body[2..]);
            }
            3 => {
                cx.t.s("prefix info option (3), length ")
                    .u(l as u64)
                    .s(" (")
                    .u((l / 8) as u64)
                    .s("): ");
                if body.len() >= 32 {
                    cx.t.ipv6(&body[16..32]).ch(b'/').u(body[2]);
                    cx.t.s(", Flags [")
                        .bits(
                            u32::from(body[3]),
                            &[(0x80, "onlink"), (0x40, "auto"), (0x20, "router")],
                            ", ",
                            "none",
                        )
                        .s("], valid time ");
                    lifetime(cx, be32(body, 4)?);
                    cx.t.s(", pref. time ");
                    lifetime(cx, be32(body, 8)?);
                }
            }
            5 => {
                cx.t.s("mtu option (5), length ")
                    .u(l as u64)
                    .s(" (")
                    .u((l / 8) as u64)
                    .s("):  ")
                    .u(be32(body, 4)?);
            }
            _ => {
                cx.t.s("unknown option (")
                    .u(ty)
                    .s("), length ")
                    .u(l as u64)
                    .s(" (")
                    .u((l / 8) as u64)
                    .s(")");
                hex::hex(cx.t, "\n\t    ", &body[2..]);
            }
        }
        if cx.o.verbose > 1 {
            hex::hex(cx.t, "\n\t    ", &body[2..]);
        }
        at += l;
    }
    Some(())
}

fn lifetime(cx: &mut Ctx, t: u32) {
    if t == u32::MAX {
        cx.t.s("infinity");
    } else {
        cx.t.u(t).ch(b's');
    }
}
