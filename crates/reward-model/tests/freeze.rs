//! Freezing the lower layers: gradients reach only the unfrozen parameters, and after an
//! optimizer step (with weight decay) the frozen ones are bit-identical while the others
//! changed.

mod common;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use pref_data::BatchSource;
use reward_model::PairwiseRm;
use reward_model::loss::PairwiseLossConfig;
use train::{AdamWSettings, LrSchedule, TrainMethod, TrainerConfig, train};

use common::*;

/// Every float parameter's values, in visiting order.
#[derive(Default)]
struct Values(Vec<Vec<f32>>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().try_into_vec_as().unwrap());
    }
}

fn values<M: Module>(m: &M) -> Vec<Vec<f32>> {
    let mut v = Values::default();
    m.visit(&mut v);
    v.0
}

/// How many float parameters have / lack a gradient.
struct HasGrad<'a> {
    grads: &'a GradientsParams,
    with: usize,
    without: usize,
}

impl ModuleVisitor for HasGrad<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.grads.get::<D>(param.id).is_some() {
            self.with += 1;
        } else {
            self.without += 1;
        }
    }
}

fn grad_counts<M: Module>(m: &M, grads: &GradientsParams) -> (usize, usize) {
    let mut v = HasGrad {
        grads,
        with: 0,
        without: 0,
    };
    m.visit(&mut v);
    (v.with, v.without)
}

#[test]
fn gradients_reach_only_unfrozen_parameters() {
    let model = tiny_rm(1).freeze_lower(1).unwrap();
    let method = PairwiseRm::new(&PairwiseLossConfig::default()).unwrap();
    let data = pair_batches(8, 3);
    let out = method.step(&model, &data.batch(0, &device())).unwrap();
    let grads = GradientsParams::from_grads(out.loss.backward(), &model);
    let bb = &model.backbone;
    let (with, without) = grad_counts(&bb.embed, &grads);
    assert_eq!((with, without > 0), (0, true), "embedding is frozen");
    let (with, without) = grad_counts(&bb.blocks[0], &grads);
    assert_eq!((with, without > 0), (0, true), "block 0 is frozen");
    let (with, without) = grad_counts(&bb.blocks[1], &grads);
    assert_eq!((with > 0, without), (true, 0), "block 1 trains");
    assert_eq!(grad_counts(&bb.norm, &grads).1, 0, "final norm trains");
    assert_eq!(
        grad_counts(&model.head, &grads),
        (2, 0),
        "head weight and bias train"
    );
}

#[test]
fn frozen_parameters_are_unchanged_after_an_optimizer_step() {
    let model = tiny_rm(2).freeze_lower(1).unwrap();
    let before_embed = values(&model.backbone.embed);
    let before_b0 = values(&model.backbone.blocks[0]);
    let before_b1 = values(&model.backbone.blocks[1]);
    let before_head = values(&model.head);
    let config = TrainerConfig {
        total_steps: 1,
        schedule: LrSchedule::constant(1e-2, 0),
        adamw: AdamWSettings {
            weight_decay: 0.1,
            ..AdamWSettings::default()
        },
        eval_every: 0,
        ..TrainerConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let method = PairwiseRm::new(&PairwiseLossConfig::default()).unwrap();
    let out = train(
        &method,
        model,
        &pair_batches(8, 4),
        None,
        &config,
        dir.path(),
        &device(),
    )
    .unwrap();
    let m = out.model;
    assert_eq!(values(&m.backbone.embed), before_embed, "embedding moved");
    assert_eq!(
        values(&m.backbone.blocks[0]),
        before_b0,
        "frozen block 0 moved"
    );
    let changed = |a: &[Vec<f32>], b: &[Vec<f32>]| a.iter().zip(b).all(|(x, y)| x != y);
    assert!(
        changed(&values(&m.backbone.blocks[1]), &before_b1),
        "every tensor of block 1 moves"
    );
    // The head's weight moves; its bias need not: the Bradley-Terry loss depends on
    // r_chosen − r_rejected only, so the bias's gradient is zero up to rounding.
    let (head, head_before) = (values(&m.head), before_head);
    assert_ne!(head[0], head_before[0], "head weight moves");
}

#[test]
fn freezing_zero_layers_trains_everything() {
    let model = tiny_rm(3).freeze_lower(0).unwrap();
    let method = PairwiseRm::new(&PairwiseLossConfig::default()).unwrap();
    let out = method
        .step(&model, &pair_batches(8, 5).batch(0, &device()))
        .unwrap();
    let grads = GradientsParams::from_grads(out.loss.backward(), &model);
    // Tied embeddings: the output projection is unused by a reward model, but the input
    // embedding receives gradients through the lookup.
    assert_eq!(grad_counts(&model, &grads).1, 0);
}

/// Gemma 3 and the any-family `LanguageModel` freeze the same way: embedding and lower
/// blocks get no gradient, the rest does.
#[test]
fn gemma3_and_language_model_freeze_lower_blocks() {
    use lm::{CausalLm, Gemma3, Gemma3Config, LanguageModel};
    use reward_model::{FreezeLower, RewardModel, ScalarRewardModel};
    let dev = device().autodiff();
    let cfg = Gemma3Config::new(VOCAB, 16, 3, 2, 1, 8, 32).with_max_seq_len(32);
    let gemma = Gemma3::new(&cfg, 1, &dev).unwrap();
    for backbone in [
        LanguageModel::Gemma3(gemma.clone()),
        LanguageModel::Transformer(tiny_rm(1).backbone.clone()),
    ] {
        let n = backbone.num_layers() - 1;
        assert_eq!(n + 1, backbone.blocks().len());
        let rm = ScalarRewardModel::new(backbone, 0, &dev)
            .freeze_lower(n)
            .unwrap();
        let ids = burn::tensor::Tensor::<2, burn::tensor::Int>::from_ints([[1, 5, 7, 2]], &dev);
        let mask = ids.ones_like();
        let grads = GradientsParams::from_grads(rm.score(ids, mask).sum().backward(), &rm);
        let blocks = rm.backbone.blocks();
        for (i, b) in blocks[..n].iter().enumerate() {
            assert_eq!(grad_counts(b, &grads).0, 0, "block {i} is frozen");
        }
        assert_eq!(grad_counts(&blocks[n], &grads).1, 0, "the top block trains");
        assert_eq!(grad_counts(&rm.head, &grads), (2, 0), "head trains");
        assert!(rm.backbone.vocab_size() == VOCAB);
    }
    let frozen = gemma.freeze_lower(3);
    let grads = GradientsParams::from_grads(
        frozen
            .logits(
                burn::tensor::Tensor::from_ints([[1, 5]], &dev),
                burn::tensor::Tensor::from_ints([[1, 1]], &dev),
            )
            .sum()
            .backward(),
        &frozen,
    );
    assert_eq!(
        grad_counts(&frozen.embed, &grads).0,
        0,
        "embedding is frozen"
    );
    assert_eq!(grad_counts(&frozen.norm, &grads).1, 0, "final norm trains");
}
