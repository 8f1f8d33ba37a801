//! bpfdump: a tcpdump-like tool with its own pcap-filter(7) compiler.

mod bpf;
mod cli;
mod counting;
mod error;
mod filter;
mod iface;
mod live;
mod offline;
mod output;
mod print;
mod privs;
mod readahead;
mod reader;
mod resolver;
mod ring;
mod savefile;
mod top;

use std::io::{self, Write};

use cli::Parsed;
use error::Error;

fn main() {
    let code = match run() {
        Ok(()) => 0,
        Err(e) => e.report(),
    };
    std::process::exit(code);
}

fn run() -> Result<(), Error> {
    let cfg = match cli::parse(std::env::args_os())? {
        Parsed::Run(cfg) => cfg,
        Parsed::Info(text) => return output::print(&text),
    };
    for w in &cfg.warnings {
        let _ = writeln!(io::stderr(), "bpfdump: {w}");
    }
    if cfg.live.list_interfaces {
        return output::print(&iface::list()?);
    }
    if cfg.list_tstamp_types {
        return output::print(&live::tstamp_types(&cfg)?);
    }
    let expr = filter::expression(&cfg.filter)?;
    if cfg.explain {
        return output::print(&live::explain(&cfg, &expr)?);
    }
    if let Some(list) = &cfg.read_list {
        return offline::run_list(&cfg, list, expr);
    }
    match (&cfg.read, cfg.dump, &cfg.live.interface) {
        (Some(path), _, _) => offline::run(&cfg, path, expr),
        (None, Some(_), _) if cfg.ebpf.is_some() => output::print(&live::dump_ebpf(&cfg, &expr)?),
        (None, Some(format), Some(_)) => output::print(&live::dump(&cfg, &expr, format)?),
        (None, Some(format), None) => {
            let resolver = resolver::SystemResolver::default();
            let prog = filter::compile(&expr, cfg.linktype, cfg.snaplen, cfg.optimize, &resolver)?;
            output::print(&filter::dump_text(&prog, format))
        }
        (None, None, _) => live::run(&cfg, &expr),
    }
}
