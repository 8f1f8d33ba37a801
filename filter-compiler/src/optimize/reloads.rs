//! Eliding reloads: a block whose every predecessor leaves exactly the value it would compute
//! in A drops its statements (`ldh [12]; jeq #0x86dd` then `jeq #0x800` with no reload), and
//! one whose first statement reloads the pure X load (`ldxb 4*([14]&0xf)`) every predecessor
//! left in X drops that. Tests are self-contained, so this is the one pass that makes a block
//! depend on registers its predecessors set; it runs after the passes that move edges, which
//! rely on tests being self-contained. If one predecessor leaves something else in A (or is
//! the program's start), nothing is dropped.

use super::shared::predecessors;
use crate::cbpf::{self, Insn};
use crate::ir::{Block, Cfg};

/// Drops statements that recompute what every predecessor already left in A (and X).
pub(super) fn elide_reloads(cfg: &mut Cfg) -> bool {
    let mut changed = false;
    let preds = predecessors(cfg);
    // What A holds after each block, named by the statements that computed it.
    let computed: Vec<Option<Vec<Insn>>> = cfg
        .blocks
        .iter()
        .map(|b| match b {
            Block::Branch {
                stmts,
                opaque: false,
                ..
            } if !stmts.is_empty() => Some(stmts.clone()),
            _ => None,
        })
        .collect();
    // A block whose statements were dropped still ends with the same A; its value is the one
    // its predecessors left, which is why `computed` is taken before anything is dropped.
    for b in crate::emit::layout(cfg) {
        if b == cfg.entry {
            continue;
        }
        let Block::Branch {
            stmts,
            opaque: false,
            ..
        } = &cfg.blocks[b]
        else {
            continue;
        };
        if stmts.is_empty() || preds[b].is_empty() {
            continue;
        }
        if preds[b]
            .iter()
            .all(|&p| computed[p].as_deref() == Some(stmts.as_slice()))
        {
            if let Block::Branch { stmts, .. } = &mut cfg.blocks[b] {
                stmts.clear();
                changed = true;
            }
        } else if is_pure_ldx(&stmts[0])
            && preds[b]
                .iter()
                .all(|&p| computed[p].as_deref().and_then(x_after) == Some(stmts[0]))
        {
            // `ldxb 4*([14]&0xf)` again, with X still holding it from every predecessor.
            if let Block::Branch { stmts, .. } = &mut cfg.blocks[b] {
                stmts.remove(0);
                changed = true;
            }
        }
    }
    changed
}

/// X loads that depend on the packet only (not on A or memory).
fn is_pure_ldx(i: &Insn) -> bool {
    i.code == cbpf::LDX | cbpf::B | cbpf::MSH || i.code == cbpf::LDX | cbpf::IMM
}

/// The pure X load that X holds after `stmts`, if the last write of X is one.
fn x_after(stmts: &[Insn]) -> Option<Insn> {
    let writes_x = |i: &Insn| i.code & 0x07 == cbpf::LDX || i.code == cbpf::MISC | cbpf::TAX;
    stmts
        .iter()
        .rev()
        .find(|i| writes_x(i))
        .copied()
        .filter(is_pure_ldx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::testing::*;

    #[test]
    fn drops_a_load_every_predecessor_left_in_a() {
        // `ldh [12]; jeq #0x86dd` then `jeq #0x800`.
        let mut g = Build::new();
        let v4 = g.eq(&[ldh(12)], 0x800, ACCEPT, REJECT);
        let v6 = g.eq(&[ldh(12)], 0x86dd, ACCEPT, v4);
        let mut cfg = g.start(v6);
        let before = cfg.clone();
        assert!(elide_reloads(&mut cfg));
        assert_eq!(stmts(&cfg, v4), &[]);
        // Never the entry's statements: nothing ran before them.
        assert_eq!(stmts(&cfg, v6), &[ldh(12)]);
        for t in [[0x08, 0x00], [0x86, 0xdd], [0x08, 0x06]] {
            let mut pkt = [0u8; 14];
            pkt[12..].copy_from_slice(&t);
            assert_eq!(verdict(&cfg, &pkt), verdict(&before, &pkt));
        }
    }

    #[test]
    fn keeps_a_load_when_one_predecessor_left_something_else() {
        let mut g = Build::new();
        let v4 = g.eq(&[ldh(12)], 0x800, ACCEPT, REJECT);
        let v6 = g.eq(&[ldh(12)], 0x86dd, ACCEPT, v4);
        // This path reaches `v4` with the byte at 23 in A.
        let proto = g.eq(&[ldb(23)], 6, v4, v6);
        let mut cfg = g.start(proto);
        let before = cfg.blocks.clone();
        assert!(!elide_reloads(&mut cfg));
        assert_eq!(cfg.blocks, before);
    }
}
