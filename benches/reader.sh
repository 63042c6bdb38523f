#!/usr/bin/env bash
# The CSV reader against pandas' read_csv, side by side in one run, on a generated file of
# 1,000,000 rows and 21 numeric columns (20 features with six decimals, an integer class 0-9):
# wall-clock seconds and peak resident memory (GNU time's "Maximum resident set size") of
#   - `backprop evaluate` on the file (reading it, then one forward pass per row), and
#   - pandas.read_csv of the same file (python3 with pandas; PYTHON=... to choose).
# Each is run ROUNDS times (default 3) in alternation, pinned to core CORE (default 1), and
# every round is printed; the machine may be shared, so read the fastest round of each.
#
#   benches/reader.sh [ROWS]        (needs a release build: cargo build --release)
set -euo pipefail
ROWS=${1:-1000000}
ROUNDS=${ROUNDS:-3}
CORE=${CORE:-1}
PYTHON=${PYTHON:-python3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/backprop}
DIR=${DIR:-$(mktemp -d)}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time (apt-get install -y time)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "needs $BIN (cargo build --release)" >&2; exit 2; }
"$PYTHON" -c 'import pandas' || { echo "needs pandas for $PYTHON" >&2; exit 2; }

CSV=$DIR/reader-$ROWS.csv
if [ ! -s "$CSV" ]; then
  "$PYTHON" - "$CSV" "$ROWS" <<'PY'
import sys, random
path, rows = sys.argv[1], int(sys.argv[2])
rng = random.Random(17)
with open(path, "w") as f:
    f.write(",".join(f"x{k}" for k in range(20)) + ",y\n")
    for _ in range(rows):
        xs = ",".join(f"{rng.random():.6f}" for _ in range(20))
        f.write(f"{xs},{rng.randrange(10)}\n")
PY
fi
BYTES=$(stat -c %s "$CSV")
F64=$((ROWS * 21 * 8))
echo "file: $CSV, $ROWS rows x 21 columns, $BYTES bytes; as f64: $F64 bytes"

# A model of the file's columns (no hidden layer, so that the forward passes weigh little beside
# the reading), trained on its first 2,000 rows.
head -n 2001 "$CSV" > "$DIR/head.csv"
"$BIN" train --data "$DIR/head.csv" --target y --task classify --hidden none --epochs 1 -q --out "$DIR/m.json" >/dev/null 2>&1

measure() { # label command...: prints "label seconds peak_kib"
  local label=$1; shift
  local log; log=$(mktemp)
  taskset -c "$CORE" "$TIME" -v "$@" >/dev/null 2>"$log"
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
  rm -f "$log"
  echo "$label $wall $rss"
}

for round in $(seq 1 "$ROUNDS"); do
  measure "round $round backprop-evaluate" "$BIN" evaluate --model "$DIR/m.json" --data "$CSV"
  measure "round $round pandas-read_csv" "$PYTHON" -c "import pandas, sys; pandas.read_csv(sys.argv[1])" "$CSV"
done | tee "$DIR/rounds.txt"

awk -v bytes="$BYTES" -v f64="$F64" '
  { key = $3; s = $4; rss = $5 * 1024;
    if (!(key in best) || s < best[key]) best[key] = s;
    if (!(key in peak) || rss > peak[key]) peak[key] = rss }
  END {
    for (k in best)
      printf "%-18s fastest %.2f s (%.0f MB/s), peak RSS %.0f MB = %.2f x the f64 size\n",
        k, best[k], bytes / best[k] / 1e6, peak[k] / 1e6, peak[k] / f64
  }' "$DIR/rounds.txt"
