//! The losses `L(v_d, y)` and their derivatives `dL/dv_d`.

use std::fmt;
use std::str::FromStr;

use backprop_activations::{exp, log};
use backprop_linalg::Real;

use crate::error::check_len;
use crate::{Error, Result};

/// A loss `L(y', y)` between the network's output `y' = v_d` and the target `y`.
///
/// ```
/// use backprop_network::Loss;
/// let mut dv = [0.0; 2];
/// let loss = Loss::Squared.gradient_to(&[1.0, 2.0], &[0.0, 2.0], &mut dv)?;
/// assert_eq!(loss, 0.5);
/// assert_eq!(dv, [1.0, 0.0]); // dL/dv_d = v_d - y
/// assert!(Loss::Squared.value(&[1.0, 2.0], &[0.0]).is_err()); // lengths differ
/// # Ok::<(), backprop_network::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum Loss {
    /// The lecture's squared loss `1/2 ||v_d - y||^2`, with `dL/dv_d = v_d - y`.
    #[default]
    Squared,
    /// Cross-entropy of a softmax over the outputs: `p = softmax(v_d)` (`exp(v_d - m)` over its
    /// sum, `m` the largest output, by the plain-arithmetic `exp` and `log` of
    /// `backprop-activations`),
    /// `L = -sum_k y_k ln p_k`, with `dL/dv_d = (sum_k y_k) p - y` (`p - y` for a one-hot or
    /// probability target). The output layer is usually [`Identity`](backprop_activations::Activation::Identity),
    /// so that `v_d` are the logits.
    CrossEntropy,
}

impl Loss {
    /// Both losses.
    pub const ALL: [Loss; 2] = [Loss::Squared, Loss::CrossEntropy];

    /// The name used in model files and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Loss::Squared => "squared",
            Loss::CrossEntropy => "cross-entropy",
        }
    }

    /// `L(v_d, y)`.
    ///
    /// # Errors
    /// [`Error::Length`] if `y` is not as long as `v_d`.
    pub fn value<T: Real>(self, v_d: &[T], y: &[T]) -> Result<T> {
        check_len("target y", v_d.len(), y.len())?;
        Ok(match self {
            Loss::Squared => {
                let half = T::from_f64(0.5);
                v_d.iter()
                    .zip(y)
                    .map(|(&p, &t)| (p - t) * (p - t))
                    .fold(T::zero(), |a, e| a + e)
                    * half
            }
            Loss::CrossEntropy => {
                let lse = log_sum_exp(v_d);
                v_d.iter()
                    .zip(y)
                    .filter(|(_, &t)| t != T::zero())
                    .fold(T::zero(), |a, (&z, &t)| a + t * (lse - z))
            }
        })
    }

    /// Writes `dL/dv_d` into `dv` and returns `L(v_d, y)`.
    ///
    /// # Errors
    /// [`Error::Length`] if `y` or `dv` is not as long as `v_d`.
    pub fn gradient_to<T: Real>(self, v_d: &[T], y: &[T], dv: &mut [T]) -> Result<T> {
        check_len("target y", v_d.len(), y.len())?;
        check_len("gradient dL/dv_d", v_d.len(), dv.len())?;
        Ok(match self {
            Loss::Squared => {
                for ((d, &p), &t) in dv.iter_mut().zip(v_d).zip(y) {
                    *d = p - t;
                }
                dv.iter().fold(T::zero(), |a, &e| a + e * e) * T::from_f64(0.5)
            }
            Loss::CrossEntropy => {
                let lse = log_sum_exp_in(v_d, dv);
                let total = y.iter().fold(T::zero(), |a, &t| a + t);
                // Two loops, the first without a branch so that its `exp` vectorizes.
                for ((d, &z), &t) in dv.iter_mut().zip(v_d).zip(y) {
                    *d = total * exp(z - lse) - t;
                }
                let mut loss = T::zero();
                for (&z, &t) in v_d.iter().zip(y) {
                    if t != T::zero() {
                        loss += t * (lse - z);
                    }
                }
                loss
            }
        })
    }

    /// [`value`](Self::value) and [`output_to`](Self::output_to) at once, each to the bit, for an
    /// evaluation: the prediction into `out`, the loss returned. The softmax's `log_sum_exp` is
    /// computed once for both.
    ///
    /// # Errors
    /// [`Error::Length`] if `y` or `out` is not as long as `v_d`.
    ///
    /// # Example
    /// ```
    /// use backprop_network::Loss;
    /// let (v, y, mut p) = ([0.5_f64, -1.0, 2.0], [0.0, 0.0, 1.0], [0.0; 3]);
    /// let loss = Loss::CrossEntropy.value_and_output(&v, &y, &mut p)?;
    /// assert_eq!(loss, Loss::CrossEntropy.value(&v, &y)?);
    /// let mut q = [0.0; 3];
    /// Loss::CrossEntropy.output_to(&v, &mut q)?;
    /// assert_eq!(p, q);
    /// # Ok::<(), backprop_network::Error>(())
    /// ```
    pub fn value_and_output<T: Real>(self, v_d: &[T], y: &[T], out: &mut [T]) -> Result<T> {
        check_len("target y", v_d.len(), y.len())?;
        check_len("output", v_d.len(), out.len())?;
        Ok(match self {
            Loss::Squared => {
                out.copy_from_slice(v_d);
                self.value(v_d, y)?
            }
            Loss::CrossEntropy => {
                let lse = log_sum_exp_in(v_d, out);
                for (o, &z) in out.iter_mut().zip(v_d) {
                    *o = exp(z - lse);
                }
                v_d.iter()
                    .zip(y)
                    .filter(|(_, &t)| t != T::zero())
                    .fold(T::zero(), |a, (&z, &t)| a + t * (lse - z))
            }
        })
    }

    /// The prediction the loss implies from `v_d`: `v_d` itself for the squared loss, the class
    /// probabilities `softmax(v_d)` for cross-entropy.
    ///
    /// # Errors
    /// [`Error::Length`] if `out` is not as long as `v_d`.
    ///
    /// # Example
    /// ```
    /// use backprop_network::Loss;
    /// let mut p = [0.0; 2];
    /// Loss::CrossEntropy.output_to(&[0.0, 0.0], &mut p)?;
    /// assert_eq!(p, [0.5, 0.5]);
    /// # Ok::<(), backprop_network::Error>(())
    /// ```
    pub fn output_to<T: Real>(self, v_d: &[T], out: &mut [T]) -> Result<()> {
        check_len("output", v_d.len(), out.len())?;
        match self {
            Loss::Squared => out.copy_from_slice(v_d),
            Loss::CrossEntropy => {
                let lse = log_sum_exp_in(v_d, out);
                for (o, &z) in out.iter_mut().zip(v_d) {
                    *o = exp(z - lse);
                }
            }
        }
        Ok(())
    }
}

