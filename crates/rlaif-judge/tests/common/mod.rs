//! Fake text models for the judge, critique and feedback tests.
#![allow(dead_code)] // each test file uses a subset

use std::sync::Mutex;

use pref_data::Text;
use rlaif_judge::{BackendError, GenerateOptions, TextModel};

type LogprobFn = Box<dyn Fn(&Text, &[String]) -> Vec<Option<f64>> + Send + Sync>;
type GenerateFn = Box<dyn Fn(&Text, usize) -> String + Send + Sync>;

/// A text model answering with closures, recording every prompt it was asked.
pub struct FakeModel {
    pub logprobs: LogprobFn,
    pub generate: GenerateFn,
    pub asked: Mutex<Vec<Text>>,
    pub generated: Mutex<Vec<Text>>,
}

impl FakeModel {
    pub fn new(
        logprobs: impl Fn(&Text, &[String]) -> Vec<Option<f64>> + Send + Sync + 'static,
        generate: impl Fn(&Text, usize) -> String + Send + Sync + 'static,
    ) -> Self {
        Self {
            logprobs: Box::new(logprobs),
            generate: Box::new(generate),
            asked: Mutex::new(Vec::new()),
            generated: Mutex::new(Vec::new()),
        }
    }

    /// Always `log p(A) = a`, `log p(B) = b` (and nothing else); generates `"(A)"`.
    pub fn constant(a: f64, b: f64) -> Self {
        Self::new(
            move |_, options| {
                options
                    .iter()
                    .map(|o| match o.as_str() {
                        "A" => Some(a),
                        "B" => Some(b),
                        _ => None,
                    })
                    .collect()
            },
            |_, _| "(A)".into(),
        )
    }
}

impl TextModel for FakeModel {
    fn name(&self) -> &str {
        "fake"
    }

    fn generate(
        &self,
        prompts: &[Text],
        options: &GenerateOptions,
    ) -> Result<Vec<String>, BackendError> {
        self.generated
            .lock()
            .unwrap()
            .extend(prompts.iter().cloned());
        Ok(prompts
            .iter()
            .enumerate()
            .map(|(i, p)| (self.generate)(p, i + options.seed as usize))
            .collect())
    }

    fn option_logprobs(
        &self,
        prompt: &Text,
        options: &[String],
    ) -> Result<Vec<Option<f64>>, BackendError> {
        self.asked.lock().unwrap().push(prompt.clone());
        Ok((self.logprobs)(prompt, options))
    }
}

/// The text of a plain prompt.
pub fn plain(t: &Text) -> &str {
    match t {
        Text::Plain(s) => s,
        Text::Chat(m) => &m.last().expect("a message").content,
    }
}

/// A stable hash of `s` mapped to `[lo, hi)`.
pub fn hashed(s: &str, salt: u64, lo: f64, hi: f64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    lo + (hi - lo) * ((h >> 11) as f64 / (1u64 << 53) as f64)
}
