//! The whole counting socket filter: count what the socket sees, test each rule, decide with
//! the filter, count what it keeps.
//!
//! Order matters. A classic packet load past the end of the packet ends an eBPF program at
//! once, returning 0. So the program first counts every packet, with loads it checks against
//! the length first; then runs the rules, whose loads are checked the same way; then runs the
//! filter with the classic loads unchanged, so that its verdict is the classic program's to
//! the last corner; and last counts the packets it keeps (an accepted packet read no byte
//! past its end). Counters are indexed by constants only: without CAP_PERFMON the verifier
//! refuses a variable offset into a map value.

use super::asm::{Asm, Label};
use super::insn::{self as e, Helper, Insn, Reg, FP, R0, R1, R2, R3, R4, R6, R7, R8, R9};
use super::layout::{self, cache, flow, slot};
use super::skb;
use super::translate::{load_be, translate, Exits, Frame, Loads, HEAD};
use super::{MapDef, MapKind, Program, COUNTERS, FLOWS, FLOW_CACHE};
use crate::ir::Cfg;
use crate::target::{LinkType, Mode, Target};

/// Stack slots (offsets from r10), each written before any read.
///
/// What the code compares later is always a value it stored as an immediate (a class, a
/// family, a flag), never a stored copy of a packet load the code has already compared: a
/// comparison whose outcome the verifier knows makes it track that value's precision back to
/// where it came from, and it cannot see through LD_ABS/LD_IND, so it gives up and marks
/// every scalar precise, after which it can no longer merge paths and its work grows with
/// every rule (64 rules of `port 80` went past its 1,000,000 steps).
mod stack {
    /// The u32 key 0 of the counters array.
    pub const ZERO_KEY: i16 = -8;
    /// u64: the packet's length as the capture file records it.
    pub const LEN: i16 = -16;
    /// u64: wire segments.
    pub const SEGS: i16 = -24;
    /// u64: link-layer class (an index of L3_CLASSES).
    pub const L3: i16 = -32;
    /// u64: transport class.
    pub const L4: i16 = -40;
    /// u64: offset of the network header from the start of the packet.
    pub const NH: i16 = -48;
    /// u64: offset of the transport header, 0 if none (not IP, or a later fragment).
    pub const L4OFF: i16 = -56;
    /// u64: IP protocol, 0 if none.
    pub const PROTO: i16 = -64;
    /// u64: EtherType (inside one VLAN tag).
    pub const ETHERTYPE: i16 = -72;
    /// u64: the filter's return value.
    pub const RET: i16 = -80;
    /// u64: a temporary.
    pub const TMP: i16 = -88;
    /// M[0..16] of the classic programs: -152..-88.
    pub const MEM: i16 = -152;
    /// The flow key: -192..-152.
    pub const FLOW_KEY: i16 = -192;
    /// u64: the flow key's bytes 4..8 (ports, or ICMP type and code), 0 if none.
    pub const PORTS: i16 = -208;
    /// u32: the flow's slot in the flow cache, as the array's key.
    pub const CACHE_INDEX: i16 = -200;
    /// u64: 4 or 6 when an IPv4 or IPv6 header is in the packet whole, else 0.
    pub const FAMILY: i16 = -216;
    /// u64: 1 when the transport offset is known (L4OFF), else 0.
    pub const HAS_L4: i16 = -224;
    /// The copy of the packet's first bytes (translate::HEAD of them) starts at -288 when
    /// the network header is at a multiple of 4 from the packet's start, at -290 when it is
    /// 2 more than a multiple of 4 (Ethernet: 14, or 18 with a tag), so that addresses are
    /// 4-byte aligned on the stack, as the verifier wants loads to be; up to -224.
    pub const HEAD: i16 = -288;
}

/// The stack as the translated filters use it, `head` the copy's offset.
fn frame(head: Option<i16>) -> Frame {
    Frame {
        mem: stack::MEM,
        buf: stack::TMP,
        head,
    }
}

/// What to build.
pub struct Spec<'a> {
    /// The socket the program runs on (a kernel target): where headers start, and what the
    /// capture file adds to a packet's length.
    pub target: Target,
    /// The filter: its verdict is the program's return value, unless `count_only`.
    pub filter: &'a Cfg,
    /// Rules counted besides the filter, in order.
    pub rules: Vec<&'a Cfg>,
    /// Return 0 for every packet: count, copy nothing to user space.
    pub count_only: bool,
    /// Entries of the flow table of matched traffic; 0 for none.
    pub flows: u32,
}

