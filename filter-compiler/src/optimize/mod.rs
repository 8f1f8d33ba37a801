//! Optimizations on the [`Cfg`], each one simple enough to check by reading:
//!
//! 1. Jump threading: along an edge where earlier tests already decide a block's test (the same
//!    loads compared again, or `A == 0x800` known when `A == 0x86dd` is asked), the edge goes
//!    straight to the block's decided successor. Sound because tests are self-contained and a
//!    skipped test's loads already ran, successfully, on that path.
//!    An edge also skips a block whose outcome cannot matter on that path.
//! 2. Identical blocks (same statements, comparison and successors) are merged.
//! 3. A block whose every predecessor leaves exactly the value it would compute in A drops its
//!    statements (`ldh [12]; jeq #0x86dd; jeq #0x800`).
//!
//! Only the skipping of blocks whose outcome cannot matter removes loads a path would run;
//! libpcap does the same, so on a truncated packet the optimized program may accept where the
//! unoptimized one hits the end of the packet and rejects (tcpdump and `tcpdump -O` differ
//! there too).

mod dead_code;

use crate::cbpf::{self, Insn};
use crate::ir::{Block, BlockId, Cfg};
use rustc_hash::FxHashMap as HashMap;

/// One known outcome: the test `(stmts #key) jmp k` went `taken`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fact {
    key: usize,
    jmp: u16,
    k: u32,
    taken: bool,
}

/// `jmp` of a fact that says the value is one of `sets[k]` (where paths with different known
/// values meet: `tcp or udp or sctp` leaves ip proto in {6, 17, 132}).
const ONE_OF: u16 = 0xffff;

/// Value sets of ONE_OF facts, by index.
type Sets = Vec<Vec<u32>>;

fn eval(v: u32, jmp: u16, k: u32) -> Option<bool> {
    Some(match jmp & 0xf0 {
        cbpf::JEQ => v == k,
        cbpf::JGT => v > k,
        cbpf::JGE => v >= k,
        cbpf::JSET => v & k != 0,
        _ => return None,
    })
}

/// Groups the tests of an `or` chain (each false edge leading to the next, every true edge to
/// the same place) or an `and` chain (the other way round) so that tests of the same value
/// are adjacent: `host a or host b` then loads the source address once for both comparisons
/// and the destination address once, as libpcap's `or_pullup` arranges. Only chains whose
/// inner blocks have no other predecessor are reordered, so no other path changes. The order
/// of loads changes, which matters only on truncated packets (as with libpcap).
fn group_chains(cfg: &mut Cfg) -> bool {
    let preds = predecessors(cfg);
    let mut changed = false;
    let mut done = vec![false; cfg.blocks.len()];
    for start in crate::emit::layout(cfg) {
        for or_chain in [true, false] {
            if done[start] {
                break;
            }
            // Follow the chain from `start`.
            let mut chain = vec![start];
            let shared = |b: &Block| match b {
                Block::Branch {
                    t,
                    f,
                    opaque: false,
                    ..
                } => Some(if or_chain { *t } else { *f }),
                _ => None,
            };
            let next = |b: &Block| match b {
                Block::Branch { t, f, .. } => {
                    if or_chain {
                        *f
                    } else {
                        *t
                    }
                }
                _ => unreachable!(),
            };
            let Some(target) = shared(&cfg.blocks[start]) else {
                break;
            };
            loop {
                let n = next(&cfg.blocks[*chain.last().unwrap()]);
                if shared(&cfg.blocks[n]) != Some(target) || preds[n].len() != 1 || done[n] {
                    break;
                }
                chain.push(n);
            }
            if chain.len() < 3 {
                continue;
            }
            // The tests, grouped by the value they compare, groups in order of first use.
            let tests: Vec<(Vec<Insn>, u16, u32)> = chain
                .iter()
                .map(|&b| match &cfg.blocks[b] {
                    Block::Branch { stmts, jmp, k, .. } => (stmts.clone(), *jmp, *k),
                    _ => unreachable!(),
                })
                .collect();
            let mut order: Vec<usize> = (0..tests.len()).collect();
            // (A map, not a search per test: chains run to thousands of tests.)
            let mut first: HashMap<&[Insn], usize> = HashMap::default();
            let first_use: Vec<usize> = (tests.iter().enumerate())
                .map(|(i, t)| *first.entry(&t.0).or_insert(i))
                .collect();
            order.sort_by_key(|&i| first_use[i]);
            if order.iter().enumerate().any(|(pos, &i)| pos != i) {
                changed = true;
                for (&b, &i) in chain.iter().zip(&order) {
                    if let Block::Branch { stmts, jmp, k, .. } = &mut cfg.blocks[b] {
                        (*stmts, *jmp, *k) = tests[i].clone();
                    }
                }
            }
            for &b in &chain {
                done[b] = true;
            }
        }
    }
    changed
}

