//! One filter's control-flow graph (the optimized IR the classic backend emits from) as eBPF.
//!
//! Classic registers map as in the kernel's own conversion (`bpf_convert_filter()` in
//! net/core/filter.c): A is r0, X is r7, the scratch words M[] live on the stack, r8 is a
//! temporary and r6 holds the context. Arithmetic is 32-bit and comparisons are JMP32, so
//! every value is the classic one. Ancillary loads become reads of `__sk_buff` fields.
//!
//! Packet loads come in two kinds. [`Loads::Exact`] keeps the classic LD_ABS/LD_IND: a load
//! past the end of the packet ends the whole program returning 0, exactly the classic
//! verdict, so it is used for the filter that decides the return value, run last. A rule is
//! run before other code that must still run, so its loads are [`Loads::Guarded`]: they go
//! through bpf_skb_load_bytes, whose error (the bytes are not all in the packet) fails only
//! that rule. That also keeps the verifier's work for each rule small: when it must know how
//! a value came to be (a comparison whose outcome it can tell, as `portrange 0-65535`'s
//! `jge #0`), it cannot look through LD_ABS/LD_IND and gives up pruning states for the rest
//! of the program, but it can through a load from the stack the helper filled.

use super::asm::{Asm, Label};
use super::insn::{self as e, Helper, Insn, Reg, FP, R0, R1, R2, R3, R4, R6, R7, R8};
use super::skb;
use crate::cbpf::{self as c, Insn as CInsn};
use crate::emit::layout;
use crate::ir::{Block, Cfg};

const A: Reg = R0;
const X: Reg = R7;
const TMP: Reg = R8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loads {
    Exact,
    Guarded,
}

/// Where the filter's verdict goes: to `accept` with the accept value in r0, or to `reject`.
pub struct Exits {
    pub accept: Label,
    pub reject: Label,
}

/// Bytes of the packet's start the counting program copies to the stack once, with one
/// helper call: loads at constant offsets inside them read the copy (an LD_ABS is itself a
/// helper call in an eBPF program; the kernel's conversion of a classic one reads inline).
pub const HEAD: u32 = 64;

/// r0 = the big-endian `size` bytes at `base + off + at` of the stack, in host order. The
/// verifier refuses a stack access that is not aligned to its size, so a field that is not
/// (`at`: what `base` adds beyond `off`, modulo 4) is read a byte at a time (clobbers r1).
pub fn load_be(asm: &mut Asm, size: u8, base: Reg, off: i16, at: i16) {
    let bytes = match size {
        e::B => 1,
        e::H => 2,
        _ => 4,
    };
    if (off + at).rem_euclid(bytes) == 0 {
        asm.emit(Insn::ldx(size, R0, base, off));
        match bytes {
            2 => asm.emit(Insn::be16(R0)),
            4 => asm.emit(Insn::be32(R0)),
            _ => {}
        }
        return;
    }
    asm.emit(Insn::ldx(e::B, R0, base, off));
    for i in 1..bytes {
        asm.emit(Insn::alu32_imm(e::LSH, R0, 8));
        asm.emit(Insn::ldx(e::B, R1, base, off + i));
        asm.emit(Insn::alu32_reg(e::OR, R0, R1));
    }
}

/// Where a translated filter keeps things on the stack.
#[derive(Clone, Copy)]
pub struct Frame {
    /// M[0] (M[i] is at `mem + 4 * i`).
    pub mem: i16,
    /// 4 bytes guarded loads read into.
    pub buf: i16,
    /// The copy of the packet's first [`HEAD`] bytes (as many as the packet has), if the
    /// program made one.
    pub head: Option<i16>,
}

