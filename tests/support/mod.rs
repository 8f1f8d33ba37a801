//! Shared helpers for the corpus-driven integration tests (differential.rs, kernel_accept.rs,
//! kernel_view.rs): corpus files, a small pcap reader, a resolver backed by the /etc files, a
//! tcpdump runner, panic capture and a tiny parallel map. `lab`: the live-capture lab
//! (network namespaces, traffic, capture programs) for live.rs.
#![allow(dead_code)]

pub mod lab;

use filter_compiler::error::KernelView;
use filter_compiler::interp::{self, Meta};
use filter_compiler::resolve::ServiceProto;
use filter_compiler::{Error, ErrorKind, Insn, LinkType, Options, Program, Resolver, Target};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, OnceLock};

pub const SNAPLEN: u32 = 262_144;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn corpus_dir() -> PathBuf {
    repo_root().join("tests").join("corpus")
}

pub fn captures_dir() -> PathBuf {
    repo_root().join("captures")
}

// ------------------------------------------------------------------------------------ corpora

/// A corpus of valid expressions and the capture it is checked against.
#[derive(Clone, Copy, Debug)]
pub struct Suite {
    pub corpus: &'static str,
    pub capture: &'static str,
    pub linktype: LinkType,
}

pub const SUITES: [Suite; 4] = [
    Suite {
        corpus: "ethernet.txt",
        capture: "sample.pcap",
        linktype: LinkType::En10mb,
    },
    Suite {
        corpus: "sll.txt",
        capture: "sll.pcap",
        linktype: LinkType::LinuxSll,
    },
    Suite {
        corpus: "sll2.txt",
        capture: "sll2.pcap",
        linktype: LinkType::LinuxSll2,
    },
    Suite {
        corpus: "raw.txt",
        capture: "raw.pcap",
        linktype: LinkType::Raw,
    },
];

/// The corpus of expressions tcpdump rejects (for Ethernet, offline).
pub const ERRORS: &str = "errors.txt";

#[derive(Clone, Debug)]
pub struct Entry {
    /// Corpus file name, e.g. "ethernet.txt".
    pub file: &'static str,
    /// 1-based line number.
    pub line: usize,
    pub expr: String,
    /// errors.txt: the text after the first TAB (exit status, note, tcpdump's message).
    pub note: String,
}

impl Entry {
    pub fn origin(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// Reads a corpus file: one expression per line; blank lines and lines whose first
/// non-blank character is '#' are skipped. In errors.txt the expression ends at the first TAB.
pub fn load_corpus(file: &'static str) -> Vec<Entry> {
    let path = corpus_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", path.display()));
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let (expr, note) = match raw.split_once('\t') {
            Some((e, n)) if file == ERRORS => (e.to_string(), n.to_string()),
            _ => (raw.to_string(), String::new()),
        };
        out.push(Entry {
            file,
            line: i + 1,
            expr,
            note,
        });
    }
    assert!(!out.is_empty(), "corpus {} is empty", path.display());
    out
}

/// Whether an expression reads link-layer header bytes directly (`ether[..]`, `link[..]` and
/// the other link-layer aliases), which a cooked kernel socket does not have.
pub fn touches_link_bytes(expr: &str) -> bool {
    const NAMES: [&str; 7] = ["ether", "link", "ppp", "slip", "fddi", "tr", "wlan"];
    let b = expr.as_bytes();
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'\\';
    for name in NAMES {
        let mut from = 0;
        while let Some(pos) = expr[from..].find(name) {
            let start = from + pos;
            let end = start + name.len();
            from = end;
            if start > 0 && is_word(b[start - 1]) {
                continue;
            }
            let rest = expr[end..].trim_start();
            if rest.starts_with('[') {
                return true;
            }
        }
    }
    false
}

/// Whether an expression uses `inbound`/`outbound` (packet direction).
pub fn uses_direction(expr: &str) -> bool {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '\\'))
        .any(|w| w == "inbound" || w == "outbound")
}

// ------------------------------------------------------------------------------------- pcap

#[derive(Clone, Debug)]
pub struct Packet {
    pub index: usize,
    pub ts_sec: u32,
    /// Microseconds (nanosecond files are truncated to microseconds, as tcpdump -tt prints).
    pub ts_usec: u32,
    pub data: Vec<u8>,
    /// Length on the wire.
    pub wirelen: u32,
}

