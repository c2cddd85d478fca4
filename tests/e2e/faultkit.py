"""faultkit: what the fault, concurrency and scale-out tests share.

    cluster(rundir, name)      a PostgreSQL cluster of its own (migrations and
                               demo data applied), for tests that stop it,
                               make it read-only or make it refuse connections
                               without disturbing the session's shared one
    private_bindir(rundir, bindir, n)  a copy of the five programs in a directory of
                               its own, so program_pids() finds exactly the
                               processes of one web server
    Node(...)                  a web server like conftest.Web, with an optional
                               fhir_base and database string of our choosing
                               (several nodes behind one public address)
    program_pids(bindir)       {program: set of pids} of the running copies
    log_mark(node), log_tail(node, mark)   what the programs logged since
    Load                       bounded request loops in threads, every request
                               with a timeout, every answer recorded
    register_app(pg)           the public test client APP with refresh tokens
    issue_code(pg, fhir_base)  an authorization code row, made the way
                               authorize makes them (see test_token.py)

Everything listens on 127.0.0.1 only; every loop ends by a deadline.
"""
import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import threading
import time
import uuid

import requests

from conftest import PROGRAMS, SCRIPTS, Pg, Web, free_port, own, run

APP = "fault-app"
REDIRECT = "https://fault.example/cb"
SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs"
TIMEOUT = 15            # seconds: a request without an answer by then is a hang


def cluster(rundir, name):
    """A private PostgreSQL cluster under rundir/name with sql/ and demo data."""
    pg = Pg(os.path.join(rundir, name))
    r = run(os.path.join(SCRIPTS, "migrate"), "--demo", pg.conninfo, check=False)
    if r.returncode != 0:
        pg.stop()
        raise RuntimeError("demo data failed:\n" + r.stdout + r.stderr)
    return pg


def private_bindir(rundir, bindir, name):
    """A copy of the session's programs (bindir) in a directory of its own."""
    d = os.path.join(rundir, "bin-" + name)
    os.makedirs(d, exist_ok=True)
    for p in PROGRAMS:
        shutil.copy2(os.path.join(bindir, p), os.path.join(d, p))
    own(d)
    return d


class Node(Web):
    """conftest.Web with the public FHIR base and the database string given.

    Several nodes with the same fhir_base are what a load balancer fronts:
    tokens carry that base as iss and aud, whichever node issued them.
    """

    def __init__(self, rundir, mode, pg, bindir, keydir, name, fhir_base=None,
                 database=None, extra_conf=""):
        self.mode = mode
        self.prefix = ""
        self.port = free_port()
        self.dir = os.path.join(rundir, "web-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.base = f"http://127.0.0.1:{self.port}"
        self.fhir_base = fhir_base or self.base + "/fhir"
        self.auth_base = self.base + "/auth"
        self.bindir = bindir
        self.conf = os.path.join(self.dir, "smartauth.conf")
        with open(self.conf, "w") as f:
            f.write(f"fhir_base = {self.fhir_base}\n"
                    f"database = {database or pg.conninfo}\n"
                    f"key_dir = {keydir}\n" + extra_conf)
        os.chmod(self.conf, 0o644)
        own(self.dir)
        self.start()

    def start(self):
        r = run(os.path.join(SCRIPTS, "webctl"), "start", self.mode, self.dir, str(self.port),
                self.bindir, self.conf, "", check=False)
        if r.returncode != 0:
            raise RuntimeError(f"webctl start {self.mode} failed:\n{r.stdout}{r.stderr}")

    def fhir(self, path):
        """URL of a FHIR path on this node (its own address, whatever fhir_base says)."""
        return self.base + "/fhir" + path


def program_pids(bindir):
    """{program: set(pid)} of live processes running the copies in bindir."""
    out = {p: set() for p in PROGRAMS}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0", 1)[0].decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state in ("Z", "X"):
            continue
        for p in PROGRAMS:
            if argv0 == os.path.join(bindir, p):
                out[p].add(int(pid))
    return out


def kill9(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def log_mark(node):
    """Sizes of the node's error logs (web server's, and the pool's in proxy-fcgi)."""
    marks = {}
    for root, _dirs, files in os.walk(node.dir):
        for name in files:
            if name in ("error.log", "pool.log"):
                marks[os.path.join(root, name)] = os.path.getsize(os.path.join(root, name))
    return marks


def log_tail(node, mark):
    """What the programs logged since log_mark()."""
    text = ""
    for path in log_mark(node):
        with open(path, errors="replace") as f:
            f.seek(mark.get(path, 0))
            text += f.read()
    return text


# ---- clients, codes, tokens -------------------------------------------------

def register_app(pg, client_id=APP):
    pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps({
        "resourceType": "Client", "id": client_id,
        "grant_types": ["authorization_code", "refresh_token"],
        "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True,
                                        "secret_required": False,
                                        "access_token_expiration": 3600}}}),))


