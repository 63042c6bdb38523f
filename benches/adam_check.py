#!/usr/bin/env python3
"""Adam and AdamW of backprop against optax's, on gradients from JAX's autodiff (not in CI).

Runs `cargo run -p backprop-optim --example adam_steps`, which trains a 2-2-1 sigmoid network
(squared loss 1/2 (v - y)^2) from fixed weights for a few Adam and AdamW steps (per sample, a
mini-batch of 2, the step count across epochs, coupled and decoupled weight decay), and redoes
every step here: the mean loss of the step's samples differentiated by `jax.grad`, then
`optax.adam` (after `optax.add_decayed_weights` for Adam's coupled L2) or `optax.adamw`, with
the decay masked to the weights, not the biases. Prints the largest difference per case and
exits 1 above 1e-12.

Needs jax and optax in float64, e.g. the bench-peers environment plus optax:
    pip install --target /tmp/optaxlib --no-deps optax chex absl-py toolz
    PYTHONPATH=/tmp/optaxlib ~/.cache/bench-peers/.venv/bin/python benches/adam_check.py
"""

import json
import pathlib
import subprocess
import sys

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def params_of(layers):
    return [{"w": jnp.array(l["w"], dtype=jnp.float64), "b": jnp.array(l["b"], dtype=jnp.float64)} for l in layers]


def loss(params, x, y):
    """Mean over the samples of 1/2 ||v_d - y||^2, with s = v W + b and sigmoid nodes."""
    v = x
    for layer in params:
        v = jax.nn.sigmoid(v @ layer["w"] + layer["b"])
    return jnp.mean(0.5 * jnp.sum((v - y) ** 2, axis=1))


def optax_run(case):
    cfg = case["config"]
    opt, lam, eta = cfg["optimizer"], cfg["weight_decay"], cfg["learning_rate"]
    b1, b2, eps = opt["beta1"], opt["beta2"], opt["eps"]
    params = params_of(case["before"])
    mask = [{"w": True, "b": False} for _ in params]
    if opt["kind"] == "adamw":
        tx = optax.adamw(eta, b1=b1, b2=b2, eps=eps, weight_decay=lam, mask=mask)
    else:
        tx = optax.chain(optax.add_decayed_weights(lam, mask=mask), optax.adam(eta, b1=b1, b2=b2, eps=eps))
    state = tx.init(params)
    x = jnp.array(case["x"], dtype=jnp.float64)
    y = jnp.array(case["y"], dtype=jnp.float64)[:, None]
    batch = cfg["batch_size"]
    for _ in range(cfg["epochs"]):
        for start in range(0, len(x), batch):
            g = jax.grad(loss)(params, x[start : start + batch], y[start : start + batch])
            updates, state = tx.update(g, state, params)
            params = optax.apply_updates(params, updates)
    return params


def main():
    out = subprocess.run(
        ["cargo", "run", "-q", "-p", "backprop-optim", "--example", "adam_steps"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    worst = 0.0
    for case in json.loads(out):
        ours = params_of(case["after"])
        theirs = optax_run(case)
        diff = max(
            float(jnp.max(jnp.abs(a[k] - b[k]))) for a, b in zip(ours, theirs) for k in ("w", "b")
        )
        moved = max(
            float(jnp.max(jnp.abs(a[k] - b[k])))
            for a, b in zip(ours, params_of(case["before"])) for k in ("w", "b")
        )
        cfg = case["config"]
        print(
            f"{cfg['optimizer']['kind']:5} decay {cfg['weight_decay']:<4} batch {cfg['batch_size']} "
            f"epochs {cfg['epochs']} samples {len(case['x'])}: largest step {moved:.3e}, "
            f"largest difference from optax {diff:.3e}"
        )
        worst = max(worst, diff)
    print(f"optax {optax.__version__}, jax {jax.__version__}: worst difference {worst:.3e}")
    sys.exit(0 if worst <= 1e-12 else 1)


if __name__ == "__main__":
    main()
