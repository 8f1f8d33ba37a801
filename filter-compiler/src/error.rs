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
    pub fn caret(&self, expr: &str) -> Option<String> {
        let span = self.span.clone()?;
        // Filters may span argv words or lines of a -F file; show them on one line.
        let line: String = expr
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        let start = expr.get(..span.start.min(expr.len()))?.chars().count();
        let width = expr
            .get(span.start.min(expr.len())..span.end.min(expr.len()))
            .map(|s| s.chars().count())
            .unwrap_or(0)
            .max(1);
        Some(format!(
            "{}\n{}{}",
            line,
            " ".repeat(start),
            "^".repeat(width)
        ))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
