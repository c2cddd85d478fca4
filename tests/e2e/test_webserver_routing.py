"""Web server routing: the shipped snippets in apache-conf/ route every URL of
DESIGN.md section 1 to the right program, in each of the three setups that
scripts/webctl runs (Apache + mod_fcgid, Apache + mod_proxy_fcgi with a
spawn-fcgi pool, lighttpd + mod_fastcgi), mounted at the root and under a
prefix.

The programs are stand-ins: one small libfcgi program, compiled here and
copied under the five program names, that answers with what it received
(its own name, REQUEST_URI, the Authorization header, the body length, the
SMARTAUTH_CONF of its environment).  No database is needed.
"""
import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import PROGRAMS
from faultkit import program_pids

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WEBCTL = os.path.join(ROOT, "scripts", "webctl")
MODES = ("fcgid", "proxy-fcgi", "lighttpd")
PREFIXES = ("", "/smart")

ECHO_C = r"""
#include <fcgi_stdio.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

static const char *env(const char *k) { const char *v = getenv(k); return v ? v : "(unset)"; }

int main(int argc, char **argv) {
    (void)argc;
    const char *name = basename(argv[0]);
    /* The process environment is replaced by each request's parameters. */
    const char *c = getenv("SMARTAUTH_CONF");
    char conf[1024];
    snprintf(conf, sizeof conf, "%s", c ? c : "(unset)");
    while (FCGI_Accept() >= 0) {
        long n = 0, bad = 0;
        int ch;
        while ((ch = getchar()) != EOF) {
            if (ch != 'a' && ch != '{' && ch != '}' && ch != '=') bad++;
            n++;
        }
        printf("Content-Type: text/plain\r\n\r\n");
        printf("program=%s\nREQUEST_URI=%s\nREQUEST_METHOD=%s\n"
               "HTTP_AUTHORIZATION=%s\nCONTENT_LENGTH=%s\nbody=%ld\nbad=%ld\n"
               "SMARTAUTH_CONF=%s\nSCRIPT_NAME=%s\nPATH_INFO=%s\n",
               name, env("REQUEST_URI"), env("REQUEST_METHOD"),
               env("HTTP_AUTHORIZATION"), env("CONTENT_LENGTH"), n, bad,
               conf, env("SCRIPT_NAME"), env("PATH_INFO"));
    }
    return 0;
}
"""

# (method, path below the prefix, program) for every row of the URL map.
ROUTES = [
    ("GET", "/fhir/.well-known/smart-configuration", "discovery"),
    ("GET", "/fhir/.well-known/openid-configuration", "discovery"),
    ("GET", "/auth/jwks", "discovery"),
    ("GET", "/auth/health", "discovery"),
    ("GET", "/auth/authorize?response_type=code&client_id=c&state=%2Fx", "authorize"),
    ("POST", "/auth/authorize", "authorize"),
    ("GET", "/auth/logout", "authorize"),
    ("GET", "/auth/style", "authorize"),
    ("GET", "/auth/some/later/page", "authorize"),
    ("POST", "/auth/token", "token"),
    ("POST", "/auth/introspect", "token"),
    ("POST", "/auth/revoke", "token"),
    ("OPTIONS", "/auth/token", "token"),
    ("POST", "/rpc", "launch-uri"),
    ("GET", "/fhir", "fhir"),
    ("GET", "/fhir/", "fhir"),
    ("GET", "/fhir/metadata", "fhir"),
    ("GET", "/fhir/Patient/1", "fhir"),
    ("GET", "/fhir/Patient?name=a%20b&_count=2", "fhir"),
    ("PUT", "/fhir/Patient/1", "fhir"),
    ("PATCH", "/fhir/Patient/1", "fhir"),
    ("DELETE", "/fhir/Patient/1", "fhir"),
    ("OPTIONS", "/fhir/Patient/1", "fhir"),
    ("GET", "/fhir/.well-known/other", "fhir"),
    # Near misses: routing is on the decoded, normalised path, exact names,
    # and the query string plays no part; REQUEST_URI stays as sent.
    ("GET", "/fhir/%2Ewell-known/smart-configuration", "discovery"),
    ("GET", "/fhir/Patient/../.well-known/smart-configuration", "discovery"),
    ("GET", "/fhir/.well-known/smart-configuration?x=/auth/token", "discovery"),
    ("GET", "/fhir/.well-known/smart-configuration/", "fhir"),
    ("GET", "/fhir/Xwell-known/smart-configuration", "fhir"),
    ("POST", "/auth/token/", "authorize"),
    ("POST", "/auth/tokenx", "authorize"),
    ("GET", "/auth/jwks.json", "authorize"),
    ("POST", "/rpc?_method=x", "launch-uri"),
]

