"""Authorization endpoint: standalone launches, request validation, pages.

Everything goes through the real pages over HTTP (smartflow parses the HTML
forms as a browser does).  Each test registers its own client, so remembered
consents never leak between tests.  Tests whose logins fail use their own
loopback source address (smartflow.browser), so the per-address throttle
never reaches the other tests on 127.0.0.1.
"""
import json
import re
import time
import urllib.parse
import uuid

import pytest
import requests

from smartflow import (browser, form_data, page_kind, parse_forms, query_of, sha256_hex,
                       start)

REDIRECT = "https://app.example/cb"
REDIRECT_Q = "https://app.example/cb2?tab=1"
FULL = "openid fhirUser launch/patient patient/*.rs offline_access"
XSS = '"><script>alert(1)</script>'

SECURITY_HEADERS = ("X-Frame-Options", "Content-Security-Policy", "Cache-Control",
                    "Referrer-Policy", "X-Content-Type-Options")


def put(pg, resource):
    pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps(resource),))


@pytest.fixture
def new_client(server, pg):
    """Registers a fresh public SMART app; keyword arguments adjust it."""
    def make(refresh=True, scope=None, redirect=(REDIRECT, REDIRECT_Q), grants=None, name=None):
        cid = "az-" + uuid.uuid4().hex[:10]
        res = {"resourceType": "Client", "id": cid, "name": name or "Test app " + cid,
               "grant_types": grants if grants is not None else
               (["authorization_code", "refresh_token"] if refresh else ["authorization_code"]),
               "auth": {"authorization_code": {"redirect_uri": list(redirect),
                                               "refresh_token": refresh}}}
        if scope is not None:
            res["scope"] = scope
        put(pg, res)
        return cid
    return make


def authorize_url(server):
    return server.auth_base + "/authorize"


def valid_params(server, cid, **over):
    p = {"response_type": "code", "client_id": cid, "redirect_uri": REDIRECT,
         "scope": "openid fhirUser", "state": "st-" + uuid.uuid4().hex, "aud": server.fhir_base,
         "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
         "code_challenge_method": "S256"}
    for k, v in over.items():
        if v is None:
            p.pop(k, None)
        else:
            p[k] = v
    return p


def code_row(pg, code):
    rows = pg.query(
        "SELECT client_id, user_id, redirect_uri, scope, launch_context, nonce, code_challenge, "
        "code_challenge_method, session_hash, online_only, auth_time IS NOT NULL, "
        "extract(epoch FROM expires_at - issued_at)::int, used_at "
        "FROM smart.authorization_codes WHERE code_hash = %s", (sha256_hex(code),))
    assert len(rows) == 1, "exactly one code row, found by the SHA-256 of the code"
    keys = ("client_id", "user_id", "redirect_uri", "scope", "launch_context", "nonce",
            "code_challenge", "code_challenge_method", "session_hash", "online_only",
            "has_auth_time", "lifetime", "used_at")
    return dict(zip(keys, rows[0]))


