//! Helpers more than one pass uses.

use crate::cbpf;
use crate::ir::{Block, BlockId, Cfg};

/// The outcome of the comparison `jmp k` (K form) on the value `v`; None for an unknown
/// comparison.
pub(super) fn eval(v: u32, jmp: u16, k: u32) -> Option<bool> {
    Some(match jmp & 0xf0 {
        cbpf::JEQ => v == k,
        cbpf::JGT => v > k,
        cbpf::JGE => v >= k,
        cbpf::JSET => v & k != 0,
        _ => return None,
    })
}

/// The distinct predecessors of each block reachable from the entry (unreachable blocks
/// count for nothing).
pub(super) fn predecessors(cfg: &Cfg) -> Vec<Vec<BlockId>> {
    let mut preds = vec![Vec::new(); cfg.blocks.len()];
    for b in crate::emit::layout(cfg) {
        match &cfg.blocks[b] {
            Block::Branch { t, f, .. } => {
                preds[*t].push(b);
                if f != t {
                    preds[*f].push(b);
                }
            }
            Block::Jump { next, .. } => preds[*next].push(b),
            Block::Ret(_) => {}
        }
    }
    preds
}
