//! Checkpoints round-trip bit-exactly; bad files give errors that name them.

mod common;

use common::*;
use lm::CausalLm;
use lm::checkpoint::{load_model, save_model};

#[test]
fn round_trip_is_bit_exact() {
    for cfg in [tiny_llama(), tiny_gpt2()] {
        let dev = device();
        let m = model(&cfg, 21, &dev);
        let dir = tempfile::tempdir().unwrap();
        save_model(&m, dir.path()).unwrap();
        let back = load_model(dir.path(), &dev).unwrap();
        assert_eq!(back.config, m.config);
        let ids = ints(&[vec![1, 2, 3, 4, 5]], &dev);
        let mask = ints(&[vec![1, 1, 1, 1, 1]], &dev);
        let a = floats(m.logits(ids.clone(), mask.clone()));
        let b = floats(back.logits(ids, mask));
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "logits differ after reload"
        );
        // And the stored parameters themselves.
        let pa = floats(m.blocks[1].mlp.down.weight.val());
        let pb = floats(back.blocks[1].mlp.down.weight.val());
        assert_eq!(
            pa.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            pb.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        // No temporary files left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}

#[test]
fn truncated_weights_are_an_error_naming_the_file() {
    let dev = device();
    let m = model(&tiny_llama(), 1, &dev);
    let dir = tempfile::tempdir().unwrap();
    save_model(&m, dir.path()).unwrap();
    let w = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_model(dir.path(), &dev).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
}

#[test]
fn config_that_does_not_fit_is_an_error() {
    let dev = device();
    let m = model(&tiny_llama(), 1, &dev);
    let dir = tempfile::tempdir().unwrap();
    save_model(&m, dir.path()).unwrap();
    let mut other = tiny_llama();
    other.n_layers = 3;
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_string(&other).unwrap(),
    )
    .unwrap();
    let err = load_model(dir.path(), &dev).unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
    std::fs::write(dir.path().join("config.json"), "{\"vocab_size\": 3,").unwrap();
    let err = load_model(dir.path(), &dev).unwrap_err().to_string();
    assert!(err.contains("config.json") && err.contains("line"), "{err}");
}
