"""Token endpoint, authorization_code grant (RFC 6749 4.1.3, RFC 7636, SMART
App Launch 2.2 5.4-5.6), and the endpoint's request handling.

Codes are made here by inserting rows into smart.authorization_codes, the
contract between authorize and token (code = random base64url, stored as
its SHA-256 hex, launch_context as the brief describes), so these tests do
not depend on the authorize pages.  The helpers are reused by
test_token_refresh.py.
"""
import base64
import hashlib
import json
import secrets
import threading
import time
import uuid

import jwt
import pytest
import requests

REDIRECT = "https://app.example/cb"
PUBLIC = "tok-public"
CONF = "tok-conf"
CONF_SECRET = "tok-conf-secret-0123"
OTHER = "tok-other"
NOREFRESH = "tok-norefresh"
BACKEND = "tok-backend"
PUBLIC_LIFETIME = 1800
CONF_LIFETIME = 900

SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs"
V1_SCOPE = "launch/patient openid profile offline_access patient/*.read"


def b64u(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sha256_hex(s):
    return hashlib.sha256(s.encode()).hexdigest()


def launch_context(server, **over):
    ctx = {"patient": "pt-1", "encounter": "enc-1",
           "fhirContext": [{"reference": "DocumentReference/doc-1"}],
           "need_patient_banner": False,
           "smart_style_url": server.auth_base + "/style",
           "intent": "reconcile-medications",
           "fhirUser": "Patient/pt-1"}
    ctx.update(over)
    return {k: v for k, v in ctx.items() if v is not None}


class Code:
    """An authorization code row made the way authorize makes them."""

    def __init__(self, value, verifier, challenge, family_id, **row):
        self.value = value
        self.verifier = verifier
        self.challenge = challenge
        self.family_id = family_id
        self.row = row


def make_code(pg, server, client_id=PUBLIC, scope=SCOPE, user="alice", ctx=None,
              nonce=None, pkce=True, redirect=REDIRECT, lifetime=60,
              session_hash=None, online_only=False, auth_time=None):
    value = b64u(secrets.token_bytes(32))
    verifier = b64u(secrets.token_bytes(48))
    challenge = b64u(hashlib.sha256(verifier.encode()).digest()) if pkce else None
    ctx = launch_context(server) if ctx is None else ctx
    auth_time = auth_time or int(time.time()) - 30
    family = str(uuid.uuid4())
    pg.exec("""INSERT INTO smart.authorization_codes
        (code_hash, family_id, client_id, user_id, redirect_uri, scope, launch_context,
         nonce, code_challenge, code_challenge_method, auth_time, issued_at, expires_at,
         session_hash, online_only)
        VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, to_timestamp(%s),
                now() - make_interval(secs => 120) + make_interval(secs => %s),
                now() + make_interval(secs => %s), %s, %s)""",
            (sha256_hex(value), family, client_id, user, redirect, scope, json.dumps(ctx),
             nonce, challenge, "S256" if pkce else None, auth_time,
             min(lifetime, 0) + 119, lifetime, session_hash, online_only))
    return Code(value, verifier if pkce else None, challenge, family, scope=scope,
                nonce=nonce, auth_time=auth_time, user=user, ctx=ctx)


def make_session(pg, user="alice", lifetime=3600):
    sid = b64u(secrets.token_bytes(32))
    pg.exec("""INSERT INTO smart.sessions (session_hash, user_id, auth_time, expires_at)
               VALUES (%s, %s, now(), now() + make_interval(secs => %s))""",
            (sha256_hex(sid), user, lifetime))
    return sha256_hex(sid)


def post(server, data, auth=None, headers=None, path="/auth/token"):
    return requests.post(server.url(path), data=data, auth=auth, headers=headers,
                         allow_redirects=False, timeout=30)


def redeem(server, code, client_id=PUBLIC, auth=None, **extra):
    data = {"grant_type": "authorization_code", "code": code.value,
            "redirect_uri": REDIRECT}
    if code.verifier is not None:
        data["code_verifier"] = code.verifier
    if auth is None and client_id is not None:
        data["client_id"] = client_id
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    return post(server, data, auth=auth)


def refresh(server, token, client_id=PUBLIC, auth=None, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": token}
    if auth is None and client_id is not None:
        data["client_id"] = client_id
    data.update(extra)
    return post(server, data, auth=auth)


def assert_oauth_error(r, status, error, *secret_values):
    """RFC 6749 5.2 error shape, no-store, and no secret in the answer."""
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Pragma"] == "no-cache"
    body = r.json()
    assert body["error"] == error, body
    assert isinstance(body.get("error_description"), str) and body["error_description"]
    assert set(body) <= {"error", "error_description", "error_uri"}
    for s in secret_values:
        if s:
            assert s not in r.text
            assert s not in str(r.headers)
    return body


def jwks_keys(server):
    r = requests.get(server.url("/auth/jwks"), timeout=10)
    assert r.status_code == 200
    return {k["kid"]: k for k in r.json()["keys"]}


def verify_jwt(server, token, audience, typ):
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["typ"] == typ
    keys = jwks_keys(server)
    assert header["kid"] in keys
    jwk = keys[header["kid"]]
    assert jwk["kty"] == "RSA"
    key = jwt.PyJWK(jwk).key
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience,
                      issuer=server.fhir_base, options={"require": ["exp", "iat", "iss", "sub"]})


def audit_rows(pg, event, client_id):
    return pg.query("SELECT outcome, detail FROM smart.audit_events "
                    "WHERE event = %s AND client_id = %s ORDER BY id", (event, client_id))


@pytest.fixture(scope="module")
def clients(server, demo):
    resources = [
        {"resourceType": "Client", "id": PUBLIC, "grant_types": ["authorization_code", "refresh_token"],
         "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True,
                                         "secret_required": False,
                                         "access_token_expiration": PUBLIC_LIFETIME}}},
        {"resourceType": "Client", "id": CONF, "secret": CONF_SECRET,
         "grant_types": ["authorization_code", "refresh_token"],
         "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True,
                                         "secret_required": True,
                                         "access_token_expiration": CONF_LIFETIME,
                                         "refresh_token_expiration": 7200}}},
        {"resourceType": "Client", "id": OTHER, "grant_types": ["authorization_code", "refresh_token"],
         "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True,
                                         "secret_required": False}}},
        {"resourceType": "Client", "id": NOREFRESH, "grant_types": ["authorization_code"],
         "auth": {"authorization_code": {"redirect_uri": REDIRECT, "secret_required": False}}},
        {"resourceType": "Client", "id": BACKEND, "secret": "backend-secret-0123",
         "grant_types": ["client_credentials"]},
    ]
    demo.exec("SELECT smart.put(%s::jsonb)", (json.dumps(resources),))
    return demo


