//! The Linux kernel must accept every program we emit: each corpus expression is compiled for
//! the offline and the kernel target (optimizer on and off) and attached with SO_ATTACH_FILTER
//! to an AF_PACKET socket of protocol 0 (which receives nothing). Without CAP_NET_RAW a UDP
//! socket is used instead: the kernel runs the same classic-BPF checks on attach.
//!
//! Also documents why protochain is unrolled: tcpdump's own `ip6 protochain 6` program loops
//! with a backward jump, which the kernel refuses. And checks that `check::check` agrees with
//! the kernel on every program tcpdump itself produces for the corpora.

mod support;

use filter_compiler::{Insn, LinkType, Target};
use std::fmt::Write as _;
use std::io;
use support::*;

struct Sock {
    fd: libc::c_int,
    kind: &'static str,
}

impl Sock {
    fn open() -> Sock {
        // SAFETY: plain socket(2) calls; the descriptor is owned by the returned Sock.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd >= 0 {
            return Sock {
                fd,
                kind: "AF_PACKET",
            };
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => eprintln!(
                "SKIPPED: AF_PACKET needs CAP_NET_RAW; kernel acceptance checked on a UDP socket instead"
            ),
            _ => eprintln!(
                "SKIPPED: AF_PACKET socket failed ({err}); kernel acceptance checked on a UDP socket instead"
            ),
        }
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        assert!(
            fd >= 0,
            "cannot create a UDP socket either: {}",
            io::Error::last_os_error()
        );
        Sock { fd, kind: "UDP" }
    }

    /// SO_ATTACH_FILTER; replaces any filter attached before.
    fn attach(&self, prog: &[Insn]) -> Result<(), String> {
        if prog.len() > u16::MAX as usize {
            return Err(format!(
                "{} instructions do not fit sock_fprog.len",
                prog.len()
            ));
        }
        let mut filter: Vec<libc::sock_filter> = prog
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let fprog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_mut_ptr(),
        };
        // SAFETY: fprog points at `filter`, which outlives the call; the kernel copies it.
        let r = unsafe {
            libc::setsockopt(
                self.fd,
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                &fprog as *const libc::sock_fprog as *const libc::c_void,
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(format!("kernel rejects it: {}", io::Error::last_os_error()))
        }
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.fd) };
    }
}

#[test]
fn kernel_accepts_every_program() {
    let sock = Sock::open();
    let mut problems = String::new();
    let (mut nprob, mut attached, mut total, mut refused) = (0usize, 0usize, 0usize, 0usize);
    for suite in &SUITES {
        let entries = load_corpus(suite.corpus);
        // Compiling in parallel; attaching is quick and done here.
        let compiled = par_map(&entries, |e| {
            let mut v = Vec::new();
            for target in [
                Target::offline(suite.linktype),
                Target::kernel(suite.linktype),
            ] {
                for optimize in [true, false] {
                    v.push((target, optimize, compile(&e.expr, target, optimize)));
                }
            }
            v
        });
        for (e, progs) in entries.iter().zip(compiled) {
            total += 1;
            let mut lines = Vec::new();
            for (target, optimize, c) in progs {
                let what = format!(
                    "{:?} {:?}, optimize {}",
                    target.mode,
                    target.linktype,
                    if optimize { "on" } else { "off" }
                );
                let prog = match c {
                    Compiled::Ok(p) => p,
                    Compiled::Err(e)
                        if proves_no_match(&e)
                            || (target.mode == filter_compiler::Mode::Kernel
                                && not_in_kernel_view(&e)) =>
                    {
                        refused += 1;
                        continue;
                    }
                    other => {
                        lines.push(format!("{what}: {}", other.describe_failure().unwrap()));
                        continue;
                    }
                };
                attached += 1;
                if let Err(err) = sock.attach(&prog.insns) {
                    lines.push(format!("{what}: {err} ({} instructions)", prog.len()));
                }
            }
            if !lines.is_empty() {
                nprob += 1;
                let _ = writeln!(problems, "{} `{}`:", e.origin(), e.expr);
                for l in lines {
                    let _ = writeln!(problems, "    {l}");
                }
            }
        }
    }
    eprintln!(
        "kernel_accept: {total} expressions, {attached} programs attached to a {} socket, {} expressions fine; \
         {refused} compiles refused by design (provably no match, or cooked-header bytes the kernel does not show)",
        sock.kind,
        total - nprob
    );
    if nprob > 0 {
        let path = write_report("kernel-accept-report.txt", &problems);
        panic!("{nprob} of {total} expressions failed (report also in {path}):\n{problems}");
    }
}

#[test]
fn kernel_rejects_tcpdump_protochain_program() {
    let Some(td) = tcpdump() else {
        eprintln!("SKIPPED: tcpdump not found; tcpdump's protochain program not checked");
        return;
    };
    let capture = captures_dir().join("sample.pcap");
    let prog = tcpdump_program(&td, &capture, "ip6 protochain 6").expect("tcpdump -ddd");
    let sock = Sock::open();
    let r = sock.attach(&prog);
    assert!(
        r.is_err(),
        "the kernel accepted tcpdump's `ip6 protochain 6` ({} instructions); its backward jump was \
         expected to be refused, which is why we unroll protochain",
        prog.len()
    );
    // Our own program for it must be accepted (unrolled, forward jumps only).
    if let Compiled::Ok(ours) = compile("ip6 protochain 6", Target::kernel(LinkType::En10mb), true)
    {
        sock.attach(&ours.insns)
            .expect("our ip6 protochain 6 program");
    }
}

/// check::check must say what the kernel says, on every program tcpdump produces for the
/// corpora (all accepted but the protochain loops).
#[test]
fn checker_agrees_with_kernel_on_tcpdump_programs() {
    let Some(td) = tcpdump() else {
        eprintln!("SKIPPED: tcpdump not found; checker not compared with the kernel");
        return;
    };
    let sock = Sock::open();
    let mut problems = String::new();
    let (mut n, mut rejected, mut nprob) = (0usize, 0usize, 0usize);
    for suite in &SUITES {
        let capture = captures_dir().join(suite.capture);
        let entries = load_corpus(suite.corpus);
        let progs = par_map(&entries, |e| tcpdump_program(&td, &capture, &e.expr));
        for (e, prog) in entries.iter().zip(progs) {
            let prog = match prog {
                Ok(p) => p,
                Err(err) => {
                    nprob += 1;
                    let _ = writeln!(problems, "{} `{}`: {err}", e.origin(), e.expr);
                    continue;
                }
            };
            n += 1;
            let kernel = sock.attach(&prog);
            if kernel.is_err() {
                rejected += 1;
            }
            let ours = check(&prog);
            if kernel.is_ok() != ours.is_ok() {
                nprob += 1;
                let _ = writeln!(
                    problems,
                    "{} `{}` ({} instructions): kernel {}, check {}",
                    e.origin(),
                    e.expr,
                    prog.len(),
                    match &kernel {
                        Ok(()) => "accepts".to_string(),
                        Err(m) => m.clone(),
                    },
                    match &ours {
                        Ok(()) => "accepts".to_string(),
                        Err(m) => m.clone(),
                    }
                );
            }
        }
    }
    eprintln!("checker vs kernel: {n} tcpdump programs, kernel rejected {rejected}, {nprob} disagreements");
    assert!(
        rejected > 0,
        "expected the kernel to reject tcpdump's protochain programs"
    );
    assert!(
        nprob == 0,
        "{nprob} disagreements between check::check and the kernel:\n{problems}"
    );
}
