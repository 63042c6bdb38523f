//! Mini-batches: samples as the columns of a matrix, every pass on GEMM.

use backprop_linalg::{
    gemm_nt_to, gemm_to, gemm_tr_to, with_widest, GemmScratch, Matrix, MatrixView, Real,
};

use crate::{Error, Gradients, Layer, Network, Result};

/// The buffers of the mini-batch passes: `S_l`, `V_l`, `dL/dV_l` (`n_l x capacity`, one sample a
/// column), the targets `Y` (`n_d x capacity`), and the packing buffers of the GEMM, grown for
/// every product of the layers.
///
/// A batch of `b <= capacity` samples uses the first `b` columns, so the last, shorter batch of an
/// epoch needs no other buffer, and a mini-batch step allocates nothing.
#[derive(Clone, Debug)]
pub struct BatchWorkspace<T: Real = f64> {
    widths: Vec<usize>,
    capacity: usize,
    s: Vec<Matrix<T>>,
    v: Vec<Matrix<T>>,
    dv: Vec<Matrix<T>>,
    y: Matrix<T>,
    /// A layer's mean `Δ` column (its bias gradient) in [`Network::sgd_batch`].
    mean: Vec<T>,
    gemm: GemmScratch<T>,
    forwarded: usize,
}

impl<T: Real> BatchWorkspace<T> {
    /// Buffers for batches of up to `capacity` samples of a network of widths `n_0, ..., n_d`.
    ///
    /// # Errors
    /// [`Error::BatchSize`] for a capacity of 0, [`Error::NoLayers`] for fewer than two widths,
    /// [`Error::ZeroWidth`] for a width of 0.
    pub fn new(widths: &[usize], capacity: usize) -> Result<Self> {
        if capacity == 0 {
            return Err(Error::BatchSize { capacity, got: 0 });
        }
        crate::error::check_widths(widths)?;
        let buffers = || {
            widths
                .iter()
                .map(|&n| Matrix::zeros(n, capacity))
                .collect::<Vec<_>>()
        };
        let mut gemm = GemmScratch::new();
        for pair in widths.windows(2) {
            let (n_in, n_out) = (pair[0], pair[1]);
            // The shapes (m, k, n) of S = W^T V, G = V Δ^T and D = W Δ.
            gemm.reserve(n_out, n_in, capacity);
            gemm.reserve(n_in, capacity, n_out);
            gemm.reserve(n_in, n_out, capacity);
        }
        Ok(BatchWorkspace {
            widths: widths.to_vec(),
            capacity,
            s: buffers(),
            v: buffers(),
            dv: buffers(),
            y: Matrix::zeros(widths.last().copied().unwrap_or(0), capacity),
            mean: vec![T::zero(); widths.iter().copied().max().unwrap_or(0)],
            gemm,
            forwarded: 0,
        })
    }

    /// The largest batch these buffers hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Puts sample `(x, y)` into column `j` of the batch.
    ///
    /// # Errors
    /// [`Error::BatchSize`] if `j >= capacity`, [`Error::Length`] for an `x` or `y` of the wrong
    /// length.
    pub fn load(&mut self, j: usize, x: &[T], y: &[T]) -> Result<()> {
        load_column(&mut self.v[0], &mut self.y, j, x, y)
    }

    /// `V_l` of the last forward pass over `b` samples: column `j` is sample `j`'s `v_l`.
    ///
    /// # Panics
    /// If `l > d` or `b > capacity`.
    pub fn v(&self, l: usize, b: usize) -> MatrixView<'_, T> {
        self.v[l].columns(0, b)
    }

    /// [`v`](Self::v) as one slice: the first `b` columns of `V_l`, one after the other
    /// (column-major, `n_l b` entries).
    ///
    /// # Panics
    /// If `l > d` or `b > capacity`.
    pub fn v_slice(&self, l: usize, b: usize) -> &[T] {
        &self.v[l].as_slice()[..self.widths[l] * b]
    }

    /// `S_l` of the last forward pass over `b` samples.
    ///
    /// # Panics
    /// If `l > d` or `b > capacity`.
    pub fn s(&self, l: usize, b: usize) -> MatrixView<'_, T> {
        self.s[l].columns(0, b)
    }
}

