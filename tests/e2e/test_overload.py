"""Overload: more requests than FastCGI workers, under both shipped Apache
setups (mod_fcgid with the pool sizes of smartauth-fcgid.conf, and
mod_proxy_fcgi with a tiny fixed pool), and max_queue_wait_ms = 1000.

Every worker of a program is held busy deterministically: a transaction of
the test holds row locks (SELECT ... FOR UPDATE) on the rows the held
requests update (FHIR resources, or the tokens being revoked), so they wait
inside the program until it ends.  Requests sent meanwhile wait for a
worker (in the socket's listen queue, or in mod_fcgid's one-second retry
loop) for well over the bound, and must then be refused at once with 503,
Retry-After and the program's own error shape, without touching the
database: a refused write is not stored, a refused grant issues nothing,
every held write and revocation is committed, and afterwards everything is
answered again.  The receive-time stamp comes from Apache alone: a
client's forged stamp changes nothing.  Nothing here measures time: the
outcomes follow from which requests hold the workers.
"""
import base64
import contextlib
import json
import os
import re
import subprocess
import threading
import time
import uuid

import psycopg2
import pytest
import requests

from clientkit import backend_client, put
from conftest import BUILD, ROOT, Web

BOUND_MS = 1000          # max_queue_wait_ms of these servers
QUEUED_FOR = 2.5         # seconds the queued requests wait: well over the bound
TIMEOUT = 60
PROXY_POOL = {"fhir": 2, "token": 2}
CID, SECRET = "overload-backend", "overload-secret"
SCOPE = "system/*.cruds"
STAMP = "X-Smartauth-Received"
LOCK_OBS = ("SELECT 1 FROM smart.fhir_resources WHERE resource_type = 'Observation' "
            "AND id = ANY(%s) FOR UPDATE")
LOCK_TOKENS = "SELECT 1 FROM smart.access_tokens WHERE jti = ANY(%s) FOR UPDATE"


def fcgid_max_processes(program):
    """MaxProcesses of program in the shipped smartauth-fcgid.conf."""
    with open(os.path.join(ROOT, "apache-conf", "smartauth-fcgid.conf")) as f:
        text = f.read()
    m = re.search(r'FcgidCmdOptions "\$\{SMARTAUTH_LIBEXEC\}/%s" \\\n(?:.*\\\n)*?.*MaxProcesses (\d+)'
                  % re.escape(program), text)
    assert m, "no MaxProcesses for %s in smartauth-fcgid.conf" % program
    return int(m.group(1))


@pytest.fixture(scope="module", params=("fcgid", "proxy-fcgi"))
def site(request, rundir, demo, bindir, keydir):
    mode = request.param
    put(demo, [backend_client(CID, SECRET, SCOPE)])
    old = os.environ.get("SMARTAUTH_POOL_SIZE")
    os.environ["SMARTAUTH_POOL_SIZE"] = ",".join("%s=%d" % kv for kv in PROXY_POOL.items())
    try:
        w = Web(rundir, mode, demo, bindir, keydir, name="overload-" + mode,
                extra_conf="max_queue_wait_ms = %d\n" % BOUND_MS)
    finally:
        if old is None:
            del os.environ["SMARTAUTH_POOL_SIZE"]
        else:
            os.environ["SMARTAUTH_POOL_SIZE"] = old
    w.workers = (lambda p: fcgid_max_processes(p)) if mode == "fcgid" else PROXY_POOL.get
    w.pg = demo
    w.bindir = bindir
    yield w
    w.stop()


def basic():
    return "Basic " + base64.b64encode(("%s:%s" % (CID, SECRET)).encode()).decode()


def grant(site, headers=None):
    return requests.post(site.url("/auth/token"),
                         data={"grant_type": "client_credentials", "scope": SCOPE},
                         headers=dict({"Authorization": basic()}, **(headers or {})),
                         timeout=TIMEOUT)


def token(site):
    r = grant(site)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def observation(tag):
    return {"resourceType": "Observation", "status": "final",
            "code": {"text": "overload " + tag}, "subject": {"reference": "Patient/pt-1"},
            "identifier": [{"system": "urn:overload", "value": tag}]}