/// How the packet's data starts on the socket.
enum Start {
    /// At the Ethernet header (a SOCK_RAW socket on an Ethernet device): the outer VLAN tag
    /// has been moved to metadata; an inner one is in the data.
    Ethernet,
    /// At the network header (cooked `any` sockets, raw-IP devices); `extra` is the length
    /// of the link header the capture file puts in front.
    Network { extra: i32 },
}

const ETH_IPV4: i32 = 0x0800;
const ETH_IPV6: i32 = 0x86dd;
const ETH_ARP: i32 = 0x0806;
const ETH_8021Q: i32 = 0x8100;
const ETH_8021AD: i32 = 0x88a8;
/// The pre-standard QinQ TPID, which libpcap's `vlan` also takes for a tag.
const ETH_QINQ: i32 = 0x9100;

/// IPv6 extension headers skipped to find the transport.
const IPV6_EXT_STEPS: usize = 3;

pub fn generate(spec: &Spec) -> Result<Program, String> {
    if spec.target.mode != Mode::Kernel {
        return Err("internal error: an eBPF program is compiled for a kernel target".into());
    }
    let start = match spec.target.linktype {
        LinkType::En10mb => Start::Ethernet,
        LinkType::LinuxSll => Start::Network { extra: 16 },
        LinkType::LinuxSll2 => Start::Network { extra: 20 },
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => Start::Network { extra: 0 },
    };
    let nh_mod4 = match start {
        Start::Ethernet => 2,
        Start::Network { .. } => 0,
    };
    let mut g = Gen {
        asm: Asm::new(),
        head_at: stack::HEAD - nh_mod4,
        nh_mod4,
    };
    let reject = g.asm.label();
    g.prologue(&start);
    g.classify(&start);
    for (i, rule) in spec.rules.iter().enumerate() {
        let hit = g.asm.label();
        let next = g.asm.label();
        translate(
            &mut g.asm,
            rule,
            Loads::Guarded,
            frame(Some(g.head_at)),
            &Exits {
                accept: hit,
                reject: next,
            },
        )?;
        // (For a rule that never matches, possible with -O, the assembler drops this code.)
        g.asm.bind(hit);
        g.inc(slot::RULES + 2 * i);
        g.asm.emit(Insn::ldx(e::DW, R1, FP, stack::LEN));
        g.add(slot::RULES + 2 * i + 1, R1);
        g.asm.bind(next);
    }
    let matched = g.asm.label();
    translate(
        &mut g.asm,
        spec.filter,
        Loads::Exact,
        frame(Some(g.head_at)),
        &Exits {
            accept: matched,
            reject,
        },
    )?;
    // (An exit the filter cannot reach is dropped by the assembler.)
    g.asm.bind(matched);
    g.asm.emit(Insn::stx(e::DW, FP, stack::RET, R0));
    g.count_matched();
    if spec.flows > 0 {
        g.flows(cache::slots(spec.flows));
    }
    if spec.count_only {
        g.asm.emit(Insn::mov32_imm(R0, 0));
    } else {
        g.asm.emit(Insn::ldx(e::DW, R0, FP, stack::RET));
    }
    g.asm.emit(Insn::exit());
    g.asm.bind(reject);
    g.asm.emit(Insn::mov32_imm(R0, 0));
    g.asm.emit(Insn::exit());

    let mut maps = vec![MapDef {
        name: "counters",
        kind: MapKind::PercpuArray,
        key_size: 4,
        value_size: (8 * layout::counter_slots(spec.rules.len())) as u32,
        max_entries: 1,
    }];
    if spec.flows > 0 {
        maps.push(MapDef {
            name: "flows",
            kind: MapKind::LruHash,
            key_size: flow::KEY_SIZE as u32,
            value_size: flow::VALUE_SIZE as u32,
            max_entries: spec.flows,
        });
        maps.push(MapDef {
            name: "flow_cache",
            kind: MapKind::PercpuArray,
            key_size: 4,
            value_size: cache::VALUE_SIZE as u32,
            max_entries: cache::slots(spec.flows),
        });
    }
    debug_assert_eq!(maps[COUNTERS].name, "counters");
    debug_assert!(maps.len() == 1 || maps[FLOW_CACHE].name == "flow_cache");
    Ok(Program {
        insns: g.asm.finish()?,
        maps,
    })
}

struct Gen {
    asm: Asm,
    /// Where the copy of the packet's start is on the stack.
    head_at: i16,
    /// The network header's offset modulo 4 (the same for every header offset the
    /// classification finds on this link).
    nh_mod4: i16,
}

fn at(slot: usize) -> i16 {
    (slot * 8) as i16
}

impl Gen {
    fn e(&mut self, i: Insn) {
        self.asm.emit(i);
    }

