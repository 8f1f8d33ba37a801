//! Property tests for the checker, interpreter and dump formats on random programs.
use filter_compiler::cbpf::{self, Insn};
use filter_compiler::check::{check, opcode_allowed};
use filter_compiler::dump;
use filter_compiler::interp::{run, try_run, Abort, Meta};
use filter_compiler::vm::Vm;
use proptest::prelude::*;
use std::collections::HashSet;
use std::sync::OnceLock;

fn allowed_opcodes() -> &'static [u16] {
    static CODES: OnceLock<Vec<u16>> = OnceLock::new();
    CODES.get_or_init(|| (0..=u16::MAX).filter(|&c| opcode_allowed(c)).collect())
}

/// Opcodes: mostly ones the kernel knows, sometimes anything at all.
fn opcode() -> impl Strategy<Value = u16> {
    prop_oneof![
        8 => prop::sample::select(allowed_opcodes()),
        1 => any::<u16>(),
    ]
}

/// Constants that hit the interesting cases: small offsets and slots, the ancillary and
/// header-relative ranges, shift counts around 32, and arbitrary values.
fn constant() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 0u32..64,
        1 => (0u32..72).prop_map(|n| cbpf::SKF_AD_OFF + n),
        1 => (0u32..64).prop_map(|n| cbpf::SKF_NET_OFF + n),
        1 => (0u32..64).prop_map(|n| cbpf::SKF_LL_OFF + n),
        1 => 28u32..36,
        2 => any::<u32>(),
    ]
}

fn insn() -> impl Strategy<Value = Insn> {
    let off = prop_oneof![3 => 0u8..4, 1 => any::<u8>()];
    (opcode(), off.clone(), off, constant()).prop_map(|(c, jt, jf, k)| Insn::new(c, jt, jf, k))
}

/// Programs shaped to pass the checker often: known opcodes, in-range jumps, slots < 16,
/// nonzero constant divisors, shifts < 32, known ancillary offsets and a final return. What
/// still gets rejected is mostly reads of unwritten scratch slots.
fn plausible_program() -> impl Strategy<Value = Vec<Insn>> {
    let insn = (
        prop::sample::select(allowed_opcodes()),
        any::<u8>(),
        any::<u8>(),
        constant(),
    )
        .prop_map(|(c, jt, jf, k)| Insn::new(c, jt, jf, k));
    (prop::collection::vec(insn, 1..24), prop::bool::ANY).prop_map(|(mut p, ret_a)| {
        use cbpf::*;
        let len = p.len() + 1;
        for (pc, i) in p.iter_mut().enumerate() {
            let room = (len - pc - 1) as u32; // instructions after this one
                                              // Short branches, so that code after them is reachable; now and then one lands
                                              // exactly one past the end, which the checker must catch.
            let reach = room.min(4) + 1;
            i.jt = (u32::from(i.jt) % reach) as u8;
            i.jf = (u32::from(i.jf) % reach) as u8;
            let (class, op) = (i.class(), i.code & 0xf0);
            if i.code == JMP | JA {
                i.k %= reach;
            } else if matches!(class, ST | STX) || matches!(class, LD | LDX) && i.code & 0xe0 == MEM
            {
                i.k %= MEMWORDS;
            } else if class == ALU && matches!(op, DIV | MOD) && i.code & X == 0 && i.k == 0 {
                i.k = 1;
            } else if class == ALU && matches!(op, LSH | RSH) && i.code & X == 0 {
                i.k %= 32;
            } else if class == LD && i.code & 0xe0 == ABS && i.k >= SKF_AD_OFF {
                i.k = SKF_AD_OFF + (i.k - SKF_AD_OFF) % SKF_AD_MAX / 4 * 4;
            }
        }
        p.push(Insn::stmt(RET | if ret_a { A } else { K }, 1));
        p
    })
}

/// Programs of small constants and offsets, to run over packets of small byte values: loads
/// then often equal the constants they are compared with, so both arms of every jump and
/// the edge of every relation get taken.
fn small_program() -> impl Strategy<Value = Vec<Insn>> {
    let insn = (
        opcode(),
        0u8..4,
        0u8..4,
        prop_oneof![8 => 0u32..6, 1 => constant()],
    )
        .prop_map(|(c, jt, jf, k)| Insn::new(c, jt, jf, k));
    prop::collection::vec(insn, 1..32)
}

fn meta() -> impl Strategy<Value = Meta> {
    (
        any::<u16>(),
        any::<u32>(),
        any::<Option<u16>>(),
        any::<usize>(),
        any::<Option<usize>>(),
        0usize..80,
    )
        .prop_map(|(protocol, mark, vlan_tci, huge, ll_off, net_off)| Meta {
            protocol,
            mark,
            vlan_tci,
            // Mostly realistic header offsets, sometimes absurd ones.
            net_off: if huge % 8 == 0 { huge } else { net_off },
            ll_off: ll_off.map(|o| if o % 8 == 0 { o } else { o % 80 }),
            ..Meta::default()
        })
}

