//! The online methods from TOML files: PPO with a critic and a reward model from
//! `rlhf reward`, resumed and evaluated; RFT with a grader file; the command's defaults under
//! a partial file; a mismatched algorithm named with its line.

mod common;

use common::{device, lit, model_folder, pairs_file, write};
use lm::checkpoint::load_bundle;
use reward_model::RewardRunConfig;
use rlhf_cli::{GrpoCommand, PpoCommand, RftCommand, RlooCommand, load};

const ROLLOUT: &str = "[train.rollout]\nprompts_per_iteration = 4\nmax_new_tokens = 6\n";

#[test]
fn ppo_with_a_critic_from_the_reward_model_trains_resumes_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = pairs_file(dir.path());
    let model = model_folder(dir.path());
    let rm_out = dir.path().join("rm");
    let rm = RewardRunConfig {
        out: rm_out.clone(),
        model: model.clone(),
        data: pref_data::PairDataConfig {
            path: pairs.clone(),
            ..Default::default()
        },
        train: train::TrainingConfig {
            steps: 2,
            batch_size: 4,
            ..Default::default()
        },
        ..Default::default()
    };
    reward_model::run(&rm, &device()).unwrap();
    let out = dir.path().join("ppo");
    let file = write(
        dir.path(),
        "ppo.toml",
        &format!(
            "out = {}\nmodel = {}\ncritic = {}\neval_prompts = 3\n[prompts]\npath = {}\n\
             format = \"pairwise\"\nvalid_fraction = 0.3\n[reward]\npath = {}\n\
             [train]\niterations = 2\nsave_every = 1\nlr = 1e-4\n{ROLLOUT}",
            lit(&out),
            lit(&model),
            lit(&rm_out.join("model")),
            lit(&pairs),
            lit(&rm_out.join("model"))
        ),
    );
    let loaded = load::<PpoCommand>(Some(&file), &[]).unwrap();
    loaded.validate().unwrap();
    let config = &loaded.config.0;
    assert_eq!(
        config.train.algorithm.name(),
        "ppo",
        "the command's default"
    );
    assert_eq!(config.train.rollout.samples_per_prompt, 1);
    let report = policy_opt::online::run(config, &device()).unwrap();
    assert_eq!((report.iterations, report.resumed_from), (2, 0));
    assert_eq!(report.algorithm, "ppo");
    assert_eq!(report.eval_prompts, 3);
    assert!(report.train_prompts >= 10, "{report:?}");
    let (before, after) = (
        report.before.clone().unwrap(),
        report.after.clone().unwrap(),
    );
    assert_eq!(before.kl, Some(0.0), "the reference is the starting policy");
    assert!(after.kl.unwrap().is_finite() && after.reward_mean.is_finite());
    assert_eq!(report.final_beta, Some(0.05));
    assert_eq!(report.samples.len(), 3);
    let curve = report.kl_reward_curve();
    assert_eq!(curve.len(), report.eval_curve.len() + 1);
    assert_eq!(
        curve[0],
        (0.0, before.reward_mean),
        "starts before training"
    );
    for f in ["metrics.jsonl", "curves.png", "report.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    load_bundle(&out.join("model"), &device()).unwrap();

    // One more iteration from the same folder resumes after iteration 2.
    let more = load::<PpoCommand>(Some(&file), &["train.iterations=3".into()]).unwrap();
    let report = policy_opt::online::run(&more.config.0, &device()).unwrap();
    assert_eq!((report.iterations, report.resumed_from), (3, 2));

    // The saved policy evaluated as eval-policy does: the same figures as the run's "after".
    let eval =
        policy_opt::online::evaluate_run(&more.config.0, &out.join("model"), &device()).unwrap();
    assert_eq!(eval.samples_only().len(), eval.samples.len());
    let after = report.after.unwrap();
    approx::assert_relative_eq!(eval.summary.reward_mean, after.reward_mean, epsilon = 1e-4);
    approx::assert_relative_eq!(eval.summary.kl.unwrap(), after.kl.unwrap(), epsilon = 1e-3);
}

#[test]
fn rft_rewards_a_grader_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_folder(dir.path());
    let rows: Vec<String> = (0..24)
        .map(|i| {
            let (a, b) = (i % 7, i / 7 + 1);
            format!(
                "{{\"messages\": [{{\"role\": \"user\", \"content\": \"what is {a} plus {b}?\"}}], \
                 \"reference_answer\": \"{}\"}}",
                a + b
            )
        })
        .collect();
    let data = write(dir.path(), "rft.jsonl", &(rows.join("\n") + "\n"));
    let graders = write(
        dir.path(),
        "graders.toml",
        "type = \"string_check\"\nname = \"exact\"\ninput = \"{{ sample.output_text }}\"\n\
         reference = \"{{ item.reference_answer }}\"\noperation = \"like\"\n",
    );
    let out = dir.path().join("rft");
    let file = write(
        dir.path(),
        "rft.toml",
        &format!(
            "out = {}\nmodel = {}\neval_prompts = 2\neval_samples_per_prompt = 2\n\
             [prompts]\npath = {}\nvalid_fraction = 0.2\n[reward]\npath = {}\n\
             [train]\niterations = 2\nlr = 1e-4\n{ROLLOUT}samples_per_prompt = 3\n",
            lit(&out),
            lit(&model),
            lit(&data),
            lit(&graders)
        ),
    );
    let loaded = load::<RftCommand>(Some(&file), &[]).unwrap();
    loaded.validate().unwrap();
    let config = &loaded.config.0;
    assert_eq!(config.prompts.format, pref_data::PromptFormat::Rft);
    let report = policy_opt::online::run(config, &device()).unwrap();
    assert_eq!(report.algorithm, "grpo");
    let after = report.after.unwrap();
    assert!((0.0..=1.0).contains(&after.reward_mean), "{after:?}");
    assert!(report.before.unwrap().kl.is_some());
    assert!(out.join("metrics.jsonl").is_file());
}

