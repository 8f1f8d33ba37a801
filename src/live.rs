//! Live capture: `-i IFACE`. The filter runs in the kernel; packets are read in place from the
//! ring and written to a file (`-w`, with rotation) or printed. On SIGINT/SIGTERM, `-c`, or an
//! error, what was captured is flushed and tcpdump's three counter lines are printed.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use filter_compiler::{LinkType, Options, Program, Target};

use crate::bpf::report::KernelStats;
use crate::cli::{Config, Direction, DumpFormat, EbpfMode};
use crate::counting::{self, Counter, Out};
use crate::error::{io_message, Error};
use crate::filter::{compile_for, describe_linktype, dump_text};
use crate::iface::{self, Iface};
use crate::output::stdout_file;
use crate::print::Printer;
use crate::privs;
use crate::reader::{Packet, Timestamp};
use crate::resolver::SystemResolver;
use crate::ring::{self, Frame, Framing, PacketSocket, RingSize};
use crate::savefile::{self, LivePacket, SaveConfig, SaveFile, Written};

/// Default ring (`cli::DEFAULT_RING_KIB`, as --help says it).
const DEFAULT_RING: u64 = crate::cli::DEFAULT_RING_KIB * 1024;
/// Block size when printing or piping: the kernel hands over a block when it is full or
/// times out, so small blocks reach the reader sooner (128 KiB fits a 64 KiB GRO packet twice).
const PRINT_BLOCK: u64 = 128 * 1024;
/// Block size when writing a file, where nobody waits for each packet: every hand-over
/// wakes us up, and 512 KiB blocks measured 25-30% less CPU than 128 KiB with 1500-byte
/// packets (16 blocks in the default ring still leave the kernel room while we write).
const FILE_BLOCK: u64 = 512 * 1024;
/// Block retire timeout: packets reach the screen, pipe or file within this (libpcap: 1000 ms,
/// or 100 ms on a terminal). Printing and pipes want packets at once; a file does not, and
/// each hand-over wakes us up, which is most of the cost of a capture that keeps few packets.
const BLOCK_TIMEOUT_MS: u32 = 10;
const FILE_TIMEOUT_MS: u32 = 1000;
const IMMEDIATE_TIMEOUT_MS: u32 = 1;

/// `-d` with `-i`: the program that would be attached to that interface.
pub fn dump(cfg: &Config, expr: &str, format: DumpFormat) -> Result<String, Error> {
    let iface = choose_interface(cfg)?;
    let prog = compile(cfg, &iface, expr, cfg.live.direction)?;
    Ok(dump_text(&prog, format))
}

/// `-d` with an eBPF mode: the counting program, for `-i`'s interface or for `-y`'s link type.
pub fn dump_ebpf(cfg: &Config, expr: &str) -> Result<String, Error> {
    let e = cfg
        .ebpf
        .as_ref()
        .ok_or_else(|| Error::msg("no eBPF mode"))?;
    let (target, netmask, dir) = match &cfg.live.interface {
        Some(_) => {
            let iface = choose_interface(cfg)?;
            (
                Target::kernel(iface.linktype),
                iface.netmask,
                cfg.live.direction,
            )
        }
        None => (Target::kernel(cfg.linktype), 0, Direction::InOut),
    };
    let p = counting::program(cfg, e, target, netmask, expr, direction(dir))?;
    Ok(counting::listing(&p))
}

/// `--explain`: the optimizer's steps, for `-i`'s interface as the kernel sees it, or
/// offline for `-y`'s link type.
pub fn explain(cfg: &Config, expr: &str) -> Result<String, Error> {
    let (target, netmask, dir) = match &cfg.live.interface {
        Some(_) => {
            let iface = choose_interface(cfg)?;
            (
                Target::kernel(iface.linktype),
                iface.netmask,
                direction(cfg.live.direction),
            )
        }
        None => (Target::offline(cfg.linktype), 0, None),
    };
    let resolver = SystemResolver::default();
    let opts = Options {
        optimize: true,
        snaplen: cfg.snaplen,
        netmask,
        resolver: &resolver,
    };
    crate::filter::explain_for(expr, &target, &opts, dir)
}

fn direction(d: Direction) -> Option<filter_compiler::Direction> {
    match d {
        Direction::Out => Some(filter_compiler::Direction::Out),
        Direction::In => Some(filter_compiler::Direction::In),
        Direction::InOut => None,
    }
}

fn choose_interface(cfg: &Config) -> Result<Iface, Error> {
    let iface = find_interface(cfg)?;
    // As tcpdump, `-y` must name a link type the device has (an AF_PACKET socket offers
    // only the one its hardware type gives).
    if cfg.linktype_given && cfg.linktype != iface.linktype {
        return Err(Error::msg(format!(
            "{} is not one of the link types supported by {} (it has {})",
            cfg.linktype.name(),
            iface.name,
            iface.linktype.name()
        )));
    }
    Ok(iface)
}

fn find_interface(cfg: &Config) -> Result<Iface, Error> {
    match &cfg.live.interface {
        Some(name) => match iface::lookup(name) {
            // As tcpdump: a number that is not an interface's name is a position in `-D`.
            Err(e) => match iface::by_number(name) {
                Some(n) => iface::lookup(&n),
                None => Err(e),
            },
            ok => ok,
        },
        None => {
            let name = iface::default_name()?;
            iface::lookup(&name)
        }
    }
}

