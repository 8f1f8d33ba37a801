//! The `--top` screen as lines of text: a pure function of the state and the terminal size
//! (the namer only remembers host names it looked up), so it is tested without a terminal.
//!
//! From the top: a header (interface, filter, elapsed, refresh), seen and matched rates and
//! totals (and the socket's received and dropped when capturing), a packets-per-second history,
//! counts by link-layer class and by transport, one line per rule, the largest flows, and a
//! status line with the keys. When the terminal is short, the history, the class tables and
//! the rules give up lines (in that order) before the flows go below three rows; when it is
//! wide, rates are added to the class tables, rules and flows.

use std::collections::HashMap;
use std::time::Duration;

use filter_compiler::ebpf::layout::{FlowKey, L3_CLASSES, L4_CLASSES};

use super::state::State;
use crate::bpf::report::{evicted, per_second, plural, rates, si, top_flows, By, Namer, Sample};
use crate::bpf::Totals;

/// Warning lines start with this (the terminal shows them in bold).
pub const ALERT: &str = "! ";

/// Width of the row labels of the totals.
const LABEL: usize = 9;
/// Width of the row labels of the class tables and the history.
const WIDE_LABEL: usize = 12;
/// From this width, flows and rules get rate columns.
const RATE_COLUMNS: usize = 100;
/// From this many body lines, sections are separated by a blank line.
const ROOMY: usize = 30;

/// Exactly `height` lines, each at most `width` display columns: header, body, status line.
pub fn frame(st: &State, namer: &mut Namer, width: usize, height: usize) -> Vec<String> {
    let mut lines = Vec::with_capacity(height);
    if height > 0 {
        lines.push(header(st, width));
    }
    if height > 1 {
        lines.extend(body(st, namer, width, height - 2));
        lines.truncate(height - 1);
        lines.resize(height - 1, String::new());
        lines.push(status(st));
    }
    lines
        .into_iter()
        .map(|l| {
            let l = fit(sanitize(&l).trim_end(), width);
            if st.unicode {
                l
            } else {
                ascii(&l)
            }
        })
        .collect()
}

fn header(st: &State, w: usize) -> String {
    let filter = clean(&st.filter);
    let filter = if filter.is_empty() {
        "(everything)".to_string()
    } else {
        filter
    };
    let elapsed = st.now.as_ref().map_or(Duration::ZERO, |s| s.elapsed);
    let right = format!("up {}  refresh {}", hms(elapsed), duration(st.refresh));
    let left = format!(
        "bpfdump --top  {}  filter: {}",
        clean(&st.interface),
        filter
    );
    both(&left, &right, w)
}

fn status(st: &State) -> String {
    format!(
        "q quit  b/p/s order: {}  n names: {}  +/- refresh  ^L redraw",
        st.by.name(),
        if st.numeric { "off" } else { "on" }
    )
}

/// The lines between header and status line: at most `room`.
fn body(st: &State, namer: &mut Namer, w: usize, room: usize) -> Vec<String> {
    let Some(now) = &st.now else {
        return vec!["waiting for the first counters...".into()];
    };
    let iv = st.interval();
    let totals = totals(st, now, iv);
    let alerts = flow_alerts(iv, w);
    let table = now.flow_capacity > 0;
    let wanted_rows = if table { now.flows.len().max(1) } else { 0 };
    let min_rows = wanted_rows.min(3);
    let gaps = if room >= ROOMY { 4 } else { 0 };
    let mut left = room.saturating_sub(totals.len() + 1 + alerts.len() + min_rows + gaps);
    let rules = rules(st, now, iv, w, left);
    left -= rules.len();
    let classes = classes(now, iv, w, left);
    left -= classes.len();
    let history = history(st, w, left.min(2));
    left -= history.len();
    let rows = min_rows + left.min(wanted_rows - min_rows);
    let mut flows = flows(st, namer, now, iv, w, rows);
    flows.splice(1..1, alerts);

    let mut out = Vec::with_capacity(room);
    for (i, section) in [totals, history, classes, rules, flows]
        .into_iter()
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        if i > 0 && gaps > 0 {
            out.push(String::new());
        }
        out.extend(section);
    }
    out
}

