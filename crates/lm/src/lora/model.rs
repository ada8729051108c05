//! Attaching, switching, removing and merging adapters on a whole model.

use std::collections::BTreeSet;

use burn::module::Module;
use burn::nn::Linear;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rlhf_core::ConfigError;

use super::adapter::{LoraAdapter, merged};
use super::config::{LoraConfig, LoraTarget};
use crate::error::LmError;
use crate::model::{Block, Gemma3, LanguageModel, Transformer};

/// A model whose projections can carry LoRA adapters: [`Transformer`], [`Gemma3`] and
/// [`LanguageModel`].
///
/// Typical use (see [`crate::lora`] for the whole recipe):
///
/// ```no_run
/// # use burn::module::Module;
/// # use lm::lora::{LoraConfig, LoraModel};
/// # fn f(model: lm::LanguageModel) -> Result<(), lm::LmError> {
/// let policy = model.with_lora(&LoraConfig::new(16, 32.0).with_all_targets())?;
/// // The reference: the same base tensors (a `valid()` copy shares storage), no adapters.
/// let reference = policy.valid().with_lora_enabled(false);
/// # Ok(()) }
/// ```
pub trait LoraModel: Module + Sized {
    /// The decoder blocks (hook for the provided methods).
    fn lora_blocks(&self) -> &[Block];

    /// The decoder blocks and the slot holding the adapters' configuration (hook for the
    /// provided methods).
    fn lora_parts_mut(&mut self) -> (&mut [Block], &mut Option<LoraConfig>);

    /// The configuration of the attached adapters, if any.
    fn lora_config(&self) -> Option<&LoraConfig>;

    /// Freezes every parameter of the model (embeddings, norms, projections, biases; see
    /// [`Module::no_grad`]) and attaches fresh, trainable adapters to the projections
    /// `config` selects, drawn from a host RNG seeded with `config.seed`. With the default
    /// initialisation `B = 0`, so the outputs are unchanged until the adapters train.
    ///
    /// Errors: an invalid `config`, adapters already attached, a layer index past the last
    /// layer, or a target no layer has (e.g. `gate_proj` on GPT-2).
    fn with_lora(self, config: &LoraConfig) -> Result<Self, LmError> {
        config.validate()?;
        if self.lora_config().is_some() {
            return Err(ConfigError::new(
                "lora",
                "a model without adapters (merge_lora() or without_lora() first)",
                "a model that already has adapters",
            )
            .into());
        }
        let n_layers = self.lora_blocks().len();
        if let Some(bad) = config.layers.iter().flatten().find(|&&i| i >= n_layers) {
            return Err(ConfigError::new(
                "lora.layers",
                format_args!("layer indices below {n_layers} (the model's layers)"),
                format_args!("layer {bad}"),
            )
            .into());
        }
        let mut model = self.no_grad();
        let (blocks, slot) = model.lora_parts_mut();
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut found = BTreeSet::new();
        for (i, block) in blocks.iter_mut().enumerate() {
            if !config.adapts_layer(i) {
                continue;
            }
            for (target, lin, adapter) in sites_mut(block) {
                if !config.targets.contains(&target) {
                    continue;
                }
                let [d_in, d_out] = lin.weight.dims();
                *adapter = Some(LoraAdapter::new(
                    d_in,
                    d_out,
                    config.rank,
                    config.scale(),
                    config.dropout,
                    config.init,
                    &mut rng,
                    &lin.weight.device(),
                ));
                found.insert(target);
            }
        }
        if let Some(t) = config.targets.iter().find(|t| !found.contains(t)) {
            return Err(ConfigError::new(
                "lora.targets",
                "projections this model has",
                format_args!("`{}`, which matches none", t.hf_name()),
            )
            .into());
        }
        *slot = Some(config.clone());
        Ok(model)
    }

    /// The attached adapters with their layer and target, in creation order.
    fn lora_adapters(&self) -> Vec<(usize, LoraTarget, &LoraAdapter)> {
        let mut out = Vec::new();
        for (i, block) in self.lora_blocks().iter().enumerate() {
            for (target, adapter) in sites(block) {
                if let Some(adapter) = adapter {
                    out.push((i, target, adapter));
                }
            }
        }
        out
    }

    /// Number of adapter parameters (`Σ r·(d_in + d_out)`).
    fn num_lora_params(&self) -> usize {
        self.lora_adapters()
            .iter()
            .map(|(_, _, a)| a.a.num_params() + a.b.num_params())
            .sum()
    }

