//! [`Real`]: the two floating-point types of the workspace.

use std::fmt::{Debug, Display, LowerExp};
use std::iter::Sum;

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
    + crate::x86::Avx2
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
