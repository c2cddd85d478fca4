"""client_credentials grant (RFC 6749 4.4, SMART App Launch 2.2 Backend
Services) with secret-authenticated clients: smart-conformance-notes 3.6
response checks, the scope rules (system/ only, within the registered
scope, v1 and v2 syntax), lifetimes, no refresh token, the audit trail,
and the token at the FHIR gateway.

Assertion-authenticated (private_key_jwt) backend clients are covered by
test_client_assertion.py.
"""
import json

import pytest
import requests

from test_token import assert_oauth_error, audit_rows, post, verify_jwt

CC = "cc-backend"
CC_SECRET = "cc-backend-secret-0123"
CC_SCOPE = "system/*.rs system/Observation.cruds"
SHORT = "cc-short"
V1 = "cc-v1"
NOSCOPE = "cc-noscope"
PUBLIC = "cc-public"
CODEONLY = "cc-codeonly"
SECRET = "cc-secret-0123456789"


@pytest.fixture(scope="module")
def backends(server, demo):
    resources = [
        {"resourceType": "Client", "id": CC, "secret": CC_SECRET,
         "grant_types": ["client_credentials"], "scope": CC_SCOPE},
        {"resourceType": "Client", "id": SHORT, "secret": SECRET,
         "grant_types": ["client_credentials"], "scope": "system/*.rs",
         "auth": {"client_credentials": {"access_token_expiration": 120}}},
        {"resourceType": "Client", "id": V1, "secret": SECRET,
         "grant_types": ["client_credentials"], "scope": "system/*.read"},
        {"resourceType": "Client", "id": NOSCOPE, "secret": SECRET,
         "grant_types": ["client_credentials"]},
        {"resourceType": "Client", "id": PUBLIC, "grant_types": ["client_credentials"],
         "scope": "system/*.rs"},
        {"resourceType": "Client", "id": CODEONLY, "secret": SECRET,
         "grant_types": ["authorization_code"], "scope": "system/*.rs",
         "auth": {"authorization_code": {"redirect_uri": "https://app.example/cb"}}},
    ]
    demo.exec("SELECT smart.put(%s::jsonb)", (json.dumps(resources),))
    return demo


def cc(server, scope=CC_SCOPE, auth=(CC, CC_SECRET), **extra):
    data = {"grant_type": "client_credentials", "scope": scope}
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    return post(server, data, auth=auth, headers={"Accept": "application/json"})


def ok_body(r):
    assert r.status_code == 200, r.text
    return r.json()


# ---- smart-conformance-notes 3.6 ---------------------------------------------

def test_3_6_02_invalid_grant_type_is_exactly_400(server, backends):
    r = post(server, {"grant_type": "not_a_grant_type", "scope": "system/*.rs"},
             auth=(CC, CC_SECRET))
    body = assert_oauth_error(r, 400, "unsupported_grant_type", CC_SECRET)
    assert "client_credentials" in body["error_description"]


def test_3_6_05_06_success_and_response_body(server, backends):
    r = cc(server)
    assert r.status_code in (200, 201), r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Pragma"] == "no-cache"
    body = r.json()
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert body["token_type"].lower() == "bearer"
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] == 300          # backend_token_lifetime default
    assert body["scope"] == CC_SCOPE
    assert "refresh_token" not in body
    assert "id_token" not in body
    assert "patient" not in body and "encounter" not in body


def test_client_secret_post_works_too(server, backends):
    body = ok_body(cc(server, auth=None, client_id=CC, client_secret=CC_SECRET))
    assert body["scope"] == CC_SCOPE


def test_backend_token_names_the_client_and_is_recorded_without_family(server, backends):
    body = ok_body(cc(server, scope="system/Patient.rs"))
    claims = verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")
    assert claims["sub"] == CC
    assert claims["client_id"] == CC
    assert claims["scope"] == "system/Patient.rs"
    assert claims["exp"] - claims["iat"] == 300
    assert "patient" not in claims and "fhirUser" not in claims
    rows = backends.query("""SELECT family_id, client_id, user_id, scope, launch_context,
                                    extract(epoch FROM expires_at)::bigint, revoked_at
                             FROM smart.access_tokens WHERE jti = %s""", (claims["jti"],))
    assert rows == [(None, CC, None, "system/Patient.rs", {}, claims["exp"], None)]
    assert backends.query("SELECT count(*) FROM smart.refresh_tokens WHERE client_id = %s",
                          (CC,)) == [(0,)]


