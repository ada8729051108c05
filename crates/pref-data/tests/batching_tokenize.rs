//! Tokenisation of records: truncation policy, report counts, drops, soft labels, rankings.

use std::collections::HashMap;

use lm::tokenizer::{SpecialTokens, Tokenizer};
use pref_data::{
    ChatTemplate, Message, PreferencePair, PromptExample, RankedExample, Text, TokenizeConfig,
    UnpairedExample, ranked_to_pairs, tokenize_pairs, tokenize_prompts, tokenize_ranked,
    tokenize_unpaired,
};
use proptest::prelude::*;

fn tokenizer() -> Tokenizer {
    let corpus = [
        "hello world, how are you today?",
        "yes no maybe so the quick brown fox jumps over the lazy dog",
        "user: assistant: system: one two three four five six seven",
    ];
    Tokenizer::train_bpe_from_iter(corpus, 300, &SpecialTokens::default(), 1).unwrap()
}

fn enc(t: &Tokenizer, s: &str) -> Vec<u32> {
    t.encode(s, false, false).unwrap()
}

fn cfg(max_prompt_len: usize, max_completion_len: usize) -> TokenizeConfig {
    TokenizeConfig {
        max_prompt_len,
        max_completion_len,
        ..Default::default()
    }
}

#[test]
fn plain_pair_is_bos_prompt_and_completion_eos() {
    let t = tokenizer();
    let mut p = PreferencePair::new("hello world", " yes", " no");
    p.p_chosen = 0.8;
    p.margin = Some(1.5);
    let (out, report) =
        tokenize_pairs(&[p], &t, &ChatTemplate::Plain, &TokenizeConfig::default()).unwrap();
    let mut want_prompt = vec![t.bos_id()];
    want_prompt.extend(enc(&t, "hello world"));
    assert_eq!(out[0].prompt, want_prompt);
    let mut want = enc(&t, " yes");
    want.push(t.eos_id());
    assert_eq!(out[0].chosen, want);
    assert_eq!(*out[0].rejected.last().unwrap(), t.eos_id());
    assert_eq!(
        (out[0].p_chosen, out[0].margin, out[0].weight),
        (0.8, Some(1.5), 1.0)
    );
    assert_eq!(report.kept, 1);
    assert_eq!(report.truncated, 0);
}

#[test]
fn truncation_keeps_prompt_end_and_completion_start() {
    let t = tokenizer();
    let prompt = "one two three four five six seven";
    let long = " the quick brown fox jumps over the lazy dog";
    let p_ids = enc(&t, prompt);
    let c_ids = enc(&t, long);
    // Room for the short completions and their EOS, not for the long one.
    let m = enc(&t, " yes").len().max(enc(&t, " no").len()) + 1;
    assert!(p_ids.len() > 4 && c_ids.len() > m);
    let pairs = vec![
        PreferencePair::new(prompt, long, " no"),    // both cut
        PreferencePair::new("hello", " yes", " no"), // nothing cut
        PreferencePair::new("hello", " no", long),   // rejected cut
    ];
    let (out, report) = tokenize_pairs(&pairs, &t, &ChatTemplate::Plain, &cfg(4, m)).unwrap();
    // BOS + the last 3 prompt tokens.
    let mut want = vec![t.bos_id()];
    want.extend(&p_ids[p_ids.len() - 3..]);
    assert_eq!(out[0].prompt, want);
    // The first m completion tokens: EOS is cut with the rest.
    assert_eq!(out[0].chosen, c_ids[..m].to_vec());
    assert!(!out[0].chosen.contains(&t.eos_id()));
    assert_eq!(*out[0].rejected.last().unwrap(), t.eos_id());
    assert_eq!(
        (
            report.records,
            report.kept,
            report.truncated,
            report.truncated_prompt,
            report.truncated_completion
        ),
        (3, 3, 2, 1, 2)
    );
    assert_eq!(report.dropped, 0);
    assert_eq!(
        report.to_string(),
        "3 records: 3 kept (2 truncated: 1 prompt, 2 completion), 0 dropped"
    );
}

