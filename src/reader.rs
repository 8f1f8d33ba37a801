//! Reading capture files record by record: pcap (microsecond or nanosecond magic, either byte
//! order) and pcapng, from a file or a pipe.
//!
//! The buffering is ours, so that every record's byte offset is known (for "truncated ... at
//! byte offset N"), a record is only parsed once all of it is in memory, and a corrupt length
//! field is caught before we try to read gigabytes. Records are read as libpcap reads them
//! (sf-pcap.c, sf-pcapng.c); pcap-file parses the file and section headers, and its raw
//! records ([`RawPcapPacket`], [`RawBlock`]) are what the writer writes back, so kept packets
//! come out byte for byte as they went in (but for pcap records longer than the snapshot
//! length, cut to it as libpcap cuts them).

use std::borrow::Cow;
use std::io::{self, Read};

use pcap_file::pcap::{PcapHeader, PcapParser, PcapTsResolution, RawPcapPacket};
use pcap_file::pcapng::blocks::section_header::SectionHeaderBlock;
use pcap_file::pcapng::{PcapNgParser, RawBlock};
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
    /// Snapshot length of the packet's interface (as libpcap adjusts it: 0 means the link
    /// type's maximum, 262144 for most).
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
    PcapNg(NgState),
}

/// What a pcapng file's blocks before the next one say about it. Interface description and
/// packet blocks are read here, as libpcap reads them (sf-pcapng.c), not by pcap-file: its
/// checks are stricter than libpcap's (if_tsresol finer than 10^-9 or 2^-29, an original
/// length below the captured one, malformed packet options) and its messages are its own.
struct NgState {
    /// The first section header, which the writer copies.
    first: SectionHeaderBlock<'static>,
    /// The current section's byte order.
    order: Endianness,
    /// The current section's interfaces.
    ifaces: Vec<Iface>,
}

/// An interface description block, as libpcap keeps it (struct pcap_ng_if).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Iface {
    linktype: u32,
    /// Adjusted as libpcap adjusts it.
    snaplen: u32,
    /// Time stamp units per second (if_tsresol: 10^n or 2^n; 10^6 without the option).
    units: u64,
    /// Seconds added to every time stamp (if_tsoffset).
    offset: i64,
}

impl Iface {
    /// A packet's time stamp, as libpcap's pcap_ng_next_packet converts it: whole units to
    /// seconds plus the offset (wrapping, as in C: a negative result is a time before 1970),
    /// the rest to nanoseconds, rounded down. libpcap scales the rest with a 64-bit product
    /// (frac * 10^9 or 10^6, then / units), which overflows for binary resolutions finer than
    /// 2^-34 (2^-44 in microseconds) and prints a wrong fraction there; ours is exact.
    fn timestamp(&self, t: u64) -> Timestamp {
        let frac = u128::from(t % self.units);
        Timestamp {
            secs: (t / self.units).wrapping_add(self.offset as u64),
            nanos: (frac * 1_000_000_000 / u128::from(self.units)) as u32,
            nano: self.units > 1_000_000,
        }
    }
}

pub struct Reader {
    src: Source,
    name: String,
    kind: Kind,
    /// Bytes of the record returned last, consumed at the next call.
    pending: usize,
}

/// libpcap's largest snapshot length for a link type (pcap-common.c max_snaplen_for_dlt): a
/// few carry whole messages or USB transfers.
pub fn max_snaplen_for(linktype: u32) -> u32 {
    match linktype {
        231 => 128 * 1024 * 1024, // DBUS
        279 => 8 * 1024 * 1024,   // EBHSCR
        249 => 1024 * 1024,       // USBPCAP
        _ => MAX_SNAPLEN,
    }
}

