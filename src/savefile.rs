//! Writing live-captured packets to capture files (`-w`), pcap or pcapng, with tcpdump's
//! rotation: `-C` starts a new file once the current one is bigger than the given size, `-G`
//! every so many seconds (the name going through strftime), `-W` bounds the number of files
//! (a ring of files with `-C`, the end of the capture with `-G` alone), `-U` flushes after
//! every packet. File names and the order of the checks are those of tcpdump 4.99's
//! `MakeFilename` and `dump_packet_and_trunc`.
//!
//! A failed write leaves the file cut back to its last whole record (see `output.rs`'s
//! [`Ledger`]) and returns the error; every later call does nothing.
//!
//! pcapng files get a section header (shb_userappl, shb_os), an interface description per
//! interface (if_name, if_tsresol, if_filter): for a one-interface capture written at once in
//! every file, for the `any` device when the interface's first packet of that file comes; an
//! enhanced packet block per packet (epb_flags for the direction); and an interface statistics
//! block per interface when a file is closed (isb_usrdeliv counting that file's packets; the
//! kernel's counters only in the last file, of a one-interface capture). An `any` file that
//! got no packet describes the `any` device, so that libpcap can read it.
//!
//! Packets longer than the snapshot length are cut to it, so that no record contradicts the
//! file header.

use std::borrow::Cow;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pcap_file::pcap::{PcapHeader, PcapTsResolution};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption, InterfaceTsResolution,
};
use pcap_file::pcapng::blocks::interface_statistics::{
    InterfaceStatisticsBlock, InterfaceStatisticsOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::{Block, PcapNgBlock, PcapNgWriter};
use pcap_file::{DataLink, Endianness};

use crate::error::Error;
use crate::output::{pcap_error, pcapng_error, CacheDropper, Ledger, Out};

/// Output buffer. Measured (`bench_buffer`, writing to a file in the page cache): per
/// 1500-byte packet 460 ns with 64 KiB, 325 with 256 KiB, 280 with 1 MiB; per 100-byte packet
/// 54, 42 and 38 ns.
const BUF_SIZE: usize = 1024 * 1024;
/// Option values are at most this long (a u16 length, padded to 4).
const MAX_OPTION: usize = 65532;
/// Linux's PATH_MAX, tcpdump's limit on a generated file name.
const PATH_MAX: usize = libc::PATH_MAX as usize;

const EPB_TYPE: u32 = 0x0000_0006;
const OPT_EPB_FLAGS: u16 = 2;
/// if_filter's first byte: the filter is a libpcap filter string.
const FILTER_LIBPCAP_STRING: u8 = 0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileFormat {
    Pcap,
    PcapNg,
}

pub struct SaveConfig {
    /// "-" is stdout (rotation is then ignored: the CLI refuses it).
    pub path: PathBuf,
    pub format: FileFormat,
    /// LINKTYPE_ value (1 EN10MB, 276 LINUX_SLL2, 101 RAW).
    pub linktype: u32,
    pub snaplen: u32,
    /// Nanosecond timestamps (pcap magic 0xa1b23c4d, pcapng if_tsresol 9), else microseconds.
    pub nanos: bool,
    /// -C, in bytes.
    pub rotate_bytes: Option<u64>,
    /// -G, in seconds.
    pub rotate_secs: Option<u64>,
    /// -W.
    pub max_files: Option<u32>,
    /// -U: flush after every packet.
    pub flush_each: bool,
    /// The filter expression, for pcapng's if_filter (left out if empty).
    pub filter: String,
    /// shb_userappl, e.g. "bpfdump 0.1.0" (left out if empty).
    pub app: String,
    /// (device, inode) of files never to write over: the capture files being read, when
    /// `-r`/`-V` feed this writer (a rotated name can be an input's).
    pub protect: Vec<(u64, u64)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    Unknown,
    Inbound,
    Outbound,
}

pub struct LivePacket<'a> {
    pub ts_sec: u64,
    pub ts_nsec: u32,
    /// The captured bytes (at most the snapshot length are written).
    pub data: &'a [u8],
    pub orig_len: u32,
    /// Kernel interface index.
    pub ifindex: u32,
    pub ifname: &'a str,
    pub direction: Direction,
}