/// `-J`: the time stamp types of the interface, as tcpdump lists them. An AF_PACKET socket
/// time-stamps in the kernel; bpfdump takes no other kind (no SO_TIMESTAMPING).
pub fn tstamp_types(cfg: &Config) -> Result<String, Error> {
    let iface = choose_interface(cfg)?;
    Ok(format!(
        "Time stamp types for {} (use option -j to set):\n  host (Host)\n",
        iface.name
    ))
}

/// Compiles for the kernel, keeping only packets of direction `dir`.
fn compile(cfg: &Config, iface: &Iface, expr: &str, dir: Direction) -> Result<Program, Error> {
    let resolver = SystemResolver::default();
    let opts = Options {
        optimize: cfg.optimize,
        snaplen: cfg.snaplen,
        netmask: iface.netmask,
        resolver: &resolver,
    };
    let target = Target::kernel(iface.linktype);
    compile_for(expr, &target, &opts, direction(dir))
}

/// The signal handler's only job: note the signal and wake the poll loop.
static STOP: AtomicBool = AtomicBool::new(false);
static REPORT: AtomicBool = AtomicBool::new(false);
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

/// When the first stop signal came (CLOCK_REALTIME, ns; 0: none yet), the clock of the
/// packets' time stamps: the capture writes what the kernel had taken by then.
static STOP_NS: AtomicU64 = AtomicU64::new(0);

/// CLOCK_REALTIME in ns (async-signal-safe: clock_gettime is).
fn realtime_ns() -> u64 {
    // SAFETY: clock_gettime fills the timespec it is given.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

extern "C" fn on_signal(sig: libc::c_int) {
    if sig == libc::SIGUSR1 {
        REPORT.store(true, Ordering::SeqCst);
    } else {
        let _ = STOP_NS.compare_exchange(0, realtime_ns(), Ordering::SeqCst, Ordering::SeqCst);
        STOP.store(true, Ordering::SeqCst);
    }
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe just means we are awake already.
        unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
    }
}

/// A self-pipe the signal handler writes to, so poll() wakes without a race.
fn install_signals() -> Result<OwnedFd, Error> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
        return Err(Error::io("pipe", &io::Error::last_os_error()));
    }
    // SAFETY: both descriptors are new and ours; the write end lives for the whole process.
    let (rd, _wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), fds[1]) };
    WAKE_FD.store(fds[1], Ordering::SeqCst);
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    // No SA_RESTART: poll() returns EINTR.
    let act = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGUSR1,
    ] {
        // Cooperate with nohup(1): a SIGHUP ignored when we start stays ignored, as in
        // tcpdump's main().
        if s == Signal::SIGHUP && ignored(libc::SIGHUP) {
            continue;
        }
        // SAFETY: the handler only touches atomics and calls write(2).
        unsafe { sigaction(s, &act) }
            .map_err(|e| Error::msg(format!("sigaction: {}", e.desc())))?;
    }
    Ok(rd)
}

/// Whether `sig` is ignored (SIG_IGN), as inherited from whoever started us.
fn ignored(sig: libc::c_int) -> bool {
    // SAFETY: a query only (no new action); `old` is plain data the kernel fills.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    r == 0 && old.sa_sigaction == libc::SIG_IGN
}

fn drain(fd: RawFd) {
    let mut buf = [0u8; 64];
    // SAFETY: reads into a local buffer from our non-blocking pipe.
    while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
}

/// Kernel counters, as 64 bits (the kernel's are 32-bit and reset at each read).
#[derive(Default)]
struct Counters {
    captured: u64,
    received: u64,
    dropped: u64,
}

impl Counters {
    fn poll_kernel(&mut self, sock: &PacketSocket) {
        if let Ok((recv, drop)) = sock.stats() {
            self.received += u64::from(recv);
            self.dropped += u64::from(drop);
            // For the view, when one runs on another thread.
            KERNEL_RECEIVED.store(self.received, Ordering::Relaxed);
            KERNEL_DROPPED.store(self.dropped, Ordering::Relaxed);
        }
    }

    fn kernel(&self) -> KernelStats {
        KernelStats {
            received: self.received,
            dropped: self.dropped,
        }
    }

    fn report(&self) {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let _ = write!(
            io::stderr(),
            "{} packet{} captured\n{} packet{} received by filter\n{} packet{} dropped by kernel\n",
            self.captured,
            plural(self.captured),
            self.received,
            plural(self.received),
            self.dropped,
            plural(self.dropped),
        );
    }
}

enum Sink {
    /// -w; with --print, a printer too.
    File(SaveFile, Option<Box<Printer<std::fs::File>>>),
    Print(Box<Printer<std::fs::File>>),
}

impl Sink {
    fn flush(&mut self) -> Result<(), Error> {
        match self {
            Sink::File(f, p) => {
                f.flush()?;
                match p {
                    Some(p) => p.flush().map_err(|e| Error::io("stdout", &e)),
                    None => Ok(()),
                }
            }
            Sink::Print(p) => p.flush().map_err(|e| Error::io("stdout", &e)),
        }
    }
    fn finish(self, c: &Counters) -> Result<(), Error> {
        match self {
            Sink::File(mut f, p) => {
                f.check_removed();
                let printed = match p {
                    Some(mut p) => p.flush().map_err(|e| Error::io("stdout", &e)),
                    None => Ok(()),
                };
                f.finish(Some(savefile::Stats {
                    received: c.received,
                    dropped: c.dropped,
                    delivered: c.captured,
                }))
                .and(printed)
            }
            Sink::Print(mut p) => p.flush().map_err(|e| Error::io("stdout", &e)),
        }
    }
}

