"""FHIR gateway hot path: what the speed work must never change.

The gateway remembers tokens whose signature it verified (per process,
keyed by the token's SHA-256) and asks the database about the token's row,
the AccessPolicy version and, for a read, the resource in one round trip.
These tests use a token many times first, so that every FastCGI process
serving it has it cached, and then check that nothing cached hides a
revocation, an expiry, a deactivated client or user, a tampered copy or a
policy change, and that a resource fetched before the decision never
reaches a caller the decision refuses.

Real PostgreSQL with the demo data and Apache + mod_fcgid (`server`).
"""
import json
import time

import jwt
import pytest

from test_fhir_gateway import Fhir, Minter, check_401, check_403, outcome, patient_token, put

WARM = 25          # requests that put a token into the cache of the processes serving it
BEARER_SKEW = 30   # lib/bearer.h


@pytest.fixture(scope="module")
def fhir(server, demo, keydir):
    return Fhir(server, Minter(demo, keydir, server.fhir_base))


def warm(fhir, token, path="Patient/pt-1", status=200):
    for _ in range(WARM):
        r = fhir.get(path, token)
        assert r.status_code == status, r.text


def jti_of(token):
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def test_cached_token_revoked_refused_on_the_very_next_request(fhir, demo):
    t = patient_token(fhir)
    warm(fhir, t)
    demo.exec("UPDATE smart.access_tokens SET revoked_at = now() WHERE jti = %s", (jti_of(t),))
    for _ in range(WARM):
        r = fhir.get("Patient/pt-1", t)
        check_401(r)
        # The resource fetched with the token check never leaks into the refusal.
        assert "Alice" not in r.text and "pt-1" not in r.text


def test_cached_token_revoked_refused_for_every_interaction(fhir, demo):
    # Warmed through searches (no prefetched resource), refused for reads too.
    t = patient_token(fhir)
    warm(fhir, t, "Observation?patient=pt-1&_count=1")
    demo.exec("UPDATE smart.access_tokens SET revoked_at = now() WHERE jti = %s", (jti_of(t),))
    for p in ("Observation?patient=pt-1&_count=1", "Patient/pt-1", "Observation/lab-1-1-a1c"):
        check_401(fhir.get(p, t))


def test_cached_token_refused_once_its_exp_passed(fhir):
    # exp lies in the past but within the allowed skew: valid for about 4 more seconds.
    # The row lives on, so only the token's own exp can refuse it.
    lifetime = -(BEARER_SKEW - 4)
    t = patient_token(fhir, lifetime=lifetime, row_lifetime=3600)
    exp = jwt.decode(t, options={"verify_signature": False})["exp"]
    warm(fhir, t)
    time.sleep(max(0.0, exp + BEARER_SKEW + 1.5 - time.time()))
    for _ in range(WARM):
        r = fhir.get("Patient/pt-1", t)
        check_401(r)
        assert "expired" in r.headers["WWW-Authenticate"]


def test_cached_token_of_deactivated_client_refused(fhir, demo):
    put(demo, {"resourceType": "Client", "id": "hp-app", "grant_types": ["authorization_code"],
               "auth": {"authorization_code": {"redirect_uri": "https://hp.example/cb"}}})
    t = fhir.mint.token("launch/patient patient/*.rs", user="alice", client="hp-app",
                        ctx={"patient": "pt-1"})
    warm(fhir, t)
    demo.exec("UPDATE smart.clients SET active = false WHERE id = 'hp-app'")
    try:
        for _ in range(5):
            check_401(fhir.get("Patient/pt-1", t))
    finally:
        demo.exec("UPDATE smart.clients SET active = true WHERE id = 'hp-app'")
    assert fhir.get("Patient/pt-1", t).status_code == 200


def test_cached_token_of_deactivated_user_refused(fhir, demo):
    put(demo, [{"resourceType": "User", "id": "hp-user", "password": "hp-user-pw",
                "fhirUser": "Patient/pt-3"},
               {"resourceType": "Role", "id": "hp-user-patient", "name": "patient",
                "user": {"id": "hp-user", "resourceType": "User"},
                "links": {"patient": {"id": "pt-3"}}}])
    t = patient_token(fhir, user="hp-user", patient="pt-3")
    warm(fhir, t, "Patient/pt-3")
    demo.exec("UPDATE smart.users SET active = false WHERE id = 'hp-user'")
    for _ in range(5):
        check_401(fhir.get("Patient/pt-3", t))