/// The kernel's counters (cumulative since the capture started) and the packets we wrote.
pub struct Stats {
    pub received: u64,
    pub dropped: u64,
    /// Not written: isb_usrdeliv counts the packets of the file it closes, which this
    /// writer knows itself.
    #[allow(dead_code)]
    pub delivered: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Written {
    Continue,
    /// `-G` with `-W` (without `-C`) has filled its last file: stop the capture.
    LimitReached,
}

/// The wall clock (tcpdump's `time(NULL)`), or in tests one they move by hand.
#[derive(Clone)]
enum Clock {
    System,
    /// (Shared and Send: a capture's sink may run on a thread of its own.)
    #[cfg(test)]
    Manual(std::sync::Arc<std::sync::Mutex<Duration>>),
}

impl Clock {
    fn now(&self) -> Duration {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
            #[cfg(test)]
            Clock::Manual(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

/// An interface described in the current pcapng file (its index is its interface id).
struct Iface {
    ifindex: u32,
    /// Packets of it written to this file.
    packets: u64,
}

/// The file being written.
struct Current {
    out: Out,
    ledger: Ledger,
    /// pcapng only: a writer over a scratch buffer, which keeps the section's state (the
    /// interfaces and their timestamp resolutions) and serializes the few blocks that are not
    /// packets; their bytes are then copied into `out`.
    ng: Option<PcapNgWriter<Vec<u8>>>,
    ifaces: Vec<Iface>,
    /// Index in `ifaces` of the last packet's interface.
    last: usize,
    /// Keeps the file's written pages out of the page cache (regular files).
    _dropper: Option<CacheDropper>,
}

/// The writer. Small (its state is boxed), as it sits in an enum next to the printer.
pub struct SaveFile(Box<State>);

impl SaveFile {
    /// Creates the first file (header written into the buffer). `iface` = Some((ifindex,
    /// name)) for a single-interface capture: its pcapng IDB is written at once in every
    /// file; None for the `any` device: IDBs are added the first time a packet of an
    /// interface appears in the current file.
    pub fn create(cfg: SaveConfig, iface: Option<(u32, String)>) -> Result<SaveFile, Error> {
        State::create(cfg, iface, Clock::System).map(|s| SaveFile(Box::new(s)))
    }

    #[cfg(test)]
    fn with_clock(
        cfg: SaveConfig,
        iface: Option<(u32, String)>,
        clock: Clock,
    ) -> Result<SaveFile, Error> {
        State::create(cfg, iface, clock).map(|s| SaveFile(Box::new(s)))
    }

    /// Writes one packet (rotating first if due). Returns LimitReached when -G with -W (and
    /// no -C) has produced its last file; "Maximum file limit reached: N" is then printed to
    /// stderr, as tcpdump does before it exits (with status 0).
    pub fn packet(&mut self, p: &LivePacket) -> Result<Written, Error> {
        self.0.packet(p)
    }

    /// Hands buffered bytes to the OS.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.0.flush()
    }

    /// Final flush; for pcapng, an Interface Statistics Block per interface of the current
    /// file first (isb_starttime, isb_endtime, isb_usrdeliv = its packets in this file; for a
    /// one-interface capture also isb_filteraccept = `received`, isb_osdrop = `dropped`).
    /// Does nothing after an error.
    pub fn finish(mut self, stats: Option<Stats>) -> Result<(), Error> {
        self.0.close(stats.as_ref())
    }

    /// Says once, on stderr, that the file being written was removed (`rm` during the
    /// capture): what is written to it now is lost when the capture ends, as with tcpdump,
    /// which says nothing. Called about once a second; one fstat.
    pub fn check_removed(&mut self) {
        let s = &mut *self.0;
        if s.said_removed || s.cfg.path.as_os_str() == "-" {
            return;
        }
        if s.file.as_ref().is_some_and(|c| c.out.removed()) {
            s.said_removed = true;
            let _ = writeln!(
                io::stderr(),
                "bpfdump: {}: removed during the capture; what is written to it is lost when \
                 the capture ends (-C or -G start new files)",
                s.name.display()
            );
        }
    }

    /// The name of the file being written (for messages).
    pub fn current_name(&self) -> &Path {
        &self.0.name
    }

    /// Packets `packet` accepted that a failed write then cut off (they are not in any file).
    pub fn lost_packets(&self) -> u64 {
        self.0.lost_packets
    }
}

impl Drop for State {
    /// Old files set aside are gone before the writer is (and so before we exit).
    fn drop(&mut self) {
        for h in self.removing.drain(..) {
            let _ = h.join();
        }
    }
}

/// Files at least this large are removed off the capture loop when a name is reused.
const SET_ASIDE_FROM: u64 = 16 << 20;

struct State {
    cfg: SaveConfig,
    /// A one-interface capture: (ifindex, name).
    iface: Option<(u32, String)>,
    /// None after a failure, or once the last file of `-G`/`-W` is closed.
    file: Option<Current>,
    /// The name of the current (or last) file.
    name: PathBuf,
    /// Digits of the file number (tcpdump's WflagChars).
    wchars: usize,
    /// tcpdump's Cflag_count, Gflag_count, Gflag_time.
    ccount: u32,
    gcount: u32,
    gtime: i64,
    limit_reached: bool,
    /// Packets accepted by `packet` that a failed write then cut off.
    lost_packets: u64,
    clock: Clock,
    /// When the capture started (isb_starttime).
    start: Duration,
    /// shb_os, e.g. "Linux 6.1.0-18-amd64".
    os: String,
    /// Old files being removed on other threads (see `set_aside`), joined at the end.
    removing: Vec<std::thread::JoinHandle<()>>,
    /// The current file's removal was said (once per file).
    said_removed: bool,
}

impl State {
    fn create(
        mut cfg: SaveConfig,
        iface: Option<(u32, String)>,
        clock: Clock,
    ) -> Result<State, Error> {
        // tcpdump treats a zero -C/-G/-W as not given.
        cfg.rotate_bytes = cfg.rotate_bytes.filter(|&c| c > 0);
        cfg.rotate_secs = cfg.rotate_secs.filter(|&g| g > 0);
        cfg.max_files = cfg.max_files.filter(|&w| w > 0);
        if cfg.path.as_os_str() == "-" {
            cfg.rotate_bytes = None;
            cfg.rotate_secs = None;
            cfg.max_files = None;
        }
        let start = clock.now();
        let wchars = cfg.max_files.map_or(0, wflag_chars);
        let gtime = secs_i64(start);
        // Numbered from the start only with -C.
        let chars = if cfg.rotate_bytes.is_some() {
            wchars
        } else {
            0
        };
        let name = make_filename(
            cfg.path.as_os_str(),
            0,
            chars,
            cfg.rotate_secs.map(|_| gtime),
        )?;
        let mut s = State {
            cfg,
            iface,
            file: None,
            name: PathBuf::new(),
            wchars,
            ccount: 0,
            gcount: 0,
            gtime,
            limit_reached: false,
            lost_packets: 0,
            clock,
            start,
            os: os_name(),
            removing: Vec::new(),
            said_removed: false,
        };
        s.open(name)?;
        Ok(s)
    }

    fn packet(&mut self, p: &LivePacket) -> Result<Written, Error> {
        if self.limit_reached {
            return Ok(Written::LimitReached);
        }
        if self.file.is_none() {
            return Ok(Written::Continue);
        }
        if let Some(g) = self.cfg.rotate_secs {
            // The wall clock, not the packet's time, as tcpdump.
            let t = secs_i64(self.clock.now());
            if t.saturating_sub(self.gtime) >= i64::try_from(g).unwrap_or(i64::MAX) {
                self.gtime = t;
                self.gcount = self.gcount.saturating_add(1);
                self.close(None)?;
                if let (None, Some(w)) = (self.cfg.rotate_bytes, self.cfg.max_files) {
                    if self.gcount >= w {
                        let _ = writeln!(io::stderr(), "Maximum file limit reached: {w}");
                        self.limit_reached = true;
                        return Ok(Written::LimitReached);
                    }
                }
                self.ccount = 0;
                let chars = if self.cfg.rotate_bytes.is_some() {
                    self.wchars
                } else {
                    0
                };
                let name = make_filename(self.cfg.path.as_os_str(), 0, chars, Some(self.gtime))?;
                self.open(name)?;
            }
        }
        if let Some(c) = self.cfg.rotate_bytes {
            let size = self.file.as_ref().map_or(0, |f| f.ledger.position());
            if size > c {
                self.close(None)?;
                self.ccount += 1;
                if self.cfg.max_files.is_some_and(|w| self.ccount >= w) {
                    self.ccount = 0;
                }
                let gtime = self.cfg.rotate_secs.map(|_| self.gtime);
                let name =
                    make_filename(self.cfg.path.as_os_str(), self.ccount, self.wchars, gtime)?;
                self.open(name)?;
            }
        }
        let Some(cur) = self.file.as_mut() else {
            return Ok(Written::Continue);
        };
        let mut r = cur.packet(&self.cfg, self.iface.is_some(), p);
        // A packet the caller is told failed is not one it counts, so not one lost either.
        let mut this_one = 0;
        if r.is_ok() && self.cfg.flush_each {
            r = cur.flush();
            this_one = 1;
        }
        match r {
            Ok(()) => Ok(Written::Continue),
            Err(e) => {
                let e = self.fail(e);
                self.lost_packets -= this_one.min(self.lost_packets);
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> Result<(), Error> {
        let Some(cur) = self.file.as_mut() else {
            return Ok(());
        };
        cur.flush().map_err(|e| self.fail(e))
    }

    /// Opens `name` and writes its headers.
    fn open(&mut self, name: PathBuf) -> Result<(), Error> {
        let id = std::fs::metadata(&name).ok().as_ref().and_then(file_id);
        if id.is_some_and(|id| self.cfg.protect.contains(&id)) {
            return Err(Error::msg(format!(
                "{}: is the file being read; refusing to write over it",
                name.display()
            )));
        }
        self.name = name;
        self.said_removed = false;
        self.set_aside();
        let (out, ledger) = Ledger::open(&self.name, BUF_SIZE, false)?;
        let dropper = CacheDropper::start(&ledger);
        let mut cur = Current {
            out,
            ledger,
            ng: None,
            ifaces: Vec::new(),
            last: 0,
            _dropper: dropper,
        };
        match cur.start(&self.cfg, self.iface.as_ref(), &self.os) {
            Ok(()) => {
                self.file = Some(cur);
                Ok(())
            }
            Err(e) => Err(self.lost(cur.fail(e))),
        }
    }

    /// A file already at the name about to be opened (`-W` reusing names, or a rerun) is
    /// renamed out of the way and removed on another thread: truncating or unlinking a
    /// file of gigabytes frees its blocks before the call returns, which at -C 2000 took
    /// the capture loop long enough to drop ~100k packets at 1.5M pps. A rename is
    /// metadata only. If the rename fails (a directory we may not write, a name too long),
    /// creating the file truncates it in place, as before.
    fn set_aside(&mut self) {
        let Ok(m) = std::fs::symlink_metadata(&self.name) else {
            return;
        };
        // Small files are not worth a thread; links and devices are opened as they are.
        if !m.is_file() || m.len() < SET_ASIDE_FROM {
            return;
        }
        let Some(file_name) = self.name.file_name() else {
            return;
        };
        let mut aside = file_name.to_os_string();
        aside.push(format!(".bpfdump-removing-{}", std::process::id()));
        let aside = self.name.with_file_name(aside);
        if std::fs::rename(&self.name, &aside).is_ok() {
            self.removing.retain(|h| !h.is_finished());
            self.removing.push(std::thread::spawn(move || {
                let _ = std::fs::remove_file(&aside);
            }));
        }
    }

    /// Closes the current file (statistics blocks first, for pcapng).
    fn close(&mut self, stats: Option<&Stats>) -> Result<(), Error> {
        let Some(mut cur) = self.file.take() else {
            return Ok(());
        };
        let now = self.clock.now();
        // The kernel's counters are for all interfaces together with `any`.
        let stats = stats.filter(|_| self.iface.is_some());
        let mut end = || {
            if cur.ng.is_some() && cur.ifaces.is_empty() {
                // An `any` capture without packets: libpcap cannot read a pcapng file
                // without an interface description, so describe the device itself.
                cur.describe(&self.cfg, 0, "any")?;
            }
            cur.statistics(self.start, now, stats)?;
            cur.flush()
        };
        match end() {
            Ok(()) => Ok(()),
            Err(e) => Err(self.lost(cur.fail(e))),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        match self.file.take() {
            Some(cur) => {
                let f = cur.fail(e);
                self.lost(f)
            }
            None => e,
        }
    }

    fn lost(&mut self, (e, n): (Error, u64)) -> Error {
        self.lost_packets += n;
        e
    }
}

impl Current {
    /// The file header; for pcapng, the section header and a one-interface capture's
    /// interface description.
    fn start(
        &mut self,
        cfg: &SaveConfig,
        iface: Option<&(u32, String)>,
        os: &str,
    ) -> Result<(), Error> {
        match cfg.format {
            FileFormat::Pcap => {
                let header = PcapHeader {
                    version_major: 2,
                    version_minor: 4,
                    ts_correction: 0,
                    ts_accuracy: 0,
                    snaplen: cfg.snaplen,
                    datalink: DataLink::from(cfg.linktype),
                    ts_resolution: if cfg.nanos {
                        PcapTsResolution::NanoSecond
                    } else {
                        PcapTsResolution::MicroSecond
                    },
                    endianness: Endianness::native(),
                };
                let n = header
                    .write_to(&mut self.out)
                    .map_err(|e| pcap_error(self.ledger.label(), e))?;
                self.ledger.record_end(n as u64);
            }
            FileFormat::PcapNg => {
                let mut options = Vec::new();
                if !os.is_empty() {
                    options.push(SectionHeaderOption::OS(Cow::Borrowed(os)));
                }
                if !cfg.app.is_empty() && cfg.app.len() <= MAX_OPTION {
                    options.push(SectionHeaderOption::UserApplication(Cow::Borrowed(
                        &cfg.app,
                    )));
                }
                let shb = SectionHeaderBlock {
                    // The EPBs below are written in the native byte order too.
                    endianness: Endianness::native(),
                    major_version: 1,
                    minor_version: 0,
                    section_length: -1,
                    options,
                };
                let ng = PcapNgWriter::with_section_header(Vec::with_capacity(256), shb)
                    .map_err(|e| pcapng_error(self.ledger.label(), e))?;
                self.ng = Some(ng);
                self.copy_block()?;
                if let Some((ifindex, name)) = iface {
                    self.describe(cfg, *ifindex, name)?;
                }
            }
        }
        Ok(())
    }

    /// Copies what the scratch pcapng writer holds (one whole block) into the file.
    fn copy_block(&mut self) -> Result<(), Error> {
        let Some(ng) = self.ng.as_mut() else {
            return Ok(());
        };
        let bytes = ng.get_ref();
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io(self.ledger.label(), &e))?;
        self.ledger.record_end(bytes.len() as u64);
        ng.get_mut().clear();
        Ok(())
    }

    /// Writes a pcapng block other than a packet.
    fn block(&mut self, block: Block) -> Result<(), Error> {
        if let Some(ng) = self.ng.as_mut() {
            ng.get_mut().clear();
            ng.write_block(&block)
                .map_err(|e| pcapng_error(self.ledger.label(), e))?;
        }
        self.copy_block()
    }

    /// An interface description block; returns the interface's id.
    fn describe(&mut self, cfg: &SaveConfig, ifindex: u32, name: &str) -> Result<u32, Error> {
        let mut options = Vec::new();
        if !name.is_empty() && name.len() <= MAX_OPTION {
            options.push(InterfaceDescriptionOption::IfName(Cow::Borrowed(name)));
        }
        options.push(InterfaceDescriptionOption::IfTsResol(if cfg.nanos {
            InterfaceTsResolution::NANO
        } else {
            InterfaceTsResolution::MICRO
        }));
        if !cfg.filter.is_empty() && cfg.filter.len() < MAX_OPTION {
            let mut f = Vec::with_capacity(cfg.filter.len() + 1);
            f.push(FILTER_LIBPCAP_STRING);
            f.extend_from_slice(cfg.filter.as_bytes());
            options.push(InterfaceDescriptionOption::IfFilter(Cow::Owned(f)));
        }
        let idb = InterfaceDescriptionBlock {
            linktype: DataLink::from(cfg.linktype),
            snaplen: cfg.snaplen,
            options,
        };
        self.block(idb.into_block())?;
        self.ifaces.push(Iface {
            ifindex,
            packets: 0,
        });
        Ok((self.ifaces.len() - 1) as u32)
    }

    /// The pcapng interface id of `p`'s interface, described first if new to this file.
    fn interface_id(
        &mut self,
        cfg: &SaveConfig,
        one_iface: bool,
        p: &LivePacket,
    ) -> Result<usize, Error> {
        if one_iface {
            return Ok(0);
        }
        if self
            .ifaces
            .get(self.last)
            .is_some_and(|i| i.ifindex == p.ifindex)
        {
            return Ok(self.last);
        }
        let id = match self.ifaces.iter().position(|i| i.ifindex == p.ifindex) {
            Some(id) => id,
            None => self.describe(cfg, p.ifindex, p.ifname)? as usize,
        };
        self.last = id;
        Ok(id)
    }

    fn packet(&mut self, cfg: &SaveConfig, one_iface: bool, p: &LivePacket) -> Result<(), Error> {
        let data = match cfg.snaplen {
            0 => p.data,
            s => &p.data[..p.data.len().min(s as usize)],
        };
        let caplen = data.len() as u32;
        let orig_len = p.orig_len.max(caplen);
        let secs = p.ts_sec + u64::from(p.ts_nsec / 1_000_000_000);
        let nsec = p.ts_nsec % 1_000_000_000;
        let frac = if cfg.nanos { nsec } else { nsec / 1000 };
        // The records are written here rather than through pcap-file: its EPB writer
        // serializes every block twice (once into a sink, to measure it) and needs an
        // options Vec, so a heap allocation per packet, for epb_flags: measured (bench_epb
        // below) at 39 ns a 64-byte packet against 18.5 here, 50 against 29 for 1500 bytes.
        // Its pcap record writer needs a byte-order type parameter from a crate pcap-file
        // does not re-export. Both records are a fixed header, the data, and (pcapng) a
        // fixed trailer, in the byte order the file header declared (native).
        let r = match cfg.format {
            FileFormat::Pcap => {
                let mut h = [0u8; 16];
                h[0..4].copy_from_slice(&(secs as u32).to_ne_bytes());
                h[4..8].copy_from_slice(&frac.to_ne_bytes());
                h[8..12].copy_from_slice(&caplen.to_ne_bytes());
                h[12..16].copy_from_slice(&orig_len.to_ne_bytes());
                let r = self
                    .out
                    .write_all(&h)
                    .and_then(|()| self.out.write_all(data));
                r.map(|()| 16 + u64::from(caplen))
            }
            FileFormat::PcapNg => {
                let id = self.interface_id(cfg, one_iface, p)?;
                let units = if cfg.nanos { 1_000_000_000 } else { 1_000_000 };
                let ts = secs.wrapping_mul(units).wrapping_add(u64::from(frac));
                let flags = match p.direction {
                    Direction::Unknown => None,
                    Direction::Inbound => Some(1u32),
                    Direction::Outbound => Some(2u32),
                };
                let r = write_epb(&mut self.out, id as u32, ts, data, orig_len, flags);
                self.ifaces[id].packets += 1;
                r
            }
        };
        match r {
            Ok(len) => {
                self.ledger.packet_end(len);
                Ok(())
            }
            Err(e) => Err(Error::io(self.ledger.label(), &e)),
        }
    }

    /// pcapng: an interface statistics block per interface described in this file.
    fn statistics(
        &mut self,
        start: Duration,
        now: Duration,
        stats: Option<&Stats>,
    ) -> Result<(), Error> {
        if self.ng.is_none() {
            return Ok(());
        }
        for id in 0..self.ifaces.len() {
            let mut options = vec![
                InterfaceStatisticsOption::IsbStartTime(start),
                InterfaceStatisticsOption::IsbEndTime(now),
            ];
            if let Some(s) = stats {
                options.push(InterfaceStatisticsOption::IsbFilterAccept(s.received));
                options.push(InterfaceStatisticsOption::IsbOsDrop(s.dropped));
            }
            options.push(InterfaceStatisticsOption::IsbUsrDeliv(
                self.ifaces[id].packets,
            ));
            let isb = InterfaceStatisticsBlock {
                interface_id: id as u32,
                timestamp: now,
                options,
            };
            self.block(isb.into_block())?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.out
            .flush()
            .map_err(|e| Error::io(self.ledger.label(), &e))?;
        self.ledger.settle();
        Ok(())
    }

    /// After a failed write: cut the file back to its last whole record. Also returns how
    /// many packets that cut off.
    fn fail(mut self, e: Error) -> (Error, u64) {
        let e = self.ledger.fail(Some(self.out), e);
        (e, self.ledger.lost_packets())
    }
}

/// An enhanced packet block; returns its length.
fn write_epb(
    out: &mut Out,
    id: u32,
    ts: u64,
    data: &[u8],
    orig_len: u32,
    flags: Option<u32>,
) -> io::Result<u64> {
    let pad = (4 - data.len() % 4) % 4;
    // epb_flags (4 + 4 bytes) and opt_endofopt (4).
    let opts = if flags.is_some() { 12 } else { 0 };
    let total = (28 + data.len() + pad + opts + 4) as u32;
    let mut h = [0u8; 28];
    h[0..4].copy_from_slice(&EPB_TYPE.to_ne_bytes());
    h[4..8].copy_from_slice(&total.to_ne_bytes());
    h[8..12].copy_from_slice(&id.to_ne_bytes());
    h[12..16].copy_from_slice(&((ts >> 32) as u32).to_ne_bytes());
    h[16..20].copy_from_slice(&(ts as u32).to_ne_bytes());
    h[20..24].copy_from_slice(&(data.len() as u32).to_ne_bytes());
    h[24..28].copy_from_slice(&orig_len.to_ne_bytes());
    out.write_all(&h)?;
    out.write_all(data)?;
    let mut t = [0u8; 3 + 12 + 4];
    let mut n = pad;
    if let Some(f) = flags {
        t[n..n + 2].copy_from_slice(&OPT_EPB_FLAGS.to_ne_bytes());
        t[n + 2..n + 4].copy_from_slice(&4u16.to_ne_bytes());
        t[n + 4..n + 8].copy_from_slice(&f.to_ne_bytes());
        // opt_endofopt: 4 zero bytes.
        n += 12;
    }
    t[n..n + 4].copy_from_slice(&total.to_ne_bytes());
    out.write_all(&t[..n + 4])?;
    Ok(u64::from(total))
}

/// (device, inode) of a regular file, to tell it under any name (the input of `-r` that
/// `-w` must not write over).
pub fn file_id(m: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    m.is_file().then(|| (m.dev(), m.ino()))
}

fn secs_i64(t: Duration) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

/// tcpdump's getWflagChars: the digits of W-1 (W=1 -> 0, W=10 -> 1, W=11 -> 2).
fn wflag_chars(w: u32) -> usize {
    let mut x = w.saturating_sub(1);
    let mut c = 0;
    while x > 0 {
        c += 1;
        x /= 10;
    }
    c
}

/// tcpdump's MakeFilename: with -G, `name` first goes through strftime with the local time
/// of `rotation` (the last rotation's time); then, unless both `cnt` and `max_chars` are 0,
/// `cnt` is appended, zero-padded to `max_chars` digits.
fn make_filename(
    name: &OsStr,
    cnt: u32,
    max_chars: usize,
    rotation: Option<i64>,
) -> Result<PathBuf, Error> {
    if name.is_empty() {
        return Err(Error::msg("an empty string is not a valid file name"));
    }
    let mut buf = match rotation {
        Some(t) => strftime_local(name, t)?,
        None => name.as_bytes().to_vec(),
    };
    if cnt != 0 || max_chars != 0 {
        buf.extend_from_slice(format!("{cnt:0max_chars$}").as_bytes());
        if buf.len() > PATH_MAX {
            return Err(Error::msg(format!(
                "too many output files or filename is too long (> {PATH_MAX})"
            )));
        }
    }
    Ok(PathBuf::from(OsString::from_vec(buf)))
}

/// strftime(3) of `fmt` at the local time of `t`, in a buffer of PATH_MAX bytes as tcpdump.
fn strftime_local(fmt: &OsStr, t: i64) -> Result<Vec<u8>, Error> {
    let what = || Path::new(fmt).display().to_string();
    let cfmt = CString::new(fmt.as_bytes())
        .map_err(|_| Error::msg(format!("{}: file name contains a NUL byte", what())))?;
    let tt = t as libc::time_t;
    // SAFETY: tm is plain old data; localtime_r fills it or returns NULL.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&tt, &mut tm) }.is_null() {
        return Err(Error::msg(format!(
            "{}: cannot convert the time {t} to local time",
            what()
        )));
    }
    let mut buf = vec![0u8; PATH_MAX + 1];
    // SAFETY: buf has PATH_MAX + 1 bytes, strftime writes at most PATH_MAX including the NUL;
    // cfmt is NUL-terminated; tm was filled by localtime_r.
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr().cast::<libc::c_char>(),
            PATH_MAX,
            cfmt.as_ptr(),
            &tm,
        )
    };
    if n == 0 {
        // As tcpdump: 0 means the result did not fit (or was empty).
        return Err(Error::msg(format!(
            "{}: strftime: the file name is empty or longer than {PATH_MAX} bytes",
            what()
        )));
    }
    buf.truncate(n);
    Ok(buf)
}

/// shb_os: the kernel's name and release, as uname(2) gives them ("Linux 6.1.0-18-amd64").
fn os_name() -> String {
    // SAFETY: utsname is plain old data; uname fills it with NUL-terminated strings.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let field = |f: &[libc::c_char]| {
        // SAFETY: uname NUL-terminates every field within its array.
        unsafe { CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    format!("{} {}", field(&u.sysname), field(&u.release))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use pcap_file::pcapng::PcapNgParser;

    use crate::reader::{Reader, Record};

    /// A fresh directory under the system's temporary directory, removed when dropped.
    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir()
                .join(format!("bpfdump-savefile-{}-{n}-{tag}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
        /// The names of the files in the directory, sorted.
        fn names(&self) -> Vec<String> {
            let mut v: Vec<String> = fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn config(path: PathBuf, format: FileFormat) -> SaveConfig {
        SaveConfig {
            path,
            format,
            linktype: 1,
            snaplen: 262144,
            nanos: false,
            rotate_bytes: None,
            rotate_secs: None,
            max_files: None,
            flush_each: false,
            filter: String::new(),
            app: "bpfdump test".to_string(),
            protect: Vec::new(),
        }
    }

    /// Frame `i`: `len` bytes, an Ethernet header with an unassigned type, then `i`.
    fn frame(i: u32, len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len.max(18)];
        f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
        f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
        f[12..14].copy_from_slice(&[0x88, 0xb5]);
        f[14..18].copy_from_slice(&i.to_be_bytes());
        f.truncate(len);
        f
    }

    fn live<'a>(i: u32, data: &'a [u8]) -> LivePacket<'a> {
        LivePacket {
            ts_sec: 1_700_000_000 + u64::from(i),
            ts_nsec: 123_456_789,
            data,
            orig_len: data.len() as u32,
            ifindex: 1,
            ifname: "eth0",
            direction: Direction::Unknown,
        }
    }

    /// The time a manual clock shows, set by the test.
    struct ManualTime(std::sync::Arc<std::sync::Mutex<Duration>>);

    impl ManualTime {
        fn set(&self, d: Duration) {
            *self.0.lock().unwrap() = d;
        }
    }

    fn manual_clock(t: u64) -> (Clock, ManualTime) {
        let c = std::sync::Arc::new(std::sync::Mutex::new(Duration::from_secs(t)));
        (Clock::Manual(c.clone()), ManualTime(c))
    }

    /// A packet read back: (seconds, nanoseconds, data).
    type Got = (u64, u32, Vec<u8>);

    /// The packets of a capture file, through the project's reader (which rejects a file
    /// that ends inside a record).
    fn read_packets(path: &Path) -> Vec<Got> {
        let name = path.display().to_string();
        let mut r = Reader::open(fs::File::open(path).unwrap(), &name).unwrap();
        let mut v = Vec::new();
        while let Some(rec) = r.next() {
            if let Record::Packet(p, _) = rec.unwrap() {
                v.push((p.ts.secs, p.ts.nanos, p.data.to_vec()));
            }
        }
        v
    }

    /// Packet numbers (as `frame` wrote them) in a file.
    fn numbers(path: &Path) -> Vec<u32> {
        read_packets(path)
            .iter()
            .map(|(_, _, d)| u32::from_be_bytes([d[14], d[15], d[16], d[17]]))
            .collect()
    }

    fn tcpdump() -> Option<&'static str> {
        let ok = Command::new("tcpdump")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("SKIPPED: tcpdump is not installed; not checking that it reads our files");
            return None;
        }
        Some("tcpdump")
    }

    #[test]
    fn wflag_chars_as_tcpdump() {
        for (w, c) in [(1, 0), (2, 1), (3, 1), (10, 1), (11, 2), (100, 2), (101, 3)] {
            assert_eq!(wflag_chars(w), c, "W={w}");
        }
    }

    #[test]
    fn file_names_as_tcpdump() {
        let n = |name: &str, cnt, chars, g| {
            make_filename(OsStr::new(name), cnt, chars, g)
                .unwrap()
                .display()
                .to_string()
        };
        // Without -C and -G, or the first file of -C without -W: the name as given.
        assert_eq!(n("cap", 0, 0, None), "cap");
        // -C without -W: cap, cap1, cap2, ...
        assert_eq!(n("cap", 1, 0, None), "cap1");
        assert_eq!(n("cap", 12, 0, None), "cap12");
        // -C -W 3 (one digit), -W 11 and -W 100 (two digits).
        assert_eq!(n("cap", 0, wflag_chars(3), None), "cap0");
        assert_eq!(n("cap", 2, wflag_chars(3), None), "cap2");
        assert_eq!(n("cap", 0, wflag_chars(11), None), "cap00");
        assert_eq!(n("cap", 7, wflag_chars(100), None), "cap07");
        assert_eq!(n("cap", 99, wflag_chars(100), None), "cap99");
        // -W 1 with -C: no digits at all, and the count never leaves 0.
        assert_eq!(n("cap", 0, wflag_chars(1), None), "cap");
        // -G: strftime first (%s, seconds since the epoch, is the same in every time zone).
        assert_eq!(n("cap-%s", 0, 0, Some(1_700_000_000)), "cap-1700000000");
        assert_eq!(n("cap-%Y", 0, 0, Some(1_700_000_000)), "cap-2023");
        assert_eq!(n("%%cap-%s.", 3, 2, Some(1000)), "%cap-1000.03");
        // Without -G a % is just a character.
        assert_eq!(n("cap-%Y", 0, 0, None), "cap-%Y");
        assert!(make_filename(OsStr::new(""), 0, 0, None).is_err());
        let long = "x".repeat(PATH_MAX);
        assert!(make_filename(OsStr::new(&long), 1, 0, None).is_err());
        assert!(make_filename(OsStr::new(&long), 0, 0, Some(0)).is_err());
    }

    #[test]
    fn size_rotation_ring_of_three() {
        let d = Dir::new("ring");
        let mut cfg = config(d.path("cap"), FileFormat::Pcap);
        cfg.rotate_bytes = Some(1000);
        cfg.max_files = Some(3);
        let mut s = SaveFile::create(cfg, None).unwrap();
        assert_eq!(s.current_name(), d.path("cap0"));
        for i in 0..30 {
            let f = frame(i, 100);
            assert_eq!(s.packet(&live(i, &f)).unwrap(), Written::Continue);
        }
        assert_eq!(s.current_name(), d.path("cap0"));
        s.finish(None).unwrap();
        // 24 + 9 * 116 = 1068 > 1000 after nine packets: the tenth starts the next file.
        assert_eq!(d.names(), ["cap0", "cap1", "cap2"]);
        assert_eq!(numbers(&d.path("cap1")), (9..18).collect::<Vec<_>>());
        assert_eq!(numbers(&d.path("cap2")), (18..27).collect::<Vec<_>>());
        // The ring came back to cap0, which was overwritten.
        assert_eq!(numbers(&d.path("cap0")), (27..30).collect::<Vec<_>>());
        assert_eq!(fs::metadata(d.path("cap1")).unwrap().len(), 1068);
    }

    #[test]
    fn a_large_file_at_a_reused_name_is_removed_off_the_loop() {
        // A 2 GB file truncated in place took 650 ms in the capture loop; it is renamed away
        // and removed on another thread, gone by the time the writer is.
        let d = Dir::new("aside");
        let old = d.path("cap1");
        fs::write(&old, vec![0xabu8; SET_ASIDE_FROM as usize]).unwrap();
        // Held open, the old file shows what happened to it: truncated in place, it would
        // be empty now; set aside, it keeps its bytes until the last descriptor goes.
        let held = fs::File::open(&old).unwrap();
        let small = d.path("cap2");
        fs::write(&small, b"small").unwrap();
        let mut cfg = config(d.path("cap"), FileFormat::Pcap);
        cfg.rotate_bytes = Some(1000);
        cfg.max_files = Some(3);
        let mut s = SaveFile::create(cfg, None).unwrap();
        for i in 0..22 {
            let f = frame(i, 100);
            assert_eq!(s.packet(&live(i, &f)).unwrap(), Written::Continue);
        }
        assert_eq!(s.current_name(), d.path("cap2"));
        s.finish(None).unwrap();
        assert_eq!(
            d.names(),
            ["cap0", "cap1", "cap2"],
            "nothing set aside is left"
        );
        assert_eq!(numbers(&d.path("cap1")), (9..18).collect::<Vec<_>>());
        assert_eq!(numbers(&d.path("cap2")), (18..22).collect::<Vec<_>>());
        let m = held.metadata().unwrap();
        assert_eq!(
            m.len(),
            SET_ASIDE_FROM,
            "the old file was truncated in place"
        );
        use std::os::unix::fs::MetadataExt;
        assert_eq!(m.nlink(), 0, "the old file was removed");
    }

    /// Pages of `path` in the page cache (mincore over a mapping of it).
    fn resident_pages(path: &Path) -> usize {
        use std::os::fd::AsRawFd;
        let f = fs::File::open(path).unwrap();
        let len = f.metadata().unwrap().len() as usize;
        let page = 4096;
        let mut vec = vec![0u8; len.div_ceil(page)];
        // SAFETY: a read-only shared mapping of the whole file, unmapped below; mincore
        // fills one byte per page of it.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            assert_eq!(libc::mincore(p, len, vec.as_mut_ptr()), 0);
            libc::munmap(p, len);
        }
        vec.iter().filter(|b| *b & 1 != 0).count()
    }

    #[test]
    fn written_pages_leave_the_page_cache() {
        // 3 chunks' worth: at least two are written back and dropped while the file is open.
        let d = Dir::new("cache");
        let cfg = config(d.path("big"), FileFormat::Pcap);
        let mut s = SaveFile::create(cfg, None).unwrap();
        let f = frame(0, 1500);
        let n = (3 * crate::output::CACHE_CHUNK / 1516 + 1) as u32;
        for i in 0..n {
            s.packet(&live(i, &f)).unwrap();
        }
        s.flush().unwrap();
        let pages = |p: &Path| fs::metadata(p).unwrap().len() as usize / 4096;
        let total = pages(&d.path("big"));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut resident = resident_pages(&d.path("big"));
        while resident > total / 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            resident = resident_pages(&d.path("big"));
        }
        s.finish(None).unwrap();
        assert!(
            resident <= total / 2,
            "{resident} of {total} pages still cached 20 s after writing"
        );
    }

