//! Wireshark's programs and bpfdump read each other's pcapng files: tshark must find in the
//! pcapng files bpfdump writes live (`--pcapng`, micro- and nanosecond) the very timestamps,
//! interface names and directions we wrote; bpfdump must read the microsecond pcapng files of
//! `editcap -F pcapng` and `tshark -F pcapng` (made from captures/sample.pcap) and dumpcap's
//! live ones with the timestamps exact.
//!
//! Needs `tshark` (and `editcap`, `dumpcap`) on PATH: without them a test says
//! `SKIPPED: <test>: <why>` on stderr and passes. The live parts need root too, for the
//! network namespaces of the lab (tests/support/lab.rs); traffic stays inside them.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::lab::*;

// ----------------------------------------------------------------------------- helpers

/// `name` in a directory of PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The paths of `names` (Wireshark's programs), or None after saying which one is missing.
fn programs<const N: usize>(test: &str, names: [&str; N]) -> Option<[PathBuf; N]> {
    let mut out = Vec::new();
    for n in names {
        match on_path(n) {
            Some(p) => out.push(p),
            None => {
                skip(
                    test,
                    &format!("{n} is not installed (apt-get install tshark)"),
                );
                return None;
            }
        }
    }
    out.try_into().ok()
}

/// A Wireshark program with a fixed time zone and locale, and no personal configuration
/// (preferences, profiles, disabled protocols): WIRESHARK_CONFIG_DIR names a directory that
/// does not exist, so the defaults apply.
fn command(program: &Path) -> Command {
    let mut c = Command::new(program);
    c.env("TZ", "UTC").env("LC_ALL", "C").env(
        "WIRESHARK_CONFIG_DIR",
        std::env::temp_dir().join(format!(
            "bpfdump-no-wireshark-config-{}",
            std::process::id()
        )),
    );
    c
}

/// Runs `cmd` (bounded); fails the test unless it exits 0 and says nothing on stderr but
/// Wireshark's warning about running as root.
fn run_quiet(cmd: Command) -> Done {
    let done = run_bounded(cmd);
    done.assert_success();
    let said: Vec<&str> = done
        .stderr
        .lines()
        .filter(|l| !l.starts_with("Running as user \"root\""))
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        said.is_empty(),
        "{}: stderr:\n{}",
        done.cmdline,
        done.stderr
    );
    done
}

/// What tshark says about a frame.
#[derive(Debug, PartialEq, Eq)]
struct Frame {
    /// frame.time_epoch, in nanoseconds.
    ns: u64,
    /// frame.interface_name.
    iface: String,
    /// frame.packet_flags_direction, as printed ("" when the packet has no epb_flags).
    dir: String,
    /// udp.dstport.
    dport: Option<u16>,
}

/// `1700000000.001000123` (tshark prints nine digits) as nanoseconds.
fn epoch_ns(s: &str) -> u64 {
    let (secs, frac) = s
        .split_once('.')
        .unwrap_or_else(|| panic!("frame.time_epoch {s:?}: no fraction"));
    assert!(
        frac.len() <= 9 && frac.bytes().all(|c| c.is_ascii_digit()),
        "frame.time_epoch {s:?}"
    );
    let frac: u64 = format!("{frac:0<9}").parse().unwrap();
    secs.parse::<u64>()
        .unwrap_or_else(|e| panic!("frame.time_epoch {s:?}: {e}"))
        * 1_000_000_000
        + frac
}

/// `tshark -r FILE -T fields ...`: one Frame per packet.
fn tshark_frames(tshark: &Path, file: &Path) -> Vec<Frame> {
    let mut cmd = command(tshark);
    cmd.arg("-n").arg("-r").arg(file).args([
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=f",
        "-e",
        "frame.time_epoch",
        "-e",
        "frame.interface_name",
        "-e",
        "frame.packet_flags_direction",
        "-e",
        "udp.dstport",
    ]);
    let done = run_quiet(cmd);
    String::from_utf8_lossy(&done.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "tshark line {l:?}");
            Frame {
                ns: epoch_ns(f[0]),
                iface: f[1].to_string(),
                dir: f[2].to_string(),
                dport: (!f[3].is_empty()).then(|| f[3].parse().unwrap()),
            }
        })
        .collect()
}

