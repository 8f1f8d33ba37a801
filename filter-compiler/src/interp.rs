//! A classic BPF interpreter with the Linux kernel's semantics.
//!
//! The kernel does not interpret classic BPF directly: it converts it to eBPF
//! (`bpf_convert_filter` in `net/core/filter.c`) and runs that, JIT-compiled or not. The
//! behaviour reproduced here is that of the converted program on current mainline:
//!
//! - A, X start at 0 (the conversion's prologue zeroes them); M[] is not cleared by the kernel,
//!   but the checker guarantees reads only follow writes, so starting at 0 is unobservable.
//! - A packet load that does not fit entirely inside the packet ends the program with 0.
//! - Load offsets are signed: negative ones are `SKF_NET_OFF`/`SKF_LL_OFF` relative loads
//!   (for ABS, IND and MSH alike, since IND's `X + k` is computed and then truncated to a
//!   signed 32-bit offset before the kernel's helper sees it); ABS loads at or above
//!   `SKF_AD_OFF` read socket metadata instead, whatever the load size.
//!   **libpcap differs**: its `bpf_filter()` rejects an IND load whose `X + k` overflows 32
//!   bits, where the kernel uses the wrapped offset (X = 0xffffffff, `ldb [x + 10]` reads
//!   byte 9), and it has no header-relative or ancillary loads offline.
//! - ALU is 32-bit wrapping. Division or modulo by X == 0 returns 0 from the program.
//! - Shifts by X use the count modulo 32: the eBPF interpreter masks with `& 31`, and the
//!   x86-64 and arm64 JITs emit 32-bit shift instructions that mask the same way.
//!   **libpcap differs**: its `bpf_filter()` yields 0 for X >= 32. Constant shifts >= 32 are
//!   rejected by the kernel's checker; here they are masked too, so nothing panics.
//! - `SKF_AD_VLAN_TAG` is the whole TCI, priority and DEI bits included: since Linux 5.0 the
//!   "tag present" flag no longer lives in the CFI/DEI bit (before, the kernel returned
//!   `tci & ~0x1000`). Programs wanting the VLAN ID must mask with 0xfff, as libpcap does.
//!   `SKF_AD_VLAN_TAG_PRESENT` is 1 when a tag was stripped (`meta.vlan_tci` is `Some`).
//!
//! Programs that `check` rejects may still be run: jumps are treated as unsigned forward
//! offsets, a jump or fall-through past the end returns 0, and so does any opcode the
//! kernel would not have accepted. The program counter only increases, so every run ends.
use crate::cbpf::{self, Insn};

/// Every opcode the kernel accepts, as single constants so that `match` can use them as
/// patterns (a pattern `LD | H | ABS` would mean "LD or H or ABS") and compile to a jump table.
pub(crate) mod ops {
    use crate::cbpf::*;
    pub const LD_W_ABS: u16 = LD | W | ABS;
    pub const LD_H_ABS: u16 = LD | H | ABS;
    pub const LD_B_ABS: u16 = LD | B | ABS;
    pub const LD_W_IND: u16 = LD | W | IND;
    pub const LD_H_IND: u16 = LD | H | IND;
    pub const LD_B_IND: u16 = LD | B | IND;
    pub const LD_W_LEN: u16 = LD | W | LEN;
    pub const LD_IMM: u16 = LD | IMM;
    pub const LD_MEM: u16 = LD | MEM;
    pub const LDX_W_LEN: u16 = LDX | W | LEN;
    pub const LDX_IMM: u16 = LDX | IMM;
    pub const LDX_MEM: u16 = LDX | MEM;
    pub const LDX_B_MSH: u16 = LDX | B | MSH;
    pub const ST_MEM: u16 = ST;
    pub const STX_MEM: u16 = STX;
    pub const ADD_K: u16 = ALU | ADD | K;
    pub const SUB_K: u16 = ALU | SUB | K;
    pub const MUL_K: u16 = ALU | MUL | K;
    pub const DIV_K: u16 = ALU | DIV | K;
    pub const MOD_K: u16 = ALU | MOD | K;
    pub const AND_K: u16 = ALU | AND | K;
    pub const OR_K: u16 = ALU | OR | K;
    pub const XOR_K: u16 = ALU | XOR | K;
    pub const LSH_K: u16 = ALU | LSH | K;
    pub const RSH_K: u16 = ALU | RSH | K;
    pub const ADD_X: u16 = ALU | ADD | X;
    pub const SUB_X: u16 = ALU | SUB | X;
    pub const MUL_X: u16 = ALU | MUL | X;
    pub const DIV_X: u16 = ALU | DIV | X;
    pub const MOD_X: u16 = ALU | MOD | X;
    pub const AND_X: u16 = ALU | AND | X;
    pub const OR_X: u16 = ALU | OR | X;
    pub const XOR_X: u16 = ALU | XOR | X;
    pub const LSH_X: u16 = ALU | LSH | X;
    pub const RSH_X: u16 = ALU | RSH | X;
    pub const NEG_A: u16 = ALU | NEG;
    pub const JMP_JA: u16 = JMP | JA;
    pub const JEQ_K: u16 = JMP | JEQ | K;
    pub const JGT_K: u16 = JMP | JGT | K;
    pub const JGE_K: u16 = JMP | JGE | K;
    pub const JSET_K: u16 = JMP | JSET | K;
    pub const JEQ_X: u16 = JMP | JEQ | X;
    pub const JGT_X: u16 = JMP | JGT | X;
    pub const JGE_X: u16 = JMP | JGE | X;
    pub const JSET_X: u16 = JMP | JSET | X;
    pub const RET_K: u16 = RET | K;
    pub const RET_A: u16 = RET | A;
    pub const MISC_TAX: u16 = MISC | TAX;
    pub const MISC_TXA: u16 = MISC | TXA;

