//! GRE (tcpdump's print-gre.c): version 0 (RFC 1701/2784, with key, sequence, checksum and
//! source routes) and version 1 (enhanced GRE of PPTP), then the payload by ethertype.

use super::{be16, be32, ether, u8_at, Ctx};

const CP: u16 = 0x8000;
const RP: u16 = 0x4000;
const KP: u16 = 0x2000;
const SP: u16 = 0x1000;
const SSR: u16 = 0x0800;
const AP: u16 = 0x0080;

pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    let Some(flags) = be16(p, 0) else {
        cx.trunc("gre");
        return;
    };
    if len < 2 {
        cx.trunc("gre");
        return;
    }
    let vers = flags & 7;
    cx.t.s("GREv").u(vers);
    let done = match vers {
        0 => v0(cx, p, len, flags),
        1 => v1(cx, p, len, flags),
        _ => {
            cx.t.s(" ERROR: unknown-version");
            Some(())
        }
    };
    if done.is_none() {
        cx.trunc("gre");
    }
}

fn flag_names(cx: &mut Ctx, flags: u16) {
    const NAMES: &[(u32, &str)] = &[
        (CP as u32, "checksum present"),
        (RP as u32, "routing present"),
        (KP as u32, "key present"),
        (SP as u32, "sequence# present"),
        (SSR as u32, "source routing present"),
        (AP as u32, "ack present"),
    ];
    cx.t.s(", Flags [")
        .bits(u32::from(flags), NAMES, ", ", "none")
        .ch(b']');
}

/// Reads `n` bytes at `at` of the `len` left on the wire: None (truncated) if not captured
/// or not there.
fn need(p: &[u8], at: usize, n: usize, len: u32) -> Option<()> {
    if p.len() < at + n || (len as usize) < n {
        return None;
    }
    Some(())
}

fn proto_e(cx: &mut Ctx, prot: u16) {
    if cx.o.link {
        cx.t.s(", proto ")
            .s(ether::name(prot).unwrap_or("unknown"))
            .s(" (0x")
            .hex(u64::from(prot), 4)
            .ch(b')');
    }
}

fn v0(cx: &mut Ctx, p: &[u8], length: u32, flags: u16) -> Option<()> {
    if cx.o.verbose > 0 {
        flag_names(cx, flags);
    }
    let mut len = length - 2;
    let mut at = 2;
    need(p, at, 2, len)?;
    let prot = be16(p, at)?;
    at += 2;
    len -= 2;
    if flags & (CP | RP) != 0 {
        need(p, at, 2, len)?;
        if cx.o.verbose > 0 {
            cx.t.s(", sum 0x").hex(u64::from(be16(p, at)?), 1);
        }
        at += 2;
        len -= 2;
        need(p, at, 2, len)?;
        cx.t.s(", off 0x").hex(u64::from(be16(p, at)?), 1);
        at += 2;
        len -= 2;
    }
    if flags & KP != 0 {
        need(p, at, 4, len)?;
        cx.t.s(", key=0x").hex(u64::from(be32(p, at)?), 1);
        at += 4;
        len -= 4;
    }
    if flags & SP != 0 {
        need(p, at, 4, len)?;
        cx.t.s(", seq ").u(be32(p, at)?);
        at += 4;
        len -= 4;
    }
    if flags & RP != 0 {
        loop {
            need(p, at, 4, len)?;
            let af = be16(p, at)?;
            let sreoff = u8_at(p, at + 2)?;
            let srelen = u8_at(p, at + 3)?;
            at += 4;
            len -= 4;
            if af == 0 && srelen == 0 {
                break;
            }
            sre(cx, af, sreoff, srelen, p.get(at..)?, len)?;
            if len < u32::from(srelen) {
                return None;
            }
            at += usize::from(srelen);
            len -= u32::from(srelen);
        }
    }
    proto_e(cx, prot);
    cx.t.s(", length ").u(length);
    cx.t.s(if cx.o.verbose < 1 { ": " } else { "\n\t" });
    let q = p.get(at..).unwrap_or(&[]);
    match prot {
        0x6558 => {
            ether::link(cx, 1, q, len);
        }
        0x0800 | 0x86dd | 0x8847 | 0x8137 | 0x809b | 0x00fe => {
            if !ether::ethertype(cx, prot, q, len) {
                cx.t.s("gre-proto-0x").hex(u64::from(prot), 1);
            }
        }
        _ => {
            cx.t.s("gre-proto-0x").hex(u64::from(prot), 1);
        }
    }
    Some(())
}

fn v1(cx: &mut Ctx, p: &[u8], length: u32, flags: u16) -> Option<()> {
    let mut len = length - 2;
    let mut at = 2;
    if cx.o.verbose > 0 {
        flag_names(cx, flags);
    }
    need(p, at, 2, len)?;
    let prot = be16(p, at)?;
    at += 2;
    len -= 2;
    if flags & KP != 0 {
        need(p, at, 4, len)?;
        cx.t.s(", call ").u(be32(p, at)? & 0xffff);
        at += 4;
        len -= 4;
    }
    if flags & SP != 0 {
        need(p, at, 4, len)?;
        cx.t.s(", seq ").u(be32(p, at)?);
        at += 4;
        len -= 4;
    }
    if flags & AP != 0 {
        need(p, at, 4, len)?;
        cx.t.s(", ack ").u(be32(p, at)?);
        at += 4;
        len -= 4;
    }
    if flags & SP == 0 {
        cx.t.s(", no-payload");
    }
    proto_e(cx, prot);
    cx.t.s(", length ").u(length);
    if flags & SP == 0 {
        return Some(());
    }
    cx.t.s(if cx.o.verbose < 1 { ": " } else { "\n\t" });
    let q = p.get(at..).unwrap_or(&[]);
    let printed = prot == 0x880b && ether::ethertype(cx, prot, q, len);
    if !printed {
        cx.t.s("gre-proto-0x").hex(u64::from(prot), 1);
    }
    Some(())
}

/// One source route entry; None if it runs past the capture.
fn sre(cx: &mut Ctx, af: u16, sreoff: u8, srelen: u8, q: &[u8], mut len: u32) -> Option<()> {
    let (name, unit) = match af {
        0x0800 => ("ip", 4usize),
        0xfffe => ("asn", 2),
        _ => {
            cx.t.s(", (rtaf=0x").hex(u64::from(af), 1).ch(b')');
            return Some(());
        }
    };
    cx.t.s(", (rtaf=").s(name);
    let (off, mut left) = (usize::from(sreoff), usize::from(srelen));
    if off % unit != 0 {
        cx.t.s(", badoffset=").u(sreoff);
    } else if left % unit != 0 {
        cx.t.s(", badlength=").u(srelen);
    } else if off >= left {
        cx.t.s(", badoff/len=").u(sreoff).ch(b'/').u(srelen);
    } else {
        let mut at = 0;
        while left != 0 {
            if q.len() < at + unit || (len as usize) < unit {
                cx.t.ch(b')');
                return None;
            }
            cx.t.ch(b' ');
            if at == off {
                cx.t.ch(b'*');
            }
            if unit == 4 {
                cx.t.ipv4(&q[at..at + 4]);
            } else {
                cx.t.hex(u64::from(be16(q, at)?), 1);
            }
            at += unit;
            len -= unit as u32;
            left -= unit;
        }
    }
    cx.t.ch(b')');
    Some(())
}
