//! The reference model π_ref of DPO: a frozen copy run without autodiff, or its log-probs
//! precomputed once over the dataset and cached on disk.
//!
//! DPO's losses read only the reference's summed completion log-probs
//! `log π_ref(y_w | x)` and `log π_ref(y_l | x)` of each pair (Rafailov et al. 2023, eq. 7),
//! so they can come from either source:
//!
//! - [`FrozenReference`]: a `model.valid()` copy (no gradients, on the device without
//!   autodiff) scored on every batch. Costs one extra forward pass per step and a second
//!   model in memory.
//! - [`ReferenceCache`]: the same values computed once ([`ReferenceCache::compute`]) and
//!   looked up by [`PairBatch::indices`]; training then holds one model. The cache is saved
//!   with two fingerprints — of the tokenised pairs ([`data_fingerprint`]) and of the
//!   reference's weights ([`module_fingerprint`]) — and [`ReferenceCache::load`] refuses a
//!   file whose fingerprints differ from the data and model at hand (a stale cache).
//!
//! TRL's `precompute_ref_log_probs` is the same idea (kept in memory, not fingerprinted).

use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};
use lm::CausalLm;
use pref_data::{BatchSource, PairBatch, PairBatches};
use serde::{Deserialize, Serialize};

/// Errors of reference caches.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// Reading the cache file failed.
    #[error("reference cache {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The cache file is not JSON of a reference cache (or the cache cannot be serialised).
    #[error("reference cache {path}: not a JSON reference cache: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// Writing the cache file failed.
    #[error("reference cache: {0}")]
    Write(#[from] rlhf_core::fs::AtomicWriteError),
    /// The cache file is not a valid cache.
    #[error("reference cache {path}: field `{field}`: expected {expected}, got {got}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The field at fault.
        field: &'static str,
        /// What was expected.
        expected: String,
        /// What was found.
        got: String,
    },
    /// The cache was computed for other data or another reference model.
    #[error(
        "reference cache {path} is stale: its {what} fingerprint is {cached}, the current one \
         is {current}; delete the file to recompute it"
    )]
    Stale {
        /// The file (empty when the cache was not read from a file).
        path: PathBuf,
        /// `data` or `reference model`.
        what: &'static str,
        /// The fingerprint stored in the cache.
        cached: String,
        /// The fingerprint of the data or model at hand.
        current: String,
    },
    /// A reference forward pass could not be read back from the device.
    #[error("reference log-probs of batch {batch} could not be read back: {message}")]
    Device {
        /// The batch index.
        batch: usize,
        /// The backend's error.
        message: String,
    },
}

/// A frozen reference model: a `valid()` copy (no gradients) of the model it was made from,
/// scored with inputs moved to the device without autodiff, so no graph is recorded.
#[derive(Clone, Debug)]
pub struct FrozenReference<M> {
    model: M,
}

impl<M: CausalLm + Module> FrozenReference<M> {
    /// A frozen copy of `model` (its current weights; later updates of `model` do not
    /// reach it).
    pub fn new(model: &M) -> Self {
        Self {
            model: model.valid(),
        }
    }

    /// The frozen model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// `(log π_ref(y_w | x), log π_ref(y_l | x))` of the batch's pairs, `[B]` each, summed
    /// over completion tokens; constants on the batch's device.
    pub fn logps(&self, batch: &PairBatch) -> (Tensor<1>, Tensor<1>) {
        let ad = batch.ids.is_autodiff();
        let seq = self.model.sequence_logprobs(
            batch.ids.clone().without_autodiff(),
            batch.attention_mask.clone().without_autodiff(),
            batch.completion_mask.clone().without_autodiff(),
        );
        let (c, r) = split_pairs(seq.sum, batch.num_pairs());
        if ad {
            (c.autodiff(), r.autodiff())
        } else {
            (c, r)
        }
    }
}

/// Splits a `[2B]` tensor of per-row values into its chosen (`0..B`) and rejected
/// (`B..2B`) halves, as [`PairBatch`] stacks them.
pub fn split_pairs(rows: Tensor<1>, pairs: usize) -> (Tensor<1>, Tensor<1>) {
    (
        rows.clone().narrow(0, 0, pairs),
        rows.narrow(0, pairs, pairs),
    )
}

