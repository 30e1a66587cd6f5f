#!/usr/bin/env python3
"""Scores scanners' reports against the labels written by generate.py.

    bench/labelled/score.py --labels DIR/labels.json \
        --report secrets-guard=sg-json:sg.json \
        --report ripsecrets=ripsecrets:rs.txt \
        --report detect-secrets=detect-secrets:ds.json \
        [--detail secrets-guard] [--markdown table.md]

Report formats: `sg-json` (secrets-guard `scan --format json --show-secrets`), `ripsecrets`
(`ripsecrets --only-matching` lines `path:line:match`), `detect-secrets` (a `detect-secrets
scan --all-files` baseline, whose secrets are SHA-1 hashes), `gitleaks` (a gitleaks JSON
report). Paths are relative to the
scanned tree (a leading `./` or the tree's path is stripped).

Per tool: recall counted two ways (the file's exact secret was reported / any finding on
the file), the share of clean files flagged, and file-level precision (flagged credential
files over all flagged files). `--detail TOOL` adds that tool's misses per provider and
false positives per look-alike class, with each file and what was reported (redacted).
"""

import argparse
import collections
import hashlib
import json
import re
import sys

# A reported piece of a PEM block shorter than this is too weak to count as "the right secret".
MIN_OVERLAP = 12


def norm(s):
    # PEM bodies appear with real newlines in .pem files and as "\n" escapes in JSON.
    return re.sub(r"\s+", "", s.replace("\\n", ""))


def redact(s):
    s = s.strip().replace("\n", "\\n")
    return s[:8] + "…" if len(s) > 8 else "…"


def rel(path, tree):
    path = path.replace("\\", "/")
    if tree and path.startswith(tree.rstrip("/") + "/"):
        path = path[len(tree.rstrip("/")) + 1:]
    while path.startswith("./"):
        path = path[2:]
    return path


def load_sg(path, tree):
    out = collections.defaultdict(list)
    with open(path) as f:
        text = f.read().strip()
    for item in json.loads(text) if text else []:
        out[rel(item["path"], tree)].append({"text": item.get("secret", ""), "rule": item.get("rule_id", "")})
    return out


def load_ripsecrets(path, tree):
    out = collections.defaultdict(list)
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^(.*?):(\d+):(.*)$", line)
            if not m:
                continue
            out[rel(m.group(1), tree)].append({"text": m.group(3), "rule": "ripsecrets"})
    return out


def load_detect_secrets(path, tree):
    out = collections.defaultdict(list)
    with open(path) as f:
        doc = json.load(f)
    for fname, items in doc.get("results", {}).items():
        for item in items:
            out[rel(fname, tree)].append({"sha1": item.get("hashed_secret", ""), "rule": item.get("type", "")})
    return out


def load_gitleaks(path, tree):
    out = collections.defaultdict(list)
    with open(path) as f:
        for item in json.load(f) or []:
            out[rel(item["File"], tree)].append({"text": item.get("Secret", ""), "rule": item.get("RuleID", "")})
    return out


LOADERS = {"gitleaks": load_gitleaks, "sg-json": load_sg, "ripsecrets": load_ripsecrets, "detect-secrets": load_detect_secrets}


def right_secret(label, findings):
    """Whether some finding is the labelled secret (or one of its related secrets)."""
    wanted = [label["secret"]] + label.get("related", [])
    hashes = {hashlib.sha1(w.encode()).hexdigest() for w in wanted}
    wanted_n = [norm(w) for w in wanted]
    for f in findings:
        if "sha1" in f:
            # detect-secrets hashes the matched line of a PEM block, not the block, so any
            # finding on a key file is as close to "the right secret" as it can say.
            if f["sha1"] in hashes or "-----BEGIN" in label["secret"]:
                return True
            continue
        got = norm(f["text"])
        for w, raw in zip(wanted_n, wanted):
            if w and w in got:
                return True
            # A PEM block may be reported by its header or first lines only; any other
            # secret must be reported whole, so a 24-character slice of a longer token
            # found by a looser rule does not count.
            if "-----BEGIN" in raw and len(got) >= MIN_OVERLAP and got in w:
                return True
    return False


def pct(n, d):
    return 100.0 * n / d if d else 0.0


def score(labels, reports):
    creds = {p: v for p, v in labels.items() if v["label"] == "credential"}
    clean = {p: v for p, v in labels.items() if v["label"] == "clean"}
    rows = []
    for name, found in reports.items():
        exact = sum(1 for p, v in creds.items() if right_secret(v, found.get(p, [])))
        anyf = sum(1 for p in creds if found.get(p))
        fp = sum(1 for p in clean if found.get(p))
        unlabelled = sorted(p for p in found if p not in labels)
        rows.append({"tool": name, "exact": exact, "any": anyf, "fp": fp, "creds": len(creds),
                     "clean": len(clean), "precision": pct(anyf, anyf + fp),
                     "unlabelled": unlabelled})
    return rows


