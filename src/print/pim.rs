//! PIM (tcpdump's print-pim.c): the version and message type; with -v the checksum and the
//! body of Hello, Register, Register-Stop, Join/Prune/Graft and Assert messages.

use super::l4::{checksum, Net};
use super::{be16, be32, hex, ip, ip6, u8_at, Ctx};

fn type_name(t: u8) -> &'static str {
    match t {
        0 => "Hello",
        1 => "Register",
        2 => "Register Stop",
        3 => "Join / Prune",
        4 => "Bootstrap",
        5 => "Assert",
        6 => "Graft",
        7 => "Graft Acknowledgement",
        8 => "Candidate RP Advertisement",
        9 => "Prune Refresh",
        10 => "DF Election",
        11 => "ECMP Redirect",
        _ => "Unknown Type",
    }
}

fn option_name(t: u16) -> &'static str {
    match t {
        1 => "Hold Time",
        2 => "LAN Prune Delay",
        18 => "DR Priority (Old)",
        19 => "DR Priority",
        20 => "Generation ID",
        21 => "State Refresh Capability",
        22 => "Bi-Directional Capability",
        24 => "Address List",
        65001 => "Address List (Old)",
        _ => "Unknown",
    }
}

/// tcpdump's unsigned_relts_print: `1m45s`, `0s`.
pub fn relts(cx: &mut Ctx, mut secs: u32) {
    if secs == 0 {
        cx.t.s("0s");
        return;
    }
    for (unit, name) in [
        (31_536_000u32, "y"),
        (604_800, "w"),
        (86_400, "d"),
        (3600, "h"),
        (60, "m"),
        (1, "s"),
    ] {
        if secs >= unit {
            cx.t.u(secs / unit).s(name);
            secs %= unit;
        }
    }
}

pub fn print(cx: &mut Ctx, net: &Net, p: &[u8], len: u32) {
    let Some(tv) = u8_at(p, 0) else {
        cx.trunc_jump("pim");
        return;
    };
    let (ver, ty) = (tv >> 4, tv & 0x0f);
    if ver != 2 {
        cx.t.s("PIMv").u(ver).s(", length ").u(len);
        return;
    }
    if cx.o.verbose == 0 {
        cx.t.s("PIMv2, ").s(type_name(ty)).s(", length ").u(len);
        return;
    }
    cx.t.s("PIMv2, length ").u(len).s("\n\t").s(type_name(ty));
    if v2(cx, net, p, len, ty) == Step::Trunc {
        cx.trunc("pimv2");
    }
}

#[derive(PartialEq)]
enum Step {
    Done,
    Trunc,
}

/// `?` for reads: a missing byte is a truncation.
macro_rules! get {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return Step::Trunc,
        }
    };
}

fn cksum_ok(net: &Net, p: &[u8], n: u32) -> Option<bool> {
    let seg = p.get(..n as usize)?;
    Some(if net.is_v6() {
        net.transport_sum(103, seg) == 0
    } else {
        checksum(&[seg], 0) == 0
    })
}