def assert_page_headers(resp, origin=None):
    for h in SECURITY_HEADERS:
        assert h in resp.headers, f"{h} missing on {resp.status_code} {resp.url}"
    assert resp.headers["X-Frame-Options"] == "DENY"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    if origin:
        assert f"form-action 'self' {origin}" in csp
    assert "no-store" in resp.headers["Cache-Control"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert not any(k.lower().startswith("access-control-") for k in resp.headers)


def assert_error_page(resp, status=400):
    assert resp.status_code == status, resp.text
    assert "Location" not in resp.headers
    assert resp.headers["Content-Type"].startswith("text/html")
    assert_page_headers(resp)


def assert_error_redirect(resp, error, state, server, status=302):
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    loc = resp.headers["Location"]
    assert loc.startswith(REDIRECT + "?")
    q = query_of(loc)
    assert q["error"] == error, q
    assert "code" not in q
    assert q["iss"] == server.fhir_base
    if state is None:
        assert "state" not in q
    else:
        assert q["state"] == state
    assert_page_headers(resp)
    return q


# ---- standalone launches ----

def test_standalone_patient_user_gets_own_patient_and_code_row(server, pg, new_client):
    cid = new_client()
    r = start(server, cid, REDIRECT, FULL, username="alice", password="alice-password",
              nonce="n-0S6_WzA2Mj")
    kinds = [k for k, _ in r.pages]
    assert kinds == ["login", "consent", "redirect"], "no patient picker for a patient user"
    assert r.response.status_code == 303
    assert r.code and r.query["state"] == r.state and r.query["iss"] == server.fhir_base
    row = code_row(pg, r.code)
    assert row["client_id"] == cid and row["user_id"] == "alice"
    assert row["redirect_uri"] == REDIRECT
    assert row["scope"] == FULL
    assert row["launch_context"] == {
        "patient": "pt-1", "need_patient_banner": True, "fhirUser": "Patient/pt-1",
        "smart_style_url": server.auth_base + "/style"}
    assert row["nonce"] == "n-0S6_WzA2Mj"
    assert row["code_challenge"] == r.challenge and row["code_challenge_method"] == "S256"
    assert row["online_only"] is False and row["has_auth_time"] and row["used_at"] is None
    assert row["lifetime"] == 60
    cookie = r.session.cookies.get("smartauth_session")
    assert row["session_hash"] == sha256_hex(cookie)
    # only hashes are stored: neither the code nor the cookie appears anywhere in clear
    dump = pg.query("SELECT string_agg(c::text, ' ') FROM smart.authorization_codes c")[0][0] or ""
    assert r.code not in dump
    assert pg.query("SELECT count(*) FROM smart.sessions WHERE session_hash = %s",
                    (sha256_hex(cookie),))[0][0] == 1
    assert pg.query("SELECT count(*) FROM smart.sessions WHERE session_hash = %s", (cookie,))[0][0] == 0
    events = [e for (e,) in pg.query(
        "SELECT event || ':' || outcome FROM smart.audit_events WHERE client_id = %s ORDER BY id", (cid,))]
    assert events == ["login:success", "consent:success", "code:success"]


def test_session_cookie_attributes(server, new_client):
    r = start(server, new_client(), REDIRECT, "openid", username="bob", password="bob-password")
    login_post = r.pages[1][1]
    sc = login_post.headers["Set-Cookie"]
    m = re.search(r"smartauth_session=([^;]+);([^,]*)", sc)
    assert m, sc
    attrs = m.group(2)
    assert "HttpOnly" in attrs and "SameSite=Lax" in attrs and "Path=/auth" in attrs
    assert "Secure" not in attrs  # plain HTTP on loopback


def test_practitioner_gets_patient_picker(server, pg, new_client):
    cid = new_client()
    r = start(server, cid, REDIRECT, FULL, username="dr-smith", password="dr-smith-password",
              patient="pt-3")
    assert [k for k, _ in r.pages] == ["login", "patient", "consent", "redirect"]
    picker = r.pages[1][1]
    forms = parse_forms(picker.text)
    radios = [v for f in forms for v in f.values("patient")]
    assert {"pt-1", "pt-2", "pt-3", "pt-4", "pt-5"} <= set(radios)
    assert "Alice" in picker.text and "1987-04-12" in picker.text  # name and birth date
    assert_page_headers(picker, "https://app.example")
    row = code_row(pg, r.code)
    assert row["launch_context"]["patient"] == "pt-3"
    assert row["launch_context"]["fhirUser"] == "Practitioner/pr-1"
    assert "encounter" not in row["launch_context"]


def test_encounter_picker_offers_the_chosen_patients_encounters(server, pg, new_client):
    cid = new_client()
    scope = "openid launch/patient launch/encounter patient/*.rs"
    r = start(server, cid, REDIRECT, scope, username="dr-smith", password="dr-smith-password",
              patient="pt-2", stop_at="encounter")
    assert [k for k, _ in r.pages] == ["login", "patient", "encounter"]
    enc_page = r.pages[2][1]
    offered = [v for f in parse_forms(enc_page.text) for v in f.values("encounter")]
    own = {i for (i,) in pg.query("SELECT id FROM smart.fhir_resources WHERE resource_type = "
                                  "'Encounter' AND patient_id = 'pt-2' AND NOT deleted")}
    assert offered and set(offered) == own
    # an encounter of another patient is refused and changes nothing
    other = pg.query("SELECT id FROM smart.fhir_resources WHERE resource_type = 'Encounter' "
                     "AND patient_id = 'pt-1' LIMIT 1")[0][0]
    form = next(f for f in parse_forms(enc_page.text) if f.has("encounter", "radio"))
    resp = r.session.post(authorize_url(server), data=form_data(form, choose={"encounter": other}),
                          allow_redirects=False)
    assert resp.status_code == 200 and page_kind(resp) == "encounter"
    assert "Choose a visit from the list" in resp.text
    resp = r.session.post(authorize_url(server), data=form_data(form, choose={"encounter": offered[-1]}),
                          allow_redirects=False)
    assert page_kind(resp) == "consent"
    form = next(f for f in parse_forms(resp.text) if f.has("scope", "checkbox"))
    resp = r.session.post(authorize_url(server), data=form_data(form, button=("decision", "allow")),
                          allow_redirects=False)
    code = query_of(resp.headers["Location"])["code"]
    ctx = code_row(pg, code)["launch_context"]
    assert ctx["patient"] == "pt-2" and ctx["encounter"] == offered[-1]


def test_patient_user_with_launch_encounter_chooses_own_encounter(server, pg, new_client):
    r = start(server, new_client(), REDIRECT, "launch/patient launch/encounter patient/*.rs",
              username="alice", password="alice-password")
    assert [k for k, _ in r.pages] == ["login", "encounter", "consent", "redirect"]
    ctx = code_row(pg, r.code)["launch_context"]
    assert ctx["patient"] == "pt-1"
    assert pg.query("SELECT patient_id FROM smart.fhir_resources WHERE resource_type = 'Encounter' "
                    "AND id = %s", (ctx["encounter"],))[0][0] == "pt-1"


def test_picker_refuses_unknown_patient_and_searches(server, new_client):
    r = start(server, new_client(), REDIRECT, FULL, username="dr-smith",
              password="dr-smith-password", decision=None, patient="__stop__")
    # smartflow submitted a patient that is not offered: the picker comes back with an error
    assert r.kind == "patient"
    assert "Choose a patient from the list" in r.response.text
    form = next(f for f in parse_forms(r.response.text) if f.has("patient", "radio"))
    data = [(k, v) for k, v in form_data(form) if k in ("request", "csrf")] + [("q", "Martinez")]
    resp = r.session.post(authorize_url(server), data=data, allow_redirects=False)
    radios = [v for f in parse_forms(resp.text) for v in f.values("patient")]
    assert radios == ["pt-2"], "search by name narrows the list"
    assert 'name="q"' in resp.text


def test_single_sign_on_second_app_skips_login(server, new_client):
    s = browser()
    r1 = start(server, new_client(), REDIRECT, "openid fhirUser", username="bob",
               password="bob-password", session=s)
    assert r1.code
    r2 = start(server, new_client(), REDIRECT, "openid fhirUser", session=s)
    assert [k for k, _ in r2.pages] == ["consent", "redirect"]
    assert r2.code


def test_authorize_post_is_supported(server, pg, new_client):
    cid = new_client()
    r = start(server, cid, REDIRECT, "openid launch/patient patient/*.rs", method="POST",
              username="alice", password="alice-password")
    assert r.pages[0][1].status_code == 303
    assert r.pages[0][1].headers["Location"].startswith("/auth/authorize?request=")
    assert r.code and code_row(pg, r.code)["launch_context"]["patient"] == "pt-1"


def test_redirect_uri_query_is_kept(server, new_client):
    cid = new_client()
    r = start(server, cid, REDIRECT_Q, "openid", username="bob", password="bob-password")
    assert r.location.startswith(REDIRECT_Q + "&code=")
    assert r.query["tab"] == "1" and r.query["code"]
    resp = requests.get(authorize_url(server), params=valid_params(
        server, cid, redirect_uri=REDIRECT_Q, response_type="token"), allow_redirects=False)
    assert resp.headers["Location"].startswith(REDIRECT_Q + "&error=unsupported_response_type")


# ---- the redirect URI and client are checked first: pages, never redirects ----

@pytest.mark.parametrize("redirect", [
    None, "", "https://app.example/c", "https://app.example/cb/", "https://app.example/cbx",
    "https://app.example/cb/../cb", "https://APP.example/cb", "HTTPS://app.example/cb",
    "https://app.example/CB", "https://app.example/cb?x=1", "https://app.example/cb#frag",
    "https://app.example/%63b", "https://app.example:443/cb", "http://app.example/cb",
    "https://evil.example/cb", "https://app.example.evil.example/cb", " https://app.example/cb",
    "https://app.example/cb2", "https://app.example/cb2?tab=2", "https://app.example/cb2?tab=1&x",
])
def test_redirect_uri_mismatch_shows_error_page(server, new_client, redirect):
    cid = new_client()
    resp = requests.get(authorize_url(server), params=valid_params(server, cid, redirect_uri=redirect),
                        allow_redirects=False)
    assert_error_page(resp)


def test_repeated_redirect_uri_or_client_id_shows_error_page(server, new_client):
    cid = new_client()
    base = "response_type=code&scope=openid&state=s&code_challenge_method=S256"
    for q in (f"client_id={cid}&redirect_uri={REDIRECT}&redirect_uri={REDIRECT}&{base}",
              f"client_id={cid}&client_id={cid}&redirect_uri={REDIRECT}&{base}"):
        assert_error_page(requests.get(authorize_url(server) + "?" + q, allow_redirects=False))


@pytest.mark.parametrize("client_id", [None, "", "no-such-app", XSS, "x" * 300])
def test_unknown_or_missing_client_shows_error_page(server, client_id):
    resp = requests.get(authorize_url(server), params=valid_params(server, "x", client_id=client_id),
                        allow_redirects=False)
    assert_error_page(resp)
    assert "<script>" not in resp.text


def test_client_without_code_grant_gets_unauthorized_client(server, new_client):
    cid = new_client(grants=["client_credentials"])
    p = valid_params(server, cid)
    resp = requests.get(authorize_url(server), params=p, allow_redirects=False)
    assert_error_redirect(resp, "unauthorized_client", p["state"], server)


# ---- later errors go back to the app with state and iss ----

@pytest.mark.parametrize("change,error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"response_type": None}, "invalid_request"),
    ({"aud": None}, "invalid_request"),
    ({"aud": "https://evil.example/fhir"}, "invalid_request"),
    ({"aud": "AUD+x"}, "invalid_request"),
    ({"aud": "AUD//"}, "invalid_request"),
    ({"aud": "AUD/Patient"}, "invalid_request"),
    ({"code_challenge": None}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": "too-short"}, "invalid_request"),
    ({"scope": None}, "invalid_scope"),
    ({"scope": "system/*.rs"}, "invalid_scope"),
    ({"scope": "bogus nonsense"}, "invalid_scope"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"prompt": "sometimes"}, "invalid_request"),
    ({"launch": "not a launch id"}, "invalid_request"),
    ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ({"response_mode": "fragment"}, "invalid_request"),
])
def test_invalid_request_redirects_error_with_state_and_iss(server, pg, new_client, change, error):
    cid = new_client()
    change = {k: (v.replace("AUD", server.fhir_base) if isinstance(v, str) else v)
              for k, v in change.items()}
    p = valid_params(server, cid, **change)
    before = pg.query("SELECT count(*) FROM smart.authorization_codes WHERE client_id = %s", (cid,))[0][0]
    resp = requests.get(authorize_url(server), params=p, allow_redirects=False)
    q = assert_error_redirect(resp, error, p["state"], server)
    assert q.get("error_description")
    assert pg.query("SELECT count(*) FROM smart.authorization_codes WHERE client_id = %s",
                    (cid,))[0][0] == before
    events = pg.query("SELECT detail->>'error' FROM smart.audit_events WHERE client_id = %s "
                      "AND event = 'authorize'", (cid,))
    assert (error,) in events


