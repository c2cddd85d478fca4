"""Token revocation, POST {auth}/revoke (RFC 7009), and the DBA functions
smart.revoke_user / smart.revoke_client (sql/006_token_admin.sql).

Rules under test: client authentication as at the token endpoint (public
clients by client_id); a client revokes only its own tokens (another
client's token: 200 and nothing changes); unknown or malformed tokens 200;
token_type_hint ignored; an access token is revoked alone, a refresh token
takes its whole family (every refresh and access token of the grant);
introspection and the FHIR gateway see a revocation on the very next
request.
"""
import json

import psycopg2
import pytest
import requests

from clientkit import SCOPE, app_client, backend_client, put
from test_token import launch_context, make_code, make_session, redeem, refresh, sha256_hex, verify_jwt

APP = "rv-app"
APP_SECRET = "rv-app-secret-0123"
OTHER = "rv-other"
OTHER_SECRET = "rv-other-secret-0123"
PUBLIC = "rv-public"
BACKEND = "rv-backend"
BACKEND_SECRET = "rv-backend-secret-0123"


@pytest.fixture(scope="module")
def clients(server, demo):
    return put(demo, [
        app_client(APP, APP_SECRET), app_client(OTHER, OTHER_SECRET), app_client(PUBLIC, None),
        backend_client(BACKEND, BACKEND_SECRET),
        {"resourceType": "User", "id": "rv-dave", "password": "dave-password-1",
         "fhirUser": "Patient/pt-4"},
        {"resourceType": "Role", "id": "rv-dave-patient", "name": "patient",
         "user": {"id": "rv-dave"}, "links": {"patient": {"id": "pt-4"}}},
    ])


def auth_for(client):
    return {APP: (APP, APP_SECRET), OTHER: (OTHER, OTHER_SECRET),
            BACKEND: (BACKEND, BACKEND_SECRET)}.get(client)


def user_grant(pg, server, client=APP, user="alice", patient="pt-1", **kw):
    kw.setdefault("scope", SCOPE)
    kw.setdefault("ctx", launch_context(server, patient=patient,
                                        fhirUser="Patient/" + patient))
    code = make_code(pg, server, client_id=client, user=user, **kw)
    a = auth_for(client)
    r = redeem(server, code, client_id=None if a else client, auth=a)
    assert r.status_code == 200, r.text
    return r.json()


def revoke(server, token, client=APP, hint=None, auth="default", **extra):
    data = {"token": token}
    if hint is not None:
        data["token_type_hint"] = hint
    data.update(extra)
    if auth == "default":
        auth = auth_for(client)
        if auth is None:
            data["client_id"] = client
    return requests.post(server.url("/auth/revoke"), data=data, auth=auth, timeout=30)