    /// r0 = the `size` bytes at `base + off` of the packet, from the copy of its start (host
    /// order). `base` must hold a constant the verifier knows (a header offset), and the
    /// caller must have checked the packet is long enough; the offset must lie in the copy.
    fn head(&mut self, size: u8, base: Option<Reg>, off: i32) {
        match base {
            Some(b) => {
                self.e(Insn::mov64(R3, FP));
                self.e(Insn::alu64_reg(e::ADD, R3, b));
                load_be(
                    &mut self.asm,
                    size,
                    R3,
                    self.head_at + off as i16,
                    self.nh_mod4,
                );
            }
            None => load_be(&mut self.asm, size, FP, self.head_at + off as i16, 0),
        }
    }

    /// counters[slot] += 1 (r9 holds this CPU's row; per-CPU, so no atomics).
    fn inc(&mut self, slot: usize) {
        self.e(Insn::ldx(e::DW, R1, R9, at(slot)));
        self.e(Insn::alu64_imm(e::ADD, R1, 1));
        self.e(Insn::stx(e::DW, R9, at(slot), R1));
    }

    /// counters[slot] += reg (clobbers r2).
    fn add(&mut self, slot: usize, reg: Reg) {
        self.e(Insn::ldx(e::DW, R2, R9, at(slot)));
        self.e(Insn::alu64_reg(e::ADD, R2, reg));
        self.e(Insn::stx(e::DW, R9, at(slot), R2));
    }

    /// `if (reg > r7) goto to` after `r2 = base + n`: a packet too short for `n` bytes
    /// from the offset in `base` (r7 holds the length).
    fn need(&mut self, base: Reg, n: i32, to: Label) {
        self.e(Insn::mov64(R2, base));
        self.e(Insn::alu64_imm(e::ADD, R2, n));
        self.asm.jump(Insn::jmp_reg(e::JGT, R2, R7), to);
    }

    /// r9 = this CPU's counters; the stack slots zeroed; the packet counted as seen.
    fn prologue(&mut self, start: &Start) {
        self.e(Insn::mov64(R6, R1));
        self.e(Insn::st(e::W, FP, stack::ZERO_KEY, 0));
        self.asm.emit_all(Insn::ld_map(R1, COUNTERS));
        self.e(Insn::mov64(R2, FP));
        self.e(Insn::alu64_imm(e::ADD, R2, stack::ZERO_KEY as i32));
        self.e(Insn::call(Helper::MapLookupElem));
        let have = self.asm.label();
        self.asm.jump(Insn::jmp_imm(e::JNE, R0, 0), have);
        // Index 0 of a one-entry array is always there; the verifier wants the check.
        self.e(Insn::mov32_imm(R0, 0));
        self.e(Insn::exit());
        self.asm.bind(have);
        self.e(Insn::mov64(R9, R0));
        for s in [
            stack::NH,
            stack::L4OFF,
            stack::PROTO,
            stack::ETHERTYPE,
            stack::L3,
            stack::L4,
            stack::TMP,
            stack::FAMILY,
            stack::HAS_L4,
        ] {
            self.e(Insn::st(e::DW, FP, s, 0));
        }
        // r7 = the length the filter sees; r8 = the length the file records.
        self.e(Insn::ldx(e::W, R7, R6, skb::LEN));
        // The packet's first bytes, copied once (as many as there are: 1 to HEAD; for an
        // empty packet the copy fails and nothing reads it, every read checks the length).
        self.e(Insn::mov64(R4, R7));
        let short = self.asm.label();
        let nonzero = self.asm.label();
        self.asm.jump(Insn::jmp_imm(e::JLE, R4, HEAD as i32), short);
        self.e(Insn::mov64_imm(R4, HEAD as i32));
        self.asm.bind(short);
        self.asm.jump(Insn::jmp_imm(e::JNE, R4, 0), nonzero);
        self.e(Insn::mov64_imm(R4, 1));
        self.asm.bind(nonzero);
        self.e(Insn::mov64(R1, R6));
        self.e(Insn::mov64_imm(R2, 0));
        self.e(Insn::mov64(R3, FP));
        self.e(Insn::alu64_imm(e::ADD, R3, self.head_at as i32));
        self.e(Insn::call(Helper::SkbLoadBytes));
        match start {
            Start::Ethernet => {
                self.e(Insn::ldx(e::W, R8, R6, skb::VLAN_PRESENT));
                self.e(Insn::alu64_imm(e::LSH, R8, 2));
                self.e(Insn::alu64_reg(e::ADD, R8, R7));
            }
            Start::Network { extra } => {
                self.e(Insn::mov64(R8, R7));
                if *extra != 0 {
                    self.e(Insn::alu64_imm(e::ADD, R8, *extra));
                }
            }
        }
        self.e(Insn::stx(e::DW, FP, stack::LEN, R8));
        self.e(Insn::ldx(e::W, R3, R6, skb::GSO_SEGS));
        let segs_ok = self.asm.label();
        self.asm.jump(Insn::jmp_imm(e::JNE, R3, 0), segs_ok);
        self.e(Insn::mov64_imm(R3, 1));
        self.asm.bind(segs_ok);
        self.e(Insn::stx(e::DW, FP, stack::SEGS, R3));
        self.inc(slot::SEEN_PACKETS);
        self.add(slot::SEEN_BYTES, R8);
        self.add(slot::SEEN_SEGMENTS, R3);
    }

