//! eBPF instructions as plain data: the kernel's `struct bpf_insn` (linux/bpf.h), built from
//! typed parts (class, size, mode, operation, source) as in `include/uapi/linux/bpf.h`.

/// A register: r0 (return value, helper results), r1-r5 (helper arguments, clobbered by
/// calls and by LD_ABS/LD_IND), r6-r9 (kept across calls), r10 (frame pointer, read-only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(pub u8);

pub const R0: Reg = Reg(0);
pub const R1: Reg = Reg(1);
pub const R2: Reg = Reg(2);
pub const R3: Reg = Reg(3);
pub const R4: Reg = Reg(4);
pub const R5: Reg = Reg(5);
pub const R6: Reg = Reg(6);
pub const R7: Reg = Reg(7);
pub const R8: Reg = Reg(8);
pub const R9: Reg = Reg(9);
pub const FP: Reg = Reg(10);

/// One instruction, layout-compatible with `struct bpf_insn` (on a little-endian host the
/// register byte holds dst in its low nibble, src in its high one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u8,
    pub dst: Reg,
    pub src: Reg,
    pub off: i16,
    pub imm: i32,
}

// Classes.
pub const LD: u8 = 0x00;
pub const LDX: u8 = 0x01;
pub const ST: u8 = 0x02;
pub const STX: u8 = 0x03;
pub const ALU: u8 = 0x04;
pub const JMP: u8 = 0x05;
pub const JMP32: u8 = 0x06;
pub const ALU64: u8 = 0x07;

// Sizes.
pub const W: u8 = 0x00;
pub const H: u8 = 0x08;
pub const B: u8 = 0x10;
pub const DW: u8 = 0x18;

// Modes.
pub const IMM: u8 = 0x00;
pub const ABS: u8 = 0x20;
pub const IND: u8 = 0x40;
pub const MEM: u8 = 0x60;
pub const ATOMIC: u8 = 0xc0;

// ALU operations.
pub const ADD: u8 = 0x00;
pub const SUB: u8 = 0x10;
pub const MUL: u8 = 0x20;
pub const DIV: u8 = 0x30;
pub const OR: u8 = 0x40;
pub const AND: u8 = 0x50;
pub const LSH: u8 = 0x60;
pub const RSH: u8 = 0x70;
pub const NEG: u8 = 0x80;
pub const MOD: u8 = 0x90;
pub const XOR: u8 = 0xa0;
pub const MOV: u8 = 0xb0;
pub const END: u8 = 0xd0;

// Jump operations.
pub const JA: u8 = 0x00;
pub const JEQ: u8 = 0x10;
pub const JGT: u8 = 0x20;
pub const JGE: u8 = 0x30;
pub const JSET: u8 = 0x40;
pub const JNE: u8 = 0x50;
pub const CALL: u8 = 0x80;
pub const EXIT: u8 = 0x90;
pub const JLT: u8 = 0xa0;
pub const JLE: u8 = 0xb0;

// Operand source: the immediate, or the src register. For END: to big-endian.
pub const K: u8 = 0x00;
pub const X: u8 = 0x08;
pub const TO_BE: u8 = 0x08;

/// `src` of a 64-bit immediate load whose immediate is a map's file descriptor.
pub const PSEUDO_MAP_FD: u8 = 1;

/// Helper functions by number (`enum bpf_func_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Helper {
    MapLookupElem = 1,
    MapUpdateElem = 2,
    /// `bpf_skb_load_bytes(skb, offset, to, len)`: 0, or an error (nothing read) when the
    /// bytes are not all in the packet.
    SkbLoadBytes = 26,
}

impl Helper {
    pub fn name(self) -> &'static str {
        match self {
            Helper::MapLookupElem => "bpf_map_lookup_elem",
            Helper::MapUpdateElem => "bpf_map_update_elem",
            Helper::SkbLoadBytes => "bpf_skb_load_bytes",
        }
    }
    pub fn from_imm(imm: i32) -> Option<Helper> {
        match imm {
            1 => Some(Helper::MapLookupElem),
            2 => Some(Helper::MapUpdateElem),
            26 => Some(Helper::SkbLoadBytes),
            _ => None,
        }
    }
}

