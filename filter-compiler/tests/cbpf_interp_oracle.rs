//! Interpreter oracle: runs libpcap's own programs with our interpreter over the sample
//! captures and requires exactly the packets tcpdump keeps.
//!
//! For each capture in `captures/` and each expression in `tests/data/cbpf_exprs.txt` of that
//! capture's link type, the program comes from `tcpdump -r CAPTURE -ddd EXPR` (compiled for
//! the file, as tcpdump applies it) and tcpdump's verdict from `tcpdump -r CAPTURE -w - EXPR`:
//! the kept packets, re-read as pcap, are identified by their timestamps, which are unique in
//! these captures. (Reading `-w -` rather than the text output avoids guessing which output
//! lines start a packet.)
//!
//! Skipped, with a note: programs with backward jumps (`protochain`; the kernel rejects them,
//! and our interpreter treats jump offsets as unsigned like the kernel), and programs using
//! Linux ancillary loads, which libpcap's userland `bpf_filter` cannot evaluate (it treats
//! them as out-of-bounds packet reads and rejects every packet).
use filter_compiler::cbpf::{self, Insn};
use filter_compiler::dump::parse_decimal;
use filter_compiler::interp::{run, Meta};
use filter_compiler::vm::Vm;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A packet's identity: its timestamp in microseconds (tcpdump writes µs files).
type Stamp = (u32, u32);

struct Capture {
    linktype: u32,
    packets: Vec<(Stamp, Vec<u8>, u32)>,
}

/// A minimal pcap reader: 24-byte global header, then 16-byte record headers. Accepts both
/// byte orders and both the µs (a1b2c3d4) and ns (a1b23c4d) magic.
fn read_pcap(bytes: &[u8]) -> Result<Capture, String> {
    let magic = bytes.get(..4).ok_or("no pcap header")?;
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        _ => return Err(format!("not a pcap file (magic {magic:02x?})")),
    };
    let u32_at = |off: usize| -> Result<u32, String> {
        let b: [u8; 4] = bytes
            .get(off..off + 4)
            .ok_or("truncated header")?
            .try_into()
            .unwrap();
        Ok(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let linktype = u32_at(20)? & 0x0fff_ffff; // the top bits carry FCS information
    let mut packets = Vec::new();
    let mut off = 24;
    while off < bytes.len() {
        let (sec, frac, caplen, len) = (
            u32_at(off)?,
            u32_at(off + 4)?,
            u32_at(off + 8)?,
            u32_at(off + 12)?,
        );
        let start = off + 16;
        let data = bytes
            .get(start..start + caplen as usize)
            .ok_or("truncated record")?;
        // libpcap reading an ns file at µs precision truncates the same way.
        let usec = if nanos { frac / 1000 } else { frac };
        packets.push(((sec, usec), data.to_vec(), len));
        off = start + caplen as usize;
    }
    Ok(Capture { linktype, packets })
}

fn linktype_name(linktype: u32) -> Option<&'static str> {
    Some(match linktype {
        1 => "EN10MB",
        101 => "RAW",
        113 => "LINUX_SLL",
        276 => "LINUX_SLL2",
        _ => return None,
    })
}

/// Runs tcpdump; `None` if it is not installed.
fn tcpdump(args: &[&str]) -> Option<Result<Vec<u8>, String>> {
    match Command::new("tcpdump").args(args).output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(Err(e.to_string())),
        Ok(out) if !out.status.success() => {
            Some(Err(String::from_utf8_lossy(&out.stderr).into_owned()))
        }
        Ok(out) => Some(Ok(out.stdout)),
    }
}

fn tcpdump_ok(args: &[&str]) -> Vec<u8> {
    tcpdump(args)
        .expect("tcpdump vanished")
        .unwrap_or_else(|e| panic!("tcpdump {args:?}: {e}"))
}

fn skip_reason(prog: &[Insn]) -> Option<&'static str> {
    let abs = |c: u16| {
        c == cbpf::LD | cbpf::W | cbpf::ABS
            || c == cbpf::LD | cbpf::H | cbpf::ABS
            || c == cbpf::LD | cbpf::B | cbpf::ABS
    };
    if prog
        .iter()
        .any(|i| i.code == cbpf::JMP | cbpf::JA && (i.k as i32) < 0)
    {
        Some("backward jump")
    } else if prog.iter().any(|i| abs(i.code) && i.k >= cbpf::SKF_AD_OFF) {
        Some("ancillary load")
    } else {
        None
    }
}

fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures")
}

