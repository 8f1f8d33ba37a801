//! IPv6 (tcpdump's print-ip6.c): the header, the extension header chain, then the payload.

use super::l4::{self, Net};
use super::{be16, be32, u8_at, Ctx};

pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    if p.len() < 40 {
        cx.trunc("ip6");
        return;
    }
    if len < 40 {
        cx.t.s("truncated-ip6 ").u(len);
        return;
    }
    if !cx.o.link {
        cx.t.s("IP6 ");
    }
    if p[0] >> 4 != 6 {
        cx.t.s("version error: ").u(p[0] >> 4).s(" != 6");
        return;
    }
    let payload_len = u32::from(be16(p, 4).unwrap_or(0));
    let total = if payload_len != 0 {
        let total = payload_len + 40;
        if len < total {
            cx.t.s("truncated-ip6 - ")
                .u(total - len)
                .s(" bytes missing!");
        }
        total
    } else {
        len
    };
    let mut nh = p[6];
    if cx.o.verbose > 0 {
        let flow = be32(p, 0).unwrap_or(0);
        cx.t.ch(b'(');
        if flow & 0x0ff0_0000 != 0 {
            cx.t.s("class 0x")
                .hex(u64::from((flow & 0x0ff0_0000) >> 20), 2)
                .s(", ");
        }
        if flow & 0x000f_ffff != 0 {
            cx.t.s("flowlabel 0x")
                .hex(u64::from(flow & 0x000f_ffff), 5)
                .s(", ");
        }
        cx.t.s("hlim ")
            .u(p[7])
            .s(", next-header ")
            .s(super::ip::proto_name(nh).unwrap_or("unknown"))
            .s(" (")
            .u(nh)
            .s(") payload length: ")
            .u(payload_len)
            .s(") ");
    }
    // The payload ends where the header says (padding after it is not ours).
    let p = &p[..p.len().min(total as usize)];
    let hdr = &p[..40];
    let mut at = 40usize;
    let mut advance = 40usize;
    let mut rest = total;
    let mut fragmented = false;
    let mut final_dst: Option<&[u8]> = None;
    // tcpdump's loop: `at` moves by `advance` while there is captured data.
    at -= advance;
    loop {
        if at >= p.len() || advance == 0 {
            return;
        }
        if (rest as usize) < advance {
            cx.trunc("ip6");
            return;
        }
        at += advance;
        rest -= advance as u32;
        if at == 40 && !matches!(nh, 6 | 17 | 33 | 132) {
            cx.t.ipv6(&hdr[8..24]).s(" > ").ipv6(&hdr[24..40]).s(": ");
        }
        let q = &p[at.min(p.len())..];
        match nh {
            0 => {
                let Some(n) = options_header(cx, q, "HBH ", "hbhopt", true) else {
                    return;
                };
                advance = n;
                nh = q[0];
            }
            60 => {
                let Some(n) = options_header(cx, q, "DSTOPT ", "dstopt", cx.o.verbose > 0) else {
                    return;
                };
                advance = n;
                nh = q[0];
            }
            44 => {
                fragmented = true;
                let Some(n) = fragment(cx, q, at, payload_len) else {
                    return;
                };
                if at + n >= p.len() {
                    return;
                }
                advance = n;
                nh = q[0];
            }
            43 => {
                if q.is_empty() {
                    cx.trunc("ip6");
                    return;
                }
                let Some(n) = routing(cx, q) else {
                    return;
                };
                // Types 0 and 2 list addresses; the last one is where the packet ends up.
                if matches!(q.get(2), Some(0 | 2)) {
                    let count = usize::from(q[1] / 2);
                    if count > 0 {
                        final_dst = q.get(8 + (count - 1) * 16..8 + count * 16);
                    }
                }
                advance = n;
                nh = q[0];
            }
            _ => {
                let net = Net::V6 {
                    hdr,
                    fragmented,
                    final_dst,
                };
                l4::demux(cx, &net, nh, q, rest);
                return;
            }
        }
    }
}

/// Hop-by-hop and destination options: `label`, the options with -v; the header's length,
/// or None (marker printed) if it is cut off.
fn options_header(
    cx: &mut Ctx,
    q: &[u8],
    label: &str,
    proto: &str,
    process: bool,
) -> Option<usize> {
    let Some(l) = u8_at(q, 1) else {
        cx.trunc(proto);
        return None;
    };
    let n = (usize::from(l) + 1) * 8;
    if q.len() < n {
        cx.trunc(proto);
        return None;
    }
    cx.t.s(label);
    if process && !options(cx, &q[2..n]) {
        cx.trunc(proto);
        return None;
    }
    Some(n)
}

