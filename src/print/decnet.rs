//! DECnet Phase IV (ethertype 0x6003): tcpdump's print-decnet.c. The routing layer's control
//! messages (hellos, routing, init, verification, test) and, for data packets, the route
//! header and the NSP message header as far as tcpdump decodes them.
//!
//! tcpdump reads these fields with GET_ macros, so a field past the capture ends the packet
//! with " [|decnet]" by longjmp; a length that cannot hold a structure prints " (invalid)".

use super::{hex, Ctx};

/// How a DECnet printer stopped early.
enum Stop {
    /// nd_print_invalid: " (invalid)".
    Invalid,
    /// A GET_ past the capture: " [|decnet]" by longjmp.
    Trunc,
}

type R = Result<(), Stop>;

pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    match route(cx, p, len) {
        Ok(()) => {}
        Err(Stop::Invalid) => {
            cx.t.s(" (invalid)");
        }
        Err(Stop::Trunc) => cx.trunc_jump("decnet"),
    }
}

fn u8_(d: &[u8], at: usize) -> Result<u8, Stop> {
    d.get(at).copied().ok_or(Stop::Trunc)
}

fn le16(d: &[u8], at: usize) -> Result<u16, Stop> {
    match (d.get(at), d.get(at + 1)) {
        (Some(&a), Some(&b)) => Ok(u16::from_le_bytes([a, b])),
        _ => Err(Stop::Trunc),
    }
}

fn need(d: &[u8], n: usize) -> R {
    if d.len() < n {
        Err(Stop::Trunc)
    } else {
        Ok(())
    }
}

/// tcpdump's dnnum_string: "area.node".
fn dnaddr(cx: &mut Ctx, a: u16) {
    cx.t.u((a & 0xfc00) >> 10).ch(b'.').u(a & 0x3ff);
}

/// printf's %o for a byte.
fn octal(cx: &mut Ctx, v: u8) {
    if v >= 0o100 {
        cx.t.ch(b'0' + (v >> 6));
    }
    if v >= 0o10 {
        cx.t.ch(b'0' + ((v >> 3) & 7));
    }
    cx.t.ch(b'0' + (v & 7));
}

/// ND_DEFAULTPRINT of `n` bytes from `d`: the hex and ASCII lines, cut where the capture
/// ends with " [|decnet]" (hex_and_ascii_print longjmps there).
fn default_print(cx: &mut Ctx, d: &[u8], n: usize) {
    if n > d.len() {
        hex::hex_ascii(cx.t, "\n\t", d);
        cx.trunc_jump("decnet");
    } else {
        hex::hex_ascii(cx.t, "\n\t", &d[..n]);
    }
}

