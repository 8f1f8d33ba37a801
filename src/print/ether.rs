//! The link layer: Ethernet (with 802.1Q/QinQ tags and 802.3 length frames), Linux cooked
//! (SLL, SLL2) and raw IP captures, then the payload by ethertype.

use std::collections::HashMap;

use super::{
    arp, atalk, be16, be32, decnet, ethmisc, hex, ip, ip6, llc, lldp, mpls, pppoe, u8_at, Ctx,
};

/// Largest 802.3 length field; anything above is an ethertype.
const MAX_LENGTH: u16 = 1500;

/// Prints the packet of link type `linktype`; returns the link-level header length (what
/// -x leaves out).
pub fn link(cx: &mut Ctx, linktype: u32, data: &[u8], len: u32) -> usize {
    match linktype {
        1 => ethernet(cx, data, len),
        113 => sll(cx, data, len),
        276 => sll2(cx, data, len),
        // RAW, and IPV4/IPV6, which tcpdump prints the same way (raw_if_print).
        101 | 12 | 14 | 228 | 229 => {
            if cx.o.link {
                cx.t.s("ip: ");
            }
            raw_ip(cx, data, len);
            0
        }
        other => {
            cx.t.s("[unsupported link type ").u(other).ch(b']');
            0
        }
    }
}

fn raw_ip(cx: &mut Ctx, data: &[u8], len: u32) {
    match data.first().map(|b| b >> 4) {
        Some(4) => ip::print(cx, data, len),
        Some(6) => ip6::print(cx, data, len),
        Some(v) => {
            cx.t.s("IP").u(v);
            cx.trunc("ip");
        }
        None => cx.trunc("ip"),
    }
}

/// tcpdump's ieee8021q_tci_string.
fn tci(cx: &mut Ctx, tci: u16) {
    cx.t.s("vlan ").u(tci & 0x0fff).s(", p ").u(tci >> 13);
    if tci & 0x1000 != 0 {
        cx.t.s(", DEI");
    }
}

fn is_vlan(ty: u16) -> bool {
    matches!(ty, 0x8100 | 0x88a8 | 0x9100 | 0x9200)
}

/// Source, destination, type/length and length: the -e prefix (and what tcpdump shows for
/// payloads it cannot print).
fn ether_header(cx: &mut Ctx, data: &[u8], ty: u16, len: u32) {
    cx.t.mac(&data[6..12]).s(" > ").mac(&data[0..6]);
    let len = if ty <= MAX_LENGTH {
        cx.t.s(", 802.3");
        u32::from(ty).min(len.saturating_sub(14))
    } else {
        if cx.o.quiet {
            cx.t.s(", ");
            match name(ty) {
                Some(n) => cx.t.s(n),
                None => {
                    cx.t.s("Unknown Ethertype (0x")
                        .hex(u64::from(ty), 4)
                        .ch(b')')
                }
            };
        } else {
            cx.t.s(", ethertype ")
                .s(name(ty).unwrap_or("Unknown"))
                .s(" (0x")
                .hex(u64::from(ty), 4)
                .ch(b')');
        }
        len
    };
    cx.t.s(", length ").u(len).s(": ");
}

/// An Ethernet frame (also one carried inside a tunnel); returns the header length.
pub fn ethernet(cx: &mut Ctx, data: &[u8], len: u32) -> usize {
    if data.len() < 14 {
        cx.trunc("ether");
        return data.len();
    }
    let mut ty = be16(data, 12).unwrap_or(0);
    if cx.o.link && is_vlan(ty) && (data.len() < 18 || len < 18) {
        // tcpdump names the type and length only once the first tag is there.
        cx.t.mac(&data[6..12]).s(" > ").mac(&data[0..6]).s(", ");
        cx.trunc("vlan");
        return data.len();
    }
    if cx.o.link {
        ether_header(cx, data, ty, len);
    }
    let mut at = 14;
    let mut len = len.saturating_sub(14);
    while is_vlan(ty) {
        let (Some(tag), Some(inner)) = (be16(data, at), be16(data, at + 2)) else {
            cx.trunc("vlan");
            return data.len();
        };
        if cx.o.link {
            if at > 14 {
                // tcpdump names a tag's type as a tag only once that tag is captured.
                type_label(cx, ty);
            }
            tci(cx, tag);
            cx.t.s(", ");
        }
        ty = inner;
        if cx.o.link && ty > MAX_LENGTH && !is_vlan(ty) {
            type_label(cx, ty);
        }
        at += 4;
        len = len.saturating_sub(4);
    }
    let payload = &data[at..];
    if ty <= MAX_LENGTH {
        // 802.3: the length field bounds the payload, then 802.2 LLC.
        let len = len.min(u32::from(ty));
        let payload = &payload[..payload.len().min(len as usize)];
        let addrs = (&data[6..12], &data[0..6]);
        let n = llc::print(cx, payload, len, Some(addrs));
        if n < 0 {
            default_print(cx, payload);
        }
        return at + n.unsigned_abs();
    }
    if !ethertype(cx, ty, payload, len) {
        if !cx.o.link {
            ether_header(cx, data, ty, len + at as u32);
        }
        default_print(cx, payload);
    }
    at
}

