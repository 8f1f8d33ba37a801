//! IEEE 802.1AB LLDP (print-lldp.c): the summary line, and with -v one block per TLV, with
//! the 802.1, 802.3, IANA, TIA (LLDP-MED) and DCBX organization-specific TLVs decoded as far
//! as tcpdump 4.99 decodes them; -vv adds each TLV's bytes in hex.
//!
//! The whole TLV is checked against the capture before it is decoded (tcpdump's
//! ND_TCHECK_LEN), so the decoders below only read inside the TLV; every read is still
//! bounds-checked and gives up quietly if it ever fails.

use super::hex::{hex, print_char};
use super::text::Text;
use super::Ctx;

type Tok = &'static [(u32, &'static str)];

fn tok(table: Tok, v: u32) -> Option<&'static str> {
    table.iter().find(|e| e.0 == v).map(|e| e.1)
}

fn tok_or(t: &mut Text, table: Tok, v: u32, unknown: &str) {
    t.s(tok(table, v).unwrap_or(unknown));
}

/// tcpdump's nd_printjnp: the bytes as characters, up to a NUL.
fn jnp(t: &mut Text, b: &[u8]) {
    for &c in b {
        if c == 0 {
            break;
        }
        print_char(t, c);
    }
}

/// tcpdump's nd_printn: every byte as a character.
fn printn(t: &mut Text, b: &[u8]) {
    for &c in b {
        print_char(t, c);
    }
}

fn u8a(b: &[u8], at: usize) -> u32 {
    b.get(at).copied().map_or(0, u32::from)
}

fn u16a(b: &[u8], at: usize) -> u32 {
    (u8a(b, at) << 8) | u8a(b, at + 1)
}

fn u24a(b: &[u8], at: usize) -> u32 {
    (u16a(b, at) << 8) | u8a(b, at + 2)
}

fn u32a(b: &[u8], at: usize) -> u32 {
    (u16a(b, at) << 16) | u16a(b, at + 2)
}

/// `0x` and `n` in hex, at least `w` digits.
fn x(t: &mut Text, n: u32, w: usize) {
    t.s("0x").hex(u64::from(n), w);
}

const TLV_NAMES: Tok = &[
    (0, "End"),
    (1, "Chassis ID"),
    (2, "Port ID"),
    (3, "Time to Live"),
    (4, "Port Description"),
    (5, "System Name"),
    (6, "System Description"),
    (7, "System Capabilities"),
    (8, "Management Address"),
    (127, "Organization specific"),
];

const CHASSIS_SUBTYPES: Tok = &[
    (1, "Chassis component"),
    (2, "Interface alias"),
    (3, "Port component"),
    (4, "MAC address"),
    (5, "Network address"),
    (6, "Interface name"),
    (7, "Local"),
];

const PORT_SUBTYPES: Tok = &[
    (1, "Interface alias"),
    (2, "Port component"),
    (3, "MAC address"),
    (4, "Network Address"),
    (5, "Interface Name"),
    (6, "Agent circuit ID"),
    (7, "Local"),
];

const CAPS: Tok = &[
    (1 << 0, "Other"),
    (1 << 1, "Repeater"),
    (1 << 2, "Bridge"),
    (1 << 3, "WLAN AP"),
    (1 << 4, "Router"),
    (1 << 5, "Telephone"),
    (1 << 6, "Docsis"),
    (1 << 7, "Station Only"),
];

const S8021: Tok = &[
    (1, "Port VLAN Id"),
    (2, "Port and Protocol VLAN ID"),
    (3, "VLAN name"),
    (4, "Protocol Identity"),
    (7, "Link aggregation"),
    (8, "Congestion Notification"),
    (9, "ETS Configuration"),
    (10, "ETS Recommendation"),
    (11, "Priority Flow Control Configuration"),
    (12, "Application Priority"),
    (13, "EVB"),
    (14, "CDCP"),
];

const PPVID_FLAGS: Tok = &[(1 << 1, "supported"), (1 << 2, "enabled")];

const S8023: Tok = &[
    (1, "MAC/PHY configuration/status"),
    (2, "Power via MDI"),
    (3, "Link aggregation"),
    (4, "Max frame size"),
];

const TIA_SUBTYPES: Tok = &[
    (1, "LLDP-MED Capabilities"),
    (2, "Network policy"),
    (3, "Location identification"),
    (4, "Extended power-via-MDI"),
    (5, "Inventory - hardware revision"),
    (6, "Inventory - firmware revision"),
    (7, "Inventory - software revision"),
    (8, "Inventory - serial number"),
    (9, "Inventory - manufacturer name"),
    (10, "Inventory - model name"),
    (11, "Inventory - asset ID"),
];

const ALTITUDE_TYPES: Tok = &[(1, "meters"), (2, "floors")];

