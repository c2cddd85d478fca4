"""prepare: request material for bench/run that is made fresh before each
scenario, since each item may be presented only once.

  assertions  RFC 7523 client assertions (private_key_jwt), each with its
              own jti and an exp five minutes ahead (the token endpoint
              refuses anything later and remembers every jti)
  logins      sign-in forms of the authorization endpoint: each one an
              authorization request of its own (GET /auth/authorize), its
              browser cookie, request id and CSRF token, and the demo
              user's name and password

Used with /usr/bin/python3 (PyJWT, cryptography, requests).
"""
import html
import json
import re
import secrets
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def new_key(alg):
    """(private key, public JWK) for ES384 (P-384) or RS384 (RSA 2048)."""
    if alg == "ES384":
        priv = ec.generate_private_key(ec.SECP384R1())
        pub = json.loads(ECAlgorithm.to_jwk(priv.public_key()))
    else:
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = json.loads(RSAAlgorithm.to_jwk(priv.public_key()))
    pub["kid"] = alg.lower() + "-bench"
    pub["alg"] = alg
    return priv, pub


def write_assertions(path, priv, kid, alg, client_id, aud, scope, n):
    """Writes n client_credentials bodies, one per line, each with a fresh
    assertion (RFC 7523 section 3: iss = sub = client, aud = token URL)."""
    now = int(time.time())
    q = urllib.parse.quote
    with open(path, "w") as f:
        for _ in range(n):
            a = jwt.encode({"iss": client_id, "sub": client_id, "aud": aud, "iat": now,
                            "exp": now + 290, "jti": str(uuid.uuid4())},
                           priv, algorithm=alg, headers={"kid": kid})
            f.write("grant_type=client_credentials&scope=" + q(scope, safe="") +
                    "&client_assertion_type=" + q(ASSERTION_TYPE, safe="") +
                    "&client_assertion=" + a + "\n")


_INPUT = re.compile(r'<input[^>]*\bname="([^"]*)"[^>]*\bvalue="([^"]*)"')
_ACTION = re.compile(r'<form method="post" action="([^"]*)"')


def _one_login(base, client_id, redirect_uri, username, password):
    s = requests.Session()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": "openid fhirUser launch/patient patient/*.rs",
              "state": secrets.token_urlsafe(12), "aud": base + "/fhir",
              "code_challenge": secrets.token_urlsafe(32)[:43], "code_challenge_method": "S256"}
    r = s.get(base + "/auth/authorize", params=params, allow_redirects=False, timeout=30)
    m = _ACTION.search(r.text)
    if r.status_code != 200 or m is None or 'name="username"' not in r.text:
        raise RuntimeError("no login page: %d %s" % (r.status_code, r.text[:200]))
    fields = {html.unescape(k): html.unescape(v) for k, v in _INPUT.findall(r.text)}
    fields["username"] = username
    fields["password"] = password
    cookie = "; ".join("%s=%s" % (c.name, c.value) for c in s.cookies)
    action = urllib.parse.urljoin(r.url, html.unescape(m.group(1)))
    return action, cookie + "\t" + urllib.parse.urlencode(fields)


def write_logins(path, base, client_id, redirect_uri, username, password, n):
    """Writes n sign-in requests ("COOKIE<TAB>BODY" lines); returns the
    form's action URL."""
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: _one_login(base, client_id, redirect_uri, username, password),
                            range(n)))
    with open(path, "w") as f:
        for _, line in got:
            f.write(line + "\n")
    return got[0][0]


def pem(priv):
    return priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
