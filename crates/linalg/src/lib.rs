//! The matrix kernels of backpropagation, in place and allocation-free, over nalgebra.
//!
//! The lecture's network needs only a handful of linear-algebra operations, and this crate holds exactly
//! those, named as in BLAS and nalgebra:
//!
//! | kernel | what it computes | where backprop uses it |
//! | --- | --- | --- |
//! | [`gemv_tr`] | `out = W^T v` | forward pass, `s_l = W_{l-1}^T v_{l-1}` |
//! | [`gemv`] | `out = W d` | backward pass, `dL/dv_i = W_i delta_{i+1}` |
//! | [`ger`] | `W += a x y^T` | SGD update, `W_i -= eta v_i delta_{i+1}^T` |
//! | [`gemv_ger`] | `out = W d`, then `W += a x d^T` | the backward product fused with the update |
//! | [`axpy_dot`] | `W += x d^T`, then `out = W^T v` | the first layer's deferred update fused with the next forward product |
//! | [`hadamard_mut`] | `a = a ⊙ b` | `delta = dL/dv ⊙ σ'(s)` |
//! | [`gemm_tr_to`] | `S = W^T V` | mini-batch forward (samples as columns) |
//! | [`gemm_to`] | `D = W Δ` | mini-batch backward |
//! | [`gemm_nt_to`] | `G = a V Δ^T + b G` | mini-batch weight gradient |
//!
//! Matrices are nalgebra's column-major [`Matrix`], so column `j` of `W`, the lecture's `w_{i,j}`, is a
//! contiguous slice and every per-sample kernel walks whole columns. The per-sample kernels are plain
//! loops that the compiler vectorizes; the mini-batch kernels call the `matrixmultiply` GEMM that
//! nalgebra itself uses, with strides standing in for transposes so that nothing is copied.
//!
//! ```
//! use backprop_linalg::{gemv_tr, Matrix};
//! // W is 3 x 2: two columns w_0 = (1, 2, 3) and w_1 = (4, 5, 6).
//! let w = Matrix::from_column_slice(3, 2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
//! let mut s = [0.0; 2];
//! gemv_tr(&mut s, &w, &[1.0, 0.0, -1.0]);
//! assert_eq!(s, [1.0 - 3.0, 4.0 - 6.0]);
//! ```
//!
//! # Panics
//! Kernels check their shapes with `assert!` (one comparison per call, not per element) and panic on a
//! mismatch: they are the inner loop, and the crates above validate shapes at their public boundary.
#![doc(test(attr(deny(warnings))))]
#![allow(unsafe_code)]

use std::fmt::{Debug, Display, LowerExp};
use std::iter::Sum;

pub use nalgebra;

/// A dense column-major matrix: the type of every `W_i`, and of mini-batches (samples as columns).
pub type Matrix<T = f64> = nalgebra::DMatrix<T>;
/// A dense column vector: `s_l`, `v_l`, biases.
pub type Vector<T = f64> = nalgebra::DVector<T>;
/// A borrowed view of a column-major matrix, for example the first `b` columns of a batch buffer.
pub type MatrixView<'a, T = f64> = nalgebra::DMatrixView<'a, T>;
/// A mutable view of a column-major matrix.
pub type MatrixViewMut<'a, T = f64> = nalgebra::DMatrixViewMut<'a, T>;

/// The floating-point types the workspace computes in: `f64` (the default everywhere) and `f32`.
///
/// The trait is implemented for exactly these two, so that the GEMM kernels can dispatch to the
/// single- or double-precision routine.
pub trait Real:
    nalgebra::Scalar
    + num_traits::Float
    + num_traits::NumAssign
    + Copy
    + Default
    + Send
    + Sync
    + Sum
    + Debug
    + Display
    + LowerExp
    + 'static
{
    /// The name of the type, `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(x: f64) -> Self;

    /// Converts to `f64` (exact for both types). Named apart from `num_traits::ToPrimitive::to_f64`, which returns an `Option`.
    fn as_f64(self) -> f64;

    /// Raw GEMM: `C = alpha A B + beta C` with `A` `m x k`, `B` `k x n`, `C` `m x n`, arbitrary
    /// strides (row stride, column stride) for each.
    ///
    /// # Safety
    /// The pointers and strides must describe matrices of the given shapes inside live allocations,
    /// and `C` must not overlap `A` or `B` (the contract of `matrixmultiply::dgemm`).
    #[allow(clippy::too_many_arguments)]
    #[doc(hidden)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (*const Self, isize, isize),
        b: (*const Self, isize, isize),
        beta: Self,
        c: (*mut Self, isize, isize),
    );
}

