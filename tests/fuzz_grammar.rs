//! Property and fuzz tests of the filter compiler.
//!
//! 1. `grammar_expressions_agree_with_tcpdump`: random pcap-filter(7) expressions from a
//!    grammar generator (a proptest strategy covering the whole language, drawing addresses,
//!    ports and labels from the sample captures' address plan so filters match something) are
//!    compiled by us and run through tcpdump (the oracle) over captures/sample.pcap, and a
//!    smaller share, generated for their link types, over sll.pcap, sll2.pcap and raw.pcap.
//!    For each expression: if tcpdump rejects it we must return an error (never panic); if
//!    tcpdump accepts it we must compile it (or refuse it only as provably matching nothing,
//!    where tcpdump keeps nothing); every program must pass `check::check`; the packets kept
//!    must be exactly tcpdump's (optimizer on vs `tcpdump`, off vs `tcpdump -O`); the kernel
//!    target must compile without panicking to programs that pass the checker. Every case
//!    is checked (in parallel); failures are grouped by signature, and some of each are shrunk
//!    (proptest's value tree, then deleting words and tokens) and reported together.
//! 2. `*_never_panic`: arbitrary strings, token soups from the filter alphabet, lossily
//!    converted byte strings and randomly edited valid expressions go through the parser and
//!    the compiler for every target with the optimizer on and off: Ok or Err, never a panic,
//!    every Ok program passes the checker and every error span fits the expression.
//!
//! A stack overflow aborts a test process instead of panicking, so each property runs in a
//! child process (this binary again) and the parent names, and minimizes, the input that
//! killed it (see `isolated`). With no tcpdump, the tcpdump property prints "SKIPPED" and
//! passes; the others still run.
//!
//! Deterministic by default (fixed seed). Environment:
//! - `FUZZ_SEED=N`: base seed (decimal or 0x hex) for every property;
//! - `FUZZ_CASES=N`: expressions checked against tcpdump over sample.pcap (default 500; each
//!   other capture gets N/8);
//! - `FUZZ_BYTES_CASES=N`: cases of each never-panic property (default 2000);
//! - `FUZZ_SHRINK=N`: at most this many failures are shrunk (default 20);
//! - `FUZZ_EXPR=E` (and `FUZZ_CAPTURE=sll.pcap`...): check just E, printing what differs;
//! - `FUZZ_DUMP=FILE`: write every generated expression with tcpdump's verdict to FILE;
//! - `FUZZ_SKIP=a,b`: skip expressions containing `a` or `b` (to look past known findings).

mod support;

use filter_compiler::{LinkType, Target};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::{BoxedStrategy, Union, ValueTree};
use proptest::test_runner::{
    Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRng, TestRunner,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;
use support::*;

const DEFAULT_SEED: u64 = 0x00b9_fd0e_5eed_2024;
const DEFAULT_CASES: usize = 500;
const DEFAULT_BYTES_CASES: u32 = 2000;
const DEFAULT_SHRINK: usize = 20;
/// Shrink steps per failure (each runs tcpdump twice).
const SHRINK_ITERS: usize = 250;

fn env_num(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    };
    Some(parsed.unwrap_or_else(|| panic!("{name}={v} is not a number")))
}

fn seed() -> u64 {
    env_num("FUZZ_SEED").unwrap_or(DEFAULT_SEED)
}

// =========================================================================== link flavours

/// Which capture (and link type) an expression is generated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Flavor {
    Ether,
    Sll,
    Sll2,
    Raw,
}

impl Flavor {
    const ALL: [Flavor; 4] = [Flavor::Ether, Flavor::Sll, Flavor::Sll2, Flavor::Raw];
    fn capture(self) -> &'static str {
        match self {
            Flavor::Ether => "sample.pcap",
            Flavor::Sll => "sll.pcap",
            Flavor::Sll2 => "sll2.pcap",
            Flavor::Raw => "raw.pcap",
        }
    }
    fn linktype(self) -> LinkType {
        match self {
            Flavor::Ether => LinkType::En10mb,
            Flavor::Sll => LinkType::LinuxSll,
            Flavor::Sll2 => LinkType::LinuxSll2,
            Flavor::Raw => LinkType::Raw,
        }
    }
    /// Bytes of link-layer header.
    fn link_len(self) -> usize {
        match self {
            Flavor::Ether => 14,
            Flavor::Sll => 16,
            Flavor::Sll2 => 20,
            Flavor::Raw => 0,
        }
    }
    /// Kernel targets compiled (check-only) besides the offline one.
    fn kernel_targets(self) -> &'static [Target] {
        const EN: [Target; 1] = [Target {
            linktype: LinkType::En10mb,
            mode: filter_compiler::Mode::Kernel,
        }];
        const SLL: [Target; 1] = [Target {
            linktype: LinkType::LinuxSll,
            mode: filter_compiler::Mode::Kernel,
        }];
        const SLL2: [Target; 1] = [Target {
            linktype: LinkType::LinuxSll2,
            mode: filter_compiler::Mode::Kernel,
        }];
        match self {
            Flavor::Ether => &EN,
            Flavor::Sll => &SLL,
            Flavor::Sll2 => &SLL2,
            Flavor::Raw => &[],
        }
    }
}

// ================================================================================ generator
//
// Strategies producing the text of filter expressions. Every choice is a weighted union whose
// first alternative is the simplest, so shrinking heads there. A generator is either "clean"
// (only forms tcpdump should accept for the link type, so most expressions are valid; what
// still fails is contradictions the optimizer proves, or combinations such as `tcp and
// host MAC`'s neighbours) or "dirty" (also malformed numbers and addresses, misplaced
// qualifiers, forms the link type does not support): about one expression in six is dirty.

type S = BoxedStrategy<String>;

/// What a strategy generates for.
#[derive(Clone, Copy, Debug)]
struct G {
    fl: Flavor,
    dirty: bool,
}

impl G {
    /// `w` in dirty generators only.
    fn bad(self, w: u32) -> u32 {
        if self.dirty {
            w
        } else {
            0
        }
    }
    /// `w` where the form is valid for the link type ([ether, sll, sll2, raw]); 1 elsewhere
    /// in dirty generators.
    fn on(self, valid: [bool; 4], w: u32) -> u32 {
        if valid[self.fl as usize] {
            w
        } else {
            self.bad(1)
        }
    }
}

const ETH: [bool; 4] = [true, false, false, false];
const LINKFUL: [bool; 4] = [true, true, true, false];
const COOKED: [bool; 4] = [false, true, true, false];
const ANY: [bool; 4] = [true, true, true, true];

fn lit(x: &'static str) -> S {
    Just(x.to_string()).boxed()
}

fn pick(xs: &'static [&'static str]) -> S {
    select(xs).prop_map(str::to_string).boxed()
}

/// A weighted choice; alternatives with weight 0 are left out. Shrinks towards the first.
fn one_of(v: Vec<(u32, S)>) -> S {
    let v: Vec<(u32, S)> = v.into_iter().filter(|(w, _)| *w > 0).collect();
    Union::new_weighted(v).boxed()
}

