//! Key/value cache for incremental decoding.

use burn::tensor::Tensor;

use crate::error::LmError;

/// Per-layer key and value buffers `[B, n_kv_heads, capacity, head_dim]`, filled from
/// position 0 up to [`len`](KvCache::len).
///
/// The cache stores keys after RoPE, so a cached step needs only the new token's position.
/// Buffers are allocated on the first write, on the device of the written tensors.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<Option<(Tensor<4>, Tensor<4>)>>,
    len: usize,
    capacity: usize,
}

impl KvCache {
    /// An empty cache for `n_layers` layers holding at most `capacity` positions.
    pub fn new(n_layers: usize, capacity: usize) -> Self {
        Self {
            layers: vec![None; n_layers],
            len: 0,
            capacity,
        }
    }

    /// Number of positions written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most positions the cache can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Checks that `new` more positions fit.
    pub fn check_room(&self, new: usize) -> Result<(), LmError> {
        if self.len + new > self.capacity {
            return Err(LmError::Input {
                what: "kv_cache",
                expected: format!("at most {} positions", self.capacity),
                got: format!("{} cached + {new} new", self.len),
            });
        }
        Ok(())
    }

    /// Writes `k`, `v` (`[B, H_kv, T, hd]`) of layer `layer` at positions `len .. len + T` and
    /// returns the keys and values of positions `0 .. len + T`. Call [`advance`](Self::advance)
    /// once all layers have written.
    pub fn append(&mut self, layer: usize, k: Tensor<4>, v: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let [b, h, t, d] = k.dims();
        let (start, end) = (self.len, self.len + t);
        let slot = &mut self.layers[layer];
        let (kb, vb) = slot.take().unwrap_or_else(|| {
            let dev = k.device();
            (
                Tensor::zeros([b, h, self.capacity, d], &dev),
                Tensor::zeros([b, h, self.capacity, d], &dev),
            )
        });
        let kb = kb.slice_assign([0..b, 0..h, start..end, 0..d], k);
        let vb = vb.slice_assign([0..b, 0..h, start..end, 0..d], v);
        let out = (kb.clone().narrow(2, 0, end), vb.clone().narrow(2, 0, end));
        *slot = Some((kb, vb));
        out
    }

    /// Marks `t` more positions as written.
    pub fn advance(&mut self, t: usize) {
        self.len += t;
    }
}