/// Puts sample `(x, y)` into column `j` of the inputs `xs` and the targets `ys` (as many columns
/// each, the capacity).
///
/// # Errors
/// [`Error::BatchSize`] if `j` is not a column, [`Error::Length`] for an `x` or `y` of the wrong
/// length.
pub(crate) fn load_column<T: Real>(
    xs: &mut Matrix<T>,
    ys: &mut Matrix<T>,
    j: usize,
    x: &[T],
    y: &[T],
) -> Result<()> {
    if j >= xs.ncols() {
        return Err(Error::BatchSize {
            capacity: xs.ncols(),
            got: j + 1,
        });
    }
    Network::<T>::check_len("input x", xs.nrows(), x.len())?;
    Network::<T>::check_len("target y", ys.nrows(), y.len())?;
    xs.column_mut(j).copy_from_slice(x);
    ys.column_mut(j).copy_from_slice(y);
    Ok(())
}

impl<T: Real> Network<T> {
    /// A workspace for mini-batches of up to `capacity` samples.
    ///
    /// # Errors
    /// [`Error::BatchSize`] for a capacity of 0.
    pub fn batch_workspace(&self, capacity: usize) -> Result<BatchWorkspace<T>> {
        BatchWorkspace::new(&self.widths(), capacity)
    }

    fn check_batch(&self, ws: &BatchWorkspace<T>, b: usize) -> Result<()> {
        self.check_workspace(&ws.widths, "batch workspace")?;
        if b == 0 || b > ws.capacity {
            return Err(Error::BatchSize {
                capacity: ws.capacity,
                got: b,
            });
        }
        Ok(())
    }

