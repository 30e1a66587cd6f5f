#!/usr/bin/env bash
# Precision of secrets-guard on real, public source code, in the same run as the labelled
# set's recall.
#
#   bench/realcode/run.sh [WORKDIR]
#
# WORKDIR (default ${TMPDIR:-/tmp}/sg-realcode) receives three trees, fetched once with the
# registries' own clients and pinned by files in this folder:
#   crates/  the crates of this workspace's dependency tree (Cargo.lock), copied from
#            ~/.cargo/registry/src after `cargo fetch`;
#   pypi/    the wheels listed in pypi.txt (`pip download --no-deps`), unpacked;
#   npm/     the tree that npm/package-lock.json pins (`npm ci --ignore-scripts`).
# Each tree is scanned as a CI job would scan it (`secrets-guard scan --format json` from
# inside the tree). score.py lists every finding with its secret redacted, joins it with
# labels.tsv (credential / fixture / noise) and prints precision per ecosystem. The labelled
# set (bench/labelled, seed 7) is scanned by the same binary and scored with its score.py.
# Builds secrets-guard (debug profile, whose regex crates are optimised; detection does not
# depend on the profile); SG_BIN=path uses that binary instead.
# Output: WORKDIR/reports/{findings.md,results.md}; unlabelled findings are listed there and
# make the script exit 1, so a rule change that adds findings is noticed and labelled.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="${1:-${TMPDIR:-/tmp}/sg-realcode}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
out="$work/reports"
mkdir -p "$out"

if [ -n "${SG_BIN:-}" ]; then
    sg="$(cd "$(dirname "$SG_BIN")" && pwd)/$(basename "$SG_BIN")"
else
    (cd "$repo" && cargo build -p secrets-guard >&2)
    sg="$repo/target/debug/secrets-guard"
fi

# crates.io: every registry package of the workspace's resolved dependency graph.
if [ ! -f "$work/crates/.complete" ]; then
    rm -rf "$work/crates"
    mkdir -p "$work/crates"
    (cd "$repo" && cargo fetch --locked >&2)
    (cd "$repo" && cargo metadata --format-version 1 --locked) | python3 -c '
import json, os, sys
meta = json.load(sys.stdin)
for p in meta["packages"]:
    if p.get("source", "") and p["source"].startswith("registry+"):
        print(os.path.dirname(p["manifest_path"]))
' | sort -u | while read -r d; do cp -r "$d" "$work/crates/"; done
    touch "$work/crates/.complete"
fi

# PyPI: the pinned wheels, unpacked one folder each.
if [ ! -f "$work/pypi/.complete" ]; then
    rm -rf "$work/pypi" "$work/wheels"
    mkdir -p "$work/pypi" "$work/wheels"
    python3 -m pip download --quiet --no-deps --dest "$work/wheels" -r "$here/pypi.txt" >&2
    for w in "$work"/wheels/*.whl; do
        name="$(basename "$w" .whl)"
        python3 -m zipfile -e "$w" "$work/pypi/${name%%-py*}"
    done
    touch "$work/pypi/.complete"
fi

# npm: the pinned tree, without install scripts.
if [ ! -f "$work/npm/.complete" ]; then
    rm -rf "$work/npm"
    mkdir -p "$work/npm"
    cp "$here/npm/package.json" "$here/npm/package-lock.json" "$work/npm/"
    (cd "$work/npm" && npm ci --ignore-scripts --no-audit --no-fund >&2)
    rm "$work/npm/package.json" "$work/npm/package-lock.json"
    touch "$work/npm/.complete"
fi

reports=()
for eco in crates pypi npm; do
    rc=0
    t0="$(date +%s)"
    (cd "$work/$eco" && "$sg" scan --format json --show-secrets --output "$out/$eco.json" .) || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "bench/realcode/run.sh: scanning $eco exited $rc" >&2
        exit 1
    fi
    echo "$eco: $(du -sm "$work/$eco" | cut -f1) MB, $(( $(date +%s) - t0 )) s" >&2
    reports+=(--report "$eco=$out/$eco.json")
done

# The labelled set, same binary, same run.
labelled="${TMPDIR:-/tmp}/sg-labelled-seed7"
if [ ! -f "$labelled/labels.json" ]; then
    rm -rf "$labelled"
    python3 "$repo/bench/labelled/generate.py" --out "$labelled" --seed 7
fi
mkdir -p "$labelled/reports"
rc=0
(cd "$labelled/tree" && "$sg" scan --format json --show-secrets --output "$labelled/reports/secrets-guard.json" .) || rc=$?
[ "$rc" -le 1 ] || { echo "bench/realcode/run.sh: scanning the labelled set exited $rc" >&2; exit 1; }
python3 "$repo/bench/labelled/score.py" --labels "$labelled/labels.json" \
    --report "secrets-guard=sg-json:$labelled/reports/secrets-guard.json" \
    --markdown "$out/labelled.md" >/dev/null

echo "secrets-guard $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)" >&2
python3 "$here/score.py" --labels "$here/labels.tsv" "${reports[@]}" \
    --labelled "$out/labelled.md" --findings "$out/findings.md" --markdown "$out/results.md"