# ---- successful exchanges ---------------------------------------------------

def test_public_client_code_exchange_response(server, clients):
    code = make_code(clients, server, nonce="n-0S6_WzA2Mj")
    r = redeem(server, code, headers=None)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Pragma"] == "no-cache"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    body = r.json()
    assert isinstance(body["access_token"], str) and body["access_token"].count(".") == 2
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == PUBLIC_LIFETIME
    assert isinstance(body["expires_in"], int)
    assert body["scope"] == SCOPE
    assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) == 43
    assert set(body["refresh_token"]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert isinstance(body["id_token"], str)
    assert body["patient"] == "pt-1"
    assert body["encounter"] == "enc-1"
    assert body["fhirContext"] == [{"reference": "DocumentReference/doc-1"}]
    assert body["need_patient_banner"] is False
    assert body["smart_style_url"] == server.auth_base + "/style"
    assert body["intent"] == "reconcile-medications"
    assert "tenant" not in body          # not configured
    assert "fhirUser" not in body        # a claim, not a response member


def test_access_token_is_rfc9068_jwt_and_recorded(server, clients):
    session = make_session(clients)
    code = make_code(clients, server, session_hash=session)
    body = redeem(server, code).json()
    claims = verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")
    assert claims["iss"] == server.fhir_base
    assert claims["aud"] == server.fhir_base
    assert claims["sub"] == "alice"
    assert claims["client_id"] == PUBLIC
    assert claims["scope"] == SCOPE
    assert claims["exp"] - claims["iat"] == PUBLIC_LIFETIME
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["patient"] == "pt-1"
    assert claims["encounter"] == "enc-1"
    assert claims["fhirUser"] == server.fhir_base + "/Patient/pt-1"
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 32
    rows = clients.query("""SELECT family_id::text, client_id, user_id, scope, launch_context,
                                   extract(epoch FROM expires_at)::bigint, revoked_at, session_hash
                            FROM smart.access_tokens WHERE jti = %s""", (claims["jti"],))
    assert len(rows) == 1
    fam, cid, uid, scope, ctx, exp, revoked, sess = rows[0]
    assert (fam, cid, uid, scope) == (code.family_id, PUBLIC, "alice", SCOPE)
    assert ctx["patient"] == "pt-1"
    assert exp == claims["exp"]
    assert revoked is None
    assert sess == session


def test_refresh_token_row_carries_the_grant(server, clients):
    sess = make_session(clients)
    code = make_code(clients, server, nonce="nonce-abc", session_hash=sess)
    body = redeem(server, code).json()
    rows = clients.query("""SELECT family_id::text, client_id, user_id, scope, launch_context,
                                   session_hash, online_only, extract(epoch FROM auth_time)::bigint,
                                   nonce, used_at, revoked_at,
                                   extract(epoch FROM expires_at - issued_at)::bigint
                            FROM smart.refresh_tokens WHERE token_hash = %s""",
                         (sha256_hex(body["refresh_token"]),))
    assert len(rows) == 1
    fam, cid, uid, scope, ctx, s, online, auth_time, nonce, used, revoked, life = rows[0]
    assert (fam, cid, uid, scope, s) == (code.family_id, PUBLIC, "alice", SCOPE, sess)
    assert ctx == code.row["ctx"]
    assert online is False
    assert auth_time == code.row["auth_time"]
    assert nonce == "nonce-abc"
    assert used is None and revoked is None
    assert abs(life - 7776000) <= 2          # server default refresh_token_lifetime


def test_grant_writes_consume_tokens_and_audit_in_one_transaction(server, clients):
    # The rows a code redemption and a rotation write share one xmin: one
    # write transaction per token response, audit row included.
    code = make_code(clients, server)
    body = redeem(server, code).json()
    jti = verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")["jti"]
    xids = clients.query(
        """SELECT (SELECT xmin::text FROM smart.authorization_codes WHERE code_hash = %s),
                  (SELECT xmin::text FROM smart.access_tokens WHERE jti = %s),
                  (SELECT xmin::text FROM smart.refresh_tokens WHERE token_hash = %s),
                  (SELECT string_agg(xmin::text, ',') FROM smart.audit_events
                    WHERE event = 'token' AND outcome = 'success' AND detail->>'jti' = %s)""",
        (sha256_hex(code.value), jti, sha256_hex(body["refresh_token"]), jti))[0]
    assert None not in xids and len(set(xids)) == 1, xids

    r = refresh(server, body["refresh_token"])
    assert r.status_code == 200, r.text
    new = r.json()
    jti2 = verify_jwt(server, new["access_token"], server.fhir_base, "at+jwt")["jti"]
    xids = clients.query(
        """SELECT (SELECT xmin::text FROM smart.refresh_tokens WHERE token_hash = %s),
                  (SELECT xmin::text FROM smart.refresh_tokens WHERE token_hash = %s),
                  (SELECT xmin::text FROM smart.access_tokens WHERE jti = %s),
                  (SELECT string_agg(xmin::text, ',') FROM smart.audit_events
                    WHERE event = 'refresh' AND outcome = 'success' AND detail->>'jti' = %s)""",
        (sha256_hex(body["refresh_token"]), sha256_hex(new["refresh_token"]), jti2, jti2))[0]
    assert None not in xids and len(set(xids)) == 1, xids
    # The consumed token names its successor.
    assert clients.query("SELECT replaced_by FROM smart.refresh_tokens WHERE token_hash = %s",
                         (sha256_hex(body["refresh_token"]),))[0][0] == sha256_hex(new["refresh_token"])


def test_id_token_claims(server, clients):
    code = make_code(clients, server, nonce="n-0S6_WzA2Mj", auth_time=int(time.time()) - 100)
    body = redeem(server, code).json()
    claims = verify_jwt(server, body["id_token"], PUBLIC, "JWT")
    assert claims["iss"] == server.fhir_base
    assert claims["sub"] == "alice"
    assert claims["aud"] == PUBLIC
    assert claims["exp"] > time.time()
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["auth_time"] == code.row["auth_time"]
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["fhirUser"] == server.fhir_base + "/Patient/pt-1"
    assert "profile" not in claims
    # The issuer in the id_token is the one the OpenID configuration names.
    conf = requests.get(server.fhir_base + "/.well-known/openid-configuration", timeout=10).json()
    assert conf["issuer"] == claims["iss"]


def test_id_token_without_nonce_has_no_nonce(server, clients):
    code = make_code(clients, server, nonce=None)
    claims = verify_jwt(server, redeem(server, code).json()["id_token"], PUBLIC, "JWT")
    assert "nonce" not in claims


def test_no_id_token_without_openid(server, clients):
    code = make_code(clients, server, scope="launch/patient offline_access patient/Observation.rs")
    body = redeem(server, code).json()
    assert "id_token" not in body
    assert "refresh_token" in body


def test_no_fhir_user_claim_without_fhiruser_scope(server, clients):
    code = make_code(clients, server, scope="openid patient/Observation.rs")
    body = redeem(server, code).json()
    claims = verify_jwt(server, body["id_token"], PUBLIC, "JWT")
    assert "fhirUser" not in claims
    assert "refresh_token" not in body       # neither offline_access nor online_access


def test_v1_scope_echoed_as_v1(server, clients):
    code = make_code(clients, server, scope=V1_SCOPE)
    body = redeem(server, code).json()
    assert body["scope"] == V1_SCOPE
    at = verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")
    assert at["scope"] == V1_SCOPE
    # v1 "profile" asks for the user's FHIR resource like fhirUser does.
    idt = verify_jwt(server, body["id_token"], PUBLIC, "JWT")
    assert idt["fhirUser"] == server.fhir_base + "/Patient/pt-1"
    assert idt["profile"] == server.fhir_base + "/Patient/pt-1"


def test_minimal_launch_context(server, clients):
    code = make_code(clients, server, ctx={})
    body = redeem(server, code).json()
    for member in ("patient", "encounter", "fhirContext", "need_patient_banner",
                   "smart_style_url", "intent"):
        assert member not in body
    at = verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")
    assert "patient" not in at and "fhirUser" not in at


def test_confidential_client_basic(server, clients):
    code = make_code(clients, server, client_id=CONF)
    r = redeem(server, code, client_id=None, auth=(CONF, CONF_SECRET))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["expires_in"] == CONF_LIFETIME
    assert verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")["client_id"] == CONF
    life = clients.query("SELECT extract(epoch FROM expires_at - issued_at)::bigint "
                         "FROM smart.refresh_tokens WHERE token_hash = %s",
                         (sha256_hex(body["refresh_token"]),))[0][0]
    assert abs(life - 7200) <= 2            # the client's refresh_token_expiration


def test_confidential_client_secret_post(server, clients):
    code = make_code(clients, server, client_id=CONF)
    r = redeem(server, code, client_id=CONF, client_secret=CONF_SECRET)
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer"


def test_confidential_client_without_authentication_refused(server, clients):
    code = make_code(clients, server, client_id=CONF)
    r = redeem(server, code, client_id=CONF)
    assert_oauth_error(r, 401, "invalid_client", code.value, code.verifier)
    # RFC 6749 5.2: no Authorization header was used, so no challenge.
    assert "WWW-Authenticate" not in r.headers
    # The code was not touched: the real client can still redeem it.
    assert redeem(server, code, client_id=None, auth=(CONF, CONF_SECRET)).status_code == 200


@pytest.mark.parametrize("how", ["basic", "post"])
def test_wrong_secret_is_401_with_challenge_only_for_basic(server, clients, how):
    code = make_code(clients, server, client_id=CONF)
    before = len(audit_rows(clients, "token", CONF))
    if how == "basic":
        r = redeem(server, code, client_id=None, auth=(CONF, "wrong-secret-xyz"))
    else:
        r = redeem(server, code, client_id=CONF, client_secret="wrong-secret-xyz")
    assert_oauth_error(r, 401, "invalid_client", code.value, "wrong-secret-xyz", CONF_SECRET)
    # RFC 6749 5.2: the challenge matches the Authorization header the
    # client used; client_secret_post used none, so it gets none.
    if how == "basic":
        assert r.headers["WWW-Authenticate"].startswith("Basic")
    else:
        assert "WWW-Authenticate" not in r.headers
    rows = audit_rows(clients, "token", CONF)
    assert len(rows) == before + 1
    assert rows[-1][0] == "failure" and rows[-1][1]["error"] == "invalid_client"


def test_unknown_client_is_invalid_client(server, clients):
    code = make_code(clients, server)
    r = redeem(server, code, client_id="no-such-client")
    assert_oauth_error(r, 401, "invalid_client", code.value)


def test_two_client_auth_methods_at_once(server, clients):
    code = make_code(clients, server, client_id=CONF)
    r = redeem(server, code, client_id=CONF, client_secret=CONF_SECRET, auth=(CONF, CONF_SECRET))
    assert_oauth_error(r, 400, "invalid_request", code.value, CONF_SECRET)


def test_client_not_registered_for_authorization_code(server, clients):
    code = make_code(clients, server, client_id=BACKEND)
    r = redeem(server, code, client_id=None, auth=(BACKEND, "backend-secret-0123"))
    assert_oauth_error(r, 400, "unauthorized_client", code.value)


def test_client_without_refresh_permission_gets_no_refresh_token(server, clients):
    code = make_code(clients, server, client_id=NOREFRESH)
    r = redeem(server, code, client_id=NOREFRESH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "refresh_token" not in body
    assert "access_token" in body
    assert clients.query("SELECT count(*) FROM smart.refresh_tokens WHERE family_id = %s",
                         (code.family_id,))[0][0] == 0


# ---- code replay, expiry, binding -----------------------------------------

def test_code_replay_revokes_tokens(server, clients):
    code = make_code(clients, server)
    first = redeem(server, code)
    assert first.status_code == 200
    jti = jwt.decode(first.json()["access_token"], options={"verify_signature": False})["jti"]
    second = redeem(server, code)
    assert_oauth_error(second, 400, "invalid_grant", code.value, code.verifier)
    assert clients.query("SELECT revoked_at IS NOT NULL FROM smart.access_tokens WHERE jti = %s",
                         (jti,)) == [(True,)]
    assert clients.query("SELECT bool_and(revoked_at IS NOT NULL) FROM smart.refresh_tokens "
                         "WHERE family_id = %s", (code.family_id,)) == [(True,)]
    # The refresh token from the first exchange is dead too.
    assert_oauth_error(refresh(server, first.json()["refresh_token"]), 400, "invalid_grant")
    reuse = audit_rows(clients, "code_reuse", PUBLIC)
    assert any(d.get("family_id") == code.family_id and d["revoked_access_tokens"] == 1
               for _, d in reuse)


def test_concurrent_redemptions_issue_once(server, clients):
    code = make_code(clients, server)
    results = []

    def go():
        results.append(redeem(server, code))
    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) <= 1
    assert codes.count(400) >= 3
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.status_code == 400)


