//! Statistics over the restarts of an experiment: how likely one restart is to succeed, how many
//! restarts a problem needs, and what the best of `k` restarts looks like as `k` grows.
//!
//! Every restart has a score ([`RunSummary::score`](crate::RunSummary::score): the validation
//! loss with a validation split, else the final training loss; infinite when it diverged). From
//! the scores of `R` restarts:
//!
//! - **Success.** A restart succeeds when it meets a [`Criterion`]. With `m` successes,
//!   `p = m / R` and its exact Clopper-Pearson interval ([`clopper_pearson`]).
//! - **Restarts needed.** The smallest `k` with `1 - (1 - p)^k >= c` ([`restarts_needed`]), at
//!   `p` and at the interval's lower end.
//! - **Best of `k`.** The expected best score of a uniformly random `k`-subset of the `R`
//!   restarts, and the probability that it holds a success, for `k = 1..R` ([`best_of_k`]).
//!
//! ```
//! use backprop_optim::stats::{statistics, Criterion, Outcome};
//! // 3 restarts at the global minimum, 5 in a local one, 1 diverged.
//! let scores = [2e-4, 0.125, 1.9e-4, 0.125, 0.124, 2.1e-4, 0.126, f64::INFINITY, 0.125];
//! let runs: Vec<Outcome> = scores.iter().map(|&score| Outcome { score, accuracy: None }).collect();
//! let s = statistics(&runs, Criterion::Auto, 0.95)?;
//! assert_eq!((s.success.count, s.success.restarts), (3, 9));
//! assert!(s.success.interval.0 < 1.0 / 3.0 && 1.0 / 3.0 < s.success.interval.1);
//! assert_eq!(s.restarts_needed.at_p, Some(8)); // 1 - (2/3)^8 >= 0.95 > 1 - (2/3)^7
//! assert!(s.best_of_k[0].expected.is_infinite()); // one restart alone may have diverged
//! assert_eq!(s.best_of_k[8].p_success, 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::invalid;
use crate::{Error, Result};

/// When a restart counts as a success.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Criterion {
    /// `within:EPS`: a score of at most `(1 + EPS)` times the best score.
    Within(f64),
    /// `loss:X`: a score of at most `X`.
    Loss(f64),
    /// `accuracy:X`: an accuracy (validation where there is a split, else training) of at least
    /// `X`, for classification.
    Accuracy(f64),
    /// `auto`: `loss:X` with `X` in the largest gap of the sorted log-scores when that gap is
    /// clear, else `within:0.1`; see [`Criterion::resolve`].
    Auto,
}

/// The smallest ratio across the largest gap of the sorted scores that [`Criterion::Auto`]
/// calls clear: one decade.
pub const AUTO_GAP: f64 = 10.0;

/// The criterion [`Criterion::Auto`] falls back to without a clear gap.
pub const AUTO_FALLBACK: Criterion = Criterion::Within(0.1);

impl Criterion {
    /// The criterion with `auto` replaced by numbers, given the restarts' scores.
    ///
    /// The `auto` rule: sort the finite scores, take the logarithm, and find the largest gap
    /// between neighbours. When the scores on either side of it differ by a factor of at least
    /// [`AUTO_GAP`] (one decade), the restarts below the gap succeed: `loss:X` with `X` the
    /// geometric mean of the two scores beside the gap, so that `X` printed with a few digits
    /// still separates them. Otherwise [`AUTO_FALLBACK`], `within:0.1`. Scores at or below 0
    /// count as a thousandth of the smallest positive score on the log scale (so that runs at
    /// exactly 0 and runs at 1e-20 are not split by a gap of hundreds of decades).
    ///
    /// Near zero loss a relative rule misleads (1.1 times 1.9e-4 leaves out a run at 2.2e-4 of
    /// the same minimum); restarts that found different minima differ by factors, not by
    /// percents, which the largest gap in the log-scores finds.
    pub fn resolve(self, scores: &[f64]) -> Criterion {
        if self != Criterion::Auto {
            return self;
        }
        let smallest = scores
            .iter()
            .filter(|s| s.is_finite() && **s > 0.0)
            .fold(f64::INFINITY, |a, &b| a.min(b));
        let floor = if smallest.is_finite() {
            smallest * 1e-3
        } else {
            1.0
        };
        let mut logs: Vec<f64> = scores
            .iter()
            .filter(|s| s.is_finite())
            .map(|&s| s.max(floor).ln())
            .collect();
        logs.sort_by(f64::total_cmp);
        let gap = logs
            .windows(2)
            .map(|w| (w[1] - w[0], w[0], w[1]))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match gap {
            Some((g, lo, hi)) if g >= AUTO_GAP.ln() => Criterion::Loss(((lo + hi) / 2.0).exp()),
            _ => AUTO_FALLBACK,
        }
    }

