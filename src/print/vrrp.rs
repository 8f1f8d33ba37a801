//! VRRP (tcpdump's print-vrrp.c): version 2 and 3 advertisements; -v adds the checksum
//! check, the addresses and a simple-text password.

use super::l4::{checksum, Net};
use super::{be16, u8_at, Ctx};

pub fn print(cx: &mut Ctx, net: &Net, p: &[u8], len: u32) {
    if describe(cx, net, p, len).is_none() {
        cx.trunc_jump("vrrp");
    }
}

fn describe(cx: &mut Ctx, net: &Net, p: &[u8], len: u32) -> Option<()> {
    cx.t.s("VRRP");
    let b0 = u8_at(p, 0)?;
    let (version, ty) = (b0 >> 4, b0 & 0x0f);
    cx.t.ch(b'v').u(version).s(", ");
    if ty == 1 {
        cx.t.s("Advertisement");
    } else {
        cx.t.s("unknown type (").u(ty).ch(b')');
    }
    let ttl = net.ttl();
    if ttl != 255 {
        cx.t.s(", (ttl ").u(ttl).ch(b')');
    }
    if !(2..=3).contains(&version) || ty != 1 {
        return Some(());
    }
    let vrid = u8_at(p, 1)?;
    let prio = u8_at(p, 2)?;
    cx.t.s(", vrid ").u(vrid).s(", prio ").u(prio);
    let auth = u8_at(p, 4)?;
    if version == 2 {
        cx.t.s(", authtype ");
        match auth {
            0 => cx.t.s("none"),
            1 => cx.t.s("simple"),
            2 => cx.t.s("ah"),
            _ => cx.t.ch(b'#').u(auth),
        };
        let intvl = u8_at(p, 5)?;
        cx.t.s(", intvl ").u(intvl).s("s, length ").u(len);
    } else {
        let intvl = (u16::from(auth & 0x0f) << 8) | u16::from(u8_at(p, 5)?);
        cx.t.s(", intvl ").u(intvl).s("cs, length ").u(len);
    }
    if cx.o.verbose == 0 {
        return Some(());
    }
    let naddrs = u8_at(p, 3)?;
    if p.len() >= len as usize {
        let seg = &p[..len as usize];
        let sum = if version == 2 {
            checksum(&[seg], 0)
        } else {
            net.transport_sum(112, seg)
        };
        if sum != 0 {
            cx.t.s(", (bad vrrp cksum ")
                .hex(u64::from(be16(p, 6)?), 1)
                .ch(b')');
        }
    }
    cx.t.s(", addrs");
    if naddrs > 1 {
        cx.t.ch(b'(').u(naddrs).ch(b')');
    }
    cx.t.ch(b':');
    let mut c = b' ';
    let mut at = 8;
    // The addresses are of the enclosing IP version.
    let size = if net.is_v6() { 16 } else { 4 };
    for _ in 0..naddrs {
        let a = p.get(at..at + size)?;
        cx.t.ch(c);
        net.addr(cx, a);
        c = b',';
        at += size;
    }
    if version == 2 && auth == 1 {
        cx.t.s(" auth \"");
        // tcpdump's nd_printjnp: up to 8 characters, stopping at a NUL.
        for i in 0..8 {
            let b = u8_at(p, at + i)?;
            if b == 0 {
                break;
            }
            let mut b = b;
            if !b.is_ascii() {
                cx.t.s("M-");
                b &= 0x7f;
            }
            if b < 0x20 || b == 0x7f {
                cx.t.ch(b'^').ch(b ^ 0x40);
            } else {
                cx.t.ch(b);
            }
        }
        cx.t.ch(b'"');
    }
    Some(())
}
