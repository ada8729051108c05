//! Reward-model training through the shared loop on synthetic preferences: it learns the
//! signal, logs loss / accuracy / margin and plots them, resumes exactly, runs PMP then
//! fine-tuning, and trains on rankings with both K-wise losses.

mod common;

use burn::module::Module;
use reward_model::loss::{
    PairwiseLossConfig, PairwiseLossKind, RankingLossConfig, RankingLossKind,
};
use reward_model::pmp::{FINETUNE_DIR, PMP_DIR};
use reward_model::{
    PairwiseRm, RankedRm, RewardModel, Stage, evaluate_scores, score_pairs, train_pmp_then_finetune,
};
use train::{LrSchedule, MetricRecord, TrainerConfig, evaluate, train};

use common::*;

fn config(total_steps: usize, seed: u64) -> TrainerConfig {
    TrainerConfig {
        total_steps,
        grad_accum: 2,
        schedule: LrSchedule::cosine(3e-3, 2, total_steps, 0.1),
        eval_every: 5,
        save_every: 3,
        keep_checkpoints: 2,
        seed,
        log_every: 1,
        ..TrainerConfig::default()
    }
}

fn held_out_accuracy<M: RewardModel>(model: &M) -> f64 {
    let scores = score_pairs(model, &pair_batches(40, 999), &device());
    evaluate_scores(&scores, 10).unwrap().accuracy
}

fn bits(records: &[MetricRecord]) -> Vec<(usize, String, u64)> {
    records
        .iter()
        .map(|r| (r.step, r.split.clone(), r.get("loss").unwrap().to_bits()))
        .collect()
}

