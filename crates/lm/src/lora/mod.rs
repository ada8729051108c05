//! LoRA adapters (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models") on
//! the projections of every model family, with PEFT's semantics and file format.
//!
//! ```text
//! y = x·W + b + s·(dropout(x)·A)·B      A: [d_in, r], B: [r, d_out], s = alpha / r
//! ```
//!
//! - [`LoraConfig`]: rank, alpha, dropout, targets (`q_proj` .. `down_proj`), layers,
//!   initialisation (PEFT's default Kaiming-uniform `A` and zero `B`, or Gaussian), rsLoRA.
//! - [`LoraModel::with_lora`]: freezes every base parameter and attaches trainable adapters,
//!   so an optimizer step changes the adapters only (base weights stay bit-identical). A head
//!   built after this (a reward model's [`ScalarHead`](crate::ScalarHead)) trains as usual.
//! - [`LoraModel::with_lora_enabled`]`(false)` / [`LoraModel::without_lora`]: the base model
//!   without copying it. A DPO/PPO reference is `policy.valid().with_lora_enabled(false)`:
//!   `valid()` hands out the same tensor storage without autodiff (burn tensors are
//!   reference-counted; frozen base weights are never rewritten by the optimizer), so the
//!   reference costs no second copy of the base weights.
//! - [`LoraModel::merge_lora`]: `W ← W + s·A·B`, then the adapters are dropped.
//! - [`save_peft`] / [`load_peft`]: `adapter_config.json` + `adapter_model.safetensors` with
//!   PEFT's key names, loadable by `PeftModel.from_pretrained` onto the transformers model
//!   and the reverse (checked by `scripts/check_peft_roundtrip.py`).
//!
//! Why not burn's `Module::apply_lora`: it reparameterises the weight itself, so every
//! forward pass materialises the dense `W + s·A·B` (and training keeps a weight-sized
//! gradient for it), it has no dropout on the adapter input, no switch to turn adapters off,
//! initialises `A` from `N(0, 1/r²)` through the backend's RNG rather than PEFT's
//! Kaiming-uniform, freezes by parameter group rather than by projection name, and stores
//! factors under its own names. PEFT computes `x·W + s·(x·A)·B`; so do these adapters.

mod adapter;
mod config;
mod model;
mod peft;

pub use adapter::{LoraAdapter, linear_with_lora};
pub use config::{LoraConfig, LoraInit, LoraTarget};
pub use model::LoraModel;
pub use peft::{
    ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, load_peft, peft_module_path, read_peft_config,
    save_peft,
};