pub fn optimize(cfg: &mut Cfg) {
    for _ in 0..64 {
        let threaded = thread_jumps(cfg);
        let merged = merge_identical(cfg);
        let grouped = group_chains(cfg);
        if !threaded && !merged && !grouped {
            break;
        }
    }
    masks_to_jset(cfg);
    elide_reloads(cfg);
    // Blocks that differed only in the loads just dropped are now identical (`portrange`'s
    // IPv4 and IPv6 tails end in the same `jgt`): merge them too. Safe after elision: a
    // block with no statements tests whatever A it is given, and identical blocks already
    // had the same successors, so no block gains a predecessor it did not have.
    merge_identical(cfg);
    if dead_code::remove(cfg) {
        bypass_empty(cfg);
        merge_identical(cfg);
    }
}

/// Edges into statement-free jumps go straight to where those lead, and a test whose two
/// edges meet becomes a jump (its loads still run: they may reject the packet).
fn bypass_empty(cfg: &mut Cfg) {
    let mut order = crate::emit::layout(cfg);
    order.sort_unstable();
    for b in order {
        let skip = |blocks: &[Block], to: BlockId| match &blocks[to] {
            Block::Jump { stmts, next } if stmts.is_empty() => *next,
            _ => to,
        };
        let block = match &cfg.blocks[b] {
            Block::Branch {
                stmts,
                jmp,
                k,
                t,
                f,
                opaque,
            } => {
                let (t, f) = (skip(&cfg.blocks, *t), skip(&cfg.blocks, *f));
                if t == f && !opaque {
                    Block::Jump {
                        stmts: stmts.clone(),
                        next: t,
                    }
                } else {
                    Block::Branch {
                        stmts: stmts.clone(),
                        jmp: *jmp,
                        k: *k,
                        t,
                        f,
                        opaque: *opaque,
                    }
                }
            }
            Block::Jump { stmts, next } => Block::Jump {
                stmts: stmts.clone(),
                next: skip(&cfg.blocks, *next),
            },
            Block::Ret(_) => continue,
        };
        cfg.blocks[b] = block;
    }
    cfg.entry = skip_entry(cfg);
}

fn skip_entry(cfg: &Cfg) -> BlockId {
    match &cfg.blocks[cfg.entry] {
        Block::Jump { stmts, next } if stmts.is_empty() => *next,
        _ => cfg.entry,
    }
}

/// `and #m; jeq #0` is `jset #m` with the edges swapped: one instruction fewer.
fn masks_to_jset(cfg: &mut Cfg) {
    for b in crate::emit::layout(cfg) {
        if let Block::Branch {
            stmts,
            jmp,
            k,
            t,
            f,
            opaque: false,
        } = &mut cfg.blocks[b]
        {
            let masked = stmts
                .last()
                .is_some_and(|i| i.code == cbpf::ALU | cbpf::AND | cbpf::K);
            if masked && *jmp == cbpf::JMP | cbpf::JEQ | cbpf::K && *k == 0 {
                let mask = stmts.pop().unwrap().k;
                *jmp = cbpf::JMP | cbpf::JSET | cbpf::K;
                *k = mask;
                std::mem::swap(t, f);
            }
        }
    }
}

/// Interns statement lists so facts can name "the value these statements compute".
struct Keys<'a> {
    ids: HashMap<&'a [Insn], usize>,
}

impl<'a> Keys<'a> {
    fn key(&mut self, s: &'a [Insn]) -> usize {
        let n = self.ids.len();
        *self.ids.entry(s).or_insert(n)
    }
}

