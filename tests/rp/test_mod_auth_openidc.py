"""Apache's mod_auth_openidc, configured from smartauth's discovery document
(apache-conf/smartauth-openidc-example.conf), protecting pages of a second
Apache: a user in headless Chromium logs in on smartauth's pages and the
protected page sees who they are."""
import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse

import requests

from conftest import ROOT, own, run, step

sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import smartflow  # noqa: E402


def new_patient_user(demo, user_id, patient="pt-3"):
    """A user who has never consented to anything (consent is remembered)."""
    demo.exec("SELECT smart.put(%s::jsonb)", (json.dumps([
        {"resourceType": "User", "id": user_id, "password": user_id + "-password",
         "fhirUser": "Patient/" + patient},
        {"resourceType": "Role", "id": user_id + "-patient", "name": "patient",
         "user": {"id": user_id}, "links": {"patient": {"id": patient}}}]),))
    return user_id, user_id + "-password"


def new_practitioner_user(demo, user_id):
    demo.exec("SELECT smart.put(%s::jsonb)", (json.dumps([
        {"resourceType": "User", "id": user_id, "password": user_id + "-password",
         "fhirUser": "Practitioner/pr-1"},
        {"resourceType": "Role", "id": user_id + "-practitioner", "name": "practitioner",
         "user": {"id": user_id}, "links": {"practitioner": {"id": "pr-1"}}}]),))
    return user_id, user_id + "-password"


def visit(node_run, server, name, visits):
    return node_run("openidc-login.mjs", {"authBase": server.auth_base, "name": name,
                                          "visits": visits})


def test_protected_page_shows_sub_and_fhirUser_after_login_on_smartauth(node_run, server, openidc):
    r = visit(node_run, server, "patient", [
        {"name": "first", "url": openidc.url("/protected/"),
         "username": "alice", "password": "alice-password"}])
    s = step(r, "visit:first")
    # The module sent a SMART-valid request: code flow, PKCE S256, our aud.
    a = s["authorize"]
    assert a is not None, "the browser was never sent to smartauth's authorization endpoint"
    assert a["client_id"] == openidc.client_id and a["response_type"] == "code"
    assert a["code_challenge_method"] == "S256" and a["code_challenge"]
    assert a["aud"] == server.fhir_base and a["nonce"] and a["state"]
    assert set(a["scope"].split()) == {"openid", "fhirUser"}
    assert s["pages"][:2] == ["login", "consent"], s["pages"]
    assert s["url"].startswith(openidc.url("/protected/")), s
    assert s["status"] == 200, s
    assert s["claims"]["sub"] == "alice", s
    assert s["claims"]["fhirUser"] == server.fhir_base + "/Patient/pt-1", s
    assert s["claims"]["remoteUser"] == "alice", s
    assert s["claims"]["iss"] == server.fhir_base, s


def test_second_visit_uses_smartauth_single_sign_on_without_password(node_run, server, openidc):
    """The relying party's own session is gone (its cookie cleared); smartauth's
    login session still lasts, so the user comes back without typing a password."""
    r = visit(node_run, server, "sso", [
        {"name": "login", "url": openidc.url("/protected/"),
         "username": "dr-smith", "password": "dr-smith-password"},
        {"name": "again", "url": openidc.url("/protected/"), "clearRpCookies": True,
         "username": "nobody", "password": "must-not-be-asked"}])
    first = step(r, "visit:login")
    assert first["claims"]["sub"] == "dr-smith"
    again = step(r, "visit:again")
    assert again["authorize"] is not None, "the module did not go back to smartauth"
    assert "login" not in again["pages"], again["pages"]
    assert again["claims"]["sub"] == "dr-smith", again
    assert again["claims"]["fhirUser"] == server.fhir_base + "/Practitioner/pr-1", again


def test_practitioner_only_page_admits_a_practitioner(node_run, server, openidc):
    r = visit(node_run, server, "staff-ok", [
        {"name": "staff", "url": openidc.url("/staff/"),
         "username": "dr-smith", "password": "dr-smith-password"}])
    s = step(r, "visit:staff")
    assert s["status"] == 200, s
    assert s["claims"]["sub"] == "dr-smith", s
    assert s["claims"]["fhirUser"].endswith("/Practitioner/pr-1"), s


