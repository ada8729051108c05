//! The SFT model the HH-RLHF examples start from (included with `#[path]`).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use policy_opt::sft::SftRunConfig;

/// `sft_dir` when it holds a model (the `sft` example's `runs/sft/model`), else a 90-step
/// version of `examples/configs/sft.toml` on `data`, trained by `policy_opt::sft::run` into
/// `out` (and reused from there on reruns).
pub fn sft_model(
    sft_dir: &Path,
    out: &Path,
    data: &Path,
    device: &Device,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    if sft_dir.join("config.json").is_file() {
        return Ok(sft_dir.to_path_buf());
    }
    let mut sft: SftRunConfig = toml::from_str(include_str!("../configs/sft.toml"))?;
    (sft.out, sft.data.path) = (out.to_path_buf(), data.to_path_buf());
    (sft.train.steps, sft.train.warmup_steps) = (90, 10);
    (sft.train.eval_every, sft.train.save_every) = (0, 30);
    println!("training the SFT model (90 steps) into {}", out.display());
    Ok(policy_opt::sft::run(&sft, device)?.model_dir)
}
