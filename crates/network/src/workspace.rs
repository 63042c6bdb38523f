//! Preallocated buffers: the per-sample [`Workspace`] and the [`Gradients`].

use backprop_linalg::{Matrix, Real};

/// The buffers of the per-sample passes: `s_l`, `v_l` and `dL/dv_l` for every layer `l = 0..=d`.
///
/// Made once by [`Network::workspace`](crate::Network::workspace) and reused for every sample, so
/// the passes allocate nothing. After a forward pass it holds the lecture's `s_l` and `v_l`.
#[derive(Clone, Debug)]
pub struct Workspace<T: Real = f64> {
    pub(crate) widths: Vec<usize>,
    pub(crate) s: Vec<Vec<T>>,
    pub(crate) v: Vec<Vec<T>>,
    pub(crate) dv: Vec<Vec<T>>,
    pub(crate) forwarded: bool,
}

impl<T: Real> Workspace<T> {
    /// Buffers for a network of widths `n_0, ..., n_d`.
    pub fn new(widths: &[usize]) -> Self {
        let buffers = || {
            widths
                .iter()
                .map(|&n| vec![T::zero(); n])
                .collect::<Vec<_>>()
        };
        Workspace {
            widths: widths.to_vec(),
            s: buffers(),
            v: buffers(),
            dv: buffers(),
            forwarded: false,
        }
    }

    /// The widths `n_0, ..., n_d` this workspace was made for.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// `s_l`, the weighted sums of layer `l` (`1..=d`; `s_0` is empty of meaning and all zero).
    ///
    /// # Panics
    /// If `l > d`.
    pub fn s(&self, l: usize) -> &[T] {
        &self.s[l]
    }

    /// `v_l`, the values of layer `l` (`v_0 = x`, `v_d` the output).
    ///
    /// # Panics
    /// If `l > d`.
    pub fn v(&self, l: usize) -> &[T] {
        &self.v[l]
    }

    /// `dL/dv_l ⊙ σ'(s_l)` after a backward pass (`l = 1..=d`): the lecture's
    /// `delta_l`, the gradient of the loss with respect to `s_l`.
    ///
    /// # Panics
    /// If `l > d`.
    pub fn delta(&self, l: usize) -> &[T] {
        &self.dv[l]
    }

    /// The output `v_d` of the last forward pass (empty for a workspace made for no widths).
    pub fn output(&self) -> &[T] {
        self.v.last().map_or(&[], Vec::as_slice)
    }
}

/// The gradient of the loss: `dL/dW_i` and `dL/db_i` for every layer, shaped like the network.
///
/// Also the shape of an optimizer's state (momentum velocities), hence the arithmetic helpers.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients<T: Real = f64> {
    pub(crate) widths: Vec<usize>,
    pub(crate) w: Vec<Matrix<T>>,
    pub(crate) b: Vec<Vec<T>>,
}

impl<T: Real> Gradients<T> {
    /// Zero gradients for a network of widths `n_0, ..., n_d`.
    pub fn new(widths: &[usize]) -> Self {
        let pairs = widths.windows(2);
        Gradients {
            widths: widths.to_vec(),
            w: pairs.clone().map(|p| Matrix::zeros(p[0], p[1])).collect(),
            b: pairs.map(|p| vec![T::zero(); p[1]]).collect(),
        }
    }

    /// The widths `n_0, ..., n_d` these gradients are shaped for.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// `dL/dW_i`, shaped `n_i x n_{i+1}` like `W_i`.
    ///
    /// # Panics
    /// If `i >= d`.
    pub fn weights(&self, i: usize) -> &Matrix<T> {
        &self.w[i]
    }

    /// `dL/db_i`.
    ///
    /// # Panics
    /// If `i >= d`.
    pub fn bias(&self, i: usize) -> &[T] {
        &self.b[i]
    }

    /// Every slice in the order `dW_0, db_0, dW_1, db_1, ...`, the order of
    /// [`Network::params`](crate::Network::params).
    pub fn slices(&self) -> impl Iterator<Item = &[T]> + '_ {
        self.w
            .iter()
            .zip(&self.b)
            .flat_map(|(w, b)| [w.as_slice(), b.as_slice()])
    }

    /// Every slice in the order of [`slices`](Self::slices), mutable.
    pub fn slices_mut(&mut self) -> impl Iterator<Item = &mut [T]> + '_ {
        self.w
            .iter_mut()
            .zip(self.b.iter_mut())
            .flat_map(|(w, b)| [w.as_mut_slice(), b.as_mut_slice()])
    }

    /// Sets every entry to zero.
    pub fn fill_zero(&mut self) {
        self.slices_mut().for_each(|s| s.fill(T::zero()));
    }

    /// Multiplies every entry by `a`.
    pub fn scale(&mut self, a: T) {
        self.slices_mut()
            .for_each(|s| s.iter_mut().for_each(|x| *x *= a));
    }

    /// `self += a other`.
    ///
    /// # Errors
    /// [`Error::BufferMismatch`](crate::Error::BufferMismatch) if the shapes differ; nothing is
    /// changed then.
    pub fn add_scaled(&mut self, a: T, other: &Gradients<T>) -> crate::Result<()> {
        if self.widths != other.widths {
            return Err(crate::Error::BufferMismatch {
                what: "gradients",
                expected: self.widths.clone(),
                got: other.widths.clone(),
            });
        }
        for (x, y) in self.slices_mut().zip(other.slices()) {
            backprop_linalg::axpy(x, a, y);
        }
        Ok(())
    }

    /// The Euclidean norm over all entries, summed in the fixed order of [`slices`](Self::slices).
    pub fn norm(&self) -> T {
        self.slices()
            .flat_map(|s| s.iter())
            .fold(T::zero(), |a, &x| a + x * x)
            .sqrt()
    }

    /// True when every entry is finite.
    pub fn is_finite(&self) -> bool {
        self.slices().all(|s| s.iter().all(|x| x.is_finite()))
    }
}
