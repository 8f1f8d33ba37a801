//! AppleTalk DDP over Ethernet (ethertype 0x809b, and SNAP with Apple's OUI): tcpdump's
//! print-atalk.c. The DDP addresses, then ATP and NBP decoded, other DDP types (RTMP, echo,
//! ZIP, ...) named with their length, as tcpdump does.
//!
//! tcpdump never reads its /etc/atalk.names (a long-standing inverted test), so addresses
//! are always numeric; without -n the well-known sockets are named.

use super::{be16, be32, hex, Ctx};

/// The ethertype printer: tcpdump's "et1 " with -v, then atalk_print.
pub fn ether(cx: &mut Ctx, p: &[u8], len: u32) {
    if cx.o.verbose > 0 {
        cx.t.s("et1 ");
    }
    print(cx, p, len);
}

/// tcpdump's ataddr_string: "net.node", or "net" for node 255.
fn addr(cx: &mut Ctx, net: u16, node: u8) {
    cx.t.u(net);
    if node != 255 {
        cx.t.ch(b'.').u(node);
    }
}

/// tcpdump's ddpskt_string.
fn skt(cx: &mut Ctx, s: u8) {
    if cx.o.numeric == 0 {
        let name = match s {
            1 => "rtmp",
            2 => "nis",
            4 => "echo",
            6 => "zip",
            _ => "",
        };
        if !name.is_empty() {
            cx.t.s(name);
            return;
        }
    }
    cx.t.u(s);
}

/// atalk_print: the DDP header and what it carries.
pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    if !cx.o.link {
        cx.t.s("AT ");
    }
    if len < 13 {
        cx.t.s(" [|ddp ").u(len).ch(b']');
        return;
    }
    if p.len() < 13 {
        cx.t.s(" [|ddp]");
        return;
    }
    let dnet = be16(p, 4).unwrap_or(0);
    let snet = be16(p, 6).unwrap_or(0);
    let (dnode, snode, dskt, sskt, ty) = (p[8], p[9], p[10], p[11], p[12]);
    addr(cx, snet, snode);
    cx.t.ch(b'.');
    skt(cx, sskt);
    cx.t.s(" > ");
    addr(cx, dnet, dnode);
    cx.t.ch(b'.');
    skt(cx, dskt);
    cx.t.s(": ");
    let (body, blen) = (&p[13..], len - 13);
    match ty {
        2 => nbp(cx, body, blen, snet, snode, sskt),
        3 => atp(cx, body, blen),
        _ => {
            cx.t.s(" at-");
            match ty {
                1 => cx.t.s("rtmp"),
                5 => cx.t.s("rtmpReq"),
                4 => cx.t.s("echo"),
                22 => cx.t.s("IP"),
                23 => cx.t.s("ARP"),
                0x4b => cx.t.s("KLAP"),
                _ => cx.t.ch(b'#').u(ty),
            };
            cx.t.ch(b' ').u(blen);
        }
    }
}

fn atp(cx: &mut Ctx, a: &[u8], len: u32) {
    if a.len() < 8 {
        cx.trunc("atalk");
        return;
    }
    if len < 8 {
        cx.t.s(" [|atp ").u(len).ch(b']');
        return;
    }
    let length = len - 8;
    let control = a[0];
    let bm = a[1];
    let tid = be16(a, 2).unwrap_or(0);
    match control & 0xc0 {
        0x40 => {
            cx.t.s(" atp-req")
                .s(if control & 0x20 != 0 { " " } else { "*" })
                .ch(b' ')
                .u(tid);
            bitmap(cx, bm);
            if length != 0 {
                cx.t.s(" [len=").u(length).ch(b']');
            }
            match control & 0x18 {
                0x10 => {
                    cx.t.s(" [EOM]");
                }
                0x08 => {
                    cx.t.s(" [STS]");
                }
                0x18 => {
                    cx.t.s(" [EOM,STS]");
                }
                _ => {}
            }
        }
        0x80 => {
            cx.t.s(" atp-resp")
                .s(if control & 0x10 != 0 { "*" } else { " " })
                .u(tid)
                .ch(b':')
                .u(bm)
                .s(" (")
                .u(length)
                .ch(b')');
            match control & 0x28 {
                0x20 => {
                    cx.t.s(" [XO]");
                }
                0x08 => {
                    cx.t.s(" [STS]");
                }
                0x28 => {
                    cx.t.s(" [XO,STS]");
                }
                _ => {}
            }
        }
        0xc0 => {
            cx.t.s(" atp-rel  ").u(tid);
            bitmap(cx, bm);
            if length != 0 {
                cx.t.s(" [len=").u(length).ch(b']');
            }
            if control & 0x38 != 0 {
                let mut c = b'[';
                for (bit, name) in [(0x20, "XO"), (0x10, "EOM"), (0x08, "STS")] {
                    if control & bit != 0 {
                        cx.t.ch(c).s(name);
                        c = b',';
                    }
                }
                cx.t.ch(b']');
            }
        }
        _ => {
            cx.t.s(" atp-0x")
                .hex(u64::from(control), 1)
                .s("  ")
                .u(tid)
                .s(" (")
                .u(length)
                .ch(b')');
        }
    }
    let data = be32(a, 4).unwrap_or(0);
    if data != 0 {
        cx.t.s(" 0x").hex(u64::from(data), 1);
    }
}

