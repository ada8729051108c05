//! Vectorisable f32 building blocks shared by the hand-written kernels (the fused LM head,
//! the fused gated activation): a branch-free `exp`, a fused multiply-add that is only fused
//! inside functions compiled with FMA, and `dispatched!`, which compiles a kernel for AVX-512
//! and AVX2 as well as the baseline and picks one at run time.

/// `exp(x)` to within about 2 ulp for `x ∈ [−87, 88]` (inputs are clamped to that range, so
/// `exp(−∞)` gives `e⁻⁸⁷ ≈ 1.6·10⁻³⁸` rather than 0, a difference no softmax sum can see).
///
/// ```text
/// n = ⌊x·log₂e + ½⌋,  r = x − n·ln 2   (Cody–Waite, |r| ≤ ln 2 / 2)
/// exp(x) = 2ⁿ · (1 + r + r²·P(r))      (Cephes `expf` polynomial)
/// ```
///
/// Written without branches or calls so that loops over slices vectorise.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    exp_f::<false>(x)
}

/// `a·b + c`, fused (one rounding, the `vfmadd` instruction) when `F`.
#[inline(always)]
pub(crate) fn madd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F { a.mul_add(b, c) } else { a * b + c }
}

/// [`exp`] with fused multiply-adds when `F` (only inside functions compiled with FMA).
#[inline(always)]
pub(crate) fn exp_f<const F: bool>(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = madd::<F>(p, r, 1.398_199_9e-3);
    p = madd::<F>(p, r, 8.333_452e-3);
    p = madd::<F>(p, r, 4.166_579_6e-2);
    p = madd::<F>(p, r, 1.666_666_5e-1);
    p = madd::<F>(p, r, 0.5);
    let y = madd::<F>(p * r, r, r + 1.0);
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    y * scale
}

/// Lanes the kernels' accumulators are unrolled over (one AVX-512 register of f32).
pub(crate) const LANES: usize = 16;

/// `dispatched!(/// doc, name, impl_fn, (args) -> ret)` defines `pub fn name(args) -> ret`
/// calling `impl_fn::<true>` inside an AVX-512 or AVX2+FMA compiled copy when the CPU has
/// them, `impl_fn::<false>` otherwise.
macro_rules! dispatched {
    ($(#[$doc:meta])* $name:ident, $imp:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                unsafe fn v4($($arg: $ty),*) -> $ret {
                    $imp::<true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v3($($arg: $ty),*) -> $ret {
                    $imp::<true>($($arg),*)
                }
                if $crate::simd::level() >= 4 {
                    // SAFETY: the CPU reports AVX-512 F/BW/DQ/VL, AVX2 and FMA.
                    return unsafe { v4($($arg),*) };
                }
                if $crate::simd::level() == 3 {
                    // SAFETY: the CPU reports AVX2 and FMA.
                    return unsafe { v3($($arg),*) };
                }
            }
            $imp::<false>($($arg),*)
        }
    };
}
pub(crate) use dispatched;

/// `up_to_eight!(n, f(args))` calls `f::<N>(args)` for the run-time count `n` in `1..=8`
/// (`N = 1` below 2): the const-generic instantiations of a kernel unrolled over its rows.
#[cfg(target_arch = "x86_64")]
macro_rules! up_to_eight {
    ($n:expr, $f:ident($($a:expr),* $(,)?)) => {
        match $n {
            8 => $f::<8>($($a),*),
            7 => $f::<7>($($a),*),
            6 => $f::<6>($($a),*),
            5 => $f::<5>($($a),*),
            4 => $f::<4>($($a),*),
            3 => $f::<3>($($a),*),
            2 => $f::<2>($($a),*),
            _ => $f::<1>($($a),*),
        }
    };
}
#[cfg(target_arch = "x86_64")]
pub(crate) use up_to_eight;

/// Environment variable that caps the instruction-set level the kernels use (`3`: AVX2 at
/// most, `0`: the baseline), to compare the kernels' paths on one machine; read once.
pub const SIMD_LEVEL_ENV: &str = "LM_SIMD_LEVEL";

/// x86-64 micro-architecture level the kernels may use: 4 (AVX-512), 3 (AVX2 + FMA) or 0,
/// at most [`SIMD_LEVEL_ENV`] when that is set to a number.
#[cfg(target_arch = "x86_64")]
pub(crate) fn level() -> u8 {
    use std::sync::OnceLock;
    static LEVEL: OnceLock<u8> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        capped(
            detected_level(),
            std::env::var(SIMD_LEVEL_ENV).ok().as_deref(),
        )
    })
}

/// `detected`, at most the level `cap` names (a number; anything else caps nothing).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn capped(detected: u8, cap: Option<&str>) -> u8 {
    let cap = cap
        .and_then(|v| v.trim().parse::<u8>().ok())
        .unwrap_or(u8::MAX);
    detected.min(cap)
}

/// The level the CPU reports (see [`level`]).
#[cfg(target_arch = "x86_64")]
fn detected_level() -> u8 {
    let v3 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
    let v4 = v3
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx512vl");
    if v4 {
        4
    } else if v3 {
        3
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_cap_lowers_and_never_raises() {
        assert_eq!(capped(4, None), 4);
        assert_eq!(capped(4, Some("3")), 3);
        assert_eq!(capped(4, Some(" 0 ")), 0);
        assert_eq!(capped(3, Some("4")), 3);
        assert_eq!(capped(4, Some("avx2")), 4);
    }

    #[test]
    fn exp_is_accurate_over_the_softmax_range() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            worst = worst.max(((got - want) / want).abs());
            x += 0.001_3;
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert!(exp(f32::NEG_INFINITY) < 2e-38);
        assert_eq!(exp(0.0), 1.0);
    }
}
