//! Measurement helpers shared by the benchmark examples (included with `#[path]`).
#![allow(dead_code)] // each example uses a subset

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};

/// Mean seconds per call of `f` over `iters` calls, after one warm-up call.
pub fn time<F: FnMut()>(iters: usize, mut f: F) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_secs_f64() / iters as f64
}

/// f32 GEMM throughput of the device at 1024³ (FLOP/s), the yardstick for model FLOP/s.
pub fn gemm_peak(device: &Device) -> f64 {
    let a = Tensor::<2>::random([1024, 1024], Distribution::Default, device);
    let b = Tensor::<2>::random([1024, 1024], Distribution::Default, device);
    let secs = time(5, || {
        let _ = a.clone().matmul(b.clone()).into_data();
    });
    2.0 * 1024f64.powi(3) / secs
}

/// A `/proc/self/status` memory field of this process in MiB (e.g. `"VmHWM:"` for the peak
/// resident set, `"VmRSS:"` for the current one); `None` where it cannot be read.
pub fn status_mib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}
