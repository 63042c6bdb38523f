//! Distinct minima modulo the network's symmetries, and the health of hidden units.
//!
//! Hidden units of a layer can be permuted, and for an odd activation (tanh, identity) a unit's
//! sign flipped together with its incoming weights, bias and outgoing weights, without changing
//! the function the network computes. The sigmoid has the same symmetry up to a constant,
//! `σ(-s) = 1 - σ(s)`: a sigmoid unit flipped with its incoming weights, bias and outgoing
//! weights, its old outgoing weights added to the next layer's bias, computes the same function
//! too (see [`flip_offset`]). Two restarts that look different as weight vectors may so
//! be one solution. [`align`] undoes these symmetries against a reference network, layer by
//! layer: the units of hidden layer `l` are matched to the reference's by an optimal assignment
//! ([`assignment`], the Hungarian algorithm) that maximizes the summed correlation of their
//! activations `v_l` over the data (the activation matching of Li et al. 2015, "Convergent
//! Learning", and Ainsworth et al. 2022, "Git Re-Basin"); for flippable activations the absolute
//! correlation, with a flip where it is negative. The aligned network computes the same function,
//! up to the order of summation.
//!
//! After alignment, [`basins`] measures each network against the best: the relative parameter
//! distance, the functional distance ([`Functional`]), and the loss barrier along the straight
//! segment between the two ([`Barrier`]). It groups the networks into distinct minima by the
//! rule documented at [`basins`]. [`unit_health`] counts dead, saturated and duplicate units
//! ([`LayerHealth`]).
//!
//! ```
//! use backprop_network::{Activation, Network};
//! use backprop_optim::basins::{align, relative_distance};
//! use backprop_optim::Dataset;
//! let mut net = Network::builder(2)
//!     .layer(2, Activation::Tanh)
//!     .layer(1, Activation::Identity)
//!     .build::<f64>()?;
//! for (k, p) in net.params_mut().flatten().enumerate() {
//!     *p = [0.3, -0.7, 1.1, 0.4, 0.2, -0.5, 0.9, -1.3, 0.1][k];
//! }
//! // The same function with its two hidden units swapped.
//! let mut swapped = net.clone();
//! swapped.layer_mut(0).weights_mut().swap_columns(0, 1);
//! swapped.layer_mut(0).bias_mut().swap(0, 1);
//! swapped.layer_mut(1).weights_mut().swap_rows(0, 1);
//! assert!(relative_distance(&swapped, &net) > 0.5);
//! let x = [vec![0.0, 1.0], vec![1.0, -1.0], vec![0.5, 0.2]];
//! let data = Dataset::from_rows(&x, &vec![vec![0.0]; 3])?;
//! let aligned = align(&swapped, &net, &data)?;
//! assert_eq!(aligned.permutations, vec![vec![1, 0]]);
//! assert_eq!(relative_distance(&aligned.network, &net), 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use backprop_network::{Activation, Network};

use crate::error::invalid;
use crate::{mean_loss, Dataset, Result};

/// The settings of [`basins`] and [`unit_health`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BasinsConfig {
    /// Two aligned networks are in one minimum when the loss barrier between them is at most
    /// this (in units of the mean training loss).
    pub tolerance: f64,
    /// Points along the straight segment between two networks, ends included (at least 3).
    pub points: usize,
    /// A sigmoid or tanh unit is saturated on a row when `|s| > saturation` ...
    pub saturation: f64,
    /// ... and saturated when that holds on more than this fraction of the rows.
    pub saturated_fraction: f64,
    /// Two units of a layer are duplicates when their incoming weights and biases differ by at
    /// most `duplicate_tolerance * (1 + the largest of them in absolute value)`.
    pub duplicate_tolerance: f64,
}

impl Default for BasinsConfig {
    fn default() -> Self {
        BasinsConfig {
            tolerance: 0.01,
            points: 21,
            saturation: 4.0,
            saturated_fraction: 0.5,
            duplicate_tolerance: 1e-6,
        }
    }
}

