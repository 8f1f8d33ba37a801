//! ARP and RARP (tcpdump's print-arp.c layout).

use super::{be16, ether, u8_at, Ctx};

pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    let (Some(hrd), Some(pro), Some(hln), Some(pln), Some(op)) =
        (be16(p, 0), be16(p, 2), u8_at(p, 4), u8_at(p, 5), be16(p, 6))
    else {
        cx.trunc_jump("arp");
        return;
    };
    let (hln, pln) = (usize::from(hln), usize::from(pln));
    let sha = 8;
    let spa = sha + hln;
    let tha = spa + pln;
    let tpa = tha + hln;
    if p.len() < tpa + pln {
        cx.trunc_jump("arp");
        return;
    }
    if !cx.o.link {
        cx.t.s("ARP, ");
    }
    let is_ip = pro == 0x0800 || pro == 0x1000;
    if !is_ip || pln != 4 || hln == 0 || cx.o.verbose > 0 {
        match hardware_name(hrd) {
            Some(n) => cx.t.s(n),
            None => cx.t.s("Unknown Hardware (").u(hrd).ch(b')'),
        };
        cx.t.s(" (len ").u(hln as u64).s("), ");
        match ether::name(pro) {
            Some(n) => cx.t.s(n),
            None => {
                cx.t.s("Unknown Protocol (0x")
                    .hex(u64::from(pro), 4)
                    .ch(b')')
            }
        };
        cx.t.s(" (len ").u(pln as u64).ch(b')');
        if cx.o.verbose == 0 {
            cx.t.s(", length ").u(len);
            return;
        }
        cx.t.s(", ");
    }
    let proto_addr = |cx: &mut Ctx, at: usize| {
        if !is_ip {
            cx.t.s("<wrong proto type>");
        } else if pln != 4 {
            cx.t.s("<wrong len>");
        } else {
            cx.t.ipv4(&p[at..at + 4]);
        }
    };
    let link_addr = |cx: &mut Ctx, at: usize| {
        if hln == 0 {
            cx.t.s("<empty>");
        } else {
            cx.t.mac(&p[at..at + hln]);
        }
    };
    match op {
        1 => {
            cx.t.s("Request who-has ");
            proto_addr(cx, tpa);
            if p[tha..tha + hln].iter().any(|&b| b != 0) {
                cx.t.s(" (");
                link_addr(cx, tha);
                cx.t.ch(b')');
            }
            cx.t.s(" tell ");
            proto_addr(cx, spa);
        }
        2 => {
            cx.t.s("Reply ");
            proto_addr(cx, spa);
            cx.t.s(" is-at ");
            link_addr(cx, sha);
        }
        3 | 8 => {
            cx.t.s(if op == 3 {
                "Reverse Request who-is "
            } else {
                "Inverse Request who-is "
            });
            link_addr(cx, tha);
            cx.t.s(" tell ");
            link_addr(cx, sha);
        }
        4 => {
            cx.t.s("Reverse Reply ");
            link_addr(cx, tha);
            cx.t.s(" at ");
            proto_addr(cx, tpa);
        }
        9 => {
            cx.t.s("Inverse Reply ");
            link_addr(cx, sha);
            cx.t.s(" at ");
            proto_addr(cx, spa);
        }
        _ => {
            match op {
                10 => cx.t.s("NACK Reply "),
                _ => cx.t.s("Unknown (").u(op).s(") "),
            };
            ether::default_print(cx, p);
            return;
        }
    }
    cx.t.s(", length ").u(len);
}

fn hardware_name(h: u16) -> Option<&'static str> {
    Some(match h {
        1 => "Ethernet",
        2 => "Experimental Ethernet",
        3 => "AX.25",
        4 => "ProNET",
        5 => "Chaos",
        6 => "TokenRing",
        7 => "ARCNet",
        15 => "FrameRelay",
        16 => "ATM",
        19 => "ATM",
        20 => "Serial",
        24 => "IEEE1394",
        32 => "InfiniBand",
        _ => return None,
    })
}
