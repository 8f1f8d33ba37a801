//! Differential test against tcpdump (the oracle): for every expression of every corpus
//! (tests/corpus/*.txt), the set of packets of the matching capture (captures/*.pcap) that
//! tcpdump prints must be exactly the set our optimized program keeps, and the set
//! `tcpdump -O` prints exactly the set our unoptimized program keeps. Also: every expression tcpdump rejects (errors.txt) must fail to compile with a
//! message, and no expression may make the compiler panic.
//!
//! tcpdump is found on $PATH (or $TCPDUMP); without it the tcpdump comparisons are skipped
//! with a loud message. Packets are identified by their (unique) timestamps.

mod support;

use filter_compiler::{LinkType, Target};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use support::*;

/// One kind of disagreement, for the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    TcpdumpFailed,
    CompilePanic,
    CompileError,
    CheckFailed,
    InterpPanic,
    Mismatch,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::TcpdumpFailed => "tcpdump failed (corpus or harness problem)",
            Kind::CompilePanic => "compile panicked",
            Kind::CompileError => "compile returned an error",
            Kind::CheckFailed => "emitted program fails check::check",
            Kind::InterpPanic => "interpreter panicked",
            Kind::Mismatch => "kept sets differ from tcpdump's",
        }
    }
}

struct Problem {
    kind: Kind,
    /// "optimize on", "optimize off" or "optimize on/off".
    mode: &'static str,
    text: String,
}

