//! Data sets: samples as the columns of two matrices.

use backprop_linalg::{Matrix, Real};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{invalid, Error, Result};

/// A data set of `m >= 1` samples `(x_k, y_k)`, stored as columns: `x` is `n_0 x m` and `y` is
/// `n_d x m` (column-major, so each sample is one contiguous slice).
///
/// ```
/// use backprop_optim::Dataset;
/// let xor = Dataset::from_rows(
///     &[vec![0.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0], vec![1.0, 1.0]],
///     &[vec![0.0], vec![1.0], vec![1.0], vec![0.0]],
/// )?;
/// assert_eq!((xor.len(), xor.inputs(), xor.outputs()), (4, 2, 1));
/// assert_eq!((xor.x(2), xor.y(2)), (&[1.0, 0.0][..], &[1.0][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T: Real = f64> {
    x: Matrix<T>,
    y: Matrix<T>,
}

impl<T: Real> Dataset<T> {
    /// A data set from inputs `x` (`n_0 x m`) and targets `y` (`n_d x m`), one sample a column.
    ///
    /// # Errors
    /// [`Error::Data`] if the column counts differ, there are no samples, or a width is 0.
    pub fn new(x: Matrix<T>, y: Matrix<T>) -> Result<Self> {
        if x.ncols() != y.ncols() {
            return Err(Error::Data {
                message: format!("{} inputs but {} targets", x.ncols(), y.ncols()),
            });
        }
        if x.ncols() == 0 {
            return Err(Error::Data {
                message: "no samples".into(),
            });
        }
        if x.nrows() == 0 || y.nrows() == 0 {
            return Err(Error::Data {
                message: "samples need at least one input and one target value".into(),
            });
        }
        Ok(Dataset { x, y })
    }

    /// A data set from rows, one sample per row: `x_rows[k]` is `x_k`, `y_rows[k]` is `y_k`.
    ///
    /// # Errors
    /// [`Error::Data`] for different row counts, no rows, or rows of different lengths.
    pub fn from_rows(x_rows: &[Vec<T>], y_rows: &[Vec<T>]) -> Result<Self> {
        fn matrix<T: Real>(rows: &[Vec<T>], what: &str) -> Result<Matrix<T>> {
            let n = rows.first().map_or(0, Vec::len);
            if let Some((k, row)) = rows.iter().enumerate().find(|(_, r)| r.len() != n) {
                return Err(Error::Data {
                    message: format!("{what} row {k} has {} values, row 0 has {n}", row.len()),
                });
            }
            Ok(Matrix::from_fn(n, rows.len(), |r, c| rows[c][r]))
        }
        if x_rows.len() != y_rows.len() {
            return Err(Error::Data {
                message: format!(
                    "{} input rows but {} target rows",
                    x_rows.len(),
                    y_rows.len()
                ),
            });
        }
        Dataset::new(matrix(x_rows, "input")?, matrix(y_rows, "target")?)
    }

    /// The number of samples `m`.
    pub fn len(&self) -> usize {
        self.x.ncols()
    }

    /// Always false: a data set has at least one sample.
    pub fn is_empty(&self) -> bool {
        self.x.ncols() == 0
    }

    /// The input width `n_0`.
    pub fn inputs(&self) -> usize {
        self.x.nrows()
    }

    /// The target width `n_d`.
    pub fn outputs(&self) -> usize {
        self.y.nrows()
    }

    /// The input `x_k` of sample `k`.
    ///
    /// # Panics
    /// If `k >= len()`.
    pub fn x(&self, k: usize) -> &[T] {
        let n = self.x.nrows();
        &self.x.as_slice()[k * n..(k + 1) * n]
    }

    /// The target `y_k` of sample `k`.
    ///
    /// # Panics
    /// If `k >= len()`.
    pub fn y(&self, k: usize) -> &[T] {
        let n = self.y.nrows();
        &self.y.as_slice()[k * n..(k + 1) * n]
    }

    /// All inputs, `n_0 x m`.
    pub fn x_matrix(&self) -> &Matrix<T> {
        &self.x
    }

    /// All targets, `n_d x m`.
    pub fn y_matrix(&self) -> &Matrix<T> {
        &self.y
    }

    /// The samples at `indices`, in that order (repeats allowed).
    ///
    /// # Panics
    /// If `indices` is empty or holds an index `>= len()`.
    pub fn subset(&self, indices: &[usize]) -> Dataset<T> {
        assert!(!indices.is_empty(), "subset: no indices");
        let pick =
            |m: &Matrix<T>| Matrix::from_fn(m.nrows(), indices.len(), |r, c| m[(r, indices[c])]);
        Dataset {
            x: pick(&self.x),
            y: pick(&self.y),
        }
    }

    /// A seeded random split into `(train, validation)` with `round(fraction * m)` validation
    /// samples, at least 1 and at most `m - 1`. Both parts keep the data order; which samples go
    /// where depends on `seed` alone (a [`ChaCha8Rng`] shuffle of `0..m`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `0 < fraction < 1`; [`Error::Data`] for fewer than 2 samples.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Dataset<T>, Dataset<T>)> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(invalid(
                "validation fraction",
                format!("{fraction} is not between 0 and 1 (exclusive)"),
            ));
        }
        let m = self.len();
        if m < 2 {
            return Err(Error::Data {
                message: format!("cannot split {m} sample(s) into training and validation"),
            });
        }
        let n_val = ((fraction * m as f64).round() as usize).clamp(1, m - 1);
        let mut order: Vec<usize> = (0..m).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let (val, train) = order.split_at_mut(n_val);
        val.sort_unstable();
        train.sort_unstable();
        Ok((self.subset(train), self.subset(val)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(m: usize) -> Dataset {
        let x: Vec<Vec<f64>> = (0..m).map(|k| vec![k as f64]).collect();
        let y: Vec<Vec<f64>> = (0..m).map(|k| vec![2.0 * k as f64]).collect();
        Dataset::from_rows(&x, &y).unwrap()
    }

    #[test]
    fn split_partitions_the_samples_deterministically() {
        let data = line(10);
        let (train, val) = data.split(0.3, 7).unwrap();
        assert_eq!((train.len(), val.len()), (7, 3));
        let mut all: Vec<f64> = (0..7).map(|k| train.x(k)[0]).collect();
        all.extend((0..3).map(|k| val.x(k)[0]));
        all.sort_by(f64::total_cmp);
        assert_eq!(all, (0..10).map(|k| k as f64).collect::<Vec<_>>());
        for k in 0..3 {
            assert_eq!(val.y(k)[0], 2.0 * val.x(k)[0]);
        }
        assert_eq!(data.split(0.3, 7).unwrap(), (train, val.clone()));
        let others = (0..20)
            .filter(|&s| data.split(0.3, s).unwrap().1 != val)
            .count();
        assert!(others > 0, "the split ignores its seed");
    }

    #[test]
    fn split_keeps_at_least_one_sample_on_each_side() {
        let data = line(3);
        assert_eq!(data.split(0.01, 1).unwrap().1.len(), 1);
        assert_eq!(data.split(0.99, 1).unwrap().0.len(), 1);
        assert!(matches!(
            data.split(0.0, 1),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(line(1).split(0.5, 1), Err(Error::Data { .. })));
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(
            Dataset::<f64>::from_rows(&[vec![1.0], vec![1.0, 2.0]], &[vec![0.0], vec![1.0]])
                .is_err()
        );
        assert!(Dataset::<f64>::from_rows(&[vec![1.0]], &[]).is_err());
        assert!(Dataset::<f64>::from_rows(&[], &[]).is_err());
    }
}
