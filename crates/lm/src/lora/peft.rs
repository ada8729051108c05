//! Adapters in PEFT's format: `adapter_config.json` + `adapter_model.safetensors`.
//!
//! Key names are those PEFT writes for a `*ForCausalLM` model wrapped by `get_peft_model`
//! (adapter name removed), e.g.
//! `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` (`[r, d_in]`) and
//! `...lora_B.weight` (`[d_out, r]`), for Llama, SmolLM, Mistral, Qwen2/2.5, Qwen3 and
//! Gemma 3 alike. GPT-2's fused `c_attn` has no PEFT counterpart of separate q/k/v adapters,
//! so GPT-2 adapters cannot be saved in this format.

use std::collections::BTreeMap;
use std::path::Path;

use rlhf_core::ConfigError;
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use serde_json::{Value, json};

use super::adapter::LoraAdapter;
use super::config::{LoraConfig, LoraInit, LoraTarget};
use super::model::LoraModel;
use crate::checkpoint::hf_json::{HfConfig, read_json};
use crate::checkpoint::weights::{WeightFiles, Weights};
use crate::checkpoint::write_atomic;
use crate::error::LmError;

/// PEFT's adapter configuration file.
pub const ADAPTER_CONFIG_FILE: &str = "adapter_config.json";
/// PEFT's adapter weights file.
pub const ADAPTER_WEIGHTS_FILE: &str = "adapter_model.safetensors";

/// The PEFT key prefix of an adapter: `base_model.model.model.layers.{layer}.{module}`.
pub fn peft_module_path(layer: usize, target: LoraTarget) -> String {
    format!("base_model.model.model.layers.{layer}.{}", target.hf_path())
}

/// Saves the adapters of `model` into the folder `dir` (created if needed) in PEFT's format,
/// as f32. `base_model` is written as `base_model_name_or_path` (the Hugging Face id or
/// folder the adapters belong to).
pub fn save_peft<M: LoraModel>(
    model: &M,
    dir: &Path,
    base_model: Option<&str>,
) -> Result<(), LmError> {
    let config = model.lora_config().ok_or_else(|| {
        ConfigError::new(
            "lora",
            "a model with adapters to save",
            "a model without adapters",
        )
    })?;
    if model.lora_blocks().iter().any(|b| b.mlp.gate.is_none()) {
        return Err(no_peft_layout().into());
    }
    let mut tensors: BTreeMap<String, (Vec<u8>, Vec<usize>)> = BTreeMap::new();
    for (layer, target, adapter) in model.lora_adapters() {
        let path = peft_module_path(layer, target);
        // burn keeps [in, r] and [r, out]; PEFT keeps nn.Linear's [out, in].
        for (name, t) in [("lora_A", adapter.a.val()), ("lora_B", adapter.b.val())] {
            let t = t.transpose();
            let shape = t.dims().to_vec();
            let values = t
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| {
                    LmError::checkpoint(dir.join(ADAPTER_WEIGHTS_FILE), format!("{e:?}"))
                })?;
            let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            tensors.insert(format!("{path}.{name}.weight"), (bytes, shape));
        }
    }
    let weights_path = dir.join(ADAPTER_WEIGHTS_FILE);
    let views = tensors
        .iter()
        .map(|(k, (bytes, shape))| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (k.clone(), v))
                .map_err(|e| LmError::checkpoint(&weights_path, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let metadata = Some([("format".to_string(), "pt".to_string())].into());
    let bytes = safetensors::serialize(views, metadata)
        .map_err(|e| LmError::checkpoint(&weights_path, e.to_string()))?;
    write_atomic(&weights_path, &bytes)?;
    let json = serde_json::to_vec_pretty(&peft_config_json(config, base_model))
        .map_err(|e| LmError::checkpoint(dir.join(ADAPTER_CONFIG_FILE), e.to_string()))?;
    write_atomic(&dir.join(ADAPTER_CONFIG_FILE), &json)
}

/// `adapter_config.json` for `config`.
fn peft_config_json(config: &LoraConfig, base_model: Option<&str>) -> Value {
    let init = match config.init {
        LoraInit::KaimingUniform => json!(true),
        LoraInit::Gaussian => json!("gaussian"),
        LoraInit::Random => json!(false),
    };
    let mut targets: Vec<&str> = config.targets.iter().map(|t| t.hf_name()).collect();
    targets.sort_unstable();
    json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": config.rank,
        "lora_alpha": config.alpha,
        "lora_dropout": config.dropout,
        "target_modules": targets,
        "layers_to_transform": config.layers,
        "use_rslora": config.use_rslora,
        "init_lora_weights": init,
        "bias": "none",
        "fan_in_fan_out": false,
        "use_dora": false,
        "modules_to_save": null,
        "rank_pattern": {},
        "alpha_pattern": {},
        "inference_mode": true,
    })
}

