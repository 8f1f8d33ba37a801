//! Compile errors, typed: what went wrong ([`ErrorKind`], with its data), where in the
//! expression ([`Error::span`]) and optional extra lines ([`Note`]). [`Error::render`] is the
//! one place that turns an error into the text a user reads: the message, the expression
//! with a caret under the offending token, and the notes.
//!
//! Every message is written by `Display` from the kind's data; nothing adds context to an
//! error by rewriting its text (a note does that).

use std::fmt;
use std::ops::Range;

/// A compile error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    /// Byte range in the expression text; `None` for whole-expression problems.
    pub span: Option<Range<usize>>,
    /// Extra lines after the caret.
    pub notes: Vec<Note>,
}

/// What went wrong. Grouped by class; each class's `Display` writes the one-line message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The tokens do not form an expression.
    Syntax(Syntax),
    /// A word that is no token: a bad number or character.
    Token(BadToken),
    /// A bad address, netmask or prefix.
    Address(BadAddress),
    /// A name neither the resolver nor a fixed table knows.
    Unknown { what: Named, name: String },
    /// A qualifier that does not fit the id or primitive it applies to.
    Qualifier(QualifierMismatch),
    /// A number above what its field holds (`vlan 4096`).
    ValueTooLarge { what: Field, value: u32, max: u32 },
    /// A port number above 65535.
    PortTooLarge { port: u32 },
    /// A primitive the link type (of the capture, or in effect after `pppoes`) does not have.
    NoSupportForLinkType {
        what: LinkFeature,
        linktype: &'static str,
    },
    /// A combination bpfdump does not compile.
    Unsupported(Unsupported),
    /// `x / 0` with a constant 0.
    DivisionByZero,
    /// `x % 0` with a constant 0.
    ModulusByZero,
    /// `x << k` or `x >> k` with a constant k > 31.
    ShiftTooLarge,
    /// More than a limit of the parser or the code generator.
    TooComplex(Limit),
    /// The kernel accepts at most `max` instructions.
    TooManyInstructions { n: usize, max: usize },
    /// The optimizer proved that the filter can match no packet.
    RejectsAll,
    /// Data a live socket's filter does not see as it is stored in a capture file.
    NotInKernelView(KernelView),
    /// `-Q in|out` on a target without the kernel's packet type.
    DirectionNeedsKernel,
}

/// Syntax errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// `expected {what} after '{after}'[, found {found}]`.
    Expected {
        what: Expected,
        after: String,
        found: Option<Found>,
    },
    /// A `proto[off` without its `]`.
    UnclosedBracket,
    /// A `)` without its `(`.
    UnbalancedParen,
    /// A `(` without its `)`; the span is the `(`.
    UnclosedParen,
    /// An expression that ends after a bare number: `'80' needs a qualifier`.
    BareNumber { text: String },
    /// An expression that ends after `last` (`tcp and`).
    EndsAfter { last: String },
    /// Nothing but blanks where an expression should be.
    EndsEarly,
    /// An id (`found`, written `text`) that has no qualifier to take.
    NeedsQualifier {
        found: Found,
        text: String,
        ether: bool,
    },
    /// An id where an operator must be (`host a b`).
    MissingOperator { found: Found },
    /// Any other token that cannot stand where it is.
    UnexpectedToken { found: Found },
    /// The parser ran out of input.
    Incomplete,
    /// `proto[off:size]` with a size other than 1, 2 or 4.
    DataSize { size: u32 },
}

/// What a parser expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Value,
    Number,
    PortNumberOrName,
    PortRange,
    HostAddressOrName,
    NetworkAddress,
    HostName,
    ProtocolNumberOrName,
    ByteOperator,
    DottedNetmask,
    PrefixLength,
    Offset,
    Size,
    Name,
}

/// The token a parser found instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    End,
    Token(String),
}

/// Words the scanner cannot take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadToken {
    /// `08`.
    NonOctal { number: String },
    /// `4294967296`.
    Overflow { number: String },
    /// A character that starts no token.
    UnexpectedChar { c: char },
    /// A word with a non-ASCII letter or digit `c` in it.
    NonAscii { c: char, word: String },
}

