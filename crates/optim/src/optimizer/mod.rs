//! The update rules: what a step does with the gradient `g` of its (mean) loss.
//!
//! An [`Optimizer`] is the configuration of a rule, as candle-nn's optimizer `Config`: it is
//! `Copy`, serialized in reports and models, and named on the command line. An
//! [`OptimizerState`] owns what the rule remembers from step to step (the velocity of momentum,
//! the moments and step count of Adam), allocated once per run, and takes the steps:
//! [`OptimizerState::step`]`(net, grads, eta)` with `eta` the scheduled rate of the step, as
//! burn's `SimpleOptimizer::step(lr, tensor, grad, state)`. No step allocates.
//!
//! Every rule sees the gradient after the run's weight decay and clipping, in this order:
//! 1. *Coupled* L2 decay (every rule but AdamW): `g <- g + lambda W_i` for the weights `W_i`, not
//!    the biases.
//! 2. Clipping: `g <- g c / |g|` when the Euclidean norm `|g|` over all weights and biases
//!    exceeds `c`. (PyTorch users clip before `step()`, which adds the decay; the two orders
//!    differ only when both are on.)
//! 3. The rule. AdamW first applies its *decoupled* decay `W_i <- W_i - eta lambda W_i` to the
//!    weights (not the biases), then the Adam step on the undecayed gradient.
//!
//! The lecture's plain step takes fused paths (`Network::sgd_session`, `sgd_block`, `sgd_batch`)
//! that update the weights inside the backward pass and never see an [`OptimizerState`]. Only a
//! rule whose [`Optimizer::is_plain`] says so may take them; that `match` has no wildcard arm, so
//! a new variant does not compile until it answers.
//!
//! # Adding an optimizer
//! 1. Write its file here, `optimizer/<name>.rs`: its state (a struct holding `Gradients`
//!    buffers made once from the network) and its `step`, with the formula in the docs.
//! 2. Add a variant with its settings to [`Optimizer`] and to [`Optimizer::ALL`] (with its
//!    defaults), and a variant to the private `Rule` enum below. The compiler then asks for an arm
//!    in every `match`: its name, whether it is plain (no, unless it is `W <- W - eta g`), whether
//!    it decouples weight decay, the ranges of its settings, its state, its step.
//! 3. In the CLI, add its flags (if it has settings) where `setup.rs` turns `--optimizer NAME`
//!    into an [`Optimizer`]; the name itself is parsed by `Optimizer`'s `FromStr` from
//!    [`Optimizer::ALL`], and the printed configuration uses its `Display`.
//!
//! The unit tests check every entry of [`Optimizer::ALL`] (one per variant): its name parses
//! back, and a rule that is not plain does not step as plain SGD does.
//!
//! ```
//! use backprop_network::{Activation, Network};
//! use backprop_optim::{Optimizer, OptimizerState, SgdConfig};
//!
//! let mut net = Network::builder(2).layer(1, Activation::Identity).build::<f64>()?;
//! let cfg = SgdConfig { optimizer: "adam".parse::<Optimizer>()?, ..Default::default() };
//! assert!(!cfg.optimizer.is_plain());
//! let mut state = OptimizerState::new(&net, &cfg)?;
//! let (mut ws, mut grads) = (net.workspace(), net.gradients());
//! let before: Vec<f64> = net.params().flatten().copied().collect();
//! net.forward(&mut ws, &[1.0, -2.0])?;
//! net.backward(&mut ws, &[3.0], &mut grads)?;
//! let g: Vec<f64> = grads.slices().flatten().copied().collect();
//! state.step(&mut net, &mut grads, 0.01)?;
//! // Adam's first step moves every parameter by about eta against the sign of its gradient.
//! for ((w, w0), g) in net.params().flatten().zip(&before).zip(&g) {
//!     assert!((w - (w0 - 0.01 * g.signum())).abs() < 1e-9);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adam;
mod momentum;
mod sgd;

use std::fmt;
use std::str::FromStr;

use backprop_linalg::Real;
use backprop_network::{Gradients, Network};

use crate::{error::invalid, Error, Result, SgdConfig};