#[derive(Clone, Debug)]
pub struct Capture {
    pub path: PathBuf,
    pub linktype: u32,
    pub packets: Vec<Packet>,
}

impl Capture {
    /// Timestamp (seconds, microseconds) to packet index. Panics if two packets share one:
    /// the differential test identifies packets by timestamp.
    pub fn index_by_timestamp(&self) -> HashMap<(u32, u32), usize> {
        let mut m = HashMap::new();
        for p in &self.packets {
            if let Some(prev) = m.insert((p.ts_sec, p.ts_usec), p.index) {
                panic!(
                    "{}: packets {} and {} share timestamp {}.{:06}",
                    self.path.display(),
                    prev,
                    p.index,
                    p.ts_sec,
                    p.ts_usec
                );
            }
        }
        m
    }
}

/// Reads a classic pcap file (microsecond or nanosecond, either byte order).
pub fn read_pcap(path: &Path) -> Result<Capture, String> {
    let d = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (linktype, packets) = parse_pcap(&d).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Capture {
        path: path.to_path_buf(),
        linktype,
        packets,
    })
}

/// The link type and packets of classic pcap bytes (a file, or what `tcpdump -w -` wrote).
pub fn parse_pcap(d: &[u8]) -> Result<(u32, Vec<Packet>), String> {
    if d.len() < 24 {
        return Err(format!("too short for a pcap header ({} bytes)", d.len()));
    }
    let magic_le = u32::from_le_bytes(d[0..4].try_into().unwrap());
    let (le, nsec) = match magic_le {
        0xa1b2_c3d4 => (true, false),
        0xa1b2_3c4d => (true, true),
        0xd4c3_b2a1 => (false, false),
        0x4d3c_b2a1 => (false, true),
        0x0a0d_0d0a => return Err("pcapng is not supported here".into()),
        m => return Err(format!("bad pcap magic {m:#010x}")),
    };
    let u32_at = |o: usize| -> u32 {
        let b: [u8; 4] = d[o..o + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let linktype = u32_at(20) & 0x0fff_ffff;
    let mut packets = Vec::new();
    let mut off = 24;
    while off < d.len() {
        if off + 16 > d.len() {
            return Err(format!("truncated record header at byte {off}"));
        }
        let ts_sec = u32_at(off);
        let frac = u32_at(off + 4);
        let caplen = u32_at(off + 8) as usize;
        let wirelen = u32_at(off + 12);
        off += 16;
        if off + caplen > d.len() {
            return Err(format!("truncated record data at byte {off}"));
        }
        let ts_usec = if nsec { frac / 1000 } else { frac };
        packets.push(Packet {
            index: packets.len(),
            ts_sec,
            ts_usec,
            data: d[off..off + caplen].to_vec(),
            wirelen,
        });
        off += caplen;
    }
    Ok((linktype, packets))
}

pub fn load_capture(name: &str) -> Capture {
    let path = captures_dir().join(name);
    read_pcap(&path).unwrap_or_else(|e| panic!("cannot read capture: {e}"))
}

// --------------------------------------------------------------------------------- resolver

#[derive(Default)]
struct Tables {
    /// (name and aliases, port, protocol), in file order.
    services: Vec<(Vec<String>, u16, String)>,
    protocols: Vec<(Vec<String>, u8)>,
    hosts4: Vec<(Vec<String>, [u8; 4])>,
    hosts6: Vec<(Vec<String>, [u8; 16])>,
    networks: Vec<(Vec<String>, u32)>,
    ethers: Vec<(String, [u8; 6])>,
}

/// A resolver reading /etc/services, /etc/protocols, /etc/hosts, /etc/networks and
/// /etc/ethers (no DNS), enough for the corpora. tcpdump consults the same files first.
pub struct SystemResolver {
    tables: OnceLock<Tables>,
}

pub static SYSTEM: SystemResolver = SystemResolver {
    tables: OnceLock::new(),
};

fn etc_lines(name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(Path::new("/etc").join(name)).unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect()
}

/// inet_network(3): dotted parts shifted in from the right ("127" is 0x7f, "10.1" is 0x0a01).
fn inet_network(s: &str) -> Option<u32> {
    let mut v: u32 = 0;
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    for p in parts {
        let n = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            u32::from_str_radix(h, 16).ok()?
        } else {
            p.parse::<u32>().ok()?
        };
        if n > 255 {
            return None;
        }
        v = (v << 8) | n;
    }
    Some(v)
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        m[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

impl SystemResolver {
    fn t(&self) -> &Tables {
        self.tables.get_or_init(|| {
            let mut t = Tables::default();
            for w in etc_lines("services") {
                if w.len() < 2 {
                    continue;
                }
                let Some((port, proto)) = w[1].split_once('/') else {
                    continue;
                };
                let Ok(port) = port.parse::<u16>() else {
                    continue;
                };
                let mut names = vec![w[0].clone()];
                names.extend(w[2..].iter().cloned());
                t.services.push((names, port, proto.to_string()));
            }
            for w in etc_lines("protocols") {
                if w.len() < 2 {
                    continue;
                }
                let Ok(n) = w[1].parse::<u8>() else { continue };
                let mut names = vec![w[0].clone()];
                names.extend(w[2..].iter().cloned());
                t.protocols.push((names, n));
            }
            for w in etc_lines("hosts") {
                if w.len() < 2 {
                    continue;
                }
                let names = w[1..].to_vec();
                if let Ok(a) = w[0].parse::<std::net::Ipv4Addr>() {
                    t.hosts4.push((names, a.octets()));
                } else if let Ok(a) = w[0].parse::<std::net::Ipv6Addr>() {
                    t.hosts6.push((names, a.octets()));
                }
            }
            for w in etc_lines("networks") {
                if w.len() < 2 {
                    continue;
                }
                let Some(n) = inet_network(&w[1]) else {
                    continue;
                };
                let mut names = vec![w[0].clone()];
                names.extend(w[2..].iter().cloned());
                t.networks.push((names, n));
            }
            for w in etc_lines("ethers") {
                if w.len() < 2 {
                    continue;
                }
                if let Some(m) = parse_mac(&w[0]) {
                    t.ethers.push((w[1].clone(), m));
                }
            }
            t
        })
    }
}

fn dedup<T: PartialEq>(v: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

impl Resolver for SystemResolver {
    fn host_v4(&self, name: &str) -> Vec<[u8; 4]> {
        let v = self
            .t()
            .hosts4
            .iter()
            .filter(|(n, _)| n.iter().any(|x| x.eq_ignore_ascii_case(name)));
        dedup(v.map(|(_, a)| *a).collect())
    }
    fn host_v6(&self, name: &str) -> Vec<[u8; 16]> {
        let v = self
            .t()
            .hosts6
            .iter()
            .filter(|(n, _)| n.iter().any(|x| x.eq_ignore_ascii_case(name)));
        dedup(v.map(|(_, a)| *a).collect())
    }
    fn service(&self, name: &str, proto: ServiceProto) -> Option<u16> {
        let p = match proto {
            ServiceProto::Tcp => "tcp",
            ServiceProto::Udp => "udp",
            ServiceProto::Sctp => "sctp",
        };
        self.t()
            .services
            .iter()
            .find(|(n, _, pr)| pr == p && n.iter().any(|x| x == name))
            .map(|(_, port, _)| *port)
    }
    fn protocol(&self, name: &str) -> Option<u8> {
        self.t()
            .protocols
            .iter()
            .find(|(n, _)| n.iter().any(|x| x == name))
            .map(|(_, p)| *p)
    }
    fn ether_host(&self, name: &str) -> Option<[u8; 6]> {
        self.t()
            .ethers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, m)| *m)
    }
    fn network(&self, name: &str) -> Option<u32> {
        self.t()
            .networks
            .iter()
            .find(|(n, _)| n.iter().any(|x| x == name))
            .map(|(_, v)| *v)
    }
}

// ------------------------------------------------------------------------ panic capture

static HOOK: Once = Once::new();
thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    HOOK.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(|q| q.get()) {
                let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
                    s.to_string()
                } else if let Some(s) = info.payload().downcast_ref::<String>() {
                    s.clone()
                } else {
                    "non-string panic payload".to_string()
                };
                let loc = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{loc}")));
            } else {
                prev(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into `Err(message with location)` without printing it.
pub fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    install_hook();
    let was = QUIET.with(|q| q.replace(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    r.map_err(|_| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panic".to_string())
    })
}

// ----------------------------------------------------------------------- compile and run

pub fn options(optimize: bool) -> Options<'static> {
    Options {
        optimize,
        snaplen: SNAPLEN,
        netmask: 0,
        resolver: &SYSTEM,
    }
}

/// What compiling one expression gave.
#[derive(Debug)]
pub enum Compiled {
    Ok(Program),
    Err(Error),
    Panic(String),
}

impl Compiled {
    pub fn describe_failure(&self) -> Option<String> {
        match self {
            Compiled::Ok(_) => None,
            Compiled::Err(e) => Some(format!("compile error: {e}")),
            Compiled::Panic(m) => Some(format!("compile PANICKED: {m}")),
        }
    }
}

pub fn compile(expr: &str, target: Target, optimize: bool) -> Compiled {
    match guarded(|| filter_compiler::compile(expr, &target, &options(optimize))) {
        Ok(Ok(p)) => Compiled::Ok(p),
        Ok(Err(e)) => Compiled::Err(e),
        Err(m) => Compiled::Panic(m),
    }
}

/// `check::check`, with a panic or a rejection turned into a message.
pub fn check(prog: &[Insn]) -> Result<(), String> {
    match guarded(|| filter_compiler::check::check(prog)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("check rejects the program: {e}")),
        Err(m) => Err(format!("check PANICKED: {m}")),
    }
}

/// Runs `prog` over every packet (`view` maps a packet to the bytes, wire length and metadata
/// the program sees, or None to skip it) and returns the indices of the packets it keeps.
pub fn kept_by<'p, F>(
    prog: &[Insn],
    packets: &'p [Packet],
    view: F,
) -> Result<BTreeSet<usize>, String>
where
    F: Fn(&'p Packet) -> Option<(Cow<'p, [u8]>, u32, Meta)>,
{
    let mut kept = BTreeSet::new();
    for p in packets {
        let Some((bytes, wirelen, meta)) = view(p) else {
            continue;
        };
        let r = guarded(|| interp::run(prog, &bytes, wirelen, &meta))
            .map_err(|m| format!("interp PANICKED on packet {}: {m}", p.index))?;
        if r != 0 {
            kept.insert(p.index);
        }
    }
    Ok(kept)
}

