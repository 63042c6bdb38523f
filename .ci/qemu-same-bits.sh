#!/usr/bin/env bash
# The same bits on every x86-64 CPU: runs small experiments natively and under qemu-user as a CPU
# without AVX2 or FMA (Nehalem) and as one with AVX2 and FMA but no AVX-512 (Haswell), and
# compares their reports and outputs bit for bit (timing fields removed). Covers per-sample SGD
# with tanh and cross-entropy, mini-batch, the block path with a 784-wide first layer, the
# generated datasets (spirals and sine, drawn with the C library's sin and cos), and `evaluate`. Installs Debian's qemu-user if missing. About 2 minutes on a quiet 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-x86_64 >/dev/null; then
  apt-get update -qq && apt-get install -y -qq qemu-user >/dev/null
fi
cargo build --release --quiet --bin backprop
bin="$PWD/target/release/backprop"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 200 rows of 784 pixels in [0, 1) and a 10-class label, by formula (no RNG).
python3 - "$tmp/wide.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write(",".join(f"p{i}" for i in range(784)) + ",label\n")
    for r in range(200):
        label = r % 10
        f.write(",".join(str(((r * 31 + i * 17 + label * i) % 251) / 251) for i in range(784)))
        f.write(f",{label}\n")
PY

# Drops the timing fields (`seconds`, at any depth) and the command line of the provenance (its
# report path names the CPU) from a JSON report.
strip() {
  python3 - "$1" <<'PY'
import json, re, sys
timing = re.compile(r"^(seconds|command)$")
def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if not timing.search(k)}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v
print(json.dumps(clean(json.load(open(sys.argv[1]))), sort_keys=True))
PY
}

# qemu-user as CPU $1, without its warnings about CPUID bits that TCG does not emulate.
qemu() {
  local cpu=$1
  shift
  qemu-x86_64 -cpu "$cpu" "$@" 2> >(grep -v "TCG doesn't support requested feature" >&2)
}

# name, then the arguments of one run; the report (or stdout) of each CPU is compared.
runs=(
  "tanh-ce|restarts --data digits --activation tanh --loss cross-entropy --hidden 16 --restarts 2 --epochs 1 --threads 2 --quiet"
  "minibatch|restarts --data digits --batch-size 16 --hidden 32 --restarts 2 --epochs 2 --threads 2 --quiet"
  "block-784|restarts --data $tmp/wide.csv --target label --hidden 32 --activation tanh --loss cross-entropy --restarts 2 --epochs 2 --threads 2 --quiet"
  "spirals|restarts --data spirals --restarts 2 --epochs 20 --threads 2 --quiet"
  "sine|restarts --data sine --restarts 2 --epochs 20 --threads 2 --quiet"
)

fail=0
for cpu in native Nehalem Haswell; do
  if [ "$cpu" = native ]; then run=("$bin"); else run=(qemu "$cpu" "$bin"); fi
  for entry in "${runs[@]}"; do
    name=${entry%%|*}
    # shellcheck disable=SC2086
    "${run[@]}" ${entry#*|} --report "$tmp/$name.$cpu.json" >/dev/null
    strip "$tmp/$name.$cpu.json" >"$tmp/$name.$cpu.txt"
  done
  # evaluate: a model trained natively (below), evaluated on each CPU.
  if [ "$cpu" = native ]; then
    "$bin" train --data "$tmp/wide.csv" --target label --hidden 16 --activation tanh \
      --loss cross-entropy --epochs 2 --quiet --out "$tmp/model.json" >/dev/null
  fi
  "${run[@]}" evaluate --model "$tmp/model.json" --data "$tmp/wide.csv" --target label \
    >"$tmp/evaluate.$cpu.txt"
done

for name in tanh-ce minibatch block-784 spirals sine evaluate; do
  for cpu in Nehalem Haswell; do
    if cmp -s "$tmp/$name.native.txt" "$tmp/$name.$cpu.txt"; then
      echo "same bits: $name, native and -cpu $cpu"
    else
      echo "DIFFERENT: $name, native and -cpu $cpu"
      diff <(tr ',' '\n' <"$tmp/$name.native.txt") <(tr ',' '\n' <"$tmp/$name.$cpu.txt") | head -5
      fail=1
    fi
  done
done
exit $fail
