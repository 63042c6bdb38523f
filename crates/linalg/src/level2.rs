//! Matrix-vector kernels: the per-sample passes of backpropagation, one column `w_j` at a time.

use crate::{simd, Matrix, Real};

/// The order in which a kernel visits the columns of `W` where the columns are independent of
/// each other ([`gemv_tr_sweep`], [`ger_gemv_tr`]).
///
/// The results do not depend on it, only the cache does: a matrix slightly larger than a cache
/// level, swept forward in one pass and backward in the next, finds the columns it touched last
/// still in that cache. Alternating the sweep step after step (a boustrophedon) is how the
/// network crate's SGD session keeps part of the first layer's weights in L2 between steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Sweep {
    /// Columns `0, 1, ..., n - 1`.
    #[default]
    Forward,
    /// Columns `n - 1, ..., 1, 0`.
    Backward,
}

impl Sweep {
    /// The other direction.
    ///
    /// # Example
    /// ```
    /// use backprop_linalg::Sweep;
    /// assert_eq!(Sweep::Forward.reversed(), Sweep::Backward);
    /// ```
    pub fn reversed(self) -> Self {
        match self {
            Sweep::Forward => Sweep::Backward,
            Sweep::Backward => Sweep::Forward,
        }
    }

    fn is_backward(self) -> bool {
        self == Sweep::Backward
    }
}

/// `out = W^T v`: entry `j` is `w_j · v`, the dot product of column `j` with `v`, summed exactly as
/// [`dot`](crate::dot) sums it.
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
    gemv_tr_sweep(out, w, v, Sweep::Forward);
}

/// [`gemv_tr`] with the columns visited in the order `sweep`; the result is the same.
///
/// # Example
/// ```
/// use backprop_linalg::{gemv_tr_sweep, Matrix, Sweep};
/// let w = Matrix::from_column_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let mut out = [0.0; 3];
/// gemv_tr_sweep(&mut out, &w, &[1.0, 1.0], Sweep::Backward);
/// assert_eq!(out, [3.0, 7.0, 11.0]);
/// ```
///
/// # Panics
/// If `W` is not `v.len() x out.len()`.
#[inline]
pub fn gemv_tr_sweep<T: Real>(out: &mut [T], w: &Matrix<T>, v: &[T], sweep: Sweep) {
    let (rows, cols) = w.shape();
    assert!(
        rows == v.len() && cols == out.len(),
        "gemv_tr: shapes differ"
    );
    if rows == 0 {
        out.fill(T::zero());
        return;
    }
    simd::gemv_tr(out, w.as_slice(), v, sweep.is_backward());
}

/// `out = W d`: the sum of the columns `w_j` weighted by `d_j`, added in the order
/// `j = 0, 1, ...` to each entry.
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
    if rows == 0 {
        return;
    }
    simd::gemv(out, w.as_slice(), d);
}

/// The rank-1 update `W += a x y^T`: column `j` gets `(a y_j) x`.
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
    simd::ger(w.as_mut_slice(), a, x, y);
}

/// The backward product fused with the update: `out = W d` with the old `W`, then `W += a x d^T`.
///
/// Each column `w_j` is read once: its contribution `d_j w_j` is added to `out` and then the column
/// is updated in place while it is still in registers. The result equals [`gemv`] followed by
/// [`ger`], bit for bit.
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
    if rows == 0 {
        return;
    }
    simd::gemv_ger(out, w.as_mut_slice(), d, a, x);
}

/// A deferred rank-1 update fused with the next product: `W += x d^T`, then `out = W^T v`, one
/// column at a time (`w_j += d_j x`, then `out_j = w_j · v`), so that each column is read and
/// written once.
///
/// This is how the first layer's update of sample `t` (`x = v_0` of sample `t`, `d = -eta
/// delta_1`) meets the forward product of sample `t + 1` (`v`): the weights stream through the
/// cache once per step instead of twice. The result equals [`ger`] with `a = 1` followed by
/// [`gemv_tr`], bit for bit, in either `sweep`.
///
/// # Example
/// ```
/// use backprop_linalg::{ger_gemv_tr, Matrix, Sweep};
/// let mut w = Matrix::from_column_slice(2, 1, &[1.0, 2.0]);
/// let mut out = [0.0];
/// ger_gemv_tr(&mut out, &mut w, &[2.0, 2.0], &[0.5], &[1.0, -1.0], Sweep::Forward);
/// assert_eq!(w.as_slice(), &[2.0, 3.0]);
/// assert_eq!(out, [-1.0]);
/// ```
///
/// # Panics
/// If `W` is not `x.len() x d.len()`, or `v` and `out` do not fit.
#[inline]
pub fn ger_gemv_tr<T: Real>(
    out: &mut [T],
    w: &mut Matrix<T>,
    x: &[T],
    d: &[T],
    v: &[T],
    sweep: Sweep,
) {
    let (rows, cols) = w.shape();
    assert!(
        rows == x.len() && rows == v.len() && cols == d.len() && cols == out.len(),
        "ger_gemv_tr: shapes differ"
    );
    if rows == 0 {
        out.fill(T::zero());
        return;
    }
    simd::ger_gemv_tr(out, w.as_mut_slice(), x, d, v, sweep.is_backward());
}