/// The packets `prog` keeps when run over the capture's own bytes.
pub fn kept_offline(prog: &[Insn], packets: &[Packet]) -> Result<BTreeSet<usize>, String> {
    kept_by(prog, packets, |p| {
        Some((Cow::Borrowed(&p.data[..]), p.wirelen, Meta::default()))
    })
}

/// "0-7, 12, 100-123" (or "none").
pub fn ranges(set: &BTreeSet<usize>) -> String {
    if set.is_empty() {
        return "none".to_string();
    }
    let mut out = String::new();
    let v: Vec<usize> = set.iter().copied().collect();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        if j == i {
            let _ = write!(out, "{}", v[i]);
        } else {
            let _ = write!(out, "{}-{}", v[i], v[j]);
        }
        i = j + 1;
    }
    out
}

// --------------------------------------------------------------------------------- tcpdump

/// tcpdump to use: $TCPDUMP if set, else the first `tcpdump` on $PATH (or in /usr/sbin,
/// /usr/bin, /sbin).
pub fn tcpdump() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TCPDUMP") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("tcpdump"))
        .find(|p| p.is_file())
}

/// Runs `tcpdump -tt -nn -r capture -- expr` and returns the indices of the packets it printed
/// (matched by their leading `sec.usec` timestamp), or tcpdump's complaint.
pub fn tcpdump_kept(
    tcpdump: &Path,
    capture: &Capture,
    by_ts: &HashMap<(u32, u32), usize>,
    expr: &str,
) -> Result<BTreeSet<usize>, String> {
    tcpdump_kept_with(tcpdump, &[], capture, by_ts, expr)
}

