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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::testing::*;

    #[test]
    fn mask_then_jeq_0_becomes_jset_with_edges_swapped() {
        let mut g = Build::new();
        let b = g.eq(&[ldh(20), and(0x1fff)], 0, ACCEPT, REJECT);
        let mut cfg = g.start(b);
        let before = cfg.clone();
        assert!(masks_to_jset(&mut cfg));
        assert_eq!(
            branch(&cfg, b),
            (&[ldh(20)][..], SET, 0x1fff, REJECT, ACCEPT)
        );
        for frag in [0u8, 1, 0x20, 0x40] {
            let mut pkt = [0u8; 22];
            pkt[21] = frag;
            assert_eq!(verdict(&cfg, &pkt), verdict(&before, &pkt));
        }
    }

    #[test]
    fn only_a_mask_right_before_jeq_0() {
        let mut g = Build::new();
        let eq1 = g.eq(&[ldh(20), and(0x1fff)], 1, ACCEPT, REJECT);
        let gt0 = g.test(&[ldh(20), and(0x1fff)], GT, 0, eq1, REJECT);
        let not_last = g.eq(&[and(0x1fff), ldh(20)], 0, gt0, REJECT);
        let opaque = g.opaque_eq(&[ldh(20), and(0x1fff)], 0, not_last, REJECT);
        let mut cfg = g.start(opaque);
        let before = cfg.blocks.clone();
        assert!(!masks_to_jset(&mut cfg));
        assert_eq!(cfg.blocks, before);
    }
}