def test_expired_code(server, clients):
    code = make_code(clients, server, lifetime=-1)
    assert_oauth_error(redeem(server, code), 400, "invalid_grant", code.value)


def test_unknown_code(server, clients):
    r = redeem(server, Code(b64u(secrets.token_bytes(32)), "v" * 43, None, None))
    assert_oauth_error(r, 400, "invalid_grant")


def test_missing_code(server, clients):
    r = post(server, {"grant_type": "authorization_code", "redirect_uri": REDIRECT,
                      "client_id": PUBLIC, "code_verifier": "x" * 43})
    assert_oauth_error(r, 400, "invalid_request")


def test_code_of_another_client_is_refused_and_burnt(server, clients):
    code = make_code(clients, server, client_id=PUBLIC)
    r = redeem(server, code, client_id=OTHER)
    body = assert_oauth_error(r, 400, "invalid_grant", code.value)
    assert "client" in body["error_description"]
    # A leaked code is burnt: its own client cannot use it any more.
    assert_oauth_error(redeem(server, code), 400, "invalid_grant")


@pytest.mark.parametrize("redirect", [None, "", "https://app.example/other",
                                      "https://app.example/cb/", "https://APP.example/cb",
                                      "https://app.example/cb?x=1", "https://app.example/c"])
def test_redirect_uri_must_match(server, clients, redirect):
    code = make_code(clients, server)
    data = {"grant_type": "authorization_code", "code": code.value, "client_id": PUBLIC,
            "code_verifier": code.verifier}
    if redirect is not None:
        data["redirect_uri"] = redirect
    body = assert_oauth_error(post(server, data), 400, "invalid_grant", code.value, code.verifier)
    assert "redirect_uri" in body["error_description"]


