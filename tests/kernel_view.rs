//! Kernel-mode programs must decide like offline ones. A Linux socket filter does not see the
//! bytes a capture file holds:
//!
//! - on an Ethernet SOCK_RAW packet socket the outer 802.1Q/802.1ad tag has been stripped into
//!   metadata (SKF_AD_VLAN_TAG*), so the frame is 4 bytes shorter;
//! - on a cooked (SOCK_DGRAM, `any` device) socket there is no link-layer header at all: the
//!   packet starts at the network header and the cooked fields (protocol, packet type,
//!   interface index, ARPHRD type) are metadata.
//!
//! For each packet of a capture this builds that kernel view and requires
//! `run(kernel program, view) != 0` exactly when `run(offline program, original) != 0`.
//! Packets the kernel could never show (a tagged frame cut inside its tag, a record cut
//! inside the link header) are skipped. Expressions that read raw link-layer bytes are
//! skipped on the cooked captures; `inbound`/`outbound` on Ethernet (offline Ethernet cannot
//! express them).

mod support;

use filter_compiler::cbpf::{PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST};
use filter_compiler::interp::Meta;
use filter_compiler::{LinkType, Target};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use support::*;

const ARPHRD_ETHER: u16 = 1;

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}
fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// skb->protocol as eth_type_trans() sets it for an (untagged) Ethernet frame.
fn eth_type_trans(frame: &[u8]) -> u16 {
    let t = be16(&frame[12..14]);
    if t >= 0x0600 {
        t
    } else if frame.len() >= 16 && frame[14] == 0xff && frame[15] == 0xff {
        0x0001 // ETH_P_802_3: raw 802.3 (Novell)
    } else {
        0x0004 // ETH_P_802_2
    }
}

/// What an AF_PACKET SOCK_RAW socket's filter sees for an Ethernet frame.
fn ethernet_view(p: &Packet) -> Option<(Cow<'_, [u8]>, u32, Meta)> {
    let d = &p.data;
    if d.len() < 14 {
        return None;
    }
    let pkttype = if d[0..6] == [0xff; 6] {
        PACKET_BROADCAST
    } else if d[0] & 1 != 0 {
        PACKET_MULTICAST
    } else {
        PACKET_HOST
    };
    let mut meta = Meta {
        pkttype,
        ifindex: 1,
        hatype: ARPHRD_ETHER,
        net_off: 14,
        ll_off: Some(0),
        ..Meta::default()
    };
    let tpid = be16(&d[12..14]);
    let (bytes, wirelen) = if tpid == 0x8100 || tpid == 0x88a8 {
        if d.len() < 18 {
            return None;
        }
        meta.vlan_tci = Some(be16(&d[14..16]));
        meta.vlan_tpid = tpid;
        let mut v = Vec::with_capacity(d.len() - 4);
        v.extend_from_slice(&d[..12]);
        v.extend_from_slice(&d[16..]);
        (Cow::Owned(v), p.wirelen.saturating_sub(4))
    } else {
        (Cow::Borrowed(&d[..]), p.wirelen)
    };
    meta.protocol = eth_type_trans(&bytes);
    Some((bytes, wirelen, meta))
}

/// What a cooked socket's filter sees for a LINUX_SLL record (16-byte header).
fn sll_view(p: &Packet) -> Option<(Cow<'_, [u8]>, u32, Meta)> {
    let d = &p.data;
    if d.len() < 16 {
        return None;
    }
    let meta = Meta {
        pkttype: be16(&d[0..2]) as u32,
        hatype: be16(&d[2..4]),
        protocol: be16(&d[14..16]),
        ifindex: 0,
        net_off: 0,
        ll_off: None,
        ..Meta::default()
    };
    Some((Cow::Borrowed(&d[16..]), p.wirelen.saturating_sub(16), meta))
}

/// What a cooked socket's filter sees for a LINUX_SLL2 record (20-byte header).
fn sll2_view(p: &Packet) -> Option<(Cow<'_, [u8]>, u32, Meta)> {
    let d = &p.data;
    if d.len() < 20 {
        return None;
    }
    let meta = Meta {
        protocol: be16(&d[0..2]),
        ifindex: be32(&d[4..8]),
        hatype: be16(&d[8..10]),
        pkttype: d[10] as u32,
        net_off: 0,
        ll_off: None,
        ..Meta::default()
    };
    Some((Cow::Borrowed(&d[20..]), p.wirelen.saturating_sub(20), meta))
}

