//! The losses `L(v_d, y)` and their derivatives `dL/dv_d`.

use std::fmt;
use std::str::FromStr;

use backprop_activations::{exp, log};
use backprop_linalg::{with_widest, Real};

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
            Loss::Squared => squared(v_d, y),
            Loss::CrossEntropy => cross_entropy(v_d, y, log_sum_exp(v_d)),
        })
    }

    /// Writes `dL/dv_d` into `dv` and returns `L(v_d, y)`.
    ///
    /// # Errors
    /// [`Error::Length`] if `y` or `dv` is not as long as `v_d`.
    #[inline(always)]
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
                let total = sum(y);
                // Without a branch, so that its `exp` vectorizes.
                for ((d, &z), &t) in dv.iter_mut().zip(v_d).zip(y) {
                    *d = total * exp(z - lse) - t;
                }
                cross_entropy(v_d, y, lse)
            }
        })
    }

    /// [`value`](Self::value) and [`output_to`](Self::output_to) at once, each to the bit, for an
    /// evaluation: the prediction into `out`, the loss returned. The softmax's `log_sum_exp` is
    /// computed once for both. (One column of [`values_and_outputs`](Self::values_and_outputs).)
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
        let mut loss = [T::zero()];
        self.values_and_outputs(v_d, y, &mut loss, out, true)?;
        Ok(loss[0])
    }

    /// [`value_and_output`](Self::value_and_output) of every sample of a batch, each to the bit:
    /// `v_d`, `y` and `out` hold `b = losses.len()` columns of `n_d` entries one after the other
    /// (a column-major `n_d x b` matrix), and `losses[j]` gets column `j`'s loss. With `outputs`,
    /// `out` gets the predictions; without, it is only scratch. For cross-entropy, the
    /// exponentials of the whole batch are one loop, which vectorizes across the samples.
    ///
    /// # Errors
    /// [`Error::Length`] if `v_d` is not `losses.len()` columns of one length, or `y` or `out` is
    /// not as long as `v_d`. Columns of no entries have the loss 0, as [`value`](Self::value)
    /// gives them.
    ///
    /// # Example
    /// ```
    /// use backprop_network::Loss;
    /// let v = [0.5_f64, -1.0, 2.0, 0.0, 3.0, 1.0]; // two samples of three outputs
    /// let y = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
    /// let (mut losses, mut p) = ([0.0; 2], [0.0; 6]);
    /// Loss::CrossEntropy.values_and_outputs(&v, &y, &mut losses, &mut p, true)?;
    /// assert_eq!(losses[1], Loss::CrossEntropy.value(&v[3..], &y[3..])?);
    /// # Ok::<(), backprop_network::Error>(())
    /// ```
    pub fn values_and_outputs<T: Real>(
        self,
        v_d: &[T],
        y: &[T],
        losses: &mut [T],
        out: &mut [T],
        outputs: bool,
    ) -> Result<()> {
        check_len("target y", v_d.len(), y.len())?;
        check_len("output", v_d.len(), out.len())?;
        if v_d.is_empty() {
            losses.fill(T::zero());
            return Ok(());
        }
        let n = (v_d.len() / losses.len().max(1)).max(1);
        check_len("batch outputs v_d", n * losses.len(), v_d.len())?;
        let columns = || v_d.chunks_exact(n).zip(y.chunks_exact(n));
        // Compiled for the widest registers the CPU has (the same bits on every build).
        with_widest(
            #[inline(always)]
            || match self {
                Loss::Squared => {
                    out.copy_from_slice(v_d);
                    for (l, (z, t)) in losses.iter_mut().zip(columns()) {
                        *l = squared(z, t);
                    }
                }
                Loss::CrossEntropy => softmax_columns(v_d, y, losses, out, n, outputs),
            },
        );
        Ok(())
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
#[inline(always)]
fn log_sum_exp_in<T: Real>(z: &[T], scratch: &mut [T]) -> T {
    let max = largest(z);
    if !max.is_finite() {
        return max;
    }
    for (e, &x) in scratch.iter_mut().zip(z) {
        *e = exp(x - max);
    }
    max + log(sum(scratch))
}

/// The cross-entropy losses of the `b = losses.len()` columns of `n` entries in `v_d` (targets in
/// `y`) and, with `outputs`, their softmax in `out`; each loss to the bit as [`log_sum_exp_in`]
/// and [`cross_entropy`] give it. The columns are first copied into `out` entry-major (row `k`
/// holds entry `k` of every column), so that each reduction over a column's entries (the
/// largest, the sum of the exponentials, the log, the cross-entropy) runs entry by entry across
/// all the columns, in the order the per-column functions take, in loops that vectorize across
/// the samples.
#[inline(always)]
fn softmax_columns<T: Real>(
    v_d: &[T],
    y: &[T],
    losses: &mut [T],
    out: &mut [T],
    n: usize,
    outputs: bool,
) {
    let b = losses.len();
    for (j, z) in v_d.chunks_exact(n).enumerate() {
        for (k, &x) in z.iter().enumerate() {
            out[k * b + j] = x;
        }
    }
    // The shift m of each column, in `losses` meanwhile, as `largest`.
    losses.fill(T::neg_infinity());
    for row in out.chunks_exact(b) {
        for (m, &x) in losses.iter_mut().zip(row) {
            *m = m.max(x);
        }
    }
    for row in out.chunks_exact_mut(b) {
        for (e, &m) in row.iter_mut().zip(&*losses) {
            *e -= m;
        }
    }
    exp_in_place(out);
    // The sums of the exponentials in row 0, in order from 0 as `sum`, then the log-sum-exp.
    let (sums, rest) = out.split_at_mut(b);
    sums.iter_mut().for_each(|s| *s = T::zero() + *s);
    for row in rest.chunks_exact(b) {
        for (s, &e) in sums.iter_mut().zip(row) {
            *s += e;
        }
    }
    for (m, &s) in losses.iter_mut().zip(&*sums) {
        let lse = *m + log(s);
        *m = if m.is_finite() { lse } else { *m };
    }
    // The cross-entropy of each column in row 0, over the nonzero targets as `cross_entropy`.
    sums.fill(T::zero());
    for k in 0..n {
        for (j, (a, &lse)) in sums.iter_mut().zip(&*losses).enumerate() {
            let (z, t) = (v_d[j * n + k], y[j * n + k]);
            let term = *a + t * (lse - z);
            *a = if t != T::zero() { term } else { *a };
        }
    }
    // Row 0 and `losses` trade places: the losses where they belong, the log-sum-exps in row 0.
    for (l, a) in losses.iter_mut().zip(sums.iter_mut()) {
        std::mem::swap(l, a);
    }
    if outputs {
        // softmax(z) = exp(z - lse), column-major again; from the last column down, since column
        // j's entries overwrite the log-sum-exps of columns j n .. j n + n, none of them below j.
        for j in (0..b).rev() {
            let lse = out[j];
            for k in 0..n {
                out[j * n + k] = v_d[j * n + k] - lse;
            }
        }
        exp_in_place(out);
    }
}

/// The largest entry of `z` (the softmax's shift `m`), `-inf` for none.
#[inline(always)]
fn largest<T: Real>(z: &[T]) -> T {
    z.iter().fold(T::neg_infinity(), |m, &x| m.max(x))
}

/// The sum of `e`, in order.
#[inline(always)]
fn sum<T: Real>(e: &[T]) -> T {
    e.iter().fold(T::zero(), |a, &e| a + e)
}

/// `x = exp(x)`, entry by entry, in a loop that vectorizes.
#[inline(always)]
fn exp_in_place<T: Real>(x: &mut [T]) {
    x.iter_mut().for_each(|x| *x = exp(*x));
}

/// The squared loss `1/2 ||v - y||^2`, summed in order.
#[inline(always)]
fn squared<T: Real>(v: &[T], y: &[T]) -> T {
    v.iter()
        .zip(y)
        .map(|(&p, &t)| (p - t) * (p - t))
        .fold(T::zero(), |a, e| a + e)
        * T::from_f64(0.5)
}

/// Cross-entropy given the log-sum-exp: `sum_k y_k (lse - z_k)` over the nonzero `y_k`, in order.
#[inline(always)]
fn cross_entropy<T: Real>(z: &[T], y: &[T], lse: T) -> T {
    z.iter()
        .zip(y)
        .filter(|(_, &t)| t != T::zero())
        .fold(T::zero(), |a, (&z, &t)| a + t * (lse - z))
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

    /// The batch form of unusual columns (infinite and NaN logits, a column wider than the
    /// stack buffer of `log_sum_exp`, columns of no entries) against each column's own
    /// `value_and_output`, `output_to` and `value`, to the bit.
    #[test]
    fn unusual_columns_of_a_batch_are_their_own_to_the_bit() -> Result<()> {
        let wide: Vec<f64> = (0..40).map(|k| f64::from(k) / 7.0 - 2.0).collect();
        let mut onehot = vec![0.0; 40];
        onehot[3] = 1.0;
        let columns: Vec<(Vec<f64>, Vec<f64>)> = vec![
            (vec![f64::INFINITY, 1.0, 0.0], vec![0.0, 1.0, 0.0]),
            (vec![f64::NEG_INFINITY; 3], vec![1.0, 0.0, 0.0]),
            (vec![f64::NAN, 0.0, 2.0], vec![0.0, 0.0, 1.0]),
            (vec![1e308, -1e308, 0.0], vec![0.2, 0.3, 0.5]),
        ];
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for loss in Loss::ALL {
            let (v, y): (Vec<f64>, Vec<f64>) = (
                columns.iter().flat_map(|(v, _)| v.clone()).collect(),
                columns.iter().flat_map(|(_, y)| y.clone()).collect(),
            );
            for (v, y, b) in [(&v, &y, columns.len()), (&wide, &onehot, 1)] {
                let n = v.len() / b;
                let (mut losses, mut out) = (vec![0.0; b], vec![0.0; v.len()]);
                loss.values_and_outputs(v, y, &mut losses, &mut out, true)?;
                for j in 0..b {
                    let (vj, yj) = (&v[j * n..(j + 1) * n], &y[j * n..(j + 1) * n]);
                    let mut p = vec![0.0; n];
                    let l = loss.value_and_output(vj, yj, &mut p)?;
                    assert_eq!(l.to_bits(), losses[j].to_bits(), "{loss} column {j}");
                    assert_eq!(loss.value(vj, yj)?.to_bits(), l.to_bits(), "{loss} {j}");
                    assert_eq!(bits(&p), bits(&out[j * n..(j + 1) * n]), "{loss} {j}");
                    loss.output_to(vj, &mut p)?;
                    assert_eq!(bits(&p), bits(&out[j * n..(j + 1) * n]), "{loss} {j}");
                }
            }
            // Columns of no entries: a loss of 0 each, as `value` gives an empty column.
            let mut losses = [1.0; 3];
            loss.values_and_outputs::<f64>(&[], &[], &mut losses, &mut [], true)?;
            assert_eq!(losses, [0.0; 3]);
            assert_eq!(loss.value_and_output::<f64>(&[], &[], &mut [])?, 0.0);
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
