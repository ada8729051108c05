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
/// sampled; stopping at the tokenizer's EOS). Option log-probabilities take one forward
/// pass per prompt when the options differ only in their last token (`"A"`/`"B"`,
/// `" 1"`…`" 9"`: the next-token distribution after `prompt + shared tokens`), else one
/// per `prompt + option`; either way batched over prompts.
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
    batch_rows: usize,
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
            batch_rows: 8,
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

    /// Rows per forward pass when scoring options (default 8; at least 1).
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
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
        let mut rows = self.option_logprobs_batch(std::slice::from_ref(prompt), options)?;
        Ok(rows.pop().unwrap_or_default())
    }

    fn option_logprobs_batch(
        &self,
        prompts: &[Text],
        options: &[String],
    ) -> Result<Vec<Vec<Option<f64>>>, BackendError> {
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        if options.is_empty() {
            return Ok(vec![Vec::new(); prompts.len()]);
        }
        let mut prompt_ids = Vec::with_capacity(prompts.len());
        for (i, p) in prompts.iter().enumerate() {
            let text = self.render(p)?;
            let ids = self
                .tokenizer
                .encode(&text, self.add_bos, false)
                .map_err(|e| self.input_error(e))?;
            if ids.is_empty() {
                return Err(self.input_error(format!("prompt {i} encodes to no token")));
            }
            prompt_ids.push(ids);
        }
        // Each option is encoded on its own and appended to the prompt's tokens (as
        // lm-evaluation-harness does), so every option is scored from the same context.
        let option_ids = options
            .iter()
            .map(|o| self.tokenizer.encode(o, false, false))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.input_error(e))?;
        match shared_prefix(&option_ids) {
            Some(prefix) => self.one_row_per_prompt(&prompt_ids, &option_ids, prefix),
            None => self.one_row_per_option(&prompt_ids, &option_ids),
        }
    }
}

/// When every option has the same number of tokens `L ≥ 1` and they differ only in their
/// last token, the `L − 1` tokens they share; else `None`.
fn shared_prefix(options: &[Vec<u32>]) -> Option<&[u32]> {
    let first = options.first()?;
    let n = first.len();
    if n == 0 {
        return None;
    }
    let same = options
        .iter()
        .all(|o| o.len() == n && o[..n - 1] == first[..n - 1]);
    same.then(|| &first[..n - 1])
}

impl<M: CausalLm> LocalModel<M> {
    /// Scores every option with one forward pass per prompt: the row is `prompt + shared`
    /// (the options' shared first tokens), its last `|shared| + 1` positions are projected
    /// to the vocabulary, and each option's log-prob is that of the shared tokens plus that
    /// of its own last token in the final next-token distribution. Rows are left-padded
    /// (positions count real tokens only) in batches of `batch_rows`.
    fn one_row_per_prompt(
        &self,
        prompts: &[Vec<u32>],
        options: &[Vec<u32>],
        shared: &[u32],
    ) -> Result<Vec<Vec<Option<f64>>>, BackendError> {
        let limit = self.model.max_seq_len();
        let tail = shared.len() + 1;
        let last: Vec<u32> = options.iter().map(|o| o[o.len() - 1]).collect();
        let mut out = vec![vec![None; options.len()]; prompts.len()];
        let fits: Vec<usize> = (0..prompts.len())
            .filter(|&i| prompts[i].len() + shared.len() < limit)
            .collect();
        let pad = self.tokenizer.pad_id();
        for chunk in fits.chunks(self.batch_rows) {
            let rows: Vec<Vec<u32>> = chunk
                .iter()
                .map(|&i| prompts[i].iter().chain(shared).copied().collect())
                .collect();
            let width = rows.iter().map(Vec::len).max().unwrap_or(0);
            let (ids, mask) = self.left_padded(&rows, width, pad);
            let hidden = self.model.hidden(ids, mask);
            let [b, t, d] = hidden.dims();
            let logits = self
                .model
                .logits_from_hidden(hidden.slice([0..b, t - tail..t, 0..d]));
            let v = logits.dims()[2];
            let lp: Vec<f32> = burn::tensor::activation::log_softmax(logits, 2)
                .into_data()
                .iter::<f32>()
                .collect();
            for (r, &i) in chunk.iter().enumerate() {
                let at = |pos: usize, token: u32| lp[(r * tail + pos) * v + token as usize] as f64;
                // Hidden position t − tail + k predicts the k-th shared token; the last
                // position predicts each option's own last token.
                let prefix: f64 = shared.iter().enumerate().map(|(k, &tok)| at(k, tok)).sum();
                for (o, &tok) in last.iter().enumerate() {
                    out[i][o] = Some(prefix + at(tail - 1, tok));
                }
            }
        }
        Ok(out)
    }

    /// Scores each `prompt + option` as its own row (options with different token counts
    /// or prefixes), in batches of `batch_rows` rows; an empty option has log-prob 0, one
    /// that does not fit the context `None`.
    fn one_row_per_option(
        &self,
        prompts: &[Vec<u32>],
        options: &[Vec<u32>],
    ) -> Result<Vec<Vec<Option<f64>>>, BackendError> {
        let limit = self.model.max_seq_len();
        let mut out = vec![vec![None; options.len()]; prompts.len()];
        let mut rows: Vec<(usize, usize, Vec<u32>, usize)> = Vec::new();
        for (i, p) in prompts.iter().enumerate() {
            for (o, ids) in options.iter().enumerate() {
                if ids.is_empty() {
                    out[i][o] = Some(0.0);
                    continue;
                }
                let row: Vec<u32> = p.iter().chain(ids).copied().collect();
                if row.len() <= limit {
                    rows.push((i, o, row, ids.len()));
                }
            }
        }
        let pad = self.tokenizer.pad_id();
        for chunk in rows.chunks(self.batch_rows) {
            let width = chunk.iter().map(|r| r.2.len()).max().unwrap_or(0);
            let ids: Vec<Vec<u32>> = chunk
                .iter()
                .map(|(_, _, r, _)| {
                    let mut r = r.clone();
                    r.resize(width, pad);
                    r
                })
                .collect();
            let mask: Vec<Vec<u32>> = chunk
                .iter()
                .map(|(_, _, r, _)| {
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
            for (b, (i, o, row, n)) in chunk.iter().enumerate() {
                // Token t (t ≥ 1) has its log-prob at column t − 1.
                let first = row.len() - n;
                let sum: f64 = (first..row.len())
                    .map(|t| values[b * cols + t - 1] as f64)
                    .sum();
                out[*i][*o] = Some(sum);
            }
        }
        Ok(out)
    }

    /// `rows` left-padded to `width`: ids and attention mask.
    fn left_padded(
        &self,
        rows: &[Vec<u32>],
        width: usize,
        pad: u32,
    ) -> (Tensor<2, Int>, Tensor<2, Int>) {
        let mut ids = Vec::with_capacity(rows.len());
        let mut mask = Vec::with_capacity(rows.len());
        for r in rows {
            let n = width - r.len();
            ids.push(
                std::iter::repeat_n(pad, n)
                    .chain(r.iter().copied())
                    .collect(),
            );
            mask.push(
                std::iter::repeat_n(0u32, n)
                    .chain(std::iter::repeat_n(1u32, r.len()))
                    .collect(),
            );
        }
        (self.ints(&ids, width), self.ints(&mask, width))
    }
}

impl<M> std::fmt::Debug for LocalModel<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("name", &self.name)
            .finish()
    }
}
