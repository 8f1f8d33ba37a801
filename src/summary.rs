//! One line per packet, in the spirit of `tcpdump -q -n`:
//!
//! ```text
//! 22:13:20.123456 IP 10.0.0.1.80 > 10.0.0.2.1024: tcp 0, length 54
//! ```
//!
//! local time (nine fractional digits when the file has nanosecond timestamps), a short
//! protocol summary, and the packet's length on the wire. Deliberately small: a real
//! protocol printer is a later project.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::reader::{Packet, Timestamp};

pub struct Printer<W: Write> {
    out: W,
    line: String,
    /// The last second converted to local time, and its "HH:MM:SS".
    clock: Option<(u64, String)>,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W) -> Printer<W> {
        Printer {
            out,
            line: String::with_capacity(128),
            clock: None,
        }
    }

    pub fn packet(&mut self, p: &Packet) -> io::Result<()> {
        self.line.clear();
        let hms = match &self.clock {
            Some((s, hms)) if *s == p.ts.secs => hms.clone(),
            _ => {
                let hms = local_hms(p.ts.secs);
                self.clock = Some((p.ts.secs, hms.clone()));
                hms
            }
        };
        self.line.push_str(&hms);
        push_fraction(&mut self.line, &p.ts);
        self.line.push(' ');
        describe(&mut self.line, p.linktype, p.data);
        let _ = writeln!(self.line, ", length {}", p.origlen);
        self.out.write_all(self.line.as_bytes())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn push_fraction(s: &mut String, ts: &Timestamp) {
    if ts.nano {
        let _ = write!(s, ".{:09}", ts.nanos);
    } else {
        let _ = write!(s, ".{:06}", ts.nanos / 1000);
    }
}

/// "HH:MM:SS" of a Unix time in the local time zone.
fn local_hms(secs: u64) -> String {
    let t = libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX);
    // SAFETY: localtime_r only writes the tm we give it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok {
        format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
    } else {
        let d = secs % 86_400;
        format!("{:02}:{:02}:{:02}", d / 3600, d / 60 % 60, d % 60)
    }
}

/// The protocol part of the line, by link type.
pub fn describe(s: &mut String, linktype: u32, data: &[u8]) {
    match linktype {
        1 => ethernet(s, data),
        113 => {
            if data.len() < 16 {
                s.push_str("[|sll]");
            } else {
                ethertype(s, be16(data, 14), &data[16..]);
            }
        }
        276 => {
            if data.len() < 20 {
                s.push_str("[|sll2]");
            } else {
                ethertype(s, be16(data, 0), &data[20..]);
            }
        }
        101 | 12 | 14 => match data.first().map(|b| b >> 4) {
            Some(4) => ipv4(s, data),
            Some(6) => ipv6(s, data),
            Some(v) => {
                let _ = write!(s, "IP version {v}");
            }
            None => s.push_str("[|ip]"),
        },
        other => {
            let _ = write!(s, "link-type {other}");
        }
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn ethernet(s: &mut String, data: &[u8]) {
    if data.len() < 14 {
        s.push_str("[|ether]");
        return;
    }
    let mut ty = be16(data, 12);
    let mut rest = &data[14..];
    // VLAN tags: tcpdump without -e shows only what is inside.
    while matches!(ty, 0x8100 | 0x88a8 | 0x9100) {
        if rest.len() < 4 {
            s.push_str("[|vlan]");
            return;
        }
        ty = be16(rest, 2);
        rest = &rest[4..];
    }
    if ty < 0x0600 {
        s.push_str("802.3");
        return;
    }
    ethertype(s, ty, rest);
}

fn ethertype(s: &mut String, ty: u16, rest: &[u8]) {
    match ty {
        0x0800 => ipv4(s, rest),
        0x86dd => ipv6(s, rest),
        0x0806 => arp(s, rest),
        _ => {
            let _ = write!(s, "ethertype 0x{ty:04x}");
        }
    }
}

fn ipv4(s: &mut String, d: &[u8]) {
    if d.len() < 20 || (d[0] & 0x0f) < 5 {
        s.push_str("IP [|ip]");
        return;
    }
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let total = usize::from(be16(d, 2));
    let frag_off = be16(d, 6) & 0x1fff;
    let proto = d[9];
    let src = Ipv4Addr::new(d[12], d[13], d[14], d[15]);
    let dst = Ipv4Addr::new(d[16], d[17], d[18], d[19]);
    let payload_len = total.saturating_sub(ihl);
    let payload = d.get(ihl..).unwrap_or(&[]);
    if frag_off != 0 {
        let _ = write!(s, "IP {src} > {dst}: ip-proto-{proto}");
        return;
    }
    transport(s, "IP", &src, &dst, proto, payload, payload_len);
}

fn ipv6(s: &mut String, d: &[u8]) {
    if d.len() < 40 {
        s.push_str("IP6 [|ip6]");
        return;
    }
    let mut payload_len = usize::from(be16(d, 4));
    let mut next = d[6];
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&d[8..24]).expect("16 bytes"));
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&d[24..40]).expect("16 bytes"));
    let mut rest = &d[40..];
    // Extension headers before the transport header.
    loop {
        let len = match next {
            0 | 43 | 60 => rest.get(1).map(|l| (usize::from(*l) + 1) * 8),
            51 => rest.get(1).map(|l| (usize::from(*l) + 2) * 4),
            44 => {
                if rest.len() >= 4 && be16(rest, 2) & 0xfff8 != 0 {
                    let _ = write!(s, "IP6 {src} > {dst}: frag");
                    return;
                }
                Some(8)
            }
            _ => break,
        };
        match len {
            Some(len) if rest.len() >= len => {
                next = rest[0];
                rest = &rest[len..];
                payload_len = payload_len.saturating_sub(len);
            }
            _ => {
                let _ = write!(s, "IP6 {src} > {dst}: [|ip6]");
                return;
            }
        }
    }
    transport(s, "IP6", &src, &dst, next, rest, payload_len);
}

