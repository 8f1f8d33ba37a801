//! Live capture, end to end: bpfdump captures on one end of a veth pair between two private
//! network namespaces while a known mix of traffic is sent across it, and the file it writes
//! must hold exactly the packets expected (read back by our own reader and by tcpdump).
//!
//! Every scenario is written against a capture *program*: `bpfdump::*` runs it with bpfdump,
//! `tcpdump_selfcheck::*` runs the very same scenario with tcpdump capturing (tcpdump takes
//! the same flags), which checks the harness and the expectations on this kernel. Where a
//! scenario uses something tcpdump does not have (pcapng output), the self-check leaves that
//! part out.
//!
//! Needs root (network namespaces, packet sockets); without it, or when `ip netns` fails,
//! every test says `SKIPPED: <test>: <why>` on stderr and passes. Traffic never leaves the
//! namespaces the test creates (named `lv<pid>x<n>-a|b`, removed when the test ends).

mod support;

use std::net::{IpAddr, SocketAddr};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::lab::*;

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        /// The scenarios, capturing with bpfdump.
        mod bpfdump {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::Tool::bpfdump(), concat!("bpfdump::", stringify!($name)));
                }
            )*
        }
        /// The same scenarios capturing with tcpdump: a check of the harness itself.
        mod tcpdump_selfcheck {
            $(
                #[test]
                fn $name() {
                    let test = concat!("tcpdump_selfcheck::", stringify!($name));
                    if let Some(tool) = super::Tool::tcpdump(test) {
                        super::$name(&tool, test);
                    }
                }
            )*
        }
    };
}

scenarios!(
    udp_port_filter_keeps_exactly_those_datagrams,
    no_filter_keeps_everything_and_tcpdump_agrees,
    vlan_tags_are_reinserted_and_filtered,
    count_stops_after_five,
    direction_in_out_inout,
    size_rotation_names_and_contents,
    time_rotation_stops_at_file_limit,
    sigint_mid_capture_leaves_a_valid_file,
    write_to_stdout_piped_into_tcpdump,
    any_interface_is_sll2_with_ifindex,
    pcapng_and_nanosecond_timestamps,
    error_no_such_interface,
    error_interface_down,
    stats_lines_match_the_file,
    snaplen_and_buffer_options,
    drops_privileges,
    loopback_packets_once,
    sighup_ignored_at_start_stays_ignored,
    print_while_writing,
    link_flap_goes_on_deletion_ends,
    sigint_under_load_writes_up_to_the_signal,
    kill_9_leaves_every_record_that_reached_the_os,
    output_removed_or_made_unwritable_mid_capture,
    rotation_under_load_every_file_whole_and_in_order,
);

// ----------------------------------------------------------------------------- helpers

/// `-i DEV -U --immediate-mode -w FILE EXPR...`: every packet reaches the file at once, so
/// the tests can wait for the last one they sent before stopping the capture.
fn live_args(lab: &Lab, file: &Path, expr: &[&str]) -> Vec<String> {
    let mut a = args(&["-i", &lab.dev(Side::A), "-U", "--immediate-mode", "-w"]);
    a.push(file.display().to_string());
    a.extend(expr.iter().map(|w| w.to_string()));
    a
}

fn assert_listening(line: &str, tool: &Tool, iface: &str, linktype: &str, snaplen: u32) {
    assert_eq!(
        line,
        format!(
            "{}: listening on {iface}, link-type {linktype}, snapshot length {snaplen} bytes",
            tool.name
        )
    );
}

fn ethernet(tool: &Tool, lab: &Lab, line: &str) {
    assert_listening(line, tool, &lab.dev(Side::A), "EN10MB (Ethernet)", 262_144);
}

/// The closing statistics agree with the file: captured = packets in it, nothing dropped.
fn assert_stats(done: &Done, in_file: usize) {
    let s = done.stats();
    assert_eq!(
        s.captured, in_file as u64,
        "{}: 'packets captured' differs from the packets in the file; stderr:\n{}",
        done.cmdline, done.stderr
    );
    assert!(
        s.received >= s.captured,
        "{}: fewer received by filter than captured: {s:?}",
        done.cmdline
    );
    assert_eq!(
        s.dropped, 0,
        "{}: the kernel dropped packets; stderr:\n{}",
        done.cmdline, done.stderr
    );
}

/// How tcpdump -nn writes an address and port.
fn ep(a: SocketAddr) -> String {
    format!("{}.{}", a.ip(), a.port())
}

