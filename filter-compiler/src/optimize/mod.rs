//! Optimizations on the [`Cfg`], one pass per module, each simple enough to check by reading:
//!
//! - [`thread`]: jump threading, with what is known along each edge kept in [`facts`];
//! - [`merge`]: identical blocks merged;
//! - [`group`]: the tests of `or` and `and` chains grouped by the value they compare;
//! - [`jset`]: `and #m; jeq #0` as `jset #m`;
//! - [`reloads`]: loads every predecessor already left in A (or X) dropped;
//! - [`dead_code`]: statements whose result nothing reads dropped;
//! - [`bypass`]: statement-free jumps bypassed.
//!
//! [`PIPELINE`] runs them, in an order that matters (see there).
//!
//! Only jump threading's skipping of blocks whose outcome cannot matter, and the reordering of
//! chains, change which loads a path runs; libpcap does the same, so on a truncated packet
//! the optimized program may accept where the unoptimized one hits the end of the packet and
//! rejects (tcpdump and `tcpdump -O` differ there too). Every other pass gives every packet
//! the same verdict.

mod bypass;
mod dead_code;
mod facts;
mod group;
mod jset;
mod merge;
mod reloads;
mod shared;
mod thread;

#[cfg(test)]
mod pass_props;
#[cfg(test)]
mod testing;

use crate::ir::Cfg;

/// One pass: rewrites the graph in place and says whether it changed anything.
#[derive(Clone, Copy)]
struct Pass {
    /// For `--explain` and test failures.
    name: &'static str,
    run: fn(&mut Cfg) -> bool,
}

const THREAD: Pass = Pass {
    name: "thread_jumps",
    run: thread::thread_jumps,
};
const MERGE: Pass = Pass {
    name: "merge_identical",
    run: merge::merge_identical,
};
const GROUP: Pass = Pass {
    name: "group_chains",
    run: group::group_chains,
};
const JSET: Pass = Pass {
    name: "masks_to_jset",
    run: jset::masks_to_jset,
};
const RELOADS: Pass = Pass {
    name: "elide_reloads",
    run: reloads::elide_reloads,
};
const DEAD_CODE: Pass = Pass {
    name: "dead_code",
    run: dead_code::remove,
};
const BYPASS: Pass = Pass {
    name: "bypass_empty",
    run: bypass::bypass_empty,
};

/// Every pass, once each.
#[cfg(test)]
const PASSES: [Pass; 7] = [THREAD, MERGE, GROUP, JSET, RELOADS, DEAD_CODE, BYPASS];

