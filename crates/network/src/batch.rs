//! Mini-batches: samples as the columns of a matrix, every pass on GEMM.

use backprop_linalg::{gemm_nt_to, gemm_to, gemm_tr_to, GemmScratch, Matrix, MatrixView, Real};

use crate::{Error, Gradients, Network, Result};

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
        for (l, layer) in self.layers().iter().enumerate() {
            let n = layer.outputs();
            let (lower, upper) = ws.v.split_at_mut(l + 1);
            let s = &mut ws.s[l + 1];
            gemm_tr_to(
                &mut s.columns_mut(0, b),
                layer.weights(),
                &lower[l].columns(0, b),
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
        ws.forwarded = b;
        Ok(ws.v[self.depth()].columns(0, b))
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
        let inv_b = T::one() / T::from_f64(b as f64);
        for i in (0..d).rev() {
            let layer = &self.layers()[i];
            let n = layer.outputs();
            let (below, above) = ws.dv.split_at_mut(i + 1);
            let delta = &mut above[0];
            layer.activation().scale_by_derivative(
                &ws.s[i + 1].as_slice()[..n * b],
                &ws.v[i + 1].as_slice()[..n * b],
                &mut delta.as_mut_slice()[..n * b],
            );
            let gb = &mut grads.b[i];
            gb.fill(T::zero());
            for delta_j in delta.as_slice()[..n * b].chunks_exact(n) {
                for (g, &x) in gb.iter_mut().zip(delta_j) {
                    *g += x;
                }
            }
            gb.iter_mut().for_each(|g| *g *= inv_b);
            let delta = delta.columns(0, b);
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
        Ok(loss * inv_b)
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
