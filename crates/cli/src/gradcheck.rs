//! Backpropagation against central finite differences, for `backprop gradcheck`.

use anyhow::Result;
use backprop_network::Network;
use backprop_optim::Dataset;

/// Gradients smaller than this are compared absolutely: the relative error divides by at least
/// this, since central differences carry a rounding error of about `1e-16 L / h`.
pub const FLOOR: f64 = 1e-4;

/// The largest relative error of one layer's weights and of its bias.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerError {
    /// Over the entries of `W_i`.
    pub weights: f64,
    /// Over the entries of `b_i`.
    pub bias: f64,
}

/// Compares the gradient of the mean loss over `data` by backpropagation with central
/// differences `(L(p + h) - L(p - h)) / 2h`, parameter by parameter, and returns the largest
/// relative error `|g - n| / max(|g|, |n|, FLOOR)` per layer.
///
/// # Errors
/// Data that does not fit the network.
pub fn relative_errors(net: &Network<f64>, data: &Dataset<f64>, h: f64) -> Result<Vec<LayerError>> {
    let m = data.len() as f64;
    let mut ws = net.workspace();
    let mut grads = net.gradients();
    let mut total = net.gradients();
    for i in 0..data.len() {
        net.forward(&mut ws, data.x(i))?;
        net.backward(&mut ws, data.y(i), &mut grads)?;
        total.add_scaled(1.0 / m, &grads);
    }
    let mean_loss =
        |net: &Network<f64>, ws: &mut backprop_network::Workspace<f64>| -> Result<f64> {
            let mut sum = 0.0;
            for i in 0..data.len() {
                sum += net.loss_of(ws, data.x(i), data.y(i))?;
            }
            Ok(sum / m)
        };
    let mut probe = net.clone();
    let mut worst = Vec::new();
    for (k, analytic) in total.slices().enumerate() {
        let mut largest: f64 = 0.0;
        for (e, &g) in analytic.iter().enumerate() {
            let original = net.params().nth(k).map_or(0.0, |p| p[e]);
            let set = |probe: &mut Network<f64>, v: f64| {
                if let Some(p) = probe.params_mut().nth(k) {
                    p[e] = v;
                }
            };
            set(&mut probe, original + h);
            let plus = mean_loss(&probe, &mut ws)?;
            set(&mut probe, original - h);
            let minus = mean_loss(&probe, &mut ws)?;
            set(&mut probe, original);
            let numeric = (plus - minus) / (2.0 * h);
            let error = (g - numeric).abs() / g.abs().max(numeric.abs()).max(FLOOR);
            largest = largest.max(if error.is_nan() { f64::INFINITY } else { error });
        }
        worst.push(largest);
    }
    Ok(worst
        .chunks_exact(2)
        .map(|c| LayerError {
            weights: c[0],
            bias: c[1],
        })
        .collect())
}
