"""FHIR gateway end to end: tokens, SMART scopes, compartments, AccessPolicies.

Real PostgreSQL with the demo data and Apache + mod_fcgid (the `server`
fixture).  Access tokens are minted here exactly as the contract between
the programs says (RS256 JWT, typ at+jwt, kid = RFC 7638 thumbprint of
the server's RSA key, iss = aud = FHIR base, and the smart.access_tokens
row), so these tests do not depend on the token endpoint.

Demo data: alice -> Patient/pt-1, bob -> Patient/pt-2 (Role "patient"),
dr-smith (Role "practitioner"), patients pt-1 .. pt-5 with observations
(laboratory, vital-signs), conditions, encounters...
"""
import base64
import glob
import hashlib
import http.client
import json
import os
import secrets
import time
import urllib.parse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

LAB = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
VITAL = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"
COND = "http://terminology.hl7.org/CodeSystem/condition-category"


def _b64(n):
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


class Minter:
    """Mints smartauth access tokens (and their rows) for one server."""

    def __init__(self, pg, keydir, fhir_base):
        self.pg = pg
        self.base = fhir_base
        pem = sorted(glob.glob(os.path.join(keydir, "rsa-*.pem")))[-1]
        with open(pem, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), None)
        pub = self.key.public_key().public_numbers()
        tp = json.dumps({"e": _b64(pub.e), "kty": "RSA", "n": _b64(pub.n)},
                        separators=(",", ":"), sort_keys=True)
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(tp.encode()).digest()).rstrip(b"=").decode()

    def token(self, scope, user="alice", client="sample-app", ctx=None, lifetime=3600,
              record=True, claims=None, headers=None, key=None, alg="RS256", row_lifetime=None):
        now = int(time.time())
        jti = secrets.token_urlsafe(32)
        c = {"iss": self.base, "aud": self.base, "sub": user or client, "client_id": client,
             "scope": scope, "jti": jti, "iat": now, "exp": now + lifetime}
        ctx = dict(ctx or {})
        if "patient" in ctx:
            c["patient"] = ctx["patient"]
        c.update(claims or {})
        h = {"kid": self.kid, "typ": "at+jwt"}
        h.update(headers or {})
        tok = jwt.encode(c, key if key is not None else self.key, algorithm=alg, headers=h)
        if record:
            self.pg.exec("INSERT INTO smart.access_tokens (jti, client_id, user_id, scope, "
                         "launch_context, expires_at) VALUES (%s, %s, %s, %s, %s, to_timestamp(%s))",
                         (jti, client, user, scope, json.dumps(ctx),
                          now + (row_lifetime if row_lifetime is not None else lifetime)))
        return tok


class Fhir:
    """A FHIR client for the gateway under test."""

    def __init__(self, server, minter):
        self.server = server
        self.base = server.fhir_base
        self.mint = minter
        self.http = requests.Session()

    def url(self, path):
        return path if path.startswith("http") else self.base + "/" + path.lstrip("/")

    def req(self, method, path, token=None, **kw):
        h = dict(kw.pop("headers", {}) or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if "json" in kw:
            h.setdefault("Content-Type", "application/fhir+json")
            kw["data"] = json.dumps(kw.pop("json"))
        return self.http.request(method, self.url(path), headers=h, timeout=30, **kw)

    def get(self, path, token=None, **kw):
        return self.req("GET", path, token, **kw)

    def search_all(self, path, token):
        """Follows next links; returns (match ids in order, include ids, pages)."""
        ids, inc, pages, url = [], [], 0, path
        while url:
            r = self.get(url, token)
            assert r.status_code == 200, r.text
            b = r.json()
            pages += 1
            for e in b.get("entry", []):
                res = e["resource"]
                key = res["resourceType"] + "/" + res["id"]
                (ids if e["search"]["mode"] == "match" else inc).append(key)
            url = next((l["url"] for l in b.get("link", []) if l["relation"] == "next"), None)
            assert pages < 100
        return ids, inc, pages


@pytest.fixture(scope="module")
def fhir(server, demo, keydir):
    return Fhir(server, Minter(demo, keydir, server.fhir_base))


def put(pg, resource):
    pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps(resource),))


def outcome(r):
    b = r.json()
    assert b["resourceType"] == "OperationOutcome"
    return b["issue"][0]


