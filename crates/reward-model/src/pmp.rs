//! Preference-model pretraining (PMP) followed by fine-tuning: two runs of the shared loop.
//!
//! Askell et al. 2021 ("A General Language Assistant as a Laboratory for Alignment", §4)
//! and Bai et al. 2022 (Constitutional AI, §4.1: "a PM trained via PMP and then fine-tuned")
//! train a preference model in two stages: first on large, cheap comparison data mined from
//! the web (Stack Exchange answers ranked by votes, Reddit, Wikipedia edits), then on the
//! target human (or AI) preference data. Stage 2 starts from stage 1's weights with a fresh
//! optimizer and schedule.
//!
//! [`train_pmp_then_finetune`] writes stage 1 to `<run_dir>/pmp/` and stage 2 to
//! `<run_dir>/finetune/` (checkpoints, metrics, plot each). Run again with the same
//! `run_dir` and it resumes where it stopped: inside stage 1, or inside stage 2 (stage 1 is
//! then not repeated).

use std::path::Path;

use burn::tensor::Device;
use train::{
    BatchSource, METRICS_FILE, MetricRecord, TrainMethod, TrainOutcome, TrainerConfig,
    list_checkpoints, read_metrics, train,
};

use crate::error::RmResult;

/// Sub-folder of the pretraining stage.
pub const PMP_DIR: &str = "pmp";
/// Sub-folder of the fine-tuning stage.
pub const FINETUNE_DIR: &str = "finetune";

/// One stage: its method, data and loop settings.
pub struct Stage<'a, S: TrainMethod> {
    /// The training method (e.g. a [`PairwiseRm`](crate::method::PairwiseRm)).
    pub method: &'a S,
    /// Training batches.
    pub train: &'a dyn BatchSource<Batch = S::Batch>,
    /// Validation batches, evaluated every `config.eval_every` steps.
    pub valid: Option<&'a dyn BatchSource<Batch = S::Batch>>,
    /// Steps, schedule, optimizer settings, ...
    pub config: TrainerConfig,
}

/// What [`train_pmp_then_finetune`] returns.
pub struct PmpOutcome<M> {
    /// Metric records of the pretraining stage.
    pub pmp_records: Vec<MetricRecord>,
    /// Whether stage 1 was skipped because stage 2 had already started (a resumed run).
    pub pmp_skipped: bool,
    /// The fine-tuning run, holding the final model.
    pub finetune: TrainOutcome<M>,
}

/// Runs `pmp` on `model`, then `finetune` on the result (fresh AdamW and schedule), each with
/// [`train::train`]. See the [module docs](self).
pub fn train_pmp_then_finetune<S: TrainMethod>(
    model: S::Model,
    pmp: Stage<'_, S>,
    finetune: Stage<'_, S>,
    run_dir: &Path,
    device: &Device,
) -> RmResult<PmpOutcome<S::Model>> {
    let (pmp_dir, ft_dir) = (run_dir.join(PMP_DIR), run_dir.join(FINETUNE_DIR));
    let stage2_started = ft_dir.is_dir() && !list_checkpoints(&ft_dir)?.is_empty();
    let (model, pmp_records) = if stage2_started {
        // Stage 2 resumes from its own checkpoint, which replaces these weights.
        let metrics = pmp_dir.join(METRICS_FILE);
        let records = if metrics.is_file() {
            read_metrics(&metrics)?
        } else {
            Vec::new()
        };
        (model, records)
    } else {
        let out = train(
            pmp.method,
            model,
            pmp.train,
            pmp.valid,
            &pmp.config,
            &pmp_dir,
            device,
        )?;
        (out.model, out.records)
    };
    let finetune = train(
        finetune.method,
        model,
        finetune.train,
        finetune.valid,
        &finetune.config,
        &ft_dir,
        device,
    )?;
    Ok(PmpOutcome {
        pmp_records,
        pmp_skipped: stage2_started,
        finetune,
    })
}
