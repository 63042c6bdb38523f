//! [`SgdSession`]: the lecture's per-sample SGD over many samples, with the first layer's update
//! deferred and fused into the next forward product.

use backprop_linalg::{
    axpy_dot_inline, dot_inline, gemv_tr_sweep, ger, ger_gemv_tr, with_avx2, with_widest, Real,
    Sweep,
};

use crate::{Loss, Network, Result, Workspace};

/// A run of per-sample SGD steps that defers the first layer's rank-1 update.
///
/// The first layer's weights usually dominate a network (784 x 128 of 784-128-10's 102k weights)
/// and do not fit in the fastest caches. A plain step ([`Network::sgd_step`]) streams them twice:
/// for the forward product `s_1 = W_0^T x_t`, and for the update `W_0 -= eta x_t delta_1^T` (the
/// input layer needs no `dL/dv_0`, so there is no backward product to fuse it with). A session
/// applies sample `t`'s update during sample `t + 1`'s forward product, column by column
/// (`w_j += -eta delta_{1,j} x_t`, then `s_{1,j} = w_j · x_{t+1}`, by
/// [`ger_gemv_tr`](backprop_linalg::ger_gemv_tr)), so each weight of `W_0` is read and written
/// once per step; successive steps sweep `W_0`'s columns in alternate directions, so that the
/// columns a step touched last, still in cache, are the next step's first. The hidden layers'
/// forward products sweep backward, so that the fused backward product and update that follow
/// ([`gemv_ger`](backprop_linalg::gemv_ger), which must go forward to keep its summation order)
/// start on the columns still in cache.
///
/// A network whose layers are all at most 16 wide (the lecture's 2-8-1) takes a leaner step of
/// the same arithmetic: column by column with the one-column kernels inline, no blocks and no
/// sweeps, since every weight is in L1 anyway. [`steps`](Self::steps) runs a loop of steps
/// compiled on its own, which is how the per-sample epochs of `backprop-optim` and the bench
/// call it.
///
/// The results are bit-identical to a sequence of [`Network::sgd_step`]s: the deferred update
/// changes nothing that is read before it is applied, and the order of independent columns does
/// not change any sum. The session borrows the network mutably, so nobody sees the weights
/// while an update is pending; the last one is applied by [`flush`](Self::flush), or when the
/// session is dropped.
///
/// ```
/// use backprop_network::{Activation, Network};
/// let mut net = Network::builder(2)
///     .layer(3, Activation::Tanh)
///     .layer(1, Activation::Sigmoid)
///     .build::<f64>()?;
/// for (k, w) in net.params_mut().flatten().enumerate() {
///     *w = 0.1 * k as f64 - 0.3;
/// }
/// let mut twin = net.clone();
/// let mut ws = net.workspace();
/// {
///     let mut session = net.sgd_session(&mut ws)?;
///     for _ in 0..10 {
///         session.step(&[1.0, 0.0], &[1.0], 0.5)?;
///     }
/// } // the last deferred update is applied here
/// let mut ws2 = twin.workspace();
/// for _ in 0..10 {
///     twin.sgd_step(&mut ws2, &[1.0, 0.0], &[1.0], 0.5)?;
/// }
/// assert_eq!(net, twin);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SgdSession<'a, T: Real = f64> {
    net: &'a mut Network<T>,
    ws: &'a mut Workspace<T>,
    /// `ws.dv[1]` holds `-eta delta_1` and `ws.v[0]` the input of a step whose first-layer update
    /// is still to be applied.
    pending: bool,
    /// The direction of the next fused sweep over `W_0`, reversed at every step.
    sweep: Sweep,
    /// Every layer is at most [`SMALL_WIDTH`] wide: steps take [`step_small`](Self::step_small).
    small: bool,
}

/// The widest layer (inputs and outputs) for which a session takes its small-network step.
const SMALL_WIDTH: usize = 16;

impl<'a, T: Real> SgdSession<'a, T> {
    /// A session on `net` with buffers `ws` (shapes already checked).
    pub(crate) fn new(net: &'a mut Network<T>, ws: &'a mut Workspace<T>) -> Self {
        let small = net
            .layers
            .iter()
            .all(|l| l.inputs() <= SMALL_WIDTH && l.outputs() <= SMALL_WIDTH);
        SgdSession {
            net,
            ws,
            pending: false,
            sweep: Sweep::Forward,
            small,
        }
    }
}

