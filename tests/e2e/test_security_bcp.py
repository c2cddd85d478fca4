"""The OAuth 2.0 Security BCP (RFC 9700) checklist, one test per obligation.

Each test is named after the MUST (or the SHOULD we treat as one) it
covers; the section of RFC 9700 (and RFC 9207, RFC 6749, RFC 6819 where
they add to it) is in its docstring.  Many of these behaviours are also
tested next to the feature they belong to; this file is the checklist a
reviewer reads, against the real pages, endpoints, logs and tables.

Everything runs against Apache + mod_fcgid with the demo data (fixture
`server`); the clickjacking test runs once per web-server setup.  Each
test registers its own client (bcp-*), and tests whose logins fail use
their own user and their own loopback source address, so the per-user and
per-address throttles never reach another test.
"""
import base64
import json
import os
import re
import secrets
import time
import urllib.parse
import uuid

import psycopg2
import pytest
import requests

from smartflow import (browser, form_data, page_kind, parse_forms, pkce_pair, query_of,
                       sha256_hex, start)

REDIRECT = "https://app.example/cb"
SCOPE = "openid fhirUser launch/patient patient/*.rs offline_access"
EVIL = "https://evil.example/steal"


def quiet_exec(pg, sql, params=None):
    """A DBA statement that PostgreSQL does not log (it may carry a secret)."""
    c = psycopg2.connect(pg.conninfo, options="-c log_statement=none")
    c.autocommit = True
    try:
        with c.cursor() as cur:
            cur.execute(sql, params)
    finally:
        c.close()


def put(pg, resource):
    quiet_exec(pg, "SELECT smart.put(%s::jsonb)", (json.dumps(resource),))


@pytest.fixture
def app(server, pg):
    """A fresh public SMART app (PKCE, refresh tokens)."""
    def make(secret=None, redirect=(REDIRECT,)):
        cid = "bcp-" + uuid.uuid4().hex[:10]
        res = {"resourceType": "Client", "id": cid, "name": "BCP app " + cid,
               "grant_types": ["authorization_code", "refresh_token"],
               "auth": {"authorization_code": {"redirect_uri": list(redirect),
                                               "refresh_token": True,
                                               "secret_required": secret is not None}}}
        if secret is not None:
            res["secret"] = secret
        put(pg, res)
        return cid
    return make


@pytest.fixture
def user(pg):
    """A fresh patient user whose password only this test knows."""
    def make():
        uid = "bcpu-" + uuid.uuid4().hex[:8]
        pw = "pw-" + secrets.token_urlsafe(12)
        put(pg, {"resourceType": "User", "id": uid, "password": pw,
                 "fhirUser": "Patient/pt-4"})
        return uid, pw
    return make


def authorize_params(server, cid, redirect=REDIRECT, **over):
    _, challenge = pkce_pair()
    p = {"response_type": "code", "client_id": cid, "redirect_uri": redirect,
         "scope": "openid", "state": "st-" + uuid.uuid4().hex, "aud": server.fhir_base,
         "code_challenge": challenge, "code_challenge_method": "S256"}
    for k, v in over.items():
        if v is None:
            p.pop(k, None)
        else:
            p[k] = v
    return p


def token(server, data, auth=None):
    return requests.post(server.auth_base + "/token", data=data, auth=auth,
                         allow_redirects=False, timeout=30)


def redeem(server, cid, flow, auth=None, **over):
    data = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": REDIRECT,
            "code_verifier": flow.verifier}
    if auth is None:
        data["client_id"] = cid
    data.update(over)
    return token(server, {k: v for k, v in data.items() if v is not None}, auth=auth)


def fhir_read(server, access_token):
    return requests.get(server.fhir_base + "/Patient/pt-1", timeout=30,
                        headers={"Authorization": "Bearer " + access_token})