/// Words joined by single spaces, empty words dropped.
fn words_str(ws: &[&str]) -> String {
    ws.iter()
        .filter(|w| !w.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The empty string (first, so shrinking drops it) or `s`.
fn opt(weight_none: u32, weight_some: u32, s: S) -> S {
    one_of(vec![(weight_none, lit("")), (weight_some, s)])
}

/// Spacing around symbolic operators.
fn sp() -> S {
    one_of(vec![(8, lit(" ")), (3, lit("")), (1, lit("  "))])
}

// ------------------------------------------------------------------------------- numbers

fn fmt_num(v: u32, style: u8) -> String {
    match style {
        1 => format!("0x{v:x}"),
        2 => format!("0X{v:X}"),
        3 if v != 0 => format!("0{v:o}"),
        _ => v.to_string(),
    }
}

/// Decimal mostly, else hex (either case) or octal.
fn num_style() -> BoxedStrategy<u8> {
    prop_oneof![10 => Just(0u8), 3 => Just(1u8), 1 => Just(2u8), 2 => Just(3u8)].boxed()
}

/// Numbers that are not (or not quite) numbers: libpcap's scanner decides.
const BOGUS_NUMS: &[&str] = &[
    "4294967296",
    "99999999999",
    "0x100000000",
    "09",
    "0x",
    "0xg",
    "1e3",
    "0b101",
    "1.5",
];

/// A number from `vals` (mostly) or `bad` (dirty only), in decimal, hex or octal; in dirty
/// generators also any u32 and malformed numbers.
fn num_of(g: G, vals: &'static [u32], bad: &'static [u32]) -> S {
    let good = (select(vals), num_style())
        .prop_map(|(v, s)| fmt_num(v, s))
        .boxed();
    let mut alts = vec![(30, good)];
    if g.dirty {
        if !bad.is_empty() {
            alts.push((
                3,
                (select(bad), num_style())
                    .prop_map(|(v, s)| fmt_num(v, s))
                    .boxed(),
            ));
        }
        alts.push((
            2,
            (any::<u32>(), num_style())
                .prop_map(|(v, s)| fmt_num(v, s))
                .boxed(),
        ));
        alts.push((1, pick(BOGUS_NUMS)));
    }
    one_of(alts)
}

// ------------------------------------------------------------------- address plan (captures)

const V4_HOSTS: &[&str] = &[
    "10.0.0.1",
    "10.0.0.2",
    "192.168.1.10",
    "192.168.1.20",
    "10.1.2.3",
    "172.16.5.4",
    "8.8.8.8",
    "224.0.0.1",
    "239.1.2.3",
    "255.255.255.255",
    "192.168.1.255",
    "0.0.0.0",
    "10.0.0.9",
    "127.0.0.1",
];
const V4_PARTIAL: &[&str] = &[
    "10",
    "10.0",
    "10.0.0",
    "10.1.2",
    "192.168",
    "192.168.1",
    "172.16",
    "224",
    "8.8.8",
    "0",
    "127",
    "239.1.2",
];
const V4_NET_BASES: &[&str] = &[
    "10.0.0.0",
    "192.168.1.0",
    "192.168.0.0",
    "172.16.0.0",
    "224.0.0.0",
    "239.0.0.0",
    "8.8.8.0",
    "0.0.0.0",
    "128.0.0.0",
    "10.1.2.0",
    "10.0.0.0",
];
/// Base and prefix lengths that leave no host bits set.
const V4_NETS: &[(&str, u32)] = &[
    ("10.0.0.0", 8),
    ("10.0.0.0", 16),
    ("10.0.0.0", 24),
    ("10.0.0.0", 31),
    ("10.0.0.0", 30),
    ("10.0.0.1", 32),
    ("10.1.2.0", 24),
    ("10.1.0.0", 16),
    ("192.168.1.0", 24),
    ("192.168.1.0", 25),
    ("192.168.1.128", 25),
    ("192.168.0.0", 16),
    ("172.16.0.0", 12),
    ("172.16.5.0", 24),
    ("224.0.0.0", 4),
    ("224.0.0.0", 24),
    ("239.0.0.0", 8),
    ("8.8.8.0", 24),
    ("8.0.0.0", 8),
    ("0.0.0.0", 0),
    ("0.0.0.0", 1),
    ("128.0.0.0", 1),
    ("10", 8),
    ("192.168", 16),
    ("192.168.1", 24),
    ("172.16", 12),
];
const V4_MASKS: &[(&str, &str)] = &[
    ("10.0.0.0", "255.0.0.0"),
    ("10.0.0.0", "255.255.0.0"),
    ("192.168.1.0", "255.255.255.0"),
    ("192.168.1.10", "255.255.255.255"),
    ("0.0.0.0", "0.0.0.0"),
    ("10.0.0.0", "255.0.255.0"),
    ("224.0.0.0", "240.0.0.0"),
    ("192.168.1.0", "255.255.255.128"),
    ("172.16.0.0", "255.240.0.0"),
    ("10.0.0.0", "0xff000000"),
];
const V4_MASKS_ANY: &[&str] = &[
    "255.0.0.0",
    "255.255.0.0",
    "255.255.255.0",
    "0.0.0.0",
    "255.255",
    "0xff000000",
];
const V4_PREFIX_BAD: &[u32] = &[33, 1, 4, 12, 25, 31];
const NET_NAMES: &[&str] = &["link-local", "loopback"];
const HOST_NAMES: &[&str] = &["localhost", "runsc"];
const V4_OCTETS: &[u32] = &[
    0, 1, 2, 3, 5, 8, 9, 10, 16, 20, 168, 172, 192, 224, 239, 254, 255,
];

const V6_HOSTS: &[&str] = &[
    "2001:db8::1",
    "2001:db8::2",
    "2001:db8:1::10",
    "fe80::1",
    "fe80::2",
    "ff02::1",
    "ff02::1:ff00:1",
    "::",
    "::1",
    "2001:DB8::1",
    "2001:db8:0:0:0:0:0:2",
    "::ffff:10.0.0.1",
    "2001:db8::9",
    "fe80:0000:0000:0000:0000:0000:0000:0001",
];
const V6_NETS: &[(&str, u32)] = &[
    ("2001:db8::", 32),
    ("2001:db8::", 48),
    ("2001:db8::", 64),
    ("2001:db8:1::", 48),
    ("2001:db8::1", 128),
    ("fe80::", 10),
    ("fe80::", 64),
    ("ff02::", 16),
    ("ff00::", 8),
    ("::", 0),
    ("::", 1),
    ("2001::", 16),
    ("2001:db8::", 120),
    ("ff02::1:ff00:0", 104),
];
const V6_NET_BASES: &[&str] = &["2001:db8::1", "fe80::1", "2001:db8:1::10", "::1"];
const V6_PREFIX_BAD: &[u32] = &[129, 64, 127, 33, 96];

const MACS: &[[u8; 6]] = &[
    [0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
    [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb],
    [0x02, 0x00, 0x00, 0x00, 0x00, 0x01],
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01],
    [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03],
    [0x33, 0x33, 0x00, 0x00, 0x00, 0x01],
    [0x33, 0x33, 0xff, 0x00, 0x00, 0x01],
    [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00],
    [0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e],
    [0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01],
    [0x09, 0x00, 0x07, 0xff, 0xff, 0xff],
    [0xaa, 0x00, 0x04, 0x00, 0x01, 0x04],
    [0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
];

const PORTS: &[u32] = &[
    80, 22, 53, 443, 8080, 1024, 1025, 1027, 1028, 1030, 67, 68, 123, 5060, 0, 65535, 40000, 50000,
    60000, 40100, 1, 6081, 33434,
];
const PORTS_BAD: &[u32] = &[65536, 100000];
/// Service names in /etc/services for both TCP and UDP (valid with every protocol
/// qualifier), then TCP-only and UDP-only ones.
const SERVICES_BOTH: &[&str] = &["domain", "https", "sip", "echo", "discard", "snmp"];
const SERVICES_ONE: &[&str] = &[
    "http", "ssh", "www", "ftp-data", "telnet", "smtp", "mysql", "x11", "ntp", "bootps", "bootpc",
    "tftp",
];
const SERVICES_BAD: &[&str] = &["nosuchservice"];

// ----------------------------------------------------------------------------- primitives

fn v4_random() -> S {
    (
        select(V4_OCTETS),
        select(V4_OCTETS),
        select(V4_OCTETS),
        select(V4_OCTETS),
    )
        .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}"))
        .boxed()
}

fn v4_host(g: G) -> S {
    one_of(vec![
        (12, pick(V4_HOSTS)),
        (3, pick(V4_PARTIAL)),
        (2, v4_random()),
        (1, pick(HOST_NAMES)),
        (
            g.bad(2),
            pick(&[
                "10.0.0.256",
                "1.2.3.4.5",
                "10..1",
                "nosuchhost",
                "10.0.0.1/8",
            ]),
        ),
    ])
}

fn v4_net(g: G) -> S {
    let base = one_of(vec![
        (6, pick(V4_NET_BASES)),
        (3, pick(V4_PARTIAL)),
        (2, pick(V4_HOSTS)),
    ]);
    one_of(vec![
        (
            10,
            (select(V4_NETS), num_style())
                .prop_map(|((b, l), s)| format!("{b}/{}", fmt_num(l, s)))
                .boxed(),
        ),
        (4, pick(V4_PARTIAL)),
        (
            3,
            select(V4_MASKS)
                .prop_map(|(b, m)| format!("{b} mask {m}"))
                .boxed(),
        ),
        (1, pick(V4_HOSTS)),
        (1, pick(NET_NAMES)),
        (
            g.bad(2),
            (base.clone(), select(V4_PREFIX_BAD), num_style())
                .prop_map(|(b, l, s)| format!("{b}/{}", fmt_num(l, s)))
                .boxed(),
        ),
        (
            g.bad(1),
            (base, pick(V4_MASKS_ANY))
                .prop_map(|(b, m)| format!("{b} mask {m}"))
                .boxed(),
        ),
        (g.bad(1), pick(&["default", "nosuchnet", "10.0.0.0/", "/8"])),
    ])
}

fn v6_host() -> S {
    pick(V6_HOSTS)
}

fn v6_net(g: G) -> S {
    one_of(vec![
        (
            10,
            select(V6_NETS)
                .prop_map(|(b, l)| format!("{b}/{l}"))
                .boxed(),
        ),
        (
            g.bad(2),
            (pick(V6_NET_BASES), select(V6_PREFIX_BAD))
                .prop_map(|(b, l)| format!("{b}/{l}"))
                .boxed(),
        ),
    ])
}

fn fmt_mac(m: [u8; 6], style: u8) -> String {
    let h: Vec<String> = m.iter().map(|b| format!("{b:02x}")).collect();
    match style {
        1 => h.join(":").to_uppercase(),
        2 => m
            .iter()
            .map(|b| format!("{b:x}"))
            .collect::<Vec<_>>()
            .join(":"),
        3 => h.join("-"),
        4 => format!("{}{}.{}{}.{}{}", h[0], h[1], h[2], h[3], h[4], h[5]),
        5 => h.concat(),
        _ => h.join(":"),
    }
}

fn mac(g: G) -> S {
    let good = (select(MACS), 0u8..6)
        .prop_map(|(m, s)| fmt_mac(m, s))
        .boxed();
    one_of(vec![
        (30, good),
        (
            g.bad(3),
            pick(&[
                "00:11:22:33:44",
                "00:11:22:33:44:55:66",
                "0011.2233",
                "00:11:22:33:44:5g",
                "001:11:22:33:44:55",
            ]),
        ),
    ])
}

/// A port for `proto`: "" (any), "tcp", "udp" or "sctp".
fn port_val(g: G, proto: &str) -> S {
    let names = match proto {
        "" => one_of(vec![(2, pick(SERVICES_BOTH)), (3, pick(SERVICES_ONE))]),
        // Single-protocol names are refused with the other protocol (`udp port http`).
        _ => one_of(vec![
            (4, pick(SERVICES_BOTH)),
            (g.bad(2), pick(SERVICES_ONE)),
        ]),
    };
    one_of(vec![
        (6, num_of(g, PORTS, PORTS_BAD)),
        (3, names),
        (g.bad(1), pick(SERVICES_BAD)),
    ])
}

fn port_range(g: G) -> S {
    let end = one_of(vec![
        (6, select(PORTS).prop_map(|p| p.to_string()).boxed()),
        (2, pick(SERVICES_BOTH)),
        (1, pick(SERVICES_ONE)),
        (
            g.bad(2),
            (select(PORTS), 1u8..4)
                .prop_map(|(v, s)| fmt_num(v, s))
                .boxed(),
        ),
        (g.bad(1), pick(SERVICES_BAD)),
    ]);
    one_of(vec![
        (
            20,
            (end.clone(), end.clone())
                .prop_map(|(a, b)| format!("{a}-{b}"))
                .boxed(),
        ),
        (
            g.bad(1),
            (end.clone(), end)
                .prop_map(|(a, b)| format!("{a} - {b}"))
                .boxed(),
        ),
        (g.bad(1), port_val(g, "")),
    ])
}

fn dir(g: G) -> S {
    one_of(vec![
        (8, lit("")),
        (4, lit("src")),
        (4, lit("dst")),
        (2, lit("src or dst")),
        (2, lit("src and dst")),
        (
            g.bad(2),
            pick(&[
                "addr1",
                "addr2",
                "addr3",
                "addr4",
                "ra",
                "ta",
                "dst or src",
                "src src",
            ]),
        ),
    ])
}

/// `[proto] [dir] host`: at least `host` or a direction, as the grammar wants.
fn with_kind(proto: S, dir: S, kind: &'static str, g: G) -> S {
    (
        proto,
        dir,
        one_of(vec![
            (2, lit(kind)),
            (1, lit("")),
            (g.bad(1), lit("gateway")),
        ]),
    )
        .prop_map(move |(p, d, k)| {
            let k = if k.is_empty() && d.is_empty() {
                kind.to_string()
            } else {
                k
            };
            words_str(&[&p, &d, &k])
        })
        .boxed()
}

fn host_quals(g: G) -> S {
    let proto = one_of(vec![
        (10, lit("")),
        (4, lit("ip")),
        (g.on(LINKFUL, 2), lit("arp")),
        (g.on(LINKFUL, 1), lit("rarp")),
        (
            g.bad(2),
            pick(&["tcp", "udp", "ip6", "ether", "icmp", "link", "sctp"]),
        ),
    ]);
    with_kind(proto, dir(g), "host", g)
}

fn host6_quals(g: G) -> S {
    let proto = one_of(vec![
        (10, lit("")),
        (4, lit("ip6")),
        (g.bad(2), pick(&["ip", "tcp", "arp"])),
    ]);
    with_kind(proto, dir(g), "host", g)
}

fn net_quals(g: G) -> S {
    let proto = one_of(vec![
        (10, lit("")),
        (4, lit("ip")),
        (g.on(LINKFUL, 2), lit("arp")),
        (g.on(LINKFUL, 1), lit("rarp")),
        (g.bad(2), pick(&["ip6", "tcp", "ether"])),
    ]);
    (proto, dir(g))
        .prop_map(|(p, d)| words_str(&[&p, &d, "net"]))
        .boxed()
}

fn net6_quals(g: G) -> S {
    let proto = one_of(vec![(10, lit("")), (4, lit("ip6")), (g.bad(1), lit("ip"))]);
    (proto, dir(g))
        .prop_map(|(p, d)| words_str(&[&p, &d, "net"]))
        .boxed()
}

fn ether_quals(g: G) -> S {
    let proto = one_of(vec![
        (12, lit("ether")),
        (2, pick(&["link", "fddi", "tr", "wlan"])),
        (g.bad(1), lit("ppp")),
        (g.bad(1), lit("")),
    ]);
    with_kind(proto, dir(g), "host", g)
}

/// A port primitive's qualifiers and value, the name fitting the protocol.
fn port_prim(g: G, kind: &'static str) -> S {
    let proto = one_of(vec![
        (8, lit("")),
        (4, lit("tcp")),
        (4, lit("udp")),
        (2, lit("sctp")),
        (g.bad(2), pick(&["ip", "ip6", "icmp", "ether"])),
    ]);
    (proto, dir(g))
        .prop_flat_map(move |(p, d)| {
            let q = words_str(&[&p, &d, kind]);
            let v = if kind == "port" {
                port_val(g, &p)
            } else {
                port_range(g)
            };
            (Just(q), v)
        })
        .prop_map(|(q, v)| words_str(&[&q, &v]))
        .boxed()
}

const IP_PROTO_NUMS: &[u32] = &[
    6, 17, 1, 2, 47, 50, 51, 58, 103, 112, 132, 253, 0, 41, 43, 44, 60, 59, 255, 4,
];
const IP_PROTO_NUMS_BAD: &[u32] = &[256, 1000];
const IP_PROTO_NAMES: &[&str] = &[
    "\\tcp",
    "\\udp",
    "\\icmp",
    "\\igmp",
    "\\pim",
    "\\vrrp",
    "\\ah",
    "\\esp",
    "\\sctp",
    "gre",
    "ospf",
    "ipv6-icmp",
    "ipencap",
    "ipip",
    "ipv6-frag",
    "ipv6-route",
    "ipv6-opts",
    "ipv6-nonxt",
    "hopopt",
];
const IP_PROTO_NAMES_BAD: &[&str] = &["tcp", "nosuchproto", "\\ipx", "igmp", "\\icmp6"];
const ETHER_PROTO_NUMS: &[u32] = &[
    0x800, 0x86dd, 0x806, 0x8035, 0x8100, 0x88a8, 0x8847, 0x8848, 0x8863, 0x8864, 0x88cc, 0x9000,
    0x6003, 0x809b, 0x80f3, 0x8137, 0x42, 0xe0, 0xf0, 0xfe, 0xaa, 1500, 1501, 0xffff, 4,
];
const ETHER_PROTO_NUMS_BAD: &[u32] = &[0x10000];
/// ETHER_PROTO_NUMS without the LLC SAPs (<= 1500).
const ETHER_TYPES: &[u32] = &[
    0x800, 0x86dd, 0x806, 0x8035, 0x8100, 0x88a8, 0x8847, 0x8848, 0x8863, 0x8864, 0x88cc, 0x9000,
    0x6003, 0x809b, 0x80f3, 0x8137, 0xffff,
];
const ETHER_PROTO_NAMES: &[&str] = &[
    "\\ip",
    "\\ip6",
    "\\arp",
    "\\rarp",
    "\\decnet",
    "\\atalk",
    "\\aarp",
    "\\lat",
    "\\sca",
    "\\mopdl",
    "\\moprc",
    "\\iso",
    "\\stp",
    "\\ipx",
    "\\netbeui",
];
const ETHER_PROTO_NAMES_BAD: &[&str] = &["ip", "\\tcp", "\\vlan"];
const ISO_PROTO_VALS: &[&str] = &["0x81", "0x82", "0x83", "\\isis", "\\esis", "\\clnp", "0x84"];

fn ip_proto_val(g: G) -> S {
    one_of(vec![
        (3, num_of(g, IP_PROTO_NUMS, IP_PROTO_NUMS_BAD)),
        (2, pick(IP_PROTO_NAMES)),
        (g.bad(1), pick(IP_PROTO_NAMES_BAD)),
    ])
}

fn ether_proto_val(g: G) -> S {
    // The SLL2 LLC deviation (see bare_proto) also hits `ether proto \stp` and SAP numbers.
    let names = if g.fl == Flavor::Sll2 {
        pick(&[
            "\\ip", "\\ip6", "\\arp", "\\rarp", "\\decnet", "\\atalk", "\\aarp",
        ])
    } else {
        pick(ETHER_PROTO_NAMES)
    };
    let nums = if g.fl == Flavor::Sll2 {
        num_of(g, ETHER_TYPES, ETHER_PROTO_NUMS_BAD)
    } else {
        num_of(g, ETHER_PROTO_NUMS, ETHER_PROTO_NUMS_BAD)
    };
    one_of(vec![
        (3, nums),
        (2, names),
        (g.bad(1), pick(ETHER_PROTO_NAMES_BAD)),
    ])
}

fn proto_prim(g: G) -> S {
    let ip = (
        one_of(vec![
            (4, lit("ip")),
            (3, lit("ip6")),
            (3, lit("")),
            (g.bad(1), lit("tcp")),
        ]),
        ip_proto_val(g),
    )
        .prop_map(|(q, v)| words_str(&[&q, "proto", &v]))
        .boxed();
    let ether = (
        one_of(vec![(6, lit("ether")), (1, lit("link"))]),
        ether_proto_val(g),
    )
        .prop_map(|(q, v)| words_str(&[&q, "proto", &v]))
        .boxed();
    let iso = pick(ISO_PROTO_VALS)
        .prop_map(|v| format!("iso proto {v}"))
        .boxed();
    let chain = (
        one_of(vec![(3, lit("ip6")), (2, lit("ip")), (2, lit(""))]),
        ip_proto_val(g),
    )
        .prop_map(|(q, v)| words_str(&[&q, "protochain", &v]))
        .boxed();
    one_of(vec![
        (6, ip),
        (g.on(ANY, 5), ether),
        // `iso proto` on SLL2: the LLC deviation again.
        (g.on([true, true, false, false], 1), iso),
        (3, chain),
    ])
}

const BARE_PROTOS_COMMON: &[&str] = &[
    "ip", "ip6", "tcp", "udp", "icmp", "icmp6", "sctp", "igmp", "igrp", "pim", "vrrp", "carp",
    "ah", "esp",
];
const BARE_PROTOS_LINK: &[&str] = &[
    "arp", "rarp", "atalk", "aarp", "decnet", "sca", "lat", "mopdl", "moprc", "iso", "esis",
    "es-is", "isis", "is-is", "clnp", "l1", "l2", "iih", "lsp", "snp", "csnp", "psnp", "stp",
    "ipx", "netbeui", "llc",
];
/// Without the LLC-based names (stp, netbeui, ipx, iso and the IS-IS family), which libpcap
/// 1.10.3 gets wrong on SLL2: it compares the SAP with the SLL2 protocol field instead of
/// checking for protocol 4 and reading the LLC header (`ldh [0]; jeq #0x42` for `stp`). See
/// LIBPCAP_BUGS in differential.rs; `llc` itself is refused on SLL2 by both.
const BARE_PROTOS_SLL2: &[&str] = &[
    "arp", "rarp", "atalk", "aarp", "decnet", "sca", "lat", "mopdl", "moprc", "llc",
];

fn bare_proto(g: G) -> S {
    let link = match g.fl {
        Flavor::Sll2 => pick(BARE_PROTOS_SLL2),
        _ => pick(BARE_PROTOS_LINK),
    };
    one_of(vec![
        (8, pick(BARE_PROTOS_COMMON)),
        (g.on(LINKFUL, 5), link),
        (
            g.bad(1),
            pick(&["link", "ether", "radio", "ppp", "host", "port", "net"]),
        ),
    ])
}

fn bcast_mcast(g: G) -> S {
    one_of(vec![
        (
            g.on(ETH, 6),
            pick(&[
                "ether broadcast",
                "ether multicast",
                "broadcast",
                "multicast",
                "link broadcast",
                "link multicast",
            ]),
        ),
        (3, pick(&["ip broadcast", "ip multicast", "ip6 multicast"])),
        (
            g.bad(1),
            pick(&[
                "ip6 broadcast",
                "arp broadcast",
                "tcp multicast",
                "ether dst broadcast",
            ]),
        ),
    ])
}

const SIZES: &[u32] = &[
    60, 64, 42, 100, 128, 256, 512, 576, 1000, 1024, 1200, 1400, 1500, 1514, 0, 14, 54, 98,
    0xffffffff,
];

fn relop() -> S {
    one_of(vec![
        (4, lit("=")),
        (2, lit("!=")),
        (2, lit(">")),
        (2, lit("<")),
        (1, lit(">=")),
        (1, lit("<=")),
        (1, lit("==")),
    ])
}

fn length_prim(g: G) -> S {
    let n = num_of(g, SIZES, &[]);
    one_of(vec![
        (3, n.clone().prop_map(|n| format!("less {n}")).boxed()),
        (3, n.clone().prop_map(|n| format!("greater {n}")).boxed()),
        (
            3,
            (pick(&["len", "length"]), relop(), n)
                .prop_map(|(l, r, n)| format!("{l} {r} {n}"))
                .boxed(),
        ),
    ])
}

fn encap_prim(g: G) -> S {
    let vlan = opt(
        2,
        3,
        num_of(g, &[10, 20, 100, 4094, 0, 1, 4095, 0x14], &[4096]),
    )
    .prop_map(|n| words_str(&["vlan", &n]))
    .boxed();
    let mpls = opt(2, 3, num_of(g, &[16, 100, 1000, 0, 1048575], &[1048576]))
        .prop_map(|n| words_str(&["mpls", &n]))
        .boxed();
    let pppoes = opt(2, 2, num_of(g, &[0x11, 0x1234, 0, 65535], &[65536]))
        .prop_map(|n| words_str(&["pppoes", &n]))
        .boxed();
    let llc_types: &'static [&'static str] = &[
        "i", "s", "u", "rr", "rnr", "rej", "ui", "ua", "disc", "dm", "sabme", "test", "xid", "frmr",
    ];
    let llc = opt(
        2,
        4,
        one_of(vec![(20, pick(llc_types)), (g.bad(1), lit("nosuchtype"))]),
    )
    .prop_map(|n| words_str(&["llc", &n]))
    .boxed();
    one_of(vec![
        (g.on(ETH, 6), vlan),
        (g.on(ETH, 4), mpls),
        (g.on(LINKFUL, 3), pppoes),
        // Never weight 0 here: on RAW nothing else is left (pppoed then matches nothing).
        (g.on(LINKFUL, 2).max(1), lit("pppoed")),
        // LLC on SLL2: libpcap's deviation again.
        (g.on(ETH, 3), llc),
    ])
}

fn misc_prim(g: G) -> S {
    let byte = (
        num_of(g, &[0, 1, 8, 9, 6, 12, 13, 14, 20, 23], &[]),
        // Not `&` or `|`: libpcap compiles those without loading the byte (it tests whatever
        // A held before), a bug bpfdump does not copy (docs/differences.md). They still go
        // through the never-panic properties.
        pick(&["=", "<", ">"]),
        num_of(g, &[0x45, 6, 17, 64, 0, 1, 0x40, 2, 8, 0x86], &[]),
    )
        .prop_map(|(o, op, v)| format!("byte {o} {op} {v}"))
        .boxed();
    let decnet = (
        with_kind(lit("decnet"), dir(g), "host", g),
        (1u32..=63, prop_oneof![Just(1u32), Just(23), 0u32..=1023]),
    )
        .prop_map(|(q, (a, n))| format!("{q} {a}.{n}"))
        .boxed();
    let dirn = pick(&["inbound", "outbound"]);
    let ifindex = num_of(g, &[1, 2, 3, 0, 4], &[])
        .prop_map(|n| format!("ifindex {n}"))
        .boxed();
    let gateway = pick(&[
        "gateway localhost",
        "gateway 10.0.0.1",
        "gateway nosuchhost",
    ]);
    one_of(vec![
        (2, byte),
        (g.on(LINKFUL, 2), decnet),
        (g.on(COOKED, 6), dirn),
        (g.on([false, false, true, false], 6), ifindex),
        (g.bad(1), gateway),
        (
            g.bad(1),
            pick(&[
                "byte 0 != 1",
                "byte 0 = 0x100",
                "decnet 64.1",
                "decnet 1.1024",
            ]),
        ),
    ])
}

// ---------------------------------------------------------------------------- arithmetic

const ARITH_NUMS: &[u32] = &[
    0, 1, 2, 3, 4, 5, 6, 8, 12, 13, 14, 15, 16, 17, 20, 0x45, 0x0f, 0xf0, 0xff, 0x800, 0x86dd,
    0x1fff, 0x3fff, 24, 31, 32, 33, 40, 60, 64, 80, 443, 1024, 1500, 65535, 0xffffffff, 0x80000000,
    0x7fffffff, 0x0a000001,
];
const ARITH_CONSTS: &[&str] = &[
    "tcpflags",
    "icmptype",
    "icmpcode",
    "icmp6type",
    "icmp6code",
    "tcp-fin",
    "tcp-syn",
    "tcp-rst",
    "tcp-push",
    "tcp-ack",
    "tcp-urg",
    "tcp-ece",
    "tcp-cwr",
    "icmp-echoreply",
    "icmp-unreach",
    "icmp-sourcequench",
    "icmp-redirect",
    "icmp-echo",
    "icmp-routeradvert",
    "icmp-routersolicit",
    "icmp-timxceed",
    "icmp-paramprob",
    "icmp-tstamp",
    "icmp-tstampreply",
    "icmp-ireq",
    "icmp-ireqreply",
    "icmp-maskreq",
    "icmp-maskreply",
    "icmp6-destinationunreach",
    "icmp6-packettoobig",
    "icmp6-timeexceeded",
    "icmp6-echo",
    "icmp6-echoreply",
    "icmp6-multicastlistenerquery",
    "icmp6-multicastlistenerreportv1",
    "icmp6-neighborsolicit",
    "icmp6-neighboradvert",
    "icmp6-routersolicit",
    "icmp6-routeradvert",
    "icmp6-redirect",
    "icmp6-multicastlistenerreportv2",
];
const LOAD_PROTOS_COMMON: &[&str] = &[
    "ip", "tcp", "udp", "icmp", "ip6", "icmp6", "sctp", "igmp", "pim", "vrrp", "carp", "igrp",
];
const LOAD_PROTOS_LINK: &[&str] = &[
    "ether", "link", "arp", "rarp", "ppp", "fddi", "tr", "wlan", "atalk", "decnet", "lat", "sca",
    "mopdl", "moprc", "slip",
];
const LOAD_PROTOS_BAD: &[&str] = &["aarp", "iso", "radio", "llc", "stp", "esp"];

fn binop() -> S {
    one_of(vec![
        (3, lit("&")),
        (2, lit("+")),
        (2, lit("-")),
        (2, lit("*")),
        (2, lit("/")),
        (1, lit("%")),
        (2, lit("|")),
        (1, lit("^")),
        (2, lit("<<")),
        (2, lit(">>")),
    ])
}

fn load_proto(g: G) -> S {
    one_of(vec![
        (8, pick(LOAD_PROTOS_COMMON)),
        (3, pick(&["ether", "link"])),
        (2, pick(LOAD_PROTOS_LINK)),
        (g.bad(2), pick(LOAD_PROTOS_BAD)),
    ])
}

fn load_size(g: G) -> S {
    one_of(vec![
        (4, lit("")),
        (2, lit(":1")),
        (3, lit(":2")),
        (3, lit(":4")),
        (g.bad(2), pick(&[":3", ":0", ":8", ": 2", ":0x2", ":"])),
    ])
}

/// `proto[index]` / `proto[index:size]`.
fn load(g: G, index: S) -> S {
    (load_proto(g), index, load_size(g))
        .prop_map(|(p, i, s)| format!("{p}[{i}{s}]"))
        .boxed()
}

fn simple_index(g: G) -> S {
    one_of(vec![
        (6, (0u32..=60).prop_map(|n| n.to_string()).boxed()),
        (
            2,
            pick(&["tcpflags", "icmptype", "icmpcode", "icmp6type", "icmp6code"]),
        ),
        (
            1,
            num_of(
                g,
                &[0, 2, 9, 12, 13, 14, 20, 23, 40, 100000, 0xffffffff],
                &[],
            ),
        ),
    ])
}

fn arith(g: G) -> S {
    let leaf = one_of(vec![
        (5, num_of(g, ARITH_NUMS, &[])),
        (2, lit("len")),
        (2, pick(ARITH_CONSTS)),
        (6, load(g, simple_index(g))),
    ]);
    leaf.prop_recursive(3, 10, 2, move |inner| {
        one_of(vec![
            (
                6,
                (inner.clone(), sp(), binop(), sp(), inner.clone())
                    .prop_map(|(a, s1, o, s2, b)| format!("{a}{s1}{o}{s2}{b}"))
                    .boxed(),
            ),
            (
                1,
                (opt(3, 1, lit(" ")), inner.clone())
                    .prop_map(|(s, a)| format!("-{s}{a}"))
                    .boxed(),
            ),
            (2, inner.clone().prop_map(|a| format!("({a})")).boxed()),
            (2, load(g, inner)),
        ])
    })
    .boxed()
}

/// `A relop B` with arbitrary arithmetic on both sides.
fn relation(g: G) -> S {
    (arith(g), sp(), relop(), sp(), arith(g))
        .prop_map(|(a, s1, r, s2, b)| format!("{a}{s1}{r}{s2}{b}"))
        .boxed()
}

/// `proto[off:size] & mask relop value`, the common shape, with plausible values.
fn field_test(g: G) -> S {
    let mask = opt(
        2,
        3,
        (
            sp(),
            one_of(vec![
                (
                    4,
                    num_of(
                        g,
                        &[
                            0xf, 0xf0, 0xff, 0x1fff, 0x3fff, 2, 0x12, 0x20, 0x40, 1, 0xff00,
                        ],
                        &[],
                    ),
                ),
                (
                    2,
                    pick(&[
                        "tcp-syn",
                        "tcp-ack",
                        "(tcp-syn|tcp-ack)",
                        "(tcp-fin|tcp-push|tcp-urg)",
                        "tcp-rst",
                        "tcp-cwr",
                    ]),
                ),
            ]),
        )
            .prop_map(|(s, m)| format!("{s}&{s}{m}"))
            .boxed(),
    );
    let value = one_of(vec![
        (
            4,
            num_of(
                g,
                &[
                    0, 0x45, 6, 17, 1, 2, 0x12, 80, 53, 443, 64, 0x800, 0x86dd, 8, 0x50, 135,
                ],
                &[],
            ),
        ),
        (2, pick(ARITH_CONSTS)),
    ]);
    (load(g, simple_index(g)), mask, sp(), relop(), sp(), value)
        .prop_map(|(l, m, s1, r, s2, v)| format!("{l}{m}{s1}{r}{s2}{v}"))
        .boxed()
}

// --------------------------------------------------------------- inheritance and combinations

fn conj() -> S {
    one_of(vec![
        (6, lit(" and ")),
        (6, lit(" or ")),
        (2, lit(" && ")),
        (2, lit(" || ")),
        (1, lit("&&")),
        (1, lit("||")),
    ])
}

fn neg() -> S {
    one_of(vec![(3, lit("not ")), (2, lit("! ")), (1, lit("!"))])
}

/// An id of another kind than the chain's (mostly an error in the inherited context).
fn any_id(g: G) -> S {
    one_of(vec![
        (3, v4_host(g)),
        (2, v6_host()),
        (2, port_val(g, "")),
        (1, mac(g)),
        (1, v4_net(g)),
        (1, pick(&["tcp", "\\tcp", "http"])),
    ])
}

/// `QUALS ID (and|or [not] ID)+`: bare ids after and/or inherit the qualifiers. `extra` are
/// ids of other kinds that are still valid in the chain (IPv6 after IPv4 hosts).
fn chain_of(g: G, quals: S, id: S, extra: Option<S>) -> S {
    let mut ids = vec![(10, id.clone()), (g.bad(2), any_id(g))];
    if let Some(e) = extra {
        ids.push((2, e));
    }
    let next = (
        conj(),
        opt(6, 1, neg()),
        one_of(ids),
        prop_oneof![8 => Just(false), 1 => Just(true)],
    )
        .prop_map(|(c, n, i, paren)| {
            if paren {
                format!("{c}{n}({i})")
            } else {
                format!("{c}{n}{i}")
            }
        });
    (quals, id, prop::collection::vec(next, 1..4))
        .prop_map(|(q, i, rest)| {
            let mut s = words_str(&[&q, &i]);
            for r in rest {
                s.push_str(&r);
            }
            s
        })
        .boxed()
}

fn chain(g: G) -> S {
    let ip_proto = one_of(vec![
        (3, lit("ip proto")),
        (1, lit("ip6 proto")),
        (1, lit("proto")),
    ]);
    let plain_dir = one_of(vec![
        (3, lit("")),
        (2, lit("src")),
        (2, lit("dst")),
        (1, lit("src or dst")),
    ]);
    let port_quals = (
        one_of(vec![
            (3, lit("")),
            (2, lit("tcp")),
            (2, lit("udp")),
            (1, lit("sctp")),
        ]),
        plain_dir.clone(),
    )
        .prop_map(|(p, d)| words_str(&[&p, &d, "port"]))
        .boxed();
    let range_quals = (
        one_of(vec![(3, lit("")), (2, lit("tcp")), (2, lit("udp"))]),
        plain_dir,
    )
        .prop_map(|(p, d)| words_str(&[&p, &d, "portrange"]))
        .boxed();
    let port_ids = one_of(vec![
        (3, num_of(g, PORTS, PORTS_BAD)),
        (1, pick(SERVICES_BOTH)),
    ]);
    one_of(vec![
        (6, chain_of(g, host_quals(g), v4_host(g), None)),
        (3, chain_of(g, host6_quals(g), v6_host(), None)),
        (
            2,
            chain_of(
                g,
                pick(&["host", "src", "dst", "src or dst host"]),
                v4_host(g),
                Some(v6_host()),
            ),
        ),
        (3, chain_of(g, net_quals(g), v4_net(g), None)),
        (1, chain_of(g, net6_quals(g), v6_net(g), None)),
        (5, chain_of(g, port_quals, port_ids, None)),
        (2, chain_of(g, range_quals, port_range(g), None)),
        (g.on(ETH, 3), chain_of(g, ether_quals(g), mac(g), None)),
        (
            g.on(ANY, 2),
            chain_of(g, lit("ether proto"), ether_proto_val(g), None),
        ),
        (2, chain_of(g, ip_proto, ip_proto_val(g), None)),
        (1, chain_of(g, lit("protochain"), ip_proto_val(g), None)),
        (
            g.on(LINKFUL, 1),
            chain_of(
                g,
                lit("decnet src"),
                (1u32..=63, 1u32..=1023)
                    .prop_map(|(a, n)| format!("{a}.{n}"))
                    .boxed(),
                None,
            ),
        ),
    ])
}

/// One primitive: `[quals] id`, a keyword primitive, or a relation.
fn leaf(g: G) -> S {
    let ip_host = (host_quals(g), v4_host(g))
        .prop_map(|(q, a)| words_str(&[&q, &a]))
        .boxed();
    let ip6_host = (host6_quals(g), v6_host())
        .prop_map(|(q, a)| words_str(&[&q, &a]))
        .boxed();
    let net = (net_quals(g), v4_net(g))
        .prop_map(|(q, a)| words_str(&[&q, &a]))
        .boxed();
    let net6 = (net6_quals(g), v6_net(g))
        .prop_map(|(q, a)| words_str(&[&q, &a]))
        .boxed();
    let ether = (ether_quals(g), mac(g))
        .prop_map(|(q, a)| words_str(&[&q, &a]))
        .boxed();
    // A bare id with nothing to inherit from is a syntax error (unless it follows and/or).
    let bare_id = one_of(vec![
        (3, pick(V4_HOSTS)),
        (2, pick(V6_HOSTS)),
        (1, num_of(g, PORTS, &[])),
        (1, pick(&["localhost", "http", "link-local"])),
        (1, mac(g)),
    ]);
    one_of(vec![
        (6, bare_proto(g)),
        (8, ip_host),
        (4, ip6_host),
        (5, net),
        (2, net6),
        (g.on(ETH, 4), ether),
        (7, port_prim(g, "port")),
        (3, port_prim(g, "portrange")),
        (6, proto_prim(g)),
        (3, bcast_mcast(g)),
        (3, length_prim(g)),
        (g.on(LINKFUL, 8), encap_prim(g)),
        (3, misc_prim(g)),
        (8, relation(g)),
        (5, field_test(g)),
        (7, chain(g)),
        (g.bad(2), bare_id),
    ])
}

/// A whole filter expression for `g`.
fn expr_of(g: G) -> S {
    let tree = leaf(g).prop_recursive(4, 12, 3, |inner| {
        one_of(vec![
            (
                6,
                (inner.clone(), conj(), inner.clone())
                    .prop_map(|(a, c, b)| format!("{a}{c}{b}"))
                    .boxed(),
            ),
            (
                2,
                (neg(), inner.clone())
                    .prop_map(|(n, a)| format!("{n}{a}"))
                    .boxed(),
            ),
            (
                3,
                (inner, opt(4, 1, lit(" ")))
                    .prop_map(|(a, s)| format!("({s}{a}{s})"))
                    .boxed(),
            ),
        ])
    });
    // Now and then other blanks than single spaces (libpcap's are " \t\r\n" only: a
    // no-break space is an error; rare, as the token soup covers Unicode blanks too).
    let blanks = one_of(vec![
        (240, lit(" ")),
        (10, lit("  ")),
        (10, lit("\t")),
        (10, lit("\n")),
        (10, lit(" \r\n ")),
        (g.bad(1), lit("\u{a0}")),
    ]);
    (tree, blanks)
        .prop_map(|(e, b)| if b == " " { e } else { e.replace(' ', &b) })
        .boxed()
}

/// A filter expression for `fl`: clean five times in six; now and then behind `geneve`.
///
/// `geneve` only as `geneve [vni] and (E)`: anywhere else, the tests after it also run for
/// packets that are not Geneve, and libpcap's then read scratch memory nothing wrote
/// (uninitialized; bpfdump zeroes it, see docs/differences.md).
fn expr_strategy(fl: Flavor) -> S {
    let g = G { fl, dirty: false };
    let geneve = (
        opt(
            2,
            1,
            num_of(g, &[0, 100, 7, 200, 300, 16777215], &[16777216]),
        ),
        expr_of(g),
    )
        .prop_map(|(n, e)| format!("{} and ({e})", words_str(&["geneve", &n])))
        .boxed();
    one_of(vec![
        (20, expr_of(g)),
        (4, expr_of(G { fl, dirty: true })),
        (1, geneve),
    ])
}

/// The proptest runner (and so the value tree) of case `i` of `fl` under `seed`: every case
/// has its own RNG, so any thread can regenerate (and shrink) any case.
fn case_runner(seed: u64, fl: Flavor, i: usize) -> TestRunner {
    let mut st = seed ^ ((fl as u64 + 1) << 56) ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        // splitmix64
        st = st.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = st;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

fn case_tree(seed: u64, fl: Flavor, i: usize) -> Box<dyn ValueTree<Value = String>> {
    let mut runner = case_runner(seed, fl, i);
    Box::new(
        expr_strategy(fl)
            .new_tree(&mut runner)
            .expect("the generator has no filters"),
    )
}

// ======================================================================= tcpdump comparison

/// Runs `tcpdump [extra] -nn -r CAPTURE -w - -- EXPR` and returns the indices (by timestamp)
/// of the packets it wrote, or tcpdump's complaint.
fn tcpdump_written(
    td: &Path,
    extra: &[&str],
    capture: &Capture,
    by_ts: &HashMap<(u32, u32), usize>,
    expr: &str,
) -> Result<Result<BTreeSet<usize>, String>, String> {
    let out = Command::new(td)
        .args(extra)
        .args(["-nn", "-r"])
        .arg(&capture.path)
        .args(["-w", "-", "--"])
        .arg(expr)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", td.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let msg = err
            .lines()
            .rfind(|l| !l.starts_with("reading from file") && !l.starts_with("Warning:"))
            .unwrap_or("")
            .trim()
            .to_string();
        return Ok(Err(format!("{msg} ({})", out.status)));
    }
    let (_, packets) = parse_pcap(&out.stdout).map_err(|e| format!("tcpdump -w -: {e}"))?;
    let mut kept = BTreeSet::new();
    for p in packets {
        match by_ts.get(&(p.ts_sec, p.ts_usec)) {
            Some(&i) => {
                kept.insert(i);
            }
            None => {
                return Err(format!(
                    "tcpdump wrote a packet at {}.{:06} not in the capture",
                    p.ts_sec, p.ts_usec
                ))
            }
        }
    }
    Ok(Ok(kept))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Harness,
    Panic,
    CheckFailed,
    InterpPanic,
    /// tcpdump rejects the expression, we compile it.
    AcceptsRejected,
    /// tcpdump accepts the expression, we refuse it.
    RejectsAccepted,
    Mismatch,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Harness => "harness problem (tcpdump could not be run or read)",
            Kind::Panic => "compiler/parser panicked",
            Kind::CheckFailed => "program fails check::check",
            Kind::InterpPanic => "interpreter panicked",
            Kind::AcceptsRejected => "we compile what tcpdump rejects",
            Kind::RejectsAccepted => "we refuse what tcpdump accepts",
            Kind::Mismatch => "kept packets differ from tcpdump's",
        }
    }
}