/// How tshark prints frame.packet_flags_direction (a BASE_HEX field) for epb_flags
/// direction bits `d`: 1 inbound, 2 outbound.
fn tshark_dir(d: u32) -> String {
    format!("0x{d:08x}")
}

/// The local time of day (TZ=UTC) bpfdump and tcpdump print first on each line, with
/// `digits` (6 or 9) fractional digits.
fn clock(ns: u64, digits: u32) -> String {
    let secs = ns / 1_000_000_000;
    let day = secs % 86_400;
    let frac = ns % 1_000_000_000 / 10u64.pow(9 - digits);
    format!(
        "{:02}:{:02}:{:02}.{frac:0w$}",
        day / 3600,
        day / 60 % 60,
        day % 60,
        w = digits as usize
    )
}

/// The first word of each line of a summary (bpfdump -r, tcpdump -r).
fn first_column(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        // A packet's further lines (-v, hex of unknown payloads) start with white space.
        .filter(|l| !l.starts_with([' ', '\t']))
        .map(|l| l.split(' ').next().unwrap_or("").to_string())
        .collect()
}

/// `bpfdump ARGS` (offline, TZ=UTC), which must succeed.
fn bpfdump(args: &[&std::ffi::OsStr]) -> Done {
    let mut cmd = Command::new(Tool::bpfdump().path);
    cmd.args(args).env("TZ", "UTC").env("LC_ALL", "C");
    let done = run_bounded(cmd);
    done.assert_success();
    done
}

/// Timestamp, bytes and length on the wire of every packet.
fn records(c: &Cap) -> Vec<(u64, Vec<u8>, u32)> {
    c.packets
        .iter()
        .map(|p| (p.ts_ns, p.data.clone(), p.wirelen))
        .collect()
}

/// The same packets (timestamp, bytes, wire length), or the first one that differs.
fn assert_same_packets(what: &str, got: &Cap, want: &Cap) {
    let (g, w) = (records(got), records(want));
    if let Some(i) = (0..g.len().min(w.len())).find(|&i| g[i] != w[i]) {
        panic!(
            "{what}: packet {i} differs: got ts {} len {} wire {}, want ts {} len {} wire {}",
            g[i].0,
            g[i].1.len(),
            g[i].2,
            w[i].0,
            w[i].1.len(),
            w[i].2
        );
    }
    assert_eq!(g.len(), w.len(), "{what}: number of packets");
}

/// Timestamps within 2 s of the wall-clock interval [t0, t1] of the capture.
fn assert_near(what: &str, ts: &[u64], t0: u64, t1: u64) {
    let slack = 2_000_000_000;
    assert!(
        ts.iter().all(|t| *t + slack >= t0 && *t <= t1 + slack),
        "{what}: timestamps {ts:?} not within 2 s of the capture [{t0}, {t1}]"
    );
}

// ------------------------------------------------- our live pcapng, read by tshark

