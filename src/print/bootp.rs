//! BOOTP and DHCPv4 (tcpdump's print-bootp.c): the operation, the client's hardware address
//! and the length; with -v the header fields and the RFC 1048 options.

use super::{be16, be32, hex, u8_at, Ctx};

const REQUEST: u8 = 1;

/// Ends printing with tcpdump's `[|bootp]` when a read runs past the capture.
type R = Option<()>;

pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    if body(cx, p, len).is_none() {
        cx.trunc_jump("bootp");
    }
}

fn body(cx: &mut Ctx, p: &[u8], len: u32) -> R {
    let op = u8_at(p, 0)?;
    cx.t.s("BOOTP/DHCP, ");
    match op {
        1 => cx.t.s("Request"),
        2 => cx.t.s("Reply"),
        _ => cx.t.s("unknown (0x").byte(op).ch(b')'),
    };
    let htype = u8_at(p, 1)?;
    let hlen = u8_at(p, 2)?;
    let ether = htype == 1 && hlen == 6;
    if ether && op == REQUEST {
        let mac = p.get(28..34)?;
        cx.t.s(" from ");
        mac_name(cx, mac);
    }
    cx.t.s(", length ").u(len);
    if cx.o.verbose == 0 {
        return Some(());
    }
    be16(p, 8)?;
    if htype != 1 {
        cx.t.s(", htype ").u(htype);
    }
    if !ether {
        cx.t.s(", hlen ").u(hlen);
    }
    let hops = u8_at(p, 3)?;
    if hops != 0 {
        cx.t.s(", hops ").u(hops);
    }
    let xid = be32(p, 4)?;
    if xid != 0 {
        cx.t.s(", xid 0x").hex(u64::from(xid), 1);
    }
    let secs = be16(p, 8)?;
    if secs != 0 {
        cx.t.s(", secs ").u(secs);
    }
    let flags = be16(p, 10)?;
    cx.t.s(", Flags [")
        .s(if flags & 0x8000 != 0 {
            "Broadcast"
        } else {
            "none"
        })
        .ch(b']');
    if cx.o.verbose > 1 {
        cx.t.s(" (0x").hex(u64::from(flags), 4).ch(b')');
    }
    for (at, label) in [
        (12, "\n\t  Client-IP "),
        (16, "\n\t  Your-IP "),
        (20, "\n\t  Server-IP "),
        (24, "\n\t  Gateway-IP "),
    ] {
        let a = p.get(at..at + 4)?;
        if a != [0, 0, 0, 0] {
            cx.t.s(label).ipv4(a);
        }
    }
    if ether {
        let mac = p.get(28..34)?;
        cx.t.s("\n\t  Client-Ethernet-Address ");
        mac_name(cx, mac);
    }
    for (at, size, label) in [(44, 64, "\n\t  sname \""), (108, 128, "\n\t  file \"")] {
        if u8_at(p, at)? != 0 {
            cx.t.s(label);
            let whole = printztn(cx, p, at, size);
            cx.t.ch(b'"');
            if !whole {
                cx.trunc("bootp");
                return Some(());
            }
        }
    }
    let vend = p.get(236..240)?;
    if vend == [99, 130, 83, 99] {
        rfc1048(cx, p, 236)
    } else if vend == b"CMU\0" {
        cmu(cx, p, 236)
    } else {
        let v = be32(p, 236)?;
        if v != 0 {
            cx.t.s("\n\t  Vendor-#0x").hex(u64::from(v), 1);
        }
        Some(())
    }
}

/// tcpdump's nd_printztn: the NUL-terminated string in `n` bytes from `at`; false if it
/// has no NUL there or runs past the capture.
fn printztn(cx: &mut Ctx, p: &[u8], at: usize, n: usize) -> bool {
    for k in 0..n {
        match p.get(at + k) {
            None => return false,
            Some(0) => return true,
            Some(&c) => hex::print_char(cx.t, c),
        }
    }
    false
}

/// tcpdump's etheraddr_string: the address, and without -n its maker (Text::mac does both).
fn mac_name(cx: &mut Ctx, mac: &[u8]) {
    cx.t.mac(mac);
}

