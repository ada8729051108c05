//! Rankings in Plackett–Luce form: [`TokenizedRanked`] → [`RankedBatch`] (`[B·K, T]`).

use burn::tensor::{Device, Int, Tensor};

use super::collate::collate;
use super::plan::plan_classes;
use super::{BatchConfig, BatchError};
use crate::source::BatchSource;

/// One tokenised ranking: a prompt and its K ≥ 2 completions, best first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenizedRanked {
    /// BOS + prompt tokens.
    pub prompt: Vec<u32>,
    /// Completion tokens (+ EOS), best first. With tied scores, tied completions keep their
    /// file order here (the Plackett–Luce form needs a strict order).
    pub completions: Vec<Vec<u32>>,
    /// The implied `(better, worse)` pairs, as positions in `completions`: all K·(K−1)/2
    /// pairs, minus those between tied scores.
    pub implied: Vec<(usize, usize)>,
    /// Index of the source record.
    pub group: usize,
}

impl TokenizedRanked {
    /// Number of completions K.
    pub fn k(&self) -> usize {
        self.completions.len()
    }

    /// Length of the longest row.
    pub fn max_len(&self) -> usize {
        self.prompt.len() + self.completions.iter().map(Vec::len).max().unwrap_or(0)
    }
}

/// A batch of `B` rankings with the same `K`: rows `i·K .. (i+1)·K` are prompt `i`'s
/// completions, best first.
#[derive(Clone, Debug)]
pub struct RankedBatch {
    /// Token ids `[B·K, T]`.
    pub ids: Tensor<2, Int>,
    /// `[B·K, T]`, 1 on real tokens.
    pub attention_mask: Tensor<2, Int>,
    /// `[B·K, T]`, 1 on completion tokens; a subset of `attention_mask`.
    pub completion_mask: Tensor<2, Int>,
    /// Completions per prompt.
    pub k: usize,
    /// Index into [`RankedBatches::rankings`] of each prompt.
    pub indices: Vec<usize>,
}

/// Rankings cut into batches of equal K (see the [module docs](super)).
#[derive(Clone, Debug)]
pub struct RankedBatches {
    rankings: Vec<TokenizedRanked>,
    batches: Vec<Vec<usize>>,
    pad_id: u32,
    config: BatchConfig,
}

impl RankedBatches {
    /// Plans the batches (never mixing different K), padding with `pad_id`.
    ///
    /// # Errors
    ///
    /// An invalid `config`, a ranking with fewer than 2 completions, or an empty prompt or
    /// completion.
    pub fn new(
        rankings: Vec<TokenizedRanked>,
        pad_id: u32,
        config: &BatchConfig,
    ) -> Result<Self, BatchError> {
        config.validate()?;
        for (index, r) in rankings.iter().enumerate() {
            let bad = |field, expected: &str, got: String| BatchError::InvalidRecord {
                index,
                field,
                expected: expected.into(),
                got,
            };
            if r.k() < 2 {
                return Err(bad("completions", "at least 2", r.k().to_string()));
            }
            if r.prompt.is_empty() {
                return Err(bad("prompt", "at least one token", "none".into()));
            }
            if let Some(j) = r.completions.iter().position(Vec::is_empty) {
                return Err(bad(
                    "completions",
                    "at least one token in every completion",
                    format!("none in completion {j}"),
                ));
            }
        }
        let lengths: Vec<usize> = rankings.iter().map(TokenizedRanked::max_len).collect();
        let ks: Vec<usize> = rankings.iter().map(TokenizedRanked::k).collect();
        let batches = plan_classes(&lengths, &ks, config);
        Ok(Self {
            rankings,
            batches,
            pad_id,
            config: config.clone(),
        })
    }

    /// The rankings, in input order ([`RankedBatch::indices`] index this).
    pub fn rankings(&self) -> &[TokenizedRanked] {
        &self.rankings
    }

    /// Real tokens of all rows.
    pub fn tokens(&self) -> usize {
        self.rankings
            .iter()
            .map(|r| r.k() * r.prompt.len() + r.completions.iter().map(Vec::len).sum::<usize>())
            .sum()
    }
}

impl BatchSource for RankedBatches {
    type Batch = RankedBatch;

    fn len(&self) -> usize {
        self.batches.len()
    }

    fn batch(&self, index: usize, device: &Device) -> RankedBatch {
        let indices = self.batches[index].clone();
        let rows: Vec<(&[u32], &[u32])> = indices
            .iter()
            .flat_map(|&i| {
                let r = &self.rankings[i];
                r.completions
                    .iter()
                    .map(move |c| (r.prompt.as_slice(), c.as_slice()))
            })
            .collect();
        let (ids, attention_mask, completion_mask) =
            collate(&rows, self.pad_id, self.config.padding_side).tensors(device);
        RankedBatch {
            ids,
            attention_mask,
            completion_mask,
            k: self.rankings[indices[0]].k(),
            indices,
        }
    }
}
