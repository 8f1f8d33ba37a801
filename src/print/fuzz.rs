//! Mutation fuzzing of the printers, run as an ordinary unit test so that `cargo test`
//! (a debug build: overflow checks on) runs it: every packet of the sample captures, and a
//! few frames they lack, mutated where lengths, counts and offsets live (boundary values,
//! protocol numbers and ports that steer the demultiplexers, cuts, wire lengths longer than
//! the capture), printed with every link type and every flag set. An arithmetic overflow or
//! an out-of-range index panics in a debug build; each distinct panic site is reported with
//! the input that reached it first.
//!
//! Deterministic (fixed seed). `PRINT_FUZZ_CASES=N` sets the number of mutated packets
//! (default 6000), `PRINT_FUZZ_SEED=N` the seed.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use super::text::Text;
use super::{Options, Printer, FLUSH_AT};
use crate::reader::{Packet, Timestamp};

/// Every link type the printer knows, and one it does not.
pub const LINKTYPES: [u32; 9] = [1, 113, 276, 101, 12, 14, 228, 229, 147];

/// The flag sets: each of -v..-vvv with and without -e, -q, -x, -xx, -X, -XX, -A, -AA, -S,
/// -#, and -n levels 0 (names, but no resolver: see `printer`), 1 and 2.
pub fn option_sets() -> Vec<Options> {
    let mut v = Vec::new();
    for verbose in 0..=3 {
        for (i, (link, quiet, hex, hex_ascii, ascii)) in [
            (false, false, 0, false, 0),
            (true, false, 1, false, 0),
            (false, true, 2, true, 0),
            (true, false, 0, false, 2),
            (false, false, 2, false, 0),
            (true, true, 1, true, 0),
            (false, false, 0, false, 1),
        ]
        .into_iter()
        .enumerate()
        {
            v.push(Options {
                numeric: [2, 1, 0][(i + usize::from(verbose)) % 3],
                verbose,
                link,
                quiet,
                hex,
                hex_ascii,
                ascii,
                absolute_seq: i % 2 == 1,
                number: i == 3,
                ..Options::default()
            });
        }
    }
    v
}

/// A printer for `o` writing to memory. Without -n the printers name ports and protocols,
/// but no address is resolved: a resolver would make the run slow and machine-dependent.
pub fn printer(o: &Options) -> Printer<Vec<u8>> {
    let mut pr = Printer::new(Vec::new(), o.clone());
    pr.t = Text::with_capacity(FLUSH_AT + 4096, false, false);
    pr
}

pub fn packet(linktype: u32, data: &[u8], origlen: u32) -> Packet<'_> {
    Packet {
        linktype,
        snaplen: 262_144,
        ts: Timestamp {
            secs: 1_700_000_000,
            nanos: 0,
            nano: false,
        },
        origlen,
        data,
    }
}

/// The packets of the sample captures, with their link types.
pub fn sample_packets() -> Vec<(u32, Vec<u8>, u32)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut out = Vec::new();
    for name in ["sample.pcap", "sll.pcap", "sll2.pcap", "raw.pcap"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        // pcap: 24-byte header, then 16-byte record headers (little-endian here).
        let linktype = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
        let mut at = 24;
        while at + 16 <= bytes.len() {
            let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            let origlen = u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap());
            out.push((linktype, bytes[at + 16..at + 16 + caplen].to_vec(), origlen));
            at += 16 + caplen;
        }
    }
    out
}

