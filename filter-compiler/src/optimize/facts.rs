//! What jump threading knows along a path, and how that knowledge is kept cheap to query.
//!
//! A [`Fact`] is one known outcome: the test `(stmts) jmp k` went one way. Statement lists
//! are interned by the caller, so a fact names "the value these statements compute" by key.
//! [`Facts`] is a list of them in the order they became known, indexed once it grows so that
//! asking about a test need not scan it; the first fact that decides a test wins, exactly as
//! a scan would. Where two edges meet, [`meet`] keeps the facts both know, and turns values
//! each pins down differently into a set (a ONE_OF fact): after `tcp or udp or sctp` ip
//! proto is one of {6, 17, 132}.

use super::shared::eval;
use crate::cbpf;
use rustc_hash::FxHashMap as HashMap;

/// One known outcome: the test `(stmts #key) jmp k` went `taken`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Fact {
    pub(super) key: usize,
    pub(super) jmp: u16,
    pub(super) k: u32,
    pub(super) taken: bool,
}

/// `jmp` of a fact that says the value is one of `sets[k]` (where paths with different known
/// values meet: `tcp or udp or sctp` leaves ip proto in {6, 17, 132}).
const ONE_OF: u16 = 0xffff;

/// Value sets of ONE_OF facts, by index.
pub(super) type Sets = Vec<Vec<u32>>;

/// Whether a fact pins its value down to one or a few.
fn pins(f: &Fact) -> bool {
    f.jmp == ONE_OF || (f.jmp == cbpf::JMP | cbpf::JEQ | cbpf::K && f.taken)
}

/// Facts past the index beyond which `Facts::settle` indexes them.
const SCAN_LEN: usize = 32;

/// A fact list, indexed so that `decide` and `pinned` need not scan it: in a long `or`
/// chain nearly every fact is about the same value (`A != a1`, `A != a2`...), and scanning
/// made the pass quadratic. Answers are exactly those of a scan in list order, the first
/// fact that decides winning: on a path no packet can take, facts may disagree, and which
/// one wins shows in the emitted program.
#[derive(Clone, Debug, Default)]
pub(super) struct Facts {
    pub(super) list: Vec<Fact>,
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
    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    pub(super) fn push(&mut self, f: Fact) {
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
    pub(super) fn truncate(&mut self, len: usize) {
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

    /// The values of the first fact that pins `key` down (a set, or one value), borrowed.
    fn pinned<'s>(&'s self, sets: &'s Sets, key: usize) -> Option<&'s [u32]> {
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
            ONE_OF => &sets[f.k as usize],
            _ => std::slice::from_ref(&f.k),
        })
    }

    /// The values the facts allow for `key`, if they pin them down: the pinning fact's
    /// values less those other facts rule out (`tcp or udp or sctp`, then `not sctp`,
    /// leaves {6, 17}).
    fn allowed(&self, sets: &Sets, key: usize) -> Option<Vec<u32>> {
        let vals = self.pinned(sets, key)?;
        Some(self.still_allowed(sets, key, vals).collect())
    }

    /// Those of `vals` no other fact about `key` rules out.
    fn still_allowed<'v>(
        &'v self,
        sets: &'v Sets,
        key: usize,
        vals: &'v [u32],
    ) -> impl Iterator<Item = u32> + 'v {
        let eq = cbpf::JMP | cbpf::JEQ | cbpf::K;
        let many = vals.len() > 1;
        (vals.iter().copied())
            .filter(move |&v| !many || self.decide_one(sets, key, eq, v) != Some(false))
    }

    /// What the facts say about the test `key jmp k`, if anything: the `verdict` of the
    /// first fact about `key` that has one, else what every value the facts still allow
    /// gives (`jeq #17` when ip proto is one of {6, 17, 132} and neither 6 nor 132).
    pub(super) fn decide(&self, sets: &Sets, key: usize, jmp: u16, k: u32) -> Option<bool> {
        self.decide_one(sets, key, jmp, k).or_else(|| {
            if jmp & cbpf::X != 0 || eval(0, jmp, k).is_none() {
                return None;
            }
            let vals = self.pinned(sets, key)?;
            let mut outcomes = self.still_allowed(sets, key, vals).map(|v| eval(v, jmp, k));
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

/// Intersects the facts known on a new incoming edge into a block's entry facts.
pub(super) fn meet(slot: &mut Option<Facts>, edge: Facts, sets: &mut Sets) {
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
        if have.pinned(sets, key) != Some(&vals[..]) {
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
