//! Fatal errors. Every one is reported as a single `bpfdump: ...` line on stderr (a filter
//! compile error adds the expression and a caret line under it) and exit status 1; a reader
//! that closed our stdout (`bpfdump ... | head`) ends the run quietly.

use std::fmt;
use std::io::{self, Write};

#[derive(Debug)]
pub enum Error {
    /// Printed as `bpfdump: {0}`.
    Msg(String),
    /// A filter that does not compile: `bpfdump: filter: {text}`, where `text` is the
    /// compiler's rendering ([`filter_compiler::Error::render`]): the message, then the
    /// expression and `^^^` under the offending part if the compiler gave a span, then any
    /// notes. Control characters in it are already escaped.
    Filter { text: String },
    /// The other end of a pipe we write to went away: stop without a message.
    BrokenPipe,
}

impl Error {
    pub fn msg(m: impl Into<String>) -> Error {
        Error::Msg(m.into())
    }

    /// `{what}: {strerror}`, e.g. `in.pcap: No such file or directory`. A broken pipe becomes
    /// [`Error::BrokenPipe`].
    pub fn io(what: &str, e: &io::Error) -> Error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Error::BrokenPipe;
        }
        Error::Msg(format!("{what}: {}", io_message(e)))
    }

    /// Prints the error to stderr and returns the exit status.
    pub fn report(&self) -> i32 {
        let mut err = io::stderr().lock();
        // Nothing sensible is left to do if stderr itself is gone.
        let _ = match self {
            Error::Msg(m) => writeln!(err, "bpfdump: {m}"),
            Error::Filter { text } => writeln!(err, "bpfdump: filter: {text}"),
            Error::BrokenPipe => Ok(()),
        };
        match self {
            Error::BrokenPipe => 0,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Msg(m) => f.write_str(m),
            Error::Filter { text } => {
                write!(f, "filter: {}", text.lines().next().unwrap_or_default())
            }
            Error::BrokenPipe => f.write_str("broken pipe"),
        }
    }
}

/// The C library's text for an I/O error, without Rust's ` (os error N)` suffix, so messages
/// read like tcpdump's: `No such file or directory`.
pub fn io_message(e: &io::Error) -> String {
    let s = e.to_string();
    if let Some(code) = e.raw_os_error() {
        let suffix = format!(" (os error {code})");
        if let Some(stripped) = s.strip_suffix(&suffix) {
            return stripped.to_string();
        }
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "unexpected end of file".to_string(),
        _ => s,
    }
}

/// An error and its chain of sources on one line: `a: b: c`.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let part = match src.downcast_ref::<io::Error>() {
            Some(ioe) => io_message(ioe),
            None => src.to_string(),
        };
        if !s.contains(&part) {
            s.push_str(": ");
            s.push_str(&part);
        }
        cur = src.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_os_error_suffix() {
        let e = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(io_message(&e), "No such file or directory");
        let e = io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(
            Error::io("out.pcap", &e).to_string(),
            "out.pcap: No space left on device"
        );
    }

    #[test]
    fn broken_pipe_is_quiet() {
        let e = io::Error::from_raw_os_error(libc::EPIPE);
        assert!(matches!(Error::io("stdout", &e), Error::BrokenPipe));
    }
}