@pytest.mark.parametrize("variant", ["missing", "empty", "wrong", "challenge"])
def test_invalid_pkce_verifier(server, clients, variant):
    code = make_code(clients, server)
    verifier = {"missing": None, "empty": "", "wrong": b64u(secrets.token_bytes(32)),
                "challenge": code.challenge}[variant]
    data = {"grant_type": "authorization_code", "code": code.value, "client_id": PUBLIC,
            "redirect_uri": REDIRECT}
    if verifier is not None:
        data["code_verifier"] = verifier
    body = assert_oauth_error(post(server, data), 400, "invalid_grant", code.value, code.verifier)
    assert "code_verifier" in body["error_description"]
    # A failed verifier check burns the code.
    assert_oauth_error(redeem(server, code), 400, "invalid_grant")
    assert clients.query("SELECT count(*) FROM smart.access_tokens WHERE family_id = %s",
                         (code.family_id,)) == [(0,)]


def test_verifier_without_challenge_is_refused(server, clients):
    code = make_code(clients, server, pkce=False)
    r = redeem(server, code, code_verifier=b64u(secrets.token_bytes(32)))
    assert_oauth_error(r, 400, "invalid_grant", code.value)


def test_disabled_user_code_refused(server, clients):
    clients.exec("SELECT smart.put(%s::jsonb)", (json.dumps(
        {"resourceType": "User", "id": "tok-gone", "password": "pw-12345678",
         "fhirUser": "Patient/pt-2"}),))
    code = make_code(clients, server, user="tok-gone")
    clients.exec("SELECT smart.put(%s::jsonb)", (json.dumps(
        {"resourceType": "User", "id": "tok-gone", "active": False}),))
    assert_oauth_error(redeem(server, code), 400, "invalid_grant", code.value)


