//! The program grader with small scripts written to a temporary folder.

use std::path::{Path, PathBuf};

use rlaif_judge::grader::{Program, ProgramConfig};
use rlaif_judge::{Failure, Grader, GraderSample, Item};
use serde_json::json;

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    path
}

fn grader(path: &Path, timeout_secs: f64) -> Program {
    Program::new(&ProgramConfig {
        name: "prog".into(),
        command: vec!["sh".into(), path.display().to_string()],
        timeout_secs,
        max_output_bytes: 1024,
    })
    .unwrap()
}

fn item() -> Item {
    json!({"reference_answer": "4"})
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn the_program_reads_sample_and_item_and_prints_a_score() {
    let dir = tempfile::tempdir().unwrap();
    // Score 1 when the input JSON holds both the output text and the reference answer.
    let p = script(
        dir.path(),
        "grade.sh",
        r#"input=$(cat)
case "$input" in
  *'"output_text":"4"'*'"reference_answer":"4"'*|*'"reference_answer":"4"'*'"output_text":"4"'*) echo 1 ;;
  *) echo 0.25 ;;
esac"#,
    );
    let mut g = grader(&p, 10.0);
    assert_eq!(g.grade(&GraderSample::from_text("4"), &item()).score, 1.0);
    let r = g.grade(&GraderSample::from_text("5"), &item());
    assert_eq!(r.score, 0.25);
    assert!(r.failure.is_none());
    if std::process::Command::new("python3")
        .arg("-c")
        .arg("1")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let py = dir.path().join("grade.py");
        std::fs::write(&py, "import json, sys\nd = json.load(sys.stdin)\nprint(float(d['sample']['output_json']['x'] == int(d['item']['reference_answer'])))\n").unwrap();
        let mut g = Program::new(&ProgramConfig {
            name: "py".into(),
            command: vec!["python3".into(), py.display().to_string()],
            timeout_secs: 20.0,
            max_output_bytes: 1024,
        })
        .unwrap();
        assert_eq!(
            g.grade(&GraderSample::from_text("{\"x\": 4}"), &item())
                .score,
            1.0
        );
    }
}

#[test]
fn every_misbehaviour_scores_zero_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (
            "sleep.sh",
            "sleep 5; echo 1",
            "did not finish within 0.500 s (killed)",
        ),
        (
            "exit.sh",
            "echo 'bad input' >&2; exit 3",
            "failed (exit status: 3); stderr: \"bad input\"",
        ),
        ("word.sh", "echo great", "printed \"great\", not a number"),
        ("nan.sh", "echo NaN", "printed NaN, not a finite number"),
        ("empty.sh", "true", "printed nothing, expected a number"),
        (
            "binary.sh",
            "printf '\\377\\376 1'",
            "printed output that is not UTF-8",
        ),
        (
            "huge.sh",
            "head -c 5000 /dev/zero | tr '\\0' 7",
            "printed more than 1024 bytes",
        ),
    ];
    for (name, body, want) in cases {
        let p = script(d, name, body);
        let t = std::time::Instant::now();
        let r = grader(&p, 0.5).grade(&GraderSample::from_text("x"), &item());
        assert_eq!(
            (r.score, r.failure),
            (0.0, Some(Failure::Program)),
            "{name}: {}",
            r.reason
        );
        assert!(
            r.reason.starts_with("program error: `sh`"),
            "{name}: {}",
            r.reason
        );
        assert!(r.reason.contains(want), "{name}: {}", r.reason);
        assert!(
            t.elapsed().as_secs_f64() < 3.0,
            "{name} took {:?}",
            t.elapsed()
        );
    }
    let r = Program::new(&ProgramConfig {
        name: "missing".into(),
        command: vec!["/nonexistent/grader".into()],
        timeout_secs: 1.0,
        max_output_bytes: 10,
    })
    .unwrap()
    .grade(&GraderSample::from_text("x"), &item());
    assert!(
        r.reason
            .starts_with("program error: cannot start `/nonexistent/grader`"),
        "{}",
        r.reason
    );
}

#[test]
fn bad_configurations_are_rejected() {
    let mk = |command: Vec<&str>, timeout_secs: f64| {
        Program::new(&ProgramConfig {
            name: "p".into(),
            command: command.into_iter().map(String::from).collect(),
            timeout_secs,
            max_output_bytes: 10,
        })
    };
    assert_eq!(mk(vec![], 1.0).unwrap_err().field, "command");
    assert_eq!(mk(vec!["sh"], 0.0).unwrap_err().field, "timeout_secs");
    assert_eq!(mk(vec!["sh"], f64::NAN).unwrap_err().field, "timeout_secs");
}
