//! TEMPORARY stand-in for savefile.rs while it is written (pcap only, no rotation).
#![allow(dead_code)]
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use crate::error::Error;

pub enum FileFormat {
    Pcap,
    PcapNg,
}
pub struct SaveConfig {
    pub path: PathBuf,
    pub format: FileFormat,
    pub linktype: u32,
    pub snaplen: u32,
    pub nanos: bool,
    pub rotate_bytes: Option<u64>,
    pub rotate_secs: Option<u64>,
    pub max_files: Option<u32>,
    pub flush_each: bool,
    pub filter: String,
    pub app: String,
}
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    Unknown,
    Inbound,
    Outbound,
}
pub struct LivePacket<'a> {
    pub ts_sec: u64,
    pub ts_nsec: u32,
    pub data: &'a [u8],
    pub orig_len: u32,
    pub ifindex: u32,
    pub ifname: &'a str,
    pub direction: Direction,
}
pub struct Stats {
    pub received: u64,
    pub dropped: u64,
    pub delivered: u64,
}
pub enum Written {
    Continue,
    LimitReached,
}
pub struct SaveFile {
    w: BufWriter<std::fs::File>,
    path: PathBuf,
    nanos: bool,
}
impl SaveFile {
    pub fn create(cfg: SaveConfig, _iface: Option<(u32, String)>) -> Result<SaveFile, Error> {
        let f = if cfg.path.as_os_str() == "-" {
            crate::output::stdout_file()
        } else {
            std::fs::File::create(&cfg.path)
        }
        .map_err(|e| Error::io("out", &e))?;
        let mut w = BufWriter::with_capacity(1 << 16, f);
        let magic: u32 = if cfg.nanos { 0xa1b23c4d } else { 0xa1b2c3d4 };
        let mut h = Vec::new();
        h.extend_from_slice(&magic.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&cfg.snaplen.to_le_bytes());
        h.extend_from_slice(&cfg.linktype.to_le_bytes());
        w.write_all(&h).map_err(|e| Error::io("out", &e))?;
        Ok(SaveFile {
            w,
            path: cfg.path,
            nanos: cfg.nanos,
        })
    }
    pub fn packet(&mut self, p: &LivePacket) -> Result<Written, Error> {
        let frac = if self.nanos {
            p.ts_nsec
        } else {
            p.ts_nsec / 1000
        };
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(p.ts_sec as u32).to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&(p.data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&p.orig_len.to_le_bytes());
        self.w
            .write_all(&h)
            .and_then(|()| self.w.write_all(p.data))
            .map_err(|e| Error::io("out", &e))?;
        Ok(Written::Continue)
    }
    pub fn flush(&mut self) -> Result<(), Error> {
        self.w.flush().map_err(|e| Error::io("out", &e))
    }
    pub fn finish(mut self, _s: Option<Stats>) -> Result<(), Error> {
        self.flush()
    }
    pub fn current_name(&self) -> &std::path::Path {
        &self.path
    }
}