/// `ethertype NAME (0xHHHH), ` after a VLAN tag, with -e.
fn type_label(cx: &mut Ctx, ty: u16) {
    cx.t.s("ethertype ")
        .s(name(ty).unwrap_or("Unknown"))
        .s(" (0x")
        .hex(u64::from(ty), 4)
        .s("), ");
}

/// Prints a payload of type `ty`; false if there is no printer for it.
pub fn ethertype(cx: &mut Ctx, ty: u16, p: &[u8], len: u32) -> bool {
    match ty {
        0x0800 => ip::print(cx, p, len),
        0x86dd => ip6::print(cx, p, len),
        0x0806 | 0x8035 => arp::print(cx, p, len),
        0x8847 | 0x8848 => mpls::print(cx, p, len),
        0x8863 | 0x8864 => pppoe::print(cx, p, len),
        0x88cc => lldp::lldp(cx, p, len),
        0x9000 => ethmisc::loopback(cx, p, len),
        0x80f3 => ethmisc::aarp(cx, p, len),
        0x809b => atalk::ether(cx, p, len),
        0x6003 => decnet::print(cx, p, len),
        0x8137 => {
            cx.t.s("(NOV-ETHII) ");
            llc::ipx(cx, p, len);
        }
        _ => return false,
    }
    true
}

/// What tcpdump prints for a payload it has no printer for: the bytes in hex, unless -x and
/// friends print them anyway.
/// (-x, -X and -q suppress it; -A does not.)
pub fn default_print(cx: &mut Ctx, p: &[u8]) {
    if cx.o.hex == 0 && !cx.o.quiet {
        hex::hex_ascii(cx.t, "\n\t", p);
    }
}

/// The same bytes where tcpdump calls its default printer without asking whether it is
/// suppressed.
pub fn raw_default_print(cx: &mut Ctx, p: &[u8]) {
    hex::hex_ascii(cx.t, "\n\t", p);
}

const PKTTYPES: [&str; 5] = ["In", "B", "M", "P", "Out"];

fn pkttype_name(t: u16) -> &'static str {
    PKTTYPES.get(usize::from(t)).copied().unwrap_or("?")
}

/// `%3s `-style right alignment.
fn right3(cx: &mut Ctx, s: &str) {
    for _ in s.len()..3 {
        cx.t.ch(b' ');
    }
    cx.t.s(s).ch(b' ');
}

/// The -e part of a cooked header: address and protocol.
fn cooked_proto(cx: &mut Ctx, proto: u16, len: u32) {
    if cx.o.quiet {
        return;
    }
    if proto <= MAX_LENGTH {
        match proto {
            1 => cx.t.s("802.3"),
            4 => cx.t.s("802.2"),
            _ => {
                cx.t.s("ethertype Unknown (0x")
                    .hex(u64::from(proto), 4)
                    .ch(b')')
            }
        };
    } else {
        cx.t.s("ethertype ")
            .s(name(proto).unwrap_or("Unknown"))
            .s(" (0x")
            .hex(u64::from(proto), 4)
            .ch(b')');
    }
    cx.t.s(", length ").u(len).s(": ");
}

fn sll_header(cx: &mut Ctx, h: &[u8], len: u32) {
    right3(cx, pkttype_name(be16(h, 0).unwrap_or(0xffff)));
    if be16(h, 4) == Some(6) {
        cx.t.mac(&h[6..12]).ch(b' ');
    }
    cooked_proto(cx, be16(h, 14).unwrap_or(0), len);
}

fn sll(cx: &mut Ctx, data: &[u8], len: u32) -> usize {
    if data.len() < 16 {
        cx.trunc_jump("sll");
        return 0;
    }
    if cx.o.link {
        sll_header(cx, data, len);
    }
    let proto = be16(data, 14).unwrap_or(0);
    cooked_payload(cx, proto, data, 16, len, |cx| sll_header(cx, data, len))
}

fn sll2_header(cx: &mut Ctx, h: &[u8], len: u32) {
    cx.t.s("ifindex ").u(be32(h, 4).unwrap_or(0)).ch(b' ');
    if u8_at(h, 11) == Some(6) {
        cx.t.mac(&h[12..18]).ch(b' ');
    }
    cooked_proto(cx, be16(h, 0).unwrap_or(0), len);
}

