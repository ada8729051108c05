//! Prompt/completion examples → tokenised, length-grouped, padded batches.

use burn::tensor::{Device, Int, Tensor, TensorData};
use lm::tokenizer::{Tokenizer, TokenizerError};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::train::BatchSource;

/// One supervised example: the model learns to continue `prompt` with `completion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SftExample {
    /// Context the loss is not taken on (unless [`SftDataConfig::completion_only_loss`] is off).
    pub prompt: String,
    /// Text the loss is taken on.
    pub completion: String,
}

/// How examples become token sequences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SftDataConfig {
    /// Longest sequence (prompt + completion, BOS and EOS included).
    pub max_len: usize,
    /// Loss on completion tokens only (`true`, TRL's default for prompt/completion data) or
    /// on every token.
    pub completion_only_loss: bool,
    /// Examples per batch.
    pub batch_size: usize,
    /// Seed of the length grouping.
    pub seed: u64,
}

/// One tokenised example: `bos prompt completion eos` and which tokens are scored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SftSequence {
    /// Token ids.
    pub ids: Vec<u32>,
    /// 1 where the token is a loss target.
    pub loss_mask: Vec<u8>,
}

/// What tokenisation did to the examples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SftDataReport {
    /// Examples kept.
    pub kept: usize,
    /// Examples whose prompt (kept from the end) or completion (kept from the start) was cut.
    pub truncated: usize,
    /// Examples dropped because no completion token survived truncation.
    pub dropped_empty: usize,
}

/// Tokenises `examples`: prompts are truncated from the left and completions from the right
/// (as TRL does) so that each sequence fits `max_len`, keeping at least half of it for the
/// completion when both are long.
pub fn tokenize_examples(
    examples: &[SftExample],
    tokenizer: &Tokenizer,
    config: &SftDataConfig,
) -> Result<(Vec<SftSequence>, SftDataReport), TokenizerError> {
    let mut report = SftDataReport::default();
    let mut out = Vec::with_capacity(examples.len());
    let budget = config.max_len.saturating_sub(2); // BOS and EOS
    for ex in examples {
        let mut prompt = tokenizer.encode(&ex.prompt, false, false)?;
        let mut completion = tokenizer.encode(&ex.completion, false, false)?;
        if prompt.len() + completion.len() > budget {
            report.truncated += 1;
            let keep_prompt = prompt
                .len()
                .min(budget.saturating_sub(completion.len()).max(budget / 2));
            prompt.drain(..prompt.len() - keep_prompt);
            completion.truncate(budget - prompt.len());
        }
        if completion.is_empty() {
            report.dropped_empty += 1;
            continue;
        }
        let mut ids = Vec::with_capacity(prompt.len() + completion.len() + 2);
        ids.push(tokenizer.bos_id());
        ids.extend(&prompt);
        ids.extend(&completion);
        ids.push(tokenizer.eos_id());
        let n_prompt = 1 + prompt.len();
        let loss_mask = (0..ids.len())
            .map(|i| u8::from(!config.completion_only_loss || i >= n_prompt))
            .collect();
        out.push(SftSequence { ids, loss_mask });
    }
    report.kept = out.len();
    Ok((out, report))
}

/// A padded SFT batch; all tensors `[B, T]`, right-padded.
#[derive(Clone, Debug)]
pub struct SftBatch {
    /// Token ids (pad id on padding).
    pub ids: Tensor<2, Int>,
    /// 1 on tokens, 0 on padding.
    pub mask: Tensor<2, Int>,
    /// 1 on loss targets.
    pub loss_mask: Tensor<2, Int>,
}

/// Sequences grouped into batches of similar length (less padding), in a seeded order.
#[derive(Clone, Debug)]
pub struct SftBatches {
    sequences: Vec<SftSequence>,
    batches: Vec<Vec<usize>>,
    pad_id: u32,
}

impl SftBatches {
    /// Shuffles with `config.seed`, sorts by length inside windows of 32 batches, and cuts
    /// batches of `config.batch_size`.
    pub fn new(sequences: Vec<SftSequence>, pad_id: u32, config: &SftDataConfig) -> Self {
        let bs = config.batch_size.max(1);
        let mut order: Vec<usize> = (0..sequences.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(config.seed));
        for window in order.chunks_mut(bs * 32) {
            window.sort_by_key(|&i| sequences[i].ids.len());
        }
        let batches = order.chunks(bs).map(<[usize]>::to_vec).collect();
        Self {
            sequences,
            batches,
            pad_id,
        }
    }

    /// Number of scored tokens over all batches.
    pub fn loss_tokens(&self) -> usize {
        self.sequences
            .iter()
            .map(|s| s.loss_mask.iter().map(|&m| m as usize).sum::<usize>())
            .sum()
    }

    /// Number of real tokens over all batches.
    pub fn tokens(&self) -> usize {
        self.sequences.iter().map(|s| s.ids.len()).sum()
    }
}

impl BatchSource for SftBatches {
    type Batch = SftBatch;

    fn len(&self) -> usize {
        self.batches.len()
    }

    fn batch(&self, index: usize, device: &Device) -> SftBatch {
        let rows: Vec<&SftSequence> = self.batches[index]
            .iter()
            .map(|&i| &self.sequences[i])
            .collect();
        let (b, t) = (
            rows.len(),
            rows.iter().map(|r| r.ids.len()).max().unwrap_or(1),
        );
        let (mut ids, mut mask, mut loss) = (
            vec![self.pad_id as i64; b * t],
            vec![0i64; b * t],
            vec![0i64; b * t],
        );
        for (r, row) in rows.iter().enumerate() {
            for (j, (&id, &m)) in row.ids.iter().zip(&row.loss_mask).enumerate() {
                ids[r * t + j] = id as i64;
                mask[r * t + j] = 1;
                loss[r * t + j] = m as i64;
            }
        }
        let make = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [b, t]), device);
        SftBatch {
            ids: make(ids),
            mask: make(mask),
            loss_mask: make(loss),
        }
    }
}