const CA_TYPES: Tok = &[
    (
        1,
        "national subdivisions (state,canton,region,province,prefecture)",
    ),
    (2, "county, parish, gun, district"),
    (3, "city, township, shi"),
    (4, "city division, borough, city district, ward chou"),
    (5, "neighborhood, block"),
    (6, "street"),
];

const LCI_WHAT: Tok = &[
    (0, "location of DHCP server"),
    (
        1,
        "location of the network element believed to be closest to the client",
    ),
    (2, "location of the client"),
];

const MAU_TYPES: Tok = &[
    (0, "Unknown"),
    (1, "AUI"),
    (2, "10BASE_5"),
    (3, "FOIRL"),
    (4, "10BASE2"),
    (5, "10BASET duplex mode unknown"),
    (6, "10BASEFP"),
    (7, "10BASEFB"),
    (8, "10BASEFL duplex mode unknown"),
    (9, "10BROAD36"),
    (10, "10BASET hdx"),
    (11, "10BASET fdx"),
    (12, "10BASEFL hdx"),
    (13, "10BASEFL fdx"),
    (14, "100BASET4"),
    (15, "100BASETX hdx"),
    (16, "100BASETX fdx"),
    (17, "100BASEFX hdx"),
    (18, "100BASEFX fdx"),
    (19, "100BASET2 hdx"),
    (20, "100BASET2 fdx"),
    (21, "1000BASEX hdx"),
    (22, "1000BASEX fdx"),
    (23, "1000BASELX hdx"),
    (24, "1000BASELX fdx"),
    (25, "1000BASESX hdx"),
    (26, "1000BASESX fdx"),
    (27, "1000BASECX hdx"),
    (28, "1000BASECX fdx"),
    (29, "1000BASET hdx"),
    (30, "1000BASET fdx"),
    (31, "10GBASEX"),
    (32, "10GBASELX4"),
    (33, "10GBASER"),
    (34, "10GBASEER"),
    (35, "10GBASELR"),
    (36, "10GBASESR"),
    (37, "10GBASEW"),
    (38, "10GBASEEW"),
    (39, "10GBASELW"),
    (40, "10GBASESW"),
];

const AUTONEG: Tok = &[(1 << 0, "supported"), (1 << 1, "enabled")];

const TIA_CAPS: Tok = &[
    (1 << 0, "LLDP-MED capabilities"),
    (1 << 1, "network policy"),
    (1 << 2, "location identification"),
    (1 << 3, "extended power via MDI-PSE"),
    (1 << 4, "extended power via MDI-PD"),
    (1 << 5, "Inventory"),
];

const TIA_DEVICE_TYPES: Tok = &[
    (1, "endpoint class 1"),
    (2, "endpoint class 2"),
    (3, "endpoint class 3"),
    (4, "network connectivity"),
];

const TIA_APP_TYPES: Tok = &[
    (1, "voice"),
    (2, "voice signaling"),
    (3, "guest voice"),
    (4, "guest voice signaling"),
    (5, "softphone voice"),
    (6, "video conferencing"),
    (7, "streaming video"),
    (8, "video signaling"),
];

const TIA_POLICY_BITS: Tok = &[
    (1 << 7, "Unknown"),
    (1 << 6, "Tagged"),
    (1 << 5, "reserved"),
];

const TIA_LOCATION_FORMATS: Tok = &[
    (1, "coordinate-based LCI"),
    (2, "civic address LCI"),
    (3, "ECS ELIN"),
];

const TIA_DATUMS: Tok = &[
    (1, "World Geodesic System 1984"),
    (2, "North American Datum 1983 (NAVD88)"),
    (3, "North American Datum 1983 (MLLW)"),
];

const TIA_POWER_SOURCES: Tok = &[
    (1, "PSE - primary power source"),
    (2, "local - backup power source"),
    (3, "PSE+local - reserved"),
];

const TIA_POWER_PRIORITIES: Tok = &[(1, "critical"), (2, "high"), (3, "low")];

const TIA_INVENTORY: Tok = &[
    (5, "Hardware revision"),
    (6, "Firmware revision"),
    (7, "Software revision"),
    (8, "Serial number"),
    (9, "Manufacturer name"),
    (10, "Model name"),
    (11, "Asset ID"),
];

const PMD_CAPS: Tok = &[
    (1 << 14, "10BASE-T hdx"),
    (1 << 13, "10BASE-T fdx"),
    (1 << 12, "100BASE-T4"),
    (1 << 11, "100BASE-TX hdx"),
    (1 << 10, "100BASE-TX fdx"),
    (1 << 9, "100BASE-T2 hdx"),
    (1 << 8, "100BASE-T2 fdx"),
    (1 << 7, "Pause for fdx links"),
    (1 << 6, "Asym PAUSE for fdx"),
    (1 << 5, "Sym PAUSE for fdx"),
    (1 << 4, "Asym and Sym PAUSE for fdx"),
    (1 << 3, "1000BASE-{X LX SX CX} hdx"),
    (1 << 2, "1000BASE-{X LX SX CX} fdx"),
    (1 << 1, "1000BASE-T hdx"),
    (1 << 0, "1000BASE-T fdx"),
];

