//! tcpdump's three program dump formats (-d, -dd, -ddd). (Being written.)
use crate::cbpf::Insn;

/// `-d`: one instruction per line, `(000) ldh      [12]`.
pub fn asm(prog: &[Insn]) -> String {
    let _ = prog;
    todo!()
}
/// `-dd`: a C array initializer, `{ 0x28, 0, 0, 0x0000000c },`.
pub fn c(prog: &[Insn]) -> String {
    let _ = prog;
    todo!()
}
/// `-ddd`: the instruction count, then `code jt jf k` in decimal, one per line.
pub fn decimal(prog: &[Insn]) -> String {
    let _ = prog;
    todo!()
}
