"""The documentation tells the truth: the SQL and the steps of docs/inferno.md
and the examples of the manual pages run as written against a real
PostgreSQL and a real web server, and what they say the server answers is
what it answers.

The Inferno guide's SQL runs in the session database of the shared
`server` (its ids all start with "inferno-", so nothing else is touched);
the manual pages' examples replace demo users and revoke their tokens, so
they run in a database of their own in the same cluster.
"""
import base64
import json
import os
import re
import subprocess
import urllib.parse

import psycopg2
import pytest
import requests

from smartflow import start

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("SMARTAUTH_BUILDDIR", ROOT)
GUIDE = os.path.join(ROOT, "docs", "inferno.md")
MAN = os.path.join(ROOT, "man")

INFERNO = "https://inferno.healthit.gov/suites/custom"
CONFIDENTIAL = ("inferno-confidential", "CHANGE-ME-inferno-secret")
INTROSPECTOR = ("inferno-introspector", "CHANGE-ME-introspector-secret")
EHR = ("inferno-ehr", "CHANGE-ME-ehr-secret")
STU2_2_REDIRECT = INFERNO + "/smart_stu2_2/redirect"
EHR_SCOPES_STU2 = "launch openid fhirUser offline_access patient/*.rs"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def guide_blocks(lang):
    return re.findall(r"```" + lang + r"\n(.*?)```", read(GUIDE), re.S)


def man_blocks(page):
    """The .Bd -literal blocks of a page, with mdoc escapes undone."""
    blocks = re.findall(r"^\.Bd -literal[^\n]*\n(.*?)^\.Ed$", read(os.path.join(MAN, page)),
                        re.S | re.M)
    return [b.replace("\\e", "\\").replace("\\(dq", '"') for b in blocks]


def psql(conninfo, sql):
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", conninfo],
                          input=sql, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def guide(server):
    """The server with every SQL block of docs/inferno.md applied, in order."""
    blocks = guide_blocks("sql")
    assert len(blocks) >= 3, "the guide lost its SQL"
    for sql in blocks:
        r = psql(server_conninfo(server), sql)
        assert r.returncode == 0, f"guide SQL failed:\n{sql}\n{r.stderr}"
    return server


def server_conninfo(server):
    with open(server.conf) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == "database":
                return v.strip()
    raise AssertionError("no database line in " + server.conf)


def token(server, auth, **form):
    return requests.post(server.auth_base + "/token", data=form, auth=auth, timeout=30)


def exchange(server, flow, redirect_uri, auth=CONFIDENTIAL):
    assert flow.kind == "redirect" and flow.code, (flow.kind, flow.query)
    r = token(server, auth, grant_type="authorization_code", code=flow.code,
              redirect_uri=redirect_uri, code_verifier=flow.verifier)
    assert r.status_code == 200, r.text
    return r.json()


