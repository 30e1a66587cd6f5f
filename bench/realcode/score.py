#!/usr/bin/env python3
"""Lists secrets-guard's findings on real code, redacted, and scores them against labels.

    bench/realcode/score.py --labels bench/realcode/labels.tsv \
        --report crates=WORK/reports/crates.json --report pypi=... --report npm=... \
        [--labelled WORK/reports/labelled.md] [--findings findings.md] [--markdown results.md]
        [--append-unlabelled LABEL]

Each report is `secrets-guard scan --format json --show-secrets`, run from inside the
ecosystem's tree (WORK/<ecosystem>), whose files give each finding's line as context.

A finding's key is `ecosystem:path:rule:h`, where h is the first 12 hex digits of the
secret's SHA-256: stable across line moves, and free of the secret. labels.tsv holds
`key<TAB>label<TAB>note` with label one of

  credential  a working credential a reader could use (none expected in published packages);
  fixture     a credential-shaped literal written as test or example data (a fake key in a
              test, a documented sample value): a correct report of a literal, not noise;
  noise       not a credential by the issue's definition: an identifier, constant, member
              access, call, type, header name, path, label key, format string, shell
              expansion or template placeholder, or a literal that is no secret at all.

A noise note that starts with `def1` marks noise by the definition in issue 14, part 1 (an
identifier, constant, member access, dereference, call, index, type, header name, URL path,
label key, shell expansion or template placeholder); the tables count it apart.

Precision = (credential + fixture) / findings. Findings without a label are listed and make
the script exit 1. Nothing here prints a secret: the context line shows the secret as its
first four characters and its length.
"""

import argparse
import collections
import hashlib
import json
import os
import sys

LABELS = ("credential", "fixture", "noise")


def redact(s):
    return f"{s[:4]}…({len(s)})" if len(s) > 4 else f"…({len(s)})"


def key_of(eco, f):
    h = hashlib.sha256(f["secret"].encode()).hexdigest()[:12]
    path = f["path"]
    while path.startswith("./"):
        path = path[2:]
    return f"{eco}:{path}:{f['rule_id']}:{h}"


def context(root, f):
    path = os.path.join(root, f["path"])
    try:
        with open(path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                if n == f["line"]:
                    line = raw.decode("utf-8", "replace").rstrip("\n")
                    break
            else:
                return ""
    except OSError:
        return ""
    secret = f["secret"].split("\n")[0]
    if secret:
        line = line.replace(secret, "‹" + redact(f["secret"]) + "›")
    line = line.strip()
    if len(line) > 160:
        at = max(0, line.find("‹") - 70)
        line = ("…" if at else "") + line[at:at + 160] + "…"
    return line.replace("|", "\\|").replace("`", "'")


def load_labels(path):
    labels = {}
    if not os.path.exists(path):
        return labels
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 2 or parts[1] not in LABELS:
                sys.exit(f"{path}:{n}: expected key<TAB>credential|fixture|noise<TAB>note")
            labels[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return labels


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", required=True)
    ap.add_argument("--report", action="append", default=[], metavar="ECOSYSTEM=FILE")
    ap.add_argument("--labelled", help="bench/labelled score.py markdown of the same run")
    ap.add_argument("--findings", help="write every finding, redacted, to this file")
    ap.add_argument("--markdown", help="write the tables to this file")
    ap.add_argument("--append-unlabelled", metavar="LABEL",
                    help="append unlabelled findings to the labels file with this label (for review)")
    args = ap.parse_args()

    labels = load_labels(args.labels)
    rows = []
    listing = ["| ecosystem | file:line | rule | label | context (secret redacted) |", "|---|---|---|---|---|"]
    unlabelled = []
    by_rule = collections.Counter()
    for spec in args.report:
        eco, path = spec.split("=", 1)
        root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), eco)
        with open(path) as fh:
            text = fh.read().strip()
        findings = json.loads(text) if text else []
        counts = collections.Counter()
        for f in sorted(findings, key=lambda f: (f["path"], f["line"])):
            k = key_of(eco, f)
            label, note = labels.get(k, ("unlabelled", ""))
            counts[label] += 1
            if label == "noise" and note.startswith("def1"):
                counts["def1"] += 1
            if label == "noise":
                by_rule[(eco, f["rule_id"])] += 1
            if label == "unlabelled":
                unlabelled.append((k, f, context(root, f)))
            listing.append(f"| {eco} | {f['path'].lstrip('./')}:{f['line']} | {f['rule_id']} | {label} | `{context(root, f)}` |")
        n = len(findings)
        good = counts["credential"] + counts["fixture"]
        prec = f"{100 * good / n:.1f}%" if n else "n/a"
        rows.append((eco, n, counts["credential"], counts["fixture"], counts["noise"], counts["def1"], counts["unlabelled"], prec))

    out = ["| ecosystem | findings | credential | fixture | noise | of which def. 1 | unlabelled | precision |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    tot = [sum(r[i] for r in rows) for i in range(1, 7)]
    prec = f"{100 * (tot[1] + tot[2]) / tot[0]:.1f}%" if tot[0] else "n/a"
    out.append("| all | " + " | ".join(str(x) for x in tot) + f" | {prec} |")
    if by_rule:
        out += ["", "Noise per rule:", ""] + [f"- {eco} {rule}: {n}" for (eco, rule), n in sorted(by_rule.items())]
    if args.labelled:
        with open(args.labelled) as fh:
            summary = [l for l in fh if l.startswith("| secrets-guard |")]
        if summary:
            out += ["", "Labelled set (bench/labelled, seed 7), same binary, same run:", "",
                    "| tool | recall (exact secret) | recall (any finding on file) | clean files flagged | precision (files) |",
                    "|---|---|---|---|---|", summary[0].rstrip("\n")]
    text = "\n".join(out) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text)
    if args.findings:
        with open(args.findings, "w") as fh:
            fh.write("\n".join(listing) + "\n")
    if unlabelled:
        print(f"{len(unlabelled)} unlabelled findings:", file=sys.stderr)
        for k, f, ctx in unlabelled:
            print(f"  {k}\t{ctx}", file=sys.stderr)
        if args.append_unlabelled:
            with open(args.labels, "a") as fh:
                for k, f, ctx in unlabelled:
                    fh.write(f"{k}\t{args.append_unlabelled}\t{ctx}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
