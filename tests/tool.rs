//! bpfdump as an installed tool: --version, the manual page and the shell completions it
//! prints, and tcpdump flags users type (--print, -V, -j, -J).

mod common;

use std::process::{Command, Stdio};

use common::*;

fn ok(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(r.code(), Some(0), "{args:?}: {}", r.stderr);
    r.stdout_str()
}

#[test]
fn version_names_the_back_ends() {
    let v = ok(&["--version"]);
    let lines: Vec<&str> = v.lines().collect();
    assert_eq!(lines[0], format!("bpfdump {}", env!("CARGO_PKG_VERSION")));
    for want in [
        "back end: classic BPF",
        "back end: eBPF socket filter",
        "link types: EN10MB, LINUX_SLL, LINUX_SLL2, RAW",
        "TPACKET_V3",
        "pcapng",
    ] {
        assert!(v.contains(want), "--version lacks {want:?}:\n{v}");
    }
}

/// Every long option --help shows, as `--name`.
fn long_options() -> Vec<String> {
    let help = ok(&["--help"]);
    let mut v: Vec<String> = help
        .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_string()
        })
        .collect();
    v.sort();
    v.dedup();
    assert!(v.len() > 20, "{v:?}");
    v
}

#[test]
fn the_manual_page_has_every_option() {
    let man = ok(&["--man"]);
    assert!(
        man.contains(".TH bpfdump 8"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains(".SH OPTIONS"));
    // roff escapes '-' as '\-'.
    let text = man.replace("\\-", "-");
    for opt in long_options() {
        assert!(text.contains(&opt), "the manual page lacks {opt}");
    }
    // It renders, if man is here to render it.
    if let Ok(out) = Command::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "80")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(man.as_bytes())?;
            c.wait_with_output()
        })
    {
        if out.status.success() {
            let shown = String::from_utf8_lossy(&out.stdout);
            assert!(
                shown.contains("NAME") && shown.contains("--pcapng"),
                "{shown}"
            );
        }
    }
}