/// bpfdump's live `--pcapng` files, micro- and nanosecond, read by tshark: per packet the
/// timestamp our reader finds in the EPB (to the nanosecond), the interface's name and the
/// direction (epb_flags: inbound 1 for what b sent, outbound 2 for what a sent), and the UDP
/// port; the timestamps within seconds of the capture's wall-clock time.
#[test]
fn tshark_reads_our_live_pcapng_times() {
    let test = "tshark_reads_our_live_pcapng_times";
    let Some([tshark]) = programs(test, ["tshark"]) else {
        return;
    };
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let tool = Tool::bpfdump();
    let _sa = lab.sinks(Side::A, &[6901]);
    let _sb = lab.sinks(Side::B, &[6901]);
    let mut caps = Vec::new();
    for nano in [false, true] {
        let file = dir.path(if nano { "nano.pcapng" } else { "micro.pcapng" });
        let mut a = args(&[
            "-i",
            &lab.dev(Side::A),
            "-U",
            "--immediate-mode",
            "--pcapng",
        ]);
        if nano {
            a.extend(args(&["--time-stamp-precision", "nano"]));
        }
        a.push("-w".into());
        a.push(file.display().to_string());
        a.extend(args(&["udp", "port", "6901"]));
        let mut cap = lab.capture(Side::A, &tool, &a);
        cap.wait_listening();
        caps.push((nano, cap, file));
    }
    let t0 = now_ns();
    let (a4, b4) = (lab.ip4(Side::A), lab.ip4(Side::B));
    let from_b = lab.udp4(Side::B, 0);
    let from_a = lab.udp4(Side::A, 0);
    let mut want = Vec::new();
    for i in 0..3 {
        want.push(send(&from_b, (a4, 6901), payload("in", i, 40)));
        std::thread::sleep(Duration::from_millis(2));
        if i < 2 {
            want.push(send(&from_a, (b4, 6901), payload("out", i, 40)));
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    want.push(send(&from_b, (a4, 6901), payload("end", 0, 40)));
    for (_, cap, file) in &mut caps {
        cap.wait_file(file, "the last datagram", |c| c.has_label("end", 0));
    }
    let t1 = now_ns();
    // epb_flags direction of each datagram: inbound at a if b sent it.
    let dirs: Vec<u32> = want
        .iter()
        .map(|d| if d.src.ip() == b4 { 1 } else { 2 })
        .collect();
    for (nano, cap, file) in caps {
        let done = cap.stop();
        done.assert_success();
        let c = load(&file);
        let ctx = c.listing();
        assert_eq!(c.format, Format::Pcapng);
        assert_eq!(c.ifaces.len(), 1, "{:?}", c.ifaces);
        assert_eq!(c.ifaces[0].tsresol, Some(if nano { 9 } else { 6 }));
        assert_eq!(c.dgrams(), want, "{ctx}");
        let ours: Vec<u32> = c.packets.iter().map(|p| p.flags.unwrap_or(0) & 3).collect();
        assert_eq!(ours, dirs, "epb_flags direction in our file: {ctx}");
        let ts: Vec<u64> = c.packets.iter().map(|p| p.ts_ns).collect();
        assert_near(&file.display().to_string(), &ts, t0, t1);
        if nano {
            assert!(ts.iter().any(|t| t % 1000 != 0), "no ns digits: {ts:?}");
        } else {
            assert!(ts.iter().all(|t| t % 1000 == 0), "{ts:?}");
        }
        let frames = tshark_frames(&tshark, &file);
        let expect: Vec<Frame> = c
            .packets
            .iter()
            .zip(&dirs)
            .map(|(p, d)| Frame {
                ns: p.ts_ns,
                iface: lab.dev(Side::A),
                dir: tshark_dir(*d),
                dport: Some(6901),
            })
            .collect();
        assert_eq!(
            frames,
            expect,
            "tshark -r {} (want what our reader finds in the file)",
            file.display()
        );
    }
}

/// `-i any --pcapng`: packets from the veth (both directions) and from lo, each described by
/// its own interface description; tshark names each packet's real interface.
#[test]
fn tshark_reads_our_any_pcapng_interface_names() {
    let test = "tshark_reads_our_any_pcapng_interface_names";
    let Some([tshark]) = programs(test, ["tshark"]) else {
        return;
    };
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("any.pcapng");
    let _sa = lab.sinks(Side::A, &[6902]);
    let _sb = lab.sinks(Side::B, &[6902]);
    let mut a = args(&["-i", "any", "-U", "--immediate-mode", "--pcapng", "-w"]);
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "6902"]));
    let mut cap = lab.capture(Side::A, &Tool::bpfdump(), &a);
    cap.wait_listening();
    let t0 = now_ns();
    let (a4, b4) = (lab.ip4(Side::A), lab.ip4(Side::B));
    let from_b = lab.udp4(Side::B, 0);
    let from_a = lab.udp4(Side::A, 0);
    let local = lab.in_ns(Side::A, || {
        std::net::UdpSocket::bind(("127.0.0.1", 0)).unwrap()
    });
    let veth = lab.dev(Side::A);
    // (datagram, interface, direction), in the order sent.
    let want = vec![
        (
            send(&from_b, (a4, 6902), payload("in", 0, 30)),
            veth.as_str(),
            1,
        ),
        (
            send(&local, ([127, 0, 0, 1], 6902), payload("lo", 0, 30)),
            "lo",
            1,
        ),
        (
            send(&from_a, (b4, 6902), payload("out", 0, 30)),
            veth.as_str(),
            2,
        ),
        (
            send(&local, ([127, 0, 0, 1], 6902), payload("lo", 1, 30)),
            "lo",
            1,
        ),
        (
            send(&from_b, (a4, 6902), payload("end", 0, 30)),
            veth.as_str(),
            1,
        ),
    ];
    cap.wait_file(&file, "the last datagram", |c| c.has_label("end", 0));
    let t1 = now_ns();
    let done = cap.stop();
    done.assert_success();
    let c = load(&file);
    let ctx = format!("{}interfaces: {:?}", c.listing(), c.ifaces);
    assert_eq!(c.format, Format::Pcapng);
    assert_eq!(c.linktype, LINKTYPE_LINUX_SLL2);
    assert_eq!(
        c.dgrams(),
        want.iter().map(|w| w.0.clone()).collect::<Vec<_>>(),
        "{ctx}"
    );
    let mut names: Vec<&str> = c.ifaces.iter().filter_map(|i| i.name.as_deref()).collect();
    names.sort();
    assert_eq!(names, ["lo", veth.as_str()], "one IDB per interface: {ctx}");
    for (i, (p, (_, name, d))) in c.packets.iter().zip(&want).enumerate() {
        let idb = &c.ifaces[p.iface as usize];
        assert_eq!(idb.name.as_deref(), Some(*name), "packet {i}: {ctx}");
        assert_eq!(p.flags.map(|f| f & 3), Some(*d), "packet {i}: {ctx}");
    }
    let ts: Vec<u64> = c.packets.iter().map(|p| p.ts_ns).collect();
    assert_near("any.pcapng", &ts, t0, t1);
    let frames = tshark_frames(&tshark, &file);
    let expect: Vec<Frame> = c
        .packets
        .iter()
        .zip(&want)
        .map(|(p, (_, name, d))| Frame {
            ns: p.ts_ns,
            iface: name.to_string(),
            dir: tshark_dir(*d),
            dport: Some(6902),
        })
        .collect();
    assert_eq!(frames, expect, "tshark -r {}", file.display());
}