/// tcpdump's `Flags [...]`.
fn tcp_flags(f: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (TCP_FIN, 'F'),
        (TCP_SYN, 'S'),
        (TCP_RST, 'R'),
        (0x08, 'P'),
        (TCP_ACK, '.'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

/// What tcpdump -nn must say about a packet (a substring of its line).
fn tcpdump_says(d: &Decoded) -> String {
    let at = |port: u16, ip: Option<IpAddr>| ep(SocketAddr::new(ip.unwrap(), port));
    match &d.l4 {
        L4::Udp {
            sport,
            dport,
            payload,
        } => format!(
            // Whole packets only: tcpdump prints the UDP length field, not what was captured.
            "{} > {}: UDP, length {}",
            at(*sport, d.src),
            at(*dport, d.dst),
            payload.len()
        ),
        L4::Tcp {
            sport,
            dport,
            flags,
            ..
        } => format!(
            "{} > {}: Flags [{}]",
            at(*sport, d.src),
            at(*dport, d.dst),
            tcp_flags(*flags)
        ),
        L4::Icmp { ty, id, seq, .. } => format!(
            "{} > {}: ICMP echo {}, id {id}, seq {seq}",
            d.src.unwrap(),
            d.dst.unwrap(),
            if *ty == 8 { "request" } else { "reply" }
        ),
        L4::Arp {
            op: 1,
            sender,
            target,
        } => format!("ARP, Request who-has {target} tell {sender}"),
        L4::Arp { op: 2, sender, .. } => format!("ARP, Reply {sender} is-at"),
        L4::Icmp6 { .. } => "ICMP6".to_string(),
        other => panic!("no tcpdump text for {other:?}"),
    }
}

/// tcpdump reads the file and, line by line, says what our reader found.
fn assert_tcpdump_agrees(test: &str, path: &Path, cap: &Cap) {
    let Some(lines) = tcpdump_read(test, path, &[]) else {
        return;
    };
    assert_eq!(
        lines.len(),
        cap.packets.len(),
        "tcpdump -r {} printed {} lines for {}:\n{}",
        path.display(),
        lines.len(),
        cap.listing(),
        lines.join("\n")
    );
    for (i, (line, d)) in lines.iter().zip(cap.decoded()).enumerate() {
        let want = tcpdump_says(&d);
        assert!(
            line.contains(&want),
            "packet {i}: tcpdump says\n  {line}\nexpected it to contain\n  {want}\nfile: {}",
            cap.listing()
        );
    }
}

/// The packets that are not background (ARP, ICMPv6).
fn foreground(cap: &Cap) -> Vec<(usize, Decoded)> {
    cap.decoded()
        .into_iter()
        .enumerate()
        .filter(|(_, d)| !d.is_background())
        .collect()
}

// --------------------------------------------------------------------------- scenarios

/// (1) `udp port 5001` keeps exactly the datagrams to or from port 5001, payloads intact,
/// among datagrams to other ports, TCP to port 5001 and pings.
fn udp_port_filter_keeps_exactly_those_datagrams(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("udp.pcap");
    let _sinks = lab.sinks(Side::A, &[5001, 5002, 5003, 5004]);
    let mut cap = lab.capture(
        Side::A,
        tool,
        &live_args(&lab, &file, &["udp", "port", "5001"]),
    );
    ethernet(tool, &lab, &cap.wait_listening());

    let a = lab.ip4(Side::A);
    let s = lab.udp4(Side::B, 0);
    let from5001 = lab.udp4(Side::B, 5001);
    let mut want = Vec::new();
    for i in 0..12 {
        let port = [5001, 5002, 5003][i % 3];
        let d = send(&s, (a, port), payload("u", i, 20 + i));
        if port == 5001 {
            want.push(d);
        }
        if i == 4 {
            // Source port 5001 matches too.
            want.push(send(&from5001, (a, 5004), payload("src", i, 33)));
        }
    }
    lab.tcp_refused(Side::B, 5001);
    assert_eq!(lab.ping(Side::B, 0x1111, 2), 2);
    want.push(send(&s, (a, 5001), payload("end", 0, 10)));

    cap.wait_file(&file, "the last datagram", |c| c.has_label("end", 0));
    let done = cap.stop();
    done.assert_success();
    let c = load(&file);
    assert_eq!(c.format, Format::Pcap { nano: false });
    assert_eq!((c.linktype, c.snaplen), (LINKTYPE_ETHERNET, 262_144));
    let got = c.dgrams();
    assert!(
        got.len() == c.packets.len() && got == want,
        "want exactly the {} datagrams to/from port 5001:\n{want:#?}\ngot {}",
        want.len(),
        c.listing()
    );
    for p in &c.packets {
        assert_eq!(p.wirelen as usize, p.data.len());
    }
    assert_stats(&done, c.packets.len());
    assert_tcpdump_agrees(test, &file, &c);
}

/// (2) No filter: UDP over IPv4 and IPv6, pings, a refused and a whole TCP connection, and
/// the ARP and neighbour discovery they cause, all there, in order; tcpdump reads the file
/// and agrees packet by packet.
fn no_filter_keeps_everything_and_tcpdump_agrees(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    // netns-lab makes a quiet lab, with permanent neighbour entries; this scenario wants b
    // to resolve a's addresses (ARP, neighbour solicitation) on the wire.
    for ip in [lab.ip4(Side::A).to_string(), lab.ip6(Side::A).to_string()] {
        let dev = lab.dev(Side::B);
        let listed = lab.ip_cmd(Side::B, &["neigh", "show", &ip, "dev", &dev]);
        if !listed.trim().is_empty() {
            lab.ip_cmd(Side::B, &["neigh", "del", &ip, "dev", &dev]);
        }
    }
    let dir = Scratch::new(test);
    let file = dir.path("all.pcap");
    let _sinks = lab.sinks(Side::A, &[5201]);
    let mut cap = lab.capture(Side::A, tool, &live_args(&lab, &file, &[]));
    ethernet(tool, &lab, &cap.wait_listening());

    let (a4, b4) = (lab.ip4(Side::A), lab.ip4(Side::B));
    let (a6, b6) = (lab.ip6(Side::A), lab.ip6(Side::B));
    let s4 = lab.udp4(Side::B, 0);
    let s6 = lab.udp6(Side::B, 0);
    let mut want = Vec::new();
    for i in 0..3 {
        want.push(send(&s4, (a4, 5201), payload("v4", i, 32)));
    }
    assert_eq!(lab.ping(Side::B, 0x4242, 3), 3);
    lab.tcp_refused(Side::B, 5299);
    lab.tcp_exchange(5202, b"hello over tcp");
    for i in 0..2 {
        want.push(send(&s6, (a6, 5201), payload("v6", i, 48)));
    }
    want.push(send(&s4, (a4, 5201), payload("end", 0, 8)));

    cap.wait_file(&file, "the last datagram", |c| c.has_label("end", 0));
    let done = cap.stop();
    done.assert_success();
    let c = load(&file);
    let all = c.decoded();
    let ctx = c.listing();

    // Nothing but what we sent, the replies, and background traffic.
    for (i, d) in all.iter().enumerate() {
        let ours = match &d.l4 {
            L4::Udp { .. } => true,
            L4::Icmp { id, .. } => *id == 0x4242,
            L4::Tcp { sport, dport, .. } => {
                [*sport, *dport].iter().any(|p| *p == 5299 || *p == 5202)
            }
            L4::Arp { .. } | L4::Icmp6 { .. } => true,
            L4::Other(_) => false,
        };
        assert!(ours && d.tags.is_empty(), "unexpected packet {i}:\n{ctx}");
    }
    assert_eq!(c.dgrams(), want, "{ctx}");

    let icmp: Vec<(IpAddr, u8, u16)> = all
        .iter()
        .filter_map(|d| match d.l4 {
            L4::Icmp { ty, seq, .. } => Some((d.src.unwrap(), ty, seq)),
            _ => None,
        })
        .collect();
    let (a, b) = (IpAddr::V4(a4), IpAddr::V4(b4));
    assert_eq!(
        icmp,
        [
            (b, 8, 1),
            (a, 0, 1),
            (b, 8, 2),
            (a, 0, 2),
            (b, 8, 3),
            (a, 0, 3)
        ],
        "{ctx}"
    );

    let tcp = |port: u16| -> Vec<(IpAddr, u8, Vec<u8>)> {
        all.iter()
            .filter_map(|d| match &d.l4 {
                L4::Tcp {
                    sport,
                    dport,
                    flags,
                    payload,
                } if *sport == port || *dport == port => {
                    Some((d.src.unwrap(), *flags, payload.clone()))
                }
                _ => None,
            })
            .collect()
    };
    let refused: Vec<(IpAddr, u8)> = tcp(5299).into_iter().map(|(s, f, _)| (s, f)).collect();
    assert_eq!(
        refused,
        [(b, TCP_SYN), (a, TCP_RST | TCP_ACK)],
        "refused connection: {ctx}"
    );
    let conn = tcp(5202);
    let flags: Vec<(IpAddr, u8)> = conn.iter().map(|(s, f, _)| (*s, *f)).collect();
    assert!(
        flags.len() >= 7
            && flags[..3] == [(b, TCP_SYN), (a, TCP_SYN | TCP_ACK), (b, TCP_ACK)]
            && flags.iter().any(|(s, f)| *s == b && f & TCP_FIN != 0)
            && flags.iter().any(|(s, f)| *s == a && f & TCP_FIN != 0)
            && flags.iter().all(|(_, f)| f & TCP_RST == 0),
        "connection to 5202: {flags:?}\n{ctx}"
    );
    let data: Vec<&(IpAddr, u8, Vec<u8>)> = conn.iter().filter(|c| !c.2.is_empty()).collect();
    assert!(
        data.len() == 1 && data[0].0 == b && data[0].2 == b"hello over tcp",
        "one data segment from b: {ctx}"
    );

    // b asked for a's MAC (ARP, then IPv6 neighbour solicitation) and a answered.
    let has = |f: &dyn Fn(&Decoded) -> bool| all.iter().any(f);
    assert!(
        has(&|d| d.l4
            == L4::Arp {
                op: 1,
                sender: b4,
                target: a4
            }),
        "no ARP request: {ctx}"
    );
    assert!(
        has(&|d| d.l4
            == L4::Arp {
                op: 2,
                sender: a4,
                target: b4
            }),
        "no ARP reply: {ctx}"
    );
    assert!(
        has(&|d| d.l4 == L4::Icmp6 { ty: 135 } && d.src == Some(IpAddr::V6(b6))),
        "no neighbour solicitation from b: {ctx}"
    );
    assert!(
        has(&|d| d.l4 == L4::Icmp6 { ty: 136 } && d.src == Some(IpAddr::V6(a6))),
        "no neighbour advertisement from a: {ctx}"
    );

    // The phases in the order they were sent.
    let first = |f: &dyn Fn(&Decoded) -> bool| all.iter().position(f).unwrap();
    let order = [
        first(&|d| d.label().is_some_and(|l| l.0 == "v4")),
        first(&|d| matches!(d.l4, L4::Icmp { .. })),
        first(&|d| matches!(d.l4, L4::Tcp { dport: 5299, .. })),
        first(&|d| matches!(d.l4, L4::Tcp { dport: 5202, .. })),
        first(&|d| d.label().is_some_and(|l| l.0 == "v6")),
        first(&|d| d.label().is_some_and(|l| l.0 == "end")),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}: {ctx}");

    assert_stats(&done, c.packets.len());
    assert_tcpdump_agrees(test, &file, &c);
}

/// (3) 802.1Q and QinQ frames crafted on b arrive at a with their outer tag taken out by
/// the kernel: in the file they must be byte for byte what was sent, and the vlan filters
/// (run in the kernel, where the outer tag is metadata) must keep exactly the right ones.
fn vlan_tags_are_reinserted_and_filtered(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let _sinks = lab.sinks(Side::A, &[6601, 6602]);
    let (ma, mb) = (lab.link(Side::A).mac, lab.link(Side::B).mac);
    let (a4, b4) = (lab.ip4(Side::A), lab.ip4(Side::B));
    let tci = |pcp: u16, vid: u16| (pcp << 13) | vid;
    let frame = |seq: usize, tags: &[(u16, u16)], dport: u16| {
        let l3 = ipv4_udp(
            b4,
            a4,
            6600,
            dport,
            0x100 + seq as u16,
            &payload("vl", seq, 24),
        );
        ether(ma, mb, tags, 0x0800, &l3)
    };
    let q = |vid| (0x8100, tci(3, vid));
    let qinq = [(0x88a8, tci(0, 100)), (0x8100, tci(5, 200))];
    let frames = vec![
        frame(0, &[], 6601),
        frame(1, &[q(100)], 6601),
        frame(2, &[q(101)], 6601),
        frame(3, &qinq, 6601),
        frame(4, &[q(100)], 6602),
        frame(5, &[], 6601),
        frame(6, &[(0x8100, 100)], 6601),
        frame(7, &qinq, 6602),
        frame(8, &[q(100)], 6601),
    ];
    let cases: [(&str, &[&str], &[usize]); 6] = [
        ("none", &[], &[0, 1, 2, 3, 4, 5, 6, 7, 8]),
        ("vlan", &["vlan"], &[1, 2, 3, 4, 6, 7, 8]),
        ("vlan100", &["vlan", "100"], &[1, 3, 4, 6, 7, 8]),
        (
            "vlan100udp",
            &["vlan", "100", "and", "udp", "port", "6601"],
            &[1, 6, 8],
        ),
        (
            "qinq",
            &[
                "vlan", "100", "and", "vlan", "200", "and", "udp", "port", "6601",
            ],
            &[3],
        ),
        ("novlan", &["not", "vlan"], &[0, 5]),
    ];
    let mut caps = Vec::new();
    for (name, expr, _) in &cases {
        let file = dir.path(&format!("{name}.pcap"));
        let mut cap = lab.capture(Side::A, tool, &live_args(&lab, &file, expr));
        ethernet(tool, &lab, &cap.wait_listening());
        caps.push((cap, file));
    }
    lab.send_frames(Side::B, &frames);
    for ((cap, file), (name, _, want)) in caps.iter_mut().zip(&cases) {
        cap.wait_file(file, &format!("{} frames ({name})", want.len()), |c| {
            c.seqs("vl").len() >= want.len()
        });
    }
    // Time for anything that should not be there to arrive too.
    std::thread::sleep(Duration::from_millis(200));
    for ((cap, file), (name, expr, want)) in caps.into_iter().zip(&cases) {
        let done = cap.stop();
        done.assert_success();
        let c = load(&file);
        let ctx = format!("filter {expr:?} ({name}): {}", c.listing());
        let fg: Vec<Vec<u8>> = foreground(&c)
            .into_iter()
            .map(|(i, _)| c.packets[i].data.clone())
            .collect();
        let expected: Vec<Vec<u8>> = want.iter().map(|i| frames[*i].clone()).collect();
        if fg != expected {
            let seqs: Vec<Option<usize>> = foreground(&c)
                .iter()
                .map(|(_, d)| d.label().map(|l| l.1))
                .collect();
            let same_seqs = seqs == want.iter().map(|i| Some(*i)).collect::<Vec<_>>();
            let mut detail = String::new();
            if same_seqs {
                for (k, (g, e)) in fg.iter().zip(&expected).enumerate() {
                    if g != e {
                        detail += &format!(
                            "frame {}: sent   {:02x?}\n         in file {:02x?}\n",
                            want[k],
                            &e[..e.len().min(24)],
                            &g[..g.len().min(24)]
                        );
                    }
                }
            }
            panic!(
                "want frames {want:?} byte for byte; got frames {seqs:?}{}\n{detail}{ctx}",
                if same_seqs {
                    " (the right ones, but the bytes differ)"
                } else {
                    ""
                }
            );
        }
        assert_stats(&done, c.packets.len());
        if *name == "none" {
            assert_tcpdump_agrees(test, &file, &c);
        }
    }
}

/// (4) `-c 5` stops by itself after 5 matching packets, exit status 0, a whole file of 5
/// (without --immediate-mode: the ring's block timeout must deliver them).
fn count_stops_after_five(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("five.pcap");
    let _sinks = lab.sinks(Side::A, &[5401, 5402]);
    let mut a = args(&["-i", &lab.dev(Side::A), "-c", "5", "-w"]);
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "5401"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &cap.wait_listening());
    let s = lab.udp4(Side::B, 0);
    let mut want = Vec::new();
    for i in 0..8 {
        want.push(send(&s, (lab.ip4(Side::A), 5401), payload("c", i, 40)));
        send(&s, (lab.ip4(Side::A), 5402), payload("x", i, 40));
    }
    let done = cap.finish();
    done.assert_success();
    let c = load(&file);
    assert_eq!(c.dgrams(), want[..5], "{}", c.listing());
    assert_eq!(c.packets.len(), 5);
    assert_stats(&done, 5);
    if let Some(lines) = tcpdump_read(test, &file, &[]) {
        assert_eq!(lines.len(), 5, "{lines:?}");
    }
}

/// (18) A SIGHUP ignored when the capture starts (`nohup bpfdump ...`) stays ignored: the
/// capture goes on through a SIGHUP, as tcpdump's does (it replaced an inherited SIG_IGN
/// with its handler, and stopped).
fn sighup_ignored_at_start_stays_ignored(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("hup.pcap");
    let _sinks = lab.sinks(Side::A, &[5821]);
    let mut a = args(&["-i", &lab.dev(Side::A), "-c", "3", "-w"]);
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "5821"]));
    let mut cap = lab.capture_adjusted(Side::A, tool, &a, |c| {
        // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
        unsafe {
            c.pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                Ok(())
            })
        };
    });
    ethernet(tool, &lab, &cap.wait_listening());
    cap.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        cap.exited().is_none(),
        "{}: stopped by a SIGHUP it started out ignoring",
        tool.name
    );
    let s = lab.udp4(Side::B, 0);
    let want: Vec<_> = (0..3)
        .map(|i| send(&s, (lab.ip4(Side::A), 5821), payload("h", i, 40)))
        .collect();
    let done = cap.finish();
    done.assert_success();
    let c = load(&file);
    assert_eq!(c.dgrams(), want, "{}", c.listing());
}

