//! What each fuzz target checks. Every `run` takes libFuzzer's bytes and panics on a finding
//! (libfuzzer-sys turns a panic on any thread into an abort, which libFuzzer reports).

/// Target `filter`: the bytes as a pcap-filter expression.
///
/// For every link type, both targets (offline and kernel) and the optimizer on and off:
/// compiling must not panic, every program it emits must pass the kernel's checker (an
/// offline one longer than the kernel's 4,096 instructions is not checked), a compile error
/// must render its caret line, the program must dump in the three `-d` formats, and no
/// single compilation may take more than [`LIMIT`]. For the kernel targets
/// (optimized), the eBPF backend's decision program is generated from the same graph too.
///
/// The compiler recurses over the expression (bounded by `parse::MAX_NESTING` = 5000 levels
/// and `MAX_CHAIN` = 20000 terms), so, as bpfdump does (src/filter.rs, `on_compile_stack`),
/// compilations run on a thread with a 256 MiB stack: one worker thread made once, fed an
/// expression at a time, so that any input length the fuzzer tries (up to `-max_len`) is
/// safe and no thread is created per input.
pub mod filter {
    use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
    use std::sync::{Mutex, OnceLock};
    use std::time::{Duration, Instant};

    use filter_compiler::resolve::{Resolver, ServiceProto};
    use filter_compiler::{
        check, compile, compile_cfg, dump, ebpf, LinkType, Mode, Options, Target,
    };

    /// The longest a single compilation may take (in the fuzz build: optimized, with debug
    /// assertions and AddressSanitizer, which is 2-3x slower than a release build).
    pub const LIMIT: Duration = Duration::from_secs(1);
    /// The compile thread's stack, as bpfdump's COMPILE_STACK.
    const STACK: usize = 256 << 20;

    type Worker = (SyncSender<String>, Receiver<()>);

    pub fn run(data: &[u8]) {
        let expr = String::from_utf8_lossy(data).into_owned();
        static WORKER: OnceLock<Mutex<Worker>> = OnceLock::new();
        let worker = WORKER.get_or_init(|| {
            let (to_worker, inbox) = sync_channel::<String>(0);
            let (done, from_worker) = sync_channel(0);
            std::thread::Builder::new()
                .name("compile".into())
                .stack_size(STACK)
                .spawn(move || {
                    for expr in inbox {
                        check_expr(&expr);
                        if done.send(()).is_err() {
                            return;
                        }
                    }
                })
                .expect("compile thread");
            Mutex::new((to_worker, from_worker))
        });
        let w = worker.lock().unwrap_or_else(|e| e.into_inner());
        w.0.send(expr).expect("compile thread alive");
        w.1.recv().expect("compile thread finished the expression");
    }

    /// The checks for one expression (on the caller's stack: give it a big one).
    pub fn check_expr(expr: &str) {
        for optimize in [true, false] {
            let opts = Options {
                optimize,
                snaplen: 262_144,
                netmask: 0xffff_ff00,
                resolver: &FakeResolver,
            };
            for lt in LinkType::ALL {
                for target in [Target::offline(lt), Target::kernel(lt)] {
                    let t0 = Instant::now();
                    let got = compile(expr, &target, &opts);
                    let took = t0.elapsed();
                    if took > LIMIT {
                        panic!(
                            "slow compile: {took:?} for {target:?} optimize={optimize}, \
                             expression of {} bytes: {expr:?}",
                            expr.len()
                        );
                    }
                    match got {
                        Ok(prog) => {
                            let prog = prog.insns;
                            // Over a capture file a program may be longer than the kernel
                            // takes (and is then only run by the VM); nothing else differs.
                            let checked = target.mode == Mode::Kernel
                                || prog.len() <= filter_compiler::cbpf::MAXINSNS;
                            if let Err(e) = checked.then(|| check::check(&prog)).transpose() {
                                panic!(
                                    "emitted program fails the checker ({e}) for {target:?} \
                                     optimize={optimize}: {expr:?}\n{}",
                                    dump::asm(&prog)
                                );
                            }
                            let _ = (dump::asm(&prog), dump::c(&prog));
                            let back = dump::parse_decimal(&dump::decimal(&prog));
                            assert_eq!(back.as_ref(), Ok(&prog), "-ddd round trip: {expr:?}");
                        }
                        Err(e) => {
                            let _ = e.render(expr);
                        }
                    }
                }
            }
        }
        // The eBPF backend, from the optimized graph of each kernel target.
        let opts = Options {
            optimize: true,
            snaplen: 262_144,
            netmask: 0,
            resolver: &FakeResolver,
        };
        for lt in LinkType::ALL {
            if let Ok(cfg) = compile_cfg(expr, &Target::kernel(lt), &opts, None) {
                let _ = ebpf::decision_only(&cfg);
            }
        }
    }