def introspect(server, token):
    r = requests.post(server.url("/auth/introspect"), data={"token": token},
                      auth=(APP, APP_SECRET), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def read_patient(server, token, patient="pt-1"):
    return requests.get(f"{server.fhir_base}/Patient/{patient}",
                        headers={"Authorization": "Bearer " + token}, timeout=30)


def jti(server, token):
    return verify_jwt(server, token, server.fhir_base, "at+jwt")["jti"]


def at_revoked(pg, server, token):
    return pg.query("SELECT revoked_at IS NOT NULL FROM smart.access_tokens WHERE jti = %s",
                    (jti(server, token),))[0][0]


def rt_revoked(pg, token):
    return pg.query("SELECT revoked_at IS NOT NULL FROM smart.refresh_tokens WHERE token_hash = %s",
                    (sha256_hex(token),))[0][0]


def assert_ok(r):
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"


# ---- each token kind ------------------------------------------------------------

def test_revoked_access_token_stops_at_gateway_and_introspection_at_once(server, clients):
    body = user_grant(clients, server)
    assert read_patient(server, body["access_token"]).status_code == 200
    assert_ok(revoke(server, body["access_token"], hint="access_token"))
    assert at_revoked(clients, server, body["access_token"])
    r = read_patient(server, body["access_token"])
    assert r.status_code == 401
    assert r.json()["resourceType"] == "OperationOutcome"
    assert introspect(server, body["access_token"]) == {"active": False}
    # An access token is revoked alone: the grant's refresh token lives on.
    assert introspect(server, body["refresh_token"])["active"] is True
    r = refresh(server, body["refresh_token"], client_id=None, auth=(APP, APP_SECRET))
    assert r.status_code == 200, r.text


def test_revoked_refresh_token_takes_its_family(server, clients):
    first = user_grant(clients, server)
    r = refresh(server, first["refresh_token"], client_id=None, auth=(APP, APP_SECRET))
    assert r.status_code == 200, r.text
    second = r.json()
    assert read_patient(server, second["access_token"]).status_code == 200
    assert_ok(revoke(server, second["refresh_token"], hint="refresh_token"))
    for t in (first["access_token"], second["access_token"]):
        assert at_revoked(clients, server, t)
        assert read_patient(server, t).status_code == 401
        assert introspect(server, t) == {"active": False}
    assert rt_revoked(clients, second["refresh_token"])
    assert introspect(server, second["refresh_token"]) == {"active": False}
    r = refresh(server, second["refresh_token"], client_id=None, auth=(APP, APP_SECRET))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_revoking_a_rotated_out_refresh_token_still_ends_the_grant(server, clients):
    first = user_grant(clients, server)
    second = refresh(server, first["refresh_token"], client_id=None,
                     auth=(APP, APP_SECRET)).json()
    assert_ok(revoke(server, first["refresh_token"]))
    assert introspect(server, second["refresh_token"]) == {"active": False}
    assert read_patient(server, second["access_token"]).status_code == 401


def test_other_family_untouched(server, clients):
    a = user_grant(clients, server)
    b = user_grant(clients, server)
    assert_ok(revoke(server, a["refresh_token"]))
    assert introspect(server, b["access_token"])["active"] is True
    assert introspect(server, b["refresh_token"])["active"] is True


def test_backend_token_revocation(server, clients):
    r = requests.post(server.url("/auth/token"),
                      data={"grant_type": "client_credentials", "scope": "system/*.rs"},
                      auth=(BACKEND, BACKEND_SECRET), timeout=30)
    token = r.json()["access_token"]
    assert read_patient(server, token).status_code == 200
    assert_ok(revoke(server, token, client=BACKEND))
    assert read_patient(server, token).status_code == 401


def test_public_client_revokes_its_own_refresh_token(server, clients):
    body = user_grant(clients, server, client=PUBLIC)
    assert_ok(revoke(server, body["refresh_token"], client=PUBLIC))
    assert rt_revoked(clients, body["refresh_token"])
    assert at_revoked(clients, server, body["access_token"])


def test_hint_is_ignored_even_when_wrong_or_unknown(server, clients):
    body = user_grant(clients, server)
    assert_ok(revoke(server, body["refresh_token"], hint="access_token"))
    assert rt_revoked(clients, body["refresh_token"])
    body = user_grant(clients, server)
    assert_ok(revoke(server, body["access_token"], hint="bogus_type"))
    assert at_revoked(clients, server, body["access_token"])


# ---- what must not happen -----------------------------------------------------------

def test_other_clients_token_is_untouched_but_answers_200(server, clients):
    body = user_grant(clients, server)
    assert_ok(revoke(server, body["refresh_token"], client=OTHER))
    assert_ok(revoke(server, body["access_token"], client=OTHER))
    assert not rt_revoked(clients, body["refresh_token"])
    assert not at_revoked(clients, server, body["access_token"])
    assert read_patient(server, body["access_token"]).status_code == 200
    rows = clients.query("SELECT outcome, detail FROM smart.audit_events WHERE event = 'revoke' "
                         "AND client_id = %s ORDER BY id DESC LIMIT 2", (OTHER,))
    assert [o for o, _ in rows] == ["failure", "failure"]


@pytest.mark.parametrize("token", ["unknown-token", "x" * 43, "a.b.c",
                                   "eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0.", "A" * 20000])
def test_unknown_or_malformed_token_answers_200(server, clients, token):
    assert_ok(revoke(server, token))


def test_missing_token_is_invalid_request(server, clients):
    r = requests.post(server.url("/auth/revoke"), data={"token_type_hint": "access_token"},
                      auth=(APP, APP_SECRET), timeout=30)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_unauthenticated_revocation_is_401(server, clients):
    body = user_grant(clients, server)
    r = revoke(server, body["refresh_token"], auth=(APP, "wrong-secret"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = revoke(server, body["refresh_token"], auth=None)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    # A confidential client may not pass as public by sending only its id.
    r = revoke(server, body["refresh_token"], auth=None, client_id=APP)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert not rt_revoked(clients, body["refresh_token"])


def test_get_is_405(server, clients):
    r = requests.get(server.url("/auth/revoke"), timeout=30)
    assert r.status_code == 405


def test_revocation_is_audited_without_the_token(server, clients):
    body = user_grant(clients, server)
    assert_ok(revoke(server, body["refresh_token"]))
    outcome, user, detail = clients.query(
        "SELECT outcome, user_id, detail FROM smart.audit_events WHERE event = 'revoke' "
        "AND client_id = %s ORDER BY id DESC LIMIT 1", (APP,))[0]
    assert outcome == "success" and user == "alice"
    assert detail["token_type"] == "refresh_token"
    assert detail["revoked_refresh_tokens"] == 1 and detail["revoked_access_tokens"] == 1
    assert body["refresh_token"] not in json.dumps(detail)


# ---- DBA functions ---------------------------------------------------------------------

def test_revoke_user_ends_tokens_sessions_and_codes(server, clients):
    sess = make_session(clients, user="rv-dave")
    a = user_grant(clients, server, user="rv-dave", patient="pt-4", session_hash=sess)
    b = user_grant(clients, server, client=OTHER, user="rv-dave", patient="pt-4")
    bystander = user_grant(clients, server)          # alice
    pending = make_code(clients, server, client_id=APP, user="rv-dave")
    assert read_patient(server, a["access_token"], "pt-4").status_code == 200
    rows = clients.query("SELECT * FROM smart.revoke_user('rv-dave')")
    assert rows == [(2, 2, 1, 1)]
    for body in (a, b):
        assert read_patient(server, body["access_token"], "pt-4").status_code == 401
        assert introspect(server, body["access_token"]) == {"active": False}
        assert rt_revoked(clients, body["refresh_token"])
    assert clients.query("SELECT revoked_at IS NOT NULL FROM smart.sessions "
                         "WHERE session_hash = %s", (sess,)) == [(True,)]
    r = redeem(server, pending, client_id=None, auth=(APP, APP_SECRET))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert introspect(server, bystander["access_token"])["active"] is True
    # Nothing is left to revoke; the call is audited each time.
    assert clients.query("SELECT * FROM smart.revoke_user('rv-dave')") == [(0, 0, 0, 0)]
    audits = clients.query("SELECT detail FROM smart.audit_events WHERE event = 'revoke' "
                           "AND user_id = 'rv-dave' AND detail ->> 'by' = 'smart.revoke_user' "
                           "ORDER BY id")
    assert [d["revoked_access_tokens"] for (d,) in audits][-2:] == [2, 0]


def test_revoke_client_ends_its_tokens_and_their_sessions(server, clients):
    sess = make_session(clients, user="bob")
    other_sess = make_session(clients, user="bob")
    a = user_grant(clients, server, client=OTHER, user="bob", patient="pt-2", session_hash=sess)
    keep = user_grant(clients, server, client=APP, user="bob", patient="pt-2",
                      session_hash=other_sess)
    rows = clients.query("SELECT revoked_access_tokens, revoked_refresh_tokens, revoked_sessions "
                         "FROM smart.revoke_client(%s)", (OTHER,))
    assert rows[0][0] >= 1 and rows[0][1] >= 1 and rows[0][2] >= 1
    assert read_patient(server, a["access_token"], "pt-2").status_code == 401
    assert rt_revoked(clients, a["refresh_token"])
    assert clients.query("SELECT revoked_at IS NOT NULL FROM smart.sessions "
                         "WHERE session_hash IN (%s, %s) ORDER BY session_hash = %s",
                         (sess, other_sess, sess)) == [(False,), (True,)]
    assert introspect(server, keep["access_token"])["active"] is True
    assert read_patient(server, keep["access_token"], "pt-2").status_code == 200
    assert clients.query("SELECT count(*) FROM smart.audit_events WHERE event = 'revoke' "
                         "AND client_id = %s AND detail ->> 'by' = 'smart.revoke_client'",
                         (OTHER,))[0][0] >= 1


@pytest.mark.parametrize("fn", ["revoke_user", "revoke_client"])
def test_revoke_functions_refuse_unknown_ids(clients, fn):
    with pytest.raises(psycopg2.Error) as e:
        clients.query(f"SELECT * FROM smart.{fn}('nobody-such')")
    assert e.value.pgcode == "P0002"
    assert "nobody-such" in str(e.value)
