//! DNS (tcpdump's print-domain.c): the header's id, opcode, flags and rcode; the questions;
//! the answers (and with -vv the other sections), in tcpdump's words.
//!
//! Positions are offsets into the captured message; a read past the capture ends the line
//! with ` [|domain]` as tcpdump's GET_ macros do, and the checks tcpdump makes by hand
//! (giving up quietly on a name, say) are made here the same way.

use super::text::Text;
use super::Ctx;

/// The capture ended where tcpdump reads unchecked: ` [|domain]`.
struct Trunc;
type R<T> = Result<T, Trunc>;

/// tcpdump's MAXCDNAME: a name is printed up to this many characters.
const MAXCDNAME: u32 = 255;

const T_A: u16 = 1;
const T_NS: u16 = 2;
const T_CNAME: u16 = 5;
const T_SOA: u16 = 6;
const T_PTR: u16 = 12;
const T_MX: u16 = 15;
const T_TXT: u16 = 16;
const T_AAAA: u16 = 28;
const T_SRV: u16 = 33;
const T_A6: u16 = 38;
const T_DNAME: u16 = 39;
const T_OPT: u16 = 41;
const T_UNSPECA: u16 = 104;
const T_TSIG: u16 = 250;
const T_URI: u16 = 256;

const C_IN: u16 = 1;

const OPS: [&str; 16] = [
    "",
    " inv_q",
    " stat",
    " op3",
    " notify",
    " update",
    " op6",
    " op7",
    " op8",
    " updateA",
    " updateD",
    " updateDA",
    " updateM",
    " updateMA",
    " zoneInit",
    " zoneRef",
];

/// tcpdump's ns_resp, two of whose entries lack their space.
const RCODES: [&str; 24] = [
    "",
    " FormErr",
    " ServFail",
    " NXDomain",
    " NotImp",
    " Refused",
    " YXDomain",
    " YXRRSet",
    " NXRRSet",
    " NotAuth",
    " NotZone",
    " Resp11",
    " Resp12",
    " Resp13",
    " Resp14",
    " NoChange",
    " BadVers",
    "Resp17",
    " Resp18",
    " Resp19",
    " Resp20",
    "Resp21",
    " Resp22",
    " BadCookie",
];

fn type_name(t: u16) -> Option<&'static str> {
    Some(match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAP_PTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        31 => "EID",
        32 => "NIMLOC",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        40 => "SINK",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        99 => "SPF",
        100 => "UINFO",
        101 => "UID",
        102 => "GID",
        103 => "UNSPEC",
        104 => "UNSPECA",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        _ => return None,
    })
}

fn class_name(c: u16) -> Option<&'static str> {
    Some(match c {
        1 => "IN",
        3 => "CHAOS",
        4 => "HS",
        255 => "ANY",
        _ => return None,
    })
}

fn edns_opt_name(o: u16) -> Option<&'static str> {
    Some(match o {
        1 => "LLQ",
        2 => "UL",
        3 => "NSID",
        5 => "DAU",
        6 => "DHU",
        7 => "N3U",
        8 => "ECS",
        9 => "EXPIRE",
        10 => "COOKIE",
        11 => "KEEPALIVE",
        12 => "PADDING",
        13 => "CHAIN",
        14 => "KEY-TAG",
        16 => "CLIENT-TAG",
        17 => "SERVER-TAG",
        _ => return None,
    })
}

fn dau_alg_name(a: u8) -> Option<&'static str> {
    Some(match a {
        0 => "DELETE",
        1 => "RSAMD5",
        2 => "DH",
        3 => "DS",
        5 => "RSASHA1",
        6 => "DSA-NSEC3-SHA1",
        7 => "RSASHA1-NSEC3-SHA1",
        8 => "RSASHA256",
        10 => "RSASHA512",
        12 => "ECC-GOST",
        13 => "ECDSAP256SHA256",
        14 => "ECDSAP384SHA384",
        15 => "ED25519",
        16 => "ED448",
        252 => "INDIRECT",
        253 => "PRIVATEDNS",
        254 => "PRIVATEOID",
        _ => return None,
    })
}

