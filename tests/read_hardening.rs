//! Capture files libpcap reads that bpfdump once refused or printed wrong (issue 13,
//! "Hardening"): pcap records longer than the header's snapshot length, pcapng interfaces
//! with unusual time stamp resolutions and offsets, and time stamps tcpdump will not convert
//! (years past 9999 among them). Each file is built by hand here; what tcpdump 4.99.3
//! (libpcap 1.10.3) prints for it is written out literally, so the tests run without it, and
//! when /usr/bin/tcpdump is there the output is compared with it live too.

mod common;

use std::process::Command;

use common::*;

/// tcpdump's output for `file` with `args` (TZ=UTC), or None without tcpdump.
fn tcpdump(file: &str, args: &[&str]) -> Option<(String, String)> {
    if !have_tcpdump() {
        return None;
    }
    let out = Command::new("tcpdump")
        .args(["-r", file])
        .args(args)
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    Some((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Runs `bpfdump -r file args`, checks it succeeded and printed `want`, and, with tcpdump
/// installed, that tcpdump prints the same.
fn prints(file: &str, args: &[&str], want: &str) {
    let mut all = vec!["-r", file];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code(), Some(0), "{args:?}: {}", r.stderr);
    assert!(r.error_lines().is_empty(), "{args:?}: {}", r.stderr);
    if let Some((out, err)) = tcpdump(file, args) {
        assert_eq!(
            r.stdout_str(),
            out,
            "bpfdump {args:?} vs tcpdump (stderr: {err})"
        );
    }
    assert_eq!(r.stdout_str(), want, "bpfdump {args:?}");
}

/// Runs `bpfdump -r file -w - args` and returns what it wrote; with tcpdump installed,
/// checks that tcpdump writes the same bytes (for little-endian input on a little-endian
/// machine: tcpdump writes in its own byte order, we keep the file's).
fn writes(file: &str, args: &[&str]) -> Vec<u8> {
    let mut all = vec!["-r", file, "-w", "-"];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code(), Some(0), "{args:?}: {}", r.stderr);
    assert!(r.error_lines().is_empty(), "{args:?}: {}", r.stderr);
    if cfg!(target_endian = "little") && have_tcpdump() {
        let mut t = vec!["-w", "-"];
        t.extend_from_slice(args);
        let out = Command::new("tcpdump")
            .args(["-r", file])
            .args(&t)
            .output()
            .unwrap();
        assert!(
            out.stdout == r.stdout,
            "tcpdump -w {args:?} wrote other bytes"
        );
    }
    r.stdout
}

// ---------------------------------------------------------------------------------------
// pcap records longer than the snapshot length in the file header

/// Ethernet/IPv4/TCP frames of 100, 1514 and 60 bytes.
fn frames() -> Vec<Vec<u8>> {
    vec![
        tcp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 1024, 46),
        tcp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 1025, 1460),
        tcp_frame([10, 0, 0, 3], [10, 0, 0, 2], 81, 1026, 6),
    ]
}

fn pcap_with_snaplen(snaplen: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let opts = PcapOpts {
        snaplen,
        ..Default::default()
    };
    pcap_file(opts, &records(frames, false))
}

/// What libpcap makes of `file`'s records: each cut to `snaplen` bytes, its captured length
/// set to that, under a header giving `snaplen`.
fn cut_to(file: &[u8], snaplen: u32) -> Vec<u8> {
    let (mut header, recs) = parse_pcap(file);
    header[16..20].copy_from_slice(&snaplen.to_le_bytes());
    let mut out = header;
    for r in recs {
        let caplen = (r.len() as u32 - 16).min(snaplen);
        out.extend_from_slice(&r[..8]);
        out.extend_from_slice(&caplen.to_le_bytes());
        out.extend_from_slice(&r[12..16 + caplen as usize]);
    }
    out
}

const SNAP1500: &str = "\
22:13:20.123456 IP 10.0.0.1.80 > 10.0.0.2.1024: Flags [S], seq 0:46, win 8192, length 46: HTTP
22:13:21.123456 IP 10.0.0.1.80 > 10.0.0.2.1025: Flags [S], seq 0:1460, win 8192, length 1460: HTTP
22:13:22.123456 IP 10.0.0.3.81 > 10.0.0.2.1026: Flags [S], seq 0:6, win 8192, length 6
";

