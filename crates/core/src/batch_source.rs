//! [`BatchSource`]: what a trainer reads batches from.

use burn::tensor::Device;

/// A finite, indexable collection of batches. The loop decides the order (seeded shuffles
/// per epoch), so a run can resume at any step and see exactly the batches it would have
/// seen.
pub trait BatchSource {
    /// One batch, as the method consumes it.
    type Batch;

    /// Number of batches.
    fn len(&self) -> usize;

    /// Whether there is no batch at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Batch `index` (`< len()`), with its tensors on `device`.
    fn batch(&self, index: usize, device: &Device) -> Self::Batch;
}
