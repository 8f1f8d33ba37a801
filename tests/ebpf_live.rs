//! The eBPF counters against real traffic: frames built here, one by one, are sent from one
//! end of a veth pair between two private network namespaces, and `bpfdump --count --json`
//! on the other end must report exactly what the test computes from its own frames: every
//! seen and matched counter, every link-layer and transport class, every rule, the flow table
//! and its top flows. A classic capture and an `--ebpf` capture run alongside, on the same
//! interface, with the same filter: both files must hold exactly the frames the filter keeps,
//! byte for byte, and as many packets and bytes as `matched` says.
//!
//! Also: an interface deleted while counting (one line naming it, exit status 1, the counters
//! so far printed); GSO packets (a TCP bulk transfer seen on the sender's veth, where one
//! packet stands for many wire segments); and frames tagged with TPID 0x9100, which the
//! filter language calls VLAN-tagged and the counters must class as such.
//!
//! Needs root (network namespaces, packet sockets, CAP_BPF); without it, or without the
//! netns-lab script, every test says `SKIPPED: <test>: <why>` on stderr and passes.
//!
//! The frames are sent to a MAC address no one has, so the receiving namespace's stack drops
//! them unanswered (no TCP reset, no ARP or echo reply, no ICMP error): the packet sockets see
//! exactly the frames sent, and nothing else.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::lab::*;

/// A unicast MAC address that is neither end's: the receiving stack drops these frames
/// (PACKET_OTHERHOST) after the packet sockets have seen them.
const NOBODY: [u8; 6] = [0x02, 0x00, 0x0a, 0xc8, 0x00, 0x99];

/// The flow table's default size (src/cli.rs).
const FLOW_CAPACITY: u64 = 8192;

const L3_NAMES: [&str; 5] = ["ipv4", "ipv6", "arp", "vlan", "other"];
const L4_NAMES: [&str; 6] = ["tcp", "udp", "icmp", "icmp6", "sctp", "other"];

// ------------------------------------------------------------------------------ frames

/// What a transport header holds.
#[derive(Clone, Copy, Debug)]
enum Tp {
    /// TCP, UDP or SCTP ports (source, destination).
    Ports(u16, u16),
    /// ICMP or ICMPv6 type and code.
    Icmp(u8, u8),
    /// No transport header (a later fragment, GRE here): the payload only.
    Bare,
}

/// The network layer of a frame, as the test means it.
#[derive(Clone, Debug)]
enum Net {
    V4 {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        proto: u8,
        /// Fragment offset in 8-byte units; non-zero: a later fragment (no ports).
        frag: u16,
        tp: Tp,
    },
    /// An IPv4 header cut short after 10 bytes (its protocol byte is there).
    V4Stub { proto: u8 },
    V6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        /// Extension headers in order (0 hop-by-hop, 60 destination options, 43 routing,
        /// 44 fragment).
        ext: Vec<u8>,
        /// The fragment header's offset in 8-byte units (0: a first fragment).
        frag: u16,
        proto: u8,
        tp: Tp,
    },
    /// An ARP request for an address no one has.
    Arp,
    /// Bytes behind an EtherType that is neither IP nor ARP.
    Other,
}

#[derive(Clone, Debug)]
struct Spec {
    /// VLAN tags on the wire, outermost first: (TPID, VLAN id).
    tags: Vec<(u16, u16)>,
    /// The EtherType after the tags.
    ethertype: u16,
    net: Net,
}

/// A frame sent, and what it was meant to be.
#[derive(Clone, Debug)]
struct Frame {
    spec: Spec,
    data: Vec<u8>,
}

impl Frame {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
}