def test_backend_grant_is_audited(server, backends):
    body = ok_body(cc(server, scope="system/Observation.rs"))
    jti = verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")["jti"]
    outcome, detail = audit_rows(backends, "token", CC)[-1]
    assert outcome == "success"
    assert detail["grant_type"] == "client_credentials"
    assert detail["jti"] == jti
    assert detail["scope"] == "system/Observation.rs"
    assert detail["refresh_token"] is False
    assert body["access_token"] not in json.dumps(detail)


def test_per_client_lifetime_setting(server, backends):
    body = ok_body(cc(server, scope="system/*.rs", auth=(SHORT, SECRET)))
    assert body["expires_in"] == 120
    claims = verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")
    assert claims["exp"] - claims["iat"] == 120


# ---- scope rules ---------------------------------------------------------------

@pytest.mark.parametrize("scope", [
    "system/*.rs",
    "system/Patient.rs",
    "system/Observation.r system/Patient.s",
    "system/*.read",                          # v1 under a v2 registration
    "system/Observation.read",
    "system/Observation.cruds",
    "system/Observation.cud",
    "system/Observation.write",
    "system/Observation.rs?category=laboratory",
    "  system/Patient.rs   system/Encounter.rs ",
])
def test_scope_within_registration_is_granted_as_asked(server, backends, scope):
    body = ok_body(cc(server, scope=scope))
    assert body["scope"] == " ".join(scope.split())


@pytest.mark.parametrize("scope,why", [
    ("system/*.cruds", "more permissions than registered"),
    ("system/Patient.c", "create on a type registered read-only"),
    ("system/*.write", "v1 write beyond the registration"),
    ("system/*.*", "v1 star beyond the registration"),
    ("patient/*.rs", "patient scope"),
    ("user/*.rs", "user scope"),
    ("system/*.rs openid", "openid"),
    ("system/*.rs fhirUser", "fhirUser"),
    ("system/*.rs offline_access", "offline_access: no refresh tokens"),
    ("launch", "launch"),
    ("launch/patient", "launch/patient"),
    ("system/*.rs bogus", "unknown scope"),
    ("system/*.rs smartauth/introspect", "introspection scope not registered"),
    ("system/Observation.sr", "letters out of order"),
])
def test_scope_outside_rules_is_invalid_scope(server, backends, scope, why):
    before = len(audit_rows(backends, "token", CC))
    r = cc(server, scope=scope)
    assert_oauth_error(r, 400, "invalid_scope", CC_SECRET)
    rows = audit_rows(backends, "token", CC)
    assert len(rows) == before + 1
    assert rows[-1][0] == "failure" and rows[-1][1]["error"] == "invalid_scope", why


@pytest.mark.parametrize("scope", [None, "", "   "])
def test_scope_is_required(server, backends, scope):
    r = cc(server, scope=scope)
    body = assert_oauth_error(r, 400, "invalid_scope")
    assert "required" in body["error_description"]


def test_v1_registration_covers_v2_request(server, backends):
    body = ok_body(cc(server, scope="system/Observation.rs", auth=(V1, SECRET)))
    assert body["scope"] == "system/Observation.rs"
    assert_oauth_error(cc(server, scope="system/Observation.c", auth=(V1, SECRET)),
                       400, "invalid_scope")


def test_client_without_registered_scope_gets_nothing(server, backends):
    r = cc(server, scope="system/*.rs", auth=(NOSCOPE, SECRET))
    body = assert_oauth_error(r, 400, "invalid_scope")
    assert "registered" in body["error_description"]


# ---- client authentication ----------------------------------------------------------