fn compare_one(
    td: &std::path::Path,
    suite: &Suite,
    capture: &Capture,
    by_ts: &HashMap<(u32, u32), usize>,
    entry: &Entry,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    // Our optimized program against tcpdump; our unoptimized one against `tcpdump -O`. The two
    // can differ on truncated packets: which loads run decides whether the end of the packet
    // is hit, and both optimizers skip loads whose outcome cannot matter.
    let mut oracle =
        |flags: &[&str]| match tcpdump_kept_with(td, flags, capture, by_ts, &entry.expr) {
            Ok(k) => Some(k),
            Err(e) => {
                problems.push(Problem {
                    kind: Kind::TcpdumpFailed,
                    mode: "",
                    text: e,
                });
                None
            }
        };
    let mut theirs_opt = oracle(&[]);
    let mut theirs_unopt = oracle(&["-O"]);
    if let Some((_, _, why, keep)) = LIBPCAP_BUGS
        .iter()
        .find(|b| b.0 == suite.corpus && b.1 == entry.expr)
    {
        eprintln!(
            "known libpcap deviation, checked against the correct set: {} `{}`: {why}",
            suite.corpus, entry.expr
        );
        let correct: BTreeSet<usize> = keep.iter().copied().collect();
        theirs_opt = Some(correct.clone());
        theirs_unopt = Some(correct);
    }
    let mut per_mode: Vec<(&'static str, Kind, String)> = Vec::new();
    for (optimize, mode, theirs) in [
        (true, "optimize on", &theirs_opt),
        (false, "optimize off", &theirs_unopt),
    ] {
        let prog = match compile(&entry.expr, Target::offline(suite.linktype), optimize) {
            Compiled::Ok(p) => p,
            Compiled::Err(e)
                if theirs.as_ref().is_some_and(|t| t.is_empty()) && proves_no_match(&e) =>
            {
                // We refuse a filter that provably matches nothing, where tcpdump accepts it and
                // indeed keeps nothing: no packet is decided differently.
                continue;
            }
            c @ Compiled::Err(_) => {
                per_mode.push((mode, Kind::CompileError, c.describe_failure().unwrap()));
                continue;
            }
            c @ Compiled::Panic(_) => {
                per_mode.push((mode, Kind::CompilePanic, c.describe_failure().unwrap()));
                continue;
            }
        };
        if let Err(e) = check(&prog.insns) {
            per_mode.push((
                mode,
                Kind::CheckFailed,
                format!("{e} ({} instructions)", prog.len()),
            ));
        }
        let ours = match kept_offline(&prog.insns, &capture.packets) {
            Ok(k) => k,
            Err(e) => {
                per_mode.push((mode, Kind::InterpPanic, e));
                continue;
            }
        };
        if let Some(theirs) = theirs {
            if &ours != theirs {
                let only_them: BTreeSet<usize> = theirs.difference(&ours).copied().collect();
                let only_us: BTreeSet<usize> = ours.difference(theirs).copied().collect();
                let mut text = format!(
                    "only tcpdump kept [{}]; only we kept [{}] (tcpdump kept {}, we kept {})",
                    ranges(&only_them),
                    ranges(&only_us),
                    theirs.len(),
                    ours.len()
                );
                // Hints: which loads a program executes decides truncated packets, and that
                // differs between optimized and unoptimized code.
                let truncated = |i: &usize| {
                    let p = &capture.packets[*i];
                    (p.data.len() as u32) < p.wirelen
                };
                if only_them.iter().chain(&only_us).all(truncated) {
                    text.push_str(" [all differing packets are truncated]");
                }
                per_mode.push((mode, Kind::Mismatch, text));
            }
        }
    }
    // The same problem in both modes is reported once.
    if per_mode.len() == 2 && per_mode[0].1 == per_mode[1].1 && per_mode[0].2 == per_mode[1].2 {
        let (_, kind, text) = per_mode.pop().unwrap();
        problems.push(Problem {
            kind,
            mode: "optimize on/off",
            text,
        });
    } else {
        problems.extend(per_mode.into_iter().map(|(mode, kind, text)| Problem {
            kind,
            mode,
            text,
        }));
    }
    problems
}

/// Where libpcap 1.10 is wrong and we are deliberately not: (corpus, expression, why, the
/// packets we must keep). The test checks we keep exactly these, so the deviation is measured.
const LIBPCAP_BUGS: &[(&str, &str, &str, &[usize])] = &[(
    "sll2.txt",
    "stp",
    "libpcap 1.10.3 compares LLC SAPs with the SLL2 protocol field (ldh [0] == 0x42), so it never \
     matches 802.2 frames; SLL (v1) handles them through protocol 4 (ETH_P_802_2), as we do for both",
    &[75],
)];

#[test]
fn differential_against_tcpdump() {
    let Some(td) = tcpdump() else {
        eprintln!("SKIPPED: tcpdump not found; differential tests did not run");
        return;
    };
    let mut details = String::new();
    let mut per_suite = String::new();
    let mut kinds: BTreeMap<Kind, usize> = BTreeMap::new();
    let (mut total, mut agree) = (0usize, 0usize);
    for suite in &SUITES {
        let capture = load_capture(suite.capture);
        assert_eq!(
            LinkType::from_linktype(capture.linktype),
            Some(suite.linktype),
            "{} has link type {}, expected {:?}",
            suite.capture,
            capture.linktype,
            suite.linktype
        );
        let by_ts = capture.index_by_timestamp();
        let entries = load_corpus(suite.corpus);
        let results = par_map(&entries, |e| compare_one(&td, suite, &capture, &by_ts, e));
        let mut suite_agree = 0;
        for (entry, problems) in entries.iter().zip(&results) {
            if problems.is_empty() {
                suite_agree += 1;
                continue;
            }
            let mut seen = BTreeSet::new();
            for p in problems {
                if seen.insert(p.kind) {
                    *kinds.entry(p.kind).or_default() += 1;
                }
                let mode = if p.mode.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", p.mode)
                };
                let _ = writeln!(
                    details,
                    "{} [{}] `{}`{}: {}",
                    entry.origin(),
                    suite.capture,
                    entry.expr,
                    mode,
                    p.text
                );
            }
        }
        let _ = writeln!(
            per_suite,
            "  {} + {}: {}/{} expressions agree over {} packets",
            suite.capture,
            suite.corpus,
            suite_agree,
            entries.len(),
            capture.packets.len()
        );
        total += entries.len();
        agree += suite_agree;
    }
    let count = format!(
        "differential: {total} expressions x {} captures: {agree} agree",
        SUITES.len()
    );
    eprintln!("{count}\n{per_suite}");
    if agree != total {
        let mut summary = String::new();
        for (k, n) in &kinds {
            let _ = writeln!(summary, "  {n} expressions: {}", k.label());
        }
        let report = format!("{count}\n{per_suite}\nby kind:\n{summary}\n{details}\n{count}\n");
        let path = write_report("differential-report.txt", &report);
        panic!(
            "{} of {total} expressions disagree with tcpdump (full report also in {path})\n\n{report}",
            total - agree
        );
    }
}

