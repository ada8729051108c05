//! The RFT format: reading with validation (each malformed input's whole message and
//! lenient reason), round-trips through the writer, and the train/validation split.

use std::path::PathBuf;

use pref_data::formats::{Mode, ReadOptions, Reason, Rft, read, write};
use pref_data::{DataError, Message, RftExample, Text, read_rft, split_rft, write_rft};
use serde_json::json;

struct File {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn file(name: &str, text: &str) -> File {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    File { _dir: dir, path }
}

/// The strict error message for one-line `line` (folder stripped), checking the lenient
/// reason too.
fn problem(line: &str, reason: Reason, opts: ReadOptions) -> String {
    let f = file("rft.jsonl", &format!("{line}\n"));
    let err = read(&f.path, Rft, &opts.mode(Mode::Strict)).unwrap_err();
    assert!(
        matches!(err, DataError::InvalidRecord { line: 1, .. }),
        "{err:?}"
    );
    let (kept, report) = read(&f.path, Rft, &opts.mode(Mode::Lenient)).unwrap();
    assert!(kept.is_empty());
    assert_eq!(report.count(reason), 1, "{report}");
    err.to_string()
        .replace(&format!("{}/", f._dir.path().display()), "")
}

fn item(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn reads_messages_and_keeps_every_other_field_as_the_item() {
    let f = file(
        "rft.jsonl",
        concat!(
            r#"{"messages": [{"role": "developer", "content": "Answer with a number."}, {"role": "user", "content": "2+2?"}], "reference_answer": "4", "meta": {"level": 1}}"#,
            "\n\n",
            r#"{"messages": [{"role": "user", "content": "Capital of France?"}], "reference_answer": "Paris"}"#,
            "\n"
        ),
    );
    let (rows, report) = read_rft(&f.path, &ReadOptions::strict()).unwrap();
    assert_eq!(report.kept, 2);
    assert_eq!(report.blank_lines, 1);
    assert_eq!(
        rows[0].prompt,
        Text::Chat(vec![
            Message::new("developer", "Answer with a number."),
            Message::new("user", "2+2?")
        ])
    );
    assert_eq!(
        rows[0].item,
        item(json!({"reference_answer": "4", "meta": {"level": 1}}))
    );
    assert_eq!(rows[1].item["reference_answer"], "Paris");
    // Item fields are data, not unknown fields; unknown message fields still are.
    let (rows, _) = read_rft(&f.path, &ReadOptions::strict().deny_unknown_fields(true)).unwrap();
    assert_eq!(rows.len(), 2);
}

#[test]
fn malformed_rows_name_line_and_field() {
    let s = ReadOptions::strict();
    assert_eq!(
        problem(
            r#"{"reference_answer": "4"}"#,
            Reason::MissingField("messages"),
            s
        ),
        "rft.jsonl:1: field `messages`: expected a non-empty list of {\"role\": ..., \"content\": ...} messages (an RFT prompt is a conversation), got nothing (the field is missing; the record has `reference_answer`)"
    );
    assert_eq!(
        problem(r#"{"messages": "2+2?"}"#, Reason::WrongType("messages"), s),
        "rft.jsonl:1: field `messages`: expected a non-empty list of {\"role\": ..., \"content\": ...} messages (an RFT prompt is a conversation), got a string (\"2+2?\")"
    );
    assert_eq!(
        problem(r#"{"messages": []}"#, Reason::EmptyText("messages"), s),
        "rft.jsonl:1: field `messages`: expected a non-empty conversation, got an empty list of messages"
    );
    assert_eq!(
        problem(
            r#"{"messages": [{"role": "user"}]}"#,
            Reason::InvalidMessage("messages"),
            s
        ),
        "rft.jsonl:1: field `messages[0].content`: expected a string, got nothing (the field is missing)"
    );
    assert_eq!(
        problem(
            r#"{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}"#,
            Reason::InvalidMessage("messages"),
            s
        ),
        "rft.jsonl:1: field `messages[1].role`: expected the last message from \"user\" (the model answers it), got \"assistant\""
    );
    assert_eq!(
        problem(r#"[1]"#, Reason::NotAnObject, s),
        "rft.jsonl:1: field `<record>`: expected a JSON object with fields `messages` and any reference fields, got an array ([1])"
    );
    assert_eq!(
        problem(
            r#"{"messages": [{"role": "user", "content": "q", "name": "x"}]}"#,
            Reason::UnknownField,
            s.deny_unknown_fields(true)
        ),
        "rft.jsonl:1: field `messages[0].name`: expected only `role` and `content` in a message (unknown fields are denied), got an unknown field `name`"
    );
}

#[test]
fn lenient_reading_skips_and_counts() {
    let f = file(
        "rft.jsonl",
        concat!(
            r#"{"messages": [{"role": "user", "content": "a"}], "answer": 1}"#,
            "\n{not json\n",
            r#"{"messages": []}"#,
            "\n",
            r#"{"messages": [{"role": "user", "content": "b"}]}"#,
            "\n"
        ),
    );
    let (rows, report) = read_rft(&f.path, &ReadOptions::default()).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(report.total_lines, 4);
    assert_eq!(report.count(Reason::InvalidJson), 1);
    assert_eq!(report.count(Reason::EmptyText("messages")), 1);
}

#[test]
fn round_trips_through_the_writer_and_rejects_what_it_cannot_write() {
    let rows = vec![
        RftExample {
            prompt: Text::Chat(vec![
                Message::new("system", "Be brief."),
                Message::new("user", "2+2?"),
            ]),
            item: item(json!({"reference_answer": "4", "tags": ["math"], "score": 0.5})),
        },
        RftExample {
            prompt: Text::Chat(vec![Message::new("user", "Name a prime.")]),
            item: serde_json::Map::new(),
        },
    ];
    for name in ["out.jsonl", "out.jsonl.gz"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        assert_eq!(write_rft(&path, &rows).unwrap(), 2);
        let (back, _) = read_rft(&path, &ReadOptions::strict()).unwrap();
        assert_eq!(back, rows);
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = RftExample {
        prompt: Text::Chat(vec![Message::new("user", "q")]),
        item: item(json!({"messages": 1})),
    };
    let e = write(dir.path().join("x.jsonl"), &Rft, [&bad]).unwrap_err();
    assert!(e.to_string().contains("field `messages`"), "{e}");
    let plain = RftExample {
        prompt: Text::Plain("q".into()),
        item: serde_json::Map::new(),
    };
    assert!(write_rft(dir.path().join("y.jsonl"), [&plain]).is_err());
    let assistant_last = RftExample {
        prompt: Text::Chat(vec![Message::new("assistant", "a")]),
        item: serde_json::Map::new(),
    };
    assert!(write_rft(dir.path().join("z.jsonl"), [&assistant_last]).is_err());
    assert!(!dir.path().join("x.jsonl").exists());
}

#[test]
fn split_keeps_conversations_together_and_is_seeded() {
    let rows: Vec<RftExample> = (0..400)
        .map(|i| RftExample {
            prompt: Text::Chat(vec![Message::new("user", format!("question {}", i % 200))]),
            item: item(json!({"i": i})),
        })
        .collect();
    let (train, valid) = split_rft(rows.clone(), 0.2, 7);
    assert_eq!(train.len() + valid.len(), 400);
    assert!((40..120).contains(&valid.len()), "{}", valid.len());
    for v in &valid {
        assert!(!train.iter().any(|t| t.prompt == v.prompt));
    }
    let (train2, valid2) = split_rft(rows, 0.2, 7);
    assert_eq!((train, valid), (train2, valid2));
}