    /// Whether a restart of `score` and `accuracy` succeeds, for a resolved criterion whose
    /// runs' best score is `best`. A diverged run (a score that is not finite) never does, and
    /// `auto` (unresolved) counts nothing.
    pub fn succeeds(self, score: f64, accuracy: Option<f64>, best: f64) -> bool {
        if !score.is_finite() {
            return false;
        }
        match self {
            Criterion::Within(eps) => score <= (1.0 + eps) * best,
            Criterion::Loss(x) => score <= x,
            Criterion::Accuracy(x) => accuracy.is_some_and(|a| a >= x),
            Criterion::Auto => false,
        }
    }

    /// The largest score that succeeds, for a resolved loss criterion (`within` or `loss`)
    /// with best score `best`; `None` for accuracy and `auto`.
    pub fn threshold(self, best: f64) -> Option<f64> {
        match self {
            Criterion::Within(eps) => Some((1.0 + eps) * best),
            Criterion::Loss(x) => Some(x),
            Criterion::Accuracy(_) | Criterion::Auto => None,
        }
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Criterion::Within(eps) => write!(f, "within:{eps}"),
            Criterion::Loss(x) => write!(f, "loss:{}", short(*x)),
            Criterion::Accuracy(x) => write!(f, "accuracy:{x}"),
            Criterion::Auto => f.write_str("auto"),
        }
    }
}

/// `x` with 4 significant digits, in the shortest form that reads back to that rounding.
fn short(x: f64) -> String {
    let rounded: f64 = format!("{x:.3e}").parse().unwrap_or(x);
    format!("{rounded}")
}

impl FromStr for Criterion {
    type Err = Error;

    /// Parses `auto`, `within:EPS` (`EPS >= 0`), `loss:X` and `accuracy:X` (`0 <= X <= 1`).
    fn from_str(s: &str) -> Result<Criterion> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Criterion::Auto);
        }
        let bad = || {
            Error::Parse(format!(
                "{s:?}: expected auto, within:EPS, loss:X or accuracy:X"
            ))
        };
        let (name, value) = s.split_once(':').ok_or_else(bad)?;
        let x: f64 = value
            .trim()
            .parse()
            .map_err(|_| Error::Parse(format!("{s:?}: {value:?} is not a number")))?;
        let c = match name.trim() {
            "within" => Criterion::Within(x),
            "loss" => Criterion::Loss(x),
            "accuracy" => Criterion::Accuracy(x),
            _ => return Err(bad()),
        };
        c.validate()
            .map_err(|e| Error::Parse(format!("{s:?}: {e}")))?;
        Ok(c)
    }
}

impl Criterion {
    /// Checks the number.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`]: a negative or non-finite `EPS`, a non-finite `X`, an accuracy
    /// outside `[0, 1]`.
    pub fn validate(self) -> Result<()> {
        match self {
            Criterion::Within(e) if !(e >= 0.0 && e.is_finite()) => {
                Err(invalid("success", "within:EPS needs a finite EPS >= 0"))
            }
            Criterion::Loss(x) if !x.is_finite() => {
                Err(invalid("success", "loss:X needs a finite X"))
            }
            Criterion::Accuracy(x) if !(0.0..=1.0).contains(&x) => {
                Err(invalid("success", "accuracy:X needs X in [0, 1]"))
            }
            _ => Ok(()),
        }
    }
}

