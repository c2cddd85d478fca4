"""The sample SMART app (fhirclient) in headless chromium against smartauth:
standalone and EHR launches through the real pages, consent narrowing,
deny, logout and prompt=none, and the pages at a phone's width."""
import requests

PATIENT_SCOPES = {"patient/Patient.rs", "patient/Observation.rs", "patient/Encounter.rs",
                  "patient/DocumentReference.rs"}


def observation_ids(pg, patient, category):
    rows = pg.query(
        "SELECT id FROM smart.fhir_resources WHERE resource_type = 'Observation' "
        "AND resource #>> '{subject,reference}' = %s "
        "AND resource->'category' @> %s::jsonb",
        ("Patient/" + patient, '[{"coding": [{"code": "%s"}]}]' % category))
    return sorted(r[0] for r in rows)


def test_standalone_patient_sees_only_her_own_record(browse, demo):
    r = browse("standalone", user="alice", password="alice-password")
    app = r["app"]
    assert app["state"] == "ready", app["failure"]
    assert app["patient"] == {"id": "pt-1", "name": "Alice Marie Johnson", "gender": "female",
                              "birthDate": "1987-04-12", "mrn": "MRN-1001"}
    assert app["fhirUser"] == "Patient/pt-1"
    assert app["client"] == "sample-app"
    assert "standalone" in app["launchKind"]
    assert PATIENT_SCOPES <= set(app["scopes"])
    assert {"openid", "fhirUser", "launch/patient"} <= set(app["scopes"])
    # Exactly pt-1's observations, nobody else's (the demo has five patients).
    assert sorted(row["id"] for row in app["labs"]) == observation_ids(demo, "pt-1", "laboratory")
    assert sorted(row["id"] for row in app["vitals"]) == observation_ids(demo, "pt-1", "vital-signs")
    assert len(app["labs"]) > 0 and len(app["vitals"]) > 0
    assert {row["subject"] for row in app["labs"] + app["vitals"]} == {"Patient/pt-1"}
    assert app["labsRefused"] is None and app["vitalsRefused"] is None
    assert not app["contextShown"]
    # The consent page named the app and offered exactly what it asked for.
    assert "Sample SMART app (public)" in r["consent"]["text"]
    assert "your observation" in r["consent"]["text"]
    assert PATIENT_SCOPES <= set(r["consent"]["offered"])
    assert not r.get("pageErrors"), r.get("pageErrors")


def test_standalone_practitioner_picks_a_patient_and_sees_that_patient(browse, demo):
    r = browse("standalone", user="dr-smith", password="dr-smith-password", patient="pt-3")
    # The picker offered the demo's patients; the app shows the one picked.
    assert {"pt-1", "pt-2", "pt-3", "pt-4", "pt-5"} <= set(r["pickerChoices"])
    app = r["app"]
    assert app["state"] == "ready", app["failure"]
    assert app["patient"]["id"] == "pt-3"
    assert app["patient"]["name"] == "Mei Chen"
    assert app["fhirUser"] == "Practitioner/pr-1"
    assert app["userName"] == "dr-smith"
    assert sorted(row["id"] for row in app["labs"]) == observation_ids(demo, "pt-3", "laboratory")
    assert {row["subject"] for row in app["labs"] + app["vitals"]} == {"Patient/pt-3"}
    assert "Mei Chen" in r["consent"]["text"]
    # A clinician chooses for the patient: not "your" records.
    assert "the patient's observation" in r["consent"]["text"]
    assert "your observation" not in r["consent"]["text"]


def test_confidential_client_launch_completes_with_its_secret(browse):
    r = browse("standalone", client="sample-app-confidential", user="bob", password="bob-password")
    app = r["app"]
    assert app["state"] == "ready", app["failure"]
    assert app["client"] == "sample-app-confidential"
    assert app["patient"]["id"] == "pt-2"
    assert "Sample SMART app (confidential)" in r["consent"]["text"]


