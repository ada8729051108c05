//! The one place that picks a burn [`Device`] for examples, tests and benchmarks.
//!
//! Library code never names a backend: it takes a `&Device`. Programs call
//! [`select_device`], which reads the `RLHF_DEVICE` environment variable
//! (`flex`, `wgpu`, `cuda`, `tch` / `libtorch`, `tch-cuda`) and otherwise takes the
//! first backend compiled in, GPUs first (`cuda`, `wgpu`, `tch`, `flex`).

use burn::tensor::Device;

use crate::error::LmError;

/// Environment variable that names the backend.
pub const DEVICE_ENV: &str = "RLHF_DEVICE";

/// Backends this build was compiled with, in priority order.
pub fn compiled_backends() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    if cfg!(feature = "tch") {
        v.push("tch");
    }
    if cfg!(feature = "flex") {
        v.push("flex");
    }
    v
}

/// Picks the device named by `RLHF_DEVICE`, else the first compiled backend.
pub fn select_device() -> Result<Device, LmError> {
    match std::env::var(DEVICE_ENV) {
        Ok(name) if !name.trim().is_empty() => device_by_name(name.trim()),
        _ => {
            let first = compiled_backends().first().copied().ok_or_else(|| {
                LmError::Device(
                    "no backend compiled in: enable one of the features flex, wgpu, cuda, tch"
                        .into(),
                )
            })?;
            device_by_name(first)
        }
    }
}

/// The device of the backend called `name` (`flex`, `wgpu`, `cuda`, `tch`, `tch-cuda`).
pub fn device_by_name(name: &str) -> Result<Device, LmError> {
    let not_compiled = |feature: &str| {
        LmError::Device(format!(
            "{DEVICE_ENV}={name} asks for a backend this build lacks: rebuild with \
             `--features {feature}` (compiled: {:?})",
            compiled_backends()
        ))
    };
    match name.to_ascii_lowercase().as_str() {
        "flex" | "cpu" => {
            #[cfg(feature = "flex")]
            return Ok(Device::flex());
            #[cfg(not(feature = "flex"))]
            return Err(not_compiled("flex"));
        }
        "wgpu" => {
            #[cfg(feature = "wgpu")]
            return Ok(Device::wgpu(Default::default()));
            #[cfg(not(feature = "wgpu"))]
            return Err(not_compiled("wgpu"));
        }
        "cuda" => {
            #[cfg(feature = "cuda")]
            return Ok(Device::cuda(0));
            #[cfg(not(feature = "cuda"))]
            return Err(not_compiled("cuda"));
        }
        "tch" | "libtorch" => {
            // Deprecated upstream (burn 0.22, removed in 0.23); kept as the design asks.
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            return Ok(Device::libtorch());
            #[cfg(not(feature = "tch"))]
            return Err(not_compiled("tch"));
        }
        "tch-cuda" => {
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            return Ok(Device::libtorch_cuda(0));
            #[cfg(not(feature = "tch"))]
            return Err(not_compiled("tch"));
        }
        other => Err(LmError::Device(format!(
            "{DEVICE_ENV}={other} is not a backend name; use one of flex, wgpu, cuda, tch, tch-cuda"
        ))),
    }
}

/// Whether `device` (with or without autodiff) is the Flex CPU backend.
pub fn is_flex(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    {
        device.clone().inner() == Device::flex()
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

/// Whether a fused Flex operation (`glu_op`, `rms_norm_op`, `rope_op`, `softmax_op`,
/// `linear_op`) runs for a tensor on `device` of `dtype`: the Flex backend, f32, and its
/// environment switch `var` not set to `0` (read once, then cached in `cell`).
pub(crate) fn fused_op_enabled(
    device: &Device,
    dtype: burn::tensor::DType,
    var: &str,
    cell: &std::sync::OnceLock<bool>,
) -> bool {
    cfg!(feature = "flex")
        && dtype == burn::tensor::DType::F32
        && is_flex(device)
        && *cell.get_or_init(|| std::env::var(var).map_or(true, |v| v.trim() != "0"))
}

/// Stack size of the compute pool's threads when [`run_on_compute_pool`] builds the pool
/// (the main thread's default; rayon's own default is 2 MiB).
pub const COMPUTE_STACK_BYTES: usize = 8 << 20;

/// Runs `f` on a thread of the compute pool (rayon's global pool, which the Flex kernels
/// split their work over) and returns its result; call it from `main` around the whole job.
///
/// The kernels' parallel parts run on the pool's workers, one per core, while the serial parts
/// of each step (operation dispatch, small operations) run on the calling thread. Called from
/// the main thread, that makes one thread more than there are cores, and the workers, spinning
/// between parallel sections, take turns with it. Run on a worker, the job keeps the thread
/// count at the core count: on the 2-core benchmark machine sampled decoding of the tiny
/// config gains 10–15 % (`bench_lm --part gen`), training steps and Gemma 3 decoding are
/// unchanged. Builds the global pool with [`COMPUTE_STACK_BYTES`] stacks when it does not
/// exist yet. Without the `flex` feature, `f` runs on the calling thread.
pub fn run_on_compute_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(feature = "flex")]
    {
        // Fails only when the pool already exists; it is then used as it is.
        let _ = rayon::ThreadPoolBuilder::new()
            .stack_size(COMPUTE_STACK_BYTES)
            .build_global();
        rayon::scope(|_| f())
    }
    #[cfg(not(feature = "flex"))]
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_name_is_a_clear_error() {
        let err = device_by_name("tpu").unwrap_err().to_string();
        assert!(err.contains("tpu") && err.contains("flex"), "{err}");
    }

    #[test]
    fn compute_pool_runs_the_job_on_a_worker_and_returns_its_result() {
        let (value, on_worker) =
            run_on_compute_pool(|| (6 * 7, cfg!(feature = "flex") == rayon_worker()));
        assert_eq!(value, 42);
        assert!(on_worker);
    }

    fn rayon_worker() -> bool {
        #[cfg(feature = "flex")]
        return rayon::current_thread_index().is_some();
        #[cfg(not(feature = "flex"))]
        false
    }

    #[cfg(feature = "flex")]
    #[test]
    fn flex_by_name() {
        assert!(device_by_name("flex").is_ok());
    }
}
