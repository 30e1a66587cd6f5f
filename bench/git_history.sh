#!/bin/sh
# Benchmark: `secrets-guard scan --git` over a generated history, against the floor of
# reading the same objects with `git cat-file --batch-all-objects --batch`, in the same run.
#
#   bench/git_history.sh            # 2,000 commits, ~205 MB of distinct blob content
#   COMMITS=500 bench/git_history.sh
#
# Goal: scan time / cat-file time <= 3.0. Needs python3, git and hyperfine.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/secrets-guard-bench-history}
COMMITS=${COMMITS:-2000}
RUNS=${RUNS:-5}
REPO="$WORK/history-$COMMITS.git"
BIN="$ROOT/target/release/secrets-guard"

command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }

(cd "$ROOT" && cargo build --release --quiet)

if [ ! -f "$REPO/.complete" ]; then
    rm -rf "$REPO"
    mkdir -p "$WORK"
    git init -q --bare "$REPO"
    python3 "$ROOT/bench/git_gen_repo.py" history --commits "$COMMITS" \
        | git -C "$REPO" fast-import --quiet
    touch "$REPO/.complete"
fi

echo "repository: $REPO"
git -C "$REPO" count-objects -vH | grep -E 'in-pack|size-pack'
echo "commits: $(git -C "$REPO" rev-list --count --all)"
git -C "$REPO" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' \
    | awk '$1 == "blob" { n++; s += $2 } END { printf "distinct blobs: %d, %.1f MB\n", n, s / 1e6 }'

# One scan for the summary line (blobs scanned, findings) before timing.
"$BIN" scan --git --exit-code 0 --format json "$REPO" > /dev/null

JSON="$WORK/history.json"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$JSON" \
    -n floor "git -C '$REPO' cat-file --batch-all-objects --batch > /dev/null" \
    -n scan "'$BIN' scan --git --exit-code 0 --format json '$REPO'"

python3 - "$JSON" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
floor, scan = results["floor"]["median"], results["scan"]["median"]
ratio = scan / floor
print(f"floor (git cat-file) median: {floor:.3f} s")
print(f"secrets-guard scan --git median: {scan:.3f} s")
print(f"ratio: {ratio:.2f} (goal <= 3.0) -> {'PASS' if ratio <= 3.0 else 'FAIL'}")
PY

# Peak memory: blobs are streamed, so this follows the pack's mapped windows, not the
# history's size.
if [ -x /usr/bin/time ]; then
    for label in floor scan; do
        if [ "$label" = floor ]; then
            set -- git -C "$REPO" cat-file --batch-all-objects --batch
        else
            set -- "$BIN" scan --git --exit-code 0 --format json "$REPO"
        fi
        /usr/bin/time -f '%M' -o "$WORK/rss" "$@" > /dev/null 2>&1
        echo "$label peak RSS: $(( $(tail -n 1 "$WORK/rss") / 1024 )) MiB"
    done
fi
