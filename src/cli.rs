//! Command line: tcpdump's flags for what this milestone does (read a capture file, filter it,
//! write or summarize the packets; print compiled filters), parsed with clap and checked the
//! way tcpdump checks them.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, CommandFactory, Parser, ValueEnum};
use filter_compiler::LinkType;

use crate::error::Error;

/// tcpdump's MAXIMUM_SNAPLEN: the default snapshot length, and what `-s 0` means.
pub const MAX_SNAPLEN: u32 = 262_144;
/// Default capture ring (`-B`), KiB: 8 MiB (libpcap: 2 MiB in 8 blocks of 256 KiB).
/// Measured against 16 MiB (bench/README.md): as few or fewer drops, and less start-up cost
/// (the kernel zeroes and maps every page of the ring, ~0.1 ms per MiB, which dominates a
/// capture that keeps little). --help states it; a test checks the two agree.
pub const DEFAULT_RING_KIB: u64 = 8192;

#[derive(Parser, Debug)]
#[command(
    name = "bpfdump",
    version,
    disable_version_flag = true,
    about = "Capture packets, or filter capture files, with pcap-filter(7) expressions, tcpdump style",
    color = clap::ColorChoice::Never
)]
struct Args {
    /// Print the compiled filter and exit: -d readable, -dd as a C array, -ddd as decimal numbers
    #[arg(short = 'd', action = ArgAction::Count)]
    dump: u8,

