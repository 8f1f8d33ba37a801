//! pcap-filter(7) text to [`ast::Expr`], following libpcap's grammar and scanner.
//!
//! Built with nom over a `nom_locate` span so every token knows where it is. Quirks kept on
//! purpose because users' filters depend on them:
//! - `and` and `or` have equal precedence and associate left (`a or b and c` is `(a or b) and c`).
//! - A bare id after `and`/`or`/`not` inherits the qualifiers of the primitive before it
//!   (`host a or b`); after a primitive without qualifiers (`tcp or 10.0.0.1`) that is an error.
//! - Tokens are longest-match as in libpcap's scanner: `len-1` is one (unknown) name, `1024-1030`
//!   is one name that `portrange` splits, `tcp-syn` is the number 2.
//! - `^` and `%` have no precedence in libpcap's grammar, so yacc shifts: each binds to the
//!   operand on its left and takes everything to its right as its right operand
//!   (`a + b ^ c + d` is `a + (b ^ (c + d))`, `2 * 3 % 4` is `2 * (3 % 4)`).

use crate::ast::*;
use crate::error::{
    BadAddress, BadToken, Error, ErrorKind as EKind, Expected, Found, Limit, Note, Syntax,
    Unsupported,
};
use nom::error::{ErrorKind, FromExternalError, ParseError};
use nom::{IResult, Parser};
use nom_language::precedence::{binary_op, precedence, unary_op, Assoc, Operation};
use nom_locate::LocatedSpan;
use rustc_hash::FxHashMap as HashMap;
use std::net::Ipv6Addr;

type In<'a> = LocatedSpan<&'a str>;
type PResult<'a, T> = IResult<In<'a>, T, PErr>;

/// A parse error: where, and (for errors that are more than "this token is unexpected") what.
#[derive(Clone, Debug)]
pub struct PErr {
    span: Span,
    kind: Option<EKind>,
    /// A hint for the user, after the caret.
    note: Option<Note>,
}

impl<'a> ParseError<In<'a>> for PErr {
    fn from_error_kind(input: In<'a>, _: ErrorKind) -> Self {
        PErr {
            span: token_span(input),
            kind: None,
            note: None,
        }
    }
    fn append(_: In<'a>, _: ErrorKind, other: Self) -> Self {
        other
    }
    fn or(self, other: Self) -> Self {
        // Keep the error that got furthest; it names the token the user must fix.
        if other.span.start > self.span.start
            || (other.span.start == self.span.start && self.kind.is_none())
        {
            other
        } else {
            self
        }
    }
}

impl<'a> FromExternalError<In<'a>, PErr> for PErr {
    fn from_external_error(_: In<'a>, _: ErrorKind, e: PErr) -> Self {
        e
    }
}

fn fail_at<T>(span: Span, kind: impl Into<EKind>) -> Result<T, nom::Err<PErr>> {
    Err(nom::Err::Failure(PErr {
        span,
        kind: Some(kind.into()),
        note: None,
    }))
}

/// As [`fail_at`], with a hint about the token found (`t`, written `text`) when it looks
/// like what was expected but is not: a keyword where a name may be (`ip proto tcp`), twelve
/// hex digits (a MAC address) where a number may be.
fn fail_found<T>(
    span: Span,
    kind: impl Into<EKind>,
    t: &Tok,
    text: &str,
    name: bool,
) -> Result<T, nom::Err<PErr>> {
    let note = match t {
        Tok::Kw(_) if name => Some(Note::KeywordAsName {
            keyword: text.to_string(),
        }),
        Tok::Eid(_) if text.len() == 12 => Some(Note::ReadAsMac),
        _ => None,
    };
    Err(nom::Err::Failure(PErr {
        span,
        kind: Some(kind.into()),
        note,
    }))
}

/// `expected {what} after '{after}'[, found {found}]`.
fn expected(what: Expected, after: impl Into<String>, found: Option<Found>) -> Syntax {
    Syntax::Expected {
        what,
        after: after.into(),
        found,
    }
}

fn backtrack<T>(i: In) -> Result<T, nom::Err<PErr>> {
    Err(nom::Err::Error(PErr {
        span: token_span(i),
        kind: None,
        note: None,
    }))
}

/// The span of the token starting at `i` (after blanks), for error carets.
fn token_span(i: In) -> Span {
    // Scans directly (not through nom), so building an error never needs another error.
    let text = *i.fragment();
    let rest = trim_blanks(text);
    let start = i.location_offset() + (text.len() - rest.len());
    match scan(rest, start) {
        Ok((len, _)) => start..start + len,
        Err(_) => start..start + rest.chars().next().map_or(0, |c| c.len_utf8()),
    }
}