def test_practitioner_only_page_refuses_a_patient(node_run, server, openidc, demo):
    user, password = new_patient_user(demo, "rp-patient-at-staff-door")
    r = visit(node_run, server, "staff-refused", [
        {"name": "staff", "url": openidc.url("/staff/"),
         "username": user, "password": password}])
    s = step(r, "visit:staff")
    assert s["pages"][:2] == ["login", "consent"], s["pages"]
    assert s["status"] == 401, s
    assert "sub" not in s["claims"], s
    assert user not in s["text"], s


def test_practitioner_who_withholds_fhirUser_is_refused_by_practitioner_only_page(
        node_run, server, openidc, demo):
    """Unticking fhirUser on the consent page keeps the claim out of the
    id_token, so a rule on fhirUser cannot admit the user."""
    user, password = new_practitioner_user(demo, "rp-discreet-doctor")
    r = visit(node_run, server, "withhold", [
        {"name": "staff", "url": openidc.url("/staff/"), "username": user,
         "password": password, "uncheck": ["fhirUser"]},
        {"name": "intranet", "url": openidc.url("/protected/")}])
    s = step(r, "visit:staff")
    assert s["pages"][:2] == ["login", "consent"], s["pages"]
    assert s["status"] == 401 and "sub" not in s["claims"], s
    # The same session opens the page that only needs a login, without fhirUser.
    t = step(r, "visit:intranet")
    assert t["status"] == 200 and t["claims"]["sub"] == user, t
    assert t["claims"]["fhirUser"] == "(none)", t   # mod_include's word for unset


def test_user_who_unticks_openid_gets_no_session(node_run, server, openidc, demo):
    """No openid scope, no id_token: the module must not log the user in."""
    user, password = new_patient_user(demo, "rp-no-openid", patient="pt-5")
    r = visit(node_run, server, "no-openid", [
        {"name": "intranet", "url": openidc.url("/protected/"), "username": user,
         "password": password, "uncheck": ["openid"]}])
    s = step(r, "visit:intranet")
    assert s["pages"][:2] == ["login", "consent"], s["pages"]
    assert "sub" not in s["claims"] and user not in s["text"], s
    assert not any(c.startswith("mod_auth_openidc_session") for c in s["cookies"]), s


def test_user_who_denies_consent_never_reaches_the_protected_page(node_run, server, openidc,
                                                                 demo):
    user, password = new_patient_user(demo, "rp-denier")
    r = visit(node_run, server, "deny", [
        {"name": "deny", "url": openidc.url("/protected/"),
         "username": user, "password": password, "decision": "deny"}])
    s = step(r, "visit:deny")
    assert s["pages"][:2] == ["login", "consent"], s["pages"]
    # smartauth sends error=access_denied with its iss (RFC 9207 §2).
    # mod_auth_openidc 2.4.12 takes a response carrying iss for a login
    # started by a third party and shows its own error page; either way the
    # user gets no session and never sees the protected page.
    assert s["url"].startswith(openidc.redirect_uri + "?error=access_denied"), s
    assert "sub" not in s["claims"], s
    assert "Error" in s["text"], s
    assert not any(c.startswith("mod_auth_openidc_session") for c in s["cookies"]), s


def test_protected_page_without_session_redirects_to_smartauth(openidc, server):
    r = requests.get(openidc.url("/protected/"), allow_redirects=False, timeout=10,
                     headers={"Accept": "text/html"})
    assert r.status_code == 302
    assert r.headers["Location"].startswith(server.auth_base + "/authorize?")


def test_forged_claim_headers_without_session_are_sent_to_login(openidc):
    r = requests.get(openidc.url("/protected/"), allow_redirects=False, timeout=10,
                     headers={"OIDC_CLAIM_sub": "dr-smith", "OIDC-CLAIM-sub": "dr-smith",
                              "Accept": "text/html"})
    assert r.status_code == 302
    assert "dr-smith" not in r.text


def test_forged_claim_headers_of_logged_in_patient_do_not_reach_the_application(
        node_run, server, openidc, demo):
    """A patient who sends OIDC_CLAIM_fhirUser headers of her own, naming a
    practitioner, is still herself to the application and to Require claim."""
    user, password = new_patient_user(demo, "rp-impostor", patient="pt-3")
    forged = server.fhir_base + "/Practitioner/pr-1"
    headers = {"OIDC-CLAIM-fhirUser": forged, "OIDC_CLAIM_fhirUser": forged,
               "OIDC-CLAIM-sub": "dr-smith"}
    r = visit(node_run, server, "forged", [
        {"name": "intranet", "url": openidc.url("/protected/"), "username": user,
         "password": password, "headers": headers},
        {"name": "staff", "url": openidc.url("/staff/"), "headers": headers}])
    s = step(r, "visit:intranet")
    assert s["claims"]["sub"] == user, s
    assert s["claims"]["fhirUser"] == server.fhir_base + "/Patient/pt-3", s
    assert s["claims"]["headerFhirUser"] == server.fhir_base + "/Patient/pt-3", s
    assert s["claims"]["headerDashFhirUser"] == "", s   # scrubbed, not passed on
    t = step(r, "visit:staff")
    assert t["status"] == 401 and "sub" not in t["claims"], t


