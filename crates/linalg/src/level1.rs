//! Vector kernels: dot product, `axpy`, Hadamard products.

use crate::{simd, Real};

/// The dot product `a · b`, summed in interleaved lanes so that it vectorizes.
///
/// The summation order is fixed: lane `r` of `N` sums the entries `r, r + N, r + 2N, ...`; with
/// `N = 16` lane `r + 8` is then added to lane `r`; eight lanes add as
/// `((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))`, then the tail entries follow in order.
/// `N` is 8 for `f64`, and for `f32` 16 (two 256-bit registers) or, for fewer than 16 entries, 8,
/// so that a vector of 8 to 15 entries still adds in a tree rather than in one chain. The result is
/// the same on every run, with or without AVX2, on every machine.
///
/// # Example
/// ```
/// use backprop_linalg::dot;
/// assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
///
/// # Panics
/// If the lengths differ.
#[inline]
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    assert_eq!(a.len(), b.len(), "dot: lengths differ");
    simd::dot(a, b)
}

/// [`dot`] for a short vector in a caller's inner loop (a column of a small network's layer):
/// fewer entries than [`dot`] has lanes (8) are summed inline, in order, as [`dot`] sums them;
/// longer vectors go to [`dot`] by a call. The same bits either way.
///
/// ```
/// use backprop_linalg::{dot, dot_inline};
/// let (a, b) = ([0.1_f64, 0.2, 0.3], [0.4, 0.5, 0.6]);
/// assert_eq!(dot_inline(&a, &b).to_bits(), dot(&a, &b).to_bits());
/// ```
///
/// # Panics
/// If the lengths differ.
#[inline(always)]
pub fn dot_inline<T: Real>(a: &[T], b: &[T]) -> T {
    assert_eq!(a.len(), b.len(), "dot: lengths differ");
    if a.len() < crate::kernels::lanes::<T>(a.len()) {
        crate::kernels::dot_short(a, b)
    } else {
        dot_call(a, b)
    }
}

/// One column of a deferred update and the next product, for a caller's inner loop: `w += g
/// x_prev`, then `w · x` summed as [`dot`] sums it (the column of
/// [`ger_gemv_tr`](crate::ger_gemv_tr)). Short columns (fewer entries than [`dot`] has lanes)
/// are done inline in one pass; longer ones by calls. The same bits either way.
///
/// ```
/// use backprop_linalg::{axpy, axpy_dot_inline, dot};
/// let (mut w, mut w2) = ([0.5_f64, -1.0, 2.0], [0.5, -1.0, 2.0]);
/// let (x_prev, x) = ([1.0, 2.0, 3.0], [0.3, 0.2, 0.1]);
/// let s = axpy_dot_inline(&mut w, 0.25, &x_prev, &x);
/// axpy(&mut w2, 0.25, &x_prev);
/// assert_eq!((w, s.to_bits()), (w2, dot(&w2, &x).to_bits()));
/// ```
///
/// # Panics
/// If the lengths differ.
#[inline(always)]
pub fn axpy_dot_inline<T: Real>(w: &mut [T], g: T, x_prev: &[T], x: &[T]) -> T {
    assert!(
        w.len() == x_prev.len() && w.len() == x.len(),
        "axpy_dot: lengths differ"
    );
    if w.len() < crate::kernels::lanes::<T>(w.len()) {
        let mut sum = T::zero();
        for ((w, &p), &x) in w.iter_mut().zip(x_prev).zip(x) {
            *w += g * p;
            sum += *w * x;
        }
        sum
    } else {
        axpy_dot_call(w, g, x_prev, x)
    }
}

/// [`axpy_dot_inline`]'s long columns, out of line.
#[inline(never)]
fn axpy_dot_call<T: Real>(w: &mut [T], g: T, x_prev: &[T], x: &[T]) -> T {
    simd::axpy(w, g, x_prev);
    simd::dot(w, x)
}

/// [`dot`] kept out of line, so that [`dot_inline`] stays small.
#[inline(never)]
fn dot_call<T: Real>(a: &[T], b: &[T]) -> T {
    simd::dot(a, b)
}

/// `y += a x`.
///
/// # Example
/// ```
/// use backprop_linalg::axpy;
/// let mut y = [1.0, 1.0];
/// axpy(&mut y, 2.0, &[3.0, -1.0]);
/// assert_eq!(y, [7.0, -1.0]);
/// ```
///
/// # Panics
/// If the lengths differ.
#[inline]
pub fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
    assert_eq!(y.len(), x.len(), "axpy: lengths differ");
    simd::axpy(y, a, x);
}

