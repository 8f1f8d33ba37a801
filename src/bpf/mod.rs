//! The eBPF backend at run time: create the program's maps, write their descriptors into it,
//! load it (the verifier's log only to explain a refusal), attach it to the capture socket,
//! and read the counters back, summed over the CPUs.

pub mod report;
pub mod sys;

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use filter_compiler::ebpf;
use std::collections::HashMap;

use filter_compiler::ebpf::layout::{cache, flow, slot, FlowKey, L3_CLASSES, L4_CLASSES};

use crate::error::{io_message, Error};

/// The license the program declares: enough for the helpers it calls (map lookups and
/// updates), none of which is GPL-only.
const LICENSE: &str = "MIT";

/// Room for the verifier's log when explaining a refusal.
const LOG_SIZE: usize = 4 << 20;

/// What to say when the kernel refuses us the capability, naming it.
fn privilege_error(step: &str) -> Error {
    Error::msg(format!(
        "eBPF needs CAP_BPF (or CAP_SYS_ADMIN) besides CAP_NET_RAW ({step} was refused): run as \
         root, or `setcap cap_net_raw,cap_bpf+ep bpfdump`; the classic backend (without --ebpf, \
         --count, --top) needs only cap_net_raw"
    ))
}

/// A loaded program and its maps.
pub struct Loaded {
    pub prog: OwnedFd,
    counters: OwnedFd,
    flows: Option<OwnedFd>,
    flow_capacity: u32,
    flow_cache: Option<OwnedFd>,
    cache_slots: u32,
    cpus: usize,
    slots: usize,
    rules: usize,
}

/// Loads `p`. `verbose`: on a verifier refusal, print the verifier's log to stderr.
pub fn load(p: &ebpf::Program, verbose: bool) -> Result<Loaded, Error> {
    // The counters row's size says how many rules the program counts.
    let slots = p.maps[ebpf::COUNTERS].value_size as usize / 8;
    let rules = slots.saturating_sub(slot::RULES) / 2;
    let mut fds = Vec::with_capacity(p.maps.len());
    for m in &p.maps {
        let fd = sys::map_create(
            m.kind.number(),
            m.key_size,
            m.value_size,
            m.max_entries,
            m.name,
        )
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => privilege_error("creating a map"),
            _ => Error::msg(format!(
                "cannot create the eBPF map `{}` ({} entries): {}",
                m.name,
                m.max_entries,
                io_message(&e)
            )),
        })?;
        fds.push(fd);
    }
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let bytes = p.image(&raw);
    let prog = match sys::prog_load(&bytes, LICENSE, "bpfdump", None) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            return Err(privilege_error("loading the program"))
        }
        Err(e) => {
            let mut log = vec![0u8; LOG_SIZE];
            let again = sys::prog_load(&bytes, LICENSE, "bpfdump", Some(&mut log));
            if verbose {
                eprintln!("bpfdump: the verifier's log:");
                eprintln!("{}", String::from_utf8_lossy(&log).trim_end());
            }
            let last = String::from_utf8_lossy(&log)
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.starts_with("processed "))
                .map(|l| format!(": {}", l.trim()))
                .unwrap_or_default();
            let what = match again {
                Ok(_) => "refused the program, then accepted it with a log".to_string(),
                // The verifier walks every path; past its budget it gives up.
                Err(_) if e.raw_os_error() == Some(libc::E2BIG) => format!(
                    "gave up on the program: too many paths to check ({} instructions, {} \
                     rules; fewer or simpler rules may fit){last}",
                    p.insns.len(),
                    rules
                ),
                Err(_) => format!("rejected the program ({}){last}", io_message(&e)),
            };
            return Err(Error::msg(format!(
                "the kernel's eBPF verifier {what}; -v shows its log; the classic backend \
                 (without --ebpf, --count, --top) still works"
            )));
        }
    };
    let cpus = sys::possible_cpus().map_err(|e| Error::io("possible CPUs", &e))?;
    let mut fds = fds.into_iter();
    let counters = fds.next().expect("the program has a counters map");
    let flows = fds.next();
    let flow_cache = fds.next();
    Ok(Loaded {
        prog,
        counters,
        flow_capacity: p.maps.get(ebpf::FLOWS).map_or(0, |m| m.max_entries),
        flows,
        flow_cache,
        cache_slots: p.maps.get(ebpf::FLOW_CACHE).map_or(0, |m| m.max_entries),
        cpus,
        slots,
        rules,
    })
}

/// Packets, bytes and wire segments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub packets: u64,
    pub bytes: u64,
    pub segments: u64,
}

impl Totals {
    /// (packets, bytes), as [`report::rates`] takes them.
    pub fn pair(&self) -> (u64, u64) {
        (self.packets, self.bytes)
    }
}

/// One flow's counts.
#[derive(Clone, Copy, Debug)]
pub struct Flow {
    pub key: FlowKey,
    pub packets: u64,
    pub bytes: u64,
}

/// The flows at one moment: the LRU table's entries and the per-CPU caches' slots, added up.
#[derive(Clone, Debug, Default)]
pub struct Flows {
    /// Every flow known, in no order.
    pub flows: Vec<Flow>,
    /// Entries of the LRU table (the rest of the flows are in caches only): with the
    /// insertions counted, tells evictions.
    pub table_entries: usize,
}

/// The counters at one moment.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub seen: Totals,
    pub matched: Totals,
    /// Seen by class: indexes of [`L3_CLASSES`] and [`L4_CLASSES`].
    pub l3: [u64; L3_CLASSES.len()],
    pub l4: [u64; L4_CLASSES.len()],
    pub matched_l3: [u64; L3_CLASSES.len()],
    pub matched_l4: [u64; L4_CLASSES.len()],
    /// Per rule: (packets, bytes).
    pub rules: Vec<(u64, u64)>,
    /// New flows put in the table so far, and matched packets it could not take.
    pub flow_inserts: u64,
    pub flow_failures: u64,
}

