//! tcpdump-style packet printing: one line per packet (more with -v, -x, -X, -A), in the
//! layout tcpdump 4.99 uses, so that scripts and eyes trained on tcpdump read it unchanged.
//!
//! Each protocol printer reads its header field by field from the captured bytes and stops
//! with tcpdump's `[|proto]` marker where the capture ends: no index is ever unchecked.
//! Nothing here allocates per packet: the line is built in a reused [`Text`] and written to a
//! buffered output.

mod app;
mod arp;
mod atalk;
mod bootp;
mod decnet;
mod dns;
mod ether;
mod ethmisc;
#[cfg(test)]
mod fuzz;
mod geneve;
mod gre;
mod hex;
mod icmp;
mod icmp6;
mod igmp;
mod ip;
mod ip6;
mod ipsec;
mod l4;
mod llc;
mod lldp;
mod mpls;
pub mod names;
mod ntp;
mod pim;
mod pppoe;
mod sctp;
mod tcp;
pub mod text;
mod time;
mod udp;
mod vrrp;

use std::io::{self, Write};

use crate::reader::Packet;
use text::Text;

pub use time::TimeFormat;

/// How to print, from the command line.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// -n count: 1 = no host names, 2 = no port or protocol names either.
    pub numeric: u8,
    pub time: TimeFormat,
    /// Nine fractional digits (--nano / --time-stamp-precision nano).
    pub nano: bool,
    /// -v count.
    pub verbose: u8,
    /// -q.
    pub quiet: bool,
    /// -e: the link-level header.
    pub link: bool,
    /// -x/-xx (1/2), -X/-XX (hex and ASCII), -A: the packet's bytes after the line.
    pub hex: u8,
    pub hex_ascii: bool,
    pub ascii: u8,
    /// -S: absolute TCP sequence numbers.
    pub absolute_seq: bool,
    /// -# / --number.
    pub number: bool,
    /// -l: flush after every packet.
    pub line_buffered: bool,
    /// -K: do not verify IP, TCP and UDP checksums (print nothing about them).
    pub no_checksums: bool,
    /// -N: host names without their domain (`nic`, not `nic.ddn.mil`).
    pub no_domain: bool,
}

/// Per-run state a printer needs across packets.
pub struct State {
    pub tcp: tcp::Flows,
    pub ifnames: ether::IfNames,
}

/// What the protocol printers share while printing one packet.
pub struct Ctx<'a> {
    pub o: &'a Options,
    pub t: &'a mut Text,
    pub st: &'a mut State,
    /// Where the packet's text ended if it ended the way tcpdump's GET_ macros end it: a
    /// longjmp out of all the printers, so whatever a caller prints after it is dropped, and
    /// the link header length is lost (-x then dumps the whole packet).
    pub jumped: Option<usize>,
}

impl Ctx<'_> {
    /// tcpdump's nd_print_trunc: " [|proto]".
    pub fn trunc(&mut self, proto: &str) {
        self.t.s(" [|").s(proto).ch(b']');
    }

    /// The same marker, where tcpdump gets there by longjmp (a GET_ macro past the capture).
    pub fn trunc_jump(&mut self, proto: &str) {
        self.trunc(proto);
        if self.jumped.is_none() {
            self.jumped = Some(self.t.len());
        }
    }
}

pub struct Printer<W: Write> {
    out: W,
    o: Options,
    t: Text,
    st: State,
    clock: time::Clock,
    count: u64,
}

/// Output is written when this much has built up (and at the end, or per packet with -l).
const FLUSH_AT: usize = 64 * 1024;

impl<W: Write> Printer<W> {
    pub fn new(out: W, o: Options) -> Printer<W> {
        let nano = o.nano;
        let resolve = o.numeric == 0;
        let no_domain = o.no_domain;
        Printer {
            out,
            o,
            t: Text::with_capacity(FLUSH_AT + 4096, resolve, no_domain),
            st: State {
                tcp: tcp::Flows::default(),
                ifnames: ether::IfNames::default(),
            },
            clock: time::Clock::new(nano),
            count: 0,
        }
    }