    /// Stores the class and counts it as seen.
    fn class(&mut self, which: i16, first: usize, class: usize) {
        self.e(Insn::st(e::DW, FP, which, class as i32));
        self.inc(first + class);
    }

    /// Link-layer and transport classes; the offsets the flow key needs.
    fn classify(&mut self, start: &Start) {
        let vlan = self.asm.label();
        let vlan_no_l4 = self.asm.label();
        let other_no_l4 = self.asm.label();
        let by_type = self.asm.label();
        let l4_other = self.asm.label();
        let done = self.asm.label();
        // r0 = EtherType, r8 = network header offset.
        match start {
            Start::Ethernet => {
                let in_data = self.asm.label();
                self.asm.jump(Insn::jmp_imm(e::JLT, R7, 14), other_no_l4);
                self.head(e::H, None, 12);
                self.e(Insn::mov64_imm(R8, 14));
                for tpid in [ETH_8021Q, ETH_8021AD, ETH_QINQ] {
                    self.asm.jump(Insn::jmp32_imm(e::JEQ, R0, tpid), in_data);
                }
                self.e(Insn::ldx(e::W, R1, R6, skb::VLAN_PRESENT));
                self.asm.jump(Insn::jmp_imm(e::JNE, R1, 0), vlan);
                self.asm.goto(by_type);
                // A tag in the data (an inner one, or one the kernel left): look inside.
                self.asm.bind(in_data);
                self.asm.jump(Insn::jmp_imm(e::JLT, R7, 18), vlan_no_l4);
                self.head(e::H, None, 16);
                self.e(Insn::mov64_imm(R8, 18));
                self.asm.goto(vlan);
            }
            Start::Network { .. } => {
                self.e(Insn::ldx(e::W, R0, R6, skb::PROTOCOL));
                self.e(Insn::be16(R0));
                self.e(Insn::mov64_imm(R8, 0));
                for tpid in [ETH_8021Q, ETH_8021AD, ETH_QINQ] {
                    self.asm.jump(Insn::jmp32_imm(e::JEQ, R0, tpid), vlan_no_l4);
                }
                self.e(Insn::ldx(e::W, R1, R6, skb::VLAN_PRESENT));
                self.asm.jump(Insn::jmp_imm(e::JNE, R1, 0), vlan);
                self.asm.goto(by_type);
            }
        }
        let ip4 = self.asm.label();
        let ip6 = self.asm.label();
        // Tagged: the EtherType inside is not known yet.
        self.asm.bind(vlan);
        self.e(Insn::stx(e::DW, FP, stack::ETHERTYPE, R0));
        self.e(Insn::stx(e::DW, FP, stack::NH, R8));
        self.class(stack::L3, slot::SEEN_L3, layout::L3_VLAN);
        self.asm.jump(Insn::jmp32_imm(e::JEQ, R0, ETH_IPV4), ip4);
        self.asm.jump(Insn::jmp32_imm(e::JEQ, R0, ETH_IPV6), ip6);
        self.asm.goto(l4_other);
        // (Cooked sockets have no short-frame class: the assembler drops it there.)
        self.asm.bind(vlan_no_l4);
        self.class(stack::L3, slot::SEEN_L3, layout::L3_VLAN);
        self.asm.goto(l4_other);
        self.asm.bind(other_no_l4);
        self.class(stack::L3, slot::SEEN_L3, layout::L3_OTHER);
        self.asm.goto(l4_other);

        // Untagged: each EtherType compared once, and its branch goes on from there.
        self.asm.bind(by_type);
        self.e(Insn::stx(e::DW, FP, stack::ETHERTYPE, R0));
        self.e(Insn::stx(e::DW, FP, stack::NH, R8));
        for (ty, class, then) in [
            (ETH_IPV4, layout::L3_IPV4, ip4),
            (ETH_IPV6, layout::L3_IPV6, ip6),
            (ETH_ARP, layout::L3_ARP, l4_other),
        ] {
            let next = self.asm.label();
            self.asm.jump(Insn::jmp32_imm(e::JNE, R0, ty), next);
            self.class(stack::L3, slot::SEEN_L3, class);
            self.asm.goto(then);
            self.asm.bind(next);
        }
        self.class(stack::L3, slot::SEEN_L3, layout::L3_OTHER);
        self.asm.goto(l4_other);

        // IPv4: the protocol. (Where its transport header starts is worked out for matched
        // packets only, in `flows`: a packet load is a helper call for an eBPF program.)
        self.asm.bind(ip4);
        self.need(R8, 20, l4_other);
        self.e(Insn::st(e::DW, FP, stack::FAMILY, 4));
        self.head(e::B, Some(R8), 9);
        self.e(Insn::stx(e::DW, FP, stack::PROTO, R0));
        self.e(Insn::ldx(e::DW, R0, FP, stack::PROTO));
        self.transport(
            &[
                (6, layout::L4_TCP),
                (17, layout::L4_UDP),
                (1, layout::L4_ICMP),
                (132, layout::L4_SCTP),
            ],
            done,
        );

        // IPv6: next header, over hop-by-hop, routing, destination options and fragment
        // headers.
        self.asm.bind(ip6);
        self.need(R8, 40, l4_other);
        self.e(Insn::st(e::DW, FP, stack::FAMILY, 6));
        self.e(Insn::ld_ind(e::B, R8, 6));
        self.e(Insn::alu64_imm(e::ADD, R8, 40));
        let found = self.asm.label();
        let no_ports6 = self.asm.label();
        for _ in 0..IPV6_EXT_STEPS {
            let ext = self.asm.label();
            let frag = self.asm.label();
            let next = self.asm.label();
            for h in [0, 43, 60] {
                self.asm.jump(Insn::jmp32_imm(e::JEQ, R0, h), ext);
            }
            self.asm.jump(Insn::jmp32_imm(e::JEQ, R0, 44), frag);
            self.asm.goto(found);
            self.asm.bind(ext);
            self.need(R8, 2, l4_other);
            self.e(Insn::ld_ind(e::B, R8, 1));
            self.e(Insn::alu32_imm(e::ADD, R0, 1));
            self.e(Insn::alu32_imm(e::LSH, R0, 3));
            self.e(Insn::stx(e::DW, FP, stack::TMP, R0));
            self.e(Insn::ld_ind(e::B, R8, 0));
            self.e(Insn::ldx(e::DW, R1, FP, stack::TMP));
            self.e(Insn::alu64_reg(e::ADD, R8, R1));
            self.asm.goto(next);
            self.asm.bind(frag);
            self.need(R8, 8, l4_other);
            self.e(Insn::ld_ind(e::H, R8, 2));
            self.e(Insn::alu32_imm(e::AND, R0, 0xfff8));
            self.e(Insn::stx(e::DW, FP, stack::TMP, R0));
            self.e(Insn::ld_ind(e::B, R8, 0));
            self.e(Insn::alu64_imm(e::ADD, R8, 8));
            self.e(Insn::ldx(e::DW, R1, FP, stack::TMP));
            self.asm.jump(Insn::jmp_imm(e::JNE, R1, 0), no_ports6);
            self.asm.bind(next);
        }
        self.asm.bind(found);
        self.e(Insn::stx(e::DW, FP, stack::L4OFF, R8));
        self.e(Insn::st(e::DW, FP, stack::HAS_L4, 1));
        self.asm.bind(no_ports6);
        self.e(Insn::stx(e::DW, FP, stack::PROTO, R0));
        self.transport(
            &[
                (6, layout::L4_TCP),
                (17, layout::L4_UDP),
                (58, layout::L4_ICMP6),
                (132, layout::L4_SCTP),
            ],
            done,
        );

        self.asm.bind(l4_other);
        self.class(stack::L4, slot::SEEN_L4, layout::L4_OTHER);
        self.asm.bind(done);
    }

