#!/bin/sh
# Benchmark: `secrets-guard scan --staged` (the pre-commit hook) on one staged file in a
# repository holding LOOSE (default 20,000) loose objects, against the same repository
# after `git gc` (no loose objects), in the same run. Each loose object a scan reads is
# checked before libgit2 reads it (crates/git/src/loose.rs); objects it does not read
# must cost nothing, so the two should be about equal.
# Needs git and hyperfine.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/secrets-guard-bench-loose}
LOOSE=${LOOSE:-20000}
RUNS=${RUNS:-30}
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
# BIN=path/to/secrets-guard compares another build; by default the release build here.
if [ -z "${BIN:-}" ]; then
    BIN="$ROOT/target/release/secrets-guard"
    (cd "$ROOT" && cargo build --release --quiet)
fi

if [ ! -f "$WORK/loose/.git/.complete" ]; then
    rm -rf "$WORK"
    mkdir -p "$WORK/src" "$WORK/loose"
    i=0
    while [ "$i" -lt "$LOOSE" ]; do
        echo "content of blob $i" > "$WORK/src/f$i"
        i=$((i + 1))
    done
    git -C "$WORK/loose" init -q -b main
    # Loose blobs no commit refers to, as `git add` and `git stash` leave them.
    ls "$WORK/src" | sed "s|^|$WORK/src/|" | git -C "$WORK/loose" hash-object -w --stdin-paths >/dev/null
    rm -rf "$WORK/src"
    echo hello > "$WORK/loose/README"
    git -C "$WORK/loose" add README
    git -C "$WORK/loose" commit -q -m init
    echo 'token = "abc"' > "$WORK/loose/new.txt"
    git -C "$WORK/loose" add new.txt
    cp -r "$WORK/loose" "$WORK/packed"
    git -C "$WORK/packed" gc -q --prune=now
    touch "$WORK/loose/.git/.complete"
fi
echo "loose: $(git -C "$WORK/loose" count-objects)   packed: $(git -C "$WORK/packed" count-objects)"
hyperfine --warmup 3 --runs "$RUNS" -N \
    "$BIN scan --staged $WORK/loose" \
    "$BIN scan --staged $WORK/packed"