def html_pages(server, cid, pg):
    """Every kind of HTML page the authorization server sends, as responses."""
    pages = {}
    s = browser()
    r = start(server, cid, REDIRECT, SCOPE, username="dr-smith", password="dr-smith-password",
              session=s, decision=None)
    for kind, resp in r.pages:
        pages.setdefault(kind, resp)        # login, patient (picker), consent
    pages["logout"] = s.get(server.auth_base + "/logout", allow_redirects=False)
    pages["consents"] = s.get(server.auth_base + "/consents", allow_redirects=False)
    pages["error (unknown client)"] = requests.get(
        server.auth_base + "/authorize",
        params=authorize_params(server, "no-such-client-" + uuid.uuid4().hex[:6]),
        allow_redirects=False)
    pages["error (bad redirect_uri)"] = requests.get(
        server.auth_base + "/authorize", params=authorize_params(server, cid, redirect=EVIL),
        allow_redirects=False)
    pages["not found"] = requests.get(server.auth_base + "/nope", allow_redirects=False)
    pages["signed out logout"] = requests.get(server.auth_base + "/logout", allow_redirects=False)
    return pages


# ---- redirect URIs (RFC 9700 §2.1, §4.1.3) --------------------------------

@pytest.mark.parametrize("variant", [
    "https://app.example/cb/", "https://app.example/cb?x=1", "https://app.example/cbx",
    "https://APP.example/cb", "https://app.example/CB", "https://app.example:443/cb",
    "http://app.example/cb", "https://app.example/cb#frag", "https://app.example/x/../cb",
    "https://app.example/%63b", "https://app.example.evil.example/cb",
    "https://app.example@evil.example/cb", "https://evil.example/cb", " https://app.example/cb",
    "https://app.example/cb%00", "//app.example/cb",
])
def test_redirect_uri_exact_match(server, app, variant):
    """RFC 9700 §2.1: redirect URIs are compared by exact string match; anything
    else gets an error page and no redirect, at authorize and at the token endpoint."""
    cid = app()
    resp = requests.get(server.auth_base + "/authorize",
                        params=authorize_params(server, cid, redirect=variant),
                        allow_redirects=False)
    assert resp.status_code == 400, (variant, resp.status_code)
    assert "Location" not in resp.headers
    assert resp.headers["Content-Type"].startswith("text/html")
    # the exact URI works (so the refusal above is about the difference)
    ok = requests.get(server.auth_base + "/authorize", params=authorize_params(server, cid),
                      allow_redirects=False)
    assert ok.status_code == 200 and page_kind(ok) == "login"


def test_redirect_uri_exact_match_at_token_endpoint(server, app):
    """RFC 6749 §4.1.3 / RFC 6819 §5.2.4.5: the code is bound to its redirect_uri."""
    cid = app()
    r = start(server, cid, REDIRECT, "openid", username="alice", password="alice-password")
    assert r.code
    for wrong in (REDIRECT + "/", "https://APP.example/cb", None):
        resp = redeem(server, cid, r, redirect_uri=wrong)
        assert resp.status_code == 400 and resp.json()["error"] in ("invalid_grant",
                                                                    "invalid_request")
    # the first mismatch burnt the code (single use)
    assert redeem(server, cid, r).status_code == 400


# ---- open redirector (RFC 9700 §4.11.2, RFC 6749 §4.1.2.1) ---------------

def test_no_open_redirector(server, app):
    """Never forward the browser to a URI that is not registered: not on an
    invalid client or redirect_uri, not on errors, not with prompt=none, not
    after logout, whatever parameter names a destination."""
    cid = app()
    cases = [
        authorize_params(server, "unknown-" + uuid.uuid4().hex[:6], redirect=EVIL),
        authorize_params(server, cid, redirect=EVIL),
        authorize_params(server, cid, redirect=EVIL, response_type="token"),
        authorize_params(server, cid, redirect=EVIL, prompt="none"),
        authorize_params(server, cid, redirect=EVIL, scope=""),
        authorize_params(server, cid, redirect=EVIL, client_id=None),
        authorize_params(server, cid, redirect=EVIL + "?x=" + REDIRECT),
        authorize_params(server, cid, redirect=REDIRECT + "@evil.example"),
    ]
    for params in cases:
        for method in ("GET", "POST"):
            if method == "GET":
                resp = requests.get(server.auth_base + "/authorize", params=params,
                                    allow_redirects=False)
            else:
                resp = requests.post(server.auth_base + "/authorize", data=params,
                                     allow_redirects=False)
            loc = resp.headers.get("Location", "")
            assert "evil.example" not in loc, (params, loc)
            assert resp.status_code in (400, 401, 404), (params, resp.status_code)
    # errors with a valid client and redirect_uri go back to the registered URI only
    for over in ({"response_type": "token"}, {"prompt": "none"}, {"code_challenge": None}):
        resp = requests.get(server.auth_base + "/authorize",
                            params=authorize_params(server, cid, **over), allow_redirects=False)
        assert resp.status_code in (302, 303), over
        assert resp.headers["Location"].startswith(REDIRECT + "?"), over
        assert "code" not in query_of(resp.headers["Location"])
    # parameters that name a destination elsewhere are never followed
    for path in ("/logout", "/consents", "/authorize"):
        for name in ("post_logout_redirect_uri", "return_to", "next", "redirect", "url"):
            resp = requests.get(server.auth_base + path, params={name: EVIL},
                                allow_redirects=False)
            assert "evil.example" not in resp.headers.get("Location", ""), (path, name)


