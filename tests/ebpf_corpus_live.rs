//! The whole Ethernet corpus as eBPF rules, on a real receive path: the frames of
//! `captures/sample.pcap` are sent, as stored, from one end of a veth pair between two private
//! network namespaces (side B) to the other (side A), where `bpfdump --count --json` runs with
//! every expression of `tests/corpus/ethernet.txt` as a `--rule` (64 a run, all runs at once,
//! one replay). Each rule must count exactly the frames the offline classic program accepts,
//! computed here with `interp::run` over the frames as the file stores them (compiled, as
//! bpfdump compiles for the interface, with side A's netmask, which `ip broadcast` uses).
//!
//! What tests/ebpf_kernel.rs (BPF_PROG_TEST_RUN) cannot show and this does: the receive path
//! moves the outer 802.1Q/802.1ad tag of a frame into metadata (`vlan_present`, `vlan_tci`,
//! `vlan_proto`) before any socket filter runs, so the kernel-target programs decide tagged
//! frames with their second, translated copy of the expression (kernel_view.rs) on a frame 4
//! bytes shorter; and packet types are the real ones, by destination MAC against side A's
//! (OTHERHOST, BROADCAST, MULTICAST: no record is addressed to side A, so none is HOST; the
//! summary line counts them).
//!
//! Also, for a handful of expressions, a classic capture and an `--ebpf` capture run during
//! the same replay: both files must hold exactly the frames the offline program accepts, byte
//! for byte (the capture puts the stripped tag back). A capture without a filter checks what
//! the kernel delivered (every frame sent, but for two the kernel drops: see
//! [`kernel_drops`]), and tells when every frame has been through every socket's filter.
//!
//! Every run uses `-Q in`: side A's own stack answers some of the frames (ARP, ICMPv6, IGMP),
//! and its answers are outgoing. The counting runs use `--flows 0`: with the default flow
//! table the first 44 corpus expressions as rules already make the verifier give up (see
//! `regression_rules_verifier_work_grows_with_the_rules_before`); a rule's decision does not depend
//! on the flow table, and the `--ebpf` captures run with the default one.
//!
//! Needs root (network namespaces, packet sockets, CAP_BPF) and the netns-lab script; without
//! them the tests say `SKIPPED: <test>: <why>` on stderr and pass.

mod support;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use filter_compiler::interp::Meta;
use filter_compiler::{cbpf, ebpf, emit, LinkType, Options, Target};
use serde_json::{json, Value};
use support::lab::*;
use support::{
    guarded, kept_by, load_capture, load_corpus, options, par_map, proves_no_match, ranges,
    uses_direction, Capture, Entry,
};

/// `--rule` flags a run takes at most (src/cli.rs).
const MAX_RULES: usize = 64;
/// Rules a counting run is given: as many as bpfdump takes. (It was 24 while the verifier's
/// work grew with the square of the number of rules, see
/// `regression_rules_verifier_work_grows_with_the_rules_before`.) A run the verifier refuses
/// all the same is split in two and started again, and the summary says so.
const RULES_PER_RUN: usize = MAX_RULES;
/// How long loading a counting run may take: the verifier is slow to give up (1,000,000
/// instructions), and many runs load at once on few CPUs.
const LOAD: Duration = Duration::from_secs(40);
/// What a veth with MTU 1500 sends: an Ethernet header and at most 1500 bytes.
const MIN_FRAME: usize = 14;
const MAX_FRAME: usize = 1514;

/// Expressions of the Ethernet corpus whose offline expectation cannot apply on this path,
/// and why. An expression is excluded when its kernel program reads metadata the offline
/// program has no counterpart for (the packet type: `inbound`/`outbound`; the interface
/// index, mark, hash, queue, CPU, random number). `broadcast` and `multicast` on Ethernet test
/// the destination MAC bytes, not the packet type, so they are checked like any other. The
/// Ethernet corpus has none today; the test fails if that changes, so that the list and its
/// reasons are kept exact.
const EXCLUDED: [(&str, &str); 0] = [];

/// The expressions also run as a classic capture and an `--ebpf` capture. (`vlan 100 and udp`
/// keeps no frame of sample.pcap: its VLAN 100 frames carry IPv6 without UDP, or more tags.)
const CAPTURED: [&str; 8] = [
    "vlan",
    "vlan 100",
    "vlan and udp",
    "tcp port 80",
    "ip6",
    "not vlan",
    "arp",
    "vlan and arp",
];

fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