    /// A resolver that knows about half of all names, deterministically (a hash of the
    /// name), so that the name paths of the compiler (hosts with several addresses, v4 and
    /// v6, services, protocols, networks, ethers) are reachable without any I/O.
    pub struct FakeResolver;

    fn hash(s: &str, salt: u64) -> u64 {
        // FNV-1a.
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ salt;
        for b in s.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h
    }

    impl Resolver for FakeResolver {
        fn host_v4(&self, name: &str) -> Vec<[u8; 4]> {
            let h = hash(name, 1);
            let n = (h % 4) as usize; // 0 to 3 addresses
            (0..n)
                .map(|i| {
                    let b = (h >> (8 * i)).to_be_bytes();
                    [10, b[5], b[6], b[7]]
                })
                .collect()
        }
        fn host_v6(&self, name: &str) -> Vec<[u8; 16]> {
            let h = hash(name, 2);
            let n = (h % 3) as usize;
            (0..n)
                .map(|i| {
                    let mut a = [0u8; 16];
                    a[0] = 0x20;
                    a[1] = 0x01;
                    a[8..].copy_from_slice(&(h >> i).to_be_bytes());
                    a
                })
                .collect()
        }
        fn service(&self, name: &str, proto: ServiceProto) -> Option<u16> {
            let h = hash(name, 3 + proto as u64);
            (h % 2 == 0).then_some((h >> 8) as u16)
        }
        fn protocol(&self, name: &str) -> Option<u8> {
            let h = hash(name, 7);
            (h % 2 == 0).then_some((h >> 8) as u8)
        }
        fn ether_host(&self, name: &str) -> Option<[u8; 6]> {
            let h = hash(name, 8);
            let b = h.to_be_bytes();
            (h % 2 == 0).then_some([b[1], b[2], b[3], b[4], b[5], b[6]])
        }
        fn network(&self, name: &str) -> Option<u32> {
            let h = hash(name, 9);
            (h % 2 == 0).then_some((h >> 32) as u32 & 0xffff_ff00)
        }
    }
}

/// Target `vm`: a classic BPF program, socket metadata and a packet.
///
/// Layout: a u16 (little-endian) instruction count `n`, `n` 8-byte `struct sock_filter`s
/// (code u16, jt u8, jf u8, k u32, little-endian; cut to what the input has), [`META`] bytes
/// of metadata (zero-filled if short), then the packet. Any program is run by the reference
/// interpreter (`interp::try_run`) and the decoded VM (`vm::Vm`) and dumped: nothing may
/// panic. For programs the kernel's checker accepts, both must return the same value.
pub mod vm {
    use filter_compiler::interp::{self, Meta};
    use filter_compiler::vm::Vm;
    use filter_compiler::{check, dump, Insn};

    /// Bytes of metadata between the program and the packet.
    pub const META: usize = 32;

