//! The multiple-choice judge on a local `CausalLm`: a tiny transformer, trained for a few
//! hundred steps to answer the judge's question with the letter of the kind reply, moves
//! p(kind) from about ½ to near 1 in either position; and a model trained to always
//! answer "A" is cancelled by asking both orders.

use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use lm::tokenizer::{SpecialTokens, Tokenizer};
use lm::{CausalLm, Transformer, TransformerConfig};
use pref_data::Text;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rlaif_judge::judge::{PromptForm, prompt::comparison_prompt};
use rlaif_judge::{
    Comparison, Constitution, JudgeConfig, LocalModel, MultipleChoiceJudge, PairwiseJudge,
};

const KIND: [&str; 4] = [
    "thank you kindly",
    "happy to help",
    "please take care",
    "you are welcome",
];
const RUDE: [&str; 4] = [
    "go away",
    "shut up now",
    "what a stupid ask",
    "leave me alone",
];
const HUMAN: [&str; 3] = ["can you help", "hello there", "any advice"];
const QUESTION: &str = "Which reply is kinder?";

fn constitution() -> Constitution {
    let toml = format!(
        "name = \"tiny\"\n[[principles]]\nname = \"kind\"\ncritique_request = \"Is it unkind?\"\nrevision_request = \"Make it kind.\"\ncomparison = \"{QUESTION}\"\n"
    );
    Constitution::parse(
        &toml,
        rlaif_judge::constitution::ConstitutionFormat::Toml,
        "<t>",
    )
    .unwrap()
}

fn conversation(h: &str) -> Text {
    Text::Plain(format!("\n\nHuman: {h}\n\nAssistant:"))
}

fn question(h: &str, first: &str, second: &str) -> String {
    match comparison_prompt(&conversation(h), QUESTION, first, second, PromptForm::Plain) {
        Text::Plain(s) => s,
        Text::Chat(_) => unreachable!(),
    }
}

/// A random question and its training answer: the kind reply's letter (`by_content`) or
/// always "A".
fn example(rng: &mut StdRng, by_content: bool) -> (String, &'static str) {
    let h = HUMAN[rng.random_range(0..HUMAN.len())];
    let k = KIND[rng.random_range(0..KIND.len())];
    let r = RUDE[rng.random_range(0..RUDE.len())];
    let kind_first: bool = rng.random();
    let (a, b) = if kind_first { (k, r) } else { (r, k) };
    let answer = if !by_content || kind_first { "A" } else { "B" };
    (question(h, a, b), answer)
}

fn setup(device: &Device) -> (Tokenizer, Transformer) {
    let mut rng = StdRng::seed_from_u64(1);
    let corpus: Vec<String> = (0..300)
        .map(|_| {
            let (q, a) = example(&mut rng, true);
            format!("{q}{a})")
        })
        .collect();
    let tokenizer =
        Tokenizer::train_bpe_from_iter(corpus, 400, &SpecialTokens::default(), 2).unwrap();
    let config =
        TransformerConfig::llama(tokenizer.vocab_size(), 48, 2, 4, 2, 96).with_max_seq_len(160);
    let model = Transformer::new(&config, 7, &device.clone().autodiff()).unwrap();
    (tokenizer, model)
}

/// Trains `model` to answer the questions of [`example`]: cross-entropy of the answer
/// letter at the last position of left-padded prompts, AdamW.
fn train(
    mut model: Transformer,
    tok: &Tokenizer,
    by_content: bool,
    steps: usize,
    device: &Device,
) -> Transformer {
    let ad = device.clone().autodiff();
    let mut optim = AdamWConfig::new()
        .with_weight_decay(0.0)
        .with_epsilon(1e-8)
        .init();
    let mut rng = StdRng::seed_from_u64(2);
    let batch = 16;
    for _ in 0..steps {
        let rows: Vec<(Vec<u32>, u32)> = (0..batch)
            .map(|_| {
                let (q, a) = example(&mut rng, by_content);
                let ids = tok.encode(&q, false, false).unwrap();
                let target = tok.encode(a, false, false).unwrap();
                assert_eq!(target.len(), 1);
                (ids, target[0])
            })
            .collect();
        let width = rows.iter().map(|r| r.0.len()).max().unwrap();
        let mut ids = Vec::new();
        let mut mask = Vec::new();
        for (r, _) in &rows {
            let pad = width - r.len();
            ids.extend(std::iter::repeat_n(0i64, pad).chain(r.iter().map(|&v| v as i64)));
            mask.extend(std::iter::repeat_n(0i64, pad).chain(std::iter::repeat_n(1, r.len())));
        }
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [batch, width]), &ad);
        let mask = Tensor::<2, Int>::from_data(TensorData::new(mask, [batch, width]), &ad);
        let hidden = model.hidden(ids, mask);
        let [b, t, d] = hidden.dims();
        let logits = model.logits_from_hidden(hidden.slice([0..b, t - 1..t, 0..d]));
        let v = logits.dims()[2];
        let lp = log_softmax(logits.reshape([b, v]), 1);
        let targets: Vec<i64> = rows.iter().map(|r| r.1 as i64).collect();
        let targets = Tensor::<2, Int>::from_data(TensorData::new(targets, [b, 1]), &ad);
        let loss = lp.gather(1, targets).mean().neg();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    model
}