    /// The forward pass over the first `b` loaded samples: `S_l = W_{l-1}^T V_{l-1} + b_{l-1} 1^T`,
    /// `V_l = σ(S_l)`, each product one GEMM. Returns the outputs `V_d` (`n_d x b`).
    ///
    /// # Errors
    /// [`Error::BatchSize`] unless `1 <= b <= capacity`, [`Error::BufferMismatch`] for a workspace
    /// of another shape.
    pub fn forward_batch<'w>(
        &self,
        ws: &'w mut BatchWorkspace<T>,
        b: usize,
    ) -> Result<MatrixView<'w, T>> {
        self.check_batch(ws, b)?;
        self.forward_layers(ws, None, b);
        ws.forwarded = b;
        Ok(ws.v[self.depth()].columns(0, b))
    }

    /// The forward pass of [`forward_batch`](Self::forward_batch) over the columns of `x` (`n_0 x
    /// b`, one sample a column) where they are, without loading them into the workspace: for an
    /// evaluation over a dataset's columns. Returns the outputs `V_d` (`n_d x b`), the same bits as
    /// `forward_batch` after loading the columns. The workspace does not hold `V_0` then, so no
    /// backward pass may follow (it returns [`Error::NoForwardPass`]).
    ///
    /// # Errors
    /// [`Error::BatchSize`] unless `1 <= b <= capacity`, [`Error::Length`] if `x` does not have
    /// `n_0` rows, [`Error::BufferMismatch`] for a workspace of another shape.
    ///
    /// # Example
    /// ```
    /// use backprop_network::{Activation, Network};
    /// use backprop_linalg::Matrix;
    /// let net = Network::builder(2).layer(3, Activation::Tanh).layer(1, Activation::Identity).build()?;
    /// let x = Matrix::from_column_slice(2, 4, &[0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.5, -0.5]);
    /// let mut ws = net.batch_workspace(4)?;
    /// let direct = net.forward_batch_of(&mut ws, &x.columns(0, 4))?.clone_owned();
    /// for j in 0..4 {
    ///     ws.load(j, x.column(j).as_slice(), &[0.0])?;
    /// }
    /// assert_eq!(direct, net.forward_batch(&mut ws, 4)?);
    /// # Ok::<(), backprop_network::Error>(())
    /// ```
    pub fn forward_batch_of<'w>(
        &self,
        ws: &'w mut BatchWorkspace<T>,
        x: &MatrixView<'_, T>,
    ) -> Result<MatrixView<'w, T>> {
        let b = x.ncols();
        self.check_batch(ws, b)?;
        Self::check_len("inputs X", self.inputs(), x.nrows())?;
        self.forward_layers(ws, Some(x), b);
        ws.forwarded = 0;
        Ok(ws.v[self.depth()].columns(0, b))
    }

    /// `S_l` and `V_l` of the first `b` columns, layer by layer, from `x` or else the workspace's
    /// `V_0`. The bias and activation loops run compiled for the widest registers the CPU has
    /// (the same bits); each product is the GEMM's own dispatch.
    fn forward_layers(&self, ws: &mut BatchWorkspace<T>, x: Option<&MatrixView<'_, T>>, b: usize) {
        with_widest(
            #[inline(always)]
            || {
                for (l, layer) in self.layers().iter().enumerate() {
                    let n = layer.outputs();
                    let (lower, upper) = ws.v.split_at_mut(l + 1);
                    let s = &mut ws.s[l + 1];
                    let input = match x {
                        Some(x) if l == 0 => x.columns(0, b),
                        _ => lower[l].columns(0, b),
                    };
                    gemm_tr_to(
                        &mut s.columns_mut(0, b),
                        layer.weights(),
                        &input,
                        &mut ws.gemm,
                    );
                    // The first b columns are contiguous in a column-major buffer.
                    let s = &mut s.as_mut_slice()[..n * b];
                    for s_j in s.chunks_exact_mut(n) {
                        for (x, &bias) in s_j.iter_mut().zip(layer.bias()) {
                            *x += bias;
                        }
                    }
                    layer
                        .activation()
                        .apply_to(s, &mut upper[0].as_mut_slice()[..n * b]);
                }
            },
        )
    }

    /// Backpropagation over the batch of the last [`forward_batch`](Self::forward_batch): writes
    /// the mean of the per-sample gradients into `grads` and returns the mean loss.
    ///
    /// Per layer, from the top: `Δ_{i+1} = dL/dV_{i+1} ⊙ σ'(S_{i+1})`,
    /// `dL/dW_i = (1/b) V_i Δ_{i+1}^T` (one GEMM), `dL/db_i` the mean column of `Δ_{i+1}`, and
    /// `dL/dV_i = W_i Δ_{i+1}` (one GEMM, skipped for the input).
    ///
    /// # Errors
    /// [`Error::NoForwardPass`] if the workspace holds no forward pass over `b` samples,
    /// [`Error::BufferMismatch`] for buffers of another shape.
    pub fn backward_batch(
        &self,
        ws: &mut BatchWorkspace<T>,
        b: usize,
        grads: &mut Gradients<T>,
    ) -> Result<T> {
        self.check_batch(ws, b)?;
        self.check_workspace(&grads.widths, "gradients")?;
        let loss = self.batch_loss_gradient(ws, b)?;
        let inv_b = T::one() / T::from_f64(b as f64);
        for i in (0..self.depth()).rev() {
            let layer = &self.layers()[i];
            let (s, v) = (&ws.s[i + 1], &ws.v[i + 1]);
            batch_delta(layer, s, v, &mut ws.dv[i + 1], b, &mut grads.b[i]);
            let (below, above) = ws.dv.split_at_mut(i + 1);
            let delta = above[0].columns(0, b);
            gemm_nt_to(
                &mut grads.w[i].as_view_mut(),
                inv_b,
                &ws.v[i].columns(0, b),
                &delta,
                T::zero(),
                &mut ws.gemm,
            );
            if i > 0 {
                gemm_to(
                    &mut below[i].columns_mut(0, b),
                    layer.weights(),
                    &delta,
                    &mut ws.gemm,
                );
            }
        }
        Ok(loss)
    }

    /// One step of mini-batch SGD over the batch of the last
    /// [`forward_batch`](Self::forward_batch): `W_i <- W_i - eta dL/dW_i` and
    /// `b_i <- b_i - eta dL/db_i` with the mean gradient, applied by the backward pass as it goes,
    /// without a [`Gradients`] buffer. Returns the mean loss (before the step).
    ///
    /// Per layer, from the top: `Δ_{i+1}` and the bias as in
    /// [`backward_batch`](Self::backward_batch); `dL/dV_i = W_i Δ_{i+1}` with the old weights;
    /// then `W_i += (-eta / b) V_i Δ_{i+1}^T`, one GEMM that reads and writes `W_i` in place. The
    /// weights are written once a step instead of a gradient written and then read again by an
    /// update. The result is that of `backward_batch` then [`update`](Self::update)`(-eta, ..)`,
    /// the same loss and biases to the bit; the weights differ in the last bits (the GEMM scales
    /// its sums by `-eta / b` once and may add them to the weights in a fused multiply-add,
    /// instead of a gradient scaled by `1 / b`, rounded, then scaled by `-eta` and added).
    ///
    /// A step whose loss is not finite has been applied when the loss comes back (so have the
    /// per-sample steps of [`SgdSession`](crate::SgdSession) and
    /// [`sgd_block`](Self::sgd_block)): a caller that watches for divergence stops on it.
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
    /// let mut ws = net.batch_workspace(2)?;
    /// ws.load(0, &[1.0, 0.0], &[1.0])?;
    /// ws.load(1, &[0.0, 1.0], &[0.0])?;
    /// net.forward_batch(&mut ws, 2)?;
    /// let loss = net.sgd_batch(&mut ws, 2, 0.5)?;
    ///
    /// let mut grads = twin.gradients();
    /// twin.forward_batch(&mut ws, 2)?;
    /// assert_eq!(twin.backward_batch(&mut ws, 2, &mut grads)?, loss);
    /// twin.update(-0.5, &grads)?;
    /// for (a, b) in net.params().flatten().zip(twin.params().flatten()) {
    ///     assert!((a - b).abs() <= 1e-15 * b.abs());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`backward_batch`](Self::backward_batch); nothing is changed then.
    pub fn sgd_batch(&mut self, ws: &mut BatchWorkspace<T>, b: usize, eta: T) -> Result<T> {
        self.check_batch(ws, b)?;
        let loss = self.batch_loss_gradient(ws, b)?;
        let inv_b = T::one() / T::from_f64(b as f64);
        for i in (0..self.depth()).rev() {
            let layer = &mut self.layers[i];
            let mean = &mut ws.mean[..layer.outputs()];
            let (s, v) = (&ws.s[i + 1], &ws.v[i + 1]);
            batch_delta(layer, s, v, &mut ws.dv[i + 1], b, mean);
            // b_i + (-eta) g, as `update` adds it.
            for (bias, &g) in layer.b.iter_mut().zip(mean.iter()) {
                *bias += -eta * g;
            }
            let (below, above) = ws.dv.split_at_mut(i + 1);
            let delta = above[0].columns(0, b);
            if i > 0 {
                gemm_to(
                    &mut below[i].columns_mut(0, b),
                    &layer.w,
                    &delta,
                    &mut ws.gemm,
                );
            }
            gemm_nt_to(
                &mut layer.w.as_view_mut(),
                -eta * inv_b,
                &ws.v[i].columns(0, b),
                &delta,
                T::one(),
                &mut ws.gemm,
            );
        }
        // The weights changed: the stored pass no longer belongs to them.
        ws.forwarded = 0;
        Ok(loss)
    }

    /// Checks that `ws` holds a forward pass over `b` samples (the caller checked its shape and
    /// `b`), writes `dL/dV_d` of every sample and returns the mean loss.
    fn batch_loss_gradient(&self, ws: &mut BatchWorkspace<T>, b: usize) -> Result<T> {
        if ws.forwarded != b {
            return Err(Error::NoForwardPass);
        }
        let d = self.depth();
        let n_d = self.outputs();
        let mut loss = T::zero();
        for j in 0..b {
            let range = j * n_d..(j + 1) * n_d;
            loss += self.loss().gradient_to(
                &ws.v[d].as_slice()[range.clone()],
                &ws.y.as_slice()[range.clone()],
                &mut ws.dv[d].as_mut_slice()[range],
            )?;
        }
        Ok(loss * (T::one() / T::from_f64(b as f64)))
    }

    /// The mean loss and mean gradient of the samples that are the columns of `x` (`n_0 x b`) and
    /// `y` (`n_d x b`), loading them into `ws` (capacity at least `b`).
    ///
    /// # Errors
    /// As [`BatchWorkspace::load`], [`forward_batch`](Self::forward_batch) and
    /// [`backward_batch`](Self::backward_batch).
    pub fn gradient_batch(
        &self,
        ws: &mut BatchWorkspace<T>,
        x: &MatrixView<'_, T>,
        y: &MatrixView<'_, T>,
        grads: &mut Gradients<T>,
    ) -> Result<T> {
        Self::check_len("batch of targets", x.ncols(), y.ncols())?;
        let b = x.ncols();
        self.check_batch(ws, b)?;
        for j in 0..b {
            let (xj, yj) = (x.column(j), y.column(j));
            Self::check_len("input x", self.inputs(), xj.len())?;
            Self::check_len("target y", self.outputs(), yj.len())?;
            ws.v[0].column_mut(j).copy_from(&xj);
            ws.y.column_mut(j).copy_from(&yj);
        }
        self.forward_batch(ws, b)?;
        self.backward_batch(ws, b, grads)
    }
}

