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
