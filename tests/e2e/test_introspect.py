"""Token introspection, POST {auth}/introspect (RFC 7662, SMART App Launch
2.2 5.9): smart-conformance-notes 3.7 checks by name (4.2.01, 4.2.02,
4.3.01, 4.3.02), access and refresh tokens with and without launch
context, and who may introspect what:

  - a confidential client (Basic, client_secret_post, private_key_jwt)
    its own tokens; another client's token is {"active": false};
  - a client registered with the scope "smartauth/introspect", or a bearer
    token granted that scope, every client's tokens;
  - nobody else (401).
"""
import base64
import json
import time

import jwt
import pytest
import requests

from clientkit import SCOPE, app_client, backend_client, put
from test_token import launch_context, make_code, make_session, post, redeem, refresh, verify_jwt

APP = "in-app"
APP_SECRET = "in-app-secret-0123"
OTHER = "in-other"
OTHER_SECRET = "in-other-secret-0123"
RS = "in-rs"
RS_SECRET = "in-rs-secret-0123"
BACKEND = "in-backend"
BACKEND_SECRET = "in-backend-secret-0123"
PUBLIC = "in-public"


@pytest.fixture(scope="module")
def clients(server, demo):
    return put(demo, [
        app_client(APP, APP_SECRET), app_client(OTHER, OTHER_SECRET), app_client(PUBLIC, None),
        backend_client(RS, RS_SECRET, "smartauth/introspect system/*.rs"),
        backend_client(BACKEND, BACKEND_SECRET),
    ])


def user_grant(pg, server, client=APP, secret=APP_SECRET, **kw):
    kw.setdefault("scope", SCOPE)
    code = make_code(pg, server, client_id=client, **kw)
    r = redeem(server, code, client_id=None if secret else client,
               auth=(client, secret) if secret else None)
    assert r.status_code == 200, r.text
    return r.json()


def backend_grant(server, client=BACKEND, secret=BACKEND_SECRET, scope="system/*.rs"):
    r = post(server, {"grant_type": "client_credentials", "scope": scope}, auth=(client, secret))
    assert r.status_code == 200, r.text
    return r.json()


def introspect(server, token, auth=(APP, APP_SECRET), headers=None, **extra):
    data = {"token": token}
    data.update(extra)
    h = {"Accept": "application/json"}
    h.update(headers or {})
    return requests.post(server.url("/auth/introspect"), data=data, auth=auth, headers=h,
                         allow_redirects=False, timeout=30)


def basic(cid, secret):
    return "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()


def inactive(r):
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert r.json() == {"active": False}


# ---- smart-conformance-notes 3.7 ---------------------------------------------------

def test_4_2_01_active_token_answers_200_with_custom_basic_header(server, clients):
    body = user_grant(clients, server)
    # Inferno sends the confidential client's Basic header as a custom header.
    r = introspect(server, body["access_token"], auth=None,
                   headers={"Authorization": basic(APP, APP_SECRET)})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.json()["active"] is True


def test_4_2_02_invalid_token_answers_200(server, clients):
    r = introspect(server, "invalid_token_value")
    assert r.status_code == 200


def test_4_3_01_active_response_fields(server, clients):
    body = user_grant(clients, server)
    idt = jwt.decode(body["id_token"], options={"verify_signature": False})
    claims = verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")
    r = introspect(server, body["access_token"])
    got = r.json()
    assert got["active"] is True
    assert got["client_id"] == APP
    # Same scope tokens as the token response, in any order.
    assert sorted(got["scope"].split()) == sorted(body["scope"].split())
    assert isinstance(got["exp"], int) and got["exp"] >= time.time() - 600
    assert got["exp"] == claims["exp"] and got["iat"] == claims["iat"]
    assert got["patient"] == body["patient"] == "pt-1"
    assert got["encounter"] == body["encounter"] == "enc-1"
    assert got["fhirContext"] == body["fhirContext"]
    # An id_token was issued: iss and sub equal the id_token's.
    assert got["iss"] == idt["iss"] == server.fhir_base
    assert got["sub"] == idt["sub"] == "alice"
    assert got["fhirUser"] == idt["fhirUser"] == server.fhir_base + "/Patient/pt-1"
    assert got["aud"] == server.fhir_base
    assert got["token_type"] == "Bearer"
    for k in ("patient", "encounter", "iss", "sub", "client_id", "scope", "fhirUser"):
        assert isinstance(got[k], str), k