#[test]
fn pcap_records_longer_than_the_snaplen_are_read() {
    // The header says 1500; the second record holds 1514 bytes. It used to stop the file
    // there ("invalid packet capture length 1514 ... bigger than the maximum of 1500").
    let d = TempDir::new("snap1500");
    let input = pcap_with_snaplen(1500, &frames());
    let f = d.file("in.pcap", &input);
    prints(&f, &["-nn"], SNAP1500);
    let r = run(&["-r", &f, "-nn"]);
    assert_eq!(
        r.stderr,
        format!("reading from file {f}, link-type EN10MB (Ethernet), snapshot length 1500\n")
    );
    // Written as libpcap hands it over: cut to 1500 bytes, captured length 1500.
    let out = writes(&f, &[]);
    assert!(out == cut_to(&input, 1500), "-w output differs");
    let (_, recs) = parse_pcap(&out);
    assert_eq!(recs[1].len(), 16 + 1500);
    assert_eq!(get32(&recs[1][8..], false), 1500);
    assert_eq!(get32(&recs[1][12..], false), 1514);
    // Through a filter too (pcap into pcap copies records from the read buffer).
    let out = writes(&f, &["greater", "1000"]);
    assert_eq!(
        parse_pcap(&out).1,
        parse_pcap(&cut_to(&input, 1500)).1[1..2]
    );
    // And from a pipe.
    let r = run_with(command(&["-r", "-", "-w", "-"]), Some(&input));
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    assert!(r.stdout == cut_to(&input, 1500));
}

const SNAP64_X: &str = "\
22:13:20.123456 IP 10.0.0.1.80 > 10.0.0.2.1024: Flags [S], seq 0:46, win 8192, length 46: HTTP
\t0x0000:  4500 0056 0001 0000 4006 0000 0a00 0001
\t0x0010:  0a00 0002 0050 0400 0000 0000 0000 0000
\t0x0020:  5002 2000 0000 0000 abab abab abab abab
\t0x0030:  abab
22:13:21.123456 IP 10.0.0.1.80 > 10.0.0.2.1025: Flags [S], seq 0:1460, win 8192, length 1460: HTTP
\t0x0000:  4500 05dc 0001 0000 4006 0000 0a00 0001
\t0x0010:  0a00 0002 0050 0401 0000 0000 0000 0000
\t0x0020:  5002 2000 0000 0000 abab abab abab abab
\t0x0030:  abab
22:13:22.123456 IP 10.0.0.3.81 > 10.0.0.2.1026: Flags [S], seq 0:6, win 8192, length 6
\t0x0000:  4500 002e 0001 0000 4006 0000 0a00 0003
\t0x0010:  0a00 0002 0051 0402 0000 0000 0000 0000
\t0x0020:  5002 2000 0000 0000 abab abab abab
";

#[test]
fn pcap_records_are_cut_to_the_snaplen_for_printing_filtering_and_writing() {
    // Every record but the last is longer than the 64 bytes the header gives: only the first
    // 64 are seen (the last 6 hex bytes of the first two are not printed, nor matched).
    let d = TempDir::new("snap64");
    let input = pcap_with_snaplen(64, &frames());
    let f = d.file("in.pcap", &input);
    prints(&f, &["-nn", "-x"], SNAP64_X);
    // Byte 64 of the frame (tcp[30]) is past the snapshot length in the first two records:
    // the filter cannot see it (nor byte 63 of the last, 60-byte one).
    prints(&f, &["-nn", "tcp[30] = 0xab"], "");
    prints(
        &f,
        &["-nn", "tcp[29] = 0xab"],
        "22:13:20.123456 IP 10.0.0.1.80 > 10.0.0.2.1024: Flags [S], seq 0:46, win 8192, length 46: \
         HTTP\n22:13:21.123456 IP 10.0.0.1.80 > 10.0.0.2.1025: Flags [S], seq 0:1460, win 8192, \
         length 1460: HTTP\n",
    );
    let out = writes(&f, &[]);
    assert!(out == cut_to(&input, 64), "-w output differs");
    let out = writes(&f, &["-c", "1"]);
    assert!(
        out == cut_to(&input[..24 + 16 + 100], 64),
        "-c 1 -w output differs"
    );
}

#[test]
fn pcap_snaplen_zero_means_the_maximum() {
    // No snapshot length in the header: libpcap takes its maximum, and writes that.
    let d = TempDir::new("snap0");
    let input = pcap_with_snaplen(0, &frames());
    let f = d.file("in.pcap", &input);
    prints(&f, &["-nn"], SNAP1500);
    let r = run(&["-r", &f]);
    assert!(
        r.stderr.ends_with(", snapshot length 262144\n"),
        "{}",
        r.stderr
    );
    let out = writes(&f, &[]);
    assert!(out == cut_to(&input, 262_144), "-w output differs");
    assert_eq!(get32(&out[16..], false), 262_144);
}