/// Whether some execution path reads a scratch slot before writing it, by walking every
/// path (memoised on pc and written-slot set). Independent of the checker's single pass.
fn path_reads_unwritten(prog: &[Insn]) -> bool {
    fn walk(prog: &[Insn], pc: usize, written: u16, seen: &mut HashSet<(usize, u16)>) -> bool {
        if !seen.insert((pc, written)) {
            return false;
        }
        let Some(i) = prog.get(pc) else { return false };
        let slot = 1u16.checked_shl(i.k).unwrap_or(0);
        let (ld, ldx, st, stx) = (
            cbpf::LD | cbpf::MEM,
            cbpf::LDX | cbpf::MEM,
            cbpf::ST,
            cbpf::STX,
        );
        match i.code {
            c if (c == ld || c == ldx) && written & slot == 0 => true,
            c if c == st || c == stx => walk(prog, pc + 1, written | slot, seen),
            c if c == cbpf::JMP | cbpf::JA => walk(prog, pc + 1 + i.k as usize, written, seen),
            c if c & 0x07 == cbpf::JMP => {
                walk(prog, pc + 1 + usize::from(i.jt), written, seen)
                    || walk(prog, pc + 1 + usize::from(i.jf), written, seen)
            }
            c if c & 0x07 == cbpf::RET => false,
            _ => walk(prog, pc + 1, written, seen),
        }
    }
    walk(prog, 0, 0, &mut HashSet::new())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        max_global_rejects: 50_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Arbitrary instruction sequences, packets and metadata never make the interpreter panic.
    #[test]
    fn run_never_panics(
        prog in prop::collection::vec(insn(), 0..40),
        pkt in prop::collection::vec(any::<u8>(), 0..128),
        wirelen in any::<u32>(),
        meta in meta(),
    ) {
        let _ = run(&prog, &pkt, wirelen, &meta);
    }

    /// The decoded form returns what the reference interpreter returns, for any program
    /// (checked or not), packet and metadata.
    #[test]
    fn vm_agrees_with_interp(
        prog in prop_oneof![
            prop::collection::vec(insn(), 0..40),
            plausible_program(),
            small_program(),
        ],
        pkt in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..128),
            prop::collection::vec(0u8..4, 0..24),
        ],
        wirelen in any::<u32>(),
        meta in meta(),
    ) {
        let vm = Vm::new(&prog);
        prop_assert_eq!(vm.run(&pkt, wirelen, &meta), run(&prog, &pkt, wirelen, &meta), "\n{}", dump::asm(&prog));
    }

    /// A program the checker accepts only ever stops at a `ret`, on a packet bound, or on a
    /// division by X == 0: never by running off the end or on an invalid instruction. Its
    /// scratch memory reads are preceded by writes on every path.
    #[test]
    fn checked_programs_run_to_completion(
        prog in plausible_program(),
        pkt in prop::collection::vec(any::<u8>(), 0..96),
        meta in meta(),
    ) {
        prop_assume!(check(&prog).is_ok());
        let outcome = try_run(&prog, &pkt, pkt.len() as u32, &meta);
        prop_assert!(
            matches!(outcome, Ok(_) | Err(Abort::OutOfBounds { .. } | Abort::DivideByZero { .. })),
            "{outcome:?} for\n{}", dump::asm(&prog)
        );
        if let Err(Abort::DivideByZero { pc }) = outcome {
            prop_assert!(matches!(prog[pc].code & 0xf8, 0x38 | 0x98), "constant division by 0 at {pc}");
        }
        prop_assert!(!path_reads_unwritten(&prog), "checker let an unwritten read through:\n{}", dump::asm(&prog));
    }

    /// The `-ddd` format round-trips any program, and the other formats print one line per
    /// instruction without panicking.
    #[test]
    fn decimal_round_trips(prog in prop::collection::vec(
        (any::<u16>(), any::<u8>(), any::<u8>(), any::<u32>()).prop_map(|(c, t, f, k)| Insn::new(c, t, f, k)),
        0..40,
    )) {
        prop_assert_eq!(dump::parse_decimal(&dump::decimal(&prog)), Ok(prog.clone()));
        prop_assert_eq!(dump::asm(&prog).lines().count(), prog.len());
        prop_assert_eq!(dump::c(&prog).lines().count(), prog.len());
    }

    /// The checker never panics, and what it accepts satisfies its own basic rules.
    #[test]
    fn check_never_panics(prog in prop::collection::vec(insn(), 0..40)) {
        if check(&prog).is_ok() {
            let last = prog.last().expect("non-empty");
            prop_assert!(last.code == cbpf::RET | cbpf::K || last.code == cbpf::RET | cbpf::A);
            prop_assert!(prog.iter().all(|i| opcode_allowed(i.code)));
        }
    }
}

#[test]
fn plausible_programs_often_pass_the_checker() {
    // Guards the property above against vacuity: a useful share of generated programs must
    // actually be accepted.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = plausible_program();
    let accepted = (0..1000)
        .filter(|_| check(&strategy.new_tree(&mut runner).expect("tree").current()).is_ok())
        .count();
    assert!(
        accepted >= 200,
        "only {accepted} of 1000 generated programs pass check()"
    );
}