// ------------------------------------------------ Wireshark's pcapng, read by bpfdump

/// captures/sample.pcap (microseconds) made pcapng by `editcap -F pcapng` and by
/// `tshark -F pcapng`: if_tsresol 6 (or none: microseconds too). bpfdump reads them with the
/// timestamps exact: `-w` gives back every packet of sample.pcap (timestamp, bytes, length on
/// the wire), each printed line starts with the packet's time, and with a filter it prints
/// the lines tcpdump prints, at the same times.
#[test]
fn we_read_wireshark_microsecond_pcapng() {
    let test = "we_read_wireshark_microsecond_pcapng";
    let Some([tshark, editcap]) = programs(test, ["tshark", "editcap"]) else {
        return;
    };
    let dir = Scratch::new(test);
    let sample_path = support::captures_dir().join("sample.pcap");
    let sample = load(&sample_path);
    assert_eq!(sample.format, Format::Pcap { nano: false });
    assert_eq!(sample.packets.len(), 322);
    let tcpdump = support::tcpdump();
    if tcpdump.is_none() {
        skip(
            test,
            "tcpdump is not installed: not comparing with `tcpdump -r`",
        );
    }
    for how in ["editcap", "tshark"] {
        let x = dir.path(&format!("{how}.pcapng"));
        let cmd = match how {
            "editcap" => {
                let mut c = command(&editcap);
                c.args(["-F", "pcapng"]).arg(&sample_path).arg(&x);
                c
            }
            _ => {
                let mut c = command(&tshark);
                c.arg("-r")
                    .arg(&sample_path)
                    .args(["-F", "pcapng", "-w"])
                    .arg(&x);
                c
            }
        };
        run_quiet(cmd);
        let conv = load(&x);
        assert_eq!(conv.format, Format::Pcapng, "{how}");
        assert!(
            !conv.ifaces.is_empty()
                && conv
                    .ifaces
                    .iter()
                    .all(|i| matches!(i.tsresol, None | Some(6))),
            "{how}: want microsecond interfaces: {:?}",
            conv.ifaces
        );
        assert_same_packets(
            &format!("{how}'s pcapng against sample.pcap"),
            &conv,
            &sample,
        );
        if let Some(capinfos) = on_path("capinfos") {
            let mut c = command(&capinfos);
            c.arg(&x);
            let out = String::from_utf8_lossy(&run_quiet(c).stdout).into_owned();
            assert!(
                out.lines()
                    .any(|l| l.starts_with("File timestamp precision:")
                        && l.ends_with("microseconds (6)")),
                "capinfos {}:\n{out}",
                x.display()
            );
        }

        // -w: a pcapng input is written as pcapng, its blocks unchanged.
        let y = dir.path(&format!("{how}-copy.pcap"));
        bpfdump(&["-r".as_ref(), x.as_ref(), "-w".as_ref(), y.as_ref()]);
        let copy = load(&y);
        assert_eq!(copy.format, Format::Pcapng, "{how}");
        assert_same_packets(&format!("bpfdump -r {how}.pcapng -w"), &copy, &sample);

        // Printed: the time of every packet, to the microsecond.
        let all = bpfdump(&["-r".as_ref(), x.as_ref()]);
        let want: Vec<String> = sample.packets.iter().map(|p| clock(p.ts_ns, 6)).collect();
        let got = first_column(&all.stdout);
        assert_eq!(got.len(), want.len(), "bpfdump -r {how}.pcapng: lines");
        if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
            panic!(
                "bpfdump -r {how}.pcapng: packet {i} printed at {}, want {}",
                got[i], want[i]
            );
        }

        // With a filter, as tcpdump.
        let ours = first_column(&bpfdump(&["-r".as_ref(), x.as_ref(), "tcp".as_ref()]).stdout);
        assert!(!ours.is_empty(), "bpfdump -r {how}.pcapng tcp: no line");
        if let Some(tcpdump) = &tcpdump {
            let mut c = Command::new(tcpdump);
            c.args(["-nn", "-r"])
                .arg(&x)
                .arg("tcp")
                .env("TZ", "UTC")
                .env("LC_ALL", "C");
            let done = run_bounded(c);
            done.assert_success();
            let theirs = first_column(&done.stdout);
            assert_eq!(
                ours, theirs,
                "{how}.pcapng, filter tcp: bpfdump's and tcpdump's timestamp columns"
            );
        }
    }
}