/// Frames the kernel drops on receive before any packet socket sees them: an 802.1Q or
/// 802.1ad frame with fewer than 6 bytes after its Ethernet header. skb_vlan_untag() pulls the
/// 4-byte tag and the 2 bytes after it (`pskb_may_pull(skb, VLAN_HLEN + sizeof(unsigned
/// short))`) and frees the frame when they are not there. (tests/kernel_view.rs calls the
/// frames cut inside their tag, shorter than 18, unviewable; on a real path 18 and 19 bytes
/// are dropped too.)
fn kernel_drops(d: &[u8]) -> bool {
    matches!(be16(d, 12), 0x8100 | 0x88a8) && d.len() < 20
}

/// The counters' link-layer class (docs/ebpf.md): `vlan` for a tag the kernel stripped or a
/// TPID 0x8100, 0x88a8 or 0x9100 in the data, else by EtherType.
fn l3_class(d: &[u8]) -> &'static str {
    match be16(d, 12) {
        0x8100 | 0x88a8 | 0x9100 => "vlan",
        0x0800 => "ipv4",
        0x86dd => "ipv6",
        0x0806 => "arp",
        _ => "other",
    }
}

/// The replay: which records of the capture are sent, and which the kernel shows the sockets.
struct Replay {
    capture: Capture,
    /// Records sent, in file order (indices into `capture.packets`).
    sent: Vec<usize>,
    /// Records not sent: shorter than an Ethernet header or longer than the MTU allows.
    unsendable: Vec<usize>,
    /// Records sent that the kernel drops before the sockets ([`kernel_drops`]).
    dropped: Vec<usize>,
    /// Records every socket on side A sees, in order.
    delivered: Vec<usize>,
    /// Side A's IPv4 netmask, host order: bpfdump compiles its live programs with the
    /// interface's (for `ip broadcast`, as tcpdump), and so does this test's expectation.
    netmask: u32,
}

/// The IPv4 netmask of side A's veth end, host order, from `ip -o -4 addr`.
fn netmask(lab: &Lab) -> u32 {
    let text = lab.ip_cmd(
        Side::A,
        &["-o", "-4", "addr", "show", "dev", &lab.dev(Side::A)],
    );
    let len: u32 = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|a| a.split_once('/'))
        .and_then(|(_, l)| l.parse().ok())
        .unwrap_or_else(|| panic!("no IPv4 address in: {text}"));
    u32::MAX.checked_shl(32 - len).unwrap_or(0)
}

impl Replay {
    fn new(lab: &Lab) -> Replay {
        let capture = load_capture("sample.pcap");
        assert_eq!(capture.linktype, 1, "sample.pcap is Ethernet");
        let (mut sent, mut unsendable, mut dropped, mut delivered) =
            (vec![], vec![], vec![], vec![]);
        for p in &capture.packets {
            if !(MIN_FRAME..=MAX_FRAME).contains(&p.data.len()) {
                unsendable.push(p.index);
                continue;
            }
            sent.push(p.index);
            if kernel_drops(&p.data) {
                dropped.push(p.index);
            } else {
                delivered.push(p.index);
            }
        }
        Replay {
            capture,
            sent,
            unsendable,
            dropped,
            delivered,
            netmask: netmask(lab),
        }
    }

    /// The compiler's options as bpfdump's on side A: optimizer on, the interface's netmask.
    fn options(&self) -> Options<'static> {
        Options {
            netmask: self.netmask,
            ..options(true)
        }
    }

    fn data(&self, i: usize) -> &[u8] {
        &self.capture.packets[i].data
    }

    fn frames(&self) -> Vec<Vec<u8>> {
        self.sent.iter().map(|&i| self.data(i).to_vec()).collect()
    }

    fn bytes(&self, set: impl IntoIterator<Item = usize>) -> u64 {
        set.into_iter().map(|i| self.data(i).len() as u64).sum()
    }

    /// The delivered records the offline Ethernet program for `expr` accepts. Each runs as
    /// stored, with its captured length as its length: that is the frame sent (20 records of
    /// the file were cut short when captured; the replay sends what the file holds).
    fn offline_kept(&self, expr: &str) -> Result<BTreeSet<usize>, String> {
        let target = Target::offline(LinkType::En10mb);
        let prog = match guarded(|| filter_compiler::compile(expr, &target, &self.options())) {
            Ok(Ok(p)) => p,
            Ok(Err(e)) if proves_no_match(&e) => return Ok(BTreeSet::new()),
            Ok(Err(e)) => return Err(format!("offline: compile error: {e}")),
            Err(p) => return Err(format!("offline: compile PANICKED: {p}")),
        };
        let delivered: BTreeSet<usize> = self.delivered.iter().copied().collect();
        kept_by(&prog.insns, &self.capture.packets, |p| {
            delivered.contains(&p.index).then(|| {
                (
                    Cow::Borrowed(&p.data[..]),
                    p.data.len() as u32,
                    Meta::default(),
                )
            })
        })
    }
}