/// Emits `cfg`.
pub fn translate(
    asm: &mut Asm,
    cfg: &Cfg,
    loads: Loads,
    frame: Frame,
    exits: &Exits,
) -> Result<(), String> {
    let order = layout(cfg);
    // A jump to a block that returns 0 goes straight to `reject`.
    let labels: Vec<Option<Label>> = (0..cfg.blocks.len())
        .map(|b| match cfg.blocks[b] {
            Block::Ret(0) => None,
            _ => Some(asm.label()),
        })
        .collect();
    let target = |b: usize| labels[b].unwrap_or(exits.reject);
    let emitted: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&b| labels[b].is_some())
        .collect();
    // Classic programs start with A = X = 0.
    asm.emit(Insn::mov32_imm(A, 0));
    asm.emit(Insn::mov32_imm(X, 0));
    let t = Translator {
        loads,
        mem: frame.mem,
        buf: frame.buf,
        head: frame.head,
        reject: exits.reject,
    };
    for (i, &b) in emitted.iter().enumerate() {
        let next = emitted.get(i + 1).copied();
        asm.bind(labels[b].expect("emitted blocks have labels"));
        match &cfg.blocks[b] {
            Block::Ret(k) => {
                asm.emit(Insn::mov32_imm(A, *k as i32));
                asm.goto(exits.accept);
            }
            Block::Jump { stmts, next: n } => {
                t.stmts(asm, stmts)?;
                if next != Some(*n) {
                    asm.goto(target(*n));
                }
            }
            Block::Branch {
                stmts,
                jmp,
                k,
                t: bt,
                f: bf,
                ..
            } => {
                t.stmts(asm, stmts)?;
                let op = match jmp & 0xf0 {
                    c::JEQ => e::JEQ,
                    c::JGT => e::JGT,
                    c::JGE => e::JGE,
                    c::JSET => e::JSET,
                    _ => return Err(format!("unexpected classic jump {jmp:#x}")),
                };
                let by_x = jmp & c::X != 0;
                let cmp = |op: u8| {
                    if by_x {
                        Insn::jmp32_reg(op, A, X)
                    } else {
                        Insn::jmp32_imm(op, A, *k as i32)
                    }
                };
                let inverse = match op {
                    e::JEQ => Some(e::JNE),
                    e::JGT => Some(e::JLE),
                    e::JGE => Some(e::JLT),
                    _ => None,
                };
                match inverse {
                    // Fall through to the true edge when it comes next.
                    Some(inv) if next == Some(*bt) && labels[*bt].is_some() => {
                        asm.jump(cmp(inv), target(*bf));
                    }
                    _ => {
                        asm.jump(cmp(op), target(*bt));
                        if next != Some(*bf) || labels[*bf].is_none() {
                            asm.goto(target(*bf));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

struct Translator {
    loads: Loads,
    mem: i16,
    buf: i16,
    head: Option<i16>,
    reject: Label,
}

fn size_of(code: u16) -> (u8, u32) {
    match code & 0x18 {
        c::B => (e::B, 1),
        c::H => (e::H, 2),
        _ => (e::W, 4),
    }
}

impl Translator {
    fn slot(&self, k: u32) -> Result<i16, String> {
        if k >= c::MEMWORDS {
            return Err(format!("scratch memory slot M[{k}] out of range"));
        }
        Ok(self.mem + 4 * k as i16)
    }

    fn stmts(&self, asm: &mut Asm, stmts: &[CInsn]) -> Result<(), String> {
        for s in stmts {
            self.stmt(asm, s)?;
        }
        Ok(())
    }

    /// A guarded load: A = `bytes` bytes at the offset in r2, in host order; `reject` if
    /// they are not all in the packet (an offset that is negative as an int, which the kernel
    /// reads relative to a header, is past the packet here; the compiler never forms one).
    fn load(&self, asm: &mut Asm, size: u8, bytes: u32) {
        asm.emit(Insn::mov64(R1, R6));
        asm.emit(Insn::mov64(R3, FP));
        asm.emit(Insn::alu64_imm(e::ADD, R3, self.buf as i32));
        asm.emit(Insn::mov64_imm(R4, bytes as i32));
        asm.emit(Insn::call(Helper::SkbLoadBytes));
        asm.jump(Insn::jmp_imm(e::JNE, R0, 0), self.reject);
        load_be(asm, size, FP, self.buf, 0);
    }

    /// A load at the constant offset `k` from the copy of the packet's start, if it lies
    /// there: the packet's length is checked first (as LD_ABS checks it: short, `reject`).
    fn load_from_head(&self, asm: &mut Asm, size: u8, bytes: u32, k: u32) -> bool {
        let Some(head) = self.head else {
            return false;
        };
        if u64::from(k) + u64::from(bytes) > u64::from(HEAD) {
            return false;
        }
        asm.emit(Insn::ldx(e::W, R1, R6, skb::LEN));
        asm.jump(Insn::jmp_imm(e::JLT, R1, (k + bytes) as i32), self.reject);
        load_be(asm, size, FP, head + k as i16, 0);
        true
    }

    /// A guarded load at the constant offset `k`.
    fn load_abs(&self, asm: &mut Asm, size: u8, bytes: u32, k: u32) {
        if k > i32::MAX as u32 {
            // Below SKF_LL_OFF an offset that is negative as an int fails in the kernel too.
            asm.goto(self.reject);
            return;
        }
        asm.emit(Insn::mov64_imm(R2, k as i32));
        self.load(asm, size, bytes);
    }

    fn stmt(&self, asm: &mut Asm, s: &CInsn) -> Result<(), String> {
        let k = s.k;
        match s.class() {
            c::LD => match s.code & 0xe0 {
                c::IMM => asm.emit(Insn::mov32_imm(A, k as i32)),
                c::MEM => asm.emit(Insn::ldx(e::W, A, FP, self.slot(k)?)),
                c::LEN => asm.emit(Insn::ldx(e::W, A, R6, skb::LEN)),
                c::ABS if k >= c::SKF_AD_OFF => {
                    if s.code & 0x18 != c::W {
                        return Err(format!("ancillary load of size {:#x}", s.code & 0x18));
                    }
                    ancillary(asm, A, k - c::SKF_AD_OFF)?;
                }
                c::ABS => {
                    let (size, bytes) = size_of(s.code);
                    if self.load_from_head(asm, size, bytes, k) {
                        return Ok(());
                    }
                    match self.loads {
                        Loads::Exact => asm.emit(Insn::ld_abs(size, k as i32)),
                        Loads::Guarded if k >= c::SKF_LL_OFF => {
                            return Err(format!(
                                "a header-relative load ({k:#x}) in a rule is not supported"
                            ));
                        }
                        Loads::Guarded => self.load_abs(asm, size, bytes, k),
                    }
                }
                c::IND => {
                    let (size, bytes) = size_of(s.code);
                    match self.loads {
                        Loads::Exact => asm.emit(Insn::ld_ind(size, X, k as i32)),
                        Loads::Guarded => {
                            // The offset wraps at 32 bits, as the kernel computes it.
                            asm.emit(Insn::mov32(R2, X));
                            asm.emit(Insn::alu32_imm(e::ADD, R2, k as i32));
                            self.load(asm, size, bytes);
                        }
                    }
                }
                m => return Err(format!("unexpected load mode {m:#x}")),
            },
            c::LDX => match s.code & 0xe0 {
                c::IMM => asm.emit(Insn::mov32_imm(X, k as i32)),
                c::MEM => asm.emit(Insn::ldx(e::W, X, FP, self.slot(k)?)),
                c::LEN => asm.emit(Insn::ldx(e::W, X, R6, skb::LEN)),
                c::MSH => {
                    // X = 4 * (pkt[k] & 0xf), A kept (the kernel's conversion keeps it in
                    // its temporary the same way).
                    asm.emit(Insn::mov64(TMP, A));
                    if !self.load_from_head(asm, e::B, 1, k) {
                        match self.loads {
                            Loads::Exact => asm.emit(Insn::ld_abs(e::B, k as i32)),
                            Loads::Guarded => self.load_abs(asm, e::B, 1, k),
                        }
                    }
                    asm.emit(Insn::alu32_imm(e::AND, A, 0xf));
                    asm.emit(Insn::alu32_imm(e::LSH, A, 2));
                    asm.emit(Insn::mov32(X, A));
                    asm.emit(Insn::mov64(A, TMP));
                }
                m => return Err(format!("unexpected load mode {m:#x}")),
            },
            c::ST => asm.emit(Insn::stx(e::W, FP, self.slot(k)?, A)),
            c::STX => asm.emit(Insn::stx(e::W, FP, self.slot(k)?, X)),
            c::ALU => {
                let op = match s.code & 0xf0 {
                    c::ADD => e::ADD,
                    c::SUB => e::SUB,
                    c::MUL => e::MUL,
                    c::DIV => e::DIV,
                    c::OR => e::OR,
                    c::AND => e::AND,
                    c::LSH => e::LSH,
                    c::RSH => e::RSH,
                    c::NEG => e::NEG,
                    c::MOD => e::MOD,
                    c::XOR => e::XOR,
                    o => return Err(format!("unexpected ALU operation {o:#x}")),
                };
                if op == e::NEG {
                    asm.emit(Insn::alu32_imm(e::NEG, A, 0));
                } else if s.code & c::X != 0 {
                    if op == e::DIV || op == e::MOD {
                        // Classic division by zero ends the program returning 0.
                        asm.jump(Insn::jmp32_imm(e::JEQ, X, 0), self.reject);
                    }
                    asm.emit(Insn::alu32_reg(op, A, X));
                } else {
                    if (op == e::DIV || op == e::MOD) && k == 0 {
                        return Err("division by the constant 0".into());
                    }
                    if (op == e::LSH || op == e::RSH) && k >= 32 {
                        return Err(format!("shift by {k}"));
                    }
                    asm.emit(Insn::alu32_imm(op, A, k as i32));
                }
            }
            c::MISC => match s.code & 0xf8 {
                c::TAX => asm.emit(Insn::mov32(X, A)),
                c::TXA => asm.emit(Insn::mov32(A, X)),
                o => return Err(format!("unexpected misc operation {o:#x}")),
            },
            _ => return Err(format!("unexpected classic instruction {:#x}", s.code)),
        }
        Ok(())
    }
}

/// `dst = ` the ancillary value at `SKF_AD_OFF + off`, from the `__sk_buff` field the kernel's
/// classic conversion reads for it (`convert_bpf_extensions()`).
fn ancillary(asm: &mut Asm, dst: Reg, off: u32) -> Result<(), String> {
    let (field, swap) =
        match off {
            c::SKF_AD_PROTOCOL => (skb::PROTOCOL, true),
            c::SKF_AD_PKTTYPE => (skb::PKT_TYPE, false),
            c::SKF_AD_IFINDEX => (skb::IFINDEX, false),
            c::SKF_AD_MARK => (skb::MARK, false),
            c::SKF_AD_QUEUE => (skb::QUEUE_MAPPING, false),
            c::SKF_AD_RXHASH => (skb::HASH, false),
            c::SKF_AD_VLAN_TAG => (skb::VLAN_TCI, false),
            c::SKF_AD_VLAN_TAG_PRESENT => (skb::VLAN_PRESENT, false),
            c::SKF_AD_VLAN_TPID => (skb::VLAN_PROTO, true),
            c::SKF_AD_HATYPE => return Err(
                "the eBPF backend cannot test the interface's hardware type (no __sk_buff field \
                 holds it)"
                    .into(),
            ),
            o => {
                return Err(format!(
                    "ancillary load SKF_AD_OFF+{o} has no eBPF equivalent"
                ))
            }
        };
    asm.emit(Insn::ldx(e::W, dst, R6, field));
    if swap {
        // The field is in network byte order; classic gives it in host order (ntohs).
        asm.emit(Insn::be16(dst));
    }
    Ok(())
}
