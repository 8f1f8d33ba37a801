//! Compile errors: one message and, where the problem is a piece of the expression, its span,
//! so the caller can echo the expression with a caret under the offending token.

use std::fmt;
use std::ops::Range;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    /// Byte range in the expression text; `None` for whole-expression problems.
    pub span: Option<Range<usize>>,
}

impl Error {
    pub fn new(message: impl Into<String>, span: Range<usize>) -> Error {
        Error {
            message: message.into(),
            span: Some(span),
        }
    }
    pub fn whole(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            span: None,
        }
    }
    /// The expression on one line and carets under the span, for terminals:
    /// ```text
    /// tcp port http2x
    ///          ^^^^^^
    /// ```
    /// Control characters show escaped (`\x1b`), never raw: an expression can come from
    /// anyone, and an escape sequence would reach the terminal. A line longer than
    /// [`CARET_WIDTH`] columns is cut to a window around the span, `...` marking the cuts.
    pub fn caret(&self, expr: &str) -> Option<String> {
        let span = self.span.clone()?;
        let start = span.start.min(expr.len());
        let end = span.end.clamp(start, expr.len());
        expr.get(..start)?;
        expr.get(start..end)?;
        // Each char as shown, and the columns of the span.
        let mut shown: Vec<String> = Vec::new();
        let (mut col, mut from, mut to) = (0, None, None);
        for (at, c) in expr.char_indices() {
            if at >= start && from.is_none() {
                from = Some(col);
            }
            if at >= end && to.is_none() {
                to = Some(col);
            }
            // Filters may span argv words or lines of a -F file; show them on one line.
            let piece = if c.is_whitespace() && !c.is_control() || matches!(c, '\t' | '\n' | '\r') {
                " ".to_string()
            } else {
                escape(&c.to_string()).into_owned()
            };
            col += piece.chars().count();
            shown.push(piece);
        }
        let from = from.unwrap_or(col);
        let to = to.unwrap_or(col).max(from + 1);
        let line: String = shown.concat();
        let width = line.chars().count();
        // The window: the span with context on both sides, as much before as fits.
        let (lo, hi) = if width <= CARET_WIDTH {
            (0, width)
        } else {
            let lo = from
                .saturating_sub(CARET_WIDTH / 3)
                .min(width.saturating_sub(CARET_WIDTH));
            (lo, (lo + CARET_WIDTH).min(width))
        };
        let part: String = line.chars().skip(lo).take(hi - lo).collect();
        let (pre, post) = (
            if lo > 0 { "..." } else { "" },
            if hi < width { "..." } else { "" },
        );
        let marks = to.min(hi.max(from + 1)) - from;
        Some(format!(
            "{pre}{part}{post}\n{}{}",
            " ".repeat(pre.len() + from - lo),
            "^".repeat(marks.max(1))
        ))
    }
}

/// Most columns of the expression [`Error::caret`] shows.
pub const CARET_WIDTH: usize = 100;

/// `s` with control characters escaped (`\x1b`, `\u{202e}`): C0 and C1 controls, DEL, and
/// the bidirectional overrides and isolates, which reorder what a terminal shows. For
/// echoing text from an expression or a file in a message.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    fn bad(c: char) -> bool {
        c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !bad(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
