//! Buffer helpers shared by the Flex kernels of the fused operations.

use burn::tensor::{DType, TensorData};
use burn_flex::FlexTensor;

/// `t` with contiguous storage (a copy only when it is a strided view). Panics, naming `op`,
/// on a dtype other than f32 (the operations check the dtype before dispatching here).
pub(crate) fn contiguous(t: FlexTensor, op: &str) -> FlexTensor {
    assert_eq!(t.dtype(), DType::F32, "{op}: f32 tensors only");
    if t.is_contiguous() {
        t
    } else {
        t.to_contiguous()
    }
}

/// A contiguous tensor with `t`'s values whose buffer the caller may overwrite: `t` itself
/// when nothing else holds its buffer, else a copy.
pub(crate) fn owned(t: FlexTensor, op: &str) -> FlexTensor {
    let t = contiguous(t, op);
    if t.is_unique() {
        return t;
    }
    let shape = t.layout().shape().to_vec();
    let v = t.as_slice::<f32>().expect("contiguous").to_vec();
    FlexTensor::from_data(TensorData::new(v, shape))
}

/// An output buffer that the tasks of a parallel loop write at once, each its own elements
/// (the vocabulary blocks of the decoding head, the column ranges of the few-rows product).
pub(crate) struct DisjointWrites(*mut f32);

// SAFETY: the tasks write disjoint elements (each user's contract) and the buffer outlives
// the parallel loop it is shared with.
unsafe impl Send for DisjointWrites {}
unsafe impl Sync for DisjointWrites {}

impl DisjointWrites {
    /// Shares the buffer starting at `ptr`.
    pub(crate) fn new(ptr: *mut f32) -> Self {
        Self(ptr)
    }

    /// The element `offset` floats in (a method, so closures capture the whole wrapper).
    pub(crate) fn at(&self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}