# ---- 303 after credential POSTs (RFC 9700 §4.12) --------------------------

def test_credential_post_redirects_with_303(server, app):
    """A redirect answering a form POST that carried credentials is 303 (never
    307, which would make the browser re-post the password to the app)."""
    cid = app()
    s = browser()
    first = start(server, cid, REDIRECT, "openid", username="bob", password="bob-password",
                  session=s)
    assert first.code
    # consent remembered: the login POST itself now redirects to the app
    s2 = browser()
    r = start(server, cid, REDIRECT, "openid", username="bob", password="bob-password",
              session=s2, prompt="login")
    assert r.code
    posts = [resp for kind, resp in first.pages + r.pages
             if resp.request.method == "POST" and resp.status_code in range(300, 400)]
    assert posts, "some POST answered with a redirect"
    for resp in posts:
        assert resp.status_code == 303, (resp.request.url, resp.status_code)
    # the login POST that led straight to the app carried the password
    login_post = r.pages[1][1]
    body = login_post.request.body
    body = body.decode() if isinstance(body, bytes) else body
    assert login_post.request.method == "POST" and "password=" in body
    assert login_post.status_code == 303
    # authorization requests made by form POST answer errors with 303 too
    resp = requests.post(server.auth_base + "/authorize",
                         data=authorize_params(server, cid, response_type="token"),
                         allow_redirects=False)
    assert resp.status_code == 303


# ---- PKCE (RFC 9700 §2.1.1, §4.8.2) ---------------------------------------

def test_pkce_downgrade_verifier_without_challenge_is_refused(server, pg, app):
    """A code_verifier sent for a code that was issued without a challenge is
    refused (PKCE downgrade); a request without a challenge gets no code; the
    verifier is enforced when a challenge was sent."""
    cid = app()
    # authorize refuses a request without a challenge (and plain)
    for over in ({"code_challenge": None, "code_challenge_method": None},
                 {"code_challenge_method": "plain"}):
        resp = requests.get(server.auth_base + "/authorize",
                            params=authorize_params(server, cid, **over), allow_redirects=False)
        q = query_of(resp.headers.get("Location", ""))
        assert resp.status_code in (302, 303) and q.get("error") == "invalid_request", over
        assert "code" not in q
    # a code row without a challenge (as an attacker who stripped it would get),
    # redeemed with a verifier, is refused
    code = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    pg.exec("""INSERT INTO smart.authorization_codes
        (code_hash, family_id, client_id, user_id, redirect_uri, scope, launch_context,
         code_challenge, code_challenge_method, auth_time, issued_at, expires_at)
        VALUES (%s, %s, %s, 'alice', %s, 'openid', '{}'::jsonb, NULL, NULL, now(), now(),
                now() + interval '60 seconds')""",
            (sha256_hex(code), str(uuid.uuid4()), cid, REDIRECT))
    resp = token(server, {"grant_type": "authorization_code", "code": code,
                          "redirect_uri": REDIRECT, "client_id": cid,
                          "code_verifier": secrets.token_urlsafe(48)})
    assert resp.status_code == 400 and resp.json()["error"] in ("invalid_grant",
                                                                "invalid_request")
    assert "access_token" not in resp.text
    # with a challenge, a wrong or missing verifier is refused
    r = start(server, cid, REDIRECT, "openid", username="alice", password="alice-password")
    assert redeem(server, cid, r, code_verifier=None).status_code == 400
    r = start(server, cid, REDIRECT, "openid", username="alice", password="alice-password",
              session=r.session)
    assert redeem(server, cid, r, code_verifier=secrets.token_urlsafe(48)).status_code == 400
    # discovery advertises S256 only
    conf = requests.get(server.fhir_base + "/.well-known/smart-configuration").json()
    assert conf["code_challenge_methods_supported"] == ["S256"]