    /// The kernel's whitelist (`chk_code_allowed` in net/core/filter.c).
    pub const ALLOWED: [u16; 49] = [
        LD_W_ABS, LD_H_ABS, LD_B_ABS, LD_W_IND, LD_H_IND, LD_B_IND, LD_W_LEN, LD_IMM, LD_MEM,
        LDX_W_LEN, LDX_IMM, LDX_MEM, LDX_B_MSH, ST_MEM, STX_MEM, ADD_K, SUB_K, MUL_K, DIV_K, MOD_K,
        AND_K, OR_K, XOR_K, LSH_K, RSH_K, ADD_X, SUB_X, MUL_X, DIV_X, MOD_X, AND_X, OR_X, XOR_X,
        LSH_X, RSH_X, NEG_A, JMP_JA, JEQ_K, JGT_K, JGE_K, JSET_K, JEQ_X, JGT_X, JGE_X, JSET_X,
        RET_K, RET_A, MISC_TAX, MISC_TXA,
    ];
}

/// Socket metadata that ancillary loads (SKF_AD_*) read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// skb->protocol: the EtherType, host byte order.
    pub protocol: u16,
    /// PACKET_HOST, PACKET_OUTGOING, ...
    pub pkttype: u32,
    pub ifindex: u32,
    /// The VLAN TCI the kernel stripped from the packet, if any.
    pub vlan_tci: Option<u16>,
    /// The TPID of the stripped tag (0x8100 or 0x88a8).
    pub vlan_tpid: u16,
    pub mark: u32,
    pub hatype: u16,
    /// Offset of the network header in `pkt`, for SKF_NET_OFF loads.
    pub net_off: usize,
    /// Offset of the link-layer header in `pkt`, for SKF_LL_OFF loads (None: no link header).
    pub ll_off: Option<usize>,
    /// skb->queue_mapping, for SKF_AD_QUEUE.
    pub queue: u16,
    /// skb->hash, for SKF_AD_RXHASH.
    pub rxhash: u32,
    /// The CPU running the filter, for SKF_AD_CPU.
    pub cpu: u32,
    /// What SKF_AD_RANDOM yields. The kernel draws a fresh value per load; a fixed one keeps
    /// runs reproducible.
    pub random: u32,
    /// The transport payload offset the kernel's flow dissector would find, for
    /// SKF_AD_PAY_OFFSET (0 when unknown, as the kernel returns on failure).
    pub pay_offset: u32,
}

/// Why a run stopped without reaching a `ret`. The kernel treats all of these as "reject"
/// (return 0); the distinction is for tests and for explaining a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abort {
    /// A packet load at instruction `pc` reached outside the packet (or needed a link-layer
    /// header the packet does not have).
    OutOfBounds { pc: usize },
    /// Division or modulo by zero at instruction `pc`.
    DivideByZero { pc: usize },
    /// Control ran past the last instruction: a jump too far or no final `ret`.
    FellOffEnd,
    /// Instruction `pc` is one the kernel's checker rejects: an unknown opcode, a scratch
    /// slot >= 16, or an unknown ancillary offset.
    Invalid { pc: usize },
}

