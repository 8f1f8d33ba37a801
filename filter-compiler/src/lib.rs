//! bpfdump's filter compiler: pcap-filter(7) expressions to classic BPF.
//!
//! Pipeline: [`parse`] (text to AST with spans) -> [`lower`] (AST to a control-flow IR of
//! side-effect-free test blocks) -> [`optimize`] -> [`emit`] (IR to [`cbpf::Program`]) ->
//! [`check`] (the kernel's acceptance rules). [`interp`] runs programs with the kernel's
//! semantics; [`dump`] prints them in tcpdump's three formats. No I/O happens here: host and
//! service names come through the [`resolve::Resolver`] the caller supplies.

pub mod ast;
pub mod cbpf;
pub mod check;
pub mod dump;
pub mod ebpf;
pub mod emit;
pub mod error;
pub mod geneve;
pub mod interp;
pub mod ir;
pub mod kernel_view;
pub mod lower;
pub mod optimize;
pub mod parse;
pub mod resolve;
pub mod target;
pub mod vm;

/// The compiler's back ends, for `--version`.
pub const BACKENDS: [&str; 2] = [
    "classic BPF (the kernel's SO_ATTACH_FILTER, and bpfdump -r)",
    "eBPF socket filter with in-kernel counters (--ebpf, --count, --top)",
];

pub use cbpf::{Insn, Program};
pub use error::{Error, ErrorKind};
pub use resolve::Resolver;
pub use target::{LinkType, Mode, Target};

/// How to compile.
pub struct Options<'r> {
    /// Run the optimizer (tcpdump's default; `-O` turns it off).
    pub optimize: bool,
    /// Value returned for accepted packets (tcpdump returns the snapshot length).
    pub snaplen: u32,
    /// IPv4 netmask of the capture interface, for `ip broadcast` (0 = unknown).
    pub netmask: u32,
    /// Names of hosts, services, protocols and networks.
    pub resolver: &'r dyn Resolver,
}

/// The packets a live capture keeps by direction (tcpdump's `-Q in|out`), added to the filter
/// as a test of the kernel's packet type, so the kernel drops the others before any copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Packets the interface received (not `outbound`).
    In,
    /// Packets the host sent.
    Out,
}

/// Compiles a pcap-filter(7) expression for `target`. An empty expression accepts everything.
pub fn compile(expr: &str, target: &Target, opts: &Options) -> Result<Program, Error> {
    compile_directed(expr, target, opts, None)
}

/// As [`compile`], keeping only packets of one direction when `direction` is given. Only for
/// [`Mode::Kernel`], where the packet type is an ancillary load.
pub fn compile_directed(
    expr: &str,
    target: &Target,
    opts: &Options,
    direction: Option<Direction>,
) -> Result<Program, Error> {
    let cfg = compile_cfg(expr, target, opts, direction)?;
    let prog = emit::emit(&cfg);
    // The kernel's limit; a program run over a capture file (our VM, as libpcap's
    // bpf_filter) has none, and `-r` takes filters of thousands of hosts as tcpdump does.
    if target.mode == Mode::Kernel && prog.len() > cbpf::MAXINSNS {
        return Err(Error::whole(ErrorKind::TooManyInstructions {
            n: prog.len(),
            max: cbpf::MAXINSNS,
        }));
    }
    Ok(prog)
}

/// As [`compile_directed`], up to the optimized control-flow graph that both backends emit
/// from (classic BPF: [`emit::emit`]; eBPF: [`ebpf::generate`]).
pub fn compile_cfg(
    expr: &str,
    target: &Target,
    opts: &Options,
    direction: Option<Direction>,
) -> Result<ir::Cfg, Error> {
    let (mut cfg, deferred) = lowered_cfg(expr, target, opts, direction)?;
    if opts.optimize {
        optimize::optimize(&mut cfg);
        check_optimized(&cfg, &deferred)?;
    }
    Ok(cfg)
}

