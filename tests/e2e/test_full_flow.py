"""Whole SMART launches through the real programs: authorize pages, token
endpoint, launch RPC and FHIR gateway, with nothing inserted by hand."""
import base64
import json

import jwt
import requests

from smartflow import browser, start

APP = "flow-app"
REDIRECT = "https://flow.example/cb"


def register(pg):
    pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps({
        "resourceType": "Client", "id": APP,
        "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True,
                                        "secret_required": False}},
        "smart": {"launch_uri": "https://flow.example/launch"},
        "grant_types": ["authorization_code", "refresh_token"]}),))


def exchange(server, code, verifier):
    return requests.post(server.auth_base + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": APP, "code_verifier": verifier})


def test_standalone_patient_launch_reads_only_own_data(server, demo):
    register(demo)
    r = start(server, APP, REDIRECT,
              "openid fhirUser launch/patient patient/*.rs offline_access",
              username="alice", password="alice-password", session=browser("127.0.0.31"))
    assert r.kind == "redirect" and r.code, r
    assert r.query["iss"] == server.fhir_base
    t = exchange(server, r.code, r.verifier)
    assert t.status_code == 200, t.text
    body = t.json()
    assert body["patient"] == "pt-1" and body["token_type"] == "Bearer"
    assert body["refresh_token"]
    idt = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert idt["iss"] == server.fhir_base and idt["aud"] == APP
    assert idt["fhirUser"] == server.fhir_base + "/Patient/pt-1"
    auth = {"Authorization": "Bearer " + body["access_token"]}
    assert requests.get(server.fhir_base + "/Patient/pt-1", headers=auth).status_code == 200
    other = requests.get(server.fhir_base + "/Patient/pt-2", headers=auth)
    assert other.status_code in (403, 404)
    obs = requests.get(server.fhir_base + "/Observation", headers=auth).json()
    refs = {e["resource"]["subject"]["reference"] for e in obs.get("entry", [])}
    assert refs <= {"Patient/pt-1"}
    # The code cannot be used twice, and its replay revokes what it issued.
    assert exchange(server, r.code, r.verifier).json()["error"] == "invalid_grant"
    assert requests.get(server.fhir_base + "/Patient/pt-1", headers=auth).status_code == 401


def test_ehr_launch_through_rpc_carries_context_into_the_token(server, demo):
    register(demo)
    basic = "Basic " + base64.b64encode(b"ehr:ehr-secret").decode()
    rpc = requests.post(server.base + "/rpc", headers={"Authorization": basic}, json={
        "method": "aidbox.smart/get-launch-uri",
        "params": {"user": "dr-smith", "client": APP, "iss": server.fhir_base,
                   "ctx": {"patient": "pt-2"}}})
    assert rpc.status_code == 200, rpc.text
    launch = rpc.json()["result"]["launch"]
    r = start(server, APP, REDIRECT, "launch openid fhirUser patient/*.rs",
              launch=launch, username="dr-smith", password="dr-smith-password",
              session=browser("127.0.0.32"))
    assert r.kind == "redirect" and r.code, r
    body = exchange(server, r.code, r.verifier).json()
    assert body["patient"] == "pt-2"
    auth = {"Authorization": "Bearer " + body["access_token"]}
    assert requests.get(server.fhir_base + "/Patient/pt-2", headers=auth).status_code == 200
    # The launch id is single use.
    again = start(server, APP, REDIRECT, "launch openid patient/*.rs", launch=launch,
                  session=r.session)
    assert again.error == "invalid_request"


def test_refresh_after_real_login_rotates(server, demo):
    register(demo)
    r = start(server, APP, REDIRECT, "launch/patient patient/Observation.rs offline_access",
              username="alice", password="alice-password", session=browser("127.0.0.33"))
    first = exchange(server, r.code, r.verifier).json()
    t2 = requests.post(server.auth_base + "/token", data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": APP})
    assert t2.status_code == 200, t2.text
    assert t2.json()["patient"] == "pt-1"
    assert t2.json()["refresh_token"] != first["refresh_token"]