const MDI_BITS: Tok = &[
    (1 << 0, "PSE"),
    (1 << 1, "supported"),
    (1 << 2, "enabled"),
    (1 << 3, "can be controlled"),
];

const MDI_PAIRS: Tok = &[(1, "signal"), (2, "spare")];

const MDI_CLASSES: Tok = &[
    (1, "class0"),
    (2, "class1"),
    (3, "class2"),
    (4, "class3"),
    (5, "class4"),
];

const AGGREGATION: Tok = &[(1 << 0, "supported"), (1 << 1, "enabled")];

const DCBX_SUBTYPES: Tok = &[
    (1, "DCB Capability Exchange Protocol Rev 1"),
    (2, "DCB Capability Exchange Protocol Rev 1.01"),
];

const INTF_NUMBERING: Tok = &[(2, "Interface Index"), (3, "System Port Number")];

const EVB_MODES: Tok = &[
    (0, "Not Supported"),
    (1, "EVB Bridge"),
    (2, "EVB Station"),
    (3, "Reserved for future Standardization"),
];

const IANA_SUBTYPES: Tok = &[(1, "MUD-URL")];

/// tcpdump's af_values.
const AF_NAMES: Tok = &[
    (0, "Reserved"),
    (1, "IPv4"),
    (2, "IPv6"),
    (3, "NSAP"),
    (4, "HDLC"),
    (5, "BBN 1822"),
    (6, "802"),
    (7, "E.163"),
    (8, "E.164"),
    (9, "F.69"),
    (10, "X.121"),
    (11, "Novell IPX"),
    (12, "Appletalk"),
    (13, "Decnet IV"),
    (14, "Banyan Vines"),
    (15, "E.164 with NSAP subaddress"),
    (25, "Layer-2 VPN"),
];

/// The OUI names tcpdump's oui_values gives (the same table as link addresses use).
fn oui_name(oui: u32) -> &'static str {
    let b = oui.to_be_bytes();
    super::names::oui(&b[1..4])
}

/// `%-Nd ` columns: the number left-aligned in `w` characters, then a space.
fn col(t: &mut Text, n: u32, w: usize) {
    let start = t.len();
    t.u(n);
    for _ in t.len() - start..w {
        t.ch(b' ');
    }
}

/// lldp_network_addr_print: false where tcpdump's returns NULL (too short).
fn network_addr(t: &mut Text, b: &[u8]) -> bool {
    let Some(&af) = b.first() else {
        return false;
    };
    let a = &b[1..];
    let need = match af {
        1 => 4,
        2 => 16,
        6 => 6,
        _ => 0,
    };
    if a.len() < need {
        return false;
    }
    t.s("AFI ");
    tok_or(t, AF_NAMES, u32::from(af), "Unknown");
    t.s(" (").u(af).ch(b')');
    match af {
        1 => {
            t.s(": ").ipv4(&a[..4]);
        }
        2 => {
            t.s(": ").ipv6(&a[..16]);
        }
        6 => {
            t.s(": ").mac(&a[..6]);
        }
        _ => {
            t.s(", no AF printer !");
        }
    }
    true
}

/// lldp_mgmt_addr_tlv_print: false for tcpdump's truncation marker.
fn mgmt_addr(t: &mut Text, b: &[u8]) -> bool {
    let Some(&alen) = b.first() else {
        return false;
    };
    let alen = usize::from(alen);
    let rest = &b[1..];
    if rest.len() < alen {
        return false;
    }
    // The address is formatted before anything is printed.
    let mark = t.len();
    t.s("\n\t  Management Address length ")
        .u(alen as u64)
        .s(", ");
    if !network_addr(t, &rest[..alen]) {
        t.truncate(mark);
        return false;
    }
    let rest = &rest[alen..];
    if rest.len() < 5 {
        return false;
    }
    t.s("\n\t  ");
    tok_or(t, INTF_NUMBERING, u8a(rest, 0), "Unknown");
    t.s(" Interface Numbering (")
        .u(u8a(rest, 0))
        .s("): ")
        .u(u32a(rest, 1));
    let rest = &rest[5..];
    if let Some(&olen) = rest.first() {
        let olen = usize::from(olen);
        if rest.len() < 1 + olen {
            return false;
        }
        if olen > 0 {
            t.s("\n\t  OID length ").u(olen as u64);
            jnp(t, &rest[1..1 + olen]);
        }
    }
    true
}

