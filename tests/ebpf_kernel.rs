//! The eBPF backend, checked by the kernel itself: every program is loaded with bpf(2) and run
//! over the sample captures with BPF_PROG_TEST_RUN.
//!
//! - `ebpf_decides_as_classic_*`: for every expression of a differential corpus, compiled for
//!   the kernel target of the suite's link type (optimizer on and off), the eBPF program
//!   (the expression as its filter and, through the guarded loads, as its one rule) must
//!   return exactly what the classic program returns in `interp::run` given the metadata
//!   test_run gives the program, and count: the rule, and the matched packets, bytes and
//!   classes, exactly the packets the classic program keeps.
//! - `ebpf_counts_captures`: with an accept-all filter (and a `tcp or udp` counting-only one)
//!   and a flow table, the seen and matched counters, the link-layer and transport classes and
//!   the flow table after all packets of each capture, against a classification written here
//!   from the layout's definitions; `gso_segs` set through a `__sk_buff` context for a few
//!   packets.
//! - `test_run_metadata_is_as_modelled`: the facts the two rely on, read back from the kernel
//!   with one-field probe programs for every packet (see [`Input`]).
//! - `regression_*`: the backend bugs these found, alone (fixed; kept as regression tests).
//!
//! What BPF_PROG_TEST_RUN does for a socket filter (net/bpf/test_run.c,
//! bpf_prog_test_run_skb), as the probes confirm on Linux 6.18: it builds an skb from the data
//! on the loopback device, runs eth_type_trans() over the first 14 bytes (skb->protocol from
//! bytes 12-13, or 802.2/802.3 for a length; pkt_type from the destination MAC against
//! loopback's all-zero address and all-zero broadcast address, so ff:ff:ff:ff:ff:ff comes out
//! MULTICAST: PACKET_BROADCAST and PACKET_OUTGOING cannot be made), pulls them, and runs the
//! program with the data starting at byte 14, `len` the rest's length and ifindex
//! loopback's. No VLAN tag is ever in metadata (vlan_present 0), so the stripped-tag half of
//! the Ethernet kernel programs is not run here (tests/kernel_view.rs checks it in the
//! interpreter). It refuses (EINVAL) an IPv4 (IPv6) protocol with less than 20 (40) bytes
//! after the header: see [`refused_by_test_run`]. It takes a
//! `struct __sk_buff` context for a socket filter too; its gso_segs (what the segment
//! counters read) comes through to the program.
//!
//! Without root (or with bpf(2) refused), the tests say `SKIPPED` and pass.

mod support;

#[path = "../src/bpf/sys.rs"]
mod sys;

use filter_compiler::cbpf::{self, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST};
use filter_compiler::ebpf::insn::{self as e, Insn as EInsn, R0, R1};
use filter_compiler::ebpf::layout::{self, cache, flow, slot, FlowKey};
use filter_compiler::ebpf::{self, skb};
use filter_compiler::interp::{self, Meta};
use filter_compiler::{emit, LinkType, Target};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;
use support::*;

/// What test_run pulls off the front of the data as the Ethernet header.
const HDR: usize = 14;
const LICENSE: &str = "MIT";
/// `sizeof(struct __sk_buff)`, and where its `gso_segs` is.
const SKB_CTX_SIZE: usize = 192;
const CTX_GSO_SEGS: usize = skb::GSO_SEGS as usize;
/// Flow-table entries: far more than the captures' flows, so the LRU never evicts.
const FLOWS: u32 = 1 << 16;

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

// ------------------------------------------------------------------------------ the kernel

/// The loopback device test_run receives on, from /sys/class/net/lo.
#[derive(Clone, Debug)]
struct Loopback {
    ifindex: u32,
    /// ARPHRD type (772, ARPHRD_LOOPBACK): what SKF_AD_HATYPE would read.
    hatype: u16,
    addr: [u8; 6],
    broadcast: [u8; 6],
}

fn sys_class_net(field: &str) -> Result<String, String> {
    let p = format!("/sys/class/net/lo/{field}");
    std::fs::read_to_string(&p)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{p}: {e}"))
}

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let v: Vec<u8> = s
        .split(':')
        .map(|x| u8::from_str_radix(x, 16))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad MAC {s:?}: {e}"))?;
    v.try_into().map_err(|_| format!("bad MAC {s:?}"))
}

fn loopback() -> Result<Loopback, String> {
    Ok(Loopback {
        ifindex: sys_class_net("ifindex")?
            .parse()
            .map_err(|e| format!("lo ifindex: {e}"))?,
        hatype: sys_class_net("type")?
            .parse()
            .map_err(|e| format!("lo type: {e}"))?,
        addr: parse_mac(&sys_class_net("address")?)?,
        broadcast: parse_mac(&sys_class_net("broadcast")?)?,
    })
}

/// What the tests need of the machine: root's bpf(2), the loopback device, the CPU count.
struct Kernel {
    lo: Loopback,
    cpus: usize,
}

/// The kernel, or None after printing why the test is skipped. Only a missing privilege
/// skips; anything else is a failure.
fn kernel(test: &str) -> Option<Kernel> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        support::lab::skip(test, "loading eBPF programs needs root (CAP_BPF)");
        return None;
    }
    let lo = loopback().unwrap_or_else(|e| panic!("the loopback device: {e}"));
    let cpus = sys::possible_cpus().unwrap_or_else(|e| panic!("possible CPUs: {e}"));
    // A trivial program: EPERM here means bpf(2) is not ours (a seccomp filter, a sysctl).
    match Probe::load(skb::LEN, false) {
        Ok(_) => {}
        Err(LoadError::Perm(m)) => {
            support::lab::skip(test, &m);
            return None;
        }
        Err(LoadError::Other(m)) => panic!("a trivial socket filter does not load: {m}"),
    }
    Some(Kernel { lo, cpus })
}

enum LoadError {
    /// EPERM/EACCES: not allowed here.
    Perm(String),
    Other(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            LoadError::Perm(m) | LoadError::Other(m) => f.write_str(m),
        }
    }
}

fn denied(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
}

fn encode(insns: &[EInsn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.encode()).collect()
}