    #[test]
    fn size_rotation_without_w_counts_on() {
        let d = Dir::new("count");
        let mut cfg = config(d.path("cap"), FileFormat::Pcap);
        cfg.rotate_bytes = Some(1000);
        let mut s = SaveFile::create(cfg, None).unwrap();
        for i in 0..30 {
            s.packet(&live(i, &frame(i, 100))).unwrap();
        }
        s.finish(None).unwrap();
        assert_eq!(d.names(), ["cap", "cap1", "cap2", "cap3"]);
        assert_eq!(numbers(&d.path("cap")), (0..9).collect::<Vec<_>>());
        assert_eq!(numbers(&d.path("cap3")), (27..30).collect::<Vec<_>>());
    }

    #[test]
    fn time_rotation_stops_at_the_file_limit() {
        let d = Dir::new("gtime");
        let mut cfg = config(d.path("cap-%s"), FileFormat::Pcap);
        cfg.rotate_secs = Some(10);
        cfg.max_files = Some(3);
        let (clock, now) = manual_clock(1000);
        let mut s = SaveFile::with_clock(cfg, None, clock).unwrap();
        assert_eq!(s.current_name(), d.path("cap-1000"));
        let mut i = 0;
        let mut send = |s: &mut SaveFile, t: u64| {
            now.set(Duration::from_secs(t));
            i += 1;
            s.packet(&live(i, &frame(i, 60))).unwrap()
        };
        assert_eq!(send(&mut s, 1000), Written::Continue); // 1
        assert_eq!(send(&mut s, 1009), Written::Continue); // 2
        assert_eq!(send(&mut s, 1010), Written::Continue); // 3: second file
        assert_eq!(s.current_name(), d.path("cap-1010"));
        assert_eq!(send(&mut s, 1019), Written::Continue); // 4
        assert_eq!(send(&mut s, 1031), Written::Continue); // 5: third file
        assert_eq!(s.current_name(), d.path("cap-1031"));
        // The third rotation reaches -W 3: nothing more is written.
        assert_eq!(send(&mut s, 1041), Written::LimitReached);
        assert_eq!(send(&mut s, 1042), Written::LimitReached);
        s.finish(None).unwrap();
        assert_eq!(d.names(), ["cap-1000", "cap-1010", "cap-1031"]);
        assert_eq!(numbers(&d.path("cap-1000")), [1, 2]);
        assert_eq!(numbers(&d.path("cap-1010")), [3, 4]);
        assert_eq!(numbers(&d.path("cap-1031")), [5]);
    }