/// (19) `--print` with `-w`: each packet written is also printed, as tcpdump --print does.
fn print_while_writing(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("printed.pcap");
    let _sinks = lab.sinks(Side::A, &[5831]);
    let mut a = args(&["-i", &lab.dev(Side::A), "-nn", "--print", "-c", "3", "-w"]);
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "5831"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &cap.wait_listening());
    let s = lab.udp4(Side::B, 0);
    let want: Vec<_> = (0..3)
        .map(|i| send(&s, (lab.ip4(Side::A), 5831), payload("p", i, 40)))
        .collect();
    let done = cap.finish();
    done.assert_success();
    let c = load(&file);
    assert_eq!(c.dgrams(), want, "{}", c.listing());
    let printed = String::from_utf8_lossy(&done.stdout);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 3, "{printed}");
    for l in &lines {
        assert!(
            l.contains(&format!("> {}.5831: UDP, length", lab.ip4(Side::A))),
            "{l}"
        );
    }
}

/// (20) The link goes down and comes back up: the capture goes on, and says so (bpfdump);
/// the interface is deleted: the capture ends with one error line, its file valid with
/// every packet before.
fn link_flap_goes_on_deletion_ends(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("flap.pcap");
    let _sinks = lab.sinks(Side::A, &[5841]);
    let a = live_args(&lab, &file, &["udp", "port", "5841"]);
    let mut cap = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &cap.wait_listening());
    let s = lab.udp4(Side::B, 0);
    let dst = (lab.ip4(Side::A), 5841);
    let mut want: Vec<_> = (0..3).map(|i| send(&s, dst, payload("f", i, 40))).collect();
    std::thread::sleep(Duration::from_millis(200));
    lab.set_link_up(Side::A, false);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        cap.exited().is_none(),
        "{}: stopped when the link went down:\n{}",
        tool.name,
        cap.stderr_so_far()
    );
    lab.set_link_up(Side::A, true);
    std::thread::sleep(Duration::from_millis(1500));
    want.extend((3..6).map(|i| send(&s, dst, payload("f", i, 40))));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        cap.exited().is_none(),
        "{}: stopped after the link flap:\n{}",
        tool.name,
        cap.stderr_so_far()
    );
    if !tool.is_tcpdump() {
        let err = cap.stderr_so_far();
        let dev = lab.dev(Side::A);
        for line in [
            format!("bpfdump: {dev}: the link went down; capturing on when it comes back up"),
            format!("bpfdump: {dev}: the link is up again"),
        ] {
            assert!(err.lines().any(|l| l == line), "no {line:?} in:\n{err}");
        }
    }
    lab.ip_cmd(Side::A, &["link", "del", &lab.dev(Side::A)]);
    let done = cap.finish();
    assert_ne!(
        done.code(),
        Some(0),
        "{}: deleting the interface should end it with an error",
        done.cmdline
    );
    if !tool.is_tcpdump() {
        let last = done
            .stderr
            .lines()
            .rfind(|l| l.starts_with("bpfdump: "))
            .unwrap_or("");
        assert_eq!(
            last,
            format!("bpfdump: {}: The interface disappeared", lab.dev(Side::A))
        );
    }
    let c = load(&file);
    assert_eq!(c.dgrams(), want, "{}", c.listing());
}

/// (21) SIGINT, SIGTERM, SIGHUP while datagrams pour in: the file holds what the kernel had taken when the
/// signal came, up to its last packets, and nothing stamped after it (give or take the
/// handler's scheduling delay; bpfdump kept reading for a block timeout, a second, writing
/// tens of thousands of later packets).
fn sigint_under_load_writes_up_to_the_signal(tool: &Tool, test: &str) {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        stop_under_load(tool, test, sig);
    }
}

/// One run of (21) with signal `sig`.
fn stop_under_load(tool: &Tool, test: &str, sig: libc::c_int) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("load.pcap");
    let _sinks = lab.sinks(Side::A, &[5851]);
    let mut a = args(&["-i", &lab.dev(Side::A), "-w"]);
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "5851"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &cap.wait_listening());
    // As fast as a socket sends.
    let (stop, sender) = keep_sending(&lab, 5851, "l", 32, 0, Duration::ZERO);
    std::thread::sleep(Duration::from_millis(1500));
    let now_ns = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    };
    let before = now_ns();
    cap.signal(sig);
    let after = now_ns();
    let done = cap.finish();
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().unwrap();
    done.assert_success();
    let c = load(&file);
    let seqs = c.seqs("l");
    assert!(
        seqs.len() > 1000,
        "only {} of {sent} datagrams captured",
        seqs.len()
    );
    assert_eq!(
        seqs,
        (0..seqs.len()).collect::<Vec<_>>(),
        "in order from the first, none lost"
    );
    let last = c.packets.last().unwrap().ts_ns;
    // The signal counts when its handler runs, which on a busy machine can be some ms after
    // kill(2) returns (before, the capture went on for its block timeout, a second).
    assert!(
        last <= after + 100_000_000,
        "{} (signal {sig}): packets stamped after the signal in the file: the last {} ms \
         after it",
        tool.name,
        (last - after) as f64 / 1e6
    );
    assert!(
        last + 50_000_000 >= before,
        "{} (signal {sig}): the last packet is {} ms before the signal: the packets just \
         before it are lost",
        tool.name,
        (before - last) as f64 / 1e6
    );
}

/// (22) `kill -9` in the middle of a capture, datagrams still coming: nothing is flushed or
/// closed, and the file still reads, in order from the first datagram, up to the last
/// whole record the program had handed to the OS; at most one record is cut after it (the
/// writer hands the OS whole pages, not whole records).
fn kill_9_leaves_every_record_that_reached_the_os(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("killed.pcap");
    let _sinks = lab.sinks(Side::A, &[5861]);
    let mut a = args(&["-i", &lab.dev(Side::A), "-w"]);
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "5861"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &cap.wait_listening());
    let (stop, sender) = keep_sending(&lab, 5861, "k", 1000, 32, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(1500));
    let status = cap.kill_9();
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{}", tool.name);
    let c = read_capture(&file).unwrap_or_else(|e| panic!("{}: {e}", tool.name));
    let seqs = c.seqs("k");
    assert!(
        seqs.len() > 100,
        "{}: {} records in the file",
        tool.name,
        seqs.len()
    );
    assert_eq!(
        seqs,
        (0..seqs.len()).collect::<Vec<_>>(),
        "{}: whole records, in order from the first",
        tool.name
    );
    assert!(
        c.partial < 1100,
        "{}: {} bytes of a cut record",
        tool.name,
        c.partial
    );
    if c.partial == 0 {
        if let Some(lines) = tcpdump_read(test, &file, &[]) {
            assert_eq!(lines.len(), seqs.len(), "tcpdump reads them all");
        }
    }
}

/// (23) The output file made unwritable mid-capture: the open file takes every packet still;
/// removed mid-capture: the capture goes on (what it writes is lost at the end, as with
/// tcpdump) and bpfdump says so once.
fn output_removed_or_made_unwritable_mid_capture(tool: &Tool, test: &str) {
    use std::os::unix::fs::PermissionsExt;
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let _sinks = lab.sinks(Side::A, &[5871]);
    let s = lab.udp4(Side::B, 0);
    let dst = (lab.ip4(Side::A), 5871);
    for removed in [false, true] {
        let file = dir.path(if removed {
            "removed.pcap"
        } else {
            "locked.pcap"
        });
        let mut a = args(&["-i", &lab.dev(Side::A), "-c", "40", "-w"]);
        a.push(file.display().to_string());
        a.extend(args(&["udp", "port", "5871"]));
        let mut cap = lab.capture(Side::A, tool, &a);
        ethernet(tool, &lab, &cap.wait_listening());
        let mut want = Vec::new();
        for i in 0..40 {
            if i == 10 {
                std::thread::sleep(Duration::from_millis(200));
                if removed {
                    std::fs::remove_file(&file).unwrap();
                } else {
                    let p = std::fs::Permissions::from_mode(0o000);
                    std::fs::set_permissions(&file, p).unwrap();
                }
            }
            want.push(send(&s, dst, payload("o", i, 100)));
            std::thread::sleep(Duration::from_millis(50));
        }
        let done = cap.finish();
        done.assert_success();
        assert_eq!(done.stats().captured, 40, "{}", done.stderr);
        if removed {
            if !tool.is_tcpdump() {
                let line = format!(
                    "bpfdump: {}: removed during the capture; what is written to it is lost \
                     when the capture ends (-C or -G start new files)",
                    file.display()
                );
                assert!(done.stderr.lines().any(|l| l == line), "{}", done.stderr);
            }
            assert!(!file.exists());
        } else {
            let c = load(&file);
            assert_eq!(c.dgrams(), want, "{}", c.listing());
        }
    }
}

/// A packet's identity for the direction test.
#[derive(Debug, PartialEq, Eq)]
enum Key {
    Udp(Dgram),
    Icmp {
        src: IpAddr,
        ty: u8,
        id: u16,
        seq: u16,
    },
}

fn key(d: &Decoded) -> Option<Key> {
    match d.l4 {
        L4::Icmp { ty, id, seq, .. } => Some(Key::Icmp {
            src: d.src?,
            ty,
            id,
            seq,
        }),
        _ => d.dgram().map(Key::Udp),
    }
}

