//! Training throughput on the peers' work (`shared/bench-peers/README.md`, "The work"): the
//! lecture's per-sample SGD on the four networks, and mini-batch SGD (B = 64) on 784-256-10, in
//! `f64` and `f32`. Sigmoid units, squared loss, learning rate 0.1, weights uniform in
//! [-0.1, 0.1], inputs uniform in [0, 1), one-hot targets (a uniform scalar for one output).
//!
//! Each iteration is one epoch of [`Work`], the same code that `backprop bench` times with the
//! peers' clock and prints as their JSON line; here criterion times it. Throughput is in samples,
//! so criterion reports samples (per-sample steps) per second.

use std::hint::black_box;

use backprop::linalg::Real;
use backprop_cli::bench::Work;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// The per-sample networks of the peers.
const NETS: [&[usize]; 4] = [
    &[2, 8, 1],
    &[64, 32, 10],
    &[784, 128, 10],
    &[256, 256, 256, 10],
];

/// The peers' number of samples: 10,000 for per-sample SGD, 160 batches of 64 for mini-batches.
const SAMPLES: usize = 10_000;
const BATCH: usize = 64;
const BATCH_SAMPLES: usize = 160 * BATCH;

fn name(widths: &[usize]) -> String {
    widths
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

/// One epoch (10,000 per-sample steps) per iteration.
fn per_sample<T: Real>(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("sgd_per_sample_{}", T::NAME));
    group.sample_size(10);
    group.throughput(Throughput::Elements(SAMPLES as u64));
    for widths in NETS {
        let mut work = Work::<T>::new(widths, 1, SAMPLES, 0.1, None).unwrap();
        group.bench_function(BenchmarkId::from_parameter(name(widths)), |b| {
            b.iter(|| black_box(work.epoch().unwrap()))
        });
    }
    group.finish();
}

/// One epoch of mini-batch steps (160 batches of 64) per iteration on 784-256-10 (the peers' T2).
fn mini_batch<T: Real>(c: &mut Criterion) {
    let widths = [784, 256, 10];
    let mut group = c.benchmark_group(format!("sgd_mini_batch_{}", T::NAME));
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH_SAMPLES as u64));
    let mut work = Work::<T>::new(&widths, BATCH, BATCH_SAMPLES, 0.1, None).unwrap();
    group.bench_function(BenchmarkId::new(name(&widths), BATCH), |b| {
        b.iter(|| black_box(work.epoch().unwrap()))
    });
    group.finish();
}

/// Per-sample SGD on 784-128-10 with plain fused steps (block 1) and with the first layer in
/// blocks of 16, 32 and 64 samples (`Network::sgd_block`): what the blocks buy.
fn first_layer_blocks<T: Real>(c: &mut Criterion) {
    let widths = [784, 128, 10];
    let mut group = c.benchmark_group(format!("sgd_blocks_{}_{}", name(&widths), T::NAME));
    group.sample_size(10);
    group.throughput(Throughput::Elements(SAMPLES as u64));
    for block in [1, 16, 32, 64] {
        let mut work = Work::<T>::new(&widths, 1, SAMPLES, 0.1, Some(block)).unwrap();
        group.bench_function(BenchmarkId::new("block", block), |b| {
            b.iter(|| black_box(work.epoch().unwrap()))
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    per_sample::<f64>(c);
    per_sample::<f32>(c);
    first_layer_blocks::<f64>(c);
    first_layer_blocks::<f32>(c);
    mini_batch::<f64>(c);
    mini_batch::<f32>(c);
}

criterion_group!(train, benches);
criterion_main!(train);