/// A live pcapng file written by dumpcap (`dumpcap -i lo -c 3` in a namespace; if_tsresol as
/// dumpcap writes it) read by bpfdump: the timestamps it prints are those tshark reports,
/// and `-w` gives back the same packets.
#[test]
fn we_read_dumpcap_live_pcapng() {
    let test = "we_read_dumpcap_live_pcapng";
    let Some([tshark, dumpcap]) = programs(test, ["tshark", "dumpcap"]) else {
        return;
    };
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("dumpcap.pcapng");
    let sinks = lab.sinks(Side::A, &[6903]);
    let tool = Tool {
        name: "dumpcap",
        path: dumpcap,
    };
    let mut a = args(&["-i", "lo", "-c", "3", "-f", "udp port 6903", "-w"]);
    a.push(file.display().to_string());
    let mut cap = lab.capture(Side::A, &tool, &a);
    wait_until("dumpcap to say it is capturing", START, || {
        let said = cap.stderr_so_far();
        if said.contains("Capturing on") {
            return Ok(());
        }
        if let Some(s) = cap.exited() {
            panic!("dumpcap exited ({s}): {said}");
        }
        Err(said)
    });
    let t0 = now_ns();
    let local = lab.in_ns(Side::A, || {
        std::net::UdpSocket::bind(("127.0.0.1", 0)).unwrap()
    });
    // Until dumpcap has its 3 packets (bounded: 150 datagrams, 3 s).
    let mut sent = 0;
    while cap.exited().is_none() && sent < 150 {
        send(&local, ([127, 0, 0, 1], 6903), payload("dc", sent, 30));
        sent += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(sinks);
    let done = cap.finish();
    done.assert_success();
    let t1 = now_ns();
    let c = load(&file);
    let ctx = format!("{}interfaces: {:?}", c.listing(), c.ifaces);
    assert_eq!(c.format, Format::Pcapng);
    assert_eq!(c.packets.len(), 3, "{ctx}");
    let seqs = c.seqs("dc");
    assert_eq!(seqs.len(), 3, "{ctx}");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{ctx}");
    assert_eq!(c.ifaces[0].name.as_deref(), Some("lo"), "{ctx}");
    let tsresol = c.ifaces[0].tsresol;
    let ts: Vec<u64> = c.packets.iter().map(|p| p.ts_ns).collect();
    assert_near("dumpcap's file", &ts, t0, t1);

    let frames = tshark_frames(&tshark, &file);
    let tshark_ns: Vec<u64> = frames.iter().map(|f| f.ns).collect();
    assert_eq!(
        tshark_ns, ts,
        "tshark's times against our reader's (if_tsresol {tsresol:?})"
    );
    assert!(
        frames
            .iter()
            .all(|f| f.iface == "lo" && f.dport == Some(6903)),
        "{frames:?}"
    );

    // As tcpdump: six digits, nine with --nano (exact for a file of nanosecond timestamps).
    let nano_file = match tsresol {
        Some(r) if r & 0x80 == 0 && r > 6 => true,
        Some(r) if r & 0x80 != 0 && r & 0x7f >= 20 => true,
        _ => false,
    };
    for (flag, digits) in [(None, 6), (Some("--nano"), 9)] {
        let mut args: Vec<&std::ffi::OsStr> = vec!["-r".as_ref(), file.as_ref()];
        if let Some(f) = flag {
            args.push(f.as_ref());
        }
        let printed = first_column(&bpfdump(&args).stdout);
        let want: Vec<String> = tshark_ns.iter().map(|t| clock(*t, digits)).collect();
        if digits == 9 && !nano_file {
            // Microsecond times with three zeros appended.
            let want6: Vec<String> = tshark_ns.iter().map(|t| clock(*t, 6) + "000").collect();
            assert_eq!(printed, want6, "bpfdump -r --nano (if_tsresol {tsresol:?})");
            continue;
        }
        assert_eq!(
            printed, want,
            "bpfdump -r {flag:?} (if_tsresol {tsresol:?}) against tshark's frame.time_epoch"
        );
    }
    let y = dir.path("copy.pcapng");
    bpfdump(&["-r".as_ref(), file.as_ref(), "-w".as_ref(), y.as_ref()]);
    assert_same_packets("bpfdump -r dumpcap.pcapng -w", &load(&y), &c);
}