/// (5) `-Q in`, `-Q out` and the default on a's veth: what b sends is inbound at a, what a
/// sends is outbound. With bpfdump, tcpdump runs alongside with the same flags as an oracle.
fn direction_in_out_inout(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let _sa = lab.sinks(Side::A, &[5501]);
    let _sb = lab.sinks(Side::B, &[5502]);
    let oracle = if tool.is_tcpdump() {
        None
    } else {
        Tool::tcpdump(&format!("{test} (tcpdump as the oracle)"))
    };
    let dirs: [(&str, Option<&str>); 3] =
        [("in", Some("in")), ("out", Some("out")), ("inout", None)];
    let mut caps = Vec::new();
    for t in std::iter::once(tool).chain(oracle.as_ref()) {
        for (name, q) in dirs {
            let file = dir.path(&format!("{}-{name}.pcap", t.name));
            let mut a = live_args(&lab, &file, &["udp", "or", "icmp"]);
            if let Some(q) = q {
                a.splice(0..0, args(&["-Q", q]));
            }
            let mut cap = lab.capture(Side::A, t, &a);
            assert_listening(
                &cap.wait_listening(),
                t,
                &lab.dev(Side::A),
                "EN10MB (Ethernet)",
                262_144,
            );
            caps.push((t.clone(), name, cap, file));
        }
    }

    let (a4, b4) = (lab.ip4(Side::A), lab.ip4(Side::B));
    let (a, b) = (IpAddr::V4(a4), IpAddr::V4(b4));
    let from_b = lab.udp4(Side::B, 0);
    let from_a = lab.udp4(Side::A, 0);
    let icmp = |src, ty, id, seq| Key::Icmp { src, ty, id, seq };
    let mut inout = Vec::new();
    for i in 0..3 {
        inout.push(Key::Udp(send(&from_b, (a4, 5501), payload("in", i, 20))));
    }
    for i in 0..2 {
        inout.push(Key::Udp(send(&from_a, (b4, 5502), payload("out", i, 20))));
    }
    assert_eq!(lab.ping(Side::B, 0x5151, 2), 2);
    assert_eq!(lab.ping(Side::A, 0x5252, 1), 1);
    inout.extend([
        icmp(b, 8, 0x5151, 1),
        icmp(a, 0, 0x5151, 1),
        icmp(b, 8, 0x5151, 2),
        icmp(a, 0, 0x5151, 2),
        icmp(a, 8, 0x5252, 1),
        icmp(b, 0, 0x5252, 1),
    ]);
    inout.push(Key::Udp(send(&from_b, (a4, 5501), payload("in-end", 0, 8))));
    inout.push(Key::Udp(send(
        &from_a,
        (b4, 5502),
        payload("out-end", 0, 8),
    )));
    let src_of = |k: &Key| match k {
        Key::Udp(d) => d.src.ip(),
        Key::Icmp { src, .. } => *src,
    };
    let mut results = Vec::new();
    for (t, name, mut cap, file) in caps {
        let want: Vec<&Key> = inout
            .iter()
            .filter(|k| match name {
                "in" => src_of(k) == b,
                "out" => src_of(k) == a,
                _ => true,
            })
            .collect();
        cap.wait_file(&file, "the last datagram", |c| {
            (name == "out" || c.has_label("in-end", 0))
                && (name == "in" || c.has_label("out-end", 0))
        });
        let done = cap.stop();
        done.assert_success();
        let c = load(&file);
        let got: Vec<Option<Key>> = c.decoded().iter().map(key).collect();
        let want: Vec<Option<Key>> = want
            .into_iter()
            .map(|k| match k {
                Key::Udp(d) => Some(Key::Udp(d.clone())),
                Key::Icmp { src, ty, id, seq } => Some(icmp(*src, *ty, *id, *seq)),
            })
            .collect();
        assert!(
            got == want,
            "{} -Q {name}: want\n{want:#?}\ngot {}",
            t.name,
            c.listing()
        );
        assert_stats(&done, c.packets.len());
        results.push((t.name, name, c));
    }
    // bpfdump's files hold the very bytes tcpdump's do.
    for (name, _) in dirs {
        let mine = results.iter().find(|r| r.0 == tool.name && r.1 == name);
        let theirs = results.iter().find(|r| r.0 == "tcpdump" && r.1 == name);
        if let (Some(m), Some(t)) = (mine, theirs) {
            let bytes = |c: &Cap| c.packets.iter().map(|p| p.data.clone()).collect::<Vec<_>>();
            assert!(
                bytes(&m.2) == bytes(&t.2),
                "-Q {name}: bpfdump and tcpdump wrote different packets\nbpfdump {}\ntcpdump {}",
                m.2.listing(),
                t.2.listing()
            );
        }
    }
}

/// The Ethernet frame of a 1000-byte UDP datagram over IPv4.
const UDP_1000_FRAME: usize = 14 + 20 + 8 + 1000;

/// Sends `count` datagrams of 1000 bytes labelled `tag` from b to a's `port` (where `sink`
/// is bound), paced by their arrival.
fn send_bulk(lab: &Lab, sink: &std::net::UdpSocket, tag: &str, port: u16, count: usize) {
    let s = lab.udp4(Side::B, 0);
    let payloads = (0..count).map(|i| payload(tag, i, 1000));
    send_paced(&s, sink, (lab.ip4(Side::A), port), payloads);
}

/// Every capture file in `dir`, in the order of `names`, checked whole.
fn load_all(dir: &Path, names: &[&str]) -> Vec<Cap> {
    names.iter().map(|n| load(&dir.join(n))).collect()
}

/// (6) `-C 1` rotation: FILE, FILE1, FILE2...; with `-W`, names padded to the digits of W-1
/// and wrapping. Each file is a whole pcap, rotated once it passes 1,000,000 bytes, and
/// together they hold every packet in order.
fn size_rotation_names_and_contents(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    const N: usize = 3300;
    // 24-byte header, then records of 16 + frame bytes: a file is left once it is over 1e6.
    let per_file = (1_000_000 - 24) / (16 + UDP_1000_FRAME) + 1;
    assert_eq!(per_file, 946);
    let seg = |k: usize| (k * per_file..((k + 1) * per_file).min(N)).collect::<Vec<_>>();
    let sinks = lab.sinks(Side::A, &[5601]);
    let variants: [(&str, &[&str]); 3] = [
        ("plain", &[]),
        ("wrap", &["-W", "3"]),
        ("pad", &["-W", "12"]),
    ];
    let mut caps = Vec::new();
    for (name, extra) in variants {
        let sub = dir.path(name);
        std::fs::create_dir(&sub).unwrap();
        let mut a = args(&[
            "-i",
            &lab.dev(Side::A),
            "-C",
            "1",
            "-Z",
            "root",
            "-B",
            "8192",
            "-U",
        ]);
        a.extend(args(extra));
        a.push("-w".into());
        a.push(sub.join("rot.pcap").display().to_string());
        a.extend(args(&["udp", "port", "5601"]));
        let mut cap = lab.capture(Side::A, tool, &a);
        ethernet(tool, &lab, &cap.wait_listening());
        caps.push((name, cap, sub));
    }
    send_bulk(&lab, &sinks[0], "rot", 5601, N);
    let mut dones = Vec::new();
    for (name, mut cap, sub) in caps {
        wait_until(&format!("the last packet in {name}"), ARRIVE, || {
            if let Some(s) = cap.exited() {
                panic!("{} exited ({s}): {}", cap.cmdline(), cap.stderr_so_far());
            }
            let mut seen = 0;
            for f in std::fs::read_dir(&sub).unwrap() {
                if let Ok(c) = read_capture(&f.unwrap().path()) {
                    if c.has_label("rot", N - 1) {
                        return Ok(());
                    }
                    seen += c.packets.len();
                }
            }
            Err(format!(
                "{seen} packets so far; stderr: {}",
                cap.stderr_so_far()
            ))
        });
        let done = cap.stop();
        done.assert_success();
        dones.push((name, done, sub));
    }
    for (name, done, sub) in dones {
        let names: Vec<String> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        // (file name, segment it must hold), in rotation order.
        let want: Vec<(&str, usize)> = match name {
            "plain" => vec![
                ("rot.pcap", 0),
                ("rot.pcap1", 1),
                ("rot.pcap2", 2),
                ("rot.pcap3", 3),
            ],
            "wrap" => vec![("rot.pcap1", 1), ("rot.pcap2", 2), ("rot.pcap0", 3)],
            _ => vec![
                ("rot.pcap00", 0),
                ("rot.pcap01", 1),
                ("rot.pcap02", 2),
                ("rot.pcap03", 3),
            ],
        };
        let mut want_names: Vec<&str> = want.iter().map(|w| w.0).collect();
        want_names.sort();
        assert_eq!(sorted, want_names, "{name}: file names");
        let caps = load_all(&sub, &want.iter().map(|w| w.0).collect::<Vec<_>>());
        let mut total = 0;
        for ((fname, k), c) in want.iter().zip(&caps) {
            assert_eq!(
                (c.linktype, c.snaplen),
                (LINKTYPE_ETHERNET, 262_144),
                "{fname}"
            );
            assert_eq!(
                c.seqs("rot"),
                seg(*k),
                "{name}/{fname}: want packets {}..{}, got {}",
                seg(*k)[0],
                seg(*k).last().unwrap(),
                c.listing().lines().take(3).collect::<Vec<_>>().join("\n")
            );
            assert_eq!(
                c.packets.len(),
                seg(*k).len(),
                "{name}/{fname}: other packets"
            );
            let size = std::fs::metadata(sub.join(fname)).unwrap().len();
            if *k < 3 {
                assert!(size > 1_000_000, "{name}/{fname}: rotated at {size} bytes");
            }
            total += c.packets.len();
        }
        let lost = if name == "wrap" { per_file } else { 0 };
        assert_eq!(total + lost, N);
        let s = done.stats();
        assert_eq!(s.captured, N as u64, "{name}: {}", done.stderr);
        assert_eq!(s.dropped, 0, "{name}: {}", done.stderr);
        if name == "plain" {
            if let Some(lines) = tcpdump_read(test, &sub.join("rot.pcap3"), &[]) {
                assert_eq!(lines.len(), seg(3).len());
            }
        }
    }
}

/// The second of the day a `g-%H%M%S.pcap` name (the -G tests' pattern) stands for.
fn g_secs(n: &str) -> u32 {
    let t = n
        .strip_prefix("g-")
        .and_then(|r| r.strip_suffix(".pcap"))
        .filter(|t| t.len() == 6 && t.bytes().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("file name {n} is not g-%H%M%S.pcap"));
    let v: u32 = t.parse().unwrap();
    v / 10000 * 3600 + v / 100 % 100 * 60 + v % 100
}

