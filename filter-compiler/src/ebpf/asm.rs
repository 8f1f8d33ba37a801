//! A small assembler: instructions appended in order, jumps to labels resolved at the end.

use super::insn::{Insn, EXIT, JA, JMP};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

#[derive(Default)]
pub struct Asm {
    insns: Vec<Insn>,
    /// Where each label is bound.
    labels: Vec<Option<usize>>,
    /// Jumps whose offset is the distance to a label.
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `l` to the next instruction.
    pub fn bind(&mut self, l: Label) {
        debug_assert!(self.labels[l.0].is_none(), "label bound twice");
        self.labels[l.0] = Some(self.insns.len());
    }

    pub fn emit(&mut self, i: Insn) {
        self.insns.push(i);
    }

    pub fn emit_all(&mut self, is: impl IntoIterator<Item = Insn>) {
        self.insns.extend(is);
    }

    /// A jump (conditional, or `ja`) to `to`.
    pub fn jump(&mut self, i: Insn, to: Label) {
        debug_assert!(i.is_jump());
        self.fixups.push((self.insns.len(), to));
        self.insns.push(i);
    }

    /// `ja to`.
    pub fn goto(&mut self, to: Label) {
        self.jump(Insn::ja(), to);
    }

    /// The program, every jump resolved, without the instructions no path reaches (the
    /// verifier refuses unreachable code; a translated filter can have some, e.g. after a
    /// load that no packet is long enough for) and without jumps to the next instruction.
    pub fn finish(mut self) -> Result<Vec<Insn>, String> {
        // Absolute targets first.
        let mut target: Vec<Option<usize>> = vec![None; self.insns.len()];
        for &(at, l) in &self.fixups {
            target[at] = Some(self.labels[l.0].ok_or("internal error: jump to an unbound label")?);
        }
        let n = self.insns.len();
        // What a path from the entry reaches.
        let mut live = vec![false; n];
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            if i >= n || std::mem::replace(&mut live[i], true) {
                continue;
            }
            let x = &self.insns[i];
            if x.is_wide() {
                if i + 1 < n {
                    live[i + 1] = true;
                }
                stack.push(i + 2);
            } else if x.code == (JMP | EXIT) {
            } else if x.is_jump() {
                let t = target[i].unwrap_or((i as i64 + 1 + i64::from(x.off)) as usize);
                stack.push(t);
                if x.code != (JMP | JA) {
                    stack.push(i + 1);
                }
            } else {
                stack.push(i + 1);
            }
        }
        // A `ja` to the very next live instruction does nothing.
        let next_live = |from: usize, live: &[bool]| (from..n).find(|&j| live[j]).unwrap_or(n);
        for i in 0..n {
            let x = &self.insns[i];
            if live[i] && x.code == (JMP | JA) {
                if let Some(t) = target[i] {
                    if next_live(i + 1, &live) == next_live(t, &live) {
                        live[i] = false;
                    }
                }
            }
        }
        // New positions: a removed instruction maps to the next kept one.
        let mut new_at = vec![0usize; n + 1];
        let mut kept = 0;
        for i in 0..n {
            new_at[i] = kept;
            if live[i] {
                kept += 1;
            }
        }
        new_at[n] = kept;
        let mut out = Vec::with_capacity(kept);
        for i in 0..n {
            if !live[i] {
                continue;
            }
            let mut x = self.insns[i];
            if let Some(t) = target[i] {
                let rel = new_at[t] as i64 - (new_at[i] as i64 + 1);
                x.off = i16::try_from(rel)
                    .map_err(|_| format!("program too large: a jump of {rel} instructions"))?;
            }
            out.push(x);
        }
        self.insns = out;
        Ok(self.insns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebpf::insn::{JEQ, R0};

    #[test]
    fn unreachable_code_and_jumps_to_the_next_instruction_go() {
        let mut a = Asm::new();
        let out = a.label();
        let mid = a.label();
        a.jump(Insn::jmp_imm(JEQ, R0, 1), mid);
        a.goto(out);
        a.emit(Insn::mov32_imm(R0, 7)); // unreachable
        a.bind(mid);
        a.emit(Insn::mov32_imm(R0, 1));
        a.goto(out); // to the next instruction
        a.bind(out);
        a.emit(Insn::exit());
        let p = a.finish().unwrap();
        assert_eq!(p.len(), 4);
        // `if r0 == 1 goto +1; goto +1; w0 = 1; exit`
        assert_eq!((p[0].off, p[1].off), (1, 1));
        assert_eq!(p[2], Insn::mov32_imm(R0, 1));
        assert_eq!(p[3], Insn::exit());
    }
}
