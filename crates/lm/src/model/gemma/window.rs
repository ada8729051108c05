//! The sliding-window attention mask of Gemma's local layers.

use burn::tensor::{Bool, Int, Tensor};

use crate::mask::positions_from_mask;

/// Adds the sliding window to a causal/padding mask: `blocked: [B, 1, T, S]` (true = may not
/// attend, from [`crate::mask::blocked_keys`]), `key_mask: [B, S]` the padding mask of every
/// key, `q_positions: [B, T]` the positions of the queries. Key `j` is also blocked for query
/// `i` when
///
/// ```text
/// pos(i) − pos(j) ≥ window
/// ```
///
/// so a query sees itself and the `window − 1` real tokens before it. This is Hugging Face's
/// `sliding_window_overlay` (`kv_idx > q_idx − sliding_window`), written over token positions
/// (real tokens only) rather than buffer indices: the two agree on left- or right-padded rows,
/// and counting positions keeps the [`CausalLm`](crate::CausalLm) promise that padding never
/// changes a row's log-probs when padding sits between tokens.
pub fn sliding_window_blocked(
    blocked: Tensor<4, Bool>,
    key_mask: Tensor<2, Int>,
    q_positions: Tensor<2, Int>,
    window: usize,
) -> Tensor<4, Bool> {
    let [b, _, t, s] = blocked.dims();
    let k_pos = positions_from_mask(key_mask)
        .reshape([b, 1, 1, s])
        .expand([b, 1, t, s]);
    let q_pos = q_positions.reshape([b, 1, t, 1]).expand([b, 1, t, s]);
    let too_far = (q_pos - k_pos).greater_equal_elem(window as i64);
    blocked.bool_or(too_far)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::blocked_keys;
    use burn::tensor::{Device, TensorData};

    /// Window 2 over one left-padded row: each real query sees itself and one real token
    /// before it; padding keys stay blocked.
    #[test]
    fn window_counts_real_tokens() {
        let dev = Device::flex();
        let mask = Tensor::<2, Int>::from_ints([[0, 1, 1, 1]], &dev);
        let pos = positions_from_mask(mask.clone());
        let b = sliding_window_blocked(blocked_keys(mask.clone(), 0, 4), mask, pos, 2);
        b.reshape([4, 4]).into_data().assert_eq(
            &TensorData::from([
                [true, true, true, true],
                [true, false, true, true],
                [true, false, false, true],
                [true, true, false, false],
            ]),
            false,
        );
    }

    /// One cached step at position 3 (buffer index 4) with a padding gap: the window is
    /// counted in positions, so with window 3 the keys at positions 1, 2, 3 are visible.
    #[test]
    fn window_in_cached_step_skips_gaps() {
        let dev = Device::flex();
        let mask = Tensor::<2, Int>::from_ints([[1, 1, 0, 1, 1]], &dev);
        let q = Tensor::<2, Int>::from_ints([[3]], &dev);
        let b = sliding_window_blocked(blocked_keys(mask.clone(), 4, 1), mask, q, 3);
        b.reshape([1, 5]).into_data().assert_eq(
            &TensorData::from([[true, false, true, false, false]]),
            false,
        );
    }
}