fn v2(cx: &mut Ctx, net: &Net, p: &[u8], len: u32, ty: u8) -> Step {
    if len < 2 {
        cx.t.s("[length ").u(len).s(" < 2] (invalid)");
        return Step::Done;
    }
    let addr_len = usize::from(get!(u8_at(p, 1)) & 0x0f);
    if addr_len != 0 {
        cx.t.s(", RFC2117-encoding");
    }
    if len < 4 {
        cx.t.s("[length ").u(len).s(" < 4] (invalid)");
        return Step::Done;
    }
    let sum = get!(be16(p, 2));
    cx.t.s(", cksum 0x").hex(u64::from(sum), 4).ch(b' ');
    if sum == 0 {
        cx.t.s("(unverified)");
    } else {
        let mut status = if ty == 1 {
            cksum_ok(net, p, 8)
        } else {
            cksum_ok(net, p, len)
        };
        if ty == 1 && status == Some(false) {
            status = cksum_ok(net, p, len);
        }
        cx.t.s(match status {
            Some(true) => "(correct)",
            Some(false) => "(incorrect)",
            None => "(unverified)",
        });
    }
    let mut at = 4usize;
    let mut len = len - 4;
    match ty {
        0 => {
            while len > 0 {
                if len < 4 {
                    return Step::Trunc;
                }
                let otype = get!(be16(p, at));
                let olen = get!(be16(p, at + 2));
                cx.t.s("\n\t  ")
                    .s(option_name(otype))
                    .s(" Option (")
                    .u(otype)
                    .s("), length ")
                    .u(olen)
                    .s(", Value: ");
                at += 4;
                len -= 4;
                if len < u32::from(olen) {
                    return Step::Trunc;
                }
                let o = get!(p.get(at..at + usize::from(olen)));
                let bad = |cx: &mut Ctx, want: u16| {
                    cx.t.s("[option length ")
                        .u(olen)
                        .s(" != ")
                        .u(want)
                        .s("] (invalid)");
                };
                match otype {
                    1 => {
                        if olen != 2 {
                            bad(cx, 2);
                            return Step::Done;
                        }
                        relts(cx, u32::from(get!(be16(o, 0))));
                    }
                    2 => {
                        if olen != 4 {
                            bad(cx, 4);
                            return Step::Done;
                        }
                        let d = get!(be16(o, 0));
                        cx.t.s("\n\t    T-bit=")
                            .u(d >> 15)
                            .s(", LAN delay ")
                            .u(d & 0x7fff)
                            .s("ms, Override interval ")
                            .u(get!(be16(o, 2)))
                            .s("ms");
                    }
                    18 | 19 => match olen {
                        0 => {
                            cx.t.s("Bi-Directional Capability (Old)");
                        }
                        4 => {
                            cx.t.u(get!(be32(o, 0)));
                        }
                        _ => {
                            bad(cx, 4);
                            return Step::Done;
                        }
                    },
                    20 => {
                        if olen != 4 {
                            bad(cx, 4);
                            return Step::Done;
                        }
                        cx.t.s("0x").hex(u64::from(get!(be32(o, 0))), 8);
                    }
                    21 => {
                        if olen != 4 {
                            bad(cx, 4);
                            return Step::Done;
                        }
                        cx.t.ch(b'v').u(o[0]);
                        if o[1] != 0 {
                            cx.t.s(", interval ");
                            relts(cx, u32::from(o[1]));
                        }
                        let r = get!(be16(o, 2));
                        if r != 0 {
                            cx.t.s(" ?0x").hex(u64::from(r), 4).ch(b'?');
                        }
                    }
                    22 => {}
                    24 | 65001 => {
                        if cx.o.verbose > 1 {
                            let mut a = 0usize;
                            let mut plen = len;
                            while a < o.len() {
                                cx.t.s("\n\t    ");
                                let q = p.get(at + a..).unwrap_or(&[]);
                                let Some(n) = addr(cx, q, plen, Kind::Unicast, addr_len) else {
                                    return Step::Trunc;
                                };
                                a += n;
                                plen = plen.saturating_sub(n as u32);
                            }
                        }
                    }
                    _ => {
                        if cx.o.verbose <= 1 {
                            hex::hex(cx.t, "\n\t    ", o);
                        }
                    }
                }
                if cx.o.verbose > 1 {
                    hex::hex(cx.t, "\n\t    ", o);
                }
                at += usize::from(olen);
                len -= u32::from(olen);
            }
        }
        1 => {
            if len < 4 {
                return Step::Trunc;
            }
            let flags = get!(be32(p, at));
            cx.t.s(", Flags [ ")
                .s(match flags {
                    0x8000_0000 => "Border",
                    0x4000_0000 => "Null",
                    _ => "none",
                })
                .s(" ]\n\t");
            at += 4;
            len -= 4;
            if len == 0 {
                return Step::Trunc;
            }
            let q = p.get(at..).unwrap_or(&[]);
            let v = get!(u8_at(q, 0)) >> 4;
            match v {
                0 => {
                    let s = get!(q.get(12..16));
                    let d = get!(q.get(16..20));
                    cx.t.s("IP-Null-header ").ipv4(s).s(" > ").ipv4(d);
                }
                4 => ip::print(cx, q, len),
                6 => ip6::print(cx, q, len),
                _ => {
                    cx.t.s("IP ver ").u(v);
                }
            }
        }
        2 => {
            cx.t.s(" group=");
            let n = get!(addr(cx, &p[at.min(p.len())..], len, Kind::Group, addr_len));
            at += n;
            len = len.saturating_sub(n as u32);
            cx.t.s(" source=");
            get!(addr(
                cx,
                &p[at.min(p.len())..],
                len,
                Kind::Unicast,
                addr_len
            ));
        }
        3 | 6 | 7 => {
            if ty != 7 {
                cx.t.s(", upstream-neighbor: ");
                let n = get!(addr(
                    cx,
                    &p[at.min(p.len())..],
                    len,
                    Kind::Unicast,
                    addr_len
                ));
                at += n;
                len = len.saturating_sub(n as u32);
            }
            if len < 4 {
                return Step::Trunc;
            }
            let ngroup = get!(u8_at(p, at + 1));
            let hold = get!(be16(p, at + 2));
            get!(u8_at(p, at + 3));
            cx.t.s("\n\t  ").u(ngroup).s(" group(s)");
            if ty != 7 {
                cx.t.s(", holdtime: ");
                if hold == 0xffff {
                    cx.t.s("infinite");
                } else {
                    relts(cx, u32::from(hold));
                }
            }
            at += 4;
            len -= 4;
            for i in 0..u32::from(ngroup) {
                cx.t.s("\n\t    group #").u(i + 1).s(": ");
                let n = get!(addr(cx, &p[at.min(p.len())..], len, Kind::Group, addr_len));
                at += n;
                len = len.saturating_sub(n as u32);
                if len < 4 {
                    return Step::Trunc;
                }
                let njoin = get!(be16(p, at));
                let nprune = get!(be16(p, at + 2));
                cx.t.s(", joined sources: ")
                    .u(njoin)
                    .s(", pruned sources: ")
                    .u(nprune);
                at += 4;
                len -= 4;
                for (count, label) in [(njoin, "joined"), (nprune, "pruned")] {
                    for j in 0..u32::from(count) {
                        cx.t.s("\n\t      ")
                            .s(label)
                            .s(" source #")
                            .u(j + 1)
                            .s(": ");
                        let n = get!(addr(cx, &p[at.min(p.len())..], len, Kind::Source, addr_len));
                        at += n;
                        len = len.saturating_sub(n as u32);
                    }
                }
            }
        }
        5 => {
            cx.t.s(" group=");
            let n = get!(addr(cx, &p[at.min(p.len())..], len, Kind::Group, addr_len));
            at += n;
            len = len.saturating_sub(n as u32);
            cx.t.s(" src=");
            let n = get!(addr(
                cx,
                &p[at.min(p.len())..],
                len,
                Kind::Unicast,
                addr_len
            ));
            at += n;
            len = len.saturating_sub(n as u32);
            if len < 8 {
                return Step::Trunc;
            }
            let pref = get!(be32(p, at));
            let metric = get!(be32(p, at + 4));
            if pref & 0x8000_0000 != 0 {
                cx.t.s(" RPT");
            }
            cx.t.s(" pref=")
                .u(pref & 0x7fff_ffff)
                .s(" metric=")
                .u(metric);
        }
        4 | 8 | 9 | 10 | 11 => {
            // Not decoded here (tcpdump prints their fields).
        }
        _ => {
            cx.t.s(" [type ").u(ty).ch(b']');
        }
    }
    Step::Done
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Unicast,
    Group,
    Source,
}

