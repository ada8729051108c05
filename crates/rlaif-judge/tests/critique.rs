//! Critique → revision (SL-CAI) with a scripted model: the context grows as in the paper,
//! every round is recorded under a seeded principle, chats work the same way, and the
//! final revisions are written as an SFT dataset that `pref-data` reads back.

mod common;

use common::{FakeModel, plain};
use pref_data::{Message, ReadOptions, Text, read_completions};
use rlaif_judge::critique::{
    distinct_word_ratio, sft_examples, write_revision_log, write_sft_dataset,
};
use rlaif_judge::{Constitution, CritiqueConfig, critique_and_revise};

/// Answers by what the prompt ends with: a response, a critique or a revision numbered by
/// how many revisions the context already holds.
fn scripted() -> FakeModel {
    FakeModel::new(
        |_, options| vec![None; options.len()],
        |p, _| match p {
            Text::Plain(t) if t.ends_with("\nCritique:") => " It could be kinder.".into(),
            Text::Plain(t) if t.ends_with("\nRevision:") => {
                format!(
                    " Revised reply {}.\n\nHuman: ignored",
                    t.matches("Revision:").count()
                )
            }
            Text::Plain(_) => " Sure, here is how.".into(),
            Text::Chat(m) => {
                let last = &m.last().unwrap();
                if last.role == "assistant" {
                    "Sure, here is how.".into()
                } else if last.content.contains("Rewrite") {
                    "A kinder reply.".into()
                } else if last.content.starts_with("Point out")
                    || last.content.contains('?')
                    || last.content.starts_with("Identify")
                    || last.content.starts_with("Explain")
                {
                    "It could be kinder.".into()
                } else {
                    "Sure, here is how.".into()
                }
            }
        },
    )
}

fn hh(q: &str) -> Text {
    Text::Plain(format!("\n\nHuman: {q}\n\nAssistant:"))
}

#[test]
fn rounds_are_recorded_and_the_context_follows_the_paper() {
    let model = scripted();
    let c = Constitution::harmlessness();
    let config = CritiqueConfig {
        rounds: 2,
        seed: 5,
        ..CritiqueConfig::default()
    };
    let prompts = vec![hh("How do I hotwire a car?"), hh("Tell me a joke")];
    let records = critique_and_revise(&model, &c, &prompts, &config).unwrap();
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r.response, "Sure, here is how.");
        assert_eq!(r.rounds.len(), 2);
        assert_eq!(r.rounds[0].critique, "It could be kinder.");
        // Stop strings cut the revision at the next human turn.
        assert_eq!(r.rounds[0].revision, "Revised reply 1.");
        assert_eq!(r.rounds[1].revision, "Revised reply 2.");
        assert_eq!(r.final_response(), "Revised reply 2.");
        for round in &r.rounds {
            assert!(c.principle(&round.principle).is_some());
        }
    }
    // The same seed draws the same principles; the second round's context holds the first.
    let again = critique_and_revise(&scripted(), &c, &prompts, &config).unwrap();
    assert_eq!(records, again);
    let asked = model.generated.lock().unwrap();
    let last = plain(asked.last().unwrap());
    let p0 = c.principle(&records[1].rounds[0].principle).unwrap();
    let p1 = c.principle(&records[1].rounds[1].principle).unwrap();
    let want = format!(
        "\n\nHuman: Tell me a joke\n\nAssistant: Sure, here is how.\n\nCritiqueRequest: {}\nCritique: It could be kinder.\n\nRevisionRequest: {}\nRevision: Revised reply 1.\n\nCritiqueRequest: {}\nCritique: It could be kinder.\n\nRevisionRequest: {}\nRevision:",
        p0.critique_request, p0.revision_request, p1.critique_request, p1.revision_request
    );
    assert_eq!(last, want);
}

#[test]
fn chat_prompts_grow_as_messages() {
    let model = scripted();
    let c = Constitution::harmlessness();
    let prompt = Text::Chat(vec![Message::new("user", "How do I hotwire a car?")]);
    let records = critique_and_revise(&model, &c, &[prompt], &CritiqueConfig::default()).unwrap();
    assert_eq!(records[0].final_response(), "A kinder reply.");
    let asked = model.generated.lock().unwrap();
    let Text::Chat(m) = asked.last().unwrap() else {
        panic!("chat")
    };
    let roles: Vec<&str> = m.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant", "user"]);
    assert_eq!(m[3].content, "It could be kinder.");
}

#[test]
fn final_revisions_are_written_as_sft_data() {
    let c = Constitution::harmlessness();
    let mut records = critique_and_revise(
        &scripted(),
        &c,
        &[hh("a"), hh("b"), hh("c")],
        &CritiqueConfig::default(),
    )
    .unwrap();
    // A blank revision falls back to the response; a blank everything is dropped.
    records[1].rounds[0].revision = "  ".into();
    records[2].rounds[0].revision.clear();
    records[2].response.clear();
    assert_eq!(records[1].final_response(), "Sure, here is how.");
    let examples = sft_examples(&records);
    assert_eq!(examples.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sl-cai.jsonl");
    assert_eq!(write_sft_dataset(&path, &records).unwrap(), 2);
    let (back, report) = read_completions(&path, &ReadOptions::strict()).unwrap();
    assert_eq!(back, examples);
    assert_eq!(report.skipped_total(), 0);
    assert_eq!(back[0].prompt, hh("a"));
    assert_eq!(back[0].completion, Text::Plain(" Revised reply 1.".into()));
    let log = dir.path().join("rounds.jsonl");
    assert_eq!(write_revision_log(&log, &records).unwrap(), 3);
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["rounds"][0]["critique"], "It could be kinder.");
}

#[test]
fn degenerate_loops_have_a_low_distinct_word_ratio() {
    assert_eq!(distinct_word_ratio(""), 0.0);
    assert_eq!(distinct_word_ratio("I can help with that."), 1.0);
    assert!(distinct_word_ratio("I’t a a a a a a a a a a a a a") < 0.2);
}