/// tcpdump's tag2str: the option's name and the letter saying how to print its value
/// (i address, p address pairs, l/L 32-bit unsigned/signed, s 16-bit, b bytes, a text,
/// B booleans, $ special).
fn tag_info(tag: u8) -> Option<(u8, &'static str)> {
    Some(match tag {
        0 => (b' ', "PAD"),
        1 => (b'i', "Subnet-Mask"),
        2 => (b'L', "Time-Zone"),
        3 => (b'i', "Default-Gateway"),
        4 => (b'i', "Time-Server"),
        5 => (b'i', "IEN-Name-Server"),
        6 => (b'i', "Domain-Name-Server"),
        7 => (b'i', "LOG"),
        8 => (b'i', "CS"),
        9 => (b'i', "LPR-Server"),
        10 => (b'i', "IM"),
        11 => (b'i', "RL"),
        12 => (b'a', "Hostname"),
        13 => (b's', "BS"),
        255 => (b' ', "END"),
        14 => (b'a', "DP"),
        15 => (b'a', "Domain-Name"),
        16 => (b'i', "SS"),
        17 => (b'a', "RP"),
        18 => (b'a', "EP"),
        19 => (b'B', "IPF"),
        20 => (b'B', "SRT"),
        21 => (b'p', "PF"),
        22 => (b's', "RSZ"),
        23 => (b'b', "TTL"),
        24 => (b'l', "MTU-Timeout"),
        25 => (b's', "MTU-Table"),
        26 => (b's', "MTU"),
        27 => (b'B', "LSN"),
        28 => (b'i', "BR"),
        29 => (b'B', "MD"),
        30 => (b'B', "MS"),
        31 => (b'B', "Router-Discovery"),
        32 => (b'i', "RSA"),
        33 => (b'p', "Static-Route"),
        34 => (b'B', "UT"),
        35 => (b'l', "AT"),
        36 => (b'B', "IE"),
        37 => (b'b', "TT"),
        38 => (b'l', "KI"),
        39 => (b'B', "KG"),
        40 => (b'a', "YD"),
        41 => (b'i', "YS"),
        42 => (b'i', "NTP"),
        43 => (b'b', "Vendor-Option"),
        44 => (b'i', "Netbios-Name-Server"),
        45 => (b'i', "WDD"),
        46 => (b'$', "Netbios-Node"),
        47 => (b'a', "Netbios-Scope"),
        48 => (b'i', "XFS"),
        49 => (b'i', "XDM"),
        64 => (b's', "N+D"),
        65 => (b'i', "N+S"),
        68 => (b'i', "MH"),
        69 => (b'i', "SMTP"),
        70 => (b'i', "POP3"),
        71 => (b'i', "NNTP"),
        72 => (b'i', "WWW"),
        73 => (b'i', "FG"),
        74 => (b'i', "IRC"),
        75 => (b'i', "STS"),
        76 => (b'i', "STDA"),
        50 => (b'i', "Requested-IP"),
        51 => (b'l', "Lease-Time"),
        52 => (b'$', "OO"),
        66 => (b'a', "TFTP"),
        67 => (b'a', "BF"),
        53 => (b' ', "DHCP-Message"),
        54 => (b'i', "Server-ID"),
        55 => (b'b', "Parameter-Request"),
        56 => (b'a', "MSG"),
        57 => (b's', "MSZ"),
        58 => (b'l', "RN"),
        59 => (b'l', "RB"),
        60 => (b'a', "Vendor-Class"),
        61 => (b'$', "Client-ID"),
        98 => (b'a', "UAP"),
        116 => (b'B', "NOAUTO"),
        78 => (b'b', "SLP-DA"),
        79 => (b'b', "SLP-SCOPE"),
        117 => (b's', "NSSEARCH"),
        77 => (b'$', "User-Class"),
        118 => (b'i', "SUBNET"),
        121 => (b'$', "Classless-Static-Route"),
        249 => (b'$', "Classless-Static-Route-Microsoft"),
        150 => (b'i', "TFTP-Server-Address"),
        80 => (b'a', "SLP-NA"),
        81 => (b'$', "FQDN"),
        82 => (b'$', "Agent-Information"),
        83 => (b'b', "ARMT"),
        88 => (b'a', "TZSTR"),
        89 => (b'b', "FQDNS"),
        90 => (b'b', "AUTH"),
        91 => (b'L', "Last-Transaction-Time"),
        92 => (b'i', "Associated-IP"),
        93 => (b's', "ARCH"),
        94 => (b'b', "NDI"),
        97 => (b'b', "GUID"),
        95 => (b'a', "LDAP"),
        100 => (b'a', "POSIX-TZ"),
        101 => (b'a', "TZ-Name"),
        112 => (b'i', "NI"),
        113 => (b'a', "NITAG"),
        114 => (b'a', "URL"),
        161 => (b'a', "MUD-URL"),
        _ => return None,
    })
}

