//! MPLS label stacks (tcpdump's print-mpls.c): each label entry, then the payload guessed
//! from the bottom label or the first payload byte, as tcpdump guesses it.

use super::{be32, ether, ip, ip6, u8_at, Ctx};

const LABEL_NAMES: [&str; 16] = [
    "IPv4 explicit NULL",
    "router alert",
    "IPv6 explicit NULL",
    "implicit NULL",
    "rsvd",
    "rsvd",
    "rsvd",
    "rsvd",
    "rsvd",
    "rsvd",
    "rsvd",
    "rsvd",
    "rsvd",
    "rsvd",
    "rsvd",
    "rsvd",
];

enum Payload {
    Unknown,
    V4,
    V6,
}

pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    cx.t.s("MPLS");
    let mut at = 0usize;
    let mut len = len;
    let mut depth = 0u32;
    let label = loop {
        if len < 4 {
            cx.t.s(" (invalid)");
            if p.len() < at + len as usize {
                cx.trunc_jump("mpls");
            }
            return;
        }
        let Some(entry) = be32(p, at) else {
            cx.trunc_jump("mpls");
            return;
        };
        let label = entry >> 12;
        cx.t.s(if depth > 0 && cx.o.verbose > 0 {
            "\n\t"
        } else {
            " "
        });
        cx.t.s("(label ").u(label);
        depth += 1;
        if cx.o.verbose > 0 {
            if let Some(n) = LABEL_NAMES.get(label as usize) {
                cx.t.s(" (").s(n).ch(b')');
            }
        }
        cx.t.s(", tc ").u((entry >> 9) & 7);
        if entry & 0x100 != 0 {
            cx.t.s(", [S]");
        }
        cx.t.s(", ttl ").u(entry & 0xff).ch(b')');
        at += 4;
        len -= 4;
        if entry & 0x100 != 0 {
            break label;
        }
    };
    let rest = &p[at.min(p.len())..];
    let kind = match label {
        0 | 3 => Payload::V4,
        2 => Payload::V6,
        _ => {
            if len < 1 {
                return;
            }
            let Some(first) = u8_at(rest, 0) else {
                cx.trunc_jump("mpls");
                return;
            };
            match first {
                0x45..=0x4f => Payload::V4,
                0x60..=0x6f => Payload::V6,
                _ => Payload::Unknown,
            }
        }
    };
    match kind {
        Payload::Unknown => {
            // tcpdump asks for `len` bytes: past the capture it stops with [|mpls].
            if cx.o.hex == 0 && !cx.o.quiet {
                let n = rest.len().min(len as usize);
                ether::raw_default_print(cx, &rest[..n]);
                if n < len as usize {
                    cx.trunc_jump("mpls");
                }
            }
        }
        Payload::V4 | Payload::V6 => {
            cx.t.s(if cx.o.verbose > 0 { "\n\t" } else { " " });
            if matches!(kind, Payload::V4) {
                ip::print(cx, rest, len);
            } else {
                ip6::print(cx, rest, len);
            }
        }
    }
}
