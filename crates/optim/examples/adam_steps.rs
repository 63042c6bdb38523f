//! Adam and AdamW steps on a 2-2-1 sigmoid network, printed as JSON for `benches/adam_check.py`,
//! which redoes them with JAX's autodiff and optax's Adam and AdamW (not part of CI).
//!
//! ```sh
//! cargo run -p backprop-optim --example adam_steps
//! ```

use backprop_network::{Activation, Loss, Network};
use backprop_optim::{train, Dataset, NoObserver, Optimizer, Order, SgdConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// The layers as `{"w": rows of W_i (n_i x n_{i+1}), "b": b_i}`.
fn layers(net: &Network) -> Value {
    net.layers()
        .iter()
        .map(|l| {
            let w = l.weights();
            let rows: Vec<Vec<f64>> = (0..w.nrows())
                .map(|r| (0..w.ncols()).map(|c| w[(r, c)]).collect())
                .collect();
            json!({"w": rows, "b": l.bias()})
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut start = Network::builder(2)
        .layer(2, Activation::Sigmoid)
        .layer(1, Activation::Sigmoid)
        .loss(Loss::Squared)
        .build::<f64>()?;
    let values = [0.3, -0.2, 0.5, 0.1, 0.05, -0.1, 0.7, -0.4, 0.2];
    for (p, v) in start.params_mut().flatten().zip(values) {
        *p = v;
    }
    let x = [[0.4, -0.9], [-0.3, 0.8], [1.2, 0.5], [-1.0, -0.6]];
    let y = [1.0, 0.0, 1.0, 0.0];
    let adam = |beta1, beta2, eps| Optimizer::Adam { beta1, beta2, eps };
    let adamw = |beta1, beta2, eps| Optimizer::AdamW { beta1, beta2, eps };
    // (optimizer, weight decay, samples, batch size, epochs)
    let cases = [
        (adam(0.9, 0.999, 1e-8), 0.0, 2, 1, 1),
        (adam(0.9, 0.999, 1e-8), 0.1, 2, 1, 1),
        (adamw(0.9, 0.999, 1e-8), 0.1, 2, 1, 1),
        (adamw(0.9, 0.999, 1e-8), 0.1, 4, 2, 1),
        (adam(0.8, 0.95, 1e-3), 0.05, 1, 1, 3),
    ];
    let mut out = Vec::new();
    for (optimizer, weight_decay, m, batch_size, epochs) in cases {
        let data = Dataset::from_rows(
            &x[..m].iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
            &y[..m].iter().map(|&t| vec![t]).collect::<Vec<_>>(),
        )?;
        let cfg = SgdConfig {
            learning_rate: 0.05,
            epochs,
            batch_size,
            order: Order::Fixed,
            optimizer,
            weight_decay,
            ..Default::default()
        };
        let mut net = start.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        train(&mut net, &data, None, &cfg, false, &mut rng, &NoObserver, 0)?;
        out.push(json!({
            "config": cfg,
            "x": &x[..m],
            "y": &y[..m],
            "before": layers(&start),
            "after": layers(&net),
        }));
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