def test_tampered_copies_of_a_cached_token_refused(fhir):
    t = patient_token(fhir)
    warm(fhir, t)
    head, payload, sig = t.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["patient"] = "pt-2"
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    for bad in (head + "." + forged_payload + "." + sig,     # other claims, cached signature
                head + "." + payload + "." + flipped,        # cached claims, other signature
                head + "." + payload + "." + sig + "x",      # longer
                head + "." + payload + "." + sig[:-4]):      # shorter
        check_401(fhir.get("Patient/pt-1", bad))
    assert fhir.get("Patient/pt-1", t).status_code == 200


def test_policy_change_seen_by_the_very_next_request(fhir, demo):
    t = fhir.mint.token("user/*.rs", user="dr-smith")
    warm(fhir, t, "Patient/pt-2")
    saved = demo.query("SELECT resource::text FROM smart.access_policies WHERE id = 'practitioner-all'")
    demo.exec("SELECT smart.delete('AccessPolicy', 'practitioner-all')")
    try:
        for _ in range(WARM):
            r = fhir.get("Patient/pt-2", t)
            check_403(r)
            assert "Bob" not in r.text
    finally:
        demo.exec("SELECT smart.put(%s::jsonb)", (saved[0][0],))
    r = fhir.get("Patient/pt-2", t)
    assert r.status_code == 200 and r.json()["id"] == "pt-2"


def test_prefetched_resource_outside_the_compartment_is_404(fhir):
    t = patient_token(fhir)
    warm(fhir, t)
    for p in ("Patient/pt-2", "Observation/lab-2-1-a1c"):
        r = fhir.get(p, t)
        assert r.status_code == 404, p
        assert outcome(r)["code"] == "not-found"
        assert "Bob" not in r.text


def test_prefetched_read_then_scope_constraint_applies(fhir):
    # A constrained scope reads through the filtered statement, not the prefetched row.
    t = patient_token(fhir, scope="launch/patient patient/Observation.rs?category=laboratory")
    warm(fhir, t, "Observation/lab-1-1-a1c")
    r = fhir.get("Observation/vs-1-1-bp", t)
    assert r.status_code == 404, r.text


def test_read_head_and_if_none_match_after_prefetch(fhir):
    t = patient_token(fhir)
    r = fhir.get("Patient/pt-1", t)
    assert r.status_code == 200
    etag = r.headers["ETag"]
    assert fhir.req("HEAD", "Patient/pt-1", t).status_code == 200
    assert fhir.get("Patient/pt-1", t, headers={"If-None-Match": etag}).status_code == 304
    assert fhir.get("Patient/no-such-patient", t).status_code == 404


def test_signed_but_unrecorded_token_refused_although_the_resource_exists(fhir):
    # One statement answers the token row and the resource: a token without a
    # row (NULL token columns) must be refused, whatever the resource columns say.
    t = patient_token(fhir, record=False)
    for p in ("Patient/pt-1", "Patient/no-such-patient", "Observation?patient=pt-1"):
        r = fhir.get(p, t)
        check_401(r)
        assert "Alice" not in r.text


def test_recorded_token_reading_a_missing_resource_gets_404_not_401(fhir, demo):
    # The other way round: NULL resource columns are "not found", never "no token".
    t = patient_token(fhir)
    warm(fhir, t)
    r = fhir.get("Patient/no-such-patient", t)
    assert r.status_code == 404 and outcome(r)["code"] == "not-found"
    # ... and a resource deleted since is gone (410) for the same token.
    put(demo, {"resourceType": "Observation", "id": "hp-gone", "status": "final",
               "code": {"text": "x"}, "subject": {"reference": "Patient/pt-1"}})
    assert fhir.get("Observation/hp-gone", t).status_code == 200
    demo.exec("SELECT smart.delete('Observation', 'hp-gone')")
    assert fhir.get("Observation/hp-gone", t).status_code == 410


