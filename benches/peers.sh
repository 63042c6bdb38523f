#!/usr/bin/env bash
# backprop beside the peer programs of ../shared/bench-peers (FANN, C, C + OpenBLAS, numpy,
# scikit-learn, JAX), on the same work, every figure pinned to one CPU; then the ratios of backprop
# to the fastest peer, row by row, against issue 5's goals. Never run by CI (it takes minutes and
# needs the peers' Python environment).
#
#   bash benches/peers.sh session [OUT]          # the peers, then backprop on every row (~10 min)
#   bash benches/peers.sh pairs [ROUNDS [OUT]]   # the tightest rows as pairs run back to back:
#                                                # the peer's program, then backprop (~2 min a round)
#
# OUT (default target/peers/<UTC time>) gets the JSON lines, and the tables in summary.md.
# The first run on a machine needs the peers built: bash ../shared/bench-peers/setup.sh (if its
# pip step fails, run it again). PERF_PIN_CPU picks the CPU (default 1, as the peers' default).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-session}"
if [ "$mode" = pairs ]; then
    rounds="${2:-3}"
    out="${3:-}"
else
    out="${2:-}"
fi
out="${out:-target/peers/$(date -u +%Y%m%dT%H%M%SZ)-$mode}"
peers=../shared/bench-peers
work="${BENCH_PEERS_WORK:-$HOME/.cache/bench-peers}"
py="$work/.venv/bin/python"
pin="${PERF_PIN_CPU:-1}"
[ -x "$py" ] || { echo "error: no $py: run bash $peers/setup.sh first" >&2; exit 1; }
cargo build --release --quiet --bin backprop
mkdir -p "$out"
bp() { taskset -c "$pin" target/release/backprop bench --net "$1" --dtype "$2" --batch "$3"; }

case "$mode" in
session)
    echo "$(date -u +%FT%TZ) $(git rev-parse --short HEAD) peers" | tee "$out/when" >&2
    PERF_SKIP_SETUP=1 bash "$peers/run_all.sh" >"$out/peers.jsonl"
    echo "$(date -u +%FT%TZ) backprop" | tee -a "$out/when" >&2
    : >"$out/backprop.jsonl"
    for dt in f64 f32; do
        for net in 2-8-1 64-32-10 784-128-10 256-256-256-10; do
            bp "$net" "$dt" 1 >>"$out/backprop.jsonl"
        done
        bp 784-256-10 "$dt" 64 >>"$out/backprop.jsonl"
    done
    echo "$(date -u +%FT%TZ) end" | tee -a "$out/when" >&2
    {
        "$py" "$peers/py/summarize.py" "$out/peers.jsonl" "$out/backprop.jsonl"
        "$py" benches/peers.py session "$out/peers.jsonl" "$out/backprop.jsonl"
    } >"$out/summary.md"
    ;;
pairs)
    : >"$out/pairs.jsonl"
    for i in $(seq "$rounds"); do
        echo "$(date -u +%FT%TZ) round $i" >&2
        # JAX is the fastest peer of the f32 rows and of the mini-batch; C + OpenBLAS of
        # 256-256-256-10 f64. (The other f64 rows have wide margins over the C programs.)
        PERF_SKIP_SETUP=1 PERF_NETS=2-8-1,784-128-10 PERF_DTYPES=f32 bash "$peers/run_all.sh" jax 2>/dev/null |
            grep -E '"impl":"jax_scan"|"task":"T2"' | sed "s/^/$i peer /" >>"$out/pairs.jsonl"
        for net in 2-8-1 784-128-10; do bp "$net" f32 1 | sed "s/^/$i backprop /" >>"$out/pairs.jsonl"; done
        bp 784-256-10 f32 64 | sed "s/^/$i backprop /" >>"$out/pairs.jsonl"
        PERF_SKIP_SETUP=1 PERF_NETS=2-8-1 PERF_DTYPES=f64 bash "$peers/run_all.sh" jax 2>/dev/null |
            grep -E '"task":"T2"' | sed "s/^/$i peer /" >>"$out/pairs.jsonl"
        bp 784-256-10 f64 64 | sed "s/^/$i backprop /" >>"$out/pairs.jsonl"
        taskset -c "$pin" "$work/build/mlp_sgd_f64" blas 256-256-256-10 | sed "s/^/$i peer /" >>"$out/pairs.jsonl"
        bp 256-256-256-10 f64 1 | sed "s/^/$i backprop /" >>"$out/pairs.jsonl"
    done
    "$py" benches/peers.py pairs "$out/pairs.jsonl" >"$out/summary.md"
    ;;
*)
    echo "usage: bash benches/peers.sh session [OUT] | pairs [ROUNDS [OUT]]" >&2
    exit 2
    ;;
esac
cat "$out/summary.md"
