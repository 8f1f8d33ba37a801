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
