#!/usr/bin/env python3
"""Writes a labelled detection-quality set: files holding one real-format credential each,
and clean files holding look-alikes (hashes, UUIDs, placeholders, documented examples,
tokens with a wrong checksum, ...), plus labels.json saying which is which.

    bench/labelled/generate.py --out DIR [--seed 7] [--credentials 600] [--clean 600]

The files go under DIR/tree (the directory to scan) and the labels to DIR/labels.json,
outside the scanned tree, since the labels hold every secret in full.

Every credential is generated here from its provider's documented format (prefix, length,
alphabet, checksum) with a seeded RNG, so the same seed always writes the same tree; none
is copied from another scanner's tests or from this repository's rule examples. Real PEM
keys come from `openssl`/`ssh-keygen` when present; they are not seed-determined, so their
bodies change between runs while everything else stays identical.
"""

import argparse
import base64
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import zlib

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = B62
HEX = "0123456789abcdef"
UHEX = "0123456789ABCDEF"
B64URL = B62 + "-_"
B64 = B62 + "+/"
UPPER_DIGITS = string.ascii_uppercase + string.digits
LOWER_DIGITS = string.ascii_lowercase + string.digits
BASE32 = string.ascii_uppercase + "234567"


class Gen:
    """All randomness goes through one seeded RNG so the tree is reproducible."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def s(self, alphabet, n):
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def pick(self, seq):
        return self.rng.choice(seq)

    def digits(self, n):
        return str(self.rng.randint(1, 9)) + self.s(string.digits, n - 1)

    def uuid(self):
        h = self.s(HEX, 32)
        h = h[:12] + "4" + h[13:16] + self.pick("89ab") + h[17:]
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def bytes(self, n):
        return bytes(self.rng.randrange(256) for _ in range(n))

    def password(self):
        # Passwords people actually pick for services: words, digits, symbols, 12-24 chars.
        words = ["river", "Falcon", "amber", "Quartz", "tundra", "Maple", "orbit", "Copper",
                 "saffron", "Nimbus", "harbor", "Velvet", "cobalt", "Juniper", "ember"]
        style = self.rng.randrange(3)
        if style == 0:
            return self.s(ALNUM + "!@#%^*-_", self.rng.randint(16, 24))
        if style == 1:
            return (self.pick(words) + self.pick("!#%*-_.") + self.pick(words)
                    + str(self.rng.randint(10, 9999)) + self.pick("!#%*?"))
        return self.s(ALNUM, self.rng.randint(20, 32))


def b62_crc32(data: str) -> str:
    value = zlib.crc32(data.encode()) & 0xFFFFFFFF
    out = []
    for _ in range(6):
        out.append(B62[value % 62])
        value //= 62
    return "".join(reversed(out))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def crc_token(g, prefix, n=30):
    body = g.s(B62, n)
    return prefix + body + b62_crc32(body)


def bad_crc_token(g, prefix, n=30):
    body = g.s(B62, n)
    good = b62_crc32(body)
    bad = good
    while bad == good:
        bad = g.s(B62, 6)
    return prefix + body + bad


# --- bech32 (age identities) -------------------------------------------------------------

BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def bech32_encode(hrp, data: bytes):
    acc, bits, five = 0, 0, []
    for b in data:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    hrp_exp = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    poly = _polymod(hrp_exp + five + [0] * 6) ^ 1
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32[d] for d in five + checksum)


# --- PyPI macaroon v2 --------------------------------------------------------------------

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _packet(t, body):
    return _varint(t) + _varint(len(body)) + body


def pypi_token(g):
    m = b"\x02" + _packet(1, b"pypi.org") + _packet(2, g.uuid().encode()) + b"\x00"
    caveat = json.dumps({"version": 1, "permissions": {"projects": [g.pick(
        ["acme-utils", "fastgrid", "tinyhttp", "dataspool"])]}}).encode()
    m += _packet(2, caveat) + b"\x00" + b"\x00" + _packet(6, g.bytes(32))
    return "pypi-" + b64url(m)


# --- real keys from the system tools -----------------------------------------------------

class Keys:
    """Real private keys from openssl/ssh-keygen, or structurally valid PEM bodies."""

    def __init__(self, g):
        self.g = g
        self.tmp = tempfile.mkdtemp(prefix="sg-labelled-keys-")
        self.have_openssl = shutil.which("openssl") is not None
        self.have_ssh = shutil.which("ssh-keygen") is not None

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _fallback(self, header, nbytes):
        body = base64.b64encode(b"\x30\x82" + self.g.bytes(nbytes)).decode()
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return f"-----BEGIN {header}-----\n" + "\n".join(lines) + f"\n-----END {header}-----\n"

    def _run(self, args, out):
        try:
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(out) as f:
                return f.read()
        except (OSError, subprocess.CalledProcessError):
            return None

    def rsa(self):
        out = os.path.join(self.tmp, "rsa.pem")
        pem = None
        if self.have_openssl:
            # PKCS#1 ("BEGIN RSA PRIVATE KEY"): `-traditional` on OpenSSL 3, the default before.
            pem = (self._run(["openssl", "genrsa", "-traditional", "-out", out, "2048"], out)
                   or self._run(["openssl", "genrsa", "-out", out, "2048"], out))
        return pem or self._fallback("RSA PRIVATE KEY", 1190)

    def pkcs8(self):
        out = os.path.join(self.tmp, "p8.pem")
        pem = None
        if self.have_openssl:
            pem = self._run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                             "rsa_keygen_bits:2048", "-out", out], out)
        return pem or self._fallback("PRIVATE KEY", 1210)

    def ec(self):
        out = os.path.join(self.tmp, "ec.pem")
        pem = None
        if self.have_openssl:
            pem = self._run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                             "-out", out], out)
        return pem or self._fallback("EC PRIVATE KEY", 117)

    def openssh(self):
        out = os.path.join(self.tmp, "id_ed25519")
        for p in (out, out + ".pub"):
            if os.path.exists(p):
                os.remove(p)
        pem = None
        if self.have_ssh:
            pem = self._run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploy@ci",
                             "-f", out], out)
        return pem or self._fallback("OPENSSH PRIVATE KEY", 300)


# --- credential providers ----------------------------------------------------------------
# Each returns (value written in the file, the secret itself, related secrets in the same
# file, variable name). The value differs from the secret for connection strings and URLs.

def P(name, var, make, contexts=None):
    return {"name": name, "var": var, "make": make, "contexts": contexts}


TOKEN_CTX = ["python", "js", "go", "yaml", "json", "env", "shell", "docker", "terraform",
             "properties", "curl", "log", "toml", "xml", "java", "markdown"]


def simple(fn):
    return lambda g: (fn(g), None, [])


def aws_pair(g):
    # The id is a provider of its own below; this file holds the secret half alone.
    secret = g.s(B64, 40)
    return secret, secret, []


def twilio(g):
    tok = g.s(HEX, 32)
    return tok, tok, []


def alibaba(g):
    sec = g.s(ALNUM, 30)
    return sec, sec, []


def azure_conn(g):
    key = base64.b64encode(g.bytes(64)).decode()
    acct = g.pick(["prodassets", "billingstore", "logsarchive", "mediaprod"]) + g.s(LOWER_DIGITS, 4)
    value = (f"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={key};"
             "EndpointSuffix=core.windows.net")
    return value, key, []


def url_cred(g):
    scheme, port = g.pick([("postgres", 5432), ("postgresql", 5432), ("mysql", 3306),
                           ("mongodb+srv", None), ("redis", 6379), ("amqp", 5672)])
    user = g.pick(["app", "billing_svc", "api", "orders", "admin", "etl"])
    pw = g.s(ALNUM, g.rng.randint(16, 28))
    host = g.pick(["db.internal.acme.io", "prod-pg.c9x2.eu-west-1.rds.amazonaws.com",
                   "cluster0.ab12c.mongodb.net", "cache.prod.svc", "mq.acme.net"])
    hostport = host if port is None else f"{host}:{port}"
    return f"{scheme}://{user}:{pw}@{hostport}/{g.pick(['app', 'orders', 'main', '0'])}", pw, []


def jwt(g):
    header = b64url(json.dumps({"alg": g.pick(["HS256", "RS256"]), "typ": "JWT"},
                               separators=(",", ":")).encode())
    iat = 1760000000 + g.rng.randrange(10_000_000)
    payload = b64url(json.dumps({"sub": g.uuid(), "role": g.pick(["service", "admin", "user"]),
                                 "iss": "https://auth.acme.io", "iat": iat, "exp": iat + 86400 * 365},
                                separators=(",", ":")).encode())
    sig = b64url(g.bytes(g.pick([32, 256])))
    return f"{header}.{payload}.{sig}"


def github_pat_fine(g):
    return "github_pat_11" + g.s(UPPER_DIGITS, 20) + "_" + g.s(ALNUM, 59)


def sendgrid(g):
    return "SG." + g.s(B64URL, 22) + "." + g.s(B64URL, 43)


def openai(g):
    kind = g.pick(["proj", "svcacct", "proj"])
    return f"sk-{kind}-" + g.s(B64URL, 74) + "T3BlbkFJ" + g.s(B64URL, 74)


def anthropic(g):
    return "sk-ant-api03-" + g.s(B64URL, 93) + "AA"


def slack_webhook(g):
    return (f"https://hooks.slack.com/services/T{g.s(UPPER_DIGITS, 8)}/B{g.s(UPPER_DIGITS, 10)}/"
            + g.s(ALNUM, 24))


def discord_webhook(g):
    return f"https://discord.com/api/webhooks/{g.digits(19)}/" + g.s(B64URL, 68)


def teams_webhook(g):
    return (f"https://acme.webhook.office.com/webhookb2/{g.uuid()}@{g.uuid()}/IncomingWebhook/"
            f"{g.s(HEX, 32)}/{g.uuid()}")


def grafana_cloud(g):
    body = json.dumps({"o": g.digits(6), "n": "ci-deploy", "k": g.s(ALNUM, 24),
                       "m": {"r": "prod-eu-west-0"}}, separators=(",", ":")).encode()
    return "glc_" + base64.b64encode(body).decode().rstrip("=")


def mapbox(g):
    body = b64url(json.dumps({"u": "acme-maps", "a": g.s(LOWER_DIGITS, 25)},
                             separators=(",", ":")).encode())
    return "sk." + body + "." + g.s(B64URL, 22)


def onepassword(g):
    body = json.dumps({"signInAddress": "acme.1password.com", "userAuth": {"method": "SRPg-4096",
                       "alg": "PBES2g-HS256", "iterations": 650000, "salt": g.s(B64URL, 22)},
                       "email": f"{g.s(LOWER_DIGITS, 12)}@1passwordserviceaccounts.com",
                       "srpX": g.s(HEX, 64), "muk": {"alg": "A256GCM", "ext": True,
                       "k": g.s(B64URL, 43), "key_ops": ["encrypt", "decrypt"], "kty": "oct",
                       "kid": "mp"}, "secretKey": "A3-" + g.s(UPPER_DIGITS, 6) + "-"
                       + g.s(UPPER_DIGITS, 26), "throttleSecret": {"seed": g.s(HEX, 64),
                       "deviceUuid": g.s(LOWER_DIGITS, 26)}, "deviceUuid": g.s(LOWER_DIGITS, 26)},
                      separators=(",", ":")).encode()
    return "ops_" + base64.b64encode(body).decode().rstrip("=")


def age_key(g):
    return bech32_encode("age-secret-key-", g.bytes(32)).upper()


def password_assign(g):
    return g.password()


PROVIDERS = [
    P("aws", "AWS_SECRET_ACCESS_KEY", aws_pair),
    P("aws-access-key-id", "AWS_ACCESS_KEY_ID", simple(lambda g: "AKIA" + g.s(BASE32, 16))),
    P("github-pat", "GITHUB_TOKEN", simple(lambda g: crc_token(g, "ghp_"))),
    P("github-oauth", "GH_OAUTH_TOKEN", simple(lambda g: crc_token(g, "gho_"))),
    P("github-app", "GITHUB_APP_TOKEN", simple(lambda g: crc_token(g, "ghs_"))),
    P("github-fine-grained", "GITHUB_PAT", simple(github_pat_fine)),
    P("gitlab", "GITLAB_TOKEN", simple(lambda g: "glpat-" + g.s(B64URL, 20))),
    P("slack-bot", "SLACK_BOT_TOKEN",
      simple(lambda g: f"xoxb-{g.digits(12)}-{g.digits(13)}-{g.s(ALNUM, 24)}")),
    P("slack-user", "SLACK_USER_TOKEN",
      simple(lambda g: f"xoxp-{g.digits(12)}-{g.digits(12)}-{g.digits(13)}-{g.s(HEX, 32)}")),
    P("slack-webhook", "SLACK_WEBHOOK_URL", simple(slack_webhook)),
    P("stripe-secret", "STRIPE_SECRET_KEY", simple(lambda g: "sk_live_51" + g.s(ALNUM, 97))),
    P("stripe-restricted", "STRIPE_RESTRICTED_KEY", simple(lambda g: "rk_live_51" + g.s(ALNUM, 97))),
    P("stripe-webhook", "STRIPE_WEBHOOK_SECRET", simple(lambda g: "whsec_" + g.s(ALNUM, 32))),
    P("twilio", "TWILIO_AUTH_TOKEN", twilio),
    P("twilio-api-key", "TWILIO_API_KEY", simple(lambda g: "SK" + g.s(HEX, 32))),
    P("sendgrid", "SENDGRID_API_KEY", simple(sendgrid)),
    P("openai", "OPENAI_API_KEY", simple(openai)),
    P("anthropic", "ANTHROPIC_API_KEY", simple(anthropic)),
    P("huggingface", "HF_TOKEN", simple(lambda g: "hf_" + g.s(string.ascii_letters, 34))),
    P("npm", "NPM_TOKEN", simple(lambda g: crc_token(g, "npm_"))),
    P("pypi", "PYPI_TOKEN", simple(pypi_token)),
    P("docker-hub", "DOCKERHUB_TOKEN", simple(lambda g: "dckr_pat_" + g.s(B64URL, 27))),
    P("digitalocean", "DIGITALOCEAN_TOKEN", simple(lambda g: "dop_v1_" + g.s(HEX, 64))),
    P("shopify", "SHOPIFY_ACCESS_TOKEN", simple(lambda g: "shpat_" + g.s(HEX, 32))),
    P("square", "SQUARE_ACCESS_TOKEN", simple(lambda g: "EAAA" + g.s(B64URL, 60))),
    P("mailgun", "MAILGUN_API_KEY", simple(lambda g: "key-" + g.s(HEX, 32))),
    P("mailchimp", "MAILCHIMP_API_KEY",
      simple(lambda g: g.s(HEX, 32) + "-us" + str(g.rng.randint(1, 21)))),
    P("datadog", "DATADOG_API_KEY", simple(lambda g: g.s(HEX, 32))),
    P("sentry", "SENTRY_AUTH_TOKEN", simple(lambda g: "sntryu_" + g.s(HEX, 64))),
    P("grafana-cloud", "GRAFANA_CLOUD_TOKEN", simple(grafana_cloud)),
    P("grafana-service-account", "GRAFANA_TOKEN",
      simple(lambda g: "glsa_" + g.s(ALNUM, 32) + "_" + g.s(HEX, 8))),
    P("vault", "VAULT_TOKEN", simple(lambda g: "hvs." + g.s(B64URL, 90))),
    P("doppler", "DOPPLER_TOKEN", simple(lambda g: "dp.pt." + g.s(ALNUM, 43))),
    P("databricks", "DATABRICKS_TOKEN", simple(lambda g: "dapi" + g.s(HEX, 32))),
    P("linear", "LINEAR_API_KEY", simple(lambda g: "lin_api_" + g.s(ALNUM, 40))),
    P("notion", "NOTION_TOKEN", simple(lambda g: "ntn_" + g.digits(11) + g.s(ALNUM, 35))),
    P("atlassian", "ATLASSIAN_API_TOKEN",
      simple(lambda g: "ATATT3xFfGF0" + g.s(B64URL, 171) + "=" + g.s(UHEX, 8))),
    P("postman", "POSTMAN_API_KEY", simple(lambda g: "PMAK-" + g.s(HEX, 24) + "-" + g.s(HEX, 34))),
    P("azure-storage", "AZURE_STORAGE_CONNECTION_STRING", azure_conn, ["json", "env", "yaml", "properties"]),
    P("azure-ad-client-secret", "AZURE_CLIENT_SECRET",
      simple(lambda g: g.s(ALNUM, 3) + str(g.rng.randint(0, 9)) + "Q~" + g.s(ALNUM + "_~.-", 34))),
    P("gcp-api-key", "GOOGLE_API_KEY", simple(lambda g: "AIzaSy" + g.s(B64URL, 33))),
    P("google-oauth-secret", "GOOGLE_CLIENT_SECRET", simple(lambda g: "GOCSPX-" + g.s(B64URL, 28))),
    P("alibaba", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", alibaba),
    P("heroku", "HEROKU_API_KEY", simple(lambda g: "HRKU-AA" + g.s(B64URL, 58))),
    P("netlify", "NETLIFY_AUTH_TOKEN", simple(lambda g: "nfp_" + g.s(ALNUM, 36))),
    P("bitbucket", "BITBUCKET_APP_PASSWORD", simple(lambda g: "ATBB" + g.s(ALNUM, 24) + g.s(UHEX, 8))),
    P("discord-webhook", "DISCORD_WEBHOOK_URL", simple(discord_webhook)),
    P("telegram", "TELEGRAM_BOT_TOKEN",
      simple(lambda g: g.digits(10) + ":AA" + g.s(B64URL, 33))),
    P("teams-webhook", "TEAMS_WEBHOOK_URL", simple(teams_webhook)),
    P("sendinblue", "BREVO_API_KEY", simple(lambda g: "xkeysib-" + g.s(HEX, 64) + "-" + g.s(ALNUM, 16))),
    P("braintree", "BRAINTREE_ACCESS_TOKEN",
      simple(lambda g: "access_token$production$" + g.s(LOWER_DIGITS, 16) + "$" + g.s(HEX, 32))),
    P("flutterwave", "FLW_SECRET_KEY", simple(lambda g: "FLWSECK-" + g.s(HEX, 32) + "-X")),
    P("new-relic", "NEW_RELIC_API_KEY", simple(lambda g: "NRAK-" + g.s(UPPER_DIGITS, 27))),
    P("dynatrace", "DT_API_TOKEN",
      simple(lambda g: "dt0c01." + g.s(UPPER_DIGITS, 24) + "." + g.s(UPPER_DIGITS, 64))),
    P("1password", "OP_SERVICE_ACCOUNT_TOKEN", simple(onepassword)),
    P("sonarqube", "SONAR_TOKEN", simple(lambda g: "squ_" + g.s(HEX, 40))),
    P("pulumi", "PULUMI_ACCESS_TOKEN", simple(lambda g: "pul-" + g.s(HEX, 40))),
    P("terraform-cloud", "TFE_TOKEN",
      simple(lambda g: g.s(ALNUM, 14) + ".atlasv1." + g.s(ALNUM, 67))),
    P("rubygems", "GEM_HOST_API_KEY", simple(lambda g: "rubygems_" + g.s(HEX, 48))),
    P("nuget", "NUGET_API_KEY", simple(lambda g: "oy2" + g.s(LOWER_DIGITS, 43))),
    P("crates-io", "CARGO_REGISTRY_TOKEN", simple(lambda g: "cio" + g.s(ALNUM, 32))),
    P("artifactory", "ARTIFACTORY_API_KEY", simple(lambda g: "AKCp8" + g.s(ALNUM, 68))),
    P("age", "SOPS_AGE_KEY", simple(age_key)),
    P("tailscale", "TS_AUTHKEY",
      simple(lambda g: "tskey-auth-k" + g.s(ALNUM, 11) + "CNTRL-" + g.s(ALNUM, 33))),
    P("planetscale", "PLANETSCALE_SERVICE_TOKEN", simple(lambda g: "pscale_tkn_" + g.s(B64URL, 43))),
    P("supabase", "SUPABASE_ACCESS_TOKEN", simple(lambda g: "sbp_" + g.s(HEX, 40))),
    P("groq", "GROQ_API_KEY", simple(lambda g: "gsk_" + g.s(ALNUM, 52))),
    P("xai", "XAI_API_KEY", simple(lambda g: "xai-" + g.s(ALNUM, 80))),
    P("perplexity", "PERPLEXITY_API_KEY", simple(lambda g: "pplx-" + g.s(ALNUM, 48))),
    P("replicate", "REPLICATE_API_TOKEN", simple(lambda g: "r8_" + g.s(ALNUM, 37))),
    P("langsmith", "LANGSMITH_API_KEY",
      simple(lambda g: "lsv2_pt_" + g.s(HEX, 32) + "_" + g.s(HEX, 10))),
    P("mapbox", "MAPBOX_SECRET_TOKEN", simple(mapbox)),
    P("figma", "FIGMA_TOKEN", simple(lambda g: "figd_" + g.s(B64URL, 40))),
    P("airtable", "AIRTABLE_TOKEN", simple(lambda g: "pat" + g.s(ALNUM, 14) + "." + g.s(HEX, 64))),
    P("hubspot", "HUBSPOT_ACCESS_TOKEN", simple(lambda g: "pat-na1-" + g.uuid())),
    P("easypost", "EASYPOST_API_KEY", simple(lambda g: "EZAK" + g.s(ALNUM, 54))),
    P("shippo", "SHIPPO_API_TOKEN", simple(lambda g: "shippo_live_" + g.s(HEX, 40))),
    P("duffel", "DUFFEL_ACCESS_TOKEN", simple(lambda g: "duffel_live_" + g.s(B64URL, 43))),
    P("jwt", "AUTH_TOKEN", simple(jwt)),
    P("url-credentials", "DATABASE_URL", url_cred, ["python", "js", "yaml", "json", "env", "shell",
                                                    "docker", "properties", "toml", "log"]),
    P("password", "password", simple(password_assign), ["python", "js", "yaml", "json",
                                                        "properties", "toml", "terraform", "go",
                                                        "xml", "java"]),
    P("secrets-guard", "SECRETS_GUARD_API_KEY",
      simple(lambda g: crc_token(g, "sgk_" + g.pick(["prod", "qa", "dev", "prod"]) + "_", 32))),
    # Credentials with no provider prefix, known only by their name or file shape.
    P("django-secret-key", "SECRET_KEY",
      simple(lambda g: g.s(string.ascii_lowercase + string.digits + "!@#$%^&*(-_=+)", 50)),
      ["python", "env", "yaml", "docker"]),
    P("rails-secret-key-base", "SECRET_KEY_BASE", simple(lambda g: g.s(HEX, 128)),
      ["env", "yaml", "shell", "docker"]),
    P("generic-api-key", "API_KEY", simple(lambda g: g.s(ALNUM, g.pick([32, 40]))), TOKEN_CTX),
    P("jwt-signing-secret", "JWT_SECRET", simple(lambda g: g.s(ALNUM + "-_", 48)),
      ["env", "js", "yaml", "properties", "python"]),
    P("encryption-key", "ENCRYPTION_KEY", simple(lambda g: base64.b64encode(g.bytes(32)).decode()),
      ["env", "yaml", "json", "python", "properties"]),
    P("client-secret", "OAUTH_CLIENT_SECRET", simple(lambda g: g.s(B64URL, 40)),
      ["env", "yaml", "json", "properties", "js", "terraform"]),
    P("netrc", None, None), P("pgpass", None, None), P("basic-auth-header", None, None),
    P("php-db-password", None, None), P("kubeconfig-token", None, None),
    P("redis-requirepass", None, None), P("spring-mail-password", None, None),
    # Special-context providers (their own file shapes, below).
    P("npmrc", None, None), P("gcp-service-account", None, None), P("private-key-rsa", None, None),
    P("private-key-ec", None, None), P("private-key-openssh", None, None),
    P("private-key-pkcs8", None, None), P("curl-basic-auth", None, None),
    P("docker-config-auth", None, None), P("pypirc", None, None),
]


# --- file contexts -----------------------------------------------------------------------

def camel(var):
    parts = var.lower().split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def dotted(var):
    return var.lower().replace("_", ".")


def ctx_python(g, var, value):
    return "settings.py", f'''"""Service settings, loaded once at start-up."""
import logging
import os

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
REQUEST_TIMEOUT = {g.rng.randint(5, 60)}
{var} = "{value}"

logger = logging.getLogger(__name__)


def client_headers():
    return {{"User-Agent": "acme-sync/{g.rng.randint(1, 9)}.{g.rng.randint(0, 20)}"}}
'''


def ctx_js(g, var, value):
    return "config.js", f'''// Runtime configuration for the worker.
const path = require('path');

module.exports = {{
  port: {g.rng.randint(3000, 9000)},
  dataDir: path.join(__dirname, 'data'),
  {camel(var)}: '{value}',
  retries: {g.rng.randint(1, 5)},
}};
'''


def ctx_go(g, var, value):
    return "client.go", f'''package integrations

import (
	"net/http"
	"time"
)

const {camel(var)} = "{value}"

func newClient() *http.Client {{
	return &http.Client{{Timeout: {g.rng.randint(5, 30)} * time.Second}}
}}
'''


def ctx_yaml(g, var, value):
    return "config.yaml", f'''service:
  name: {g.pick(["billing", "ingest", "notifier", "reports"])}
  replicas: {g.rng.randint(1, 6)}
integrations:
  {var.lower()}: "{value}"
  timeout_seconds: {g.rng.randint(5, 60)}
'''


def ctx_json(g, var, value):
    return "appsettings.json", json.dumps({
        "Logging": {"LogLevel": {"Default": "Information"}},
        "Service": {"Name": g.pick(["orders", "search", "auth-gateway"]), "Port": g.rng.randint(3000, 9000)},
        "Integrations": {camel(var): value},
    }, indent=2) + "\n"


def ctx_env(g, var, value):
    return ".env", (f"NODE_ENV=production\nPORT={g.rng.randint(3000, 9000)}\n{var}={value}\n"
                    f"LOG_FORMAT=json\n")


def ctx_shell(g, var, value):
    return "deploy.sh", f'''#!/usr/bin/env bash
set -euo pipefail
export REGION="{g.pick(["eu-west-1", "us-east-1", "ap-southeast-2"])}"
export {var}="{value}"
./bin/release --region "$REGION"
'''


def ctx_docker(g, var, value):
    return "Dockerfile", f'''FROM python:3.{g.rng.randint(10, 13)}-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
ENV {var}={value}
COPY . .
CMD ["python", "-m", "app"]
'''


def ctx_terraform(g, var, value):
    return "main.tf", f'''resource "kubernetes_secret" "integration" {{
  metadata {{
    name      = "{g.pick(["billing", "ingest", "notifier"])}-credentials"
    namespace = "production"
  }}

  data = {{
    {var.lower()} = "{value}"
  }}
}}
'''


def ctx_properties(g, var, value):
    return "application.properties", (f"server.port={g.rng.randint(8000, 9000)}\n"
                                      f"spring.application.name=orders\n{dotted(var)}={value}\n"
                                      "management.endpoints.web.exposure.include=health\n")


def ctx_toml(g, var, value):
    return "config.toml", f'''[server]
port = {g.rng.randint(3000, 9000)}

[integrations]
{var.lower()} = "{value}"
'''


def ctx_curl(g, var, value):
    return "call_api.sh", f'''#!/bin/sh
# Refreshes the nightly export.
curl -sS -X POST "https://api.{g.pick(["acme.io", "partner.net", "vendor.com"])}/v1/exports" \\
  -H "Authorization: Bearer {value}" \\
  -H "Content-Type: application/json" \\
  -d '{{"window": "24h"}}'
'''


def ctx_log(g, var, value):
    ts = f"2026-11-{g.rng.randint(10, 26):02d}T{g.rng.randint(0, 23):02d}:{g.rng.randint(0, 59):02d}:07Z"
    return "app.log", (f"{ts} INFO  starting worker pid={g.rng.randint(100, 40000)}\n"
                       f"{ts} DEBUG loaded environment {var}={value}\n"
                       f"{ts} INFO  connected to queue jobs-{g.rng.randint(1, 9)}\n")


def ctx_xml(g, var, value):
    return "web.config", f'''<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <appSettings>
    <add key="Environment" value="Production" />
    <add key="{camel(var)}" value="{value}" />
  </appSettings>
</configuration>
'''


def ctx_java(g, var, value):
    return "ApiConfig.java", f'''package com.acme.integrations;

public final class ApiConfig {{
    static final int TIMEOUT_MS = {g.rng.randint(1000, 30000)};
    static final String {var} = "{value}";

    private ApiConfig() {{}}
}}
'''


def ctx_markdown(g, var, value):
    # Tokens pasted into docs and tickets are a common real leak.
    return "NOTES.md", (f"# Staging access\n\nAsk #platform before rotating. Current "
                        f"`{var}`:\n\n```\n{value}\n```\n")


CONTEXTS = {
    "xml": ctx_xml, "java": ctx_java, "markdown": ctx_markdown,
    "python": ctx_python, "js": ctx_js, "go": ctx_go, "yaml": ctx_yaml, "json": ctx_json,
    "env": ctx_env, "shell": ctx_shell, "docker": ctx_docker, "terraform": ctx_terraform,
    "properties": ctx_properties, "toml": ctx_toml, "curl": ctx_curl, "log": ctx_log,
}


def special(g, keys, name):
    """Providers whose credential lives in a file shape of its own."""
    if name == "npmrc":
        tok = crc_token(g, "npm_")
        return ".npmrc", f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={tok}\n", tok, []
    if name == "gcp-service-account":
        pem = keys.pkcs8()
        project = g.pick(["acme-prod", "billing-471203", "data-lake-prod"])
        doc = {"type": "service_account", "project_id": project,
               "private_key_id": g.s(HEX, 40), "private_key": pem,
               "client_email": f"deployer@{project}.iam.gserviceaccount.com",
               "client_id": g.digits(21), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
               "token_uri": "https://oauth2.googleapis.com/token"}
        return "service-account.json", json.dumps(doc, indent=2) + "\n", pem, []
    if name.startswith("private-key-"):
        kind = name[len("private-key-"):]
        pem = {"rsa": keys.rsa, "ec": keys.ec, "openssh": keys.openssh, "pkcs8": keys.pkcs8}[kind]()
        fname = {"rsa": "server.key", "ec": "signing-key.pem", "openssh": "id_ed25519",
                 "pkcs8": "tls.key"}[kind]
        return fname, pem, pem, []
    if name == "curl-basic-auth":
        user = g.pick(["deploy", "ci-bot", "admin", "reporter"])
        pw = g.s(ALNUM, g.rng.randint(16, 24))
        text = (f"#!/bin/sh\ncurl -fsSL -u {user}:{pw} "
                f"https://jenkins.acme.io/job/release/buildWithParameters?TAG=v{g.rng.randint(1, 9)}.0\n")
        return "trigger.sh", text, pw, []
    if name == "docker-config-auth":
        user = g.pick(["deploybot", "ci", "acme-release"])
        pw = g.password()
        auth = base64.b64encode(f"{user}:{pw}".encode()).decode()
        doc = {"auths": {g.pick(["https://index.docker.io/v1/", "ghcr.io", "registry.acme.io"]):
                         {"auth": auth}}}
        return "config.json", json.dumps(doc, indent=2) + "\n", auth, [pw]
    if name == "pypirc":
        tok = pypi_token(g)
        return ".pypirc", f"[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = {tok}\n", tok, []
    if name == "netrc":
        tok = g.s(HEX, 8) + "-" + g.s(HEX, 4) + "-" + g.s(HEX, 4) + "-" + g.s(HEX, 4) + "-" + g.s(HEX, 12)
        host = g.pick(["api.heroku.com", "git.acme.io", "artifacts.acme.net"])
        return ".netrc", f"machine {host}\n  login deploy@acme.io\n  password {tok}\n", tok, []
    if name == "pgpass":
        pw = g.s(ALNUM, g.rng.randint(18, 26))
        host = g.pick(["db.internal.acme.io", "10.0.3.17", "pg-primary.prod.svc"])
        return ".pgpass", f"{host}:5432:orders:orders_rw:{pw}\n", pw, []
    if name == "basic-auth-header":
        user = g.pick(["svc-export", "partner-api", "reporting"])
        pw = g.s(ALNUM, g.rng.randint(16, 24))
        b = base64.b64encode(f"{user}:{pw}".encode()).decode()
        ts = f"2026-11-{g.rng.randint(10, 26):02d}T0{g.rng.randint(0, 9)}:1{g.rng.randint(0, 9)}:44Z"
        text = (f"{ts} DEBUG http.client send: b'GET /v2/invoices HTTP/1.1\\r\\nHost: api.partner.net"
                f"\\r\\nAuthorization: Basic {b}\\r\\n\\r\\n'\n{ts} DEBUG http.client reply: 'HTTP/1.1 200 OK'\n")
        return "requests.log", text, b, [pw]
    if name == "php-db-password":
        pw = g.password()
        text = ("<?php\ndefine( 'DB_NAME', 'wordpress' );\ndefine( 'DB_USER', 'wp_prod' );\n"
                f"define( 'DB_PASSWORD', '{pw}' );\ndefine( 'DB_HOST', 'localhost' );\n")
        return "wp-config.php", text, pw, []
    if name == "kubeconfig-token":
        tok = jwt(g)
        text = ("apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n"
                "    server: https://10.0.0.1:6443\nusers:\n- name: ci\n  user:\n"
                f"    token: {tok}\ncontexts:\n- name: prod\n  context: {{cluster: prod, user: ci}}\n")
        return "kubeconfig", text, tok, []
    if name == "redis-requirepass":
        pw = g.s(ALNUM, g.rng.randint(24, 40))
        return "redis.conf", f"bind 0.0.0.0\nport 6379\nrequirepass {pw}\nmaxmemory 2gb\n", pw, []
    if name == "spring-mail-password":
        pw = g.password()
        text = ("spring.mail.host=smtp.acme.io\nspring.mail.port=587\n"
                f"spring.mail.username=noreply@acme.io\nspring.mail.password={pw}\n")
        return "application-prod.properties", text, pw, []
    raise ValueError(name)


# --- clean look-alikes -------------------------------------------------------------------

def clean_files(g):
    """(class, filename, text) makers. Each holds no usable credential."""

    def sha1_changelog():
        lines = [f"- {g.s(HEX, 40)} {g.pick(['fix', 'feat', 'chore'])}: {g.pick(['retry on 503', 'bump deps', 'new exporter', 'drop py3.8'])}"
                 for _ in range(g.rng.randint(3, 8))]
        return "CHANGELOG.md", "## Unreleased\n\n" + "\n".join(lines) + "\n"

    def git_commit_ids():
        return "deploy-history.yaml", "".join(
            f"- env: production\n  commit: {g.s(HEX, 40)}\n  deployed_at: 2026-10-{g.rng.randint(10, 30)}\n"
            for _ in range(g.rng.randint(2, 5)))

    def sha256_sums():
        return "SHA256SUMS", "".join(f"{g.s(HEX, 64)}  acme-cli-{v}-linux-amd64.tar.gz\n"
                                     for v in ["1.4.0", "1.4.1", "1.5.0"])

    def md5_etag():
        return "objects.json", json.dumps([{"key": f"reports/{g.s(LOWER_DIGITS, 8)}.csv",
                                            "etag": g.s(HEX, 32), "size": g.rng.randint(100, 99999)}
                                           for _ in range(3)], indent=2) + "\n"

    def docker_digest():
        return "Dockerfile", (f"FROM python:3.12-slim@sha256:{g.s(HEX, 64)}\n"
                              f"ARG TINI_SHA256={g.s(HEX, 64)}\nRUN echo \"$TINI_SHA256  /tini\" | sha256sum -c -\n")

    def uuids():
        return "fixtures.json", json.dumps({"tenant_id": g.uuid(), "request_id": g.uuid(),
                                            "correlation_id": g.uuid(), "items": [g.uuid() for _ in range(3)]},
                                           indent=2) + "\n"

    def base64_image():
        data = base64.b64encode(b"\x89PNG\r\n\x1a\n" + g.bytes(g.rng.randint(60, 300))).decode()
        return "icons.css", f".icon-{g.s(string.ascii_lowercase, 5)} {{\n  background-image: url(data:image/png;base64,{data});\n}}\n"

    def base64_data():
        data = base64.b64encode(g.bytes(g.rng.randint(48, 200))).decode()
        return "payload.json", json.dumps({"content_type": "application/octet-stream", "data": data}, indent=2) + "\n"

    def npm_lock():
        pkgs = {f"node_modules/{n}": {"version": f"{g.rng.randint(1, 9)}.{g.rng.randint(0, 20)}.{g.rng.randint(0, 9)}",
                                      "resolved": f"https://registry.npmjs.org/{n}/-/{n}-1.0.0.tgz",
                                      "integrity": "sha512-" + base64.b64encode(g.bytes(64)).decode()}
                for n in g.rng.sample(["lodash", "chalk", "debug", "ms", "semver", "yargs", "minimist"], 3)}
        return "package-lock.json", json.dumps({"name": "web", "lockfileVersion": 3, "packages": pkgs}, indent=2) + "\n"

    def cargo_lock():
        return "Cargo.lock", "".join(
            f'[[package]]\nname = "{n}"\nversion = "1.{g.rng.randint(0, 40)}.0"\n'
            f'source = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "{g.s(HEX, 64)}"\n\n'
            for n in g.rng.sample(["serde", "regex", "memchr", "libc", "rand", "anyhow"], 3))

    def go_sum():
        return "go.sum", "".join(
            f"github.com/{m} v1.{g.rng.randint(0, 9)}.0 h1:{base64.b64encode(g.bytes(32)).decode()}\n"
            for m in ["spf13/cobra", "stretchr/testify", "google/uuid"])

    def sri():
        return "index.html", (f'<script src="https://cdn.jsdelivr.net/npm/htmx.org@2.0.{g.rng.randint(0, 4)}" '
                              f'integrity="sha384-{base64.b64encode(g.bytes(48)).decode()}" crossorigin="anonymous"></script>\n')

    def placeholder_x():
        var = g.pick(["API_KEY", "STRIPE_SECRET_KEY", "GITHUB_TOKEN", "SENDGRID_API_KEY", "AWS_SECRET_ACCESS_KEY"])
        return ".env.example", f"{var}=" + "x" * g.rng.randint(16, 40) + "\nDEBUG=false\n"

    def placeholder_angle():
        var = g.pick(["api_key", "token", "client_secret", "password"])
        return "README.md", f"Configure the client:\n\n```yaml\nacme:\n  {var}: <your-{var.replace('_', '-')}>\n```\n"

    def placeholder_var():
        var = g.pick(["STRIPE_SECRET_KEY", "DB_PASSWORD", "SLACK_BOT_TOKEN", "OPENAI_API_KEY"])
        return "docker-compose.yml", f"services:\n  app:\n    environment:\n      {var}: ${{{var}}}\n      DATABASE_URL: postgres://app:${{DB_PASSWORD}}@db:5432/app\n"

    def placeholder_words():
        word = g.pick(["changeme", "your_token_here", "REPLACE_ME", "insert-key-here", "TODO", "secret"])
        var = g.pick(["password", "api_key", "secret_key", "auth_token"])
        return "defaults.ini", f"[service]\n{var} = {word}\nhost = localhost\n"

    def placeholder_prefixed():
        tok = g.pick(["sk_live_" + "x" * 24, "ghp_" + "X" * 36, "xoxb-your-bot-token",
                      "AKIAXXXXXXXXXXXXXXXX", "sk-proj-" + "*" * 40, "glpat-" + "x" * 20])
        return "setup.md", f"Set the token in your shell:\n\n    export TOKEN={tok}\n"

    def documented_aws():
        return "aws_example.py", ('# From the AWS documentation\nAWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n'
                                  'AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n')

    def documented_jwt():
        return "auth.md", ("Example token from jwt.io:\n\n    eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                           "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
                           "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n")

    def bad_crc():
        prefix = g.pick(["ghp_", "gho_", "npm_", "sgk_prod_", "sgk_dev_"])
        n = 32 if prefix.startswith("sgk_") else 30
        var = {"ghp_": "GITHUB_TOKEN", "gho_": "GH_OAUTH", "npm_": "NPM_TOKEN"}.get(prefix, "SECRETS_GUARD_API_KEY")
        return "ci.env", f"{var}={bad_crc_token(g, prefix, n)}\n"

    def css_js_ids():
        cls = " ".join(f"css-{g.s(LOWER_DIGITS, 7)}" for _ in range(4))
        return "bundle.min.js", (f'var e=document.createElement("div");e.className="{cls}";'
                                 f'__webpack_require__.p+"static/js/main.{g.s(HEX, 8)}.chunk.js";'
                                 f'var k="{g.s(ALNUM, 21)}";window.__NEXT_DATA__={{buildId:"{g.s(B64URL, 21)}"}};\n')

    def versions():
        return "version.txt", (f"version=1.{g.rng.randint(0, 30)}.{g.rng.randint(0, 9)}-rc.{g.rng.randint(1, 5)}"
                               f"+sha.{g.s(HEX, 7)}\nbuild=20261{g.rng.randint(100, 130)}.{g.rng.randint(1, 99)}\n")

    def fake_fixture():
        val = g.pick(["fake-api-key", "test-token", "dummy", "not-a-real-secret", "testpassword", "sk_test_fake"])
        return "test_client.py", (f'def test_client_sends_key(client):\n    client.api_key = "{val}"\n'
                                  f'    assert client.headers()["X-Api-Key"] == "{val}"\n')

    def empty_password():
        return g.pick([("database.yml", "production:\n  adapter: postgresql\n  username: app\n  password:\n"),
                       ("settings.json", json.dumps({"db": {"user": "app", "password": ""}}, indent=2) + "\n"),
                       ("db.properties", "db.user=app\ndb.password=\n")])

    def password_from_env():
        return g.pick([("db.py", 'import os\n\nDB_PASSWORD = os.environ["DB_PASSWORD"]\npassword = os.getenv("SMTP_PASSWORD")\n'),
                       ("config.yaml", "database:\n  password: ${DATABASE_PASSWORD}\n"),
                       ("app.ts", "const password = process.env.DB_PASSWORD;\nconst apiKey = config.get('apiKey');\n"),
                       ("values.yaml", "redis:\n  password: {{ .Values.redis.password }}\n")])

    def public_key():
        blob = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00 " + g.bytes(32)).decode()
        return "authorized_keys", f"ssh-ed25519 {blob} {g.pick(['alice', 'bob', 'ci'])}@acme\n"

    def certificate():
        body = base64.b64encode(b"\x30\x82" + g.bytes(700)).decode()
        lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
        return "ca.crt", f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"

    def publishable():
        return "checkout.js", f"const stripe = Stripe('pk_live_51{g.s(ALNUM, 97)}');\n"

    def url_no_password():
        return "README.md", ("Connect with `psql postgres://app@localhost:5432/app` or set\n"
                             "`DATABASE_URL=postgres://user:password@localhost:5432/dev` for local work.\n")

    def hex_ids():
        return "migrations.sql", "".join(
            f"INSERT INTO feature_flags (id, name) VALUES ('{g.s(HEX, 24)}', '{g.pick(['beta', 'dark_mode', 'new_checkout'])}');\n"
            for _ in range(3))

    def key_named_ids():
        # Names with "key"/"token"/"secret" that hold identifiers, not credentials.
        return g.pick([
            ("cache.py", f'cache_key = "user:{g.rng.randint(1000, 99999)}:profile:v{g.rng.randint(1, 9)}"\n'
                         f'idempotency_key = "{g.uuid()}"\n'),
            ("schema.yaml", f"table: orders\npartition_key: customer_id\nsort_key: created_at\n"
                            f"kms_key_id: alias/{g.pick(['orders', 'billing'])}-{g.s(LOWER_DIGITS, 6)}\n"),
            ("keys.json", json.dumps({"key_id": g.s(HEX, 16), "public_key_fingerprint":
                                      ":".join(g.s(HEX, 2) for _ in range(16)), "algorithm": "ed25519"}, indent=2) + "\n"),
            ("csrf.js", f"const tokenName = 'csrf_token_{g.s(LOWER_DIGITS, 6)}';\nconst secretField = 'client_secret';\n"),
        ])

    def i18n_strings():
        return "en.json", json.dumps({
            "auth.reset_token_expired": "Your reset link has expired. Request a new one.",
            "auth.password_too_short": "Password must be at least 12 characters.",
            "settings.api_key_label": "API key", "settings.secret_hint": "Keep this secret safe.",
            "errors.invalid_token": f"Invalid token (code {g.rng.randint(100, 999)})"}, indent=2) + "\n"

    def secret_reference():
        return g.pick([
            ("deployment.yaml", "env:\n  - name: API_TOKEN\n    valueFrom:\n      secretKeyRef:\n"
                                f"        name: {g.pick(['billing', 'search'])}-secrets\n        key: api-token\n"),
            ("release.yml", "      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n"),
            ("db.tf", 'resource "aws_db_instance" "main" {\n  username = "app"\n  password = random_password.db.result\n}\n'),
            ("vault.hcl", f'path "secret/data/{g.pick(["orders", "billing"])}/*" {{\n  capabilities = ["read"]\n}}\n'),
        ])

    return [
        ("key-named-identifier", key_named_ids), ("i18n-strings", i18n_strings),
        ("secret-reference", secret_reference),
        ("sha1-changelog", sha1_changelog), ("git-commit-id", git_commit_ids), ("sha256-checksum", sha256_sums),
        ("md5-etag", md5_etag), ("image-digest", docker_digest), ("uuid", uuids),
        ("base64-image", base64_image), ("base64-data", base64_data), ("lockfile-integrity", npm_lock),
        ("lockfile-checksum", cargo_lock), ("go-sum", go_sum), ("sri-hash", sri),
        ("placeholder-x", placeholder_x), ("placeholder-angle", placeholder_angle),
        ("placeholder-var", placeholder_var), ("placeholder-word", placeholder_words),
        ("placeholder-prefixed", placeholder_prefixed), ("documented-aws-example", documented_aws),
        ("documented-jwt-example", documented_jwt), ("bad-checksum", bad_crc), ("css-js-ids", css_js_ids),
        ("version-string", versions), ("test-fixture", fake_fixture), ("empty-password", empty_password),
        ("password-from-env", password_from_env), ("public-key", public_key), ("certificate", certificate),
        ("publishable-key", publishable), ("url-without-password", url_no_password), ("hex-ids", hex_ids),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--credentials", type=int, default=600)
    ap.add_argument("--clean", type=int, default=600)
    args = ap.parse_args()

    if os.path.exists(args.out) and os.listdir(args.out):
        print(f"generate.py: {args.out}: exists and is not empty; refusing to mix sets", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    g = Gen(args.seed)
    keys = Keys(g)
    items = []
    try:
        for i in range(args.credentials):
            p = PROVIDERS[i % len(PROVIDERS)]
            if p["make"] is None:
                fname, text, secret, related = special(g, keys, p["name"])
            else:
                value, secret, related = p["make"](g)
                secret = secret or value
                ctxs = p["contexts"] or TOKEN_CTX
                fname, text = CONTEXTS[g.pick(ctxs)](g, p["var"], value)
            items.append((fname, text, {"label": "credential", "provider": p["name"],
                                        "secret": secret, "related": related}))
        makers = clean_files(g)
        for i in range(args.clean):
            cls, make = makers[i % len(makers)]
            fname, text = make()
            where = "tests/" if cls == "test-fixture" else ""
            items.append((where + fname, text, {"label": "clean", "class": cls}))
    finally:
        keys.close()

    # Shuffle so a file's directory number says nothing about its label.
    g.rng.shuffle(items)
    labels = {}
    for n, (fname, text, label) in enumerate(items):
        rel = f"s{n:04d}/{fname}"
        path = os.path.join(args.out, "tree", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        labels[rel] = label
    with open(os.path.join(args.out, "labels.json"), "w") as f:
        json.dump({"seed": args.seed, "files": labels}, f, indent=1, sort_keys=True)
    creds = sum(1 for v in labels.values() if v["label"] == "credential")
    provs = len({v["provider"] for v in labels.values() if v["label"] == "credential"})
    print(f"wrote {len(labels)} files ({creds} credentials over {provs} providers, "
          f"{len(labels) - creds} clean) to {args.out}/tree", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
