//! Reading capture files record by record: pcap (microsecond or nanosecond magic, either byte
//! order) and pcapng, from a file or a pipe.
//!
//! The buffering is ours, so that every record's byte offset is known (for "truncated ... at
//! byte offset N"), a record is only parsed once all of it is in memory, and a corrupt length
//! field is caught before we try to read gigabytes. The record formats themselves are parsed
//! by pcap-file, whose raw records ([`RawPcapPacket`], [`RawBlock`]) are also what the writer
//! writes back, so kept packets come out byte for byte as they went in.

use std::borrow::Cow;
use std::io::{self, Read};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapParser, PcapTsResolution, RawPcapPacket};
use pcap_file::pcapng::blocks::block_common::block_name;
use pcap_file::pcapng::blocks::section_header::SectionHeaderBlock;
use pcap_file::pcapng::{Block, PcapNgParser, RawBlock};
use pcap_file::Endianness;

use crate::cli::MAX_SNAPLEN;
use crate::error::{chain, Error};

/// pcapng block types we look at.
pub const SHB: u32 = 0x0A0D_0D0A;
pub const IDB: u32 = 0x0000_0001;
const PB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
/// Custom blocks that must not be copied into another file (pcapng spec).
pub const CUSTOM_NON_COPIABLE: u32 = 0x4000_0BAD;

/// libpcap's limit on a pcapng block, also our cap on a pcap record's captured length.
const MAX_RECORD: usize = 16 * 1024 * 1024;
use crate::readahead::{ReadAhead, BUF_LEN};

/// The header of the file, which the writer copies.
pub enum Format {
    Pcap(PcapHeader),
    PcapNg(SectionHeaderBlock<'static>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub secs: u64,
    pub nanos: u32,
    /// The file stores finer than microseconds: print nine digits.
    pub nano: bool,
}

/// One packet, as the filter and the printer see it.
pub struct Packet<'a> {
    /// LINKTYPE_ value of the packet's interface.
    pub linktype: u32,
    /// Snapshot length of the packet's interface (as libpcap adjusts it: 0 means 262144).
    pub snaplen: u32,
    pub ts: Timestamp,
    /// Length on the wire.
    pub origlen: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// A record exactly as read, to be written back unchanged.
pub enum Raw<'a> {
    Pcap(RawPcapPacket<'a>),
    Block(RawBlock<'a>),
}

pub enum Record<'a> {
    Packet(Packet<'a>, Raw<'a>),
    /// A pcapng block that is not a packet (section header, interface description, name
    /// resolution, statistics, custom ...).
    Block(RawBlock<'a>),
}

enum Kind {
    /// The header, and what it says about every record (worked out once).
    Pcap(PcapParser, PcapShape),
    PcapNg(PcapNgParser),
}

pub struct Reader {
    src: Source,
    name: String,
    kind: Kind,
    /// Bytes of the record returned last, consumed at the next call.
    pending: usize,
}

/// libpcap's adjustment of a file's snapshot length: 0 or more than the maximum means the
/// maximum.
pub fn adjust_snaplen(snaplen: u32) -> u32 {
    if snaplen == 0 || snaplen > MAX_SNAPLEN {
        MAX_SNAPLEN
    } else {
        snaplen
    }
}

fn u32_at(b: &[u8], at: usize, e: Endianness) -> u32 {
    let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    match e {
        Endianness::Big => u32::from_be_bytes(a),
        Endianness::Little => u32::from_le_bytes(a),
    }
}

fn u16_at(b: &[u8], at: usize, e: Endianness) -> u16 {
    let a = [b[at], b[at + 1]];
    match e {
        Endianness::Big => u16::from_be_bytes(a),
        Endianness::Little => u16::from_le_bytes(a),
    }
}

/// Makes sure the next pcap record is buffered whole; its length (header included), or
/// None at the end of the file.
fn pcap_record_len(
    src: &mut Source,
    name: &str,
    shape: &PcapShape,
) -> Result<Option<usize>, Error> {
    let off = src.offset;
    src.fill(16).map_err(|e| Error::io(name, &e))?;
    let have = src.avail().len();
    if have == 0 {
        return Ok(None);
    }
    if have < 16 {
        return Err(truncated(name, "packet record", off, have, 16));
    }
    let caplen = u32_at(src.avail(), 8, shape.order);
    if caplen > shape.max {
        return Err(Error::msg(format!(
            "{name}: invalid packet capture length {caplen} in the record at byte offset \
             {off}, bigger than the maximum of {}",
            shape.max
        )));
    }
    let need = 16 + caplen as usize;
    src.fill(need).map_err(|e| Error::io(name, &e))?;
    let have = src.avail().len();
    if have < need {
        return Err(truncated(name, "packet record", off, have, need));
    }
    Ok(Some(need))
}

/// What a pcap file's header says about every record in it.
#[derive(Clone, Copy)]
struct PcapShape {
    order: Endianness,
    /// Largest captured length accepted in a record.
    max: u32,
    /// Fraction units per second, and the factor to nanoseconds.
    unit: u32,
    scale: u32,
    nano: bool,
    linktype: u32,
    snaplen: u32,
}

impl PcapShape {
    fn of(header: &PcapHeader) -> PcapShape {
        let (unit, scale, nano) = match header.ts_resolution {
            PcapTsResolution::MicroSecond => (1_000_000, 1_000, false),
            PcapTsResolution::NanoSecond => (1_000_000_000, 1, true),
        };
        PcapShape {
            order: header.endianness,
            max: adjust_snaplen(header.snaplen).max(header.snaplen.min(MAX_RECORD as u32)),
            unit,
            scale,
            nano,
            linktype: u32::from(header.datalink) & 0x03FF_FFFF,
            snaplen: adjust_snaplen(header.snaplen),
        }
    }

    /// The packet of a whole record (16-byte header, then the data).
    #[inline]
    fn packet<'a>(&self, rec: &'a [u8]) -> Packet<'a> {
        let (secs, frac) = (u32_at(rec, 0, self.order), u32_at(rec, 4, self.order));
        // The fraction is below one second in any sane file: skip the division then.
        let (secs, frac) = if frac < self.unit {
            (u64::from(secs), frac)
        } else {
            (
                u64::from(secs) + u64::from(frac / self.unit),
                frac % self.unit,
            )
        };
        Packet {
            linktype: self.linktype,
            snaplen: self.snaplen,
            ts: Timestamp {
                secs,
                nanos: frac * self.scale,
                nano: self.nano,
            },
            origlen: u32_at(rec, 12, self.order),
            data: &rec[16..],
        }
    }
}

