//! tcpdump's three program dump formats (-d, -dd, -ddd), byte-for-byte as libpcap 1.10 prints
//! them (`bpf_image()` and `bpf_dump()`), plus a reader for the `-ddd` format.
//!
//! Printing quirks reproduced on purpose, because users diff our output against tcpdump's:
//! - libpcap formats the unsigned `k` with `%d` in most places, so large values print negative
//!   (`ret #-1`, `ld [-1048576]` for an SKF_NET_OFF load);
//! - `ja` prints the absolute target computed in 32-bit unsigned arithmetic;
//! - any opcode it does not know (including ones the kernel accepts, like `ldx #pktlen`, 0x81)
//!   prints as `unimp 0x..`, and still gets `jt/jf` columns if its class is JMP and op is not JA;
//! - absolute loads of the Linux ancillary offsets print symbolically (`ldb [vlan_tci]`).
use crate::cbpf::{self, Insn};
use std::fmt::Write as _;

/// libpcap's names for the ancillary offsets `SKF_AD_OFF + 4*i`, indexed by `i`.
const ANCILLARY_NAMES: [&str; 16] = [
    "proto",     // SKF_AD_PROTOCOL
    "type",      // SKF_AD_PKTTYPE
    "ifidx",     // SKF_AD_IFINDEX
    "nla",       // SKF_AD_NLATTR
    "nlan",      // SKF_AD_NLATTR_NEST
    "mark",      // SKF_AD_MARK
    "queue",     // SKF_AD_QUEUE
    "hatype",    // SKF_AD_HATYPE
    "rxhash",    // SKF_AD_RXHASH
    "cpu",       // SKF_AD_CPU
    "xor_x",     // SKF_AD_ALU_XOR_X
    "vlan_tci",  // SKF_AD_VLAN_TAG
    "vlanp",     // SKF_AD_VLAN_TAG_PRESENT
    "poff",      // SKF_AD_PAY_OFFSET
    "random",    // SKF_AD_RANDOM
    "vlan_tpid", // SKF_AD_VLAN_TPID
];

/// libpcap's name for an ancillary offset, if `k` is one it knows (only multiples of 4 are).
fn ancillary_name(k: u32) -> Option<&'static str> {
    let rel = k.checked_sub(cbpf::SKF_AD_OFF)?;
    if rel % 4 != 0 {
        return None;
    }
    ANCILLARY_NAMES.get(usize::try_from(rel / 4).ok()?).copied()
}

/// The operand of an absolute load: symbolic for known ancillary offsets, else `[%d]`.
fn abs_operand(k: u32) -> String {
    match ancillary_name(k) {
        Some(name) => format!("[{name}]"),
        None => format!("[{}]", k as i32),
    }
}

/// One instruction as libpcap's `bpf_image(insn, pc)` renders it, without a newline.
pub fn image(insn: &Insn, pc: usize) -> String {
    use crate::interp::ops::*;
    // `%d` of an unsigned int in C: the bits reinterpreted as signed.
    let sk = insn.k as i32;
    let (op, operand): (&str, String) = match insn.code {
        RET_K => ("ret", format!("#{sk}")),
        RET_A => ("ret", String::new()),
        LD_W_ABS => ("ld", abs_operand(insn.k)),
        LD_H_ABS => ("ldh", abs_operand(insn.k)),
        LD_B_ABS => ("ldb", abs_operand(insn.k)),
        LD_W_LEN => ("ld", "#pktlen".into()),
        LD_W_IND => ("ld", format!("[x + {sk}]")),
        LD_H_IND => ("ldh", format!("[x + {sk}]")),
        LD_B_IND => ("ldb", format!("[x + {sk}]")),
        LD_IMM => ("ld", format!("#{:#x}", insn.k)),
        LDX_IMM => ("ldx", format!("#{:#x}", insn.k)),
        LDX_B_MSH => ("ldxb", format!("4*([{sk}]&0xf)")),
        LD_MEM => ("ld", format!("M[{sk}]")),
        LDX_MEM => ("ldx", format!("M[{sk}]")),
        ST_MEM => ("st", format!("M[{sk}]")),
        STX_MEM => ("stx", format!("M[{sk}]")),
        // libpcap adds in unsigned 32-bit arithmetic, then prints with %d.
        JMP_JA => {
            let target = (pc as u32).wrapping_add(1).wrapping_add(insn.k) as i32;
            ("ja", target.to_string())
        }
        JGT_K => ("jgt", format!("#{:#x}", insn.k)),
        JGE_K => ("jge", format!("#{:#x}", insn.k)),
        JEQ_K => ("jeq", format!("#{:#x}", insn.k)),
        JSET_K => ("jset", format!("#{:#x}", insn.k)),
        JGT_X => ("jgt", "x".into()),
        JGE_X => ("jge", "x".into()),
        JEQ_X => ("jeq", "x".into()),
        JSET_X => ("jset", "x".into()),
        NEG_A => ("neg", String::new()),
        MISC_TAX => ("tax", String::new()),
        MISC_TXA => ("txa", String::new()),
        // Codes above 0xff have bits libpcap does not decode: they fall to `unimp`.
        c if c < 0x100 && c & 0x07 == cbpf::ALU => {
            alu_image(c, insn.k).unwrap_or_else(|| ("unimp", format!("{c:#x}")))
        }
        c => ("unimp", format!("{c:#x}")),
    };
    let class = insn.code & 0x07;
    let jop = insn.code & 0xf0;
    if class == cbpf::JMP && jop != cbpf::JA {
        let jt = pc + 1 + usize::from(insn.jt);
        let jf = pc + 1 + usize::from(insn.jf);
        format!("({pc:03}) {op:<8} {operand:<16} jt {jt}\tjf {jf}")
    } else {
        format!("({pc:03}) {op:<8} {operand}")
    }
}