/// `Δ_{i+1} = dL/dV_{i+1} ⊙ σ'(S_{i+1})` over the first `b` columns, in place of `dL/dV_{i+1}`
/// in `dv`, and the mean of its columns (the bias gradient `dL/db_i`) into `mean`; `layer` is
/// `W_i`, `s` and `v` are `S_{i+1}` and `V_{i+1}`.
fn batch_delta<T: Real>(
    layer: &Layer<T>,
    s: &Matrix<T>,
    v: &Matrix<T>,
    dv: &mut Matrix<T>,
    b: usize,
    mean: &mut [T],
) {
    let n = layer.outputs();
    let delta = &mut dv.as_mut_slice()[..n * b];
    layer
        .activation()
        .scale_by_derivative(&s.as_slice()[..n * b], &v.as_slice()[..n * b], delta);
    mean.fill(T::zero());
    for delta_j in delta.chunks_exact(n) {
        for (g, &x) in mean.iter_mut().zip(delta_j) {
            *g += x;
        }
    }
    let inv_b = T::one() / T::from_f64(b as f64);
    mean.iter_mut().for_each(|g| *g *= inv_b);
}

#[cfg(test)]
mod tests {
    use crate::testing::{network, prop_close, samples, samples_as};
    use crate::{Activation, Error, Loss, Network, Real};
    use proptest::prelude::*;