/// `tcpdump_kept` with extra options (e.g. `-O`, no optimizer).
pub fn tcpdump_kept_with(
    tcpdump: &Path,
    extra: &[&str],
    capture: &Capture,
    by_ts: &HashMap<(u32, u32), usize>,
    expr: &str,
) -> Result<BTreeSet<usize>, String> {
    let out = Command::new(tcpdump)
        .args(extra)
        .args(["-tt", "-nn", "-r"])
        .arg(&capture.path)
        .arg("--")
        .arg(expr)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", tcpdump.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rfind(|l| !l.starts_with("reading from file"))
            .unwrap_or("");
        return Err(format!("tcpdump failed ({}): {}", out.status, last.trim()));
    }
    let mut kept = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(ts) = line.split(' ').next() else {
            continue;
        };
        let Some((s, u)) = ts.split_once('.') else {
            continue;
        };
        if u.len() != 6 || !s.bytes().all(|c| c.is_ascii_digit()) || s.is_empty() {
            continue;
        }
        let (Ok(s), Ok(u)) = (s.parse::<u32>(), u.parse::<u32>()) else {
            continue;
        };
        match by_ts.get(&(s, u)) {
            Some(&i) => {
                kept.insert(i);
            }
            None => {
                return Err(format!(
                    "tcpdump printed a timestamp not in the capture: {line}"
                ))
            }
        }
    }
    Ok(kept)
}

