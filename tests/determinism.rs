//! Restarts are bit-identical for any thread count, and restart i is the same run alone or among
//! others: every random draw of a restart comes from its own seed, never from shared state.

use backprop::activations::Activation;
use backprop::network::{Loss, Network};
use backprop::optim::{
    run_restart, run_restarts, Dataset, Experiment, Init, NoObserver, Optimizer, Order,
    RestartConfig, Schedule, SgdConfig,
};

/// Two noisy interleaved half-moons, made by formula (no RNG), with one-hot targets.
fn moons(m: usize) -> Dataset {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for k in 0..m {
        let t = k as f64 / m as f64 * std::f64::consts::PI;
        let wobble = 0.1 * ((k * 7919) % 13) as f64 / 13.0;
        if k % 2 == 0 {
            x.push(vec![t.cos() + wobble, t.sin() - wobble]);
            y.push(vec![1.0, 0.0]);
        } else {
            x.push(vec![1.0 - t.cos() - wobble, 0.5 - t.sin() + wobble]);
            y.push(vec![0.0, 1.0]);
        }
    }
    Dataset::from_rows(&x, &y).unwrap()
}

fn net() -> Network {
    Network::builder(2)
        .layer(8, Activation::Tanh)
        .layer(2, Activation::Identity)
        .loss(Loss::CrossEntropy)
        .build()
        .unwrap()
}

fn bits(e: &Experiment) -> Vec<Vec<u64>> {
    e.runs
        .iter()
        .map(|r| r.network.params().flatten().map(|x| x.to_bits()).collect())
        .collect()
}

fn configs() -> Vec<RestartConfig> {
    let base = RestartConfig {
        restarts: 6,
        threads: 1,
        seed: 99,
        init: Init::XavierNormal,
        bias_init: Init::Zero,
        sgd: SgdConfig {
            learning_rate: 0.2,
            epochs: 8,
            ..Default::default()
        },
        classification: true,
        only: None,
        racing: None,
    };
    vec![
        base.clone(),
        RestartConfig {
            sgd: SgdConfig {
                batch_size: 5,
                order: Order::Replacement,
                optimizer: Optimizer::Nesterov { mu: 0.9 },
                weight_decay: 1e-3,
                clip_norm: Some(5.0),
                ..base.sgd.clone()
            },
            bias_init: Init::Uniform { a: 0.1 },
            ..base.clone()
        },
        // AdamW with its decoupled decay and a schedule, per-sample steps.
        RestartConfig {
            sgd: SgdConfig {
                learning_rate: 0.02,
                optimizer: Optimizer::AdamW {
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                },
                weight_decay: 1e-2,
                schedule: Schedule::InverseScaling { k: 0.1 },
                ..base.sgd.clone()
            },
            ..base
        },
    ]
}

#[test]
fn one_and_two_threads_give_identical_runs_to_the_bit() {
    let data = moons(60);
    let (train, validation) = data.split(0.25, 4).unwrap();
    for cfg in configs() {
        let one = run_restarts(&net(), &train, Some(&validation), &cfg, &NoObserver).unwrap();
        let two = run_restarts(
            &net(),
            &train,
            Some(&validation),
            &RestartConfig { threads: 2, ..cfg },
            &NoObserver,
        )
        .unwrap();
        assert_eq!(bits(&one), bits(&two));
        for (a, b) in one.runs.iter().zip(&two.runs) {
            let (mut ha, mut hb) = (a.history.clone(), b.history.clone());
            ha.seconds = 0.0;
            hb.seconds = 0.0;
            assert_eq!(ha, hb);
            assert_eq!(a.summary.seed, b.summary.seed);
            assert_eq!(a.summary.score.to_bits(), b.summary.score.to_bits());
        }
        assert_eq!(one.best, two.best);
        // Different restarts really are different runs.
        assert_ne!(bits(&one)[0], bits(&one)[1]);
    }
}

#[test]
fn restart_i_alone_equals_restart_i_among_others() {
    let data = moons(40);
    for cfg in configs() {
        let all = run_restarts(&net(), &data, None, &cfg, &NoObserver).unwrap();
        let shard = RestartConfig {
            only: Some(vec![4, 1]),
            threads: 2,
            ..cfg.clone()
        };
        let part = run_restarts(&net(), &data, None, &shard, &NoObserver).unwrap();
        assert_eq!(part.runs.len(), 2);
        for run in &part.runs {
            let i = run.summary.index;
            assert_eq!(bits(&part)[if i == 1 { 0 } else { 1 }], bits(&all)[i]);
        }
        let alone = run_restart(&net(), &data, None, &cfg, 3, &NoObserver).unwrap();
        let alone: Vec<u64> = alone
            .network
            .params()
            .flatten()
            .map(|x| x.to_bits())
            .collect();
        assert_eq!(alone, bits(&all)[3]);
    }
}
