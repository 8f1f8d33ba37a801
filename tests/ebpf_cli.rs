//! The eBPF flags as a user meets them: the program listing (a golden file), every flag
//! combination that makes no sense refused in one line, rule errors with a caret, and the
//! message naming CAP_BPF when the capability is missing.

mod common;

use std::path::PathBuf;

use common::*;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
        .join(name)
}

/// Compares `got` with the golden file; BPFDUMP_BLESS=1 rewrites it.
fn check_golden(name: &str, got: &str) {
    let path = golden(name);
    if std::env::var_os("BPFDUMP_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (BPFDUMP_BLESS=1 writes it)", path.display()));
    if want != got {
        let first = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        panic!(
            "{} differs from the output at line {} (BPFDUMP_BLESS=1 rewrites it):\nwant: {:?}\ngot:  {:?}",
            path.display(),
            first + 1,
            want.lines().nth(first),
            got.lines().nth(first)
        );
    }
}

#[test]
fn ebpf_listing_is_stable() {
    for (args, file) in [
        (
            &["--count", "-d", "--rule", "dns=udp port 53", "tcp port 443"][..],
            "ebpf-count-tcp443-rule-dns.txt",
        ),
        (
            &[
                "--dump-bytecode=ebpf",
                "--flows",
                "0",
                "-y",
                "LINUX_SLL2",
                "icmp6",
            ][..],
            "ebpf-sll2-icmp6-noflows.txt",
        ),
    ] {
        let r = run(args);
        assert_eq!(r.code(), Some(0), "{args:?}: {}", r.stderr);
        let out = r.stdout_str();
        assert!(out.starts_with("; map 0 counters: per-CPU array"), "{out}");
        assert!(out.trim_end().ends_with("exit"), "{out}");
        check_golden(file, &out);
    }
    // Without --flows 0 there is a flow table, named where it is used.
    let r = run(&["--ebpf", "-d", "udp"]);
    let out = r.stdout_str();
    assert!(
        out.contains("; map 1 flows: LRU hash of 8192 flows"),
        "{out}"
    );
    assert!(out.contains("= map[flows]"), "{out}");
    assert!(out.contains("; skb->len"), "{out}");
}

#[test]
fn listing_of_the_count_program_returns_zero_and_the_capture_program_the_snaplen() {
    let count = run(&["--count", "-d", "-s", "1234", "udp"]).stdout_str();
    let capture = run(&["--ebpf", "-d", "-s", "1234", "udp"]).stdout_str();
    assert!(capture.contains("w0 = 1234"), "{capture}");
    // Count only: the accept path still sets the verdict, then returns 0.
    let tail: Vec<&str> = count.lines().rev().take(6).collect();
    assert!(
        tail.iter().filter(|l| l.ends_with("w0 = 0")).count() == 2,
        "{count}"
    );
    assert_ne!(count, capture);
}

#[test]
fn senseless_combinations_are_refused_in_one_line() {
    let d = TempDir::new("ebpfcli");
    let pcap = d.file("x.pcap", &pcap_file(PcapOpts::default(), &[]));
    let w = d.path("out.pcap");
    let w = w.to_str().unwrap();
    for (args, want) in [
        (
            vec!["-i", "lo", "--count", "-w", w],
            "--count copies no packet",
        ),
        // (--count alone with -r is tcpdump's packet count: tests/tool.rs.)
        (
            vec!["-r", pcap.as_str(), "--count", "--json"],
            "does not read files (-r)",
        ),
        (
            vec!["-r", pcap.as_str(), "--rule", "a=udp"],
            "does not read files (-r)",
        ),
        (vec!["-i", "lo", "--count", "-c", "5"], "use --duration"),
        (
            vec!["-i", "lo", "--count", "-X"],
            "-X is about captured packets",
        ),
        (
            vec!["-i", "lo", "--count", "-B", "1024"],
            "-B is about captured packets",
        ),
        (
            vec!["-i", "lo", "--top", "-e"],
            "-e is about captured packets",
        ),
        (
            vec!["-i", "lo", "--top", "--json"],
            "the view is the output",
        ),
        (
            vec!["-i", "lo", "--ebpf", "--json"],
            "--json with a capture needs -w FILE",
        ),
        (
            vec!["-i", "lo", "--top", "-w", "-"],
            "--top needs the terminal",
        ),
        (vec!["--ebpf", "-dd", "udp"], "assembly only"),
        (
            vec!["--ebpf", "--dump-bytecode=c", "udp"],
            "use --dump-bytecode=ebpf",
        ),
        (
            vec!["-i", "lo", "--count", "--rule", "nameless"],
            "give a name and a filter",
        ),
        (
            vec!["-i", "lo", "--count", "--rule", "a b=udp"],
            "a rule name is 1 to 32",
        ),
        (
            vec!["-i", "lo", "--count", "--rule", "a=udp", "--rule", "a=tcp"],
            "already a rule named a",
        ),
        (
            vec!["-i", "lo", "--count", "--interval", "0"],
            "invalid interval 0",
        ),
        (
            vec!["-i", "lo", "--count", "--duration", "x"],
            "invalid duration x",
        ),
        (
            vec!["-i", "lo", "--count", "--flows", "-1"],
            "invalid --flows -1",
        ),
    ] {
        let r = run(&args);
        let line = assert_one_line_error(&r);
        assert!(line.contains(want), "{args:?}: {line}");
    }
}

#[test]
fn a_bad_rule_points_at_its_own_expression() {
    let r = run(&["--count", "-d", "--rule", "web=tcp port htp", "udp"]);
    assert_eq!(r.code(), Some(1), "{}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stderr);
    assert!(
        lines[0].starts_with("bpfdump: filter: rule web: "),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "tcp port htp");
    assert_eq!(lines[2], "         ^^^");
}

#[test]
fn without_cap_bpf_the_error_names_it() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: without_cap_bpf_the_error_names_it: needs root to drop capabilities");
        return;
    }
    if std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: without_cap_bpf_the_error_names_it: setpriv (util-linux) not found");
        return;
    }
    // Root without CAP_BPF, CAP_SYS_ADMIN and CAP_PERFMON, with CAP_NET_RAW: the eBPF
    // program cannot be loaded (before any socket is opened), the classic path works.
    let drop = "-bpf,-sys_admin,-perfmon";
    let mut c = std::process::Command::new("setpriv");
    c.args(["--bounding-set", drop, "--inh-caps", drop, "--", BIN])
        .args(["-i", "lo", "--count", "--duration", "0.1"])
        .env("LC_ALL", "C");
    let r = run_with(c, None);
    let line = assert_one_line_error(&r);
    assert!(
        line.contains("CAP_BPF") && line.contains("setcap"),
        "{line}"
    );
    assert!(line.contains("classic backend"), "{line}");
    let mut c = std::process::Command::new("setpriv");
    c.args(["--bounding-set", drop, "--inh-caps", drop, "--", BIN])
        .args(["-i", "lo", "-d", "udp"]);
    let r = run_with(c, None);
    assert_eq!(
        r.code(),
        Some(0),
        "the classic path needs no CAP_BPF: {}",
        r.stderr
    );
}