# ---- request handling -------------------------------------------------------

@pytest.mark.parametrize("param", ["code", "grant_type", "redirect_uri", "code_verifier",
                                   "client_id"])
def test_repeated_parameter_refused(server, clients, param):
    code = make_code(clients, server)
    data = [("grant_type", "authorization_code"), ("code", code.value),
            ("redirect_uri", REDIRECT), ("code_verifier", code.verifier), ("client_id", PUBLIC)]
    data += [(k, v) for k, v in data if k == param]
    body = assert_oauth_error(post(server, data), 400, "invalid_request", code.value, code.verifier)
    assert param in body["error_description"]
    # Refused before the code was looked at: it still works.
    assert redeem(server, code).status_code == 200


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", "multipart/form-data; boundary=x", None])
def test_wrong_content_type(server, clients, ctype):
    code = make_code(clients, server)
    body = f"grant_type=authorization_code&code={code.value}&redirect_uri=x&client_id={PUBLIC}"
    headers = {"Content-Type": ctype} if ctype else {}
    r = requests.post(server.url("/auth/token"), data=body.encode(), headers=headers, timeout=10)
    if ctype is None:
        # requests sends no Content-Type for raw bytes
        assert "Content-Type" not in r.request.headers
    assert_oauth_error(r, 400, "invalid_request", code.value)