fn dhu_alg_name(a: u8) -> Option<&'static str> {
    Some(match a {
        1 => "SHA-1",
        2 => "SHA-256",
        3 => "GOST_R_34.11-94",
        4 => "SHA-384",
        _ => return None,
    })
}

fn n3u_alg_name(a: u8) -> Option<&'static str> {
    (a == 1).then_some("SHA-1")
}

/// One DNS message being printed.
struct Dns<'a> {
    t: &'a mut Text,
    /// The captured message (from its header on).
    p: &'a [u8],
    v: u8,
    mdns: bool,
}

impl Dns<'_> {
    fn end(&self) -> usize {
        self.p.len()
    }

    /// At least `n` bytes captured at `at` (tcpdump's ND_TTEST_LEN).
    fn has(&self, at: usize, n: usize) -> bool {
        at.checked_add(n).is_some_and(|e| e <= self.p.len())
    }

    fn u8(&self, at: usize) -> R<u8> {
        self.p.get(at).copied().ok_or(Trunc)
    }

    fn u16(&self, at: usize) -> R<u16> {
        super::be16(self.p, at).ok_or(Trunc)
    }

    fn u32(&self, at: usize) -> R<u32> {
        super::be32(self.p, at).ok_or(Trunc)
    }

    /// tcpdump's fn_print_char: `M-` for the high bit, `^X` for control characters.
    fn pchar(&mut self, mut c: u8) {
        if c >= 0x80 {
            c &= 0x7f;
            self.t.s("M-");
        }
        if !(0x20..0x7f).contains(&c) {
            c ^= 0x40;
            self.t.ch(b'^');
        }
        self.t.ch(c);
    }

    /// tcpdump's nd_printn up to the end of the capture: true if it ran out first.
    fn printn(&mut self, mut at: usize, mut n: u32) -> bool {
        while n > 0 {
            let Some(&c) = self.p.get(at) else {
                break;
            };
            n -= 1;
            at += 1;
            self.pchar(c);
        }
        n != 0
    }

    /// ns_nskip: the position after the name at `cp`.
    fn nskip(&self, mut cp: usize) -> Option<usize> {
        let mut i = *self.p.get(cp)?;
        cp += 1;
        while i != 0 {
            match i & 0xc0 {
                0xc0 => return Some(cp + 1),
                0x40 => {
                    if i & 0x3f != 1 {
                        return None;
                    }
                    let mut bitlen = usize::from(*self.p.get(cp)?);
                    if bitlen == 0 {
                        bitlen = 256;
                    }
                    cp += 1 + bitlen.div_ceil(8);
                }
                0x80 => return None,
                _ => cp += usize::from(i),
            }
            i = *self.p.get(cp)?;
            cp += 1;
        }
        Some(cp)
    }

    /// blabel_print: an EDNS0 bit label as `\[x<hex>/<bits>]`.
    fn blabel(&mut self, cp: usize) -> R<Option<usize>> {
        let Some(&b0) = self.p.get(cp) else {
            return Ok(None);
        };
        let bitlen: u32 = if b0 == 0 { 256 } else { u32::from(b0) };
        let lim = cp + 1 + bitlen.div_ceil(4) as usize;
        self.t.s("\\[x");
        let mut bitp = cp + 1;
        let mut b = bitlen;
        while bitp < lim && b > 7 {
            let c = self.u8(bitp)?;
            self.t.byte(c);
            b -= 8;
            bitp += 1;
        }
        if b > 4 {
            let tc = self.u8(bitp)?;
            self.t.byte(tc & (0xffu32 << (8 - b)) as u8);
        } else if b > 0 {
            let tc = self.u8(bitp)?;
            let d = ((tc >> 4) & 0x0f) & (0x0fu8 << (4 - b));
            self.t.hex(u64::from(d), 1);
        }
        self.t.ch(b'/').u(bitlen).ch(b']');
        Ok(Some(lim))
    }

    /// labellen: the length of the label at `cp` (None where tcpdump says -1).
    fn labellen(&mut self, cp: usize) -> Option<u32> {
        let i = *self.p.get(cp)?;
        match i & 0xc0 {
            0x40 => {
                let elt = i & 0x3f;
                if elt != 1 {
                    self.t.s("<ELT ").u(elt).ch(b'>');
                    return None;
                }
                let mut bitlen = u32::from(*self.p.get(cp + 1)?);
                if bitlen == 0 {
                    bitlen = 256;
                }
                Some(bitlen.div_ceil(8) + 1)
            }
            0x80 => {
                self.t.s("<BAD LABEL TYPE>");
                None
            }
            _ => Some(u32::from(i)),
        }
    }

    /// fqdn_print: the name at `cp`, compression pointers taken from `bp` (only backwards);
    /// the position after the name as it stands at `cp`.
    fn fqdn(&mut self, mut cp: usize, bp: usize) -> R<Option<usize>> {
        let Some(mut l) = self.labellen(cp) else {
            return Ok(None);
        };
        let Some(&first) = self.p.get(cp) else {
            return Ok(None);
        };
        let mut max_offset = (cp as u32).wrapping_sub(bp as u32);
        let mut i = first;
        cp += 1;
        let mut rp: Option<usize> = None;
        let mut compress = false;
        if i & 0xc0 != 0xc0 {
            rp = Some(cp + l as usize);
        }
        if i == 0 {
            self.t.ch(b'.');
            return Ok(rp);
        }
        let mut name_chars: u32 = 0;
        while i != 0 && cp < self.end() {
            match i & 0xc0 {
                0xc0 => {
                    if !compress {
                        rp = Some(cp + 1);
                        compress = true;
                    }
                    let Some(&lo) = self.p.get(cp) else {
                        return Ok(None);
                    };
                    let offset = ((u32::from(i) << 8) | u32::from(lo)) & 0x3fff;
                    if offset >= max_offset {
                        self.t.s("<BAD PTR>");
                        return Ok(None);
                    }
                    max_offset = offset;
                    cp = bp + offset as usize;
                    let Some(&ni) = self.p.get(cp) else {
                        return Ok(None);
                    };
                    i = ni;
                    let Some(nl) = self.labellen(cp) else {
                        return Ok(None);
                    };
                    l = nl;
                    cp += 1;
                    continue;
                }
                0x40 => {
                    let elt = i & 0x3f;
                    if elt == 1 {
                        if self.blabel(cp)?.is_none() {
                            return Ok(None);
                        }
                    } else {
                        self.t.s("<ELT ").u(elt).ch(b'>');
                        return Ok(None);
                    }
                }
                0x80 => {
                    self.t.s("<BAD LABEL TYPE>");
                    return Ok(None);
                }
                _ => {
                    if name_chars + l <= MAXCDNAME {
                        if self.printn(cp, l) {
                            return Ok(None);
                        }
                    } else if name_chars < MAXCDNAME && self.printn(cp, MAXCDNAME - name_chars) {
                        return Ok(None);
                    }
                    name_chars += l;
                }
            }
            cp += l as usize;
            if name_chars <= MAXCDNAME {
                self.t.ch(b'.');
            }
            name_chars += 1;
            let Some(&ni) = self.p.get(cp) else {
                return Ok(None);
            };
            i = ni;
            let Some(nl) = self.labellen(cp) else {
                return Ok(None);
            };
            l = nl;
            cp += 1;
            if !compress {
                rp = rp.map(|r| r + l as usize + 1);
            }
        }
        if name_chars > MAXCDNAME {
            self.t.s("<DOMAIN NAME TOO LONG>");
        }
        Ok(rp)
    }

    /// ns_cprint: a <character-string>.
    fn cstring(&mut self, cp: usize) -> Option<usize> {
        let n = *self.p.get(cp)?;
        if self.printn(cp + 1, u32::from(n)) {
            return None;
        }
        Some(cp + 1 + usize::from(n))
    }

    fn invalid(&mut self) {
        self.t.s(" (invalid)");
    }

    /// print_eopt_ecs: EDNS client subnet, `address/source/scope`.
    fn eopt_ecs(&mut self, cp: usize, data_len: usize) -> R<()> {
        if data_len < 4 {
            self.invalid();
            return Ok(());
        }
        let family = self.u16(cp)?;
        let src_len = u32::from(self.u8(cp + 2)?);
        let scope_len = u32::from(self.u8(cp + 3)?);
        let addr_bits: u32 = match family {
            1 => 32,
            2 => 128,
            _ => {
                self.invalid();
                return Ok(());
            }
        };
        let n = data_len - 4;
        if n > (addr_bits / 8) as usize
            || src_len > addr_bits
            || scope_len > addr_bits
            || src_len.div_ceil(8) as usize != n
        {
            self.invalid();
            return Ok(());
        }
        let mut padded = [0u8; 16];
        match self.p.get(cp + 4..cp + 4 + n) {
            Some(s) => padded[..n].copy_from_slice(s),
            None => return Err(Trunc),
        }
        if family == 1 {
            self.t.ipv4(&padded[..4]);
        } else {
            self.t.ipv6(&padded);
        }
        self.t.ch(b'/').u(src_len).ch(b'/').u(scope_len);
        Ok(())
    }

    /// eopt_print: one EDNS option.
    fn eopt(&mut self, mut cp: usize) -> R<Option<usize>> {
        if !self.has(cp, 2) {
            return Ok(None);
        }
        let opt = self.u16(cp)?;
        cp += 2;
        match edns_opt_name(opt) {
            Some(n) => {
                self.t.s(n);
            }
            None => {
                self.t.s("Opt").u(opt);
            }
        }
        if !self.has(cp, 2) {
            return Ok(None);
        }
        let data_len = usize::from(self.u16(cp)?);
        cp += 2;
        if !self.has(cp, data_len) {
            return Ok(None);
        }
        if data_len > 0 {
            self.t.ch(b' ');
            match opt {
                8 => self.eopt_ecs(cp, data_len)?,
                10 => {
                    if data_len < 8 || (data_len > 8 && data_len < 16) || data_len > 40 {
                        self.invalid();
                    } else {
                        for k in 0..data_len {
                            if k == 8 {
                                self.t.ch(b' ');
                            }
                            let b = self.u8(cp + k)?;
                            self.t.byte(b);
                        }
                    }
                }
                11 => {
                    if data_len != 2 {
                        self.invalid();
                    } else {
                        let v = self.u16(cp)?;
                        self.t.u(v / 10).ch(b'.').u(v % 10).s(" sec");
                    }
                }
                9 => {
                    if data_len != 4 {
                        self.invalid();
                    } else {
                        let v = self.u32(cp)?;
                        self.t.u(v).s(" sec");
                    }
                }
                12 => {
                    self.t.ch(b'(').u(data_len as u64).ch(b')');
                }
                14 => {
                    if data_len % 2 != 0 {
                        self.invalid();
                    } else {
                        for k in (0..data_len).step_by(2) {
                            if k > 0 {
                                self.t.ch(b' ');
                            }
                            let v = self.u16(cp + k)?;
                            self.t.u(v);
                        }
                    }
                }
                5..=7 => {
                    for k in 0..data_len {
                        if k > 0 {
                            self.t.ch(b' ');
                        }
                        let a = self.u8(cp + k)?;
                        let name = match opt {
                            5 => dau_alg_name(a),
                            6 => dhu_alg_name(a),
                            _ => n3u_alg_name(a),
                        };
                        match name {
                            Some(n) => {
                                self.t.s(n);
                            }
                            None => {
                                self.t.s("Alg_").u(a);
                            }
                        }
                    }
                }
                13 => {
                    // tcpdump passes the option's end as the base for pointers.
                    let _ = self.fqdn(cp, cp + data_len)?;
                }
                _ => {
                    for k in 0..data_len {
                        let b = self.u8(cp + k)?;
                        self.t.byte(b);
                    }
                }
            }
        }
        Ok(Some(cp + data_len))
    }

    fn type_str(&mut self, t: u16) {
        match type_name(t) {
            Some(n) => {
                self.t.s(n);
            }
            None => {
                self.t.s("Type").u(t);
            }
        }
    }

    fn class_str(&mut self, c: u16) {
        match class_name(c) {
            Some(n) => {
                self.t.s(n);
            }
            None => {
                self.t.s("(Class ").u(c).ch(b')');
            }
        }
    }

    /// ns_qprint: ` TYPE CLASS? name`.
    fn question(&mut self, cp: usize, bp: usize) -> R<Option<usize>> {
        let np = cp;
        let Some(cp) = self.nskip(cp) else {
            return Ok(None);
        };
        if !self.has(cp, 4) {
            return Ok(None);
        }
        let qtype = self.u16(cp)?;
        self.t.ch(b' ');
        self.type_str(qtype);
        let i = self.u16(cp + 2)?;
        let class = if self.mdns { i & !0x8000 } else { i };
        if class != C_IN {
            self.t.ch(b' ');
            self.class_str(class);
        }
        if self.mdns {
            self.t.s(if i & 0x8000 != 0 { " (QU)" } else { " (QM)" });
        }
        self.t.s("? ");
        Ok(self.fqdn(np, bp)?.map(|r| r + 4))
    }

    /// ns_rprint: one resource record.
    fn rr(&mut self, cp: usize, bp: usize) -> R<Option<usize>> {
        let cp = if self.v > 0 {
            self.t.ch(b' ');
            match self.fqdn(cp, bp)? {
                Some(c) => Some(c),
                None => return Ok(None),
            }
        } else {
            self.nskip(cp)
        };
        let Some(mut cp) = cp.filter(|&c| self.has(c, 10)) else {
            return Ok(Some(self.end()));
        };
        let typ = self.u16(cp)?;
        let i = self.u16(cp + 2)?;
        cp += 4;
        let class = if self.mdns { i & !0x8000 } else { i };
        if class != C_IN && typ != T_OPT {
            self.t.ch(b' ');
            self.class_str(class);
        }
        if self.mdns && i & 0x8000 != 0 {
            self.t.s(" (Cache flush)");
        }
        let mut opt_flags = 0;
        if typ == T_OPT {
            opt_flags = self.u16(cp + 2)?;
        } else if self.v > 2 {
            let ttl = self.u32(cp)?;
            self.t.s(" [");
            relts(self.t, ttl);
            self.t.ch(b']');
        }
        cp += 4;
        let len = self.u16(cp)?;
        cp += 2;
        let rp = cp + usize::from(len);
        self.t.ch(b' ');
        self.type_str(typ);
        if rp > self.end() {
            return Ok(None);
        }
        match typ {
            T_A => {
                let Some(a) = self.p.get(cp..cp + 4) else {
                    return Ok(None);
                };
                self.t.ch(b' ').ipv4(a);
            }
            T_NS | T_CNAME | T_PTR | T_DNAME => {
                self.t.ch(b' ');
                if self.fqdn(cp, bp)?.is_none() {
                    return Ok(None);
                }
            }
            T_SOA => {
                if self.v == 0 {
                    return Ok(Some(rp));
                }
                self.t.ch(b' ');
                let Some(c) = self.fqdn(cp, bp)? else {
                    return Ok(None);
                };
                self.t.ch(b' ');
                let Some(c) = self.fqdn(c, bp)? else {
                    return Ok(None);
                };
                if !self.has(c, 20) {
                    return Ok(None);
                }
                for k in 0..5 {
                    let v = self.u32(c + 4 * k)?;
                    self.t.ch(b' ').u(v);
                }
            }
            T_MX => {
                self.t.ch(b' ');
                if !self.has(cp, 2) {
                    return Ok(None);
                }
                if self.fqdn(cp + 2, bp)?.is_none() {
                    return Ok(None);
                }
                let pref = self.u16(cp)?;
                self.t.ch(b' ').u(pref);
            }
            T_TXT => {
                while cp < rp {
                    self.t.s(" \"");
                    match self.cstring(cp) {
                        Some(c) => cp = c,
                        None => return Ok(None),
                    }
                    self.t.ch(b'"');
                }
            }
            T_SRV => {
                self.t.ch(b' ');
                if !self.has(cp, 6) {
                    return Ok(None);
                }
                if self.fqdn(cp + 6, bp)?.is_none() {
                    return Ok(None);
                }
                let (port, prio, weight) = (self.u16(cp + 4)?, self.u16(cp)?, self.u16(cp + 2)?);
                self.t.ch(b':').u(port).ch(b' ').u(prio).ch(b' ').u(weight);
            }
            T_AAAA => {
                let Some(a) = self.p.get(cp..cp + 16) else {
                    return Ok(None);
                };
                self.t.ch(b' ').ipv6(a);
            }
            T_A6 => {
                let Some(&pbit) = self.p.get(cp) else {
                    return Ok(None);
                };
                let pbyte = usize::from(pbit & !7) / 8;
                if pbit > 128 {
                    self.t.ch(b' ').u(pbit).s("(bad plen)");
                    return Ok(Some(rp));
                } else if pbit < 128 {
                    let mut a = [0u8; 16];
                    match self.p.get(cp + 1..cp + 1 + 16 - pbyte) {
                        Some(s) => a[pbyte..].copy_from_slice(s),
                        None => return Err(Trunc),
                    }
                    self.t.ch(b' ').u(pbit).ch(b' ').ipv6(&a);
                }
                if pbit > 0 {
                    self.t.ch(b' ');
                    if self.fqdn(cp + 1 + 16 - pbyte, bp)?.is_none() {
                        return Ok(None);
                    }
                }
            }
            T_URI => {
                if !self.has(cp, usize::from(len)) {
                    return Ok(None);
                }
                let (prio, weight) = (self.u16(cp)?, self.u16(cp + 2)?);
                self.t.ch(b' ').u(prio).ch(b' ').u(weight).ch(b' ');
                // len - 4 in C's unsigned arithmetic.
                if self.printn(cp + 4, u32::from(len).wrapping_sub(4)) {
                    return Ok(None);
                }
            }
            T_OPT => {
                self.t.s(" UDPsize=").u(class);
                if opt_flags & 0x8000 != 0 {
                    self.t.s(" DO");
                }
                if cp < rp {
                    self.t.s(" [");
                    while cp < rp {
                        match self.eopt(cp)? {
                            Some(c) => cp = c,
                            None => return Ok(None),
                        }
                        if cp < rp {
                            self.t.ch(b',');
                        }
                    }
                    self.t.ch(b']');
                }
            }
            T_UNSPECA => {
                let cut = !self.has(cp, usize::from(len)) || self.printn(cp, u32::from(len));
                if cut {
                    return Ok(None);
                }
            }
            T_TSIG => {
                if self.v == 0 {
                    return Ok(Some(rp));
                }
                self.t.ch(b' ');
                let Some(mut c) = self.fqdn(cp, bp)? else {
                    return Ok(None);
                };
                c += 6;
                for (k, what) in [" fudge=", " maclen=", " origid=", " error=", " otherlen="]
                    .iter()
                    .enumerate()
                {
                    if !self.has(c, 2) {
                        return Ok(None);
                    }
                    let v = self.u16(c)?;
                    self.t.s(what).u(v);
                    c += 2;
                    if k == 1 {
                        c += usize::from(v);
                    }
                }
            }
            _ => {}
        }
        Ok(Some(rp))
    }

    /// A section of `count` records (after the first, only while there is capture left):
    /// false if it stopped short (tcpdump's `goto trunc`).
    fn records(&mut self, cp: &mut usize, bp: usize, mut count: u32, label: &str) -> R<bool> {
        if count == 0 {
            return Ok(true);
        }
        if !label.is_empty() {
            if *cp >= self.end() {
                return Ok(false);
            }
            self.t.s(label);
        }
        let Some(c) = self.rr(*cp, bp)? else {
            return Ok(false);
        };
        *cp = c;
        count -= 1;
        while *cp < self.end() && count > 0 {
            self.t.ch(b',');
            let Some(c) = self.rr(*cp, bp)? else {
                return Ok(false);
            };
            *cp = c;
            count -= 1;
        }
        Ok(count == 0)
    }

    /// The rcode, with its upper bits from an OPT record in the additional section.
    fn ext_rcode(&self, qd: u32, an: u32, ns: u32, ar: u32, flags: u16) -> u32 {
        let rcode = u32::from(flags & 0xf);
        let mut cp = 12;
        for _ in 0..qd {
            let Some(c) = self.nskip(cp) else {
                return rcode;
            };
            cp = c + 4;
            if cp >= self.end() {
                return rcode;
            }
        }
        for _ in 0..an + ns {
            let Some(c) = self.nskip(cp) else {
                return rcode;
            };
            cp = c + 8;
            let Some(rdlen) = super::be16(self.p, cp) else {
                return rcode;
            };
            cp += 2 + usize::from(rdlen);
            if cp >= self.end() {
                return rcode;
            }
        }
        for _ in 0..ar {
            let Some(c) = self.nskip(cp) else {
                return rcode;
            };
            cp = c;
            let Some(typ) = super::be16(self.p, cp) else {
                return rcode;
            };
            cp += 4;
            let Some(&hi) = self.p.get(cp) else {
                return rcode;
            };
            if typ == T_OPT {
                return rcode | u32::from(hi) << 4;
            }
            cp += 4;
            let Some(rdlen) = super::be16(self.p, cp) else {
                return rcode;
            };
            cp += 2 + usize::from(rdlen);
            if cp >= self.end() {
                return rcode;
            }
        }
        rcode
    }

    /// domain_print from the header on; false where tcpdump ends with ` [|domain]`.
    fn message(&mut self, length: u32) -> R<bool> {
        if !self.has(0, 12) {
            return Ok(false);
        }
        let id = self.u16(0)?;
        let flags = self.u16(2)?;
        let qd = u32::from(self.u16(4)?);
        let an = u32::from(self.u16(6)?);
        let ns = u32::from(self.u16(8)?);
        let ar = u32::from(self.u16(10)?);
        let opcode = usize::from((flags >> 11) & 0xf);
        let bp = 0;
        let mut cp = 12;
        if flags & 0x8000 != 0 {
            let rcode = self.ext_rcode(qd, an, ns, ar, flags);
            self.t.u(id).s(OPS[opcode]);
            match RCODES.get(rcode as usize) {
                Some(r) => {
                    self.t.s(r);
                }
                None => {
                    self.t.s(" Resp").u(rcode & 0xfff);
                }
            }
            if flags & 0x0400 != 0 {
                self.t.ch(b'*');
            }
            if flags & 0x0080 == 0 {
                self.t.ch(b'-');
            }
            if flags & 0x0200 != 0 {
                self.t.ch(b'|');
            }
            if flags & 0x0020 != 0 {
                self.t.ch(b'$');
            }
            if qd != 1 {
                self.t.s(" [").u(qd).s("q]");
            }
            for k in 0..qd {
                if k != 0 {
                    self.t.ch(b',');
                }
                if self.v > 1 {
                    self.t.s(" q:");
                    match self.question(cp, bp)? {
                        Some(c) => cp = c,
                        None => return Ok(false),
                    }
                } else {
                    match self.nskip(cp) {
                        Some(c) => cp = c + 4,
                        None => return Ok(false),
                    }
                }
            }
            self.t.ch(b' ').u(an).ch(b'/').u(ns).ch(b'/').u(ar);
            if !self.records(&mut cp, bp, an, "")? {
                return Ok(false);
            }
        } else {
            self.t.u(id).s(OPS[opcode]);
            if flags & 0x0100 != 0 {
                self.t.ch(b'+');
            }
            if flags & 0x0010 != 0 {
                self.t.ch(b'%');
            }
            if flags & 0x6cf != 0 {
                self.t.s(" [b2&3=0x").hex(u64::from(flags), 1).s("]");
            }
            if opcode == 1 {
                if qd != 0 {
                    self.t.s(" [").u(qd).s("q]");
                }
                if an != 1 {
                    self.t.s(" [").u(an).s("a]");
                }
            } else {
                if an != 0 {
                    self.t.s(" [").u(an).s("a]");
                }
                if qd != 1 {
                    self.t.s(" [").u(qd).s("q]");
                }
            }
            if ns != 0 {
                self.t.s(" [").u(ns).s("n]");
            }
            if ar != 0 {
                self.t.s(" [").u(ar).s("au]");
            }
            let mut left = qd;
            if left > 0 {
                match self.question(cp, bp)? {
                    Some(c) => cp = c,
                    None => return Ok(false),
                }
                left -= 1;
                while cp < self.end() && left > 0 {
                    match self.question(cp, bp)? {
                        Some(c) => cp = c,
                        None => return Ok(false),
                    }
                    left -= 1;
                }
            }
            if left > 0 {
                return Ok(false);
            }
            if self.v > 1 && !self.records(&mut cp, bp, an, "")? {
                return Ok(false);
            }
        }
        if self.v > 1
            && !(self.records(&mut cp, bp, ns, " ns:")? && self.records(&mut cp, bp, ar, " ar:")?)
        {
            return Ok(false);
        }
        self.t.s(" (").u(length).ch(b')');
        Ok(true)
    }
}

