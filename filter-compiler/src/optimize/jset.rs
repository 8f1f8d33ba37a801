//! Masks to `jset`: a test `and #m; jeq #0` is `jset #m` with its edges swapped, one
//! instruction fewer. Only that exact shape: the mask must be the block's last statement and
//! the comparison `jeq #0` with a constant (a `jeq #v` for another `v`, or `jgt #0`, is not a
//! bit test), and never in an opaque block, whose A other blocks may read.

use crate::cbpf;
use crate::ir::{Block, Cfg};

/// Rewrites every such test; returns whether there was one.
pub(super) fn masks_to_jset(cfg: &mut Cfg) -> bool {
    let mut changed = false;
    for b in crate::emit::layout(cfg) {
        if let Block::Branch {
            stmts,
            jmp,
            k,
            t,
            f,
            opaque: false,
        } = &mut cfg.blocks[b]
        {
            let masked = stmts
                .last()
                .is_some_and(|i| i.code == cbpf::ALU | cbpf::AND | cbpf::K);
            if masked && *jmp == cbpf::JMP | cbpf::JEQ | cbpf::K && *k == 0 {
                let mask = stmts.pop().unwrap().k;
                *jmp = cbpf::JMP | cbpf::JSET | cbpf::K;
                *k = mask;
                std::mem::swap(t, f);
                changed = true;
            }
        }
    }
    changed
}
