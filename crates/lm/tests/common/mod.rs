//! Shared helpers for the `lm` integration tests.
#![allow(dead_code)]

use burn::tensor::{Device, Int, Tensor, TensorData};
use lm::{Transformer, TransformerConfig};

/// The device the tests run on: `RLHF_DEVICE` if set, else the first compiled backend.
pub fn device() -> Device {
    lm::select_device().expect("test device")
}

pub fn tiny_llama() -> TransformerConfig {
    TransformerConfig::llama(97, 32, 2, 4, 2, 64)
        .with_max_seq_len(64)
        .with_tie_embeddings(false)
}

pub fn tiny_gpt2() -> TransformerConfig {
    TransformerConfig::gpt2(97, 32, 2, 4).with_max_seq_len(64)
}

/// A model whose weights are larger than the default init, so that logits are far from
/// uniform and layout mistakes show up.
pub fn model(config: &TransformerConfig, seed: u64, device: &Device) -> Transformer {
    let mut m = Transformer::new(config, seed, device).unwrap();
    m.embed.weight = m.embed.weight.clone().map(|w| w * 25.0);
    m
}

pub fn ints(rows: &[Vec<i64>], device: &Device) -> Tensor<2, Int> {
    let (b, t) = (rows.len(), rows[0].len());
    let flat: Vec<i64> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [b, t]), device)
}

pub fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().unwrap()
}

/// Left-pads `rows` to a common length with `pad`, returning ids and mask.
pub fn left_pad(rows: &[Vec<i64>], pad: i64) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    let t = rows.iter().map(Vec::len).max().unwrap();
    let ids = rows
        .iter()
        .map(|r| {
            std::iter::repeat_n(pad, t - r.len())
                .chain(r.iter().copied())
                .collect()
        })
        .collect();
    let mask = rows
        .iter()
        .map(|r| {
            std::iter::repeat_n(0, t - r.len())
                .chain(std::iter::repeat_n(1, r.len()))
                .collect()
        })
        .collect();
    (ids, mask)
}
