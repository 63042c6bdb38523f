//! The lecture's activation functions and their derivatives.
//!
//! An [`Activation`] maps a weighted sum `s` to a node's value `v = σ(s)` and gives the derivative
//! `σ'(s)` that backpropagation multiplies into `dL/dv`. The set is the lecture's table, plus the
//! identity for output layers:
//!
//! | activation | `σ(s)` | `σ'(s)` |
//! | --- | --- | --- |
//! | [`Step`](Activation::Step) | `sign(s)`: `-1`, `0` at `s = 0`, `+1` | `0` everywhere, also at `s = 0` (where the lecture says N/A) |
//! | [`Sigmoid`](Activation::Sigmoid) | `1 / (1 + exp(-s))` | `σ(s) (1 - σ(s))` |
//! | [`Tanh`](Activation::Tanh) | `tanh(s)` | `1 - tanh²(s)` |
//! | [`Relu`](Activation::Relu) | `max(s, 0)` | `1` for `s >= 0`, else `0` (the lecture's choice at the kink) |
//! | [`Identity`](Activation::Identity) | `s` | `1` |
//!
//! The functions work on any [`num_traits::Float`] (`f32`, `f64`), one value at a time or over a
//! slice; the slice forms match on the activation once and then run a tight loop. Each
//! activation's value and derivative are written once, and every form is made from them.
//!
//! # The same bits on every CPU
//! The sigmoid, tanh and the softmax of the cross-entropy loss call no C library function: this
//! crate has its own [`exp`], [`tanh`] and [`log`] in plain arithmetic (additions, products,
//! quotients and bit operations, each rounded as IEEE 754 says), so they return the same bits on
//! every CPU, also in a loop compiled for AVX2, whereas the C library picks FMA variants at run
//! time that round differently. Their errors, measured against the C library on 2^22 points per
//! type by the tests (`f32` against the C library's `f64`):
//!
//! | function | `f64` | `f32` |
//! | --- | --- | --- |
//! | [`exp`] | 2 ulp | 2 ulp |
//! | [`tanh`] | 4 ulp | 3.03 ulp |
//! | [`log`] | 1 ulp | 1 ulp |
//!
//! `exp` and `tanh` have no branches and vectorize over a slice; `tanh` keeps its relative error
//! bounded down to the subnormals. Value-stability tests pin their bits.
//!
//! ```
//! use backprop_activations::Activation;
//! let (s, mut v) = ([-1.0_f64, 0.0, 2.0], [0.0; 3]);
//! Activation::Relu.apply_to(&s, &mut v);
//! assert_eq!(v, [0.0, 0.0, 2.0]);
//! assert_eq!(Activation::Sigmoid.derivative(0.0), 0.25);
//! assert_eq!("tanh".parse::<Activation>()?, Activation::Tanh);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc(test(attr(deny(warnings))))]

use std::fmt;
use std::str::FromStr;

use num_traits::Float;

mod exp;
mod log;
mod tanh;
#[cfg(test)]
mod testing;

/// An activation function `σ`, applied to every node of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Activation {
    /// The binary step `sign(s)`: `-1` for `s < 0`, `0` at `0`, `+1` for `s > 0`. Its derivative is
    /// `0` everywhere; at `s = 0`, where the lecture leaves it undefined (N/A), it is also taken as
    /// `0`, so a network of steps cannot learn by gradient descent, as the lecture implies.
    Step,
    /// The logistic sigmoid `1 / (1 + exp(-s))`, with `σ' = σ (1 - σ)`.
    Sigmoid,
    /// The hyperbolic tangent, with `σ' = 1 - tanh²`.
    Tanh,
    /// The rectified linear unit `max(s, 0)`, with `σ'(s) = 1` for `s >= 0` and `0` below.
    Relu,
    /// The identity `s`, with `σ' = 1`: the usual output activation for regression, and the one
    /// under a softmax cross-entropy loss.
    Identity,
}

impl Activation {
    /// Every activation, for tests and help texts.
    pub const ALL: [Activation; 5] = [
        Activation::Step,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::Identity,
    ];

