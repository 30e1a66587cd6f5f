#!/bin/sh
# Benchmark: `secrets-guard scan --git` over a whole history, against the floor of reading
# every object with `git cat-file --batch-all-objects --batch`, and against Nosey Parker
# when a `noseyparker` binary is on PATH, all in the same run, interleaved.
#
#   bench/git_history.sh /path/to/repo.git     # any repository, bare or not
#   bench/git_history.sh                       # a generated one: 2,000 commits
#   COMMITS=500 bench/git_history.sh
#
# Settings (environment): RUNS (default 5) timed runs of each tool; THREADS passes
# --threads to secrets-guard; ODB=1 also times secrets-guard's former reader (libgit2's
# object database, one blob at a time) for comparison.
#
# Prints, per tool, the median and the min-max of wall time, user CPU time and peak RSS
# (from wait4, per process), then the ratios of the medians.
# Goals (issue 13, on rust-lang/cargo's history, 2 cores): secrets-guard / Nosey Parker
# <= 0.6, secrets-guard / git cat-file <= 0.8, peak RSS < 600 MB. Needs python3 and git.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/secrets-guard-bench-history}
RUNS=${RUNS:-5}
BIN="$ROOT/target/release/secrets-guard"
mkdir -p "$WORK"

(cd "$ROOT" && cargo build --release --quiet)

if [ $# -ge 1 ]; then
    REPO=$(cd "$1" && pwd)
else
    COMMITS=${COMMITS:-2000}
    REPO="$WORK/history-$COMMITS.git"
    if [ ! -f "$REPO/.complete" ]; then
        rm -rf "$REPO"
        git init -q --bare "$REPO"
        python3 "$ROOT/bench/git_gen_repo.py" history --commits "$COMMITS" \
            | git -C "$REPO" fast-import --quiet
        git -C "$REPO" gc -q
        touch "$REPO/.complete"
    fi
fi

echo "repository: $REPO"
git -C "$REPO" count-objects -vH | grep -E 'in-pack|size-pack|^count'
echo "commits: $(git -C "$REPO" rev-list --count --all)"
git -C "$REPO" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' \
    | awk '$1 == "blob" { n++; s += $2 } END { printf "blobs: %d, %.2f GB of content\n", n, s / 1e9 }'
echo "cores: $(nproc)"

# One scan for the summary line (blobs scanned, findings) before timing.
SG_ARGS="scan --git --exit-code 0 --format json"
if [ -n "${THREADS:-}" ]; then SG_ARGS="$SG_ARGS --threads $THREADS"; fi
# shellcheck disable=SC2086
"$BIN" $SG_ARGS "$REPO" 2>&1 > /dev/null | tail -n 1

NP=$(command -v noseyparker || true)
[ -n "$NP" ] || echo "noseyparker: not on PATH, not measured"

python3 - "$REPO" "$BIN" "$SG_ARGS" "$RUNS" "$WORK" "${NP:-}" "${ODB:-0}" <<'PY'
import os, shutil, statistics, subprocess, sys, time

repo, sg, sg_args, runs, work, np, odb = sys.argv[1:]
runs = int(runs)
sg_cmd = [sg] + sg_args.split() + [repo]
tools = [
    ("secrets-guard", sg_cmd, None),
    ("git cat-file", ["git", "-C", repo, "cat-file", "--batch-all-objects", "--batch"], None),
]
if odb == "1":
    tools.append(("secrets-guard (odb reader)", sg_cmd[:-1] + ["--git-reader", "odb", repo], None))
if np:
    store = os.path.join(work, "np.datastore")
    tools.append(("noseyparker", [np, "scan", "--datastore", store, repo], store))

def run(cmd, store):
    if store:
        shutil.rmtree(store, ignore_errors=True)
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=null, stderr=null)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} exited with {code}")
    return wall, usage.ru_utime, usage.ru_maxrss / 1024

samples = {name: [] for name, _, _ in tools}
for name, cmd, store in tools:  # warm-up: page cache
    run(cmd, store)
for _ in range(runs):  # interleaved, so load from other processes hits every tool alike
    for name, cmd, store in tools:
        samples[name].append(run(cmd, store))

def spread(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"

print(f"{'tool':<28} {'wall s, median (min-max)':<26} {'user CPU s':<22} peak RSS MiB")
medians = {}
for name, _, _ in tools:
    walls, users, rss = zip(*samples[name])
    medians[name] = statistics.median(walls)
    print(f"{name:<28} {spread(walls, '{:.2f}'):<26} {spread(users, '{:.1f}'):<22} {spread(rss, '{:.0f}')}")
sg_t = medians["secrets-guard"]
print(f"ratio secrets-guard / git cat-file: {sg_t / medians['git cat-file']:.2f} (goal <= 0.8)")
if "noseyparker" in medians:
    print(f"ratio secrets-guard / noseyparker: {sg_t / medians['noseyparker']:.2f} (goal <= 0.6)")
if "secrets-guard (odb reader)" in medians:
    print(f"ratio secrets-guard / odb reader: {sg_t / medians['secrets-guard (odb reader)']:.2f}")
PY
