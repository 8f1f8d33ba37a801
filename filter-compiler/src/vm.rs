//! A classic BPF program decoded once, to be run over many packets (reading a capture
//! file): the same results as [`interp::run`], at a fraction of its cost per packet.
//!
//! [`interp`] is the reference: it decodes each instruction as it meets it, checks every
//! case the kernel does, and says why a run stopped. Here the decoding is done up front:
//! each instruction becomes an [`Op`] with its operand and absolute jump targets, jumps out
//! of the program and instructions the checker would reject become [`Op::Reject`], and the
//! run itself only does what the packet needs (a bounds check per load). Header-relative
//! and ancillary loads read socket metadata with the kernel's rules; a program or packet
//! that needs them is handed to [`interp::run`] whole ([`Op::Reference`]), which is exact
//! as a run has no side effects.

use crate::cbpf::{self, Insn};
use crate::interp::{self, ops::*, Meta};

/// One decoded instruction. Jump targets are absolute indices into the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    LdW(u32),
    LdH(u32),
    LdB(u32),
    LdIndW(u32),
    LdIndH(u32),
    LdIndB(u32),
    LdLen,
    LdImm(u32),
    LdMem(u8),
    LdxLen,
    LdxImm(u32),
    LdxMem(u8),
    LdxMsh(u32),
    St(u8),
    Stx(u8),
    AddK(u32),
    SubK(u32),
    MulK(u32),
    DivK(u32),
    ModK(u32),
    AndK(u32),
    OrK(u32),
    XorK(u32),
    LshK(u32),
    RshK(u32),
    AddX,
    SubX,
    MulX,
    DivX,
    ModX,
    AndX,
    OrX,
    XorX,
    LshX,
    RshX,
    Neg,
    Ja(u32),
    JeqK(u32, u32, u32),
    JgtK(u32, u32, u32),
    JgeK(u32, u32, u32),
    JsetK(u32, u32, u32),
    JeqX(u32, u32),
    JgtX(u32, u32),
    JgeX(u32, u32),
    JsetX(u32, u32),
    RetK(u32),
    RetA,
    Tax,
    Txa,
    /// Ends the run with 0: what the reference does on an invalid instruction or on
    /// running past the end.
    Reject,
    /// Needs socket metadata (a header-relative or ancillary load): the whole packet is
    /// run by the reference interpreter instead.
    Reference,
}

/// A decoded program.
#[derive(Clone, Debug)]
pub struct Vm {
    /// The instructions, then one `Reject` for running off the end (every jump target
    /// beyond the program points there too).
    ops: Vec<Op>,
    /// The program as given, for [`Op::Reference`].
    insns: Vec<Insn>,
}

impl Vm {
    pub fn new(prog: &[Insn]) -> Vm {
        let end = prog.len();
        let ops = prog
            .iter()
            .enumerate()
            .map(|(pc, insn)| decode(insn, pc, end))
            .chain([Op::Reject])
            .collect();
        Vm {
            ops,
            insns: prog.to_vec(),
        }
    }

    /// The decoded instructions (the last is the `Reject` after the end).
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Runs the program over `pkt`, whose length on the wire was `wirelen`: the same
    /// return value as [`interp::run`].
    pub fn run(&self, pkt: &[u8], wirelen: u32, meta: &Meta) -> u32 {
        match self.exec(pkt, wirelen) {
            Some(v) => v,
            None => interp::run(&self.insns, pkt, wirelen, meta),
        }
    }

