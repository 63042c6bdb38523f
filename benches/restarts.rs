//! The parallel axis and the batch axis: R restarts (16 or 64) on 1 and 2 threads, and one
//! SGD epoch per sample against one per mini-batch. Throughput is in training samples per second.
//! And one restart of the main job, `backprop restarts --data digits`, evaluation included.

use std::hint::black_box;

use backprop::activations::Activation;
use backprop::network::{Loss, Network};
use backprop::optim::{
    evaluate, initialize, run_restart, run_restarts, train, Dataset, Init, NoObserver, Order,
    RestartConfig, SgdConfig,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `m` samples with `n_in` uniform inputs and one-hot targets over `n_out` classes.
fn data(m: usize, n_in: usize, n_out: usize) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let x: Vec<Vec<f64>> = (0..m)
        .map(|_| (0..n_in).map(|_| rng.random::<f64>()).collect())
        .collect();
    let y: Vec<Vec<f64>> = (0..m)
        .map(|k| {
            (0..n_out)
                .map(|c| f64::from(u8::from(c == k % n_out)))
                .collect()
        })
        .collect();
    Dataset::from_rows(&x, &y).unwrap()
}

fn net(widths: &[usize]) -> Network {
    let mut b = Network::builder(widths[0]).loss(Loss::Squared);
    for &n in &widths[1..] {
        b = b.layer(n, Activation::Sigmoid);
    }
    b.build().unwrap()
}

/// The same work (R restarts of 256 / R epochs: 128,000 training samples in all) in 16 long
/// restarts and in 64 short ones, on 1 and 2 threads. A restart is the unit of parallel work: with
/// few of them, the last one on a core is a large share of that core's time, and a core that runs
/// slower for a while (a shared machine) leaves the other waiting for up to one restart.
fn restarts(c: &mut Criterion) {
    let d = data(500, 16, 4);
    let template = net(&[16, 32, 4]);
    let mut group = c.benchmark_group("restarts");
    group.sample_size(10);
    for r in [16, 64] {
        let epochs = 256 / r;
        group.throughput(Throughput::Elements((r * epochs * d.len()) as u64));
        for threads in [1, 2] {
            let cfg = RestartConfig {
                restarts: r,
                threads,
                seed: 1,
                sgd: SgdConfig {
                    epochs,
                    ..Default::default()
                },
                ..Default::default()
            };
            let id = BenchmarkId::new(format!("r{r}/threads"), threads);
            group.bench_with_input(id, &cfg, |b, cfg| {
                b.iter(|| run_restarts(black_box(&template), &d, None, cfg, &NoObserver).unwrap())
            });
        }
    }
    group.finish();
}

fn epoch(c: &mut Criterion) {
    let d = data(2000, 64, 10);
    let mut start = net(&[64, 32, 10]);
    initialize(
        &mut start,
        Init::Uniform { a: 0.1 },
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap();
    let mut group = c.benchmark_group("epoch_64-32-10");
    group.sample_size(10);
    group.throughput(Throughput::Elements(d.len() as u64));
    for batch in [1, 16, 64] {
        let cfg = SgdConfig {
            epochs: 1,
            batch_size: batch,
            order: Order::Fixed,
            ..Default::default()
        };
        group.bench_with_input(BenchmarkId::new("batch", batch), &cfg, |b, cfg| {
            b.iter_batched_ref(
                || start.clone(),
                |n| {
                    let mut rng = ChaCha8Rng::seed_from_u64(0);
                    train(n, &d, None, cfg, false, &mut rng, &NoObserver, 0).unwrap()
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// One restart of the main job, `backprop restarts --data digits` (T6 of ../shared/bench-peers):
/// digits standardized, 1,438 training and 359 validation rows, 64-32-10 with tanh hidden units
/// and identity outputs under softmax cross-entropy, lr 0.01, 30 epochs of shuffled per-sample
/// SGD, each followed by the evaluation of the training loss, validation loss and accuracy; then
/// the final evaluation. The setup is the CLI's own, from its flags. Throughput: SGD steps. And
/// that evaluation alone.
fn digits_restart(c: &mut Criterion) {
    use backprop_cli::args::{Cli, Command};
    use clap::Parser;
    let cli = Cli::parse_from(["backprop", "restarts", "--data", "digits", "--quiet"]);
    let Command::Restarts(args) = cli.command else {
        unreachable!("parsed as restarts")
    };
    let setup = backprop_cli::setup::setup(&args.training, 32, None).unwrap();
    let cfg = RestartConfig {
        restarts: 32,
        threads: 1,
        seed: setup.config.seed,
        init: setup.config.init,
        bias_init: setup.config.bias_init,
        sgd: setup.config.sgd.clone(),
        classification: true,
        only: None,
        racing: None,
    };
    let mut group = c.benchmark_group("digits_restart");
    group.sample_size(10);
    group.throughput(Throughput::Elements(
        (cfg.sgd.epochs * setup.train.len()) as u64,
    ));
    group.bench_function("64-32-10_tanh_cross-entropy", |b| {
        b.iter(|| {
            run_restart(
                black_box(&setup.template),
                &setup.train,
                setup.validation.as_ref(),
                &cfg,
                0,
                &NoObserver,
            )
            .unwrap()
        })
    });
    // The evaluation alone, as after every epoch: the training rows, then the validation rows,
    // through a network of the job's first restart (its random start). Throughput: rows.
    let mut net = setup.template.clone();
    initialize(&mut net, cfg.init, &mut ChaCha8Rng::seed_from_u64(cfg.seed)).unwrap();
    let validation = setup
        .validation
        .as_ref()
        .expect("digits keeps a validation split");
    group.throughput(Throughput::Elements(
        (setup.train.len() + validation.len()) as u64,
    ));
    group.bench_function("evaluation", |b| {
        b.iter(|| {
            let t = evaluate(black_box(&net), &setup.train, false).unwrap();
            let v = evaluate(black_box(&net), validation, true).unwrap();
            (t, v)
        })
    });
    group.finish();
}

criterion_group!(benches, restarts, epoch, digits_restart);
criterion_main!(benches);