#[test]
fn a_file_keeps_the_command_defaults_and_a_wrong_algorithm_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let partial = write(dir.path(), "a.toml", "[train]\niterations = 3\n");
    let ppo = load::<PpoCommand>(Some(&partial), &[]).unwrap().config.0;
    assert_eq!(ppo.train.algorithm.name(), "ppo");
    assert_eq!(ppo.train.iterations, 3);
    assert_eq!(ppo.train.lr, 3e-6);
    let grpo = load::<GrpoCommand>(Some(&partial), &[]).unwrap().config.0;
    assert_eq!(grpo.train.rollout.samples_per_prompt, 8);

    let wrong = write(
        dir.path(),
        "b.toml",
        "out = \"x\"\n[train.algorithm]\nkind = \"grpo\"\nbeta = 0.1\n",
    );
    let loaded = load::<PpoCommand>(Some(&wrong), &[]).unwrap();
    let e = loaded.validate().unwrap_err().to_string();
    assert!(
        e.contains("train.algorithm.kind") && e.contains("line 3"),
        "{e}"
    );

    let adaptive = write(
        dir.path(),
        "c.toml",
        "[train.algorithm.kl]\nkind = \"adaptive\"\ninit_beta = 0.1\ntarget = 6.0\nhorizon = 100\n",
    );
    let c = load::<PpoCommand>(Some(&adaptive), &[]).unwrap().config.0;
    assert!(matches!(
        c.train.algorithm,
        policy_opt::online::Algorithm::Ppo(ref p)
            if matches!(p.kl, kl_control::KlControllerConfig::Adaptive(_))
    ));
    let printed = rlhf_cli::print_config(&PpoCommand(c)).unwrap();
    assert!(
        !printed.contains(rlhf_cli::print::UNDOCUMENTED),
        "{printed}"
    );

    let typo = write(
        dir.path(),
        "d.toml",
        "[train.rollout]\nmax_new_tokenz = 3\n",
    );
    let e = load::<PpoCommand>(Some(&typo), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_new_tokenz") && e.contains("line 2"), "{e}");
}

#[test]
fn rloo_and_grpo_run_from_toml_with_a_grader_reward() {
    let dir = tempfile::tempdir().unwrap();
    let (model, pairs) = (model_folder(dir.path()), pairs_file(dir.path()));
    let graders = write(
        dir.path(),
        "graders.toml",
        "type = \"string_check\"\nname = \"polite\"\ninput = \"{{ sample.output_text }}\"\n\
         reference = \"is\"\noperation = \"ilike\"\n",
    );
    for (name, kind) in [("rloo", "rloo"), ("grpo", "grpo")] {
        let out = dir.path().join(name);
        let file = write(
            dir.path(),
            &format!("{name}.toml"),
            &format!(
                "out = {}\nmodel = {}\neval_prompts = 2\n[prompts]\npath = {}\n\
                 format = \"pairwise\"\nvalid_fraction = 0.2\n[reward]\nkind = \"graders\"\n\
                 path = {}\n[train]\niterations = 2\nlr = 1e-4\n{ROLLOUT}samples_per_prompt = 2\n",
                lit(&out),
                lit(&model),
                lit(&pairs),
                lit(&graders)
            ),
        );
        let config = if name == "rloo" {
            let c = load::<RlooCommand>(Some(&file), &[]).unwrap();
            c.validate().unwrap();
            c.config.0
        } else {
            let c = load::<GrpoCommand>(Some(&file), &[]).unwrap();
            c.validate().unwrap();
            c.config.0
        };
        let report = policy_opt::online::run(&config, &device()).unwrap();
        assert_eq!((report.algorithm.as_str(), report.iterations), (kind, 2));
        assert!(out.join("model/config.json").is_file());
    }
}

#[test]
fn ranked_pairs_of_a_policy_are_written_as_a_preference_file() {
    let dir = tempfile::tempdir().unwrap();
    let (model, pairs) = (model_folder(dir.path()), pairs_file(dir.path()));
    let mut config = policy_opt::online::OnlineRunConfig {
        model,
        ..Default::default()
    };
    (config.prompts.path, config.prompts.format) = (pairs, pref_data::PromptFormat::Pairwise);
    config.train.rollout.max_new_tokens = 6;
    // Longer completions win: ties only when the lengths are equal.
    let mut reward = rlhf_core::FnReward::new("len", |s: &rlhf_core::Sample| {
        s.completion.chars().count() as f32
    });
    let out = dir.path().join("ranked/pairs.jsonl");
    let r =
        policy_opt::online::write_ranked_pairs(&config, &mut reward, 10, &out, &device()).unwrap();
    assert_eq!(r.pairs + r.ties + r.blank, 10, "{r:?}");
    let (read, _) = pref_data::read_pairs(&out, &pref_data::ReadOptions::strict()).unwrap();
    assert_eq!(read.len(), r.pairs);
    for p in &read {
        let len = |t: &pref_data::Text| match t {
            pref_data::Text::Plain(s) => s.chars().count(),
            other => panic!("{other:?}"),
        };
        assert!(len(&p.chosen) > len(&p.rejected));
    }
}
