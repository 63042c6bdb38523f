//! Initialization: the lecture's "don't start from zero, randomize the starting weights".

use std::fmt;
use std::str::FromStr;

use backprop_linalg::Real;
use backprop_network::Network;
use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use crate::error::{invalid, Error, Result};

/// How the weights `W_i` are drawn; `fan_in = n_i`, `fan_out = n_{i+1}`.
///
/// Parsed from and written as `zero`, `uniform:A`, `normal:S`, `xavier-uniform`,
/// `xavier-normal`, `he-uniform`, `he-normal` (`uniform` and `normal` alone mean `A = S = 0.5`;
/// `xavier`/`glorot` and `he`/`kaiming` mean the uniform variants). Serialized as that string.
///
/// ```
/// use backprop_optim::Init;
/// assert_eq!("uniform:0.1".parse::<Init>()?, Init::Uniform { a: 0.1 });
/// assert_eq!("xavier".parse::<Init>()?.to_string(), "xavier-uniform");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum Init {
    /// All weights zero: the start the lecture warns against (hidden units stay identical).
    Zero,
    /// `U(-a, a)`.
    Uniform {
        /// The half-width `a`.
        a: f64,
    },
    /// `N(0, std^2)`.
    Normal {
        /// The standard deviation.
        std: f64,
    },
    /// Glorot and Bengio: `U(-a, a)` with `a = sqrt(6 / (fan_in + fan_out))`.
    #[default]
    XavierUniform,
    /// Glorot and Bengio: `N(0, 2 / (fan_in + fan_out))`.
    XavierNormal,
    /// He et al. (for ReLU): `U(-a, a)` with `a = sqrt(6 / fan_in)`.
    HeUniform,
    /// He et al. (for ReLU): `N(0, 2 / fan_in)`.
    HeNormal,
}

/// The drawing rule of one layer, after the fans are known.
enum Draw {
    Zero,
    Uniform(f64),
    Normal(f64),
}

impl Init {
    /// The default half-width of `uniform` and standard deviation of `normal`.
    pub const DEFAULT_SCALE: f64 = 0.5;

    fn draw(self, fan_in: usize, fan_out: usize) -> Draw {
        let (fan_in, fan_sum) = (fan_in as f64, (fan_in + fan_out) as f64);
        match self {
            Init::Zero => Draw::Zero,
            Init::Uniform { a } => Draw::Uniform(a),
            Init::Normal { std } => Draw::Normal(std),
            Init::XavierUniform => Draw::Uniform((6.0 / fan_sum).sqrt()),
            Init::XavierNormal => Draw::Normal((2.0 / fan_sum).sqrt()),
            Init::HeUniform => Draw::Uniform((6.0 / fan_in).sqrt()),
            Init::HeNormal => Draw::Normal((2.0 / fan_in).sqrt()),
        }
    }