    /// The activations that backpropagation can train through (all but [`Step`](Activation::Step)).
    pub const DIFFERENTIABLE: [Activation; 4] = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::Identity,
    ];

    /// The lowercase name used in model files and on the command line.
    ///
    /// # Example
    /// ```
    /// use backprop_activations::Activation;
    /// assert_eq!(Activation::Relu.name(), "relu");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Activation::Step => "step",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Identity => "identity",
        }
    }

    /// `σ(s)` for one value.
    ///
    /// # Example
    /// ```
    /// use backprop_activations::Activation;
    /// assert_eq!(Activation::Step.value(-3.0), -1.0);
    /// assert_eq!(Activation::Sigmoid.value(0.0), 0.5);
    /// ```
    #[inline]
    pub fn value<T: Float>(self, s: T) -> T {
        match self {
            Activation::Step => Step::value(s),
            Activation::Sigmoid => Sigmoid::value(s),
            Activation::Tanh => Tanh::value(s),
            Activation::Relu => Relu::value(s),
            Activation::Identity => Identity::value(s),
        }
    }

    /// `σ'(s)` for one value, by the lecture's table.
    ///
    /// # Example
    /// ```
    /// use backprop_activations::Activation;
    /// assert_eq!(Activation::Tanh.derivative(0.0), 1.0);
    /// assert_eq!(Activation::Relu.derivative(0.0), 1.0);
    /// assert_eq!(Activation::Relu.derivative(-0.5), 0.0);
    /// assert_eq!(Activation::Step.derivative(0.0), 0.0);
    /// ```
    #[inline]
    pub fn derivative<T: Float>(self, s: T) -> T {
        self.derivative_from_value(s, self.value(s))
    }

    /// `σ'(s)` given both `s` and `v = σ(s)`: sigmoid and tanh take it from `v` (`v (1 - v)`,
    /// `1 - v²`), as the lecture writes them, so the forward pass's values are reused.
    ///
    /// # Example
    /// ```
    /// use backprop_activations::Activation;
    /// let s = 0.3_f64;
    /// let v = Activation::Sigmoid.value(s);
    /// assert_eq!(Activation::Sigmoid.derivative_from_value(s, v), v * (1.0 - v));
    /// ```
    #[inline]
    pub fn derivative_from_value<T: Float>(self, s: T, v: T) -> T {
        match self {
            Activation::Step => Step::derivative(s, v),
            Activation::Sigmoid => Sigmoid::derivative(s, v),
            Activation::Tanh => Tanh::derivative(s, v),
            Activation::Relu => Relu::derivative(s, v),
            Activation::Identity => Identity::derivative(s, v),
        }
    }

    /// `v = σ(s)` over a slice.
    ///
    /// # Panics
    /// If the lengths differ.
    ///
    /// # Example
    /// ```
    /// use backprop_activations::Activation;
    /// let mut v = [0.0; 2];
    /// Activation::Tanh.apply_to(&[0.0_f64, 0.0], &mut v);
    /// assert_eq!(v, [0.0, 0.0]);
    /// ```
    #[inline(always)]
    pub fn apply_to<T: Float>(self, s: &[T], v: &mut [T]) {
        assert_eq!(s.len(), v.len(), "apply_to: lengths differ");
        match self {
            Activation::Step => apply_to::<Step, T>(s, v),
            Activation::Sigmoid => apply_to::<Sigmoid, T>(s, v),
            Activation::Tanh => apply_to::<Tanh, T>(s, v),
            Activation::Relu => apply_to::<Relu, T>(s, v),
            Activation::Identity => apply_to::<Identity, T>(s, v),
        }
    }

    /// `σ` applied in place: `x = σ(x)`.
    ///
    /// # Example
    /// ```
    /// use backprop_activations::Activation;
    /// let mut x = [-1.0_f64, 2.0];
    /// Activation::Relu.apply_mut(&mut x);
    /// assert_eq!(x, [0.0, 2.0]);
    /// ```
    #[inline]
    pub fn apply_mut<T: Float>(self, x: &mut [T]) {
        match self {
            Activation::Step => apply_mut::<Step, T>(x),
            Activation::Sigmoid => apply_mut::<Sigmoid, T>(x),
            Activation::Tanh => apply_mut::<Tanh, T>(x),
            Activation::Relu => apply_mut::<Relu, T>(x),
            Activation::Identity => apply_mut::<Identity, T>(x),
        }
    }

    /// One entry of [`scale_by_derivative`](Self::scale_by_derivative): `d σ'(s)` from `s` and
    /// `v = σ(s)`, computed exactly as the slice version computes each entry (the step's zero
    /// is a zero, not `d 0`; the identity leaves `d` as it is), for callers that fuse it into
    /// a loop of their own.
    ///
    /// # Example
    /// ```
    /// use backprop_activations::Activation;
    /// let (s, v, mut d) = ([0.3_f64], [0.6], [2.0]);
    /// let one = Activation::Sigmoid.scale_one(d[0], s[0], v[0]);
    /// Activation::Sigmoid.scale_by_derivative(&s, &v, &mut d);
    /// assert_eq!(one.to_bits(), d[0].to_bits());
    /// ```
    #[inline(always)]
    pub fn scale_one<T: Float>(self, d: T, s: T, v: T) -> T {
        match self {
            Activation::Step => Step::scale(d, s, v),
            Activation::Sigmoid => Sigmoid::scale(d, s, v),
            Activation::Tanh => Tanh::scale(d, s, v),
            Activation::Relu => Relu::scale(d, s, v),
            Activation::Identity => Identity::scale(d, s, v),
        }
    }

    /// Multiplies `d` by `σ'(s)` in place, `d = d ⊙ σ'(s)`, with `v = σ(s)` from the forward pass:
    /// this turns the lecture's `dL/dv_{i+1}` into `dL/dv_{i+1} ⊙ σ'(s_{i+1})`.
    ///
    /// # Panics
    /// If the lengths differ.
    ///
    /// # Example
    /// ```
    /// use backprop_activations::Activation;
    /// let (s, v) = ([-1.0_f64, 1.0], [0.0, 1.0]);
    /// let mut d = [5.0, 5.0];
    /// Activation::Relu.scale_by_derivative(&s, &v, &mut d);
    /// assert_eq!(d, [0.0, 5.0]);
    /// ```
    #[inline]
    pub fn scale_by_derivative<T: Float>(self, s: &[T], v: &[T], d: &mut [T]) {
        assert!(
            s.len() == d.len() && v.len() == d.len(),
            "scale_by_derivative: lengths differ"
        );
        match self {
            Activation::Step => scale_by_derivative::<Step, T>(s, v, d),
            Activation::Sigmoid => scale_by_derivative::<Sigmoid, T>(s, v, d),
            Activation::Tanh => scale_by_derivative::<Tanh, T>(s, v, d),
            Activation::Relu => scale_by_derivative::<Relu, T>(s, v, d),
            Activation::Identity => scale_by_derivative::<Identity, T>(s, v, d),
        }
    }
}

