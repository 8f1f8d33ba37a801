//! Snapshots of the compiler's error messages as a user reads them ([`Error::render`]: the
//! message, the expression with a caret line under the offending part, and any notes).
//!
//! - `errors_corpus_snapshot`: every expression of tests/corpus/errors.txt, compiled offline
//!   for Ethernet, in tests/golden/errors.txt.
//! - `target_errors_snapshot`: errors only other link types or the kernel target give, in
//!   tests/golden/errors-targets.txt.
//!
//! After a deliberate change, `BLESS=1 cargo test --test error_snapshots` rewrites both;
//! review the diff like code: a caret in the wrong place or an unclear message is a bug.

mod support;

use filter_compiler::error::escape;
use filter_compiler::{Direction, Error, LinkType, Mode, Target};
use std::fmt::Write as _;
use support::*;

/// One snapshot entry: `== {label}{expr}`, then the rendered error (or what happened
/// instead), then a blank line.
fn entry(out: &mut String, label: &str, expr: &str, r: Result<Result<usize, Error>, String>) {
    let _ = writeln!(out, "== {label}{}", escape(expr));
    match r {
        Ok(Err(e)) => {
            let _ = writeln!(out, "{}", e.render(expr));
        }
        Ok(Ok(n)) => {
            let _ = writeln!(out, "(compiles: {n} instructions)");
        }
        Err(m) => {
            let _ = writeln!(out, "(PANICKED: {m})");
        }
    }
    out.push('\n');
}

/// Compares `want` with the committed file, or rewrites it under `BLESS`.
fn check_golden(name: &str, want: &str) {
    let path = repo_root().join("tests").join("golden").join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have == want {
        return;
    }
    // The first few entries that differ, whole.
    let split = |t: &str| -> Vec<String> { t.split("\n== ").map(str::to_string).collect() };
    let (h, w) = (split(&have), split(want));
    let mut diff = String::new();
    let mut n = 0;
    for i in 0..h.len().max(w.len()) {
        let (a, b) = (h.get(i), w.get(i));
        if a != b {
            n += 1;
            if n <= 5 {
                let _ = writeln!(
                    diff,
                    "--- committed:\n{}\n+++ now:\n{}\n",
                    a.map_or("(none)", |s| s),
                    b.map_or("(none)", |s| s)
                );
            }
        }
    }
    let report = write_report(name, want);
    panic!(
        "{n} entries of tests/golden/{name} differ (new text in {report}; \
         `BLESS=1 cargo test --test error_snapshots` rewrites it):\n{diff}"
    );
}

fn run(
    expr: &str,
    target: Target,
    direction: Option<Direction>,
) -> Result<Result<usize, Error>, String> {
    guarded(|| {
        filter_compiler::compile_directed(expr, &target, &options(true), direction).map(|p| p.len())
    })
}

#[test]
fn errors_corpus_snapshot() {
    let mut out = String::from(
        "# The error for each expression of tests/corpus/errors.txt, compiled offline for\n\
         # Ethernet, as Error::render shows it (bpfdump prefixes the first line with\n\
         # `bpfdump: filter: `). Checked by tests/error_snapshots.rs; rewritten by\n\
         # `BLESS=1 cargo test --test error_snapshots`.\n\n",
    );
    for e in load_corpus(ERRORS) {
        entry(
            &mut out,
            "",
            &e.expr,
            run(&e.expr, Target::offline(LinkType::En10mb), None),
        );
    }
    check_golden("errors.txt", &out);
}

/// On a thread with a large stack: the 1,500-host expression below nests 1,500 deep, more
/// than a debug build's default test thread takes (the binary compiles on such a thread too).
#[test]
fn target_errors_snapshot() {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(target_errors)
        .unwrap()
        .join()
        .unwrap();
}

fn target_errors() {
    use LinkType::*;
    let off = Target::offline;
    let kernel = Target::kernel;
    // Errors that depend on the link type or the target.
    let cases: Vec<(Target, &str)> = vec![
        (off(Raw), "vlan"),
        (off(Raw), "mpls"),
        (off(Raw), "llc"),
        (off(Raw), "ether host 00:11:22:33:44:55"),
        (off(Raw), "ether broadcast"),
        (off(Raw), "ether multicast"),
        (off(Raw), "inbound"),
        (off(Raw), "ifindex 3"),
        (off(Raw), "gateway gw"),
        (off(LinuxSll), "vlan 10"),
        (off(LinuxSll), "mpls"),
        (off(LinuxSll), "ifindex 3"),
        (off(LinuxSll), "ether host 00:11:22:33:44:55"),
        (off(LinuxSll2), "llc"),
        (off(En10mb), "inbound"),
        (off(En10mb), "pppoes and ether host 00:11:22:33:44:55"),
        (off(En10mb), "pppoes and broadcast"),
        (off(En10mb), "pppoes and inbound"),
        (kernel(LinuxSll2), "link[12:4] = 1"),
        (kernel(LinuxSll), "link[6:2] = 0"),
        (kernel(LinuxSll2), "mpls"),
        (kernel(En10mb), "ether[13:2] = 0x0800"),
        (kernel(En10mb), "ether[14:4] = 0"),
    ];
    let mut out = String::from(
        "# Errors that depend on the link type or the target (offline: a capture file; kernel:\n\
         # a live socket), as Error::render shows them. Checked by tests/error_snapshots.rs;\n\
         # rewritten by `BLESS=1 cargo test --test error_snapshots`.\n\n",
    );
    let label = |t: &Target| {
        let mode = match t.mode {
            Mode::Offline => "offline",
            Mode::Kernel => "kernel",
        };
        format!("[{mode} {}] ", t.linktype.name())
    };
    for (t, expr) in cases {
        entry(&mut out, &label(&t), expr, run(expr, t, None));
    }
    // A capture direction needs the kernel's packet type.
    let t = off(En10mb);
    entry(
        &mut out,
        &format!("{}-Q in ", label(&t)),
        "tcp",
        run("tcp", t, Some(Direction::In)),
    );
    // Too long for the kernel (offline programs have no limit).
    let hosts: Vec<String> = (0..1500)
        .map(|i| format!("host 10.0.{}.{}", i / 250, i % 250))
        .collect();
    let long = hosts.join(" or ");
    let t = kernel(En10mb);
    let r = run(&long, t, None);
    entry(
        &mut out,
        &label(&t),
        "host 10.0.0.0 or ... (1500 hosts)",
        r.map(|c| c.map_err(|e| Error { span: None, ..e })),
    );
    check_golden("errors-targets.txt", &out);
}