/// What is done with one corpus expression.
enum Plan {
    /// Counted as a rule; the delivered records the offline program accepts.
    Rule(BTreeSet<usize>),
    /// The compiler (or ebpf::generate) refuses it for the kernel target.
    KernelRejected(String),
    /// Left out, with the reason ([`EXCLUDED`]).
    Excluded(String),
    /// A failure of the test's own computation (an offline program that does not compile,
    /// an interpreter panic).
    Broken(String),
}

/// The ancillary fields a program reads (SKF_AD_* offsets).
fn ancillary(insns: &[cbpf::Insn]) -> BTreeSet<u32> {
    insns
        .iter()
        .filter(|i| i.code & 0x07 == cbpf::LD && i.code & 0xe0 == cbpf::ABS)
        .filter(|i| i.k >= cbpf::SKF_AD_OFF)
        .map(|i| i.k - cbpf::SKF_AD_OFF)
        .collect()
}

fn ancillary_name(ad: u32) -> String {
    match ad {
        cbpf::SKF_AD_PKTTYPE => "the packet type".into(),
        cbpf::SKF_AD_IFINDEX => "the interface index".into(),
        cbpf::SKF_AD_MARK => "the mark".into(),
        cbpf::SKF_AD_QUEUE => "the queue".into(),
        cbpf::SKF_AD_HATYPE => "the hardware type".into(),
        cbpf::SKF_AD_RXHASH => "the hash".into(),
        cbpf::SKF_AD_CPU => "the CPU".into(),
        cbpf::SKF_AD_RANDOM => "a random number".into(),
        other => format!("ancillary field {other}"),
    }
}

fn plan(replay: &Replay, e: &Entry) -> Plan {
    let target = Target::kernel(LinkType::En10mb);
    // As the binary compiles a rule (src/counting.rs): kernel target, optimizer on, the
    // interface's netmask, no direction (-Q in is the socket's PACKET_IGNORE_OUTGOING on this
    // kernel).
    let opts = replay.options();
    let cfg = match guarded(|| filter_compiler::compile_cfg(&e.expr, &target, &opts, None)) {
        Ok(Ok(c)) => c,
        Ok(Err(err)) => return Plan::KernelRejected(err.to_string()),
        Err(p) => return Plan::Broken(format!("kernel compile PANICKED: {p}")),
    };
    let generated = guarded(|| {
        let filter =
            filter_compiler::compile_cfg("", &target, &opts, None).expect("the empty filter");
        ebpf::generate(&ebpf::Spec {
            target,
            filter: &filter,
            rules: vec![&cfg],
            count_only: true,
            flows: 0,
        })
        .map(|_| ())
    });
    match generated {
        Ok(Ok(())) => {}
        Ok(Err(m)) => return Plan::KernelRejected(format!("ebpf::generate: {m}")),
        Err(p) => return Plan::Broken(format!("ebpf::generate PANICKED: {p}")),
    }
    let classic = emit::emit(&cfg);
    let modelled = [
        cbpf::SKF_AD_PROTOCOL,
        cbpf::SKF_AD_VLAN_TAG,
        cbpf::SKF_AD_VLAN_TAG_PRESENT,
        cbpf::SKF_AD_VLAN_TPID,
    ];
    let unmodelled: Vec<String> = ancillary(&classic.insns)
        .into_iter()
        .filter(|ad| !modelled.contains(ad))
        .map(ancillary_name)
        .collect();
    if uses_direction(&e.expr) || !unmodelled.is_empty() {
        return Plan::Excluded(format!(
            "its kernel program reads {}, which an offline Ethernet program has no counterpart for",
            if unmodelled.is_empty() {
                "the packet type".to_string()
            } else {
                unmodelled.join(", ")
            }
        ));
    }
    match replay.offline_kept(&e.expr) {
        Ok(k) => Plan::Rule(k),
        Err(m) => Plan::Broken(m),
    }
}

// ------------------------------------------------------------------------------ running