/// One activation's formulas, each written once: the value, the derivative from `s` and
/// `v = σ(s)`, and `d σ'(s)` (by default `d` times the derivative). Every form of
/// [`Activation`], scalar or slice, is made from these.
trait Formula {
    /// `σ(s)`.
    fn value<T: Float>(s: T) -> T;
    /// `σ'(s)`, given `s` and `v = σ(s)`.
    fn derivative<T: Float>(s: T, v: T) -> T;
    /// `d σ'(s)`.
    #[inline(always)]
    fn scale<T: Float>(d: T, s: T, v: T) -> T {
        d * Self::derivative(s, v)
    }
}

/// `v = σ(s)`, entry by entry: the tight loop of one arm of [`Activation::apply_to`].
#[inline(always)]
fn apply_to<F: Formula, T: Float>(s: &[T], v: &mut [T]) {
    v.iter_mut().zip(s).for_each(|(v, &s)| *v = F::value(s));
}

/// `x = σ(x)`, entry by entry.
#[inline(always)]
fn apply_mut<F: Formula, T: Float>(x: &mut [T]) {
    x.iter_mut().for_each(|x| *x = F::value(*x));
}

/// `d = d σ'(s)`, entry by entry.
#[inline(always)]
fn scale_by_derivative<F: Formula, T: Float>(s: &[T], v: &[T], d: &mut [T]) {
    d.iter_mut()
        .zip(s)
        .zip(v)
        .for_each(|((d, &s), &v)| *d = F::scale(*d, s, v));
}

/// `sign(s)`, with derivative `0` everywhere.
struct Step;

impl Formula for Step {
    #[inline(always)]
    fn value<T: Float>(s: T) -> T {
        if s > T::zero() {
            T::one()
        } else if s < T::zero() {
            -T::one()
        } else {
            T::zero()
        }
    }

    #[inline(always)]
    fn derivative<T: Float>(_s: T, _v: T) -> T {
        T::zero()
    }

    /// A zero, not `d 0` (which is NaN for an infinite `d`): the step passes no gradient.
    #[inline(always)]
    fn scale<T: Float>(_d: T, _s: T, _v: T) -> T {
        T::zero()
    }
}

/// `1 / (1 + exp(-s))`, with `σ' = σ (1 - σ)`.
struct Sigmoid;

impl Formula for Sigmoid {
    #[inline(always)]
    fn value<T: Float>(s: T) -> T {
        T::one() / (T::one() + exp(-s))
    }

