//! The crate's error type, [`DataError`].
//!
//! Every message names the place the problem was found (file, line, field) and,
//! where it applies, what was expected and what was found instead, so that a user
//! can open the file at that line and see the problem.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// One place that was searched for a data file, and what happened there.
///
/// Carried by [`DataError::NotFound`] so that its message lists every place tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The place, in words (e.g. `--data /x/y`, or a path with where it was derived from).
    pub place: String,
    /// Why the place did not yield the file (e.g. `does not exist`, `offline`).
    pub outcome: String,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.outcome)
    }
}

/// Errors raised while reading, validating, writing or locating preference data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// An I/O operation on a file failed (open, read, write, rename...).
    #[error("I/O error while {action} {}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What was being done, e.g. `"opening"`, `"reading"`.
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },

    /// The file starts like gzip but its compressed stream is corrupt or cut short.
    #[error(
        "{}: {} while reading line {line}: {source}{}",
        path.display(),
        if *truncated { "gzip stream is truncated (unexpected end of file)" } else { "invalid gzip data" },
        if *truncated { "; the file is probably incomplete, fetch it again" } else { "" }
    )]
    Gzip {
        /// The file concerned.
        path: PathBuf,
        /// The (1-based) line being read when decompression failed.
        line: usize,
        /// `true` when the stream ended early, `false` when its data is corrupt.
        truncated: bool,
        /// The decompressor's error.
        source: io::Error,
    },

    /// A line is not valid UTF-8.
    #[error(
        "{}:{line}: invalid UTF-8: expected UTF-8 text, got an invalid byte sequence at byte {byte} of the line",
        path.display()
    )]
    Utf8 {
        /// The file concerned.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// Offset, within the line, of the first invalid byte.
        byte: usize,
    },

    /// A line is not valid JSON, or its JSON does not have the expected shape.
    #[error("{}:{line}: {}: {source}", path.display(), json_problem(source))]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The parser's error (it carries the column).
        source: serde_json::Error,
    },

    /// A record is well-formed JSON but fails validation for its format.
    #[error("{}:{line}: field `{field}`: expected {expected}, got {got}", path.display())]
    InvalidRecord {
        /// The file concerned.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The offending field (or `<record>` for the record as a whole).
        field: String,
        /// What the format requires.
        expected: String,
        /// What was found.
        got: String,
    },

    /// A record could not be serialised while writing a file.
    #[error("writing {}: record #{index} cannot be serialised as JSON: {source}", path.display())]
    Serialize {
        /// The file being written.
        path: PathBuf,
        /// 0-based index of the record.
        index: usize,
        /// The serialiser's error.
        source: serde_json::Error,
    },

    /// A record given to a writer cannot be written in its format, or would not read back
    /// unchanged (e.g. a soft label in the hard pairwise format, a NaN score, an empty
    /// completion). Nothing is written: the file is left as it was.
    #[error(
        "writing {}: record #{index}: field `{field}`: expected {expected}, got {got}",
        path.display()
    )]
    InvalidOutput {
        /// The file being written.
        path: PathBuf,
        /// 0-based index of the record.
        index: usize,
        /// The offending field (or `<record>` for the record as a whole).
        field: String,
        /// What the format requires.
        expected: String,
        /// What was found.
        got: String,
    },

    /// Not one non-blank line of the file is JSON (every line is invalid JSON or invalid
    /// UTF-8): the file is not JSON Lines at all (a binary file, a pretty-printed JSON
    /// document, a file in another format). Raised even in lenient mode, where bad lines
    /// are otherwise skipped.
    #[error(
        "{}: not a JSON Lines file: none of its {lines} non-blank line{} is valid JSON; line {first_line}: {first_problem}",
        path.display(),
        if *lines == 1 { "" } else { "s" }
    )]
    NotJsonLines {
        /// The file concerned.
        path: PathBuf,
        /// Number of non-blank lines read.
        lines: usize,
        /// The first line that failed.
        first_line: usize,
        /// What was wrong with it.
        first_problem: String,
    },

    /// A data file could not be found in any of the places searched.
    #[error("{}", not_found_message(what, attempts, hint))]
    NotFound {
        /// What was looked for, e.g. ``HH-RLHF file `harmless-base-dev.jsonl.gz` ``.
        what: String,
        /// Every place tried, in order, with why it failed.
        attempts: Vec<Attempt>,
        /// How to get the data.
        hint: String,
    },
}

impl DataError {
    /// The 1-based line number the error refers to, if it refers to one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            DataError::Gzip { line, .. }
            | DataError::Utf8 { line, .. }
            | DataError::Json { line, .. }
            | DataError::InvalidRecord { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// Whether the error concerns a single line only, so that reading can go on
    /// with the next line (invalid UTF-8, invalid JSON, invalid record). I/O and
    /// gzip errors are not recoverable: the rest of the file cannot be read.
    pub fn is_line_error(&self) -> bool {
        matches!(
            self,
            DataError::Utf8 { .. } | DataError::Json { .. } | DataError::InvalidRecord { .. }
        )
    }
}

fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => "JSON does not have the expected shape",
        serde_json::error::Category::Eof => "invalid JSON (line ends in the middle of a value)",
        _ => "invalid JSON",
    }
}

fn not_found_message(what: &str, attempts: &[Attempt], hint: &str) -> String {
    let mut s = format!("could not find {what}; tried, in order:");
    for (i, a) in attempts.iter().enumerate() {
        s.push_str(&format!("\n  {}. {a}", i + 1));
    }
    if !hint.is_empty() {
        s.push_str("\nhint: ");
        s.push_str(hint);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place() {
        let e = DataError::InvalidRecord {
            path: "a/b.jsonl".into(),
            line: 7,
            field: "chosen".into(),
            expected: "a string".into(),
            got: "a number".into(),
        };
        assert_eq!(
            e.to_string(),
            "a/b.jsonl:7: field `chosen`: expected a string, got a number"
        );
        assert_eq!(e.line(), Some(7));
        assert!(e.is_line_error());

        let json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let e = DataError::Json {
            path: "x.jsonl".into(),
            line: 3,
            source: json,
        };
        assert!(e.to_string().starts_with("x.jsonl:3: invalid JSON"), "{e}");
    }

    #[test]
    fn not_found_lists_attempts() {
        let e = DataError::NotFound {
            what: "thing".into(),
            attempts: vec![
                Attempt {
                    place: "here".into(),
                    outcome: "does not exist".into(),
                },
                Attempt {
                    place: "there".into(),
                    outcome: "offline".into(),
                },
            ],
            hint: "get it".into(),
        };
        let msg = e.to_string();
        assert!(msg.contains("1. here: does not exist"), "{msg}");
        assert!(msg.contains("2. there: offline"), "{msg}");
        assert!(msg.ends_with("hint: get it"), "{msg}");
        assert!(!e.is_line_error());
    }
}