/// Waits until the program says `what` on stderr (it is ready); Err: what it said instead.
fn said(run: &mut Running, what: &str, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        if run.stderr_so_far().lines().any(|l| l.contains(what)) {
            return Ok(());
        }
        if let Some(s) = run.exited() {
            std::thread::sleep(Duration::from_millis(50));
            return Err(format!(
                "{}: exited ({s}) before saying {what:?}; stderr:\n{}",
                run.cmdline(),
                run.stderr_so_far()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{}: did not say {what:?} within {limit:?}; stderr:\n{}",
                run.cmdline(),
                run.stderr_so_far()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_said(run: &mut Running, what: &str) {
    if let Err(m) = said(run, what, START) {
        panic!("{m}");
    }
}

/// The last JSON line on stdout, which must say `"final": true`.
fn final_report(done: &Done) -> Value {
    let text = String::from_utf8_lossy(&done.stdout);
    let last = text.lines().last().unwrap_or_else(|| {
        panic!(
            "{}: no JSON on stdout; stderr:\n{}",
            done.cmdline, done.stderr
        )
    });
    let v: Value = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "{}: not a JSON line ({e}): {last:?}; stderr:\n{}",
            done.cmdline, done.stderr
        )
    });
    assert_eq!(
        v["final"],
        json!(true),
        "{}: last line not final",
        done.cmdline
    );
    v
}

fn num(v: &Value, path: &[&str]) -> u64 {
    let mut x = v;
    for p in path {
        x = &x[*p];
    }
    x.as_u64()
        .unwrap_or_else(|| panic!("no number at {} in {v}", path.join(".")))
}

/// A capture of the replay and what its file must hold.
struct FileCapture {
    what: String,
    path: PathBuf,
    want: Vec<usize>,
    ebpf: bool,
}

/// `bpfdump -i DEV -Q in -U --immediate-mode -B 1024 [--ebpf --json] -w FILE [EXPR]`, started
/// and ready.
fn start_capture(
    lab: &Lab,
    dir: &Scratch,
    tag: &str,
    expr: &str,
    ebpf: bool,
    want: Vec<usize>,
) -> (FileCapture, Running) {
    let path = dir.path(&format!("{tag}.pcap"));
    let mut a = args(&[
        "-i",
        &lab.dev(Side::A),
        "-Q",
        "in",
        "-U",
        "--immediate-mode",
    ]);
    a.extend(args(&["-B", "1024", "-w", &path.display().to_string()]));
    if ebpf {
        a.extend(args(&["--ebpf", "--json"]));
    }
    if !expr.is_empty() {
        a.push(expr.to_string());
    }
    let mut run = lab.capture(Side::A, &Tool::bpfdump(), &a);
    run.wait_listening();
    if ebpf {
        wait_said(&mut run, "counting every packet in the kernel");
    }
    let what = format!(
        "{} capture of `{expr}`",
        if ebpf { "--ebpf" } else { "classic" }
    );
    (
        FileCapture {
            what,
            path,
            want,
            ebpf,
        },
        run,
    )
}

/// The file holds exactly the records `want`, byte for byte, whole, in order.
fn check_file(replay: &Replay, c: &FileCapture, done: &Done) -> Result<(), String> {
    let cap = read_capture(&c.path).map_err(|e| format!("{}: {e}", c.what))?;
    let got: Vec<&[u8]> = cap.packets.iter().map(|p| &p.data[..]).collect();
    let want: Vec<&[u8]> = c.want.iter().map(|&i| replay.data(i)).collect();
    if cap.linktype != LINKTYPE_ETHERNET || cap.partial != 0 {
        return Err(format!(
            "{}: link type {}, {} bytes of a partial record",
            c.what, cap.linktype, cap.partial
        ));
    }
    if got != want {
        let mut s = format!(
            "{} ({}): want the {} frames the offline program keeps ({}), got {}:\n",
            c.what,
            c.path.display(),
            want.len(),
            ranges(&c.want.iter().copied().collect()),
            got.len()
        );
        for i in 0..got.len().max(want.len()) {
            let show = |d: Option<&&[u8]>| d.map_or("-".into(), |d| summary(LINKTYPE_ETHERNET, d));
            let mark = if got.get(i) == want.get(i) { ' ' } else { '!' };
            let rec = c.want.get(i).map_or("-".into(), |r| format!("record {r}"));
            let _ = writeln!(
                s,
                "{mark}{i:3}: want ({rec}) {}\n      got  {}",
                show(want.get(i)),
                show(got.get(i))
            );
        }
        return Err(s);
    }
    if cap
        .packets
        .iter()
        .any(|p| p.wirelen as usize != p.data.len())
    {
        return Err(format!("{}: a packet cut short", c.what));
    }
    if c.ebpf {
        let r = final_report(done);
        let want_totals = (c.want.len() as u64, replay.bytes(c.want.iter().copied()));
        let got_totals = (
            num(&r, &["matched", "packets"]),
            num(&r, &["matched", "bytes"]),
        );
        if got_totals != want_totals {
            return Err(format!(
                "{}: matched (packets, bytes) {got_totals:?}, the file {want_totals:?}: {r}",
                c.what
            ));
        }
    }
    Ok(())
}

/// One counting run: up to 64 rules, the corpus entries they stand for.
struct CountRun {
    entries: Vec<usize>,
    run: Running,
}

fn rule_name(e: &Entry) -> String {
    format!("l{}", e.line)
}

/// `bpfdump -i DEV -Q in --count --json --flows 0 --rule lN=EXPR ...`, started.
fn start_count(lab: &Lab, entries: &[Entry], which: Vec<usize>) -> CountRun {
    let mut a = args(&[
        "-i",
        &lab.dev(Side::A),
        "-Q",
        "in",
        "--count",
        "--json",
        "--flows",
        "0",
    ]);
    for &n in &which {
        a.push("--rule".into());
        a.push(format!("{}={}", rule_name(&entries[n]), entries[n].expr));
    }
    let run = lab.capture(Side::A, &Tool::bpfdump(), &a);
    CountRun {
        entries: which,
        run,
    }
}

/// The counters every run must report for the frames delivered: seen, matched (the empty
/// filter keeps everything) and the link-layer classes.
fn expected_totals(replay: &Replay) -> BTreeMap<&'static str, Value> {
    let n = replay.delivered.len();
    let bytes = replay.bytes(replay.delivered.iter().copied());
    let mut l3 = serde_json::Map::new();
    for c in ["ipv4", "ipv6", "arp", "vlan", "other"] {
        let k = replay
            .delivered
            .iter()
            .filter(|&&i| l3_class(replay.data(i)) == c)
            .count();
        l3.insert(c.into(), json!(k));
    }
    let totals = json!({"packets": n, "bytes": bytes, "segments": n});
    BTreeMap::from([
        ("seen", totals.clone()),
        ("matched", totals),
        ("l3", Value::Object(l3)),
    ])
}