def bundle_ids(r):
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["resourceType"] == "Bundle" and b["type"] == "searchset"
    return [e["resource"]["resourceType"] + "/" + e["resource"]["id"] for e in b.get("entry", [])]


def patient_token(fhir, scope="launch/patient patient/*.rs", user="alice", patient="pt-1", **kw):
    return fhir.mint.token(scope, user=user, ctx={"patient": patient}, **kw)


# ---------------------------------------------------------------- metadata

def test_metadata_is_public_with_cors(fhir):
    r = fhir.get("metadata", headers={"Origin": "https://app.example"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/fhir+json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    cs = r.json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    types = {x["type"] for x in cs["rest"][0]["resource"]}
    assert {"Patient", "Observation", "Condition", "Encounter", "Organization"} <= types
    svc = cs["rest"][0]["security"]["service"][0]["coding"][0]
    assert svc["system"] == "http://terminology.hl7.org/CodeSystem/restful-security-service"
    assert svc["code"] == "SMART-on-FHIR"


def test_metadata_oauth_uris_equal_discovery(fhir):
    cs = fhir.get("metadata").json()
    wk = fhir.get(".well-known/smart-configuration").json()
    ext = [e for e in cs["rest"][0]["security"]["extension"]
           if e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"][0]
    uris = {e["url"]: e["valueUri"] for e in ext["extension"]}
    assert uris["authorize"] == wk["authorization_endpoint"]
    assert uris["token"] == wk["token_endpoint"]
    assert uris.get("introspect") == wk.get("introspection_endpoint")
    assert uris.get("revoke") == wk.get("revocation_endpoint")


def test_metadata_refuses_writes(fhir):
    r = fhir.req("POST", "metadata", json={})
    assert r.status_code == 405
    assert outcome(r)["severity"] == "error"


# ---------------------------------------------------------------- tokens

def check_401(r):
    assert r.status_code == 401, r.text
    www = r.headers["WWW-Authenticate"]
    assert www.startswith("Bearer ") and 'realm="' in www and 'error="invalid_token"' in www
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert outcome(r)["code"] == "login"


def test_no_token_401(fhir):
    check_401(fhir.get("Patient/pt-1"))
    check_401(fhir.get("Observation?patient=pt-1"))
    check_401(fhir.req("POST", "", json={"resourceType": "Bundle", "type": "batch"}))
    # Paths that lead nowhere still ask for a token first: nothing is told for free.
    check_401(fhir.get("Foo/1"))
    check_401(fhir.get("Patient/pt_1"))
    check_401(fhir.req("DELETE", "Patient/pt-1"))


def test_garbage_tokens_401(fhir):
    for bad in ["garbage", "a.b.c", "x" * 7000, "Bearer", "eyJhbGciOiJub25lIn0.e30."]:
        check_401(fhir.get("Patient/pt-1", bad))
    check_401(fhir.get("Patient/pt-1", headers={"Authorization": "Basic YTpi"}))
    check_401(fhir.get("Patient/pt-1", headers={"Authorization": "Bearer"}))


def test_expired_token_401(fhir):
    t = patient_token(fhir, lifetime=-120)
    check_401(fhir.get("Patient/pt-1", t))
    # Expired by the database's clock even though the JWT still looks valid.
    t = patient_token(fhir, row_lifetime=-5)
    check_401(fhir.get("Patient/pt-1", t))


def test_wrong_audience_401(fhir):
    t = patient_token(fhir, claims={"aud": "https://other.example/fhir"})
    check_401(fhir.get("Patient/pt-1", t))
    t = patient_token(fhir, claims={"iss": "https://other.example/fhir"})
    check_401(fhir.get("Patient/pt-1", t))


def test_bad_signature_401(fhir):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    check_401(fhir.get("Patient/pt-1", patient_token(fhir, key=other)))
    good = patient_token(fhir)
    h, p, s = good.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    tampered["scope"] = "patient/*.cruds"
    p2 = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=").decode()
    check_401(fhir.get("Patient/pt-1", ".".join([h, p2, s])))


def test_wrong_typ_and_alg_401(fhir):
    import hmac
    check_401(fhir.get("Patient/pt-1", patient_token(fhir, headers={"typ": "JWT"})))
    # HS256 keyed with the server's public key (algorithm confusion), built by hand.
    pub = fhir.mint.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    claims = {"iss": fhir.base, "aud": fhir.base, "sub": "alice", "client_id": "sample-app",
              "scope": "patient/*.rs", "jti": "x", "exp": int(time.time()) + 60}
    enc = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=")
    for head in ({"alg": "HS256", "typ": "at+jwt", "kid": fhir.mint.kid},
                 {"alg": "none", "typ": "at+jwt", "kid": fhir.mint.kid}):
        signing = enc(head) + b"." + enc(claims)
        sig = base64.urlsafe_b64encode(hmac.new(pub, signing, hashlib.sha256).digest()).rstrip(b"=")
        check_401(fhir.get("Patient/pt-1", (signing + b"." + sig).decode()))


def test_unrecorded_token_401(fhir):
    check_401(fhir.get("Patient/pt-1", patient_token(fhir, record=False)))


def test_revoked_token_stops_working_immediately(fhir, demo):
    t = patient_token(fhir)
    assert fhir.get("Patient/pt-1", t).status_code == 200
    jti = jwt.decode(t, options={"verify_signature": False})["jti"]
    demo.exec("UPDATE smart.access_tokens SET revoked_at = now() WHERE jti = %s", (jti,))
    check_401(fhir.get("Patient/pt-1", t))


def test_preflight_allows_authorization_and_if_match(fhir):
    r = fhir.req("OPTIONS", "Patient/pt-1", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization, content-type, if-match"})
    assert r.status_code in (200, 204)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    allowed = r.headers["Access-Control-Allow-Headers"].lower()
    for h in ("authorization", "content-type", "if-match"):
        assert h in allowed
    assert "PUT" in r.headers["Access-Control-Allow-Methods"]


def test_authenticated_responses_carry_cors_and_no_store(fhir):
    r = fhir.get("Patient/pt-1", patient_token(fhir), headers={"Origin": "https://app.example"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in r.headers.get("Access-Control-Expose-Headers", "")
    assert r.headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------- scopes

def check_403(r):
    assert r.status_code == 403, r.text
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    assert outcome(r)["code"] == "forbidden"


def test_onc_limited_access_types(fhir):
    t = patient_token(fhir, "launch/patient patient/Patient.rs patient/Observation.rs")
    assert fhir.get("Patient/pt-1", t).status_code == 200
    assert bundle_ids(fhir.get("Observation?patient=pt-1", t))
    check_403(fhir.get("Condition?patient=pt-1", t))
    check_403(fhir.get("Condition/cond-1-1", t))
    check_403(fhir.get("Encounter?patient=pt-1", t))
    # A search the app retries with a status parameter is still refused for denied types.
    check_403(fhir.get("Condition?patient=pt-1&clinical-status=active", t))


def test_read_without_search_scope(fhir):
    t = patient_token(fhir, "launch/patient patient/Observation.r patient/Patient.s")
    assert fhir.get("Observation/lab-1-1-a1c", t).status_code == 200
    check_403(fhir.get("Observation?patient=pt-1", t))
    check_403(fhir.get("Patient/pt-1", t))
    assert bundle_ids(fhir.get("Patient", t)) == ["Patient/pt-1"]


def test_fine_grained_category_scope_filters_searches(fhir):
    full = patient_token(fhir, "launch/patient patient/Observation.rs")
    lab = patient_token(fhir, "launch/patient patient/Observation.rs?category=" + LAB)
    all_ids, _, _ = fhir.search_all("Observation?patient=pt-1&_count=500", full)
    everything = {}
    for i in all_ids:
        everything[i] = fhir.get(i, full).json()
    want = {i for i, res in everything.items()
            if any(c.get("code") == "laboratory" for cat in res.get("category", [])
                   for c in cat.get("coding", []))}
    assert want and want != set(all_ids)
    got, _, _ = fhir.search_all("Observation?patient=pt-1&_count=7", lab)
    assert set(got) == want and len(got) == len(want)
    # Without patient=, with another category: still only what the scope allows.
    assert set(bundle_ids(fhir.get("Observation?_count=500", lab))) == want
    assert bundle_ids(fhir.get("Observation?category=vital-signs", lab)) == []


def test_fine_grained_category_scope_refuses_reads_of_other_categories(fhir):
    lab = patient_token(fhir, "launch/patient patient/Observation.rs?category=" + LAB)
    vit = bundle_ids(fhir.get("Observation?patient=pt-1&category=vital-signs",
                              patient_token(fhir, "launch/patient patient/Observation.rs")))
    assert vit
    for i in vit[:3]:
        r = fhir.get(i, lab)
        assert r.status_code == 404
        assert fhir.get(i + "/_history/1", lab).status_code == 404
    assert fhir.get("Observation/lab-1-1-a1c", lab).status_code == 200


def test_fine_grained_scopes_union(fhir):
    both = patient_token(fhir, "launch/patient patient/Observation.rs?category=" + LAB +
                         " patient/Observation.rs?category=" + VITAL)
    full = patient_token(fhir, "launch/patient patient/Observation.rs")
    got = set(fhir.search_all("Observation?patient=pt-1&_count=50", both)[0])
    all_ids = fhir.search_all("Observation?patient=pt-1&_count=50", full)[0]
    cats = {i: {c.get("code") for cat in fhir.get(i, full).json().get("category", [])
                for c in cat.get("coding", [])} for i in all_ids}
    assert got == {i for i, c in cats.items() if c & {"laboratory", "vital-signs"}}


def test_fine_grained_condition_categories(fhir):
    t = patient_token(fhir, "launch/patient patient/Condition.rs?category=" + COND + "|problem-list-item")
    full = patient_token(fhir, "launch/patient patient/Condition.rs")
    got = bundle_ids(fhir.get("Condition?patient=pt-1", t))
    every = bundle_ids(fhir.get("Condition?patient=pt-1", full))
    expect = [i for i in every if any(c["code"] == "problem-list-item"
                                      for cat in fhir.get(i, full).json()["category"]
                                      for c in cat["coding"])]
    assert got == expect and expect and len(every) > len(expect)
    assert fhir.get("Condition/cond-1-1", t).status_code == 404    # encounter-diagnosis


def test_constrained_write_must_match(fhir):
    t = patient_token(fhir, "launch/patient patient/Observation.crus?category=" + LAB)
    lab = {"resourceType": "Observation", "status": "final", "code": {"text": "glucose"},
           "subject": {"reference": "Patient/pt-1"},
           "category": [{"coding": [{"system": LAB.split("|")[0], "code": "laboratory"}]}]}
    vital = dict(lab, category=[{"coding": [{"system": VITAL.split("|")[0], "code": "vital-signs"}]}])
    check_403(fhir.req("POST", "Observation", t, json=vital))
    # Patient users may not write under the default policies: a practitioner writes.
    doc = fhir.mint.token("launch/patient patient/Observation.crus?category=" + LAB,
                          user="dr-smith", ctx={"patient": "pt-1"})
    check_403(fhir.req("POST", "Observation", doc, json=vital))
    r = fhir.req("POST", "Observation", doc, json=lab)
    assert r.status_code == 201, r.text
    new = r.json()
    check_403(fhir.req("PUT", "Observation/" + new["id"], doc, json=dict(vital, id=new["id"])))
    assert fhir.get("Observation/" + new["id"], doc).json()["meta"]["versionId"] == "1"


def test_write_with_read_only_scopes_403(fhir):
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
           "subject": {"reference": "Patient/pt-1"}}
    doc = fhir.mint.token("user/*.rs", user="dr-smith")
    check_403(fhir.req("POST", "Observation", doc, json=obs))
    check_403(fhir.req("PUT", "Observation/lab-1-1-a1c", doc, json=dict(obs, id="lab-1-1-a1c")))
    check_403(fhir.req("DELETE", "Observation/lab-1-1-a1c", doc))
    v1 = fhir.mint.token("user/*.read", user="dr-smith")
    check_403(fhir.req("POST", "Observation", v1, json=obs))
    assert fhir.get("Observation/lab-1-1-a1c", doc).status_code == 200


def test_v1_scopes(fhir):
    t = patient_token(fhir, "launch/patient patient/*.read")
    assert fhir.get("Patient/pt-1", t).status_code == 200
    assert bundle_ids(fhir.get("Observation?patient=pt-1&_count=1", t))
    doc = fhir.mint.token("user/Observation.* user/Patient.read", user="dr-smith")
    r = fhir.req("POST", "Observation", doc, json={
        "resourceType": "Observation", "status": "final", "code": {"text": "v1"},
        "subject": {"reference": "Patient/pt-3"}})
    assert r.status_code == 201, r.text
    assert fhir.req("DELETE", "Observation/" + r.json()["id"], doc).status_code == 204
    check_403(fhir.req("PUT", "Patient/pt-3", doc, json={"resourceType": "Patient", "id": "pt-3"}))
    w = fhir.mint.token("user/Observation.write", user="dr-smith")
    check_403(fhir.get("Observation/lab-1-1-a1c", w))


def test_scopes_without_resource_access_403(fhir):
    t = patient_token(fhir, "openid fhirUser launch/patient offline_access")
    check_403(fhir.get("Patient/pt-1", t))


# ---------------------------------------------------------------- compartments

LEAK_PATHS = [
    "Patient/pt-2", "Patient/pt-2/_history", "Patient/pt-2/_history/1",
    "Observation/lab-2-1-a1c", "Encounter/enc-2-1", "Condition/cond-2-1",
]


def test_compartment_reads_refused_without_existence_oracle(fhir):
    t = patient_token(fhir)
    missing = fhir.get("Patient/no-such-patient", t)
    assert missing.status_code == 404
    for p in LEAK_PATHS:
        r = fhir.get(p, t)
        assert r.status_code == 404, p
        assert r.headers["Content-Type"] == missing.headers["Content-Type"]
        assert outcome(r)["code"] == outcome(missing)["code"]
    # The same for an id that never existed, by every path.
    for p in ("Observation/nope", "Observation/nope/_history", "Observation/nope/_history/1"):
        assert fhir.get(p, t).status_code == 404


def test_compartment_searches_confined(fhir):
    t = patient_token(fhir)
    for q in ["Observation?patient=pt-2", "Observation?patient=Patient/pt-2",
              "Observation?subject=Patient/pt-2", "Observation?subject=pt-2",
              "Observation?subject:Patient=pt-2", "Observation?_id=lab-2-1-a1c",
              "Patient?_id=pt-2", "Patient?name=Martinez", "Encounter?patient=pt-2",
              "Observation?patient=pt-1,pt-2&_id=lab-2-1-a1c"]:
        assert bundle_ids(fhir.get(q, t)) == [], q
    ids = bundle_ids(fhir.get("Observation?_count=500", t))
    assert ids and all(fhir.get(i, t).json()["subject"]["reference"] == "Patient/pt-1" for i in ids[:5])
    assert bundle_ids(fhir.get("Patient", t)) == ["Patient/pt-1"]


def test_compartment_includes_confined(fhir, demo):
    t = patient_token(fhir)
    # A resource of pt-1 that points at pt-2's encounter (the demo never does: make one).
    put(demo, {"resourceType": "Observation", "id": "fg-cross-ref", "status": "final",
               "code": {"text": "cross"}, "subject": {"reference": "Patient/pt-1"},
               "encounter": {"reference": "Encounter/enc-2-1"}})
    q = "Observation?_id=fg-cross-ref&_include=Observation:patient&_include=Observation:encounter"
    b = fhir.get(q, t).json()
    assert [(e["resource"]["id"], e["search"]["mode"]) for e in b["entry"]] == [
        ("fg-cross-ref", "match"), ("pt-1", "include")]
    # A practitioner sees the include the patient may not.
    doc = fhir.mint.token("user/*.rs", user="dr-smith")
    got = {e["resource"]["id"] for e in fhir.get(q, doc).json()["entry"]}
    assert got == {"fg-cross-ref", "pt-1", "enc-2-1"}
    # _revinclude: from pt-2's encounter nothing; from pt-1's only pt-1's resources.
    assert bundle_ids(fhir.get("Encounter?_id=enc-2-1&_revinclude=Observation:encounter", t)) == []
    b = fhir.get("Encounter?_revinclude=Observation:encounter&_count=50", t).json()
    inc = [e["resource"] for e in b["entry"] if e["search"]["mode"] == "include"]
    assert inc and all(x["subject"]["reference"] == "Patient/pt-1" for x in inc)
    assert "fg-cross-ref" not in {x["id"] for x in inc}
    b = fhir.get("Patient?_revinclude=Observation:subject", t).json()
    inc = [e["resource"] for e in b["entry"] if e["search"]["mode"] == "include"]
    assert len(inc) >= 30 and all(x["subject"]["reference"] == "Patient/pt-1" for x in inc)


def test_include_respects_other_types_scopes(fhir):
    # Observation may be read, Patient may not: _include must not smuggle it in.
    t = patient_token(fhir, "launch/patient patient/Observation.rs")
    b = fhir.get("Observation?_id=lab-1-1-a1c&_include=Observation:patient", t).json()
    assert [e["resource"]["id"] for e in b["entry"]] == ["lab-1-1-a1c"]
    t = patient_token(fhir, "launch/patient patient/Observation.rs patient/Patient.rs?_id=pt-9")
    b = fhir.get("Observation?_id=lab-1-1-a1c&_include=Observation:patient", t).json()
    assert [e["resource"]["id"] for e in b["entry"]] == ["lab-1-1-a1c"]


def test_compartment_post_search_confined(fhir):
    t = patient_token(fhir)
    r = fhir.req("POST", "Observation/_search", t, data="patient=pt-2",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bundle_ids(r) == []
    r = fhir.req("POST", "Observation/_search?category=laboratory", t, data="patient=pt-1",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bundle_ids(r)


def test_compartment_batch_entries_refused(fhir):
    t = patient_token(fhir)
    r = fhir.req("POST", "", t, json={"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient/pt-1"}},
        {"request": {"method": "GET", "url": "Patient/pt-2"}},
        {"request": {"method": "GET", "url": "Observation?patient=pt-2"}},
        {"request": {"method": "GET", "url": fhir.base + "/Observation/lab-2-1-a1c"}},
        {"request": {"method": "GET", "url": "Condition?patient=pt-1"}}]})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["type"] == "batch-response"
    st = [e["response"]["status"].split()[0] for e in b["entry"]]
    assert st == ["200", "404", "200", "404", "200"]
    assert b["entry"][2]["resource"]["total"] == 0
    assert b["entry"][0]["resource"]["id"] == "pt-1"
    assert "resource" not in b["entry"][1]


def test_compartment_writes_confined(fhir, demo):
    doc = fhir.mint.token("launch/patient patient/*.cruds", user="dr-smith", ctx={"patient": "pt-1"})
    other = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
             "subject": {"reference": "Patient/pt-2"}}
    check_403(fhir.req("POST", "Observation", doc, json=other))
    # Update or delete of another patient's resource looks like a missing one.
    assert fhir.req("PUT", "Observation/lab-2-1-a1c", doc,
                    json=dict(other, id="lab-2-1-a1c")).status_code == 404
    assert fhir.req("DELETE", "Observation/lab-2-1-a1c", doc).status_code == 404
    assert fhir.req("PUT", "Observation/fg-never-existed", doc,
                    json=dict(other, id="fg-never-existed", subject={"reference": "Patient/pt-1"})
                    ).status_code == 404
    # Moving one's own resource to another patient is refused.
    assert fhir.req("PUT", "Observation/lab-1-1-a1c", doc,
                    json=dict(fhir.get("Observation/lab-1-1-a1c", doc).json(),
                              subject={"reference": "Patient/pt-2"})).status_code == 403
    assert demo.query("SELECT version_id FROM smart.fhir_resources WHERE id = 'lab-2-1-a1c'")[0][0] == 1


def test_transaction_entries_authorised_all_or_nothing(fhir, demo):
    doc = fhir.mint.token("launch/patient patient/*.cruds", user="dr-smith", ctx={"patient": "pt-1"})
    r = fhir.req("POST", "", doc, json={"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001",
         "request": {"method": "POST", "url": "Observation"},
         "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "fg-tx-leak"},
                      "subject": {"reference": "Patient/pt-1"}}},
        {"request": {"method": "GET", "url": "Patient/pt-2"}}]})
    assert r.status_code == 404
    assert outcome(r)["code"] == "not-found"
    assert demo.query("SELECT count(*) FROM smart.fhir_resources WHERE resource #>> '{code,text}' = "
                      "'fg-tx-leak'")[0][0] == 0