fn sum16(b: &[u8]) -> u32 {
    b.chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

fn fold(mut s: u32) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// The transport checksum over `pseudo` (the pseudo-header) and `seg`, written at `at`.
fn checksum_into(pseudo: &[u8], seg: &mut [u8], at: usize) {
    let ck = fold(sum16(pseudo) + sum16(seg));
    seg[at..at + 2].copy_from_slice(&ck.to_be_bytes());
}

/// The transport segment for `proto` with `fill` bytes of payload after its header.
fn segment(proto: u8, tp: Tp, fill: usize, seq: usize) -> Vec<u8> {
    let body: Vec<u8> = (0..fill).map(|i| (i + seq) as u8).collect();
    let mut s = Vec::new();
    match (proto, tp) {
        (17, Tp::Ports(sp, dp)) => {
            s.extend(sp.to_be_bytes());
            s.extend(dp.to_be_bytes());
            s.extend(((8 + fill) as u16).to_be_bytes());
            s.extend([0, 0]);
        }
        (6, Tp::Ports(sp, dp)) => {
            s.extend(sp.to_be_bytes());
            s.extend(dp.to_be_bytes());
            s.extend((1000 + seq as u32 * 1460).to_be_bytes());
            s.extend(77u32.to_be_bytes());
            s.extend([0x50, 0x18]); // 20-byte header; PSH, ACK
            s.extend(64240u16.to_be_bytes());
            s.extend([0, 0, 0, 0]);
        }
        (132, Tp::Ports(sp, dp)) => {
            s.extend(sp.to_be_bytes());
            s.extend(dp.to_be_bytes());
            s.extend(0x1234_5678u32.to_be_bytes());
            s.extend([0, 0, 0, 0]); // CRC32c: no one checks it here
        }
        (1 | 58, Tp::Icmp(ty, code)) => {
            s.extend([ty, code, 0, 0]);
            s.extend(0x4242u16.to_be_bytes());
            s.extend((seq as u16).to_be_bytes());
        }
        (_, Tp::Bare) => {}
        other => panic!("no segment for {other:?}"),
    }
    s.extend(body);
    s
}

/// Offset of the transport checksum in a segment, if it has one we fill in.
fn checksum_at(proto: u8, tp: Tp) -> Option<usize> {
    match (proto, tp) {
        (17, Tp::Ports(..)) => Some(6),
        (6, Tp::Ports(..)) => Some(16),
        (58, Tp::Icmp(..)) => Some(2),
        _ => None,
    }
}

fn build(src_mac: [u8; 6], spec: &Spec, fill: usize, seq: usize) -> Vec<u8> {
    let l3 = match &spec.net {
        Net::V4 {
            src,
            dst,
            proto,
            frag,
            tp,
        } => {
            let mut seg = segment(*proto, *tp, fill, seq);
            if *frag == 0 {
                let mut pseudo = Vec::new();
                pseudo.extend(src.octets());
                pseudo.extend(dst.octets());
                pseudo.extend([0, *proto]);
                pseudo.extend((seg.len() as u16).to_be_bytes());
                match (proto, tp) {
                    (1, Tp::Icmp(..)) => checksum_into(&[], &mut seg, 2),
                    _ => {
                        if let Some(at) = checksum_at(*proto, *tp) {
                            checksum_into(&pseudo, &mut seg, at);
                        }
                    }
                }
            }
            let mut ip = vec![0x45, 0];
            ip.extend(((20 + seg.len()) as u16).to_be_bytes());
            ip.extend((0x1000 + seq as u16).to_be_bytes());
            let flags = if *frag == 0 { 0x4000 } else { *frag };
            ip.extend(flags.to_be_bytes());
            ip.extend([64, *proto, 0, 0]);
            ip.extend(src.octets());
            ip.extend(dst.octets());
            let ck = inet_checksum(&ip);
            ip[10..12].copy_from_slice(&ck.to_be_bytes());
            ip.extend(seg);
            ip
        }
        Net::V4Stub { proto } => vec![0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, *proto],
        Net::V6 {
            src,
            dst,
            ext,
            frag,
            proto,
            tp,
        } => {
            let mut seg = segment(*proto, *tp, fill, seq);
            let mut pseudo = Vec::new();
            pseudo.extend(src.octets());
            pseudo.extend(dst.octets());
            pseudo.extend((seg.len() as u32).to_be_bytes());
            pseudo.extend([0, 0, 0, *proto]);
            if let Some(at) = checksum_at(*proto, *tp) {
                checksum_into(&pseudo, &mut seg, at);
            }
            let mut headers = Vec::new();
            for (i, h) in ext.iter().enumerate() {
                let next = *ext.get(i + 1).unwrap_or(proto);
                if *h == 44 {
                    // Next header, reserved, offset and M flag (set in a first fragment),
                    // identification.
                    let off = (frag << 3) | u16::from(*frag == 0);
                    headers.extend([next, 0]);
                    headers.extend(off.to_be_bytes());
                    headers.extend(0x0bad_cafeu32.to_be_bytes());
                } else {
                    // 8 bytes: next header, length 0, then a PadN option (or, for a routing
                    // header, type 0 with no segments left) filling the rest.
                    headers.extend([next, 0, 1, 4, 0, 0, 0, 0]);
                }
            }
            let first = *ext.first().unwrap_or(proto);
            let plen = (headers.len() + seg.len()) as u16;
            let mut ip = vec![0x60, 0, 0, 0];
            ip.extend(plen.to_be_bytes());
            ip.extend([first, 64]);
            ip.extend(src.octets());
            ip.extend(dst.octets());
            ip.extend(headers);
            ip.extend(seg);
            ip
        }
        Net::Arp => {
            let mut a = vec![0, 1, 0x08, 0, 6, 4, 0, 1];
            a.extend(src_mac);
            a.extend([10, 200, 0, 2]);
            a.extend([0; 6]);
            a.extend([10, 200, 0, 77]);
            a.extend(vec![0; fill]); // Ethernet padding
            a
        }
        Net::Other => (0..fill).map(|i| (i * 7 + seq) as u8).collect(),
    };
    let tags: Vec<(u16, u16)> = spec.tags.clone();
    ether(NOBODY, src_mac, &tags, spec.ethertype, &l3)
}

/// The known mix: groups of frames (the same kind, sizes given one by one), interleaved
/// round-robin so that the kinds alternate on the wire. Counts per kind differ, and so do
/// sizes, so that a counter off by one packet or a few bytes shows.
fn the_mix(src_mac: [u8; 6]) -> Vec<Frame> {
    let (a4, b4) = (Ipv4Addr::new(10, 200, 0, 1), Ipv4Addr::new(10, 200, 0, 2));
    let (a6, b6): (Ipv6Addr, Ipv6Addr) = (
        "fd00:200::1".parse().unwrap(),
        "fd00:200::2".parse().unwrap(),
    );
    let v4 = |proto: u8, tp: Tp| Net::V4 {
        src: b4,
        dst: a4,
        proto,
        frag: 0,
        tp,
    };
    let v6 = |ext: &[u8], proto: u8, tp: Tp| Net::V6 {
        src: b6,
        dst: a6,
        ext: ext.to_vec(),
        frag: 0,
        proto,
        tp,
    };
    let plain = |ethertype: u16, net: Net| Spec {
        tags: vec![],
        ethertype,
        net,
    };
    let tagged = |tags: &[(u16, u16)], ethertype: u16, net: Net| Spec {
        tags: tags.to_vec(),
        ethertype,
        net,
    };
    let q = 0x8100;
    let ad = 0x88a8;
    let groups: Vec<(Spec, Vec<usize>)> = vec![
        // IPv4 UDP: three flows, one to port 53 and one from it.
        (
            plain(0x0800, v4(17, Tp::Ports(40001, 53))),
            (0..9).map(|i| 20 + 13 * i).collect(),
        ),
        (
            plain(0x0800, v4(17, Tp::Ports(40002, 5001))),
            (0..12).map(|i| 600 + 70 * i).collect(),
        ),
        (
            plain(0x0800, v4(17, Tp::Ports(53, 40003))),
            (0..5).map(|i| 100 + 3 * i).collect(),
        ),
        // IPv4 TCP: to 443, to 80, from 443.
        (
            plain(0x0800, v4(6, Tp::Ports(50000, 443))),
            (0..8).map(|i| 100 * i).collect(),
        ),
        (
            plain(0x0800, v4(6, Tp::Ports(50001, 80))),
            (0..6).map(|i| 1000 + 50 * i).collect(),
        ),
        (
            plain(0x0800, v4(6, Tp::Ports(443, 50002))),
            vec![1400, 1410, 1420],
        ),
        // ICMP: echo requests, port unreachables.
        (plain(0x0800, v4(1, Tp::Icmp(8, 0))), vec![56, 56, 56, 56]),
        (plain(0x0800, v4(1, Tp::Icmp(3, 3))), vec![28, 29]),
        // SCTP, GRE (an IP protocol with no class of its own).
        (
            plain(0x0800, v4(132, Tp::Ports(3868, 3868))),
            vec![40, 48, 56],
        ),
        (plain(0x0800, v4(47, Tp::Bare)), vec![64]),
        // Later fragments of a UDP datagram: UDP, but no ports.
        (
            plain(
                0x0800,
                Net::V4 {
                    src: b4,
                    dst: a4,
                    proto: 17,
                    frag: 185,
                    tp: Tp::Bare,
                },
            ),
            vec![200, 201],
        ),
        // An IPv4 header cut short: class ipv4, transport unknown.
        (plain(0x0800, Net::V4Stub { proto: 17 }), vec![0]),
        // IPv6 UDP: to 53, and to 6000 with frames of 1000, 999 and 1001 bytes.
        (
            plain(0x86dd, v6(&[], 17, Tp::Ports(41000, 53))),
            (0..7).map(|i| 30 + 11 * i).collect(),
        ),
        (
            plain(0x86dd, v6(&[], 17, Tp::Ports(41001, 6000))),
            vec![938, 937, 939],
        ),
        // ICMPv6 echo requests and replies.
        (
            plain(0x86dd, v6(&[], 58, Tp::Icmp(128, 0))),
            (0..5).map(|i| 56 + i).collect(),
        ),
        (plain(0x86dd, v6(&[], 58, Tp::Icmp(129, 0))), vec![32, 32]),
        // IPv6 with extension headers before UDP: hop-by-hop (to port 53: UDP to the
        // counters, not `udp port 53` to libpcap's filter), hop-by-hop and destination
        // options, and four headers (one more than the counters skip).
        (
            plain(0x86dd, v6(&[0], 17, Tp::Ports(41002, 53))),
            vec![64, 65, 66, 67],
        ),
        (
            plain(0x86dd, v6(&[0, 60], 17, Tp::Ports(41003, 7000))),
            vec![300, 300],
        ),
        (
            plain(0x86dd, v6(&[0, 60, 43, 60], 17, Tp::Ports(41004, 7001))),
            vec![100],
        ),
        // IPv6 fragments of UDP datagrams: a first one (ports: to 53, but not `udp port 53`
        // to libpcap, which wants UDP right after the IPv6 header) and a later one.
        (
            plain(0x86dd, v6(&[44], 17, Tp::Ports(41006, 53))),
            vec![90, 91],
        ),
        (
            plain(
                0x86dd,
                Net::V6 {
                    src: b6,
                    dst: a6,
                    ext: vec![44],
                    frag: 100,
                    proto: 17,
                    tp: Tp::Bare,
                },
            ),
            vec![400],
        ),
        // IPv6 TCP to 443.
        (
            plain(0x86dd, v6(&[], 6, Tp::Ports(41005, 443))),
            vec![500, 510],
        ),
        // ARP requests, unpadded (42 bytes) and padded (60).
        (plain(0x0806, Net::Arp), vec![0, 18, 0, 18, 0, 0]),
        // 802.1Q: VLAN 100 UDP (one frame of 1002 bytes: `greater 1000` with its tag, not
        // without), VLAN 100 TCP to 443 (58, 62, 68, 78 bytes: of these `less 60` only for
        // the first, and for the second too if the tag were left out), VLAN 200 UDP to 53,
        // VLAN 100 IPv6 UDP, VLAN 100 ARP.
        (
            tagged(&[(q, 100)], 0x0800, v4(17, Tp::Ports(42000, 7000))),
            vec![200, 956, 231, 262, 998, 293, 324],
        ),
        (
            tagged(&[(q, 100)], 0x0800, v4(6, Tp::Ports(42001, 443))),
            vec![0, 4, 10, 20],
        ),
        (
            tagged(&[(q, 200)], 0x0800, v4(17, Tp::Ports(42002, 53))),
            vec![80, 81, 82],
        ),
        (
            tagged(&[(q, 100)], 0x86dd, v6(&[], 17, Tp::Ports(42003, 7002))),
            vec![150, 151],
        ),
        (tagged(&[(q, 100)], 0x0806, Net::Arp), vec![0]),
        // QinQ: 802.1ad VLAN 100 outside 802.1Q 300; 802.1Q inside 802.1Q; three tags.
        (
            tagged(
                &[(ad, 100), (q, 300)],
                0x0800,
                v4(17, Tp::Ports(42004, 7003)),
            ),
            vec![120, 121, 122],
        ),
        (
            tagged(&[(q, 5), (q, 6)], 0x0800, v4(17, Tp::Ports(42005, 7004))),
            vec![60, 61],
        ),
        (
            tagged(
                &[(ad, 7), (q, 8), (q, 9)],
                0x0800,
                v4(17, Tp::Ports(42006, 7005)),
            ),
            vec![40],
        ),
        // Unknown EtherTypes: one frame is a bare 14-byte header.
        (plain(0x88b5, Net::Other), vec![0, 50, 100, 46]),
        (plain(0x88b6, Net::Other), vec![1000, 1001]),
    ];
    let mut cursors: Vec<usize> = vec![0; groups.len()];
    let mut frames = Vec::new();
    let mut seq = 0;
    loop {
        let mut any = false;
        for (g, (spec, fills)) in groups.iter().enumerate() {
            if let Some(&fill) = fills.get(cursors[g]) {
                cursors[g] += 1;
                any = true;
                seq += 1;
                frames.push(Frame {
                    spec: spec.clone(),
                    data: build(src_mac, spec, fill, seq),
                });
            }
        }
        if !any {
            break;
        }
    }
    frames
}

// ------------------------------------------------------------------- the expected counts

/// The link-layer class: `vlan` for any tagged frame, else by EtherType.
fn l3_class(s: &Spec) -> usize {
    if !s.tags.is_empty() {
        return 3;
    }
    match s.ethertype {
        0x0800 => 0,
        0x86dd => 1,
        0x0806 => 2,
        _ => 4,
    }
}

/// Whether the counters can see the network header: the kernel strips the outer tag and the
/// program looks inside one more, so up to two tags on the wire.
fn ip_visible(s: &Spec) -> bool {
    s.tags.len() <= 2
}

/// What the counters make of an IPv6 packet's headers: up to three extension headers are
/// skipped; a later fragment ends the walk with the fragment header's next header and no
/// ports; after three, the fourth header's type is taken for the transport. Returns the
/// protocol and whether the ports (or ICMPv6 type and code) are read.
fn v6_walk(ext: &[u8], frag: u16, proto: u8) -> (u8, bool) {
    let next = |i: usize| *ext.get(i + 1).unwrap_or(&proto);
    for (i, h) in ext.iter().take(3).enumerate() {
        if *h == 44 && frag != 0 {
            return (next(i), false);
        }
    }
    match ext.get(3) {
        Some(h) => (*h, false),
        None => (proto, true),
    }
}

/// The transport class: by IP protocol, IPv6 extension headers skipped (up to three).
fn l4_class(s: &Spec) -> usize {
    let by = |p: u8, v6: bool| match (p, v6) {
        (6, _) => 0,
        (17, _) => 1,
        (1, false) => 2,
        (58, true) => 3,
        (132, _) => 4,
        _ => 5,
    };
    if !ip_visible(s) {
        return 5;
    }
    match &s.net {
        Net::V4 { proto, .. } => by(*proto, false),
        Net::V6 {
            ext, frag, proto, ..
        } => by(v6_walk(ext, *frag, *proto).0, true),
        _ => 5,
    }
}

/// A flow-table key as the program builds it, in the order the report sorts ties by
/// (EtherType, protocol, class, ports, addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    ethertype: u16,
    proto: u8,
    l3: u8,
    sport: u16,
    dport: u16,
    src: [u8; 16],
    dst: [u8; 16],
}