/// The outcome of a test whose value does not depend on the packet (`ld #k`, `and #0`, as
/// `net 0/0` produces); its loads are skipped, as libpcap's constant folding does.
fn static_outcome(stmts: &[Insn], jmp: u16, k: u32) -> Option<bool> {
    if jmp & cbpf::X != 0 {
        return None;
    }
    let last = stmts.last()?;
    let v = match last.code {
        c if c == cbpf::LD | cbpf::IMM => last.k,
        c if c == cbpf::ALU | cbpf::AND | cbpf::K && last.k == 0 => 0,
        _ => return None,
    };
    eval(v, jmp, k)
}

/// Whether a fact pins its value down to one or a few.
fn pins(f: &Fact) -> bool {
    f.jmp == ONE_OF || (f.jmp == cbpf::JMP | cbpf::JEQ | cbpf::K && f.taken)
}

/// Facts past the index beyond which `Facts::settle` indexes them.
const SCAN_LEN: usize = 32;

/// A fact list, indexed so that `decide` and `value_set` need not scan it: in a long `or`
/// chain nearly every fact is about the same value (`A != a1`, `A != a2`...), and scanning
/// made the pass quadratic. Answers are exactly those of a scan in list order, the first
/// fact that decides winning: on a path no packet can take, facts may disagree, and which
/// one wins shows in the emitted program.
#[derive(Clone, Debug, Default)]
struct Facts {
    list: Vec<Fact>,
    /// `list[..indexed]` is in the index; the rest is scanned. A short list is scanned
    /// faster than hashed, and the facts `resolve` pushes and pops as it looks ahead come
    /// and go too often to pay for indexing, so only what `settle` finds is indexed.
    indexed: usize,
    /// Position of the first fact about each test `(key, jmp, k)`.
    first: HashMap<(usize, u16, u32), usize>,
    by_key: HashMap<usize, KeyFacts>,
}

/// The facts about one value that can decide tests other than their own (comparisons with
/// a constant only); the others decide only their own test, found through `Facts::first`.
#[derive(Clone, Debug, Default)]
struct KeyFacts {
    /// The first `jeq #v` known taken.
    exact: Option<usize>,
    /// ONE_OF facts, in order.
    one_of: Vec<usize>,
    /// Lower bounds (`v >= l`) that beat every earlier one, as (position, l): the first fact
    /// implying `v >= l` for some `l > x` is the first of these with `l > x`.
    lower: Vec<(usize, u32)>,
    /// Upper bounds (`v <= u`) that beat every earlier one.
    upper: Vec<(usize, u32)>,
    /// `jset #m` known false, as (position, m).
    clear: Vec<(usize, u32)>,
}

/// The bound `v >= l` (`Ok`) or `v <= u` (`Err`) a range fact gives, if any.
fn bound(f: &Fact) -> Option<Result<u32, u32>> {
    match (f.jmp & 0xf0, f.taken) {
        (cbpf::JGT, true) => f.k.checked_add(1).map(Ok),
        (cbpf::JGE, true) => Some(Ok(f.k)),
        (cbpf::JGT, false) => Some(Err(f.k)),
        (cbpf::JGE, false) => f.k.checked_sub(1).map(Err),
        _ => None,
    }
}

/// What one fact says about the test `jmp k` of the same value, if anything.
fn verdict(f: &Fact, sets: &Sets, jmp: u16, k: u32) -> Option<bool> {
    let uses_x = jmp & cbpf::X != 0;
    if f.jmp == ONE_OF {
        if uses_x {
            return None;
        }
        let mut outcomes = sets[f.k as usize].iter().map(|&v| eval(v, jmp, k));
        let first = outcomes.next().flatten();
        return first.filter(|_| outcomes.all(|o| o == first));
    }
    if f.jmp == jmp && f.k == k {
        return Some(f.taken);
    }
    if uses_x || f.jmp & cbpf::X != 0 {
        return None;
    }
    // A known exact value decides every comparison with a constant.
    if f.jmp & 0xf0 == cbpf::JEQ && f.taken {
        return eval(f.k, jmp, k);
    }
    // Ranges: v > a, v >= a, v <= a (not >), v < a (not >=).
    let (lower, upper) = match bound(f) {
        Some(Ok(l)) => (Some(l), None),
        Some(Err(u)) => (None, Some(u)),
        None => (None, None),
    };
    match jmp & 0xf0 {
        cbpf::JGT if lower.is_some_and(|l| l > k) => Some(true),
        cbpf::JGT if upper.is_some_and(|u| u <= k) => Some(false),
        cbpf::JGE if lower.is_some_and(|l| l >= k) => Some(true),
        cbpf::JGE if upper.is_some_and(|u| u < k) => Some(false),
        cbpf::JEQ if lower.is_some_and(|l| l > k) || upper.is_some_and(|u| u < k) => Some(false),
        // No bit of `f.k` set implies no bit of any subset of it.
        cbpf::JSET if f.jmp & 0xf0 == cbpf::JSET && !f.taken && k & !f.k == 0 => Some(false),
        _ => None,
    }
}

