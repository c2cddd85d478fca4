"""Relying parties we did not write, against a private smartauth.

smartauth itself starts exactly as in the end-to-end suite (the fixtures pg,
demo, server, keydir, bindir and rundir come from tests/e2e/conftest.py).
Next to it this harness runs:

  openidc     a second, private Apache httpd on another loopback port whose
              virtual host includes apache-conf/smartauth-openidc-example.conf
              unchanged: mod_auth_openidc protects /protected/ (any user) and
              /staff/ (practitioners only) with smartauth as the OpenID
              Provider, configured from smartauth's discovery document.  The
              pages are server-side includes that print what mod_auth_openidc
              hands the application (OIDC_CLAIM_sub, OIDC_CLAIM_fhirUser,
              REMOTE_USER, and the OIDC_CLAIM_fhirUser request header that a
              proxied application would read).  Attributes: base, url(path),
              dir, client_id, secret, redirect_uri, error_log().  Its client
              is registered with smart.put as a hospital would register it.
  node_run    runs one of js/*.mjs with a JSON argument under Node and returns
              its JSON report ({"steps": [...], ...}); each step has a name,
              ok and, when it failed, error.  Screenshots of every page the
              browser saw are kept under tests/out/rp/, with both servers'
              error logs.
  step        step(report, name): the named step, failing the test with the
              step's name and error when it failed or never ran.

The browser is Debian's /usr/bin/chromium (headless), driven by
playwright-core; no browser is ever downloaded.  Node packages come from
package-lock.json (run-layer runs npm ci; a direct pytest run installs them
when node_modules is missing).
"""
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "out", "rp")
EXAMPLE = os.path.join(ROOT, "apache-conf", "smartauth-openidc-example.conf")
MODULES = "/usr/lib/apache2/modules"
CHROMIUM = os.environ.get("SMARTAUTH_CHROMIUM", "/usr/bin/chromium")

# The end-to-end fixtures, loaded under a name of their own so that pytest
# keeps this conftest and that one apart.
_spec = importlib.util.spec_from_file_location(
    "smartauth_e2e_conftest", os.path.join(ROOT, "tests", "e2e", "conftest.py"))
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
rundir = _e2e.rundir
pg = _e2e.pg
demo = _e2e.demo
bindir = _e2e.bindir
keydir = _e2e.keydir
server = _e2e.server
free_port = _e2e.free_port
own = _e2e.own
run = _e2e.run


def _run_user():
    return os.environ.get("SMARTAUTH_RUN_USER", "smartauth")


@pytest.fixture(scope="session")
def node_modules():
    """tests/rp/node_modules, installed from the lock file when missing."""
    d = os.path.join(HERE, "node_modules")
    if not os.path.isdir(os.path.join(d, "openid-client")) or \
            not os.path.isdir(os.path.join(d, "playwright-core")):
        env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, env=env,
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("npm ci failed:\n" + r.stdout + r.stderr)
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    return d


@pytest.fixture(scope="session")
def node_run(node_modules, rundir):
    """node_run(script, config) -> the JSON report the script printed."""
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT, exist_ok=True)

    def go(script, config, timeout=120):
        cfg = dict(config)
        cfg.setdefault("chromium", CHROMIUM)
        cfg.setdefault("outDir", OUT)
        env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1",
                   HOME=os.environ.get("HOME", rundir))
        r = subprocess.run(["node", os.path.join(HERE, "js", script), json.dumps(cfg)],
                           cwd=HERE, env=env, capture_output=True, text=True, timeout=timeout)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            raise AssertionError(f"{script} printed no report (exit {r.returncode}):\n"
                                 f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        report = json.loads(lines[-1])
        report["stderr"] = r.stderr[-3000:]
        return report

    return go


def step(report, name):
    """The named step of a node report; fails the test naming the step."""
    for s in report["steps"]:
        if s["name"] == name:
            assert s["ok"], f"step '{name}' failed: {s.get('error')}"
            return s
    done = [s["name"] + ("" if s["ok"] else " (failed: %s)" % s.get("error"))
            for s in report["steps"]]
    raise AssertionError(f"step '{name}' was never reached; steps: {done}")


PROTECTED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title}</h1>
<dl>
<dt>sub</dt><dd id="sub"><!--#echo encoding="entity" var="OIDC_CLAIM_sub" --></dd>
<dt>fhirUser</dt><dd id="fhirUser"><!--#echo encoding="entity" var="OIDC_CLAIM_fhirUser" --></dd>
<dt>REMOTE_USER</dt><dd id="remote-user"><!--#echo encoding="entity" var="REMOTE_USER" --></dd>
<dt>iss</dt><dd id="iss"><!--#echo encoding="entity" var="OIDC_CLAIM_iss" --></dd>
<dt>OIDC_CLAIM_fhirUser request header</dt>
<dd id="header-fhirUser"><!--#echo encoding="entity" var="HEADER_CLAIM_FHIRUSER" --></dd>
<dt>OIDC-CLAIM-fhirUser request header</dt>
<dd id="header-dash-fhirUser"><!--#echo encoding="entity" var="HEADER_DASH_CLAIM_FHIRUSER" --></dd>
</dl>
</body></html>
"""


class OpenidcApache:
    """A private Apache httpd with mod_auth_openidc in front of two pages."""

    def __init__(self, rundir, smartauth, pg):
        self.dir = os.path.join(rundir, "openidc")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.client_id = "intranet-sso"
        self.secret = secrets.token_urlsafe(24)
        self.redirect_uri = self.base + "/protected/redirect_uri"
        self.conf = os.path.join(self.dir, "httpd.conf")
        self.pidfile = os.path.join(self.dir, "httpd.pid")
        for sub in ("htdocs/protected", "htdocs/staff", "run", "logs"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(os.path.join(self.dir, "htdocs", "index.html"), "w") as f:
            f.write("<!DOCTYPE html><title>Public</title><h1 id=public>Public page</h1>\n")
        for sub, title in (("protected", "Intranet"), ("staff", "Staff only")):
            with open(os.path.join(self.dir, "htdocs", sub, "index.shtml"), "w") as f:
                f.write(PROTECTED_PAGE.format(title=title))
        # The client a hospital registers for its intranet (confidential,
        # client_secret_basic, no refresh tokens, OpenID scopes only).
        pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps({
            "resourceType": "Client", "id": self.client_id, "name": "Intranet single sign-on",
            "secret": self.secret, "grant_types": ["authorization_code"],
            "auth": {"authorization_code": {
                "redirect_uri": [self.redirect_uri], "secret_required": True,
                "refresh_token": False}}}),))
        self._write_conf(smartauth)
        os.chmod(self.dir, 0o755)
        own(self.dir)
        self.start()

    def _write_conf(self, smartauth):
        d = self.dir
        user = ""
        if os.geteuid() == 0:
            user = f"User {_run_user()}\nGroup {_run_user()}\n"
        aud = urllib.parse.quote(smartauth.fhir_base, safe="")
        with open(self.conf, "w") as f:
            f.write(f"""# Generated by tests/rp/conftest.py: a second Apache httpd whose pages
