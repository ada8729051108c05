//! Reading fields of a Hugging Face `config.json`, with errors naming the file and field.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::LmError;

/// A parsed `config.json` and its path.
pub(crate) struct HfConfig<'a> {
    pub(crate) v: &'a Value,
    pub(crate) path: &'a Path,
}

impl HfConfig<'_> {
    pub(crate) fn err(&self, key: &str, expected: &str) -> LmError {
        LmError::checkpoint(
            PathBuf::from(self.path),
            format!(
                "field `{key}`: expected {expected}, got {}",
                self.v.get(key).map_or("nothing".into(), |x| x.to_string())
            ),
        )
    }
    pub(crate) fn unsupported(&self, key: &str, why: &str) -> LmError {
        LmError::checkpoint(PathBuf::from(self.path), format!("field `{key}`: {why}"))
    }
    pub(crate) fn present(&self, key: &str) -> Option<&Value> {
        self.v.get(key).filter(|x| !x.is_null())
    }
    pub(crate) fn usize(&self, key: &str) -> Result<usize, LmError> {
        self.opt_usize(key)?
            .ok_or_else(|| self.err(key, "a non-negative integer"))
    }
    pub(crate) fn opt_usize(&self, key: &str) -> Result<Option<usize>, LmError> {
        self.present(key)
            .map(|x| {
                x.as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| self.err(key, "a non-negative integer"))
            })
            .transpose()
    }
    pub(crate) fn opt_f64(&self, key: &str) -> Result<Option<f64>, LmError> {
        self.present(key)
            .map(|x| x.as_f64().ok_or_else(|| self.err(key, "a number")))
            .transpose()
    }
    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, LmError> {
        self.present(key)
            .map(|x| x.as_bool().ok_or_else(|| self.err(key, "true or false")))
            .transpose()
    }
    pub(crate) fn str(&self, key: &str) -> Result<&str, LmError> {
        self.opt_str(key)?.ok_or_else(|| self.err(key, "a string"))
    }
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&str>, LmError> {
        self.present(key)
            .map(|x| x.as_str().ok_or_else(|| self.err(key, "a string")))
            .transpose()
    }
}

/// Reads and parses the JSON file `path`.
pub(crate) fn read_json(path: &Path) -> Result<Value, LmError> {
    let text = std::fs::read_to_string(path).map_err(|e| LmError::io("reading", path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| LmError::checkpoint(path, format!("line {}: {e}", e.line())))
}