/// tcpdump's pimv2_addr_print: an encoded address (`addr_len` 0) or a bare one of that
/// length; its size, or None (truncated or not understood).
fn addr(cx: &mut Ctx, q: &[u8], len: u32, kind: Kind, addr_len: usize) -> Option<usize> {
    let (v6, alen, hdr) = if addr_len == 0 {
        if len < 2 {
            return None;
        }
        let v6 = match u8_at(q, 0)? {
            1 => false,
            2 => true,
            _ => return None,
        };
        if u8_at(q, 1)? != 0 {
            return None;
        }
        (v6, if v6 { 16 } else { 4 }, 2usize)
    } else {
        match addr_len {
            4 => (false, 4, 0),
            16 => (true, 16, 0),
            _ => return None,
        }
    };
    let q = q.get(hdr..)?;
    let len = len.checked_sub(hdr as u32)? as usize;
    let put = |cx: &mut Ctx, a: &[u8]| {
        if v6 {
            cx.t.ipv6(a);
        } else {
            cx.t.ipv4(a);
        }
    };
    match kind {
        Kind::Unicast => {
            if len < alen {
                return None;
            }
            put(cx, q.get(..alen)?);
            Some(hdr + alen)
        }
        Kind::Group | Kind::Source => {
            if len < alen + 2 {
                return None;
            }
            let b = q.get(..alen + 2)?;
            put(cx, &b[2..]);
            if usize::from(b[1]) != alen * 8 {
                cx.t.ch(b'/').u(b[1]);
            }
            if b[0] != 0 {
                if kind == Kind::Group {
                    cx.t.s("(0x").byte(b[0]).ch(b')');
                } else {
                    cx.t.ch(b'(');
                    if b[0] & 4 != 0 {
                        cx.t.ch(b'S');
                    }
                    if b[0] & 2 != 0 {
                        cx.t.ch(b'W');
                    }
                    if b[0] & 1 != 0 {
                        cx.t.ch(b'R');
                    }
                    if b[0] & 0xf8 != 0 {
                        cx.t.s("+0x").byte(b[0] & 0xf8);
                    }
                    cx.t.ch(b')');
                }
            }
            Some(hdr + 2 + alen)
        }
    }
}

