//! Preference pairs: [`TokenizedPair`] → [`PairBatch`] (`[2B, T]`, chosen rows then
//! rejected rows).

use burn::tensor::{Device, Int, Tensor};

use super::collate::{collate, floats};
use super::plan::plan;
use super::{BatchConfig, BatchError};
use crate::source::BatchSource;

/// One tokenised preference pair.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenizedPair {
    /// BOS + prompt tokens (after template rendering and truncation).
    pub prompt: Vec<u32>,
    /// Chosen completion tokens + EOS (EOS absent if truncation cut it).
    pub chosen: Vec<u32>,
    /// Rejected completion tokens + EOS (EOS absent if truncation cut it).
    pub rejected: Vec<u32>,
    /// Probability that `chosen` is preferred: 1.0 for hard labels.
    pub p_chosen: f32,
    /// Optional margin (Llama 2's preference strength).
    pub margin: Option<f32>,
    /// Weight of the pair in the loss: 1.0, or `1 / #pairs` for the pairs implied by one
    /// ranking, so that each prompt counts once (InstructGPT).
    pub weight: f32,
    /// Index of the source record (prompt) it came from.
    pub group: usize,
}

impl TokenizedPair {
    /// Length of the longer of the two rows.
    pub fn len(&self) -> usize {
        self.prompt.len() + self.chosen.len().max(self.rejected.len())
    }

    /// Whether both rows are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A batch of `B` pairs as one `[2B, T]` batch: rows `0..B` are `prompt ++ chosen`, rows
/// `B..2B` are `prompt ++ rejected`, pair `i` in rows `i` and `B + i` (TRL's
/// `concatenated_forward`).
#[derive(Clone, Debug)]
pub struct PairBatch {
    /// Token ids `[2B, T]`; the pad id on padding.
    pub ids: Tensor<2, Int>,
    /// `[2B, T]`, 1 on real tokens.
    pub attention_mask: Tensor<2, Int>,
    /// `[2B, T]`, 1 on completion tokens (EOS included); a subset of `attention_mask`.
    pub completion_mask: Tensor<2, Int>,
    /// `[B]` probability that chosen is preferred.
    pub p_chosen: Tensor<1>,
    /// `[B]` margins, 0 where a pair has none.
    pub margin: Tensor<1>,
    /// Whether any pair in the batch has a margin.
    pub has_margin: bool,
    /// `[B]` pair weights.
    pub weight: Tensor<1>,
    /// Index into [`PairBatches::pairs`] of each pair: stable across runs, for caching
    /// per-pair values such as reference log-probabilities.
    pub indices: Vec<usize>,
}

impl PairBatch {
    /// Number of pairs `B` (half the rows).
    pub fn num_pairs(&self) -> usize {
        self.indices.len()
    }
}

/// Tokenised pairs cut into length-grouped, seeded batches (see the
/// [module docs](super)).
#[derive(Clone, Debug)]
pub struct PairBatches {
    pairs: Vec<TokenizedPair>,
    batches: Vec<Vec<usize>>,
    pad_id: u32,
    config: BatchConfig,
}

impl PairBatches {
    /// Plans the batches of `pairs`, padding with `pad_id`.
    ///
    /// # Errors
    ///
    /// An invalid `config`, or a pair with an empty prompt or completion, or a `p_chosen`
    /// outside `[0, 1]`, or a non-finite weight or margin.
    pub fn new(
        pairs: Vec<TokenizedPair>,
        pad_id: u32,
        config: &BatchConfig,
    ) -> Result<Self, BatchError> {
        config.validate()?;
        for (index, p) in pairs.iter().enumerate() {
            let bad = |field, expected: &str, got: String| BatchError::InvalidRecord {
                index,
                field,
                expected: expected.into(),
                got,
            };
            if p.prompt.is_empty() {
                return Err(bad("prompt", "at least one token", "none".into()));
            }
            if p.chosen.is_empty() {
                return Err(bad("chosen", "at least one token", "none".into()));
            }
            if p.rejected.is_empty() {
                return Err(bad("rejected", "at least one token", "none".into()));
            }
            if !(0.0..=1.0).contains(&p.p_chosen) {
                return Err(bad(
                    "p_chosen",
                    "a probability in [0, 1]",
                    p.p_chosen.to_string(),
                ));
            }
            if !p.weight.is_finite() || p.weight < 0.0 {
                return Err(bad("weight", "a finite weight ≥ 0", p.weight.to_string()));
            }
            if let Some(m) = p.margin.filter(|m| !m.is_finite()) {
                return Err(bad("margin", "a finite margin", m.to_string()));
            }
        }
        let lengths: Vec<usize> = pairs.iter().map(TokenizedPair::len).collect();
        let batches = plan(&lengths, config);
        Ok(Self {
            pairs,
            batches,
            pad_id,
            config: config.clone(),
        })
    }

    /// The pairs, in their input order ([`PairBatch::indices`] index this).
    pub fn pairs(&self) -> &[TokenizedPair] {
        &self.pairs
    }

    /// Indices into [`pairs`](Self::pairs) of batch `index`'s pairs.
    pub fn batch_indices(&self, index: usize) -> &[usize] {
        &self.batches[index]
    }

    /// Real tokens of all chosen and rejected rows (prompt counted in both).
    pub fn tokens(&self) -> usize {
        self.pairs
            .iter()
            .map(|p| 2 * p.prompt.len() + p.chosen.len() + p.rejected.len())
            .sum()
    }

    /// Completion tokens of all chosen and rejected rows.
    pub fn completion_tokens(&self) -> usize {
        self.pairs
            .iter()
            .map(|p| p.chosen.len() + p.rejected.len())
            .sum()
    }

    /// Padding tokens over all batches (the cost length grouping cuts).
    pub fn padding_tokens(&self) -> usize {
        self.batches
            .iter()
            .map(|b| {
                let rows = || {
                    b.iter().flat_map(|&i| {
                        let p = &self.pairs[i];
                        [
                            p.prompt.len() + p.chosen.len(),
                            p.prompt.len() + p.rejected.len(),
                        ]
                    })
                };
                let t = rows().max().unwrap_or(0);
                rows().map(|l| t - l).sum::<usize>()
            })
            .sum()
    }
}

impl BatchSource for PairBatches {
    type Batch = PairBatch;

    fn len(&self) -> usize {
        self.batches.len()
    }

    fn batch(&self, index: usize, device: &Device) -> PairBatch {
        let indices = self.batches[index].clone();
        let pairs: Vec<&TokenizedPair> = indices.iter().map(|&i| &self.pairs[i]).collect();
        let rows: Vec<(&[u32], &[u32])> = pairs
            .iter()
            .map(|p| (p.prompt.as_slice(), p.chosen.as_slice()))
            .chain(
                pairs
                    .iter()
                    .map(|p| (p.prompt.as_slice(), p.rejected.as_slice())),
            )
            .collect();
        let (ids, attention_mask, completion_mask) =
            collate(&rows, self.pad_id, self.config.padding_side).tensors(device);
        PairBatch {
            ids,
            attention_mask,
            completion_mask,
            p_chosen: floats(pairs.iter().map(|p| p.p_chosen).collect(), device),
            margin: floats(
                pairs.iter().map(|p| p.margin.unwrap_or(0.0)).collect(),
                device,
            ),
            has_margin: pairs.iter().any(|p| p.margin.is_some()),
            weight: floats(pairs.iter().map(|p| p.weight).collect(), device),
            indices,
        }
    }
}