/// Bad addresses and networks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadAddress {
    InvalidIpv4 {
        text: String,
    },
    InvalidDecnet {
        text: String,
    },
    /// Six groups, `group` not a hex byte.
    BadMac {
        text: String,
        group: String,
    },
    /// Colons, but neither a MAC nor an IPv6 address.
    NeitherMacNorIpv6 {
        text: String,
    },
    /// libpcap's scanner's short hex groups with colons (`1:2:3`).
    BogusEthernet {
        text: String,
    },
    /// `/33` (max 32) or `/129` (max 128).
    MaskTooLong {
        max: u32,
    },
    /// `net` as written (`10.0.0.1/8`, `10.0.0.1 mask 255.0.0.0`) has host bits set.
    NonNetworkBits {
        net: String,
    },
    NonNetworkBitsV6,
}

/// The kinds of names that can be unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named {
    Host,
    EtherHost,
    Network,
    Port,
    PortInRange,
    /// After `proto`; `ip`/`ip6` when that qualified it.
    Proto(Option<&'static str>),
    EtherProto,
    OsiProto,
    /// After `protochain`.
    Protocol,
    LlcType,
}

/// Qualifiers that do not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QualifierMismatch {
    /// `'{modifier}' modifier applied to {to}`.
    ModifierApplied { modifier: &'static str, to: Applied },
    /// `'{qualifier}' qualifier applied to '{proto}'` (`tcp proto 6`).
    QualifierApplied {
        qualifier: &'static str,
        proto: &'static str,
    },
    /// `illegal qualifier of '{of}': '{qualifier}'` (`icmp port 80`).
    IllegalQualifier {
        of: &'static str,
        qualifier: &'static str,
    },
    /// `ether host 10.0.0.1`.
    LinkLevelIpv4 { what: &'static str },
    /// An Ethernet address without `ether`.
    EtherAddressWithoutEther,
    /// `ether 10.0.0.1`.
    IpAddressWithEther,
    /// A mask or prefix on something other than `net`.
    MaskNotNet,
    /// `gateway 10.0.0.1`.
    GatewayNeedsName,
    /// `link` alone.
    LinkNeedsQualifier,
    /// `udp port ssh`: the port's (or port range's) protocol is another.
    PortProtocol {
        what: Named,
        port: String,
        proto: &'static str,
    },
}

/// What a modifier was applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A `host`, `net` (the name given) of any family.
    Plain(&'static str),
    /// `ip {what}`: of an IPv4 address.
    Ip(&'static str),
    /// `ip6 {what}`: of an IPv6 address.
    Ip6(&'static str),
    EtherAddress,
    DecnetAddress,
    IpAddress,
    /// An address with a mask or prefix (`form`).
    IpNet(&'static str),
}

/// Numbers with a maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    VlanTag,
    GeneveVni,
    VxlanVni,
    MplsLabel,
    PppoeSession,
}

/// Primitives that exist on some link types only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkFeature {
    /// A primitive (`'gateway'`, `ethernet addresses`) that needs MAC addresses.
    Ethernet(&'static str),
    Vlan,
    Mpls,
    Llc,
    Ifindex,
    Radio,
    Direction,
    Broadcast,
    Multicast,
}

/// Combinations bpfdump does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// A protocol other than IPv4/IPv6 behind `mpls`.
    ProtoOverMpls,
    VlanAfterMpls,
    /// `protochain` after `geneve` or `vxlan` (named).
    ProtochainInTunnel {
        tunnel: &'static str,
    },
    /// `gateway` inside MPLS, Geneve or VXLAN: the MAC and the addresses would come from
    /// different layers (current libpcap refuses it too).
    GatewayWithin {
        what: &'static str,
    },
    /// `{proto} broadcast`.
    Broadcast {
        proto: &'static str,
    },
    /// `{proto} multicast`.
    Multicast {
        proto: &'static str,
    },
    /// `{proto}[...]`.
    PacketAccess {
        proto: &'static str,
    },
    /// A libpcap keyword (as written) for link types bpfdump does not compile for.
    ForeignKeyword {
        keyword: String,
    },
}

/// Limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Operands in a row, in the parser.
    Operands { max: usize },
    /// Nesting of parentheses, brackets and `not`.
    Nesting { max: usize },
    /// Values kept in scratch memory.
    Values { max: u32 },
}

/// Data a live socket's filter sees otherwise than a capture file's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelView {
    /// Cooked-header bytes without an ancillary load, on the `any` socket.
    CookedField,
    /// `protochain` behind a VLAN tag the kernel stripped, without `vlan` first.
    ProtochainNeedsVlan,
    /// A load that straddles the stripped tag.
    AcrossVlanTag { bytes: u32, offset: u32 },
}

