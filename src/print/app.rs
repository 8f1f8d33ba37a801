//! Payloads above TCP and UDP, chosen by port as tcpdump chooses them.

use super::l4::Net;
use super::{bootp, dns, geneve, ntp, Ctx};

/// After a TCP header: the application printers tcpdump runs on TCP payloads.
pub fn tcp(cx: &mut Ctx, sport: u16, dport: u16, p: &[u8], len: u32) {
    let either = |port: u16| sport == port || dport == port;
    if either(22) {
        ssh(cx, p, len);
    } else if either(80) || either(8080) {
        cx.t.s(": ");
        txtproto(cx, p, len, "http", Some(HTTP_COMMANDS), true);
    } else if either(53) {
        dns::print(cx, p, len, true, false);
    }
}

/// After a UDP header: true if a printer took the payload (else the caller prints
/// `UDP, length N`).
pub fn udp(cx: &mut Ctx, net: &Net, sport: u16, dport: u16, p: &[u8], len: u32) -> bool {
    let _ = net;
    let either = |port: u16| sport == port || dport == port;
    // print-udp.c's order: the first printer whose port matches takes the payload, so a
    // port of a printer bpfdump lacks keeps a later one from claiming it.
    if either(53) {
        dns::print(cx, p, len, false, false);
        return true;
    }
    if either(5353) {
        dns::print(cx, p, len, false, true);
        return true;
    }
    if either(525) || either(69) {
        return false;
    }
    if either(67) || either(68) {
        bootp::print(cx, p, len);
        return true;
    }
    if [520, 654, 500, 4500, 7500, 8500, 161, 162]
        .iter()
        .any(|&q| either(q))
    {
        return false;
    }
    if either(123) {
        ntp::print(cx, p, len);
        return true;
    }
    if BEFORE_SIP.iter().any(|&q| either(q))
        || (7000..=7009).contains(&sport)
        || (7000..=7009).contains(&dport)
        || [3456, 4567, 1985, 3784, 4784, 6784, 3785, 12222].contains(&dport)
        || sport == 12222
        || sport == 49152
    {
        return false;
    }
    if either(5060) {
        txtproto(cx, p, len, "sip", Some(SIP_COMMANDS), true);
        return true;
    }
    if either(514) || either(8472) {
        return false;
    }
    if either(4789) {
        geneve::vxlan(cx, p, len);
        return true;
    }
    if either(6081) {
        geneve::geneve(cx, p, len);
        return true;
    }
    false
}

/// Ports (either end) of the printers print-udp.c tries between NTP and SIP.
const BEFORE_SIP: &[u16] = &[
    88, 750, 1701, 137, 138, 2103, 2104, 521, 546, 547, 5359, 6696, 6697, 8231, 496, 1645, 1812,
    1646, 1813, 1700, 3799, 921, 646, 698, 3503, 701, 1589, 6343, 12223,
];

/// tcpdump's print-sip.c request methods.
const SIP_COMMANDS: &[&str] = &[
    "ACK",
    "BYE",
    "CANCEL",
    "DO",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "QAUTH",
    "REFER",
    "REGISTER",
    "SPRACK",
    "SUBSCRIBE",
    "UPDATE",
    "PUBLISH",
];

/// tcpdump's http.c request methods.
const HTTP_COMMANDS: &[&str] = &[
    "GET",
    "PUT",
    "COPY",
    "HEAD",
    "LOCK",
    "MOVE",
    "POLL",
    "POST",
    "BCOPY",
    "BMOVE",
    "MKCOL",
    "TRACE",
    "LABEL",
    "MERGE",
    "DELETE",
    "SEARCH",
    "UNLOCK",
    "REPORT",
    "UPDATE",
    "NOTIFY",
    "BDELETE",
    "CONNECT",
    "OPTIONS",
    "CHECKIN",
    "PROPFIND",
    "CHECKOUT",
    "CHECKOUT",
    "BPROPFIND",
    "BPROPPATCH",
    "UNCHECKOUT",
    "MKACTIVITY",
    "MKWORKSPACE",
    "UNSUBSCRIBE",
    "RPC_IN_DATA",
    "RPC_OUT_DATA",
];

