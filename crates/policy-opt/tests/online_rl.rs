//! The online loop end to end on a tiny model: PPO raises a programmatic reward; a large β
//! holds the KL near zero while β = 0 drifts; every algorithm runs; resume is exact; a NaN
//! reward stops the run keeping the last checkpoint; the divergence guard stops or clips.

use std::sync::OnceLock;

use burn::module::Module;
use burn::tensor::Device;
use kl_control::{FixedKlConfig, KlControllerConfig};
use lm::tokenizer::{SpecialTokens, Tokenizer};
use lm::{Transformer, TransformerConfig};
use policy_opt::online::{
    ActorCritic, Algorithm, GrpoConfig, OnDivergence, OnlineConfig, OnlineError, OnlineInputs,
    PpoConfig, ReinforcePpConfig, RlooConfig, evaluate_policy, train_online,
};
use policy_opt::rollout::{OldLogprobs, RolloutConfig, RolloutPrompt};
use rlhf_core::{FnReward, Sample};

fn device() -> Device {
    lm::select_device().unwrap()
}

fn tokenizer() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        let corpus = (0..200).map(|i| format!("the cat {i} sat on the mat and said hello {i}"));
        Tokenizer::train_bpe_from_iter(corpus, 300, &SpecialTokens::default(), 1).unwrap()
    })
}

fn prompts(n: usize) -> Vec<RolloutPrompt> {
    let tok = tokenizer();
    (0..n)
        .map(|i| {
            let text = format!("the cat {i} said");
            let ids = tok.encode(&text, true, false).unwrap();
            RolloutPrompt {
                text,
                ids,
                item: Default::default(),
            }
        })
        .collect()
}

fn policy(seed: u64) -> Transformer {
    let config =
        TransformerConfig::llama(tokenizer().vocab_size(), 32, 1, 2, 1, 64).with_max_seq_len(64);
    Transformer::new(&config, seed, &device().autodiff()).unwrap()
}

/// Fraction of completion tokens in the lower half of the vocabulary: about ½ for a random
/// policy, 1 for one that learned to avoid the upper half.
fn low_half(s: &Sample) -> f32 {
    let v = tokenizer().vocab_size() as u32;
    let n = s.completion_ids.len().max(1) as f32;
    s.completion_ids.iter().filter(|&&t| t < v / 2).count() as f32 / n
}

fn rollout(samples: usize) -> RolloutConfig {
    RolloutConfig {
        prompts_per_iteration: 8,
        samples_per_prompt: samples,
        max_new_tokens: 6,
        stop_token_ids: vec![u32::MAX],
        ..RolloutConfig::default()
    }
}

fn base(algorithm: Algorithm, samples: usize, iterations: usize) -> OnlineConfig {
    OnlineConfig {
        algorithm,
        rollout: rollout(samples),
        iterations,
        lr: 1e-2,
        lr_decay: policy_opt::online::LrDecay::Constant,
        save_every: 2,
        ..OnlineConfig::default()
    }
}

fn ppo(beta: f64, epochs: usize) -> Algorithm {
    Algorithm::Ppo(PpoConfig {
        kl: KlControllerConfig::Fixed(FixedKlConfig::new(beta)),
        epochs,
        ..PpoConfig::default()
    })
}

fn mean_reward(model: &Transformer, reference: Option<&Transformer>, seed: u64) -> (f64, f64) {
    let mut reward = FnReward::new("low_half", low_half);
    let e = evaluate_policy(
        &model.valid(),
        reference.map(|r| r as &dyn lm::CausalLm),
        &mut reward,
        &prompts(16),
        &RolloutConfig {
            samples_per_prompt: 4,
            ..rollout(4)
        },
        tokenizer(),
        seed,
        &device(),
    )
    .unwrap();
    (e.summary.reward_mean, e.summary.kl.unwrap_or(0.0))
}

fn run(
    config: &OnlineConfig,
    model: ActorCritic<Transformer>,
    reference: Option<&Transformer>,
    dir: &std::path::Path,
) -> Result<policy_opt::online::OnlineOutcome<ActorCritic<Transformer>>, OnlineError> {
    let mut reward = FnReward::new("low_half", low_half);
    let prompts = prompts(16);
    train_online(
        model,
        OnlineInputs {
            reference: reference.map(|r| r as &dyn lm::CausalLm),
            reward: &mut reward,
            prompts: &prompts,
            eval_prompts: &[],
            eval_reward: None,
            tokenizer: tokenizer(),
        },
        config,
        dir,
        &device(),
    )
}