# ---- codes (RFC 9700 §4.2.4, RFC 6749 §4.1.2) -----------------------------

def test_code_reuse_revokes_issued_tokens(server, pg, app):
    """A code is single use; a second redemption fails and revokes the
    tokens the first one issued."""
    cid = app()
    r = start(server, cid, REDIRECT, SCOPE, username="alice", password="alice-password")
    first = redeem(server, cid, r)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert fhir_read(server, tokens["access_token"]).status_code == 200
    second = redeem(server, cid, r)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert "access_token" not in second.text
    assert fhir_read(server, tokens["access_token"]).status_code == 401
    again = token(server, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                           "client_id": cid})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # the code lives at most 60 s (ASVS 10.4.3 level 3)
    life = pg.query("SELECT extract(epoch FROM expires_at - issued_at)::int "
                    "FROM smart.authorization_codes WHERE code_hash = %s", (sha256_hex(r.code),))
    assert life and life[0][0] <= 60


# ---- refresh tokens (RFC 9700 §4.14.2) ------------------------------------

def test_refresh_rotation_with_reuse_detection(server, app):
    """Each refresh returns a new refresh token; presenting a used one fails
    and revokes the active one (the whole family)."""
    cid = app()
    r = start(server, cid, REDIRECT, SCOPE, username="alice", password="alice-password")
    t0 = redeem(server, cid, r).json()
    rt0 = t0["refresh_token"]
    r1 = token(server, {"grant_type": "refresh_token", "refresh_token": rt0, "client_id": cid})
    assert r1.status_code == 200, r1.text
    rt1, at1 = r1.json()["refresh_token"], r1.json()["access_token"]
    assert rt1 != rt0
    assert fhir_read(server, at1).status_code == 200
    reuse = token(server, {"grant_type": "refresh_token", "refresh_token": rt0, "client_id": cid})
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    # the attacker's (or the client's) newer token is dead too
    r2 = token(server, {"grant_type": "refresh_token", "refresh_token": rt1, "client_id": cid})
    assert r2.status_code == 400 and r2.json()["error"] == "invalid_grant"
    # a refresh token is bound to its client
    r = start(server, cid, REDIRECT, SCOPE, username="alice", password="alice-password",
              session=r.session)
    rt = redeem(server, cid, r).json()["refresh_token"]
    other = app()
    resp = token(server, {"grant_type": "refresh_token", "refresh_token": rt, "client_id": other})
    assert resp.status_code in (400, 401) and "access_token" not in resp.text


# ---- pages: clickjacking, referrer, CORS (RFC 9700 §4.16, §4.2.4, §2.6) ---

def assert_not_framable(kind, resp):
    assert resp.headers.get("X-Frame-Options") == "DENY", kind
    csp = resp.headers.get("Content-Security-Policy", "")
    assert re.search(r"(^|;)\s*frame-ancestors 'none'\s*(;|$)", csp), (kind, csp)


def test_clickjacking_protection_on_every_page(server, pg, app):
    """RFC 9700 §4.16: the authorization, login, consent, picker and error
    pages cannot be framed (CSP frame-ancestors and X-Frame-Options)."""
    pages = html_pages(server, app(), pg)
    assert {"login", "patient", "consent"} <= set(pages)
    for kind, resp in pages.items():
        assert resp.headers.get("Content-Type", "").startswith("text/html"), kind
        assert_not_framable(kind, resp)


