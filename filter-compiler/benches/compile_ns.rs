//! ns per `compile()` for each expression of bench/exprs.txt, measured exactly as
//! bench/pcap_compile_bench.c measures libpcap's `pcap_compile()`, so that bench/compile.sh
//! can put the two side by side from the same run:
//!
//!   one warm-up compile; N doubled from 1 until N compiles take at least `--round-ms`
//!   (default 20 ms); then 5 rounds of N compiles; the best round divided by N.
//!
//! Output, tab-separated on stdout, one line per expression, optimize setting and target:
//!   `label  optimize(1|0)  offline|kernel  ns_per_compile  instructions`
//! (`ERR` and the message in place of the last two when the expression does not compile),
//! then per expression (offline, optimize on) where the time goes:
//!   `phase  label  parse  lower  cfg_build  optimize  emit` (ns; measured as cumulative
//!   prefixes of the pipeline, so each column is a difference of two measurements).
//!
//! Run: `cargo bench -p filter-compiler --bench compile_ns [-- --round-ms N --exprs FILE --no-phases]`.

mod common;

use std::hint::black_box;
use std::time::Instant;

use filter_compiler::{compile, emit, ir, lower, optimize, parse, LinkType, Options, Target};

const ROUNDS: usize = 5;

/// Best-of-5 ns per call of `f`, with N calibrated so a round lasts at least `round_ms`.
fn measure(round_ms: u64, mut f: impl FnMut()) -> f64 {
    f();
    let min_round = round_ms as f64 * 1e6;
    let mut n: u64 = 1;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        let ns = t.elapsed().as_nanos() as f64;
        if ns >= min_round || n >= 1 << 30 {
            break;
        }
        n *= 2;
    }
    let mut best = f64::INFINITY;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64);
    }
    best / n as f64
}

fn main() {
    let mut round_ms = 20u64;
    let mut exprs_file: Option<String> = None;
    let mut phases = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--round-ms" => {
                round_ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--round-ms N")
            }
            "--exprs" => exprs_file = Some(args.next().expect("--exprs FILE")),
            "--no-phases" => phases = false,
            _ => {} // `cargo bench` passes --bench (and maybe a filter); ignore them
        }
    }
    let exprs = match exprs_file {
        Some(path) => {
            common::parse_exprs(&std::fs::read_to_string(&path).expect("read --exprs file"))
        }
        None => common::exprs(),
    };
    let resolver = common::TableResolver;

    for (label, expr) in &exprs {
        for optimize in [true, false] {
            for (tname, target) in [
                ("offline", Target::offline(LinkType::En10mb)),
                ("kernel", Target::kernel(LinkType::En10mb)),
            ] {
                let opts = Options {
                    optimize,
                    snaplen: 262144,
                    netmask: 0,
                    resolver: &resolver,
                };
                match compile(expr, &target, &opts) {
                    Ok(prog) => {
                        let ns = measure(round_ms, || {
                            black_box(compile(black_box(expr), &target, &opts).ok());
                        });
                        println!(
                            "{label}\t{}\t{tname}\t{ns:.0}\t{}",
                            optimize as u8,
                            prog.len()
                        );
                    }
                    Err(e) => println!("{label}\t{}\t{tname}\tERR\t{e}", optimize as u8),
                }
            }
        }
    }

    if !phases {
        return;
    }
    let target = Target::offline(LinkType::En10mb);
    let opts = Options {
        optimize: true,
        snaplen: 262144,
        netmask: 0,
        resolver: &resolver,
    };
    for (label, expr) in &exprs {
        if compile(expr, &target, &opts).is_err() {
            continue;
        }
        // Cumulative prefixes of compile()'s offline pipeline.
        let lower_ = |e: &str| {
            let ast = parse::parse(e).unwrap().unwrap();
            lower::Lower::new(target, &opts).expr(&ast).unwrap()
        };
        let t_parse = measure(round_ms, || {
            black_box(parse::parse(black_box(expr)).ok());
        });
        let t_lower = measure(round_ms, || {
            black_box(lower_(black_box(expr)));
        });
        let t_build = measure(round_ms, || {
            black_box(ir::Cfg::build(&lower_(black_box(expr)), opts.snaplen));
        });
        let t_opt = measure(round_ms, || {
            let mut cfg = ir::Cfg::build(&lower_(black_box(expr)), opts.snaplen);
            optimize::optimize(&mut cfg);
            black_box(emit::layout(&cfg));
        });
        let t_all = measure(round_ms, || {
            black_box(compile(black_box(expr), &target, &opts).ok());
        });
        println!(
            "phase\t{label}\t{t_parse:.0}\t{:.0}\t{:.0}\t{:.0}\t{:.0}",
            t_lower - t_parse,
            t_build - t_lower,
            t_opt - t_build,
            t_all - t_opt
        );
    }
}
