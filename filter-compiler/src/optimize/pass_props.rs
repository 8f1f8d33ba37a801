//! Each pass alone never changes a verdict: for the corpus's Ethernet expressions (and
//! `and`/`or` combinations of them), the graph lowering builds, with one pass applied, gives
//! every packet the verdict the graph without it gives; and so does every step of the
//! pipeline, each pass applied to the graph the passes before it left (the only graphs
//! `bypass_empty` ever changes). Packets are frames from the suite's capture, as they are,
//! with bytes changed, truncated, and random bytes.
//!
//! The one allowed difference is the documented one: jump threading may skip a test whose
//! outcome cannot matter, and chain grouping changes the order of loads, so on a packet
//! where the unoptimized program runs a load past the end (and rejects) those two may
//! accept.

use super::{run, tests::unoptimized, Pass, PASSES, PIPELINE};
use crate::interp::{self, Abort, Meta};
use crate::Insn;

/// xorshift64: deterministic, no crate needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The frames of captures/sample.pcap (a classic pcap file, either byte order).
fn frames() -> Vec<Vec<u8>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../captures/sample.pcap");
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let le = match data[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("{path}: not a pcap file"),
    };
    let u32_at = |i: usize| {
        let b: [u8; 4] = data[i..i + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let caplen = u32_at(at + 8) as usize;
        at += 16;
        out.push(data[at..at + caplen].to_vec());
        at += caplen;
    }
    assert!(out.len() > 20, "{path}: only {} frames", out.len());
    out
}

/// Packets for one expression, with their length on the wire.
fn packets(rng: &mut Rng, frames: &[Vec<u8>]) -> Vec<(Vec<u8>, u32)> {
    let mut out = Vec::new();
    let frame = |rng: &mut Rng| frames[rng.below(frames.len())].clone();
    for _ in 0..6 {
        let f = frame(rng);
        let wire = f.len() as u32;
        out.push((f, wire));
    }
    for _ in 0..8 {
        // Mostly in the headers, where the tests look.
        let mut f = frame(rng);
        for _ in 0..1 + rng.below(4) {
            let span = if rng.below(4) == 0 {
                f.len()
            } else {
                f.len().min(64)
            };
            let i = rng.below(span);
            f[i] = if rng.below(2) == 0 {
                rng.next() as u8
            } else {
                f[i] ^ (1 << rng.below(8))
            };
        }
        let wire = f.len() as u32;
        out.push((f, wire));
    }
    for _ in 0..6 {
        let mut f = frame(rng);
        let wire = f.len() as u32;
        f.truncate(rng.below(f.len().min(80) + 1));
        out.push((f, wire));
    }
    for _ in 0..2 {
        let n = rng.below(80);
        let f: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        out.push((f, n as u32));
    }
    out
}

/// Corpus expressions that compile without names, and combinations of pairs of them.
fn expressions(rng: &mut Rng) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus/ethernet.txt");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let corpus: Vec<&str> = (text.lines().map(str::trim))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut out: Vec<String> = corpus.iter().map(|e| e.to_string()).collect();
    for _ in 0..300 {
        let (a, b) = (
            corpus[rng.below(corpus.len())],
            corpus[rng.below(corpus.len())],
        );
        out.push(match rng.below(3) {
            0 => format!("({a}) and ({b})"),
            1 => format!("({a}) or ({b})"),
            _ => format!("not ({a}) and not ({b})"),
        });
    }
    out
}

/// Whether `pass` may accept where the graph without it ran a load past the end.
fn may_skip_loads(pass: &Pass) -> bool {
    matches!(pass.name, "thread_jumps" | "group_chains")
}

/// The first packet on which `pass` changes `expr`'s verdict, if any.
fn difference(
    pass: &Pass,
    expr: &str,
    before: &[Insn],
    after: &[Insn],
    pkts: &[(Vec<u8>, u32)],
) -> Option<String> {
    let meta = Meta::default();
    for (pkt, wire) in pkts {
        let want = interp::try_run(before, pkt, *wire, &meta);
        let got = interp::run(after, pkt, *wire, &meta);
        if got == want.unwrap_or(0) {
            continue;
        }
        if may_skip_loads(pass) && matches!(want, Err(Abort::OutOfBounds { .. })) {
            continue;
        }
        return Some(format!(
            "{}: {expr:?}: {want:?} before, {got} after, on {} of {wire} bytes {pkt:02x?}",
            pass.name,
            pkt.len()
        ));
    }
    None
}

/// Packets with their length on the wire.
type Packets = [(Vec<u8>, u32)];

/// Checks one expression's graph over packets, counting what each pass changed (by index
/// in `PASSES`) and noting failures.
type Check<'a> = dyn FnMut(&str, &crate::ir::Cfg, &Packets, &mut [usize], &mut Vec<String>) + 'a;

/// Runs `check` over the expressions, then fails with every failure it noted.
fn over_corpus(check: &mut Check) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let frames = frames();
    let (mut compiled, mut changed) = (0, [0usize; PASSES.len()]);
    let mut failures = Vec::new();
    for expr in expressions(&mut rng) {
        // Host and service names fail here; so do no expressions only the optimizer refuses.
        let Ok(cfg) = unoptimized(&expr) else {
            continue;
        };
        compiled += 1;
        let pkts = packets(&mut rng, &frames);
        check(&expr, &cfg, &pkts, &mut changed, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compiled > 1000, "{compiled} expressions");
    for (pass, n) in PASSES.iter().zip(changed) {
        eprintln!("{}: changed {n} of {compiled}", pass.name);
    }
}

fn index(pass: &Pass) -> usize {
    PASSES.iter().position(|p| p.name == pass.name).unwrap()
}

#[test]
fn no_pass_alone_changes_a_verdict() {
    let mut changed_any = [0; PASSES.len()];
    over_corpus(&mut |expr, cfg, pkts, changed, failures| {
        let before = crate::emit::emit(cfg).insns;
        for pass in &PASSES {
            let mut one = cfg.clone();
            if !(pass.run)(&mut one) {
                continue;
            }
            changed[index(pass)] += 1;
            changed_any[index(pass)] += 1;
            let after = crate::emit::emit(&one).insns;
            failures.extend(difference(pass, expr, &before, &after, pkts));
        }
    });
    // Every pass was put to the test, but `bypass_empty`, which has nothing to do on the
    // graph lowering builds (no empty jumps, no test whose edges meet): the next test.
    for (pass, n) in PASSES.iter().zip(changed_any) {
        assert!(
            n > 0 || pass.name == "bypass_empty",
            "{} changed nothing",
            pass.name
        );
    }
}

#[test]
fn no_step_of_the_pipeline_changes_a_verdict() {
    let mut changed_any = [0; PASSES.len()];
    over_corpus(&mut |expr, cfg, pkts, changed, failures| {
        let mut cfg = cfg.clone();
        run(PIPELINE, &mut cfg, &mut |pass, cfg| {
            let before = crate::emit::emit(cfg).insns;
            if !(pass.run)(cfg) {
                return false;
            }
            changed[index(pass)] += 1;
            changed_any[index(pass)] += 1;
            let after = crate::emit::emit(cfg).insns;
            failures.extend(difference(pass, expr, &before, &after, pkts));
            true
        });
    });
    for (pass, n) in PASSES.iter().zip(changed_any) {
        assert!(n > 0, "{} changed nothing", pass.name);
    }
}
