//! LoRA hyper-parameters, named as PEFT names them.

use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use crate::error::LmError;

/// A projection LoRA can adapt, named by its Hugging Face module name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LoraTarget {
    /// Query projection, `q_proj`.
    #[serde(rename = "q_proj")]
    Q,
    /// Key projection, `k_proj`.
    #[serde(rename = "k_proj")]
    K,
    /// Value projection, `v_proj`.
    #[serde(rename = "v_proj")]
    V,
    /// Attention output projection, `o_proj`.
    #[serde(rename = "o_proj")]
    O,
    /// Gate projection of a gated MLP, `gate_proj`.
    #[serde(rename = "gate_proj")]
    Gate,
    /// Up projection of the MLP, `up_proj`.
    #[serde(rename = "up_proj")]
    Up,
    /// Down projection of the MLP, `down_proj`.
    #[serde(rename = "down_proj")]
    Down,
}

impl LoraTarget {
    /// Every target, in the order adapters are created and saved.
    pub const ALL: [Self; 7] = [
        Self::Q,
        Self::K,
        Self::V,
        Self::O,
        Self::Gate,
        Self::Up,
        Self::Down,
    ];

    /// The Hugging Face module name (`q_proj`, ..., `down_proj`).
    pub fn hf_name(self) -> &'static str {
        match self {
            Self::Q => "q_proj",
            Self::K => "k_proj",
            Self::V => "v_proj",
            Self::O => "o_proj",
            Self::Gate => "gate_proj",
            Self::Up => "up_proj",
            Self::Down => "down_proj",
        }
    }

    /// The module path below a decoder layer (`self_attn.q_proj`, `mlp.up_proj`, ...).
    pub fn hf_path(self) -> &'static str {
        match self {
            Self::Q => "self_attn.q_proj",
            Self::K => "self_attn.k_proj",
            Self::V => "self_attn.v_proj",
            Self::O => "self_attn.o_proj",
            Self::Gate => "mlp.gate_proj",
            Self::Up => "mlp.up_proj",
            Self::Down => "mlp.down_proj",
        }
    }

    /// The target whose module name is `name` or ends with `.name` (PEFT matches
    /// `target_modules` entries as suffixes of module paths).
    pub fn from_hf_name(name: &str) -> Option<Self> {
        let last = name.rsplit('.').next().unwrap_or(name);
        Self::ALL.into_iter().find(|t| t.hf_name() == last)
    }
}

/// How the adapter factors start (PEFT's `init_lora_weights`). `B = 0` in the first two, so
/// a fresh adapter leaves the model's outputs unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoraInit {
    /// PEFT's default (`init_lora_weights=True`): `A` as `nn.Linear` initialises a weight,
    /// Kaiming-uniform with `a = √5`, i.e. `U(−1/√d_in, 1/√d_in)`; `B = 0`.
    #[default]
    KaimingUniform,
    /// `init_lora_weights="gaussian"`: `A ~ N(0, 1/r²)`; `B = 0`.
    Gaussian,
    /// `init_lora_weights=False`: both factors Kaiming-uniform (`B ~ U(−1/√r, 1/√r)`), so
    /// the adapter changes the outputs from the start. For tests.
    Random,
}

/// Which projections get a low-rank adapter `ΔW = s·A·B` and how (Hu et al. 2021, "LoRA";
/// PEFT's `LoraConfig`).
///
/// The adapted projection computes `y = x·W + b + s·(dropout(x)·A)·B` with `A: [d_in, r]`,
/// `B: [r, d_out]`, `s = alpha / r` (or `alpha / √r` with `use_rslora`, Kalajdzievski 2023);
/// dropout acts only on the adapter's input and only on a training (autodiff) device, as in
/// PEFT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoraConfig {
    /// Rank `r` of the adapters.
    pub rank: usize,
    /// Scaling numerator `alpha` (`lora_alpha`).
    pub alpha: f64,
    /// Dropout probability on the adapter input (`lora_dropout`).
    #[serde(default)]
    pub dropout: f64,
    /// Adapted projections (`target_modules`).
    pub targets: Vec<LoraTarget>,
    /// Initialisation of the factors (`init_lora_weights`).
    #[serde(default)]
    pub init: LoraInit,
    /// Scale by `alpha / √r` instead of `alpha / r` (`use_rslora`).
    #[serde(default)]
    pub use_rslora: bool,
    /// Only these layers (0-based) get adapters (`layers_to_transform`); `None`: all.
    #[serde(default)]
    pub layers: Option<Vec<usize>>,
    /// Seed of the host RNG that draws the initial factors.
    #[serde(default)]
    pub seed: u64,
}

impl LoraConfig {
    /// Rank `rank`, scaling numerator `alpha`, no dropout, PEFT's default initialisation and
    /// PEFT's default targets for Llama-like models (`q_proj`, `v_proj`), seed 0.
    pub fn new(rank: usize, alpha: f64) -> Self {
        Self {
            rank,
            alpha,
            dropout: 0.0,
            targets: vec![LoraTarget::Q, LoraTarget::V],
            init: LoraInit::KaimingUniform,
            use_rslora: false,
            layers: None,
            seed: 0,
        }
    }

    /// Sets [`targets`](Self::targets).
    pub fn with_targets(mut self, targets: &[LoraTarget]) -> Self {
        self.targets = targets.to_vec();
        self
    }

    /// Targets every projection (PEFT's `"all-linear"` on these models).
    pub fn with_all_targets(self) -> Self {
        self.with_targets(&LoraTarget::ALL)
    }

    /// Sets [`dropout`](Self::dropout).
    pub fn with_dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }

    /// Sets [`init`](Self::init).
    pub fn with_init(mut self, init: LoraInit) -> Self {
        self.init = init;
        self
    }

    /// Sets [`use_rslora`](Self::use_rslora).
    pub fn with_rslora(mut self, use_rslora: bool) -> Self {
        self.use_rslora = use_rslora;
        self
    }

    /// Sets [`layers`](Self::layers).
    pub fn with_layers(mut self, layers: Option<Vec<usize>>) -> Self {
        self.layers = layers;
        self
    }

    /// Sets [`seed`](Self::seed).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The factor `s` of `ΔW = s·A·B`.
    pub fn scale(&self) -> f64 {
        if self.use_rslora {
            self.alpha / (self.rank as f64).sqrt()
        } else {
            self.alpha / self.rank as f64
        }
    }

    /// Whether layer `i` gets adapters.
    pub fn adapts_layer(&self, i: usize) -> bool {
        self.layers.as_ref().is_none_or(|l| l.contains(&i))
    }

    /// Checks the numbers, naming the field.
    pub fn validate(&self) -> Result<(), LmError> {
        let bad = |field: &str, expected: &str, got: String| {
            Err(ConfigError::new(field, expected, got).within("lora").into())
        };
        if self.rank == 0 {
            return bad("rank", "at least 1", "0".into());
        }
        if !self.alpha.is_finite() || self.alpha == 0.0 {
            return bad("alpha", "a finite, non-zero value", self.alpha.to_string());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", "a value in [0, 1)", self.dropout.to_string());
        }
        if self.targets.is_empty() {
            return bad("targets", "at least one projection", "none".into());
        }
        Ok(())
    }
}