#[derive(Clone, Debug)]
struct Problem {
    kind: Kind,
    /// What is compared: "optimize on", "optimize off", "kernel EN10MB optimize on", ...
    mode: String,
    text: String,
    /// Failure signature: the same bug shrinks while the signature stays.
    sig: String,
}

/// Digits and quoted names replaced, so messages about different values compare equal.
fn normalize(msg: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    let mut last_digit = false;
    for c in msg.chars() {
        let after_word = out.chars().last().is_some_and(|p| p.is_alphanumeric());
        if c == '\'' && (in_quote || !after_word) {
            in_quote = !in_quote;
            if in_quote {
                out.push_str("'…");
            } else {
                out.push('\'');
            }
            last_digit = false;
            continue;
        }
        if in_quote {
            continue;
        }
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
            continue;
        }
        last_digit = false;
        out.push(c);
    }
    out
}

/// The panic's location, for the signature.
fn panic_site(msg: &str) -> String {
    msg.rsplit_once(" at ")
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| normalize(msg))
}

struct Ctx {
    flavor: Flavor,
    capture: Capture,
    by_ts: HashMap<(u32, u32), usize>,
}

#[derive(Default, Clone, Debug)]
struct Outcome {
    problems: Vec<Problem>,
    /// tcpdump (optimizing) accepted the expression.
    accepted: bool,
    /// Packets tcpdump kept (optimizing), if it accepted.
    kept: usize,
    /// tcpdump's complaint (optimizing), if it rejected the expression.
    rejected: Option<String>,
    /// Kernel-target refusals of an expression the offline target compiled (allowed; shown).
    kernel_refused: Vec<String>,
}

