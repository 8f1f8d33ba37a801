//! `protochain` on chains of IPv6 extension headers and AH, of up to 14 headers
//! (support::protochain_frames): our programs (optimized and not, offline and for the kernel)
//! decide as the walk is meant to, over at most `lower::PROTOCHAIN_STEPS` headers, with the
//! offset after AH computed; tcpdump decides as libpcap's gen_protochain walks (no bound, and
//! after AH the offset is the AH header's length alone, counted from the network header:
//! docs/differences.md). Where the two walks cannot differ (no AH followed by another header,
//! no more headers than our bound) our decisions are tcpdump's.

mod support;

use filter_compiler::interp::{run, Meta};
use filter_compiler::lower::PROTOCHAIN_STEPS;
use filter_compiler::target::Mode;
use filter_compiler::{LinkType, Target};
use std::collections::BTreeSet;
use std::path::PathBuf;
use support::*;

// The goal: the walk follows at least 12 headers (protochain_bound_is_exact shows it
// does follow PROTOCHAIN_STEPS of them, protochain_size what that costs).
const _: () = assert!(
    PROTOCHAIN_STEPS >= 12,
    "protochain follows at least 12 headers"
);

/// The expressions checked on every frame.
const EXPRS: [&str; 13] = [
    "ip6 protochain 6",
    "ip6 protochain 17",
    "ip6 protochain 0",
    "ip6 protochain 44",
    "ip6 protochain 51",
    "ip6 protochain 59",
    "ip6 protochain 60",
    "ip protochain 6",
    "ip protochain 17",
    "ip protochain 51",
    "protochain 6",
    "protochain 17",
    "protochain 50",
];

fn model(expr: &str, frame: &[u8], limit: Option<usize>, ah: AhOffset) -> bool {
    let proto: u8 = expr.rsplit(' ').next().unwrap().parse().unwrap();
    let v4 = || protochain_model(frame, false, proto, limit, ah);
    let v6 = || protochain_model(frame, true, proto, limit, ah);
    match expr.split(' ').next().unwrap() {
        "ip" => v4(),
        "ip6" => v6(),
        _ => v4() || v6(),
    }
}

fn program(expr: &str, target: Target, optimize: bool) -> Vec<filter_compiler::Insn> {
    match compile(expr, target, optimize) {
        Compiled::Ok(p) => {
            check(&p.insns).unwrap_or_else(|e| panic!("{expr}: {e}"));
            p.insns
        }
        other => panic!("{expr}: {other:?}"),
    }
}

