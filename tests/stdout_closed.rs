//! bpfdump with its standard output closed (`>&-`, not /dev/null): what it would print
//! cannot be written, so it says so and fails, as tcpdump does ("Unable to write output:
//! Bad file descriptor", a non-zero status). With nothing to print it succeeds, as tcpdump
//! does. Rust's runtime points a closed stdout at /dev/null before `main`; these tests run
//! the binary through `sh` so that descriptor 1 really is closed when it starts.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{have_tcpdump, put16, put32, TempDir, BIN};

/// Runs `bpfdump ARGS >&-`.
fn closed(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" "$@" >&-"#)
        .arg(BIN)
        .args(args)
        .output()
        .unwrap()
}

fn sample() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures/sample.pcap")
        .to_str()
        .unwrap()
        .to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A pcap file with no packets.
fn empty_pcap(tmp: &TempDir) -> String {
    let mut pcap = Vec::new();
    put32(&mut pcap, false, 0xa1b2_c3d4);
    put16(&mut pcap, false, 2);
    put16(&mut pcap, false, 4);
    for v in [0, 0, 262_144, 1] {
        put32(&mut pcap, false, v);
    }
    tmp.file("empty.pcap", &pcap)
}

#[test]
fn packets_to_a_closed_stdout_fail() {
    let s = sample();
    // A whole capture, and one packet (which tcpdump's stdio would only try to write at
    // exit, unchecked: it loses that one silently).
    for args in [
        &["-nn", "-r", &s][..],
        &["-nn", "-c", "1", "-r", &s],
        &["-vvv", "-nn", "-l", "-r", &s],
    ] {
        let o = closed(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).ends_with("bpfdump: stdout: Bad file descriptor\n"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}

#[test]
fn tcpdump_fails_there_too() {
    if !have_tcpdump() {
        eprintln!("SKIPPED: tcpdump_fails_there_too: tcpdump is not installed");
        return;
    }
    let o = Command::new("sh")
        .arg("-c")
        .arg(r#"exec tcpdump -nn -r "$0" >&-"#)
        .arg(sample())
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Unable to write output: Bad file descriptor"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn listings_to_a_closed_stdout_fail() {
    // Text printed in one go (the -d listing) goes through output::print.
    let o = closed(&["-d", "-r", &sample(), "tcp"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).ends_with("bpfdump: stdout: Bad file descriptor\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn nothing_to_print_is_no_failure() {
    // As with tcpdump: no packet, or none kept, or packets written to a file, never touch
    // stdout.
    let tmp = TempDir::new("stdout-closed");
    let empty = empty_pcap(&tmp);
    let s = sample();
    let out = tmp.path("out.pcap");
    let out = out.to_str().unwrap();
    for args in [
        &["-nn", "-r", &empty][..],
        &["-nn", "-r", &s, "host 203.0.113.99"],
        &["-r", &s, "-w", out],
    ] {
        let o = closed(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("bpfdump:"), "{args:?}: {}", stderr(&o));
    }
    assert!(std::fs::metadata(out).unwrap().len() > 24);
}

#[test]
fn files_opened_later_do_not_take_stdout() {
    // With stdout closed, the capture file would be the next descriptor opened, 1: a
    // runtime that left it closed might write the packet lines into the file it writes.
    let tmp = TempDir::new("stdout-closed-w");
    let s = sample();
    let out = tmp.path("copy.pcap");
    let out = out.to_str().unwrap();
    let o = closed(&["-r", &s, "-w", out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plain = Command::new(BIN)
        .args(["-r", &s, "-w", "-"])
        .output()
        .unwrap();
    assert_eq!(std::fs::read(out).unwrap(), plain.stdout);
}

#[test]
fn counter_reports_to_a_closed_stdout_fail() {
    // --count --json writes its reports to stdout (src/counting.rs, once through io::stdout,
    // which takes EBADF for success). Needs CAP_BPF: without it, say so and skip.
    let o = closed(&["-i", "lo", "--count", "--duration", "0.2", "--json"]);
    let err = stderr(&o);
    if err.contains("eBPF needs CAP_BPF") {
        eprintln!("SKIPPED: counter_reports_to_a_closed_stdout_fail: needs CAP_BPF (root)");
        return;
    }
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.ends_with("bpfdump: stdout: Bad file descriptor\n"),
        "{err}"
    );
}