/// Extra lines after the caret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// The id took its qualifiers from the primitive before it (`host a or port 80 or b`).
    InheritedQualifiers { quals: String },
    /// A keyword where a name was expected (`ip proto tcp`): `\tcp` is the name.
    KeywordAsName { keyword: String },
    /// Twelve hex digits where a number was expected: the scanner reads a MAC address.
    ReadAsMac,
    /// Why a live Ethernet socket's filter cannot read across bytes 12..16.
    StrippedVlanTag,
}

impl Error {
    pub fn new(kind: impl Into<ErrorKind>, span: Range<usize>) -> Error {
        Error {
            kind: kind.into(),
            span: Some(span),
            notes: Vec::new(),
        }
    }
    pub fn whole(kind: impl Into<ErrorKind>) -> Error {
        Error {
            kind: kind.into(),
            span: None,
            notes: Vec::new(),
        }
    }
    /// The error with `note` added.
    pub fn note(mut self, note: Note) -> Error {
        self.notes.push(note);
        self
    }

    /// The full text for a user: the message, then (if the error has a span) the expression
    /// and a caret line under the span, then one line per note:
    /// ```text
    /// unknown port 'http2x'
    /// tcp port http2x
    ///          ^^^^^^
    /// ```
    /// Control characters show escaped, in the message and the notes as in the expression.
    /// The caller adds its own prefix (`bpfdump: filter: `) to the first line.
    pub fn render(&self, expr: &str) -> String {
        let mut out = escape(&self.kind.to_string()).into_owned();
        if let Some(c) = self.caret(expr) {
            out.push('\n');
            out.push_str(&c);
        }
        for n in &self.notes {
            out.push_str("\nnote: ");
            out.push_str(&escape(&n.to_string()));
        }
        out
    }

    /// The expression on one line and carets under the span, for terminals:
    /// ```text
    /// tcp port http2x
    ///          ^^^^^^
    /// ```
    /// Control characters show escaped (`\x1b`), never raw: an expression can come from
    /// anyone, and an escape sequence would reach the terminal. A line longer than
    /// [`CARET_WIDTH`] columns is cut to a window around the span, `...` marking the cuts.
    fn caret(&self, expr: &str) -> Option<String> {
        let span = self.span.clone()?;
        let start = span.start.min(expr.len());
        let end = span.end.clamp(start, expr.len());
        expr.get(..start)?;
        expr.get(start..end)?;
        // Each char as shown, and the columns of the span.
        let mut shown: Vec<String> = Vec::new();
        let (mut col, mut from, mut to) = (0, None, None);
        for (at, c) in expr.char_indices() {
            if at >= start && from.is_none() {
                from = Some(col);
            }
            if at >= end && to.is_none() {
                to = Some(col);
            }
            // Filters may span argv words or lines of a -F file; show them on one line.
            let piece = if c.is_whitespace() && !c.is_control() || matches!(c, '\t' | '\n' | '\r') {
                " ".to_string()
            } else {
                escape(&c.to_string()).into_owned()
            };
            col += piece.chars().count();
            shown.push(piece);
        }
        let from = from.unwrap_or(col);
        let to = to.unwrap_or(col).max(from + 1);
        let line: String = shown.concat();
        let width = line.chars().count();
        // The window: the span with context on both sides, as much before as fits.
        let (lo, hi) = if width <= CARET_WIDTH {
            (0, width)
        } else {
            let lo = from
                .saturating_sub(CARET_WIDTH / 3)
                .min(width.saturating_sub(CARET_WIDTH));
            (lo, (lo + CARET_WIDTH).min(width))
        };
        let part: String = line.chars().skip(lo).take(hi - lo).collect();
        let (pre, post) = (
            if lo > 0 { "..." } else { "" },
            if hi < width { "..." } else { "" },
        );
        let marks = to.min(hi.max(from + 1)) - from;
        Some(format!(
            "{pre}{part}{post}\n{}{}",
            " ".repeat(pre.len() + from - lo),
            "^".repeat(marks.max(1))
        ))
    }
}