fn evaluate(td: &Path, ctx: &Ctx, expr: &str) -> Outcome {
    if avoided(expr) {
        return Outcome {
            problems: vec![Problem {
                kind: Kind::Panic,
                mode: String::new(),
                text:
                    "killed an earlier run of this test (abort, not a panic: see the crash report)"
                        .into(),
                sig: "abort".into(),
            }],
            ..Outcome::default()
        };
    }
    traced(expr, || evaluate_inner(td, ctx, expr))
}

fn evaluate_inner(td: &Path, ctx: &Ctx, expr: &str) -> Outcome {
    let mut out = Outcome::default();
    let mut problems = Vec::new();
    let oracle = |extra: &[&str]| tcpdump_written(td, extra, &ctx.capture, &ctx.by_ts, expr);
    let (theirs_opt, theirs_unopt) = match (oracle(&[]), oracle(&["-O"])) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            problems.push(Problem {
                kind: Kind::Harness,
                mode: String::new(),
                text: e.clone(),
                sig: format!("harness:{}", normalize(&e)),
            });
            out.problems = problems;
            return out;
        }
    };
    match &theirs_opt {
        Ok(k) => {
            out.accepted = true;
            out.kept = k.len();
        }
        Err(m) => out.rejected = Some(m.clone()),
    }
    // The parser on its own.
    if let Err(m) = guarded(|| filter_compiler::parse::parse(expr)) {
        problems.push(Problem {
            kind: Kind::Panic,
            mode: "parse".into(),
            text: format!("parse PANICKED: {m}"),
            sig: format!("panic:{}", panic_site(&m)),
        });
    }
    let lt = ctx.flavor.linktype();
    // Which loads a program runs decides packets where a load falls outside the packet (or a
    // division by zero happens), and both optimizers skip work whose outcome cannot matter. So the optimized programs are
    // compared exactly except on packets where that can change the verdict: where our
    // unoptimized program (which must equal `tcpdump -O` everywhere) ends on an out-of-bounds
    // load, or where libpcap's optimizer changed tcpdump's verdict. Elsewhere our optimized
    // program must also give exactly our unoptimized program's verdict.
    let unopt = match compile(expr, Target::offline(lt), false) {
        Compiled::Ok(p) => Some(p),
        _ => None,
    };
    let oob: BTreeSet<usize> = unopt
        .as_ref()
        .map(|p| {
            ctx.capture
                .packets
                .iter()
                .filter(|pk| {
                    matches!(
                        filter_compiler::interp::try_run(
                            &p.insns,
                            &pk.data,
                            pk.wirelen,
                            &filter_compiler::interp::Meta::default()
                        ),
                        Err(filter_compiler::interp::Abort::OutOfBounds { .. }
                            | filter_compiler::interp::Abort::DivideByZero { .. })
                    )
                })
                .map(|pk| pk.index)
                .collect()
        })
        .unwrap_or_default();
    let libpcap_changed: BTreeSet<usize> = match (&theirs_opt, &theirs_unopt) {
        (Ok(a), Ok(b)) => a.symmetric_difference(b).copied().collect(),
        _ => BTreeSet::new(),
    };
    let ours_unopt: Option<BTreeSet<usize>> = unopt
        .as_ref()
        .and_then(|p| kept_offline(&p.insns, &ctx.capture.packets).ok());
    let mut per_mode: Vec<Problem> = Vec::new();
    for (optimize, theirs) in [(true, &theirs_opt), (false, &theirs_unopt)] {
        let mode = if optimize {
            "optimize on"
        } else {
            "optimize off"
        };
        let tflag = if optimize { "tcpdump" } else { "tcpdump -O" };
        let mut push = |kind: Kind, text: String, sig: String| {
            per_mode.push(Problem {
                kind,
                mode: mode.to_string(),
                text,
                sig,
            })
        };
        let prog = match (compile(expr, Target::offline(lt), optimize), theirs) {
            (Compiled::Panic(m), _) => {
                let sig = format!("panic:{}", panic_site(&m));
                push(Kind::Panic, format!("compile PANICKED: {m}"), sig);
                continue;
            }
            (Compiled::Err(_), Err(_)) => continue,
            (Compiled::Err(e), Ok(t)) if t.is_empty() && proves_no_match(&e) => continue,
            (Compiled::Err(e), Ok(t)) => {
                let sig = format!("rejects:{}", normalize(&e.to_string()));
                push(
                    Kind::RejectsAccepted,
                    format!(
                        "we refuse it ({}), {tflag} accepts it and keeps {} packets [{}]",
                        e,
                        t.len(),
                        ranges(t)
                    ),
                    sig,
                );
                continue;
            }
            (Compiled::Ok(p), theirs) => (p, theirs),
        };
        let (prog, theirs) = prog;
        if let Err(e) = check(&prog.insns) {
            push(
                Kind::CheckFailed,
                format!("{e} ({} instructions)", prog.len()),
                format!("check:{}", normalize(&e)),
            );
        }
        let ours = match kept_offline(&prog.insns, &ctx.capture.packets) {
            Ok(k) => k,
            Err(e) => {
                let sig = format!("interp:{}", panic_site(&e));
                push(Kind::InterpPanic, e, sig);
                continue;
            }
        };
        match theirs {
            Err(msg) => {
                let sig = format!("accepts:{}", normalize(msg));
                push(
                    Kind::AcceptsRejected,
                    format!(
                        "{tflag} rejects it ({msg}); we compile it ({} instructions) and keep {} packets [{}]",
                        prog.len(),
                        ours.len(),
                        ranges(&ours)
                    ),
                    sig,
                );
            }
            Ok(t)
                if *t != ours
                    && (!optimize
                        || t.symmetric_difference(&ours)
                            .any(|i| !oob.contains(i) && !libpcap_changed.contains(i))) =>
            {
                let only_them: BTreeSet<usize> = t.difference(&ours).copied().collect();
                let only_us: BTreeSet<usize> = ours.difference(t).copied().collect();
                // Truncated, or too short for a link header and an IPv4 header: which loads a
                // program runs (and in which order) decides these, not what they hold.
                let short = |i: &usize| {
                    let p = &ctx.capture.packets[*i];
                    (p.data.len() as u32) < p.wirelen || p.data.len() < ctx.flavor.link_len() + 20
                };
                let only_short = only_them.iter().chain(&only_us).all(short);
                let note = if only_short {
                    " [all differing packets are truncated or shorter than link + IPv4 headers]"
                } else {
                    ""
                };
                push(
                    Kind::Mismatch,
                    format!(
                        "only {tflag} kept [{}]; only we kept [{}]{note}\n        {tflag} kept {}: [{}]\n        we kept {}: [{}]",
                        ranges(&only_them),
                        ranges(&only_us),
                        t.len(),
                        ranges(t),
                        ours.len(),
                        ranges(&ours)
                    ),
                    // Which loads run first decides truncated packets: another cause.
                    if only_short {
                        "mismatch on short packets only".into()
                    } else {
                        "mismatch".into()
                    },
                );
            }
            Ok(_) => {}
        }
        // Our optimizer may change a verdict only where a load falls outside the packet.
        if optimize {
            if let Some(u) = &ours_unopt {
                let changed: BTreeSet<usize> = u
                    .symmetric_difference(&ours)
                    .filter(|i| !oob.contains(i))
                    .copied()
                    .collect();
                if !changed.is_empty() {
                    push(
                        Kind::Mismatch,
                        format!(
                            "our optimizer changed the verdict on packets whose loads stay in bounds: [{}]",
                            ranges(&changed)
                        ),
                        "optimizer changed an in-bounds verdict".into(),
                    );
                }
            }
        }
    }
    // One problem in both modes is reported once.
    if per_mode.len() == 2
        && per_mode[0].kind == per_mode[1].kind
        && per_mode[0].sig == per_mode[1].sig
    {
        let mut p = per_mode.pop().unwrap();
        let first = per_mode.pop().unwrap();
        if first.text == p.text {
            p.mode = "optimize on/off".into();
            per_mode.push(p);
        } else {
            per_mode.push(first);
            per_mode.push(p);
        }
    }
    problems.extend(per_mode);
    // Kernel targets: no panic, and the checker takes every program.
    for target in ctx.flavor.kernel_targets() {
        for optimize in [true, false] {
            let offline_ok = || {
                matches!(
                    compile(expr, Target::offline(ctx.flavor.linktype()), optimize),
                    Compiled::Ok(_)
                )
            };
            let mode = format!(
                "kernel {} optimize {}",
                target.linktype.name(),
                if optimize { "on" } else { "off" }
            );
            match compile(expr, *target, optimize) {
                Compiled::Panic(m) => problems.push(Problem {
                    kind: Kind::Panic,
                    mode,
                    text: format!("compile PANICKED: {m}"),
                    sig: format!("panic:{}", panic_site(&m)),
                }),
                Compiled::Ok(p) => {
                    if let Err(e) = check(&p.insns) {
                        problems.push(Problem {
                            kind: Kind::CheckFailed,
                            mode,
                            text: format!("{e} ({} instructions)", p.len()),
                            sig: format!("check:{}", normalize(&e)),
                        });
                    }
                }
                Compiled::Err(e) => {
                    if offline_ok() {
                        out.kernel_refused.push(format!("{mode}: {e}"));
                    }
                }
            }
        }
    }
    out.problems = problems;
    out
}

