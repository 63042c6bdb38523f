//! Initialization of the weights: the lecture's "don't start from zero, randomize".

use std::fmt;
use std::str::FromStr;

use backprop_linalg::Real;
use backprop_network::Network;
use rand::{Rng, RngExt};

use crate::{error::invalid, Error, Result};

/// How the weights `W_i` start ([`initialize`]); biases start at zero unless
/// [`initialize_biases`] draws them too.
///
/// `n_in` and `n_out` are a layer's widths `n_i` and `n_{i+1}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
#[non_exhaustive]
pub enum Init {
    /// All zero: what the lecture warns against. Hidden units of a layer then stay identical
    /// through training (the symmetry never breaks); kept so that experiments can show it.
    Zero,
    /// Uniform in `[-a, a)`.
    Uniform {
        /// The half-width `a > 0`.
        a: f64,
    },
    /// Normal with mean 0 and standard deviation `std`.
    Normal {
        /// The standard deviation, `> 0`.
        std: f64,
    },
    /// Glorot and Bengio (2010): uniform in `±sqrt(6 / (n_in + n_out))`. The default.
    #[default]
    XavierUniform,
    /// Glorot and Bengio (2010): normal with `std = sqrt(2 / (n_in + n_out))`.
    XavierNormal,
    /// He et al. (2015), for ReLU: uniform in `±sqrt(6 / n_in)`.
    HeUniform,
    /// He et al. (2015), for ReLU: normal with `std = sqrt(2 / n_in)`.
    HeNormal,
}

impl Init {
    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a non-positive or non-finite `a` or `std`.
    pub fn validate(self) -> Result<()> {
        match self {
            Init::Uniform { a } if !(a > 0.0 && a.is_finite()) => Err(invalid(
                "init",
                format!("uniform half-width must be positive, not {a}"),
            )),
            Init::Normal { std } if !(std > 0.0 && std.is_finite()) => Err(invalid(
                "init",
                format!("normal standard deviation must be positive, not {std}"),
            )),
            _ => Ok(()),
        }
    }
}

/// Sets every weight of `net` by `init`, drawing from `rng`, and every bias to zero.
///
/// Values are drawn in `f64` and rounded to the network's type, so an `f32` network gets the same
/// start as its `f64` twin, rounded.
///
/// # Errors
/// As [`Init::validate`].
///
/// # Example
/// ```
/// use backprop_optim::{initialize, Init};
/// use backprop_network::{Activation, Network};
/// use rand::SeedableRng;
/// let mut net = Network::builder(2).layer(3, Activation::Tanh).build::<f64>()?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// initialize(&mut net, Init::Uniform { a: 0.1 }, &mut rng)?;
/// assert!(net.layers()[0].weights().iter().all(|w| w.abs() < 0.1 && *w != 0.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn initialize<T: Real, R: Rng + ?Sized>(
    net: &mut Network<T>,
    init: Init,
    rng: &mut R,
) -> Result<()> {
    init.validate()?;
    for layer in net.layers_mut() {
        let (n_in, n_out) = (layer.inputs(), layer.outputs());
        let (w, b) = layer.params_mut();
        b.fill(T::zero());
        for x in w.iter_mut() {
            *x = T::from_f64(init.draw(n_in, n_out, rng)?);
        }
    }
    Ok(())
}

/// Sets every bias of `net` by `init`, drawing from `rng`, as if each bias were one more weight
/// of its layer (the lecture's constant node): the same `n_in` and `n_out`. [`Init::Zero`], the
/// usual choice, draws nothing. Call it after [`initialize`], which zeroes the biases.
///
/// # Errors
/// As [`Init::validate`].
///
/// # Example
/// ```
/// use backprop_optim::{initialize, initialize_biases, Init};
/// use backprop_network::{Activation, Network};
/// use rand::SeedableRng;
/// let mut net = Network::builder(2).layer(3, Activation::Tanh).build::<f64>()?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// initialize(&mut net, Init::XavierUniform, &mut rng)?;
/// initialize_biases(&mut net, Init::Normal { std: 0.01 }, &mut rng)?;
/// assert!(net.layers()[0].bias().iter().all(|b| *b != 0.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn initialize_biases<T: Real, R: Rng + ?Sized>(
    net: &mut Network<T>,
    init: Init,
    rng: &mut R,
) -> Result<()> {
    init.validate()?;
    for layer in net.layers_mut() {
        let (n_in, n_out) = (layer.inputs(), layer.outputs());
        for x in layer.bias_mut() {
            *x = T::from_f64(init.draw(n_in, n_out, rng)?);
        }
    }
    Ok(())
}