impl Facts {
    fn len(&self) -> usize {
        self.list.len()
    }

    fn push(&mut self, f: Fact) {
        // Tests are `JMP | op | K/X`, so `JEQ | K` taken is what `verdict` takes as exact.
        debug_assert!(f.jmp == ONE_OF || f.jmp & 0x07 == cbpf::JMP);
        self.list.push(f);
    }

    /// Indexes the facts past the index, once there are enough of them to be worth it.
    fn settle(&mut self) {
        if self.list.len() - self.indexed < SCAN_LEN {
            return;
        }
        for pos in self.indexed..self.list.len() {
            let f = self.list[pos];
            self.first.entry((f.key, f.jmp, f.k)).or_insert(pos);
            if f.jmp != ONE_OF && f.jmp & cbpf::X != 0 {
                continue;
            }
            let kf = self.by_key.entry(f.key).or_default();
            if f.jmp == ONE_OF {
                kf.one_of.push(pos);
            } else if f.jmp == cbpf::JMP | cbpf::JEQ | cbpf::K && f.taken {
                kf.exact.get_or_insert(pos);
            } else if f.jmp & 0xf0 == cbpf::JSET && !f.taken {
                kf.clear.push((pos, f.k));
            } else {
                match bound(&f) {
                    Some(Ok(l)) if kf.lower.last().is_none_or(|&(_, best)| l > best) => {
                        kf.lower.push((pos, l))
                    }
                    Some(Err(u)) if kf.upper.last().is_none_or(|&(_, best)| u < best) => {
                        kf.upper.push((pos, u))
                    }
                    _ => {}
                }
            }
        }
        self.indexed = self.list.len();
    }

    /// Drops the facts from position `len` on.
    fn truncate(&mut self, len: usize) {
        // Undo `settle`, last first.
        while self.indexed > len {
            self.indexed -= 1;
            let pos = self.indexed;
            let f = self.list[pos];
            if self.first.get(&(f.key, f.jmp, f.k)) == Some(&pos) {
                self.first.remove(&(f.key, f.jmp, f.k));
            }
            let Some(kf) = self.by_key.get_mut(&f.key) else {
                continue;
            };
            if kf.exact == Some(pos) {
                kf.exact = None;
            }
            if kf.one_of.last() == Some(&pos) {
                kf.one_of.pop();
            }
            for v in [&mut kf.lower, &mut kf.upper, &mut kf.clear] {
                if v.last().is_some_and(|&(p, _)| p == pos) {
                    v.pop();
                }
            }
        }
        self.list.truncate(len);
    }

    fn tail(&self) -> &[Fact] {
        &self.list[self.indexed..]
    }

    fn contains(&self, f: &Fact) -> bool {
        let indexed = match self.first.get(&(f.key, f.jmp, f.k)) {
            Some(&p) => self.list[p..self.indexed].contains(f),
            None => false,
        };
        indexed || self.tail().contains(f)
    }