impl BasinsConfig {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a negative or non-finite
    /// tolerance or threshold, fewer than 3 points, a fraction outside `[0, 1)`.
    pub fn validate(&self) -> Result<()> {
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(invalid("tolerance", "must be finite and at least 0"));
        }
        if self.points < 3 {
            return Err(invalid("points", "at least 3 (the ends and one between)"));
        }
        if !(self.saturation.is_finite() && self.saturation > 0.0) {
            return Err(invalid("saturation", "must be finite and above 0"));
        }
        if !(0.0..1.0).contains(&self.saturated_fraction) {
            return Err(invalid("saturated_fraction", "must be in [0, 1)"));
        }
        if !(self.duplicate_tolerance.is_finite() && self.duplicate_tolerance >= 0.0) {
            return Err(invalid(
                "duplicate_tolerance",
                "must be finite and at least 0",
            ));
        }
        Ok(())
    }
}

/// An optimal assignment: `perm[i]` is the column given to row `i`, maximizing
/// `sum_i score[i][perm[i]]` over permutations (the Hungarian algorithm with potentials,
/// `O(n^3)`).
///
/// # Panics
/// If `score` is not square.
///
/// # Example
/// ```
/// use backprop_optim::basins::assignment;
/// let score = vec![vec![1.0, 5.0], vec![4.0, 1.0]];
/// assert_eq!(assignment(&score), vec![1, 0]);
/// ```
pub fn assignment(score: &[Vec<f64>]) -> Vec<usize> {
    let n = score.len();
    assert!(score.iter().all(|r| r.len() == n), "assignment: not square");
    // Minimizes cost = -score; rows and columns are 1-based, 0 is a sentinel.
    let cost = |i: usize, j: usize| -score[i - 1][j - 1];
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost(i0, j) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut perm = vec![0; n];
    for j in 1..=n {
        perm[p[j] - 1] = j - 1;
    }
    perm
}

/// The constant `c` with `σ(-s) = c - σ(s)`, for the activations whose units may be
/// sign-flipped: 0 for the odd ones (tanh, identity), 1 for the sigmoid; `None` for the others
/// (ReLU, step). A unit flipped with its incoming weights and bias has `v' = c - v`; negating its
/// outgoing weights `W_l[j, :]` and adding `c W_l[j, :]` to the next bias `b_l` keeps `s_{l+1}`.
pub fn flip_offset(activation: Activation) -> Option<f64> {
    match activation {
        Activation::Tanh | Activation::Identity => Some(0.0),
        Activation::Sigmoid => Some(1.0),
        _ => None,
    }
}

/// The values `s_l` and `v_l` of every hidden layer `l = 1..d-1` over the data: `[l-1][j][k]`
/// is unit `j` on row `k`.
type Values = Vec<Vec<Vec<f64>>>;

/// `s_l` and `v_l` of every hidden layer over every row of `data`.
fn hidden_values(net: &Network<f64>, data: &Dataset<f64>) -> Result<(Values, Values)> {
    let d = net.depth();
    let widths = net.widths();
    let mut s: Values = (1..d)
        .map(|l| vec![Vec::with_capacity(data.len()); widths[l]])
        .collect();
    let mut v = s.clone();
    let mut ws = net.workspace();
    for k in 0..data.len() {
        net.forward(&mut ws, data.x(k))?;
        for l in 1..d {
            for (j, (&sj, &vj)) in ws.s(l).iter().zip(ws.v(l)).enumerate() {
                s[l - 1][j].push(sj);
                v[l - 1][j].push(vj);
            }
        }
    }
    Ok((s, v))
}

/// The centered, unit-norm copy of a unit's values (all zero for a constant unit).
fn standardized(x: &[f64]) -> Vec<f64> {
    let n = x.len().max(1) as f64;
    let mean = x.iter().sum::<f64>() / n;
    let centered: Vec<f64> = x.iter().map(|a| a - mean).collect();
    let norm = centered.iter().map(|a| a * a).sum::<f64>().sqrt();
    if norm <= 1e-12 * (1.0 + mean.abs()) * n.sqrt() {
        vec![0.0; x.len()]
    } else {
        centered.iter().map(|a| a / norm).collect()
    }
}

/// A vector scaled to unit norm (all zero for a zero vector).
fn standardized_raw(x: impl Iterator<Item = f64>) -> Vec<f64> {
    let x: Vec<f64> = x.collect();
    let norm = x.iter().map(|a| a * a).sum::<f64>().sqrt();
    if norm == 0.0 {
        x
    } else {
        x.iter().map(|a| a / norm).collect()
    }
}