    /// Print the compiled filter and exit (long form of -d/-dd/-ddd)
    #[arg(
        long = "dump-bytecode",
        value_name = "FORMAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "asm",
        conflicts_with = "dump",
        value_enum
    )]
    dump_bytecode: Option<DumpFormat>,

    /// Show how the filter is optimized: the program as lowered, then after each optimizer
    /// pass that changed it (for -y's link type, or -i's interface as the kernel sees it)
    #[arg(long = "explain")]
    explain: bool,

    /// Read packets from a pcap or pcapng file ("-" for standard input)
    #[arg(short = 'r', value_name = "FILE")]
    read: Option<PathBuf>,

    /// Read the capture files named in FILE, one a line ("-" for standard input), in turn,
    /// as one capture (one filter, one -c count, one -w output)
    #[arg(short = 'V', value_name = "FILE")]
    read_list: Option<PathBuf>,

    /// Write the matching packets, unchanged, to a capture file ("-" for standard output)
    #[arg(short = 'w', value_name = "FILE")]
    write: Option<PathBuf>,

    /// Stop after COUNT matching packets
    #[arg(short = 'c', value_name = "COUNT", allow_hyphen_values = true)]
    count: Option<String>,

    /// Read the filter expression from FILE ('#' starts a comment)
    #[arg(short = 'F', value_name = "FILE")]
    filter_file: Option<PathBuf>,

    /// Link-layer type: with -i, the interface's own (checked); with -d alone, the one to
    /// compile for: EN10MB (default), LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6
    #[arg(short = 'y', value_name = "LINKTYPE")]
    linktype: Option<String>,

    /// Do not run the filter optimizer
    #[arg(short = 'O')]
    no_optimize: bool,

    /// Snapshot length: the value accepting filters return (0 means 262144; with -r the file's)
    #[arg(short = 's', value_name = "SNAPLEN", allow_hyphen_values = true)]
    snaplen: Option<String>,

    /// Capture live on INTERFACE ("any" for all interfaces, as LINUX_SLL2)
    #[arg(short = 'i', long = "interface", value_name = "INTERFACE")]
    interface: Option<String>,

    /// List the interfaces that can be captured on, and exit
    #[arg(short = 'D', long = "list-interfaces")]
    list_interfaces: bool,

    /// Do not put the interface into promiscuous mode
    #[arg(short = 'p', long = "no-promiscuous-mode")]
    no_promiscuous: bool,

    /// Capture ring size in KiB (default 8192)
    #[arg(
        short = 'B',
        long = "buffer-size",
        value_name = "KIB",
        allow_hyphen_values = true
    )]
    buffer_size: Option<String>,

    /// Capture only packets received (in), sent (out), or both (inout)
    #[arg(short = 'Q', long = "direction", value_name = "DIRECTION")]
    direction: Option<String>,

    /// Hand each packet over as soon as it arrives (1 ms ring timeout)
    #[arg(long = "immediate-mode")]
    immediate: bool,

    /// With -w, write each packet to the file as soon as it is captured
    #[arg(short = 'U', long = "packet-buffered")]
    packet_buffered: bool,

    /// With -w, start a new file when the current one is larger than SIZE million bytes
    #[arg(short = 'C', value_name = "SIZE", allow_hyphen_values = true)]
    file_size: Option<String>,

    /// With -w, start a new file every SECONDS (the name may hold strftime(3) conversions)
    #[arg(short = 'G', value_name = "SECONDS", allow_hyphen_values = true)]
    rotate_seconds: Option<String>,

    /// With -C, keep at most COUNT files (reusing names); with -G alone, stop after COUNT files
    #[arg(short = 'W', value_name = "COUNT", allow_hyphen_values = true)]
    file_count: Option<String>,

    /// After opening the capture and the first file, run as USER (default: the sudo user, or
    /// nobody; -Z root stays root)
    #[arg(short = 'Z', long = "relinquish-privileges", value_name = "USER")]
    user: Option<String>,

    /// Timestamps written and printed: micro (default) or nano
    #[arg(long = "time-stamp-precision", value_name = "PRECISION")]
    precision: Option<String>,

    /// Shorthand for --time-stamp-precision=nano
    #[arg(long = "nano")]
    nano: bool,

    /// With -w, write pcapng instead of pcap
    #[arg(long = "pcapng")]
    pcapng: bool,

    /// Time stamps of a live capture: host (the kernel's, the only kind bpfdump takes)
    #[arg(short = 'j', long = "time-stamp-type", value_name = "TYPE")]
    tstamp_type: Option<String>,

    /// List the time stamp types of the interface, and exit
    #[arg(short = 'J', long = "list-time-stamp-types")]
    list_tstamp_types: bool,

    /// Do not verify IP, TCP and UDP checksums (-v prints nothing about them)
    #[arg(short = 'K', long = "dont-verify-checksums")]
    no_checksums: bool,

    /// Print host names without their domain (nic, not nic.ddn.mil)
    #[arg(short = 'N')]
    no_domain: bool,

    /// With -w, also print each packet written (on standard output)
    #[arg(long = "print")]
    print_too: bool,

    /// Do not resolve host names (-n), nor port and protocol names (-nn)
    #[arg(short = 'n', action = ArgAction::Count)]
    numeric: u8,

    /// Timestamps: -t none, -tt seconds since the epoch, -ttt delta from the previous packet,
    /// -tttt date and time, -ttttt delta from the first packet
    #[arg(short = 't', action = ArgAction::Count)]
    time: u8,

    /// More detail (-v, -vv, -vvv)
    #[arg(short = 'v', action = ArgAction::Count)]
    verbose: u8,

    /// Less protocol information
    #[arg(short = 'q')]
    quiet: bool,

    /// Print the link-level header
    #[arg(short = 'e')]
    link_header: bool,

    /// Print each packet in hex (-xx: with its link-level header)
    #[arg(short = 'x', action = ArgAction::Count)]
    hex: u8,

    /// Print each packet in hex and ASCII (-XX: with its link-level header)
    #[arg(short = 'X', action = ArgAction::Count)]
    hex_ascii: u8,

    /// Print each packet in ASCII (-AA: with its link-level header)
    #[arg(short = 'A', action = ArgAction::Count)]
    ascii: u8,

    /// Absolute TCP sequence numbers
    #[arg(short = 'S', long = "absolute-tcp-sequence-numbers")]
    absolute_seq: bool,

    /// Number the packets
    #[arg(short = '#', long = "number")]
    number: bool,

    /// Line-buffered output
    #[arg(short = 'l')]
    line_buffered: bool,

    /// eBPF backend: capture as usual, with an eBPF filter that also counts every packet the
    /// socket sees (by class, rule and flow) in the kernel; the counters print at the end
    #[arg(long = "ebpf", help_heading = "eBPF counters")]
    ebpf: bool,

    /// Count only, in the kernel: no packet is copied to user space; the counters print at
    /// the end (and every --interval). With -r or -V, as tcpdump's: print only how many
    /// packets match
    #[arg(long = "count", help_heading = "eBPF counters")]
    count_only: bool,

    /// Full-screen live view of the counters (q quits); with -w it also captures
    #[arg(long = "top", help_heading = "eBPF counters")]
    top: bool,

    /// A named filter counted in the same pass (repeatable): --rule https='tcp port 443'
    #[arg(
        long = "rule",
        value_name = "NAME=EXPRESSION",
        help_heading = "eBPF counters"
    )]
    rules: Vec<String>,

    /// Counters as one JSON object per line on standard output (the last line: final totals)
    #[arg(long = "json", help_heading = "eBPF counters")]
    json: bool,

    /// Print the counters every SECONDS (with --top: its refresh; default 1)
    #[arg(
        long = "interval",
        value_name = "SECONDS",
        help_heading = "eBPF counters"
    )]
    interval: Option<String>,

    /// Stop after SECONDS
    #[arg(
        long = "duration",
        value_name = "SECONDS",
        help_heading = "eBPF counters"
    )]
    duration: Option<String>,

    /// Entries of the in-kernel table of matched flows (an LRU: fixed memory; 0: no table)
    #[arg(
        long = "flows",
        allow_hyphen_values = true,
        value_name = "N",
        help_heading = "eBPF counters"
    )]
    flows: Option<String>,

    /// Print the version and what the filter compiler handles (long only: tcpdump's -V
    /// means something else)
    #[arg(long = "version")]
    version: bool,

    /// Print the manual page (roff), e.g. `bpfdump --man | man -l -`, or save it as
    /// /usr/local/share/man/man8/bpfdump.8
    #[arg(long = "man", help_heading = "Installation")]
    man: bool,

    /// Print a completion script for SHELL: bash, zsh, fish, elvish or powershell (e.g.
    /// `bpfdump --completions bash > /etc/bash_completion.d/bpfdump`)
    #[arg(
        long = "completions",
        value_name = "SHELL",
        help_heading = "Installation"
    )]
    completions: Option<clap_complete::Shell>,

    /// tcpdump flags bpfdump does not have: taken, then refused with a message saying so
    /// (and what to use instead), rather than clap's "unexpected argument".
    #[arg(short = 'a', hide = true)]
    t_a: bool,
    #[arg(short = 'b', hide = true)]
    t_b: bool,
    #[arg(short = 'E', hide = true, value_name = "SPI@IP ALGO:SECRET")]
    t_e: Option<String>,
    #[arg(short = 'f', hide = true)]
    t_f: bool,
    #[arg(short = 'H', hide = true)]
    t_h: bool,
    #[arg(short = 'I', long = "monitor-mode", hide = true)]
    t_i: bool,
    #[arg(short = 'L', long = "list-data-link-types", hide = true)]
    t_l: bool,
    #[arg(short = 'm', hide = true)]
    t_m: Option<String>,
    #[arg(short = 'M', hide = true)]
    t_mm: Option<String>,
    #[arg(short = 'T', hide = true)]
    t_t: Option<String>,
    #[arg(short = 'u', hide = true)]
    t_u: bool,
    #[arg(short = 'z', hide = true)]
    t_z: Option<String>,

    /// Filter expression (pcap-filter(7)); the words are joined with spaces
    #[arg(value_name = "EXPRESSION")]
    expression: Vec<String>,
}