fn ets_tables(t: &mut Text, b: &[u8]) {
    t.s("\n\t    Priority Assignment Table");
    t.s("\n\t     Priority : 0   1   2   3   4   5   6   7");
    t.s("\n\t     Value    : ");
    for i in 0..4 {
        let v = u8a(b, 5 + i);
        col(t, v >> 4, 3);
        t.ch(b' ');
        col(t, v & 0x0f, 3);
        if i < 3 {
            t.ch(b' ');
        }
    }
    t.s("\n\t    TC Bandwidth Table");
    t.s("\n\t     TC%   : 0   1   2   3   4   5   6   7");
    t.s("\n\t     Value : ");
    for i in 0..8 {
        col(t, u8a(b, 9 + i), 3);
        if i < 7 {
            t.ch(b' ');
        }
    }
    t.s("\n\t    TSA Assignment Table");
    t.s("\n\t     Traffic Class: 0   1   2   3   4   5   6   7");
    t.s("\n\t     Value        : ");
    for i in 0..8 {
        col(t, u8a(b, 17 + i), 3);
        if i < 7 {
            t.ch(b' ');
        }
    }
}

fn bit_row(t: &mut Text, v: u32) {
    t.s("\n\t     Priority : 0  1  2  3  4  5  6  7");
    t.s("\n\t     Value    : ");
    for i in 0..8 {
        col(t, (v >> i) & 1, 2);
        t.ch(b' ');
    }
}

/// lldp_private_8021_print: whether to add the hex.
fn private_8021(t: &mut Text, b: &[u8]) -> bool {
    let n = b.len();
    if n < 4 {
        return false;
    }
    let sub = u8a(b, 3);
    t.s("\n\t  ");
    tok_or(t, S8021, sub, "unknown");
    t.s(" Subtype (").u(sub).ch(b')');
    match sub {
        1 => {
            if n < 6 {
                return false;
            }
            t.s("\n\t    port vlan id (PVID): ").u(u16a(b, 4));
        }
        2 => {
            if n < 7 {
                return false;
            }
            t.s("\n\t    port and protocol vlan id (PPVID): ")
                .u(u16a(b, 5))
                .s(", flags [");
            t.bits(u8a(b, 4), PPVID_FLAGS, ", ", "none");
            t.s("] (");
            x(t, u8a(b, 4), 2);
            t.ch(b')');
        }
        3 => {
            if n < 6 {
                return false;
            }
            t.s("\n\t    vlan id (VID): ").u(u16a(b, 4));
            if n < 7 {
                return false;
            }
            let sl = u8a(b, 6) as usize;
            if n < 7 + sl {
                return false;
            }
            t.s("\n\t    vlan name: ");
            jnp(t, &b[7..7 + sl]);
        }
        4 => {
            if n < 5 {
                return false;
            }
            let sl = u8a(b, 4) as usize;
            if n < 5 + sl {
                return false;
            }
            t.s("\n\t    protocol identity: ");
            jnp(t, &b[5..5 + sl]);
        }
        7 => {
            if n < 9 {
                return false;
            }
            aggregation(t, b);
        }
        8 => {
            if n < 6 {
                return false;
            }
            t.s("\n\t    Pre-Priority CNPV Indicator");
            bit_row(t, u8a(b, 4));
            t.s("\n\t    Pre-Priority Ready Indicator");
            bit_row(t, u8a(b, 5));
        }
        9 | 10 => {
            if n < 25 {
                return false;
            }
            let v = u8a(b, 4);
            if sub == 9 {
                t.s("\n\t    Willing:")
                    .u(v >> 7)
                    .s(", CBS:")
                    .u((v >> 6) & 0x02)
                    .s(", RES:")
                    .u((v >> 3) & 0x07)
                    .s(", Max TCs:")
                    .u(v & 0x07);
            } else {
                t.s("\n\t    RES: ").u(v);
            }
            ets_tables(t, b);
        }
        11 => {
            if n < 6 {
                return false;
            }
            let v = u8a(b, 4);
            t.s("\n\t    Willing: ")
                .u(v >> 7)
                .s(", MBC: ")
                .u((v >> 6) & 0x01)
                .s(", RES: ")
                .u((v >> 4) & 0x03)
                .s(", PFC cap:")
                .u(v & 0x0f)
                .s(" ");
            t.s("\n\t    PFC Enable");
            bit_row(t, u8a(b, 5));
        }
        12 => {
            if n < 5 {
                return false;
            }
            t.s("\n\t    RES: ").u(u8a(b, 4));
            if n <= 5 {
                return false;
            }
            let sl = n - 5;
            if sl % 3 != 0 {
                return false;
            }
            t.s("\n\t    Application Priority Table");
            let mut i = 0;
            while i < sl {
                let v = u8a(b, i + 5);
                t.s("\n\t      Priority: ")
                    .u(v >> 5)
                    .s(", RES: ")
                    .u((v >> 3) & 0x03)
                    .s(", Sel: ")
                    .u(v & 0x07)
                    .s(", Protocol ID: ")
                    .u(u16a(b, i + 6));
                i += 3;
            }
        }
        13 => {
            if n < 9 {
                return false;
            }
            t.s("\n\t    EVB Bridge Status");
            let v = u8a(b, 4);
            t.s("\n\t      RES: ")
                .u(v >> 3)
                .s(", BGID: ")
                .u((v >> 2) & 1)
                .s(", RRCAP: ")
                .u((v >> 1) & 1)
                .s(", RRCTR: ")
                .u(v & 1);
            t.s("\n\t    EVB Station Status");
            let v = u8a(b, 5);
            t.s("\n\t      RES: ")
                .u(v >> 4)
                .s(", SGID: ")
                .u((v >> 3) & 1)
                .s(", RRREQ: ")
                .u((v >> 2) & 1)
                .s(",RRSTAT: ")
                .u(v & 0x03);
            let v = u8a(b, 6);
            t.s("\n\t    R: ")
                .u(v >> 5)
                .s(", RTE: ")
                .u(v & 0x1f)
                .s(", ");
            let v = u8a(b, 7);
            t.s("EVB Mode: ");
            tok_or(t, EVB_MODES, v >> 6, "unknown");
            t.s(" [").u(v >> 6).ch(b']');
            t.s("\n\t    ROL: ")
                .u((v >> 5) & 1)
                .s(", RWD: ")
                .u(v & 0x1f)
                .s(", ");
            let v = u8a(b, 8);
            t.s("RES: ")
                .u(v >> 6)
                .s(", ROL: ")
                .u((v >> 5) & 1)
                .s(", RKA: ")
                .u(v & 0x1f);
        }
        14 => {
            if n < 8 {
                return false;
            }
            let v = u8a(b, 4);
            t.s("\n\t    Role: ")
                .u(v >> 7)
                .s(", RES: ")
                .u((v >> 4) & 0x07)
                .s(", Scomp: ")
                .u((v >> 3) & 1)
                .s(" ");
            t.s("ChnCap: ").u(u16a(b, 6) & 0x0fff);
            let sl = n - 8;
            if sl % 3 != 0 {
                return false;
            }
            let mut i = 0;
            while i < sl {
                let v = u24a(b, i + 8);
                t.s("\n\t    SCID: ").u(v >> 12).s(", SVID: ").u(v & 0xfff);
                i += 3;
            }
        }
        _ => return true,
    }
    false
}

