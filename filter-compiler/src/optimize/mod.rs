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

use crate::ir::Cfg;

/// One pass: rewrites the graph in place and says whether it changed anything.
#[derive(Clone, Copy)]
struct Pass {
    /// For test failures.
    #[cfg_attr(not(test), allow(dead_code))]
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

/// The optimizer. The order matters:
///
/// 1. Threading, merging and chain grouping feed each other (a merge makes two paths one,
///    which threading then sees through; grouping puts equal loads side by side, which
///    threading and merging then exploit), so they run to a fixed point. All three rely on
///    tests being self-contained (no block reads registers another set).
/// 2. `masks_to_jset` comes after them: threading reasons about `jeq #0` after a mask as it
///    does about any comparison, and nothing before needs the `jset` form.
/// 3. `elide_reloads` makes blocks read A (and X) their predecessors left, so tests stop being
///    self-contained: it comes after every pass that moves edges.
/// 4. `merge_identical` again: blocks that differed only in the loads just dropped are now
///    identical (`portrange`'s IPv4 and IPv6 tails end in the same `jgt`; `tcp or udp or
///    sctp` is 14 instructions only thanks to this). Safe after elision: a block with no
///    statements tests whatever A it is given, and identical blocks already had the same
///    successors, so no block gains a predecessor it did not have.
/// 5. `dead_code` last among the rewrites: a statement is dead only once every path that
///    read its result is gone (geneve's zeroing of its scratch slots goes only once threading
///    has dropped the paths that never wrote them). What it empties (a jump with no
///    statements left) is then bypassed, and blocks that now differ in nothing are merged.
const PIPELINE: &[Stage] = &[
    Stage::FixedPoint(&[THREAD, MERGE, GROUP]),
    Stage::Once(JSET),
    Stage::Once(RELOADS),
    Stage::Once(MERGE),
    Stage::IfChanged(DEAD_CODE, &[BYPASS, MERGE]),
];

pub fn optimize(cfg: &mut Cfg) {
    run(PIPELINE, cfg);
}

fn run(pipeline: &[Stage], cfg: &mut Cfg) {
    for stage in pipeline {
        match *stage {
            Stage::FixedPoint(passes) => {
                for _ in 0..ROUNDS {
                    let mut changed = false;
                    for pass in passes {
                        changed |= (pass.run)(cfg);
                    }
                    if !changed {
                        break;
                    }
                }
            }
            Stage::Once(pass) => {
                (pass.run)(cfg);
            }
            Stage::IfChanged(pass, then) => {
                if (pass.run)(cfg) {
                    for pass in then {
                        (pass.run)(cfg);
                    }
                }
            }
        }
    }
}
