//! Reward models: the [`RewardModel`] trait and its implementation over any causal-LM
//! backbone, [`ScalarRewardModel`], with freezing of the lower layers and checkpoints.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use lm::checkpoint::{CONFIG_FILE, load_model, write_atomic};
use lm::{CausalLm, Gemma3, LanguageModel, ScalarHead, Transformer, TransformerConfig};

use crate::error::{RmError, RmResult};

/// A model that scores token sequences (prompt + completion) with scalars.
///
/// - `ids`, `mask`: `[N, T]`, left- or right-padded (mask 1 on tokens).
/// - [`score`](Self::score): one reward per sequence, read at its last real token (the
///   usual reward-model convention: InstructGPT, TRL, OpenRLHF).
/// - [`token_scores`](Self::token_scores): the head at every position, `[N, T]`; position
///   `t` scores the prefix ending at token `t` (the backbone is causal), which is what
///   segment-level dense rewards read (see [`crate::dense`]).
///
/// Score with a `model.valid()` copy and inputs on a device without autodiff when the model
/// is not being trained (no graph kept alive). The trait is object safe.
pub trait RewardModel {
    /// One reward per sequence, `[N]`.
    fn score(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<1>;

    /// One score per position, `[N, T]` (padding positions hold meaningless values).
    fn token_scores(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<2>;
}

impl<R: RewardModel + ?Sized> RewardModel for &R {
    fn score(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<1> {
        (**self).score(ids, mask)
    }

    fn token_scores(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<2> {
        (**self).token_scores(ids, mask)
    }
}

/// A backbone whose embedding and lowest blocks can be frozen (excluded from training).
pub trait FreezeLower: Sized {
    /// Number of blocks.
    fn num_layers(&self) -> usize;

    /// Marks the input embeddings (token and learned positions) and blocks `0..n` as not
    /// requiring gradients, so an optimizer step leaves them unchanged; `n = 0` freezes
    /// nothing. Call on a model whose weights are already built or loaded.
    fn freeze_lower(self, n: usize) -> Self;
}

impl FreezeLower for Transformer {
    fn num_layers(&self) -> usize {
        self.blocks.len()
    }

    fn freeze_lower(mut self, n: usize) -> Self {
        if n == 0 {
            return self;
        }
        self.embed = self.embed.no_grad();
        self.pos_embed = self.pos_embed.map(Module::no_grad);
        self.blocks = self
            .blocks
            .into_iter()
            .enumerate()
            .map(|(i, b)| if i < n { b.no_grad() } else { b })
            .collect();
        self
    }
}

impl FreezeLower for Gemma3 {
    fn num_layers(&self) -> usize {
        self.blocks.len()
    }

    /// Gemma 3 has no learned positions; its embedding is also the (unused) output
    /// projection, frozen with it.
    fn freeze_lower(mut self, n: usize) -> Self {
        if n == 0 {
            return self;
        }
        self.embed = self.embed.no_grad();
        self.blocks = self
            .blocks
            .into_iter()
            .enumerate()
            .map(|(i, b)| if i < n { b.no_grad() } else { b })
            .collect();
        self
    }
}

impl FreezeLower for LanguageModel {
    fn num_layers(&self) -> usize {
        self.blocks().len()
    }

    fn freeze_lower(self, n: usize) -> Self {
        match self {
            Self::Transformer(m) => Self::Transformer(m.freeze_lower(n)),
            Self::Gemma3(m) => Self::Gemma3(m.freeze_lower(n)),
        }
    }
}

/// A causal-LM backbone with a scalar head: the reward model of InstructGPT (Ouyang et al.
/// 2022, §3.5: the SFT model with the unembedding replaced by a projection to a scalar).
///
/// The head reads the backbone's final hidden states ([`CausalLm::hidden`]); the backbone's
/// own output projection is unused. Initialise the backbone from an SFT checkpoint with
/// [`ScalarRewardModel::from_sft_dir`] (or any loaded [`CausalLm`]).
#[derive(Module, Debug)]
pub struct ScalarRewardModel<B> {
    /// The language model whose last hidden states are scored.
    pub backbone: B,
    /// `d_model → 1`.
    pub head: ScalarHead,
}

impl<B: CausalLm + Module> ScalarRewardModel<B> {
    /// `backbone` with a new head: weights N(0, 1/(d_model+1)) as TRL's value head, bias 0,
    /// drawn from a host RNG seeded with `seed` (the same head on every backend).
    pub fn new(backbone: B, seed: u64, device: &Device) -> Self {
        let head = ScalarHead::seeded(backbone.d_model(), seed, device);
        Self { backbone, head }
    }

    /// Freezes the backbone's embeddings and its lowest `n` blocks (see [`FreezeLower`]).
    /// Errors if `n` exceeds the number of blocks.
    pub fn freeze_lower(self, n: usize) -> RmResult<Self>
    where
        B: FreezeLower,
    {
        let layers = self.backbone.num_layers();
        if n > layers {
            return Err(RmError::config(
                "freeze_layers",
                format!("at most the backbone's {layers} blocks"),
                n,
            ));
        }
        Ok(Self {
            backbone: self.backbone.freeze_lower(n),
            head: self.head,
        })
    }
}

impl ScalarRewardModel<Transformer> {
    /// A reward model whose backbone is the checkpoint in `dir` (as written by
    /// [`lm::checkpoint::save_model`], e.g. the SFT example's `runs/sft/model/`) with a new
    /// seeded head.
    pub fn from_sft_dir(dir: &Path, seed: u64, device: &Device) -> RmResult<Self> {
        Ok(Self::new(load_model(dir, device)?, seed, device))
    }

    /// Saves the model into the folder `dir`: `config.json` (the backbone's config) and
    /// `reward_model.safetensors` (backbone and head).
    pub fn save(&self, dir: &Path) -> RmResult<()> {
        std::fs::create_dir_all(dir).map_err(|e| RmError::io(dir, e))?;
        crate::folder::write_weights(self, dir)?;
        let config = serde_json::to_vec_pretty(&self.backbone.config)
            .map_err(|e| RmError::json(dir.join(CONFIG_FILE), e))?;
        write_atomic(&dir.join(CONFIG_FILE), &config)?;
        Ok(())
    }

    /// Loads a model written by [`save`](Self::save). Every tensor must fit.
    pub fn load(dir: &Path, device: &Device) -> RmResult<Self> {
        let config = read_config(dir)?;
        let model = Self::new(Transformer::new(&config, 0, device)?, 0, device);
        crate::folder::read_weights(model, dir)
    }
}

/// Weights file of a saved [`ScalarRewardModel`].
pub const RM_WEIGHTS_FILE: &str = "reward_model.safetensors";

impl<B: CausalLm + Module> RewardModel for ScalarRewardModel<B> {
    fn score(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<1> {
        let hidden = self.backbone.hidden(ids, mask.clone());
        self.head.forward_last(hidden, mask)
    }

    fn token_scores(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<2> {
        self.head.forward_all(self.backbone.hidden(ids, mask))
    }
}

/// The validated backbone config in `dir/config.json`.
fn read_config(dir: &Path) -> RmResult<TransformerConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| RmError::io(&path, e))?;
    let config: TransformerConfig =
        serde_json::from_str(&text).map_err(|e| RmError::json(&path, e))?;
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(device: &Device) -> ScalarRewardModel<Transformer> {
        let config = TransformerConfig::llama(50, 16, 2, 2, 1, 32).with_max_seq_len(32);
        ScalarRewardModel::new(Transformer::new(&config, 3, device).unwrap(), 4, device)
    }

    #[test]
    fn score_reads_the_last_real_token_whatever_the_padding() {
        let d = Device::flex();
        let rm = tiny(&d);
        let right = Tensor::<2, Int>::from_ints([[5, 6, 7, 0, 0]], &d);
        let rmask = Tensor::<2, Int>::from_ints([[1, 1, 1, 0, 0]], &d);
        let left = Tensor::<2, Int>::from_ints([[0, 0, 5, 6, 7]], &d);
        let lmask = Tensor::<2, Int>::from_ints([[0, 0, 1, 1, 1]], &d);
        let alone = Tensor::<2, Int>::from_ints([[5, 6, 7]], &d);
        let ones = Tensor::<2, Int>::ones([1, 3], &d);
        let a = rm.score(right, rmask).into_scalar::<f32>();
        let b = rm.score(left, lmask).into_scalar::<f32>();
        let c = rm.score(alone.clone(), ones.clone()).into_scalar::<f32>();
        assert!((a - c).abs() < 1e-5 && (b - c).abs() < 1e-5, "{a} {b} {c}");
        // The sequence score is the token score at the last position.
        let per_token: Vec<f32> = rm.token_scores(alone, ones).try_into_vec_as().unwrap();
        assert!((per_token[2] - c).abs() < 1e-6);
    }

    #[test]
    fn head_init_is_seeded() {
        let d = Device::flex();
        let (a, b) = (tiny(&d), tiny(&d));
        let wa: Vec<f32> = a.head.proj.weight.val().try_into_vec_as().unwrap();
        let wb: Vec<f32> = b.head.proj.weight.val().try_into_vec_as().unwrap();
        assert_eq!(wa, wb);
        assert!(wa.iter().any(|&x| x != 0.0));
    }

    #[test]
    fn freezing_more_layers_than_exist_is_an_error() {
        let d = Device::flex();
        let e = tiny(&d).freeze_lower(3).unwrap_err().to_string();
        assert!(e.contains("freeze_layers") && e.contains('2'), "{e}");
    }

    #[test]
    fn save_and_load_round_trip() {
        let d = Device::flex();
        let rm = tiny(&d);
        let dir = tempfile::tempdir().unwrap();
        rm.save(dir.path()).unwrap();
        let back = ScalarRewardModel::load(dir.path(), &d).unwrap();
        let ids = Tensor::<2, Int>::from_ints([[1, 2, 3, 4]], &d);
        let mask = Tensor::<2, Int>::ones([1, 4], &d);
        assert_eq!(
            rm.score(ids.clone(), mask.clone()).into_scalar::<f32>(),
            back.score(ids, mask).into_scalar::<f32>()
        );
    }
}
