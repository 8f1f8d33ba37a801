//! 802.2 LLC (tcpdump's print-llc.c) with what it carries: SNAP (by ethertype), spanning
//! tree BPDUs (print-stp.c), IPX (print-ipx.c) and tcpdump's generic U/S/I frame line.

use super::{be16, be32, ether, ip, u8_at, Ctx};

const SAP_SNAP: u8 = 0xaa;
const SAP_STP: u8 = 0x42;
const SAP_IP: u8 = 0x06;
const SAP_IPX: u8 = 0xe0;
const SAP_GLOBAL: u8 = 0xff;
const LLC_UI: u16 = 0x03;

fn sap_name(sap: u8) -> Option<&'static str> {
    Some(match sap {
        0x00 => "Null",
        0xff => "Global",
        0x02 => "802.1B I",
        0x03 => "802.1B G",
        0x06 => "IP",
        0x0e => "ProWay NM",
        0x42 => "STP",
        0x4e => "RS511",
        0x7e => "ISO8208",
        0x8e => "ProWay",
        0xaa => "SNAP",
        0xe0 => "IPX",
        0xf0 => "NetBeui",
        0xfe => "OSI",
        _ => return None,
    })
}

/// tcpdump's llc_flag_values.
fn flag_name(v: u16) -> &'static str {
    match v {
        0 => "Command",
        0x01 => "Response",
        0x10 | 0x0100 => "Poll",
        0x11 | 0x0101 => "Final",
        _ => "?",
    }
}

fn sap_or(cx: &mut Ctx, sap: u8, what: &str) {
    match sap_name(sap) {
        Some(n) => cx.t.s(n),
        None => cx.t.s("Unknown ").s(what).s(" 0x").byte(sap),
    };
}

