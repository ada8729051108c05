//! Encoding: options, batch encoding with truncation and padding on id vectors.

use serde::{Deserialize, Serialize};

use super::{Tokenizer, TokenizerError, describe_text};

/// Which end of a too-long sequence is cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TruncationSide {
    /// Drop tokens from the start, keeping the end (as TRL does for prompts).
    Left,
    /// Drop tokens from the end, keeping the start.
    #[default]
    Right,
}

/// Which end of a short sequence receives padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PaddingSide {
    /// Pad before the tokens (for prompts that generation continues).
    Left,
    /// Pad after the tokens.
    #[default]
    Right,
}

/// How [`Tokenizer::encode_batch`] builds its rows.
///
/// The default adds no BOS/EOS, does not truncate and pads on the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct EncodeOptions {
    /// Prepend [`Tokenizer::bos_id`] to every sequence.
    pub add_bos: bool,
    /// Append [`Tokenizer::eos_id`] to every sequence.
    pub add_eos: bool,
    /// Maximum sequence length, BOS/EOS included. Longer sequences lose text
    /// tokens on the [`truncation`](Self::truncation) side; BOS and EOS are
    /// always kept. Must be at least the number of BOS/EOS tokens added, and at
    /// least 1.
    pub max_length: Option<usize>,
    /// Which end of a too-long sequence is dropped.
    pub truncation: TruncationSide,
    /// Which end of a short sequence receives padding.
    pub padding: PaddingSide,
    /// Round the padded length up to a multiple of this (must be non-zero).
    /// This may exceed `max_length` when `max_length` is not such a multiple.
    pub pad_to_multiple_of: Option<usize>,
}

/// A padded batch of token ids, as returned by [`Tokenizer::encode_batch`].
///
/// All rows of `ids` and `attention_mask` have the same length
/// ([`BatchEncoding::seq_len`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchEncoding {
    /// Token ids, one row per input, padded with [`Tokenizer::pad_id`].
    pub ids: Vec<Vec<u32>>,
    /// `1` for real tokens (BOS/EOS included), `0` for padding.
    pub attention_mask: Vec<Vec<u8>>,
    /// Number of real tokens in each row (the row sum of `attention_mask`).
    pub lengths: Vec<usize>,
    /// How many inputs were truncated to fit `max_length`.
    pub truncated: usize,
}

impl BatchEncoding {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Padded length shared by all rows (0 for an empty batch).
    pub fn seq_len(&self) -> usize {
        self.ids.first().map_or(0, Vec::len)
    }

    /// The real (unpadded) tokens of row `row`.
    ///
    /// # Panics
    ///
    /// If `row >= self.len()`.
    pub fn unpadded(&self, row: usize) -> Vec<u32> {
        self.ids[row]
            .iter()
            .zip(&self.attention_mask[row])
            .filter(|&(_, &m)| m == 1)
            .map(|(&id, _)| id)
            .collect()
    }
}