fn dhcp_msg_name(v: u8) -> Option<&'static str> {
    Some(match v {
        1 => "Discover",
        2 => "Offer",
        3 => "Request",
        4 => "Decline",
        5 => "ACK",
        6 => "NACK",
        7 => "Release",
        8 => "Inform",
        10 => "LeaseQuery",
        11 => "LeaseUnassigned",
        12 => "LeaseUnknown",
        13 => "LeaseActive",
        _ => return None,
    })
}

/// tcpdump's nd_printn over bytes known to be captured.
fn text(cx: &mut Ctx, s: &[u8]) {
    for &c in s {
        hex::print_char(cx.t, c);
    }
}

fn rfc1048(cx: &mut Ctx, p: &[u8], at: usize) -> R {
    cx.t.s("\n\t  Vendor-rfc1048 Extensions");
    cx.t.s("\n\t    Magic Cookie 0x")
        .hex(u64::from(be32(p, at)?), 8);
    let mut bp = at + 4;
    let v = cx.o.verbose;
    while let Some(tag) = u8_at(p, bp) {
        bp += 1;
        if tag == 0 && v < 3 {
            continue;
        }
        if tag == 255 && v < 3 {
            return Some(());
        }
        let (mut c, name) = tag_info(tag).unwrap_or((b'?', "Unknown"));
        let len = if tag == 0 || tag == 255 {
            0
        } else {
            let l = usize::from(u8_at(p, bp)?);
            bp += 1;
            l
        };
        cx.t.s("\n\t    ")
            .s(name)
            .s(" (")
            .u(tag)
            .s("), length ")
            .u(len as u64);
        if len > 0 {
            cx.t.s(": ");
        }
        if tag == 0 && v > 2 {
            let mut n = 1u32;
            while u8_at(p, bp) == Some(0) {
                bp += 1;
                n += 1;
            }
            if n > 1 {
                cx.t.s(", occurs ").u(n);
            }
        }
        let data = p.get(bp..bp + len)?;
        if tag == 53 && len == 1 {
            match dhcp_msg_name(data[0]) {
                Some(n) => cx.t.s(n),
                None => cx.t.s("Unknown (").u(data[0]).ch(b')'),
            };
            bp += 1;
            continue;
        }
        if tag == 55 {
            for (idx, &inner) in data.iter().enumerate() {
                let name = tag_info(inner).map_or("Unknown", |t| t.1);
                cx.t.s(if idx % 4 == 0 { "\n\t      " } else { ", " });
                cx.t.s(name).s(" (").u(inner).ch(b')');
            }
            bp += len;
            continue;
        }
        if c == b'?' {
            c = if len & 1 != 0 {
                b'b'
            } else if len & 2 != 0 {
                b's'
            } else {
                b'l'
            };
        }
        let mut d = data;
        match c {
            b'a' => {
                cx.t.ch(b'"');
                text(cx, d);
                cx.t.ch(b'"');
                d = &[];
            }
            b'i' | b'l' | b'L' => {
                let mut first = true;
                while d.len() >= 4 {
                    if !first {
                        cx.t.ch(b',');
                    }
                    let w = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
                    match c {
                        b'i' => {
                            cx.t.ipv4(&d[..4]);
                        }
                        b'L' => {
                            let w = w as i32;
                            if w < 0 {
                                cx.t.ch(b'-');
                            }
                            cx.t.u(w.unsigned_abs());
                        }
                        _ => {
                            cx.t.u(w);
                        }
                    }
                    d = &d[4..];
                    first = false;
                }
            }
            b'p' => {
                let mut first = true;
                while d.len() >= 8 {
                    if !first {
                        cx.t.ch(b',');
                    }
                    cx.t.ch(b'(').ipv4(&d[..4]).ch(b':').ipv4(&d[4..8]).ch(b')');
                    d = &d[8..];
                    first = false;
                }
            }
            b's' => {
                let mut first = true;
                while d.len() >= 2 {
                    if !first {
                        cx.t.ch(b',');
                    }
                    cx.t.u(u16::from_be_bytes([d[0], d[1]]));
                    d = &d[2..];
                    first = false;
                }
            }
            b'B' => {
                for (k, &b) in d.iter().enumerate() {
                    if k > 0 {
                        cx.t.ch(b',');
                    }
                    match b {
                        0 => cx.t.ch(b'N'),
                        1 => cx.t.ch(b'Y'),
                        _ => cx.t.u(b).ch(b'?'),
                    };
                }
                d = &[];
            }
            b'$' => {
                d = special(cx, tag, d)?;
            }
            _ => {
                for (k, &b) in d.iter().enumerate() {
                    if k > 0 {
                        cx.t.ch(b'.');
                    }
                    cx.t.u(b);
                }
                d = &[];
            }
        }
        if !d.is_empty() {
            cx.t.s("\n\t  trailing data length ").u(d.len() as u64);
        }
        bp += len;
    }
    Some(())
}