def test_form_content_type_with_charset_accepted(server, clients):
    code = make_code(clients, server)
    r = requests.post(server.url("/auth/token"),
                      data=(f"grant_type=authorization_code&code={code.value}"
                            f"&redirect_uri={requests.utils.quote(REDIRECT, safe='')}"
                            f"&client_id={PUBLIC}&code_verifier={code.verifier}").encode(),
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
                      timeout=10)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(server, clients, method):
    r = requests.request(method, server.url("/auth/token"), timeout=10)
    assert_oauth_error(r, 405, "invalid_request")
    assert "POST" in r.headers["Allow"]


def test_cors_preflight(server, clients):
    r = requests.options(server.url("/auth/token"),
                         headers={"Origin": "https://app.example",
                                  "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": "authorization, content-type"},
                         timeout=10)
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()


def test_errors_carry_cors(server, clients):
    r = post(server, {"grant_type": "authorization_code", "client_id": PUBLIC},
             headers={"Origin": "https://app.example"})
    assert r.status_code == 400
    assert r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("grant", ["password", "client-credentials", "implicit",
                                   "urn:ietf:params:oauth:grant-type:jwt-bearer", "AUTHORIZATION_CODE"])
def test_unsupported_grant_type(server, clients, grant):
    before = len(audit_rows(clients, "token", PUBLIC))
    r = post(server, {"grant_type": grant, "client_id": PUBLIC})
    assert_oauth_error(r, 400, "unsupported_grant_type")
    rows = audit_rows(clients, "token", PUBLIC)
    assert len(rows) == before + 1 and rows[-1][1]["error"] == "unsupported_grant_type"