impl Tokenizer {
    /// Encodes `text`, optionally with BOS prepended and EOS appended.
    ///
    /// No truncation is applied.
    ///
    /// # Errors
    ///
    /// [`TokenizerError::Encode`] if the wrapped tokenizer fails.
    pub fn encode(
        &self,
        text: &str,
        add_bos: bool,
        add_eos: bool,
    ) -> Result<Vec<u32>, TokenizerError> {
        let encoding = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| TokenizerError::Encode {
                input: describe_text("text", text),
                message: e.to_string(),
            })?;
        let body = encoding.get_ids();
        let mut ids = Vec::with_capacity(body.len() + usize::from(add_bos) + usize::from(add_eos));
        if add_bos {
            ids.push(self.bos_id);
        }
        ids.extend_from_slice(body);
        if add_eos {
            ids.push(self.eos_id);
        }
        Ok(ids)
    }

    /// Encodes a batch of texts into equal-length rows (see [`EncodeOptions`]).
    ///
    /// Each row is BOS (optional) + text tokens + EOS (optional). If
    /// `max_length` is set and a row is longer, text tokens are removed from
    /// the [`truncation`](EncodeOptions::truncation) side until it fits (BOS
    /// and EOS stay). Rows are then padded with [`Tokenizer::pad_id`] on the
    /// [`padding`](EncodeOptions::padding) side to the longest row's length,
    /// rounded up to `pad_to_multiple_of`.
    ///
    /// # Errors
    ///
    /// [`TokenizerError::InvalidOption`] for an invalid `max_length` or
    /// `pad_to_multiple_of`, and [`TokenizerError::Encode`] naming the batch
    /// item if encoding fails.
    pub fn encode_batch<S>(
        &self,
        texts: &[S],
        options: &EncodeOptions,
    ) -> Result<BatchEncoding, TokenizerError>
    where
        S: AsRef<str> + Sync,
    {
        let n_special = usize::from(options.add_bos) + usize::from(options.add_eos);
        if let Some(max_length) = options.max_length
            && (max_length == 0 || max_length < n_special)
        {
            return Err(TokenizerError::InvalidOption {
                option: "max_length",
                message: format!(
                    "{max_length} leaves no room for the {n_special} BOS/EOS tokens requested \
                     (must be at least {})",
                    n_special.max(1)
                ),
            });
        }
        if options.pad_to_multiple_of == Some(0) {
            return Err(TokenizerError::InvalidOption {
                option: "pad_to_multiple_of",
                message: "must be non-zero".to_owned(),
            });
        }

        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings = match self.inner.encode_batch_fast(inputs.clone(), false) {
            Ok(encodings) => encodings,
            Err(batch_err) => {
                // Find the failing item to name it; fall back to the batch error.
                for (i, text) in inputs.iter().enumerate() {
                    if let Err(e) = self.inner.encode_fast(*text, false) {
                        return Err(TokenizerError::Encode {
                            input: describe_text(&format!("batch item {i}"), text),
                            message: e.to_string(),
                        });
                    }
                }
                return Err(TokenizerError::Encode {
                    input: format!("a batch of {} texts", inputs.len()),
                    message: batch_err.to_string(),
                });
            }
        };

        let budget = options.max_length.map(|m| m - n_special);
        let mut truncated = 0;
        let mut rows: Vec<Vec<u32>> = Vec::with_capacity(encodings.len());
        for encoding in &encodings {
            let mut body = encoding.get_ids();
            if let Some(budget) = budget
                && body.len() > budget
            {
                truncated += 1;
                body = match options.truncation {
                    TruncationSide::Left => &body[body.len() - budget..],
                    TruncationSide::Right => &body[..budget],
                };
            }
            let mut row = Vec::with_capacity(body.len() + n_special);
            if options.add_bos {
                row.push(self.bos_id);
            }
            row.extend_from_slice(body);
            if options.add_eos {
                row.push(self.eos_id);
            }
            rows.push(row);
        }

        let lengths: Vec<usize> = rows.iter().map(Vec::len).collect();
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let target = match options.pad_to_multiple_of {
            Some(m) => longest.div_ceil(m) * m,
            None => longest,
        };

        let mut attention_mask = Vec::with_capacity(rows.len());
        for row in &mut rows {
            let real = row.len();
            let pad = target - real;
            match options.padding {
                PaddingSide::Right => {
                    row.resize(target, self.pad_id);
                    attention_mask.push([vec![1u8; real], vec![0u8; pad]].concat());
                }
                PaddingSide::Left => {
                    row.splice(0..0, std::iter::repeat_n(self.pad_id, pad));
                    attention_mask.push([vec![0u8; pad], vec![1u8; real]].concat());
                }
            }
        }

        Ok(BatchEncoding {
            ids: rows,
            attention_mask,
            lengths,
            truncated,
        })
    }
}
