#!/usr/bin/env bash
# Benchmarks the working-tree scan against ripgrep on the same tree, in the same run.
#
#   bench/scan.sh [DIR]
#
# Without DIR, generates (once, deterministically) about 200 MB of source-like text with
# bench/gen_tree.py under target/bench-tree. Builds --release, installs ripgrep and GNU
# time with apt-get if missing, warms the page cache, then measures secrets-guard's wall
# time, throughput and peak RSS, and `rg -i -c -F -f keywords.txt` over the same tree for
# the rules' keywords, and prints the ratio secrets-guard / rg. Each tool runs RUNS times
# (default 3); the best wall time and the largest RSS count. SG_BIN=path skips the build.
# Goals on 2 cores: ratio <= 2.0, peak RSS < 200 MB.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
runs="${RUNS:-3}"
cd "$repo"

if [ $# -ge 1 ]; then
    tree="$1"
    [ -d "$tree" ] || { echo "bench/scan.sh: $tree: not a directory" >&2; exit 2; }
else
    tree="$repo/target/bench-tree"
    if [ ! -f "$tree/.complete" ]; then
        rm -rf "$tree"
        python3 "$here/gen_tree.py" --out "$tree" --size-mb "${SIZE_MB:-200}" --seed 42
        touch "$tree/.complete"
    fi
fi

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y "$@" >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y "$@" >/dev/null; }
}
command -v rg >/dev/null || apt_install ripgrep
[ -x /usr/bin/time ] || apt_install time

# SG_BIN=path measures an already-built binary instead of building one.
if [ -n "${SG_BIN:-}" ]; then
    sg="$SG_BIN"
else
    cargo build --release -p secrets-guard >&2
    sg="$repo/target/release/secrets-guard"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The keywords the prefilter looks for: from `rules list --format json` when it exists,
# else straight from the rule files.
if "$sg" rules list --format json >"$work/rules.json" 2>/dev/null; then
    python3 - "$work/rules.json" >"$work/keywords.txt" <<'PY'
import json, sys
rules = json.load(open(sys.argv[1]))
if isinstance(rules, dict):
    rules = rules.get("rules", [])
seen = []
for r in rules:
    for k in r.get("keywords", []):
        if k.lower() not in seen:
            seen.append(k.lower())
print("\n".join(seen))
PY
fi
if [ ! -s "$work/keywords.txt" ]; then
    python3 - "$repo/rules" >"$work/keywords.txt" <<'PY'
import os, sys, tomllib
seen = []
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    if name.endswith(".toml"):
        for r in tomllib.load(open(os.path.join(d, name), "rb")).get("rules", []):
            for k in r.get("keywords", []):
                if k.lower() not in seen:
                    seen.append(k.lower())
print("\n".join(seen))
PY
fi

bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
files=$(find "$tree" -type f | wc -l)
echo "tree: $tree: $files files, $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b/1e6}') MB; $(wc -l <"$work/keywords.txt") keywords; $(nproc) cores" >&2

# Warm the page cache, and each tool once, untimed.
find "$tree" -type f -print0 | xargs -0 cat >/dev/null
"$sg" scan "$tree" --format json --output "$work/warm.json" --exit-code 0 2>/dev/null || true
rg --hidden -i -c -F -f "$work/keywords.txt" "$tree" >/dev/null || true

# best_of CMD...: prints "best_wall_seconds max_rss_kib cpu_seconds_of_best_run" over $runs
# runs. CPU time (user + system) is printed too: on a busy machine it is the steadier figure.
best_of() {
    local best="" rss=0 cpu=0 i t m u s
    for i in $(seq "$runs"); do
        /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || true
        read -r t m u s <"$work/time" || { cat "$work/stderr" >&2; exit 1; }
        if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN {exit !(a < b)}'; then
            best="$t"
            cpu=$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')
        fi
        [ "$m" -gt "$rss" ] && rss="$m"
    done
    echo "$best $rss $cpu"
}

read -r sg_t sg_m sg_c < <(best_of "$sg" scan "$tree" --format json --output "$work/findings.json" --exit-code 0)
tail -n 1 "$work/stderr" >&2
findings=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/findings.json")
# --hidden: rg skips dotfiles by default; secrets-guard scans them (.env), so rg must too.
read -r rg_t rg_m rg_c < <(best_of rg --hidden -i -c -F -f "$work/keywords.txt" "$tree")

awk -v st="$sg_t" -v sm="$sg_m" -v sc="$sg_c" -v rt="$rg_t" -v rm="$rg_m" -v rc="$rg_c" -v b="$bytes" -v f="$findings" 'BEGIN {
    st = (st > 0 ? st : 0.01); rt = (rt > 0 ? rt : 0.01)
    printf "secrets-guard: %.2f s wall, %.2f s CPU, %.0f MB/s, peak RSS %.1f MB, %d findings\n", st, sc, b/1e6/st, sm/1024, f
    printf "rg (keywords): %.2f s wall, %.2f s CPU, %.0f MB/s, peak RSS %.1f MB\n", rt, rc, b/1e6/rt, rm/1024
    ratio = st / rt
    printf "ratio secrets-guard/rg: %.2f wall (goal <= 2.0), %.2f CPU; peak RSS goal < 200 MB: %s\n", ratio, sc / (rc > 0 ? rc : 0.01), (sm/1024 < 200 ? "met" : "NOT met")
}'
