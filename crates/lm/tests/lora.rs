//! LoRA on the shared blocks: only adapters train (base bit-identical after AdamW steps with
//! weight decay), a fresh or disabled adapter leaves the base outputs exactly unchanged,
//! merged = unmerged, PEFT-format files round-trip, and bad requests are errors.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use common::*;
use lm::checkpoint::load_pretrained;
use lm::lora::{
    LoraConfig, LoraInit, LoraModel, LoraTarget, load_peft, read_peft_config, save_peft,
};
use lm::{CausalLm, LanguageModel, Transformer};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load(name: &str, dev: &Device) -> LanguageModel {
    load_pretrained(&fixture(name), dev).unwrap().model
}

const IDS: [[i64; 8]; 2] = [[3, 17, 9, 44, 101, 5, 60, 2], [0, 0, 8, 21, 77, 90, 2, 11]];
const MASK: [[i64; 8]; 2] = [[1; 8], [0, 0, 1, 1, 1, 1, 1, 1]];

fn logits<M: CausalLm>(m: &M, dev: &Device) -> Vec<f32> {
    let v = m.vocab_size() as i64;
    let ids: Vec<Vec<i64>> = IDS
        .iter()
        .map(|r| r.iter().map(|x| x % v).collect())
        .collect();
    let mask: Vec<Vec<i64>> = MASK.iter().map(|r| r.to_vec()).collect();
    floats(m.logits(ints(&ids, dev), ints(&mask, dev)))
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Every float parameter's bits by id.
#[derive(Default)]
struct Snapshot(HashMap<ParamId, Vec<u32>>);

impl ModuleVisitor for Snapshot {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let v: Vec<f32> = param.val().try_into_vec_as().unwrap();
        self.0.insert(param.id, bits(&v));
    }
}

fn snapshot<M: Module>(m: &M) -> HashMap<ParamId, Vec<u32>> {
    let mut s = Snapshot::default();
    m.visit(&mut s);
    s.0
}

fn adapter_ids<M: LoraModel>(m: &M) -> Vec<ParamId> {
    m.lora_adapters()
        .iter()
        .flat_map(|(_, _, a)| [a.a.id, a.b.id])
        .collect()
}

/// One next-token cross-entropy step with AdamW (weight decay 0.1).
fn train_steps(mut m: LanguageModel, steps: usize, dev: &Device) -> LanguageModel {
    let mut optim = AdamWConfig::new()
        .with_weight_decay(0.1)
        .with_epsilon(1e-8)
        .init();
    for _ in 0..steps {
        let ids: Vec<Vec<i64>> = IDS.iter().map(|r| r.to_vec()).collect();
        let mask: Vec<Vec<i64>> = MASK.iter().map(|r| r.to_vec()).collect();
        let loss = -m.token_logprobs(ints(&ids, dev), ints(&mask, dev)).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        m = optim.step(1e-2, m, grads);
    }
    m
}

#[test]
fn only_adapters_train_and_the_base_stays_bit_identical() {
    let dev = device().autodiff();
    for name in ["families/qwen2-tiny", "gemma3-tiny"] {
        let base = load(name, &dev);
        let cfg = LoraConfig::new(4, 8.0).with_all_targets().with_seed(3);
        let m = base.with_lora(&cfg).unwrap();
        let before = snapshot(&m);
        let adapters = adapter_ids(&m);
        let n_blocks = m.lora_blocks().len();
        assert_eq!(adapters.len(), 2 * 7 * n_blocks, "{name}");

        // Gradients reach the adapters only.
        let ids: Vec<Vec<i64>> = IDS.iter().map(|r| r.to_vec()).collect();
        let mask: Vec<Vec<i64>> = MASK.iter().map(|r| r.to_vec()).collect();
        let loss = -m.token_logprobs(ints(&ids, &dev), ints(&mask, &dev)).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        assert_eq!(
            grads.len(),
            adapters.len(),
            "{name}: gradients beyond the adapters"
        );

        let trained = train_steps(m, 3, &dev);
        let after = snapshot(&trained);
        assert_eq!(before.len(), after.len());
        for (id, v) in &before {
            if adapters.contains(id) {
                assert_ne!(&after[id], v, "{name}: adapter {id} did not move");
            } else {
                assert_eq!(&after[id], v, "{name}: base parameter {id} moved");
            }
        }
    }
}