/// How to print a compiled program (tcpdump's -d, -dd, -ddd).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// Readable listing, `(000) ldh [12]`
    Asm,
    /// C array initializer, `{ 0x28, 0, 0, 0x0000000c },`
    C,
    /// Instruction count, then `code jt jf k` in decimal
    Decimal,
    /// The eBPF program (--ebpf, --count, --top) as assembly, maps named
    Ebpf,
}

/// Default size of the flow table: 8192 flows, about 1 MiB of kernel memory.
pub const DEFAULT_FLOWS: u32 = 8192;
/// At most this many --rule flags.
pub const MAX_RULES: usize = 64;

/// What the eBPF backend does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EbpfMode {
    /// Capture as usual (-w, printing), counting besides.
    Capture,
    /// Count only: the program keeps no packet.
    Count,
}

/// The eBPF backend's options (--ebpf, --count, --top and the flags that go with them).
#[derive(Debug, Clone)]
pub struct Ebpf {
    pub mode: EbpfMode,
    /// The full-screen view instead of printed reports.
    pub top: bool,
    pub json: bool,
    /// Report (or refresh) every this long; None: only at the end (--top: 1 s).
    pub interval: Option<std::time::Duration>,
    pub duration: Option<std::time::Duration>,
    pub rules: Vec<crate::bpf::report::Rule>,
    pub flows: u32,
}

/// Where the filter expression comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterSource {
    /// Words from the command line, joined with single spaces.
    Words(String),
    /// `-F FILE`.
    File(PathBuf),
}

/// `-Q`: which packets by direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
    InOut,
}

/// What live capture needs beyond the common options.
#[derive(Debug, Clone)]
pub struct Live {
    pub interface: Option<String>,
    pub list_interfaces: bool,
    pub promiscuous: bool,
    /// -B, in bytes.
    pub buffer_bytes: Option<u64>,
    pub direction: Direction,
    pub immediate: bool,
    pub packet_buffered: bool,
    /// -C, in bytes.
    pub rotate_bytes: Option<u64>,
    pub rotate_secs: Option<u64>,
    pub max_files: Option<u32>,
    pub user: Option<String>,
    pub nanos: bool,
    pub pcapng: bool,
}

/// A checked command line.
#[derive(Debug)]
pub struct Config {
    pub print: crate::print::Options,
    /// --print: with -w, print the packets written too.
    pub print_too: bool,
    /// -J: list the interface's time stamp types.
    pub list_tstamp_types: bool,
    /// --count with -r/-V (tcpdump's): print only how many packets match.
    pub count_packets: bool,
    pub live: Live,
    pub dump: Option<DumpFormat>,
    /// --explain: print the program after each optimizer pass, then exit.
    pub explain: bool,
    pub read: Option<PathBuf>,
    /// -V: a file naming capture files to read in turn.
    pub read_list: Option<PathBuf>,
    pub write: Option<PathBuf>,
    pub count: Option<u64>,
    pub filter: FilterSource,
    pub linktype: LinkType,
    /// Whether -y named it (a live capture then checks the interface has it).
    pub linktype_given: bool,
    pub optimize: bool,
    pub snaplen: u32,
    /// The eBPF backend, if asked for.
    pub ebpf: Option<Ebpf>,
    /// -v, also for what is not printing (the verifier's log).
    pub verbose: u8,
    /// Warnings to print before running (e.g. expression words ignored because of -F).
    pub warnings: Vec<String>,
}

/// What parsing the command line came to.
pub enum Parsed {
    Run(Box<Config>),
    /// --help or --version: print `text` on stdout and exit 0.
    Info(String),
}

