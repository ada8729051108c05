//! [`generate_text`]: prompts as text in, completions as text out — encoding with left
//! padding, [`generate`], decoding.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::causal_lm::CausalLm;
use crate::error::LmError;
use crate::generate::{GenerationConfig, generate};
use crate::tokenizer::{EncodeOptions, PaddingSide, Tokenizer, TruncationSide};

/// Completes each of `prompts` (one batch, left-padded) with `model` on `device` and returns
/// the completions decoded without special tokens. BOS is prepended when `add_bos` and the
/// prompt does not already start with the BOS token's text (a chat template that writes it);
/// `max_prompt_len`, if set, keeps the end of longer prompts.
pub fn generate_text<M: CausalLm + ?Sized>(
    model: &M,
    tokenizer: &Tokenizer,
    prompts: &[String],
    add_bos: bool,
    max_prompt_len: Option<usize>,
    config: &GenerationConfig,
    device: &Device,
) -> Result<Vec<String>, LmError> {
    if prompts.is_empty() {
        return Ok(Vec::new());
    }
    let bos = &tokenizer.special_tokens().bos;
    let opts = EncodeOptions {
        add_bos: add_bos && !prompts.iter().any(|t| t.starts_with(bos.as_str())),
        max_length: max_prompt_len,
        truncation: TruncationSide::Left,
        padding: PaddingSide::Left,
        ..EncodeOptions::default()
    };
    let tokenizer_err = |e: crate::tokenizer::TokenizerError| LmError::Input {
        what: "prompts",
        expected: "text the tokenizer can encode and decode".into(),
        got: e.to_string(),
    };
    let enc = tokenizer
        .encode_batch(prompts, &opts)
        .map_err(tokenizer_err)?;
    let (b, t) = (enc.len(), enc.seq_len());
    let tensor = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [b, t]), device);
    let ids = tensor(enc.ids.iter().flatten().map(|&x| x as i64).collect());
    let mask = tensor(
        enc.attention_mask
            .iter()
            .flatten()
            .map(|&x| x as i64)
            .collect(),
    );
    let out = generate(model, ids, mask, config)?;
    out.completions
        .iter()
        .map(|c| tokenizer.decode(c, true).map_err(tokenizer_err))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::SpecialTokens;
    use crate::{SamplingConfig, Transformer, TransformerConfig};

    #[test]
    fn completions_match_generate_on_the_same_ids() {
        let device = crate::select_device().unwrap();
        let texts = ["hello there", "a longer prompt than the first one"];
        let tok = Tokenizer::train_bpe_from_iter(texts.iter(), 280, &SpecialTokens::default(), 1)
            .unwrap();
        let cfg = TransformerConfig::llama(tok.vocab_size(), 32, 1, 2, 1, 64);
        let model = Transformer::new(&cfg, 3, &device).unwrap();
        let config = GenerationConfig {
            sampling: SamplingConfig::greedy(),
            ..GenerationConfig::new(5)
        };
        let prompts: Vec<String> = texts.iter().map(|s| s.to_string()).collect();
        let both = generate_text(&model, &tok, &prompts, true, None, &config, &device).unwrap();
        assert_eq!(both.len(), 2);
        // The second prompt alone (no padding) completes the same way under greedy decoding.
        let alone =
            generate_text(&model, &tok, &prompts[1..], true, None, &config, &device).unwrap();
        assert_eq!(alone[0], both[1]);
        assert!(
            generate_text(&model, &tok, &[], true, None, &config, &device)
                .unwrap()
                .is_empty()
        );
    }
}
