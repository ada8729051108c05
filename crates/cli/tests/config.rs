//! `--print-config` against the documented defaults; a bad key, a bad value and a missing
//! file each give an error naming the place.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{lit, write};
use policy_opt::dpo::DpoRunConfig;
use policy_opt::sft::SftRunConfig;
use reward_model::RewardRunConfig;
use rlhf_cli::print::UNDOCUMENTED;
use rlhf_cli::{
    GrpoCommand, JudgeCommand, PpoCommand, RftCommand, RlaifCommand, RlooCommand, RunConfig,
    SlCaiCommand, load, print_config,
};

/// Every dotted key of a configuration's TOML form.
fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            _ => {
                out.insert(key);
            }
        }
    }
}

/// The printed defaults read back to the defaults, every printed key has its documentation
/// line, and the documentation covers exactly the configuration's keys (`optional`: those
/// unset by default, which TOML cannot spell).
fn check_print_config<C: RunConfig + PartialEq + std::fmt::Debug>(optional: &[&str]) {
    let printed = print_config(&C::default()).unwrap();
    assert!(!printed.contains(UNDOCUMENTED), "{printed}");
    let back: C = toml::from_str(&printed).unwrap();
    assert_eq!(back, C::default(), "{printed}");
    let mut keys = BTreeSet::new();
    flatten("", &toml::Table::try_from(C::default()).unwrap(), &mut keys);
    keys.extend(optional.iter().map(|k| k.to_string()));
    let documented: BTreeSet<String> = C::docs().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        documented,
        keys,
        "docs vs configuration keys of `{}`",
        C::NAME
    );
    for optional in optional {
        let last = optional.rsplit('.').next().unwrap();
        assert!(
            printed.contains(&format!("# {last} = (unset)")),
            "{optional} not listed as unset"
        );
    }
    // Each printed value is the default its documentation states.
    for (key, doc) in C::docs() {
        let Some(value) = lookup(&printed, &key) else {
            continue; // unset
        };
        if key == "model" || key.ends_with(".path") {
            continue; // required: no default
        }
        if value.as_array().is_some_and(|a| a.len() > 1) {
            continue; // a list default is described in words
        }
        let at = doc
            .find("default ")
            .unwrap_or_else(|| panic!("`{key}`: no default in its documentation: {doc}"));
        let token: String = doc[at + "default ".len()..]
            .chars()
            .take_while(|c| !matches!(c, ',' | ')' | ';' | ' ' | ':'))
            .collect();
        let documented = toml::from_str::<toml::Table>(&format!("v = {token}"))
            .unwrap_or_else(|e| panic!("`{key}`: documented default {token:?}: {e}"))["v"]
            .clone();
        assert!(
            same(&documented, &value),
            "`{key}` = {value}, but its documentation says: {doc}"
        );
    }
}

/// The value printed for `key`.
fn lookup(printed: &str, key: &str) -> Option<toml::Value> {
    let table: toml::Table = toml::from_str(printed).ok()?;
    let mut v = toml::Value::Table(table);
    for part in key.split('.') {
        v = v.get(part)?.clone();
    }
    Some(v)
}

/// Equal values, numbers compared as numbers (an f32 printed as f64 included).
fn same(a: &toml::Value, b: &toml::Value) -> bool {
    let num = |v: &toml::Value| match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    };
    match (num(a), num(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1e-12),
        _ => a == b,
    }
}