def test_missing_grant_type(server, clients):
    code = make_code(clients, server)
    r = post(server, {"code": code.value, "client_id": PUBLIC, "redirect_uri": REDIRECT})
    assert_oauth_error(r, 400, "invalid_request", code.value)


def test_oversized_body_refused(server, clients):
    r = post(server, {"grant_type": "authorization_code", "client_id": PUBLIC,
                      "pad": "a" * (1024 * 1024 + 10)})
    assert r.status_code == 413
    assert r.json()["error"] == "invalid_request"


def test_nul_byte_refused(server, clients):
    r = requests.post(server.url("/auth/token"), data=b"grant_type=authorization_code%00&client_id=x",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert_oauth_error(r, 400, "invalid_request")


# ---- storage and audit -----------------------------------------------------

def test_codes_and_tokens_stored_only_hashed(server, clients):
    code = make_code(clients, server, nonce="nonce-hashed-check")
    body = redeem(server, code).json()
    rt = body["refresh_token"]
    new = refresh(server, rt).json()
    needles = [code.value, code.verifier, rt, new["refresh_token"], body["access_token"],
               new["access_token"]]
    tables = [t for (t,) in clients.query(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'smart' AND table_type = 'BASE TABLE'")]
    assert "refresh_tokens" in tables and "audit_events" in tables
    for t in tables:
        for n in needles:
            hits = clients.query(f'SELECT count(*) FROM smart."{t}" x WHERE x::text LIKE %s',
                                 ("%" + n + "%",))[0][0]
            assert hits == 0, f"plaintext found in smart.{t}"
    assert clients.query("SELECT count(*) FROM smart.refresh_tokens WHERE token_hash = %s",
                         (sha256_hex(rt),)) == [(1,)]


def test_token_issue_is_audited(server, clients):
    code = make_code(clients, server, client_id=NOREFRESH)
    jti = jwt.decode(redeem(server, code, client_id=NOREFRESH).json()["access_token"],
                     options={"verify_signature": False})["jti"]
    rows = [d for o, d in audit_rows(clients, "token", NOREFRESH) if o == "success"]
    assert any(d.get("jti") == jti and d.get("grant_type") == "authorization_code" for d in rows)


def test_failures_are_audited(server, clients):
    code = make_code(clients, server)
    before = len(audit_rows(clients, "token", PUBLIC))
    redeem(server, code, code_verifier="x" * 43)
    rows = audit_rows(clients, "token", PUBLIC)
    assert len(rows) == before + 1
    outcome, detail = rows[-1]
    assert outcome == "failure"
    assert detail["error"] == "invalid_grant"
    assert "code_verifier" in detail["reason"]


def test_tenant_in_response_when_configured(rundir, clients, bindir, keydir):
    from conftest import Web
    w = Web(rundir, "fcgid", clients, bindir, keydir, extra_conf="tenant = org-42\n",
            name="token-tenant")
    try:
        code = make_code(clients, w)
        body = redeem(w, code).json()
        assert body["tenant"] == "org-42"
        assert verify_jwt(w, body["access_token"], w.fhir_base, "at+jwt")["iss"] == w.fhir_base
    finally:
        w.stop()


def test_database_down_is_503_with_retry_after(server, clients):
    code = make_code(clients, server)
    clients.stop()
    try:
        r = redeem(server, code)
        assert_oauth_error(r, 503, "temporarily_unavailable", code.value)
        assert int(r.headers["Retry-After"]) > 0
    finally:
        clients.start()
    # The program reconnects by itself once the database is back.
    for _ in range(50):
        r = redeem(server, code)
        if r.status_code != 503:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text
