//! Groups the tests of an `or` chain (each false edge leading to the next, every true edge to
//! the same place) or an `and` chain (the other way round) so that tests of the same value
//! are adjacent: `host a or host b` then loads the source address once for both comparisons
//! and the destination address once, as libpcap's `or_pullup` arranges. Only chains whose
//! inner blocks have no other predecessor are reordered, so no other path changes. The order
//! of loads changes, which matters only on truncated packets (as with libpcap).

use super::shared::predecessors;
use crate::cbpf::Insn;
use crate::ir::{Block, Cfg};
use rustc_hash::FxHashMap as HashMap;

pub(super) fn group_chains(cfg: &mut Cfg) -> bool {
    let preds = predecessors(cfg);
    let mut changed = false;
    let mut done = vec![false; cfg.blocks.len()];
    for start in crate::emit::layout(cfg) {
        for or_chain in [true, false] {
            if done[start] {
                break;
            }
            // Follow the chain from `start`.
            let mut chain = vec![start];
            let shared = |b: &Block| match b {
                Block::Branch {
                    t,
                    f,
                    opaque: false,
                    ..
                } => Some(if or_chain { *t } else { *f }),
                _ => None,
            };
            let next = |b: &Block| match b {
                Block::Branch { t, f, .. } => {
                    if or_chain {
                        *f
                    } else {
                        *t
                    }
                }
                _ => unreachable!(),
            };
            let Some(target) = shared(&cfg.blocks[start]) else {
                break;
            };
            loop {
                let n = next(&cfg.blocks[*chain.last().unwrap()]);
                if shared(&cfg.blocks[n]) != Some(target) || preds[n].len() != 1 || done[n] {
                    break;
                }
                chain.push(n);
            }
            if chain.len() < 3 {
                continue;
            }
            // The tests, grouped by the value they compare, groups in order of first use.
            let tests: Vec<(Vec<Insn>, u16, u32)> = chain
                .iter()
                .map(|&b| match &cfg.blocks[b] {
                    Block::Branch { stmts, jmp, k, .. } => (stmts.clone(), *jmp, *k),
                    _ => unreachable!(),
                })
                .collect();
            let mut order: Vec<usize> = (0..tests.len()).collect();
            // (A map, not a search per test: chains run to thousands of tests.)
            let mut first: HashMap<&[Insn], usize> = HashMap::default();
            let first_use: Vec<usize> = (tests.iter().enumerate())
                .map(|(i, t)| *first.entry(&t.0).or_insert(i))
                .collect();
            order.sort_by_key(|&i| first_use[i]);
            if order.iter().enumerate().any(|(pos, &i)| pos != i) {
                changed = true;
                for (&b, &i) in chain.iter().zip(&order) {
                    if let Block::Branch { stmts, jmp, k, .. } = &mut cfg.blocks[b] {
                        (*stmts, *jmp, *k) = tests[i].clone();
                    }
                }
            }
            for &b in &chain {
                done[b] = true;
            }
        }
    }
    changed
}
