"""private_key_jwt client authentication at the token endpoint (RFC 7523 2.2
and 3, SMART App Launch 2.2 client-confidential-asymmetric and Backend
Services), against the real token program behind Apache.

Most attacks are probed with grant_type=refresh_token and a refresh token
that does not exist: client authentication runs first, so a refused
assertion answers 401 invalid_client, while an accepted one gets as far as
the grant and answers 400 invalid_grant.  The SMART Backend Services checks
(smart-conformance-notes 3.6) use grant_type=client_credentials.

Keys and assertions are made with PyJWT and cryptography; attacks that
PyJWT refuses to produce (alg none, HS256 keyed with the public key) are
forged byte by byte.  Client key sets are registered inline or served from a
loopback jwks_uri (jwks_server.py) that can serve junk, stall, be down or
rotate keys.
"""
import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from conftest import free_port
from jwks_server import JwksServer
import smartflow

TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REDIRECT = "https://app.example/cb"
SYSTEM_SCOPE = "system/*.rs"


def b64u(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Key:
    """A private key with its public JWK (kid and, optionally, alg set)."""

    def __init__(self, kind, kid):
        if kind == "EC384":
            self.priv = ec.generate_private_key(ec.SECP384R1())
            self.alg = "ES384"
            pub = json.loads(ECAlgorithm.to_jwk(self.priv.public_key()))
        elif kind == "EC256":
            self.priv = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            pub = json.loads(ECAlgorithm.to_jwk(self.priv.public_key()))
        else:
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS384"
            pub = json.loads(RSAAlgorithm.to_jwk(self.priv.public_key()))
        self.kid = kid
        pub["kid"] = kid
        self.jwk = pub
        self.public_pem = self.priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def keys():
    return {
        "es384": Key("EC384", "es384-1"),
        "es256": Key("EC256", "es256-1"),
        "rs": Key("RSA", "rs-1"),
        "other": Key("EC384", "es384-1"),   # same kid as es384, different key
        "rot1": Key("EC384", "rot-1"),
        "rot2": Key("EC384", "rot-2"),
    }


@pytest.fixture(scope="module")
def jwks_srv():
    s = JwksServer()
    yield s
    s.close()


def token_url(server):
    return server.auth_base + "/token"


def put(pg, *resources):
    pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps(list(resources)),))


