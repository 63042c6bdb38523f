//! [`Real`]: the two floating-point types of the workspace.

use std::fmt::{Debug, Display, LowerExp};
use std::iter::Sum;

/// The floating-point types the workspace computes in: `f64` (the default everywhere) and `f32`.
///
/// The trait is implemented for exactly these two (it is sealed), so that the SIMD kernels and the
/// GEMM can hold a register kernel and block sizes for each.
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
    + crate::x86::Avx512
    + crate::gemm::Gemm
    + 'static
{
    /// The name of the type, `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(x: f64) -> Self;

    /// Converts to `f64` (exact for both types). Named apart from `num_traits::ToPrimitive::to_f64`, which returns an `Option`.
    fn as_f64(self) -> f64;
}

impl Real for f64 {
    const NAME: &'static str = "f64";

    fn from_f64(x: f64) -> Self {
        x
    }

    fn as_f64(self) -> f64 {
        self
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
}
