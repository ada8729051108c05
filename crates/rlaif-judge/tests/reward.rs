//! GraderReward: scores, reasons and metrics over rollout samples, including samples
//! built from RFT records.

use pref_data::formats::ReadOptions;
use pref_data::{ChatTemplate, read_rft};
use rlaif_judge::GraderReward;
use rlaif_judge::grader::{BuildContext, ConfigFormat, parse_graders};
use rlhf_core::{Reward, RewardInput, Sample};

const RFT: &str = r#"{"messages": [{"role": "developer", "content": "Reply with JSON {\"answer\": number}."}, {"role": "user", "content": "What is 6 * 7?"}], "reference_answer": "42", "answer": 42}
{"messages": [{"role": "user", "content": "What is 2 + 2?"}], "reference_answer": "4", "answer": 4}
{"messages": [{"role": "user", "content": "What is 10 / 4?"}], "reference_answer": "2.5", "answer": 2.5}
"#;

const GRADER: &str = r#"
type = "multi"
name = "math"
calculate_output = "0.75 * value + 0.25 * format"

[graders.value]
type = "numeric"
json_pointer = "/answer"
reference = "{{ item.reference_answer }}"
abs_tolerance = 1e-9

[graders.format]
type = "regex"
pattern = '^\{"answer": [-0-9.]+\}$'
mode = "full_match"
"#;

#[test]
fn grader_reward_scores_samples_built_from_rft_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.jsonl");
    std::fs::write(&path, RFT).unwrap();
    let (rows, report) = read_rft(&path, &ReadOptions::strict()).unwrap();
    assert_eq!(report.kept, 3);

    let completions = [
        "{\"answer\": 42}",
        "{ \"answer\" : 4 }",
        "The answer is 2.5",
    ];
    let samples: Vec<Sample> = rows
        .iter()
        .zip(completions)
        .enumerate()
        .map(|(group, (row, completion))| {
            let prompt = ChatTemplate::Plain.render_prompt(&row.prompt).unwrap();
            Sample {
                group,
                ..Sample::from_text(prompt, completion).with_item(row.item.clone())
            }
        })
        .collect();

    let cfg = parse_graders(GRADER, ConfigFormat::Toml, "math.toml").unwrap();
    let mut reward =
        GraderReward::from_boxed(cfg[0].build(&BuildContext::new(), "math.toml").unwrap());
    assert_eq!(reward.name(), "math");
    let scores = reward.score(&RewardInput::new(&samples)).unwrap();
    assert_eq!(scores.sequence, vec![1.0, 0.75, 0.0]);
    assert_eq!(scores.reasons.len(), 3);
    assert!(
        scores.reasons[2].contains("malformed output: the output is not JSON"),
        "{}",
        scores.reasons[2]
    );
    let metric = |k: &str| {
        scores
            .metrics
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| *v)
            .unwrap()
    };
    assert!((metric("grader/math") - 1.75 / 3.0).abs() < 1e-12);
    assert!((metric("grader/math/value") - 2.0 / 3.0).abs() < 1e-12);
    assert!((metric("grader/math/format") - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(metric("failures"), 1.0);
    assert_eq!(metric("failures/malformed_output"), 1.0);
    assert_eq!(metric("failures/template"), 0.0);
}

#[test]
fn failures_are_counted_by_kind_and_empty_batches_work() {
    let cfg = parse_graders(
        "[[graders]]\ntype = \"string_check\"\nname = \"exact\"\ninput = \"{{ sample.output_text }}\"\nreference = \"{{ item.answer }}\"\noperation = \"eq\"\n",
        ConfigFormat::Toml,
        "x.toml",
    )
    .unwrap();
    let mut reward =
        GraderReward::from_boxed(cfg[0].build(&BuildContext::new(), "x.toml").unwrap());
    let item = serde_json::json!({"answer": "yes"})
        .as_object()
        .unwrap()
        .clone();
    let samples = vec![
        Sample::from_text("q", "yes").with_item(item.clone()),
        Sample::from_text("q", ""),
        Sample::from_text("q", "\u{0}\u{fffd} no").with_item(item),
    ];
    let s = reward.score(&RewardInput::new(&samples)).unwrap();
    assert_eq!(s.sequence, vec![1.0, 0.0, 0.0]);
    assert!(
        s.reasons[1].starts_with("template error:"),
        "{}",
        s.reasons[1]
    );
    let metric = |k: &str| {
        s.metrics
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| *v)
            .unwrap()
    };
    assert_eq!(metric("failures/template"), 1.0);
    assert_eq!(metric("failures"), 1.0);
    let none = reward.score(&RewardInput::new(&[])).unwrap();
    assert!(none.sequence.is_empty());
}