def test_missing_state_is_refused_without_state(server, new_client):
    p = valid_params(server, new_client(), state=None)
    resp = requests.get(authorize_url(server), params=p, allow_redirects=False)
    q = assert_error_redirect(resp, "invalid_request", None, server)
    assert "state" in q["error_description"]


def test_repeated_oauth_parameters_are_refused(server, new_client):
    cid = new_client()
    p = valid_params(server, cid)
    for dup in ("scope", "aud", "code_challenge", "response_type", "nonce"):
        items = list(p.items()) + [(dup, p.get(dup, "x"))] * (1 if dup in p else 2)
        resp = requests.get(authorize_url(server) + "?" + urllib.parse.urlencode(items),
                            allow_redirects=False)
        q = assert_error_redirect(resp, "invalid_request", p["state"], server)
        assert dup in q["error_description"]


def test_error_after_form_post_is_303(server, new_client):
    p = valid_params(server, new_client(), code_challenge_method="plain")
    resp = requests.post(authorize_url(server), data=p, allow_redirects=False)
    assert_error_redirect(resp, "invalid_request", p["state"], server, status=303)


def test_mixing_query_and_body_is_refused(server, new_client):
    p = valid_params(server, new_client())
    resp = requests.post(authorize_url(server) + "?prompt=login", data=p, allow_redirects=False)
    q = assert_error_redirect(resp, "invalid_request", p["state"], server, status=303)
    assert "not both" in q["error_description"]


