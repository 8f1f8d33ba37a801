//! What the kernel shows a socket filter on an Ethernet AF_PACKET socket, and how we make a
//! filter mean there what it means on the frame as it is written to a file.
//!
//! Linux moves the outer 802.1Q/802.1ad tag of received frames out of the packet into socket
//! metadata (SKF_AD_VLAN_TAG_PRESENT, SKF_AD_VLAN_TPID, SKF_AD_VLAN_TAG); the capture puts it
//! back when writing. libpcap compiles the same bytes for both, so on a live socket `ip`
//! matches tagged frames that it does not match in the file written from them. We compile the
//! filter twice instead: once for frames that arrive as stored (no tag stripped), and once for
//! frames with a stripped tag, where every read of the stored frame is translated:
//!
//! - bytes 0..12 (the MAC addresses) are where they were;
//! - bytes 12..16 (the tag) come from the metadata;
//! - bytes from 16 on sit 4 bytes earlier;
//! - the length is 4 bytes more than the kernel's.
//!
//! The program tests SKF_AD_VLAN_TAG_PRESENT once and runs the matching version.

use crate::cbpf::*;
use crate::error::{Error, KernelView, Note};
use crate::ir::{Bool, ChainWalk, Test};
use std::rc::Rc;

/// Scratch slot used by the translated loads; the lowering leaves it free.
pub const SCRATCH: u32 = MEMWORDS - 1;

fn anc(off: u32) -> Insn {
    Insn::stmt(LD | W | ABS, SKF_AD_OFF + off)
}

/// `(no tag stripped and plain) or (tag stripped and stripped)`.
pub fn combine(plain: Bool, stripped: Bool) -> Bool {
    let untagged = Bool::test(vec![anc(SKF_AD_VLAN_TAG_PRESENT)], JMP | JEQ | K, 0);
    untagged.clone().and(plain).or(untagged.not().and(stripped))
}

/// Rewrites a formula written against the stored frame for the kernel's tag-stripped view.
pub fn for_stripped_frames(b: Bool) -> Result<Bool, Error> {
    Ok(match b {
        Bool::Const(_) => b,
        Bool::Test(t) => Bool::Test(Rc::new(Test::new(stmts(&t.stmts)?, t.jmp, t.k))),
        Bool::And(a, b) => Bool::And(
            Box::new(for_stripped_frames(*a)?),
            Box::new(for_stripped_frames(*b)?),
        ),
        Bool::Or(a, b) => Bool::Or(
            Box::new(for_stripped_frames(*a)?),
            Box::new(for_stripped_frames(*b)?),
        ),
        Bool::Not(a) => Bool::Not(Box::new(for_stripped_frames(*a)?)),
        Bool::Effect(e) => Bool::Effect(Rc::new(stmts(&e)?)),
        Bool::Chain(w) => {
            if w.base < 16 {
                return Err(Error::whole(KernelView::ProtochainNeedsVlan));
            }
            Bool::Chain(Rc::new(ChainWalk {
                start: stmts(&w.start)?,
                base: w.base - 4,
                ..(*w).clone()
            }))
        }
    })
}

fn stmts(s: &[Insn]) -> Result<Vec<Insn>, Error> {
    let mut out = Vec::with_capacity(s.len() + 2);
    for i in s {
        let (class, size, mode) = (i.code & 0x07, i.code & 0x18, i.code & 0xe0);
        match (class, mode) {
            (LD, ABS) if i.k < SKF_LL_OFF => out.extend(absolute(size, i.k)?),
            (LD, IND) if i.k >= 16 && i.k < SKF_LL_OFF => out.push(Insn::stmt(i.code, i.k - 4)),
            (LD, IND) if i.k < 16 => out.extend(indexed(size, i.k)),
            (LD, LEN) => out.extend([*i, Insn::stmt(ALU | ADD | K, 4)]),
            (LDX, MSH) if i.k >= 16 => out.push(Insn::stmt(i.code, i.k - 4)),
            (LDX, MSH) if i.k >= 12 => {
                // 4 * (tag byte & 0xf); A is dead wherever the compiler puts an MSH load.
                let field = if i.k < 14 {
                    SKF_AD_VLAN_TPID
                } else {
                    SKF_AD_VLAN_TAG
                };
                let shift = if i.k % 2 == 0 { 8 } else { 0 };
                out.extend([
                    anc(field),
                    Insn::stmt(ALU | RSH | K, shift),
                    Insn::stmt(ALU | AND | K, 0xf),
                    Insn::stmt(ALU | LSH | K, 2),
                    Insn::stmt(MISC | TAX, 0),
                ]);
            }
            _ => out.push(*i),
        }
    }
    Ok(out)
}

/// An absolute load of the stored frame, from the stripped one.
fn absolute(size: u16, k: u32) -> Result<Vec<Insn>, Error> {
    let bytes = match size {
        B => 1,
        H => 2,
        _ => 4,
    };
    if k + bytes <= 12 {
        return Ok(vec![Insn::stmt(LD | size | ABS, k)]);
    }
    if k >= 16 {
        return Ok(vec![Insn::stmt(LD | size | ABS, k - 4)]);
    }
    let tpid = anc(SKF_AD_VLAN_TPID);
    let tci = anc(SKF_AD_VLAN_TAG);
    Ok(match (k, bytes) {
        (12, 2) => vec![tpid],
        (14, 2) => vec![tci],
        (12, 1) => vec![tpid, Insn::stmt(ALU | RSH | K, 8)],
        (13, 1) => vec![tpid, Insn::stmt(ALU | AND | K, 0xff)],
        (14, 1) => vec![tci, Insn::stmt(ALU | RSH | K, 8)],
        (15, 1) => vec![tci, Insn::stmt(ALU | AND | K, 0xff)],
        // The whole tag; X is dead at every absolute load the compiler emits.
        (12, 4) => vec![
            tci,
            Insn::stmt(MISC | TAX, 0),
            tpid,
            Insn::stmt(ALU | LSH | K, 16),
            Insn::stmt(ALU | OR | X, 0),
        ],
        _ => {
            return Err(Error::whole(KernelView::AcrossVlanTag { bytes, offset: k })
                .note(Note::StrippedVlanTag))
        }
    })
}

/// `ld [x + k]` with k < 16: X holds an offset into the stored frame that is only known at
/// run time, so the 4 bytes are subtracted when it lies past the tag.
/// `off - 4 * (off >= 16)`, without branches: `(off >> 4) - 1 >> 31` is 1 exactly when off < 16.
fn indexed(size: u16, k: u32) -> Vec<Insn> {
    vec![
        Insn::stmt(MISC | TXA, 0),
        Insn::stmt(ALU | ADD | K, k),
        Insn::stmt(ST, SCRATCH),
        Insn::stmt(ALU | RSH | K, 4),
        Insn::stmt(ALU | SUB | K, 1),
        Insn::stmt(ALU | RSH | K, 31),
        Insn::stmt(ALU | MUL | K, 4),
        Insn::stmt(ALU | SUB | K, 4),
        Insn::stmt(ALU | NEG, 0),
        Insn::stmt(MISC | TAX, 0),
        Insn::stmt(LD | MEM, SCRATCH),
        Insn::stmt(ALU | SUB | X, 0),
        Insn::stmt(MISC | TAX, 0),
        Insn::stmt(LD | size | IND, 0),
    ]
}
