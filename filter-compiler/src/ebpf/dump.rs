//! The eBPF program as readable assembly, one instruction a line, in the syntax the kernel's
//! verifier log and bpftool print (kernel/bpf/disasm.c), with jump targets as absolute
//! positions, maps by name and context fields by name.

use super::insn::*;
use super::{skb, Program};
use std::fmt::Write as _;

fn size_name(code: u8) -> &'static str {
    match code & 0x18 {
        B => "u8",
        H => "u16",
        W => "u32",
        _ => "u64",
    }
}

fn alu_op(op: u8) -> &'static str {
    match op {
        ADD => "+=",
        SUB => "-=",
        MUL => "*=",
        DIV => "/=",
        OR => "|=",
        AND => "&=",
        LSH => "<<=",
        RSH => ">>=",
        MOD => "%=",
        XOR => "^=",
        MOV => "=",
        _ => "?=",
    }
}

fn jmp_op(op: u8) -> &'static str {
    match op {
        JEQ => "==",
        JGT => ">",
        JGE => ">=",
        JSET => "&",
        JNE => "!=",
        JLT => "<",
        JLE => "<=",
        0x60 => "s>",
        0x70 => "s>=",
        0xc0 => "s<",
        0xd0 => "s<=",
        _ => "?",
    }
}

fn off(o: i16) -> String {
    format!("{o:+}")
}

/// The listing; `(NNNN) ` in front of each instruction.
pub fn asm(p: &Program) -> String {
    let mut s = String::new();
    let width = if p.insns.len() > 9999 { 5 } else { 4 };
    let mut i = 0;
    while i < p.insns.len() {
        let x = p.insns[i];
        let text = image(p, &x, i);
        let _ = writeln!(s, "({i:0width$}) {text}");
        i += if x.is_wide() { 2 } else { 1 };
    }
    s
}

fn image(p: &Program, x: &Insn, pc: usize) -> String {
    let class = x.class();
    let (d, sr) = (x.dst.0, x.src.0);
    match class {
        ALU | ALU64 => {
            let r = if class == ALU64 { 'r' } else { 'w' };
            let op = x.code & 0xf0;
            match op {
                NEG => format!("{r}{d} = -{r}{d}"),
                END => format!(
                    "r{d} = {}{} r{d}",
                    if x.code & TO_BE != 0 { "be" } else { "le" },
                    x.imm
                ),
                _ if x.code & X != 0 => format!("{r}{d} {} {r}{sr}", alu_op(op)),
                _ => format!("{r}{d} {} {}", alu_op(op), x.imm),
            }
        }
        LDX => {
            let t = format!("r{d} = *({} *)(r{sr} {})", size_name(x.code), off(x.off));
            match (sr, skb::field_name(x.off)) {
                (6, Some(f)) if pc > 0 => format!("{t:<32}; skb->{f}"),
                _ => t,
            }
        }
        STX if x.code & 0xe0 == ATOMIC => format!(
            "lock *({} *)(r{d} {}) += r{sr}",
            size_name(x.code),
            off(x.off)
        ),
        STX => format!("*({} *)(r{d} {}) = r{sr}", size_name(x.code), off(x.off)),
        ST => format!(
            "*({} *)(r{d} {}) = {}",
            size_name(x.code),
            off(x.off),
            x.imm
        ),
        LD => match x.code & 0xe0 {
            ABS => format!("r0 = *({} *)skb[{}]", size_name(x.code), x.imm),
            IND => format!("r0 = *({} *)skb[r{sr} + {}]", size_name(x.code), x.imm),
            _ if x.is_wide() && sr == PSEUDO_MAP_FD => {
                let name = p.maps.get(x.imm as usize).map_or("?", |m| m.name);
                format!("r{d} = map[{name}]")
            }
            _ => {
                let high = p.insns.get(pc + 1).map_or(0, |h| h.imm as u32);
                let v = u64::from(high) << 32 | u64::from(x.imm as u32);
                format!("r{d} = {v:#x} ll")
            }
        },
        JMP | JMP32 => {
            let op = x.code & 0xf0;
            let target = pc as i64 + 1 + i64::from(x.off);
            match op {
                CALL => match Helper::from_imm(x.imm) {
                    Some(h) => format!("call {}", h.name()),
                    None => format!("call {}", x.imm),
                },
                EXIT => "exit".to_string(),
                JA => format!("goto {target:04}"),
                _ => {
                    let r = if class == JMP32 { 'w' } else { 'r' };
                    let rhs = if x.code & X != 0 {
                        format!("{r}{sr}")
                    } else {
                        format!("{:#x}", x.imm)
                    };
                    format!("if {r}{d} {} {rhs} goto {target:04}", jmp_op(op))
                }
            }
        }
        _ => format!("unknown {:#04x}", x.code),
    }
}