impl Real for f64 {
    const NAME: &'static str = "f64";

    fn from_f64(x: f64) -> Self {
        x
    }

    fn as_f64(self) -> f64 {
        self
    }

    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (*const Self, isize, isize),
        b: (*const Self, isize, isize),
        beta: Self,
        c: (*mut Self, isize, isize),
    ) {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            matrixmultiply::dgemm(
                m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2,
            )
        }
    }
}

impl Real for f32 {
    const NAME: &'static str = "f32";

    fn from_f64(x: f64) -> Self {
        x as f32
    }

    fn as_f64(self) -> f64 {
        f64::from(self)
    }

    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (*const Self, isize, isize),
        b: (*const Self, isize, isize),
        beta: Self,
        c: (*mut Self, isize, isize),
    ) {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            matrixmultiply::sgemm(
                m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2,
            )
        }
    }
}

/// Number of independent accumulators in [`dot`]: enough to fill a SIMD register of `f32` twice.
const LANES: usize = 8;

/// The dot product `a · b`, summed in eight interleaved partial sums so that it vectorizes.
///
/// The summation order is fixed (lane `r` sums the entries `r, r + 8, r + 16, ...`, then the lanes
/// are added pairwise, then the tail), so the result is the same on every run and every machine.
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
    let mut acc = [T::zero(); LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for r in 0..LANES {
            acc[r] += x[r] * y[r];
        }
    }
    let mut sum = reduce(&acc);
    for (&x, &y) in a_tail.iter().zip(b_tail) {
        sum += x * y;
    }
    sum
}