fn open_error(iface: &Iface, e: ring::OpenError) -> Error {
    let name = &iface.name;
    match e.err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => Error::msg(format!(
            "{name}: You don't have permission to capture on that device (it needs CAP_NET_RAW: \
             run as root or give bpfdump cap_net_raw)"
        )),
        Some(libc::ENETDOWN) => Error::msg(format!("{name}: That device is not up")),
        Some(libc::ENODEV) | Some(libc::ENXIO) => {
            Error::msg(format!("{name}: No such device exists"))
        }
        Some(libc::ENOMEM) => Error::msg(format!(
            "{name}: not enough memory for the capture ring ({}): try a smaller -B",
            io_message(&e.err)
        )),
        _ => Error::msg(format!("{name}: {}: {}", e.step, io_message(&e.err))),
    }
}

/// Opens the capture socket with the filter attached: the classic program, or with an eBPF
/// mode the counting program (left loaded in `loaded`, whose maps the caller reads).
///
/// -Q in: the kernel need not even show us outgoing packets. On loopback every packet is
/// seen twice, going out and coming back in; like libpcap, keep one copy, so there too the
/// kernel drops the outgoing one. Kernels before 4.20 lack PACKET_IGNORE_OUTGOING: then the
/// filter tests the direction.
fn open_socket<S>(
    cfg: &Config,
    iface: &Iface,
    expr: &str,
    loaded: &mut Option<crate::bpf::Loaded>,
    open: impl Fn(&ring::Options) -> Result<S, ring::OpenError>,
) -> Result<S, Error> {
    let drop_outgoing = cfg.live.direction == Direction::In || iface.is_loopback;
    let mut in_filter = false;
    loop {
        let dir = match cfg.live.direction {
            Direction::InOut | Direction::In if drop_outgoing => {
                if in_filter {
                    Direction::In
                } else {
                    Direction::InOut
                }
            }
            d => d,
        };
        let classic;
        let filter = match &cfg.ebpf {
            None => {
                classic = compile(cfg, iface, expr, dir)?;
                ring::Filter::Classic(&classic.insns)
            }
            Some(e) => {
                let target = Target::kernel(iface.linktype);
                let p = counting::program(cfg, e, target, iface.netmask, expr, direction(dir))?;
                let l = loaded.insert(crate::bpf::load(&p, cfg.verbose > 0)?);
                ring::Filter::Ebpf(&l.prog)
            }
        };
        let opts = ring::Options {
            ifindex: iface.index,
            framing: iface.framing,
            filter,
            promiscuous: cfg.live.promiscuous,
            ignore_outgoing: drop_outgoing && !in_filter,
        };
        match open(&opts) {
            Ok(s) => return Ok(s),
            Err(e)
                if e.step == "PACKET_IGNORE_OUTGOING"
                    && e.err.raw_os_error() == Some(libc::ENOPROTOOPT) =>
            {
                in_filter = true;
            }
            Err(e) => return Err(open_error(iface, e)),
        }
    }
}

/// Gives up root once the capture is open (-Z), as tcpdump does.
fn drop_privileges(cfg: &Config) -> Result<Option<privs::Target>, Error> {
    let dropped = privs::target(cfg.live.user.as_deref())?;
    if let Some(t) = &dropped {
        privs::drop_to(t)?;
    }
    Ok(dropped)
}

/// `--count` (and `--top` without -w): a socket without a ring, whose program keeps nothing;
/// the counters are read until a signal, --duration, or the interface going away.
fn run_count(
    cfg: &Config,
    e: &crate::cli::Ebpf,
    iface: &Iface,
    expr: &str,
    wake: OwnedFd,
) -> Result<(), Error> {
    let mut loaded = None;
    let sock = open_socket(cfg, iface, expr, &mut loaded, ring::CountSocket::open)?;
    let loaded = loaded.ok_or_else(|| Error::msg("internal error: no eBPF program"))?;
    drop_privileges(cfg)?;
    let mut counter = Counter::new(loaded, e, cfg.print.numeric > 0, Out::Stdout);
    if e.top {
        let mut src = CountSource {
            counter: &counter,
            sock: &sock,
            iface,
            link: LinkWatch::default(),
        };
        let viewed = crate::top::run(&top_config(cfg, e, iface, expr, false), &mut src, &|| {
            STOP.load(Ordering::Relaxed) || counter.over()
        });
        // After the view, the totals as --count prints them, for the record.
        let last = counter.report(None, true);
        return viewed.and(last);
    }
    counting::announce(iface, e);
    let wake = wake.as_raw_fd();
    let mut link = LinkWatch::default();
    let result = loop {
        if STOP.load(Ordering::Relaxed) {
            break Ok(());
        }
        if REPORT.swap(false, Ordering::Relaxed) {
            if let Err(e) = counter.report(None, false) {
                break Err(e);
            }
        }
        if counter.is_due() {
            match counter.due(None) {
                Ok(true) => break Ok(()),
                Ok(false) => {}
                Err(e) => break Err(e),
            }
        }
        let (rev, woken) = match ring::wait(sock.fd(), wake, link.wait_ms(counter.wait_ms())) {
            Ok(r) => r,
            Err(e) => break Err(Error::io("poll", &e)),
        };
        if woken {
            drain(wake);
        }
        if rev & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
            if let Some(e) = link.error(iface, sock.take_error()) {
                break Err(e);
            }
        } else if let Some(e) = link.check(iface) {
            break Err(e);
        }
    };
    // The counts so far are worth having even when the interface went away.
    let last = counter.report(None, true);
    result.and(last)
}