    /// Checks that a scale is finite and not negative.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] otherwise.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Init::Uniform { a: x } | Init::Normal { std: x } if !(x.is_finite() && x >= 0.0) => {
                Err(invalid(
                    "init",
                    format!("scale {x} must be finite and >= 0"),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Draws every weight of `net` from `init` and sets every bias to zero.
///
/// Layer by layer, each `W_i` in column-major order (column `j` is `w_{i,j}`), so the weights
/// depend on `rng`'s stream alone. Values are drawn in `f64` and rounded to `T`, so an `f32`
/// network starts from the rounded weights of the `f64` one. A scale that is not finite gives
/// non-finite weights (and a run that diverges at once); [`Init::validate`] refuses it first.
///
/// ```
/// use backprop_optim::{initialize, Activation, Init, Network};
/// use rand::SeedableRng;
/// let mut net = Network::builder(2).layer(3, Activation::Tanh).layer(1, Activation::Identity).build::<f64>()?;
/// initialize(&mut net, Init::Uniform { a: 0.1 }, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
/// let w = net.layers()[0].weights();
/// assert!(w.iter().all(|x| x.abs() <= 0.1) && w[(0, 0)] != w[(0, 1)]);
/// assert!(net.layers()[0].bias().iter().all(|&b| b == 0.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn initialize<T: Real, R: Rng + ?Sized>(net: &mut Network<T>, init: Init, rng: &mut R) {
    for layer in net.layers_mut() {
        let draw = init.draw(layer.inputs(), layer.outputs());
        let (w, b) = layer.params_mut();
        fill(w, &draw, rng);
        b.fill(T::zero());
    }
}

/// As [`initialize`], and draws the biases from the same distribution as their layer's weights
/// (after all of that layer's weights).
pub fn initialize_with_biases<T: Real, R: Rng + ?Sized>(
    net: &mut Network<T>,
    init: Init,
    rng: &mut R,
) {
    for layer in net.layers_mut() {
        let draw = init.draw(layer.inputs(), layer.outputs());
        let (w, b) = layer.params_mut();
        fill(w, &draw, rng);
        fill(b, &draw, rng);
    }
}

fn fill<T: Real, R: Rng + ?Sized>(out: &mut [T], draw: &Draw, rng: &mut R) {
    match *draw {
        Draw::Zero => out.fill(T::zero()),
        Draw::Uniform(a) => out
            .iter_mut()
            // u in [0, 1), so 2u - 1 in [-1, 1): exact scaling, no rejection, never fails.
            .for_each(|w| *w = T::from_f64(a * (2.0 * rng.random::<f64>() - 1.0))),
        Draw::Normal(std) => out.iter_mut().for_each(|w| {
            let z: f64 = StandardNormal.sample(rng);
            *w = T::from_f64(std * z);
        }),
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Zero => f.write_str("zero"),
            Init::Uniform { a } => write!(f, "uniform:{a}"),
            Init::Normal { std } => write!(f, "normal:{std}"),
            Init::XavierUniform => f.write_str("xavier-uniform"),
            Init::XavierNormal => f.write_str("xavier-normal"),
            Init::HeUniform => f.write_str("he-uniform"),
            Init::HeNormal => f.write_str("he-normal"),
        }
    }
}

impl FromStr for Init {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let err = || Error::Parse {
            what: "initialization",
            input: s.to_owned(),
            expected: "zero, uniform[:A], normal[:S], xavier[-uniform], xavier-normal, \
                       he[-uniform], he-normal",
        };
        let lower = s.trim().to_ascii_lowercase();
        let (name, arg) = match lower.split_once(':') {
            Some((name, arg)) => (name, Some(arg.parse::<f64>().map_err(|_| err())?)),
            None => (lower.as_str(), None),
        };
        let scale = arg.unwrap_or(Init::DEFAULT_SCALE);
        let init = match name {
            "zero" | "zeros" if arg.is_none() => Init::Zero,
            "uniform" => Init::Uniform { a: scale },
            "normal" | "gaussian" => Init::Normal { std: scale },
            "xavier" | "xavier-uniform" | "glorot" | "glorot-uniform" if arg.is_none() => {
                Init::XavierUniform
            }
            "xavier-normal" | "glorot-normal" if arg.is_none() => Init::XavierNormal,
            "he" | "he-uniform" | "kaiming" | "kaiming-uniform" if arg.is_none() => Init::HeUniform,
            "he-normal" | "kaiming-normal" if arg.is_none() => Init::HeNormal,
            _ => return Err(err()),
        };
        init.validate().map_err(|_| err())?;
        Ok(init)
    }
}

impl From<Init> for String {
    fn from(init: Init) -> String {
        init.to_string()
    }
}

impl TryFrom<String> for Init {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backprop_network::Activation;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const ALL: [Init; 7] = [
        Init::Zero,
        Init::Uniform { a: 0.25 },
        Init::Normal { std: 0.125 },
        Init::XavierUniform,
        Init::XavierNormal,
        Init::HeUniform,
        Init::HeNormal,
    ];

