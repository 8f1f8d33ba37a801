//! Jump threading. Along an edge where earlier tests already decide a block's test (the same
//! loads compared again, or `A == 0x800` known when `A == 0x86dd` is asked), the edge goes
//! straight to the block's decided successor. Sound because tests are self-contained and a
//! skipped test's loads already ran, successfully, on that path. What is known on each edge
//! is kept as [`Facts`](super::facts::Facts).
//!
//! An edge also skips a block whose outcome cannot matter on that path (both ways lead to
//! the same place), and a test whose value does not depend on the packet. Those skip loads a
//! path would have run: on a truncated packet the result may accept where the unthreaded
//! graph hits the end of the packet and rejects, as with libpcap's optimizer.
//!
//! Opaque blocks (the `protochain` walk, whose tests read registers other blocks set) are
//! never decided, and nothing is known past them.

use super::facts::{meet, Fact, Facts, Sets};
use super::shared::eval;
use crate::cbpf::{self, Insn};
use crate::ir::{Block, BlockId, Cfg};
use rustc_hash::FxHashMap as HashMap;

/// Interns statement lists so facts can name "the value these statements compute".
struct Keys<'a> {
    ids: HashMap<&'a [Insn], usize>,
}

impl<'a> Keys<'a> {
    fn key(&mut self, s: &'a [Insn]) -> usize {
        let n = self.ids.len();
        *self.ids.entry(s).or_insert(n)
    }
}

/// The outcome of a test whose value does not depend on the packet (`ld #k`, `and #0`, as
/// `net 0/0` produces); its loads are skipped, as libpcap's constant folding does.
fn static_outcome(stmts: &[Insn], jmp: u16, k: u32) -> Option<bool> {
    if jmp & cbpf::X != 0 {
        return None;
    }
    let last = stmts.last()?;
    let v = match last.code {
        c if c == cbpf::LD | cbpf::IMM => last.k,
        c if c == cbpf::ALU | cbpf::AND | cbpf::K && last.k == 0 => 0,
        _ => return None,
    };
    eval(v, jmp, k)
}

pub(super) fn thread_jumps(cfg: &mut Cfg) -> bool {
    let order = crate::emit::layout(cfg);
    // Edges are read from the graph as it was and rewritten at the end.
    let blocks = &cfg.blocks;
    let mut keys = Keys {
        ids: HashMap::default(),
    };
    let key_of: Vec<Option<usize>> = blocks
        .iter()
        .map(|b| match b {
            Block::Branch {
                stmts,
                opaque: false,
                ..
            } => Some(keys.key(stmts)),
            _ => None,
        })
        .collect();
    let mut sets: Sets = Vec::new();
    // The program's start is an edge too.
    let mut budget = RESOLVE_BUDGET;
    let start = resolve(
        blocks,
        &key_of,
        &sets,
        cfg.entry,
        &mut Facts::default(),
        &mut budget,
        0,
    );
    let mut changed = start != cfg.entry;
    let mut rewrites: Vec<(BlockId, [BlockId; 2])> = Vec::new();
    let mut jumps: Vec<(BlockId, BlockId)> = Vec::new();
    // Facts on entry to each block: those true on every incoming edge. Only a branch uses
    // them; any other block is just marked reached.
    let mut entry: Vec<Option<Facts>> = (0..blocks.len()).map(|_| None).collect();
    entry[start] = Some(Facts::default());
    for &b in &order {
        // Every predecessor came earlier in this order: the entry facts are final.
        let Some(mut facts) = entry[b].take() else {
            continue;
        };
        let Block::Branch {
            jmp,
            k,
            t,
            f,
            opaque,
            ..
        } = blocks[b]
        else {
            // Past an opaque block or a plain jump nothing is known, but the jump's target
            // may still be a block whose outcome cannot matter.
            if let Block::Jump { next, .. } = blocks[b] {
                let mut budget = RESOLVE_BUDGET;
                let mut edge = Facts::default();
                let to = resolve(blocks, &key_of, &sets, next, &mut edge, &mut budget, 0);
                if to != next {
                    jumps.push((b, to));
                    changed = true;
                }
                if matches!(blocks[to], Block::Branch { .. }) {
                    meet(&mut entry[to], edge, &mut sets);
                } else {
                    entry[to].get_or_insert_with(Facts::default);
                }
            }
            continue;
        };
        let own = key_of[b];
        let mut targets = [t, f];
        // Both edges are resolved on the entry facts, each undoing what it adds, so that the
        // (long) list is copied only when both edges lead to branches.
        let base = facts.len();
        let mut added: [Vec<Fact>; 2] = Default::default();
        for (i, taken) in [true, false].into_iter().enumerate() {
            if let Some(key) = own {
                facts.push(Fact { key, jmp, k, taken });
            }
            let mut budget = RESOLVE_BUDGET;
            let to = resolve(
                blocks,
                &key_of,
                &sets,
                targets[i],
                &mut facts,
                &mut budget,
                0,
            );
            if to != targets[i] {
                targets[i] = to;
                changed = true;
            }
            added[i] = facts.list[base..].to_vec();
            facts.truncate(base);
        }
        if opaque {
            facts = Facts::default();
            added = Default::default();
        }
        let branch = targets.map(|to| matches!(blocks[to], Block::Branch { .. }));
        for (i, added) in added.into_iter().enumerate() {
            if !branch[i] {
                entry[targets[i]].get_or_insert_with(Facts::default);
                continue;
            }
            let mut edge = if i == 0 && branch[1] {
                facts.clone()
            } else {
                std::mem::take(&mut facts)
            };
            for f in added {
                edge.push(f);
            }
            meet(&mut entry[targets[i]], edge, &mut sets);
        }
        if targets != [t, f] {
            rewrites.push((b, targets));
        }
    }
    cfg.entry = start;
    for (b, [nt, nf]) in rewrites {
        if let Block::Branch { t, f, .. } = &mut cfg.blocks[b] {
            (*t, *f) = (nt, nf);
        }
    }
    for (b, to) in jumps {
        if let Block::Jump { next, .. } = &mut cfg.blocks[b] {
            *next = to;
        }
    }
    changed
}