fn v4_16(a: Ipv4Addr) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&a.octets());
    b
}

fn flow_key(s: &Spec) -> Key {
    let mut k = Key {
        ethertype: s.ethertype,
        proto: 0,
        l3: l3_class(s) as u8,
        sport: 0,
        dport: 0,
        src: [0; 16],
        dst: [0; 16],
    };
    if !ip_visible(s) {
        // The EtherType the program finds after the tag it looks inside: the third TPID.
        k.ethertype = s.tags[2].0;
        return k;
    }
    let ports = |k: &mut Key, tp: Tp| match tp {
        Tp::Ports(a, b) => (k.sport, k.dport) = (a, b),
        Tp::Icmp(t, c) => (k.sport, k.dport) = (u16::from(t), u16::from(c)),
        Tp::Bare => {}
    };
    match &s.net {
        Net::V4 {
            src,
            dst,
            proto,
            frag,
            tp,
        } => {
            k.proto = *proto;
            k.src = v4_16(*src);
            k.dst = v4_16(*dst);
            if *frag == 0 {
                ports(&mut k, *tp);
            }
        }
        Net::V6 {
            src,
            dst,
            ext,
            frag,
            proto,
            tp,
        } => {
            k.src = src.octets();
            k.dst = dst.octets();
            let (p, with_ports) = v6_walk(ext, *frag, *proto);
            k.proto = p;
            if with_ports {
                ports(&mut k, *tp);
            }
        }
        Net::V4Stub { .. } | Net::Arp | Net::Other => {}
    }
    k
}