/// Rates over the last refresh and totals, seen and matched; the socket's counters when
/// capturing.
fn totals(st: &State, now: &Sample, iv: Option<(&Sample, &Sample, Duration)>) -> Vec<String> {
    let row = |label: &str, t: &Totals, prev: Option<(&Totals, Duration)>| {
        let (pps, bps) = match prev {
            Some((p, dt)) => {
                let (pps, bps) = rates(p.pair(), t.pair(), dt);
                (si(pps), si(bps))
            }
            None => ("-".to_string(), "-".to_string()),
        };
        format!(
            "{label:<LABEL$}{pps:>11}{bps:>11}{:>14}{:>16}{:>14}",
            num(t.packets, 13),
            num(t.bytes, 15),
            num(t.segments, 13)
        )
    };
    let c = &now.counts;
    let mut v = vec![
        format!(
            "{:<LABEL$}{:>11}{:>11}{:>14}{:>16}{:>14}",
            "", "packets/s", "bits/s", "packets", "bytes", "segments"
        ),
        row("seen", &c.seen, iv.map(|(p, _, dt)| (&p.counts.seen, dt))),
        row(
            "matched",
            &c.matched,
            iv.map(|(p, _, dt)| (&p.counts.matched, dt)),
        ),
    ];
    if st.capturing {
        v.push(match now.kernel {
            Some(k) => {
                let pct = if k.received > 0 {
                    k.dropped as f64 * 100.0 / k.received as f64
                } else {
                    0.0
                };
                let before = iv.and_then(|(p, _, dt)| Some((p.kernel?, dt)));
                let dropping = before.is_some_and(|(p, _)| k.dropped > p.dropped);
                let label = if dropping { "! kernel" } else { "kernel" };
                let (received, dropped) = match before {
                    Some((p, dt)) => {
                        let r = per_second(p.received, k.received, dt);
                        let d = per_second(p.dropped, k.dropped, dt);
                        (format!(" ({}/s)", si(r)), format!(", {}/s", si(d)))
                    }
                    None => (String::new(), String::new()),
                };
                format!(
                    "{label:<LABEL$}received {}{received}  dropped {} ({pct:.2}%{dropped})",
                    k.received, k.dropped
                )
            }
            None => format!("{:<LABEL$}no socket counters yet", "kernel"),
        });
    }
    v
}

/// Packets per second of the last refreshes, seen and matched on one scale: two lines, one if
/// `room` is 1, none if 0 or the terminal is too narrow.
fn history(st: &State, w: usize, room: usize) -> Vec<String> {
    let note = 13;
    let (width, note) = if w >= WIDE_LABEL + note + 8 {
        (w - WIDE_LABEL - note, note)
    } else if w >= WIDE_LABEL + 4 {
        (w - WIDE_LABEL, 0)
    } else {
        return Vec::new();
    };
    let shown: Vec<_> = st
        .history
        .iter()
        .skip(st.history.len().saturating_sub(width))
        .collect();
    let peak = |f: fn(&super::state::Rate) -> f64| shown.iter().map(|r| f(r)).fold(0.0, f64::max);
    let (seen_peak, matched_peak) = (peak(|r| r.seen), peak(|r| r.matched));
    let scale = seen_peak.max(matched_peak);
    let line = |label: &str, f: fn(&super::state::Rate) -> f64, top: f64| {
        let mut s = format!("{label:<WIDE_LABEL$}");
        s.extend(std::iter::repeat_n(' ', width - shown.len()));
        s.extend(shown.iter().map(|r| bar(f(r), scale)));
        if note > 0 {
            s += &format!("{:>note$}", format!("peak {}", si(top)));
        }
        s
    };
    let mut v = Vec::new();
    if room >= 1 {
        v.push(line("seen pps", |r| r.seen, seen_peak));
    }
    if room >= 2 {
        v.push(line("matched pps", |r| r.matched, matched_peak));
    }
    v
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One column of the history: blank for nothing, else one of eight heights of `scale`.
pub fn bar(x: f64, scale: f64) -> char {
    if x <= 0.0 || scale <= 0.0 {
        return ' ';
    }
    let i = (x / scale * 8.0).ceil() as usize;
    BARS[i.clamp(1, 8) - 1]
}

/// A row of a class table: label, counts now, counts a refresh ago.
type ClassRow<'a> = (&'a str, &'a [u64], Option<&'a [u64]>);