# Paths near the routes that no program serves.
UNROUTED = ["/fhirx", "/FHIR/metadata", "/rpcx", "/rpc/", "/rpc/x", "/auth", "/other"]


def parse(text):
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition("=")
        if sep:
            out[k] = v
    return out


def request(port, method, path, body=None, headers=None, chunked=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        hdrs = dict(headers or {})
        if chunked:
            conn.putrequest(method, path)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for i in range(0, len(body), 65536):
                part = body[i:i + 65536]
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            conn.send(b"0\r\n\r\n")
        else:
            if body is None and method in ("POST", "PUT", "PATCH"):
                body = b""  # an explicit Content-Length: 0 (lighttpd wants one)
            conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def free_port(offset):
    """A port in 18000-18899 that nothing listens on, spread by pid."""
    start = 18000 + (os.getpid() % 150) * 6 + offset
    for i in range(900):
        port = 18000 + (start - 18000 + i * 7) % 900
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port in 18000-18899")


def webctl(*args, check=True):
    r = subprocess.run([WEBCTL, *args], capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("webctl %s failed (%d):\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def leftovers(libexec, rundir):
    """Processes running one of our programs or naming our run directory."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            exe = os.readlink("/proc/%s/exe" % pid)
        except OSError:
            exe = ""
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state in ("Z", "X"):
            continue
        if exe.startswith(libexec + "/") or rundir + "/" in cmd:
            found.append("%s %s" % (pid, cmd.strip()))
    return found


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="smartauth-web-")
    # When root, the servers run as the unprivileged run user: let it in.
    os.chmod(d, 0o755)
    yield d
    if not os.environ.get("SMARTAUTH_KEEP_RUN"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def echo_binary(workdir):
    src = os.path.join(workdir, "echo.c")
    with open(src, "w") as f:
        f.write(ECHO_C)
    binary = os.path.join(workdir, "echo")
    r = subprocess.run(["cc", "-O", "-o", binary, src, "-lfcgi"], capture_output=True, text=True)
    assert r.returncode == 0, "cannot build the echo program (libfcgi-dev?):\n" + r.stderr
    return binary


def make_programs(binary, base):
    """A LIBEXEC with the echo program under the five names, and a CONF path."""
    os.mkdir(base)
    os.chmod(base, 0o755)
    libexec = os.path.join(base, "libexec")
    os.mkdir(libexec)
    os.chmod(libexec, 0o755)
    for p in PROGRAMS:
        # Copies, not links: mod_fcgid groups processes by executable file.
        shutil.copy(binary, os.path.join(libexec, p))
        os.chmod(os.path.join(libexec, p), 0o755)
    conf = os.path.join(base, "smartauth.conf")
    with open(conf, "w") as f:
        f.write("# not read by the echo program\n")
    return libexec, conf


@pytest.fixture(scope="module")
def programs(workdir, echo_binary):
    return make_programs(echo_binary, os.path.join(workdir, "routing"))


class Server:
    def __init__(self, mode, prefix, port, rundir, libexec, conf):
        self.mode, self.prefix, self.port = mode, prefix, port
        self.rundir, self.libexec, self.conf = rundir, libexec, conf

    def get(self, method, path, **kw):
        return request(self.port, method, self.prefix + path, **kw)

    def error_log(self):
        try:
            with open(os.path.join(self.rundir, "web-" + self.mode, "error.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""


SETUPS = [(m, p) for m in MODES for p in PREFIXES]


@pytest.fixture(scope="module", params=SETUPS, ids=["%s-%s" % (m, p.strip("/") or "root") for m, p in SETUPS])
def server(request, workdir, programs):
    mode, prefix = request.param
    libexec, conf = programs
    rundir = os.path.join(workdir, "run-%s%s" % (mode, prefix.replace("/", "-")))
    os.mkdir(rundir)
    os.chmod(rundir, 0o755)
    port = free_port(SETUPS.index(request.param))
    args = ["start", mode, rundir, str(port), libexec, conf]
    if prefix:
        args.append(prefix)
    webctl(*args)
    srv = Server(mode, prefix, port, rundir, libexec, conf)
    yield srv
    webctl("stop", mode, rundir)
    left = leftovers(libexec, rundir)
    assert not left, "processes left after webctl stop:\n" + "\n".join(left)


@pytest.mark.parametrize("method,path,program", ROUTES, ids=["%s %s" % (m, p) for m, p, _ in ROUTES])
def test_route_reaches_program(server, method, path, program):
    status, text = server.get(method, path, headers={"Authorization": "Bearer tok-123.abc"})
    assert status == 200, "%s %s -> %d\n%s\n%s" % (method, path, status, text, server.error_log())
    got = parse(text)
    assert got["program"] == program
    # The request URI arrives as sent: prefix, path and query, not rewritten.
    assert got["REQUEST_URI"] == server.prefix + path
    assert got["REQUEST_METHOD"] == method
    assert got["HTTP_AUTHORIZATION"] == "Bearer tok-123.abc"
    assert got["SMARTAUTH_CONF"] == server.conf


@pytest.mark.parametrize("path", UNROUTED)
def test_unrouted_path_is_404(server, path):
    status, _ = server.get("GET", path)
    assert status == 404


def test_other_mount_point_not_served(server):
    """Under /smart the root paths are not served, and at the root /smart is not."""
    other = "" if server.prefix else "/smart"
    for path in ("/fhir/metadata", "/auth/token", "/auth/jwks", "/rpc"):
        status, _ = request(server.port, "GET", other + path)
        assert status == 404, other + path


@pytest.mark.parametrize("path,ctype", [
    ("/auth/token", "application/x-www-form-urlencoded"),
    ("/auth/authorize", "application/x-www-form-urlencoded"),
    ("/rpc", "application/json"),
    ("/fhir/Bundle", "application/fhir+json"),
])
def test_one_mib_body_arrives_whole(server, path, ctype):
    body = b"a" * (1 << 20)
    status, text = server.get("POST", path, body=body, headers={
        "Content-Type": ctype, "Authorization": "Basic Y2xpZW50OnNlY3JldA=="})
    assert status == 200, server.error_log()
    got = parse(text)
    assert got["CONTENT_LENGTH"] == str(1 << 20)
    assert got["body"] == str(1 << 20)
    assert got["bad"] == "0"
    assert got["HTTP_AUTHORIZATION"] == "Basic Y2xpZW50OnNlY3JldA=="


def test_chunked_body_gets_content_length(server):
    body = b"a" * 300000
    status, text = server.get("POST", "/auth/token", body=body, chunked=True,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, server.error_log()
    got = parse(text)
    assert got["CONTENT_LENGTH"] == str(len(body))
    assert got["body"] == str(len(body))


def test_status_while_running(server):
    assert webctl("status", server.mode, server.rundir, check=False).returncode == 0


@pytest.mark.parametrize("mode", MODES)
def test_stop_after_killed_server_leaves_nothing(mode, workdir, echo_binary):
    """A server killed with SIGKILL leaves a stale pid file and orphans;
    the next start must still work and stop must clean up everything."""
    # Programs of their own, so that the servers of the other tests do not
    # count as leftovers.
    libexec, conf = make_programs(echo_binary, os.path.join(workdir, "programs-stale-" + mode))
    rundir = os.path.join(workdir, "stale-" + mode)
    os.mkdir(rundir)
    os.chmod(rundir, 0o755)
    port = free_port(60 + MODES.index(mode))
    webctl("start", mode, rundir, str(port), libexec, conf)
    try:
        for path in ("/fhir/metadata", "/auth/token", "/auth/jwks"):
            assert request(port, "GET", path)[0] == 200
        with open(os.path.join(rundir, "web-" + mode, "server.pid")) as f:
            os.kill(int(f.read().split()[0]), 9)
        deadline = time.time() + 5
        while webctl("status", mode, rundir, check=False).returncode == 0 and time.time() < deadline:
            time.sleep(0.1)
        assert webctl("status", mode, rundir, check=False).returncode != 0
        webctl("start", mode, rundir, str(port), libexec, conf)
        status, text = request(port, "GET", "/fhir/metadata")
        assert status == 200 and parse(text)["program"] == "fhir"
        assert webctl("status", mode, rundir, check=False).returncode == 0
    finally:
        webctl("stop", mode, rundir)
    left = leftovers(libexec, rundir)
    assert not left, "processes left after webctl stop:\n" + "\n".join(left)
    assert webctl("status", mode, rundir, check=False).returncode != 0


# ---- process pools: the sizes the snippets and scripts/fcgi-pool ship ----------

# A fixed pool queues a busy moment on the socket: sized for the cores.
FIXED_POOL = {"discovery": 2, "authorize": 2, "token": 4, "launch-uri": 1, "fhir": 4}


def running_programs(libexec):
    """{program: number of live processes running LIBEXEC/program}."""
    return {p: len(pids) for p, pids in program_pids(libexec).items()}


@pytest.mark.parametrize("mode", ("proxy-fcgi", "lighttpd"))
def test_fixed_pool_runs_its_documented_size_before_the_first_request(
        mode, workdir, echo_binary):
    libexec, conf = make_programs(echo_binary, os.path.join(workdir, "programs-size-" + mode))
    rundir = os.path.join(workdir, "size-" + mode)
    os.mkdir(rundir)
    os.chmod(rundir, 0o755)
    port = free_port(70 + MODES.index(mode))
    webctl("start", mode, rundir, str(port), libexec, conf)
    try:
        # Every process is up before any request (lighttpd forks them as it
        # starts; give it a moment), so nothing is started on demand.
        deadline = time.time() + 5
        while running_programs(libexec) != FIXED_POOL and time.time() < deadline:
            time.sleep(0.1)
        assert running_programs(libexec) == FIXED_POOL
    finally:
        webctl("stop", mode, rundir)
    assert not any(running_programs(libexec).values())


def fcgid_options():
    """{program: {option: value}} from the FcgidCmdOptions of smartauth-fcgid.conf."""
    with open(os.path.join(ROOT, "apache-conf", "smartauth-fcgid.conf")) as f:
        text = f.read().replace("\\\n", " ")
    opts = {}
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] != "FcgidCmdOptions":
            continue
        prog = words[1].strip('"').rsplit("/", 1)[1]
        opts[prog] = {words[i]: words[i + 1] for i in range(2, len(words) - 1, 2)}
    return opts


def test_fcgid_keeps_at_least_the_fixed_pool_warm_within_the_server_limit():
    """mod_fcgid makes a request that finds every process busy sleep a whole
    second, so it keeps more processes warm than a fixed pool needs; and
    the server-level limit leaves room for all of them."""
    opts = fcgid_options()
    assert set(opts) == set(PROGRAMS)
    total = 0
    for p, o in opts.items():
        lo, hi = int(o["MinProcesses"]), int(o["MaxProcesses"])
        assert FIXED_POOL[p] <= lo <= hi, (p, o)
        assert o["IdleTimeout"] == "600" and o["MaxRequestsPerProcess"] == "0", (p, o)
        total += hi
    assert int(opts["fhir"]["MinProcesses"]) >= 6 and int(opts["token"]["MinProcesses"]) >= 6
    with open(os.path.join(ROOT, "apache-conf", "smartauth-fcgid-server.conf")) as f:
        server = dict(l.split()[:2] for l in f if l.strip().startswith("Fcgid"))
    assert total <= int(server["FcgidMaxProcesses"])
    # A burst may start a program's whole MaxProcesses at once.
    assert max(int(o["MaxProcesses"]) for o in opts.values()) <= int(server["FcgidSpawnScoreUpLimit"])
