//! The Linux kernel's acceptance rules for classic BPF socket filters.
//!
//! This mirrors `bpf_check_classic()` and `check_load_and_stores()` in `net/core/filter.c`
//! (the checks SO_ATTACH_FILTER runs), rule for rule and in the same order, so that a
//! program we accept is one the kernel accepts and an error points at the instruction the
//! kernel would have choked on. The kernel only says `EINVAL`; we say what and where.
//!
//! Not modelled: the later cBPF-to-eBPF conversion can still fail for programs near the size
//! limit whose expanded jumps overflow eBPF's 16-bit offsets; that depends on kernel
//! internals and needs thousands of instructions to trigger.
use crate::cbpf::{self, Insn};
use crate::dump;
use crate::interp::ops;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckError {
    /// Index of the offending instruction (or the program length for whole-program problems).
    pub pc: usize,
    pub message: String,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "instruction {}: {}", self.pc, self.message)
    }
}
impl std::error::Error for CheckError {}

fn err(pc: usize, message: impl Into<String>) -> Result<(), CheckError> {
    Err(CheckError {
        pc,
        message: message.into(),
    })
}

/// The kernel's whitelist of classic opcodes (`chk_code_allowed`). Anything else, including
/// encodings that other BPF implementations accept (e.g. `ldx #pktlen` is allowed but
/// `ld` with a size bit on an immediate is not), is rejected.
pub fn opcode_allowed(code: u16) -> bool {
    ops::ALLOWED.contains(&code)
}

/// Whether `k` names an ancillary field the kernel knows (`bpf_anc_helper`): exactly
/// `SKF_AD_OFF + SKF_AD_*` for the sixteen defined fields, at any load size.
pub fn known_ancillary(k: u32) -> bool {
    k.checked_sub(cbpf::SKF_AD_OFF)
        .is_some_and(|rel| rel < cbpf::SKF_AD_MAX && rel % 4 == 0)
}

fn is_cond_jump(code: u16) -> bool {
    use ops::*;
    matches!(
        code,
        JEQ_K | JGT_K | JGE_K | JSET_K | JEQ_X | JGT_X | JGE_X | JSET_X
    )
}

/// Checks `prog` against the kernel's rules; `Ok` means SO_ATTACH_FILTER would take it.
pub fn check(prog: &[Insn]) -> Result<(), CheckError> {
    use cbpf::{MAXINSNS, MEMWORDS, SKF_AD_OFF};
    use ops::*;
    let len = prog.len();
    if len == 0 {
        return err(0, "empty program (the kernel needs 1 to 4096 instructions)");
    }
    if len > MAXINSNS {
        return err(
            len,
            format!("program has {len} instructions; the kernel allows at most {MAXINSNS}"),
        );
    }

    for (pc, insn) in prog.iter().enumerate() {
        let code = insn.code;
        if !opcode_allowed(code) {
            // Name the instruction when libpcap can (e.g. `ldx #pktlen` is not `unimp`).
            let shown = text(insn, pc);
            let what = if shown.starts_with("unimp") {
                String::new()
            } else {
                format!(" ({shown})")
            };
            return err(
                pc,
                format!("opcode {code:#x}{what} is not allowed by the kernel"),
            );
        }
        // Targets in u64 so that a huge `k` cannot wrap around into range.
        let target = |off: u64| pc as u64 + 1 + off;
        let out_of_range = |what: &str, t: u64| {
            err(
                pc,
                format!("{what}jump target {t} out of range (program has {len} instructions)"),
            )
        };
        match code {
            DIV_K if insn.k == 0 => return err(pc, "division by constant 0"),
            MOD_K if insn.k == 0 => return err(pc, "modulo by constant 0"),
            LSH_K | RSH_K if insn.k >= 32 => {
                return err(
                    pc,
                    format!("shift by constant {} (the kernel allows 0..=31)", insn.k),
                );
            }
            LD_MEM | LDX_MEM | ST_MEM | STX_MEM if insn.k >= MEMWORDS => {
                return err(
                    pc,
                    format!(
                        "scratch memory slot M[{}] out of range (slots are 0..=15)",
                        insn.k
                    ),
                );
            }
            JMP_JA => {
                let t = target(insn.k.into());
                if t >= len as u64 {
                    // libpcap's `protochain` emits "backward" jumps as huge unsigned offsets.
                    let back = pc as i64 + 1 + i64::from(insn.k as i32);
                    if (0..pc as i64 + 1).contains(&back) {
                        return err(
                            pc,
                            format!(
                                "backward jump to {back} (the kernel allows only forward jumps)"
                            ),
                        );
                    }
                    return out_of_range("", t);
                }
            }
            c if is_cond_jump(c) => {
                for (what, off) in [("true ", insn.jt), ("false ", insn.jf)] {
                    let t = target(off.into());
                    if t >= len as u64 {
                        return out_of_range(what, t);
                    }
                }
            }
            LD_W_ABS | LD_H_ABS | LD_B_ABS if insn.k >= SKF_AD_OFF && !known_ancillary(insn.k) => {
                return err(
                    pc,
                    format!("unknown ancillary load SKF_AD_OFF+{}", insn.k - SKF_AD_OFF),
                );
            }
            _ => {}
        }
    }

    let last = len - 1;
    if !matches!(prog[last].code, RET_K | RET_A) {
        return err(
            last,
            format!(
                "last instruction must be a return, found {}",
                text(&prog[last], last)
            ),
        );
    }
    check_load_and_stores(prog)
}