/// BPF_PROG_LOAD; on a refusal, the verifier's last words (loaded again with a log), unless
/// it gave up on the program's size: that log says only so, and would take as long again.
fn prog_load(bytes: &[u8]) -> Result<OwnedFd, LoadError> {
    match sys::prog_load(bytes, LICENSE, "ebpf_kernel", None) {
        Ok(fd) => Ok(fd),
        Err(e) if denied(&e) => Err(LoadError::Perm(format!("BPF_PROG_LOAD: {e}"))),
        Err(e) if e.raw_os_error() == Some(libc::E2BIG) => Err(LoadError::Other(format!(
            "BPF_PROG_LOAD: {e}: the verifier gave up, more than its 1,000,000 instructions \
             to process"
        ))),
        Err(e) => {
            let mut log = vec![0u8; 1 << 22];
            let _ = sys::prog_load(bytes, LICENSE, "ebpf_kernel", Some(&mut log));
            let log = String::from_utf8_lossy(&log);
            let tail: Vec<&str> = log.lines().rev().take(6).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(LoadError::Other(format!(
                "BPF_PROG_LOAD: {e}; the verifier's log ends: {}",
                tail.join(" | ")
            )))
        }
    }
}

/// A program that returns one `__sk_buff` field (network-order fields swapped to host order).
struct Probe {
    prog: OwnedFd,
}

impl Probe {
    fn load(field: i16, swap: bool) -> Result<Probe, LoadError> {
        let mut insns = vec![EInsn::ldx(e::W, R0, R1, field)];
        if swap {
            insns.push(EInsn::be16(R0));
        }
        insns.push(EInsn::exit());
        Ok(Probe {
            prog: prog_load(&encode(&insns))?,
        })
    }
}

/// Flow key to (packets, bytes).
type FlowCounts = BTreeMap<FlowKey, (u64, u64)>;

/// A generated program, loaded, with its maps.
struct Loaded {
    prog: OwnedFd,
    maps: Vec<OwnedFd>,
    slots: usize,
    cache_slots: u32,
}

fn load(p: &ebpf::Program, rules: usize) -> Result<Loaded, LoadError> {
    let mut maps = Vec::new();
    for m in &p.maps {
        let fd = sys::map_create(
            m.kind.number(),
            m.key_size,
            m.value_size,
            m.max_entries,
            m.name,
        )
        .map_err(|e| {
            let msg = format!("BPF_MAP_CREATE {}: {e}", m.name);
            if denied(&e) {
                LoadError::Perm(msg)
            } else {
                LoadError::Other(msg)
            }
        })?;
        maps.push(fd);
    }
    let raw: Vec<i32> = maps.iter().map(|f| f.as_raw_fd()).collect();
    Ok(Loaded {
        prog: prog_load(&p.image(&raw))?,
        maps,
        slots: layout::counter_slots(rules),
        cache_slots: p.maps.get(ebpf::FLOW_CACHE).map_or(0, |m| m.max_entries),
    })
}

/// A `struct __sk_buff` context setting only gso_segs.
fn gso_ctx(segs: u32) -> Vec<u8> {
    let mut c = vec![0u8; SKB_CTX_SIZE];
    c[CTX_GSO_SEGS..CTX_GSO_SEGS + 4].copy_from_slice(&segs.to_ne_bytes());
    c
}

fn run(prog: &OwnedFd, data: &[u8], ctx: Option<&[u8]>) -> Result<u32, String> {
    sys::test_run(prog.as_raw_fd(), data, ctx, 1)
        .map(|r| r.retval)
        .map_err(|e| format!("BPF_PROG_TEST_RUN ({} bytes): {e}", data.len()))
}

impl Loaded {
    /// The counters row summed over the CPUs.
    fn counters(&self, cpus: usize) -> Result<Vec<u64>, String> {
        let row = self.slots * 8;
        let mut buf = vec![0u8; row * cpus];
        let found = sys::lookup(
            self.maps[ebpf::COUNTERS].as_raw_fd(),
            &0u32.to_ne_bytes(),
            &mut buf,
        )
        .map_err(|e| format!("counters lookup: {e}"))?;
        if !found {
            return Err("the counters map has no entry 0".into());
        }
        let mut sum = vec![0u64; self.slots];
        for r in buf.chunks_exact(row) {
            for (s, w) in sum.iter_mut().zip(r.chunks_exact(8)) {
                *s += u64::from_ne_bytes(w.try_into().unwrap());
            }
        }
        Ok(sum)
    }

    /// The flows: key to (packets, bytes), the LRU table's entries plus the flow cache's
    /// slots on every CPU (as bpfdump adds them up); and how many entries the table has.
    fn flows(&self, cpus: usize) -> Result<(FlowCounts, usize), String> {
        let fd = self.maps[ebpf::FLOWS].as_raw_fd();
        let mut out = BTreeMap::new();
        let mut key: Option<[u8; flow::KEY_SIZE]> = None;
        let mut entries = 0;
        loop {
            let mut next = [0u8; flow::KEY_SIZE];
            let more = sys::next_key(fd, key.as_ref().map(|k| &k[..]), &mut next)
                .map_err(|e| format!("flows next_key: {e}"))?;
            if !more {
                break;
            }
            let mut v = [0u8; flow::VALUE_SIZE];
            if !sys::lookup(fd, &next, &mut v).map_err(|e| format!("flows lookup: {e}"))? {
                return Err("a flow vanished between next_key and lookup".into());
            }
            let k = FlowKey::decode(&next).expect("a whole key");
            let pb = (
                u64::from_ne_bytes(v[..8].try_into().unwrap()),
                u64::from_ne_bytes(v[8..].try_into().unwrap()),
            );
            if out.insert(k, pb).is_some() {
                return Err(format!("flow {k:?} listed twice"));
            }
            entries += 1;
            key = Some(next);
        }
        let fd = self.maps[ebpf::FLOW_CACHE].as_raw_fd();
        let mut rows = vec![0u8; cache::VALUE_SIZE * cpus];
        for i in 0..self.cache_slots {
            if !sys::lookup(fd, &i.to_ne_bytes(), &mut rows)
                .map_err(|e| format!("flow cache lookup: {e}"))?
            {
                return Err(format!("flow cache slot {i} missing"));
            }
            for (k, p, b) in cache::entries(&rows) {
                let e = out.entry(k).or_default();
                e.0 += p;
                e.1 += b;
            }
        }
        Ok((out, entries))
    }
}

// ------------------------------------------------------------------------------- packets