fn top_config(
    cfg: &Config,
    e: &crate::cli::Ebpf,
    iface: &Iface,
    expr: &str,
    capturing: bool,
) -> crate::top::TopConfig {
    crate::top::TopConfig {
        interface: iface.name.clone(),
        filter: expr.trim().to_string(),
        rules: e.rules.clone(),
        numeric: cfg.print.numeric > 0,
        capturing,
        refresh: e.interval.unwrap_or(Duration::from_secs(1)),
    }
}

/// The view's counters in count mode; the socket's pending error (the interface went away)
/// ends the view.
struct CountSource<'a> {
    counter: &'a Counter,
    sock: &'a ring::CountSocket,
    iface: &'a Iface,
    link: LinkWatch,
}

impl crate::top::Source for CountSource<'_> {
    fn sample(&mut self) -> Result<crate::bpf::report::Sample, Error> {
        // (While the view runs, stderr is the terminal's, so nothing is said about the link:
        // a link gone down the view rides; a deleted interface ends it, also when it went
        // down first, when the kernel's one ENETDOWN came while the interface was still
        // there.)
        if let Some(e) = self.sock.take_error() {
            if let Some(err) = self.link.error(self.iface, Some(e)) {
                return Err(err);
            }
        }
        if let Some(err) = self.link.check_quietly(self.iface) {
            return Err(err);
        }
        self.counter.sample(None)
    }
}

/// The socket's counters as the capture thread last read them, for the view (`--top -w`).
static KERNEL_RECEIVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static KERNEL_DROPPED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Set when the capture thread has ended (-c reached, an error): the view ends too.
static CAPTURE_DONE: AtomicBool = AtomicBool::new(false);

/// The view's counters while another thread captures.
struct CaptureSource<'a> {
    counter: &'a Counter,
}

impl crate::top::Source for CaptureSource<'_> {
    fn sample(&mut self) -> Result<crate::bpf::report::Sample, Error> {
        self.counter.sample(Some(KernelStats {
            received: KERNEL_RECEIVED.load(Ordering::Relaxed),
            dropped: KERNEL_DROPPED.load(Ordering::Relaxed),
        }))
    }
}

/// The message for an error the socket reports during a capture.
fn socket_error(iface: &Iface, e: Option<io::Error>) -> Error {
    match e {
        Some(e) if e.raw_os_error() == Some(libc::ENETDOWN) => {
            // (libpcap's words, when the device is deleted under a capture.)
            Error::msg(format!("{}: The interface disappeared", iface.name))
        }
        Some(e) => Error::msg(format!("{}: {}", iface.name, io_message(&e))),
        None => Error::msg(format!("{}: the capture socket failed", iface.name)),
    }
}

/// The capture interface's link through down and up: the kernel puts ENETDOWN on a packet
/// socket when its interface goes down and when it is deleted, and hooks the socket back in
/// by itself when the interface comes back up (af_packet's packet_notifier). So ENETDOWN
/// with the interface still there is a link flap the capture rides through, saying so on
/// stderr, as tcpdump does; with the interface gone it is the end.
#[derive(Default)]
struct LinkWatch {
    /// Since when the link has been down (ENETDOWN with the interface there).
    down: Option<Instant>,
    /// Whether that was said: only once it has lasted a moment, since deleting an interface
    /// takes it down first and the deletion should be the one thing said.
    said: bool,
}

/// How long a link stays down before the capture says so.
const DOWN_SAID_AFTER: Duration = Duration::from_millis(100);

impl LinkWatch {
    /// The socket reported an error: None when the capture goes on (a link gone down), the
    /// error to end it with otherwise.
    fn error(&mut self, iface: &Iface, e: Option<io::Error>) -> Option<Error> {
        let netdown = e.as_ref().and_then(|e| e.raw_os_error()) == Some(libc::ENETDOWN);
        match (netdown, iface.index, iface::is_up(iface.index)) {
            (true, index, Some(_)) if index != 0 => {
                self.down.get_or_insert_with(Instant::now);
                None
            }
            _ => Some(socket_error(iface, e)),
        }
    }

    /// While the link is down, on each wake-up: say that it is down once that has lasted a
    /// moment, and when it is back up; the error to end with when the interface is gone
    /// (the kernel says ENETDOWN once only, and may have said it while it still existed).
    fn check(&mut self, iface: &Iface) -> Option<Error> {
        match self.follow(iface) {
            Ok(Some(said)) => {
                let _ = writeln!(io::stderr(), "bpfdump: {}: {said}", iface.name);
                None
            }
            Ok(None) => None,
            Err(e) => Some(e),
        }
    }

    /// `check` for the live view, which owns the terminal: the same ending, nothing said.
    fn check_quietly(&mut self, iface: &Iface) -> Option<Error> {
        self.follow(iface).err()
    }

