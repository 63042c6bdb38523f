#!/usr/bin/env python3
"""The measurement behind backprop's defaults for a user's CSV file (not run in CI).

For each dataset: a fixed 70/30 train/test split written as CSV, then on the same split
  - `backprop train --data train.csv --target T --out m.json` (no other flags) and
    `backprop evaluate --model m.json --data test.csv` (test accuracy, or mean R²);
  - the same with `--restarts 8`;
  - scikit-learn's `MLPClassifier()` / `MLPRegressor()` with default settings (random_state 0).
Prints a markdown table. Only data that scikit-learn ships (or generates) is used: no download.

    ~/.cache/bench-peers/.venv/bin/python benches/defaults.py [--backprop target/release/backprop]
        [--only iris,wine] [--extra "--validation 0"]

`--extra` adds flags to both backprop runs, to compare a candidate policy with the defaults.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn import datasets as skd
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

SEED = 0


def load(name):
    """(X, y, task) for a dataset name."""
    if name == "iris":
        d = skd.load_iris()
        return d.data, d.target, "classification"
    if name == "wine":
        d = skd.load_wine()
        return d.data, d.target, "classification"
    if name == "breast-cancer":
        d = skd.load_breast_cancer()
        return d.data, d.target, "classification"
    if name == "digits":
        d = skd.load_digits()
        return d.data, d.target, "classification"
    if name == "classification":
        x, y = skd.make_classification(
            n_samples=2000, n_features=40, n_informative=10, n_classes=4, random_state=SEED
        )
        return x, y, "classification"
    if name == "diabetes":
        d = skd.load_diabetes()
        return d.data, d.target, "regression"
    if name == "friedman1":
        x, y = skd.make_friedman1(n_samples=2000, noise=1.0, random_state=SEED)
        return x, y, "regression"
    if name == "regression":
        x, y = skd.make_regression(
            n_samples=1000, n_features=20, n_informative=10, noise=10.0, random_state=SEED
        )
        return x, y, "regression"
    raise SystemExit(f"unknown dataset {name}")


NAMES = [
    "iris",
    "wine",
    "breast-cancer",
    "digits",
    "classification",
    "diabetes",
    "friedman1",
    "regression",
]


def write_csv(path, x, y, task):
    cols = [f"x{j}" for j in range(x.shape[1])]
    with open(path, "w") as f:
        f.write(",".join(cols + ["target"]) + "\n")
        for row, t in zip(x, y):
            label = f"c{int(t)}" if task == "classification" else repr(float(t))
            f.write(",".join(repr(float(v)) for v in row) + "," + label + "\n")


def backprop(exe, tmp, task, extra):
    """Test score of backprop trained on tmp/train.csv, and seconds of training."""
    model = os.path.join(tmp, "m.json")
    start = time.time()
    cmd = [exe, "train", "--data", os.path.join(tmp, "train.csv"), "--target", "target",
           "--out", model, "-q"] + extra
    run = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.time() - start
    if run.returncode != 0:
        sys.stderr.write(run.stderr)
        return float("nan"), seconds
    out = subprocess.run(
        [exe, "evaluate", "--model", model, "--data", os.path.join(tmp, "test.csv"),
         "--target", "target"],
        capture_output=True, text=True, check=True,
    ).stdout
    if task == "classification":
        return float(re.search(r"^accuracy ([0-9.]+)%", out, re.M).group(1)), seconds
    return float(re.search(r"^mean R² (-?[0-9.]+)", out, re.M).group(1)), seconds


def sklearn(xtr, ytr, xte, yte, task):
    # MLPClassifier() as a user calls it, on standardized inputs (backprop standardizes too).
    scaler = StandardScaler().fit(xtr)
    xtr, xte = scaler.transform(xtr), scaler.transform(xte)
    start = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if task == "classification":
            m = MLPClassifier(random_state=SEED).fit(xtr, ytr)
            score = 100 * accuracy_score(yte, m.predict(xte))
        else:
            # Standardized targets, as backprop trains (MLPRegressor() on raw targets in the
            # hundreds stops long before it fits).
            mu, sd = ytr.mean(), ytr.std()
            m = MLPRegressor(random_state=SEED).fit(xtr, (ytr - mu) / sd)
            score = r2_score(yte, m.predict(xte) * sd + mu)
    return score, time.time() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--backprop", default="target/release/backprop")
    p.add_argument("--only", default=",".join(NAMES))
    p.add_argument("--extra", default="")
    p.add_argument("--restarts", type=int, default=8)
    a = p.parse_args()
    extra = a.extra.split()
    print("| dataset | rows | features | task | backprop default | backprop best of "
          f"{a.restarts} | sklearn default | seconds (default / best of {a.restarts} / sklearn) |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | --- |")
    for name in a.only.split(","):
        x, y, task = load(name)
        strat = y if task == "classification" else None
        xtr, xte, ytr, yte = train_test_split(
            x, y, test_size=0.3, random_state=SEED, stratify=strat
        )
        with tempfile.TemporaryDirectory() as tmp:
            write_csv(os.path.join(tmp, "train.csv"), xtr, ytr, task)
            write_csv(os.path.join(tmp, "test.csv"), xte, yte, task)
            d, td = backprop(a.backprop, tmp, task, extra)
            r, tr = backprop(a.backprop, tmp, task, extra + ["--restarts", str(a.restarts)])
        s, ts = sklearn(xtr, ytr, xte, yte, task)
        fmt = (lambda v: f"{v:.1f} %") if task == "classification" else (lambda v: f"{v:.3f}")
        print(f"| {name} | {len(y)} | {x.shape[1]} | {task} | {fmt(d)} | {fmt(r)} | {fmt(s)} "
              f"| {td:.1f} / {tr:.1f} / {ts:.1f} |", flush=True)


if __name__ == "__main__":
    main()
