//! Ranked lists: a prompt with K ≥ 2 completions, best first or scored.

use serde_json::{Map, Value};

use super::report::{Problem, Reason};
use super::value::{
    TEXT_EXPECTED, check_form, check_not_blank, describe, json_number, number, object, optional,
    required, required_text, same_text, text_json,
};
use super::{Format, ReadOptions};
use crate::record::RankedExample;

/// Rankings: `{"prompt", "completions": [...], "scores": [...]?}`. Without `scores` the
/// K ≥ 2 completions are in preference order, best first; with `scores` (one number per
/// completion, higher is better) they may be in any order. Completions must be
/// non-empty, pairwise different (after trimming whitespace) and of the prompt's form.
/// Equal scores are ties, a [`Reason::Tie`] problem unless
/// [`ReadOptions::allow_ties`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ranked;

const FIELDS: &[&str] = &["prompt", "completions", "scores"];
const COMPLETIONS_EXPECTED: &str = "a list of at least 2 completions";
const SCORES_EXPECTED: &str = "a list of numbers, one per completion (or no field)";

impl Format for Ranked {
    type Record = RankedExample;

    fn name(&self) -> &'static str {
        "ranked"
    }

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn parse(&self, value: &Value, opts: &ReadOptions) -> Result<RankedExample, Problem> {
        let obj = object(value, "`prompt`, `completions` and optionally `scores`")?;
        let prompt = required_text(obj, "prompt", opts)?;
        let items = match required(obj, "completions", COMPLETIONS_EXPECTED)? {
            Value::Array(items) => items,
            other => {
                return Err(Problem::new(
                    Reason::WrongType("completions"),
                    "completions",
                    format!("{COMPLETIONS_EXPECTED}, each {TEXT_EXPECTED}"),
                    describe(other),
                ));
            }
        };
        if items.len() < 2 {
            return Err(Problem::new(
                Reason::TooFewCompletions,
                "completions",
                COMPLETIONS_EXPECTED,
                format!(
                    "{} completion{}",
                    items.len(),
                    if items.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        let mut completions = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("completions[{i}]");
            let text = super::value::parse_text(item, "completions", &at, opts)?;
            check_form(&text, &prompt, "prompt", "completions", &at)?;
            check_not_blank(&text, "completions", &at, "completion")?;
            if let Some(j) = completions.iter().position(|c| same_text(c, &text)) {
                return Err(Problem::new(
                    Reason::IdenticalCompletions,
                    at,
                    format!("a completion different from `completions[{j}]`"),
                    format!("the same text: {}", super::value::excerpt(&text)),
                ));
            }
            completions.push(text);
        }
        let scores = match optional(obj, "scores") {
            None => None,
            Some(Value::Array(values)) => {
                if values.len() != completions.len() {
                    return Err(Problem::new(
                        Reason::LengthMismatch,
                        "scores",
                        format!("{} scores, one per completion", completions.len()),
                        format!(
                            "{} score{}",
                            values.len(),
                            if values.len() == 1 { "" } else { "s" }
                        ),
                    ));
                }
                let mut scores = Vec::with_capacity(values.len());
                for (i, v) in values.iter().enumerate() {
                    scores.push(number(v, "scores", &format!("scores[{i}]"), "a number")?);
                }
                check_scores(&scores, opts.allow_ties)?;
                Some(scores)
            }
            Some(other) => {
                return Err(Problem::new(
                    Reason::WrongType("scores"),
                    "scores",
                    SCORES_EXPECTED,
                    describe(other),
                ));
            }
        };
        Ok(RankedExample {
            prompt,
            completions,
            scores,
        })
    }

    fn to_json(&self, ex: &RankedExample) -> Result<Value, Problem> {
        let mut o = Map::new();
        o.insert("prompt".into(), text_json(&ex.prompt));
        o.insert(
            "completions".into(),
            Value::Array(ex.completions.iter().map(text_json).collect()),
        );
        if let Some(scores) = &ex.scores {
            let values = scores
                .iter()
                .enumerate()
                .map(|(i, &s)| json_number(s, "scores", &format!("scores[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            o.insert("scores".into(), Value::Array(values));
        }
        Ok(Value::Object(o))
    }
}

/// Scores must be finite, and pairwise different unless ties are allowed.
fn check_scores(scores: &[f64], allow_ties: bool) -> Result<(), Problem> {
    for (i, &s) in scores.iter().enumerate() {
        if !s.is_finite() {
            return Err(Problem::new(
                Reason::OutOfRange("scores"),
                format!("scores[{i}]"),
                "a finite number",
                format!("{s}"),
            ));
        }
        if !allow_ties && let Some(j) = scores[..i].iter().position(|&t| t == s) {
            return Err(Problem::new(
                Reason::Tie,
                format!("scores[{i}]"),
                "a score different from every other (ties are not allowed; see ReadOptions::allow_ties)",
                format!("{s}, the same as scores[{j}]"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ordered_and_scored() {
        let opts = ReadOptions::default();
        let r = Ranked
            .parse(
                &json!({"prompt": "q", "completions": ["a", "b", "c"]}),
                &opts,
            )
            .unwrap();
        assert_eq!(r.order(), vec![0, 1, 2]);
        assert_eq!(r.scores, None);
        let v = json!({"prompt": "q", "completions": ["a", "b", "c"], "scores": [1, 3.5, 2]});
        let r = Ranked.parse(&v, &opts).unwrap();
        assert_eq!(r.order(), vec![1, 2, 0]);
        assert_eq!(
            Ranked.to_json(&r).unwrap(),
            json!({"prompt": "q", "completions": ["a", "b", "c"], "scores": [1.0, 3.5, 2.0]})
        );
    }

    #[test]
    fn ties_follow_the_policy() {
        let v = json!({"prompt": "q", "completions": ["a", "b", "c"], "scores": [2, 1, 2]});
        let e = Ranked.parse(&v, &ReadOptions::default()).unwrap_err();
        assert_eq!(e.reason, Reason::Tie);
        assert_eq!(e.field, "scores[2]");
        assert!(e.got.contains("the same as scores[0]"), "{e}");
        let r = Ranked
            .parse(&v, &ReadOptions::default().allow_ties(true))
            .unwrap();
        assert_eq!(r.implied_pairs(), vec![(0, 1), (2, 1)]);
    }
}