/// A network aligned to a reference, and the symmetry that aligned it.
#[derive(Clone, Debug, PartialEq)]
pub struct Alignment {
    /// The aligned network: the same function as the input, its hidden units reordered (and
    /// flipped) to match the reference's.
    pub network: Network<f64>,
    /// Per hidden layer `l = 1..d-1`: aligned unit `j` is the input's unit `permutation[j]`.
    pub permutations: Vec<Vec<usize>>,
    /// Per hidden layer: whether aligned unit `j` is the input's unit negated.
    pub flips: Vec<Vec<bool>>,
}

/// Aligns `net` to `reference` modulo hidden-unit permutations and, for tanh, identity and
/// sigmoid units, sign flips ([`flip_offset`]), by the correlation of the units' activations `v_l` over `data` (see the module docs).
///
/// # Errors
/// [`Error::Data`](crate::Error::Data) if the two networks have different shapes or
/// activations, or the data does not fit them.
pub fn align(
    net: &Network<f64>,
    reference: &Network<f64>,
    data: &Dataset<f64>,
) -> Result<Alignment> {
    let same_shape = net.widths() == reference.widths()
        && net
            .layers()
            .iter()
            .zip(reference.layers())
            .all(|(a, b)| a.activation() == b.activation());
    if !same_shape {
        return Err(crate::Error::Data {
            message: "cannot align networks of different shapes or activations".to_owned(),
        });
    }
    let (_, v_net) = hidden_values(net, data)?;
    let (_, v_ref) = hidden_values(reference, data)?;
    let mut out = net.clone();
    let mut permutations = Vec::new();
    let mut flips = Vec::new();
    for (h, (units, ref_units)) in v_net.iter().zip(&v_ref).enumerate() {
        let odd = flip_offset(net.layers()[h].activation()).is_some();
        let a: Vec<Vec<f64>> = ref_units.iter().map(|x| standardized(x)).collect();
        let b: Vec<Vec<f64>> = units.iter().map(|x| standardized(x)).collect();
        // Ties (constant units: dead, or copies) are broken by the cosine of the incoming
        // weights and bias, the layers below already aligned; 1e-6 of it cannot outweigh a
        // real difference of correlations.
        let incoming = |n: &Network<f64>, j: usize| -> Vec<f64> {
            let l = &n.layers()[h];
            standardized_raw(l.weights().column(j).iter().copied().chain([l.bias()[j]]))
        };
        let corr: Vec<Vec<f64>> = a
            .iter()
            .enumerate()
            .map(|(i, ai)| {
                let wi = incoming(reference, i);
                b.iter()
                    .enumerate()
                    .map(|(j, bj)| {
                        let wj = incoming(&out, j);
                        let cos: f64 = wi.iter().zip(&wj).map(|(x, y)| x * y).sum();
                        ai.iter().zip(bj).map(|(x, y)| x * y).sum::<f64>() + 1e-6 * cos
                    })
                    .collect()
            })
            .collect();
        let score: Vec<Vec<f64>> = corr
            .iter()
            .map(|r| r.iter().map(|&c| if odd { c.abs() } else { c }).collect())
            .collect();
        let perm = assignment(&score);
        let flip: Vec<bool> = perm
            .iter()
            .enumerate()
            .map(|(i, &j)| odd && corr[i][j] < 0.0)
            .collect();
        permute_units(&mut out, h, &perm, &flip);
        permutations.push(perm);
        flips.push(flip);
    }
    Ok(Alignment {
        network: out,
        permutations,
        flips,
    })
}

/// Reorders the units of hidden layer `h + 1` (the outputs of layer `h`): new unit `j` is old
/// unit `perm[j]`, negated where `flip[j]` (its incoming weights, bias and outgoing weights, the
/// next bias taking up the [`flip_offset`]).
fn permute_units(net: &mut Network<f64>, h: usize, perm: &[usize], flip: &[bool]) {
    let sign = |j: usize| if flip[j] { -1.0 } else { 1.0 };
    let offset = flip_offset(net.layers()[h].activation()).unwrap_or(0.0);
    let (w, b) = {
        let layer = &net.layers()[h];
        (layer.weights().clone(), layer.bias().to_vec())
    };
    {
        let layer = net.layer_mut(h);
        let mut wm = layer.weights_mut();
        for (j, &p) in perm.iter().enumerate() {
            for z in 0..w.nrows() {
                wm[(z, j)] = sign(j) * w[(z, p)];
            }
        }
        for (j, &p) in perm.iter().enumerate() {
            layer.bias_mut()[j] = sign(j) * b[p];
        }
    }
    let next = net.layers()[h + 1].weights().clone();
    let layer = net.layer_mut(h + 1);
    let mut wm = layer.weights_mut();
    for (j, &p) in perm.iter().enumerate() {
        for c in 0..next.ncols() {
            wm[(j, c)] = sign(j) * next[(p, c)];
        }
    }
    if offset != 0.0 {
        for (_, &p) in perm.iter().enumerate().filter(|&(j, _)| flip[j]) {
            for (c, b) in layer.bias_mut().iter_mut().enumerate() {
                *b += offset * next[(p, c)];
            }
        }
    }
}

