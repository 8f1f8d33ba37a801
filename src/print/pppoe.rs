//! PPPoE discovery and session frames (tcpdump's print-pppoe.c) and the PPP they carry
//! (print-ppp.c: IPv4/IPv6 payloads and the control protocols' first line).

use super::{be16, be32, hex, ip, ip6, mpls, u8_at, Ctx};

const HDRLEN: u32 = 6;
/// tcpdump copies at most this many tag bytes, less one, into its text buffer.
const MAXTAGPRINT: usize = 80;

fn code_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x09 => "PADI",
        0x07 => "PADO",
        0x19 => "PADR",
        0x65 => "PADS",
        0xa7 => "PADT",
        0x00 => "",
        _ => return None,
    })
}

fn tag_name(cx: &mut Ctx, tag: u16) {
    let n = match tag {
        0 => "EOL",
        0x0101 => "Service-Name",
        0x0102 => "AC-Name",
        0x0103 => "Host-Uniq",
        0x0104 => "AC-Cookie",
        0x0105 => "Vendor-Specific",
        0x0110 => "Relay-Session-ID",
        0x0120 => "PPP-Max-Payload",
        0x0201 => "Service-Name-Error",
        0x0202 => "AC-System-Error",
        0x0203 => "Generic-Error",
        _ => {
            cx.t.s("TAG-0x").hex(u64::from(tag), 1);
            return;
        }
    };
    cx.t.s(n);
}

pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    if len < HDRLEN {
        cx.t.s(" (length ").u(len).s(" < 6) (invalid)");
        return;
    }
    let length = len - HDRLEN;
    let (Some(vt), Some(code), Some(session), Some(plen)) =
        (u8_at(p, 0), u8_at(p, 1), be16(p, 2), be16(p, 4))
    else {
        cx.trunc_jump("pppoe");
        return;
    };
    if vt >> 4 != 1 {
        cx.t.s(" [ver ").u(vt >> 4).ch(b']');
    }
    if vt & 0x0f != 1 {
        cx.t.s(" [type ").u(vt & 0x0f).ch(b']');
    }
    cx.t.s("PPPoE ");
    match code_name(code) {
        Some(n) => cx.t.s(n),
        None => cx.t.s("PAD-").hex(u64::from(code), 1),
    };
    let mut plen = u32::from(plen);
    if code == 0x09 && plen > 1484 - HDRLEN {
        cx.t.s(" [len ").u(plen).s("!]");
    }
    if plen > length {
        cx.t.s(" [len ").u(plen).s(" > ").u(length).s("!]");
        plen = length;
    }
    if session != 0 {
        cx.t.s(" [ses 0x").hex(u64::from(session), 1).ch(b']');
    }
    let payload = &p[6.min(p.len())..];
    if code == 0 {
        cx.t.ch(b' ');
        ppp(cx, payload, plen);
        return;
    }
    // Discovery: tags until EOL or the end of the PPPoE length.
    let end = plen as usize;
    let mut at = 0usize;
    let mut tag = 0xffffu16;
    while tag != 0 && at < end {
        let (Some(t), Some(tlen)) = (be16(payload, at), be16(payload, at + 2)) else {
            cx.trunc_jump("pppoe");
            return;
        };
        tag = t;
        at += 4;
        let tlen = usize::from(tlen);
        let Some(v) = payload.get(at..at + tlen) else {
            cx.trunc_jump("pppoe");
            return;
        };
        cx.t.s(" [");
        tag_name(cx, tag);
        if tlen > 0 {
            let shown = &v[..v.len().min(MAXTAGPRINT - 1)];
            let ascii = shown.iter().filter(|&&b| (0x20..0x7f).contains(&b)).count();
            if ascii > shown.len() - ascii {
                cx.t.s(" \"");
                for &b in shown {
                    cx.t.ch(if (0x20..0x7f).contains(&b) { b } else { b'.' });
                }
                cx.t.ch(b'"');
            } else {
                cx.t.s(" 0x");
                for &b in v {
                    const HEX: &[u8; 16] = b"0123456789ABCDEF";
                    cx.t.ch(HEX[usize::from(b >> 4)])
                        .ch(HEX[usize::from(b & 0xf)]);
                }
            }
        }
        cx.t.ch(b']');
        at += tlen;
    }
}