    fn wide() -> Network {
        Network::builder(40)
            .layer(60, Activation::Tanh)
            .build::<f64>()
            .unwrap()
    }

    fn moments(net: &Network) -> (f64, f64, f64) {
        let w = net.layers()[0].weights();
        let n = w.len() as f64;
        let mean = w.iter().sum::<f64>() / n;
        let var = w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        (mean, var, w.iter().fold(0.0_f64, |m, x| m.max(x.abs())))
    }

    #[test]
    fn names_round_trip() {
        for init in ALL {
            assert_eq!(init.to_string().parse::<Init>().unwrap(), init);
            let json = serde_json::to_string(&init).unwrap();
            assert_eq!(serde_json::from_str::<Init>(&json).unwrap(), init);
        }
        assert_eq!("he".parse::<Init>().unwrap(), Init::HeUniform);
        assert_eq!("normal".parse::<Init>().unwrap(), Init::Normal { std: 0.5 });
        for bad in [
            "",
            "xavier:2",
            "uniform:x",
            "normal:-1",
            "uniform:nan",
            "ones",
        ] {
            assert!(bad.parse::<Init>().is_err(), "{bad}");
        }
    }

    #[test]
    fn variances_match_their_formulas() {
        // 40 x 60 = 2400 draws: the sample variance is within a few percent of the true one.
        let (fan_in, fan_out) = (40.0_f64, 60.0_f64);
        let cases = [
            (Init::Uniform { a: 0.25 }, 0.25 * 0.25 / 3.0, Some(0.25)),
            (Init::Normal { std: 0.125 }, 0.125 * 0.125, None),
            (
                Init::XavierUniform,
                2.0 / (fan_in + fan_out),
                Some((6.0 / 100.0_f64).sqrt()),
            ),
            (Init::XavierNormal, 2.0 / (fan_in + fan_out), None),
            (Init::HeUniform, 2.0 / fan_in, Some((6.0 / fan_in).sqrt())),
            (Init::HeNormal, 2.0 / fan_in, None),
        ];
        for (init, var, bound) in cases {
            let mut net = wide();
            net.layer_mut(0).bias_mut().fill(1.0);
            initialize(&mut net, init, &mut ChaCha8Rng::seed_from_u64(3));
            let (mean, v, max) = moments(&net);
            assert!(
                mean.abs() < 4.0 * (var / 2400.0).sqrt(),
                "{init}: mean {mean}"
            );
            assert!((v / var - 1.0).abs() < 0.1, "{init}: variance {v} vs {var}");
            if let Some(a) = bound {
                assert!(max <= a, "{init}: {max} > {a}");
            }
            assert!(net.layers()[0].bias().iter().all(|&b| b == 0.0));
        }
        let mut net = wide();
        initialize(&mut net, Init::Zero, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(moments(&net), (0.0, 0.0, 0.0));
    }

    #[test]
    fn same_stream_same_weights_and_f32_rounds_f64() {
        let mut a = wide();
        let mut b = wide();
        let mut c = wide().cast::<f32>();
        initialize(&mut a, Init::HeNormal, &mut ChaCha8Rng::seed_from_u64(9));
        initialize(&mut b, Init::HeNormal, &mut ChaCha8Rng::seed_from_u64(9));
        initialize(&mut c, Init::HeNormal, &mut ChaCha8Rng::seed_from_u64(9));
        assert_eq!(a, b);
        assert_eq!(a.cast::<f32>(), c);
        initialize(&mut b, Init::HeNormal, &mut ChaCha8Rng::seed_from_u64(10));
        assert_ne!(a, b);
    }

    #[test]
    fn biases_drawn_when_asked() {
        let mut net = wide();
        initialize_with_biases(
            &mut net,
            Init::Uniform { a: 0.5 },
            &mut ChaCha8Rng::seed_from_u64(2),
        );
        let b = net.layers()[0].bias();
        assert!(b.iter().all(|x| x.abs() <= 0.5) && b.iter().any(|&x| x != 0.0));
    }
}