/// `SSH: SSH-2.0-...` when the payload is an SSH version line.
fn ssh(cx: &mut Ctx, p: &[u8], len: u32) {
    let len = len as usize;
    for (i, want) in b"SSH-".iter().enumerate() {
        match p.get(i) {
            None => {
                cx.trunc_jump("ssh");
                return;
            }
            Some(c) if c != want => return,
            _ => {}
        }
    }
    let mut i = 4;
    while i < len {
        let Some(&c) = p.get(i) else {
            cx.trunc_jump("ssh");
            return;
        };
        if c == b'\n' {
            break;
        } else if c == b'\r' {
            if i + 1 >= len {
                return;
            }
            match p.get(i + 1) {
                None => {
                    cx.trunc("ssh");
                    return;
                }
                Some(b'\n') => break,
                _ => return,
            }
        } else if !(0x20..0x7f).contains(&c) {
            return;
        }
        i += 1;
    }
    if i >= len {
        return;
    }
    cx.t.s(": SSH: ");
    cx.t.buf.extend_from_slice(&p[..i]);
}

/// tcpdump's txtproto_print: the protocol's name (`proto` in capitals), and for a request
/// or response its first line (every line with -v).
pub fn txtproto(
    cx: &mut Ctx,
    p: &[u8],
    len: u32,
    proto: &str,
    commands: Option<&[&str]>,
    resp_code_second: bool,
) {
    let len = len as usize;
    let mut print_this = commands.is_none();
    if let Some(cmds) = commands {
        let (mut idx, mut tok) = fetch_token(p, 0, len);
        if idx != 0 {
            if cmds.iter().any(|c| c.as_bytes().eq_ignore_ascii_case(tok)) {
                print_this = true;
            }
            if resp_code_second {
                (idx, tok) = fetch_token(p, idx, len);
            }
            if idx != 0 && tok.len() == 3 && tok.iter().all(|c| c.is_ascii_digit()) {
                print_this = true;
            }
        }
    }
    for c in proto.bytes() {
        cx.t.ch(c.to_ascii_uppercase());
    }
    if !print_this {
        return;
    }
    if cx.o.verbose > 0 {
        cx.t.s(", length: ").u(len as u64);
        let mut idx = 0;
        while idx < len {
            let eol = text_line(cx, proto, "\n\t", p, idx, len);
            if eol == 0 {
                break;
            }
            idx = eol;
        }
    } else {
        text_line(cx, proto, ": ", p, 0, len);
    }
}

/// tcpdump's fetch_token: the index after the token at `idx` and the blanks that follow
/// (0 if there is no printable token), and the token.
fn fetch_token(p: &[u8], mut idx: usize, len: usize) -> (usize, &[u8]) {
    const MAX_TOKEN: usize = 128;
    let start = idx;
    while idx < len {
        let Some(&c) = p.get(idx) else {
            return (0, &[]);
        };
        if !(0x20..0x7f).contains(&c) {
            return (0, &[]);
        }
        if c == b' ' {
            break;
        }
        if idx - start + 2 > MAX_TOKEN + 1 {
            return (0, &[]);
        }
        idx += 1;
    }
    let tok = &p[start..idx];
    if tok.is_empty() {
        return (0, tok);
    }
    while idx < len {
        let Some(&c) = p.get(idx) else {
            break;
        };
        if c == b'\r' || c == b'\n' || !(0x20..0x7f).contains(&c) || (c != b' ' && c != b'\t') {
            break;
        }
        idx += 1;
    }
    (idx, tok)
}

/// tcpdump's print_txt_line: one printable line from `idx`, after `prefix`; returns the
/// index after its end of line, or 0 if it is not a whole printable line.
fn text_line(
    cx: &mut Ctx,
    proto: &str,
    prefix: &str,
    p: &[u8],
    mut idx: usize,
    len: usize,
) -> usize {
    let start = idx;
    while idx < len {
        let Some(&c) = p.get(idx) else {
            // tcpdump's GET_U_1 past the capture: only the marker, by longjmp.
            cx.trunc_jump(proto);
            return 0;
        };
        if c == b'\n' {
            cx.t.s(prefix);
            cx.t.buf.extend_from_slice(&p[start..idx]);
            return idx + 1;
        } else if c == b'\r' {
            if idx + 1 >= len {
                return 0;
            }
            match p.get(idx + 1) {
                Some(b'\n') => {
                    cx.t.s(prefix);
                    cx.t.buf.extend_from_slice(&p[start..idx]);
                    return idx + 2;
                }
                Some(_) => return 0,
                None => {
                    cx.trunc_jump(proto);
                    return 0;
                }
            }
        } else if !(0x20..0x7f).contains(&c) && c != b'\t' {
            return 0;
        }
        idx += 1;
    }
    // All printable but no end of line: shown as cut off.
    cx.t.s(prefix);
    cx.t.buf.extend_from_slice(&p[start..idx]);
    cx.trunc(proto);
    0
}
