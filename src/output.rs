//! Writing kept packets to a capture file (`-w`), unchanged: a pcap input gives a pcap output
//! with the input's header (byte order, timestamp precision, snapshot length, link type); a
//! pcapng input gives a pcapng output with the input's section and interface blocks (so each
//! interface keeps its if_tsresol) and the kept packet blocks as they were.
//!
//! If a write fails (full disk, file size limit, ...) the file is cut back to the end of the
//! last record that reached it whole, so it stays a valid capture file, and the error is
//! reported. Bytes accepted by the operating system are counted below the buffer; every record
//! end is remembered until that count passes it. [`Ledger`] keeps that account; the
//! live-capture writer (`savefile`) uses it too.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use pcap_file::pcap::PcapWriteError;
use pcap_file::pcapng::{PcapNgWriteError, PcapNgWriter, RawBlock};

use crate::error::{chain, Error};
use crate::reader::{Format, Raw, IDB, SHB};

const BUF_SIZE: usize = 1024 * 1024;

/// Writes go out in whole pages of the file: the kernel copies each write into the page cache
/// with `rep movsb`, which on the AMD machines we measured runs 2-4x slower when the
/// destination is not 64-byte aligned, and a record-sized remainder at every flush would leave
/// every later write misaligned (700 MB of records: 0.15 s aligned, 0.2-0.4 s not).
const PAGE: usize = 4096;
/// Buffers handed to the write-behind thread and not yet written.
const DEPTH: usize = 2;

/// A buffer whose bytes start on a page-aligned address.
struct PageBuf {
    vec: Vec<u8>,
    base: usize,
}

impl PageBuf {
    fn new(cap: usize) -> PageBuf {
        let vec = vec![0u8; cap + PAGE];
        let base = (PAGE - vec.as_ptr() as usize % PAGE) % PAGE;
        PageBuf { vec, base }
    }
}

/// The buffered writer that records go through: a file (or stdout) and a buffer whose
/// automatic flushes end on a page boundary of the file, keeping the remainder for the next.
/// It counts the bytes the OS accepted, for the [`Ledger`]. Like `BufWriter`, it flushes on
/// drop unless [`Out::discard`]ed.
///
/// With a write-behind thread (offline `-w`), full buffers are written by that thread while
/// the caller fills the next one: write(2) into the page cache is most of the time of
/// copying a cached capture into a new file, and it then runs on the other CPU.
pub struct Out {
    file: File,
    buf: PageBuf,
    cap: usize,
    /// Bytes buffered, from `buf.base`.
    len: usize,
    /// Bytes handed over so far (written, or queued for the thread): the file offset of
    /// the buffer's first byte, for a file opened empty.
    queued: u64,
    /// Bytes the OS accepted.
    written: Arc<AtomicU64>,
    behind: Option<Behind>,
}

/// The write-behind thread and the buffers it has.
struct Behind {
    jobs: Option<SyncSender<(PageBuf, usize)>>,
    done: Receiver<io::Result<PageBuf>>,
    /// Buffers sent and not yet back.
    in_flight: usize,
    /// Tells the thread to write nothing more (the file is about to be cut back).
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The thread's error, once it has reported one.
    failed: Option<io::ErrorKind>,
}