// ------------------------------------------------------------------------------- tests

#[test]
fn corpus_rules_count_as_the_offline_program_on_real_traffic() {
    let test = "corpus_rules_count_as_the_offline_program_on_real_traffic";
    let Some(lab) = Lab::up(test) else { return };
    let started = Instant::now();
    let dir = Scratch::new(test);
    let replay = Replay::new(&lab);
    let entries = load_corpus("ethernet.txt");

    // The replay as this test means it.
    assert_eq!(
        replay.unsendable,
        [250, 251, 252],
        "the records of sample.pcap that a veth cannot send (shorter than 14 bytes)"
    );
    assert_eq!(
        replay.dropped,
        [244, 245],
        "the tagged records of sample.pcap the kernel drops on receive (16 and 18 bytes)"
    );
    // The packet type the kernel gives each delivered frame on side A.
    let mac_a = lab.link(Side::A).mac;
    let mut pkt_types: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &replay.delivered {
        let dst = &replay.data(i)[..6];
        let t = if dst == mac_a {
            "HOST"
        } else if dst == [0xff; 6] {
            "BROADCAST"
        } else if dst[0] & 1 != 0 {
            "MULTICAST"
        } else {
            "OTHERHOST"
        };
        *pkt_types.entry(t).or_default() += 1;
    }
    let vlan_sent = replay
        .delivered
        .iter()
        .filter(|&&i| l3_class(replay.data(i)) == "vlan")
        .count();
    assert!(vlan_sent >= 10, "only {vlan_sent} tagged frames delivered");

    // Every expression: a rule with its expectation, or why not.
    let plans = par_map(&entries, |e| plan(&replay, e));
    let mut broken = Vec::new();
    let mut rejected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut excluded: Vec<(String, String)> = Vec::new();
    let mut rules: Vec<usize> = Vec::new();
    for (n, (e, p)) in entries.iter().zip(&plans).enumerate() {
        match p {
            Plan::Rule(_) => rules.push(n),
            Plan::KernelRejected(m) => rejected
                .entry(m.clone())
                .or_default()
                .push(format!("`{}`", e.expr)),
            Plan::Excluded(why) => excluded.push((e.expr.clone(), why.clone())),
            Plan::Broken(m) => broken.push(format!("{} `{}`: {m}", e.origin(), e.expr)),
        }
    }
    assert!(
        broken.is_empty(),
        "the expectation cannot be computed for:\n{}",
        broken.join("\n")
    );
    let want_excluded: Vec<(String, String)> = EXCLUDED
        .iter()
        .map(|(e, w)| (e.to_string(), w.to_string()))
        .collect();
    assert_eq!(
        excluded, want_excluded,
        "the expressions excluded (reads of metadata an offline program does not have) are \
         not the expected ones: update EXCLUDED and its reasons"
    );
    let kept = |n: usize| match &plans[n] {
        Plan::Rule(k) => k,
        _ => unreachable!(),
    };

    // The captures' expectations; each must keep some delivered frames and drop some.
    let captured: Vec<(&str, Vec<usize>)> = CAPTURED
        .iter()
        .map(|&x| {
            let k = replay
                .offline_kept(x)
                .unwrap_or_else(|m| panic!("`{x}`: {m}"));
            assert!(
                !k.is_empty() && k.len() < replay.delivered.len(),
                "`{x}` keeps {} of the {} frames: not a useful check",
                k.len(),
                replay.delivered.len()
            );
            (x, k.into_iter().collect())
        })
        .collect();

    // Every counting run, then the captures, all at once, ready before the replay. A run
    // the verifier refuses is split in two.
    let mut counts: Vec<CountRun> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut pending: Vec<Vec<usize>> = rules.chunks(RULES_PER_RUN).map(<[_]>::to_vec).collect();
    while !pending.is_empty() {
        let starting: Vec<CountRun> = pending
            .drain(..)
            .map(|c| start_count(&lab, &entries, c))
            .collect();
        for mut c in starting {
            match said(&mut c.run, "counting in the kernel", LOAD) {
                Ok(()) => counts.push(c),
                Err(m) if c.entries.len() > 1 && m.contains("verifier gave up") => {
                    let (first, last) =
                        (&entries[c.entries[0]], &entries[*c.entries.last().unwrap()]);
                    refused.push(format!(
                        "{} rules (lines {}-{})",
                        c.entries.len(),
                        first.line,
                        last.line
                    ));
                    let half = c.entries.len().div_ceil(2);
                    pending.push(c.entries[..half].to_vec());
                    pending.push(c.entries[half..].to_vec());
                }
                Err(m) => panic!("{m}"),
            }
        }
    }
    let (all, mut all_run) = start_capture(&lab, &dir, "all", "", false, replay.delivered.clone());
    let mut files = Vec::new();
    for (i, (x, want)) in captured.iter().enumerate() {
        for ebpf in [false, true] {
            let tag = format!("{}-{i}", if ebpf { "ebpf" } else { "classic" });
            files.push(start_capture(&lab, &dir, &tag, x, ebpf, want.clone()));
        }
    }
    let ready = started.elapsed();
    let n_runs = counts.len();

    lab.send_frames(Side::B, &replay.frames());

    // The unfiltered capture holding the last delivered frame means every frame has been
    // through every socket's filter (one receive path, the sockets' filters run in turn for
    // each frame before the next). A moment more for good measure.
    let n = replay.delivered.len();
    all_run.wait_file(&all.path, &format!("{n} packets"), |c| c.packets.len() >= n);
    for (f, run) in &mut files {
        let n = f.want.len();
        run.wait_file(&f.path, &format!("{n} packets"), |c| c.packets.len() >= n);
    }
    std::thread::sleep(Duration::from_millis(200));
    for r in counts
        .iter()
        .map(|c| &c.run)
        .chain(std::iter::once(&all_run))
        .chain(files.iter().map(|(_, r)| r))
    {
        r.signal(libc::SIGINT);
    }

    // What the kernel delivered: every frame sent but the two it drops, byte for byte.
    let all_done = all_run.finish();
    all_done.assert_success();
    let mut problems = Vec::new();
    if let Err(m) = check_file(&replay, &all, &all_done) {
        problems.push(format!("what the kernel delivered is not as modelled: {m}"));
    }

    // The counting runs: totals, classes, and every rule.
    let totals = expected_totals(&replay);
    let mut disagree = Vec::new();
    let mut checked = 0;
    for c in counts {
        let done = c.run.finish();
        done.assert_success();
        let r = final_report(&done);
        for (k, w) in &totals {
            if r[*k] != *w {
                problems.push(format!(
                    "{}... ({} rules): {k}: want {w}, got {}",
                    &done.cmdline[..done.cmdline.len().min(120)],
                    c.entries.len(),
                    r[*k]
                ));
            }
        }
        let got = r["rules"].as_array().cloned().unwrap_or_default();
        assert_eq!(got.len(), c.entries.len(), "{}: rules in {r}", done.cmdline);
        for (&n, g) in c.entries.iter().zip(&got) {
            let e = &entries[n];
            assert_eq!(g["name"], json!(rule_name(e)), "{r}");
            let want = kept(n);
            let w = (want.len() as u64, replay.bytes(want.iter().copied()));
            let gv = (num(g, &["packets"]), num(g, &["bytes"]));
            checked += 1;
            if gv != w {
                disagree.push(format!(
                    "{} `{}`: the rule counts {} packets, {} bytes; the offline program \
                     accepts {} frames, {} bytes: records [{}]",
                    e.origin(),
                    e.expr,
                    gv.0,
                    gv.1,
                    w.0,
                    w.1,
                    ranges(want)
                ));
            }
        }
    }

    // The captures: classic and --ebpf, the same frames, the offline program's.
    for (f, run) in files {
        let done = run.finish();
        done.assert_success();
        if let Err(m) = check_file(&replay, &f, &done) {
            problems.push(m);
        }
    }

    let n_rejected: usize = rejected.values().map(Vec::len).sum();
    let mut summary = format!(
        "{test}: {} of {} records of sample.pcap sent ({} not sendable on a veth, shorter than \
         14 bytes: [{}]; none longer than 1514), {} delivered ({} tagged; the kernel drops \
         [{}], tagged and shorter than 20 bytes; packet types {:?}); {} corpus expressions: {checked} checked as \
         rules in {} runs, {} excluded, {n_rejected} refused for the kernel target; {} \
         disagree (netmask {}); {} captures of {} expressions; ready in {:.1} s, done in \
         {:.1} s",
        replay.sent.len(),
        replay.capture.packets.len(),
        replay.unsendable.len(),
        ranges(&replay.unsendable.iter().copied().collect()),
        replay.delivered.len(),
        vlan_sent,
        ranges(&replay.dropped.iter().copied().collect()),
        pkt_types,
        entries.len(),
        n_runs,
        excluded.len(),
        disagree.len(),
        std::net::Ipv4Addr::from(replay.netmask),
        2 * CAPTURED.len(),
        CAPTURED.len(),
        ready.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    if !refused.is_empty() {
        let _ = write!(
            summary,
            "\n    runs the verifier refused, split in two: {}",
            refused.join(", ")
        );
    }
    for (m, which) in &rejected {
        let _ = write!(
            summary,
            "\n    refused for the kernel target: {m}: {}",
            which.join(", ")
        );
    }
    eprintln!("{summary}");
    assert!(
        problems.is_empty() && disagree.is_empty(),
        "{summary}\n{}{}",
        problems.join("\n"),
        if disagree.is_empty() {
            String::new()
        } else {
            format!(
                "\nrules that count differently from the offline program (reproduce: bpfdump -i \
                 DEV -Q in --count --json --flows 0 --rule x='EXPR' on side A while the \
                 records are sent from side B):\n{}",
                disagree.join("\n")
            )
        }
    );
}

/// Regression test (fixed: rules load packet bytes through bpf_skb_load_bytes, and the
/// counting code compares only values it stored as immediates, so the verifier never has to
/// trace a value back through LD_ABS/LD_IND, which made it mark every scalar precise and stop
/// merging paths). The bug, found by the test above: the kernel's verifier did more work for
/// a rule the more rules came before it, so that far fewer than the documented 64 `--rule`s load, and
/// whether a set of rules loads depends on their order. Linux 6.18, instructions the verifier
/// processed (its limit is 1,000,000; past it bpfdump says "the kernel's eBPF verifier gave up
/// on the program: too many paths to check"):
///
/// - `--flows 0`, rules `portrange 0-65535` after k rules `port 80`: 68,633 alone; 133,887
///   (k = 1), 208,439 (2), 429,132 (5), 790,256 (10); k = 20 fails. The same 21 rules with
///   `portrange 0-65535` first: 136,736, loaded. After k `ip` rules the whole costs about
///   19,000 more for each, after `tcp` about 34,000, after `host 10.0.0.1` about 36,000: the
///   states that reach a rule grow with the rules before it (their paths are not pruned
///   where they join), so the total grows with the square of the number of rules.
/// - With the default flow table (8192 entries) the flow-table code after the filter is
///   verified again for every such state: each `ip` rule adds about 17,000 (30,512 for one
///   rule, 958,390 for 56; 60 fail), each `port 80` rule about 64,000 (574,179 for 8; 15
///   fail); without it, 64 `ip` rules take 57,503.
///
/// Reproduction (side A of a netns-lab; any interface will do):
///
/// ```text
/// bpfdump -i DEV --count --rule r1=ip --rule r2=ip ... --rule r64=ip
/// bpfdump -i DEV --count --flows 0 --rule p1='port 80' ... --rule p20='port 80' \
///                                  --rule r='portrange 0-65535'
/// ```
///
/// Both exit with status 1 ("gave up ... (1453 instructions, 64 rules ...)", "(1668
/// instructions, 21 rules ...)"); expected: both start, and count the frames sent as the
/// offline programs for `ip` and `port 80` / `portrange 0-65535` accept them. The second
/// command with the `portrange` rule first (a control, which loads today) is run too.
/// What the bug test runs: a description, extra flags, and the rules (name, expression).
type Case<'a> = (&'a str, Vec<&'a str>, Vec<(String, &'a str)>);