def test_revocation_between_two_reads_of_one_token_and_resource(fhir, demo):
    # The same token and resource, read again and again: the answer may never
    # come from anything but the token row of that very request.
    t = patient_token(fhir)
    warm(fhir, t)
    jti = jti_of(t)
    for _ in range(5):
        demo.exec("UPDATE smart.access_tokens SET revoked_at = now() WHERE jti = %s", (jti,))
        check_401(fhir.get("Patient/pt-1", t))
        demo.exec("UPDATE smart.access_tokens SET revoked_at = NULL WHERE jti = %s", (jti,))
        assert fhir.get("Patient/pt-1", t).status_code == 200


DATE_RANGES = [
    # value, [lo, hi) in UTC as ISO text ("" = NULL, SQL infinities as such)
    ('"2020"', "2020-01-01T00:00:00+00:00", "2021-01-01T00:00:00+00:00"),
    ('"2020-02"', "2020-02-01T00:00:00+00:00", "2020-03-01T00:00:00+00:00"),
    ('"2021-02-29"', "2021-03-01T00:00:00+00:00", "2021-03-02T00:00:00+00:00"),   # rolls over
    ('"2020-12-31T23:59"', "2020-12-31T23:59:00+00:00", "2021-01-01T00:00:00+00:00"),
    ('"2020-12-31T23:59:59.123Z"', "2020-12-31T23:59:59+00:00", "2021-01-01T00:00:00+00:00"),
    ('"2020-06-01T10:00:00-05:30"', "2020-06-01T15:30:00+00:00", "2020-06-01T15:30:01+00:00"),
    ('"2020-06-01T10:00:00+14:00"', "2020-05-31T20:00:00+00:00", "2020-05-31T20:00:01+00:00"),
    ('"2020-06-01T10:00:00+15:00"', "", ""),
    ('"0000"', "", ""), ('"2020-13"', "", ""), ('"2020-01-01T25:00:00Z"', "", ""),
    ('{"start": "2020-01-01"}', "2020-01-01T00:00:00+00:00", "infinity"),
    ('{"end": "2020-01-01T10:00:00Z"}', "-infinity", "2020-01-01T10:00:01+00:00"),
    ('{}', "-infinity", "infinity"),
    ('{"start": "bad", "end": "2020"}', "", "2021-01-01T00:00:00+00:00"),
    ("1", "", ""), ("null", "", ""), ('["2020"]', "", ""), ("true", "", ""),
]


def test_search_date_range_function_follows_fhir_precision_and_zones(demo):
    # smart.fs_date_range (sql/007) replaced the inline date arithmetic of
    # lib/store: every precision, zone offsets, open Period ends, and NULLs
    # (never an error) for what is not a valid date.
    for value, lo, hi in DATE_RANGES:
        got = demo.query(
            "SELECT coalesce(to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'), ''),"
            " coalesce(to_char(hi AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'), ''),"
            " lo::text, hi::text FROM smart.fs_date_range(%s::jsonb)", (value,))
        glo, ghi, tlo, thi = got[0]
        glo = tlo if tlo in ("infinity", "-infinity") else glo
        ghi = thi if thi in ("infinity", "-infinity") else ghi
        assert (glo, ghi) == (lo, hi), value
    assert demo.query("SELECT count(*) FROM smart.fs_date_range(NULL)")[0][0] == 1


def test_zz_database_restart_first_request_reconnects(fhir, demo):
    t = patient_token(fhir)
    warm(fhir, t)
    demo.stop()
    try:
        r = fhir.get("Patient/pt-1", t)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    finally:
        demo.start()
    time.sleep(0.5)   # past lib/db's fail-fast window after a failed connect
    ok = 0
    for _ in range(WARM):
        r = fhir.get("Patient/pt-1", t)
        assert r.status_code in (200, 503), r.text
        ok += r.status_code == 200
    assert ok >= WARM - 2
    # The token is still checked against its row after the reconnect.
    demo.exec("UPDATE smart.access_tokens SET revoked_at = now() WHERE jti = %s", (jti_of(t),))
    check_401(fhir.get("Patient/pt-1", t))