/// A draw of the standard normal distribution by Marsaglia's polar method (Marsaglia and Bray
/// 1964): `u, v` uniform in `(-1, 1)` until `0 < s = u^2 + v^2 < 1`, then
/// `u sqrt(-2 ln(s) / s)` (the second normal the pair gives, `v sqrt(..)`, is not kept, so that a
/// draw depends on nothing but the generator).
///
/// Plain arithmetic, `sqrt` (correctly rounded by IEEE 754) and the crate's own
/// [`log`](backprop_activations::log): the same bits on every CPU, unlike a sampler that calls
/// the C library's `exp` or `ln`, whose results may differ in the last bit between machines.
///
/// ```
/// use backprop_optim::standard_normal;
/// use rand::SeedableRng;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
/// let z: Vec<f64> = (0..10_000).map(|_| standard_normal(&mut rng)).collect();
/// let mean = z.iter().sum::<f64>() / z.len() as f64;
/// assert!(mean.abs() < 0.05);
/// ```
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    loop {
        let u = 2.0 * rng.random::<f64>() - 1.0;
        let v = 2.0 * rng.random::<f64>() - 1.0;
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            return u * (-2.0 * backprop_activations::log(s) / s).sqrt();
        }
    }
}

impl Init {
    /// One draw for a parameter of a layer with `n_in` inputs and `n_out` outputs (nothing is
    /// drawn for [`Init::Zero`]).
    fn draw<R: Rng + ?Sized>(self, n_in: usize, n_out: usize, rng: &mut R) -> Result<f64> {
        let (n_in, n_out) = (n_in as f64, n_out as f64);
        let uniform = |a: f64, rng: &mut R| (2.0 * rng.random::<f64>() - 1.0) * a;
        let normal = |std: f64, rng: &mut R| -> Result<f64> { Ok(std * standard_normal(rng)) };
        Ok(match self {
            Init::Zero => 0.0,
            Init::Uniform { a } => uniform(a, rng),
            Init::Normal { std } => normal(std, rng)?,
            Init::XavierUniform => uniform((6.0 / (n_in + n_out)).sqrt(), rng),
            Init::XavierNormal => normal((2.0 / (n_in + n_out)).sqrt(), rng)?,
            Init::HeUniform => uniform((6.0 / n_in).sqrt(), rng),
            Init::HeNormal => normal((2.0 / n_in).sqrt(), rng)?,
        })
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Zero => f.write_str("zero"),
            Init::Uniform { a } => write!(f, "uniform:{a}"),
            Init::Normal { std } => write!(f, "normal:{std}"),
            Init::XavierUniform => f.write_str("xavier"),
            Init::XavierNormal => f.write_str("xavier-normal"),
            Init::HeUniform => f.write_str("he"),
            Init::HeNormal => f.write_str("he-normal"),
        }
    }
}

impl FromStr for Init {
    type Err = Error;

