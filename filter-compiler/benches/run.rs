//! Criterion benchmarks of running compiled programs over packets: the reference interpreter
//! (`interp::run`) against the decoded form bpfdump -r uses (`vm::Vm::run`), for a few of the
//! expressions of bench/exprs.txt, over every packet of captures/sample.pcap (time per pass
//! over all of them; the packets mix TCP, UDP, ICMP, IPv6, VLAN, ARP and more).
//!
//! Run: `cargo bench -p filter-compiler --bench run` (about 30 s; `-- vm` or `-- interp` to
//! pick one side).

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use filter_compiler::interp::{self, Meta};
use filter_compiler::vm::Vm;
use filter_compiler::{compile, LinkType, Options, Target};

const SAMPLE: &[u8] = include_bytes!("../../captures/sample.pcap");

/// (captured bytes, wire length) of each record of a little-endian microsecond pcap file.
fn packets(file: &[u8]) -> Vec<(Vec<u8>, u32)> {
    let u32_at = |o: usize| u32::from_le_bytes(file[o..o + 4].try_into().unwrap());
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let (caplen, len) = (u32_at(at + 8) as usize, u32_at(at + 12));
        out.push((file[at + 16..at + 16 + caplen].to_vec(), len));
        at += 16 + caplen;
    }
    out
}

fn bench_run(c: &mut Criterion) {
    let pkts = packets(SAMPLE);
    let resolver = common::TableResolver;
    let opts = Options {
        optimize: true,
        snaplen: 262144,
        netmask: 0,
        resolver: &resolver,
    };
    let target = Target::offline(LinkType::En10mb);
    let meta = Meta::default();
    let picked = ["tcp443", "host_web", "udp_not53", "vlan_net", "hosts20"];
    for (label, expr) in common::exprs()
        .iter()
        .filter(|(l, _)| picked.contains(&l.as_str()))
    {
        let prog = compile(expr, &target, &opts).expect("bench expression compiles");
        let vm = Vm::new(&prog.insns);
        // Same verdicts, or the comparison means nothing.
        for (p, len) in &pkts {
            assert_eq!(
                vm.run(p, *len, &meta),
                interp::run(&prog.insns, p, *len, &meta)
            );
        }
        let mut g = c.benchmark_group(format!("run/{label}"));
        g.bench_with_input(BenchmarkId::from_parameter("interp"), &pkts, |b, pkts| {
            b.iter(|| {
                pkts.iter()
                    .filter(|(p, len)| interp::run(&prog.insns, black_box(p), *len, &meta) != 0)
                    .count()
            })
        });
        g.bench_with_input(BenchmarkId::from_parameter("vm"), &pkts, |b, pkts| {
            b.iter(|| {
                pkts.iter()
                    .filter(|(p, len)| vm.run(black_box(p), *len, &meta) != 0)
                    .count()
            })
        });
        g.finish();
    }
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
    targets = bench_run
}
criterion_main!(benches);