fn bitmap(cx: &mut Ctx, bm: u8) {
    let b = u32::from(bm);
    if (b + 1) & b != 0 {
        let mut c = b'<';
        for i in 0..8 {
            if b & (1 << i) != 0 {
                cx.t.ch(c).u(i as u32);
                c = b',';
            }
        }
        cx.t.ch(b'>');
    } else {
        let i = 32 - b.leading_zeros();
        if i > 1 {
            cx.t.s("<0-").u(i - 1).ch(b'>');
        } else {
            cx.t.s("<0>");
        }
    }
}

fn nbp(cx: &mut Ctx, n: &[u8], len: u32, snet: u16, snode: u8, sskt: u8) {
    if len < 2 {
        cx.t.s(" truncated-nbp ").u(len);
        return;
    }
    if len - 2 < 8 {
        cx.t.s(" truncated-nbp ").u(len);
        return;
    }
    let tp = 2usize;
    if n.len() < tp {
        cx.trunc("atalk");
        return;
    }
    let (control, id) = (n[0], n[1]);
    match control & 0xf0 {
        0x10 | 0x20 => {
            cx.t.s(if control & 0xf0 == 0x20 {
                " nbp-lkup "
            } else {
                " nbp-brRq "
            })
            .u(id)
            .ch(b':');
            if n.len() < tp + 5 {
                cx.trunc("atalk");
                return;
            }
            name(cx, n, tp);
            if control & 0xf != 1 {
                cx.t.s(" [ntup=").u(control & 0xf).ch(b']');
            }
            let en = n[tp + 4];
            if en != 0 {
                cx.t.s(" [enum=").u(en).ch(b']');
            }
            let net = be16(n, tp).unwrap_or(0);
            let (node, skt) = (n[tp + 2], n[tp + 3]);
            if net != snet || node != snode || skt != sskt {
                cx.t.s(" [addr=");
                addr(cx, net, node);
                cx.t.ch(b'.').u(skt).ch(b']');
            }
        }
        0x30 => {
            cx.t.s(" nbp-reply ").u(id).ch(b':');
            let mut tp = Some(tp);
            let mut i = control & 0xf;
            while i != 0 {
                let Some(at) = tp else { break };
                tp = tuple(cx, n, at, snet, snode, sskt);
                i -= 1;
            }
        }
        _ => {
            cx.t.s(" nbp-0x")
                .hex(u64::from(control), 1)
                .s("  ")
                .u(id)
                .s(" (")
                .u(len - 2)
                .ch(b')');
        }
    }
}

fn tuple(cx: &mut Ctx, n: &[u8], tp: usize, snet: u16, snode: u8, sskt: u8) -> Option<usize> {
    if n.len() < tp + 5 {
        cx.trunc("atalk");
        return None;
    }
    let next = name(cx, n, tp);
    let en = n[tp + 4];
    if en != 1 {
        cx.t.ch(b'(').u(en).ch(b')');
    }
    let skt = n[tp + 3];
    if skt != sskt {
        cx.t.ch(b' ').u(skt);
    }
    let net = be16(n, tp).unwrap_or(0);
    let node = n[tp + 2];
    if net != snet || node != snode {
        cx.t.s(" [addr=");
        addr(cx, net, node);
        cx.t.ch(b']');
    }
    next
}

/// nbp_name_print: ` "object:type@zone"`; where the tuple's strings end.
fn name(cx: &mut Ctx, n: &[u8], tp: usize) -> Option<usize> {
    cx.t.s(" \"");
    let cp = cstring(cx, n, tp + 5)?;
    cx.t.ch(b':');
    let cp = cstring(cx, n, cp)?;
    cx.t.ch(b'@');
    let cp = cstring(cx, n, cp)?;
    cx.t.ch(b'"');
    Some(cp)
}

/// print_cstring: a counted string of at most 32 characters.
fn cstring(cx: &mut Ctx, n: &[u8], mut cp: usize) -> Option<usize> {
    let Some(&l) = n.get(cp) else {
        cx.trunc("atalk");
        return None;
    };
    cp += 1;
    if l > 32 {
        cx.t.s("[len=").u(l).ch(b']');
        return None;
    }
    for _ in 0..l {
        let Some(&c) = n.get(cp) else {
            cx.trunc("atalk");
            return None;
        };
        hex::print_char(cx.t, c);
        cp += 1;
    }
    Some(cp)
}