fn proto_name(proto: u16) -> Option<&'static str> {
    Some(match proto {
        0x0021 => "IP",
        0x0023 => "OSI",
        0x0025 => "NS",
        0x0027 => "DECNET",
        0x0029 => "APPLE",
        0x002b => "IPX",
        0x002d => "VJC IP",
        0x002f => "VJNC IP",
        0x0031 => "BRPDU",
        0x0033 => "STII",
        0x0035 => "VINES",
        0x0281 | 0x0283 => "MPLS",
        0x00fd => "Compressed",
        0x003d => "MLPPP",
        0x0057 => "IP6",
        0x0201 => "HELLO",
        0x0231 => "LUXCOM",
        0x0233 => "SNS",
        0x8021 => "IPCP",
        0x8023 => "OSICP",
        0x8025 => "NSCP",
        0x8027 => "DECNETCP",
        0x8029 => "APPLECP",
        0x802b => "IPXCP",
        0x8033 => "STIICP",
        0x8035 => "VINESCP",
        0x8057 => "IP6CP",
        0x8281 => "MPLSCP",
        0xc021 => "LCP",
        0xc023 => "PAP",
        0xc025 => "LQM",
        0xc223 => "CHAP",
        0xc227 => "EAP",
        0xc027 => "SPAP",
        0xc123 => "Old-SPAP",
        0xc02b => "BACP",
        0xc02d => "BAP",
        0xc03d => "MLPPP-CP",
        0x80fd => "CCP",
        _ => return None,
    })
}

/// tcpdump's ppp_print: optional address/control, the protocol (compressed or not), then
/// the payload.
pub fn ppp(cx: &mut Ctx, p: &[u8], len: u32) {
    let olen = len;
    let mut len = len;
    let mut at = 0usize;
    if len < 2 {
        cx.trunc("ppp");
        return;
    }
    let Some(hdr) = be16(p, 0) else {
        cx.trunc_jump("ppp");
        return;
    };
    match hdr {
        0x0003 | 0x0103 | 0xff03 => {
            if cx.o.link && hdr == 0x0003 {
                cx.t.s("In  ");
            } else if cx.o.link && hdr == 0x0103 {
                cx.t.s("Out ");
            }
            at = 2;
            len -= 2;
        }
        _ => {}
    }
    if len < 2 {
        cx.trunc("ppp");
        return;
    }
    let Some(first) = u8_at(p, at) else {
        cx.trunc_jump("ppp");
        return;
    };
    let proto = if first % 2 == 1 {
        at += 1;
        len -= 1;
        u16::from(first)
    } else {
        let Some(v) = be16(p, at) else {
            cx.trunc_jump("ppp");
            return;
        };
        at += 2;
        len -= 2;
        v
    };
    if cx.o.link {
        let name = proto_name(proto);
        cx.t.s(name.unwrap_or("unknown"))
            .s(" (0x")
            .hex(u64::from(proto), 4)
            .s("), length ")
            .u(olen);
        if name.is_none() {
            return;
        }
        cx.t.s(": ");
    }
    let rest = &p[at.min(p.len())..];
    match proto {
        0xc021 | 0x8021 | 0x8023 | 0x8281 | 0x8057 | 0x80fd | 0xc02b => {
            ctrl_proto(cx, proto, rest, len)
        }
        0x0800 | 0x002f | 0x0021 => ip::print(cx, rest, len),
        0x86dd | 0x0057 => ip6::print(cx, rest, len),
        0x0281 | 0x0283 => mpls::print(cx, rest, len),
        0x00fd => {
            cx.t.s("compressed PPP data");
        }
        _ => {
            match proto_name(proto) {
                Some(n) => cx.t.s(n),
                None => {
                    cx.t.s("unknown PPP protocol (0x")
                        .hex(u64::from(proto), 4)
                        .ch(b')')
                }
            };
            cx.t.ch(b' ');
            let n = rest.len().min(len as usize);
            hex::hex(cx.t, "\n\t", &rest[..n]);
        }
    }
}

