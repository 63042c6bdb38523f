//! `exp` for the sigmoid and the softmax, and `exp(x) - 1` for tanh, in plain arithmetic that
//! the compiler vectorizes over a slice.
//!
//! The C library's `exp` is a call per element, which no loop around it can vectorize; the
//! sigmoid of a layer is a loop over its nodes. This one is the textbook method: `x = n ln 2 + r`
//! with `n` the integer nearest `x / ln 2` and `|r| <= ln 2 / 2` (Cody and Waite: `ln 2` in two
//! parts, the first with trailing zero bits so that `n ln2_hi` is exact), `exp(r)` by its Taylor
//! polynomial (degree 13 for `f64`, 7 for `f32`: truncation below a tenth of an ulp) evaluated
//! by Estrin's scheme (a short chain of dependent operations, for small layers), and `2^n`
//! put together from exponent bits (as `2^(n/2) 2^(n - n/2)`, so that overflow gives infinity and
//! underflow zero without a branch). The integer `n` comes from adding `1.5 2^52` (`1.5 2^23`):
//! the sum's low bits are `n`. No branches, no calls, no table: every lane does the same work.
//!
//! `exp(x) - 1` ([`expm1_f64`]) takes the same steps with the polynomial's leading `1` left out,
//! `2^n (exp(r) - 1) + (2^n - 1)`, so that it keeps its relative accuracy near `x = 0` (for
//! `n = 0`, `r = x` exactly), where `exp(x) - 1` would cancel.
//!
//! Accuracy: within 2 ulp of the correctly rounded result over the range where `exp` is normal,
//! checked against the C library's `exp` by the tests below. The results are the same bits on
//! every machine (the C library's `exp` may differ between versions, and between CPUs with and
//! without FMA).

/// `1 / ln 2`.
const LOG2E: f64 = std::f64::consts::LOG2_E;
/// `ln 2`, leading part (its last 11 bits zero) and the rest.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// `1.5 2^52`: adding it to `|t| < 2^51` rounds `t` to an integer held in the low bits.
const SHIFT: f64 = 6_755_399_441_055_744.0;