def test_ehr_launch_from_the_demo_ehr_carries_encounter_and_fhir_context(browse, demo):
    r = browse("ehr", user="dr-smith", password="dr-smith-password", patient="pt-1",
               encounter="enc-1-3", document="doc-1-1")
    assert {"pt-1", "pt-2", "pt-3", "pt-4", "pt-5"} <= set(r["ehrPatients"])
    assert "Opened the app" in r["ehrLaunchStatus"]
    app = r["app"]
    assert app["state"] == "ready", app["failure"]
    assert "EHR launch" in app["launchKind"]
    assert app["patient"]["id"] == "pt-1"
    assert app["fhirUser"] == "Practitioner/pr-1"
    assert app["contextShown"]
    assert app["encounter"] == "enc-1-3"
    assert "2024-09-05" in app["encounterText"]
    assert app["fhirContext"] == ["DocumentReference/doc-1-1"]
    assert "launch" in app["scopes"]
    # The consent page named the patient and the visit the EHR had open.
    assert "Alice Marie Johnson" in r["consent"]["text"]
    assert "Visit: Encounter for check up" in r["consent"]["text"]
    assert "2024-09-05 (enc-1-3)" in r["consent"]["text"]
    assert {row["subject"] for row in app["labs"]} == {"Patient/pt-1"}
    # The launch was bound to the EHR's signed-in practitioner and audited.
    rows = demo.query("SELECT user_id, client_id, detail->>'caller_client', detail->>'encounter' "
                      "FROM smart.audit_events WHERE event = 'rpc' AND outcome = 'success' "
                      "ORDER BY id DESC LIMIT 1")
    assert rows == [("dr-smith", "sample-app", "demo-ehr", "enc-1-3")]


def test_ehr_launch_of_the_confidential_client(browse):
    r = browse("ehr", user="dr-smith", password="dr-smith-password", patient="pt-2",
               client="sample-app-confidential")
    app = r["app"]
    assert app["state"] == "ready", app["failure"]
    assert app["client"] == "sample-app-confidential"
    assert app["patient"]["id"] == "pt-2"
    assert app["encounter"] is None and not app["contextShown"]


def test_consent_narrowing_without_observations_shows_the_refusal(browse):
    r = browse("standalone", user="alice", password="alice-password",
               uncheck=["patient/Observation.rs"])
    app = r["app"]
    assert app["state"] == "ready", app["failure"]
    assert "patient/Observation.rs" not in app["scopes"]
    assert "patient/Observation.rs" in (app["scopesMissing"] or "")
    assert app["labs"] == [] and app["vitals"] == []
    for refused in (app["labsRefused"], app["vitalsRefused"]):
        assert refused is not None
        assert refused["status"] == "403"
        assert "may not read" in refused["text"]
        assert "was not granted" in refused["text"]
    # What was granted still works.
    assert app["patient"]["id"] == "pt-1"


def test_deny_on_the_consent_page_returns_access_denied_to_the_app(browse):
    r = browse("standalone", user="alice", password="alice-password", decision="deny")
    app = r["app"]
    assert app["state"] == "error"
    assert app["failure"]["code"] == "access_denied"
    assert "not allowed" in app["failure"]["text"]
    assert not app["appShown"]


def test_prompt_none_relaunch_shows_no_page(browse):
    r = browse("relaunch", user="bob", password="bob-password")
    again = r["relaunch"]
    assert again["state"] == "ready", again["failure"]
    assert again["patient"]["id"] == "pt-2"
    # Straight from the authorization endpoint back to the app: a redirect,
    # no login or consent page in between.
    auth = [d for d in r["relaunchDocuments"] if "/auth/" in d["url"]]
    assert auth and all(d["status"] in (302, 303) for d in auth), r["relaunchDocuments"]
    assert "prompt=none" in auth[0]["url"]


def test_logout_ends_the_session_and_prompt_none_then_needs_login(browse):
    r = browse("logout", user="alice", password="alice-password")
    assert "Alice" in r["logoutText"]
    assert "signed in" not in r["signedOutText"].lower() or "not signed in" in r["signedOutText"].lower()
    after = r["after"]
    assert after["state"] == "error"
    assert after["failure"]["code"] == "login_required"
    assert "not signed in" in after["failure"]["text"]


def test_pages_fit_a_phone_screen(browse):
    r = browse("mobile", user="dr-smith", password="dr-smith-password", patient="pt-4",
               viewport={"width": 360, "height": 740})
    assert r["app"]["state"] == "ready", r["app"]["failure"]
    assert r["app"]["patient"]["id"] == "pt-4"
    assert r["overflow"] == {"login": 0, "consent": 0, "app": 0, "appCells": 0, "ehr": 0}


def test_static_files_are_served_in_every_web_setup(web):
    """The demo's pages come from the server's document root in all three setups."""
    from conftest import deploy_pages
    deploy_pages(web)
    for path, ctype in (("/sample-app/launch.html", "text/html"),
                        ("/sample-app/index.html", "text/html"),
                        ("/sample-app/app.css", "text/css"),
                        ("/sample-app/app.js", "javascript"),
                        ("/sample-app/lib/fhir-client.js", "javascript"),
                        ("/ehr/index.html", "text/html")):
        resp = requests.get(web.url(path), timeout=10)
        assert resp.status_code == 200, path
        assert ctype in resp.headers.get("Content-Type", ""), (path, resp.headers)
    # The programs are still routed as before.
    assert requests.get(web.url("/fhir/.well-known/smart-configuration"), timeout=10).status_code == 200