fn sll2(cx: &mut Ctx, data: &[u8], len: u32) -> usize {
    if data.len() < 20 {
        cx.trunc_jump("sll2");
        return 0;
    }
    let index = be32(data, 4).unwrap_or(0);
    let name = cx.st.ifnames.get(index);
    cx.t.s(name);
    for _ in name.len()..5 {
        cx.t.ch(b' ');
    }
    cx.t.ch(b' ');
    let ty = pkttype_name(u16::from(data[10]));
    cx.t.s(ty);
    for _ in ty.len()..3 {
        cx.t.ch(b' ');
    }
    cx.t.ch(b' ');
    if cx.o.link {
        sll2_header(cx, data, len);
    }
    let proto = be16(data, 0).unwrap_or(0);
    cooked_payload(cx, proto, data, 20, len, |cx| sll2_header(cx, data, len))
}

/// The payload of a cooked header of `hdr` bytes; `header` prints the -e part when tcpdump
/// shows it for an unprintable payload.
fn cooked_payload(
    cx: &mut Ctx,
    mut proto: u16,
    data: &[u8],
    hdr: usize,
    len: u32,
    header: impl Fn(&mut Ctx),
) -> usize {
    let mut at = hdr;
    let mut plen = len.saturating_sub(hdr as u32);
    loop {
        let p = &data[at..];
        if proto <= MAX_LENGTH {
            match proto {
                1 => {
                    llc::ipx(cx, p, plen);
                    return at;
                }
                4 => {
                    let n = llc::print(cx, p, plen, None);
                    if n >= 0 {
                        return at + n as usize;
                    }
                }
                _ => {}
            }
            // tcpdump prints no cooked header here, even without -e.
            default_print(cx, p);
            return at;
        }
        if proto == 0x8100 {
            let (Some(tag), Some(inner)) = (be16(p, 0), be16(p, 2)) else {
                cx.trunc("vlan");
                return data.len();
            };
            if cx.o.link {
                tci(cx, tag);
                cx.t.s(", ");
            }
            proto = inner;
            if cx.o.link && proto > MAX_LENGTH {
                cx.t.s("ethertype ");
                match name(proto) {
                    Some(n) => cx.t.s(n),
                    None => cx.t.s("0x").hex(u64::from(proto), 4),
                };
                cx.t.s(", ");
            }
            at += 4;
            plen = plen.saturating_sub(4);
            continue;
        }
        if !ethertype(cx, proto, p, plen) {
            if !cx.o.link {
                header(cx);
            }
            default_print(cx, p);
        }
        return at;
    }
}

/// tcpdump's ethertype_values names.
pub fn name(ty: u16) -> Option<&'static str> {
    Some(match ty {
        0x0800 => "IPv4",
        0x86dd => "IPv6",
        0x0806 => "ARP",
        0x8035 => "Reverse ARP",
        0x8100 => "802.1Q",
        0x88a8 => "802.1Q-QinQ",
        0x9100 => "802.1Q-9100",
        0x9200 => "802.1Q-9200",
        0x8847 => "MPLS unicast",
        0x8848 => "MPLS multicast",
        0x8863 => "PPPoE D",
        0x8864 => "PPPoE S",
        0x88cc => "LLDP",
        0x9000 => "Loopback",
        0x6000 => "DEC",
        0x6001 => "DEC-MOP-Dump",
        0x6002 => "DEC-MOP-RC",
        0x6003 => "DN",
        0x6004 => "DEC-LAT",
        0x6005 => "DEC-Diag",
        0x6006 => "DEC-Cust",
        0x6007 => "DEC-LAVC",
        0x0200 => "PUP",
        0x809b => "Appletalk",
        0x80f3 => "Appletalk ARP",
        0x8137 => "IPX",
        0x880b => "PPP",
        0x8809 => "Slow Protocols",
        0x888e => "EAPOL",
        0x88e5 => "MACsec",
        0x88f7 => "PTP",
        0x8902 => "CFM",
        0x8906 => "FCoE",
        0x8914 => "FIP",
        0x88e7 => "PBB",
        0x22f0 => "AVTP",
        0x893a => "IEEE1905.1",
        0x8870 => "Jumbo",
        0x0842 => "Wake-on-LAN",
        0x8808 => "MPCP",
        0x8819 => "CobraNet",
        _ => return None,
    })
}

/// Interface names for SLL2's index, as tcpdump finds them on the machine reading the file.
#[derive(Default)]
pub struct IfNames {
    names: HashMap<u32, String>,
}

impl IfNames {
    pub fn get(&mut self, index: u32) -> &str {
        self.names.entry(index).or_insert_with(|| {
            let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
            // SAFETY: buf has IF_NAMESIZE bytes, as if_indextoname requires.
            let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
            if p.is_null() {
                "?".to_string()
            } else {
                // SAFETY: if_indextoname wrote a NUL-terminated name into buf.
                unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
                    .to_string_lossy()
                    .into_owned()
            }
        })
    }
}
