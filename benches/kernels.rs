//! The linalg kernels at the layer shapes of the peers' networks, and the memory bandwidth they
//! run against.
//!
//! - `gemv_tr`, `gemv_ger`, `ger`, `ger_gemv_tr` (per-sample passes): throughput in bytes of `W`
//!   moved per call (read, or read and written), so criterion reports GB/s.
//! - `stream`: a dot product (read) and an `axpy` (read and write) over buffers from L1 to DRAM
//!   size: the machine's bandwidth at each cache level, the bound of the per-sample passes.
//! - `gemm`: the mini-batch products of 784-256-10 with B = 64, in floating-point operations.

use std::hint::black_box;

use backprop::linalg::{
    axpy, dot, gemm_nt_to, gemm_to, gemm_tr_to, gemv_ger, gemv_tr, gemv_tr_sweep, ger, ger_gemv_tr,
    GemmScratch, Matrix, Real, Sweep,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The layer shapes `n_i x n_{i+1}` of the four per-sample networks.
const SHAPES: [(usize, usize); 5] = [(2, 8), (64, 32), (784, 128), (128, 10), (256, 256)];

fn vector<T: Real>(n: usize, rng: &mut ChaCha8Rng) -> Vec<T> {
    (0..n)
        .map(|_| T::from_f64(rng.random::<f64>() - 0.5))
        .collect()
}

fn matrix<T: Real>(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Matrix<T> {
    Matrix::from_fn(rows, cols, |_, _| {
        T::from_f64(0.2 * rng.random::<f64>() - 0.1)
    })
}

fn per_sample<T: Real>(c: &mut Criterion) {
    let size = std::mem::size_of::<T>() as u64;
    for (rows, cols) in SHAPES {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut w = matrix::<T>(rows, cols, &mut rng);
        let (v, x) = (vector::<T>(rows, &mut rng), vector::<T>(rows, &mut rng));
        // Tiny steps keep the weights bounded over millions of calls.
        let d: Vec<T> = vector::<T>(cols, &mut rng)
            .into_iter()
            .map(|t| t * T::from_f64(1e-9))
            .collect();
        let (mut s, mut out) = (vec![T::zero(); cols], vec![T::zero(); rows]);
        let id = format!("{rows}x{cols}");
        let bytes = size * (rows * cols) as u64;
        let mut group = c.benchmark_group(format!("kernels_{}", T::NAME));

        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(BenchmarkId::new("gemv_tr", &id), |b| {
            b.iter(|| gemv_tr(&mut s, black_box(&w), black_box(&v)))
        });
        group.throughput(Throughput::Bytes(2 * bytes));
        group.bench_function(BenchmarkId::new("gemv_ger", &id), |b| {
            b.iter(|| gemv_ger(&mut out, &mut w, black_box(&d), T::from_f64(-1e-9), &x))
        });
        group.bench_function(BenchmarkId::new("ger", &id), |b| {
            b.iter(|| ger(&mut w, T::from_f64(-1e-9), black_box(&x), &d))
        });
        // A hidden layer's share of one per-sample step, as the network runs it: the forward
        // product sweeping the columns backward, then the fused backward product and update
        // going forward (from the columns the sweep left in cache).
        group.throughput(Throughput::Bytes(3 * bytes));
        group.bench_function(BenchmarkId::new("hidden_step", &id), |b| {
            b.iter(|| {
                gemv_tr_sweep(&mut s, black_box(&w), black_box(&v), Sweep::Backward);
                gemv_ger(&mut out, &mut w, black_box(&d), T::from_f64(-1e-9), &x)
            })
        });
        group.throughput(Throughput::Bytes(2 * bytes));
        let mut sweep = Sweep::Forward;
        group.bench_function(BenchmarkId::new("ger_gemv_tr", &id), |b| {
            b.iter(|| {
                ger_gemv_tr(&mut s, &mut w, black_box(&x), &d, &v, sweep);
                sweep = sweep.reversed();
            })
        });
        group.finish();
        black_box((&s, &out));
    }
}

fn stream<T: Real>(c: &mut Criterion) {
    let size = std::mem::size_of::<T>();
    let mut group = c.benchmark_group(format!("stream_{}", T::NAME));
    for kib in [16, 256, 800, 1600, 8 << 10, 64 << 10] {
        let n = (kib << 10) / size;
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (a, mut y) = (vector::<T>(n, &mut rng), vector::<T>(n, &mut rng));
        let id = format!("{kib}KiB");
        group.throughput(Throughput::Bytes((kib << 10) as u64));
        group.bench_function(BenchmarkId::new("read", &id), |b| {
            b.iter(|| dot(black_box(&a), &a))
        });
        group.throughput(Throughput::Bytes(((2 * kib) << 10) as u64));
        group.bench_function(BenchmarkId::new("read_write", &id), |b| {
            b.iter(|| axpy(&mut y, T::from_f64(1e-9), black_box(&a)))
        });
    }
    group.finish();
}

fn gemm<T: Real>(c: &mut Criterion) {
    let (n_in, n_out, batch) = (784, 256, 64);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let w = matrix::<T>(n_in, n_out, &mut rng);
    let v = matrix::<T>(n_in, batch, &mut rng);
    let delta = matrix::<T>(n_out, batch, &mut rng);
    let (mut s, mut dv, mut g) = (
        Matrix::<T>::zeros(n_out, batch),
        Matrix::<T>::zeros(n_in, batch),
        Matrix::<T>::zeros(n_in, n_out),
    );
    let mut scratch = GemmScratch::<T>::new();
    let mut group = c.benchmark_group(format!("gemm_{}", T::NAME));
    group.throughput(Throughput::Elements((2 * n_in * n_out * batch) as u64));
    let id = format!("{n_in}x{n_out}x{batch}");
    group.bench_function(BenchmarkId::new("forward_tr", &id), |b| {
        b.iter(|| {
            gemm_tr_to(
                &mut s.as_view_mut(),
                black_box(&w),
                &v.as_view(),
                &mut scratch,
            )
        })
    });
    group.bench_function(BenchmarkId::new("backward", &id), |b| {
        b.iter(|| {
            gemm_to(
                &mut dv.as_view_mut(),
                black_box(&w),
                &delta.as_view(),
                &mut scratch,
            )
        })
    });
    group.bench_function(BenchmarkId::new("gradient_nt", &id), |b| {
        b.iter(|| {
            gemm_nt_to(
                &mut g.as_view_mut(),
                T::one(),
                black_box(&v.as_view()),
                &delta.as_view(),
                T::zero(),
                &mut scratch,
            )
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    per_sample::<f64>(c);
    per_sample::<f32>(c);
    stream::<f64>(c);
    gemm::<f64>(c);
    gemm::<f32>(c);
}

criterion_group!(kernels, benches);
criterion_main!(kernels);
