//! `score_model` and `label_model` graders with a fake, deterministic text model.

use std::sync::{Arc, Mutex};

use pref_data::{Message, Text};
use rlaif_judge::grader::{
    BuildContext, ConfigFormat, LabelModel, LabelModelConfig, MessageTemplate, SamplingParams,
    ScoreModel, ScoreModelConfig, parse_graders,
};
use rlaif_judge::{BackendError, Failure, GenerateOptions, Grader, GraderSample, Item, TextModel};
use serde_json::json;

/// Answers each prompt with the text after `ANSWER=` in its last message, and records the
/// prompts; option log-probs from a fixed table.
#[derive(Default)]
struct Fake {
    seen: Mutex<Vec<Text>>,
    logprobs: Vec<Option<f64>>,
    fail: bool,
}

impl TextModel for Fake {
    fn name(&self) -> &str {
        "fake"
    }

    fn generate(&self, prompts: &[Text], _: &GenerateOptions) -> Result<Vec<String>, BackendError> {
        if self.fail {
            return Err(BackendError::Model {
                model: "fake".into(),
                message: "server down".into(),
            });
        }
        self.seen.lock().unwrap().extend(prompts.iter().cloned());
        Ok(prompts
            .iter()
            .map(|p| match p {
                Text::Chat(m) => m
                    .last()
                    .unwrap()
                    .content
                    .split("ANSWER=")
                    .nth(1)
                    .unwrap_or("")
                    .to_string(),
                Text::Plain(s) => s.clone(),
            })
            .collect())
    }

    fn option_logprobs(
        &self,
        _: &Text,
        options: &[String],
    ) -> Result<Vec<Option<f64>>, BackendError> {
        Ok(self
            .logprobs
            .iter()
            .copied()
            .chain(std::iter::repeat(None))
            .take(options.len())
            .collect())
    }
}

fn ctx(model: Fake) -> (BuildContext, Arc<Fake>) {
    let m = Arc::new(model);
    (BuildContext::new().with_model("default", m.clone()), m)
}

fn prompt() -> Vec<MessageTemplate> {
    vec![
        MessageTemplate::new("system", "Grade the answer against {{ item.reference }}."),
        MessageTemplate::new("user", "Answer: {{ sample.output_text }}"),
    ]
}

fn score_model(range: [f64; 2], ctx: &BuildContext) -> ScoreModel {
    ScoreModel::new(
        &ScoreModelConfig {
            name: "judge".into(),
            model: "default".into(),
            input: prompt(),
            range,
            sampling_params: SamplingParams::default(),
            pass_threshold: Some(0.5),
        },
        ctx,
    )
    .unwrap()
}

#[test]
fn score_model_reads_clamps_and_rejects_non_numbers() {
    let (ctx, fake) = ctx(Fake::default());
    let mut g = score_model([0.0, 1.0], &ctx);
    let it: Item = json!({"reference": "4"}).as_object().unwrap().clone();
    let outs = [
        "ANSWER=0.75",
        "ANSWER=7",
        "ANSWER=-2",
        "ANSWER=excellent",
        "ANSWER={\"result\": 0.25}",
        "ANSWER=",
        "ANSWER=NaN",
    ];
    let samples: Vec<GraderSample> = outs.iter().map(|o| GraderSample::from_text(*o)).collect();
    let batch: Vec<_> = samples.iter().map(|s| (s, &it)).collect();
    let r = g.grade_batch(&batch);
    let scores: Vec<f64> = r.iter().map(|g| g.score).collect();
    assert_eq!(scores, [0.75, 1.0, 0.0, 0.0, 0.25, 0.0, 0.0]);
    assert!(r[0].reason.contains("pass"), "{}", r[0].reason);
    assert!(
        r[1].reason.contains("clamped from 7 to [0, 1]"),
        "{}",
        r[1].reason
    );
    assert!(r[2].reason.contains("clamped from -2"), "{}", r[2].reason);
    for i in [3, 5, 6] {
        assert_eq!(r[i].failure, Some(Failure::Model), "{}", r[i].reason);
        assert!(
            r[i].reason.starts_with("model error: expected a number"),
            "{}",
            r[i].reason
        );
    }
    // One model call for the batch, with the templated messages.
    let seen = fake.seen.lock().unwrap();
    assert_eq!(seen.len(), outs.len());
    assert_eq!(
        seen[0],
        Text::Chat(vec![
            Message::new("system", "Grade the answer against 4."),
            Message::new("user", "Answer: ANSWER=0.75")
        ])
    );
    drop(seen);
    // A wider range keeps 7.
    let mut wide = score_model([1.0, 10.0], &ctx);
    assert_eq!(wide.grade(&samples[1], &it).score, 7.0);
    // A missing item field fails only that sample.
    let empty = Item::new();
    let r = g.grade_batch(&[(&samples[0], &empty), (&samples[0], &it)]);
    assert_eq!(r[0].failure, Some(Failure::Template));
    assert_eq!(r[1].score, 0.75);
    // A failing model fails every sample, with its error.
    let (down, _) = self::ctx(Fake {
        fail: true,
        ..Fake::default()
    });
    let r = score_model([0.0, 1.0], &down).grade(&samples[0], &it);
    assert_eq!(r.failure, Some(Failure::Model));
    assert!(r.reason.contains("server down"), "{}", r.reason);
}

