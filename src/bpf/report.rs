//! The counters as people and programs read them: a text block (at the end of a capture or
//! of `--count`), one line per interval, and JSON objects (`--json`; field names documented in
//! docs/ebpf.md and kept stable). Also how a flow is named, for these and for `--top`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use filter_compiler::ebpf::layout::{FlowKey, L3_CLASSES, L4_CLASSES};
use serde_json::{json, Map, Value};

use super::{Counts, Flow, Totals};
use crate::print::names::Names;

/// The socket's own counters (PACKET_STATISTICS), when packets are captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the filter accepted (tcpdump's "received by filter").
    pub received: u64,
    /// Accepted packets the ring had no room for.
    pub dropped: u64,
}

/// The counters at one moment.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Since counting started.
    pub elapsed: Duration,
    pub counts: Counts,
    /// Every flow known, in no order (`bpf::Flows`).
    pub flows: Vec<Flow>,
    /// Entries of the LRU table, of `flow_capacity`.
    pub table_entries: usize,
    pub flow_capacity: u32,
    pub kernel: Option<KernelStats>,
}

/// A rule as the user gave it.
#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub expr: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Bytes,
    Packets,
}

impl By {
    pub fn name(self) -> &'static str {
        match self {
            By::Bytes => "bytes",
            By::Packets => "packets",
        }
    }
}

/// The `n` largest flows, largest first (ties: by the other measure, then by key, so the
/// order is stable from one refresh to the next).
pub fn top_flows(flows: &[Flow], by: By, n: usize) -> Vec<Flow> {
    let mut v = flows.to_vec();
    let measure = |f: &Flow| match by {
        By::Bytes => (f.bytes, f.packets),
        By::Packets => (f.packets, f.bytes),
    };
    v.sort_by(|a, b| measure(b).cmp(&measure(a)).then(a.key.cmp(&b.key)));
    v.truncate(n);
    v
}

/// Flows the table dropped to make room between two samples: what went in minus what the
/// table grew by. Non-zero means the table is churning and flow counts are partial.
pub fn evicted(prev: &Sample, now: &Sample) -> u64 {
    let inserted = now
        .counts
        .flow_inserts
        .saturating_sub(prev.counts.flow_inserts);
    let grew = now.table_entries.saturating_sub(prev.table_entries) as u64;
    let shrank = prev.table_entries.saturating_sub(now.table_entries) as u64;
    (inserted + shrank).saturating_sub(grew)
}

/// Flows the table dropped to make room since the start: every insertion is of a flow not in
/// the table, so what went in beyond what is there was evicted.
pub fn evicted_total(s: &Sample) -> u64 {
    s.counts.flow_inserts.saturating_sub(s.table_entries as u64)
}

/// The protocol word of a flow, as tcpdump names it.
pub fn proto_name(k: &FlowKey) -> String {
    match (k.ethertype, k.proto) {
        (0x0800 | 0x86dd, 6) => "tcp".into(),
        (0x0800 | 0x86dd, 17) => "udp".into(),
        (0x0800, 1) => "icmp".into(),
        (0x86dd, 58) => "icmp6".into(),
        (0x0800 | 0x86dd, 132) => "sctp".into(),
        (0x0800 | 0x86dd, p) => format!("proto {p}"),
        (0x0806, _) => "arp".into(),
        (0x8035, _) => "rarp".into(),
        (t, _) => format!("ethertype {t:#06x}"),
    }
}

fn has_ports(k: &FlowKey) -> bool {
    matches!(k.ethertype, 0x0800 | 0x86dd) && matches!(k.proto, 6 | 17 | 132)
}

fn is_icmp(k: &FlowKey) -> bool {
    matches!((k.ethertype, k.proto), (0x0800, 1) | (0x86dd, 58))
}

/// The addresses of an IP flow, numeric.
pub fn addresses(k: &FlowKey) -> Option<(String, String)> {
    match k.ethertype {
        0x0800 => {
            let a = |b: &[u8; 16]| Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string();
            Some((a(&k.src), a(&k.dst)))
        }
        0x86dd => Some((
            Ipv6Addr::from(k.src).to_string(),
            Ipv6Addr::from(k.dst).to_string(),
        )),
        _ => None,
    }
}