#[test]
fn pairwise_training_learns_the_preference_and_plots_its_metrics() {
    let method = PairwiseRm::new(&PairwiseLossConfig {
        center_rewards_coefficient: 0.01,
        ..PairwiseLossConfig::default()
    })
    .unwrap();
    let model = tiny_rm(11);
    let before = held_out_accuracy(&model.valid());
    let dir = tempfile::tempdir().unwrap();
    let valid = pair_batches(16, 7);
    let out = train(
        &method,
        model,
        &pair_batches(64, 1),
        Some(&valid),
        &config(30, 1),
        dir.path(),
        &device(),
    )
    .unwrap();
    let after = held_out_accuracy(&out.model.valid());
    assert!(after >= 0.95, "held-out accuracy {before} → {after}");
    let last_valid = out.records.iter().rfind(|r| r.split == "valid").unwrap();
    for key in ["loss", "accuracy", "margin", "reward", "centering"] {
        assert!(last_valid.get(key).is_some(), "valid record lacks {key}");
    }
    assert!(last_valid.get("margin").unwrap() > 0.0);
    let png = std::fs::read(dir.path().join(train::PLOT_FILE)).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn soft_labels_train_towards_their_probabilities() {
    // Every pair labelled p = 0.8: the BCE optimum is σ(Δ) = 0.8, so the margin should head
    // for ln 4 ≈ 1.39 rather than grow without bound as with hard labels.
    let mut pairs = pairs(32, 21);
    for p in &mut pairs {
        p.p_chosen = 0.8;
    }
    let data = pref_data::PairBatches::new(
        pairs,
        PAD,
        &batch_config(8, 21, pref_data::PaddingSide::Right),
    )
    .unwrap();
    let method = PairwiseRm::new(&PairwiseLossConfig {
        kind: PairwiseLossKind::SoftLabel,
        use_margin: false,
        center_rewards_coefficient: 0.0,
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainerConfig {
        eval_every: 0,
        ..config(40, 2)
    };
    let out = train(
        &method,
        tiny_rm(5),
        &data,
        None,
        &cfg,
        dir.path(),
        &device(),
    )
    .unwrap();
    let values = evaluate(&method, &out.model.valid(), &data, None, &device()).unwrap();
    let margin = values.iter().find(|v| v.0 == "margin").unwrap().1;
    assert!(
        (margin - 4f64.ln()).abs() < 0.5,
        "mean margin {margin}, optimum ln 4 = {}",
        4f64.ln()
    );
}

#[test]
fn resumed_training_reproduces_the_uninterrupted_run() {
    let method = PairwiseRm::new(&PairwiseLossConfig::default()).unwrap();
    let (data, valid) = (pair_batches(32, 2), pair_batches(8, 3));
    let full_dir = tempfile::tempdir().unwrap();
    let full = train(
        &method,
        tiny_rm(4),
        &data,
        Some(&valid),
        &config(8, 9),
        full_dir.path(),
        &device(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Interrupted after 6 steps (checkpoint at 6), resumed with a differently seeded model.
    let cut = TrainerConfig {
        total_steps: 6,
        ..config(8, 9)
    };
    train(
        &method,
        tiny_rm(4),
        &data,
        Some(&valid),
        &cut,
        dir.path(),
        &device(),
    )
    .unwrap();
    let resumed = train(
        &method,
        tiny_rm(77),
        &data,
        Some(&valid),
        &config(8, 9),
        dir.path(),
        &device(),
    )
    .unwrap();
    assert_eq!(resumed.resumed_from, 6);
    // The cut run also evaluated at its last step (6); training records match bit for bit.
    let train_only = |r: &[MetricRecord]| {
        bits(r)
            .into_iter()
            .filter(|x| x.1 == "train")
            .collect::<Vec<_>>()
    };
    assert_eq!(train_only(&resumed.records), train_only(&full.records));
    assert_eq!(train_only(&full.records).len(), 8);
    let scores = |m: &reward_model::ScalarRewardModel<lm::Transformer>| {
        score_pairs(&m.valid(), &valid, &device())
    };
    assert_eq!(scores(&resumed.model), scores(&full.model));
}

#[test]
fn pmp_then_finetune_chains_two_runs_and_resumes_inside_stage_two() {
    let method = PairwiseRm::new(&PairwiseLossConfig::default()).unwrap();
    let (pmp_data, target, valid) = (
        pair_batches(32, 30),
        pair_batches(16, 31),
        pair_batches(8, 32),
    );
    let stage = |data, steps| Stage {
        method: &method,
        train: data,
        valid: Some(&valid as &dyn pref_data::BatchSource<Batch = _>),
        config: config(steps, 3),
    };
    let dir = tempfile::tempdir().unwrap();
    let out = train_pmp_then_finetune(
        tiny_rm(6),
        stage(&pmp_data, 6),
        stage(&target, 4),
        dir.path(),
        &device(),
    )
    .unwrap();
    assert!(!out.pmp_skipped);
    assert_eq!(
        out.pmp_records
            .iter()
            .filter(|r| r.split == "train")
            .count(),
        6
    );
    assert_eq!(
        out.finetune
            .records
            .iter()
            .filter(|r| r.split == "train")
            .count(),
        4
    );
    assert!(dir.path().join(PMP_DIR).join(train::PLOT_FILE).is_file());
    assert!(
        dir.path()
            .join(FINETUNE_DIR)
            .join(train::PLOT_FILE)
            .is_file()
    );

    // The same two stages by hand give the same model.
    let manual = tempfile::tempdir().unwrap();
    let s1 = train(
        &method,
        tiny_rm(6),
        &pmp_data,
        Some(&valid),
        &config(6, 3),
        &manual.path().join("a"),
        &device(),
    )
    .unwrap();
    let s2 = train(
        &method,
        s1.model,
        &target,
        Some(&valid),
        &config(4, 3),
        &manual.path().join("b"),
        &device(),
    )
    .unwrap();
    let scores = |m: &reward_model::ScalarRewardModel<lm::Transformer>| {
        score_pairs(&m.valid(), &valid, &device())
    };
    assert_eq!(scores(&out.finetune.model), scores(&s2.model));

    // Interrupted inside stage 2 (after 3 of 4 steps), then resumed: stage 1 is skipped and
    // the result is the uninterrupted one.
    let dir2 = tempfile::tempdir().unwrap();
    let mut cut = stage(&target, 4);
    cut.config.total_steps = 3;
    train_pmp_then_finetune(tiny_rm(6), stage(&pmp_data, 6), cut, dir2.path(), &device()).unwrap();
    let resumed = train_pmp_then_finetune(
        tiny_rm(50),
        stage(&pmp_data, 6),
        stage(&target, 4),
        dir2.path(),
        &device(),
    )
    .unwrap();
    assert!(resumed.pmp_skipped);
    assert_eq!(resumed.finetune.resumed_from, 3);
    assert_eq!(resumed.pmp_records.len(), out.pmp_records.len());
    assert_eq!(scores(&resumed.finetune.model), scores(&out.finetune.model));
}

#[test]
fn ranked_training_learns_orderings_with_both_losses() {
    for kind in [
        RankingLossKind::PlackettLuce { top: None },
        RankingLossKind::InstructGptPairs,
    ] {
        let method = RankedRm::new(&RankingLossConfig { kind }).unwrap();
        let (data, valid) = (rankings(32, 3, 40), rankings(12, 3, 41));
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_rm(8);
        let acc = |v: &[(train::MetricName, f64)]| v.iter().find(|x| x.0 == "accuracy").unwrap().1;
        let before = acc(&evaluate(&method, &model.valid(), &valid, None, &device()).unwrap());
        let out = train(
            &method,
            model,
            &data,
            Some(&valid),
            &config(30, 4),
            dir.path(),
            &device(),
        )
        .unwrap();
        let after = acc(&evaluate(&method, &out.model.valid(), &valid, None, &device()).unwrap());
        assert!(after >= 0.9, "{kind:?}: pair accuracy {before} → {after}");
    }
}