/// tcpdump's ip6_opt_process; false when an option does not fit.
fn options(cx: &mut Ctx, o: &[u8]) -> bool {
    let v = cx.o.verbose > 0;
    let len = o.len();
    let mut i = 0;
    while i < len {
        let ty = o[i];
        let optlen = if ty == 0 {
            1
        } else if i + 1 < len {
            usize::from(o[i + 1]) + 2
        } else {
            return false;
        };
        if i + optlen > len {
            return false;
        }
        match ty {
            0 => {
                if v {
                    cx.t.s("(pad1)");
                }
            }
            1 => {
                if len - i < 2 {
                    cx.t.s("(padn: trunc)");
                    return false;
                }
                if v {
                    cx.t.s("(padn)");
                }
            }
            5 => {
                if len - i < 4 {
                    cx.t.s("(rtalert: trunc)");
                    return false;
                }
                if o[i + 1] != 2 {
                    cx.t.s("(rtalert: invalid len ").u(o[i + 1]).ch(b')');
                    return false;
                }
                if v {
                    cx.t.s("(rtalert: 0x")
                        .hex(u64::from(be16(o, i + 2).unwrap_or(0)), 4)
                        .s(") ");
                }
            }
            0xc2 => {
                if len - i < 6 {
                    cx.t.s("(jumbo: trunc)");
                    return false;
                }
                if o[i + 1] != 4 {
                    cx.t.s("(jumbo: invalid len ").u(o[i + 1]).ch(b')');
                    return false;
                }
                if v {
                    cx.t.s("(jumbo: ").u(be32(o, i + 2).unwrap_or(0)).s(") ");
                }
            }
            _ => {
                if len - i < 2 {
                    cx.t.s("(type ").u(ty).s(": trunc)");
                    return false;
                }
                if v {
                    cx.t.s("(opt_type 0x")
                        .hex(u64::from(ty), 2)
                        .s(": len=")
                        .u(o[i + 1])
                        .ch(b')');
                }
            }
        }
        i += optlen;
    }
    if v {
        cx.t.ch(b' ');
    }
    true
}

/// The fragment header: `frag (offset|length)`; its length if the payload follows (first
/// fragment), None for later fragments or when it is cut off.
fn fragment(cx: &mut Ctx, q: &[u8], at: usize, payload_len: u32) -> Option<usize> {
    let (Some(offlg), Some(ident)) = (be16(q, 2), be32(q, 4)) else {
        cx.trunc("frag6");
        return None;
    };
    let off = offlg & 0xfff8;
    let flen = (40 + payload_len as i64 - at as i64 - 8).max(0) as u64;
    cx.t.s("frag (");
    if cx.o.verbose > 0 {
        cx.t.s("0x").hex(u64::from(ident), 8).ch(b':');
    }
    cx.t.u(off).ch(b'|').u(flen).ch(b')');
    if off != 0 {
        return None;
    }
    cx.t.ch(b' ');
    Some(8)
}

/// The routing header (tcpdump's rt6_print).
fn routing(cx: &mut Ctx, q: &[u8]) -> Option<usize> {
    let Some(len) = u8_at(q, 1) else {
        cx.trunc("rt6");
        return None;
    };
    cx.t.s("RT6 (len=").u(len);
    let Some(ty) = u8_at(q, 2) else {
        cx.trunc("rt6");
        return None;
    };
    cx.t.s(", type=").u(ty);
    if ty == 0 {
        cx.t.s(" [Deprecated]");
    }
    let Some(segleft) = u8_at(q, 3) else {
        cx.trunc("rt6");
        return None;
    };
    cx.t.s(", segleft=").u(segleft);
    match ty {
        0 | 2 => {
            let Some(rsv) = be32(q, 4) else {
                cx.trunc("rt6");
                return None;
            };
            if rsv != 0 || cx.o.verbose > 0 {
                cx.t.s(", rsv=0x").hex(u64::from(rsv), 1);
            }
            if len % 2 == 1 {
                cx.t.s(" [invalid length ").u(len).s("] (invalid)");
                return None;
            }
            for i in 0..usize::from(len / 2) {
                let Some(a) = q.get(8 + i * 16..24 + i * 16) else {
                    cx.trunc("rt6");
                    return None;
                };
                cx.t.s(", [").u(i as u64).ch(b']').ipv6(a);
            }
            cx.t.s(") ");
            Some((usize::from(len) + 1) * 8)
        }
        4 => {
            let (Some(last), Some(flags), Some(tag)) = (u8_at(q, 4), u8_at(q, 5), be16(q, 6))
            else {
                cx.trunc("rt6");
                return None;
            };
            cx.t.s(", last-entry=")
                .u(last)
                .s(", flags=0x")
                .hex(u64::from(flags), 1)
                .s(", tag=")
                .hex(u64::from(tag), 1);
            for i in 0..=usize::from(last) {
                let Some(a) = q.get(8 + i * 16..24 + i * 16) else {
                    cx.trunc("rt6");
                    return None;
                };
                cx.t.s(", [").u(i as u64).ch(b']').ipv6(a);
            }
            cx.t.s(") ");
            Some((usize::from(len) + 1) * 8)
        }
        _ => {
            cx.t.s(" (unknown type) (invalid)");
            None
        }
    }
}