    /// Splits the input (see the module doc).
    pub fn decode(data: &[u8]) -> (Vec<Insn>, Meta, u32, &[u8]) {
        let n = match data {
            [a, b, ..] => usize::from(u16::from_le_bytes([*a, *b])),
            _ => 0,
        };
        let rest = data.get(2..).unwrap_or(&[]);
        let n = n.min(rest.len() / 8);
        let prog = rest[..8 * n]
            .chunks_exact(8)
            .map(|c| {
                Insn::new(
                    u16::from_le_bytes([c[0], c[1]]),
                    c[2],
                    c[3],
                    u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect();
        let rest = &rest[8 * n..];
        let mut m = [0u8; META];
        let take = rest.len().min(META);
        m[..take].copy_from_slice(&rest[..take]);
        let pkt = &rest[take..];
        let u16_at = |i: usize| u16::from_le_bytes([m[i], m[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([m[i], m[i + 1], m[i + 2], m[i + 3]]);
        let flags = m[0];
        let meta = Meta {
            protocol: u16_at(1),
            pkttype: u32::from(m[3] & 7),
            ifindex: u32::from(m[4]),
            vlan_tci: (flags & 1 != 0).then(|| u16_at(5)),
            vlan_tpid: if flags & 2 != 0 { 0x88a8 } else { 0x8100 },
            mark: u32_at(7),
            hatype: u16_at(11),
            // Offsets anywhere, inside the packet or past it.
            net_off: usize::from(m[13]),
            ll_off: (flags & 4 != 0).then(|| usize::from(m[14])),
            queue: u16_at(15),
            rxhash: u32_at(17),
            cpu: u32::from(m[21]),
            random: u32_at(22),
            pay_offset: u32::from(u16_at(26)),
        };
        // Length on the wire: at least the captured length, or (flag) anything.
        let extra = u32::from(u16_at(28));
        let wirelen = if flags & 8 != 0 {
            u32_at(28)
        } else {
            (pkt.len() as u32).saturating_add(extra)
        };
        (prog, meta, wirelen, pkt)
    }

    /// Encodes a program, metadata bytes and a packet in the layout [`decode`] reads.
    pub fn encode(prog: &[Insn], meta: &[u8; META], pkt: &[u8]) -> Vec<u8> {
        let mut v = (prog.len() as u16).to_le_bytes().to_vec();
        for i in prog {
            v.extend(i.code.to_le_bytes());
            v.extend([i.jt, i.jf]);
            v.extend(i.k.to_le_bytes());
        }
        v.extend(meta);
        v.extend(pkt);
        v
    }

    pub fn run(data: &[u8]) {
        let (prog, meta, wirelen, pkt) = decode(data);
        let accepted = check::check(&prog).is_ok();
        let reference = interp::try_run(&prog, pkt, wirelen, &meta);
        let plain = interp::run(&prog, pkt, wirelen, &meta);
        assert_eq!(plain, reference.unwrap_or(0), "interp::run vs try_run");
        let vm = Vm::new(&prog);
        let decoded = vm.run(pkt, wirelen, &meta);
        if accepted {
            assert_eq!(
                decoded,
                plain,
                "vm and interp disagree ({reference:?}); wirelen {wirelen}, {meta:?}, \
                 packet {pkt:02x?}, program:\n{}",
                dump::asm(&prog)
            );
        }
        let _ = (dump::asm(&prog), dump::c(&prog));
        assert_eq!(
            dump::parse_decimal(&dump::decimal(&prog)).as_ref(),
            Ok(&prog),
            "-ddd round trip"
        );
    }
}

/// Target `reader`: the bytes as a capture file, read by bpfdump's reader (src/reader.rs)
/// as `bpfdump -r` reads it.
///
/// Layout: one byte that picks how the file arrives (0: in one read, as a regular file;
/// n: n bytes per read, as a slow pipe, which exercises joining records cut across chunks),
/// then the file. The file is opened, its first interface looked up, and every record read
/// until the end or an error; then read again through the pcap fast path
/// (`pcap_records`). Nothing may panic, and memory must stay bounded whatever the length
/// fields say (run with `-rss_limit_mb=512 -malloc_limit_mb=256`).
pub mod reader {
    use std::io::{self, Read};

    use crate::reader::{Reader, Record};

    /// A reader that hands out at most `step` bytes per read.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn open(file: &[u8], step: usize) -> Result<Reader, crate::error::Error> {
        let src = Trickle {
            data: file.to_vec(),
            at: 0,
            step,
        };
        Reader::open(src, "fuzz.pcap")
    }

    pub fn run(data: &[u8]) {
        let Some((&how, file)) = data.split_first() else {
            return;
        };
        let step = match how {
            0 => usize::MAX,
            n => usize::from(n),
        };
        let Ok(mut r) = open(file, step) else {
            return;
        };
        let _ = (r.is_pcap(), r.format());
        if r.first_interface().is_err() {
            return;
        }
        let mut bytes = 0usize;
        while let Some(rec) = r.next() {
            match rec {
                Ok(Record::Packet(p, _raw)) => {
                    assert!(p.data.len() <= file.len(), "a packet longer than the file");
                    bytes += p.data.len();
                    let _ = (p.linktype, p.snaplen, p.ts, p.origlen);
                }
                Ok(Record::Block(b)) => bytes += b.body.len(),
                Err(e) => {
                    let _ = e.to_string();
                    break;
                }
            }
        }
        assert!(bytes <= file.len(), "read more bytes than the file has");
        let Ok(mut r) = open(file, step) else {
            return;
        };
        let mut n = 0usize;
        let _ = r.pcap_records(|data, _wirelen, rec| {
            assert!(rec.len() >= 16 && rec.len() - 16 == data.len());
            n += rec.len();
            Ok(true)
        });
        assert!(n <= file.len());
    }
}

/// Target `printer`: the bytes as one packet of each link type, printed by bpfdump's
/// printer (src/print) with a flag set.
///
/// Layout: a byte that picks the link type (of [`LINKTYPES`]), two that pick the flags (see
/// [`options`]: -v level, -e, -q, -x/-xx/-X/-XX/-A/-AA, -S, -#, -n/-nn, --nano, the -t
/// format), a u16 (LE) added
/// to the captured length to make the length on the wire, then the packet. The packet is
/// printed twice (the second time with the TCP state the first left). Names of ports and
/// protocols are printed (-n, not -nn) but addresses are never resolved (-n at least),
/// so runs do no DNS.
pub mod printer {
    use crate::print::{Options, Printer, TimeFormat};
    use crate::reader::{Packet, Timestamp};

    /// Every link type the printer knows (as in src/print/fuzz.rs), and one it does not.
    pub const LINKTYPES: [u32; 7] = [1, 113, 276, 101, 12, 14, 147];

    pub fn options(f0: u8, f1: u8) -> Options {
        let (hex, hex_ascii, ascii) = [
            (0, false, 0),
            (1, false, 0),
            (2, true, 0),
            (0, false, 2),
            (2, false, 0),
            (1, true, 0),
            (0, false, 1),
            (0, false, 0),
        ][usize::from(f0 >> 5)];
        Options {
            numeric: 1 + (f0 >> 4 & 1),
            verbose: f0 & 3,
            link: f0 & 4 != 0,
            quiet: f0 & 8 != 0,
            hex,
            hex_ascii,
            ascii,
            absolute_seq: f1 & 1 != 0,
            number: f1 & 2 != 0,
            time: [
                TimeFormat::Local,
                TimeFormat::None,
                TimeFormat::Epoch,
                TimeFormat::SincePrevious,
                TimeFormat::Date,
                TimeFormat::SinceFirst,
            ][usize::from(f1 >> 3) % 6],
            nano: f1 & 4 != 0,
            ..Options::default()
        }
    }

    pub fn run(data: &[u8]) {
        let [lt, f0, f1, w0, w1, pkt @ ..] = data else {
            return;
        };
        let linktype = LINKTYPES[usize::from(*lt) % LINKTYPES.len()];
        let origlen = (pkt.len() as u32).saturating_add(u32::from(u16::from_le_bytes([*w0, *w1])));
        let mut pr = Printer::new(Vec::new(), options(*f0, *f1));
        for secs in [1_700_000_000, 1_700_000_001] {
            let p = Packet {
                linktype,
                snaplen: 262_144,
                ts: Timestamp {
                    secs,
                    nanos: 123_456_789,
                    nano: false,
                },
                origlen,
                data: pkt,
            };
            pr.packet(&p).expect("printing to memory");
        }
        pr.flush().expect("printing to memory");
    }
}
