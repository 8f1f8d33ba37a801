//! The bpfdump command line, run as a program: reading, filtering and writing capture files,
//! the -d family, and the error paths (one `bpfdump: ` line on stderr, exit status 1, never a
//! panic). Capture files are built by hand in temporary directories; the repository's
//! captures/ are used too when present.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::Stdio;

use common::*;

// ---------------------------------------------------------------------------------------
// Writing: kept packets come out unchanged.

fn roundtrip_pcap(opts: PcapOpts) {
    let d = TempDir::new("rt");
    let input = pcap_file(opts, &records(&some_frames(5), opts.nano));
    let inp = d.file("in.pcap", &input);
    let out = d.path("out.pcap");
    let r = run(&["-r", &inp, "-w", out.to_str().unwrap()]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(
        r.stderr,
        format!("reading from file {inp}, link-type EN10MB (Ethernet), snapshot length 262144\n")
    );
    let written = std::fs::read(&out).unwrap();
    assert!(
        written == input,
        "output differs from input ({:?})",
        written.len()
    );
    if let Some(lines) = tcpdump_lines(&out, "roundtrip_pcap") {
        assert_eq!(lines.len(), 5, "{lines:?}");
    }
}

#[test]
fn pcap_usec_roundtrip_is_byte_exact() {
    roundtrip_pcap(PcapOpts::default());
    roundtrip_pcap(PcapOpts {
        big: true,
        ..Default::default()
    });
}

#[test]
fn pcap_nsec_roundtrip_is_byte_exact() {
    roundtrip_pcap(PcapOpts {
        nano: true,
        ..Default::default()
    });
    roundtrip_pcap(PcapOpts {
        nano: true,
        big: true,
        ..Default::default()
    });
}

#[test]
fn pcap_header_fields_are_kept() {
    // An unusual snaplen and link type (RAW) survive too.
    let d = TempDir::new("hdr");
    let opts = PcapOpts {
        snaplen: 1500,
        linktype: 101,
        ..Default::default()
    };
    let frames: Vec<Vec<u8>> = some_frames(3)
        .into_iter()
        .map(|f| f[14..].to_vec())
        .collect();
    let input = pcap_file(opts, &records(&frames, false));
    let inp = d.file("in.pcap", &input);
    let r = run(&["-r", &inp, "-w", "-"]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert!(r.stdout == input);
    assert!(
        r.stderr
            .contains("link-type RAW (Raw IP), snapshot length 1500"),
        "{}",
        r.stderr
    );
}

#[test]
fn count_stops_after_n_packets() {
    let d = TempDir::new("count");
    let opts = PcapOpts::default();
    let recs = records(&some_frames(5), false);
    let inp = d.file("in.pcap", &pcap_file(opts, &recs));
    let out = d.path("out.pcap");
    let r = run(&["-r", &inp, "-c", "3", "-w", out.to_str().unwrap()]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    let written = std::fs::read(&out).unwrap();
    assert!(written == pcap_file(opts, &recs[..3]));
    assert_eq!(parse_pcap(&written).1.len(), 3);

    // And when printing.
    let r = run(&["-r", &inp, "-c", "2"]);
    assert_eq!(r.code(), Some(0));
    assert_eq!(r.stdout_str().lines().count(), 2);

    let r = run(&["-r", &inp, "-c", "0"]);
    assert_eq!(assert_one_line_error(&r), "bpfdump: invalid packet count 0");
}

#[test]
fn write_to_stdout_and_read_from_stdin() {
    let input = pcap_file(PcapOpts::default(), &records(&some_frames(4), false));
    let r = run_with(command(&["-r", "-", "-w", "-"]), Some(&input));
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert!(r.stdout == input);
    assert!(
        r.stderr
            .starts_with("reading from file -, link-type EN10MB"),
        "{}",
        r.stderr
    );
    let (_, recs) = parse_pcap(&r.stdout);
    assert_eq!(recs.len(), 4);
    let d = TempDir::new("stdout");
    let out = d.path("out.pcap");
    std::fs::write(&out, &r.stdout).unwrap();
    if let Some(lines) = tcpdump_lines(&out, "write_to_stdout") {
        assert_eq!(lines.len(), 4);
    }
}

/// SHB, IDB 0 (Ethernet, nanoseconds), IDB 1 (Linux cooked or, if `one_linktype`, Ethernet
/// too; default microseconds), four EPBs (the second on interface 1).
fn sample_pcapng(big: bool) -> Ng {
    pcapng_with(big, false)
}

fn pcapng_with(big: bool, one_linktype: bool) -> Ng {
    let mut ng = Ng::new(big);
    ng.idb(1, 0, Some(9));
    // (libpcap reads pcapng only if all interfaces share link type and snapshot length.)
    if one_linktype {
        ng.idb(1, 0, None);
    } else {
        ng.idb(113, 65535, None);
    }
    let frames = some_frames(4);
    let ns: u64 = 1_700_000_000 * 1_000_000_000 + 123_456_789;
    let us: u64 = 1_700_000_001 * 1_000_000 + 654_321;
    ng.epb(0, ns, &frames[0], frames[0].len() as u32);
    // The cooked interface: a 16-byte SLL header instead of Ethernet's 14.
    let mut second = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
    second.extend_from_slice(&frames[1][14..]);
    if one_linktype {
        second = frames[1].clone();
    }
    ng.epb(1, us, &second, second.len() as u32 + 10);
    ng.epb(0, ns + 1_000_000_000, &frames[2], frames[2].len() as u32);
    ng.epb(0, ns + 2_000_000_000, &frames[3], frames[3].len() as u32);
    ng
}

#[test]
fn pcapng_roundtrip_keeps_interfaces_and_tsresol() {
    for (big, one_linktype) in [(false, false), (true, false), (false, true), (true, true)] {
        let d = TempDir::new("ng");
        let ng = pcapng_with(big, one_linktype);
        let inp = d.file("in.pcapng", &ng.bytes);
        let out = d.path("out.pcapng");
        let r = run(&["-r", &inp, "-w", out.to_str().unwrap()]);
        assert_eq!(r.code(), Some(0), "{}", r.stderr);
        assert!(r
            .stderr
            .contains("link-type EN10MB (Ethernet), snapshot length 262144"));
        let written = std::fs::read(&out).unwrap();
        assert!(
            written == ng.bytes,
            "pcapng output differs (big endian: {big})"
        );
        let blocks = parse_pcapng(&written);
        let idbs: Vec<_> = blocks.iter().filter(|(t, _)| *t == 1).collect();
        assert_eq!(idbs.len(), 2);
        assert_eq!(idb_tsresol(&idbs[0].1, big), Some(9));
        assert_eq!(idb_tsresol(&idbs[1].1, big), None);
        assert_eq!(blocks.iter().filter(|(t, _)| *t == 6).count(), 4);
        if one_linktype {
            if let Some(lines) = tcpdump_lines(&out, "pcapng_roundtrip") {
                assert_eq!(lines.len(), 4);
            }
        }
    }
}

#[test]
fn pcapng_count_keeps_the_headers() {
    let d = TempDir::new("ngc");
    let ng = sample_pcapng(false);
    let inp = d.file("in.pcapng", &ng.bytes);
    let r = run(&["-r", &inp, "-c", "1", "-w", "-"]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    // SHB, both IDBs, first EPB.
    assert!(r.stdout == ng.bytes[..ng.starts[4]]);
}

#[test]
fn pcapng_printing_uses_each_interfaces_precision() {
    let d = TempDir::new("ngs");
    let inp = d.file("in.pcapng", &sample_pcapng(false).bytes);
    // As tcpdump: microseconds unless --nano, whatever the interface's resolution.
    for (flags, fracs) in [
        (&[][..], ["123456", "654321", "123456", "123456"]),
        (
            &["--nano"][..],
            ["123456789", "654321000", "123456789", "123456789"],
        ),
    ] {
        let mut args = vec!["-r", inp.as_str()];
        args.extend_from_slice(flags);
        let r = run(&args);
        assert_eq!(r.code(), Some(0), "{}", r.stderr);
        let out = r.stdout_str();
        let times: Vec<&str> = out.lines().map(|l| &l[..l.find(' ').unwrap()]).collect();
        assert_eq!(
            times,
            [
                format!("22:13:20.{}", fracs[0]),
                format!("22:13:21.{}", fracs[1]),
                format!("22:13:21.{}", fracs[2]),
                format!("22:13:22.{}", fracs[3]),
            ]
        );
    }
}

// ---------------------------------------------------------------------------------------
// Printing

#[test]
fn printed_lines() {
    let d = TempDir::new("sum");
    for (nano, flag, frac) in [(false, None, "123456"), (true, Some("--nano"), "123456789")] {
        let opts = PcapOpts {
            nano,
            ..Default::default()
        };
        let inp = d.file("in.pcap", &pcap_file(opts, &records(&some_frames(3), nano)));
        let mut args = vec!["-nn", "-r", inp.as_str()];
        args.extend(flag);
        let r = run(&args);
        assert_eq!(r.code(), Some(0), "{}", r.stderr);
        let out = r.stdout_str();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            format!("22:13:20.{frac} IP 10.0.0.1.80 > 10.0.0.2.1024: Flags [S], seq 0, win 8192, length 0")
        );
        // origlen, not caplen
        assert!(
            lines[2].starts_with(&format!(
                "22:13:22.{frac} IP 10.0.0.1.80 > 10.0.0.2.1026: Flags [S]"
            )),
            "{}",
            lines[2]
        );
        assert!(lines[2].ends_with("length 14: HTTP"), "{}", lines[2]);
    }
}

#[test]
fn empty_filter_file_and_comments() {
    let d = TempDir::new("ff");
    let inp = d.file(
        "in.pcap",
        &pcap_file(PcapOpts::default(), &records(&some_frames(3), false)),
    );
    let f = d.file(
        "filter.txt",
        b"# nothing but a comment\n   \n# and another\n",
    );
    let r = run(&["-r", &inp, "-F", &f]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert_eq!(r.stdout_str().lines().count(), 3);

    // Words after -F are ignored, with a warning (tcpdump ignores them silently).
    let r = run(&["-r", &inp, "-F", &f, "udp"]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert_eq!(r.stdout_str().lines().count(), 3);
    assert!(
        r.stderr.contains("bpfdump: WARNING: -F given, ignoring"),
        "{}",
        r.stderr
    );

    let r = run(&["-r", &inp, "-F", d.path("nope.txt").to_str().unwrap()]);
    let line = assert_one_line_error(&r);
    assert!(
        line.ends_with("nope.txt: No such file or directory"),
        "{line}"
    );
}

#[test]
fn other_link_types_pass_with_an_empty_expression_only() {
    let d = TempDir::new("lt");
    let opts = PcapOpts {
        linktype: 105,
        ..Default::default()
    };
    let input = pcap_file(opts, &records(&some_frames(2), false));
    let inp = d.file("wifi.pcap", &input);
    let r = run(&["-r", &inp, "-w", "-"]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert!(r.stdout == input);
    assert!(
        r.stderr.contains("link-type IEEE802_11 (802.11)"),
        "{}",
        r.stderr
    );

    let r = run(&["-r", &inp, "tcp"]);
    let line = assert_one_line_error(&r);
    assert!(
        line.contains("link-type IEEE802_11") && line.contains("not supported"),
        "{line}"
    );
}

// ---------------------------------------------------------------------------------------
// -d, -dd, -ddd

#[test]
fn dump_formats() {
    let cases: [(&[&str], &str); 8] = [
        (&["-d"], "(000) ret      #262144\n"),
        (&["-dd"], "{ 0x6, 0, 0, 0x00040000 },\n"),
        (&["-d", "-d"], "{ 0x6, 0, 0, 0x00040000 },\n"),
        (&["-ddd"], "1\n6 0 0 262144\n"),
        (&["--dump-bytecode"], "(000) ret      #262144\n"),
        (&["--dump-bytecode=c"], "{ 0x6, 0, 0, 0x00040000 },\n"),
        (&["--dump-bytecode=decimal", "-s", "100"], "1\n6 0 0 100\n"),
        (
            &["-d", "-s", "0", "-y", "LINUX_SLL2", "-O"],
            "(000) ret      #262144\n",
        ),
    ];
    for (args, want) in cases {
        let r = run(args);
        assert_eq!(r.code(), Some(0), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout_str(), want, "{args:?}");
        assert_eq!(r.stderr, "", "{args:?}");
    }
}

#[test]
fn dump_matches_tcpdump() {
    if !have_tcpdump() {
        eprintln!("SKIPPED: dump_matches_tcpdump: tcpdump is not installed");
        return;
    }
    for flags in ["-d", "-dd", "-ddd"] {
        for snap in ["0", "96", "0x100"] {
            let want = std::process::Command::new("tcpdump")
                .args([flags, "-s", snap])
                .output()
                .unwrap();
            let r = run(&[flags, "-s", snap]);
            assert_eq!(r.code(), Some(0), "{}", r.stderr);
            assert_eq!(
                r.stdout_str(),
                String::from_utf8_lossy(&want.stdout),
                "{flags} -s {snap}"
            );
        }
    }
}

#[test]
fn dump_with_a_file_uses_its_link_type_and_snaplen() {
    let d = TempDir::new("dr");
    let opts = PcapOpts {
        linktype: 113,
        snaplen: 96,
        ..Default::default()
    };
    let inp = d.file("sll.pcap", &pcap_file(opts, &[]));
    let r = run(&["-d", "-r", &inp, "-s", "1000"]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert_eq!(r.stdout_str(), "(000) ret      #96\n");
    assert_eq!(
        r.stderr,
        format!(
            "reading from file {inp}, link-type LINUX_SLL (Linux cooked v1), snapshot length 96\n"
        )
    );
}

/// tcpdump ignores -y when reading a file; bpfdump says the file's link type is the one.
#[test]
fn linktype_flag_with_a_file_is_refused_not_ignored() {
    let d = TempDir::new("dy");
    let inp = d.file("sll.pcap", &pcap_file(PcapOpts::default(), &[]));
    let r = run(&["-d", "-r", &inp, "-y", "RAW"]);
    assert_eq!(r.code(), Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("-y with -r/-V"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// Errors: one line, exit 1, no panic.

#[test]
fn missing_garbage_empty_and_short_inputs() {
    let d = TempDir::new("bad");
    let missing = d.path("in.pcap");
    let r = run(&["-r", missing.to_str().unwrap()]);
    assert_eq!(
        assert_one_line_error(&r),
        format!("bpfdump: {}: No such file or directory", missing.display())
    );
    assert!(r.stdout.is_empty());

    let g = d.file("garbage.pcap", b"this is certainly not a capture file\n");
    let r = run(&["-r", &g]);
    assert_eq!(
        assert_one_line_error(&r),
        format!("bpfdump: {g}: unknown file format")
    );

    let e = d.file("empty.pcap", b"");
    let r = run(&["-r", &e]);
    assert_eq!(
        assert_one_line_error(&r),
        format!("bpfdump: {e}: file is empty")
    );

    let s = d.file("short.pcap", &pcap_header(PcapOpts::default())[..10]);
    let r = run(&["-r", &s]);
    assert!(assert_one_line_error(&r).contains("truncated file header"));

    let dir = d.path("");
    let r = run(&["-r", dir.to_str().unwrap()]);
    assert!(assert_one_line_error(&r).ends_with("Is a directory"));

    // A pcapng file that does not hold together.
    let mut ng = sample_pcapng(false).bytes;
    let at = ng.len() - 4; // trailer length of the last block
    ng[at] ^= 0xff;
    let n = d.file("bad.pcapng", &ng);
    let r = run(&["-r", &n, "-w", d.path("o").to_str().unwrap()]);
    assert!(assert_one_line_error(&r).contains("bad pcapng block"));
}

#[test]
fn truncated_pcap_keeps_the_whole_packets() {
    let d = TempDir::new("trunc");
    let opts = PcapOpts::default();
    let recs = records(&some_frames(4), false);
    let input = pcap_file(opts, &recs);
    let last = pcap_file(opts, &recs[..3]).len();
    for cut in [input.len() - 5, last + 7] {
        let inp = d.file("in.pcap", &input[..cut]);
        let out = d.path("out.pcap");
        let r = run(&["-r", &inp, "-w", out.to_str().unwrap()]);
        let line = assert_one_line_error(&r);
        assert!(
            line.starts_with(&format!(
                "bpfdump: {inp}: truncated packet record at byte offset {last}"
            )),
            "{line}"
        );
        let written = std::fs::read(&out).unwrap();
        assert!(
            written == input[..last],
            "output is not the three whole packets"
        );
        assert_eq!(parse_pcap(&written).1.len(), 3);
        if let Some(lines) = tcpdump_lines(&out, "truncated_pcap") {
            assert_eq!(lines.len(), 3);
        }
        // Printing: the whole packets are printed, then the error.
        let r = run(&["-r", &inp]);
        assert_one_line_error(&r);
        assert_eq!(r.stdout_str().lines().count(), 3);
    }
}

#[test]
fn truncated_pcapng_keeps_the_whole_packets() {
    let d = TempDir::new("ngtrunc");
    let ng = sample_pcapng(false);
    let last = *ng.starts.last().unwrap();
    let inp = d.file("in.pcapng", &ng.bytes[..ng.bytes.len() - 6]);
    let r = run(&["-r", &inp, "-w", "-"]);
    let line = assert_one_line_error(&r);
    assert!(
        line.contains(&format!("truncated pcapng block at byte offset {last}")),
        "{line}"
    );
    assert!(r.stdout == ng.bytes[..last]);
}

#[test]
fn corrupt_capture_length_is_an_error_not_an_allocation() {
    let d = TempDir::new("caplen");
    let mut input = pcap_file(PcapOpts::default(), &records(&some_frames(2), false));
    input[24 + 8..24 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let inp = d.file("in.pcap", &input);
    let r = run(&["-r", &inp]);
    assert!(assert_one_line_error(&r).contains("invalid packet capture length 2147483647"));
}

#[test]
fn full_disk() {
    let d = TempDir::new("full");
    let inp = d.file(
        "in.pcap",
        &pcap_file(PcapOpts::default(), &records(&some_frames(3), false)),
    );
    let r = run(&["-r", &inp, "-w", "/dev/full"]);
    assert_eq!(
        assert_one_line_error(&r),
        "bpfdump: /dev/full: No space left on device"
    );

    // Summary lines to a full stdout.
    let mut c = command(&["-r", &inp]);
    c.stdout(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    );
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.ends_with("bpfdump: stdout: No space left on device\n"),
        "{stderr}"
    );
}

#[test]
fn failed_write_leaves_a_valid_file() {
    // A file size limit makes the write fail partway, as a full disk would: in the final
    // flush of a small file, and in the middle of a file of several buffers, with writes
    // queued behind the one that fails.
    for (frames, limit) in [(60usize, 3000u64), (1500, 3 * 1024 * 1024 + 12345)] {
        failed_write_case(frames, limit);
    }
}

fn failed_write_case(frames: usize, limit: u64) {
    let d = TempDir::new("fsize");
    let opts = PcapOpts::default();
    let recs = records(&some_frames(frames), false);
    let input = pcap_file(opts, &recs);
    assert!(input.len() as u64 > limit + 1000);
    let inp = d.file("in.pcap", &input);
    let out = d.path("out.pcap");
    let mut c = command(&["-r", &inp, "-w", out.to_str().unwrap()]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let r = run_with(c, None);
    assert_eq!(
        assert_one_line_error(&r),
        format!("bpfdump: {}: File too large", out.display())
    );
    let written = std::fs::read(&out).unwrap();
    assert!(
        written.len() as u64 <= limit && written.len() as u64 > limit / 2,
        "{}",
        written.len()
    );
    let (_, kept) = parse_pcap(&written);
    assert!(
        written == input[..written.len()],
        "output is not a prefix of the input"
    );
    assert!(
        written == pcap_file(opts, &recs[..kept.len()]),
        "output ends inside a packet"
    );
}

#[test]
fn unwritable_output() {
    let d = TempDir::new("unw");
    let inp = d.file(
        "in.pcap",
        &pcap_file(PcapOpts::default(), &records(&some_frames(1), false)),
    );
    let out = d.path("no/such/dir/out.pcap");
    let r = run(&["-r", &inp, "-w", out.to_str().unwrap()]);
    assert_eq!(
        assert_one_line_error(&r),
        format!("bpfdump: {}: No such file or directory", out.display())
    );
}

#[test]
fn bad_flags() {
    let r = run(&["-y", "BOGUS", "-d"]);
    assert_eq!(
        assert_one_line_error(&r),
        "bpfdump: invalid data link type BOGUS (valid: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6)"
    );
    let r = run(&["-s", "300000", "-d"]);
    assert_eq!(
        assert_one_line_error(&r),
        "bpfdump: invalid snaplen 300000 (must be >= 0 and <= 262144)"
    );
    let r = run(&["-%", "-d"]);
    assert!(assert_one_line_error(&r).contains("'-%'"));
    let r = run(&["-Q", "sideways", "-d"]);
    assert_eq!(
        assert_one_line_error(&r),
        "bpfdump: unknown capture direction `sideways' (in, out or inout)"
    );
    let r = run(&["-i", "nosuch0"]);
    assert!(assert_one_line_error(&r).starts_with("bpfdump: nosuch0: No such device exists"));
    let r = run(&["--dump-bytecode=xml"]);
    assert_one_line_error(&r);
    let r = run(&["-r"]);
    assert_one_line_error(&r);
    let r = run(&["--help"]);
    assert_eq!(r.code(), Some(0));
    assert!(r.stdout_str().contains("Usage"));
}

/// A compile error: `bpfdump: filter: MESSAGE`, then, when the compiler points at part of the
/// expression, the expression on one line and carets under that part.
fn assert_filter_error(r: &Run, expr_one_line: &str) {
    assert_eq!(r.code(), Some(1), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let lines = r.error_lines();
    assert!(lines[0].starts_with("bpfdump: filter: "), "{}", r.stderr);
    match lines.len() {
        1 => {}
        3 => {
            assert_eq!(lines[1], expr_one_line);
            let caret = lines[2];
            let start = caret.len() - caret.trim_start().len();
            assert!(
                !caret.trim().is_empty() && caret.trim().chars().all(|c| c == '^'),
                "{caret:?}"
            );
            assert!(
                start < expr_one_line.len() || caret.trim() == "^",
                "{caret:?}"
            );
            assert!(caret.len() <= expr_one_line.len() + 1, "{caret:?}");
        }
        _ => panic!("unexpected compile error output:\n{}", r.stderr),
    }
}

#[test]
fn compile_error_format() {
    let r = run(&["-d", "tcp", "and", "and", "udp"]);
    assert_filter_error(&r, "tcp and and udp");

    let d = TempDir::new("ce");
    let f = d.file("f.txt", b"tcp # web traffic\nand and\nudp\n");
    let r = run(&["-d", "-F", &f]);
    // The comment and the newlines become spaces.
    assert_filter_error(&r, &format!("tcp{}and and udp ", " ".repeat(15)));

    // Also when reading a file: the error comes after the "reading from file" line and no
    // packet is printed.
    let inp = d.file(
        "in.pcap",
        &pcap_file(PcapOpts::default(), &records(&some_frames(2), false)),
    );
    let r = run(&["-r", &inp, "tcp and and udp"]);
    assert_filter_error(&r, "tcp and and udp");
    assert!(r.stderr.starts_with("reading from file "));
}

#[test]
fn broken_pipe_exits_quietly() {
    let d = TempDir::new("pipe");
    let recs = records(&some_frames(1), false);
    let many: Vec<PcapRec> = (0..20_000)
        .map(|i| PcapRec {
            sec: 1_700_000_000 + i,
            frac: 0,
            data: recs[0].data.clone(),
            orig: recs[0].orig,
        })
        .collect();
    let inp = d.file("big.pcap", &pcap_file(PcapOpts::default(), &many));
    for extra in [&[][..], &["-w", "-"][..]] {
        let mut args = vec!["-r", inp.as_str()];
        args.extend_from_slice(extra);
        let mut child = command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = Vec::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_until(b'\n', &mut first)
            .unwrap();
        // The reader is gone now.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.lines().all(|l| l.starts_with("reading from file")),
            "{stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The repository's sample captures, if they are there.

#[test]
fn sample_captures_roundtrip() {
    let dir = captures_dir();
    let names = [
        "sample.pcap",
        "sample-ns.pcap",
        "sample-ns.pcapng",
        "sample-us.pcapng",
        "sll.pcap",
        "sll2.pcap",
        "raw.pcap",
    ];
    let present: Vec<_> = names
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.exists())
        .collect();
    if present.is_empty() {
        eprintln!(
            "SKIPPED: sample_captures_roundtrip: no files in {}",
            dir.display()
        );
        return;
    }
    let d = TempDir::new("samples");
    for path in present {
        let input = std::fs::read(&path).unwrap();
        let out = d.path("out");
        let r = run(&["-r", path.to_str().unwrap(), "-w", out.to_str().unwrap()]);
        assert_eq!(r.code(), Some(0), "{}: {}", path.display(), r.stderr);
        assert!(
            std::fs::read(&out).unwrap() == input,
            "{} did not round-trip",
            path.display()
        );

        // As many packets as tcpdump prints, with the same timestamps (the lines
        // themselves are compared in tests/print.rs).
        let r = run(&["-n", "-r", path.to_str().unwrap()]);
        assert_eq!(r.code(), Some(0), "{}", r.stderr);
        if let Some(lines) = tcpdump_lines(&path, "sample_captures_roundtrip") {
            let theirs: Vec<&str> = lines
                .iter()
                .filter(|l| starts_with_time(l))
                .map(|l| &l[..15])
                .collect();
            let out = r.stdout_str();
            let ours: Vec<&str> = out
                .lines()
                .filter(|l| starts_with_time(l))
                .map(|l| &l[..15])
                .collect();
            assert_eq!(ours, theirs, "{}", path.display());
        }
    }
}

fn starts_with_time(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 9
        && b[2] == b':'
        && b[5] == b':'
        && b[8] == b'.'
        && b[..2].iter().all(u8::is_ascii_digit)
}

/// Filtering end to end: for microsecond pcap files tcpdump -w writes exactly the file we
/// write (same header, same records), so the kept packets can be compared byte for byte.
#[test]
fn filtered_output_matches_tcpdump() {
    if !have_tcpdump() {
        eprintln!("SKIPPED: filtered_output_matches_tcpdump: tcpdump is not installed");
        return;
    }
    let dir = captures_dir();
    let d = TempDir::new("vs");
    let exprs = [
        "tcp port 80",
        "udp",
        "ip6",
        "not tcp",
        "icmp or icmp6",
        "ip[6:2] & 0x1fff != 0",
    ];
    let mut compared = 0;
    for name in ["sample.pcap", "sll.pcap", "sll2.pcap", "raw.pcap"] {
        let path = dir.join(name);
        if !path.exists() {
            eprintln!(
                "SKIPPED: filtered_output_matches_tcpdump: no {}",
                path.display()
            );
            continue;
        }
        for expr in exprs {
            let theirs = d.path("theirs.pcap");
            let ours = d.path("ours.pcap");
            let t = std::process::Command::new("tcpdump")
                .arg("-r")
                .arg(&path)
                .arg("-w")
                .arg(&theirs)
                .arg(expr)
                .output()
                .unwrap();
            assert!(
                t.status.success(),
                "tcpdump {name} {expr}: {}",
                String::from_utf8_lossy(&t.stderr)
            );
            let r = run(&[
                "-r",
                path.to_str().unwrap(),
                "-w",
                ours.to_str().unwrap(),
                expr,
            ]);
            assert_eq!(r.code(), Some(0), "{name} {expr}: {}", r.stderr);
            let (a, b) = (
                std::fs::read(&ours).unwrap(),
                std::fs::read(&theirs).unwrap(),
            );
            assert!(
                a == b,
                "{name} '{expr}': {} packets kept, tcpdump kept {}",
                parse_pcap(&a).1.len(),
                parse_pcap(&b).1.len()
            );
            compared += 1;
        }
    }
    eprintln!("compared {compared} filtered outputs with tcpdump's");
}

/// From a pipe to a pipe: packets come out as they go in, once each record is whole (a
/// `tcpdump -w - | bpfdump -r - -w - | ...` chain is live), with `-U` for `-w`.
#[test]
fn pipe_to_pipe_is_live() {
    use std::io::{Read, Write};
    let opts = PcapOpts::default();
    let recs = records(&some_frames(3), false);
    let mut c = command(&["-U", "-r", "-", "-w", "-"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut si = child.stdin.take().unwrap();
    let mut so = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = so.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            let _ = tx.send(got.clone());
        }
    });
    // The header and two records; the pipe stays open.
    let mut first = pcap_header(opts);
    first.extend(pcap_record(opts, &recs[0]));
    first.extend(pcap_record(opts, &recs[1]));
    si.write_all(&first).unwrap();
    si.flush().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = Vec::new();
    while seen.len() < first.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(got) => seen = got,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "only {} of {} bytes came through before EOF",
                    seen.len(),
                    first.len()
                );
            }
        }
    }
    assert_eq!(seen, first);
    // The rest, then EOF: the whole file.
    si.write_all(&pcap_record(opts, &recs[2])).unwrap();
    drop(si);
    assert!(child.wait().unwrap().success());
    let all = std::iter::from_fn(|| rx.recv_timeout(std::time::Duration::from_secs(5)).ok())
        .last()
        .unwrap_or(seen);
    assert_eq!(all, pcap_file(opts, &recs));
}

#[test]
fn writing_over_the_file_being_read_is_refused() {
    // `-r X -w X` truncated X before reading it (tcpdump does too).
    let d = TempDir::new("over");
    let input = pcap_file(PcapOpts::default(), &records(&some_frames(3), false));
    let x = d.file("x.pcap", &input);
    let link = d.path("link.pcap");
    std::os::unix::fs::symlink(&x, &link).unwrap();
    let dot = d.path(".").join("x.pcap").display().to_string();
    for out in [x.clone(), link.display().to_string(), dot] {
        let r = run(&["-r", &x, "-w", &out]);
        assert_eq!(
            assert_one_line_error(&r),
            format!("bpfdump: {out}: is the file being read (-r {x}); refusing to write over it")
        );
        assert_eq!(std::fs::read(&x).unwrap(), input, "the input is intact");
    }
    // Another file is fine.
    let r = run(&["-r", &x, "-w", d.path("y.pcap").to_str().unwrap()]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
}

/// 2,000 frames of 1,000 bytes: 2 MB, for -C 1 (one million bytes a file).
fn big_input() -> Vec<u8> {
    let frames: Vec<Vec<u8>> = (0..2000)
        .map(|i| {
            tcp_frame(
                [10, 0, 0, 1],
                [10, 0, 0, 2],
                80,
                1024 + (i % 50) as u16,
                946,
            )
        })
        .collect();
    pcap_file(PcapOpts::default(), &records(&frames, false))
}

#[test]
fn reading_with_writing_options_writes_as_live() {
    // -C, -W, --pcapng and --nano with -r were ignored (`-r f.pcap --pcapng -w x` wrote pcap).
    let d = TempDir::new("offw");
    let input = big_input();
    let inp = d.file("in.pcap", &input);
    let (_, frames) = parse_pcap(&input);

    // -C 1: files of just over a million bytes, as tcpdump names and fills them.
    let base = d.path("part");
    let r = run(&["-r", &inp, "-w", base.to_str().unwrap(), "-C", "1"]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    let mut all = Vec::new();
    let names: Vec<String> = std::iter::once("part".to_string())
        .chain((1..10).map(|i| format!("part{i}")))
        .take_while(|n| d.path(n).exists())
        .collect();
    assert_eq!(
        names.len(),
        3,
        "2.03 MB in files of a million bytes: {names:?}"
    );
    for (i, name) in names.iter().enumerate() {
        let bytes = std::fs::read(d.path(name)).unwrap();
        assert!(bytes.len() > 1_000_000 || i == 2, "{name}: {}", bytes.len());
        let (_, recs) = parse_pcap(&bytes);
        all.extend(recs);
    }
    assert_eq!(all, frames, "every packet, in order, across the files");

    // -C 1 -W 1: one name, reused.
    let one = d.path("one");
    let r = run(&[
        "-r",
        &inp,
        "-w",
        one.to_str().unwrap(),
        "-C",
        "1",
        "-W",
        "1",
    ]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert!(!d.path("one1").exists() && !d.path("one0").exists());

    // --pcapng: a pcapng file with the same packets.
    let ng = d.path("x.pcapng");
    let r = run(&["-r", &inp, "--pcapng", "-w", ng.to_str().unwrap(), "tcp"]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    let blocks = parse_pcapng(&std::fs::read(&ng).unwrap());
    assert_eq!(blocks[0].0, 0x0A0D_0D0A, "a section header first");
    assert_eq!(blocks.iter().filter(|b| b.0 == 6).count(), frames.len());

    // --nano: a nanosecond pcap.
    let nano = d.path("n.pcap");
    let r = run(&["-r", &inp, "--nano", "-w", nano.to_str().unwrap()]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    let bytes = std::fs::read(&nano).unwrap();
    assert_eq!(&bytes[..4], &0xa1b2_3c4du32.to_le_bytes());

    // A rotated name that is the input's: refused, the input intact.
    let q1 = d.file("q1", &input);
    let r = run(&["-r", &q1, "-w", d.path("q").to_str().unwrap(), "-C", "1"]);
    assert_eq!(r.code(), Some(1), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("q1: is the file being read; refusing to write over it"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&q1).unwrap(), input);

    // Without -w these shape nothing: refused, not ignored.
    for flag in [&["-C", "1"][..], &["--pcapng"], &["-G", "5"]] {
        let mut a = vec!["-r", inp.as_str()];
        a.extend_from_slice(flag);
        let line = assert_one_line_error(&run(&a));
        assert!(line.contains("shapes the file -w writes"), "{line}");
    }
    let line = assert_one_line_error(&run(&["-r", &inp, "-W", "2", "-w", one.to_str().unwrap()]));
    assert!(line.contains("-W limits the files -C or -G make"), "{line}");

    // And tcpdump splits the same way, byte for byte.
    if have_tcpdump() {
        let theirs = d.path("theirs");
        let ok = std::process::Command::new("tcpdump")
            .args([
                "-Z",
                "root",
                "-r",
                &inp,
                "-w",
                theirs.to_str().unwrap(),
                "-C",
                "1",
            ])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        if ok {
            for (a, b) in [
                ("part", "theirs"),
                ("part1", "theirs1"),
                ("part2", "theirs2"),
            ] {
                assert!(
                    std::fs::read(d.path(a)).unwrap() == std::fs::read(d.path(b)).unwrap(),
                    "{a} differs from tcpdump's {b}"
                );
            }
        }
    }
}

/// `--explain`: the program as lowered, then after each pass that changed it; the last
/// listing is exactly what `-d` prints, and every step says how many instructions it went
/// from and to.
#[test]
fn explain_shows_each_pass_and_ends_at_the_d_listing() {
    for expr in ["tcp or udp or sctp", "port 67 or port 68", "geneve and tcp"] {
        let r = run(&["--explain", expr]);
        assert_eq!(r.code(), Some(0), "{}", r.stderr);
        let out = r.stdout_str();
        let steps: Vec<&str> = out.split("\n; after ").collect();
        assert!(out.starts_with("; lowered: "), "{out}");
        assert!(steps.len() >= 3, "{expr}: too few steps:\n{out}");
        let mut prev = None;
        for s in &steps {
            let (head, listing) = s.split_once('\n').unwrap();
            let n: usize = head.rsplit(' ').nth(1).unwrap().parse().unwrap();
            assert_eq!(listing.trim_end().lines().count(), n, "{head}");
            if let Some(p) = prev {
                assert!(
                    head.contains(&format!(": {p} -> {n} instructions")),
                    "{head}"
                );
            }
            prev = Some(n);
        }
        let last = steps.last().unwrap().split_once('\n').unwrap().1;
        let d = run(&["-d", expr]);
        assert_eq!(last, d.stdout_str(), "{expr}");
    }
    let r = run(&["--explain", "-O", "tcp"]);
    assert!(
        r.stderr.contains("--explain prints the optimizer's steps"),
        "{}",
        r.stderr
    );
    let r = run(&["--explain", "tcp port"]);
    assert_eq!(r.code(), Some(1));
    assert!(r.stderr.contains('^'), "{}", r.stderr);
}