fn label_cfg(labels: &[&str], passing: &[&str]) -> LabelModelConfig {
    LabelModelConfig {
        name: "lab".into(),
        model: "default".into(),
        input: prompt(),
        labels: labels.iter().map(|s| s.to_string()).collect(),
        passing_labels: passing.iter().map(|s| s.to_string()).collect(),
        sampling_params: SamplingParams::default(),
        use_logprobs: false,
    }
}

#[test]
fn label_model_passing_and_unknown_labels() {
    let (ctx, _) = ctx(Fake::default());
    let mut g = LabelModel::new(
        &label_cfg(&["correct", "partial", "wrong"], &["correct"]),
        &ctx,
    )
    .unwrap();
    let it: Item = json!({"reference": "4"}).as_object().unwrap().clone();
    let grade = |g: &mut LabelModel, out: &str| g.grade(&GraderSample::from_text(out), &it);
    assert_eq!(grade(&mut g, "ANSWER=correct").score, 1.0);
    assert_eq!(grade(&mut g, "ANSWER= Correct.").score, 1.0);
    assert_eq!(grade(&mut g, "ANSWER=partial").score, 0.0);
    let r = grade(&mut g, "ANSWER=great");
    assert_eq!((r.score, r.failure), (0.0, Some(Failure::Model)));
    assert_eq!(
        r.reason,
        "model error: the grading model answered \"great\", which is not one of the labels (\"correct\", \"partial\", \"wrong\")"
    );
    // passing_labels must be a subset of labels.
    let e = LabelModel::new(&label_cfg(&["yes", "no"], &["yes", "maybe"]), &ctx).unwrap_err();
    assert_eq!(e.field, "passing_labels[1]");
    assert!(
        e.message.contains("\"maybe\" is not one of `labels`"),
        "{}",
        e.message
    );
    assert!(LabelModel::new(&label_cfg(&["yes", "yes"], &["yes"]), &ctx).is_err());
    assert!(LabelModel::new(&label_cfg(&[], &[]), &ctx).is_err());
}

#[test]
fn label_model_can_choose_by_log_probability() {
    let (ctx, _) = ctx(Fake {
        logprobs: vec![Some(-2.0), Some(-0.1), None],
        ..Fake::default()
    });
    let mut cfg = label_cfg(&["A", "B", "C"], &["B"]);
    cfg.use_logprobs = true;
    let mut g = LabelModel::new(&cfg, &ctx).unwrap();
    let r = g.grade(
        &GraderSample::from_text("whatever"),
        &json!({"reference": 1}).as_object().unwrap().clone(),
    );
    assert_eq!(r.score, 1.0, "{}", r.reason);
    let (none, _) = self::ctx(Fake {
        logprobs: vec![None, None, None],
        ..Fake::default()
    });
    let r = LabelModel::new(&cfg, &none).unwrap().grade(
        &GraderSample::from_text("x"),
        &json!({"reference": 1}).as_object().unwrap().clone(),
    );
    assert_eq!(r.failure, Some(Failure::Model));
}

#[test]
fn model_graders_from_config_name_unknown_models() {
    let toml = r#"
[[graders]]
type = "score_model"
name = "rubric"
model = "judge-7b"
range = [0, 10]
input = [{ role = "user", content = "Score {{ sample.output_text }}" }]
"#;
    let cfg = parse_graders(toml, ConfigFormat::Toml, "rubric.toml").unwrap();
    let (ctx, _) = ctx(Fake::default());
    let e = cfg[0].build(&ctx, "rubric.toml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "rubric.toml: grader `rubric`: field `model`: no text model named `judge-7b`; registered: `default`"
    );
    let bad_range = toml.replace("[0, 10]", "[5, 1]");
    let cfg = parse_graders(&bad_range, ConfigFormat::Toml, "rubric.toml").unwrap();
    let e = cfg[0]
        .build(
            &ctx.clone()
                .with_model("judge-7b", Arc::new(Fake::default())),
            "rubric.toml",
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("rubric.toml: grader `rubric`: field `range`: expected [min, max]"),
        "{e}"
    );
}
