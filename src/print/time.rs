//! The timestamp at the start of each line: tcpdump's -t family.

use super::text::Text;
use crate::reader::Timestamp;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeFormat {
    /// `HH:MM:SS.frac`, local time (the default).
    #[default]
    Local,
    /// -t: none.
    None,
    /// -tt: seconds since the epoch.
    Epoch,
    /// -ttt: time since the previous packet.
    SincePrevious,
    /// -tttt: `YYYY-MM-DD HH:MM:SS.frac`, local time.
    Date,
    /// -ttttt: time since the first packet.
    SinceFirst,
}

impl TimeFormat {
    /// From the number of -t flags, as tcpdump counts them.
    pub fn from_count(n: u8) -> TimeFormat {
        match n {
            0 => TimeFormat::Local,
            1 => TimeFormat::None,
            2 => TimeFormat::Epoch,
            3 => TimeFormat::SincePrevious,
            4 => TimeFormat::Date,
            _ => TimeFormat::SinceFirst,
        }
    }
}

/// What tcpdump 4.99 prints for a time it does not convert (util-print.c
/// ts_date_hmsfrac_print, ts_unix_print), with no fraction after it: one whose seconds have
/// bit 31 set in their low 32 bits (2038-01-19 03:14:08 UTC to 2106-02-07 06:28:15, and
/// every other 2^31 seconds after that: half the times past year 9999), or one that
/// localtime or gmtime cannot convert (a year past what an int holds).
const BAD_TIME: &str = "[Error converting time]";

/// tcpdump's `(unsigned)sec & 0x80000000` test.
fn unconvertible(secs: i64) -> bool {
    secs as u32 & 0x8000_0000 != 0
}

/// Remembers what the formats need across packets: the reference time of -ttt/-ttttt and the
/// last second converted to local time (localtime_r is slow; packets come many per second).
#[derive(Default)]
pub struct Clock {
    /// Seconds and fraction (in the printed unit) of the reference packet; (0, 0) is unset,
    /// as in tcpdump, where a packet at the epoch leaves the next one to set it.
    reference: (i64, i64),
    /// A second and its "YYYY-MM-DD HH:MM:SS" text (None: not convertible).
    cached: Option<(i64, Option<LocalText>)>,
    /// Print nine fractional digits instead of six (--nano).
    pub nano: bool,
}

/// "YYYY-MM-DD HH:MM:SS" as strftime writes it: the year may be longer than four digits, or
/// negative.
#[derive(Clone, Copy)]
struct LocalText {
    buf: [u8; 32],
    len: usize,
}

impl LocalText {
    fn date_time(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// "HH:MM:SS": the last eight bytes.
    fn time(&self) -> &[u8] {
        &self.buf[self.len - 8..self.len]
    }
}

impl Clock {
    pub fn new(nano: bool) -> Clock {
        Clock {
            nano,
            ..Default::default()
        }
    }

    /// The time stamp as tcpdump's ts_print prints it. Seconds are a C time_t there: a count
    /// past 2^63 (a pcapng if_tsoffset taking it below zero) is a time before 1970.
    pub fn print(&mut self, t: &mut Text, f: &TimeFormat, ts: &Timestamp) {
        let secs = ts.secs as i64;
        let frac = i64::from(self.scaled(ts.nanos));
        match f {
            TimeFormat::None => {}
            TimeFormat::Epoch => {
                if unconvertible(secs) {
                    t.s(BAD_TIME);
                } else {
                    // tcpdump prints the seconds as an unsigned int: their low 32 bits.
                    t.u(secs as u32).ch(b'.');
                    self.frac(t, frac);
                }
                t.ch(b' ');
            }
            TimeFormat::Local | TimeFormat::Date => {
                match (unconvertible(secs), self.local(secs)) {
                    (false, Some(text)) => {
                        let date = *f == TimeFormat::Date;
                        t.buf
                            .extend_from_slice(if date { text.date_time() } else { text.time() });
                        t.ch(b'.');
                        self.frac(t, frac);
                    }
                    _ => {
                        t.s(BAD_TIME);
                    }
                }
                t.ch(b' ');
            }
            TimeFormat::SincePrevious | TimeFormat::SinceFirst => {
                // As tcpdump: netdissect_timevalsub in C longs, the difference printed as a
                // UTC time of day.
                let now = (secs, frac);
                if self.reference == (0, 0) {
                    self.reference = now;
                }
                let unit: i64 = if self.nano { 1_000_000_000 } else { 1_000_000 };
                let negative = now < self.reference;
                let (a, b) = if negative {
                    (self.reference, now)
                } else {
                    (now, self.reference)
                };
                let (mut dsec, mut dfrac) = (a.0.wrapping_sub(b.0), a.1 - b.1);
                if dfrac < 0 {
                    dsec = dsec.wrapping_sub(1);
                    dfrac += unit;
                }
                t.ch(if negative { b'-' } else { b' ' });
                match (unconvertible(dsec), utc_time_of_day(dsec)) {
                    (false, Some((h, m, s))) => {
                        t.u_pad(h, 2)
                            .ch(b':')
                            .u_pad(m, 2)
                            .ch(b':')
                            .u_pad(s, 2)
                            .ch(b'.');
                        self.frac(t, dfrac);
                    }
                    _ => {
                        t.s(BAD_TIME);
                    }
                }
                t.ch(b' ');
                if *f == TimeFormat::SincePrevious {
                    self.reference = now;
                }
            }
        }
    }

    /// The fraction in the precision we print: libpcap hands tcpdump microseconds (the
    /// nanoseconds cut off) unless nanosecond precision was asked for.
    fn scaled(&self, nanos: u32) -> u32 {
        if self.nano {
            nanos
        } else {
            nanos / 1000
        }
    }

    fn frac(&self, t: &mut Text, frac: i64) {
        t.u_pad(frac as u64, if self.nano { 9 } else { 6 });
    }

    /// "YYYY-MM-DD HH:MM:SS" in local time, as tcpdump makes it (localtime, then strftime
    /// "%Y-%m-%d %H:%M:%S"), cached per second; None where localtime fails (a year past what
    /// an int holds).
    fn local(&mut self, secs: i64) -> Option<LocalText> {
        if let Some((s, text)) = self.cached {
            if s == secs {
                return text;
            }
        }
        let t = secs as libc::time_t;
        // SAFETY: localtime_r only writes the tm we give it.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
        let text = ok
            .then(|| {
                let mut text = LocalText {
                    buf: [0; 32],
                    len: 0,
                };
                // SAFETY: strftime writes at most buf.len() bytes, the format is
                // NUL-terminated and tm was filled in by localtime_r.
                text.len = unsafe {
                    libc::strftime(
                        text.buf.as_mut_ptr().cast(),
                        text.buf.len(),
                        c"%Y-%m-%d %H:%M:%S".as_ptr(),
                        &tm,
                    )
                };
                text
            })
            // strftime fails only if the text does not fit, which an int year cannot do.
            .filter(|text| text.len >= 8);
        self.cached = Some((secs, text));
        text
    }
}

/// Hours, minutes and seconds of a UTC time (gmtime), or None where gmtime fails.
fn utc_time_of_day(secs: i64) -> Option<(u64, u64, u64)> {
    let t = secs as libc::time_t;
    // SAFETY: gmtime_r only writes the tm we give it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::gmtime_r(&t, &mut tm).is_null() };
    ok.then_some((tm.tm_hour as u64, tm.tm_min as u64, tm.tm_sec as u64))
}