struct Failure {
    flavor: Flavor,
    case: usize,
    original: String,
    minimal: String,
    problems: Vec<Problem>,
    steps: usize,
}

/// Shrinks case `i` while some problem keeps the signature `sig`: first through proptest's
/// value tree (simpler choices, smaller numbers), then by deleting runs of blank-separated
/// words from the text (the tree cannot replace `a and b` by `b`).
fn shrink(td: &Path, ctx: &Ctx, seed: u64, i: usize, sig: &str) -> Failure {
    let mut tree = case_tree(seed, ctx.flavor, i);
    let original = tree.current();
    let mut minimal = original.clone();
    let mut problems = evaluate(td, ctx, &original).problems;
    let failing = |cand: &str| -> Option<Vec<Problem>> {
        let o = evaluate(td, ctx, cand);
        o.problems
            .iter()
            .any(|p| p.sig == sig)
            .then_some(o.problems)
    };
    let mut steps = 0;
    if tree.simplify() {
        while steps < SHRINK_ITERS {
            steps += 1;
            let cand = tree.current();
            if let Some(p) = failing(&cand) {
                minimal = cand;
                problems = p;
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
    }
    let (m, p, n) = delete_words(minimal, problems, &failing, SHRINK_ITERS);
    minimal = m;
    problems = p;
    steps += n;
    Failure {
        flavor: ctx.flavor,
        case: i,
        original,
        minimal,
        problems,
        steps,
    }
}

/// Splits an expression into tokens: runs of name/number/address characters, two-character
/// operators, and single characters.
fn tokens(text: &str) -> Vec<String> {
    let word = |c: char| c.is_alphanumeric() || "_.:-\\".contains(c);
    let cs: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if word(c) {
            let start = i;
            while i < cs.len() && word(cs[i]) {
                i += 1;
            }
            out.push(cs[start..i].iter().collect());
        } else {
            let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
            if [">=", "<=", "!=", "==", "<<", ">>", "&&", "||"].contains(&two.as_str()) {
                out.push(two);
                i += 2;
            } else {
                out.push(c.to_string());
                i += 1;
            }
        }
    }
    out
}

/// Deletes runs of blank-separated words, then of tokens (longest runs first), while
/// `failing` still fails; at most `budget` tries. Returns the text, its problems and the tries.
fn delete_words(
    mut minimal: String,
    mut problems: Vec<Problem>,
    failing: &dyn Fn(&str) -> Option<Vec<Problem>>,
    mut budget: usize,
) -> (String, Vec<Problem>, usize) {
    let mut steps = 0;
    for split in [
        (|t: &str| t.split_whitespace().map(str::to_string).collect()) as fn(&str) -> Vec<String>,
        tokens,
    ] {
        let mut words: Vec<String> = split(&minimal);
        let joined = words.join(" ");
        if joined != minimal {
            if budget == 0 {
                break;
            }
            budget -= 1;
            steps += 1;
            match failing(&joined) {
                Some(p) => {
                    minimal = joined;
                    problems = p;
                }
                None => continue,
            }
        }
        // Every run, longest first; after a deletion, the same length again.
        let mut n = words.len().saturating_sub(1);
        while n >= 1 && budget > 0 {
            let mut k = 0;
            while k + n <= words.len() && budget > 0 {
                let mut cand = words.clone();
                cand.drain(k..k + n);
                budget -= 1;
                steps += 1;
                let text = cand.join(" ");
                if let Some(p) = failing(&text) {
                    words = cand;
                    minimal = text;
                    problems = p;
                } else {
                    k += 1;
                }
            }
            n = n.min(words.len().saturating_sub(1)).saturating_sub(1);
        }
    }
    (minimal, problems, steps)
}

/// Which generated features each expression uses, for the coverage summary.
const FEATURES: &[(&str, &[&str])] = &[
    ("and/or", &[" and ", " or ", "&&", "||"]),
    ("not/!", &["not ", "!"]),
    ("parens", &["("]),
    ("host", &["host "]),
    ("net", &["net "]),
    ("mask", &[" mask "]),
    ("/len", &["/"]),
    ("ipv6", &["::"]),
    (
        "MAC",
        &[
            "ether host",
            "ether src",
            "ether dst",
            "link host",
            "fddi ",
            "tr ",
            "wlan ",
        ],
    ),
    ("port", &["port "]),
    ("portrange", &["portrange "]),
    ("proto", &["proto "]),
    ("protochain", &["protochain "]),
    ("src/dst", &["src", "dst"]),
    ("vlan", &["vlan"]),
    ("mpls", &["mpls"]),
    ("pppoes", &["pppoes"]),
    ("pppoed", &["pppoed"]),
    ("llc", &["llc"]),
    ("stp", &["stp"]),
    ("broadcast", &["broadcast"]),
    ("multicast", &["multicast"]),
    ("less/greater", &["less ", "greater "]),
    ("len", &["len"]),
    ("proto[]", &["["]),
    ("arith op", &["+", "*", "/", "%", "|", "^", "<<", ">>"]),
    (
        "tcpflags/icmptype",
        &["tcpflags", "tcp-", "icmptype", "icmp-", "icmp6"],
    ),
    ("hex", &["0x", "0X"]),
    (
        "inherited id",
        &[
            "or 1", "and 1", "or 2", "or f", "or 0", "and 0", "or 8", "or (", "and (", "or not 1",
            "or ! ",
        ],
    ),
];

#[test]
fn grammar_expressions_agree_with_tcpdump() {
    isolated("grammar_expressions_agree_with_tcpdump", || {
        let started = Instant::now();
        let Some(td) = tcpdump() else {
            eprintln!(
                "SKIPPED: tcpdump not found ($TCPDUMP or PATH); grammar expressions were not compared with tcpdump"
            );
            return;
        };
        let seed = seed();
        let cases = env_num("FUZZ_CASES").map_or(DEFAULT_CASES, |n| n as usize);
        let max_shrink = env_num("FUZZ_SHRINK").map_or(DEFAULT_SHRINK, |n| n as usize);
        let ctxs: Vec<Ctx> = Flavor::ALL
            .iter()
            .map(|&fl| {
                let capture = load_capture(fl.capture());
                assert_eq!(
                    LinkType::from_linktype(capture.linktype),
                    Some(fl.linktype()),
                    "{} has link type {}",
                    fl.capture(),
                    capture.linktype
                );
                let by_ts = capture.index_by_timestamp();
                Ctx {
                    flavor: fl,
                    capture,
                    by_ts,
                }
            })
            .collect();
        let ctx_of = |fl: Flavor| &ctxs[fl as usize];
        if let Ok(expr) = std::env::var("FUZZ_EXPR") {
            // One expression, for looking at a report's finding: FUZZ_CAPTURE=sll.pcap etc.
            let cap = std::env::var("FUZZ_CAPTURE").unwrap_or_else(|_| "sample.pcap".into());
            let fl = *Flavor::ALL
                .iter()
                .find(|f| f.capture() == cap)
                .unwrap_or_else(|| panic!("FUZZ_CAPTURE={cap}: not one of the four captures"));
            let o = evaluate(&td, ctx_of(fl), &expr);
            eprintln!(
                "FUZZ_EXPR {:?} over {cap}: tcpdump {}",
                expr,
                match &o.rejected {
                    Some(m) => format!("rejects it: {m}"),
                    None => format!("keeps {}", o.kept),
                }
            );
            for p in &o.problems {
                eprintln!("    {} [{}]: {}", p.kind.label(), p.mode, p.text);
            }
            if let Some(first) = o.problems.first() {
                let sig = first.sig.clone();
                let ctx = ctx_of(fl);
                let failing = |cand: &str| -> Option<Vec<Problem>> {
                    let o = evaluate(&td, ctx, cand);
                    o.problems
                        .iter()
                        .any(|p| p.sig == sig)
                        .then_some(o.problems)
                };
                let (m, ps, _) =
                    delete_words(expr.clone(), o.problems.clone(), &failing, 2 * SHRINK_ITERS);
                eprintln!(
                    "  shrunk (same signature {sig:?}) to `{}`:",
                    m.escape_debug()
                );
                for p in &ps {
                    eprintln!("    {} [{}]: {}", p.kind.label(), p.mode, p.text);
                }
            }
            assert!(o.problems.is_empty(), "FUZZ_EXPR disagrees");
            return;
        }
        let mut jobs: Vec<(Flavor, usize)> = (0..cases).map(|i| (Flavor::Ether, i)).collect();
        for fl in [Flavor::Sll, Flavor::Sll2, Flavor::Raw] {
            jobs.extend((0..cases.div_ceil(8)).map(|i| (fl, i)));
        }
        eprintln!(
            "fuzz_grammar: seed {seed:#x} (FUZZ_SEED), {cases} expressions over sample.pcap and {} each over sll/sll2/raw (FUZZ_CASES), {} total",
            cases.div_ceil(8),
            jobs.len()
        );
        // Exploration aid: FUZZ_SKIP=a,b skips generated expressions containing "a" or "b"
        // (to look past known findings). Unset, nothing is skipped.
        let skip: Vec<String> = std::env::var("FUZZ_SKIP")
            .map(|v| {
                v.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let results = par_map(&jobs, |&(fl, i)| {
            let expr = case_tree(seed, fl, i).current();
            if skip.iter().any(|x| expr.contains(x.as_str())) {
                return (expr, Outcome::default());
            }
            let o = evaluate(&td, ctx_of(fl), &expr);
            (expr, o)
        });
        if !skip.is_empty() {
            let n = results
                .iter()
                .filter(|(e, _)| skip.iter().any(|x| e.contains(x.as_str())))
                .count();
            eprintln!("FUZZ_SKIP={skip:?}: {n} expressions skipped");
        }
        if let Some(path) = std::env::var_os("FUZZ_DUMP") {
            // Every expression with tcpdump's verdict, to see what the generator makes.
            let mut text = String::new();
            for ((fl, i), (e, o)) in jobs.iter().zip(&results) {
                let verdict = match &o.rejected {
                    Some(m) => format!("rejected: {m}"),
                    None => format!("kept {}", o.kept),
                };
                let _ = writeln!(
                    text,
                    "{}\t{i}\t{verdict}\t{}",
                    fl.capture(),
                    e.escape_debug()
                );
            }
            std::fs::write(&path, text).expect("cannot write FUZZ_DUMP");
        }

        // Statistics and coverage.
        let mut summary = String::new();
        for fl in Flavor::ALL {
            let rs: Vec<&(String, Outcome)> = jobs
                .iter()
                .zip(&results)
                .filter(|((f, _), _)| *f == fl)
                .map(|(_, r)| r)
                .collect();
            let n = rs.len();
            let accepted = rs.iter().filter(|(_, o)| o.accepted).count();
            let some = rs.iter().filter(|(_, o)| o.accepted && o.kept > 0).count();
            let total = ctx_of(fl).capture.packets.len();
            let partial = rs
                .iter()
                .filter(|(_, o)| o.accepted && o.kept > 0 && o.kept < total)
                .count();
            let bad = rs.iter().filter(|(_, o)| !o.problems.is_empty()).count();
            let avg_len = rs.iter().map(|(e, _)| e.len()).sum::<usize>() / n.max(1);
            let _ = writeln!(
                summary,
                "  {:<11} {n:>5} expressions (avg {avg_len} chars): tcpdump accepts {accepted}, keeps some packets for {some} ({partial} neither none nor all); {bad} with problems",
                fl.capture()
            );
        }
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for (_, o) in &results {
            if let Some(m) = &o.rejected {
                *reasons.entry(normalize(m)).or_default() += 1;
            }
        }
        let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
        reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
        let _ = write!(summary, "  tcpdump's most common complaints:");
        for (m, k) in reasons.iter().take(12) {
            let _ = write!(summary, "\n    {k:>4} {m}");
        }
        summary.push('\n');
        let mut krefused: BTreeMap<String, (usize, String)> = BTreeMap::new();
        for (e, o) in &results {
            for m in &o.kernel_refused {
                let k = krefused.entry(normalize(m)).or_insert((0, e.clone()));
                k.0 += 1;
            }
        }
        if !krefused.is_empty() {
            let _ = write!(
                summary,
                "  kernel target refusals of expressions the offline target compiles (allowed):"
            );
            for (m, (k, e)) in &krefused {
                let _ = write!(summary, "\n    {k:>4} {m} (e.g. `{}`)", e.escape_debug());
            }
            summary.push('\n');
        }
        let mut cov = String::from("  coverage (expressions using):");
        for (name, needles) in FEATURES {
            let k = results
                .iter()
                .filter(|(e, _)| needles.iter().any(|n| e.contains(n)))
                .count();
            let _ = write!(cov, " {name} {k};");
        }
        eprintln!("{summary}{cov}");

        // Failures: by signature, shortest first; shrink a few of each.
        let mut by_sig: BTreeMap<(Kind, String), Vec<usize>> = BTreeMap::new();
        for (j, (_, o)) in results.iter().enumerate() {
            let mut seen = BTreeSet::new();
            for p in &o.problems {
                if seen.insert((p.kind, p.sig.clone())) {
                    by_sig.entry((p.kind, p.sig.clone())).or_default().push(j);
                }
            }
        }
        let nfail = results
            .iter()
            .filter(|(_, o)| !o.problems.is_empty())
            .count();
        if nfail == 0 {
            eprintln!(
                "fuzz_grammar: all {} expressions agree with tcpdump ({:.1}s)",
                jobs.len(),
                started.elapsed().as_secs_f64()
            );
            return;
        }
        // Round robin over the signatures, shortest expressions first; mismatches have many
        // causes, so they get two turns a round.
        let mut to_shrink: Vec<(usize, String)> = Vec::new();
        let sorted: Vec<(Kind, String, Vec<usize>)> = by_sig
            .iter()
            // Inputs that kill the process are minimized by the parent process.
            .filter(|((_, sig), _)| sig != "abort")
            .map(|((k, sig), js)| {
                let mut js = js.clone();
                js.sort_by_key(|&j| results[j].0.len());
                (*k, sig.clone(), js)
            })
            .collect();
        let mut taken = vec![0usize; sorted.len()];
        let mut progress = true;
        while to_shrink.len() < max_shrink && progress {
            progress = false;
            for (n, (kind, sig, js)) in sorted.iter().enumerate() {
                let turns = if *kind == Kind::Mismatch { 2 } else { 1 };
                for _ in 0..turns {
                    while taken[n] < js.len() && to_shrink.iter().any(|(j, _)| *j == js[taken[n]]) {
                        taken[n] += 1;
                    }
                    if taken[n] < js.len() && to_shrink.len() < max_shrink {
                        to_shrink.push((js[taken[n]], sig.clone()));
                        taken[n] += 1;
                        progress = true;
                    }
                }
            }
        }
        let shrunk = par_map(&to_shrink, |(j, sig)| {
            let (fl, i) = jobs[*j];
            shrink(&td, ctx_of(fl), seed, i, sig)
        });
        let mut report = String::new();
        let _ = writeln!(
            report,
            "fuzz_grammar: seed {seed:#x}: {nfail} of {} generated expressions disagree with tcpdump or break a rule",
            jobs.len()
        );
        let _ = writeln!(
            report,
            "{summary}\nby kind and signature (count: shortest example):"
        );
        for ((kind, sig), js) in &by_sig {
            let mut js = js.clone();
            js.sort_by_key(|&j| results[j].0.len());
            let _ = writeln!(
                report,
                "  {:>4} x {} [{sig}], shortest:",
                js.len(),
                kind.label()
            );
            for &j in js.iter().take(8) {
                let _ = writeln!(
                    report,
                    "         {} `{}`",
                    jobs[j].0.capture(),
                    results[j].0.escape_debug()
                );
            }
        }
        let _ = writeln!(report, "\nshrunk failures ({} shrunk):", shrunk.len());
        let mut seen_min = BTreeSet::new();
        for f in &shrunk {
            if !seen_min.insert((f.flavor, f.minimal.clone())) {
                continue;
            }
            let _ = writeln!(
                report,
                "\n[{}] minimal `{}`\n    (case {} of seed {seed:#x}, {} shrink steps; generated as `{}`)",
                f.flavor.capture(),
                f.minimal.escape_debug(),
                f.case,
                f.steps,
                f.original.escape_debug()
            );
            for p in &f.problems {
                let mode = if p.mode.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", p.mode)
                };
                let _ = writeln!(report, "    {}{mode}: {}", p.kind.label(), p.text);
            }
        }
        let path = write_report("fuzz-grammar-report.txt", &report);
        panic!(
            "{report}\n(report also in {path}; reproduce with FUZZ_SEED={seed:#x} FUZZ_CASES={cases}; {:.1}s)",
            started.elapsed().as_secs_f64()
        );
    });
}

/// The generator itself: deterministic per seed and case, and producing expressions tcpdump
/// mostly accepts is checked by the property above; here, that it is deterministic and varied.
#[test]
fn generator_is_deterministic_and_varied() {
    let a: Vec<String> = (0..200)
        .map(|i| case_tree(7, Flavor::Ether, i).current())
        .collect();
    let b: Vec<String> = (0..200)
        .map(|i| case_tree(7, Flavor::Ether, i).current())
        .collect();
    assert_eq!(a, b, "the generator is not deterministic");
    let distinct: BTreeSet<&String> = a.iter().collect();
    assert!(
        distinct.len() > 150,
        "only {} distinct expressions of 200",
        distinct.len()
    );
}

// ======================================================================== crash isolation

// A stack overflow aborts the whole test process: no panic to catch, no message but
// "overflowed its stack", and every other test of the binary dies with it. So each property
// runs in a child process (this test binary again, FUZZ_CHILD=1, the one test); every input is
// logged to a trace file before and after it is tried, and when the child dies the parent
// names the input it died on, minimized by re-running single inputs in further children.

const CHILD_ENV: &str = "FUZZ_CHILD";
const TRACE_ENV: &str = "FUZZ_TRACE_FILE";
const ONE_ENV: &str = "FUZZ_ONE_INPUT";
const AVOID_ENV: &str = "FUZZ_AVOID_INPUTS";

fn hex_encode(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(h: &str) -> String {
    let bytes: Vec<u8> = (0..h.len() / 2)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    String::from_utf8(bytes).expect("trace inputs are UTF-8")
}

/// Runs `f` on `input`, logging "S hex" before and "E hex" after to the trace file (if any).
fn traced<R>(input: &str, f: impl FnOnce() -> R) -> R {
    use std::io::Write as _;
    let Some(path) = std::env::var_os(TRACE_ENV) else {
        return f();
    };
    let log = |tag: &str| {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("cannot open the trace file");
        // One write per line, so lines of parallel workers do not interleave.
        file.write_all(format!("{tag} {}\n", hex_encode(input)).as_bytes())
            .expect("cannot write the trace file");
    };
    log("S");
    let r = f();
    log("E");
    r
}

/// Inputs started but never finished, according to a trace file.
fn unfinished(trace: &str) -> Vec<String> {
    let mut open: Vec<String> = Vec::new();
    for line in trace.lines() {
        if let Some(h) = line.strip_prefix("S ") {
            open.push(h.to_string());
        } else if let Some(h) = line.strip_prefix("E ") {
            if let Some(k) = open.iter().position(|x| x == h) {
                open.remove(k);
            }
        }
    }
    open.into_iter().map(|h| hex_decode(&h)).collect()
}

fn child_command(test: &str) -> Command {
    let exe = std::env::current_exe().expect("no current_exe");
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null());
    cmd
}

/// Whether compiling `input` every way kills a child process.
fn crashes(input: &str) -> bool {
    let out = child_command("crash_probe")
        .env(ONE_ENV, hex_encode(input))
        .output()
        .expect("cannot run the test binary");
    died(&out.status)
}

fn died(status: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt as _;
    status.signal().is_some()
}

/// The shortest input (greedy chunk removal, then character simplification) that still
/// kills a child.
fn minimize_crash(input: &str) -> String {
    let mut cur: Vec<char> = input.chars().collect();
    let mut chunk = cur.len().max(1) / 2;
    let mut runs = 0;
    while chunk >= 1 && runs < 400 {
        let mut i = 0;
        let mut removed = false;
        while i < cur.len() && runs < 400 {
            let mut cand = cur.clone();
            cand.drain(i..(i + chunk).min(cand.len()));
            runs += 1;
            if crashes(&cand.iter().collect::<String>()) {
                cur = cand;
                removed = true;
            } else {
                i += chunk;
            }
        }
        if !removed {
            chunk /= 2;
        }
    }
    cur.into_iter().collect()
}

/// Runs `body` in a child process (see above); in the child, just runs it. When the child
/// dies, the inputs it died on are reported (minimized) and the child is run again avoiding
/// them, so that one crash does not hide the rest of the property's findings.
fn isolated(test: &str, body: impl FnOnce()) {
    if std::env::var_os(CHILD_ENV).is_some() {
        body();
        return;
    }
    let trace = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fuzz-trace-{test}-{}.txt", std::process::id()));
    let mut avoid: Vec<String> = Vec::new();
    let mut crashes_msg = String::new();
    let mut last = None;
    for _attempt in 0..12 {
        let _ = std::fs::remove_file(&trace);
        let out = child_command(test)
            .env(TRACE_ENV, &trace)
            .env(
                AVOID_ENV,
                avoid
                    .iter()
                    .map(|a| hex_encode(a))
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .output()
            .expect("cannot run the test binary");
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        if !died(&out.status) {
            last = Some(out);
            break;
        }
        let text = std::fs::read_to_string(&trace).unwrap_or_default();
        let _ = writeln!(
            crashes_msg,
            "{test}: the test process died ({}), not a panic but an abort (a stack overflow?).",
            out.status
        );
        let mut progress = false;
        for input in unfinished(&text) {
            let _ = writeln!(crashes_msg, "  while checking {input:?}");
            if crashes(&input) {
                let minimal = minimize_crash(&input);
                let _ = writeln!(
                    crashes_msg,
                    "  minimal input whose parse/compile kills the process: {minimal:?} (`{minimal}`)"
                );
                avoid.push(input);
                progress = true;
            } else {
                crashes_msg
                    .push_str("  (parsing and compiling it alone does not kill the process)\n");
            }
        }
        if !progress {
            crashes_msg.push_str("  (no input to avoid: giving up)\n");
            break;
        }
        eprintln!(
            "{test}: running again without the {} input(s) that killed it",
            avoid.len()
        );
    }
    let _ = std::fs::remove_file(&trace);
    let child = match &last {
        Some(out) if out.status.success() => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.contains("1 passed"),
                "the child process ran no test:\n{stdout}"
            );
            "the rest of the property passed".to_string()
        }
        Some(out) => format!(
            "the property also failed ({}); its report is above",
            out.status
        ),
        None => "the property did not run to the end".to_string(),
    };
    if crashes_msg.is_empty() && last.as_ref().is_some_and(|o| o.status.success()) {
        return;
    }
    panic!("{crashes_msg}{test}: {child}");
}

/// Inputs an earlier child died on (FUZZ_AVOID_INPUTS, hex, comma-separated).
fn avoided(input: &str) -> bool {
    static AVOID: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    AVOID
        .get_or_init(|| {
            std::env::var(AVOID_ENV)
                .unwrap_or_default()
                .split(',')
                .filter(|h| !h.is_empty())
                .map(hex_decode)
                .collect()
        })
        .iter()
        .any(|a| a == input)
}

/// Used by `crashes`: compiles the single input in FUZZ_ONE_INPUT every way (in a child).
#[test]
fn crash_probe() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    if let Ok(h) = std::env::var(ONE_ENV) {
        let _ = never_panics(&hex_decode(&h));
    }
}

