//! Rule graders against hand-computed values, and malformed samples.

use rlaif_judge::grader::{
    FnGrader, JsonField, JsonFieldConfig, MultipleChoice, MultipleChoiceConfig, Numeric,
    NumericConfig, RegexConfig, RegexGrader, RegexMode, StringCheck, StringCheckConfig,
    StringOperation,
};
use rlaif_judge::{Failure, GradeResult, Grader, GraderSample, Item};
use serde_json::json;

fn item(v: serde_json::Value) -> Item {
    v.as_object().unwrap().clone()
}

fn check(op: StringOperation) -> StringCheck {
    StringCheck::new(&StringCheckConfig {
        name: "s".into(),
        input: "{{ sample.output_text }}".into(),
        reference: "{{ item.reference_answer }}".into(),
        operation: op,
    })
    .unwrap()
}

#[test]
fn string_check_operations() {
    let it = item(json!({"reference_answer": "Paris"}));
    let cases = [
        (StringOperation::Eq, "Paris", 1.0),
        (StringOperation::Eq, "paris", 0.0),
        (StringOperation::Eq, "Paris ", 0.0),
        (StringOperation::Ne, "paris", 1.0),
        (StringOperation::Ne, "Paris", 0.0),
        (StringOperation::Like, "It is Paris.", 1.0),
        (StringOperation::Like, "It is PARIS.", 0.0),
        (StringOperation::Ilike, "It is PARIS.", 1.0),
        (StringOperation::Ilike, "Lyon", 0.0),
    ];
    for (op, out, want) in cases {
        let r = check(op).grade(&GraderSample::from_text(out), &it);
        assert_eq!(r.score, want, "{op:?} {out:?}: {}", r.reason);
        assert!(r.failure.is_none());
    }
    // A missing item field is a template failure (score 0, reason), not a panic.
    let r = check(StringOperation::Eq).grade(&GraderSample::from_text("Paris"), &item(json!({})));
    assert_eq!(r.failure, Some(Failure::Template));
    assert_eq!(r.score, 0.0);
    assert!(
        r.reason
            .starts_with("template error: cannot render `{{ item.reference_answer }}`"),
        "{}",
        r.reason
    );
}

#[test]
fn string_check_on_json_output_and_malformed_outputs() {
    let mut g = StringCheck::new(&StringCheckConfig {
        name: "city".into(),
        input: "{{ sample.output_json.city }}".into(),
        reference: "{{ item.city }}".into(),
        operation: StringOperation::Eq,
    })
    .unwrap();
    let it = item(json!({"city": "Rome"}));
    assert_eq!(
        g.grade(&GraderSample::from_text("{\"city\": \"Rome\"}"), &it)
            .score,
        1.0
    );
    for bad in ["", "{\"city\": ", "not json", "[1, 2]"] {
        let r = g.grade(&GraderSample::from_text(bad), &it);
        assert_eq!(
            (r.score, r.failure),
            (0.0, Some(Failure::Template)),
            "{bad:?}: {}",
            r.reason
        );
    }
    let huge = "x".repeat(5_000_000);
    let r = check(StringOperation::Like).grade(
        &GraderSample::from_text(huge),
        &item(json!({"reference_answer": "y"})),
    );
    assert_eq!(r.score, 0.0);
    assert!(r.reason.len() < 400, "reasons quote at most 80 characters");
}

fn numeric(abs: f64, rel: f64, ptr: Option<&str>) -> Numeric {
    Numeric::new(&NumericConfig {
        name: "n".into(),
        input: "{{ sample.output_text }}".into(),
        json_pointer: ptr.map(str::to_string),
        reference: "{{ item.answer }}".into(),
        abs_tolerance: abs,
        rel_tolerance: rel,
    })
    .unwrap()
}

#[test]
fn numeric_tolerances_and_sources() {
    let it = item(json!({"answer": 100}));
    let s = |t: &str| GraderSample::from_text(t);
    assert_eq!(
        numeric(0.0, 0.0, None)
            .grade(&s("so it is 100."), &it)
            .score,
        1.0
    );
    assert_eq!(numeric(0.0, 0.0, None).grade(&s("100.5"), &it).score, 0.0);
    assert_eq!(numeric(0.5, 0.0, None).grade(&s("100.5"), &it).score, 1.0);
    assert_eq!(
        numeric(0.0, 0.01, None)
            .grade(&s("first 3, then 101"), &it)
            .score,
        1.0
    );
    assert_eq!(numeric(0.0, 0.01, None).grade(&s("101.5"), &it).score, 0.0);
    assert_eq!(
        numeric(0.0, 0.0, None)
            .grade(&s("1,000 minus 900 = 100"), &it)
            .score,
        1.0
    );
    assert_eq!(
        numeric(0.0, 0.0, Some("/result"))
            .grade(&s("{\"result\": 100.0}"), &it)
            .score,
        1.0
    );
    assert_eq!(
        numeric(0.0, 0.0, Some("/result"))
            .grade(&s("{\"result\": \"100\"}"), &it)
            .score,
        1.0
    );
    for (out, ptr) in [
        ("no number", None),
        ("", None),
        ("{\"x\": 1}", Some("/result")),
        ("100", Some("/result")),
    ] {
        let r = numeric(0.0, 0.0, ptr).grade(&s(out), &it);
        assert_eq!(
            (r.score, r.failure),
            (0.0, Some(Failure::MalformedOutput)),
            "{out:?}: {}",
            r.reason
        );
    }
    let r = numeric(0.0, 0.0, None).grade(&s("100"), &item(json!({"answer": "a lot"})));
    assert_eq!(r.failure, Some(Failure::Template));
    assert!(
        Numeric::new(&NumericConfig {
            name: "n".into(),
            input: "x".into(),
            json_pointer: None,
            reference: "y".into(),
            abs_tolerance: -1.0,
            rel_tolerance: 0.0
        })
        .is_err()
    );
}