/// `BPF_NOEXIST`: map update only if the key is new.
pub const NOEXIST: i32 = 1;

impl Insn {
    pub const fn new(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }
    pub const fn class(&self) -> u8 {
        self.code & 0x07
    }
    /// The 8 bytes the kernel reads.
    pub fn encode(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.src.0 << 4) | (self.dst.0 & 0x0f);
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }

    /// `dst op= imm` on the low 32 bits (the upper 32 are zeroed).
    pub const fn alu32_imm(op: u8, dst: Reg, imm: i32) -> Insn {
        Insn::new(ALU | op | K, dst, R0, 0, imm)
    }
    /// `dst op= src` on the low 32 bits.
    pub const fn alu32_reg(op: u8, dst: Reg, src: Reg) -> Insn {
        Insn::new(ALU | op | X, dst, src, 0, 0)
    }
    pub const fn alu64_imm(op: u8, dst: Reg, imm: i32) -> Insn {
        Insn::new(ALU64 | op | K, dst, R0, 0, imm)
    }
    pub const fn alu64_reg(op: u8, dst: Reg, src: Reg) -> Insn {
        Insn::new(ALU64 | op | X, dst, src, 0, 0)
    }
    pub const fn mov64(dst: Reg, src: Reg) -> Insn {
        Insn::alu64_reg(MOV, dst, src)
    }
    pub const fn mov32(dst: Reg, src: Reg) -> Insn {
        Insn::alu32_reg(MOV, dst, src)
    }
    /// `dst = imm` (sign-extended to 64 bits).
    pub const fn mov64_imm(dst: Reg, imm: i32) -> Insn {
        Insn::alu64_imm(MOV, dst, imm)
    }
    /// `dst = (u32)imm`.
    pub const fn mov32_imm(dst: Reg, imm: i32) -> Insn {
        Insn::alu32_imm(MOV, dst, imm)
    }
    /// `dst = be16(dst)`: network to host order of a 16-bit field, upper bits cleared.
    pub const fn be16(dst: Reg) -> Insn {
        Insn::new(ALU | END | TO_BE, dst, R0, 0, 16)
    }
    /// `dst = be32(dst)`.
    pub const fn be32(dst: Reg) -> Insn {
        Insn::new(ALU | END | TO_BE, dst, R0, 0, 32)
    }
    /// `dst = *(size *)(src + off)`.
    pub const fn ldx(size: u8, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::new(LDX | size | MEM, dst, src, off, 0)
    }
    /// `*(size *)(dst + off) = src`.
    pub const fn stx(size: u8, dst: Reg, off: i16, src: Reg) -> Insn {
        Insn::new(STX | size | MEM, dst, src, off, 0)
    }
    /// `*(size *)(dst + off) = imm`.
    pub const fn st(size: u8, dst: Reg, off: i16, imm: i32) -> Insn {
        Insn::new(ST | size | MEM, dst, R0, off, imm)
    }
    /// `lock *(u64 *)(dst + off) += src`.
    pub const fn atomic_add64(dst: Reg, off: i16, src: Reg) -> Insn {
        Insn::new(STX | DW | ATOMIC, dst, src, off, ADD as i32)
    }
    /// Classic packet load kept in eBPF: `r0 = ntoh(*(size *)(skb->data + imm))`, the
    /// context in r6; past the end of the packet the program ends, returning 0.
    pub const fn ld_abs(size: u8, imm: i32) -> Insn {
        Insn::new(LD | size | ABS, R0, R0, 0, imm)
    }
    /// As [`Insn::ld_abs`], at `src + imm`.
    pub const fn ld_ind(size: u8, src: Reg, imm: i32) -> Insn {
        Insn::new(LD | size | IND, R0, src, 0, imm)
    }
    /// A conditional jump on 64 bits (`imm` sign-extended); the offset is set by the assembler.
    pub const fn jmp_imm(op: u8, dst: Reg, imm: i32) -> Insn {
        Insn::new(JMP | op | K, dst, R0, 0, imm)
    }
    pub const fn jmp_reg(op: u8, dst: Reg, src: Reg) -> Insn {
        Insn::new(JMP | op | X, dst, src, 0, 0)
    }
    /// A conditional jump comparing the low 32 bits, as classic BPF compares.
    pub const fn jmp32_imm(op: u8, dst: Reg, imm: i32) -> Insn {
        Insn::new(JMP32 | op | K, dst, R0, 0, imm)
    }
    pub const fn jmp32_reg(op: u8, dst: Reg, src: Reg) -> Insn {
        Insn::new(JMP32 | op | X, dst, src, 0, 0)
    }
    pub const fn ja() -> Insn {
        Insn::new(JMP | JA, R0, R0, 0, 0)
    }
    pub const fn call(h: Helper) -> Insn {
        Insn::new(JMP | CALL, R0, R0, 0, h as i32)
    }
    pub const fn exit() -> Insn {
        Insn::new(JMP | EXIT, R0, R0, 0, 0)
    }
    /// The two halves of `dst = map` (a 64-bit immediate load): `imm` is the map's index in
    /// the program's map list until the loader puts the map's descriptor there.
    pub const fn ld_map(dst: Reg, map: usize) -> [Insn; 2] {
        [
            Insn::new(LD | DW | IMM, dst, Reg(PSEUDO_MAP_FD), 0, map as i32),
            Insn::new(0, R0, R0, 0, 0),
        ]
    }
    /// `dst = imm` for any 64-bit `imm` (two instruction slots).
    pub const fn ld_imm64(dst: Reg, imm: u64) -> [Insn; 2] {
        [
            Insn::new(LD | DW | IMM, dst, R0, 0, imm as u32 as i32),
            Insn::new(0, R0, R0, 0, (imm >> 32) as u32 as i32),
        ]
    }
    /// Whether this is the first half of a 64-bit immediate load.
    pub const fn is_wide(&self) -> bool {
        self.code == LD | DW | IMM
    }
    /// Whether this jumps by `off` (a conditional jump or `ja`; not call or exit).
    pub const fn is_jump(&self) -> bool {
        let class = self.class();
        let op = self.code & 0xf0;
        (class == JMP || class == JMP32) && op != CALL && op != EXIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_matches_the_kernel_layout() {
        // `r1 = *(u32 *)(r6 + 4)`: 0x61, dst 1, src 6.
        assert_eq!(
            Insn::ldx(W, R1, R6, 4).encode(),
            [0x61, 0x61, 4, 0, 0, 0, 0, 0]
        );
        // `if w0 == 0x800 goto +3` in JMP32.
        assert_eq!(
            Insn {
                off: 3,
                ..Insn::jmp32_imm(JEQ, R0, 0x800)
            }
            .encode(),
            [0x16, 0x00, 3, 0, 0x00, 0x08, 0, 0]
        );
        // `lock *(u64 *)(r0 + 8) += r1`: 0xdb.
        assert_eq!(
            Insn::atomic_add64(R0, 8, R1).encode(),
            [0xdb, 0x10, 8, 0, 0, 0, 0, 0]
        );
        // `r1 = map` with the map-fd pseudo source.
        assert_eq!(
            Insn::ld_map(R1, 3)[0].encode(),
            [0x18, 0x11, 0, 0, 3, 0, 0, 0]
        );
        assert_eq!(Insn::ld_abs(H, 12).encode(), [0x28, 0, 0, 0, 12, 0, 0, 0]);
        assert_eq!(Insn::be16(R2).encode(), [0xdc, 0x02, 0, 0, 16, 0, 0, 0]);
        assert_eq!(Insn::exit().encode(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
    }
}
