//! [`LocalModel`]: a [`TextModel`] over any [`CausalLm`] and its tokenizer.

use burn::tensor::{Device, Int, Tensor, TensorData};
use lm::CausalLm;
use lm::generate::{GenerationConfig, SamplingConfig, generate};
use lm::tokenizer::{EncodeOptions, PaddingSide, Tokenizer};
use pref_data::{ChatTemplate, Text};

use super::{BackendError, GenerateOptions, TextModel, cut_at_stop};

/// A local language model as a [`TextModel`]: prompts are rendered with a
/// [`ChatTemplate`] (chat prompts) or taken as they are (plain prompts), tokenised,
/// left-padded and continued with [`lm::generate()`] (greedy at temperature 0, else
/// sampled; stopping at the tokenizer's EOS); option log-probabilities are read from one
/// forward pass over `prompt + option` per option.
///
/// Give it a model without autodiff (`model.valid()`) on a plain device, so that no graph
/// is kept.
pub struct LocalModel<M> {
    name: String,
    model: M,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    device: Device,
    add_bos: bool,
}

impl<M: CausalLm> LocalModel<M> {
    /// `model` with `tokenizer` on `device`, the [`ChatTemplate::Plain`] template, no BOS.
    pub fn new(name: impl Into<String>, model: M, tokenizer: Tokenizer, device: Device) -> Self {
        Self {
            name: name.into(),
            model,
            tokenizer,
            template: ChatTemplate::Plain,
            device,
            add_bos: false,
        }
    }

    /// The same model rendering chats with `template`.
    pub fn with_template(mut self, template: ChatTemplate) -> Self {
        self.template = template;
        self
    }

    /// Whether to prepend the tokenizer's BOS token to every prompt.
    pub fn with_bos(mut self, add_bos: bool) -> Self {
        self.add_bos = add_bos;
        self
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    fn model_error(&self, message: impl std::fmt::Display) -> BackendError {
        BackendError::Model {
            model: self.name.clone(),
            message: message.to_string(),
        }
    }

    fn input_error(&self, message: impl std::fmt::Display) -> BackendError {
        BackendError::Input {
            model: self.name.clone(),
            message: message.to_string(),
        }
    }

    fn render(&self, prompt: &Text) -> Result<String, BackendError> {
        self.template
            .render_prompt(prompt)
            .map_err(|e| self.input_error(format!("cannot render the chat prompt: {e}")))
    }

    fn ints(&self, rows: &[Vec<u32>], width: usize) -> Tensor<2, Int> {
        let flat: Vec<i64> = rows
            .iter()
            .flat_map(|r| r.iter().map(|&v| v as i64))
            .collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), width]), &self.device)
    }
}

impl<M: CausalLm> TextModel for LocalModel<M> {
    fn name(&self) -> &str {
        &self.name
    }

    fn generate(
        &self,
        prompts: &[Text],
        options: &GenerateOptions,
    ) -> Result<Vec<String>, BackendError> {
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        if options.max_new_tokens == 0 {
            return Err(self.input_error("max_new_tokens must be at least 1"));
        }
        let texts = prompts
            .iter()
            .map(|p| self.render(p))
            .collect::<Result<Vec<_>, _>>()?;
        let enc = EncodeOptions {
            add_bos: self.add_bos,
            padding: PaddingSide::Left,
            ..EncodeOptions::default()
        };
        let batch = self
            .tokenizer
            .encode_batch(&texts, &enc)
            .map_err(|e| self.input_error(e))?;
        if let Some(i) = batch.lengths.iter().position(|&l| l == 0) {
            return Err(self.input_error(format!("prompt {i} encodes to no token")));
        }
        let width = batch.seq_len();
        let limit = self.model.max_seq_len();
        if width + options.max_new_tokens > limit {
            return Err(self.input_error(format!(
                "the longest prompt has {width} tokens; with {} new tokens that exceeds the model's context of {limit}",
                options.max_new_tokens
            )));
        }
        let ids = self.ints(&batch.ids, width);
        let mask_rows: Vec<Vec<u32>> = batch
            .attention_mask
            .iter()
            .map(|r| r.iter().map(|&m| m as u32).collect())
            .collect();
        let mask = self.ints(&mask_rows, width);
        let sampling = if options.temperature == 0.0 {
            SamplingConfig::greedy()
        } else {
            SamplingConfig {
                temperature: options.temperature,
                top_k: None,
                top_p: options.top_p,
            }
        };
        let config = GenerationConfig {
            max_new_tokens: options.max_new_tokens,
            sampling,
            eos_token_ids: vec![self.tokenizer.eos_id()],
            pad_token_id: self.tokenizer.pad_id(),
            seed: options.seed,
            use_cache: true,
        };
        let out = generate(&self.model, ids, mask, &config).map_err(|e| self.model_error(e))?;
        let texts = self
            .tokenizer
            .decode_batch(&out.completions, true)
            .map_err(|e| self.model_error(e))?;
        Ok(texts
            .iter()
            .map(|t| cut_at_stop(t, &options.stop))
            .collect())
    }

    fn option_logprobs(
        &self,
        prompt: &Text,
        options: &[String],
    ) -> Result<Vec<Option<f64>>, BackendError> {
        if options.is_empty() {
            return Ok(Vec::new());
        }
        let text = self.render(prompt)?;
        let prompt_ids = self
            .tokenizer
            .encode(&text, self.add_bos, false)
            .map_err(|e| self.input_error(e))?;
        if prompt_ids.is_empty() {
            return Err(self.input_error("the prompt encodes to no token"));
        }
        let limit = self.model.max_seq_len();
        // Each option is encoded on its own and appended to the prompt's tokens (as
        // lm-evaluation-harness does), so every option is scored from the same context.
        let mut rows: Vec<(usize, Vec<u32>, usize)> = Vec::new();
        let mut out = vec![None; options.len()];
        for (i, o) in options.iter().enumerate() {
            let ids = self
                .tokenizer
                .encode(o, false, false)
                .map_err(|e| self.input_error(e))?;
            if ids.is_empty() {
                out[i] = Some(0.0);
                continue;
            }
            let mut row = prompt_ids.clone();
            row.extend(&ids);
            if row.len() <= limit {
                rows.push((i, row, ids.len()));
            }
        }
        if rows.is_empty() {
            return Ok(out);
        }
        let width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        let pad = self.tokenizer.pad_id();
        let ids: Vec<Vec<u32>> = rows
            .iter()
            .map(|(_, r, _)| {
                let mut r = r.clone();
                r.resize(width, pad);
                r
            })
            .collect();
        let mask: Vec<Vec<u32>> = rows
            .iter()
            .map(|(_, r, _)| {
                let mut m = vec![1u32; r.len()];
                m.resize(width, 0);
                m
            })
            .collect();
        let lp = self
            .model
            .token_logprobs(self.ints(&ids, width), self.ints(&mask, width));
        let values: Vec<f32> = lp.into_data().iter::<f32>().collect();
        let cols = width - 1;
        for (b, (i, row, n)) in rows.iter().enumerate() {
            // Token t (t ≥ 1) has its log-prob at column t − 1.
            let first = row.len() - n;
            let sum: f64 = (first..row.len())
                .map(|t| values[b * cols + t - 1] as f64)
                .sum();
            out[*i] = Some(sum);
        }
        Ok(out)
    }
}

impl<M> std::fmt::Debug for LocalModel<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("name", &self.name)
            .finish()
    }
}