/// Format tag of cache files.
const CACHE_FORMAT: &str = "rlhf/dpo-reference-logps/v1";

/// Reference log-probs of every pair of a [`PairBatches`], indexed by position in
/// [`PairBatches::pairs`] (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceCache {
    format: String,
    data_fingerprint: String,
    reference_fingerprint: String,
    chosen: Vec<f32>,
    rejected: Vec<f32>,
}

impl ReferenceCache {
    /// Scores every pair of `data` with a frozen copy of `reference` (batch by batch, on
    /// `device` without autodiff).
    pub fn compute<M: CausalLm + Module>(
        reference: &M,
        data: &PairBatches,
        device: &Device,
    ) -> Result<Self, ReferenceError> {
        let frozen = FrozenReference::new(reference);
        let device = device.clone().without_autodiff();
        let n = data.pairs().len();
        let (mut chosen, mut rejected) = (vec![f32::NAN; n], vec![f32::NAN; n]);
        for b in 0..data.len() {
            let batch = data.batch(b, &device);
            let (c, r) = frozen.logps(&batch);
            let read = |t: Tensor<1>| {
                t.try_into_vec_as::<f32>()
                    .map_err(|e| ReferenceError::Device {
                        batch: b,
                        message: e.to_string(),
                    })
            };
            let (c, r) = (read(c)?, read(r)?);
            for (k, &i) in batch.indices.iter().enumerate() {
                chosen[i] = c[k];
                rejected[i] = r[k];
            }
        }
        Ok(Self {
            format: CACHE_FORMAT.into(),
            data_fingerprint: data_fingerprint(data),
            reference_fingerprint: module_fingerprint(reference),
            chosen,
            rejected,
        })
    }

    /// Number of pairs covered.
    pub fn len(&self) -> usize {
        self.chosen.len()
    }

    /// Whether the cache covers no pair.
    pub fn is_empty(&self) -> bool {
        self.chosen.is_empty()
    }

    /// Fingerprint of the tokenised pairs it was computed on.
    pub fn data_fingerprint(&self) -> &str {
        &self.data_fingerprint
    }

    /// Fingerprint of the reference model's weights.
    pub fn reference_fingerprint(&self) -> &str {
        &self.reference_fingerprint
    }

    /// `(log π_ref(y_w | x), log π_ref(y_l | x))` of pair `index`.
    pub fn get(&self, index: usize) -> Option<(f32, f32)> {
        Some((*self.chosen.get(index)?, *self.rejected.get(index)?))
    }

    /// The cached values of `indices` as two `[B]` tensors on `device`.
    ///
    /// # Panics
    /// If an index is out of range; [`check_data`](Self::check_data) rules this out for
    /// batches of the data the cache was computed on.
    pub fn logps(&self, indices: &[usize], device: &Device) -> (Tensor<1>, Tensor<1>) {
        let pick = |v: &[f32]| {
            let vals: Vec<f32> = indices.iter().map(|&i| v[i]).collect();
            Tensor::<1>::from_data(TensorData::new(vals, [indices.len()]), device)
        };
        (pick(&self.chosen), pick(&self.rejected))
    }

    /// Checks that the cache was computed on `data` (same tokenised pairs, same order).
    pub fn check_data(&self, data: &PairBatches) -> Result<(), ReferenceError> {
        let current = data_fingerprint(data);
        if current != self.data_fingerprint {
            return Err(ReferenceError::Stale {
                path: PathBuf::new(),
                what: "data",
                cached: self.data_fingerprint.clone(),
                current,
            });
        }
        Ok(())
    }

    /// Writes the cache to `path` (JSON, atomically).
    pub fn save(&self, path: &Path) -> Result<(), ReferenceError> {
        let bytes = serde_json::to_vec(self).map_err(|source| ReferenceError::Json {
            path: path.into(),
            source,
        })?;
        Ok(rlhf_core::write_atomic(path, &bytes)?)
    }

