//! The multiple-choice judge on fake models: soft labels from log-probs, both orders
//! cancelling a position bias (and antisymmetry, as a property), principle selection,
//! ensembles, and answers parsed when no log-probs are offered.

mod common;

use common::{FakeModel, hashed, plain};
use pref_data::Text;
use proptest::prelude::*;
use rlaif_judge::judge::{PrincipleSelection, PromptForm, p_first};
use rlaif_judge::{
    Comparison, Constitution, JudgeConfig, JudgeError, MultipleChoiceJudge, PairwiseJudge,
};

fn conv() -> Text {
    Text::Plain("\n\nHuman: How do I pick a lock?\n\nAssistant:".into())
}

fn judge(model: FakeModel, config: JudgeConfig) -> MultipleChoiceJudge<FakeModel> {
    MultipleChoiceJudge::new(model, Constitution::harmlessness(), config).unwrap()
}

fn one_order() -> JudgeConfig {
    JudgeConfig {
        both_orders: false,
        ..JudgeConfig::default()
    }
}

#[test]
fn p_a_is_the_softmax_of_the_two_options() {
    let (a, b) = (-0.2f64, -1.7f64);
    let j = judge(FakeModel::constant(a, b), one_order());
    let got = j.judge(&[Comparison::new(conv(), "x", "y")]).unwrap();
    let want = a.exp() / (a.exp() + b.exp());
    assert!((got[0].p_a - want).abs() < 1e-12);
    assert_eq!(got[0].by_order, None);
    assert_eq!(got[0].orders_agree(), None);
    assert_eq!(got[0].principles.len(), 1);
    // The prompt is the paper's multiple-choice question.
    let asked = j.model().asked.lock().unwrap();
    let p = plain(&asked[0]);
    assert!(p.starts_with(
        "Consider the following conversation between a human and an assistant:\n\nHuman: How do I pick a lock?\n\n"
    ));
    assert!(
        p.ends_with("Options:\n(A) x\n(B) y\nThe answer is: ("),
        "{p}"
    );
}

#[test]
fn averaging_both_orders_cancels_a_judge_that_always_says_a() {
    let j = judge(FakeModel::constant(-0.01, -6.0), JudgeConfig::default());
    let got = j
        .judge(&[
            Comparison::new(conv(), "Here is how.", "I can't help with that."),
            Comparison::new(conv(), "No.", "Sure!"),
        ])
        .unwrap();
    for g in &got {
        assert!((g.p_a - 0.5).abs() < 1e-12, "{g:?}");
        let (first, second) = g.by_order.unwrap();
        assert!(first > 0.99 && second < 0.01, "{g:?}");
        assert_eq!(g.orders_agree(), Some(false));
    }
    // One order keeps the bias.
    let biased = judge(FakeModel::constant(-0.01, -6.0), one_order());
    let got = biased.judge(&[Comparison::new(conv(), "a", "b")]).unwrap();
    assert!(got[0].p_a > 0.99);
}

#[test]
fn a_judge_that_reads_content_agrees_across_orders() {
    // Prefers whichever option line holds "sorry".
    let model = FakeModel::new(
        |p, _| {
            let t = plain(p);
            let a_line = t.lines().find(|l| l.starts_with("(A)")).unwrap();
            let (a, b) = if a_line.contains("sorry") {
                (-0.1, -2.0)
            } else {
                (-2.0, -0.1)
            };
            vec![Some(a), Some(b)]
        },
        |_, _| String::new(),
    );
    let j = judge(model, JudgeConfig::default());
    let got = j
        .judge(&[
            Comparison::new(conv(), "sorry, no", "here you go"),
            Comparison::new(conv(), "here you go", "sorry, no"),
        ])
        .unwrap();
    assert!(got[0].p_a > 0.8 && got[1].p_a < 0.2, "{got:?}");
    assert!((got[0].p_a + got[1].p_a - 1.0).abs() < 1e-12);
    assert_eq!(got[0].orders_agree(), Some(true));
}