def test_clickjacking_protection_in_every_web_server_setup(web, demo):
    """The headers come from the programs, so every web-server setup sends them."""
    cid = "bcp-" + uuid.uuid4().hex[:10]
    put(demo, {"resourceType": "Client", "id": cid, "grant_types": ["authorization_code"],
               "auth": {"authorization_code": {"redirect_uri": REDIRECT}}})
    r = start(web, cid, REDIRECT, "openid", username="bob", password="bob-password",
              decision=None)
    assert [k for k, _ in r.pages] == ["login", "consent"]
    for kind, resp in r.pages:
        assert_not_framable(kind, resp)
    assert_not_framable("error", requests.get(web.auth_base + "/authorize",
                                              params={"client_id": "nope"}))


def test_referrer_policy_no_referrer_and_no_third_party_resources(server, pg, app):
    """RFC 9700 §4.2.4: Referrer-Policy: no-referrer, and the pages load nothing
    from elsewhere (no third-party scripts, images, styles or links)."""
    pages = html_pages(server, app(), pg)
    origin = urllib.parse.urlsplit(server.base)
    for kind, resp in pages.items():
        assert resp.headers.get("Referrer-Policy") == "no-referrer", kind
        for m in re.finditer(r"""(?:src|href|action)\s*=\s*["']([^"']*)["']""", resp.text, re.I):
            url = urllib.parse.urlsplit(urllib.parse.urljoin(resp.url, m.group(1)))
            assert (url.scheme, url.netloc) == (origin.scheme, origin.netloc), (kind, m.group(1))
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp, kind


def test_no_cors_on_authorization_endpoint(server, app):
    """RFC 9700 §2.6: CORS is not allowed at the authorization endpoint
    (it is at the token and metadata endpoints, which the last lines check,
    so that this test can tell the difference)."""
    cid = app()
    origin = {"Origin": "https://app.example"}
    url = server.auth_base + "/authorize"
    responses = [
        requests.get(url, params=authorize_params(server, cid), headers=origin),
        requests.post(url, data=authorize_params(server, cid), headers=origin,
                      allow_redirects=False),
        requests.options(url, headers={**origin, "Access-Control-Request-Method": "GET"}),
        requests.options(url, headers={**origin, "Access-Control-Request-Method": "POST",
                                       "Access-Control-Request-Headers": "content-type"}),
        requests.get(url, params={"client_id": "nope"}, headers=origin),
    ]
    for resp in responses:
        assert not [h for h in resp.headers if h.lower().startswith("access-control-")], \
            (resp.request.method, dict(resp.headers))
    tok = requests.options(server.auth_base + "/token",
                           headers={**origin, "Access-Control-Request-Method": "POST"})
    assert tok.headers.get("Access-Control-Allow-Origin")
    meta = requests.get(server.fhir_base + "/.well-known/smart-configuration", headers=origin)
    assert meta.headers.get("Access-Control-Allow-Origin")


# ---- mix-up defence (RFC 9207, RFC 9700 §4.4) -----------------------------

def test_iss_in_authorization_responses_and_discovery(server, app):
    """Every authorization response (code, error, denial) carries iss = the
    issuer, and discovery says so."""
    cid = app()
    ok = start(server, cid, REDIRECT, "openid", username="alice", password="alice-password")
    assert ok.code and ok.query["iss"] == server.fhir_base
    denied = start(server, app(), REDIRECT, "openid", username="alice", password="alice-password",
                   decision="deny", session=ok.session)
    assert denied.error == "access_denied" and denied.query["iss"] == server.fhir_base
    err = requests.get(server.auth_base + "/authorize",
                       params=authorize_params(server, cid, response_type="token"),
                       allow_redirects=False)
    assert query_of(err.headers["Location"])["iss"] == server.fhir_base
    for doc in ("openid-configuration", "smart-configuration"):
        conf = requests.get(server.fhir_base + "/.well-known/" + doc).json()
        assert conf["issuer"] == server.fhir_base, doc
        if doc == "openid-configuration":
            assert conf["authorization_response_iss_parameter_supported"] is True


# ---- sessions and forms (RFC 6819 §4.4.1.8, ASVS 3.5) ---------------------

