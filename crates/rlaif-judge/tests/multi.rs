//! `multi` graders: formulas over sub-graders, division by zero, unknown names.

use rlaif_judge::grader::{BuildContext, ConfigFormat, FnGrader, Multi, parse_graders};
use rlaif_judge::{Failure, GradeResult, Grader, GraderSample, Item};
use serde_json::json;

const CONFIG: &str = r#"
[[graders]]
type = "multi"
name = "combo"
calculate_output = "FORMULA"

[graders.graders.exact]
type = "string_check"
input = "{{ sample.output_text }}"
reference = "{{ item.answer }}"
operation = "eq"

[graders.graders.close]
type = "text_similarity"
input = "{{ sample.output_text }}"
reference = "{{ item.answer }}"
evaluation_metric = "fuzzy_match"
"#;

fn build(formula: &str) -> Result<Box<dyn Grader>, rlaif_judge::ConfigError> {
    let cfg = parse_graders(
        &CONFIG.replace("FORMULA", formula),
        ConfigFormat::Toml,
        "multi.toml",
    )?;
    cfg[0].build(&BuildContext::new(), "multi.toml")
}

fn item() -> Item {
    json!({"answer": "Paris"}).as_object().unwrap().clone()
}

#[test]
fn combines_sub_grader_scores() {
    let mut g = build("0.5 * exact + 0.5 * close^2").unwrap();
    let r = g.grade(&GraderSample::from_text("Paris"), &item());
    assert_eq!(r.score, 1.0);
    let r = g.grade(&GraderSample::from_text("paris"), &item());
    // exact 0, close = ratio("paris", "Paris") = 8/10.
    assert!((r.score - 0.5 * 0.64).abs() < 1e-12, "{}", r.reason);
    assert_eq!(
        r.sub_scores,
        vec![("close".to_string(), 0.8), ("exact".to_string(), 0.0)]
    );
    assert!(
        r.reason.starts_with("0.5 * exact + 0.5 * close^2 = 0.32"),
        "{}",
        r.reason
    );
    let mut g = build("max(exact, floor(close * 2) / 2)").unwrap();
    assert_eq!(
        g.grade(&GraderSample::from_text("paris"), &item()).score,
        0.5
    );
}

#[test]
fn division_by_zero_is_a_zero_with_a_reason_naming_the_formula() {
    let mut g = build("close / exact").unwrap();
    let r = g.grade(&GraderSample::from_text("paris"), &item());
    assert_eq!((r.score, r.failure), (0.0, Some(Failure::Formula)));
    assert!(
        r.reason.starts_with(
            "formula error: division by zero in formula \"close / exact\": `exact` is 0"
        ),
        "{}",
        r.reason
    );
    assert_eq!(
        g.grade(&GraderSample::from_text("Paris"), &item()).score,
        1.0
    );
    let mut g = build("log(exact)").unwrap();
    let r = g.grade(&GraderSample::from_text("x"), &item());
    assert_eq!(r.failure, Some(Failure::Formula));
    assert!(
        r.reason.contains("-inf, not a finite number"),
        "{}",
        r.reason
    );
}

#[test]
fn unknown_names_and_bad_formulas_are_config_errors() {
    let e = build("exact + fuzzy").unwrap_err().to_string();
    assert_eq!(
        e,
        "multi.toml: grader `combo`: field `calculate_output`: unknown grader `fuzzy` in formula \"exact + fuzzy\" (graders: `close`, `exact`)"
    );
    let e = build("exact +").unwrap_err().to_string();
    assert!(
        e.starts_with(
            "multi.toml: grader `combo`: field `calculate_output`: cannot parse formula \"exact +\""
        ),
        "{e}"
    );
    let e = build("pow(exact, 2)").unwrap_err().to_string();
    assert!(e.contains("unknown function `pow`"), "{e}");
    // No nested multi.
    let nested = CONFIG.replace("FORMULA", "exact")
        + "\n[graders.graders.inner]\ntype = \"multi\"\ncalculate_output = \"a\"\n[graders.graders.inner.graders.a]\ntype = \"regex\"\npattern = \"x\"\n";
    let cfg = parse_graders(&nested, ConfigFormat::Toml, "multi.toml").unwrap();
    let e = cfg[0]
        .build(&BuildContext::new(), "multi.toml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "multi.toml: grader `combo.inner`: field `type`: a `multi` grader cannot contain another `multi` grader"
    );
    // A sub-grader's own error names it.
    let bad_sub = CONFIG
        .replace("FORMULA", "exact")
        .replace("operation = \"eq\"", "operation = \"equals\"");
    let e = parse_graders(&bad_sub, ConfigFormat::Toml, "multi.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "multi.toml: grader `combo.exact`: field `operation`: unknown variant `equals`"
        ),
        "{e}"
    );
}

#[test]
fn sub_grader_failures_count_as_zero_and_are_reported() {
    let subs: Vec<(String, Box<dyn Grader>)> = vec![
        (
            "a".into(),
            Box::new(FnGrader::new("a", |_: &GraderSample, _: &Item| {
                GradeResult::fail(Failure::Program, "boom")
            })),
        ),
        (
            "b".into(),
            Box::new(FnGrader::new("b", |_: &GraderSample, _: &Item| {
                GradeResult::new(0.5, "half")
            })),
        ),
    ];
    let mut g = Multi::from_graders("m", subs, "a + b").unwrap();
    let r = g.grade(&GraderSample::from_text("x"), &Item::new());
    assert_eq!(r.score, 0.5);
    assert_eq!(r.failure, Some(Failure::Program));
    assert!(
        r.reason.contains("a = 0 (program error: boom)"),
        "{}",
        r.reason
    );
    assert!(Multi::from_graders("m", vec![], "a").is_err());
}