/// What one restart contributes: its score and, for classification, its accuracy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// Validation loss with a split, else the final training loss; infinite when it diverged.
    pub score: f64,
    /// Validation accuracy with a split, else training accuracy (classification only).
    pub accuracy: Option<f64>,
}

/// The successes among the restarts and the probability of one.
#[derive(Clone, Debug, PartialEq)]
pub struct Success {
    /// The criterion, resolved (never [`Criterion::Auto`]).
    pub criterion: Criterion,
    /// Whether it was resolved from [`Criterion::Auto`].
    pub auto: bool,
    /// `m`, the restarts that succeeded.
    pub count: usize,
    /// `R`, the restarts.
    pub restarts: usize,
    /// `p = m / R`.
    pub p: f64,
    /// The exact Clopper-Pearson interval for `p` at `confidence`.
    pub interval: (f64, f64),
    /// The level of the interval and of the restarts needed.
    pub confidence: f64,
}

/// How many restarts give a success with probability at least the confidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartsNeeded {
    /// At `p`: 1 when `m = R`, `None` when `m = 0` (no number of restarts is enough).
    pub at_p: Option<u64>,
    /// At the interval's lower end, the conservative figure: `None` when `m = 0`.
    pub at_lower: Option<u64>,
}

/// The best of `k` random restarts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BestOfK {
    /// `k`, from 1 to `R`.
    pub k: usize,
    /// `E_k`, the expected best score; infinite when `k` restarts can all have diverged.
    pub expected: f64,
    /// The probability that `k` restarts hold a success.
    pub p_success: f64,
}

/// Everything [`statistics`] computes.
#[derive(Clone, Debug, PartialEq)]
pub struct Statistics {
    /// The successes.
    pub success: Success,
    /// The restarts needed.
    pub restarts_needed: RestartsNeeded,
    /// `k = 1..R`.
    pub best_of_k: Vec<BestOfK>,
}

/// The statistics of `runs` under `criterion` at `confidence`.
///
/// # Errors
/// No runs; a confidence outside `(0, 1)`; an invalid criterion; `accuracy:X` where some run
/// that did not diverge has no accuracy (regression).
pub fn statistics(runs: &[Outcome], criterion: Criterion, confidence: f64) -> Result<Statistics> {
    if runs.is_empty() {
        return Err(Error::Data {
            message: "no restarts to compute statistics of".to_owned(),
        });
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(invalid("confidence", "must be in (0, 1)"));
    }
    criterion.validate()?;
    if matches!(criterion, Criterion::Accuracy(_))
        && runs
            .iter()
            .any(|r| r.score.is_finite() && r.accuracy.is_none())
    {
        return Err(invalid(
            "success",
            "accuracy:X needs accuracies, which only classification has",
        ));
    }
    let scores: Vec<f64> = runs.iter().map(|r| finite_or_inf(r.score)).collect();
    let resolved = criterion.resolve(&scores);
    let best = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let m = runs
        .iter()
        .filter(|r| resolved.succeeds(r.score, r.accuracy, best))
        .count();
    let r = runs.len();
    let interval = clopper_pearson(m, r, confidence);
    let p = m as f64 / r as f64;
    Ok(Statistics {
        success: Success {
            criterion: resolved,
            auto: criterion == Criterion::Auto,
            count: m,
            restarts: r,
            p,
            interval,
            confidence,
        },
        restarts_needed: RestartsNeeded {
            at_p: restarts_needed(p, confidence),
            at_lower: restarts_needed(interval.0, confidence),
        },
        best_of_k: best_of_k(&scores, m),
    })
}

/// A diverged run's score: NaN counts as infinite.
fn finite_or_inf(x: f64) -> f64 {
    if x.is_nan() {
        f64::INFINITY
    } else {
        x
    }
}