/// The update rule of a run and its settings. JSON: `{"kind": "adam", "beta1": 0.9, ...}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Optimizer {
    /// The lecture's `W <- W - eta g`.
    #[default]
    Sgd,
    /// Classical momentum: `u <- mu u + g`, `W <- W - eta u`.
    Momentum {
        /// The momentum coefficient `mu`, in `[0, 1)`.
        mu: f64,
    },
    /// Nesterov's momentum as PyTorch writes it (Sutskever et al. 2013): `u <- mu u + g`,
    /// `W <- W - eta (g + mu u)`.
    Nesterov {
        /// The momentum coefficient `mu`, in `[0, 1)`.
        mu: f64,
    },
    /// Adam, PyTorch's `torch.optim.Adam`: `m <- b1 m + (1 - b1) g`, `v <- b2 v + (1 - b2) g^2`,
    /// `w <- w - eta m_hat / (sqrt(v_hat) + eps)` with `m_hat = m / (1 - b1^t)`,
    /// `v_hat = v / (1 - b2^t)`, `t = 1, 2, ...` counting the steps of the run. Weight decay is
    /// coupled (added to `g` before the moments).
    Adam {
        /// `b1`, in `[0, 1)`.
        beta1: f64,
        /// `b2`, in `[0, 1)`.
        beta2: f64,
        /// `eps > 0`.
        eps: f64,
    },
    /// AdamW, PyTorch's `torch.optim.AdamW`: the decoupled decay `W_i <- W_i - eta lambda W_i` on
    /// the weights (not the biases), then the Adam step on the undecayed gradient.
    #[serde(rename = "adamw")]
    AdamW {
        /// `b1`, in `[0, 1)`.
        beta1: f64,
        /// `b2`, in `[0, 1)`.
        beta2: f64,
        /// `eps > 0`.
        eps: f64,
    },
}

impl Optimizer {
    /// Every rule once, with its default settings (PyTorch's for Adam and AdamW; `mu = 0.9`
    /// for momentum), in the order of the CLI's `--optimizer` names.
    pub const ALL: [Optimizer; 5] = [
        Optimizer::Sgd,
        Optimizer::Momentum { mu: 0.9 },
        Optimizer::Nesterov { mu: 0.9 },
        Optimizer::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        },
        Optimizer::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        },
    ];

    /// The name on the command line and in JSON: `sgd`, `momentum`, `nesterov`, `adam`, `adamw`.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Momentum { .. } => "momentum",
            Optimizer::Nesterov { .. } => "nesterov",
            Optimizer::Adam { .. } => "adam",
            Optimizer::AdamW { .. } => "adamw",
        }
    }

    /// True when a step is `W <- W - eta g` with the gradient as it is: the rule may take the
    /// fused paths of plain SGD (which also need no weight decay or clipping). No wildcard arm:
    /// a new variant must answer.
    ///
    /// ```
    /// use backprop_optim::Optimizer;
    /// let plain: Vec<&str> = Optimizer::ALL.iter().filter(|o| o.is_plain()).map(|o| o.name()).collect();
    /// assert_eq!(plain, ["sgd"]);
    /// ```
    pub fn is_plain(&self) -> bool {
        match self {
            Optimizer::Sgd => true,
            Optimizer::Momentum { .. }
            | Optimizer::Nesterov { .. }
            | Optimizer::Adam { .. }
            | Optimizer::AdamW { .. } => false,
        }
    }

    /// True when the run's weight decay is decoupled from the gradient (applied to the weights
    /// by the rule itself), false when it is added to the gradient as L2 (`g + lambda W_i`).
    pub fn decouples_weight_decay(&self) -> bool {
        match self {
            Optimizer::AdamW { .. } => true,
            Optimizer::Sgd
            | Optimizer::Momentum { .. }
            | Optimizer::Nesterov { .. }
            | Optimizer::Adam { .. } => false,
        }
    }

    /// Checks the ranges of the settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the setting (`momentum`, `beta1`, `beta2`, `eps`).
    pub fn validate(&self) -> Result<()> {
        let fraction = |field: &'static str, x: f64| {
            if (0.0..1.0).contains(&x) {
                Ok(())
            } else {
                Err(invalid(field, format!("must be in [0, 1), not {x}")))
            }
        };
        match *self {
            Optimizer::Sgd => Ok(()),
            Optimizer::Momentum { mu } | Optimizer::Nesterov { mu } => fraction("momentum", mu),
            Optimizer::Adam { beta1, beta2, eps } | Optimizer::AdamW { beta1, beta2, eps } => {
                fraction("beta1", beta1)?;
                fraction("beta2", beta2)?;
                if eps > 0.0 && eps.is_finite() {
                    Ok(())
                } else {
                    Err(invalid("eps", format!("must be positive, not {eps}")))
                }
            }
        }
    }
}

impl fmt::Display for Optimizer {
    /// The rule as the printed configuration names it: `plain SGD`, `momentum 0.9`,
    /// `Nesterov momentum 0.9`, `Adam (beta1 0.9, beta2 0.999, eps 0.00000001)`, `AdamW (...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Optimizer::Sgd => f.write_str("plain SGD"),
            Optimizer::Momentum { mu } => write!(f, "momentum {mu}"),
            Optimizer::Nesterov { mu } => write!(f, "Nesterov momentum {mu}"),
            Optimizer::Adam { beta1, beta2, eps } => {
                write!(f, "Adam (beta1 {beta1}, beta2 {beta2}, eps {eps:e})")
            }
            Optimizer::AdamW { beta1, beta2, eps } => {
                write!(f, "AdamW (beta1 {beta1}, beta2 {beta2}, eps {eps:e})")
            }
        }
    }
}