/// Seen and matched by link-layer class and by transport: with rates when wide, without when
/// not, seen only when short, two lines of `class count` pairs when shorter still.
fn classes(
    now: &Sample,
    iv: Option<(&Sample, &Sample, Duration)>,
    w: usize,
    room: usize,
) -> Vec<String> {
    let c = &now.counts;
    let p = iv.map(|(p, _, dt)| (&p.counts, dt));
    let rate_cells = w >= WIDE_LABEL + 6 * 17;
    let cell = if rate_cells { 17 } else { 9 };
    let table = |title: &str, names: &[&str], rows: &[ClassRow]| {
        let mut v = vec![format!("{title:<WIDE_LABEL$}")];
        for n in names {
            v[0] += &format!("{n:>w$}", w = if rate_cells { 8 } else { cell });
            if rate_cells {
                v[0] += &" ".repeat(9);
            }
        }
        for (label, now, before) in rows {
            let mut s = format!("  {label:<w$}", w = WIDE_LABEL - 2);
            for (i, x) in now.iter().enumerate() {
                if rate_cells {
                    let r = match (before, p) {
                        (Some(b), Some((_, dt))) => format!("{}/s", si(per_second(b[i], *x, dt))),
                        _ => "-".into(),
                    };
                    s += &format!("{:>8}{r:>9}", si(*x as f64));
                } else {
                    s += &format!("{:>cell$}", si(*x as f64));
                }
            }
            v.push(s);
        }
        v
    };
    let prev = |f: fn(&crate::bpf::Counts) -> &[u64]| p.map(|(c, _)| f(c));
    if room >= 6 {
        let mut v = table(
            "link layer",
            &L3_CLASSES,
            &[
                ("seen", &c.l3, prev(|c| &c.l3)),
                ("matched", &c.matched_l3, prev(|c| &c.matched_l3)),
            ],
        );
        v.extend(table(
            "transport",
            &L4_CLASSES,
            &[
                ("seen", &c.l4, prev(|c| &c.l4)),
                ("matched", &c.matched_l4, prev(|c| &c.matched_l4)),
            ],
        ));
        v
    } else if room >= 4 {
        let mut v = table(
            "link layer",
            &L3_CLASSES,
            &[("seen", &c.l3, prev(|c| &c.l3))],
        );
        v.extend(table(
            "transport",
            &L4_CLASSES,
            &[("seen", &c.l4, prev(|c| &c.l4))],
        ));
        v
    } else if room >= 2 {
        let pairs = |title: &str, names: &[&str], v: &[u64]| {
            let mut s = format!("{title:<WIDE_LABEL$}");
            for (n, x) in names.iter().zip(v) {
                s += &format!("{n} {}  ", si(*x as f64));
            }
            s.trim_end().to_string()
        };
        vec![
            pairs("link seen", &L3_CLASSES, &c.l3),
            pairs("proto seen", &L4_CLASSES, &c.l4),
        ]
    } else {
        Vec::new()
    }
}

/// One line per rule (name, filter, packets/s, packets, bytes; bits/s when wide) under a
/// heading; as many as `room` allows, then how many more there are.
fn rules(
    st: &State,
    now: &Sample,
    iv: Option<(&Sample, &Sample, Duration)>,
    w: usize,
    room: usize,
) -> Vec<String> {
    if st.rules.is_empty() || room < 2 {
        return Vec::new();
    }
    let wide = w >= RATE_COLUMNS;
    let numbers = 11 + 13 + 13 + if wide { 11 } else { 0 };
    let name_w = st
        .rules
        .iter()
        .map(|r| width(&clean(&r.name)))
        .max()
        .unwrap_or(0)
        .clamp(4, 16);
    let longest = st
        .rules
        .iter()
        .map(|r| width(&clean(&r.expr)))
        .max()
        .unwrap_or(0);
    let filter_w = w
        .saturating_sub(name_w + 2 + numbers)
        .min(longest.max(6) + 2);
    let filter_w = if filter_w < 6 { 0 } else { filter_w };
    let line = |name: &str, filter: &str, cols: [String; 4]| {
        let mut s = format!("{}  ", pad(&fit(name, name_w), name_w));
        if filter_w > 0 {
            s += &pad(&fit(filter, filter_w - 1), filter_w);
        }
        s += &format!("{:>11}", cols[0]);
        if wide {
            s += &format!("{:>11}", cols[1]);
        }
        s + &format!("{:>13}{:>13}", cols[2], cols[3])
    };
    let mut v = vec![line(
        "rule",
        "filter",
        ["packets/s", "bits/s", "packets", "bytes"].map(String::from),
    )];
    let fits = if st.rules.len() < room {
        st.rules.len()
    } else {
        room - 2
    };
    let counts = |c: &crate::bpf::Counts, i: usize| c.rules.get(i).copied().unwrap_or((0, 0));
    for (i, r) in st.rules.iter().enumerate().take(fits) {
        let (p, b) = counts(&now.counts, i);
        let (pps, bps) = match iv {
            Some((prev, _, dt)) => {
                let (pps, bps) = rates(counts(&prev.counts, i), (p, b), dt);
                (si(pps), si(bps))
            }
            None => ("-".into(), "-".into()),
        };
        v.push(line(
            &clean(&r.name),
            &clean(&r.expr),
            [pps, bps, num(p, 12), num(b, 12)],
        ));
    }
    if fits < st.rules.len() {
        v.push(format!(
            "  ... and {} more rules (a taller terminal shows them)",
            st.rules.len() - fits
        ));
    }
    v
}

