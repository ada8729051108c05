//! Fuzzing of every format's line parser and reader with proptest.
//!
//! - arbitrary bytes, and mutated near-valid JSON lines, fed to every format's
//!   [`parse_line`]: no panic; a result is a record, a blank line, or a line error
//!   naming the line;
//! - arbitrary JSON values, biased towards each format's field names and the shapes of
//!   texts and messages: no panic; every accepted record can be written and reads back
//!   equal (so the reader never returns what the writer refuses);
//! - arbitrary files (plain, gzip, cut gzip) through the streaming reader, strict and
//!   lenient: no panic, termination, and `kept + skipped == total` in lenient mode.
//!
//! The number of cases is `PREF_DATA_FUZZ_CASES` (default below); each test prints how
//! many cases ran and how many records were accepted.

use std::cell::Cell;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use pref_data::formats::{
    Format, FormatReader, Hh, Mode, Pairwise, PromptOnly, Ranked, ReadOptions, SoftPairwise,
    Unpaired, parse_line, parse_record,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Number, Value};

fn cases(default: u32) -> u32 {
    std::env::var("PREF_DATA_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

const OPTIONS: [ReadOptions; 3] = [
    ReadOptions {
        mode: Mode::Strict,
        deny_unknown_fields: false,
        allow_ties: false,
    },
    ReadOptions {
        mode: Mode::Strict,
        deny_unknown_fields: true,
        allow_ties: true,
    },
    ReadOptions {
        mode: Mode::Lenient,
        deny_unknown_fields: false,
        allow_ties: true,
    },
];

/// Parses `bytes` as line 7 with `format` under every option set; checks the result's
/// shape and returns how many parses gave a record.
fn check_line<F: Format>(format: &F, bytes: &[u8]) -> Result<usize, TestCaseError> {
    let mut accepted = 0;
    for opts in &OPTIONS {
        match parse_line(format, Path::new("fuzz.jsonl"), 7, bytes, opts) {
            Ok(Some(_)) => accepted += 1,
            Ok(None) => {
                let text = String::from_utf8_lossy(bytes);
                prop_assert!(text.trim().is_empty(), "blank line {:?}", text);
            }
            Err(e) => {
                prop_assert!(e.is_line_error(), "{e:?}");
                prop_assert_eq!(e.line(), Some(7));
                let msg = e.to_string();
                prop_assert!(msg.starts_with("fuzz.jsonl:7: "), "{}", msg);
            }
        }
    }
    Ok(accepted)
}

fn check_all_formats(bytes: &[u8]) -> Result<usize, TestCaseError> {
    Ok(check_line(&Pairwise, bytes)?
        + check_line(&SoftPairwise, bytes)?
        + check_line(&Unpaired, bytes)?
        + check_line(&PromptOnly, bytes)?
        + check_line(&Ranked, bytes)?
        + check_line(&Hh, bytes)?)
}

#[test]
fn line_parsers_on_arbitrary_bytes() {
    let n = cases(20_000);
    let accepted = Cell::new(0usize);
    let strategy = proptest::collection::vec(any::<u8>(), 0..300);
    runner(n)
        .run(&strategy, |bytes| {
            accepted.set(accepted.get() + check_all_formats(&bytes)?);
            Ok(())
        })
        .unwrap();
    println!(
        "arbitrary bytes: {n} cases x 6 formats x 3 option sets, {} records accepted",
        accepted.get()
    );
}

const KEYS: &[&str] = &[
    "prompt",
    "chosen",
    "rejected",
    "margin",
    "a",
    "b",
    "p_a",
    "completion",
    "label",
    "reference",
    "answer",
    "solution",
    "ground_truth",
    "completions",
    "scores",
    "role",
    "content",
];

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_string()),
        Just("user".to_string()),
        Just("assistant".to_string()),
        Just("\n\nHuman: hi\n\nAssistant: yo".to_string()),
        Just("\n\nHuman: hi\n\nAssistant: no".to_string()),
        Just("\n\nHuman: hi\n\nAssistant:".to_string()),
        "[a-c ]{0,4}",
        any::<String>(),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0.0..=1.0f64).prop_map(|x| Value::Number(Number::from_f64(x).unwrap())),
        Just(Value::from(0)),
        Just(Value::from(1)),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|x| Number::from_f64(x).map_or(Value::Null, Value::Number)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String),
    ]
}

