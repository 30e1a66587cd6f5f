#!/usr/bin/env python3
"""Writes a `git fast-import` stream for the git benchmarks, to stdout.

    git_gen_repo.py history --commits 2000 --files-per-commit 10 --blob-kb 10
        A long history: every commit rewrites a few source-like files with fresh content,
        so the distinct blob content is about commits * files-per-commit * blob-kb.
        Every 100th commit adds an AWS-style access key, so the scan has findings to
        attribute.
    git_gen_repo.py wide --files 50000
        One commit holding many small files, for the --staged benchmark.

Content is deterministic (seeded), so runs compare like with like.
"""

import argparse
import random
import sys
import time

WORDS = (
    "let mut self value result config client request response error buffer index "
    "count total offset length name path file line token key secret user account "
    "session cache store query field record batch stream reader writer parse format "
    "encode decode hash map vec option string bytes async await return match impl fn "
    "struct enum trait pub use mod crate super where for while loop if else break"
).split()
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def line_pool(rng, n):
    """Source-like lines to build blobs from (sampling is much faster than generating)."""
    pool = []
    for _ in range(n):
        indent = "    " * rng.randint(0, 3)
        words = rng.choices(WORDS, k=rng.randint(3, 9))
        number = rng.getrandbits(32)
        pool.append(f"{indent}{'_'.join(words[:2])} = {'('.join(words[2:])}({number});\n")
    return pool


def emit_blob(out, data):
    out.write(b"data %d\n" % len(data))
    out.write(data)
    out.write(b"\n")


def history(args, out):
    rng = random.Random(1)
    pool = line_pool(rng, 50_000)
    paths = [f"src/mod{i // 20}/file{i % 20}.rs" for i in range(args.paths)]
    when = 1_700_000_000
    target = args.blob_kb * 1024
    total = 0
    for c in range(args.commits):
        out.write(b"commit refs/heads/main\n")
        out.write(b"mark :%d\n" % (c + 1))
        stamp = b"%d +0000" % (when + c * 3600)
        out.write(b"author Bench Author <bench@example.com> " + stamp + b"\n")
        out.write(b"committer Bench Author <bench@example.com> " + stamp + b"\n")
        emit_blob(out, b"commit %d: rewrite some files" % c)
        if c > 0:
            out.write(b"from :%d\n" % c)
        for f in rng.sample(paths, args.files_per_commit):
            # A unique first line keeps every blob distinct.
            parts = [f"// {f} at commit {c}\n"]
            size = len(parts[0])
            while size < target:
                piece = rng.choice(pool)
                parts.append(piece)
                size += len(piece)
            if c % 100 == 50 and f == paths[c % len(paths)]:
                key = "AKIA" + "".join(rng.choice(B32) for _ in range(16))
                parts.append(f'aws_access_key_id = "{key}"\n')
            data = "".join(parts).encode()
            total += len(data)
            out.write(b"M 100644 inline " + f.encode() + b"\n")
            emit_blob(out, data)
        # Make sure the secret lands in some commit even if its path was not sampled.
        if c % 100 == 50:
            key = "AKIA" + "".join(rng.choice(B32) for _ in range(16))
            out.write(b"M 100644 inline config/keys.env\n")
            emit_blob(out, f"AWS_ACCESS_KEY_ID={key}\nREV={c}\n".encode())
        out.write(b"\n")
    print(f"generated {args.commits} commits, {total / 1e6:.1f} MB of distinct blob content",
          file=sys.stderr)


def wide(args, out):
    rng = random.Random(2)
    pool = line_pool(rng, 5_000)
    out.write(b"commit refs/heads/main\n")
    out.write(b"author Bench Author <bench@example.com> 1700000000 +0000\n")
    out.write(b"committer Bench Author <bench@example.com> 1700000000 +0000\n")
    emit_blob(out, b"many files")
    per_dir = 100
    for i in range(args.files):
        path = f"pkg{i // (per_dir * 50)}/dir{(i // per_dir) % 50}/file{i % per_dir}.txt"
        data = (f"// file {i}\n" + "".join(rng.choices(pool, k=8))).encode()
        out.write(b"M 100644 inline " + path.encode() + b"\n")
        emit_blob(out, data)
    out.write(b"\n")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    h = sub.add_parser("history")
    h.add_argument("--commits", type=int, default=2000)
    h.add_argument("--files-per-commit", type=int, default=10)
    h.add_argument("--blob-kb", type=int, default=10)
    h.add_argument("--paths", type=int, default=400)
    w = sub.add_parser("wide")
    w.add_argument("--files", type=int, default=50_000)
    args = parser.parse_args()
    out = sys.stdout.buffer
    start = time.time()
    if args.mode == "history":
        history(args, out)
    else:
        wide(args, out)
    out.flush()
    print(f"stream written in {time.time() - start:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