#[test]
fn interpreter_matches_tcpdump_on_captures() {
    if tcpdump(&["--version"]).is_none() {
        eprintln!("\n*** SKIPPED: tcpdump not found; interpreter oracle test did not run ***\n");
        return;
    }
    let dir = captures_dir();
    if !dir.join("sample.pcap").exists() {
        eprintln!(
            "\n*** SKIPPED: {} not found; interpreter oracle test did not run ***\n",
            dir.join("sample.pcap").display()
        );
        return;
    }
    let exprs_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cbpf_exprs.txt");
    let exprs = std::fs::read_to_string(&exprs_path).expect("expression list");
    let exprs: Vec<(&str, &str)> = exprs
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('\t').expect("LINKTYPE<TAB>expression"))
        .collect();

    let meta = Meta::default();
    let (mut compared, mut kept_somewhere, mut failures, mut skipped) =
        (0, 0, Vec::new(), Vec::new());
    for name in [
        "sample.pcap",
        "sample-ns.pcap",
        "sll.pcap",
        "sll2.pcap",
        "raw.pcap",
    ] {
        let path = dir.join(name);
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("note: {} missing, skipped", path.display());
            continue;
        };
        let cap = read_pcap(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let Some(lt) = linktype_name(cap.linktype) else {
            eprintln!(
                "note: {name}: link type {} not in the expression list, skipped",
                cap.linktype
            );
            continue;
        };
        let stamps: BTreeSet<Stamp> = cap.packets.iter().map(|p| p.0).collect();
        assert_eq!(
            stamps.len(),
            cap.packets.len(),
            "{name}: timestamps are not unique"
        );
        let path = path.to_str().expect("utf-8 path");

        for &(_, expr) in exprs.iter().filter(|(l, _)| *l == lt) {
            // Some filters compile for a live device but not for a savefile (e.g. `ifindex`
            // on LINUX_SLL, whose header has no interface index).
            let ddd = match tcpdump(&["-r", path, "-ddd", "--", expr]).expect("tcpdump vanished") {
                Ok(out) => String::from_utf8(out).expect("utf-8"),
                Err(e) => {
                    let msg = e.lines().last().unwrap_or_default().to_string();
                    skipped.push(format!(
                        "{name} {expr:?} (tcpdump refuses it for this file: {msg})"
                    ));
                    continue;
                }
            };
            let prog = parse_decimal(&ddd).unwrap_or_else(|e| panic!("{name} {expr:?}: {e}"));
            if let Some(why) = skip_reason(&prog) {
                skipped.push(format!("{name} {expr:?} ({why})"));
                continue;
            }
            let theirs: BTreeSet<Stamp> =
                read_pcap(&tcpdump_ok(&["-r", path, "-w", "-", "--", expr]))
                    .unwrap_or_else(|e| panic!("{name} {expr:?}: tcpdump -w output: {e}"))
                    .packets
                    .into_iter()
                    .map(|p| p.0)
                    .collect();
            // The decoded form (what bpfdump -r runs) gives the same value on every packet.
            let vm = Vm::new(&prog);
            for (stamp, data, wirelen) in &cap.packets {
                let (want, got) = (
                    run(&prog, data, *wirelen, &meta),
                    vm.run(data, *wirelen, &meta),
                );
                if want != got {
                    failures.push(format!(
                        "{name} {expr:?}: packet {stamp:?}: interp {want}, vm {got}"
                    ));
                }
            }
            let ours: BTreeSet<Stamp> = cap
                .packets
                .iter()
                .filter(|(_, data, wirelen)| run(&prog, data, *wirelen, &meta) != 0)
                .map(|p| p.0)
                .collect();
            compared += 1;
            kept_somewhere += usize::from(!theirs.is_empty());
            if ours != theirs {
                let index = |s: &Stamp| {
                    cap.packets
                        .iter()
                        .position(|p| p.0 == *s)
                        .unwrap_or(usize::MAX)
                };
                let only_ours: Vec<usize> = ours.difference(&theirs).map(index).collect();
                let only_theirs: Vec<usize> = theirs.difference(&ours).map(index).collect();
                failures.push(format!(
                    "{name} {expr:?}: kept only by us: packets {only_ours:?}; only by tcpdump: packets {only_theirs:?}"
                ));
            }
        }
    }
    if !skipped.is_empty() {
        eprintln!(
            "skipped {} programs:\n  {}",
            skipped.len(),
            skipped.join("\n  ")
        );
    }
    eprintln!(
        "compared {compared} expression/capture pairs ({kept_somewhere} kept at least one packet)"
    );
    assert!(
        failures.is_empty(),
        "{} of {compared} comparisons differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Guard against a vacuous pass (missing captures, everything skipped, empty verdicts).
    assert!(
        compared >= 100,
        "only {compared} expression/capture pairs were compared"
    );
    assert!(
        kept_somewhere * 10 >= compared * 8,
        "too many filters kept nothing ({kept_somewhere} of {compared} kept something)"
    );
}