fn aggregation(t: &mut Text, b: &[u8]) {
    t.s("\n\t    aggregation status [");
    t.bits(u8a(b, 4), AGGREGATION, ", ", "none");
    t.s("], aggregation port ID ").u(u32a(b, 5));
}

/// lldp_private_8023_print.
fn private_8023(t: &mut Text, b: &[u8]) -> bool {
    let n = b.len();
    if n < 4 {
        return false;
    }
    let sub = u8a(b, 3);
    t.s("\n\t  ");
    tok_or(t, S8023, sub, "unknown");
    t.s(" Subtype (").u(sub).ch(b')');
    match sub {
        1 => {
            if n < 9 {
                return false;
            }
            t.s("\n\t    autonegotiation [");
            t.bits(u8a(b, 4), AUTONEG, ", ", "none");
            t.s("] (");
            x(t, u8a(b, 4), 2);
            t.s(")\n\t    PMD autoneg capability [");
            t.bits(u16a(b, 5), PMD_CAPS, ", ", "unknown");
            t.s("] (");
            x(t, u16a(b, 5), 4);
            t.s(")\n\t    MAU type ");
            tok_or(t, MAU_TYPES, u16a(b, 7), "unknown");
            t.s(" (");
            x(t, u16a(b, 7), 4);
            t.ch(b')');
        }
        2 => {
            if n < 7 {
                return false;
            }
            t.s("\n\t    MDI power support [");
            t.bits(u8a(b, 4), MDI_BITS, ", ", "none");
            t.s("], power pair ");
            tok_or(t, MDI_PAIRS, u8a(b, 5), "unknown");
            t.s(", power class ");
            tok_or(t, MDI_CLASSES, u8a(b, 6), "unknown");
        }
        3 => {
            if n < 9 {
                return false;
            }
            aggregation(t, b);
        }
        4 => {
            if n < 6 {
                return false;
            }
            t.s("\n\t    MTU size ").u(u16a(b, 4));
        }
        _ => return true,
    }
    false
}

/// lldp_private_iana_print.
fn private_iana(t: &mut Text, b: &[u8]) -> bool {
    if b.len() < 8 {
        return false;
    }
    let sub = u8a(b, 3);
    t.s("\n\t  ");
    tok_or(t, IANA_SUBTYPES, sub, "unknown");
    t.s(" Subtype (").u(sub).ch(b')');
    if sub == 1 {
        t.s("\n\t  MUD-URL=");
        printn(t, &b[4..]);
        false
    } else {
        true
    }
}

fn latlon(b: &[u8], at: usize) -> u64 {
    (u64::from(u8a(b, at) & 0x3) << 32) | u64::from(u32a(b, at + 1))
}