/// Seconds from the `g-%H%M%S.pcap` name `a` to `b`, across midnight too.
fn seconds_between(a: &str, b: &str) -> u32 {
    (g_secs(b) + 86400 - g_secs(a)) % 86400
}

/// (7) `-G 1 -W 2`: a new file (strftime name) each second a packet arrives; after the
/// second file tcpdump stops with "Maximum file limit reached: 2", exit status 0.
fn time_rotation_stops_at_file_limit(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let _sinks = lab.sinks(Side::A, &[5701]);
    let mut a = args(&[
        "-i",
        &lab.dev(Side::A),
        "-G",
        "1",
        "-W",
        "2",
        "-Z",
        "root",
        "-U",
        "-w",
    ]);
    a.push(dir.path("g-%H%M%S.pcap").display().to_string());
    a.extend(args(&["udp", "port", "5701"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &cap.wait_listening());
    let s = lab.udp4(Side::B, 0);
    let start = Instant::now();
    let mut sent = 0;
    while cap.exited().is_none() && start.elapsed() < Duration::from_secs(6) {
        send(&s, (lab.ip4(Side::A), 5701), payload("g", sent, 20));
        sent += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let done = cap.finish();
    done.assert_success();
    assert!(
        done.stderr
            .lines()
            .any(|l| l == "Maximum file limit reached: 2"),
        "stderr:\n{}",
        done.stderr
    );
    let names = dir.names();
    assert_eq!(names.len(), 2, "{names:?}");
    let caps = load_all(
        dir.dir(),
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    // Names sort by time, unless the run crossed midnight.
    let (first, second) = if g_secs(&names[1]) >= g_secs(&names[0]) {
        (0, 1)
    } else {
        (1, 0)
    };
    assert!(
        seconds_between(&names[first], &names[second]) >= 1,
        "{names:?}"
    );
    let s1 = caps[first].seqs("g");
    let s2 = caps[second].seqs("g");
    // The clock is read in whole seconds: the first file stays empty when the first packet
    // comes after the second changed.
    assert!(!s2.is_empty(), "{s1:?} {s2:?}");
    let all: Vec<usize> = s1.iter().chain(&s2).copied().collect();
    assert_eq!(
        all,
        (0..all.len()).collect::<Vec<_>>(),
        "packets in order, none lost"
    );
    if let Some(last) = caps[first].packets.last() {
        assert!(last.ts_ns <= caps[second].packets[0].ts_ns);
    }
    // The packet that found the limit is counted but not written.
    let st = done.stats();
    assert!(
        st.captured == all.len() as u64 || st.captured == all.len() as u64 + 1,
        "{st:?} for {} packets in the files",
        all.len()
    );
}

/// (24) Rotation under load: `-C 1 -W 4` (names reused, many times over) and `-G 1`
/// (strftime names) while datagrams come as fast as a socket sends them. Every file is a
/// whole capture file, the files follow one another in rotation order (names cycling, or
/// seconds rising) with every datagram after the first kept in order, and any gap is one
/// the kernel counted as dropped (bpfdump must drop none).
fn rotation_under_load_every_file_whole_and_in_order(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let _sinks = lab.sinks(Side::A, &[5881]);
    // A record: 16 + 14 + 20 + 8 + 32 bytes.
    const RECORD: usize = 16 + 14 + 20 + 8 + 32;
    for (name, extra, pattern) in [
        ("size", &["-C", "1", "-W", "4"][..], "rot.pcap"),
        ("time", &["-G", "1"][..], "g-%H%M%S.pcap"),
    ] {
        let sub = dir.path(name);
        std::fs::create_dir(&sub).unwrap();
        let mut a = args(&["-i", &lab.dev(Side::A), "-Z", "root", "-B", "32768"]);
        a.extend(args(extra));
        a.push("-w".into());
        a.push(sub.join(pattern).display().to_string());
        a.extend(args(&["udp", "port", "5881"]));
        let mut cap = lab.capture(Side::A, tool, &a);
        ethernet(tool, &lab, &cap.wait_listening());
        let sock = lab.udp4(Side::B, 0);
        let dst = SocketAddr::from((lab.ip4(Side::A), 5881));
        let t = Instant::now();
        let mut sent = 0;
        // Labels have six digits.
        while t.elapsed() < Duration::from_millis(2500) && sent < 999_999 {
            send(&sock, dst, payload("r", sent, 32));
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(300));
        let done = cap.stop();
        done.assert_success();
        let st = done.stats();
        // (first sequence number, name, capture) for every file, in rotation order.
        let mut files: Vec<(usize, String, Cap)> = Vec::new();
        for n in std::fs::read_dir(&sub).unwrap() {
            let n = n.unwrap().file_name().to_string_lossy().into_owned();
            let c = read_capture(&sub.join(&n))
                .unwrap_or_else(|e| panic!("{} ({name}): {n}: {e}", tool.name));
            assert_eq!(
                c.partial, 0,
                "{} ({name}): {n} ends in a cut record",
                tool.name
            );
            assert_eq!(c.linktype, LINKTYPE_ETHERNET, "{n}");
            if let Some(&first) = c.seqs("r").first() {
                files.push((first, n, c));
            }
        }
        files.sort_by_key(|f| f.0);
        let names: Vec<&str> = files.iter().map(|f| f.1.as_str()).collect();
        assert!(files.len() >= 2, "{} ({name}): files {names:?}", tool.name);
        match name {
            "size" => {
                let per_file = (1_000_000 - 24) / RECORD + 1;
                assert!(
                    sent > 5 * per_file,
                    "only {sent} datagrams sent: too few to wrap"
                );
                assert_eq!(files.len(), 4, "{} ({name}): {names:?}", tool.name);
                let index = |n: &str| -> usize {
                    n.strip_prefix("rot.pcap")
                        .and_then(|d| d.parse().ok())
                        .unwrap_or_else(|| panic!("file name {n}"))
                };
                for w in names.windows(2) {
                    assert_eq!(
                        (index(w[0]) + 1) % 4,
                        index(w[1]),
                        "{} ({name}): files out of rotation order: {names:?}",
                        tool.name
                    );
                }
                for (_, n, c) in &files[..3] {
                    let size = std::fs::metadata(sub.join(n)).unwrap().len();
                    assert!(
                        size > 1_000_000 && c.packets.len() == per_file,
                        "{n}: {size} bytes, {} records",
                        c.packets.len()
                    );
                }
            }
            _ => {
                assert_eq!(files[0].0, 0, "{} ({name}): {names:?}", tool.name);
                for w in names.windows(2) {
                    let step = seconds_between(w[0], w[1]);
                    assert!((1..3).contains(&step), "{} ({name}): {names:?}", tool.name);
                }
            }
        }
        let mut seqs = Vec::new();
        let mut last_ts = 0;
        for (_, n, c) in &files {
            let mine = c.seqs("r");
            assert_eq!(mine.len(), c.packets.len(), "{n}: other packets");
            let first = c.packets[0].ts_ns;
            assert!(
                first >= last_ts,
                "{n} starts before the file before it ends"
            );
            last_ts = c.packets.last().unwrap().ts_ns;
            seqs.extend(mine);
        }
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "{} ({name}): datagrams out of order",
            tool.name
        );
        // tcpdump leaves unwritten the datagrams of the ring block still being filled when
        // it stops (its block timeout had not handed it over yet): the tail only counts for
        // bpfdump, which writes every packet the kernel had accepted before the signal.
        let end = if tool.is_tcpdump() {
            seqs.last().unwrap() + 1
        } else {
            sent
        };
        let first = seqs[0];
        let missing = (end - first) - seqs.len();
        let gaps: Vec<(usize, usize)> = seqs
            .iter()
            .copied()
            .chain([end])
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[1] != w[0] + 1)
            .map(|w| (w[0] + 1, w[1]))
            .collect();
        assert_eq!(
            missing as u64,
            st.dropped,
            "{} ({name}): {missing} of datagrams {first}..{end} missing from {names:?} \
             (gaps {:?}), {} dropped by the kernel",
            tool.name,
            &gaps[..gaps.len().min(10)],
            st.dropped
        );
        if !tool.is_tcpdump() {
            assert_eq!(st.captured, sent as u64, "{}", done.stderr);
            assert_eq!(st.dropped, 0, "{} ({name}): {}", tool.name, done.stderr);
        }
        eprintln!(
            "{test} ({name}): {sent} datagrams in {:?}, {} files kept, {} dropped",
            t.elapsed(),
            files.len(),
            st.dropped
        );
    }
}

/// Sends datagrams `tag` 0, 1, ... of `len` bytes from side B to side A's `port` on a
/// thread until the flag is set (8 s at most), pausing `pause` after every `every` (0:
/// never); the thread returns how many it sent.
fn keep_sending(
    lab: &Lab,
    port: u16,
    tag: &'static str,
    len: usize,
    every: usize,
    pause: Duration,
) -> (Arc<AtomicBool>, std::thread::JoinHandle<usize>) {
    let stop = Arc::new(AtomicBool::new(false));
    let sock = lab.udp4(Side::B, 0);
    let dst = SocketAddr::from((lab.ip4(Side::A), port));
    let flag = stop.clone();
    let sender = std::thread::spawn(move || {
        let t = Instant::now();
        let mut n = 0;
        while !flag.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(8) {
            send(&sock, dst, payload(tag, n, len));
            n += 1;
            if every > 0 && n % every == 0 {
                std::thread::sleep(pause);
            }
        }
        n
    });
    (stop, sender)
}

/// (8) SIGINT while datagrams keep coming: exit status 0, a whole file (tcpdump reads it
/// without complaint), and as many packets in it as "packets captured" says.
fn sigint_mid_capture_leaves_a_valid_file(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("int.pcap");
    let _sinks = lab.sinks(Side::A, &[5801]);
    let mut a = args(&["-i", &lab.dev(Side::A), "-w"]);
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "5801"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &cap.wait_listening());
    let (stop, sender) = keep_sending(&lab, 5801, "i", 64, 1, Duration::from_millis(2));
    std::thread::sleep(Duration::from_millis(1500));
    let done = cap.stop();
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().unwrap();
    done.assert_success();
    let c = load(&file);
    let seqs = c.seqs("i");
    assert!(!seqs.is_empty(), "nothing captured of {sent} datagrams");
    assert_eq!(seqs.len(), c.packets.len(), "{}", c.listing());
    assert_eq!(
        seqs,
        (0..seqs.len()).collect::<Vec<_>>(),
        "packets in order from the first, none lost"
    );
    assert_eq!(
        done.stats().captured,
        c.packets.len() as u64,
        "{}",
        done.stderr
    );
    if let Some(lines) = tcpdump_read(test, &file, &[]) {
        assert_eq!(lines.len(), c.packets.len());
    }
}

/// (9) `-w -` piped into `tcpdump -r -`: tcpdump prints the datagrams as they come.
fn write_to_stdout_piped_into_tcpdump(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let Some(reader) = Tool::tcpdump(&format!("{test} (the reading end)")) else {
        return;
    };
    let _sinks = lab.sinks(Side::A, &[5901]);
    let mut a = args(&["-i", &lab.dev(Side::A), "-U", "--immediate-mode", "-w", "-"]);
    a.extend(args(&["udp", "port", "5901"]));
    let (mut cap, out) = lab.capture_piped(Side::A, tool, &a);
    let mut rd = std::process::Command::new(&reader.path)
        .args(["-l", "-nn", "-r", "-"])
        .env("TZ", "UTC")
        .stdin(out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Killed if the test fails before it ends.
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let rd_out = rd.stdout.take().unwrap();
    let rd_err = rd.stderr.take().unwrap();
    let mut rd = Reap(rd);
    let t_out = {
        let lines = lines.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(rd_out)
                .lines()
                .map_while(Result::ok)
            {
                lines.lock().unwrap().push(l);
            }
        })
    };
    let t_err = std::thread::spawn(move || {
        use std::io::Read;
        let mut s = String::new();
        let _ = std::io::BufReader::new(rd_err).read_to_string(&mut s);
        s
    });
    ethernet(tool, &lab, &cap.wait_listening());
    let s = lab.udp4(Side::B, 0);
    let mut want = Vec::new();
    for i in 0..5 {
        want.push(send(&s, (lab.ip4(Side::A), 5901), payload("p", i, 10 + i)));
    }
    wait_until("tcpdump to print 5 lines", ARRIVE, || {
        let n = lines.lock().unwrap().len();
        if n >= 5 {
            Ok(())
        } else {
            Err(format!(
                "{n} lines; capture stderr: {}",
                cap.stderr_so_far()
            ))
        }
    });
    let done = cap.stop();
    done.assert_success();
    let deadline = Instant::now() + EXIT;
    let status = loop {
        if let Some(s) = rd.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "tcpdump -r - did not end");
        std::thread::sleep(Duration::from_millis(10));
    };
    t_out.join().unwrap();
    let err = t_err.join().unwrap();
    assert!(status.success(), "tcpdump -r -: {status}: {err}");
    assert_eq!(
        err.trim(),
        "reading from file -, link-type EN10MB (Ethernet), snapshot length 262144"
    );
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), want.len(), "{lines:#?}");
    for (l, d) in lines.iter().zip(&want) {
        let w = format!(
            "IP {} > {}: UDP, length {}",
            ep(d.src),
            ep(d.dst),
            d.payload.len()
        );
        assert!(l.contains(&w), "{l}\nwant {w}");
    }
    assert_eq!(done.stats().captured, 5, "{}", done.stderr);
    assert!(done.stdout.is_empty());
}

