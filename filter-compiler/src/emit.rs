//! [`Cfg`] to classic BPF: blocks laid out in reverse creation order (so every jump goes
//! forward), conditional jumps farther than 255 instructions routed through `ja`.

use crate::cbpf::{self, Insn, Program};
use crate::ir::{Block, BlockId, Cfg};

/// Blocks reachable from the entry, in program order.
pub fn layout(cfg: &Cfg) -> Vec<BlockId> {
    // Edges only go to smaller ids: one sweep down from the entry marks everything reachable
    // (every predecessor of a block is seen before it), with no stack.
    let mut seen = vec![false; cfg.entry + 1];
    seen[cfg.entry] = true;
    let mut order = Vec::with_capacity(cfg.entry + 1);
    for b in (0..=cfg.entry).rev() {
        if !seen[b] {
            continue;
        }
        order.push(b);
        match &cfg.blocks[b] {
            Block::Branch { t, f, .. } => {
                seen[*t] = true;
                seen[*f] = true;
            }
            Block::Jump { next, .. } => seen[*next] = true,
            Block::Ret(_) => {}
        }
    }
    order
}

/// How a conditional jump reaches its targets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    Near,
    /// Through a `ja` right after the branch: for the true edge, the false edge, or both.
    FarT,
    FarF,
    FarBoth,
}

pub fn emit(cfg: &Cfg) -> Program {
    let order = layout(cfg);
    let mut reach = vec![Reach::Near; cfg.blocks.len()];
    loop {
        let (start, _) = positions(cfg, &order, &reach);
        let mut changed = false;
        for &b in &order {
            if let Block::Branch { stmts, t, f, .. } = &cfg.blocks[b] {
                let jpos = start[b] + stmts.len();
                let far = |target: BlockId| start[target] - (jpos + 1) > 255;
                let want = match (far(*t), far(*f)) {
                    (false, false) => Reach::Near,
                    (true, false) => Reach::FarT,
                    (false, true) => Reach::FarF,
                    (true, true) => Reach::FarBoth,
                };
                // Only ever grow, so the layout converges.
                let want = match (reach[b], want) {
                    (Reach::Near, w) => w,
                    (r, Reach::Near) => r,
                    (r, w) if r == w => r,
                    _ => Reach::FarBoth,
                };
                if want != reach[b] {
                    reach[b] = want;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let (start, total) = positions(cfg, &order, &reach);
    let mut out = Vec::with_capacity(total);
    for (i, &b) in order.iter().enumerate() {
        match &cfg.blocks[b] {
            Block::Ret(k) => out.push(Insn::stmt(cbpf::RET | cbpf::K, *k)),
            Block::Jump { stmts, next } => {
                out.extend_from_slice(stmts);
                if order.get(i + 1) != Some(next) {
                    let here = out.len();
                    out.push(Insn::stmt(
                        cbpf::JMP | cbpf::JA,
                        (start[*next] - (here + 1)) as u32,
                    ));
                }
            }
            Block::Branch {
                stmts,
                jmp,
                k,
                t,
                f,
                ..
            } => {
                out.extend_from_slice(stmts);
                let here = out.len();
                let rel = |target: BlockId, from: usize| start[target] - (from + 1);
                match reach[b] {
                    Reach::Near => out.push(Insn::jump(
                        *jmp,
                        *k,
                        rel(*t, here) as u8,
                        rel(*f, here) as u8,
                    )),
                    Reach::FarT => {
                        out.push(Insn::jump(*jmp, *k, 0, rel(*f, here) as u8));
                        out.push(Insn::stmt(cbpf::JMP | cbpf::JA, rel(*t, here + 1) as u32));
                    }
                    Reach::FarF => {
                        out.push(Insn::jump(*jmp, *k, rel(*t, here) as u8, 0));
                        out.push(Insn::stmt(cbpf::JMP | cbpf::JA, rel(*f, here + 1) as u32));
                    }
                    Reach::FarBoth => {
                        out.push(Insn::jump(*jmp, *k, 0, 1));
                        out.push(Insn::stmt(cbpf::JMP | cbpf::JA, rel(*t, here + 1) as u32));
                        out.push(Insn::stmt(cbpf::JMP | cbpf::JA, rel(*f, here + 2) as u32));
                    }
                }
            }
        }
    }
    debug_assert_eq!(out.len(), total);
    Program { insns: out }
}

/// Start of each block in the program, and the program's length.
fn positions(cfg: &Cfg, order: &[BlockId], reach: &[Reach]) -> (Vec<usize>, usize) {
    let mut start = vec![0; cfg.blocks.len()];
    let mut pos = 0;
    for (i, &b) in order.iter().enumerate() {
        start[b] = pos;
        pos += match &cfg.blocks[b] {
            Block::Ret(_) => 1,
            Block::Jump { stmts, next } => {
                stmts.len() + usize::from(order.get(i + 1) != Some(next))
            }
            Block::Branch { stmts, .. } => {
                stmts.len()
                    + match reach[b] {
                        Reach::Near => 1,
                        Reach::FarT | Reach::FarF => 2,
                        Reach::FarBoth => 3,
                    }
            }
        };
    }
    (start, pos)
}