/// The exact (Clopper-Pearson) two-sided interval for a binomial proportion: `m` successes in
/// `n` trials, at level `confidence` (`alpha = 1 - confidence`):
///
/// `lo = B^{-1}(alpha/2; m, n - m + 1)` (0 when `m = 0`) and
/// `hi = B^{-1}(1 - alpha/2; m + 1, n - m)` (1 when `m = n`),
///
/// with `B^{-1}(q; a, b)` the quantile of the Beta(a, b) distribution (Clopper and Pearson,
/// Biometrika 26, 1934; the Beta form as in Brown, Cai and DasGupta, Statistical Science 16,
/// 2001, section 2.1). `lo` is the `p` at which `P(X >= m) = alpha/2` for `X ~ Bin(n, p)`, `hi`
/// the one at which `P(X <= m) = alpha/2`. At the edges, `m = 0` gives
/// `(0, 1 - (alpha/2)^(1/n))` and `m = n` gives `((alpha/2)^(1/n), 1)`.
///
/// ```
/// use backprop_optim::stats::clopper_pearson;
/// let (lo, hi) = clopper_pearson(5, 10, 0.95);
/// assert!((lo - 0.1871).abs() < 1e-4 && (hi - 0.8129).abs() < 1e-4);
/// ```
///
/// # Panics
/// When `m > n` or `n = 0`.
pub fn clopper_pearson(m: usize, n: usize, confidence: f64) -> (f64, f64) {
    assert!(n > 0 && m <= n, "clopper_pearson: need 0 <= m <= n, n > 0");
    let alpha = 1.0 - confidence;
    let (mf, nf) = (m as f64, n as f64);
    let lo = if m == 0 {
        0.0
    } else if m == n {
        (alpha / 2.0).powf(1.0 / nf)
    } else {
        inverse_beta(alpha / 2.0, mf, nf - mf + 1.0)
    };
    let hi = if m == n {
        1.0
    } else if m == 0 {
        1.0 - (alpha / 2.0).powf(1.0 / nf)
    } else {
        inverse_beta(1.0 - alpha / 2.0, mf + 1.0, nf - mf)
    };
    (lo, hi)
}

/// The smallest `k` with `1 - (1 - p)^k >= confidence`: how many independent restarts, each a
/// success with probability `p`, hold at least one success with probability `confidence`. That
/// is `ceil(ln(1 - confidence) / ln(1 - p))`, checked against the inequality itself so that
/// rounding never makes it one too few or too many. 1 when `p = 1`; `None` when `p = 0` (no
/// number suffices).
///
/// ```
/// use backprop_optim::stats::restarts_needed;
/// assert_eq!(restarts_needed(0.5, 0.95), Some(5)); // 1 - 0.5^5 = 0.969, 1 - 0.5^4 = 0.9375
/// assert_eq!(restarts_needed(1.0, 0.95), Some(1));
/// assert_eq!(restarts_needed(0.0, 0.95), None);
/// ```
pub fn restarts_needed(p: f64, confidence: f64) -> Option<u64> {
    if p.is_nan() || p <= 0.0 {
        return None;
    }
    if p >= 1.0 {
        return Some(1);
    }
    // ln(1 - p) without the loss of digits of a small p.
    let step = (-p).ln_1p();
    let reached = |k: u64| -(k as f64 * step).exp_m1() >= confidence;
    let guess = ((-confidence).ln_1p() / step).ceil();
    if !guess.is_finite() || guess >= 1e18 {
        return None;
    }
    let mut k = (guess as u64).max(1);
    while !reached(k) {
        k += 1;
    }
    while k > 1 && reached(k - 1) {
        k -= 1;
    }
    Some(k)
}

