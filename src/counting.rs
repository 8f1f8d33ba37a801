//! The eBPF backend's side of a live run: compile the filter and the rules into one counting
//! program for the interface, load it, and report the counters, in the modes `--ebpf`
//! (capture as usual, counters besides), `--count` (count only: the program keeps nothing)
//! and `--top` (the live view).

use std::io::{self, Write};
use std::time::{Duration, Instant};

use filter_compiler::{ebpf, Options, Target};

use crate::bpf::report::{self, KernelStats, Namer, Rule, Sample};
use crate::bpf::Loaded;
use crate::cli::{Config, Ebpf};
use crate::error::Error;
use crate::filter::compile_cfg_for;
use crate::iface::Iface;
use crate::resolver::SystemResolver;

/// Flows listed in the text and JSON reports.
pub const TOP_FLOWS: usize = 10;

/// The counting program for `target`, keeping the packets of `direction` that `expr`
/// accepts (or none, counting only), with the rules counted besides.
pub fn program(
    cfg: &Config,
    e: &Ebpf,
    target: Target,
    netmask: u32,
    expr: &str,
    direction: Option<filter_compiler::Direction>,
) -> Result<ebpf::Program, Error> {
    let resolver = SystemResolver::default();
    let opts = Options {
        optimize: cfg.optimize,
        snaplen: cfg.snaplen,
        netmask,
        resolver: &resolver,
    };
    let filter = compile_cfg_for(expr, &target, &opts, direction, None)?;
    let mut rules = Vec::with_capacity(e.rules.len());
    for r in &e.rules {
        rules.push(compile_cfg_for(
            &r.expr,
            &target,
            &opts,
            direction,
            Some(&r.name),
        )?);
    }
    ebpf::generate(&ebpf::Spec {
        target,
        filter: &filter,
        rules: rules.iter().collect(),
        count_only: e.mode == crate::cli::EbpfMode::Count,
        flows: e.flows,
    })
    .map_err(|m| Error::Filter {
        text: format!("eBPF backend: {}", filter_compiler::error::escape(&m)),
    })
}

/// The listing `-d`/`--dump-bytecode=ebpf` prints: the maps, then one instruction a line.
pub fn listing(p: &ebpf::Program) -> String {
    let mut s = String::new();
    for (i, m) in p.maps.iter().enumerate() {
        let what = match m.kind {
            ebpf::MapKind::PercpuArray if i == ebpf::FLOW_CACHE => format!(
                "per-CPU array of {} recent flows ({}-byte slots: key, packets, bytes)",
                m.max_entries, m.value_size
            ),
            ebpf::MapKind::PercpuArray => {
                format!("per-CPU array of {} u64 counters", m.value_size / 8)
            }
            ebpf::MapKind::LruHash => format!(
                "LRU hash of {} flows ({}-byte keys, {}-byte values)",
                m.max_entries, m.key_size, m.value_size
            ),
        };
        s += &format!("; map {i} {}: {what}\n", m.name);
    }
    s + &ebpf::dump::asm(p)
}

/// Where reports go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Out {
    Stdout,
    Stderr,
}

/// Reads and reports the counters of a loaded program.
pub struct Counter {
    pub loaded: Loaded,
    pub rules: Vec<Rule>,
    json: bool,
    text_to: Out,
    start: Instant,
    interval: Option<Duration>,
    next_report: Option<Instant>,
    end: Option<Instant>,
    prev: Option<Sample>,
    namer: Namer,
}

impl Counter {
    /// Starts the clock. `text_to`: where text reports go (JSON always goes to stdout).
    pub fn new(loaded: Loaded, e: &Ebpf, numeric: bool, text_to: Out) -> Counter {
        let start = Instant::now();
        Counter {
            loaded,
            rules: e.rules.clone(),
            json: e.json,
            text_to,
            start,
            interval: e.interval,
            next_report: e.interval.map(|i| start + i),
            end: e.duration.map(|d| start + d),
            prev: None,
            namer: Namer::new(numeric),
        }
    }

    pub fn sample(&self, kernel: Option<KernelStats>) -> Result<Sample, Error> {
        let counts = self
            .loaded
            .counts()
            .map_err(|e| Error::io("reading the eBPF counters", &e))?;
        let f = self
            .loaded
            .flows()
            .map_err(|e| Error::io("reading the eBPF flow table", &e))?;
        Ok(Sample {
            elapsed: self.start.elapsed(),
            counts,
            flows: f.flows,
            table_entries: f.table_entries,
            flow_capacity: self.loaded.flow_capacity(),
            kernel,
        })
    }

    /// The next moment something is due: a report, or the end of --duration.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.next_report, self.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Milliseconds to wait at most before calling [`Counter::due`] (-1: no limit).
    pub fn wait_ms(&self) -> i32 {
        match self.deadline() {
            None => -1,
            Some(t) => t
                .saturating_duration_since(Instant::now())
                .as_millis()
                .clamp(1, i32::MAX as u128) as i32,
        }
    }

    /// Whether --duration is over.
    pub fn over(&self) -> bool {
        self.end.is_some_and(|e| Instant::now() >= e)
    }

    /// Whether [`Counter::due`] has something to do now.
    pub fn is_due(&self) -> bool {
        self.deadline().is_some_and(|t| Instant::now() >= t)
    }

    /// Prints an interval report if one is due; true when --duration is over.
    pub fn due(&mut self, kernel: Option<KernelStats>) -> Result<bool, Error> {
        let now = Instant::now();
        if let (Some(t), Some(i)) = (self.next_report, self.interval) {
            if now >= t {
                // Next report on the grid, skipping any missed while busy.
                let mut n = t + i;
                while n <= now {
                    n += i;
                }
                self.next_report = Some(n);
                self.report(kernel, false)?;
            }
        }
        Ok(self.over())
    }

    /// The report for now: one JSON line, or (final) the text block, or (interval) a line.
    pub fn report(&mut self, kernel: Option<KernelStats>, final_: bool) -> Result<(), Error> {
        let s = self.sample(kernel)?;
        let text = if self.json {
            let mut l = report::json_line(&s, self.prev.as_ref(), &self.rules, TOP_FLOWS, final_);
            l.push('\n');
            l
        } else if final_ {
            report::text_block(&s, &self.rules, TOP_FLOWS, &mut self.namer)
        } else {
            let start = Sample::default();
            report::interval_line(self.prev.as_ref().unwrap_or(&start), &s, &self.rules)
        };
        self.prev = Some(s);
        let to = if self.json { Out::Stdout } else { self.text_to };
        match to {
            // Not io::stdout(): it takes EBADF (a closed stdout) for success.
            Out::Stdout => crate::output::print(&text),
            Out::Stderr => io::stderr()
                .lock()
                .write_all(text.as_bytes())
                .map_err(|e| Error::io("stderr", &e)),
        }
    }
}

/// What the eBPF modes say when they start, after tcpdump's "listening on" line (not with
/// the view, which says it on screen).
pub fn announce(iface: &Iface, e: &Ebpf) {
    let what = match e.mode {
        crate::cli::EbpfMode::Count => "counting in the kernel, capturing nothing",
        crate::cli::EbpfMode::Capture => "counting every packet in the kernel (eBPF)",
    };
    let rules = match e.rules.len() {
        0 => String::new(),
        1 => ", 1 rule".to_string(),
        n => format!(", {n} rules"),
    };
    let _ = writeln!(io::stderr(), "bpfdump: {}: {what}{rules}", iface.name);
}
