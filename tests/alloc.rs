//! The training step allocates nothing, per sample or per mini-batch: a counting allocator watches
//! the hot loops.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use backprop::activations::Activation;
use backprop::network::{Loss, Network};
use backprop::optim::{Optimizer, OptimizerState, SgdConfig};

/// The system allocator, counting the allocations of each thread (so that tests running in
/// parallel do not see each other's).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a plain
// thread-local integer that never allocates.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The number of allocations `f` makes on this thread.
pub fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn network(loss: Loss) -> Network<f64> {
    let mut net = Network::builder(5)
        .layer(7, Activation::Tanh)
        .layer(6, Activation::Relu)
        .layer(3, Activation::Sigmoid)
        .loss(loss)
        .build()
        .unwrap();
    for (k, p) in net.params_mut().flatten().enumerate() {
        *p = ((k * 37 % 19) as f64 - 9.0) / 20.0;
    }
    net
}

#[test]
fn the_counter_sees_allocations() {
    assert!(allocations_in(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
}

#[test]
fn per_sample_steps_do_not_allocate() {
    for loss in Loss::ALL {
        let mut net = network(loss);
        let (mut ws, mut grads) = (net.workspace(), net.gradients());
        let samples: Vec<([f64; 5], [f64; 3])> = (0..20)
            .map(|t| {
                let t = t as f64;
                (
                    [t.sin(), t.cos(), 0.5, -t / 20.0, 1.0],
                    [1.0, 0.0, (t / 20.0).fract()],
                )
            })
            .collect();
        let n = allocations_in(|| {
            for (x, y) in &samples {
                net.sgd_step(&mut ws, x, y, 0.05).unwrap();
                net.forward(&mut ws, x).unwrap();
                net.backward(&mut ws, y, &mut grads).unwrap();
                net.update(-0.05, &grads).unwrap();
                net.loss_of(&mut ws, x, y).unwrap();
            }
            let mut session = net.sgd_session(&mut ws).unwrap();
            for (x, y) in &samples {
                session.step(x, y, 0.05).unwrap();
            }
        });
        assert_eq!(n, 0, "{loss}: {n} allocations in 20 training steps");
    }
}

/// Mini-batch steps, including a shorter last batch: the GEMM packs into buffers that
/// `batch_workspace` reserved for every product of the layers (`linalg::GemmScratch`), so no step
/// allocates.
#[test]
fn mini_batch_steps_do_not_allocate() {
    let mut net = network(Loss::CrossEntropy);
    let mut ws = net.batch_workspace(8).unwrap();
    let mut grads = net.gradients();
    let n = allocations_in(|| {
        for epoch in 0..5 {
            // A full batch of 8, then a shorter last batch of 3.
            for b in [8, 3] {
                for j in 0..b {
                    let t = (epoch * 8 + j) as f64;
                    ws.load(j, &[t.sin(), t.cos(), 0.1, 0.2, 1.0], &[0.0, 1.0, 0.0])
                        .unwrap();
                }
                net.forward_batch(&mut ws, b).unwrap();
                if epoch % 2 == 0 {
                    net.backward_batch(&mut ws, b, &mut grads).unwrap();
                    net.update(-0.1, &grads).unwrap();
                } else {
                    // The fused step, which updates as its backward pass goes.
                    net.sgd_batch(&mut ws, b, 0.1).unwrap();
                }
            }
        }
    });
    assert_eq!(n, 0, "{n} allocations in 10 mini-batch steps");
}

/// Per-sample steps in blocks (`sgd_block`), including a shorter last block: the three GEMMs of a
/// block pack into buffers that `block_workspace` reserved.
#[test]
fn per_sample_steps_in_blocks_do_not_allocate() {
    for loss in Loss::ALL {
        let mut net = network(loss);
        let mut bw = net.block_workspace(8).unwrap();
        let n = allocations_in(|| {
            for epoch in 0..5 {
                for b in [8, 3] {
                    for j in 0..b {
                        let t = (epoch * 8 + j) as f64;
                        bw.load(j, &[t.sin(), t.cos(), 0.1, 0.2, 1.0], &[0.0, 1.0, 0.0])
                            .unwrap();
                    }
                    net.sgd_block(&mut bw, b, 0.05).unwrap();
                }
            }
        });
        assert_eq!(n, 0, "{loss}: {n} allocations in 10 blocks of steps");
    }
}

/// Every optimizer's step, per sample and per mini-batch, with coupled or decoupled weight decay
/// and clipping: the state (velocity, moments) is made once, before the steps.
#[test]
fn optimizer_steps_do_not_allocate() {
    for optimizer in Optimizer::ALL {
        let mut net = network(Loss::CrossEntropy);
        let cfg = SgdConfig {
            optimizer,
            weight_decay: 1e-3,
            clip_norm: Some(1.0),
            ..Default::default()
        };
        let mut state = OptimizerState::new(&net, &cfg).unwrap();
        let (mut ws, mut bws, mut grads) = (
            net.workspace(),
            net.batch_workspace(4).unwrap(),
            net.gradients(),
        );
        let n = allocations_in(|| {
            for step in 0..10 {
                let t = f64::from(step);
                let x = [t.sin(), t.cos(), 0.1, 0.2, 1.0];
                if step % 2 == 0 {
                    net.forward(&mut ws, &x).unwrap();
                    net.backward(&mut ws, &[0.0, 1.0, 0.0], &mut grads).unwrap();
                } else {
                    for j in 0..4 {
                        bws.load(j, &x, &[1.0, 0.0, 0.0]).unwrap();
                    }
                    net.forward_batch(&mut bws, 4).unwrap();
                    net.backward_batch(&mut bws, 4, &mut grads).unwrap();
                }
                state.step(&mut net, &mut grads, 0.01).unwrap();
            }
        });
        assert_eq!(n, 0, "{optimizer}: {n} allocations in 10 steps");
        assert_eq!(state.steps(), 10);
    }
}

/// A whole epoch, steps and evaluation (training loss, validation loss and accuracy on the GEMM)
/// included, allocates nothing: `train` allocates the same for 2 epochs as for 12, only its
/// buffers, made once per run. Covers per-sample (plain and blocked), mini-batch and Adam runs.
#[test]
fn epochs_and_their_evaluation_do_not_allocate() {
    use backprop::optim::{train, Dataset, NoObserver};
    use rand::SeedableRng;
    let rows = |n: usize, shift: f64| {
        let x: Vec<Vec<f64>> = (0..n)
            .map(|k| {
                let t = k as f64 + shift;
                vec![t.sin(), t.cos(), 0.1, (t / 7.0).fract(), 1.0]
            })
            .collect();
        let y: Vec<Vec<f64>> = (0..n)
            .map(|k| {
                let mut y = vec![0.0; 3];
                y[k % 3] = 1.0;
                y
            })
            .collect();
        Dataset::from_rows(&x, &y).unwrap()
    };
    // More rows than one evaluation chunk (64), so that the last chunk is shorter.
    let (training, validation) = (rows(150, 0.0), rows(70, 0.5));
    let configs = [
        SgdConfig::default(),
        SgdConfig {
            block: Some(8),
            ..Default::default()
        },
        SgdConfig {
            batch_size: 16,
            ..Default::default()
        },
        SgdConfig {
            optimizer: Optimizer::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            batch_size: 4,
            ..Default::default()
        },
    ];
    for cfg in configs {
        let count = |epochs: usize| {
            let mut net = network(Loss::CrossEntropy);
            let cfg = SgdConfig {
                epochs,
                learning_rate: 0.01,
                ..cfg.clone()
            };
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
            allocations_in(|| {
                let h = train(
                    &mut net,
                    &training,
                    Some(&validation),
                    &cfg,
                    true,
                    &mut rng,
                    &NoObserver,
                    0,
                )
                .unwrap();
                assert_eq!(h.validation_accuracy.len(), epochs);
                assert!(!h.diverged);
            })
        };
        let (two, twelve) = (count(2), count(12));
        assert_eq!(
            two, twelve,
            "{cfg:?}: {two} allocations in 2 epochs, {twelve} in 12"
        );
    }
}
