//! AI-feedback datasets with fake policies and judges: two distinct responses per prompt,
//! soft labels written in the soft-pair format and read back, the report (histogram, order
//! agreement, principles), and agreement with human labels.

mod common;

use common::{FakeModel, plain};
use pref_data::{PreferencePair, ReadOptions, Text, read_soft_pairs};
use rlaif_judge::feedback::{human_agreement, sample_response_pairs, write_soft_pairs};
use rlaif_judge::{
    Comparison, Constitution, FeedbackReport, GenerateOptions, JudgeConfig, JudgeError, Judgement,
    MultipleChoiceJudge, PairwiseJudge, label_pairs,
};

/// Prefers the shorter response, with confidence growing with the length difference.
struct Shorter;

impl PairwiseJudge for Shorter {
    fn name(&self) -> &str {
        "shorter"
    }
    fn judge(&self, comparisons: &[Comparison]) -> Result<Vec<Judgement>, JudgeError> {
        Ok(comparisons
            .iter()
            .map(|c| {
                let d = c.b.len() as f64 - c.a.len() as f64;
                let p = 1.0 / (1.0 + (-d / 4.0).exp());
                Judgement {
                    p_a: p,
                    principles: vec!["brevity".into()],
                    by_order: Some((p, p)),
                    parsed: 0,
                    undecided: 0,
                }
            })
            .collect())
    }
}

fn hh(q: &str) -> Text {
    Text::Plain(format!("\n\nHuman: {q}\n\nAssistant:"))
}

#[test]
fn two_responses_per_prompt_identical_or_blank_pairs_dropped() {
    // Row i of a batch answers by its index: rows 0/1 differ, rows 2/3 are equal, row 5 is
    // blank.
    let policy = FakeModel::new(
        |_, o| vec![None; o.len()],
        |_, i| match i {
            2 | 3 => "same".into(),
            5 => "  ".into(),
            i => format!(" reply {i} "),
        },
    );
    let prompts = vec![hh("a"), hh("b"), hh("c")];
    let opts = GenerateOptions {
        temperature: 1.0,
        ..GenerateOptions::default()
    };
    let s = sample_response_pairs(&policy, &prompts, &opts, 8).unwrap();
    assert_eq!(s.pairs.len(), 1);
    assert_eq!((s.identical, s.blank), (1, 1));
    assert_eq!(s.pairs[0].a, "reply 0");
    assert_eq!(s.pairs[0].b, "reply 1");
    assert_eq!(policy.generated.lock().unwrap().len(), 6);
}

#[test]
fn soft_labels_round_trip_through_the_soft_pair_format() {
    let pairs: Vec<_> = (0..20)
        .map(|i| rlaif_judge::feedback::ResponsePair {
            prompt: hh(&format!("q{i}")),
            a: "x".repeat(1 + i % 7),
            b: "y".repeat(1 + (i * 3) % 5),
        })
        .collect();
    let fb = label_pairs(&Shorter, &pairs, 6).unwrap();
    assert_eq!(fb.pairs.len(), 20);
    assert_eq!(fb.judgements.len(), 20);
    for (p, r) in fb.pairs.iter().zip(&pairs) {
        assert_eq!(p.chosen, Text::Plain(format!(" {}", r.a)));
        let want = 1.0 / (1.0 + (-((r.b.len() as f64 - r.a.len() as f64) / 4.0)).exp());
        assert!((p.p_chosen - want).abs() < 1e-12);
    }
    let report = &fb.report;
    assert_eq!(report.histogram.iter().sum::<usize>(), 20);
    // Equal lengths give ½ in both orders: no agreement on those.
    let unequal = pairs.iter().filter(|p| p.a.len() != p.b.len()).count();
    assert!(unequal < 20);
    assert_eq!(report.order_agreement, Some(unequal as f64 / 20.0));
    assert_eq!(report.principles["brevity"], 20);
    let text = report.to_string();
    assert!(text.contains("20 pairs"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ai.jsonl.gz");
    assert_eq!(write_soft_pairs(&path, &fb).unwrap(), 20);
    let (back, _) = read_soft_pairs(&path, &ReadOptions::strict()).unwrap();
    assert_eq!(back, fb.pairs);
}

#[test]
fn the_report_counts_bins_and_disagreeing_orders() {
    let j = |p_a: f64, by_order: Option<(f64, f64)>| Judgement {
        p_a,
        principles: vec!["x".into()],
        by_order,
        parsed: 1,
        undecided: 0,
    };
    let r = FeedbackReport::of(&[
        j(0.0, Some((0.0, 0.0))),
        j(0.5, Some((0.9, 0.1))),
        j(1.0, Some((1.0, 1.0))),
        j(0.95, None),
    ]);
    assert_eq!(r.histogram, [1, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
    assert_eq!(r.decided, 3);
    assert_eq!(r.order_agreement, Some(2.0 / 3.0));
    assert!((r.mean_confidence - (1.0 + 0.0 + 1.0 + 0.9) / 4.0).abs() < 1e-12);
    assert_eq!(r.parsed, 4);
}

#[test]
fn agreement_with_human_labels() {
    // Humans chose the shorter reply in 3 pairs and the longer in 1 (and one tie is skipped).
    let mk = |c: &str, r: &str, p: f64| PreferencePair {
        p_chosen: p,
        ..PreferencePair::new(hh("q"), format!(" {c}"), format!(" {r}"))
    };
    let pairs = vec![
        mk("no", "a long answer", 1.0),
        mk("ok", "a much longer answer", 1.0),
        mk("a long answer", "short", 1.0),
        mk("long answer here", "tiny", 0.0), // the human preferred the rejected (shorter)
        mk("x", "y", 0.5),
    ];
    let h = human_agreement(&Shorter, &pairs, 0, 2).unwrap();
    assert_eq!(h.pairs, 4);
    assert_eq!((h.agree, h.disagree, h.ties), (3, 1, 0));
    assert!((h.rate - 0.75).abs() < 1e-12);
    assert!(
        h.to_string()
            .starts_with("agreement with human labels 75.0% on 4 pairs")
    );
    // A judge that always says A, asked in both orders, has no opinion at all.
    let always_a = MultipleChoiceJudge::new(
        FakeModel::constant(0.0, -9.0),
        Constitution::harmlessness(),
        JudgeConfig::default(),
    )
    .unwrap();
    let h = human_agreement(&always_a, &pairs, 0, 2).unwrap();
    assert_eq!(h.ties, 4);
    assert_eq!(h.rate, 0.5);
    assert_eq!(h.order_agreement, Some(0.0));
    let asked = always_a.model().asked.lock().unwrap();
    assert!(plain(&asked[0]).contains("(A) "));
}