/// Our decisions are the bounded walk's with AH's offset computed, for every frame.
#[test]
fn protochain_walks_chains_up_to_the_bound() {
    let frames = protochain_frames();
    let limit = Some(PROTOCHAIN_STEPS as usize);
    let mut bad = Vec::new();
    for expr in EXPRS {
        for (target, optimize) in [
            (Target::offline(LinkType::En10mb), true),
            (Target::offline(LinkType::En10mb), false),
            (Target::kernel(LinkType::En10mb), true),
        ] {
            let prog = program(expr, target, optimize);
            for (name, f) in &frames {
                let meta = match (target.mode == Mode::Kernel, f.get(12..14)) {
                    (true, Some([0x86, 0xdd])) => Meta {
                        protocol: 0x86dd,
                        ..Meta::default()
                    },
                    (true, Some([0x08, 0x00])) => Meta {
                        protocol: 0x0800,
                        ..Meta::default()
                    },
                    _ => Meta::default(),
                };
                let ours = run(&prog, f, f.len() as u32, &meta) != 0;
                let want = model(expr, f, limit, AhOffset::Correct);
                if ours != want {
                    bad.push(format!(
                        "`{expr}` ({target:?}, optimize {optimize}) on {name}: {ours}, expected {want}"
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The bound itself: TCP behind PROTOCHAIN_STEPS headers of every kind is found, one header
/// more is not (libpcap walks on); the same for IPv4 and AH.
#[test]
fn protochain_bound_is_exact() {
    let n = PROTOCHAIN_STEPS as usize;
    let p6 = program("ip6 protochain 6", Target::offline(LinkType::En10mb), true);
    let p4 = program("ip protochain 6", Target::offline(LinkType::En10mb), true);
    let keeps =
        |p: &[filter_compiler::Insn], f: &[u8]| run(p, f, f.len() as u32, &Meta::default()) != 0;
    for h in [
        hdr(HOP, 8),
        hdr(DSTOPTS, 24),
        hdr(ROUTING, 16),
        hdr(FRAGMENT, 8),
        hdr(AH, 24),
    ] {
        let at = ip6_chain(&vec![h; n], 6, 20);
        let past = ip6_chain(&vec![h; n + 1], 6, 20);
        assert!(keeps(&p6, &at), "TCP behind {n} x {h:?}");
        assert!(!keeps(&p6, &past), "TCP behind {} x {h:?}", n + 1);
        // UDP behind as many is not TCP.
        assert!(!keeps(&p6, &ip6_chain(&vec![h; n], 17, 20)));
    }
    assert!(keeps(&p4, &ip4_chain(1, &vec![hdr(AH, 16); n], 6, 20)));
    assert!(!keeps(&p4, &ip4_chain(1, &vec![hdr(AH, 16); n + 1], 6, 20)));
}

/// tcpdump keeps what libpcap's own walk keeps; where that walk and ours cannot differ, we
/// keep what tcpdump keeps; and they do differ on AH and past our bound, as documented.
#[test]
fn protochain_against_tcpdump() {
    let Some(td) = tcpdump() else {
        eprintln!("SKIPPED: tcpdump not found; protochain chains not compared with tcpdump");
        return;
    };
    let frames = protochain_frames();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("protochain");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chains.pcap");
    let bytes: Vec<Vec<u8>> = frames.iter().map(|(_, f)| f.clone()).collect();
    write_ethernet_pcap(&path, &bytes);
    let capture = read_pcap(&path).unwrap();
    let by_ts = capture.index_by_timestamp();
    let limit = Some(PROTOCHAIN_STEPS as usize);
    let mut bad = Vec::new();
    let (mut compared, mut ah_differs, mut bound_differs) = (0, 0, 0);
    for expr in EXPRS {
        let theirs = tcpdump_kept(&td, &capture, &by_ts, expr)
            .unwrap_or_else(|e| panic!("tcpdump `{expr}`: {e}"));
        let prog = program(expr, Target::offline(LinkType::En10mb), true);
        let ours: BTreeSet<usize> = kept_offline(&prog, &capture.packets).unwrap();
        for (i, (name, f)) in frames.iter().enumerate() {
            let libpcap = model(expr, f, None, AhOffset::Libpcap);
            if theirs.contains(&i) != libpcap {
                bad.push(format!(
                    "`{expr}` on {name}: tcpdump {}, libpcap's walk as modelled {libpcap}",
                    theirs.contains(&i)
                ));
            }
            let unbounded = model(expr, f, None, AhOffset::Correct);
            let bounded = model(expr, f, limit, AhOffset::Correct);
            if unbounded == libpcap && bounded == unbounded {
                compared += 1;
                if ours.contains(&i) != theirs.contains(&i) {
                    bad.push(format!(
                        "`{expr}` on {name}: we {}, tcpdump {}",
                        ours.contains(&i),
                        theirs.contains(&i)
                    ));
                }
            } else if unbounded != libpcap {
                ah_differs += 1;
            } else {
                bound_differs += 1;
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    eprintln!(
        "protochain: {compared} decisions as tcpdump's; {ah_differs} differ by libpcap's AH \
         offset, {bound_differs} by our bound"
    );
    // The frames do show both differences, and most decisions are compared.
    assert!(ah_differs > 0 && bound_differs > 0);
    assert!(compared > 1000, "only {compared} decisions compared");
}

/// The budget: 12 headers or more for no more than the 199 instructions that 8 took
/// (protochain_bound_is_exact shows how many are walked).
#[test]
fn protochain_size() {
    for target in [
        Target::offline(LinkType::En10mb),
        Target::kernel(LinkType::En10mb),
    ] {
        let n = program("ip6 protochain 6", target, true).len();
        assert!(
            n <= 199,
            "`ip6 protochain 6` ({target:?}) is {n} instructions"
        );
    }
    // The IPv4 walk (AH only) is 8 instructions a step; both walks together stay below the
    // 295 instructions that 8 steps took.
    let v4 = program("ip protochain 6", Target::offline(LinkType::En10mb), true).len();
    let both = program("protochain 6", Target::offline(LinkType::En10mb), true).len();
    assert!(v4 <= 12 * 8 + 7, "`ip protochain 6` is {v4}");
    assert!(both <= 295, "`protochain 6` is {both}");
}

/// Live, the kernel strips the VLAN tag: `vlan and ip6 protochain 6` for the kernel, run on
/// the frame without its tag, decides as the offline program on the stored tagged frame (the
/// walk's loads move back 4 bytes, every step of it).
#[test]
fn protochain_behind_a_stripped_tag() {
    let limit = Some(PROTOCHAIN_STEPS as usize);
    for expr in [
        "vlan and ip6 protochain 6",
        "vlan and ip protochain 17",
        "vlan and protochain 6",
    ] {
        let offline = program(expr, Target::offline(LinkType::En10mb), true);
        let kernel = program(expr, Target::kernel(LinkType::En10mb), true);
        for (name, plain) in protochain_frames() {
            let mut stored = plain[..12].to_vec();
            stored.extend([0x81, 0x00, 0x20, 0x0a]);
            stored.extend(&plain[12..]);
            let meta = Meta {
                vlan_tci: Some(0x200a),
                vlan_tpid: 0x8100,
                protocol: u16::from_be_bytes([plain[12], plain[13]]),
                ..Meta::default()
            };
            let want = run(&offline, &stored, stored.len() as u32, &Meta::default()) != 0;
            let got = run(&kernel, &plain, plain.len() as u32, &meta) != 0;
            assert_eq!(got, want, "`{expr}` on {name}");
            // And the offline decision is the walk's on the untagged frame.
            let inner = expr.trim_start_matches("vlan and ");
            assert_eq!(
                want,
                model(inner, &plain, limit, AhOffset::Correct),
                "`{expr}` on {name}"
            );
        }
    }
}