#[test]
fn regex_search_full_match_and_case() {
    let mk = |pattern: &str, mode, ci| {
        RegexGrader::new(&RegexConfig {
            name: "r".into(),
            input: "{{ sample.output_text }}".into(),
            pattern: pattern.into(),
            mode,
            case_insensitive: ci,
        })
    };
    let it = Item::new();
    let s = GraderSample::from_text("Final answer: 42");
    assert_eq!(
        mk(r"answer: \d+", RegexMode::Search, false)
            .unwrap()
            .grade(&s, &it)
            .score,
        1.0
    );
    assert_eq!(
        mk(r"ANSWER", RegexMode::Search, false)
            .unwrap()
            .grade(&s, &it)
            .score,
        0.0
    );
    assert_eq!(
        mk(r"ANSWER", RegexMode::Search, true)
            .unwrap()
            .grade(&s, &it)
            .score,
        1.0
    );
    assert_eq!(
        mk(r"answer: \d+", RegexMode::FullMatch, false)
            .unwrap()
            .grade(&s, &it)
            .score,
        0.0
    );
    assert_eq!(
        mk(r"Final answer: \d+|x", RegexMode::FullMatch, false)
            .unwrap()
            .grade(&s, &it)
            .score,
        1.0
    );
    let e = mk("(unclosed", RegexMode::Search, false).unwrap_err();
    assert_eq!(e.field, "pattern");
    assert!(
        e.message.starts_with("invalid regular expression"),
        "{}",
        e.message
    );
}

#[test]
fn json_field_compares_values() {
    let mk = |path: &str, value: &str| {
        JsonField::new(&JsonFieldConfig {
            name: "j".into(),
            path: path.into(),
            value: value.into(),
        })
        .unwrap()
    };
    let it = item(json!({"city": "Paris", "n": 3, "tags": ["a", "b"]}));
    let s = GraderSample::from_text(
        "{\"answer\": {\"city\": \"Paris\", \"n\": 3.0, \"tags\": [\"a\", \"b\"], \"ok\": true}}",
    );
    assert_eq!(
        mk("/answer/city", "{{ item.city }}").grade(&s, &it).score,
        1.0
    );
    assert_eq!(mk("/answer/n", "{{ item.n }}").grade(&s, &it).score, 1.0);
    assert_eq!(
        mk("/answer/tags", "{{ item.tags | tojson }}")
            .grade(&s, &it)
            .score,
        1.0
    );
    assert_eq!(mk("/answer/ok", "true").grade(&s, &it).score, 1.0);
    assert_eq!(mk("/answer/city", "Rome").grade(&s, &it).score, 0.0);
    let r = mk("/answer/missing", "x").grade(&s, &it);
    assert_eq!(r.failure, Some(Failure::MalformedOutput));
    let r = mk("/answer/city", "x").grade(&GraderSample::from_text("{\"answer\": "), &it);
    assert_eq!(r.failure, Some(Failure::MalformedOutput));
    assert!(r.reason.contains("not JSON"), "{}", r.reason);
    assert!(
        JsonField::new(&JsonFieldConfig {
            name: "j".into(),
            path: "answer".into(),
            value: "x".into()
        })
        .is_err()
    );
}

#[test]
fn multiple_choice_extracts_and_compares() {
    let mut g = MultipleChoice::new(&MultipleChoiceConfig {
        name: "mc".into(),
        input: "{{ sample.output_text }}".into(),
        reference: "{{ item.answer }}".into(),
        letters: "ABCDE".into(),
    })
    .unwrap();
    let it = item(json!({"answer": "e"}));
    assert_eq!(
        g.grade(&GraderSample::from_text("The answer is (E)."), &it)
            .score,
        1.0
    );
    assert_eq!(
        g.grade(&GraderSample::from_text("Answer: B"), &it).score,
        0.0
    );
    let r = g.grade(&GraderSample::from_text("I cannot decide"), &it);
    assert_eq!(r.failure, Some(Failure::MalformedOutput));
    let r = g.grade(&GraderSample::from_text("E"), &item(json!({"answer": "Z"})));
    assert_eq!(r.failure, Some(Failure::Template));
}

#[test]
fn closures_are_graders_and_non_finite_scores_are_failures() {
    let mut g = FnGrader::new("len", |s: &GraderSample, _: &Item| {
        GradeResult::new(s.output_text.len() as f64, "length")
    });
    assert_eq!(
        g.grade(&GraderSample::from_text("abc"), &Item::new()).score,
        3.0
    );
    assert_eq!(g.kind(), "closure");
    let mut nan = FnGrader::new("nan", |_: &GraderSample, _: &Item| GradeResult {
        score: f64::NAN,
        reason: "x".into(),
        failure: None,
        sub_scores: vec![],
    });
    let r = nan.grade(&GraderSample::from_text("a"), &Item::new());
    assert_eq!((r.score, r.failure), (0.0, Some(Failure::MalformedOutput)));
}