/// libpcap's scanner skips only these blanks; anything else is a character of the filter.
fn trim_blanks(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\r', '\n'])
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A keyword, by its canonical spelling.
    Kw(&'static str),
    Num(u32),
    /// Dotted IPv4 (1 to 4 parts).
    Hid(String),
    Hid6(Ipv6Addr),
    Eid([u8; 6]),
    Id(String),
    Op(&'static str),
    End,
}

/// Keywords and their canonical names. Link-layer names all mean `link`.
const KEYWORDS: &[(&str, &str)] = &[
    ("dst", "dst"),
    ("src", "src"),
    ("link", "link"),
    ("ether", "link"),
    ("ppp", "link"),
    ("slip", "link"),
    ("fddi", "link"),
    ("tr", "link"),
    ("wlan", "link"),
    ("arp", "arp"),
    ("rarp", "rarp"),
    ("ip", "ip"),
    ("sctp", "sctp"),
    ("tcp", "tcp"),
    ("udp", "udp"),
    ("icmp", "icmp"),
    ("igmp", "igmp"),
    ("igrp", "igrp"),
    ("pim", "pim"),
    ("vrrp", "vrrp"),
    ("carp", "carp"),
    ("radio", "radio"),
    ("ip6", "ip6"),
    ("icmp6", "icmp6"),
    ("ah", "ah"),
    ("esp", "esp"),
    ("atalk", "atalk"),
    ("aarp", "aarp"),
    ("decnet", "decnet"),
    ("lat", "lat"),
    ("sca", "sca"),
    ("moprc", "moprc"),
    ("mopdl", "mopdl"),
    ("iso", "iso"),
    ("esis", "esis"),
    ("es-is", "esis"),
    ("isis", "isis"),
    ("is-is", "isis"),
    ("l1", "l1"),
    ("l2", "l2"),
    ("iih", "iih"),
    ("lsp", "lsp"),
    ("snp", "snp"),
    ("csnp", "csnp"),
    ("psnp", "psnp"),
    ("clnp", "clnp"),
    ("stp", "stp"),
    ("ipx", "ipx"),
    ("netbeui", "netbeui"),
    ("host", "host"),
    ("net", "net"),
    ("mask", "mask"),
    ("port", "port"),
    ("portrange", "portrange"),
    ("proto", "proto"),
    ("protochain", "protochain"),
    ("gateway", "gateway"),
    ("less", "less"),
    ("greater", "greater"),
    ("byte", "byte"),
    ("broadcast", "broadcast"),
    ("multicast", "multicast"),
    ("and", "and"),
    ("or", "or"),
    ("not", "not"),
    ("len", "len"),
    ("length", "len"),
    ("inbound", "inbound"),
    ("outbound", "outbound"),
    ("ifindex", "ifindex"),
    ("vlan", "vlan"),
    ("mpls", "mpls"),
    ("pppoed", "pppoed"),
    ("pppoes", "pppoes"),
    ("geneve", "geneve"),
    ("vxlan", "vxlan"),
    ("llc", "llc"),
    // Keywords of link types we do not compile for (802.11, ATM, SS7, pflog): reserved, so
    // they are reported as unsupported rather than looked up as host names.
    ("type", "type"),
    ("subtype", "subtype"),
    ("direction", "dir"),
    ("dir", "dir"),
    ("address1", "addr1"),
    ("addr1", "addr1"),
    ("address2", "addr2"),
    ("addr2", "addr2"),
    ("address3", "addr3"),
    ("addr3", "addr3"),
    ("address4", "addr4"),
    ("addr4", "addr4"),
    ("ra", "ra"),
    ("ta", "ta"),
    ("lane", "lane"),
    ("metac", "metac"),
    ("bcc", "bcc"),
    ("oam", "oam"),
    ("oamf4", "oamf4"),
    ("oamf4ec", "oamf4ec"),
    ("oamf4sc", "oamf4sc"),
    ("sc", "sc"),
    ("ilmic", "ilmic"),
    ("vpi", "vpi"),
    ("vci", "vci"),
    ("connectmsg", "connectmsg"),
    ("metaconnect", "metaconnect"),
    ("on", "ifname"),
    ("ifname", "ifname"),
    ("rnr", "rnr"),
    ("rulenum", "rnr"),
    ("reason", "reason"),
    ("rset", "rset"),
    ("ruleset", "rset"),
    ("srnr", "srnr"),
    ("subrulenum", "srnr"),
    ("action", "action"),
    ("fisu", "fisu"),
    ("lssu", "lssu"),
    ("lsu", "lssu"),
    ("msu", "msu"),
    ("hfisu", "hfisu"),
    ("hlssu", "hlssu"),
    ("hmsu", "hmsu"),
    ("sio", "sio"),
    ("opc", "opc"),
    ("dpc", "dpc"),
    ("sls", "sls"),
    ("hsio", "hsio"),
    ("hopc", "hopc"),
    ("hdpc", "hdpc"),
    ("hsls", "hsls"),
];

/// Keywords that only make sense on link types we do not compile for.
const FOREIGN_KEYWORDS: &[&str] = &[
    "type",
    "subtype",
    "dir",
    "addr1",
    "addr2",
    "addr3",
    "addr4",
    "ra",
    "ta",
    "lane",
    "metac",
    "bcc",
    "oam",
    "oamf4",
    "oamf4ec",
    "oamf4sc",
    "sc",
    "ilmic",
    "vpi",
    "vci",
    "connectmsg",
    "metaconnect",
    "ifname",
    "rnr",
    "reason",
    "rset",
    "srnr",
    "action",
    "fisu",
    "lssu",
    "msu",
    "hfisu",
    "hlssu",
    "hmsu",
    "sio",
    "opc",
    "dpc",
    "sls",
    "hsio",
    "hopc",
    "hdpc",
    "hsls",
];

/// Names the scanner turns into numbers (offsets and values for `icmp[]`, `icmp6[]`, `tcp[]`).
const NAMED_NUMBERS: &[(&str, u32)] = &[
    ("icmptype", 0),
    ("icmpcode", 1),
    ("icmp-echoreply", 0),
    ("icmp-unreach", 3),
    ("icmp-sourcequench", 4),
    ("icmp-redirect", 5),
    ("icmp-echo", 8),
    ("icmp-routeradvert", 9),
    ("icmp-routersolicit", 10),
    ("icmp-timxceed", 11),
    ("icmp-paramprob", 12),
    ("icmp-tstamp", 13),
    ("icmp-tstampreply", 14),
    ("icmp-ireq", 15),
    ("icmp-ireqreply", 16),
    ("icmp-maskreq", 17),
    ("icmp-maskreply", 18),
    ("icmp6type", 0),
    ("icmp6code", 1),
    ("icmp6-destinationunreach", 1),
    ("icmp6-packettoobig", 2),
    ("icmp6-timeexceeded", 3),
    ("icmp6-parameterproblem", 4),
    ("icmp6-echo", 128),
    ("icmp6-echoreply", 129),
    ("icmp6-multicastlistenerquery", 130),
    ("icmp6-multicastlistenerreportv1", 131),
    ("icmp6-multicastlistenerdone", 132),
    ("icmp6-routersolicit", 133),
    ("icmp6-routeradvert", 134),
    ("icmp6-neighborsolicit", 135),
    ("icmp6-neighboradvert", 136),
    ("icmp6-redirect", 137),
    ("icmp6-routerrenum", 138),
    ("icmp6-nodeinformationquery", 139),
    ("icmp6-nodeinformationresponse", 140),
    ("icmp6-ineighbordiscoverysolicit", 141),
    ("icmp6-ineighbordiscoveryadvert", 142),
    ("icmp6-multicastlistenerreportv2", 143),
    ("icmp6-homeagentdiscoveryrequest", 144),
    ("icmp6-homeagentdiscoveryreply", 145),
    ("icmp6-mobileprefixsolicit", 146),
    ("icmp6-mobileprefixadvert", 147),
    ("icmp6-certpathsolicit", 148),
    ("icmp6-certpathadvert", 149),
    ("icmp6-multicastrouteradvert", 151),
    ("icmp6-multicastroutersolicit", 152),
    ("icmp6-multicastrouterterm", 153),
    ("tcpflags", 13),
    ("tcp-fin", 0x01),
    ("tcp-syn", 0x02),
    ("tcp-rst", 0x04),
    ("tcp-push", 0x08),
    ("tcp-ack", 0x10),
    ("tcp-urg", 0x20),
    ("tcp-ece", 0x40),
    ("tcp-cwr", 0x80),
];

/// What a reserved word is: a keyword (by its canonical spelling) or a named number.
#[derive(Clone, Copy)]
enum Word {
    Kw(&'static str),
    Num(u32),
}

/// [`KEYWORDS`] and [`NAMED_NUMBERS`] as one map (the scanner looks up every word).
fn words() -> &'static HashMap<&'static str, Word> {
    static WORDS: std::sync::OnceLock<HashMap<&'static str, Word>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        let mut m = HashMap::default();
        // Named numbers first, keywords over them: a keyword wins, as in the scan it replaces.
        for &(k, v) in NAMED_NUMBERS.iter().rev() {
            m.insert(k, Word::Num(v));
        }
        for &(k, canon) in KEYWORDS.iter().rev() {
            m.insert(k, Word::Kw(canon));
        }
        m
    })
}

const OPERATORS: &[&str] = &[
    ">=", "<=", "!=", "==", "<<", ">>", "&&", "||", "+", "-", "*", "/", "%", ":", "[", "]", "!",
    "<", ">", "(", ")", "&", "|", "^", "=",
];

/// Reads one token after optional blanks.
///
/// The grammar peeks and backtracks, so the token at a position is asked for many times;
/// each is scanned once per expression (a cache by position: scanning a word searches the
/// keyword table).
fn lex(i: In) -> PResult<(Tok, Span)> {
    let text = *i.fragment();
    let at = i.location_offset();
    // The expression's identity: where its text starts, and its length.
    let src = (text.as_ptr() as usize - at, at + text.len());
    let cached = LEX_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != src {
            // Keep the allocation from the last expression.
            c.0 = src;
            c.1.clear();
            c.1.resize(src.1 + 1, None);
        }
        c.1[at].clone()
    });
    let (tok, span) = match cached {
        Some(t) => t,
        None => {
            let skip = text.len() - trim_blanks(text).len();
            let start = at + skip;
            let (len, tok) = scan(&text[skip..], start)?;
            let t = (tok, start..start + len);
            LEX_CACHE.with(|c| c.borrow_mut().1[at] = Some(t.clone()));
            t
        }
    };
    // Byte-indexed split (nom's `take` on text would count characters).
    let (after, _) = nom::Input::take_split(&i, span.end - at);
    Ok((after, (tok, span)))
}

/// Empties the token cache. Called where lexing of a text starts: a new text may sit where
/// the last one did, with its length.
fn forget_tokens() {
    LEX_CACHE.with(|c| c.borrow_mut().0 = (0, 0));
}

thread_local! {
    /// Tokens scanned, by byte position, for the expression identified by (start address,
    /// length); replaced when another expression is parsed.
    #[allow(clippy::type_complexity)]
    static LEX_CACHE: std::cell::RefCell<((usize, usize), Vec<Option<(Tok, Span)>>)> =
        const { std::cell::RefCell::new(((0, 0), Vec::new())) };
}