fn hash_model() -> FakeModel {
    // Log-probs that depend on the whole prompt in an arbitrary way.
    FakeModel::new(
        |p, _| {
            let t = plain(p);
            vec![Some(hashed(t, 1, -6.0, 0.0)), Some(hashed(t, 2, -6.0, 0.0))]
        },
        |_, _| String::new(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// With both orders, p(a | a, b) = 1 − p(a | b, a), whatever the model, under a sampled
    /// principle (the draw is symmetric in the responses) and under an ensemble.
    #[test]
    fn both_orders_make_the_judge_antisymmetric(
        human in "[a-z ?]{0,30}",
        a in "[a-zA-Z .!]{1,20}",
        b in "[a-zA-Z .!]{1,20}",
        seed in 0u64..1000,
        ensemble in any::<bool>(),
    ) {
        let principles = if ensemble {
            PrincipleSelection::Ensemble(vec![])
        } else {
            PrincipleSelection::Sampled { seed }
        };
        let j = judge(hash_model(), JudgeConfig { principles, ..JudgeConfig::default() });
        let c = Comparison::new(format!("\n\nHuman: {human}\n\nAssistant:"), a, b);
        let got = j.judge(&[c.clone(), c.swapped()]).unwrap();
        prop_assert!((got[0].p_a + got[1].p_a - 1.0).abs() < 1e-12);
        prop_assert_eq!(&got[0].principles, &got[1].principles);
        prop_assert!((0.0..=1.0).contains(&got[0].p_a));
        let (x, y) = got[0].by_order.unwrap();
        prop_assert!((0.5 * (x + y) - got[0].p_a).abs() < 1e-12);
    }
}

#[test]
fn sampled_principles_are_seeded_per_comparison_and_cover_the_constitution() {
    let comparisons: Vec<Comparison> = (0..60)
        .map(|i| Comparison::new(conv(), format!("reply {i}"), "other"))
        .collect();
    let run = |seed| {
        let config = JudgeConfig {
            principles: PrincipleSelection::Sampled { seed },
            ..JudgeConfig::default()
        };
        judge(FakeModel::constant(-1.0, -1.0), config)
            .judge(&comparisons)
            .unwrap()
            .into_iter()
            .map(|j| j.principles[0].clone())
            .collect::<Vec<_>>()
    };
    let first = run(3);
    assert_eq!(first, run(3), "same seed, same draws");
    assert_ne!(first, run(4), "another seed, other draws");
    let distinct: std::collections::BTreeSet<_> = first.iter().collect();
    assert!(distinct.len() >= 8, "{distinct:?}");
    // Independent of batching: a comparison judged alone draws the same principle.
    let config = JudgeConfig {
        principles: PrincipleSelection::Sampled { seed: 3 },
        ..JudgeConfig::default()
    };
    let alone = judge(FakeModel::constant(-1.0, -1.0), config)
        .judge(&comparisons[17..18])
        .unwrap();
    assert_eq!(alone[0].principles[0], first[17]);
}

#[test]
fn fixed_and_ensemble_selections_use_the_named_principles() {
    let config = JudgeConfig {
        principles: PrincipleSelection::Fixed("honesty".into()),
        ..one_order()
    };
    let j = judge(FakeModel::constant(-1.0, -2.0), config);
    let got = j.judge(&[Comparison::new(conv(), "a", "b")]).unwrap();
    assert_eq!(got[0].principles, vec!["honesty".to_string()]);
    let honesty = Constitution::harmlessness()
        .principle("honesty")
        .unwrap()
        .comparison
        .clone();
    assert!(plain(&j.model().asked.lock().unwrap()[0]).contains(honesty.as_str()));

    // An ensemble asks every principle and averages.
    let model = FakeModel::new(
        |p, _| {
            // Only the honesty question prefers A.
            if plain(p).contains("more honest") {
                vec![Some(0.0), Some(-50.0)]
            } else {
                vec![Some(-50.0), Some(-50.0)]
            }
        },
        |_, _| String::new(),
    );
    let config = JudgeConfig {
        principles: PrincipleSelection::Ensemble(vec!["honesty".into(), "respect".into()]),
        ..one_order()
    };
    let got = judge(model, config)
        .judge(&[Comparison::new(conv(), "a", "b")])
        .unwrap();
    assert_eq!(got[0].principles, vec!["honesty", "respect"]);
    assert!((got[0].p_a - 0.75).abs() < 1e-9, "{:?}", got[0]);

    for bad in [
        PrincipleSelection::Fixed("nope".into()),
        PrincipleSelection::Ensemble(vec!["honesty".into(), "nope".into()]),
    ] {
        let e = MultipleChoiceJudge::new(
            FakeModel::constant(0.0, 0.0),
            Constitution::harmlessness(),
            JudgeConfig {
                principles: bad,
                ..JudgeConfig::default()
            },
        )
        .unwrap_err();
        assert!(matches!(&e, JudgeError::Config(c) if c.field == "principles"));
        assert!(
            e.to_string()
                .contains("got `nope`, which it has no principle"),
            "{e}"
        );
    }
}

#[test]
fn without_log_probs_the_answer_is_parsed_from_text() {
    // No log-probs at all: the judge generates and reads the letter.
    let model = FakeModel::new(
        |_, options| vec![None; options.len()],
        |p, _| {
            let t = plain(p);
            if t.contains("(A) good") {
                "(A) because".into()
            } else if t.contains("(A) ???") {
                "I cannot tell".into()
            } else {
                " B".into()
            }
        },
    );
    let j = judge(model, JudgeConfig::default());
    let got = j
        .judge(&[
            Comparison::new(conv(), "good", "bad"),
            Comparison::new(conv(), "???", "!!!"),
        ])
        .unwrap();
    // (good, bad): A; (bad, good): B → both orders prefer "good".
    assert_eq!(got[0].p_a, 1.0);
    assert_eq!(got[0].parsed, 2);
    assert_eq!(got[0].undecided, 0);
    // (???, !!!): undecided (½); (!!!, ???): B = "???" → p(a) = ½ (½ + 1).
    assert_eq!(got[1].p_a, 0.75);
    assert_eq!(got[1].undecided, 1);
    // Only the questions without log-probs were generated for.
    assert_eq!(j.model().generated.lock().unwrap().len(), 4);
}

#[test]
fn an_option_reported_alone_takes_all_the_mass() {
    assert_eq!(p_first(&[Some(-3.0), None]), Some(1.0));
    assert_eq!(p_first(&[None, Some(-3.0)]), Some(0.0));
    assert_eq!(p_first(&[None, None]), None);
    assert_eq!(p_first(&[Some(-700.0), Some(-700.0)]), Some(0.5));
}

#[test]
fn the_chat_form_asks_one_user_message() {
    let config = JudgeConfig {
        form: PromptForm::Chat,
        ..one_order()
    };
    let j = judge(FakeModel::constant(-1.0, -1.0), config);
    j.judge(&[Comparison::new(conv(), "a", "b")]).unwrap();
    let asked = j.model().asked.lock().unwrap();
    let Text::Chat(m) = &asked[0] else {
        panic!("a chat prompt")
    };
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].role, "user");
    assert!(
        m[0].content
            .ends_with("Answer with the letter of the better option only: A or B.")
    );
}
