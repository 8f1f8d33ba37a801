//! Dead statement removal: a statement whose result no later statement, test or path can
//! read is dropped, when running it cannot end the run (a packet load past the end rejects,
//! a division by X may divide by zero: those stay). `geneve` zeroes its scratch slots first
//! so that no path reads memory it never wrote (the kernel's `check_load_and_stores`); on
//! most filters every path writes them again before any read, and the zeroing goes.
//!
//! A backward liveness analysis of A, X and the 16 scratch words over the graph, which is
//! acyclic with edges only to smaller ids, so one pass in ascending id order is exact.

use crate::cbpf::{self, Insn};
use crate::ir::{Block, Cfg};

/// Bit 0: A; bit 1: X; bit 2 + k: M[k].
type Regs = u32;
const RA: Regs = 1;
const RX: Regs = 2;
const fn mem(k: u32) -> Regs {
    if k < cbpf::MEMWORDS {
        4 << k
    } else {
        // Out of range: the checker rejects it; treat as touching nothing we track.
        0
    }
}

/// What a statement reads and writes, and whether dropping it is safe when what it writes
/// is dead (it cannot abort the run).
fn effect(i: &Insn) -> (Regs, Regs, bool) {
    use cbpf::*;
    let k = i.k;
    match i.code & 0x07 {
        LD => match i.code & 0xe0 {
            ABS if k >= SKF_AD_OFF => (RA | RX, RA, false),
            ABS => (0, RA, false),
            IND => (RX, RA, false),
            MEM => (mem(k), RA, true),
            _ => (0, RA, true), // IMM, LEN
        },
        LDX => match i.code & 0xe0 {
            MSH => (0, RX, false),
            MEM => (mem(k), RX, true),
            _ => (0, RX, true),
        },
        ST => (RA, mem(k), true),
        STX => (RX, mem(k), true),
        ALU => {
            let op = i.code & 0xf0;
            if op == NEG {
                (RA, RA, true)
            } else if i.code & X != 0 {
                (RA | RX, RA, op != DIV && op != MOD)
            } else {
                (RA, RA, !((op == DIV || op == MOD) && k == 0))
            }
        }
        MISC if i.code & 0xf8 == TXA => (RX, RA, true),
        MISC => (RA, RX, true),
        // No jumps or returns among a block's statements.
        _ => (RA | RX | !0 << 2, 0, false),
    }
}

/// Drops dead statements; returns whether any went.
pub fn remove(cfg: &mut Cfg) -> bool {
    let mut live_in: Vec<Regs> = vec![0; cfg.blocks.len()];
    let mut reached = crate::emit::layout(cfg);
    // Successors have smaller ids: ascending order sees them first.
    reached.sort_unstable();
    let mut changed = false;
    for b in reached {
        let (stmts, mut live) = match &mut cfg.blocks[b] {
            Block::Ret(_) => continue,
            Block::Jump { stmts, next } => (stmts, live_in[*next]),
            Block::Branch {
                stmts, jmp, t, f, ..
            } => {
                let uses = if *jmp & cbpf::X != 0 { RA | RX } else { RA };
                (stmts, live_in[*t] | live_in[*f] | uses)
            }
        };
        let before = stmts.len();
        let mut keep = vec![true; stmts.len()];
        for (n, i) in stmts.iter().enumerate().rev() {
            let (uses, defs, droppable) = effect(i);
            if droppable && defs & live == 0 {
                keep[n] = false;
                continue;
            }
            live = (live & !defs) | uses;
        }
        let mut it = keep.iter();
        stmts.retain(|_| *it.next().unwrap());
        changed |= stmts.len() != before;
        live_in[b] = live;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbpf::*;
    use crate::ir::{ACCEPT, REJECT};

    fn s(code: u16, k: u32) -> Insn {
        Insn::stmt(code, k)
    }

    #[test]
    fn stores_never_read_go_and_loads_that_may_fail_stay() {
        // M[2] is never read; M[1] is, through X, by a load that may fail.
        let mut cfg = Cfg {
            blocks: vec![Block::Ret(0), Block::Ret(1)],
            entry: 0,
        };
        cfg.blocks.push(Block::Branch {
            stmts: vec![s(LD | W | ABS, 26), s(ST, 1), s(LD | MEM, 1)],
            jmp: JMP | JEQ | K,
            k: 7,
            t: ACCEPT,
            f: REJECT,
            opaque: false,
        });
        cfg.blocks.push(Block::Jump {
            stmts: vec![
                s(LD | IMM, 0),
                s(ST, 1),
                s(ST, 2),
                s(LDX | MEM, 1),
                s(LD | B | IND, 4),
                s(LD | H | ABS, 12),
            ],
            next: 2,
        });
        cfg.entry = 3;
        assert!(remove(&mut cfg));
        let Block::Jump { stmts, .. } = &cfg.blocks[3] else {
            unreachable!()
        };
        // `ldb [x+4]` may fail, so it stays with the X it reads; the loads into A whose value
        // is never used do not.
        assert_eq!(
            stmts,
            &vec![
                s(LD | IMM, 0),
                s(ST, 1),
                s(LDX | MEM, 1),
                s(LD | B | IND, 4),
                s(LD | H | ABS, 12)
            ]
        );
        assert!(!remove(&mut cfg));
    }

    #[test]
    fn a_store_read_on_one_path_only_stays() {
        let mut g = crate::optimize::testing::Build::new();
        let reads = g.eq(&[s(LD | MEM, 1)], 7, ACCEPT, REJECT);
        // Stores M[1], then either reads it back or not.
        let entry = g.eq(&[s(LD | B | ABS, 23), s(ST, 1)], 6, reads, ACCEPT);
        let mut cfg = g.start(entry);
        let before = cfg.blocks.clone();
        assert!(!remove(&mut cfg));
        assert_eq!(cfg.blocks, before);
    }
}
