"""Token endpoint, refresh_token grant (RFC 6749 6, RFC 9700 4.14.2, SMART App
Launch 2.2 5.5): rotation with reuse detection, scope narrowing, binding to
the client, online_access bound to the login session.

Grants start from authorization codes inserted by the helpers of
test_token.py (the authorize/token contract).
"""
import json
import threading

import pytest

# clients is the module fixture that registers the test clients.
from test_token import (CONF, CONF_SECRET, NOREFRESH, OTHER, PUBLIC, SCOPE, V1_SCOPE,  # noqa: F401
                        assert_oauth_error, audit_rows, clients, make_code, make_session,
                        post, redeem, refresh, sha256_hex, verify_jwt)


def grant(pg, server, **kw):
    """Redeems a fresh code; returns (code, token response)."""
    code = make_code(pg, server, **kw)
    auth = (CONF, CONF_SECRET) if kw.get("client_id") == CONF else None
    r = redeem(server, code, client_id=None if auth else kw.get("client_id", PUBLIC), auth=auth)
    assert r.status_code == 200, r.text
    return code, r.json()


def rt_row(pg, token):
    rows = pg.query("""SELECT family_id::text, used_at IS NOT NULL, revoked_at IS NOT NULL,
                              replaced_by, scope, extract(epoch FROM expires_at)::bigint
                       FROM smart.refresh_tokens WHERE token_hash = %s""", (sha256_hex(token),))
    assert len(rows) == 1
    return rows[0]


def test_refresh_rotation(server, clients):
    code, first = grant(clients, server, nonce="n-1")
    r = refresh(server, first["refresh_token"])
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Pragma"] == "no-cache"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert body["scope"] == SCOPE
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    # The launch context is repeated.
    for member in ("patient", "encounter", "fhirContext", "need_patient_banner",
                   "smart_style_url", "intent"):
        assert body[member] == first[member]
    at = verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")
    assert at["sub"] == "alice" and at["patient"] == "pt-1" and at["scope"] == SCOPE
    # A new id_token with the same auth_time and without a nonce.
    idt = verify_jwt(server, body["id_token"], PUBLIC, "JWT")
    assert idt["auth_time"] == code.row["auth_time"]
    assert "nonce" not in idt
    assert idt["fhirUser"] == server.fhir_base + "/Patient/pt-1"
    # The old token is used and points to its successor, same family.
    fam, used, revoked, replaced_by, _, old_exp = rt_row(clients, first["refresh_token"])
    assert used and not revoked
    assert replaced_by == sha256_hex(body["refresh_token"])
    fam2, used2, _, _, scope2, new_exp = rt_row(clients, body["refresh_token"])
    assert fam2 == fam == code.family_id and not used2 and scope2 == SCOPE
    # Rotation never extends the grant's absolute lifetime.
    assert new_exp == old_exp
    # The new token works; the access token row is recorded in the family.
    again = refresh(server, body["refresh_token"])
    assert again.status_code == 200, again.text
    assert clients.query("SELECT count(*) FROM smart.access_tokens WHERE family_id = %s",
                         (code.family_id,)) == [(3,)]
    assert any(o == "success" and d.get("family_id") == code.family_id
               for o, d in audit_rows(clients, "refresh", PUBLIC))


def test_refresh_reuse_revokes_family(server, clients):
    code, first = grant(clients, server)
    second = refresh(server, first["refresh_token"]).json()
    third = refresh(server, second["refresh_token"]).json()
    r = refresh(server, first["refresh_token"])     # replay of a rotated-out token
    assert_oauth_error(r, 400, "invalid_grant", first["refresh_token"])
    # Every token of the family is revoked, the live one included.
    assert_oauth_error(refresh(server, third["refresh_token"]), 400, "invalid_grant")
    assert clients.query("SELECT count(*), bool_and(revoked_at IS NOT NULL) FROM smart.access_tokens "
                         "WHERE family_id = %s", (code.family_id,)) == [(3, True)]
    assert clients.query("SELECT count(*), bool_and(revoked_at IS NOT NULL) FROM smart.refresh_tokens "
                         "WHERE family_id = %s", (code.family_id,)) == [(3, True)]
    assert any(d.get("family_id") == code.family_id for _, d in audit_rows(clients, "refresh_reuse", PUBLIC))