/// The sum of the lane accumulators of [`dot`], in a fixed pairwise order.
#[inline(always)]
fn reduce<T: Real>(acc: &[T; LANES]) -> T {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
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
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `out = W^T v`: entry `j` is `w_j · v`, the dot product of column `j` with `v`.
///
/// This is the lecture's `s_l = W_{l-1}^T v_{l-1}` for one sample.
///
/// # Example
/// ```
/// use backprop_linalg::{gemv_tr, Matrix};
/// let w = Matrix::from_column_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let mut out = [0.0; 3];
/// gemv_tr(&mut out, &w, &[1.0, 1.0]);
/// assert_eq!(out, [3.0, 7.0, 11.0]);
/// ```
///
/// # Panics
/// If `W` is not `v.len() x out.len()`.
#[inline]
pub fn gemv_tr<T: Real>(out: &mut [T], w: &Matrix<T>, v: &[T]) {
    let (rows, cols) = w.shape();
    assert!(
        rows == v.len() && cols == out.len(),
        "gemv_tr: shapes differ"
    );
    if rows == 0 {
        out.fill(T::zero());
        return;
    }
    for (o, w_j) in out.iter_mut().zip(w.as_slice().chunks_exact(rows)) {
        *o = dot(w_j, v);
    }
}

/// `out = W d`: the sum of the columns `w_j` weighted by `d_j`.
///
/// This is the lecture's `dL/dv_i = W_i (dL/dv_{i+1} ⊙ σ'(s_{i+1}))` for one sample.
///
/// # Example
/// ```
/// use backprop_linalg::{gemv, Matrix};
/// let w = Matrix::from_column_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let mut out = [0.0; 2];
/// gemv(&mut out, &w, &[1.0, 0.0, 1.0]);
/// assert_eq!(out, [6.0, 8.0]);
/// ```
///
/// # Panics
/// If `W` is not `out.len() x d.len()`.
#[inline]
pub fn gemv<T: Real>(out: &mut [T], w: &Matrix<T>, d: &[T]) {
    let (rows, cols) = w.shape();
    assert!(rows == out.len() && cols == d.len(), "gemv: shapes differ");
    out.fill(T::zero());
    if rows == 0 {
        return;
    }
    for (w_j, &d_j) in w.as_slice().chunks_exact(rows).zip(d) {
        axpy(out, d_j, w_j);
    }
}

/// The rank-1 update `W += a x y^T`: column `j` gets `a y_j x`.
///
/// With `a = -eta`, `x = v_i` and `y = delta_{i+1}` this is the lecture's SGD step
/// `W_i <- W_i - eta dL/dW_i` with `dL/dW_i = v_i delta_{i+1}^T`.
///
/// # Example
/// ```
/// use backprop_linalg::{ger, Matrix};
/// let mut w = Matrix::zeros(2, 2);
/// ger(&mut w, 2.0, &[1.0, 2.0], &[3.0, 4.0]);
/// assert_eq!(w, Matrix::from_row_slice(2, 2, &[6.0, 8.0, 12.0, 16.0]));
/// ```
///
/// # Panics
/// If `W` is not `x.len() x y.len()`.
#[inline]
pub fn ger<T: Real>(w: &mut Matrix<T>, a: T, x: &[T], y: &[T]) {
    let (rows, cols) = w.shape();
    assert!(rows == x.len() && cols == y.len(), "ger: shapes differ");
    if rows == 0 {
        return;
    }
    for (w_j, &y_j) in w.as_mut_slice().chunks_exact_mut(rows).zip(y) {
        axpy(w_j, a * y_j, x);
    }
}

/// The backward product fused with the update: `out = W d` with the old `W`, then `W += a x d^T`.
///
/// Each column `w_j` is read once: its contribution `d_j w_j` is added to `out` and then the column
/// is updated in place while it is still in cache. The result equals [`gemv`] followed by [`ger`],
/// bit for bit.
///
/// # Example
/// ```
/// use backprop_linalg::{gemv_ger, Matrix};
/// let mut w = Matrix::from_column_slice(2, 1, &[1.0, 2.0]);
/// let mut out = [0.0; 2];
/// gemv_ger(&mut out, &mut w, &[3.0], -1.0, &[1.0, 1.0]);
/// assert_eq!(out, [3.0, 6.0]);
/// assert_eq!(w.as_slice(), &[-2.0, -1.0]);
/// ```
///
/// # Panics
/// If `W` is not `out.len() x d.len()` or `x.len() != out.len()`.
#[inline]
pub fn gemv_ger<T: Real>(out: &mut [T], w: &mut Matrix<T>, d: &[T], a: T, x: &[T]) {
    let (rows, cols) = w.shape();
    assert!(
        rows == out.len() && cols == d.len() && rows == x.len(),
        "gemv_ger: shapes differ"
    );
    out.fill(T::zero());
    if rows == 0 {
        return;
    }
    for (w_j, &d_j) in w.as_mut_slice().chunks_exact_mut(rows).zip(d) {
        let ad_j = a * d_j;
        for ((o, w), &x) in out.iter_mut().zip(w_j.iter_mut()).zip(x) {
            *o += d_j * *w;
            *w += ad_j * x;
        }
    }
}

/// The deferred update fused with the next product, column by column: `w_j += d_j x`, then
/// `out_j = w_j · v`, reading each column once.
///
/// This is how the first layer's rank-1 update of sample `t` (`x = v_0` of sample `t`, `d` its
/// scaled deltas `-eta delta_1`) meets the forward product of sample `t + 1` (`v`): the weights
/// stream through the cache once per step instead of twice. The result equals [`ger`] (with `a =
/// 1`) followed by [`gemv_tr`], bit for bit: the same updated weights, summed in the same order as
/// [`dot`].
///
/// # Example
/// ```
/// use backprop_linalg::{axpy_dot, Matrix};
/// let mut w = Matrix::from_column_slice(2, 1, &[1.0, 2.0]);
/// let mut out = [0.0];
/// axpy_dot(&mut out, &mut w, &[0.5], &[2.0, 2.0], &[1.0, -1.0]);
/// assert_eq!(w.as_slice(), &[2.0, 3.0]);
/// assert_eq!(out, [-1.0]);
/// ```
///
/// # Panics
/// If `W` is not `x.len() x d.len()`, or `v` and `out` do not fit.
#[inline]
pub fn axpy_dot<T: Real>(out: &mut [T], w: &mut Matrix<T>, d: &[T], x: &[T], v: &[T]) {
    let (rows, cols) = w.shape();
    assert!(
        rows == x.len() && rows == v.len() && cols == d.len() && cols == out.len(),
        "axpy_dot: shapes differ"
    );
    if rows == 0 {
        out.fill(T::zero());
        return;
    }
    let (x_chunks, v_chunks) = (x.chunks_exact(LANES), v.chunks_exact(LANES));
    let (x_tail, v_tail) = (x_chunks.remainder(), v_chunks.remainder());
    for ((o, w_j), &d_j) in out
        .iter_mut()
        .zip(w.as_mut_slice().chunks_exact_mut(rows))
        .zip(d)
    {
        let mut acc = [T::zero(); LANES];
        let mut w_chunks = w_j.chunks_exact_mut(LANES);
        for ((wc, xc), vc) in (&mut w_chunks).zip(x_chunks.clone()).zip(v_chunks.clone()) {
            for r in 0..LANES {
                wc[r] += d_j * xc[r];
                acc[r] += wc[r] * vc[r];
            }
        }
        let mut sum = reduce(&acc);
        for ((w, &x), &v) in w_chunks.into_remainder().iter_mut().zip(x_tail).zip(v_tail) {
            *w += d_j * x;
            sum += *w * v;
        }
        *o = sum;
    }
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
    for (x, &y) in a.iter_mut().zip(b) {
        *x *= y;
    }
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
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x * y;
    }
}