    /// The transport class of the protocol in r0; falls into `other` otherwise.
    fn transport(&mut self, classes: &[(i32, usize)], done: Label) {
        for &(proto, class) in classes {
            let next = self.asm.label();
            self.asm.jump(Insn::jmp32_imm(e::JNE, R0, proto), next);
            self.class(stack::L4, slot::SEEN_L4, class);
            self.asm.goto(done);
            self.asm.bind(next);
        }
        self.class(stack::L4, slot::SEEN_L4, layout::L4_OTHER);
        self.asm.goto(done);
    }

    /// matched += the packet; by class too (a chain of constant comparisons, since the slot
    /// offset must be a constant).
    fn count_matched(&mut self) {
        self.e(Insn::ldx(e::DW, R3, FP, stack::LEN));
        self.e(Insn::ldx(e::DW, R4, FP, stack::SEGS));
        self.inc(slot::MATCHED_PACKETS);
        self.add(slot::MATCHED_BYTES, R3);
        self.add(slot::MATCHED_SEGMENTS, R4);
        for (which, first, n) in [
            (stack::L3, slot::MATCHED_L3, layout::L3_CLASSES.len()),
            (stack::L4, slot::MATCHED_L4, layout::L4_CLASSES.len()),
        ] {
            let done = self.asm.label();
            self.e(Insn::ldx(e::DW, R3, FP, which));
            for class in 0..n - 1 {
                let next = self.asm.label();
                self.asm.jump(Insn::jmp_imm(e::JNE, R3, class as i32), next);
                self.inc(first + class);
                self.asm.goto(done);
                self.asm.bind(next);
            }
            self.inc(first + n - 1);
            self.asm.bind(done);
        }
    }

