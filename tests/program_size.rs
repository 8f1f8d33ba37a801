//! Our programs against libpcap's, with no tcpdump needed: libpcap's program for every corpus
//! expression is recorded in tests/golden/libpcap/ (tests/corpus/record_libpcap.sh), ours in
//! tests/golden/programs/ as `-d` listings.
//!
//! - `listings_match_golden`: each expression's optimized offline program is the committed
//!   listing. After a deliberate change, `BLESS=1 cargo test --test program_size` rewrites
//!   the listings; review the diff like code.
//! - `never_longer_than_libpcap`: no program is longer than libpcap's, except the ones in
//!   tests/golden/longer-than-libpcap.txt, and those no longer than recorded there.
//! - `size_and_work_report`: totals, and instructions executed per packet over the suite's
//!   capture (both programs run by our interpreter), printed and written to
//!   target/tmp/program_size.txt. The goals are ratios, measured here, not asserted.

mod support;

use filter_compiler::interp::{self, Meta};
use filter_compiler::{dump, Insn, Target};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;
use support::*;

/// One corpus expression: ours (None: we refuse it on purpose, see `proves_no_match`) and
/// libpcap's program.
struct Row {
    expr: String,
    ours: Option<Vec<Insn>>,
    theirs: Vec<Insn>,
}

struct SuiteRows {
    suite: &'static Suite,
    name: &'static str,
    rows: Vec<Row>,
}

fn golden_dir() -> PathBuf {
    repo_root().join("tests").join("golden")
}

fn suite_name(suite: &Suite) -> &'static str {
    suite
        .corpus
        .strip_suffix(".txt")
        .expect("corpus file ends in .txt")
}

/// Reads tests/golden/libpcap/NAME.txt: `EXPR \t N \t code jt jf k;...` per line.
fn libpcap_programs(name: &str) -> Vec<(String, Vec<Insn>)> {
    let path = golden_dir().join("libpcap").join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split('\t');
            let (expr, n, insns) = (f.next().unwrap(), f.next(), f.next());
            let (Some(n), Some(insns)) = (n, insns) else {
                panic!("{}: malformed line {l:?}", path.display());
            };
            let prog = dump::parse_decimal(&format!("{n},{}", insns.replace(';', ",")))
                .unwrap_or_else(|e| panic!("{}: {expr}: {e}", path.display()));
            (expr.to_string(), prog)
        })
        .collect()
}

/// Every suite's rows, compiled once for all the tests of this file.
fn rows() -> &'static [SuiteRows] {
    static ROWS: OnceLock<Vec<SuiteRows>> = OnceLock::new();
    ROWS.get_or_init(|| {
        SUITES
            .iter()
            .map(|suite| {
                let name = suite_name(suite);
                let corpus = load_corpus(suite.corpus);
                let libpcap = libpcap_programs(name);
                let recorded: Vec<&str> = libpcap.iter().map(|(e, _)| e.as_str()).collect();
                let current: Vec<&str> = corpus.iter().map(|e| e.expr.as_str()).collect();
                assert!(
                    recorded == current,
                    "tests/golden/libpcap/{name}.txt is not for the current tests/corpus/{}: \
                     re-run tests/corpus/record_libpcap.sh",
                    suite.corpus
                );
                let rows = par_map(&libpcap, |(expr, theirs)| {
                    let ours = match compile(expr, Target::offline(suite.linktype), true) {
                        Compiled::Ok(p) => Some(p.insns),
                        Compiled::Err(e) if proves_no_match(&e) => None,
                        other => panic!("{name}: {expr}: {}", other.describe_failure().unwrap()),
                    };
                    Row {
                        expr: expr.clone(),
                        ours,
                        theirs: theirs.clone(),
                    }
                });
                SuiteRows { suite, name, rows }
            })
            .collect()
    })
}

