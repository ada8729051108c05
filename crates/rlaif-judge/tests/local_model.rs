//! LocalModel: a tiny randomly initialised transformer with a tokenizer trained on the fly
//! serves as a TextModel (generation and option log-probabilities) and runs a
//! `score_model` grader end to end.

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};
use lm::tokenizer::{SpecialTokens, Tokenizer};
use lm::{CausalLm, Transformer, TransformerConfig};
use pref_data::{Message, Text};
use rlaif_judge::grader::{BuildContext, ConfigFormat, parse_graders};
use rlaif_judge::{GenerateOptions, Grader, GraderSample, Item, LocalModel, TextModel};

fn setup() -> (LocalModel<Transformer>, Device) {
    let device = lm::select_device().expect("device");
    let corpus: Vec<String> = (0..200)
        .map(|i| {
            format!(
                "user: what is {i} plus {}?\nassistant: it is {} . A B yes no",
                i % 7,
                i + i % 7
            )
        })
        .collect();
    let tokenizer =
        Tokenizer::train_bpe_from_iter(corpus, 300, &SpecialTokens::default(), 2).unwrap();
    let config =
        TransformerConfig::llama(tokenizer.vocab_size(), 32, 2, 4, 2, 64).with_max_seq_len(96);
    let model = Transformer::new(&config, 3, &device).unwrap();
    (
        LocalModel::new("tiny", model, tokenizer, device.clone()),
        device,
    )
}

#[test]
fn generation_is_deterministic_and_respects_options() {
    let (m, _) = setup();
    let prompts = vec![
        Text::Plain("user: what is 3 plus 4?\nassistant:".into()),
        Text::Chat(vec![Message::new("user", "what is 1 plus 1?")]),
    ];
    let opts = GenerateOptions {
        max_new_tokens: 6,
        ..GenerateOptions::default()
    };
    let a = m.generate(&prompts, &opts).unwrap();
    let b = m.generate(&prompts, &opts).unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a, b, "greedy generation is deterministic");
    let sampled = GenerateOptions {
        temperature: 1.0,
        seed: 9,
        ..opts.clone()
    };
    assert_eq!(
        m.generate(&prompts, &sampled).unwrap(),
        m.generate(&prompts, &sampled).unwrap()
    );
    for t in &a {
        assert!(
            m.tokenizer().encode(t, false, false).unwrap().len() <= 6 + 2,
            "{t:?}"
        );
    }
    assert!(m.generate(&[], &opts).unwrap().is_empty());
    let too_long = GenerateOptions {
        max_new_tokens: 200,
        ..opts
    };
    assert!(
        m.generate(&prompts, &too_long)
            .unwrap_err()
            .to_string()
            .contains("exceeds the model's context")
    );
}

/// The log-prob of `option` after `prompt` from one unpadded forward pass.
fn direct(m: &LocalModel<Transformer>, device: &Device, prompt: &str, option: &str) -> f64 {
    let tok = m.tokenizer();
    let p = tok.encode(prompt, false, false).unwrap();
    let oi = tok.encode(option, false, false).unwrap();
    let ids: Vec<i64> = p.iter().chain(&oi).map(|&v| v as i64).collect();
    let n = ids.len();
    let t = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, n]), device);
    let mask = Tensor::<2, Int>::ones([1, n], device);
    let per: Vec<f32> = m
        .model()
        .token_logprobs(t, mask)
        .into_data()
        .iter::<f32>()
        .collect();
    per[p.len() - 1..].iter().map(|&v| v as f64).sum()
}