    /// The link's state moved on: what to say about it, or the error to end with.
    fn follow(&mut self, iface: &Iface) -> Result<Option<&'static str>, Error> {
        let Some(since) = self.down else {
            return Ok(None);
        };
        match iface::is_up(iface.index) {
            Some(true) => {
                let said = self.said;
                *self = LinkWatch::default();
                Ok(said.then_some("the link is up again"))
            }
            Some(false) if !self.said && since.elapsed() >= DOWN_SAID_AFTER => {
                self.said = true;
                Ok(Some(
                    "the link went down; capturing on when it comes back up",
                ))
            }
            Some(false) => Ok(None),
            None => {
                *self = LinkWatch::default();
                Err(socket_error(
                    iface,
                    Some(io::Error::from_raw_os_error(libc::ENETDOWN)),
                ))
            }
        }
    }

    /// The poll timeout: while the link is down, short enough to notice it come back up or
    /// go away, and to say it is down.
    fn wait_ms(&self, ms: i32) -> i32 {
        match (self.down.is_some(), ms) {
            (false, ms) => ms,
            (true, ms) if (0..50).contains(&ms) => ms,
            (true, _) => 50,
        }
    }
}

pub fn run(cfg: &Config, expr: &str) -> Result<(), Error> {
    // Before anything is opened, so a signal at any point ends the run through the normal
    // path (files flushed and valid).
    let wake = install_signals()?;
    let iface = choose_interface(cfg)?;
    let snaplen = cfg.snaplen;
    let to_file = cfg
        .write
        .as_ref()
        .is_some_and(|w| w.as_os_str() != "-" && !cfg.live.packet_buffered);
    let (timeout, block) = if cfg.live.immediate {
        (IMMEDIATE_TIMEOUT_MS, PRINT_BLOCK)
    } else if to_file {
        (FILE_TIMEOUT_MS, FILE_BLOCK)
    } else {
        (BLOCK_TIMEOUT_MS, PRINT_BLOCK)
    };
    let ring = RingSize::new(
        cfg.live.buffer_bytes.unwrap_or(DEFAULT_RING),
        iface.max_frame.min(snaplen + 64),
        block,
        timeout,
    );

    if let Some(e) = cfg.ebpf.as_ref().filter(|e| e.mode == EbpfMode::Count) {
        return run_count(cfg, e, &iface, expr, wake);
    }
    let mut loaded = None;
    let sock = open_socket(cfg, &iface, expr, &mut loaded, |o| {
        PacketSocket::open(o, ring)
    })?;
    let counter = match (&cfg.ebpf, loaded) {
        (Some(e), Some(l)) => Some(Counter::new(l, e, cfg.print.numeric > 0, Out::Stderr)),
        _ => None,
    };

    let linktype = iface.linktype.linktype();
    let app = format!("bpfdump {}", env!("CARGO_PKG_VERSION"));
    let mut sink = match &cfg.write {
        Some(path) => Sink::File(
            SaveFile::create(
                SaveConfig {
                    path: path.clone(),
                    format: if cfg.live.pcapng {
                        savefile::FileFormat::PcapNg
                    } else {
                        savefile::FileFormat::Pcap
                    },
                    linktype,
                    snaplen,
                    nanos: cfg.live.nanos,
                    rotate_bytes: cfg.live.rotate_bytes,
                    rotate_secs: cfg.live.rotate_secs,
                    max_files: cfg.live.max_files,
                    flush_each: cfg.live.packet_buffered,
                    filter: expr.trim().to_string(),
                    app,
                    protect: Vec::new(),
                },
                (!iface.is_any()).then(|| (iface.index, iface.name.clone())),
            )?,
            match cfg.print_too {
                true => Some(Box::new(Printer::new(
                    stdout_file().map_err(|e| Error::io("stdout", &e))?,
                    cfg.print.clone(),
                ))),
                false => None,
            },
        ),
        None => Sink::Print(Box::new(Printer::new(
            stdout_file().map_err(|e| Error::io("stdout", &e))?,
            cfg.print.clone(),
        ))),
    };

    // The socket and the first file are open: root is no longer needed.
    let dropped = privs::target(cfg.live.user.as_deref())?;
    if let Some(t) = &dropped {
        if let Sink::File(f, _) = &sink {
            let p = f.current_name();
            if p.as_os_str() != "-" {
                std::os::unix::fs::chown(p, Some(t.uid.as_raw()), Some(t.gid.as_raw()))
                    .map_err(|e| Error::io(&p.display().to_string(), &e))?;
            }
        }
        privs::drop_to(t)?;
    }
    if cfg.write.is_none() && cfg.print.verbose == 0 {
        // As tcpdump says it when printing without -v.
        let _ = writeln!(
            io::stderr(),
            "bpfdump: verbose output suppressed, use -v[v]... for full protocol decode"
        );
    }
    let _ = writeln!(
        io::stderr(),
        "bpfdump: listening on {}, {}, snapshot length {snaplen} bytes",
        iface.name,
        describe_linktype(linktype)
    );

    let mut counters = Counters::default();
    let mut capture = Capture {
        cfg,
        iface: &iface,
        snaplen,
        linktype,
        names: Names::default(),
        lo_index: iface::loopback_index(),
        scratch: Vec::new(),
        timeout: Duration::from_millis(u64::from(timeout)),
        counter,
        view: cfg.ebpf.as_ref().is_some_and(|e| e.top),
    };
    let top = cfg.ebpf.as_ref().filter(|e| e.top);
    // With the view, the counters are the view's; the capture runs on a thread of its own.
    let mut viewed = match top {
        Some(_) => capture.counter.take(),
        None => None,
    };
    if let (Some(e), None) = (&cfg.ebpf, &viewed) {
        counting::announce(&iface, e);
    }
    let wake_fd = wake.as_raw_fd();
    let result = match (top, &viewed) {
        (Some(e), Some(counter)) => std::thread::scope(|s| {
            let t = s.spawn(|| {
                let r = capture.run(sock, &mut sink, &mut counters, wake_fd);
                CAPTURE_DONE.store(true, Ordering::SeqCst);
                r
            });
            let view = crate::top::run(
                &top_config(cfg, e, &iface, expr, true),
                &mut CaptureSource { counter },
                &|| {
                    STOP.load(Ordering::Relaxed)
                        || CAPTURE_DONE.load(Ordering::Relaxed)
                        || counter.over()
                },
            );
            // The view ended (q, a signal, an error): end the capture the same way.
            STOP.store(true, Ordering::SeqCst);
            // SAFETY: write(2) of one byte from a local buffer to our own pipe.
            unsafe { libc::write(WAKE_FD.load(Ordering::SeqCst), [1u8].as_ptr().cast(), 1) };
            let r = t
                .join()
                .unwrap_or_else(|_| Err(Error::msg("the capture thread panicked")));
            r.and(view)
        }),
        _ => capture.run(sock, &mut sink, &mut counters, wake_fd),
    };
    let result = result.map_err(|e| match (e, &dropped) {
        // A rotated file the unprivileged user may not create: say how to keep root.
        (Error::Msg(m), Some(t)) if m.ends_with("Permission denied") => Error::Msg(format!(
            "{m} (bpfdump runs as {} after opening the capture; -Z USER or -Z root chooses)",
            t.name
        )),
        (e, _) => e,
    });
    // Write out what is buffered first, so that "captured" can leave out the packets a full
    // disk cut off: it counts the packets in the file.
    let flushed = sink.flush();
    if let Sink::File(f, _) = &sink {
        counters.captured -= f.lost_packets().min(counters.captured);
    }
    let finished = flushed.and(sink.finish(&counters));
    counters.report();
    // The in-kernel counters beside tcpdump's three lines.
    let counted = match capture.counter.as_mut().or(viewed.as_mut()) {
        Some(c) => c.report(Some(counters.kernel()), true),
        None => Ok(()),
    };
    result.and(finished).and(counted)
}

