#!/usr/bin/env bash
# Detection quality of secrets-guard against its peers, on the labelled set, in one run.
#
#   bench/labelled/run.sh [DIR]
#
# DIR holds a set written by generate.py (DIR/tree and DIR/labels.json). Without DIR, the
# set is generated once with --seed 7 under ${TMPDIR:-/tmp}/sg-labelled-seed7: outside the
# repository, so no tool skips it through the repository's .gitignore. Builds secrets-guard
# --release (SG_BIN=path skips that), installs the peers if missing (detect-secrets from
# PyPI, ripsecrets from crates.io), runs gitleaks only if it is already on PATH, then runs
# each tool over the tree one after the other and scores the reports with score.py.
# Reports and the scored tables go to DIR/reports/.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [ $# -ge 1 ]; then
    [ -d "$1" ] || { echo "bench/labelled/run.sh: $1: not a directory" >&2; exit 2; }
    dir="$(cd "$1" && pwd)"
    [ -f "$dir/labels.json" ] && [ -d "$dir/tree" ] || {
        echo "bench/labelled/run.sh: $1: no labels.json and tree/ (write one with generate.py)" >&2
        exit 2
    }
else
    dir="${TMPDIR:-/tmp}/sg-labelled-seed7"
    if [ ! -f "$dir/labels.json" ]; then
        rm -rf "$dir"
        python3 "$here/generate.py" --out "$dir" --seed 7
    fi
fi
tree="$dir/tree"
out="$dir/reports"
mkdir -p "$out"

if [ -n "${SG_BIN:-}" ]; then
    # Absolute, since every tool runs from inside the tree.
    sg="$(cd "$(dirname "$SG_BIN")" && pwd)/$(basename "$SG_BIN")"
else
    (cd "$repo" && cargo build --release -p secrets-guard >&2)
    sg="$repo/target/release/secrets-guard"
fi

export PATH="$HOME/.cargo/bin:$PATH"
command -v detect-secrets >/dev/null || python3 -m pip install --quiet detect-secrets >&2
command -v ripsecrets >/dev/null || cargo install ripsecrets --locked >&2

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

# Every tool runs from inside the tree on `.`, so all reports carry the same relative paths.
# Exit code 1 means "found something" for the scanners; anything else is a failure.
run_tool() {
    local name="$1"
    shift
    local t0 rc=0
    t0="$(now)"
    (cd "$tree" && "$@") || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "bench/labelled/run.sh: $name exited $rc" >&2
        exit 1
    fi
    echo "$name: $(elapsed "$t0" "$(now)") s" >&2
}

reports=()
run_tool secrets-guard "$sg" scan --format json --show-secrets --output "$out/secrets-guard.json" .
reports+=(--report "secrets-guard=sg-json:$out/secrets-guard.json")

run_tool ripsecrets sh -c 'ripsecrets --only-matching . > "$1"' sh "$out/ripsecrets.txt"
reports+=(--report "ripsecrets=ripsecrets:$out/ripsecrets.txt")

run_tool detect-secrets sh -c 'detect-secrets scan --all-files . > "$1"' sh "$out/detect-secrets.json"
reports+=(--report "detect-secrets=detect-secrets:$out/detect-secrets.json")

if command -v gitleaks >/dev/null; then
    run_tool gitleaks gitleaks dir --no-banner --exit-code 0 --report-format json \
        --report-path "$out/gitleaks.json" .
    reports+=(--report "gitleaks=gitleaks:$out/gitleaks.json")
else
    echo "gitleaks: not on PATH; the reachable registries (crates.io, PyPI, npm, Debian) carry only third-party wrappers, not the official build; skipped" >&2
fi

{
    echo "secrets-guard $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "ripsecrets $(ripsecrets --version 2>/dev/null | awk '{print $2}')"
    echo "detect-secrets $(detect-secrets --version 2>/dev/null)"
} >&2

python3 "$here/score.py" --labels "$dir/labels.json" "${reports[@]}" \
    --detail secrets-guard --markdown "$out/results.md"
echo "tables written to $out/results.md" >&2