    /// Reads a cache written by [`save`](Self::save) and checks that it was computed on
    /// `data` with the weights of `reference`; a cache for other data or weights is refused
    /// with [`ReferenceError::Stale`].
    pub fn load<M: Module>(
        path: &Path,
        data: &PairBatches,
        reference: &M,
    ) -> Result<Self, ReferenceError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReferenceError::Io {
            path: path.into(),
            source,
        })?;
        let cache: Self = serde_json::from_str(&text).map_err(|source| ReferenceError::Json {
            path: path.into(),
            source,
        })?;
        let format_err = |field, expected: String, got: String| ReferenceError::Format {
            path: path.into(),
            field,
            expected,
            got,
        };
        if cache.format != CACHE_FORMAT {
            return Err(format_err(
                "format",
                format!("{CACHE_FORMAT:?}"),
                format!("{:?}", cache.format),
            ));
        }
        if cache.chosen.len() != cache.rejected.len() {
            return Err(format_err(
                "rejected",
                format!("{} values like `chosen`", cache.chosen.len()),
                cache.rejected.len().to_string(),
            ));
        }
        if cache.len() != data.pairs().len() {
            return Err(format_err(
                "chosen",
                format!("{} values, one per pair of the data", data.pairs().len()),
                cache.len().to_string(),
            ));
        }
        let stale = |what, cached: &str, current: String| ReferenceError::Stale {
            path: path.into(),
            what,
            cached: cached.into(),
            current,
        };
        let current = data_fingerprint(data);
        if current != cache.data_fingerprint {
            return Err(stale("data", &cache.data_fingerprint, current));
        }
        let current = module_fingerprint(reference);
        if current != cache.reference_fingerprint {
            return Err(stale(
                "reference model",
                &cache.reference_fingerprint,
                current,
            ));
        }
        if let Some(i) = cache
            .chosen
            .iter()
            .chain(&cache.rejected)
            .position(|v| !v.is_finite())
        {
            return Err(format_err(
                "chosen/rejected",
                "finite log-probs".into(),
                format!("a non-finite value at position {i}"),
            ));
        }
        Ok(cache)
    }

    /// [`load`](Self::load)s `path` if it exists, else [`compute`](Self::compute)s the
    /// cache and saves it there. Returns the cache and whether it was computed.
    pub fn load_or_compute<M: CausalLm + Module>(
        path: &Path,
        reference: &M,
        data: &PairBatches,
        device: &Device,
    ) -> Result<(Self, bool), ReferenceError> {
        if path.is_file() {
            return Ok((Self::load(path, data, reference)?, false));
        }
        let cache = Self::compute(reference, data, device)?;
        cache.save(path)?;
        Ok((cache, true))
    }
}

/// 64-bit FNV-1a, a stable hash (unlike `std`'s, fixed by its definition).
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

/// Fingerprint of tokenised pairs: an FNV-1a hash of every pair's prompt, chosen and
/// rejected token ids (with their lengths) in order, as `"fnv1a64:<hex>:<pairs>"`.
pub fn data_fingerprint(data: &PairBatches) -> String {
    let mut h = Fnv::new();
    for p in data.pairs() {
        for part in [&p.prompt, &p.chosen, &p.rejected] {
            h.u64(part.len() as u64);
            for &t in part.iter() {
                h.bytes(&t.to_le_bytes());
            }
        }
    }
    format!("fnv1a64:{:016x}:{}", h.0, data.pairs().len())
}

/// Fingerprint of a module's weights: an FNV-1a hash of every float parameter's shape, dtype
/// and values (in visiting order), as `"fnv1a64:<hex>:<parameters>"`. Reads the weights back to
/// the host once.
pub fn module_fingerprint<M: Module>(module: &M) -> String {
    struct Hasher {
        h: Fnv,
        n: usize,
    }
    impl ModuleVisitor for Hasher {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            for d in t.dims() {
                self.h.u64(d as u64);
            }
            let data = t.into_data();
            self.h.bytes(format!("{:?}", data.dtype()).as_bytes());
            self.h.bytes(data.as_bytes());
            self.n += 1;
        }
    }
    let mut v = Hasher {
        h: Fnv::new(),
        n: 0,
    };
    module.visit(&mut v);
    format!("fnv1a64:{:016x}:{}", v.h.0, v.n)
}
