//! IGMP (tcpdump's print-igmp.c): queries (v1/v2/v3), reports, leaves, mtrace; -v checks
//! the checksum.

use super::l4::checksum;
use super::{be16, be32, pim, u8_at, Ctx};

pub fn print(cx: &mut Ctx, p: &[u8], len: u32) {
    if cx.o.quiet {
        cx.t.s("igmp");
        return;
    }
    if describe(cx, p, len).is_none() {
        cx.trunc_jump("igmp");
        return;
    }
    if cx.o.verbose > 0
        && len >= 4
        && p.len() >= len as usize
        && checksum(&[&p[..len as usize]], 0) != 0
    {
        cx.t.s(" bad igmp cksum ")
            .hex(u64::from(be16(p, 2).unwrap_or(0)), 1)
            .ch(b'!');
    }
}

/// None where a read runs past the capture (the caller adds the marker).
fn describe(cx: &mut Ctx, p: &[u8], len: u32) -> Option<()> {
    let ty = u8_at(p, 0)?;
    match ty {
        0x11 => {
            cx.t.s("igmp query");
            if len >= 12 {
                return v3_query(cx, p, len);
            }
            let mrt = u8_at(p, 1)?;
            if mrt != 0 {
                cx.t.s(" v2");
                if mrt != 100 {
                    cx.t.s(" [max resp time ").u(mrt).ch(b']');
                }
            } else {
                cx.t.s(" v1");
            }
            let g = p.get(4..8)?;
            if g != [0, 0, 0, 0] {
                cx.t.s(" [gaddr ").ipv4(g).ch(b']');
            }
            if len != 8 {
                cx.t.s(" [len ").u(len).ch(b']');
            }
        }
        0x12 => {
            let g = p.get(4..8)?;
            cx.t.s("igmp v1 report ").ipv4(g);
            if len != 8 {
                cx.t.s(" [len ").u(len).ch(b']');
            }
        }
        0x16 => {
            let g = p.get(4..8)?;
            cx.t.s("igmp v2 report ").ipv4(g);
        }
        0x22 => {
            cx.t.s("igmp v3 report");
            return v3_report(cx, p, len);
        }
        0x17 => {
            let g = p.get(4..8)?;
            cx.t.s("igmp leave ").ipv4(g);
        }
        0x13 => {
            cx.t.s("igmp dvmrp");
            if len < 8 {
                cx.t.s(" [len ").u(len).ch(b']');
            } else {
                // The message type; the bodies of probes, reports, neighbor lists, prunes
                // and grafts are not decoded here.
                let t = u8_at(p, 1)?;
                match t {
                    1 => cx.t.s(" Probe"),
                    2 => cx.t.s(" Report"),
                    3 => cx.t.s(" Ask-neighbors(old)"),
                    4 => cx.t.s(" Neighbors(old)"),
                    5 => {
                        let (minor, major) = (u8_at(p, 6)?, u8_at(p, 7)?);
                        cx.t.s(" Ask-neighbors2 v").u(major).ch(b'.').u(minor)
                    }
                    6 => cx.t.s(" Neighbors2"),
                    7 => cx.t.s(" Prune"),
                    8 => cx.t.s(" Graft"),
                    9 => cx.t.s(" Graft-ACK"),
                    _ => cx.t.s(" [type ").u(t).ch(b']'),
                };
            }
        }
        0x14 => {
            cx.t.s("igmp pimv1");
            if pim::v1(cx, p).is_none() {
                cx.trunc("pimv1");
            }
        }
        0x1e => return mtrace(cx, "mresp", p, len),
        0x1f => return mtrace(cx, "mtrace", p, len),
        _ => {
            cx.t.s("igmp-").u(ty);
        }
    }
    Some(())
}