/// One capture record as test_run is given it: a 14-byte header the kernel pulls, then the
/// bytes the program sees.
struct Input {
    index: usize,
    data: Vec<u8>,
    /// What the classic program's ancillary loads read, as test_run makes the skb.
    meta: Meta,
    /// The packet's length as the capture file records it (what the byte counters add):
    /// the program's data, plus the cooked header on SLL/SLL2.
    file_len: u64,
    /// Given protocol 0 instead of IPv4/IPv6 (see [`refused_by_test_run`]).
    substituted: bool,
}

impl Input {
    fn pkt(&self) -> &[u8] {
        &self.data[HDR..]
    }
}

/// What eth_type_trans() on loopback leaves in the skb for `hdr` followed by `payload`.
fn after_eth_type_trans(hdr: &[u8; HDR], payload: &[u8], lo: &Loopback) -> Meta {
    let dst = &hdr[0..6];
    let pkttype = if dst == lo.addr {
        PACKET_HOST
    } else if dst[0] & 1 != 0 {
        if dst == lo.broadcast {
            cbpf::PACKET_BROADCAST
        } else {
            PACKET_MULTICAST
        }
    } else {
        PACKET_OTHERHOST
    };
    let t = be16(hdr, 12);
    let protocol = if t >= 0x0600 {
        t
    } else if payload.len() >= 2 && payload[0..2] == [0xff, 0xff] {
        0x0001 // ETH_P_802_3
    } else {
        0x0004 // ETH_P_802_2
    };
    Meta {
        protocol,
        pkttype,
        ifindex: lo.ifindex,
        vlan_tci: None,
        vlan_tpid: 0,
        mark: 0,
        hatype: lo.hatype,
        // The network header is reset where the data starts; the MAC header is the pulled
        // header, in front of the data, which `Meta` cannot express (no program we check
        // reads it: see `reads_link_header`).
        net_off: 0,
        ll_off: None,
        ..Meta::default()
    }
}

/// A destination MAC that makes eth_type_trans() on loopback give `pkttype` (SLL's, 0-4),
/// as near as it can: a broadcast comes out MULTICAST, an outgoing packet HOST.
fn dst_for(pkttype: u32, lo: &Loopback) -> [u8; 6] {
    match pkttype {
        1 => [0xff; 6],
        2 => [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01],
        3 => [0x02, 0x00, 0x00, 0x00, 0x00, 0x01],
        _ => lo.addr,
    }
}

/// test_run (6.18) refuses with EINVAL an skb whose protocol is IPv4 with less than an IPv4
/// header of data, or IPv6 with less than an IPv6 header. Such a packet is given protocol 0
/// instead (eth_type_trans makes it 802.2 or 802.3), which the program and the classic
/// program's metadata then both see.
fn refused_by_test_run(ethertype: u16, payload: &[u8]) -> bool {
    (ethertype == 0x0800 && payload.len() < 20) || (ethertype == 0x86dd && payload.len() < 40)
}

fn input(index: usize, mut hdr: [u8; HDR], payload: &[u8], extra: u64, lo: &Loopback) -> Input {
    let substituted = refused_by_test_run(be16(&hdr, 12), payload);
    if substituted {
        hdr[12..14].fill(0);
    }
    let meta = after_eth_type_trans(&hdr, payload, lo);
    let mut data = hdr.to_vec();
    data.extend_from_slice(payload);
    Input {
        index,
        data,
        meta,
        file_len: payload.len() as u64 + extra,
        substituted,
    }
}

/// The records of `suite`'s capture as test_run inputs for the suite's kernel target, and the
/// indices of records the kernel could not show (a cooked record cut inside its header).
fn inputs(suite: &Suite, lo: &Loopback) -> (Vec<Input>, Vec<usize>) {
    let capture = load_capture(suite.capture);
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for p in &capture.packets {
        let d = &p.data[..];
        let mut hdr = [0u8; HDR];
        match suite.linktype {
            LinkType::En10mb => {
                // The whole frame after a copy of its destination and type (as far as it has
                // them): pkt_type, and the protocol of a frame with an EtherType, come out
                // as for the frame itself.
                let n = d.len().min(HDR);
                hdr[..n].copy_from_slice(&d[..n]);
                hdr[6..12].fill(0);
                out.push(input(p.index, hdr, d, 0, lo));
            }
            LinkType::LinuxSll => {
                if d.len() < 16 {
                    skipped.push(p.index);
                    continue;
                }
                hdr[0..6].copy_from_slice(&dst_for(be16(d, 0).into(), lo));
                hdr[12..14].copy_from_slice(&d[14..16]);
                out.push(input(p.index, hdr, &d[16..], 16, lo));
            }
            LinkType::LinuxSll2 => {
                if d.len() < 20 {
                    skipped.push(p.index);
                    continue;
                }
                hdr[0..6].copy_from_slice(&dst_for(d[10].into(), lo));
                hdr[12..14].copy_from_slice(&d[0..2]);
                out.push(input(p.index, hdr, &d[20..], 20, lo));
            }
            LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => {
                // As a raw-IP device (tun) sets the protocol: from the IP version.
                let t: u16 = match d.first().map(|b| b >> 4) {
                    Some(4) => 0x0800,
                    Some(6) => 0x86dd,
                    _ => 0,
                };
                hdr[0..6].copy_from_slice(&lo.addr);
                hdr[12..14].copy_from_slice(&t.to_be_bytes());
                out.push(input(p.index, hdr, d, 0, lo));
            }
        }
    }
    (out, skipped)
}

// ---------------------------------------------------------------------- classification

/// What the program should make of a packet, from layout.rs's definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Class {
    l3: usize,
    l4: usize,
    key: FlowKey,
}

