"""Two nodes, one database: the scale-out layout of DESIGN.md section 8.

Two web servers (Apache + mod_fcgid and lighttpd, different ports) share
one PostgreSQL and one key directory and publish one FHIR base (node A's
address stands for the load balancer's).  Programs keep nothing between
requests that the other node would need, so a grant may hop between nodes
at every step: log in and consent on A, redeem the code on B, refresh on
A, introspect on B, revoke on A, and B's gateway refuses the token at once.

Also here, the rest of the production layout: the libpq connection string
with several hosts and target_session_attrs=read-write (a dead first host;
a failover to a promoted streaming-replication standby), and the rotation
of the signing key across nodes that each hold their own copy of key_dir.
"""
import glob
import json
import os
import shutil
import subprocess
import time

import jwt
import psycopg2
import pytest
import requests

from conftest import own, run
from faultkit import (TIMEOUT, Node, cluster, issue_codes, log_mark, log_tail, private_bindir,
                      program_pids, read_patient, redeem, refresh, register_app)
from smartflow import browser, start

APP = "two-node-app"
SECRET = "two-node-secret-4471"
REDIRECT = "https://two-node.example/cb"
SCOPE = "openid fhirUser launch/patient patient/*.rs offline_access"


@pytest.fixture(scope="module")
def nodes(rundir, demo, bindir, keydir):
    a = Node(rundir, "fcgid", demo, private_bindir(rundir, bindir, "node-a"), keydir, "node-a")
    try:
        b = Node(rundir, "lighttpd", demo, private_bindir(rundir, bindir, "node-b"), keydir,
                 "node-b", fhir_base=a.fhir_base)
    except Exception:
        a.stop()
        raise
    demo.exec("SELECT smart.put(%s::jsonb)", (json.dumps({
        "resourceType": "Client", "id": APP, "secret": SECRET,
        "grant_types": ["authorization_code", "refresh_token"],
        "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True,
                                        "secret_required": True}}}),))
    yield a, b
    b.stop()
    a.stop()


def token(node, data):
    return requests.post(node.auth_base + "/token", data=data, auth=(APP, SECRET),
                         allow_redirects=False, timeout=TIMEOUT)


