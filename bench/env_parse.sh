#!/usr/bin/env bash
# Benchmarks the .env parser against `wc -l` on the same file, in the same run.
#
#   bench/env_parse.sh [ENTRIES]
#
# Generates (deterministically) a `.env.dev` of ENTRIES entries (default 230000, about
# 10 MB: unquoted, single- and double-quoted, multi-line, `${VAR}` references, comments,
# duplicates), then measures `secrets-guard env export --env dev --allow-protected` of it
# (read, parse, expand, print), the same without --allow-protected (adds the content gate,
# a scan with every rule), and `wc -l` of the same file. Each runs RUNS times (default 5); the best
# wall time and the best CPU time count. Prints both and the ratios secrets-guard / wc -l.
# Goal: secrets-guard under 1 s for 10 MB / 230k entries; parsing is linear, so doubling
# ENTRIES doubles the time. SG_BIN=path skips the release build.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
entries="${1:-230000}"
runs="${RUNS:-5}"
case "$entries" in
    ''|*[!0-9]*) echo "bench/env_parse.sh: ENTRIES must be a number, got '$entries'" >&2; exit 2 ;;
esac
cd "$repo"

if [ -n "${SG_BIN:-}" ]; then
    sg="$SG_BIN"
    case "$sg" in /*) ;; *) sg="$repo/$sg" ;; esac
else
    cargo build --release -p secrets-guard >&2
    sg="$repo/target/release/secrets-guard"
fi
[ -x "$sg" ] || { echo "bench/env_parse.sh: $sg: not an executable" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$work/.env.dev" "$entries" <<'PY'
import random, string, sys
path, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(11)
alnum = string.ascii_letters + string.digits
with open(path, "w") as f:
    for i in range(n):
        kind = i % 8
        key = f"KEY_{i}"
        tok = "".join(rng.choice(alnum) for _ in range(24))
        if kind == 0:
            f.write(f"# section {i}\n{key}={tok}\n")
        elif kind == 1:
            f.write(f"export {key}=\"{tok} with spaces and \\n escape\"\n")
        elif kind == 2:
            f.write(f"{key}='{tok}$literal'\n")
        elif kind == 3:
            f.write(f"{key}=\"https://host/${{KEY_{i-1}}}/path\"\n")
        elif kind == 4:
            f.write(f"{key}=\"first line {tok}\nsecond line\"\n")
        elif kind == 5:
            f.write(f"{key} = {tok}   # trailing comment\n")
        elif kind == 6:
            f.write(f"{key}=${{UNSET_{i}:-default_{tok}}}\n")
        elif i % 1000 == 7:
            f.write(f"KEY_{i-1}={tok}\n")  # a duplicate (warned about): the later one wins
        else:
            f.write(f"{key}=plain-{tok}\n")
PY

bytes=$(wc -c <"$work/.env.dev")
# Page cache warm for both.
cat "$work/.env.dev" >/dev/null
"$sg" env export --env dev --dir "$work" >/dev/null 2>&1 || {
    echo "bench/env_parse.sh: secrets-guard failed on the generated file:" >&2
    "$sg" env export --env dev --dir "$work" 2>&1 >/dev/null | head -5 >&2
    exit 1
}

# Best wall time and best CPU time (user + sys, from wait4) of RUNS runs each: on a
# shared machine the CPU time is the steadier figure.
python3 - "$runs" "$entries" "$bytes" "$sg" "$work" <<'PY'
import os, subprocess, sys, time
runs, entries, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sg, work = sys.argv[4], sys.argv[5]

def best(cmd):
    wall, cpu = [], []
    for _ in range(runs):
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        wall.append(time.perf_counter() - start)
        cpu.append(usage.ru_utime + usage.ru_stime)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"bench/env_parse.sh: {cmd[0]} failed")
    return min(wall), min(cpu)

export = [sg, "env", "export", "--env", "dev", "--dir", work]
# --allow-protected skips the content gate (a scan of the file with every rule): what is
# left is reading, parsing, expanding and printing.
sg_wall, sg_cpu = best(export + ["--allow-protected"])
gate_wall, gate_cpu = best(export)
wc_wall, wc_cpu = best(["wc", "-l", os.path.join(work, ".env.dev")])
print(f"file: {entries} entries, {size / 1e6:.1f} MB, best of {runs}")
print(f"load (env export --allow-protected): wall {sg_wall * 1e3:.0f} ms, cpu {sg_cpu * 1e3:.0f} ms ({size / 1e6 / sg_wall:.0f} MB/s)")
print(f"load + content gate (env export):    wall {gate_wall * 1e3:.0f} ms, cpu {gate_cpu * 1e3:.0f} ms")
print(f"wc -l:                               wall {wc_wall * 1e3:.1f} ms, cpu {wc_cpu * 1e3:.1f} ms")
print(f"ratio load / wc -l: wall {sg_wall / wc_wall:.0f}x, cpu {sg_cpu / max(wc_cpu, 1e-3):.0f}x")
print("goal: load < 1000 ms wall:", "met" if sg_wall < 1.0 else "NOT met")
PY