fn route(cx: &mut Ctx, p: &[u8], len: u32) -> R {
    if len < 6 {
        cx.t.s(" (length ").u(len).s(" < 6)");
        return Err(Stop::Invalid);
    }
    let pktlen = le16(p, 0)?;
    if pktlen < 6 {
        cx.t.s(" (pktlen ").u(pktlen).s(" < 6)");
        return Err(Stop::Invalid);
    }
    if u32::from(pktlen) > len {
        cx.t.s(" (pktlen ").u(pktlen).s(" > ").u(len).ch(b')');
        return Err(Stop::Invalid);
    }
    let mut length = u32::from(pktlen);
    let mut ap = 0usize;
    let mut mflags = u8_(p, 2)?;
    if mflags & 0x80 != 0 {
        let padlen = u32::from(mflags & 0x7f);
        if cx.o.verbose > 0 {
            cx.t.s("[pad:").u(padlen).s("] ");
        }
        if length < padlen + 2 {
            cx.t.s(" (length ")
                .u(length)
                .s(" < ")
                .u(padlen + 2)
                .ch(b')');
            return Err(Stop::Invalid);
        }
        need(p, 2 + padlen as usize)?;
        ap = padlen as usize;
        length -= padlen;
        mflags = u8_(p, ap + 2)?;
    }
    // From here on the capture holds at least ap + 3 bytes.
    let a = p.get(ap..).unwrap_or(&[]);
    let caplen = a.len();
    let r = p.get(ap + 2..).unwrap_or(&[]);
    let shown = (length as usize).min(caplen);

    if mflags & 0x40 != 0 {
        cx.t.s("future-version-decnet");
        default_print(cx, a, shown);
        return Ok(());
    }
    if mflags & 0x01 != 0 {
        return control(cx, r, length, shown);
    }
    let (dst, src, hops, nsp, nsplen) = match mflags & 7 {
        6 => {
            if length < 21 {
                cx.t.s(" (length ").u(length).s(" < 21)");
                return Err(Stop::Invalid);
            }
            need(r, 21)?;
            let dst = le16(r, 7)?;
            let src = le16(r, 15)?;
            let hops = u8_(r, 18)?;
            (dst, src, hops, &r[21..], length - 21)
        }
        2 => {
            let dst = le16(r, 1)?;
            let src = le16(r, 3)?;
            let hops = (u8_(r, 5)? & 0x3f) + 1;
            (dst, src, hops, &r[6..], length.wrapping_sub(6))
        }
        _ => {
            cx.t.s("unknown message flags under mask");
            default_print(cx, a, shown);
            return Ok(());
        }
    };
    dnaddr(cx, src);
    cx.t.s(" > ");
    dnaddr(cx, dst);
    cx.t.ch(b' ').u(pktlen).ch(b' ');
    if cx.o.verbose > 0 {
        if mflags & 0x08 != 0 {
            cx.t.s("RQR ");
        }
        if mflags & 0x10 != 0 {
            cx.t.s("RTS ");
        }
        if mflags & 0x20 != 0 {
            cx.t.s("IE ");
        }
        cx.t.u(hops).s(" hops ");
    }
    nsp_print(cx, nsp, nsplen)
}

/// A routing layer control message; `r` starts at its flags byte, `length` is what the
/// length word (less padding) allows, `shown` what tcpdump would dump of it.
fn control(cx: &mut Ctx, r: &[u8], length: u32, shown: usize) -> R {
    let mflags = u8_(r, 0)?;
    match mflags & 0x0f {
        0x01 => {
            cx.t.s("init ");
            if length < 12 {
                return Err(Stop::Invalid);
            }
            need(r, 12)?;
            let src = le16(r, 1)?;
            let info = r[3];
            let blksize = le16(r, 4)?;
            let (vers, eco, ueco) = (r[6], r[7], r[8]);
            let hello = le16(r, 9)?;
            t_info(cx, info);
            cx.t.s("src ");
            dnaddr(cx, src);
            cx.t.s("blksize ")
                .u(blksize)
                .s(" vers ")
                .u(vers)
                .s(" eco ")
                .u(eco)
                .s(" ueco ")
                .u(ueco)
                .s(" hello ")
                .u(hello);
        }
        0x03 | 0x05 => {
            let ver = mflags & 0x0f == 0x03;
            cx.t.s(if ver { "verification " } else { "test " });
            if length < 4 {
                return Err(Stop::Invalid);
            }
            let src = le16(r, 1)?;
            let other = u8_(r, 3)?;
            cx.t.s("src ");
            dnaddr(cx, src);
            cx.t.s(if ver { " fcnval " } else { " data " });
            octal(cx, other);
        }
        0x07 | 0x09 => {
            let l1 = mflags & 0x0f == 0x07;
            cx.t.s(if l1 {
                "lev-1-routing "
            } else {
                "lev-2-routing "
            });
            if length < 4 {
                return Err(Stop::Invalid);
            }
            need(r, 4)?;
            let src = le16(r, 1)?;
            cx.t.s("src ");
            dnaddr(cx, src);
            cx.t.ch(b' ');
            routes(
                cx,
                &r[4..],
                length - 4,
                if l1 { "{ids " } else { "{areas " },
            )?;
        }
        0x0b => {
            cx.t.s("router-hello ");
            if length < 18 {
                return Err(Stop::Invalid);
            }
            need(r, 18)?;
            let (vers, eco, ueco) = (r[1], r[2], r[3]);
            let src = le16(r, 8)?;
            let info = r[10];
            let blksize = le16(r, 11)?;
            let priority = r[13];
            let hello = le16(r, 15)?;
            i_info(cx, info);
            cx.t.s("vers ")
                .u(vers)
                .s(" eco ")
                .u(eco)
                .s(" ueco ")
                .u(ueco)
                .s(" src ");
            dnaddr(cx, src);
            cx.t.s(" blksize ")
                .u(blksize)
                .s(" pri ")
                .u(priority)
                .s(" hello ")
                .u(hello);
        }
        0x0d => {
            cx.t.s("endnode-hello ");
            if length < 32 {
                return Err(Stop::Invalid);
            }
            need(r, 32)?;
            let (vers, eco, ueco) = (r[1], r[2], r[3]);
            let src = le16(r, 8)?;
            let info = r[10];
            let blksize = le16(r, 11)?;
            let dst = le16(r, 26)?;
            let hello = le16(r, 28)?;
            let other = r[31];
            i_info(cx, info);
            cx.t.s("vers ")
                .u(vers)
                .s(" eco ")
                .u(eco)
                .s(" ueco ")
                .u(ueco)
                .s(" src ");
            dnaddr(cx, src);
            cx.t.s(" blksize ").u(blksize).s(" rtr ");
            dnaddr(cx, dst);
            cx.t.s(" hello ").u(hello).s(" data ");
            octal(cx, other);
        }
        _ => {
            cx.t.s("unknown control message");
            default_print(cx, r, shown);
        }
    }
    Ok(())
}

