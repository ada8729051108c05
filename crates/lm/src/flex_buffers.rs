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
