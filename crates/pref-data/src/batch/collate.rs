//! Rows of `prompt ++ completion` → padded host buffers → `Int` tensors.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::PaddingSide;

/// Padded `[rows, t]` buffers of ids, attention mask and completion mask.
pub(crate) struct Collated {
    pub ids: Vec<i64>,
    pub attention: Vec<i64>,
    pub completion: Vec<i64>,
    pub rows: usize,
    pub t: usize,
}

/// Pads each `(prompt, completion)` row to the longest one (at least 1) with `pad_id`.
pub(crate) fn collate(rows: &[(&[u32], &[u32])], pad_id: u32, side: PaddingSide) -> Collated {
    let t = rows
        .iter()
        .map(|(p, c)| p.len() + c.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = rows.len();
    let mut ids = vec![i64::from(pad_id); n * t];
    let mut attention = vec![0i64; n * t];
    let mut completion = vec![0i64; n * t];
    for (r, (p, c)) in rows.iter().enumerate() {
        let len = p.len() + c.len();
        let start = r * t
            + match side {
                PaddingSide::Left => t - len,
                PaddingSide::Right => 0,
            };
        for (j, &id) in p.iter().chain(c.iter()).enumerate() {
            ids[start + j] = i64::from(id);
            attention[start + j] = 1;
            completion[start + j] = i64::from(j >= p.len());
        }
    }
    Collated {
        ids,
        attention,
        completion,
        rows: n,
        t,
    }
}

impl Collated {
    /// `(ids, attention_mask, completion_mask)` on `device`.
    pub fn tensors(self, device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>, Tensor<2, Int>) {
        let shape = [self.rows, self.t];
        let make = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, shape), device);
        (make(self.ids), make(self.attention), make(self.completion))
    }
}

/// A `[n]` float tensor.
pub(crate) fn floats(v: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = v.len();
    Tensor::<1>::from_data(TensorData::new(v, [n]), device)
}