    /// `sgd_batch` on `net` and `backward_batch` then `update` on a copy, over the same batches
    /// (the last one shorter); both networks and both loss sums.
    fn both<T: Real>(
        mut net: Network<T>,
        data: &[(Vec<T>, Vec<T>)],
        capacity: usize,
        eta: T,
    ) -> (Network<T>, Network<T>, T, T) {
        let mut plain = net.clone();
        let mut ws = net.batch_workspace(capacity).unwrap();
        let mut grads = plain.gradients();
        let (mut fused_loss, mut plain_loss) = (T::zero(), T::zero());
        for chunk in data.chunks(capacity) {
            for (j, (x, y)) in chunk.iter().enumerate() {
                ws.load(j, x, y).unwrap();
            }
            let b = chunk.len();
            plain.forward_batch(&mut ws, b).unwrap();
            plain_loss += plain.backward_batch(&mut ws, b, &mut grads).unwrap();
            plain.update(-eta, &grads).unwrap();
            net.forward_batch(&mut ws, b).unwrap();
            fused_loss += net.sgd_batch(&mut ws, b, eta).unwrap();
        }
        (net, plain, fused_loss, plain_loss)
    }

    fn close_to_backward_then_update<T: Real>(
        widths: &[usize],
        acts: &[Activation],
        loss: Loss,
        seed: u64,
        m: usize,
        capacity: usize,
        tolerance: f64,
    ) -> Result<(), TestCaseError> {
        let net = network::<T>(widths, acts, loss, seed);
        let data = samples_as::<T>(widths[0], widths[widths.len() - 1], m, seed);
        let (fused, plain, a, b) = both(net, &data, capacity, T::from_f64(0.3));
        prop_close((&fused, a), (&plain, b), tolerance)
    }