pub fn parse<I, T>(args: I) -> Result<Parsed, Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    Ok(Parsed::Info(e.render().to_string()))
                }
                _ => Err(Error::msg(one_line(&e.render().to_string()))),
            };
        }
    };
    if args.version {
        return Ok(Parsed::Info(version_text()));
    }
    if args.man {
        return man_page().map(Parsed::Info);
    }
    if let Some(shell) = args.completions {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Args::command(), "bpfdump", &mut out);
        return Ok(Parsed::Info(String::from_utf8_lossy(&out).into_owned()));
    }
    Config::from_args(args).map(|c| Parsed::Run(Box::new(c)))
}

/// `--version`: the version, then what the filter compiler handles.
pub fn version_text() -> String {
    let mut s = format!(
        "bpfdump {}
",
        env!("CARGO_PKG_VERSION")
    );
    s += "filter compiler: pcap-filter(7) expressions, no libpcap
";
    for b in filter_compiler::BACKENDS {
        s += &format!(
            "  back end: {b}
"
        );
    }
    s += &format!(
        "  link types: {}
",
        LinkType::ALL.map(LinkType::name).join(", ")
    );
    s += "capture: AF_PACKET with a TPACKET_V3 ring; files: pcap and pcapng
";
    s
}

/// The manual page, from the same definition as --help (section 8, as tcpdump's).
pub fn man_page() -> Result<String, Error> {
    let cmd = Args::command();
    let man = clap_mangen::Man::new(cmd).section("8");
    let mut out = Vec::new();
    man.render(&mut out)
        .map_err(|e| Error::msg(format!("rendering the manual page: {e}")))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// clap's multi-line usage error as one line: its first line, without the `error: ` prefix.
fn one_line(rendered: &str) -> String {
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first).trim_end();
    format!("{first} (see bpfdump --help)")
}

