//! Token-embedding lookup whose backward pass adds its rows into the table's gradient in
//! place instead of materialising a second `[V, d]` gradient.
//!
//! ```text
//! forward:   x[n] = E[ids[n]]                              x: [N, d]
//! backward:  ∂L/∂E[v] += Σ_{n : ids[n] = v} ∂L/∂x[n]        (a scatter-add of N rows)
//! ```
//!
//! burn's own `embedding` op computes its backward as a fresh zero `[V, d]` tensor with the
//! rows scattered in, which autodiff then adds to the gradient the tied output projection
//! already registered for the same table: two table-sized buffers at once (640 MiB each for
//! Gemma 3's 262 144 × 640 table, the largest transient of a training step). This op takes
//! the gradient already registered for the table, when there is one, and adds its `N` rows
//! into it (in place when the buffer is not shared), so a tied table has one gradient
//! buffer. The values are the same; only the memory differs.
//!
//! It is a burn backend extension implemented for Flex (with and without autodiff);
//! elsewhere [`embedding_lookup`] is burn's `embedding`.

use burn::tensor::{Device, Int, Tensor};

/// The backend operations (a burn backend extension).
#[burn::backend::backend_extension(Flex: cfg(feature = "flex"), Autodiff: cfg(feature = "flex"))]
pub trait EmbeddingLookupBackend: burn::backend::Backend {
    /// Rows `ids` of `table: [V, d]`, `[N, d]`.
    fn embedding_rows(
        table: burn::backend::tensor::FloatTensor<Self>,
        ids: Vec<u32>,
    ) -> burn::backend::tensor::FloatTensor<Self>;

    /// `acc[ids[n]] += rows[n]` for every `n`, `acc: [V, d]`, `rows: [N, d]`; returns `acc`
    /// (the same buffer when it is not shared).
    fn embedding_scatter_add(
        acc: burn::backend::tensor::FloatTensor<Self>,
        ids: Vec<u32>,
        rows: burn::backend::tensor::FloatTensor<Self>,
    ) -> burn::backend::tensor::FloatTensor<Self>;

    /// [`embedding_scatter_add`](Self::embedding_scatter_add) into a zero `[vocab, d]` table.
    fn embedding_scatter_new(
        vocab: usize,
        ids: Vec<u32>,
        rows: burn::backend::tensor::FloatTensor<Self>,
    ) -> burn::backend::tensor::FloatTensor<Self>;
}

/// `table[ids]`, `ids: [B, T]` → `[B, T, d]`, with the in-place backward of this module on
/// Flex and burn's `embedding` elsewhere. Ids outside the table panic, as burn's do.
pub fn embedding_lookup(table: Tensor<2>, ids: Tensor<2, Int>) -> Tensor<3> {
    if !available(&table.device()) {
        return burn::tensor::module::embedding(table, ids);
    }
    #[cfg(feature = "flex")]
    {
        use burn::backend::Dispatch;
        let [b, t] = ids.dims();
        let [v, d] = table.dims();
        let ids: Vec<u32> = ids
            .into_data()
            .try_into_vec_as::<i64>()
            .expect("integer ids")
            .into_iter()
            .map(|i| {
                assert!(
                    (0..v as i64).contains(&i),
                    "embedding: id {i} outside a table of {v} rows"
                );
                i as u32
            })
            .collect();
        let rows = <Dispatch as EmbeddingLookupBackend>::embedding_rows(table.into_dispatch(), ids);
        Tensor::<2>::from_dispatch(rows).reshape([b, t, d])
    }
    #[cfg(not(feature = "flex"))]
    unreachable!("available() is false without flex")
}

fn available(device: &Device) -> bool {
    cfg!(feature = "flex") && crate::device::is_flex(device)
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::backend::tensor::FloatTensor;
    use burn::tensor::{DType, TensorData};
    use burn_flex::FlexTensor;

    use super::EmbeddingLookupBackend;

    fn contiguous(t: FlexTensor) -> FlexTensor {
        assert_eq!(t.dtype(), DType::F32, "embedding: f32 tables only");
        if t.is_contiguous() {
            t
        } else {
            t.to_contiguous()
        }
    }

    impl EmbeddingLookupBackend for Flex {
        fn embedding_rows(table: FloatTensor<Self>, ids: Vec<u32>) -> FloatTensor<Self> {
            let table = contiguous(table);
            let d = table.layout().shape()[1];
            let src = table.as_slice::<f32>().expect("contiguous");
            let mut out = Vec::with_capacity(ids.len() * d);
            for &i in &ids {
                let i = i as usize;
                out.extend_from_slice(&src[i * d..(i + 1) * d]);
            }
            FlexTensor::from_data(TensorData::new(out, [ids.len(), d]))
        }

        fn embedding_scatter_add(
            acc: FloatTensor<Self>,
            ids: Vec<u32>,
            rows: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let rows = contiguous(rows);
            let mut acc = contiguous(acc);
            let d = acc.layout().shape()[1];
            let add = |dst: &mut [f32], src: &[f32]| {
                for (n, &i) in ids.iter().enumerate() {
                    let i = i as usize;
                    let (to, from) = (&mut dst[i * d..(i + 1) * d], &src[n * d..(n + 1) * d]);
                    to.iter_mut().zip(from).for_each(|(a, b)| *a += b);
                }
            };
            let src = rows.as_slice::<f32>().expect("contiguous");
            if acc.is_unique()
                && let Some(dst) = acc.try_storage_mut::<f32>()
            {
                add(dst, src);
                return acc;
            }
            let shape = acc.layout().shape().to_vec();
            let mut dst = acc.as_slice::<f32>().expect("contiguous").to_vec();
            add(&mut dst, src);
            FlexTensor::from_data(TensorData::new(dst, shape))
        }

        fn embedding_scatter_new(
            vocab: usize,
            ids: Vec<u32>,
            rows: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let d = rows.layout().shape()[1];
            let zeros = FlexTensor::from_data(TensorData::new(vec![0.0f32; vocab * d], [vocab, d]));
            Self::embedding_scatter_add(zeros, ids, rows)
        }
    }
}