/// `IP src.sport > dst.dport: tcp N` and friends. `len` is the transport length the IP header
/// claims, `p` the captured transport bytes.
fn transport(
    s: &mut String,
    ip: &str,
    src: &dyn std::fmt::Display,
    dst: &dyn std::fmt::Display,
    proto: u8,
    p: &[u8],
    len: usize,
) {
    match proto {
        6 | 17 | 132 => {
            let name = match proto {
                6 => "tcp",
                17 => "udp",
                _ => "sctp",
            };
            if p.len() < 4 {
                let _ = write!(s, "{ip} {src} > {dst}: [|{name}]");
                return;
            }
            let (sp, dp) = (be16(p, 0), be16(p, 2));
            let _ = write!(s, "{ip} {src}.{sp} > {dst}.{dp}: {name}");
            match proto {
                6 => match p.get(12) {
                    Some(off) => {
                        let hl = usize::from(off >> 4) * 4;
                        let _ = write!(s, " {}", len.saturating_sub(hl));
                    }
                    None => s.push_str(" [|tcp]"),
                },
                17 => match p.get(4..6) {
                    Some(l) => {
                        let _ = write!(s, " {}", usize::from(be16(l, 0)).saturating_sub(8));
                    }
                    None => s.push_str(" [|udp]"),
                },
                _ => {}
            }
        }
        1 | 58 => {
            let icmp = if proto == 1 { "ICMP" } else { "ICMP6" };
            let _ = write!(s, "{ip} {src} > {dst}: {icmp}");
            let Some(&ty) = p.first() else {
                s.push_str(" [|icmp]");
                return;
            };
            let name = match (proto, ty) {
                (1, 0) | (58, 129) => "echo reply",
                (1, 8) | (58, 128) => "echo request",
                (1, 3) | (58, 1) => "unreachable",
                (1, 11) | (58, 3) => "time exceeded",
                (58, 133) => "router solicitation",
                (58, 134) => "router advertisement",
                (58, 135) => "neighbor solicitation",
                (58, 136) => "neighbor advertisement",
                _ => "",
            };
            if name.is_empty() {
                let _ = write!(s, " type {ty}");
            } else {
                let _ = write!(s, " {name}");
            }
        }
        _ => {
            let _ = write!(s, "{ip} {src} > {dst}: ip-proto-{proto} {len}");
        }
    }
}

