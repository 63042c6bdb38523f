#!/usr/bin/env bash
# The main job's SGD steps per second against the single-thread bench of its step, in paired
# rounds, and what two cores of this machine give to two independent single-thread benches.
#
#   ROUNDS=10 bash benches/steps.sh
#
# A round runs, back to back: the job (`backprop restarts --data digits --restarts 32 --threads 2
# --quiet`, the whole process timed), the bench of its step on one thread (`backprop bench --net
# 64-32-10 --activation tanh --loss cross-entropy`), and two copies of that bench at once, one
# pinned to each CPU. It prints per round the job's rate over the bench's (issue 14's goal: 1.6)
# and the two copies' summed rate over one copy's: the machine's own two-core factor, the ceiling
# of the first ratio for work that shares nothing. The medians close the output. On a shared
# machine whose speed moves from one second to the next, only medians of many rounds mean much.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-10}"
cargo build --release --quiet --bin backprop
bin=target/release/backprop
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The job's SGD steps: 32 restarts of 30 epochs of the 1,438 training rows.
steps=$((32 * 30 * 1438))
bench=(bench --net 64-32-10 --dtype f64 --batch 1 --activation tanh --loss cross-entropy --reps 3)
rate() { grep -o '"median":[0-9.e+-]*' | cut -d: -f2; }
for r in $(seq "$rounds"); do
    t0=$(date +%s%N)
    "$bin" restarts --data digits --restarts 32 --threads 2 --quiet --out "$out/report.json" >/dev/null 2>&1
    t1=$(date +%s%N)
    one=$(taskset -c 1 "$bin" "${bench[@]}" | rate)
    taskset -c 0 "$bin" "${bench[@]}" | rate >"$out/a" &
    b=$(taskset -c 1 "$bin" "${bench[@]}" | rate)
    wait
    a=$(cat "$out/a")
    python3 - "$r" "$steps" "$t0" "$t1" "$one" "$a" "$b" <<'PY'
import sys
r, steps, t0, t1 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
one, a, b = (float(x) for x in sys.argv[5:8])
seconds = (t1 - t0) / 1e9
job = steps / seconds
print(f"round {r}: job {seconds:.3f} s = {job / 1e6:.3f} M steps/s; bench {one / 1e6:.3f} M/s; "
      f"job/bench {job / one:.2f}; two benches {(a + b) / 1e6:.3f} M/s, factor {(a + b) / one:.2f}")
PY
done | tee "$out/rounds"
python3 - "$out/rounds" <<'PY'
import re, statistics, sys
rows = [l for l in open(sys.argv[1]) if l.startswith("round")]
ratio = [float(re.search(r"job/bench ([0-9.]+)", l).group(1)) for l in rows]
factor = [float(re.search(r"factor ([0-9.]+)", l).group(1)) for l in rows]
print(f"median of {len(rows)} rounds: job/bench {statistics.median(ratio):.2f} "
      f"(range {min(ratio):.2f}-{max(ratio):.2f}); two-core factor {statistics.median(factor):.2f} "
      f"(range {min(factor):.2f}-{max(factor):.2f})")
PY
