//! Attention masks and positions derived from padding masks.

use burn::tensor::{Bool, Int, Tensor};

/// Position ids from a padding mask `[B, T]` (1 = token, 0 = padding):
/// `max(cumsum(mask) − 1, 0)`, so the first real token of every row is at position 0
/// whatever its left padding (the convention of Hugging Face `generate`).
pub fn positions_from_mask(mask: Tensor<2, Int>) -> Tensor<2, Int> {
    mask.cumsum(1).sub_scalar(1).clamp_min(0)
}

/// Which keys each query may not attend to, `[B, 1, T, S]` (true = blocked).
///
/// `key_mask: [B, S]` is the padding mask of every key position (cached ones first), and the
/// `t` queries are the last `t` of the `S = past + t` positions. Key `j` is blocked for query
/// `i` when it is padding or lies in the future (`j > past + i`).
pub fn blocked_keys(key_mask: Tensor<2, Int>, past: usize, t: usize) -> Tensor<4, Bool> {
    let device = key_mask.device();
    let [b, s] = key_mask.dims();
    let q_pos = Tensor::<1, Int>::arange(past as i64..(past + t) as i64, &device).reshape([t, 1]);
    let k_pos = Tensor::<1, Int>::arange(0..s as i64, &device).reshape([1, s]);
    let future = k_pos.expand([t, s]).greater(q_pos.expand([t, s]));
    let future = future.reshape([1, 1, t, s]).expand([b, 1, t, s]);
    let padding = key_mask
        .equal_elem(0)
        .reshape([b, 1, 1, s])
        .expand([b, 1, t, s]);
    future.bool_or(padding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn positions_skip_left_padding() {
        let dev = Device::flex();
        let mask = Tensor::<2, Int>::from_ints([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], &dev);
        let pos = positions_from_mask(mask).into_data();
        pos.assert_eq(&TensorData::from([[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]), false);
    }

    #[test]
    fn blocked_combines_causal_and_padding() {
        let dev = Device::flex();
        let mask = Tensor::<2, Int>::from_ints([[0, 1, 1]], &dev);
        let b = blocked_keys(mask, 0, 3).reshape([3, 3]).into_data();
        b.assert_eq(
            &TensorData::from([
                [true, true, true],
                [true, false, true],
                [true, false, false],
            ]),
            false,
        );
        // One cached step: a single query at position 3 sees every real key.
        let mask = Tensor::<2, Int>::from_ints([[0, 1, 1, 1]], &dev);
        let b = blocked_keys(mask, 3, 1).reshape([1, 4]).into_data();
        b.assert_eq(&TensorData::from([[true, false, false, false]]), false);
    }
}
