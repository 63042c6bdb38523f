//! Layers, the network, its builder, and the per-sample forward and backward passes.

use backprop_activations::Activation;
use backprop_linalg::{gemv_ger, gemv_tr_sweep, ger, Matrix, MatrixViewMut, Real, Sweep};

use crate::{Error, Gradients, Loss, Result, SgdSession, Workspace};

/// One layer `i`: the weights `W_i` (`n_i x n_{i+1}`, column `j` is `w_{i,j}`), the bias `b_i`
/// (length `n_{i+1}`) and the activation `σ` of the nodes it feeds.
///
/// The bias is the lecture's constant node: a node of constant value `c` appended to `v_i`, with
/// no incoming weights and outgoing weights `u` to the nodes of layer `i + 1`, adds `c u` to
/// `s_{i+1}`; `b_i` is that `c u`, so `s_{i+1} = W_i^T v_i + b_i` is the slide's sum with the
/// constant node written apart. The slides' "presentation trick" keeps the node inside `W_i`
/// instead: an ordinary node whose incoming weights are zero (`w_{i,k} = 0`), so that for the
/// sigmoid its value is `σ(0) = 1/2` and `v_{i+1} = σ(W_i^T v_i)` with no separate term; in that
/// form `b_i` is half of the node's row of `W_i`. Here the bias stays explicit, with the constant
/// folded in.
///
/// The shapes of a layer are fixed when it is made: the accessors hand out views and slices, never
/// a matrix that could be replaced by one of another shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer<T: Real = f64> {
    pub(crate) w: Matrix<T>,
    pub(crate) b: Vec<T>,
    pub(crate) activation: Activation,
}

impl<T: Real> Layer<T> {
    /// A layer from its weights `W_i` (`n_i x n_{i+1}`), bias (`n_{i+1}`) and activation.
    ///
    /// # Errors
    /// [`Error::ZeroWidth`] if `W` has no rows or no columns, [`Error::Length`] if the bias does not
    /// have one entry per column.
    pub fn new(w: Matrix<T>, b: Vec<T>, activation: Activation) -> Result<Self> {
        if w.nrows() == 0 {
            return Err(Error::ZeroWidth { layer: 0 });
        }
        if w.ncols() == 0 {
            return Err(Error::ZeroWidth { layer: 1 });
        }
        if b.len() != w.ncols() {
            return Err(Error::Length {
                what: "bias",
                expected: w.ncols(),
                got: b.len(),
            });
        }
        Ok(Layer { w, b, activation })
    }

    /// A layer of zeros, `n_in x n_out`.
    ///
    /// # Errors
    /// [`Error::ZeroWidth`] if either width is 0.
    pub fn zeros(n_in: usize, n_out: usize, activation: Activation) -> Result<Self> {
        Layer::new(
            Matrix::zeros(n_in, n_out),
            vec![T::zero(); n_out],
            activation,
        )
    }

    /// `n_i`, the number of inputs.
    pub fn inputs(&self) -> usize {
        self.w.nrows()
    }

    /// `n_{i+1}`, the number of nodes.
    pub fn outputs(&self) -> usize {
        self.w.ncols()
    }

    /// `W_i`.
    pub fn weights(&self) -> &Matrix<T> {
        &self.w
    }

    /// `W_i`, mutable in place (its shape cannot change).
    pub fn weights_mut(&mut self) -> MatrixViewMut<'_, T> {
        self.w.as_view_mut()
    }

    /// `b_i`.
    pub fn bias(&self) -> &[T] {
        &self.b
    }

    /// `b_i`, mutable.
    pub fn bias_mut(&mut self) -> &mut [T] {
        &mut self.b
    }

    /// `W_i` and `b_i` at once, both mutable: the layer's parameters for an optimizer.
    pub fn params_mut(&mut self) -> (&mut [T], &mut [T]) {
        (self.w.as_mut_slice(), &mut self.b)
    }

    /// The activation `σ` of this layer's nodes.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Changes the activation.
    pub fn set_activation(&mut self, activation: Activation) {
        self.activation = activation;
    }
}