def test_aud_with_one_trailing_slash_is_accepted(server, new_client):
    r = start(server, new_client(), REDIRECT, "openid", aud=server.fhir_base + "/")
    assert r.kind == "login", "documented choice: one trailing slash is the same FHIR base"


def test_state_is_echoed_verbatim(server, new_client):
    state = "a b&c=d/é?" + XSS + "%41"
    r = start(server, new_client(), REDIRECT, "openid", state=state, username="bob",
              password="bob-password")
    assert r.query["state"] == state


# ---- scopes ----

def test_unknown_and_disallowed_scopes_are_dropped_and_said(server, pg, new_client):
    cid = new_client(refresh=False, scope="openid fhirUser launch/patient patient/Observation.rs")
    scope = "openid fhirUser launch/patient patient/Observation.rs patient/*.rs offline_access bogus"
    r = start(server, cid, REDIRECT, scope, username="alice", password="alice-password",
              decision=None)
    assert r.kind == "consent"
    form = next(f for f in parse_forms(r.response.text) if f.has("scope", "checkbox"))
    assert form.values("scope") == ["openid", "fhirUser", "launch/patient", "patient/Observation.rs"]
    text = r.text
    for dropped in ("patient/*.rs", "offline_access", "bogus"):
        assert dropped in text
    assert "not allowed for this app" in text and "may not keep access" in text
    resp = r.session.post(authorize_url(server), data=form_data(form, button=("decision", "allow")),
                          allow_redirects=False)
    code = query_of(resp.headers["Location"])["code"]
    assert code_row(pg, code)["scope"] == "openid fhirUser launch/patient patient/Observation.rs"