def test_session_fixation_cookie_changes_at_login(server, pg, app, user):
    """A session cookie planted before login (an attacker's own session, or a
    value of the attacker's choosing) is replaced by a fresh one at login."""
    cid = app()
    attacker = browser()
    assert start(server, cid, REDIRECT, "openid", username="bob", password="bob-password",
                 session=attacker).code
    planted = attacker.cookies.get("smartauth_session")
    chosen = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    uid, pw = user()
    for value in (planted, chosen):
        victim = browser()
        victim.cookies.set("smartauth_session", value, domain="127.0.0.1", path="/auth")
        r = start(server, cid, REDIRECT, "openid", username=uid, password=pw, session=victim,
                  prompt="login")
        assert r.code, r
        now = victim.cookies.get("smartauth_session", domain="127.0.0.1", path="/auth")
        assert now and now != value
        rows = pg.query("SELECT user_id FROM smart.sessions WHERE session_hash = %s",
                        (sha256_hex(now),))
        assert rows == [(uid,)]
        code_user = pg.query("SELECT user_id, session_hash FROM smart.authorization_codes "
                             "WHERE code_hash = %s", (sha256_hex(r.code),))
        assert code_user == [(uid, sha256_hex(now))]
    # the planted session is still the attacker's, never the victim's
    assert pg.query("SELECT user_id FROM smart.sessions WHERE session_hash = %s",
                    (sha256_hex(planted),)) == [("bob",)]
    assert pg.query("SELECT count(*) FROM smart.sessions WHERE session_hash = %s",
                    (sha256_hex(chosen),)) == [(0,)]


def test_csrf_token_on_every_form(server, pg, app):
    """Every form carries a CSRF token, and every form posted without it or with
    a wrong one is refused and changes nothing."""
    cid = app()
    s = browser("127.0.0.91")
    r = start(server, cid, REDIRECT, SCOPE, username="dr-smith", password="dr-smith-password",
              session=s, decision=None)
    assert [k for k, _ in r.pages] == ["login", "patient", "consent"]
    forms = [(kind, resp, f) for kind, resp in r.pages for f in parse_forms(resp.text)
             if f.method == "post"]
    logout = s.get(server.auth_base + "/logout")
    forms += [("logout", logout, f) for f in parse_forms(logout.text) if f.method == "post"]
    assert {k for k, _, _ in forms} == {"login", "patient", "consent", "logout"}
    codes = pg.query("SELECT count(*) FROM smart.authorization_codes WHERE client_id = %s",
                     (cid,))[0][0]
    for kind, resp, form in forms:
        csrf = form.hidden().get("csrf")
        assert csrf and len(csrf) >= 22, (kind, form.hidden())
        url = urllib.parse.urljoin(resp.url, form.action or resp.url)
        over = {}
        if form.has("username"):
            over = {"username": "dr-smith", "password": "dr-smith-password"}
        choose = None
        if form.has("patient", "radio"):
            choose = {"patient": form.values("patient")[0]}
        button = ("decision", "allow") if form.has("scope", "checkbox") else None
        for bad in (None, "", "x" + csrf[1:], csrf + "x"):
            data = form_data(form, button=button, overrides={**over, "csrf": bad}, choose=choose)
            got = s.post(url, data=data, allow_redirects=False)
            assert got.status_code in (400, 403), (kind, bad, got.status_code)
            assert "Location" not in got.headers, kind
    # nothing happened: no code, and the session was not ended
    assert pg.query("SELECT count(*) FROM smart.authorization_codes WHERE client_id = %s",
                    (cid,))[0][0] == codes
    assert pg.query("SELECT revoked_at IS NULL FROM smart.sessions WHERE session_hash = %s",
                    (sha256_hex(s.cookies.get("smartauth_session")),)) == [(True,)]
    # the consents page's revoke form is protected the same way
    page = s.get(server.auth_base + "/consents")
    for form in parse_forms(page.text):
        if form.method == "post":
            assert form.hidden().get("csrf")