/// The longest-match scanner over `s`, which starts at byte `start` of the expression.
fn scan(s: &str, start: usize) -> Result<(usize, Tok), nom::Err<PErr>> {
    let Some(c) = s.chars().next() else {
        return Ok((0, Tok::End));
    };
    let bad = |len: usize, kind: EKind| fail_at(start..start + len, kind);

    if c == '\\' {
        // `\name`: a name even when it is a keyword (`ip proto \tcp`).
        let len = s[1..]
            .find(|c: char| " !()\n\t".contains(c))
            .map_or(s.len(), |n| n + 1);
        if len == 1 {
            return bad(1, expected(Expected::Name, "\\", None).into());
        }
        return Ok((len, Tok::Id(s[1..len].to_string())));
    }

    let word_chars = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    let addr_chars = |c: char| c.is_ascii_hexdigit() || ":.".contains(c);

    // Colon forms: MAC addresses and IPv6 addresses, when they are longer than a plain word.
    if c.is_ascii_hexdigit() || c == ':' {
        let alen = s.find(|c: char| !addr_chars(c)).unwrap_or(s.len());
        let cand = &s[..alen];
        if cand.contains(':') {
            if let Some(mac) = parse_mac_colon(cand) {
                return Ok((alen, Tok::Eid(mac)));
            }
            if cand.matches(':').count() >= 2 {
                if let Ok(a) = cand.parse::<Ipv6Addr>() {
                    return Ok((alen, Tok::Hid6(a)));
                }
            }
            // libpcap's scanner: two or more short hex groups each followed by colons, that
            // are neither (`1:2:3`); `2:2` is a number, a colon and a number (`ip[2:2]`).
            let bogus = bogus_mac_prefix(cand);
            // Six groups, one of them not hex (`00:11:2g:33:44:55`): a MAC address with a
            // bad byte, which libpcap calls bogus at the first group it cannot take.
            let whole = s
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
                .unwrap_or(s.len());
            if bogus > 0 && s[..whole].matches(':').count() == 5 && whole > alen {
                return bad(whole, bad_address(&s[..whole]).into());
            }
            if bogus > 0 {
                return bad(
                    bogus,
                    BadAddress::BogusEthernet {
                        text: cand[..bogus].to_string(),
                    }
                    .into(),
                );
            }
        }
    }

    if c.is_ascii_alphanumeric() {
        let mut len = s.find(|c: char| !word_chars(c)).unwrap_or(s.len());
        // A word running into a non-ASCII letter (`hôst`): name the letter, not the ASCII
        // part before it.
        if s[len..].starts_with(|c: char| c.is_alphanumeric()) {
            let wlen = s
                .find(|c: char| !(c.is_alphanumeric() || "-_.".contains(c)))
                .unwrap_or(s.len());
            return non_ascii(&s[..wlen], start);
        }
        // An address with colons the forms above did not take (`zz:11:22:33:44:55`).
        if s[len..].starts_with(':') {
            let alen = s
                .find(|c: char| !(c.is_ascii_alphanumeric() || ":.".contains(c)))
                .unwrap_or(s.len());
            if s[..alen].matches(':').count() >= 2 {
                return bad(alen, bad_address(&s[..alen]).into());
            }
        }
        // A name ends with a letter, digit or dot.
        while len > 1 && matches!(s.as_bytes()[len - 1], b'-' | b'_') {
            len -= 1;
        }
        let w = &s[..len];
        match words().get(w) {
            Some(&Word::Kw(canon)) => return Ok((len, Tok::Kw(canon))),
            Some(&Word::Num(v)) => return Ok((len, Tok::Num(v))),
            None => {}
        }
        if let Some(mac) = parse_mac_other(w) {
            return Ok((len, Tok::Eid(mac)));
        }
        if w.bytes().all(|b| b.is_ascii_digit()) || is_hex_literal(w) {
            return match parse_num(w) {
                Ok(n) => Ok((len, Tok::Num(n))),
                Err(m) => bad(len, m.into()),
            };
        }
        let parts: Vec<&str> = w.split('.').collect();
        if (2..=4).contains(&parts.len())
            && parts.iter().all(|p| {
                !p.is_empty() && (p.bytes().all(|b| b.is_ascii_digit()) || is_hex_literal(p))
            })
        {
            return Ok((len, Tok::Hid(w.to_string())));
        }
        return Ok((len, Tok::Id(w.to_string())));
    }

    for op in OPERATORS {
        if s.starts_with(op) {
            return Ok((op.len(), Tok::Op(op)));
        }
    }
    if c.is_alphanumeric() {
        let wlen = s
            .find(|c: char| !(c.is_alphanumeric() || "-_.".contains(c)))
            .unwrap_or(s.len());
        return non_ascii(&s[..wlen], start);
    }
    bad(c.len_utf8(), BadToken::UnexpectedChar { c }.into())
}

/// The error for a word with a non-ASCII letter or digit in it: filter words are ASCII.
fn non_ascii<T>(word: &str, start: usize) -> Result<T, nom::Err<PErr>> {
    let c = word.chars().find(|c| !c.is_ascii()).unwrap_or('?');
    fail_at(
        start..start + word.len(),
        BadToken::NonAscii {
            c,
            word: word.to_string(),
        },
    )
}

/// What is wrong with `a`, a word with two or more colons that is neither a MAC nor an IPv6
/// address.
fn bad_address(a: &str) -> BadAddress {
    let groups: Vec<&str> = a.split(':').collect();
    let not_hex = groups
        .iter()
        .find(|g| g.is_empty() || g.len() > 2 || !g.bytes().all(|b| b.is_ascii_hexdigit()));
    match not_hex {
        // Six groups, one of them not a hex byte, and no `::` or long hex group of IPv6.
        Some(g)
            if groups.len() == 6
                && !groups.iter().any(|g| g.is_empty())
                && !(g.len() > 2 && g.bytes().all(|b| b.is_ascii_hexdigit())) =>
        {
            BadAddress::BadMac {
                text: a.to_string(),
                group: g.to_string(),
            }
        }
        _ => BadAddress::NeitherMacNorIpv6 {
            text: a.to_string(),
        },
    }
}

/// Length of a prefix matching `([0-9a-f]{1,2}:+){2,}`, or 0.
fn bogus_mac_prefix(s: &str) -> usize {
    let b = s.as_bytes();
    let (mut i, mut groups, mut end) = (0, 0, 0);
    loop {
        let start = i;
        while i < b.len() && i - start < 2 && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        if i == start || i >= b.len() || b[i] != b':' {
            break;
        }
        while i < b.len() && b[i] == b':' {
            i += 1;
        }
        groups += 1;
        if groups >= 2 {
            end = i;
        }
    }
    end
}