impl FromStr for Optimizer {
    type Err = Error;

    /// Parses a [`name`](Optimizer::name), giving the rule with its defaults from
    /// [`Optimizer::ALL`].
    fn from_str(s: &str) -> Result<Self> {
        let name = s.trim().to_ascii_lowercase();
        Optimizer::ALL
            .into_iter()
            .find(|o| o.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Optimizer::ALL.iter().map(Optimizer::name).collect();
                Error::Parse(format!(
                    "unknown optimizer {s:?} (expected {})",
                    names.join(", ")
                ))
            })
    }
}

/// A rule with its settings in the step's precision and its state.
#[derive(Clone, Debug)]
enum Rule<T: Real> {
    Sgd,
    Momentum {
        mu: f64,
        nesterov: bool,
        velocity: momentum::Velocity<T>,
    },
    Adam {
        betas: (f64, f64, f64),
        decoupled: bool,
        moments: adam::Moments<T>,
    },
}

/// The state of a run's update rule (velocity, moments, step count), made once per run, and its
/// step. See the [module docs](self) for the order of decay, clipping and rule.
#[derive(Clone, Debug)]
pub struct OptimizerState<T: Real = f64> {
    rule: Rule<T>,
    weight_decay: T,
    clip_norm: Option<f64>,
    decoupled: bool,
    t: u64,
}

impl<T: Real> OptimizerState<T> {
    /// The state of `cfg.optimizer` for `net`, with `cfg`'s weight decay and clipping: zero
    /// velocity or moments, step count 0.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for settings out of range.
    pub fn new(net: &Network<T>, cfg: &SgdConfig) -> Result<Self> {
        cfg.validate()?;
        let rule = match cfg.optimizer {
            Optimizer::Sgd => Rule::Sgd,
            Optimizer::Momentum { mu } => Rule::Momentum {
                mu,
                nesterov: false,
                velocity: momentum::Velocity::new(net),
            },
            Optimizer::Nesterov { mu } => Rule::Momentum {
                mu,
                nesterov: true,
                velocity: momentum::Velocity::new(net),
            },
            Optimizer::Adam { beta1, beta2, eps } => Rule::Adam {
                betas: (beta1, beta2, eps),
                decoupled: false,
                moments: adam::Moments::new(net),
            },
            Optimizer::AdamW { beta1, beta2, eps } => Rule::Adam {
                betas: (beta1, beta2, eps),
                decoupled: true,
                moments: adam::Moments::new(net),
            },
        };
        Ok(OptimizerState {
            rule,
            weight_decay: T::from_f64(cfg.weight_decay),
            clip_norm: cfg.clip_norm,
            decoupled: cfg.optimizer.decouples_weight_decay(),
            t: 0,
        })
    }

    /// Steps taken so far: Adam's `t` after the step, counted for every rule, never reset.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// One step on `net` with `grads`, the gradient of the step's (mean) loss, and the rate
    /// `eta`: coupled decay and clipping change `grads` in place, then the rule updates `net`.
    ///
    /// # Errors
    /// [`backprop_network::Error::BufferMismatch`] (as [`Error::Network`]) if `grads` is not
    /// shaped like `net`; nothing is changed then.
    pub fn step(&mut self, net: &mut Network<T>, grads: &mut Gradients<T>, eta: T) -> Result<()> {
        check_shape(net, grads)?;
        self.t += 1;
        if self.weight_decay > T::zero() && !self.decoupled {
            // Slices alternate W_0, b_0, W_1, ...: decay the weights, not the biases.
            for (g, w) in grads.slices_mut().zip(net.params()).step_by(2) {
                backprop_linalg::axpy(g, self.weight_decay, w);
            }
        }
        if let Some(c) = self.clip_norm {
            let norm = grads.norm().as_f64();
            if norm > c {
                grads.scale(T::from_f64(c / norm));
            }
        }
        match &mut self.rule {
            Rule::Sgd => sgd::step(net, grads, eta),
            Rule::Momentum {
                mu,
                nesterov,
                velocity,
            } => velocity.step(net, grads, eta, *mu, *nesterov),
            Rule::Adam {
                betas,
                decoupled,
                moments,
            } => {
                let decay =
                    (*decoupled && self.weight_decay > T::zero()).then_some(self.weight_decay);
                moments.step(net, grads, eta, self.t, *betas, decay)
            }
        }
    }
}