def ehr_launch(server, user="inferno-clinician", client="inferno-confidential", ctx=None):
    """The guide's step 2 of the EHR launch: POST /rpc as the EHR stand-in."""
    body = {"method": "aidbox.smart/get-launch-uri",
            "params": {"user": user, "client": client, "iss": server.fhir_base,
                       "ctx": ctx if ctx is not None else {"patient": "pt-1",
                                                           "encounter": "enc-1-3"}}}
    r = requests.post(server.url("/rpc"), json=body, auth=EHR, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["result"]


# ---- docs/inferno.md -------------------------------------------------------

def test_inferno_guide_sql_registers_the_clients_it_describes(guide):
    rows = dict(guide_db_query(guide, "SELECT id, jsonb_build_object('grant_types', grant_types, "
                               "'launch_uri', launch_uri, 'has_secret', has_secret, "
                               "'has_jwks', has_jwks, 'jwks_uri', jwks_uri, 'scope', scope) "
                               "FROM smart.clients_v WHERE id LIKE 'inferno-%'"))
    assert set(rows) == {"inferno-public", "inferno-confidential", "inferno-asymmetric",
                         "inferno-backend", "inferno-introspector", "inferno-ehr"}
    # The jsonb_set step moved the launch URI and kept the secret.
    assert rows["inferno-confidential"]["launch_uri"] == INFERNO + "/smart_stu2_2/launch"
    assert rows["inferno-confidential"]["has_secret"] is True
    assert rows["inferno-public"]["has_secret"] is False
    assert rows["inferno-asymmetric"]["jwks_uri"].startswith(INFERNO)
    assert rows["inferno-backend"]["scope"] == "system/*.rs"
    assert rows["inferno-introspector"]["scope"] == "smartauth/introspect"


def guide_db_query(server, sql):
    c = psycopg2.connect(server_conninfo(server))
    c.autocommit = True
    try:
        with c.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        c.close()


def test_inferno_guide_registers_every_redirect_uri_of_its_address_table(guide):
    text = read(GUIDE)
    table = set(re.findall(r"`(https://inferno\.healthit\.gov/suites/custom/[a-z0-9_]+/redirect)`",
                           text))
    assert INFERNO + "/smart/redirect" in table and STU2_2_REDIRECT in table
    for cid in ("inferno-public", "inferno-confidential", "inferno-asymmetric"):
        registered = guide_db_query(guide, "SELECT redirect_uris FROM smart.clients_v "
                                    f"WHERE id = '{cid}'")[0][0]
        assert set(registered) == table, cid


def test_inferno_guide_standalone_launch_as_a_patient_needs_only_login_and_consent(guide):
    scope = "launch/patient openid fhirUser offline_access patient/*.rs"
    flow = start(guide, "inferno-confidential", STU2_2_REDIRECT, scope,
                 username="inferno-patient", password="choose-one")
    kinds = [kind for kind, _ in flow.pages]
    # No patient picker for a patient user; consent is skipped only when remembered.
    assert kinds[0] == "login" and kinds[-1] == "redirect", kinds
    assert set(kinds) <= {"login", "consent", "redirect"}, kinds
    t = exchange(guide, flow, STU2_2_REDIRECT)
    assert t["patient"] == "pt-1"
    assert set(t["scope"].split()) == set(scope.split())
    assert t["refresh_token"] and t["id_token"] and t["expires_in"] == 3600
    fhir_user = requests.get(guide.fhir_base + "/Patient/pt-1", timeout=30,
                             headers={"Authorization": "Bearer " + t["access_token"]})
    assert fhir_user.status_code == 200


def test_inferno_guide_introspection_header_sees_another_clients_token(guide):
    scope = "launch/patient openid fhirUser patient/*.rs"
    flow = start(guide, "inferno-public", STU2_2_REDIRECT, scope,
                 username="inferno-patient", password="choose-one")
    assert flow.kind == "redirect" and flow.code
    r = requests.post(guide.auth_base + "/token", timeout=30, data={
        "grant_type": "authorization_code", "code": flow.code, "client_id": "inferno-public",
        "redirect_uri": STU2_2_REDIRECT, "code_verifier": flow.verifier})
    assert r.status_code == 200, r.text
    t = r.json()
    # The guide's custom header, built the way it says.
    header = "Basic " + base64.b64encode(":".join(INTROSPECTOR).encode()).decode()
    active = requests.post(guide.auth_base + "/introspect", data={"token": t["access_token"]},
                           headers={"Authorization": header}, timeout=30)
    assert active.status_code == 200, active.text
    body = active.json()
    assert body["active"] is True and body["client_id"] == "inferno-public"
    assert body["patient"] == "pt-1"
    assert set(body["scope"].split()) == set(t["scope"].split())
    invalid = requests.post(guide.auth_base + "/introspect", data={"token": "invalid_token_value"},
                            headers={"Authorization": header}, timeout=30)
    assert invalid.status_code == 200 and invalid.json() == {"active": False}
    # Without the header, as Inferno sends it by default: refused.
    anonymous = requests.post(guide.auth_base + "/introspect", timeout=30,
                              data={"token": t["access_token"]})
    assert anonymous.status_code == 401


def test_inferno_guide_ehr_launch_through_rpc_reaches_the_registered_launch_uri(guide):
    res = ehr_launch(guide)
    launch_uri = INFERNO + "/smart_stu2_2/launch"
    assert res["launch-uri"] == launch_uri
    uri = urllib.parse.urlsplit(res["uri"])
    assert urllib.parse.urlunsplit(uri._replace(query="")) == launch_uri
    q = urllib.parse.parse_qs(uri.query)
    assert q["iss"] == [guide.fhir_base]  # string-equal to the FHIR Endpoint input
    assert q["launch"] == [res["launch"]]


def test_inferno_guide_ehr_launch_needs_user_practitioner_scope_for_the_fhiruser_read(guide):
    """Section 5: with patient/ scopes only, the practitioner's own resource is out of reach."""
    results = {}
    for extra in ("", " user/Practitioner.rs"):
        res = ehr_launch(guide)
        flow = start(guide, "inferno-confidential", STU2_2_REDIRECT, EHR_SCOPES_STU2 + extra,
                     launch=res["launch"], username="inferno-clinician",
                     password="choose-another")
        assert "patient" not in [kind for kind, _ in flow.pages]  # the EHR chose
        t = exchange(guide, flow, STU2_2_REDIRECT)
        assert t["patient"] == "pt-1" and t["encounter"] == "enc-1-3"
        assert "need_patient_banner" in t and t["smart_style_url"]
        r = requests.get(guide.fhir_base + "/Practitioner/pr-1", timeout=30,
                         headers={"Authorization": "Bearer " + t["access_token"]})
        results[extra] = r.status_code
    assert results == {"": 404, " user/Practitioner.rs": 200}


def test_inferno_guide_ehr_launch_refuses_another_user_than_the_launchs(guide):
    res = ehr_launch(guide)
    flow = start(guide, "inferno-confidential", STU2_2_REDIRECT, EHR_SCOPES_STU2,
                 launch=res["launch"], username="inferno-patient", password="choose-one")
    assert flow.kind != "redirect" or flow.error, "a launch for one user served another"


def test_inferno_guide_revocation_recipe_stops_the_access_token(guide):
    scope = "launch/patient openid fhirUser offline_access patient/*.rs"
    flow = start(guide, "inferno-confidential", STU2_2_REDIRECT, scope,
                 username="inferno-patient", password="choose-one")
    t = exchange(guide, flow, STU2_2_REDIRECT)
    bearer = {"Authorization": "Bearer " + t["access_token"]}
    assert requests.get(guide.fhir_base + "/Patient/pt-1", headers=bearer,
                        timeout=30).status_code == 200
    r = requests.post(guide.auth_base + "/revoke", auth=CONFIDENTIAL, timeout=30,
                      data={"token": t["refresh_token"]})
    assert r.status_code == 200
    assert requests.get(guide.fhir_base + "/Patient/pt-1", headers=bearer,
                        timeout=30).status_code == 401
    again = token(guide, CONFIDENTIAL, grant_type="refresh_token",
                  refresh_token=t["refresh_token"])
    assert again.status_code in (400, 401) and again.json()["error"] == "invalid_grant"


def test_inferno_guide_backend_answers_match_its_table(guide):
    bad_grant = requests.post(guide.auth_base + "/token", timeout=30, data={
        "grant_type": "not_a_grant_type", "scope": "system/*.rs",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "x.y.z"})
    assert bad_grant.status_code == 400
    assert bad_grant.json()["error"] == "unsupported_grant_type"
    bad_type = requests.post(guide.auth_base + "/token", timeout=30, data={
        "grant_type": "client_credentials", "scope": "system/*.rs",
        "client_assertion_type": "not_an_assertion_type", "client_assertion": "x.y.z"})
    assert bad_type.status_code == 400 and bad_type.json()["error"] == "invalid_request"


def test_inferno_guide_names_the_endpoints_discovery_publishes(guide):
    conf = requests.get(guide.fhir_base + "/.well-known/smart-configuration", timeout=30).json()
    for key, path in (("introspection_endpoint", "/introspect"),
                      ("revocation_endpoint", "/revoke")):
        assert conf[key] == guide.auth_base + path
    for cap in ("client-public", "client-confidential-symmetric",
                "client-confidential-asymmetric", "authorize-post", "launch-ehr",
                "launch-standalone", "sso-openid-connect"):
        assert cap in conf["capabilities"], cap
    for alg in ("ES384", "RS384"):
        assert alg in conf["token_endpoint_auth_signing_alg_values_supported"]


# ---- manual pages ----------------------------------------------------------

@pytest.fixture(scope="module")
def man_db(pg):
    """A database of its own with the demo data: the examples change users."""
    pg.exec('DROP DATABASE IF EXISTS "man_examples"')
    pg.exec('CREATE DATABASE "man_examples"')
    conninfo = re.sub(r"dbname=\S+", "dbname=man_examples", pg.conninfo)
    r = subprocess.run([os.path.join(ROOT, "scripts", "migrate"), "--demo", conninfo],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return conninfo


@pytest.mark.parametrize("page", ["smartauth-sql.7", "smartauth-launch-uri.8",
                                  "smartauth-authorize.8", "smartauth-token.8",
                                  "smartauth-fhir.8"])
def test_man_page_sql_examples_run_as_written(man_db, page):
    blocks = [b for b in man_blocks(page) if b.lstrip().startswith("SELECT")]
    assert blocks, f"{page} has no SQL example"
    for sql in blocks:
        r = psql(man_db, sql if sql.rstrip().endswith(";") else sql.rstrip() + ";")
        assert r.returncode == 0, f"{page} example failed:\n{sql}\n{r.stderr}"


def test_sql_man_page_resource_shapes_are_accepted_by_smart_put(man_db):
    shapes = [b for b in man_blocks("smartauth-sql.7") if b.lstrip().startswith('{"resourceType"')]
    assert {json.loads(b)["resourceType"] for b in shapes} == {"Client", "User", "Role",
                                                                "AccessPolicy"}
    for b in shapes:
        r = psql(man_db, "SELECT smart.put($j$" + b + "$j$::jsonb);")
        assert r.returncode == 0, f"shape refused:\n{b}\n{r.stderr}"


def test_sql_man_page_revoke_user_returns_the_documented_columns(man_db):
    r = psql(man_db, "\\pset format unaligned\nSELECT * FROM smart.revoke_user('bob');")
    assert r.returncode == 0, r.stderr
    header = r.stdout.splitlines()[0].split("|")
    assert header == ["revoked_access_tokens", "revoked_refresh_tokens", "revoked_sessions",
                      "deleted_codes"]
    assert "revoked_access_tokens bigint, revoked_refresh_tokens bigint" in \
        " ".join(read(os.path.join(MAN, "smartauth-sql.7")).split())
    missing = psql(man_db, "SELECT * FROM smart.revoke_user('no-such-user');")
    assert missing.returncode != 0 and "no User" in missing.stderr


def test_conf_man_page_quotes_the_real_refusal_of_a_bad_override(tmp_path):
    conf = tmp_path / "smartauth.conf"
    conf.write_text("database = dbname=nothing\nkey_dir = /nonexistent\n")
    env = dict(os.environ, SMARTAUTH_CONF=str(conf), SMARTAUTH_CODE_LIFETIME="5")
    r = subprocess.run([os.path.join(BUILD, "cgi-bin", "token"), "--check-config"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 1
    said = "code_lifetime must be an integer from 10 to 600 (from SMARTAUTH_CODE_LIFETIME)"
    assert said in r.stderr
    page = " ".join(read(os.path.join(MAN, "smartauth.conf.5")).split())
    assert said in page