def test_public_client_cannot_use_client_credentials(server, backends):
    r = cc(server, scope="system/*.rs", auth=None, client_id=PUBLIC)
    assert_oauth_error(r, 401, "invalid_client")
    assert "WWW-Authenticate" not in r.headers     # RFC 6749 5.2: no header, no challenge


def test_wrong_secret_is_invalid_client(server, backends):
    r = cc(server, auth=(CC, CC_SECRET + "x"))
    assert_oauth_error(r, 401, "invalid_client", CC_SECRET + "x")
    assert r.headers["WWW-Authenticate"].startswith("Basic")


def test_unknown_client_is_invalid_client(server, backends):
    r = cc(server, auth=("cc-nobody", SECRET))
    assert_oauth_error(r, 401, "invalid_client")


def test_client_not_registered_for_client_credentials(server, backends):
    r = cc(server, scope="system/*.rs", auth=(CODEONLY, SECRET))
    assert_oauth_error(r, 400, "unauthorized_client")


def test_repeated_scope_parameter_refused(server, backends):
    r = requests.post(server.url("/auth/token"),
                      data="grant_type=client_credentials&scope=system%2F*.rs&scope=system%2F*.rs",
                      headers={"Content-Type": "application/x-www-form-urlencoded"},
                      auth=(CC, CC_SECRET), timeout=10)
    assert_oauth_error(r, 400, "invalid_request")


def test_inactive_client_refused(server, backends):
    backends.exec("SELECT smart.put(%s::jsonb)", (json.dumps(
        {"resourceType": "Client", "id": "cc-gone", "secret": SECRET, "active": False,
         "grant_types": ["client_credentials"], "scope": "system/*.rs"}),))
    assert_oauth_error(cc(server, scope="system/*.rs", auth=("cc-gone", SECRET)),
                       401, "invalid_client")


# ---- the token at the FHIR gateway ------------------------------------------------------

def fhir_get(server, path, token):
    return requests.get(server.fhir_base + "/" + path,
                        headers={"Authorization": "Bearer " + token,
                                 "Accept": "application/fhir+json"}, timeout=30)


def test_system_token_reads_at_the_gateway(server, backends):
    token = ok_body(cc(server, scope="system/*.rs"))["access_token"]
    r = fhir_get(server, "Patient", token)
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle"
    assert any(e["resource"]["id"] == "pt-1" for e in bundle.get("entry", []))
    assert fhir_get(server, "Patient/pt-2", token).status_code == 200
    # Read-only scope: no writes.
    r = requests.post(server.fhir_base + "/Patient", json={"resourceType": "Patient"},
                      headers={"Authorization": "Bearer " + token,
                               "Content-Type": "application/fhir+json"}, timeout=30)
    assert r.status_code == 403


def test_system_token_limited_to_its_types(server, backends):
    token = ok_body(cc(server, scope="system/Observation.rs"))["access_token"]
    assert fhir_get(server, "Observation?_count=1", token).status_code == 200
    assert fhir_get(server, "Patient/pt-1", token).status_code == 403


def test_system_token_expires_by_its_record(server, backends):
    body = ok_body(cc(server, scope="system/*.rs"))
    jti = verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")["jti"]
    backends.exec("UPDATE smart.access_tokens SET expires_at = now() - interval '1 second' "
                  "WHERE jti = %s", (jti,))
    assert fhir_get(server, "Patient", body["access_token"]).status_code == 401


def test_tokens_differ_each_time(server, backends):
    a = ok_body(cc(server, scope="system/*.rs"))["access_token"]
    b = ok_body(cc(server, scope="system/*.rs"))["access_token"]
    assert a != b


def test_demo_backend_and_introspector_clients(server, demo):
    body = ok_body(cc(server, scope="system/Patient.rs",
                      auth=("backend-secret-demo", "backend-secret")))
    assert body["expires_in"] == 300
    r = requests.post(server.url("/auth/introspect"), data={"token": body["access_token"]},
                      auth=("introspector-demo", "introspector-secret"), timeout=30)
    got = r.json()
    assert got["active"] is True and got["client_id"] == "backend-secret-demo"
    assert got["sub"] == "backend-secret-demo"