def test_patient_scope_without_launch_patient_403(fhir):
    t = fhir.mint.token("patient/*.rs", user="alice")
    check_403(fhir.get("Patient/pt-1", t))


# ---------------------------------------------------------------- policies

def test_seed_policies_allow_patient_user_their_own_data(fhir):
    # user/ scopes of a patient user: the seed policies and the compartment decide.
    t = fhir.mint.token("user/*.rs", user="alice")
    assert fhir.get("Patient/pt-1", t).status_code == 200
    assert bundle_ids(fhir.get("Patient?_id=pt-1", t)) == ["Patient/pt-1"]
    assert bundle_ids(fhir.get("Observation?patient=pt-1&_count=2", t))
    assert fhir.get("Observation/lab-1-1-a1c", t).status_code == 200
    assert fhir.get("Observation/lab-2-1-a1c", t).status_code == 404
    assert fhir.get("Patient/pt-2", t).status_code == 404
    assert bundle_ids(fhir.get("Observation?patient=pt-2", t)) == []


def test_seed_policies_verbatim(fhir, demo):
    rows = dict(demo.query("SELECT id, resource::text FROM smart.access_policies WHERE id IN "
                           "('patient-smart', 'smart-patient-read', 'smart-patient-search-self')"))
    assert json.loads(rows["patient-smart"])["matcho"] == {
        "uri": "#/fhir/.*", "params": {"patient": ".role.links.patient.id"}}
    assert json.loads(rows["smart-patient-read"])["matcho"] == {
        "uri": "#/fhir/Patient/.*", "params": {"id": ".role.links.patient.id"}}
    assert json.loads(rows["smart-patient-search-self"])["matcho"] == {
        "uri": "#/fhir/Patient", "params": {"_id": ".role.links.patient.id"}}
    saved = demo.query("SELECT resource::text FROM smart.access_policies WHERE id = 'patient-read-own'")
    demo.exec("SELECT smart.delete('AccessPolicy', 'patient-read-own')")
    try:
        t = patient_token(fhir)
        # The three seed policies alone: compartment searches and reading oneself.
        assert bundle_ids(fhir.get("Observation?category=laboratory&_count=3", t))
        assert bundle_ids(fhir.get("Patient", t)) == ["Patient/pt-1"]
        assert fhir.get("Patient/pt-1", t).status_code == 200
        # Reading another resource by id needs a policy the seed does not have.
        check_403(fhir.get("Observation/lab-1-1-a1c", t))
        check_403(fhir.get("Patient/pt-2", t))
    finally:
        if saved:
            demo.exec("SELECT smart.put(%s::jsonb)", (saved[0][0],))
    assert fhir.get("Observation/lab-1-1-a1c", patient_token(fhir)).status_code == 200