/// Most columns of the expression [`Error::render`] shows.
pub const CARET_WIDTH: usize = 100;

/// `s` with control characters escaped (`\x1b`, `\u{202e}`): C0 and C1 controls, DEL, and
/// the bidirectional overrides and isolates, which reorder what a terminal shows. For
/// echoing text from an expression or a file in a message.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    fn bad(c: char) -> bool {
        c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !bad(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
}

impl fmt::Display for Error {
    /// The one-line message (no caret, no notes; see [`Error::render`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for Error {}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match self {
            Syntax(e) => e.fmt(f),
            Token(e) => e.fmt(f),
            Address(e) => e.fmt(f),
            Unknown { what, name } => match what {
                Named::LlcType => write!(f, "unknown LLC type name \"{name}\""),
                _ => write!(f, "unknown {what} '{name}'"),
            },
            Qualifier(e) => e.fmt(f),
            ValueTooLarge { what, value, max } => {
                write!(f, "{what} {value} greater than maximum {max}")
            }
            PortTooLarge { port } => write!(f, "illegal port number {port} > 65535"),
            NoSupportForLinkType { what, linktype } => match what {
                LinkFeature::Ethernet(p) => {
                    write!(f, "{p} supported only on Ethernet (this is {linktype})")
                }
                LinkFeature::Vlan => write!(f, "no VLAN support for {linktype}"),
                LinkFeature::Mpls => write!(f, "no MPLS support for {linktype}"),
                LinkFeature::Llc => write!(f, "'llc' not supported for {linktype}"),
                LinkFeature::Ifindex => write!(
                    f,
                    "'ifindex' supported only on LINUX_SLL2 captures and live capture \
                     (this is {linktype})"
                ),
                LinkFeature::Radio => {
                    f.write_str("'radio' supported only on 802.11 radio captures")
                }
                LinkFeature::Direction => write!(
                    f,
                    "'inbound'/'outbound' need the packet direction, which {linktype} captures \
                     do not record"
                ),
                LinkFeature::Broadcast => write!(f, "not a broadcast link (this is {linktype})"),
                LinkFeature::Multicast => write!(
                    f,
                    "link-layer multicast filters supported only on Ethernet (this is {linktype})"
                ),
            },
            Unsupported(e) => e.fmt(f),
            DivisionByZero => f.write_str("division by zero"),
            ModulusByZero => f.write_str("modulus by zero"),
            ShiftTooLarge => f.write_str("shift by more than 31 bits"),
            TooComplex(l) => l.fmt(f),
            TooManyInstructions { n, max } => write!(
                f,
                "expression too complex: {n} instructions, the kernel accepts at most {max}"
            ),
            RejectsAll => f.write_str("expression rejects all packets"),
            NotInKernelView(e) => e.fmt(f),
            DirectionNeedsKernel => f.write_str(
                "a capture direction needs the kernel's packet type (live capture only)",
            ),
        }
    }
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Syntax::*;
        match self {
            Expected { what, after, found } => {
                write!(f, "expected {what} after '{after}'")?;
                match found {
                    Some(found) => write!(f, ", found {found}"),
                    None => Ok(()),
                }
            }
            UnclosedBracket => f.write_str("expected ']' to close the packet access"),
            UnbalancedParen => f.write_str("unbalanced ')'"),
            UnclosedParen => f.write_str("missing ')' for this '('"),
            BareNumber { text } => write!(
                f,
                "'{text}' needs a qualifier (such as 'port {text}') or a comparison"
            ),
            EndsAfter { last } => write!(
                f,
                "the expression ends after '{last}': something must follow it"
            ),
            EndsEarly => f.write_str("syntax error: the expression ends too early"),
            NeedsQualifier { found, text, ether } => write!(
                f,
                "{found} needs a qualifier here, such as '{}host {text}'",
                if *ether { "ether " } else { "" }
            ),
            MissingOperator { found } => {
                write!(f, "unexpected {found}: expected 'and' or 'or' before it")
            }
            UnexpectedToken { found } => write!(f, "syntax error at {found}"),
            Incomplete => f.write_str("incomplete expression"),
            DataSize { .. } => f.write_str("data size must be 1, 2, or 4"),
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Expected::*;
        f.write_str(match self {
            Value => "a value",
            Number => "a number",
            PortNumberOrName => "a port number or name",
            PortRange => "a port range",
            HostAddressOrName => "a host address or name",
            NetworkAddress => "a network address",
            HostName => "a host name",
            ProtocolNumberOrName => "a protocol number or name",
            ByteOperator => "one of & | < > =",
            DottedNetmask => "a dotted netmask",
            PrefixLength => "a prefix length",
            Offset => "an offset",
            Size => "a size (1, 2 or 4)",
            Name => "a name",
        })
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::End => f.write_str("end of expression"),
            Found::Token(t) => write!(f, "'{t}'"),
        }
    }
}

