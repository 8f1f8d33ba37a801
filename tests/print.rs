//! The packet printer against tcpdump: every sample capture printed by both with the same
//! flags, compared packet by packet. A packet whose text differs must be listed in
//! tests/print-differences.txt with its protocol (one outside the set that must match) and a
//! reason; a listed packet that no longer differs fails too, so the list stays true.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::{have_tcpdump, BIN};

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