def test_default_deny_for_user_without_roles(fhir, demo):
    put(demo, {"resourceType": "User", "id": "fg-noroles", "password": "fg-noroles-pw"})
    t = fhir.mint.token("user/*.cruds", user="fg-noroles")
    for p in ("Patient/pt-1", "Observation?patient=pt-1", "Patient"):
        check_403(fhir.get(p, t))
    check_403(fhir.req("POST", "Observation", t, json={
        "resourceType": "Observation", "status": "final", "code": {"text": "x"}}))
    audit = demo.query("SELECT count(*) FROM smart.audit_events WHERE event = 'denied' "
                       "AND user_id = 'fg-noroles'")
    assert audit[0][0] >= 1


def test_patient_role_without_link_sees_nothing(fhir, demo):
    # patient-read-own lets any "patient" Role read by id; the gateway's
    # compartment must then confine to the linked patient, here none.
    put(demo, [{"resourceType": "User", "id": "fg-unlinked", "password": "fg-unlinked-pw"},
               {"resourceType": "Role", "id": "fg-unlinked-patient", "name": "patient",
                "user": {"id": "fg-unlinked", "resourceType": "User"}}])
    t = fhir.mint.token("user/*.rs", user="fg-unlinked")
    for p in ("Observation/lab-1-1-a1c", "Patient/pt-1", "Organization/org-1"):
        assert fhir.get(p, t).status_code == 404, p
    check_403(fhir.get("Observation?patient=pt-1", t))