/// tcpdump's llc_print over `p` (captured bytes, already cut to the 802.3 length) of `len`
/// bytes on the wire. `addrs` are the source and destination MACs when the link has them.
/// Returns the LLC (and SNAP) header length, negative when tcpdump would go on to print
/// the raw bytes itself (the caller does that).
pub fn print(cx: &mut Ctx, p: &[u8], len: u32, addrs: Option<(&[u8], &[u8])>) -> isize {
    let caplen = p.len();
    if caplen < 3 || len < 3 {
        cx.trunc("llc");
        ether::raw_default_print(cx, p);
        return if caplen < 3 {
            caplen as isize
        } else {
            len as isize
        };
    }
    let dsap_field = p[0];
    let ssap_field = p[1];
    let mut control = u16::from(p[2]);
    let is_u = control & 3 == 3;
    let hdrlen: usize = if is_u {
        3
    } else {
        if caplen < 4 || len < 4 {
            cx.trunc("llc");
            ether::raw_default_print(cx, p);
            return if caplen < 4 {
                caplen as isize
            } else {
                len as isize
            };
        }
        control = u16::from_le_bytes([p[2], p[3]]);
        4
    };
    if dsap_field == SAP_GLOBAL && ssap_field == SAP_GLOBAL {
        // Novell "raw" 802.3: IPX right after the 802.3 header.
        if cx.o.link {
            cx.t.s("IPX 802.3: ");
        }
        ipx(cx, p, len);
        return 0;
    }
    let dsap = dsap_field & !1;
    let ssap = ssap_field & !1;
    if cx.o.link {
        cx.t.s("LLC, dsap ")
            .s(sap_name(dsap).unwrap_or("Unknown"))
            .s(" (0x")
            .byte(dsap)
            .s(") ")
            .s(if dsap_field & 1 != 0 {
                "Group"
            } else {
                "Individual"
            })
            .s(", ssap ")
            .s(sap_name(ssap).unwrap_or("Unknown"))
            .s(" (0x")
            .byte(ssap)
            .s(") ")
            .s(if ssap_field & 1 != 0 {
                "Response"
            } else {
                "Command"
            });
        if is_u {
            cx.t.s(", ctrl 0x").byte(control as u8).s(": ");
        } else {
            cx.t.s(", ctrl 0x").hex(u64::from(control), 4).s(": ");
        }
    }
    let body = &p[hdrlen..];
    let blen = len - hdrlen as u32;
    if ssap == SAP_SNAP && dsap == SAP_SNAP && control == LLC_UI {
        return if snap(cx, body, blen, addrs) {
            hdrlen as isize + 5
        } else {
            -(hdrlen as isize + 5)
        };
    }
    if ssap == SAP_STP && dsap == SAP_STP && control == LLC_UI {
        stp(cx, body, blen);
        return hdrlen as isize;
    }
    if ssap == SAP_IP && dsap == SAP_IP && control == LLC_UI {
        ip::print(cx, body, blen);
        return hdrlen as isize;
    }
    if ssap == SAP_IPX && dsap == SAP_IPX && control == LLC_UI {
        if cx.o.link {
            cx.t.s("IPX 802.2: ");
        }
        ipx(cx, body, blen);
        return hdrlen as isize;
    }
    if !cx.o.link {
        match addrs {
            Some((src, dst)) => {
                cx.t.mac(src).ch(b' ');
                if ssap != dsap {
                    sap_or(cx, ssap, "SSAP");
                    cx.t.ch(b' ');
                }
                cx.t.s("> ").mac(dst).ch(b' ');
                sap_or(cx, dsap, "DSAP");
                cx.t.ch(b' ');
            }
            None => {
                if ssap != dsap {
                    sap_or(cx, ssap, "SSAP");
                    cx.t.s(" > ");
                }
                sap_or(cx, dsap, "DSAP");
                cx.t.ch(b' ');
            }
        }
    }
    let gsap = u16::from(ssap_field & 1);
    if is_u {
        cx.t.s("Unnumbered, ");
        match u_cmd_name(control & 0xef) {
            Some(n) => cx.t.s(n),
            None => cx.t.byte((control & 0xef) as u8),
        };
        cx.t.s(", Flags [")
            .s(flag_name(gsap | (control & 0x10)))
            .s("], length ")
            .u(len);
        if control & !0x10 == 0xaf && blen > 0 {
            // XID
            if body.is_empty() {
                cx.trunc("llc");
                return hdrlen as isize;
            }
            if body[0] == 0x81 {
                if body.len() < 3 || blen < 3 {
                    cx.trunc("llc");
                    ether::raw_default_print(cx, body);
                } else {
                    cx.t.s(": ").byte(body[1]).ch(b' ').byte(body[2]);
                }
                return hdrlen as isize;
            }
        }
    } else if control & 3 == 1 {
        let s = match (control >> 2) & 3 {
            0 => "Receiver Ready",
            1 => "Receiver not Ready",
            2 => "Reject",
            _ => "?",
        };
        cx.t.s("Supervisory, ")
            .s(s)
            .s(", rcv seq ")
            .u((control >> 9) & 0x7f)
            .s(", Flags [")
            .s(flag_name(gsap | (control & 0x0100)))
            .s("], length ")
            .u(len);
        return hdrlen as isize;
    } else {
        cx.t.s("Information, send seq ")
            .u((control >> 1) & 0x7f)
            .s(", rcv seq ")
            .u((control >> 9) & 0x7f)
            .s(", Flags [")
            .s(flag_name(gsap | (control & 0x0100)))
            .s("], length ")
            .u(len);
    }
    -(hdrlen as isize)
}

fn u_cmd_name(c: u16) -> Option<&'static str> {
    Some(match c {
        0x03 => "ui",
        0xe3 => "test",
        0xaf => "xid",
        0x63 => "ua",
        0x43 => "disc",
        0x0f => "dm",
        0x6f => "sabme",
        0x87 => "frmr",
        _ => return None,
    })
}

/// tcpdump's oui_values, for SNAP headers.
fn oui_name(oui: u32) -> &'static str {
    let b = oui.to_be_bytes();
    super::names::oui(&b[1..4])
}

