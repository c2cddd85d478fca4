"""Faults: the database going away, becoming read-only or refusing
connections, and FastCGI processes killed, all while requests keep coming.

These tests run against a PostgreSQL cluster of their own (stopping the
session's shared one would disturb the servers of other modules) and web
servers whose program copies live in directories of their own, so that
the pids of exactly their FastCGI processes can be compared before and
after a fault.

What must hold, whatever the fault:
  - no request waits longer than a bound (no hang),
  - every answer has the shape of its endpoint: OAuth JSON errors at
    /auth/token, OperationOutcome at /fhir, an HTML page at /auth/authorize,
    503 with Retry-After while the database cannot be used,
  - no FastCGI process dies because of the database,
  - every token handed out with 200 keeps working afterwards, and nothing is
    half-written (a consumed code or refresh token always has its successor).
"""
import os
import threading
import time

import psycopg2
import pytest
import requests

from conftest import SCRIPTS, WEB_MODES, own, run
from faultkit import (APP, TIMEOUT, Load, Node, authorize_page, cluster, issue_codes, kill9,
                      log_mark, log_tail, private_bindir, program_pids, read_patient, redeem,
                      refresh, register_app)

OUTAGE = 4.0            # seconds the database stays down
LATENCY_BOUND = 3.0     # seconds any request may take while the database is down
RECOVERY = 2.0          # seconds after the database is back by which all is well
RESPAWN = 4.0           # seconds the web server may take to replace killed processes


@pytest.fixture(scope="module")
def fpg(rundir):
    pg = cluster(rundir, "faults-pg")
    register_app(pg)
    yield pg
    pg.stop()


@pytest.fixture(scope="module")
def fnode(rundir, fpg, bindir, keydir):
    n = Node(rundir, "fcgid", fpg, private_bindir(rundir, bindir, "faults"), keydir, "faults")
    yield n
    n.stop()


def grant(node, pg):
    """A fresh (access token, refresh token) pair through a redeemed code."""
    code = issue_codes(pg, 1)[0]
    r = redeem(node, code)
    assert r.status_code == 200, r.text
    return r.json()["access_token"], r.json()["refresh_token"]


def assert_unavailable_shape(s):
    """A 503 during an outage, in the form its endpoint speaks."""
    assert s.status == 503, s
    assert int(s.headers.get("Retry-After", "0")) > 0, s
    ctype = s.headers.get("Content-Type", "")
    if s.kind in ("code", "refresh"):
        assert ctype.startswith("application/json"), s
        assert '"temporarily_unavailable"' in s.body, s
        assert s.headers.get("Cache-Control") == "no-store", s
    elif s.kind == "gateway":
        assert "json" in ctype and '"OperationOutcome"' in s.body, s
    elif s.kind == "authorize":
        assert ctype.startswith("text/html"), s
    elif s.kind == "health":
        pass
    else:
        raise AssertionError(s)


def report(load, t_down, t_start, t_up):
    """One line per endpoint (pytest -s shows them): requests, 503s, slowest
    answer while down, first 200 after the database came back."""
    for kind in sorted({s.kind for s in load.samples}):
        ss = load.of(kind)
        down = load.of(kind, t_down, t_start)
        back = [s.t1 - t_up for s in load.of(kind, t_up) if s.status == 200]
        print(f"{kind:9} n={len(ss)} 503={sum(s.status == 503 for s in ss)} "
              f"max-down={max((s.latency for s in down), default=0):.3f}s "
              f"back-after={min(back, default=-1):.3f}s")


# ---- the database stops and comes back during a load run ----------------------

