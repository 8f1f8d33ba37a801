//! Host names without -n, and -N (names without their domain), read from an /etc/hosts of the
//! test's own: each run happens in a private mount namespace where /etc/hosts and
//! /etc/nsswitch.conf (`hosts: files`, so no DNS is asked) are bind-mounted over. The lines
//! are fixed below (what tcpdump 4.99 prints) and, where tcpdump is installed, compared with
//! tcpdump's in the same namespace.
//!
//! Needs root (a mount namespace); without it each test says `SKIPPED: <test>: <why>` on
//! stderr and passes.

mod common;

use common::*;
use std::process::Command;

const HOSTS: &str = "192.0.2.1 gw.lab.example gw\n\
                     198.51.100.7 web.corp.example.org web\n\
                     2001:db8::1 v6.lab.example\n";

/// Ethernet + IPv6 + TCP SYN.
fn tcp6_frame(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Vec<u8> {
    let mut f = vec![
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd,
    ];
    f.extend([0x60, 0, 0, 0, 0, 20, 6, 64]);
    f.extend(src);
    f.extend(dst);
    f.extend(sport.to_be_bytes());
    f.extend(dport.to_be_bytes());
    f.extend([0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0x00, 0, 0, 0, 0]);
    f
}

fn v6(last: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[15] = last;
    a
}

/// The capture: names with domains both ways, an address with no name, IPv6.
fn capture(dir: &TempDir) -> String {
    let frames = vec![
        tcp_frame([192, 0, 2, 1], [198, 51, 100, 7], 40000, 40001, 0),
        tcp_frame([198, 51, 100, 7], [203, 0, 113, 9], 40001, 40000, 0),
        tcp6_frame(v6(1), v6(2), 40002, 40003),
    ];
    let recs: Vec<PcapRec> = frames
        .into_iter()
        .enumerate()
        .map(|(i, d)| PcapRec {
            sec: 1_700_000_000 + i as u32,
            frac: 5,
            orig: d.len() as u32,
            data: d,
        })
        .collect();
    dir.file("names.pcap", &pcap_file(PcapOpts::default(), &recs))
}

/// Runs `program args` with the test's /etc/hosts, or None (said on stderr) when a mount
/// namespace cannot be made here.
fn with_hosts(test: &str, dir: &TempDir, program: &str, args: &[&str]) -> Option<(String, i32)> {
    let hosts = dir.file("hosts", HOSTS.as_bytes());
    let ns = dir.file("nsswitch.conf", b"hosts: files\n");
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount --bind \"$1\" /etc/hosts && mount --bind \"$2\" /etc/nsswitch.conf \
             || exit 99; shift 2; exec \"$@\"",
        )
        .args(["sh", &hosts, &ns, program])
        .args(args)
        .output();
    // unshare(1) itself failing (not root) says so on stderr; the bind mounts failing exit 99.
    let set_up = |o: &std::process::Output| {
        o.status.code().is_some_and(|c| c != 99) && !o.stderr.starts_with(b"unshare: ")
    };
    match out {
        Ok(o) if set_up(&o) => Some((
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
            o.status.code().unwrap(),
        )),
        Ok(o) => {
            eprintln!(
                "SKIPPED: {test}: cannot bind-mount /etc/hosts in a mount namespace (needs \
                 root): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("SKIPPED: {test}: cannot run unshare: {e}");
            None
        }
    }
}

/// Prints with `flags`, checks bpfdump's lines against `want` and against tcpdump's.
fn check(test: &str, flags: &[&str], want: &[&str]) {
    let dir = TempDir::new(test);
    let file = capture(&dir);
    let mut args = vec!["-tt", "-r", &file];
    args.extend(flags);
    let Some((ours, code)) = with_hosts(test, &dir, BIN, &args) else {
        return;
    };
    assert_eq!(code, 0, "{ours}");
    let lines: Vec<&str> = ours
        .lines()
        .filter(|l| !l.starts_with("reading from file"))
        .collect();
    assert_eq!(lines, want, "bpfdump {args:?}");
    if !have_tcpdump() {
        eprintln!("{test}: tcpdump not installed: checked against the fixed lines only");
        return;
    }
    let (theirs, _) = with_hosts(test, &dir, "tcpdump", &args).unwrap();
    let theirs: Vec<&str> = theirs
        .lines()
        .filter(|l| !l.starts_with("reading from file"))
        .collect();
    assert_eq!(lines, theirs, "bpfdump and tcpdump {args:?}");
}

#[test]
fn host_names_from_etc_hosts() {
    check(
        "host_names_from_etc_hosts",
        &[],
        &[
            "1700000000.000005 IP gw.lab.example.40000 > web.corp.example.org.40001: Flags [S], \
             seq 0, win 8192, length 0",
            "1700000001.000005 IP web.corp.example.org.40001 > 203.0.113.9.40000: Flags [S], \
             seq 0, win 8192, length 0",
            "1700000002.000005 IP6 v6.lab.example.40002 > 2001:db8::2.40003: Flags [S], seq 0, \
             win 8192, length 0",
        ],
    );
}

#[test]
fn dash_n_upper_keeps_names_to_the_first_dot() {
    check(
        "dash_n_upper_keeps_names_to_the_first_dot",
        &["-N"],
        &[
            "1700000000.000005 IP gw.40000 > web.40001: Flags [S], seq 0, win 8192, length 0",
            "1700000001.000005 IP web.40001 > 203.0.113.9.40000: Flags [S], seq 0, win 8192, \
             length 0",
            "1700000002.000005 IP6 v6.40002 > 2001:db8::2.40003: Flags [S], seq 0, win 8192, \
             length 0",
        ],
    );
}

#[test]
fn dash_n_upper_with_dash_n_prints_numbers() {
    check(
        "dash_n_upper_with_dash_n_prints_numbers",
        &["-N", "-n"],
        &[
            "1700000000.000005 IP 192.0.2.1.40000 > 198.51.100.7.40001: Flags [S], seq 0, win \
             8192, length 0",
            "1700000001.000005 IP 198.51.100.7.40001 > 203.0.113.9.40000: Flags [S], seq 0, win \
             8192, length 0",
            "1700000002.000005 IP6 2001:db8::1.40002 > 2001:db8::2.40003: Flags [S], seq 0, win \
             8192, length 0",
        ],
    );
}

/// The filter resolves names from the same file: `host web.corp.example.org` keeps the two
/// packets to and from it.
#[test]
fn filter_host_name_from_etc_hosts() {
    check(
        "filter_host_name_from_etc_hosts",
        &["-N", "host", "web.corp.example.org"],
        &[
            "1700000000.000005 IP gw.40000 > web.40001: Flags [S], seq 0, win 8192, length 0",
            "1700000001.000005 IP web.40001 > 203.0.113.9.40000: Flags [S], seq 0, win 8192, \
             length 0",
        ],
    );
}
