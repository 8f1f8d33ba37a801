//! Prints the program compiled for a live Linux socket, as `bpfdump -d` prints the offline one:
//! `cargo run -p filter-compiler --example kernel_dump -- [-y LINKTYPE] [-O] EXPR...`
//! (until live capture lands, the quickest way to read what the kernel will run).

use filter_compiler::{compile, dump, resolve::NoResolver, LinkType, Options, Target};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut linktype = LinkType::En10mb;
    let mut optimize = true;
    while let Some(a) = args.first().cloned() {
        match a.as_str() {
            "-y" if args.len() > 1 => {
                linktype =
                    LinkType::from_name(&args[1]).expect("EN10MB, LINUX_SLL, LINUX_SLL2 or RAW");
                args.drain(..2);
            }
            "-O" => {
                optimize = false;
                args.remove(0);
            }
            _ => break,
        }
    }
    let expr = args.join(" ");
    let opts = Options {
        optimize,
        snaplen: 262144,
        netmask: 0,
        resolver: &NoResolver,
    };
    match compile(&expr, &Target::kernel(linktype), &opts) {
        Ok(p) => print!("{}", dump::asm(&p.insns)),
        Err(e) => {
            eprintln!("error: {}", e.render(&expr));
            std::process::exit(1);
        }
    }
}
