//! The packet printer against tcpdump: every sample capture printed by both with the same
//! flags, compared packet by packet. A packet whose text differs must be listed in
//! tests/print-differences.txt with its protocol (one outside the set that must match) and a
//! reason; a listed packet that no longer differs fails too, so the list stays true.
//! Then every sample packet cut at every length, which must print exactly as tcpdump
//! prints it, truncation markers and all.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::{have_tcpdump, parse_pcap, put16, put32, TempDir, BIN};

const CAPTURES: &[&str] = &["sample.pcap", "sll.pcap", "sll2.pcap", "raw.pcap"];
const FLAG_SETS: &[&[&str]] = &[
    &["-nn", "-tt"],
    &["-nn", "-tt", "-e"],
    &["-nn", "-tt", "-v"],
    &["-nn", "-tt", "-vvv", "-e", "-XX"],
    &["-nn", "-tt", "-x"],
    &["-nn", "-tt", "-X"],
    &["-nn", "-tt", "-q"],
    &["-nn", "-ttt", "-S", "-A"],
];

/// Protocols whose lines must be identical to tcpdump's (the issue's list).
const MUST_MATCH: &[&str] = &[
    "ethernet", "vlan", "arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmp6",
];

/// Splits printer output into packets: a packet starts at a line that does not begin with
/// a tab or space (continuation lines of -v/-x/-X start with one). -A output has no such
/// marker, so it is split on the timestamp column instead.
fn packets(text: &str, ascii: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        let starts = if ascii {
            // -ttt: " 00:00:00.001000 " at the start of each packet.
            line.len() > 17
                && line.as_bytes()[0] == b' '
                && line.as_bytes()[3] == b':'
                && line.as_bytes()[9] == b'.'
        } else {
            !line.starts_with('\t') && !line.starts_with(' ')
        };
        if starts || out.is_empty() {
            out.push(line.to_string());
        } else {
            out.last_mut().unwrap().push_str(line);
        }
    }
    out
}

fn run(cmd: &str, flags: &[&str], file: &Path) -> String {
    let out = Command::new(cmd)
        .args(flags)
        .arg("-r")
        .arg(file)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd} {flags:?} -r {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `capture flags index` -> protocol, from the known-differences file.
fn known() -> BTreeMap<(String, String, usize), String> {
    let text = include_str!("print-differences.txt");
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!(f.len() >= 4, "bad line in print-differences.txt: {line}");
        let proto = f[3].to_string();
        assert!(
            !MUST_MATCH.contains(&proto.as_str()),
            "print-differences.txt lists a {proto} packet, which must match tcpdump: {line}"
        );
        let idx: usize = f[2].parse().expect("packet index");
        m.insert((f[0].to_string(), f[1].to_string(), idx), proto);
    }
    m
}

#[test]
fn sample_captures_print_as_tcpdump_does() {
    if !have_tcpdump() {
        eprintln!("SKIPPED: sample_captures_print_as_tcpdump_does: tcpdump is not installed");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let known = known();
    let mut seen = BTreeSet::new();
    let mut unexpected = Vec::new();
    let mut compared = 0;
    for cap in CAPTURES {
        let file = dir.join(cap);
        for flags in FLAG_SETS {
            let ascii = flags.contains(&"-A");
            let ours = packets(&run(BIN, flags, &file), ascii);
            let theirs = packets(&run("tcpdump", flags, &file), ascii);
            assert_eq!(ours.len(), theirs.len(), "{cap} {flags:?}: packet count");
            let flag_text = flags.join(" ");
            for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                compared += 1;
                let k = (cap.to_string(), flag_text.clone(), i);
                if a == b {
                    continue;
                }
                if known.contains_key(&k) {
                    seen.insert(k);
                    continue;
                }
                unexpected.push(format!(
                    "{cap} | {flag_text} | {i}\n  tcpdump: {}\n  bpfdump: {}",
                    b.trim_end().replace('\n', "\n           "),
                    a.trim_end().replace('\n', "\n           ")
                ));
            }
        }
    }
    let stale: Vec<String> = known
        .keys()
        .filter(|k| !seen.contains(*k))
        .map(|(c, f, i)| format!("{c} | {f} | {i}"))
        .collect();
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "{} of {compared} packets differ from tcpdump and are not listed:\n{}\n\nlisted but now equal (remove from tests/print-differences.txt):\n{}",
        unexpected.len(),
        unexpected.join("\n"),
        stale.join("\n")
    );
}

