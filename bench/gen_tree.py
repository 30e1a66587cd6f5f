#!/usr/bin/env python3
"""Generates a deterministic tree of source-like text for bench/scan.sh.

The tree mixes code (Python, JavaScript, TypeScript, Go, Rust, Java), JSON, YAML, Markdown,
.env files, minified bundles, source maps and lockfiles, with the words that make secret
scanners slow (key, token, secret, password, auth, api) at the density real code has them.
A few dozen real-looking secrets are planted: the `examples` of the default rule files, so
every planted secret is one the rules are known to find. The same seed gives the same tree,
byte for byte.

Usage: gen_tree.py --out DIR [--size-mb 200] [--seed 42] [--rules rules/]
"""

import argparse
import json
import os
import random
import string
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11: plant a fixed set instead of the rule examples.
    tomllib = None

IDENT_WORDS = (
    "user account order item cart price total count index value result request response "
    "client server handler config settings cache queue worker job task event message "
    "payload buffer stream reader writer session context state store record entry node "
    "key token secret password auth api credential header retry timeout limit offset"
).split()

CODE_TEMPLATES = {
    "py": [
        "def {f}({a}, {b}=None):",
        "    {a} = {b}.get('{w}', {n})",
        "    if not {a}:",
        "        raise ValueError('missing {w}')",
        "    return {f}({a}, {b})",
        "import {w}",
        "from {w}.{w2} import {F}",
        "class {F}({F2}):",
        "    \"\"\"{F} keeps the {w} for each {w2}.\"\"\"",
        "    api_key = os.environ.get('{W}_API_KEY')",
        "    token = self.session.get_token(scope='{w}')",
        "    password = getpass.getpass('{w} password: ')",
        "    logger.info('refreshing {w} token for %s', {a})",
        "    for {a} in range({n}):",
        "        total += {a} * {n}",
        "# TODO: rotate the {w} secret through the vault, not settings",
    ],
    "js": [
        "function {f}({a}, {b}) {{",
        "  const {a} = await fetch(`/api/{w}/${{{b}}}`);",
        "  if (!{a}.ok) throw new Error('{w} failed');",
        "  return {a}.json();",
        "}}",
        "const {F} = require('{w}');",
        "export const {f} = ({a}) => {a}.map(({b}) => {b}.{w});",
        "  headers: {{ Authorization: `Bearer ${{token}}` }},",
        "  const apiKey = process.env.{W}_API_KEY;",
        "  const secret = config.get('{w}.secret');",
        "  let {a} = {n};",
        "  // the {w} token expires after {n} seconds",
        "  if ({a} > {n}) {{ {b}.push({a}); }}",
        "module.exports = {{ {f}, {F} }};",
    ],
    "go": [
        "func {F}({a} string, {b} int) (*{F2}, error) {{",
        "\tif {a} == \"\" {{",
        "\t\treturn nil, fmt.Errorf(\"missing {w}: %d\", {b})",
        "\t}}",
        "\ttoken := os.Getenv(\"{W}_TOKEN\")",
        "\tapiKey := cfg.APIKey",
        "\treturn &{F2}{{{F}: {a}}}, nil",
        "}}",
        "// {F} returns the {w} secret for the {w2}.",
        "type {F} struct {{ {F2} string `json:\"{w}\"` }}",
        "\tfor i := 0; i < {n}; i++ {{ total += i }}",
    ],
    "rs": [
        "pub fn {f}({a}: &str, {b}: usize) -> Result<{F}, Error> {{",
        "    let {a} = {b}.checked_mul({n}).ok_or(Error::Overflow)?;",
        "    let token = std::env::var(\"{W}_TOKEN\").unwrap_or_default();",
        "    let api_key = config.api_key.clone();",
        "    Ok({F} {{ {a}, {b} }})",
        "}}",
        "/// The {w} key used to sign {w2} requests.",
        "#[derive(Debug, Clone)]",
        "pub struct {F} {{ {a}: String, {b}: u64 }}",
        "    if {a}.is_empty() {{ return Err(Error::Missing(\"{w}\")); }}",
        "use crate::{w}::{F};",
    ],
    "java": [
        "public class {F} extends {F2} {{",
        "    private final String {a};",
        "    private static final String SECRET_KEY_PROPERTY = \"{w}.secret\";",
        "    public {F}(String {a}) {{ this.{a} = {a}; }}",
        "    String token = System.getenv(\"{W}_TOKEN\");",
        "    @Override public int {f}() {{ return {n}; }}",
        "}}",
        "import com.example.{w}.{F};",
        "        // password is read from the {w} keystore",
    ],
    "ts": [
        "export interface {F} {{ {a}: string; {b}?: number; }}",
        "export async function {f}({a}: {F}): Promise<{F2}> {{",
        "  const token = await auth.getToken('{w}');",
        "  const apiKey: string = env.{W}_API_KEY ?? '';",
        "  return client.{f}({{ {a}, token }});",
        "}}",
        "import {{ {F} }} from './{w}';",
        "  private readonly secret = inject({F}Secret);",
    ],
}

