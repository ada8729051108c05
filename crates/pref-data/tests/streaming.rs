//! Streaming tokenisation: a JSON Lines file read record by record and tokenised in chunks
//! gives exactly what tokenising all records at once gives.

use std::sync::Arc;

use lm::tokenizer::{SpecialTokens, Tokenizer};
use pref_data::{
    ChatTemplate, JinjaTemplate, JsonlReader, Message, PairChunks, PreferencePair, Text,
    TokenizeConfig, tokenize_pairs, write_jsonl,
};

fn tokenizer() -> Tokenizer {
    let corpus = [
        "the quick brown fox jumps over the lazy dog",
        "user: assistant:",
    ];
    Tokenizer::train_bpe_from_iter(corpus, 300, &SpecialTokens::default(), 1).unwrap()
}

fn records(n: usize) -> Vec<PreferencePair> {
    (0..n)
        .map(|i| {
            let mut p = if i % 3 == 0 {
                PreferencePair::new(
                    Text::Chat(vec![Message::new("user", format!("question {i}"))]),
                    Text::Chat(vec![Message::new("assistant", "the quick fox")]),
                    Text::Chat(vec![Message::new("assistant", "a lazy dog")]),
                )
            } else {
                // Some prompts are long enough to be truncated, one in seven has an empty
                // completion (dropped without EOS).
                let prompt = "the quick brown fox ".repeat(i % 5);
                let chosen = if i % 7 == 0 {
                    String::new()
                } else {
                    format!(" jumps {i}")
                };
                PreferencePair::new(prompt + "?", chosen, " no")
            };
            p.p_chosen = (i % 4) as f64 / 4.0 + 0.25;
            p
        })
        .collect()
}

#[test]
fn chunks_equal_the_whole() {
    let t = tokenizer();
    let cfg = TokenizeConfig {
        max_prompt_len: 12,
        max_completion_len: 6,
        add_bos: true,
        add_eos: false,
    };
    let recs = records(50);
    let (whole, whole_report) = tokenize_pairs(&recs, &t, &ChatTemplate::Plain, &cfg).unwrap();
    assert!(whole_report.truncated_prompt > 0 && whole_report.dropped > 0);
    let dir = tempfile::tempdir().unwrap();
    for name in ["p.jsonl", "p.jsonl.gz"] {
        let path = dir.path().join(name);
        write_jsonl(&path, &recs).unwrap();
        let reader = JsonlReader::<PreferencePair>::open_as(&path).unwrap();
        let mut chunks = PairChunks::new(
            reader.map(|r| r.map(|(_, p)| p)),
            &t,
            ChatTemplate::Plain,
            &cfg,
            7,
        )
        .unwrap()
        .threads(if name.ends_with(".gz") { 3 } else { 1 });
        let mut streamed = Vec::new();
        let mut n_chunks = 0;
        for chunk in &mut chunks {
            let (pairs, report) = chunk.unwrap();
            assert!(report.records <= 7);
            assert_eq!(report.kept, pairs.len());
            streamed.extend(pairs);
            n_chunks += 1;
        }
        assert_eq!(n_chunks, 50usize.div_ceil(7));
        assert_eq!(streamed, whole);
        assert_eq!(chunks.report(), &whole_report);
    }
}

#[test]
fn a_bad_line_is_reported_and_reading_goes_on() {
    let t = tokenizer();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let good = serde_json::to_string(&PreferencePair::new("a", " b", " c")).unwrap();
    std::fs::write(&path, format!("{good}\n{{\"prompt\": 3}}\n{good}\n")).unwrap();
    let reader = JsonlReader::<PreferencePair>::open_as(&path).unwrap();
    let cfg = TokenizeConfig::default();
    let items: Vec<_> = PairChunks::new(
        reader.map(|r| r.map(|(_, p)| p)),
        &t,
        ChatTemplate::Plain,
        &cfg,
        10,
    )
    .unwrap()
    .collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().0.len(), 1);
    let e = items[1].as_ref().unwrap_err().to_string();
    assert!(
        e.starts_with("record #1: ") && e.contains("bad.jsonl:2"),
        "{e}"
    );
    let (pairs, _) = items[2].as_ref().unwrap();
    assert_eq!(pairs[0].group, 2);
}

#[test]
fn zero_chunk_size_is_an_error() {
    let t = tokenizer();
    let cfg = TokenizeConfig::default();
    let none = std::iter::empty::<Result<PreferencePair, String>>();
    assert!(PairChunks::new(none, &t, ChatTemplate::Plain, &cfg, 0).is_err());
}

#[test]
fn a_record_that_fails_to_render_is_reported_in_order_on_any_thread_count() {
    let t = tokenizer();
    let template = ChatTemplate::Jinja(Arc::new(
        JinjaTemplate::new(
            "{% for m in messages %}{% if m.role == 'bad' %}{{ raise_exception('bad role') }}\
             {% endif %}{{ m.role }}: {{ m.content }}\n{% endfor %}\
             {% if add_generation_prompt %}assistant: {% endif %}",
            Vec::<(String, String)>::new(),
            "test",
        )
        .unwrap(),
    ));
    let chat = |role: &str| {
        PreferencePair::new(
            Text::Chat(vec![Message::new(role, "q")]),
            Text::Chat(vec![Message::new("assistant", "a")]),
            Text::Chat(vec![Message::new("assistant", "b")]),
        )
    };
    let recs = vec![
        chat("user"),
        chat("user"),
        chat("bad"),
        chat("user"),
        chat("user"),
    ];
    let cfg = TokenizeConfig::default();
    for threads in [1, 2, 4] {
        let items: Vec<_> = PairChunks::new(
            recs.clone().into_iter().map(Ok::<_, String>),
            &t,
            template.clone(),
            &cfg,
            10,
        )
        .unwrap()
        .threads(threads)
        .collect();
        assert_eq!(items.len(), 3, "threads {threads}");
        let groups = |i: usize| -> Vec<usize> {
            items[i]
                .as_ref()
                .unwrap()
                .0
                .iter()
                .map(|p| p.group)
                .collect()
        };
        assert_eq!(groups(0), vec![0, 1]);
        let e = items[1].as_ref().unwrap_err().to_string();
        assert!(
            e.starts_with("record #2, field `chosen`") && e.contains("bad role"),
            "{e}"
        );
        assert_eq!(groups(2), vec![3, 4]);
    }
}
