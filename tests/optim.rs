//! SGD against the lecture's update computed by hand, its extensions against their textbook
//! formulas, the best-of-restarts rule, divergence, and the lecture's two points on XOR.

use backprop::activations::Activation;
use backprop::network::{Loss, Network};
use backprop::optim::{
    best_of, run_restarts, train, Dataset, History, Init, NoObserver, Optimizer, Order,
    RestartConfig, SgdConfig,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn xor() -> Dataset {
    Dataset::from_rows(
        &[
            vec![0.0, 0.0],
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![1.0, 1.0],
        ],
        &[vec![0.0], vec![1.0], vec![1.0], vec![0.0]],
    )
    .unwrap()
}

/// The lecture's XOR network: 2 inputs, 2 sigmoid hidden units, 1 sigmoid output, squared loss.
fn lecture_net() -> Network {
    Network::builder(2)
        .layer(2, Activation::Sigmoid)
        .layer(1, Activation::Sigmoid)
        .loss(Loss::Squared)
        .build()
        .unwrap()
}

/// A 2-2-1 network with fixed, asymmetric weights.
fn fixed_net() -> Network {
    let mut net = lecture_net();
    let values = [0.3, -0.2, 0.5, 0.1, 0.05, -0.1, 0.7, -0.4, 0.2];
    for (p, v) in net.params_mut().flatten().zip(values) {
        *p = v;
    }
    net
}

fn run(net: &mut Network, data: &Dataset, cfg: &SgdConfig) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    train(net, data, None, cfg, false, &mut rng, &NoObserver, 0).unwrap()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "entry {k}: {x} vs {y}");
    }
}

fn params(net: &Network) -> Vec<f64> {
    net.params().flatten().copied().collect()
}

#[test]
fn one_step_is_the_lectures_update_computed_by_hand() {
    let mut net = fixed_net();
    let before = net.clone();
    let (x, y, eta) = ([1.0, 0.5], 1.0, 0.3);
    let data = Dataset::from_rows(&[x.to_vec()], &[vec![y]]).unwrap();
    let cfg = SgdConfig {
        learning_rate: eta,
        epochs: 1,
        order: Order::Fixed,
        ..Default::default()
    };
    run(&mut net, &data, &cfg);

    // The lecture's formulas, written out for 2-2-1 with scalar arithmetic.
    let (w0, b0) = (before.layers()[0].weights(), before.layers()[0].bias());
    let (w1, b1) = (before.layers()[1].weights(), before.layers()[1].bias());
    let s1: Vec<f64> = (0..2)
        .map(|j| w0[(0, j)] * x[0] + w0[(1, j)] * x[1] + b0[j])
        .collect();
    let v1: Vec<f64> = s1.iter().map(|&s| sigmoid(s)).collect();
    let s2 = w1[(0, 0)] * v1[0] + w1[(1, 0)] * v1[1] + b1[0];
    let v2 = sigmoid(s2);
    let dl_dv2 = v2 - y; // dL/dv_d = v_d - y
    let delta2 = dl_dv2 * v2 * (1.0 - v2); // ⊙ σ'(s_d)
    let dl_dv1: Vec<f64> = (0..2).map(|z| w1[(z, 0)] * delta2).collect(); // W_1 delta_2
    let delta1: Vec<f64> = (0..2).map(|j| dl_dv1[j] * v1[j] * (1.0 - v1[j])).collect();
    // W_i <- W_i - eta v_i delta_{i+1}^T, in the order of Network::params (column-major W).
    let mut expected = Vec::new();
    for j in 0..2 {
        for (z, x_z) in x.iter().enumerate() {
            expected.push(w0[(z, j)] - eta * x_z * delta1[j]);
        }
    }
    expected.extend((0..2).map(|j| b0[j] - eta * delta1[j]));
    expected.extend((0..2).map(|z| w1[(z, 0)] - eta * v1[z] * delta2));
    expected.push(b1[0] - eta * delta2);
    assert_close(&params(&net), &expected, 1e-15);
}