#[test]
fn pcap_records_past_the_maximum_are_still_refused() {
    // libpcap's limit is its maximum snapshot length for the link type, not the header's.
    let d = TempDir::new("huge");
    let big = tcp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 1024, 300_000 - 54);
    let input = pcap_with_snaplen(64, &[frames()[0].clone(), big]);
    let f = d.file("in.pcap", &input);
    let r = run(&["-r", &f, "-nn"]);
    assert_eq!(
        assert_one_line_error(&r),
        format!(
            "bpfdump: {f}: invalid packet capture length 300000 in the record at byte offset \
             140, bigger than the maximum of 262144"
        )
    );
    // The record before it was printed.
    assert_eq!(r.stdout_str().lines().count(), 1);
}

// ---------------------------------------------------------------------------------------
// pcapng time stamp resolutions and offsets

/// An IDB (Ethernet, no snapshot length) with the given if_tsresol and if_tsoffset options.
fn idb(ng: &mut Ng, tsresol: Option<u8>, tsoffset: Option<i64>) {
    let big = ng.big;
    let mut body = Vec::new();
    put16(&mut body, big, 1);
    put16(&mut body, big, 0);
    put32(&mut body, big, 0);
    // An option libpcap skips, first.
    put16(&mut body, big, 2);
    put16(&mut body, big, 3);
    body.extend(b"et0\0");
    if let Some(r) = tsresol {
        put16(&mut body, big, 9);
        put16(&mut body, big, 1);
        body.extend([r, 0, 0, 0]);
    }
    if let Some(o) = tsoffset {
        put16(&mut body, big, 14);
        put16(&mut body, big, 8);
        body.extend(if big {
            o.to_be_bytes()
        } else {
            o.to_le_bytes()
        });
    }
    put16(&mut body, big, 0);
    put16(&mut body, big, 0);
    ng.block(1, &body);
}

/// A pcapng file: one interface, then a packet at each time stamp (in its units).
fn pcapng(big: bool, tsresol: Option<u8>, tsoffset: Option<i64>, stamps: &[u64]) -> Vec<u8> {
    let mut ng = Ng::new(big);
    idb(&mut ng, tsresol, tsoffset);
    for (i, &t) in stamps.iter().enumerate() {
        let f = tcp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 1024 + i as u16, 0);
        ng.epb(0, t, &f, f.len() as u32);
    }
    ng.bytes
}

/// The summary of the i-th packet of a pcapng file above, after its time stamp.
fn line(i: u16) -> String {
    format!(
        " IP 10.0.0.1.80 > 10.0.0.2.{}: Flags [S], seq 0, win 8192, length 0\n",
        1024 + i
    )
}

/// The lines for the given time stamp texts.
fn lines(stamps: &[&str]) -> String {
    stamps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{s}{}", line(i as u16)))
        .collect()
}