/// lldp_private_tia_print.
fn private_tia(t: &mut Text, b: &[u8]) -> bool {
    let n = b.len();
    if n < 4 {
        return false;
    }
    let sub = u8a(b, 3);
    t.s("\n\t  ");
    tok_or(t, TIA_SUBTYPES, sub, "unknown");
    t.s(" Subtype (").u(sub).ch(b')');
    match sub {
        1 => {
            if n < 7 {
                return false;
            }
            t.s("\n\t    Media capabilities [");
            t.bits(u16a(b, 4), TIA_CAPS, ", ", "none");
            t.s("] (");
            x(t, u16a(b, 4), 4);
            t.s(")\n\t    Device type [");
            tok_or(t, TIA_DEVICE_TYPES, u8a(b, 6), "unknown");
            t.s("] (");
            x(t, u8a(b, 6), 2);
            t.ch(b')');
        }
        2 => {
            if n < 8 {
                return false;
            }
            t.s("\n\t    Application type [");
            tok_or(t, TIA_APP_TYPES, u8a(b, 4), "none");
            t.s("] (");
            x(t, u8a(b, 4), 2);
            t.s("), Flags [");
            t.bits(u8a(b, 5), TIA_POLICY_BITS, ", ", "none");
            t.s("]\n\t    Vlan id ")
                .u((u16a(b, 5) & 0x1ffe) >> 1)
                .s(", L2 priority ")
                .u((u16a(b, 6) & 0x01ff) >> 6)
                .s(", DSCP value ")
                .u(u16a(b, 6) & 0x003f);
        }
        3 => {
            if n < 5 {
                return false;
            }
            let fmt = u8a(b, 4);
            t.s("\n\t    Location data format ");
            tok_or(t, TIA_LOCATION_FORMATS, fmt, "unknown");
            t.s(" (");
            x(t, fmt, 2);
            t.ch(b')');
            match fmt {
                1 => {
                    if n < 21 {
                        return false;
                    }
                    t.s("\n\t    Latitude resolution ")
                        .u(u8a(b, 5) >> 2)
                        .s(", latitude value ")
                        .u(latlon(b, 5));
                    t.s("\n\t    Longitude resolution ")
                        .u(u8a(b, 10) >> 2)
                        .s(", longitude value ")
                        .u(latlon(b, 10));
                    t.s("\n\t    Altitude type ");
                    tok_or(t, ALTITUDE_TYPES, u8a(b, 15) >> 4, "unknown");
                    t.s(" (").u(u8a(b, 15) >> 4).ch(b')');
                    t.s("\n\t    Altitude resolution ")
                        .u((u16a(b, 15) >> 6) & 0x3f)
                        .s(", altitude value ");
                    x(t, u32a(b, 16) & 0x3fff_ffff, 1);
                    t.s("\n\t    Datum ");
                    tok_or(t, TIA_DATUMS, u8a(b, 20), "unknown");
                    t.s(" (");
                    x(t, u8a(b, 20), 2);
                    t.ch(b')');
                }
                2 => {
                    if n < 6 {
                        return false;
                    }
                    let mut lci = u8a(b, 5) as usize;
                    if lci < 3 {
                        return false;
                    }
                    if n < 7 + lci {
                        return false;
                    }
                    t.s("\n\t    LCI length ").u(lci as u64).s(", LCI what ");
                    tok_or(t, LCI_WHAT, u8a(b, 6), "unknown");
                    t.s(" (");
                    x(t, u8a(b, 6), 2);
                    t.s("), Country-code ");
                    jnp(t, b.get(7..9).unwrap_or(&[]));
                    lci -= 3;
                    let mut at = 9;
                    while lci > 0 {
                        if lci < 2 {
                            return false;
                        }
                        let (ct, cl) = (u8a(b, at), u8a(b, at + 1) as usize);
                        at += 2;
                        lci -= 2;
                        t.s("\n\t      CA type '");
                        tok_or(t, CA_TYPES, ct, "unknown");
                        t.s("' (").u(ct).s("), length ").u(cl as u64).s(": ");
                        if ct == 0 || cl == 0 || lci < cl {
                            return false;
                        }
                        jnp(t, b.get(at..at + cl).unwrap_or(&[]));
                        at += cl;
                        lci -= cl;
                    }
                }
                3 => {
                    t.s("\n\t    ECS ELIN id ");
                    jnp(t, &b[5..]);
                }
                _ => {
                    t.s("\n\t    Location ID ");
                    hex(t, "\n\t      ", &b[5..]);
                }
            }
        }
        4 => {
            if n < 7 {
                return false;
            }
            let v = u8a(b, 4);
            // tcpdump's (v & 0xC0 >> 6): the shift binds first.
            t.s("\n\t    Power type [")
                .s(if v & 0x03 != 0 {
                    "PD device"
                } else {
                    "PSE device"
                })
                .s("], Power source [");
            tok_or(t, TIA_POWER_SOURCES, (v & 0x30) >> 4, "none");
            t.s("]\n\t    Power priority [");
            tok_or(t, TIA_POWER_PRIORITIES, v & 0x0f, "none");
            t.s("] (");
            x(t, v & 0x0f, 2);
            t.ch(b')');
            let pw = u16a(b, 5);
            if pw < 1024 {
                t.s(", Power ").u(pw / 10).ch(b'.').u(pw % 10).s(" Watts");
            } else {
                t.s(", Power ").u(pw).s(" (Reserved)");
            }
        }
        5..=11 => {
            t.s("\n\t  ");
            tok_or(t, TIA_INVENTORY, sub, "unknown");
            t.ch(b' ');
            jnp(t, &b[4..]);
        }
        _ => return true,
    }
    false
}

