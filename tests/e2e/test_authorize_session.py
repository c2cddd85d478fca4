"""Authorization endpoint: sign-in, CSRF, throttling, prompt, logout, consents.

Failed logins count per user name and per address; every test here that
fails a login uses its own user and its own loopback source address
(smartflow.browser("127.0.0.N")), so nothing it does throttles the rest
of the suite on 127.0.0.1.
"""
import json
import re
import time
import uuid

import pytest
import requests

from smartflow import browser, form_data, page_kind, parse_forms, query_of, sha256_hex, start

REDIRECT = "https://app.example/cb"
GENERIC = "The user name or password is incorrect."
THROTTLED = "Too many attempts, try again in a few minutes"


def put(pg, resource):
    pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps(resource),))


@pytest.fixture
def app(server, pg):
    cid = "azs-" + uuid.uuid4().hex[:10]
    put(pg, {"resourceType": "Client", "id": cid, "name": "Session test app",
             "grant_types": ["authorization_code", "refresh_token"],
             "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True}}})
    return cid


@pytest.fixture
def user(pg):
    """A fresh user with its own password (failed logins never touch the demo users)."""
    def make(active=True, patient="pt-4"):
        uid = "azu-" + uuid.uuid4().hex[:8]
        put(pg, {"resourceType": "User", "id": uid, "password": uid + "-pw",
                 "fhirUser": f"Patient/{patient}", "active": active})
        return uid, uid + "-pw"
    return make


def login_form(resp):
    return next(f for f in parse_forms(resp.text) if f.has("username"))


def post_login(session, server, resp, username, password):
    data = form_data(login_form(resp), overrides={"username": username, "password": password})
    return session.post(server.auth_base + "/authorize", data=data, allow_redirects=False)


def sessions_of(pg, uid):
    return pg.query("SELECT count(*) FROM smart.sessions WHERE user_id = %s", (uid,))[0][0]


def test_wrong_password_gives_generic_message_and_no_code(server, pg, app, user):
    uid, pw = user()
    s = browser("127.0.0.41")
    r = start(server, app, REDIRECT, "openid", username=uid, password="not-" + pw, session=s)
    assert r.kind == "login" and r.code is None
    assert GENERIC in r.response.text
    assert "smartauth_session" not in s.cookies
    r2 = start(server, app, REDIRECT, "openid", username="no-such-" + uid, password=pw, session=s)
    assert r2.kind == "login" and GENERIC in r2.response.text
    assert sessions_of(pg, uid) == 0
    rows = pg.query("SELECT username, success FROM smart.login_attempts WHERE address = '127.0.0.41'"
                    " ORDER BY id")
    assert rows[-2:] == [(uid, False), ("no-such-" + uid, False)]
    details = pg.query("SELECT detail::text FROM smart.audit_events WHERE event = 'login' "
                       "AND outcome = 'failure' AND address = '127.0.0.41'")
    assert details and all(pw not in d for (d,) in details)


def test_inactive_user_is_refused_with_the_same_message(server, pg, app, user):
    uid, pw = user(active=False)
    r = start(server, app, REDIRECT, "openid", username=uid, password=pw,
              session=browser("127.0.0.42"))
    assert r.kind == "login" and GENERIC in r.response.text and r.code is None
    assert sessions_of(pg, uid) == 0


def test_login_by_email_works(server, pg, app):
    r = start(server, app, REDIRECT, "openid", username="Bob@Example.org", password="bob-password")
    assert r.code
    assert pg.query("SELECT user_id FROM smart.authorization_codes WHERE code_hash = %s",
                    (sha256_hex(r.code),))[0][0] == "bob"


def test_throttle_per_user_blocks_even_the_right_password(server, pg, app, user):
    uid, pw = user()
    s = browser("127.0.0.43")
    r = start(server, app, REDIRECT, "openid", session=s)
    page = r.response
    for _ in range(5):
        page = post_login(s, server, page, uid, "wrong")
        assert GENERIC in page.text
    page = post_login(s, server, page, uid, pw)
    assert page.status_code == 429 and THROTTLED in page.text
    assert page_kind(page) == "login" and sessions_of(pg, uid) == 0
    # the user name is the key, whatever its case
    page = post_login(s, server, page, uid.upper(), pw)
    assert THROTTLED in page.text
    assert pg.query("SELECT count(*) FROM smart.audit_events WHERE event = 'login' AND "
                    "outcome = 'denied' AND detail->>'username' = %s", (uid,))[0][0] >= 1
    # once the window has passed, the right password works again
    pg.exec("UPDATE smart.login_attempts SET at = at - interval '16 minutes' WHERE username = %s",
            (uid,))
    page = post_login(s, server, page, uid, pw)
    assert page_kind(page) == "consent" and sessions_of(pg, uid) == 1


def test_throttle_per_address(server, pg, app):
    s = browser("127.0.0.44")
    r = start(server, app, REDIRECT, "openid", session=s)
    page = r.response
    for i in range(20):
        page = post_login(s, server, page, f"nobody-{i}-{uuid.uuid4().hex[:6]}", "x")
    page = post_login(s, server, page, "alice", "alice-password")
    assert page.status_code == 429 and THROTTLED in page.text
    # another address is not affected
    r = start(server, app, REDIRECT, "openid", username="alice", password="alice-password",
              session=browser("127.0.0.45"), decision=None)
    assert r.kind == "consent"
    pg.exec("UPDATE smart.login_attempts SET at = at - interval '1 hour' WHERE address = '127.0.0.44'")


def test_missing_or_wrong_csrf_is_refused_and_changes_nothing(server, pg, app, user):
    uid, pw = user()
    s = browser("127.0.0.46")
    r = start(server, app, REDIRECT, "openid", session=s)
    form = login_form(r.response)
    good = form_data(form, overrides={"username": uid, "password": pw})
    attempts = pg.query("SELECT count(*) FROM smart.login_attempts WHERE username = %s", (uid,))[0][0]
    token = form.hidden()["csrf"]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for csrf in ("wrong", flipped, token + "x", "", None):
        data = [(k, v) for k, v in good if k != "csrf"]
        if csrf is not None:
            data.append(("csrf", csrf))
        resp = s.post(server.auth_base + "/authorize", data=data, allow_redirects=False)
        assert resp.status_code in (400, 403), csrf
        assert "Location" not in resp.headers
        assert "smartauth_session" not in resp.headers.get("Set-Cookie", "")
    assert sessions_of(pg, uid) == 0
    assert pg.query("SELECT count(*) FROM smart.login_attempts WHERE username = %s",
                    (uid,))[0][0] == attempts
    # the untouched request still works with its own token
    resp = s.post(server.auth_base + "/authorize", data=good, allow_redirects=False)
    assert page_kind(resp) == "consent"


def test_login_csrf_from_another_browser_is_refused(server, pg, app, user):
    """An attacker starts a request and makes the victim's browser post the login form."""
    uid, pw = user()
    attacker = browser()
    r = start(server, app, REDIRECT, "openid", session=attacker)
    data = form_data(login_form(r.response), overrides={"username": uid, "password": pw})
    victim = browser()
    resp = victim.post(server.auth_base + "/authorize", data=data, allow_redirects=False)
    assert resp.status_code == 403 and "Location" not in resp.headers
    start(server, app, REDIRECT, "openid", session=victim)  # the victim's own browser cookie
    assert "smartauth_req" in victim.cookies
    resp = victim.post(server.auth_base + "/authorize", data=data, allow_redirects=False)
    assert resp.status_code == 403
    assert sessions_of(pg, uid) == 0
    assert pg.query("SELECT count(*) FROM smart.audit_events WHERE event = 'authorize' AND "
                    "outcome = 'denied' AND client_id = %s", (app,))[0][0] >= 2


def test_prompt_none_without_session_gives_login_required(server, app):
    r = start(server, app, REDIRECT, "openid", prompt="none")
    assert [k for k, _ in r.pages] == ["redirect"]
    assert r.response.status_code == 302
    assert r.error == "login_required" and r.query["state"] == r.state
    assert r.query["iss"] == server.fhir_base


def test_prompt_none_with_session_and_consent_is_silent(server, pg, app):
    s = browser()
    r = start(server, app, REDIRECT, "openid launch/patient patient/*.rs", prompt="none", session=s)
    assert r.error == "login_required"
    assert start(server, app, REDIRECT, "openid launch/patient patient/*.rs", username="bob",
                 password="bob-password", session=s).code
    r = start(server, app, REDIRECT, "openid launch/patient patient/*.rs", prompt="none", session=s)
    assert [k for k, _ in r.pages] == ["redirect"] and r.code
    ctx = pg.query("SELECT launch_context FROM smart.authorization_codes WHERE code_hash = %s",
                   (sha256_hex(r.code),))[0][0]
    assert ctx["patient"] == "pt-2"
    r = start(server, app, REDIRECT, "openid user/*.rs", prompt="none", session=s)
    assert r.error == "consent_required" and r.query["state"] == r.state


def test_prompt_none_when_a_picker_is_needed_is_interaction_required(server, app):
    s = browser()
    assert start(server, app, REDIRECT, "openid", username="dr-smith",
                 password="dr-smith-password", session=s).code
    r = start(server, app, REDIRECT, "openid launch/patient patient/*.rs", prompt="none", session=s)
    assert r.error == "interaction_required"


def test_prompt_login_forces_a_new_login_and_new_session_id(server, pg, app):
    s = browser()
    assert start(server, app, REDIRECT, "openid", username="bob", password="bob-password",
                 session=s).code
    first = s.cookies.get("smartauth_session")
    r = start(server, app, REDIRECT, "openid", prompt="login", session=s, decision=None)
    assert r.pages[0][0] == "login", "signed in, but prompt=login asks again"
    r = start(server, app, REDIRECT, "openid", prompt="login", username="bob",
              password="bob-password", session=s)
    assert r.code
    second = s.cookies.get("smartauth_session")
    assert second and second != first
    hash_in_code = pg.query("SELECT session_hash FROM smart.authorization_codes WHERE code_hash = %s",
                            (sha256_hex(r.code),))[0][0]
    assert hash_in_code == sha256_hex(second)


def test_max_age_forces_login_when_the_session_is_older(server, app):
    s = browser()
    assert start(server, app, REDIRECT, "openid", username="bob", password="bob-password",
                 session=s).code
    time.sleep(2.1)
    r = start(server, app, REDIRECT, "openid", session=s, extra={"max_age": "1"})
    assert r.pages[0][0] == "login", r
    r = start(server, app, REDIRECT, "openid", session=s, extra={"max_age": "3600"})
    assert r.code


def test_expired_or_revoked_session_asks_to_sign_in_again(server, pg, app):
    s = browser()
    assert start(server, app, REDIRECT, "openid", username="bob", password="bob-password",
                 session=s).code
    h = sha256_hex(s.cookies.get("smartauth_session"))
    pg.exec("UPDATE smart.sessions SET expires_at = now() - interval '1 second' WHERE session_hash = %s",
            (h,))
    assert start(server, app, REDIRECT, "openid", session=s).pages[0][0] == "login"


def test_signing_in_as_another_user_ends_the_old_session(server, pg, app):
    s = browser()
    assert start(server, app, REDIRECT, "openid", username="bob", password="bob-password",
                 session=s).code
    old = sha256_hex(s.cookies.get("smartauth_session"))
    assert start(server, app, REDIRECT, "openid", prompt="login", username="alice",
                 password="alice-password", session=s).code
    assert pg.query("SELECT revoked_at IS NOT NULL FROM smart.sessions WHERE session_hash = %s",
                    (old,))[0][0]


def insert_refresh(pg, app, user_id, session_hash, online_only):
    token = uuid.uuid4().hex
    pg.exec("INSERT INTO smart.refresh_tokens (token_hash, family_id, client_id, user_id, scope, "
            "expires_at, session_hash, online_only) VALUES (%s, gen_random_uuid(), %s, %s, "
            "'openid', now() + interval '1 day', %s, %s)",
            (sha256_hex(token), app, user_id, session_hash, online_only))
    return sha256_hex(token)


def test_logout_needs_csrf_and_ends_session_and_online_tokens(server, pg, app):
    s = browser()
    assert start(server, app, REDIRECT, "openid online_access", username="bob",
                 password="bob-password", session=s).code
    h = sha256_hex(s.cookies.get("smartauth_session"))
    online = insert_refresh(pg, app, "bob", h, True)
    offline = insert_refresh(pg, app, "bob", h, False)
    page = s.get(server.auth_base + "/logout")
    assert page.status_code == 200
    form = parse_forms(page.text)[0]
    assert form.method == "post" and form.hidden()["csrf"]
    for bad in ({}, {"csrf": "wrong"}):
        resp = s.post(server.auth_base + "/logout", data=bad)
        assert resp.status_code == 403
        assert pg.query("SELECT revoked_at IS NULL FROM smart.sessions WHERE session_hash = %s",
                        (h,))[0][0]
    # another browser cannot forge the token (it depends on the session cookie)
    resp = browser().post(server.auth_base + "/logout", data=form_data(form))
    assert pg.query("SELECT revoked_at IS NULL FROM smart.sessions WHERE session_hash = %s", (h,))[0][0]
    resp = s.post(server.auth_base + "/logout", data=form_data(form), allow_redirects=False)
    assert resp.status_code == 200 and "signed out" in resp.text
    assert re.search(r"smartauth_session=;[^,]*Max-Age=0", resp.headers["Set-Cookie"])
    assert pg.query("SELECT revoked_at IS NOT NULL FROM smart.sessions WHERE session_hash = %s", (h,))[0][0]
    revoked = dict(pg.query("SELECT token_hash, revoked_at IS NOT NULL FROM smart.refresh_tokens "
                            "WHERE token_hash IN (%s, %s)", (online, offline)))
    assert revoked == {online: True, offline: False}
    assert pg.query("SELECT count(*) FROM smart.audit_events WHERE event = 'logout' AND user_id = 'bob'")[0][0] >= 1
    assert start(server, app, REDIRECT, "openid", session=s).pages[0][0] == "login"


def test_logout_page_without_session(server):
    resp = requests.get(server.auth_base + "/logout")
    assert resp.status_code == 200 and "not signed in" in resp.text
    assert not parse_forms(resp.text)


def test_consents_page_lists_and_revokes_with_csrf(server, pg, app):
    s = browser()
    assert start(server, app, REDIRECT, "openid fhirUser", username="bob", password="bob-password",
                 session=s).code
    page = s.get(server.auth_base + "/consents")
    assert "Session test app" in page.text
    form = next(f for f in parse_forms(page.text) if f.hidden().get("client") == app)
    resp = s.post(server.auth_base + "/consents", data={"client": app, "csrf": "nope"})
    assert resp.status_code == 403
    assert pg.query("SELECT revoked_at IS NULL FROM smart.consents WHERE user_id = 'bob' AND "
                    "client_id = %s", (app,))[0][0]
    resp = s.post(server.auth_base + "/consents", data=form_data(form))
    assert resp.status_code == 200 and "withdrawn" in resp.text
    assert pg.query("SELECT revoked_at IS NOT NULL FROM smart.consents WHERE user_id = 'bob' AND "
                    "client_id = %s", (app,))[0][0]
    assert start(server, app, REDIRECT, "openid", session=s, decision=None).kind == "consent"


def test_consents_page_without_session(server):
    resp = requests.get(server.auth_base + "/consents")
    assert resp.status_code == 200 and "not signed in" in resp.text


def test_database_down_gives_503_page_then_recovers(server, pg, app):
    pg.stop()
    try:
        resp = requests.get(server.auth_base + "/authorize", params={
            "client_id": app, "redirect_uri": REDIRECT, "response_type": "code"},
            allow_redirects=False, timeout=30)
        assert resp.status_code == 503
        assert resp.headers.get("Retry-After")
        assert resp.headers["Content-Type"].startswith("text/html")
        assert "Location" not in resp.headers
    finally:
        pg.start()
    deadline = time.time() + 20
    while True:
        r = start(server, app, REDIRECT, "openid")
        if r.kind == "login" or time.time() > deadline:
            break
        time.sleep(0.5)
    assert r.kind == "login"