def test_practitioner_sees_every_patient(fhir):
    t = fhir.mint.token("user/*.rs", user="dr-smith")
    assert fhir.get("Patient/pt-2", t).status_code == 200
    ids = set(bundle_ids(fhir.get("Patient?_count=100", t)))
    assert {"Patient/pt-1", "Patient/pt-2", "Patient/pt-5"} <= ids
    r = fhir.get("Observation?_count=0", t).json()
    assert r["total"] >= 132 and "entry" not in r or r["entry"] == []


def test_system_token_reads_only_what_its_scopes_name(fhir, demo):
    put(demo, {"resourceType": "Client", "id": "fg-backend", "grant_types": ["client_credentials"],
               "scope": "system/*.rs", "jwks": {"keys": []}})
    t = fhir.mint.token("system/Observation.rs", user=None, client="fg-backend")
    assert fhir.get("Observation/lab-2-1-a1c", t).status_code == 200
    assert fhir.get("Observation?patient=pt-3&_count=1", t).json()["total"] > 0
    check_403(fhir.get("Patient/pt-1", t))
    check_403(fhir.req("POST", "Observation", t, json={
        "resourceType": "Observation", "status": "final", "code": {"text": "x"}}))
    # user/ scopes mean nothing without a user.
    t = fhir.mint.token("user/*.rs", user=None, client="fg-backend")
    check_403(fhir.get("Observation/lab-2-1-a1c", t))
    # A client the backend policy does not cover is denied by default.
    put(demo, {"resourceType": "Client", "id": "fg-nobackend", "grant_types": ["authorization_code"],
               "auth": {"authorization_code": {"redirect_uri": "https://app.example/cb"}}})
    t = fhir.mint.token("system/*.rs", user=None, client="fg-nobackend")
    check_403(fhir.get("Observation/lab-2-1-a1c", t))


