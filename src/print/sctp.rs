//! SCTP (tcpdump's print-sctp.c): addresses and ports (always: the IP printer leaves them to
//! SCTP), then each chunk; with -vv one chunk a line and DATA payloads in hex.

use super::l4::Net;
use super::{be16, be32, hex, u8_at, Ctx};

fn chunk_name(id: u8) -> Option<&'static str> {
    Some(match id {
        0x00 => "DATA",
        0x01 => "INIT",
        0x02 => "INIT ACK",
        0x03 => "SACK",
        0x04 => "HB REQ",
        0x05 => "HB ACK",
        0x06 => "ABORT",
        0x07 => "SHUTDOWN",
        0x08 => "SHUTDOWN ACK",
        0x09 => "OP ERR",
        0x0a => "COOKIE ECHO",
        0x0b => "COOKIE ACK",
        0x0c => "ECN ECHO",
        0x0d => "ECN CWR",
        0x0e => "SHUTDOWN COMPLETE",
        0xc0 => "FOR CUM TSN",
        0xc1 => "REL CTRL",
        0xc2 => "REL CTRL ACK",
        _ => return None,
    })
}

fn ppid_name(p: u32) -> Option<&'static str> {
    Some(match p {
        1 => "ISDN Q.921",
        2 => "M2UA",
        3 => "M3UA",
        4 => "SUA",
        5 => "M2PA",
        6 => "V5.2",
        7 => "H.248",
        8 => "BICC",
        9 => "TALI",
        10 => "DUA",
        11 => "ASAP",
        12 => "ENRP",
        13 => "H.323",
        14 => "Q.IPC",
        15 => "SIMCO",
        16 => "DDPSC",
        17 => "DDPSSC",
        18 => "S1AP",
        19 => "RUA",
        20 => "HNBAP",
        21 => "ForCES HP",
        22 => "ForCES MP",
        23 => "ForCES LP",
        24 => "SBc-AP",
        25 => "NBAP",
        27 => "X2AP",
        _ => return None,
    })
}

fn forces_channel(port: u16) -> Option<&'static str> {
    match port {
        6704 => Some("ForCES HP"),
        6705 => Some("ForCES MP"),
        6706 => Some("ForCES LP"),
        _ => None,
    }
}

pub fn print(cx: &mut Ctx, net: &Net, p: &[u8], len: u32) {
    if len < 12 {
        cx.t.s("truncated-sctp - ").u(12 - len).s(" bytes missing!");
        return;
    }
    if p.len() < 12 {
        cx.trunc("sctp");
        return;
    }
    let (sport, dport) = (be16(p, 0).unwrap_or(0), be16(p, 2).unwrap_or(0));
    net.addr(cx, net.src());
    cx.t.ch(b'.').u(sport).s(" > ");
    net.addr(cx, net.dst());
    cx.t.ch(b'.').u(dport).s(": sctp");
    let mut forces = false;
    for port in [sport, dport] {
        if let Some(n) = forces_channel(port) {
            cx.t.ch(b'[').s(n).ch(b']');
            forces = true;
        }
    }
    if chunks(cx, p, len, forces).is_none() {
        cx.trunc("sctp");
    }
}