impl Reader {
    /// Reads the file header (pcap) or first section header block (pcapng). `name` is used
    /// in error messages.
    pub fn open<R: Read + Send + 'static>(inner: R, name: &str) -> Result<Reader, Error> {
        let ahead = ReadAhead::start(inner).map_err(|e| Error::io(name, &e))?;
        let mut src = Source::new(ahead);
        let io_err = |e: io::Error| Error::io(name, &e);
        src.fill(4).map_err(io_err)?;
        let have = src.avail().len();
        if have == 0 {
            return Err(Error::msg(format!("{name}: file is empty")));
        }
        let magic = if have >= 4 {
            u32::from_be_bytes([
                src.avail()[0],
                src.avail()[1],
                src.avail()[2],
                src.avail()[3],
            ])
        } else {
            0
        };
        let kind = match magic {
            0xA1B2_C3D4 | 0xD4C3_B2A1 | 0xA1B2_3C4D | 0x4D3C_B2A1 => {
                src.fill(24).map_err(io_err)?;
                let have = src.avail().len();
                if have < 24 {
                    return Err(Error::msg(format!(
                        "{name}: truncated file header ({have} of 24 bytes)"
                    )));
                }
                let parser = match PcapParser::new(&src.avail()[..24]) {
                    Ok((_, p)) => p,
                    Err(e) => return Err(Error::msg(format!("{name}: {}", chain(&e)))),
                };
                src.consume(24);
                let shape = PcapShape::of(&parser.header());
                Kind::Pcap(parser, shape)
            }
            SHB => {
                let len = block_len(&mut src, name, None)?;
                let parser = match PcapNgParser::new(&src.avail()[..len]) {
                    Ok((_, p)) => p,
                    Err(e) => {
                        return Err(Error::msg(format!(
                            "{name}: bad pcapng section header block: {}",
                            chain(&e)
                        )))
                    }
                };
                src.consume(len);
                Kind::PcapNg(parser)
            }
            _ => return Err(Error::msg(format!("{name}: unknown file format"))),
        };
        Ok(Reader {
            src,
            name: name.to_string(),
            kind,
            pending: 0,
        })
    }

    pub fn is_pcap(&self) -> bool {
        matches!(self.kind, Kind::Pcap(..))
    }

    pub fn format(&self) -> Format {
        match &self.kind {
            Kind::Pcap(p, _) => Format::Pcap(p.header()),
            Kind::PcapNg(p) => Format::PcapNg(p.section().clone()),
        }
    }

    /// The link type and (adjusted) snapshot length of the file, as libpcap reports them when
    /// it opens it: for pcapng, those of the first interface description block. `None` for a
    /// pcapng file without one (before the end of the file or of its first section).
    pub fn first_interface(&mut self) -> Result<Option<(u32, u32)>, Error> {
        let endian = match &self.kind {
            Kind::Pcap(p, _) => {
                let h = p.header();
                return Ok(Some((
                    u32::from(h.datalink) & 0x03FF_FFFF,
                    adjust_snaplen(h.snaplen),
                )));
            }
            Kind::PcapNg(p) => p.section().endianness,
        };
        // Look ahead without consuming: the blocks before the first IDB still have to be
        // returned by next().
        let mut off = self.pending;
        loop {
            self.src
                .fill(off + 16)
                .map_err(|e| Error::io(&self.name, &e))?;
            let b = self.src.avail();
            if b.len() < off + 12 {
                return Ok(None);
            }
            let ty = u32_at(b, off, endian);
            let len = u32_at(b, off + 4, endian) as usize;
            if ty == SHB || len < 12 || len % 4 != 0 || len > MAX_RECORD {
                return Ok(None);
            }
            if ty == IDB {
                if b.len() < off + 16 {
                    return Ok(None);
                }
                let linktype = u32::from(u16_at(b, off + 8, endian));
                let snaplen = u32_at(b, off + 12, endian);
                return Ok(Some((linktype, adjust_snaplen(snaplen))));
            }
            off += len;
            if off > 64 * 1024 * 1024 {
                return Ok(None);
            }
        }
    }

    /// The next record; `None` at the end of the file.
    #[allow(clippy::should_implement_trait)] // records borrow the reader's buffer
    pub fn next(&mut self) -> Option<Result<Record<'_>, Error>> {
        self.src.consume(std::mem::take(&mut self.pending));
        match self.kind {
            Kind::Pcap(..) => self.next_pcap(),
            Kind::PcapNg(_) => self.next_pcapng(),
        }
    }

    /// A pcap file only: calls `f` with each packet's captured bytes, its length on the
    /// wire and its record's bytes (header and data, as in the file) until `f` says stop or
    /// the file ends. Nothing else is worked out per record (the link type and snapshot
    /// length are the file's): the fast path for filtering into a file.
    pub fn pcap_records(
        &mut self,
        mut f: impl FnMut(&[u8], u32, &[u8]) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        let Kind::Pcap(_, shape) = self.kind else {
            return Ok(());
        };
        self.src.consume(std::mem::take(&mut self.pending));
        loop {
            // The records wholly in the buffer, one after the other.
            let buf = self.src.avail();
            let mut at = 0;
            let mut go = true;
            while go && at + 16 <= buf.len() {
                let caplen = u32_at(buf, at + 8, shape.order);
                let end = at + 16 + caplen as usize;
                if caplen > shape.max || end > buf.len() {
                    break;
                }
                let rec = &buf[at..end];
                go = f(&rec[16..], u32_at(rec, 12, shape.order), rec)?;
                at = end;
            }
            self.src.consume(at);
            if !go {
                return Ok(());
            }
            // The next record runs past the buffer (or is bad): the checked way.
            let Some(need) = pcap_record_len(&mut self.src, &self.name, &shape)? else {
                return Ok(());
            };
            let rec = &self.src.avail()[..need];
            let go = f(&rec[16..], u32_at(rec, 12, shape.order), rec)?;
            self.src.consume(need);
            if !go {
                return Ok(());
            }
        }
    }

    fn next_pcap(&mut self) -> Option<Result<Record<'_>, Error>> {
        let Kind::Pcap(_, shape) = &self.kind else {
            unreachable!()
        };
        let need = match pcap_record_len(&mut self.src, &self.name, shape) {
            Ok(Some(need)) => need,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        self.pending = need;
        let rec = &self.src.avail()[..need];
        let raw = RawPcapPacket {
            ts_sec: u32_at(rec, 0, shape.order),
            ts_frac: u32_at(rec, 4, shape.order),
            incl_len: u32_at(rec, 8, shape.order),
            orig_len: u32_at(rec, 12, shape.order),
            data: Cow::Borrowed(&rec[16..]),
        };
        Some(Ok(Record::Packet(shape.packet(rec), Raw::Pcap(raw))))
    }

    fn next_pcapng(&mut self) -> Option<Result<Record<'_>, Error>> {
        let Kind::PcapNg(parser) = &mut self.kind else {
            unreachable!()
        };
        let name = &self.name;
        let off = self.src.offset;
        if let Err(e) = self.src.fill(1) {
            return Some(Err(Error::io(name, &e)));
        }
        if self.src.avail().is_empty() {
            return None;
        }
        let len = match block_len(&mut self.src, name, Some(parser.section().endianness)) {
            Ok(len) => len,
            Err(e) => return Some(Err(e)),
        };
        self.pending = len;
        let bytes = &self.src.avail()[..len];
        let raw = match parser.next_raw_block(bytes) {
            Ok((_, raw)) => raw,
            Err(e) => {
                let ty = u32_at(bytes, 0, parser.section().endianness);
                return Some(Err(Error::msg(format!(
                    "{name}: bad pcapng block ({}) at byte offset {off}: {}",
                    block_name(ty),
                    chain(&e)
                ))));
            }
        };
        if !matches!(raw.type_, EPB | PB | SPB) {
            return Some(Ok(Record::Block(raw)));
        }
        let bad = |e: &dyn std::error::Error| {
            Error::msg(format!(
                "{name}: bad pcapng block ({}) at byte offset {off}: {}",
                block_name(raw.type_),
                chain(e)
            ))
        };
        let state = parser.state();
        let (iface, timestamp, origlen, data) = match raw.clone().try_into_block(state) {
            Ok(Block::EnhancedPacket(b)) => (b.interface_id, b.timestamp, b.original_len, b.data),
            Ok(Block::Packet(b)) => (
                u32::from(b.interface_id),
                b.timestamp,
                b.original_len,
                b.data,
            ),
            Ok(Block::SimplePacket(b)) => (0, Duration::ZERO, b.original_len, b.data),
            Ok(_) => unreachable!("packet block types decode to packet blocks"),
            Err(e) => return Some(Err(bad(&e))),
        };
        let data: &[u8] = match data {
            Cow::Borrowed(d) => d,
            Cow::Owned(_) => unreachable!("parsed from a borrowed slice"),
        };
        let Some(idb) = state.interfaces().get(iface as usize) else {
            return Some(Err(Error::msg(format!(
                "{name}: packet at byte offset {off} refers to interface {iface}, which has no \
                 interface description block"
            ))));
        };
        let resol = idb.ts_resolution();
        let nano = if resol.is_bin() {
            resol.resolution() >= 20
        } else {
            resol.resolution() > 6
        };
        let packet = Packet {
            linktype: u32::from(idb.linktype),
            snaplen: adjust_snaplen(idb.snaplen),
            ts: Timestamp {
                secs: timestamp.as_secs(),
                nanos: timestamp.subsec_nanos(),
                nano,
            },
            origlen,
            data,
        };
        Some(Ok(Record::Packet(packet, Raw::Block(raw))))
    }
}

