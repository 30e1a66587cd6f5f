#!/bin/sh
# Runs every fuzz target for SECONDS seconds each (default 20) with cargo-fuzz on the
# nightly toolchain. A crash stops the run with the target's name; its input is kept in
# fuzz/artifacts/TARGET/ and becomes a regression test.
#
#   fuzz/run.sh 20                          # what CI runs
#   fuzz/run.sh 3600                        # an hour per target
#   FUZZ_SANITIZER=address fuzz/run.sh 600  # with AddressSanitizer
#
# Optimised (`-O`) and without a sanitizer by default (`-s none`): the code the targets
# reach is safe Rust apart from well-fuzzed dependencies, and libFuzzer still catches every
# panic, timeout and out-of-memory. A cold build is a fifth shorter without the sanitizer,
# and a third shorter without debug assertions (`-a`), which CI's time budget needs
# (README, Fuzzing); longer runs can add them by hand (`cargo +nightly fuzz run -a …`).
set -eu
SECONDS_EACH=${1:-20}
SANITIZER=${FUZZ_SANITIZER:-none}
cd "$(dirname "$0")"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "needs cargo-fuzz on the nightly toolchain: cargo install cargo-fuzz" >&2
    exit 2
fi
for target in env_parser rule_loader scanner index_reader key_format; do
    echo "== fuzz $target for ${SECONDS_EACH}s"
    mkdir -p "corpus/$target"
    cargo +nightly fuzz run -O -s "$SANITIZER" "$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -timeout=10
done
echo "== fuzzing done: every target ran ${SECONDS_EACH}s without a crash"