/// Interface names by index, for `-i any` (looked up once each).
#[derive(Default)]
struct Names {
    names: Vec<(u32, String)>,
}

impl Names {
    fn get(&mut self, index: u32) -> &str {
        let i = match self.names.iter().position(|(n, _)| *n == index) {
            Some(i) => i,
            None => {
                self.names.push((index, iface::name_of(index)));
                self.names.len() - 1
            }
        };
        &self.names[i].1
    }
}

struct Capture<'a> {
    cfg: &'a Config,
    iface: &'a Iface,
    snaplen: u32,
    linktype: u32,
    names: Names,
    /// Index of the loopback interface, whose outgoing packets `any` leaves out.
    lo_index: u32,
    /// The ring's block timeout: how long after a stop signal packets may still be in a
    /// block the kernel has not handed over.
    timeout: Duration,
    /// Where a packet is assembled if the kernel left no room in front of it (not expected:
    /// PACKET_RESERVE asks for that room).
    scratch: Vec<u8>,
    /// The eBPF program's counters (--ebpf): interval reports, --duration.
    counter: Option<Counter>,
    /// A view (`--top`) runs on another thread and reads the socket's counters.
    view: bool,
}

enum Step {
    Go,
    /// Not kept (the outgoing copy of a loopback packet on `any`).
    Skip,
    Stop,
}

