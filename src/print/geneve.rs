//! The UDP overlays: Geneve (tcpdump's print-geneve.c) and VXLAN (print-vxlan.c), then the
//! frame or packet they carry.

use super::{be16, ether, u8_at, Ctx};

/// Transparent Ethernet Bridging: an Ethernet frame follows.
const TEB: u16 = 0x6558;

pub fn geneve(cx: &mut Ctx, p: &[u8], len: u32) {
    cx.t.s("Geneve");
    if len < 8 {
        cx.t.s(" [length ").u(len).s(" < 8] (invalid)");
        return;
    }
    if p.len() < 8 {
        cx.trunc("geneve");
        return;
    }
    let ver_opt = p[0];
    let version = ver_opt >> 6;
    if version != 0 {
        cx.t.s(" ERROR: unknown-version ").u(version);
        return;
    }
    let flags = p[1];
    let proto = be16(p, 2).unwrap_or(0);
    let vni = u32::from(p[4]) << 16 | u32::from(p[5]) << 8 | u32::from(p[6]);
    let reserved = p[7];
    let len = len.wrapping_sub(8);
    cx.t.s(", Flags [")
        .bits(
            u32::from(flags),
            &[
                (0x80, "O"),
                (0x40, "C"),
                (0x20, "R1"),
                (0x10, "R2"),
                (0x08, "R3"),
                (0x04, "R4"),
                (0x02, "R5"),
                (0x01, "R6"),
            ],
            "",
            "none",
        )
        .s("], vni 0x")
        .hex(u64::from(vni), 1);
    if reserved != 0 {
        cx.t.s(", rsvd 0x").hex(u64::from(reserved), 1);
    }
    if cx.o.link {
        let name = if proto == TEB {
            "TEB"
        } else {
            ether::name(proto).unwrap_or("unknown")
        };
        cx.t.s(", proto ")
            .s(name)
            .s(" (0x")
            .hex(u64::from(proto), 4)
            .ch(b')');
    }
    let opts_len = u32::from(ver_opt & 0x3f) * 4;
    if len < opts_len {
        cx.t.s(" truncated-geneve - ")
            .u(opts_len - len)
            .s(" bytes missing");
        return;
    }
    let Some(opts) = p.get(8..8 + opts_len as usize) else {
        cx.trunc("geneve");
        return;
    };
    if !opts.is_empty() {
        cx.t.s(", options [");
        if cx.o.verbose > 0 {
            options(cx, opts);
        } else {
            cx.t.u(opts_len).s(" bytes");
        }
        cx.t.ch(b']');
    }
    let inner = &p[8 + opts.len()..];
    let len = len - opts_len;
    cx.t.s(if cx.o.verbose > 0 { "\n\t" } else { ": " });
    if !ether::ethertype(cx, proto, inner, len) {
        if proto == TEB {
            ethernet(cx, inner, len);
        } else {
            cx.t.s("geneve-proto-0x").hex(u64::from(proto), 1);
        }
    }
}

fn class_name(class: u16) -> &'static str {
    match class {
        0x0100 => "Linux",
        0x0101 => "Open vSwitch",
        0x0102 => "Open Virtual Networking (OVN)",
        0x0103 => "In-band Network Telemetry (INT)",
        0x0104 => "VMware",
        0..=0x00ff => "Standard",
        0xfff0..=0xffff => "Experimental",
        _ => "Unknown",
    }
}

/// The options (all captured): class, type and length, with -vv their data.
fn options(cx: &mut Ctx, mut o: &[u8]) {
    let mut sep = "";
    while !o.is_empty() {
        cx.t.s(sep);
        sep = ", ";
        let (Some(class), Some(ty), Some(l)) = (be16(o, 0), u8_at(o, 2), u8_at(o, 3)) else {
            // tcpdump reads past the options here; stop at the capture's end.
            cx.trunc("geneve");
            return;
        };
        let opt_len = 4 + usize::from(l & 0x1f) * 4;
        cx.t.s("class ")
            .s(class_name(class))
            .s(" (0x")
            .hex(u64::from(class), 1);
        cx.t.s(") type 0x").hex(u64::from(ty), 1);
        if ty & 0x80 != 0 {
            cx.t.s("(C)");
        }
        cx.t.s(" len ").u(opt_len as u64);
        if opt_len > o.len() {
            cx.t.s(" [bad length]");
            return;
        }
        if cx.o.verbose > 1 && opt_len > 4 {
            cx.t.s(" data");
            for w in o[4..opt_len].chunks_exact(4) {
                cx.t.ch(b' ');
                for &b in w {
                    cx.t.byte(b);
                }
            }
        }
        o = &o[opt_len..];
    }
}

pub fn vxlan(cx: &mut Ctx, p: &[u8], len: u32) {
    cx.t.s("VXLAN");
    if len < 8 {
        cx.t.s(" (invalid)");
        return;
    }
    let Some(flags) = u8_at(p, 0) else {
        cx.trunc("vxlan");
        return;
    };
    cx.t.s(", flags [")
        .s(if flags & 0x08 != 0 { "I" } else { "invalid" });
    cx.t.s("] (0x").byte(flags).s("), ");
    let Some(vni) = p.get(4..7) else {
        cx.trunc("vxlan");
        return;
    };
    let vni = u32::from(vni[0]) << 16 | u32::from(vni[1]) << 8 | u32::from(vni[2]);
    cx.t.s("vni ").u(vni).ch(b'\n');
    if p.len() < 8 {
        cx.trunc("vxlan");
        return;
    }
    ethernet(cx, &p[8..], len - 8);
}

/// tcpdump's ether_print for a carried frame: more captured than its length is invalid.
fn ethernet(cx: &mut Ctx, p: &[u8], len: u32) {
    if (len as usize) < p.len() {
        cx.t.s("[length ")
            .u(len)
            .s(" < caplen ")
            .u(p.len() as u64)
            .s("] (invalid)");
        return;
    }
    ether::ethernet(cx, p, len);
}