/// tcpdump's own program for `expr` compiled against `capture` (`-ddd`), as instructions.
pub fn tcpdump_program(tcpdump: &Path, capture: &Path, expr: &str) -> Result<Vec<Insn>, String> {
    let out = Command::new(tcpdump)
        .args(["-ddd", "-r"])
        .arg(capture)
        .arg("--")
        .arg(expr)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", tcpdump.display()))?;
    if !out.status.success() {
        return Err(format!(
            "tcpdump -ddd failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let n: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("no count line")?;
    let mut prog = Vec::with_capacity(n);
    for l in lines {
        let f: Vec<u64> = l
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        if f.len() != 4 {
            return Err(format!("bad -ddd line: {l}"));
        }
        prog.push(Insn::new(f[0] as u16, f[1] as u8, f[2] as u8, f[3] as u32));
    }
    if prog.len() != n {
        return Err(format!("-ddd said {n} instructions, gave {}", prog.len()));
    }
    Ok(prog)
}

// ------------------------------------------------------------------------------ parallelism

/// Maps `f` over `items` on a few threads (at least 2), keeping the order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() {
                    break;
                }
                let r = f(&items[i]);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("worker died"))
        .collect()
}

/// Writes a full report next to the test binaries and returns its path (for failure messages).
pub fn write_report(name: &str, text: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(name);
    match std::fs::write(&path, text) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(could not write {}: {e})", path.display()),
    }
}

/// Compile errors that say the filter can never match anything (`ip proto 256`, or a
/// contradiction our optimizer proves where libpcap's does not: `less 10 and greater 100`).
/// tcpdump accepts these and keeps nothing; we refuse them on purpose.
pub fn proves_no_match(e: &Error) -> bool {
    matches!(
        e.kind,
        ErrorKind::RejectsAll | ErrorKind::ValueTooLarge { .. }
    )
}

/// Compile errors for data the kernel does not show a cooked (`any`) socket's filter: bytes of
/// the cooked header that have no ancillary load (the link-layer address).
pub fn not_in_kernel_view(e: &Error) -> bool {
    e.kind == ErrorKind::NotInKernelView(KernelView::CookedField)
}

// ------------------------------------------------------------------------ protochain chains

/// A header in a chain built by [`ip6_chain`] / [`ip4_chain`]: its protocol number and its
/// length in bytes (hop-by-hop, destination options, routing: a multiple of 8; fragment: 8;
/// AH: a multiple of 4, at least 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHeader {
    pub proto: u8,
    pub len: usize,
}

pub const HOP: u8 = 0;
pub const ROUTING: u8 = 43;
pub const FRAGMENT: u8 = 44;
pub const AH: u8 = 51;
pub const NO_NEXT: u8 = 59;
pub const DSTOPTS: u8 = 60;

pub fn hdr(proto: u8, len: usize) -> ChainHeader {
    ChainHeader { proto, len }
}

/// The headers' bytes, each with its next-header and length fields, `last` after them, then
/// `payload` bytes of 0x5a (a TCP or UDP header's worth by default).
fn chain_bytes(chain: &[ChainHeader], last: u8, payload: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, h) in chain.iter().enumerate() {
        let next = chain.get(i + 1).map_or(last, |n| n.proto);
        let len_field = match h.proto {
            AH => {
                assert!(h.len >= 12 && h.len % 4 == 0, "AH length {}", h.len);
                h.len / 4 - 2
            }
            FRAGMENT => {
                assert_eq!(h.len, 8, "fragment header length");
                0
            }
            _ => {
                assert!(h.len >= 8 && h.len % 8 == 0, "header length {}", h.len);
                h.len / 8 - 1
            }
        };
        out.extend([next, len_field as u8]);
        // The rest: options padding, SPI, sequence number, ICV. Zero, but for a marker byte
        // that tells the headers apart in a dump.
        out.extend(std::iter::repeat_n(0u8, h.len - 2));
        let end = out.len() - 1;
        out[end] = 0x80 | i as u8;
    }
    out.extend(std::iter::repeat_n(0x5au8, payload));
    out
}