#[test]
fn option_logprobs_equal_a_direct_forward_pass() {
    let (m, device) = setup();
    let text = "user: is it right?\nassistant:";
    let prompt = Text::Plain(text.into());
    let tok = m.tokenizer();
    let single = |o: &str| tok.encode(o, false, false).unwrap().len() == 1;
    // One token each (one forward per prompt); different lengths (one row per option);
    // the same first tokens and a different last one (one forward per prompt, the shared
    // tokens scored on the way).
    let sets: Vec<Vec<String>> = vec![
        vec![" yes".into(), " no".into()],
        vec![" yes".into(), " no".into(), " A B".into()],
        vec![" A B".into(), " A yes".into()],
    ];
    assert!(
        single(" yes") && single(" no"),
        "the first set takes the one-token path"
    );
    for options in &sets {
        let lps = m.option_logprobs(&prompt, options).unwrap();
        assert_eq!(lps.len(), options.len());
        for (o, lp) in options.iter().zip(&lps) {
            let lp = lp.expect("scored");
            assert!(lp < 0.0 && lp.is_finite());
            let want = direct(&m, &device, text, o);
            assert!((lp - want).abs() < 1e-4, "{o:?}: {lp} vs {want}");
        }
    }
    // Probabilities of single-token alternatives from one distribution sum to at most 1.
    let lps = m.option_logprobs(&prompt, &sets[0]).unwrap();
    assert!(lps[0].unwrap().exp() + lps[1].unwrap().exp() <= 1.0 + 1e-5);
}

#[test]
fn batched_option_logprobs_equal_one_prompt_at_a_time() {
    let (m, _) = setup();
    let m = m.with_batch_rows(2);
    let prompts: Vec<Text> = [
        "user: hi\nassistant:",
        "user: what is 3 plus 4 and then 5?\nassistant: it is",
        "user: a\nassistant:",
    ]
    .iter()
    .map(|s| Text::Plain(s.to_string()))
    .collect();
    for options in [
        vec![" yes".to_string(), " no".to_string()],
        vec![" yes".to_string(), " A B".to_string()],
    ] {
        let batch = m.option_logprobs_batch(&prompts, &options).unwrap();
        assert_eq!(batch.len(), 3);
        for (p, row) in prompts.iter().zip(&batch) {
            let alone = m.option_logprobs(p, &options).unwrap();
            for (x, y) in row.iter().zip(&alone) {
                assert!((x.unwrap() - y.unwrap()).abs() < 1e-4, "{x:?} vs {y:?}");
            }
        }
    }
    assert!(
        m.option_logprobs_batch(&[], &["x".into()])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_score_model_grader_runs_on_the_local_model() {
    let (m, _) = setup();
    let cfg = parse_graders(
        r#"
[[graders]]
type = "score_model"
name = "tiny-judge"
model = "tiny"
range = [0, 10]
input = [{ role = "user", content = "Score the answer {{ sample.output_text }} for {{ item.q }} from 0 to 10." }]
sampling_params = { max_completions_tokens = 4 }
"#,
        ConfigFormat::Toml,
        "judge.toml",
    )
    .unwrap();
    let ctx = BuildContext::new().with_model("tiny", Arc::new(m));
    let mut g = cfg[0].build(&ctx, "judge.toml").unwrap();
    let item: Item = serde_json::json!({"q": "1 plus 1"})
        .as_object()
        .unwrap()
        .clone();
    let r = g.grade(&GraderSample::from_text("2"), &item);
    // An untrained model rarely prints a number: either way the grade is in range, and a
    // non-number is a model failure with the answer quoted.
    assert!((0.0..=10.0).contains(&r.score), "{}", r.reason);
    assert!(
        r.failure.is_none() || r.reason.starts_with("model error: expected a number"),
        "{}",
        r.reason
    );
}

#[test]
fn a_chat_judge_prompt_is_rendered_with_the_models_chat_template() {
    use pref_data::{ChatTemplate, JinjaTemplate};
    let (m, _) = setup();
    let source = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
    let template = JinjaTemplate::new(source, [("bos_token", "<|bos|>")], "<test>").unwrap();
    let m = m.with_template(ChatTemplate::Jinja(std::sync::Arc::new(template)));
    let chat = Text::Chat(vec![Message::new("user", "is it 3?")]);
    let options = vec![" yes".to_string(), " no".to_string()];
    let via_template = m.option_logprobs(&chat, &options).unwrap();
    let by_hand = m
        .option_logprobs(&Text::Plain("user: is it 3?\nassistant:".into()), &options)
        .unwrap();
    for (a, b) in via_template.iter().zip(&by_hand) {
        assert!((a.unwrap() - b.unwrap()).abs() < 1e-6, "{a:?} vs {b:?}");
    }
}