fn mtrace(cx: &mut Ctx, name: &str, p: &[u8], len: u32) -> Option<()> {
    if len < 24 {
        cx.t.s(" [invalid len ").u(len).ch(b']');
        return Some(());
    }
    let q = p.get(8..24)?;
    let qid = be32(q, 12)? & 0x00ff_ffff;
    cx.t.s(name)
        .ch(b' ')
        .u(qid)
        .s(": ")
        .ipv4(&q[0..4])
        .s(" to ")
        .ipv4(&q[4..8])
        .s(" reply-to ")
        .ipv4(&q[8..12]);
    if q[8] & 0xf0 == 0xe0 {
        cx.t.s(" with-ttl ").u(q[12]);
    }
    Some(())
}

fn v3_report(cx: &mut Ctx, p: &[u8], len: u32) -> Option<()> {
    if len < 16 || len & 3 != 0 {
        cx.t.s(" [invalid len ").u(len).ch(b']');
        return Some(());
    }
    let ngroups = be16(p, 6)?;
    cx.t.s(", ").u(ngroups).s(" group record(s)");
    if cx.o.verbose == 0 {
        return Some(());
    }
    let len = len as usize;
    let mut group = 8usize;
    for _ in 0..ngroups {
        if len < group + 8 {
            cx.t.s(" [invalid number of groups]");
            return Some(());
        }
        let g = p.get(group + 4..group + 8)?;
        cx.t.s(" [gaddr ").ipv4(g).ch(b' ');
        let rt = u8_at(p, group)?;
        match record_type(rt) {
            Some(name) => cx.t.s(name),
            None => cx.t.s(" [v3-report-#").u(rt).ch(b']'),
        };
        let nsrcs = usize::from(be16(p, group + 2)?);
        if len < group + 8 + (nsrcs << 2) {
            cx.t.s(" [invalid number of sources ")
                .u(nsrcs as u64)
                .ch(b']');
            return Some(());
        }
        if cx.o.verbose == 1 {
            cx.t.s(", ").u(nsrcs as u64).s(" source(s)");
        } else {
            cx.t.s(" {");
            for j in 0..nsrcs {
                let at = group + 8 + (j << 2);
                let a = p.get(at..at + 4)?;
                cx.t.ch(b' ').ipv4(a);
            }
            cx.t.s(" }");
        }
        group += 8 + (nsrcs << 2);
        cx.t.ch(b']');
    }
    Some(())
}

fn v3_query(cx: &mut Ctx, p: &[u8], len: u32) -> Option<()> {
    cx.t.s(" v3");
    if len < 12 || len & 3 != 0 {
        cx.t.s(" [invalid len ").u(len).ch(b']');
        return Some(());
    }
    let mrc = u32::from(u8_at(p, 1)?);
    let mrt = if mrc < 128 {
        mrc
    } else {
        ((mrc & 0x0f) | 0x10) << (((mrc & 0x70) >> 4) + 3)
    };
    if mrc != 100 {
        cx.t.s(" [max resp time ");
        if mrt < 600 {
            cx.t.u(mrt / 10).ch(b'.').u(mrt % 10).ch(b's');
        } else {
            pim::relts(cx, mrt / 10);
        }
        cx.t.ch(b']');
    }
    let g = p.get(4..8)?;
    if g == [0, 0, 0, 0] {
        return Some(());
    }
    cx.t.s(" [gaddr ").ipv4(g);
    let nsrcs = u32::from(be16(p, 10)?);
    if nsrcs > 0 {
        if len < 12 + (nsrcs << 2) {
            cx.t.s(" [invalid number of sources]");
        } else if cx.o.verbose > 1 {
            cx.t.s(" {");
            for i in 0..nsrcs as usize {
                let at = 12 + (i << 2);
                let a = p.get(at..at + 4)?;
                cx.t.ch(b' ').ipv4(a);
            }
            cx.t.s(" }");
        } else {
            cx.t.s(", ").u(nsrcs).s(" source(s)");
        }
    }
    cx.t.ch(b']');
    Some(())
}

/// The group record types of IGMPv3 and MLDv2 reports (RFC 3376, RFC 3810: the same list).
pub fn record_type(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "is_in",
        2 => "is_ex",
        3 => "to_in",
        4 => "to_ex",
        5 => "allow",
        6 => "block",
        _ => return None,
    })
}