/// tcpdump's snap_print; false when nothing could print the payload.
fn snap(cx: &mut Ctx, p: &[u8], len: u32, addrs: Option<(&[u8], &[u8])>) -> bool {
    if p.len() < 5 {
        cx.trunc("snap");
        return true;
    }
    if len < 5 {
        cx.trunc("snap");
        return true;
    }
    let oui = u32::from_be_bytes([0, p[0], p[1], p[2]]);
    let et = u16::from_be_bytes([p[3], p[4]]);
    let et_name = |et| {
        if oui == 0 || oui == 0xf8 || oui == 0x080007 {
            ether::name(et).unwrap_or("Unknown")
        } else {
            "Unknown"
        }
    };
    if cx.o.link {
        cx.t.s("oui ")
            .s(oui_name(oui))
            .s(" (0x")
            .hex(u64::from(oui), 6)
            .s("), ")
            .s(if oui == 0 { "ethertype" } else { "pid" })
            .ch(b' ')
            .s(et_name(et))
            .s(" (0x")
            .hex(u64::from(et), 4)
            .s("), length ")
            .u(len - 5)
            .s(": ");
    }
    let body = &p[5..];
    let blen = len - 5;
    let printed = match oui {
        0x000000 | 0x0000f8 => ether::ethertype(cx, et, body, blen),
        0x080007 if et == 0x809b => ether::ethertype(cx, et, body, blen),
        _ => false,
    };
    if printed {
        return true;
    }
    if !cx.o.link {
        if let Some((src, dst)) = addrs {
            cx.t.mac(src).s(" > ").mac(dst).ch(b' ');
        }
        if oui == 0 {
            cx.t.s("SNAP, ethertype ")
                .s(et_name(et))
                .s(" (0x")
                .hex(u64::from(et), 4)
                .s("), length ")
                .u(blen)
                .s(": ");
        } else {
            cx.t.s("SNAP, oui ")
                .s(oui_name(oui))
                .s(" (0x")
                .hex(u64::from(oui), 6)
                .s("), pid ")
                .s(et_name(et))
                .s(" (0x")
                .hex(u64::from(et), 4)
                .s("), length ")
                .u(blen)
                .s(": ");
        }
    }
    false
}

/// `%.2f` of `v / 256` (STP times), written without allocating.
fn time256(cx: &mut Ctx, v: u16) {
    use std::io::Write;
    let _ = write!(cx.t.buf, "{:.2}", f64::from(v) / 256.0);
}

fn bridge_id(cx: &mut Ctx, b: &[u8]) {
    cx.t.byte(b[0]).byte(b[1]).ch(b'.').mac_numeric(&b[2..8]);
}

/// tcpdump's stp_print (802.1d/w/s/aq BPDUs; MSTP's MSTI records are not decoded).
pub fn stp(cx: &mut Ctx, p: &[u8], len: u32) {
    if len < 4 {
        cx.t.s(" (invalid)");
        return;
    }
    let Some(proto) = be16(p, 0) else {
        cx.trunc_jump("stp");
        return;
    };
    if proto != 0 {
        cx.t.s("unknown STP version, length ").u(len);
        return;
    }
    let Some(version) = u8_at(p, 2) else {
        cx.trunc_jump("stp");
        return;
    };
    cx.t.s("STP ");
    match version {
        0 => cx.t.s("802.1d"),
        2 => cx.t.s("802.1w"),
        3 => cx.t.s("802.1s"),
        4 => cx.t.s("802.1aq"),
        _ => {
            cx.t.s("Unknown STP protocol (0x").byte(version).ch(b')');
            return;
        }
    };
    let Some(ty) = u8_at(p, 3) else {
        cx.trunc_jump("stp");
        return;
    };
    cx.t.s(", ");
    match ty {
        0x00 => cx.t.s("Config"),
        0x02 => cx.t.s("Rapid STP"),
        0x80 => cx.t.s("Topology Change"),
        _ => cx.t.s("Unknown BPDU Type (0x").byte(ty).ch(b')'),
    };
    match ty {
        0x00 => {
            if len < 35 {
                cx.t.s(" (invalid)");
                return;
            }
            stp_config(cx, p, len, version);
        }
        0x02 if version == 2 => {
            if len < 36 {
                cx.t.s(" (invalid)");
                return;
            }
            stp_config(cx, p, len, version);
        }
        _ => {}
    }
}

