//! The matrix kernels of backpropagation, in place and allocation-free, over nalgebra.
//!
//! The lecture's network needs only a handful of linear-algebra operations, and this crate holds exactly
//! those, named as in BLAS and nalgebra:
//!
//! | kernel | what it computes | where backprop uses it |
//! | --- | --- | --- |
//! | [`gemv_tr`] | `out = W^T v` | forward pass, `s_l = W_{l-1}^T v_{l-1}` |
//! | [`gemv`] | `out = W d` | backward pass, `dL/dv_i = W_i delta_{i+1}` |
//! | [`ger`] | `W += a x y^T` | SGD update, `W_i -= eta v_i delta_{i+1}^T` |
//! | [`gemv_ger`] | `out = W d`, then `W += a x d^T` | the backward product fused with the update |
//! | [`ger_gemv_tr`] | `W += x d^T`, then `out = W^T v` | the first layer's deferred update fused with the next forward product |
//! | [`hadamard_mut`] | `a = a ⊙ b` | `delta = dL/dv ⊙ σ'(s)` |
//! | [`gemm_tr_to`] | `S = W^T V` | mini-batch forward (samples as columns) |
//! | [`gemm_to`] | `D = W Δ` | mini-batch backward |
//! | [`gemm_nt_to`] | `G = a V Δ^T + b G` | mini-batch weight gradient |
//!
//! Matrices are nalgebra's column-major [`Matrix`], so column `j` of `W`, the lecture's `w_{i,j}`, is a
//! contiguous slice and every per-sample kernel walks whole columns, four at a time, so that the
//! vector every column meets is loaded once per four columns. The per-sample kernels are safe
//! loops over `chunks_exact` that the compiler vectorizes; each is compiled twice, for the
//! baseline target and for AVX2, and the AVX2 build runs where the CPU has it (detected once, at
//! run time: a plain `cargo build` is enough). Both builds return the same bits: products are
//! rounded before they are added (no fused multiply-add), and dot products sum in a fixed order
//! (see [`dot`]).
//!
//! The mini-batch kernels run the crate's own GEMM: blocked and packed in the manner of BLIS, with
//! strides standing in for transposes, an AVX2 + FMA microkernel where the CPU has them (`8 x 6`
//! tiles for `f64`, `16 x 6` for `f32`), AVX-512 ones of 8 columns with the same bits where it
//! also has AVX-512F, and a portable one elsewhere. Its packing buffers belong to
//! the caller, as a [`GemmScratch`] (a network's batch workspace holds one, reserved for all its
//! layers), so a mini-batch step allocates nothing. It runs on one thread with fixed blocking:
//! equal inputs give equal bits, for any number of threads in the caller, and on every CPU: the
//! portable microkernel computes with `mul_add` in the FMA kernels' order, so it gives their bits
//! (results may still differ in the last bits from other BLAS libraries).
//!
//! ```
//! use backprop_linalg::{gemv_tr, Matrix};
//! // W is 3 x 2: two columns w_0 = (1, 2, 3) and w_1 = (4, 5, 6).
//! let w = Matrix::from_column_slice(3, 2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
//! let mut s = [0.0; 2];
//! gemv_tr(&mut s, &w, &[1.0, 0.0, -1.0]);
//! assert_eq!(s, [1.0 - 3.0, 4.0 - 6.0]);
//! ```
//!
//! # Panics
//! Kernels check their shapes with `assert!` (one comparison per call, not per element) and panic on a
//! mismatch: they are the inner loop, and the crates above validate shapes at their public boundary.
#![doc(test(attr(deny(warnings))))]
#![allow(unsafe_code)]

mod gemm;
mod kernels;
mod level1;
mod level2;
mod level3;
mod real;
mod simd;
mod x86;

pub use nalgebra;

pub use gemm::GemmScratch;
pub use level1::{axpy, axpy_dot_inline, dot, dot_inline, hadamard_mut, hadamard_to};
pub use level2::{gemv, gemv_ger, gemv_tr, gemv_tr_sweep, ger, ger_gemv_tr, Sweep};
pub use level3::{gemm_nt_to, gemm_to, gemm_tr_to};
pub use real::Real;
pub use simd::{with_avx2, with_avx512, with_widest};