    /// The run; None when the reference interpreter must decide.
    #[inline]
    fn exec(&self, pkt: &[u8], wirelen: u32) -> Option<u32> {
        let mut a: u32 = 0;
        let mut x: u32 = 0;
        let mut mem = [0u32; cbpf::MEMWORDS as usize];
        let mut pc = 0usize;
        // A load that does not fit in the packet ends the run with 0; a negative offset
        // (from X + k) is header-relative and needs the reference.
        macro_rules! load {
            ($off:expr, $n:literal) => {{
                let off: u32 = $off;
                if (off as i32) < 0 {
                    return None;
                }
                let off = off as usize;
                match pkt.get(off..off + $n) {
                    Some(b) => {
                        let mut v = [0u8; 4];
                        v[4 - $n..].copy_from_slice(b);
                        u32::from_be_bytes(v)
                    }
                    None => return Some(0),
                }
            }};
        }
        macro_rules! branch {
            ($cond:expr, $t:expr, $f:expr) => {
                pc = if $cond { $t as usize } else { $f as usize }
            };
        }
        loop {
            // Every target is in range (decode made sure) and the last op ends the run.
            let op = self.ops[pc];
            pc += 1;
            match op {
                Op::LdW(k) => a = load!(k, 4),
                Op::LdH(k) => a = load!(k, 2),
                Op::LdB(k) => a = load!(k, 1),
                Op::LdIndW(k) => a = load!(x.wrapping_add(k), 4),
                Op::LdIndH(k) => a = load!(x.wrapping_add(k), 2),
                Op::LdIndB(k) => a = load!(x.wrapping_add(k), 1),
                Op::LdLen => a = wirelen,
                Op::LdImm(k) => a = k,
                Op::LdMem(i) => a = mem[usize::from(i)],
                Op::LdxLen => x = wirelen,
                Op::LdxImm(k) => x = k,
                Op::LdxMem(i) => x = mem[usize::from(i)],
                Op::LdxMsh(k) => x = (load!(k, 1) & 0xf) << 2,
                Op::St(i) => mem[usize::from(i)] = a,
                Op::Stx(i) => mem[usize::from(i)] = x,
                Op::AddK(k) => a = a.wrapping_add(k),
                Op::SubK(k) => a = a.wrapping_sub(k),
                Op::MulK(k) => a = a.wrapping_mul(k),
                // decode made constant divisors of 0 Reject.
                Op::DivK(k) => a /= k,
                Op::ModK(k) => a %= k,
                Op::AndK(k) => a &= k,
                Op::OrK(k) => a |= k,
                Op::XorK(k) => a ^= k,
                Op::LshK(k) => a = a.wrapping_shl(k),
                Op::RshK(k) => a = a.wrapping_shr(k),
                Op::AddX => a = a.wrapping_add(x),
                Op::SubX => a = a.wrapping_sub(x),
                Op::MulX => a = a.wrapping_mul(x),
                Op::DivX => match a.checked_div(x) {
                    Some(v) => a = v,
                    None => return Some(0),
                },
                Op::ModX => match a.checked_rem(x) {
                    Some(v) => a = v,
                    None => return Some(0),
                },
                Op::AndX => a &= x,
                Op::OrX => a |= x,
                Op::XorX => a ^= x,
                Op::LshX => a = a.wrapping_shl(x),
                Op::RshX => a = a.wrapping_shr(x),
                Op::Neg => a = a.wrapping_neg(),
                Op::Ja(t) => pc = t as usize,
                Op::JeqK(k, t, f) => branch!(a == k, t, f),
                Op::JgtK(k, t, f) => branch!(a > k, t, f),
                Op::JgeK(k, t, f) => branch!(a >= k, t, f),
                Op::JsetK(k, t, f) => branch!(a & k != 0, t, f),
                Op::JeqX(t, f) => branch!(a == x, t, f),
                Op::JgtX(t, f) => branch!(a > x, t, f),
                Op::JgeX(t, f) => branch!(a >= x, t, f),
                Op::JsetX(t, f) => branch!(a & x != 0, t, f),
                Op::RetK(k) => return Some(k),
                Op::RetA => return Some(a),
                Op::Tax => x = a,
                Op::Txa => a = x,
                Op::Reject => return Some(0),
                Op::Reference => return None,
            }
        }
    }
}