def test_v1_scopes_keep_their_spelling(server, pg, new_client):
    scope = "launch/patient openid profile offline_access patient/*.read"
    r = start(server, new_client(), REDIRECT, scope, username="alice", password="alice-password")
    assert code_row(pg, r.code)["scope"] == scope


def test_online_access_only_marks_code_online_only(server, pg, new_client):
    r = start(server, new_client(), REDIRECT, "openid online_access", username="bob",
              password="bob-password")
    assert code_row(pg, r.code)["online_only"] is True


# ---- consent ----

def test_consent_narrowing_removes_unchecked_scope(server, pg, new_client):
    r = start(server, new_client(), REDIRECT, FULL, username="alice", password="alice-password",
              uncheck=["offline_access", "patient/*.rs"])
    assert code_row(pg, r.code)["scope"] == "openid fhirUser launch/patient"


def test_consent_with_nothing_checked_asks_again(server, new_client):
    r = start(server, new_client(), REDIRECT, "openid fhirUser", username="bob",
              password="bob-password", uncheck=["openid", "fhirUser"])
    assert r.kind == "consent" and "Choose at least one permission" in r.response.text
    assert r.code is None


def test_consent_cannot_widen_the_grant(server, pg, new_client):
    r = start(server, new_client(), REDIRECT, "openid", username="bob", password="bob-password",
              decision=None)
    form = next(f for f in parse_forms(r.response.text) if f.has("scope", "checkbox"))
    data = form_data(form, button=("decision", "allow")) + [("scope", "user/*.cruds"),
                                                             ("scope", "offline_access")]
    resp = r.session.post(authorize_url(server), data=data, allow_redirects=False)
    assert code_row(pg, query_of(resp.headers["Location"])["code"])["scope"] == "openid"