#[test]
fn fresh_and_disabled_adapters_give_the_base_outputs_exactly() {
    let dev = device();
    let base = load("families/llama3-tiny", &dev);
    let want = bits(&logits(&base, &dev));
    let fresh = base
        .clone()
        .with_lora(&LoraConfig::new(8, 16.0).with_all_targets())
        .unwrap();
    assert_eq!(
        bits(&logits(&fresh, &dev)),
        want,
        "B = 0 leaves outputs unchanged"
    );
    let random = base
        .with_lora(&LoraConfig::new(8, 16.0).with_init(LoraInit::Random))
        .unwrap();
    assert_ne!(bits(&logits(&random, &dev)), want);
    let off = random.clone().with_lora_enabled(false);
    assert_eq!(bits(&logits(&off, &dev)), want, "disabled");
    assert_eq!(bits(&logits(&random.clone().without_lora(), &dev)), want);
    let on = off.with_lora_enabled(true);
    assert_eq!(bits(&logits(&on, &dev)), bits(&logits(&random, &dev)));
}

/// The reference of a LoRA policy is `policy.valid().with_lora_enabled(false)`: after
/// training it still computes the initial model's outputs.
#[test]
fn reference_is_the_adapter_free_base_after_training() {
    let dev = device().autodiff();
    let base = load("families/mistral-tiny", &dev);
    let want = bits(&logits(&base.valid(), &device()));
    let policy = base
        .with_lora(&LoraConfig::new(2, 4.0).with_all_targets())
        .unwrap();
    let policy = train_steps(policy, 2, &dev);
    let reference = policy.valid().with_lora_enabled(false);
    assert_eq!(bits(&logits(&reference, &device())), want);
    assert_ne!(bits(&logits(&policy.valid(), &device())), want);
}

#[test]
fn merged_equals_unmerged_after_training() {
    let dev = device().autodiff();
    for name in ["families/qwen3-tiny", "gemma3-tiny"] {
        let policy = load(name, &dev)
            .with_lora(
                &LoraConfig::new(4, 16.0)
                    .with_all_targets()
                    .with_rslora(true),
            )
            .unwrap();
        let policy = train_steps(policy, 2, &dev).valid();
        let unmerged = logits(&policy, &device());
        let merged = policy.merge_lora();
        assert!(merged.lora_config().is_none() && merged.lora_adapters().is_empty());
        let d = max_diff(&logits(&merged, &device()), &unmerged);
        assert!(d < 1e-4, "{name}: merged differs by {d}");
    }
}

#[test]
fn dropout_acts_only_while_training() {
    let dev = device();
    let cfg = LoraConfig::new(4, 8.0)
        .with_init(LoraInit::Random)
        .with_dropout(0.5);
    let m = load("families/smollm-tiny", &dev).with_lora(&cfg).unwrap();
    let no_dropout = load("families/smollm-tiny", &dev)
        .with_lora(&LoraConfig {
            dropout: 0.0,
            ..cfg
        })
        .unwrap();
    assert_eq!(bits(&logits(&m, &dev)), bits(&logits(&no_dropout, &dev)));
    let ad = dev.autodiff();
    let train = m.fork(&ad);
    let (a, b) = (logits(&train, &ad), logits(&train, &ad));
    assert_ne!(bits(&a), bits(&b), "dropout draws differ between passes");
}

#[test]
fn initialisations_follow_peft() {
    let dev = device();
    let m = load("families/llama3-tiny", &dev);
    let kaiming = m.clone().with_lora(&LoraConfig::new(4, 8.0)).unwrap();
    for (_, _, a) in kaiming.lora_adapters() {
        let d_in = a.a.dims()[0] as f32;
        let av: Vec<f32> = a.a.val().try_into_vec_as().unwrap();
        assert!(av.iter().all(|x| x.abs() <= 1.0 / d_in.sqrt()));
        assert!(av.iter().any(|x| x.abs() > 0.5 / d_in.sqrt()));
        let bv: Vec<f32> = a.b.val().try_into_vec_as().unwrap();
        assert!(bv.iter().all(|&x| x == 0.0));
        assert_eq!(a.scale, 2.0);
    }
    let gauss = m
        .with_lora(
            &LoraConfig::new(4, 8.0)
                .with_init(LoraInit::Gaussian)
                .with_rslora(true),
        )
        .unwrap();
    let all: Vec<f32> = gauss
        .lora_adapters()
        .iter()
        .flat_map(|(_, _, a)| a.a.val().try_into_vec_as::<f32>().unwrap())
        .collect();
    let std = (all.iter().map(|x| x * x).sum::<f32>() / all.len() as f32).sqrt();
    assert!((std - 0.25).abs() < 0.03, "std {std}, expected 1/r = 0.25");
    assert_eq!(gauss.lora_adapters()[0].2.scale, 4.0, "rsLoRA: alpha / √r");
}

#[test]
fn targets_and_layers_select_the_projections() {
    let dev = device();
    let cfg = LoraConfig::new(2, 2.0)
        .with_targets(&[LoraTarget::K, LoraTarget::Down])
        .with_layers(Some(vec![1]));
    let m = load("families/qwen2-tiny", &dev).with_lora(&cfg).unwrap();
    let sites: Vec<(usize, LoraTarget)> =
        m.lora_adapters().iter().map(|(l, t, _)| (*l, *t)).collect();
    assert_eq!(sites, vec![(1, LoraTarget::K), (1, LoraTarget::Down)]);
    assert_eq!(m.num_lora_params(), 2 * (32 + 16) + 2 * (64 + 32));
}