/// The (count, first id, cost/hops) triples of a routing message; the last word is a checksum.
fn routes(cx: &mut Ctx, rp: &[u8], mut len: u32, what: &str) -> R {
    let mut at = 0usize;
    while len > 6 {
        need(rp, at + 6)?;
        let count = u32::from(le16(rp, at)?);
        if count > 1024 {
            return Ok(());
        }
        let id = u32::from(le16(rp, at + 2)?);
        let info = le16(rp, at + 4)?;
        at += 6;
        len -= 6;
        cx.t.s(what)
            .u(id)
            .ch(b'-')
            .u(id + count)
            .s(" cost ")
            .u(info & 0o777)
            .s(" hops ")
            .u((info >> 10) & 0o37)
            .s("} ");
    }
    Ok(())
}

fn ntype(cx: &mut Ctx, info: u8) {
    cx.t.s(match info & 3 {
        0 => "reserved-ntype? ",
        1 => "l2rout ",
        2 => "l1rout ",
        _ => "endnode ",
    });
}

fn t_info(cx: &mut Ctx, info: u8) {
    ntype(cx, info);
    if info & 0o4 != 0 {
        cx.t.s("verif ");
    }
    if info & 0o10 != 0 {
        cx.t.s("blo ");
    }
}

fn i_info(cx: &mut Ctx, info: u8) {
    ntype(cx, info);
    if info & 0o4 != 0 {
        cx.t.s("verif ");
    }
    if info & 0o40 != 0 {
        cx.t.s("nomcast ");
    }
    if info & 0o100 != 0 {
        cx.t.s("blo ");
    }
}

const SGQ_ACK: u16 = 0o100000;
const SGQ_NAK: u16 = 0o110000;
const SGQ_OACK: u16 = 0o120000;
const SGQ_ONAK: u16 = 0o130000;
const SGQ_MASK: u16 = 0o7777;

/// An acknowledgement word: `names` are the (nak, ack) words.
fn ack_word(cx: &mut Ctx, ack: u16, full: u16, names: (&str, &str)) {
    cx.t.s(if ack & full == full { names.0 } else { names.1 })
        .u(ack & SGQ_MASK)
        .ch(b' ');
}

fn src_dst(cx: &mut Ctx, src: u16, dst: u16) {
    cx.t.u(src).ch(b'>').u(dst).ch(b' ');
}