fn message() -> impl Strategy<Value = Value> {
    let noisy = proptest::collection::btree_map(
        prop_oneof![
            4 => prop_oneof![Just("role".to_string()), Just("content".to_string())],
            1 => "[a-z]{1,5}",
        ],
        prop_oneof![3 => string().prop_map(Value::String), 1 => leaf()],
        0..4,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()));
    let valid = (
        prop_oneof![Just("user"), Just("assistant"), Just("system")],
        string(),
    )
        .prop_map(|(r, c)| serde_json::json!({"role": r, "content": c}));
    prop_oneof![4 => valid, 1 => noisy]
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        string().prop_map(Value::String),
        proptest::collection::vec(message(), 0..4).prop_map(Value::Array),
    ]
}

/// Any JSON value, nested a few levels.
fn any_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(KEYS).prop_map(String::from),
                    "[a-z_]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value of the type a field of this name usually has.
fn typed(key: &str, hh: bool) -> BoxedStrategy<Value> {
    match key {
        "chosen" | "rejected" if hh => (
            proptest::collection::vec(("[a-c ]{0,3}", "[a-c ]{0,3}"), 0..3),
            "[a-c?]{0,3}",
        )
            .prop_map(|(turns, last)| {
                let mut d: String = turns
                    .iter()
                    .map(|(h, a)| format!("\n\nHuman: {h}\n\nAssistant: {a}"))
                    .collect();
                if !last.is_empty() {
                    d.push_str(&format!(" {last}"));
                }
                Value::String(d)
            })
            .boxed(),
        "prompt" | "chosen" | "rejected" | "a" | "b" | "completion" => text().boxed(),
        "margin" | "p_a" => number().boxed(),
        "label" => any::<bool>().prop_map(Value::Bool).boxed(),
        "completions" => proptest::collection::vec(text(), 0..5)
            .prop_map(Value::Array)
            .boxed(),
        "scores" => proptest::collection::vec(number(), 0..5)
            .prop_map(Value::Array)
            .boxed(),
        _ => string().prop_map(Value::String).boxed(),
    }
}

/// Each format's fields (HH last).
const FIELD_SETS: &[&[&str]] = &[
    &["prompt", "chosen", "rejected", "margin"],
    &["prompt", "a", "b", "p_a", "margin"],
    &["prompt", "completion", "label"],
    &["prompt", "reference", "answer", "solution", "ground_truth"],
    &["prompt", "completions", "scores"],
    &["chosen", "rejected"],
];

