//! The Linux kernel's acceptance rules for classic BPF. (Being written.)
use crate::cbpf::Insn;
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

pub fn check(prog: &[Insn]) -> Result<(), CheckError> {
    let _ = prog;
    todo!("checker being written")
}