impl fmt::Display for BadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadToken::NonOctal { number } => write!(f, "number {number} contains non-octal digit"),
            BadToken::Overflow { number } => write!(f, "number {number} overflows 32 bits"),
            BadToken::UnexpectedChar { c } => write!(f, "unexpected character '{c}'"),
            BadToken::NonAscii { c, word } => write!(
                f,
                "'{c}' in '{word}' is not an ASCII letter or digit: keywords and names in a \
                 filter are ASCII"
            ),
        }
    }
}

impl fmt::Display for BadAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use BadAddress::*;
        match self {
            InvalidIpv4 { text } => write!(f, "invalid IPv4 address '{text}'"),
            InvalidDecnet { text } => write!(f, "invalid DECnet address '{text}'"),
            BadMac { text, group } => write!(
                f,
                "bad MAC address '{text}': '{group}' is not a hex byte (a MAC address is six, \
                 such as 00:1a:2b:3c:4d:5e)"
            ),
            NeitherMacNorIpv6 { text } => write!(
                f,
                "bad address '{text}': neither a MAC address nor an IPv6 address"
            ),
            BogusEthernet { text } => write!(f, "bogus ethernet address '{text}'"),
            MaskTooLong { max } => write!(f, "mask length must be <= {max}"),
            NonNetworkBits { net } => write!(f, "non-network bits set in \"{net}\""),
            NonNetworkBitsV6 => f.write_str("non-network bits set in the IPv6 address/prefix"),
        }
    }
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Named::Host => f.write_str("host"),
            Named::EtherHost => f.write_str("ether host"),
            Named::Network => f.write_str("network"),
            Named::Port => f.write_str("port"),
            Named::PortInRange => f.write_str("port in range"),
            Named::Proto(None) => f.write_str("proto"),
            Named::Proto(Some(p)) => write!(f, "{p} proto"),
            Named::EtherProto => f.write_str("ether proto"),
            Named::OsiProto => f.write_str("osi proto"),
            Named::Protocol => f.write_str("protocol"),
            Named::LlcType => f.write_str("LLC type name"),
        }
    }
}