def test_login_throttling(server, pg, app, user):
    """RFC 6819 §4.4.1.11-12, ASVS: repeated failed logins lock the user name
    (even the right password is refused for a while) and the address."""
    cid = app()
    uid, pw = user()
    s = browser("127.0.0.92")
    page = start(server, cid, REDIRECT, "openid", session=s).response
    for _ in range(5):
        form = next(f for f in parse_forms(page.text) if f.has("username"))
        page = s.post(server.auth_base + "/authorize",
                      data=form_data(form, overrides={"username": uid, "password": "wrong"}),
                      allow_redirects=False)
        assert page_kind(page) == "login"
    form = next(f for f in parse_forms(page.text) if f.has("username"))
    page = s.post(server.auth_base + "/authorize",
                  data=form_data(form, overrides={"username": uid, "password": pw}),
                  allow_redirects=False)
    assert page.status_code == 429 and page_kind(page) == "login"
    assert pg.query("SELECT count(*) FROM smart.sessions WHERE user_id = %s", (uid,)) == [(0,)]
    # the same user from another address is throttled too (the key is the name)
    r = start(server, cid, REDIRECT, "openid", username=uid, password=pw,
              session=browser("127.0.0.93"))
    assert r.kind == "login" and r.response.status_code == 429
    # many user names from one address lock the address
    s = browser("127.0.0.94")
    page = start(server, cid, REDIRECT, "openid", session=s).response
    for i in range(20):
        form = next(f for f in parse_forms(page.text) if f.has("username"))
        page = s.post(server.auth_base + "/authorize",
                      data=form_data(form, overrides={"username": f"nobody-{i}-{uuid.uuid4().hex[:6]}",
                                                      "password": "x"}),
                      allow_redirects=False)
    form = next(f for f in parse_forms(page.text) if f.has("username"))
    page = s.post(server.auth_base + "/authorize",
                  data=form_data(form, overrides={"username": "alice", "password": "alice-password"}),
                  allow_redirects=False)
    assert page.status_code == 429
    pg.exec("UPDATE smart.login_attempts SET at = at - interval '1 hour' "
            "WHERE address IN ('127.0.0.92', '127.0.0.93', '127.0.0.94')")


# ---- no secrets in logs or in readable form (RFC 6819 §4.6.7, §4.3.2) -----

@pytest.fixture(scope="module")
def every_secret(server, pg):
    """Runs each kind of request that handles a secret, with PostgreSQL logging
    every statement and its parameters, and returns the plain values used:
    a client secret, passwords (right and wrong), codes, access, refresh and
    id tokens, the session cookie, CSRF tokens and an EHR launch id; also
    the new lines of the PostgreSQL log and the web server's log."""
    logfile = os.path.join(pg.dir, "postgres.log")
    quiet_exec(pg, "ALTER SYSTEM SET log_statement = 'all'")
    quiet_exec(pg, "ALTER SYSTEM SET log_min_error_statement = 'error'")
    quiet_exec(pg, "SELECT pg_reload_conf()")
    time.sleep(0.5)
    pg_start = os.path.getsize(logfile)
    secret = "cs-" + secrets.token_urlsafe(24)
    values = {"client secret": secret}
    try:
        cid = "bcp-" + uuid.uuid4().hex[:10]
        put(pg, {"resourceType": "Client", "id": cid, "secret": secret,
                 "grant_types": ["authorization_code", "refresh_token"],
                 "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True,
                                                 "secret_required": True}}})
        uid = "bcpu-" + uuid.uuid4().hex[:8]
        pw = "pw-" + secrets.token_urlsafe(12)
        put(pg, {"resourceType": "User", "id": uid, "password": pw, "fhirUser": "Patient/pt-4"})
        values["password"] = pw
        wrong = "wrongpw-" + secrets.token_urlsafe(12)
        values["wrong password"] = wrong
        s = browser("127.0.0.95")
        r = start(server, cid, REDIRECT, SCOPE, session=s)
        form = next(f for f in parse_forms(r.response.text) if f.has("username"))
        values["csrf (login)"] = form.hidden()["csrf"]
        s.post(server.auth_base + "/authorize",
               data=form_data(form, overrides={"username": uid, "password": wrong}))
        r = start(server, cid, REDIRECT, SCOPE, username=uid, password=pw, session=s,
                  nonce="nonce-" + secrets.token_urlsafe(8))
        assert r.code, r
        values["code"] = r.code
        values["code verifier"] = r.verifier
        values["session cookie"] = s.cookies.get("smartauth_session")
        values["browser cookie"] = s.cookies.get("smartauth_req")
        t = redeem(server, cid, r, auth=(cid, secret))
        assert t.status_code == 200, t.text
        t = t.json()
        values["access token"] = t["access_token"]
        values["refresh token"] = t["refresh_token"]
        values["id token"] = t["id_token"]
        redeem(server, cid, r, auth=(cid, secret))          # a replay, logged as such
        token(server, {"grant_type": "authorization_code", "code": r.code,
                       "redirect_uri": REDIRECT}, auth=(cid, "wrong-" + secret))
        t2 = token(server, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]},
                   auth=(cid, secret))
        values["refresh token 2"] = t2.json().get("refresh_token", "")
        assert fhir_read(server, t["access_token"]).status_code == 401   # revoked by the replay
        fhir_read(server, t["access_token"][:-4] + "AAAA")
        rpc = requests.post(server.url("/rpc"), auth=("ehr", "ehr-secret"), json={
            "method": "aidbox.smart/get-launch-uri",
            "params": {"user": "alice", "iss": server.fhir_base, "client": "sample-app",
                       "ctx": {"patient": "pt-1"}}})
        assert rpc.status_code == 200, rpc.text
        values["launch id"] = rpc.json()["result"]["launch"]
        values["ehr secret"] = "ehr-secret"
        page = s.get(server.auth_base + "/logout")
        values["csrf (logout)"] = parse_forms(page.text)[0].hidden()["csrf"]
        s.post(server.auth_base + "/logout", data={"csrf": values["csrf (logout)"]})
        time.sleep(0.5)
    finally:
        quiet_exec(pg, "ALTER SYSTEM RESET log_statement")
        quiet_exec(pg, "ALTER SYSTEM RESET log_min_error_statement")
        quiet_exec(pg, "SELECT pg_reload_conf()")
    with open(logfile, errors="replace") as f:
        f.seek(pg_start)
        pg_log = f.read()
    web_log = server.error_log()    # every log of the server, since it started
    return {k: v for k, v in values.items() if v}, pg_log, web_log


