//! A `[V, d]` token embedding held in row blocks where a device caps the size of one buffer.
//!
//! Gemma 3's table is 262 144 × 640 f32 = 640 MiB. wgpu binds a storage buffer of at most
//! `max_storage_buffer_binding_size` bytes — 128 MiB in wgpu's default limits and in Mesa's
//! llvmpipe — so a single tensor of that size cannot be allocated there. On such devices the
//! table is split into consecutive row blocks of at most [`MAX_BLOCK_BYTES`]; the lookup
//! reads each id from its block and the tied output projection concatenates the blocks'
//! logits (which the chunked log-prob path keeps to a few positions at a time). On Flex the
//! table stays whole, so the fused head ([`crate::fused_head`]) can take it as one weight.
//!
//! In a checkpoint the table is always one tensor, `<path>.weight` (as burn's `Embedding` and
//! Hugging Face store it), whatever device wrote it: [`crate::checkpoint::module_to_bytes`]
//! joins the blocks and [`crate::checkpoint::load_module_bytes`] splits them for the device
//! the model is loaded onto.

use burn::module::{Module, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::LmError;

/// Largest row block, in bytes: wgpu's default `max_storage_buffer_binding_size` (128 MiB),
/// which Mesa's llvmpipe reports too.
pub const MAX_BLOCK_BYTES: usize = 1 << 27;

/// Field name of the blocks after the first; checkpoint code recognises a row-blocked table
/// by it (`<path>.weight` + `<path>.row_blocks.<i>`).
pub(crate) const ROW_BLOCKS_FIELD: &str = "row_blocks";

/// A token embedding `E: [V, d]` stored as consecutive row blocks.
///
/// ```text
/// E = [weight; row_blocks[0]; row_blocks[1]; …]      (rows stacked in vocabulary order)
/// lookup(ids)  = E[ids]
/// logits(h)    = h·Eᵀ = [h·weightᵀ, h·row_blocks[0]ᵀ, …]   (concatenated along the vocabulary)
/// ```
///
/// With one block (Flex, or any table under [`MAX_BLOCK_BYTES`]) it is exactly burn's
/// `Embedding` (same parameter name `weight`) and costs nothing extra.
#[derive(Module, Debug)]
pub struct VocabEmbedding {
    /// The first rows of the table (all of them when the table is one block), `[n₀, d]`.
    pub weight: Param<Tensor<2>>,
    /// The following row blocks, in vocabulary order; empty when the table is one block.
    pub row_blocks: Vec<Param<Tensor<2>>>,
}

impl VocabEmbedding {
    /// Rows per block of a `[vocab, d]` f32 table on `device`: all of them on Flex or when
    /// the table fits in [`MAX_BLOCK_BYTES`], else equal blocks (the last may be shorter)
    /// of at most [`MAX_BLOCK_BYTES`] each.
    pub fn block_rows(vocab: usize, d: usize, device: &Device) -> usize {
        let row_bytes = d.max(1) * std::mem::size_of::<f32>();
        if crate::device::is_flex(device) || vocab * row_bytes <= MAX_BLOCK_BYTES {
            return vocab.max(1);
        }
        let max_rows = (MAX_BLOCK_BYTES / row_bytes).max(1);
        let blocks = vocab.div_ceil(max_rows);
        vocab.div_ceil(blocks)
    }

    /// The table `data: [vocab, d]` (host memory, any float type) on `device`, split by
    /// [`block_rows`](Self::block_rows); no block larger than that is ever allocated there.
    pub fn from_data(data: TensorData, device: &Device) -> Result<Self, LmError> {
        let [v, d] = table_dims(&data)?;
        Self::from_data_in_blocks(data, Self::block_rows(v, d, device), device)
    }

    /// [`from_data`](Self::from_data) with an explicit number of rows per block (at least 1).
    pub fn from_data_in_blocks(
        data: TensorData,
        rows_per_block: usize,
        device: &Device,
    ) -> Result<Self, LmError> {
        let [v, d] = table_dims(&data)?;
        let values: Vec<f32> = data.try_into_vec_as::<f32>().map_err(|e| LmError::Input {
            what: "embedding table",
            expected: "float values".into(),
            got: format!("{e:?}"),
        })?;
        let rows = rows_per_block.clamp(1, v.max(1));
        let mut blocks = (0..v.div_ceil(rows).max(1)).map(|i| {
            let (start, end) = (i * rows, ((i + 1) * rows).min(v));
            let block = values[start * d..end * d].to_vec();
            Param::from_tensor(Tensor::from_data(
                TensorData::new(block, [end - start, d]),
                device,
            ))
        });
        let weight = blocks.next().expect("at least one block");
        Ok(Self {
            weight,
            row_blocks: blocks.collect(),
        })
    }

    /// The blocks' values in vocabulary order.
    pub fn blocks(&self) -> Vec<Tensor<2>> {
        std::iter::once(&self.weight)
            .chain(&self.row_blocks)
            .map(Param::val)
            .collect()
    }

    /// The whole table when it is one block (what the fused head takes), else `None`.
    pub fn whole(&self) -> Option<Tensor<2>> {
        self.row_blocks.is_empty().then(|| self.weight.val())
    }

    /// Vocabulary size `V` (rows over all blocks).
    pub fn vocab_size(&self) -> usize {
        std::iter::once(&self.weight)
            .chain(&self.row_blocks)
            .map(|p| p.dims()[0])
            .sum()
    }

    /// Rows of `ids: [B, T]`, `[B, T, d]`. Each block serves the ids in its range; the
    /// others read row 0 of the block and are zeroed, so their gradient is zero.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        if self.row_blocks.is_empty() {
            return crate::embedding_op::embedding_lookup(self.weight.val(), ids);
        }
        let mut start = 0i64;
        let mut out: Option<Tensor<3>> = None;
        for block in self.blocks() {
            let n = block.dims()[0] as i64;
            let local = ids.clone() - start;
            let inside = local
                .clone()
                .greater_equal_elem(0)
                .bool_and(local.clone().lower_elem(n));
            let rows = crate::embedding_op::embedding_lookup(block, local.clamp(0, n - 1));
            let part = rows * inside.float().unsqueeze_dim::<3>(2);
            out = Some(match out {
                Some(acc) => acc + part,
                None => part,
            });
            start += n;
        }
        out.expect("at least one block")
    }

    /// Logits of a tied output projection, `hidden: [B, T, d] → [B, T, V]` (see
    /// [`crate::model::tied_logits`]), block by block.
    pub fn tied_logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        if self.row_blocks.is_empty() {
            return super::tied_logits(hidden, self.weight.val());
        }
        let parts = self
            .blocks()
            .into_iter()
            .map(|block| super::tied_logits(hidden.clone(), block))
            .collect();
        Tensor::cat(parts, 2)
    }

    /// The whole table in host memory, `[V, d]`.
    pub fn to_data(&self) -> TensorData {
        let blocks = self.blocks();
        let d = blocks[0].dims()[1];
        let values: Vec<f32> = blocks
            .into_iter()
            .flat_map(|b| {
                b.into_data()
                    .convert::<f32>()
                    .try_into_vec_as::<f32>()
                    .expect("f32 after convert")
            })
            .collect();
        let v = values.len() / d.max(1);
        TensorData::new(values, [v, d])
    }

    /// The same table re-split into blocks of `rows_per_block` rows (through host memory),
    /// for a device whose buffer limit is lower than [`MAX_BLOCK_BYTES`]. The parameters are
    /// new and trainable (re-split before freezing, not after).
    pub fn with_block_rows(self, rows_per_block: usize) -> Self {
        let device = self.weight.device();
        Self::from_data_in_blocks(self.to_data(), rows_per_block, &device)
            .expect("the blocks of a [V, d] table")
    }

    /// The table with `f` applied to every block.
    pub fn map(self, mut f: impl FnMut(Tensor<2>) -> Tensor<2>) -> Self {
        Self {
            weight: self.weight.map(&mut f),
            row_blocks: self.row_blocks.into_iter().map(|p| p.map(&mut f)).collect(),
        }
    }
}

