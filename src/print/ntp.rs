//! NTP (tcpdump's print-ntp.c and ntp.c): version, mode and length; with -v the time
//! message (stratum, poll, root delay and dispersion, reference ID, the four timestamps) or
//! the control message header.

use super::{be16, be32, hex, u8_at, Ctx};

const MODES: [&str; 8] = [
    "unspecified",
    "symmetric active",
    "symmetric passive",
    "Client",
    "Server",
    "Broadcast",
    "Control Message",
    "Reserved",
];

/// The fixed part of a time message.
const TIME_MIN: u32 = 48;
/// The fixed part of a control message.
const CTRL_MIN: u32 = 12;

pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    let Some(status) = u8_at(p, 0) else {
        cx.trunc_jump("ntp");
        return;
    };
    let mode = usize::from(status & 7);
    cx.t.s("NTPv").u((status >> 3) & 7);
    cx.t.s(", ").s(MODES[mode]).s(", length ").u(len);
    if cx.o.verbose == 0 {
        return;
    }
    let leap = status & 0xc0;
    let leap_name = match leap {
        0x00 => "",
        0x40 => "+1s",
        0x80 => "-1s",
        _ => "clock unsynchronized",
    };
    cx.t.s("\n\tLeap indicator: ")
        .s(leap_name)
        .s(" (")
        .u(leap)
        .ch(b')');
    let done = match mode {
        0..=5 => time_msg(cx, p, len),
        6 => control_msg(cx, p, len),
        _ => Some(()),
    };
    if done.is_none() {
        cx.trunc("ntp");
    }
}

/// tcpdump's nd_print_invalid, then the check that the claimed length was captured.
fn invalid(cx: &mut Ctx, p: &[u8], len: u32) -> Option<()> {
    cx.t.s(" (invalid)");
    if (p.len() as u64) < u64::from(len) {
        return None;
    }
    Some(())
}

fn time_msg(cx: &mut Ctx, p: &[u8], len: u32) -> Option<()> {
    if len < TIME_MIN {
        return invalid(cx, p, len);
    }
    let stratum = u8_at(p, 1)?;
    let name = match stratum {
        0 => "unspecified",
        1 => "primary reference",
        2..=15 => "secondary reference",
        _ => "reserved",
    };
    cx.t.s(", Stratum ").u(stratum).s(" (").s(name).ch(b')');
    let poll = u8_at(p, 2)? as i8;
    cx.t.s(", poll ");
    signed(cx, i64::from(poll));
    if poll > -32 && poll < 32 {
        if poll >= 0 {
            cx.t.s(" (").u(1u32 << poll).s("s)");
        } else {
            cx.t.s(" (1/").u(1u32 << -poll).s("s)");
        }
    }
    let precision = u8_at(p, 3)? as i8;
    cx.t.s(", precision ");
    signed(cx, i64::from(precision));

    let delay = be32(p, 4)?;
    cx.t.s("\n\tRoot Delay: ");
    sfix(cx, delay);
    let disp = be32(p, 8)?;
    cx.t.s(", Root dispersion: ");
    sfix(cx, disp);
    let refid = p.get(12..16)?;
    cx.t.s(", Reference-ID: ");
    match stratum {
        0 => {
            cx.t.s("(unspec)");
        }
        1 => {
            for &c in refid {
                hex::print_char(cx.t, c);
            }
        }
        62 => {
            cx.t.ipv4(refid).s(" INFO_QUERY");
            return Some(());
        }
        63 => {
            cx.t.ipv4(refid).s(" INFO_REPLY");
            return Some(());
        }
        _ => {
            let id = be32(p, 12)?;
            cx.t.s("0x").hex(u64::from(id), 8);
        }
    }
    let labels = [
        "\n\t  Reference Timestamp:  ",
        "\n\t  Originator Timestamp: ",
        "\n\t  Receive Timestamp:    ",
        "\n\t  Transmit Timestamp:   ",
    ];
    let mut ts = [(0u32, 0u32); 4];
    for (k, label) in labels.iter().enumerate() {
        let at = 16 + 8 * k;
        ts[k] = (be32(p, at)?, be32(p, at + 4)?);
        cx.t.s(label);
        ntp_time(cx, ts[k]);
    }
    cx.t.s("\n\t    Originator - Receive Timestamp:  ");
    delta(cx, ts[1], ts[2]);
    cx.t.s("\n\t    Originator - Transmit Timestamp: ");
    delta(cx, ts[1], ts[3]);

    if len == TIME_MIN + 4 {
        let key = be32(p, 48)?;
        cx.t.s("\n\tKey id: ").u(key);
    } else if len == TIME_MIN + 4 + 16 || len == TIME_MIN + 4 + 20 {
        let key = be32(p, 48)?;
        cx.t.s("\n\tKey id: ").u(key);
        let n = (len - TIME_MIN - 4) as usize;
        let digest = p.get(52..52 + n)?;
        cx.t.s("\n\tAuthentication: ");
        for &b in digest {
            cx.t.byte(b);
        }
    } else if len > TIME_MIN {
        cx.t.s("\n\t(")
            .u(len - TIME_MIN)
            .s(" more bytes after the header)");
    }
    Some(())
}