impl fmt::Display for QualifierMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use QualifierMismatch::*;
        match self {
            ModifierApplied { modifier, to } => write!(f, "'{modifier}' modifier applied to {to}"),
            QualifierApplied { qualifier, proto } => {
                write!(f, "'{qualifier}' qualifier applied to '{proto}'")
            }
            IllegalQualifier { of, qualifier } => {
                write!(f, "illegal qualifier of '{of}': '{qualifier}'")
            }
            LinkLevelIpv4 { what } => write!(f, "link-level {what} given an IPv4 address"),
            EtherAddressWithoutEther => {
                f.write_str("ethernet address used in non-ether expression: write 'ether host'")
            }
            IpAddressWithEther => {
                f.write_str("illegal link layer address: use an Ethernet address with 'ether'")
            }
            MaskNotNet => f.write_str("Mask syntax for networks only"),
            GatewayNeedsName => f.write_str("'gateway' requires a host name"),
            LinkNeedsQualifier => {
                f.write_str("'link' (or 'ether') needs a qualifier or an index here")
            }
            PortProtocol { what, port, proto } => write!(f, "{what} '{port}' is {proto}"),
        }
    }
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Applied::Plain(what) => f.write_str(what),
            Applied::Ip(what) => write!(f, "ip {what}"),
            Applied::Ip6(what) => write!(f, "ip6 {what}"),
            Applied::EtherAddress => f.write_str("an Ethernet address"),
            Applied::DecnetAddress => f.write_str("a DECnet address"),
            Applied::IpAddress => f.write_str("IP address"),
            Applied::IpNet(form) => write!(f, "IP address and {form}"),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::VlanTag => "VLAN tag",
            Field::GeneveVni => "Geneve VNI",
            Field::VxlanVni => "VXLAN VNI",
            Field::MplsLabel => "MPLS label",
            Field::PppoeSession => "PPPoE session number",
        })
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Unsupported::*;
        match self {
            ProtoOverMpls => f.write_str("unsupported protocol over mpls"),
            VlanAfterMpls => f.write_str("'vlan' after 'mpls' is not supported"),
            ProtochainInTunnel { tunnel } => write!(
                f,
                "'protochain' not supported with variable length headers (after '{tunnel}')"
            ),
            GatewayWithin { what } => write!(f, "'gateway' cannot be used within {what}"),
            Broadcast { proto } => write!(
                f,
                "only link-layer/IP broadcast filters supported, not '{proto}'"
            ),
            Multicast { proto } => write!(
                f,
                "only link-layer/IP/IPv6 multicast filters supported, not '{proto}'"
            ),
            PacketAccess { proto } => write!(f, "'{proto}[...]' is not supported"),
            ForeignKeyword { keyword } => write!(
                f,
                "'{keyword}' is not supported on the link types bpfdump compiles for"
            ),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Operands { max } => write!(
                f,
                "expression too long: more than {max} operands in a row (no kernel filter can \
                 test that many)"
            ),
            Limit::Nesting { max } => write!(
                f,
                "expression nested too deeply: more than {max} levels of parentheses, brackets \
                 and 'not'"
            ),
            Limit::Values { max } => write!(
                f,
                "expression too complex: more than {max} intermediate values"
            ),
        }
    }
}

impl fmt::Display for KernelView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelView::CookedField => f.write_str(
                "only the whole packet type, ARPHRD type, protocol and (SLL2) interface index \
                 fields of the cooked header can be read on the kernel's cooked 'any' socket",
            ),
            KernelView::ProtochainNeedsVlan => {
                f.write_str("'protochain' on a frame with a stripped VLAN tag needs 'vlan' first")
            }
            KernelView::AcrossVlanTag { bytes, offset } => write!(
                f,
                "reading {bytes} bytes at offset {offset} across the VLAN tag of a live frame \
                 is not supported"
            ),
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::InheritedQualifiers { quals } => write!(
                f,
                "with no qualifiers of its own, this takes the qualifiers '{quals}' of the \
                 primitive before it"
            ),
            Note::KeywordAsName { keyword } => write!(
                f,
                "'{keyword}' is a keyword here; write '\\{keyword}' for the name"
            ),
            Note::ReadAsMac => f.write_str(
                "twelve hex digits read as a MAC address (as in 'ether host 001122334455')",
            ),
            Note::StrippedVlanTag => f.write_str(
                "the kernel moves a received frame's VLAN tag (bytes 12 to 15) out of the \
                 packet; a load can read within the tag or all of it (ether[12:4]), not across \
                 its edges",
            ),
        }
    }
}

macro_rules! from_class {
    ($($class:ident => $variant:ident),*) => {
        $(impl From<$class> for ErrorKind {
            fn from(e: $class) -> ErrorKind {
                ErrorKind::$variant(e)
            }
        })*
    };
}
from_class!(Syntax => Syntax, BadToken => Token, BadAddress => Address,
    QualifierMismatch => Qualifier, Unsupported => Unsupported, Limit => TooComplex,
    KernelView => NotInKernelView);
