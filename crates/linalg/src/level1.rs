//! Vector kernels: dot product, `axpy`, Hadamard products.

use crate::{simd, Real};

/// The dot product `a · b`, summed in interleaved lanes so that it vectorizes.
///
/// The summation order is fixed: lane `r` of `N` (`N = 8` for `f64`, `16` for `f32`) sums the
/// entries `r, r + N, r + 2N, ...`; for `f32` lane `r + 8` is then added to lane `r`; eight lanes
/// add as `((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))`, then the tail entries follow in
/// order. The result is the same on every run, with or without AVX2, on every machine.
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
