//! ICMP for IPv4 (tcpdump's print-icmp.c).

use super::l4::{checksum, shouldbe, Net};
use super::{be16, be32, ip, tcp, u8_at, Ctx};

/// The line's text, or None where tcpdump's bounds check fails (it then prints only the
/// truncation marker).
fn describe(cx: &mut Ctx, p: &[u8]) -> Option<()> {
    let ty = u8_at(p, 0)?;
    let code = u8_at(p, 1)?;
    let t = &mut *cx.t;
    match ty {
        0 | 8 => {
            let (id, seq) = (be16(p, 4)?, be16(p, 6)?);
            t.s("echo ")
                .s(if ty == 8 { "request" } else { "reply" })
                .s(", id ")
                .u(id)
                .s(", seq ")
                .u(seq);
        }
        3 => match code {
            2 => {
                let dst = p.get(24..28)?;
                let proto = u8_at(p, 17)?;
                t.ipv4(dst).s(" protocol ").u(proto).s(" unreachable");
            }
            3 => {
                u8_at(p, 17)?;
                let hlen = usize::from(u8_at(p, 8)? & 0x0f) * 4;
                let dport = be16(p, 8 + hlen + 2)?;
                let proto = u8_at(p, 17)?;
                let dst = p.get(24..28)?;
                match proto {
                    6 | 17 => {
                        t.ipv4(dst).s(if proto == 6 {
                            " tcp port "
                        } else {
                            " udp port "
                        });
                        tcp::port(cx, proto, dport);
                        cx.t.s(" unreachable");
                    }
                    _ => {
                        t.ipv4(dst)
                            .s(" protocol ")
                            .u(proto)
                            .s(" port ")
                            .u(dport)
                            .s(" unreachable");
                    }
                }
            }
            4 => {
                let mtu = be16(p, 6)?;
                let dst = p.get(24..28)?;
                t.ipv4(dst).s(" unreachable - need to frag");
                if mtu != 0 {
                    t.s(" (mtu ").u(mtu).ch(b')');
                }
            }
            _ => {
                let dst = p.get(24..28)?;
                let (pre, post) = match code {
                    0 => ("net ", " unreachable"),
                    1 => ("host ", " unreachable"),
                    5 => ("", " unreachable - source route failed"),
                    6 => ("net ", " unreachable - unknown"),
                    7 => ("host ", " unreachable - unknown"),
                    8 => ("", " unreachable - source host isolated"),
                    9 => ("net ", " unreachable - admin prohibited"),
                    10 => ("host ", " unreachable - admin prohibited"),
                    11 => ("net ", " unreachable - tos prohibited"),
                    12 => ("host ", " unreachable - tos prohibited"),
                    13 => ("host ", " unreachable - admin prohibited filter"),
                    14 => ("host ", " unreachable - host precedence violation"),
                    15 => ("host ", " unreachable - precedence cutoff"),
                    _ => {
                        t.ch(b'#').u(code).ch(b' ').ipv4(dst).s(" unreachable");
                        return Some(());
                    }
                };
                t.s(pre).ipv4(dst).s(post);
            }
        },
        5 => {
            let dst = p.get(24..28)?;
            let gw = p.get(4..8)?;
            match code {
                0 => t.s("redirect ").ipv4(dst).s(" to net ").ipv4(gw),
                1 => t.s("redirect ").ipv4(dst).s(" to host ").ipv4(gw),
                2 => t.s("redirect-tos ").ipv4(dst).s(" to net ").ipv4(gw),
                3 => t.s("redirect-tos ").ipv4(dst).s(" to host ").ipv4(gw),
                _ => t
                    .s("redirect-#")
                    .u(code)
                    .ch(b' ')
                    .ipv4(dst)
                    .s(" to net ")
                    .ipv4(gw),
            };
        }
        9 => {
            p.get(4..8)?;
            let lifetime = be16(p, 6)?;
            let x = &mut *t;
            x.s("router advertisement lifetime ");
            if lifetime < 60 {
                x.u(lifetime);
            } else if lifetime < 3600 {
                x.u(lifetime / 60)
                    .ch(b':')
                    .u_pad(u64::from(lifetime % 60), 2);
            } else {
                x.u(lifetime / 3600)
                    .ch(b':')
                    .u_pad(u64::from(lifetime % 3600 / 60), 2)
                    .ch(b':')
                    .u_pad(u64::from(lifetime % 60), 2);
            }
            let num = u8_at(p, 4)?;
            x.ch(b' ').u(num).ch(b':');
            let size = u8_at(p, 5)?;
            if size != 2 {
                x.s(" [size ").u(size).ch(b']');
            } else {
                for k in 0..usize::from(num) {
                    let at = 8 + k * 8;
                    let addr = p.get(at..at + 4)?;
                    let pref = be32(p, at + 4)?;
                    x.s(" {").ipv4(addr).ch(b' ').u(pref).ch(b'}');
                }
            }
        }
        11 => {
            p.get(24..28)?;
            match code {
                0 => t.s("time exceeded in-transit"),
                1 => t.s("ip reassembly time exceeded"),
                _ => t.s("time exceeded-#").u(code),
            };
        }
        12 => {
            if code != 0 {
                t.s("parameter problem - code ").u(code);
            } else {
                let ptr = u8_at(p, 4)?;
                t.s("parameter problem - octet ").u(ptr);
            }
        }
        18 => {
            let mask = be32(p, 8)?;
            t.s("address mask is 0x").hex(u64::from(mask), 8);
        }
        13 => {
            let (id, seq) = (be16(p, 4)?, be16(p, 6)?);
            t.s("time stamp query id ").u(id).s(" seq ").u(seq);
        }
        14 => {
            be32(p, 16)?;
            let (id, seq) = (be16(p, 4)?, be16(p, 6)?);
            t.s("time stamp reply id ")
                .u(id)
                .s(" seq ")
                .u(seq)
                .s(": org ");
            tstamp(t, be32(p, 8)?);
            t.s(", recv ");
            tstamp(t, be32(p, 12)?);
            t.s(", xmit ");
            tstamp(t, be32(p, 16)?);
        }
        4 => {
            t.s("source quench");
        }
        10 => {
            t.s("router solicitation");
        }
        15 => {
            t.s("information request");
        }
        16 => {
            t.s("information reply");
        }
        17 => {
            t.s("address mask request");
        }
        _ => {
            t.s("type-#").u(ty);
        }
    }
    Some(())
}

