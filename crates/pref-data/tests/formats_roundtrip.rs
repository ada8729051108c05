//! Every format reads its fixture as expected, and round-trips write → read, plain and
//! gzip, for hand-written and for random records.

use std::path::{Path, PathBuf};

use pref_data::formats::{
    Format, FormatReader, Hh, Mode, Pairwise, PromptOnly, Ranked, ReadOptions, SoftPairwise,
    Unpaired, read, write,
};
use pref_data::{
    HhPair, Message, PreferencePair, PromptExample, RankedExample, Text, UnpairedExample,
};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

fn user(s: &str) -> Text {
    Text::Chat(vec![Message::new("user", s)])
}

fn assistant(s: &str) -> Text {
    Text::Chat(vec![Message::new("assistant", s)])
}

/// Reads `name` strictly (every record must be valid) and checks the records.
fn read_fixture<F: Format>(name: &str, format: F) -> Vec<F::Record>
where
    F::Record: std::fmt::Debug,
{
    let opts = ReadOptions::strict().allow_ties(false);
    let (records, report) = read(fixture(name), format, &opts).unwrap();
    assert_eq!(report.kept, records.len());
    assert_eq!(report.skipped_total(), 0);
    records
}

/// Writes `records` to `name` and `name.gz` in a temporary folder, reads each back
/// strictly, and checks equality; also through the streaming reader with line numbers.
fn roundtrip<F: Format + Copy>(format: F, records: &[F::Record])
where
    F::Record: std::fmt::Debug,
{
    let dir = tempfile::tempdir().unwrap();
    for name in ["r.jsonl", "r.jsonl.gz"] {
        let path = dir.path().join(name);
        assert_eq!(write(&path, &format, records).unwrap(), records.len());
        let gz = std::fs::read(&path).unwrap().starts_with(&[0x1f, 0x8b]);
        assert_eq!(gz, name.ends_with(".gz"));
        let opts = ReadOptions::strict()
            .allow_ties(true)
            .deny_unknown_fields(true);
        let (back, report) = read(&path, format, &opts).unwrap();
        assert_eq!(back, records);
        assert_eq!(report.kept, records.len());
        let lines: Vec<usize> = FormatReader::open(&path, format, opts)
            .unwrap()
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(lines, (1..=records.len()).collect::<Vec<_>>());
    }
}

#[test]
fn pairwise_fixture_all_trl_forms() {
    let pairs = read_fixture("pairwise.jsonl", Pairwise);
    let sky = PreferencePair::new("The sky is", " blue.", " green.");
    let chat = PreferencePair {
        margin: Some(2.0),
        ..PreferencePair::new(
            user("What color is the sky?"),
            assistant("It is blue."),
            assistant("It is green."),
        )
    };
    let sun = PreferencePair::new(
        user("Where is the sun?"),
        assistant("In the sky."),
        assistant("In the sea."),
    );
    assert_eq!(pairs, vec![sky.clone(), chat, sky, sun.clone(), sun]);
    roundtrip(Pairwise, &pairs);
}

#[test]
fn soft_fixture() {
    let pairs = read_fixture("soft.jsonl", SoftPairwise);
    assert_eq!(pairs.len(), 2);
    assert_eq!(
        pairs[0],
        PreferencePair {
            p_chosen: 0.93,
            ..PreferencePair::new("2 + 2 =", " 4", " 5")
        }
    );
    assert_eq!(pairs[1].p_chosen, 0.5);
    assert_eq!(pairs[1].margin, Some(0.1));
    assert_eq!(pairs[1].chosen, assistant("Hi!"));
    roundtrip(SoftPairwise, &pairs);
}

#[test]
fn unpaired_fixture() {
    let ex = read_fixture("unpaired.jsonl", Unpaired);
    let labels: Vec<bool> = ex.iter().map(|e| e.label).collect();
    assert_eq!(labels, vec![true, false, false]);
    assert_eq!(ex[2].completion, assistant("It is green."));
    roundtrip(Unpaired, &ex);
}

#[test]
fn prompt_fixture_reads_every_reference_alias() {
    let ex = read_fixture("prompts.jsonl", PromptOnly);
    let refs: Vec<Option<&str>> = ex.iter().map(|e| e.reference.as_deref()).collect();
    assert_eq!(
        refs,
        vec![
            Some("42"),
            Some("72"),
            Some("x = 2 or x = -2"),
            None,
            Some("Paris")
        ]
    );
    assert_eq!(ex[3].prompt, user("Write a haiku."));
    roundtrip(PromptOnly, &ex);
}

#[test]
fn ranked_fixture() {
    let ex = read_fixture("ranked.jsonl", Ranked);
    assert_eq!(ex[0].order(), vec![0, 1, 2]);
    assert_eq!(ex[1].scores, Some(vec![3.0, 1.0, 2.0, 4.5]));
    assert_eq!(ex[1].order(), vec![3, 0, 2, 1]);
    assert_eq!(ex[2].completions[1], assistant("Go away."));
    roundtrip(Ranked, &ex);
}

#[test]
fn hh_roundtrip_on_real_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join("../shared/data/hh-rlhf/harmless-base-dev.jsonl.gz");
    assert!(
        path.is_file(),
        "the HH-RLHF test data is needed: {}",
        path.display()
    );
    let (pairs, report) = read(&path, Hh, &ReadOptions::default()).unwrap();
    assert_eq!(report.kept, 1992);
    roundtrip(Hh, &pairs);
    // The written dialogues are the original lines' dialogues.
    let first = pref_data::JsonlReader::open(&path).unwrap().next().unwrap();
    let first = first.unwrap().1;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hh.jsonl");
    pref_data::write_hh(&out, &pairs[..1]).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
    assert_eq!(written, first);
}

