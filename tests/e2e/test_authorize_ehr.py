"""Authorization endpoint: EHR launch (SMART App Launch 2.2 "EHR launch").

Launch ids are made here the way POST /rpc makes them (a random base64url
value whose SHA-256 is a row of smart.launch_contexts, bound to client,
user and context), so these tests do not depend on the RPC program.
"""
import json
import secrets
import uuid

import pytest

from smartflow import browser, parse_forms, sha256_hex, start

REDIRECT = "https://app.example/cb"
SCOPE = "launch openid fhirUser patient/*.rs"
CONTEXT = {"patient": "pt-2", "encounter": "enc-2-1",
           "fhirContext": [{"reference": "DocumentReference/doc-1-1"}],
           "intent": "reconcile-medications", "need_patient_banner": False}


def put(pg, resource):
    pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps(resource),))


@pytest.fixture
def app(server, pg):
    def make():
        cid = "aze-" + uuid.uuid4().hex[:10]
        put(pg, {"resourceType": "Client", "id": cid, "name": "EHR test app",
                 "grant_types": ["authorization_code", "refresh_token"],
                 "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True}},
                 "smart": {"launch_uri": "https://app.example/launch"}})
        return cid
    return make


def new_launch(pg, client_id, user="dr-smith", context=None, expires="5 minutes", used=False):
    lid = secrets.token_urlsafe(32)
    pg.exec("INSERT INTO smart.launch_contexts (launch_hash, client_id, user_id, context, "
            "expires_at, used_at) VALUES (%s, %s, %s, %s::jsonb, now() + %s::interval, "
            "CASE WHEN %s THEN now() END)",
            (sha256_hex(lid), client_id, user, json.dumps(CONTEXT if context is None else context),
             expires, used))
    return lid


def used_at(pg, lid):
    return pg.query("SELECT used_at FROM smart.launch_contexts WHERE launch_hash = %s",
                    (sha256_hex(lid),))[0][0]


def launch_context(pg, code):
    return pg.query("SELECT launch_context, scope, user_id FROM smart.authorization_codes "
                    "WHERE code_hash = %s", (sha256_hex(code),))[0]


def test_ehr_launch_supplies_context_without_picker(server, pg, app):
    cid = app()
    lid = new_launch(pg, cid)
    r = start(server, cid, REDIRECT, SCOPE, launch=lid, username="dr-smith",
              password="dr-smith-password")
    assert [k for k, _ in r.pages] == ["login", "consent", "redirect"]
    assert r.code and r.query["state"] == r.state and r.query["iss"] == server.fhir_base
    ctx, scope, user = launch_context(pg, r.code)
    assert user == "dr-smith" and scope == SCOPE
    assert ctx == {"patient": "pt-2", "encounter": "enc-2-1",
                   "fhirContext": [{"reference": "DocumentReference/doc-1-1"}],
                   "intent": "reconcile-medications", "need_patient_banner": False,
                   "smart_style_url": server.auth_base + "/style", "fhirUser": "Practitioner/pr-1"}
    assert used_at(pg, lid) is not None
    assert pg.query("SELECT count(*) FROM smart.audit_events WHERE event = 'launch' AND "
                    "outcome = 'success' AND client_id = %s", (cid,))[0][0] == 1
    consent = r.pages[1][1].text
    assert "Robert Martinez" in consent, "the consent page names the launch patient"


def test_launch_id_is_single_use(server, pg, app):
    cid = app()
    lid = new_launch(pg, cid)
    assert start(server, cid, REDIRECT, SCOPE, launch=lid, username="dr-smith",
                 password="dr-smith-password").code
    r = start(server, cid, REDIRECT, SCOPE, launch=lid)
    assert r.error == "invalid_request" and r.query["state"] == r.state
    assert r.query["error_description"] == "launch id is unknown, expired or already used"
    assert r.query["iss"] == server.fhir_base


def test_launch_is_consumed_even_before_login(server, pg, app):
    cid = app()
    lid = new_launch(pg, cid)
    r = start(server, cid, REDIRECT, SCOPE, launch=lid)
    assert r.kind == "login" and used_at(pg, lid) is not None
    r = start(server, cid, REDIRECT, SCOPE, launch=lid)
    assert r.error == "invalid_request"


