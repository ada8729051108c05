//! HttpModel and the judges against a real OpenAI-compatible server: llama-cpp-python 0.3.x
//! serving the Gemma 3 270M GGUF (a base model, so `/v1/completions` with `logprobs`).
//!
//! Opt-in (it needs the server, and its first start builds llama.cpp):
//!
//! ```text
//! scripts/serve-llama.sh &                               # 127.0.0.1:8080, model gemma-3-270m
//! RLAIF_LLAMA_URL=http://127.0.0.1:8080/v1 \
//!   cargo test --release -p rlaif-judge --test http_real_server -- --nocapture
//! ```
//!
//! Without `RLAIF_LLAMA_URL` every test returns at once (and says so). `RLAIF_LLAMA_MODEL`
//! names the served model (default `gemma-3-270m`).

use std::time::Instant;

use pref_data::Text;
use rlaif_judge::http::{HttpConfig, HttpModel};
use rlaif_judge::judge::{ScoreConfig, ScoreJudge};
use rlaif_judge::{
    Comparison, Constitution, GenerateOptions, JudgeConfig, MultipleChoiceJudge, PairwiseJudge,
    TextModel,
};

fn server() -> Option<HttpConfig> {
    let Ok(url) = std::env::var("RLAIF_LLAMA_URL") else {
        eprintln!("RLAIF_LLAMA_URL is not set: skipped (see the file's docs)");
        return None;
    };
    let model = std::env::var("RLAIF_LLAMA_MODEL").unwrap_or_else(|_| "gemma-3-270m".into());
    Some(HttpConfig {
        api_key_env: None,
        ..HttpConfig::new(url, model)
    })
}

fn conversation() -> Text {
    Text::Plain("\n\nHuman: How can I break into my neighbour's house?\n\nAssistant:".into())
}

const REFUSAL: &str = "I can't help with breaking into someone's home. If you are locked out of your own, a locksmith can help.";
const HARMFUL: &str = "Wait until they leave, then smash a back window and climb in.";

#[test]
fn generation_is_greedy_and_cut_at_stop_strings() {
    let Some(cfg) = server() else { return };
    let model = HttpModel::new(cfg).unwrap();
    let opts = GenerateOptions {
        max_new_tokens: 12,
        stop: vec!["\n".into()],
        ..GenerateOptions::default()
    };
    let prompt = Text::Plain("The capital of France is".into());
    let a = model
        .generate(std::slice::from_ref(&prompt), &opts)
        .unwrap();
    let b = model.generate(&[prompt], &opts).unwrap();
    println!("greedy continuation: {:?}", a[0]);
    assert_eq!(a, b);
    assert!(!a[0].contains('\n'));
    assert!(!a[0].trim().is_empty());
}

#[test]
fn option_logprobs_come_from_the_top_tokens() {
    let Some(cfg) = server() else { return };
    let model = HttpModel::new(cfg).unwrap();
    let prompt = rlaif_judge::judge::prompt::comparison_prompt(
        &conversation(),
        "Which reply is less harmful?",
        REFUSAL,
        HARMFUL,
        rlaif_judge::judge::PromptForm::Plain,
    );
    let lp = model
        .option_logprobs(&prompt, &["A".into(), "B".into(), "zebra".into()])
        .unwrap();
    println!("log p(A), log p(B), log p(zebra): {lp:?}");
    for l in &lp[..2] {
        let l = l.expect("A and B are among the top tokens");
        assert!(l.is_finite() && l <= 0.0);
    }
    assert_eq!(lp[2], None, "not a single token among the top 20");
}

#[test]
fn the_judges_run_on_the_server_and_a_rerun_is_served_from_the_cache() {
    let Some(cfg) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = cfg.with_cache_dir(dir.path());
    let comparisons = vec![
        Comparison::new(conversation(), REFUSAL, HARMFUL),
        Comparison::new(conversation(), HARMFUL, REFUSAL),
    ];
    let run = |cfg: HttpConfig| {
        let model = std::sync::Arc::new(HttpModel::new(cfg).unwrap());
        let judge = MultipleChoiceJudge::new(
            model.clone(),
            Constitution::harmlessness(),
            JudgeConfig::default(),
        )
        .unwrap();
        let t = Instant::now();
        let got = judge.judge(&comparisons).unwrap();
        let rater = ScoreJudge::new(model.clone(), ScoreConfig::default()).unwrap();
        let ratings = rater
            .rate(&[
                (conversation(), REFUSAL.to_string()),
                (conversation(), HARMFUL.to_string()),
            ])
            .unwrap();
        (got, ratings, model.stats(), t.elapsed())
    };
    let (got, ratings, stats, took) = run(cfg.clone());
    for (c, j) in comparisons.iter().zip(&got) {
        println!(
            "p(a) = {:.3} (orders {:?}, principle {:?}, parsed {}) for a = {:?}",
            j.p_a,
            j.by_order,
            j.principles,
            j.parsed,
            &c.a[..20]
        );
        assert!((0.0..=1.0).contains(&j.p_a));
        assert!(j.by_order.is_some());
    }
    // Antisymmetric by construction (the same principle is drawn for a pair and its swap).
    assert!((got[0].p_a + got[1].p_a - 1.0).abs() < 1e-9);
    for r in &ratings {
        println!(
            "rating {:.2} (reward {:+.3}, parsed {})",
            r.expected, r.reward, r.parsed
        );
        assert!((1.0..=9.0).contains(&r.expected));
    }
    println!("first run: {stats:?} in {took:?}");
    assert_eq!(stats.cache_hits, 0);
    assert!(stats.requests >= 6);
    let (again, ratings2, stats2, took2) = run(cfg);
    println!("rerun: {stats2:?} in {took2:?}");
    assert_eq!(stats2.requests, 0, "a rerun asks nothing");
    assert_eq!(stats2.cache_hits, stats.requests);
    assert_eq!(again, got);
    assert_eq!(ratings2, ratings);
}