/// The columns right of a flow's name: (heading, width), rates only when wide.
fn flow_columns(w: usize) -> &'static [(&'static str, usize)] {
    if w >= RATE_COLUMNS {
        &[
            ("packets/s", 11),
            ("bits/s", 10),
            ("packets", 12),
            ("bytes", 14),
            ("share", 7),
        ]
    } else {
        &[("packets", 12), ("bytes", 14), ("share", 7)]
    }
}

fn name_width(w: usize) -> usize {
    w.saturating_sub(flow_columns(w).iter().map(|c| c.1).sum())
}

/// Warnings about the flow table over the last refresh: churn, refused updates.
fn flow_alerts(iv: Option<(&Sample, &Sample, Duration)>, w: usize) -> Vec<String> {
    let mut v = Vec::new();
    if let Some((prev, now, dt)) = iv {
        let gone = evicted(prev, now);
        if gone > 0 {
            let when = if (0.9..=1.1).contains(&dt.as_secs_f64()) {
                "second".to_string()
            } else {
                format!("{:.1} s", dt.as_secs_f64())
            };
            let long = format!(
                "{ALERT}table full: {gone} flows evicted in the last {when}, counts partial (--flows)"
            );
            v.push(if width(&long) <= w {
                long
            } else {
                format!("{ALERT}table full: {gone} flows evicted, counts partial (--flows)")
            });
        }
        let failed = now
            .counts
            .flow_failures
            .saturating_sub(prev.counts.flow_failures);
        if failed > 0 {
            v.push(format!(
                "{ALERT}{failed} matched packets not counted in flows: the kernel refused the update"
            ));
        }
    }
    v
}

/// The `rows` largest flows in the chosen order: name, (rates,) packets, bytes, share of the
/// matched total.
fn flows(
    st: &State,
    namer: &mut Namer,
    now: &Sample,
    iv: Option<(&Sample, &Sample, Duration)>,
    w: usize,
    rows: usize,
) -> Vec<String> {
    if now.flow_capacity == 0 {
        return vec!["flows: not counted (no flow table: --flows 0)".into()];
    }
    let full = now.table_entries as u64 >= u64::from(now.flow_capacity);
    let title = format!(
        "top flows by {}, {}{}",
        st.by.name(),
        plural(now.flows.len() as u64, "flow"),
        if full { ", table full" } else { "" }
    );
    let top = top_flows(&now.flows, st.by, rows);
    let names: Vec<String> = top.iter().map(|f| clean(&namer.describe(&f.key))).collect();
    // The name column: wide enough for any IPv4 flow, wider for longer names (IPv6, host
    // names) if the terminal allows, so columns stay put from one refresh to the next.
    let longest = names.iter().map(|n| width(n)).max().unwrap_or(0);
    let nw = (longest.max(width(&title)).max(49) + 2).min(name_width(w));
    let mut head = pad(&fit(&title, nw.saturating_sub(1)), nw);
    for (h, cw) in flow_columns(w) {
        head += &format!("{h:>cw$}");
    }
    if now.flows.is_empty() {
        return vec![head, "  (no matched flows yet)".into()];
    }
    let wide = w >= RATE_COLUMNS;
    let before: HashMap<FlowKey, (u64, u64)> = match iv {
        Some((p, _, _)) if wide => p
            .flows
            .iter()
            .map(|f| (f.key, (f.packets, f.bytes)))
            .collect(),
        _ => HashMap::new(),
    };
    let total = match st.by {
        By::Bytes => now.counts.matched.bytes,
        By::Packets => now.counts.matched.packets,
    };
    let rows = top.iter().zip(&names).map(|(f, name)| {
        let mut s = pad(&fit_middle(name, nw.saturating_sub(1)), nw);
        if wide {
            let (pps, bps) = match iv {
                Some((_, _, dt)) => {
                    let before = before.get(&f.key).copied().unwrap_or((0, 0));
                    let (pps, bps) = rates(before, (f.packets, f.bytes), dt);
                    (si(pps), si(bps))
                }
                None => ("-".into(), "-".into()),
            };
            s += &format!("{pps:>11}{bps:>10}");
        }
        let measure = match st.by {
            By::Bytes => f.bytes,
            By::Packets => f.packets,
        };
        let share = if total > 0 {
            format!("{:.1}%", (measure as f64 * 100.0 / total as f64).min(100.0))
        } else {
            "-".into()
        };
        s + &format!(
            "{:>12}{:>14}{share:>7}",
            num(f.packets, 11),
            num(f.bytes, 13)
        )
    });
    std::iter::once(head).chain(rows).collect()
}

