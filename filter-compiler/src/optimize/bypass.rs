//! Bypassing statement-free blocks: edges into a jump with no statements go straight to where
//! it leads, and a test whose two edges meet becomes a jump (its loads still run: they may
//! reject the packet). Such blocks appear once `dead_code` empties a jump (geneve's zeroing of
//! its slots), or once merging makes both edges of a test lead to the same block. Only
//! `ja`s and pointless comparisons go; every statement stays, so every packet gets the same
//! verdict.

use crate::ir::{Block, BlockId, Cfg};

/// Bypasses every statement-free jump and turns tests whose edges meet into jumps; returns
/// whether any edge or block changed.
pub(super) fn bypass_empty(cfg: &mut Cfg) -> bool {
    let mut changed = false;
    let mut order = crate::emit::layout(cfg);
    order.sort_unstable();
    for b in order {
        let skip = |blocks: &[Block], to: BlockId| match &blocks[to] {
            Block::Jump { stmts, next } if stmts.is_empty() => *next,
            _ => to,
        };
        let block = match &cfg.blocks[b] {
            Block::Branch {
                stmts,
                jmp,
                k,
                t,
                f,
                opaque,
            } => {
                let (t, f) = (skip(&cfg.blocks, *t), skip(&cfg.blocks, *f));
                if t == f && !opaque {
                    Block::Jump {
                        stmts: stmts.clone(),
                        next: t,
                    }
                } else {
                    Block::Branch {
                        stmts: stmts.clone(),
                        jmp: *jmp,
                        k: *k,
                        t,
                        f,
                        opaque: *opaque,
                    }
                }
            }
            Block::Jump { stmts, next } => Block::Jump {
                stmts: stmts.clone(),
                next: skip(&cfg.blocks, *next),
            },
            Block::Ret(_) => continue,
        };
        changed |= cfg.blocks[b] != block;
        cfg.blocks[b] = block;
    }
    let entry = skip_entry(cfg);
    changed |= entry != cfg.entry;
    cfg.entry = entry;
    changed
}

fn skip_entry(cfg: &Cfg) -> BlockId {
    match &cfg.blocks[cfg.entry] {
        Block::Jump { stmts, next } if stmts.is_empty() => *next,
        _ => cfg.entry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::testing::*;

    #[test]
    fn edges_skip_empty_jumps_and_tests_whose_edges_meet_become_jumps() {
        let mut g = Build::new();
        let empty = g.jump(&[], ACCEPT);
        let meets = g.eq(&[ldb(0)], 1, empty, ACCEPT);
        let b = g.eq(&[ldh(12)], 0x800, meets, empty);
        let mut cfg = g.start(b);
        assert!(bypass_empty(&mut cfg));
        // The test's load stays: it may reject a short packet.
        assert_eq!(
            cfg.blocks[meets],
            Block::Jump {
                stmts: vec![ldb(0)],
                next: ACCEPT
            }
        );
        assert_eq!(branch(&cfg, b), (&[ldh(12)][..], EQ, 0x800, meets, ACCEPT));
        assert!(!bypass_empty(&mut cfg));
    }

    #[test]
    fn keeps_jumps_with_statements_and_opaque_tests() {
        let mut g = Build::new();
        let work = g.jump(&[ldb(0)], ACCEPT);
        // An opaque test's comparison belongs to a walk: it stays even when pointless.
        let opaque = g.opaque_eq(&[], 1, work, work);
        let b = g.eq(&[ldh(12)], 0x800, opaque, work);
        let mut cfg = g.start(b);
        let before = cfg.blocks.clone();
        assert!(!bypass_empty(&mut cfg));
        assert_eq!(cfg.blocks, before);
    }
}