fn truncated(name: &str, what: &str, off: u64, have: usize, need: usize) -> Error {
    Error::msg(format!(
        "{name}: truncated {what} at byte offset {off} (file ends after {have} of its {need} bytes)"
    ))
}

/// Makes sure the whole pcapng block at the start of the buffer is in memory and returns its
/// length. `endian` is the current section's byte order (None before the first section).
fn block_len(src: &mut Source, name: &str, endian: Option<Endianness>) -> Result<usize, Error> {
    let off = src.offset;
    src.fill(12).map_err(|e| Error::io(name, &e))?;
    let b = src.avail();
    if b.len() < 12 {
        return Err(truncated(name, "pcapng block", off, b.len(), 12));
    }
    let first = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let endian = if first == SHB {
        // A section header says its own byte order.
        match u32::from_be_bytes([b[8], b[9], b[10], b[11]]) {
            0x1A2B_3C4D => Endianness::Big,
            0x4D3C_2B1A => Endianness::Little,
            m => {
                return Err(Error::msg(format!(
                    "{name}: bad pcapng section header at byte offset {off}: byte-order magic \
                     {m:#010x}"
                )))
            }
        }
    } else {
        endian.unwrap_or(Endianness::Big)
    };
    let len = u32_at(b, 4, endian) as usize;
    if len < 12 || len % 4 != 0 || len > MAX_RECORD {
        return Err(Error::msg(format!(
            "{name}: bad pcapng block at byte offset {off}: invalid block length {len}"
        )));
    }
    src.fill(len).map_err(|e| Error::io(name, &e))?;
    let have = src.avail().len();
    if have < len {
        return Err(truncated(name, "pcapng block", off, have, len));
    }
    Ok(len)
}