/// libpcap's adjustment of a file's snapshot length (savefile.c pcapint_adjust_snapshot): 0,
/// or more than fits an int, means the link type's maximum; anything else is kept, even above
/// that maximum.
pub fn adjust_snaplen(linktype: u32, snaplen: u32) -> u32 {
    if snaplen == 0 || snaplen > i32::MAX as u32 {
        max_snaplen_for(linktype)
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

/// Makes sure the next pcap record is buffered whole: (its length in the file, header
/// included; the length of the record as passed on), or None at the end of the file.
///
/// As libpcap's sf-pcap.c pcap_next_packet: a captured length past the maximum is an error,
/// but one past the snapshot length only is not (tools write records longer than the
/// snapshot length their header gives, or give none): the whole record is read and its first
/// snapshot-length bytes kept. The record's captured length in the buffer is changed to
/// match, so what is filtered, printed and written (-w) is what tcpdump's is.
fn pcap_record_len(
    src: &mut Source,
    name: &str,
    shape: &PcapShape,
) -> Result<Option<(usize, usize)>, Error> {
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
    if caplen <= shape.snaplen {
        return Ok(Some((need, need)));
    }
    let keep = shape.snaplen;
    src.avail_mut()[8..12].copy_from_slice(&match shape.order {
        Endianness::Big => keep.to_be_bytes(),
        Endianness::Little => keep.to_le_bytes(),
    });
    Ok(Some((need, 16 + keep as usize)))
}

/// What a pcap file's header says about every record in it.
#[derive(Clone, Copy)]
struct PcapShape {
    order: Endianness,
    /// Largest captured length accepted in a record: libpcap's maximum for the link type, or
    /// the snapshot length if larger (up to MAX_RECORD; libpcap refuses those records, but a
    /// file that says its records are that long is taken at its word).
    max: u32,
    /// Fraction units per second, and the factor to nanoseconds.
    unit: u32,
    scale: u32,
    nano: bool,
    linktype: u32,
    /// The snapshot length, adjusted: records are cut to it.
    snaplen: u32,
}

impl PcapShape {
    fn of(header: &PcapHeader) -> PcapShape {
        let (unit, scale, nano) = match header.ts_resolution {
            PcapTsResolution::MicroSecond => (1_000_000, 1_000, false),
            PcapTsResolution::NanoSecond => (1_000_000_000, 1, true),
        };
        let linktype = u32::from(header.datalink) & 0x03FF_FFFF;
        let snaplen = adjust_snaplen(linktype, header.snaplen);
        PcapShape {
            order: header.endianness,
            max: max_snaplen_for(linktype).max(snaplen.min(MAX_RECORD as u32)),
            unit,
            scale,
            nano,
            linktype,
            snaplen,
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
                let first = parser.section().clone();
                Kind::PcapNg(NgState {
                    order: first.endianness,
                    first,
                    ifaces: Vec::new(),
                })
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
            // The header as libpcap's pcap_dump_open writes it: with the adjusted snapshot
            // length (records are cut to it).
            Kind::Pcap(p, shape) => Format::Pcap(PcapHeader {
                snaplen: shape.snaplen,
                ..p.header()
            }),
            Kind::PcapNg(ng) => Format::PcapNg(ng.first.clone()),
        }
    }

    /// The link type and (adjusted) snapshot length of the file, as libpcap reports them when
    /// it opens it: for pcapng, those of the first interface description block. `None` for a
    /// pcapng file without one (before the end of the file or of its first section).
    pub fn first_interface(&mut self) -> Result<Option<(u32, u32)>, Error> {
        let endian = match &self.kind {
            Kind::Pcap(_, shape) => return Ok(Some((shape.linktype, shape.snaplen))),
            Kind::PcapNg(ng) => ng.order,
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
                self.src
                    .fill(off + len)
                    .map_err(|e| Error::io(&self.name, &e))?;
                let b = self.src.avail();
                if b.len() < off + len {
                    // Cut short: next() says so when it gets there.
                    if b.len() < off + 16 {
                        return Ok(None);
                    }
                    let linktype = u32::from(u16_at(b, off + 8, endian));
                    let snaplen = u32_at(b, off + 12, endian);
                    return Ok(Some((linktype, adjust_snaplen(linktype, snaplen))));
                }
                // libpcap reads the first one when it opens the file: one it cannot read is
                // an error before anything is printed.
                return match parse_idb(&b[off + 8..off + len - 4], endian) {
                    Ok(iface) => Ok(Some((iface.linktype, iface.snaplen))),
                    Err(why) => Err(Error::msg(format!(
                        "{}: bad pcapng interface description block at byte offset {}: {why}",
                        self.name,
                        self.src.offset + off as u64
                    ))),
                };
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
                // Records to cut (or refuse) take the checked way.
                if caplen > shape.snaplen || end > buf.len() {
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
            // The next record runs past the buffer (or is to cut, or bad): the checked way.
            let Some((need, len)) = pcap_record_len(&mut self.src, &self.name, &shape)? else {
                return Ok(());
            };
            let rec = &self.src.avail()[..len];
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
        let (need, len) = match pcap_record_len(&mut self.src, &self.name, shape) {
            Ok(Some(lens)) => lens,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        self.pending = need;
        let rec = &self.src.avail()[..len];
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
        let Kind::PcapNg(ng) = &mut self.kind else {
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
        let len = match block_len(&mut self.src, name, Some(ng.order)) {
            Ok(len) => len,
            Err(e) => return Some(Err(e)),
        };
        self.pending = len;
        let bytes = &self.src.avail()[..len];
        let ty = u32_at(bytes, 0, ng.order);
        if ty == SHB {
            // A new section: its own byte order (block_len checked the magic) and interfaces.
            // Checked as the first one is, for the writer copies it.
            if let Err(e) = PcapNgParser::new(bytes) {
                return Some(Err(Error::msg(format!(
                    "{name}: bad pcapng section header block at byte offset {off}: {}",
                    chain(&e)
                ))));
            }
            ng.order = if bytes[8] == 0x1A {
                Endianness::Big
            } else {
                Endianness::Little
            };
            ng.ifaces.clear();
        }
        let order = ng.order;
        let raw = RawBlock {
            type_: ty,
            initial_len: len as u32,
            body: Cow::Borrowed(&bytes[8..len - 4]),
            trailer_len: len as u32,
        };
        let body = &bytes[8..len - 4];
        let bad = |what: &str, why: String| {
            Error::msg(format!(
                "{name}: bad pcapng {what} block at byte offset {off}: {why}"
            ))
        };
        if ty == IDB {
            match parse_idb(body, order) {
                Ok(iface) => ng.ifaces.push(iface),
                Err(why) => return Some(Err(bad("interface description", why))),
            }
        }
        if !matches!(ty, EPB | PB | SPB) {
            return Some(Ok(Record::Block(raw)));
        }
        let what = match ty {
            EPB => "enhanced packet",
            PB => "packet",
            _ => "simple packet",
        };
        let fields = match packet_fields(ty, body, order, &ng.ifaces) {
            Ok(fields) => fields,
            Err(why) => return Some(Err(bad(what, why))),
        };
        let (iface, t, origlen, data) = fields;
        let Some(idb) = ng.ifaces.get(iface as usize) else {
            return Some(Err(Error::msg(format!(
                "{name}: packet at byte offset {off} refers to interface {iface}, which has no \
                 interface description block"
            ))));
        };
        let packet = Packet {
            linktype: idb.linktype,
            snaplen: idb.snaplen,
            ts: idb.timestamp(t),
            origlen,
            data,
        };
        Some(Ok(Record::Packet(packet, Raw::Block(raw))))
    }
}

/// An interface description block's body (after the block type and length), as libpcap's
/// sf-pcapng.c add_interface and process_idb_options read it: the link type, the snapshot
/// length, and the time stamp options. if_tsresol may be any power of 10 or of 2 whose count
/// per second fits 64 bits (10^-19, 2^-63); other options are skipped unread.
fn parse_idb(body: &[u8], e: Endianness) -> Result<Iface, String> {
    if body.len() < 8 {
        return Err(format!(
            "{} bytes, too short for its fields",
            body.len() + 12
        ));
    }
    let linktype = u32::from(u16_at(body, 0, e));
    let snaplen = u32_at(body, 4, e);
    let mut iface = Iface {
        linktype,
        snaplen: adjust_snaplen(linktype, snaplen),
        units: 1_000_000,
        offset: 0,
    };
    let (mut resol, mut offset) = (false, false);
    let mut at = 8;
    while at < body.len() {
        if body.len() - at < 4 {
            return Err(format!("option header at block byte {} cut short", at + 8));
        }
        let code = u16_at(body, at, e);
        let len = usize::from(u16_at(body, at + 2, e));
        let value = at + 4;
        if body.len() - value < len.div_ceil(4) * 4 {
            return Err(format!(
                "option {code} at block byte {} runs past the end of the block",
                at + 8
            ));
        }
        let v = &body[value..value + len];
        match code {
            0 if len != 0 => return Err(format!("opt_endofopt option with length {len}")),
            0 => break,
            9 if len != 1 => return Err(format!("if_tsresol option with length {len}, not 1")),
            9 if resol => return Err("more than one if_tsresol option".into()),
            9 => {
                resol = true;
                let (bin, n) = (v[0] & 0x80 != 0, u32::from(v[0] & 0x7F));
                iface.units = match (bin, n) {
                    (true, 0..=63) => 1 << n,
                    (false, 0..=19) => 10u64.pow(n),
                    _ => {
                        return Err(format!(
                            "if_tsresol option of {}^-{n} seconds is finer than libpcap reads \
                             (at most 10^-19 or 2^-63)",
                            if bin { 2 } else { 10 }
                        ))
                    }
                };
            }
            14 if len != 8 => return Err(format!("if_tsoffset option with length {len}, not 8")),
            14 if offset => return Err("more than one if_tsoffset option".into()),
            14 => {
                offset = true;
                let b: [u8; 8] = v.try_into().expect("length checked");
                iface.offset = match e {
                    Endianness::Big => i64::from_be_bytes(b),
                    Endianness::Little => i64::from_le_bytes(b),
                };
            }
            _ => {}
        }
        at = value + len.div_ceil(4) * 4;
    }
    Ok(iface)
}

/// A packet block's interface, raw time stamp, original length and captured bytes, as
/// libpcap's sf-pcapng.c pcap_ng_next_packet reads them (options are not looked at). A
/// simple packet block is the first interface's, captured up to its snapshot length, at
/// time stamp 0.
fn packet_fields<'a>(
    ty: u32,
    body: &'a [u8],
    e: Endianness,
    ifaces: &[Iface],
) -> Result<(u32, u64, u32, &'a [u8]), String> {
    let (iface, t, caplen, origlen, start) = if ty == SPB {
        if body.len() < 4 {
            return Err(format!(
                "{} bytes, too short for its fields",
                body.len() + 12
            ));
        }
        let origlen = u32_at(body, 0, e);
        let Some(first) = ifaces.first() else {
            return Err("no interface description block before it".into());
        };
        (0, 0, origlen.min(first.snaplen), origlen, 4)
    } else {
        if body.len() < 20 {
            return Err(format!(
                "{} bytes, too short for its fields",
                body.len() + 12
            ));
        }
        let iface = if ty == EPB {
            u32_at(body, 0, e)
        } else {
            u32::from(u16_at(body, 0, e))
        };
        let t = u64::from(u32_at(body, 4, e)) << 32 | u64::from(u32_at(body, 8, e));
        (iface, t, u32_at(body, 12, e), u32_at(body, 16, e), 20)
    };
    if caplen as usize > body.len() - start {
        return Err(format!(
            "captured length {caplen} runs past the end of the block"
        ));
    }
    Ok((iface, t, origlen, &body[start..start + caplen as usize]))
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
    let trailer = u32_at(src.avail(), len - 4, endian) as usize;
    if trailer != len {
        return Err(Error::msg(format!(
            "{name}: bad pcapng block at byte offset {off}: its length is {len} at its start \
             but {trailer} at its end"
        )));
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

    fn avail_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
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

    /// Records longer than the snapshot length are cut to it (header patched), whether they
    /// arrive whole or in pieces, by next() and by the fast path alike.
    #[test]
    fn records_longer_than_the_snaplen_are_cut() {
        let long: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let pkts: [(u32, u32, &[u8]); 3] = [(1, 0, &long[..100]), (2, 0, &long), (3, 0, b"ab")];
        let mut file = pcap(0xa1b2c3d4, false, &pkts);
        file[16..20].copy_from_slice(&1500u32.to_le_bytes());
        for step in [usize::MAX, 7, 1501] {
            let mut r = Reader::open(Trickle::new(file.clone(), step), "t").unwrap();
            assert_eq!(r.first_interface().unwrap(), Some((1, 1500)));
            let Format::Pcap(h) = r.format() else {
                panic!()
            };
            assert_eq!(h.snaplen, 1500);
            for (secs, _, data) in pkts {
                let Some(Ok(Record::Packet(p, Raw::Pcap(raw)))) = r.next() else {
                    panic!("step {step}: record {secs}")
                };
                let keep = data.len().min(1500);
                assert_eq!(p.data, &data[..keep]);
                assert_eq!(p.origlen, data.len() as u32 + 10);
                assert_eq!((raw.incl_len, &raw.data[..]), (keep as u32, &data[..keep]));
            }
            assert!(r.next().is_none());
            let mut r = Reader::open(Trickle::new(file.clone(), step), "t").unwrap();
            let mut n = 0;
            r.pcap_records(|data, origlen, rec| {
                let want = pkts[n].2;
                let keep = want.len().min(1500);
                assert_eq!(data, &want[..keep]);
                assert_eq!(origlen, want.len() as u32 + 10);
                assert_eq!(
                    u32::from_le_bytes(rec[8..12].try_into().unwrap()),
                    keep as u32
                );
                assert_eq!(&rec[16..], &want[..keep]);
                n += 1;
                Ok(true)
            })
            .unwrap();
            assert_eq!(n, 3);
        }
    }

    /// if_tsresol and if_tsoffset, as libpcap converts them.
    #[test]
    fn interface_time_stamps() {
        let idb = |opts: &[(u16, &[u8])]| {
            let mut b = vec![1, 0, 0, 0, 0, 0, 0, 0];
            for (code, v) in opts {
                b.extend(code.to_le_bytes());
                b.extend((v.len() as u16).to_le_bytes());
                b.extend(*v);
                b.resize(b.len().div_ceil(4) * 4, 0);
            }
            parse_idb(&b, Endianness::Little)
        };
        let i = idb(&[]).unwrap();
        assert_eq!(
            (i.linktype, i.snaplen, i.units, i.offset),
            (1, 262_144, 1_000_000, 0)
        );
        let i = idb(&[(9, &[0x80 | 63]), (14, &(-5i64).to_le_bytes())]).unwrap();
        assert_eq!((i.units, i.offset), (1 << 63, -5));
        let t = i.timestamp(u64::MAX);
        assert_eq!((t.secs as i64, t.nanos, t.nano), (-4, 999_999_999, true));
        let i = idb(&[(9, &[19])]).unwrap();
        let t = i.timestamp(10u64.pow(19) + 5 * 10u64.pow(9));
        assert_eq!((t.secs, t.nanos), (1, 0));
        assert_eq!(
            idb(&[(9, &[3])]).unwrap().timestamp(1_500).nanos,
            500_000_000
        );
        assert!(idb(&[(9, &[20])]).is_err());
        assert!(idb(&[(9, &[0x80 | 64])]).is_err());
        assert!(idb(&[(9, &[6]), (9, &[6])]).is_err());
        assert!(idb(&[(14, &[0; 4])]).is_err());
        // Options after opt_endofopt are not read.
        assert_eq!(idb(&[(0, &[]), (9, &[20])]).unwrap().units, 1_000_000);
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
