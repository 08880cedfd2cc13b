//! Branch-free `exp`, `ln` and reductions that the compiler can vectorise.
//!
//! The E-step evaluates one exponential per (row, component) and one logarithm per row. The
//! standard library's `f64::exp`/`f64::ln` are calls into libm, which keep every loop that
//! uses them scalar: they took over half the time of an iteration at D = 2. The versions here
//! are written with plain IEEE arithmetic, selects and integer bit operations only (no calls,
//! no branches, no `round`, no FMA), so a loop over a slice vectorises with whatever vector
//! width the target has — and gives the same bits whatever that width is, since nothing is
//! reassociated.
//!
//! Accuracy: both stay within 2 ulp of the correctly rounded result over their domain (the
//! tests below check a few million points against libm), `exp(0) = 1` and `ln(1) = 0` exactly,
//! `exp` underflows gradually through the subnormals to 0 and both propagate NaN.
//!
//! The sums use several independent accumulators: a single running sum is a chain of
//! dependent additions that the compiler may not reorder, which runs at one addition per
//! four cycles. The order of summation depends only on the length, so results are
//! deterministic.

/// Defines `pub(crate) fn $name` with the signature of the `#[inline(always)]` function
/// `$body`, compiled three times — for AVX-512F, for AVX2 and for the build's baseline target
/// — and running the widest copy the CPU supports (on x86-64; elsewhere only the baseline
/// exists; the detection is cached by the standard library). The AVX-512F and AVX2 copies are
/// never inlined into their caller, so LLVM vectorises each on its own, not as part of a
/// larger function (inside one, it chose two-lane vectors for the reductions below).
macro_rules! with_avx2 {
    ($(#[$doc:meta])* fn $name:ident = $body:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                #[inline(never)]
                #[allow(clippy::too_many_arguments)]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                #[inline(never)]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: `avx512` needs only the AVX-512F instructions, which the CPU
                    // running this has (checked on the line above).
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: `avx2` needs only the AVX2 instructions, which the CPU running
                    // this has (checked on the line above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use with_avx2;

/// ln 2 split in two (fdlibm's constants): the high part has 32 trailing zero bits, so n·LN2_HI
/// is exact for the exponents that occur, and LN2_HI + LN2_LO is ln 2 to about 2⁻⁸⁵.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// 1.5 · 2⁵²: adding and subtracting it rounds a double of magnitude < 2⁵¹ to the nearest
/// integer (ties to even) without a call to `round`, and leaves that integer in the low bits
/// of the intermediate sum.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// e^x for every finite or infinite x; NaN in, NaN out.
///
/// x = n·ln 2 + r with |r| ≤ ln 2 / 2 (Cody–Waite reduction with a two-part ln 2), e^r by its
/// Taylor series to degree 13 (truncation error below 10⁻¹⁷), and 2ⁿ applied as two exact
/// power-of-two factors so that results in the subnormal range round once.
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    // Beyond these e^x is 0 or ∞ in double precision; clamping keeps n in a range where the
    // two scale factors below are normal numbers. `clamp` passes NaN on.
    let x = x.clamp(-746.0, 710.0);
    let shifted = x * std::f64::consts::LOG2_E + ROUND_MAGIC;
    let n = shifted - ROUND_MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // n sits in the low bits of `shifted` as a two's-complement offset from the magic number.
    let n_int = shifted.to_bits().wrapping_sub(ROUND_MAGIC.to_bits()) as i64;
    let half = n_int >> 1;
    let scale_a = f64::from_bits(((half + 1023) as u64) << 52);
    let scale_b = f64::from_bits(((n_int - half + 1023) as u64) << 52);
    p * scale_a * scale_b
}

/// ln x for every positive normal x (the only inputs [`ln_in_place`] passes here).
///
/// x = 2ᵉ·m with m ∈ [√½, √2), ln m = 2 atanh f with f = (m − 1)/(m + 1), |f| < 0.1716, by its
/// odd series to f²³.
#[inline(always)]
fn ln_normal(x: f64) -> f64 {
    const EXPONENT_MAGIC: f64 = 4_503_599_627_370_496.0; // 2^52
    let bits = x.to_bits();
    // The biased exponent as a double, via the 2^52 trick (no integer-to-float conversion).
    let biased = f64::from_bits((bits >> 52) | EXPONENT_MAGIC.to_bits()) - EXPONENT_MAGIC;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = biased - 1023.0 + if big { 1.0 } else { 0.0 };
    let f = (m - 1.0) / (m + 1.0);
    let s = f * f;
    let mut q = 1.0 / 23.0;
    q = q * s + 1.0 / 21.0;
    q = q * s + 1.0 / 19.0;
    q = q * s + 1.0 / 17.0;
    q = q * s + 1.0 / 15.0;
    q = q * s + 1.0 / 13.0;
    q = q * s + 1.0 / 11.0;
    q = q * s + 1.0 / 9.0;
    q = q * s + 1.0 / 7.0;
    q = q * s + 1.0 / 5.0;
    q = q * s + 1.0 / 3.0;
    let ln_m = 2.0 * f + 2.0 * f * s * q;
    e * LN2_HI + (ln_m + e * LN2_LO)
}

/// Replaces every value of `xs` by its natural logarithm. Positive normal values take the
/// vectorised path; if any value is not one (0, subnormal, negative, ∞, NaN) the whole slice
/// falls back to the standard library, which handles those exactly.
#[inline(always)]
pub(crate) fn ln_in_place(xs: &mut [f64]) {
    let all_normal = xs.iter().fold(true, |ok, &x| {
        ok & (f64::MIN_POSITIVE..=f64::MAX).contains(&x)
    });
    if all_normal {
        xs.iter_mut().for_each(|x| *x = ln_normal(*x));
    } else {
        xs.iter_mut().for_each(|x| *x = x.ln());
    }
}

/// Number of independent partial sums: four vectors of four lanes on AVX2.
const LANES: usize = 16;

/// Σ_i term(a_i, b_i) over the shorter length, element i going to partial sum i mod
/// [`LANES`]; `term(0, 0)` must be 0. The last partial block is zero-padded to a whole one
/// rather than summed by a scalar tail loop: with a tail, LLVM vectorises the main loop only
/// two lanes wide (seen in the AVX2 build).
#[inline(always)]
fn lane_sum(a: &[f64], b: &[f64], term: impl Fn(f64, f64) -> f64) -> f64 {
    let n = a.len().min(b.len());
    let (a_blocks, a_rest) = a[..n].as_chunks::<LANES>();
    let (b_blocks, b_rest) = b[..n].as_chunks::<LANES>();
    let mut acc = [0.0; LANES];
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        for l in 0..LANES {
            acc[l] += term(x[l], y[l]);
        }
    }
    let (x, y) = (zero_padded(a_rest), zero_padded(b_rest));
    for l in 0..LANES {
        acc[l] += term(x[l], y[l]);
    }
    pairwise(acc)
}

/// The sum of [`lane_sum`]'s partial sums, by a fixed pairwise tree.
#[inline(always)]
fn pairwise(mut acc: [f64; LANES]) -> f64 {
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    acc[0]
}

with_avx2! {
    /// Σ a_i b_i (over the shorter length).
    fn dot = dot_body(a: &[f64], b: &[f64]) -> f64
}

#[inline(always)]
fn dot_body(a: &[f64], b: &[f64]) -> f64 {
    lane_sum(a, b, |x, y| x * y)
}

with_avx2! {
    /// [`dot`] of `a` with each of `b` (all of `a`'s length), with `dot`'s bits: the same
    /// partial sums in the same order, four at a time, so that each block of `a` is loaded
    /// once for four products instead of four times (the scatter of small D is made of such
    /// dot products, and was bound by their loads).
    fn dot4 = dot4_body(a: &[f64], b: [&[f64]; 4]) -> [f64; 4]
}

#[inline(always)]
fn dot4_body(a: &[f64], b: [&[f64]; 4]) -> [f64; 4] {
    let n = a.len();
    let (a_blocks, a_rest) = a.as_chunks::<LANES>();
    let (b0, r0) = b[0][..n].as_chunks::<LANES>();
    let (b1, r1) = b[1][..n].as_chunks::<LANES>();
    let (b2, r2) = b[2][..n].as_chunks::<LANES>();
    let (b3, r3) = b[3][..n].as_chunks::<LANES>();
    let (mut s0, mut s1, mut s2, mut s3) = ([0.0; LANES], [0.0; LANES], [0.0; LANES], [0.0; LANES]);
    for ((((x, y0), y1), y2), y3) in a_blocks.iter().zip(b0).zip(b1).zip(b2).zip(b3) {
        for l in 0..LANES {
            s0[l] += x[l] * y0[l];
            s1[l] += x[l] * y1[l];
            s2[l] += x[l] * y2[l];
            s3[l] += x[l] * y3[l];
        }
    }
    let x = zero_padded(a_rest);
    let (y0, y1, y2, y3) = (
        zero_padded(r0),
        zero_padded(r1),
        zero_padded(r2),
        zero_padded(r3),
    );
    for l in 0..LANES {
        s0[l] += x[l] * y0[l];
        s1[l] += x[l] * y1[l];
        s2[l] += x[l] * y2[l];
        s3[l] += x[l] * y3[l];
    }
    [pairwise(s0), pairwise(s1), pairwise(s2), pairwise(s3)]
}

/// A partial block (shorter than [`LANES`]) followed by zeros.
#[inline(always)]
fn zero_padded(rest: &[f64]) -> [f64; LANES] {
    let mut out = [0.0; LANES];
    out[..rest.len()].copy_from_slice(rest);
    out
}

with_avx2! {
    /// Σ a_i.
    fn sum = sum_body(a: &[f64]) -> f64
}

#[inline(always)]
fn sum_body(a: &[f64]) -> f64 {
    lane_sum(a, a, |x, _| x)
}

with_avx2! {
    /// Σ g_i (x_i − shift), for finite `shift`.
    fn shifted_dot = shifted_dot_body(g: &[f64], x: &[f64], shift: f64) -> f64
}

#[inline(always)]
fn shifted_dot_body(g: &[f64], x: &[f64], shift: f64) -> f64 {
    lane_sum(g, x, |g, x| g * (x - shift))
}

with_avx2! {
    /// Σ g_i (x_i − mean)², for finite `mean`, multiplied as (g·(x − mean))·(x − mean).
    fn weighted_square_deviation = weighted_square_deviation_body(
        g: &[f64],
        x: &[f64],
        mean: f64,
    ) -> f64
}

#[inline(always)]
fn weighted_square_deviation_body(g: &[f64], x: &[f64], mean: f64) -> f64 {
    lane_sum(g, x, |g, x| g * (x - mean) * (x - mean))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// Distance in units in the last place between two finite doubles of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} vs {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut worst = (0, 0.0);
        for i in 0..2_000_000 {
            let x = match i % 4 {
                0 => rng.random_range(-1.0..1.0),
                1 => rng.random_range(-40.0..0.0),
                2 => rng.random_range(-745.0..709.0),
                _ => rng.random_range(-1e-6..1e-6),
            };
            let u = ulps(exp(x), x.exp());
            if u > worst.0 {
                worst = (u, x);
            }
        }
        assert!(worst.0 <= 2, "exp({}) is {} ulp off", worst.1, worst.0);
    }

    #[test]
    fn exp_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(1000.0), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
        assert!(ulps(exp(1.0), std::f64::consts::E) <= 1);
        // Gradual underflow: subnormal results agree with libm to within an ulp.
        for x in [-708.5, -720.0, -740.0, -744.4] {
            let (a, b) = (exp(x), x.exp());
            assert!(a > 0.0 && a < f64::MIN_POSITIVE);
            assert!(ulps(a, b) <= 1, "exp({x}) = {a:e}, libm {b:e}");
        }
    }

    #[test]
    fn ln_is_within_two_ulp_of_libm() {
        let mut rng = StdRng::seed_from_u64(2);
        let mut xs: Vec<f64> = (0..2_000_000)
            .map(|i| match i % 4 {
                0 => rng.random_range(1.0..20.0),
                1 => rng.random_range(0.5..2.0),
                2 => 10f64.powf(rng.random_range(-300.0..300.0)),
                _ => 1.0 + rng.random_range(-1e-8..1e-8),
            })
            .collect();
        let expected: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
        let inputs = xs.clone();
        ln_in_place(&mut xs);
        for ((got, want), x) in xs.iter().zip(&expected).zip(&inputs) {
            // Near x = 1 the result is tiny; compare absolutely there, in ulps elsewhere.
            if (x - 1.0).abs() < 1e-3 {
                assert!((got - want).abs() <= 2.0 * f64::EPSILON * want.abs().max(1e-300));
            } else {
                assert!(ulps(*got, *want) <= 2, "ln({x}) = {got}, libm {want}");
            }
        }
    }

    #[test]
    fn ln_special_values_fall_back_exactly() {
        let mut xs = vec![1.0, 2.0, std::f64::consts::E];
        ln_in_place(&mut xs);
        assert_eq!(xs[0], 0.0);
        assert_eq!(xs[1], std::f64::consts::LN_2);
        assert!((xs[2] - 1.0).abs() <= f64::EPSILON);
        let mut odd = vec![2.0, 0.0, f64::INFINITY, f64::NAN, -1.0, 1e-310];
        ln_in_place(&mut odd);
        assert_eq!(odd[0], std::f64::consts::LN_2);
        assert_eq!(odd[1], f64::NEG_INFINITY);
        assert_eq!(odd[2], f64::INFINITY);
        assert!(odd[3].is_nan() && odd[4].is_nan());
        assert_eq!(odd[5], 1e-310f64.ln());
    }

    /// The dispatched reductions (AVX-512/AVX2 where available) and the baseline build of the
    /// same code give the same bits.
    #[test]
    fn dispatched_reductions_match_the_baseline_bit_for_bit() {
        let mut rng = StdRng::seed_from_u64(3);
        for n in [0, 1, 5, 16, 17, 100, 4099] {
            let v: Vec<Vec<f64>> = (0..5)
                .map(|_| (0..n).map(|_| rng.random_range(-1e3..1e3)).collect())
                .collect();
            let (a, b) = (&v[0], &v[1]);
            assert_eq!(dot(a, b).to_bits(), dot_body(a, b).to_bits());
            assert_eq!(sum(a).to_bits(), sum_body(a).to_bits());
            assert_eq!(
                shifted_dot(a, b, 3.5).to_bits(),
                shifted_dot_body(a, b, 3.5).to_bits()
            );
            assert_eq!(
                weighted_square_deviation(a, b, -2.0).to_bits(),
                weighted_square_deviation_body(a, b, -2.0).to_bits()
            );
            let mut e1: Vec<f64> = a.iter().map(|x| exp(x / 100.0)).collect();
            ln_in_place(&mut e1);
            for (l, x) in e1.iter().zip(a) {
                assert!((l - x / 100.0).abs() <= 4.0 * f64::EPSILON * (1.0 + l.abs()));
            }
        }
    }

    /// Each of `dot4`'s four results has the bits of `dot` on the same pair, dispatched or not,
    /// whatever the length's remainder modulo the lane count.
    #[test]
    fn dot4_gives_dot_bit_for_bit() {
        let mut rng = StdRng::seed_from_u64(4);
        for n in [0, 1, 5, 15, 16, 17, 33, 384, 4099] {
            let v: Vec<Vec<f64>> = (0..5)
                .map(|_| (0..n).map(|_| rng.random_range(-1e3..1e3)).collect())
                .collect();
            let b = [&v[1][..], &v[2][..], &v[3][..], &v[4][..]];
            let dispatched = dot4(&v[0], b);
            let baseline = dot4_body(&v[0], b);
            for q in 0..4 {
                let single = dot(&v[0], b[q]).to_bits();
                assert_eq!(dispatched[q].to_bits(), single, "n = {n}, q = {q}");
                assert_eq!(baseline[q].to_bits(), single, "n = {n}, q = {q}");
            }
        }
    }

    #[test]
    fn sums_match_exact_values() {
        let a: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..1000).map(|i| (i % 7) as f64).collect();
        let exact_dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert_eq!(dot(&a, &b), exact_dot);
        assert_eq!(sum(&a), 499_500.0);
        assert_eq!(shifted_dot(&b, &a, 1.0), dot(&b, &a) - sum(&b));
        for n in 0..40 {
            assert_eq!(sum(&a[..n]), (n * n.saturating_sub(1) / 2) as f64);
        }
    }
}
