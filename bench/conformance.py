#!/usr/bin/env python3
"""Rule coverage against gitleaks' own rule-test examples.

Usage: bench/conformance.py PATH/TO/gitleaks-examples.jsonl [--binary target/release/secrets-guard]
                            [--json] [--show-misses N]

Each example goes into its own file in a temporary directory; one `secrets-guard scan <dir>
--format json` run scans them all. Printed:

- recall on positives, overall and per gitleaks rule id. An example counts as found when any
  secrets-guard rule reports a finding in its file (a user cares that the secret is caught, not
  under which id); the share found by a rule of the *same* id is shown beside it.
  Positives marked `checksum_invalid` (GitHub tokens whose CRC32 is wrong) are left out of the
  denominator and counted as "correctly rejected" when nothing is reported for them.
- false positives on negatives: a negative only says that *its* rule must not match, so a
  finding by the same rule id is a false positive; findings by other rules are listed apart
  (some negatives are credentials of another kind).
- the gitleaks rule ids with no secrets-guard rule of the same id.

The data set is not part of the project (a clone does not have it): this script measures, the
test suite does not depend on it.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_examples(path):
    examples = []
    if not os.path.isfile(path):
        sys.exit(f"{path}: no such file")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON: {e}")
            for field in ("rule", "positive", "text"):
                if field not in row:
                    sys.exit(f"{path}:{n}: missing field `{field}`")
            examples.append(row)
    return examples


def run_json(binary, args):
    proc = subprocess.run([binary, *args], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"`{binary} {' '.join(args)}` exited {proc.returncode}:\n{proc.stderr}")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        sys.exit(f"`{binary} {' '.join(args)}` printed no JSON ({e}):\n{proc.stdout[:500]}")


def our_rule_ids(binary):
    return {r["id"] for r in run_json(binary, ["rules", "list", "--format", "json"])}


def scan(binary, examples):
    """Rule ids reported per example index."""
    with tempfile.TemporaryDirectory(prefix="sg-conformance-") as tmp:
        names = {}
        for i, ex in enumerate(examples):
            name = f"example-{i:05d}.txt"
            names[name] = i
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(ex["text"])
        findings = run_json(binary, ["scan", tmp, "--format", "json"])
    if isinstance(findings, dict):
        findings = findings.get("findings", [])
    reported = collections.defaultdict(set)
    for finding in findings:
        name = os.path.basename(finding["path"])
        if name in names:
            reported[names[name]].add(finding["rule_id"])
    return reported


def pct(n, d):
    return f"{100.0 * n / d:5.1f}%" if d else "    -"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("examples", help="gitleaks-examples.jsonl")
    parser.add_argument(
        "--binary", default=os.path.join(REPO, "target", "release", "secrets-guard")
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--show-misses", type=int, default=0, metavar="N",
        help="print up to N missed positives and N false positives",
    )
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary}: not built (cargo build --release)")

    examples = load_examples(args.examples)
    ours = our_rule_ids(args.binary)
    reported = scan(args.binary, examples)

    per_rule = collections.defaultdict(lambda: collections.Counter())
    totals = collections.Counter()
    misses, false_positives, other_rule_hits = [], [], []
    for i, ex in enumerate(examples):
        rule, hits = ex["rule"], reported.get(i, set())
        c = per_rule[rule]
        if ex["positive"]:
            if ex.get("checksum_invalid"):
                key = "checksum_rejected" if not hits else "checksum_reported"
                c[key] += 1
                totals[key] += 1
                continue
            c["positives"] += 1
            totals["positives"] += 1
            if hits:
                c["found"] += 1
                totals["found"] += 1
            else:
                misses.append(ex)
            if rule in hits:
                c["found_same_id"] += 1
                totals["found_same_id"] += 1
        else:
            c["negatives"] += 1
            totals["negatives"] += 1
            if rule in hits:
                c["false_positives"] += 1
                totals["false_positives"] += 1
                false_positives.append((ex, sorted(hits)))
            elif hits:
                totals["negatives_other_rule"] += 1
                other_rule_hits.append((ex, sorted(hits)))

    no_counterpart = sorted(r for r in per_rule if r not in ours)
    figures = {
        "examples": len(examples),
        "gitleaks_rules": len(per_rule),
        "positives": totals["positives"],
        "found": totals["found"],
        "recall": totals["found"] / totals["positives"] if totals["positives"] else None,
        "found_same_id": totals["found_same_id"],
        "checksum_invalid_rejected": totals["checksum_rejected"],
        "checksum_invalid_reported": totals["checksum_reported"],
        "negatives": totals["negatives"],
        "false_positives_same_rule": totals["false_positives"],
        "negatives_flagged_by_other_rules": totals["negatives_other_rule"],
        "no_counterpart": no_counterpart,
        "per_rule": {
            r: {k: c[k] for k in ("positives", "found", "found_same_id", "negatives",
                                  "false_positives", "checksum_rejected", "checksum_reported")}
            for r, c in sorted(per_rule.items())
        },
    }
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        print()
        return

    print(f"{len(examples)} examples for {len(per_rule)} gitleaks rules; "
          f"{len(ours)} secrets-guard rules")
    print(f"recall on positives: {totals['found']}/{totals['positives']} "
          f"({pct(totals['found'], totals['positives']).strip()}); "
          f"by the rule of the same id: {totals['found_same_id']} "
          f"({pct(totals['found_same_id'], totals['positives']).strip()})")
    print(f"checksum-invalid positives correctly rejected: {totals['checksum_rejected']}/"
          f"{totals['checksum_rejected'] + totals['checksum_reported']}")
    print(f"false positives on negatives (same rule id): {totals['false_positives']}/"
          f"{totals['negatives']}; negatives flagged by another rule: "
          f"{totals['negatives_other_rule']}")
    print()
    print(f"{'gitleaks rule':45} {'found':>9} {'recall':>7} {'same id':>8} {'FP':>6}")
    for rule, c in sorted(per_rule.items()):
        mark = "" if rule in ours else "  (no counterpart)"
        print(f"{rule:45} {c['found']:>4}/{c['positives']:<4} {pct(c['found'], c['positives']):>7} "
              f"{c['found_same_id']:>8} {c['false_positives']:>3}/{c['negatives']:<3}{mark}")
    print()
    print(f"gitleaks rule ids without a secrets-guard rule of the same id ({len(no_counterpart)}):")
    for rule in no_counterpart:
        print(f"  {rule}")
    for title, rows in (("missed positives", [(m, []) for m in misses]),
                        ("false positives", false_positives),
                        ("negatives flagged by another rule", other_rule_hits)):
        if args.show_misses and rows:
            print(f"\n{title} (first {args.show_misses}):")
            for ex, hits in rows[: args.show_misses]:
                text = ex["text"].strip().replace("\n", "\\n")
                print(f"  [{ex['rule']}] {text[:110]}" + (f"  <- {', '.join(hits)}" if hits else ""))


if __name__ == "__main__":
    main()