def test_database_restart_during_load_loses_no_token(fnode, fpg):
    codes = issue_codes(fpg, 500, lifetime=120)
    chains = [grant(fnode, fpg)[1] for _ in range(3)]
    issued_access = []          # every access token answered with 200
    live_refresh = {}           # chain id -> the refresh token it holds now
    lost = []                   # a grant refused after a 503 (consumed, never answered)
    lock = threading.Lock()

    def code_step(load, kind):
        with lock:
            if not codes:
                return False
            code = codes.pop()
        while not load.halt.is_set():
            r = load.call(kind, lambda: redeem(fnode, code, timeout=TIMEOUT))
            if r is None:
                return False
            if r.status_code == 200:
                with lock:
                    issued_access.append(r.json()["access_token"])
                    live_refresh[code.family_id] = r.json()["refresh_token"]
                return True
            if r.status_code != 503:
                lost.append(("code", r.status_code, r.text))
                return True
            time.sleep(0.05)    # a client honouring Retry-After, hurried
        return True

    def chain_step(i):
        def step(load, kind):
            r = load.call(kind, lambda: refresh(fnode, chains[i]))
            if r is None:
                return False
            if r.status_code == 200:
                chains[i] = r.json()["refresh_token"]
                with lock:
                    issued_access.append(r.json()["access_token"])
            elif r.status_code != 503:
                lost.append(("refresh", r.status_code, r.text))
                return False
            return True
        return step

    def gateway_step(load, kind):
        with lock:
            token = issued_access[-1] if issued_access else None
        if token is None:
            return True
        r = load.call(kind, lambda: read_patient(fnode, token))
        return r is not None

    def authorize_step(load, kind):
        return load.call(kind, lambda: authorize_page(fnode)) is not None

    def health_step(load, kind):
        return load.call(kind, lambda: requests.get(fnode.auth_base + "/health",
                                                    timeout=TIMEOUT)) is not None

    pids_before = program_pids(fnode.bindir)
    load = Load(deadline=60, pause=0.02)
    load.add("code", code_step, workers=2)
    for i in range(len(chains)):
        load.add("refresh", chain_step(i))
    load.add("gateway", gateway_step, workers=2)
    load.add("authorize", authorize_step)
    load.add("health", health_step)
    try:
        time.sleep(1.5)
        fpg.stop()
        t_down = load.now()
        time.sleep(OUTAGE)
        t_start = load.now()
        fpg.start()
        t_up = load.now()
        time.sleep(RECOVERY + 2.0)
    finally:
        fpg.start()
        load.stop()

    assert not load.failures, load.failures
    assert not lost, lost[:5]
    report(load, t_down, t_start, t_up)
    kinds = ("code", "refresh", "gateway", "authorize", "health")
    for kind in kinds:
        samples = load.of(kind)
        # Nothing hangs, nothing crashes: each request answered, fast while down.
        assert samples and all(s.error is None for s in samples), \
            [s for s in samples if s.error][:3]
        assert all(s.status in (200, 503) for s in samples), \
            [s for s in samples if s.status not in (200, 503)][:3]
        for s in samples:
            if s.status == 503:
                assert_unavailable_shape(s)
        # Answered while the database was down: 503, and quickly.  (A request
        # may wait for a free process in the web server and reach the
        # program after the database is back: that one rightly gets 200.)
        down = [s for s in load.of(kind, t_down + 0.3) if s.t1 < t_start]
        assert down, f"no {kind} request while the database was down"
        assert all(s.status == 503 for s in down), [s for s in down if s.status != 503][:3]
        started = load.of(kind, t_down, t_start)
        assert max(s.latency for s in started) < LATENCY_BOUND, \
            max(started, key=lambda s: s.latency)
        # Back within RECOVERY seconds of the database accepting connections.
        after = load.of(kind, t_up + RECOVERY)
        assert after, f"no {kind} request after recovery"
        assert all(s.status == 200 for s in after), [s for s in after if s.status != 200][:3]
        assert any(s.status == 200 for s in load.of(kind, None, t_down)), f"{kind} never worked"

    # No FastCGI process died (mod_fcgid may have started more under load).
    pids_after = program_pids(fnode.bindir)
    for prog, pids in pids_before.items():
        assert pids <= pids_after[prog], (prog, pids, pids_after[prog])

    # Every token answered with 200 still works: access tokens at the gateway,
    # the refresh token each chain and each redeemed code holds now.
    assert len(issued_access) > 20
    for token in issued_access:
        r = read_patient(fnode, token)
        assert r.status_code == 200, r.text
    for token in chains + list(live_refresh.values()):
        r = refresh(fnode, token)
        assert r.status_code == 200, r.text

    # Nothing half-written: a consumed code always issued its tokens, a
    # rotated refresh token always has its successor, and nothing was revoked
    # (a revocation here would mean a replay caused by a lost answer).
    assert fpg.query("""SELECT count(*) FROM smart.authorization_codes c
        WHERE c.client_id = %s AND c.used_at IS NOT NULL AND NOT EXISTS
          (SELECT 1 FROM smart.access_tokens a WHERE a.family_id = c.family_id)""",
                     (APP,)) == [(0,)]
    assert fpg.query("""SELECT count(*) FROM smart.refresh_tokens r
        WHERE r.client_id = %s AND r.used_at IS NOT NULL AND NOT EXISTS
          (SELECT 1 FROM smart.refresh_tokens s WHERE s.token_hash = r.replaced_by)""",
                     (APP,)) == [(0,)]
    assert fpg.query("""SELECT count(*) FROM smart.access_tokens
        WHERE client_id = %s AND revoked_at IS NOT NULL""", (APP,)) == [(0,)]