fn is_hex_literal(w: &str) -> bool {
    (w.starts_with("0x") || w.starts_with("0X"))
        && w.len() > 2
        && w[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// libpcap's number syntax: decimal, 0x hex, or octal with a leading 0.
fn parse_num(w: &str) -> Result<u32, BadToken> {
    let (digits, radix) = if is_hex_literal(w) {
        (&w[2..], 16)
    } else if w.len() > 1 && w.starts_with('0') {
        if w.bytes().any(|b| b > b'7') {
            return Err(BadToken::NonOctal {
                number: w.to_string(),
            });
        }
        (&w[1..], 8)
    } else {
        (w, 10)
    };
    u32::from_str_radix(digits, radix).map_err(|_| BadToken::Overflow {
        number: w.to_string(),
    })
}

fn hex_groups(
    s: &str,
    sep: char,
    count: usize,
    width: std::ops::RangeInclusive<usize>,
) -> Option<Vec<u32>> {
    let groups: Vec<&str> = s.split(sep).collect();
    if groups.len() != count {
        return None;
    }
    groups
        .iter()
        .map(|g| {
            if width.contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit()) {
                u32::from_str_radix(g, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

fn parse_mac_colon(s: &str) -> Option<[u8; 6]> {
    let g = hex_groups(s, ':', 6, 1..=2)?;
    Some(std::array::from_fn(|i| g[i] as u8))
}

/// `00-11-22-33-44-55`, `00.11.22.33.44.55`, `0011.2233.4455`, `001122334455`.
fn parse_mac_other(s: &str) -> Option<[u8; 6]> {
    if let Some(g) = hex_groups(s, '-', 6, 1..=2).or_else(|| hex_groups(s, '.', 6, 1..=2)) {
        return Some(std::array::from_fn(|i| g[i] as u8));
    }
    if let Some(g) = hex_groups(s, '.', 3, 4..=4) {
        return Some(std::array::from_fn(|i| {
            (g[i / 2] >> if i % 2 == 0 { 8 } else { 0 }) as u8
        }));
    }
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        let v = u64::from_str_radix(s, 16).ok()?;
        return Some(std::array::from_fn(|i| (v >> (40 - 8 * i)) as u8));
    }
    None
}

/// A dotted IPv4 address as libpcap reads it (`__pcap_atoin`): each part a byte, fewer than
/// four parts allowed. Returns the value (not left-aligned) and the number of bits written.
fn parse_hid(s: &str, span: &Span) -> Result<(u32, u32), nom::Err<PErr>> {
    let mut addr: u32 = 0;
    let mut bits = 0;
    for p in s.split('.') {
        let v = parse_num(p).map_err(|m| {
            nom::Err::Failure(PErr {
                span: span.clone(),
                kind: Some(m.into()),
                note: None,
            })
        })?;
        if v > 255 {
            return fail_at(
                span.clone(),
                BadAddress::InvalidIpv4 {
                    text: s.to_string(),
                },
            );
        }
        addr = (addr << 8) | v;
        bits += 8;
    }
    Ok((addr, bits))
}

// ---------------------------------------------------------------------------------------------
// Token-level combinators

fn tok(i: In) -> PResult<(Tok, Span)> {
    lex(i)
}

fn kw<'a>(name: &'static str) -> impl FnMut(In<'a>) -> PResult<'a, Span> {
    move |i| match lex(i)? {
        (rest, (Tok::Kw(k), span)) if k == name => Ok((rest, span)),
        _ => backtrack(i),
    }
}

fn op<'a>(name: &'static str) -> impl FnMut(In<'a>) -> PResult<'a, Span> {
    move |i| match lex(i)? {
        (rest, (Tok::Op(o), span)) if o == name => Ok((rest, span)),
        _ => backtrack(i),
    }
}

fn and_op(i: In) -> PResult<Span> {
    kw("and").or(op("&&")).parse(i)
}

fn or_op(i: In) -> PResult<Span> {
    kw("or").or(op("||")).parse(i)
}

fn not_op(i: In) -> PResult<Span> {
    kw("not").or(op("!")).parse(i)
}

fn num(i: In) -> PResult<(u32, Span)> {
    match lex(i)? {
        (rest, (Tok::Num(n), span)) => Ok((rest, (n, span))),
        _ => backtrack(i),
    }
}

/// `pnum`: a number, possibly in parentheses.
fn pnum(i: In) -> PResult<(u32, Span)> {
    if let Ok((rest, lp)) = op("(")(i) {
        let (rest, (n, _)) = pnum(rest)?;
        let (rest, rp) = op(")")(rest)?;
        return Ok((rest, (n, lp.start..rp.end)));
    }
    num(i)
}

fn peek(i: In) -> Result<(Tok, Span), nom::Err<PErr>> {
    lex(i).map(|(_, t)| t)
}

fn describe(t: &Tok, span: &Span, src: &str) -> Found {
    match t {
        Tok::End => Found::End,
        _ => Found::Token(src.get(span.clone()).unwrap_or("?").to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// The boolean grammar, with qualifier inheritance threaded through.

/// Qualifier context: `None` is libpcap's `qerr` (no qualifiers to inherit).
type Ctx = Option<Quals>;

struct P<'s> {
    src: &'s str,
}

impl<'s> P<'s> {
    /// expr: term ((and|or) (term|id))*  -- equal precedence, left associative.
    fn expr<'a>(&self, i: In<'a>, ctx: Ctx) -> PResult<'a, (Expr, Ctx)> {
        let (mut i, (mut e, mut ctx)) = self.term(i, ctx)?;
        loop {
            let (rest, is_and) = match and_op(i) {
                Ok((r, _)) => (r, true),
                Err(nom::Err::Error(_)) => match or_op(i) {
                    Ok((r, _)) => (r, false),
                    Err(nom::Err::Error(_)) => return Ok((i, (e, ctx))),
                    Err(x) => return Err(x),
                },
                Err(x) => return Err(x),
            };
            let (rest, (rhs, nctx)) = self.term_or_id(rest, ctx.clone())?;
            e = if is_and {
                Expr::And(Box::new(e), Box::new(rhs))
            } else {
                Expr::Or(Box::new(e), Box::new(rhs))
            };
            ctx = nctx;
            i = rest;
        }
    }

    /// After `and`/`or`: a full term, or a bare id that inherits `ctx`.
    fn term_or_id<'a>(&self, i: In<'a>, ctx: Ctx) -> PResult<'a, (Expr, Ctx)> {
        match self.term(i, ctx.clone()) {
            Ok(r) => Ok(r),
            Err(nom::Err::Error(e1)) => match self.id(i, ctx.clone()) {
                Ok((rest, e)) => Ok((rest, (mark_inherited(e), ctx))),
                Err(nom::Err::Error(e2)) => Err(nom::Err::Error(e1.or(e2))),
                Err(x) => Err(x),
            },
            Err(x) => Err(x),
        }
    }

    /// term: not term | rterm
    fn term<'a>(&self, i: In<'a>, ctx: Ctx) -> PResult<'a, (Expr, Ctx)> {
        if let Ok((rest, _)) = not_op(i) {
            // `not` may be followed by a term or (inheriting) an id: `host a and not b`.
            let (rest, (e, nctx)) = self.term_or_id(rest, ctx)?;
            return Ok((rest, (Expr::Not(Box::new(e)), nctx)));
        }
        self.rterm(i, ctx)
    }

    fn rterm<'a>(&self, i: In<'a>, ctx: Ctx) -> PResult<'a, (Expr, Ctx)> {
        let (t, span) = peek(i)?;
        let start = span.start;
        // `( expr )` -- but `(` may also begin an arithmetic expression (`(ip[0]) > 3`).
        if t == Tok::Op("(") {
            let (rest, _) = op("(")(i)?;
            let inner = self.expr(rest, ctx.clone()).and_then(|(rest, (e, _))| {
                let (rest, rp) = op(")")(rest)?;
                Ok((rest, (e, rp)))
            });
            match inner {
                Ok((rest, (e, _))) if !starts_arith_continuation(rest) => {
                    // The context after a parenthesised expression is the one before it.
                    return Ok((rest, (e, ctx)));
                }
                Ok(_) | Err(nom::Err::Error(_)) => {
                    if let Ok(r) = self.relation(i) {
                        return Ok(r);
                    }
                    inner?;
                    return self.relation(i);
                }
                Err(x) => return Err(x),
            }
        }
        // Qualified primitive: [pname] [dqual] [aqual|proto|protochain|gateway] id
        if let Some(r) = self.qualified(i, start)? {
            return Ok(r);
        }
        // `other`
        if let Some((rest, prim, end)) = self.other(i)? {
            return Ok((rest, (Expr::Prim(prim, start..end), None)));
        }
        // pname alone, or the start of `pname[...]` arithmetic
        if let Tok::Kw(k) = t {
            if let Some(p) = proto_of(k) {
                let (rest, _) = tok(i)?;
                if op("[")(rest).is_err() {
                    return Ok((rest, (Expr::Prim(Prim::Proto(p), span), None)));
                }
            }
            if FOREIGN_KEYWORDS.contains(&k) {
                return fail_at(
                    span.clone(),
                    Unsupported::ForeignKeyword {
                        keyword: self.src[span].to_string(),
                    },
                );
            }
        }
        self.relation(i)
    }

    /// arth relop arth
    fn relation<'a>(&self, i: In<'a>) -> PResult<'a, (Expr, Ctx)> {
        let start = token_span(i).start;
        let (rest, lhs) = arith(i)?;
        let (rest, (t, ospan)) = tok(rest)?;
        let relop = match t {
            Tok::Op(">") => RelOp::Gt,
            Tok::Op(">=") => RelOp::Ge,
            Tok::Op("=") | Tok::Op("==") => RelOp::Eq,
            Tok::Op("<=") => RelOp::Le,
            Tok::Op("<") => RelOp::Lt,
            Tok::Op("!=") => RelOp::Ne,
            _ => {
                return Err(nom::Err::Error(PErr {
                    span: ospan,
                    kind: None,
                    note: None,
                }));
            }
        };
        let (rest, rhs) = match arith(rest) {
            Ok(r) => r,
            Err(nom::Err::Error(_)) => {
                let (t, s) = peek(rest)?;
                let found = describe(&t, &s, self.src);
                return fail_found(
                    s.clone(),
                    expected(Expected::Value, &self.src[ospan], Some(found)),
                    &t,
                    &self.src[s],
                    false,
                );
            }
            Err(x) => return Err(x),
        };
        let end = prev_end(rest);
        Ok((
            rest,
            (
                Expr::Prim(
                    Prim::Rel {
                        op: relop,
                        lhs,
                        rhs,
                    },
                    start..end,
                ),
                None,
            ),
        ))
    }

    /// head id, where head is `pqual dqual aqual | pqual dqual | pqual aqual | pqual proto |
    /// pqual protochain | pqual gateway`. Returns None when `i` does not start a head.
    fn qualified<'a>(
        &self,
        i: In<'a>,
        start: usize,
    ) -> Result<Option<(In<'a>, (Expr, Ctx))>, nom::Err<PErr>> {
        let mut q = Quals::default();
        let mut rest = i;
        let (t, span) = peek(rest)?;
        if let Tok::Kw(k) = t {
            if let Some(p) = proto_of(k) {
                q.proto = Some((p, span));
                rest = tok(rest)?.0;
            }
        }
        // dqual
        let (t, span) = peek(rest)?;
        if let Tok::Kw(d @ ("src" | "dst")) = t {
            let (r, _) = tok(rest)?;
            let first = if d == "src" { Dir::Src } else { Dir::Dst };
            let other = if d == "src" { "dst" } else { "src" };
            // `src or dst` / `src and dst` are one qualifier, but only when followed by the
            // other direction (otherwise the `or` is the boolean operator).
            let combined = (|| {
                let (r2, is_or) = match or_op(r) {
                    Ok((r2, _)) => (r2, true),
                    Err(_) => (and_op(r).ok()?.0, false),
                };
                let (r3, s3) = kw(other)(r2).ok()?;
                Some((r3, is_or, s3))
            })();
            match combined {
                Some((r3, is_or, s3)) => {
                    q.dir = Some((if is_or { Dir::Or } else { Dir::And }, span.start..s3.end));
                    rest = r3;
                }
                None => {
                    q.dir = Some((first, span));
                    rest = r;
                }
            }
        }
        // aqual / proto / protochain / gateway
        let (t, span) = peek(rest)?;
        let kind = match t {
            Tok::Kw("host") => Some(Kind::Host),
            Tok::Kw("net") => Some(Kind::Net),
            Tok::Kw("port") => Some(Kind::Port),
            Tok::Kw("portrange") => Some(Kind::PortRange),
            Tok::Kw("gateway") if q.dir.is_none() => Some(Kind::Gateway),
            Tok::Kw("proto") if q.dir.is_none() => Some(Kind::Proto),
            Tok::Kw("protochain") if q.dir.is_none() => Some(Kind::Protochain),
            _ => None,
        };
        if let Some(k) = kind {
            q.kind = Some((k, span));
            rest = tok(rest)?.0;
        }
        if q.dir.is_none() && q.kind.is_none() {
            // Just a protocol name (or nothing): not a head.
            return Ok(None);
        }
        let last = q
            .kind
            .as_ref()
            .map(|k| k.1.clone())
            .or_else(|| q.dir.as_ref().map(|d| d.1.clone()))
            .unwrap();
        let ctx = Some(q);
        match self.id(rest, ctx.clone()) {
            Ok((r, e)) => Ok(Some((r, (e, ctx)))),
            Err(nom::Err::Error(_)) => {
                let (t, s) = peek(rest)?;
                let what = match ctx.as_ref().and_then(|q| q.kind.as_ref()).map(|k| k.0) {
                    Some(Kind::Port) => Expected::PortNumberOrName,
                    Some(Kind::PortRange) => Expected::PortRange,
                    Some(Kind::Host) | None => Expected::HostAddressOrName,
                    Some(Kind::Net) => Expected::NetworkAddress,
                    Some(Kind::Gateway) => Expected::HostName,
                    Some(Kind::Proto) | Some(Kind::Protochain) => Expected::ProtocolNumberOrName,
                };
                let _ = start;
                fail_found(
                    s.clone(),
                    expected(what, &self.src[last], Some(describe(&t, &s, self.src))),
                    &t,
                    &self.src[s.clone()],
                    true,
                )
            }
            Err(x) => Err(x),
        }
    }

    /// id: nid | pnum | ( pid ); nid includes `not id`. The id inherits `ctx`.
    fn id<'a>(&self, i: In<'a>, ctx: Ctx) -> PResult<'a, Expr> {
        let (t, span) = peek(i)?;
        let Some(q) = ctx.clone() else {
            // Nothing to inherit (after `tcp`, a relation, or a parenthesised start).
            return backtrack(i);
        };
        match t {
            Tok::Kw("not") | Tok::Op("!") => {
                let (rest, _) = tok(i)?;
                let (rest, e) = self.id(rest, ctx)?;
                Ok((rest, Expr::Not(Box::new(e))))
            }
            Tok::Op("(") => {
                // `( pid )`: ids joined by and/or, all inheriting; or a parenthesised number.
                let (rest, _) = tok(i)?;
                let (mut rest, mut e) = self.id(rest, ctx.clone())?;
                loop {
                    if let Ok((r, _)) = and_op(rest) {
                        let (r, rhs) = self.id(r, ctx.clone())?;
                        e = Expr::And(Box::new(e), Box::new(rhs));
                        rest = r;
                    } else if let Ok((r, _)) = or_op(rest) {
                        let (r, rhs) = self.id(r, ctx.clone())?;
                        e = Expr::Or(Box::new(e), Box::new(rhs));
                        rest = r;
                    } else {
                        break;
                    }
                }
                let (rest, _) = op(")")(rest)?;
                Ok((rest, e))
            }
            Tok::Num(n) => {
                let (rest, _) = tok(i)?;
                Ok((rest, prim_id(q, Id::Num(n), span)))
            }
            Tok::Id(name) => {
                let (rest, _) = tok(i)?;
                Ok((rest, prim_id(q, Id::Name(name), span)))
            }
            Tok::Eid(mac) => {
                let (rest, _) = tok(i)?;
                Ok((rest, prim_id(q, Id::Mac(mac), span)))
            }
            Tok::Hid(text) => {
                let (rest, _) = tok(i)?;
                let (addr, bits) = match parse_hid(&text, &span) {
                    Ok(v) => v,
                    Err(e)
                        if text.split('.').count() == 2
                            && op("/")(rest).is_err()
                            && kw("mask")(rest).is_err() =>
                    {
                        let _ = e;
                        return Ok((rest, prim_id(q, Id::Dotted(text), span)));
                    }
                    Err(e) => return Err(e),
                };
                if let Some(p) = prefix_len(rest) {
                    let (r, (len, lspan)) = p?;
                    return Ok((
                        r,
                        prim_id(q, Id::V4Prefix { addr, bits, len }, span.start..lspan.end),
                    ));
                }
                if let Ok((r, _)) = kw("mask")(rest) {
                    let (r, (t2, s2)) = tok(r)?;
                    let Tok::Hid(m) = t2 else {
                        return fail_at(s2, expected(Expected::DottedNetmask, "mask", None));
                    };
                    // A partial mask is left-aligned, as libpcap reads it (`mask 255.255`).
                    let (mv, mbits) = parse_hid(&m, &s2)?;
                    let mv = mv.checked_shl(32 - mbits).unwrap_or(0);
                    return Ok((
                        r,
                        prim_id(
                            q,
                            Id::V4Mask {
                                addr,
                                bits,
                                mask: mv,
                            },
                            span.start..s2.end,
                        ),
                    ));
                }
                Ok((rest, prim_id(q, Id::V4 { addr, bits }, span)))
            }
            Tok::Hid6(a) => {
                let (rest, _) = tok(i)?;
                if let Some(p) = prefix_len(rest) {
                    let (r, (len, lspan)) = p?;
                    return Ok((
                        r,
                        prim_id(q, Id::V6Prefix(a.octets(), len), span.start..lspan.end),
                    ));
                }
                Ok((rest, prim_id(q, Id::V6(a.octets()), span)))
            }
            _ => backtrack(i),
        }
    }

    /// libpcap's `other` productions. Returns None when `i` does not start one.
    #[allow(clippy::type_complexity)]
    fn other<'a>(&self, i: In<'a>) -> Result<Option<(In<'a>, Prim, usize)>, nom::Err<PErr>> {
        let (t, span) = peek(i)?;
        let (rest, _) = tok(i)?;
        let need_num = |r: In<'a>, after: &str| -> PResult<'a, (u32, Span)> {
            match num(r) {
                Ok(x) => Ok(x),
                Err(_) => {
                    let (t, s) = peek(r)?;
                    fail_at(
                        s.clone(),
                        expected(Expected::Number, after, Some(describe(&t, &s, self.src))),
                    )
                }
            }
        };
        let opt_pnum = |r: In<'a>| -> (In<'a>, Option<u32>, usize) {
            match pnum(r) {
                Ok((r2, (n, s))) => (r2, Some(n), s.end),
                Err(_) => (r, None, span.end),
            }
        };
        Ok(Some(match t {
            Tok::Kw("broadcast") => (rest, Prim::Broadcast(None), span.end),
            Tok::Kw("multicast") => (rest, Prim::Multicast(None), span.end),
            Tok::Kw(k) if proto_of(k).is_some() => {
                // pqual broadcast / pqual multicast
                match peek(rest)? {
                    (Tok::Kw("broadcast"), s) => {
                        (tok(rest)?.0, Prim::Broadcast(proto_of(k)), s.end)
                    }
                    (Tok::Kw("multicast"), s) => {
                        (tok(rest)?.0, Prim::Multicast(proto_of(k)), s.end)
                    }
                    _ => return Ok(None),
                }
            }
            Tok::Kw("less") => {
                let (r, (n, s)) = need_num(rest, "less")?;
                (r, Prim::Less(n), s.end)
            }
            Tok::Kw("greater") => {
                let (r, (n, s)) = need_num(rest, "greater")?;
                (r, Prim::Greater(n), s.end)
            }
            Tok::Kw("byte") => {
                let (r, (off, _)) = need_num(rest, "byte")?;
                let (r, (t2, s2)) = tok(r)?;
                let bop = match t2 {
                    Tok::Op("&") => ByteOp::And,
                    Tok::Op("|") => ByteOp::Or,
                    Tok::Op("<") => ByteOp::Lt,
                    Tok::Op(">") => ByteOp::Gt,
                    Tok::Op("=") => ByteOp::Eq,
                    _ => {
                        return fail_at(
                            s2.clone(),
                            expected(
                                Expected::ByteOperator,
                                format!("byte {off}"),
                                Some(describe(&t2, &s2, self.src)),
                            ),
                        )
                    }
                };
                let (r, (val, s3)) = need_num(r, &self.src[s2])?;
                (r, Prim::Byte { off, op: bop, val }, s3.end)
            }
            Tok::Kw("inbound") => (rest, Prim::Inbound, span.end),
            Tok::Kw("outbound") => (rest, Prim::Outbound, span.end),
            Tok::Kw("ifindex") => {
                let (r, (n, s)) = need_num(rest, "ifindex")?;
                (r, Prim::Ifindex(n), s.end)
            }
            Tok::Kw("pppoed") => (rest, Prim::Pppoed, span.end),
            // Encapsulations with an optional number.
            Tok::Kw(k @ ("vlan" | "mpls" | "pppoes" | "geneve" | "vxlan")) => {
                let (r, n, end) = opt_pnum(rest);
                let prim = match k {
                    "vlan" => Prim::Vlan(n),
                    "mpls" => Prim::Mpls(n),
                    "pppoes" => Prim::Pppoes(n),
                    "vxlan" => Prim::Vxlan(n),
                    _ => Prim::Geneve(n),
                };
                (r, prim, end)
            }
            Tok::Kw("llc") => match peek(rest)? {
                (Tok::Id(name), s) => (tok(rest)?.0, Prim::Llc(Some(name)), s.end),
                (Tok::Kw("rnr"), s) => (tok(rest)?.0, Prim::Llc(Some("rnr".into())), s.end),
                _ => (rest, Prim::Llc(None), span.end),
            },
            _ => return Ok(None),
        }))
    }
}

