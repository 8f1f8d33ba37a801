//! Groups the tests of an `or` chain (each false edge leading to the next, every true edge to
//! the same place) or an `and` chain (the other way round) so that tests of the same value
//! are adjacent: `host a or host b` then loads the source address once for both comparisons
//! and the destination address once, as libpcap's `or_pullup` arranges. Only chains whose
//! inner blocks have no other predecessor are reordered, so no other path changes. The order
//! of loads changes, which matters only on truncated packets (as with libpcap).

use super::shared::predecessors;
use crate::cbpf::Insn;
#[cfg(test)]
use crate::ir::BlockId;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::testing::*;

    /// `src 1 or dst 1 or src 2`, as `host a or host b` on addresses.
    fn chain(g: &mut Build) -> [BlockId; 3] {
        let c3 = g.eq(&[ldh(26)], 2, ACCEPT, REJECT);
        let c2 = g.eq(&[ldh(30)], 1, ACCEPT, c3);
        let c1 = g.eq(&[ldh(26)], 1, ACCEPT, c2);
        [c1, c2, c3]
    }

    #[test]
    fn puts_tests_of_the_same_value_side_by_side() {
        let mut g = Build::new();
        let [c1, c2, c3] = chain(&mut g);
        let mut cfg = g.start(c1);
        let before = cfg.clone();
        assert!(group_chains(&mut cfg));
        // The blocks keep their edges; their tests move: src 1, src 2, dst 1.
        assert_eq!(branch(&cfg, c2), (&[ldh(26)][..], EQ, 2, ACCEPT, c3));
        assert_eq!(branch(&cfg, c3), (&[ldh(30)][..], EQ, 1, ACCEPT, REJECT));
        for pkt in [[0u8; 34], [0; 34].map(|_| 1), [0; 34].map(|_| 2)] {
            assert_eq!(verdict(&cfg, &pkt), verdict(&before, &pkt));
        }
        assert!(!group_chains(&mut cfg));
    }

    #[test]
    fn leaves_a_chain_whose_inner_block_has_another_predecessor() {
        let mut g = Build::new();
        let [c1, c2, _] = chain(&mut g);
        // Another path enters the chain at its second test: reordering would change what
        // that path tests.
        let e = g.eq(&[ldb(0)], 9, c2, c1);
        let mut cfg = g.start(e);
        let before = cfg.blocks.clone();
        assert!(!group_chains(&mut cfg));
        assert_eq!(cfg.blocks, before);
    }
}
