"""Python Authlib (https://authlib.org) as an agency of the Jisr gateway, with no OIDC code of
its own: Authlib's client app (the framework-free base its Flask/Django/Starlette integrations
are built from) reads discovery, builds the authorization URL with state, nonce and PKCE S256,
checks state on the way back, redeems the code with client_secret_basic or private_key_jwt
(RFC 7523, Authlib's own PrivateKeyJWT assertion), validates the ID token (signature against
the gateway's JWKS, iss, aud, exp, iat, nonce, at_hash) and calls userinfo. With
--post-logout-redirect-uri it then signs out: Authlib's create_logout_url (OpenID Connect
RP-Initiated Logout: the discovered end_session_endpoint, id_token_hint, state), and checks
the state the gateway sends back.

The citizen's browser is the test (tests/e2e/interop_certified.rs): this script prints the
authorization URL as one JSON line, reads the URL the browser was redirected back to on stdin,
then prints one JSON summary. Run by tests/src/certified.rs:

  authlib-agency.py keygen
      prints {"private": JWK, "public": JWK}: an RSA key for private_key_jwt (joserfc,
      Authlib's JOSE library).
  JISR_CLIENT_SECRET=... authlib-agency.py flow --issuer URL --client-id ID \\
      --redirect-uri URI --auth-method client_secret_basic
  JISR_CLIENT_KEY='{private JWK}' authlib-agency.py flow ... --auth-method private_key_jwt
  authlib-agency.py flow ... --post-logout-redirect-uri URI
      after the sign-in prints {"logout_url": URL} and reads the URL the browser landed on
      after the gateway's logout, before the summary.

On failure prints {"error": ...} to stderr and exits 1.
"""

import argparse
import base64
import json
import os
import sys
import traceback
from importlib.metadata import version
from urllib.parse import parse_qsl, urlsplit

from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import RSAKey


class AgencyApp(OAuth2Mixin, OpenIDMixin, BaseApp):
    """Authlib's OpenID Connect client app on requests, without a web framework."""

    client_cls = OAuth2Session


def keygen():
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
    return {"private": key.as_dict(private=True), "public": key.as_dict(private=False)}


def flow(args):
    client_kwargs = {
        "scope": "openid",
        "code_challenge_method": "S256",
        "token_endpoint_auth_method": args.auth_method,
    }
    if args.auth_method == "private_key_jwt":
        secret = RSAKey.import_key(json.loads(os.environ["JISR_CLIENT_KEY"]))
        auth_methods = [PrivateKeyJWT()]
    else:
        secret = os.environ["JISR_CLIENT_SECRET"]
        auth_methods = None
    app = AgencyApp(
        framework=None,
        client_id=args.client_id,
        client_secret=secret,
        server_metadata_url=f"{args.issuer}/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
        client_auth_methods=auth_methods,
    )
    metadata = app.load_server_metadata()
    request = app.create_authorization_url(redirect_uri=args.redirect_uri, ui_locales="en ar")
    print(json.dumps({"authorization_url": request["url"]}), flush=True)

    callback = sys.stdin.readline().strip()
    callback_params = dict(parse_qsl(urlsplit(callback).query))
    token = app.fetch_access_token(
        redirect_uri=args.redirect_uri,
        authorization_response=callback,
        state=request["state"],
        code_verifier=request["code_verifier"],
    )
    # Authlib's own ID token validation: signature with the discovered JWKS and the advertised
    # algorithms, then CodeIDToken's claim checks (iss, aud, exp, iat, nonce, at_hash).
    claims = app.parse_id_token(token, nonce=request["nonce"])
    header = json.loads(_b64(token["id_token"].split(".")[0]))
    userinfo = app.userinfo(token=token)
    logout = None
    if args.post_logout_redirect_uri:
        logout = sign_out(app, args, token["id_token"])

    sent = dict(parse_qsl(urlsplit(request["url"]).query))
    for secret_param in ("state", "nonce", "code_challenge"):
        sent[secret_param] = "…" if secret_param in sent else None
    return {
        "library": {"authlib": version("authlib"), "joserfc": version("joserfc")},
        "discovery": {
            "issuer": metadata["issuer"],
            "token_endpoint_auth_methods_supported": metadata.get(
                "token_endpoint_auth_methods_supported"
            ),
        },
        "authorization_request": sent,
        "callback_parameters": sorted(callback_params),
        "callback_iss": callback_params.get("iss"),
        "token_response": {
            "token_type": token.get("token_type"),
            "has_refresh_token": "refresh_token" in token,
        },
        "id_token_header": {k: header.get(k) for k in ("alg", "kid", "typ")},
        "claims": dict(claims),
        "userinfo": dict(userinfo),
        "logout": logout,
    }


def sign_out(app, args, id_token):
    """RP-initiated logout as Authlib builds it; the browser (the test) follows the URL and
    hands back where the gateway sent it, whose state Authlib's caller must check."""
    request = app.create_logout_url(
        post_logout_redirect_uri=args.post_logout_redirect_uri,
        id_token_hint=id_token,
        ui_locales="en ar",
    )
    print(json.dumps({"logout_url": request["url"]}), flush=True)
    landed = sys.stdin.readline().strip()
    parts = urlsplit(landed)
    params = dict(parse_qsl(parts.query))
    if parts._replace(query="").geturl() != args.post_logout_redirect_uri:
        raise RuntimeError(f"the logout ended elsewhere: {parts._replace(query='').geturl()}")
    if params.get("state") != request["state"]:
        raise RuntimeError("the logout came back without the state Authlib sent")
    sent = dict(parse_qsl(urlsplit(request["url"]).query))
    return {
        "end_session_endpoint": app.load_server_metadata().get("end_session_endpoint"),
        "sent": sorted(sent),
        "landed": parts._replace(query="").geturl(),
        "state_checked": True,
    }


def _b64(segment):
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("keygen")
    f = sub.add_parser("flow")
    f.add_argument("--issuer", required=True)
    f.add_argument("--client-id", required=True)
    f.add_argument("--redirect-uri", required=True)
    f.add_argument(
        "--auth-method",
        required=True,
        choices=["client_secret_basic", "private_key_jwt"],
    )
    f.add_argument("--post-logout-redirect-uri")
    args = parser.parse_args()
    try:
        out = keygen() if args.command == "keygen" else flow(args)
    except Exception as e:  # report any failure as one JSON line, with Authlib's error
        detail = {
            "error": f"{type(e).__name__}: {e}",
            "description": getattr(e, "description", None),
            "trace": traceback.format_exc()[-2000:],
        }
        print(json.dumps(detail), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
