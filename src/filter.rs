//! The filter expression: where it comes from (command line or `-F` file), compiling it for
//! a link type (once per link type, as pcapng files can mix them), running it over packets,
//! and printing compiled programs (-d, -dd, -ddd).

use std::fmt::Write as _;
use std::io::Read;

use filter_compiler::interp::Meta;
use filter_compiler::vm::Vm;
use filter_compiler::{dump, LinkType, Options, Program, Target};

use crate::cli::{strip_comments, Config, DumpFormat, FilterSource};
use crate::error::{io_message, Error};
use crate::resolver::SystemResolver;

/// Largest `-F` file read: far beyond any expression the compiler takes (its chains stop at
/// `filter_compiler::parse::MAX_CHAIN` operands).
const MAX_FILTER_FILE: u64 = 1 << 20;

/// The expression text: command-line words joined with spaces, or a `-F` file with its
/// comments blanked out.
pub fn expression(src: &FilterSource) -> Result<String, Error> {
    match src {
        FilterSource::Words(w) => Ok(w.clone()),
        FilterSource::File(path) => {
            let fail =
                |e: std::io::Error| Error::msg(format!("{}: {}", path.display(), io_message(&e)));
            let mut bytes = Vec::new();
            // Bounded: `-F /dev/zero` (or any endless source) must not read forever.
            std::fs::File::open(path)
                .and_then(|f| f.take(MAX_FILTER_FILE + 1).read_to_end(&mut bytes))
                .map_err(fail)?;
            if bytes.len() as u64 > MAX_FILTER_FILE {
                return Err(Error::msg(format!(
                    "{}: filter file larger than {} MiB; no filter is that long",
                    path.display(),
                    MAX_FILTER_FILE >> 20
                )));
            }
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::msg(format!(
                    "{}: filter file is not valid UTF-8",
                    path.display()
                ))
            })?;
            Ok(strip_comments(&text))
        }
    }
}

/// The compiler's stack: room for the deepest expression its limits let through
/// (`filter_compiler::parse::MAX_NESTING`: about 80 MiB in a debug build). Reserved address
/// space; only what a compilation touches is ever backed by memory.
const COMPILE_STACK: usize = 256 << 20;

/// Runs `f` (a compilation) on a thread with [`COMPILE_STACK`] of stack; on this thread if
/// no such thread can be made (an address-space limit), where the limits still hold but the
/// deepest expressions may not fit.
fn on_compile_stack<T: Send, F: FnOnce() -> T + Send>(f: F) -> T {
    let f = std::sync::Mutex::new(Some(f));
    let run = || {
        let f = f.lock().unwrap_or_else(|e| e.into_inner()).take();
        f.map(|f| f())
    };
    let done = std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name("compile".into())
            .stack_size(COMPILE_STACK)
            .spawn_scoped(s, run)
            .ok()?;
        h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    });
    done.or_else(run).expect("the compilation ran")
}

/// Compiles `expr` for one link type; a compile error becomes `bpfdump: filter: ...` with
/// the caret line.
pub fn compile(
    expr: &str,
    linktype: LinkType,
    snaplen: u32,
    optimize: bool,
    resolver: &SystemResolver,
) -> Result<Program, Error> {
    let opts = Options {
        optimize,
        snaplen,
        netmask: 0,
        resolver,
    };
    compile_for(expr, &Target::offline(linktype), &opts, None)
}

/// Compiles `expr` for any target, keeping only packets of `direction` if given (live only).
pub fn compile_for(
    expr: &str,
    target: &Target,
    opts: &Options,
    direction: Option<filter_compiler::Direction>,
) -> Result<Program, Error> {
    on_compile_stack(|| filter_compiler::compile_directed(expr, target, opts, direction)).map_err(
        |e| Error::Filter {
            text: e.render(expr),
        },
    )
}

/// `--explain`: the program as lowered and after each optimizer pass that changed it, as
/// one listing (`; PASS: N instructions` above each program).
pub fn explain_for(
    expr: &str,
    target: &Target,
    opts: &Options,
    direction: Option<filter_compiler::Direction>,
) -> Result<String, Error> {
    let steps = on_compile_stack(|| filter_compiler::explain(expr, target, opts, direction))
        .map_err(|e| Error::Filter {
            text: e.render(expr),
        })?;
    let mut out = String::new();
    let mut before = None;
    for s in &steps {
        let n = s.program.len();
        let _ = match before {
            None => writeln!(out, "; {}: {n} instructions", s.pass),
            Some(b) => writeln!(out, "\n; after {}: {b} -> {n} instructions", s.pass),
        };
        out.push_str(&dump::asm(&s.program.insns));
        if !out.ends_with('\n') {
            out.push('\n');
        }
        before = Some(n);
    }
    Ok(out)
}

/// The optimized IR of `expr`, for the eBPF backend; errors as [`compile_for`]'s, naming the
/// rule when it is one.
pub fn compile_cfg_for(
    expr: &str,
    target: &Target,
    opts: &Options,
    direction: Option<filter_compiler::Direction>,
    rule: Option<&str>,
) -> Result<filter_compiler::ir::Cfg, Error> {
    on_compile_stack(|| filter_compiler::compile_cfg(expr, target, opts, direction)).map_err(|e| {
        let text = e.render(expr);
        Error::Filter {
            text: match rule {
                Some(name) => format!("rule {}: {text}", filter_compiler::error::escape(name)),
                None => text,
            },
        }
    })
}