def client_resource(cid, jwks=None, jwks_uri=None, **extra):
    r = {"resourceType": "Client", "id": cid,
         "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
         "scope": SYSTEM_SCOPE,
         "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True}}}
    if jwks is not None:
        r["jwks"] = {"keys": jwks}
    if jwks_uri is not None:
        r["jwks_uri"] = jwks_uri
    r.update(extra)
    return {k: v for k, v in r.items() if v is not None}


@pytest.fixture(scope="module")
def clients(server, demo, keys):
    put(demo,
        client_resource("pkj-main", [keys["es384"].jwk, keys["rs"].jwk, keys["es256"].jwk]),
        client_resource("pkj-single", [keys["es384"].jwk]),
        client_resource("pkj-dupkid", [keys["es384"].jwk, keys["other"].jwk]),
        client_resource("pkj-twofit", [dict(keys["es384"].jwk, kid="a"),
                                       dict(keys["other"].jwk, kid="b")]),
        client_resource("pkj-nokeys"),
        client_resource("pkj-app", [keys["es384"].jwk, keys["rs"].jwk],
                        grant_types=["authorization_code", "refresh_token"], scope=None))
    return demo


def claims(server, cid, **over):
    now = int(time.time())
    c = {"iss": cid, "sub": cid, "aud": token_url(server), "exp": now + 240,
         "jti": str(uuid.uuid4())}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def sign(key, claims_, alg=None, kid="default", headers=None):
    h = dict(headers or {})
    if kid == "default":
        h["kid"] = key.kid
    elif kid is not None:
        h["kid"] = kid
    return jwt.encode(claims_, key.priv, algorithm=alg or key.alg, headers=h)


def forge(header, claims_, sig=b""):
    head = b64u(json.dumps(header).encode())
    body = b64u(json.dumps(claims_).encode())
    return f"{head}.{body}.{b64u(sig)}"


def probe(server, assertion, atype=TYPE, **extra):
    """Token request that authenticates with the assertion and then fails in the grant."""
    data = {"grant_type": "refresh_token", "refresh_token": b64u(uuid.uuid4().bytes * 2),
            "client_assertion_type": atype, "client_assertion": assertion}
    data.update(extra)
    return requests.post(token_url(server), data=data, timeout=20)


def assert_accepted(r):
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_grant", r.text


def assert_refused(r, fragment):
    assert r.status_code == 401, r.text
    body = r.json()
    assert body["error"] == "invalid_client", body
    assert fragment in body["error_description"], body
    assert r.headers["Cache-Control"] == "no-store"
    # RFC 6749 5.2: a challenge only answers the Authorization header, and
    # these requests authenticate in the body.
    assert "WWW-Authenticate" not in r.headers


def assert_bad_assertion_type(r):
    # RFC 6749 5.2: an unknown client_assertion_type is an unsupported
    # parameter value, 400 invalid_request (ONC (g)(10) expects exactly 400).
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid_request", body
    assert "client_assertion_type" in body["error_description"], body
    assert r.headers["Cache-Control"] == "no-store"
    assert "WWW-Authenticate" not in r.headers


def backend_token(server, assertion, scope=SYSTEM_SCOPE, atype=TYPE, grant="client_credentials"):
    return requests.post(token_url(server), headers={"Accept": "application/json"}, data={
        "scope": scope, "grant_type": grant, "client_assertion_type": atype,
        "client_assertion": assertion}, timeout=20)


# ---- SMART Backend Services (smart-conformance-notes 3.6) -------------------

def test_backend_invalid_grant_type_is_exactly_400(server, clients, keys):
    r = backend_token(server, sign(keys["es384"], claims(server, "pkj-main")),
                      grant="not_a_grant_type")
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


def test_backend_invalid_client_assertion_type_refused(server, clients, keys):
    r = backend_token(server, sign(keys["es384"], claims(server, "pkj-main")),
                      atype="not_an_assertion_type")
    assert_bad_assertion_type(r)


def test_backend_invalid_iss_refused(server, clients, keys):
    a = sign(keys["es384"], claims(server, "not_a_valid_iss"))
    r = backend_token(server, a)
    assert r.status_code in (400, 401)
    assert r.json()["error"] == "invalid_client"


@pytest.mark.parametrize("key", ["es384", "rs", "es256"])
def test_backend_request_succeeds_with_response_shape(server, clients, keys, key):
    r = backend_token(server, sign(keys[key], claims(server, "pkj-main")))
    assert r.status_code in (200, 201), r.text
    body = r.json()
    assert body["access_token"]
    assert body["token_type"].lower() == "bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert body["scope"]
    assert "refresh_token" not in body
    assert r.headers["Cache-Control"] == "no-store"


def test_backend_token_in_every_web_server_setup(web, clients, keys):
    # aud is this server's own token URL, whichever web server fronts it.
    r = backend_token(web, sign(keys["es384"], claims(web, "pkj-main")))
    assert r.status_code == 200, r.text
    r = backend_token(web, sign(keys["es384"], claims(web, "pkj-main", aud=token_url(web) + "x")))
    assert_refused(r, "aud")


# ---- assertion rules, each attack refused -----------------------------------

def test_valid_assertion_authenticates(server, clients, keys):
    assert_accepted(probe(server, sign(keys["es384"], claims(server, "pkj-main"))))
    assert_accepted(probe(server, sign(keys["rs"], claims(server, "pkj-main"), alg="RS256")))
    assert_accepted(probe(server, sign(keys["rs"], claims(server, "pkj-main"), alg="RS512")))


def test_jti_replay_refused(server, clients, keys, demo):
    a = sign(keys["es384"], claims(server, "pkj-main"))
    assert_accepted(probe(server, a))
    assert_refused(probe(server, a), "replay")
    jti = jwt.decode(a, options={"verify_signature": False})["jti"]
    rows = demo.query("SELECT expires_at > now() FROM smart.jwt_ids WHERE client_id = %s "
                      "AND jti = %s", ("pkj-main", jti))
    assert rows == [(True,)]


def test_jti_of_one_client_does_not_block_another(server, clients, keys):
    jti = "shared-" + str(uuid.uuid4())
    assert_accepted(probe(server, sign(keys["es384"], claims(server, "pkj-main", jti=jti))))
    assert_accepted(probe(server, sign(keys["es384"], claims(server, "pkj-single", jti=jti))))


def test_missing_jti_refused(server, clients, keys):
    assert_refused(probe(server, sign(keys["es384"], claims(server, "pkj-main", jti=None))),
                   "jti")


def test_expired_assertion_refused(server, clients, keys):
    c = claims(server, "pkj-main", exp=int(time.time()) - 300)
    assert_refused(probe(server, sign(keys["es384"], c)), "expired")


def test_missing_exp_refused(server, clients, keys):
    assert_refused(probe(server, sign(keys["es384"], claims(server, "pkj-main", exp=None))), "exp")


def test_exp_more_than_five_minutes_ahead_refused(server, clients, keys):
    c = claims(server, "pkj-main", exp=int(time.time()) + 600)
    assert_refused(probe(server, sign(keys["es384"], c)), "5 minutes")


def test_exp_five_minutes_ahead_accepted(server, clients, keys):
    c = claims(server, "pkj-main", exp=int(time.time()) + 300)
    assert_accepted(probe(server, sign(keys["es384"], c)))


def test_wrong_aud_refused(server, clients, keys):
    for aud in (server.fhir_base, server.auth_base + "/token/", server.auth_base,
                token_url(server).upper()):
        c = claims(server, "pkj-main", aud=aud)
        assert_refused(probe(server, sign(keys["es384"], c)), "aud")


def test_aud_array_with_token_url_accepted(server, clients, keys):
    c = claims(server, "pkj-main", aud=["https://other.example/", token_url(server)])
    assert_accepted(probe(server, sign(keys["es384"], c)))


def test_alg_none_refused(server, clients, keys):
    a = forge({"alg": "none", "typ": "JWT", "kid": keys["es384"].kid},
              claims(server, "pkj-main"))
    assert_refused(probe(server, a), "alg")


def test_hs256_signed_with_public_key_refused(server, clients, keys):
    for k in (keys["rs"], keys["es384"]):
        header = {"alg": "HS256", "typ": "JWT", "kid": k.kid}
        head = b64u(json.dumps(header).encode())
        body = b64u(json.dumps(claims(server, "pkj-main")).encode())
        mac = hmac.new(k.public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
        assert_refused(probe(server, f"{head}.{body}.{b64u(mac)}"), "alg")


def test_ps256_refused(server, clients, keys):
    a = sign(keys["rs"], claims(server, "pkj-main"), alg="PS256")
    assert_refused(probe(server, a), "alg")


def test_unknown_kid_refused(server, clients, keys):
    a = sign(keys["es384"], claims(server, "pkj-main"), kid="no-such-kid")
    assert_refused(probe(server, a), "kid names no registered key")


def test_two_keys_with_the_same_kid_refused(server, clients, keys):
    for k in ("es384", "other"):
        a = sign(keys[k], claims(server, "pkj-dupkid"))
        assert_refused(probe(server, a), "more than one registered key")


def test_key_type_not_matching_alg_refused(server, clients, keys):
    # The RSA key signs, but the kid names the registered EC key.
    a = sign(keys["rs"], claims(server, "pkj-main"), kid=keys["es384"].kid)
    assert_refused(probe(server, a), "does not fit")
    # ES256 under the P-384 key's kid (curve confusion).
    a = sign(keys["es256"], claims(server, "pkj-main"), kid=keys["es384"].kid)
    assert_refused(probe(server, a), "does not fit")


def test_no_kid_accepted_when_exactly_one_key_fits(server, clients, keys):
    assert_accepted(probe(server, sign(keys["es384"], claims(server, "pkj-single"), kid=None)))
    # pkj-main has one key per algorithm family and curve: ES256 fits only one.
    assert_accepted(probe(server, sign(keys["es256"], claims(server, "pkj-main"), kid=None)))


def test_no_kid_refused_when_several_keys_fit(server, clients, keys):
    a = sign(keys["es384"], claims(server, "pkj-twofit"), kid=None)
    assert_refused(probe(server, a), "kid is required")


def test_signature_by_another_key_refused(server, clients, keys):
    # Same kid and algorithm as the registered key, different private key.
    a = sign(keys["other"], claims(server, "pkj-single"))
    assert_refused(probe(server, a), "signature")


def test_tampered_claims_refused(server, clients, keys):
    a = sign(keys["es384"], claims(server, "pkj-single"))
    head, _body, sig = a.split(".")
    body = b64u(json.dumps(claims(server, "pkj-main")).encode())
    assert_refused(probe(server, f"{head}.{body}.{sig}"), "signature")


def test_iss_not_equal_sub_refused(server, clients, keys):
    c = claims(server, "pkj-main", sub="pkj-single")
    assert_refused(probe(server, sign(keys["es384"], c)), "iss and sub")


def test_unknown_client_refused(server, clients, keys):
    assert_refused(probe(server, sign(keys["es384"], claims(server, "pkj-nobody"))),
                   "unknown client")


def test_client_id_param_must_match_iss(server, clients, keys):
    a = sign(keys["es384"], claims(server, "pkj-main"))
    assert_refused(probe(server, a, client_id="pkj-single"), "client_id")
    assert_accepted(probe(server, sign(keys["es384"], claims(server, "pkj-main")),
                          client_id="pkj-main"))


def test_client_without_keys_refused(server, clients, keys):
    assert_refused(probe(server, sign(keys["es384"], claims(server, "pkj-nokeys"))),
                   "no registered keys")


def test_unregistered_jku_refused(server, clients, keys, jwks_srv):
    url = jwks_srv.serve("/jku-attack/jwks", {"keys": [keys["other"].jwk]})
    a = sign(keys["other"], claims(server, "pkj-single"), headers={"jku": url})
    assert_refused(probe(server, a), "jku")
    assert jwks_srv.hits("/jku-attack/jwks") == 0


def test_reregistered_jwks_takes_effect_at_once(server, clients, keys):
    put(clients, client_resource("pkj-rereg", [keys["rot1"].jwk]))
    assert_accepted(probe(server, sign(keys["rot1"], claims(server, "pkj-rereg"))))
    put(clients, client_resource("pkj-rereg", [keys["rot2"].jwk]))
    for _ in range(3):  # whichever token process answers
        assert_refused(probe(server, sign(keys["rot1"], claims(server, "pkj-rereg"))),
                       "kid names no registered key")
    assert_accepted(probe(server, sign(keys["rot2"], claims(server, "pkj-rereg"))))


def test_typ_other_than_jwt_refused(server, clients, keys):
    a = sign(keys["es384"], claims(server, "pkj-main"), headers={"typ": "at+jwt"})
    assert_refused(probe(server, a), "typ")


def test_wrong_assertion_type_refused(server, clients, keys):
    a = sign(keys["es384"], claims(server, "pkj-main"))
    assert_bad_assertion_type(
        probe(server, a, atype="urn:ietf:params:oauth:client-assertion-type:saml2-bearer"))


def test_garbage_assertion_refused(server, clients):
    for junk in ("x", "a.b.c", "..", "e30.e30.", "A" * 20000):
        assert_refused(probe(server, junk), "client_assertion")


def test_assertion_with_secret_is_two_methods(server, clients, keys):
    r = probe(server, sign(keys["es384"], claims(server, "pkj-main")), client_secret="s")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_key_client_without_assertion_refused(server, clients):
    r = requests.post(token_url(server), data={
        "grant_type": "refresh_token", "refresh_token": "x" * 43, "client_id": "pkj-main"})
    assert_refused(r, "client assertion")


def test_description_never_echoes_the_assertion(server, clients, keys):
    a = sign(keys["es384"], claims(server, "pkj-main", exp=int(time.time()) - 100))
    r = probe(server, a)
    assert r.status_code == 401
    assert a not in r.text and a.split(".")[1] not in r.text


# ---- jwks_uri ----------------------------------------------------------------

def register_uri(pg, cid, url):
    put(pg, client_resource(cid, jwks_uri=url))


def test_jwks_uri_keys_authenticate_and_are_cached(server, clients, keys, jwks_srv):
    url = jwks_srv.serve("/cached/jwks", {"keys": [keys["es384"].jwk]}, max_age=600)
    register_uri(clients, "pkj-uri", url)
    for _ in range(4):
        assert_accepted(probe(server, sign(keys["es384"], claims(server, "pkj-uri"))))
    # One fetch per token process at most (mod_fcgid may run a few).
    assert 1 <= jwks_srv.hits("/cached/jwks") <= 3


def test_jwks_uri_registered_jku_accepted(server, clients, keys, jwks_srv):
    url = jwks_srv.serve("/jku-ok/jwks", {"keys": [keys["es384"].jwk]})
    register_uri(clients, "pkj-jku", url)
    a = sign(keys["es384"], claims(server, "pkj-jku"), headers={"jku": url})
    assert_accepted(probe(server, a))
    a = sign(keys["es384"], claims(server, "pkj-jku"), headers={"jku": url + "?x"})
    assert_refused(probe(server, a), "jku")


def test_jwks_uri_serving_junk_refused(server, clients, keys, jwks_srv):
    for i, (body, status) in enumerate([(b"<html>hello</html>", 200), (b'{"keys": "no"}', 200),
                                        (b'{"keys": [{"kty": "oct", "k": "AAAA"}]}', 200),
                                        (json.dumps({"keys": [keys["es384"].jwk]}).encode(), 500),
                                        (b"\x00\xff" * 100, 200)]):
        url = jwks_srv.junk(f"/junk{i}/jwks", body, status=status)
        register_uri(clients, f"pkj-junk{i}", url)
        assert_refused(probe(server, sign(keys["es384"], claims(server, f"pkj-junk{i}"))),
                       "jwks_uri")


def test_jwks_uri_too_large_refused(server, clients, keys, jwks_srv):
    big = {"keys": [keys["es384"].jwk], "pad": "x" * (70 * 1024)}
    url = jwks_srv.serve("/big/jwks", big)
    register_uri(clients, "pkj-big", url)
    assert_refused(probe(server, sign(keys["es384"], claims(server, "pkj-big"))), "too large")


def test_jwks_uri_timeout_answers_invalid_client_in_bounded_time(server, clients, keys, jwks_srv):
    url = jwks_srv.slow("/slow/jwks", delay=8, body={"keys": [keys["es384"].jwk]})
    register_uri(clients, "pkj-slow", url)
    t0 = time.monotonic()
    r = probe(server, sign(keys["es384"], claims(server, "pkj-slow")))
    elapsed = time.monotonic() - t0
    assert_refused(r, "jwks_uri")
    assert elapsed < 6, elapsed


def test_jwks_uri_down_refused(server, clients, keys):
    url = f"http://127.0.0.1:{free_port()}/jwks"
    register_uri(clients, "pkj-down", url)
    t0 = time.monotonic()
    r = probe(server, sign(keys["es384"], claims(server, "pkj-down")))
    assert_refused(r, "jwks_uri")
    assert time.monotonic() - t0 < 6


def test_jwks_uri_redirect_to_http_not_followed(server, clients, keys, jwks_srv):
    target = jwks_srv.serve("/redir-target/jwks", {"keys": [keys["es384"].jwk]})
    url = jwks_srv.junk("/redir/jwks", b"", status=302, headers={"Location": target})
    register_uri(clients, "pkj-redir", url)
    assert_refused(probe(server, sign(keys["es384"], claims(server, "pkj-redir"))), "jwks_uri")
    assert jwks_srv.hits("/redir-target/jwks") == 0


def test_jwks_uri_key_rotation_picks_up_new_kid(server, clients, keys, jwks_srv):
    path = "/rotate/jwks"
    url = jwks_srv.serve(path, {"keys": [keys["rot1"].jwk]}, max_age=3600)
    register_uri(clients, "pkj-rotate", url)
    assert_accepted(probe(server, sign(keys["rot1"], claims(server, "pkj-rotate"))))
    jwks_srv.serve(path, {"keys": [keys["rot2"].jwk]}, max_age=3600)
    # An unknown kid refetches at most once per 10 s per URL and process.
    time.sleep(10.5)
    assert_accepted(probe(server, sign(keys["rot2"], claims(server, "pkj-rotate"))))


# ---- the other grants -----------------------------------------------------------

def test_code_flow_and_refresh_with_assertions(server, clients, keys):
    cid = "pkj-app"
    flow = smartflow.start(server, cid, REDIRECT,
                           "launch/patient openid fhirUser offline_access patient/*.rs",
                           username="alice", password="alice-password")
    assert flow.kind == "redirect" and flow.code, flow
    r = requests.post(token_url(server), data={
        "grant_type": "authorization_code", "code": flow.code, "redirect_uri": REDIRECT,
        "code_verifier": flow.verifier, "client_assertion_type": TYPE,
        "client_assertion": sign(keys["es384"], claims(server, cid))}, timeout=20)
    assert r.status_code == 200, r.text
    tok = r.json()
    assert tok["access_token"] and tok["refresh_token"]
    # Refresh with a fresh assertion (new jti).
    r = requests.post(token_url(server), data={
        "grant_type": "refresh_token", "refresh_token": tok["refresh_token"],
        "client_assertion_type": TYPE,
        "client_assertion": sign(keys["rs"], claims(server, cid))}, timeout=20)
    assert r.status_code == 200, r.text
    assert r.json()["access_token"]
    # The same refresh with the assertion of another client is refused.
    r = requests.post(token_url(server), data={
        "grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"],
        "client_assertion_type": TYPE,
        "client_assertion": sign(keys["es384"], claims(server, "pkj-single"))}, timeout=20)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text


def test_refused_assertion_beside_basic_header_gets_the_basic_challenge(server, clients, keys):
    # An assertion client tried over HTTP Basic: 401 with the challenge of
    # the scheme it used (RFC 6749 5.2).
    r = requests.post(token_url(server), data={
        "grant_type": "client_credentials", "scope": SYSTEM_SCOPE},
        auth=("pkj-main", "not-a-secret"), timeout=20)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"
    assert r.headers["WWW-Authenticate"].startswith("Basic")


def test_expired_assertion_is_401_without_challenge(server, clients, keys):
    a = sign(keys["es384"], claims(server, "pkj-main", exp=int(time.time()) - 100))
    r = backend_token(server, a)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" not in r.headers


# ---- the jti is recorded with the grant it authenticated ------------------------

def jti_of(assertion):
    return jwt.decode(assertion, options={"verify_signature": False})["jti"]


def token_rows(demo, cid):
    return demo.query("SELECT count(*) FROM smart.access_tokens WHERE client_id = %s", (cid,))[0][0]


def test_jti_replay_after_a_successful_grant_refused(server, clients, keys, demo):
    a = sign(keys["es384"], claims(server, "pkj-main"))
    before = token_rows(demo, "pkj-main")
    assert backend_token(server, a).status_code == 200
    assert_refused(backend_token(server, a), "replay")
    assert token_rows(demo, "pkj-main") == before + 1
    assert demo.query("SELECT count(*) FROM smart.jwt_ids WHERE client_id = %s AND jti = %s",
                      ("pkj-main", jti_of(a)))[0][0] == 1


def test_assertion_of_a_refused_grant_cannot_be_used_again(server, clients, keys, demo):
    # The first use fails in the grant (an unknown refresh token), yet the
    # assertion is spent: a captured copy cannot get a token afterwards.
    a = sign(keys["es384"], claims(server, "pkj-main"))
    assert_accepted(probe(server, a))
    before = token_rows(demo, "pkj-main")
    assert_refused(backend_token(server, a), "replay")
    assert token_rows(demo, "pkj-main") == before


def test_assertion_grant_is_one_write_transaction(server, clients, keys, demo):
    # The jti, the token row and the audit row commit together: one
    # transaction id between two of the test's own.
    for _ in range(3):
        a = sign(keys["es384"], claims(server, "pkj-main"))
        x0 = demo.query("SELECT txid_current()")[0][0]
        assert backend_token(server, a).status_code == 200
        x1 = demo.query("SELECT txid_current()")[0][0]
        if x1 - x0 == 2:
            break
    assert x1 - x0 == 2, "expected exactly one write transaction for the grant"


def test_parallel_replays_of_one_assertion_issue_one_token(server, clients, keys, demo):
    from concurrent.futures import ThreadPoolExecutor
    a = sign(keys["es384"], claims(server, "pkj-main"))
    before = token_rows(demo, "pkj-main")
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda _: backend_token(server, a), range(8)))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [401] * 7, [(r.status_code, r.text) for r in results]
    for r in results:
        if r.status_code == 401:
            assert "replay" in r.json()["error_description"], r.text
    assert token_rows(demo, "pkj-main") == before + 1


def test_assertion_replay_on_the_code_grant_refused(server, clients, keys, demo):
    cid = "pkj-app"
    flow = smartflow.start(server, cid, REDIRECT, "launch/patient openid offline_access patient/*.rs",
                           username="alice", password="alice-password")
    assert flow.kind == "redirect" and flow.code, flow
    a = sign(keys["es384"], claims(server, cid))
    # A refresh that fails spends the assertion; the code stays redeemable.
    r = requests.post(token_url(server), data={
        "grant_type": "refresh_token", "refresh_token": b64u(uuid.uuid4().bytes * 2),
        "client_assertion_type": TYPE, "client_assertion": a}, timeout=20)
    assert r.status_code == 400, r.text
    data = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": REDIRECT,
            "code_verifier": flow.verifier, "client_assertion_type": TYPE, "client_assertion": a}
    assert_refused(requests.post(token_url(server), data=data, timeout=20), "replay")
    data["client_assertion"] = sign(keys["es384"], claims(server, cid))
    r = requests.post(token_url(server), data=data, timeout=20)
    assert r.status_code == 200, r.text