    /// The matched packet's flow: key built on the stack, then counted in its cache slot.
    ///
    /// Each 8-byte word of the key is written by one 8-byte store: the hash and the
    /// comparisons read the words whole, and a load spanning several smaller stores must wait
    /// for them to reach the cache (a store-forwarding stall, a tenth of the program's time
    /// when it was so, measured live).
    fn flows(&mut self, slots: u32) {
        const _: () = assert!(
            flow::ETHERTYPE == 0
                && flow::PROTO == 2
                && flow::L3 == 3
                && flow::SPORT == 4
                && flow::DPORT == 6
                && flow::SRC == 8
                && flow::DST == 24
                && flow::KEY_SIZE == 40,
            "the first word is built as ethertype | proto << 16 | l3 << 24 | ports << 32"
        );
        let k = stack::FLOW_KEY;
        for i in 1..(flow::KEY_SIZE / 8) as i16 {
            self.e(Insn::st(e::DW, FP, k + 8 * i, 0));
        }
        self.e(Insn::st(e::DW, FP, stack::PORTS, 0));
        self.e(Insn::ldx(e::W, R7, R6, skb::LEN));
        self.e(Insn::ldx(e::DW, R8, FP, stack::NH));
        self.e(Insn::ldx(e::DW, R1, FP, stack::FAMILY));
        let ports = self.asm.label();
        let v6 = self.asm.label();
        let v4 = self.asm.label();
        self.asm.jump(Insn::jmp_imm(e::JEQ, R1, 4), v4);
        self.asm.jump(Insn::jmp_imm(e::JEQ, R1, 6), v6);
        self.asm.goto(ports);
        self.asm.bind(v4);
        self.need(R8, 20, ports);
        // (A 4-byte load leaves the upper half of the register zero.)
        for (from, to) in [(12, flow::SRC), (16, flow::DST)] {
            self.head(e::W, Some(R8), from);
            self.e(Insn::stx(e::DW, FP, k + to as i16, R0));
        }
        // The transport header, unless this is a later fragment.
        self.head(e::H, Some(R8), 6);
        self.asm.jump(Insn::jmp32_imm(e::JSET, R0, 0x1fff), ports);
        self.head(e::B, Some(R8), 0);
        self.e(Insn::alu32_imm(e::AND, R0, 0xf));
        self.e(Insn::alu32_imm(e::LSH, R0, 2));
        self.e(Insn::alu64_reg(e::ADD, R0, R8));
        self.e(Insn::stx(e::DW, FP, stack::L4OFF, R0));
        self.e(Insn::st(e::DW, FP, stack::HAS_L4, 1));
        self.asm.goto(ports);
        self.asm.bind(v6);
        self.need(R8, 40, ports);
        // Each word: two 4-byte address words, the first in the low half (the key holds
        // each 4-byte word in host order, as the map's reader expects).
        for (from, to) in [(8, flow::SRC), (24, flow::DST)] {
            for w in 0..2 {
                self.head(e::W, Some(R8), from + 8 * w);
                self.e(Insn::mov64(R4, R0));
                self.head(e::W, Some(R8), from + 8 * w + 4);
                self.e(Insn::alu64_imm(e::LSH, R0, 32));
                self.e(Insn::alu64_reg(e::OR, R0, R4));
                self.e(Insn::stx(e::DW, FP, k + (to as i16) + 8 * w as i16, R0));
            }
        }
        self.asm.bind(ports);
        let lookup = self.asm.label();
        let tp = self.asm.label();
        let icmp = self.asm.label();
        self.e(Insn::ldx(e::DW, R1, FP, stack::HAS_L4));
        self.asm.jump(Insn::jmp_imm(e::JEQ, R1, 0), lookup);
        self.e(Insn::ldx(e::DW, R8, FP, stack::L4OFF));
        self.e(Insn::ldx(e::DW, R1, FP, stack::L4));
        for c in [layout::L4_TCP, layout::L4_UDP, layout::L4_SCTP] {
            self.asm.jump(Insn::jmp_imm(e::JEQ, R1, c as i32), tp);
        }
        for c in [layout::L4_ICMP, layout::L4_ICMP6] {
            self.asm.jump(Insn::jmp_imm(e::JEQ, R1, c as i32), icmp);
        }
        self.asm.goto(lookup);
        // PORTS = sport | dport << 16 (type | code << 16), the key's bytes 4..8; both in one
        // load, as each packet load is a helper call.
        self.asm.bind(tp);
        self.need(R8, 4, lookup);
        self.e(Insn::ld_ind(e::W, R8, 0));
        self.e(Insn::mov64(R1, R0));
        self.e(Insn::alu32_imm(e::RSH, R1, 16));
        self.e(Insn::alu32_imm(e::LSH, R0, 16));
        self.e(Insn::alu32_reg(e::OR, R0, R1));
        self.e(Insn::stx(e::DW, FP, stack::PORTS, R0));
        self.asm.goto(lookup);
        self.asm.bind(icmp);
        self.need(R8, 2, lookup);
        self.e(Insn::ld_ind(e::H, R8, 0));
        self.e(Insn::mov64(R1, R0));
        self.e(Insn::alu32_imm(e::RSH, R1, 8));
        self.e(Insn::alu32_imm(e::AND, R0, 0xff));
        self.e(Insn::alu32_imm(e::LSH, R0, 16));
        self.e(Insn::alu32_reg(e::OR, R0, R1));
        self.e(Insn::stx(e::DW, FP, stack::PORTS, R0));

        self.asm.bind(lookup);
        self.e(Insn::ldx(e::DW, R1, FP, stack::ETHERTYPE));
        self.e(Insn::alu64_imm(e::AND, R1, 0xffff));
        for (from, shift, mask) in [
            (stack::PROTO, 16, 0xff),
            (stack::L3, 24, 0xff),
            (stack::PORTS, 32, -1),
        ] {
            self.e(Insn::ldx(e::DW, R2, FP, from));
            if mask != -1 {
                self.e(Insn::alu64_imm(e::AND, R2, mask));
            }
            self.e(Insn::alu64_imm(e::LSH, R2, shift));
            self.e(Insn::alu64_reg(e::OR, R1, R2));
        }
        self.e(Insn::stx(e::DW, FP, k, R1));
        self.cache(slots);
    }