def table(rows):
    head = ("| tool | recall (exact secret) | recall (any finding on file) | clean files flagged "
            "| precision (files) |\n|---|---|---|---|---|\n")
    body = "".join(
        f"| {r['tool']} | {pct(r['exact'], r['creds']):.1f}% ({r['exact']}/{r['creds']}) "
        f"| {pct(r['any'], r['creds']):.1f}% ({r['any']}/{r['creds']}) "
        f"| {pct(r['fp'], r['clean']):.1f}% ({r['fp']}/{r['clean']}) | {r['precision']:.1f}% |\n"
        for r in rows)
    return head + body


def by_group(labels, reports, key, label_kind, want_found):
    """Per provider (credentials) or class (clean): how many files each tool got/flagged."""
    groups = collections.defaultdict(list)
    for p, v in labels.items():
        if v["label"] == label_kind:
            groups[v[key]].append(p)
    tools = list(reports)
    head = f"| {key} | files | " + " | ".join(tools) + " |\n|---|---|" + "---|" * len(tools) + "\n"
    lines = []
    for g in sorted(groups):
        cells = []
        for t in tools:
            if want_found:
                n = sum(1 for p in groups[g] if right_secret(labels[p], reports[t].get(p, [])))
            else:
                n = sum(1 for p in groups[g] if reports[t].get(p))
            cells.append(str(n))
        lines.append(f"| {g} | {len(groups[g])} | " + " | ".join(cells) + " |\n")
    return head + "".join(lines)


def detail(labels, found, tool):
    out = [f"\n## {tool}: credential files without the exact secret reported, per provider\n"]
    misses = collections.defaultdict(list)
    for p, v in sorted(labels.items()):
        if v["label"] == "credential" and not right_secret(v, found.get(p, [])):
            misses[v["provider"]].append(p)
    for prov in sorted(misses, key=lambda k: (-len(misses[k]), k)):
        total = sum(1 for v in labels.values() if v.get("provider") == prov)
        out.append(f"- {prov}: {len(misses[prov])}/{total} missed")
        for p in misses[prov]:
            got = ", ".join(f"{f['rule']}={redact(f.get('text', ''))}" for f in found.get(p, []))
            out.append(f"    {p}  secret={redact(labels[p]['secret'])}  reported: {got or 'nothing'}")
    out.append(f"\n## {tool}: clean files flagged, per look-alike class\n")
    fps = collections.defaultdict(list)
    for p, v in sorted(labels.items()):
        if v["label"] == "clean" and found.get(p):
            fps[v["class"]].append(p)
    for cls in sorted(fps, key=lambda k: (-len(fps[k]), k)):
        total = sum(1 for v in labels.values() if v.get("class") == cls)
        out.append(f"- {cls}: {len(fps[cls])}/{total} flagged")
        for p in fps[cls]:
            got = ", ".join(f"{f['rule']}={redact(f.get('text', ''))}" for f in found[p])
            out.append(f"    {p}  reported: {got}")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", required=True)
    ap.add_argument("--tree", default="", help="the scanned tree's path, stripped from report paths")
    ap.add_argument("--report", action="append", default=[], metavar="TOOL=FORMAT:FILE")
    ap.add_argument("--detail", action="append", default=[], metavar="TOOL")
    ap.add_argument("--markdown", help="also write the tables to this file")
    args = ap.parse_args()

    with open(args.labels) as f:
        labels = json.load(f)["files"]
    reports = {}
    for spec in args.report:
        try:
            tool, rest = spec.split("=", 1)
            fmt, path = rest.split(":", 1)
            reports[tool] = LOADERS[fmt](path, args.tree)
        except (ValueError, KeyError) as e:
            print(f"score.py: --report {spec!r}: expected TOOL=FORMAT:FILE with FORMAT one of "
                  f"{', '.join(LOADERS)} ({e})", file=sys.stderr)
            return 2
        except (OSError, json.JSONDecodeError) as e:
            print(f"score.py: {spec}: cannot read the report: {e}", file=sys.stderr)
            return 2

    rows = score(labels, reports)
    text = "## Summary\n\n" + table(rows)
    # Some tools skip dot-files (.env, .npmrc, ...) by default; this table shows what
    # their rules find where they do look.
    visible = {p: v for p, v in labels.items() if not any(c.startswith(".") for c in p.split("/"))}
    text += ("\n### Without dot-files (" + str(len(labels) - len(visible)) + " files left out)\n\n"
             + table(score(visible, reports)))
    for r in rows:
        if r["unlabelled"]:
            text += f"\n{r['tool']} also reported {len(r['unlabelled'])} unlabelled path(s), e.g. {r['unlabelled'][0]}\n"
    text += "\n## Exact-secret recall per provider\n\n" + by_group(labels, reports, "provider", "credential", True)
    text += "\n## Clean files flagged per look-alike class\n\n" + by_group(labels, reports, "class", "clean", False)
    for tool in args.detail:
        if tool in reports:
            text += detail(labels, reports[tool], tool)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
