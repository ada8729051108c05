//! Each method built from a TOML file runs a few steps on a tiny model and leaves the run
//! folder the train crate writes; a rerun resumes; the binary does the same end to end.

mod common;

use common::{completions_file, device, lit, model_folder, pairs_file, write};
use lm::checkpoint::load_bundle;
use policy_opt::dpo::DpoRunConfig;
use policy_opt::sft::SftRunConfig;
use reward_model::{RewardRunConfig, ScalarRewardModel};
use rlhf_cli::load;

const TRAIN: &str = "[train]\nsteps = 2\nbatch_size = 4\nlearning_rate = 1e-3\nsave_every = 1\n";

#[test]
fn sft_from_toml_trains_from_scratch_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = completions_file(dir.path());
    let out = dir.path().join("run");
    let file = write(
        dir.path(),
        "sft.toml",
        &format!(
            "out = {}\n[scratch]\nvocab_size = 300\nd_model = 32\nlayers = 2\nheads = 4\n\
             kv_heads = 2\nd_ff = 64\nmax_seq_len = 128\n[data]\npath = {}\nmax_len = 64\n\
             valid_fraction = 0.3\n{TRAIN}",
            lit(&out),
            lit(&data)
        ),
    );
    let loaded = load::<SftRunConfig>(Some(&file), &[]).unwrap();
    loaded.validate().unwrap();
    let report = policy_opt::sft::run(&loaded.config, &device()).unwrap();
    assert_eq!((report.steps, report.resumed_from), (2, 0));
    assert!(report.train_examples > 0 && report.valid_examples > 0);
    assert!(report.perplexity_after.is_finite());
    for f in [
        "metrics.jsonl",
        "curves.png",
        "report.json",
        "tokenizer.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let bundle = load_bundle(&out.join("model"), &device()).unwrap();
    let vocab = bundle.tokenizer.vocab_size();
    assert!((259..=300).contains(&vocab), "{vocab}");

    // Two more steps from the same folder: the run resumes after step 2.
    let more = load::<SftRunConfig>(Some(&file), &["train.steps=4".into()]).unwrap();
    let report = policy_opt::sft::run(&more.config, &device()).unwrap();
    assert_eq!((report.steps, report.resumed_from), (4, 2));
}

#[test]
fn sft_from_toml_fine_tunes_a_model_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = completions_file(dir.path());
    let model = model_folder(dir.path());
    let out = dir.path().join("run");
    let file = write(
        dir.path(),
        "sft.toml",
        &format!(
            "out = {}\nmodel = {}\n[data]\npath = {}\nmax_len = 64\nvalid_fraction = 0.3\n{TRAIN}",
            lit(&out),
            lit(&model),
            lit(&data)
        ),
    );
    let loaded = load::<SftRunConfig>(Some(&file), &[]).unwrap();
    let report = policy_opt::sft::run(&loaded.config, &device()).unwrap();
    assert_eq!(report.steps, 2);
    assert!(report.perplexity_before.is_finite());
    load_bundle(&out.join("model"), &device()).unwrap();
}

#[test]
fn reward_from_toml_trains_and_saves_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = pairs_file(dir.path());
    let model = model_folder(dir.path());
    let out = dir.path().join("run");
    let file = write(
        dir.path(),
        "reward.toml",
        &format!(
            "out = {}\nmodel = {}\nfreeze_layers = 1\n[data]\npath = {}\nvalid_fraction = 0.3\n\
             max_prompt_len = 32\nmax_completion_len = 16\n{TRAIN}[loss]\n\
             center_rewards_coefficient = 0.01\n",
            lit(&out),
            lit(&model),
            lit(&data)
        ),
    );
    let loaded = load::<RewardRunConfig>(Some(&file), &[]).unwrap();
    loaded.validate().unwrap();
    let report = reward_model::run(&loaded.config, &device()).unwrap();
    assert_eq!(report.run.steps, 2);
    assert!(report.run.valid_pairs > 0, "{report:?}");
    assert!(report.after.is_some() && report.before.is_some());
    for f in [
        "metrics.jsonl",
        "curves.png",
        "report.json",
        "model/normalizer.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    ScalarRewardModel::load(&out.join("model"), &device()).unwrap();

    // `rlhf eval`: the saved model on every pair of the file.
    let eval = std::process::Command::new(env!("CARGO_BIN_EXE_rlhf"))
        .arg("eval")
        .arg("--model")
        .arg(out.join("model"))
        .arg("--data")
        .arg(&data)
        .args(["--max-prompt-len", "32", "--max-completion-len", "16"])
        .output()
        .unwrap();
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let eval: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(eval["pairs"], 24);
}

