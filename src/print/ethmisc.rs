//! Small ethertype printers: Ethernet configuration testing "loopback" (print-loopback.c)
//! and AppleTalk ARP (print-atalk.c).

use super::{be16, Ctx};

fn le16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

/// Ethernet loopback (0x9000): skip count, then the first message.
pub fn loopback(cx: &mut Ctx, p: &[u8], len: u32) {
    cx.t.s("Loopback");
    if len < 2 {
        invalid(cx, p, 0, len);
        return;
    }
    let Some(skip) = le16(p, 0) else {
        cx.trunc_jump("loopback");
        return;
    };
    let mut at = 2usize;
    let mut len = len - 2;
    cx.t.s(", skipCount ").u(skip);
    if skip % 8 != 0 {
        cx.t.s(" (bogus)");
    }
    if u32::from(skip) > len {
        invalid(cx, p, at, len);
        return;
    }
    if p.len() < at + usize::from(skip) {
        cx.trunc_jump("loopback");
        return;
    }
    at += usize::from(skip);
    len -= u32::from(skip);
    if len < 2 {
        invalid(cx, p, at, len);
        return;
    }
    let Some(function) = le16(p, at) else {
        cx.trunc_jump("loopback");
        return;
    };
    at += 2;
    len -= 2;
    match function {
        1 => cx.t.s(", Reply"),
        2 => cx.t.s(", Forward Data"),
        _ => cx.t.s(",  invalid (").u(function).ch(b')'),
    };
    match function {
        1 => {
            if len < 2 {
                invalid(cx, p, at, len);
                return;
            }
            let Some(receipt) = le16(p, at) else {
                cx.trunc_jump("loopback");
                return;
            };
            at += 2;
            len -= 2;
            cx.t.s(", receipt number ").u(receipt);
            cx.t.s(", data (").u(len).s(" octets)");
        }
        2 => {
            if len < 6 {
                invalid(cx, p, at, len);
                return;
            }
            let Some(mac) = p.get(at..at + 6) else {
                cx.trunc_jump("loopback");
                return;
            };
            cx.t.s(", forwarding address ").mac(mac);
            at += 6;
            len -= 6;
            cx.t.s(", data (").u(len).s(" octets)");
        }
        _ => {}
    }
    if p.len() < at + len as usize {
        cx.trunc_jump("loopback");
    }
}

fn invalid(cx: &mut Ctx, p: &[u8], at: usize, len: u32) {
    cx.t.s(" (invalid)");
    if p.len() < at + len as usize {
        cx.trunc_jump("loopback");
    }
}

/// AppleTalk node address `net.node`.
fn at_addr(cx: &mut Ctx, p: &[u8], at: usize) {
    let net = be16(p, at + 1).unwrap_or(0);
    cx.t.u(net).ch(b'.').u(p[at + 3]);
}

/// AARP (0x80f3): tcpdump's aarp_print.
pub fn aarp(cx: &mut Ctx, p: &[u8], len: u32) {
    cx.t.s("aarp ");
    if p.len() < 28 || len < 28 {
        cx.trunc("aarp");
        return;
    }
    let (htype, ptype, hlen, plen) = (
        u16::from_be_bytes([p[0], p[1]]),
        u16::from_be_bytes([p[2], p[3]]),
        p[4],
        p[5],
    );
    let op = u16::from_be_bytes([p[6], p[7]]);
    if htype == 1 && ptype == 0x809b && hlen == 6 && plen == 4 {
        match op {
            1 => {
                cx.t.s("who-has ");
                at_addr(cx, p, 24);
                cx.t.s(" tell ");
                at_addr(cx, p, 14);
                return;
            }
            2 => {
                cx.t.s("reply ");
                at_addr(cx, p, 14);
                cx.t.s(" is-at ").mac(&p[8..14]);
                return;
            }
            3 => {
                cx.t.s("probe ");
                at_addr(cx, p, 24);
                cx.t.s(" tell ");
                at_addr(cx, p, 14);
                return;
            }
            _ => {}
        }
    }
    cx.t.s("len ")
        .u(len)
        .s(" op ")
        .u(op)
        .s(" htype ")
        .u(htype)
        .s(" ptype ");
    if ptype == 0 {
        cx.t.ch(b'0');
    } else {
        cx.t.s("0x").hex(u64::from(ptype), 1);
    }
    cx.t.s(" halen ").u(hlen).s(" palen ").u(plen);
}