/// (10) `-i any`: LINUX_SLL2, each packet with the index of the interface it was on and its
/// direction (the veth in and out; lo once, incoming: libpcap skips the outgoing copy of
/// loopback packets), and a `udp port` filter still works.
fn any_interface_is_sll2_with_ifindex(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("any.pcap");
    let _sinks = lab.sinks(Side::A, &[6001, 6002]);
    let _sinks_b = lab.sinks(Side::B, &[6001]);
    let mut a = args(&["-i", "any", "-U", "--immediate-mode", "-w"]);
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "6001"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    assert_listening(
        &cap.wait_listening(),
        tool,
        "any",
        "LINUX_SLL2 (Linux cooked v2)",
        262_144,
    );
    let va = lab.link(Side::A);
    let vb = lab.link(Side::B);
    let lo = lab.link_of(Side::A, "lo");
    let a4 = lab.ip4(Side::A);
    let s = lab.udp4(Side::B, 0);
    let local = lab.in_ns(Side::A, || {
        std::net::UdpSocket::bind(("127.0.0.1", 0)).unwrap()
    });
    let mut want = Vec::new();
    for i in 0..3 {
        want.push(send(&s, (a4, 6001), payload("any", i, 20)));
        send(&s, (a4, 6002), payload("no", i, 20));
    }
    want.push(send(&local, ([127, 0, 0, 1], 6001), payload("lo", 0, 20)));
    let from_a = lab.udp4(Side::A, 0);
    want.push(send(
        &from_a,
        (lab.ip4(Side::B), 6001),
        payload("out", 0, 20),
    ));
    want.push(send(&s, (a4, 6001), payload("end", 0, 20)));
    cap.wait_file(&file, "the last datagram", |c| c.has_label("end", 0));
    let done = cap.stop();
    done.assert_success();
    let c = load(&file);
    let ctx = c.listing();
    assert_eq!(c.linktype, LINKTYPE_LINUX_SLL2);
    let lo_out = c
        .decoded()
        .iter()
        .filter(|d| {
            d.sll2
                .as_ref()
                .is_some_and(|h| h.ifindex == lo.index && h.pkttype == 4)
        })
        .count();
    assert_eq!(
        lo_out, 0,
        "the outgoing copy of a loopback packet is in the file; libpcap (so tcpdump) drops \
         PACKET_OUTGOING packets on lo, which come in again as incoming ones (pcap-linux.c, \
         linux_check_direction)\n{ctx}"
    );
    assert_eq!(c.dgrams(), want, "{ctx}");
    assert_eq!(c.packets.len(), want.len(), "{ctx}");
    let hdrs: Vec<Sll2> = c.decoded().into_iter().map(|d| d.sll2.unwrap()).collect();
    let veth = Sll2 {
        protocol: 0x0800,
        ifindex: va.index,
        hatype: 1,
        pkttype: 0,
        addr: vb.mac.to_vec(),
    };
    let lo_hdr = |pkttype| Sll2 {
        protocol: 0x0800,
        ifindex: lo.index,
        hatype: 772,
        pkttype,
        addr: vec![0; 6],
    };
    let veth_out = Sll2 {
        pkttype: 4,
        addr: va.mac.to_vec(),
        ..veth.clone()
    };
    let expect = vec![
        veth.clone(),
        veth.clone(),
        veth.clone(),
        lo_hdr(0),
        veth_out,
        veth,
    ];
    assert_eq!(hdrs, expect, "{ctx}");
    // The first bytes, as the brief puts it: protocol, reserved, ifindex big-endian.
    assert_eq!(c.packets[0].data[4..8], va.index.to_be_bytes());
    assert_stats(&done, c.packets.len());
    if let Some(lines) = tcpdump_read(test, &file, &[]) {
        assert_eq!(lines.len(), want.len(), "{lines:#?}");
        let dirs: Vec<bool> = lines.iter().map(|l| l.contains(" Out ")).collect();
        assert_eq!(
            dirs,
            [false, false, false, false, true, false],
            "{lines:#?}"
        );
        for (l, d) in lines.iter().zip(&want) {
            let w = format!("{} > {}: UDP, length 20", ep(d.src), ep(d.dst));
            assert!(l.contains(&w), "{l}\nwant {w}");
        }
    }
}