#[test]
fn a_mini_batch_step_is_the_step_on_the_mean_gradient() {
    let data = xor();
    let mut net = fixed_net();
    let mut expected = net.clone();
    let cfg = SgdConfig {
        learning_rate: 0.7,
        epochs: 1,
        batch_size: 4,
        order: Order::Fixed,
        ..Default::default()
    };
    run(&mut net, &data, &cfg);

    let (mut ws, mut g, mut mean) = (
        expected.workspace(),
        expected.gradients(),
        expected.gradients(),
    );
    for k in 0..4 {
        expected.forward(&mut ws, data.x(k)).unwrap();
        expected.backward(&mut ws, data.y(k), &mut g).unwrap();
        mean.add_scaled(0.25, &g).unwrap();
    }
    expected.update(-0.7, &mean).unwrap();
    assert_close(&params(&net), &params(&expected), 1e-15);
}

/// Two steps on one sample, with the velocity formulas written out entry by entry.
fn momentum_by_hand(nesterov: bool, mu: f64, eta: f64) -> Vec<f64> {
    let data = Dataset::from_rows(&[vec![0.4, -0.9]], &[vec![1.0]]).unwrap();
    let mut net = fixed_net();
    let (mut ws, mut g) = (net.workspace(), net.gradients());
    let mut u = vec![0.0; net.parameter_count()];
    for _ in 0..2 {
        net.forward(&mut ws, data.x(0)).unwrap();
        net.backward(&mut ws, data.y(0), &mut g).unwrap();
        let grad: Vec<f64> = g.slices().flatten().copied().collect();
        for (k, w) in net.params_mut().flatten().enumerate() {
            // u <- mu u + g
            u[k] = mu * u[k] + grad[k];
            if nesterov {
                // W <- W - eta (g + mu u)
                *w -= eta * (grad[k] + mu * u[k]);
            } else {
                // W <- W - eta u
                *w -= eta * u[k];
            }
        }
    }
    params(&net)
}

#[test]
fn momentum_and_nesterov_follow_their_textbook_formulas() {
    let data = Dataset::from_rows(&[vec![0.4, -0.9]], &[vec![1.0]]).unwrap();
    for nesterov in [false, true] {
        let mut net = fixed_net();
        let cfg = SgdConfig {
            learning_rate: 0.5,
            epochs: 2,
            optimizer: if nesterov {
                Optimizer::Nesterov { mu: 0.9 }
            } else {
                Optimizer::Momentum { mu: 0.9 }
            },
            ..Default::default()
        };
        run(&mut net, &data, &cfg);
        assert_close(&params(&net), &momentum_by_hand(nesterov, 0.9, 0.5), 1e-15);
    }
    // The two differ: the test above would notice one computed as the other.
    let classical = momentum_by_hand(false, 0.9, 0.5);
    let nesterov = momentum_by_hand(true, 0.9, 0.5);
    assert!(classical
        .iter()
        .zip(&nesterov)
        .any(|(a, b)| (a - b).abs() > 1e-6));
}