def post_obs(site, at, tag, headers=None):
    return requests.post(site.url("/fhir/Observation"), data=json.dumps(observation(tag)),
                         headers=dict({"Authorization": "Bearer " + at,
                                       "Content-Type": "application/fhir+json"}, **(headers or {})),
                         timeout=TIMEOUT)


def read_patient(site, at, headers=None):
    return requests.get(site.url("/fhir/Patient/pt-1"),
                        headers=dict({"Authorization": "Bearer " + at}, **(headers or {})),
                        timeout=TIMEOUT)


def stored(pg, tag_prefix):
    return pg.query("SELECT count(*) FROM smart.fhir_resources WHERE resource_type = 'Observation' "
                    "AND resource->'identifier'->0->>'value' LIKE %s", (tag_prefix + "%",))[0][0]


@contextlib.contextmanager
def rows_locked(pg, sql, params):
    """Holds the row locks of sql (a SELECT ... FOR UPDATE) until the block
    ends.  Row locks, not a table lock: a program process that mod_fcgid
    starts meanwhile prepares its statements without waiting."""
    conn = psycopg2.connect(pg.conninfo)
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        assert cur.rowcount == len(params[0]), "not every row to hold exists"
        yield
        conn.commit()
    finally:
        conn.close()


def wait_blocked(pg, program, n):
    """Waits until n requests of program wait for a row lock."""
    deadline = time.time() + TIMEOUT
    got = 0
    while time.time() < deadline:
        got = pg.query("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND datname = current_database() AND application_name = %s",
                       ("smartauth-" + program,))[0][0]
        if got >= n:
            return
        time.sleep(0.05)
    raise AssertionError("only %d of %d requests reached the held rows" % (got, n))


def warm_pool(site, program, lock_sql, keys, request):
    """Grows the program's pool to len(keys) processes.  mod_fcgid starts a
    process only for a request that finds every process busy (and that
    request first sleeps a second, then waits for the start, so it would
    wait longer than the bound): keep every process busy on a held row
    until enough have started.  A fixed pool is complete from the start.
    Only the count of this server's processes decides, never a timing."""
    if site.mode != "fcgid":
        return
    exe = os.path.join(site.bindir, program)
    with open(os.path.join(site.dir, "web-fcgid", "server.pid")) as f:
        apache = f.read().strip()

    def parent(pid):
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[1]

    def running():
        """This server's processes of the program (other servers of the
        session run the same files): mod_fcgid's process manager, a child
        of Apache, starts them."""
        n = 0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                n += os.readlink("/proc/%s/exe" % pid) == exe and parent(parent(pid)) == apache
            except OSError:
                pass
        return n
    n = len(keys)
    if running() >= n:
        return
    calls = Calls()
    with rows_locked(site.pg, lock_sql, (keys,)):
        # A request that waited past the bound is refused and frees its
        # process at once, so keep sending until the pool has grown.
        i, deadline = 0, time.time() + TIMEOUT
        while running() < n and time.time() < deadline:
            if i < 8 * n:
                calls.start(i, request, keys[i % n])
                i += 1
            time.sleep(0.1)
        got = running()
    calls.join()
    assert got >= n, "%s: %d of %d processes after warming up" % (program, got, n)


class Calls:
    """Requests run in threads; results (responses or exceptions) by name."""

    def __init__(self):
        self.threads, self.out = [], {}

    def start(self, name, fn, *args, **kw):
        def go():
            try:
                self.out[name] = fn(*args, **kw)
            except Exception as e:  # the test looks at it
                self.out[name] = e
        t = threading.Thread(target=go)
        t.start()
        self.threads.append(t)

    def join(self):
        for t in self.threads:
            t.join(TIMEOUT * 2)
        assert not any(t.is_alive() for t in self.threads), "a request never returned"
        return self.out


def check_shed_fhir(r):
    assert isinstance(r, requests.Response), r
    assert r.status_code == 503, (r.status_code, r.text[:300])
    assert r.headers.get("Retry-After", "").isdigit(), r.headers
    assert r.headers["Content-Type"].startswith("application/fhir+json")
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "transient"


def check_shed_oauth(r):
    assert isinstance(r, requests.Response), r
    assert r.status_code == 503, (r.status_code, r.text[:300])
    assert r.headers.get("Retry-After", "").isdigit(), r.headers
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"] == "temporarily_unavailable"
    assert r.headers.get("Cache-Control") == "no-store"


