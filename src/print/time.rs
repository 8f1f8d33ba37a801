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

/// Remembers what the formats need across packets: the reference time of -ttt/-ttttt and the
/// last second converted to local time (localtime_r is slow; packets come many per second).
#[derive(Default)]
pub struct Clock {
    reference: Option<(u64, u32)>,
    cached: Option<(u64, [u8; 19])>,
    /// Print nine fractional digits instead of six (--nano).
    pub nano: bool,
}

impl Clock {
    pub fn new(nano: bool) -> Clock {
        Clock {
            nano,
            ..Default::default()
        }
    }

    pub fn print(&mut self, t: &mut Text, f: &TimeFormat, ts: &Timestamp) {
        let nanos = ts.nanos;
        match f {
            TimeFormat::None => {}
            TimeFormat::Epoch => {
                t.u(ts.secs).ch(b'.');
                self.frac(t, nanos);
                t.ch(b' ');
            }
            TimeFormat::Local | TimeFormat::Date => {
                let date = *f == TimeFormat::Date;
                let text = self.local(ts.secs);
                t.buf
                    .extend_from_slice(if date { &text[..] } else { &text[11..] });
                t.ch(b'.');
                self.frac(t, nanos);
                t.ch(b' ');
            }
            TimeFormat::SincePrevious | TimeFormat::SinceFirst => {
                let now = (ts.secs, self.scaled(nanos));
                let reference = *self.reference.get_or_insert(now);
                let unit: u64 = if self.nano { 1_000_000_000 } else { 1_000_000 };
                let a = now.0 as i128 * unit as i128 + now.1 as i128;
                let b = reference.0 as i128 * unit as i128 + reference.1 as i128;
                let d = a - b;
                t.ch(if d < 0 { b'-' } else { b' ' });
                let d = d.unsigned_abs();
                let secs = (d / unit as u128) as u64;
                let frac = (d % unit as u128) as u64;
                // As tcpdump: the difference formatted as a UTC time of day.
                let day = secs % 86_400;
                t.u_pad(day / 3600, 2)
                    .ch(b':')
                    .u_pad(day / 60 % 60, 2)
                    .ch(b':')
                    .u_pad(day % 60, 2)
                    .ch(b'.')
                    .u_pad(frac, if self.nano { 9 } else { 6 })
                    .ch(b' ');
                if *f == TimeFormat::SincePrevious {
                    self.reference = Some(now);
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

    fn frac(&self, t: &mut Text, nanos: u32) {
        t.u_pad(u64::from(self.scaled(nanos)), if self.nano { 9 } else { 6 });
    }

    /// "YYYY-MM-DD HH:MM:SS" in local time, cached per second.
    fn local(&mut self, secs: u64) -> [u8; 19] {
        if let Some((s, text)) = self.cached {
            if s == secs {
                return text;
            }
        }
        let t = libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX);
        // SAFETY: localtime_r only writes the tm we give it.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
        let (y, mo, d, h, mi, s) = if ok {
            (
                i64::from(tm.tm_year) + 1900,
                tm.tm_mon as u64 + 1,
                tm.tm_mday as u64,
                tm.tm_hour as u64,
                tm.tm_min as u64,
                tm.tm_sec as u64,
            )
        } else {
            let d = secs % 86_400;
            (1970, 1, 1, d / 3600, d / 60 % 60, d % 60)
        };
        let mut x = Text::with_capacity(19, false);
        x.u_pad(y.max(0) as u64, 4)
            .ch(b'-')
            .u_pad(mo, 2)
            .ch(b'-')
            .u_pad(d, 2)
            .ch(b' ')
            .u_pad(h, 2)
            .ch(b':')
            .u_pad(mi, 2)
            .ch(b':')
            .u_pad(s, 2);
        let mut text = [b'0'; 19];
        let n = x.buf.len().min(19);
        text[..n].copy_from_slice(&x.buf[..n]);
        self.cached = Some((secs, text));
        text
    }
}