def b64u(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sha256_hex(s):
    return hashlib.sha256(s.encode()).hexdigest()


class Code:
    def __init__(self, value, verifier, family_id):
        self.value = value
        self.verifier = verifier
        self.family_id = family_id


def issue_codes(pg, n, client_id=APP, lifetime=60, user="alice", patient="pt-1",
                redirect=REDIRECT):
    """n authorization code rows for alice and pt-1, as authorize writes them."""
    codes = []
    rows = []
    for _ in range(n):
        value = b64u(secrets.token_bytes(32))
        verifier = b64u(secrets.token_bytes(48))
        challenge = b64u(hashlib.sha256(verifier.encode()).digest())
        family = str(uuid.uuid4())
        codes.append(Code(value, verifier, family))
        rows.append((sha256_hex(value), family, client_id, user, redirect, SCOPE,
                     json.dumps({"patient": patient, "fhirUser": "Patient/" + patient}),
                     challenge, lifetime))
    c = pg.connect()
    try:
        with c.cursor() as cur:
            cur.executemany("""INSERT INTO smart.authorization_codes
                (code_hash, family_id, client_id, user_id, redirect_uri, scope, launch_context,
                 code_challenge, code_challenge_method, auth_time, expires_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, 'S256', now(),
                        now() + make_interval(secs => %s))""", rows)
    finally:
        c.close()
    return codes


def redeem(node, code, client_id=APP, timeout=TIMEOUT):
    return requests.post(node.auth_base + "/token", data={
        "grant_type": "authorization_code", "code": code.value, "redirect_uri": REDIRECT,
        "client_id": client_id, "code_verifier": code.verifier},
        allow_redirects=False, timeout=timeout)


def refresh(node, token, client_id=APP, timeout=TIMEOUT):
    return requests.post(node.auth_base + "/token", data={
        "grant_type": "refresh_token", "refresh_token": token, "client_id": client_id},
        allow_redirects=False, timeout=timeout)


def read_patient(node, access_token, patient="pt-1", timeout=TIMEOUT):
    return requests.get(node.base + "/fhir/Patient/" + patient,
                        headers={"Authorization": "Bearer " + access_token},
                        allow_redirects=False, timeout=timeout)


def authorize_page(node, session=None, timeout=TIMEOUT):
    """GET of the authorization endpoint for APP: the login page when all is well."""
    v = b64u(secrets.token_bytes(32))
    params = {"response_type": "code", "client_id": APP, "redirect_uri": REDIRECT,
              "scope": SCOPE, "state": secrets.token_urlsafe(8), "aud": node.fhir_base,
              "code_challenge": b64u(hashlib.sha256(v.encode()).digest()),
              "code_challenge_method": "S256"}
    return (session or requests).get(node.auth_base + "/authorize", params=params,
                                      allow_redirects=False, timeout=timeout)


# ---- load --------------------------------------------------------------------

class Sample:
    __slots__ = ("kind", "t0", "t1", "status", "headers", "body", "error")

    def __init__(self, kind, t0, t1, status=None, headers=None, body="", error=None):
        self.kind, self.t0, self.t1 = kind, t0, t1
        self.status, self.headers, self.body, self.error = status, headers or {}, body, error

    @property
    def latency(self):
        return self.t1 - self.t0

    def __repr__(self):
        return (f"<{self.kind} {self.status or self.error} at {self.t0:.2f}s "
                f"took {self.latency:.3f}s {self.body[:120]!r}>")


class Load:
    """Bounded request loops in threads.

    add(kind, step, workers=n) starts n threads calling step(load, kind) until
    stop() or the deadline; step does one request through load.call(kind, fn)
    (which times and records it) and keeps its own state.  Times are seconds
    since the Load was made (load.now()).
    """

    def __init__(self, deadline=120, pause=0.01):
        self.epoch = time.monotonic()
        self.deadline = deadline
        self.pause = pause
        self.samples = []
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.threads = []
        self.failures = []          # exceptions raised by steps

    def now(self):
        return time.monotonic() - self.epoch

    def call(self, kind, fn):
        t0 = self.now()
        try:
            r = fn()
        except requests.RequestException as e:
            s = Sample(kind, t0, self.now(), error=type(e).__name__)
            with self.lock:
                self.samples.append(s)
            return None
        s = Sample(kind, t0, self.now(), r.status_code, dict(r.headers), r.text)
        with self.lock:
            self.samples.append(s)
        return r

    def add(self, kind, step, workers=1):
        def loop():
            while not self.halt.is_set() and self.now() < self.deadline:
                try:
                    if step(self, kind) is False:
                        return
                except Exception as e:  # recorded, shown by the test
                    with self.lock:
                        self.failures.append(f"{kind}: {type(e).__name__}: {e}")
                    return
                time.sleep(self.pause)
        for _ in range(workers):
            t = threading.Thread(target=loop, daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join(TIMEOUT + 5)
        assert not any(t.is_alive() for t in self.threads), "a load thread did not finish"

    def of(self, kind, t_from=None, t_to=None):
        """Samples of kind that started within [t_from, t_to)."""
        return [s for s in self.samples if s.kind == kind
                and (t_from is None or s.t0 >= t_from) and (t_to is None or s.t0 < t_to)]