// ============================================================================= never panic

const ALL_TARGETS: [Target; 6] = [
    Target {
        linktype: LinkType::En10mb,
        mode: filter_compiler::Mode::Offline,
    },
    Target {
        linktype: LinkType::LinuxSll,
        mode: filter_compiler::Mode::Offline,
    },
    Target {
        linktype: LinkType::LinuxSll2,
        mode: filter_compiler::Mode::Offline,
    },
    Target {
        linktype: LinkType::Raw,
        mode: filter_compiler::Mode::Offline,
    },
    Target {
        linktype: LinkType::En10mb,
        mode: filter_compiler::Mode::Kernel,
    },
    Target {
        linktype: LinkType::LinuxSll2,
        mode: filter_compiler::Mode::Kernel,
    },
];

/// Parses and compiles `s` every way: no panic, Ok programs pass the checker, error spans fit.
fn never_panics(s: &str) -> Result<(), String> {
    if avoided(s) {
        // It killed an earlier child; the parent reports it.
        return Ok(());
    }
    traced(s, || never_panics_inner(s))
}

fn never_panics_inner(s: &str) -> Result<(), String> {
    if let Err(m) = guarded(|| filter_compiler::parse::parse(s)) {
        return Err(format!("parse PANICKED: {m}"));
    }
    for target in ALL_TARGETS {
        for optimize in [true, false] {
            let what = format!(
                "{:?} {}, optimize {}",
                target.mode,
                target.linktype.name(),
                if optimize { "on" } else { "off" }
            );
            match compile(s, target, optimize) {
                Compiled::Panic(m) => return Err(format!("{what}: compile PANICKED: {m}")),
                Compiled::Ok(p) => check(&p.insns).map_err(|e| format!("{what}: {e}"))?,
                Compiled::Err(e) => {
                    if e.to_string().trim().is_empty() {
                        return Err(format!("{what}: error with an empty message"));
                    }
                    if let Some(span) = &e.span {
                        if span.start > span.end
                            || span.start > s.len()
                            || !s.is_char_boundary(span.start)
                            || !s.is_char_boundary(span.end.min(s.len()))
                        {
                            return Err(format!(
                                "{what}: error span {span:?} does not fit the expression ({} bytes): {}",
                                s.len(),
                                e
                            ));
                        }
                    }
                    if let Err(m) = guarded(|| e.render(s)) {
                        return Err(format!("{what}: Error::render PANICKED: {m}"));
                    }
                }
            }
        }
    }
    Ok(())
}