fn control_msg(cx: &mut Ctx, p: &[u8], len: u32) -> Option<()> {
    if len < CTRL_MIN {
        return invalid(cx, p, len);
    }
    let control = u8_at(p, 1)?;
    cx.t.s(if control & 0x80 != 0 {
        ", Response"
    } else {
        ", Request"
    });
    cx.t.s(if control & 0x40 != 0 {
        ", Error"
    } else {
        ", OK"
    });
    cx.t.s(if control & 0x20 != 0 {
        ", More"
    } else {
        ", Last"
    });
    cx.t.s(", OpCode=").u(control & 0x1f).ch(b'\n');
    let seq = be16(p, 2)?;
    cx.t.s("\tSequence=").u(seq);
    let status = be16(p, 4)?;
    cx.t.s(", Status=");
    if status == 0 {
        cx.t.ch(b'0');
    } else {
        cx.t.s("0x").hex(u64::from(status), 1);
    }
    let assoc = be16(p, 6)?;
    cx.t.s(", Assoc.=").u(assoc);
    let offset = be16(p, 8)?;
    cx.t.s(", Offset=").u(offset);
    let count = be16(p, 10)?;
    cx.t.s(", Count=").u(count);
    if CTRL_MIN + u32::from(count) > len {
        return invalid(cx, p, len);
    }
    if count != 0 {
        p.get(12..12 + usize::from(count))?;
        cx.t.s("\n\tTO-BE-DONE: data not interpreted");
    }
    Some(())
}

fn signed(cx: &mut Ctx, v: i64) {
    if v < 0 {
        cx.t.ch(b'-');
    }
    cx.t.u(v.unsigned_abs());
}

/// tcpdump's p_sfix: a 16.16 fixed-point number as seconds and millionths.
fn sfix(cx: &mut Ctx, v: u32) {
    let i = v >> 16;
    let f = ((f64::from(v & 0xffff) / 65536.0) * 1_000_000.0) as u32;
    cx.t.u(i).ch(b'.').u_pad(u64::from(f), 6);
}

/// The fraction of a 32.32 timestamp in billionths, as tcpdump computes it.
fn billionths(frac: u32) -> u32 {
    ((f64::from(frac) / 4_294_967_296.0) * 1_000_000_000.0) as u32
}

/// tcpdump's p_ntp_time: seconds.billionths, then the UTC date when the seconds are set.
fn ntp_time(cx: &mut Ctx, (i, frac): (u32, u32)) {
    cx.t.u(i).ch(b'.').u_pad(u64::from(billionths(frac)), 9);
    if i != 0 {
        cx.t.s(" (");
        utc(cx, i64::from(i) - 2_208_988_800);
        cx.t.ch(b')');
    }
}

/// tcpdump's p_ntp_delta: `lfp - olfp`, signed.
fn delta(cx: &mut Ctx, (ou, ouf): (u32, u32), (u, uf): (u32, u32)) {
    if ou == 0 && ouf == 0 {
        ntp_time(cx, (u, uf));
        return;
    }
    let (neg, i, f) = if u > ou {
        let i = (u - ou).wrapping_sub(u32::from(ouf > uf));
        (false, i, uf.wrapping_sub(ouf))
    } else if u < ou {
        let i = (ou - u).wrapping_sub(u32::from(uf > ouf));
        (true, i, ouf.wrapping_sub(uf))
    } else if uf > ouf {
        (false, 0, uf - ouf)
    } else {
        (true, 0, ouf - uf)
    };
    cx.t.ch(if neg { b'-' } else { b'+' });
    cx.t.u(i).ch(b'.').u_pad(u64::from(billionths(f)), 9);
}

/// `%Y-%m-%dT%H:%M:%SZ` for seconds since 1970 (negative before).
fn utc(cx: &mut Ctx, secs: i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    cx.t.u_pad(y as u64, 4).ch(b'-');
    cx.t.u_pad(m as u64, 2).ch(b'-');
    cx.t.u_pad(d as u64, 2).ch(b'T');
    cx.t.u_pad((rem / 3600) as u64, 2).ch(b':');
    cx.t.u_pad((rem / 60 % 60) as u64, 2).ch(b':');
    cx.t.u_pad((rem % 60) as u64, 2).ch(b'Z');
}
