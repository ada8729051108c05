//! Soft pairwise labels, as produced by AI feedback: `{"prompt", "a", "b", "p_a"}`.

use serde_json::{Map, Value};

use super::report::Problem;
use super::value::{
    check_distinct, check_form, check_not_blank, check_probability, json_number, object,
    optional_margin, required_number, required_text, text_json,
};
use super::{Format, ReadOptions};
use crate::record::PreferencePair;

/// Soft pairwise labels: `{"prompt", "a", "b", "p_a"}` where `p_a` in `[0, 1]` is the
/// probability that `a` is preferred to `b` (e.g. an AI judge's), plus an optional
/// non-negative `margin`. Reads into [`PreferencePair`]s with `chosen = a`,
/// `rejected = b`, `p_chosen = p_a`. The prompt is required; `a` and `b` must be non-empty
/// and different.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SoftPairwise;

const FIELDS: &[&str] = &["prompt", "a", "b", "p_a", "margin"];

impl Format for SoftPairwise {
    type Record = PreferencePair;

    fn name(&self) -> &'static str {
        "soft pairwise"
    }

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn parse(&self, value: &Value, opts: &ReadOptions) -> Result<PreferencePair, Problem> {
        let obj = object(value, "`prompt`, `a`, `b`, `p_a` and optionally `margin`")?;
        let prompt = required_text(obj, "prompt", opts)?;
        let a = required_text(obj, "a", opts)?;
        let b = required_text(obj, "b", opts)?;
        check_form(&a, &prompt, "prompt", "a", "a")?;
        check_form(&b, &prompt, "prompt", "b", "b")?;
        check_not_blank(&a, "a", "a", "completion")?;
        check_not_blank(&b, "b", "b", "completion")?;
        check_distinct(&a, &b, "a", "b")?;
        let p_a = required_number(obj, "p_a", "a probability in [0, 1]")?;
        check_probability(p_a, "p_a")?;
        let margin = optional_margin(obj)?;
        Ok(PreferencePair {
            prompt,
            chosen: a,
            rejected: b,
            p_chosen: p_a,
            margin,
        })
    }

    fn to_json(&self, pair: &PreferencePair) -> Result<Value, Problem> {
        check_probability(pair.p_chosen, "p_a")?;
        let mut o = Map::new();
        o.insert("prompt".into(), text_json(&pair.prompt));
        o.insert("a".into(), text_json(&pair.chosen));
        o.insert("b".into(), text_json(&pair.rejected));
        o.insert("p_a".into(), json_number(pair.p_chosen, "p_a", "p_a")?);
        if let Some(m) = pair.margin {
            o.insert("margin".into(), json_number(m, "margin", "margin")?);
        }
        Ok(Value::Object(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Reason;
    use serde_json::json;

    #[test]
    fn reads_soft_label_into_p_chosen() {
        let v = json!({"prompt": "q", "a": "x", "b": "y", "p_a": 0.25});
        let p = SoftPairwise.parse(&v, &ReadOptions::default()).unwrap();
        assert_eq!(p.chosen, "x".into());
        assert_eq!(p.rejected, "y".into());
        assert_eq!(p.p_chosen, 0.25);
        assert_eq!(SoftPairwise.to_json(&p).unwrap(), v);
        for bad in [json!(-0.1), json!(1.0000001)] {
            let v = json!({"prompt": "q", "a": "x", "b": "y", "p_a": bad});
            let e = SoftPairwise.parse(&v, &ReadOptions::default()).unwrap_err();
            assert_eq!(e.reason, Reason::OutOfRange("p_a"));
        }
        let nan = PreferencePair {
            p_chosen: f64::NAN,
            ..p
        };
        let e = SoftPairwise.to_json(&nan).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `p_a`: expected a probability in [0, 1], got NaN"
        );
    }
}