#[test]
fn ppo_raises_a_programmatic_reward_within_a_few_iterations() {
    let dev = device().autodiff();
    let reference = policy(1).valid();
    let (before, _) = mean_reward(&reference, None, 99);
    let dir = tempfile::tempdir().unwrap();
    let model = ActorCritic::<Transformer>::with_value_head(policy(1), 7, &dev);
    let out = run(
        &base(ppo(0.01, 4), 1, 15),
        model,
        Some(&reference),
        dir.path(),
    )
    .unwrap();
    let (after, kl) = mean_reward(&out.model.policy.valid(), Some(&reference), 99);
    assert!(
        after > before + 0.25,
        "PPO should raise the reward: {before:.3} → {after:.3} (KL {kl:.3})"
    );
    let train: Vec<_> = out.records.iter().filter(|r| r.split == "train").collect();
    assert_eq!(train.len(), 15);
    for key in [
        "reward",
        "kl",
        "beta",
        "entropy",
        "loss/policy",
        "loss/value",
        "eos_rate",
    ] {
        assert!(
            train[0].get(key).is_some_and(f64::is_finite),
            "{key} logged"
        );
    }
    assert!(dir.path().join("curves.png").is_file());
}

#[test]
fn large_beta_holds_the_kl_while_zero_beta_drifts() {
    let dev = device().autodiff();
    let reference = policy(2).valid();
    let mut kls = Vec::new();
    for beta in [0.0, 5.0] {
        let dir = tempfile::tempdir().unwrap();
        let model = ActorCritic::<Transformer>::with_value_head(policy(2), 7, &dev);
        let out = run(
            &base(ppo(beta, 4), 1, 15),
            model,
            Some(&reference),
            dir.path(),
        )
        .unwrap();
        kls.push(mean_reward(&out.model.policy.valid(), Some(&reference), 5).1);
    }
    assert!(
        kls[0] > 2.0 && kls[1] < 0.15 * kls[0],
        "KL per completion: β = 0 → {:.3}, β = 5 → {:.3}",
        kls[0],
        kls[1]
    );
}

#[test]
fn every_algorithm_runs_and_the_first_ratio_is_one() {
    let dev = device().autodiff();
    let reference = policy(3).valid();
    let algorithms = [
        (ppo(0.05, 1), 1),
        (
            Algorithm::Grpo(GrpoConfig {
                beta: 0.04,
                ..GrpoConfig::default()
            }),
            4,
        ),
        (Algorithm::Rloo(RlooConfig::default()), 4),
        (Algorithm::ReinforcePp(ReinforcePpConfig::default()), 1),
        (
            Algorithm::ReinforcePp(ReinforcePpConfig {
                baseline: true,
                ..ReinforcePpConfig::default()
            }),
            4,
        ),
    ];
    for (algorithm, g) in algorithms {
        let name = algorithm.name();
        let model = match algorithm {
            Algorithm::Ppo(_) => ActorCritic::<Transformer>::with_value_head(policy(3), 7, &dev),
            _ => ActorCritic::<Transformer>::policy_only(policy(3)),
        };
        let dir = tempfile::tempdir().unwrap();
        let out = run(&base(algorithm, g, 2), model, Some(&reference), dir.path())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let first = out.records.iter().find(|r| r.split == "train").unwrap();
        // One epoch of one minibatch: the update starts from the sampling policy itself.
        assert!(
            (first.get("policy/ratio_mean").unwrap() - 1.0).abs() < 1e-5,
            "{name}: {first:?}"
        );
        assert!(first.get("policy/approx_kl").unwrap() < 1e-8, "{name}");
        // GRPO's single update per rollout needs no scoring pass (its old log-probs are the
        // updated policy's own); the others measure the sampler's gap to the scoring pass.
        match first.get("sampler_gap") {
            Some(gap) => assert!(gap < 1e-3, "{name}: sampler gap {gap}"),
            None => assert_eq!(name, "grpo", "only GRPO skips the scoring pass here"),
        }
        for r in out.records.iter() {
            for (k, v) in &r.values {
                assert!(v.is_finite(), "{name}: {k} = {v}");
            }
        }
    }
}

