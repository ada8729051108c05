//! A judge's verdict on two policies' responses to the same prompts: each policy's mean
//! rating and the new policy's win rate over the old.

use std::fmt;
use std::sync::Arc;

use rlhf_core::Sample;

use super::JudgeRunError;
use crate::Constitution;
use crate::backend::TextModel;
use crate::feedback::{WinRate, sample_duels, win_rate};
use crate::judge::{JudgeConfig, MultipleChoiceJudge, ScoreConfig, ScoreJudge, ScoreOutcome};

/// What [`compare_policies`] measured.
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct PolicyComparison {
    /// Mean expected rating of the new policy's responses ([`ScoreJudge`], d-RLAIF).
    pub rating_new: f64,
    /// Mean expected rating of the old policy's responses.
    pub rating_old: f64,
    /// The scale of the ratings, `(min, max)`.
    pub scale: (u32, u32),
    /// The new policy's win rate over the old ([`MultipleChoiceJudge`] under the
    /// constitution, both orders averaged).
    pub win_rate: WinRate,
}

impl fmt::Display for PolicyComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = self.scale;
        writeln!(
            f,
            "judge rating ({lo}..{hi}): old {:.3}, new {:.3}",
            self.rating_old, self.rating_new
        )?;
        write!(f, "new vs old, by the judge: {}", self.win_rate)
    }
}

/// Rates `new` and `old` (responses of two policies, paired by index: the same prompt) with
/// `model` as a d-RLAIF [`ScoreJudge`] (Lee et al. 2023, §3.3: the expected rating under the
/// judge's distribution over the scale) and judges each pair with a [`MultipleChoiceJudge`]
/// under `constitution` (Bai et al. 2022), `batch_size` pairs per call.
pub fn compare_policies(
    model: Arc<dyn TextModel>,
    constitution: Constitution,
    new: &[Sample],
    old: &[Sample],
    batch_size: usize,
) -> Result<PolicyComparison, JudgeRunError> {
    let score = ScoreConfig::default();
    let scale = (score.min, score.max);
    let rater = ScoreJudge::new(model.clone(), score)?;
    let rating = |s: &[Sample]| -> Result<f64, JudgeRunError> {
        Ok(ScoreOutcome::mean_rating(&rater.rate_samples(s)?))
    };
    let (rating_new, rating_old) = (rating(new)?, rating(old)?);
    let duel = MultipleChoiceJudge::new(model, constitution, JudgeConfig::default())?;
    let win_rate = win_rate(&duel, &sample_duels(new, old), batch_size.max(1))?;
    Ok(PolicyComparison {
        rating_new,
        rating_old,
        scale,
        win_rate,
    })
}