/// `||θ_a - θ_b|| / ||θ_b||` over all weights and biases (Euclidean norms); `θ_b` is the
/// reference. Infinite for a zero reference and a different `θ_a`.
///
/// # Panics
/// If the networks have different shapes.
pub fn relative_distance(a: &Network<f64>, b: &Network<f64>) -> f64 {
    assert_eq!(a.widths(), b.widths(), "relative_distance: shapes differ");
    let (mut diff, mut norm) = (0.0, 0.0);
    for (pa, pb) in a.params().zip(b.params()) {
        for (&x, &y) in pa.iter().zip(pb) {
            diff += (x - y) * (x - y);
            norm += y * y;
        }
    }
    if diff == 0.0 {
        0.0
    } else {
        (diff / norm).sqrt()
    }
}

/// How differently two networks behave on the data.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Functional {
    /// The mean over rows and outputs of `|p_a - p_b|`, `p` the prediction (`v_d`, or the class
    /// probabilities `softmax(v_d)` for cross-entropy).
    pub mean_output_difference: f64,
    /// The fraction of rows whose predicted class differs (the largest output; for one output,
    /// the side of 0.5), as `accuracy` decides a class.
    pub disagreement: f64,
}

/// The predicted class of a prediction, as [`accuracy`](crate::accuracy) decides it.
fn class_of(p: &[f64]) -> usize {
    if p.len() == 1 {
        usize::from(p[0] >= 0.5)
    } else {
        let mut best = 0;
        for (k, &x) in p.iter().enumerate() {
            if x > p[best] {
                best = k;
            }
        }
        best
    }
}

/// The functional distance of `a` and `b` on the rows of `data`.
///
/// # Errors
/// [`Error::Data`](crate::Error::Data) for an empty dataset, shape errors.
pub fn functional_distance(
    a: &Network<f64>,
    b: &Network<f64>,
    data: &Dataset<f64>,
) -> Result<Functional> {
    if data.is_empty() {
        return Err(crate::Error::Data {
            message: "no rows to compare the networks on".to_owned(),
        });
    }
    let (mut wa, mut wb) = (a.workspace(), b.workspace());
    let n_d = a.outputs();
    let (mut pa, mut pb) = (vec![0.0; n_d], vec![0.0; n_d]);
    let (mut diff, mut disagree) = (0.0, 0usize);
    for k in 0..data.len() {
        a.predict_to(&mut wa, data.x(k), &mut pa)?;
        b.predict_to(&mut wb, data.x(k), &mut pb)?;
        diff += pa.iter().zip(&pb).map(|(x, y)| (x - y).abs()).sum::<f64>() / n_d as f64;
        disagree += usize::from(class_of(&pa) != class_of(&pb));
    }
    let m = data.len() as f64;
    Ok(Functional {
        mean_output_difference: diff / m,
        disagreement: disagree as f64 / m,
    })
}

/// The loss along the straight segment `θ(t) = (1 - t) θ_a + t θ_b`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Barrier {
    /// The points `t_k = k / (points - 1)`.
    pub t: Vec<f64>,
    /// The mean loss on the data at each point.
    pub loss: Vec<f64>,
    /// `max_k [L(θ(t_k)) - ((1 - t_k) L(θ_a) + t_k L(θ_b))]`: the largest excess of the loss
    /// over the straight line between the end losses (0 at the ends, so never negative).
    pub barrier: f64,
}

