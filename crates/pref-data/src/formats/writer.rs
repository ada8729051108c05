//! The writer shared by every [`Format`]: validated, atomic, gzip by file name.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::path::Path;

use serde::{Serialize, Serializer};
use serde_json::Value;

use super::report::{Problem, Reason};
use super::{Format, Mode, ReadOptions};
use crate::error::DataError;
use crate::jsonl::write_jsonl;

/// The options under which a written record must read back: strict, ties allowed (a
/// ranking's ties are data), unknown fields irrelevant (writers write none).
const READ_BACK: ReadOptions = ReadOptions {
    mode: Mode::Strict,
    deny_unknown_fields: true,
    allow_ties: true,
};

/// Writes `records` to `path` in `format`, one JSON object per line, gzip-compressed when
/// the file name ends in `.gz`; returns the number of records written.
///
/// Each record is converted with [`Format::to_json`] and checked to parse back, with
/// [`Format::parse`], to an equal record. The first record that fails is a
/// [`DataError::InvalidOutput`] naming its index and field, and nothing is written: the
/// write is atomic (see [`write_jsonl`]), leaving `path` as it was. Records are converted
/// one at a time, so the output is never held in memory as a whole.
pub fn write<F, I>(path: impl AsRef<Path>, format: &F, records: I) -> Result<usize, DataError>
where
    F: Format,
    I: IntoIterator,
    I::Item: Borrow<F::Record>,
{
    let path = path.as_ref();
    let failure: RefCell<Option<DataError>> = RefCell::new(None);
    let lines = records.into_iter().enumerate().map(|(index, record)| {
        match checked_json(format, record.borrow()) {
            Ok(value) => Line::Ok(value),
            Err(problem) => {
                failure
                    .borrow_mut()
                    .get_or_insert(problem.into_write_error(path, index));
                Line::Invalid
            }
        }
    });
    match write_jsonl(path, lines) {
        Ok(n) => Ok(n),
        Err(e) => Err(failure.into_inner().unwrap_or(e)),
    }
}

/// `format.to_json(record)`, checked to read back equal.
fn checked_json<F: Format>(format: &F, record: &F::Record) -> Result<Value, Problem> {
    let value = format.to_json(record)?;
    let back = format.parse(&value, &READ_BACK)?;
    if back != *record {
        // A format's `to_json` must reject what it cannot represent; reaching this is a
        // bug in the format, reported rather than written.
        return Err(Problem::new(
            Reason::InvalidJson,
            "<record>",
            format!(
                "a record that the {} format reads back unchanged",
                format.name()
            ),
            format!("one that reads back differently, as {value}"),
        ));
    }
    Ok(value)
}

/// One line to write: a value, or a record that failed (its error is kept aside; the
/// serialisation error only stops [`write_jsonl`] before anything is persisted).
enum Line {
    Ok(Value),
    Invalid,
}

impl Serialize for Line {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Line::Ok(v) => v.serialize(s),
            Line::Invalid => Err(serde::ser::Error::custom("invalid record")),
        }
    }
}