/// `[vocab, d]` of a table, or an error naming the shape.
fn table_dims(data: &TensorData) -> Result<[usize; 2], LmError> {
    match data.shape().as_slice() {
        [v, d] => Ok([*v, *d]),
        other => Err(LmError::Input {
            what: "embedding table",
            expected: "a [vocab, d] matrix".into(),
            got: format!("shape {other:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn table(v: usize, d: usize, dev: &Device) -> Tensor<2> {
        Tensor::random([v, d], Distribution::Normal(0.0, 1.0), dev)
    }

    #[test]
    fn block_rows_bound_every_block() {
        let dev = crate::select_device().unwrap();
        // Small tables are one block everywhere.
        assert_eq!(VocabEmbedding::block_rows(1000, 64, &dev), 1000);
        // Gemma 3: one block on Flex, ≤ 128 MiB blocks elsewhere.
        let rows = VocabEmbedding::block_rows(262_144, 640, &dev);
        if crate::device::is_flex(&dev) {
            assert_eq!(rows, 262_144);
        } else {
            assert!(rows * 640 * 4 <= MAX_BLOCK_BYTES, "{rows}");
            assert!(262_144usize.div_ceil(rows) <= 6, "{rows}");
        }
    }

    /// Lookup and tied logits of a blocked table equal the whole table's, values and
    /// gradients, with block sizes that do and do not divide the vocabulary.
    #[test]
    fn blocked_equals_whole_with_gradients() {
        let dev = crate::select_device().unwrap().autodiff();
        let (v, d) = (23, 5);
        let e = table(v, d, &dev);
        let ids = Tensor::<2, Int>::from_ints([[0, 22, 7, 8], [15, 16, 1, 21]], &dev);
        let hidden = table(8, d, &dev).reshape([2, 4, d]);
        let run = |rows: usize| {
            let emb = VocabEmbedding::from_data_in_blocks(e.to_data(), rows, &dev).unwrap();
            assert_eq!(emb.vocab_size(), v);
            assert_eq!(emb.row_blocks.len() + 1, v.div_ceil(rows));
            let x = emb.forward(ids.clone());
            let logits = emb.tied_logits(hidden.clone() + x.clone());
            let loss = (logits.clone() * logits.clone()).sum() + x.clone().sum();
            let grads = loss.backward();
            let g: Vec<f32> = emb
                .blocks()
                .into_iter()
                .flat_map(|b| {
                    b.grad(&grads)
                        .unwrap()
                        .into_data()
                        .try_into_vec_as::<f32>()
                        .unwrap()
                })
                .collect();
            let x: Vec<f32> = x.into_data().try_into_vec_as().unwrap();
            let l: Vec<f32> = logits.into_data().try_into_vec_as().unwrap();
            (x, l, g)
        };
        let whole = run(v);
        for rows in [1, 4, 8, 22] {
            let blocked = run(rows);
            for (a, b) in [
                (&whole.0, &blocked.0),
                (&whole.1, &blocked.1),
                (&whole.2, &blocked.2),
            ] {
                assert_eq!(a.len(), b.len());
                for (x, y) in a.iter().zip(b) {
                    assert!(
                        (x - y).abs() <= 1e-4 * (1.0 + x.abs()),
                        "{rows} rows: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn bad_shape_is_an_error() {
        let dev = crate::select_device().unwrap();
        let err = VocabEmbedding::from_data(TensorData::new(vec![0.0f32; 6], [6]), &dev)
            .unwrap_err()
            .to_string();
        assert!(err.contains("[vocab, d]"), "{err}");
    }
}