def test_refresh_reuse_by_another_client_also_revokes(server, clients):
    code, first = grant(clients, server)
    second = refresh(server, first["refresh_token"]).json()
    assert_oauth_error(refresh(server, first["refresh_token"], client_id=OTHER), 400, "invalid_grant")
    assert_oauth_error(refresh(server, second["refresh_token"]), 400, "invalid_grant")


def test_refresh_narrowing_scope(server, clients):
    code, first = grant(clients, server)
    narrow = "openid fhirUser patient/Observation.rs offline_access"
    r = refresh(server, first["refresh_token"], scope=narrow)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == narrow
    assert verify_jwt(server, body["access_token"], server.fhir_base, "at+jwt")["scope"] == narrow
    # The refresh token keeps the original grant (RFC 6749 section 6) ...
    assert rt_row(clients, body["refresh_token"])[4] == SCOPE
    # ... so a later refresh without scope gets the whole grant back.
    again = refresh(server, body["refresh_token"]).json()
    assert again["scope"] == SCOPE


def test_refresh_narrowing_drops_id_token(server, clients):
    _, first = grant(clients, server)
    body = refresh(server, first["refresh_token"], scope="patient/Observation.r").json()
    assert body["scope"] == "patient/Observation.r"
    assert "id_token" not in body
    assert "refresh_token" in body          # rotation still hands over the successor


def test_refresh_with_the_full_granted_scope(server, clients):
    # Inferno's "refresh with scopes" sends the scope string it received.
    _, first = grant(clients, server, scope=V1_SCOPE)
    body = refresh(server, first["refresh_token"], scope=first["scope"]).json()
    assert body["scope"] == V1_SCOPE
    assert verify_jwt(server, body["id_token"], PUBLIC, "JWT")["profile"].endswith("/Patient/pt-1")


@pytest.mark.parametrize("wider", ["patient/*.rs user/*.rs", "patient/*.cruds", "system/*.rs",
                                   "openid fhirUser launch", "patient/Observation.rs made-up-scope",
                                   "online_access"])
def test_refresh_widening_refused(server, clients, wider):
    _, first = grant(clients, server)
    r = refresh(server, first["refresh_token"], scope=wider)
    assert_oauth_error(r, 400, "invalid_scope", first["refresh_token"])
    # Refused before anything was consumed: the token still works.
    assert refresh(server, first["refresh_token"]).status_code == 200


def test_refresh_malformed_scope_refused(server, clients):
    _, first = grant(clients, server)
    r = refresh(server, first["refresh_token"], scope="patient/*.rs\tuser/*.rs")
    assert_oauth_error(r, 400, "invalid_scope")


def test_refresh_token_of_another_client_refused(server, clients):
    _, first = grant(clients, server)
    r = refresh(server, first["refresh_token"], client_id=OTHER)
    body = assert_oauth_error(r, 400, "invalid_grant", first["refresh_token"])
    assert "client" in body["error_description"]
    assert refresh(server, first["refresh_token"]).status_code == 200


def test_confidential_refresh_requires_authentication(server, clients):
    _, first = grant(clients, server, client_id=CONF)
    r = refresh(server, first["refresh_token"], client_id=CONF)
    assert_oauth_error(r, 401, "invalid_client", first["refresh_token"])
    assert "WWW-Authenticate" not in r.headers     # no Authorization header was used
    ok = refresh(server, first["refresh_token"], client_id=None, auth=(CONF, CONF_SECRET))
    assert ok.status_code == 200, ok.text
    assert ok.json()["expires_in"] == 900


def test_client_not_allowed_to_refresh(server, clients):
    _, first = grant(clients, server)
    r = refresh(server, first["refresh_token"], client_id=NOREFRESH)
    assert_oauth_error(r, 400, "unauthorized_client")


def test_expired_refresh_token_refused(server, clients):
    _, first = grant(clients, server)
    clients.exec("UPDATE smart.refresh_tokens SET issued_at = now() - interval '2 days', "
                 "expires_at = now() - interval '1 second' WHERE token_hash = %s",
                 (sha256_hex(first["refresh_token"]),))
    assert_oauth_error(refresh(server, first["refresh_token"]), 400, "invalid_grant")


