//! ebpf_cost: what counting adds to the kernel's cost of running the filter, program alone,
//! measured by the kernel itself with BPF_PROG_TEST_RUN on the packets of a capture.
//!
//! For each filter, four programs built from the same optimized IR
//! (`filter_compiler::compile_cfg` for `Target::kernel(LinkType::En10mb)`):
//!
//! - (a) `ebpf::decision_only`: the filter alone, no counters; the classic program as the
//!   kernel's own conversion maps it (registers, LD_ABS/LD_IND; but see "Loads" below);
//! - (b) `ebpf::generate`: the counting program as `--ebpf` loads it (seen/matched/classes,
//!   flow table of 8192 entries), returning the filter's verdict;
//! - (c) the same without the flow table (`flows: 0`, `--flows 0`);
//! - (d) (b) plus 4 rules (`--rule`), each tested on every packet.
//!
//! Every packet of the capture (default captures/sample.pcap, Ethernet) is run through the
//! four programs in turn, `--repeat` times each per call (default 100000; test_run reports the
//! mean duration of the runs, in whole ns), `--rounds` times over (default 1); a packet's time
//! for a program is its best round (other work on the machine only ever adds time), and the
//! table gives the mean over the packets. The programs are interleaved packet by packet, so a
//! slow phase of the machine hits all four alike; test_run also stops its clock while it
//! leaves the CPU to other tasks. Return values are checked: (b), (c) and (d) must return
//! exactly what (a) returns for every packet (the decision is the classic one). Every figure
//! includes test_run's own loop, printed as "an empty program".
//!
//! test_run builds an skb on loopback and pulls the first 14 bytes of the data as the link
//! header, so each frame is given a 14-byte dummy header in front (a copy of its own
//! destination and type, source zeroed, so skb->protocol is the frame's): the program then
//! sees the frame from its Ethernet header on, as on a capture socket. (A frame too short for
//! the IP header its type announces gets type 0 there: test_run refuses it otherwise.) A
//! flow-table program inserts the packet's flow on the first run and finds it on the next
//! ones: the steady state of a live capture, where most packets belong to a known flow.
//!
//! Loads: in an eBPF socket filter every LD_ABS/LD_IND becomes a call of a kernel helper (the
//! verifier's `bpf_gen_ld_abs`), while the kernel's conversion of a *classic* program
//! (`convert_bpf_ld_abs`) reads an absolute offset inside the linear data inline. So (a)
//! costs more than the classic program really costs in the kernel: about 2.4 ns per absolute
//! load executed, measured live (bench/README.md). The probe line measures one LD_ABS here;
//! the `loads` column counts the packet loads of each program (at most that many run per
//! packet: there are no loops).
//!
//! Run (root, or CAP_BPF + CAP_NET_ADMIN): `cargo bench --bench ebpf_cost`
//!   `[-- --repeat N] [--rounds N] [--pcap FILE] [--filter EXPR]... [--rule EXPR]...`
//! `--filter` replaces the default filters, `--rule` the default 4 rules (their number is
//! then the number of `--rule`s). Without the privilege it prints `SKIPPED` and exits 0.

#[path = "../src/bpf/sys.rs"]
mod sys;

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

use filter_compiler::ebpf::insn::{self as e, Insn, R0, R1, R6};
use filter_compiler::ebpf::{self, skb};
use filter_compiler::resolve::NoResolver;
use filter_compiler::{compile_cfg, ir, LinkType, Options, Target};

const HDR: usize = 14;
const LICENSE: &str = "MIT";
const SNAPLEN: u32 = 262_144;
/// Flow-table entries: bpfdump's default (`--flows`).
const FLOWS: u32 = 8192;

const DEFAULT_FILTERS: &[&str] = &[
    "tcp port 443",
    "udp",
    "ip6 and tcp",
    // The longest expression of tests/corpus/ethernet.txt.
    "(ip or ip6) and ((tcp and (port 80 or port 443)) or (udp and (port 53 or (port 67 or port 68))))",
];
const DEFAULT_RULES: &[&str] = &[
    "tcp port 443",
    "udp port 53",
    "icmp or icmp6",
    "ip6 and tcp",
];

struct Args {
    repeat: u32,
    rounds: usize,
    pcap: String,
    filters: Vec<String>,
    rules: Vec<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench --bench ebpf_cost [-- --repeat N] [--rounds N] [--pcap FILE] \
         [--filter EXPR]... [--rule EXPR]..."
    );
    std::process::exit(2)
}