/// How many undecided blocks one edge may look through, and how deeply nested.
const RESOLVE_BUDGET: u32 = 16;
const RESOLVE_DEPTH: u32 = 4;

/// Where an edge carrying `facts` really leads: through blocks the facts decide, and past
/// blocks whose outcome does not matter on this path (both ways end at the same place, as in
/// `port 53 and udp or tcp` once the protocol is known to be TCP). Skipping such a block skips
/// its loads, as libpcap's optimizer does.
fn resolve(
    blocks: &[Block],
    key_of: &[Option<usize>],
    sets: &Sets,
    mut to: BlockId,
    facts: &mut Facts,
    budget: &mut u32,
    depth: u32,
) -> BlockId {
    loop {
        let (Block::Branch { jmp, k, t, f, .. }, Some(key)) = (&blocks[to], key_of[to]) else {
            return to;
        };
        let (jmp, k, t, f) = (*jmp, *k, *t, *f);
        let Block::Branch { stmts, .. } = &blocks[to] else {
            unreachable!()
        };
        if let Some(v) = static_outcome(stmts, jmp, k).or_else(|| facts.decide(sets, key, jmp, k)) {
            facts.push(Fact {
                key,
                jmp,
                k,
                taken: v,
            });
            to = if v { t } else { f };
            continue;
        }
        if *budget == 0 || depth >= RESOLVE_DEPTH {
            return to;
        }
        *budget -= 1;
        // Try both ways on the same fact list, undoing what each pushes.
        let mark = facts.len();
        facts.push(Fact {
            key,
            jmp,
            k,
            taken: true,
        });
        let a = resolve(blocks, key_of, sets, t, facts, budget, depth + 1);
        facts.truncate(mark);
        facts.push(Fact {
            key,
            jmp,
            k,
            taken: false,
        });
        let b = resolve(blocks, key_of, sets, f, facts, budget, depth + 1);
        facts.truncate(mark);
        if a != b {
            return to;
        }
        to = a;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::testing::*;

    #[test]
    fn a_test_decided_on_the_way_is_skipped() {
        let mut g = Build::new();
        let tcp = g.eq(&[ldb(23)], 6, ACCEPT, REJECT);
        let again = g.eq(&[ldh(12)], 0x800, tcp, REJECT);
        let v6 = g.eq(&[ldh(12)], 0x86dd, REJECT, again);
        let v4 = g.eq(&[ldh(12)], 0x800, v6, REJECT);
        let mut cfg = g.start(v4);
        assert!(thread_jumps(&mut cfg));
        // Known 0x800, so not 0x86dd and 0x800 again: straight to the protocol.
        assert_eq!(branch(&cfg, v4).3, tcp);
    }

    #[test]
    fn an_opaque_block_is_never_decided() {
        // An opaque test reads what its walk left in A; the same statements and comparison
        // seen before it decide nothing.
        for opaque in [true, false] {
            let mut g = Build::new();
            let inner = match opaque {
                true => g.opaque_eq(&[ldh(12)], 0x800, ACCEPT, REJECT),
                false => g.eq(&[ldh(12)], 0x800, ACCEPT, REJECT),
            };
            let v4 = g.eq(&[ldh(12)], 0x800, inner, REJECT);
            let mut cfg = g.start(v4);
            assert_eq!(thread_jumps(&mut cfg), !opaque);
            assert_eq!(branch(&cfg, v4).3, if opaque { inner } else { ACCEPT });
        }
    }

    /// `proto in {6, 17, 132} and (p1 or (proto in {6, 17, 132} and p2))`: on the way to the
    /// second protocol test, the first chain's set is known, and testing 132 then 6 false
    /// leaves only 17, so the whole second chain is skipped.
    #[test]
    fn one_of_set_less_excluded_values_decides_a_chain() {
        let proto = [ldb(23)];
        let port = |k| [ldh(k)];
        let mut g = Build::new();
        let p2 = g.eq(&port(36), 68, ACCEPT, REJECT);
        let c3 = g.eq(&proto, 17, p2, REJECT);
        let c2 = g.eq(&proto, 6, p2, c3);
        let c1 = g.eq(&proto, 132, p2, c2);
        let p1 = g.eq(&port(36), 67, ACCEPT, c1);
        let d3 = g.eq(&proto, 17, p1, REJECT);
        let d2 = g.eq(&proto, 6, p1, d3);
        let d1 = g.eq(&proto, 132, p1, d2);
        let mut cfg = g.start(d1);
        assert!(thread_jumps(&mut cfg));
        // p1's false edge now skips the second protocol chain.
        assert_eq!(branch(&cfg, p1).4, p2, "{:?}", cfg.blocks);
    }
}
