//! The text-similarity metrics against reference values from the Python libraries
//! (`scripts/make_grader_fixtures.py`: rapidfuzz, NLTK, rouge-score).

use std::collections::HashMap;

use rlaif_judge::grader::metrics::{self, Synonyms, porter};
use rlaif_judge::grader::{SimilarityMetric, TextSimilarity, TextSimilarityConfig};
use rlaif_judge::{Grader, GraderSample, Item};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(what: &str, case: &Value, got: f64, tol: f64) {
    let want = case[what].as_f64().unwrap();
    assert!(
        (got - want).abs() <= tol,
        "{what}: input {:?} reference {:?}: got {got}, reference {want}",
        case["input"],
        case["reference"]
    );
}

#[test]
fn every_metric_matches_its_python_reference() {
    let f = fixture("similarity.json");
    let cases = f["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for c in cases {
        let input = c["input"].as_str().unwrap();
        let reference = c["reference"].as_str().unwrap();
        close(
            "fuzzy_match",
            c,
            metrics::fuzzy_ratio(input, reference),
            1e-12,
        );
        close("bleu", c, metrics::bleu(reference, input), 1e-6);
        close("gleu", c, metrics::gleu(reference, input), 1e-12);
        close(
            "meteor_exact_stem",
            c,
            metrics::meteor(reference, input),
            1e-6,
        );
        for n in 1..=5 {
            close(
                &format!("rouge_{n}"),
                c,
                metrics::rouge_n(reference, input, n),
                1e-9,
            );
        }
        close("rouge_l", c, metrics::rouge_l(reference, input), 1e-9);
    }
}

#[test]
fn the_grader_returns_the_metric_for_each_evaluation_metric() {
    let f = fixture("similarity.json");
    let c = &f["cases"][2];
    let item: Item = serde_json::from_value(serde_json::json!({"ref": c["reference"]})).unwrap();
    let sample = GraderSample::from_text(c["input"].as_str().unwrap());
    for (metric, key) in [
        (SimilarityMetric::FuzzyMatch, "fuzzy_match"),
        (SimilarityMetric::Bleu, "bleu"),
        (SimilarityMetric::Gleu, "gleu"),
        (SimilarityMetric::Meteor, "meteor_exact_stem"),
        (SimilarityMetric::Rouge1, "rouge_1"),
        (SimilarityMetric::Rouge2, "rouge_2"),
        (SimilarityMetric::Rouge3, "rouge_3"),
        (SimilarityMetric::Rouge4, "rouge_4"),
        (SimilarityMetric::Rouge5, "rouge_5"),
        (SimilarityMetric::RougeL, "rouge_l"),
    ] {
        let mut g = TextSimilarity::new(&TextSimilarityConfig {
            name: "sim".into(),
            input: "{{ sample.output_text }}".into(),
            reference: "{{ item.ref }}".into(),
            evaluation_metric: metric,
            pass_threshold: Some(0.5),
        })
        .unwrap();
        let r = g.grade(&sample, &item);
        close(key, c, r.score, 1e-6);
        assert!(r.reason.starts_with(metric.as_str()), "{}", r.reason);
        assert!(
            r.reason.contains("pass") || r.reason.contains("fail"),
            "{}",
            r.reason
        );
    }
}

/// The WordNet lemma names NLTK's synonym stage sees for the fixture's words.
struct TinyWordNet(HashMap<&'static str, Vec<&'static str>>);

impl Synonyms for TinyWordNet {
    fn synonyms(&self, word: &str) -> Vec<String> {
        self.0
            .get(word)
            .map(|v| v.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    }
}

#[test]
fn meteor_synonym_stage_matches_nltk_with_wordnet() {
    // wn.synsets("car") lemma names (NLTK 3.10, WordNet 3.0); NLTK compares them with the
    // stemmed reference words, so "auto" matches and "automobile" ("automobil") would not.
    let wn = TinyWordNet(HashMap::from([(
        "car",
        vec![
            "car",
            "auto",
            "automobile",
            "machine",
            "motorcar",
            "railcar",
            "railway_car",
            "railroad_car",
            "gondola",
            "elevator_car",
            "cable_car",
        ],
    )]));
    let f = fixture("similarity.json");
    let c = f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["input"] == "I drove my car to work")
        .unwrap();
    let got = metrics::meteor_with(
        c["reference"].as_str().unwrap(),
        c["input"].as_str().unwrap(),
        &wn,
    );
    close("meteor_wordnet", c, got, 1e-9);
    // Without synonyms: exact and stem stages only.
    close(
        "meteor_exact_stem",
        c,
        metrics::meteor(
            c["reference"].as_str().unwrap(),
            c["input"].as_str().unwrap(),
        ),
        1e-9,
    );
}

#[test]
fn porter_stemmer_matches_nltk() {
    let f = fixture("porter.json");
    for (word, stem) in f.as_object().unwrap() {
        assert_eq!(porter::stem(word), stem.as_str().unwrap(), "{word}");
    }
}

#[test]
fn long_outputs_stay_cheap() {
    let long = "lorem ipsum dolor sit amet ".repeat(20_000); // 540 000 characters
    let t = std::time::Instant::now();
    let v = metrics::fuzzy_ratio(&long, "lorem ipsum");
    assert!(v > 0.0 && v < 0.01);
    let _ = metrics::rouge_l("lorem ipsum dolor", &long);
    let _ = metrics::bleu("lorem ipsum dolor", &long);
    let _ = metrics::meteor("lorem ipsum dolor", &long);
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
}
