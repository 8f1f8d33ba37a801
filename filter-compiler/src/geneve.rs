//! Offsets known only at run time: what follows `geneve` (or `vxlan`) looks inside the
//! tunnel, whose start depends on the outer IP header's length (and Geneve's options').
//!
//! Lowering writes the tests after `geneve` with *virtual* absolute offsets (a base tag plus
//! the offset inside the inner frame), as if the inner frame sat at a fixed place. The `geneve`
//! primitive itself computes the real bases into scratch memory, and [`resolve`] turns every
//! virtual load into a load relative to its base. Tests stay self-contained: each reloads its
//! base from memory, which only `geneve` writes.

use crate::cbpf::*;
use crate::ir::{Bool, Test};
use std::rc::Rc;

/// Geneve's UDP port.
pub const PORT: u32 = 6081;
/// VXLAN's UDP port (RFC 7348), and its flags byte with only the I (VNI valid) bit set:
/// libpcap requires exactly that.
pub const VXLAN_PORT: u32 = 4789;
pub const VXLAN_FLAGS: u32 = 0x08;

/// Scratch slots holding the bases: inner link header, link-type field, network header.
/// Relations use the slots below [`FIRST_SLOT`]; the kernel view keeps the last one.
pub const FIRST_SLOT: u32 = 12;
pub const SLOT_LL: u32 = 12;
pub const SLOT_LT: u32 = 13;
pub const SLOT_NL: u32 = 14;

/// Virtual offsets: base tag + offset (up to 16 MiB) inside the inner frame. Real packet
/// offsets never get here (see `lower::packet_offset`).
pub const VIRT_LL: u32 = 0xd000_0000;
pub const VIRT_LT: u32 = 0xd100_0000;
pub const VIRT_NL: u32 = 0xd200_0000;
const VIRT_SPAN: u32 = 0x0100_0000;

/// With M[SLOT_LL] = start of the Geneve header G: inner = G + 8 + 4 * optlen, and
/// if the protocol (at G + 2) is 0x6558: link = inner, type = inner + 12, net = inner + 14;
/// else: link = inner, type = G + 2, net = inner. (A branch-free form, one block, took 36
/// instructions; branching takes 23.)
pub fn inner_offsets() -> Bool {
    let s = |code: u16, k: u32| Insn::stmt(code, k);
    let inner = Bool::Effect(Rc::new(vec![
        // net = inner = G + 8 + 4 * (G[0] & 0x3f)
        s(LDX | MEM, SLOT_LL),
        s(LD | B | IND, 0),
        s(ALU | AND | K, 0x3f),
        s(ALU | LSH | K, 2),
        s(ALU | ADD | K, 8),
        // X again: on a live VLAN-stripped frame the load above was translated and used X.
        s(LDX | MEM, SLOT_LL),
        s(ALU | ADD | X, 0),
        s(ST, SLOT_NL),
    ]));
    let ethernet = Bool::test(
        vec![s(LDX | MEM, SLOT_LL), s(LD | H | IND, 2)],
        JMP | JEQ | K,
        0x6558,
    );
    let frame = Bool::Effect(Rc::new(vec![
        s(LD | MEM, SLOT_NL),
        s(ST, SLOT_LL),
        s(ALU | ADD | K, 12),
        s(ST, SLOT_LT),
        s(ALU | ADD | K, 2),
        s(ST, SLOT_NL),
    ]));
    let payload = Bool::Effect(Rc::new(vec![
        s(LD | MEM, SLOT_LL),
        s(ALU | ADD | K, 2),
        s(ST, SLOT_LT),
        s(LD | MEM, SLOT_NL),
        s(ST, SLOT_LL),
    ]));
    inner.and(ethernet.and(frame).or(payload))
}

/// VXLAN: M[SLOT_LL] already holds the inner Ethernet frame's start; the link-type field
/// and the network header follow it at 12 and 14.
pub fn ethernet_offsets() -> Bool {
    let s = |code: u16, k: u32| Insn::stmt(code, k);
    Bool::Effect(Rc::new(vec![
        s(LD | MEM, SLOT_LL),
        s(ALU | ADD | K, 12),
        s(ST, SLOT_LT),
        s(ALU | ADD | K, 2),
        s(ST, SLOT_NL),
    ]))
}

/// Statements that zero the base slots, so no path reads memory it never wrote (the kernel
/// refuses such programs; libpcap's interpreter would read stale values).
pub fn init() -> Bool {
    Bool::Effect(Rc::new(vec![
        Insn::stmt(LD | IMM, 0),
        Insn::stmt(ST, SLOT_LL),
        Insn::stmt(ST, SLOT_LT),
        Insn::stmt(ST, SLOT_NL),
    ]))
}

fn base(k: u32) -> Option<(u32, u32)> {
    [(VIRT_LL, SLOT_LL), (VIRT_LT, SLOT_LT), (VIRT_NL, SLOT_NL)]
        .into_iter()
        .find(|&(v, _)| (v..v + VIRT_SPAN).contains(&k))
        .map(|(v, slot)| (slot, k - v))
}

/// Rewrites virtual loads into loads relative to the bases in scratch memory.
pub fn resolve(b: Bool) -> Bool {
    match b {
        Bool::Test(t) => Bool::Test(Rc::new(Test::new(stmts(&t.stmts), t.jmp, t.k))),
        Bool::Effect(e) => Bool::Effect(Rc::new(stmts(&e))),
        Bool::And(a, b) => Bool::And(Box::new(resolve(*a)), Box::new(resolve(*b))),
        Bool::Or(a, b) => Bool::Or(Box::new(resolve(*a)), Box::new(resolve(*b))),
        Bool::Not(a) => Bool::Not(Box::new(resolve(*a))),
        Bool::Const(_) | Bool::Chain(_) => b,
    }
}

fn stmts(s: &[Insn]) -> Vec<Insn> {
    let mut out = Vec::with_capacity(s.len());
    for i in s {
        let (class, mode) = (i.code & 0x07, i.code & 0xe0);
        let Some((slot, k)) =
            base(i.k).filter(|_| matches!((class, mode), (LD, ABS) | (LD, IND) | (LDX, MSH)))
        else {
            out.push(*i);
            continue;
        };
        let size = i.code & 0x18;
        match (class, mode) {
            // X is dead at absolute loads.
            (LD, ABS) => out.extend([Insn::stmt(LDX | MEM, slot), Insn::stmt(LD | size | IND, k)]),
            // A is dead at indexed loads (it is about to be loaded).
            (LD, IND) => out.extend([
                Insn::stmt(MISC | TXA, 0),
                Insn::stmt(LDX | MEM, slot),
                Insn::stmt(ALU | ADD | X, 0),
                Insn::stmt(MISC | TAX, 0),
                Insn::stmt(LD | size | IND, k),
            ]),
            // X = 4 * (byte & 0xf); A is dead at MSH loads.
            _ => out.extend([
                Insn::stmt(LDX | MEM, slot),
                Insn::stmt(LD | B | IND, k),
                Insn::stmt(ALU | AND | K, 0xf),
                Insn::stmt(ALU | LSH | K, 2),
                Insn::stmt(MISC | TAX, 0),
            ]),
        }
    }
    out
}