    #[test]
    fn time_and_size_rotation_number_within_each_period() {
        let d = Dir::new("gc");
        let mut cfg = config(d.path("cap-%s-"), FileFormat::Pcap);
        cfg.rotate_secs = Some(60);
        cfg.rotate_bytes = Some(300);
        cfg.max_files = Some(2);
        let (clock, now) = manual_clock(5000);
        let mut s = SaveFile::with_clock(cfg, None, clock).unwrap();
        assert_eq!(s.current_name(), d.path("cap-5000-0"));
        // 24 + 3 * 116 = 372 > 300: three packets a file.
        for i in 0..7 {
            s.packet(&live(i, &frame(i, 100))).unwrap();
        }
        // 0-2 in -0, 3-5 in -1, 6 back in -0 (the ring of -W 2).
        assert_eq!(s.current_name(), d.path("cap-5000-0"));
        now.set(Duration::from_secs(5060));
        // A new period restarts the count at 0; -W does not end the capture with -C.
        for i in 7..11 {
            assert_eq!(
                s.packet(&live(i, &frame(i, 100))).unwrap(),
                Written::Continue
            );
        }
        assert_eq!(s.current_name(), d.path("cap-5060-1"));
        s.finish(None).unwrap();
        assert_eq!(
            d.names(),
            ["cap-5000-0", "cap-5000-1", "cap-5060-0", "cap-5060-1"]
        );
        assert_eq!(numbers(&d.path("cap-5000-0")), [6]);
        assert_eq!(numbers(&d.path("cap-5000-1")), [3, 4, 5]);
        assert_eq!(numbers(&d.path("cap-5060-0")), [7, 8, 9]);
        assert_eq!(numbers(&d.path("cap-5060-1")), [10]);
    }

