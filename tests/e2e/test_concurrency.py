"""Concurrency: many requests racing for one code, one refresh token, or one
client definition, through every shipped web-server setup.

The designed outcomes (lib/grant.c): a code or refresh token is consumed by
one atomic UPDATE, so of parallel requests exactly one wins; every other one
presents a used code or token, which is reuse (RFC 9700 4.2.4 and 4.14.2),
so the whole family is revoked, the winner's tokens included, and a resource
server sees the revocation at once.  smart.put of one resource from many
sessions leaves exactly one row holding one writer's version whole.
"""
import json
import threading

import jwt
import psycopg2
import pytest
import requests

from faultkit import (APP, REDIRECT, TIMEOUT, issue_codes, read_patient, redeem, refresh,
                      register_app)

N = 16


@pytest.fixture(scope="module")
def app(demo):
    register_app(demo)
    return demo


def race(n, fn):
    """Runs fn(i) in n threads released together; returns the results in order."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def go(i):
        barrier.wait(TIMEOUT)
        try:
            out[i] = fn(i)
        except Exception as e:  # the test looks at it
            out[i] = e
    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    assert not any(t.is_alive() for t in threads), "a racing request never returned"
    return out


def split(results):
    """(the one 200 response, the others), asserting exactly one success and
    that every other answer is an RFC 6749 invalid_grant."""
    assert all(isinstance(r, requests.Response) for r in results), results
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 1, sorted(r.status_code for r in results)
    rest = [r for r in results if r.status_code != 200]
    for r in rest:
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_grant"
        assert r.headers["Cache-Control"] == "no-store"
    return ok[0], rest


def family_state(pg, family_id):
    return pg.query("""SELECT
        (SELECT count(*) FROM smart.access_tokens WHERE family_id = %(f)s),
        (SELECT count(*) FROM smart.access_tokens WHERE family_id = %(f)s AND revoked_at IS NULL),
        (SELECT count(*) FROM smart.refresh_tokens WHERE family_id = %(f)s),
        (SELECT count(*) FROM smart.refresh_tokens WHERE family_id = %(f)s AND revoked_at IS NULL)
        """, {"f": family_id})[0]


def test_sixteen_parallel_redemptions_of_one_code_issue_once_then_revoke(web, app):
    code = issue_codes(app, 1)[0]
    winner, losers = split(race(N, lambda i: redeem(web, code)))
    assert len(losers) == N - 1
    body = winner.json()
    # The losers presented a used code: the code-replay rule revokes what the
    # winner got, and the gateway refuses it at once.
    assert family_state(app, code.family_id) == (1, 0, 1, 0)
    r = read_patient(web, body["access_token"])
    assert r.status_code == 401, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert refresh(web, body["refresh_token"]).json()["error"] == "invalid_grant"
    reuse = app.query("SELECT count(*) FROM smart.audit_events WHERE event = 'code_reuse' "
                      "AND client_id = %s AND detail->>'family_id' = %s", (APP, code.family_id))
    assert reuse[0][0] >= 1


def test_parallel_refreshes_of_one_token_issue_once_and_revoke_the_family(web, app):
    code = issue_codes(app, 1)[0]
    first = redeem(web, code)
    assert first.status_code == 200, first.text
    first = first.json()
    assert read_patient(web, first["access_token"]).status_code == 200
    winner, losers = split(race(N, lambda i: refresh(web, first["refresh_token"])))
    assert len(losers) == N - 1
    body = winner.json()
    assert body["refresh_token"] != first["refresh_token"]
    # Reuse detection: the family is dead, the winner's new tokens included.
    assert family_state(app, code.family_id) == (2, 0, 2, 0)
    for token in (first["access_token"], body["access_token"]):
        assert read_patient(web, token).status_code == 401
    assert refresh(web, body["refresh_token"]).json()["error"] == "invalid_grant"
    reuse = app.query("SELECT count(*) FROM smart.audit_events WHERE event = 'refresh_reuse' "
                      "AND client_id = %s AND detail->>'family_id' = %s", (APP, code.family_id))
    assert reuse[0][0] >= 1


def test_parallel_redemptions_of_distinct_codes_all_succeed(web, app):
    """The single-use rule must not serialise or refuse unrelated grants."""
    codes = issue_codes(app, N)
    results = race(N, lambda i: redeem(web, codes[i]))
    assert [r.status_code for r in results] == [200] * N, \
        [r.text for r in results if r.status_code != 200]
    jtis = {jwt.decode(r.json()["access_token"], options={"verify_signature": False})["jti"]
            for r in results}
    assert len(jtis) == N
    for r in results:
        assert read_patient(web, r.json()["access_token"]).status_code == 200


RACE_CLIENT = "race-client"


def race_version(i):
    return {"resourceType": "Client", "id": RACE_CLIENT, "secret": f"race-secret-{i:02d}",
            "grant_types": ["authorization_code", "refresh_token"],
            "auth": {"authorization_code": {
                "redirect_uri": [REDIRECT, f"https://race.example/{i:02d}/cb"],
                "refresh_token": True, "secret_required": True,
                "access_token_expiration": 1000 + i}},
            "smart": {"launch_uri": f"https://race.example/{i:02d}/launch"}}


def test_parallel_put_of_one_client_leaves_one_whole_version(server, demo):
    for round_ in range(2):
        if round_ == 0:
            demo.exec("SELECT smart.delete('Client', %s)", (RACE_CLIENT,))

        def put(i):
            c = psycopg2.connect(demo.conninfo)
            c.autocommit = True
            try:
                with c.cursor() as cur:
                    cur.execute("SELECT smart.put(%s::jsonb)", (json.dumps(race_version(i)),))
                return "ok"
            except psycopg2.Error as e:
                return e
            finally:
                c.close()
        results = race(N, put)
        ok = [i for i, r in enumerate(results) if r == "ok"]
        errors = [r for r in results if r != "ok"]
        # A writer that loses may get a clean SQL error (a serialisation or
        # unique violation); nothing else.
        assert all(isinstance(e, psycopg2.Error) and e.pgcode in ("40001", "40P01", "23505")
                   for e in errors), [(getattr(e, "pgcode", None), str(e)) for e in errors]
        assert ok, errors
        assert demo.query("SELECT count(*) FROM smart.clients WHERE id = %s",
                          (RACE_CLIENT,)) == [(1,)]
        stored = demo.query("SELECT smart.get('Client', %s)", (RACE_CLIENT,))[0][0]
        w = stored["auth"]["authorization_code"]["access_token_expiration"] - 1000
        assert w in ok
        expected = {k: v for k, v in race_version(w).items() if k != "secret"}
        assert stored == expected, (stored, expected)
        # The secret is the same writer's too.
        h = demo.query("SELECT secret_hash FROM smart.clients WHERE id = %s", (RACE_CLIENT,))[0][0]
        verified = [i for i in range(N) if demo.query(
            "SELECT smart.secret_verify(%s, %s)", (h, f"race-secret-{i:02d}"))[0][0]]
        assert verified == [w]

    # And the server uses that version: the winner's secret authenticates.
    code = issue_codes(demo, 2, client_id=RACE_CLIENT)
    mine = f"race-secret-{w:02d}"
    r = requests.post(server.auth_base + "/token", auth=(RACE_CLIENT, mine), data={
        "grant_type": "authorization_code", "code": code[0].value, "redirect_uri": REDIRECT,
        "code_verifier": code[0].verifier}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == 1000 + w
    other = f"race-secret-{(w + 1) % N:02d}"
    r = requests.post(server.auth_base + "/token", auth=(RACE_CLIENT, other), data={
        "grant_type": "authorization_code", "code": code[1].value, "redirect_uri": REDIRECT,
        "code_verifier": code[1].verifier}, timeout=TIMEOUT)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


CONF_APP, CONF_SECRET = "race-conf-app", "race-conf-secret-8812"


def test_parallel_revocations_and_replays_of_one_family_never_deadlock(web, app):
    """/auth/revoke of a family racing with replays of its rotated-out
    refresh token: both revoke the same rows, and must queue, not deadlock
    (a deadlock was answered 500)."""
    app.exec("SELECT smart.put(%s::jsonb)", (json.dumps({
        "resourceType": "Client", "id": CONF_APP, "secret": CONF_SECRET,
        "grant_types": ["authorization_code", "refresh_token"],
        "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True,
                                        "secret_required": True}}}),))

    def post(path, data):
        return requests.post(web.auth_base + path, data=data, auth=(CONF_APP, CONF_SECRET),
                             timeout=TIMEOUT)
    for _ in range(5):
        code = issue_codes(app, 1, client_id=CONF_APP)[0]
        first = post("/token", {"grant_type": "authorization_code", "code": code.value,
                                "redirect_uri": REDIRECT, "code_verifier": code.verifier}).json()
        second = post("/token", {"grant_type": "refresh_token",
                                 "refresh_token": first["refresh_token"]}).json()
        results = race(N, lambda i: post("/revoke", {"token": second["refresh_token"]}) if i % 2
                       else post("/token", {"grant_type": "refresh_token",
                                            "refresh_token": first["refresh_token"]}))
        assert all(isinstance(r, requests.Response) for r in results), results
        for i, r in enumerate(results):
            if i % 2:
                assert r.status_code == 200, r.text
            else:
                assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
        assert family_state(app, code.family_id) == (2, 0, 2, 0)
        assert read_patient(web, second["access_token"]).status_code == 401