/// A record-like object: one format's fields with values of their usual types, some
/// fields dropped, sometimes a value of any type or an unknown field.
fn record() -> impl Strategy<Value = Value> {
    (0..FIELD_SETS.len())
        .prop_flat_map(|i| {
            let keys = FIELD_SETS[i];
            let hh = i == FIELD_SETS.len() - 1;
            let values: Vec<BoxedStrategy<Value>> = keys
                .iter()
                .map(|k| prop_oneof![12 => typed(k, hh), 1 => any_value()].boxed())
                .collect();
            (
                Just(keys),
                values,
                proptest::collection::vec(prop::bool::weighted(0.8), keys.len()),
                proptest::option::weighted(0.1, ("[a-z_]{1,6}", any_value())),
            )
        })
        .prop_map(|(keys, values, keep, extra)| {
            let mut m = Map::new();
            for ((k, v), keep) in keys.iter().zip(values).zip(keep) {
                if keep {
                    m.insert(k.to_string(), v);
                }
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            Value::Object(m)
        })
}

/// Parses `value` with `format` under every option set; every accepted record must be
/// writable and read back equal. Returns how many parses gave a record.
fn check_value<F: Format>(format: &F, value: &Value) -> Result<usize, TestCaseError>
where
    F::Record: std::fmt::Debug,
{
    let mut accepted = 0;
    for opts in &OPTIONS {
        if let Ok(record) = parse_record(format, value, opts) {
            accepted += 1;
            let json = format.to_json(&record);
            prop_assert!(json.is_ok(), "accepted but not writable: {value}");
            let json = json.unwrap();
            let back = format.parse(&json, &OPTIONS[1]);
            prop_assert!(back.is_ok(), "written {json} does not read back");
            prop_assert_eq!(back.unwrap(), record);
            // And through the text of a line.
            let line = serde_json::to_vec(&json).unwrap();
            let again = parse_line(format, Path::new("f"), 1, &line, &OPTIONS[1]);
            prop_assert!(matches!(again, Ok(Some(_))));
        }
    }
    Ok(accepted)
}

fn check_value_all(value: &Value) -> Result<usize, TestCaseError> {
    Ok(check_value(&Pairwise, value)?
        + check_value(&SoftPairwise, value)?
        + check_value(&Unpaired, value)?
        + check_value(&PromptOnly, value)?
        + check_value(&Ranked, value)?
        + check_value(&Hh, value)?)
}

#[test]
fn formats_on_arbitrary_json_values() {
    let n = cases(20_000);
    let accepted = Cell::new(0usize);
    runner(n)
        .run(&any_value(), |v| {
            accepted.set(accepted.get() + check_value_all(&v)?);
            Ok(())
        })
        .unwrap();
    println!(
        "arbitrary JSON values: {n} cases, {} records accepted",
        accepted.get()
    );
}

#[test]
fn formats_on_record_like_values() {
    let n = cases(20_000);
    let accepted = Cell::new(0usize);
    runner(n)
        .run(&record(), |v| {
            accepted.set(accepted.get() + check_value_all(&v)?);
            Ok(())
        })
        .unwrap();
    println!(
        "record-like JSON values: {n} cases, {} records accepted",
        accepted.get()
    );
    // Not vacuous: the generator reaches valid records of the formats.
    assert!(accepted.get() > 0, "no record accepted in {n} cases");
}

#[test]
fn line_parsers_on_mutated_json() {
    let n = cases(20_000);
    let accepted = Cell::new(0usize);
    let strategy = (
        record(),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 0..4),
    );
    runner(n)
        .run(&strategy, |(v, edits)| {
            let mut bytes = serde_json::to_vec(&v).unwrap();
            for (at, byte, op) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => {
                        bytes.truncate(i);
                    }
                }
            }
            accepted.set(accepted.get() + check_all_formats(&bytes)?);
            Ok(())
        })
        .unwrap();
    println!(
        "mutated JSON lines: {n} cases x 6 formats x 3 option sets, {} records accepted",
        accepted.get()
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Reads the file at `path` with `format` in both modes; checks termination and the
/// lenient report's accounting.
fn check_file<F: Format + Copy>(
    format: F,
    path: &Path,
    max_items: usize,
) -> Result<(), TestCaseError> {
    for opts in [OPTIONS[0], OPTIONS[2]] {
        let mut reader = FormatReader::open(path, format, opts).unwrap();
        let mut items = 0;
        let mut errors = 0;
        for item in reader.by_ref() {
            items += 1;
            prop_assert!(items <= max_items);
            if item.is_err() {
                errors += 1;
            }
        }
        prop_assert!(errors <= 1, "at most one error ends the iteration");
        let r = reader.report();
        if opts.mode == Mode::Lenient {
            prop_assert_eq!(r.kept + r.skipped_total(), r.total_lines);
        }
    }
    Ok(())
}

#[test]
fn readers_on_arbitrary_files() {
    let n = cases(20_000) / 10;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.jsonl");
    let line = prop_oneof![
        record().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    let strategy = (
        proptest::collection::vec(line, 0..8),
        0..3u8,
        any::<prop::sample::Index>(),
    );
    runner(n)
        .run(&strategy, |(lines, packing, cut)| {
            let mut data = lines.join(&b"\n"[..]);
            if packing > 0 {
                data = gzip(&data);
                if packing == 2 {
                    let keep = cut.index(data.len() + 1);
                    data.truncate(keep);
                }
            }
            std::fs::write(&path, &data).unwrap();
            let max = data.len() + 2;
            check_file(Pairwise, &path, max)?;
            check_file(SoftPairwise, &path, max)?;
            check_file(Unpaired, &path, max)?;
            check_file(PromptOnly, &path, max)?;
            check_file(Ranked, &path, max)?;
            check_file(Hh, &path, max)?;
            Ok(())
        })
        .unwrap();
    println!("arbitrary files (plain, gzip, cut gzip): {n} cases x 6 formats x 2 modes");
}
