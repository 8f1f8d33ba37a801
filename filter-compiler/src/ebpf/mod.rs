//! The eBPF backend: the same optimized IR the classic backend emits from, as a
//! BPF_PROG_TYPE_SOCKET_FILTER program that makes the classic program's decision and also
//! keeps counters in maps (seen and matched traffic, by class, by rule, by flow).
//!
//! This crate does no I/O: [`Program`] is instructions plus a description of the maps they
//! use; the caller creates the maps and writes their descriptors into the instructions that
//! load them ([`Program::map_refs`]) before loading the program.

pub mod asm;
pub mod codegen;
pub mod dump;
pub mod insn;
pub mod layout;
pub mod skb;
pub mod translate;

pub use codegen::{decision_only, generate, Spec};
pub use insn::Insn;

/// Index of the counters map in [`Program::maps`].
pub const COUNTERS: usize = 0;
/// Index of the flow table, when there is one.
pub const FLOWS: usize = 1;
/// Index of the flow cache in front of it (`layout::cache`), when there is a table.
pub const FLOW_CACHE: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// BPF_MAP_TYPE_PERCPU_ARRAY: a row per CPU, summed by the reader.
    PercpuArray,
    /// BPF_MAP_TYPE_LRU_HASH: fixed size, the least recently used entry makes room.
    LruHash,
}

impl MapKind {
    /// `enum bpf_map_type`.
    pub fn number(self) -> u32 {
        match self {
            MapKind::PercpuArray => 6,
            MapKind::LruHash => 9,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    /// Also the name given to the kernel (at most 15 bytes).
    pub name: &'static str,
    pub kind: MapKind,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

#[derive(Clone, Debug)]
pub struct Program {
    pub insns: Vec<Insn>,
    pub maps: Vec<MapDef>,
}

impl Program {
    /// Positions of the 64-bit immediate loads that refer to a map, and which map.
    pub fn map_refs(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.insns.len() {
            let x = &self.insns[i];
            if x.is_wide() {
                if x.src.0 == insn::PSEUDO_MAP_FD {
                    out.push((i, x.imm as usize));
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        out
    }

    /// The instructions as the kernel reads them, each map reference carrying the
    /// descriptor the caller created for that map (`map_fds[i]` for `maps[i]`).
    pub fn image(&self, map_fds: &[i32]) -> Vec<u8> {
        let mut insns = self.insns.clone();
        for (at, map) in self.map_refs() {
            insns[at].imm = map_fds[map];
        }
        insns.iter().flat_map(|i| i.encode()).collect()
    }
}