    #[inline(always)]
    fn derivative<T: Float>(_s: T, v: T) -> T {
        v * (T::one() - v)
    }
}

/// `tanh(s)`, with `σ' = 1 - tanh²`.
struct Tanh;

impl Formula for Tanh {
    #[inline(always)]
    fn value<T: Float>(s: T) -> T {
        tanh(s)
    }

    #[inline(always)]
    fn derivative<T: Float>(_s: T, v: T) -> T {
        T::one() - v * v
    }
}

/// `max(s, 0)`, with `σ' = 1` for `s >= 0`.
struct Relu;

impl Formula for Relu {
    #[inline(always)]
    fn value<T: Float>(s: T) -> T {
        if s > T::zero() {
            s
        } else {
            T::zero()
        }
    }

    #[inline(always)]
    fn derivative<T: Float>(s: T, _v: T) -> T {
        if s >= T::zero() {
            T::one()
        } else {
            T::zero()
        }
    }
}

/// `s`, with `σ' = 1`.
struct Identity;

impl Formula for Identity {
    #[inline(always)]
    fn value<T: Float>(s: T) -> T {
        s
    }

    #[inline(always)]
    fn derivative<T: Float>(_s: T, _v: T) -> T {
        T::one()
    }

    /// `d` as it is.
    #[inline(always)]
    fn scale<T: Float>(d: T, _s: T, _v: T) -> T {
        d
    }
}

/// Calls the plain-arithmetic `$f64` or `$f32` for `f64` or `f32`, and `$other` for any other
/// [`Float`] (whose own functions are all there is).
macro_rules! by_type {
    ($x:expr, $f64:path, $f32:path, $other:expr) => {{
        let x = $x;
        let size = std::mem::size_of_val(&x);
        let fast = if size == 8 {
            x.to_f64().map($f64).and_then(T::from)
        } else if size == 4 {
            x.to_f32().map($f32).and_then(T::from)
        } else {
            None
        };
        fast.unwrap_or_else(|| $other(x))
    }};
}

/// `exp(x)` in plain arithmetic for `f64` and `f32` (see the crate docs for its accuracy), the
/// same bits on every CPU; the type's own `exp` for any other [`Float`].
///
/// # Example
/// ```
/// assert_eq!(backprop_activations::exp(0.0_f64), 1.0);
/// assert!((backprop_activations::exp(1.0_f32) - std::f32::consts::E).abs() <= f32::EPSILON);
/// ```
#[inline(always)]
pub fn exp<T: Float>(x: T) -> T {
    by_type!(x, exp::exp_f64, exp::exp_f32, |x: T| x.exp())
}

/// `tanh(x)` in plain arithmetic for `f64` and `f32` (see the crate docs for its accuracy), the
/// same bits on every CPU; the type's own `tanh` for any other [`Float`].
///
/// # Example
/// ```
/// assert_eq!(backprop_activations::tanh(0.0_f64), 0.0);
/// assert_eq!(backprop_activations::tanh(-30.0_f32), -1.0);
/// ```
#[inline(always)]
pub fn tanh<T: Float>(x: T) -> T {
    by_type!(x, tanh::tanh_f64, tanh::tanh_f32, |x: T| x.tanh())
}

/// `ln(x)` in plain arithmetic for `f64` and `f32` (see the crate docs for its accuracy), the
/// same bits on every CPU; the type's own `ln` for any other [`Float`]. Without branches (the
/// special values are chosen at the end), so that a loop over many values vectorizes.
///
/// # Example
/// ```
/// assert_eq!(backprop_activations::log(1.0_f64), 0.0);
/// assert_eq!(backprop_activations::log(0.0_f32), f32::NEG_INFINITY);
/// ```
#[inline(always)]
pub fn log<T: Float>(x: T) -> T {
    by_type!(x, log::log_f64, log::log_f32, |x: T| x.ln())
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown activation name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseActivationError {
    name: String,
}

impl fmt::Display for ParseActivationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Activation::ALL.iter().map(|a| a.name()).collect();
        write!(
            f,
            "unknown activation {:?} (expected one of: {})",
            self.name,
            known.join(", ")
        )
    }
}

impl std::error::Error for ParseActivationError {}

impl FromStr for Activation {
    type Err = ParseActivationError;

