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
    // A zero payload length is to be resolved by a Jumbo Payload option (RFC 2675); until
    // the headers are read, tcpdump bounds nothing (its length + 40).
    let total = if payload_len != 0 {
        let total = payload_len + 40;
        if len < total {
            cx.t.s("truncated-ip6 - ")
                .u(total - len)
                .s(" bytes missing!");
        }
        total
    } else {
        len.saturating_add(40)
    };
    let mut jumbo = Jumbo {
        payload_len,
        found: false,
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
    let mut found_hbh = false;
    let mut found_ext = false;
    let mut final_dst: Option<&[u8]> = None;
    let mut routed = false;
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
                // RFC 8200: at most one, right after the IPv6 header.
                if found_hbh {
                    cx.t.s("[The Hop-by-Hop Options header was already found] (invalid)");
                    return;
                }
                if at != 40 {
                    cx.t.s("[The Hop-by-Hop Options header don't follow the IPv6 header]")
                        .s(" (invalid)");
                    return;
                }
                let n = options_header(cx, q, "HBH ", "hbhopt", true, Some(&mut jumbo));
                if jumbo.payload_len == 0 && !jumbo.found {
                    cx.t.s("[No valid Jumbo Payload Hop-by-Hop option found] (invalid)");
                    return;
                }
                let Some(n) = n else {
                    return;
                };
                found_hbh = true;
                found_ext = true;
                advance = n;
                nh = q[0];
            }
            60 => {
                let process = cx.o.verbose > 0;
                let Some(n) = options_header(cx, q, "DSTOPT ", "dstopt", process, None) else {
                    return;
                };
                found_ext = true;
                advance = n;
                nh = q[0];
            }
            44 => {
                fragmented = true;
                found_ext = true;
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
                found_ext = true;
                // Where the packet ends up, for the checksums: as tcpdump's ip6_finddst, from
                // the first routing header only. Types 0 and 2 list the hops in order, the
                // last one final; segment routing lists them in reverse.
                if !routed {
                    routed = true;
                    let count = usize::from(q[1] / 2);
                    final_dst = match q[2] {
                        0 | 2 if count > 0 => q.get(8 + (count - 1) * 16..8 + count * 16),
                        4 => q.get(8..24),
                        _ => None,
                    };
                }
                advance = n;
                nh = q[0];
            }
            _ => {
                let (mut q, mut rest) = (q, rest);
                if jumbo.found {
                    // The payload ends where the Jumbo Payload option says.
                    let end = jumbo.payload_len.wrapping_add(40);
                    if (end as usize) < at {
                        cx.trunc("ip6");
                        return;
                    }
                    if len < end {
                        cx.t.s("truncated-ip6 - ").u(end - len).s(" bytes missing!");
                    }
                    let start = at.min(p.len());
                    q = &p[start..p.len().min(end as usize).max(start)];
                    rest = end - at as u32;
                } else if payload_len == 0 {
                    // No payload: an extension header could not have been carried.
                    if found_ext {
                        cx.trunc("ip6");
                        return;
                    }
                    q = &[];
                    rest = 0;
                }
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

/// What the Jumbo Payload option has settled: the payload length (the header's, or the
/// option's once a valid one is found).
struct Jumbo {
    payload_len: u32,
    found: bool,
}

/// Hop-by-hop and destination options: `label`, the options with -v; the header's length,
/// or None (marker printed) if it is cut off. `jumbo` is given for hop-by-hop options, the
/// only place a Jumbo Payload option counts.
fn options_header(
    cx: &mut Ctx,
    q: &[u8],
    label: &str,
    proto: &str,
    process: bool,
    jumbo: Option<&mut Jumbo>,
) -> Option<usize> {
    let Some(l) = u8_at(q, 1) else {
        cx.trunc_jump(proto);
        return None;
    };
    let n = (usize::from(l) + 1) * 8;
    if q.len() < n {
        cx.trunc(proto);
        return None;
    }
    cx.t.s(label);
    if process && !options(cx, &q[2..n], jumbo) {
        cx.trunc(proto);
        return None;
    }
    Some(n)
}

/// tcpdump's ip6_opt_process; false when an option does not fit.
fn options(cx: &mut Ctx, o: &[u8], mut jumbo: Option<&mut Jumbo>) -> bool {
    let v = cx.o.verbose > 0;
    let mut jumbo_seen = false;
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
                let val = be32(o, i + 2).unwrap_or(0);
                // The verdict, as tcpdump gives it: only the first in a header is judged,
                // and only a valid one sets the payload length.
                let verdict = if jumbo_seen {
                    " - already seen"
                } else {
                    jumbo_seen = true;
                    match jumbo.as_deref_mut() {
                        None => " - not a hop-by-hop option",
                        Some(j) if j.payload_len != 0 => " - payload len != 0",
                        Some(_) if val < 65536 => " - < 65536",
                        Some(j) => {
                            j.found = true;
                            j.payload_len = val;
                            ""
                        }
                    }
                };
                if v {
                    cx.t.s("(jumbo: ").u(val).s(verdict).s(") ");
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
    // tcpdump reads the identification only for -v; a read past the capture is its longjmp.
    let ident = if cx.o.verbose > 0 {
        be32(q, 4)
    } else {
        Some(0)
    };
    let (Some(offlg), Some(ident)) = (be16(q, 2), ident) else {
        cx.trunc_jump("frag6");
        return None;
    };
    let off = offlg & 0xfff8;
    // tcpdump computes this in size_t: a header length of 0 wraps around.
    let flen = (40 + u64::from(payload_len)).wrapping_sub(at as u64 + 8);
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

/// The routing header (tcpdump's rt6_print): its name comes first, then each field as it
/// is read; a read past the capture is tcpdump's longjmp.
fn routing(cx: &mut Ctx, q: &[u8]) -> Option<usize> {
    macro_rules! get {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => {
                    cx.trunc_jump("rt6");
                    return None;
                }
            }
        };
    }
    cx.t.s("RT6");
    let len = get!(u8_at(q, 1));
    cx.t.s(" (len=").u(len);
    let ty = get!(u8_at(q, 2));
    cx.t.s(", type=").u(ty);
    if ty == 0 {
        cx.t.s(" [Deprecated]");
    }
    let segleft = get!(u8_at(q, 3));
    cx.t.s(", segleft=").u(segleft);
    match ty {
        0 | 2 => {
            let rsv = get!(be32(q, 4));
            if rsv != 0 || cx.o.verbose > 0 {
                cx.t.s(", rsv=0x").hex(u64::from(rsv), 1);
            }
        }
        // Segment routing (RFC 8754).
        4 => {
            let last = get!(u8_at(q, 4));
            cx.t.s(", last-entry=").u(last);
            let flags = get!(u8_at(q, 5));
            if flags != 0 || cx.o.verbose > 0 {
                cx.t.s(", flags=0x").hex(u64::from(flags), 1);
            }
            let tag = get!(be16(q, 6));
            cx.t.s(", tag=").hex(u64::from(tag), 1);
        }
        _ => {
            cx.t.s(" (unknown type) (invalid)");
            return None;
        }
    }
    // The addresses fill the header (16 bytes in each 8-byte unit pair), whatever the
    // segment list says it uses.
    if len % 2 == 1 {
        cx.t.s(" (invalid length ").u(len).s(") (invalid)");
        return None;
    }
    let count = usize::from(len / 2);
    for i in 0..count {
        let a = get!(q.get(8 + i * 16..24 + i * 16));
        cx.t.s(", [").u(i as u64).ch(b']').ipv6(a);
    }
    cx.t.s(") ");
    Some((usize::from(len) + 1) * 8)
}