/// The options tcpdump prints its own way; returns what is left over.
fn special<'a>(cx: &mut Ctx, tag: u8, d: &'a [u8]) -> Option<&'a [u8]> {
    match tag {
        46 | 52 => {
            let Some((&v, rest)) = d.split_first() else {
                cx.t.s("[ERROR: length < 1 bytes]");
                return Some(d);
            };
            let name = if tag == 46 {
                match v {
                    1 => Some("b-node"),
                    2 => Some("p-node"),
                    4 => Some("m-node"),
                    8 => Some("h-node"),
                    _ => None,
                }
            } else {
                match v {
                    1 => Some("file"),
                    2 => Some("sname"),
                    3 => Some("file+sname"),
                    _ => None,
                }
            };
            match name {
                Some(n) => cx.t.s(n),
                None => cx.t.ch(b'#').u(v),
            };
            Some(rest)
        }
        81 => {
            if d.len() < 3 {
                cx.t.s("[ERROR: length < 3 bytes]");
                return Some(&[]);
            }
            if d[0] & 0xf0 != 0 {
                cx.t.s("[ERROR: MBZ nibble 0x")
                    .hex(u64::from(d[0] >> 4), 1)
                    .s(" != 0] ");
            }
            if d[0] & 0x0f != 0 {
                cx.t.ch(b'[');
                for (bit, ch) in [(1, b'S'), (2, b'O'), (4, b'E'), (8, b'N')] {
                    if d[0] & bit != 0 {
                        cx.t.ch(ch);
                    }
                }
                cx.t.s("] ");
            }
            if d[1] != 0 || d[2] != 0 {
                cx.t.u(d[1]).ch(b'/').u(d[2]).ch(b' ');
            }
            cx.t.ch(b'"');
            text(cx, &d[3..]);
            cx.t.ch(b'"');
            Some(&[])
        }
        61 => {
            let Some((&ty, rest)) = d.split_first() else {
                cx.t.s("[ERROR: length < 1 bytes]");
                return Some(d);
            };
            if ty == 0 {
                cx.t.ch(b'"');
                text(cx, rest);
                cx.t.ch(b'"');
            } else {
                match ty {
                    0x1 => cx.t.s("ether"),
                    0x6 => cx.t.s("ieee802"),
                    0x7 => cx.t.s("arcnet"),
                    0xf => cx.t.s("frelay"),
                    0x17 => cx.t.s("strip"),
                    0x18 => cx.t.s("ieee1394"),
                    _ => cx.t.s("hardware-type ").u(ty).ch(b','),
                };
                cx.t.ch(b' ').mac(rest);
            }
            Some(&[])
        }
        82 => {
            let mut d = d;
            while d.len() >= 2 {
                let (sub, sublen) = (d[0], usize::from(d[1]));
                d = &d[2..];
                let name = match sub {
                    1 => "Circuit-ID",
                    2 => "Remote-ID",
                    6 => "Subscriber-ID",
                    _ => "Unknown",
                };
                cx.t.s("\n\t      ").s(name).s(" SubOption ").u(sub);
                cx.t.s(", length ").u(sublen as u64).s(": ");
                if sublen > d.len() {
                    cx.t.truncate(cx.t.len() - 2);
                    cx.t.s(": length goes past end of option");
                    return Some(&[]);
                }
                match sub {
                    1 | 2 | 6 => text(cx, &d[..sublen]),
                    _ => hex::hex(cx.t, "\n\t\t", &d[..sublen]),
                }
                d = &d[sublen..];
            }
            Some(d)
        }
        121 | 249 => {
            if d.len() < 5 {
                cx.t.s("[ERROR: length < 5 bytes]");
                return Some(&[]);
            }
            let mut d = d;
            let mut first = true;
            while let Some((&width, rest)) = d.split_first() {
                if !first {
                    cx.t.ch(b',');
                }
                d = rest;
                if width > 32 {
                    cx.t.s("[ERROR: Mask width (").u(width).s(") > 32]");
                    return Some(&[]);
                }
                let sig = usize::from(width).div_ceil(8);
                if d.len() < sig + 4 {
                    cx.t.s("[ERROR: Remaining length (").u(d.len() as u64);
                    cx.t.s(") < ").u((sig + 4) as u64).s(" bytes]");
                    return Some(&[]);
                }
                cx.t.ch(b'(');
                if width == 0 {
                    cx.t.s("default");
                } else {
                    for (k, &b) in d[..sig].iter().enumerate() {
                        if k > 0 {
                            cx.t.ch(b'.');
                        }
                        cx.t.u(b);
                    }
                    for _ in sig..4 {
                        cx.t.s(".0");
                    }
                    cx.t.ch(b'/').u(width);
                }
                cx.t.ch(b':').ipv4(&d[sig..sig + 4]).ch(b')');
                d = &d[sig + 4..];
                first = false;
            }
            Some(&[])
        }
        77 => {
            if d.len() < 2 {
                cx.t.s("[ERROR: length < 2 bytes]");
                return Some(&[]);
            }
            let mut d = d;
            let mut n = 1u32;
            while let Some((&sublen, rest)) = d.split_first() {
                d = rest;
                cx.t.s("\n\t      instance#").u(n).s(": ");
                let sublen = usize::from(sublen);
                if sublen == 0 {
                    cx.t.s("[ERROR: suboption length must be non-zero]");
                    return Some(&[]);
                }
                if d.len() < sublen {
                    cx.t.s("[ERROR: invalid option]");
                    return Some(&[]);
                }
                cx.t.ch(b'"');
                text(cx, &d[..sublen]);
                cx.t.s("\", length ").u(sublen as u64);
                n += 1;
                d = &d[sublen..];
            }
            Some(&[])
        }
        _ => {
            cx.t.s("[unknown special tag ")
                .u(tag)
                .s(", size ")
                .u(d.len() as u64)
                .ch(b']');
            Some(&[])
        }
    }
}

/// tcpdump's cmu_print: the CMU vendor area's addresses.
fn cmu(cx: &mut Ctx, p: &[u8], at: usize) -> R {
    cx.t.s(" vend-cmu");
    be32(p, at + 4)?;
    let flags = p[at + 4];
    if flags & !1 != 0 {
        cx.t.s(" F:0x").hex(u64::from(flags), 1);
    }
    let sm = if flags & 1 != 0 { "SM" } else { "SM*" };
    for (off, name) in [
        (12, "DG"),
        (8, sm),
        (16, "NS1"),
        (20, "NS2"),
        (24, "IEN1"),
        (28, "IEN2"),
        (32, "TS1"),
        (36, "TS2"),
    ] {
        let a = p.get(at + off..at + off + 4)?;
        if a != [0, 0, 0, 0] {
            cx.t.ch(b' ').s(name).ch(b':').ipv4(a);
        }
    }
    Some(())
}