/// Runs `prog` over `pkt` (the captured bytes) whose length on the wire was `wirelen`.
/// Returns the program's return value: 0 rejects, anything else keeps that many bytes.
pub fn run(prog: &[Insn], pkt: &[u8], wirelen: u32, meta: &Meta) -> u32 {
    try_run(prog, pkt, wirelen, meta).unwrap_or(0)
}

/// Like [`run`], but says why a run ended without a `ret` instead of returning 0.
pub fn try_run(prog: &[Insn], pkt: &[u8], wirelen: u32, meta: &Meta) -> Result<u32, Abort> {
    exec(prog, pkt, wirelen, meta, &mut 0)
}

/// Like [`try_run`], and also counts the instructions executed (the `ret`, or the one that
/// aborted, included): the cost measure when comparing two programs' work per packet.
pub fn count_steps(
    prog: &[Insn],
    pkt: &[u8],
    wirelen: u32,
    meta: &Meta,
) -> (Result<u32, Abort>, usize) {
    let mut steps = 0;
    let r = exec(prog, pkt, wirelen, meta, &mut steps);
    (r, steps)
}

fn exec(
    prog: &[Insn],
    pkt: &[u8],
    wirelen: u32,
    meta: &Meta,
    steps: &mut usize,
) -> Result<u32, Abort> {
    use ops::*;
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut mem = [0u32; cbpf::MEMWORDS as usize];
    let mut pc = 0usize;
    loop {
        let insn = prog.get(pc).ok_or(Abort::FellOffEnd)?;
        *steps += 1;
        let here = pc;
        pc += 1;
        let k = insn.k;
        let bounds = Abort::OutOfBounds { pc: here };
        let invalid = Abort::Invalid { pc: here };
        let div0 = Abort::DivideByZero { pc: here };
        // Ancillary offsets first; the rest of the ABS range is ordinary packet data.
        let load_abs = |size: usize| {
            if k >= cbpf::SKF_AD_OFF {
                ancillary(pkt, meta, a, x, k - cbpf::SKF_AD_OFF).ok_or(invalid)
            } else {
                load(pkt, meta, k, size).ok_or(bounds)
            }
        };
        // IND offsets wrap in 32 bits, then are read as signed, like the kernel's.
        let load_ind = |size: usize| load(pkt, meta, x.wrapping_add(k), size).ok_or(bounds);
        // Conditional jumps; `pc` already points at the next instruction.
        let mut branch = |cond: bool| pc += usize::from(if cond { insn.jt } else { insn.jf });
        match insn.code {
            // Loads into A.
            LD_W_ABS => a = load_abs(4)?,
            LD_H_ABS => a = load_abs(2)?,
            LD_B_ABS => a = load_abs(1)?,
            LD_W_IND => a = load_ind(4)?,
            LD_H_IND => a = load_ind(2)?,
            LD_B_IND => a = load_ind(1)?,
            LD_W_LEN => a = wirelen,
            LD_IMM => a = k,
            LD_MEM => a = *mem.get(k as usize).ok_or(invalid)?,
            // Loads into X.
            LDX_W_LEN => x = wirelen,
            LDX_IMM => x = k,
            LDX_MEM => x = *mem.get(k as usize).ok_or(invalid)?,
            LDX_B_MSH => x = (load(pkt, meta, k, 1).ok_or(bounds)? & 0xf) << 2,
            // Stores.
            ST_MEM => *mem.get_mut(k as usize).ok_or(invalid)? = a,
            STX_MEM => *mem.get_mut(k as usize).ok_or(invalid)? = x,
            // ALU with a constant operand (the checker rejects k == 0 for DIV/MOD and k >= 32
            // for shifts; if run anyway, they abort and mask like the X forms).
            ADD_K => a = a.wrapping_add(k),
            SUB_K => a = a.wrapping_sub(k),
            MUL_K => a = a.wrapping_mul(k),
            DIV_K => a = a.checked_div(k).ok_or(div0)?,
            MOD_K => a = a.checked_rem(k).ok_or(div0)?,
            AND_K => a &= k,
            OR_K => a |= k,
            XOR_K => a ^= k,
            LSH_K => a = a.wrapping_shl(k),
            RSH_K => a = a.wrapping_shr(k),
            // ALU with X; wrapping_shl/shr take the count modulo 32, as the kernel does.
            ADD_X => a = a.wrapping_add(x),
            SUB_X => a = a.wrapping_sub(x),
            MUL_X => a = a.wrapping_mul(x),
            DIV_X => a = a.checked_div(x).ok_or(div0)?,
            MOD_X => a = a.checked_rem(x).ok_or(div0)?,
            AND_X => a &= x,
            OR_X => a |= x,
            XOR_X => a ^= x,
            LSH_X => a = a.wrapping_shl(x),
            RSH_X => a = a.wrapping_shr(x),
            NEG_A => a = a.wrapping_neg(),
            // Jumps: offsets are unsigned, so the program counter never goes back and every
            // run ends. An offset too large for usize cannot land inside the program.
            JMP_JA => {
                pc = usize::try_from(k)
                    .ok()
                    .and_then(|k| pc.checked_add(k))
                    .ok_or(Abort::FellOffEnd)?
            }
            JEQ_K => branch(a == k),
            JGT_K => branch(a > k),
            JGE_K => branch(a >= k),
            JSET_K => branch(a & k != 0),
            JEQ_X => branch(a == x),
            JGT_X => branch(a > x),
            JGE_X => branch(a >= x),
            JSET_X => branch(a & x != 0),
            RET_K => return Ok(k),
            RET_A => return Ok(a),
            MISC_TAX => x = a,
            MISC_TXA => a = x,
            _ => return Err(invalid),
        }
    }
}