fn args() -> Args {
    let mut a = Args {
        repeat: 100_000,
        rounds: 1,
        pcap: concat!(env!("CARGO_MANIFEST_DIR"), "/captures/sample.pcap").to_string(),
        filters: Vec::new(),
        rules: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match x.as_str() {
            "--repeat" => a.repeat = val().parse().unwrap_or_else(|_| usage()),
            "--rounds" => a.rounds = val().parse().unwrap_or_else(|_| usage()),
            "--pcap" => a.pcap = val(),
            "--filter" => a.filters.push(val()),
            "--rule" => a.rules.push(val()),
            // What `cargo bench` passes to every bench target.
            "--bench" => {}
            _ => usage(),
        }
    }
    if a.repeat == 0 || a.rounds == 0 {
        usage();
    }
    if a.filters.is_empty() {
        a.filters = DEFAULT_FILTERS.iter().map(|s| s.to_string()).collect();
    }
    if a.rules.is_empty() {
        a.rules = DEFAULT_RULES.iter().map(|s| s.to_string()).collect();
    }
    a
}

/// The frames of a pcap file (Ethernet only), as test_run inputs: each behind a 14-byte
/// dummy header.
fn inputs(path: &str) -> Result<Vec<Vec<u8>>, String> {
    let d = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if d.len() < 24 {
        return Err(format!("{path}: not a pcap file"));
    }
    let le = match &d[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => return Err(format!("{path}: not a pcap file (pcapng is not read here)")),
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = d[at..at + 4].try_into().expect("4 bytes");
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    if u32_at(20) & 0x0fff_ffff != 1 {
        return Err(format!(
            "{path}: link type {} (want 1, Ethernet)",
            u32_at(20)
        ));
    }
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let caplen = u32_at(off + 8) as usize;
        let start = off + 16;
        let end = (start + caplen).min(d.len());
        let frame = &d[start..end];
        let mut x = vec![0u8; HDR];
        let n = frame.len().min(HDR);
        x[..n].copy_from_slice(&frame[..n]);
        x[6..12].fill(0);
        // test_run (6.18) refuses with EINVAL an IPv4 skb with less than an IPv4 header of
        // data (IPv6: an IPv6 header); such a frame gets type 0 in the dummy header, as in
        // tests/ebpf_kernel.rs (only skb->protocol differs; the frame itself is unchanged).
        let t = u16::from_be_bytes([x[12], x[13]]);
        if (t == 0x0800 && frame.len() < 20) || (t == 0x86dd && frame.len() < 40) {
            x[12..14].fill(0);
        }
        x.extend_from_slice(frame);
        out.push(x);
        off = start + caplen;
    }
    if out.is_empty() {
        return Err(format!("{path}: no packets"));
    }
    Ok(out)
}

/// A loaded program and the maps it refers to (kept open as long as it is).
struct Loaded {
    prog: OwnedFd,
    _maps: Vec<OwnedFd>,
    insns: usize,
}

fn load(p: &ebpf::Program) -> io::Result<Loaded> {
    let mut maps = Vec::new();
    for m in &p.maps {
        maps.push(sys::map_create(
            m.kind.number(),
            m.key_size,
            m.value_size,
            m.max_entries,
            m.name,
        )?);
    }
    let raw: Vec<i32> = maps.iter().map(|f| f.as_raw_fd()).collect();
    let bytes = p.image(&raw);
    let prog = match sys::prog_load(&bytes, LICENSE, "ebpf_cost", None) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => return Err(e),
        Err(e) => {
            let mut log = vec![0u8; 4 << 20];
            let _ = sys::prog_load(&bytes, LICENSE, "ebpf_cost", Some(&mut log));
            let log = String::from_utf8_lossy(&log);
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "{e}; verifier: {}",
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ),
            ));
        }
    };
    Ok(Loaded {
        prog,
        _maps: maps,
        insns: p.insns.len(),
    })
}

/// Packet loads (LD_ABS, LD_IND) in a program.
fn packet_loads(p: &ebpf::Program) -> usize {
    p.insns
        .iter()
        .filter(|i| i.class() == e::LD && matches!(i.code & 0xe0, e::ABS | e::IND))
        .count()
}

fn compile(expr: &str) -> Result<ir::Cfg, String> {
    let opts = Options {
        optimize: true,
        snaplen: SNAPLEN,
        netmask: 0,
        resolver: &NoResolver,
    };
    compile_cfg(expr, &Target::kernel(LinkType::En10mb), &opts, None)
        .map_err(|e| format!("{expr}: {e:?}"))
}

const VARIANTS: [&str; 4] = ["(a) classic", "(b) count+flows", "(c) count", "(d) +rules"];