def test_commits_cut_by_repeated_shutdowns_are_never_reported_as_failures(fnode, fpg):
    """A fast shutdown hitting a grant's COMMIT: the grant either committed
    and was answered 200, or did not and was answered 503.  (COMMIT sent as
    a prepared statement was reported failed after it had committed; the
    client's retry then looked like a replay and revoked the grant.)"""
    chains = [grant(fnode, fpg)[1] for _ in range(6)]
    lost = []

    def chain_step(i):
        def step(load, kind):
            r = load.call(kind, lambda: refresh(fnode, chains[i]))
            if r is None:
                return False
            if r.status_code == 200:
                chains[i] = r.json()["refresh_token"]
            elif r.status_code != 503:
                lost.append((i, r.status_code, r.text))
                return False
            return True
        return step

    load = Load(deadline=90, pause=0.0)
    for i in range(len(chains)):
        load.add("refresh", chain_step(i))
    try:
        for _ in range(6):
            time.sleep(0.7)
            fpg.stop()
            time.sleep(0.3)
            fpg.start()
        time.sleep(RECOVERY)
    finally:
        fpg.start()
        load.stop()
    assert not load.failures, load.failures
    assert not lost, lost
    assert all(s.status in (200, 503) for s in load.samples), \
        [s for s in load.samples if s.status not in (200, 503)][:3]
    for token in chains:
        assert refresh(fnode, token).status_code == 200

# ---- a FastCGI process killed during load ---------------------------------------