#[test]
fn bad_requests_are_errors() {
    let dev = device();
    let gpt2 = Transformer::new(&tiny_gpt2(), 0, &dev).unwrap();
    let err = gpt2
        .clone()
        .with_lora(&LoraConfig::new(2, 2.0).with_targets(&[LoraTarget::Gate]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("gate_proj"), "{err}");
    let gpt2 = gpt2.with_lora(&LoraConfig::new(2, 2.0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(
        save_peft(&gpt2, dir.path(), None)
            .unwrap_err()
            .to_string()
            .contains("GPT-2")
    );
    assert!(
        gpt2.with_lora(&LoraConfig::new(2, 2.0))
            .unwrap_err()
            .to_string()
            .contains("already")
    );
    let m = load("families/qwen3-tiny", &dev);
    let err = m
        .clone()
        .with_lora(&LoraConfig::new(2, 2.0).with_layers(Some(vec![5])))
        .unwrap_err()
        .to_string();
    assert!(err.contains("lora.layers") && err.contains('5'), "{err}");
    assert!(
        m.with_lora(&LoraConfig::new(0, 2.0))
            .unwrap_err()
            .to_string()
            .contains("lora.rank")
    );
}

#[test]
fn peft_files_round_trip() {
    let dev = device();
    for name in ["families/qwen2-sharded-bf16", "gemma3-tiny"] {
        let cfg = LoraConfig::new(3, 5.0)
            .with_targets(&[LoraTarget::Q, LoraTarget::O, LoraTarget::Up])
            .with_init(LoraInit::Random)
            .with_dropout(0.1)
            .with_layers(Some(vec![0]))
            .with_seed(11);
        let m = load(name, &dev).with_lora(&cfg).unwrap();
        let dir = tempfile::tempdir().unwrap();
        save_peft(&m, dir.path(), Some(name)).unwrap();
        let read = read_peft_config(dir.path()).unwrap();
        assert_eq!(LoraConfig { seed: 11, ..read }, cfg);
        let back = load_peft(load(name, &dev), dir.path()).unwrap();
        assert_eq!(
            bits(&logits(&back, &dev)),
            bits(&logits(&m, &dev)),
            "{name}"
        );
    }
}

#[test]
fn unsupported_peft_configs_name_the_field() {
    let dev = device();
    let m = load("families/llama3-tiny", &dev)
        .with_lora(&LoraConfig::new(2, 2.0))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    save_peft(&m, dir.path(), None).unwrap();
    let path = dir.path().join("adapter_config.json");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (key, value, expect) in [
        ("use_dora", serde_json::json!(true), "use_dora"),
        (
            "target_modules",
            serde_json::json!(".*q_proj"),
            "regular expressions",
        ),
        ("target_modules", serde_json::json!(["lm_head"]), "lm_head"),
        (
            "modules_to_save",
            serde_json::json!(["score"]),
            "modules_to_save",
        ),
        ("init_lora_weights", serde_json::json!("pissa"), "pissa"),
        ("peft_type", serde_json::json!("IA3"), "IA3"),
    ] {
        let mut v = original.clone();
        v[key] = value;
        std::fs::write(&path, v.to_string()).unwrap();
        let err = load_peft(load("families/llama3-tiny", &dev), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(expect) && err.contains("adapter_config.json"),
            "{err}"
        );
    }
}

fn tiny() -> lm::TransformerConfig {
    let mut c = tiny_llama();
    c.qkv_bias = true;
    c.qk_norm = true;
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// For any rank, scale, targets and seed, merging changes the outputs by float rounding
    /// only.
    #[test]
    fn merge_preserves_outputs(
        rank in 1usize..6,
        alpha in 0.5f64..32.0,
        mask in 1u8..128,
        seed in 0u64..1000,
        rslora in any::<bool>(),
    ) {
        let dev = device();
        let targets: Vec<LoraTarget> = LoraTarget::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, t)| t)
            .collect();
        let cfg = LoraConfig::new(rank, alpha)
            .with_targets(&targets)
            .with_init(LoraInit::Random)
            .with_rslora(rslora)
            .with_seed(seed);
        let m = model(&tiny(), seed, &dev).with_lora(&cfg).unwrap();
        let unmerged = logits(&m, &dev);
        let merged = logits(&m.merge_lora(), &dev);
        let scale = unmerged.iter().fold(1.0f32, |a, x| a.max(x.abs()));
        prop_assert!(max_diff(&merged, &unmerged) < 1e-5 * scale.max(1.0) * 10.0);
    }
}
