//! Test helpers shared by the unit tests of the crate: networks and samples from a seed.

use proptest::prelude::*;

use crate::{Activation, Loss, Network, Real};

/// A network of the given widths and activations, weights from a small deterministic pattern.
pub(crate) fn network<T: Real>(
    widths: &[usize],
    acts: &[Activation],
    loss: Loss,
    seed: u64,
) -> Network<T> {
    let mut builder = Network::builder(widths[0]).loss(loss);
    for (k, &n) in widths[1..].iter().enumerate() {
        builder = builder.layer(n, acts[k % acts.len()]);
    }
    let mut net = builder.build::<T>().unwrap();
    let mut s = seed | 1;
    for p in net.params_mut().flatten() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        *p = T::from_f64((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5);
    }
    net
}

/// `m` samples of inputs in [-1, 1) and targets in [0, 1), from a seed.
pub(crate) fn samples(n_in: usize, n_out: usize, m: usize, seed: u64) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..m)
        .map(|_| {
            let x = (0..n_in).map(|_| 2.0 * next() - 1.0).collect();
            let y = (0..n_out).map(|_| next()).collect();
            (x, y)
        })
        .collect()
}

/// [`samples`] cast to `T`.
pub(crate) fn samples_as<T: Real>(
    n_in: usize,
    n_out: usize,
    m: usize,
    seed: u64,
) -> Vec<(Vec<T>, Vec<T>)> {
    let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    samples(n_in, n_out, m, seed)
        .iter()
        .map(|(x, y)| (cast(x), cast(y)))
        .collect()
}

/// Two runs of the same steps taken two ways: their loss sums and every parameter agree within
/// `tolerance`, relative to the larger magnitude (plus `tolerance` absolute).
pub(crate) fn prop_close<T: Real>(
    (a, loss_a): (&Network<T>, T),
    (b, loss_b): (&Network<T>, T),
    tolerance: f64,
) -> Result<(), TestCaseError> {
    let near = |a: f64, b: f64| (a - b).abs() <= tolerance * (1.0 + a.abs().max(b.abs()));
    let (la, lb) = (loss_a.as_f64(), loss_b.as_f64());
    prop_assert!(near(la, lb), "losses {} and {}", la, lb);
    for (k, (p, q)) in a.params().flatten().zip(b.params().flatten()).enumerate() {
        prop_assert!(
            near(p.as_f64(), q.as_f64()),
            "parameter {}: {} and {}",
            k,
            p,
            q
        );
    }
    Ok(())
}