#[test]
fn print_config_reads_back_to_the_documented_defaults() {
    check_print_config::<SftRunConfig>(&["model", "train.learning_rate"]);
    check_print_config::<RewardRunConfig>(&["train.learning_rate", "lora"]);
    check_print_config::<DpoRunConfig>(&["train.learning_rate", "loss.loss_weights"]);
    let online = [
        "critic",
        "train.max_kl",
        "train.rollout.top_k",
        "train.rollout.missing_eos_penalty",
    ];
    let with = |extra: &[&'static str]| [&online[..], extra].concat();
    check_print_config::<PpoCommand>(&with(&["train.algorithm.kl_early_stop"]));
    check_print_config::<GrpoCommand>(&online);
    check_print_config::<RlooCommand>(&online);
    check_print_config::<RftCommand>(&with(&["reward.name"]));
    check_print_config::<RlaifCommand>(&["constitution", "human_pairs"]);
    check_print_config::<JudgeCommand>(&["constitution", "human_pairs"]);
    check_print_config::<SlCaiCommand>(&["constitution"]);
}

#[test]
fn the_binary_prints_the_config_with_overrides() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlhf"))
        .args(["dpo", "--print-config", "--set", "loss.beta=0.25"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let config: DpoRunConfig = toml::from_str(&text).unwrap();
    assert_eq!(config.loss.beta, 0.25);
    assert_eq!(config.train, DpoRunConfig::default().train);
}

fn err_of<C: RunConfig>(path: Option<&Path>, sets: &[&str]) -> String {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match load::<C>(path, &sets).and_then(|l| l.validate()) {
        Ok(()) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_unknown_key_names_the_file_the_key_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "dpo.toml", "[train]\nsteps = 2\nstepz = 3\n");
    let e = err_of::<DpoRunConfig>(Some(&file), &[]);
    assert!(e.contains("dpo.toml"), "{e}");
    assert!(e.contains("stepz"), "{e}");
    assert!(e.contains("line 3"), "{e}");
    let e = err_of::<RewardRunConfig>(None, &["train.stepz=3"]);
    assert!(
        e.contains("--set train.stepz=3") && e.contains("stepz"),
        "{e}"
    );
}

#[test]
fn a_bad_value_names_the_file_the_key_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "pairs.jsonl", "{}\n");
    std::fs::create_dir(dir.path().join("model")).unwrap();
    let head = format!(
        "model = {}\n[data]\npath = {}\n",
        lit(&dir.path().join("model")),
        lit(&data)
    );
    // Out of its domain: the validation names key and line.
    let file = write(
        dir.path(),
        "dpo.toml",
        &format!("{head}[train]\nsteps = 10\nlearning_rate = -1.0\n"),
    );
    let e = err_of::<DpoRunConfig>(Some(&file), &[]);
    assert!(e.contains("dpo.toml, line 6"), "{e}");
    assert!(
        e.contains("train.learning_rate") && e.contains("got -1"),
        "{e}"
    );
    // The wrong type: toml names line and key.
    let file = write(
        dir.path(),
        "bad.toml",
        &format!("{head}[train]\nsteps = \"ten\"\n"),
    );
    let e = err_of::<DpoRunConfig>(Some(&file), &[]);
    assert!(e.contains("bad.toml") && e.contains("line 5"), "{e}");
    // A value of an override.
    let file = write(dir.path(), "ok.toml", &head);
    let e = err_of::<DpoRunConfig>(Some(&file), &["loss.beta=0"]);
    assert!(
        e.contains("--set loss.beta=0") && e.contains("loss.beta"),
        "{e}"
    );
    // A loss the DPO family does not know.
    let e = err_of::<DpoRunConfig>(Some(&file), &["loss.loss_types=[\"dpo\"]"]);
    assert!(e.contains("--set") && e.contains("dpo"), "{e}");
    // Not set anywhere: the default, and the file that leaves it unset.
    let e = err_of::<RewardRunConfig>(Some(&file), &["freeze_layers=1", "calibration_bins=0"]);
    assert!(e.contains("--set calibration_bins=0"), "{e}");
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let e = err_of::<SftRunConfig>(Some(&missing), &[]);
    assert!(e.contains("nope.toml"), "{e}");
    // A data file that is not there: named with its key.
    let file = write(
        dir.path(),
        "sft.toml",
        &format!("[data]\npath = {}\n", lit(&dir.path().join("gone.jsonl"))),
    );
    let e = err_of::<SftRunConfig>(Some(&file), &[]);
    assert!(e.contains("data.path") && e.contains("gone.jsonl"), "{e}");
    assert!(e.contains("sft.toml, line 2"), "{e}");
    // A model folder that is not there.
    let e = err_of::<DpoRunConfig>(None, &["model=missing/model"]);
    assert!(
        e.contains("--set model=missing/model") && e.contains("not found"),
        "{e}"
    );
}

#[test]
fn the_shipped_configs_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs");
    let sft = load::<SftRunConfig>(Some(&dir.join("sft.toml")), &[]).unwrap();
    assert!(sft.config.model.is_none());
    assert_eq!(sft.config.train.steps, 200);
    let reward = load::<RewardRunConfig>(Some(&dir.join("reward.toml")), &[]).unwrap();
    assert_eq!(reward.config.freeze_layers, 2);
    let dpo = load::<DpoRunConfig>(Some(&dir.join("dpo.toml")), &[]).unwrap();
    assert_eq!(dpo.config.loss.beta, 0.1);
    assert_eq!(dpo.config.reference, policy_opt::dpo::ReferenceMode::Cached);
    let ppo = load::<PpoCommand>(Some(&dir.join("ppo.toml")), &[]).unwrap();
    assert_eq!(ppo.config.0.train.iterations, 60);
    assert!(ppo.config.0.critic.is_some());
    let rft = load::<RftCommand>(Some(&dir.join("rft.toml")), &[]).unwrap();
    assert_eq!(rft.config.0.train.rollout.samples_per_prompt, 8);
    for (name, steps) in [("rft_sft.toml", 400), ("sl_cai_sft.toml", 20)] {
        let c = load::<SftRunConfig>(Some(&dir.join(name)), &[]).unwrap();
        assert_eq!(c.config.train.steps, steps, "{name}");
    }
    let gemma = load::<RewardRunConfig>(Some(&dir.join("reward_gemma.toml")), &[]).unwrap();
    assert_eq!(gemma.config.train.steps, 112);
    let sl = load::<SlCaiCommand>(Some(&dir.join("sl_cai.toml")), &[]).unwrap();
    assert_eq!(sl.config.0.critique.response.stop[0], "\n\nHuman:");
    let rlaif = load::<RlaifCommand>(Some(&dir.join("rlaif.toml")), &[]).unwrap();
    assert!(matches!(
        rlaif.config.0.source,
        rlaif_judge::PairSource::Sample { .. }
    ));
    let judge = load::<JudgeCommand>(Some(&dir.join("judge.toml")), &[]).unwrap();
    assert!(judge.config.0.human_pairs.is_some());
    // The frontier's sections are the same configuration types.
    let text = std::fs::read_to_string(dir.join("frontier.toml")).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let online: policy_opt::online::OnlineRunConfig = table["online"].clone().try_into().unwrap();
    assert_eq!(online.eval_prompts, 32);
    let _: RewardRunConfig = table["reward_model"].clone().try_into().unwrap();
    let _: DpoRunConfig = table["dpo"].clone().try_into().unwrap();
    let oracle: rlaif_judge::GraderConfig = table["oracle"].clone().try_into().unwrap();
    let oracle = oracle.build(&Default::default(), "frontier.toml").unwrap();
    assert_eq!(oracle.kind(), "lexicon");
}