def test_deny_redirects_access_denied_and_ends_request(server, pg, new_client):
    cid = new_client()
    r = start(server, cid, REDIRECT, "openid", username="bob", password="bob-password",
              decision="deny")
    assert r.response.status_code == 303
    assert r.error == "access_denied" and r.query["state"] == r.state
    assert r.query["iss"] == server.fhir_base
    consent_page = r.pages[-2][1]
    form = next(f for f in parse_forms(consent_page.text) if f.has("scope", "checkbox"))
    resp = r.session.post(authorize_url(server), data=form_data(form, button=("decision", "allow")),
                          allow_redirects=False)
    assert_error_page(resp)
    assert pg.query("SELECT count(*) FROM smart.authorization_codes WHERE client_id = %s", (cid,))[0][0] == 0
    assert pg.query("SELECT count(*) FROM smart.audit_events WHERE client_id = %s AND event = 'consent' "
                    "AND outcome = 'denied'", (cid,))[0][0] == 1


def test_cancel_on_login_page_redirects_access_denied(server, new_client):
    r = start(server, new_client(), REDIRECT, "openid")
    form = next(f for f in parse_forms(r.response.text) if f.has("username"))
    resp = r.session.post(authorize_url(server), data=form_data(form, button=("decision", "deny")),
                          allow_redirects=False)
    assert resp.status_code == 303
    assert query_of(resp.headers["Location"])["error"] == "access_denied"


def test_remembered_consent_skips_the_page_unless_prompt_consent(server, pg, new_client):
    cid = new_client()
    s = browser()
    r1 = start(server, cid, REDIRECT, FULL, username="alice", password="alice-password", session=s)
    assert r1.code
    assert set(pg.query("SELECT scopes FROM smart.consents WHERE user_id = 'alice' AND client_id = %s",
                        (cid,))[0][0]) == set(FULL.split())
    r2 = start(server, cid, REDIRECT, "openid patient/*.rs", session=s)
    assert [k for k, _ in r2.pages] == ["redirect"], "covered by the remembered consent"
    assert r2.response.status_code == 302 and r2.code
    r3 = start(server, cid, REDIRECT, "openid patient/*.rs", session=s, prompt="consent")
    assert [k for k, _ in r3.pages] == ["consent", "redirect"]
    r4 = start(server, cid, REDIRECT, "openid user/*.rs", session=s)
    assert r4.pages[0][0] == "consent", "a scope not consented yet asks again"


def test_consent_replay_after_code_is_refused(server, pg, new_client):
    cid = new_client()
    r = start(server, cid, REDIRECT, "openid", username="bob", password="bob-password")
    assert r.code
    consent_page = r.pages[-2][1]
    form = next(f for f in parse_forms(consent_page.text) if f.has("scope", "checkbox"))
    resp = r.session.post(authorize_url(server), data=form_data(form, button=("decision", "allow")),
                          allow_redirects=False)
    assert_error_page(resp)
    assert pg.query("SELECT count(*) FROM smart.authorization_codes WHERE client_id = %s", (cid,))[0][0] == 1


def test_expired_request_is_refused(server, pg, new_client):
    r = start(server, new_client(), REDIRECT, "openid")
    form = next(f for f in parse_forms(r.response.text) if f.has("username"))
    req = form.hidden()["request"]
    pg.exec("UPDATE smart.authorize_requests SET expires_at = now() - interval '1 second', "
            "created_at = now() - interval '11 minutes' WHERE request_hash = %s", (sha256_hex(req),))
    resp = r.session.post(authorize_url(server), data=form_data(
        form, overrides={"username": "bob", "password": "bob-password"}), allow_redirects=False)
    assert_error_page(resp)
    assert "smartauth_session" not in resp.headers.get("Set-Cookie", "")


def test_request_id_stored_only_as_hash(server, pg, new_client):
    r = start(server, new_client(), REDIRECT, "openid")
    hidden = next(f for f in parse_forms(r.response.text) if f.has("username")).hidden()
    rows = pg.query("SELECT csrf_hash, params::text FROM smart.authorize_requests WHERE request_hash = %s",
                    (sha256_hex(hidden["request"]),))
    assert rows and rows[0][0] == sha256_hex(hidden["csrf"])
    assert hidden["request"] not in rows[0][1] and hidden["csrf"] not in rows[0][1]


# ---- pages: escaping and headers ----

@pytest.mark.parametrize("param", ["state", "nonce", "login_hint", "scope", "launch", "prompt", "aud"])
def test_xss_in_parameters_comes_back_escaped(server, new_client, param):
    cid = new_client()
    value = XSS if param != "scope" else "openid <script>alert(1)</script>"
    p = valid_params(server, cid, **{param: value})
    resp = requests.get(authorize_url(server), params=p, allow_redirects=False)
    assert "<script>alert(1)</script>" not in resp.text
    if resp.status_code == 200:
        if param == "login_hint":
            assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in resp.text
    else:
        assert resp.status_code == 302
        assert "<script>" not in resp.headers["Location"]