fn info_block(t: &mut Text, b: &[u8]) {
    t.s("\n\t      Oper_Version: ").u(u8a(b, 0));
    t.s("\n\t      Max_Version: ").u(u8a(b, 1));
    let v = u8a(b, 2);
    t.s("\n\t      Info block(0x");
    upper_hex2(t, v);
    t.s("): Enable bit: ")
        .u(v >> 7 & 1)
        .s(", Willing bit: ")
        .u(v >> 6 & 1)
        .s(", Error Bit: ")
        .u(v >> 5 & 1);
    t.s("\n\t      SubType: ").u(u8a(b, 3));
}

fn upper_hex2(t: &mut Text, v: u32) {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    t.ch(H[((v >> 4) & 0xf) as usize]).ch(H[(v & 0xf) as usize]);
}

/// lldp_private_dcbx_print: the DCBX TLVs inside the TLV.
fn private_dcbx(t: &mut Text, verbose: u8, b: &[u8]) -> bool {
    let n = b.len();
    if n < 4 {
        return false;
    }
    let sub = u8a(b, 3);
    t.s("\n\t  ");
    tok_or(t, DCBX_SUBTYPES, sub, "unknown");
    t.s(" Subtype (").u(sub).ch(b')');
    if sub == 1 {
        return true;
    }
    let mut hexdump = false;
    let mut at = 4;
    let mut left = n - 4;
    while left >= 2 {
        let tlv = u16a(b, at);
        let (ty, tl) = (tlv >> 9, (tlv & 0x1ff) as usize);
        hexdump = false;
        left -= 2;
        at += 2;
        if ty == 0 || tl == 0 {
            break;
        }
        if left < tl {
            break;
        }
        let v = &b[at..at + tl];
        match ty {
            1 => {
                if tl < 10 {
                    break;
                }
                t.s("\n\t    Control - Protocol Control (type 0x1, length ")
                    .u(tl as u64)
                    .ch(b')');
                t.s("\n\t      Oper_Version: ").u(u8a(v, 0));
                t.s("\n\t      Max_Version: ").u(u8a(v, 1));
                t.s("\n\t      Sequence Number: ").u(u32a(v, 2));
                t.s("\n\t      Acknowledgement Number: ").u(u32a(v, 6));
            }
            2 => {
                if tl < 17 {
                    break;
                }
                t.s("\n\t    Feature - Priority Group (type 0x2, length ")
                    .u(tl as u64)
                    .ch(b')');
                info_block(t, v);
                t.s("\n\t      Priority Allocation");
                let pg = u32a(v, 4);
                for i in 0..8u32 {
                    t.s("\n\t          PgId_")
                        .u(i)
                        .s(": ")
                        .u((pg >> (28 - 4 * i)) & 0xf);
                }
                t.s("\n\t      Priority Group Allocation");
                for i in 0..8 {
                    t.s("\n\t          Pg percentage[")
                        .u(i as u32)
                        .s("]: ")
                        .u(u8a(v, 8 + i));
                }
                t.s("\n\t      NumTCsSupported: ").u(u8a(v, 16));
            }
            3 => {
                if tl < 6 {
                    break;
                }
                t.s("\n\t    Feature - Priority Flow Control (type 0x3, length ")
                    .u(tl as u64)
                    .ch(b')');
                info_block(t, v);
                let c = u8a(v, 4);
                t.s("\n\t      PFC Config (0x");
                upper_hex2(t, c);
                t.ch(b')');
                for i in 0..8 {
                    t.s("\n\t          Priority Bit ").u(i as u32).s(": ").s(
                        if c & (1 << i) != 0 {
                            "Enabled"
                        } else {
                            "Disabled"
                        },
                    );
                }
                t.s("\n\t      NumTCPFCSupported: ").u(u8a(v, 5));
            }
            4 => {
                if tl < 4 {
                    break;
                }
                t.s("\n\t    Feature - Application (type 0x4, length ")
                    .u(tl as u64)
                    .ch(b')');
                info_block(t, v);
                let mut k = 4;
                while tl - k >= 6 {
                    let u = u24a(v, k + 2);
                    t.s("\n\t      Application Value");
                    t.s("\n\t          Application Protocol ID: ");
                    x(t, u16a(v, k), 4);
                    t.s("\n\t          SF (");
                    x(t, u >> 22, 1);
                    t.s(") Application Protocol ID is ").s(if u >> 22 != 0 {
                        "Socket Number"
                    } else {
                        "L2 EtherType"
                    });
                    t.s("\n\t          OUI: ");
                    x(t, u & 0x3f_ffff, 6);
                    t.s("\n\t          User Priority Map: ");
                    x(t, u8a(v, k + 5), 2);
                    k += 6;
                }
            }
            _ => hexdump = true,
        }
        if verbose > 1 || hexdump {
            hex(t, "\n\t    ", v);
        }
        left -= tl;
        at += tl;
    }
    hexdump
}