/// Classifies the program's data. `ethernet`: it starts at an Ethernet header (else at the
/// network header, with `protocol` the skb's). No tag is ever in metadata under test_run.
///
/// Link-layer class: VLAN for a tag (0x8100/0x88a8) in the data (or, on a cooked socket, as
/// the protocol), else by EtherType; a frame shorter than its Ethernet header is `other`.
/// Inside one tag in the data the EtherType and network header come from behind it (a
/// cooked socket's tagged protocol has no header to look behind). Transport class: the IPv4
/// protocol (ICMP only under IPv4), the IPv6 next header after up to three hop-by-hop,
/// routing, destination-options or fragment headers (ICMPv6 only under IPv6); `other` when
/// the IP header (or an extension header) is cut short. The transport offset is none for a
/// later fragment. Flow key: EtherType, protocol, class, addresses when the whole IP header
/// is there, ports (TCP, UDP, SCTP) or ICMP/ICMPv6 type and code when those bytes are there.
fn classify(ethernet: bool, d: &[u8], protocol: u16) -> Class {
    use layout::*;
    let mut key = FlowKey {
        ethertype: 0,
        proto: 0,
        l3: L3_OTHER as u8,
        sport: 0,
        dport: 0,
        src: [0; 16],
        dst: [0; 16],
    };
    let stop = |l3: usize, mut key: FlowKey| {
        key.l3 = l3 as u8;
        Class {
            l3,
            l4: L4_OTHER,
            key,
        }
    };
    let (ethertype, nh, l3) = if ethernet {
        if d.len() < 14 {
            return stop(L3_OTHER, key);
        }
        let t = be16(d, 12);
        if t == 0x8100 || t == 0x88a8 {
            if d.len() < 18 {
                return stop(L3_VLAN, key);
            }
            (be16(d, 16), 18, L3_VLAN)
        } else {
            (t, 14, by_type(t))
        }
    } else if protocol == 0x8100 || protocol == 0x88a8 {
        return stop(L3_VLAN, key);
    } else {
        (protocol, 0, by_type(protocol))
    };
    key.ethertype = ethertype;
    key.l3 = l3 as u8;
    let mut l4 = L4_OTHER;
    // (protocol, transport offset)
    let mut transport: Option<(u8, Option<usize>)> = None;
    if ethertype == 0x0800 && d.len() >= nh + 20 {
        key.src[..4].copy_from_slice(&d[nh + 12..nh + 16]);
        key.dst[..4].copy_from_slice(&d[nh + 16..nh + 20]);
        let proto = d[nh + 9];
        let later_fragment = be16(d, nh + 6) & 0x1fff != 0;
        let off = (!later_fragment).then(|| nh + 4 * usize::from(d[nh] & 0xf));
        transport = Some((proto, off));
        l4 = match proto {
            6 => L4_TCP,
            17 => L4_UDP,
            1 => L4_ICMP,
            132 => L4_SCTP,
            _ => L4_OTHER,
        };
    } else if ethertype == 0x86dd && d.len() >= nh + 40 {
        key.src.copy_from_slice(&d[nh + 8..nh + 24]);
        key.dst.copy_from_slice(&d[nh + 24..nh + 40]);
        let mut next = d[nh + 6];
        let mut off = nh + 40;
        let mut found = Some(true); // Some(has ports), None: cut short
        for _ in 0..3 {
            match next {
                0 | 43 | 60 => {
                    if d.len() < off + 2 {
                        found = None;
                        break;
                    }
                    next = d[off];
                    off += 8 * (usize::from(d[off + 1]) + 1);
                }
                44 => {
                    if d.len() < off + 8 {
                        found = None;
                        break;
                    }
                    let later = be16(d, off + 2) & 0xfff8 != 0;
                    next = d[off];
                    off += 8;
                    if later {
                        found = Some(false);
                        break;
                    }
                }
                _ => break,
            }
        }
        if let Some(ports) = found {
            transport = Some((next, ports.then_some(off)));
            l4 = match next {
                6 => L4_TCP,
                17 => L4_UDP,
                58 => L4_ICMP6,
                132 => L4_SCTP,
                _ => L4_OTHER,
            };
        }
    }
    if let Some((proto, off)) = transport {
        key.proto = proto;
        if let Some(off) = off {
            match proto {
                6 | 17 | 132 if d.len() >= off + 4 => {
                    key.sport = be16(d, off);
                    key.dport = be16(d, off + 2);
                }
                1 | 58 if d.len() >= off + 2 => {
                    key.sport = d[off].into();
                    key.dport = d[off + 1].into();
                }
                _ => {}
            }
        }
    }
    Class { l3, l4, key }
}

fn by_type(t: u16) -> usize {
    match t {
        0x0800 => layout::L3_IPV4,
        0x86dd => layout::L3_IPV6,
        0x0806 => layout::L3_ARP,
        _ => layout::L3_OTHER,
    }
}

fn classes(suite: &Suite, inputs: &[Input]) -> Vec<Class> {
    inputs
        .iter()
        .map(|i| classify(suite.linktype == LinkType::En10mb, i.pkt(), i.meta.protocol))
        .collect()
}

// ----------------------------------------------------------------------------- fixtures

struct Fixture {
    suite: Suite,
    inputs: Vec<Input>,
    skipped: Vec<usize>,
    classes: Vec<Class>,
}

fn fixture(suite: &Suite, k: &Kernel) -> Fixture {
    let (inputs, skipped) = inputs(suite, &k.lo);
    let classes = classes(suite, &inputs);
    Fixture {
        suite: *suite,
        inputs,
        skipped,
        classes,
    }
}

fn suite(linktype: LinkType) -> &'static Suite {
    SUITES.iter().find(|s| s.linktype == linktype).unwrap()
}

fn program(
    target: Target,
    filter: &filter_compiler::ir::Cfg,
    rules: Vec<&filter_compiler::ir::Cfg>,
    count_only: bool,
    flows: u32,
) -> Result<ebpf::Program, String> {
    ebpf::generate(&ebpf::Spec {
        target,
        filter,
        rules,
        count_only,
        flows,
    })
}

// -------------------------------------------------------------------- the probe check