@pytest.mark.parametrize("mode", WEB_MODES)
def test_killed_fastcgi_process_is_replaced_and_no_client_hangs(rundir, fpg, bindir, keydir, mode):
    node = Node(rundir, mode, fpg, private_bindir(rundir, bindir, "kill-" + mode), keydir,
                "kill-" + mode)
    try:
        access, _ = grant(node, fpg)
        chains = [grant(node, fpg)[1] for _ in range(2)]
        spare = issue_codes(fpg, 40, lifetime=120)

        def chain_step(i):
            def step(load, kind):
                if chains[i] is not None:
                    r = load.call(kind, lambda: refresh(node, chains[i]))
                    if r is not None and r.status_code == 200:
                        chains[i] = r.json()["refresh_token"]
                        return True
                    # A refresh whose process died after COMMIT is answered
                    # 5xx while its token is spent (at-most-once, like any
                    # lost answer): the client starts over with a new grant.
                    chains[i] = None
                # A redemption refused while the program is being replaced
                # (lighttpd answers 503 while it holds the backend disabled)
                # is tried again with the next code on the next step; the
                # test's checks below tell a hang or a late failure.
                r = load.call(kind, lambda: redeem(node, spare.pop()))
                if r is not None and r.status_code == 200:
                    chains[i] = r.json()["refresh_token"]
                return bool(spare)
            return step

        load = Load(deadline=60, pause=0.01)
        for i in range(len(chains)):
            load.add("token", chain_step(i))
        load.add("gateway", lambda ld, k: ld.call(
            k, lambda: read_patient(node, access)) is not None, workers=2)
        load.add("jwks", lambda ld, k: ld.call(k, lambda: requests.get(
            node.auth_base + "/jwks", timeout=TIMEOUT)) is not None)
        try:
            time.sleep(1.0)
            before = program_pids(node.bindir)
            # Every process of three programs: the web server (mod_fcgid,
            # lighttpd) or the pool's supervisors (proxy-fcgi) replace them.
            victims = {p: before[p] for p in ("token", "fhir", "discovery")}
            assert all(victims.values()), before
            t_kill = load.now()
            for pids in victims.values():
                for pid in pids:
                    kill9(pid)
            time.sleep(RESPAWN + 2.0)
        finally:
            load.stop()

        assert not load.failures, load.failures
        for kind in ("token", "gateway", "jwks"):
            samples = load.of(kind)
            # Every request answered within the bound: nobody hangs.
            assert samples and all(s.error is None for s in samples), \
                [s for s in samples if s.error][:3]
            assert max(s.latency for s in samples) < 10, max(samples, key=lambda s: s.latency)
            # Failures only while the processes are being replaced: the
            # requests they were serving, and (lighttpd) quick 503s while it
            # holds the backend disabled and respawns it; never a hang.
            bad = [s for s in samples if s.status != 200]
            assert all(s.status in (500, 502, 503) and s.t1 >= t_kill and
                       s.t0 < t_kill + RESPAWN for s in bad), \
                [(round(s.t0 - t_kill, 3), round(s.t1 - t_kill, 3), s.status) for s in bad][-3:]
            after = load.of(kind, t_kill + RESPAWN)
            assert after and all(s.status == 200 for s in after), \
                [s for s in after if s.status != 200][:3]

        # The killed processes are gone and replacements serve.
        now = program_pids(node.bindir)
        for prog, pids in victims.items():
            assert not pids & now[prog]
            assert now[prog], f"no {prog} process serves in {mode}"
        r = read_patient(node, access)
        assert r.status_code == 200, r.text
        for token in chains:
            assert token is not None and refresh(node, token).status_code == 200
        assert requests.get(node.auth_base + "/jwks", timeout=TIMEOUT).status_code == 200
        print(mode, {k: len(load.of(k)) for k in ("token", "gateway", "jwks")}, "failed:",
              [(s.kind, s.status, round(s.t0 - t_kill, 2)) for s in load.samples
               if s.status != 200])
    finally:
        node.stop()


# ---- the proxy-fcgi pool's supervisors ---------------------------------------------

POOL_SIZES = {"discovery": 2, "authorize": 2, "token": 4, "launch-uri": 1, "fhir": 4}


def pool_dir(node):
    return os.path.join(node.dir, "web-proxy-fcgi", "sock")


def pool_status(node):
    return run(os.path.join(SCRIPTS, "fcgi-pool"), "status", pool_dir(node),
               check=False).returncode


def wait_pool_full(node, seconds):
    """Waits until every program has its full number of live workers."""
    def full():
        now = program_pids(node.bindir)
        return all(len(now[p]) == n for p, n in POOL_SIZES.items())
    return wait_for(full, seconds)


def test_fcgi_pool_replaces_every_killed_worker_within_seconds(rundir, fpg, bindir, keydir):
    node = Node(rundir, "proxy-fcgi", fpg, private_bindir(rundir, bindir, "pool"), keydir,
                "pool")
    try:
        assert pool_status(node) == 0
        before = program_pids(node.bindir)
        assert {p: len(v) for p, v in before.items()} == POOL_SIZES
        # Workers that served a while: replaced at once (a worker dying
        # young would count as a crash loop and be replaced after a pause).
        time.sleep(2.5)
        mark = log_mark(node)
        for pids in before.values():
            for pid in pids:
                kill9(pid)
        took = wait_pool_full(node, 1.0)
        now = program_pids(node.bindir)
        for prog in POOL_SIZES:
            assert not now[prog] & before[prog], prog
        assert pool_status(node) == 0
        # Served by the new workers, and the log says what happened.
        access, rt = grant(node, fpg)
        assert read_patient(node, access).status_code == 200
        assert requests.get(node.auth_base + "/health", timeout=TIMEOUT).status_code == 200
        log = log_tail(node, mark)
        assert "token: worker" in log and "exited (signal 9)" in log, log[-1500:]
        print(f"pool back to full size {took:.2f} s after killing every worker")
    finally:
        node.stop()
    # stop leaves nothing behind: no supervisor restarts a stopped worker.
    assert not any(program_pids(node.bindir).values())
    assert run("pgrep", "-f", pool_dir(node), check=False).returncode == 1