#[test]
fn regression_rules_verifier_work_grows_with_the_rules_before() {
    let test = "regression_rules_verifier_work_grows_with_the_rules_before";
    let Some(lab) = Lab::up(test) else { return };
    let dir = Scratch::new(test);
    let replay = Replay::new(&lab);
    let port80: Vec<(String, &str)> = (1..=20).map(|i| (format!("p{i}"), "port 80")).collect();
    let range = [("r".to_string(), "portrange 0-65535")];
    let cases: Vec<Case> = vec![
        (
            "64 `ip` rules, default flow table",
            vec![],
            (1..=MAX_RULES).map(|i| (format!("r{i}"), "ip")).collect(),
        ),
        (
            "--flows 0, 20 `port 80` rules then `portrange 0-65535`",
            vec!["--flows", "0"],
            port80
                .iter()
                .cloned()
                .chain(range.iter().cloned())
                .collect(),
        ),
        (
            "--flows 0, `portrange 0-65535` then 20 `port 80` rules (control)",
            vec!["--flows", "0"],
            range
                .iter()
                .cloned()
                .chain(port80.iter().cloned())
                .collect(),
        ),
    ];
    let mut runs = Vec::new();
    for (what, extra, rules) in &cases {
        let mut a = args(&["-i", &lab.dev(Side::A), "-Q", "in", "--count", "--json"]);
        a.extend(extra.iter().map(|x| x.to_string()));
        for (name, expr) in rules {
            a.push("--rule".into());
            a.push(format!("{name}={expr}"));
        }
        runs.push((*what, rules, lab.capture(Side::A, &Tool::bpfdump(), &a)));
    }
    let mut failures = Vec::new();
    let mut started = Vec::new();
    for (what, rules, mut run) in runs {
        match said(&mut run, "counting in the kernel", LOAD) {
            Ok(()) => started.push((what, rules, run)),
            Err(m) => {
                let said = m
                    .lines()
                    .filter(|l| l.contains("verifier"))
                    .collect::<Vec<_>>();
                failures.push(format!("{what}: does not start: {}", said.join(" ")));
            }
        }
    }
    if !started.is_empty() {
        let (all, mut all_run) =
            start_capture(&lab, &dir, "all", "", false, replay.delivered.clone());
        lab.send_frames(Side::B, &replay.frames());
        let n = replay.delivered.len();
        all_run.wait_file(&all.path, &format!("{n} packets"), |c| c.packets.len() >= n);
        std::thread::sleep(Duration::from_millis(200));
        all_run.signal(libc::SIGINT);
        for (_, _, run) in &started {
            run.signal(libc::SIGINT);
        }
        all_run.finish().assert_success();
        for (what, rules, run) in started {
            let done = run.finish();
            done.assert_success();
            let r = final_report(&done);
            let got = r["rules"].as_array().cloned().unwrap_or_default();
            assert_eq!(got.len(), rules.len(), "{what}: {r}");
            for ((name, expr), g) in rules.iter().zip(&got) {
                let want = replay.offline_kept(expr).unwrap();
                let w = (want.len() as u64, replay.bytes(want.iter().copied()));
                let gv = (num(g, &["packets"]), num(g, &["bytes"]));
                if g["name"] != json!(name) || gv != w {
                    failures.push(format!(
                        "{what}: rule {name} `{expr}` counts {gv:?}, want {w:?}: {g}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "BUG: the eBPF verifier's work for a rule grows with the rules before it:\n{}",
        failures.join("\n")
    );
}
