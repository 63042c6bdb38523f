//! The natural logarithm in plain arithmetic, for the log of the softmax's sum.
//!
//! The method of fdlibm's `log`: `x = 2^k m` with `m` in `[sqrt(2)/2, sqrt(2))`, `f = m - 1`
//! (exact), `s = f / (2 + f)`, and `ln(1 + f) = 2 atanh(s) = 2s + s R(s²)` with
//! `R(z) = sum_k 2 z^k / (2k + 1)` (Taylor; `z <= 0.0295`, ten terms for `f64`, five for `f32`,
//! truncation far below an ulp), put together as
//! `k ln2_hi - ((f²/2 - (s (f²/2 + R) + k ln2_lo)) - f)` so that the large parts add last and
//! `ln 2` in two parts keeps `k ln 2` exact. Subnormal `x` are scaled by `2^54` first.
//!
//! Accuracy, measured against the C library on 2^22 points per type by the tests below (the `f32`
//! one against the C library's `f64` `ln`): at most 1 ulp. `log(0) = -inf`, `log(inf) = inf`,
//! `log(x < 0)` and `log(NaN)` are NaN.

/// `ln 2`, leading part (its last 11 bits zero, so `k ln2_hi` is exact) and the rest.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// `ln(x)` for `f64`. No branches: the special values are chosen at the end, so that a loop
/// over a slice vectorizes.
#[inline(always)]
pub(crate) fn log_f64(x: f64) -> f64 {
    let subnormal = x < f64::MIN_POSITIVE;
    let (y, k0) = if subnormal {
        (x * f64::from_bits((1023 + 54) << 52), -54)
    } else {
        (x, 0)
    };
    let bits = y.to_bits();
    let k = ((bits >> 52) as i64) - 1023 + k0;
    let m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
    let (m, k) = if m > std::f64::consts::SQRT_2 {
        (m * 0.5, k + 1)
    } else {
        (m, k)
    };
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut r = 2.0 / 21.0;
    for c in [19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0] {
        r = 2.0 / c + z * r;
    }
    let r = z * r;
    let hfsq = 0.5 * f * f;
    let k = k as f64;
    let ln = k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f);
    if x.is_nan() || x < 0.0 {
        f64::NAN
    } else if x == 0.0 {
        f64::NEG_INFINITY
    } else if x == f64::INFINITY {
        x
    } else {
        ln
    }
}

/// `ln 2` for `f32`, leading part (exact in 9 bits) and the rest.
const LN2_HI_F: f32 = 355.0 / 512.0;
const LN2_LO_F: f32 = -2.121_944_4e-4;

/// `ln(x)` for `f32`, without branches as [`log_f64`].
#[inline(always)]
pub(crate) fn log_f32(x: f32) -> f32 {
    let subnormal = x < f32::MIN_POSITIVE;
    let (y, k0) = if subnormal {
        (x * f32::from_bits((127 + 25) << 23), -25)
    } else {
        (x, 0)
    };
    let bits = y.to_bits();
    let k = ((bits >> 23) as i32) - 127 + k0;
    let m = f32::from_bits((bits & ((1 << 23) - 1)) | (127 << 23));
    let (m, k) = if m > std::f32::consts::SQRT_2 {
        (m * 0.5, k + 1)
    } else {
        (m, k)
    };
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut r = 2.0 / 11.0;
    for c in [9.0, 7.0, 5.0, 3.0] {
        r = 2.0 / c + z * r;
    }
    let r = z * r;
    let hfsq = 0.5 * f * f;
    let k = k as f32;
    let ln = k * LN2_HI_F - ((hfsq - (s * (hfsq + r) + k * LN2_LO_F)) - f);
    if x.is_nan() || x < 0.0 {
        f32::NAN
    } else if x == 0.0 {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        x
    } else {
        ln
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{points, ulps32, ulps64};

    #[test]
    fn f64_is_within_one_ulp_of_the_c_library() {
        // Random bits over every positive finite value (subnormals too), and [0.5, 2] densely.
        let mut worst: f64 = 0.0;
        for (k, bits) in points(1 << 22).enumerate() {
            let x = if k % 2 == 0 {
                f64::from_bits(bits % f64::INFINITY.to_bits())
            } else {
                0.5 + 1.5 * (bits >> 11) as f64 / (1u64 << 53) as f64
            };
            worst = worst.max(ulps64(log_f64(x), x.ln()));
        }
        assert!(worst <= 1.0, "{worst} ulp");
    }

    #[test]
    fn f32_is_within_one_ulp_of_the_c_library() {
        let mut worst: f64 = 0.0;
        for (k, bits) in points(1 << 22).enumerate() {
            let x = if k % 2 == 0 {
                f32::from_bits((bits >> 32) as u32 % f32::INFINITY.to_bits())
            } else {
                0.5 + 1.5 * (bits >> 40) as f32 / (1u32 << 24) as f32
            };
            worst = worst.max(ulps32(log_f32(x), f64::from(x).ln()));
        }
        assert!(worst <= 1.0, "{worst} ulp");
    }

    #[test]
    fn special_values() {
        assert_eq!(log_f64(1.0).to_bits(), 0.0_f64.to_bits());
        assert_eq!(log_f32(1.0).to_bits(), 0.0_f32.to_bits());
        assert_eq!(log_f64(0.0), f64::NEG_INFINITY);
        assert_eq!(log_f64(-0.0), f64::NEG_INFINITY);
        assert_eq!(log_f32(0.0), f32::NEG_INFINITY);
        assert_eq!(log_f64(f64::INFINITY), f64::INFINITY);
        assert_eq!(log_f32(f32::INFINITY), f32::INFINITY);
        for x in [-1.0, f64::NEG_INFINITY, f64::NAN] {
            assert!(log_f64(x).is_nan());
            assert!(log_f32(x as f32).is_nan());
        }
        assert_eq!(log_f64(std::f64::consts::E), 1.0);
        assert!(ulps64(log_f64(f64::from_bits(1)), -744.440_071_921_381_3) <= 1.0);
    }
}
