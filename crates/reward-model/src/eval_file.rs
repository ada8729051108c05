//! [`evaluate_file`]: a saved reward model's accuracy, margin and calibration on a
//! preference file.

use std::path::Path;

use burn::tensor::Device;
use lm::checkpoint::load_tokenizer;
use pref_data::PairDataConfig;
use train::ConfigError;

use crate::error::RmError;
use crate::eval::{EvalReport, evaluate_scores, score_pairs};
use crate::model::ScalarRewardModel;
use crate::run::RewardRunError;

/// Scores every pair of `data.path` (all of them: `data.valid_fraction` is ignored) with the
/// reward model saved in `model_dir` by [`run`](crate::run()) (its weights, tokenizer and
/// special tokens), `batch_size` pairs at a time, and reports pairwise accuracy, margins,
/// log-loss and calibration over `bins` bins.
pub fn evaluate_file(
    model_dir: &Path,
    data: &PairDataConfig,
    batch_size: usize,
    bins: usize,
    device: &Device,
) -> Result<EvalReport, RewardRunError> {
    let data = PairDataConfig {
        valid_fraction: 0.0,
        ..data.clone()
    };
    data.validate().map_err(|e| e.within("data"))?;
    if batch_size == 0 || bins == 0 {
        let field = if batch_size == 0 {
            "batch_size"
        } else {
            "bins"
        };
        return Err(ConfigError::new(field, "at least 1", 0).into());
    }
    let device = device.clone().without_autodiff();
    let model = ScalarRewardModel::load_any(model_dir, &device)?;
    let (tokenizer, add_bos, tokenizer_config) =
        load_tokenizer(model_dir).map_err(RmError::from)?;
    let template = pref_data::model_chat_template(tokenizer_config.as_deref())?;
    let pairs = pref_data::load_pair_data(&data, &tokenizer, &template, add_bos, batch_size, 0)?;
    Ok(evaluate_scores(
        &score_pairs(&model, &pairs.train, &device),
        bins,
    )?)
}