#[cfg(feature = "flex")]
mod autodiff {
    use burn::backend::autodiff::Autodiff;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::tensor::FloatTensor;

    use super::EmbeddingLookupBackend;

    #[derive(Debug)]
    struct LookupBackward;

    #[derive(Clone, Debug)]
    struct State<B: EmbeddingLookupBackend> {
        /// The table as autodiff sees it: the key of its already registered gradient.
        table: FloatTensor<Autodiff<B>>,
        vocab: usize,
        ids: Vec<u32>,
    }

    impl<B: EmbeddingLookupBackend> Backward<B, 1> for LookupBackward {
        type State = State<B>;

        fn backward(
            self,
            ops: Ops<Self::State, 1>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [node] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let Some(node) = node else { return };
            let s = ops.state;
            let sum = match grads.remove::<B>(&s.table) {
                Some(acc) => B::embedding_scatter_add(acc, s.ids, grad),
                None => {
                    // A table-sized buffer is about to be mapped: first hand the heap the
                    // backward has freed (the step's activations) back to the kernel.
                    rlhf_core::allocator::release_free_memory();
                    B::embedding_scatter_new(s.vocab, s.ids, grad)
                }
            };
            grads.register::<B>(node.id, sum);
        }
    }

    impl<B: EmbeddingLookupBackend, C: CheckpointStrategy> EmbeddingLookupBackend for Autodiff<B, C> {
        fn embedding_rows(table: FloatTensor<Self>, ids: Vec<u32>) -> FloatTensor<Self> {
            let key: FloatTensor<Autodiff<B>> = table.clone();
            let (t, t_node) = table.into_parts();
            let vocab = burn::backend::TensorMetadata::shape(&t)[0];
            let rows = B::embedding_rows(t, ids.clone());
            match LookupBackward
                .prepare::<C>([t_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(
                    State {
                        table: key,
                        vocab,
                        ids,
                    },
                    rows,
                ),
                OpsKind::UnTracked(prep) => prep.finish(rows),
            }
        }

        fn embedding_scatter_add(
            _acc: FloatTensor<Self>,
            _ids: Vec<u32>,
            _rows: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            unreachable!("the lookup's backward runs on the inner backend")
        }

        fn embedding_scatter_new(
            _vocab: usize,
            _ids: Vec<u32>,
            _rows: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            unreachable!("the lookup's backward runs on the inner backend")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// Values and gradients equal burn's `embedding`, alone and beside a tied projection of
    /// the same table (whose gradient the lookup then adds into), with repeated ids.
    #[test]
    fn equals_burns_embedding_in_values_and_gradients() {
        let dev = Device::flex().autodiff();
        let table = Tensor::<2>::random([9, 4], Distribution::Normal(0.0, 1.0), &dev);
        let ids = Tensor::<2, Int>::from_ints([[0, 3, 3, 8], [7, 0, 1, 3]], &dev);
        let h = Tensor::<3>::random([2, 4, 4], Distribution::Normal(0.0, 1.0), &dev);
        for tied in [false, true] {
            let run = |ours: bool| {
                let t = table.clone().require_grad();
                let x = if ours {
                    embedding_lookup(t.clone(), ids.clone())
                } else {
                    burn::tensor::module::embedding(t.clone(), ids.clone())
                };
                let y = x.clone() * h.clone();
                let loss = if tied {
                    let logits = crate::model::tied_logits(y, t.clone());
                    (logits.clone() * logits).sum()
                } else {
                    (y.clone() * y).sum()
                };
                let grads = loss.backward();
                let g = t.grad(&grads).unwrap();
                let v: Vec<f32> = x.into_data().try_into_vec_as().unwrap();
                let g: Vec<f32> = g.into_data().try_into_vec_as().unwrap();
                (v, g)
            };
            let (a, b) = (run(true), run(false));
            assert_eq!(a.0, b.0, "values");
            for (x, y) in a.1.iter().zip(&b.1) {
                assert!(
                    (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                    "tied {tied}: {x} vs {y}"
                );
            }
        }
    }

    /// Without autodiff it is a plain gather.
    #[test]
    fn plain_lookup_reads_the_rows() {
        let dev = Device::flex();
        let table = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], &dev);
        let ids = Tensor::<2, Int>::from_ints([[2, 0, 2]], &dev);
        let x: Vec<f32> = embedding_lookup(table, ids)
            .into_data()
            .try_into_vec_as()
            .unwrap();
        assert_eq!(x, [5.0, 6.0, 1.0, 2.0, 5.0, 6.0]);
    }
}