/// `ln sum_k exp(z_k)`, computed from the largest entry so that it never overflows (the sum is
/// then in `[1, n]`), with the plain-arithmetic [`exp`] and [`log`] of `backprop-activations`:
/// no C library call, the same bits on every CPU.
fn log_sum_exp<T: Real>(z: &[T]) -> T {
    // Up to 32 outputs, the terms go through a buffer on the stack, so that their `exp`
    // vectorizes ([`log_sum_exp_in`], the same bits).
    const ON_STACK: usize = 32;
    if z.len() <= ON_STACK {
        let mut scratch = [T::zero(); ON_STACK];
        return log_sum_exp_in(z, &mut scratch[..z.len()]);
    }
    let max = z.iter().fold(T::neg_infinity(), |m, &x| m.max(x));
    if !max.is_finite() {
        return max;
    }
    max + log(z.iter().fold(T::zero(), |a, &x| a + exp(x - max)))
}

/// [`log_sum_exp`] to the bit, with the terms `exp(z_k - m)` written into `scratch` (as long as
/// `z`) by a loop without branches, which vectorizes, then summed in order.
#[inline]
fn log_sum_exp_in<T: Real>(z: &[T], scratch: &mut [T]) -> T {
    let max = z.iter().fold(T::neg_infinity(), |m, &x| m.max(x));
    if !max.is_finite() {
        return max;
    }
    for (e, &x) in scratch.iter_mut().zip(z) {
        *e = exp(x - max);
    }
    max + log(scratch.iter().fold(T::zero(), |a, &e| a + e))
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loss {
    type Err = Error;

    /// Parses `squared` (or `mse`) and `cross-entropy` (or `crossentropy`, `ce`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "squared" | "mse" => Ok(Loss::Squared),
            "cross-entropy" | "crossentropy" | "cross_entropy" | "ce" => Ok(Loss::CrossEntropy),
            _ => Err(Error::UnknownLoss(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_match_central_differences() -> Result<()> {
        let y = [0.2, 0.0, 0.8];
        let v = [0.3_f64, -1.2, 2.0];
        for loss in Loss::ALL {
            let mut dv = [0.0; 3];
            let l = loss.gradient_to(&v, &y, &mut dv)?;
            assert!((l - loss.value(&v, &y)?).abs() < 1e-15);
            for k in 0..3 {
                let h = 1e-6;
                let (mut plus, mut minus) = (v, v);
                plus[k] += h;
                minus[k] -= h;
                let numeric = (loss.value(&plus, &y)? - loss.value(&minus, &y)?) / (2.0 * h);
                assert!(
                    (numeric - dv[k]).abs() < 1e-8,
                    "{loss} {k}: {numeric} vs {}",
                    dv[k]
                );
            }
        }
        Ok(())
    }

    #[test]
    fn lengths_that_differ_are_errors() {
        let mut dv = [0.0; 2];
        for loss in Loss::ALL {
            assert!(matches!(
                loss.value(&[1.0, 2.0], &[1.0]),
                Err(Error::Length {
                    expected: 2,
                    got: 1,
                    ..
                })
            ));
            assert!(loss
                .gradient_to(&[1.0, 2.0], &[1.0, 2.0, 3.0], &mut dv)
                .is_err());
            assert!(loss.gradient_to(&[1.0], &[1.0], &mut dv).is_err());
            assert!(loss.output_to(&[1.0, 2.0, 3.0], &mut dv).is_err());
        }
    }

    #[test]
    fn cross_entropy_is_stable_and_softmax_sums_to_one() -> Result<()> {
        let v = [1000.0_f64, -1000.0, 999.0];
        let y = [0.0, 0.0, 1.0];
        let l = Loss::CrossEntropy.value(&v, &y)?;
        assert!(
            (l - (1.0 + (1.0 + (-1.0_f64).exp()).ln())).abs() < 1e-9,
            "{l}"
        );
        let mut p = [0.0; 3];
        Loss::CrossEntropy.output_to(&v, &mut p)?;
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[0] > p[2] && p[2] > p[1]);
        Ok(())
    }

    #[test]
    fn names_parse() {
        for loss in Loss::ALL {
            assert_eq!(loss.name().parse::<Loss>(), Ok(loss));
        }
        assert!(matches!(
            "hinge".parse::<Loss>(),
            Err(Error::UnknownLoss(_))
        ));
    }
}