def test_forged_authorization_response_is_refused(openidc):
    """A code and state that smartauth never issued, sent to the module's
    redirect URI: no session, no page."""
    r = requests.get(openidc.url("/protected/redirect_uri"), allow_redirects=False, timeout=10,
                     params={"code": "forged", "state": "forged"})
    assert r.status_code == 400
    assert "mod_auth_openidc_session" not in r.headers.get("Set-Cookie", "")


def test_logout_ends_the_application_session_and_smartauth_login_session(node_run, server,
                                                                         openidc, demo):
    user, password = new_patient_user(demo, "rp-leaver", patient="pt-4")
    back = urllib.parse.quote(openidc.url("/"), safe="")
    r = visit(node_run, server, "logout", [
        {"name": "login", "url": openidc.url("/protected/"),
         "username": user, "password": password},
        {"name": "logout", "url": openidc.redirect_uri + "?logout=" + back, "signOut": True},
        {"name": "again", "url": openidc.url("/protected/"),
         "username": user, "password": password}])
    assert step(r, "visit:login")["claims"]["sub"] == user
    out = step(r, "visit:logout")
    assert out["pages"] == ["logout", "other"], out
    assert out["url"].startswith(server.auth_base + "/logout"), out
    assert "signed out" in out["text"].lower(), out
    assert not any(c.startswith("mod_auth_openidc_session") for c in out["cookies"]), out
    again = step(r, "visit:again")
    # Both sessions are gone: the user has to log in again.
    assert again["pages"][:1] == ["login"], again
    assert again["claims"]["sub"] == user, again


def _kids(server):
    jwks = requests.get(server.auth_base + "/jwks", timeout=10).json()
    return {k["kid"] for k in jwks["keys"] if k["kty"] == "RSA"}


def test_signing_key_rotation_on_smartauth_needs_no_change_on_the_relying_party(
        node_run, server, openidc, demo, keydir, bindir):
    """smartauth rotates by adding a newer key file; mod_auth_openidc, holding
    the old JWKS in its cache, fetches the keys again for the new kid."""
    before, before_pw = new_patient_user(demo, "rp-before-rotation", patient="pt-4")
    r = visit(node_run, server, "rotation-before", [
        {"name": "before", "url": openidc.url("/protected/"), "username": before,
         "password": before_pw}])
    assert step(r, "visit:before")["claims"]["sub"] == before
    old = _kids(server)

    # A newer RSA key, then the restart that makes the programs load it.
    pem = os.path.join(keydir, "rsa-rotated.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", pem], check=True, capture_output=True)
    later = time.time() + 60
    os.utime(pem, (later, later))
    own(keydir)
    rr = run(os.path.join(ROOT, "scripts", "webctl"), "start", server.mode, server.dir,
             str(server.port), bindir, server.conf, server.prefix, check=False)
    assert rr.returncode == 0, rr.stdout + rr.stderr
    new = _kids(server) - old
    assert len(new) == 1, (old, new)

    # The id_token now carries the new kid...
    flow = smartflow.start(server, openidc.client_id, openidc.redirect_uri, "openid fhirUser",
                           username=before, password=before_pw)
    assert flow.kind == "redirect" and flow.code, flow.kind
    tok = requests.post(server.auth_base + "/token", timeout=10,
                        auth=(openidc.client_id, openidc.secret),
                        data={"grant_type": "authorization_code", "code": flow.code,
                              "redirect_uri": openidc.redirect_uri,
                              "code_verifier": flow.verifier}).json()
    header = json.loads(base64.urlsafe_b64decode(tok["id_token"].split(".")[0] + "=="))
    assert header["kid"] in new

    # ... and the module, which cached the old key set, still logs users in.
    after, after_pw = new_patient_user(demo, "rp-after-rotation", patient="pt-5")
    r = visit(node_run, server, "rotation-after", [
        {"name": "after", "url": openidc.url("/protected/"), "username": after,
         "password": after_pw}])
    s = step(r, "visit:after")
    assert s["status"] == 200 and s["claims"]["sub"] == after, s