/// The Hadamard (element-wise) product in place: `a = a ⊙ b`.
///
/// # Example
/// ```
/// use backprop_linalg::hadamard_mut;
/// let mut a = [1.0, 2.0];
/// hadamard_mut(&mut a, &[3.0, 4.0]);
/// assert_eq!(a, [3.0, 8.0]);
/// ```
///
/// # Panics
/// If the lengths differ.
#[inline]
pub fn hadamard_mut<T: Real>(a: &mut [T], b: &[T]) {
    assert_eq!(a.len(), b.len(), "hadamard_mut: lengths differ");
    simd::hadamard_mut(a, b);
}

/// The Hadamard product into a caller buffer: `out = a ⊙ b`.
///
/// # Example
/// ```
/// use backprop_linalg::hadamard_to;
/// let mut out = [0.0; 2];
/// hadamard_to(&mut out, &[1.0, 2.0], &[3.0, 4.0]);
/// assert_eq!(out, [3.0, 8.0]);
/// ```
///
/// # Panics
/// If the lengths differ.
#[inline]
pub fn hadamard_to<T: Real>(out: &mut [T], a: &[T], b: &[T]) {
    assert!(
        out.len() == a.len() && a.len() == b.len(),
        "hadamard_to: lengths differ"
    );
    simd::hadamard_to(out, a, b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check<T: Real>(raw: &[(f64, f64, f64, f64)], g: f64) -> Result<(), TestCaseError> {
        let cast = |k: usize| {
            raw.iter()
                .map(|e| T::from_f64([e.0, e.1, e.2, e.3][k]))
                .collect()
        };
        let (w, x_prev, x, v): (Vec<T>, Vec<T>, Vec<T>, Vec<T>) =
            (cast(0), cast(1), cast(2), cast(3));
        prop_assert_eq!(
            dot_inline(&w, &x).as_f64().to_bits(),
            dot(&w, &x).as_f64().to_bits()
        );
        let (mut w1, mut w2) = (w.clone(), w);
        let s1 = axpy_dot_inline(&mut w1, T::from_f64(g), &x_prev, &v);
        axpy(&mut w2, T::from_f64(g), &x_prev);
        let s2 = dot(&w2, &v);
        prop_assert_eq!(s1.as_f64().to_bits(), s2.as_f64().to_bits());
        prop_assert!(w1
            .iter()
            .zip(&w2)
            .all(|(a, b)| a.as_f64().to_bits() == b.as_f64().to_bits()));
        Ok(())
    }

    /// The order that [`dot`]'s documentation states, written plainly: `n` lanes over the whole
    /// chunks (`n` = 8, or 16 for `f32` vectors of 16 entries or more), lane `r + 8` folded into
    /// lane `r`, the eight lanes in the stated tree, then the tail in order.
    fn documented_dot<T: Real>(a: &[T], b: &[T]) -> T {
        let n = if std::mem::size_of::<T>() == 4 && a.len() >= 16 {
            16
        } else {
            8
        };
        let main = a.len() / n * n;
        let mut l = vec![T::zero(); n];
        for i in 0..main {
            l[i % n] += a[i] * b[i];
        }
        for r in 8..n {
            let folded = l[r];
            l[r - 8] += folded;
        }
        let mut sum = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
        for i in main..a.len() {
            sum += a[i] * b[i];
        }
        sum
    }

    fn check_order<T: Real>(raw: &[(f64, f64)]) -> Result<(), TestCaseError> {
        let a: Vec<T> = raw.iter().map(|e| T::from_f64(e.0)).collect();
        let b: Vec<T> = raw.iter().map(|e| T::from_f64(e.1)).collect();
        prop_assert_eq!(
            dot(&a, &b).as_f64().to_bits(),
            documented_dot(&a, &b).as_f64().to_bits(),
            "{} entries",
            a.len()
        );
        Ok(())
    }

    proptest! {
        /// `dot` (dispatched: AVX2 where the CPU has it) sums in the documented order, in both
        /// types, below, at and above the lane counts and the tails.
        #[test]
        fn dot_sums_in_the_documented_order(
            raw in proptest::collection::vec((-2.0..2.0f64, -2.0..2.0f64), 0..70),
        ) {
            check_order::<f64>(&raw)?;
            check_order::<f32>(&raw)?;
        }

        /// Below, at and above the lane counts (8 and 16): the inline sums are `dot`'s, bit for bit.
        #[test]
        fn the_inline_kernels_sum_as_dot_does(
            raw in proptest::collection::vec((-2.0..2.0f64, -2.0..2.0f64, -2.0..2.0f64, -2.0..2.0f64), 0..40),
            g in -1.0..1.0f64,
        ) {
            check::<f64>(&raw, g)?;
            check::<f32>(&raw, g)?;
        }
    }
}