YAML_LINES = [
    "{w}:",
    "  {w2}: {n}",
    "  name: {w}-{w2}",
    "  image: registry.example.com/{w}/{w2}:{n}",
    "  env:",
    "    - name: {W}_PASSWORD",
    "      valueFrom: {{ secretKeyRef: {{ name: {w}-secret, key: password }} }}",
    "    - name: {W}_TOKEN",
    "      value: ${{{W}_TOKEN}}",
    "  replicas: {n}",
    "# api key comes from the {w} vault",
]

MD_LINES = [
    "## {F}",
    "",
    "The {w} service keeps a {w2} for each {w}. Set `{W}_API_KEY` before you start it.",
    "Rotate the token every {n} days; never commit the secret itself.",
    "- `{f}`: returns the {w} for a {w2}",
    "See the [{w} guide](https://docs.example.com/{w}/{w2}).",
]

ENV_LINES = [
    "{W}_HOST={w}.internal",
    "{W}_PORT={n}",
    "{W}_API_KEY=",
    "{W}_TOKEN=${{VAULT_{W}_TOKEN}}",
    "{W}_PASSWORD=changeme",
    "# {w} settings",
]

FALLBACK_SECRETS = [
    "GITHUB_TOKEN=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",
    "git clone https://x-access-token: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@github.com/acme/app.git",
]


def ident(rng):
    return rng.choice(IDENT_WORDS) + rng.choice(["", "_" + rng.choice(IDENT_WORDS), str(rng.randrange(10))])


def fill(rng, template):
    w = rng.choice(IDENT_WORDS)
    w2 = rng.choice(IDENT_WORDS)
    return template.format(
        f=ident(rng),
        a=rng.choice(IDENT_WORDS),
        b=rng.choice(IDENT_WORDS) + "s",
        F=w.capitalize() + w2.capitalize(),
        F2=w2.capitalize() + "Base",
        w=w,
        w2=w2,
        W=w.upper(),
        n=rng.randrange(1, 100000),
    )


def line_pool(rng, templates, size):
    return [fill(rng, rng.choice(templates)) for _ in range(size)]


def text_file(rng, pool, target):
    lines = []
    total = 0
    while total < target:
        chunk = rng.choices(pool, k=256)
        lines.extend(chunk)
        total += sum(len(x) + 1 for x in chunk)
    return "\n".join(lines) + "\n"


def json_file(rng, target):
    items = []
    total = 0
    while total < target:
        item = {
            "id": rng.randrange(1 << 40),
            "name": ident(rng),
            "kind": rng.choice(IDENT_WORDS),
            "tokenCount": rng.randrange(5000),
            "secretRef": "vault://" + rng.choice(IDENT_WORDS) + "/" + rng.choice(IDENT_WORDS),
            "tags": rng.sample(IDENT_WORDS, 3),
            "enabled": rng.random() < 0.5,
        }
        items.append(item)
        total += 160
    return json.dumps({"items": items}, indent=2) + "\n"


B64 = string.ascii_letters + string.digits + "+/"


def b64(rng, n):
    return "".join(rng.choices(B64, k=n))


def minified_file(rng, target):
    parts = []
    total = 0
    while total < target:
        p = "function %s(%s,%s){var %s=%s.%s||\"%s\";return %s(%s,%d)}" % (
            ident(rng), "a", "b", "c", "a", rng.choice(IDENT_WORDS), b64(rng, 12), "b", "c", rng.randrange(999))
        parts.append(p)
        total += len(p) + 1
    # A few very long lines, as bundlers emit them.
    out = []
    for i in range(0, len(parts), 400):
        out.append(";".join(parts[i:i + 400]))
    return "\n".join(out) + "\n"


def source_map(rng, target):
    mappings = ";".join(
        ",".join(b64(rng, 4) for _ in range(20)) for _ in range(target // 100)
    )
    return json.dumps({"version": 3, "sources": ["src/app.ts"], "mappings": mappings}) + "\n"


def package_lock(rng, target):
    packages = {}
    total = 0
    while total < target:
        name = ident(rng).replace("_", "-")
        version = "%d.%d.%d" % (rng.randrange(10), rng.randrange(30), rng.randrange(30))
        packages["node_modules/" + name + str(len(packages))] = {
            "version": version,
            "resolved": "https://registry.npmjs.org/%s/-/%s-%s.tgz" % (name, name, version),
            "integrity": "sha512-" + b64(rng, 86) + "==",
            "dev": rng.random() < 0.3,
        }
        total += 330
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages}, indent=2) + "\n"