/// The listing file's text: each expression, its sizes, and our `-d` listing.
fn listing(s: &SuiteRows) -> String {
    let mut out = format!(
        "# Our optimized offline programs for tests/corpus/{}, as `bpfdump -d` prints them, with\n\
         # libpcap's size (tests/golden/libpcap/). Checked by tests/program_size.rs; rewritten by\n\
         # `BLESS=1 cargo test --test program_size`.\n",
        s.suite.corpus
    );
    for r in &s.rows {
        match &r.ours {
            Some(p) => {
                let _ = writeln!(
                    out,
                    "\n== {}\n# ours {}, libpcap {}",
                    r.expr,
                    p.len(),
                    r.theirs.len()
                );
                out.push_str(&dump::asm(p));
            }
            None => {
                let _ = writeln!(
                    out,
                    "\n== {}\n# refused: matches nothing; libpcap {}",
                    r.expr,
                    r.theirs.len()
                );
            }
        }
    }
    out
}

#[test]
fn listings_match_golden() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut stale = Vec::new();
    for s in rows() {
        let path = golden_dir()
            .join("programs")
            .join(format!("{}.txt", s.name));
        let want = listing(s);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
            continue;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            // Name the first few expressions whose listing changed.
            let sections = |t: &str| -> BTreeMap<String, String> {
                t.split("\n== ")
                    .skip(1)
                    .map(|sec| {
                        let (head, body) = sec.split_once('\n').unwrap_or((sec, ""));
                        (head.to_string(), body.to_string())
                    })
                    .collect()
            };
            let (old, new) = (sections(&have), sections(&want));
            let changed: Vec<&String> = new
                .iter()
                .filter(|(k, v)| old.get(*k) != Some(v))
                .map(|(k, _)| k)
                .collect();
            stale.push(format!(
                "{}: {} expression(s) changed, e.g. {:?}",
                path.display(),
                changed.len().max(1),
                changed.iter().take(5).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "programs differ from the committed listings (if meant, re-run with BLESS=1 and \
         review the diff):\n{}",
        stale.join("\n")
    );
}

/// tests/golden/longer-than-libpcap.txt: its comment header, and `SUITE \t OURS \t LIBPCAP \t
/// EXPR` per line.
fn allowed_longer() -> (String, BTreeMap<(String, String), usize>) {
    let text = std::fs::read_to_string(longer_path()).unwrap_or_default();
    let header: String = (text.lines().take_while(|l| l.starts_with('#')))
        .map(|l| format!("{l}\n"))
        .collect();
    let list = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            assert_eq!(f.len(), 4, "longer-than-libpcap.txt: malformed line {l:?}");
            ((f[0].to_string(), f[3].to_string()), f[1].parse().unwrap())
        })
        .collect();
    (header, list)
}

fn longer_path() -> PathBuf {
    golden_dir().join("longer-than-libpcap.txt")
}

/// With BLESS set, the list is rewritten, but only ever shortened: entries that got shorter
/// are updated or dropped; a new or a longer program still fails.
#[test]
fn never_longer_than_libpcap() {
    let bless = std::env::var_os("BLESS").is_some();
    let (header, allowed) = allowed_longer();
    let mut bad = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut kept = String::new();
    for s in rows() {
        for r in &s.rows {
            let Some(ours) = &r.ours else { continue };
            let key = (s.name.to_string(), r.expr.clone());
            let (n, theirs) = (ours.len(), r.theirs.len());
            let line = format!("{}\t{n}\t{theirs}\t{}\n", s.name, r.expr);
            match allowed.get(&key) {
                Some(&listed) => {
                    if !seen.insert(key.clone()) {
                        continue;
                    }
                    if n > listed {
                        bad.push(format!(
                            "{}: {}: {n} instructions, listed at {listed}, libpcap {theirs}",
                            s.name, r.expr
                        ));
                    } else if n < listed && !bless {
                        bad.push(format!(
                            "{}: {}: now {n} (listed {listed}, libpcap {theirs}): re-run with BLESS=1",
                            s.name, r.expr
                        ));
                    }
                    if n > theirs && n <= listed {
                        kept.push_str(&line);
                    } else if n > theirs {
                        kept.push_str(&format!("{}\t{listed}\t{theirs}\t{}\n", s.name, r.expr));
                    }
                }
                None if n > theirs => bad.push(format!(
                    "{}: {}: {n} instructions, libpcap {theirs}",
                    s.name, r.expr
                )),
                None => {}
            }
        }
    }
    assert_eq!(
        seen.len(),
        allowed.len(),
        "tests/golden/longer-than-libpcap.txt lists expressions not in any corpus"
    );
    if bless {
        std::fs::write(longer_path(), header + &kept).unwrap();
    }
    assert!(
        bad.is_empty(),
        "programs longer than libpcap's (tests/golden/longer-than-libpcap.txt lists the known \
         ones):\n{}",
        bad.join("\n")
    );
}