    /// Counts the flow whose key is on the stack in its flow-cache slot; a slot another flow
    /// holds is first moved into the LRU table (layout::cache).
    fn cache(&mut self, slots: u32) {
        let k = stack::FLOW_KEY;
        let words = (flow::KEY_SIZE / 8) as i16;
        // The slot: the top bits of a multiplicative hash of the key's words (full 64-bit
        // odd multipliers, so that every bit of a word reaches the top bits; a sum of
        // independent products rather than a chain, for the CPU's sake).
        const MULTIPLIERS: [u64; 5] = [
            0x9e37_79b9_7f4a_7c15,
            0xc2b2_ae3d_27d4_eb4f,
            0x1656_67b1_9e37_79f9,
            0x85eb_ca77_c2b2_ae63,
            0x27d4_eb2f_1656_67c5,
        ];
        for i in 0..words {
            let r = if i == 0 { R1 } else { R2 };
            self.e(Insn::ldx(e::DW, r, FP, k + 8 * i));
            self.asm
                .emit_all(Insn::ld_imm64(R3, MULTIPLIERS[i as usize]));
            self.e(Insn::alu64_reg(e::MUL, r, R3));
            if i > 0 {
                self.e(Insn::alu64_reg(e::ADD, R1, R2));
            }
        }
        match slots.trailing_zeros() {
            0 => self.e(Insn::mov64_imm(R1, 0)),
            bits => self.e(Insn::alu64_imm(e::RSH, R1, 64 - bits as i32)),
        }
        self.e(Insn::stx(e::W, FP, stack::CACHE_INDEX, R1));
        self.asm.emit_all(Insn::ld_map(R1, FLOW_CACHE));
        self.e(Insn::mov64(R2, FP));
        self.e(Insn::alu64_imm(e::ADD, R2, stack::CACHE_INDEX as i32));
        self.e(Insn::call(Helper::MapLookupElem));
        let done = self.asm.label();
        // (Every index below the array's size is there; the verifier wants the check.)
        self.asm.jump(Insn::jmp_imm(e::JEQ, R0, 0), done);
        self.e(Insn::mov64(R8, R0));
        let other = self.asm.label();
        for i in 0..words {
            self.e(Insn::ldx(e::DW, R1, R8, cache::KEY as i16 + 8 * i));
            self.e(Insn::ldx(e::DW, R2, FP, k + 8 * i));
            self.asm.jump(Insn::jmp_reg(e::JNE, R1, R2), other);
        }
        // This flow's slot: count it here (this CPU's row: plain adds).
        self.e(Insn::ldx(e::DW, R1, R8, cache::PACKETS as i16));
        self.e(Insn::alu64_imm(e::ADD, R1, 1));
        self.e(Insn::stx(e::DW, R8, cache::PACKETS as i16, R1));
        self.e(Insn::ldx(e::DW, R1, R8, cache::BYTES as i16));
        self.e(Insn::ldx(e::DW, R2, FP, stack::LEN));
        self.e(Insn::alu64_reg(e::ADD, R1, R2));
        self.e(Insn::stx(e::DW, R8, cache::BYTES as i16, R1));
        self.asm.goto(done);

        // Another flow's slot, or an empty one: move what it holds into the LRU table.
        self.asm.bind(other);
        let take = self.asm.label();
        let insert = self.asm.label();
        let raced = self.asm.label();
        let failed = self.asm.label();
        self.e(Insn::ldx(e::DW, R1, R8, cache::PACKETS as i16));
        self.asm.jump(Insn::jmp_imm(e::JEQ, R1, 0), take);
        self.lookup_flow();
        self.asm.jump(Insn::jmp_imm(e::JEQ, R0, 0), insert);
        self.add_slot_to_flow();
        self.asm.goto(take);
        self.asm.bind(insert);
        // The slot's key and counts are the new entry's key and value.
        self.asm.emit_all(Insn::ld_map(R1, FLOWS));
        self.e(Insn::mov64(R2, R8));
        self.e(Insn::mov64(R3, R8));
        self.e(Insn::alu64_imm(e::ADD, R3, cache::PACKETS as i32));
        self.e(Insn::mov64_imm(R4, e::NOEXIST));
        self.e(Insn::call(Helper::MapUpdateElem));
        self.asm.jump(Insn::jmp_imm(e::JNE, R0, 0), raced);
        self.inc(slot::FLOW_INSERTS);
        self.asm.goto(take);
        // Another CPU added the flow between our lookup and update.
        self.asm.bind(raced);
        self.lookup_flow();
        self.asm.jump(Insn::jmp_imm(e::JEQ, R0, 0), failed);
        self.add_slot_to_flow();
        self.asm.goto(take);
        self.asm.bind(failed);
        self.e(Insn::ldx(e::DW, R1, R8, cache::PACKETS as i16));
        self.add(slot::FLOW_FAILURES, R1);

        // The slot is this flow's, with this packet.
        self.asm.bind(take);
        for i in 0..words {
            self.e(Insn::ldx(e::DW, R1, FP, k + 8 * i));
            self.e(Insn::stx(e::DW, R8, cache::KEY as i16 + 8 * i, R1));
        }
        self.e(Insn::st(e::DW, R8, cache::PACKETS as i16, 1));
        self.e(Insn::ldx(e::DW, R1, FP, stack::LEN));
        self.e(Insn::stx(e::DW, R8, cache::BYTES as i16, R1));
        self.asm.bind(done);
    }