/// tcpdump-style names of link types, for "reading from file ..., link-type NAME (DESC)".
pub fn linktype_names(linktype: u32) -> Option<(&'static str, &'static str)> {
    Some(match linktype {
        0 => ("NULL", "BSD loopback"),
        1 => ("EN10MB", "Ethernet"),
        9 => ("PPP", "PPP"),
        12 | 14 | 101 => ("RAW", "Raw IP"),
        105 => ("IEEE802_11", "802.11"),
        108 => ("LOOP", "OpenBSD loopback"),
        113 => ("LINUX_SLL", "Linux cooked v1"),
        127 => ("IEEE802_11_RADIO", "802.11 plus radiotap header"),
        228 => ("IPV4", "Raw IPv4"),
        229 => ("IPV6", "Raw IPv6"),
        276 => ("LINUX_SLL2", "Linux cooked v2"),
        _ => return None,
    })
}

/// `link-type EN10MB (Ethernet)` or `link-type 147`.
pub fn describe_linktype(linktype: u32) -> String {
    match linktype_names(linktype) {
        Some((name, desc)) => format!("link-type {name} ({desc})"),
        None => format!("link-type {linktype}"),
    }
}

/// Compiled programs for the link types met in a file.
pub struct Filters {
    expr: String,
    optimize: bool,
    resolver: SystemResolver,
    /// Per link type met so far (a file has one or a few: a list beats hashing per
    /// packet): the program, and its decoded form that runs over the packets. None: no
    /// program for this link type, keep every packet (empty expression only).
    programs: Vec<(u32, Option<(Program, Vm)>)>,
    meta: Meta,
}

impl Filters {
    pub fn new(expr: String, cfg: &Config) -> Filters {
        Filters {
            expr,
            optimize: cfg.optimize,
            resolver: SystemResolver::default(),
            programs: Vec::new(),
            meta: Meta::default(),
        }
    }

    fn is_empty(&self) -> bool {
        self.expr.trim().is_empty()
    }

    /// The program for a link type, compiling it the first time. A link type the compiler
    /// does not handle is an error, unless the expression is empty (then everything is kept).
    pub fn program(&mut self, linktype: u32, snaplen: u32) -> Result<Option<&Program>, Error> {
        let i = match self.programs.iter().position(|(lt, _)| *lt == linktype) {
            Some(i) => i,
            None => {
                let prog = match LinkType::from_linktype(linktype) {
                    Some(lt) => {
                        let p = compile(&self.expr, lt, snaplen, self.optimize, &self.resolver)?;
                        let vm = Vm::new(&p.insns);
                        Some((p, vm))
                    }
                    None if self.is_empty() => None,
                    None => {
                        return Err(Error::msg(format!(
                            "filter: {} is not supported by the filter compiler (it handles \
                         EN10MB, LINUX_SLL, LINUX_SLL2 and RAW); only an empty expression can \
                         be used with it",
                            describe_linktype(linktype)
                        )))
                    }
                };
                self.programs.push((linktype, prog));
                self.programs.len() - 1
            }
        };
        Ok(self.programs[i].1.as_ref().map(|(p, _)| p))
    }

    /// The decoded program for a link type (None: keep everything) and the metadata to run
    /// it with, for a caller that runs it over many packets of that link type.
    pub fn decoded(&mut self, linktype: u32, snaplen: u32) -> Result<(Option<&Vm>, &Meta), Error> {
        self.program(linktype, snaplen)?;
        let vm = self
            .programs
            .iter()
            .find(|(lt, _)| *lt == linktype)
            .and_then(|(_, p)| p.as_ref())
            .map(|(_, vm)| vm);
        Ok((vm, &self.meta))
    }

    /// Whether a packet passes: the program returns nonzero.
    pub fn matches(
        &mut self,
        linktype: u32,
        snaplen: u32,
        pkt: &[u8],
        wirelen: u32,
    ) -> Result<bool, Error> {
        if self.programs.first().map(|(lt, _)| *lt) != Some(linktype) {
            self.program(linktype, snaplen)?;
        }
        let prog = self
            .programs
            .iter()
            .find(|(lt, _)| *lt == linktype)
            .and_then(|(_, p)| p.as_ref());
        let pass = match prog {
            None => true,
            Some((_, vm)) => vm.run(pkt, wirelen, &self.meta) != 0,
        };
        Ok(pass)
    }
}

/// The program printed in one of tcpdump's formats, ending with a newline.
pub fn dump_text(prog: &Program, format: DumpFormat) -> String {
    let mut s = match format {
        // (Ebpf dumps are routed to the eBPF listing before a classic program exists.)
        DumpFormat::Asm | DumpFormat::Ebpf => dump::asm(&prog.insns),
        DumpFormat::C => dump::c(&prog.insns),
        DumpFormat::Decimal => dump::decimal(&prog.insns),
    };
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}