def test_fcgi_pool_backs_off_a_crash_loop_and_recovers(rundir, fpg, bindir, keydir):
    """A program that dies at once (say, a bad key after a deploy) is
    restarted with a growing pause, not in a busy loop; once it can start
    again the pool fills up by itself."""
    bdir = private_bindir(rundir, bindir, "crashloop")
    real = os.path.join(bdir, "discovery.real")
    os.rename(os.path.join(bdir, "discovery"), real)
    flag = os.path.join(bdir, "broken")
    wrapper = os.path.join(bdir, "discovery")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\n[ -e '{flag}' ] && exit 1\nexec '{real}' \"$@\"\n")
    os.chmod(wrapper, 0o755)
    own(bdir)
    node = Node(rundir, "proxy-fcgi", fpg, bdir, keydir, "crashloop")
    try:
        assert pool_status(node) == 0
        assert requests.get(node.auth_base + "/jwks", timeout=TIMEOUT).status_code == 200
        open(flag, "w").close()
        mark = log_mark(node)
        for pid in {int(x) for x in run("pgrep", "-f", "-x", real, check=False).stdout.split()}:
            kill9(pid)
        time.sleep(3.0)
        log = log_tail(node, mark)
        deaths = log.count("discovery: worker")
        # Two workers, each paused 0.1, 0.2, 0.4, 0.8, 1.6 s: a handful of
        # restarts in 3 s, where a busy loop would make hundreds.
        assert 4 <= deaths <= 16, log[-1500:]
        assert "replacing it in " in log
        assert pool_status(node) != 0
        # The other programs are untouched.
        access, _ = grant(node, fpg)
        assert read_patient(node, access).status_code == 200
        os.unlink(flag)
        # The longest pause is 5 s.
        wait_for(lambda: pool_status(node) == 0, 7.0)
        assert requests.get(node.auth_base + "/jwks", timeout=TIMEOUT).status_code == 200
    finally:
        node.stop()


# ---- the database read-only, or refusing connections ----------------------------

def admin_conninfo(pg):
    """The cluster's maintenance database: stays reachable when smartauth is refused."""
    return pg.conninfo.replace("dbname=smartauth", "dbname=postgres")


def admin(pg, sql):
    c = psycopg2.connect(admin_conninfo(pg))
    c.autocommit = True
    try:
        with c.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else None
    finally:
        c.close()


def drop_program_sessions(pg):
    """What a failover or a DBA's pg_terminate_backend does to open connections."""
    admin(pg, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
              "WHERE datname = 'smartauth' AND application_name LIKE 'smartauth-%'")


def assert_oauth_503(r):
    assert r.status_code == 503, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"] == "temporarily_unavailable"
    assert int(r.headers["Retry-After"]) > 0


def assert_page_503(r):
    assert r.status_code == 503, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    assert int(r.headers["Retry-After"]) > 0
    assert "<form" not in r.text


def assert_outcome_503(r):
    assert r.status_code == 503, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert int(r.headers["Retry-After"]) > 0


def assert_health_read_only(r):
    """503 with Retry-After and a body naming the read-only database."""
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) > 0
    assert r.headers["Cache-Control"] == "no-store"
    assert r.json() == {"status": "fail", "database": "read-only"}


def health(node):
    return requests.get(node.auth_base + "/health", timeout=TIMEOUT)


def wait_for(fn, seconds):
    """Calls fn until it returns true or seconds pass; returns the elapsed time."""
    t0 = time.monotonic()
    while not fn():
        assert time.monotonic() - t0 < seconds, f"not back within {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - t0