    /// Switches every adapter on or off. Off, the model computes exactly its base outputs
    /// (the adapters are skipped, not multiplied by zero) and keeps the adapters for later.
    fn with_lora_enabled(mut self, enabled: bool) -> Self {
        for block in self.lora_parts_mut().0 {
            for (_, _, adapter) in sites_mut(block) {
                if let Some(a) = adapter {
                    a.enabled = enabled;
                }
            }
        }
        self
    }

    /// Drops every adapter: the base model, still frozen as [`with_lora`](Self::with_lora)
    /// left it.
    fn without_lora(mut self) -> Self {
        let (blocks, slot) = self.lora_parts_mut();
        for block in blocks {
            for (_, _, adapter) in sites_mut(block) {
                *adapter = None;
            }
        }
        *slot = None;
        self
    }

    /// Folds every adapter into its projection, `W ← W + s·A·B`, and drops the adapters
    /// (disabled adapters too). The merged model computes what the adapted one did, at the
    /// cost of the base model; parameter ids and trainability of the base are unchanged.
    fn merge_lora(mut self) -> Self {
        let (blocks, slot) = self.lora_parts_mut();
        for block in blocks {
            for (_, lin, adapter) in sites_mut(block) {
                if let Some(a) = adapter.take() {
                    *lin = merged(lin.clone(), &a);
                }
            }
        }
        *slot = None;
        self
    }
}

type SiteMut<'a> = (LoraTarget, &'a mut Linear, &'a mut Option<LoraAdapter>);

/// Every adaptable projection of `block` with its adapter slot.
fn sites_mut(block: &mut Block) -> Vec<SiteMut<'_>> {
    let (a, m) = (&mut block.attn, &mut block.mlp);
    let mut v: Vec<SiteMut<'_>> = vec![
        (LoraTarget::Q, &mut a.q, &mut a.q_lora),
        (LoraTarget::K, &mut a.k, &mut a.k_lora),
        (LoraTarget::V, &mut a.v, &mut a.v_lora),
        (LoraTarget::O, &mut a.o, &mut a.o_lora),
    ];
    if let Some(gate) = m.gate.as_mut() {
        v.push((LoraTarget::Gate, gate, &mut m.gate_lora));
    }
    v.push((LoraTarget::Up, &mut m.up, &mut m.up_lora));
    v.push((LoraTarget::Down, &mut m.down, &mut m.down_lora));
    v
}

/// Every adaptable projection's target and adapter (read-only).
fn sites(block: &Block) -> Vec<(LoraTarget, Option<&LoraAdapter>)> {
    let (a, m) = (&block.attn, &block.mlp);
    let mut v = vec![
        (LoraTarget::Q, a.q_lora.as_ref()),
        (LoraTarget::K, a.k_lora.as_ref()),
        (LoraTarget::V, a.v_lora.as_ref()),
        (LoraTarget::O, a.o_lora.as_ref()),
    ];
    if m.gate.is_some() {
        v.push((LoraTarget::Gate, m.gate_lora.as_ref()));
    }
    v.push((LoraTarget::Up, m.up_lora.as_ref()));
    v.push((LoraTarget::Down, m.down_lora.as_ref()));
    v
}

impl LoraModel for Transformer {
    fn lora_blocks(&self) -> &[Block] {
        &self.blocks
    }

    fn lora_parts_mut(&mut self) -> (&mut [Block], &mut Option<LoraConfig>) {
        (&mut self.blocks, &mut self.lora)
    }

    fn lora_config(&self) -> Option<&LoraConfig> {
        self.lora.as_ref()
    }
}

impl LoraModel for Gemma3 {
    fn lora_blocks(&self) -> &[Block] {
        &self.blocks
    }

    fn lora_parts_mut(&mut self) -> (&mut [Block], &mut Option<LoraConfig>) {
        (&mut self.blocks, &mut self.lora)
    }

    fn lora_config(&self) -> Option<&LoraConfig> {
        self.lora.as_ref()
    }
}

impl LoraModel for LanguageModel {
    fn lora_blocks(&self) -> &[Block] {
        self.blocks()
    }

    fn lora_parts_mut(&mut self) -> (&mut [Block], &mut Option<LoraConfig>) {
        match self {
            Self::Transformer(m) => m.lora_parts_mut(),
            Self::Gemma3(m) => m.lora_parts_mut(),
        }
    }

    fn lora_config(&self) -> Option<&LoraConfig> {
        match self {
            Self::Transformer(m) => m.lora_config(),
            Self::Gemma3(m) => m.lora_config(),
        }
    }
}