/// The kernel's scratch-memory rule: `M[k]` may be read only if every path to the read
/// stores to it first, because the kernel does not zero M[] between packets.
///
/// This is deliberately the kernel's exact single forward pass, not a precise data-flow
/// analysis: `valid` is the set of slots written on the fall-through path; a jump
/// intersects it into its targets' masks and resets it to "all", since the next
/// instruction is then only reached through jumps. Like the kernel, a `ret` does *not*
/// reset it, so code after a `ret` inherits the slots valid before the `ret`.
/// The jump checks in [`check`] must have passed: targets are assumed in range.
fn check_load_and_stores(prog: &[Insn]) -> Result<(), CheckError> {
    use ops::*;
    // One bit per slot; a slot's bit in masks[pc] is cleared when some jump into pc
    // comes from a path that did not write the slot.
    let mut masks = vec![u16::MAX; prog.len()];
    let mut valid: u16 = 0;
    for (pc, insn) in prog.iter().enumerate() {
        valid &= masks[pc];
        let code = insn.code;
        // k < MEMWORDS was checked, so the shifts below are in range.
        let slot = 1u16.checked_shl(insn.k).unwrap_or(0);
        if matches!(code, ST_MEM | STX_MEM) {
            valid |= slot;
        } else if matches!(code, LD_MEM | LDX_MEM) {
            if valid & slot == 0 {
                return err(
                    pc,
                    format!(
                        "reads M[{}] which may not have been written on every path here",
                        insn.k
                    ),
                );
            }
        } else if code == JMP_JA {
            if let Some(m) = masks.get_mut(pc + 1 + insn.k as usize) {
                *m &= valid;
            }
            valid = u16::MAX;
        } else if is_cond_jump(code) {
            for off in [insn.jt, insn.jf] {
                if let Some(m) = masks.get_mut(pc + 1 + usize::from(off)) {
                    *m &= valid;
                }
            }
            valid = u16::MAX;
        }
    }
    Ok(())
}