    /// r0 = the LRU entry of the flow in the cache slot at r8, or 0.
    fn lookup_flow(&mut self) {
        self.asm.emit_all(Insn::ld_map(R1, FLOWS));
        self.e(Insn::mov64(R2, R8));
        self.e(Insn::call(Helper::MapLookupElem));
    }

    /// The flow's LRU entry is in r0: add the counts of the cache slot at r8 (atomically: the
    /// table is shared by all CPUs).
    fn add_slot_to_flow(&mut self) {
        for (to, from) in [(0, cache::PACKETS), (8, cache::BYTES)] {
            self.e(Insn::ldx(e::DW, R1, R8, from as i16));
            self.e(Insn::atomic_add64(R0, to, R1));
        }
    }
}

/// The filter alone, without counters: what the kernel itself runs for the classic program
/// (its conversion maps registers and loads the same way). For measuring what counting adds.
pub fn decision_only(filter: &Cfg) -> Result<Program, String> {
    let mut asm = Asm::new();
    asm.emit(Insn::mov64(R6, R1));
    let accept = asm.label();
    let reject = asm.label();
    translate(
        &mut asm,
        filter,
        Loads::Exact,
        frame(None),
        &Exits { accept, reject },
    )?;
    asm.bind(accept);
    asm.emit(Insn::exit());
    asm.bind(reject);
    asm.emit(Insn::mov32_imm(R0, 0));
    asm.emit(Insn::exit());
    Ok(Program {
        insns: asm.finish()?,
        maps: Vec::new(),
    })
}
