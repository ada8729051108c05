//! glibc `malloc` settings for training processes.
//!
//! A training step allocates and frees the same tensors every step: activations, gradients,
//! optimizer temporaries of a few MiB each. glibc serves blocks below its mmap threshold from
//! the heap and, by default, gives the free top of the heap back to the kernel whenever it
//! exceeds the trim threshold (both adjusted dynamically, the trim threshold to at most
//! 64 MiB). Between two steps the heap top is trimmed, so the next step faults every page
//! back in and the kernel zeroes it again. On the shared tiny-config DPO step (`bench_dpo`,
//! flex, 2-core AMD EPYC) `perf` puts page faults, page clearing and `brk` at about 8 % of
//! the process, and tokens/s rise from ≈ 3 660 to ≈ 4 310 once the heap is kept; the peak
//! resident set does not change (the freed pages are the ones the next step reuses), nor do
//! Gemma 3 270M steps (whose large tensors are above the threshold and mapped as before) or
//! generation.
//!
//! [`tune_for_training`] sets the two thresholds explicitly (which also switches glibc's
//! dynamic adjustment off):
//!
//! ```text
//! M_MMAP_THRESHOLD = 32 MiB        blocks ≥ 32 MiB are mapped and returned on free, as before
//! M_TRIM_THRESHOLD = 2 GiB − 1     the heap top is kept instead of trimmed after each step
//! ```
//!
//! The process keeps the heap it peaked at until it exits, which is what a training process
//! wants; call it at the start of `main` of a training binary (the `rlhf` command line and the
//! examples do), not from a library. It leaves the settings alone when the environment already
//! sets them (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `GLIBC_TUNABLES`) or when
//! `RLHF_MALLOC_TUNING=0`, and does nothing on other C libraries.

/// What [`tune_for_training`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MallocTuning {
    /// Both thresholds were set.
    Applied,
    /// The environment sets glibc's malloc parameters itself, or `RLHF_MALLOC_TUNING=0`.
    LeftToEnvironment,
    /// Not glibc: nothing to do.
    Unsupported,
}

/// Blocks at least this large are mapped (and unmapped on free) rather than taken from the heap.
pub const MMAP_THRESHOLD_BYTES: i32 = 32 << 20;

/// Free memory at the heap top is returned to the kernel only beyond this.
pub const TRIM_THRESHOLD_BYTES: i32 = i32::MAX;

/// Environment variable that disables [`tune_for_training`] when set to `0`.
pub const TUNING_ENV: &str = "RLHF_MALLOC_TUNING";

/// Keeps freed heap memory for the next training step instead of trimming it (see the
/// module documentation). Call once, early in `main`.
pub fn tune_for_training() -> MallocTuning {
    let env = |k: &str| std::env::var_os(k).is_some();
    if std::env::var(TUNING_ENV).is_ok_and(|v| v.trim() == "0")
        || env("MALLOC_MMAP_THRESHOLD_")
        || env("MALLOC_TRIM_THRESHOLD_")
        || env("GLIBC_TUNABLES")
    {
        return MallocTuning::LeftToEnvironment;
    }
    apply()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> MallocTuning {
    // SAFETY: `mallopt` only changes allocator parameters; it is thread-safe in glibc.
    let ok = unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
    };
    if ok {
        MallocTuning::Applied
    } else {
        MallocTuning::Unsupported
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> MallocTuning {
    MallocTuning::Unsupported
}

/// Returns the free memory inside glibc's heap to the kernel (`malloc_trim(0)`); a no-op on
/// other C libraries. For a moment when a large block is about to be mapped while much of the
/// heap is free: the backward pass, after it has freed a step's activations and before it
/// maps a table-sized gradient, calls it so that the two never count at once.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases free pages; it is thread-safe in glibc.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_on_glibc_and_is_idempotent() {
        let first = tune_for_training();
        let second = tune_for_training();
        assert_eq!(first, second);
        let env_set = [
            "MALLOC_MMAP_THRESHOLD_",
            "MALLOC_TRIM_THRESHOLD_",
            "GLIBC_TUNABLES",
        ]
        .iter()
        .any(|k| std::env::var_os(k).is_some())
            || std::env::var(TUNING_ENV).is_ok_and(|v| v.trim() == "0");
        if env_set {
            assert_eq!(first, MallocTuning::LeftToEnvironment);
        } else if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert_eq!(first, MallocTuning::Applied);
        } else {
            assert_eq!(first, MallocTuning::Unsupported);
        }
    }
}