/// Whether the input continues an arithmetic expression or relation, meaning a `( ... )` just
/// parsed as a boolean expression was really an arithmetic operand.
fn starts_arith_continuation(i: In) -> bool {
    matches!(
        peek(i),
        Ok((
            Tok::Op(
                ">" | ">="
                    | "="
                    | "=="
                    | "<="
                    | "<"
                    | "!="
                    | "+"
                    | "-"
                    | "*"
                    | "/"
                    | "%"
                    | "&"
                    | "|"
                    | "^"
                    | "<<"
                    | ">>"
            ),
            _
        ))
    )
}

fn prev_end(i: In) -> usize {
    // The end of the last consumed token: trailing blanks before `i` are not part of it.
    i.location_offset()
}

/// `/len` after an address: None when there is no '/', else the length or an error.
fn prefix_len(i: In) -> Option<PResult<(u32, Span)>> {
    let (r, _) = op("/")(i).ok()?;
    Some(num(r).or_else(|_| fail_at(token_span(r), expected(Expected::PrefixLength, "/", None))))
}

fn mark_inherited(e: Expr) -> Expr {
    match e {
        Expr::Prim(
            Prim::Id {
                quals, id, id_span, ..
            },
            span,
        ) => Expr::Prim(
            Prim::Id {
                quals,
                id,
                id_span,
                inherited: true,
            },
            span,
        ),
        Expr::And(a, b) => Expr::And(Box::new(mark_inherited(*a)), Box::new(mark_inherited(*b))),
        Expr::Or(a, b) => Expr::Or(Box::new(mark_inherited(*a)), Box::new(mark_inherited(*b))),
        Expr::Not(a) => Expr::Not(Box::new(mark_inherited(*a))),
        other => other,
    }
}

