#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from the repository's fixtures
(shipped config, docs/examples claims, the JWKS of config/agencies) and hand-made cases that
mirror the unit tests. Run from the repository root: python3 fuzz/seeds/make-corpus.py"""
import base64, hashlib, json, os, pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "fuzz" / "corpus"
NOW = 1_700_000_000
IDP = "https://idp.sa.example"
GW = "https://jisr.example"
KID = "fuzz-ed25519"


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def j(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


# ---- id_token -----------------------------------------------------------------------------
header = {"alg": "EdDSA", "kid": KID, "typ": "JWT"}
claims = {"iss": IDP, "sub": "1000000008", "aud": "jisr", "exp": NOW + 300, "iat": NOW,
          "nonce": "n-0S6_WzA2Mj", "auth_time": NOW - 10, "acr": "urn:sa:sso:loa:3"}
def signed(h, c, flip=None):
    s = "sign\n" + (h if isinstance(h, str) else j(h)) + "\n" + (c if isinstance(c, str) else j(c))
    return s + (f"\nflip {flip}" if flip is not None else "")
put("id_token", signed(header, claims))
put("id_token", signed(header, claims, flip=40))
for h in [dict(header, alg="none"), dict(header, alg="HS256"), dict(header, alg="ES256"),
          dict(header, kid="weak", alg="RS256"), dict(header, kid="hmac"), dict(header, kid="gone"),
          {k: v for k, v in header.items() if k != "kid"}, dict(header, typ="at+jwt"),
          dict(header, crit=["exp"]), dict(header, b64=False), dict(header, jku="https://evil.example/jwks"),
          dict(header, kid="")]:
    put("id_token", signed(h, claims))
for c in [dict(claims, exp=NOW - 3600), dict(claims, iat=NOW + 3600), dict(claims, nbf=NOW + 3600),
          dict(claims, aud=["jisr", "other"]), dict(claims, aud=["jisr", "other"], azp="jisr"),
          dict(claims, nonce="other"), dict(claims, iss="https://evil.example"),
          {k: v for k, v in claims.items() if k != "sub"}, dict(claims, exp=1.7e9 + 300.5),
          dict(claims, exp="soon"), dict(claims, at_hash="x")]:
    put("id_token", signed(header, c))
put("id_token", "sign\n" + j(header) + "\nnot json")
put("id_token", "a.b.c")
put("id_token", ".".join([b64(j(header).encode()), b64(j(claims).encode()), "AAAA"]))
put("id_token", "eyJhbGciOiJub25lIn0." + b64(j(claims).encode()) + ".")

# ---- logout_token -------------------------------------------------------------------------
EVENT = "http://schemas.openid.net/event/backchannel-logout"
l_header = {"alg": "EdDSA", "kid": KID, "typ": "logout+jwt"}
l_claims = {"iss": IDP, "aud": "jisr", "iat": NOW, "exp": NOW + 120, "jti": "bcl-1",
            "sid": "nat-sid-1", "events": {EVENT: {}}}
put("logout_token", signed(l_header, l_claims))
put("logout_token", signed(l_header, l_claims, flip=30))
put("logout_token", signed(dict(l_header, typ="JWT"), dict(l_claims, sub="1000000008")))
for h in [dict(l_header, typ="at+jwt"), dict(l_header, alg="none"), dict(l_header, alg="HS256"),
          {k: v for k, v in l_header.items() if k != "typ"}, dict(l_header, kid="gone")]:
    put("logout_token", signed(h, l_claims))
for c in [dict(l_claims, nonce="n"), dict(l_claims, events={}), dict(l_claims, events="x"),
          {k: v for k, v in l_claims.items() if k != "sid"}, {k: v for k, v in l_claims.items() if k != "jti"},
          dict(l_claims, iat=NOW - 3600), dict(l_claims, iat=NOW + 3600), dict(l_claims, exp=NOW - 10),
          dict(l_claims, aud=["other"]), dict(l_claims, aud=["jisr", "other"]),
          dict(l_claims, iss="https://evil.example"), dict(l_claims, sid=""), dict(l_claims, sid="x" * 300),
          dict(l_claims, iat="now")]:
    put("logout_token", signed(l_header, c))
put("logout_token", "a.b.c")

# ---- client_assertion ---------------------------------------------------------------------
a_claims = {"iss": "fuzz-pkjwt", "sub": "fuzz-pkjwt", "aud": GW + "/token", "exp": NOW + 60,
            "iat": NOW, "jti": "jti-1"}
put("client_assertion", signed(header, a_claims))
put("client_assertion", signed(header, dict(a_claims, jti="jti-2", aud=GW)))
put("client_assertion", signed(header, a_claims, flip=10))
for c in [dict(a_claims, exp=NOW - 600), dict(a_claims, exp=NOW + 7200), dict(a_claims, sub="other"),
          dict(a_claims, iss="fuzz-basic"), {k: v for k, v in a_claims.items() if k != "jti"},
          dict(a_claims, nbf=NOW + 600), dict(a_claims, aud="https://elsewhere.example")]:
    put("client_assertion", signed(header, c))
for h in [dict(header, alg="HS256"), dict(header, alg="none"), dict(header, kid="other"),
          {"alg": "EdDSA"}]:
    put("client_assertion", signed(h, a_claims))
put("client_assertion", "not.a.jwt")

# ---- jwks ---------------------------------------------------------------------------------
put("jwks", (ROOT / "config/agencies/sa-moe.jwks.json").read_bytes())
n2048 = b64(b"\xc5" * 256)
put("jwks", j({"keys": [
    {"kty": "RSA", "kid": "weak", "n": b64(b"\xc5" * 128), "e": "AQAB"},
    {"kty": "RSA", "kid": "ok", "n": n2048, "e": "AQAB", "use": "sig", "alg": "RS256"},
    {"kty": "RSA", "kid": "enc", "n": n2048, "e": "AQAB", "use": "enc"},
    {"kty": "RSA", "kid": "mismatch", "n": n2048, "e": "AQAB", "alg": "ES256"},
    {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
    {"kty": "XYZ", "kid": "future"}, "not an object"]}))
put("jwks", j({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64(b"\x01" * 32), "kid": KID}]}))
put("jwks", j({"keys": [{"kty": "EC", "crv": "P-384", "x": b64(b"\x01" * 48), "y": b64(b"\x02" * 48)}]}))
put("jwks", j({"keys": [{"kty": "EC", "crv": "secp256k1", "x": b64(b"\x01" * 32), "y": b64(b"\x02" * 32)}]}))
put("jwks", j({"keys": [{"kty": "RSA", "n": n2048, "e": b64(b"\x01\x00\x01" * 100)}]}))
put("jwks", j({"nokeys": []}))

# ---- mapping and values -------------------------------------------------------------------
for f in sorted((ROOT / "docs/examples").glob("*-claims.json")):
    put("mapping", f.read_bytes())
    data = json.loads(f.read_text())
    for src in ("id_token", "userinfo"):
        if isinstance(data.get(src), dict):
            for k, v in data[src].items():
                if isinstance(v, str):
                    put("values", v)
put("mapping", j({"id_token": None, "userinfo": {}}))
for v in ["1445/01/01", "1444-09-30", "1250-01-01", "29/02/2000", "19900315", "29/02/1900",
          "SA/BH/1000000008", "BH/SA/1", "SA/BH/a b", "784-1990-1234567-1", "1000000008",
          "\u202eAhmed\u200b  Al\tMansoori ", "\u200f\u202a", "KWT", "om", "substantial",
          "+12345-01-01", "-0001-01-01"]:
    put("values", v)

# ---- params and http ----------------------------------------------------------------------
auth = ("client_id=fuzz-basic&redirect_uri=https%3A%2F%2Fagency.example%2Fcallback"
        "&response_type=code&scope=openid&state=af0ifjsldkj&nonce=n-0S6_WzA2Mj"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
for q in [auth, auth + "&country=SA", auth + "&prompt=login&max_age=0&acr_values=urn%3Ajisr%3Aloa%3Ahigh",
          auth + "&ui_locales=ar", auth + "&state=%FF", "a=1&b=2&a=3", "client_id=x&client_id=y",
          "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fagency.example%2Fcallback&code_verifier=" + "v" * 43,
          "flow=fuzzflow&csrf=fuzzcsrf&country=SA", "flow=fuzzflow&csrf=fuzzcsrf&decision=allow",
          "b=" + "x" * 2100, "%zz=1&=&&="]:
    put("params", q)
reqs = [
    "GET /authorize?" + auth,
    "GET /authorize?" + auth + "&country=SA",
    "GET /authorize?" + auth + "&ui_locales=ar\naccept: text/html",
    "GET /authorize?client_id=nobody",
    "POST /login/country\ncontent-type: application/x-www-form-urlencoded\nfuzz-flow:\n\nflow=fuzzflow&csrf=fuzzcsrf&country=SA",
    "POST /login/country\ncontent-type: application/x-www-form-urlencoded\nfuzz-flow:\n\nflow=fuzzflow&csrf=wrong&country=QA",
    "POST /consent\ncontent-type: application/x-www-form-urlencoded\nfuzz-flow: code1\n\nflow=fuzzflow&csrf=fuzzcsrf&decision=allow",
    "POST /consent\ncontent-type: application/x-www-form-urlencoded\nfuzz-flow: code1\n\nflow=fuzzflow&csrf=fuzzcsrf&decision=deny",
    "GET /callback/sa?code=abc&state=xyz&iss=https%3A%2F%2Fidp.sa.example\nfuzz-flow:",
    "GET /callback/sa?error=access_denied&state=xyz",
    "POST /token\ncontent-type: application/x-www-form-urlencoded\nauthorization: Basic " +
    base64.b64encode(b"fuzz-basic:fuzz-basic-secret-0123456789abcdef").decode() +
    "\n\ngrant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fagency.example%2Fcallback&code_verifier=" + "v" * 43,
    "POST /token\ncontent-type: application/x-www-form-urlencoded\n\ngrant_type=authorization_code&client_id=fuzz-basic&client_secret=nope",
    "POST /token\ncontent-type: text/plain\n\ngrant_type=authorization_code",
    "GET /userinfo\nauthorization: Bearer abc.def",
    "POST /userinfo\nauthorization: bearer \ncontent-type: application/x-www-form-urlencoded\n\naccess_token=x",
    "GET /.well-known/openid-configuration",
    "GET /jwks",
    "GET /healthz",
    "GET /nowhere\naccept: text/html\naccept-language: ar",
]
for r in reqs:
    put("http", r)

# ---- seal ---------------------------------------------------------------------------------
for s in [b"\x00", b"\x01" * 40, b"\x02" + b"\x00" * 60, b"garbage", b"\x01" * 8300]:
    put("seal", s)

# ---- config -------------------------------------------------------------------------------
for f in sorted((ROOT / "config/countries").glob("*.toml")):
    put("config", "country\n" + f.read_text())
put("config", "policy\n" + (ROOT / "config/policy.toml").read_text())
put("config", "agencies\n" + (ROOT / "config/agencies.toml").read_text())
put("config", "gateway\n" + (ROOT / "config/gateway.toml").read_text())
put("config", "policy\n[[rule]]\norigin = \"*\"\ndestination = \"*\"\n")
put("config", "country\ncountry = \"SA\"\n")