/// Each resolution libpcap reads, with the time stamps tcpdump prints (-tttt, then -tttt
/// --nano). The counts per second: 10^12, 10^19, 2^31, 2^32, 2^34, 1 and 10^3.
#[test]
fn pcapng_unusual_time_stamp_resolutions_are_read() {
    let d = TempDir::new("tsresol");
    const S: u64 = 1_700_000_000;
    // if_tsresol, raw time stamps, and what tcpdump prints for them without and with --nano.
    type Case = (u8, Vec<u64>, [&'static str; 2], [&'static str; 2]);
    let cases: [Case; 7] = [
        (
            12,
            vec![
                10_000_000 * 1_000_000_000_000 + 123_456_789_012,
                10_000_001 * 1_000_000_000_000 + 999_999_999_999,
            ],
            ["1970-04-26 17:46:40.123456", "1970-04-26 17:46:41.999999"],
            [
                "1970-04-26 17:46:40.123456789",
                "1970-04-26 17:46:41.999999999",
            ],
        ),
        (
            19,
            vec![
                10_000_000_000_000_000_000 + 1_234_567_890_123_456_789,
                18 * 10u64.pow(18),
            ],
            ["1970-01-01 00:00:01.123456", "1970-01-01 00:00:01.800000"],
            [
                "1970-01-01 00:00:01.123456789",
                "1970-01-01 00:00:01.800000000",
            ],
        ),
        (
            0x80 | 31,
            vec![S << 31 | 1 << 30, (S + 1) << 31 | 12345],
            ["2023-11-14 22:13:20.500000", "2023-11-14 22:13:21.000005"],
            [
                "2023-11-14 22:13:20.500000000",
                "2023-11-14 22:13:21.000005748",
            ],
        ),
        (
            0x80 | 32,
            vec![S << 32 | 1 << 31 | 1, S << 32 | 0xffff_ffff],
            ["2023-11-14 22:13:20.500000", "2023-11-14 22:13:20.999999"],
            [
                "2023-11-14 22:13:20.500000000",
                "2023-11-14 22:13:20.999999999",
            ],
        ),
        (
            0x80 | 34,
            vec![(S >> 4) << 34 | ((1 << 34) - 1)],
            ["1973-05-14 17:53:20.999999", ""],
            ["1973-05-14 17:53:20.999999999", ""],
        ),
        (
            0,
            vec![S, S + 1],
            ["2023-11-14 22:13:20.000000", "2023-11-14 22:13:21.000000"],
            [
                "2023-11-14 22:13:20.000000000",
                "2023-11-14 22:13:21.000000000",
            ],
        ),
        (
            3,
            vec![S * 1000 + 7, S * 1000 + 999],
            ["2023-11-14 22:13:20.007000", "2023-11-14 22:13:20.999000"],
            [
                "2023-11-14 22:13:20.007000000",
                "2023-11-14 22:13:20.999000000",
            ],
        ),
    ];
    for (resol, stamps, micro, nano) in cases {
        for big in [false, true] {
            let input = pcapng(big, Some(resol), None, &stamps);
            let f = d.file(&format!("r{resol}-{big}.pcapng"), &input);
            let n = stamps.len();
            prints(&f, &["-nn", "-tttt"], &lines(&micro[..n]));
            prints(&f, &["-nn", "-tttt", "--nano"], &lines(&nano[..n]));
            // Copied block for block by -w.
            let r = run(&["-r", &f, "-w", "-"]);
            assert_eq!(r.code(), Some(0), "{}", r.stderr);
            assert!(
                r.stdout == input,
                "-w changed the file (if_tsresol {resol:#x})"
            );
        }
    }
}

#[test]
fn pcapng_time_stamp_offsets_are_added() {
    let d = TempDir::new("tsoffset");
    const S: u64 = 1_700_000_000;
    for (offset, want) in [
        (1000, "2023-11-14 22:30:00.000005"),
        (-1000, "2023-11-14 21:56:40.000005"),
        // Below zero: a time before 1970, as a C time_t.
        (-(S as i64) - (1 << 32), "1833-11-24 17:31:44.000005"),
    ] {
        let input = pcapng(false, Some(6), Some(offset), &[S * 1_000_000 + 5]);
        let f = d.file(&format!("off{offset}.pcapng"), &input);
        prints(&f, &["-nn", "-tttt"], &lines(&[want]));
    }
    // With nanoseconds, and in a big-endian file.
    let input = pcapng(true, Some(9), Some(3600), &[S * 1_000_000_000 + 5]);
    let f = d.file("offnano.pcapng", &input);
    prints(
        &f,
        &["-nn", "-tttt", "--nano"],
        &lines(&["2023-11-14 23:13:20.000000005"]),
    );
}

#[test]
fn pcapng_resolutions_past_what_libpcap_reads_are_one_clear_error() {
    let d = TempDir::new("toofine");
    for (resol, says) in [
        (20u8, "10^-20"),
        (0x80 | 64, "2^-64"),
        (0x80 | 127, "2^-127"),
    ] {
        let f = d.file("in.pcapng", &pcapng(false, Some(resol), None, &[1]));
        let r = run(&["-r", &f]);
        assert_eq!(
            assert_one_line_error(&r),
            format!(
                "bpfdump: {f}: bad pcapng interface description block at byte offset 28: \
                 if_tsresol option of {says} seconds is finer than libpcap reads (at most \
                 10^-19 or 2^-63)"
            )
        );
        // libpcap refuses it when it opens the file: nothing is said about reading it.
        assert!(!r.stderr.contains("reading from file"), "{}", r.stderr);
    }
    // Malformed time stamp options are refused as libpcap refuses them, in our words.
    let mut ng = Ng::new(false);
    let mut body = Vec::new();
    put16(&mut body, false, 1);
    put16(&mut body, false, 0);
    put32(&mut body, false, 0);
    put16(&mut body, false, 9);
    put16(&mut body, false, 2);
    body.extend([6, 0, 0, 0]);
    ng.block(1, &body);
    let f = d.file("len.pcapng", &ng.bytes);
    let r = run(&["-r", &f]);
    assert_eq!(
        assert_one_line_error(&r),
        format!(
            "bpfdump: {f}: bad pcapng interface description block at byte offset 28: \
             if_tsresol option with length 2, not 1"
        )
    );
}