/// Reads `size` bytes big-endian at kernel load offset `k`, or `None` if any byte is outside
/// the packet. `k` is signed as in the kernel: negative values are header-relative.
#[inline]
fn load(pkt: &[u8], meta: &Meta, k: u32, size: usize) -> Option<u32> {
    let start = if (k as i32) >= 0 {
        k as usize
    } else if k >= cbpf::SKF_NET_OFF {
        meta.net_off.checked_add((k - cbpf::SKF_NET_OFF) as usize)?
    } else if k >= cbpf::SKF_LL_OFF {
        meta.ll_off?.checked_add((k - cbpf::SKF_LL_OFF) as usize)?
    } else {
        return None;
    };
    let bytes = pkt.get(start..start.checked_add(size)?)?;
    Some(bytes.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b)))
}

/// The ancillary field at `SKF_AD_OFF + off`, as the kernel's `convert_bpf_extensions`
/// computes it. Unknown offsets (which the checker rejects) abort the program.
fn ancillary(pkt: &[u8], meta: &Meta, a: u32, x: u32, off: u32) -> Option<u32> {
    use cbpf::*;
    Some(match off {
        SKF_AD_PROTOCOL => meta.protocol.into(),
        SKF_AD_PKTTYPE => meta.pkttype,
        SKF_AD_IFINDEX => meta.ifindex,
        SKF_AD_NLATTR => nlattr(pkt, a, x),
        SKF_AD_NLATTR_NEST => nlattr_nest(pkt, a, x),
        SKF_AD_MARK => meta.mark,
        SKF_AD_QUEUE => meta.queue.into(),
        SKF_AD_HATYPE => meta.hatype.into(),
        SKF_AD_RXHASH => meta.rxhash,
        SKF_AD_CPU => meta.cpu,
        SKF_AD_ALU_XOR_X => a ^ x,
        SKF_AD_VLAN_TAG => meta.vlan_tci.unwrap_or(0).into(),
        SKF_AD_VLAN_TAG_PRESENT => meta.vlan_tci.is_some().into(),
        SKF_AD_PAY_OFFSET => meta.pay_offset,
        SKF_AD_RANDOM => meta.random,
        SKF_AD_VLAN_TPID => meta.vlan_tpid.into(),
        _ => return None,
    })
}

/// Netlink attribute header size (`struct nlattr`: u16 length, u16 type, host byte order).
const NLA_HDRLEN: usize = 4;

/// SKF_AD_NLATTR: offset of the first attribute of type X in the attribute stream starting
/// at offset A (0 if none), as the kernel's `bpf_skb_get_nlattr`.
fn nlattr(pkt: &[u8], a: u32, x: u32) -> u32 {
    let start = a as usize;
    if pkt.len() < NLA_HDRLEN || start > pkt.len() - NLA_HDRLEN {
        return 0;
    }
    nla_find(pkt, start, pkt.len() - start, x)
}

/// SKF_AD_NLATTR_NEST: like [`nlattr`], but searching inside the attribute at offset A.
fn nlattr_nest(pkt: &[u8], a: u32, x: u32) -> u32 {
    let start = a as usize;
    if pkt.len() < NLA_HDRLEN || start > pkt.len() - NLA_HDRLEN {
        return 0;
    }
    let Some((nla_len, _)) = nla_header(pkt, start) else {
        return 0;
    };
    if nla_len > pkt.len() - start {
        return 0;
    }
    match nla_len.checked_sub(NLA_HDRLEN) {
        Some(inner) => nla_find(pkt, start + NLA_HDRLEN, inner, x),
        None => 0,
    }
}

