#!/bin/sh
# Benchmark: `secrets-guard scan --staged` on a 10-file change, in a repository of 50,000
# files and in one of 10 files, in the same run.
#
# Goals: under 50 ms wall in the large repository, and at most 1.5x the small one.
# Needs python3, git and hyperfine.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/secrets-guard-bench-staged}
FILES=${FILES:-50000}
RUNS=${RUNS:-30}
BIN="$ROOT/target/release/secrets-guard"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }

(cd "$ROOT" && cargo build --release --quiet)

# make_repo DIR FILES: a repository with FILES committed files and a staged 10-file change.
make_repo() {
    dir=$1
    files=$2
    if [ -f "$dir/.git/.complete" ]; then
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    git -C "$dir" init -q -b main
    python3 "$ROOT/bench/git_gen_repo.py" wide --files "$files" | git -C "$dir" fast-import --quiet
    git -C "$dir" checkout -q -f main
    # The staged change: 10 existing files, each with a few new lines (one with a key).
    git -C "$dir" ls-files | awk -v step=$(( (files + 9) / 10 )) '(NR - 1) % step == 0' | head -n 10 | while read -r f; do
        printf 'new line one\nnew line two\nconfig = "value"\n' >> "$dir/$f"
        git -C "$dir" add "$f"
    done
    first=$(git -C "$dir" diff --cached --name-only | head -n 1)
    printf 'aws_access_key_id = "AKIAZ7Q4LRM2XP6W3KTD"\n' >> "$dir/$first"
    git -C "$dir" add "$first"
    touch "$dir/.git/.complete"
}

LARGE="$WORK/files-$FILES"
SMALL="$WORK/files-10"
make_repo "$LARGE" "$FILES"
make_repo "$SMALL" 10
for d in "$LARGE" "$SMALL"; do
    echo "$d: $(git -C "$d" ls-files | wc -l) files, $(git -C "$d" diff --cached --name-only | wc -l) staged"
done
(cd "$LARGE" && "$BIN" scan --staged --exit-code 0 >/dev/null) || true

# One trivial rule: the same runs without the cost of compiling the default rules, which
# shows the git part (index read, comparison with HEAD, blob reads) on its own.
ONE_RULE="$WORK/one-rule.toml"
cat > "$ONE_RULE" <<'TOML'
[[rules]]
id = "bench-token"
description = "Bench token"
regex = '''\b(bnk_[A-Za-z0-9]{24})\b'''
keywords = ["bnk_"]
TOML

JSON="$WORK/staged.json"
hyperfine --warmup 3 --runs "$RUNS" -N --export-json "$JSON" \
    -n large "$BIN scan --staged --exit-code 0 $LARGE" \
    -n small "$BIN scan --staged --exit-code 0 $SMALL" \
    -n large-git "$BIN scan --staged --exit-code 0 --config $ONE_RULE $LARGE" \
    -n small-git "$BIN scan --staged --exit-code 0 --config $ONE_RULE $SMALL"

python3 - "$JSON" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
large, small = results["large"]["median"], results["small"]["median"]
print(f"--staged, 10-file change, 50,000-file repository: median {large * 1000:.1f} ms "
      f"(goal < 50 ms) -> {'PASS' if large < 0.050 else 'FAIL'}")
print(f"--staged, 10-file change, 10-file repository:     median {small * 1000:.1f} ms")
ratio = large / small
print(f"ratio: {ratio:.2f} (goal <= 1.5) -> {'PASS' if ratio <= 1.5 else 'FAIL'}")
lg, sg = results["large-git"]["median"], results["small-git"]["median"]
print(f"with one trivial rule (git part alone): 50,000 files {lg * 1000:.1f} ms, "
      f"10 files {sg * 1000:.1f} ms; the difference, {1000 * (lg - sg):.1f} ms, is what "
      "50,000 files cost; the rest of the default-rules time is compiling the rules")
PY
