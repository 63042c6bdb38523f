//! Per-sample SGD in blocks: the lecture's steps, one sample at a time, with the first layer's
//! products gathered into GEMMs over a block of samples.

use backprop_linalg::{axpy, gemm_nt_to, gemm_tr_to, GemmScratch, Matrix, Real};

use crate::{Error, Network, Result, Workspace};

/// Samples per block of [`Network::sgd_block`] when training chooses it.
const BLOCK: usize = 32;

/// The first-layer weights from which blocks pay.
const BLOCK_MIN_WEIGHTS: usize = 16_384;

/// The buffers of [`Network::sgd_block`]: the block's inputs `X` (`n_0 x capacity`) and targets,
/// the first layer's sums at the start of the block `S = W_0^T X`, the Gram matrix `G = X^T X`,
/// the first layer's scaled deltas `U` (`n_1 x capacity`), the per-sample [`Workspace`] of the
/// layers above, and the GEMM's packing buffers.
///
/// ```
/// use backprop_network::{Activation, Network};
/// let mut net = Network::builder(3)
///     .layer(4, Activation::Tanh)
///     .layer(1, Activation::Sigmoid)
///     .build::<f64>()?;
/// for (k, w) in net.params_mut().flatten().enumerate() {
///     *w = 0.05 * k as f64 - 0.4;
/// }
/// let samples = [([1.0, 0.0, 0.5], [1.0]), ([0.0, 1.0, -0.5], [0.0])];
/// let mut plain = net.clone();
///
/// let mut block = net.block_workspace(2)?;
/// for (j, (x, y)) in samples.iter().enumerate() {
///     block.load(j, x, y)?;
/// }
/// let losses = net.sgd_block(&mut block, 2, 0.5)?;
///
/// let mut ws = plain.workspace();
/// let mut plain_losses = 0.0;
/// for (x, y) in &samples {
///     plain_losses += plain.sgd_step(&mut ws, x, y, 0.5)?;
/// }
/// // The same steps; only the rounding of the first layer's sums differs.
/// assert!((losses - plain_losses).abs() < 1e-12);
/// for (a, b) in net.params().flatten().zip(plain.params().flatten()) {
///     assert!((a - b).abs() < 1e-12);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct BlockWorkspace<T: Real = f64> {
    capacity: usize,
    x: Matrix<T>,
    y: Matrix<T>,
    s: Matrix<T>,
    gram: Matrix<T>,
    u: Matrix<T>,
    ws: Workspace<T>,
    gemm: GemmScratch<T>,
}

impl<T: Real> BlockWorkspace<T> {
    /// Buffers for blocks of up to `capacity` samples of a network of widths `n_0, ..., n_d`
    /// (at least two widths).
    ///
    /// # Errors
    /// [`Error::BatchSize`] for a capacity of 0, [`Error::NoLayers`] for fewer than two widths,
    /// [`Error::ZeroWidth`] for a width of 0.
    pub fn new(widths: &[usize], capacity: usize) -> Result<Self> {
        if capacity == 0 {
            return Err(Error::BatchSize { capacity, got: 0 });
        }
        crate::error::check_widths(widths)?;
        let (n_0, n_1, n_d) = (widths[0], widths[1], widths[widths.len() - 1]);
        let mut gemm = GemmScratch::new();
        // The shapes (m, k, n) of S = W_0^T X, G = X^T X and W_0 += X U^T.
        gemm.reserve(n_1, n_0, capacity);
        gemm.reserve(capacity, n_0, capacity);
        gemm.reserve(n_0, capacity, n_1);
        Ok(BlockWorkspace {
            capacity,
            x: Matrix::zeros(n_0, capacity),
            y: Matrix::zeros(n_d, capacity),
            s: Matrix::zeros(n_1, capacity),
            gram: Matrix::zeros(capacity, capacity),
            u: Matrix::zeros(n_1, capacity),
            ws: Workspace::new(widths),
            gemm,
        })
    }

    /// The largest block these buffers hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Puts sample `(x, y)` at place `j` of the block (the `j`-th step).
    ///
    /// # Errors
    /// [`Error::BatchSize`] if `j >= capacity`, [`Error::Length`] for an `x` or `y` of the wrong
    /// length.
    pub fn load(&mut self, j: usize, x: &[T], y: &[T]) -> Result<()> {
        crate::batch::load_column(&mut self.x, &mut self.y, j, x, y)
    }