impl Config {
    fn from_args(a: Args) -> Result<Config, Error> {
        let missing = [
            (
                a.t_a,
                "-a (names for network and broadcast addresses) is not supported",
            ),
            (
                a.t_b,
                "-b (BGP AS numbers in ASDOT notation) is not supported",
            ),
            (
                a.t_e.is_some(),
                "-E: bpfdump does not decrypt ESP; Wireshark or tshark can, given the \
                 security associations",
            ),
            (
                a.t_f,
                "-f (foreign IPv4 addresses printed numerically) is not supported; -n prints \
                 every address numerically",
            ),
            (a.t_h, "-H (802.11s mesh headers) is not supported"),
            (
                a.t_i,
                "-I (monitor mode) is not supported: bpfdump captures Ethernet, cooked and \
                 raw-IP interfaces",
            ),
            (
                a.t_l,
                "-L is not supported: bpfdump captures an interface with one link type, which \
                 its 'listening on' line names",
            ),
            (a.t_m.is_some(), "-m (SMI MIB modules) is not supported"),
            (a.t_mm.is_some(), "-M (TCP-MD5 secrets) is not supported"),
            (
                a.t_t.is_some(),
                "-T (printing packets as another protocol) is not supported",
            ),
            (a.t_u, "-u (undecoded NFS handles) is not supported"),
            (
                a.t_z.is_some(),
                "-z (a command run on each finished file) is not supported: run it on the \
                 files -C/-G leave, e.g. from a loop or with inotifywait",
            ),
        ];
        if let Some((_, why)) = missing.iter().find(|(on, _)| *on) {
            return Err(Error::msg(format!("tcpdump's {why}")));
        }
        let ebpf = ebpf_options(&a)?;
        let dump = match (a.dump, a.dump_bytecode) {
            (_, Some(f)) => Some(f),
            (0, None) => None,
            (1, None) if ebpf.is_some() => Some(DumpFormat::Ebpf),
            (1, None) => Some(DumpFormat::Asm),
            (2, None) => Some(DumpFormat::C),
            (_, None) => Some(DumpFormat::Decimal),
        };
        let linktype = match &a.linktype {
            None => LinkType::En10mb,
            Some(name) => LinkType::from_name(name).ok_or_else(|| {
                Error::msg(format!(
                    "invalid data link type {name} (valid: {})",
                    LinkType::ALL.map(LinkType::name).join(", ")
                ))
            })?,
        };
        let snaplen = match &a.snaplen {
            None => MAX_SNAPLEN,
            Some(s) => parse_snaplen(s)?,
        };
        let count = match &a.count {
            None => None,
            Some(s) => Some(parse_count(s)?),
        };
        let mut warnings = Vec::new();
        let filter = match a.filter_file {
            Some(path) => {
                if !a.expression.is_empty() {
                    warnings.push(format!(
                        "WARNING: -F given, ignoring the expression on the command line ({})",
                        a.expression.join(" ")
                    ));
                }
                FilterSource::File(path)
            }
            None => FilterSource::Words(a.expression.join(" ")),
        };
        let positive = |v: &Option<String>, what: &str| -> Result<Option<u64>, Error> {
            match v {
                None => Ok(None),
                Some(s) => match parse_c_integer(s) {
                    Some(n) if n > 0 => Ok(Some(n as u64)),
                    _ => Err(Error::msg(format!("invalid {what} {s}"))),
                },
            }
        };
        let rotate_bytes = positive(&a.file_size, "file size")?
            .map(|mb| {
                mb.checked_mul(1_000_000)
                    .ok_or_else(|| Error::msg("invalid file size"))
            })
            .transpose()?;
        let rotate_secs = match &a.rotate_seconds {
            None => None,
            Some(s) => match parse_c_integer(s) {
                Some(n) if n >= 0 => Some(n as u64),
                _ => return Err(Error::msg(format!("invalid number of seconds {s}"))),
            },
        };
        let max_files = positive(&a.file_count, "number of output files")?
            .map(|n| u32::try_from(n).map_err(|_| Error::msg("invalid number of output files")))
            .transpose()?;
        let buffer_bytes =
            positive(&a.buffer_size, "packet buffer size")?.map(|k| k.saturating_mul(1024));
        let direction = match a.direction.as_deref() {
            None | Some("inout") => Direction::InOut,
            Some("in") => Direction::In,
            Some("out") => Direction::Out,
            Some(d) => {
                return Err(Error::msg(format!(
                    "unknown capture direction `{d}' (in, out or inout)"
                )))
            }
        };
        let nanos = match a.precision.as_deref() {
            None => a.nano,
            Some("micro") => false,
            Some("nano") => true,
            Some(p) => {
                return Err(Error::msg(format!(
                    "unsupported time stamp precision {p} (micro or nano)"
                )))
            }
        };
        let rotating = rotate_bytes.is_some() || rotate_secs.is_some();
        // Options that shape the file -w writes mean nothing without it: say so rather than
        // ignore them (tcpdump ignores them).
        if a.write.is_none() {
            let for_w = [
                (a.file_size.is_some(), "-C"),
                (a.rotate_seconds.is_some(), "-G"),
                (a.file_count.is_some(), "-W"),
                (a.pcapng, "--pcapng"),
            ];
            if let Some((_, f)) = for_w.iter().find(|(on, _)| *on) {
                return Err(Error::msg(format!(
                    "{f} shapes the file -w writes: give -w FILE (without it nothing is written)"
                )));
            }
        }
        // libpcap's time stamp types (pcap-tstamp(7)); only host ones are what we take.
        if let Some(t) = &a.tstamp_type {
            const TYPES: [&str; 6] = [
                "host",
                "host_lowprec",
                "host_hiprec",
                "host_hiprec_unsynced",
                "adapter",
                "adapter_unsynced",
            ];
            if !TYPES.contains(&t.to_ascii_lowercase().as_str()) {
                return Err(Error::msg(format!("invalid time stamp type {t}")));
            }
            if a.read.is_some() || a.read_list.is_some() {
                return Err(Error::msg(
                    "-j sets how a live capture is time-stamped; a file's time stamps are as \
                     recorded (drop -j)",
                ));
            }
            if !t.eq_ignore_ascii_case("host") {
                return Err(Error::msg(format!(
                    "-j {t}: bpfdump takes the kernel's host time stamps only, not the \
                     adapter's (-J lists what works)"
                )));
            }
        }
        if a.explain {
            let clash = [
                (
                    a.read.is_some() || a.read_list.is_some(),
                    "-r/-V (give -y LINKTYPE)",
                ),
                (a.write.is_some(), "-w"),
                (a.dump > 0 || a.dump_bytecode.is_some(), "-d"),
                (ebpf.is_some(), "the eBPF modes"),
                (a.no_optimize, "-O (it shows the optimizer's passes)"),
            ];
            if let Some((_, what)) = clash.iter().find(|(on, _)| *on) {
                return Err(Error::msg(format!(
                    "--explain prints the optimizer's steps and exits: it does not go with {what}"
                )));
            }
        }
        if a.linktype.is_some() && (a.read.is_some() || a.read_list.is_some()) {
            return Err(Error::msg(
                "-y with -r/-V: a capture file's link type is the one it records; -y applies \
                 to capturing (-i) and to -d without a file",
            ));
        }
        if a.count_only && (a.read.is_some() || a.read_list.is_some()) && a.write.is_some() {
            return Err(Error::msg(
                "--count with -r prints how many packets match and writes none: drop -w",
            ));
        }
        if a.print_too && a.write.as_deref().is_some_and(|w| w.as_os_str() == "-") {
            return Err(Error::msg(
                "--print with -w -: the packets and the printed lines would both go to \
                 standard output; give -w a file name",
            ));
        }
        if max_files.is_some() && !rotating {
            return Err(Error::msg(
                "-W limits the files -C or -G make: give one of them, or drop -W",
            ));
        }
        if rotating && a.write.as_deref().is_some_and(|w| w.as_os_str() == "-") {
            return Err(Error::msg(
                "-C and -G write a series of files: give -w a file name, not -",
            ));
        }
        if a.read.is_some() && a.read_list.is_some() {
            return Err(Error::msg("-V and -r are mutually exclusive"));
        }
        if a.interface.is_some() && a.read_list.is_some() {
            return Err(Error::msg(
                "-i and -V: capture live or read files, not both",
            ));
        }
        if a.interface.is_some() && a.read.is_some() {
            return Err(Error::msg(
                "-i and -r: capture live or read a file, not both",
            ));
        }
        let live = Live {
            interface: a.interface,
            list_interfaces: a.list_interfaces,
            promiscuous: !a.no_promiscuous,
            buffer_bytes,
            direction,
            immediate: a.immediate,
            packet_buffered: a.packet_buffered,
            rotate_bytes,
            rotate_secs,
            max_files,
            user: a.user,
            nanos,
            pcapng: a.pcapng,
        };
        let print = crate::print::Options {
            numeric: a.numeric,
            time: crate::print::TimeFormat::from_count(a.time),
            nano: nanos,
            verbose: a.verbose,
            quiet: a.quiet,
            link: a.link_header,
            hex: if a.hex_ascii > 0 { a.hex_ascii } else { a.hex },
            hex_ascii: a.hex_ascii > 0,
            ascii: a.ascii,
            absolute_seq: a.absolute_seq,
            number: a.number,
            line_buffered: a.line_buffered,
            no_checksums: a.no_checksums,
            no_domain: a.no_domain,
        };
        Ok(Config {
            print,
            print_too: a.print_too,
            list_tstamp_types: a.list_tstamp_types,
            count_packets: a.count_only && ebpf.is_none(),
            live,
            dump,
            explain: a.explain,
            read: a.read,
            read_list: a.read_list,
            write: a.write,
            count,
            filter,
            linktype,
            linktype_given: a.linktype.is_some(),
            optimize: !a.no_optimize,
            snaplen,
            ebpf,
            verbose: a.verbose,
            warnings,
        })
    }
}