#[test]
fn lenient_default_mode_is_the_default() {
    assert_eq!(ReadOptions::default().mode, Mode::Lenient);
}

// ---- random records ----------------------------------------------------------------

/// Any text, including escapes, newlines and non-ASCII; non-blank.
fn content() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 é✓\\n\"\\\\{}\\[\\]\t]{0,12}[a-zé✓]"
}

fn chat() -> impl Strategy<Value = Text> {
    let role = prop_oneof![Just("system"), Just("user"), Just("assistant")];
    proptest::collection::vec((role, content()), 1..4)
        .prop_map(|m| Text::Chat(m.into_iter().map(|(r, c)| Message::new(r, c)).collect()))
}

/// `n` texts of one form (plain or chat) — the form of the whole record.
fn texts(n: usize) -> impl Strategy<Value = Vec<Text>> {
    prop_oneof![
        proptest::collection::vec(content().prop_map(Text::Plain), n),
        proptest::collection::vec(chat(), n),
    ]
}

/// Whether two completions would be rejected as identical.
fn same(a: &Text, b: &Text) -> bool {
    match (a, b) {
        (Text::Plain(x), Text::Plain(y)) => x.trim() == y.trim(),
        (Text::Chat(x), Text::Chat(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(m, n)| m.role == n.role && m.content.trim() == n.content.trim())
        }
        _ => false,
    }
}

fn margin() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![Just(None), (0.0..1e6f64).prop_map(Some), Just(Some(0.0))]
}

fn pair(prompt_empty_ok: bool) -> impl Strategy<Value = PreferencePair> {
    (texts(3), margin(), any::<bool>())
        .prop_filter("distinct completions", |(t, _, _)| !same(&t[1], &t[2]))
        .prop_map(move |(t, margin, empty_prompt)| {
            let prompt = if prompt_empty_ok && empty_prompt {
                match &t[0] {
                    Text::Plain(_) => Text::Plain(String::new()),
                    Text::Chat(_) => Text::Chat(vec![]),
                }
            } else {
                t[0].clone()
            };
            PreferencePair {
                prompt,
                chosen: t[1].clone(),
                rejected: t[2].clone(),
                p_chosen: 1.0,
                margin,
            }
        })
}

/// Arbitrary finite doubles, not just round ones, so that the JSON number text must
/// carry every bit.
fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |x| x.is_finite())
}

fn probability() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(1.0),
        0.0..=1.0f64,
        any::<u64>().prop_map(|b| (b as f64 / u64::MAX as f64).clamp(0.0, 1.0)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_pairs_roundtrip(pairs in proptest::collection::vec(pair(true), 1..6)) {
        roundtrip(Pairwise, &pairs);
    }

    #[test]
    fn random_soft_pairs_roundtrip(
        pairs in proptest::collection::vec((pair(true), probability()), 1..6)
    ) {
        let pairs: Vec<_> = pairs
            .into_iter()
            .map(|(p, p_chosen)| PreferencePair { p_chosen, ..p })
            .collect();
        roundtrip(SoftPairwise, &pairs);
    }

    #[test]
    fn random_unpaired_roundtrip(items in proptest::collection::vec((texts(2), any::<bool>()), 1..6)) {
        let ex: Vec<_> = items
            .into_iter()
            .map(|(t, label)| UnpairedExample { prompt: t[0].clone(), completion: t[1].clone(), label })
            .collect();
        roundtrip(Unpaired, &ex);
    }

    #[test]
    fn random_prompts_roundtrip(
        items in proptest::collection::vec((texts(1), proptest::option::of(content())), 1..6)
    ) {
        let ex: Vec<_> = items
            .into_iter()
            .map(|(t, reference)| PromptExample { prompt: t[0].clone(), reference })
            .collect();
        roundtrip(PromptOnly, &ex);
    }

    #[test]
    fn random_rankings_roundtrip(
        items in proptest::collection::vec(
            (2usize..6).prop_flat_map(|k| (
                texts(k + 1),
                proptest::option::of(proptest::collection::vec(finite(), k)),
            )),
            1..5,
        )
    ) {
        let ex: Vec<_> = items
            .into_iter()
            .filter_map(|(t, scores)| {
                let completions = t[1..].to_vec();
                let distinct = completions
                    .iter()
                    .enumerate()
                    .all(|(i, a)| completions[..i].iter().all(|b| !same(a, b)));
                distinct.then(|| RankedExample { prompt: t[0].clone(), completions, scores })
            })
            .collect();
        prop_assume!(!ex.is_empty());
        roundtrip(Ranked, &ex);
    }

    #[test]
    fn random_hh_roundtrip(
        turns in proptest::collection::vec(("[a-z ?]{1,10}", "[a-z .]{1,10}"), 0..3),
        last in "[a-z?]{1,10}",
        a in "[a-z.]{1,10}",
        b in "[a-z!]{1,10}",
    ) {
        prop_assume!(a != b);
        let mut prompt = String::new();
        for (h, x) in &turns {
            prompt.push_str(&format!("\n\nHuman: {h}\n\nAssistant: {x}"));
        }
        prompt.push_str(&format!("\n\nHuman: {last}\n\nAssistant:"));
        let pair = HhPair { prompt, chosen: format!(" {a}"), rejected: format!(" {b}") };
        roundtrip(Hh, &[pair]);
    }
}