/// tcpdump's unsigned_relts_print: a time in seconds as `1d2h3m4s`.
fn relts(t: &mut Text, mut secs: u32) {
    const UNITS: [(u32, u8); 6] = [
        (31_536_000, b'y'),
        (604_800, b'w'),
        (86_400, b'd'),
        (3_600, b'h'),
        (60, b'm'),
        (1, b's'),
    ];
    if secs == 0 {
        t.s("0s");
        return;
    }
    for (n, unit) in UNITS {
        if secs >= n {
            t.u(secs / n).ch(unit);
            secs %= n;
        }
    }
}

/// tcpdump's domain_print. `p` is the captured UDP or TCP payload, `len` its length on the
/// wire. Over TCP the message follows a 2-byte length, which must be the rest of the segment.
pub fn print(cx: &mut Ctx, p: &[u8], len: u32, over_tcp: bool, mdns: bool) {
    let mut p = p;
    let mut length = len;
    if over_tcp {
        if length < 2 {
            cx.t.s(" [DNS over TCP: length ")
                .u(length)
                .s(" < 2] (invalid)");
            return;
        }
        length -= 2;
        let Some(prefix) = super::be16(p, 0) else {
            cx.trunc("domain");
            return;
        };
        if u32::from(prefix) != length {
            cx.t.s(" [prefix length(")
                .u(prefix)
                .s(") != length(")
                .u(length)
                .s(")] (invalid)");
            return;
        }
        p = &p[2..];
        cx.t.ch(b' ');
    }
    if length < 12 {
        cx.t.s("domain [length ").u(length).s(" < 12] (invalid)");
        return;
    }
    let mut d = Dns {
        t: &mut *cx.t,
        p,
        v: cx.o.verbose,
        mdns,
    };
    if !matches!(d.message(length), Ok(true)) {
        cx.trunc("domain");
    }
}