struct Row {
    filter: String,
    insns: [usize; 4],
    loads: [usize; 4],
    /// Mean over the packets of each packet's best round, ns.
    ns: [f64; 4],
    /// Packets whose (b)/(c)/(d) return value differed from (a)'s.
    mismatches: usize,
}

fn measure(filter: &str, rules: &[ir::Cfg], inputs: &[Vec<u8>], a: &Args) -> Result<Row, String> {
    let cfg = compile(filter)?;
    let target = Target::kernel(LinkType::En10mb);
    fn spec<'a>(
        target: Target,
        filter: &'a ir::Cfg,
        flows: u32,
        rules: Vec<&'a ir::Cfg>,
    ) -> ebpf::Spec<'a> {
        ebpf::Spec {
            target,
            filter,
            rules,
            count_only: false,
            flows,
        }
    }
    let progs = [
        ebpf::decision_only(&cfg),
        ebpf::generate(&spec(target, &cfg, FLOWS, Vec::new())),
        ebpf::generate(&spec(target, &cfg, 0, Vec::new())),
        ebpf::generate(&spec(target, &cfg, FLOWS, rules.iter().collect())),
    ];
    let mut loaded = Vec::new();
    let mut loads = [0; 4];
    for (i, p) in progs.into_iter().enumerate() {
        let p = p.map_err(|m| format!("{filter}: {}: {m}", VARIANTS[i]))?;
        loads[i] = packet_loads(&p);
        loaded.push(load(&p).map_err(|e| format!("{filter}: {}: {e}", VARIANTS[i]))?);
    }
    let mut best = vec![[u32::MAX; 4]; inputs.len()];
    let mut mismatches = 0;
    for (pi, data) in inputs.iter().enumerate() {
        let mut ret = [0u32; 4];
        for _ in 0..a.rounds {
            for (v, l) in loaded.iter().enumerate() {
                let r = sys::test_run(l.prog.as_raw_fd(), data, None, a.repeat)
                    .map_err(|e| format!("{filter}: test_run: {e}"))?;
                best[pi][v] = best[pi][v].min(r.duration);
                ret[v] = r.retval;
            }
        }
        if ret[1..].iter().any(|&r| r != ret[0]) {
            mismatches += 1;
        }
    }
    let mut ns = [0f64; 4];
    for (v, x) in ns.iter_mut().enumerate() {
        *x = best.iter().map(|b| b[v] as f64).sum::<f64>() / inputs.len() as f64;
    }
    Ok(Row {
        filter: filter.to_string(),
        insns: [0, 1, 2, 3].map(|i| loaded[i].insns),
        loads,
        ns,
        mismatches,
    })
}

/// ns per load: 8 LD_ABS (each a helper call once verified) and 8 inline `__sk_buff` loads,
/// each against an empty program, best of the rounds, on one 64-byte frame.
/// Also the empty program's own time: test_run's loop around the program, in every figure.
fn probe(a: &Args) -> io::Result<(u32, f64, f64)> {
    let prog = |body: &[Insn]| -> io::Result<Loaded> {
        let mut insns = vec![Insn::mov64(R6, R1)];
        insns.extend_from_slice(body);
        insns.push(Insn::mov32_imm(R0, 0));
        insns.push(Insn::exit());
        load(&ebpf::Program {
            insns,
            maps: Vec::new(),
        })
    };
    let empty = prog(&[])?;
    let abs = prog(&[Insn::ld_abs(e::B, 12); 8])?;
    let ctx = prog(&[Insn::ldx(e::W, R0, R6, skb::LEN); 8])?;
    let mut frame = vec![0u8; HDR + 64];
    frame[12] = 0x08;
    frame[HDR + 12] = 0x08;
    let mut t = [u32::MAX; 3];
    for _ in 0..a.rounds.max(3) {
        for (i, l) in [&empty, &abs, &ctx].iter().enumerate() {
            let r = sys::test_run(l.prog.as_raw_fd(), &frame, None, a.repeat)?;
            t[i] = t[i].min(r.duration);
        }
    }
    // Durations are whole ns per run; 8 loads make the per-load figure finer.
    Ok((
        t[0],
        (t[1] as f64 - t[0] as f64) / 8.0,
        (t[2] as f64 - t[0] as f64) / 8.0,
    ))
}