/// The lecture's multi-layer network: layers `W_0, ..., W_{d-1}` and a loss.
///
/// The forward pass is the lecture's, with a bias per layer: `v_0 = x`, then for `l = 1..d`,
/// `s_l = W_{l-1}^T v_{l-1} + b_{l-1}` and `v_l = σ_l(s_l)`; the output is `v_d` (a vector of
/// `k = n_d` outputs, the lecture's `v_{d,1}` when `k = 1`).
///
/// All passes run on caller-owned buffers ([`Workspace`], [`Gradients`]) made once per network, so
/// a training loop allocates nothing per step.
///
/// ```
/// use backprop_network::{Activation, Loss, Network};
/// let mut net = Network::<f64>::builder(2)
///     .layer(3, Activation::Tanh)
///     .layer(1, Activation::Sigmoid)
///     .loss(Loss::Squared)
///     .build()?;
/// net.layer_mut(0).weights_mut().fill(0.5);
/// let mut ws = net.workspace();
/// let v_d = net.forward(&mut ws, &[1.0, -1.0])?;
/// assert_eq!(v_d, &[0.5]); // s_1 = 0, so v_1 = 0 and s_2 = 0
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Network<T: Real = f64> {
    pub(crate) layers: Vec<Layer<T>>,
    loss: Loss,
}

/// Builds a [`Network`] layer by layer, with zero weights (see the optimizer crate for random
/// initialization, which the lecture insists on).
#[derive(Clone, Debug)]
pub struct Builder {
    inputs: usize,
    layers: Vec<(usize, Activation)>,
    loss: Loss,
}

impl Builder {
    /// Appends a layer of `width` nodes with activation `σ`.
    pub fn layer(mut self, width: usize, activation: Activation) -> Self {
        self.layers.push((width, activation));
        self
    }

    /// Appends hidden layers of the given widths, all with the same activation.
    pub fn hidden(mut self, widths: &[usize], activation: Activation) -> Self {
        self.layers.extend(widths.iter().map(|&w| (w, activation)));
        self
    }

    /// Sets the loss (default [`Loss::Squared`], the lecture's).
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// Builds the network with all weights and biases zero.
    ///
    /// # Errors
    /// [`Error::NoLayers`] without layers, [`Error::ZeroWidth`] for a width of 0.
    pub fn build<T: Real>(self) -> Result<Network<T>> {
        if self.inputs == 0 {
            return Err(Error::ZeroWidth { layer: 0 });
        }
        let mut n_in = self.inputs;
        let mut layers = Vec::with_capacity(self.layers.len());
        for (i, &(n_out, activation)) in self.layers.iter().enumerate() {
            if n_out == 0 {
                return Err(Error::ZeroWidth { layer: i + 1 });
            }
            layers.push(Layer::zeros(n_in, n_out, activation)?);
            n_in = n_out;
        }
        Network::new(layers, self.loss)
    }
}

impl Network<f64> {
    /// Starts a [`Builder`] for a network with `inputs` input nodes (`n_0`).
    pub fn builder(inputs: usize) -> Builder {
        Builder {
            inputs,
            layers: Vec::new(),
            loss: Loss::Squared,
        }
    }
}

impl<T: Real> Network<T> {
    /// A network from its layers; layer `i`'s outputs must be layer `i + 1`'s inputs.
    ///
    /// # Errors
    /// [`Error::NoLayers`] for an empty list, [`Error::WeightShape`] where the widths do not chain.
    pub fn new(layers: Vec<Layer<T>>, loss: Loss) -> Result<Self> {
        let first = layers.first().ok_or(Error::NoLayers)?;
        let mut n_in = first.inputs();
        for (i, layer) in layers.iter().enumerate() {
            if layer.inputs() != n_in {
                return Err(Error::WeightShape {
                    layer: i,
                    rows: n_in,
                    cols: layer.outputs(),
                    got_rows: layer.inputs(),
                    got_cols: layer.outputs(),
                });
            }
            n_in = layer.outputs();
        }
        Ok(Network { layers, loss })
    }