fn stp_config(cx: &mut Ctx, b: &[u8], len: u32, version: u8) {
    let Some(flags) = u8_at(b, 4) else {
        cx.trunc_jump("stp");
        return;
    };
    cx.t.s(", Flags [")
        .bits(
            u32::from(flags),
            &[
                (0x01, "Topology change"),
                (0x02, "Proposal"),
                (0x10, "Learn"),
                (0x20, "Forward"),
                (0x40, "Agreement"),
                (0x80, "Topology change ACK"),
            ],
            ", ",
            "none",
        )
        .ch(b']');
    if b.len() < 27 {
        cx.trunc_jump("stp");
        return;
    }
    cx.t.s(", bridge-id ");
    bridge_id(cx, &b[17..25]);
    cx.t.ch(b'.')
        .hex(u64::from(u16::from_be_bytes([b[25], b[26]])), 4)
        .s(", length ")
        .u(len);
    if cx.o.verbose == 0 {
        return;
    }
    if b.len() < 35 {
        cx.trunc_jump("stp");
        return;
    }
    let w = |k: usize| u16::from_be_bytes([b[k], b[k + 1]]);
    cx.t.s("\n\tmessage-age ");
    time256(cx, w(27));
    cx.t.s("s, max-age ");
    time256(cx, w(29));
    cx.t.s("s, hello-time ");
    time256(cx, w(31));
    cx.t.s("s, forwarding-delay ");
    time256(cx, w(33));
    cx.t.s("s\n\troot-id ");
    bridge_id(cx, &b[5..13]);
    cx.t.s(", root-pathcost ").u(be32(b, 13).unwrap_or(0));
    if version == 2 {
        cx.t.s(", port-role ").s(match (flags >> 2) & 3 {
            1 => "Alternate",
            2 => "Root",
            3 => "Designated",
            _ => "Unknown",
        });
    }
}

fn ipx_addr(cx: &mut Ctx, p: &[u8], at: usize) -> bool {
    let (Some(net), Some(node), Some(sock)) =
        (be32(p, at), p.get(at + 4..at + 10), be16(p, at + 10))
    else {
        return false;
    };
    cx.t.hex(u64::from(net), 8)
        .ch(b'.')
        .mac_numeric(node)
        .ch(b'.')
        .hex(u64::from(sock), 4);
    true
}

/// tcpdump's ipx_print: the addresses, then SAP/RIP or the socket and length.
pub fn ipx(cx: &mut Ctx, p: &[u8], _len: u32) {
    if !cx.o.link {
        cx.t.s("IPX ");
    }
    if !ipx_addr(cx, p, 18) {
        cx.trunc_jump("ipx");
        return;
    }
    cx.t.s(" > ");
    if !ipx_addr(cx, p, 6) {
        cx.trunc_jump("ipx");
        return;
    }
    cx.t.s(": ");
    let Some(length) = be16(p, 2) else {
        cx.trunc_jump("ipx");
        return;
    };
    let length = u32::from(length);
    if length < 30 {
        cx.t.s("[length ").u(length).s(" < 30]").s(" (invalid)");
        return;
    }
    let data = &p[30.min(p.len())..];
    let length = length - 30;
    let sock = be16(p, 16).unwrap_or(0);
    match sock {
        0x0451 => {
            cx.t.s("ipx-ncp ").u(length);
        }
        0x0452 => ipx_sap(cx, data, length),
        0x0453 => ipx_rip(cx, data, length),
        0x0455 => {
            cx.t.s("ipx-netbios ").u(length);
        }
        0x0456 => {
            cx.t.s("ipx-diags ").u(length);
        }
        0x0553 => {
            cx.t.s("ipx-nwlink-dgm ").u(length);
        }
        _ => {
            cx.t.s("ipx-#").hex(u64::from(sock), 1).ch(b' ').u(length);
        }
    }
}