def test_unknown_refresh_token_refused(server, clients):
    assert_oauth_error(refresh(server, "A" * 43), 400, "invalid_grant")


def test_missing_refresh_token_is_invalid_request(server, clients):
    assert_oauth_error(refresh(server, ""), 400, "invalid_request")


def test_repeated_refresh_token_parameter_refused(server, clients):
    _, first = grant(clients, server)
    r = post(server, [("grant_type", "refresh_token"), ("client_id", PUBLIC),
                      ("refresh_token", first["refresh_token"]),
                      ("refresh_token", first["refresh_token"])])
    assert_oauth_error(r, 400, "invalid_request", first["refresh_token"])


def test_online_access_token_dies_with_its_session(server, clients):
    session = make_session(clients)
    _, first = grant(clients, server, scope="openid fhirUser online_access patient/*.rs",
                     session_hash=session, online_only=True)
    assert rt_row(clients, first["refresh_token"]) is not None
    assert clients.query("SELECT online_only FROM smart.refresh_tokens WHERE token_hash = %s",
                         (sha256_hex(first["refresh_token"]),)) == [(True,)]
    second = refresh(server, first["refresh_token"])
    assert second.status_code == 200, second.text
    clients.exec("UPDATE smart.sessions SET revoked_at = now() WHERE session_hash = %s", (session,))
    r = refresh(server, second.json()["refresh_token"])
    body = assert_oauth_error(r, 400, "invalid_grant")
    assert "session" in body["error_description"]


def test_online_access_token_dies_when_session_expires(server, clients):
    session = make_session(clients)
    _, first = grant(clients, server, scope="online_access patient/*.rs", session_hash=session)
    clients.exec("UPDATE smart.sessions SET created_at = now() - interval '1 day', "
                 "expires_at = now() - interval '1 second' WHERE session_hash = %s", (session,))
    assert_oauth_error(refresh(server, first["refresh_token"]), 400, "invalid_grant")


def test_offline_access_survives_logout(server, clients):
    session = make_session(clients)
    _, first = grant(clients, server, session_hash=session)
    clients.exec("UPDATE smart.sessions SET revoked_at = now() WHERE session_hash = %s", (session,))
    assert refresh(server, first["refresh_token"]).status_code == 200


def test_disabled_user_cannot_refresh(server, clients):
    clients.exec("SELECT smart.put(%s::jsonb)", (json.dumps(
        {"resourceType": "User", "id": "tok-leaver", "password": "pw-12345678",
         "fhirUser": "Patient/pt-2"}),))
    _, first = grant(clients, server, user="tok-leaver")
    clients.exec("SELECT smart.put(%s::jsonb)", (json.dumps(
        {"resourceType": "User", "id": "tok-leaver", "active": False}),))
    assert_oauth_error(refresh(server, first["refresh_token"]), 400, "invalid_grant")


def test_revoked_refresh_token_refused(server, clients):
    _, first = grant(clients, server)
    clients.exec("UPDATE smart.refresh_tokens SET revoked_at = now() WHERE token_hash = %s",
                 (sha256_hex(first["refresh_token"]),))
    assert_oauth_error(refresh(server, first["refresh_token"]), 400, "invalid_grant")


def test_concurrent_refresh_with_one_token(server, clients):
    _, first = grant(clients, server)
    results = []

    def go():
        results.append(refresh(server, first["refresh_token"]))
    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.status_code == 200 for r in results) <= 1
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.status_code != 200)
    # A second presentation is reuse: nothing of the family survives.
    assert clients.query("SELECT bool_and(revoked_at IS NOT NULL) FROM smart.refresh_tokens "
                         "WHERE family_id = (SELECT family_id FROM smart.refresh_tokens "
                         "WHERE token_hash = %s)", (sha256_hex(first["refresh_token"]),)) == [(True,)]


def test_refresh_failure_audited(server, clients):
    _, first = grant(clients, server)
    refresh(server, first["refresh_token"], client_id=OTHER)
    rows = audit_rows(clients, "token", OTHER)
    assert rows and rows[-1][0] == "failure"
    assert rows[-1][1]["grant_type"] == "refresh_token"
    assert first["refresh_token"] not in json.dumps(rows[-1][1])