impl Capture<'_> {
    fn run(
        &mut self,
        sock: PacketSocket,
        sink: &mut Sink,
        counters: &mut Counters,
        wake: RawFd,
    ) -> Result<(), Error> {
        let sock = &sock;
        let mut last_stats = Instant::now();
        // After SIGINT/SIGTERM: packets the filter accepted before it may still sit in the
        // block the kernel is filling; it hands that block over within the block timeout, so
        // if there are any, keep reading until then (tcpdump loses them).
        let mut stop_at: Option<Instant> = None;
        // The socket's error, reported once the packets before it are written.
        let mut failed: Option<Error> = None;
        let mut link = LinkWatch::default();
        let r = loop {
            // --duration is over: as a stop signal.
            let mut over = false;
            if let Some(c) = self.counter.as_mut().filter(|c| c.is_due()) {
                counters.poll_kernel(sock);
                match c.due(Some(counters.kernel())) {
                    Ok(o) => over = o,
                    Err(e) => break Err(e),
                }
            }
            if failed.is_none() && (over || STOP.load(Ordering::Relaxed)) {
                let cut = match STOP_NS.load(Ordering::SeqCst) {
                    0 => realtime_ns(),
                    t => t,
                };
                break self.finish_now(sock, sink, counters, cut);
            }
            // A view on another thread shows the socket's counters: keep them fresh while idle.
            if self.view && last_stats.elapsed() >= Duration::from_secs(1) {
                counters.poll_kernel(sock);
                last_stats = Instant::now();
            }
            let wait_ms = match stop_at {
                None if self.view => 1000,
                None => self.counter.as_ref().map_or(-1, Counter::wait_ms),
                Some(t) => {
                    let left = t.saturating_duration_since(Instant::now());
                    if left.is_zero() || sock.drained() {
                        break failed.take().map_or(Ok(()), Err);
                    }
                    left.as_millis().max(1) as i32
                }
            };
            if REPORT.swap(false, Ordering::Relaxed) {
                counters.poll_kernel(sock);
                counters.report();
                if let Some(c) = &mut self.counter {
                    if let Err(e) = c.report(Some(counters.kernel()), false) {
                        break Err(e);
                    }
                }
            }
            let block = sock.next_block();
            let Some(mut block) = block else {
                // Nothing to read: hand what we have to the OS before sleeping.
                if let Err(e) = sink.flush() {
                    break Err(e);
                }
                let (rev, woken) = match ring::wait(sock.fd(), wake, link.wait_ms(wait_ms)) {
                    Ok(r) => r,
                    Err(e) => break Err(Error::io("poll", &e)),
                };
                if woken {
                    drain(wake);
                }
                if rev & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                    // The interface went away (or only down: then the capture goes on). Its
                    // last packets are in the block the kernel was filling, which it still
                    // hands over at the block timeout: read on until then, as after a stop
                    // signal, and report the error after them.
                    let e = sock.take_error();
                    if failed.is_none() && e.is_some() {
                        if let Some(err) = link.error(self.iface, e) {
                            failed = Some(err);
                            stop_at.get_or_insert_with(|| self.last_block_due());
                        }
                    }
                } else if let Some(err) = link.check(self.iface) {
                    if failed.is_none() {
                        failed = Some(err);
                        stop_at.get_or_insert_with(|| self.last_block_due());
                    }
                }
                continue;
            };
            let step = self.block(&mut block, sink, counters, u64::MAX);
            drop(block);
            // Often enough that the kernel's 32-bit counters cannot wrap in between.
            if last_stats.elapsed() > Duration::from_secs(1) {
                counters.poll_kernel(sock);
                last_stats = Instant::now();
                if let Sink::File(f, _) = sink {
                    f.check_removed();
                }
                if let Some(err) = link.check(self.iface) {
                    if failed.is_none() {
                        failed = Some(err);
                        stop_at.get_or_insert_with(|| self.last_block_due());
                    }
                }
            }
            match step {
                Ok(Step::Go) | Ok(Step::Skip) => {}
                Ok(Step::Stop) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        counters.poll_kernel(sock);
        r
    }

    /// Writes the packets of `block` stamped up to `cut` (ns since the epoch); Stop when -c
    /// is reached, the -W limit, or a packet after `cut`.
    fn block(
        &mut self,
        block: &mut ring::Block,
        sink: &mut Sink,
        counters: &mut Counters,
        cut: u64,
    ) -> Result<Step, Error> {
        while let Some(mut f) = block.next() {
            if u64::from(f.sec) * 1_000_000_000 + u64::from(f.nsec) > cut {
                return Ok(Step::Stop);
            }
            match self.packet(&mut f, sink)? {
                Step::Go => {
                    counters.captured += 1;
                    if self.cfg.count == Some(counters.captured) {
                        return Ok(Step::Stop);
                    }
                }
                Step::Skip => {}
                Step::Stop => return Ok(Step::Stop),
            }
        }
        Ok(Step::Go)
    }

    /// After a stop signal or --duration: the socket unhooked, so nothing more comes in and
    /// nothing is being written, then every packet the kernel had taken by `cut` is written:
    /// the blocks handed over, then the block it was filling, which it would otherwise hand
    /// over only at the block timeout (up to a second later, with everything that came
    /// meanwhile; tcpdump loses it). So the run stops at once, whatever the load.
    fn finish_now(
        &mut self,
        sock: &PacketSocket,
        sink: &mut Sink,
        counters: &mut Counters,
        cut: u64,
    ) -> Result<(), Error> {
        // The kernel's counters up to here: after detach it counts nothing.
        counters.poll_kernel(sock);
        sock.detach(self.iface.index)
            .map_err(|e| Error::io("unhooking the capture socket", &e))?;
        while let Some(mut block) = sock.next_block() {
            if let Step::Stop = self.block(&mut block, sink, counters, cut)? {
                return Ok(());
            }
        }
        if let Some(mut block) = sock.filling_block() {
            self.block(&mut block, sink, counters, cut)?;
        }
        Ok(())
    }

    /// When the block the kernel is filling has been handed over at the latest.
    fn last_block_due(&self) -> Instant {
        Instant::now() + self.timeout + Duration::from_millis(20)
    }

    /// Writes or prints one packet from the ring.
    fn packet(&mut self, f: &mut Frame, sink: &mut Sink) -> Result<Step, Error> {
        if f.pkttype == PACKET_OUTGOING && f.ifindex == self.lo_index && self.iface.is_any() {
            return Ok(Step::Skip);
        }
        let (data, len): (&[u8], u32) =
            match in_place(f, self.iface.linktype, self.iface.framing, self.snaplen) {
                Some((start, caplen, len)) => (&f.buf[start..start + caplen as usize], len),
                None => {
                    let len = assemble(f, self.iface.linktype, self.snaplen, &mut self.scratch);
                    (&self.scratch, len)
                }
            };
        let print = |pr: &mut Printer<std::fs::File>| {
            let p = Packet {
                linktype: self.linktype,
                snaplen: self.snaplen,
                ts: Timestamp {
                    secs: u64::from(f.sec),
                    nanos: f.nsec,
                    nano: self.cfg.live.nanos,
                },
                origlen: len,
                data,
            };
            pr.packet(&p).map_err(|e| Error::io("stdout", &e))
        };
        match sink {
            Sink::File(w, printer) => {
                let direction = match f.pkttype {
                    PACKET_OUTGOING => savefile::Direction::Outbound,
                    0..=3 => savefile::Direction::Inbound,
                    _ => savefile::Direction::Unknown,
                };
                let ifname = if self.iface.is_any() {
                    self.names.get(f.ifindex)
                } else {
                    &self.iface.name
                };
                let p = LivePacket {
                    ts_sec: u64::from(f.sec),
                    ts_nsec: f.nsec,
                    data,
                    orig_len: len,
                    ifindex: f.ifindex,
                    ifname,
                    direction,
                };
                let written = w.packet(&p)?;
                if let Some(pr) = printer {
                    print(pr)?;
                }
                match written {
                    Written::Continue => Ok(Step::Go),
                    Written::LimitReached => Ok(Step::Stop),
                }
            }
            Sink::Print(pr) => {
                print(pr)?;
                Ok(Step::Go)
            }
        }
    }
}

