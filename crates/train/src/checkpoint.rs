//! Trainer checkpoints: model, optimizer state and loop position, saved atomically.
//!
//! Layout under the run folder:
//! ```text
//! checkpoints/step-000120/model.bpk       burnpack: weights with their parameter ids
//! checkpoints/step-000120/optimizer.bpk   burnpack: AdamW moments keyed by parameter id
//! checkpoints/step-000120/state.json      {"step": 120, "config": {...}, "method": {...}}
//! ```
//! A checkpoint is written into a temporary folder that is renamed into place when complete,
//! so a crash leaves either the previous checkpoints or the new one, never a torn one.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

use super::config::TrainerConfig;
use super::error::TrainError;

/// Folder of trainer checkpoints inside a run folder.
pub const CHECKPOINT_DIR: &str = "checkpoints";

/// The loop's position, stored beside the weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps completed.
    pub step: usize,
    /// The settings of the run that wrote the checkpoint.
    pub config: TrainerConfig,
    /// The method's own state at this step (a KL controller's β, a reward normaliser's
    /// statistics, the position in a prompt stream), as the method serialised it; absent for
    /// methods without state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<serde_json::Value>,
}

fn ckpt_err(path: &Path, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        source: e.into(),
    }
}

/// Folder of the checkpoint after `step` steps.
pub fn checkpoint_path(run_dir: &Path, step: usize) -> PathBuf {
    run_dir.join(CHECKPOINT_DIR).join(format!("step-{step:06}"))
}

/// Saves model, optimizer and state after `state.step` steps, then deletes all but the
/// newest `keep` checkpoints. Returns the checkpoint folder.
pub fn save_checkpoint<M: Module>(
    run_dir: &Path,
    model: &M,
    optim: &ModuleOptimizer,
    state: &TrainerState,
    keep: usize,
) -> Result<PathBuf, TrainError> {
    let dest = checkpoint_path(run_dir, state.step);
    let tmp = dest.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| ckpt_err(&tmp, e))?;
    model
        .clone()
        .save_file(tmp.join("model.bpk"))
        .map_err(|e| ckpt_err(&tmp.join("model.bpk"), e))?;
    optim
        .save(tmp.join("optimizer.bpk"))
        .map_err(|e| ckpt_err(&tmp.join("optimizer.bpk"), e))?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| ckpt_err(&tmp, e))?;
    std::fs::write(tmp.join("state.json"), json)
        .map_err(|e| ckpt_err(&tmp.join("state.json"), e))?;
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&tmp, &dest).map_err(|e| ckpt_err(&dest, e))?;
    let all = list_checkpoints(run_dir)?;
    for (_, old) in all.iter().take(all.len().saturating_sub(keep)) {
        std::fs::remove_dir_all(old).map_err(|e| ckpt_err(old, e))?;
    }
    Ok(dest)
}

/// Complete checkpoints of a run, oldest first, with their step.
pub fn list_checkpoints(run_dir: &Path) -> Result<Vec<(usize, PathBuf)>, TrainError> {
    let dir = run_dir.join(CHECKPOINT_DIR);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| ckpt_err(&dir, e))? {
        let path = entry.map_err(|e| ckpt_err(&dir, e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(step) = name
            .strip_prefix("step-")
            .and_then(|s| s.parse::<usize>().ok())
            && path.join("state.json").is_file()
        {
            out.push((step, path));
        }
    }
    out.sort();
    Ok(out)
}

/// Loads the checkpoint in `dir` into `model` (built with the same architecture) and
/// `optim`. Returns them with the stored state.
pub fn load_checkpoint<M: Module>(
    dir: &Path,
    model: M,
    optim: ModuleOptimizer,
) -> Result<(M, ModuleOptimizer, TrainerState), TrainError> {
    let state_path = dir.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(|e| ckpt_err(&state_path, e))?;
    let state: TrainerState = serde_json::from_str(&text).map_err(|e| ckpt_err(&state_path, e))?;
    let model_path = dir.join("model.bpk");
    let model = model
        .try_load_file(&model_path)
        .map_err(|e| ckpt_err(&model_path, e))?;
    let optim_path = dir.join("optimizer.bpk");
    let optim = optim
        .load(&optim_path)
        .map_err(|e| ckpt_err(&optim_path, e))?;
    Ok((model, optim, state))
}