#[test]
fn completion_that_fits_with_eos_is_not_truncated() {
    let t = tokenizer();
    let n = enc(&t, " yes").len();
    let (out, report) = tokenize_pairs(
        &[PreferencePair::new("hello", " yes", " yes")],
        &t,
        &ChatTemplate::Plain,
        &cfg(8, n + 1),
    )
    .unwrap();
    assert_eq!(report.truncated_completion, 0);
    assert_eq!(*out[0].chosen.last().unwrap(), t.eos_id());
}

#[test]
fn empty_records_are_dropped_and_counted() {
    let t = tokenizer();
    let no_special = TokenizeConfig {
        add_bos: false,
        add_eos: false,
        ..Default::default()
    };
    let pairs = vec![
        PreferencePair::new("", " yes", " no"),
        PreferencePair::new("hello", "", " no"),
        PreferencePair::new("hello", " yes", " no"),
    ];
    let (out, report) = tokenize_pairs(&pairs, &t, &ChatTemplate::Plain, &no_special).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].group, 2);
    assert_eq!(
        (
            report.dropped,
            report.dropped_empty_prompt,
            report.dropped_empty_completion
        ),
        (2, 1, 1)
    );
    assert!(
        report
            .to_string()
            .ends_with("2 dropped (1 empty prompt, 1 empty completion)")
    );
    // With BOS and EOS nothing is empty.
    let (out, report) =
        tokenize_pairs(&pairs, &t, &ChatTemplate::Plain, &TokenizeConfig::default()).unwrap();
    assert_eq!((out.len(), report.dropped), (3, 0));
}

#[test]
fn bos_written_by_the_template_is_not_doubled() {
    let t = tokenizer();
    let (out, _) = tokenize_pairs(
        &[PreferencePair::new("<|bos|>hello", " yes", " no")],
        &t,
        &ChatTemplate::Plain,
        &cfg(3, 8),
    )
    .unwrap();
    assert_eq!(out[0].prompt[0], t.bos_id());
    assert_eq!(
        out[0].prompt.iter().filter(|&&x| x == t.bos_id()).count(),
        1
    );
    assert!(out[0].prompt.len() <= 3);
}

#[test]
fn conversations_use_the_template() {
    let t = tokenizer();
    let pair = PreferencePair::new(
        Text::Chat(vec![Message::new("user", "hello")]),
        Text::Chat(vec![Message::new("assistant", "yes")]),
        Text::Chat(vec![Message::new("assistant", "no")]),
    );
    let (out, _) = tokenize_pairs(
        &[pair],
        &t,
        &ChatTemplate::Plain,
        &TokenizeConfig::default(),
    )
    .unwrap();
    let mut want = vec![t.bos_id()];
    want.extend(enc(&t, "user: hello\nassistant: "));
    assert_eq!(out[0].prompt, want);
    let mut want = enc(&t, "yes\n");
    want.push(t.eos_id());
    assert_eq!(out[0].chosen, want);
}

#[test]
fn invalid_config_is_an_error() {
    let t = tokenizer();
    let e = tokenize_pairs(&[], &t, &ChatTemplate::Plain, &cfg(1, 4)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tokenize config: `max_prompt_len`: expected at least 2 (add_bos = true), got 1"
    );
    assert!(tokenize_pairs(&[], &t, &ChatTemplate::Plain, &cfg(4, 0)).is_err());
}

#[test]
fn unpaired_and_prompts() {
    let t = tokenizer();
    let ex = [
        UnpairedExample {
            prompt: "hello".into(),
            completion: " yes".into(),
            label: true,
        },
        UnpairedExample {
            prompt: "hello".into(),
            completion: " no".into(),
            label: false,
        },
    ];
    let (out, r) =
        tokenize_unpaired(&ex, &t, &ChatTemplate::Plain, &TokenizeConfig::default()).unwrap();
    assert_eq!(r.kept, 2);
    assert!(out[0].label && !out[1].label);
    assert_eq!(*out[1].completion.last().unwrap(), t.eos_id());

    let prompts = [PromptExample {
        prompt: Text::Chat(vec![Message::new(
            "user",
            "one two three four five six seven",
        )]),
        reference: Some("7".into()),
    }];
    let (out, r) = tokenize_prompts(&prompts, &t, &ChatTemplate::Plain, &cfg(5, 1)).unwrap();
    let full = enc(&t, "user: one two three four five six seven\nassistant: ");
    let mut want = vec![t.bos_id()];
    want.extend(&full[full.len() - 4..]);
    assert_eq!(out[0].prompt, want);
    assert_eq!(out[0].reference.as_deref(), Some("7"));
    assert_eq!(r.truncated_prompt, 1);
}

