//! The reading machinery shared by every [`Format`]: one record at a time, with
//! validation, strict or lenient, and a [`Report`].

use std::path::Path;

use serde_json::Value;

use super::report::{Problem, Reason, Report};
use super::{
    Format, Hh, Mode, Pairwise, PromptCompletion, PromptOnly, Ranked, ReadOptions, Rft,
    SoftPairwise, Unpaired,
};
use crate::error::DataError;
use crate::jsonl::{self, JsonlReader};

/// Streaming reader of a file in format `F`.
///
/// Iterates over `Result<(line_no, record), DataError>`, `line_no` being the 1-based line
/// in the (decompressed) file. Holds one line at a time, so files of any size can be read.
///
/// - [`Mode::Lenient`]: invalid lines (invalid UTF-8, invalid JSON, invalid records) are
///   skipped and counted in [`FormatReader::report`]; only I/O and gzip errors are yielded
///   (and end the iteration), plus, at the end, [`DataError::NotJsonLines`] if no line at
///   all was JSON.
/// - [`Mode::Strict`]: the first invalid line is yielded as an error and ends the
///   iteration.
pub struct FormatReader<F: Format> {
    format: F,
    opts: ReadOptions,
    lines: JsonlReader,
    report: Report,
    /// The first unreadable line and its message, for [`DataError::NotJsonLines`].
    first_unreadable: Option<(usize, String)>,
    finished: bool,
}

/// Streaming reader of [`Pairwise`] files.
pub type PairReader = FormatReader<Pairwise>;
/// Streaming reader of [`SoftPairwise`] files.
pub type SoftPairReader = FormatReader<SoftPairwise>;
/// Streaming reader of [`Unpaired`] files.
pub type UnpairedReader = FormatReader<Unpaired>;
/// Reader of [`PromptCompletion`] files.
pub type CompletionReader = FormatReader<PromptCompletion>;
/// Streaming reader of [`PromptOnly`] files.
pub type PromptReader = FormatReader<PromptOnly>;
/// Streaming reader of [`Ranked`] files.
pub type RankedReader = FormatReader<Ranked>;
/// Streaming reader of [`Rft`] files.
pub type RftReader = FormatReader<Rft>;
/// Streaming reader of HH-RLHF ([`Hh`]) files.
pub type HhReader = FormatReader<Hh>;

impl<F: Format> FormatReader<F> {
    /// Opens `path` (plain or gzip JSON Lines) for reading records of `format`.
    ///
    /// Fails with [`DataError::Io`] if the file cannot be opened.
    pub fn open(path: impl AsRef<Path>, format: F, opts: ReadOptions) -> Result<Self, DataError> {
        let path = path.as_ref();
        Ok(Self {
            format,
            opts,
            lines: JsonlReader::open(path)?,
            report: Report::new(path),
            first_unreadable: None,
            finished: false,
        })
    }

    /// What has been read, kept and skipped so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The final report (complete once the iterator has returned `None`).
    pub fn into_report(self) -> Report {
        self.report
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.report.path
    }

    fn fail(&mut self, e: DataError) -> Option<Result<(usize, F::Record), DataError>> {
        self.finished = true;
        Some(Err(e))
    }
}

impl<F: Format> Iterator for FormatReader<F> {
    type Item = Result<(usize, F::Record), DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            let item = self.lines.next();
            self.report.blank_lines = self.lines.blank_lines();
            match item {
                None => {
                    self.finished = true;
                    if self.report.nothing_readable() {
                        let (first_line, first_problem) =
                            self.first_unreadable.take().unwrap_or_default();
                        return Some(Err(DataError::NotJsonLines {
                            path: self.report.path.clone(),
                            lines: self.report.total_lines,
                            first_line,
                            first_problem,
                        }));
                    }
                }
                Some(Ok((line, value))) => {
                    self.report.total_lines += 1;
                    match parse_record(&self.format, &value, &self.opts) {
                        Ok(record) => {
                            self.report.kept += 1;
                            return Some(Ok((line, record)));
                        }
                        Err(problem) if self.opts.mode == Mode::Lenient => {
                            self.report.skip(line, problem.reason, problem.to_string());
                        }
                        Err(problem) => {
                            let e = problem.into_error(&self.report.path, line);
                            return self.fail(e);
                        }
                    }
                }
                Some(Err(e)) if e.is_line_error() => {
                    self.report.total_lines += 1;
                    if self.opts.mode == Mode::Strict {
                        return self.fail(e);
                    }
                    let reason = match e {
                        DataError::Utf8 { .. } => Reason::InvalidUtf8,
                        _ => Reason::InvalidJson,
                    };
                    let line = e.line().unwrap_or(0);
                    let message = e.to_string();
                    let prefix = format!("{}:{line}: ", self.report.path.display());
                    let detail = message.strip_prefix(&prefix).unwrap_or(&message);
                    if self.first_unreadable.is_none() {
                        self.first_unreadable = Some((line, detail.to_string()));
                    }
                    self.report.skip(line, reason, detail.to_string());
                }
                Some(Err(e)) => return self.fail(e),
            }
        }
        None
    }
}

/// Validates one parsed JSON record of `format`: unknown fields first (under
/// [`ReadOptions::deny_unknown_fields`]), then [`Format::parse`].
pub fn parse_record<F: Format>(
    format: &F,
    value: &Value,
    opts: &ReadOptions,
) -> Result<F::Record, Problem> {
    if opts.deny_unknown_fields
        && !format.open_fields()
        && let Some(obj) = value.as_object()
    {
        let known = format.fields();
        if let Some(key) = obj.keys().find(|k| !known.contains(&k.as_str())) {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            return Err(Problem::new(
                Reason::UnknownField,
                key.clone(),
                format!(
                    "only the fields of the {} format ({}; unknown fields are denied)",
                    format.name(),
                    list.join(", ")
                ),
                format!("an unknown field `{key}`"),
            ));
        }
    }
    format.parse(value, opts)
}

/// Parses and validates one line of a file of `format` (`bytes` may end in `\n` or
/// `\r\n`). `Ok(None)` for a blank line. Errors name `path` and `line`: invalid UTF-8,
/// invalid JSON, or an invalid record ([`DataError::InvalidRecord`]). Never panics.
pub fn parse_line<F: Format>(
    format: &F,
    path: &Path,
    line: usize,
    bytes: &[u8],
    opts: &ReadOptions,
) -> Result<Option<F::Record>, DataError> {
    let Some(value) = jsonl::parse_line::<Value>(path, line, bytes)? else {
        return Ok(None);
    };
    parse_record(format, &value, opts)
        .map(Some)
        .map_err(|p| p.into_error(path, line))
}

/// What [`read`] returns: every record kept, and the [`Report`].
pub type ReadOutput<F> = (Vec<<F as Format>::Record>, Report);

/// Reads a whole file of `format` into memory, with the [`Report`] of what was kept and
/// skipped. See [`FormatReader`] for the strict and lenient behaviours.
pub fn read<F: Format>(
    path: impl AsRef<Path>,
    format: F,
    opts: &ReadOptions,
) -> Result<ReadOutput<F>, DataError> {
    let mut reader = FormatReader::open(path, format, *opts)?;
    let mut records = Vec::new();
    for item in reader.by_ref() {
        records.push(item?.1);
    }
    Ok((records, reader.into_report()))
}

impl<F: Format> std::fmt::Debug for FormatReader<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormatReader")
            .field("format", &self.format.name())
            .field("path", &self.report.path)
            .field("line", &self.lines.line_no())
            .field("opts", &self.opts)
            .finish()
    }
}