    proptest! {
        /// The fused step is `backward_batch` then `update`, up to the rounding of the weights'
        /// scaling, over several batches (so the first one's differences carry on).
        #[test]
        fn sgd_batch_equals_backward_then_update_up_to_rounding(
            widths in proptest::collection::vec(1usize..=19, 2..=5),
            act in 0usize..4,
            cross_entropy in any::<bool>(),
            seed in any::<u64>(),
            m in 1usize..40,
            capacity in 1usize..=12,
        ) {
            let acts = [Activation::DIFFERENTIABLE[act], Activation::Sigmoid];
            let loss = if cross_entropy { Loss::CrossEntropy } else { Loss::Squared };
            close_to_backward_then_update::<f64>(&widths, &acts, loss, seed, m, capacity, 1e-12)?;
            close_to_backward_then_update::<f32>(&widths, &acts, loss, seed, m, capacity, 1e-4)?;
        }
    }

    /// The forward pass over a matrix's columns where they lie and the loaded forward pass give
    /// the same bits, and no backward pass follows the first; the losses and predictions of the
    /// batch (one call of `values_and_outputs`) are each column's own `value_and_output`,
    /// `output_to` and `value`, to the bit.
    fn forward_of_and_losses_agree<T: Real>(
        widths: &[usize],
        acts: &[Activation],
        loss: Loss,
        seed: u64,
        b: usize,
    ) -> Result<(), TestCaseError> {
        let net = network::<T>(widths, acts, loss, seed);
        let (n0, nd) = (widths[0], widths[widths.len() - 1]);
        let data = samples_as::<T>(n0, nd, b, seed);
        let xs: Vec<T> = data.iter().flat_map(|(x, _)| x.clone()).collect();
        let ys: Vec<T> = data.iter().flat_map(|(_, y)| y.clone()).collect();
        let x = backprop_linalg::Matrix::from_column_slice(n0, b, &xs);
        let mut ws = net.batch_workspace(b + 1).unwrap();
        let direct: Vec<T> = net
            .forward_batch_of(&mut ws, &x.columns(0, b))
            .unwrap()
            .iter()
            .copied()
            .collect();
        prop_assert_eq!(ws.v_slice(net.depth(), b), &direct[..]);
        let mut grads = net.gradients();
        prop_assert!(matches!(
            net.backward_batch(&mut ws, b, &mut grads),
            Err(Error::NoForwardPass)
        ));
        let (mut losses, mut out) = (vec![T::zero(); b], vec![T::zero(); nd * b]);
        loss.values_and_outputs(&direct, &ys, &mut losses, &mut out, true)
            .unwrap();
        for (j, (x, y)) in data.iter().enumerate() {
            ws.load(j, x, y).unwrap();
        }
        let loaded: Vec<T> = net
            .forward_batch(&mut ws, b)
            .unwrap()
            .iter()
            .copied()
            .collect();
        let bits = |v: &[T]| v.iter().map(|x| x.as_f64().to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&loaded), bits(&direct));
        let mut p = vec![T::zero(); nd];
        for (j, (_, y)) in data.iter().enumerate() {
            let v_d = &direct[j * nd..(j + 1) * nd];
            let l = loss.value_and_output(v_d, y, &mut p).unwrap();
            prop_assert_eq!(l.as_f64().to_bits(), losses[j].as_f64().to_bits());
            prop_assert_eq!(bits(&p), bits(&out[j * nd..(j + 1) * nd]));
            loss.output_to(v_d, &mut p).unwrap();
            prop_assert_eq!(bits(&p), bits(&out[j * nd..(j + 1) * nd]));
            prop_assert_eq!(
                loss.value(v_d, y).unwrap().as_f64().to_bits(),
                losses[j].as_f64().to_bits()
            );
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn forward_batch_of_and_batch_losses_are_each_columns_own_to_the_bit(
            widths in proptest::collection::vec(1usize..=19, 2..=4),
            act in 0usize..4,
            cross_entropy in any::<bool>(),
            seed in any::<u64>(),
            b in 1usize..40,
        ) {
            let acts = [Activation::DIFFERENTIABLE[act], Activation::Identity];
            let loss = if cross_entropy { Loss::CrossEntropy } else { Loss::Squared };
            forward_of_and_losses_agree::<f64>(&widths, &acts, loss, seed, b)?;
            forward_of_and_losses_agree::<f32>(&widths, &acts, loss, seed, b)?;
        }
    }

