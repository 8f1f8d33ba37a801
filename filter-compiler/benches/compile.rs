//! Criterion benchmarks of `filter_compiler::compile` (parse + lower + optimize + emit) over
//! the expressions of bench/exprs.txt: optimizer on and off, offline and kernel Ethernet
//! targets; and `parse` alone for a few of them. No I/O: names come from a small table.
//!
//! Run: `cargo bench -p filter-compiler --bench compile` (add `-- FILTER` to pick benchmarks,
//! e.g. `-- compile/offline/opt`). Measurement time is kept short in code (2 s per benchmark)
//! so the whole set runs in about two minutes on two cores. The comparison with libpcap is
//! bench/compile.sh (which uses the compile_ns bench), not this one.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use filter_compiler::{compile, parse, LinkType, Options, Target};

fn bench_compile(c: &mut Criterion) {
    let exprs = common::exprs();
    let resolver = common::TableResolver;
    for (tname, target) in [
        ("offline", Target::offline(LinkType::En10mb)),
        ("kernel", Target::kernel(LinkType::En10mb)),
    ] {
        for (oname, optimize) in [("opt", true), ("noopt", false)] {
            let opts = Options {
                optimize,
                snaplen: 262144,
                netmask: 0,
                resolver: &resolver,
            };
            let mut g = c.benchmark_group(format!("compile/{tname}/{oname}"));
            for (label, expr) in &exprs {
                if let Err(e) = compile(expr, &target, &opts) {
                    eprintln!("skipping {label} ({tname}, {oname}): {e}");
                    continue;
                }
                g.bench_with_input(BenchmarkId::from_parameter(label), expr.as_str(), |b, e| {
                    b.iter(|| compile(black_box(e), &target, &opts))
                });
            }
            g.finish();
        }
    }
}

fn bench_parse(c: &mut Criterion) {
    let exprs = common::exprs();
    let mut g = c.benchmark_group("parse");
    for (label, expr) in exprs
        .iter()
        .filter(|(l, _)| ["tcp443", "host_web", "synfin_notnet", "hosts20"].contains(&l.as_str()))
    {
        g.bench_with_input(BenchmarkId::from_parameter(label), expr.as_str(), |b, e| {
            b.iter(|| parse::parse(black_box(e)))
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_compile, bench_parse
}
criterion_main!(benches);