/// A flow as the JSON report writes it (src/bpf/report.rs `flow_json`).
fn flow_json(k: &Key, packets: u64, bytes: u64) -> Value {
    let ip = matches!(k.ethertype, 0x0800 | 0x86dd);
    let proto = match (k.ethertype, k.proto) {
        (0x0800 | 0x86dd, 6) => "tcp".to_string(),
        (0x0800 | 0x86dd, 17) => "udp".to_string(),
        (0x0800, 1) => "icmp".to_string(),
        (0x86dd, 58) => "icmp6".to_string(),
        (0x0800 | 0x86dd, 132) => "sctp".to_string(),
        (0x0800 | 0x86dd, p) => format!("proto {p}"),
        (0x0806, _) => "arp".to_string(),
        (t, _) => format!("ethertype {t:#06x}"),
    };
    let mut m = serde_json::Map::new();
    m.insert("proto".into(), json!(proto));
    match k.ethertype {
        0x0800 => {
            let a = |b: &[u8; 16]| Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string();
            m.insert("src".into(), json!(a(&k.src)));
            m.insert("dst".into(), json!(a(&k.dst)));
        }
        0x86dd => {
            m.insert("src".into(), json!(Ipv6Addr::from(k.src).to_string()));
            m.insert("dst".into(), json!(Ipv6Addr::from(k.dst).to_string()));
        }
        t => {
            m.insert("ethertype".into(), json!(t));
        }
    }
    if ip && matches!(k.proto, 6 | 17 | 132) {
        m.insert("sport".into(), json!(k.sport));
        m.insert("dport".into(), json!(k.dport));
    } else if matches!((k.ethertype, k.proto), (0x0800, 1) | (0x86dd, 58)) {
        m.insert("type".into(), json!(k.sport));
        m.insert("code".into(), json!(k.dport));
    }
    m.insert("packets".into(), json!(packets));
    m.insert("bytes".into(), json!(bytes));
    Value::Object(m)
}

// libpcap's meaning of the expressions used, on the frame as written to a file (bpfdump's
// live filter means the same: docs/capture.md, "VLAN"). Ports only in a first fragment and
// straight after the IPv6 header; `udp`/`tcp`/`icmp6` on IPv6 only as the next header.

fn untagged(s: &Spec) -> bool {
    s.tags.is_empty()
}

/// `PROTO` on IPv4 or IPv6 as libpcap tests it, ignoring tags.
fn proto_is(s: &Spec, p: u8) -> bool {
    match &s.net {
        Net::V4 { proto, .. } | Net::V4Stub { proto } => *proto == p,
        // The next header, or the one after a fragment header.
        Net::V6 { ext, proto, .. } => match ext.first() {
            None => *proto == p,
            Some(44) => *ext.get(1).unwrap_or(proto) == p,
            Some(h) => *h == p,
        },
        _ => false,
    }
}

/// `PROTO port N`, ignoring tags.
fn port_is(s: &Spec, p: u8, n: u16) -> bool {
    let tp = match &s.net {
        Net::V4 {
            proto, frag: 0, tp, ..
        } if *proto == p => tp,
        Net::V6 { ext, proto, tp, .. } if ext.is_empty() && *proto == p => tp,
        _ => return false,
    };
    matches!(tp, Tp::Ports(a, b) if *a == n || *b == n)
}

type Pred = fn(&Frame) -> bool;