def cargo_lock(rng, target):
    out = ["version = 3", ""]
    total = 0
    while total < target:
        out.append('[[package]]\nname = "%s"\nversion = "0.%d.%d"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "%s"\n' % (
            ident(rng).replace("_", "-"), rng.randrange(30), rng.randrange(30),
            "".join(rng.choices("0123456789abcdef", k=64))))
        total += 200
    return "\n".join(out)


def planted_secrets(rules_dir):
    texts = []
    if tomllib is not None and os.path.isdir(rules_dir):
        for name in sorted(os.listdir(rules_dir)):
            if not name.endswith(".toml"):
                continue
            with open(os.path.join(rules_dir, name), "rb") as f:
                try:
                    doc = tomllib.load(f)
                except tomllib.TOMLDecodeError:
                    continue
            for rule in doc.get("rules", []):
                for ex in rule.get("examples", [])[:1]:
                    text = ex.get("text") if isinstance(ex, dict) else ex
                    if text and "\n" not in text:
                        texts.append(text)
    return texts or FALLBACK_SECRETS


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--secrets", type=int, default=40)
    ap.add_argument("--rules", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rules"))
    args = ap.parse_args()

    rng = random.Random(args.seed)
    target = int(args.size_mb * 1_000_000)
    pools = {ext: line_pool(rng, t, 4000) for ext, t in CODE_TEMPLATES.items()}
    yaml_pool = line_pool(rng, YAML_LINES, 2000)
    md_pool = line_pool(rng, MD_LINES, 2000)
    env_pool = line_pool(rng, ENV_LINES, 500)

    # (kind, share of bytes, typical file size)
    kinds = [
        ("code", 0.56, 24_000),
        ("json", 0.12, 40_000),
        ("yaml", 0.08, 6_000),
        ("md", 0.05, 8_000),
        ("env", 0.005, 600),
        ("minified", 0.06, 400_000),
        ("map", 0.03, 300_000),
        ("lock", 0.075, 2_000_000),
    ]
    files = []  # (relative path, text)
    written = 0
    n = 0
    for kind, share, typical in kinds:
        budget = share * target
        used = 0
        while used < budget:
            size = max(200, int(rng.lognormvariate(0, 0.6) * typical))
            d = "svc%02d/%s/%s" % (n % 40, rng.choice(IDENT_WORDS), rng.choice(IDENT_WORDS))
            if kind == "code":
                ext = rng.choice(list(pools))
                path, text = "%s/%s%d.%s" % (d, ident(rng), n, ext), text_file(rng, pools[ext], size)
            elif kind == "json":
                path, text = "%s/data%d.json" % (d, n), json_file(rng, size)
            elif kind == "yaml":
                path, text = "%s/deploy%d.yaml" % (d, n), text_file(rng, yaml_pool, size)
            elif kind == "md":
                path, text = "%s/README%d.md" % (d, n), text_file(rng, md_pool, size)
            elif kind == "env":
                path, text = "%s/.env" % d, text_file(rng, env_pool, size)
            elif kind == "minified":
                name = "vendor%d.min.js" % n if n % 2 else "bundle%d.js" % n
                path, text = "%s/dist/%s" % (d, name), minified_file(rng, size)
            elif kind == "map":
                path, text = "%s/dist/bundle%d.js.map" % (d, n), source_map(rng, size)
            else:
                if n % 2:
                    path, text = "app%d/package-lock.json" % n, package_lock(rng, size)
                else:
                    path, text = "crate%d/Cargo.lock" % n, cargo_lock(rng, size)
            files.append([path, text])
            used += len(text)
            n += 1

    # Plant the secrets in code, env and YAML files, one per file, on a line of its own.
    secrets = planted_secrets(args.rules)
    rng.shuffle(secrets)
    plantable = [i for i, (p, _) in enumerate(files) if p.endswith((".py", ".js", ".go", ".rs", ".ts", ".yaml", ".env", ".java"))]
    chosen = rng.sample(plantable, min(args.secrets, len(plantable), len(secrets)))
    for i, secret in zip(chosen, secrets):
        lines = files[i][1].split("\n")
        at = rng.randrange(len(lines))
        lines.insert(at, secret)
        files[i][1] = "\n".join(lines)

    seen = set()
    for path, text in files:
        full = os.path.join(args.out, path)
        if full in seen:
            full = full + ".%d" % len(seen)
        seen.add(full)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)
        written += len(text.encode("utf-8"))
    print("wrote %d files, %.1f MB, %d planted secrets to %s" % (len(seen), written / 1e6, len(chosen), args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