@pytest.mark.parametrize("token", [
    "invalid_token_value", "", "a.b.c", "x" * 43, "A" * 20000,
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.",
])
def test_4_3_02_invalid_token_is_exactly_active_false(server, clients, token):
    inactive(introspect(server, token))


# ---- access tokens ----------------------------------------------------------------

def test_access_token_without_launch_context(server, clients):
    body = user_grant(clients, server, user="dr-smith", scope="openid fhirUser user/*.rs",
                      ctx={"fhirUser": "Practitioner/pr-1"})
    got = introspect(server, body["access_token"]).json()
    assert got["active"] is True
    assert got["sub"] == "dr-smith"
    assert got["fhirUser"] == server.fhir_base + "/Practitioner/pr-1"
    for k in ("patient", "encounter", "fhirContext"):
        assert k not in got, k


def test_tampered_access_token_is_inactive(server, clients):
    token = user_grant(clients, server)["access_token"]
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "patient/*.cruds"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    inactive(introspect(server, f"{head}.{forged}.{sig}"))


def test_expired_access_token_is_inactive(server, clients):
    token = user_grant(clients, server)["access_token"]
    jti = verify_jwt(server, token, server.fhir_base, "at+jwt")["jti"]
    clients.exec("UPDATE smart.access_tokens SET expires_at = now() - interval '1 second' "
                 "WHERE jti = %s", (jti,))
    inactive(introspect(server, token))


def test_revoked_access_token_is_inactive_at_once(server, clients):
    token = user_grant(clients, server)["access_token"]
    assert introspect(server, token).json()["active"] is True
    jti = verify_jwt(server, token, server.fhir_base, "at+jwt")["jti"]
    clients.exec("UPDATE smart.access_tokens SET revoked_at = now() WHERE jti = %s", (jti,))
    inactive(introspect(server, token))


def test_disabled_user_token_is_inactive(server, clients):
    put(clients, {"resourceType": "User", "id": "in-carol", "password": "carol-password-1",
                  "fhirUser": "Patient/pt-3"})
    token = user_grant(clients, server, user="in-carol",
                       ctx=launch_context(server, patient="pt-3", fhirUser="Patient/pt-3"))["access_token"]
    assert introspect(server, token).json()["active"] is True
    clients.exec("UPDATE smart.users SET active = false WHERE id = 'in-carol'")
    inactive(introspect(server, token))


def test_backend_token_introspected_by_its_client(server, clients):
    token = backend_grant(server)["access_token"]
    # client_secret_post this time.
    got = introspect(server, token, auth=None, client_id=BACKEND,
                     client_secret=BACKEND_SECRET).json()
    assert got["active"] is True
    assert got["sub"] == BACKEND and got["client_id"] == BACKEND
    assert got["scope"] == "system/*.rs"
    assert got["exp"] - got["iat"] == 300
    assert "patient" not in got and "fhirUser" not in got


# ---- refresh tokens ---------------------------------------------------------------

def test_refresh_token_introspection(server, clients):
    sess = make_session(clients)
    body = user_grant(clients, server, session_hash=sess)
    got = introspect(server, body["refresh_token"], token_type_hint="refresh_token").json()
    assert got["active"] is True
    assert got["client_id"] == APP
    assert got["sub"] == "alice"
    assert sorted(got["scope"].split()) == sorted(body["scope"].split())
    assert got["patient"] == "pt-1"
    assert got["fhirContext"] == body["fhirContext"]
    assert got["token_type"] == "refresh_token"
    row = clients.query("SELECT extract(epoch FROM expires_at)::bigint FROM smart.refresh_tokens "
                        "WHERE client_id = %s ORDER BY issued_at DESC LIMIT 1", (APP,))
    assert got["exp"] == row[0][0]