/// Pointer and strides of a column-major view, in the form `matrixmultiply` takes.
fn raw<T: Real>(m: &MatrixView<'_, T>) -> (*const T, isize, isize) {
    let (rs, cs) = m.strides();
    (m.as_ptr(), rs as isize, cs as isize)
}

/// Pointer and strides of a mutable column-major view.
fn raw_mut<T: Real>(m: &mut MatrixViewMut<'_, T>) -> (*mut T, isize, isize) {
    let (rs, cs) = m.strides();
    (m.as_mut_ptr(), rs as isize, cs as isize)
}

/// Mini-batch forward: `S = W^T V`, with `V` holding one sample per column (`n_in x b`) and `S`
/// `n_out x b`.
///
/// # Example
/// ```
/// use backprop_linalg::{gemm_tr_to, Matrix};
/// let w = Matrix::from_column_slice(2, 1, &[1.0, 2.0]);
/// let v = Matrix::from_column_slice(2, 2, &[1.0, 1.0, 0.0, 1.0]);
/// let mut s = Matrix::zeros(1, 2);
/// gemm_tr_to(&mut s.as_view_mut(), &w, &v.as_view());
/// assert_eq!(s.as_slice(), &[3.0, 2.0]);
/// ```
///
/// # Panics
/// If the shapes do not fit.
pub fn gemm_tr_to<T: Real>(out: &mut MatrixViewMut<'_, T>, w: &Matrix<T>, v: &MatrixView<'_, T>) {
    let (n_in, n_out) = w.shape();
    let b = v.ncols();
    assert!(
        v.nrows() == n_in && out.shape() == (n_out, b),
        "gemm_tr_to: shapes differ"
    );
    // W^T is W with its strides swapped: row stride n_in, column stride 1.
    let wt = (w.as_ptr(), n_in as isize, 1);
    let (vr, cr) = (raw(v), raw_mut(out));
    // SAFETY: the shapes were checked above; every pointer comes from a live matrix or view of that
    // shape with its own strides, and `out` is a distinct mutable borrow, so it overlaps neither input.
    unsafe { T::gemm_raw(n_out, n_in, b, T::one(), wt, vr, T::zero(), cr) }
}

/// Mini-batch backward: `D = W Δ`, with `Δ` `n_out x b` and `D` `n_in x b`.
///
/// # Example
/// ```
/// use backprop_linalg::{gemm_to, Matrix};
/// let w = Matrix::from_column_slice(2, 1, &[1.0, 2.0]);
/// let delta = Matrix::from_column_slice(1, 2, &[1.0, -1.0]);
/// let mut d = Matrix::zeros(2, 2);
/// gemm_to(&mut d.as_view_mut(), &w, &delta.as_view());
/// assert_eq!(d.as_slice(), &[1.0, 2.0, -1.0, -2.0]);
/// ```
///
/// # Panics
/// If the shapes do not fit.
pub fn gemm_to<T: Real>(out: &mut MatrixViewMut<'_, T>, w: &Matrix<T>, delta: &MatrixView<'_, T>) {
    let (n_in, n_out) = w.shape();
    let b = delta.ncols();
    assert!(
        delta.nrows() == n_out && out.shape() == (n_in, b),
        "gemm_to: shapes differ"
    );
    let wr = (w.as_ptr(), 1, n_in as isize);
    let (dr, cr) = (raw(delta), raw_mut(out));
    // SAFETY: shapes checked above; `out` is a distinct mutable borrow.
    unsafe { T::gemm_raw(n_in, n_out, b, T::one(), wr, dr, T::zero(), cr) }
}