/// A duration in seconds, decimals allowed (`0.5`), more than zero.
fn parse_seconds(s: &str, what: &str) -> Result<std::time::Duration, Error> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() && v < 1e9 => Ok(std::time::Duration::from_secs_f64(v)),
        _ => Err(Error::msg(format!(
            "invalid {what} {s} (seconds, more than 0)"
        ))),
    }
}

/// `--rule NAME=EXPRESSION`: a name of letters, digits, `_ - . :`, unique.
fn parse_rule(
    s: &str,
    seen: &[crate::bpf::report::Rule],
) -> Result<crate::bpf::report::Rule, Error> {
    let Some((name, expr)) = s.split_once('=') else {
        return Err(Error::msg(format!(
            "--rule {s}: give a name and a filter, as in --rule https='tcp port 443'"
        )));
    };
    let name = name.trim();
    let ok = |c: char| c.is_ascii_alphanumeric() || "_-.:".contains(c);
    if name.is_empty() || name.len() > 32 || !name.chars().all(ok) {
        return Err(Error::msg(format!(
            "--rule {s}: a rule name is 1 to 32 letters, digits, '_', '-', '.' or ':'"
        )));
    }
    if seen.iter().any(|r| r.name == name) {
        return Err(Error::msg(format!(
            "--rule {s}: there is already a rule named {name}"
        )));
    }
    Ok(crate::bpf::report::Rule {
        name: name.to_string(),
        expr: expr.to_string(),
    })
}

