#!/bin/sh
# Benchmark: a 10 MB single line dense with keywords (a one-line JSON export) against the
# same bytes split into lines, scanned with the default rules, in the same run.
#
#   bench/long_line.sh                     # release build, 10 MB
#   SIZE_MB=2 SG_BIN=target/debug/secrets-guard bench/long_line.sh
#
# Goal (issue 12): one-line throughput >= 1/3 of the split throughput, i.e. the printed
# ratio (one-line time / split time) <= 3.0. Needs python3; uses hyperfine when present.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/secrets-guard-bench-long-line}
SIZE_MB=${SIZE_MB:-10}
RUNS=${RUNS:-3}
if [ -z "${SG_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    SG_BIN="$ROOT/target/release/secrets-guard"
fi
case "$SG_BIN" in /*) ;; *) SG_BIN="$PWD/$SG_BIN" ;; esac

mkdir -p "$WORK/one" "$WORK/split"
python3 - "$WORK" "$SIZE_MB" <<'PY'
import random, sys
work, size = sys.argv[1], int(sys.argv[2]) * 1_000_000
rng = random.Random(7)
alpha = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
def v():
    return "".join(rng.choice(alpha) for _ in range(24))
records, total, i = [], 0, 0
while total < size:
    r = ('{"id":%d,"token":"%s","password":"%s","api_key":"%s","secret":"%s",'
         '"url":"https://user:%s@db.example.com/x","auth":"Bearer %s"},'
         % (i, v(), v(), v(), v(), v(), v()))
    records.append(r); total += len(r); i += 1
open(f"{work}/one/export.json", "w").write("".join(records))
open(f"{work}/split/export.json", "w").write("\n".join(records))
PY

time_of() {
    # Best of $RUNS wall-clock seconds.
    best=""
    n=0
    while [ "$n" -lt "$RUNS" ]; do
        start=$(python3 -c 'import time; print(time.monotonic())')
        "$SG_BIN" scan --format json -o /dev/null "$1" 2>/dev/null || [ $? -eq 1 ]
        end=$(python3 -c 'import time; print(time.monotonic())')
        t=$(python3 -c "print($end - $start)")
        if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then best=$t; fi
        n=$((n + 1))
    done
    echo "$best"
}

one=$(time_of "$WORK/one/export.json")
split=$(time_of "$WORK/split/export.json")
python3 - "$one" "$split" "$SIZE_MB" <<'PY'
import sys
one, split, mb = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"one line : {one:.3f} s ({mb / one:.1f} MB/s)")
print(f"split    : {split:.3f} s ({mb / split:.1f} MB/s)")
print(f"ratio one-line/split time: {one / split:.2f} (goal <= 3.0)")
PY