# are protected by mod_auth_openidc, smartauth being the OpenID Provider.
ServerRoot "{d}"
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
PidFile "{self.pidfile}"
DefaultRuntimeDir "{d}/run"
Mutex "file:{d}/run" default
ErrorLog "{d}/logs/error.log"
LogLevel warn auth_openidc:info
LogFormat "%h %u %t \\"%r\\" %>s %b" rp
CustomLog "{d}/logs/access.log" rp
{user}
LoadModule mpm_event_module {MODULES}/mod_mpm_event.so
LoadModule authn_core_module {MODULES}/mod_authn_core.so
LoadModule authz_core_module {MODULES}/mod_authz_core.so
LoadModule authz_user_module {MODULES}/mod_authz_user.so
LoadModule mime_module {MODULES}/mod_mime.so
LoadModule dir_module {MODULES}/mod_dir.so
LoadModule include_module {MODULES}/mod_include.so
LoadModule rewrite_module {MODULES}/mod_rewrite.so
LoadModule auth_openidc_module {MODULES}/mod_auth_openidc.so

StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 4
MaxSpareThreads 16
TypesConfig /etc/mime.types
AddType text/html .shtml
AddOutputFilter INCLUDES .shtml
DirectoryIndex index.shtml index.html
DocumentRoot "{d}/htdocs"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{d}/htdocs">
    Options +IncludesNoExec
    Require all granted
    # The request headers a proxied application would get, after
    # mod_auth_openidc ran (Apache keeps names with "_" out of the
    # environment, so they are copied under other names).
    RewriteEngine On
    RewriteRule ^ - [E=HEADER_CLAIM_FHIRUSER:%{{HTTP:OIDC_CLAIM_fhirUser}},E=HEADER_DASH_CLAIM_FHIRUSER:%{{HTTP:OIDC-CLAIM-fhirUser}}]
</Directory>

<VirtualHost 127.0.0.1:{self.port}>
    ServerName 127.0.0.1
    Define SMARTAUTH_OIDC_ISSUER        "{smartauth.fhir_base}"
    Define SMARTAUTH_OIDC_AUD           "{aud}"
    Define SMARTAUTH_OIDC_CLIENT_ID     "{self.client_id}"
    Define SMARTAUTH_OIDC_CLIENT_SECRET "{self.secret}"
    Define SMARTAUTH_OIDC_REDIRECT_URI  "{self.redirect_uri}"
    Define SMARTAUTH_OIDC_PASSPHRASE    "{secrets.token_urlsafe(32)}"
    Define SMARTAUTH_OIDC_PATH          "/protected"
    Define SMARTAUTH_OIDC_LOGOUT        "{smartauth.auth_base}/logout"
    Include "{EXAMPLE}"

    # Practitioners only: the rule shown in the example file.
    <Location "/staff">
        AuthType openid-connect
        Require claim "fhirUser~/Practitioner/[^/]+$"
    </Location>
</VirtualHost>
""")

    def start(self):
        r = run("apache2", "-f", self.conf, "-k", "start", check=False)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.pidfile) and _port_open(self.port):
                return
            time.sleep(0.1)
        raise RuntimeError("mod_auth_openidc Apache did not start:\n"
                           f"{r.stdout}{r.stderr}\n{self.error_log()[-3000:]}")

    def stop(self):
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

    def url(self, path):
        return self.base + path

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "logs", "error.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def _port_open(port):
    import socket
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture(scope="session")
def openidc(rundir, server, demo):
    a = OpenidcApache(rundir, server, demo)
    yield a
    a.stop()
    # The logs of both servers, next to the screenshots.
    os.makedirs(OUT, exist_ok=True)
    for name, text in (("openidc-error.log", a.error_log()),
                       ("smartauth-error.log", server.error_log())):
        with open(os.path.join(OUT, name), "w") as f:
            f.write(text)
