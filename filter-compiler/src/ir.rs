//! The compiler's intermediate forms.
//!
//! [`Bool`] is what lowering produces: a boolean formula whose leaves are [`Test`]s, each a
//! straight-line run of classic BPF statements that leaves a value in A, then one comparison.
//! Tests are self-contained (they never rely on registers set by another test), which is what
//! lets the optimizer skip, merge and reorder edges freely.
//!
//! [`Cfg`] is the control-flow graph built from a formula with short-circuit evaluation:
//! blocks with a true and a false edge, ending in two returns. Edges only go to blocks built
//! earlier, so the emitted program jumps forward only.

use crate::cbpf::{self, Insn};
use std::rc::Rc;

/// One comparison: run `stmts`, then compare A (or X, for `jmp & X`) with `k`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Test {
    pub stmts: Vec<Insn>,
    /// `JMP | JEQ/JGT/JGE/JSET | K/X`.
    pub jmp: u16,
    pub k: u32,
}

impl Test {
    pub fn new(stmts: Vec<Insn>, jmp: u16, k: u32) -> Test {
        Test { stmts, jmp, k }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Bool {
    Const(bool),
    Test(Rc<Test>),
    And(Box<Bool>, Box<Bool>),
    Or(Box<Bool>, Box<Bool>),
    Not(Box<Bool>),
    /// A bounded walk that carries registers between its blocks (`protochain`); built as a
    /// unit and never split by the optimizer.
    Chain(Rc<ChainWalk>),
    /// Statements run for their effect on scratch memory (the offsets `geneve` finds for the
    /// tests after it); always true.
    Effect(Rc<Vec<Insn>>),
}

/// `protochain`: starting from a header whose protocol number is loaded by `start`, follow
/// extension headers for at most `steps` headers, matching when the protocol is `proto`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainWalk {
    /// Statements leaving the first next-header value in A and the offset of the header that
    /// follows, relative to `base`, in X.
    pub start: Vec<Insn>,
    /// Offset that X-relative loads add (the network-layer offset).
    pub base: u32,
    pub proto: u32,
    /// IPv6 (hop-by-hop, routing, fragment, destination options, AH) or IPv4 (AH only).
    pub v6: bool,
    pub steps: u32,
}

impl Bool {
    pub fn test(stmts: Vec<Insn>, jmp: u16, k: u32) -> Bool {
        Bool::Test(Rc::new(Test::new(stmts, jmp, k)))
    }
    pub fn and(self, other: Bool) -> Bool {
        match (self, other) {
            (Bool::Const(false), _) => Bool::Const(false),
            (Bool::Const(true), b) => b,
            // `a and false` still runs a's loads, which may reject the packet (libpcap's
            // unoptimized code does); the optimizer skips them, as libpcap's does.
            (a, Bool::Const(true)) => a,
            (a, b) => Bool::And(Box::new(a), Box::new(b)),
        }
    }
    pub fn or(self, other: Bool) -> Bool {
        match (self, other) {
            (Bool::Const(true), _) => Bool::Const(true),
            (Bool::Const(false), b) => b,
            (a, Bool::Const(false)) => a,
            // `a or true` likewise keeps a's loads.
            (a, b) => Bool::Or(Box::new(a), Box::new(b)),
        }
    }
    pub fn not(self) -> Bool {
        match self {
            Bool::Const(v) => Bool::Const(!v),
            Bool::Not(b) => *b,
            b => Bool::Not(Box::new(b)),
        }
    }
    pub fn all(items: impl IntoIterator<Item = Bool>) -> Bool {
        items.into_iter().fold(Bool::Const(true), Bool::and)
    }
    pub fn any(items: impl IntoIterator<Item = Bool>) -> Bool {
        items.into_iter().fold(Bool::Const(false), Bool::or)
    }
}

pub type BlockId = usize;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Block {
    /// Run `stmts`, compare, go to `t` or `f`.
    Branch {
        stmts: Vec<Insn>,
        jmp: u16,
        k: u32,
        t: BlockId,
        f: BlockId,
        opaque: bool,
    },
    /// Run `stmts`, then go to `next` unconditionally (only inside opaque walks).
    Jump {
        stmts: Vec<Insn>,
        next: BlockId,
    },
    Ret(u32),
}

/// Blocks in creation order; `entry` is where the program starts. A block only ever points
/// to blocks with smaller ids.
#[derive(Clone, Debug)]
pub struct Cfg {
    pub blocks: Vec<Block>,
    pub entry: BlockId,
}

pub const REJECT: BlockId = 0;
pub const ACCEPT: BlockId = 1;

impl Cfg {
    /// Builds the graph for `b`, accepting with `snaplen`.
    pub fn build(b: &Bool, snaplen: u32) -> Cfg {
        let mut cfg = Cfg {
            blocks: vec![Block::Ret(0), Block::Ret(snaplen)],
            entry: 0,
        };
        cfg.entry = cfg.lower(b, ACCEPT, REJECT);
        cfg
    }