/// The op for `insn` at `pc` in a program of `end` instructions.
fn decode(insn: &Insn, pc: usize, end: usize) -> Op {
    let k = insn.k;
    // A jump lands `off` past the next instruction; beyond the end is the final Reject.
    let target = |off: u64| (pc as u64 + 1 + off).min(end as u64) as u32;
    let (t, f) = (target(insn.jt.into()), target(insn.jf.into()));
    let slot = |k: u32| {
        u8::try_from(k)
            .ok()
            .filter(|&i| u32::from(i) < cbpf::MEMWORDS)
    };
    // Absolute offsets at or above 2^31 are header-relative or ancillary loads.
    let abs = |op: fn(u32) -> Op| if (k as i32) < 0 { Op::Reference } else { op(k) };
    match insn.code {
        LD_W_ABS => abs(Op::LdW),
        LD_H_ABS => abs(Op::LdH),
        LD_B_ABS => abs(Op::LdB),
        LD_W_IND => Op::LdIndW(k),
        LD_H_IND => Op::LdIndH(k),
        LD_B_IND => Op::LdIndB(k),
        LD_W_LEN => Op::LdLen,
        LD_IMM => Op::LdImm(k),
        LD_MEM => slot(k).map_or(Op::Reject, Op::LdMem),
        LDX_W_LEN => Op::LdxLen,
        LDX_IMM => Op::LdxImm(k),
        LDX_MEM => slot(k).map_or(Op::Reject, Op::LdxMem),
        LDX_B_MSH => abs(Op::LdxMsh),
        ST_MEM => slot(k).map_or(Op::Reject, Op::St),
        STX_MEM => slot(k).map_or(Op::Reject, Op::Stx),
        ADD_K => Op::AddK(k),
        SUB_K => Op::SubK(k),
        MUL_K => Op::MulK(k),
        // Division by a constant 0 ends the run with 0 when reached.
        DIV_K if k == 0 => Op::Reject,
        MOD_K if k == 0 => Op::Reject,
        DIV_K => Op::DivK(k),
        MOD_K => Op::ModK(k),
        AND_K => Op::AndK(k),
        OR_K => Op::OrK(k),
        XOR_K => Op::XorK(k),
        LSH_K => Op::LshK(k),
        RSH_K => Op::RshK(k),
        ADD_X => Op::AddX,
        SUB_X => Op::SubX,
        MUL_X => Op::MulX,
        DIV_X => Op::DivX,
        MOD_X => Op::ModX,
        AND_X => Op::AndX,
        OR_X => Op::OrX,
        XOR_X => Op::XorX,
        LSH_X => Op::LshX,
        RSH_X => Op::RshX,
        NEG_A => Op::Neg,
        JMP_JA => Op::Ja(target(k.into())),
        JEQ_K => Op::JeqK(k, t, f),
        JGT_K => Op::JgtK(k, t, f),
        JGE_K => Op::JgeK(k, t, f),
        JSET_K => Op::JsetK(k, t, f),
        JEQ_X => Op::JeqX(t, f),
        JGT_X => Op::JgtX(t, f),
        JGE_X => Op::JgeX(t, f),
        JSET_X => Op::JsetX(t, f),
        RET_K => Op::RetK(k),
        RET_A => Op::RetA,
        MISC_TAX => Op::Tax,
        MISC_TXA => Op::Txa,
        _ => Op::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbpf::*;

    #[test]
    fn decodes_targets_and_rejects() {
        let prog = [
            Insn::stmt(LD | H | ABS, 12),
            Insn::jump(JMP | JEQ | K, 0x800, 0, 200),
            Insn::stmt(LD | MEM, 16),
            Insn::stmt(LD | B | ABS, SKF_AD_OFF),
            Insn::stmt(RET | K, 1),
        ];
        let vm = Vm::new(&prog);
        assert_eq!(
            vm.ops(),
            [
                Op::LdH(12),
                Op::JeqK(0x800, 2, 5),
                Op::Reject,
                Op::Reference,
                Op::RetK(1),
                Op::Reject
            ]
        );
    }
}