/// (11) `--pcapng` (bpfdump only) with `--time-stamp-precision nano`: a section header, one
/// interface description naming the veth with if_tsresol 9, the packets; timestamps within
/// seconds of now, in order, with nanosecond digits. tcpdump reads the file.
fn pcapng_and_nanosecond_timestamps(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let ng = !tool.is_tcpdump();
    let file = dir.path(if ng { "ns.pcapng" } else { "ns.pcap" });
    let _sinks = lab.sinks(Side::A, &[6101]);
    let mut extra = vec!["--time-stamp-precision", "nano"];
    if ng {
        extra.push("--pcapng");
    }
    let mut a = args(&extra);
    a.extend(live_args(&lab, &file, &["udp", "port", "6101"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &cap.wait_listening());
    let t0 = now_ns();
    let s = lab.udp4(Side::B, 0);
    let mut want = Vec::new();
    for i in 0..3 {
        want.push(send(&s, (lab.ip4(Side::A), 6101), payload("n", i, 30)));
        std::thread::sleep(Duration::from_millis(3));
    }
    want.push(send(&s, (lab.ip4(Side::A), 6101), payload("end", 0, 30)));
    cap.wait_file(&file, "the last datagram", |c| c.has_label("end", 0));
    let t1 = now_ns();
    let done = cap.stop();
    done.assert_success();
    let c = load(&file);
    if ng {
        assert_eq!(c.format, Format::Pcapng);
        assert_eq!(c.ifaces.len(), 1, "{:?}", c.ifaces);
        let idb = &c.ifaces[0];
        assert_eq!(
            idb.name.as_deref(),
            Some(lab.dev(Side::A).as_str()),
            "if_name"
        );
        assert_eq!(idb.tsresol, Some(9), "if_tsresol");
        assert_eq!((idb.linktype, idb.snaplen), (1, 262_144));
        assert!(c.packets.iter().all(|p| p.iface == 0));
    } else {
        assert_eq!(c.format, Format::Pcap { nano: true });
    }
    assert_eq!(c.dgrams(), want, "{}", c.listing());
    let slack = 2_000_000_000;
    let ts: Vec<u64> = c.packets.iter().map(|p| p.ts_ns).collect();
    assert!(
        ts.iter().all(|t| *t + slack >= t0 && *t <= t1 + slack),
        "timestamps {ts:?} not within 2 s of [{t0}, {t1}]"
    );
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
    assert!(
        ts.iter().any(|t| t % 1000 != 0),
        "no sub-microsecond digits: {ts:?}"
    );
    assert_stats(&done, c.packets.len());
    if let Some(lines) = tcpdump_read(test, &file, &["-tt", "--time-stamp-precision", "nano"]) {
        assert_eq!(lines.len(), want.len(), "{lines:#?}");
        for (l, t) in lines.iter().zip(&ts) {
            let printed = l.split(' ').next().unwrap();
            assert_eq!(
                printed,
                format!("{}.{:09}", t / 1_000_000_000, t % 1_000_000_000)
            );
        }
    }
}

/// The one error line of a failed run (tcpdump adds a second line in parentheses with
/// libpcap's detail; bpfdump must say it all in one).
fn error_line(tool: &Tool, done: &Done) -> String {
    assert!(
        done.code().is_some_and(|c| c != 0),
        "{}: want a failure exit status, got {}; stderr:\n{}",
        done.cmdline,
        done.status,
        done.stderr
    );
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
    let lines: Vec<&str> = done
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(!lines.is_empty(), "{}: nothing on stderr", done.cmdline);
    if !tool.is_tcpdump() {
        assert_eq!(lines.len(), 1, "want one error line:\n{}", done.stderr);
    }
    assert!(
        lines[0].starts_with(&format!("{}: ", tool.name)),
        "{}",
        lines[0]
    );
    lines[0].to_string()
}

/// (12a) `-i nosuchif0`: one line naming the interface, failure exit status, no file.
fn error_no_such_interface(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("none.pcap");
    let mut cmd = lab.command(Side::A, &tool.path);
    cmd.args(["-i", "nosuchif0", "-w"]).arg(&file);
    let done = run_bounded(cmd);
    let line = error_line(tool, &done);
    assert!(line.contains("nosuchif0"), "{line}");
    assert!(
        !file.exists(),
        "a capture file was created: {}",
        file.display()
    );
}

/// (12b) An interface that is down: one clear line (naming it, saying it is down / not up),
/// failure exit status.
fn error_interface_down(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("down.pcap");
    lab.set_link_up(Side::A, false);
    let mut cmd = lab.command(Side::A, &tool.path);
    cmd.args(["-i", &lab.dev(Side::A), "-w"]).arg(&file);
    let done = run_bounded(cmd);
    let line = error_line(tool, &done);
    let low = line.to_lowercase();
    assert!(line.contains(&lab.dev(Side::A)), "{line}");
    assert!(
        low.contains("not up") || low.contains("down"),
        "does not say the interface is down: {line}"
    );
}

/// (13) Statistics after a burst of 500 datagrams (and 500 the filter rejects): packets
/// captured = packets in the file = packets sent, none dropped.
fn stats_lines_match_the_file(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("stats.pcap");
    let sinks = lab.sinks(Side::A, &[6301, 6302]);
    // Not --immediate-mode: libpcap then uses a TPACKET_V2 ring of a few dozen 64 KiB frames,
    // which a burst overflows (tcpdump reports them as dropped by the kernel).
    let mut a = args(&["-i", &lab.dev(Side::A), "-U", "-w"]);
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "6301"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &cap.wait_listening());
    let s = lab.udp4(Side::B, 0);
    // Paced by their arrival at a, with datagrams for another port in between.
    for round in 0..20 {
        let seqs = round * 25..(round + 1) * 25;
        send_paced(
            &s,
            &sinks[0],
            (lab.ip4(Side::A), 6301),
            seqs.clone().map(|i| payload("s", i, 100)),
        );
        for i in seqs {
            send(&s, (lab.ip4(Side::A), 6302), payload("x", i, 100));
        }
    }
    send(&s, (lab.ip4(Side::A), 6301), payload("end", 0, 10));
    cap.wait_file(&file, "the last datagram", |c| c.has_label("end", 0));
    let done = cap.stop();
    done.assert_success();
    let c = load(&file);
    assert_eq!(c.seqs("s"), (0..500).collect::<Vec<_>>(), "{}", c.listing());
    assert_eq!(c.packets.len(), 501);
    assert_stats(&done, 501);
    let st = done.stats();
    // The filter runs in the kernel: what it let through is what was captured.
    assert_eq!(st.received, 501, "{}", done.stderr);
}

/// (14) `-s 96` (with `-p` and `-B`): records cut to 96 bytes, the wire length kept, the
/// file header and the listening line say 96.
fn snaplen_and_buffer_options(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("snap.pcap");
    let _sinks = lab.sinks(Side::A, &[6401]);
    let mut a = args(&["-s", "96", "-p", "-B", "1024"]);
    a.extend(live_args(&lab, &file, &["udp", "port", "6401"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    assert_listening(
        &cap.wait_listening(),
        tool,
        &lab.dev(Side::A),
        "EN10MB (Ethernet)",
        96,
    );
    let s = lab.udp4(Side::B, 0);
    let mut want = Vec::new();
    for i in 0..3 {
        want.push(send(&s, (lab.ip4(Side::A), 6401), payload("s", i, 500)));
    }
    want.push(send(&s, (lab.ip4(Side::A), 6401), payload("end", 0, 500)));
    cap.wait_file(&file, "the last datagram", |c| c.has_label("end", 0));
    let done = cap.stop();
    done.assert_success();
    let c = load(&file);
    assert_eq!(c.snaplen, 96);
    assert_eq!(c.packets.len(), 4, "{}", c.listing());
    for (p, d) in c.packets.iter().zip(&want) {
        assert_eq!((p.data.len(), p.wirelen), (96, 542));
        let got = decode(c.linktype, &p.data).dgram().unwrap();
        assert_eq!((got.src, got.dst), (d.src, d.dst));
        assert_eq!(got.payload, d.payload[..96 - 42]);
    }
    assert_stats(&done, 4);
    if let Some(lines) = tcpdump_read(test, &file, &[]) {
        assert_eq!(lines.len(), 4);
        assert!(
            lines.iter().all(|l| l.contains("UDP, length 500")),
            "{lines:#?}"
        );
    }
}

/// Real, effective, saved and filesystem user ids of a process.
/// A field of /proc/PID/status, whitespace-trimmed (`Groups`, `CapEff`, ...).
fn status_field(pid: u32, name: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

fn uids(pid: u32) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace()
        .skip(1)
        .map(|w| w.parse().unwrap())
        .collect()
}

/// (15) Privileges: after opening the socket and the first file the program no longer runs
/// as root (by default too); with `-Z nobody` it runs as nobody, and files it makes later
/// (rotation) belong to nobody.
fn drops_privileges(tool: &Tool, test: &str) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    std::fs::set_permissions(dir.dir(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let sinks = lab.sinks(Side::A, &[6501]);
    let mut a = args(&[
        "-i",
        &lab.dev(Side::A),
        "-Z",
        "nobody",
        "-C",
        "1",
        "-U",
        "-w",
    ]);
    a.push(dir.path("z.pcap").display().to_string());
    a.extend(args(&["udp", "port", "6501"]));
    let mut z = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &z.wait_listening());
    let mut a = args(&["-i", &lab.dev(Side::A), "-w"]);
    a.push(dir.path("default.pcap").display().to_string());
    a.extend(args(&["udp", "port", "6502"]));
    let mut plain = lab.capture(Side::A, tool, &a);
    ethernet(tool, &lab, &plain.wait_listening());

    let nobody = 65534;
    assert_eq!(
        uids(z.pid()),
        [nobody; 4],
        "-Z nobody: user ids after listening"
    );
    let ids = uids(plain.pid());
    assert!(
        ids.iter().all(|u| *u != 0),
        "without -Z: still root after listening: {ids:?}"
    );
    // No way back: root's supplementary groups gone (nobody's own remain, as tcpdump's
    // initgroups leaves them), no capability in any set; bpfdump also empties the bounding
    // set and sets no_new_privs, which tcpdump does not.
    for pid in [z.pid(), plain.pid()] {
        let groups = status_field(pid, "Groups");
        assert!(
            !groups.split_whitespace().any(|g| g == "0"),
            "group root still among {groups:?}"
        );
        let mut sets = vec!["CapInh", "CapPrm", "CapEff", "CapAmb"];
        if !tool.is_tcpdump() {
            sets.push("CapBnd");
            assert_eq!(status_field(pid, "NoNewPrivs"), "1");
        }
        for set in sets {
            assert_eq!(
                status_field(pid, set),
                "0000000000000000",
                "{}: {set} after dropping privileges",
                tool.name
            );
        }
    }

    const N: usize = 1100;
    send_bulk(&lab, &sinks[0], "z", 6501, N);
    z.wait_file(&dir.path("z.pcap1"), "the last packet", |c| {
        c.has_label("z", N - 1)
    });
    let done = z.stop();
    done.assert_success();
    plain.stop().assert_success();
    let first = load(&dir.path("z.pcap"));
    let second = load(&dir.path("z.pcap1"));
    let all: Vec<usize> = first
        .seqs("z")
        .into_iter()
        .chain(second.seqs("z"))
        .collect();
    assert_eq!(all, (0..N).collect::<Vec<_>>());
    let owner = std::fs::metadata(dir.path("z.pcap1")).unwrap().uid();
    assert_eq!(
        owner, nobody,
        "z.pcap1 (made after dropping privileges) owner"
    );
    assert_eq!(load(&dir.path("default.pcap")).packets.len(), 0);
}

/// (16) `-i lo`: a datagram sent to 127.0.0.1 is in the file once (the kernel shows a packet
/// socket both the outgoing and the incoming copy; libpcap keeps the incoming one).
fn loopback_packets_once(tool: &Tool, test: &str) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let file = dir.path("lo.pcap");
    let _sinks = lab.sinks(Side::A, &[6701]);
    let mut a = args(&["-i", "lo", "-U", "--immediate-mode", "-w"]);
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "6701"]));
    let mut cap = lab.capture(Side::A, tool, &a);
    assert_listening(
        &cap.wait_listening(),
        tool,
        "lo",
        "EN10MB (Ethernet)",
        262_144,
    );
    let local = lab.in_ns(Side::A, || {
        std::net::UdpSocket::bind(("127.0.0.1", 0)).unwrap()
    });
    let mut want = Vec::new();
    for i in 0..3 {
        want.push(send(&local, ([127, 0, 0, 1], 6701), payload("lo", i, 20)));
    }
    want.push(send(&local, ([127, 0, 0, 1], 6701), payload("end", 0, 20)));
    cap.wait_file(&file, "the last datagram", |c| c.has_label("end", 0));
    std::thread::sleep(Duration::from_millis(100));
    let done = cap.stop();
    done.assert_success();
    let c = load(&file);
    assert_eq!(c.linktype, LINKTYPE_ETHERNET);
    assert_eq!(
        c.dgrams(),
        want,
        "each datagram once (libpcap drops the outgoing copy on lo): {}",
        c.listing()
    );
    assert_stats(&done, c.packets.len());
}

// ------------------------------------------------------------------- full disk (bpfdump)

/// The size of the tmpfs the full-disk tests capture to: about 250 datagrams of 1000 bytes.
const SMALL_DISK: u64 = 256 * 1024;