    /// Parses `zero`, `uniform[:a]` (a = 0.5 by default), `normal[:std]` (0.1), `xavier`
    /// (`xavier-uniform`), `xavier-normal`, `he` (`he-uniform`), `he-normal`.
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let (name, arg) = match lower.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (lower.as_str(), None),
        };
        let number = |default: f64| -> Result<f64> {
            arg.map_or(Ok(default), |a| {
                a.parse::<f64>()
                    .map_err(|_| Error::Parse(format!("{s:?}: {a:?} is not a number")))
            })
        };
        let init = match name {
            "zero" | "zeros" => Init::Zero,
            "uniform" => Init::Uniform { a: number(0.5)? },
            "normal" | "gaussian" => Init::Normal { std: number(0.1)? },
            "xavier" | "xavier-uniform" | "glorot" | "glorot-uniform" => Init::XavierUniform,
            "xavier-normal" | "glorot-normal" => Init::XavierNormal,
            "he" | "he-uniform" | "kaiming" | "kaiming-uniform" => Init::HeUniform,
            "he-normal" | "kaiming-normal" => Init::HeNormal,
            _ => {
                return Err(Error::Parse(format!(
                    "unknown initialization {s:?} (expected zero, uniform[:a], normal[:std], xavier, xavier-normal, he, he-normal)"
                )))
            }
        };
        if arg.is_some() && !matches!(init, Init::Uniform { .. } | Init::Normal { .. }) {
            return Err(Error::Parse(format!("{s:?}: {name} takes no parameter")));
        }
        init.validate().map_err(|e| Error::Parse(e.to_string()))?;
        Ok(init)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_normal_has_the_moments_and_pinned_bits() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 200_000;
        let z: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        let kurt = z.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n as f64 / (var * var);
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
        assert!((kurt - 3.0).abs() < 0.05, "kurtosis {kurt}");
        let within_one = z.iter().filter(|x| x.abs() < 1.0).count() as f64 / n as f64;
        assert!((within_one - 0.682_689).abs() < 0.005, "{within_one}");
        // The first draws of seed 11, pinned: a change of the method, the generator or the
        // logarithm changes them.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let first: Vec<u64> = (0..4)
            .map(|_| standard_normal(&mut rng).to_bits())
            .collect();
        assert_eq!(first, PINNED);
    }

    const PINNED: [u64; 4] = [
        13821494331999474102,
        13835380707919095292,
        13822632083581157418,
        13831612028857939363,
    ];
    use backprop_network::Activation;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn net() -> Network<f64> {
        Network::builder(30)
            .layer(20, Activation::Relu)
            .layer(10, Activation::Identity)
            .build()
            .unwrap()
    }

    #[test]
    fn biases_start_at_zero_unless_asked() {
        let mut n = net();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        initialize(&mut n, Init::XavierUniform, &mut rng).unwrap();
        let mut twin = rng.clone();
        // Zero draws nothing: the generator is where it was.
        initialize_biases(&mut n, Init::Zero, &mut rng).unwrap();
        assert!(n
            .layers()
            .iter()
            .all(|l| l.bias().iter().all(|&b| b == 0.0)));
        assert_eq!(rng.random::<u64>(), twin.random::<u64>());
        initialize_biases(&mut n, Init::Uniform { a: 0.05 }, &mut rng).unwrap();
        for l in n.layers() {
            assert!(l.bias().iter().all(|&b| b != 0.0 && b.abs() < 0.05));
        }
        assert!(initialize_biases(&mut n, Init::Normal { std: -1.0 }, &mut rng).is_err());
    }

    /// Every scheme's scale: the uniform ones fill their interval (the largest magnitude within
    /// 1% of the bound, none beyond it), the normal ones have the standard deviation they name
    /// (within 3% over 200 x 300 draws, whose sampling error is about 0.3%).
    #[test]
    fn each_scheme_has_its_scale() {
        let (n_in, n_out) = (200.0_f64, 300.0_f64);
        let uniform = [
            (Init::Uniform { a: 0.3 }, 0.3),
            (Init::XavierUniform, (6.0 / (n_in + n_out)).sqrt()),
            (Init::HeUniform, (6.0 / n_in).sqrt()),
        ];
        let normal = [
            (Init::Normal { std: 0.2 }, 0.2),
            (Init::XavierNormal, (2.0 / (n_in + n_out)).sqrt()),
            (Init::HeNormal, (2.0 / n_in).sqrt()),
        ];
        let draw = |init: Init| -> Vec<f64> {
            let mut n = Network::builder(200)
                .layer(300, Activation::Relu)
                .build::<f64>()
                .unwrap();
            initialize(&mut n, init, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
            n.layers()[0].weights().iter().copied().collect()
        };
        for (init, bound) in uniform {
            let w = draw(init);
            let max = w.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
            assert!(
                max <= bound && max > 0.99 * bound,
                "{init}: {max} vs {bound}"
            );
        }
        for (init, std) in normal {
            let w = draw(init);
            let mean = w.iter().sum::<f64>() / w.len() as f64;
            let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / w.len() as f64;
            assert!(mean.abs() < 0.01 * std, "{init}: mean {mean}");
            assert!(
                (var.sqrt() / std - 1.0).abs() < 0.03,
                "{init}: {} vs {std}",
                var.sqrt()
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for init in [
            Init::Zero,
            Init::Uniform { a: 0.25 },
            Init::Normal { std: 0.5 },
            Init::XavierUniform,
            Init::XavierNormal,
            Init::HeUniform,
            Init::HeNormal,
        ] {
            assert_eq!(init.to_string().parse::<Init>().unwrap(), init);
        }
        assert!("uniform:-1".parse::<Init>().is_err());
        assert!("he:2".parse::<Init>().is_err());
        assert!("lecun".parse::<Init>().is_err());
    }

    #[test]
    fn ranges_and_spreads_follow_the_formulas() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut n = net();
        initialize(&mut n, Init::HeUniform, &mut rng).unwrap();
        let bound = (6.0_f64 / 30.0).sqrt();
        assert!(n.layers()[0].weights().iter().all(|w| w.abs() <= bound));
        assert!(n.layers()[0]
            .weights()
            .iter()
            .any(|w| w.abs() > 0.8 * bound));
        assert!(n
            .layers()
            .iter()
            .all(|l| l.bias().iter().all(|&b| b == 0.0)));

        initialize(&mut n, Init::XavierNormal, &mut rng).unwrap();
        let w = n.layers()[0].weights();
        let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
        let expected = 2.0 / 50.0;
        assert!((var / expected - 1.0).abs() < 0.2, "{var} vs {expected}");

        initialize(&mut n, Init::Zero, &mut rng).unwrap();
        assert!(n.params().flatten().all(|&w| w == 0.0));
    }

    #[test]
    fn the_same_seed_gives_the_same_weights_in_f32_and_f64() {
        let mut a = net();
        let mut b = net().cast::<f32>();
        initialize(
            &mut a,
            Init::XavierUniform,
            &mut ChaCha8Rng::seed_from_u64(9),
        )
        .unwrap();
        initialize(
            &mut b,
            Init::XavierUniform,
            &mut ChaCha8Rng::seed_from_u64(9),
        )
        .unwrap();
        assert_eq!(a.cast::<f32>(), b);
    }
}