    /// The depth `d`: the number of weight matrices.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// The widths `n_0, n_1, ..., n_d`.
    pub fn widths(&self) -> Vec<usize> {
        std::iter::once(self.inputs())
            .chain(self.layers.iter().map(Layer::outputs))
            .collect()
    }

    /// `n_0`, the input width.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs()
    }

    /// `n_d`, the output width.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs()
    }

    /// The number of trainable parameters (weights and biases).
    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| (l.inputs() + 1) * l.outputs())
            .sum()
    }

    /// The layers `0..d`.
    pub fn layers(&self) -> &[Layer<T>] {
        &self.layers
    }

    /// Layer `i`, mutable (weights, bias and activation; not its shape).
    ///
    /// # Panics
    /// If `i >= depth()`.
    pub fn layer_mut(&mut self, i: usize) -> &mut Layer<T> {
        &mut self.layers[i]
    }

    /// All layers, mutable (not their number or shapes).
    pub fn layers_mut(&mut self) -> &mut [Layer<T>] {
        &mut self.layers
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// Changes the loss.
    pub fn set_loss(&mut self, loss: Loss) {
        self.loss = loss;
    }

    /// A workspace for the per-sample passes of this network.
    pub fn workspace(&self) -> Workspace<T> {
        Workspace::new(&self.widths())
    }

    /// A zero gradient of this network's shape.
    pub fn gradients(&self) -> Gradients<T> {
        Gradients::new(&self.widths())
    }

    /// Converts every weight to another precision (`f64` to `f32` or back).
    pub fn cast<U: Real>(&self) -> Network<U> {
        let layers = self
            .layers
            .iter()
            .map(|l| Layer {
                w: l.w.map(|x| U::from_f64(x.as_f64())),
                b: l.b.iter().map(|&x| U::from_f64(x.as_f64())).collect(),
                activation: l.activation,
            })
            .collect();
        Network {
            layers,
            loss: self.loss,
        }
    }

    pub(crate) fn check_workspace(&self, widths: &[usize], what: &'static str) -> Result<()> {
        let ok = widths.len() == self.layers.len() + 1
            && widths[0] == self.inputs()
            && self
                .layers
                .iter()
                .zip(&widths[1..])
                .all(|(l, &n)| l.outputs() == n);
        if ok {
            Ok(())
        } else {
            Err(Error::BufferMismatch {
                what,
                expected: self.widths(),
                got: widths.to_vec(),
            })
        }
    }

    pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
        crate::error::check_len(what, expected, got)
    }

    /// The forward pass for one sample `x`: fills `s_l` and `v_l` of every layer in `ws` and
    /// returns the output `v_d`.
    ///
    /// # Errors
    /// [`Error::Length`] if `x` is not `n_0` long, [`Error::BufferMismatch`] if `ws` was made for
    /// another network shape.
    pub fn forward<'w>(&self, ws: &'w mut Workspace<T>, x: &[T]) -> Result<&'w [T]> {
        self.check_workspace(&ws.widths, "workspace")?;
        Self::check_len("input x", self.inputs(), x.len())?;
        ws.v[0].copy_from_slice(x);
        self.forward_loaded(ws);
        Ok(&ws.v[self.layers.len()])
    }

    /// The forward pass on `ws.v[0]`, shapes already checked.
    fn forward_loaded(&self, ws: &mut Workspace<T>) {
        self.forward_from(ws, 0, Sweep::Forward);
    }

    /// The forward pass from layer `first` up, on `ws.v[first]`, each product sweeping the
    /// columns in the order `sweep` (the results do not depend on it).
    pub(crate) fn forward_from(&self, ws: &mut Workspace<T>, first: usize, sweep: Sweep) {
        for (l, layer) in self.layers.iter().enumerate().skip(first) {
            // s_{l+1} = W_l^T v_l + b_l, v_{l+1} = σ(s_{l+1})
            let s = &mut ws.s[l + 1];
            gemv_tr_sweep(s, &layer.w, &ws.v[l], sweep);
            for (s, &b) in s.iter_mut().zip(&layer.b) {
                *s += b;
            }
            layer.activation.apply_to(s, &mut ws.v[l + 1]);
        }
        ws.forwarded = true;
    }

    /// The loss `L(v_d, y)` of one sample, by a forward pass.
    ///
    /// # Errors
    /// As [`forward`](Self::forward), and [`Error::Length`] if `y` is not `n_d` long.
    pub fn loss_of(&self, ws: &mut Workspace<T>, x: &[T], y: &[T]) -> Result<T> {
        Self::check_len("target y", self.outputs(), y.len())?;
        let v_d = self.forward(ws, x)?;
        self.loss.value(v_d, y)
    }

    /// The prediction for one sample: `v_d` for the squared loss, `softmax(v_d)` (class
    /// probabilities) for cross-entropy, written into `out`.
    ///
    /// # Errors
    /// As [`forward`](Self::forward), and [`Error::Length`] if `out` is not `n_d` long.
    pub fn predict_to(&self, ws: &mut Workspace<T>, x: &[T], out: &mut [T]) -> Result<()> {
        Self::check_len("output buffer", self.outputs(), out.len())?;
        let v_d = self.forward(ws, x)?;
        self.loss.output_to(v_d, out)
    }

    /// Backpropagation for the sample of the last forward pass on `ws`, with target `y`: writes
    /// `dL/dW_i` and `dL/db_i` of every layer into `grads` and returns the loss.
    ///
    /// The lecture's recursion, from the top:
    /// `dL/dv_d = v_d - y` (squared loss); for `i = d-1, ..., 0`:
    /// `delta_{i+1} = dL/dv_{i+1} ⊙ σ'(s_{i+1})`, `dL/dW_i = v_i delta_{i+1}^T`,
    /// `dL/db_i = delta_{i+1}`, and `dL/dv_i = W_i delta_{i+1}` (skipped for the input, `i = 0`).
    ///
    /// # Errors
    /// [`Error::NoForwardPass`] if `ws` holds no forward pass, [`Error::Length`] for a target of
    /// the wrong length, [`Error::BufferMismatch`] for buffers of another network shape.
    pub fn backward(&self, ws: &mut Workspace<T>, y: &[T], grads: &mut Gradients<T>) -> Result<T> {
        self.check_workspace(&ws.widths, "workspace")?;
        self.check_workspace(&grads.widths, "gradients")?;
        Self::check_len("target y", self.outputs(), y.len())?;
        if !ws.forwarded {
            return Err(Error::NoForwardPass);
        }
        let d = self.layers.len();
        let loss = self.loss.gradient_to(&ws.v[d], y, &mut ws.dv[d])?;
        for i in (0..d).rev() {
            let layer = &self.layers[i];
            let (below, above) = ws.dv.split_at_mut(i + 1);
            let delta = &mut above[0];
            layer
                .activation
                .scale_by_derivative(&ws.s[i + 1], &ws.v[i + 1], delta);
            // dL/dW_i = v_i delta^T: column j is delta_j v_i.
            let v_i = &ws.v[i];
            let n_i = v_i.len();
            for (g_j, &delta_j) in grads.w[i]
                .as_mut_slice()
                .chunks_exact_mut(n_i)
                .zip(delta.iter())
            {
                for (g, &v) in g_j.iter_mut().zip(v_i) {
                    *g = delta_j * v;
                }
            }
            grads.b[i].copy_from_slice(delta);
            if i > 0 {
                backprop_linalg::gemv(&mut below[i], &layer.w, delta);
            }
        }
        Ok(loss)
    }

    /// One step of the lecture's SGD on one sample: a forward pass, backpropagation, and
    /// `W_i <- W_i - eta dL/dW_i`, `b_i <- b_i - eta dL/db_i` for every layer; returns the loss
    /// before the step.
    ///
    /// The backward product and the update are fused: each column `w_{i,j}` is read once, its
    /// part of `dL/dv_i = W_i delta_{i+1}` taken with the old weights, then updated in place. No
    /// gradient is stored and nothing is allocated.
    ///
    /// # Errors
    /// As [`forward`](Self::forward) and [`backward`](Self::backward).
    pub fn sgd_step(&mut self, ws: &mut Workspace<T>, x: &[T], y: &[T], eta: T) -> Result<T> {
        Self::check_len("target y", self.outputs(), y.len())?;
        self.forward(ws, x)?;
        let loss = self.backprop_update_above_first(ws, y, eta)?;
        ger(&mut self.layers[0].w, -eta, &ws.v[0], &ws.dv[1]);
        Ok(loss)
    }

    /// Starts a session of the lecture's per-sample SGD steps on this network, with the
    /// first layer's update deferred and fused into the next step's forward product (see
    /// [`SgdSession`]). The session borrows the network; the last deferred update is applied when
    /// it ends, so the weights are never seen stale.
    ///
    /// # Errors
    /// [`Error::BufferMismatch`] if `ws` was made for another network shape.
    pub fn sgd_session<'a>(&'a mut self, ws: &'a mut Workspace<T>) -> Result<SgdSession<'a, T>> {
        self.check_workspace(&ws.widths, "workspace")?;
        ws.forwarded = false;
        Ok(SgdSession::new(self, ws))
    }

    /// Backpropagation from the loss gradient down to layer 1, updating every layer above the
    /// first as it goes (the fused backward product and rank-1 update), and leaving
    /// `delta_1 = dL/dv_1 ⊙ σ'(s_1)` in `ws.dv[1]` with the first layer's bias already updated.
    #[inline(always)]
    pub(crate) fn backprop_update_above_first(
        &mut self,
        ws: &mut Workspace<T>,
        y: &[T],
        eta: T,
    ) -> Result<T> {
        let d = self.layers.len();
        let loss = self.loss.gradient_to(&ws.v[d], y, &mut ws.dv[d])?;
        for i in (0..d).rev() {
            let layer = &mut self.layers[i];
            let (below, above) = ws.dv.split_at_mut(i + 1);
            let delta = &mut above[0];
            layer
                .activation
                .scale_by_derivative(&ws.s[i + 1], &ws.v[i + 1], delta);
            for (b, &g) in layer.b.iter_mut().zip(delta.iter()) {
                *b -= eta * g;
            }
            if i > 0 {
                gemv_ger(&mut below[i], &mut layer.w, delta, -eta, &ws.v[i]);
            }
        }
        // The weights change: the stored pass no longer belongs to them.
        ws.forwarded = false;
        Ok(loss)
    }

    /// `W_i += a G_i` and `b_i += a g_i` for every layer: with `a = -eta` and `grads` the gradient,
    /// the lecture's update.
    ///
    /// # Errors
    /// [`Error::BufferMismatch`] if `grads` has another shape.
    pub fn update(&mut self, a: T, grads: &Gradients<T>) -> Result<()> {
        self.check_workspace(&grads.widths, "gradients")?;
        for (layer, (gw, gb)) in self.layers.iter_mut().zip(grads.w.iter().zip(&grads.b)) {
            backprop_linalg::axpy(layer.w.as_mut_slice(), a, gw.as_slice());
            backprop_linalg::axpy(&mut layer.b, a, gb);
        }
        Ok(())
    }

    /// Every parameter slice in a fixed order, `W_0, b_0, W_1, b_1, ...` (the order of
    /// [`Gradients::slices`]), mutable: for optimizers that work entry by entry.
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut [T]> + '_ {
        self.layers
            .iter_mut()
            .flat_map(|l| [l.w.as_mut_slice(), l.b.as_mut_slice()])
    }

    /// Every parameter slice in the order of [`params_mut`](Self::params_mut).
    pub fn params(&self) -> impl Iterator<Item = &[T]> + '_ {
        self.layers
            .iter()
            .flat_map(|l| [l.w.as_slice(), l.b.as_slice()])
    }

    /// True when every weight and bias is finite.
    pub fn is_finite(&self) -> bool {
        self.params().all(|p| p.iter().all(|x| x.is_finite()))
    }
}