/// How flows are named: hosts by name unless -n (looked up once each, as the printer does).
pub struct Namer {
    names: Option<Names>,
}

impl Namer {
    pub fn new(numeric: bool) -> Namer {
        Namer {
            names: (!numeric).then(Names::default),
        }
    }

    fn host(&mut self, k: &FlowKey, src: bool, numeric: String) -> String {
        let Some(n) = &mut self.names else {
            return numeric;
        };
        let a = if src { &k.src } else { &k.dst };
        let bytes: &[u8] = if k.ethertype == 0x0800 {
            &a[..4]
        } else {
            &a[..]
        };
        n.host(bytes).map_or(numeric, str::to_string)
    }

    /// `tcp 10.0.0.1.51234 > 10.0.0.2.443`, `icmp 10.0.0.1 > 10.0.0.2 type 8 code 0`, `arp`:
    /// tcpdump's way of writing an endpoint (address, dot, port).
    pub fn describe(&mut self, k: &FlowKey) -> String {
        let proto = proto_name(k);
        let Some((s, d)) = addresses(k) else {
            return proto;
        };
        let s = self.host(k, true, s);
        let d = self.host(k, false, d);
        if has_ports(k) {
            format!("{proto} {s}.{} > {d}.{}", k.sport, k.dport)
        } else if is_icmp(k) {
            format!("{proto} {s} > {d} type {} code {}", k.sport, k.dport)
        } else {
            format!("{proto} {s} > {d}")
        }
    }
}

fn totals_json(t: &Totals) -> Value {
    json!({"packets": t.packets, "bytes": t.bytes, "segments": t.segments})
}

fn classes_json(names: &[&str], v: &[u64]) -> Value {
    let mut m = Map::new();
    for (n, x) in names.iter().zip(v) {
        m.insert((*n).to_string(), json!(x));
    }
    Value::Object(m)
}

/// A flow in JSON: numeric addresses, ports or ICMP type and code.
pub fn flow_json(f: &Flow) -> Value {
    let k = &f.key;
    let mut m = Map::new();
    m.insert("proto".into(), json!(proto_name(k)));
    if let Some((s, d)) = addresses(k) {
        m.insert("src".into(), json!(s));
        m.insert("dst".into(), json!(d));
    } else {
        m.insert("ethertype".into(), json!(k.ethertype));
    }
    if has_ports(k) {
        m.insert("sport".into(), json!(k.sport));
        m.insert("dport".into(), json!(k.dport));
    } else if is_icmp(k) {
        m.insert("type".into(), json!(k.sport));
        m.insert("code".into(), json!(k.dport));
    }
    m.insert("packets".into(), json!(f.packets));
    m.insert("bytes".into(), json!(f.bytes));
    Value::Object(m)
}

/// One JSON object (one line): the totals so far. `final_`: the last line of the run.
pub fn json_line(
    s: &Sample,
    prev: Option<&Sample>,
    rules: &[Rule],
    top: usize,
    final_: bool,
) -> String {
    let c = &s.counts;
    let mut m = Map::new();
    m.insert("elapsed".into(), json!(s.elapsed.as_secs_f64()));
    m.insert("final".into(), json!(final_));
    m.insert("seen".into(), totals_json(&c.seen));
    m.insert("matched".into(), totals_json(&c.matched));
    m.insert("l3".into(), classes_json(&L3_CLASSES, &c.l3));
    m.insert("l4".into(), classes_json(&L4_CLASSES, &c.l4));
    m.insert(
        "matched_l3".into(),
        classes_json(&L3_CLASSES, &c.matched_l3),
    );
    m.insert(
        "matched_l4".into(),
        classes_json(&L4_CLASSES, &c.matched_l4),
    );
    let rules: Vec<Value> = rules
        .iter()
        .zip(&c.rules)
        .map(|(r, (p, b))| json!({"name": r.name, "filter": r.expr, "packets": p, "bytes": b}))
        .collect();
    m.insert("rules".into(), Value::Array(rules));
    if s.flow_capacity > 0 {
        let mut fl = Map::new();
        fl.insert("known".into(), json!(s.flows.len()));
        fl.insert("entries".into(), json!(s.table_entries));
        fl.insert("capacity".into(), json!(s.flow_capacity));
        fl.insert("inserted".into(), json!(c.flow_inserts));
        fl.insert("failed".into(), json!(c.flow_failures));
        if let Some(p) = prev {
            fl.insert("evicted".into(), json!(evicted(p, s)));
        }
        m.insert("flows".into(), Value::Object(fl));
        let t: Vec<Value> = top_flows(&s.flows, By::Bytes, top)
            .iter()
            .map(flow_json)
            .collect();
        m.insert("top".into(), Value::Array(t));
    }
    if let Some(k) = &s.kernel {
        m.insert(
            "kernel".into(),
            json!({"received": k.received, "dropped": k.dropped}),
        );
    }
    Value::Object(m).to_string()
}

pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn classes_text(names: &[&str], v: &[u64]) -> String {
    names
        .iter()
        .zip(v)
        .map(|(n, x)| format!("{n} {x}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The counters as a block of text lines (each ends with a newline).
pub fn text_block(s: &Sample, rules: &[Rule], top: usize, namer: &mut Namer) -> String {
    let c = &s.counts;
    let mut out = String::new();
    let line = |t: &Totals| {
        format!(
            "{}, {}, {}",
            plural(t.packets, "packet"),
            plural(t.bytes, "byte"),
            plural(t.segments, "segment")
        )
    };
    out += &format!(
        "eBPF counters after {:.1} s (in the kernel):\n",
        s.elapsed.as_secs_f64()
    );
    out += &format!("  seen:    {}\n", line(&c.seen));
    out += &format!("  matched: {}\n", line(&c.matched));
    out += &format!(
        "  seen by link layer: {}\n",
        classes_text(&L3_CLASSES, &c.l3)
    );
    out += &format!(
        "  seen by transport:  {}\n",
        classes_text(&L4_CLASSES, &c.l4)
    );
    for (r, (p, b)) in rules.iter().zip(&c.rules) {
        out += &format!(
            "  rule {} ({}): {}, {}\n",
            r.name,
            r.expr,
            plural(*p, "packet"),
            plural(*b, "byte")
        );
    }
    if s.flow_capacity > 0 {
        let t = top_flows(&s.flows, By::Bytes, top);
        out += &format!(
            "  top flows by bytes ({} of {}):\n",
            t.len(),
            plural(s.flows.len() as u64, "flow"),
        );
        for f in &t {
            out += &format!(
                "    {}: {}, {}\n",
                namer.describe(&f.key),
                plural(f.packets, "packet"),
                plural(f.bytes, "byte")
            );
        }
        let gone = evicted_total(s);
        if gone > 0 {
            out += &format!(
                "  the flow table ({} entries) dropped {} older flows to make room: flow counts \
                 are partial (--flows sets its size)\n",
                s.flow_capacity, gone
            );
        }
    }
    out
}

/// How fast a counter went from `prev` to `now` in `dt`, per second.
pub fn per_second(prev: u64, now: u64, dt: Duration) -> f64 {
    now.saturating_sub(prev) as f64 / dt.as_secs_f64().max(1e-9)
}

/// Packets per second and bits per second between two (packets, bytes) counts.
pub fn rates(prev: (u64, u64), now: (u64, u64), dt: Duration) -> (f64, f64) {
    (
        per_second(prev.0, now.0, dt),
        per_second(prev.1, now.1, dt) * 8.0,
    )
}

/// `1.23 M`, `456 k`, `12`: a rate or count in three significant figures.
pub fn si(x: f64) -> String {
    let (v, unit) = if x >= 1e9 {
        (x / 1e9, " G")
    } else if x >= 1e6 {
        (x / 1e6, " M")
    } else if x >= 1e3 {
        (x / 1e3, " k")
    } else {
        return format!("{x:.0}");
    };
    if v >= 100.0 {
        format!("{v:.0}{unit}")
    } else if v >= 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.2}{unit}")
    }
}

/// One line per `--interval`: rates since the last line, totals so far.
pub fn interval_line(prev: &Sample, now: &Sample, rules: &[Rule]) -> String {
    let dt = now.elapsed.saturating_sub(prev.elapsed);
    let (sp, sb) = rates(prev.counts.seen.pair(), now.counts.seen.pair(), dt);
    let (mp, mb) = rates(prev.counts.matched.pair(), now.counts.matched.pair(), dt);
    let mut s = format!(
        "{:>7.1}s seen {}pps {}bps matched {}pps {}bps (total seen {} matched {})",
        now.elapsed.as_secs_f64(),
        si(sp),
        si(sb),
        si(mp),
        si(mb),
        now.counts.seen.packets,
        now.counts.matched.packets
    );
    for (i, r) in rules.iter().enumerate() {
        let packets = |c: &Counts| c.rules.get(i).map_or(0, |r| r.0);
        let pps = per_second(packets(&prev.counts), packets(&now.counts), dt);
        s += &format!(" {} {}pps", r.name, si(pps));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(proto: u8, sport: u16, dport: u16) -> FlowKey {
        FlowKey::ipv4([10, 0, 0, 1], sport, [10, 0, 0, 2], dport, proto)
    }

    #[test]
    fn flows_are_named_as_tcpdump_writes_endpoints() {
        let mut n = Namer::new(true);
        assert_eq!(
            n.describe(&key(6, 51234, 443)),
            "tcp 10.0.0.1.51234 > 10.0.0.2.443"
        );
        assert_eq!(
            n.describe(&key(1, 8, 0)),
            "icmp 10.0.0.1 > 10.0.0.2 type 8 code 0"
        );
        let arp = FlowKey {
            ethertype: 0x0806,
            ..key(0, 0, 0)
        };
        assert_eq!(n.describe(&arp), "arp");
    }

    #[test]
    fn top_flows_order_is_stable() {
        let f = |p: u16, packets, bytes| Flow {
            key: key(6, p, 80),
            packets,
            bytes,
        };
        let v = vec![f(1, 10, 100), f(2, 5, 500), f(3, 10, 100), f(4, 1, 50)];
        let t = top_flows(&v, By::Bytes, 3);
        assert_eq!(t.iter().map(|f| f.key.sport).collect::<Vec<_>>(), [2, 1, 3]);
        let t = top_flows(&v, By::Packets, 2);
        assert_eq!(t.iter().map(|f| f.key.sport).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn json_has_the_documented_fields() {
        let mut s = Sample {
            flow_capacity: 16,
            ..Default::default()
        };
        s.counts.seen.packets = 3;
        s.counts.l4[0] = 2;
        s.counts.rules = vec![(1, 60)];
        s.flows = vec![Flow {
            key: key(17, 5353, 53),
            packets: 1,
            bytes: 60,
        }];
        let rules = [Rule {
            name: "dns".into(),
            expr: "port 53".into(),
        }];
        let line = json_line(&s, None, &rules, 10, true);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["seen"]["packets"], 3);
        assert_eq!(v["l4"]["tcp"], 2);
        assert_eq!(v["l3"]["ipv4"], 0);
        assert_eq!(v["rules"][0]["name"], "dns");
        assert_eq!(v["top"][0]["dport"], 53);
        assert_eq!(v["final"], true);
        assert!(!line.contains('\n'));
    }

    #[test]
    fn churn_is_what_went_in_beyond_growth() {
        let mut a = Sample::default();
        let mut b = Sample::default();
        a.counts.flow_inserts = 10;
        a.table_entries = 10;
        b.counts.flow_inserts = 25;
        b.table_entries = 16;
        // Flows only in the per-CPU caches do not count: only the table evicts.
        b.flows = vec![
            Flow {
                key: key(6, 1, 1),
                packets: 1,
                bytes: 1
            };
            40
        ];
        assert_eq!(evicted(&a, &b), 9);
        assert_eq!(evicted_total(&b), 9);
    }

    #[test]
    fn si_units() {
        assert_eq!(si(12.0), "12");
        assert_eq!(si(1234.0), "1.23 k");
        assert_eq!(si(45_600_000.0), "45.6 M");
    }
}