impl<T: Real> SgdSession<'_, T> {
    /// One step of the lecture's SGD on sample `(x, y)` with rate `eta`; returns the loss before
    /// the step. Nothing is allocated.
    ///
    /// # Errors
    /// [`Error::Length`](crate::Error::Length) for an `x` or `y` of the wrong length; nothing is
    /// changed then, and the session stays usable.
    #[inline]
    pub fn step(&mut self, x: &[T], y: &[T], eta: T) -> Result<T> {
        if self.small {
            self.step_small(x, y, eta)
        } else {
            self.step_wide(x, y, eta)
        }
    }

    /// The lengths of a sample.
    #[inline(always)]
    fn check(&self, x: &[T], y: &[T]) -> Result<()> {
        Network::<T>::check_len("input x", self.net.inputs(), x.len())?;
        Network::<T>::check_len("target y", self.net.outputs(), y.len())
    }

    /// The step of a network with a layer wider than [`SMALL_WIDTH`]: the blocked kernels.
    #[inline(always)]
    fn step_wide(&mut self, x: &[T], y: &[T], eta: T) -> Result<T> {
        self.check(x, y)?;
        let (net, ws) = (&mut *self.net, &mut *self.ws);
        let first = &mut net.layers[0];
        let s = &mut ws.s[1];
        if self.pending {
            // W_0 += x_prev (-eta delta_1)^T, then s_1 = W_0^T x, one column at a time.
            ger_gemv_tr(s, &mut first.w, &ws.v[0], &ws.dv[1], x, self.sweep);
        } else {
            gemv_tr_sweep(s, &first.w, x, self.sweep);
        }
        self.sweep = self.sweep.reversed();
        for (s, &b) in s.iter_mut().zip(&first.b) {
            *s += b;
        }
        first.activation.apply_to(s, &mut ws.v[1]);
        ws.v[0].copy_from_slice(x);
        net.forward_from(ws, 1, Sweep::Backward);
        let loss = net.backprop_update_above_first(ws, y, eta)?;
        // The first layer's update, W_0 += v_0 (-eta delta_1)^T, waits for the next step.
        for g in ws.dv[1].iter_mut() {
            *g *= -eta;
        }
        self.pending = true;
        Ok(loss)
    }

    /// [`step`](Self::step) on each sample of `samples` in turn, stopping after the first
    /// whose loss is not finite: `Ok(None)` when every loss was finite, `Ok(Some(k))` when
    /// sample `k`'s was not (its step was taken, and no step after it). The same results as
    /// calling `step` in a loop; the loop is compiled on its own, so that a small network's
    /// steps run back to back with nothing around them.
    ///
    /// # Errors
    /// As [`step`](Self::step): a sample of the wrong length stops the loop, with the steps
    /// before it applied.
    #[inline(never)]
    pub fn steps<'s, I>(&mut self, samples: I, eta: T) -> Result<Option<usize>>
    where
        I: IntoIterator<Item = (&'s [T], &'s [T])>,
        T: 's,
    {
        // One loop for each kind of step, so that each is compiled with only its own step.
        if self.small {
            // The whole loop compiled for AVX2 where the CPU has it (measured: 2-8-1 `f64` 14 %
            // faster, `f32` the same), with the same bits.
            with_avx2(
                #[inline(always)]
                || {
                    for (k, (x, y)) in samples.into_iter().enumerate() {
                        if !self.step_small(x, y, eta)?.is_finite() {
                            return Ok(Some(k));
                        }
                    }
                    Ok(None)
                },
            )
        } else {
            // The wide kernels' loop compiled for the widest registers (AVX-512 where the CPU
            // has it): the bias, the activation and the loss between the kernel calls.
            with_widest(
                #[inline(always)]
                || {
                    for (k, (x, y)) in samples.into_iter().enumerate() {
                        if !self.step_wide(x, y, eta)?.is_finite() {
                            return Ok(Some(k));
                        }
                    }
                    Ok(None)
                },
            )
        }
    }

    /// The step of a small network (every layer at most [`SMALL_WIDTH`] wide), column by column
    /// with the one-column kernels inline: the same operations in the same order as
    /// [`step_wide`](Self::step_wide) (and so as [`Network::sgd_step`]), without the blocks of
    /// four columns and the calls that pay off only on wide layers. On the lecture's 2-8-1
    /// network a step is a chain of dependent operations (two sigmoids among them), and what
    /// counts is how little sits beside it.
    #[inline(always)]
    fn step_small(&mut self, x: &[T], y: &[T], eta: T) -> Result<T> {
        self.check(x, y)?;
        let (net, ws, pending) = (&mut *self.net, &mut *self.ws, self.pending);
        let d = net.layers.len();
        // Layer 0: the deferred update w_j += g_j x_prev, then s_{1,j} = w_j · x + b_j.
        let first = &mut net.layers[0];
        let n0 = x.len();
        {
            let (s, g, x_prev) = (&mut ws.s[1], &ws.dv[1], &ws.v[0]);
            let columns = first.w.as_mut_slice().chunks_exact_mut(n0);
            if pending {
                for (((w_j, s_j), &b_j), &g_j) in columns.zip(s.iter_mut()).zip(&first.b).zip(g) {
                    *s_j = axpy_dot_inline(w_j, g_j, x_prev, x) + b_j;
                }
            } else {
                for ((w_j, s_j), &b_j) in columns.zip(s.iter_mut()).zip(&first.b) {
                    *s_j = dot_inline(w_j, x) + b_j;
                }
            }
        }
        first.activation.apply_to(&ws.s[1], &mut ws.v[1]);
        ws.v[0].copy_from_slice(x);
        // The lecture's single output under the squared loss, the last of two or more layers,
        // is worked out in scalars below; the layers between go through the loops.
        let scalar_out = d >= 2 && net.outputs() == 1 && net.loss() == Loss::Squared;
        let top = if scalar_out { d - 1 } else { d };
        for l in 1..top {
            let layer = &net.layers[l];
            let n = layer.inputs();
            let (below, above) = ws.v.split_at_mut(l + 1);
            let (v, s) = (&below[l], &mut ws.s[l + 1]);
            let columns = layer.w.as_slice().chunks_exact(n);
            for ((w_j, s_j), &b_j) in columns.zip(s.iter_mut()).zip(&layer.b) {
                *s_j = dot_inline(w_j, v) + b_j;
            }
            layer.activation.apply_to(s, &mut above[0]);
        }
        let loss = if scalar_out {
            // s_d = w · v_{d-1} + b, v_d = σ(s_d), L = (0 + e²) / 2 with e = v_d - y, delta =
            // e σ'(s_d), as the slices' loss and derivative compute them; then the backward
            // product and the update of the single column.
            let layer = &mut net.layers[d - 1];
            let act = layer.activation;
            let (below, above) = ws.dv.split_at_mut(d);
            let (v_below, v_top) = ws.v.split_at_mut(d);
            let v_in = &v_below[d - 1];
            let s = dot_inline(layer.w.as_slice(), v_in) + layer.b[0];
            let o = act.value(s);
            let e = o - y[0];
            let delta = act.scale_one(e, s, o);
            (ws.s[d][0], v_top[0][0], above[0][0]) = (s, o, delta);
            layer.b[0] -= eta * delta;
            backward_column(
                &mut below[d - 1],
                layer.w.as_mut_slice(),
                delta,
                eta,
                v_in,
                true,
            );
            (T::zero() + e * e) * T::from_f64(0.5)
        } else {
            net.loss().gradient_to(&ws.v[d], y, &mut ws.dv[d])?
        };
        for i in (1..top).rev() {
            // delta_{i+1} = dL/dv_{i+1} ⊙ σ'(s_{i+1}), and the bias b_i -= eta delta.
            let layer = &mut net.layers[i];
            let act = layer.activation;
            let (below, above) = ws.dv.split_at_mut(i + 1);
            let delta = &mut above[0];
            let (s, v) = (&ws.s[i + 1], &ws.v[i + 1]);
            for (((g, b), &s), &v) in delta.iter_mut().zip(layer.b.iter_mut()).zip(s).zip(v) {
                *g = act.scale_one(*g, s, v);
                *b -= eta * *g;
            }
            // dL/dv_i = W_i delta with the old columns, then w_j += (-eta delta_j) v_i.
            let (out, v) = (&mut below[i], &ws.v[i]);
            let n = v.len();
            let columns = layer.w.as_mut_slice().chunks_exact_mut(n).zip(delta.iter());
            for (j, (w_j, &d_j)) in columns.enumerate() {
                backward_column(out, w_j, d_j, eta, v, j == 0);
            }
        }
        // The first layer: delta_1, its bias, and -eta delta_1 for the deferred update.
        let first = &mut net.layers[0];
        let act = first.activation;
        let (s, v) = (&ws.s[1], &ws.v[1]);
        for (((g, b), &s), &v) in ws.dv[1].iter_mut().zip(first.b.iter_mut()).zip(s).zip(v) {
            let delta = act.scale_one(*g, s, v);
            *b -= eta * delta;
            *g = delta * -eta;
        }
        ws.forwarded = false;
        self.pending = true;
        Ok(loss)
    }

    /// Applies the deferred update of the last step now (the session stays usable).
    pub fn flush(&mut self) {
        if self.pending {
            ger(
                &mut self.net.layers[0].w,
                T::one(),
                &self.ws.v[0],
                &self.ws.dv[1],
            );
            self.pending = false;
        }
    }

    /// The network with every update applied (flushes first).
    pub fn network(&mut self) -> &Network<T> {
        self.flush();
        self.net
    }
}