/// The eBPF flags, checked against the rest of the command line. Any of the counting flags
/// without --count or --top means --ebpf.
fn ebpf_options(a: &Args) -> Result<Option<Ebpf>, Error> {
    let extra = !a.rules.is_empty()
        || a.json
        || a.interval.is_some()
        || a.duration.is_some()
        || a.flows.is_some();
    let dump_ebpf = a.dump_bytecode == Some(DumpFormat::Ebpf);
    if !(a.ebpf || a.count_only || a.top || extra || dump_ebpf) {
        return Ok(None);
    }
    let flag = if a.top {
        "--top"
    } else if a.count_only {
        "--count"
    } else {
        "--ebpf"
    };
    let reading = a.read.is_some() || a.read_list.is_some();
    // With -r or -V, --count is tcpdump's: print how many packets match, not the packets.
    if reading && a.count_only && !(a.ebpf || a.top || extra || dump_ebpf) {
        return Ok(None);
    }
    if reading {
        return Err(Error::msg(format!(
            "{flag} counts in the kernel, on a live interface (-i): it does not read files (-r)"
        )));
    }
    let writes = a.write.is_some();
    // --top without -w shows counters only; with -w it captures too.
    let mode = if a.count_only || (a.top && !writes) {
        EbpfMode::Count
    } else {
        EbpfMode::Capture
    };
    let refuse = |what: &str, why: &str| Err(Error::msg(format!("{what} {why}")));
    if mode == EbpfMode::Count {
        if a.count_only && writes {
            return refuse(
                "--count copies no packet, so there is nothing to write:",
                "drop -w, or use --ebpf -w FILE to capture and count",
            );
        }
        if a.count.is_some() {
            return refuse(
                "-c counts captured packets and --count captures none:",
                "use --duration SECONDS",
            );
        }
        let capture_only = [
            (a.buffer_size.is_some(), "-B"),
            (a.immediate, "--immediate-mode"),
            (a.packet_buffered, "-U"),
            (a.pcapng, "--pcapng"),
            (
                a.nano || a.precision.is_some(),
                "--nano/--time-stamp-precision",
            ),
            (a.file_size.is_some(), "-C"),
            (a.rotate_seconds.is_some(), "-G"),
            (a.file_count.is_some(), "-W"),
        ];
        let printing = [
            (a.quiet, "-q"),
            (a.link_header, "-e"),
            (a.hex > 0, "-x"),
            (a.hex_ascii > 0, "-X"),
            (a.ascii > 0, "-A"),
            (a.absolute_seq, "-S"),
            (a.number, "-#"),
            (a.time > 0, "-t"),
            (a.line_buffered && (a.top || !a.json), "-l"),
        ];
        if let Some((_, f)) = capture_only.iter().chain(&printing).find(|(on, _)| *on) {
            return Err(Error::msg(format!(
                "{f} is about captured packets, and {flag} {} none",
                if a.top && !a.count_only {
                    "without -w captures"
                } else {
                    "captures"
                }
            )));
        }
    }
    if a.top && a.json {
        return refuse("--top and --json:", "the view is the output; choose one");
    }
    if a.json
        && mode == EbpfMode::Capture
        && a.write.as_deref().is_none_or(|w| w.as_os_str() == "-")
    {
        return refuse(
            "--json with a capture needs -w FILE:",
            "packets print on standard output (or use --count --json)",
        );
    }
    if a.top && writes && a.write.as_deref().is_some_and(|w| w.as_os_str() == "-") {
        return refuse("--top needs the terminal:", "give -w a file name, not -");
    }
    if a.dump_bytecode.is_none() && a.dump > 1 {
        return refuse(
            "-dd and -ddd print classic programs;",
            "the eBPF program prints as assembly only (-d or --dump-bytecode=ebpf)",
        );
    }
    if let Some(f) = a.dump_bytecode.filter(|f| *f != DumpFormat::Ebpf) {
        return Err(Error::msg(format!(
            "--dump-bytecode={} prints the classic program; with {flag} use --dump-bytecode=ebpf",
            f.to_possible_value()
                .map_or("?".into(), |v| v.get_name().to_string())
        )));
    }
    let mut rules = Vec::new();
    for r in &a.rules {
        let r = parse_rule(r, &rules)?;
        rules.push(r);
    }
    if rules.len() > MAX_RULES {
        return Err(Error::msg(format!("at most {MAX_RULES} --rule flags")));
    }
    let flows = match &a.flows {
        None => DEFAULT_FLOWS,
        Some(s) => match parse_c_integer(s) {
            Some(n) if (0..=1 << 24).contains(&n) => n as u32,
            _ => return Err(Error::msg(format!("invalid --flows {s} (0 to 16777216)"))),
        },
    };
    Ok(Some(Ebpf {
        mode,
        top: a.top,
        json: a.json,
        interval: a
            .interval
            .as_deref()
            .map(|s| parse_seconds(s, "interval"))
            .transpose()?,
        duration: a
            .duration
            .as_deref()
            .map(|s| parse_seconds(s, "duration"))
            .transpose()?,
        rules,
        flows,
    }))
}

/// An integer the way C's `strtol(s, &end, 0)` reads it: decimal, `0x` hex or `0` octal,
/// optional sign, nothing after it.
fn parse_c_integer(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, h)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// `-s`: 0..=262144, 0 meaning 262144 (tcpdump's rules and message).
fn parse_snaplen(s: &str) -> Result<u32, Error> {
    match parse_c_integer(s) {
        Some(0) => Ok(MAX_SNAPLEN),
        Some(v) if (1..=i64::from(MAX_SNAPLEN)).contains(&v) => Ok(v as u32),
        _ => Err(Error::msg(format!(
            "invalid snaplen {s} (must be >= 0 and <= {MAX_SNAPLEN})"
        ))),
    }
}

/// `-c`: a positive packet count (tcpdump's message).
fn parse_count(s: &str) -> Result<u64, Error> {
    match parse_c_integer(s) {
        Some(v) if v > 0 => Ok(v as u64),
        _ => Err(Error::msg(format!("invalid packet count {s}"))),
    }
}