fn cp_code_name(code: u8) -> &'static str {
    match code {
        0 => "Vendor-Extension",
        1 => "Conf-Request",
        2 => "Conf-Ack",
        3 => "Conf-Nack",
        4 => "Conf-Reject",
        5 => "Term-Request",
        6 => "Term-Ack",
        7 => "Code-Reject",
        8 => "Prot-Reject",
        9 => "Echo-Request",
        10 => "Echo-Reply",
        11 => "Disc-Req",
        12 => "Ident",
        13 => "Time-Rem",
        14 => "Reset-Req",
        15 => "Reset-Ack",
        _ => "Unknown Opcode",
    }
}

/// The control protocol's name, or tcpdump's `unknown ctrl-proto (0xHHHH)`.
fn ctrl_name(cx: &mut Ctx, proto: u16) {
    match proto_name(proto) {
        Some(n) => cx.t.s(n),
        None => {
            cx.t.s("unknown ctrl-proto (0x")
                .hex(u64::from(proto), 4)
                .ch(b')')
        }
    };
}

/// tcpdump's handle_ctrl_proto: the code line, and with -v the encoded length and, for
/// echo and discard, the magic number (options are not decoded here).
fn ctrl_proto(cx: &mut Ctx, proto: u16, p: &[u8], len: u32) {
    ctrl_name(cx, proto);
    cx.t.s(", ");
    let code_id = if len < 4 {
        None
    } else {
        u8_at(p, 0).zip(u8_at(p, 1))
    };
    // tcpdump's own marker, for its length test and for its check of code and id alike.
    let Some((code, id)) = code_id else {
        cx.t.s("[|");
        ctrl_name(cx, proto);
        cx.t.ch(b']');
        return;
    };
    cx.t.s(cp_code_name(code))
        .s(" (0x")
        .byte(code)
        .s("), id ")
        .u(id)
        .s(", length ")
        .u(len + 2);
    if cx.o.verbose == 0 {
        return;
    }
    let Some(elen) = be16(p, 2) else {
        cx.trunc_jump("ppp");
        return;
    };
    let elen = u32::from(elen);
    if elen < 4 {
        cx.t.s("\n\tencoded length ").u(elen).s(" (< 4))");
        return;
    }
    if elen > len {
        cx.t.s("\n\tencoded length ")
            .u(elen)
            .s(" (> packet length ")
            .u(len)
            .s("))");
        return;
    }
    cx.t.s("\n\tencoded length ")
        .u(elen)
        .s(" (=Option(s) length ")
        .u(elen - 4)
        .ch(b')');
    if elen == 4 {
        return;
    }
    if cx.o.verbose > 1 {
        // tcpdump's print_unknown_data over the protocol field and the 4-byte header.
        let mut hdr = [0u8; 6];
        hdr[0..2].copy_from_slice(&proto.to_be_bytes());
        let n = p.len().min(4);
        hdr[2..2 + n].copy_from_slice(&p[..n]);
        hex::hex(cx.t, "\n\t", &hdr[..2 + n]);
    }
    if matches!(code, 9..=11) && elen >= 8 {
        let Some(magic) = be32(p, 4) else {
            cx.trunc_jump("ppp");
            return;
        };
        cx.t.s("\n\t  Magic-Num 0x").hex(u64::from(magic), 8);
        if elen > 8 {
            cx.t.s("\n\t  -----trailing data-----");
            let Some(d) = p.get(8..elen as usize) else {
                cx.trunc_jump("ppp");
                return;
            };
            hex::hex(cx.t, "\n\t  ", d);
        }
    }
}