def test_read_only_database_refuses_writes_cleanly_and_recovers(fnode, fpg):
    access, rt = grant(fnode, fpg)
    code = issue_codes(fpg, 1)[0]
    mark = log_mark(fnode)
    admin(fpg, "ALTER DATABASE smartauth SET default_transaction_read_only = on")
    try:
        drop_program_sessions(fpg)
        # Grants write: 503 in OAuth form, and nothing is spent.
        assert_oauth_503(redeem(fnode, code))
        assert_oauth_503(refresh(fnode, rt))
        # The authorization endpoint records each request: a 503 page.
        assert_page_503(authorize_page(fnode))
        # Reading needs no write: the gateway still serves.
        assert read_patient(fnode, access).status_code == 200
        # But the node cannot grant anything: the load balancer's probe says so.
        assert_health_read_only(requests.get(fnode.auth_base + "/health", timeout=TIMEOUT))
    finally:
        admin(fpg, "ALTER DATABASE smartauth RESET default_transaction_read_only")
    log = log_tail(fnode, mark)
    assert "read-only" in log, log[-2000:]
    for secret in (code.value, code.verifier, rt, access):
        assert secret not in log
    # Writable again: the programs do not keep a read-only session.
    wait_for(lambda: refresh(fnode, rt).status_code == 200, 2.0)
    assert redeem(fnode, code).status_code == 200


def test_health_takes_a_read_only_database_out_of_rotation(fnode, fpg):
    """A load balancer polls /auth/health: a node whose database answers but
    cannot take writes (default_transaction_read_only, a hot standby) must
    leave the rotation, and come back by itself once writes work again."""
    access, rt = grant(fnode, fpg)
    assert health(fnode).status_code == 200
    mark = log_mark(fnode)
    # Reloaded configuration reaches sessions already open: no reconnect needed.
    admin(fpg, "ALTER SYSTEM SET default_transaction_read_only = on")
    admin(fpg, "SELECT pg_reload_conf()")
    try:
        wait_for(lambda: health(fnode).status_code == 503, 2.0)
        t0 = time.monotonic()
        for _ in range(5):      # every probe, whichever process answers it
            assert_health_read_only(health(fnode))
        assert time.monotonic() - t0 < LATENCY_BOUND
        assert_oauth_503(refresh(fnode, rt))
    finally:
        admin(fpg, "ALTER SYSTEM RESET default_transaction_read_only")
        admin(fpg, "SELECT pg_reload_conf()")
    log = log_tail(fnode, mark)
    assert "database unavailable: the database is read-only" in log, log[-2000:]
    assert access not in log and rt not in log
    wait_for(lambda: health(fnode).status_code == 200, RECOVERY)
    assert health(fnode).json() == {"status": "pass"}
    wait_for(lambda: refresh(fnode, rt).status_code == 200, RECOVERY)


def test_gateway_batch_answers_503_in_an_outage_then_200_and_reads_through_read_only(
        fnode, fpg):
    """The gateway's one-round-trip read (libpq pipeline mode): an outage is a
    quick 503 OperationOutcome with the cause logged, service is back within
    RECOVERY of the database, a dropped session is replaced without an error,
    and a read-only database still serves reads while health reports it."""
    access, _ = grant(fnode, fpg)
    assert read_patient(fnode, access).status_code == 200
    # Sessions cut under the programs (pg_terminate_backend, a failover):
    # the batch is retried once on a new connection, the client sees nothing.
    drop_program_sessions(fpg)
    for _ in range(4):
        assert read_patient(fnode, access).status_code == 200
    mark = log_mark(fnode)
    fpg.stop()
    try:
        t0 = time.monotonic()
        for _ in range(4):
            assert_outcome_503(read_patient(fnode, access))
        assert time.monotonic() - t0 < LATENCY_BOUND
    finally:
        fpg.start()
    log = log_tail(fnode, mark)
    assert "cannot connect to the database" in log or "database unavailable: " in log, \
        log[-2000:]
    assert access not in log
    wait_for(lambda: read_patient(fnode, access).status_code == 200, RECOVERY)
    admin(fpg, "ALTER DATABASE smartauth SET default_transaction_read_only = on")
    try:
        drop_program_sessions(fpg)
        for _ in range(4):
            assert read_patient(fnode, access).status_code == 200
        assert_health_read_only(health(fnode))
    finally:
        admin(fpg, "ALTER DATABASE smartauth RESET default_transaction_read_only")
    # Health closed its read-only session: the next probe finds writes work.
    wait_for(lambda: health(fnode).status_code == 200, RECOVERY)
    assert read_patient(fnode, access).status_code == 200


def write_hba(pg, lines):
    path = os.path.join(pg.dir, "data", "pg_hba.conf")
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    admin(pg, "SELECT pg_reload_conf()")