/// A read buffer that knows the file offset of its first byte.
struct Source {
    input: ReadAhead,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    eof: bool,
}

impl Source {
    fn new(input: ReadAhead) -> Source {
        Source {
            input,
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    /// Reads until at least `want` bytes are buffered or the input ends.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        while self.end - self.start < want && !self.eof {
            let have = self.end - self.start;
            let ahead = &mut self.input;
            let mut chunk = match ahead.next() {
                None => {
                    self.eof = true;
                    continue;
                }
                Some(Err(e)) => return Err(e),
                Some(Ok(chunk)) => chunk,
            };
            let data = chunk.start..chunk.start + chunk.len;
            if have <= chunk.start {
                // The usual case: the tail of our buffer (part of a record) goes in front
                // of the new chunk's data, which becomes our buffer.
                let to = chunk.start - have;
                chunk.buf[to..chunk.start].copy_from_slice(&self.buf[self.start..self.end]);
                let old = std::mem::replace(&mut self.buf, chunk.buf);
                ahead.recycle(old);
                self.start = to;
                self.end = data.end;
            } else if self.buf.len() == BUF_LEN {
                // A tail longer than the room in front of a chunk (a huge record, or a
                // look-ahead): it and the chunk's data go into a buffer of our own, and
                // both chunk buffers go back.
                let mut own = Vec::with_capacity(have + chunk.len);
                own.extend_from_slice(&self.buf[self.start..self.end]);
                own.extend_from_slice(&chunk.buf[data]);
                let old = std::mem::replace(&mut self.buf, own);
                ahead.recycle(old);
                ahead.recycle(chunk.buf);
                self.start = 0;
                self.end = self.buf.len();
            } else {
                // Already in a buffer of our own: the chunk's data is appended to it.
                self.buf.copy_within(self.start..self.end, 0);
                self.buf.truncate(have);
                self.buf.extend_from_slice(&chunk.buf[data]);
                ahead.recycle(chunk.buf);
                self.start = 0;
                self.end = self.buf.len();
            }
        }
        Ok(())
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out `step` bytes at a time, like a slow pipe, then fails with
    /// `fail` if given.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
        fail: Option<io::ErrorKind>,
    }