/// The best of `k` restarts chosen uniformly at random without replacement among the `R`
/// restarts of `scores`, for `k = 1..R`, with `m` successes among them.
///
/// With the sorted scores `L_(1) <= ... <= L_(R)`, the best of a random `k`-subset is `L_(i)`
/// exactly when the subset holds the `i`-th smallest and `k - 1` of the `R - i` larger ones, so
/// (the distribution of the smallest order statistic of a sample drawn without replacement;
/// e.g. Arnold, Balakrishnan and Nagaraja, *A First Course in Order Statistics*, 1992, on
/// sampling from a finite population):
///
/// - `E_k = sum_i L_(i) C(R - i, k - 1) / C(R, k)`;
/// - `P(success) = 1 - C(R - m, k) / C(R, k)`, one minus the chance that all `k` come from the
///   `R - m` failures.
///
/// No binomial is formed: the weight `w_i = C(R - i, k - 1) / C(R, k)` starts at `w_1 = k / R`
/// and follows `w_{i+1} = w_i (R - i - k + 1) / (R - i)`, and the sum stops once the weight
/// left (at most `(R - i) w_i`, the weights falling) times the largest finite score cannot
/// change it in the 17th digit; `C(R - m, k) / C(R, k)` is the product of `(R - m - j) / (R - j)`
/// for `j < k`. So it neither overflows nor loses digits for `R` in the hundreds of thousands,
/// and costs `O(R log R)`-ish rather than `O(R^2)`. With `d` diverged (infinite) scores,
/// `E_k` is infinite for `k <= d` (the subset may hold diverged runs only) and finite beyond,
/// where the diverged runs' weights are exactly 0. NaN counts as infinite.
///
/// ```
/// use backprop_optim::stats::best_of_k;
/// let curve = best_of_k(&[3.0, 1.0, 2.0], 1);
/// // k = 1: the mean; k = 2: min of {1,2},{1,3},{2,3} = (1 + 1 + 2) / 3; k = 3: the minimum.
/// assert_eq!(curve[0].expected, 2.0);
/// assert!((curve[1].expected - 4.0 / 3.0).abs() < 1e-15);
/// assert_eq!(curve[2].expected, 1.0);
/// assert!((curve[0].p_success - 1.0 / 3.0).abs() < 1e-15);
/// assert_eq!(curve[2].p_success, 1.0);
/// ```
///
/// # Panics
/// When `m` exceeds the number of scores.
pub fn best_of_k(scores: &[f64], m: usize) -> Vec<BestOfK> {
    let r = scores.len();
    assert!(m <= r, "best_of_k: more successes than restarts");
    let mut sorted: Vec<f64> = scores.iter().map(|&s| finite_or_inf(s)).collect();
    sorted.sort_by(f64::total_cmp);
    let diverged = sorted
        .iter()
        .filter(|s| s.is_infinite() && **s > 0.0)
        .count();
    let largest = sorted[..r - diverged]
        .iter()
        .fold(0.0_f64, |a, &s| a.max(s.abs()));
    let rf = r as f64;
    let mut curve = Vec::with_capacity(r);
    // q = C(R - m, k) / C(R, k), updated as k grows.
    let mut q = 1.0;
    for k in 1..=r {
        let kf = k as f64;
        q *= ((r - m) as f64 - (kf - 1.0)).max(0.0) / (rf - (kf - 1.0));
        let expected = if k <= diverged {
            f64::INFINITY
        } else {
            let mut sum = 0.0;
            let mut w = kf / rf;
            for i in 1..=(r - k + 1) {
                sum += sorted[i - 1] * w;
                let rest = (r - i) as f64 * w;
                if rest * largest <= 1e-17 * sum.abs() || rest == 0.0 {
                    break;
                }
                let i = i as f64;
                w *= (rf - i - kf + 1.0) / (rf - i);
            }
            sum
        };
        curve.push(BestOfK {
            k,
            expected,
            p_success: 1.0 - q,
        });
    }
    curve
}

/// `ln Gamma(x)` for `x > 0`: Lanczos' approximation with `g = 7` and 9 coefficients (the
/// coefficients of Numerical Recipes, 3rd ed., section 6.1, and of Godfrey's table), good to
/// about 15 digits; the reflection is not needed since `x > 0` here.
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (k, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + k as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized incomplete beta function `I_x(a, b)`, the CDF of Beta(a, b) at `x`: the
/// continued fraction of Numerical Recipes (3rd ed., section 6.4, `betacf`, by the modified
/// Lentz method), on `x` or on `1 - x` by `I_x(a, b) = 1 - I_{1-x}(b, a)`, whichever converges
/// fast (`x < (a + 1) / (a + b + 2)`).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (-x).ln_1p();
    if x < (a + 1.0) / (a + b + 2.0) {
        (ln_front.exp() * beta_fraction(a, b, x) / a).clamp(0.0, 1.0)
    } else {
        (1.0 - ln_front.exp() * beta_fraction(b, a, 1.0 - x) / b).clamp(0.0, 1.0)
    }
}

