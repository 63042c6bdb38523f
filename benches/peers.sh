#!/usr/bin/env bash
# backprop beside the peer programs of ../shared/bench-peers (FANN, C, C + OpenBLAS, numpy,
# scikit-learn, JAX), on the same work, every figure pinned to one CPU; then the ratios of backprop
# to the fastest peer, row by row, against issue 5's goals. Never run by CI (it takes minutes and
# needs the peers' Python environment).
#
#   bash benches/peers.sh session [OUT]          # the peers, then backprop on every row (~10 min)
#   bash benches/peers.sh pairs [ROUNDS [OUT]]   # the tightest rows as pairs run back to back:
#                                                # the peer's program, then backprop (~2 min a round)
#   bash benches/peers.sh t6 [OUT]               # T6, the restart experiment end to end: JAX's
#                                                # vmap (scikit-learn with PERF_T6_SKLEARN=1), then
#                                                # the whole `backprop restarts` process (~1 min)
#
# t6 times `backprop restarts --data digits --restarts 32 --threads 2 --quiet` from start to exit
# (PERF_T6_REPS times, default 5; the median), on the whole machine like the peers' T6, and the
# single-thread `backprop bench --net 64-32-10 --activation tanh --loss cross-entropy` beside it.
# The flags are given explicitly, each one a line of T6's work: the digits preset has the same
# values, so the command a user types runs the same experiment.
#
# OUT (default target/peers/<UTC time>-<mode>; a relative OUT is taken from the repository's root)
# gets the JSON lines, the peers' progress in peers.log, and the tables in summary.md. The first run
# on a machine needs the peers built: bash ../shared/bench-peers/setup.sh (if its pip step fails,
# run it again). PERF_PIN_CPU picks the CPU (default 1, the peers' default).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-session}"
case "$mode" in
session) out="${2:-}" ;;
pairs) rounds="${2:-3}" out="${3:-}" ;;
t6) out="${2:-}" ;;
*)
    echo "usage: bash benches/peers.sh session [OUT] | pairs [ROUNDS [OUT]] | t6 [OUT]" >&2
    exit 2
    ;;
esac
out="${out:-target/peers/$(date -u +%Y%m%dT%H%M%SZ)-$mode}"
peers=../shared/bench-peers
work="${BENCH_PEERS_WORK:-$HOME/.cache/bench-peers}"
py="$work/.venv/bin/python"
pin="${PERF_PIN_CPU:-1}"
[ -x "$py" ] || { echo "error: no $py: run bash $peers/setup.sh first" >&2; exit 1; }
cargo build --release --quiet --bin backprop
mkdir -p "$out"
# One thread on the pinned CPU, every threading library held to 1, as run_all.sh runs the peers.
one() {
    taskset -c "$pin" env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$@"
}
bp() { one target/release/backprop bench --net "$1" --dtype "$2" --batch "$3"; }
# The peers' lines of `run_all.sh GROUP...` that match a pattern, tagged with the round.
peer() {
    local round=$1 pattern=$2
    shift 2
    PERF_SKIP_SETUP=1 bash "$peers/run_all.sh" "$@" 2>>"$out/peers.log" |
        { grep -E "$pattern" || true; } | sed "s/^/$round peer /"
}

# T6: backprop's restart experiment, the whole process timed from start to exit, PERF_T6_REPS
# times on both cores (not pinned, as the peers' T6); then the single-thread bench of its step,
# pinned. Prints one JSON line like the peers' T6 line and one for the step's rate.
t6_backprop() {
    local reps="${PERF_T6_REPS:-5}" times=() t0 t1
    # T6's work, line by line: digits (standardized on the training rows), 80/20 split (1438/359),
    # 64-32-10, tanh hidden, identity outputs under softmax cross-entropy, lr 0.01, 30 epochs,
    # per-sample SGD shuffled every epoch, Xavier-uniform weights and zero biases, f64, 32
    # restarts on 2 threads; every epoch the training loss, validation loss and accuracy.
    local cmd=(target/release/backprop restarts --data digits --restarts 32 --threads 2 --quiet
        --scale standard --validation 0.2 --hidden 32 --activation tanh --output-activation identity
        --loss cross-entropy --lr 0.01 --epochs 30 --batch-size 1 --shuffle --init xavier-uniform
        --bias-init zero --dtype f64)
    for _ in $(seq "$reps"); do
        t0=$(date +%s%N)
        "${cmd[@]}" >/dev/null
        t1=$(date +%s%N)
        times+=("$(( (t1 - t0) / 1000 ))")
    done
    local rate
    rate=$(one target/release/backprop bench --net 64-32-10 --dtype f64 --batch 1 \
        --activation tanh --loss cross-entropy)
    "$py" - "$rate" "${times[@]}" <<'PY'
import json, statistics, sys
rate = json.loads(sys.argv[1])
t = [int(x) / 1e6 for x in sys.argv[2:]]
med = statistics.median(t)
steps = 32 * 30 * 1438
print(json.dumps({"task": "T6", "impl": "backprop", "dtype": "f64", "net": "64-32-10", "restarts": 32,
                  "epochs": 30, "metric": "seconds", "median": round(med, 4), "min": round(min(t), 4),
                  "max": round(max(t), 4), "steps_per_s": round(steps / med), "threads": 2,
                  "bench_steps_per_s": rate["median"]}))
PY
}