type View = for<'p> fn(&'p Packet) -> Option<(Cow<'p, [u8]>, u32, Meta)>;

fn compare(linktype: LinkType, skip: fn(&str) -> bool, view: View, name: &str) {
    let suite = SUITES.iter().find(|s| s.linktype == linktype).unwrap();
    let capture = load_capture(suite.capture);
    let viewable: Vec<usize> = capture
        .packets
        .iter()
        .filter(|p| view(p).is_some())
        .map(|p| p.index)
        .collect();
    let unviewable: BTreeSet<usize> = capture
        .packets
        .iter()
        .filter(|p| view(p).is_none())
        .map(|p| p.index)
        .collect();
    let entries: Vec<Entry> = load_corpus(suite.corpus)
        .into_iter()
        .filter(|e| !skip(&e.expr))
        .collect();
    let results = par_map(&entries, |e| {
        let mut out = Vec::new();
        for optimize in [true, false] {
            let mode = if optimize {
                "optimize on"
            } else {
                "optimize off"
            };
            // The kernel program against the offline one compiled the same way: which loads
            // run (and so which truncated packets are rejected) depends on the optimizer.
            let offline = match compile(&e.expr, Target::offline(linktype), optimize) {
                Compiled::Ok(p) => p,
                Compiled::Err(err) if proves_no_match(&err) => continue,
                other => {
                    out.push(format!(
                        "offline, {mode}: {}",
                        other.describe_failure().unwrap()
                    ));
                    continue;
                }
            };
            let reference = match kept_by(&offline.insns, &capture.packets, |p| {
                view(p)?; // only packets the kernel could show
                Some((Cow::Borrowed(&p.data[..]), p.wirelen, Meta::default()))
            }) {
                Ok(k) => k,
                Err(m) => {
                    out.push(format!("offline program, {mode}: {m}"));
                    continue;
                }
            };
            let kernel = match compile(&e.expr, Target::kernel(linktype), optimize) {
                Compiled::Ok(p) => p,
                other => {
                    out.push(format!(
                        "kernel, {mode}: {}",
                        other.describe_failure().unwrap()
                    ));
                    continue;
                }
            };
            match kept_by(&kernel.insns, &capture.packets, view) {
                Err(m) => out.push(format!("kernel, {mode}: {m}")),
                Ok(k) if k != reference => {
                    let only_k: BTreeSet<usize> = k.difference(&reference).copied().collect();
                    let only_o: BTreeSet<usize> = reference.difference(&k).copied().collect();
                    out.push(format!(
                        "kernel, {mode}: only the kernel program keeps [{}]; only the offline one keeps [{}]",
                        ranges(&only_k),
                        ranges(&only_o)
                    ));
                }
                Ok(_) => {}
            }
        }
        out
    });
    let mut details = String::new();
    let mut nbad = 0;
    for (e, problems) in entries.iter().zip(&results) {
        if problems.is_empty() {
            continue;
        }
        nbad += 1;
        let _ = writeln!(details, "{} `{}`:", e.origin(), e.expr);
        for p in problems {
            let _ = writeln!(details, "    {p}");
        }
    }
    let count = format!(
        "kernel_view[{name}]: {} expressions x {} packets of {}: {} agree ({} packets skipped as unviewable: [{}])",
        entries.len(),
        viewable.len(),
        suite.capture,
        entries.len() - nbad,
        unviewable.len(),
        ranges(&unviewable)
    );
    eprintln!("{count}");
    if nbad > 0 {
        let path = write_report(
            &format!("kernel-view-{name}-report.txt"),
            &format!("{count}\n{details}"),
        );
        panic!("{nbad} expressions decide differently in kernel mode (report also in {path})\n{count}\n{details}");
    }
}

#[test]
fn kernel_view_ethernet() {
    compare(LinkType::En10mb, uses_direction, ethernet_view, "ethernet");
}

#[test]
fn kernel_view_sll() {
    compare(LinkType::LinuxSll, touches_link_bytes, sll_view, "sll");
}

#[test]
fn kernel_view_sll2() {
    compare(LinkType::LinuxSll2, touches_link_bytes, sll2_view, "sll2");
}