/// `grads` shaped like `net` (compared layer by layer, without allocating).
fn check_shape<T: Real>(net: &Network<T>, grads: &Gradients<T>) -> Result<()> {
    let w = grads.widths();
    let fits = w.len() == net.layers().len() + 1
        && w.first() == Some(&net.inputs())
        && net
            .layers()
            .iter()
            .zip(&w[1..])
            .all(|(l, &n)| l.outputs() == n);
    if fits {
        Ok(())
    } else {
        Err(backprop_network::Error::BufferMismatch {
            what: "gradients",
            expected: net.widths(),
            got: w.to_vec(),
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backprop_network::Activation;

    /// The index of a variant in [`Optimizer::ALL`]. No wildcard arm: a new variant does not
    /// compile until it is given a place here, and the test below then fails until `ALL` holds
    /// it.
    fn ordinal(o: &Optimizer) -> usize {
        match o {
            Optimizer::Sgd => 0,
            Optimizer::Momentum { .. } => 1,
            Optimizer::Nesterov { .. } => 2,
            Optimizer::Adam { .. } => 3,
            Optimizer::AdamW { .. } => 4,
        }
    }

    #[test]
    fn all_holds_every_variant_once_and_its_name_parses_back() {
        let ordinals: Vec<usize> = Optimizer::ALL.iter().map(ordinal).collect();
        assert_eq!(ordinals, (0..Optimizer::ALL.len()).collect::<Vec<_>>());
        for o in Optimizer::ALL {
            assert_eq!(o.name().parse::<Optimizer>().unwrap(), o);
            assert_eq!(o.name().to_uppercase().parse::<Optimizer>().unwrap(), o);
            o.validate().unwrap();
            let json = serde_json::to_value(o).unwrap();
            assert_eq!(json["kind"], o.name());
            assert_eq!(serde_json::from_value::<Optimizer>(json).unwrap(), o);
        }
        assert!("rmsprop".parse::<Optimizer>().is_err());
    }

    fn net() -> Network<f64> {
        let mut net = Network::builder(3)
            .layer(4, Activation::Tanh)
            .layer(2, Activation::Identity)
            .build()
            .unwrap();
        for (k, p) in net.params_mut().flatten().enumerate() {
            *p = ((k * 7 % 11) as f64 - 5.0) / 10.0;
        }
        net
    }

    /// Two steps of every rule in `ALL` against two plain steps: the plain rule is plain SGD, and
    /// every other rule steps differently, so none can pass for plain SGD by omission.
    #[test]
    fn a_rule_steps_as_plain_sgd_exactly_when_it_says_it_is_plain() {
        let xs = [[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]];
        let ys = [[1.0, 0.0], [0.0, 1.0]];
        let run = |step: &mut dyn FnMut(&mut Network<f64>, &mut Gradients<f64>)| {
            let mut n = net();
            let (mut ws, mut g) = (n.workspace(), n.gradients());
            for (x, y) in xs.iter().zip(&ys) {
                n.forward(&mut ws, x).unwrap();
                n.backward(&mut ws, y, &mut g).unwrap();
                step(&mut n, &mut g);
            }
            n.params()
                .flatten()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>()
        };
        let plain = run(&mut |n, g| n.update(-0.1, g).unwrap());
        for o in Optimizer::ALL {
            let cfg = SgdConfig {
                optimizer: o,
                ..Default::default()
            };
            let mut state = OptimizerState::new(&net(), &cfg).unwrap();
            let stepped = run(&mut |n, g| state.step(n, g, 0.1).unwrap());
            assert_eq!(stepped == plain, o.is_plain(), "{o}");
        }
    }

    #[test]
    fn validation_names_the_setting() {
        let cases = [
            (Optimizer::Momentum { mu: 1.0 }, "momentum"),
            (Optimizer::Nesterov { mu: -0.1 }, "momentum"),
            (
                Optimizer::Adam {
                    beta1: 1.0,
                    beta2: 0.999,
                    eps: 1e-8,
                },
                "beta1",
            ),
            (
                Optimizer::AdamW {
                    beta1: 0.9,
                    beta2: f64::NAN,
                    eps: 1e-8,
                },
                "beta2",
            ),
            (
                Optimizer::Adam {
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 0.0,
                },
                "eps",
            ),
        ];
        for (o, field) in cases {
            match o.validate() {
                Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field, "{o:?}"),
                other => panic!("{o:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn gradients_of_another_shape_are_refused_and_change_nothing() {
        let mut n = net();
        let before = n.clone();
        let mut state = OptimizerState::new(
            &n,
            &SgdConfig {
                optimizer: Optimizer::ALL[3],
                ..Default::default()
            },
        )
        .unwrap();
        let mut wrong = Gradients::new(&[3, 5, 2]);
        assert!(matches!(
            state.step(&mut n, &mut wrong, 0.1),
            Err(Error::Network(_))
        ));
        assert_eq!(n, before);
        assert_eq!(state.steps(), 0);
    }
}