/// `n` in full if it takes at most `w` characters, else in three figures (`1.23 G`).
fn num(n: u64, w: usize) -> String {
    let s = n.to_string();
    if s.len() <= w {
        s
    } else {
        si(n as f64)
    }
}

/// `1:02:03`, `2d 01:02:03`.
fn hms(d: Duration) -> String {
    let s = d.as_secs();
    let (days, h, m, s) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

/// `1s`, `250ms`, `2.5s`.
fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// `left`, then `right` against the right edge if both fit in `w` (with a space), else
/// `left` alone.
fn both(left: &str, right: &str, w: usize) -> String {
    let (lw, rw) = (width(left), width(right));
    if lw + 1 + rw <= w {
        format!("{left}{}{right}", " ".repeat(w - lw - rw))
    } else if rw + 20 <= w {
        let l = fit(left, w - rw - 1);
        let n = width(&l);
        format!("{l}{}{right}", " ".repeat(w - n - rw))
    } else {
        left.to_string()
    }
}

/// User text on one line: whitespace runs (newlines from `-F`) become one space.
fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Control characters and bidirectional overrides (a host name could hold any) become `?`,
/// so nothing reaches the terminal as a command.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// For a terminal without UTF-8: history bars as ASCII of rising weight, `…` as `~`, any
/// other non-ASCII character as `?` (each one column, as what it replaces).
fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if c.is_ascii() => c,
            '…' => '~',
            c => match BARS.iter().position(|&b| b == c) {
                Some(i) => b".:-=+*#@"[i] as char,
                None => '?',
            },
        })
        .collect()
}

/// Display columns of a character: 0 for combining marks, 2 for East Asian wide and
/// emoji, 1 otherwise (what terminals do; a close approximation of wcwidth).
fn char_width(c: char) -> usize {
    let u = c as u32;
    match u {
        0x0300..=0x036f
        | 0x1ab0..=0x1aff
        | 0x1dc0..=0x1dff
        | 0x200b..=0x200f
        | 0x20d0..=0x20ff
        | 0xfe00..=0xfe0f
        | 0xfe20..=0xfe2f => 0,
        0x1100..=0x115f
        | 0x2e80..=0x303e
        | 0x3041..=0x33ff
        | 0x3400..=0x4dbf
        | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1f64f
        | 0x1f900..=0x1f9ff
        | 0x20000..=0x3fffd => 2,
        _ => 1,
    }
}

/// Display columns of a string.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// `s` cut to at most `w` columns, `…` marking a cut.
pub fn fit(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if used + cw > w - 1 {
            break;
        }
        used += cw;
        out.push(c);
    }
    out.push('…');
    out
}

/// `s` cut in the middle to at most `w` columns, keeping both ends (a flow's ports).
fn fit_middle(s: &str, w: usize) -> String {
    if width(s) <= w || w < 9 {
        return fit(s, w);
    }
    let keep = w - 1;
    let tail_w = keep / 2;
    let mut tail = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        if used + char_width(c) > tail_w {
            break;
        }
        used += char_width(c);
        tail.push(c);
    }
    let head = fit(s, keep - used + 1);
    let head = head.strip_suffix('…').unwrap_or(&head);
    let mut out = head.to_string();
    out.push('…');
    out.extend(tail.iter().rev());
    out
}