    /// Parses a name as written by [`Activation::name`], ignoring ASCII case; `sign` is accepted
    /// for `step`, as the lecture names it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        if lower == "sign" {
            return Ok(Activation::Step);
        }
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == lower)
            .ok_or_else(|| ParseActivationError { name: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINTS: [f64; 9] = [-4.0, -1.5, -0.3, -1e-3, 1e-3, 0.2, 0.7, 2.0, 5.0];

    fn central_difference(a: Activation, s: f64) -> f64 {
        let h = 1e-6;
        (a.value(s + h) - a.value(s - h)) / (2.0 * h)
    }

    #[test]
    fn derivatives_match_central_differences_away_from_kinks() {
        for a in Activation::ALL {
            for s in POINTS {
                let (analytic, numeric) = (a.derivative(s), central_difference(a, s));
                assert!(
                    (analytic - numeric).abs() < 1e-8,
                    "{a} at {s}: {analytic} vs {numeric}"
                );
            }
        }
    }

    #[test]
    fn derivatives_follow_the_lectures_table() {
        for s in POINTS {
            let sig = Activation::Sigmoid.value(s);
            assert!((sig - 1.0 / (1.0 + (-s).exp())).abs() <= 4.0 * f64::EPSILON * sig);
            assert_eq!(Activation::Sigmoid.derivative(s), sig * (1.0 - sig));
            let th = Activation::Tanh.value(s);
            assert!((th - s.tanh()).abs() <= 4.0 * f64::EPSILON * th.abs());
            assert_eq!(Activation::Tanh.derivative(s), 1.0 - th * th);
            assert_eq!(
                Activation::Relu.derivative(s),
                if s >= 0.0 { 1.0 } else { 0.0 }
            );
            assert_eq!(Activation::Step.derivative(s), 0.0);
            assert_eq!(Activation::Identity.derivative(s), 1.0);
        }
    }

    #[test]
    fn values_at_the_kinks() {
        assert_eq!(Activation::Step.value(0.0), 0.0);
        assert_eq!(Activation::Step.derivative(0.0), 0.0);
        assert_eq!(Activation::Relu.value(0.0), 0.0);
        assert_eq!(Activation::Relu.derivative(0.0), 1.0);
        assert_eq!(Activation::Step.value(-2.0), -1.0);
        assert_eq!(Activation::Step.value(2.0), 1.0);
    }

    #[test]
    fn slice_forms_equal_scalar_forms() {
        for a in Activation::ALL {
            let mut v = [0.0; POINTS.len()];
            a.apply_to(&POINTS, &mut v);
            let mut inplace = POINTS;
            a.apply_mut(&mut inplace);
            assert_eq!(v, inplace);
            let mut d = [2.0; POINTS.len()];
            a.scale_by_derivative(&POINTS, &v, &mut d);
            for i in 0..POINTS.len() {
                assert_eq!(v[i], a.value(POINTS[i]));
                assert_eq!(d[i], 2.0 * a.derivative(POINTS[i]));
            }
        }
    }

    #[test]
    fn sigmoid_is_stable_for_large_inputs() {
        assert_eq!(Activation::Sigmoid.value(-1000.0_f64), 0.0);
        assert_eq!(Activation::Sigmoid.value(1000.0_f64), 1.0);
        assert!(Activation::Sigmoid.value(-100.0_f32).is_finite());
    }

    #[test]
    fn scale_one_is_scale_by_derivative_entry_by_entry() {
        let special = [
            0.0,
            -0.0,
            1.5,
            -2.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for a in Activation::ALL {
            for &s in POINTS.iter().chain(&special) {
                for &d in &special {
                    let v = a.value(s);
                    let mut slice = [d];
                    a.scale_by_derivative(&[s], &[v], &mut slice);
                    let one = a.scale_one(d, s, v);
                    assert!(
                        one.to_bits() == slice[0].to_bits() || (one.is_nan() && slice[0].is_nan()),
                        "{a} at s = {s}, d = {d}: {one} against {}",
                        slice[0]
                    );
                }
            }
        }
    }

    #[test]
    fn f32_derivatives_match_f64() {
        for a in Activation::ALL {
            for s in POINTS {
                let d32 = a.derivative(s as f32) as f64;
                assert!((d32 - a.derivative(s)).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn names_round_trip_through_parse_and_serde() {
        for a in Activation::ALL {
            assert_eq!(a.name().parse::<Activation>(), Ok(a));
            assert_eq!(a.to_string().to_uppercase().parse::<Activation>(), Ok(a));
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.name()));
            assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), a);
        }
        assert_eq!("sign".parse::<Activation>(), Ok(Activation::Step));
        let err = "softplus".parse::<Activation>().unwrap_err();
        assert!(err.to_string().contains("softplus"));
        assert!(err.to_string().contains("sigmoid"));
    }
}
