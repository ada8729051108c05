//! `multi`: named sub-graders combined by a formula.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::formula::Formula;
use super::{
    BuildContext, Failure, FieldError, GradeResult, Grader, GraderConfig, GraderSample, Item,
};

/// Configuration of a [`Multi`] grader (`type = "multi"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// The sub-graders by name (the names the formula uses). A sub-grader's own `name`
    /// may be omitted; it defaults to its key. No sub-grader may be a `multi`.
    pub graders: BTreeMap<String, GraderConfig>,
    /// The formula over the sub-graders' names (see [`super::formula`]).
    pub calculate_output: String,
}

/// OpenAI's multigrader: each sub-grader scores the sample, and `calculate_output`
/// combines their scores (OpenAI RFT graders guide, "Multigraders"), e.g.
/// `0.7 * correct + 0.3 * format`. The formula has `+ - * / ^`, parentheses, numbers and
/// `min max abs floor ceil exp sqrt log` (see [`super::formula`]).
///
/// A formula naming an unknown grader, or one that does not parse, is rejected when the
/// grader is built. A division by zero or a non-finite result while grading scores 0
/// with a [`Failure::Formula`] reason naming the formula. A sub-grader that fails counts
/// as 0 in the formula, and the result carries its failure kind. Sub-graders' scores are
/// kept in [`GradeResult::sub_scores`].
pub struct Multi {
    name: String,
    graders: Vec<(String, Box<dyn Grader>)>,
    formula: Formula,
}

impl Multi {
    /// The grader for `config`. An error names the sub-grader (`child`, to be prefixed
    /// with this grader's name) and its field.
    pub fn new(config: &MultiConfig, ctx: &BuildContext) -> Result<Self, (String, FieldError)> {
        let here = |e: FieldError| (String::new(), e);
        if config.graders.is_empty() {
            return Err(here(FieldError::new(
                "graders",
                "expected at least one sub-grader",
            )));
        }
        let formula = Formula::parse(&config.calculate_output).map_err(|e| {
            here(FieldError::new(
                "calculate_output",
                format!("cannot parse formula {:?}: {e}", config.calculate_output),
            ))
        })?;
        for name in formula.names() {
            if !config.graders.contains_key(&name) {
                return Err(here(FieldError::new(
                    "calculate_output",
                    format!(
                        "unknown grader `{name}` in formula {:?} (graders: {})",
                        config.calculate_output,
                        config
                            .graders
                            .keys()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )));
            }
        }
        let mut graders = Vec::with_capacity(config.graders.len());
        for (key, sub) in &config.graders {
            if matches!(sub, GraderConfig::Multi(_)) {
                return Err((
                    key.clone(),
                    FieldError::new(
                        "type",
                        "a `multi` grader cannot contain another `multi` grader",
                    ),
                ));
            }
            let mut sub = sub.clone();
            if sub.name().is_empty() {
                sub.set_name(key);
            }
            let g = sub.build_inner(ctx).map_err(|(path, e)| {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{key}.{path}")
                };
                (path, e)
            })?;
            graders.push((key.clone(), g));
        }
        Ok(Self {
            name: config.name.clone(),
            graders,
            formula,
        })
    }

    /// Builds a multi grader from already built sub-graders (for Rust users mixing
    /// closures and configured graders). Errors name the field `calculate_output`.
    pub fn from_graders(
        name: impl Into<String>,
        graders: Vec<(String, Box<dyn Grader>)>,
        calculate_output: &str,
    ) -> Result<Self, FieldError> {
        let formula = Formula::parse(calculate_output).map_err(|e| {
            FieldError::new(
                "calculate_output",
                format!("cannot parse formula {calculate_output:?}: {e}"),
            )
        })?;
        for n in formula.names() {
            if !graders.iter().any(|(k, _)| *k == n) {
                return Err(FieldError::new(
                    "calculate_output",
                    format!("unknown grader `{n}` in formula {calculate_output:?}"),
                ));
            }
        }
        Ok(Self {
            name: name.into(),
            graders,
            formula,
        })
    }

    fn combine(&self, subs: Vec<(&str, GradeResult)>) -> GradeResult {
        let values: HashMap<String, f64> =
            subs.iter().map(|(k, r)| (k.to_string(), r.score)).collect();
        let detail = subs
            .iter()
            .map(|(k, r)| format!("{k} = {} ({})", r.score, r.reason))
            .collect::<Vec<_>>()
            .join("; ");
        let sub_scores: Vec<(String, f64)> =
            subs.iter().map(|(k, r)| (k.to_string(), r.score)).collect();
        let mut result = match self.formula.eval(&values) {
            Ok(v) => {
                let mut r =
                    GradeResult::new(v, format!("{} = {v}; {detail}", self.formula.source()));
                r.failure = subs.iter().find_map(|(_, r)| r.failure);
                r
            }
            Err(e) => GradeResult::fail(Failure::Formula, format!("{e}; {detail}")),
        };
        result.sub_scores = sub_scores;
        result
    }
}

impl Grader for Multi {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "multi"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        self.grade_batch(&[(sample, item)]).remove(0)
    }

    fn grade_batch(&mut self, batch: &[(&GraderSample, &Item)]) -> Vec<GradeResult> {
        let mut per_grader: Vec<std::vec::IntoIter<GradeResult>> = self
            .graders
            .iter_mut()
            .map(|(_, g)| g.grade_batch(batch).into_iter())
            .collect();
        (0..batch.len())
            .map(|_| {
                let subs = self
                    .graders
                    .iter()
                    .zip(per_grader.iter_mut())
                    .map(|((k, _), it)| {
                        (
                            k.as_str(),
                            it.next().unwrap_or_else(|| {
                                GradeResult::fail(
                                    Failure::MalformedOutput,
                                    "a sub-grader returned too few grades",
                                )
                            }),
                        )
                    })
                    .collect();
                self.combine(subs)
            })
            .collect()
    }
}

impl std::fmt::Debug for Multi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multi")
            .field("name", &self.name)
            .field(
                "graders",
                &self.graders.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("calculate_output", &self.formula.source())
            .finish()
    }
}
