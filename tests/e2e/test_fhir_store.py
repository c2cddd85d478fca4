"""The built-in FHIR store through the gateway: CRUD with versions, every
search parameter type with its edge cases, paging, sorting, includes.

A backend client (system/*.cruds) does the work, so only the store is
under test here; authorisation is tests/e2e/test_fhir_gateway.py's
business.  The search tests use their own small data set (identifier
systems urn:fs-test and urn:fs-obs) so expectations are exact.
"""
import json
import time

import pytest

from test_fhir_gateway import Fhir, Minter, bundle_ids, outcome, put

LAB = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC = "http://loinc.org"

DATA = [
    {"resourceType": "Patient", "id": "fs-p1", "identifier": [{"system": "urn:fs-test", "value": "A1"}],
     "name": [{"family": "Zeta-Smith", "given": ["Ann", "Marie"]}], "gender": "female",
     "birthDate": "1980-02-29", "active": True},
    {"resourceType": "Patient", "id": "fs-p2",
     "identifier": [{"system": "urn:fs-test", "value": "B2"}, {"system": "urn:other", "value": "X"}],
     "name": [{"family": "zeta", "given": ["Bob"]}], "gender": "male", "birthDate": "1980-03"},
    {"resourceType": "Patient", "id": "fs-p3", "identifier": [{"system": "urn:fs-test", "value": "C3"}],
     "name": [{"family": "Omega", "given": ["Zed"]}], "gender": "other", "birthDate": "1979-12-31"},
    {"resourceType": "Patient", "id": "fs-p4", "identifier": [{"system": "urn:fs-test", "value": "D,4"}],
     "name": [{"family": "O'Neil", "given": ["Comma"]}], "birthDate": "1980"},
    {"resourceType": "Encounter", "id": "fs-e1", "status": "finished",
     "class": {"code": "AMB"}, "subject": {"reference": "Patient/fs-p2"},
     "period": {"start": "2020-01-01T09:00:00Z"}},
    {"resourceType": "Observation", "id": "fs-o1", "identifier": [{"system": "urn:fs-obs", "value": "1"}],
     "status": "final", "category": [{"coding": [{"system": LAB, "code": "laboratory"}]}],
     "code": {"coding": [{"system": LOINC, "code": "1-1"}]}, "subject": {"reference": "Patient/fs-p1"},
     "effectiveDateTime": "2020-06-15T10:00:00+02:00"},
    {"resourceType": "Observation", "id": "fs-o2", "identifier": [{"system": "urn:fs-obs", "value": "2"}],
     "status": "amended", "category": [{"coding": [{"system": LAB, "code": "vital-signs"}]}],
     "code": {"coding": [{"system": LOINC, "code": "2-2"}]}, "subject": {"reference": "Patient/fs-p1"},
     "effectiveDateTime": "2020-06-15T23:30:00-05:00"},
    {"resourceType": "Observation", "id": "fs-o3", "identifier": [{"system": "urn:fs-obs", "value": "3"}],
     "status": "preliminary", "category": [{"coding": [{"code": "laboratory"}]}],
     "code": {"coding": [{"system": LOINC, "code": "3-3"}]}, "subject": {"reference": "Patient/fs-p1"},
     "effectivePeriod": {"start": "2020-06-01", "end": "2020-06-30"}},
    {"resourceType": "Observation", "id": "fs-o4", "identifier": [{"system": "urn:fs-obs", "value": "4"}],
     "status": "final", "code": {"coding": [{"system": "urn:x", "code": "2-2"}]},
     "subject": {"reference": "Patient/fs-p2"}, "effectiveDateTime": "2021"},
    {"resourceType": "Observation", "id": "fs-o5", "identifier": [{"system": "urn:fs-obs", "value": "5"}],
     "status": "cancelled", "code": {"coding": [{"code": "nosys"}]},
     "subject": {"reference": "Patient/fs-p2"}, "encounter": {"reference": "Encounter/fs-e1"}},
]


@pytest.fixture(scope="module")
def st(server, demo, keydir):
    put(demo, {"resourceType": "Client", "id": "fs-backend", "grant_types": ["client_credentials"],
               "scope": "system/*.cruds", "jwks": {"keys": []}})
    put(demo, DATA)
    f = Fhir(server, Minter(demo, keydir, server.fhir_base))
    f.tok = f.mint.token("system/*.cruds", user=None, client="fs-backend")
    return f


