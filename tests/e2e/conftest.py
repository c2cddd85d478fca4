"""End-to-end harness: real PostgreSQL, real web servers, all on loopback.

Everything is started by the tests themselves in a private temporary
directory (kept under tests/out/ when a test fails, for the logs).

Fixtures
  pg      session: a private PostgreSQL cluster with every migration in sql/
          applied.  Attributes: conninfo, dir; methods query(sql, params)
          -> list of tuples, exec(sql, params), psql(args...) -> CompletedProcess.
"""
import os
import shutil
import subprocess
import tempfile

import psycopg2
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPTS = os.path.join(ROOT, "scripts")
BUILD = os.environ.get("SMARTAUTH_BUILDDIR", ROOT)


def run(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


class Pg:
    def __init__(self, base):
        self.dir = os.path.join(base, "pg")
        self.port = str(56000 + os.getpid() % 4000)
        run(os.path.join(SCRIPTS, "pgctl"), "init", self.dir, self.port)
        self.start()
        self.conninfo = run(os.path.join(SCRIPTS, "pgctl"), "conninfo", self.dir).stdout.strip()
        r = run(os.path.join(SCRIPTS, "migrate"), self.conninfo, check=False)
        if r.returncode != 0:
            raise RuntimeError("migrations failed:\n" + r.stdout + r.stderr)

    def start(self):
        run(os.path.join(SCRIPTS, "pgctl"), "start", self.dir)

    def stop(self):
        run(os.path.join(SCRIPTS, "pgctl"), "stop", self.dir)

    def connect(self):
        c = psycopg2.connect(self.conninfo)
        c.autocommit = True
        return c

    def query(self, sql, params=None):
        with self.connect() as c, c.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def exec(self, sql, params=None):
        c = self.connect()
        try:
            with c.cursor() as cur:
                cur.execute(sql, params)
        finally:
            c.close()

    def psql(self, *args, check=False, input=None):
        return subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", self.conninfo, *args],
                              capture_output=True, text=True, check=check, input=input)


@pytest.fixture(scope="session")
def rundir():
    d = tempfile.mkdtemp(prefix="smartauth-e2e-")
    os.chmod(d, 0o755)
    yield d
    if os.environ.get("SMARTAUTH_KEEP_RUN"):
        return
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def pg(rundir):
    p = Pg(rundir)
    yield p
    p.stop()


PROGRAMS = ("discovery", "authorize", "token", "launch-uri", "fhir")
WEB_MODES = ("fcgid", "proxy-fcgi", "lighttpd")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def own(path):
    """Gives path to the unprivileged run user when we are root (see scripts/runas.sh)."""
    if os.geteuid() == 0:
        run("chown", "-R", os.environ.get("SMARTAUTH_RUN_USER", "smartauth") + ":", path)


@pytest.fixture(scope="session")
def bindir(rundir):
    """The five programs, copied where the run user can read them."""
    d = os.path.join(rundir, "bin")
    os.makedirs(d, exist_ok=True)
    for p in PROGRAMS:
        src = os.path.join(BUILD, "cgi-bin", p)
        if not os.path.exists(src):
            raise RuntimeError(f"{src} is not built: run make first")
        shutil.copy2(src, os.path.join(d, p))
    return d


@pytest.fixture(scope="session")
def keydir(rundir):
    d = os.path.join(rundir, "keys")
    run(os.path.join(SCRIPTS, "keygen"), d)
    own(d)
    return d


class Web:
    """A real web server (Apache or lighttpd) serving the programs on 127.0.0.1."""

    def __init__(self, rundir, mode, pg, bindir, keydir, prefix="", extra_conf="", name=None):
        self.mode = mode
        self.prefix = prefix
        self.port = free_port()
        self.dir = os.path.join(rundir, "web-" + (name or mode + prefix.replace("/", "-")))
        os.makedirs(self.dir, exist_ok=True)
        self.base = f"http://127.0.0.1:{self.port}{prefix}"
        self.fhir_base = self.base + "/fhir"
        self.auth_base = self.base + "/auth"
        self.conf = os.path.join(self.dir, "smartauth.conf")
        with open(self.conf, "w") as f:
            f.write(f"fhir_base = {self.fhir_base}\n"
                    f"database = {pg.conninfo}\n"
                    f"key_dir = {keydir}\n" + extra_conf)
        os.chmod(self.conf, 0o644)
        own(self.dir)
        r = run(os.path.join(SCRIPTS, "webctl"), "start", mode, self.dir, str(self.port),
                bindir, self.conf, prefix, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"webctl start {mode} failed:\n{r.stdout}{r.stderr}")

    def url(self, path):
        return self.base + path

    def stop(self):
        run(os.path.join(SCRIPTS, "webctl"), "stop", self.mode, self.dir, check=False)

    def error_log(self):
        text = ""
        for root, _dirs, files in os.walk(self.dir):
            for name in files:
                if name.endswith(".log"):
                    with open(os.path.join(root, name), errors="replace") as f:
                        text += f.read()
        return text


@pytest.fixture(scope="session", params=WEB_MODES)
def web(request, rundir, pg, bindir, keydir):
    """Each test using it runs once per shipped web-server setup."""
    w = Web(rundir, request.param, pg, bindir, keydir)
    yield w
    w.stop()


@pytest.fixture(scope="session")
def web_prefixed(rundir, pg, bindir, keydir):
    """Apache + mod_fcgid with the suite mounted under /smart (shared-server layout)."""
    w = Web(rundir, "fcgid", pg, bindir, keydir, prefix="/smart")
    yield w
    w.stop()


@pytest.fixture(scope="session")
def demo(pg):
    """The demo data set (sql/demo.sql) loaded into the session's database."""
    r = run(os.path.join(SCRIPTS, "migrate"), "--demo", pg.conninfo, check=False)
    if r.returncode != 0:
        raise RuntimeError("demo data failed:\n" + r.stdout + r.stderr)
    return pg


@pytest.fixture(scope="session")
def server(rundir, demo, bindir, keydir):
    """Apache + mod_fcgid (the default setup) with the demo data: for flow tests
    that need one server; tests that must hold for every setup use `web`."""
    w = Web(rundir, "fcgid", demo, bindir, keydir, name="server")
    yield w
    w.stop()