/// The loss barrier between `a` and `b` on `data`, at `points` points.
///
/// # Errors
/// Shape errors; [`Error::Data`](crate::Error::Data) for networks of different shapes.
pub fn barrier(
    a: &Network<f64>,
    b: &Network<f64>,
    data: &Dataset<f64>,
    points: usize,
) -> Result<Barrier> {
    if a.widths() != b.widths() {
        return Err(crate::Error::Data {
            message: "no segment between networks of different shapes".to_owned(),
        });
    }
    let points = points.max(2);
    let mut net = a.clone();
    let mut t = Vec::with_capacity(points);
    let mut loss = Vec::with_capacity(points);
    for k in 0..points {
        let tk = k as f64 / (points - 1) as f64;
        for ((p, pa), pb) in net.params_mut().zip(a.params()).zip(b.params()) {
            for ((x, &xa), &xb) in p.iter_mut().zip(pa).zip(pb) {
                *x = (1.0 - tk) * xa + tk * xb;
            }
        }
        t.push(tk);
        loss.push(mean_loss(&net, data)?);
    }
    let (l0, l1) = (loss[0], loss[points - 1]);
    let barrier = t
        .iter()
        .zip(&loss)
        .map(|(&tk, &l)| l - ((1.0 - tk) * l0 + tk * l1))
        .fold(0.0, f64::max);
    Ok(Barrier { t, loss, barrier })
}

/// The health of one hidden layer's units on the data.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerHealth {
    /// The layer `l` (1 for the first hidden layer).
    pub layer: usize,
    /// Its units, `n_l`.
    pub units: usize,
    /// ReLU units never active on the data (`s_l <= 0` on every row); 0 for other activations.
    pub dead: usize,
    /// Sigmoid and tanh units with `|s_l| > saturation` on more than `saturated_fraction` of the
    /// rows; 0 for other activations.
    pub saturated: usize,
    /// Units with another unit of the layer of equal incoming weights and bias (within
    /// `duplicate_tolerance`): copies, which receive the same updates forever.
    pub duplicates: usize,
}

/// The health of every hidden layer of `net` on `data` (see [`LayerHealth`] and
/// [`BasinsConfig`] for the thresholds).
///
/// # Errors
/// Shape errors.
pub fn unit_health(
    net: &Network<f64>,
    data: &Dataset<f64>,
    cfg: &BasinsConfig,
) -> Result<Vec<LayerHealth>> {
    let (s, _) = hidden_values(net, data)?;
    let rows = data.len() as f64;
    let mut out = Vec::with_capacity(s.len());
    for (h, units) in s.iter().enumerate() {
        let layer = &net.layers()[h];
        let activation = layer.activation();
        let dead = if activation == Activation::Relu {
            units.iter().filter(|u| u.iter().all(|&x| x <= 0.0)).count()
        } else {
            0
        };
        let saturated = if matches!(activation, Activation::Sigmoid | Activation::Tanh) {
            units
                .iter()
                .filter(|u| {
                    let n = u.iter().filter(|x| x.abs() > cfg.saturation).count();
                    n as f64 > cfg.saturated_fraction * rows
                })
                .count()
        } else {
            0
        };
        let (w, b) = (layer.weights(), layer.bias());
        let unit = |j: usize| -> Vec<f64> { w.column(j).iter().copied().chain([b[j]]).collect() };
        let params: Vec<Vec<f64>> = (0..w.ncols()).map(unit).collect();
        let duplicates = (0..params.len())
            .filter(|&j| {
                (0..params.len()).any(|k| {
                    k != j && {
                        let scale = params[j]
                            .iter()
                            .chain(&params[k])
                            .fold(0.0_f64, |m, x| m.max(x.abs()));
                        params[j]
                            .iter()
                            .zip(&params[k])
                            .all(|(x, y)| (x - y).abs() <= cfg.duplicate_tolerance * (1.0 + scale))
                    }
                })
            })
            .count();
        out.push(LayerHealth {
            layer: h + 1,
            units: units.len(),
            dead,
            saturated,
            duplicates,
        });
    }
    Ok(out)
}

/// One network of [`basins`], measured against the best.
#[derive(Clone, Debug, PartialEq)]
pub struct Basin {
    /// Its index among the networks given.
    pub index: usize,
    /// Its group (minimum) in [`Basins::groups`].
    pub group: usize,
    /// Relative parameter distance to the best before alignment.
    pub distance_before: f64,
    /// Relative parameter distance to the best after alignment.
    pub distance_after: f64,
    /// Functional distance to the best.
    pub functional: Functional,
    /// The loss along the segment from the best to this network, aligned.
    pub barrier: Barrier,
    /// The network aligned to the best.
    pub aligned: Network<f64>,
}

