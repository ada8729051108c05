//! The RLAIF stages from TOML files on a tiny local model: a preference file relabelled by
//! the judge (with its agreement with the human labels), pairs sampled from a policy and
//! labelled, critique → revision written as SFT data that `rlhf sft` reads.

mod common;

use common::{completions_file, device, lit, model_folder_with_context, pairs_file, write};

fn model_folder(dir: &std::path::Path) -> std::path::PathBuf {
    model_folder_with_context(dir, 1024)
}
use rlhf_cli::{JudgeCommand, RlaifCommand, SlCaiCommand, load};

fn soft_pairs(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn judge_relabels_a_pair_file_and_reports_human_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let (pairs, model) = (pairs_file(dir.path()), model_folder(dir.path()));
    let out = dir.path().join("judge");
    let file = write(
        dir.path(),
        "judge.toml",
        &format!(
            "out = {}\n[judge]\npath = {}\n[source.data]\npath = {}\nmax_records = 6\n\
             [human_pairs]\npath = {}\nmax_records = 4\n",
            lit(&out),
            lit(&model),
            lit(&pairs),
            lit(&pairs)
        ),
    );
    let loaded = load::<JudgeCommand>(Some(&file), &[]).unwrap();
    loaded.validate().unwrap();
    let report = rlaif_judge::run_feedback(&loaded.config.0, &device()).unwrap();
    assert_eq!(report.pairs, 6);
    let human = report.human_agreement.unwrap();
    assert_eq!(human.pairs, 4);
    let rows = soft_pairs(&out.join("ai_pairs.jsonl"));
    assert_eq!(rows.len(), 6);
    for r in &rows {
        let p = r["p_a"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{r}");
    }
    assert!(out.join("report.json").is_file());
}

#[test]
fn rlaif_samples_pairs_from_a_policy_and_labels_them() {
    let dir = tempfile::tempdir().unwrap();
    let (pairs, model) = (pairs_file(dir.path()), model_folder(dir.path()));
    let out = dir.path().join("rlaif");
    let file = write(
        dir.path(),
        "rlaif.toml",
        &format!(
            "out = {}\n[judge]\npath = {}\n[source]\nmax_prompts = 5\n[source.policy]\npath = {}\n\
             [source.prompts]\npath = {}\nformat = \"pairwise\"\n[source.generation]\n\
             max_new_tokens = 6\n",
            lit(&out),
            lit(&model),
            lit(&model),
            lit(&pairs)
        ),
    );
    let loaded = load::<RlaifCommand>(Some(&file), &[]).unwrap();
    loaded.validate().unwrap();
    let report = rlaif_judge::run_feedback(&loaded.config.0, &device()).unwrap();
    assert_eq!(
        report.pairs + report.identical + report.blank,
        5,
        "{report:?}"
    );
    assert_eq!(soft_pairs(&out.join("ai_pairs.jsonl")).len(), report.pairs);

    let missing = write(
        dir.path(),
        "bad.toml",
        "[judge]\npath = \"no/such/model\"\n",
    );
    let e = load::<RlaifCommand>(Some(&missing), &[])
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("judge.path") && e.contains("line 2"), "{e}");
}

#[test]
fn sl_cai_writes_revisions_and_sft_data() {
    let dir = tempfile::tempdir().unwrap();
    let (prompts, model) = (completions_file(dir.path()), model_folder(dir.path()));
    let out = dir.path().join("sl-cai");
    let file = write(
        dir.path(),
        "sl.toml",
        &format!(
            "out = {}\nmax_prompts = 3\nmin_distinct_ratio = 0.0\n[model]\npath = {}\n\
             [prompts]\npath = {}\n[critique.response]\nmax_new_tokens = 5\n\
             [critique.critique]\nmax_new_tokens = 5\n[critique.revision]\nmax_new_tokens = 5\n",
            lit(&out),
            lit(&model),
            lit(&prompts)
        ),
    );
    let loaded = load::<SlCaiCommand>(Some(&file), &[]).unwrap();
    loaded.validate().unwrap();
    let report = rlaif_judge::run_sl_cai(&loaded.config.0, &device()).unwrap();
    assert_eq!(report.prompts, 3);
    assert_eq!(report.sft_examples + report.degenerate, 3);
    assert!(out.join("revisions.jsonl").is_file() && report.sft_file.is_file());
    // The stop strings with newlines survive the file (defaults merged under it).
    let stop = &loaded.config.0.critique.response.stop;
    assert_eq!(stop[0], "\n\nHuman:");
}