# ---------------------------------------------------------------- paths

def test_path_tricks_refused(fhir):
    t = fhir.mint.token("user/*.rs", user="dr-smith")
    for p, want in [("Patient/..", 400), ("Patient/%2e%2e", 400), ("Patient//pt-1", 400),
                    ("Patient/pt-1/../pt-2", 400), ("Patient/pt_1", 400),
                    ("Client/sample-app", 404), ("User/alice", 404), ("patient/pt-1", 404),
                    ("Patient/pt-1/$everything", 400), ("Patient/pt-1/_history/0", 400)]:
        # http.client sends the path as written (requests would remove dot segments).
        u = urllib.parse.urlsplit(fhir.base)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("GET", u.path + "/" + p, headers={"Authorization": "Bearer " + t})
        r = c.getresponse()
        body = json.loads(r.read())
        c.close()
        assert r.status == want, p
        assert body["resourceType"] == "OperationOutcome"
    # Apache itself refuses encoded slashes (AllowEncodedSlashes Off): never 200.
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path + "/Patient/pt-1%2F..%2Fpt-2", headers={"Authorization": "Bearer " + t})
    r = c.getresponse()
    r.read()
    c.close()
    assert r.status in (400, 404)


def test_prefixed_mount(web_prefixed, demo, keydir):
    f = Fhir(web_prefixed, Minter(demo, keydir, web_prefixed.fhir_base))
    t = f.mint.token("launch/patient patient/*.rs", user="alice", ctx={"patient": "pt-1"})
    assert f.get("Patient/pt-1", t).status_code == 200
    assert bundle_ids(f.get("Observation?_count=1", t))
    assert f.get("Patient/pt-2", t).status_code == 404
    uris = f.get("metadata").json()["rest"][0]["security"]["extension"][0]["extension"]
    assert {u["url"]: u["valueUri"] for u in uris}["token"] == web_prefixed.auth_base + "/token"


