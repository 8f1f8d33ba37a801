//! Shared by the compile benchmarks: the expression list (bench/exprs.txt, also read by the
//! libpcap program bench/pcap_compile_bench.c) and an in-memory resolver that does no I/O.

#![allow(dead_code)]

use filter_compiler::resolve::{Resolver, ServiceProto};

/// bench/exprs.txt, compiled in so the benchmarks need no file at run time.
pub const EXPRS_TXT: &str = include_str!("../../../bench/exprs.txt");

/// `(label, expression)` pairs: one per non-blank, non-`#` line, the label being the first
/// whitespace-separated word and the expression the rest of the line.
pub fn parse_exprs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (label, expr) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (label.to_string(), expr.trim().to_string())
        })
        .collect()
}

pub fn exprs() -> Vec<(String, String)> {
    parse_exprs(EXPRS_TXT)
}

/// A tiny fixed table, so an expression using a common service or protocol name still
/// compiles without touching /etc or DNS. The listed expressions are numeric and need none.
pub struct TableResolver;

impl Resolver for TableResolver {
    fn host_v4(&self, _: &str) -> Vec<[u8; 4]> {
        Vec::new()
    }
    fn host_v6(&self, _: &str) -> Vec<[u8; 16]> {
        Vec::new()
    }
    fn service(&self, name: &str, _: ServiceProto) -> Option<u16> {
        Some(match name {
            "domain" => 53,
            "http" => 80,
            "https" => 443,
            "ssh" => 22,
            _ => return None,
        })
    }
    fn protocol(&self, name: &str) -> Option<u8> {
        Some(match name {
            "icmp" => 1,
            "tcp" => 6,
            "udp" => 17,
            "ipv6-icmp" => 58,
            _ => return None,
        })
    }
    fn ether_host(&self, _: &str) -> Option<[u8; 6]> {
        None
    }
    fn network(&self, _: &str) -> Option<u32> {
        None
    }
}
