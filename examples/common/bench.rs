//! Measurement helpers shared by the benchmark examples (included with `#[path]`).
#![allow(dead_code)] // each example uses a subset

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};

/// Mean seconds per call of `f` over `iters` calls, after one warm-up call. The device is
/// synchronised before the clock starts and before it stops, so work queued asynchronously
/// (CUDA, wgpu) is counted.
pub fn time<F: FnMut()>(device: &Device, iters: usize, mut f: F) -> f64 {
    f();
    sync(device);
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    sync(device);
    t.elapsed().as_secs_f64() / iters as f64
}

/// Waits for the device's queued work (a no-op on the CPU backends).
pub fn sync(device: &Device) {
    device
        .sync()
        .unwrap_or_else(|e| panic!("device synchronisation failed: {e:?}"));
}

/// f32 GEMM throughput of the device at 1024³ (FLOP/s), the yardstick for model FLOP/s.
pub fn gemm_peak(device: &Device) -> f64 {
    let a = Tensor::<2>::random([1024, 1024], Distribution::Default, device);
    let b = Tensor::<2>::random([1024, 1024], Distribution::Default, device);
    let secs = time(device, 5, || {
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

/// Runs a Python peer benchmark `script args…` with `python`, after this process's own
/// measurements (never concurrently), and returns the last JSON line it prints with
/// `peak_rss_mib` (the peer process's own peak resident set, `VmHWM`) added. Not `ru_maxrss`:
/// Linux carries the forking process's high-water mark into the child's `ru_maxrss` across
/// `exec`, so a peer started by a benchmark that had used more memory would report the
/// benchmark's peak instead of its own (seen: the two figures came out identical). `OPENBLAS_CORETYPE` and
/// `OPENBLAS_L2_SIZE` are removed from the peer's environment, as the peer scripts ask.
pub fn peer_json(
    python: &std::path::Path,
    script: &std::path::Path,
    args: &[String],
) -> Result<serde_json::Value, String> {
    const WRAPPER: &str = "import runpy, sys\n\
        script = sys.argv[1]; sys.argv = sys.argv[1:]\n\
        try:\n    runpy.run_path(script, run_name='__main__')\n\
        finally:\n    r = [l.split()[1] for l in open('/proc/self/status') \
        if l.startswith('VmHWM:')]\n    \
        print('PEER_PEAK_RSS_KIB', r[0] if r else 'nan', file=sys.stderr, flush=True)\n";
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(WRAPPER)
        .arg(script)
        .args(args)
        .env_remove("OPENBLAS_CORETYPE")
        .env_remove("OPENBLAS_L2_SIZE")
        .output()
        .map_err(|e| format!("running {}: {e}", python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let tail: String = stderr
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(format!("{} failed: {tail}", script.display()));
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| format!("{} printed no JSON", script.display()))?;
    let mut v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("peer JSON: {e}: {line}"))?;
    let rss = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("PEER_PEAK_RSS_KIB "))
        .filter_map(|kib| kib.trim().parse::<f64>().ok())
        .next_back();
    v["peak_rss_mib"] = serde_json::json!(rss.map(|kib| kib / 1024.0));
    Ok(v)
}
