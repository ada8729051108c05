//! Saving and loading model weights.
//!
//! - [`save_model`] / [`load_model`]: this crate's own checkpoints, a folder with
//!   `model.safetensors` (written by burn-store) and `config.json`, each written atomically
//!   (temporary file in the same folder, then rename), so a crash never leaves a torn file.
//! - [`load_hf`]: Hugging Face Llama and GPT-2 checkpoints (`config.json` +
//!   `model.safetensors`), mapping their key names and layouts onto [`Transformer`](crate::Transformer).

mod hf;
mod native;

pub use hf::{HfArchitecture, config_from_hf, load_hf};
pub use native::{CONFIG_FILE, WEIGHTS_FILE, load_model, save_model};

use std::path::Path;

use crate::error::LmError;

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LmError> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| LmError::io("creating folder", dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        LmError::io("writing", path, e)
    })
}