    impl Trickle {
        fn new(data: Vec<u8>, step: usize) -> Trickle {
            Trickle {
                data,
                at: 0,
                step,
                fail: None,
            }
        }
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len() - self.at);
            if n == 0 {
                if let Some(kind) = self.fail {
                    return Err(kind.into());
                }
            }
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn pcap(magic: u32, big: bool, pkts: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let w32 = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut b = Vec::new();
        b.extend(w32(magic));
        b.extend(w16(2));
        b.extend(w16(4));
        b.extend(w32(0));
        b.extend(w32(0));
        b.extend(w32(65535));
        b.extend(w32(1));
        for (s, f, d) in pkts {
            b.extend(w32(*s));
            b.extend(w32(*f));
            b.extend(w32(d.len() as u32));
            b.extend(w32(d.len() as u32 + 10));
            b.extend_from_slice(d);
        }
        b
    }

    #[test]
    fn reads_pcap_both_orders_and_precisions() {
        for (magic, big, nano) in [
            (0xa1b2c3d4, false, false),
            (0xa1b2c3d4, true, false),
            (0xa1b23c4d, false, true),
            (0xa1b23c4d, true, true),
        ] {
            let file = pcap(magic, big, &[(100, 999, b"abc"), (101, 5, b"")]);
            let mut r = Reader::open(Trickle::new(file, 1), "t").unwrap();
            assert_eq!(r.first_interface().unwrap(), Some((1, 65535)));
            let Some(Ok(Record::Packet(p, _))) = r.next() else {
                panic!()
            };
            assert_eq!(p.data, b"abc");
            assert_eq!(p.origlen, 13);
            assert_eq!(p.ts.secs, 100);
            assert_eq!(p.ts.nanos, if nano { 999 } else { 999_000 });
            assert_eq!(p.ts.nano, nano);
            let Some(Ok(Record::Packet(p, _))) = r.next() else {
                panic!()
            };
            assert_eq!(p.data, b"");
            assert!(r.next().is_none());
        }
    }

