//! TCP (tcpdump's print-tcp.c): ports, flags, sequence numbers relative to the first seen of
//! each connection (unless -S), window, options, length, then a few payload printers by port.

use std::collections::HashMap;

use super::l4::Net;
use super::{app, be16, be32, u8_at, Ctx};

/// Initial sequence numbers per connection, keyed the way tcpdump keys them (the lower port
/// first), so both directions share an entry.
#[derive(Default)]
pub struct Flows {
    map: HashMap<Key, (u32, u32)>,
}

#[derive(Hash, PartialEq, Eq)]
struct Key {
    src: [u8; 16],
    dst: [u8; 16],
    ports: u32,
    v6: bool,
}

fn key(net: &Net, sport: u16, dport: u16) -> (Key, bool) {
    let (s, d) = (net.src(), net.dst());
    let rev = sport > dport || (sport == dport && s > d);
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    let (a, b, ports) = if rev {
        (d, s, u32::from(dport) << 16 | u32::from(sport))
    } else {
        (s, d, u32::from(sport) << 16 | u32::from(dport))
    };
    src[..a.len()].copy_from_slice(a);
    dst[..b.len()].copy_from_slice(b);
    (
        Key {
            src,
            dst,
            ports,
            v6: net.is_v6(),
        },
        rev,
    )
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;
const URG: u8 = 0x20;

/// `Flags [S.]`: tcpdump's tcp_flag_values, in its order.
const FLAG_NAMES: &[(u32, &str)] = &[
    (0x01, "F"),
    (0x02, "S"),
    (0x04, "R"),
    (0x08, "P"),
    (0x10, "."),
    (0x20, "U"),
    (0x40, "E"),
    (0x80, "W"),
];

pub fn ports(cx: &mut Ctx, net: &Net, proto: u8, sport: u16, dport: u16) {
    if net.first_proto() == proto {
        net.addr(cx, net.src());
        cx.t.ch(b'.');
        port(cx, proto, sport);
        cx.t.s(" > ");
        net.addr(cx, net.dst());
        cx.t.ch(b'.');
        port(cx, proto, dport);
        cx.t.s(": ");
    } else {
        port(cx, proto, sport);
        cx.t.s(" > ");
        port(cx, proto, dport);
        cx.t.s(": ");
    }
}

/// A port number, or its service name unless -n.
pub fn port(cx: &mut Ctx, proto: u8, p: u16) {
    if cx.o.numeric == 0 {
        if let Some(name) = crate::resolver::service_name(p, proto) {
            cx.t.s(name);
            return;
        }
    }
    cx.t.u(p);
}

pub fn print(cx: &mut Ctx, net: &Net, p: &[u8], len: u32) {
    let (Some(sport), Some(dport)) = (be16(p, 0), be16(p, 2)) else {
        net.addr(cx, net.src());
        cx.t.s(" > ");
        net.addr(cx, net.dst());
        cx.t.ch(b':');
        cx.trunc("tcp");
        return;
    };
    ports(cx, net, 6, sport, dport);
    if p.len() < 20 {
        cx.trunc("tcp");
        return;
    }
    let hlen = usize::from(p[12] >> 4) * 4;
    if hlen < 20 {
        cx.t.s(" tcp ")
            .u(len.wrapping_sub(hlen as u32))
            .s(" [bad hdr length ")
            .u(hlen as u64)
            .s(" - too short, < 20]");
        return;
    }
    let mut seq = be32(p, 4).unwrap_or(0);
    let mut ack = be32(p, 8).unwrap_or(0);
    let win = be16(p, 14).unwrap_or(0);
    let urp = be16(p, 18).unwrap_or(0);
    if cx.o.quiet {
        cx.t.s("tcp ").u(len.wrapping_sub(hlen as u32));
        if hlen as u32 > len {
            cx.t.s(" [bad hdr length ")
                .u(hlen as u64)
                .s(" - too long, > ")
                .u(len)
                .ch(b']');
        }
        return;
    }
    let flags = p[13];
    cx.t.s("Flags [")
        .bits(u32::from(flags), FLAG_NAMES, "", "none")
        .ch(b']');

    let (mut thseq, mut thack, mut rev) = (0, 0, false);
    if !cx.o.absolute_seq && flags & ACK != 0 {
        let (k, r) = key(net, sport, dport);
        rev = r;
        let found = cx.st.tcp.map.get(&k).copied();
        let entry = match found {
            Some(e) if flags & SYN == 0 => {
                if rev {
                    seq = seq.wrapping_sub(e.1);
                    ack = ack.wrapping_sub(e.0);
                } else {
                    seq = seq.wrapping_sub(e.0);
                    ack = ack.wrapping_sub(e.1);
                }
                e
            }
            _ => {
                let e = if rev {
                    (ack.wrapping_sub(1), seq)
                } else {
                    (seq, ack.wrapping_sub(1))
                };
                cx.st.tcp.map.insert(k, e);
                e
            }
        };
        thseq = entry.0;
        thack = entry.1;
    }
    if hlen as u32 > len {
        cx.t.s(" [bad hdr length ")
            .u(hlen as u64)
            .s(" - too long, > ")
            .u(len)
            .ch(b']');
        return;
    }
    if cx.o.verbose > 0 && !cx.o.no_checksums && !net.fragmented() && p.len() >= len as usize {
        let sum = net.transport_sum(6, &p[..len as usize]);
        let tcp_sum = be16(p, 16).unwrap_or(0);
        cx.t.s(", cksum 0x").hex(u64::from(tcp_sum), 4);
        if sum != 0 {
            cx.t.s(" (incorrect -> 0x")
                .hex(u64::from(super::l4::shouldbe(tcp_sum, sum)), 4)
                .ch(b')');
        } else {
            cx.t.s(" (correct)");
        }
    }
    let length = len - hlen as u32;
    if cx.o.verbose > 1 || length > 0 || flags & (SYN | FIN | RST) != 0 {
        cx.t.s(", seq ").u(seq);
        if length > 0 {
            cx.t.ch(b':').u(seq.wrapping_add(length));
        }
    }
    if flags & ACK != 0 {
        cx.t.s(", ack ").u(ack);
    }
    cx.t.s(", win ").u(win);
    if flags & URG != 0 {
        cx.t.s(", urg ").u(urp);
    }
    if hlen > 20 {
        match options(cx, &p[20..], hlen - 20, rev, thseq, thack) {
            Opts::Done => {}
            Opts::Trunc => {
                cx.trunc_jump("tcp");
                return;
            }
            Opts::Short(after_first) => {
                cx.trunc("tcp");
                if after_first {
                    cx.t.ch(b'>');
                }
                return;
            }
            Opts::Bad(after_first) => {
                cx.t.s("[bad opt]");
                if after_first {
                    cx.t.ch(b']');
                }
                return;
            }
        }
    }
    cx.t.s(", length ").u(length);
    if length == 0 {
        return;
    }
    let payload = p.get(hlen..).unwrap_or(&[]);
    let payload = &payload[..payload.len().min(length as usize)];
    if flags & RST != 0 && cx.o.verbose > 0 {
        rst_data(cx, payload, length);
        return;
    }
    app::tcp(cx, sport, dport, payload, length);
}

enum Opts {
    Done,
    /// The capture ends inside the options (tcpdump's GET_ macros: a longjmp).
    Trunc,
    /// An option's data is not all captured (tcpdump's LENCHECK: a plain marker, then,
    /// as tcpdump's trunc label does, a '>' once an option was printed whole).
    Short(bool),
    /// An option's length is wrong; true once an option was printed whole.
    Bad(bool),
}

/// The options list.
fn options(cx: &mut Ctx, o: &[u8], mut hlen: usize, rev: bool, thseq: u32, thack: u32) -> Opts {
    cx.t.s(", options [");
    let mut at = 0usize;
    let mut first = true;
    while hlen > 0 {
        if !first {
            cx.t.ch(b',');
        }
        let Some(opt) = u8_at(o, at) else {
            return Opts::Trunc;
        };
        at += 1;
        let len = if opt == 0 || opt == 1 {
            1
        } else {
            let Some(l) = u8_at(o, at) else {
                return Opts::Trunc;
            };
            at += 1;
            let l = usize::from(l);
            if l < 2 || l > hlen {
                return Opts::Bad(!first);
            }
            hlen -= 1;
            l
        };
        hlen -= 1;
        let name = match opt {
            0 => "eol",
            1 => "nop",
            2 => "mss",
            3 => "wscale",
            4 => "sackOK",
            5 => "sack",
            6 => "echo",
            7 => "echoreply",
            8 => "TS",
            11 => "cc",
            12 => "ccnew",
            13 => "ccecho",
            19 => "md5",
            20 => "scps",
            27 => "snack",
            28 => "uto",
            29 => "tcp-ao",
            30 => "mptcp",
            34 => "tfo",
            253 => "exp",
            254 => "exp",
            _ => "",
        };
        if name.is_empty() {
            cx.t.s("unknown-").u(opt);
        } else {
            cx.t.s(name);
        }
        // Bail out (tcpdump's LENCHECK) if `l` bytes are not in the option or not captured.
        macro_rules! need {
            ($l:expr) => {
                if $l > hlen {
                    return Opts::Bad(!first);
                }
                if at + $l > o.len() {
                    return Opts::Short(!first);
                }
            };
        }
        let datalen: usize = match opt {
            2 => {
                need!(2);
                cx.t.ch(b' ').u(be16(o, at).unwrap_or(0));
                2
            }
            3 => {
                need!(1);
                cx.t.ch(b' ').u(o[at]);
                1
            }
            5 => {
                let datalen = len - 2;
                if datalen % 8 != 0 {
                    cx.t.s(" invalid sack");
                } else {
                    cx.t.ch(b' ').u((datalen / 8) as u64).ch(b' ');
                    let mut i = 0;
                    while i < datalen {
                        need!(i + 8);
                        let mut s = be32(o, at + i).unwrap_or(0);
                        let mut e = be32(o, at + i + 4).unwrap_or(0);
                        let base = if rev { thseq } else { thack };
                        s = s.wrapping_sub(base);
                        e = e.wrapping_sub(base);
                        cx.t.ch(b'{').u(s).ch(b':').u(e).ch(b'}');
                        i += 8;
                    }
                }
                datalen
            }
            11..=13 => {
                need!(4);
                cx.t.ch(b' ').u(be32(o, at).unwrap_or(0));
                4
            }
            8 => {
                need!(8);
                cx.t.s(" val ")
                    .u(be32(o, at).unwrap_or(0))
                    .s(" ecr ")
                    .u(be32(o, at + 4).unwrap_or(0));
                8
            }
            19 => {
                need!(16);
                cx.t.ch(b' ');
                for i in 0..16 {
                    cx.t.byte(o[at + i]);
                }
                16
            }
            20 => {
                need!(2);
                cx.t.s(" cap ").byte(o[at]).s(" id ").u(o[at + 1]);
                2
            }
            0 | 1 | 4 => 0,
            28 => {
                need!(2);
                let v = be16(o, at).unwrap_or(0);
                cx.t.s(" 0x").hex(u64::from(v), 1);
                let secs = if v & 1 != 0 {
                    u64::from(v >> 1) * 60
                } else {
                    u64::from(v >> 1)
                };
                cx.t.ch(b' ').u(secs);
                2
            }
            _ => {
                let datalen = len - 2;
                if datalen > 0 {
                    cx.t.s(" 0x");
                }
                for i in 0..datalen {
                    need!(i + 1);
                    cx.t.byte(o[at + i]);
                }
                datalen
            }
        };
        at += datalen;
        hlen -= datalen;
        let mut seen = datalen + 1;
        if opt != 0 && opt != 1 {
            seen += 1;
        }
        if seen != len {
            cx.t.s("[len ").u(len as u64).ch(b']');
        }
        first = false;
        if opt == 0 {
            break;
        }
    }
    cx.t.ch(b']');
    Opts::Done
}

/// -v with RST: RFC 1122 says the data of a reset may explain it. As tcpdump 4.99 does, a
/// `!` marks data not all captured, and what was captured (up to 30 bytes) is shown.
fn rst_data(cx: &mut Ctx, p: &[u8], length: u32) {
    const MAX_RST_DATA: usize = 30;
    let length = length as usize;
    cx.t.s(if p.len() >= length { " [RST" } else { " [!RST" });
    if length > MAX_RST_DATA {
        cx.t.ch(b'+');
    }
    cx.t.ch(b' ');
    for &c in &p[..length.min(MAX_RST_DATA).min(p.len())] {
        super::hex::print_char(cx.t, c);
    }
    cx.t.ch(b']');
}