def test_xss_in_dropped_scope_and_username_is_escaped(server, new_client):
    r = start(server, new_client(), REDIRECT, "openid <script>alert(1)</script>",
              username="bob", password="bob-password", decision=None)
    assert r.kind == "consent"
    assert "<script>alert(1)</script>" not in r.response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.response.text
    s = browser("127.0.0.31")
    r = start(server, new_client(), REDIRECT, "openid", username=XSS, password="x", session=s)
    assert r.kind == "login" and "<script>alert(1)</script>" not in r.response.text
    assert "&quot;&gt;&lt;script&gt;" in r.response.text


def test_security_headers_on_every_page_and_no_cors(server, new_client):
    cid = new_client()
    origin = "https://app.example"
    hdr = {"Origin": "https://evil.example"}
    s = browser()
    s.headers.update(hdr)
    r = start(server, cid, REDIRECT, FULL, username="dr-smith", password="dr-smith-password",
              session=s)
    assert [k for k, _ in r.pages] == ["login", "patient", "consent", "redirect"]
    for _kind, resp in r.pages:
        assert_page_headers(resp, origin)
    for url in (authorize_url(server), server.auth_base + "/nope", server.auth_base + "/logout",
                server.auth_base + "/consents"):
        resp = requests.get(url, headers=hdr, allow_redirects=False)
        assert_page_headers(resp)
    resp = requests.options(authorize_url(server), headers={**hdr, "Access-Control-Request-Method": "POST"})
    assert not any(k.lower().startswith("access-control-") for k in resp.headers)
    assert resp.status_code == 405


def test_unknown_auth_path_is_404_page(server):
    for path in ("/nope", "/authorize/x", "/authorizex", "/style/", "/"):
        resp = requests.get(server.auth_base + path, allow_redirects=False)
        assert resp.status_code == 404, path
        assert resp.headers["Content-Type"].startswith("text/html")
        assert_page_headers(resp)


def test_style_document(server, new_client, pg):
    resp = requests.get(server.auth_base + "/style")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/json")
    doc = resp.json()
    for k in ("color_background", "color_error", "color_highlight", "color_modal_backdrop",
              "color_success", "color_text", "dim_border_radius", "dim_font_size",
              "dim_spacing_size", "font_family_body", "font_family_heading"):
        assert isinstance(doc[k], str) and doc[k]
    r = start(server, new_client(), REDIRECT, "launch/patient", username="bob", password="bob-password")
    assert code_row(pg, r.code)["launch_context"]["smart_style_url"] == server.auth_base + "/style"


# ---- every web-server setup, and a mount prefix ----

def test_flow_works_in_every_web_server_setup(web, demo):
    cid = "az-web-" + web.mode
    put(demo, {"resourceType": "Client", "id": cid, "grant_types": ["authorization_code"],
               "auth": {"authorization_code": {"redirect_uri": REDIRECT}}})
    r = start(web, cid, REDIRECT, "openid launch/patient patient/*.rs", username="alice",
              password="alice-password")
    assert r.code and r.query["iss"] == web.fhir_base
    assert_page_headers(r.pages[0][1], "https://app.example")


def test_flow_under_a_mount_prefix(web_prefixed, demo):
    w = web_prefixed
    cid = "az-prefixed"
    put(demo, {"resourceType": "Client", "id": cid, "grant_types": ["authorization_code"],
               "auth": {"authorization_code": {"redirect_uri": REDIRECT}}})
    r = start(w, cid, REDIRECT, "openid launch/patient patient/*.rs", username="alice",
              password="alice-password")
    assert r.code
    login = r.pages[0][1]
    assert parse_forms(login.text)[0].action == "/smart/auth/authorize"
    assert "Path=/smart/auth" in r.pages[1][1].headers["Set-Cookie"]
    ctx = code_row(demo, r.code)["launch_context"]
    assert ctx["smart_style_url"] == w.base + "/auth/style"
    assert requests.get(w.base + "/auth/style").status_code == 200
    assert requests.get(w.base + "/auth/nope").status_code == 404
