//! A small assembler: instructions appended in order, jumps to labels resolved at the end.

use super::insn::Insn;

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

    /// Whether some jump goes to `l`. The verifier refuses unreachable instructions, so code
    /// that only a jump reaches is emitted only when something jumps there.
    pub fn is_used(&self, l: Label) -> bool {
        self.fixups.iter().any(|&(_, x)| x == l)
    }

    /// Binds `l` if something jumps to it; says whether it did.
    pub fn bind_if_used(&mut self, l: Label) -> bool {
        let used = self.is_used(l);
        if used {
            self.bind(l);
        }
        used
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

    /// The program, every jump resolved.
    pub fn finish(mut self) -> Result<Vec<Insn>, String> {
        for &(at, l) in &self.fixups {
            let target = self.labels[l.0].ok_or("internal error: jump to an unbound label")?;
            let rel = target as i64 - (at as i64 + 1);
            self.insns[at].off = i16::try_from(rel)
                .map_err(|_| format!("program too large: a jump of {rel} instructions"))?;
        }
        Ok(self.insns)
    }
}
