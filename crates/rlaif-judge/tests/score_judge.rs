//! The d-RLAIF scoring judge: the expected rating from the ratings' log-probs, mapped to
//! [−1, 1], as an `rlhf_core::Reward` (for PPO/GRPO), with parsed ratings when no
//! log-probs are offered.

mod common;

use common::{FakeModel, plain};
use pref_data::Text;
use rlaif_judge::judge::{ScoreConfig, ScoreJudge};
use rlaif_judge::{JudgeError, TextModel};
use rlhf_core::{Reward, RewardInput, Sample};

/// Log-probs over the rating options: all the mass on `peak` when the reply mentions
/// "kind", uniform otherwise.
fn rater(peak: u32) -> FakeModel {
    FakeModel::new(
        move |p, options| {
            let kind = plain(p).contains("Assistant: kind");
            options
                .iter()
                .map(|o| {
                    let k: u32 = o.trim().parse().unwrap();
                    Some(if !kind {
                        -2.0
                    } else if k == peak {
                        0.0
                    } else {
                        -60.0
                    })
                })
                .collect()
        },
        |_, _| String::new(),
    )
}

#[test]
fn the_expected_rating_is_mapped_to_minus_one_one() {
    let j = ScoreJudge::new(rater(7), ScoreConfig::default()).unwrap();
    let conv = Text::Plain("\n\nHuman: hi\n\nAssistant:".into());
    let got = j
        .rate(&[(conv.clone(), "kind words".into()), (conv, "meh".into())])
        .unwrap();
    assert!((got[0].expected - 7.0).abs() < 1e-9);
    assert!((got[0].reward - 0.5).abs() < 1e-9);
    assert!((got[1].expected - 5.0).abs() < 1e-9, "uniform → midpoint");
    assert!(got[1].reward.abs() < 1e-9);
    assert!(!got[0].parsed && !got[0].undecided);
}

#[test]
fn as_a_reward_it_scores_rollout_samples() {
    let mut j = ScoreJudge::new(rater(9), ScoreConfig::default()).unwrap();
    let samples = vec![
        Sample::from_text("\n\nHuman: hi\n\nAssistant:", " kind words"),
        Sample::from_text("\n\nHuman: hi\n\nAssistant:", " go away"),
    ];
    let scores = j.score(&RewardInput::new(&samples)).unwrap(); // Reward::score
    assert_eq!(scores.sequence.len(), 2);
    assert!((scores.sequence[0] - 1.0).abs() < 1e-6);
    assert!(scores.sequence[1].abs() < 1e-6);
    assert!(scores.reasons[0].starts_with("rating 9.00 of 1..=9 (log-probs)"));
    let rating = scores
        .metrics
        .iter()
        .find(|m| m.0 == "judge/rating")
        .unwrap();
    assert!((rating.1 - 7.0).abs() < 1e-6);
    assert!(Reward::name(&j).starts_with("score-judge(fake)"));
}

#[test]
fn without_log_probs_the_rating_is_parsed() {
    let model = FakeModel::new(
        |_, o| vec![None; o.len()],
        |p, _| {
            if plain(p).contains("Assistant: good") {
                " 8 out of 9".into()
            } else {
                " hmm".into()
            }
        },
    );
    let j = ScoreJudge::new(model, ScoreConfig::default()).unwrap();
    let conv = Text::Plain("\n\nHuman: hi\n\nAssistant:".into());
    let got = j
        .rate(&[(conv.clone(), "good".into()), (conv, "bad".into())])
        .unwrap();
    assert_eq!(got[0].expected, 8.0);
    assert!(got[0].parsed && !got[0].undecided);
    assert!(got[1].undecided);
    assert_eq!(got[1].reward, 0.0);
}

#[test]
fn the_prompt_asks_for_a_rating_on_the_scale() {
    let model = rater(5);
    let config = ScoreConfig {
        min: 0,
        max: 4,
        ..ScoreConfig::default()
    };
    let j = ScoreJudge::new(&model, config).unwrap();
    j.rate(&[(
        Text::Plain("\n\nHuman: hi\n\nAssistant:".into()),
        "x".into(),
    )])
    .unwrap();
    let asked = model.asked.lock().unwrap();
    let p = plain(&asked[0]);
    assert!(p.contains("\n\nHuman: hi\n\nAssistant: x\n\n"), "{p}");
    assert!(p.ends_with("on a scale from 0 to 4, where 0 is the worst and 4 the best.\nRating:"));
    assert_eq!(model.name(), "fake");
    let e = ScoreJudge::new(
        &model,
        ScoreConfig {
            min: 3,
            max: 3,
            ..ScoreConfig::default()
        },
    )
    .unwrap_err();
    assert!(matches!(&e, JudgeError::Config(c) if c.field == "max"));
}

/// `compare_policies`: the kinder policy gets the higher rating and wins every duel, in
/// both orders; two identical policies tie.
#[test]
fn compare_policies_rates_and_duels_two_policies() {
    use std::sync::Arc;
    // Ratings: 7 for a kind reply, uniform (mean 5) otherwise. Duels: the option whose
    // text says "kind" gets the mass.
    let model = FakeModel::new(
        |p, options| {
            let p = plain(p);
            if options.iter().any(|o| o == "A") {
                let kind_a = p.contains("(A) kind");
                let kind_b = p.contains("(B) kind");
                return options
                    .iter()
                    .map(|o| match (o.as_str(), kind_a, kind_b) {
                        ("A", true, false) | ("B", false, true) => Some(0.0),
                        ("A", false, true) | ("B", true, false) => Some(-8.0),
                        ("A" | "B", _, _) => Some(-0.7),
                        _ => None,
                    })
                    .collect();
            }
            let kind = p.contains("Assistant: kind");
            options
                .iter()
                .map(|o| {
                    let k: u32 = o.trim().parse().unwrap();
                    Some(if !kind {
                        -2.0
                    } else if k == 7 {
                        0.0
                    } else {
                        -60.0
                    })
                })
                .collect()
        },
        |_, _| String::new(),
    );
    let model: Arc<dyn TextModel> = Arc::new(model);
    let prompt = "\n\nHuman: hi\n\nAssistant:";
    let kind: Vec<Sample> = (0..3)
        .map(|_| Sample::from_text(prompt, "kind words"))
        .collect();
    let rude: Vec<Sample> = (0..3)
        .map(|_| Sample::from_text(prompt, "go away"))
        .collect();
    let constitution = rlaif_judge::Constitution::harmlessness();
    let c = rlaif_judge::compare_policies(model.clone(), constitution.clone(), &kind, &rude, 2)
        .unwrap();
    assert!(
        (c.rating_new - 7.0).abs() < 1e-9 && (c.rating_old - 5.0).abs() < 1e-9,
        "{c}"
    );
    assert_eq!((c.win_rate.pairs, c.win_rate.wins), (3, 3), "{c}");
    assert!(c.to_string().contains("old 5.000, new 7.000"), "{c}");
    let same = rlaif_judge::compare_policies(model, constitution, &rude, &rude, 2).unwrap();
    assert_eq!(same.win_rate.ties, 3, "{same}");
    assert!((same.win_rate.rate - 0.5).abs() < 1e-9);
}