/// Ethernet + IPv6 (2001:db8::1 -> 2001:db8::2) + `chain` + `last` + `payload` bytes.
pub fn ip6_chain(chain: &[ChainHeader], last: u8, payload: usize) -> Vec<u8> {
    let body = chain_bytes(chain, last, payload);
    let mut f = vec![
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x86, 0xdd,
    ];
    let first = chain.first().map_or(last, |h| h.proto);
    f.extend([0x60, 0, 0, 0]);
    f.extend((body.len() as u16).to_be_bytes());
    f.extend([first, 64]);
    f.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[1]));
    f.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[2]));
    f.extend(body);
    f
}

/// Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2, `options` 4-byte words of options) + `chain` +
/// `last` + `payload` bytes.
pub fn ip4_chain(options: usize, chain: &[ChainHeader], last: u8, payload: usize) -> Vec<u8> {
    let body = chain_bytes(chain, last, payload);
    let mut f = vec![
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x00,
    ];
    let first = chain.first().map_or(last, |h| h.proto);
    let ihl = 5 + options;
    f.push(0x40 | ihl as u8);
    f.push(0);
    f.extend(((ihl * 4 + body.len()) as u16).to_be_bytes());
    f.extend([0, 1, 0, 0, 64, first, 0, 0]);
    f.extend([10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend(std::iter::repeat_n(1u8, options * 4)); // NOP options
    f.extend(body);
    f
}

/// How a protochain walk treats AH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AhOffset {
    /// The next header is at the AH header's offset plus its length.
    Correct,
    /// As libpcap 1.10's gen_protochain: the next offset is the AH header's length alone,
    /// counted from the network header (the current offset is forgotten).
    Libpcap,
}

/// `ip protochain proto` (v6 false) or `ip6 protochain proto` on an Ethernet frame, walked
/// over at most `limit` headers (None: as libpcap, without bound), the protocol after the
/// last one still compared. A read past the frame rejects (false), as a classic load does.
/// Panics if the walk would never end (libpcap's AH offset can send it back).
pub fn protochain_model(
    frame: &[u8],
    v6: bool,
    proto: u8,
    limit: Option<usize>,
    ah: AhOffset,
) -> bool {
    const NET: usize = 14;
    let byte = |at: usize| frame.get(NET + at).copied();
    let ethertype = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    if frame.get(12..14) != Some(&ethertype[..]) {
        return false;
    }
    let start = if v6 {
        byte(6).map(|a| (a, 40))
    } else {
        byte(9).and_then(|a| byte(0).map(|v| (a, 4 * (v as usize & 0xf))))
    };
    let Some((mut a, mut x)) = start else {
        return false;
    };
    let mut step = 0;
    loop {
        if a == proto {
            return true;
        }
        if limit == Some(step) {
            return false;
        }
        assert!(step < 100_000, "the walk would not end");
        let ext = v6 && [HOP, ROUTING, FRAGMENT, DSTOPTS].contains(&a);
        if !ext && a != AH {
            return false; // 59, or a header the walk does not follow
        }
        let (Some(next), Some(len)) = (byte(x), byte(x + 1)) else {
            return false;
        };
        let len = len as usize;
        x = match (ext, ah) {
            (true, _) => x + (len + 1) * 8,
            (false, AhOffset::Correct) => x + (len + 2) * 4,
            (false, AhOffset::Libpcap) => (len + 2) * 4,
        };
        a = next;
        step += 1;
    }
}

/// Ethernet frames with chains of IPv6 extension headers and AH (and IPv4 with AH) of 0 to
/// 14 headers before TCP or UDP, and chains that end otherwise (no next header, ESP, an
/// unknown protocol, the frame's end), with a name for each.
pub fn protochain_frames() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // Mixes of the IPv6 headers the walk follows, of different lengths, n of them.
    let kinds = [
        hdr(HOP, 8),
        hdr(DSTOPTS, 16),
        hdr(ROUTING, 24),
        hdr(FRAGMENT, 8),
        hdr(HOP, 32),
        hdr(DSTOPTS, 8),
        hdr(ROUTING, 8),
    ];
    let ah = [hdr(AH, 24), hdr(AH, 16), hdr(AH, 32)];
    for n in 0..=14usize {
        for (m, last) in [(0usize, 6u8), (1, 17), (3, 6)] {
            let plain: Vec<ChainHeader> =
                (0..n).map(|i| kinds[(i * 3 + m) % kinds.len()]).collect();
            out.push((
                format!("ip6 {n} headers mix {m} then {last}"),
                ip6_chain(&plain, last, 20),
            ));
            // The same with AH at one or two places.
            if n > 0 {
                let mut with_ah = plain.clone();
                with_ah[(n * 7 + m) % n] = ah[m % ah.len()];
                if n > 3 {
                    with_ah[(n * 5 + m + 1) % n] = ah[(m + 1) % ah.len()];
                }
                out.push((
                    format!("ip6 {n} headers mix {m} with AH then {last}"),
                    ip6_chain(&with_ah, last, 20),
                ));
            }
        }
        // Only AH.
        let only_ah: Vec<ChainHeader> = (0..n).map(|i| ah[i % ah.len()]).collect();
        out.push((format!("ip6 {n} AH then 6"), ip6_chain(&only_ah, 6, 20)));
    }
    // Chains that end before TCP.
    let two = [hdr(HOP, 8), hdr(ROUTING, 24)];
    out.push((
        "ip6 then no next header".into(),
        ip6_chain(&two, NO_NEXT, 20),
    ));
    out.push(("ip6 then ESP".into(), ip6_chain(&two, 50, 20)));
    out.push(("ip6 then ICMPv6".into(), ip6_chain(&two, 58, 20)));
    out.push(("ip6 then protocol 200".into(), ip6_chain(&two, 200, 20)));
    let mut mid = vec![hdr(DSTOPTS, 8), hdr(FRAGMENT, 8), hdr(NO_NEXT, 8)];
    // A 59 "header" in the middle: the walk stops there, whatever follows.
    out.push((
        "ip6 no next header in the middle".into(),
        ip6_chain(&mid, 6, 20),
    ));
    mid[2] = hdr(200, 8);
    out.push((
        "ip6 unknown header in the middle".into(),
        ip6_chain(&mid, 6, 20),
    ));
    // Frames that end inside the chain: the walk's load is past the end.
    let long: Vec<ChainHeader> = (0..5).map(|i| kinds[i]).collect();
    let full = ip6_chain(&long, 6, 20);
    for cut in [14 + 40 + 1, 14 + 40 + 8 + 1, 14 + 40 + 8 + 16] {
        out.push((format!("ip6 chain cut at {cut}"), full[..cut].to_vec()));
    }
    // IPv4: AH only is followed; an IPv6 extension header number ends the walk.
    for options in [0, 1] {
        for n in 0..=14usize {
            for last in [6u8, 17] {
                let chain: Vec<ChainHeader> =
                    (0..n).map(|i| ah[(i + options) % ah.len()]).collect();
                out.push((
                    format!("ip4 options {options} {n} AH then {last}"),
                    ip4_chain(options, &chain, last, 20),
                ));
            }
        }
    }
    out.push((
        "ip4 hop-by-hop then 6".into(),
        ip4_chain(0, &[hdr(HOP, 8)], 6, 20),
    ));
    out.push((
        "ip4 AH then hop-by-hop then 6".into(),
        ip4_chain(0, &[hdr(AH, 24), hdr(HOP, 8)], 6, 20),
    ));
    out.push((
        "ip4 AH then 59".into(),
        ip4_chain(0, &[hdr(AH, 24)], NO_NEXT, 20),
    ));
    let full = ip4_chain(0, &[hdr(AH, 24), hdr(AH, 24)], 6, 20);
    out.push(("ip4 AH cut".into(), full[..14 + 20 + 24 + 1].to_vec()));
    out
}

/// Writes `frames` as an Ethernet pcap file, packet i stamped i + 1 seconds.
pub fn write_ethernet_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut d = Vec::new();
    d.extend(0xa1b2_c3d4u32.to_le_bytes());
    d.extend(2u16.to_le_bytes());
    d.extend(4u16.to_le_bytes());
    d.extend([0; 8]);
    d.extend(SNAPLEN.to_le_bytes());
    d.extend(1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        d.extend((i as u32 + 1).to_le_bytes());
        d.extend(0u32.to_le_bytes());
        d.extend((f.len() as u32).to_le_bytes());
        d.extend((f.len() as u32).to_le_bytes());
        d.extend(f);
    }
    std::fs::write(path, d).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