/// Every expression tcpdump rejects must fail to compile, with a non-empty message and a span
/// (if any) that starts inside the expression or just past its end.
#[test]
fn errors_corpus_is_rejected() {
    let entries = load_corpus(ERRORS);
    let mut bad = String::new();
    let mut nbad = 0;
    for e in &entries {
        let problem = match compile(&e.expr, Target::offline(LinkType::En10mb), true) {
            Compiled::Ok(p) => Some(format!(
                "compiled to {} instructions, but tcpdump rejects it",
                p.len()
            )),
            Compiled::Panic(m) => Some(format!("compile PANICKED: {m}")),
            Compiled::Err(err) => {
                if err.to_string().trim().is_empty() {
                    Some("error with an empty message".to_string())
                } else if let Some(span) = &err.span {
                    // A span may point just past the end (an unexpected end of input).
                    if span.start > span.end
                        || span.start > e.expr.len()
                        || !e.expr.is_char_boundary(span.start)
                        || !e.expr.is_char_boundary(span.end.min(e.expr.len()))
                    {
                        Some(format!(
                            "error span {span:?} does not fit the expression ({} bytes)",
                            e.expr.len()
                        ))
                    } else {
                        guarded(|| err.render(&e.expr))
                            .err()
                            .map(|m| format!("Error::render PANICKED: {m}"))
                    }
                } else {
                    None
                }
            }
        };
        if let Some(p) = problem {
            nbad += 1;
            let _ = writeln!(
                bad,
                "{} `{}`: {p}\n    expected: {}",
                e.origin(),
                e.expr,
                e.note
            );
        }
    }
    eprintln!(
        "errors.txt: {} expressions, {} correctly rejected",
        entries.len(),
        entries.len() - nbad
    );
    assert!(
        nbad == 0,
        "{nbad} of {} errors.txt expressions were not rejected properly:\n{bad}",
        entries.len()
    );
}

/// No expression of any corpus makes the compiler panic, for any target or optimizer setting.
#[test]
fn compile_never_panics() {
    let mut jobs: Vec<(Entry, LinkType)> = Vec::new();
    for suite in &SUITES {
        jobs.extend(
            load_corpus(suite.corpus)
                .into_iter()
                .map(|e| (e, suite.linktype)),
        );
    }
    jobs.extend(
        load_corpus(ERRORS)
            .into_iter()
            .map(|e| (e, LinkType::En10mb)),
    );
    let results = par_map(&jobs, |(e, lt)| {
        let mut out = Vec::new();
        for target in [Target::offline(*lt), Target::kernel(*lt)] {
            for optimize in [true, false] {
                if let Compiled::Panic(m) = compile(&e.expr, target, optimize) {
                    out.push(format!(
                        "{} `{}` ({:?} {:?}, optimize {}): {m}",
                        e.origin(),
                        e.expr,
                        target.linktype,
                        target.mode,
                        if optimize { "on" } else { "off" }
                    ));
                }
            }
        }
        out
    });
    let panics: Vec<String> = results.into_iter().flatten().collect();
    assert!(
        panics.is_empty(),
        "{} compiles panicked:\n{}",
        panics.len(),
        panics.join("\n")
    );
}