/// Frames the samples lack: DNS over TCP, mDNS, VXLAN, an IPv4 header with options and a
/// zero total length, IPv6 jumbograms.
fn extra_seeds() -> Vec<(u32, Vec<u8>, u32)> {
    let eth = |ty: u16, body: &[u8]| {
        let mut f = vec![2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4];
        f.extend(ty.to_be_bytes());
        f.extend(body);
        f
    };
    let ipv4 = |hl: u8, proto: u8, body: &[u8]| {
        let mut h = vec![0x40 | hl, 0];
        h.extend(((usize::from(hl) * 4 + body.len()) as u16).to_be_bytes());
        h.extend([0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        h.resize(usize::from(hl) * 4, 1);
        h.extend(body);
        h
    };
    let udp = |sport: u16, dport: u16, body: &[u8]| {
        let mut u = sport.to_be_bytes().to_vec();
        u.extend(dport.to_be_bytes());
        u.extend(((8 + body.len()) as u16).to_be_bytes());
        u.extend([0, 0]);
        u.extend(body);
        u
    };
    let dns = [
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, b'w', b'w', b'w', 0, 0, 1, 0, 1, 0xc0,
        12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4,
    ];
    let mut tcp_dns = vec![
        0, 53, 0x9c, 0x40, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x18, 1, 0, 0, 0, 0, 0,
    ];
    tcp_dns.extend((dns.len() as u16).to_be_bytes());
    tcp_dns.extend(dns);
    let vxlan = [
        &[0x08, 0, 0, 0, 0, 0, 100, 0][..],
        &eth(0x0800, &ipv4(5, 17, &udp(1, 2, b"abcd"))),
    ]
    .concat();
    let mut zero_len = ipv4(6, 6, &[0; 20]);
    zero_len[2..4].fill(0);
    let mut ip6 = vec![0x60, 0, 0, 0, 0, 0, 0, 64];
    ip6.extend([0x20, 1, 0x0d, 0xb8].repeat(8));
    ip6.extend([17, 0, 0xc2, 4, 0, 1, 0x11, 0x70]);
    ip6.extend(udp(1, 53, &dns));
    let frames = [
        eth(0x0800, &ipv4(5, 6, &tcp_dns)),
        eth(0x0800, &ipv4(5, 17, &udp(5353, 5353, &dns))),
        eth(0x0800, &ipv4(5, 17, &udp(1, 4789, &vxlan))),
        eth(0x0800, &zero_len),
        eth(0x86dd, &ip6),
    ];
    frames
        .into_iter()
        .map(|f| {
            let n = f.len() as u32;
            (1, f, n)
        })
        .collect()
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// Bytes that are lengths, counts, versions and header lengths at their edges, and the
/// protocol numbers the IP demultiplexers know.
const BYTES: &[u8] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0f, 0x10, 0x11, 0x1f, 0x20, 0x29, 0x2b, 0x2c, 0x2f, 0x32, 0x33,
    0x3a, 0x3b, 0x3c, 0x3f, 0x40, 0x41, 0x45, 0x46, 0x4f, 0x60, 0x67, 0x70, 0x7f, 0x80, 0x84, 0xc0,
    0xc2, 0xf0, 0xfe, 0xff,
];

/// 16-bit values: length edges, ethertypes, LLC and PPP protocols, ports of the payload
/// printers.
const WORDS: &[u16] = &[
    0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 20, 0x7f, 0xff, 0x100, 0x5dc, 0x5dd, 0x7fff, 0x8000,
    0xfffe, 0xffff, 0x0800, 0x86dd, 0x0806, 0x8035, 0x8100, 0x88a8, 0x9100, 0x8847, 0x8848, 0x8863,
    0x8864, 0x88cc, 0x9000, 0x80f3, 0x809b, 0x6003, 0x8137, 0x0004, 0x0021, 0x0057, 0xc021, 0x6558,
    0xaaaa, 0x4242, 22, 53, 67, 68, 80, 123, 5060, 5353, 4789, 6081, 8080,
];

/// One to four mutations of `f`.
fn mutate(rng: &mut Rng, f: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(f.len());
        match rng.below(10) {
            0 => {
                if let Some(b) = f.get_mut(at) {
                    *b = rng.next() as u8;
                }
            }
            1 | 2 => {
                if let Some(b) = f.get_mut(at) {
                    *b = rng.pick(BYTES);
                }
            }
            3..=5 => {
                if at + 2 <= f.len() {
                    f[at..at + 2].copy_from_slice(&rng.pick(WORDS).to_be_bytes());
                }
            }
            6 => {
                if at + 4 <= f.len() {
                    let v = rng.pick(&[0u32, 1, 0x7fff_ffff, 0x8000_0000, u32::MAX, 65536]);
                    f[at..at + 4].copy_from_slice(&v.to_be_bytes());
                }
            }
            7 | 8 => {
                let n = rng.below(40);
                f.extend((0..n).map(|_| rng.next() as u8));
            }
            _ => {
                // A low nibble (a header length) at its edges.
                if let Some(b) = f.get_mut(at) {
                    *b = (*b & 0xf0) | rng.pick(&[0u8, 1, 4, 5, 6, 0xf]);
                }
            }
        }
    }
}

thread_local! {
    /// Set while this thread fuzzes: its panics are recorded here rather than printed.
    static FUZZING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A panic hook that records where a fuzzing thread panicked (the site tells one bug from
/// another) and leaves every other thread's panics to the previous hook.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if FUZZING.with(Cell::get) {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{at}: {msg}")));
            } else {
                prev(info);
            }
        }));
    });
}

