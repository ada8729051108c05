//! Pair batches as the DPO step reads them: a [`PairBatch`] plus, when precomputed, the
//! reference log-probs of its pairs.

use burn::tensor::{Device, Tensor};
use pref_data::{BatchSource, PairBatch, PairBatches};

use super::reference::{ReferenceCache, ReferenceError};

/// One DPO micro-batch.
#[derive(Clone, Debug)]
pub struct DpoBatch {
    /// The pairs (`[2B, T]`, chosen rows first).
    pub pairs: PairBatch,
    /// `(log π_ref(y_w | x), log π_ref(y_l | x))`, `[B]` each, from a [`ReferenceCache`];
    /// `None` when the data carries no cache (a frozen reference or a reference-free loss).
    pub reference: Option<(Tensor<1>, Tensor<1>)>,
    /// Whether some pair has a weight other than 1 (pairs implied by a ranking): the loss
    /// is then the weighted mean over pairs.
    pub weighted: bool,
}

/// [`PairBatches`] with an optional [`ReferenceCache`] of the same pairs; the
/// [`BatchSource`] of [`Dpo`](super::Dpo).
#[derive(Clone, Debug)]
pub struct DpoBatches {
    data: PairBatches,
    cache: Option<ReferenceCache>,
}

impl DpoBatches {
    /// Batches without cached reference log-probs.
    pub fn new(data: PairBatches) -> Self {
        Self { data, cache: None }
    }

    /// Batches whose reference log-probs are read from `cache`, which must have been
    /// computed on `data` ([`ReferenceError::Stale`] otherwise).
    pub fn with_cache(data: PairBatches, cache: ReferenceCache) -> Result<Self, ReferenceError> {
        cache.check_data(&data)?;
        Ok(Self {
            data,
            cache: Some(cache),
        })
    }

    /// The underlying pair batches.
    pub fn pair_batches(&self) -> &PairBatches {
        &self.data
    }

    /// The reference cache, if any.
    pub fn cache(&self) -> Option<&ReferenceCache> {
        self.cache.as_ref()
    }

    /// The first pair (index into [`PairBatches::pairs`]) whose label is soft
    /// (`p_chosen ≠ 1`), with its label.
    pub fn first_soft_label(&self) -> Option<(usize, f32)> {
        self.data
            .pairs()
            .iter()
            .enumerate()
            .find(|(_, p)| p.p_chosen != 1.0)
            .map(|(i, p)| (i, p.p_chosen))
    }
}

impl BatchSource for DpoBatches {
    type Batch = DpoBatch;

    fn len(&self) -> usize {
        self.data.len()
    }

    fn batch(&self, index: usize, device: &Device) -> DpoBatch {
        let pairs = self.data.batch(index, device);
        let reference = self.cache.as_ref().map(|c| c.logps(&pairs.indices, device));
        let all = self.data.pairs();
        let weighted = pairs.indices.iter().any(|&i| all[i].weight != 1.0);
        DpoBatch {
            pairs,
            reference,
            weighted,
        }
    }
}
