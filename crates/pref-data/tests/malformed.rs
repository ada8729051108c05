//! Malformed input: one test per kind of problem, each checking the whole message (file,
//! line, field, what was expected and what was found), the error variant, and, where
//! it is a record problem, the reason a lenient read counts it under.

use std::io::Write;
use std::path::PathBuf;

use flate2::Compression;
use flate2::write::GzEncoder;
use pref_data::formats::{
    Format, Hh, HhReader, Mode, Pairwise, PromptOnly, Ranked, ReadOptions, Reason, SoftPairwise,
    Unpaired, read, write,
};
use pref_data::{DataError, PreferencePair, RankedExample, Text};

/// A file `name` holding `bytes`, in a temporary folder kept alive with it.
struct File {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn file(name: &str, bytes: impl AsRef<[u8]>) -> File {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    File { _dir: dir, path }
}

/// Reads one-record `line` (at line 1 of `f.jsonl`) strictly in `format` with `opts`, and
/// returns the error message with the folder stripped; checks the lenient reason too.
fn problem<F: Format + Copy>(format: F, opts: ReadOptions, line: &str, reason: Reason) -> String
where
    F::Record: std::fmt::Debug,
{
    let f = file("f.jsonl", format!("{line}\n"));
    let err = read(&f.path, format, &opts.mode(Mode::Strict)).unwrap_err();
    assert!(
        matches!(err, DataError::InvalidRecord { line: 1, .. }),
        "{err:?}"
    );
    assert!(err.is_line_error());
    let (kept, report) = read(&f.path, format, &opts.mode(Mode::Lenient)).unwrap();
    assert!(kept.is_empty());
    assert_eq!(report.count(reason), 1, "{report}");
    let dir = format!("{}/", f._dir.path().display());
    err.to_string().replace(&dir, "")
}

fn strict() -> ReadOptions {
    ReadOptions::strict()
}

#[test]
fn invalid_json() {
    let f = file(
        "bad.jsonl",
        "{\"chosen\": \"a\", \"rejected\": \"b\"}\n{\"chosen\": \n",
    );
    let err = read(&f.path, Pairwise, &strict()).unwrap_err();
    assert!(matches!(err, DataError::Json { line: 2, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.ends_with(
            "bad.jsonl:2: invalid JSON (line ends in the middle of a value): EOF while parsing a value at line 1 column 11"
        ),
        "{msg}"
    );
    // JSON has no NaN, and numbers beyond f64 are not JSON numbers we can read.
    for (text, what) in [
        (
            "{\"prompt\":\"q\",\"a\":\"x\",\"b\":\"y\",\"p_a\":NaN}",
            "expected value",
        ),
        (
            "{\"prompt\":\"q\",\"a\":\"x\",\"b\":\"y\",\"p_a\":1e400}",
            "number out of range",
        ),
    ] {
        let f = file("n.jsonl", text);
        let msg = read(&f.path, SoftPairwise, &strict())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("n.jsonl:1: invalid JSON") && msg.contains(what),
            "{msg}"
        );
    }
}

#[test]
fn invalid_json_lenient_is_counted_and_reading_goes_on() {
    let f = file(
        "bad.jsonl",
        "{\"chosen\": \"a\", \"rejected\": \"b\"}\n{\"chosen\": \n{\"chosen\": \"c\", \"rejected\": \"d\"}\n",
    );
    let (pairs, report) = read(&f.path, Pairwise, &ReadOptions::default()).unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(report.count(Reason::InvalidJson), 1);
    assert_eq!(report.examples[0].line, 2);
    assert!(
        report.examples[0]
            .detail
            .starts_with("invalid JSON (line ends in the middle of a value)"),
        "{report}"
    );
}

#[test]
fn not_an_object() {
    let msg = problem(Pairwise, strict(), "[1, 2]", Reason::NotAnObject);
    assert_eq!(
        msg,
        "f.jsonl:1: field `<record>`: expected a JSON object with fields `chosen`, `rejected` and optionally `prompt`, `margin`, got an array ([1,2])"
    );
    let msg = problem(Ranked, strict(), "\"just a string\"", Reason::NotAnObject);
    assert_eq!(
        msg,
        "f.jsonl:1: field `<record>`: expected a JSON object with fields `prompt`, `completions` and optionally `scores`, got a string (\"just a string\")"
    );
}

#[test]
fn missing_field_lists_the_fields_present() {
    let msg = problem(
        Pairwise,
        strict(),
        r#"{"prompt": "q", "chosn": "a", "rejected": "b"}"#,
        Reason::MissingField("chosen"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `chosen`: expected a string or a list of {\"role\": ..., \"content\": ...} messages, got nothing (the field is missing; the record has `chosn`, `prompt`, `rejected`)"
    );
    let msg = problem(Unpaired, strict(), "{}", Reason::MissingField("prompt"));
    assert!(
        msg.ends_with("got nothing (the field is missing; the record is empty)"),
        "{msg}"
    );
    let msg = problem(
        SoftPairwise,
        strict(),
        r#"{"prompt": "q", "a": "x", "b": "y"}"#,
        Reason::MissingField("p_a"),
    );
    assert!(
        msg.starts_with("f.jsonl:1: field `p_a`: expected a probability in [0, 1], got nothing"),
        "{msg}"
    );
}

#[test]
fn wrong_type() {
    let msg = problem(
        Pairwise,
        strict(),
        r#"{"chosen": 3, "rejected": "b"}"#,
        Reason::WrongType("chosen"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `chosen`: expected a string or a list of {\"role\": ..., \"content\": ...} messages, got a number (3)"
    );
    let msg = problem(
        Unpaired,
        strict(),
        r#"{"prompt": "q", "completion": "c", "label": "yes"}"#,
        Reason::WrongType("label"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `label`: expected a boolean (true: desirable), got a string (\"yes\")"
    );
    let msg = problem(
        SoftPairwise,
        strict(),
        r#"{"prompt": "q", "a": "x", "b": "y", "p_a": "0.5"}"#,
        Reason::WrongType("p_a"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `p_a`: expected a probability in [0, 1], got a string (\"0.5\")"
    );
    let msg = problem(
        Pairwise,
        strict(),
        r#"{"chosen": null, "rejected": "b"}"#,
        Reason::WrongType("chosen"),
    );
    assert!(msg.ends_with("got null"), "{msg}");
    let msg = problem(
        Ranked,
        strict(),
        r#"{"prompt": "q", "completions": ["a", "b"], "scores": {"a": 1}}"#,
        Reason::WrongType("scores"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `scores`: expected a list of numbers, one per completion (or no field), got an object ({\"a\":1})"
    );
    let msg = problem(
        Ranked,
        strict(),
        r#"{"prompt": "q", "completions": ["a", "b"], "scores": [1, true]}"#,
        Reason::WrongType("scores"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `scores[1]`: expected a number, got a boolean (true)"
    );
    let msg = problem(
        PromptOnly,
        strict(),
        r#"{"prompt": "q", "answer": 42}"#,
        Reason::WrongType("reference"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `answer`: expected a string (the reference answer), or no field, got a number (42)"
    );
}

#[test]
fn malformed_message() {
    let msg = problem(
        Pairwise,
        strict(),
        r#"{"chosen": [{"role": "user"}], "rejected": [{"role": "user", "content": "b"}]}"#,
        Reason::InvalidMessage("chosen"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `chosen[0].content`: expected a string, got nothing (the field is missing)"
    );
    let msg = problem(
        Unpaired,
        strict(),
        r#"{"prompt": [{"role": "user", "content": "q"}, "oops"], "completion": "c", "label": true}"#,
        Reason::InvalidMessage("prompt"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `prompt[1]`: expected a message {\"role\": string, \"content\": string}, got a string (\"oops\")"
    );
    let msg = problem(
        Ranked,
        strict(),
        r#"{"prompt": [], "completions": [[{"role": " ", "content": "a"}], []]}"#,
        Reason::InvalidMessage("completions"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `completions[0][0].role`: expected a non-empty role such as \"user\" or \"assistant\", got \" \""
    );
}

#[test]
fn mixed_plain_and_conversational() {
    let msg = problem(
        Unpaired,
        strict(),
        r#"{"prompt": [{"role": "user", "content": "q"}], "completion": "c", "label": true}"#,
        Reason::MixedForms("completion"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `completion`: expected the same form as `prompt` (a list of messages), got a string"
    );
    let msg = problem(
        Pairwise,
        strict(),
        r#"{"chosen": "a", "rejected": [{"role": "assistant", "content": "b"}]}"#,
        Reason::MixedForms("rejected"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `rejected`: expected the same form as `chosen` (a string), got a list of messages"
    );
}

#[test]
fn extra_field_only_where_denied() {
    let line = r#"{"prompt": "q", "chosen": "a", "rejected": "b", "id": 7}"#;
    let f = file("f.jsonl", line);
    assert_eq!(read(&f.path, Pairwise, &strict()).unwrap().0.len(), 1);
    let msg = problem(
        Pairwise,
        strict().deny_unknown_fields(true),
        line,
        Reason::UnknownField,
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `id`: expected only the fields of the pairwise format (`prompt`, `chosen`, `rejected`, `margin`; unknown fields are denied), got an unknown field `id`"
    );
    // In messages too.
    let msg = problem(
        Pairwise,
        strict().deny_unknown_fields(true),
        r#"{"chosen": [{"role": "user", "content": "q", "name": "x"}], "rejected": "b"}"#,
        Reason::UnknownField,
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `chosen[0].name`: expected only `role` and `content` in a message (unknown fields are denied), got an unknown field `name`"
    );
    // HH records too.
    let hh = r#"{"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: a\n\nAssistant: c", "x": 1}"#;
    let f = file("hh.jsonl", hh);
    let opts = strict().deny_unknown_fields(true);
    let err = HhReader::open(&f.path, Hh, opts)
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(
        err.to_string().ends_with("hh.jsonl:1: field `x`: expected only the fields of the HH-RLHF format (`chosen`, `rejected`; unknown fields are denied), got an unknown field `x`"),
        "{err}"
    );
    let (_, report) = read(
        &f.path,
        Hh,
        &ReadOptions::default().deny_unknown_fields(true),
    )
    .unwrap();
    assert_eq!(report.count(Reason::UnknownField), 1);
}

#[test]
fn empty_completion() {
    let msg = problem(
        Pairwise,
        strict(),
        r#"{"prompt": "q", "chosen": " \n", "rejected": "b"}"#,
        Reason::EmptyText("chosen"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `chosen`: expected a non-empty completion, got \" \\n\""
    );
    let msg = problem(
        Unpaired,
        strict(),
        r#"{"prompt": [], "completion": [], "label": true}"#,
        Reason::EmptyText("completion"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `completion`: expected a non-empty completion, got an empty list of messages"
    );
    let msg = problem(
        Ranked,
        strict(),
        r#"{"prompt": "q", "completions": ["a", ""]}"#,
        Reason::EmptyText("completions"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `completions[1]`: expected a non-empty completion, got \"\""
    );
    let msg = problem(
        PromptOnly,
        strict(),
        r#"{"prompt": [{"role": "user", "content": "  "}]}"#,
        Reason::EmptyText("prompt"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `prompt`: expected a non-empty prompt, got messages whose contents are all empty"
    );
    let msg = problem(
        PromptOnly,
        strict(),
        r#"{"prompt": "q", "solution": ""}"#,
        Reason::EmptyText("reference"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `solution`: expected a non-empty reference answer, or no field, got \"\""
    );
    // Implicit prompt: `chosen` a prefix of `rejected` leaves `chosen` nothing.
    let msg = problem(
        Pairwise,
        strict(),
        r#"{"chosen": "The sky", "rejected": "The sky is blue"}"#,
        Reason::EmptyText("chosen"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `chosen`: expected a non-empty completion, got \"\""
    );
}

#[test]
fn identical_chosen_and_rejected() {
    let msg = problem(
        Pairwise,
        strict(),
        r#"{"prompt": "q", "chosen": " same", "rejected": "same \n"}"#,
        Reason::IdenticalCompletions,
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `rejected`: expected a completion different from `chosen`, got the same text: \"same \\n\""
    );
    let msg = problem(
        Pairwise,
        strict(),
        r#"{"chosen": "all the same", "rejected": "all the same"}"#,
        Reason::IdenticalCompletions,
    );
    assert!(msg.contains("the prompt is implicit"), "{msg}");
    let msg = problem(
        SoftPairwise,
        strict(),
        r#"{"prompt": "q", "a": "x", "b": "x", "p_a": 0.5}"#,
        Reason::IdenticalCompletions,
    );
    assert!(
        msg.starts_with("f.jsonl:1: field `b`: expected a completion different from `a`"),
        "{msg}"
    );
    let msg = problem(
        Ranked,
        strict(),
        r#"{"prompt": "q", "completions": ["a", "b", " a"]}"#,
        Reason::IdenticalCompletions,
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `completions[2]`: expected a completion different from `completions[0]`, got the same text: \" a\""
    );
}

#[test]
fn probability_out_of_range() {
    for (p, shown) in [("1.5", "1.5"), ("-0.01", "-0.01")] {
        let line = format!(r#"{{"prompt": "q", "a": "x", "b": "y", "p_a": {p}}}"#);
        let msg = problem(SoftPairwise, strict(), &line, Reason::OutOfRange("p_a"));
        assert_eq!(
            msg,
            format!("f.jsonl:1: field `p_a`: expected a probability in [0, 1], got {shown}")
        );
    }
    // NaN cannot be in a JSON file; the writer refuses it, naming the record.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("soft.jsonl");
    let ok = PreferencePair::new("q", "x", "y");
    let nan = PreferencePair {
        p_chosen: f64::NAN,
        ..ok.clone()
    };
    let err = write(&path, &SoftPairwise, [&ok, &nan]).unwrap_err();
    assert!(
        matches!(err, DataError::InvalidOutput { index: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "writing {}: record #1: field `p_a`: expected a probability in [0, 1], got NaN",
            path.display()
        )
    );
    assert!(!path.exists(), "nothing is written");
}

#[test]
fn margin_out_of_range() {
    let msg = problem(
        Pairwise,
        strict(),
        r#"{"prompt": "q", "chosen": "a", "rejected": "b", "margin": -1}"#,
        Reason::OutOfRange("margin"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `margin`: expected a non-negative number (or no field), got -1"
    );
}

#[test]
fn ranking_with_fewer_than_two_completions() {
    let msg = problem(
        Ranked,
        strict(),
        r#"{"prompt": "q", "completions": ["a"]}"#,
        Reason::TooFewCompletions,
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `completions`: expected a list of at least 2 completions, got 1 completion"
    );
}

#[test]
fn scores_length_mismatch() {
    let msg = problem(
        Ranked,
        strict(),
        r#"{"prompt": "q", "completions": ["a", "b", "c"], "scores": [1, 2]}"#,
        Reason::LengthMismatch,
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `scores`: expected 3 scores, one per completion, got 2 scores"
    );
}

#[test]
fn tie_where_not_allowed() {
    let line = r#"{"prompt": "q", "completions": ["a", "b", "c"], "scores": [2, 1, 2.0]}"#;
    let msg = problem(Ranked, strict(), line, Reason::Tie);
    assert_eq!(
        msg,
        "f.jsonl:1: field `scores[2]`: expected a score different from every other (ties are not allowed; see ReadOptions::allow_ties), got 2, the same as scores[0]"
    );
    let f = file("t.jsonl", line);
    let (r, _) = read(&f.path, Ranked, &strict().allow_ties(true)).unwrap();
    assert_eq!(r[0].implied_pairs(), vec![(0, 1), (2, 1)]);
    // Writing keeps ties.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path().join("w.jsonl"), &Ranked, &r).unwrap();
}

#[test]
fn conflicting_reference_names() {
    let msg = problem(
        PromptOnly,
        strict(),
        r#"{"prompt": "q", "answer": "1", "solution": "x = 1"}"#,
        Reason::ConflictingFields("reference"),
    );
    assert_eq!(
        msg,
        "f.jsonl:1: field `solution`: expected at most one reference answer (`reference` or an alias: answer, solution, ground_truth), got both `answer` and `solution`"
    );
}

#[test]
fn invalid_utf8() {
    let f = file(
        "u.jsonl",
        b"{\"prompt\": \"q\", \"completion\": \"\xff\", \"label\": true}\n",
    );
    let err = read(&f.path, Unpaired, &strict()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Utf8 {
                line: 1,
                byte: 31,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with(
            "u.jsonl:1: invalid UTF-8: expected UTF-8 text, got an invalid byte sequence at byte 31 of the line"
        ),
        "{err}"
    );
    // Lenient: counted (one good line keeps the file readable).
    let f = file(
        "u.jsonl",
        b"{\"prompt\": \"q\", \"completion\": \"\xff\", \"label\": true}\n{\"prompt\": \"q\", \"completion\": \"c\", \"label\": true}\n",
    );
    let (ex, report) = read(&f.path, Unpaired, &ReadOptions::default()).unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(report.count(Reason::InvalidUtf8), 1);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn invalid_gzip() {
    // Gzip magic bytes, then garbage: an error even in lenient mode.
    let f = file("g.jsonl.gz", b"\x1f\x8bthis is not gzip at all");
    let err = read(&f.path, Pairwise, &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Gzip {
                truncated: false,
                line: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_line_error());
    let msg = err.to_string();
    assert!(
        msg.contains("g.jsonl.gz: invalid gzip data while reading line 1"),
        "{msg}"
    );
    // A corrupt CRC at the end: the records before it are read, then the error.
    let mut bytes = gzip(b"{\"chosen\": \"a\", \"rejected\": \"b\"}\n");
    let n = bytes.len();
    bytes[n - 6] ^= 0xff;
    let f = file("crc.jsonl.gz", bytes);
    let err = read(&f.path, Pairwise, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
}

#[test]
fn truncated_gzip() {
    let lines: String = (0..3000)
        .map(|i| {
            format!(
                "{{\"prompt\": \"q{i}\", \"chosen\": \"a{}\", \"rejected\": \"b\"}}\n",
                i * 7919 % 1013
            )
        })
        .collect();
    let full = gzip(lines.as_bytes());
    let f = file("cut.jsonl.gz", &full[..full.len() / 2]);
    for mode in [Mode::Strict, Mode::Lenient] {
        let err = read(&f.path, Pairwise, &ReadOptions::default().mode(mode)).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Gzip {
                    truncated: true,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(
                "cut.jsonl.gz: gzip stream is truncated (unexpected end of file) while reading line"
            ),
            "{msg}"
        );
        assert!(
            msg.ends_with("; the file is probably incomplete, fetch it again"),
            "{msg}"
        );
    }
    // The streaming reader yields the records before the cut, then the error, then stops.
    let items: Vec<_> =
        pref_data::formats::PairReader::open(&f.path, Pairwise, ReadOptions::default())
            .unwrap()
            .collect();
    let (last, before) = items.split_last().unwrap();
    assert!(before.len() > 100 && before.iter().all(Result::is_ok));
    assert!(last.is_err());
}

#[test]
fn not_json_lines_at_all() {
    // A binary file.
    let f = file("model.bin", [0u8, 159, 146, 150, 10, 255, 0, 1]);
    let err = read(&f.path, Pairwise, &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::NotJsonLines {
                lines: 2,
                first_line: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.ends_with("model.bin: not a JSON Lines file: none of its 2 non-blank lines is valid JSON; line 1: invalid UTF-8: expected UTF-8 text, got an invalid byte sequence at byte 1 of the line"),
        "{msg}"
    );
    // A pretty-printed JSON document.
    let f = file(
        "doc.json",
        "[\n  {\"chosen\": \"a\",\n   \"rejected\": \"b\"}\n]\n",
    );
    let err = read(&f.path, Pairwise, &ReadOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("doc.json: not a JSON Lines file: none of its 4 non-blank lines is valid JSON; line 1: invalid JSON"),
        "{err}"
    );
    // HH through the old entry point too.
    let err = pref_data::read_hh(&f.path, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::NotJsonLines { .. }), "{err:?}");
    // An empty file is no error: nothing to read.
    let f = file("empty.jsonl", "\n\n");
    let (pairs, report) = read(&f.path, Pairwise, &ReadOptions::default()).unwrap();
    assert!(pairs.is_empty());
    assert_eq!(report.blank_lines, 2);
}

#[test]
fn missing_file() {
    let err = read("/no/such/dir/p.jsonl", Pairwise, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("opening /no/such/dir/p.jsonl"),
        "{err}"
    );
}

/// One file with a problem of each kind: strict stops at the first, lenient counts
/// every one under its reason, keeps the first examples, and keeps the good records.
#[test]
fn lenient_report_counts_every_reason() {
    let lines = [
        r#"{"prompt": "q", "completions": ["a", "b"]}"#,
        r#"not json"#,
        r#"[1]"#,
        r#"{"prompt": "q"}"#,
        r#"{"prompt": "q", "completions": "a"}"#,
        r#"{"prompt": "q", "completions": ["a"]}"#,
        r#"{"prompt": "q", "completions": ["a", "b"], "scores": [1]}"#,
        r#"{"prompt": "q", "completions": ["a", "b"], "scores": [1, 1]}"#,
        r#"{"prompt": "q", "completions": ["a", "a"]}"#,
        r#"{"prompt": "q", "completions": ["a", " "]}"#,
        r#"{"prompt": "q", "completions": ["a", [{"role": "assistant", "content": "b"}]]}"#,
        r#"{"prompt": "q", "completions": ["a", [{"role": "assistant"}]]}"#,
        r#"{"prompt": "q", "completions": ["x", "y"], "scores": [2, 1]}"#,
        r#"{"prompt": "q", "completions": ["a", "b"], "scores": [1, 1]}"#,
    ];
    let f = file("mixed.jsonl", lines.join("\n"));
    let err = read(&f.path, Ranked, &strict()).unwrap_err();
    assert_eq!(err.line(), Some(2));
    let (kept, report) = read(&f.path, Ranked, &ReadOptions::default()).unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(report.total_lines, 14);
    assert_eq!(report.kept + report.skipped_total(), report.total_lines);
    let expected = [
        (Reason::InvalidJson, 1),
        (Reason::NotAnObject, 1),
        (Reason::MissingField("completions"), 1),
        (Reason::WrongType("completions"), 1),
        (Reason::TooFewCompletions, 1),
        (Reason::LengthMismatch, 1),
        (Reason::Tie, 2),
        (Reason::IdenticalCompletions, 1),
        (Reason::EmptyText("completions"), 1),
        (Reason::MixedForms("completions"), 1),
        (Reason::InvalidMessage("completions"), 1),
    ];
    assert_eq!(report.skipped, expected.into_iter().collect());
    let text = report.to_string();
    assert!(
        text.contains("mixed.jsonl: 14 records, kept 2, skipped 12 (85.71%)"),
        "{text}"
    );
    assert!(
        text.contains("     2  tied scores where ties are not allowed"),
        "{text}"
    );
    assert!(text.contains("line 14: field `scores[1]`"), "{text}");
}

#[test]
fn writer_refuses_what_would_not_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.jsonl.gz");
    std::fs::write(&path, b"old").unwrap();
    let same = PreferencePair::new("q", "a", " a ");
    let err = write(&path, &Pairwise, [&same]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "writing {}: record #0: field `rejected`: expected a completion different from `chosen`, got the same text: \" a \"",
            path.display()
        )
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"old",
        "the old file is kept"
    );
    let soft = PreferencePair {
        p_chosen: 0.25,
        ..PreferencePair::new("q", "a", "b")
    };
    let err = write(&path, &Pairwise, [&soft]).unwrap_err();
    assert!(err.to_string().ends_with("record #0: field `p_chosen`: expected 1 (a hard label; write soft labels in the soft pairwise format), got 0.25"), "{err}");
    let one = RankedExample {
        prompt: "q".into(),
        completions: vec!["a".into()],
        scores: None,
    };
    let err = write(&path, &Ranked, [&one]).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "field `completions`: expected a list of at least 2 completions, got 1 completion"
        ),
        "{err}"
    );
    let inf = RankedExample {
        prompt: "q".into(),
        completions: vec!["a".into(), Text::from("b")],
        scores: Some(vec![1.0, f64::INFINITY]),
    };
    let err = write(&path, &Ranked, [&inf]).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "field `scores[1]`: expected a finite number (JSON has no NaN or infinity), got inf"
        ),
        "{err}"
    );
}