    #[test]
    fn forward_batch_of_refuses_a_wrong_shape() {
        let net = network::<f64>(&[3, 4, 2], &[Activation::Tanh], Loss::Squared, 1);
        let mut ws = net.batch_workspace(4).unwrap();
        let x = backprop_linalg::Matrix::<f64>::zeros(2, 5);
        assert!(matches!(
            net.forward_batch_of(&mut ws, &x.columns(0, 3)),
            Err(Error::Length { .. })
        ));
        let x = backprop_linalg::Matrix::<f64>::zeros(3, 5);
        assert!(matches!(
            net.forward_batch_of(&mut ws, &x.columns(0, 5)),
            Err(Error::BatchSize { .. })
        ));
        let (mut losses, mut out) = ([0.0; 2], [0.0; 5]);
        assert!(Loss::Squared
            .values_and_outputs(&[0.0; 5], &[0.0; 5], &mut losses, &mut out, false)
            .is_err());
        assert!(Loss::Squared
            .values_and_outputs(&[0.0; 4], &[0.0; 4], &mut [], &mut [0.0; 4], false)
            .is_err());
    }

    /// One batch: the same loss and the same biases to the bit (the biases are updated as
    /// `update` does it), and weights that moved.
    #[test]
    fn one_batch_gives_the_same_loss_and_biases_to_the_bit() {
        let widths = [5, 7, 3];
        let net = network::<f64>(&widths, &[Activation::Tanh], Loss::Squared, 7);
        let data = samples(5, 3, 6, 7);
        let (fused, plain, a, b) = both(net.clone(), &data, 6, 0.3);
        assert_eq!(a.to_bits(), b.to_bits());
        for (f, p) in fused.layers().iter().zip(plain.layers()) {
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(f.bias()), bits(p.bias()));
        }
        assert_ne!(fused.layers()[0].weights(), net.layers()[0].weights());
    }

    #[test]
    fn sgd_batch_refuses_bad_batches_and_changes_nothing() {
        let mut net = network::<f64>(&[3, 4, 2], &[Activation::Sigmoid], Loss::Squared, 1);
        let before = net.clone();
        let mut ws = net.batch_workspace(4).unwrap();
        for (j, (x, y)) in samples(3, 2, 4, 1).iter().enumerate() {
            ws.load(j, x, y).unwrap();
        }
        // No forward pass yet, then one over 3 samples asked for 4.
        assert!(matches!(
            net.sgd_batch(&mut ws, 4, 0.1),
            Err(Error::NoForwardPass)
        ));
        net.forward_batch(&mut ws, 3).unwrap();
        assert!(matches!(
            net.sgd_batch(&mut ws, 4, 0.1),
            Err(Error::NoForwardPass)
        ));
        assert!(matches!(
            net.sgd_batch(&mut ws, 0, 0.1),
            Err(Error::BatchSize { .. })
        ));
        assert!(matches!(
            net.sgd_batch(&mut ws, 5, 0.1),
            Err(Error::BatchSize { .. })
        ));
        let mut wrong = network::<f64>(&[3, 5, 2], &[Activation::Sigmoid], Loss::Squared, 1)
            .batch_workspace(4)
            .unwrap();
        assert!(matches!(
            net.sgd_batch(&mut wrong, 2, 0.1),
            Err(Error::BufferMismatch { .. })
        ));
        assert_eq!(net, before);
        // A step consumes the forward pass: the next needs a new one.
        net.sgd_batch(&mut ws, 3, 0.1).unwrap();
        assert_ne!(net, before);
        assert!(matches!(
            net.sgd_batch(&mut ws, 3, 0.1),
            Err(Error::NoForwardPass)
        ));
    }
}