/// One distinct minimum: the networks connected to its representative.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The index of its representative (its best network).
    pub representative: usize,
    /// The indices of its networks, best first.
    pub members: Vec<usize>,
    /// The lowest score among them.
    pub best_score: f64,
}

/// The networks measured against the best, and the distinct minima.
#[derive(Clone, Debug, PartialEq)]
pub struct Basins {
    /// The index of the best network (the lowest score, the lowest index among equals).
    pub best: usize,
    /// One entry per network, in the order given.
    pub networks: Vec<Basin>,
    /// The distinct minima, best first.
    pub groups: Vec<Group>,
}

/// Measures every network against the best (lowest score) and groups them into distinct minima.
///
/// The grouping rule: networks are taken in order of score (then index). Each one is aligned to
/// the representative of every group found so far, best group first, and joins the first group
/// whose representative it is connected to: the barrier between them (see [`barrier`]) at most
/// `cfg.tolerance`. A network connected to none founds a new group and is its representative.
/// So every member of a group is connected to its representative, the group's best network.
///
/// # Errors
/// [`Error::Data`](crate::Error::Data) for no networks, networks of different shapes, non-finite
/// weights or scores, or data that does not fit; [`Error::InvalidConfig`](crate::Error::InvalidConfig)
/// from [`BasinsConfig::validate`].
pub fn basins(
    nets: &[&Network<f64>],
    scores: &[f64],
    data: &Dataset<f64>,
    cfg: &BasinsConfig,
) -> Result<Basins> {
    cfg.validate()?;
    if nets.is_empty() || nets.len() != scores.len() {
        return Err(crate::Error::Data {
            message: "basins need at least one network and one score per network".to_owned(),
        });
    }
    if !nets.iter().all(|n| n.is_finite()) || !scores.iter().all(|s| s.is_finite()) {
        return Err(crate::Error::Data {
            message: "basins need finite networks and scores (leave diverged runs out)".to_owned(),
        });
    }
    let mut order: Vec<usize> = (0..nets.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    let best = order[0];
    let reference = nets[best];
    let mut networks = Vec::with_capacity(nets.len());
    for (index, net) in nets.iter().enumerate() {
        let aligned = align(net, reference, data)?.network;
        networks.push(Basin {
            index,
            group: 0,
            distance_before: relative_distance(net, reference),
            distance_after: relative_distance(&aligned, reference),
            functional: functional_distance(&aligned, reference, data)?,
            barrier: barrier(reference, &aligned, data, cfg.points)?,
            aligned,
        });
    }
    let mut groups: Vec<Group> = Vec::new();
    for &i in &order {
        let mut joined = None;
        for (g, group) in groups.iter().enumerate() {
            let rep = group.representative;
            let b = if rep == best {
                networks[i].barrier.barrier
            } else {
                let aligned = align(nets[i], nets[rep], data)?.network;
                barrier(nets[rep], &aligned, data, cfg.points)?.barrier
            };
            if b <= cfg.tolerance {
                joined = Some(g);
                break;
            }
        }
        match joined {
            Some(g) => groups[g].members.push(i),
            None => groups.push(Group {
                representative: i,
                members: vec![i],
                best_score: scores[i],
            }),
        }
        networks[i].group = joined.unwrap_or(groups.len() - 1);
    }
    Ok(Basins {
        best,
        networks,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A network of the given widths with weights from a seed (xorshift, in [-1, 1)).
    fn network(widths: &[usize], activation: Activation, seed: u64) -> Network<f64> {
        let mut b = Network::builder(widths[0]);
        for &n in &widths[1..widths.len() - 1] {
            b = b.layer(n, activation);
        }
        let mut net = b
            .layer(widths[widths.len() - 1], Activation::Identity)
            .build::<f64>()
            .expect("widths above 0");
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for p in net.params_mut().flatten() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *p = 2.0 * ((s >> 11) as f64 / (1u64 << 53) as f64) - 1.0;
        }
        net
    }

    fn data(n_in: usize, n_out: usize, rows: usize, seed: u64) -> Dataset<f64> {
        let mut s = seed.wrapping_mul(0xD134_2543_DE82_EF95) | 1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            2.0 * ((s >> 11) as f64 / (1u64 << 53) as f64) - 1.0
        };
        let x: Vec<Vec<f64>> = (0..rows)
            .map(|_| (0..n_in).map(|_| next()).collect())
            .collect();
        let y: Vec<Vec<f64>> = (0..rows)
            .map(|_| (0..n_out).map(|_| next()).collect())
            .collect();
        Dataset::from_rows(&x, &y).expect("rectangular")
    }

    /// A permutation of `0..n` and signs from a seed.
    fn symmetry(n: usize, seed: u64, odd: bool) -> (Vec<usize>, Vec<bool>) {
        let mut perm: Vec<usize> = (0..n).collect();
        let mut s = seed | 1;
        for i in (1..n).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            perm.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let flip = (0..n).map(|j| odd && (s >> (j % 60)) & 1 == 1).collect();
        (perm, flip)
    }

    fn scrambled(net: &Network<f64>, seed: u64) -> Network<f64> {
        let mut out = net.clone();
        for h in 0..net.depth() - 1 {
            let odd = flip_offset(net.layers()[h].activation()).is_some();
            let (perm, flip) = symmetry(net.layers()[h].outputs(), seed + h as u64, odd);
            permute_units(&mut out, h, &perm, &flip);
        }
        out
    }

    fn outputs(net: &Network<f64>, data: &Dataset<f64>) -> Vec<f64> {
        let mut ws = net.workspace();
        (0..data.len())
            .flat_map(|k| net.forward(&mut ws, data.x(k)).expect("fits").to_vec())
            .collect()
    }

    #[test]
    fn assignment_is_optimal_against_every_permutation() {
        let score = vec![
            vec![0.1, 0.9, 0.3, 0.2],
            vec![0.8, 0.7, 0.1, 0.4],
            vec![0.3, 0.85, 0.2, 0.6],
            vec![0.5, 0.1, 0.95, 0.3],
        ];
        let perm = assignment(&score);
        let total = |p: &[usize]| p.iter().enumerate().map(|(i, &j)| score[i][j]).sum::<f64>();
        let mut best = f64::NEG_INFINITY;
        for a in 0..4 {
            for b in 0..4 {
                for c in 0..4 {
                    for d in 0..4 {
                        let p = [a, b, c, d];
                        let mut seen = [false; 4];
                        p.iter().for_each(|&x| seen[x] = true);
                        if seen.iter().all(|&x| x) {
                            best = best.max(total(&p));
                        }
                    }
                }
            }
        }
        assert_eq!(total(&perm), best);
        assert_eq!(perm, vec![1, 0, 3, 2]);
    }

    #[test]
    fn a_permuted_and_flipped_network_aligns_back_to_distance_zero() -> Result<()> {
        for activation in [Activation::Tanh, Activation::Sigmoid, Activation::Relu] {
            let net = network(&[3, 6, 5, 2], activation, 11);
            let other = scrambled(&net, 5);
            assert!(relative_distance(&other, &net) > 0.1, "{activation:?}");
            let d = data(3, 2, 64, 3);
            let aligned = align(&other, &net, &d)?;
            // Exactly 0, but for a flipped sigmoid's offset added to the next bias and taken off.
            let exact = if activation == Activation::Sigmoid {
                1e-15
            } else {
                0.0
            };
            assert!(
                relative_distance(&aligned.network, &net) <= exact,
                "{activation:?}"
            );
            if activation == Activation::Tanh {
                assert!(
                    aligned.flips.iter().flatten().any(|&f| f),
                    "the test flips units"
                );
            }
            let cfg = BasinsConfig::default();
            let b = basins(&[&net, &other], &[0.5, 0.6], &d, &cfg)?;
            assert_eq!(b.groups.len(), 1, "{activation:?}");
            assert!(b.networks[1].distance_after <= exact);
            // Zero up to the order of summation in the aligned network's loss.
            assert!(b.networks[1].barrier.barrier <= 1e-12, "{activation:?}");
            assert_eq!(b.networks[1].functional.disagreement, 0.0);
        }
        Ok(())
    }

    #[test]
    fn one_function_by_two_rescalings_is_two_minima_at_a_tight_tolerance() -> Result<()> {
        // f(x) = relu(x) - relu(-x) = x, once with first-layer weights 1 and once with 3 (and
        // outgoing weights 1/3): the same function, but halfway between them it is 4x/3.
        let net = |a: f64| -> Result<Network<f64>> {
            let mut n = Network::builder(1)
                .layer(2, Activation::Relu)
                .layer(1, Activation::Identity)
                .build::<f64>()?;
            for (p, v) in n
                .params_mut()
                .flatten()
                .zip([a, -a, 0.0, 0.0, 1.0 / a, -1.0 / a, 0.0])
            {
                *p = v;
            }
            Ok(n)
        };
        let (a, b) = (net(1.0)?, net(3.0)?);
        let x: Vec<Vec<f64>> = (0..21).map(|k| vec![k as f64 / 10.0 - 1.0]).collect();
        let d = Dataset::from_rows(&x, &x)?;
        let cfg = BasinsConfig {
            tolerance: 1e-3,
            ..BasinsConfig::default()
        };
        let r = basins(&[&a, &b], &[0.2, 0.1], &d, &cfg)?;
        assert_eq!(r.best, 1);
        let bar = &r.networks[0].barrier;
        assert_eq!(bar.loss.len(), 21);
        assert!(r.networks[0].functional.mean_output_difference < 1e-15);
        assert!(bar.barrier > 0.01, "{bar:?}");
        assert_eq!(r.groups.len(), 2);
        assert_eq!(r.groups[0].representative, 1);
        assert_eq!(r.groups[1].best_score, 0.2);
        let loose = BasinsConfig {
            tolerance: 1.0,
            ..BasinsConfig::default()
        };
        assert_eq!(basins(&[&a, &b], &[0.2, 0.1], &d, &loose)?.groups.len(), 1);
        Ok(())
    }

    #[test]
    fn dead_saturated_and_duplicate_units_are_counted() -> Result<()> {
        let d = data(2, 1, 40, 4);
        let mut relu = network(&[2, 3, 1], Activation::Relu, 3);
        // Unit 0 never fires: negative weights on inputs in [-1, 1] cannot beat a bias of -5.
        relu.layer_mut(0).bias_mut()[0] = -5.0;
        // Units 1 and 2 equal.
        let (w, b) = (
            relu.layers()[0].weights().clone(),
            relu.layers()[0].bias()[1],
        );
        relu.layer_mut(0).weights_mut()[(0, 2)] = w[(0, 1)];
        relu.layer_mut(0).weights_mut()[(1, 2)] = w[(1, 1)];
        relu.layer_mut(0).bias_mut()[2] = b;
        let h = unit_health(&relu, &d, &BasinsConfig::default())?;
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].units, h[0].dead, h[0].duplicates), (3, 1, 2));
        let mut tanh = network(&[2, 2, 1], Activation::Tanh, 3);
        tanh.layer_mut(0).bias_mut()[1] = 20.0;
        let h = unit_health(&tanh, &d, &BasinsConfig::default())?;
        assert_eq!((h[0].dead, h[0].saturated, h[0].duplicates), (0, 1, 0));
        let zero = Network::builder(2)
            .layer(4, Activation::Sigmoid)
            .layer(1, Activation::Sigmoid)
            .build::<f64>()?;
        let h = unit_health(&zero, &d, &BasinsConfig::default())?;
        assert_eq!(h[0].duplicates, 4);
        Ok(())
    }

    #[test]
    fn bad_settings_are_rejected() {
        for cfg in [
            BasinsConfig {
                tolerance: -1.0,
                ..BasinsConfig::default()
            },
            BasinsConfig {
                points: 2,
                ..BasinsConfig::default()
            },
            BasinsConfig {
                saturated_fraction: 1.0,
                ..BasinsConfig::default()
            },
        ] {
            assert!(cfg.validate().is_err(), "{cfg:?}");
        }
        assert!(BasinsConfig::default().validate().is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn alignment_keeps_the_function(
            seed in 1u64..u64::MAX,
            other in 1u64..u64::MAX,
            n1 in 1usize..7,
            n2 in 1usize..7,
            act in 0usize..4,
        ) {
            let activation = [Activation::Tanh, Activation::Sigmoid, Activation::Relu, Activation::Identity][act];
            let net = network(&[3, n1, n2, 2], activation, seed);
            let reference = network(&[3, n1, n2, 2], activation, other);
            let d = data(3, 2, 30, seed ^ other);
            let aligned = align(&net, &reference, &d)?;
            for (a, b) in outputs(&aligned.network, &d).iter().zip(outputs(&net, &d)) {
                prop_assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
            }
            // A hand-scrambled copy comes back to the original exactly.
            let back = align(&scrambled(&net, other), &net, &d)?;
            let exact = if activation == Activation::Sigmoid { 1e-15 } else { 0.0 };
            prop_assert!(relative_distance(&back.network, &net) <= exact);
        }
    }
}