    #[test]
    fn pcap_timestamps_micro_and_nano() {
        for nanos in [false, true] {
            let d = Dir::new("pcapts");
            let mut cfg = config(d.path("out.pcap"), FileFormat::Pcap);
            cfg.nanos = nanos;
            cfg.linktype = 276;
            cfg.snaplen = 50;
            let mut s = SaveFile::create(cfg, Some((2, "eth0".into()))).unwrap();
            let f = frame(7, 80);
            let mut p = live(7, &f);
            p.orig_len = 1500;
            s.packet(&p).unwrap();
            s.finish(None).unwrap();
            let bytes = fs::read(d.path("out.pcap")).unwrap();
            let magic = u32::from_ne_bytes(bytes[0..4].try_into().unwrap());
            assert_eq!(magic, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
            assert_eq!(u32::from_ne_bytes(bytes[16..20].try_into().unwrap()), 50);
            assert_eq!(u32::from_ne_bytes(bytes[20..24].try_into().unwrap()), 276);
            // Cut to the snapshot length; the length on the wire kept.
            assert_eq!(u32::from_ne_bytes(bytes[32..36].try_into().unwrap()), 50);
            assert_eq!(u32::from_ne_bytes(bytes[36..40].try_into().unwrap()), 1500);
            let got = read_packets(&d.path("out.pcap"));
            let want_ns = if nanos { 123_456_789 } else { 123_456_000 };
            assert_eq!(got, [(1_700_000_007, want_ns, f[..50].to_vec())]);
        }
    }

    /// What a pcapng file holds, block by block.
    #[derive(Debug, PartialEq)]
    enum Ng {
        Idb {
            linktype: u32,
            snaplen: u32,
            options: Vec<InterfaceDescriptionOption<'static>>,
        },
        Epb {
            id: u32,
            ts: Duration,
            len: usize,
            orig: u32,
            flags: Option<u32>,
        },
        Isb {
            id: u32,
            options: Vec<InterfaceStatisticsOption<'static>>,
        },
    }

    fn pcapng_blocks(path: &Path) -> (SectionHeaderBlock<'static>, Vec<Ng>) {
        use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
        let bytes = fs::read(path).unwrap();
        let (mut rest, mut parser) = PcapNgParser::new(&bytes).unwrap();
        let shb = parser.section().clone();
        let mut v = Vec::new();
        while !rest.is_empty() {
            let (r, block) = parser.next_block(rest).unwrap();
            rest = r;
            v.push(match block {
                Block::InterfaceDescription(b) => Ng::Idb {
                    linktype: u32::from(b.linktype),
                    snaplen: b.snaplen,
                    options: b.options.into_iter().map(|o| o.into_owned()).collect(),
                },
                Block::EnhancedPacket(b) => Ng::Epb {
                    id: b.interface_id,
                    ts: b.timestamp,
                    len: b.data.len(),
                    orig: b.original_len,
                    flags: b.options.iter().find_map(|o| match o {
                        EnhancedPacketOption::Flags(f) => Some(*f),
                        _ => None,
                    }),
                },
                Block::InterfaceStatistics(b) => Ng::Isb {
                    id: b.interface_id,
                    options: b.options.into_iter().map(|o| o.into_owned()).collect(),
                },
                other => panic!("unexpected block {other:?}"),
            });
        }
        (shb, v)
    }

    #[test]
    fn pcapng_one_interface() {
        for nanos in [false, true] {
            let d = Dir::new("ng1");
            let mut cfg = config(d.path("out.pcapng"), FileFormat::PcapNg);
            cfg.nanos = nanos;
            cfg.filter = "tcp port 80".into();
            let (clock, _now) = manual_clock(1_700_000_100);
            let mut s = SaveFile::with_clock(cfg, Some((3, "eth1".into())), clock).unwrap();
            let dirs = [Direction::Inbound, Direction::Outbound, Direction::Unknown];
            for (i, dir) in dirs.into_iter().enumerate() {
                // Every data length modulo 4, for the padding.
                let f = frame(i as u32, 61 + i);
                let mut p = live(i as u32, &f);
                p.direction = dir;
                p.ifindex = 99; // ignored: one interface
                s.packet(&p).unwrap();
            }
            s.finish(Some(Stats {
                received: 10,
                dropped: 2,
                delivered: 3,
            }))
            .unwrap();
            let (shb, blocks) = pcapng_blocks(&d.path("out.pcapng"));
            assert_eq!(shb.endianness, Endianness::native());
            assert!(shb
                .options
                .contains(&SectionHeaderOption::UserApplication("bpfdump test".into())));
            assert!(shb
                .options
                .iter()
                .any(|o| matches!(o, SectionHeaderOption::OS(s) if !s.is_empty())));
            let resol = if nanos {
                InterfaceTsResolution::NANO
            } else {
                InterfaceTsResolution::MICRO
            };
            let frac = if nanos { 123_456_789 } else { 123_456_000 };
            let ts = |i: u64| Duration::new(1_700_000_000 + i, frac);
            let start = Duration::from_secs(1_700_000_100);
            assert_eq!(
                blocks,
                [
                    Ng::Idb {
                        linktype: 1,
                        snaplen: 262144,
                        options: vec![
                            InterfaceDescriptionOption::IfName("eth1".into()),
                            InterfaceDescriptionOption::IfTsResol(resol),
                            InterfaceDescriptionOption::IfFilter(b"\0tcp port 80".to_vec().into()),
                        ],
                    },
                    Ng::Epb {
                        id: 0,
                        ts: ts(0),
                        len: 61,
                        orig: 61,
                        flags: Some(1)
                    },
                    Ng::Epb {
                        id: 0,
                        ts: ts(1),
                        len: 62,
                        orig: 62,
                        flags: Some(2)
                    },
                    Ng::Epb {
                        id: 0,
                        ts: ts(2),
                        len: 63,
                        orig: 63,
                        flags: None
                    },
                    Ng::Isb {
                        id: 0,
                        options: vec![
                            InterfaceStatisticsOption::IsbStartTime(start),
                            InterfaceStatisticsOption::IsbEndTime(start),
                            InterfaceStatisticsOption::IsbFilterAccept(10),
                            InterfaceStatisticsOption::IsbOsDrop(2),
                            InterfaceStatisticsOption::IsbUsrDeliv(3),
                        ],
                    },
                ]
            );
            // The project's reader agrees on the timestamps.
            let got = read_packets(&d.path("out.pcapng"));
            assert_eq!(got.len(), 3);
            assert_eq!((got[1].0, got[1].1), (1_700_000_001, frac));
        }
    }

    #[test]
    fn pcapng_any_device_describes_interfaces_as_they_come_in_each_file() {
        let d = Dir::new("ngany");
        let mut cfg = config(d.path("any.pcapng"), FileFormat::PcapNg);
        cfg.linktype = 276;
        cfg.rotate_bytes = Some(600);
        let mut s = SaveFile::create(cfg, None).unwrap();
        // Interfaces 2 (eth0), 1 (lo), 2, 2, 1, 7 (wlan0), ...
        let ifs = [(2, "eth0"), (1, "lo"), (7, "wlan0")];
        let order = [0, 1, 0, 0, 1, 2, 2, 1, 0, 0];
        for (i, &k) in order.iter().enumerate() {
            let f = frame(i as u32, 100);
            let mut p = live(i as u32, &f);
            (p.ifindex, p.ifname) = ifs[k];
            p.direction = Direction::Inbound;
            s.packet(&p).unwrap();
        }
        s.finish(Some(Stats {
            received: 50,
            dropped: 5,
            delivered: 10,
        }))
        .unwrap();
        let names = d.names();
        assert!(names.len() >= 2, "{names:?}");
        for name in &names {
            let (_, blocks) = pcapng_blocks(&d.path(name));
            // Each file describes the interfaces it has packets of, before the first one,
            // and ends with their statistics (no kernel counters: they cover every interface).
            let mut described: Vec<String> = Vec::new();
            let mut per_id: Vec<u64> = Vec::new();
            let mut isbs = 0;
            for b in &blocks {
                match b {
                    Ng::Idb {
                        linktype, options, ..
                    } => {
                        assert_eq!(*linktype, 276);
                        let InterfaceDescriptionOption::IfName(n) = &options[0] else {
                            panic!("{options:?}")
                        };
                        assert!(!described.contains(&n.to_string()), "{name}: {n} twice");
                        described.push(n.to_string());
                        per_id.push(0);
                    }
                    Ng::Epb { id, flags, .. } => {
                        assert!((*id as usize) < described.len());
                        assert_eq!(*flags, Some(1));
                        per_id[*id as usize] += 1;
                    }
                    Ng::Isb { id, options } => {
                        assert_eq!(
                            options.last(),
                            Some(&InterfaceStatisticsOption::IsbUsrDeliv(
                                per_id[*id as usize]
                            ))
                        );
                        assert!(!options
                            .iter()
                            .any(|o| matches!(o, InterfaceStatisticsOption::IsbOsDrop(_))));
                        isbs += 1;
                    }
                }
            }
            assert_eq!(isbs, described.len(), "{name}");
            assert!(per_id.iter().all(|&n| n > 0));
        }
        let (_, first) = pcapng_blocks(&d.path("any.pcapng"));
        assert!(matches!(&first[0], Ng::Idb { options, .. }
            if options[0] == InterfaceDescriptionOption::IfName("eth0".into())));
        assert!(matches!(&first[2], Ng::Idb { options, .. }
            if options[0] == InterfaceDescriptionOption::IfName("lo".into())));
    }

    #[test]
    fn empty_any_capture_is_still_readable() {
        let d = Dir::new("empty");
        let mut cfg = config(d.path("any.pcapng"), FileFormat::PcapNg);
        cfg.linktype = 276;
        let s = SaveFile::create(cfg, None).unwrap();
        s.finish(Some(Stats {
            received: 0,
            dropped: 0,
            delivered: 0,
        }))
        .unwrap();
        let (_, blocks) = pcapng_blocks(&d.path("any.pcapng"));
        assert!(
            matches!(&blocks[..], [Ng::Idb { linktype: 276, options, .. }, Ng::Isb { .. }]
            if options[0] == InterfaceDescriptionOption::IfName("any".into()))
        );
        let path = d.path("any.pcapng");
        let mut r = Reader::open(fs::File::open(&path).unwrap(), "any.pcapng").unwrap();
        assert_eq!(r.first_interface().unwrap(), Some((276, 262144)));
        if let Some(td) = tcpdump() {
            let o = Command::new(td).arg("-r").arg(&path).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    }

    #[test]
    fn flush_each_packet() {
        let d = Dir::new("flush");
        let mut cfg = config(d.path("out.pcap"), FileFormat::Pcap);
        cfg.flush_each = true;
        let mut s = SaveFile::create(cfg, None).unwrap();
        for i in 0..3u64 {
            s.packet(&live(i as u32, &frame(0, 100))).unwrap();
            assert_eq!(
                fs::metadata(d.path("out.pcap")).unwrap().len(),
                24 + 116 * (i + 1)
            );
        }
        drop(s);
        let mut cfg = config(d.path("buffered.pcap"), FileFormat::Pcap);
        cfg.flush_each = false;
        let mut s = SaveFile::create(cfg, None).unwrap();
        s.packet(&live(0, &frame(0, 100))).unwrap();
        assert_eq!(fs::metadata(d.path("buffered.pcap")).unwrap().len(), 0);
        s.flush().unwrap();
        assert_eq!(fs::metadata(d.path("buffered.pcap")).unwrap().len(), 140);
        s.finish(None).unwrap();
    }

    #[test]
    fn unopenable_rotated_file_names_it_and_ends_writing() {
        let d = Dir::new("unopen");
        // -G with the directory in the pattern: the second period's directory is missing.
        let mut cfg = config(d.path("dir-%s/cap"), FileFormat::PcapNg);
        cfg.rotate_secs = Some(10);
        fs::create_dir(d.path("dir-100")).unwrap();
        let (clock, now) = manual_clock(100);
        let mut s = SaveFile::with_clock(cfg, Some((1, "eth0".into())), clock).unwrap();
        let f = frame(1, 100);
        s.packet(&live(1, &f)).unwrap();
        now.set(Duration::from_secs(110));
        let e = s.packet(&live(2, &f)).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: No such file or directory",
                d.path("dir-110/cap").display()
            )
        );
        assert_eq!(s.current_name(), d.path("dir-110/cap"));
        // Later calls do nothing; the first file was closed whole.
        assert_eq!(s.packet(&live(3, &f)).unwrap(), Written::Continue);
        s.flush().unwrap();
        s.finish(None).unwrap();
        assert_eq!(read_packets(&d.path("dir-100/cap")).len(), 1);
    }