const PACKET_OUTGOING: u8 = libc::PACKET_OUTGOING;
const SLL2_LEN: usize = 20;
const VLAN_LEN: usize = 4;

/// Turns the kernel's view of a packet into the bytes libpcap would store, in place in the
/// room PACKET_RESERVE left in front of it: the 802.1Q tag the kernel stripped goes back after
/// the MAC addresses; a cooked packet gets its LINUX_SLL2 header. Returns the start in
/// `f.buf`, the captured length (cut to the snapshot length) and the length on the wire; None
/// if there is no room in front of the packet.
fn in_place(
    f: &mut Frame,
    linktype: LinkType,
    framing: Framing,
    snaplen: u32,
) -> Option<(usize, u32, u32)> {
    let at = f.data_at;
    match (framing, linktype) {
        (Framing::Raw, LinkType::En10mb) => {
            if !tagged(f) || f.caplen < 12 {
                return Some((at, f.caplen, f.len));
            }
            if at < f.free_from + VLAN_LEN {
                return None;
            }
            let start = at - VLAN_LEN;
            let tag = vlan_tag(f);
            f.buf.copy_within(at..at + 12, start);
            f.buf[start + 12..start + 16].copy_from_slice(&tag);
            let caplen = (f.caplen + VLAN_LEN as u32).min(snaplen);
            Some((start, caplen, f.len + VLAN_LEN as u32))
        }
        (Framing::Cooked, _) => {
            if at < f.free_from + SLL2_LEN {
                return None;
            }
            let start = at - SLL2_LEN;
            let h = sll2_header(f);
            f.buf[start..at].copy_from_slice(&h);
            let caplen = (f.caplen + SLL2_LEN as u32).min(snaplen);
            Some((start, caplen, f.len + SLL2_LEN as u32))
        }
        _ => Some((at, f.caplen, f.len)),
    }
}

fn tagged(f: &Frame) -> bool {
    f.vlan_tci != 0 || f.status & libc::TP_STATUS_VLAN_VALID != 0
}

fn vlan_tag(f: &Frame) -> [u8; 4] {
    let tpid = if f.status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
        f.vlan_tpid
    } else {
        libc::ETH_P_8021Q as u16
    };
    let [a, b] = tpid.to_be_bytes();
    let [c, d] = f.vlan_tci.to_be_bytes();
    [a, b, c, d]
}

/// The LINUX_SLL2 header of a cooked packet, from the address the kernel gave with it.
fn sll2_header(f: &Frame) -> [u8; SLL2_LEN] {
    let mut h = [0u8; SLL2_LEN];
    h[0..2].copy_from_slice(&f.protocol.to_be_bytes());
    h[4..8].copy_from_slice(&f.ifindex.to_be_bytes());
    h[8..10].copy_from_slice(&f.hatype.to_be_bytes());
    h[10] = f.pkttype;
    h[11] = f.halen.min(8);
    h[12..20].copy_from_slice(&f.addr);
    h
}

/// As [`in_place`], into `out` (a copy). Returns the length on the wire.
fn assemble(f: &Frame, linktype: LinkType, snaplen: u32, out: &mut Vec<u8>) -> u32 {
    out.clear();
    let data = &f.buf[f.data_at..];
    let extra = if linktype == LinkType::En10mb {
        out.extend_from_slice(&data[..12]);
        out.extend_from_slice(&vlan_tag(f));
        out.extend_from_slice(&data[12..]);
        VLAN_LEN
    } else {
        out.extend_from_slice(&sll2_header(f));
        out.extend_from_slice(data);
        SLL2_LEN
    };
    out.truncate(snaplen as usize);
    f.len + extra as u32
}