fn prim_id(q: Quals, id: Id, span: Span) -> Expr {
    // Inherited qualifiers lie before the id too; the primitive spans from the first.
    let start = [
        q.proto.as_ref().map(|p| p.1.start),
        q.dir.as_ref().map(|d| d.1.start),
        q.kind.as_ref().map(|k| k.1.start),
    ]
    .into_iter()
    .flatten()
    .fold(span.start, usize::min);
    Expr::Prim(
        Prim::Id {
            quals: q,
            id,
            id_span: span.clone(),
            inherited: false,
        },
        start..span.end,
    )
}

pub(crate) fn proto_of(k: &str) -> Option<Proto> {
    use Proto::*;
    Some(match k {
        "link" => Link,
        "ip" => Ip,
        "arp" => Arp,
        "rarp" => Rarp,
        "sctp" => Sctp,
        "tcp" => Tcp,
        "udp" => Udp,
        "icmp" => Icmp,
        "igmp" => Igmp,
        "igrp" => Igrp,
        "pim" => Pim,
        "vrrp" => Vrrp,
        "carp" => Carp,
        "atalk" => Atalk,
        "aarp" => Aarp,
        "decnet" => Decnet,
        "lat" => Lat,
        "sca" => Sca,
        "mopdl" => Mopdl,
        "moprc" => Moprc,
        "ip6" => Ip6,
        "icmp6" => Icmp6,
        "ah" => Ah,
        "esp" => Esp,
        "iso" => Iso,
        "esis" => Esis,
        "isis" => Isis,
        "l1" => IsisL1,
        "l2" => IsisL2,
        "iih" => IsisIih,
        "lsp" => IsisLsp,
        "snp" => IsisSnp,
        "psnp" => IsisPsnp,
        "csnp" => IsisCsnp,
        "clnp" => Clnp,
        "stp" => Stp,
        "ipx" => Ipx,
        "netbeui" => Netbeui,
        "radio" => Radio,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

/// Binary operators by libpcap's precedence (lower number binds tighter); `^` is handled in
/// [`operand`], see the module comment.
fn binop(i: In) -> PResult<nom_language::precedence::Binary<(ArOp, Span), u8>> {
    let (rest, (t, span)) = tok(i)?;
    let (prec, o) = match t {
        Tok::Op("*") => (1, ArOp::Mul),
        Tok::Op("/") => (1, ArOp::Div),
        Tok::Op("+") => (2, ArOp::Add),
        Tok::Op("-") => (2, ArOp::Sub),
        Tok::Op("<<") => (3, ArOp::Lsh),
        Tok::Op(">>") => (3, ArOp::Rsh),
        Tok::Op("&") => (4, ArOp::And),
        Tok::Op("|") => (5, ArOp::Or),
        _ => return backtrack(i),
    };
    binary_op(prec, Assoc::Left, move |r| Ok((r, (o, span.clone()))))(rest)
}

fn arith(i: In) -> PResult<Arith> {
    precedence(
        unary_op(0u8, |i| -> PResult<()> { backtrack(i) }),
        unary_op(0u8, |i| -> PResult<()> { backtrack(i) }),
        binop,
        operand,
        // The span of a binary operation is its operator's, where errors point.
        |o: Operation<(), (), (ArOp, Span), Arith>| -> Result<Arith, PErr> {
            match o {
                Operation::Binary(l, (o, span), r) => {
                    Ok(Arith::Bin(o, Box::new(l), Box::new(r), span))
                }
                _ => unreachable!("no prefix or postfix operators are registered"),
            }
        },
    )(i)
}

/// A primary, with unary minus and the right-grabbing `^`.
fn operand(i: In) -> PResult<Arith> {
    let (rest, (t, span)) = tok(i)?;
    let (rest, a) = match t {
        Tok::Op("-") => {
            let (r, a) = operand(rest)?;
            return Ok((r, Arith::Neg(Box::new(a))));
        }
        Tok::Num(n) => (rest, Arith::Num(n)),
        Tok::Kw("len") => (rest, Arith::Len),
        Tok::Op("(") => {
            let (r, a) = arith(rest)?;
            let (r, _) = op(")")(r)?;
            (r, a)
        }
        Tok::Kw(k) => {
            let Some(p) = proto_of(k) else {
                return backtrack(i);
            };
            let (r, _) = op("[")(rest)?;
            let (r, off) = arith(r).map_err(|e| match e {
                nom::Err::Error(_) => {
                    let s = token_span(r);
                    nom::Err::Failure(PErr {
                        span: s,
                        kind: Some(expected(Expected::Offset, format!("{k}["), None).into()),
                        note: None,
                    })
                }
                x => x,
            })?;
            let (r, size) = match op(":")(r) {
                Ok((r2, _)) => {
                    let (r3, (n, s)) = num(r2).map_err(|_| {
                        nom::Err::Failure(PErr {
                            span: token_span(r2),
                            kind: Some(expected(Expected::Size, ":", None).into()),
                            note: None,
                        })
                    })?;
                    if !matches!(n, 1 | 2 | 4) {
                        return fail_at(s, Syntax::DataSize { size: n });
                    }
                    (r3, n)
                }
                Err(_) => (r, 1),
            };
            let (r, rb) = op("]")(r).map_err(|_| {
                let s = token_span(r);
                nom::Err::Failure(PErr {
                    span: s,
                    kind: Some(Syntax::UnclosedBracket.into()),
                    note: None,
                })
            })?;
            (
                r,
                Arith::Load {
                    proto: p,
                    off: Box::new(off),
                    size,
                    span: span.start..rb.end,
                },
            )
        }
        _ => return backtrack(i),
    };
    // `^` and `%` have no precedence in libpcap's grammar: they take everything after them.
    for (o, aop) in [("^", ArOp::Xor), ("%", ArOp::Mod)] {
        if let Ok((r, xs)) = op(o)(rest) {
            let (r, rhs) = arith(r)?;
            return Ok((r, Arith::Bin(aop, Box::new(a), Box::new(rhs), xs)));
        }
    }
    Ok((rest, a))
}

// ---------------------------------------------------------------------------------------------

/// Parses a whole filter expression. `Ok(None)` for an empty (match-everything) filter.
/// Deepest nesting of parentheses, brackets and prefix operators (`not`, `!`, unary `-`)
/// an expression may have. The parser and the passes after it recurse once per level (or
/// more), so without a bound a hostile expression overflows the stack; tcpdump's parser
/// takes 3,000 levels and runs out of its own stack at 10,000. The deepest expression
/// allowed needs about 80 MiB of stack in a debug build (15 in a release build): callers
/// that take expressions from strangers compile on a thread with room for that (bpfdump
/// gives the compiler 256 MiB, reserved, not used, until needed).
pub const MAX_NESTING: usize = 5_000;
/// Most operands in one chain of binary operators (`and`/`or`, or arithmetic), which the
/// passes after the parser also walk recursively. Far more than any program the kernel
/// takes (4,096 instructions) can test.
pub const MAX_CHAIN: usize = 20_000;

/// Refuses an expression nested deeper than [`MAX_NESTING`] or chaining more than
/// [`MAX_CHAIN`] operands, at the token that goes past the limit, before any recursion.
/// An over-estimate where the grammar is ambiguous: a run of prefix operators counts until
/// the next binary operator, whatever it applies to.
fn check_depth(src: &str) -> Result<(), Error> {
    // Per open bracket: the depth and the chain length outside it.
    let mut outer: Vec<(usize, usize, usize)> = Vec::new();
    // Depth from enclosing brackets; prefix operators since the last binary operator;
    // operands chained at this level.
    let (mut base, mut run, mut chain) = (0usize, 0usize, 1usize);
    let mut prev: Option<Tok> = None;
    for (t, span) in tokens(src) {
        let after_operand = matches!(
            prev,
            Some(Tok::Num(_) | Tok::Id(_) | Tok::Hid(_) | Tok::Hid6(_) | Tok::Eid(_))
                | Some(Tok::Op(")" | "]"))
                | Some(Tok::Kw(_))
        ) && !matches!(prev, Some(Tok::Kw("and" | "or" | "not")));
        match t {
            Tok::Op("(" | "[") => {
                outer.push((base, run, chain));
                base += run + 1;
                run = 0;
                chain = 1;
            }
            Tok::Op(")" | "]") => {
                if let Some((b, r, c)) = outer.pop() {
                    (base, run, chain) = (b, r, c);
                }
            }
            Tok::Kw("not") | Tok::Op("!") => run += 1,
            Tok::Op("-") if !after_operand => run += 1,
            Tok::Kw("and" | "or")
            | Tok::Op("&&" | "||" | "+" | "-" | "*" | "/" | "%" | "&" | "|" | "<<" | ">>") => {
                run = 0;
                chain += 1;
                if chain > MAX_CHAIN {
                    return Err(Error::new(Limit::Operands { max: MAX_CHAIN }, span));
                }
            }
            _ => {}
        }
        if base + run > MAX_NESTING {
            return Err(Error::new(Limit::Nesting { max: MAX_NESTING }, span));
        }
        prev = Some(t);
    }
    Ok(())
}

pub fn parse(src: &str) -> Result<Option<Expr>, Error> {
    forget_tokens();
    let input = In::new(src);
    if src.trim().is_empty() {
        return Ok(None);
    }
    check_depth(src)?;
    let p = P { src };
    let to_error = |e: PErr| -> Error {
        let mut span = e.span.clone();
        let e_note = e.note;
        let kind = match e.kind {
            Some(k) => k,
            None => {
                let (t, s) = peek_at(src, e.span.start);
                match t {
                    Tok::End => match unclosed_paren(src) {
                        Some(open) => {
                            span = open..open + 1;
                            Syntax::UnclosedParen.into()
                        }
                        None => match last_token(src) {
                            Some(last)
                                if last.bytes().all(|b| b.is_ascii_alphanumeric())
                                    && parse_num(last).is_ok() =>
                            {
                                span = tokens(src).last().map(|(_, s)| s.clone()).unwrap_or(span);
                                Syntax::BareNumber {
                                    text: last.to_string(),
                                }
                                .into()
                            }
                            Some(last) => Syntax::EndsAfter {
                                last: last.to_string(),
                            }
                            .into(),
                            None => Syntax::EndsEarly.into(),
                        },
                    },
                    Tok::Id(_) | Tok::Hid(_) | Tok::Hid6(_) | Tok::Eid(_) => {
                        Syntax::NeedsQualifier {
                            found: describe(&t, &s, src),
                            text: src[s.clone()].to_string(),
                            ether: matches!(t, Tok::Eid(_)),
                        }
                        .into()
                    }
                    _ => Syntax::UnexpectedToken {
                        found: describe(&t, &s, src),
                    }
                    .into(),
                }
            }
        };
        if span.is_empty() {
            span = span.start..span.start + 1;
        }
        let e = Error::new(kind, span);
        match e_note {
            Some(n) => e.note(n),
            None => e,
        }
    };
    match p.expr(input, None) {
        Ok((rest, (e, _))) => match peek(rest) {
            Ok((Tok::End, _)) => Ok(Some(e)),
            Ok((t, s)) => {
                let found = describe(&t, &s, src);
                let kind = match t {
                    Tok::Op(")") => Syntax::UnbalancedParen,
                    Tok::Id(_) | Tok::Hid(_) | Tok::Hid6(_) | Tok::Num(_) | Tok::Eid(_) => {
                        Syntax::MissingOperator { found }
                    }
                    _ => Syntax::UnexpectedToken { found },
                };
                Err(Error::new(kind, s))
            }
            Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(to_error(e)),
            Err(nom::Err::Incomplete(_)) => Err(Error::whole(Syntax::Incomplete)),
        },
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(to_error(e)),
        Err(nom::Err::Incomplete(_)) => Err(Error::whole(Syntax::Incomplete)),
    }
}

/// All tokens of `src`, as far as it scans.
fn tokens(src: &str) -> Vec<(Tok, Span)> {
    forget_tokens();
    let mut out = Vec::new();
    let mut i = In::new(src);
    while let Ok((rest, (t, s))) = lex(i) {
        if t == Tok::End {
            break;
        }
        out.push((t, s));
        i = rest;
    }
    out
}

/// The position of a '(' that is never closed.
fn unclosed_paren(src: &str) -> Option<usize> {
    let mut open = Vec::new();
    for (t, s) in tokens(src) {
        match t {
            Tok::Op("(") => open.push(s.start),
            Tok::Op(")") => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

fn last_token(src: &str) -> Option<&str> {
    tokens(src).last().map(|(_, s)| &src[s.clone()])
}

/// The token at byte `pos` of `src`.
fn peek_at(src: &str, pos: usize) -> (Tok, Span) {
    let pos = pos.min(src.len());
    match scan(
        trim_blanks(&src[pos..]),
        pos + (src[pos..].len() - trim_blanks(&src[pos..]).len()),
    ) {
        Ok((len, t)) => {
            let s = pos + (src[pos..].len() - trim_blanks(&src[pos..]).len());
            (t, s..s + len)
        }
        Err(_) => (Tok::Id(String::new()), pos..pos + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Expr {
        parse(s)
            .unwrap_or_else(|e| panic!("{}: {} at {:?}", s, e, e.span))
            .unwrap()
    }
    fn err(s: &str) -> Error {
        parse(s).expect_err(s)
    }

    #[test]
    fn and_or_are_equal_and_left_associative() {
        let e = ok("tcp or udp and icmp");
        match e {
            Expr::And(l, _) => assert!(matches!(*l, Expr::Or(..))),
            other => panic!("{:?}", other),
        }
    }

    #[test]
    fn qualifiers_are_inherited() {
        let e = ok("src host 10.0.0.1 or 10.0.0.2");
        let Expr::Or(_, r) = e else { panic!() };
        let Expr::Prim(Prim::Id { quals, .. }, _) = *r else {
            panic!()
        };
        assert_eq!(quals.dir.map(|d| d.0), Some(Dir::Src));
        assert_eq!(quals.kind.map(|k| k.0), Some(Kind::Host));
        // `not host a and b` is `(not host a) and host b`
        let e = ok("not host a and b");
        let Expr::And(l, r) = e else { panic!() };
        assert!(matches!(*l, Expr::Not(_)));
        assert!(matches!(*r, Expr::Prim(Prim::Id { .. }, _)));
        // after a parenthesised term the context is the one before it
        ok("port 80 and (tcp) and 443");
    }

    #[test]
    fn bare_ids_need_something_to_inherit() {
        err("10.0.0.1");
        err("tcp or 10.0.0.1");
        err("(host 10.0.0.1) or 10.0.0.2");
        ok("host 10.0.0.1 and (tcp) or 10.0.0.2");
    }

    #[test]
    fn tokens_follow_libpcap() {
        assert!(matches!(
            ok("tcp[tcpflags] & tcp-syn != 0"),
            Expr::Prim(Prim::Rel { .. }, _)
        ));
        err("len-1 > 3");
        ok("ip[0]-1>3");
        ok("portrange 1024-1030");
        ok("ether host 0011.2233.4455");
        ok("ether host 00-11-22-33-44-55");
        ok("ether host 001122334455");
        ok("host ::ffff:1.2.3.4");
        ok("ip proto \\tcp");
        let e = err("ip[0] = 08");
        assert_eq!(
            e.kind,
            EKind::Token(BadToken::NonOctal {
                number: "08".into()
            })
        );
        assert_eq!(e.to_string(), "number 08 contains non-octal digit");
        let e = err("ip[0] = 4294967296");
        assert_eq!(e.to_string(), "number 4294967296 overflows 32 bits");
        err("ether host 1:2:3");
    }

    #[test]
    fn xor_grabs_the_rest() {
        // a + b ^ c + d  ==  a + (b ^ (c + d))
        let Expr::Prim(Prim::Rel { lhs, .. }, _) = ok("ip[0] + 1 ^ 2 + 3 = 0") else {
            panic!()
        };
        let Arith::Bin(ArOp::Add, _, r, _) = lhs else {
            panic!("{:?}", lhs)
        };
        let Arith::Bin(ArOp::Xor, _, rr, _) = *r else {
            panic!()
        };
        assert!(matches!(*rr, Arith::Bin(ArOp::Add, ..)));
        // precedence of the others is C-like: 1 + 2 * 3
        let Expr::Prim(Prim::Rel { lhs, .. }, _) = ok("1 + 2 * 3 = 7") else {
            panic!()
        };
        assert!(matches!(lhs, Arith::Bin(ArOp::Add, ..)));
    }

    #[test]
    fn parenthesised_arithmetic_and_boolean() {
        ok("(ip[0]) > 3");
        ok("(ip[0] & 0xf) > 5 and (tcp or udp)");
        ok("((tcp))");
        ok("port (80 or 443)");
        ok("host (10.0.0.1 or not 10.0.0.2)");
        ok("port ((80))");
    }

    #[test]
    fn nesting_past_the_limit_is_refused_at_the_token_before_any_recursion() {
        // check_depth itself does not recurse, so these run on the test's small stack.
        let n = MAX_NESTING;
        let parens = |k: usize| format!("{}tcp{}", "(".repeat(k), ")".repeat(k));
        assert!(check_depth(&parens(n)).is_ok());
        let e = check_depth(&parens(n + 1)).unwrap_err();
        assert_eq!(e.span, Some(n..n + 1), "the first '(' past the limit");
        assert_eq!(e.kind, Limit::Nesting { max: MAX_NESTING }.into());
        for deep in [
            format!("{}tcp", "not ".repeat(n + 1)),
            format!("{}tcp", "! ".repeat(n + 1)),
            format!("ip[{}1] = 0", "-".repeat(n + 1)),
            format!("{}0{} = 0", "tcp[".repeat(n + 1), "]".repeat(n + 1)),
            format!("{}tcp{}", "not (".repeat(n / 2 + 1), ")".repeat(n / 2 + 1)),
        ] {
            let e = check_depth(&deep).unwrap_err();
            assert_eq!(e.kind, Limit::Nesting { max: MAX_NESTING }.into(), "{e}");
        }
        // Binary minus is not nesting; parentheses closed are not either.
        assert!(check_depth(&"ip[0] - 1 - ".repeat(n + 1)).is_ok());
        assert!(check_depth(&"(tcp) and ".repeat(n + 1)).is_ok());
    }

    #[test]
    fn chains_past_the_limit_are_refused() {
        let chain = |k: usize| vec!["tcp"; k].join(" or ");
        assert!(check_depth(&chain(MAX_CHAIN)).is_ok());
        let e = check_depth(&chain(MAX_CHAIN + 1)).unwrap_err();
        assert_eq!(e.kind, Limit::Operands { max: MAX_CHAIN }.into());
        assert!(e.to_string().contains("operands in a row"), "{e}");
        let at = e.span.unwrap().start;
        assert_eq!(&chain(MAX_CHAIN + 1)[at..at + 2], "or");
        // Each parenthesised group is its own chain.
        let groups = vec![format!("({})", chain(10)); MAX_CHAIN / 5].join(" and ");
        assert!(check_depth(&groups).is_ok());
    }

    #[test]
    fn the_deepest_expression_allowed_compiles_on_a_big_stack() {
        // What bpfdump does: the compiler on a thread with 256 MiB of stack.
        let src = format!("{}tcp{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        let e = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || parse(&src).map(|e| e.is_some()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(e, Ok(true));
    }

    #[test]
    fn non_ascii_letters_and_bad_addresses_are_named() {
        let e = err("hôst 10.0.0.1");
        assert_eq!(e.span, Some(0..5));
        assert!(
            e.to_string()
                .starts_with("'ô' in 'hôst' is not an ASCII letter"),
            "{e}"
        );
        let e = err("port 80 and ôst");
        assert_eq!(
            e.kind,
            EKind::Token(BadToken::NonAscii {
                c: 'ô',
                word: "ôst".into()
            })
        );
        let e = err("ether host zz:11:22:33:44:55");
        assert_eq!(e.span, Some(11..28));
        assert!(
            e.to_string()
                .starts_with("bad MAC address 'zz:11:22:33:44:55': 'zz' is not a hex byte"),
            "{e}"
        );
        let e = err("ether host 00:11:2g:33:44:55");
        assert_eq!(
            e.kind,
            EKind::Address(BadAddress::BadMac {
                text: "00:11:2g:33:44:55".into(),
                group: "2g".into()
            })
        );
        let e = err("host k:l:m");
        assert_eq!(
            e.kind,
            EKind::Address(BadAddress::NeitherMacNorIpv6 {
                text: "k:l:m".into()
            })
        );
        // The forms that are right stay right.
        ok("ether host 00:11:22:33:44:55");
        ok("ip6 host ::ffff:1.2.3.4");
        ok("tcp[0:2] = 1");
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = err("tcp port");
        assert_eq!(
            e.kind,
            expected(Expected::PortNumberOrName, "port", Some(Found::End)).into()
        );
        assert_eq!(
            e.to_string(),
            "expected a port number or name after 'port', found end of expression"
        );
        let e = err("tcp and and udp");
        assert_eq!(e.span, Some(8..11));
        let e = err("(tcp");
        assert!(e.span.is_some());
        let e = err("tcp)");
        assert_eq!(e.kind, Syntax::UnbalancedParen.into());
        assert_eq!(e.to_string(), "unbalanced ')'");
    }

    #[test]
    fn dir_or_dir_is_one_qualifier_only_when_complete() {
        let e = ok("src or dst host 10.0.0.1");
        let Expr::Prim(Prim::Id { quals, .. }, _) = e else {
            panic!("{:?}", e)
        };
        assert_eq!(quals.dir.map(|d| d.0), Some(Dir::Or));
        ok("src 10.0.0.1 or dst 10.0.0.2");
    }
}