/// A step of the pipeline.
#[derive(Clone, Copy)]
enum Stage {
    /// The passes in turn, again while any of them changed something (at most `ROUNDS`
    /// rounds; every pass runs in every round).
    FixedPoint(&'static [Pass]),
    /// The pass once.
    Once(Pass),
    /// The pass once; if it changed something, the others once each, in turn.
    IfChanged(Pass, &'static [Pass]),
}

/// Bound on the rounds of a [`Stage::FixedPoint`].
const ROUNDS: usize = 64;

/// The optimizer. The order matters (`tests::the_order_of_the_passes_matters` pins it):
///
/// 1. Threading, merging and chain grouping feed each other (a merge makes two paths one,
///    which threading then sees through; grouping puts equal loads side by side), so they run
///    to a fixed point. All three rely on tests being self-contained (no block reads
///    registers another set).
/// 2. `masks_to_jset` after them: threading folds the constant `and #0; jeq #0` of `net 0/0`
///    (6 instructions); as `jset #0` it would not (14).
/// 3. `elide_reloads` makes blocks read the A (and X) their predecessors left, so tests stop
///    being self-contained: it comes after every pass that moves edges (`tcp` would be 13
///    instructions, not 12, with it first).
/// 4. `merge_identical` again: blocks that differed only in the loads just dropped are now
///    identical (`portrange`'s IPv4 and IPv6 tails end in the same `jgt`; `tcp or udp or
///    sctp` is 14 instructions, not 18). Safe after elision: a block with no statements tests
///    whatever A it is given, and identical blocks already had the same successors, so no
///    block gains a predecessor it did not have.
/// 5. `dead_code`, then, if it dropped anything, `bypass_empty` for the jumps it emptied
///    (geneve's zeroing of its slots: 32 instructions, not 33) and `merge_identical` for the
///    blocks that now differ in nothing (`ip6 protochain 6`: 180, not 182). Where `dead_code`
///    itself runs makes no difference today: what it drops is dead in the graph lowering
///    builds already.
const PIPELINE: &[Stage] = &[
    Stage::FixedPoint(&[THREAD, MERGE, GROUP]),
    Stage::Once(JSET),
    Stage::Once(RELOADS),
    Stage::Once(MERGE),
    Stage::IfChanged(DEAD_CODE, &[BYPASS, MERGE]),
];

pub fn optimize(cfg: &mut Cfg) {
    run(PIPELINE, cfg, &mut |pass, cfg| (pass.run)(cfg));
}

/// [`optimize`], calling `changed` with the pass's name and the graph after every pass that
/// changed it (`--explain`).
pub fn optimize_traced(cfg: &mut Cfg, changed: &mut dyn FnMut(&'static str, &Cfg)) {
    run(PIPELINE, cfg, &mut |pass, cfg| {
        let did = (pass.run)(cfg);
        if did {
            changed(pass.name, cfg);
        }
        did
    });
}

/// Runs `pipeline`, each pass through `step` (which runs it, and may look on).
fn run(pipeline: &[Stage], cfg: &mut Cfg, step: &mut dyn FnMut(&Pass, &mut Cfg) -> bool) {
    for stage in pipeline {
        match *stage {
            Stage::FixedPoint(passes) => {
                // Done once every pass has run, without a change, on the graph as it is: a
                // pass is a function of the graph, so running it again on a graph it left
                // unchanged changes nothing (the old loop's last full round).
                // Passes run since the last change, that one included (it must run again).
                let mut quiet = 1;
                'rounds: for _ in 0..ROUNDS {
                    for pass in passes {
                        if step(pass, cfg) {
                            quiet = 1;
                        } else {
                            quiet += 1;
                            if quiet > passes.len() {
                                break 'rounds;
                            }
                        }
                    }
                }
            }
            Stage::Once(pass) => {
                step(&pass, cfg);
            }
            Stage::IfChanged(pass, then) => {
                if step(&pass, cfg) {
                    for pass in then {
                        step(pass, cfg);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compile_cfg, emit, LinkType, Options, Target};

    /// The graph lowering builds for `expr` (offline, Ethernet), before any pass.
    pub(super) fn unoptimized(expr: &str) -> Result<Cfg, crate::Error> {
        let opts = Options {
            optimize: false,
            snaplen: 262144,
            netmask: 0,
            resolver: &crate::resolve::NoResolver,
        };
        compile_cfg(expr, &Target::offline(LinkType::En10mb), &opts, None)
    }

    fn len_with(pipeline: &[Stage], expr: &str) -> usize {
        let mut cfg = unoptimized(expr).unwrap();
        run(pipeline, &mut cfg, &mut |pass, cfg| (pass.run)(cfg));
        emit::emit(&cfg).insns.len()
    }

    /// `PIPELINE` with stage `i` replaced by `with` (empty: dropped).
    fn variant(i: usize, with: &[Stage]) -> Vec<Stage> {
        let mut p = PIPELINE.to_vec();
        p.splice(i..=i, with.iter().copied());
        p
    }

    /// The order of the passes is what makes these programs as short as they are; each line
    /// says what a different order would give. (Changing `PIPELINE` itself makes the first
    /// assertion of the line fail.)
    #[test]
    fn the_order_of_the_passes_matters() {
        let cases: [(&str, usize, Vec<Stage>, usize); 5] = [
            // Merging after eliding reloads: the three protocol tests' tails become one.
            (
                "tcp or udp or sctp",
                14,
                [
                    &PIPELINE[..2],
                    &[Stage::Once(MERGE), Stage::Once(RELOADS)],
                    &PIPELINE[4..],
                ]
                .concat(),
                18,
            ),
            // Eliding reloads after threading: threading relies on self-contained tests.
            (
                "tcp",
                12,
                [&[Stage::Once(RELOADS)], &variant(2, &[])[..]].concat(),
                13,
            ),
            // `jset` after threading, which folds the constant `and #0; jeq #0` of `net 0/0`.
            (
                "net 0.0.0.0/0",
                6,
                [&[Stage::Once(JSET)], &variant(1, &[])[..]].concat(),
                14,
            ),
            // Bypassing after dead code: geneve's emptied slot zeroing leaves a bare `ja`.
            (
                "geneve",
                32,
                [
                    &[Stage::Once(BYPASS)],
                    &variant(4, &[Stage::IfChanged(DEAD_CODE, &[MERGE])])[..],
                ]
                .concat(),
                33,
            ),
            // Merging after dead code: protochain steps that differed only in dead statements.
            (
                "ip6 protochain 6",
                180,
                variant(4, &[Stage::IfChanged(DEAD_CODE, &[BYPASS])]),
                182,
            ),
        ];
        for (expr, len, other, other_len) in cases {
            assert_eq!(len_with(PIPELINE, expr), len, "{expr}");
            assert_eq!(
                len_with(&other, expr),
                other_len,
                "{expr}, in another order"
            );
        }
    }

    /// Where dead code runs among the rewrites makes no difference today (over the corpus):
    /// what `dead_code` drops, geneve's zeroing of its slots among it, is dead in the graph
    /// lowering builds already. Pinned so that a change there is noticed.
    #[test]
    fn dead_code_first_or_last_gives_the_same_geneve() {
        let first = [
            &[Stage::IfChanged(DEAD_CODE, &[BYPASS, MERGE])],
            &PIPELINE[..4],
        ]
        .concat();
        for expr in ["geneve", "geneve and ip", "not geneve"] {
            assert_eq!(len_with(PIPELINE, expr), len_with(&first, expr), "{expr}");
        }
    }
}