def test_rotated_refresh_token_is_inactive_and_successor_active(server, clients):
    body = user_grant(clients, server)
    r = refresh(server, body["refresh_token"], client_id=None, auth=(APP, APP_SECRET))
    assert r.status_code == 200, r.text
    inactive(introspect(server, body["refresh_token"]))
    assert introspect(server, r.json()["refresh_token"]).json()["active"] is True


def test_hint_does_not_matter(server, clients):
    body = user_grant(clients, server)
    for hint in ("access_token", "refresh_token", "bogus"):
        assert introspect(server, body["access_token"], token_type_hint=hint).json()["active"]
        assert introspect(server, body["refresh_token"], token_type_hint=hint).json()["active"]


# ---- who may introspect ---------------------------------------------------------

def test_other_client_sees_inactive(server, clients):
    body = user_grant(clients, server)
    inactive(introspect(server, body["access_token"], auth=(OTHER, OTHER_SECRET)))
    inactive(introspect(server, body["refresh_token"], auth=(OTHER, OTHER_SECRET)))
    # The owner still sees it active: nothing was changed.
    assert introspect(server, body["access_token"]).json()["active"] is True


def test_client_registered_with_introspection_scope_sees_every_token(server, clients):
    body = user_grant(clients, server)
    got = introspect(server, body["access_token"], auth=(RS, RS_SECRET)).json()
    assert got["active"] is True and got["client_id"] == APP and got["patient"] == "pt-1"
    assert introspect(server, body["refresh_token"], auth=(RS, RS_SECRET)).json()["active"]


def test_bearer_token_with_introspection_scope(server, clients):
    rs_token = backend_grant(server, RS, RS_SECRET, "smartauth/introspect")["access_token"]
    body = user_grant(clients, server)
    r = introspect(server, body["access_token"], auth=None,
                   headers={"Authorization": "Bearer " + rs_token})
    got = r.json()
    assert got["active"] is True and got["client_id"] == APP and got["sub"] == "alice"


def test_bearer_token_without_introspection_scope_is_403(server, clients):
    token = backend_grant(server)["access_token"]
    body = user_grant(clients, server)
    r = introspect(server, body["access_token"], auth=None,
                   headers={"Authorization": "Bearer " + token})
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    assert "active" not in r.json()


@pytest.mark.parametrize("bearer", ["garbage", "a.b.c", ""])
def test_bad_bearer_is_401_with_challenge(server, clients, bearer):
    body = user_grant(clients, server)
    r = introspect(server, body["access_token"], auth=None,
                   headers={"Authorization": ("Bearer " + bearer).strip()})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert "Bearer" in r.headers["WWW-Authenticate"]
    assert "Basic" not in r.headers["WWW-Authenticate"]     # one challenge: the scheme used


def test_revoked_bearer_is_401(server, clients):
    rs_token = backend_grant(server, RS, RS_SECRET, "smartauth/introspect")["access_token"]
    jti = verify_jwt(server, rs_token, server.fhir_base, "at+jwt")["jti"]
    clients.exec("UPDATE smart.access_tokens SET revoked_at = now() WHERE jti = %s", (jti,))
    r = introspect(server, "invalid_token_value", auth=None,
                   headers={"Authorization": "Bearer " + rs_token})
    assert r.status_code == 401


def test_unauthenticated_caller_is_401(server, clients):
    body = user_grant(clients, server)
    before = clients.query("SELECT count(*) FROM smart.audit_events WHERE event = 'introspect' "
                           "AND outcome = 'failure'")[0][0]
    r = introspect(server, body["access_token"], auth=None)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert "active" not in r.json()
    after = clients.query("SELECT count(*) FROM smart.audit_events WHERE event = 'introspect' "
                          "AND outcome = 'failure'")[0][0]
    assert after == before + 1


