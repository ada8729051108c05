//! Train / validation / test splits never share a prompt, for plain and conversational
//! prompts, and keep every record.

use std::collections::HashSet;

use pref_data::{Message, PreferencePair, SplitFractions, Text, prompt_key, split_by_prompt_text};
use proptest::prelude::*;

fn prompt(i: u8, chat: bool) -> Text {
    if chat {
        Text::Chat(vec![
            Message::new("system", "s"),
            Message::new("user", format!("q{i}")),
        ])
    } else {
        Text::Plain(format!("q{i}"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn splits_are_disjoint_by_prompt(
        items in prop::collection::vec((0u8..30, any::<bool>()), 0..150),
        valid in 0.0f64..0.5,
        test in 0.0f64..0.5,
        seed in any::<u64>(),
    ) {
        let pairs: Vec<PreferencePair> = items
            .iter()
            .enumerate()
            .map(|(n, &(i, chat))| PreferencePair::new(prompt(i, chat), format!("a{n}"), "b"))
            .collect();
        let s = split_by_prompt_text(pairs.clone(), |p| &p.prompt, SplitFractions { valid, test }, seed);
        prop_assert_eq!(s.train.len() + s.valid.len() + s.test.len(), pairs.len());
        let keys = |v: &[PreferencePair]| -> HashSet<String> {
            v.iter().map(|p| prompt_key(&p.prompt).into_owned()).collect()
        };
        let (a, b, c) = (keys(&s.train), keys(&s.valid), keys(&s.test));
        prop_assert!(a.is_disjoint(&b));
        prop_assert!(a.is_disjoint(&c));
        prop_assert!(b.is_disjoint(&c));
        // Nothing lost or duplicated: every completion (unique per record) appears once.
        let mut seen: Vec<String> = s.train.iter().chain(&s.valid).chain(&s.test)
            .map(|p| match &p.chosen { Text::Plain(x) => x.clone(), Text::Chat(_) => unreachable!() })
            .collect();
        seen.sort();
        seen.dedup();
        prop_assert_eq!(seen.len(), pairs.len());
        // The same seed gives the same splits.
        let again = split_by_prompt_text(pairs, |p| &p.prompt, SplitFractions { valid, test }, seed);
        prop_assert_eq!(again.valid, s.valid);
    }
}

#[test]
fn plain_and_chat_prompts_with_the_same_words_are_different_prompts() {
    assert_ne!(prompt_key(&prompt(1, false)), prompt_key(&prompt(1, true)));
    assert_eq!(prompt_key(&prompt(1, true)), prompt_key(&prompt(1, true)));
}
