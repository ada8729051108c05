//! Unpaired examples (KTO): [`TokenizedUnpaired`] → [`UnpairedBatch`] (`[B, T]`).

use burn::tensor::{Device, Int, Tensor};

use super::collate::{collate, floats};
use super::plan::plan;
use super::{BatchConfig, BatchError};
use crate::source::BatchSource;

/// One tokenised unpaired example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenizedUnpaired {
    /// BOS + prompt tokens.
    pub prompt: Vec<u32>,
    /// Completion tokens (+ EOS).
    pub completion: Vec<u32>,
    /// `true` if the completion is desirable.
    pub label: bool,
    /// Index of the source record.
    pub group: usize,
}

/// A batch of `B` unpaired examples.
#[derive(Clone, Debug)]
pub struct UnpairedBatch {
    /// Token ids `[B, T]`.
    pub ids: Tensor<2, Int>,
    /// `[B, T]`, 1 on real tokens.
    pub attention_mask: Tensor<2, Int>,
    /// `[B, T]`, 1 on completion tokens; a subset of `attention_mask`.
    pub completion_mask: Tensor<2, Int>,
    /// `[B]`, 1.0 for desirable, 0.0 for undesirable.
    pub label: Tensor<1>,
    /// Index into [`UnpairedBatches::examples`] of each row.
    pub indices: Vec<usize>,
}

/// Unpaired examples cut into batches (see the [module docs](super)).
#[derive(Clone, Debug)]
pub struct UnpairedBatches {
    examples: Vec<TokenizedUnpaired>,
    batches: Vec<Vec<usize>>,
    pad_id: u32,
    config: BatchConfig,
}

impl UnpairedBatches {
    /// Plans the batches, padding with `pad_id`.
    ///
    /// # Errors
    ///
    /// An invalid `config`, or an example with an empty prompt or completion.
    pub fn new(
        examples: Vec<TokenizedUnpaired>,
        pad_id: u32,
        config: &BatchConfig,
    ) -> Result<Self, BatchError> {
        config.validate()?;
        for (index, e) in examples.iter().enumerate() {
            for (field, v) in [("prompt", &e.prompt), ("completion", &e.completion)] {
                if v.is_empty() {
                    return Err(BatchError::InvalidRecord {
                        index,
                        field,
                        expected: "at least one token".into(),
                        got: "none".into(),
                    });
                }
            }
        }
        let lengths: Vec<usize> = examples
            .iter()
            .map(|e| e.prompt.len() + e.completion.len())
            .collect();
        let batches = plan(&lengths, config);
        Ok(Self {
            examples,
            batches,
            pad_id,
            config: config.clone(),
        })
    }

    /// The examples, in input order ([`UnpairedBatch::indices`] index this).
    pub fn examples(&self) -> &[TokenizedUnpaired] {
        &self.examples
    }

    /// Real tokens of all rows.
    pub fn tokens(&self) -> usize {
        self.examples
            .iter()
            .map(|e| e.prompt.len() + e.completion.len())
            .sum()
    }
}

impl BatchSource for UnpairedBatches {
    type Batch = UnpairedBatch;

    fn len(&self) -> usize {
        self.batches.len()
    }

    fn batch(&self, index: usize, device: &Device) -> UnpairedBatch {
        let indices = self.batches[index].clone();
        let rows: Vec<(&[u32], &[u32])> = indices
            .iter()
            .map(|&i| {
                let e = &self.examples[i];
                (e.prompt.as_slice(), e.completion.as_slice())
            })
            .collect();
        let (ids, attention_mask, completion_mask) =
            collate(&rows, self.pad_id, self.config.padding_side).tensors(device);
        let label = floats(
            indices
                .iter()
                .map(|&i| if self.examples[i].label { 1.0 } else { 0.0 })
                .collect(),
            device,
        );
        UnpairedBatch {
            ids,
            attention_mask,
            completion_mask,
            label,
            indices,
        }
    }
}