#[test]
fn completions_for_every_shell_and_bash_completes_options() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let s = ok(&["--completions", shell]);
        assert!(s.contains("bpfdump"), "{shell}");
        assert!(s.contains("pcapng"), "{shell}: no --pcapng in:\n{s}");
    }
    let line = assert_one_line_error(&run(&["--completions", "tcsh"]));
    assert!(line.contains("invalid value 'tcsh'"), "{line}");
    // What a user gets: source the script, complete `bpfdump --pc`.
    let script = ok(&["--completions", "bash"]);
    let d = TempDir::new("compl");
    let f = d.file("bpfdump.bash", script.as_bytes());
    let probe = format!(
        "source {f}; COMP_WORDS=(bpfdump --pc); COMP_CWORD=1; COMP_LINE='bpfdump --pc'; \
         COMP_POINT=${{#COMP_LINE}}; _bpfdump bpfdump --pc bpfdump; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let got = String::from_utf8_lossy(&out.stdout);
    assert!(
        got.lines().any(|l| l == "--pcapng"),
        "bash completed {got:?}; {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn print_while_writing_prints_what_it_writes() {
    let d = TempDir::new("print");
    let inp = d.file(
        "in.pcap",
        &pcap_file(PcapOpts::default(), &records(&some_frames(6), false)),
    );
    let out = d.path("out.pcap");
    let r = run(&[
        "-r",
        &inp,
        "-w",
        out.to_str().unwrap(),
        "--print",
        "-c",
        "4",
        "-nn",
    ]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    let printed = r.stdout_str();
    assert_eq!(printed.lines().count(), 4, "{printed}");
    let (_, written) = parse_pcap(&std::fs::read(&out).unwrap());
    assert_eq!(written.len(), 4);
    // The same lines as reading the written file.
    assert_eq!(printed, ok(&["-r", out.to_str().unwrap(), "-nn"]));
    let line = assert_one_line_error(&run(&["-r", &inp, "-w", "-", "--print"]));
    assert!(line.contains("--print with -w -"), "{line}");
}

#[test]
fn a_list_of_files_reads_them_in_turn() {
    let d = TempDir::new("list");
    let a = d.file(
        "a.pcap",
        &pcap_file(PcapOpts::default(), &records(&some_frames(3), false)),
    );
    let b = d.file(
        "b.pcap",
        &pcap_file(
            PcapOpts {
                nano: true,
                ..Default::default()
            },
            &records(&some_frames(5), true),
        ),
    );
    let list = d.file("list.txt", format!("{a}\n\n{b}\n").as_bytes());
    let r = run(&["-V", &list, "-nn"]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert_eq!(r.stdout_str().lines().count(), 8);
    assert_eq!(
        r.stderr
            .lines()
            .filter(|l| l.starts_with("reading from file "))
            .count(),
        2,
        "{}",
        r.stderr
    );
    // -c counts each file's packets, as tcpdump's does with -V.
    let r = run(&["-V", &list, "-nn", "-c", "2"]);
    assert_eq!(r.stdout_str().lines().count(), 4, "{}", r.stdout_str());
    // -w: one file with the packets of both, in order.
    let out = d.path("all.pcap");
    let r = run(&["-V", &list, "-w", out.to_str().unwrap()]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    let (_, recs) = parse_pcap(&std::fs::read(&out).unwrap());
    let data: Vec<Vec<u8>> = recs.iter().map(|r| r[16..].to_vec()).collect();
    let mut want = some_frames(3);
    want.extend(some_frames(5));
    assert_eq!(
        data, want,
        "the frames of both, in order, after each record header"
    );
    // As tcpdump prints it.
    if have_tcpdump() {
        // (tcpdump takes an empty line for a file name; bpfdump skips it.)
        let plain = d.file("plain.txt", format!("{a}\n{b}\n").as_bytes());
        let t = Command::new("tcpdump")
            .args(["-V", &plain, "-nn"])
            .env("TZ", "UTC")
            .output()
            .unwrap();
        let ours = run(&["-V", &list, "-nn"]);
        assert!(
            t.status.success(),
            "tcpdump -V: {}",
            String::from_utf8_lossy(&t.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&t.stdout), ours.stdout_str());
    }
    let line = assert_one_line_error(&run(&["-V", &list, "-r", &a]));
    assert_eq!(line, "bpfdump: -V and -r are mutually exclusive");
    let empty = d.file("empty.txt", b"\n\n");
    let line = assert_one_line_error(&run(&["-V", &empty]));
    assert!(line.ends_with("no file names in it"), "{line}");
}

#[test]
fn time_stamp_types() {
    let r = run(&["-J", "-i", "lo"]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout_str(),
        "Time stamp types for lo (use option -j to set):\n  host (Host)\n"
    );
    for (args, msg) in [
        (
            &["-j", "bogus", "-i", "lo"][..],
            "bpfdump: invalid time stamp type bogus",
        ),
        (
            &["-j", "adapter", "-i", "lo"],
            "bpfdump: -j adapter: bpfdump takes the kernel's host time stamps only, not the \
             adapter's (-J lists what works)",
        ),
        (
            &["-j", "host", "-r", "x.pcap"],
            "bpfdump: -j sets how a live capture is time-stamped; a file's time stamps are as \
             recorded (drop -j)",
        ),
    ] {
        assert_eq!(assert_one_line_error(&run(args)), msg);
    }
}

#[test]
fn dont_verify_checksums() {
    let dir = captures_dir();
    for cap in ["sample.pcap", "sll.pcap", "raw.pcap"] {
        let f = dir.join(cap);
        let f = f.to_str().unwrap();
        let checked = ok(&["-r", f, "-nn", "-vv"]);
        let unchecked = ok(&["-r", f, "-nn", "-vv", "-K"]);
        // IP, TCP and UDP checksums only (PIM and others print theirs either way, as in
        // tcpdump).
        let n = |s: &str| s.matches("cksum").count() + s.matches("sum ok").count();
        assert!(n(&checked) > n(&unchecked), "{cap}: -K changed nothing");
        for word in ["udp sum ok", "bad udp cksum", "[no cksum]", "bad cksum"] {
            assert!(!unchecked.contains(word), "{cap}: -K still says {word:?}");
        }
        if have_tcpdump() {
            let t = Command::new("tcpdump")
                .args(["-r", f, "-nn", "-vv", "-K"])
                .env("TZ", "UTC")
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&t.stdout), unchecked, "{cap}");
        }
    }
}

#[test]
fn count_when_reading_is_tcpdumps() {
    let f = captures_dir().join("sample.pcap");
    let f = f.to_str().unwrap();
    assert_eq!(ok(&["-r", f, "--count"]), "322 packets\n");
    assert_eq!(ok(&["-r", f, "--count", "-c", "1"]), "1 packet\n");
    let tcp = ok(&["-r", f, "--count", "tcp"]);
    if have_tcpdump() {
        let t = Command::new("tcpdump")
            .args(["-r", f, "--count", "tcp"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&t.stdout), tcp);
    }
    let line = assert_one_line_error(&run(&["-r", f, "--count", "-w", "/tmp/never.pcap"]));
    assert!(line.contains("drop -w"), "{line}");
    let line = assert_one_line_error(&run(&["-r", f, "--count", "--json"]));
    assert!(line.contains("does not read files"), "{line}");
}

#[test]
fn tcpdump_flags_bpfdump_lacks_are_named() {
    let f = captures_dir().join("sample.pcap");
    let f = f.to_str().unwrap();
    for flag in [
        &["-a"][..],
        &["-b"],
        &["-E", "spi@1.2.3.4 aes:0x00"],
        &["-f"],
        &["-H"],
        &["-I"],
        &["-L"],
        &["-m", "x"],
        &["-M", "x"],
        &["-T", "rpc"],
        &["-u"],
        &["-z", "gzip"],
    ] {
        let mut a = vec!["-r", f];
        a.extend_from_slice(flag);
        let line = assert_one_line_error(&run(&a));
        assert!(
            line.starts_with(&format!("bpfdump: tcpdump's {}", flag[0])),
            "{line}"
        );
    }
}