/// The chunks; None where the capture ends (the caller adds the marker).
fn chunks(cx: &mut Ctx, p: &[u8], len: u32, mut forces: bool) -> Option<()> {
    let mut at = 12usize;
    let mut remaining = len - 12;
    let mut sep = if cx.o.verbose >= 2 { "\n\t" } else { " (" };
    let mut count = 0u32;
    while remaining != 0 {
        count += 1;
        if remaining < 4 {
            cx.t.s(sep)
                .u(count)
                .s(") [chunk descriptor cut off at end of packet]");
            break;
        }
        let id = u8_at(p, at)?;
        let flags = u8_at(p, at + 1)?;
        let clen = be16(p, at + 2)?;
        if clen < 4 {
            cx.t.s(sep)
                .u(count)
                .s(") [Bad chunk length ")
                .u(clen)
                .s(", < size of chunk descriptor]");
            break;
        }
        let align = (4 - clen % 4) % 4;
        if remaining < u32::from(align) {
            cx.t.s(sep)
                .u(count)
                .s(") [Bad chunk length ")
                .u(clen)
                .s(", > remaining data in packet]");
            break;
        }
        let chunk = p.get(at..at + usize::from(clen))?;
        let body = &chunk[4..];
        cx.t.s(sep).u(count).s(") [");
        match chunk_name(id) {
            Some(n) => cx.t.s(n),
            None => cx.t.s("Unknown chunk type: 0x").hex(u64::from(id), 1),
        };
        cx.t.s("] ");
        let bogus = |cx: &mut Ctx| {
            cx.t.s("bogus chunk length ").u(clen).ch(b']');
        };
        match id {
            0x00 => {
                if flags & 4 != 0 {
                    cx.t.s("(U)");
                }
                if flags & 2 != 0 {
                    cx.t.s("(B)");
                }
                if flags & 1 != 0 {
                    cx.t.s("(E)");
                }
                if flags & 7 != 0 {
                    cx.t.ch(b' ');
                }
                if body.len() < 12 {
                    bogus(cx);
                    return Some(());
                }
                let ppid = be32(body, 8)?;
                cx.t.s("[TSN: ")
                    .u(be32(body, 0)?)
                    .s("] [SID: ")
                    .u(be16(body, 4)?)
                    .s("] [SSEQ ")
                    .u(be16(body, 6)?)
                    .s("] [PPID ");
                match ppid_name(ppid) {
                    Some(n) => cx.t.s(n),
                    None => cx.t.s("0x").hex(u64::from(ppid), 1),
                };
                cx.t.s("] ");
                let payload = &body[12..];
                if payload.is_empty() {
                    bogus(cx);
                    return Some(());
                }
                forces |= (21..=23).contains(&ppid);
                if forces {
                    // tcpdump's forces_print; only its check for the 24-byte ForCES header
                    // is done here (the messages are not decoded).
                    if p.len() - (at + 16) < 24 {
                        cx.trunc("forces");
                    }
                }
                // ForCES and M3UA payloads have printers of their own in tcpdump; they
                // are not decoded here.
                if !forces && cx.o.verbose >= 2 && ppid != 3 {
                    cx.t.s("[Payload");
                    if cx.o.hex == 0 && cx.o.ascii == 0 {
                        cx.t.ch(b':');
                        hex::hex_ascii(cx.t, "\n\t", payload);
                    }
                    cx.t.ch(b']');
                }
            }
            0x01 | 0x02 => {
                if body.len() < 16 {
                    bogus(cx);
                    return Some(());
                }
                cx.t.s("[init tag: ")
                    .u(be32(body, 0)?)
                    .s("] [rwnd: ")
                    .u(be32(body, 4)?)
                    .s("] [OS: ")
                    .u(be16(body, 8)?)
                    .s("] [MIS: ")
                    .u(be16(body, 10)?)
                    .s("] [init TSN: ")
                    .u(be32(body, 12)?)
                    .s("] ");
            }
            0x03 => {
                if body.len() < 12 {
                    bogus(cx);
                    return Some(());
                }
                let cum = be32(body, 0)?;
                let ngaps = be16(body, 8)?;
                let ndups = be16(body, 10)?;
                cx.t.s("[cum ack ")
                    .u(cum)
                    .s("] [a_rwnd ")
                    .u(be32(body, 4)?)
                    .s("] [#gap acks ")
                    .u(ngaps)
                    .s("] [#dup tsns ")
                    .u(ndups)
                    .s("] ");
                let mut b = 12;
                let mut n = 0u32;
                while b < body.len() && n < u32::from(ngaps) {
                    if body.len() - b < 4 {
                        bogus(cx);
                        return Some(());
                    }
                    n += 1;
                    cx.t.s("\n\t\t[gap ack block #")
                        .u(n)
                        .s(": start = ")
                        .u(cum.wrapping_add(u32::from(be16(body, b)?)))
                        .s(", end = ")
                        .u(cum.wrapping_add(u32::from(be16(body, b + 2)?)))
                        .s("] ");
                    b += 4;
                }
                let mut n = 0u32;
                while b < body.len() && n < u32::from(ndups) {
                    if body.len() - b < 4 {
                        bogus(cx);
                        return Some(());
                    }
                    n += 1;
                    cx.t.s("\n\t\t[dup TSN #")
                        .u(n)
                        .s(": ")
                        .u(be32(body, b)?)
                        .s("] ");
                    b += 4;
                }
            }
            _ => {}
        }
        at += usize::from(clen);
        remaining = remaining.saturating_sub(u32::from(clen));
        if cx.o.verbose < 2 {
            sep = ", (";
        }
        if align != 0 {
            p.get(at..at + usize::from(align))?;
            at += usize::from(align);
            remaining = remaining.saturating_sub(u32::from(align));
        }
    }
    Some(())
}