/// Writes `data` whole, counting what the OS accepts.
fn write_counted(file: &mut File, mut data: &[u8], written: &AtomicU64) -> io::Result<()> {
    while !data.is_empty() {
        match file.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(k) => {
                written.fetch_add(k as u64, Ordering::Release);
                data = &data[k..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Behind {
    fn start(file: &File, written: &Arc<AtomicU64>) -> io::Result<Behind> {
        let mut file = file.try_clone()?;
        let (jobs, rx) = mpsc::sync_channel::<(PageBuf, usize)>(DEPTH);
        let (tx, done) = mpsc::sync_channel(DEPTH + 1);
        let stop = Arc::new(AtomicBool::new(false));
        let (written, halt) = (written.clone(), stop.clone());
        let thread = thread::Builder::new()
            .name("write-behind".into())
            .spawn(move || {
                for (buf, n) in rx {
                    if halt.load(Ordering::Acquire) {
                        return;
                    }
                    let r = write_counted(&mut file, &buf.vec[buf.base..buf.base + n], &written);
                    let failed = r.is_err();
                    if tx.send(r.map(|()| buf)).is_err() || failed {
                        return;
                    }
                }
            })?;
        Ok(Behind {
            jobs: Some(jobs),
            done,
            in_flight: 0,
            stop,
            thread: Some(thread),
            failed: None,
        })
    }

    /// One buffer back from the thread (waiting for it if `wait`), or its error.
    fn take_back(&mut self, wait: bool) -> io::Result<Option<PageBuf>> {
        if let Some(kind) = self.failed {
            return Err(kind.into());
        }
        if self.in_flight == 0 {
            return Ok(None);
        }
        let got = if wait {
            self.done.recv().ok()
        } else {
            self.done.try_recv().ok()
        };
        match got {
            None if !wait => Ok(None),
            None => Err(self.fail(io::ErrorKind::BrokenPipe.into())),
            Some(Ok(buf)) => {
                self.in_flight -= 1;
                Ok(Some(buf))
            }
            Some(Err(e)) => Err(self.fail(e)),
        }
    }

    fn fail(&mut self, e: io::Error) -> io::Error {
        self.failed = Some(e.kind());
        e
    }

    /// Queues `n` bytes of `buf` for writing.
    fn send(&mut self, buf: PageBuf, n: usize) -> io::Result<()> {
        let sent = self.jobs.as_ref().map(|j| j.send((buf, n)));
        match sent {
            Some(Ok(())) => {
                self.in_flight += 1;
                Ok(())
            }
            // The thread has gone, after an error: report that one.
            _ => {
                while self.take_back(true)?.is_some() {}
                Err(self.fail(io::ErrorKind::BrokenPipe.into()))
            }
        }
    }

    /// Waits until everything sent is written.
    fn sync(&mut self) -> io::Result<()> {
        while self.take_back(true)?.is_some() {}
        Ok(())
    }

    /// Stops the thread after the write it may be in; nothing queued is written.
    fn halt(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Out {
    fn new(file: File, capacity: usize, written: Arc<AtomicU64>, behind: bool) -> Out {
        let cap = capacity.max(2 * PAGE).next_multiple_of(PAGE);
        // Without a thread the writes are ours, as they would be if it cannot start.
        let behind = behind
            .then(|| Behind::start(&file, &written).ok())
            .flatten();
        Out {
            file,
            buf: PageBuf::new(cap),
            cap,
            len: 0,
            queued: 0,
            written,
            behind,
        }
    }

    /// Bytes held in the buffer.
    pub fn buffered(&self) -> usize {
        self.len
    }

    /// Whether the file has been removed (no name left for it) since it was opened.
    pub fn removed(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        self.file
            .metadata()
            .is_ok_and(|m| m.is_file() && m.nlink() == 0)
    }

    /// Drops what is buffered or queued without writing it (after a failed write): once
    /// this returns, nothing more reaches the file.
    pub fn discard(mut self) {
        self.len = 0;
        if let Some(mut b) = self.behind.take() {
            b.halt();
        }
    }

    /// Hands the first `n` buffered bytes over (to the OS, or to the thread) and keeps the
    /// rest at the front of the buffer.
    fn hand_over(&mut self, n: usize) -> io::Result<()> {
        let Some(behind) = self.behind.as_mut() else {
            let from = self.buf.base;
            let r = write_counted(&mut self.file, &self.buf.vec[from..from + n], &self.written);
            // What the OS took is gone from the buffer, even on an error.
            let took = (self.written.load(Ordering::Acquire) - self.queued) as usize;
            let (b, l) = (self.buf.base, self.len);
            self.buf.vec.copy_within(b + took..b + l, b);
            self.len -= took;
            self.queued += took as u64;
            return r;
        };
        // A buffer back from the thread (waiting if DEPTH are out), or a new one.
        let spare = match behind.take_back(behind.in_flight >= DEPTH)? {
            Some(buf) => buf,
            None => PageBuf::new(self.cap),
        };
        let full = std::mem::replace(&mut self.buf, spare);
        let rest = n..self.len;
        let (to, from) = (self.buf.base, full.base);
        self.buf.vec[to..to + rest.len()]
            .copy_from_slice(&full.vec[from + rest.start..from + rest.end]);
        self.len = rest.len();
        self.queued += n as u64;
        behind.send(full, n)
    }

    /// Makes room: hands over the buffered bytes up to the last page boundary of the file.
    fn drain(&mut self) -> io::Result<()> {
        let pos = (self.queued % PAGE as u64) as usize;
        let end = (pos + self.len) / PAGE * PAGE;
        self.hand_over(if end > pos { end - pos } else { self.len })
    }
}

impl Write for Out {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.len == self.cap {
            self.drain()?;
        }
        let n = data.len().min(self.cap - self.len);
        let at = self.buf.base + self.len;
        self.buf.vec[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        Ok(n)
    }

    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        // The common case, a record that fits, in one copy.
        if data.len() <= self.cap - self.len {
            let at = self.buf.base + self.len;
            self.buf.vec[at..at + data.len()].copy_from_slice(data);
            self.len += data.len();
            return Ok(());
        }
        while !data.is_empty() {
            let n = self.write(data)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Everything buffered or queued reaches the OS before this returns.
    fn flush(&mut self) -> io::Result<()> {
        if self.len > 0 {
            self.hand_over(self.len)?;
        }
        if let Some(b) = self.behind.as_mut() {
            b.sync()?;
        }
        self.file.flush()
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = self.flush();
        }
        if let Some(b) = self.behind.as_mut() {
            b.halt();
        }
    }
}

/// The account of an output file's records: which of them the OS has whole, so that after a
/// failed write the file can be cut back to the last of those.
pub struct Ledger {
    /// For messages: the path, or "stdout".
    label: String,
    /// The output file, to cut back after a failed write (None for stdout or non-files).
    truncatable: Option<File>,
    written: Arc<AtomicU64>,
    /// Bytes handed to the writer so far.
    queued: u64,
    /// Ends of records not yet known to be on disk, and whether each is a packet.
    pending_ends: VecDeque<(u64, bool)>,
    /// Packet records given to the writer but cut off by a failure.
    lost_packets: u64,
    /// End of the last record known to be wholly on disk.
    good: u64,
}

/// Prints `text` on stdout (help, -D, -d listings). Through a File of our own, not
/// `io::stdout()`, which reports a write to a closed stdout (EBADF) as a success.
pub fn print(text: &str) -> Result<(), Error> {
    stdout_file()
        .and_then(|mut out| out.write_all(text.as_bytes()))
        .map_err(|e| Error::io("stdout", &e))
}

/// The stdout file descriptor as a File of our own (no line buffering; closing it leaves
/// stdout open). On a stdout that was closed when we started, every write fails with EBADF
/// (see `closed_stdout_stays_unwritable`).
pub fn stdout_file() -> io::Result<File> {
    Ok(File::from(io::stdout().as_fd().try_clone_to_owned()?))
}

/// Rust's runtime points a closed stdin, stdout or stderr at /dev/null, opened read-write,
/// before `main` (so that no file opened later takes its descriptor). On a stdout closed by
/// the caller (`bpfdump -r f >&-`) everything printed would then vanish and the exit status
/// say success. tcpdump instead fails its first write there (its capture file took
/// descriptor 1 read-only): "Unable to write output: Bad file descriptor", exit status
/// non-zero. So before the runtime's check, a closed descriptor 1 gets /dev/null read-only:
/// every write to stdout then fails with EBADF, as on the closed descriptor, and nothing
/// that is never written (an empty capture, `-w file`) fails, as with tcpdump.
/// glibc and musl run `.init_array` entries before `main`, where the runtime's check is.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static CLOSED_STDOUT_STAYS_UNWRITABLE: extern "C" fn() = closed_stdout_stays_unwritable;

#[cfg(target_os = "linux")]
extern "C" fn closed_stdout_stays_unwritable() {
    // SAFETY: plain system calls on descriptors we own; nothing else runs yet.
    unsafe {
        if libc::fcntl(1, libc::F_GETFD) != -1 {
            return;
        }
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        // With stdin closed too, /dev/null lands on 0; the runtime then fills 0 again.
        if fd >= 0 && fd != 1 {
            libc::dup2(fd, 1);
            libc::close(fd);
        }
    }
}

impl Ledger {
    /// Creates (or truncates) `path`, or takes stdout for `-`: the buffered writer to write
    /// records through (`capacity` bytes of buffer) and its ledger. With `behind`, a file or
    /// pipe is written by a thread of its own (not a terminal or /dev/null: nothing to gain).
    pub fn open(path: &Path, capacity: usize, behind: bool) -> Result<(Out, Ledger), Error> {
        let stdout = path.as_os_str() == "-";
        let label = if stdout {
            "stdout".to_string()
        } else {
            path.display().to_string()
        };
        let file = if stdout {
            stdout_file()
        } else {
            File::create(path)
        }
        .map_err(|e| Error::io(&label, &e))?;
        let meta = file.metadata().ok();
        let truncatable = match &meta {
            Some(m) if m.is_file() && !stdout => file.try_clone().ok(),
            _ => None,
        };
        let behind = behind
            && meta.is_some_and(|m| {
                let t = m.file_type();
                t.is_file() || t.is_fifo() || t.is_socket()
            });
        let written = Arc::new(AtomicU64::new(0));
        let out = Out::new(file, capacity, written.clone(), behind);
        let ledger = Ledger {
            label,
            truncatable,
            written,
            queued: 0,
            pending_ends: VecDeque::new(),
            lost_packets: 0,
            good: 0,
        };
        Ok((out, ledger))
    }

    /// The path, or "stdout".
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Bytes of whole records handed to the writer, buffered ones included (what `ftell`
    /// says between records).
    pub fn position(&self) -> u64 {
        self.queued
    }

    /// A record of `len` bytes was handed to the writer whole.
    pub fn record_end(&mut self, len: u64) {
        self.end(len, false);
    }

    /// A packet record of `len` bytes was handed to the writer whole.
    pub fn packet_end(&mut self, len: u64) {
        self.end(len, true);
    }

    fn end(&mut self, len: u64, packet: bool) {
        self.queued += len;
        self.pending_ends.push_back((self.queued, packet));
        self.settle();
    }

    /// Packet records that a failure cut off (after [`Ledger::fail`]).
    pub fn lost_packets(&self) -> u64 {
        self.lost_packets
    }

    /// Moves record ends the OS has accepted out of `pending_ends` (call it after a flush, or
    /// any time).
    pub fn settle(&mut self) {
        let on_disk = self.written.load(Ordering::Acquire);
        while let Some(&(end, _)) = self.pending_ends.front() {
            if end > on_disk {
                break;
            }
            self.good = end;
            self.pending_ends.pop_front();
        }
    }

    /// After a failed write: drop what `out` still buffers, cut the file back to the last
    /// whole record, and return the error to report. The ledger cuts nothing after this.
    pub fn fail(&mut self, out: Option<Out>, e: Error) -> Error {
        if let Some(out) = out {
            // Nothing more reaches the file after this, so the cut below is final.
            out.discard();
        }
        self.settle();
        if let Some(f) = self.truncatable.take() {
            let _ = f.set_len(self.good);
        }
        self.lost_packets += self.pending_ends.iter().filter(|(_, p)| *p).count() as u64;
        self.pending_ends.clear();
        e
    }
}

enum Inner {
    /// A pcap file: the header is written once, then records exactly as read (the header
    /// keeps the input's byte order and precision, so its records need no conversion).
    Pcap(Out),
    PcapNg(PcapNgWriter<Out>),
    Closed,
}

impl Inner {
    fn into_out(self) -> Option<Out> {
        match self {
            Inner::Pcap(w) => Some(w),
            Inner::PcapNg(w) => Some(w.into_inner()),
            Inner::Closed => None,
        }
    }
}

pub struct CaptureWriter {
    inner: Inner,
    ledger: Ledger,
    /// A pcap output's byte order (the input's).
    order: pcap_file::Endianness,
}

impl CaptureWriter {
    /// Creates `path` (`-` for stdout) and writes the header of `format` into the buffer.
    pub fn create(path: &Path, format: Format) -> Result<CaptureWriter, Error> {
        let (sink, ledger) = Ledger::open(path, BUF_SIZE, true)?;
        let order = match &format {
            Format::Pcap(h) => h.endianness,
            Format::PcapNg(_) => pcap_file::Endianness::Little,
        };
        let mut w = CaptureWriter {
            inner: Inner::Closed,
            ledger,
            order,
        };
        let started = match format {
            Format::Pcap(header) => {
                let mut sink = sink;
                header
                    .write_to(&mut sink)
                    // The 24-byte file header, in the buffer.
                    .map(|_| (Inner::Pcap(sink), 24))
                    .map_err(|e| pcap_error(w.ledger.label(), e))
            }
            Format::PcapNg(mut section) => {
                // Packets may be left out, so the section's length is no longer known.
                section.section_length = -1;
                PcapNgWriter::with_section_header(sink, section)
                    .map(|nw| {
                        let len = nw.get_ref().buffered() as u64;
                        (Inner::PcapNg(nw), len)
                    })
                    .map_err(|e| pcapng_error(w.ledger.label(), e))
            }
        };
        match started {
            Ok((inner, buffered)) => {
                w.inner = inner;
                // The header is in the buffer, or (if larger) already written through it.
                w.ledger
                    .record_end(buffered + w.ledger.written.load(Ordering::Acquire));
                Ok(w)
            }
            Err(e) => Err(w.fail(e)),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        let out = std::mem::replace(&mut self.inner, Inner::Closed).into_out();
        self.ledger.fail(out, e)
    }

    /// Writes a kept packet as it was read.
    pub fn packet(&mut self, raw: &Raw) -> Result<(), Error> {
        let label = self.ledger.label();
        let r = match (&mut self.inner, raw) {
            (Inner::Pcap(w), Raw::Pcap(p)) => {
                let mut rec = [0u8; 16];
                for (i, v) in [p.ts_sec, p.ts_frac, p.incl_len, p.orig_len]
                    .iter()
                    .enumerate()
                {
                    rec[i * 4..i * 4 + 4].copy_from_slice(&match self.order {
                        pcap_file::Endianness::Big => v.to_be_bytes(),
                        pcap_file::Endianness::Little => v.to_le_bytes(),
                    });
                }
                w.write_all(&rec)
                    .and_then(|()| w.write_all(&p.data))
                    .map(|()| 16 + p.data.len())
                    .map_err(|e| Error::io(label, &e))
            }
            (Inner::PcapNg(w), Raw::Block(b)) if b.type_ == IDB => {
                // Copied as it is, not through write_raw_block: pcap-file would decode it for
                // its state (which only blocks it encodes itself need) and refuses time stamp
                // resolutions libpcap reads (finer than 10^-9 or 2^-29).
                let order = w.section().endianness;
                let word = |v: u32| match order {
                    pcap_file::Endianness::Big => v.to_be_bytes(),
                    pcap_file::Endianness::Little => v.to_le_bytes(),
                };
                let out = w.get_mut();
                out.write_all(&word(b.type_))
                    .and_then(|()| out.write_all(&word(b.initial_len)))
                    .and_then(|()| out.write_all(&b.body))
                    .and_then(|()| out.write_all(&word(b.trailer_len)))
                    .map(|()| 12 + b.body.len())
                    .map_err(|e| Error::io(label, &e))
            }
            (Inner::PcapNg(w), Raw::Block(b)) => {
                w.write_raw_block(b).map_err(|e| pcapng_error(label, e))
            }
            (Inner::Closed, _) => return Ok(()),
            _ => unreachable!("records come from the file the writer was made for"),
        };
        match r {
            Ok(n) => {
                self.ledger.record_end(n as u64);
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Writes a pcap record (16-byte header and data) exactly as the input file has it.
    pub fn pcap_record(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let Inner::Pcap(w) = &mut self.inner else {
            return Ok(());
        };
        match w.write_all(bytes) {
            Ok(()) => {
                self.ledger.record_end(bytes.len() as u64);
                Ok(())
            }
            Err(e) => {
                let e = Error::io(self.ledger.label(), &e);
                Err(self.fail(e))
            }
        }
    }

    /// Copies a pcapng block that is not a packet (section header, interface description, ...)
    /// so the packets after it keep their meaning. Non-copiable custom blocks are left out, as
    /// the pcapng spec asks.
    pub fn block(&mut self, raw: &RawBlock) -> Result<(), Error> {
        if raw.type_ == crate::reader::CUSTOM_NON_COPIABLE {
            return Ok(());
        }
        if raw.type_ == SHB && raw.body.len() >= 16 && raw.body[8..16] != [0xff; 8] {
            // A later section: its length is no longer known either.
            let mut body = raw.body.to_vec();
            body[8..16].fill(0xff);
            let patched = RawBlock {
                type_: raw.type_,
                initial_len: raw.initial_len,
                body: body.into(),
                trailer_len: raw.trailer_len,
            };
            return self.packet(&Raw::Block(patched));
        }
        self.packet(&Raw::Block(raw.clone()))
    }

    /// Hands everything written so far to the OS (`-U`).
    pub fn flush(&mut self) -> Result<(), Error> {
        let label = self.ledger.label();
        let r = match &mut self.inner {
            Inner::Pcap(w) => w.flush().map_err(|e| Error::io(label, &e)),
            Inner::PcapNg(w) => w.get_mut().flush().map_err(|e| Error::io(label, &e)),
            Inner::Closed => Ok(()),
        };
        match r {
            Ok(()) => {
                self.ledger.settle();
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Flushes everything; the file is complete.
    pub fn finish(mut self) -> Result<(), Error> {
        self.flush()
    }
}

pub fn pcap_error(label: &str, e: PcapWriteError) -> Error {
    match e {
        PcapWriteError::Io(io) | PcapWriteError::FieldWriteFailed(_, io) => Error::io(label, &io),
        other => Error::msg(format!("{label}: {}", chain(&other))),
    }
}

pub fn pcapng_error(label: &str, e: PcapNgWriteError) -> Error {
    match e {
        PcapNgWriteError::Io(io) => Error::io(label, &io),
        other => Error::msg(format!("{label}: {}", chain(&other))),
    }
}

/// Keeps a capture file from filling the page cache: a thread of its own waits until each
/// further [`CACHE_CHUNK`] the OS has taken is on disk (sync_file_range) and drops those pages
/// (POSIX_FADV_DONTNEED). A capture writes gigabytes it will not read back soon; left in the
/// cache they grow it without bound, and on the VM this was measured on, the file's writes
/// cost three times the CPU per packet once some 2 GB were cached (bench/README.md, soak).
/// Nothing waits for the thread: dropping this only tells it to stop, so closing a file
/// (rotation, in the capture loop) never waits for a disk.
pub struct CacheDropper {
    stop: Arc<AtomicBool>,
}

/// Bytes written back and dropped at a time.
pub const CACHE_CHUNK: u64 = 32 << 20;

impl CacheDropper {
    /// For a regular file (None for stdout, pipes, devices).
    pub fn start(ledger: &Ledger) -> Option<CacheDropper> {
        use std::os::fd::AsRawFd;
        let file = ledger.truncatable.as_ref()?.try_clone().ok()?;
        let written = ledger.written.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        thread::Builder::new()
            .name("cache".into())
            .spawn(move || {
                let fd = file.as_raw_fd();
                let mut done: u64 = 0;
                while !flag.load(Ordering::Relaxed) {
                    thread::sleep(std::time::Duration::from_millis(100));
                    let upto = written.load(Ordering::Acquire) / CACHE_CHUNK * CACHE_CHUNK;
                    if upto <= done {
                        continue;
                    }
                    let (off, len) = (done as libc::off64_t, (upto - done) as libc::off64_t);
                    // SAFETY: plain system calls on a descriptor this thread owns.
                    unsafe {
                        libc::sync_file_range(
                            fd,
                            off,
                            len,
                            libc::SYNC_FILE_RANGE_WAIT_BEFORE
                                | libc::SYNC_FILE_RANGE_WRITE
                                | libc::SYNC_FILE_RANGE_WAIT_AFTER,
                        );
                        libc::posix_fadvise64(fd, off, len, libc::POSIX_FADV_DONTNEED);
                    }
                    done = upto;
                }
            })
            .ok()?;
        Some(CacheDropper { stop })
    }
}

impl Drop for CacheDropper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