/// Instructions `prog` executes on each packet of the capture, summed.
fn steps(prog: &[Insn], capture: &Capture) -> usize {
    capture
        .packets
        .iter()
        .map(|p| interp::count_steps(prog, &p.data, p.wirelen, &Meta::default()).1)
        .sum()
}

#[test]
fn size_and_work_report() {
    let mut report = String::from(
        "suite       exprs  refused   ours insns  libpcap    ratio  longer shorter | \
         steps/pkt ours  libpcap  ratio\n",
    );
    let (mut all_ours, mut all_theirs, mut all_so, mut all_st) = (0usize, 0usize, 0usize, 0usize);
    let mut longer = String::new();
    for s in rows() {
        let capture = load_capture(s.suite.capture);
        let (mut ours, mut theirs, mut refused, mut nlong, mut nshort) = (0, 0, 0, 0, 0);
        let work = par_map(&s.rows, |r| {
            r.ours
                .as_ref()
                .map(|p| (steps(p, &capture), steps(&r.theirs, &capture)))
        });
        let (mut so, mut st) = (0usize, 0usize);
        for (r, w) in s.rows.iter().zip(&work) {
            let (Some(p), Some((a, b))) = (&r.ours, w) else {
                refused += 1;
                continue;
            };
            ours += p.len();
            theirs += r.theirs.len();
            so += a;
            st += b;
            if p.len() > r.theirs.len() {
                nlong += 1;
                let _ = writeln!(
                    longer,
                    "{}\t{}\t{}\t{}",
                    s.name,
                    p.len(),
                    r.theirs.len(),
                    r.expr
                );
            } else if p.len() < r.theirs.len() {
                nshort += 1;
            }
        }
        let runs = (s.rows.len() - refused) * capture.packets.len();
        let _ = writeln!(
            report,
            "{:<10} {:>6} {:>8} {:>12} {:>8} {:>8.3} {:>7} {:>7} | {:>14.2} {:>8.2} {:>6.3}",
            s.name,
            s.rows.len(),
            refused,
            ours,
            theirs,
            ours as f64 / theirs as f64,
            nlong,
            nshort,
            so as f64 / runs as f64,
            st as f64 / runs as f64,
            so as f64 / st as f64
        );
        all_ours += ours;
        all_theirs += theirs;
        all_so += so;
        all_st += st;
    }
    let _ = writeln!(
        report,
        "all: size {all_ours} / {all_theirs} = {:.3} of libpcap's; steps {all_so} / {all_st} = {:.3}",
        all_ours as f64 / all_theirs as f64,
        all_so as f64 / all_st as f64
    );
    let _ = write!(
        report,
        "\nlonger than libpcap (suite, ours, libpcap, expr):\n{longer}"
    );
    let path = write_report("program_size.txt", &report);
    eprintln!(
        "{}(full report: {path})",
        report.lines().take(6).collect::<Vec<_>>().join("\n") + "\n"
    );
    assert!(all_theirs > 0);
}