/// The text of a `-F` file as an expression: `#` to the end of the line is a comment. The
/// comment bytes become spaces, so byte offsets (and so error carets) still match the file.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_comment = false;
    for c in text.chars() {
        match c {
            '\n' => {
                in_comment = false;
                out.push('\n');
            }
            '#' => {
                in_comment = true;
                out.push(' ');
            }
            _ if in_comment => out.extend(std::iter::repeat_n(' ', c.len_utf8())),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Config, Error> {
        let mut v = vec!["bpfdump"];
        v.extend_from_slice(args);
        match parse(v)? {
            Parsed::Run(c) => Ok(*c),
            Parsed::Info(_) => panic!("unexpected help"),
        }
    }

    #[test]
    fn help_states_the_default_ring() {
        let Parsed::Info(help) = parse(["bpfdump", "--help"]).unwrap() else {
            panic!("--help did not give help");
        };
        assert!(
            help.contains(&format!(
                "Capture ring size in KiB (default {DEFAULT_RING_KIB})"
            )),
            "{help}"
        );
    }

    #[test]
    fn dump_flag_counts() {
        assert_eq!(config(&["-d"]).unwrap().dump, Some(DumpFormat::Asm));
        assert_eq!(config(&["-dd"]).unwrap().dump, Some(DumpFormat::C));
        assert_eq!(config(&["-d", "-d"]).unwrap().dump, Some(DumpFormat::C));
        assert_eq!(config(&["-ddd"]).unwrap().dump, Some(DumpFormat::Decimal));
        assert_eq!(config(&["-dddd"]).unwrap().dump, Some(DumpFormat::Decimal));
        assert_eq!(
            config(&["--dump-bytecode"]).unwrap().dump,
            Some(DumpFormat::Asm)
        );
        assert_eq!(
            config(&["--dump-bytecode=c"]).unwrap().dump,
            Some(DumpFormat::C)
        );
        assert_eq!(
            config(&["--dump-bytecode=decimal"]).unwrap().dump,
            Some(DumpFormat::Decimal)
        );
        assert_eq!(config(&[]).unwrap().dump, None);
        assert!(config(&["--dump-bytecode=x"]).is_err());
    }

    #[test]
    fn expression_words_are_joined() {
        let c = config(&["-d", "tcp", "port", "80"]).unwrap();
        assert_eq!(c.filter, FilterSource::Words("tcp port 80".into()));
    }

    #[test]
    fn snaplen_rules() {
        assert_eq!(config(&["-s", "0"]).unwrap().snaplen, 262144);
        assert_eq!(config(&["-s", "0x10"]).unwrap().snaplen, 16);
        assert_eq!(config(&["-s", "010"]).unwrap().snaplen, 8);
        assert_eq!(config(&[]).unwrap().snaplen, 262144);
        let e = config(&["-s", "300000"]).unwrap_err().to_string();
        assert_eq!(e, "invalid snaplen 300000 (must be >= 0 and <= 262144)");
        assert!(config(&["-s", "-1"]).is_err());
        assert!(config(&["-s", "12ab"]).is_err());
    }

    #[test]
    fn count_and_linktype() {
        assert_eq!(config(&["-c", "3"]).unwrap().count, Some(3));
        assert_eq!(
            config(&["-c", "0"]).unwrap_err().to_string(),
            "invalid packet count 0"
        );
        assert_eq!(
            config(&["-y", "linux_sll2"]).unwrap().linktype,
            LinkType::LinuxSll2
        );
        assert_eq!(config(&["-y", "ipv6"]).unwrap().linktype, LinkType::Ipv6);
        let e = config(&["-y", "BOGUS"]).unwrap_err().to_string();
        assert!(
            e.contains("BOGUS") && e.contains("EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6"),
            "{e}"
        );
        // Not ignored with a file.
        let e = config(&["-y", "RAW", "-r", "x.pcap"])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("-y with -r/-V"), "{e}");
    }

    #[test]
    fn usage_errors_are_one_line() {
        let e = config(&["-Z"]).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(e.contains("relinquish-privileges"), "{e}");
        let e = config(&["-g"]).unwrap_err().to_string();
        assert!(!e.contains('\n') && e.contains("-g"), "{e}");
    }

    #[test]
    fn live_flags_as_tcpdump_checks_them() {
        let c = config(&[
            "-i", "eth0", "-C", "2", "-W", "3", "-w", "f", "-B", "4096", "-Q", "in",
        ])
        .unwrap();
        assert_eq!(c.live.rotate_bytes, Some(2_000_000));
        assert_eq!(c.live.max_files, Some(3));
        assert_eq!(c.live.buffer_bytes, Some(4096 * 1024));
        assert_eq!(c.live.direction, Direction::In);
        assert!(c.live.promiscuous && !c.live.nanos);
        for (args, msg) in [
            (&["-C", "0"][..], "invalid file size 0"),
            (&["-C", "1k"][..], "invalid file size 1k"),
            (&["-W", "0"][..], "invalid number of output files 0"),
            (&["-B", "0"][..], "invalid packet buffer size 0"),
            (&["-G", "-1"][..], "invalid number of seconds -1"),
            // Option values that start with '-' are values, as getopt takes them.
            (
                &["-s", "-1"][..],
                "invalid snaplen -1 (must be >= 0 and <= 262144)",
            ),
            (&["-c", "-1"][..], "invalid packet count -1"),
            (&["-c", "-n"][..], "invalid packet count -n"),
            (&["-B", "-1"][..], "invalid packet buffer size -1"),
            (&["-C", "-1"][..], "invalid file size -1"),
            (&["-W", "-1"][..], "invalid number of output files -1"),
        ] {
            assert_eq!(config(args).unwrap_err().to_string(), msg);
        }
        assert!(config(&["-Q", "sideways"]).is_err());
        assert!(config(&["--time-stamp-precision", "pico"]).is_err());
        assert!(
            config(&["--time-stamp-precision", "nano"])
                .unwrap()
                .live
                .nanos
        );
        assert!(config(&["--nano"]).unwrap().live.nanos);
        assert!(config(&["-C", "1", "-w", "-"]).is_err());
        assert!(config(&["-i", "lo", "-r", "x.pcap"]).is_err());
        assert!(!config(&["-p"]).unwrap().live.promiscuous);
    }

    #[test]
    fn filter_file_wins_over_words() {
        let c = config(&["-F", "f.txt", "udp"]).unwrap();
        assert_eq!(c.filter, FilterSource::File("f.txt".into()));
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn comments_keep_offsets() {
        let src = "tcp # web\n and port 80 #x\n";
        let s = strip_comments(src);
        assert_eq!(s, "tcp      \n and port 80   \n");
        assert_eq!(s.len(), src.len());
    }
}