def ids(st, query):
    return sorted(i.split("/")[1] for i in bundle_ids(st.get(query, st.tok)))


def obs(st, query):
    return ids(st, "Observation?identifier=urn:fs-obs|&" + query)


def pats(st, query):
    return ids(st, "Patient?identifier=urn:fs-test|&" + query)


# ---------------------------------------------------------------- CRUD

def test_create_read_update_versions(st):
    body = {"resourceType": "Observation", "status": "final", "code": {"text": "crud"},
            "subject": {"reference": "Patient/pt-3"}, "valueQuantity": {"value": 1.50, "unit": "mg"}}
    r = st.req("POST", "Observation", st.tok, json=body)
    assert r.status_code == 201, r.text
    new = r.json()
    oid = new["id"]
    assert r.headers["Location"] == f"{st.base}/Observation/{oid}/_history/1"
    assert r.headers["ETag"] == 'W/"1"'
    assert r.headers["Last-Modified"].endswith(" GMT")
    assert new["meta"]["versionId"] == "1" and new["meta"]["lastUpdated"]
    r = st.get("Observation/" + oid, st.tok)
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"1"'
    assert r.json()["code"]["text"] == "crud"
    assert st.get("Observation/" + oid, st.tok, headers={"If-None-Match": 'W/"1"'}).status_code == 304

    upd = dict(r.json(), status="amended")
    r = st.req("PUT", "Observation/" + oid, st.tok, json=upd, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == 'W/"2"' and r.json()["meta"]["versionId"] == "2"
    assert r.headers["Content-Location"].endswith("/_history/2")
    assert not r.history                                 # no redirect
    r = st.req("PUT", "Observation/" + oid, st.tok, json=upd, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 412
    assert outcome(r)["code"] == "conflict"
    r = st.req("PUT", "Observation/" + oid, st.tok, json=upd, headers={"If-Match": "garbage"})
    assert r.status_code == 400

    assert st.get(f"Observation/{oid}/_history/1", st.tok).json()["status"] == "final"
    assert st.get(f"Observation/{oid}/_history/2", st.tok).json()["status"] == "amended"
    assert st.get(f"Observation/{oid}/_history/3", st.tok).status_code == 404
    h = st.get(f"Observation/{oid}/_history", st.tok).json()
    assert h["type"] == "history" and h["total"] == 2
    assert [e["resource"]["meta"]["versionId"] for e in h["entry"]] == ["2", "1"]

    r = st.req("DELETE", "Observation/" + oid, st.tok)
    assert r.status_code == 204
    r = st.get("Observation/" + oid, st.tok)
    assert r.status_code == 410 and outcome(r)["code"] == "deleted"
    assert st.get(f"Observation/{oid}/_history/3", st.tok).status_code == 410
    assert st.get(f"Observation/{oid}/_history/2", st.tok).status_code == 200
    assert oid not in ids(st, "Observation?_id=" + oid)
    assert st.req("DELETE", "Observation/" + oid, st.tok).status_code == 204
    # Update after delete brings it back as a new version.
    r = st.req("PUT", "Observation/" + oid, st.tok, json=dict(upd, status="final"))
    assert r.status_code == 201 and r.json()["meta"]["versionId"] == "4"


def test_update_as_create_and_server_ids(st):
    r = st.req("PUT", "Patient/fs-upsert", st.tok, json={"resourceType": "Patient", "id": "fs-upsert"})
    assert r.status_code == 201 and r.json()["meta"]["versionId"] == "1"
    r = st.req("PUT", "Patient/fs-upsert", st.tok, json={"resourceType": "Patient", "id": "fs-upsert"})
    assert r.status_code == 200 and r.json()["meta"]["versionId"] == "2"
    # The server assigns ids on create, whatever the body says.
    r = st.req("POST", "Patient", st.tok, json={"resourceType": "Patient", "id": "pt-1"})
    assert r.status_code == 201 and r.json()["id"] != "pt-1"
    assert st.get("Patient/pt-1", st.tok).json()["name"][0]["family"] == "Johnson"
    r = st.req("PUT", "Patient/fs-nomatch", st.tok, json={"resourceType": "Patient", "id": "fs-upsert"},
               headers={"If-Match": 'W/"1"'})
    assert r.status_code == 400
    r = st.req("PUT", "Patient/fs-new-with-if-match", st.tok,
               json={"resourceType": "Patient", "id": "fs-new-with-if-match"}, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 412
    r = st.req("POST", "Patient", st.tok, json={"resourceType": "Patient"}, headers={"Prefer": "return=minimal"})
    assert r.status_code == 201 and r.text == "" and "/_history/1" in r.headers["Location"]


def test_bad_bodies_refused(st):
    cases = [
        ("POST", "Observation", '{"resourceType": "Patient"}', "application/fhir+json", 400),
        ("POST", "Observation", '{"status": "final"}', "application/fhir+json", 400),
        ("POST", "Observation", '[{"resourceType": "Observation"}]', "application/fhir+json", 400),
        ("POST", "Observation", '{"resourceType": "Observation"', "application/fhir+json", 400),
        ("POST", "Observation", '{"resourceType": "Observation", "a": 1, "a": 2}', "application/fhir+json", 400),
        ("POST", "Observation", '{"resourceType": "Observation", "meta": 5}', "application/fhir+json", 422),
        ("POST", "Observation", '{"resourceType": "Observation", "id": 7}', "application/fhir+json", 400),
        ("POST", "Observation", '{"resourceType": "Observation"}', "text/plain", 415),
        ("POST", "Observation", '{"resourceType": "Observation"}', "application/xml", 415),
        ("PUT", "Patient/fs-p1", '{"resourceType": "Patient"}', "application/fhir+json", 400),
        ("PUT", "Patient/fs-p1", '{"resourceType": "Patient", "id": "fs-p2"}', "application/json", 400),
        ("PUT", "Observation/fs-p1", '{"resourceType": "Patient", "id": "fs-p1"}', "application/json", 400),
    ]
    for method, path, body, ctype, want in cases:
        r = st.req(method, path, st.tok, data=body, headers={"Content-Type": ctype})
        assert r.status_code == want, (method, path, body, r.text)
        assert outcome(r)["severity"] == "error"
    assert st.get("Patient/fs-p1", st.tok).json()["meta"]["versionId"] == "1"


def test_unknown_and_wrong_method(st):
    assert st.get("Patient/fs-none", st.tok).status_code == 404
    assert st.req("DELETE", "Patient/fs-none", st.tok).status_code == 404
    r = st.req("PATCH", "Patient/fs-p1", st.tok, data="[]",
               headers={"Content-Type": "application/json-patch+json"})
    assert r.status_code == 405 and "Allow" in r.headers
    assert st.req("POST", "Patient/fs-p1", st.tok, json={"resourceType": "Patient"}).status_code == 405
    assert st.get("Observation/_history", st.tok).status_code == 400
    assert st.get("", st.tok).status_code == 405


# ---------------------------------------------------------------- search

def test_search_token_forms(st):
    assert obs(st, "category=laboratory") == ["fs-o1", "fs-o3"]
    assert obs(st, f"category={LAB}|laboratory") == ["fs-o1"]
    assert obs(st, "category=|laboratory") == ["fs-o3"]
    assert obs(st, f"category={LAB}|") == ["fs-o1", "fs-o2"]
    assert obs(st, "code=2-2") == ["fs-o2", "fs-o4"]
    assert obs(st, f"code={LOINC}|2-2") == ["fs-o2"]
    assert obs(st, "code=urn:x|2-2") == ["fs-o4"]
    assert obs(st, "code=|nosys") == ["fs-o5"]
    assert obs(st, "code=|2-2") == []
    assert obs(st, "category:not=laboratory") == ["fs-o2", "fs-o4", "fs-o5"]
    assert obs(st, "category:missing=true") == ["fs-o4", "fs-o5"]
    assert obs(st, "category:missing=false") == ["fs-o1", "fs-o2", "fs-o3"]
    assert obs(st, "status=final,amended") == ["fs-o1", "fs-o2", "fs-o4"]
    assert obs(st, "status=final&status=amended") == []
    assert obs(st, "_id=fs-o1,fs-o5") == ["fs-o1", "fs-o5"]
    assert obs(st, "code=Laboratory") == []                  # tokens are case-sensitive
    assert pats(st, "gender=female") == ["fs-p1"]
    assert ids(st, "Patient?identifier=urn:fs-test|D\\,4") == ["fs-p4"]
    assert ids(st, "Patient?identifier=urn:other|X") == ["fs-p2"]
    assert ids(st, "Patient?identifier=X") == ["fs-p2"]


def test_search_references(st):
    assert obs(st, "patient=fs-p1") == ["fs-o1", "fs-o2", "fs-o3"]
    assert obs(st, "patient=Patient/fs-p2") == ["fs-o4", "fs-o5"]
    assert obs(st, f"patient={st.base}/Patient/fs-p2") == ["fs-o4", "fs-o5"]
    assert obs(st, "subject=fs-p2") == ["fs-o4", "fs-o5"]
    assert obs(st, "subject:Patient=fs-p2") == ["fs-o4", "fs-o5"]
    assert obs(st, "subject:Group=fs-p2") == []
    assert obs(st, "patient=Group/fs-p2") == []
    assert obs(st, "patient=fs-p1,fs-p2") == ["fs-o1", "fs-o2", "fs-o3", "fs-o4", "fs-o5"]
    assert obs(st, "encounter=Encounter/fs-e1") == ["fs-o5"]
    assert obs(st, "encounter=fs-e1") == ["fs-o5"]
    assert obs(st, "patient=fs-p3") == []
    for bad in ("patient=Patient/", "patient=Patient/a/b", "patient=..", "patient=a b"):
        r = st.get("Observation?" + bad, st.tok)
        assert r.status_code == 400, bad
        assert "patient" in outcome(r)["diagnostics"]


def test_search_strings(st):
    assert pats(st, "name=zeta") == ["fs-p1", "fs-p2"]
    assert pats(st, "name=ZETA") == ["fs-p1", "fs-p2"]
    assert pats(st, "name:exact=zeta") == ["fs-p2"]
    assert pats(st, "name:exact=Zeta") == []
    assert pats(st, "name:contains=SMITH") == ["fs-p1"]
    assert pats(st, "name=smith") == []                     # prefix, not substring
    assert pats(st, "family=ome") == ["fs-p3"]
    assert pats(st, "given=mar") == ["fs-p1"]
    assert pats(st, "given=ann,zed") == ["fs-p1", "fs-p3"]
    assert pats(st, "name=o'n") == ["fs-p4"]
    assert pats(st, "name=%25") == []                       # LIKE metacharacters are literal
    assert pats(st, "name=_") == []


def test_search_dates(st):
    assert pats(st, "birthdate=1980") == ["fs-p1", "fs-p2", "fs-p4"]
    assert pats(st, "birthdate=1980-03") == ["fs-p2"]
    assert pats(st, "birthdate=eq1980-02-29") == ["fs-p1"]
    assert pats(st, "birthdate=lt1980") == ["fs-p3"]
    assert pats(st, "birthdate=gt1980-02") == ["fs-p2", "fs-p4"]
    assert pats(st, "birthdate=ge1980-02-29") == ["fs-p1", "fs-p2", "fs-p4"]
    assert pats(st, "birthdate=le1979-12-31") == ["fs-p3"]
    assert pats(st, "birthdate=ne1980") == ["fs-p3"]
    assert pats(st, "birthdate=sa1979") == ["fs-p1", "fs-p2", "fs-p4"]
    assert pats(st, "birthdate=eb1980") == ["fs-p3"]
    # 1980 (a whole year) starts before March 1980, so "lt" holds for it too.
    assert pats(st, "birthdate=ge1980&birthdate=lt1980-03") == ["fs-p1", "fs-p4"]
    assert pats(st, "birthdate=ge1980-01-01&birthdate=lt1980-03") == ["fs-p1", "fs-p4"]
    # Time zones: 2020-06-15T23:30-05:00 is the 16th in UTC.
    assert obs(st, "date=2020-06-15") == ["fs-o1"]
    assert obs(st, "date=2020-06-16") == ["fs-o2"]
    assert obs(st, "date=2020-06") == ["fs-o1", "fs-o2", "fs-o3"]
    assert obs(st, "date=lt2020-06-02") == ["fs-o3"]
    assert obs(st, "date=2020-06-15T08:00:00Z") == ["fs-o1"]
    r = st.http.get(st.url("Observation"), params={
        "identifier": "urn:fs-obs|", "date": "ge2020-06-15T09:00:00+01:00"},
        headers={"Authorization": "Bearer " + st.tok})
    assert sorted(i.split("/")[1] for i in bundle_ids(r)) == ["fs-o1", "fs-o2", "fs-o3", "fs-o4"]
    # A '+' left unencoded arrives as a space; it still means +01:00.
    assert obs(st, "date=ge2020-06-15T09:00:00+01:00") == ["fs-o1", "fs-o2", "fs-o3", "fs-o4"]
    assert obs(st, "date:missing=true") == ["fs-o5"]
    assert obs(st, "_lastUpdated=gt2000-01-01") == ["fs-o1", "fs-o2", "fs-o3", "fs-o4", "fs-o5"]
    assert obs(st, "_lastUpdated=lt2000") == []
    for bad in ("date=2020-02-30", "date=2020-13", "date=xx2020", "date=2020-06-15T25:00Z",
                "date=20200615", "birthdate=gt"):
        r = st.get("Observation?" + bad if bad.startswith("date") else "Patient?" + bad, st.tok)
        assert r.status_code == 400, bad
        assert bad.split("=")[0] in outcome(r)["diagnostics"]


def test_search_sort(st):
    def order(q):
        return [i.split("/")[1] for i in bundle_ids(st.get("Observation?identifier=urn:fs-obs|&" + q, st.tok))]
    assert order("_sort=date") == ["fs-o3", "fs-o1", "fs-o2", "fs-o4", "fs-o5"]
    assert order("_sort=-date") == ["fs-o4", "fs-o2", "fs-o1", "fs-o3", "fs-o5"]
    assert len(order("_sort=-_lastUpdated")) == 5
    assert st.get("Observation?_sort=code", st.tok).status_code == 400


def test_search_unknown_parameter_400_or_lenient(st):
    r = st.get("Observation?frobnicate=1", st.tok)
    assert r.status_code == 400
    assert "frobnicate" in outcome(r)["diagnostics"]
    r = st.get("Observation?frobnicate=1&identifier=urn:fs-obs|&status=cancelled", st.tok,
               headers={"Prefer": "handling=lenient"})
    assert r.status_code == 200
    assert [e["resource"]["id"] for e in r.json()["entry"]] == ["fs-o5"]
    assert "frobnicate" not in r.json()["link"][0]["url"]
    assert st.get("Observation?category:text=lab", st.tok).status_code == 400
    assert st.get("Observation?_count=abc", st.tok).status_code == 400


def test_search_bundle_shape(st):
    r = st.get("Observation?identifier=urn:fs-obs|&_count=2", st.tok)
    b = r.json()
    assert r.headers["Content-Type"].startswith("application/fhir+json")
    assert b["type"] == "searchset" and b["total"] == 5
    links = {l["relation"]: l["url"] for l in b["link"]}
    assert links["self"].startswith(st.base + "/Observation?")
    assert links["next"].startswith(st.base + "/Observation?") and "_offset=2" in links["next"]
    for e in b["entry"]:
        assert e["fullUrl"] == f"{st.base}/Observation/{e['resource']['id']}"
        assert e["search"]["mode"] == "match"
    b = st.get("Observation?identifier=urn:fs-obs|&_count=0", st.tok).json()
    assert b["total"] == 5 and b.get("entry", []) == []
    b = st.get("Observation?_count=100000", st.tok).json()
    assert len(b["entry"]) <= 500


def test_paging_stable_across_pages(st):
    every = st.search_all("Observation?_count=500", st.tok)[0]
    assert len(every) >= 130
    for size in (7, 50):
        got, _, pages = st.search_all(f"Observation?_count={size}", st.tok)
        assert got == every and len(set(got)) == len(got)
        assert pages == -(-len(every) // size)
    got, _, _ = st.search_all("Observation?identifier=urn:fs-obs|&_sort=-date&_count=2", st.tok)
    assert [g.split("/")[1] for g in got] == ["fs-o4", "fs-o2", "fs-o1", "fs-o3", "fs-o5"]
    b = st.get("Observation?_count=10&_offset=100000", st.tok).json()
    assert b.get("entry", []) == [] and b["total"] == len(every)


def test_include_and_revinclude(st):
    b = st.get("Observation?_id=fs-o5&_include=Observation:encounter&_include=Observation:patient",
               st.tok).json()
    got = [(e["resource"]["resourceType"], e["resource"]["id"], e["search"]["mode"]) for e in b["entry"]]
    assert got[0] == ("Observation", "fs-o5", "match")
    assert sorted(got[1:]) == [("Encounter", "fs-e1", "include"), ("Patient", "fs-p2", "include")]
    b = st.get("Patient?_id=fs-p2&_revinclude=Observation:patient", st.tok).json()
    assert sorted(e["resource"]["id"] for e in b["entry"]) == ["fs-o4", "fs-o5", "fs-p2"]
    assert b["total"] == 1
    b = st.get("Observation?_id=fs-o5&_include=Observation:subject:Group", st.tok).json()
    assert [e["resource"]["id"] for e in b["entry"]] == ["fs-o5"]
    assert st.get("Observation?_include=Patient:organization", st.tok).status_code == 400


def test_post_search_equals_get(st):
    q = "identifier=urn%3Afs-obs%7C&category=laboratory"
    g = bundle_ids(st.get("Observation?" + q, st.tok))
    r = st.req("POST", "Observation/_search", st.tok, data=q,
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bundle_ids(r) == g and g
    r = st.req("POST", "Observation/_search", st.tok, json={"category": "laboratory"})
    assert r.status_code == 415
    assert st.get("Observation/_search", st.tok).status_code == 405


def test_batch_and_transaction(st, demo):
    r = st.req("POST", "", st.tok, json={"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:5b0c1a55-1111-4111-8111-000000000001",
         "request": {"method": "POST", "url": "Patient"},
         "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:fs-tx", "value": "1"}]}},
        {"request": {"method": "POST", "url": "Observation"},
         "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "tx"},
                      "identifier": [{"system": "urn:fs-tx", "value": "2"}],
                      "subject": {"reference": "urn:uuid:5b0c1a55-1111-4111-8111-000000000001"}}},
        {"request": {"method": "GET", "url": "Observation?identifier=urn:fs-tx|2"}}]})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["type"] == "transaction-response"
    assert [e["response"]["status"] for e in b["entry"]] == ["201 Created", "201 Created", "200 OK"]
    pid = b["entry"][0]["resource"]["id"]
    assert b["entry"][1]["resource"]["subject"]["reference"] == "Patient/" + pid
    assert b["entry"][2]["resource"]["total"] == 1
    # All or nothing: a failing entry undoes the others.
    r = st.req("POST", "", st.tok, json={"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "PUT", "url": "Patient/fs-p3"},
         "resource": {"resourceType": "Patient", "id": "fs-p3", "gender": "unknown"}},
        {"request": {"method": "PUT", "url": "Patient/fs-p1", "ifMatch": 'W/"99"'},
         "resource": {"resourceType": "Patient", "id": "fs-p1"}}]})
    assert r.status_code == 412
    assert st.get("Patient/fs-p3", st.tok).json()["gender"] == "other"
    # Batch: independent entries.
    r = st.req("POST", "", st.tok, json={"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient/fs-p3"}},
        {"request": {"method": "GET", "url": "Patient/fs-nope"}},
        {"request": {"method": "DELETE", "url": "Observation/fs-o4"}},
        {"request": {"method": "PATCH", "url": "Patient/fs-p3"}},
        {"request": {"method": "GET", "url": "https://elsewhere.example/fhir/Patient/x"}},
        {"request": {"url": "Patient/fs-p3"}}]})
    assert r.status_code == 200
    st_ = [e["response"]["status"].split()[0] for e in r.json()["entry"]]
    assert st_ == ["200", "404", "204", "405", "400", "400"]
    assert st.get("Observation/fs-o4", st.tok).status_code == 410
    for bad in ({"resourceType": "Bundle", "type": "collection"}, {"resourceType": "Patient"},
                {"resourceType": "Bundle", "type": "batch", "entry": {}}):
        assert st.req("POST", "", st.tok, json=bad).status_code == 400
    r = st.req("POST", "", st.tok, json={"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient/fs-p1"}}] * 101})
    assert r.status_code == 400
