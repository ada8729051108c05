//! Prompts for generation: [`TokenizedPrompt`] → [`PromptBatch`] (`[B, T]`, left-padded).

use burn::tensor::{Device, Int, Tensor};

use super::collate::collate;
use super::plan::plan;
use super::{BatchConfig, BatchError, PaddingSide};
use crate::source::BatchSource;

/// One tokenised prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenizedPrompt {
    /// BOS + prompt tokens (rendered with the generation prompt).
    pub prompt: Vec<u32>,
    /// The reference answer, if any, for graders.
    pub reference: Option<String>,
    /// Index of the source record.
    pub group: usize,
}

/// A batch of `B` prompts, always left-padded so that generation continues every row at
/// the same position.
#[derive(Clone, Debug)]
pub struct PromptBatch {
    /// Token ids `[B, T]`, left-padded.
    pub ids: Tensor<2, Int>,
    /// `[B, T]`, 1 on real tokens.
    pub attention_mask: Tensor<2, Int>,
    /// Each prompt's reference answer.
    pub references: Vec<Option<String>>,
    /// Index into [`PromptBatches::prompts`] of each row.
    pub indices: Vec<usize>,
}

/// Prompts cut into batches (see the [module docs](super)); padding is always left.
#[derive(Clone, Debug)]
pub struct PromptBatches {
    prompts: Vec<TokenizedPrompt>,
    batches: Vec<Vec<usize>>,
    pad_id: u32,
}

impl PromptBatches {
    /// Plans the batches, padding with `pad_id` on the left (`config.padding_side` is
    /// ignored).
    ///
    /// # Errors
    ///
    /// An invalid `config`, or an empty prompt.
    pub fn new(
        prompts: Vec<TokenizedPrompt>,
        pad_id: u32,
        config: &BatchConfig,
    ) -> Result<Self, BatchError> {
        config.validate()?;
        if let Some(index) = prompts.iter().position(|p| p.prompt.is_empty()) {
            return Err(BatchError::InvalidRecord {
                index,
                field: "prompt",
                expected: "at least one token".into(),
                got: "none".into(),
            });
        }
        let lengths: Vec<usize> = prompts.iter().map(|p| p.prompt.len()).collect();
        let batches = plan(&lengths, config);
        Ok(Self {
            prompts,
            batches,
            pad_id,
        })
    }

    /// The prompts, in input order ([`PromptBatch::indices`] index this).
    pub fn prompts(&self) -> &[TokenizedPrompt] {
        &self.prompts
    }
}

impl BatchSource for PromptBatches {
    type Batch = PromptBatch;

    fn len(&self) -> usize {
        self.batches.len()
    }

    fn batch(&self, index: usize, device: &Device) -> PromptBatch {
        let indices = self.batches[index].clone();
        let rows: Vec<(&[u32], &[u32])> = indices
            .iter()
            .map(|&i| (self.prompts[i].prompt.as_slice(), &[][..]))
            .collect();
        let (ids, attention_mask, _) =
            collate(&rows, self.pad_id, PaddingSide::Left).tensors(device);
        PromptBatch {
            ids,
            attention_mask,
            references: indices
                .iter()
                .map(|&i| self.prompts[i].reference.clone())
                .collect(),
            indices,
        }
    }
}
