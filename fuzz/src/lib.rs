//! The code behind bpfdump's fuzz targets (fuzz_targets/*.rs call `harness::*::run`).
//!
//! The filter compiler is a library and is used as one. The reader and the printer live in
//! the binary crate, so their source files are compiled into this crate as they are, with
//! `#[path]`: `crate::reader`, `crate::readahead`, `crate::error`, `crate::resolver` and
//! `crate::print` are the binary's own modules. Only `crate::cli` is a stub: the real one
//! is the command line (clap, and most of the binary behind it); the reader only needs its
//! `MAX_SNAPLEN`.

#![allow(clippy::all)]

#[allow(dead_code, unused_imports)]
#[path = "../../src/error.rs"]
pub mod error;
#[allow(dead_code, unused_imports)]
#[path = "../../src/print/mod.rs"]
pub mod print;
#[allow(dead_code, unused_imports)]
#[path = "../../src/readahead.rs"]
pub mod readahead;
#[allow(dead_code, unused_imports)]
#[path = "../../src/reader.rs"]
pub mod reader;
#[allow(dead_code, unused_imports)]
#[path = "../../src/resolver.rs"]
pub mod resolver;

/// The one item of src/cli.rs the reader uses (keep equal to it).
pub mod cli {
    pub const MAX_SNAPLEN: u32 = 262_144;
}

pub mod harness;
