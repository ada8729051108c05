//! [`FnReward`]: a programmatic reward from a closure.

use super::{Reward, RewardError, RewardInput, Sample, Scores};

type PerSample<'f> = Box<dyn FnMut(&Sample) -> f32 + 'f>;
type PerBatch<'f> = Box<dyn FnMut(&[Sample]) -> Result<Vec<f32>, RewardError> + 'f>;

enum Func<'f> {
    PerSample(PerSample<'f>),
    PerBatch(PerBatch<'f>),
}

/// A reward computed by a closure over samples (their texts, ids and dataset fields): rule
/// based rewards, format checks, oracles in controlled experiments.
pub struct FnReward<'f> {
    name: String,
    func: Func<'f>,
}

impl<'f> FnReward<'f> {
    /// A reward scoring each sample with `f`.
    pub fn new(name: impl Into<String>, f: impl FnMut(&Sample) -> f32 + 'f) -> Self {
        Self {
            name: name.into(),
            func: Func::PerSample(Box::new(f)),
        }
    }

    /// A reward scoring the whole batch at once with `f` (one score per sample).
    pub fn batch(
        name: impl Into<String>,
        f: impl FnMut(&[Sample]) -> Result<Vec<f32>, RewardError> + 'f,
    ) -> Self {
        Self {
            name: name.into(),
            func: Func::PerBatch(Box::new(f)),
        }
    }
}

impl std::fmt::Debug for FnReward<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnReward")
            .field("name", &self.name)
            .finish()
    }
}

impl Reward for FnReward<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&mut self, input: &RewardInput<'_>) -> Result<Scores, RewardError> {
        let sequence = match &mut self.func {
            Func::PerSample(f) => input.samples.iter().map(f).collect(),
            Func::PerBatch(f) => f(input.samples)?,
        };
        let scores = Scores::new(sequence);
        scores.validate(&self.name, input)?;
        Ok(scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_closures_are_checked() {
        let samples = vec![Sample::from_text("a", "b"); 3];
        let mut short = FnReward::batch("short", |s| Ok(vec![1.0; s.len() - 1]));
        let e = short.score(&RewardInput::new(&samples)).unwrap_err();
        assert!(matches!(
            e,
            RewardError::Count {
                expected: 3,
                got: 2,
                ..
            }
        ));
        let mut nan = FnReward::new("nan", |_| f32::NAN);
        assert!(matches!(
            nan.score(&RewardInput::new(&samples)),
            Err(RewardError::NonFinite { index: 0, .. })
        ));
    }
}