fn bytes_cases() -> u32 {
    env_num("FUZZ_BYTES_CASES").map_or(DEFAULT_BYTES_CASES, |n| n as u32)
}

/// Runs `strategy` through proptest's runner (fixed seed, shrinking) with `never_panics`.
fn run_never_panic(name: &str, salt: u64, strategy: S) {
    let seed = seed() ^ salt;
    let cases = bytes_cases();
    let started = Instant::now();
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let r = runner.run(&strategy, |s| never_panics(&s).map_err(TestCaseError::fail));
    eprintln!(
        "{name}: seed {seed:#x}, {cases} cases (FUZZ_SEED, FUZZ_BYTES_CASES), {:.1}s",
        started.elapsed().as_secs_f64()
    );
    match r {
        Ok(()) => {}
        Err(TestError::Fail(why, value)) => {
            panic!("{name}: minimal failing input {value:?}:\n{why}")
        }
        Err(TestError::Abort(why)) => panic!("{name}: aborted: {why}"),
    }
}

#[test]
fn arbitrary_strings_never_panic() {
    isolated("arbitrary_strings_never_panic", || {
        run_never_panic(
            "arbitrary_strings_never_panic",
            0x01,
            prop_oneof![any::<String>(), "\\PC{0,40}", "[ -~]{0,60}",].boxed(),
        );
    });
}