case "$mode" in
t6)
    echo "$(date -u +%FT%TZ) $(git rev-parse --short HEAD) t6" | tee "$out/when" >&2
    PERF_SKIP_SETUP=1 bash "$peers/run_all.sh" restarts >"$out/peers.jsonl" 2>"$out/peers.log"
    echo "$(date -u +%FT%TZ) backprop" | tee -a "$out/when" >&2
    t6_backprop >"$out/backprop.jsonl"
    echo "$(date -u +%FT%TZ) end" | tee -a "$out/when" >&2
    "$py" benches/peers.py t6 "$out/peers.jsonl" "$out/backprop.jsonl" >"$out/summary.md"
    ;;
session)
    echo "$(date -u +%FT%TZ) $(git rev-parse --short HEAD) peers" | tee "$out/when" >&2
    PERF_SKIP_SETUP=1 bash "$peers/run_all.sh" >"$out/peers.jsonl" 2>"$out/peers.log"
    echo "$(date -u +%FT%TZ) backprop" | tee -a "$out/when" >&2
    : >"$out/backprop.jsonl"
    for dt in f64 f32; do
        for net in 2-8-1 64-32-10 784-128-10 256-256-256-10; do
            bp "$net" "$dt" 1 >>"$out/backprop.jsonl"
        done
        bp 784-256-10 "$dt" 64 >>"$out/backprop.jsonl"
    done
    t6_backprop >>"$out/backprop.jsonl"
    echo "$(date -u +%FT%TZ) end" | tee -a "$out/when" >&2
    {
        "$py" "$peers/py/summarize.py" "$out/peers.jsonl" "$out/backprop.jsonl"
        "$py" benches/peers.py session "$out/peers.jsonl" "$out/backprop.jsonl"
        "$py" benches/peers.py t6 "$out/peers.jsonl" "$out/backprop.jsonl"
    } >"$out/summary.md"
    ;;
pairs)
    echo "$(git rev-parse --short HEAD)" >"$out/when"
    : >"$out/pairs.jsonl"
    for i in $(seq "$rounds"); do
        echo "$(date -u +%FT%TZ) round $i" | tee -a "$out/when" >&2
        # JAX's lax.scan is the fastest peer of 2-8-1 and 784-128-10 in f32, JAX or numpy of the
        # mini-batch, C + OpenBLAS of 256-256-256-10 in f64 (the other rows keep wide margins).
        {
            PERF_NETS=2-8-1,784-128-10 PERF_DTYPES=f32 peer "$i" '"impl":"jax_scan"|"task":"T2"' jax numpy
            for net in 2-8-1 784-128-10; do bp "$net" f32 1 | sed "s/^/$i backprop /"; done
            bp 784-256-10 f32 64 | sed "s/^/$i backprop /"
            PERF_NETS=2-8-1 PERF_DTYPES=f64 peer "$i" '"task":"T2"' jax numpy
            bp 784-256-10 f64 64 | sed "s/^/$i backprop /"
            one "$work/build/mlp_sgd_f64" blas 256-256-256-10 | sed "s/^/$i peer /"
            bp 256-256-256-10 f64 1 | sed "s/^/$i backprop /"
        } >>"$out/pairs.jsonl"
    done
    "$py" benches/peers.py pairs "$out/pairs.jsonl" >"$out/summary.md"
    ;;
esac
cat "$out/summary.md"