/// The continued fraction of `I_x(a, b)` (Numerical Recipes' `betacf`).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    // It converges in O(sqrt(max(a, b))) terms.
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// The `q`-quantile of Beta(a, b): the `x` with `I_x(a, b) = q`, by bisection on `[0, 1]` (the
/// CDF is increasing), to the resolution of `f64`.
fn inverse_beta(q: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if incomplete_beta(a, b, mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `C(n, k)` as an exact integer (small `n`).
    fn choose(n: usize, k: usize) -> u128 {
        if k > n {
            return 0;
        }
        (0..k).fold(1u128, |c, j| c * (n - j) as u128 / (j + 1) as u128)
    }

    /// Every `k`-subset of `0..n`, by bit masks.
    fn subsets(n: usize, k: usize) -> impl Iterator<Item = Vec<usize>> {
        (0u32..1 << n)
            .filter(move |mask| mask.count_ones() as usize == k)
            .map(move |mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
    }

    /// `P(X >= m)` for `X ~ Bin(n, p)`, by summing the probabilities.
    fn binomial_upper_tail(m: usize, n: usize, p: f64) -> f64 {
        (m..=n)
            .map(|j| choose(n, j) as f64 * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32))
            .sum()
    }

    proptest! {
        #[test]
        fn best_of_k_matches_the_enumeration_of_every_subset(
            scores in prop::collection::vec(
                prop_oneof![4 => 1e-6..10.0_f64, 1 => Just(f64::INFINITY), 1 => Just(0.5)],
                1..=10,
            ),
            eps in 0.0..0.5_f64,
        ) {
            let r = scores.len();
            let best = scores.iter().copied().fold(f64::INFINITY, f64::min);
            let crit = Criterion::Within(eps);
            let ok: Vec<bool> = scores.iter().map(|&s| crit.succeeds(s, None, best)).collect();
            let m = ok.iter().filter(|&&o| o).count();
            let curve = best_of_k(&scores, m);
            prop_assert_eq!(curve.len(), r);
            for k in 1..=r {
                let (mut total, mut hits, mut count) = (0.0, 0usize, 0usize);
                for s in subsets(r, k) {
                    total += s.iter().map(|&i| scores[i]).fold(f64::INFINITY, f64::min);
                    hits += usize::from(s.iter().any(|&i| ok[i]));
                    count += 1;
                }
                prop_assert_eq!(count as u128, choose(r, k));
                let e = total / count as f64;
                let got = curve[k - 1];
                prop_assert_eq!(got.k, k);
                if e.is_infinite() {
                    prop_assert!(got.expected.is_infinite(), "k {}: {} against inf", k, got.expected);
                } else {
                    prop_assert!((got.expected - e).abs() <= 1e-12 * e.abs().max(1e-300),
                        "k {}: {} against {}", k, got.expected, e);
                }
                let p = hits as f64 / count as f64;
                prop_assert!((got.p_success - p).abs() < 1e-12, "k {}: {} against {}", k, got.p_success, p);
            }
        }

        #[test]
        fn the_interval_ends_have_binomial_tails_of_alpha_over_two(
            n in 1usize..60, m_frac in 0.0..=1.0_f64, confidence in 0.5..0.999_f64,
        ) {
            let m = ((n as f64) * m_frac).round() as usize;
            let (lo, hi) = clopper_pearson(m, n, confidence);
            let alpha = 1.0 - confidence;
            prop_assert!(0.0 <= lo && lo <= m as f64 / n as f64 && m as f64 / n as f64 <= hi && hi <= 1.0);
            if m > 0 {
                prop_assert!((binomial_upper_tail(m, n, lo) - alpha / 2.0).abs() < 1e-9);
            }
            if m < n {
                // P(X <= m) = 1 - P(X >= m + 1).
                prop_assert!((1.0 - binomial_upper_tail(m + 1, n, hi) - alpha / 2.0).abs() < 1e-9);
            }
        }

        #[test]
        fn restarts_needed_is_the_smallest_k_that_reaches_the_level(
            p in 1e-4..1.0_f64, confidence in 0.5..0.9999_f64,
        ) {
            let k = restarts_needed(p, confidence).expect("p > 0");
            let reach = |k: u64| 1.0 - (1.0 - p).powf(k as f64) >= confidence - 1e-12;
            prop_assert!(reach(k));
            prop_assert!(k == 1 || 1.0 - (1.0 - p).powf((k - 1) as f64) < confidence + 1e-12);
        }
    }

    #[test]
    fn the_interval_matches_published_values_and_its_edges() {
        // The exact intervals of Clopper and Pearson's charts as tabulated, e.g., by Brown, Cai
        // and DasGupta (2001) and returned by R's binom.test: 5 of 10 gives (0.1871, 0.8129),
        // 1 of 10 gives (0.00253, 0.4450), 0 of 10 gives (0, 0.3085).
        let (lo, hi) = clopper_pearson(5, 10, 0.95);
        assert!(
            (lo - 0.187_086).abs() < 1e-5 && (hi - 0.812_914).abs() < 1e-5,
            "{lo} {hi}"
        );
        let (lo, hi) = clopper_pearson(1, 10, 0.95);
        assert!(
            (lo - 0.002_529).abs() < 1e-5 && (hi - 0.445_016).abs() < 1e-5,
            "{lo} {hi}"
        );
        let (lo, hi) = clopper_pearson(0, 10, 0.95);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.308_497).abs() < 1e-5, "{hi}");
        // m = R: the mirror image, ((alpha/2)^(1/n), 1).
        let (lo, hi) = clopper_pearson(10, 10, 0.95);
        assert!((lo - 0.025_f64.powf(0.1)).abs() < 1e-15 && hi == 1.0);
        assert!((lo - 0.691_503).abs() < 1e-5);
        // The Beta inversion agrees with the closed form of the edge (m = 1 of n = 1 ... n).
        for n in [2usize, 7, 50, 1000] {
            let upper = inverse_beta(1.0 - 0.025, 1.0, n as f64);
            assert!(
                (upper - (1.0 - 0.025_f64.powf(1.0 / n as f64))).abs() < 1e-10,
                "{n}"
            );
        }
        // Large R stays accurate: 50,000 of 100,000 lies symmetric about 1/2.
        let (lo, hi) = clopper_pearson(50_000, 100_000, 0.95);
        assert!((lo + hi - 1.0).abs() < 1e-9 && (hi - lo) > 0.006 && (hi - lo) < 0.0063);
    }

    #[test]
    fn restarts_needed_at_its_edges() {
        assert_eq!(restarts_needed(1.0, 0.95), Some(1));
        assert_eq!(restarts_needed(0.0, 0.95), None);
        assert_eq!(restarts_needed(0.95, 0.95), Some(1));
        assert_eq!(restarts_needed(0.949_999, 0.95), Some(2));
        // p = 23/32: 1 - (9/32)^2 = 0.921, 1 - (9/32)^3 = 0.978.
        assert_eq!(restarts_needed(23.0 / 32.0, 0.95), Some(3));
        // A tiny p: about ln(20) / p.
        let k = restarts_needed(1e-9, 0.95).expect("p > 0");
        assert!((k as f64 - 20.0_f64.ln() / 1e-9).abs() < 2.0, "{k}");
        // m = R: 1 at p, and a finite figure at the lower end.
        let s = statistics(
            &[Outcome {
                score: 0.1,
                accuracy: None,
            }; 8],
            Criterion::Within(0.1),
            0.95,
        )
        .expect("valid");
        assert_eq!(s.success.count, 8);
        assert_eq!(s.restarts_needed.at_p, Some(1));
        assert_eq!(
            s.restarts_needed.at_lower,
            restarts_needed(0.025_f64.powf(1.0 / 8.0), 0.95)
        );
        assert!(s.restarts_needed.at_lower.is_some_and(|k| k >= 2));
        // m = 0: none at either.
        let none = statistics(
            &[Outcome {
                score: 0.1,
                accuracy: Some(0.5),
            }; 4],
            Criterion::Accuracy(0.9),
            0.95,
        )
        .expect("valid");
        assert_eq!(none.success.count, 0);
        assert_eq!(
            none.restarts_needed,
            RestartsNeeded {
                at_p: None,
                at_lower: None
            }
        );
    }

    #[test]
    fn auto_splits_the_xor_pattern_at_its_gap_and_falls_back_without_one() {
        // The README's XOR experiment: 23 restarts near 2e-4, 9 near 0.125.
        let mut scores: Vec<f64> = (0..23).map(|i| 1.9e-4 + 1e-6 * f64::from(i)).collect();
        scores.extend((0..9).map(|i| 0.1249 + 1e-5 * f64::from(i)));
        let c = Criterion::Auto.resolve(&scores);
        let Criterion::Loss(x) = c else { panic!("{c}") };
        assert!(x > 2.12e-4 && x < 0.1249, "{x}");
        let runs: Vec<Outcome> = scores
            .iter()
            .map(|&score| Outcome {
                score,
                accuracy: None,
            })
            .collect();
        let s = statistics(&runs, Criterion::Auto, 0.95).expect("valid");
        assert_eq!(s.success.count, 23);
        assert!(s.success.auto);
        // The criterion as printed reads back and counts the same.
        let back: Criterion = s.success.criterion.to_string().parse().expect("parses");
        let again = statistics(&runs, back, 0.95).expect("valid");
        assert_eq!(again.success.count, 23);
        // "Within 10%" counts only the runs near the very best.
        let within = statistics(&runs, Criterion::Within(0.1), 0.95).expect("valid");
        assert!(within.success.count < 23);
        // No gap: 64 scores spread evenly between 0.060 and 0.098.
        let even: Vec<f64> = (0..64)
            .map(|i| 0.06 + 0.038 * f64::from(i) / 63.0)
            .collect();
        assert_eq!(Criterion::Auto.resolve(&even), AUTO_FALLBACK);
        // A gap of less than a decade is no gap.
        assert_eq!(
            Criterion::Auto.resolve(&[0.1, 0.11, 0.5, 0.52]),
            AUTO_FALLBACK
        );
        // Diverged runs are neither side of the gap, nor successes.
        let mut with_inf = scores.clone();
        with_inf.push(f64::INFINITY);
        assert_eq!(Criterion::Auto.resolve(&with_inf), c);
    }

    #[test]
    fn criteria_parse_print_and_refuse_bad_numbers() {
        for s in ["auto", "within:0.1", "loss:0.002", "accuracy:0.9"] {
            let c: Criterion = s.parse().expect(s);
            assert_eq!(c.to_string(), s);
        }
        for s in [
            "within:-1",
            "loss:inf",
            "accuracy:1.5",
            "best:3",
            "loss:x",
            "within",
        ] {
            assert!(s.parse::<Criterion>().is_err(), "{s}");
        }
        let regression = [Outcome {
            score: 0.1,
            accuracy: None,
        }];
        assert!(statistics(&regression, Criterion::Accuracy(0.9), 0.95).is_err());
        assert!(statistics(&regression, Criterion::Auto, 1.0).is_err());
        assert!(statistics(&[], Criterion::Auto, 0.95).is_err());
    }

    #[test]
    fn best_of_k_scales_to_a_hundred_thousand_restarts() {
        // Scores 1..=R: the best of k has the closed form E_k = (R + 1) / (k + 1).
        let r = 100_000;
        let scores: Vec<f64> = (1..=r).map(|i| i as f64).collect();
        let curve = best_of_k(&scores, 10);
        for k in [1usize, 2, 10, 1000, 99_999, 100_000] {
            let want = (r + 1) as f64 / (k + 1) as f64;
            let got = curve[k - 1].expected;
            assert!(
                (got - want).abs() <= 1e-9 * want,
                "k {k}: {got} against {want}"
            );
        }
        // P: 1 - C(R - m, k) / C(R, k); for k = 1 that is m / R.
        assert!((curve[0].p_success - 1e-4).abs() < 1e-15);
        assert_eq!(curve[r - 10].p_success, 1.0);
    }
}
