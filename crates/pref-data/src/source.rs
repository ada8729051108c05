//! [`BatchSource`]: what a trainer reads batches from (defined in [`rlhf_core`], re-exported
//! here beside the batches that implement it).

pub use rlhf_core::BatchSource;