fn nla_header(pkt: &[u8], at: usize) -> Option<(usize, u16)> {
    let h = pkt.get(at..at.checked_add(NLA_HDRLEN)?)?;
    Some((
        u16::from_ne_bytes([h[0], h[1]]).into(),
        u16::from_ne_bytes([h[2], h[3]]),
    ))
}

/// The kernel's `nla_find` over `pkt[start..start + len]`: walk well-formed attributes
/// (4-byte aligned), compare the type without the NESTED/BYTEORDER flag bits.
fn nla_find(pkt: &[u8], start: usize, len: usize, ty: u32) -> u32 {
    const NLA_TYPE_MASK: u16 = 0x3fff;
    let (mut pos, mut rem) = (start, len);
    while rem >= NLA_HDRLEN {
        let Some((nla_len, nla_type)) = nla_header(pkt, pos) else {
            return 0;
        };
        if nla_len < NLA_HDRLEN || nla_len > rem {
            return 0;
        }
        if u32::from(nla_type & NLA_TYPE_MASK) == ty {
            return u32::try_from(pos).unwrap_or(0);
        }
        let step = (nla_len + 3) & !3;
        if step > rem {
            return 0;
        }
        pos += step;
        rem -= step;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbpf::*;

    const RETA: Insn = Insn::stmt(RET | A, 0);

    fn eval(prog: &[Insn], pkt: &[u8]) -> u32 {
        run(prog, pkt, pkt.len() as u32, &Meta::default())
    }

    /// Computes `A op X` for A = `a`, X = `x`.
    fn alu_x(op: u16, a: u32, x: u32) -> u32 {
        eval(
            &[
                Insn::stmt(LD | IMM, a),
                Insn::stmt(LDX | IMM, x),
                Insn::stmt(ALU | op | X, 0),
                RETA,
            ],
            &[],
        )
    }
    fn alu_k(op: u16, a: u32, k: u32) -> u32 {
        eval(
            &[Insn::stmt(LD | IMM, a), Insn::stmt(ALU | op | K, k), RETA],
            &[],
        )
    }

    #[test]
    fn packet_loads_and_bounds() {
        let pkt = [0x12, 0x34, 0x56, 0x78, 0x9a];
        assert_eq!(eval(&[Insn::stmt(LD | W | ABS, 1), RETA], &pkt), 0x3456789a);
        assert_eq!(eval(&[Insn::stmt(LD | H | ABS, 3), RETA], &pkt), 0x789a);
        assert_eq!(eval(&[Insn::stmt(LD | B | ABS, 4), RETA], &pkt), 0x9a);
        // Any byte past the end rejects, even if the program would return a constant.
        let oob = [Insn::stmt(LD | W | ABS, 2), Insn::stmt(RET | K, 99)];
        assert_eq!(eval(&oob, &pkt), 0);
        assert_eq!(
            eval(
                &[Insn::stmt(LD | H | ABS, 4), Insn::stmt(RET | K, 99)],
                &pkt
            ),
            0
        );
        assert_eq!(
            eval(
                &[
                    Insn::stmt(LD | B | ABS, 0x7fff_ffff),
                    Insn::stmt(RET | K, 9)
                ],
                &pkt
            ),
            0
        );
        // Negative offsets below SKF_LL_OFF are never valid.
        assert_eq!(
            eval(
                &[
                    Insn::stmt(LD | B | ABS, 0x8000_0000),
                    Insn::stmt(RET | K, 9)
                ],
                &pkt
            ),
            0
        );
    }

    #[test]
    fn indirect_loads_wrap() {
        let pkt = [1, 2, 3, 4];
        let prog = |x: u32, k: u32| [Insn::stmt(LDX | IMM, x), Insn::stmt(LD | B | IND, k), RETA];
        assert_eq!(eval(&prog(1, 2), &pkt), 4);
        // X + k wraps to 1.
        assert_eq!(eval(&prog(u32::MAX, 2), &pkt), 2);
        assert_eq!(eval(&prog(2, 2), &pkt), 0);
        // Lands in the SKF_NET_OFF range: network-header relative, like the kernel.
        let meta = Meta {
            net_off: 2,
            ..Meta::default()
        };
        let p = prog(1, SKF_NET_OFF);
        assert_eq!(run(&p, &pkt, 4, &meta), 4);
    }

    #[test]
    fn msh() {
        let pkt = [0x45, 0x00];
        let prog = [
            Insn::stmt(LD | IMM, 7),
            Insn::stmt(LDX | B | MSH, 0),
            Insn::stmt(MISC | TXA, 0),
            RETA,
        ];
        assert_eq!(eval(&prog, &pkt), 20);
        // A survives the MSH load.
        assert_eq!(
            eval(
                &[Insn::stmt(LD | IMM, 7), Insn::stmt(LDX | B | MSH, 0), RETA],
                &pkt
            ),
            7
        );
        assert_eq!(
            eval(
                &[Insn::stmt(LDX | B | MSH, 2), Insn::stmt(RET | K, 1)],
                &pkt
            ),
            0
        );
    }

    #[test]
    fn lengths_memory_and_transfers() {
        let prog = [
            Insn::stmt(LD | W | LEN, 0),
            Insn::stmt(ST, 15),
            Insn::stmt(LDX | W | LEN, 0),
            Insn::stmt(ALU | ADD | X, 0),
            Insn::stmt(MISC | TAX, 0),
            Insn::stmt(LD | MEM, 15),
            Insn::stmt(STX, 0),
            Insn::stmt(LDX | MEM, 0),
            Insn::stmt(MISC | TXA, 0),
            RETA,
        ];
        assert_eq!(run(&prog, &[], 1500, &Meta::default()), 3000);
        // Out-of-range slots (rejected by the checker) abort instead of panicking.
        assert_eq!(eval(&[Insn::stmt(ST, 16), Insn::stmt(RET | K, 1)], &[]), 0);
    }

    #[test]
    fn alu() {
        assert_eq!(alu_k(ADD, u32::MAX, 2), 1);
        assert_eq!(alu_k(SUB, 1, 2), u32::MAX);
        assert_eq!(alu_x(MUL, 0x10000, 0x10000), 0);
        assert_eq!(alu_k(DIV, 7, 2), 3);
        assert_eq!(alu_k(MOD, 7, 4), 3);
        assert_eq!(alu_x(AND, 0xff0, 0x0ff), 0x0f0);
        assert_eq!(alu_x(OR, 0xf00, 0x00f), 0xf0f);
        assert_eq!(alu_k(XOR, 0xff, 0x0f), 0xf0);
        assert_eq!(
            eval(
                &[Insn::stmt(LD | IMM, 1), Insn::stmt(ALU | NEG, 0), RETA],
                &[]
            ),
            u32::MAX
        );
    }

    #[test]
    fn division_by_zero_rejects() {
        assert_eq!(alu_x(DIV, 7, 0), 0);
        assert_eq!(alu_x(MOD, 7, 0), 0);
        // Not merely "A = 0": the program stops, so a later `ret #1` is never reached.
        let p = [Insn::stmt(ALU | DIV | X, 0), Insn::stmt(RET | K, 1)];
        assert_eq!(eval(&p, &[]), 0);
        let p = [Insn::stmt(ALU | MOD | K, 0), Insn::stmt(RET | K, 1)];
        assert_eq!(eval(&p, &[]), 0);
    }

    #[test]
    fn shifts_mask_count_like_the_kernel() {
        assert_eq!(alu_x(LSH, 0x8000_0001, 1), 2);
        assert_eq!(alu_x(RSH, 0x8000_0001, 31), 1);
        // Kernel: count & 31. (libpcap's bpf_filter would give 0 for both.)
        assert_eq!(alu_x(LSH, 0x8000_0001, 32), 0x8000_0001);
        assert_eq!(alu_x(RSH, 0x8000_0001, 33), 0x4000_0000);
        assert_eq!(alu_k(LSH, 3, 33), 6);
    }

    #[test]
    fn jumps() {
        let prog = |code: u16, k: u32| {
            [
                Insn::stmt(LD | IMM, 5),
                Insn::jump(JMP | code, k, 1, 0),
                Insn::stmt(RET | K, 10),
                Insn::stmt(RET | K, 20),
            ]
        };
        assert_eq!(eval(&prog(JEQ | K, 5), &[]), 20);
        assert_eq!(eval(&prog(JEQ | K, 6), &[]), 10);
        assert_eq!(eval(&prog(JGT | K, 4), &[]), 20);
        assert_eq!(eval(&prog(JGT | K, 5), &[]), 10);
        assert_eq!(eval(&prog(JGE | K, 5), &[]), 20);
        assert_eq!(eval(&prog(JGE | K, 6), &[]), 10);
        assert_eq!(eval(&prog(JSET | K, 4), &[]), 20);
        assert_eq!(eval(&prog(JSET | K, 2), &[]), 10);
        // Comparisons are unsigned.
        assert_eq!(eval(&prog(JGT | K, u32::MAX), &[]), 10);
        let x = |code: u16, xv: u32| {
            [
                Insn::stmt(LD | IMM, 5),
                Insn::stmt(LDX | IMM, xv),
                Insn::jump(JMP | code, 0, 1, 0),
                Insn::stmt(RET | K, 10),
                Insn::stmt(RET | K, 20),
            ]
        };
        assert_eq!(eval(&x(JEQ | X, 5), &[]), 20);
        assert_eq!(eval(&x(JGT | X, 5), &[]), 10);
        assert_eq!(eval(&x(JGE | X, 5), &[]), 20);
        assert_eq!(eval(&x(JSET | X, 8), &[]), 10);
        let ja = [
            Insn::stmt(JMP | JA, 1),
            Insn::stmt(RET | K, 10),
            Insn::stmt(RET | K, 20),
        ];
        assert_eq!(eval(&ja, &[]), 20);
    }

    #[test]
    fn running_off_the_end_or_bad_code_rejects() {
        assert_eq!(eval(&[], &[]), 0);
        assert_eq!(eval(&[Insn::stmt(LD | IMM, 1)], &[]), 0);
        assert_eq!(eval(&[Insn::stmt(JMP | JA, u32::MAX), RETA], &[]), 0);
        assert_eq!(
            eval(&[Insn::jump(JMP | JEQ | K, 0, 200, 200), RETA], &[]),
            0
        );
        assert_eq!(eval(&[Insn::stmt(0xff, 0), Insn::stmt(RET | K, 1)], &[]), 0);
        // `ldx [k]` is seccomp-only; not a socket filter instruction.
        assert_eq!(
            eval(
                &[Insn::stmt(LDX | W | ABS, 0), Insn::stmt(RET | K, 1)],
                &[0; 8]
            ),
            0
        );
    }

    #[test]
    fn abort_reasons() {
        let m = Meta::default();
        let t = |p: &[Insn]| try_run(p, &[1, 2], 2, &m);
        assert_eq!(
            t(&[Insn::stmt(LD | H | ABS, 1), RETA]),
            Err(Abort::OutOfBounds { pc: 0 })
        );
        assert_eq!(
            t(&[Insn::stmt(LD | IMM, 1), Insn::stmt(ALU | MOD | X, 0), RETA]),
            Err(Abort::DivideByZero { pc: 1 })
        );
        assert_eq!(t(&[Insn::stmt(JMP | JA, 1), RETA]), Err(Abort::FellOffEnd));
        assert_eq!(
            t(&[Insn::stmt(LD | MEM, 16), RETA]),
            Err(Abort::Invalid { pc: 0 })
        );
        assert_eq!(
            t(&[Insn::stmt(LD | B | ABS, SKF_AD_OFF + 1), RETA]),
            Err(Abort::Invalid { pc: 0 })
        );
        assert_eq!(t(&[Insn::stmt(RET | X, 0)]), Err(Abort::Invalid { pc: 0 }));
        assert_eq!(t(&[Insn::stmt(LD | H | ABS, 0), RETA]), Ok(0x0102));
    }

    #[test]
    fn ancillary() {
        let meta = Meta {
            protocol: 0x86dd,
            pkttype: PACKET_OUTGOING,
            ifindex: 7,
            vlan_tci: Some(0xf00a),
            vlan_tpid: 0x88a8,
            mark: 0xdead,
            hatype: 1,
            queue: 3,
            rxhash: 0x1234_5678,
            cpu: 2,
            random: 42,
            pay_offset: 54,
            ..Meta::default()
        };
        let get = |size: u16, n: u32| {
            run(
                &[Insn::stmt(LD | size | ABS, SKF_AD_OFF + n), RETA],
                &[],
                0,
                &meta,
            )
        };
        for size in [W, H, B] {
            // The load size is ignored: `ldb [proto]` returns all 16 bits.
            assert_eq!(get(size, SKF_AD_PROTOCOL), 0x86dd);
            assert_eq!(get(size, SKF_AD_PKTTYPE), 4);
            assert_eq!(get(size, SKF_AD_IFINDEX), 7);
            assert_eq!(get(size, SKF_AD_MARK), 0xdead);
            assert_eq!(get(size, SKF_AD_QUEUE), 3);
            assert_eq!(get(size, SKF_AD_HATYPE), 1);
            assert_eq!(get(size, SKF_AD_RXHASH), 0x1234_5678);
            assert_eq!(get(size, SKF_AD_CPU), 2);
            // Full TCI: priority 7, DEI set, VID 10.
            assert_eq!(get(size, SKF_AD_VLAN_TAG), 0xf00a);
            assert_eq!(get(size, SKF_AD_VLAN_TAG_PRESENT), 1);
            assert_eq!(get(size, SKF_AD_VLAN_TPID), 0x88a8);
            assert_eq!(get(size, SKF_AD_PAY_OFFSET), 54);
            assert_eq!(get(size, SKF_AD_RANDOM), 42);
            assert_eq!(get(size, SKF_AD_MAX), 0, "unknown ancillary rejects");
            assert_eq!(get(size, 2), 0, "misaligned ancillary rejects");
        }
        let untagged = Meta::default();
        let p = [
            Insn::stmt(LD | B | ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT),
            Insn::stmt(ALU | ADD | K, 1),
            RETA,
        ];
        assert_eq!(run(&p, &[], 0, &untagged), 1);
        let xor = [
            Insn::stmt(LD | IMM, 0xf0),
            Insn::stmt(LDX | IMM, 0xff),
            Insn::stmt(LD | W | ABS, SKF_AD_OFF + SKF_AD_ALU_XOR_X),
            RETA,
        ];
        assert_eq!(eval(&xor, &[]), 0x0f);
    }

    #[test]
    fn header_relative_loads() {
        let pkt = [0xaa, 0xbb, 0x45, 0x00, 0x11, 0x22];
        let meta = Meta {
            net_off: 2,
            ll_off: Some(1),
            ..Meta::default()
        };
        let ld = |k: u32| run(&[Insn::stmt(LD | B | ABS, k), RETA], &pkt, 6, &meta);
        assert_eq!(ld(SKF_NET_OFF), 0x45);
        assert_eq!(ld(SKF_NET_OFF + 3), 0x22);
        assert_eq!(ld(SKF_NET_OFF + 4), 0);
        assert_eq!(ld(SKF_LL_OFF), 0xbb);
        assert_eq!(ld(SKF_LL_OFF - 1), 0);
        let no_ll = Meta {
            ll_off: None,
            ..meta.clone()
        };
        assert_eq!(
            run(
                &[Insn::stmt(LD | B | ABS, SKF_LL_OFF), Insn::stmt(RET | K, 1)],
                &pkt,
                6,
                &no_ll
            ),
            0
        );
        // MSH goes through the same path.
        let msh = [
            Insn::stmt(LDX | B | MSH, SKF_NET_OFF),
            Insn::stmt(MISC | TXA, 0),
            RETA,
        ];
        assert_eq!(run(&msh, &pkt, 6, &meta), 20);
    }

    #[test]
    fn netlink_attributes() {
        // Headers are host byte order. At 4: type 1, len 8. At 12: type 2 with the NESTED
        // flag (0x4000), len 12, containing at 16: type 5, len 5 (+3 bytes padding).
        let mut pkt = vec![0u8; 4];
        for (len, ty, payload) in [(8u16, 1u16, 4), (12, 0x4002, 0), (5, 5, 4)] {
            pkt.extend_from_slice(&len.to_ne_bytes());
            pkt.extend_from_slice(&ty.to_ne_bytes());
            pkt.resize(pkt.len() + payload, 0);
        }
        let find = |code: u32, a: u32, x: u32| {
            let prog = [
                Insn::stmt(LD | IMM, a),
                Insn::stmt(LDX | IMM, x),
                Insn::stmt(LD | W | ABS, SKF_AD_OFF + code),
                RETA,
            ];
            run(&prog, &pkt, pkt.len() as u32, &Meta::default())
        };
        assert_eq!(find(SKF_AD_NLATTR, 4, 1), 4);
        assert_eq!(find(SKF_AD_NLATTR, 4, 2), 12);
        assert_eq!(find(SKF_AD_NLATTR, 4, 3), 0);
        assert_eq!(find(SKF_AD_NLATTR, 100, 2), 0);
        assert_eq!(find(SKF_AD_NLATTR_NEST, 12, 5), 16);
        assert_eq!(find(SKF_AD_NLATTR_NEST, 12, 1), 0);
        // A length running past the end stops the walk.
        assert_eq!(find(SKF_AD_NLATTR_NEST, 4, 5), 0);
    }
}
