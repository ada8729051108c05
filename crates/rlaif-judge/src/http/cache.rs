//! The on-disk reply cache: one JSON file per request, named by the SHA-256 of the
//! endpoint and the request body, so that a rerun asks nothing twice.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::error::HttpError;

/// A folder of cached replies.
#[derive(Debug)]
pub(crate) struct DiskCache {
    dir: PathBuf,
    pub hits: AtomicU64,
}

impl DiskCache {
    /// The cache in `dir` (created if missing).
    pub fn open(dir: &Path) -> Result<Self, HttpError> {
        std::fs::create_dir_all(dir).map_err(|source| HttpError::Cache {
            path: dir.to_path_buf(),
            action: "create the folder",
            source,
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            hits: AtomicU64::new(0),
        })
    }

    /// The file of the request (`url`, `body`): `<dir>/<h[0..2]>/<h>.json` where `h` is the
    /// hex SHA-256 of `url`, a newline and the body's compact JSON (keys sorted, as
    /// `serde_json` keeps them). The API key is not part of the request body, so it never
    /// reaches the cache.
    pub fn path(&self, url: &str, body: &Value) -> PathBuf {
        let mut h = Sha256::new();
        h.update(url.as_bytes());
        h.update(b"\n");
        h.update(body.to_string().as_bytes());
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(&hex[..2]).join(format!("{hex}.json"))
    }

    /// The cached reply of the request, if any. A file that cannot be read, or that holds
    /// another request (a hash collision), counts as absent and is overwritten later.
    pub fn get(&self, url: &str, body: &Value) -> Option<Value> {
        let text = std::fs::read_to_string(self.path(url, body)).ok()?;
        let mut entry: Value = serde_json::from_str(&text).ok()?;
        if entry.get("url")?.as_str()? != url || entry.get("request")? != body {
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        entry.get_mut("reply").map(Value::take)
    }

    /// Stores the reply of the request (written to a temporary file, then renamed, so that
    /// an interrupted write leaves no partial entry).
    pub fn put(&self, url: &str, body: &Value, reply: &Value) -> Result<(), HttpError> {
        let path = self.path(url, body);
        let err = |action, source| HttpError::Cache {
            path: path.clone(),
            action,
            source,
        };
        let parent = path.parent().expect("inside the cache folder");
        std::fs::create_dir_all(parent).map_err(|e| err("create the folder", e))?;
        let entry = json!({"url": url, "request": body, "reply": reply});
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
        std::fs::write(&tmp, entry.to_string()).map_err(|e| err("write", e))?;
        std::fs::rename(&tmp, &path).map_err(|e| err("rename", e))
    }
}