def test_smoke_every_web_server(web, demo, keydir):
    """Apache + mod_fcgid, Apache + mod_proxy_fcgi and lighttpd: token, read,
    search, compartment and metadata behave the same."""
    f = Fhir(web, Minter(demo, keydir, web.fhir_base))
    t = f.mint.token("launch/patient patient/*.rs", user="alice", ctx={"patient": "pt-1"})
    check_401(f.get("Patient/pt-1"))
    r = f.get("Patient/pt-1", t)
    assert r.status_code == 200 and r.json()["id"] == "pt-1"
    assert f.get("Patient/pt-2", t).status_code == 404
    assert bundle_ids(f.get("Observation?patient=pt-2", t)) == []
    r = f.req("POST", "Observation/_search", t, data="category=laboratory&_count=2",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert len(bundle_ids(r)) == 2
    assert f.get("metadata").json()["resourceType"] == "CapabilityStatement"


# ---------------------------------------------------------------- last: database down

def test_zz_database_down_503(fhir, demo):
    t = patient_token(fhir)
    assert fhir.get("Patient/pt-1", t).status_code == 200
    demo.stop()
    try:
        r = fhir.get("Patient/pt-1", t)
        assert r.status_code == 503
        assert int(r.headers["Retry-After"]) > 0
        assert outcome(r)["code"] == "transient"
    finally:
        demo.start()
    for _ in range(50):
        if fhir.get("Patient/pt-1", t).status_code == 200:
            break
        time.sleep(0.2)
    assert fhir.get("Patient/pt-1", t).status_code == 200