def test_no_secret_password_code_or_token_in_logs(every_secret):
    """Neither the web servers' logs nor PostgreSQL's (with every statement and
    its parameters logged) ever hold a secret, password, code or token."""
    values, pg_log, web_log = every_secret
    # the scan means something: the programs' statements and their hashed
    # parameters are in the PostgreSQL log, and the programs did log
    assert "parameters:" in pg_log or "execute" in pg_log
    assert sha256_hex(values["code"]) in pg_log
    assert web_log.strip()
    for name, value in values.items():
        assert value not in pg_log, f"{name} in the PostgreSQL log"
        assert value not in web_log, f"{name} in the web server's log"
        # nor the signature part of a token on its own
        if value.count(".") == 2:
            assert value.rsplit(".", 1)[1] not in pg_log + web_log, name


def test_no_secret_password_code_or_token_readable_in_database(every_secret, pg):
    """RFC 6819 §4.3.2: every table of schema smart, read in full, holds no
    secret, password, code, refresh token, cookie or launch id in clear
    (codes, tokens and cookies only as SHA-256, secrets and passwords only
    as salted slow hashes)."""
    values, _, _ = every_secret
    tables = [t for (t,) in pg.query(
        "SELECT quote_ident(table_name) FROM information_schema.tables "
        "WHERE table_schema = 'smart' AND table_type = 'BASE TABLE'")]
    assert len(tables) >= 8
    dump = ""
    for t in tables:
        dump += " ".join(r[0] or "" for r in pg.query(f"SELECT t::text FROM smart.{t} t")) + "\n"
    assert sha256_hex(values["code"]) in dump, "codes are stored as their SHA-256"
    for name, value in values.items():
        if name == "access token":
            continue        # a JWT, recorded by jti; its parts are checked below
        assert value not in dump, f"{name} readable in the database"
    assert values["access token"] not in dump
    assert values["access token"].rsplit(".", 1)[1] not in dump, "access token signature stored"
    # passwords and client secrets are salted slow hashes (bcrypt / crypt)
    rows = pg.query("SELECT password_hash FROM smart.users WHERE password_hash IS NOT NULL LIMIT 5")
    assert rows and all(re.match(r"^\$(2[aby]|5|6|argon2id?|scrypt|y)\$", h) for (h,) in rows), rows