/// The harness itself: the empty expression keeps every packet, both for tcpdump (so the
/// timestamp mapping covers every packet) and for us.
#[test]
fn harness_self_check() {
    for suite in &SUITES {
        let capture = load_capture(suite.capture);
        let all: BTreeSet<usize> = (0..capture.packets.len()).collect();
        assert!(!all.is_empty(), "{} has no packets", suite.capture);
        let by_ts = capture.index_by_timestamp();
        if let Some(td) = tcpdump() {
            let theirs = tcpdump_kept(&td, &capture, &by_ts, "").unwrap();
            assert_eq!(
                theirs, all,
                "{}: tcpdump with no filter did not print every packet",
                suite.capture
            );
        }
        match compile("", Target::offline(suite.linktype), true) {
            Compiled::Ok(p) => {
                let ours = kept_offline(&p.insns, &capture.packets).unwrap();
                assert_eq!(
                    ours, all,
                    "{}: the empty filter did not keep every packet",
                    suite.capture
                );
            }
            other => panic!("the empty expression does not compile: {other:?}"),
        }
    }
    if tcpdump().is_none() {
        eprintln!("SKIPPED: tcpdump not found; harness self-check ran without it");
    }
}

/// LINKTYPE_IPV4 and LINKTYPE_IPV6 (`-y IPV4`/`IPV6`): the RAW corpus over raw.pcap's IPv4
/// packets in an IPV4 file and its IPv6 packets in an IPV6 file, against tcpdump. Where
/// libpcap's optimizer proves an expression can never match there (`ip6` in an IPV4 file),
/// tcpdump refuses it ("rejects all packets") and so must we.
#[test]
fn ipv4_and_ipv6_link_types_against_tcpdump() {
    let Some(td) = tcpdump() else {
        eprintln!("SKIPPED: tcpdump not found; IPV4/IPV6 differential tests did not run");
        return;
    };
    let raw = std::fs::read(captures_dir().join("raw.pcap")).unwrap();
    let dir = std::env::temp_dir().join(format!("bpfdump-ipv46-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let entries = load_corpus("raw.txt");
    let mut problems = Vec::new();
    let mut compared = 0;
    for (lt, version) in [(LinkType::Ipv4, 4u8), (LinkType::Ipv6, 6)] {
        // The file header with the link type replaced, and the records of that IP version.
        let mut file = raw[..20].to_vec();
        file.extend(lt.linktype().to_le_bytes());
        let mut at = 24;
        while at + 16 <= raw.len() {
            let caplen = u32::from_le_bytes(raw[at + 8..at + 12].try_into().unwrap()) as usize;
            let rec = &raw[at..at + 16 + caplen];
            if rec.get(16).is_some_and(|b| b >> 4 == version) {
                file.extend(rec);
            }
            at += 16 + caplen;
        }
        let path = dir.join(format!("{}.pcap", lt.name()));
        std::fs::write(&path, &file).unwrap();
        let capture = read_pcap(&path).unwrap();
        assert!(capture.packets.len() > 10, "{}", lt.name());
        let by_ts = capture.index_by_timestamp();
        let results = par_map(&entries, |e| {
            let theirs = tcpdump_kept(&td, &capture, &by_ts, &e.expr);
            let compiled = compile(&e.expr, Target::offline(lt), true);
            let refused = matches!(&compiled, Compiled::Err(err) if proves_no_match(err));
            let ours = match compiled {
                Compiled::Ok(p) => kept_offline(&p.insns, &capture.packets),
                Compiled::Err(err) => Err(err.to_string()),
                Compiled::Panic(m) => Err(format!("PANIC {m}")),
            };
            match (theirs, ours) {
                (Ok(t), Ok(o)) if t == o => None,
                (Err(t), Err(_)) if t.contains("rejects all packets") && refused => None,
                (Ok(t), Err(_)) if t.is_empty() && refused => None,
                (t, o) => Some(format!(
                    "{} {}: tcpdump {t:?}, ours {o:?}",
                    lt.name(),
                    e.expr
                )),
            }
        });
        compared += results.len();
        problems.extend(results.into_iter().flatten());
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        problems.is_empty(),
        "{} of {compared} disagree:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