/// `exp(x)` for `f64`.
#[inline(always)]
pub(crate) fn exp_f64(x: f64) -> f64 {
    // Beyond these, exp is infinite or zero in f64; inside, 2^(n/2) and 2^(n - n/2) are normal.
    let x = if x > 710.0 { 710.0 } else { x };
    let x = if x < -746.0 { -746.0 } else { x };
    let t = x * LOG2E + SHIFT;
    let n_f = t - SHIFT;
    let n = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let r = (x - n_f * LN2_HI) - n_f * LN2_LO;
    // sum_{k <= 13} r^k / k! by Estrin's scheme: pairs, then pairs of pairs, so that the
    // chain of dependent operations is four deep instead of thirteen.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let p01 = 1.0 + r;
    let p23 = 0.5 + r * (1.0 / 6.0);
    let p45 = 1.0 / 24.0 + r * (1.0 / 120.0);
    let p67 = 1.0 / 720.0 + r * (1.0 / 5_040.0);
    let p89 = 1.0 / 40_320.0 + r * (1.0 / 362_880.0);
    let p1011 = 1.0 / 3_628_800.0 + r * (1.0 / 39_916_800.0);
    let p1213 = 1.0 / 479_001_600.0 + r * (1.0 / 6_227_020_800.0);
    let p03 = p01 + r2 * p23;
    let p47 = p45 + r2 * p67;
    let p811 = p89 + r2 * p1011;
    let p07 = p03 + r4 * p47;
    let p813 = p811 + r4 * p1213;
    let p = p07 + r8 * p813;
    let n1 = n >> 1;
    let n2 = n - n1;
    let s1 = f64::from_bits(((n1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((n2 + 1023) as u64) << 52);
    p * s1 * s2
}

/// `exp(x) - 1` for `f64`, for `|x| <= 64` (tanh calls it on `[0, 40]`): `2^n` is formed in one
/// factor, normal in that range.
#[inline(always)]
pub(crate) fn expm1_f64(x: f64) -> f64 {
    let t = x * LOG2E + SHIFT;
    let n_f = t - SHIFT;
    let n = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let r = (x - n_f * LN2_HI) - n_f * LN2_LO;
    // sum_{1 <= k <= 13} r^k / k!, Estrin's scheme as in `exp_f64` without the leading 1.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let p23 = 0.5 + r * (1.0 / 6.0);
    let p45 = 1.0 / 24.0 + r * (1.0 / 120.0);
    let p67 = 1.0 / 720.0 + r * (1.0 / 5_040.0);
    let p89 = 1.0 / 40_320.0 + r * (1.0 / 362_880.0);
    let p1011 = 1.0 / 3_628_800.0 + r * (1.0 / 39_916_800.0);
    let p1213 = 1.0 / 479_001_600.0 + r * (1.0 / 6_227_020_800.0);
    let p13 = r + r2 * p23;
    let p47 = p45 + r2 * p67;
    let p811 = p89 + r2 * p1011;
    let p17 = p13 + r4 * p47;
    let p813 = p811 + r4 * p1213;
    let q = p17 + r8 * p813;
    // exp(x) - 1 = 2^n (exp(r) - 1) + (2^n - 1): the product is exact, and so is `2^n - 1` for
    // n <= 53; above (x > 36.7), `2^n - 1` rounds to `2^n`, far below the result's last bit.
    let s = f64::from_bits(((n + 1023) as u64) << 52);
    s * q + (s - 1.0)
}

/// `1 / ln 2` in `f32`.
const LOG2E_F: f32 = std::f32::consts::LOG2_E;
/// `ln 2` for `f32`: leading part (exact in 9 bits) and the rest.
const LN2_HI_F: f32 = 355.0 / 512.0;
const LN2_LO_F: f32 = -2.121_944_4e-4;
/// `1.5 2^23`.
const SHIFT_F: f32 = 12_582_912.0;

/// `exp(x)` for `f32`.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    let x = if x > 89.0 { 89.0 } else { x };
    let x = if x < -104.0 { -104.0 } else { x };
    let t = x * LOG2E_F + SHIFT_F;
    let n_f = t - SHIFT_F;
    let n = (t.to_bits() as i32).wrapping_sub(SHIFT_F.to_bits() as i32);
    let r = (x - n_f * LN2_HI_F) - n_f * LN2_LO_F;
    // sum_{k <= 7} r^k / k!, by Estrin's scheme.
    let r2 = r * r;
    let r4 = r2 * r2;
    let p01 = 1.0 + r;
    let p23 = 0.5 + r * (1.0 / 6.0);
    let p45 = 1.0 / 24.0 + r * (1.0 / 120.0);
    let p67 = 1.0 / 720.0 + r * (1.0 / 5_040.0);
    let p = (p01 + r2 * p23) + r4 * (p45 + r2 * p67);
    let n1 = n >> 1;
    let n2 = n - n1;
    let s1 = f32::from_bits(((n1 + 127) as u32) << 23);
    let s2 = f32::from_bits(((n2 + 127) as u32) << 23);
    p * s1 * s2
}

/// `exp(x) - 1` for `f32`, for `|x| <= 64` (tanh calls it on `[0, 20]`).
#[inline(always)]
pub(crate) fn expm1_f32(x: f32) -> f32 {
    let t = x * LOG2E_F + SHIFT_F;
    let n_f = t - SHIFT_F;
    let n = (t.to_bits() as i32).wrapping_sub(SHIFT_F.to_bits() as i32);
    let r = (x - n_f * LN2_HI_F) - n_f * LN2_LO_F;
    // sum_{1 <= k <= 8} r^k / k!, by Estrin's scheme.
    let r2 = r * r;
    let r4 = r2 * r2;
    let p23 = 0.5 + r * (1.0 / 6.0);
    let p45 = 1.0 / 24.0 + r * (1.0 / 120.0);
    let p67 = 1.0 / 720.0 + r * (1.0 / 5_040.0);
    let p8 = 1.0 / 40_320.0;
    let q = (r + r2 * p23) + r4 * ((p45 + r2 * p67) + r4 * p8);
    let s = f32::from_bits(((n + 127) as u32) << 23);
    s * q + (s - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place (of the larger), for finite positive values.
    fn ulps64(a: f64, b: f64) -> f64 {
        (a - b).abs() / (f64::EPSILON * a.abs().max(b.abs()))
    }

    fn ulps32(a: f32, b: f32) -> f64 {
        f64::from((a - b).abs()) / f64::from(f32::EPSILON * a.abs().max(b.abs()))
    }

    #[test]
    fn f64_is_within_two_ulp_of_the_c_library() {
        let mut worst: f64 = 0.0;
        for k in -1_000_000..=1_000_000 {
            let x = f64::from(k) * 7.07e-4; // -707 .. 707, normal results
            worst = worst.max(ulps64(exp_f64(x), x.exp()));
        }
        assert!(worst <= 2.0, "{worst} ulp");
    }

    #[test]
    fn f32_is_within_two_ulp_of_the_c_library() {
        let mut worst: f64 = 0.0;
        for k in -1_000_000..=1_000_000 {
            let x = k as f32 * 8.7e-5; // -87 .. 87
            worst = worst.max(ulps32(exp_f32(x), x.exp()));
        }
        assert!(worst <= 2.0, "{worst} ulp");
    }

    #[test]
    fn the_ends_of_the_range_and_nan() {
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f64(710.0), f64::INFINITY);
        assert_eq!(exp_f64(1e300), f64::INFINITY);
        assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_f64(-746.0), 0.0);
        assert_eq!(exp_f64(-1e300), 0.0);
        assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(89.0), f32::INFINITY);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(-104.0), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_f64(f64::NAN).is_nan());
        assert!(exp_f32(f32::NAN).is_nan());
        // Subnormal results are close (rounded twice at most).
        let (a, b) = (exp_f64(-740.0), (-740.0_f64).exp());
        assert!((a - b).abs() <= 2.0 * f64::from_bits(1), "{a} vs {b}");
    }
}