/// ALU operations with a `#k` or `x` operand; `None` for codes libpcap calls `unimp`.
fn alu_image(code: u16, k: u32) -> Option<(&'static str, String)> {
    use cbpf::*;
    let name = match code & 0xf0 {
        ADD => "add",
        SUB => "sub",
        MUL => "mul",
        DIV => "div",
        MOD => "mod",
        AND => "and",
        OR => "or",
        XOR => "xor",
        LSH => "lsh",
        RSH => "rsh",
        _ => return None,
    };
    let operand = match code & 0x08 {
        X => "x".to_string(),
        // Bitwise operations print in hex, arithmetic ones as signed decimal.
        _ if matches!(code & 0xf0, AND | OR | XOR) => format!("#{k:#x}"),
        _ => format!("#{}", k as i32),
    };
    Some((name, operand))
}

/// `-d`: one instruction per line, `(000) ldh      [12]`.
pub fn asm(prog: &[Insn]) -> String {
    let mut out = String::with_capacity(prog.len() * 40);
    for (pc, insn) in prog.iter().enumerate() {
        out.push_str(&image(insn, pc));
        out.push('\n');
    }
    out
}

/// `-dd`: a C array initializer, `{ 0x28, 0, 0, 0x0000000c },`.
pub fn c(prog: &[Insn]) -> String {
    let mut out = String::with_capacity(prog.len() * 32);
    for i in prog {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{{ {:#x}, {}, {}, 0x{:08x} }},",
            i.code, i.jt, i.jf, i.k
        );
    }
    out
}

/// `-ddd`: the instruction count, then `code jt jf k` in decimal, one per line.
pub fn decimal(prog: &[Insn]) -> String {
    let mut out = String::with_capacity(prog.len() * 16 + 8);
    let _ = writeln!(out, "{}", prog.len());
    for i in prog {
        let _ = writeln!(out, "{} {} {} {}", i.code, i.jt, i.jf, i.k);
    }
    out
}

/// Reads the `-ddd` format back: a count, then that many `code jt jf k` groups.
///
/// Records may be separated by newlines (tcpdump) or commas (the one-line form that
/// `iptables -m bpf --bytecode` and `tc ... bytecode` take); blank records are ignored.
pub fn parse_decimal(text: &str) -> Result<Vec<Insn>, String> {
    let mut records = text
        .split(['\n', ','])
        .enumerate()
        .map(|(i, r)| (i + 1, r.trim()))
        .filter(|(_, r)| !r.is_empty());

    let (line, first) = records
        .next()
        .ok_or("empty input: expected an instruction count")?;
    let count: usize = first
        .parse()
        .map_err(|_| format!("record {line}: expected an instruction count, found {first:?}"))?;

    // Don't trust the count for the allocation: it is only checked against what follows.
    let mut prog = Vec::with_capacity(count.min(cbpf::MAXINSNS));
    for (line, rec) in records {
        let mut fields = rec.split_ascii_whitespace();
        let mut field = |what: &str, max: u32| -> Result<u32, String> {
            let f = fields
                .next()
                .ok_or_else(|| format!("record {line}: missing {what} in {rec:?}"))?;
            match f.parse::<u32>() {
                Ok(v) if v <= max => Ok(v),
                _ => Err(format!(
                    "record {line}: bad {what} {f:?} (expected 0..={max})"
                )),
            }
        };
        let code = field("code", u16::MAX.into())?;
        let jt = field("jt", u8::MAX.into())?;
        let jf = field("jf", u8::MAX.into())?;
        let k = field("k", u32::MAX)?;
        if let Some(extra) = fields.next() {
            return Err(format!(
                "record {line}: unexpected {extra:?} after 4 fields"
            ));
        }
        // The range checks above make these conversions lossless.
        prog.push(Insn::new(code as u16, jt as u8, jf as u8, k));
    }
    if prog.len() != count {
        return Err(format!(
            "count says {count} instructions but {} follow",
            prog.len()
        ));
    }
    Ok(prog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbpf::*;

    #[test]
    fn images() {
        let cases = [
            (Insn::stmt(LD | H | ABS, 12), 0, "(000) ldh      [12]"),
            (
                Insn::jump(JMP | JEQ | K, 0x800, 0, 3),
                1,
                "(001) jeq      #0x800           jt 2\tjf 5",
            ),
            (Insn::stmt(RET | K, 262144), 7, "(007) ret      #262144"),
            (Insn::stmt(RET | K, u32::MAX), 7, "(007) ret      #-1"),
            (Insn::stmt(RET | A, 0), 7, "(007) ret      "),
            (Insn::stmt(LD | W | LEN, 0), 2, "(002) ld       #pktlen"),
            (
                Insn::stmt(LDX | B | MSH, 14),
                2,
                "(002) ldxb     4*([14]&0xf)",
            ),
            (Insn::stmt(LD | W | IND, 14), 2, "(002) ld       [x + 14]"),
            (
                Insn::stmt(LD | B | ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG),
                0,
                "(000) ldb      [vlan_tci]",
            ),
            (
                Insn::stmt(LD | B | ABS, SKF_AD_OFF + 1),
                0,
                "(000) ldb      [-4095]",
            ),
            (
                Insn::stmt(LD | B | ABS, SKF_AD_OFF + SKF_AD_MAX),
                0,
                "(000) ldb      [-4032]",
            ),
            (
                Insn::stmt(LD | B | IND, SKF_AD_OFF),
                0,
                "(000) ldb      [x + -4096]",
            ),
            (Insn::stmt(ALU | AND | K, 0xf), 0, "(000) and      #0xf"),
            (Insn::stmt(ALU | ADD | K, u32::MAX), 0, "(000) add      #-1"),
            (Insn::stmt(ALU | XOR | X, 0), 0, "(000) xor      x"),
            (Insn::stmt(JMP | JA, 4), 3, "(003) ja       8"),
            (
                Insn::stmt(JMP | JA, (-15i32) as u32),
                18,
                "(018) ja       4",
            ),
            (Insn::stmt(LDX | W | LEN, 0), 0, "(000) unimp    0x81"),
            (
                Insn::jump(0x65, 0, 3, 4),
                5,
                "(005) unimp    0x65             jt 9\tjf 10",
            ),
            (Insn::stmt(MISC | TAX, 0), 1000, "(1000) tax      "),
        ];
        for (insn, pc, want) in cases {
            assert_eq!(image(&insn, pc), want, "{insn:?}");
        }
    }

    #[test]
    fn c_and_decimal() {
        let p = [
            Insn::stmt(LD | H | ABS, 12),
            Insn::jump(JMP | JEQ | K, 0x800, 0, 1),
        ];
        assert_eq!(
            c(&p),
            "{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n"
        );
        assert_eq!(decimal(&p), "2\n40 0 0 12\n21 0 1 2048\n");
        assert_eq!(parse_decimal(&decimal(&p)).unwrap(), p);
        assert_eq!(parse_decimal("2,40 0 0 12,21 0 1 2048,").unwrap(), p);
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "",
            "x",
            "2\n40 0 0 12\n",
            "1\n40 0 0",
            "1\n40 0 0 12 1",
            "1\n65536 0 0 0",
            "1\n6 256 0 0",
            "1\n6 0 0 4294967296",
            "1\n6 0 0 -1",
            "0\n6 0 0 0",
        ] {
            assert!(parse_decimal(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(parse_decimal("0\n").unwrap(), vec![]);
    }
}