fn judge(
    model: &Transformer,
    tok: &Tokenizer,
    both_orders: bool,
    device: &Device,
) -> MultipleChoiceJudge<LocalModel<Transformer>> {
    use burn::module::Module;
    let local = LocalModel::new("tiny", model.valid(), tok.clone(), device.clone());
    let config = JudgeConfig {
        both_orders,
        ..JudgeConfig::default()
    };
    MultipleChoiceJudge::new(local, constitution(), config).unwrap()
}

/// Held-out comparisons (human turns not in training) with the kind reply as a, and b.
fn held_out() -> Vec<Comparison> {
    let mut out = Vec::new();
    for (i, k) in KIND.iter().enumerate() {
        let r = RUDE[(i + 1) % RUDE.len()];
        out.push(Comparison::new(conversation("please answer"), *k, r));
        out.push(Comparison::new(conversation("please answer"), r, *k));
    }
    out
}

/// Mean p(kind) over the held-out comparisons (even: kind is a; odd: kind is b).
fn mean_p_kind(j: &impl PairwiseJudge) -> (f64, f64) {
    let got = j.judge(&held_out()).unwrap();
    let first: f64 = got.iter().step_by(2).map(|g| g.p_a).sum::<f64>() / 4.0;
    let second: f64 = got
        .iter()
        .skip(1)
        .step_by(2)
        .map(|g| 1.0 - g.p_a)
        .sum::<f64>()
        / 4.0;
    (first, second)
}

#[test]
fn a_judge_trained_to_pick_the_kind_reply_prefers_it_in_either_position() {
    let device = lm::select_device().unwrap();
    let (tok, model) = setup(&device);
    let (b_first, b_second) = mean_p_kind(&judge(&model, &tok, false, &device));
    let trained = train(model, &tok, true, 250, &device);
    let (a_first, a_second) = mean_p_kind(&judge(&trained, &tok, false, &device));
    println!(
        "p(kind) before: {b_first:.3} (as A) {b_second:.3} (as B); after: {a_first:.3} {a_second:.3}"
    );
    assert!((b_first - 0.5).abs() < 0.25 && (b_second - 0.5).abs() < 0.25);
    assert!(a_first > 0.9 && a_second > 0.9, "{a_first} {a_second}");
    // Both orders: still right, and the orders agree.
    let both = judge(&trained, &tok, true, &device);
    let got = both.judge(&held_out()).unwrap();
    for (i, g) in got.iter().enumerate() {
        let p_kind = if i % 2 == 0 { g.p_a } else { 1.0 - g.p_a };
        assert!(p_kind > 0.9, "{i}: {g:?}");
        assert_eq!(g.orders_agree(), Some(true));
    }
}

#[test]
fn a_judge_trained_to_always_say_a_is_cancelled_by_both_orders() {
    let device = lm::select_device().unwrap();
    let (tok, model) = setup(&device);
    let trained = train(model, &tok, false, 120, &device);
    let one = judge(&trained, &tok, false, &device);
    let got = one.judge(&held_out()).unwrap();
    assert!(got.iter().all(|g| g.p_a > 0.9), "{got:?}");
    let both = judge(&trained, &tok, true, &device);
    for g in both.judge(&held_out()).unwrap() {
        assert!((g.p_a - 0.5).abs() < 0.1, "{g:?}");
        assert_eq!(g.orders_agree(), Some(false));
    }
}