fn sap_type(cx: &mut Ctx, ty: u16) {
    if cx.o.numeric == 0 && ty == 0x0004 {
        cx.t.s("FileServer");
    } else {
        cx.t.hex(u64::from(ty), 4);
    }
}

fn ipx_sap(cx: &mut Ctx, p: &[u8], length: u32) {
    let Some(cmd) = be16(p, 0) else {
        cx.trunc_jump("ipx");
        return;
    };
    let mut length = length.wrapping_sub(2);
    match cmd {
        1 | 3 => {
            cx.t.s(if cmd == 1 {
                "ipx-sap-req"
            } else {
                "ipx-sap-nearest-req"
            });
            let Some(ty) = be16(p, 2) else {
                cx.trunc_jump("ipx");
                return;
            };
            cx.t.ch(b' ');
            sap_type(cx, ty);
        }
        2 | 4 => {
            cx.t.s(if cmd == 2 {
                "ipx-sap-resp"
            } else {
                "ipx-sap-nearest-resp"
            });
            let mut at = 2usize;
            let mut i = 0;
            while i < 8 && length != 0 {
                let Some(ty) = be16(p, at) else {
                    cx.trunc_jump("ipx");
                    return;
                };
                cx.t.ch(b' ');
                sap_type(cx, ty);
                cx.t.s(" '");
                // nd_printzp: up to 48 bytes, stopping at a NUL.
                let name = p.get(at + 2..).unwrap_or(&[]);
                let mut done = false;
                for k in 0..48 {
                    match name.get(k) {
                        None => break,
                        Some(0) => {
                            done = true;
                            break;
                        }
                        Some(&c) => super::hex::print_char(cx.t, c),
                    }
                    if k == 47 {
                        done = true;
                    }
                }
                cx.t.ch(b'\'');
                if !done {
                    cx.trunc_jump("ipx");
                    return;
                }
                cx.t.s(" addr ");
                if !ipx_addr(cx, p, at + 50) {
                    cx.trunc_jump("ipx");
                    return;
                }
                at += 64;
                length = length.wrapping_sub(64);
                i += 1;
            }
        }
        _ => {
            cx.t.s("ipx-sap-?").hex(u64::from(cmd), 1);
        }
    }
}

fn ipx_rip(cx: &mut Ctx, p: &[u8], length: u32) {
    let Some(cmd) = be16(p, 0) else {
        cx.trunc_jump("ipx");
        return;
    };
    let mut length = length.wrapping_sub(2);
    let entry = |cx: &mut Ctx, at: usize| -> bool {
        let (Some(net), Some(hops), Some(ticks)) = (be32(p, at), be16(p, at + 4), be16(p, at + 6))
        else {
            return false;
        };
        cx.t.ch(b' ')
            .hex(u64::from(net), 8)
            .ch(b'/')
            .u(hops)
            .ch(b'.')
            .u(ticks);
        true
    };
    match cmd {
        1 => {
            cx.t.s("ipx-rip-req");
            if length != 0 && !entry(cx, 2) {
                cx.trunc_jump("ipx");
            }
        }
        2 => {
            cx.t.s("ipx-rip-resp");
            let mut at = 2;
            let mut i = 0;
            while i < 50 && length != 0 {
                if !entry(cx, at) {
                    cx.trunc_jump("ipx");
                    return;
                }
                at += 8;
                length = length.wrapping_sub(8);
                i += 1;
            }
        }
        _ => {
            cx.t.s("ipx-rip-?").hex(u64::from(cmd), 1);
        }
    }
}
