//! Helpers for the passes' unit tests: hand-built graphs, written tersely, and running them.

use crate::cbpf::{self, Insn};
use crate::interp::{self, Meta};
use crate::ir::{Block, BlockId, Cfg};

pub(super) use crate::ir::{ACCEPT, REJECT};

/// `jeq #k`.
pub(super) const EQ: u16 = cbpf::JMP | cbpf::JEQ | cbpf::K;
/// `jgt #k`.
pub(super) const GT: u16 = cbpf::JMP | cbpf::JGT | cbpf::K;
/// `jset #k`.
pub(super) const SET: u16 = cbpf::JMP | cbpf::JSET | cbpf::K;

/// `ldb [k]`.
pub(super) fn ldb(k: u32) -> Insn {
    Insn::stmt(cbpf::LD | cbpf::B | cbpf::ABS, k)
}
/// `ldh [k]`.
pub(super) fn ldh(k: u32) -> Insn {
    Insn::stmt(cbpf::LD | cbpf::H | cbpf::ABS, k)
}
/// `and #k`.
pub(super) fn and(k: u32) -> Insn {
    Insn::stmt(cbpf::ALU | cbpf::AND | cbpf::K, k)
}

/// A graph under construction: blocks 0 and 1 are `ret #0` and `ret #1` (`REJECT`, `ACCEPT`), and
/// each block added gets the next id, so build from the returns up, as lowering does.
pub(super) struct Build {
    cfg: Cfg,
}

impl Build {
    pub(super) fn new() -> Build {
        Build {
            cfg: Cfg {
                blocks: vec![Block::Ret(0), Block::Ret(1)],
                entry: REJECT,
            },
        }
    }

    pub(super) fn push(&mut self, b: Block) -> BlockId {
        self.cfg.blocks.push(b);
        self.cfg.blocks.len() - 1
    }

    /// `stmts; jmp #k, t, f`.
    pub(super) fn test(
        &mut self,
        stmts: &[Insn],
        jmp: u16,
        k: u32,
        t: BlockId,
        f: BlockId,
    ) -> BlockId {
        self.push(Block::Branch {
            stmts: stmts.to_vec(),
            jmp,
            k,
            t,
            f,
            opaque: false,
        })
    }

    /// `stmts; jeq #k, t, f`.
    pub(super) fn eq(&mut self, stmts: &[Insn], k: u32, t: BlockId, f: BlockId) -> BlockId {
        self.test(stmts, EQ, k, t, f)
    }

    /// As `eq`, opaque.
    pub(super) fn opaque_eq(&mut self, stmts: &[Insn], k: u32, t: BlockId, f: BlockId) -> BlockId {
        self.push(Block::Branch {
            stmts: stmts.to_vec(),
            jmp: EQ,
            k,
            t,
            f,
            opaque: true,
        })
    }

    /// `stmts; ja next`.
    pub(super) fn jump(&mut self, stmts: &[Insn], next: BlockId) -> BlockId {
        self.push(Block::Jump {
            stmts: stmts.to_vec(),
            next,
        })
    }

    /// The graph, starting at `entry`.
    pub(super) fn start(mut self, entry: BlockId) -> Cfg {
        self.cfg.entry = entry;
        self.cfg
    }
}

/// The statements and edges of block `b`, a branch.
pub(super) fn branch(cfg: &Cfg, b: BlockId) -> (&[Insn], u16, u32, BlockId, BlockId) {
    match &cfg.blocks[b] {
        Block::Branch {
            stmts,
            jmp,
            k,
            t,
            f,
            ..
        } => (stmts, *jmp, *k, *t, *f),
        other => panic!("block {b} is not a branch: {other:?}"),
    }
}

/// The statements of block `b`.
pub(super) fn stmts(cfg: &Cfg, b: BlockId) -> &[Insn] {
    match &cfg.blocks[b] {
        Block::Branch { stmts, .. } | Block::Jump { stmts, .. } => stmts,
        Block::Ret(_) => &[],
    }
}

/// What the emitted program returns for `pkt` (0 when a load runs past its end).
pub(super) fn verdict(cfg: &Cfg, pkt: &[u8]) -> u32 {
    let prog = crate::emit::emit(cfg);
    interp::run(&prog.insns, pkt, pkt.len() as u32, &Meta::default())
}