/// `s` padded with spaces to `w` columns.
fn pad(s: &str, w: usize) -> String {
    let n = width(s);
    if n >= w {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(w - n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::report::{KernelStats, Rule};
    use crate::bpf::Flow;
    use crate::top::TopConfig;

    fn key(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, proto: u8) -> FlowKey {
        FlowKey::ipv4(src, sport, dst, dport, proto)
    }

    /// 82 s and 83 s into a capture: 2 rules, 64 flows in a table of 64 that evicted some.
    /// The largest flow by bytes (a download) is not the largest by packets (DNS).
    fn samples(capturing: bool) -> (Sample, Sample) {
        let mut flows = vec![
            Flow {
                key: key([192, 168, 1, 20], 51234, [151, 101, 1, 69], 443, 6),
                packets: 90_000,
                bytes: 120_000_000,
            },
            Flow {
                key: key([192, 168, 1, 20], 40000, [192, 168, 1, 1], 53, 17),
                packets: 250_000,
                bytes: 20_000_000,
            },
            Flow {
                key: key([192, 168, 1, 20], 0, [8, 8, 8, 8], 0, 1),
                packets: 1_000,
                bytes: 98_000,
            },
        ];
        for i in 0..61u16 {
            flows.push(Flow {
                key: key(
                    [10, 0, (i / 200) as u8, (i % 200) as u8],
                    30000 + i,
                    [10, 9, 9, 9],
                    22,
                    6,
                ),
                packets: 10 + u64::from(i),
                bytes: 5_000 + u64::from(i) * 100,
            });
        }
        let mut now = Sample {
            elapsed: Duration::from_secs(83),
            flows,
            table_entries: 64,
            flow_capacity: 64,
            kernel: capturing.then_some(KernelStats {
                received: 400_000,
                dropped: 1_234,
            }),
            ..Default::default()
        };
        let c = &mut now.counts;
        c.seen = Totals {
            packets: 1_234_567,
            bytes: 987_654_321,
            segments: 1_300_000,
        };
        c.matched = Totals {
            packets: 400_000,
            bytes: 150_000_000,
            segments: 410_000,
        };
        c.l3 = [1_000_000, 200_000, 30_000, 4_000, 567];
        c.l4 = [900_000, 250_000, 50_000, 20_000, 0, 14_567];
        c.matched_l3 = [380_000, 20_000, 0, 0, 0];
        c.matched_l4 = [140_000, 250_000, 10_000, 0, 0, 0];
        c.rules = vec![(90_000, 120_000_000), (250_000, 20_000_000)];
        c.flow_inserts = 500;
        c.flow_failures = 7;
        let mut prev = now.clone();
        prev.elapsed = Duration::from_secs(82);
        let c = &mut prev.counts;
        c.seen = Totals {
            packets: 1_222_222,
            bytes: 975_000_000,
            segments: 1_287_000,
        };
        c.matched = Totals {
            packets: 396_000,
            bytes: 148_500_000,
            segments: 405_000,
        };
        c.rules = vec![(89_000, 118_700_000), (247_000, 19_760_000)];
        c.l3 = [989_600, 198_000, 29_990, 4_000, 567];
        c.l4 = [891_000, 247_000, 49_990, 19_000, 0, 14_500];
        c.matched_l3 = [376_000, 20_000, 0, 0, 0];
        c.matched_l4 = [139_000, 247_000, 10_000, 0, 0, 0];
        prev.flows[0].packets -= 1_000;
        prev.flows[0].bytes -= 1_300_000;
        prev.flows[1].packets -= 3_000;
        prev.flows[1].bytes -= 240_000;
        c.flow_inserts = 488;
        c.flow_failures = 7;
        if let Some(k) = &mut prev.kernel {
            k.received = 396_000;
            k.dropped = 1_200;
        }
        (prev, now)
    }

    fn state(capturing: bool, rules: usize) -> State {
        let all = [
            ("https", "tcp port 443"),
            ("dns", "udp port 53"),
            ("ssh", "tcp port 22"),
            ("icmp", "icmp or icmp6"),
            ("big", "greater 1000"),
        ];
        let mut st = State::new(&TopConfig {
            interface: "eth0".into(),
            filter: "tcp or udp or icmp".into(),
            rules: all[..rules]
                .iter()
                .map(|(n, e)| Rule {
                    name: (*n).into(),
                    expr: (*e).into(),
                })
                .collect(),
            numeric: true,
            capturing,
            refresh: Duration::from_secs(1),
        });
        let (prev, now) = samples(capturing);
        // 40 seconds of history before the two samples: a wave with a burst every 13 s.
        let rate = |t: u64| {
            let seen =
                9000.0 + 3000.0 * (t as f64 / 4.0).sin() + if t % 13 == 0 { 4000.0 } else { 0.0 };
            (seen as u64, (seen / 3.0) as u64)
        };
        let (mut seen, mut matched) = (prev.counts.seen.packets, prev.counts.matched.packets);
        let mut before = Vec::new();
        for t in (42..82).rev() {
            let (s, m) = rate(t);
            seen -= s;
            matched -= m;
            let mut x = prev.clone();
            x.elapsed = Duration::from_secs(t);
            x.counts.seen.packets = seen;
            x.counts.matched.packets = matched;
            before.push(x);
        }
        for x in before.into_iter().rev() {
            st.push(x);
        }
        st.push(prev);
        st.push(now);
        st
    }

    fn render(st: &State, w: usize, h: usize) -> Vec<String> {
        frame(st, &mut Namer::new(true), w, h)
    }

    fn assert_fits(lines: &[String], w: usize, h: usize) {
        assert_eq!(lines.len(), h, "{w}x{h}");
        for l in lines {
            assert!(width(l) <= w, "{w}x{h}: {} columns: {l:?}", width(l));
        }
    }

    fn has(lines: &[String], s: &str) -> bool {
        lines.iter().any(|l| l.contains(s))
    }

    /// The flow names in the order shown.
    fn flow_order(lines: &[String]) -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.starts_with("tcp ") || l.starts_with("udp ") || l.starts_with("icmp "))
            .map(|l| l.split("  ").next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn frame_80x24_capturing() {
        let st = state(true, 2);
        let f = render(&st, 80, 24);
        println!("{}", f.join("\n"));
        assert_fits(&f, 80, 24);
        assert!(f[0].starts_with("bpfdump --top  eth0  filter: tcp or udp or icmp"));
        assert!(f[0].ends_with("up 0:01:23  refresh 1s"));
        assert!(f[23].starts_with("q quit  b/p/s order: bytes"));
        // Rates over the last second and totals.
        assert!(has(&f, "1234567") && has(&f, "987654321") && has(&f, "1300000"));
        assert!(
            has(&f, "12.3 k") && has(&f, "101 M"),
            "seen 12345 pps, 101 Mbit/s"
        );
        assert!(
            has(&f, "4.00 k") && has(&f, "12.0 M"),
            "matched 4000 pps, 12 Mbit/s"
        );
        assert!(has(
            &f,
            "received 400000 (4.00 k/s)  dropped 1234 (0.31%, 34/s)"
        ));
        assert!(
            f.iter().any(|l| l.starts_with("! kernel")),
            "drops in the last second"
        );
        // Classes, rules, flows.
        assert!(has(&f, "ipv4") && has(&f, "icmp6") && has(&f, "1.00 M"));
        assert!(has(&f, "https  tcp port 443") && has(&f, "dns    udp port 53"));
        assert!(has(&f, "top flows by bytes, 64 flows, table full"));
        assert!(has(
            &f,
            "! table full: 12 flows evicted in the last second, counts partial (--flows)"
        ));
        assert!(has(&f, "tcp 192.168.1.20.51234 > 151.101.1.69.443"));
        assert!(has(&f, "80.0%"), "120 MB of 150 MB matched");
        assert!(has(&f, "seen pps") && has(&f, "█"));
        assert!(
            flow_order(&f).len() >= 3,
            "at least three flows fit: {f:#?}"
        );
    }

    #[test]
    fn frame_80x24_without_capture_shows_no_kernel_line() {
        let st = state(false, 2);
        let f = render(&st, 80, 24);
        assert_fits(&f, 80, 24);
        assert!(!has(&f, "received"));
        assert!(!has(&f, "kernel"));
    }

    #[test]
    fn frame_120x40_has_rates_everywhere() {
        let st = state(true, 5);
        let f = render(&st, 120, 40);
        println!("{}", f.join("\n"));
        assert_fits(&f, 120, 40);
        for r in ["https", "dns", "ssh", "icmp or icmp6", "greater 1000"] {
            assert!(has(&f, r), "rule {r}");
        }
        let https = f.iter().find(|l| l.starts_with("https")).unwrap();
        assert!(
            https.contains("1.00 k") && https.contains("10.4 M"),
            "1000 pps, 1.3 MB/s: {https}"
        );
        let top = f
            .iter()
            .find(|l| l.starts_with("tcp 192.168.1.20.51234"))
            .unwrap();
        assert!(
            top.contains("1.00 k") && top.contains("10.4 M"),
            "the flow's rates: {top}"
        );
        assert!(has(&f, "10.4 k/s"), "ipv4 class rate is shown");
        assert!(has(&f, "packets/s") && has(&f, "bits/s"));
        assert!(has(&f, "matched pps"));
        assert!(flow_order(&f).len() >= 10);
        assert!(
            f.iter().any(String::is_empty),
            "tall: blank lines between sections"
        );
    }

    #[test]
    fn the_order_key_changes_the_flow_order() {
        let mut st = state(false, 2);
        let f = render(&st, 80, 24);
        let by_bytes = flow_order(&f);
        assert!(
            by_bytes[0].starts_with("tcp 192.168.1.20.51234"),
            "{by_bytes:?}"
        );
        assert_eq!(
            st.key(crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char('p'),
                crossterm::event::KeyModifiers::NONE
            )),
            super::super::state::Action::Redraw
        );
        let f = render(&st, 80, 24);
        let by_packets = flow_order(&f);
        assert!(
            by_packets[0].starts_with("udp 192.168.1.20.40000"),
            "{by_packets:?}"
        );
        assert!(has(&f, "top flows by packets"));
        assert!(has(&f, "62.5%"), "250000 of 400000 packets");
        assert!(f[23].contains("order: packets"));
        assert_ne!(by_bytes, by_packets);
    }

    #[test]
    fn every_size_fits() {
        let heights = [0, 1, 2, 3, 5, 8, 12, 17, 20, 24, 31, 40];
        let widths = [0, 1, 10, 40, 65, 79, 80, 81, 99, 100, 113, 114, 120, 200];
        for capturing in [false, true] {
            let st = state(capturing, 5);
            for w in 0..=140 {
                for h in heights {
                    assert_fits(&render(&st, w, h), w, h);
                }
            }
            for h in 0..=45 {
                for w in widths {
                    assert_fits(&render(&st, w, h), w, h);
                }
            }
        }
    }

    #[test]
    fn before_the_first_sample_and_with_one() {
        let mut st = state(false, 1);
        st.now = None;
        st.prev = None;
        st.history.clear();
        let f = render(&st, 80, 24);
        assert_fits(&f, 80, 24);
        assert!(has(&f, "waiting for the first counters"));
        let (_, now) = samples(false);
        st.push(now);
        let f = render(&st, 80, 24);
        assert_fits(&f, 80, 24);
        assert!(!has(&f, "evicted"), "no interval yet, so no churn figure");
        assert!(f[2].contains(" - "), "no rates yet: {:?}", f[2]);
    }

    #[test]
    fn no_flow_table_and_empty_table() {
        let mut st = state(false, 0);
        let mut now = st.now.clone().unwrap();
        now.flow_capacity = 0;
        now.flows.clear();
        now.table_entries = 0;
        st.now = Some(now.clone());
        let f = render(&st, 80, 24);
        assert!(has(&f, "no flow table"));
        now.flow_capacity = 8192;
        st.now = Some(now);
        st.prev = None;
        let f = render(&st, 80, 24);
        assert!(has(&f, "0 flows") && !has(&f, "full") && has(&f, "no matched flows yet"));
    }

    #[test]
    fn long_ipv6_flows_are_cut_in_the_middle_keeping_the_port() {
        let mut st = state(false, 0);
        let mut now = st.now.clone().unwrap();
        let mut k = now.flows[0].key;
        k.ethertype = 0x86dd;
        k.src = "2001:db8:1234:5678:9abc:def0:1234:5678"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        k.dst = "2001:db8:ffff:eeee:dddd:cccc:bbbb:aaaa"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        now.flows[0].key = k;
        st.now = Some(now);
        let f = render(&st, 80, 24);
        assert_fits(&f, 80, 24);
        let l = f
            .iter()
            .find(|l| l.starts_with("tcp 2001:db8:1234"))
            .expect("the v6 flow");
        assert!(l.contains('…') && l.contains("aaaa.443"), "{l}");
    }

    #[test]
    fn hostile_text_is_defused() {
        let mut st = state(false, 0);
        st.filter = "tcp\nand\x1b[2J port 80 \u{202e}".into();
        st.interface = "日本語日本語".into();
        let f = render(&st, 40, 10);
        assert_fits(&f, 40, 10);
        assert!(f.iter().all(|l| !l.chars().any(|c| c.is_control())));
        assert!(f[0].contains("日本語"), "{}", f[0]);
    }

    #[test]
    fn ascii_terminals_get_ascii() {
        let mut st = state(true, 2);
        st.unicode = false;
        let f = render(&st, 80, 24);
        assert_fits(&f, 80, 24);
        assert!(f.iter().all(|l| l.is_ascii()));
        assert!(has(&f, "@"), "the tallest bar");
    }

    #[test]
    fn bars_and_cuts() {
        assert_eq!(bar(0.0, 10.0), ' ');
        assert_eq!(bar(0.01, 10.0), '▁');
        assert_eq!(bar(5.0, 10.0), '▄');
        assert_eq!(bar(10.0, 10.0), '█');
        assert_eq!(bar(20.0, 10.0), '█');
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("日本語", 4), "日…");
        assert_eq!(width(&fit("日本語", 4)), 3);
        assert_eq!(
            fit_middle("tcp 1.2.3.4.5 > 6.7.8.9.443", 15),
            "tcp 1.2…8.9.443"
        );
        assert_eq!(num(123, 5), "123");
        assert_eq!(num(123_456_789, 5), "123 M");
        assert_eq!(hms(Duration::from_secs(83)), "0:01:23");
        assert_eq!(hms(Duration::from_secs(90061)), "1d 01:01:01");
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(duration(Duration::from_millis(2500)), "2.5s");
    }
}