    /// The per-sample buffers: after a block, the forward pass of its last sample (taken with the
    /// weights before that sample's step).
    pub fn workspace(&self) -> &Workspace<T> {
        &self.ws
    }
}

impl<T: Real> Network<T> {
    /// The block size that per-sample training uses for this network: 1 (plain steps in an
    /// [`SgdSession`](crate::SgdSession)) when the first layer is small, else the samples per
    /// [`sgd_block`](Self::sgd_block).
    pub fn sgd_block_size(&self) -> usize {
        let (n_0, n_1) = self.layers[0].w.shape();
        if n_0 * n_1 >= BLOCK_MIN_WEIGHTS {
            BLOCK
        } else {
            1
        }
    }

    /// A workspace for [`sgd_block`](Self::sgd_block) with blocks of up to `capacity` samples.
    ///
    /// # Errors
    /// [`Error::BatchSize`] for a capacity of 0.
    pub fn block_workspace(&self, capacity: usize) -> Result<BlockWorkspace<T>> {
        BlockWorkspace::new(&self.widths(), capacity)
    }

    /// The lecture's per-sample SGD on the first `b` samples loaded into `bw`, in order, with rate
    /// `eta`: `b` steps `W_i <- W_i - eta dL/dW_i`, each on one sample and the weights its
    /// predecessors left. Returns the sum of the `b` losses, each taken before its step. Nothing
    /// is allocated.
    ///
    /// The same steps as `b` calls of [`sgd_step`](Self::sgd_step), reorganized for the first
    /// layer, whose weights dominate a wide-input network and whose inputs are known before the
    /// block starts. Sample `t`'s step changes `W_0` by the rank-one `x_t u_t^T`, with
    /// `u_t = -eta delta_{1,t}`, so when sample `t` comes, `W_0` is the block's first `W` plus
    /// `sum_{k<t} x_k u_k^T`, and its sums are
    ///
    /// `s_{1,t} = W^T x_t + sum_{k<t} (x_k · x_t) u_k + b_0`.
    ///
    /// The block computes `S = W^T X` and the Gram matrix `G = X^T X` by two GEMMs, then runs
    /// the steps one by one (`s_{1,t}` from column `t` of `S` and the corrections of `G`; the
    /// layers above on matrix-vector kernels, their backward products fused with their updates,
    /// as in `sgd_step`), and at the end applies the `b` deferred updates of `W_0` at once,
    /// `W_0 += X U^T`, by a third GEMM. `W_0` is then read twice and written once per block
    /// instead of read and written at every step, and its arithmetic runs in the GEMM's
    /// microkernels. The first layer's bias is updated at every step.
    ///
    /// In exact arithmetic the result is that of `b` plain steps; in floating point the first
    /// layer's sums are added in another order, so the weights differ from those of `sgd_step`
    /// in the last bits (a relative `1e-15` or so per block in `f64`), and the result depends on
    /// how the samples are cut into blocks. It is deterministic: the same blocks give the same
    /// bits. [`SgdSession`](crate::SgdSession) keeps the plain steps' bits, and is faster for
    /// small first layers.
    ///
    /// # Errors
    /// [`Error::BatchSize`] unless `1 <= b <= capacity`, [`Error::BufferMismatch`] for a
    /// workspace of another network shape.
    pub fn sgd_block(&mut self, bw: &mut BlockWorkspace<T>, b: usize, eta: T) -> Result<T> {
        self.check_workspace(&bw.ws.widths, "block workspace")?;
        if b == 0 || b > bw.capacity {
            return Err(Error::BatchSize {
                capacity: bw.capacity,
                got: b,
            });
        }
        let n_d = self.outputs();
        let x = bw.x.columns(0, b);
        // S = W^T X and G = X^T X, with W the first layer's weights at the start of the block.
        gemm_tr_to(
            &mut bw.s.columns_mut(0, b),
            &self.layers[0].w,
            &x,
            &mut bw.gemm,
        );
        // (All of X on the left: G's first b rows are the ones read.)
        gemm_tr_to(&mut bw.gram.columns_mut(0, b), &bw.x, &x, &mut bw.gemm);
        let mut losses = T::zero();
        for t in 0..b {
            let ws = &mut bw.ws;
            // s_{1,t} = W^T x_t + sum_{k<t} (x_k · x_t) u_k + b_0.
            let s = &mut ws.s[1];
            s.copy_from_slice(bw.s.column(t).as_slice());
            let g_t = bw.gram.column(t);
            for k in 0..t {
                axpy(s, g_t[k], bw.u.column(k).as_slice());
            }
            let first = &self.layers[0];
            for (s, &bias) in s.iter_mut().zip(&first.b) {
                *s += bias;
            }
            first.activation.apply_to(s, &mut ws.v[1]);
            self.forward_from(ws, 1, backprop_linalg::Sweep::Backward);
            let y = &bw.y.as_slice()[t * n_d..(t + 1) * n_d];
            losses += self.backprop_update_above_first(ws, y, eta)?;
            // u_t = -eta delta_{1,t}: W_0's part of this step, applied at the end of the block.
            for (u, &delta) in bw.u.column_mut(t).iter_mut().zip(&ws.dv[1]) {
                *u = -eta * delta;
            }
        }
        // The layers above read no v_0: it is set once, so that the workspace holds the last
        // sample's pass.
        bw.ws.v[0].copy_from_slice(bw.x.column(b - 1).as_slice());
        // W_0 += X U^T: the block's b rank-one updates, in one GEMM.
        gemm_nt_to(
            &mut self.layers[0].w.as_view_mut(),
            T::one(),
            &x,
            &bw.u.columns(0, b),
            T::one(),
            &mut bw.gemm,
        );
        Ok(losses)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{network, prop_close, samples_as};
    use crate::{Activation, Error, Loss, Network, Real};
    use proptest::prelude::*;

    /// Runs the samples through `sgd_block` in blocks of `capacity` (the last one shorter) and
    /// through plain `sgd_step`s; returns both networks and both loss sums.
    fn both<T: Real>(
        mut net: Network<T>,
        data: &[(Vec<T>, Vec<T>)],
        capacity: usize,
        eta: T,
    ) -> (Network<T>, Network<T>, T, T) {
        let mut plain = net.clone();
        let mut bw = net.block_workspace(capacity).unwrap();
        let mut block_losses = T::zero();
        for chunk in data.chunks(capacity) {
            for (j, (x, y)) in chunk.iter().enumerate() {
                bw.load(j, x, y).unwrap();
            }
            block_losses += net.sgd_block(&mut bw, chunk.len(), eta).unwrap();
        }
        let mut ws = plain.workspace();
        let mut plain_losses = T::zero();
        for (x, y) in data {
            plain_losses += plain.sgd_step(&mut ws, x, y, eta).unwrap();
        }
        (net, plain, block_losses, plain_losses)
    }

    fn close_to_sgd_steps<T: Real>(
        widths: &[usize],
        acts: &[Activation],
        loss: Loss,
        seed: u64,
        steps: usize,
        capacity: usize,
        tolerance: f64,
    ) -> Result<(), TestCaseError> {
        let net = network::<T>(widths, acts, loss, seed);
        let data = samples_as::<T>(widths[0], widths[widths.len() - 1], steps, seed);
        let (blocked, plain, a, b) = both(net, &data, capacity, T::from_f64(0.1));
        prop_close((&blocked, a), (&plain, b), tolerance)
    }

    proptest! {
        /// The blocks take the same steps as `sgd_step`: the same weights and losses up to the
        /// rounding of the first layer's sums.
        #[test]
        fn blocks_equal_sgd_steps_up_to_rounding(
            widths in proptest::collection::vec(1usize..=19, 2..=5),
            act in 0usize..4,
            cross_entropy in any::<bool>(),
            seed in any::<u64>(),
            steps in 1usize..40,
            capacity in 1usize..=12,
        ) {
            let acts = [Activation::DIFFERENTIABLE[act], Activation::Sigmoid];
            let loss = if cross_entropy { Loss::CrossEntropy } else { Loss::Squared };
            close_to_sgd_steps::<f64>(&widths, &acts, loss, seed, steps, capacity, 1e-11)?;
            close_to_sgd_steps::<f32>(&widths, &acts, loss, seed, steps, capacity, 1e-3)?;
        }

        /// With numbers whose every sum and product is exact (a few binary digits, identity and
        /// ReLU units, a rate of 1/8, few enough steps that no result needs more than 53 bits),
        /// no rounding happens in either order, so the bits are equal: the corrections
        /// `(x_k · x_t) u_k` are exactly the updates that plain steps apply.
        #[test]
        fn blocks_of_exact_numbers_equal_sgd_steps_bit_for_bit(
            n in proptest::collection::vec(1usize..=5, 3),
            deep in any::<bool>(),
            relu in any::<bool>(),
            entries in proptest::collection::vec(-2i32..=2, 200),
            steps in 1usize..=4,
            capacity in 1usize..=4,
        ) {
            let hidden = if relu { Activation::Relu } else { Activation::Identity };
            let mut builder = Network::builder(n[0]).layer(n[1], hidden);
            // One layer: a step adds 7 binary digits to the weights' fractions; two: they double.
            let (n_out, steps) = if deep {
                builder = builder.layer(n[2], Activation::Identity);
                (n[2], steps.min(2))
            } else {
                (n[1], steps)
            };
            let mut net = builder.build::<f64>().unwrap();
            let mut e = entries.iter().cycle().map(|&k| f64::from(k) / 4.0);
            for p in net.params_mut().flatten() {
                *p = e.next().unwrap();
            }
            let data: Vec<(Vec<f64>, Vec<f64>)> = (0..steps)
                .map(|_| {
                    let x = (0..n[0]).map(|_| e.next().unwrap()).collect();
                    let y = (0..n_out).map(|_| e.next().unwrap()).collect();
                    (x, y)
                })
                .collect();
            let (blocked, plain, a, b) = both(net, &data, capacity, 0.125);
            prop_assert_eq!(a.to_bits(), b.to_bits());
            prop_assert_eq!(blocked, plain);
        }
    }

    #[test]
    fn blocks_equal_sgd_steps_on_a_wide_first_layer() {
        // Past the GEMM's register tiles (8 x 6, 16 x 6; 8 wide on AVX-512) and with a short last
        // block.
        let acts = [Activation::Sigmoid];
        close_to_sgd_steps::<f64>(&[300, 70, 3], &acts, Loss::Squared, 5, 45, 32, 1e-11).unwrap();
        close_to_sgd_steps::<f32>(&[300, 70, 3], &acts, Loss::Squared, 5, 45, 32, 1e-3).unwrap();
    }

    #[test]
    fn bad_blocks_are_errors() {
        let mut net = network::<f64>(&[3, 4, 2], &[Activation::Tanh], Loss::Squared, 3);
        let mut bw = net.block_workspace(2).unwrap();
        assert!(matches!(
            net.block_workspace(0),
            Err(Error::BatchSize { got: 0, .. })
        ));
        assert!(matches!(
            bw.load(2, &[0.0; 3], &[0.0; 2]),
            Err(Error::BatchSize { got: 3, .. })
        ));
        assert!(matches!(
            bw.load(0, &[0.0; 2], &[0.0; 2]),
            Err(Error::Length {
                what: "input x",
                ..
            })
        ));
        assert!(matches!(
            bw.load(0, &[0.0; 3], &[0.0; 3]),
            Err(Error::Length {
                what: "target y",
                ..
            })
        ));
        let before = net.clone();
        for b in [0, 3] {
            assert!(matches!(
                net.sgd_block(&mut bw, b, 0.1),
                Err(Error::BatchSize { .. })
            ));
        }
        let other = network::<f64>(&[3, 5, 2], &[Activation::Tanh], Loss::Squared, 3);
        let mut other_bw = other.block_workspace(2).unwrap();
        assert!(matches!(
            net.sgd_block(&mut other_bw, 1, 0.1),
            Err(Error::BufferMismatch { .. })
        ));
        assert_eq!(net, before, "a refused block changes nothing");
    }

    #[test]
    fn large_first_layers_choose_blocks() {
        let small = network::<f64>(&[64, 32, 10], &[Activation::Sigmoid], Loss::Squared, 1);
        let large = network::<f64>(&[784, 128, 10], &[Activation::Sigmoid], Loss::Squared, 1);
        assert_eq!(small.sgd_block_size(), 1);
        assert!(large.sgd_block_size() > 1);
    }
}
