//! Datasets: samples as the columns of two matrices.

use backprop_linalg::{Matrix, Real};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{Error, Result};

/// A dataset of `m` samples `(x_k, y_k)`: `x` is `n_inputs x m` and `y` is `n_outputs x m`, one
/// sample a column, so that each sample's input and target are contiguous slices.
///
/// ```
/// use backprop_optim::Dataset;
/// let data = Dataset::from_rows(&[vec![0.0, 1.0], vec![1.0, 0.0]], &[vec![1.0], vec![1.0]])?;
/// assert_eq!((data.len(), data.inputs(), data.outputs()), (2, 2, 1));
/// assert_eq!(data.x(1), &[1.0, 0.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T: Real = f64> {
    x: Matrix<T>,
    y: Matrix<T>,
}

impl<T: Real> Dataset<T> {
    /// A dataset from inputs `x` (`n_inputs x m`) and targets `y` (`n_outputs x m`).
    ///
    /// # Errors
    /// [`Error::Data`] if the column counts differ, or there are no samples, inputs or outputs.
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
                message: "samples need at least one input and one target".into(),
            });
        }
        Ok(Dataset { x, y })
    }

    /// A dataset from one row per sample.
    ///
    /// # Errors
    /// [`Error::Data`] for ragged rows, different row counts or an empty dataset.
    pub fn from_rows(x_rows: &[Vec<T>], y_rows: &[Vec<T>]) -> Result<Self> {
        let columns = |rows: &[Vec<T>], what: &str| -> Result<Matrix<T>> {
            let n = rows.first().map_or(0, Vec::len);
            if let Some(k) = rows.iter().position(|r| r.len() != n) {
                return Err(Error::Data {
                    message: format!("{what} row {k} has {} values, row 0 has {n}", rows[k].len()),
                });
            }
            Ok(Matrix::from_fn(n, rows.len(), |i, j| rows[j][i]))
        };
        if x_rows.len() != y_rows.len() {
            return Err(Error::Data {
                message: format!(
                    "{} input rows but {} target rows",
                    x_rows.len(),
                    y_rows.len()
                ),
            });
        }
        Dataset::new(columns(x_rows, "input")?, columns(y_rows, "target")?)
    }

    /// The number of samples `m`.
    pub fn len(&self) -> usize {
        self.x.ncols()
    }

    /// Always false: a dataset has at least one sample.
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

    /// Sample `k`'s input.
    ///
    /// # Panics
    /// If `k >= len()`.
    pub fn x(&self, k: usize) -> &[T] {
        let n = self.inputs();
        &self.x.as_slice()[k * n..(k + 1) * n]
    }

    /// Sample `k`'s target.
    ///
    /// # Panics
    /// If `k >= len()`.
    pub fn y(&self, k: usize) -> &[T] {
        let n = self.outputs();
        &self.y.as_slice()[k * n..(k + 1) * n]
    }

    /// All inputs, one sample a column.
    pub fn inputs_matrix(&self) -> &Matrix<T> {
        &self.x
    }

    /// All targets, one sample a column.
    pub fn targets_matrix(&self) -> &Matrix<T> {
        &self.y
    }

    /// The samples at `indices`, in that order.
    ///
    /// # Panics
    /// If an index is out of range, or `indices` is empty.
    pub fn subset(&self, indices: &[usize]) -> Dataset<T> {
        assert!(!indices.is_empty(), "subset: no indices");
        let pick =
            |m: &Matrix<T>| Matrix::from_fn(m.nrows(), indices.len(), |i, j| m[(i, indices[j])]);
        Dataset {
            x: pick(&self.x),
            y: pick(&self.y),
        }
    }

    /// A seeded random split into `(train, validation)`, with `round(fraction m)` validation
    /// samples, at least one and leaving at least one for training. The same `seed` gives the same
    /// split on every machine (ChaCha8, stream 2).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `0 < fraction < 1`; [`Error::Data`] with fewer than 2 samples.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Dataset<T>, Dataset<T>)> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(crate::error::invalid(
                "validation",
                format!("the validation fraction must be between 0 and 1, not {fraction}"),
            ));
        }
        let m = self.len();
        if m < 2 {
            return Err(Error::Data {
                message: format!("cannot split {m} sample(s) into training and validation"),
            });
        }
        let k = ((fraction * m as f64).round() as usize).clamp(1, m - 1);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(2);
        let mut order: Vec<usize> = (0..m).collect();
        order.shuffle(&mut rng);
        let (validation, train) = order.split_at(k);
        let (mut train, mut validation) = (train.to_vec(), validation.to_vec());
        // Keep data order inside each part: easier to read and to reproduce by hand.
        train.sort_unstable();
        validation.sort_unstable();
        Ok((self.subset(&train), self.subset(&validation)))
    }

    /// Converts to another precision.
    pub fn cast<U: Real>(&self) -> Dataset<U> {
        Dataset {
            x: self.x.map(|v| U::from_f64(v.as_f64())),
            y: self.y.map(|v| U::from_f64(v.as_f64())),
        }
    }
}

/// The lecture's XOR as a dataset, for the unit tests of the crate.
#[cfg(test)]
pub(crate) fn xor() -> Dataset<f64> {
    Dataset::from_rows(
        &[
            vec![0.0, 0.0],
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![1.0, 1.0],
        ],
        &[vec![0.0], vec![1.0], vec![1.0], vec![0.0]],
    )
    .expect("four rows of two inputs and one target")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(m: usize) -> Dataset<f64> {
        let x: Vec<Vec<f64>> = (0..m).map(|k| vec![k as f64, -(k as f64)]).collect();
        let y: Vec<Vec<f64>> = (0..m).map(|k| vec![(k % 2) as f64]).collect();
        Dataset::from_rows(&x, &y).unwrap()
    }

    #[test]
    fn split_is_seeded_disjoint_and_complete() {
        let d = data(50);
        let (train, val) = d.split(0.2, 7).unwrap();
        assert_eq!((train.len(), val.len()), (40, 10));
        let mut seen: Vec<f64> = (0..train.len())
            .map(|k| train.x(k)[0])
            .chain((0..val.len()).map(|k| val.x(k)[0]))
            .collect();
        seen.sort_by(f64::total_cmp);
        assert_eq!(seen, (0..50).map(|k| k as f64).collect::<Vec<_>>());
        assert_eq!(d.split(0.2, 7).unwrap(), (train.clone(), val.clone()));
        assert_ne!(d.split(0.2, 8).unwrap().1, val);
    }

    #[test]
    fn bad_data_is_an_error() {
        assert!(
            Dataset::<f64>::from_rows(&[vec![1.0], vec![1.0, 2.0]], &[vec![0.0], vec![0.0]])
                .is_err()
        );
        assert!(Dataset::<f64>::from_rows(&[], &[]).is_err());
        assert!(Dataset::<f64>::from_rows(&[vec![1.0]], &[]).is_err());
        assert!(data(1).split(0.5, 0).is_err());
        assert!(data(5).split(1.0, 0).is_err());
        assert!(data(5).split(f64::NAN, 0).is_err());
    }
}