/// tcpdump's pimv1_print (PIM version 1 rides in IGMP): the message type and its main
/// fields; None where the capture ends. The -v body of Join/Prune/Graft is not decoded.
pub fn v1(cx: &mut Ctx, p: &[u8]) -> Option<()> {
    let ty = u8_at(p, 1)?;
    cx.t.ch(b' ');
    match ty {
        0 => cx.t.s("Query"),
        1 => cx.t.s("Register"),
        2 => cx.t.s("Register-Stop"),
        3 => cx.t.s("Join/Prune"),
        4 => cx.t.s("RP-reachable"),
        5 => cx.t.s("Assert"),
        6 => cx.t.s("Graft"),
        7 => cx.t.s("Graft-ACK"),
        _ => cx.t.s("[type ").u(ty).ch(b']'),
    };
    let a4 = |at: usize| p.get(at..at + 4);
    match ty {
        0 => {
            if let Some(m) = u8_at(p, 8) {
                match m >> 4 {
                    0 => cx.t.s(" Dense-mode"),
                    1 => cx.t.s(" Sparse-mode"),
                    2 => cx.t.s(" Sparse-Dense-mode"),
                    v => cx.t.s(" mode-").u(v),
                };
            }
            if cx.o.verbose > 0 {
                cx.t.s(" (Hold-time ");
                let h = be16(p, 10)?;
                relts(cx, u32::from(h));
                cx.t.ch(b')');
            }
        }
        1 => {
            p.get(8..28)?;
            cx.t.s(" for ").ipv4(a4(20)?).s(" > ").ipv4(a4(24)?);
        }
        2 => {
            let (s, d) = (a4(8)?, a4(12)?);
            cx.t.s(" for ").ipv4(s).s(" > ").ipv4(d);
        }
        4 if cx.o.verbose > 0 => {
            let g = a4(8)?;
            cx.t.s(" group ").ipv4(g);
            let m = a4(12)?;
            if m != [0xff; 4] {
                cx.t.ch(b'/').ipv4(m);
            }
            let rp = a4(16)?;
            cx.t.s(" RP ").ipv4(rp).s(" hold ");
            relts(cx, u32::from(be16(p, 22)?));
        }
        5 => {
            let (s, g) = (a4(16)?, a4(8)?);
            cx.t.s(" for ").ipv4(s).s(" > ").ipv4(g);
            let m = a4(12)?;
            if m != [0xff; 4] {
                cx.t.ch(b'/').ipv4(m);
            }
            let (pref, metric) = (be32(p, 20)?, be32(p, 24)?);
            cx.t.s(if pref & 0x8000_0000 != 0 {
                " RP-tree"
            } else {
                " SPT"
            })
            .s(" pref ")
            .u(pref & 0x7fff_ffff)
            .s(" metric ")
            .u(metric);
        }
        _ => {}
    }
    let v = u8_at(p, 4)? >> 4;
    if v != 1 {
        cx.t.s(" [v").u(v).ch(b']');
    }
    Some(())
}