def test_public_client_may_not_introspect(server, clients):
    body = user_grant(clients, server, client=PUBLIC, secret=None)
    r = requests.post(server.url("/auth/introspect"),
                      data={"token": body["access_token"], "client_id": PUBLIC}, timeout=30)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" not in r.headers


def test_wrong_secret_is_401(server, clients):
    body = user_grant(clients, server)
    r = introspect(server, body["access_token"], auth=(APP, APP_SECRET + "x"))
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    assert APP_SECRET not in r.text


# ---- request handling ---------------------------------------------------------------

def test_missing_token_is_invalid_request(server, clients):
    r = requests.post(server.url("/auth/introspect"), data={"x": "1"}, auth=(APP, APP_SECRET),
                      timeout=30)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_repeated_token_is_invalid_request(server, clients):
    r = requests.post(server.url("/auth/introspect"), data="token=a&token=b",
                      headers={"Content-Type": "application/x-www-form-urlencoded"},
                      auth=(APP, APP_SECRET), timeout=30)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_json_body_is_refused(server, clients):
    r = requests.post(server.url("/auth/introspect"), json={"token": "x"}, auth=(APP, APP_SECRET),
                      timeout=30)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_get_is_405(server, clients):
    r = requests.get(server.url("/auth/introspect"), timeout=30)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


def test_nul_in_token_refused(server, clients):
    r = requests.post(server.url("/auth/introspect"), data=b"token=a%00b",
                      headers={"Content-Type": "application/x-www-form-urlencoded"},
                      auth=(APP, APP_SECRET), timeout=30)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_preflight(server, clients):
    r = requests.options(server.url("/auth/introspect"),
                         headers={"Origin": "https://app.example",
                                  "Access-Control-Request-Method": "POST"}, timeout=30)
    assert r.status_code in (200, 204)
    assert "POST" in r.headers["Access-Control-Allow-Methods"]


# ---- remembered callers -------------------------------------------------------------

def test_changed_secret_is_refused_at_once_after_repeated_use(server, clients):
    """Callers authenticated by secret are remembered per process; a Client
    change through smart.put must end that on the very next request."""
    cid, old, new = "in-rotating", "in-rotating-secret-old", "in-rotating-secret-new"
    c = app_client(cid, old)
    put(clients, c)
    body = user_grant(clients, server, client=cid, secret=old)
    for _ in range(12):          # reach every FastCGI process of the pool
        assert introspect(server, body["access_token"], auth=(cid, old)).json()["active"]
        assert introspect(server, body["access_token"], auth=None, client_id=cid,
                          client_secret=old).json()["active"]
    c["secret"] = new
    put(clients, c)
    for _ in range(12):
        r = introspect(server, body["access_token"], auth=(cid, old))
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        r = introspect(server, body["access_token"], auth=None, client_id=cid, client_secret=old)
        assert r.status_code == 401
    assert introspect(server, body["access_token"], auth=(cid, new)).json()["active"] is True


def test_deactivated_caller_is_refused_at_once_after_repeated_use(server, clients):
    cid, secret = "in-leaving", "in-leaving-secret-0123"
    c = app_client(cid, secret)
    c["scope"] = "smartauth/introspect"
    put(clients, c)
    body = user_grant(clients, server)
    for _ in range(12):
        assert introspect(server, body["access_token"], auth=(cid, secret)).json()["active"]
    c["active"] = False
    put(clients, c)
    for _ in range(12):
        assert introspect(server, body["access_token"], auth=(cid, secret)).status_code == 401


def test_introspection_right_withdrawn_at_once(server, clients):
    cid, secret = "in-demoted", "in-demoted-secret-0123"
    c = app_client(cid, secret)
    c["scope"] = "smartauth/introspect"
    put(clients, c)
    body = user_grant(clients, server)
    for _ in range(12):
        assert introspect(server, body["access_token"], auth=(cid, secret)).json()["active"]
    del c["scope"]
    put(clients, c)
    for _ in range(12):
        inactive(introspect(server, body["access_token"], auth=(cid, secret)))