#[test]
fn pcapng_original_length_below_the_captured_one_is_printed_as_tcpdump_does() {
    // pcap-file refused the block ("The original length of the packet is lower than its
    // actual length"); libpcap hands it over and tcpdump says what is wrong with it.
    let d = TempDir::new("origlen");
    let mut ng = Ng::new(false);
    idb(&mut ng, None, None);
    let f = tcp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 1024, 6);
    ng.epb(0, 1_700_000_000_000_000, &f, 40);
    ng.epb(0, 1_700_000_001_000_000, &f, 60);
    let file = d.file("in.pcapng", &ng.bytes);
    prints(
        &file,
        &["-nn"],
        "[Invalid header: len(40) < caplen(60)]\n\
         22:13:21.000000 IP 10.0.0.1.80 > 10.0.0.2.1024: Flags [S], seq 0:6, win 8192, length 6: \
         HTTP\n",
    );
}

// ---------------------------------------------------------------------------------------
// Time stamps tcpdump does not convert

/// Seconds: 10000-01-01 00:00:00 (bit 31 set: not converted), 10000-01-09 21:47:44, the
/// first second past 2^31 (2038), 2^32 + 5 (2106: bit 31 clear again), year 294247.
const FAR: [u64; 5] = [
    253_402_300_800,
    0x3B_0000_0000,
    1 << 31,
    (1 << 32) + 5,
    9_223_372_032_559,
];

fn far_file(d: &TempDir) -> String {
    let stamps: Vec<u64> = FAR
        .iter()
        .enumerate()
        .map(|(i, s)| s * 1_000_000 + 123_000 + i as u64)
        .collect();
    d.file("far.pcapng", &pcapng(false, None, None, &stamps))
}

#[test]
fn far_future_time_stamps_print_as_tcpdump_prints_them() {
    let d = TempDir::new("far");
    let f = far_file(&d);
    let bad = "[Error converting time]";
    prints(
        &f,
        &["-nn", "-tttt"],
        &lines(&[
            bad,
            "10000-01-09 21:47:44.123001",
            bad,
            "2106-02-07 06:28:21.123003",
            "294247-01-10 02:49:19.123004",
        ]),
    );
    prints(
        &f,
        &["-nn"],
        &lines(&[
            bad,
            "21:47:44.123001",
            bad,
            "06:28:21.123003",
            "02:49:19.123004",
        ]),
    );
    // -tt prints the seconds as an unsigned int: their low 32 bits.
    prints(
        &f,
        &["-nn", "-tt"],
        &lines(&[bad, "0.123001", bad, "5.123003", "2077248047.123004"]),
    );
    prints(
        &f,
        &["-nn", "-tttt", "--nano"],
        &lines(&[
            bad,
            "10000-01-09 21:47:44.123001000",
            bad,
            "2106-02-07 06:28:21.123003000",
            "294247-01-10 02:49:19.123004000",
        ]),
    );
    // Differences of 2^31 seconds or more (bit 31 set) are not converted either.
    prints(
        &f,
        &["-nn", "-ttt"],
        &lines(&[
            " 00:00:00.000000",
            " 21:47:44.000001",
            "-18:33:35.999999",
            " [Error converting time]",
            " 20:20:58.000001",
        ]),
    );
    prints(
        &f,
        &["-nn", "-ttttt"],
        &lines(&[
            " 00:00:00.000000",
            " 21:47:44.000001",
            "-20:45:51.999998",
            "-[Error converting time]",
            " 02:49:19.000004",
        ]),
    );
}

#[test]
fn time_stamps_localtime_cannot_convert_print_as_tcpdump_prints_them() {
    // Whole seconds (if_tsresol 10^0) far past any year an int holds; and one before 1970
    // by 2^32 seconds, which is converted.
    let d = TempDir::new("huge");
    let f = d.file(
        "huge.pcapng",
        &pcapng(
            false,
            Some(0),
            None,
            &[1 << 62, (1u64 << 32).wrapping_neg()],
        ),
    );
    prints(
        &f,
        &["-nn", "-tttt"],
        &lines(&["[Error converting time]", "1833-11-24 17:31:44.000000"]),
    );
    prints(
        &f,
        &["-nn", "-ttt"],
        &lines(&[" 00:00:00.000000", "-[Error converting time]"]),
    );
}