    #[test]
    fn truncated_record_reports_offset() {
        let file = pcap(0xa1b2c3d4, false, &[(1, 0, b"abcd"), (2, 0, b"efgh")]);
        let cut = file[..file.len() - 2].to_vec();
        let mut r = Reader::open(io::Cursor::new(cut), "t.pcap").unwrap();
        assert!(matches!(r.next(), Some(Ok(Record::Packet(..)))));
        let Some(Err(e)) = r.next() else { panic!() };
        assert_eq!(
            e.to_string(),
            "t.pcap: truncated packet record at byte offset 44 (file ends after 18 of its 20 bytes)"
        );
    }

    #[test]
    fn corrupt_caplen_is_caught_early() {
        let mut file = pcap(0xa1b2c3d4, false, &[(1, 0, b"abcd")]);
        file[24 + 8..24 + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        let mut r = Reader::open(io::Cursor::new(file), "t").unwrap();
        let Some(Err(e)) = r.next() else { panic!() };
        assert!(
            e.to_string()
                .contains("invalid packet capture length 4294967280"),
            "{e}"
        );
    }

    #[test]
    fn rejects_garbage_and_empty() {
        let e = Reader::open(&b"hello world, not a capture"[..], "g")
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "g: unknown file format");
        let e = Reader::open(&b""[..], "g").err().unwrap();
        assert_eq!(e.to_string(), "g: file is empty");
        let e = Reader::open(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0][..], "g")
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "g: truncated file header (6 of 24 bytes)");
    }

    /// Records of every size, cut anywhere by the chunks and by short reads: each comes out
    /// whole and in order, including ones longer than the room in front of a chunk.
    #[test]
    fn records_across_chunks_and_short_reads() {
        let sizes = [
            60usize, 1514, 9000, 300_000, 0, 65535, 262_144, 1, 700_000, 77,
        ];
        let mut pkts = Vec::new();
        let mut total = 0;
        let mut i = 0u32;
        while total < 5 * crate::readahead::CHUNK {
            let len = sizes[i as usize % sizes.len()];
            let data: Vec<u8> = (0..len).map(|j| (j as u32 ^ i) as u8).collect();
            total += 16 + len;
            pkts.push((i, 0, data));
            i += 1;
        }
        let refs: Vec<(u32, u32, &[u8])> = pkts.iter().map(|(s, f, d)| (*s, *f, &d[..])).collect();
        // A snapshot length big enough for the 700,000-byte records.
        let mut file = pcap(0xa1b2c3d4, false, &refs);
        file[16..20].copy_from_slice(&1_000_000u32.to_le_bytes());
        for step in [usize::MAX, 4096, 100_003] {
            let mut r = Reader::open(Trickle::new(file.clone(), step), "t").unwrap();
            for (secs, _, data) in &pkts {
                let Some(Ok(Record::Packet(p, _))) = r.next() else {
                    panic!("step {step}: record {secs} missing")
                };
                assert_eq!(p.ts.secs, u64::from(*secs), "step {step}");
                assert!(p.data == &data[..], "step {step}: record {secs} differs");
            }
            assert!(r.next().is_none());
            // The fast path sees the same records.
            let mut r = Reader::open(Trickle::new(file.clone(), step), "t").unwrap();
            let mut n = 0;
            r.pcap_records(|data, origlen, rec| {
                assert_eq!(data, &pkts[n].2[..]);
                assert_eq!(origlen, data.len() as u32 + 10);
                assert_eq!(rec.len(), 16 + data.len());
                n += 1;
                Ok(true)
            })
            .unwrap();
            assert_eq!(n, pkts.len());
        }
    }

    /// A read error is reported as one, after the records read before it.
    #[test]
    fn read_error_is_reported() {
        let file = pcap(0xa1b2c3d4, false, &[(1, 0, b"abcd"), (2, 0, b"efgh")]);
        let mut t = Trickle::new(file[..file.len() - 3].to_vec(), 7);
        t.fail = Some(io::ErrorKind::PermissionDenied);
        let mut r = Reader::open(t, "t.pcap").unwrap();
        assert!(matches!(r.next(), Some(Ok(Record::Packet(..)))));
        let Some(Err(e)) = r.next() else { panic!() };
        assert!(e.to_string().starts_with("t.pcap: "), "{e}");
        assert!(e.to_string().contains("ermission denied"), "{e}");
    }
}