    pub fn packet(&mut self, p: &Packet) -> io::Result<()> {
        self.count += 1;
        if self.o.number {
            let mut b = itoa::Buffer::new();
            let d = b.format(self.count);
            for _ in d.len()..5 {
                self.t.ch(b' ');
            }
            self.t.s(d).s("  ");
        }
        // tcpdump's sanity checks on the record header, before anything else.
        let (caplen, len) = (p.data.len() as u64, u64::from(p.origlen));
        let mut bad = Vec::new();
        if caplen == 0 {
            bad.push(" caplen==0".to_string());
        }
        if len == 0 {
            bad.push(" len==0".to_string());
        } else if len < caplen {
            bad.push(format!(" len({len}) < caplen({caplen})"));
        }
        if caplen > 262_144 {
            bad.push(format!(" caplen({caplen}) > 262144"));
        }
        if len > 262_144 {
            bad.push(format!(" len({len}) > 262144"));
        }
        if !bad.is_empty() {
            self.t.s("[Invalid header:").s(&bad.join(",")).s("]\n");
            return self.written();
        }
        self.clock.print(&mut self.t, &self.o.time, &p.ts);
        let mut cx = Ctx {
            o: &self.o,
            t: &mut self.t,
            st: &mut self.st,
            jumped: None,
        };
        let mut link_len = ether::link(&mut cx, p.linktype, p.data, p.origlen);
        if let Some(end) = cx.jumped {
            cx.t.truncate(end);
            link_len = 0;
        }
        if self.o.hex > 0 || self.o.ascii > 0 {
            let skip = if self.o.hex >= 2 || self.o.ascii >= 2 {
                0
            } else {
                link_len.min(p.data.len())
            };
            hex::dump(&mut self.t, &self.o, &p.data[skip..]);
        }
        self.t.ch(b'\n');
        self.written()
    }

    /// After a packet: hand the text to the output when enough has built up (every packet
    /// with -l).
    fn written(&mut self) -> io::Result<()> {
        if self.o.line_buffered || self.t.len() >= FLUSH_AT {
            self.out.write_all(&self.t.buf)?;
            self.t.buf.clear();
            if self.o.line_buffered {
                self.out.flush()?;
            }
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.t.buf)?;
        self.t.buf.clear();
        self.out.flush()
    }
}

/// Big-endian reads that say None past the end of the capture.
#[inline]
pub fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

#[inline]
pub fn be32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[inline]
pub fn u8_at(d: &[u8], at: usize) -> Option<u8> {
    d.get(at).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Timestamp;
    use proptest::prelude::*;

    use super::fuzz::{option_sets, packet, printer, LINKTYPES};

    /// Every link type, with every flag set (fuzz::option_sets: -v..-vvv, -e, -q, -x, -xx,
    /// -X, -XX, -A, -AA, -S, -#, -n levels).
    fn print_all(data: &[u8], origlen: u32) {
        for o in option_sets() {
            let mut pr = printer(&o);
            for lt in LINKTYPES {
                pr.packet(&packet(lt, data, origlen)).unwrap();
            }
            pr.flush().unwrap();
        }
    }

    /// A frame that gets far into the printers: Ethernet, then an IPv4 or IPv6 header with
    /// the given protocol, then random bytes.
    fn framed(v6: bool, proto: u8, tail: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        if v6 {
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&(tail.len() as u16).to_be_bytes());
            f.extend_from_slice(&[proto, 64]);
            f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8].repeat(8));
        } else {
            f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
            f.extend_from_slice(&((20 + tail.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        }
        f.extend_from_slice(tail);
        f
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Random bytes as a packet of every link type, with every kind of output, never
        /// panic; nor does a claimed wire length that disagrees with the capture.
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200), extra in 0u32..3000) {
            print_all(&data, data.len() as u32 + extra);
            print_all(&data, (data.len() as u32).saturating_sub(extra));
        }

        /// Random transport payloads behind valid IP headers, for every protocol number,
        /// cut anywhere.
        #[test]
        fn random_payloads_never_panic(
            v6 in any::<bool>(),
            proto in any::<u8>(),
            tail in proptest::collection::vec(any::<u8>(), 0..120),
            cut in 0usize..200,
        ) {
            let f = framed(v6, proto, &tail);
            let n = f.len().min(cut.max(14));
            print_all(&f[..n], f.len() as u32);
        }
    }

    /// Every prefix of every packet of the sample captures prints without panicking.
    #[test]
    fn sample_prefixes_never_panic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
        for name in ["sample.pcap", "sll.pcap", "sll2.pcap", "raw.pcap"] {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            // pcap: 24-byte header, then 16-byte record headers (little-endian here).
            let linktype = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
            let mut at = 24;
            let mut pr = Printer::new(
                Vec::new(),
                Options {
                    verbose: 2,
                    ..Options::default()
                },
            );
            while at + 16 <= bytes.len() {
                let caplen =
                    u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
                let origlen = u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap());
                let data = &bytes[at + 16..at + 16 + caplen];
                for n in 0..=data.len() {
                    let p = Packet {
                        linktype,
                        snaplen: 262_144,
                        ts: Timestamp {
                            secs: 0,
                            nanos: 0,
                            nano: false,
                        },
                        origlen,
                        data: &data[..n],
                    };
                    pr.packet(&p).unwrap();
                }
                at += 16 + caplen;
            }
        }
    }
}
