//! Helpers of the accuracy tests: sample points and errors in ulp.

/// `n` pseudo-random 64-bit patterns (xorshift, fixed seed).
pub(crate) fn points(n: usize) -> impl Iterator<Item = u64> {
    let mut s = 0x9e37_79b9_7f4a_7c15_u64;
    (0..n).map(move |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    })
}

/// The error of `a` against the reference `r`, in ulp of `r` in `f64` (0 when both are equal
/// or both NaN).
pub(crate) fn ulps64(a: f64, r: f64) -> f64 {
    if a == r || (a.is_nan() && r.is_nan()) {
        return 0.0;
    }
    let e = ((r.abs().to_bits() >> 52) as i32).max(1);
    (a - r).abs() / 2f64.powi(e - 1075)
}

/// The error of `a` against the reference `r` (exact or in `f64`), in ulp of `r` in `f32`.
pub(crate) fn ulps32(a: f32, r: f64) -> f64 {
    let a = f64::from(a);
    if a == r || (a.is_nan() && r.is_nan()) {
        return 0.0;
    }
    let e = (((r as f32).abs().to_bits() >> 23) as i32).max(1);
    (a - r).abs() / 2f64.powi(e - 150)
}

/// The largest `err(x)` over 2^22 points `x` of `[-max, max]`: half evenly spaced, half with a
/// random sign, a random exponent from `2^-40` to `max` and a random mantissa (every binade
/// equally often, for the relative error near zero).
pub(crate) fn sweep64(max: f64, mut err: impl FnMut(f64) -> f64) -> f64 {
    let n = 1 << 22;
    let top = max.log2().ceil() as i64;
    let mut worst: f64 = 0.0;
    for (k, bits) in points(n).enumerate() {
        let x = if k % 2 == 0 {
            max * (2.0 * k as f64 / n as f64 - 1.0)
        } else {
            let e = (bits >> 53) as i64 % (top + 40) - 40;
            let m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
            let x = m * 2f64.powi(e as i32 - 1);
            let x = if x > max { max } else { x };
            if bits & (1 << 52) == 0 {
                x
            } else {
                -x
            }
        };
        worst = worst.max(err(x));
    }
    worst
}

/// As [`sweep64`], in `f32`.
pub(crate) fn sweep32(max: f32, mut err: impl FnMut(f32) -> f64) -> f64 {
    sweep64(f64::from(max), |x| err(x as f32))
}