/// One step of [`explain`]: the program after `pass` (the first step: as lowered).
#[derive(Clone, Debug)]
pub struct Step {
    pub pass: &'static str,
    pub program: Program,
}

/// The program as lowered, then after each optimizer pass that changed it (`--explain`):
/// what each pass did, for a user or a reviewer. The last step is what [`compile_directed`]
/// gives (without the kernel's size limit).
pub fn explain(
    expr: &str,
    target: &Target,
    opts: &Options,
    direction: Option<Direction>,
) -> Result<Vec<Step>, Error> {
    let (mut cfg, deferred) = lowered_cfg(expr, target, opts, direction)?;
    let mut steps = vec![Step {
        pass: "lowered",
        program: emit::emit(&cfg),
    }];
    if opts.optimize {
        optimize::optimize_traced(&mut cfg, &mut |pass, cfg| {
            let program = emit::emit(cfg);
            // A pass may rewrite the graph into one that emits the same program.
            if steps
                .last()
                .is_none_or(|s| s.program.insns != program.insns)
            {
                steps.push(Step { pass, program });
            }
        });
        check_optimized(&cfg, &deferred)?;
    }
    Ok(steps)
}

/// Parses and lowers `expr` into the graph the optimizer starts from, with the errors
/// deferred until it is known whether the code raising them survives optimization.
fn lowered_cfg(
    expr: &str,
    target: &Target,
    opts: &Options,
    direction: Option<Direction>,
) -> Result<(ir::Cfg, Vec<(Insn, Error)>), Error> {
    let mut deferred = Vec::new();
    let bool_ = match parse::parse(expr)? {
        Some(ast) if *target == Target::kernel(LinkType::En10mb) => {
            let plain = lower_all(lower::Lower::new(*target, opts), &ast, &mut deferred)?;
            let stripped = lower_all(
                lower::Lower::new(*target, opts).for_stripped_frames(),
                &ast,
                &mut deferred,
            )?;
            let stripped = kernel_view::for_stripped_frames(stripped)?;
            kernel_view::combine(plain, stripped)
        }
        Some(ast) => lower_all(lower::Lower::new(*target, opts), &ast, &mut deferred)?,
        None => ir::Bool::Const(true),
    };
    let bool_ = match direction {
        None => bool_,
        Some(d) => {
            if target.mode != Mode::Kernel {
                return Err(Error::whole(ErrorKind::DirectionNeedsKernel));
            }
            let outgoing = lower::outgoing();
            let keep = if d == Direction::Out {
                outgoing
            } else {
                outgoing.not()
            };
            keep.and(bool_)
        }
    };
    Ok((ir::Cfg::build(&bool_, opts.snaplen), deferred))
}

/// What libpcap's optimizer refuses in what survives it.
fn check_optimized(cfg: &ir::Cfg, deferred: &[(Insn, Error)]) -> Result<(), Error> {
    // As libpcap: a filter that can never match is almost certainly a mistake.
    let live = emit::layout(cfg);
    if live == [ir::REJECT] {
        return Err(Error::whole(ErrorKind::RejectsAll));
    }
    // Errors libpcap's optimizer raises for code that survives.
    for b in live {
        if let ir::Block::Branch { stmts, .. } | ir::Block::Jump { stmts, .. } = &cfg.blocks[b] {
            if let Some((_, e)) = deferred.iter().find(|(i, _)| stmts.contains(i)) {
                return Err(e.clone());
            }
        }
    }
    Ok(())
}

/// Lowers a whole expression, resolving the run-time offsets `geneve` introduces.
fn lower_all(
    mut l: lower::Lower,
    ast: &ast::Expr,
    deferred: &mut Vec<(Insn, Error)>,
) -> Result<ir::Bool, Error> {
    let b = l.expr(ast)?;
    deferred.append(&mut l.deferred);
    Ok(if l.geneve {
        geneve::init().and(geneve::resolve(b))
    } else {
        b
    })
}