def test_forged_receive_stamp_has_no_effect_on_an_idle_server(site):
    at = token(site)
    # An ancient stamp would be refused at once if the program believed it.
    for h in ({STAMP: "t=1"}, {STAMP: "t=1", "X-Smartauth_Received": "t=1"}):
        r = read_patient(site, at, h)
        assert r.status_code == 200, r.text
        assert grant(site, h).status_code == 200


def put_obs(site, at, rid, tag):
    return requests.put(site.url("/fhir/Observation/" + rid),
                        data=json.dumps(dict(observation(tag), id=rid)),
                        headers={"Authorization": "Bearer " + at,
                                 "Content-Type": "application/fhir+json"},
                        timeout=TIMEOUT)


def jti(at):
    payload = at.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def test_fhir_requests_beyond_the_pool_get_fast_503_and_held_writes_commit(site):
    at = token(site)
    run = uuid.uuid4().hex[:8]
    held_n = site.workers("fhir")
    ids = ["%s-h%d" % (run, i) for i in range(held_n)]
    for rid in ids:
        assert put_obs(site, at, rid, rid + "-v1").status_code in (200, 201)
    warm_pool(site, "fhir", LOCK_OBS, ids, lambda rid: put_obs(site, at, rid, rid + "-v1"))
    calls = Calls()
    with rows_locked(site.pg, LOCK_OBS, (ids,)):
        # Each update waits for its row: every fhir worker is held.
        for rid in ids:
            calls.start(rid, put_obs, site, at, rid, rid + "-v2")
        wait_blocked(site.pg, "fhir", held_n)
        # These now wait for a worker.
        calls.start("read", read_patient, site, at)
        calls.start("write", post_obs, site, at, "%s-queued" % run)
        # A client's own stamp, far in the future, would make the wait
        # unknown and the request served if it reached the program.
        calls.start("forged", read_patient, site, at, {STAMP: "t=99999999999999999"})
        calls.start("forged_", read_patient, site, at, {"X-Smartauth_Received": "t=99999999999999999"})
        time.sleep(QUEUED_FOR)
    out = calls.join()
    for name in ("read", "write", "forged", "forged_"):
        check_shed_fhir(out[name])
    # Nothing committed is lost (every held update is stored), and the
    # refused write was never stored.
    for rid in ids:
        r = out[rid]
        assert isinstance(r, requests.Response) and r.status_code == 200, r
    got = site.pg.query("SELECT id, resource->'identifier'->0->>'value' FROM smart.fhir_resources "
                        "WHERE resource_type = 'Observation' AND id = ANY(%s)", (ids,))
    assert sorted(got) == sorted((rid, rid + "-v2") for rid in ids)
    assert stored(site.pg, run + "-queued") == 0
    # The load has ended: every request is answered again.
    for _ in range(10):
        assert read_patient(site, at).status_code == 200
    assert post_obs(site, at, "%s-after" % run).status_code == 201
    assert stored(site.pg, run + "-after") == 1
    assert "overload: refused" in site.error_log()


def revoke(site, at):
    return requests.post(site.url("/auth/revoke"), data={"token": at},
                         headers={"Authorization": basic()}, timeout=TIMEOUT)


def test_token_requests_beyond_the_pool_get_oauth_shaped_503(site):
    held_n = site.workers("token")
    spare = [token(site) for _ in range(held_n)]
    warm_pool(site, "token", LOCK_TOKENS, [jti(at) for at in spare],
              lambda j: revoke(site, spare[[jti(at) for at in spare].index(j)]))
    held = [token(site) for _ in range(held_n)]
    count = "SELECT count(*) FROM smart.access_tokens WHERE client_id = %s"
    before = site.pg.query(count, (CID,))[0][0]
    calls = Calls()
    with rows_locked(site.pg, LOCK_TOKENS, ([jti(at) for at in held],)):
        # Each revocation waits for its token's row: every token worker is held.
        for i, at in enumerate(held):
            calls.start("held%d" % i, revoke, site, at)
        wait_blocked(site.pg, "token", held_n)
        for i in range(3):
            calls.start("queued%d" % i, grant, site)
        calls.start("forged", grant, site, {STAMP: "t=99999999999999999"})
        time.sleep(QUEUED_FOR)
    out = calls.join()
    for name in ("queued0", "queued1", "queued2", "forged"):
        check_shed_oauth(out[name])
    # No refused grant issued a token; every held revocation took effect.
    assert site.pg.query(count, (CID,))[0][0] == before
    for i, at in enumerate(held):
        r = out["held%d" % i]
        assert isinstance(r, requests.Response) and r.status_code == 200, r
        assert read_patient(site, at).status_code == 401
    for _ in range(5):
        assert grant(site).status_code == 200


