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
    // The first block of each content, by the content's hash (blocks are compared in
    // place, not cloned into the map): ids with that hash, in order.
    let mut first: HashMap<u64, Vec<BlockId>> = HashMap::default();
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
        let ids = first.entry(hash_of(&cfg.blocks[b])).or_default();
        match ids.iter().find(|&&k| cfg.blocks[k] == cfg.blocks[b]) {
            Some(&keep) => {
                remap[b] = keep;
                changed = true;
            }
            None => ids.push(b),
        }
    }
    cfg.entry = remap[cfg.entry];
    changed
}

fn hash_of(b: &Block) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(b)
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