#[test]
fn lossy_bytes_never_panic() {
    isolated("lossy_bytes_never_panic", || {
        run_never_panic(
            "lossy_bytes_never_panic",
            0x02,
            prop::collection::vec(any::<u8>(), 0..80)
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
                .boxed(),
        );
    });
}

const TOKENS: &[&str] = &[
    "host",
    "net",
    "port",
    "portrange",
    "proto",
    "protochain",
    "src",
    "dst",
    "and",
    "or",
    "not",
    "ether",
    "link",
    "ip",
    "ip6",
    "arp",
    "rarp",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "icmp6",
    "igmp",
    "pim",
    "vrrp",
    "ah",
    "esp",
    "vlan",
    "mpls",
    "pppoes",
    "pppoed",
    "geneve",
    "llc",
    "stp",
    "broadcast",
    "multicast",
    "less",
    "greater",
    "len",
    "length",
    "mask",
    "gateway",
    "byte",
    "inbound",
    "outbound",
    "ifindex",
    "decnet",
    "iso",
    "isis",
    "l1",
    "atalk",
    "wlan",
    "addr1",
    "ra",
    "type",
    "subtype",
    "on",
    "rnr",
    "tcpflags",
    "icmptype",
    "tcp-syn",
    "icmp-echo",
    "icmp6-echo",
    "localhost",
    "http",
    "domain",
    "link-local",
    "radio",
    "fisu",
    "vpi",
    "(",
    ")",
    "[",
    "]",
    ":",
    ".",
    "/",
    "\\",
    "-",
    "+",
    "*",
    "%",
    "&",
    "|",
    "^",
    "<<",
    ">>",
    "<",
    ">",
    "=",
    "==",
    "!=",
    ">=",
    "<=",
    "!",
    "&&",
    "||",
    ",",
    ";",
    "'",
    "\"",
    "::",
    "0",
    "1",
    "2",
    "4",
    "80",
    "255",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "0x",
    "0xff",
    "0X1F",
    "017",
    "09",
    "10.0.0.1",
    "10.0",
    "10.",
    ".1",
    "ff02::1",
    "2001:db8::/32",
    "::ffff:1.2.3.4",
    "fe80::1%eth0",
    "00:11:22:33:44:55",
    "0011.2233.4455",
    "00-11-22-33-44-55",
    "aa:bb",
    "1024-1030",
    "http-ssh",
    "/24",
    "/33",
    "/129",
    "\\tcp",
    "\\",
    "é",
    "\u{a0}",
    "\u{3000}",
    "\u{0}",
    "\u{7f}",
    "ÿ",
];

fn token_soup() -> S {
    let tok = one_of(vec![
        (12, pick(TOKENS)),
        (2, any::<u32>().prop_map(|n| n.to_string()).boxed()),
        (1, any::<char>().prop_map(String::from).boxed()),
    ]);
    let sep = one_of(vec![
        (6, lit(" ")),
        (3, lit("")),
        (1, lit("\t")),
        (1, lit("\n")),
    ]);
    prop::collection::vec((tok, sep), 0..24)
        .prop_map(|v| v.into_iter().map(|(t, s)| t + &s).collect())
        .boxed()
}

#[test]
fn token_soup_never_panics() {
    isolated("token_soup_never_panics", || {
        run_never_panic("token_soup_never_panics", 0x03, token_soup());
    });
}

/// A valid-looking expression with a few random edits (deletions, insertions of alphabet
/// tokens, character replacements, truncation).
#[test]
fn edited_expressions_never_panic() {
    isolated("edited_expressions_never_panic", || {
        let edit = (
            0u8..4,
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            pick(TOKENS),
        );
        let strategy = (
            one_of(vec![
                (4, expr_strategy(Flavor::Ether)),
                (1, expr_strategy(Flavor::Sll2)),
                (1, expr_strategy(Flavor::Raw)),
            ]),
            prop::collection::vec(edit, 1..4),
        )
            .prop_map(|(e, edits)| {
                let mut s: Vec<char> = e.chars().collect();
                for (op, a, b, t) in edits {
                    if s.is_empty() {
                        s.extend(t.chars());
                        continue;
                    }
                    let i = a.index(s.len());
                    match op {
                        0 => {
                            let j = (i + 1 + b.index(4)).min(s.len());
                            s.drain(i..j);
                        }
                        1 => {
                            let t: Vec<char> = t.chars().collect();
                            s.splice(i..i, t);
                        }
                        2 => s[i] = TOKENS[b.index(TOKENS.len())].chars().next().unwrap_or(' '),
                        _ => s.truncate(i),
                    }
                }
                s.into_iter().collect::<String>()
            })
            .boxed();
        run_never_panic("edited_expressions_never_panic", 0x04, strategy);
    });
}

/// Valid grammar expressions for every flavour, compiled for every target (no tcpdump needed).
#[test]
fn grammar_expressions_never_panic() {
    isolated("grammar_expressions_never_panic", || {
        let strategy = one_of(vec![
            (3, expr_strategy(Flavor::Ether)),
            (1, expr_strategy(Flavor::Sll)),
            (1, expr_strategy(Flavor::Sll2)),
            (1, expr_strategy(Flavor::Raw)),
        ]);
        run_never_panic("grammar_expressions_never_panic", 0x05, strategy);
    });
}