/// An instruction as `tcpdump -d` would show it, for messages: `ldb [14]`.
fn text(insn: &Insn, pc: usize) -> String {
    let line = dump::image(insn, pc);
    // Drop the "(000) " prefix and collapse the column padding.
    let body = line.split_once(") ").map_or(line.as_str(), |(_, b)| b);
    body.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbpf::*;

    const RET0: Insn = Insn::stmt(RET | K, 0);
    const RETA: Insn = Insn::stmt(RET | A, 0);

    fn fails_at(prog: &[Insn], pc: usize, needle: &str) {
        let e = check(prog).expect_err("program should be rejected");
        assert_eq!(e.pc, pc, "{e}");
        assert!(e.message.contains(needle), "{e:?} lacks {needle:?}");
    }

    #[test]
    fn accepts_typical_program() {
        let p = [
            Insn::stmt(LD | H | ABS, 12),
            Insn::jump(JMP | JEQ | K, 0x800, 0, 1),
            Insn::stmt(RET | K, 262144),
            RET0,
        ];
        assert_eq!(check(&p), Ok(()));
    }

    #[test]
    fn length_limits() {
        fails_at(&[], 0, "empty");
        let long = vec![RET0; MAXINSNS + 1];
        fails_at(&long, MAXINSNS + 1, "at most 4096");
        assert!(check(&vec![RET0; MAXINSNS]).is_ok());
    }

    #[test]
    fn opcode_whitelist() {
        let allowed: Vec<u16> = (0..=u16::MAX).filter(|&c| opcode_allowed(c)).collect();
        // 21 ALU + 13 loads + 2 stores + 2 misc + 2 returns + 9 jumps, as in chk_code_allowed.
        assert_eq!(allowed.len(), 49);
        assert!(opcode_allowed(LDX | W | LEN));
        assert!(!opcode_allowed(LDX | W | ABS)); // seccomp-only
        assert!(!opcode_allowed(LD | H | IMM));
        assert!(!opcode_allowed(ALU | NEG | X));
        assert!(!opcode_allowed(RET | X));
        assert!(!opcode_allowed(0x100 | RET | K));
        fails_at(&[Insn::stmt(LD | H | IMM, 0), RET0], 0, "opcode 0x8");
    }

    #[test]
    fn constant_division_and_shifts() {
        fails_at(
            &[Insn::stmt(ALU | DIV | K, 0), RETA],
            0,
            "division by constant 0",
        );
        fails_at(
            &[Insn::stmt(ALU | MOD | K, 0), RETA],
            0,
            "modulo by constant 0",
        );
        assert!(check(&[Insn::stmt(ALU | DIV | X, 0), RETA]).is_ok());
        fails_at(
            &[Insn::stmt(ALU | LSH | K, 32), RETA],
            0,
            "shift by constant 32",
        );
        fails_at(&[Insn::stmt(ALU | RSH | K, u32::MAX), RETA], 0, "shift");
        assert!(check(&[Insn::stmt(ALU | LSH | K, 31), RETA]).is_ok());
    }

    #[test]
    fn memory_slots() {
        for code in [LD | MEM, LDX | MEM, ST, STX] {
            fails_at(&[Insn::stmt(code, 16), RET0], 0, "M[16] out of range");
        }
    }

    #[test]
    fn jumps() {
        let e = check(&[Insn::stmt(JMP | JA, 1), RET0]).unwrap_err();
        assert_eq!(
            e.message,
            "jump target 2 out of range (program has 2 instructions)"
        );
        assert!(check(&[Insn::stmt(JMP | JA, 0), RET0]).is_ok());
        fails_at(
            &[Insn::stmt(JMP | JA, 0x8000_0000), RET0],
            0,
            "jump target 2147483649 out of range",
        );
        // k = -1 would loop on itself.
        fails_at(
            &[Insn::stmt(JMP | JA, u32::MAX), RET0],
            0,
            "backward jump to 0",
        );
        fails_at(
            &[RET0, Insn::stmt(JMP | JA, (-2i32) as u32), RET0],
            1,
            "backward jump to 0",
        );
        fails_at(
            &[Insn::jump(JMP | JGT | X, 0, 1, 0), RET0],
            0,
            "true jump target 2",
        );
        fails_at(
            &[Insn::jump(JMP | JSET | K, 0, 0, 9), RET0],
            0,
            "false jump target 10",
        );
        assert!(check(&[Insn::jump(JMP | JGE | K, 0, 0, 0), RET0]).is_ok());
    }

    #[test]
    fn ancillary_loads() {
        for size in [W, H, B] {
            for n in (0..SKF_AD_MAX).step_by(4) {
                assert!(check(&[Insn::stmt(LD | size | ABS, SKF_AD_OFF + n), RETA]).is_ok());
            }
            fails_at(
                &[Insn::stmt(LD | size | ABS, SKF_AD_OFF + SKF_AD_MAX), RETA],
                0,
                "SKF_AD_OFF+64",
            );
            fails_at(
                &[Insn::stmt(LD | size | ABS, SKF_AD_OFF + 2), RETA],
                0,
                "ancillary",
            );
            fails_at(
                &[Insn::stmt(LD | size | ABS, u32::MAX), RETA],
                0,
                "ancillary",
            );
        }
        // Network- and link-relative loads are below SKF_AD_OFF and pass the checker.
        assert!(check(&[Insn::stmt(LD | B | ABS, SKF_NET_OFF + 9), RETA]).is_ok());
        assert!(check(&[Insn::stmt(LD | B | ABS, SKF_LL_OFF), RETA]).is_ok());
        // Indirect loads are never ancillary.
        assert!(check(&[Insn::stmt(LD | B | IND, SKF_AD_OFF + 2), RETA]).is_ok());
    }

    #[test]
    fn must_end_in_return() {
        fails_at(
            &[Insn::stmt(LD | W | LEN, 0)],
            0,
            "last instruction must be a return, found ld #pktlen",
        );
        fails_at(&[RET0, Insn::stmt(MISC | TAX, 0)], 1, "found tax");
    }

    #[test]
    fn scratch_memory_must_be_written_first() {
        fails_at(&[Insn::stmt(LD | MEM, 3), RETA], 0, "reads M[3]");
        fails_at(
            &[Insn::stmt(ST, 2), Insn::stmt(LDX | MEM, 3), RETA],
            1,
            "M[3]",
        );
        assert!(check(&[Insn::stmt(STX, 3), Insn::stmt(LD | MEM, 3), RETA]).is_ok());

        // Written on only one of two paths: rejected at the join.
        let one_path = [
            Insn::jump(JMP | JEQ | K, 0, 0, 1),
            Insn::stmt(ST, 0),
            Insn::stmt(LD | MEM, 0),
            RETA,
        ];
        fails_at(&one_path, 2, "M[0]");

        // Written on both paths: accepted.
        let both = [
            Insn::jump(JMP | JEQ | K, 0, 0, 2),
            Insn::stmt(ST, 0),
            Insn::stmt(JMP | JA, 1),
            Insn::stmt(STX, 0),
            Insn::stmt(LDX | MEM, 0),
            RETA,
        ];
        assert!(check(&both).is_ok());

        // Kernel quirk: `ret` does not reset the tracked set. M[1] is written on the only
        // path to pc 5 (via the jump at pc 2), yet the kernel rejects the program because
        // the unreachable fall-through from the `ret` at pc 4 carries "M[1] unwritten".
        let quirk = [
            Insn::jump(JMP | JEQ | K, 0, 0, 3),
            Insn::stmt(ST, 1),
            Insn::jump(JMP | JEQ | K, 0, 2, 0),
            RET0,
            RET0,
            Insn::stmt(LD | MEM, 1),
            RETA,
        ];
        fails_at(&quirk, 5, "M[1]");
        // Conversely, dead code right after a jump is reached with "everything written".
        let dead = [Insn::stmt(JMP | JA, 1), Insn::stmt(LD | MEM, 1), RETA];
        assert!(check(&dead).is_ok());
    }

    #[test]
    fn rules_are_checked_in_kernel_order() {
        // A bad opcode before a bad final instruction is reported first.
        fails_at(
            &[Insn::stmt(0xff, 0), Insn::stmt(LD | IMM, 0)],
            0,
            "opcode 0xff",
        );
    }
}