/// Flag sets for the cut packets: the markers, what -v prints before them, and whether
/// tcpdump got there by longjmp (then -x dumps the link header as well).
const CUT_FLAG_SETS: &[&[&str]] = &[
    &["-nn", "-tt"],
    &["-nn", "-tt", "-v"],
    &["-nn", "-tt", "-e", "-x"],
    &["-nn", "-tt", "-vvv", "-e", "-XX"],
    &["-nn", "-tt", "-q"],
    &["-nn", "-ttt", "-S", "-A"],
];

/// The capture with each of its packets repeated at every captured length from 1 byte up,
/// as a snaplen of that many bytes would have cut it (the original length kept).
fn every_cut(pcap: &[u8]) -> Vec<u8> {
    let (header, records) = parse_pcap(pcap);
    let big = header[0] == 0xa1;
    let mut out = header.clone();
    for r in &records {
        let data = &r[16..];
        for n in 1..=data.len() {
            out.extend_from_slice(&r[..8]);
            put32(&mut out, big, n as u32);
            out.extend_from_slice(&r[12..16]);
            out.extend_from_slice(&data[..n]);
        }
    }
    out
}

#[test]
fn every_cut_of_every_sample_packet_prints_as_tcpdump_does() {
    if !have_tcpdump() {
        eprintln!(
            "SKIPPED: every_cut_of_every_sample_packet_prints_as_tcpdump_does: tcpdump is not installed"
        );
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let tmp = TempDir::new("cuts");
    let mut differ = Vec::new();
    let mut compared = 0;
    for cap in CAPTURES {
        let cut = every_cut(&std::fs::read(dir.join(cap)).unwrap());
        let file = Path::new(&tmp.file(cap, &cut)).to_path_buf();
        for flags in CUT_FLAG_SETS {
            let ascii = flags.contains(&"-A");
            let ours = packets(&run(BIN, flags, &file), ascii);
            let theirs = packets(&run("tcpdump", flags, &file), ascii);
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{cap} cut {flags:?}: packet count"
            );
            for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                compared += 1;
                if a != b {
                    differ.push(format!(
                        "{cap} cut | {} | record {i}\n  tcpdump: {}\n  bpfdump: {}",
                        flags.join(" "),
                        b.trim_end().replace('\n', "\n           "),
                        a.trim_end().replace('\n', "\n           ")
                    ));
                }
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {compared} cut packets print differently from tcpdump (first 20):\n{}",
        differ.len(),
        differ
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// IPv4 with `opts` (padded with NOPs to a whole word) and a UDP or TCP `payload`.
fn ipv4(opts: &[u8], proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut opts = opts.to_vec();
    while opts.len() % 4 != 0 {
        opts.push(1);
    }
    let total = (20 + opts.len() + payload.len()) as u16;
    let mut f = vec![2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 0x08, 0x00];
    f.push(0x40 | (5 + opts.len() / 4) as u8);
    f.push(0);
    f.extend(total.to_be_bytes());
    f.extend([0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend(opts);
    f.extend(payload);
    f
}

/// IPv6 with payload length `plen` (0 for a jumbogram), first next header `nh`.
fn ipv6(nh: u8, plen: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![
        2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 0x86, 0xdd, 0x60, 0, 0, 0,
    ];
    f.extend(plen.to_be_bytes());
    f.extend([nh, 64]);
    f.extend([0; 15]);
    f.push(1);
    f.extend([0; 15]);
    f.push(2);
    f.extend(payload);
    f
}

/// A hop-by-hop or destination options header holding `opts`, padded with Pad1.
fn opt_header(nh: u8, opts: &[u8]) -> Vec<u8> {
    let mut h = vec![nh, 0];
    h.extend(opts);
    while h.len() % 8 != 0 {
        h.push(0);
    }
    h[1] = (h.len() / 8 - 1) as u8;
    h
}

fn udp(n: usize) -> Vec<u8> {
    let mut u = vec![0x03, 0xe8, 0x07, 0xd0];
    u.extend(((8 + n) as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend((0..n).map(|i| b'a' + (i % 26) as u8));
    u
}

fn tcp(flags: u8, opts: &[u8], data: &[u8]) -> Vec<u8> {
    let mut t = vec![0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 2];
    t.push((((20 + opts.len()) / 4) as u8) << 4);
    t.extend([flags, 0, 100, 0, 0, 0, 0]);
    t.extend(opts);
    t.extend(data);
    t
}

/// Headers the sample captures lack, each whole and cut at every length: IPv4 record
/// route and timestamp options of every flavour, good and bad lengths and pointers; TCP
/// options; reset data of every length; IPv6 Jumbo Payload options, right and wrong, and
/// hop-by-hop headers out of place.
fn crafted() -> Vec<(Vec<u8>, u32)> {
    let mut frames = Vec::new();
    let ts = |flag: u8, over: u8, ptr: u8, n: u8| {
        let mut o = vec![68, 4 + n, ptr, (over << 4) | flag];
        o.extend(1..=n);
        o
    };
    for flag in [0, 1, 2, 3, 5] {
        for n in [0, 2, 4, 8, 12, 16] {
            for ptr in [1, 5, 9, 13, 17, 21, 4, 6, 0, 255] {
                frames.push(ipv4(&ts(flag, 0, ptr, n), 17, &udp(8)));
            }
        }
    }
    frames.push(ipv4(&ts(0, 3, 5, 8), 17, &udp(8)));
    frames.push(ipv4(&ts(1, 15, 13, 16), 17, &udp(8)));
    for n in [0u8, 1, 2, 3, 4, 5, 6, 8, 12] {
        for ptr in [4, 8, 12, 16, 3, 5, 0, 1] {
            for kind in [7, 131, 137] {
                let mut o = vec![kind, 3 + n, ptr];
                o.extend(10..10 + n);
                frames.push(ipv4(&o, 17, &udp(8)));
            }
        }
    }
    for o in [
        &[68, 2][..],
        &[68, 3, 5],
        &[7, 2],
        &[148, 4, 0, 5],
        &[148, 2],
        &[148, 3, 1],
        &[99, 2],
        &[1, 1, 1, 7],
        &[1, 1, 1, 7, 200],
    ] {
        frames.push(ipv4(o, 17, &udp(8)));
    }
    let tcp_opts = [
        2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7, 5, 10, 0, 0, 0, 1, 0, 0, 0,
        5, 1, 1,
    ];
    frames.push(ipv4(&[], 6, &tcp(0x02, &tcp_opts, b"GET / HTTP/1.1\r\n")));
    for n in [0, 5, 30, 31, 45] {
        let data: Vec<u8> = (0..n).map(|i| b'A' + (i % 26) as u8).collect();
        frames.push(ipv4(&[], 6, &tcp(0x14, &[], &data)));
    }
    let jumbo = |v: u32| {
        let mut o = vec![0xc2, 4];
        o.extend(v.to_be_bytes());
        o
    };
    let two = |a: u32, b: u32| [jumbo(a), jumbo(b)].concat();
    frames.push(ipv6(
        0,
        0,
        &[opt_header(17, &jumbo(70000)), udp(20)].concat(),
    ));
    frames.push(ipv6(
        0,
        0,
        &[opt_header(17, &jumbo(1000)), udp(20)].concat(),
    ));
    frames.push(ipv6(
        0,
        36,
        &[opt_header(17, &jumbo(70000)), udp(20)].concat(),
    ));
    frames.push(ipv6(
        0,
        0,
        &[opt_header(17, &two(70000, 80000)), udp(20)].concat(),
    ));
    frames.push(ipv6(
        0,
        0,
        &[opt_header(17, &two(1000, 70000)), udp(20)].concat(),
    ));
    frames.push(ipv6(
        60,
        36,
        &[opt_header(17, &jumbo(70000)), udp(20)].concat(),
    ));
    frames.push(ipv6(
        60,
        0,
        &[opt_header(17, &jumbo(70000)), udp(20)].concat(),
    ));
    let hbh_dst = [
        opt_header(60, &jumbo(70000)),
        opt_header(17, &jumbo(5)),
        udp(20),
    ];
    frames.push(ipv6(0, 0, &hbh_dst.concat()));
    frames.push(ipv6(0, 0, &opt_header(59, &jumbo(65536))));
    frames.push(ipv6(17, 0, &udp(20)));
    frames.push(ipv6(0, 0, &[opt_header(17, &[1, 0]), udp(20)].concat()));
    let dst_hbh = [opt_header(0, &[1, 0]), opt_header(17, &[1, 0]), udp(20)];
    frames.push(ipv6(60, 36, &dst_hbh.concat()));
    frames.push(ipv6(0, 36, &dst_hbh.concat()));
    let frag = [0x11, 0, 0, 0, 0, 0, 0, 1];
    let jumbo_frag = [opt_header(44, &jumbo(70000)), frag.to_vec(), udp(20)];
    frames.push(ipv6(0, 0, &jumbo_frag.concat()));
    // A type 4 routing header whose length runs past the capture, after a valid jumbo.
    let rt4 = [0x11, 4, 4, 0, 0, 0, 0, 0];
    let jumbo_rt = [
        opt_header(43, &jumbo(70000)),
        rt4.to_vec(),
        vec![0; 16],
        udp(4),
    ];
    frames.push(ipv6(0, 0, &jumbo_rt.concat()));
    // Routing headers of every type with odd and even lengths, segment routing with its
    // last entry short of or past the list, and two routing headers (the first one decides
    // the destination the checksums use).
    let routing = |nh: u8, ty: u8, len: u8, last: u8| {
        let mut h = vec![nh, len, ty, 1, last, 0x5a, 0x12, 0x34];
        h.extend((0..usize::from(len) * 8).map(|i| (i * 7) as u8));
        h
    };
    for ty in [0, 2, 4, 5] {
        for len in [0, 1, 2, 3, 4] {
            for last in [0, 1, 7] {
                let body = [routing(17, ty, len, last), udp(4)].concat();
                frames.push(ipv6(43, body.len() as u16, &body));
            }
        }
    }
    for (a, b) in [(0, 0), (4, 0), (0, 4), (5, 2)] {
        let body = [routing(43, a, 2, 0), routing(17, b, 4, 1), udp(4)].concat();
        frames.push(ipv6(43, body.len() as u16, &body));
    }
    let mut out = Vec::new();
    for f in frames {
        for n in 14..=f.len() {
            out.push((f[..n].to_vec(), f.len() as u32));
        }
        // Also as a frame the capture did not cut but whose IP length runs past it.
        out.push((f.clone(), f.len() as u32 + 70000));
    }
    out
}

#[test]
fn crafted_headers_print_as_tcpdump_does_whole_and_cut() {
    if !have_tcpdump() {
        eprintln!(
            "SKIPPED: crafted_headers_print_as_tcpdump_does_whole_and_cut: tcpdump is not installed"
        );
        return;
    }
    let mut pcap = Vec::new();
    put32(&mut pcap, false, 0xa1b2_c3d4);
    put16(&mut pcap, false, 2);
    put16(&mut pcap, false, 4);
    for v in [0, 0, 262_144, 1] {
        put32(&mut pcap, false, v);
    }
    for (i, (data, orig)) in crafted().iter().enumerate() {
        for v in [1, i as u32, data.len() as u32, *orig] {
            put32(&mut pcap, false, v);
        }
        pcap.extend(data);
    }
    let tmp = TempDir::new("crafted");
    let file = Path::new(&tmp.file("crafted.pcap", &pcap)).to_path_buf();
    let mut differ = Vec::new();
    let mut compared = 0;
    // Names stay off (-nn): what a resolver answers differs between machines.
    let extra: &[&[&str]] = &[&["-nn", "-tt", "-vv", "-x"]];
    for flags in CUT_FLAG_SETS.iter().chain(extra) {
        let ascii = flags.contains(&"-A");
        let ours = packets(&run(BIN, flags, &file), ascii);
        let theirs = packets(&run("tcpdump", flags, &file), ascii);
        assert_eq!(ours.len(), theirs.len(), "crafted {flags:?}: packet count");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            compared += 1;
            if a != b {
                differ.push(format!(
                    "crafted | {} | record {i}\n  tcpdump: {}\n  bpfdump: {}",
                    flags.join(" "),
                    b.trim_end().replace('\n', "\n           "),
                    a.trim_end().replace('\n', "\n           ")
                ));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {compared} crafted packets print differently from tcpdump (first 20):\n{}",
        differ.len(),
        differ
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