fn main() {
    let a = args();
    let inputs = match inputs(&a.pcap) {
        Ok(i) => i,
        Err(m) => {
            eprintln!("ebpf_cost: {m}");
            std::process::exit(1);
        }
    };
    // The privilege, tried once: a map is the cheapest thing that needs it.
    if let Err(e) = sys::map_create(2, 4, 8, 1, "probe") {
        if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)) {
            println!("ebpf_cost: SKIPPED: bpf(2) refused ({e}); run as root (needs CAP_BPF)");
            return;
        }
        eprintln!("ebpf_cost: bpf(2): {e}");
        std::process::exit(1);
    }
    let rules: Vec<ir::Cfg> = match a.rules.iter().map(|r| compile(r)).collect() {
        Ok(r) => r,
        Err(m) => {
            eprintln!("ebpf_cost: rule {m}");
            std::process::exit(1);
        }
    };
    let t0 = Instant::now();
    let probed = probe(&a);
    println!(
        "ebpf_cost: BPF_PROG_TEST_RUN, {} packets of {}, repeat {} per call, best of {} rounds per \
         packet and program; mean ns per packet (kernel {}, JIT {})",
        inputs.len(),
        a.pcap.rsplit('/').next().unwrap_or(&a.pcap),
        a.repeat,
        a.rounds,
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        match std::fs::read_to_string("/proc/sys/net/core/bpf_jit_enable")
            .unwrap_or_default()
            .trim()
        {
            "0" => "off",
            "" => "?",
            _ => "on",
        }
    );
    println!("rules of (d): {}", a.rules.join(" | "));
    println!();
    let mut rows = Vec::new();
    for f in &a.filters {
        match measure(f, &rules, &inputs, &a) {
            Ok(r) => rows.push(r),
            Err(m) => {
                eprintln!("ebpf_cost: {m}");
                std::process::exit(1);
            }
        }
    }
    let w = rows
        .iter()
        .map(|r| r.filter.len())
        .max()
        .unwrap_or(6)
        .clamp(6, 48);
    println!(
        "{:<w$}  {:>15}  {:>13}  {:>11}  {:>15}  {:>9}  {:>12}  {:>5}  {:>6}  {:>6}  {:>6}",
        "filter",
        "insns a/b/c/d",
        "loads a/b/c/d",
        VARIANTS[0],
        VARIANTS[1],
        VARIANTS[2],
        format!("(d) +{} rules", a.rules.len()),
        "a'",
        "b-a",
        "c-a",
        "d-b"
    );
    let empty = probed.as_ref().map_or(0.0, |p| p.0 as f64);
    let mut bad = 0;
    for r in &rows {
        let name = if r.filter.len() > w {
            format!("{}...", &r.filter[..w - 3])
        } else {
            r.filter.clone()
        };
        println!(
            "{:<w$}  {:>15}  {:>13}  {:>11.1}  {:>15.1}  {:>9.1}  {:>12.1}  {:>5.1}  {:>+6.1}  {:>+6.1}  {:>+6.1}",
            name,
            format!("{}/{}/{}/{}", r.insns[0], r.insns[1], r.insns[2], r.insns[3]),
            format!("{}/{}/{}/{}", r.loads[0], r.loads[1], r.loads[2], r.loads[3]),
            r.ns[0],
            r.ns[1],
            r.ns[2],
            r.ns[3],
            r.ns[0] - empty,
            r.ns[1] - r.ns[0],
            r.ns[2] - r.ns[0],
            r.ns[3] - r.ns[1]
        );
        bad += r.mismatches;
        if r.mismatches > 0 {
            println!(
                "  ^ {} packet(s) where a counting program returned another value than (a)",
                r.mismatches
            );
        }
    }
    println!();
    println!(
        "ns: mean over the packets of each packet's best round; b-a: counters and flow table;"
    );
    println!(
        "c-a: counters without the flow table; d-b: the rules; loads: LD_ABS/LD_IND in each program;"
    );
    println!("a' = (a) minus an empty program's time (test_run's own loop, below): the filter's own cost.");
    match probed {
        Ok((empty, abs, ctx)) => {
            println!(
                "probe: an empty program {empty} ns (test_run's own loop, in every figure above); \
                 one LD_ABS {abs:.1} ns (a helper call in eBPF); one inline __sk_buff load {ctx:.1} ns"
            );
            println!(
                "       The kernel's conversion of a classic program reads an absolute offset \
                 inline (about 1 ns a load, measured live: bench/README.md), so (a) can overstate \
                 the classic program by up to its loads x ({abs:.1} - 1) ns."
            );
        }
        Err(e) => println!("probe: {e}"),
    }
    println!("({:.1} s)", t0.elapsed().as_secs_f64());
    if bad > 0 {
        std::process::exit(1);
    }
}