fn arp(s: &mut String, d: &[u8]) {
    // Ethernet/IPv4 ARP only; anything else just says ARP.
    if d.len() < 28 || be16(d, 0) != 1 || be16(d, 2) != 0x0800 || d[4] != 6 || d[5] != 4 {
        s.push_str("ARP");
        return;
    }
    let spa = Ipv4Addr::new(d[14], d[15], d[16], d[17]);
    let tpa = Ipv4Addr::new(d[24], d[25], d[26], d[27]);
    match be16(d, 6) {
        1 => {
            let _ = write!(s, "ARP, Request who-has {tpa} tell {spa}");
        }
        2 => {
            let sha = &d[8..14];
            let _ = write!(
                s,
                "ARP, Reply {spa} is-at {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                sha[0], sha[1], sha[2], sha[3], sha[4], sha[5]
            );
        }
        op => {
            let _ = write!(s, "ARP, op {op}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn eth(ty: &str, payload: &[u8]) -> Vec<u8> {
        let mut v = hex(&format!("ffffffffffff 020000000001 {ty}"));
        v.extend_from_slice(payload);
        v
    }

    fn line(linktype: u32, data: &[u8]) -> String {
        let mut s = String::new();
        describe(&mut s, linktype, data);
        s
    }

    const TCP4: &str = "45000028 00010000 40060000 0a000001 0a000002 \
                        00500400 00000000 00000000 50022000 00000000";

    #[test]
    fn ipv4_tcp_udp() {
        assert_eq!(
            line(1, &eth("0800", &hex(TCP4))),
            "IP 10.0.0.1.80 > 10.0.0.2.1024: tcp 0"
        );
        let udp =
            hex("45000024 00010000 40110000 0a000001 0a000002 00350400 00100000 6162636465666768");
        assert_eq!(
            line(1, &eth("0800", &udp)),
            "IP 10.0.0.1.53 > 10.0.0.2.1024: udp 8"
        );
        // raw IP and cooked captures reach the same code
        assert_eq!(
            line(101, &hex(TCP4)),
            "IP 10.0.0.1.80 > 10.0.0.2.1024: tcp 0"
        );
        let mut sll = hex("0000 0001 0006 020000000001 0000 0800");
        sll.extend(hex(TCP4));
        assert_eq!(line(113, &sll), "IP 10.0.0.1.80 > 10.0.0.2.1024: tcp 0");
        let mut sll2 = hex("0800 0000 00000002 0001 00 06 020000000001 0000");
        sll2.extend(hex(TCP4));
        assert_eq!(line(276, &sll2), "IP 10.0.0.1.80 > 10.0.0.2.1024: tcp 0");
        // through a VLAN tag
        let mut tagged = hex("00640800");
        tagged.extend(hex(TCP4));
        assert_eq!(
            line(1, &eth("8100", &tagged)),
            "IP 10.0.0.1.80 > 10.0.0.2.1024: tcp 0"
        );
    }

    #[test]
    fn ipv6_arp_other_truncated() {
        let v6 = hex("60000000 00081140 00000000000000000000000000000001 \
             00000000000000000000000000000002 00350400 00080000");
        assert_eq!(line(1, &eth("86dd", &v6)), "IP6 ::1.53 > ::2.1024: udp 0");
        let arp = hex("0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002");
        assert_eq!(
            line(1, &eth("0806", &arp)),
            "ARP, Request who-has 10.0.0.2 tell 10.0.0.1"
        );
        assert_eq!(line(1, &eth("88cc", &[0; 10])), "ethertype 0x88cc");
        assert_eq!(line(1, &eth("0800", &hex("4500"))), "IP [|ip]");
        assert_eq!(line(1, &hex("ffff")), "[|ether]");
        let frag = hex("45000024 00010010 40110000 0a000001 0a000002 0000000000000000");
        assert_eq!(
            line(1, &eth("0800", &frag)),
            "IP 10.0.0.1 > 10.0.0.2: ip-proto-17"
        );
        let icmp = hex("45000024 00010000 40010000 0a000001 0a000002 0800f7ff00000000");
        assert_eq!(
            line(101, &icmp),
            "IP 10.0.0.1 > 10.0.0.2: ICMP echo request"
        );
        assert_eq!(line(105, &[1, 2, 3]), "link-type 105");
    }

    #[test]
    fn fraction_digits() {
        let mut s = String::new();
        push_fraction(
            &mut s,
            &Timestamp {
                secs: 0,
                nanos: 123_456_789,
                nano: false,
            },
        );
        push_fraction(
            &mut s,
            &Timestamp {
                secs: 0,
                nanos: 123_456_789,
                nano: true,
            },
        );
        assert_eq!(s, ".123456.123456789");
    }
}