/// A dense column-major matrix: the type of every `W_i`, and of mini-batches (samples as columns).
pub type Matrix<T = f64> = nalgebra::DMatrix<T>;
/// A dense column vector: `s_l`, `v_l`, biases.
pub type Vector<T = f64> = nalgebra::DVector<T>;
/// A borrowed view of a column-major matrix, for example the first `b` columns of a batch buffer.
pub type MatrixView<'a, T = f64> = nalgebra::DMatrixView<'a, T>;
/// A mutable view of a column-major matrix.
pub type MatrixViewMut<'a, T = f64> = nalgebra::DMatrixViewMut<'a, T>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matrix(rows: usize, cols: usize, seed: u64) -> Matrix<f64> {
        // A small deterministic pattern with mixed signs; the properties hold for any values.
        Matrix::from_fn(rows, cols, |i, j| {
            let k = (seed as usize).wrapping_add(7 * i + 13 * j + 1) % 17;
            k as f64 / 4.0 - 2.0
        })
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + x.abs().max(y.abs())))
    }

    proptest! {
        #[test]
        fn gemv_tr_matches_nalgebra(rows in 0usize..40, cols in 0usize..20, seed in any::<u64>()) {
            let (w, v) = (matrix(rows, cols, seed), matrix(rows, 1, seed ^ 1));
            let mut out = vec![5.0; cols];
            gemv_tr(&mut out, &w, v.as_slice());
            prop_assert!(close(&out, (w.transpose() * &v).as_slice()));
        }

        #[test]
        fn gemv_matches_nalgebra(rows in 0usize..40, cols in 0usize..20, seed in any::<u64>()) {
            let (w, d) = (matrix(rows, cols, seed), matrix(cols, 1, seed ^ 2));
            let mut out = vec![1.0; rows];
            gemv(&mut out, &w, d.as_slice());
            prop_assert!(close(&out, (&w * &d).as_slice()));
        }

        #[test]
        fn ger_matches_nalgebra(rows in 0usize..40, cols in 0usize..20, seed in any::<u64>()) {
            let (mut w, x, y) = (matrix(rows, cols, seed), matrix(rows, 1, seed ^ 3), matrix(cols, 1, seed ^ 4));
            let expected = &w + (&x * y.transpose()) * -0.5;
            ger(&mut w, -0.5, x.as_slice(), y.as_slice());
            prop_assert!(close(w.as_slice(), expected.as_slice()));
        }

        #[test]
        fn gemv_ger_equals_gemv_then_ger_bit_for_bit(rows in 0usize..40, cols in 0usize..20, seed in any::<u64>()) {
            let (w0, d, x) = (matrix(rows, cols, seed), matrix(cols, 1, seed ^ 5), matrix(rows, 1, seed ^ 6));
            let (mut fused, mut split) = (w0.clone(), w0.clone());
            let (mut out_fused, mut out_split) = (vec![0.0; rows], vec![0.0; rows]);
            gemv_ger(&mut out_fused, &mut fused, d.as_slice(), -0.1, x.as_slice());
            gemv(&mut out_split, &split, d.as_slice());
            ger(&mut split, -0.1, x.as_slice(), d.as_slice());
            prop_assert_eq!(out_fused, out_split);
            prop_assert_eq!(fused, split);
        }

        #[test]
        fn ger_gemv_tr_equals_ger_then_gemv_tr_bit_for_bit(rows in 0usize..40, cols in 0usize..12, seed in any::<u64>()) {
            let w0 = matrix(rows, cols, seed);
            let (d, x, v) = (matrix(cols, 1, seed ^ 13), matrix(rows, 1, seed ^ 14), matrix(rows, 1, seed ^ 15));
            let mut split = w0.clone();
            let mut out_split = vec![0.0; cols];
            ger(&mut split, 1.0, x.as_slice(), d.as_slice());
            gemv_tr(&mut out_split, &split, v.as_slice());
            for sweep in [Sweep::Forward, Sweep::Backward] {
                let mut fused = w0.clone();
                let mut out_fused = vec![0.0; cols];
                ger_gemv_tr(&mut out_fused, &mut fused, x.as_slice(), d.as_slice(), v.as_slice(), sweep);
                prop_assert_eq!(&fused, &split);
                prop_assert_eq!(&out_fused, &out_split);
            }
        }

        #[test]
        fn ger_gemv_tr_matches_nalgebra(rows in 0usize..40, cols in 0usize..12, seed in any::<u64>()) {
            let mut w = matrix(rows, cols, seed);
            let (d, x, v) = (matrix(cols, 1, seed ^ 16), matrix(rows, 1, seed ^ 17), matrix(rows, 1, seed ^ 18));
            let updated = &w + &x * d.transpose();
            let expected = updated.transpose() * &v;
            let mut out = vec![7.0; cols];
            ger_gemv_tr(&mut out, &mut w, x.as_slice(), d.as_slice(), v.as_slice(), Sweep::Backward);
            prop_assert!(close(w.as_slice(), updated.as_slice()));
            prop_assert!(close(&out, expected.as_slice()));
        }

        #[test]
        fn gemv_tr_sweeps_agree_bit_for_bit(rows in 0usize..40, cols in 0usize..12, seed in any::<u64>()) {
            let (w, v) = (matrix(rows, cols, seed), matrix(rows, 1, seed ^ 19));
            let (mut forward, mut backward) = (vec![0.0; cols], vec![1.0; cols]);
            gemv_tr_sweep(&mut forward, &w, v.as_slice(), Sweep::Forward);
            gemv_tr_sweep(&mut backward, &w, v.as_slice(), Sweep::Backward);
            prop_assert_eq!(forward, backward);
        }

        /// In `f32`, whose lane count depends on the length (8 below 16 entries, 16 from 16 on):
        /// every entry of `gemv_tr` is `dot` of its column, and `ger_gemv_tr` is axpy then `dot`
        /// column by column, bit for bit, on both sides of 16 rows and through the AVX2 bodies.
        #[test]
        fn f32_matrix_kernels_sum_each_column_as_dot_does(rows in 1usize..40, cols in 1usize..12, seed in any::<u64>()) {
            let cast = |m: Matrix<f64>| m.map(|x| x as f32);
            let (w, v) = (cast(matrix(rows, cols, seed)), cast(matrix(rows, 1, seed ^ 22)));
            let (x, d) = (cast(matrix(rows, 1, seed ^ 23)), cast(matrix(cols, 1, seed ^ 24)));
            let bits = |a: &[f32]| a.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let mut s = vec![0.0_f32; cols];
            gemv_tr(&mut s, &w, v.as_slice());
            let by_column: Vec<f32> = w.column_iter().map(|c| dot(c.as_slice(), v.as_slice())).collect();
            prop_assert_eq!(bits(&s), bits(&by_column));
            for sweep in [Sweep::Forward, Sweep::Backward] {
                let mut fused = w.clone();
                ger_gemv_tr(&mut s, &mut fused, x.as_slice(), d.as_slice(), v.as_slice(), sweep);
                let mut split = w.clone();
                let mut expected = vec![0.0_f32; cols];
                for (j, mut c) in split.column_iter_mut().enumerate() {
                    axpy(c.as_mut_slice(), d[j], x.as_slice());
                    expected[j] = dot(c.as_slice(), v.as_slice());
                }
                prop_assert_eq!(bits(fused.as_slice()), bits(split.as_slice()));
                prop_assert_eq!(bits(&s), bits(&expected));
            }
        }

        #[test]
        fn f32_kernels_match_nalgebra(rows in 1usize..40, cols in 1usize..12, seed in any::<u64>()) {
            let cast = |m: Matrix<f64>| m.map(|x| x as f32);
            let (w, v, d) = (cast(matrix(rows, cols, seed)), cast(matrix(rows, 1, seed ^ 20)), cast(matrix(cols, 1, seed ^ 21)));
            let near = |a: &[f32], b: &[f32]| a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-4 * (1.0 + x.abs().max(y.abs())));
            let mut s = vec![0.0_f32; cols];
            gemv_tr(&mut s, &w, v.as_slice());
            prop_assert!(near(&s, (w.transpose() * &v).as_slice()));
            let mut o = vec![0.0_f32; rows];
            gemv(&mut o, &w, d.as_slice());
            prop_assert!(near(&o, (&w * &d).as_slice()));
            let mut fused = w.clone();
            let mut o2 = vec![0.0_f32; rows];
            gemv_ger(&mut o2, &mut fused, d.as_slice(), -0.5, v.as_slice());
            prop_assert_eq!(&o2, &o);
            let updated = &w + (&v * d.transpose()) * -0.5;
            prop_assert!(near(fused.as_slice(), updated.as_slice()));
            let mut split = w.clone();
            ger(&mut split, -0.5, v.as_slice(), d.as_slice());
            prop_assert_eq!(&split, &fused);
        }

        #[test]
        fn hadamard_matches_nalgebra(n in 0usize..40, seed in any::<u64>()) {
            let (a, b) = (matrix(n, 1, seed), matrix(n, 1, seed ^ 7));
            let expected = a.component_mul(&b);
            let mut out = vec![0.0; n];
            hadamard_to(&mut out, a.as_slice(), b.as_slice());
            prop_assert_eq!(out.as_slice(), expected.as_slice());
            let mut inplace = a.clone();
            hadamard_mut(inplace.as_mut_slice(), b.as_slice());
            prop_assert_eq!(inplace, expected);
        }

        #[test]
        fn gemm_kernels_match_nalgebra(n_in in 1usize..12, n_out in 1usize..12, b in 1usize..9, seed in any::<u64>()) {
            let w = matrix(n_in, n_out, seed);
            let v = matrix(n_in, b, seed ^ 8);
            let delta = matrix(n_out, b, seed ^ 9);

            let mut s = Matrix::zeros(n_out, b);
            gemm_tr_to(&mut s.as_view_mut(), &w, &v.as_view(), &mut GemmScratch::new());
            prop_assert!(close(s.as_slice(), (w.transpose() * &v).as_slice()));

            let mut d = Matrix::from_element(n_in, b, 3.0);
            gemm_to(&mut d.as_view_mut(), &w, &delta.as_view(), &mut GemmScratch::new());
            prop_assert!(close(d.as_slice(), (&w * &delta).as_slice()));

            let mut g = matrix(n_in, n_out, seed ^ 10);
            let expected = (&v * delta.transpose()) * 0.25 + &g * 2.0;
            gemm_nt_to(&mut g.as_view_mut(), 0.25, &v.as_view(), &delta.as_view(), 2.0, &mut GemmScratch::new());
            prop_assert!(close(g.as_slice(), expected.as_slice()));
        }

        #[test]
        fn gemm_on_column_subviews(n_in in 1usize..8, n_out in 1usize..8, cap in 2usize..8, seed in any::<u64>()) {
            // A batch buffer of capacity `cap` used for a shorter last batch of `cap - 1` samples.
            let (w, v) = (matrix(n_in, n_out, seed), matrix(n_in, cap, seed ^ 11));
            let b = cap - 1;
            let mut s = Matrix::from_element(n_out, cap, 9.0);
            gemm_tr_to(&mut s.columns_mut(0, b), &w, &v.columns(0, b), &mut GemmScratch::new());
            let expected = w.transpose() * v.columns(0, b);
            prop_assert!(close(s.columns(0, b).clone_owned().as_slice(), expected.as_slice()));
            prop_assert!(s.column(b).iter().all(|&x| x == 9.0));
        }

        #[test]
        fn dot_matches_naive(n in 0usize..50, seed in any::<u64>()) {
            let (a, b) = (matrix(n, 1, seed), matrix(n, 1, seed ^ 12));
            let naive: f64 = a.iter().zip(b.iter()).map(|(x, y)| x * y).sum();
            prop_assert!((dot(a.as_slice(), b.as_slice()) - naive).abs() <= 1e-12 * (1.0 + naive.abs()));
        }
    }

    #[test]
    fn f32_gemm_matches_nalgebra() {
        let w = Matrix::<f32>::from_column_slice(2, 2, &[1.0, 2.0, 3.0, 4.0]);
        let v = Matrix::<f32>::from_column_slice(2, 1, &[1.0, 1.0]);
        let mut s = Matrix::<f32>::zeros(2, 1);
        gemm_tr_to(
            &mut s.as_view_mut(),
            &w,
            &v.as_view(),
            &mut GemmScratch::new(),
        );
        assert_eq!(s.as_slice(), (w.transpose() * v).as_slice());
    }
}