#[test]
fn clipping_bounds_the_step_and_weight_decay_shrinks_weights() {
    let data = Dataset::from_rows(&[vec![3.0, -2.0]], &[vec![0.0]]).unwrap();
    let mut clipped = fixed_net();
    let before = params(&clipped);
    let cfg = SgdConfig {
        learning_rate: 1.0,
        epochs: 1,
        clip_norm: Some(1e-3),
        ..Default::default()
    };
    run(&mut clipped, &data, &cfg);
    let moved: f64 = params(&clipped)
        .iter()
        .zip(&before)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    assert!(moved <= 1e-3 * (1.0 + 1e-12) && moved > 0.0, "{moved}");

    // With a zero-gradient sample (target equal to the output), decay alone moves the weights:
    // W <- W - eta lambda W, biases untouched.
    let mut net = fixed_net();
    let mut ws = net.workspace();
    let out = net.forward(&mut ws, &[0.0, 0.0]).unwrap()[0];
    let data = Dataset::from_rows(&[vec![0.0, 0.0]], &[vec![out]]).unwrap();
    let before = net.clone();
    let cfg = SgdConfig {
        learning_rate: 0.1,
        epochs: 1,
        weight_decay: 0.5,
        ..Default::default()
    };
    run(&mut net, &data, &cfg);
    for (l, b) in net.layers().iter().zip(before.layers()) {
        for (w, w0) in l.weights().iter().zip(b.weights().iter()) {
            // Layer 0 sees a zero input: its weight gradient is zero, so only decay moves it.
            if l.inputs() == 2 {
                assert!((w - w0 * (1.0 - 0.05)).abs() < 1e-15, "{w} vs {w0}");
            }
        }
        assert_eq!(l.bias()[0], b.bias()[0]);
    }
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    // Validation targets are the opposite of the training targets: as training succeeds,
    // validation gets worse, so the best validation epoch is an early one.
    let data = xor();
    let flipped = Dataset::from_rows(
        &[
            vec![0.0, 0.0],
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![1.0, 1.0],
        ],
        &[vec![1.0], vec![0.0], vec![0.0], vec![1.0]],
    )
    .unwrap();
    let mut net = Network::builder(2)
        .layer(8, Activation::Tanh)
        .layer(1, Activation::Sigmoid)
        .build()
        .unwrap();
    backprop::optim::initialize(
        &mut net,
        Init::XavierUniform,
        &mut ChaCha8Rng::seed_from_u64(5),
    )
    .unwrap();
    let cfg = SgdConfig {
        learning_rate: 0.5,
        epochs: 200,
        patience: Some(5),
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let h = train(
        &mut net,
        &data,
        Some(&flipped),
        &cfg,
        true,
        &mut rng,
        &NoObserver,
        0,
    )
    .unwrap();
    assert!(h.epochs < 200, "stopped early: {} epochs", h.epochs);
    assert_eq!(h.epochs, h.best_epoch + 1 + 5);
    let best = h.validation_loss[h.best_epoch];
    assert!(h.validation_loss.iter().all(|&l| l >= best));
    let last = h.validation_loss[h.epochs - 1];
    assert!(last > best);
    assert_eq!(backprop::optim::mean_loss(&net, &flipped).unwrap(), best);
    assert_eq!(h.validation_accuracy.len(), h.epochs);
}

#[test]
fn a_diverging_run_is_marked_and_never_the_best() {
    let net = Network::builder(2)
        .layer(4, Activation::Relu)
        .layer(1, Activation::Identity)
        .build()
        .unwrap();
    let data = Dataset::from_rows(
        &[vec![1.0, 2.0], vec![-1.0, 0.5], vec![3.0, -2.0]],
        &[vec![10.0], vec![-4.0], vec![7.0]],
    )
    .unwrap();
    let run = |batch_size| {
        let cfg = RestartConfig {
            restarts: 3,
            threads: 2,
            seed: 11,
            init: Init::Uniform { a: 1.0 },
            sgd: SgdConfig {
                learning_rate: 1e6,
                epochs: 20,
                batch_size,
                ..Default::default()
            },
            ..Default::default()
        };
        run_restarts(&net, &data, None, &cfg, &NoObserver).unwrap()
    };
    // Per-sample steps (a session), and mini-batches (`sgd_batch`, which applies a step before
    // its loss is seen), with a last batch of one sample and with the whole set.
    for batch_size in [2, 3] {
        let e = run(batch_size);
        assert!(
            e.runs
                .iter()
                .all(|r| r.summary.diverged && r.summary.epochs < 20),
            "eta = 1e6 diverges with batches of {batch_size}"
        );
        assert_eq!(e.best, None);
    }
    let e = run(1);
    assert!(
        e.runs.iter().all(|r| r.summary.diverged),
        "eta = 1e6 diverges"
    );
    assert_eq!(e.best, None);
    // A diverged summary survives JSON (non-finite losses are written as null).
    let json = serde_json::to_string(&e.runs[0].summary).unwrap();
    let back: backprop::optim::RunSummary = serde_json::from_str(&json).unwrap();
    assert!(back.diverged && back.final_train_loss.is_nan());

    // Mixed with sane runs, a diverged run with a lower score is still not chosen.
    let mut summaries: Vec<_> = e.runs.iter().map(|r| r.summary.clone()).collect();
    summaries[1].score = -1.0;
    assert_eq!(best_of(&summaries), None);
    summaries[2].diverged = false;
    summaries[2].score = 0.5;
    assert_eq!(best_of(&summaries), Some(2));
}

#[test]
fn the_best_is_the_minimum_over_restarts_by_validation_loss() {
    let data = xor();
    let cfg = RestartConfig {
        restarts: 6,
        threads: 2,
        seed: 3,
        sgd: SgdConfig {
            learning_rate: 0.5,
            epochs: 30,
            ..Default::default()
        },
        classification: true,
        ..Default::default()
    };
    let validation =
        Dataset::from_rows(&[vec![0.1, 0.9], vec![0.9, 0.9]], &[vec![1.0], vec![0.0]]).unwrap();
    let e = run_restarts(&lecture_net(), &data, Some(&validation), &cfg, &NoObserver).unwrap();
    let best = e.best_run().unwrap();
    for r in &e.runs {
        let v = r.summary.final_validation_loss.unwrap();
        assert_eq!(r.summary.score, v);
        assert!(best.summary.score <= v);
        if v == best.summary.score {
            assert!(
                best.summary.index <= r.summary.index,
                "ties go to the lowest index"
            );
        }
        assert_eq!(r.history.train_loss.len(), r.summary.epochs);
        assert!(r.summary.final_validation_accuracy.is_some());
    }
    let indices: Vec<usize> = e.runs.iter().map(|r| r.summary.index).collect();
    assert_eq!(indices, (0..6).collect::<Vec<_>>());
}

/// The lecture's last slide on XOR: from zero the hidden units stay twins and XOR is not learned;
/// from random starts the best of 16 runs learns it.
#[test]
fn xor_needs_random_starts_and_the_best_of_several_runs() {
    let data = xor();
    let sgd = SgdConfig {
        learning_rate: 2.0,
        epochs: 1500,
        ..Default::default()
    };
    let zero = RestartConfig {
        restarts: 1,
        threads: 1,
        seed: 0,
        init: Init::Zero,
        bias_init: Init::Zero,
        sgd: sgd.clone(),
        classification: true,
        only: None,
        racing: None,
    };
    let e = run_restarts(&lecture_net(), &data, None, &zero, &NoObserver).unwrap();
    let net = &e.runs[0].network;
    let (w0, b0, w1) = (
        net.layers()[0].weights(),
        net.layers()[0].bias(),
        net.layers()[1].weights(),
    );
    // The symmetry never breaks: both hidden units have the same incoming and outgoing weights.
    assert_eq!(w0.column(0), w0.column(1));
    assert_eq!(b0[0], b0[1]);
    assert_eq!(w1[(0, 0)], w1[(1, 0)]);
    assert!(
        e.runs[0].summary.train_accuracy.unwrap() < 1.0,
        "zero init does not learn XOR"
    );

    let random = RestartConfig {
        restarts: 16,
        threads: 2,
        seed: 2026,
        init: Init::Uniform { a: 1.0 },
        ..zero
    };
    let e = run_restarts(&lecture_net(), &data, None, &random, &NoObserver).unwrap();
    let best = e.best_run().unwrap();
    let mut ws = best.network.workspace();
    for k in 0..4 {
        let out = best.network.forward(&mut ws, data.x(k)).unwrap()[0];
        assert_eq!(
            out > 0.5,
            data.y(k)[0] > 0.5,
            "XOR({:?}) = {out}",
            data.x(k)
        );
    }
    assert_eq!(best.summary.train_accuracy, Some(1.0));
}

/// A dataset of `m` samples with `n` inputs in [-1, 1) and two targets in [0, 1), from a seed.
fn random_data(n: usize, m: usize, seed: u64) -> Dataset {
    use rand::RngExt;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<Vec<f64>> = (0..m)
        .map(|_| (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect())
        .collect();
    let y: Vec<Vec<f64>> = (0..m)
        .map(|_| (0..2).map(|_| rng.random::<f64>()).collect())
        .collect();
    Dataset::from_rows(&x, &y).unwrap()
}

#[test]
fn training_in_blocks_takes_the_plain_steps_up_to_rounding() {
    // 50 samples in blocks of 16 (the last one of 2), 3 epochs, shuffled: the first layer's sums
    // are added in another order, nothing else changes.
    let data = random_data(40, 50, 3);
    let mut net = Network::builder(40)
        .layer(24, Activation::Tanh)
        .layer(2, Activation::Sigmoid)
        .build()
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    backprop::optim::initialize(&mut net, Init::XavierUniform, &mut rng).unwrap();
    let mut plain = net.clone();
    let cfg = SgdConfig {
        learning_rate: 0.2,
        epochs: 3,
        ..Default::default()
    };
    let blocked = run(
        &mut net,
        &data,
        &SgdConfig {
            block: Some(16),
            ..cfg.clone()
        },
    );
    let reference = run(
        &mut plain,
        &data,
        &SgdConfig {
            block: Some(1),
            ..cfg.clone()
        },
    );
    assert_close(&params(&net), &params(&plain), 1e-12);
    assert_close(&blocked.train_loss, &reference.train_loss, 1e-13);
    // Equal bits would mean that the blocks were not taken.
    assert_ne!(params(&net), params(&plain));
    assert!(SgdConfig {
        block: Some(0),
        ..cfg
    }
    .validate()
    .is_err());
}

#[test]
fn diverged_restarts_stop_early_and_leave_the_others_untouched() {
    // Large random weights on a ReLU network: some starts blow up at this rate, others settle.
    let data = Dataset::from_rows(
        &[
            vec![1.0, 2.0],
            vec![-1.0, 0.5],
            vec![3.0, -2.0],
            vec![0.5, 0.5],
        ],
        &[vec![10.0], vec![-4.0], vec![7.0], vec![1.0]],
    )
    .unwrap();
    let net = Network::builder(2)
        .layer(4, Activation::Relu)
        .layer(1, Activation::Identity)
        .build()
        .unwrap();
    let cfg = RestartConfig {
        restarts: 12,
        threads: 2,
        seed: 5,
        init: Init::Uniform { a: 3.0 },
        sgd: SgdConfig {
            learning_rate: 0.05,
            epochs: 40,
            ..Default::default()
        },
        ..Default::default()
    };
    let e = run_restarts(&net, &data, None, &cfg, &NoObserver).unwrap();
    let diverged: Vec<usize> = (0..cfg.restarts)
        .filter(|&i| e.runs[i].summary.diverged)
        .collect();
    assert!(
        !diverged.is_empty() && diverged.len() < cfg.restarts,
        "a mix of diverged and converged restarts: {diverged:?}"
    );
    for &i in &diverged {
        assert!(
            e.runs[i].summary.epochs < cfg.sgd.epochs,
            "restart {i} ran on"
        );
    }
    let best = e.best.unwrap();
    assert!(!diverged.contains(&best));
    // Each converged restart is the same run alone, to the bit.
    for i in (0..cfg.restarts).filter(|i| !diverged.contains(i)) {
        let alone = RestartConfig {
            only: Some(vec![i]),
            ..cfg.clone()
        };
        let a = run_restarts(&net, &data, None, &alone, &NoObserver).unwrap();
        assert_eq!(params(&a.runs[0].network), params(&e.runs[i].network));
        assert_eq!(a.runs[0].history.train_loss, e.runs[i].history.train_loss);
    }
}

#[test]
fn training_follows_the_schedule_epoch_by_epoch() {
    // Step decay by half every epoch equals one epoch at eta, then one at eta / 2.
    let data = xor();
    let mut scheduled = fixed_net();
    let mut by_hand = fixed_net();
    let cfg = SgdConfig {
        learning_rate: 0.8,
        epochs: 2,
        order: Order::Fixed,
        schedule: backprop::optim::Schedule::StepDecay {
            factor: 0.5,
            every: 1,
        },
        ..Default::default()
    };
    run(&mut scheduled, &data, &cfg);
    for eta in [0.8, 0.4] {
        let one = SgdConfig {
            learning_rate: eta,
            epochs: 1,
            order: Order::Fixed,
            ..Default::default()
        };
        run(&mut by_hand, &data, &one);
    }
    assert_eq!(params(&scheduled), params(&by_hand));
    assert_ne!(params(&scheduled), params(&fixed_net()));
}

#[test]
fn early_stopping_without_validation_is_refused() {
    let mut net = fixed_net();
    let cfg = SgdConfig {
        patience: Some(3),
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let e = train(
        &mut net,
        &xor(),
        None,
        &cfg,
        false,
        &mut rng,
        &NoObserver,
        0,
    );
    assert!(matches!(
        e,
        Err(backprop::optim::Error::InvalidConfig { .. })
    ));
}

/// Adam's settings `(b1, b2, eps)`: PyTorch's defaults, and others to show that they are used.
const BETAS: [(f64, f64, f64); 2] = [(0.9, 0.999, 1e-8), (0.8, 0.95, 1e-3)];

/// Adam (or AdamW with `decoupled`) on `fixed_net`, one step per sample of `steps`, written out
/// entry by entry from the formulas, on the gradients that `Network::backward` gives.
fn adam_by_hand(
    steps: &[([f64; 2], f64)],
    (b1, b2, eps): (f64, f64, f64),
    eta: f64,
    lambda: f64,
    decoupled: bool,
) -> Vec<f64> {
    let mut net = fixed_net();
    let (mut ws, mut g) = (net.workspace(), net.gradients());
    let n = net.parameter_count();
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    // The order of Network::params: W_0, b_0, W_1, b_1; the weights decay, the biases do not.
    let is_weight: Vec<bool> = net
        .params()
        .enumerate()
        .flat_map(|(k, s)| vec![k % 2 == 0; s.len()])
        .collect();
    for (step, (x, y)) in steps.iter().enumerate() {
        let t = i32::try_from(step + 1).unwrap();
        net.forward(&mut ws, x).unwrap();
        net.backward(&mut ws, &[*y], &mut g).unwrap();
        let grad: Vec<f64> = g.slices().flatten().copied().collect();
        for (k, w) in net.params_mut().flatten().enumerate() {
            let mut g = grad[k];
            if is_weight[k] && !decoupled {
                g += lambda * *w; // Adam: coupled L2
            }
            if is_weight[k] && decoupled {
                *w -= eta * lambda * *w; // AdamW: w <- w - eta lambda w, before the moments
            }
            m[k] = b1 * m[k] + (1.0 - b1) * g;
            v[k] = b2 * v[k] + (1.0 - b2) * g * g;
            let m_hat = m[k] / (1.0 - b1.powi(t));
            let v_hat = v[k] / (1.0 - b2.powi(t));
            *w -= eta * m_hat / (v_hat.sqrt() + eps);
        }
    }
    params(&net)
}

fn adam(decoupled: bool, (beta1, beta2, eps): (f64, f64, f64)) -> Optimizer {
    if decoupled {
        Optimizer::AdamW { beta1, beta2, eps }
    } else {
        Optimizer::Adam { beta1, beta2, eps }
    }
}

#[test]
fn adam_and_adamw_follow_pytorchs_formulas_for_two_steps() {
    let (a, b) = (([0.4, -0.9], 1.0), ([-0.3, 0.8], 0.0));
    let (eta, lambda) = (0.05, 0.1);
    for decoupled in [false, true] {
        for betas in BETAS {
            for decay in [0.0, lambda] {
                let cfg = SgdConfig {
                    learning_rate: eta,
                    optimizer: adam(decoupled, betas),
                    weight_decay: decay,
                    order: Order::Fixed,
                    ..Default::default()
                };
                // Two samples, one epoch: two steps in an epoch.
                let two =
                    Dataset::from_rows(&[a.0.to_vec(), b.0.to_vec()], &[vec![a.1], vec![b.1]])
                        .unwrap();
                let mut net = fixed_net();
                run(
                    &mut net,
                    &two,
                    &SgdConfig {
                        epochs: 1,
                        ..cfg.clone()
                    },
                );
                let expected = adam_by_hand(&[a, b], betas, eta, decay, decoupled);
                assert_close(&params(&net), &expected, 1e-14);
                // One sample, two epochs: t counts on across epochs (a reset would repeat step 1).
                let one = Dataset::from_rows(&[a.0.to_vec()], &[vec![a.1]]).unwrap();
                let mut net = fixed_net();
                run(&mut net, &one, &SgdConfig { epochs: 2, ..cfg });
                let expected = adam_by_hand(&[a, a], betas, eta, decay, decoupled);
                assert_close(&params(&net), &expected, 1e-14);
            }
        }
    }
    // The hand computation tells the variants apart, so the checks above could fail: AdamW's
    // decoupled decay is not Adam with L2, and the step count matters.
    let l2 = adam_by_hand(&[a, b], BETAS[0], eta, lambda, false);
    let decoupled = adam_by_hand(&[a, b], BETAS[0], eta, lambda, true);
    let plain = adam_by_hand(&[a, b], BETAS[0], eta, 0.0, false);
    for (x, y) in [(&l2, &decoupled), (&l2, &plain), (&decoupled, &plain)] {
        assert!(x.iter().zip(y).any(|(p, q)| (p - q).abs() > 1e-6));
    }
}

#[test]
fn weight_decay_moves_weights_not_biases_for_every_optimizer() {
    // One step from the same weights: the gradient of the biases is the same with or without
    // decay, so a bias that moves differently was decayed.
    let data = Dataset::from_rows(&[vec![0.4, -0.9]], &[vec![1.0]]).unwrap();
    for optimizer in Optimizer::ALL {
        let step = |weight_decay| {
            let mut net = fixed_net();
            let cfg = SgdConfig {
                learning_rate: 0.05,
                epochs: 1,
                optimizer,
                weight_decay,
                ..Default::default()
            };
            run(&mut net, &data, &cfg);
            net
        };
        let (without, with) = (step(0.0), step(0.5));
        for (a, b) in without.layers().iter().zip(with.layers()) {
            assert_eq!(a.bias(), b.bias(), "{optimizer}: biases untouched by decay");
            assert!(
                a.weights()
                    .iter()
                    .zip(b.weights().iter())
                    .all(|(x, y)| x != y),
                "{optimizer}: every weight decays"
            );
        }
    }
}

mod first_adam_step {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// With `m_hat = g` and `v_hat = g^2` after one step, Adam moves each parameter by
        /// `eta g / (|g| + eps)`: `eta sign(g)` wherever `|g| >> eps`.
        #[test]
        fn is_eta_times_the_sign_of_the_gradient(
            weights in proptest::collection::vec(-2.0..2.0f64, 9),
            x in proptest::collection::vec(-3.0..3.0f64, 2),
            y in -1.0..2.0f64,
            eta in 1e-4..0.5f64,
            decoupled in any::<bool>(),
        ) {
            let mut net = lecture_net();
            for (p, w) in net.params_mut().flatten().zip(&weights) {
                *p = *w;
            }
            let before = net.clone();
            let (mut ws, mut g) = (net.workspace(), net.gradients());
            net.forward(&mut ws, &x).unwrap();
            net.backward(&mut ws, &[y], &mut g).unwrap();
            let data = Dataset::from_rows(std::slice::from_ref(&x), &[vec![y]]).unwrap();
            let cfg = SgdConfig {
                learning_rate: eta,
                epochs: 1,
                optimizer: adam(decoupled, BETAS[0]),
                ..Default::default()
            };
            run(&mut net, &data, &cfg);
            let eps = BETAS[0].2;
            let moves = params(&net).iter().zip(&params(&before)).map(|(a, b)| a - b).collect::<Vec<_>>();
            for (k, (d, g)) in moves.iter().zip(g.slices().flatten()).enumerate() {
                if g.abs() > 1e-6 {
                    // |d + eta sign(g)| = eta eps / (|g| + eps), plus rounding.
                    let tol = eta * (eps / g.abs() + 1e-12) + 1e-15;
                    prop_assert!((d + eta * g.signum()).abs() <= tol, "entry {}: moved {} for g = {}", k, d, g);
                } else {
                    prop_assert!(d.abs() <= eta * (1.0 + 1e-12));
                }
            }
        }
    }
}