#[test]
fn dpo_from_toml_runs_with_cached_and_frozen_references() {
    let dir = tempfile::tempdir().unwrap();
    let data = pairs_file(dir.path());
    let model = model_folder(dir.path());
    for reference in ["cached", "frozen"] {
        let out = dir.path().join(reference);
        let file = write(
            dir.path(),
            "dpo.toml",
            &format!(
                "out = {}\nmodel = {}\nreference = \"{reference}\"\n[data]\npath = {}\n\
                 valid_fraction = 0.3\nmax_prompt_len = 32\nmax_completion_len = 16\n{TRAIN}\
                 [loss]\nbeta = 0.5\n",
                lit(&out),
                lit(&model),
                lit(&data)
            ),
        );
        let loaded = load::<DpoRunConfig>(Some(&file), &[]).unwrap();
        loaded.validate().unwrap();
        let report = policy_opt::dpo::run(&loaded.config, &device()).unwrap();
        assert_eq!(report.run.steps, 2);
        assert!(
            report.after.contains_key("rewards/accuracies"),
            "{report:?}"
        );
        // Before training the policy is the reference: every implicit reward is 0.
        assert!(report.before["rewards/margins"].abs() < 1e-3, "{report:?}");
        let shown = report.to_string();
        assert!(
            shown.contains("held out after 2 steps") && shown.contains("reward accuracy"),
            "{shown}"
        );
        assert_eq!(
            out.join("ref_logps_train.json").is_file(),
            reference == "cached"
        );
        load_bundle(&out.join("model"), &device()).unwrap();
    }
}

#[test]
fn the_binary_runs_dpo_from_a_file_with_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let data = pairs_file(dir.path());
    let model = model_folder(dir.path());
    let out = dir.path().join("run");
    let file = write(
        dir.path(),
        "dpo.toml",
        &format!(
            "model = {}\n[data]\npath = {}\nmax_prompt_len = 32\nmax_completion_len = 16\n{TRAIN}",
            lit(&model),
            lit(&data)
        ),
    );
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_rlhf"))
        .arg("dpo")
        .arg("--config")
        .arg(&file)
        .arg("--set")
        .arg(format!("out={}", out.display()))
        .arg("--set")
        .arg("train.steps=1")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["steps"], 1);
    assert!(String::from_utf8_lossy(&status.stdout).contains("\"steps\": 1"));
}

#[test]
fn held_out_prompts_are_the_prompts_of_the_held_out_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let data = pairs_file(dir.path());
    let bundle = load_bundle(&model_folder(dir.path()), &device()).unwrap();
    let cfg = pref_data::PairDataConfig {
        path: data,
        valid_fraction: 0.3,
        ..Default::default()
    };
    let template = pref_data::ChatTemplate::Plain;
    let tok = &bundle.tokenizer;
    let split = pref_data::load_pair_data(&cfg, tok, &template, true, 4, 7).unwrap();
    let valid: Vec<Vec<u32>> = split
        .valid
        .unwrap()
        .pairs()
        .iter()
        .map(|p| p.prompt.clone())
        .collect();
    let prompts = pref_data::held_out_prompts(&cfg, tok, &template, true, 7, 100).unwrap();
    let prompts: Vec<Vec<u32>> = prompts.into_iter().map(|p| p.prompt).collect();
    assert!(!prompts.is_empty());
    assert_eq!(prompts, valid);
    let few = pref_data::held_out_prompts(&cfg, tok, &template, true, 7, 2).unwrap();
    assert_eq!(few.len(), 2);
}

#[test]
fn reward_over_a_gemma_backbone_with_lora_trains_and_saves_a_merged_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = pairs_file(dir.path());
    let model = common::gemma_folder(dir.path());
    let out = dir.path().join("run");
    let file = write(
        dir.path(),
        "reward.toml",
        &format!(
            "out = {}\nmodel = {}\n[lora]\nrank = 4\nalpha = 8.0\ntargets = [\"q_proj\", \"v_proj\"]\n[data]\npath = {}\n\
             valid_fraction = 0.3\nmax_prompt_len = 32\nmax_completion_len = 16\n{TRAIN}",
            lit(&out),
            lit(&model),
            lit(&data)
        ),
    );
    let loaded = load::<RewardRunConfig>(Some(&file), &[]).unwrap();
    loaded.validate().unwrap();
    let report = reward_model::run(&loaded.config, &device()).unwrap();
    assert_eq!(report.run.steps, 2);
    // The saved folder is a Gemma 3 reward model with the adapters merged in (that only the
    // adapters move under `with_lora` is lm's LoRA tests' business).
    let rm = ScalarRewardModel::load_any(&out.join("model"), &device()).unwrap();
    assert!(matches!(rm.backbone, lm::LanguageModel::Gemma3(_)));
    let eval =
        reward_model::evaluate_file(&out.join("model"), &loaded.config.data, 4, 10, &device())
            .unwrap();
    assert_eq!(eval.pairs, 24);

    let both = write(
        dir.path(),
        "both.toml",
        &format!(
            "model = {}\nfreeze_layers = 1\n[lora]\nrank = 4\nalpha = 8.0\ntargets = [\"q_proj\"]\n[data]\npath = {}\n",
            lit(&model),
            lit(&data)
        ),
    );
    let e = load::<RewardRunConfig>(Some(&both), &[])
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("freeze_layers"), "{e}");
}