    fn push(&mut self, b: Block) -> BlockId {
        self.blocks.push(b);
        self.blocks.len() - 1
    }

    fn lower(&mut self, b: &Bool, t: BlockId, f: BlockId) -> BlockId {
        match b {
            Bool::Const(true) => t,
            Bool::Const(false) => f,
            Bool::Test(x) => self.push(Block::Branch {
                stmts: x.stmts.clone(),
                jmp: x.jmp,
                k: x.k,
                t,
                f,
                opaque: false,
            }),
            Bool::And(a, b) => {
                let rb = self.lower(b, t, f);
                self.lower(a, rb, f)
            }
            Bool::Or(a, b) => {
                let rb = self.lower(b, t, f);
                self.lower(a, t, rb)
            }
            Bool::Not(a) => self.lower(a, f, t),
            Bool::Chain(w) => self.chain(w, t, f),
            Bool::Effect(stmts) => self.push(Block::Jump {
                stmts: stmts.to_vec(),
                next: t,
            }),
        }
    }

    /// Unrolled header walk: every step is forward-only. Registers at step `i`: A = the
    /// protocol of the current header, X = its offset from the step's base `base + 8 * i`.
    /// Every header the walk steps over is at least 8 bytes long (IPv6 extension headers:
    /// `([x + 1] + 1) * 8`; AH: `([x + 1] + 2) * 4`), so those 8 bytes are folded into the
    /// next step's base and the work left per header is `X += [x + 1] << 3` (or `<< 2` for
    /// AH), shared by both kinds, with A = `[x]`, the next protocol, read before X moves.
    /// A step is 15 instructions for IPv6, 8 for IPv4 (which follows AH only, as libpcap's
    /// walk does); a protocol that is neither `proto` nor a header the walk follows (59, no
    /// next header, among them) ends the walk with no match.
    fn chain(&mut self, w: &ChainWalk, t: BlockId, f: BlockId) -> BlockId {
        use cbpf::*;
        // `A == k ? yes : no`, opaque to the optimizer.
        let is = |cfg: &mut Cfg, k: u32, yes: BlockId, no: BlockId| {
            cfg.push(Block::Branch {
                stmts: vec![],
                jmp: JMP | JEQ | K,
                k,
                t: yes,
                f: no,
                opaque: true,
            })
        };
        // Inside a step, a test for `proto` itself could never be true (the test before the
        // step took it), so it is left out: shorter, and the eBPF verifier would see its
        // outcome as known, which makes it stop pruning states (`ip6 protochain 0` took it
        // 350,000 steps instead of 10,000).
        let in_step = |cfg: &mut Cfg, k: u32, yes: BlockId, no: BlockId| {
            if k == w.proto {
                no
            } else {
                is(cfg, k, yes, no)
            }
        };
        // After the last step, whatever A holds is the final verdict.
        let mut next = is(self, w.proto, t, f);
        // Built from the last step back to the first, so that every edge goes forward.
        for i in (0..w.steps).rev() {
            let base = w.base + 8 * i;
            // A = the length past the 8 bytes, in bytes: X + A is the next header's offset
            // from the next step's base. Save it, read the next protocol at the old X.
            // M[0] is only a temporary within this block (as relations use their slots
            // within one test), so it is free here.
            let advance = self.push(Block::Jump {
                stmts: vec![
                    Insn::stmt(ALU | ADD | X, 0),
                    Insn::stmt(ST, 0),
                    Insn::stmt(LD | B | IND, base),
                    Insn::stmt(LDX | MEM, 0),
                ],
                next,
            });
            let length = |cfg: &mut Cfg, shift: u32| {
                cfg.push(Block::Jump {
                    stmts: vec![
                        Insn::stmt(LD | B | IND, base + 1),
                        Insn::stmt(ALU | LSH | K, shift),
                    ],
                    next: advance,
                })
            };
            // AH: length in 4-byte words, minus 2. Laid out right before `advance`.
            let ah = length(self, 2);
            let mut step = in_step(self, 51, ah, f);
            if w.v6 {
                // Hop-by-hop, routing, fragment, destination options: length in 8-byte
                // units, minus 1 (fragment headers have 0 there: 8 bytes).
                let ext = length(self, 3);
                for p in [44u32, 43, 60, 0] {
                    step = in_step(self, p, ext, step);
                }
            }
            next = is(self, w.proto, t, step);
        }
        self.push(Block::Jump {
            stmts: w.start.clone(),
            next,
        })
    }
}