def test_launch_for_another_client_is_refused_and_not_consumed(server, pg, app):
    mine, other = app(), app()
    lid = new_launch(pg, other)
    r = start(server, mine, REDIRECT, SCOPE, launch=lid)
    assert r.error == "invalid_request"
    assert r.query["error_description"] == "launch id is unknown, expired or already used"
    assert used_at(pg, lid) is None
    assert pg.query("SELECT count(*) FROM smart.audit_events WHERE event = 'launch' AND "
                    "outcome = 'failure' AND client_id = %s", (mine,))[0][0] == 1


@pytest.mark.parametrize("kind", ["expired", "used", "unknown"])
def test_expired_used_or_unknown_launch_is_refused(server, pg, app, kind):
    cid = app()
    if kind == "unknown":
        lid = secrets.token_urlsafe(32)
    else:
        lid = new_launch(pg, cid, expires="-1 second" if kind == "expired" else "5 minutes",
                         used=kind == "used")
    r = start(server, cid, REDIRECT, SCOPE, launch=lid)
    assert r.error == "invalid_request" and r.code is None
    assert r.query["error_description"] == "launch id is unknown, expired or already used"


def test_launch_for_another_user_is_access_denied(server, pg, app):
    cid = app()
    lid = new_launch(pg, cid, user="dr-smith")
    r = start(server, cid, REDIRECT, SCOPE, launch=lid, username="alice",
              password="alice-password")
    assert r.error == "access_denied" and r.code is None
    assert "not the user the EHR launched" in r.query["error_description"]
    assert r.response.status_code == 303
    assert pg.query("SELECT count(*) FROM smart.authorization_codes WHERE client_id = %s", (cid,))[0][0] == 0


def test_signed_in_as_another_user_must_sign_in_as_the_launch_user(server, pg, app):
    cid = app()
    s = browser()
    assert start(server, cid, REDIRECT, "openid", username="alice", password="alice-password",
                 session=s).code
    lid = new_launch(pg, cid, user="dr-smith")
    r = start(server, cid, REDIRECT, SCOPE, launch=lid, session=s, decision=None)
    assert r.pages[0][0] == "login", "the SSO session is alice's: sign in as dr-smith"
    assert "another user" in r.pages[0][1].text
    r = start(server, cid, REDIRECT, SCOPE, launch=new_launch(pg, cid), session=s,
              username="dr-smith", password="dr-smith-password")
    assert r.code and launch_context(pg, r.code)[2] == "dr-smith"


def test_launch_without_patient_offers_the_picker(server, pg, app):
    cid = app()
    lid = new_launch(pg, cid, context={"encounter": "Encounter/enc-3-1"})
    r = start(server, cid, REDIRECT, "launch launch/patient openid patient/*.rs", launch=lid,
              username="dr-smith", password="dr-smith-password", patient="pt-3")
    assert [k for k, _ in r.pages] == ["login", "patient", "consent", "redirect"]
    ctx = launch_context(pg, r.code)[0]
    assert ctx["patient"] == "pt-3" and ctx["encounter"] == "enc-3-1"
    assert ctx["need_patient_banner"] is True, "banner shown unless the EHR says otherwise"


def test_launch_without_user_accepts_whoever_signs_in(server, pg, app):
    cid = app()
    lid = new_launch(pg, cid, user=None, context={"patient": "Patient/pt-5"})
    r = start(server, cid, REDIRECT, SCOPE, launch=lid, username="dr-smith",
              password="dr-smith-password")
    assert launch_context(pg, r.code)[0]["patient"] == "pt-5"


def test_ehr_launch_by_form_post(server, pg, app):
    cid = app()
    lid = new_launch(pg, cid)
    r = start(server, cid, REDIRECT, SCOPE, launch=lid, method="POST", username="dr-smith",
              password="dr-smith-password")
    assert r.code and launch_context(pg, r.code)[0]["patient"] == "pt-2"


def test_launch_scope_without_launch_is_dropped(server, pg, app):
    cid = app()
    r = start(server, cid, REDIRECT, "launch openid", username="bob", password="bob-password",
              decision=None)
    form = next(f for f in parse_forms(r.response.text) if f.has("scope", "checkbox"))
    assert form.values("scope") == ["openid"]
    assert "not launched from an EHR" in r.response.text