/// (17) The disk fills up during a live capture (a 256 KiB tmpfs, 1000-byte datagrams paced
/// by their arrival until the capture ends, at most 20 times what fits). bpfdump must stop by
/// itself: exit status 1; on stderr the listening line, tcpdump's three counter lines, then
/// one `bpfdump: FILE: No space left on device` line; the file cut back to its last whole
/// record (our reader finds nothing after it, tcpdump reads it without "truncated dump
/// file"), so full that not one more record would fit, holding the first packets sent, in
/// order, none missing.
///
/// bpfdump only. tcpdump (4.99.3, libpcap 1.10.3) writes through stdio without checking
/// (pcap_dump), so on a full disk it goes on capturing and says nothing until stopped; tried
/// with 600 such datagrams on this 256 KiB tmpfs and SIGINT: "600 packets captured", the
/// file 262144 bytes, the disk filled to the last byte by 247 whole records and part of the
/// 248th, which `tcpdump -r` reports: "truncated dump file; tried to read 1042 captured
/// bytes, only got 778". The stderr shape differs too: tcpdump prints a fatal error of the
/// capture loop ("tcpdump: pcap_loop: ...") before its counter lines; bpfdump after them.
///
/// On ext4 (`ext4`: a 4 MiB image on a loop device), a file system that allocates blocks
/// as it writes back, the file must be within a few blocks of the free space (ext4 keeps
/// some for the file's own extent tree) and otherwise the same.
fn full_disk(test: &str, pcapng: bool, nano: bool, packet_buffered: bool, ext4: bool) {
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    // Dropped before `dir`, which holds the mount point.
    let disk = if ext4 {
        SmallDisk::ext4(test, &dir.path("disk"), 4 << 20)
    } else {
        SmallDisk::tmpfs(test, &dir.path("disk"), SMALL_DISK)
    };
    let Some(disk) = disk else {
        return;
    };
    let capacity = disk.free();
    let file = disk.path(if pcapng { "cap.pcapng" } else { "cap.pcap" });
    let sinks = lab.sinks(Side::A, &[6801]);
    let tool = Tool::bpfdump();
    let mut a = args(&["-i", &lab.dev(Side::A)]);
    if packet_buffered {
        a.push("-U".into());
    }
    if pcapng {
        a.push("--pcapng".into());
    }
    if nano {
        a.extend(args(&["--time-stamp-precision", "nano"]));
    }
    a.push("-w".into());
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "6801"]));
    let mut cap = lab.capture(Side::A, &tool, &a);
    let listening = cap.wait_listening();
    ethernet(&tool, &lab, &listening);

    let s = lab.udp4(Side::B, 0);
    let dst = (lab.ip4(Side::A), 6801);
    const BATCH: usize = 25;
    // 5000 datagrams, about 20 times what the tmpfs holds, 1.3 times the ext4 image.
    const MAX_BATCHES: usize = 200;
    let mut sent = 0;
    for _ in 0..MAX_BATCHES {
        if cap.exited().is_some() {
            break;
        }
        let payloads = (sent..sent + BATCH).map(|i| payload("full", i, 1000));
        send_paced(&s, &sinks[0], dst, payloads);
        sent += BATCH;
    }
    wait_until(
        "bpfdump to stop by itself on the full disk",
        EXIT,
        || match cap.exited() {
            Some(_) => Ok(()),
            None => Err(format!(
                "still running after {sent} datagrams of 1000 bytes to a disk of {capacity} \
                 bytes free; file: {} bytes; stderr:\n{}",
                std::fs::metadata(&file).map_or(0, |m| m.len()),
                cap.stderr_so_far()
            )),
        },
    );
    let done = cap.finish();
    assert_eq!(
        done.code(),
        Some(1),
        "{}: want exit status 1 (an error); stderr:\n{}",
        done.cmdline,
        done.stderr
    );
    let st = done.stats();
    let plural = |n: u64, what: &str| format!("{n} packet{} {what}", if n == 1 { "" } else { "s" });
    let want_stderr = [
        listening.clone(),
        plural(st.captured, "captured"),
        plural(st.received, "received by filter"),
        plural(0, "dropped by kernel"),
        format!("bpfdump: {}: No space left on device", file.display()),
    ];
    let lines: Vec<&str> = done.stderr.lines().collect();
    assert_eq!(lines, want_stderr, "{}: stderr", done.cmdline);

    let size = std::fs::metadata(&file).unwrap().len();
    let c = load(&file);
    let ctx = format!("{} bytes, {}", size, c.listing());
    assert_eq!(
        c.format,
        if pcapng {
            Format::Pcapng
        } else {
            Format::Pcap { nano }
        }
    );
    if pcapng {
        assert_eq!(c.ifaces.len(), 1, "{:?}", c.ifaces);
        assert_eq!(c.ifaces[0].tsresol, Some(if nano { 9 } else { 6 }));
    }
    assert_eq!(c.linktype, LINKTYPE_ETHERNET);
    let seqs = c.seqs("full");
    assert!(!seqs.is_empty(), "no packet in the file: {ctx}");
    assert_eq!(seqs.len(), c.packets.len(), "other packets: {ctx}");
    assert_eq!(
        seqs,
        (0..seqs.len()).collect::<Vec<_>>(),
        "want the first packets sent, in order, none missing: {ctx}"
    );
    for p in &c.packets {
        assert_eq!(
            (p.data.len(), p.wirelen as usize),
            (UDP_1000_FRAME, UDP_1000_FRAME)
        );
    }
    // pcap: a 16-byte header; pcapng: an EPB of 28 bytes, the frame padded to 4, epb_flags
    // and the end of options (12), the trailing length (4).
    let record = if pcapng {
        28 + UDP_1000_FRAME.div_ceil(4) * 4 + 12 + 4
    } else {
        16 + UDP_1000_FRAME
    } as u64;
    let slack = if ext4 { 16 << 10 } else { 0 };
    assert!(
        size <= capacity && size + record + slack > capacity,
        "the file ({size} bytes) is not the disk ({capacity} free) filled with whole records \
         of {record} bytes: records that fitted were lost"
    );
    // "packets captured" counts the packets in the file: with -U each reaches the file
    // before it is counted; without, those lost with the buffer are taken off the count.
    assert_eq!(st.captured, c.packets.len() as u64, "{}", done.stderr);
    assert!(st.received >= st.captured, "{}", done.stderr);
    if let Some(lines) = tcpdump_read(test, &file, &[]) {
        assert_eq!(lines.len(), c.packets.len(), "tcpdump -r: {lines:#?}");
    }
}

/// The full-disk scenario: pcap and pcapng, buffered and with -U (bpfdump only).
mod full_disk {
    #[test]
    fn pcap() {
        super::full_disk("full_disk::pcap", false, false, false, false);
    }

    #[test]
    fn pcap_packet_buffered() {
        super::full_disk("full_disk::pcap_packet_buffered", false, false, true, false);
    }

    #[test]
    fn pcapng() {
        super::full_disk("full_disk::pcapng", true, false, false, false);
    }

    #[test]
    fn pcapng_nano_packet_buffered() {
        super::full_disk(
            "full_disk::pcapng_nano_packet_buffered",
            true,
            true,
            true,
            false,
        );
    }

    #[test]
    fn pcap_ext4() {
        super::full_disk("full_disk::pcap_ext4", false, false, false, true);
    }

    #[test]
    fn pcapng_ext4_packet_buffered() {
        super::full_disk(
            "full_disk::pcapng_ext4_packet_buffered",
            true,
            false,
            true,
            true,
        );
    }
}

// ------------------------------------------------------------------------------- -D

/// `-D` lists the namespace's interfaces as tcpdump does: the veth, `any` and `lo` lines
/// (with their numbers) equal tcpdump's.
#[test]
fn list_interfaces_like_tcpdump() {
    let test = "list_interfaces_like_tcpdump";
    let Some(lab) = Lab::up(test) else { return };
    let tool = Tool::bpfdump();
    let mut cmd = lab.command(Side::A, &tool.path);
    cmd.arg("-D");
    let done = run_bounded(cmd);
    done.assert_success();
    let out = String::from_utf8_lossy(&done.stdout).into_owned();
    let dev = lab.dev(Side::A);
    let ours = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| {
                let name = l.split_once('.').map_or("", |x| x.1);
                [dev.as_str(), "any", "lo"]
                    .iter()
                    .any(|n| name == *n || name.starts_with(&format!("{n} ")))
            })
            .map(str::to_string)
            .collect()
    };
    let want = match Tool::tcpdump(&format!("{test} (the oracle)")) {
        Some(t) => {
            let mut cmd = lab.command(Side::A, &t.path);
            cmd.arg("-D");
            let d = run_bounded(cmd);
            d.assert_success();
            ours(&String::from_utf8_lossy(&d.stdout))
        }
        None => vec![
            format!("1.{dev} [Up, Running, Connected]"),
            "2.any (Pseudo-device that captures on all interfaces) [Up, Running]".into(),
            "3.lo [Up, Running, Loopback]".into(),
        ],
    };
    assert_eq!(want.len(), 3, "{want:?}");
    assert_eq!(ours(&out), want, "bpfdump -D:\n{out}");
}

/// Capturing needs only CAP_NET_RAW (the classic backend): a copy of bpfdump with
/// `setcap cap_net_raw+ep`, run as nobody, captures and writes its file (the setcap line
/// README and docs/ebpf.md give).
#[test]
fn only_cap_net_raw_captures() {
    use std::os::unix::fs::PermissionsExt;
    let test = "only_cap_net_raw_captures";
    let Some(lab) = Lab::up(test) else { return };
    let (Some(setcap), Some(setpriv)) = (which("setcap"), which("setpriv")) else {
        skip(
            test,
            "setcap or setpriv is not installed (libcap2-bin, util-linux)",
        );
        return;
    };
    let dir = Scratch::new(test);
    std::fs::set_permissions(dir.dir(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let bin = dir.path("bpfdump");
    std::fs::copy(env!("CARGO_BIN_EXE_bpfdump"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ok = std::process::Command::new(setcap)
        .arg("cap_net_raw+ep")
        .arg(&bin)
        .status()
        .unwrap()
        .success();
    if !ok {
        skip(
            test,
            "setcap failed (a file system without file capabilities?)",
        );
        return;
    }
    let _sinks = lab.sinks(Side::A, &[6601]);
    let file = dir.path("raw.pcap");
    let tool = Tool {
        name: "bpfdump",
        path: setpriv,
    };
    let mut a = args(&["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
    a.push(bin.display().to_string());
    a.extend(args(&["-i", &lab.dev(Side::A), "-c", "3", "-w"]));
    a.push(file.display().to_string());
    a.extend(args(&["udp", "port", "6601"]));
    let mut cap = lab.capture(Side::A, &tool, &a);
    ethernet(&Tool::bpfdump(), &lab, &cap.wait_listening());
    let s = lab.udp4(Side::B, 0);
    let want: Vec<_> = (0..3)
        .map(|i| send(&s, (lab.ip4(Side::A), 6601), payload("r", i, 40)))
        .collect();
    let done = cap.finish();
    done.assert_success();
    let c = load(&file);
    assert_eq!(c.dgrams(), want, "{}", c.listing());
}

/// A program on PATH (or in /usr/sbin, /sbin), if installed.
fn which(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found
}