/// Mini-batch weight gradient: `G = alpha V Δ^T + beta G`, with `V` `n_in x b`, `Δ` `n_out x b` and
/// `G` `n_in x n_out`. With `alpha = 1/b` and `beta = 0` this is the mean of the per-sample
/// gradients `v δ^T`.
///
/// # Example
/// ```
/// use backprop_linalg::{gemm_nt_to, Matrix};
/// let v = Matrix::from_column_slice(2, 2, &[1.0, 2.0, 3.0, 4.0]);
/// let delta = Matrix::from_column_slice(1, 2, &[1.0, 1.0]);
/// let mut g = Matrix::zeros(2, 1);
/// gemm_nt_to(&mut g.as_view_mut(), 0.5, &v.as_view(), &delta.as_view(), 0.0);
/// assert_eq!(g.as_slice(), &[2.0, 3.0]);
/// ```
///
/// # Panics
/// If the shapes do not fit.
pub fn gemm_nt_to<T: Real>(
    out: &mut MatrixViewMut<'_, T>,
    alpha: T,
    v: &MatrixView<'_, T>,
    delta: &MatrixView<'_, T>,
    beta: T,
) {
    let (n_in, b) = v.shape();
    let n_out = delta.nrows();
    assert!(
        delta.ncols() == b && out.shape() == (n_in, n_out),
        "gemm_nt_to: shapes differ"
    );
    let vr = raw(v);
    // Δ^T: swap the strides of Δ.
    let (drs, dcs) = delta.strides();
    let dt = (delta.as_ptr(), dcs as isize, drs as isize);
    let cr = raw_mut(out);
    // SAFETY: shapes checked above; `out` is a distinct mutable borrow.
    unsafe { T::gemm_raw(n_in, b, n_out, alpha, vr, dt, beta, cr) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matrix(rows: usize, cols: usize, seed: u64) -> Matrix<f64> {
        // A small deterministic pattern with mixed signs; the properties hold for any values.
        Matrix::from_fn(rows, cols, |i, j| {
            let k = (seed as usize).wrapping_add(7 * i + 13 * j + 1) % 17;
            k as f64 / 4.0 - 2.0
        })
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + x.abs().max(y.abs())))
    }

    proptest! {
        #[test]
        fn gemv_tr_matches_nalgebra(rows in 0usize..20, cols in 0usize..20, seed in any::<u64>()) {
            let (w, v) = (matrix(rows, cols, seed), matrix(rows, 1, seed ^ 1));
            let mut out = vec![0.0; cols];
            gemv_tr(&mut out, &w, v.as_slice());
            prop_assert!(close(&out, (w.transpose() * &v).as_slice()));
        }

        #[test]
        fn gemv_matches_nalgebra(rows in 0usize..20, cols in 0usize..20, seed in any::<u64>()) {
            let (w, d) = (matrix(rows, cols, seed), matrix(cols, 1, seed ^ 2));
            let mut out = vec![1.0; rows];
            gemv(&mut out, &w, d.as_slice());
            prop_assert!(close(&out, (&w * &d).as_slice()));
        }

        #[test]
        fn ger_matches_nalgebra(rows in 0usize..20, cols in 0usize..20, seed in any::<u64>()) {
            let (mut w, x, y) = (matrix(rows, cols, seed), matrix(rows, 1, seed ^ 3), matrix(cols, 1, seed ^ 4));
            let expected = &w + (&x * y.transpose()) * -0.5;
            ger(&mut w, -0.5, x.as_slice(), y.as_slice());
            prop_assert!(close(w.as_slice(), expected.as_slice()));
        }

        #[test]
        fn gemv_ger_equals_gemv_then_ger_bit_for_bit(rows in 0usize..20, cols in 0usize..20, seed in any::<u64>()) {
            let (w0, d, x) = (matrix(rows, cols, seed), matrix(cols, 1, seed ^ 5), matrix(rows, 1, seed ^ 6));
            let (mut fused, mut split) = (w0.clone(), w0.clone());
            let (mut out_fused, mut out_split) = (vec![0.0; rows], vec![0.0; rows]);
            gemv_ger(&mut out_fused, &mut fused, d.as_slice(), -0.1, x.as_slice());
            gemv(&mut out_split, &split, d.as_slice());
            ger(&mut split, -0.1, x.as_slice(), d.as_slice());
            prop_assert_eq!(out_fused, out_split);
            prop_assert_eq!(fused, split);
        }

        #[test]
        fn axpy_dot_equals_ger_then_gemv_tr_bit_for_bit(rows in 0usize..40, cols in 0usize..12, seed in any::<u64>()) {
            let w0 = matrix(rows, cols, seed);
            let (d, x, v) = (matrix(cols, 1, seed ^ 13), matrix(rows, 1, seed ^ 14), matrix(rows, 1, seed ^ 15));
            let (mut fused, mut split) = (w0.clone(), w0.clone());
            let (mut out_fused, mut out_split) = (vec![0.0; cols], vec![0.0; cols]);
            axpy_dot(&mut out_fused, &mut fused, d.as_slice(), x.as_slice(), v.as_slice());
            ger(&mut split, 1.0, x.as_slice(), d.as_slice());
            gemv_tr(&mut out_split, &split, v.as_slice());
            prop_assert_eq!(fused, split);
            prop_assert_eq!(out_fused, out_split);
        }

        #[test]
        fn hadamard_matches_nalgebra(n in 0usize..40, seed in any::<u64>()) {
            let (a, b) = (matrix(n, 1, seed), matrix(n, 1, seed ^ 7));
            let expected = a.component_mul(&b);
            let mut out = vec![0.0; n];
            hadamard_to(&mut out, a.as_slice(), b.as_slice());
            prop_assert_eq!(out.as_slice(), expected.as_slice());
            let mut inplace = a.clone();
            hadamard_mut(inplace.as_mut_slice(), b.as_slice());
            prop_assert_eq!(inplace, expected);
        }

        #[test]
        fn gemm_kernels_match_nalgebra(n_in in 1usize..12, n_out in 1usize..12, b in 1usize..9, seed in any::<u64>()) {
            let w = matrix(n_in, n_out, seed);
            let v = matrix(n_in, b, seed ^ 8);
            let delta = matrix(n_out, b, seed ^ 9);

            let mut s = Matrix::zeros(n_out, b);
            gemm_tr_to(&mut s.as_view_mut(), &w, &v.as_view());
            prop_assert!(close(s.as_slice(), (w.transpose() * &v).as_slice()));

            let mut d = Matrix::from_element(n_in, b, 3.0);
            gemm_to(&mut d.as_view_mut(), &w, &delta.as_view());
            prop_assert!(close(d.as_slice(), (&w * &delta).as_slice()));

            let mut g = matrix(n_in, n_out, seed ^ 10);
            let expected = (&v * delta.transpose()) * 0.25 + &g * 2.0;
            gemm_nt_to(&mut g.as_view_mut(), 0.25, &v.as_view(), &delta.as_view(), 2.0);
            prop_assert!(close(g.as_slice(), expected.as_slice()));
        }

        #[test]
        fn gemm_on_column_subviews(n_in in 1usize..8, n_out in 1usize..8, cap in 2usize..8, seed in any::<u64>()) {
            // A batch buffer of capacity `cap` used for a shorter last batch of `cap - 1` samples.
            let (w, v) = (matrix(n_in, n_out, seed), matrix(n_in, cap, seed ^ 11));
            let b = cap - 1;
            let mut s = Matrix::from_element(n_out, cap, 9.0);
            gemm_tr_to(&mut s.columns_mut(0, b), &w, &v.columns(0, b));
            let expected = w.transpose() * v.columns(0, b);
            prop_assert!(close(s.columns(0, b).clone_owned().as_slice(), expected.as_slice()));
            prop_assert!(s.column(b).iter().all(|&x| x == 9.0));
        }

        #[test]
        fn dot_matches_naive(n in 0usize..50, seed in any::<u64>()) {
            let (a, b) = (matrix(n, 1, seed), matrix(n, 1, seed ^ 12));
            let naive: f64 = a.iter().zip(b.iter()).map(|(x, y)| x * y).sum();
            prop_assert!((dot(a.as_slice(), b.as_slice()) - naive).abs() <= 1e-12 * (1.0 + naive.abs()));
        }
    }

    #[test]
    fn f32_kernels_dispatch_to_sgemm() {
        let w = Matrix::<f32>::from_column_slice(2, 2, &[1.0, 2.0, 3.0, 4.0]);
        let v = Matrix::<f32>::from_column_slice(2, 1, &[1.0, 1.0]);
        let mut s = Matrix::<f32>::zeros(2, 1);
        gemm_tr_to(&mut s.as_view_mut(), &w, &v.as_view());
        assert_eq!(s.as_slice(), (w.transpose() * v).as_slice());
    }
}
