//! The mini-batch kernels: GEMM with samples as columns, strides standing in for transposes.
//!
//! Each takes the packing buffers of the GEMM as a [`GemmScratch`], so that a call allocates
//! nothing once the scratch has grown to the shape (see [`GemmScratch::reserve`]).

use crate::gemm::{gemm, Kernel, Raw, RawMut};
use crate::{GemmScratch, Matrix, MatrixView, MatrixViewMut, Real};

/// Pointer and strides of a column-major view.
fn raw<T: Real>(m: &MatrixView<'_, T>) -> Raw<T> {
    let (rs, cs) = m.strides();
    (m.as_ptr(), rs as isize, cs as isize)
}

/// Pointer and strides of a mutable column-major view.
fn raw_mut<T: Real>(m: &mut MatrixViewMut<'_, T>) -> RawMut<T> {
    let (rs, cs) = m.strides();
    (m.as_mut_ptr(), rs as isize, cs as isize)
}

/// Mini-batch forward: `S = W^T V`, with `V` holding one sample per column (`n_in x b`) and `S`
/// `n_out x b`. A GEMM of shape `(m, k, n) = (n_out, n_in, b)` (for [`GemmScratch::reserve`]).
///
/// # Example
/// ```
/// use backprop_linalg::{gemm_tr_to, GemmScratch, Matrix};
/// let w = Matrix::from_column_slice(2, 1, &[1.0, 2.0]);
/// let v = Matrix::from_column_slice(2, 2, &[1.0, 1.0, 0.0, 1.0]);
/// let mut s = Matrix::zeros(1, 2);
/// let mut scratch = GemmScratch::new();
/// gemm_tr_to(&mut s.as_view_mut(), &w, &v.as_view(), &mut scratch);
/// assert_eq!(s.as_slice(), &[3.0, 2.0]);
/// ```
///
/// # Panics
/// If the shapes do not fit.
pub fn gemm_tr_to<T: Real>(
    out: &mut MatrixViewMut<'_, T>,
    w: &Matrix<T>,
    v: &MatrixView<'_, T>,
    scratch: &mut GemmScratch<T>,
) {
    gemm_tr_with(out, w, v, scratch, Kernel::Auto);
}

/// [`gemm_tr_to`] with the choice of microkernel.
pub(crate) fn gemm_tr_with<T: Real>(
    out: &mut MatrixViewMut<'_, T>,
    w: &Matrix<T>,
    v: &MatrixView<'_, T>,
    scratch: &mut GemmScratch<T>,
    kernel: Kernel,
) {
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
    unsafe {
        gemm(
            n_out,
            n_in,
            b,
            T::one(),
            wt,
            vr,
            T::zero(),
            cr,
            scratch,
            kernel,
        )
    }
}

/// Mini-batch backward: `D = W Δ`, with `Δ` `n_out x b` and `D` `n_in x b`. A GEMM of shape
/// `(m, k, n) = (n_in, n_out, b)`.
///
/// # Example
/// ```
/// use backprop_linalg::{gemm_to, GemmScratch, Matrix};
/// let w = Matrix::from_column_slice(2, 1, &[1.0, 2.0]);
/// let delta = Matrix::from_column_slice(1, 2, &[1.0, -1.0]);
/// let mut d = Matrix::zeros(2, 2);
/// gemm_to(&mut d.as_view_mut(), &w, &delta.as_view(), &mut GemmScratch::new());
/// assert_eq!(d.as_slice(), &[1.0, 2.0, -1.0, -2.0]);
/// ```
///
/// # Panics
/// If the shapes do not fit.
pub fn gemm_to<T: Real>(
    out: &mut MatrixViewMut<'_, T>,
    w: &Matrix<T>,
    delta: &MatrixView<'_, T>,
    scratch: &mut GemmScratch<T>,
) {
    gemm_with(out, w, delta, scratch, Kernel::Auto);
}

/// [`gemm_to`] with the choice of microkernel.
pub(crate) fn gemm_with<T: Real>(
    out: &mut MatrixViewMut<'_, T>,
    w: &Matrix<T>,
    delta: &MatrixView<'_, T>,
    scratch: &mut GemmScratch<T>,
    kernel: Kernel,
) {
    let (n_in, n_out) = w.shape();
    let b = delta.ncols();
    assert!(
        delta.nrows() == n_out && out.shape() == (n_in, b),
        "gemm_to: shapes differ"
    );
    let wr = (w.as_ptr(), 1, n_in as isize);
    let (dr, cr) = (raw(delta), raw_mut(out));
    // SAFETY: shapes checked above; `out` is a distinct mutable borrow.
    unsafe {
        gemm(
            n_in,
            n_out,
            b,
            T::one(),
            wr,
            dr,
            T::zero(),
            cr,
            scratch,
            kernel,
        )
    }
}

/// Mini-batch weight gradient: `G = alpha V Δ^T + beta G`, with `V` `n_in x b`, `Δ` `n_out x b` and
/// `G` `n_in x n_out`. With `alpha = 1/b` and `beta = 0` this is the mean of the per-sample
/// gradients `v δ^T`; with `beta = 0`, `G` is only written (NaN in it does not propagate). A GEMM
/// of shape `(m, k, n) = (n_in, b, n_out)`.
///
/// # Example
/// ```
/// use backprop_linalg::{gemm_nt_to, GemmScratch, Matrix};
/// let v = Matrix::from_column_slice(2, 2, &[1.0, 2.0, 3.0, 4.0]);
/// let delta = Matrix::from_column_slice(1, 2, &[1.0, 1.0]);
/// let mut g = Matrix::zeros(2, 1);
/// let mut scratch = GemmScratch::new();
/// gemm_nt_to(&mut g.as_view_mut(), 0.5, &v.as_view(), &delta.as_view(), 0.0, &mut scratch);
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
    scratch: &mut GemmScratch<T>,
) {
    gemm_nt_with(out, alpha, v, delta, beta, scratch, Kernel::Auto);
}

/// [`gemm_nt_to`] with the choice of microkernel.
pub(crate) fn gemm_nt_with<T: Real>(
    out: &mut MatrixViewMut<'_, T>,
    alpha: T,
    v: &MatrixView<'_, T>,
    delta: &MatrixView<'_, T>,
    beta: T,
    scratch: &mut GemmScratch<T>,
    kernel: Kernel,
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
    unsafe { gemm(n_in, b, n_out, alpha, vr, dt, beta, cr, scratch, kernel) }
}
