"""Browser tests: headless Debian chromium, driven by playwright-core, against
a real smartauth (PostgreSQL + Apache with mod_fcgid) serving the sample
SMART app and the demo EHR page on 127.0.0.1.

The server side reuses the e2e harness (tests/e2e/conftest.py: pg, demo,
bindir, keydir, rundir and the Web class).  The browser side is one node
program per scenario, tests/browser/js/scenario.mjs, which prints one JSON
line: what the pages and the app showed, and the screenshots it took.

Fixtures
  site    session: the web server with the demo data, the sample app and
          the EHR page deployed to its document root (sample-app/deploy
          site) and their clients registered for its port (deploy clients).
          Attributes of harness.Web: base, fhir_base, dir, port ...
  fresh   autouse: forgets remembered consents and login throttling, so that
          every test sees the consent page as a first-time user would.
  browse  browse(scenario, **args) -> dict: runs one scenario in a fresh
          browser profile; fails the test naming the step that failed.
          Screenshots of every page go to a private directory, kept under
          tests/out/browser/<test>/ when the test fails (or always with
          SMARTAUTH_KEEP_SCREENSHOTS=1).
"""
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEPLOY = os.path.join(ROOT, "sample-app", "deploy")
SCENARIO = os.path.join(HERE, "js", "scenario.mjs")
OUT = os.path.join(ROOT, "tests", "out", "browser")
CHROMIUM = os.environ.get("SMARTAUTH_CHROMIUM", "/usr/bin/chromium")


def _load_harness():
    spec = importlib.util.spec_from_file_location(
        "smartauth_e2e_harness", os.path.join(ROOT, "tests", "e2e", "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


harness = _load_harness()

# The e2e fixtures, registered here under the same names.
rundir = harness.rundir
pg = harness.pg
demo = harness.demo
bindir = harness.bindir
keydir = harness.keydir
web = harness.web
run = harness.run
own = harness.own
Web = harness.Web


def docroot(w):
    """The document root webctl gives the server (RUNDIR/web-MODE/htdocs)."""
    return os.path.join(w.dir, "web-" + w.mode, "htdocs")


def deploy_pages(w):
    """Puts the sample app and the EHR page in w's document root."""
    root = docroot(w)
    r = run(DEPLOY, "site", root, check=False)
    if r.returncode != 0:
        raise RuntimeError("sample-app/deploy site failed:\n" + r.stdout + r.stderr)
    own(root)


def deploy_site(w, pg_):
    """The pages on w, and their clients registered for w's port (the
    clients are shared by the whole database: one such server at a time)."""
    deploy_pages(w)
    r = run(DEPLOY, "clients", pg_.conninfo, w.base, check=False)
    if r.returncode != 0:
        raise RuntimeError("sample-app/deploy clients failed:\n" + r.stdout + r.stderr)


@pytest.fixture(scope="session")
def site(rundir, demo, bindir, keydir):
    w = Web(rundir, "fcgid", demo, bindir, keydir, name="browser")
    try:
        deploy_site(w, demo)
    except Exception:
        w.stop()
        raise
    yield w
    w.stop()


@pytest.fixture(autouse=True)
def fresh(request):
    if "site" not in request.fixturenames:
        yield
        return
    pg_ = request.getfixturevalue("demo")
    pg_.exec("DELETE FROM smart.consents")
    pg_.exec("DELETE FROM smart.login_attempts")
    yield


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


class ScenarioFailed(AssertionError):
    pass


@pytest.fixture
def browse(request, site):
    shots = tempfile.mkdtemp(prefix="smartauth-shots-")
    os.chmod(shots, 0o755)
    results = []

    def browse_(scenario, **args):
        args.setdefault("base", site.base)
        args["out"] = os.path.join(shots, "%02d-%s" % (len(results) + 1, scenario))
        os.makedirs(args["out"], exist_ok=True)
        env = dict(os.environ, SMARTAUTH_CHROMIUM=CHROMIUM,
                   NODE_PATH=os.path.join(HERE, "node_modules"))
        try:
            p = subprocess.run(["node", SCENARIO, scenario, json.dumps(args)], cwd=HERE,
                               capture_output=True, text=True, timeout=180, env=env)
        except subprocess.TimeoutExpired as e:
            raise ScenarioFailed(f"scenario {scenario}: node did not finish in 180 s\n"
                                 f"{e.stdout or ''}{e.stderr or ''}")
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        if not lines:
            raise ScenarioFailed(f"scenario {scenario}: no result (exit {p.returncode})\n"
                                 f"{p.stdout}\n{p.stderr}")
        res = json.loads(lines[-1])
        results.append(res)
        if not res.get("ok"):
            pages = "\n".join(f"  {s['step']}: {s['url']} ({s.get('title', '')})"
                              for s in res.get("steps", []))
            raise ScenarioFailed(f"scenario {scenario} failed at step '{res.get('step')}': "
                                 f"{res.get('error')}\npages seen:\n{pages}\n{p.stderr[-2000:]}")
        return res

    yield browse_

    rep = getattr(request.node, "rep_call", None)
    failed = rep is None or rep.failed
    if failed or os.environ.get("SMARTAUTH_KEEP_SCREENSHOTS"):
        dest = os.path.join(OUT, request.node.name.replace("/", "_"))
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(OUT, exist_ok=True)
        shutil.copytree(shots, dest)
        if failed:
            print(f"\nscreenshots: {dest}")
    shutil.rmtree(shots, ignore_errors=True)
