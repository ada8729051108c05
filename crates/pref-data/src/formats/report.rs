//! What is wrong with one record ([`Problem`]), why it was skipped ([`Reason`]), and what a
//! whole read kept and skipped ([`Report`]). Shared by every format, HH-RLHF included.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::DataError;

/// Number of example lines kept per skip reason in a [`Report`].
pub const EXAMPLES_PER_REASON: usize = 3;

/// Why a record of one of the [`crate::formats`] was rejected, the key under which a
/// [`Report`] counts skipped lines.
///
/// The `&'static str` is the top-level field concerned, so that a [`Report`] counts,
/// e.g., a missing `chosen` apart from a missing `rejected`; the exact place (such as
/// `chosen[1].content`) is in the [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line is not valid JSON.
    InvalidJson,
    /// The line is JSON but not an object.
    NotAnObject,
    /// A required field is absent.
    MissingField(&'static str),
    /// A field has the wrong JSON type.
    WrongType(&'static str),
    /// A field the format does not know (only with `deny_unknown_fields`).
    UnknownField,
    /// Two aliases of the same field are both present.
    ConflictingFields(&'static str),
    /// A message of a conversational text is malformed (not an object, no string
    /// `role`/`content`, empty role).
    InvalidMessage(&'static str),
    /// A text is plain where the others are conversational, or the reverse.
    MixedForms(&'static str),
    /// A completion (or a prompt-only prompt, or a reference) is empty or whitespace only.
    EmptyText(&'static str),
    /// Two completions that must differ are the same (ignoring surrounding whitespace).
    IdenticalCompletions,
    /// A number outside its allowed range (a probability outside `[0, 1]`, a negative or
    /// non-finite margin, a non-finite score).
    OutOfRange(&'static str),
    /// A dialogue has no `"\n\nAssistant:"` turn (HH-RLHF).
    NoAssistantTurn(&'static str),
    /// The two dialogues differ before their final Assistant turn (HH-RLHF).
    PromptMismatch,
    /// A ranking with fewer than two completions.
    TooFewCompletions,
    /// `scores` and `completions` have different lengths.
    LengthMismatch,
    /// Two completions of a ranking have equal scores, and ties are not allowed.
    Tie,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::InvalidUtf8 => write!(f, "invalid UTF-8"),
            Reason::InvalidJson => write!(f, "invalid JSON"),
            Reason::NotAnObject => write!(f, "record is not a JSON object"),
            Reason::MissingField(x) => write!(f, "missing field `{x}`"),
            Reason::WrongType(x) => write!(f, "field `{x}` has the wrong type"),
            Reason::UnknownField => write!(f, "unknown field"),
            Reason::ConflictingFields(x) => write!(f, "more than one name given for `{x}`"),
            Reason::InvalidMessage(x) => write!(f, "malformed message in `{x}`"),
            Reason::MixedForms(x) => {
                write!(
                    f,
                    "`{x}` mixes plain text and messages with the other fields"
                )
            }
            Reason::EmptyText(x) => write!(f, "empty `{x}`"),
            Reason::IdenticalCompletions => write!(f, "identical completions"),
            Reason::OutOfRange(x) => write!(f, "`{x}` out of range"),
            Reason::NoAssistantTurn(x) => write!(f, "`{x}` has no Assistant turn"),
            Reason::PromptMismatch => {
                write!(f, "`chosen` and `rejected` do not share the prompt")
            }
            Reason::TooFewCompletions => write!(f, "fewer than 2 completions"),
            Reason::LengthMismatch => write!(f, "`scores` and `completions` differ in length"),
            Reason::Tie => write!(f, "tied scores where ties are not allowed"),
        }
    }
}

/// What is wrong with one record: the reason plus the field, what was expected and
/// what was found. Becomes a [`DataError::InvalidRecord`] (reading, with file and line)
/// or a [`DataError::InvalidOutput`] (writing, with file and record index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The category, used as the key of [`Report::skipped`].
    pub reason: Reason,
    /// The offending field, e.g. `chosen`, `chosen[1].content`, `scores[2]`
    /// (`<record>` for the record as a whole).
    pub field: String,
    /// What the format requires.
    pub expected: String,
    /// What was found.
    pub got: String,
}

impl Problem {
    /// A problem.
    pub fn new(
        reason: Reason,
        field: impl Into<String>,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Self {
        Self {
            reason,
            field: field.into(),
            expected: expected.into(),
            got: got.into(),
        }
    }

    /// The error for this problem at (1-based) `line` of `path`.
    pub fn into_error(self, path: &Path, line: usize) -> DataError {
        DataError::InvalidRecord {
            path: path.to_path_buf(),
            line,
            field: self.field,
            expected: self.expected,
            got: self.got,
        }
    }

    /// The error for this problem in record #`index` (0-based) being written to `path`.
    pub fn into_write_error(self, path: &Path, index: usize) -> DataError {
        DataError::InvalidOutput {
            path: path.to_path_buf(),
            index,
            field: self.field,
            expected: self.expected,
            got: self.got,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "field `{}`: expected {}, got {}",
            self.field, self.expected, self.got
        )
    }
}

/// One skipped line, kept as an example in a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// 1-based line number.
    pub line: usize,
    /// Why it was skipped.
    pub reason: Reason,
    /// The details (field, expected, got).
    pub detail: String,
}

/// What a read kept and skipped. Its `Display` is a readable summary.
///
/// `kept + skipped_total() == total_lines`: no line is dropped without being counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The file read.
    pub path: PathBuf,
    /// Non-blank lines read (records).
    pub total_lines: usize,
    /// Blank lines, which are not records and are not counted in `total_lines`.
    pub blank_lines: usize,
    /// Records kept.
    pub kept: usize,
    /// Number of skipped records per reason.
    pub skipped: BTreeMap<Reason, usize>,
    /// The first [`EXAMPLES_PER_REASON`] skipped lines of each reason, in line order.
    pub examples: Vec<Example>,
}

impl Default for Report {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            total_lines: 0,
            blank_lines: 0,
            kept: 0,
            skipped: BTreeMap::new(),
            examples: Vec::new(),
        }
    }
}

impl Report {
    /// An empty report for `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            ..Self::default()
        }
    }

    /// Total number of skipped records.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    /// Number of records skipped for `reason`.
    pub fn count(&self, reason: Reason) -> usize {
        self.skipped.get(&reason).copied().unwrap_or(0)
    }

    /// Counts one skipped line, keeping it as an example if it is among the first
    /// [`EXAMPLES_PER_REASON`] of its reason. Does not count it in `total_lines`.
    pub fn skip(&mut self, line: usize, reason: Reason, detail: String) {
        let count = self.skipped.entry(reason).or_default();
        *count += 1;
        if *count <= EXAMPLES_PER_REASON {
            self.examples.push(Example {
                line,
                reason,
                detail,
            });
        }
    }

    /// Whether every non-blank line read so far was unreadable (invalid UTF-8 or JSON).
    pub(crate) fn nothing_readable(&self) -> bool {
        self.total_lines > 0
            && self.count(Reason::InvalidUtf8) + self.count(Reason::InvalidJson) == self.total_lines
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let skipped: usize = self.skipped.values().sum();
        let pct = if self.total_lines == 0 {
            0.0
        } else {
            100.0 * skipped as f64 / self.total_lines as f64
        };
        write!(
            f,
            "{}: {} records, kept {}, skipped {} ({pct:.2}%)",
            self.path.display(),
            self.total_lines,
            self.kept,
            skipped
        )?;
        if self.blank_lines > 0 {
            let s = if self.blank_lines == 1 { "" } else { "s" };
            write!(f, "; {} blank line{s} ignored", self.blank_lines)?;
        }
        for (reason, count) in &self.skipped {
            write!(f, "\n  {count:>6}  {reason}")?;
        }
        if !self.examples.is_empty() {
            write!(f, "\n  examples:")?;
            for e in &self.examples {
                write!(f, "\n    line {}: {}", e.line, e.detail)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_keeps_first_examples_per_reason() {
        let mut r = Report::new("f.jsonl");
        for line in 1..=5 {
            r.total_lines += 1;
            r.skip(line, Reason::MissingField("chosen"), format!("d{line}"));
        }
        r.total_lines += 1;
        r.skip(9, Reason::Tie, "t".into());
        r.total_lines += 1;
        r.kept += 1;
        assert_eq!(r.skipped_total(), 6);
        assert_eq!(r.count(Reason::MissingField("chosen")), 5);
        assert_eq!(r.count(Reason::MissingField("rejected")), 0);
        let lines: Vec<_> = r.examples.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 9]);
        let text = r.to_string();
        assert!(
            text.starts_with("f.jsonl: 7 records, kept 1, skipped 6 (85.71%)"),
            "{text}"
        );
        assert!(text.contains("     5  missing field `chosen`"), "{text}");
        assert!(text.contains("line 9: t"), "{text}");
        assert!(!r.nothing_readable());
    }
}