fn p_all(_: &Frame) -> bool {
    true
}
fn p_udp(f: &Frame) -> bool {
    untagged(&f.spec) && proto_is(&f.spec, 17)
}
fn p_https(f: &Frame) -> bool {
    untagged(&f.spec) && port_is(&f.spec, 6, 443)
}
fn p_dns(f: &Frame) -> bool {
    untagged(&f.spec) && port_is(&f.spec, 17, 53)
}
fn p_ip6(f: &Frame) -> bool {
    untagged(&f.spec) && f.spec.ethertype == 0x86dd
}
fn p_vlan(f: &Frame) -> bool {
    !f.spec.tags.is_empty()
}
fn p_icmp_any(f: &Frame) -> bool {
    untagged(&f.spec)
        && match &f.spec.net {
            Net::V4 { .. } => proto_is(&f.spec, 1),
            Net::V6 { .. } => proto_is(&f.spec, 58),
            _ => false,
        }
}
fn p_arp(f: &Frame) -> bool {
    untagged(&f.spec) && f.spec.ethertype == 0x0806
}
fn p_vlan100(f: &Frame) -> bool {
    f.spec.tags.first().is_some_and(|t| t.1 == 100)
}
fn p_greater1000(f: &Frame) -> bool {
    f.len() >= 1000
}
fn p_less60(f: &Frame) -> bool {
    f.len() <= 60
}
fn p_two_tags(f: &Frame) -> bool {
    f.spec.tags.len() >= 2
}
/// `vlan 100 and udp`: the outer tag is 100 and IP follows it directly.
fn p_vlan100_udp(f: &Frame) -> bool {
    p_vlan100(f) && f.spec.tags.len() == 1 && proto_is(&f.spec, 17)
}
/// `ip[6:2] & 0x1fff != 0`: a later IPv4 fragment.
fn p_later_fragment(f: &Frame) -> bool {
    untagged(&f.spec) && matches!(f.spec.net, Net::V4 { frag, .. } if frag != 0)
}

/// One counting run: the filter and the rules, with the test's model of each.
struct Run {
    filter: (&'static str, Pred),
    rules: Vec<(&'static str, &'static str, Pred)>,
}

impl Run {
    fn args(&self, dev: &str, extra: &[&str]) -> Vec<String> {
        let mut a = args(&["-i", dev, "-n", "--json"]);
        a.extend(extra.iter().map(|s| s.to_string()));
        for (name, expr, _) in &self.rules {
            a.push("--rule".into());
            a.push(format!("{name}={expr}"));
        }
        a.push(self.filter.0.to_string());
        a
    }

    /// The frames the filter keeps, in order.
    fn kept<'a>(&self, frames: &'a [Frame]) -> Vec<&'a Frame> {
        frames.iter().filter(|f| (self.filter.1)(f)).collect()
    }

    /// Every counter of the final JSON line but `elapsed`, `final`, `kernel` and
    /// `flows.evicted`/`entries`/`inserted` (checked apart: see check_report), as the test
    /// computes them from its frames.
    fn expected(&self, frames: &[Frame]) -> BTreeMap<&'static str, Value> {
        let totals = |fs: &[&Frame]| {
            let bytes: u64 = fs.iter().map(|f| f.len()).sum();
            json!({"packets": fs.len(), "bytes": bytes, "segments": fs.len()})
        };
        let classes = |fs: &[&Frame], names: &[&str], class: fn(&Spec) -> usize| {
            let mut m = serde_json::Map::new();
            for (i, n) in names.iter().enumerate() {
                let c = fs.iter().filter(|f| class(&f.spec) == i).count();
                m.insert(n.to_string(), json!(c));
            }
            Value::Object(m)
        };
        let all: Vec<&Frame> = frames.iter().collect();
        let kept = self.kept(frames);
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|(name, expr, pred)| {
                let hit: Vec<&Frame> = frames.iter().filter(|f| pred(f)).collect();
                let bytes: u64 = hit.iter().map(|f| f.len()).sum();
                json!({"name": name, "filter": expr, "packets": hit.len(), "bytes": bytes})
            })
            .collect();
        let mut flows: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
        for f in &kept {
            let e = flows.entry(flow_key(&f.spec)).or_default();
            e.0 += 1;
            e.1 += f.len();
        }
        let mut top: Vec<(Key, (u64, u64))> = flows.iter().map(|(k, v)| (*k, *v)).collect();
        // Largest by bytes, then by packets, then by key (src/bpf/report.rs top_flows).
        top.sort_by(|a, b| (b.1 .1, b.1 .0).cmp(&(a.1 .1, a.1 .0)).then(a.0.cmp(&b.0)));
        top.truncate(10);
        let mut m = BTreeMap::new();
        m.insert("seen", totals(&all));
        m.insert("matched", totals(&kept));
        m.insert("l3", classes(&all, &L3_NAMES, l3_class));
        m.insert("l4", classes(&all, &L4_NAMES, l4_class));
        m.insert("matched_l3", classes(&kept, &L3_NAMES, l3_class));
        m.insert("matched_l4", classes(&kept, &L4_NAMES, l4_class));
        m.insert("rules", Value::Array(rules));
        m.insert(
            "flows",
            json!({"known": flows.len(), "capacity": FLOW_CAPACITY, "failed": 0}),
        );
        m.insert(
            "top",
            Value::Array(top.iter().map(|(k, (p, b))| flow_json(k, *p, *b)).collect()),
        );
        m
    }
}