fn hex_flags(cx: &mut Ctx, what: &str, flags: u8, src: u16, dst: u16) {
    cx.t.s(what)
        .hex(u64::from(flags), 1)
        .ch(b' ')
        .u(src)
        .s(" > ")
        .u(dst);
}

/// A data or interrupt segment's sequence words; `other` names the second word's acks.
fn seg_words(cx: &mut Ctx, n: &[u8], nsplen: u32, other: (&str, &str)) -> R {
    let mut off = 7u32;
    if nsplen < off {
        return Err(Stop::Invalid);
    }
    let mut ack = le16(n, 5)?;
    if ack & SGQ_ACK != 0 {
        ack_word(cx, ack, SGQ_NAK, ("nak ", "ack "));
        off += 2;
        if nsplen < off {
            return Err(Stop::Invalid);
        }
        ack = le16(n, 7)?;
        if ack & SGQ_OACK != 0 {
            ack_word(cx, ack, SGQ_ONAK, other);
            off += 2;
            if nsplen < off {
                return Err(Stop::Invalid);
            }
            ack = le16(n, 9)?;
        }
    }
    cx.t.s("seg ").u(ack & SGQ_MASK).ch(b' ');
    Ok(())
}

fn services_info(cx: &mut Ctx, services: u8, info: u8, segsize: u16) {
    match services & 0o14 {
        0o4 => {
            cx.t.s("seg ");
        }
        0o10 => {
            cx.t.s("msg ");
        }
        _ => {}
    }
    cx.t.s(match info & 3 {
        0 => "ver 3.2 ",
        1 => "ver 3.1 ",
        2 => "ver 4.0 ",
        _ => "ver 4.1 ",
    });
    cx.t.s("segsize ").u(segsize).ch(b' ');
}

fn reason(cx: &mut Ctx, r: u16) {
    let s = match r {
        0 => "object rejected connect",
        1 => "insufficient resources",
        2 => "unrecognized node name",
        3 => "node is shutting down",
        4 => "unrecognized object",
        5 => "invalid object name format",
        6 => "object too busy",
        7 => "protocol error discovered",
        8 => "third party abort",
        9 => "user abort",
        10 => "invalid node name format",
        11 => "local node shutting down",
        32 => "insufficient local resources",
        33 => "insufficient remote user resources",
        34 => "invalid access control information",
        36 => "bad ACCOUNT information",
        38 => "no response from object",
        39 => "node unreachable",
        41 => "no link terminate",
        42 => "disconnect complete",
        43 => "bad image data in connect",
        54 => "cryptographic service mismatch",
        _ => {
            cx.t.s("reason-").u(r).ch(b' ');
            return;
        }
    };
    cx.t.s(s).ch(b' ');
}