@pytest.mark.parametrize("site", ["proxy-fcgi"], indirect=True)
def test_pool_outage_gets_503_with_retry_after_and_no_lockout_after(site):
    """A connection the pool cannot take (its listen queue full, the pool
    being restarted) fails that request only: Apache's 503 carries
    Retry-After, and the next request after the pool is back is served
    (retry=0; Apache's default would refuse the program for 60 s)."""
    pool = os.path.join(ROOT, "scripts", "fcgi-pool")
    web = os.path.join(site.dir, "web-proxy-fcgi")
    sock = os.path.join(web, "sock")
    at = token(site)
    assert read_patient(site, at).status_code == 200
    subprocess.run([pool, "stop", sock], check=True, capture_output=True, timeout=TIMEOUT)
    try:
        r = read_patient(site, at)
        assert r.status_code == 503
        assert r.headers.get("Retry-After", "").isdigit(), r.headers
    finally:
        env = dict(os.environ, SMARTAUTH_WEB_RUN=web, SMARTAUTH_POOL_LOG=os.path.join(web, "error.log"),
                   SMARTAUTH_POOL_SIZE=",".join("%s=%d" % kv for kv in PROXY_POOL.items()))
        subprocess.run([pool, "start", sock, site.bindir, site.conf, env["SMARTAUTH_POOL_SIZE"]],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL, env=env,
                       timeout=TIMEOUT)
    for _ in range(5):
        assert read_patient(site, at).status_code == 200
    assert grant(site).status_code == 200


SHAPES = [  # program, method, path, content type, what the body holds
    ("token", "POST", "/auth/token", "application/json", b'"error":"temporarily_unavailable"'),
    ("fhir", "GET", "/fhir/Patient/pt-1", "application/fhir+json", b'"code":"transient"'),
    ("authorize", "GET", "/auth/authorize", "text/html", b"Temporarily unavailable"),
    ("launch-uri", "POST", "/rpc", "application/json", b'{"error":{"message":'),
]


def cgi(program, method, path, stamp, pg, keydir):
    """Runs a program as plain CGI (the same request loop as under FastCGI)."""
    env = {"PATH": "/usr/bin:/bin", "SMARTAUTH_DATABASE": pg.conninfo, "SMARTAUTH_KEY_DIR": keydir,
           "SMARTAUTH_MAX_QUEUE_WAIT_MS": "1000", "REQUEST_METHOD": method, "REQUEST_URI": path,
           "SCRIPT_NAME": path, "CONTENT_LENGTH": "0", "REMOTE_ADDR": "127.0.0.1",
           "HTTP_X_SMARTAUTH_RECEIVED": stamp}
    r = subprocess.run([os.path.join(BUILD, "cgi-bin", program)], env=env, capture_output=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    return head.decode(), body


@pytest.mark.parametrize("program,method,path,ctype,has", SHAPES, ids=[s[0] for s in SHAPES])
def test_each_program_refuses_a_stale_request_in_its_own_shape(program, method, path, ctype, has,
                                                               pg, keydir):
    head, body = cgi(program, method, path, "t=1", pg, keydir)
    assert head.startswith("Status: 503"), head
    assert "\r\nRetry-After: 2\r\n" in head + "\r\n"
    assert "\r\nContent-Type: " + ctype in head
    assert has in body
    # A fresh stamp is served as usual (whatever the answer, not a refusal).
    head, _ = cgi(program, method, path, "t=%d" % int(time.time() * 1e6), pg, keydir)
    assert not head.startswith("Status: 503"), head


def test_discovery_and_health_are_never_refused(pg, keydir):
    for path in ("/auth/health", "/auth/jwks", "/fhir/.well-known/smart-configuration"):
        head, _ = cgi("discovery", "GET", path, "t=1", pg, keydir)
        assert head.startswith("Status: 200"), (path, head)