    /// The keys whose values the facts pin down.
    fn pinned_keys(&self) -> Vec<usize> {
        let indexed = (self.by_key.iter())
            .filter(|(_, kf)| kf.exact.is_some() || !kf.one_of.is_empty())
            .map(|(&key, _)| key);
        let tail = (self.tail().iter().filter(|f| pins(f))).map(|f| f.key);
        let mut keys: Vec<usize> = indexed.chain(tail).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The values the facts allow for `key`, if they pin them down.
    fn value_set(&self, sets: &Sets, key: usize) -> Option<Vec<u32>> {
        let indexed = self
            .by_key
            .get(&key)
            .and_then(|kf| match (kf.one_of.first(), kf.exact) {
                (Some(&s), Some(e)) => Some(s.min(e)),
                (s, e) => s.copied().or(e),
            });
        let f = match indexed {
            Some(p) => &self.list[p],
            None => self.tail().iter().find(|f| f.key == key && pins(f))?,
        };
        Some(match f.jmp {
            ONE_OF => sets[f.k as usize].clone(),
            _ => vec![f.k],
        })
    }

    /// The values the facts allow for `key`, if they pin them down: the pinning fact's
    /// values less those other facts rule out (`tcp or udp or sctp`, then `not sctp`,
    /// leaves {6, 17}).
    fn allowed(&self, sets: &Sets, key: usize) -> Option<Vec<u32>> {
        let mut vals = self.value_set(sets, key)?;
        if vals.len() > 1 {
            let eq = cbpf::JMP | cbpf::JEQ | cbpf::K;
            vals.retain(|&v| self.decide_one(sets, key, eq, v) != Some(false));
        }
        Some(vals)
    }

    /// What the facts say about the test `key jmp k`, if anything: the `verdict` of the
    /// first fact about `key` that has one, else what every value the facts still allow
    /// gives (`jeq #17` when ip proto is one of {6, 17, 132} and neither 6 nor 132).
    fn decide(&self, sets: &Sets, key: usize, jmp: u16, k: u32) -> Option<bool> {
        self.decide_one(sets, key, jmp, k).or_else(|| {
            if jmp & cbpf::X != 0 || eval(0, jmp, k).is_none() {
                return None;
            }
            let vals = self.allowed(sets, key)?;
            let mut outcomes = vals.iter().map(|&v| eval(v, jmp, k));
            let first = outcomes.next().flatten();
            first.filter(|_| outcomes.all(|o| o == first))
        })
    }

    /// `decide` by single facts only.
    fn decide_one(&self, sets: &Sets, key: usize, jmp: u16, k: u32) -> Option<bool> {
        let indexed = match self.indexed {
            0 => None,
            _ => self.decide_indexed(sets, key, jmp, k),
        };
        indexed.or_else(|| {
            (self.tail().iter().filter(|f| f.key == key)).find_map(|f| verdict(f, sets, jmp, k))
        })
    }

    /// `decide` over `list[..indexed]`.
    fn decide_indexed(&self, sets: &Sets, key: usize, jmp: u16, k: u32) -> Option<bool> {
        // The first deciding fact so far, and what it says.
        let mut best = (self.first.get(&(key, jmp, k))).map(|&p| (p, self.list[p].taken));
        let kf = match self.by_key.get(&key) {
            // Only facts about the same test decide one with X or an unknown comparison.
            Some(kf) if jmp & cbpf::X == 0 && eval(0, jmp, k).is_some() => kf,
            _ => return best.map(|(_, v)| v),
        };
        let mut offer = |pos: usize, v: Option<bool>| {
            if let Some(v) = v.filter(|_| best.is_none_or(|(b, _)| pos < b)) {
                best = Some((pos, v));
            }
        };
        let at = |p: usize| verdict(&self.list[p], sets, jmp, k);
        if let Some(p) = kf.one_of.iter().copied().find(|&p| at(p).is_some()) {
            offer(p, at(p));
        }
        if let Some(p) = kf.exact {
            offer(p, at(p));
        }
        // The first bound that decides: bounds that decide form a suffix of those that
        // beat every earlier one, as bounds only get tighter along them.
        for bounds in [&kf.lower, &kf.upper] {
            let i = bounds.partition_point(|&(p, _)| at(p).is_none());
            if let Some(&(p, _)) = bounds.get(i) {
                offer(p, at(p));
            }
        }
        if let Some(&(p, _)) = kf.clear.iter().find(|&&(p, _)| at(p).is_some()) {
            offer(p, at(p));
        }
        best.map(|(_, v)| v)
    }
}

fn predecessors(cfg: &Cfg) -> Vec<Vec<BlockId>> {
    let mut preds = vec![Vec::new(); cfg.blocks.len()];
    for b in crate::emit::layout(cfg) {
        match &cfg.blocks[b] {
            Block::Branch { t, f, .. } => {
                preds[*t].push(b);
                if f != t {
                    preds[*f].push(b);
                }
            }
            Block::Jump { next, .. } => preds[*next].push(b),
            Block::Ret(_) => {}
        }
    }
    preds
}

fn thread_jumps(cfg: &mut Cfg) -> bool {
    let order = crate::emit::layout(cfg);
    // Edges are read from the graph as it was and rewritten at the end.
    let blocks = &cfg.blocks;
    let mut keys = Keys {
        ids: HashMap::default(),
    };
    let key_of: Vec<Option<usize>> = blocks
        .iter()
        .map(|b| match b {
            Block::Branch {
                stmts,
                opaque: false,
                ..
            } => Some(keys.key(stmts)),
            _ => None,
        })
        .collect();
    let mut sets: Sets = Vec::new();
    // The program's start is an edge too.
    let mut budget = RESOLVE_BUDGET;
    let start = resolve(
        blocks,
        &key_of,
        &sets,
        cfg.entry,
        &mut Facts::default(),
        &mut budget,
        0,
    );
    let mut changed = start != cfg.entry;
    let mut rewrites: Vec<(BlockId, [BlockId; 2])> = Vec::new();
    let mut jumps: Vec<(BlockId, BlockId)> = Vec::new();
    // Facts on entry to each block: those true on every incoming edge. Only a branch uses
    // them; any other block is just marked reached.
    let mut entry: Vec<Option<Facts>> = vec![None; blocks.len()];
    entry[start] = Some(Facts::default());
    for &b in &order {
        // Every predecessor came earlier in this order: the entry facts are final.
        let Some(mut facts) = entry[b].take() else {
            continue;
        };
        let Block::Branch {
            jmp,
            k,
            t,
            f,
            opaque,
            ..
        } = blocks[b]
        else {
            // Past an opaque block or a plain jump nothing is known, but the jump's target
            // may still be a block whose outcome cannot matter.
            if let Block::Jump { next, .. } = blocks[b] {
                let mut budget = RESOLVE_BUDGET;
                let mut edge = Facts::default();
                let to = resolve(blocks, &key_of, &sets, next, &mut edge, &mut budget, 0);
                if to != next {
                    jumps.push((b, to));
                    changed = true;
                }
                if matches!(blocks[to], Block::Branch { .. }) {
                    meet(&mut entry[to], edge, &mut sets);
                } else {
                    entry[to].get_or_insert_with(Facts::default);
                }
            }
            continue;
        };
        let own = key_of[b];
        let mut targets = [t, f];
        // Both edges are resolved on the entry facts, each undoing what it adds, so that the
        // (long) list is copied only when both edges lead to branches.
        let base = facts.len();
        let mut added: [Vec<Fact>; 2] = Default::default();
        for (i, taken) in [true, false].into_iter().enumerate() {
            if let Some(key) = own {
                facts.push(Fact { key, jmp, k, taken });
            }
            let mut budget = RESOLVE_BUDGET;
            let to = resolve(
                blocks,
                &key_of,
                &sets,
                targets[i],
                &mut facts,
                &mut budget,
                0,
            );
            if to != targets[i] {
                targets[i] = to;
                changed = true;
            }
            added[i] = facts.list[base..].to_vec();
            facts.truncate(base);
        }
        if opaque {
            facts = Facts::default();
            added = Default::default();
        }
        let branch = targets.map(|to| matches!(blocks[to], Block::Branch { .. }));
        for (i, added) in added.into_iter().enumerate() {
            if !branch[i] {
                entry[targets[i]].get_or_insert_with(Facts::default);
                continue;
            }
            let mut edge = if i == 0 && branch[1] {
                facts.clone()
            } else {
                std::mem::take(&mut facts)
            };
            for f in added {
                edge.push(f);
            }
            meet(&mut entry[targets[i]], edge, &mut sets);
        }
        if targets != [t, f] {
            rewrites.push((b, targets));
        }
    }
    cfg.entry = start;
    for (b, [nt, nf]) in rewrites {
        if let Block::Branch { t, f, .. } = &mut cfg.blocks[b] {
            (*t, *f) = (nt, nf);
        }
    }
    for (b, to) in jumps {
        if let Block::Jump { next, .. } = &mut cfg.blocks[b] {
            *next = to;
        }
    }
    changed
}

/// How many undecided blocks one edge may look through, and how deeply nested.
const RESOLVE_BUDGET: u32 = 16;
const RESOLVE_DEPTH: u32 = 4;

/// Where an edge carrying `facts` really leads: through blocks the facts decide, and past
/// blocks whose outcome does not matter on this path (both ways end at the same place, as in
/// `port 53 and udp or tcp` once the protocol is known to be TCP). Skipping such a block skips
/// its loads, as libpcap's optimizer does.
fn resolve(
    blocks: &[Block],
    key_of: &[Option<usize>],
    sets: &Sets,
    mut to: BlockId,
    facts: &mut Facts,
    budget: &mut u32,
    depth: u32,
) -> BlockId {
    loop {
        let (Block::Branch { jmp, k, t, f, .. }, Some(key)) = (&blocks[to], key_of[to]) else {
            return to;
        };
        let (jmp, k, t, f) = (*jmp, *k, *t, *f);
        let Block::Branch { stmts, .. } = &blocks[to] else {
            unreachable!()
        };
        if let Some(v) = static_outcome(stmts, jmp, k).or_else(|| facts.decide(sets, key, jmp, k)) {
            facts.push(Fact {
                key,
                jmp,
                k,
                taken: v,
            });
            to = if v { t } else { f };
            continue;
        }
        if *budget == 0 || depth >= RESOLVE_DEPTH {
            return to;
        }
        *budget -= 1;
        // Try both ways on the same fact list, undoing what each pushes.
        let mark = facts.len();
        facts.push(Fact {
            key,
            jmp,
            k,
            taken: true,
        });
        let a = resolve(blocks, key_of, sets, t, facts, budget, depth + 1);
        facts.truncate(mark);
        facts.push(Fact {
            key,
            jmp,
            k,
            taken: false,
        });
        let b = resolve(blocks, key_of, sets, f, facts, budget, depth + 1);
        facts.truncate(mark);
        if a != b {
            return to;
        }
        to = a;
    }
}

/// Intersects the facts known on a new incoming edge into a block's entry facts.
fn meet(slot: &mut Option<Facts>, edge: Facts, sets: &mut Sets) {
    let Some(have) = slot else {
        slot.insert(edge).settle();
        return;
    };
    // Values known on both sides, possibly different, become a set.
    let keys = have.pinned_keys();
    let mut joined = Vec::new();
    for key in keys {
        if let (Some(mut a), Some(b)) = (have.allowed(sets, key), edge.allowed(sets, key)) {
            a.extend(b);
            a.sort_unstable();
            a.dedup();
            if a.len() <= 16 {
                joined.push((key, a));
            }
        }
    }
    // Keep what the edge knows too, in order. The facts from before the paths split are a
    // common prefix, usually most of both lists.
    let common = (have.list.iter().zip(&edge.list))
        .take_while(|(a, b)| a == b)
        .count();
    let kept: Vec<Fact> = (have.list[common..].iter())
        .filter(|f| edge.contains(f))
        .copied()
        .collect();
    have.truncate(common);
    for f in kept {
        have.push(f);
    }
    for (key, vals) in joined {
        if have.value_set(sets, key).as_ref() != Some(&vals) {
            sets.push(vals);
            have.push(Fact {
                key,
                jmp: ONE_OF,
                k: (sets.len() - 1) as u32,
                taken: true,
            });
        }
    }
    have.settle();
}

/// Merges blocks with identical content and successors; the lower id survives, so edges
/// still only point backwards in creation order.
fn merge_identical(cfg: &mut Cfg) -> bool {
    // In ascending id order a block's successors are settled before it is looked at, so
    // blocks that become identical once their successors merge are found in the same pass.
    let mut live = crate::emit::layout(cfg);
    live.sort_unstable();
    let mut remap: Vec<BlockId> = (0..cfg.blocks.len()).collect();
    let mut first: HashMap<Block, BlockId> = HashMap::default();
    let mut changed = false;
    for b in live {
        match &mut cfg.blocks[b] {
            Block::Branch { t, f, .. } => {
                *t = remap[*t];
                *f = remap[*f];
            }
            Block::Jump { next, .. } => *next = remap[*next],
            Block::Ret(_) => {}
        }
        match first.get(&cfg.blocks[b]) {
            Some(&keep) => {
                remap[b] = keep;
                changed = true;
            }
            None => {
                first.insert(cfg.blocks[b].clone(), b);
            }
        }
    }
    cfg.entry = remap[cfg.entry];
    changed
}

/// Drops statements that recompute what every predecessor already left in A (and X).
fn elide_reloads(cfg: &mut Cfg) {
    let preds = predecessors(cfg);
    // What A holds after each block, named by the statements that computed it.
    let computed: Vec<Option<Vec<Insn>>> = cfg
        .blocks
        .iter()
        .map(|b| match b {
            Block::Branch {
                stmts,
                opaque: false,
                ..
            } if !stmts.is_empty() => Some(stmts.clone()),
            _ => None,
        })
        .collect();
    // A block whose statements were dropped still ends with the same A; its value is the one
    // its predecessors left, which is why `computed` is taken before anything is dropped.
    for b in crate::emit::layout(cfg) {
        if b == cfg.entry {
            continue;
        }
        let Block::Branch {
            stmts,
            opaque: false,
            ..
        } = &cfg.blocks[b]
        else {
            continue;
        };
        if stmts.is_empty() || preds[b].is_empty() {
            continue;
        }
        if preds[b]
            .iter()
            .all(|&p| computed[p].as_deref() == Some(stmts.as_slice()))
        {
            if let Block::Branch { stmts, .. } = &mut cfg.blocks[b] {
                stmts.clear();
            }
        } else if is_pure_ldx(&stmts[0])
            && preds[b]
                .iter()
                .all(|&p| computed[p].as_deref().and_then(x_after) == Some(stmts[0]))
        {
            // `ldxb 4*([14]&0xf)` again, with X still holding it from every predecessor.
            if let Block::Branch { stmts, .. } = &mut cfg.blocks[b] {
                stmts.remove(0);
            }
        }
    }
}

/// X loads that depend on the packet only (not on A or memory).
fn is_pure_ldx(i: &Insn) -> bool {
    i.code == cbpf::LDX | cbpf::B | cbpf::MSH || i.code == cbpf::LDX | cbpf::IMM
}

/// The pure X load that X holds after `stmts`, if the last write of X is one.
fn x_after(stmts: &[Insn]) -> Option<Insn> {
    let writes_x = |i: &Insn| i.code & 0x07 == cbpf::LDX || i.code == cbpf::MISC | cbpf::TAX;
    stmts
        .iter()
        .rev()
        .find(|i| writes_x(i))
        .copied()
        .filter(is_pure_ldx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbpf::{B, JEQ, JMP, K, LD};
    use crate::ir::{ACCEPT, REJECT};

    const EQ: u16 = JMP | JEQ | K;

    fn branch(stmts: &[Insn], k: u32, t: BlockId, f: BlockId) -> Block {
        Block::Branch {
            stmts: stmts.to_vec(),
            jmp: EQ,
            k,
            t,
            f,
            opaque: false,
        }
    }

    /// `proto in {6, 17, 132} and (p1 or (proto in {6, 17, 132} and p2))`: on the way to the
    /// second protocol test, the first chain's set is known, and testing 132 then 6 false
    /// leaves only 17, so the whole second chain is skipped.
    #[test]
    fn one_of_set_less_excluded_values_decides_a_chain() {
        let proto = [Insn::stmt(LD | B | cbpf::ABS, 23)];
        let port = |k| [Insn::stmt(LD | cbpf::H | cbpf::ABS, k)];
        let mut cfg = Cfg {
            blocks: vec![Block::Ret(0), Block::Ret(1)],
            entry: 0,
        };
        let mut push = |b: Block| {
            cfg.blocks.push(b);
            cfg.blocks.len() - 1
        };
        let p2 = push(branch(&port(36), 68, ACCEPT, REJECT));
        let c3 = push(branch(&proto, 17, p2, REJECT));
        let c2 = push(branch(&proto, 6, p2, c3));
        let c1 = push(branch(&proto, 132, p2, c2));
        let p1 = push(branch(&port(36), 67, ACCEPT, c1));
        let d3 = push(branch(&proto, 17, p1, REJECT));
        let d2 = push(branch(&proto, 6, p1, d3));
        let d1 = push(branch(&proto, 132, p1, d2));
        cfg.entry = d1;
        assert!(thread_jumps(&mut cfg));
        // p1's false edge now skips the second protocol chain.
        let Block::Branch { f, .. } = cfg.blocks[p1] else {
            unreachable!()
        };
        assert_eq!(f, p2, "{:?}", cfg.blocks);
    }
}