HBA_TRUST = ["local all all trust", "local replication all trust"]


@pytest.mark.parametrize("how, cause", [
    ("reject", "pg_hba.conf rejects connection"),
    ("password", "no password supplied"),
])
def test_database_refusing_connections_gives_503_and_names_the_cause(fnode, fpg, how, cause):
    access, rt = grant(fnode, fpg)
    code = issue_codes(fpg, 1)[0]
    mark = log_mark(fnode)
    rule = "reject" if how == "reject" else "scram-sha-256"
    write_hba(fpg, ["local postgres all trust", f"local smartauth all {rule}"] + HBA_TRUST)
    try:
        drop_program_sessions(fpg)
        t0 = time.monotonic()
        assert_oauth_503(redeem(fnode, code))
        assert_oauth_503(refresh(fnode, rt))
        assert_outcome_503(read_patient(fnode, access))
        assert_page_503(authorize_page(fnode))
        h = requests.get(fnode.auth_base + "/health", timeout=TIMEOUT)
        assert h.status_code == 503 and int(h.headers["Retry-After"]) > 0
        assert time.monotonic() - t0 < LATENCY_BOUND
    finally:
        write_hba(fpg, HBA_TRUST)
    log = log_tail(fnode, mark)
    assert cause in log, log[-2000:]
    for secret in (code.value, code.verifier, rt, access):
        assert secret not in log
    wait_for(lambda: refresh(fnode, rt).status_code == 200, 2.0)
    assert redeem(fnode, code).status_code == 200
    assert read_patient(fnode, access).status_code == 200


def test_wrong_database_password_is_503_and_never_logged(rundir, fpg, bindir, keydir):
    password = "Wr0ng-Db-Passw0rd-7781"
    user = fpg.conninfo.split("user=")[1].split()[0]
    admin(fpg, f"ALTER ROLE \"{user}\" PASSWORD 'the-right-one-5512'")
    node = Node(rundir, "fcgid", fpg, private_bindir(rundir, bindir, "badpw"), keydir, "badpw",
                database=fpg.conninfo + " password=" + password)
    code = issue_codes(fpg, 1)[0]
    write_hba(fpg, ["local postgres all trust", "local smartauth all scram-sha-256"] + HBA_TRUST)
    try:
        assert_oauth_503(redeem(node, code))
        assert_page_503(authorize_page(node))
        log = log_tail(node, {})
        assert "password authentication failed" in log, log[-2000:]
        assert password not in log
        assert "the-right-one" not in log
    finally:
        write_hba(fpg, HBA_TRUST)
        admin(fpg, f"ALTER ROLE \"{user}\" PASSWORD NULL")
        node.stop()


def test_database_out_of_connections_gives_503_and_names_the_cause(fnode, fpg):
    access, rt = grant(fnode, fpg)
    admin(fpg, "ALTER SYSTEM SET max_connections = 8")
    admin(fpg, "ALTER SYSTEM SET superuser_reserved_connections = 0")
    held = []
    try:
        fpg.stop()
        fpg.start()
        mark = log_mark(fnode)
        # Every slot taken by somebody else (the programs hold none after the restart).
        while True:
            try:
                held.append(psycopg2.connect(admin_conninfo(fpg)))
            except psycopg2.OperationalError as e:
                assert "too many clients" in str(e)
                break
            assert len(held) < 20, "max_connections did not apply"
        t0 = time.monotonic()
        assert_oauth_503(refresh(fnode, rt))
        assert_outcome_503(read_patient(fnode, access))
        assert_page_503(authorize_page(fnode))
        assert time.monotonic() - t0 < LATENCY_BOUND
        log = log_tail(fnode, mark)
        assert "too many clients" in log, log[-2000:]
        assert rt not in log and access not in log
        for c in held:
            c.close()
        held = []
        wait_for(lambda: read_patient(fnode, access).status_code == 200, RECOVERY)
        r = refresh(fnode, rt)
        assert r.status_code == 200, r.text
    finally:
        for c in held:
            c.close()
        admin(fpg, "ALTER SYSTEM RESET max_connections")
        admin(fpg, "ALTER SYSTEM RESET superuser_reserved_connections")
        fpg.stop()
        fpg.start()