/// Prints `data` as a packet of `linktype` with every flag set; on a panic, the site and
/// the flag set.
fn try_print(
    sets: &[Options],
    linktype: u32,
    data: &[u8],
    origlen: u32,
) -> Option<(String, usize)> {
    for (i, o) in sets.iter().enumerate() {
        let mut pr = printer(o);
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            pr.packet(&packet(linktype, data, origlen)).unwrap();
            pr.flush().unwrap();
        }));
        if r.is_err() {
            let site = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_default();
            return Some((site, i));
        }
    }
    None
}

fn env_num(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the fuzzer; the distinct panic sites, each with the first input that reached it.
fn fuzz(cases: u64, seed: u64) -> BTreeMap<String, String> {
    install_hook();
    FUZZING.with(|f| f.set(true));
    let sets = option_sets();
    let mut seeds = sample_packets();
    seeds.extend(extra_seeds());
    let mut rng = Rng(seed | 1);
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    let mut report = |site: String, set: usize, lt: u32, data: &[u8], origlen: u32| {
        found.entry(site).or_insert_with(|| {
            format!(
                "linktype {lt}, origlen {origlen}, options #{set} {:?}\n    data {}",
                sets[set],
                hex(data)
            )
        });
    };
    // Every seed once as it is, with each link type.
    for (_, data, origlen) in &seeds {
        for lt in LINKTYPES {
            if let Some((site, set)) = try_print(&sets, lt, data, *origlen) {
                report(site, set, lt, data, *origlen);
            }
        }
    }
    for _ in 0..cases {
        let (lt0, ref data, origlen0) = seeds[rng.below(seeds.len())];
        let mut f = data.clone();
        if rng.below(8) == 0 {
            // Spliced: this frame's headers, another's tail (new pairs of header and payload).
            let (_, ref other, _) = seeds[rng.below(seeds.len())];
            f.truncate(rng.below(f.len() + 1));
            f.extend_from_slice(&other[rng.below(other.len() + 1)..]);
        }
        mutate(&mut rng, &mut f);
        // Mostly the seed's own link type; sometimes its bytes read as another.
        let lt = if rng.below(8) == 0 {
            rng.pick(&LINKTYPES)
        } else {
            lt0
        };
        // A short frame on the wire (its lengths then disagree with its headers), a
        // frame cut by the snapshot length, or the frame as it is.
        let origlen = match rng.below(6) {
            0 | 1 => {
                f.truncate(rng.below(f.len() + 1));
                f.len() as u32
            }
            2 => {
                let n = f.len().max(origlen0 as usize);
                f.truncate(rng.below(f.len() + 1));
                n as u32
            }
            3 => f.len() as u32 + rng.pick(&[1, 2, 4, 20, 1000, 65535, 70000]),
            4 => 262_144.max(f.len() as u32),
            _ => origlen0.max(f.len() as u32),
        };
        if let Some((site, set)) = try_print(&sets, lt, &f, origlen) {
            report(site, set, lt, &f, origlen);
        }
    }
    FUZZING.with(|f| f.set(false));
    found
}

#[test]
fn mutated_sample_packets_never_panic() {
    let cases = env_num("PRINT_FUZZ_CASES").unwrap_or(6000);
    let seed = env_num("PRINT_FUZZ_SEED").unwrap_or(0x5eed_0b9f_d0e1_2024);
    let found = fuzz(cases, seed);
    let text: Vec<String> = found.iter().map(|(k, v)| format!("{k}\n    {v}")).collect();
    assert!(
        found.is_empty(),
        "{} panic sites (seed {seed:#x}):\n{}",
        found.len(),
        text.join("\n")
    );
}