def introspect(node, tok):
    r = requests.post(node.auth_base + "/introspect", data={"token": tok}, auth=(APP, SECRET),
                      timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def revoke(node, tok, hint=None):
    data = {"token": tok}
    if hint:
        data["token_type_hint"] = hint
    return requests.post(node.auth_base + "/revoke", data=data, auth=(APP, SECRET),
                         timeout=TIMEOUT)


def test_nodes_publish_the_same_keys_and_metadata(nodes):
    a, b = nodes
    ja = requests.get(a.auth_base + "/jwks", timeout=TIMEOUT).json()
    jb = requests.get(b.auth_base + "/jwks", timeout=TIMEOUT).json()
    assert ja == jb and ja["keys"]
    ca = requests.get(a.base + "/fhir/.well-known/smart-configuration", timeout=TIMEOUT).json()
    cb = requests.get(b.base + "/fhir/.well-known/smart-configuration", timeout=TIMEOUT).json()
    assert ca == cb
    assert ca["token_endpoint"] == a.fhir_base.rsplit("/fhir", 1)[0] + "/auth/token"
    for n in nodes:
        assert requests.get(n.auth_base + "/health", timeout=TIMEOUT).status_code == 200


def test_login_on_a_redeem_on_b_refresh_on_a_introspect_on_b_revoke_on_a(nodes):
    a, b = nodes
    # Log in and consent on node A.
    flow = start(a, APP, REDIRECT, SCOPE, username="alice", password="alice-password",
                 session=browser("127.0.0.71"), nonce="n-two-nodes")
    assert flow.kind == "redirect" and flow.code, flow
    assert flow.query["iss"] == a.fhir_base

    # Redeem the code on node B: same issuer, signed with the shared keys.
    r = token(b, {"grant_type": "authorization_code", "code": flow.code,
                  "redirect_uri": REDIRECT, "code_verifier": flow.verifier})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["patient"] == "pt-1"
    keys = {k["kid"]: k for k in
            requests.get(a.auth_base + "/jwks", timeout=TIMEOUT).json()["keys"]}
    idt = jwt.decode(first["id_token"], jwt.PyJWK(keys[jwt.get_unverified_header(
        first["id_token"])["kid"]]).key, algorithms=["RS256"], audience=APP, issuer=a.fhir_base)
    assert idt["nonce"] == "n-two-nodes"
    assert read_patient(a, first["access_token"]).status_code == 200
    assert read_patient(b, first["access_token"]).status_code == 200

    # Refresh on node A: rotation is seen by both.
    r = token(a, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]

    # Introspect on node B.
    info = introspect(b, second["access_token"])
    assert info["active"] is True, info
    assert info["client_id"] == APP and info["patient"] == "pt-1"
    assert info["iss"] == a.fhir_base and info["sub"] == "alice"
    assert introspect(b, second["refresh_token"])["active"] is True
    assert introspect(b, first["refresh_token"]) == {"active": False}   # rotated out

    # Revoke on node A; node B's gateway refuses at once, and introspection agrees.
    assert read_patient(b, second["access_token"]).status_code == 200
    r = revoke(a, second["refresh_token"], "refresh_token")
    assert r.status_code == 200, r.text
    for tok in (first["access_token"], second["access_token"]):
        g = read_patient(b, tok)
        assert g.status_code == 401, g.text
        assert g.json()["resourceType"] == "OperationOutcome"
        assert "invalid_token" in g.headers.get("WWW-Authenticate", "")
        assert introspect(b, tok) == {"active": False}
    r = token(b, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_access_token_revoked_on_one_node_is_refused_by_the_other_at_once(nodes, demo):
    a, b = nodes
    code = issue_codes(demo, 1, client_id=APP, redirect=REDIRECT)[0]
    r = token(a, {"grant_type": "authorization_code", "code": code.value,
                  "redirect_uri": REDIRECT, "code_verifier": code.verifier})
    assert r.status_code == 200, r.text
    at = r.json()["access_token"]
    assert read_patient(b, at).status_code == 200
    assert revoke(b, at, "access_token").status_code == 200
    assert read_patient(a, at).status_code == 401
    assert read_patient(b, at).status_code == 401


# ---- the production connection string -----------------------------------------

def test_multi_host_connection_string_skips_a_dead_first_host(rundir, demo, bindir, keydir):
    """host=A,B target_session_attrs=read-write with A down: libpq moves on to B."""
    params = dict(kv.split("=", 1) for kv in demo.conninfo.split())
    dead = os.path.join(rundir, "no-such-db-host")
    os.makedirs(dead, exist_ok=True)
    conninfo = (f"host={dead},{params['host']} port={params['port']},{params['port']} "
                f"dbname={params['dbname']} user={params['user']} "
                f"target_session_attrs=read-write connect_timeout=2")
    register_app(demo)
    node = Node(rundir, "fcgid", demo, private_bindir(rundir, bindir, "multihost"), keydir,
                "multihost", database=conninfo)
    try:
        assert requests.get(node.auth_base + "/health", timeout=TIMEOUT).status_code == 200
        code = issue_codes(demo, 1)[0]
        r = redeem(node, code)
        assert r.status_code == 200, r.text
        assert read_patient(node, r.json()["access_token"]).status_code == 200
    finally:
        node.stop()


class Standby:
    """A streaming-replication standby of pg (pg_basebackup -R), in rundir/name."""

    def __init__(self, pg, rundir, name):
        self.pgbin = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                            key=lambda p: int(p.split("/")[-2]))[-1]
        self.dir = os.path.join(rundir, name)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        os.makedirs(self.sock, exist_ok=True)
        os.chmod(self.dir, 0o755)
        os.chmod(self.sock, 0o755)
        own(self.dir)
        p = dict(kv.split("=", 1) for kv in pg.conninfo.split())
        self.port, self.user = p["port"], p["user"]
        self.conninfo = f"host={self.sock} port={self.port} dbname=smartauth user={self.user}"
        as_run_user(os.path.join(self.pgbin, "pg_basebackup"), "-D", self.data, "-R",
                    "-X", "stream", "-c", "fast", "-h", p["host"], "-p", self.port, "-U", self.user)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"unix_socket_directories = '{self.sock}'\nhot_standby = on\n")
        as_run_user(os.path.join(self.pgbin, "pg_ctl"), "-D", self.data, "-l",
                    os.path.join(self.dir, "postgres.log"), "-w", "-t", "30", "start")

    def query(self, sql):
        c = psycopg2.connect(self.conninfo)
        try:
            with c.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            c.close()

    def catch_up(self, pg, seconds=10):
        lsn = pg.query("SELECT pg_current_wal_lsn()::text")[0][0]
        wait_for(lambda: self.query(
            f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn")[0][0], seconds)

    def promote(self):
        as_run_user(os.path.join(self.pgbin, "pg_ctl"), "-D", self.data, "-w", "-t", "30",
                    "promote")

    def stop(self):
        as_run_user(os.path.join(self.pgbin, "pg_ctl"), "-D", self.data, "-w", "-t", "30",
                    "stop", "-m", "fast", check=False)


def as_run_user(*args, check=True):
    if os.geteuid() == 0:
        args = ("runuser", "-u", os.environ.get("SMARTAUTH_RUN_USER", "smartauth"), "--") + args
    return run(*args, check=check)


def wait_for(fn, seconds):
    t0 = time.monotonic()
    while not fn():
        assert time.monotonic() - t0 < seconds, f"not within {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - t0


def test_failover_to_a_promoted_standby_keeps_every_token(rundir, bindir, keydir):
    """Patroni's failover in miniature: the primary dies, the standby is
    promoted, and the programs, given both hosts with
    target_session_attrs=read-write, find the new primary by themselves."""
    primary = cluster(rundir, "ha-primary")
    standby = None
    node = None
    try:
        register_app(primary)
        standby = Standby(primary, rundir, "ha-standby")
        p = dict(kv.split("=", 1) for kv in primary.conninfo.split())
        conninfo = (f"host={p['host']},{standby.sock} port={p['port']},{standby.port} "
                    f"dbname=smartauth user={p['user']} target_session_attrs=read-write "
                    f"connect_timeout=2")
        node = Node(rundir, "fcgid", primary, private_bindir(rundir, bindir, "ha"), keydir, "ha",
                    database=conninfo)
        codes = issue_codes(primary, 3)
        grants = []
        for c in codes[:2]:
            r = redeem(node, c)
            assert r.status_code == 200, r.text
            grants.append(r.json())
        mark = log_mark(node)
        standby.catch_up(primary)
        pids_before = program_pids(node.bindir)

        primary.stop()
        # Only a read-only standby is left: libpq refuses it, clients get 503.
        r = refresh(node, grants[0]["refresh_token"])
        assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable", r.text
        assert int(r.headers["Retry-After"]) > 0
        assert read_patient(node, grants[0]["access_token"]).status_code == 503

        standby.promote()
        # Each program finds the new primary on its next connection attempt
        # (a failed attempt makes it answer 503 at once for 250 ms).
        took = wait_for(lambda: requests.get(node.auth_base + "/health",
                                             timeout=TIMEOUT).status_code == 200 and
                        read_patient(node, grants[0]["access_token"]).status_code == 200, 2.0)
        # Everything issued before the failover works on the new primary.
        for g in grants:
            assert read_patient(node, g["access_token"]).status_code == 200
            r = refresh(node, g["refresh_token"])
            assert r.status_code == 200, r.text
            assert read_patient(node, r.json()["access_token"]).status_code == 200
        r = redeem(node, codes[2])
        assert r.status_code == 200, r.text
        assert standby.query("SELECT pg_is_in_recovery()")[0][0] is False
        pids_after = program_pids(node.bindir)
        for prog, pids in pids_before.items():
            assert pids <= pids_after[prog], prog
        log = log_tail(node, mark)
        assert "read-only" in log or "hot standby" in log or "recovery" in log, log[-1500:]
        print(f"failover: health back {took:.2f} s after promote")
    finally:
        if node is not None:
            node.stop()
        if standby is not None:
            standby.stop()
        primary.stop()


# ---- key distribution and rotation across nodes ----------------------------------

def kid_of(token):
    return jwt.get_unverified_header(token)["kid"]


def jwks_kids(node):
    keys = requests.get(node.auth_base + "/jwks", timeout=TIMEOUT).json()["keys"]
    return {k["kid"] for k in keys}


def test_key_rotation_across_nodes_never_refuses_a_token(rundir, demo, bindir, keydir):
    """The rotation procedure of the production layout: publish the new key
    everywhere first (with an older mtime, so it does not sign yet), then
    make it the newest on every node, then retire the old one.  At every
    step each node accepts what any other node signs."""
    register_app(demo)
    dirs = []
    for name in ("rot-a", "rot-b"):
        d = os.path.join(rundir, "keys-" + name)
        shutil.copytree(keydir, d, dirs_exist_ok=True)   # same files, same mtimes
        own(d)
        dirs.append(d)
    a = Node(rundir, "fcgid", demo, private_bindir(rundir, bindir, "rot-a"), dirs[0], "rot-a")
    b = Node(rundir, "proxy-fcgi", demo, private_bindir(rundir, bindir, "rot-b"), dirs[1], "rot-b",
             fhir_base=a.fhir_base)
    nodes = (a, b)

    def token_from(node):
        r = redeem(node, issue_codes(demo, 1)[0])
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def restart(node):
        node.stop()
        node.start()

    def accepted_everywhere(tok):
        return all(read_patient(n, tok).status_code == 200 for n in nodes)
    try:
        old = token_from(a)
        old_kid = kid_of(old)
        before = jwks_kids(a)
        assert before == jwks_kids(b) and old_kid in before
        # 1. Publish: the new key on every node, older than the signing key.
        new_pem = os.path.join(rundir, "rotation-new.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", new_pem], check=True, capture_output=True)
        for d in dirs:
            dst = os.path.join(d, "rsa-rotation.pem")
            shutil.copyfile(new_pem, dst)
            os.chmod(dst, 0o600)
            os.utime(dst, (946684800, 946684800))       # 2000-01-01: not the newest
            own(d)
        for n in nodes:
            restart(n)
        published = jwks_kids(a)
        assert published == jwks_kids(b) and len(published - before) == 1
        for n in nodes:
            assert kid_of(token_from(n)) == old_kid     # still the old key signs
        # 2. Switch: newest on A only for now; B, which already holds the key,
        # accepts A's tokens, and A accepts B's (still the old key).
        os.utime(os.path.join(dirs[0], "rsa-rotation.pem"))
        restart(a)
        fresh = token_from(a)
        assert kid_of(fresh) != old_kid and kid_of(fresh) in published
        assert accepted_everywhere(fresh) and accepted_everywhere(token_from(b))
        assert accepted_everywhere(old)
        os.utime(os.path.join(dirs[1], "rsa-rotation.pem"))
        restart(b)
        assert kid_of(token_from(b)) == kid_of(fresh)
        # 3. Retire the old key (once its tokens have expired): gone from
        # every JWKS, and what it signed is refused everywhere.
        old_files = []
        for d in dirs:
            for f in os.listdir(d):
                if f.startswith("rsa-") and f != "rsa-rotation.pem":
                    old_files.append(f)
                    os.remove(os.path.join(d, f))
        assert old_files
        for n in nodes:
            restart(n)
        assert old_kid not in jwks_kids(a) and jwks_kids(a) == jwks_kids(b)
        for n in nodes:
            assert read_patient(n, old).status_code == 401
        assert accepted_everywhere(fresh)
    finally:
        for n in nodes:
            n.stop()
