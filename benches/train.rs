//! Training throughput on the peers' work (`shared/bench-peers/README.md`, "The work"): the
//! lecture's per-sample SGD on the four networks, and mini-batch SGD (B = 64) on 784-256-10, in
//! `f64` and `f32`. Sigmoid units, squared loss, learning rate 0.1, weights uniform in
//! [-0.1, 0.1], inputs uniform in [0, 1), one-hot targets (a uniform scalar for one output).
//!
//! Throughput is in samples, so criterion reports samples (steps) per second. `backprop bench`
//! runs the same work with the peers' timing and prints their JSON line.

use std::hint::black_box;

use backprop::linalg::Real;
use backprop::network::{Activation, Loss, Network};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The per-sample networks of the peers.
const NETS: [&[usize]; 4] = [
    &[2, 8, 1],
    &[64, 32, 10],
    &[784, 128, 10],
    &[256, 256, 256, 10],
];

/// The peers' number of samples.
const SAMPLES: usize = 10_000;

/// A sigmoid network of `widths`, weights and biases uniform in [-0.1, 0.1].
fn network<T: Real>(widths: &[usize], rng: &mut ChaCha8Rng) -> Network<T> {
    let mut builder = Network::builder(widths[0]).loss(Loss::Squared);
    for &n in &widths[1..] {
        builder = builder.layer(n, Activation::Sigmoid);
    }
    let mut net = builder.build::<T>().unwrap();
    for p in net.params_mut().flatten() {
        *p = T::from_f64(0.2 * rng.random::<f64>() - 0.1);
    }
    net
}

/// `m` samples, sample-major: inputs uniform in [0, 1), one-hot targets.
fn data<T: Real>(n_in: usize, n_out: usize, m: usize, rng: &mut ChaCha8Rng) -> (Vec<T>, Vec<T>) {
    let x = (0..m * n_in)
        .map(|_| T::from_f64(rng.random::<f64>()))
        .collect();
    let mut y = vec![T::zero(); m * n_out];
    for s in 0..m {
        if n_out == 1 {
            y[s] = T::from_f64(rng.random::<f64>());
        } else {
            y[s * n_out + rng.random_range(0..n_out)] = T::one();
        }
    }
    (x, y)
}

fn name(widths: &[usize]) -> String {
    widths
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

/// One per-sample SGD step per iteration, cycling through the samples.
fn per_sample<T: Real>(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("sgd_per_sample_{}", T::NAME));
    group.throughput(Throughput::Elements(1));
    for widths in NETS {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut net = network::<T>(widths, &mut rng);
        let (n_in, n_out) = (widths[0], widths[widths.len() - 1]);
        let (x, y) = data::<T>(n_in, n_out, SAMPLES, &mut rng);
        let mut ws = net.workspace();
        let mut session = net.sgd_session(&mut ws).unwrap();
        let eta = T::from_f64(0.1);
        let mut k = 0;
        group.bench_function(BenchmarkId::from_parameter(name(widths)), |b| {
            b.iter(|| {
                let (xs, ys) = (&x[k * n_in..(k + 1) * n_in], &y[k * n_out..(k + 1) * n_out]);
                k = (k + 1) % SAMPLES;
                black_box(session.step(black_box(xs), ys, eta).unwrap())
            })
        });
    }
    group.finish();
}

/// One mini-batch step of 64 samples per iteration on 784-256-10 (the peers' T2).
fn mini_batch<T: Real>(c: &mut Criterion) {
    const B: usize = 64;
    let widths = [784, 256, 10];
    let mut group = c.benchmark_group(format!("sgd_mini_batch_{}", T::NAME));
    group.throughput(Throughput::Elements(B as u64));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut net = network::<T>(&widths, &mut rng);
    let m = 160 * B;
    let (x, y) = data::<T>(widths[0], widths[2], m, &mut rng);
    let mut bws = net.batch_workspace(B).unwrap();
    let mut grads = net.gradients();
    let eta = T::from_f64(0.1);
    let mut k = 0;
    group.bench_function(BenchmarkId::new(name(&widths), B), |b| {
        b.iter(|| {
            for j in 0..B {
                let s = k * B + j;
                let (xs, ys) = (&x[s * 784..(s + 1) * 784], &y[s * 10..(s + 1) * 10]);
                bws.load(j, xs, ys).unwrap();
            }
            k = (k + 1) % (m / B);
            net.forward_batch(&mut bws, B).unwrap();
            let loss = net.backward_batch(&mut bws, B, &mut grads).unwrap();
            net.update(-eta, &grads).unwrap();
            black_box(loss)
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    per_sample::<f64>(c);
    per_sample::<f32>(c);
    mini_batch::<f64>(c);
    mini_batch::<f32>(c);
}

criterion_group!(train, benches);
criterion_main!(train);