/// Reads `dir/adapter_config.json` into a [`LoraConfig`]. Features PEFT offers that these
/// adapters do not implement (DoRA, bias training, per-module ranks, `modules_to_save`,
/// regular-expression targets, initialisations that rewrite the base weights) are errors
/// naming the field.
pub fn read_peft_config(dir: &Path) -> Result<LoraConfig, LmError> {
    let path = dir.join(ADAPTER_CONFIG_FILE);
    let v = read_json(&path)?;
    let cfg = HfConfig { v: &v, path: &path };
    let peft_type = cfg.opt_str("peft_type")?.unwrap_or("LORA");
    if peft_type != "LORA" {
        return Err(cfg.unsupported("peft_type", &format!("expected LORA, got `{peft_type}`")));
    }
    for (key, ok) in [
        ("use_dora", cfg.opt_bool("use_dora")? != Some(true)),
        (
            "fan_in_fan_out",
            cfg.opt_bool("fan_in_fan_out")? != Some(true),
        ),
        ("lora_bias", cfg.opt_bool("lora_bias")? != Some(true)),
        ("bias", matches!(cfg.opt_str("bias")?, None | Some("none"))),
        ("rank_pattern", empty(cfg.present("rank_pattern"))),
        ("alpha_pattern", empty(cfg.present("alpha_pattern"))),
        ("modules_to_save", empty(cfg.present("modules_to_save"))),
        ("exclude_modules", empty(cfg.present("exclude_modules"))),
        ("layer_replication", empty(cfg.present("layer_replication"))),
        ("target_parameters", empty(cfg.present("target_parameters"))),
        (
            "trainable_token_indices",
            empty(cfg.present("trainable_token_indices")),
        ),
        (
            "alora_invocation_tokens",
            empty(cfg.present("alora_invocation_tokens")),
        ),
        ("use_qalora", cfg.opt_bool("use_qalora")? != Some(true)),
    ] {
        if !ok {
            return Err(cfg.unsupported(key, &format!("not supported, got {}", cfg.v[key])));
        }
    }
    let rank = cfg.usize("r")?;
    let alpha = cfg.opt_f64("lora_alpha")?.unwrap_or(8.0);
    let targets = match cfg.present("target_modules") {
        Some(Value::String(s)) if s == "all-linear" => LoraTarget::ALL.to_vec(),
        Some(Value::Array(names)) => names
            .iter()
            .map(|n| {
                n.as_str()
                    .and_then(LoraTarget::from_hf_name)
                    .ok_or_else(|| {
                        cfg.unsupported(
                            "target_modules",
                            &format!("expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj or down_proj, got {n}"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?,
        other => {
            return Err(cfg.unsupported(
                "target_modules",
                &format!(
                    "expected a list of module names or \"all-linear\" (regular expressions are \
                     not supported), got {}",
                    other.map_or("nothing".into(), Value::to_string)
                ),
            ));
        }
    };
    let init = match cfg.present("init_lora_weights") {
        None | Some(Value::Bool(true)) => LoraInit::KaimingUniform,
        Some(Value::Bool(false)) => LoraInit::Random,
        Some(Value::String(s)) if s == "gaussian" => LoraInit::Gaussian,
        Some(other) => {
            return Err(cfg.unsupported(
                "init_lora_weights",
                &format!("expected true, false or \"gaussian\", got {other}"),
            ));
        }
    };
    let layers = match cfg.present("layers_to_transform") {
        None => None,
        Some(Value::Array(xs)) => Some(
            xs.iter()
                .map(|x| x.as_u64().map(|n| n as usize))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| cfg.err("layers_to_transform", "a layer index or a list of them"))?,
        ),
        Some(x) => Some(vec![
            x.as_u64()
                .ok_or_else(|| cfg.err("layers_to_transform", "a layer index or a list of them"))?
                as usize,
        ]),
    };
    let mut targets = targets;
    targets.sort_unstable();
    targets.dedup();
    let config = LoraConfig {
        rank,
        alpha,
        dropout: cfg.opt_f64("lora_dropout")?.unwrap_or(0.0),
        targets,
        init,
        use_rslora: cfg.opt_bool("use_rslora")?.unwrap_or(false),
        layers,
        seed: 0,
    };
    config
        .validate()
        .map_err(|e| LmError::checkpoint(&path, e.to_string()))?;
    Ok(config)
}

fn empty(v: Option<&Value>) -> bool {
    match v {
        None => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

/// GPT-2-style models (fused `c_attn`) have no PEFT key layout.
fn no_peft_layout() -> ConfigError {
    ConfigError::new(
        "lora",
        "a model with separate q/k/v projections (PEFT's key layout)",
        "a GPT-2-style model (fused c_attn)",
    )
}

/// Attaches the PEFT adapters in the folder `dir` to `model` (which must have none yet):
/// [`read_peft_config`], [`LoraModel::with_lora`], then every factor from
/// `adapter_model.safetensors` (f32, bf16 or f16). Every adapter must be in the file and
/// every tensor of the file must be used.
pub fn load_peft<M: LoraModel>(model: M, dir: &Path) -> Result<M, LmError> {
    let config = read_peft_config(dir)?;
    if model.lora_blocks().iter().any(|b| b.mlp.gate.is_none()) {
        return Err(no_peft_layout().into());
    }
    let mut model = model.with_lora(&config)?;
    let files = WeightFiles::read_file(&dir.join(ADAPTER_WEIGHTS_FILE))?;
    let device = model.lora_blocks()[0].attn.q.weight.device();
    let mut w = files.weights(&device)?;
    // PEFT names keys without the adapter name; older versions kept `.default`.
    let key = |w: &Weights<'_>, base: &str| {
        let plain = format!("{base}.weight");
        if w.contains(&plain) {
            plain
        } else {
            format!("{base}.default.weight")
        }
    };
    let (blocks, _) = model.lora_parts_mut();
    for (layer, block) in blocks.iter_mut().enumerate() {
        for (target, slot) in adapter_slots(block) {
            let Some(adapter) = slot.as_mut() else {
                continue;
            };
            let path = peft_module_path(layer, target);
            let (d_in, d_out) = (adapter.a.dims()[0], adapter.b.dims()[1]);
            let mut factor = |name: &str, shape: [usize; 2]| {
                let k = key(&w, &format!("{path}.{name}"));
                let got = w.shape(&k)?;
                if got != shape {
                    return Err(LmError::checkpoint(
                        w.origin(),
                        format!("tensor `{k}`: expected shape {shape:?}, got {got:?}"),
                    ));
                }
                w.matrix(&k, true)
            };
            let a = factor("lora_A", [config.rank, d_in])?;
            let b = factor("lora_B", [d_out, config.rank])?;
            *adapter = LoraAdapter::from_factors(a, b, adapter.scale, adapter.dropout);
        }
    }
    w.check_all_used(|_| false)?;
    Ok(model)
}

/// Adapter slots of a block with their targets.
fn adapter_slots(block: &mut crate::model::Block) -> Vec<(LoraTarget, &mut Option<LoraAdapter>)> {
    let (a, m) = (&mut block.attn, &mut block.mlp);
    vec![
        (LoraTarget::Q, &mut a.q_lora),
        (LoraTarget::K, &mut a.k_lora),
        (LoraTarget::V, &mut a.v_lora),
        (LoraTarget::O, &mut a.o_lora),
        (LoraTarget::Gate, &mut m.gate_lora),
        (LoraTarget::Up, &mut m.up_lora),
        (LoraTarget::Down, &mut m.down_lora),
    ]
}