/// One TLV's value with -v; false for tcpdump's truncation marker, else whether to add hex.
fn tlv_value(t: &mut Text, verbose: u8, ty: u32, b: &[u8]) -> Result<bool, ()> {
    let n = b.len();
    match ty {
        1 | 2 => {
            if n < 2 {
                return Err(());
            }
            let sub = u8a(b, 0);
            let (table, mac, net) = if ty == 1 {
                (CHASSIS_SUBTYPES, 4, 5)
            } else {
                (PORT_SUBTYPES, 3, 4)
            };
            t.s("\n\t  Subtype ");
            tok_or(t, table, sub, "Unknown");
            t.s(" (").u(sub).s("): ");
            if sub == mac {
                if n < 7 {
                    return Err(());
                }
                t.mac(&b[1..7]);
            } else if sub == net {
                if !network_addr(t, &b[1..]) {
                    return Err(());
                }
            } else if (1..=7).contains(&sub) {
                jnp(t, &b[1..]);
            } else {
                return Ok(true);
            }
        }
        3 => {
            if n < 2 {
                return Err(());
            }
            t.s(": TTL ").u(u16a(b, 0)).ch(b's');
        }
        4 | 5 => {
            t.s(": ");
            jnp(t, b);
        }
        6 => {
            t.s("\n\t  ");
            jnp(t, b);
        }
        7 => {
            if n < 4 {
                return Err(());
            }
            let (cap, ena) = (u16a(b, 0), u16a(b, 2));
            t.s("\n\t  System  Capabilities [");
            t.bits(cap, CAPS, ", ", "none");
            t.s("] (");
            x(t, cap, 4);
            t.s(")\n\t  Enabled Capabilities [");
            t.bits(ena, CAPS, ", ", "none");
            t.s("] (");
            x(t, ena, 4);
            t.ch(b')');
        }
        8 => {
            if !mgmt_addr(t, b) {
                return Err(());
            }
        }
        127 => {
            if n < 3 {
                return Err(());
            }
            let oui = u24a(b, 0);
            t.s(": OUI ").s(oui_name(oui)).s(" (");
            x(t, oui, 6);
            t.ch(b')');
            return Ok(match oui {
                0x0080c2 => private_8021(t, b),
                0x00120f => private_8023(t, b),
                0x00005e => private_iana(t, b),
                0x0012bb => private_tia(t, b),
                0x001b21 => private_dcbx(t, verbose, b),
                _ => true,
            });
        }
        _ => return Ok(true),
    }
    Ok(false)
}

/// LLDP: the summary line, then (with -v) the TLVs.
pub fn lldp(cx: &mut Ctx, p: &[u8], len: u32) {
    let verbose = cx.o.verbose;
    cx.t.s("LLDP, length ").u(len);
    let mut at = 0usize;
    let mut left = len as usize;
    while left >= 2 {
        let (Some(&h), Some(&l)) = (p.get(at), p.get(at + 1)) else {
            cx.trunc("lldp");
            return;
        };
        let tlv = u32::from(u16::from_be_bytes([h, l]));
        let (ty, tlen) = (tlv >> 9, (tlv & 0x1ff) as usize);
        at += 2;
        left -= 2;
        if verbose > 0 {
            cx.t.s("\n\t");
            tok_or(cx.t, TLV_NAMES, ty, "Unknown");
            cx.t.s(" TLV (").u(ty).s("), length ").u(tlen as u64);
        }
        if ty == 0 || tlen == 0 {
            break;
        }
        let Some(b) = p.get(at..at + tlen) else {
            cx.trunc("lldp");
            return;
        };
        if left < tlen {
            cx.trunc("lldp");
            return;
        }
        let hexdump = if verbose > 0 {
            match tlv_value(cx.t, verbose, ty, b) {
                Ok(h) => h,
                Err(()) => {
                    cx.trunc("lldp");
                    return;
                }
            }
        } else {
            // The system name is printed without -v too.
            if ty == 5 {
                cx.t.s(": ");
                jnp(cx.t, b);
            }
            false
        };
        if verbose > 1 || (verbose > 0 && hexdump) {
            hex(cx.t, "\n\t  ", b);
        }
        at += tlen;
        left -= tlen;
    }
}
