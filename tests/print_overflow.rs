//! Packets whose length fields once drove the printer's arithmetic below zero (a panic in a
//! debug build, a wrapped length in a release build), each printed as tcpdump prints it.
//! The expected text is tcpdump 4.99's; where tcpdump is installed it is checked too.
//! (The mutation fuzzer that finds such packets is src/print/fuzz.rs.)

mod common;

use std::process::Command;

use common::{have_tcpdump, put16, put32, TempDir, BIN};

/// One packet: its link type, bytes (hex, spaces ignored) and length on the wire.
struct Case {
    name: &'static str,
    linktype: u32,
    hex: &'static str,
    origlen: Option<u32>,
    flags: &'static [&'static str],
    /// The output, one line per packet line, without the time stamp (-t).
    want: &'static str,
}

fn pcap(c: &Case) -> Vec<u8> {
    let data: Vec<u8> = c
        .hex
        .split_whitespace()
        .collect::<String>()
        .as_bytes()
        .chunks(2)
        .map(|h| u8::from_str_radix(std::str::from_utf8(h).unwrap(), 16).unwrap())
        .collect();
    let mut f = Vec::new();
    put32(&mut f, false, 0xa1b2_c3d4);
    put16(&mut f, false, 2);
    put16(&mut f, false, 4);
    for v in [0, 0, 262_144, c.linktype] {
        put32(&mut f, false, v);
    }
    for v in [
        1_700_000_000,
        0,
        data.len() as u32,
        c.origlen.unwrap_or(data.len() as u32),
    ] {
        put32(&mut f, false, v);
    }
    f.extend(data);
    f
}

fn run(cmd: &str, flags: &[&str], file: &str) -> (bool, String, String) {
    let out = Command::new(cmd)
        .args(flags)
        .arg("-t")
        .arg("-r")
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check(cases: &[Case]) {
    let tmp = TempDir::new("print-overflow");
    let tcpdump = have_tcpdump();
    let mut bad = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let file = tmp.file(&format!("{i}.pcap"), &pcap(c));
        let (ok, out, err) = run(BIN, c.flags, &file);
        if !ok || out != c.want {
            bad.push(format!(
                "{} {:?}: bpfdump (exit ok: {ok}):\n{out}{err}\nwant:\n{}",
                c.name, c.flags, c.want
            ));
        }
        if tcpdump {
            let (_, out, _) = run("tcpdump", c.flags, &file);
            if out != c.want {
                bad.push(format!(
                    "{} {:?}: tcpdump says:\n{out}want:\n{}",
                    c.name, c.flags, c.want
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn ipv4_total_length_zero_is_bad_len() {
    // tcpdump's ip_print (print-ip.c, built without GUESS_TSO): a total length below the
    // header length, 0 included, prints "bad-len" and stops, at every -v level. Here a
    // 24-byte header of which 22 bytes were on the wire: guessing the total from the wire
    // length took 24 from 22.
    let short = concat!(
        "020202020202 040404040404 0800",
        "46000000 00010000 40060000 0a000001 0a000002 0101"
    );
    // A whole TCP SYN whose IP total length is 0: not printed as TCP.
    let whole = concat!(
        "020202020202 040404040404 0800",
        "45000000 00010000 40060000 0a000001 0a000002",
        "04d20050 00000001 00000002 50020064 00000000"
    );
    let mut cases = Vec::new();
    for hex in [short, whole] {
        cases.push(Case {
            name: "total length 0",
            linktype: 1,
            hex,
            origlen: None,
            flags: &["-nn"],
            want: "IP bad-len 0\n",
        });
        cases.push(Case {
            name: "total length 0",
            linktype: 1,
            hex,
            origlen: None,
            flags: &["-nn", "-vvv"],
            want: "IP bad-len 0\n",
        });
    }
    cases.push(Case {
        name: "total length 0, -e -x",
        linktype: 1,
        hex: short,
        origlen: None,
        flags: &["-nn", "-v", "-e", "-x"],
        want:
            "04:04:04:04:04:04 > 02:02:02:02:02:02, ethertype IPv4 (0x0800), length 36: bad-len 0\n\
               \t0x0000:  4600 0000 0001 0000 4006 0000 0a00 0001\n\
               \t0x0010:  0a00 0002 0101\n",
    });
    // A raw IP capture (no link header) of the same short packet.
    cases.push(Case {
        name: "total length 0, raw IP",
        linktype: 101,
        hex: "46000000 00010000 40060000 0a000001 0a000002 0101",
        origlen: None,
        flags: &["-nn", "-v"],
        want: "IP bad-len 0\n",
    });
    // Total length 12 (below 20) and 22 (below a 24-byte header): bad-len as before.
    cases.push(Case {
        name: "total length 22 < hlen 24",
        linktype: 1,
        hex: concat!(
            "020202020202 040404040404 0800",
            "46000016 00010000 40060000 0a000001 0a000002 01010101"
        ),
        origlen: None,
        flags: &["-nn", "-v"],
        want: "IP bad-len 22\n",
    });
    check(&cases);
}
