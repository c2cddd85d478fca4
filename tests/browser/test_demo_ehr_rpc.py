"""The demo EHR page's launch RPC rights (AccessPolicy demo-ehr-rpc in
sql/demo.sql): its Bearer token lets a signed-in practitioner ask for
launches as themselves, and nothing more.  Driven over HTTP through the
real login and consent pages (tests/e2e/smartflow.py), no browser."""
import os
import sys

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import smartflow  # noqa: E402

EHR_SCOPE = "openid fhirUser user/Patient.rs user/Encounter.rs user/DocumentReference.rs"


def ehr_token(site, user, password):
    redirect = site.url("/ehr/index.html")
    r = smartflow.start(site, "demo-ehr", redirect, EHR_SCOPE, username=user, password=password)
    assert r.kind == "redirect" and r.code, (r.kind, r.query)
    t = requests.post(site.url("/auth/token"), data={
        "grant_type": "authorization_code", "code": r.code, "redirect_uri": redirect,
        "client_id": "demo-ehr", "code_verifier": r.verifier}, timeout=10)
    assert t.status_code == 200, t.text
    return t.json()["access_token"]


def launch(site, token, user, patient="pt-1"):
    return requests.post(site.url("/rpc"), json={
        "method": "aidbox.smart/get-launch-uri",
        "params": {"user": user, "iss": site.fhir_base, "client": "sample-app",
                   "ctx": {"patient": patient}}},
        headers={"Authorization": "Bearer " + token}, timeout=10)


def test_practitioner_launches_as_themselves(site):
    token = ehr_token(site, "dr-smith", "dr-smith-password")
    r = launch(site, token, "dr-smith")
    assert r.status_code == 200, r.text
    res = r.json()["result"]
    assert res["uri"].startswith(site.url("/sample-app/launch.html?iss="))
    assert res["launch"] and res["iss"] == site.fhir_base


def test_practitioner_cannot_launch_as_another_user(site):
    token = ehr_token(site, "dr-smith", "dr-smith-password")
    r = launch(site, token, "alice")
    assert r.status_code == 403, r.text
    assert "AccessPolicy" in r.json()["error"]["message"]


def test_patient_signed_in_to_the_ehr_page_cannot_launch(site):
    token = ehr_token(site, "alice", "alice-password")
    r = launch(site, token, "alice")
    assert r.status_code == 403, r.text


def test_sample_app_token_cannot_call_the_rpc(site):
    redirect = site.url("/sample-app/index.html")
    f = smartflow.start(site, "sample-app", redirect, "launch/patient openid fhirUser patient/Patient.rs",
                        username="dr-smith", password="dr-smith-password")
    assert f.kind == "redirect", f.kind
    t = requests.post(site.url("/auth/token"), data={
        "grant_type": "authorization_code", "code": f.code, "redirect_uri": redirect,
        "client_id": "sample-app", "code_verifier": f.verifier}, timeout=10)
    assert t.status_code == 200, t.text
    r = launch(site, t.json()["access_token"], "dr-smith")
    assert r.status_code == 403, r.text
