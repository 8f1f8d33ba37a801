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

use std::cell::Cell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::rc::Rc;

use pcap_file::pcap::PcapWriteError;
use pcap_file::pcapng::{PcapNgWriteError, PcapNgWriter, RawBlock};

use crate::error::{chain, Error};
use crate::reader::{Format, Raw, SHB};

const BUF_SIZE: usize = 64 * 1024;

/// A file (or stdout) that counts the bytes the OS accepted.
pub struct Counted {
    file: File,
    written: Rc<Cell<u64>>,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written.set(self.written.get() + n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The buffered writer that records go through.
pub type Out = BufWriter<Counted>;

/// The account of an output file's records: which of them the OS has whole, so that after a
/// failed write the file can be cut back to the last of those.
pub struct Ledger {
    /// For messages: the path, or "stdout".
    label: String,
    /// The output file, to cut back after a failed write (None for stdout or non-files).
    truncatable: Option<File>,
    written: Rc<Cell<u64>>,
    /// Bytes handed to the writer so far.
    queued: u64,
    /// Ends of records not yet known to be on disk, and whether each is a packet.
    pending_ends: VecDeque<(u64, bool)>,
    /// Packet records given to the writer but cut off by a failure.
    lost_packets: u64,
    /// End of the last record known to be wholly on disk.
    good: u64,
}

/// Prints `text` on stdout and flushes it (help, -D, -d listings).
pub fn print(text: &str) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("stdout", &e))
}

/// The stdout file descriptor as a File of our own (no line buffering; closing it leaves
/// stdout open).
pub fn stdout_file() -> io::Result<File> {
    Ok(File::from(io::stdout().as_fd().try_clone_to_owned()?))
}

impl Ledger {
    /// Creates (or truncates) `path`, or takes stdout for `-`: the buffered writer to write
    /// records through (`capacity` bytes of buffer) and its ledger.
    pub fn open(path: &Path, capacity: usize) -> Result<(Out, Ledger), Error> {
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
        let truncatable = match file.metadata() {
            Ok(m) if m.is_file() && !stdout => file.try_clone().ok(),
            _ => None,
        };
        let written = Rc::new(Cell::new(0));
        let out = BufWriter::with_capacity(
            capacity,
            Counted {
                file,
                written: written.clone(),
            },
        );
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
        let on_disk = self.written.get();
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
        self.settle();
        if let Some(bw) = out {
            // into_parts: no flush on drop after the cut below.
            let _ = bw.into_parts();
        }
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
        let (sink, ledger) = Ledger::open(path, BUF_SIZE)?;
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
                        let len = nw.get_ref().buffer().len() as u64;
                        (Inner::PcapNg(nw), len)
                    })
                    .map_err(|e| pcapng_error(w.ledger.label(), e))
            }
        };
        match started {
            Ok((inner, buffered)) => {
                w.inner = inner;
                // The header is in the buffer, or (if larger) already written through it.
                w.ledger.record_end(buffered + w.ledger.written.get());
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

    /// Flushes everything; the file is complete.
    pub fn finish(mut self) -> Result<(), Error> {
        let label = self.ledger.label();
        let r = match &mut self.inner {
            Inner::Pcap(w) => w.flush().map_err(|e| Error::io(label, &e)),
            Inner::PcapNg(w) => w.get_mut().flush().map_err(|e| Error::io(label, &e)),
            Inner::Closed => Ok(()),
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
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