#[test]
fn grpo_raises_the_reward_too() {
    let reference = policy(4).valid();
    let (before, _) = mean_reward(&reference, None, 98);
    let dir = tempfile::tempdir().unwrap();
    let model = ActorCritic::<Transformer>::policy_only(policy(4));
    let out = run(
        &base(Algorithm::Grpo(GrpoConfig::default()), 4, 20),
        model,
        None,
        dir.path(),
    )
    .unwrap();
    let (after, _) = mean_reward(&out.model.policy.valid(), None, 98);
    assert!(after > before + 0.2, "GRPO: {before:.3} → {after:.3}");
}

#[test]
fn resume_reproduces_the_uninterrupted_run() {
    let dev = device().autodiff();
    let reference = policy(5).valid();
    let config = base(ppo(0.05, 2), 1, 4);
    let straight = tempfile::tempdir().unwrap();
    let a = run(
        &config,
        ActorCritic::<Transformer>::with_value_head(policy(5), 7, &dev),
        Some(&reference),
        straight.path(),
    )
    .unwrap();
    // Interrupt a run after its checkpoint at iteration 2 (a reward that turns NaN in
    // iteration 3), then resume it.
    let split = tempfile::tempdir().unwrap();
    let stop_after_two = {
        let mut calls = 0;
        move |s: &Sample| {
            calls += 1;
            if calls > 16 { f32::NAN } else { low_half(s) }
        }
    };
    let mut reward = FnReward::new("low_half", stop_after_two);
    let p = prompts(16);
    let e = train_online(
        ActorCritic::<Transformer>::with_value_head(policy(5), 7, &dev),
        OnlineInputs {
            reference: Some(&reference),
            reward: &mut reward,
            prompts: &p,
            eval_prompts: &[],
            eval_reward: None,
            tokenizer: tokenizer(),
        },
        &config,
        split.path(),
        &device(),
    );
    assert!(
        e.is_err(),
        "the poisoned reward stops the run at iteration 3"
    );
    // Resume with a fresh model of another seed: the checkpoint supplies everything.
    let b = run(
        &config,
        ActorCritic::<Transformer>::with_value_head(policy(55), 7, &dev),
        Some(&reference),
        split.path(),
    )
    .unwrap();
    assert_eq!(b.resumed_from, 2);
    let bits = |o: &policy_opt::online::OnlineOutcome<ActorCritic<Transformer>>| {
        o.records
            .iter()
            .map(|r| {
                r.values
                    .iter()
                    .filter(|(k, _)| !k.starts_with("time/"))
                    .map(|(k, v)| (k.clone(), v.to_bits()))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&a), bits(&b));
    let w = |m: &ActorCritic<Transformer>| {
        m.policy.blocks[0]
            .attn
            .q
            .weight
            .val()
            .try_into_vec_as::<f32>()
            .unwrap()
    };
    assert_eq!(w(&a.model), w(&b.model));
}

#[test]
fn a_nan_reward_stops_the_run_and_keeps_the_last_checkpoint() {
    let dev = device().autodiff();
    let reference = policy(6).valid();
    let mut calls = 0;
    let mut reward = FnReward::new("flaky", move |s: &Sample| {
        calls += 1;
        if calls == 8 * 2 + 3 {
            f32::NAN
        } else {
            low_half(s)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let p = prompts(16);
    let e = train_online(
        ActorCritic::<Transformer>::with_value_head(policy(6), 7, &dev),
        OnlineInputs {
            reference: Some(&reference),
            reward: &mut reward,
            prompts: &p,
            eval_prompts: &[],
            eval_reward: None,
            tokenizer: tokenizer(),
        },
        &base(ppo(0.05, 1), 1, 4),
        dir.path(),
        &device(),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("iteration 3") && msg.contains("flaky") && msg.contains("sample 2"),
        "{msg}"
    );
    let ckpts = train::list_checkpoints(dir.path()).unwrap();
    assert_eq!(
        ckpts.last().map(|c| c.0),
        Some(2),
        "the checkpoint after iteration 2 stays"
    );
}

#[test]
fn the_divergence_guard_stops_or_clips() {
    let dev = device().autodiff();
    let mut config = base(ppo(0.0, 3), 1, 1);
    config.rollout.old_logprobs = OldLogprobs::Sampler;
    config.max_log_ratio = 1e-7;
    let dir = tempfile::tempdir().unwrap();
    let model = ActorCritic::<Transformer>::with_value_head(policy(8), 7, &dev);
    let e = run(&config, model, None, dir.path()).unwrap_err();
    assert!(
        matches!(e, OnlineError::Diverged { iteration: 1, .. }),
        "{e}"
    );
    config.on_divergence = OnDivergence::Clip;
    let dir = tempfile::tempdir().unwrap();
    let model = ActorCritic::<Transformer>::with_value_head(policy(8), 7, &dev);
    run(&config, model, None, dir.path()).unwrap();
}

#[test]
fn bad_settings_are_refused_before_any_work() {
    let dev = device().autodiff();
    let e = run(
        &base(Algorithm::Grpo(GrpoConfig::default()), 1, 1),
        ActorCritic::<Transformer>::policy_only(policy(9)),
        None,
        tempfile::tempdir().unwrap().path(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("samples_per_prompt"), "{e}");
    let e = run(
        &base(ppo(0.1, 1), 1, 1),
        ActorCritic::<Transformer>::with_value_head(policy(9), 1, &dev),
        None,
        tempfile::tempdir().unwrap().path(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("reference"), "{e}");
    let e = run(
        &base(ppo(0.0, 1), 1, 1),
        ActorCritic::<Transformer>::policy_only(policy(9)),
        None,
        tempfile::tempdir().unwrap().path(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("value function"), "{e}");
}

/// PPO with the critic initialised from a reward model and fine-grained rewards: an
/// ensemble of two reward models, one per sentence-like segment (dense), one per sequence.
#[test]
fn ppo_with_a_critic_and_dense_segment_rewards() {
    use reward_model::{Granularity, RewardComponent, RewardEnsemble, ScalarRewardModel};
    let dev = device().autodiff();
    let plain = device();
    let reference = policy(10).valid();
    let rm_a = ScalarRewardModel::new(
        Transformer::new(
            &TransformerConfig::llama(tokenizer().vocab_size(), 32, 1, 2, 1, 64)
                .with_max_seq_len(64),
            11,
            &plain,
        )
        .unwrap(),
        1,
        &plain,
    );
    let rm_b = ScalarRewardModel::new(
        Transformer::new(
            &TransformerConfig::llama(tokenizer().vocab_size(), 32, 1, 2, 1, 64)
                .with_max_seq_len(64),
            12,
            &plain,
        )
        .unwrap(),
        2,
        &plain,
    );
    let boundary = tokenizer().encode(" ", false, false).unwrap();
    let mut ensemble = RewardEnsemble::new(vec![
        RewardComponent {
            name: "segments".into(),
            model: &rm_a,
            weight: 0.5,
            granularity: Granularity::Segments {
                boundary_ids: boundary,
            },
        },
        RewardComponent {
            name: "whole".into(),
            model: &rm_b,
            weight: 1.0,
            granularity: Granularity::Sequence,
        },
    ])
    .unwrap();
    let critic = ScalarRewardModel::new(policy(12), 2, &dev);
    let model = ActorCritic::with_critic(policy(10), critic);
    let dir = tempfile::tempdir().unwrap();
    let p = prompts(16);
    let out = train_online(
        model,
        OnlineInputs {
            reference: Some(&reference),
            reward: &mut ensemble,
            prompts: &p,
            eval_prompts: &p[..4],
            eval_reward: None,
            tokenizer: tokenizer(),
        },
        &OnlineConfig {
            eval_every: 1,
            ..base(ppo(0.05, 2), 1, 2)
        },
        dir.path(),
        &device(),
    )
    .unwrap();
    let train: Vec<_> = out.records.iter().filter(|r| r.split == "train").collect();
    assert_eq!(train.len(), 2);
    for key in [
        "reward/segments",
        "reward/whole",
        "loss/value",
        "value/clip_frac",
    ] {
        assert!(train[1].get(key).is_some_and(f64::is_finite), "{key}");
    }
    assert_eq!(out.records.iter().filter(|r| r.split == "valid").count(), 2);
}

/// Two samples per prompt ranked by a reward: the higher score is chosen; ties are counted.
#[test]
fn ranked_pairs_put_the_higher_score_first_and_count_ties() {
    use policy_opt::rollout::sample_ranked_pairs;
    let p = prompts(12);
    let refs: Vec<&RolloutPrompt> = p.iter().collect();
    let mut reward = FnReward::new("low_half", low_half);
    let model = policy(13).valid();
    let (pairs, ties) = sample_ranked_pairs(
        &model,
        &refs,
        &rollout(1),
        tokenizer(),
        &mut reward,
        3,
        &device(),
    )
    .unwrap();
    assert_eq!(pairs.len() + ties, 12);
    assert!(!pairs.is_empty());
    for pair in &pairs {
        assert!(pair.scores.0 > pair.scores.1, "{pair:?}");
        assert!(p.iter().any(|q| q.text == pair.prompt));
    }
}