impl<T: Real> Drop for SgdSession<'_, T> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Column `j` of the fused backward product and update, as
/// [`gemv_ger`](backprop_linalg::gemv_ger) computes it: `out += d_j w_j` with the old column
/// (`out = 0 + d_j w_j` for the first column, the sum starting from zero), then
/// `w_j += (-eta d_j) v`.
#[inline(always)]
fn backward_column<T: Real>(out: &mut [T], w_j: &mut [T], d_j: T, eta: T, v: &[T], first: bool) {
    let a = -eta * d_j;
    let entries = out.iter_mut().zip(w_j.iter_mut()).zip(v);
    if first {
        for ((o, w), &v) in entries {
            *o = T::zero() + d_j * *w;
            *w += a * v;
        }
    } else {
        for ((o, w), &v) in entries {
            *o += d_j * *w;
            *w += a * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{network, samples};
    use crate::{Activation, Error, Loss, Network};
    use proptest::prelude::*;

    fn bits<T: backprop_linalg::Real>(net: &Network<T>) -> Vec<u64> {
        net.params()
            .flatten()
            .map(|x| x.as_f64().to_bits())
            .collect()
    }

    fn same_as_sgd_steps<T: backprop_linalg::Real>(
        widths: &[usize],
        acts: &[Activation],
        loss: Loss,
        seed: u64,
        steps: usize,
    ) -> Result<(), TestCaseError> {
        let mut session_net = network::<T>(widths, acts, loss, seed);
        let mut plain = session_net.clone();
        let data = samples(widths[0], widths[widths.len() - 1], steps, seed);
        let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
        let (mut ws, mut ws_plain) = (session_net.workspace(), plain.workspace());
        let mut session = session_net.sgd_session(&mut ws).unwrap();
        for (k, (x, y)) in data.iter().enumerate() {
            let (x, y) = (cast(x), cast(y));
            let eta = T::from_f64(0.05 + 0.01 * (k % 7) as f64);
            let a = session.step(&x, &y, eta).unwrap();
            let b = plain.sgd_step(&mut ws_plain, &x, &y, eta).unwrap();
            prop_assert_eq!(
                a.as_f64().to_bits(),
                b.as_f64().to_bits(),
                "loss of step {}",
                k
            );
            if k % 5 == 3 {
                // Flushing in the middle changes nothing either.
                prop_assert_eq!(bits(session.network()), bits(&plain));
            }
        }
        drop(session);
        prop_assert_eq!(bits(&session_net), bits(&plain));
        Ok(())
    }

    proptest! {
        #[test]
        fn a_session_equals_sgd_steps_bit_for_bit(
            widths in proptest::collection::vec(1usize..=19, 2..=5),
            act in 0usize..4,
            cross_entropy in any::<bool>(),
            seed in any::<u64>(),
            steps in 1usize..12,
        ) {
            let acts = [Activation::DIFFERENTIABLE[act], Activation::Sigmoid];
            let loss = if cross_entropy { Loss::CrossEntropy } else { Loss::Squared };
            same_as_sgd_steps::<f64>(&widths, &acts, loss, seed, steps)?;
            same_as_sgd_steps::<f32>(&widths, &acts, loss, seed, steps)?;
            steps_same_as_sgd_steps::<f64>(&widths, &acts, loss, seed, steps)?;
            steps_same_as_sgd_steps::<f32>(&widths, &acts, loss, seed, steps)?;
        }
    }

    /// `steps` (on a small network, the loop compiled for AVX2 where the CPU has it) against
    /// plain `sgd_step`s, bit for bit.
    fn steps_same_as_sgd_steps<T: backprop_linalg::Real>(
        widths: &[usize],
        acts: &[Activation],
        loss: Loss,
        seed: u64,
        m: usize,
    ) -> Result<(), TestCaseError> {
        let mut net = network::<T>(widths, acts, loss, seed);
        let mut plain = net.clone();
        let data = samples(widths[0], widths[widths.len() - 1], m, seed);
        let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
        let data: Vec<(Vec<T>, Vec<T>)> = data.iter().map(|(x, y)| (cast(x), cast(y))).collect();
        let eta = T::from_f64(0.07);
        let (mut ws, mut ws_plain) = (net.workspace(), plain.workspace());
        let pairs = data.iter().map(|(x, y)| (x.as_slice(), y.as_slice()));
        let stopped = net.sgd_session(&mut ws).unwrap().steps(pairs, eta).unwrap();
        let mut diverged = None;
        for (k, (x, y)) in data.iter().enumerate() {
            if !plain
                .sgd_step(&mut ws_plain, x, y, eta)
                .unwrap()
                .is_finite()
            {
                diverged = Some(k);
                break;
            }
        }
        prop_assert_eq!(stopped, diverged);
        prop_assert_eq!(bits(&net), bits(&plain));
        Ok(())
    }

    #[test]
    fn a_session_equals_sgd_steps_with_the_lectures_single_output() {
        // The scalar output of the small step, after one or two hidden layers, every
        // activation, in both types; and one layer alone (no scalar path).
        for act in Activation::ALL {
            let acts = [act, Activation::Sigmoid, act];
            for widths in [&[2, 8, 1][..], &[3, 4, 5, 1], &[4, 1]] {
                for seed in 0..4 {
                    same_as_sgd_steps::<f64>(widths, &acts, Loss::Squared, seed, 9).unwrap();
                    same_as_sgd_steps::<f32>(widths, &acts, Loss::Squared, seed, 9).unwrap();
                }
            }
        }
    }

    #[test]
    fn a_session_equals_sgd_steps_on_a_wide_first_layer() {
        // Columns in blocks of four and lanes of 8 and 16, with tails, in both sweeps.
        let acts = [Activation::Sigmoid];
        same_as_sgd_steps::<f64>(&[37, 13, 3], &acts, Loss::Squared, 7, 9).unwrap();
        same_as_sgd_steps::<f32>(&[37, 13, 3], &acts, Loss::Squared, 7, 9).unwrap();
    }

    #[test]
    fn steps_equal_a_loop_of_step_and_stop_after_a_divergent_sample() {
        // A small network (its own step) and one with a layer wider than 16.
        for widths in [[3, 5, 2], [3, 21, 2]] {
            let mut net = network::<f64>(&widths, &[Activation::Tanh], Loss::Squared, 11);
            let mut twin = net.clone();
            let data = samples(3, 2, 9, 4);
            let x: Vec<Vec<f64>> = data.iter().map(|(x, _)| x.clone()).collect();
            let mut y: Vec<Vec<f64>> = data.iter().map(|(_, y)| y.clone()).collect();
            y[6][1] = f64::INFINITY;
            let (mut ws, mut ws2) = (net.workspace(), twin.workspace());
            let pairs = x.iter().map(Vec::as_slice).zip(y.iter().map(Vec::as_slice));
            let stopped = net.sgd_session(&mut ws).unwrap().steps(pairs, 0.2).unwrap();
            assert_eq!(
                stopped,
                Some(6),
                "the loop stops after sample 6, whose loss is infinite"
            );
            let mut session = twin.sgd_session(&mut ws2).unwrap();
            for k in 0..7 {
                session.step(&x[k], &y[k], 0.2).unwrap();
            }
            drop(session);
            assert_eq!(bits(&net), bits(&twin));
            // Without the infinite target every sample is stepped.
            let mut fresh = network::<f64>(&widths, &[Activation::Tanh], Loss::Squared, 11);
            let mut ws3 = fresh.workspace();
            y[6][1] = 0.5;
            let pairs = x.iter().map(Vec::as_slice).zip(y.iter().map(Vec::as_slice));
            let none = fresh
                .sgd_session(&mut ws3)
                .unwrap()
                .steps(pairs, 0.2)
                .unwrap();
            assert_eq!(none, None);
        }
    }

    #[test]
    fn signed_zeros_and_infinities_take_the_same_bits_in_the_small_and_the_wide_step() {
        // The small step against plain sgd_steps (the wide kernels), on inputs with -0.0 and on
        // weights with -0.0; then an infinite input, after which both hold the same NaNs.
        let mut small = network::<f64>(&[4, 6, 3], &[Activation::Relu], Loss::Squared, 5);
        for (k, w) in small.params_mut().flatten().enumerate() {
            if k % 3 == 0 {
                *w = -0.0;
            }
        }
        let mut plain = small.clone();
        let xs = [
            [-0.0, 0.5, -0.0, 1.0],
            [0.0, -0.0, 0.25, -0.5],
            [f64::INFINITY, 0.0, 1.0, -0.0],
            [0.5, 0.5, 0.5, 0.5],
        ];
        let (mut ws, mut ws2) = (small.workspace(), plain.workspace());
        let mut session = small.sgd_session(&mut ws).unwrap();
        for x in &xs {
            let a = session.step(x, &[0.0, -0.0, 1.0], 0.3).unwrap();
            let b = plain.sgd_step(&mut ws2, x, &[0.0, -0.0, 1.0], 0.3).unwrap();
            assert_eq!(a.to_bits(), b.to_bits());
        }
        drop(session);
        assert_eq!(bits(&small), bits(&plain));
    }

    #[test]
    fn a_bad_sample_changes_nothing() {
        let mut net = network::<f64>(&[3, 4, 2], &[Activation::Tanh], Loss::Squared, 3);
        let mut twin = net.clone();
        let mut ws = net.workspace();
        let mut session = net.sgd_session(&mut ws).unwrap();
        session.step(&[0.1, 0.2, 0.3], &[1.0, 0.0], 0.1).unwrap();
        assert!(matches!(
            session.step(&[0.1, 0.2], &[1.0, 0.0], 0.1),
            Err(Error::Length { .. })
        ));
        assert!(matches!(
            session.step(&[0.1, 0.2, 0.3], &[1.0], 0.1),
            Err(Error::Length { .. })
        ));
        drop(session);
        let mut ws2 = twin.workspace();
        twin.sgd_step(&mut ws2, &[0.1, 0.2, 0.3], &[1.0, 0.0], 0.1)
            .unwrap();
        assert_eq!(net, twin);
    }

    #[test]
    fn a_workspace_of_another_shape_is_an_error() {
        let mut net = network::<f64>(&[3, 4, 2], &[Activation::Tanh], Loss::Squared, 3);
        let mut ws = Network::builder(3)
            .layer(5, Activation::Tanh)
            .layer(2, Activation::Tanh)
            .build::<f64>()
            .unwrap()
            .workspace();
        assert!(matches!(
            net.sgd_session(&mut ws),
            Err(Error::BufferMismatch { .. })
        ));
    }
}
