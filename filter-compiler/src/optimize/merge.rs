//! Merging identical blocks: two blocks with the same statements, comparison and successors
//! compute the same thing and go to the same places, so every edge to one can go to the
//! other. Blocks that differ only in their successors (even two `ret`s apart) stay apart.
//! Merging makes more of the graph shared, which is what lets `elide_reloads` and jump
//! threading see one block where there were copies.

use crate::ir::{Block, BlockId, Cfg};
use rustc_hash::FxHashMap as HashMap;

/// Merges blocks with identical content and successors; the lower id survives, so edges
/// still only point backwards in creation order.
pub(super) fn merge_identical(cfg: &mut Cfg) -> bool {
    // In ascending id order a block's successors are settled before it is looked at, so
    // blocks that become identical once their successors merge are found in the same pass.
    let mut live = crate::emit::layout(cfg);
    live.sort_unstable();
    let mut remap: Vec<BlockId> = (0..cfg.blocks.len()).collect();
    let mut first: HashMap<Block, BlockId> = HashMap::default();
    let mut changed = false;
    for b in live {
        match &mut cfg.blocks[b] {
            Block::Branch { t, f, .. } => {
                *t = remap[*t];
                *f = remap[*f];
            }
            Block::Jump { next, .. } => *next = remap[*next],
            Block::Ret(_) => {}
        }
        match first.get(&cfg.blocks[b]) {
            Some(&keep) => {
                remap[b] = keep;
                changed = true;
            }
            None => {
                first.insert(cfg.blocks[b].clone(), b);
            }
        }
    }
    cfg.entry = remap[cfg.entry];
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::testing::*;

    #[test]
    fn merges_blocks_with_the_same_content_and_successors() {
        let mut g = Build::new();
        let a = g.eq(&[ldh(12)], 0x800, ACCEPT, REJECT);
        let b = g.eq(&[ldh(12)], 0x800, ACCEPT, REJECT);
        let c = g.eq(&[ldb(0)], 1, a, b);
        let mut cfg = g.start(c);
        assert!(merge_identical(&mut cfg));
        // The lower id survives.
        assert_eq!(branch(&cfg, c).3, a);
        assert_eq!(branch(&cfg, c).4, a);
        assert!(!merge_identical(&mut cfg));
    }

    #[test]
    fn keeps_apart_blocks_with_different_successors() {
        let mut g = Build::new();
        let a = g.eq(&[ldh(12)], 0x800, ACCEPT, REJECT);
        let b = g.eq(&[ldh(12)], 0x800, REJECT, ACCEPT);
        let c = g.eq(&[ldb(0)], 1, a, b);
        let mut cfg = g.start(c);
        let before = cfg.blocks.clone();
        assert!(!merge_identical(&mut cfg));
        assert_eq!(cfg.blocks, before);
    }
}