impl Counts {
    fn from_slots(v: &[u64], rules: usize) -> Counts {
        fn row<const N: usize>(v: &[u64], first: usize) -> [u64; N] {
            std::array::from_fn(|i| v[first + i])
        }
        Counts {
            seen: Totals {
                packets: v[slot::SEEN_PACKETS],
                bytes: v[slot::SEEN_BYTES],
                segments: v[slot::SEEN_SEGMENTS],
            },
            matched: Totals {
                packets: v[slot::MATCHED_PACKETS],
                bytes: v[slot::MATCHED_BYTES],
                segments: v[slot::MATCHED_SEGMENTS],
            },
            l3: row(v, slot::SEEN_L3),
            l4: row(v, slot::SEEN_L4),
            matched_l3: row(v, slot::MATCHED_L3),
            matched_l4: row(v, slot::MATCHED_L4),
            rules: (0..rules)
                .map(|i| (v[slot::RULES + 2 * i], v[slot::RULES + 2 * i + 1]))
                .collect(),
            flow_inserts: v[slot::FLOW_INSERTS],
            flow_failures: v[slot::FLOW_FAILURES],
        }
    }
}

impl Loaded {
    pub fn flow_capacity(&self) -> u32 {
        self.flow_capacity
    }

    /// The counters, each summed over the CPUs' rows.
    pub fn counts(&self) -> io::Result<Counts> {
        let row = self.slots * 8;
        let mut buf = vec![0u8; row * self.cpus];
        sys::lookup(self.counters.as_raw_fd(), &0u32.to_ne_bytes(), &mut buf)?;
        let mut sum = vec![0u64; self.slots];
        for cpu in buf.chunks_exact(row) {
            for (s, w) in sum.iter_mut().zip(cpu.chunks_exact(8)) {
                *s = s.wrapping_add(u64::from_ne_bytes(w.try_into().expect("8 bytes")));
            }
        }
        Ok(Counts::from_slots(&sum, self.rules))
    }

    /// Every flow: the LRU table's entries plus the flow caches' slots on every CPU (none
    /// without a table). The table is read first: counts the program moves from a cache slot
    /// into the table while we read are missed until the next reading, never counted twice.
    /// Entries the program evicts while we walk may be missed or seen twice; that is the price
    /// of not stopping it.
    pub fn flows(&self) -> io::Result<Flows> {
        let (Some(map), Some(cached)) = (&self.flows, &self.flow_cache) else {
            return Ok(Flows::default());
        };
        let fd = map.as_raw_fd();
        let mut all: HashMap<FlowKey, (u64, u64)> = HashMap::new();
        let mut key = [0u8; flow::KEY_SIZE];
        let mut next = [0u8; flow::KEY_SIZE];
        let mut value = [0u8; flow::VALUE_SIZE];
        let mut first = true;
        let mut table_entries = 0;
        // Bounded: the table never holds more than its capacity.
        for _ in 0..=self.flow_capacity as usize * 2 {
            let more = sys::next_key(fd, (!first).then_some(&key[..]), &mut next)?;
            if !more {
                break;
            }
            first = false;
            key = next;
            if sys::lookup(fd, &key, &mut value)? {
                let (p, b) = value.split_at(8);
                let e = all
                    .entry(FlowKey::decode(&key).expect("key of the right size"))
                    .or_default();
                e.0 += u64::from_ne_bytes(p.try_into().expect("8 bytes"));
                e.1 += u64::from_ne_bytes(b.try_into().expect("8 bytes"));
                table_entries += 1;
            }
        }
        let mut rows = vec![0u8; cache::VALUE_SIZE * self.cpus];
        for i in 0..self.cache_slots {
            if sys::lookup(cached.as_raw_fd(), &i.to_ne_bytes(), &mut rows)? {
                for (k, p, b) in cache::entries(&rows) {
                    let e = all.entry(k).or_default();
                    e.0 += p;
                    e.1 += b;
                }
            }
        }
        Ok(Flows {
            flows: all
                .into_iter()
                .map(|(key, (packets, bytes))| Flow {
                    key,
                    packets,
                    bytes,
                })
                .collect(),
            table_entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use filter_compiler::ebpf::insn::Insn;
    use filter_compiler::ebpf::{MapDef, MapKind};

    #[test]
    fn a_refused_program_is_one_line_that_points_to_the_log_and_the_classic_backend() {
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: a_refused_program...: needs root (CAP_BPF) to reach the verifier");
            return;
        }
        // `exit` with r0 never set: the verifier refuses it ("R0 !read_ok").
        let p = ebpf::Program {
            insns: vec![Insn::exit()],
            maps: vec![MapDef {
                name: "counters",
                kind: MapKind::PercpuArray,
                key_size: 4,
                value_size: 8 * filter_compiler::ebpf::layout::counter_slots(0) as u32,
                max_entries: 1,
            }],
        };
        let e = match load(&p, false) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("the verifier accepted a program that returns nothing"),
        };
        assert!(!e.contains('\n'), "{e}");
        assert!(e.contains("verifier rejected the program"), "{e}");
        assert!(
            e.contains("R0 !read_ok"),
            "the log's last line says why: {e}"
        );
        assert!(
            e.contains("-v shows its log") && e.contains("classic backend"),
            "{e}"
        );
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(sys::parse_cpu_list("0-3\n"), Some(4));
        assert_eq!(sys::parse_cpu_list("0"), Some(1));
        assert_eq!(sys::parse_cpu_list("0-1,4,6-7"), Some(8));
        assert_eq!(sys::parse_cpu_list("x"), None);
    }
}