/// Compares a final JSON report with the expected counters; every difference in one message.
fn check_report(what: &str, got: &Value, want: &BTreeMap<&'static str, Value>) {
    let mut bad = Vec::new();
    for (key, w) in want {
        let mut g = got.get(*key).cloned().unwrap_or(Value::Null);
        if *key == "flows" {
            if let Some(o) = g.as_object_mut() {
                o.remove("evicted");
                // Flows go into the LRU table when another flow takes their per-CPU cache
                // slot, which depends on the hash and the CPUs: only the relation holds
                // (nothing evicted: every insertion is still an entry, of the known flows).
                let entries = o.remove("entries");
                let inserted = o.remove("inserted");
                let known = o.get("known").and_then(Value::as_u64);
                match (entries.as_ref().and_then(Value::as_u64), inserted) {
                    (Some(e), Some(i)) if i == json!(e) && known.is_some_and(|k| e <= k) => {}
                    (e, i) => bad.push(format!(
                        "  flows: entries {e:?} and inserted {i:?} should be equal and at most \
                         known {known:?}"
                    )),
                }
            }
        }
        if g != *w {
            bad.push(format!("  {key}:\n    want {w}\n    got  {g}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{what}: counters differ from the frames sent:\n{}\nwhole report: {got}",
        bad.join("\n")
    );
}

// ----------------------------------------------------------------------------- running

/// Waits until the program says `what` on stderr (it is ready), or fails the test.
fn wait_said(run: &mut Running, what: &str) {
    let deadline = Instant::now() + START;
    loop {
        if run.stderr_so_far().lines().any(|l| l.contains(what)) {
            return;
        }
        if let Some(s) = run.exited() {
            std::thread::sleep(Duration::from_millis(50));
            panic!(
                "{}: exited ({s}) before saying {what:?}; stderr:\n{}",
                run.cmdline(),
                run.stderr_so_far()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{}: did not say {what:?} within {START:?}; stderr:\n{}",
            run.cmdline(),
            run.stderr_so_far()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The JSON lines on stdout; the last must be the only one marked final.
fn reports(done: &Done) -> Vec<Value> {
    let text = String::from_utf8_lossy(&done.stdout);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| {
                panic!(
                    "{}: not a JSON line ({e}): {l:?}\nstderr:\n{}",
                    done.cmdline, done.stderr
                )
            })
        })
        .collect();
    let Some(last) = lines.last() else {
        panic!(
            "{}: no JSON on stdout; stderr:\n{}",
            done.cmdline, done.stderr
        );
    };
    assert_eq!(
        last["final"],
        json!(true),
        "{}: last line not final: {last}",
        done.cmdline
    );
    for l in &lines[..lines.len() - 1] {
        assert_eq!(
            l["final"],
            json!(false),
            "{}: a non-last line is final",
            done.cmdline
        );
    }
    lines
}

/// The last JSON line on stdout: the final counters.
fn final_report(done: &Done) -> Value {
    reports(done).pop().unwrap()
}

fn u(v: &Value, path: &[&str]) -> u64 {
    let mut x = v;
    for p in path {
        x = &x[*p];
    }
    x.as_u64()
        .unwrap_or_else(|| panic!("no number at {} in {v}", path.join(".")))
}

/// Waits until the file holds `n` packets.
fn wait_packets(run: &mut Running, path: &Path, n: usize) -> Cap {
    run.wait_file(path, &format!("{n} packets"), |c| c.packets.len() >= n)
}

/// The file holds exactly `want`, byte for byte, whole, in order.
fn assert_file_holds(path: &Path, want: &[&Frame]) -> Cap {
    let cap = load(path);
    assert_eq!(cap.linktype, LINKTYPE_ETHERNET, "{}", path.display());
    let got: Vec<&[u8]> = cap.packets.iter().map(|p| &p.data[..]).collect();
    let wanted: Vec<&[u8]> = want.iter().map(|f| &f.data[..]).collect();
    if got != wanted {
        let mut s = format!(
            "{}: want the {} frames the filter keeps, got {}:\n",
            path.display(),
            wanted.len(),
            got.len()
        );
        for i in 0..got.len().max(wanted.len()) {
            let show =
                |d: Option<&&[u8]>| d.map_or("-".to_string(), |d| summary(LINKTYPE_ETHERNET, d));
            let mark = if got.get(i) == wanted.get(i) {
                ' '
            } else {
                '!'
            };
            s += &format!(
                "{mark}{i:3}: want {}\n      got  {}\n",
                show(wanted.get(i)),
                show(got.get(i))
            );
        }
        panic!("{s}");
    }
    for p in &cap.packets {
        assert_eq!(
            p.wirelen as usize,
            p.data.len(),
            "{}: a cut packet",
            path.display()
        );
    }
    cap
}

fn file_totals(cap: &Cap) -> (u64, u64) {
    (
        cap.packets.len() as u64,
        cap.packets.iter().map(|p| p.data.len() as u64).sum(),
    )
}

// ------------------------------------------------------------------------------- tests

/// The mix above, counted by three `--count` runs at once (filter `udp` with four rules; the
/// empty filter with six, reporting every 0.1 s; `vlan 100 and udp` with one, stopped with
/// SIGTERM), while a classic and an `--ebpf` capture run for `udp` and for
/// `vlan 100 and udp`. Every counter is checked exactly; the `--ebpf` runs' own reports too
/// (the same counters, and `kernel.received` = matched); both files hold exactly the frames
/// the filter keeps, and as many packets and bytes as `matched`.
#[test]
fn counters_exact_for_a_known_mix() {
    let test = "counters_exact_for_a_known_mix";
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let tool = Tool::bpfdump();
    let dev = lab.dev(Side::A);
    let frames = the_mix(lab.link(Side::B).mac);

    let udp = Run {
        filter: ("udp", p_udp),
        rules: vec![
            ("https", "tcp port 443", p_https),
            ("v6", "ip6", p_ip6),
            ("tagged", "vlan", p_vlan),
            ("dns", "udp port 53", p_dns),
        ],
    };
    let everything = Run {
        filter: ("", p_all),
        rules: vec![
            ("icmp", "icmp or icmp6", p_icmp_any),
            ("arp", "arp", p_arp),
            ("vlan100", "vlan 100", p_vlan100),
            ("big", "greater 1000", p_greater1000),
            ("small", "less 60", p_less60),
            ("qinq", "vlan and vlan", p_two_tags),
        ],
    };
    let v100 = Run {
        filter: ("vlan 100 and udp", p_vlan100_udp),
        rules: vec![("fragments", "ip[6:2] & 0x1fff != 0", p_later_fragment)],
    };

    // The test's own frames must exercise what it claims to: each filter keeps some and
    // drops some (but the empty one), each rule matches some and not all; and the last frame
    // sent is kept by `udp` (waiting for it in the files below waits for every frame).
    for run in [&udp, &v100] {
        let n = run.kept(&frames).len();
        assert!(n > 4 && n < frames.len(), "{:?} keeps {n}", run.filter.0);
    }
    assert_eq!(everything.kept(&frames).len(), frames.len());
    for (name, _, pred) in udp.rules.iter().chain(&everything.rules).chain(&v100.rules) {
        let n = frames.iter().filter(|f| pred(f)).count();
        assert!(
            n > 0 && n < frames.len(),
            "rule {name} matches {n} of {}",
            frames.len()
        );
    }
    assert!(p_udp(frames.last().unwrap()));

    // Three counting runs, then the captures.
    // (The second also reports every 0.1 s: interval lines before the final one.)
    let mut counts = Vec::new();
    for (run, extra) in [
        (&udp, &["--count"][..]),
        (&everything, &["--count", "--interval", "0.1"][..]),
        (&v100, &["--count"][..]),
    ] {
        let mut r = lab.capture(Side::A, &tool, &run.args(&dev, extra));
        wait_said(&mut r, "counting in the kernel");
        counts.push(r);
    }
    let mut captures = Vec::new();
    for (run, tag) in [(&udp, "udp"), (&v100, "v100")] {
        let classic = dir.path(&format!("classic-{tag}.pcap"));
        let ebpf = dir.path(&format!("ebpf-{tag}.pcap"));
        let mut c = lab.capture(
            Side::A,
            &tool,
            &args(&[
                "-i",
                &dev,
                "-U",
                "--immediate-mode",
                "-B",
                "4096",
                "-w",
                &classic.display().to_string(),
                run.filter.0,
            ]),
        );
        c.wait_listening();
        let ebpf_extra = [
            "--ebpf",
            "-U",
            "--immediate-mode",
            "-B",
            "4096",
            "-w",
            &ebpf.display().to_string(),
        ];
        let mut e = lab.capture(Side::A, &tool, &run.args(&dev, &ebpf_extra));
        e.wait_listening();
        wait_said(&mut e, "counting every packet in the kernel");
        captures.push((run, classic, c, ebpf, e));
    }

    lab.send_frames(
        Side::B,
        &frames.iter().map(|f| f.data.clone()).collect::<Vec<_>>(),
    );

    // Once the last packet each capture keeps is in its file, every frame has been through
    // every socket's filter (one sender, one receive queue); a moment more for good measure.
    for (run, classic, c, ebpf, e) in &mut captures {
        let n = run.kept(&frames).len();
        wait_packets(c, classic, n);
        wait_packets(e, ebpf, n);
    }
    std::thread::sleep(Duration::from_millis(200));

    // The third is stopped with SIGTERM, the others with SIGINT.
    for (i, (run, r)) in [&udp, &everything, &v100]
        .into_iter()
        .zip(counts)
        .enumerate()
    {
        let done = if i == 2 {
            r.signal(libc::SIGTERM);
            r.finish()
        } else {
            r.stop()
        };
        done.assert_success();
        let lines = reports(&done);
        let report = lines.last().unwrap().clone();
        check_report(&done.cmdline, &report, &run.expected(&frames));
        if run.filter.0.is_empty() {
            // Interval lines: totals so far, never decreasing; the final line says how many
            // flows were evicted since the one before it (none).
            assert!(lines.len() >= 2, "{}: no interval line", done.cmdline);
            for w in lines.windows(2) {
                for k in ["seen", "matched"] {
                    assert!(
                        u(&w[0], &[k, "packets"]) <= u(&w[1], &[k, "packets"]),
                        "{}: {k} went down between lines:\n{}\n{}",
                        done.cmdline,
                        w[0],
                        w[1]
                    );
                }
            }
            assert_eq!(u(&report, &["flows", "evicted"]), 0, "{report}");
        }
        assert!(
            report.get("kernel").is_none(),
            "--count has no kernel counters: {report}"
        );
    }
    for (run, classic, c, ebpf, e) in captures {
        let (c, e) = (c.stop(), e.stop());
        c.assert_success();
        e.assert_success();
        let kept = run.kept(&frames);
        let fc = assert_file_holds(&classic, &kept);
        let fe = assert_file_holds(&ebpf, &kept);
        let report = final_report(&e);
        check_report(&e.cmdline, &report, &run.expected(&frames));
        let matched = (
            u(&report, &["matched", "packets"]),
            u(&report, &["matched", "bytes"]),
        );
        assert_eq!(
            file_totals(&fc),
            matched,
            "{}: classic file vs eBPF matched",
            c.cmdline
        );
        assert_eq!(
            file_totals(&fe),
            matched,
            "{}: its file vs its matched",
            e.cmdline
        );
        assert_eq!(
            (
                u(&report, &["kernel", "received"]),
                u(&report, &["kernel", "dropped"])
            ),
            (matched.0, 0),
            "{}: kernel.received must be the matched packets: {report}",
            e.cmdline
        );
        // tcpdump's three lines agree too.
        for d in [&c, &e] {
            let s = d.stats();
            assert_eq!(
                (s.captured, s.received, s.dropped),
                (matched.0, matched.0, 0),
                "{}",
                d.cmdline
            );
        }
    }
}

/// A frame tagged with TPID 0x9100 (the pre-802.1ad QinQ tag, which libpcap's `vlan` and
/// bpfdump's filter take for a VLAN tag; the kernel does not strip it) is a tagged frame: its
/// link-layer class must be `vlan`, as for 0x8100 and 0x88a8, and the counters must look
/// inside the tag for the transport, as they do for a tag left in the data. The `vlan` rule
/// and the `vlan 100 and udp` filter count these frames; the classes must agree with them.
#[test]
fn tpid_9100_tagged_frames_class_as_vlan() {
    let test = "tpid_9100_tagged_frames_class_as_vlan";
    let Some(lab) = Lab::up(test) else { return };
    let tool = Tool::bpfdump();
    let dev = lab.dev(Side::A);
    let mac = lab.link(Side::B).mac;
    let udp = |port: u16| Net::V4 {
        src: lab.ip4(Side::B),
        dst: lab.ip4(Side::A),
        proto: 17,
        frag: 0,
        tp: Tp::Ports(43000, port),
    };
    let mut frames = Vec::new();
    for (i, (tpid, port, fill)) in [
        (0x9100, 7100, 70),
        (0x8100, 7200, 80),
        (0x9100, 7100, 71),
        (0x8100, 7200, 81),
        (0x9100, 7100, 72),
    ]
    .into_iter()
    .enumerate()
    {
        let spec = Spec {
            tags: vec![(tpid, 100)],
            ethertype: 0x0800,
            net: udp(port),
        };
        let data = build(mac, &spec, fill, i);
        frames.push(Frame { spec, data });
    }
    let run = Run {
        filter: ("vlan 100 and udp", p_vlan100_udp),
        rules: vec![("tagged", "vlan", p_vlan)],
    };
    let mut r = lab.capture(Side::A, &tool, &run.args(&dev, &["--count"]));
    wait_said(&mut r, "counting in the kernel");
    lab.send_frames(
        Side::B,
        &frames.iter().map(|f| f.data.clone()).collect::<Vec<_>>(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let done = r.stop();
    done.assert_success();
    check_report(&done.cmdline, &final_report(&done), &run.expected(&frames));
}

/// The interface is deleted while `--count` runs (and an `--ebpf -w` capture beside it): each
/// ends with exit status 1 and one line naming the interface, after printing the counters of
/// what it saw.
#[test]
fn interface_deleted_while_counting() {
    let test = "interface_deleted_while_counting";
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let tool = Tool::bpfdump();
    let dev = lab.dev(Side::A);
    let file = dir.path("ebpf.pcap");

    let mut count = lab.capture(
        Side::A,
        &tool,
        &args(&["-i", &dev, "-n", "--count", "--json"]),
    );
    wait_said(&mut count, "counting in the kernel");
    let mut cap = lab.capture(
        Side::A,
        &tool,
        &args(&[
            "-i",
            &dev,
            "-n",
            "--ebpf",
            "--json",
            "-U",
            "--immediate-mode",
            "-w",
            &file.display().to_string(),
        ]),
    );
    cap.wait_listening();
    wait_said(&mut cap, "counting every packet in the kernel");

    let mac = lab.link(Side::B).mac;
    let (a4, b4) = (lab.ip4(Side::A), lab.ip4(Side::B));
    let frames: Vec<Vec<u8>> = (0..23)
        .map(|i| {
            ether(
                NOBODY,
                mac,
                &[],
                0x0800,
                &ipv4_udp(
                    b4,
                    a4,
                    40000,
                    9,
                    i,
                    &payload("gone", i as usize, 10 + i as usize),
                ),
            )
        })
        .collect();
    let bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
    lab.send_frames(Side::B, &frames);
    wait_packets(&mut cap, &file, frames.len());
    std::thread::sleep(Duration::from_millis(100));

    lab.ip_cmd(Side::A, &["link", "del", &dev]);
    for (r, ready) in [
        (count, "counting in the kernel"),
        (cap, "counting every packet"),
    ] {
        let done = r.finish();
        assert_eq!(
            done.code(),
            Some(1),
            "{}: want exit status 1 when the interface goes away; stderr:\n{}",
            done.cmdline,
            done.stderr
        );
        // After the line saying it was ready: tcpdump's three lines when capturing, and one
        // line naming the interface.
        let after: Vec<&str> = done
            .stderr
            .lines()
            .skip_while(|l| !l.contains(ready))
            .skip(1)
            .filter(|l| !is_stats_line(l))
            .collect();
        assert_eq!(
            after.len(),
            1,
            "{}: want one error line; stderr:\n{}",
            done.cmdline,
            done.stderr
        );
        assert!(
            after[0].starts_with(&format!("bpfdump: {dev}: ")),
            "{}: the error line does not name {dev}: {:?}",
            done.cmdline,
            after[0]
        );
        let report = final_report(&done);
        assert_eq!(
            (
                u(&report, &["seen", "packets"]),
                u(&report, &["seen", "bytes"])
            ),
            (frames.len() as u64, bytes),
            "{}: the counters so far: {report}",
            done.cmdline
        );
        assert_eq!(
            u(&report, &["matched", "packets"]),
            frames.len() as u64,
            "{report}"
        );
    }
    let c = load(&file);
    assert_eq!(c.packets.len(), frames.len());
}

/// tcpdump's closing lines (`N packets captured` ...).
fn is_stats_line(l: &str) -> bool {
    ["captured", "received by filter", "dropped by kernel"]
        .iter()
        .any(|w| {
            l.ends_with(w)
                && l.split(' ')
                    .next()
                    .is_some_and(|n| n.parse::<u64>().is_ok())
        })
}

/// GSO: a TCP bulk transfer from B to A, captured and counted with `--ebpf` on B's veth for
/// what B sends. TCP hands the veth packets of up to 64 KB (TSO is on), each standing for
/// ceil(payload / MSS) wire segments (the kernel's `gso_segs`, set from the same MSS), and
/// 1 for a packet without payload. So `matched.segments` must equal that sum over the
/// packets in the file, with the connection's MSS (TCP_MAXSEG); and `seen.segments` must
/// exceed `seen.packets`.
#[test]
fn gso_segments_match_tcp_mss() {
    let test = "gso_segments_match_tcp_mss";
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let tool = Tool::bpfdump();
    let file = dir.path("gso.pcap");
    let b4 = lab.ip4(Side::B);
    let filter = format!("tcp and src host {b4}");
    let mut cap = lab.capture(
        Side::B,
        &tool,
        &args(&[
            "-i",
            &lab.dev(Side::B),
            "-n",
            "--ebpf",
            "--json",
            "-w",
            &file.display().to_string(),
            &filter,
        ]),
    );
    cap.wait_listening();
    wait_said(&mut cap, "counting every packet in the kernel");

    const DATA: usize = 3 << 20;
    let addr = SocketAddr::from((lab.ip4(Side::A), 5301));
    let listener = lab.in_ns(Side::A, || TcpListener::bind(addr).expect("listen"));
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).expect("read");
        got.len()
    });
    let mut client = lab.in_ns(Side::B, || {
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect")
    });
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let chunk = vec![0x5au8; 256 << 10];
    for _ in 0..DATA / chunk.len() {
        client.write_all(&chunk).unwrap();
    }
    let mss = tcp_maxseg(&client);
    client.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(server.join().unwrap(), DATA);
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap(); // the server's FIN: the connection is over
    drop(client);
    std::thread::sleep(Duration::from_millis(300));
    let done = cap.stop();
    done.assert_success();
    let report = final_report(&done);

    let c = load(&file);
    let mut segs = 0u64;
    let mut payload_bytes = 0u64;
    for p in &c.packets {
        let d = decode(LINKTYPE_ETHERNET, &p.data);
        let L4::Tcp { payload, .. } = &d.l4 else {
            panic!("not TCP: {}", summary(LINKTYPE_ETHERNET, &p.data));
        };
        assert_eq!(p.wirelen as usize, p.data.len(), "a cut packet");
        payload_bytes += payload.len() as u64;
        segs += (payload.len() as u64).div_ceil(mss).max(1);
    }
    let (seen_p, seen_s) = (
        u(&report, &["seen", "packets"]),
        u(&report, &["seen", "segments"]),
    );
    if seen_s == seen_p {
        skip(test, &format!("no GSO packets on this veth ({seen_p} packets, as many segments): nothing to check"));
        return;
    }
    assert!(seen_s > seen_p, "{report}");
    assert!(
        payload_bytes >= DATA as u64,
        "the file holds {payload_bytes} bytes of payload, {DATA} were sent"
    );
    let (packets, bytes) = file_totals(&c);
    assert_eq!(
        (
            u(&report, &["matched", "packets"]),
            u(&report, &["matched", "bytes"])
        ),
        (packets, bytes),
        "matched vs the file: {report}"
    );
    assert_eq!(u(&report, &["kernel", "received"]), packets, "{report}");
    assert_eq!(u(&report, &["kernel", "dropped"]), 0, "{report}");
    assert_eq!(
        u(&report, &["matched", "segments"]),
        segs,
        "matched segments vs the sum of ceil(payload / MSS {mss}) over the {packets} packets sent: {report}"
    );
    assert!(
        segs > packets,
        "GSO packets were sent, yet segments = packets: {report}"
    );
}

/// The connection's current MSS (TCP_MAXSEG), the size TCP cuts GSO packets into.
fn tcp_maxseg(s: &TcpStream) -> u64 {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a valid socket, and a c_int with its size.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MAXSEG,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(r, 0, "TCP_MAXSEG: {}", std::io::Error::last_os_error());
    assert!(v > 500, "TCP_MAXSEG {v}");
    v as u64
}