    #[test]
    fn unopenable_first_file() {
        let d = Dir::new("unopen1");
        let cfg = config(d.path("no/such/cap"), FileFormat::Pcap);
        let e = SaveFile::create(cfg, None).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: No such file or directory",
                d.path("no/such/cap").display()
            )
        );
    }

    /// The child half of `failed_write_cuts_back_to_whole_records`: runs only in the child
    /// process that test starts (with a file size limit), and prints what happened.
    #[test]
    fn fsize_child() {
        let Ok(path) = std::env::var("BPFDUMP_SAVEFILE_FSIZE_OUT") else {
            return;
        };
        let format = if path.contains(".pcapng") {
            FileFormat::PcapNg
        } else {
            FileFormat::Pcap
        };
        // Enough to fill the buffer (the error comes from packet()), or, for a name with
        // "flush" in it, a few packets (the error comes from flush()).
        let n = if path.contains("flush") { 100 } else { 20_000 };
        let mut s =
            SaveFile::create(config(path.into(), format), Some((1, "eth0".into()))).unwrap();
        let mut err = None;
        for i in 0..n {
            let f = frame(i, 97 + (i as usize % 7));
            if let Err(e) = s.packet(&live(i, &f)) {
                err = Some(e);
                break;
            }
        }
        let e = match err {
            Some(e) => e,
            None => s.flush().expect_err("the file size limit was not reached"),
        };
        println!("ERROR={e}");
        // Later calls do nothing and do not panic.
        let f = frame(999, 100);
        assert_eq!(s.packet(&live(999, &f)).unwrap(), Written::Continue);
        s.flush().unwrap();
        s.finish(Some(Stats {
            received: 1,
            dropped: 0,
            delivered: 1,
        }))
        .unwrap();
        println!("AFTER=ok");
    }

    #[test]
    fn failed_write_cuts_back_to_whole_records() {
        use std::os::unix::process::CommandExt;
        for name in [
            "out.pcap",
            "out.pcapng",
            "out-flush.pcap",
            "out-flush.pcapng",
        ] {
            // A file size limit makes the write fail partway (EFBIG), as a full disk
            // (ENOSPC) would; it is set in a child process, this test binary again running
            // only `fsize_child`.
            let d = Dir::new("fsize");
            let out = d.path(name);
            let mut c = Command::new(std::env::current_exe().unwrap());
            c.args([
                "savefile::tests::fsize_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BPFDUMP_SAVEFILE_FSIZE_OUT", &out);
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                c.pre_exec(|| {
                    let lim = libc::rlimit {
                        rlim_cur: 3000,
                        rlim_max: 3000,
                    };
                    libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    Ok(())
                });
            }
            let o = c.output().unwrap();
            let stdout = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success(),
                "{stdout}\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(
                stdout.contains(&format!("ERROR={}: File too large\n", out.display())),
                "{stdout}"
            );
            assert!(stdout.contains("AFTER=ok"), "{stdout}");
            let len = fs::metadata(&out).unwrap().len();
            assert!(len <= 3000 && len > 200, "{name}: {len}");
            // The reader rejects a file that ends inside a record.
            let got = read_packets(&out);
            assert!(got.len() > 10, "{name}: {}", got.len());
            let n = got.len() as u32;
            assert_eq!(numbers(&out), (0..n).collect::<Vec<_>>());
            // And nothing beyond the last whole record.
            let per_packet: u64 = match name {
                "out.pcap" | "out-flush.pcap" => {
                    (0..n).map(|i| 16 + 97 + u64::from(i % 7)).sum::<u64>() + 24
                }
                _ => {
                    let (_, blocks) = pcapng_blocks(&out);
                    assert!(matches!(blocks.last(), Some(Ng::Epb { .. })));
                    len
                }
            };
            assert_eq!(len, per_packet, "{name}");
        }
    }

    #[test]
    fn tcpdump_reads_our_files() {
        let Some(td) = tcpdump() else { return };
        let d = Dir::new("td");
        for (name, format, nanos) in [
            ("us.pcap", FileFormat::Pcap, false),
            ("ns.pcap", FileFormat::Pcap, true),
            ("us.pcapng", FileFormat::PcapNg, false),
            ("ns.pcapng", FileFormat::PcapNg, true),
            ("any.pcapng", FileFormat::PcapNg, true),
        ] {
            let mut cfg = config(d.path(name), format);
            cfg.nanos = nanos;
            cfg.filter = "not arp".into();
            // "any": an interface description per interface, as their packets come.
            let one = (!name.starts_with("any")).then(|| (2, "eth0".to_string()));
            let mut s = SaveFile::create(cfg, one).unwrap();
            for i in 0..5 {
                let f = frame(i, 60 + i as usize);
                let mut p = live(i, &f);
                p.direction = Direction::Outbound;
                (p.ifindex, p.ifname) = [(2, "eth0"), (3, "eth1")][i as usize % 2];
                s.packet(&p).unwrap();
            }
            s.finish(Some(Stats {
                received: 5,
                dropped: 0,
                delivered: 5,
            }))
            .unwrap();
            let o = Command::new(td)
                .args(["-nn", "-tt", "--time-stamp-precision", "nano", "-r"])
                .arg(d.path(name))
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success(), "{name}: {stderr}");
            // Summary lines (an unknown ethertype adds indented hex dump lines).
            let lines: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('\t')).collect();
            assert_eq!(lines.len(), 5, "{name}: {stdout}");
            let frac = if nanos { "123456789" } else { "123456000" };
            for (i, l) in lines.iter().enumerate() {
                assert!(
                    l.starts_with(&format!("{}.{frac} ", 1_700_000_000 + i)),
                    "{name}: {l}"
                );
            }
            assert!(!stderr.contains("truncated"), "{name}: {stderr}");
        }
    }

    /// tcpdump's own -C -W run over the same packets writes the same files, byte for byte.
    #[test]
    fn size_rotation_matches_tcpdump() {
        let Some(td) = tcpdump() else { return };
        let d = Dir::new("tdC");
        // 2.6 MB of packets: tcpdump's -C counts millions of bytes.
        let n = 2600;
        let mut input = Vec::new();
        input.extend_from_slice(&0xa1b2_c3d4u32.to_ne_bytes());
        input.extend_from_slice(&2u16.to_ne_bytes());
        input.extend_from_slice(&4u16.to_ne_bytes());
        input.extend_from_slice(&[0; 8]);
        input.extend_from_slice(&262144u32.to_ne_bytes());
        input.extend_from_slice(&1u32.to_ne_bytes());
        let frames: Vec<Vec<u8>> = (0..n).map(|i| frame(i, 900 + (i as usize % 200))).collect();
        for (i, f) in frames.iter().enumerate() {
            let p = live(i as u32, f);
            input.extend_from_slice(&(p.ts_sec as u32).to_ne_bytes());
            input.extend_from_slice(&(p.ts_nsec / 1000).to_ne_bytes());
            input.extend_from_slice(&(f.len() as u32).to_ne_bytes());
            input.extend_from_slice(&(f.len() as u32).to_ne_bytes());
            input.extend_from_slice(f);
        }
        let inp = d.path("in.pcap");
        fs::write(&inp, &input).unwrap();
        for w in [None, Some(2u32)] {
            fs::create_dir(d.path("theirs")).unwrap();
            fs::create_dir(d.path("ours")).unwrap();
            let mut c = Command::new(td);
            c.args(["-Z", "root", "-C", "1", "-r"])
                .arg(&inp)
                .arg("-w")
                .arg(d.path("theirs/cap"));
            if let Some(w) = w {
                c.args(["-W", &w.to_string()]);
            }
            let o = c.output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let mut cfg = config(d.path("ours/cap"), FileFormat::Pcap);
            cfg.rotate_bytes = Some(1_000_000);
            cfg.max_files = w;
            let mut s = SaveFile::create(cfg, None).unwrap();
            for (i, f) in frames.iter().enumerate() {
                s.packet(&live(i as u32, f)).unwrap();
            }
            s.finish(None).unwrap();
            let theirs = Dir(d.path("theirs"));
            let ours = Dir(d.path("ours"));
            assert_eq!(ours.names(), theirs.names(), "-W {w:?}");
            assert!(ours.names().len() >= 2);
            for f in ours.names() {
                assert!(
                    fs::read(ours.path(&f)).unwrap() == fs::read(theirs.path(&f)).unwrap(),
                    "-W {w:?}: {f} differs"
                );
            }
        }
    }

    /// Measures the packet record writers. Run with
    /// `cargo test --release --bin bpfdump bench_ -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn bench_epb() {
        use pcap_file::pcapng::blocks::enhanced_packet::{
            EnhancedPacketBlock, EnhancedPacketOption,
        };
        use std::time::Instant;
        let n = 2_000_000u32;
        for len in [64usize, 1500] {
            let data = frame(1, len);
            let sink = || io::BufWriter::with_capacity(BUF_SIZE, io::sink());

            // pcap-file's EnhancedPacketBlock, with epb_flags.
            let mut w = PcapNgWriter::new(sink()).unwrap();
            let idb = InterfaceDescriptionBlock::new(DataLink::ETHERNET, 262144);
            w.write_pcapng_block(idb).unwrap();
            let t = Instant::now();
            for i in 0..n {
                let epb = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp: Duration::new(1_700_000_000 + u64::from(i), 5000),
                    original_len: len as u32,
                    data: Cow::Borrowed(&data),
                    options: vec![EnhancedPacketOption::Flags(1)],
                };
                w.write_pcapng_block(epb).unwrap();
            }
            let crate_ns = t.elapsed().as_nanos() as f64 / f64::from(n);

            // Ours, through the same kind of buffer.
            let (mut out, mut ledger) =
                Ledger::open(Path::new("/dev/null"), BUF_SIZE, false).unwrap();
            let t = Instant::now();
            for i in 0..n {
                let ts = (1_700_000_000 + u64::from(i)) * 1_000_000 + 5;
                let len = write_epb(&mut out, 0, ts, &data, len as u32, Some(1)).unwrap();
                ledger.record_end(len);
            }
            out.flush().unwrap();
            let ours_ns = t.elapsed().as_nanos() as f64 / f64::from(n);
            println!("EPB {len:4} bytes: pcap-file {crate_ns:.1} ns, ours {ours_ns:.1} ns");
        }
    }

    /// Measures the buffer size: packets through SaveFile-sized buffers to a real file.
    #[test]
    #[ignore]
    fn bench_buffer() {
        use std::time::Instant;
        let d = Dir::new("bench");
        let n = 1_000_000u32;
        for len in [100usize, 1500] {
            let data = frame(1, len);
            for size in [64 * 1024, 256 * 1024, 512 * 1024, 1024 * 1024] {
                let path = d.path("b.pcap");
                let mut best = f64::MAX;
                for _ in 0..3 {
                    let (mut out, mut ledger) = Ledger::open(&path, size, false).unwrap();
                    let t = Instant::now();
                    for i in 0..n {
                        let ts = (1_700_000_000 + u64::from(i)) * 1_000_000;
                        let l = write_epb(&mut out, 0, ts, &data, len as u32, Some(1)).unwrap();
                        ledger.record_end(l);
                    }
                    out.flush().unwrap();
                    best = best.min(t.elapsed().as_nanos() as f64 / f64::from(n));
                    drop(out);
                    fs::remove_file(&path).unwrap();
                }
                println!(
                    "{len:4}-byte packets, {:5} KiB buffer: {best:.1} ns/packet",
                    size / 1024
                );
            }
        }
    }
}
