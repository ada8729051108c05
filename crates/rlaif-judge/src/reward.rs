//! [`GraderReward`]: any grader as an [`rlhf_core::Reward`] for online RL.

use std::collections::BTreeMap;

use rlhf_core::{Reward, RewardError, RewardInput, Scores};

use crate::grader::{Failure, Grader, GraderSample};

/// A grader as a reward: each [`Sample`](rlhf_core::Sample)'s completion is the output
/// graded (`sample.output_text`, and `sample.output_json` when it is JSON) and its
/// [`item`](rlhf_core::Sample::item) is the dataset row.
///
/// The returned [`Scores`] carry one score per sample (the grade, as `f32`), the grades'
/// reasons in [`Scores::reasons`], and metrics:
///
/// - `grader/<name>`: the mean score; for a `multi` grader also `grader/<name>/<sub>`, the
///   mean of each sub-grader;
/// - `failures`: how many samples failed to grade, and `failures/<kind>` per
///   [`Failure`] kind (`failures/template`, `failures/malformed_output`, ...), counted
///   from the grades' failure kinds (their reasons start with [`Failure::prefix`]).
///
/// Grading failures are scores of 0, not errors: `score` only fails if a score does not
/// fit the checks of [`Scores::validate`].
pub struct GraderReward<'a> {
    grader: Box<dyn Grader + 'a>,
}

impl<'a> GraderReward<'a> {
    /// The reward of `grader`.
    pub fn new(grader: impl Grader + 'a) -> Self {
        Self {
            grader: Box::new(grader),
        }
    }

    /// The reward of a boxed grader (as built from a configuration).
    pub fn from_boxed(grader: Box<dyn Grader + 'a>) -> Self {
        Self { grader }
    }

    /// The grader.
    pub fn grader(&self) -> &dyn Grader {
        self.grader.as_ref()
    }
}

impl Reward for GraderReward<'_> {
    fn name(&self) -> &str {
        self.grader.name()
    }

    fn score(&mut self, input: &RewardInput<'_>) -> Result<Scores, RewardError> {
        let outputs: Vec<GraderSample> = input
            .samples
            .iter()
            .map(|s| GraderSample::from_text(s.completion.clone()))
            .collect();
        let batch: Vec<_> = outputs
            .iter()
            .zip(input.samples)
            .map(|(o, s)| (o, &s.item))
            .collect();
        let grades = self.grader.grade_batch(&batch);
        if grades.len() != input.len() {
            return Err(RewardError::Count {
                reward: self.grader.name().to_string(),
                expected: input.len(),
                got: grades.len(),
            });
        }
        let name = self.grader.name().to_string();
        let n = grades.len().max(1) as f64;
        let mut scores = Scores::new(
            grades
                .iter()
                .map(|g| g.score.clamp(f32::MIN as f64, f32::MAX as f64) as f32)
                .collect(),
        );
        scores.metrics.push((
            format!("grader/{name}"),
            grades.iter().map(|g| g.score).sum::<f64>() / n,
        ));
        let mut subs: BTreeMap<&str, f64> = BTreeMap::new();
        for g in &grades {
            for (k, v) in &g.sub_scores {
                *subs.entry(k.as_str()).or_default() += v;
            }
        }
        for (k, total) in subs {
            scores
                .metrics
                .push((format!("grader/{name}/{k}"), total / n));
        }
        let failed = grades.iter().filter(|g| g.failure.is_some()).count();
        scores.metrics.push(("failures".to_string(), failed as f64));
        for kind in Failure::ALL {
            let c = grades.iter().filter(|g| g.failure == Some(kind)).count();
            scores
                .metrics
                .push((kind.metric_key().to_string(), c as f64));
        }
        scores.reasons = grades.into_iter().map(|g| g.reason).collect();
        scores.validate(&name, input)?;
        Ok(scores)
    }
}

impl std::fmt::Debug for GraderReward<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraderReward")
            .field("grader", &self.grader.name())
            .field("kind", &self.grader.kind())
            .finish()
    }
}
