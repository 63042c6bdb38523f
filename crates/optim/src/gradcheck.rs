//! Backpropagation against central finite differences, on a whole dataset: the check behind
//! `backprop gradcheck`.

use backprop_network::{Network, Workspace};

use crate::{sgd::check_data, Dataset, Result};

/// Gradients smaller than this are compared absolutely: the relative error divides by at least
/// this, since central differences carry a rounding error of about `1e-16 L / h`.
pub const GRADCHECK_FLOOR: f64 = 1e-4;

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
/// relative error `|g - n| / max(|g|, |n|, GRADCHECK_FLOOR)` of each layer (NaN counts as
/// infinite).
///
/// # Errors
/// [`Error::Data`](crate::Error::Data) if the data does not fit the network.
///
/// # Example
/// ```
/// use backprop_network::{Activation, Network};
/// use backprop_optim::{gradient_check, initialize, Dataset, Init};
/// use rand::SeedableRng;
/// let mut net = Network::builder(2).layer(3, Activation::Tanh).layer(1, Activation::Sigmoid).build()?;
/// initialize(&mut net, Init::XavierUniform, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1))?;
/// let data = Dataset::from_rows(&[vec![0.5, -1.0], vec![1.0, 2.0]], &[vec![1.0], vec![0.0]])?;
/// let errors = gradient_check(&net, &data, 1e-5)?;
/// assert_eq!(errors.len(), 2);
/// assert!(errors.iter().all(|e| e.weights < 1e-6 && e.bias < 1e-6));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn gradient_check(net: &Network<f64>, data: &Dataset<f64>, h: f64) -> Result<Vec<LayerError>> {
    check_data(net, data, "gradient-check")?;
    let m = data.len() as f64;
    let mut ws = net.workspace();
    let mut grads = net.gradients();
    let mut total = net.gradients();
    for i in 0..data.len() {
        net.forward(&mut ws, data.x(i))?;
        net.backward(&mut ws, data.y(i), &mut grads)?;
        total.add_scaled(1.0 / m, &grads)?;
    }
    let mean_loss = |net: &Network<f64>, ws: &mut Workspace<f64>| -> Result<f64> {
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
            let set = |probe: &mut Network<f64>, delta: f64| {
                if let Some(p) = probe.params_mut().nth(k) {
                    p[e] += delta;
                }
            };
            let original = net.params().nth(k).map_or(0.0, |p| p[e]);
            set(&mut probe, h);
            let plus = mean_loss(&probe, &mut ws)?;
            set(&mut probe, -2.0 * h);
            let minus = mean_loss(&probe, &mut ws)?;
            if let Some(p) = probe.params_mut().nth(k) {
                p[e] = original;
            }
            let numeric = (plus - minus) / (2.0 * h);
            let error = (g - numeric).abs() / g.abs().max(numeric.abs()).max(GRADCHECK_FLOOR);
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

#[cfg(test)]
mod tests {
    use super::*;
    use backprop_network::{Activation, Loss};

    #[test]
    fn a_relu_at_its_kink_shows_as_a_mismatch() {
        // A ReLU exactly at its kink: the one-sided derivative backprop uses (1) differs from the
        // central difference (1/2), and the check reports it.
        let mut net = Network::builder(1)
            .layer(1, Activation::Relu)
            .layer(1, Activation::Identity)
            .loss(Loss::Squared)
            .build()
            .unwrap();
        for p in net.params_mut().flatten() {
            *p = 1.0;
        }
        net.layer_mut(0).bias_mut()[0] = -1.0; // s_1 = x - 1 = 0 at x = 1
        let data = Dataset::from_rows(&[vec![1.0]], &[vec![3.0]]).unwrap();
        let errors = gradient_check(&net, &data, 1e-5).unwrap();
        assert!(errors[0].weights > 0.1, "{errors:?}");
        assert!(errors[1].weights < 1e-8, "{errors:?}");
    }

    #[test]
    fn data_of_another_shape_is_an_error() {
        let net = Network::builder(2)
            .layer(1, Activation::Identity)
            .build()
            .unwrap();
        let data = Dataset::from_rows(&[vec![1.0]], &[vec![3.0]]).unwrap();
        assert!(gradient_check(&net, &data, 1e-5).is_err());
    }
}