#[test]
fn ranked_orders_best_first_and_implies_weighted_pairs() {
    let t = tokenizer();
    let r = RankedExample {
        prompt: "hello".into(),
        completions: vec![
            " one".into(),
            " two".into(),
            " three".into(),
            " four".into(),
        ],
        scores: Some(vec![1.0, 3.0, 2.0, 3.0]),
    };
    let (out, report) =
        tokenize_ranked(&[r], &t, &ChatTemplate::Plain, &TokenizeConfig::default()).unwrap();
    assert_eq!(report.kept, 1);
    let comp = |s: &str| {
        let mut v = enc(&t, s);
        v.push(t.eos_id());
        v
    };
    assert_eq!(
        out[0].completions,
        vec![comp(" two"), comp(" four"), comp(" three"), comp(" one")]
    );
    // The tie between " two" and " four" (positions 0 and 1) implies no pair.
    assert_eq!(out[0].implied, vec![(0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
    let pairs = ranked_to_pairs(&out);
    assert_eq!(pairs.len(), 5);
    assert!(
        pairs
            .iter()
            .all(|p| (p.weight - 0.2).abs() < 1e-7 && p.p_chosen == 1.0)
    );
    assert_eq!(pairs[0].chosen, comp(" two"));
    assert_eq!(pairs[0].rejected, comp(" three"));

    let bad = RankedExample {
        prompt: "x".into(),
        completions: vec!["a".into(), "b".into()],
        scores: Some(vec![1.0]),
    };
    let e =
        tokenize_ranked(&[bad], &t, &ChatTemplate::Plain, &TokenizeConfig::default()).unwrap_err();
    assert!(
        e.to_string().starts_with("record #0, field `scores`"),
        "{e}"
    );
    let one = RankedExample {
        prompt: "x".into(),
        completions: vec!["a".into()],
        scores: None,
    };
    let (out, report) =
        tokenize_ranked(&[one], &t, &ChatTemplate::Plain, &TokenizeConfig::default()).unwrap();
    assert!(out.is_empty());
    assert_eq!(report.dropped_too_few_completions, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The implied pairs of each prompt weigh 1 in total (unless all its completions tie),
    /// and each is ordered better → worse.
    #[test]
    fn implied_pair_weights_sum_to_one_per_prompt(
        rankings in prop::collection::vec(prop::collection::vec(0u8..4, 2..6), 1..6),
    ) {
        let t = tokenizer();
        let words = ["one", "two", "three", "four", "five", "six"];
        let examples: Vec<RankedExample> = rankings
            .iter()
            .map(|scores| RankedExample {
                prompt: "hello".into(),
                completions: (0..scores.len()).map(|i| Text::Plain(words[i].into())).collect(),
                scores: Some(scores.iter().map(|&s| f64::from(s)).collect()),
            })
            .collect();
        let (out, _) = tokenize_ranked(&examples, &t, &ChatTemplate::Plain, &TokenizeConfig::default()).unwrap();
        let pairs = ranked_to_pairs(&out);
        let mut total: HashMap<usize, f32> = HashMap::new();
        for p in &pairs {
            *total.entry(p.group).or_default() += p.weight;
        }
        for (g, scores) in rankings.iter().enumerate() {
            let all_tied = scores.iter().all(|&s| s == scores[0]);
            match total.get(&g) {
                Some(w) => prop_assert!((w - 1.0).abs() < 1e-5, "group {} weighs {}", g, w),
                None => prop_assert!(all_tied),
            }
        }
        for r in &out {
            let s = &rankings[r.group];
            let order = examples[r.group].order();
            for &(a, b) in &r.implied {
                prop_assert!(s[order[a]] > s[order[b]]);
            }
        }
    }
}