/// Milliseconds since midnight UT as `HH:MM:SS.mmm`.
fn tstamp(t: &mut super::text::Text, ms: u32) {
    let msec = ms % 1000;
    let sec = ms / 1000;
    let min = sec / 60;
    let hrs = min / 60;
    t.u_pad(u64::from(hrs), 2)
        .ch(b':')
        .u_pad(u64::from(min % 60), 2)
        .ch(b':')
        .u_pad(u64::from(sec % 60), 2)
        .ch(b'.')
        .u_pad(u64::from(msec), 3);
}

/// Whether `describe` ran out where tcpdump's icmp_print has a checked test (a plain
/// marker) rather than a GET_ macro (a longjmp). With type and code captured, those are the
/// quoted protocol of a port unreachable, the router advertisement (its header and each
/// entry), the quoted destination of time exceeded and the times of a timestamp reply;
/// each is checked before anything else of its message is read.
fn stops_at_check(p: &[u8]) -> bool {
    match (p.first(), p.get(1)) {
        (Some(3), Some(3)) => p.len() < 18,
        (Some(9 | 11 | 14), Some(_)) => true,
        _ => false,
    }
}

pub fn print(cx: &mut Ctx, net: &Net, p: &[u8], len: u32) {
    // The description is built after "ICMP " and thrown away if a field is missing.
    let mark = cx.t.len();
    cx.t.s("ICMP ");
    if describe(cx, p).is_none() {
        cx.t.truncate(mark);
        if stops_at_check(p) {
            cx.trunc("icmp");
        } else {
            cx.trunc_jump("icmp");
        }
        return;
    }
    cx.t.s(", length ").u(len);
    let ty = p[0];
    if cx.o.verbose > 0 && !net.fragmented() && p.len() >= len as usize {
        let sum = checksum(&[&p[..len as usize]], 0);
        if sum != 0 {
            let icmp_sum = be16(p, 2).unwrap_or(0);
            cx.t.s(" (wrong icmp cksum ")
                .hex(u64::from(icmp_sum), 1)
                .s(" (->")
                .hex(u64::from(shouldbe(icmp_sum, sum)), 1)
                .s(")!)");
        }
    }
    if cx.o.verbose > 0 && matches!(ty, 3 | 4 | 5 | 11 | 12) {
        cx.t.s("\n\t");
        let inner = p.get(8..).unwrap_or(&[]);
        let Some(ip_len) = be16(inner, 2) else {
            cx.trunc("icmp");
            return;
        };
        let inner = &inner[..inner.len().min(usize::from(ip_len))];
        ip::print(cx, inner, u32::from(ip_len));
    }
}