/// The NSP message after the route header; `nsplen` is what the length word leaves for it.
fn nsp_print(cx: &mut Ctx, n: &[u8], nsplen: u32) -> R {
    if nsplen < 5 {
        cx.t.s(" (nsplen ").u(nsplen).s(" < 5)");
        return Err(Stop::Invalid);
    }
    let flags = u8_(n, 0)?;
    let dst = le16(n, 1)?;
    let src = le16(n, 3)?;
    match flags & 0o14 {
        0 => match flags & 0o160 {
            0o40 | 0 | 0o100 | 0o140 => {
                cx.t.s("data ");
                src_dst(cx, src, dst);
                seg_words(cx, n, nsplen, ("onak ", "oack "))?;
            }
            0o60 => {
                cx.t.s("intr ");
                seg_words(cx, n, nsplen, ("nakdat ", "ackdat "))?;
            }
            0o20 => {
                cx.t.s("link-service ");
                src_dst(cx, src, dst);
                if nsplen < 13 {
                    return Err(Stop::Invalid);
                }
                let mut ack = le16(n, 5)?;
                if ack & SGQ_ACK != 0 {
                    ack_word(cx, ack, SGQ_NAK, ("nak ", "ack "));
                    ack = le16(n, 7)?;
                    if ack & SGQ_OACK != 0 {
                        ack_word(cx, ack, SGQ_ONAK, ("nakdat ", "ackdat "));
                        ack = le16(n, 9)?;
                    }
                }
                cx.t.s("seg ").u(ack & SGQ_MASK).ch(b' ');
                let lsflags = u8_(n, 11)?;
                let fcval = u8_(n, 12)?;
                match lsflags & 0o14 {
                    0 => {
                        cx.t.s("dat seg count ").u(fcval).ch(b' ');
                        match lsflags & 3 {
                            0 => {}
                            1 => {
                                cx.t.s("donotsend-data ");
                            }
                            2 => {
                                cx.t.s("send-data ");
                            }
                            _ => {
                                cx.t.s("reserved-fcmod? ").hex(u64::from(lsflags), 1);
                            }
                        }
                    }
                    0o4 => {
                        cx.t.s("intr req count ").u(fcval).ch(b' ');
                    }
                    _ => {
                        cx.t.s("reserved-fcval-int? ").hex(u64::from(lsflags), 1);
                    }
                }
            }
            _ => hex_flags(cx, "reserved-subtype? ", flags, src, dst),
        },
        0o4 => match flags & 0o160 {
            0 | 0o20 => {
                let data = flags & 0o160 == 0;
                cx.t.s(if data { "data-ack " } else { "ils-ack " });
                src_dst(cx, src, dst);
                if nsplen < 9 {
                    return Err(Stop::Invalid);
                }
                need(n, 9)?;
                let ack = le16(n, 5)?;
                if ack & SGQ_ACK != 0 {
                    ack_word(cx, ack, SGQ_NAK, ("nak ", "ack "));
                    let ack = le16(n, 7)?;
                    if ack & SGQ_OACK != 0 {
                        let names = if data {
                            ("onak ", "oack ")
                        } else {
                            ("nakdat ", "ackdat ")
                        };
                        ack_word(cx, ack, SGQ_ONAK, names);
                    }
                }
            }
            0o40 => {
                cx.t.s("conn-ack ").u(dst);
            }
            _ => hex_flags(cx, "reserved-acktype? ", flags, src, dst),
        },
        0o10 => match flags & 0o160 {
            0o20 | 0o140 => {
                cx.t.s(if flags & 0o160 == 0o20 {
                    "conn-initiate "
                } else {
                    "retrans-conn-initiate "
                });
                src_dst(cx, src, dst);
                if nsplen < 9 {
                    return Err(Stop::Invalid);
                }
                let services = u8_(n, 5)?;
                let info = u8_(n, 6)?;
                let segsize = le16(n, 7)?;
                services_info(cx, services, info, segsize);
            }
            0o40 => {
                cx.t.s("conn-confirm ");
                src_dst(cx, src, dst);
                if nsplen < 10 {
                    return Err(Stop::Invalid);
                }
                let services = u8_(n, 5)?;
                let info = u8_(n, 6)?;
                let segsize = le16(n, 7)?;
                let optlen = u8_(n, 9)?;
                services_info(cx, services, info, segsize);
                if optlen != 0 {
                    cx.t.s("optlen ").u(optlen).ch(b' ');
                }
            }
            0o60 => {
                cx.t.s("disconn-initiate ");
                src_dst(cx, src, dst);
                if nsplen < 8 {
                    return Err(Stop::Invalid);
                }
                let r = le16(n, 5)?;
                let optlen = u8_(n, 7)?;
                reason(cx, r);
                if optlen != 0 {
                    cx.t.s("optlen ").u(optlen).ch(b' ');
                }
            }
            0o100 => {
                cx.t.s("disconn-confirm ");
                src_dst(cx, src, dst);
                let r = le16(n, 5)?;
                reason(cx, r);
            }
            _ => hex_flags(cx, "reserved-ctltype? ", flags, src, dst),
        },
        _ => hex_flags(cx, "reserved-type? ", flags, src, dst),
    }
    Ok(())
}