/// Every `__sk_buff` field a program reads, for every packet of every suite, as modelled.
#[test]
fn test_run_metadata_is_as_modelled() {
    let Some(k) = kernel("test_run_metadata_is_as_modelled") else {
        return;
    };
    // (name, offset, in network byte order, the value modelled; a context setting gso_segs
    // to 3 must make that field read 3 and change nothing else)
    type Want = fn(&Input) -> u32;
    let fields: [(&str, i16, bool, Want); 11] = [
        ("len", skb::LEN, false, |i| i.pkt().len() as u32),
        ("pkt_type", skb::PKT_TYPE, false, |i| i.meta.pkttype),
        ("protocol", skb::PROTOCOL, true, |i| i.meta.protocol.into()),
        ("ifindex", skb::IFINDEX, false, |i| i.meta.ifindex),
        ("vlan_present", skb::VLAN_PRESENT, false, |i| {
            i.meta.vlan_tci.is_some().into()
        }),
        ("vlan_tci", skb::VLAN_TCI, false, |i| {
            i.meta.vlan_tci.unwrap_or(0).into()
        }),
        ("vlan_proto", skb::VLAN_PROTO, true, |i| {
            i.meta.vlan_tpid.into()
        }),
        ("mark", skb::MARK, false, |i| i.meta.mark),
        ("queue_mapping", skb::QUEUE_MAPPING, false, |i| {
            i.meta.queue.into()
        }),
        ("hash", skb::HASH, false, |i| i.meta.rxhash),
        ("gso_segs", skb::GSO_SEGS, false, |_| 0),
    ];
    let mut problems = Vec::new();
    let mut runs = 0;
    for (name, off, swap, want) in fields {
        let probe = Probe::load(off, swap).unwrap_or_else(|e| panic!("probe {name}: {e}"));
        for s in &SUITES {
            let (inputs, _) = inputs(s, &k.lo);
            for i in &inputs {
                for ctx in [None, Some(gso_ctx(3))] {
                    let got = run(&probe.prog, &i.data, ctx.as_deref()).unwrap();
                    runs += 1;
                    let want = if name == "gso_segs" && ctx.is_some() {
                        3
                    } else {
                        want(i)
                    };
                    if got != want {
                        problems.push(format!(
                            "{} packet {} ({}): {name} is {got:#x}, modelled {want:#x}",
                            s.capture,
                            i.index,
                            if ctx.is_some() {
                                "with a context"
                            } else {
                                "no context"
                            }
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "test_run metadata: {runs} probe runs, {} disagreements",
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "test_run does not make the skb this test models:\n{}",
        problems.join("\n")
    );
}

// ------------------------------------------------------------------ decisions and rules

/// Whether a classic program reads the link-layer header through SKF_LL_OFF, which under
/// test_run is the pulled header in front of the data and `Meta` cannot place.
fn reads_link_header(p: &[cbpf::Insn]) -> bool {
    p.iter().any(|i| {
        i.code & 0x07 == cbpf::LD
            && i.code & 0xe0 == cbpf::ABS
            && (cbpf::SKF_LL_OFF..cbpf::SKF_NET_OFF).contains(&i.k)
    })
}

enum Outcome {
    /// Kernel and classic agree on every packet; how many the expression keeps.
    Agree(usize),
    /// The compiler refuses the expression for this target.
    CompileRejected(String),
    /// ebpf::generate refuses the compiled expression.
    GenerateRejected(String),
    /// Disagreements (or failures), each a line.
    Bad(Vec<String>),
}

/// At most this many per-packet lines per expression in a report.
const MAX_LINES: usize = 12;

fn check_expression(f: &Fixture, k: &Kernel, expr: &str, optimize: bool) -> Outcome {
    let target = Target::kernel(f.suite.linktype);
    let opts = options(optimize);
    let cfg = match guarded(|| filter_compiler::compile_cfg(expr, &target, &opts, None)) {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Outcome::CompileRejected(e.to_string()),
        Err(p) => return Outcome::Bad(vec![format!("compile_cfg PANICKED: {p}")]),
    };
    let classic = emit::emit(&cfg);
    if reads_link_header(&classic.insns) {
        return Outcome::Bad(vec![
            "the classic program reads the link header (SKF_LL_OFF), which this test cannot \
             model under test_run"
                .into(),
        ]);
    }
    let prog = match guarded(|| program(target, &cfg, vec![&cfg], false, 0)) {
        Ok(Ok(p)) => p,
        Ok(Err(m)) => return Outcome::GenerateRejected(m),
        Err(p) => return Outcome::Bad(vec![format!("ebpf::generate PANICKED: {p}")]),
    };
    let l = match load(&prog, 1) {
        Ok(l) => l,
        Err(e) => {
            return Outcome::Bad(vec![format!(
                "the kernel refuses the eBPF program ({} instructions): {e}",
                prog.insns.len()
            )])
        }
    };
    let mut bad = Vec::new();
    // What the classic program returns for each packet.
    let mut want = Vec::with_capacity(f.inputs.len());
    for i in &f.inputs {
        let w = match guarded(|| {
            interp::run(&classic.insns, i.pkt(), i.pkt().len() as u32, &i.meta)
        }) {
            Ok(w) => w,
            Err(p) => {
                return Outcome::Bad(vec![format!("interp PANICKED on packet {}: {p}", i.index)])
            }
        };
        want.push(w);
        match run(&l.prog, &i.data, None) {
            Ok(got) if got == w => {}
            Ok(got) => {
                if bad.len() < MAX_LINES {
                    bad.push(format!(
                        "packet {}: the eBPF program returns {got}, the classic one {w}",
                        i.index
                    ));
                }
            }
            Err(m) => return Outcome::Bad(vec![m]),
        }
    }
    let kept: Vec<usize> = (0..f.inputs.len()).filter(|&n| want[n] != 0).collect();
    let c = match l.counters(k.cpus) {
        Ok(c) => c,
        Err(m) => return Outcome::Bad(vec![m]),
    };
    let n = f.inputs.len() as u64;
    let bytes =
        |set: &mut dyn Iterator<Item = usize>| -> u64 { set.map(|x| f.inputs[x].file_len).sum() };
    let kept_bytes = bytes(&mut kept.iter().copied());
    let mut expect = vec![
        ("rule packets", slot::RULES, kept.len() as u64),
        ("rule bytes", slot::RULES + 1, kept_bytes),
        ("seen packets", slot::SEEN_PACKETS, n),
        (
            "seen bytes",
            slot::SEEN_BYTES,
            bytes(&mut (0..f.inputs.len())),
        ),
        ("seen segments", slot::SEEN_SEGMENTS, n),
        ("matched packets", slot::MATCHED_PACKETS, kept.len() as u64),
        ("matched bytes", slot::MATCHED_BYTES, kept_bytes),
        (
            "matched segments",
            slot::MATCHED_SEGMENTS,
            kept.len() as u64,
        ),
        ("flow inserts", slot::FLOW_INSERTS, 0),
    ];
    for (ci, name) in layout::L3_CLASSES.iter().enumerate() {
        let m = kept.iter().filter(|&&x| f.classes[x].l3 == ci).count();
        expect.push((name, slot::MATCHED_L3 + ci, m as u64));
    }
    for (ci, name) in layout::L4_CLASSES.iter().enumerate() {
        let m = kept.iter().filter(|&&x| f.classes[x].l4 == ci).count();
        expect.push((name, slot::MATCHED_L4 + ci, m as u64));
    }
    let mut rule_wrong = false;
    for (what, at, v) in expect {
        if c[at] != v {
            let what = if (slot::MATCHED_L3..slot::FLOW_INSERTS).contains(&at) {
                format!("matched class {what}")
            } else {
                what.to_string()
            };
            bad.push(format!("counter {what}: {} (expected {v})", c[at]));
            rule_wrong |= at == slot::RULES || at == slot::RULES + 1;
        }
    }
    if rule_wrong {
        // Which packets: the rule counter, packet by packet.
        let mut before = c[slot::RULES];
        let mut lines = 0;
        for (x, i) in f.inputs.iter().enumerate() {
            if let Err(m) = run(&l.prog, &i.data, None) {
                bad.push(m);
                break;
            }
            let now = match l.counters(k.cpus) {
                Ok(c) => c[slot::RULES],
                Err(m) => {
                    bad.push(m);
                    break;
                }
            };
            let hit = now - before;
            before = now;
            if hit != u64::from(want[x] != 0) && lines < MAX_LINES {
                lines += 1;
                bad.push(format!(
                    "packet {}: the rule counts {hit}, the classic program returns {}",
                    i.index, want[x]
                ));
            }
        }
    }
    if bad.is_empty() {
        Outcome::Agree(kept.len())
    } else {
        Outcome::Bad(bad)
    }
}

/// Expressions of each corpus that compile for the kernel target but that ebpf::generate
/// refuses, and a part of its message: the ARPHRD type (`link[2:2]` on SLL, `link[8:2]` on
/// SLL2, read with SKF_AD_HATYPE), which no `__sk_buff` field holds. Both optimizer settings.
fn expected_generate_errors(linktype: LinkType) -> Vec<(&'static str, &'static str)> {
    const HATYPE: &str = "cannot test the interface's hardware type";
    match linktype {
        LinkType::En10mb | LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => vec![],
        LinkType::LinuxSll => vec![("link[2:2] = 772", HATYPE)],
        LinkType::LinuxSll2 => vec![("link[8:2] = 772", HATYPE)],
    }
}

/// Real eBPF backend bugs this test found: the corpus expression, and the `regression_*`
/// test that reproduces it alone. Not excused: the corpus tests fail on them too, marked.
const KNOWN_BACKEND_BUGS: [(&str, &str); 2] = [
    (
        "ether[0xffffffff] = 0",
        "regression_rule_load_past_any_packet",
    ),
    (
        "ip6 protochain 0",
        "regression_ip6_protochain_0_rule_and_filter",
    ),
];

fn decides_as_classic(linktype: LinkType, test: &str) {
    let Some(k) = kernel(test) else {
        return;
    };
    let start = Instant::now();
    let f = fixture(suite(linktype), &k);
    let entries = load_corpus(f.suite.corpus);
    // One item per program, so that the slow ones spread over the threads.
    let items: Vec<(usize, bool)> = (0..entries.len())
        .flat_map(|n| [(n, true), (n, false)])
        .collect();
    let outcomes = par_map(&items, |&(n, optimize)| {
        check_expression(&f, &k, &entries[n].expr, optimize)
    });
    let mut results: Vec<Vec<(bool, Outcome)>> = entries.iter().map(|_| Vec::new()).collect();
    for (&(n, optimize), o) in items.iter().zip(outcomes) {
        results[n].push((optimize, o));
    }
    let mut details = String::new();
    let (mut agree, mut bad) = (0usize, 0usize);
    let mut kept_some = 0usize;
    // compiler's message -> the expressions (and optimizer setting) it refused
    let mut rejected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // (expression, message) -> how many optimizer settings
    let mut generate_errors: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (en, rs) in entries.iter().zip(&results) {
        for (optimize, r) in rs {
            let mode = if *optimize {
                "optimize on"
            } else {
                "optimize off"
            };
            match r {
                Outcome::Agree(n) => {
                    agree += 1;
                    kept_some += usize::from(*n > 0);
                }
                Outcome::CompileRejected(m) => {
                    let on_off = if *optimize { "on" } else { "off" };
                    rejected
                        .entry(m.clone())
                        .or_default()
                        .push(format!("`{}` ({on_off})", en.expr));
                }
                Outcome::GenerateRejected(m) => {
                    *generate_errors
                        .entry((en.expr.clone(), m.clone()))
                        .or_default() += 1;
                }
                Outcome::Bad(lines) => {
                    bad += 1;
                    let known = KNOWN_BACKEND_BUGS
                        .iter()
                        .find(|(x, _)| *x == en.expr)
                        .map(|(_, t)| format!("BACKEND BUG (reproduced by {t}): "))
                        .unwrap_or_default();
                    let _ = writeln!(details, "{known}{} `{}` ({mode}):", en.origin(), en.expr);
                    for l in lines {
                        let _ = writeln!(details, "    {l}");
                    }
                }
            }
        }
    }
    let substituted: Vec<usize> = f
        .inputs
        .iter()
        .filter(|i| i.substituted)
        .map(|i| i.index)
        .collect();
    let mut summary = format!(
        "ebpf_kernel[{}]: {} expressions x 2 (optimizer on, off) x {} packets of {} ({} records \
         the kernel cannot show skipped: {:?}; {} short IP packets run as protocol 0: {:?}): \
         {agree} programs agree ({kept_some} keep some packet), {bad} disagree; {} programs \
         refused by the compiler for {:?}, {} expressions by ebpf::generate; {:.1} s",
        f.suite.corpus,
        entries.len(),
        f.inputs.len(),
        f.suite.capture,
        f.skipped.len(),
        f.skipped,
        substituted.len(),
        substituted,
        rejected.values().map(Vec::len).sum::<usize>(),
        Target::kernel(linktype).linktype,
        generate_errors.len(),
        start.elapsed().as_secs_f64()
    );
    for (m, which) in &rejected {
        let _ = write!(summary, "\n    compiler: {m}: {}", which.join(", "));
    }
    for ((expr, m), n) in &generate_errors {
        let _ = write!(summary, "\n    ebpf::generate ({n} x): `{expr}`: {m}");
    }
    eprintln!("{summary}");
    // ebpf::generate must refuse exactly the expected expressions, with both optimizer
    // settings.
    let want = expected_generate_errors(linktype);
    let mismatch = generate_errors.len() != want.len()
        || generate_errors.iter().any(|((expr, m), &n)| {
            n != 2 || !want.iter().any(|(we, wm)| we == expr && m.contains(wm))
        });
    if bad > 0 || mismatch {
        let path = write_report(
            &format!("ebpf-kernel-{}-report.txt", f.suite.corpus),
            &format!("{summary}\n{details}"),
        );
        let mut msg = String::new();
        if mismatch {
            let _ = writeln!(
                msg,
                "ebpf::generate refused {generate_errors:?}; expected {want:?}, each with the \
                 optimizer on and off"
            );
        }
        panic!("{msg}{bad} programs disagree with the classic ones (report also in {path}):\n{details}");
    }
}

#[test]
fn ebpf_decides_as_classic_ethernet() {
    decides_as_classic(LinkType::En10mb, "ebpf_decides_as_classic_ethernet");
}

#[test]
fn ebpf_decides_as_classic_sll() {
    decides_as_classic(LinkType::LinuxSll, "ebpf_decides_as_classic_sll");
}

#[test]
fn ebpf_decides_as_classic_sll2() {
    decides_as_classic(LinkType::LinuxSll2, "ebpf_decides_as_classic_sll2");
}

#[test]
fn ebpf_decides_as_classic_raw() {
    decides_as_classic(LinkType::Raw, "ebpf_decides_as_classic_raw");
}

/// The protochain walk (its steps share scratch word M[0] and carry X from one to the next)
/// as eBPF, filter and rule, on chains of up to 14 headers (support::protochain_frames):
/// every program loads and decides as the classic one on every frame.
#[test]
fn ebpf_protochain_chains_decide_as_classic() {
    let Some(k) = kernel("ebpf_protochain_chains_decide_as_classic") else {
        return;
    };
    let suite = *suite(LinkType::En10mb);
    let inputs: Vec<Input> = protochain_frames()
        .iter()
        .enumerate()
        .map(|(i, (_, d))| {
            let mut hdr = [0u8; HDR];
            let n = d.len().min(HDR);
            hdr[..n].copy_from_slice(&d[..n]);
            hdr[6..12].fill(0);
            input(i, hdr, d, 0, &k.lo)
        })
        .collect();
    let f = Fixture {
        suite,
        classes: classes(&suite, &inputs),
        inputs,
        skipped: vec![],
    };
    let mut bad = Vec::new();
    for expr in [
        "ip6 protochain 6",
        "ip6 protochain 17",
        "ip6 protochain 0",
        "ip6 protochain 51",
        "ip protochain 6",
        "protochain 17",
        "ip6 protochain 6 or ip protochain 17",
    ] {
        for optimize in [true, false] {
            match check_expression(&f, &k, expr, optimize) {
                Outcome::Agree(n) if n > 0 => {}
                Outcome::Agree(_) => bad.push(format!("`{expr}`: keeps no frame")),
                Outcome::CompileRejected(m) | Outcome::GenerateRejected(m) => {
                    bad.push(format!("`{expr}`: refused: {m}"))
                }
                Outcome::Bad(lines) => bad.push(format!("`{expr}`:\n  {}", lines.join("\n  "))),
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// ---------------------------------------------------------------------- counters, flows

/// The wire segments a packet is given through the context: some GSO packets among the
/// rest (None: no context, 0 segments in the skb, counted as 1).
fn segments_given(index: usize) -> Option<u32> {
    match index % 10 {
        3 => Some(2 + (index % 7) as u32),
        7 => Some(1),
        _ => None,
    }
}

fn counts_capture(f: &Fixture, k: &Kernel, expr: &str, count_only: bool) -> Vec<String> {
    let target = Target::kernel(f.suite.linktype);
    let cfg = filter_compiler::compile_cfg(expr, &target, &options(true), None)
        .unwrap_or_else(|e| panic!("`{expr}` for {target:?}: {e}"));
    let classic = emit::emit(&cfg);
    let prog = program(target, &cfg, vec![], count_only, FLOWS)
        .unwrap_or_else(|e| panic!("ebpf::generate `{expr}`: {e}"));
    let l = load(&prog, 0).unwrap_or_else(|e| panic!("loading `{expr}`: {e}"));
    let mut bad = Vec::new();
    let mut seen = [0u64; 3];
    let mut matched = [0u64; 3];
    let mut l3 = [[0u64; 5]; 2];
    let mut l4 = [[0u64; 6]; 2];
    let mut flows: BTreeMap<FlowKey, (u64, u64)> = BTreeMap::new();
    // Twice over: a flow's second packets find its cache slot, or find it taken by another
    // flow (whose counts then move to the LRU table) and take it back.
    let once = f.inputs.iter().zip(&f.classes);
    for (i, c) in once.clone().chain(once) {
        let ctx = segments_given(i.index).map(gso_ctx);
        let got = run(&l.prog, &i.data, ctx.as_deref()).unwrap();
        let want = interp::run(&classic.insns, i.pkt(), i.pkt().len() as u32, &i.meta);
        let ret = if count_only { 0 } else { want };
        if got != ret {
            bad.push(format!("packet {}: returns {got}, expected {ret}", i.index));
        }
        let segs = u64::from(segments_given(i.index).unwrap_or(0).max(1));
        let v = [1, i.file_len, segs];
        for (s, x) in seen.iter_mut().zip(v) {
            *s += x;
        }
        l3[0][c.l3] += 1;
        l4[0][c.l4] += 1;
        if want != 0 {
            for (s, x) in matched.iter_mut().zip(v) {
                *s += x;
            }
            l3[1][c.l3] += 1;
            l4[1][c.l4] += 1;
            let e = flows.entry(c.key).or_default();
            e.0 += 1;
            e.1 += i.file_len;
        }
    }
    let c = l.counters(k.cpus).unwrap();
    let mut check = |what: String, got: u64, want: u64| {
        if got != want {
            bad.push(format!("{what}: {got} (expected {want})"));
        }
    };
    for (n, name) in ["packets", "bytes", "segments"].iter().enumerate() {
        check(format!("seen {name}"), c[slot::SEEN_PACKETS + n], seen[n]);
        check(
            format!("matched {name}"),
            c[slot::MATCHED_PACKETS + n],
            matched[n],
        );
    }
    for (m, which) in ["seen", "matched"].iter().enumerate() {
        let (a, b) = if m == 0 {
            (slot::SEEN_L3, slot::SEEN_L4)
        } else {
            (slot::MATCHED_L3, slot::MATCHED_L4)
        };
        for (ci, name) in layout::L3_CLASSES.iter().enumerate() {
            check(format!("{which} l3 {name}"), c[a + ci], l3[m][ci]);
        }
        for (ci, name) in layout::L4_CLASSES.iter().enumerate() {
            check(format!("{which} l4 {name}"), c[b + ci], l4[m][ci]);
        }
    }
    check("flow failures".into(), c[slot::FLOW_FAILURES], 0);
    let (table, entries) = l.flows(k.cpus).unwrap();
    // Flows go into the LRU table only when another flow takes their cache slot; the table
    // is large enough never to evict here, so every insertion is an entry.
    check("flow inserts".into(), c[slot::FLOW_INSERTS], entries as u64);
    if flows.len() > 100 && entries == 0 {
        bad.push(format!(
            "{} flows in {} cache slots, and none went to the LRU table: the test no longer \
             exercises the move",
            flows.len(),
            l.cache_slots
        ));
    }
    for (key, v) in &flows {
        match table.get(key) {
            Some(t) if t == v => {}
            Some(t) => bad.push(format!(
                "flow {key:?}: (packets, bytes) {t:?}, expected {v:?}"
            )),
            None => bad.push(format!("flow {key:?} {v:?} missing from the table")),
        }
    }
    for (key, v) in &table {
        if !flows.contains_key(key) {
            bad.push(format!("flow {key:?} {v:?} in the table, not expected"));
        }
    }
    if bad.len() > 2 * MAX_LINES {
        bad.truncate(2 * MAX_LINES);
        bad.push("...".into());
    }
    eprintln!(
        "ebpf_counts[{} `{expr}`{}]: {} packets ({} matched), {} flows ({} moved to the LRU \
         table), {} problems",
        f.suite.capture,
        if count_only { ", count only" } else { "" },
        seen[0],
        matched[0],
        flows.len(),
        entries,
        bad.len()
    );
    bad
}

#[test]
fn ebpf_counts_captures() {
    let Some(k) = kernel("ebpf_counts_captures") else {
        return;
    };
    let mut report = String::new();
    for s in &SUITES {
        let f = fixture(s, &k);
        for (expr, count_only) in [("", false), ("tcp or udp", true)] {
            let bad = counts_capture(&f, &k, expr, count_only);
            if !bad.is_empty() {
                let _ = writeln!(report, "{} `{expr}`:", s.capture);
                for b in bad {
                    let _ = writeln!(report, "    {b}");
                }
            }
        }
    }
    assert!(report.is_empty(), "the counters are wrong:\n{report}");
}

// ------------------------------------------------------------------- backend bugs found

/// Regression (fixed: the assembler drops unreachable instructions): a rule reading at a
/// constant offset past any packet did not load.
///
/// The compiler turns a constant offset no packet can reach (`ether[0xffffffff]`,
/// `ip[0x10000000]`) into a load at SKF_LL_OFF - 1. As the filter (exact loads) that is a
/// plain LD_ABS the kernel fails at run time, which is right. As a rule (guarded loads),
/// `Translator::guard_const` sees an end past i32::MAX and emits an unconditional jump to the
/// rule's reject label, then the LD_ABS anyway: the load (and whatever follows it up to the
/// next jump target) can never run, and the verifier refuses the whole program
/// ("unreachable insn N", EINVAL) before looking at it. Every such expression used as a
/// rule (`--count`/`--top` rules) makes bpfdump fail to load. ethernet.txt:654.
#[test]
fn regression_rule_load_past_any_packet() {
    let Some(_k) = kernel("regression_rule_load_past_any_packet") else {
        return;
    };
    let mut problems = Vec::new();
    for (linktype, expr) in [
        (LinkType::En10mb, "ether[0xffffffff] = 0"),
        (LinkType::Raw, "ip[0x10000000] = 0"),
    ] {
        let t = Target::kernel(linktype);
        let all = filter_compiler::compile_cfg("", &t, &options(true), None).unwrap();
        let rule = filter_compiler::compile_cfg(expr, &t, &options(true), None).unwrap();
        let p = program(t, &all, vec![&rule], false, 0).unwrap();
        if let Err(e) = load(&p, 1) {
            problems.push(format!("{linktype:?} rule `{expr}`: {e}"));
        }
    }
    assert!(
        problems.is_empty(),
        "a rule with a load past any packet is refused by the verifier:\n{}",
        problems.join("\n")
    );
}

/// Regression (fixed: the walk no longer tests, in a step, for the number the test before
/// the step already took): `ip6 protochain 0` as the filter and as a rule did not load: the
/// verifier gave up after its 1,000,000 instructions (E2BIG). The second `jeq #0` had a known
/// outcome, so the verifier asked for the precision of A, whose history goes back to an
/// LD_IND; its backtracking cannot see through LD_ABS/LD_IND, so it marked every scalar
/// precise, X's path-dependent ranges included, and no state could be pruned any more:
/// 353,000 instructions processed for the filter alone, against 11,000 for `protochain 6`.
/// ethernet.txt:363.
#[test]
fn regression_ip6_protochain_0_rule_and_filter() {
    let Some(_k) = kernel("regression_ip6_protochain_0_rule_and_filter") else {
        return;
    };
    let t = Target::kernel(LinkType::En10mb);
    // Every number the walk itself tests for, as filter and two rules in one program.
    for n in [0, 43, 44, 51, 59, 60] {
        for chain in ["ip6", "ip"] {
            let expr = format!("{chain} protochain {n}");
            let cfg = filter_compiler::compile_cfg(&expr, &t, &options(true), None).unwrap();
            let p = program(t, &cfg, vec![&cfg, &cfg], false, 0).unwrap();
            if let Err(e) = load(&p, 2) {
                panic!("`{expr}` as filter and two rules is refused by the verifier: {e}");
            }
        }
    }
}
