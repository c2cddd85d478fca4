"""The SQL admin interface (DESIGN §3): scripts/migrate, smart.put,
smart.delete, smart.get, the DBA views, the shipped default policies and
the demo data, against a real PostgreSQL.

Tests share the session cluster of conftest.py; every resource they create
has an id starting with "t-" so they never touch what other tests rely on.
Tests that need a database of their own (concurrent migrations, a failing
migration, the demo data) create one in the same cluster.
"""
import json
import os
import re
import select
import shutil
import subprocess

import psycopg2
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MIGRATE = os.path.join(ROOT, "scripts", "migrate")
SQLDIR = os.path.join(ROOT, "sql")
MIGRATIONS = sorted(f for f in os.listdir(SQLDIR) if re.match(r"^[0-9]{3}_.*\.sql$", f))


def migrate(*args):
    return subprocess.run([MIGRATE, *args], capture_output=True, text=True, timeout=120)


def put(pg, resource):
    return pg.query("SELECT smart.put(%s::jsonb)", (json.dumps(resource),))[0][0]


def get(pg, rtype, rid):
    return pg.query("SELECT smart.get(%s, %s)", (rtype, rid))[0][0]


def put_error(pg, resource):
    """smart.put must fail; returns the error's primary message."""
    with pytest.raises(psycopg2.Error) as err:
        put(pg, resource)
    return err.value.diag.message_primary


def snapshot(pg):
    """Row counts of every table in schema smart, and the config version."""
    tables = [t for (t,) in pg.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'smart' ORDER BY 1")]
    counts = {t: pg.query(f'SELECT count(*) FROM smart."{t}"')[0][0] for t in tables}
    counts["config_version.version"] = config_version(pg)
    return counts


def config_version(pg):
    return pg.query("SELECT version FROM smart.config_version")[0][0]


def create_database(pg, name):
    pg.exec(f'DROP DATABASE IF EXISTS "{name}"')
    pg.exec(f'CREATE DATABASE "{name}"')
    return re.sub(r"dbname=\S+", f"dbname={name}", pg.conninfo)


def query_db(conninfo, sql, params=None):
    c = psycopg2.connect(conninfo)
    c.autocommit = True
    try:
        with c.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        c.close()


CLIENT = {
    "resourceType": "Client", "id": "t-client", "secret": "t-client-plain-secret-3141",
    "name": "Test app", "grant_types": ["authorization_code", "refresh_token"],
    "auth": {"authorization_code": {"redirect_uri": "https://app.example/cb",
                                    "refresh_token": True, "secret_required": True,
                                    "access_token_expiration": 3600}},
    "smart": {"launch_uri": "https://app.example/launch"},
    "scope": "launch openid fhirUser patient/*.rs",
}


# ---------------------------------------------------------------- migrate

def test_migrate_twice_is_noop(pg):
    before = snapshot(pg)
    names = pg.query("SELECT name, applied_at FROM smart.migrations ORDER BY name")
    r = migrate(pg.conninfo)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert snapshot(pg) == before
    assert pg.query("SELECT name, applied_at FROM smart.migrations ORDER BY name") == names


def test_migrate_records_every_file(pg):
    names = [n for (n,) in pg.query("SELECT name FROM smart.migrations ORDER BY name")]
    assert names == sorted(MIGRATIONS + ["defaults.sql"])


def test_migrate_concurrent_runs_apply_each_file_once(pg):
    conninfo = create_database(pg, "t_sqladmin_concurrent")
    procs = [subprocess.Popen([MIGRATE, conninfo], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1] for o in outs]
    applied = "".join(o[0] for o in outs).splitlines()
    assert sorted(applied) == sorted(f"migrate: applied {n}" for n in MIGRATIONS + ["defaults.sql"])
    assert query_db(conninfo, "SELECT count(*) FROM smart.access_policies")[0][0] == 6


def test_migrate_failure_rolls_back_file_and_exits_nonzero(pg, tmp_path):
    conninfo = create_database(pg, "t_sqladmin_broken")
    sqldir = tmp_path / "sql"
    shutil.copytree(SQLDIR, sqldir)
    (sqldir / "999_broken.sql").write_text(
        "CREATE TABLE smart.half_done (x int);\nSELECT 1 / 0;\n")
    r = migrate(conninfo, str(sqldir))
    assert r.returncode != 0
    assert "division by zero" in r.stderr
    assert "999_broken.sql" in r.stderr
    rows = query_db(conninfo, "SELECT to_regclass('smart.half_done') IS NULL, "
                    "(SELECT count(*) FROM smart.migrations WHERE name = '999_broken.sql')")
    assert rows == [(True, 0)]
    # the files before it stay applied, and a fixed file applies on the next run
    (sqldir / "999_broken.sql").write_text("CREATE TABLE smart.half_done (x int);\n")
    r = migrate(conninfo, str(sqldir))
    assert r.returncode == 0, r.stderr
    assert "applied 999_broken.sql" in r.stdout


def test_migrate_unreachable_database_fails(pg, tmp_path):
    r = migrate(f"host={tmp_path} port=1 dbname=nothing connect_timeout=2")
    assert r.returncode == 1
    assert "psql" in r.stderr and "migrate: cannot read smart.migrations" in r.stderr
    assert r.stdout == ""


def test_migrate_help(pg):
    r = migrate("--help")
    assert r.returncode == 0
    assert "usage: migrate" in r.stdout and "--demo" in r.stdout
    r = migrate()
    assert r.returncode == 2


# ---------------------------------------------------------------- put: round trips

def test_put_client_round_trip(pg):
    stored = put(pg, CLIENT)
    expected = {k: v for k, v in CLIENT.items() if k != "secret"}
    assert stored == expected
    assert get(pg, "Client", "t-client") == expected
    row = pg.query("SELECT grant_types, redirect_uris, launch_uri, scope, secret_required, "
                   "secret_hash IS NOT NULL FROM smart.clients WHERE id = 't-client'")[0]
    assert row == (["authorization_code", "refresh_token"], ["https://app.example/cb"],
                   "https://app.example/launch", CLIENT["scope"], True, True)
    # replace: redirect_uri as an array, launch_uri changed
    c2 = json.loads(json.dumps(CLIENT))
    c2["auth"]["authorization_code"]["redirect_uri"] = ["https://app.example/cb",
                                                        "com.example.app:/oauth2"]
    c2["smart"]["launch_uri"] = "https://app.example/launch2"
    put(pg, c2)
    assert pg.query("SELECT redirect_uris, launch_uri FROM smart.clients WHERE id = 't-client'")[0] == \
        (["https://app.example/cb", "com.example.app:/oauth2"], "https://app.example/launch2")


def test_put_backend_client_with_jwks(pg):
    key = {"kty": "EC", "crv": "P-384", "kid": "k1", "alg": "ES384",
           "x": "ZOh4yqNOZ7kfChH6rkV8HHVzwt9ywmfhvU8rQiCMrM9cmrzmVxKC7FMv9PHk1RzH",
           "y": "Gaa7S3zQvMXZ4Kl0BgRtMpB0o8fvOjLtjA9LAaRi0dRz6NJsc9sTgBTDKMt6BBqi"}
    c = {"resourceType": "Client", "id": "t-backend", "grant_types": ["client_credentials"],
         "scope": "system/*.rs", "jwks": {"keys": [key]}}
    assert put(pg, c) == c
    assert pg.query("SELECT jwks, secret_required FROM smart.clients WHERE id = 't-backend'")[0] == \
        ({"keys": [key]}, False)
    c2 = {"resourceType": "Client", "id": "t-backend", "grant_types": ["client_credentials"],
          "jwks_uri": "https://app.example/jwks.json"}
    put(pg, c2)
    assert pg.query("SELECT jwks, jwks_uri FROM smart.clients WHERE id = 't-backend'")[0] == \
        (None, "https://app.example/jwks.json")


def test_put_user_round_trip(pg):
    u = {"resourceType": "User", "id": "t-user", "password": "t-user-plain-password-2718",
         "fhirUser": "Patient/t-pt", "email": "T.User@example.org",
         "name": {"givenName": "Tess", "familyName": "User"}}
    expected = {k: v for k, v in u.items() if k != "password"}
    assert put(pg, u) == expected
    assert get(pg, "User", "t-user") == expected
    assert pg.query("SELECT fhir_user, email, active FROM smart.users WHERE id = 't-user'")[0] == \
        ("Patient/t-pt", "T.User@example.org", True)
    # a Reference object is accepted and stored as "Type/id"
    put(pg, {"resourceType": "User", "id": "t-user2", "password": "x-password",
             "fhirUser": {"resourceType": "Practitioner", "id": "t-pr"}, "inactive": True})
    assert pg.query("SELECT fhir_user, active FROM smart.users WHERE id = 't-user2'")[0] == \
        ("Practitioner/t-pr", False)


def test_put_role_round_trip(pg):
    put(pg, {"resourceType": "User", "id": "t-role-user", "password": "pw-role-user"})
    r = {"resourceType": "Role", "id": "t-role", "name": "patient",
         "user": {"id": "t-role-user", "resourceType": "User"},
         "links": {"patient": {"id": "t-pt", "resourceType": "Patient"}}}
    assert put(pg, r) == r
    assert get(pg, "Role", "t-role") == r
    assert pg.query("SELECT name, user_id, links FROM smart.roles WHERE id = 't-role'")[0] == \
        ("patient", "t-role-user", r["links"])
    assert pg.query("SELECT roles FROM smart.users_v WHERE id = 't-role-user'")[0][0] == ["patient"]


POLICIES = {
    "allow": {"resourceType": "AccessPolicy", "id": "t-policy-allow", "engine": "allow",
              "roleName": "practitioner"},
    "matcho": {"resourceType": "AccessPolicy", "id": "t-policy-matcho", "engine": "matcho",
               "link": [{"resourceType": "Client", "id": "t-client"},
                        {"resourceType": "User", "id": "t-user"}],
               "matcho": {"uri": "#^/fhir/(Patient|Observation)$", "request-method": "get",
                          "params": {"patient": ".role.links.patient.id",
                                     "category": {"$enum": ["laboratory", "vital-signs"]},
                                     "_count": "present?"},
                          "user": {"fhirUser": {"$reference": {"resourceType": "Patient"}}},
                          "client": {"grant_types": {"$contains": "authorization_code"}},
                          "jwt": {"scope": {"$one-of": ["#patient/", "#user/"]}},
                          "body": {"$not": {"resourceType": "Bundle"}},
                          "headers": {"$present-all": ["x"], "$length": 1}}},
    "complex": {"resourceType": "AccessPolicy", "id": "t-policy-complex", "engine": "complex",
                "or": [{"engine": "matcho", "matcho": {"uri": "/rpc"}},
                       {"engine": "complex",
                        "and": [{"engine": "allow"},
                                {"engine": "matcho", "matcho": {"request-method": "get"}}]}]},
}


@pytest.mark.parametrize("engine", sorted(POLICIES))
def test_put_access_policy_round_trip(pg, engine):
    p = POLICIES[engine]
    try:
        assert put(pg, p) == p
        assert get(pg, "AccessPolicy", p["id"]) == p
        row = pg.query("SELECT engine, role_name, link_clients, link_users FROM smart.access_policies "
                       "WHERE id = %s", (p["id"],))[0]
        assert row[0] == engine
        assert row[1] == p.get("roleName")
        assert row[2] == [l["id"] for l in p.get("link", []) if l["resourceType"] == "Client"]
        assert row[3] == [l["id"] for l in p.get("link", []) if l["resourceType"] == "User"]
    finally:
        # These policies grant broadly (the complex one lets anyone call
        # /rpc): none may outlive its test and change what later ones see.
        pg.query("SELECT smart.delete('AccessPolicy', %s)", (p["id"],))


def test_put_access_policy_link_by_reference(pg):
    put(pg, {"resourceType": "AccessPolicy", "id": "t-policy-ref", "engine": "allow",
             "link": [{"reference": "Client/t-client"}, {"reference": "User/t-user"}]})
    assert pg.query("SELECT link_clients, link_users FROM smart.access_policies "
                    "WHERE id = 't-policy-ref'")[0] == (["t-client"], ["t-user"])


def test_put_fhir_patient_version_increments(pg):
    p = {"resourceType": "Patient", "id": "t-pt", "gender": "female",
         "name": [{"family": "Tester", "given": ["Tina"]}], "meta": {"versionId": "99", "tag": [{"code": "x"}]}}
    s1 = put(pg, p)
    assert s1["meta"]["versionId"] == "1"
    assert s1["meta"]["tag"] == [{"code": "x"}]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", s1["meta"]["lastUpdated"])
    p["gender"] = "other"
    s2 = put(pg, p)
    assert s2["meta"]["versionId"] == "2"
    assert get(pg, "Patient", "t-pt") == s2
    rows = pg.query("SELECT version_id, deleted, resource->>'gender' FROM smart.fhir_history "
                    "WHERE resource_type = 'Patient' AND id = 't-pt' ORDER BY version_id")
    assert rows == [(1, False, "female"), (2, False, "other")]
    assert pg.query("SELECT version_id, patient_id FROM smart.fhir_resources "
                    "WHERE resource_type = 'Patient' AND id = 't-pt'")[0] == (2, "t-pt")


def test_put_fhir_resource_sets_patient_compartment(pg):
    put(pg, {"resourceType": "Observation", "id": "t-obs", "status": "final",
             "code": {"text": "x"}, "subject": {"reference": "Patient/t-pt"}})
    assert pg.query("SELECT patient_id FROM smart.fhir_resources "
                    "WHERE resource_type = 'Observation' AND id = 't-obs'")[0][0] == "t-pt"


def test_put_array_returns_array_in_order(pg):
    out = put(pg, [{"resourceType": "Role", "id": "t-arr-role", "name": "patient",
                    "user": {"id": "t-arr-user"}},
                   {"resourceType": "User", "id": "t-arr-user", "password": "arr-password"},
                   {"resourceType": "Patient", "id": "t-arr-pt"}])
    assert [r["id"] for r in out] == ["t-arr-role", "t-arr-user", "t-arr-pt"]
    assert "password" not in out[1]
    assert put(pg, []) == []


def test_put_array_is_all_or_nothing(pg):
    before = snapshot(pg)
    with pytest.raises(psycopg2.Error) as err:
        put(pg, [{"resourceType": "Client", "id": "t-aon-good", "secret": "aon-secret"},
                 {"resourceType": "Client", "id": "t-aon-bad", "grant_types": "client_credentials"},
                 {"resourceType": "Patient", "id": "t-aon-pt"}])
    assert 'Client "t-aon-bad": grant_types must be an array' in err.value.diag.message_primary
    assert "element 1" in err.value.diag.message_detail
    assert snapshot(pg) == before
    assert get(pg, "Client", "t-aon-good") is None
    assert get(pg, "Patient", "t-aon-pt") is None


# ---------------------------------------------------------------- put: rejections

REJECTIONS = [
    # (test id, resource, words the error must contain)
    ("not_an_object", ["Client"], "must be a JSON object"),
    ("missing_resource_type", {"id": "t-x"}, "resourceType is required"),
    ("unknown_resource_type", {"resourceType": "patient", "id": "t-x"}, 'resourceType "patient" is unknown'),
    ("unsupported_aidbox_type", {"resourceType": "TokenIntrospector", "id": "t-x"},
     'resourceType "TokenIntrospector" is unknown'),
    ("missing_id", {"resourceType": "Client", "grant_types": []}, "Client: id is required"),
    ("empty_id", {"resourceType": "User", "id": ""}, "User: id is required"),
    ("id_not_a_string", {"resourceType": "Patient", "id": 7}, "id must be a string"),
    ("bad_id_characters", {"resourceType": "Client", "id": "t x/y"}, 'Client "t x/y": id must be'),
    ("id_too_long", {"resourceType": "Patient", "id": "a" * 65}, "id must be 1 to 64"),
    ("redirect_uri_wrong_type",
     {"resourceType": "Client", "id": "t-x", "auth": {"authorization_code": {"redirect_uri": 42}}},
     'Client "t-x": auth.authorization_code.redirect_uri must be a string or an array of strings'),
    ("redirect_uri_array_of_numbers",
     {"resourceType": "Client", "id": "t-x", "auth": {"authorization_code": {"redirect_uri": [1]}}},
     "auth.authorization_code.redirect_uri must be a string or an array of strings"),
    ("redirect_uri_relative",
     {"resourceType": "Client", "id": "t-x", "auth": {"authorization_code": {"redirect_uri": "/cb"}}},
     "auth.authorization_code.redirect_uri must be an absolute URI"),
    ("redirect_uri_fragment",
     {"resourceType": "Client", "id": "t-x",
      "auth": {"authorization_code": {"redirect_uri": ["https://a.example/cb", "https://a.example/cb#x"]}}},
     "auth.authorization_code.redirect_uri[1] must be an absolute URI without a fragment"),
    ("redirect_uri_javascript",
     {"resourceType": "Client", "id": "t-x",
      "auth": {"authorization_code": {"redirect_uri": "javascript:alert(1)"}}},
     "auth.authorization_code.redirect_uri must be an absolute URI"),
    ("grant_types_not_array", {"resourceType": "Client", "id": "t-x", "grant_types": "authorization_code"},
     "grant_types must be an array"),
    ("grant_types_unknown", {"resourceType": "Client", "id": "t-x", "grant_types": ["authorisation_code"]},
     'grant_types[0] must be one of'),
    ("refresh_token_not_boolean",
     {"resourceType": "Client", "id": "t-x", "auth": {"authorization_code": {"refresh_token": "yes"}}},
     "auth.authorization_code.refresh_token must be a boolean"),
    ("access_token_expiration_negative",
     {"resourceType": "Client", "id": "t-x",
      "auth": {"authorization_code": {"access_token_expiration": -5}}},
     "auth.authorization_code.access_token_expiration must be a positive integer"),
    ("auth_unknown_grant",
     {"resourceType": "Client", "id": "t-x", "auth": {"authorisation_code": {}}},
     "auth.authorisation_code is not a grant type"),
    ("secret_not_string", {"resourceType": "Client", "id": "t-x", "secret": 12345},
     "secret must be a non-empty string"),
    ("secret_required_without_secret",
     {"resourceType": "Client", "id": "t-x", "auth": {"authorization_code": {"secret_required": True}}},
     "secret_required is true but the client has no secret"),
    ("launch_uri_not_http", {"resourceType": "Client", "id": "t-x", "smart": {"launch_uri": "ftp://x/y"}},
     "smart.launch_uri must be an http(s) URL"),
    ("scope_not_string", {"resourceType": "Client", "id": "t-x", "scope": ["a"]}, "scope must be a string"),
    ("jwks_without_keys", {"resourceType": "Client", "id": "t-x", "jwks": {}}, "jwks.keys is required"),
    ("jwks_private_key",
     {"resourceType": "Client", "id": "t-x", "jwks": {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB", "d": "s"}]}},
     "jwks.keys[0] holds private key material"),
    ("jwks_symmetric_key",
     {"resourceType": "Client", "id": "t-x", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
     "jwks.keys[0].kty must be"),
    ("jwks_uri_plain_http", {"resourceType": "Client", "id": "t-x", "jwks_uri": "http://keys.example/jwks"},
     "jwks_uri must be an https URL"),
    ("jwks_and_jwks_uri",
     {"resourceType": "Client", "id": "t-x", "jwks": {"keys": []}, "jwks_uri": "https://k.example/jwks"},
     "jwks and jwks_uri cannot both be given"),
    ("password_not_string", {"resourceType": "User", "id": "t-x", "password": True},
     "password must be a non-empty string"),
    ("fhir_user_not_reference", {"resourceType": "User", "id": "t-x", "fhirUser": "pt-1"},
     "fhirUser must be a reference"),
    ("fhir_user_wrong_type", {"resourceType": "User", "id": "t-x", "fhirUser": "Observation/o1"},
     "fhirUser must be a reference"),
    ("role_for_missing_user", {"resourceType": "Role", "id": "t-x", "name": "patient", "user": {"id": "t-nobody"}},
     'Role "t-x": user.id "t-nobody" does not name an existing User'),
    ("role_without_user", {"resourceType": "Role", "id": "t-x", "name": "patient"}, "user is required"),
    ("role_without_name", {"resourceType": "Role", "id": "t-x", "user": {"id": "t-user"}}, "name is required"),
    ("role_links_not_object",
     {"resourceType": "Role", "id": "t-x", "name": "patient", "user": {"id": "t-user"}, "links": ["pt-1"]},
     "links must be an object"),
    ("policy_without_engine", {"resourceType": "AccessPolicy", "id": "t-x"}, "engine is required"),
    ("policy_unknown_engine", {"resourceType": "AccessPolicy", "id": "t-x", "engine": "json-schema"},
     'engine "json-schema" is unknown'),
    ("policy_sql_engine", {"resourceType": "AccessPolicy", "id": "t-x", "engine": "sql",
                           "sql": {"query": "SELECT true"}}, 'engine "sql" is not supported'),
    ("matcho_bad_regex",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "matcho", "matcho": {"uri": "#^/fhir/(Patient"}},
     "matcho.uri: malformed matcho: bad regular expression"),
    ("matcho_not_object", {"resourceType": "AccessPolicy", "id": "t-x", "engine": "matcho", "matcho": "#.*"},
     "matcho must be an object"),
    ("matcho_missing", {"resourceType": "AccessPolicy", "id": "t-x", "engine": "matcho"}, "matcho is required"),
    ("matcho_unknown_operator",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "matcho", "matcho": {"params": {"$any": [1]}}},
     "matcho.params.$any: malformed matcho: unknown operator"),
    ("matcho_operator_with_other_keys",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "matcho",
      "matcho": {"uri": {"$one-of": ["/a"], "x": 1}}},
     "malformed matcho: $one-of cannot share an object"),
    ("matcho_enum_not_array",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "matcho", "matcho": {"uri": {"$enum": "/a"}}},
     "matcho.uri.$enum: malformed matcho"),
    ("matcho_length_fraction",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "matcho",
      "matcho": {"a": {"$present-all": ["x"], "$length": 1.5}}},
     "matcho.a.$length: malformed matcho"),
    ("complex_and_not_array",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "complex", "and": {"engine": "allow"}},
     "and must be a non-empty array of rules"),
    ("matcho_bad_path",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "matcho", "matcho": {"user": {"id": ".user..id"}}},
     "matcho.user.id: malformed matcho: bad path"),
    ("allow_with_matcho",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "allow", "matcho": {"uri": "/rpc"}},
     "matcho is only read by engine matcho"),
    ("complex_with_and_and_or",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "complex",
      "and": [{"engine": "allow"}], "or": [{"engine": "allow"}]},
     "malformed complex rule: give either and or or, not both"),
    ("complex_without_rules", {"resourceType": "AccessPolicy", "id": "t-x", "engine": "complex"},
     "malformed complex rule"),
    ("complex_empty_and", {"resourceType": "AccessPolicy", "id": "t-x", "engine": "complex", "and": []},
     "and must be a non-empty array of rules"),
    ("complex_nested_bad_rule",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "complex",
      "or": [{"engine": "allow"}, {"engine": "complex", "and": [{"engine": "matcho", "matcho": {"uri": "#["}}]}]},
     "or[1].and[0].matcho.uri: malformed matcho"),
    ("policy_link_bad_type",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "allow", "link": [{"resourceType": "Operation", "id": "o"}]},
     'link[0].resourceType must be "Client" or "User"'),
    ("policy_link_empty", {"resourceType": "AccessPolicy", "id": "t-x", "engine": "allow", "link": []},
     "link must be a non-empty array"),
    ("matcho_regex_too_long",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "matcho", "matcho": {"uri": "#" + "a" * 1025}},
     "matcho.uri: malformed matcho: regular expression longer than 1024 bytes"),
    ("policy_role_name_not_string",
     {"resourceType": "AccessPolicy", "id": "t-x", "engine": "allow", "roleName": ["patient"]},
     "roleName must be a non-empty string"),
    ("fhir_meta_not_object", {"resourceType": "Patient", "id": "t-x", "meta": "v1"}, "meta must be an object"),
]


@pytest.mark.parametrize("resource,words", [(r, w) for _, r, w in REJECTIONS],
                         ids=[name for name, _, _ in REJECTIONS])
def test_put_rejects_and_changes_nothing(pg, resource, words):
    before = snapshot(pg)
    msg = put_error(pg, resource)
    assert msg.startswith("smart.put: ")
    assert words in msg, msg
    assert snapshot(pg) == before


def test_put_rejection_leaves_existing_resource_unchanged(pg):
    put(pg, {"resourceType": "Client", "id": "t-keep", "grant_types": ["client_credentials"]})
    before = snapshot(pg)
    put_error(pg, {"resourceType": "Client", "id": "t-keep", "grant_types": ["nonsense"]})
    assert snapshot(pg) == before
    assert get(pg, "Client", "t-keep")["grant_types"] == ["client_credentials"]


# ---------------------------------------------------------------- secrets

def test_secrets_and_passwords_never_stored_readable(pg):
    secret, password = "t-plain-secret-Zq8RkW", "t-plain-password-Vx3LmN"
    out = put(pg, [{"resourceType": "Client", "id": "t-secret-client", "secret": secret},
                   {"resourceType": "User", "id": "t-secret-user", "password": password}])
    assert secret not in json.dumps(out) and password not in json.dumps(out)
    assert secret not in json.dumps(get(pg, "Client", "t-secret-client"))
    assert password not in json.dumps(get(pg, "User", "t-secret-user"))
    # every column of every row of every table and view in schema smart
    relations = [r for (r,) in pg.query(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'smart' AND c.relkind IN ('r', 'v', 'm') ORDER BY 1")]
    assert "clients" in relations and "clients_v" in relations
    for rel in relations:
        hits = pg.query(f'SELECT count(*) FROM smart."{rel}" t WHERE t::text LIKE %s OR t::text LIKE %s',
                        (f"%{secret}%", f"%{password}%"))[0][0]
        assert hits == 0, rel


def test_stored_hash_verifies_with_crypt(pg):
    put(pg, {"resourceType": "User", "id": "t-crypt-user", "password": "t-crypt-password"})
    schema = pg.query("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                      "ON n.oid = e.extnamespace WHERE e.extname = 'pgcrypto'")[0][0]
    h = pg.query("SELECT password_hash FROM smart.users WHERE id = 't-crypt-user'")[0][0]
    assert re.match(r"^\$2a\$10\$[./A-Za-z0-9]{53}$", h)
    ok, bad = pg.query(f'SELECT "{schema}".crypt(%s, %s) = %s, "{schema}".crypt(%s, %s) = %s',
                       ("t-crypt-password", h, h, "wrong", h, h))[0]
    assert ok and not bad
    assert pg.query("SELECT smart.secret_verify(%s, 't-crypt-password'), smart.secret_verify(%s, 'x')",
                    (h, h))[0] == (True, False)


def test_prehashed_secret_is_stored_as_is(pg):
    h = pg.query("SELECT smart.secret_hash('t-migrated-secret')")[0][0]
    put(pg, {"resourceType": "Client", "id": "t-prehashed", "secret": h})
    assert pg.query("SELECT secret_hash FROM smart.clients WHERE id = 't-prehashed'")[0][0] == h
    # $2b$ / $2y$ hashes from other bcrypt implementations verify too
    h2b = "$2b$" + h[4:]
    put(pg, {"resourceType": "User", "id": "t-prehashed", "password": h2b})
    stored = pg.query("SELECT password_hash FROM smart.users WHERE id = 't-prehashed'")[0][0]
    assert stored == h2b
    assert pg.query("SELECT smart.secret_verify(%s, 't-migrated-secret')", (stored,))[0][0] is True


def test_replace_without_secret_keeps_hash_and_null_removes_it(pg):
    put(pg, {"resourceType": "Client", "id": "t-keep-secret", "secret": "keep-me-secret"})
    h = pg.query("SELECT secret_hash FROM smart.clients WHERE id = 't-keep-secret'")[0][0]
    put(pg, {"resourceType": "Client", "id": "t-keep-secret", "name": "renamed"})
    assert pg.query("SELECT secret_hash, secret_required FROM smart.clients WHERE id = 't-keep-secret'")[0] == (h, True)
    put(pg, {"resourceType": "Client", "id": "t-keep-secret", "secret": None})
    assert pg.query("SELECT secret_hash, secret_required FROM smart.clients WHERE id = 't-keep-secret'")[0] == (None, False)


def test_plaintext_cannot_be_written_to_hash_columns(pg):
    with pytest.raises(psycopg2.Error):
        pg.exec("UPDATE smart.clients SET secret_hash = 'plaintext' WHERE id = 't-keep'")
    with pytest.raises(psycopg2.Error):
        pg.exec("INSERT INTO smart.refresh_tokens (token_hash, family_id, client_id, expires_at) "
                "VALUES ('not-a-hash', gen_random_uuid(), 't-keep', now() + interval '1 hour')")


# ---------------------------------------------------------------- delete, get

def test_delete_admin_resources(pg):
    put(pg, [{"resourceType": "User", "id": "t-del-user", "password": "del-password"},
             {"resourceType": "Role", "id": "t-del-role", "name": "patient", "user": {"id": "t-del-user"}},
             {"resourceType": "Client", "id": "t-del-client"},
             {"resourceType": "AccessPolicy", "id": "t-del-policy", "engine": "allow"}])
    assert pg.query("SELECT smart.delete('AccessPolicy', 't-del-policy')")[0][0] is True
    assert pg.query("SELECT smart.delete('AccessPolicy', 't-del-policy')")[0][0] is False
    assert get(pg, "AccessPolicy", "t-del-policy") is None
    assert pg.query("SELECT smart.delete('Client', 't-del-client')")[0][0] is True
    assert get(pg, "Client", "t-del-client") is None
    # deleting a User takes its Roles with it
    assert pg.query("SELECT smart.delete('User', 't-del-user')")[0][0] is True
    assert get(pg, "Role", "t-del-role") is None


def test_delete_client_revokes_its_tokens(pg):
    put(pg, {"resourceType": "Client", "id": "t-del-tok"})
    pg.exec("INSERT INTO smart.access_tokens (jti, client_id, expires_at) "
            "VALUES ('t-jti-1', 't-del-tok', now() + interval '1 hour')")
    pg.query("SELECT smart.delete('Client', 't-del-tok')")
    assert pg.query("SELECT count(*) FROM smart.access_tokens WHERE jti = 't-jti-1'")[0][0] == 0


def test_delete_user_deletes_its_tokens(pg):
    put(pg, {"resourceType": "Client", "id": "t-del-utok"})
    put(pg, {"resourceType": "User", "id": "t-del-utok-user"})
    pg.exec("INSERT INTO smart.access_tokens (jti, client_id, user_id, expires_at) "
            "VALUES ('t-jti-u1', 't-del-utok', 't-del-utok-user', now() + interval '1 hour')")
    pg.exec("INSERT INTO smart.refresh_tokens (token_hash, family_id, client_id, user_id, expires_at) "
            "VALUES (repeat('a', 64), gen_random_uuid(), 't-del-utok', 't-del-utok-user', "
            "now() + interval '1 day')")
    pg.query("SELECT smart.delete('User', 't-del-utok-user')")
    assert pg.query("SELECT count(*) FROM smart.access_tokens WHERE jti = 't-jti-u1'")[0][0] == 0
    assert pg.query("SELECT count(*) FROM smart.refresh_tokens WHERE token_hash = repeat('a', 64)")[0][0] == 0


def test_renaming_a_client_id_drops_its_tokens(pg):
    put(pg, {"resourceType": "Client", "id": "t-ren-tok"})
    pg.exec("INSERT INTO smart.access_tokens (jti, client_id, expires_at) "
            "VALUES ('t-jti-r1', 't-ren-tok', now() + interval '1 hour')")
    pg.exec("UPDATE smart.clients SET id = 't-ren-tok-2' WHERE id = 't-ren-tok'")
    assert pg.query("SELECT count(*) FROM smart.access_tokens WHERE jti = 't-jti-r1'")[0][0] == 0
    # Replacing a client (same id) keeps its tokens.
    put(pg, {"resourceType": "Client", "id": "t-ren-tok-3"})
    pg.exec("INSERT INTO smart.access_tokens (jti, client_id, expires_at) "
            "VALUES ('t-jti-r3', 't-ren-tok-3', now() + interval '1 hour')")
    put(pg, {"resourceType": "Client", "id": "t-ren-tok-3", "active": True})
    assert pg.query("SELECT count(*) FROM smart.access_tokens WHERE jti = 't-jti-r3'")[0][0] == 1


def test_recreated_client_does_not_inherit_stale_token_rows(pg):
    # A row left under an id with no client (a grant that raced the
    # client's deletion) is not the token of a client created later.
    pg.exec("INSERT INTO smart.access_tokens (jti, client_id, expires_at) "
            "VALUES ('t-jti-stale', 't-reborn', now() + interval '1 hour')")
    put(pg, {"resourceType": "Client", "id": "t-reborn"})
    assert pg.query("SELECT count(*) FROM smart.access_tokens WHERE jti = 't-jti-stale'")[0][0] == 0


def test_delete_fhir_resource_keeps_history(pg):
    put(pg, {"resourceType": "Encounter", "id": "t-del-enc", "status": "finished"})
    assert pg.query("SELECT smart.delete('Encounter', 't-del-enc')")[0][0] is True
    assert pg.query("SELECT smart.delete('Encounter', 't-del-enc')")[0][0] is False
    assert get(pg, "Encounter", "t-del-enc") is None
    assert pg.query("SELECT version_id, deleted FROM smart.fhir_history WHERE resource_type = 'Encounter' "
                    "AND id = 't-del-enc' ORDER BY version_id") == [(1, False), (2, True)]
    s = put(pg, {"resourceType": "Encounter", "id": "t-del-enc", "status": "finished"})
    assert s["meta"]["versionId"] == "3"


def test_delete_unknown_type_is_refused(pg):
    with pytest.raises(psycopg2.Error) as err:
        pg.query("SELECT smart.delete('nonsense', 'x')")
    assert 'resourceType "nonsense" is unknown' in err.value.diag.message_primary


def test_get_missing_is_null(pg):
    assert get(pg, "Client", "t-no-such-client") is None
    assert get(pg, "Observation", "t-no-such-obs") is None


# ---------------------------------------------------------------- config version

def test_config_version_bumps_on_admin_changes_only(pg):
    v0 = config_version(pg)
    put(pg, {"resourceType": "Client", "id": "t-cfg"})
    assert config_version(pg) == v0 + 1
    put(pg, {"resourceType": "Patient", "id": "t-cfg"})
    assert config_version(pg) == v0 + 1
    put(pg, [{"resourceType": "User", "id": "t-cfg"},
             {"resourceType": "Role", "id": "t-cfg", "name": "x", "user": {"id": "t-cfg"}},
             {"resourceType": "AccessPolicy", "id": "t-cfg", "engine": "allow", "roleName": "x"}])
    assert config_version(pg) == v0 + 4
    pg.query("SELECT smart.delete('AccessPolicy', 't-cfg')")
    assert config_version(pg) == v0 + 5
    pg.query("SELECT smart.delete('AccessPolicy', 't-cfg')")   # nothing deleted
    assert config_version(pg) == v0 + 5


def test_config_change_notifies_listeners(pg):
    listener = pg.connect()
    try:
        with listener.cursor() as cur:
            cur.execute("LISTEN smartauth_config")
        put(pg, {"resourceType": "AccessPolicy", "id": "t-notify", "engine": "allow", "roleName": "x"})
        select.select([listener], [], [], 5)
        listener.poll()
        assert "AccessPolicy" in [n.payload for n in listener.notifies]
        assert all(n.channel == "smartauth_config" for n in listener.notifies)
    finally:
        listener.close()


# ---------------------------------------------------------------- views

def test_views_show_no_hashes(pg):
    put(pg, [{"resourceType": "Client", "id": "t-view", "secret": "view-secret"},
             {"resourceType": "User", "id": "t-view", "password": "view-password"}])
    rows = pg.query("SELECT c::text FROM smart.clients_v c WHERE id = 't-view' "
                    "UNION ALL SELECT u::text FROM smart.users_v u WHERE id = 't-view'")
    assert len(rows) == 2
    for (text,) in rows:
        assert "$2a$" not in text
    assert pg.query("SELECT has_secret FROM smart.clients_v WHERE id = 't-view'")[0][0] is True
    assert pg.query("SELECT has_password FROM smart.users_v WHERE id = 't-view'")[0][0] is True


def test_views_are_read_only(pg):
    put(pg, [{"resourceType": "Client", "id": "t-ro"}, {"resourceType": "User", "id": "t-ro"}])
    pg.exec("INSERT INTO smart.audit_events (event, outcome) VALUES ('t-ro', 'success')")
    for stmt in ("DELETE FROM smart.clients_v",
                 "UPDATE smart.users_v SET email = 'x'",
                 "INSERT INTO smart.roles_v (id) VALUES ('t-ro')",
                 "UPDATE smart.policies_v SET role_name = 'x'",
                 "DELETE FROM smart.audit_v"):
        with pytest.raises(psycopg2.Error) as err:
            pg.exec(stmt)
        assert "is read-only" in err.value.diag.message_primary


def test_audit_view_lists_events(pg):
    pg.exec("INSERT INTO smart.audit_events (user_id, client_id, event, outcome, address, detail) "
            "VALUES ('t-audit', 't-client', 'login', 'failure', '127.0.0.1', '{\"reason\": \"bad password\"}')")
    rows = pg.query("SELECT event, outcome, detail FROM smart.audit_v WHERE user_id = 't-audit'")
    assert rows == [("login", "failure", {"reason": "bad password"})]


# ---------------------------------------------------------------- defaults and demo

SEED = [
    {"resourceType": "AccessPolicy", "id": "patient-smart", "engine": "matcho", "roleName": "patient",
     "matcho": {"uri": "#/fhir/.*", "params": {"patient": ".role.links.patient.id"}}},
    {"resourceType": "AccessPolicy", "id": "smart-patient-read", "engine": "matcho", "roleName": "patient",
     "matcho": {"uri": "#/fhir/Patient/.*", "params": {"id": ".role.links.patient.id"}}},
    {"resourceType": "AccessPolicy", "id": "smart-patient-search-self", "engine": "matcho", "roleName": "patient",
     "matcho": {"uri": "#/fhir/Patient", "params": {"_id": ".role.links.patient.id"}}},
]


def test_default_policies_present(pg):
    ids = {i for (i,) in pg.query("SELECT id FROM smart.access_policies")}
    assert {"patient-smart", "smart-patient-read", "smart-patient-search-self",
            "patient-read-own", "practitioner-all", "backend-clients"} <= ids
    for p in SEED:
        assert get(pg, "AccessPolicy", p["id"]) == p
    own = get(pg, "AccessPolicy", "patient-read-own")
    assert own["roleName"] == "patient"
    assert own["matcho"] == {"request-method": "get",
                             "uri": "#^/fhir/[A-Za-z]+/[^/]+(/_history(/[^/]+)?)?$"}
    assert pg.query("SELECT engine, role_name FROM smart.access_policies WHERE id = 'practitioner-all'")[0] == \
        ("matcho", "practitioner")
    # Practitioners get the FHIR API, never /rpc (EHR clients are linked explicitly).
    assert get(pg, "AccessPolicy", "practitioner-all")["matcho"] == {"uri": "#^/fhir(/|$)"}
    backend = get(pg, "AccessPolicy", "backend-clients")
    assert backend["matcho"] == {"client": {"grant_types": {"$contains": "client_credentials"}},
                                 "uri": "#^/fhir/"}
    assert "roleName" not in backend and "link" not in backend
    # nothing lets anyone call /rpc by default
    assert not any("rpc" in json.dumps(r) for (r,) in pg.query(
        "SELECT resource FROM smart.access_policies WHERE id IN ('patient-smart', 'smart-patient-read', "
        "'smart-patient-search-self', 'patient-read-own', 'practitioner-all', 'backend-clients')"))


def test_defaults_are_not_reapplied(pg):
    conninfo = create_database(pg, "t_sqladmin_defaults")
    assert migrate(conninfo).returncode == 0
    query_db(conninfo, "SELECT smart.delete('AccessPolicy', 'practitioner-all')")
    r = migrate(conninfo)
    assert r.returncode == 0 and r.stdout == ""
    assert query_db(conninfo, "SELECT smart.get('AccessPolicy', 'practitioner-all')")[0][0] is None


def test_search_params_seeded(pg):
    rows = pg.query("SELECT resource_type, name, type FROM smart.search_params")
    names = {n for _, n, _ in rows}
    for n in ("_id", "_lastUpdated", "patient", "subject", "encounter", "code", "category", "status",
              "identifier", "gender", "name", "family", "given", "birthdate", "date"):
        assert n in names, n
    assert ("Observation", "category", "token") in rows
    assert ("Resource", "_lastUpdated", "date") in rows
    # every path evaluates against a resource
    bad = pg.query("SELECT resource_type, name FROM smart.search_params sp, unnest(sp.paths) p "
                   "WHERE jsonb_path_query_array('{\"resourceType\": \"X\"}', p) IS NULL")
    assert bad == []


def test_demo_data_loads(pg):
    conninfo = create_database(pg, "t_sqladmin_demo")
    r = migrate("--demo", conninfo)
    assert r.returncode == 0, r.stderr
    assert "migrate: loaded demo.sql" in r.stdout
    q = lambda sql, p=None: query_db(conninfo, sql, p)
    for user, password, fhir_user in (("alice", "alice-password", "Patient/pt-1"),
                                      ("bob", "bob-password", "Patient/pt-2"),
                                      ("dr-smith", "dr-smith-password", "Practitioner/pr-1")):
        assert q("SELECT smart.secret_verify(password_hash, %s), fhir_user FROM smart.users WHERE id = %s",
                 (password, user))[0] == (True, fhir_user)
    assert q("SELECT name, links #>> '{patient,id}' FROM smart.roles WHERE user_id = 'alice'") == \
        [("patient", "pt-1")]
    assert q("SELECT name, links #>> '{patient,id}' FROM smart.roles WHERE user_id = 'bob'") == \
        [("patient", "pt-2")]
    assert q("SELECT name FROM smart.roles WHERE user_id = 'dr-smith'") == [("practitioner",)]
    clients = {row[0]: row[1:] for row in q(
        "SELECT id, grant_types, redirect_uris, launch_uri, secret_required FROM smart.clients")}
    assert clients["sample-app"][:4] == (["authorization_code", "refresh_token"],
                                         ["http://127.0.0.1:8080/sample-app/index.html"],
                                         "http://127.0.0.1:8080/sample-app/launch.html", False)
    assert clients["sample-app-confidential"][3] is True
    assert "client_credentials" in clients["backend-demo"][0]
    assert q("SELECT smart.secret_verify(secret_hash, 'sample-secret') FROM smart.clients "
             "WHERE id = 'sample-app-confidential'")[0][0] is True
    assert q("SELECT smart.secret_verify(secret_hash, 'ehr-secret') FROM smart.clients WHERE id = 'ehr'")[0][0] is True
    assert q("SELECT scope FROM smart.clients WHERE id = 'backend-demo'")[0][0] == "system/*.rs"
    assert q("SELECT link_clients, resource->'matcho' FROM smart.access_policies WHERE id = 'ehr-rpc'")[0] == \
        (["ehr"], {"uri": "/rpc", "request-method": "post"})
    counts = dict(q("SELECT resource_type, count(*) FROM smart.fhir_resources GROUP BY 1"))
    assert counts["Patient"] == 5 and counts["Practitioner"] == 1
    for t in ("Encounter", "Observation", "Condition", "MedicationRequest", "AllergyIntolerance",
              "Immunization", "DocumentReference"):
        assert counts.get(t, 0) >= 1, t
    assert q("SELECT count(DISTINCT patient_id) FROM smart.fhir_resources WHERE resource_type = 'Encounter'")[0][0] == 5
    lab = q("SELECT count(*) FROM smart.fhir_resources WHERE resource_type = 'Observation' AND resource @> "
            "'{\"category\": [{\"coding\": [{\"system\": \"http://terminology.hl7.org/CodeSystem/observation-category\","
            " \"code\": \"laboratory\"}]}]}'")[0][0]
    vitals = q("SELECT count(*) FROM smart.fhir_resources WHERE resource_type = 'Observation' AND resource @> "
               "'{\"category\": [{\"coding\": [{\"code\": \"vital-signs\"}]}]}'")[0][0]
    assert lab > 0 and vitals > 0
    cats = {c for (c,) in q("SELECT resource #>> '{category,0,coding,0,code}' FROM smart.fhir_resources "
                            "WHERE resource_type = 'Condition'")}
    assert cats == {"problem-list-item", "encounter-diagnosis"}
    # references point at resources that exist
    dangling = q("SELECT DISTINCT r.resource_type, r.id, ref #>> '{}' FROM smart.fhir_resources r, "
                 "jsonb_path_query(r.resource, '$.**.reference') ref "
                 "WHERE NOT EXISTS (SELECT 1 FROM smart.fhir_resources t "
                 "WHERE t.resource_type || '/' || t.id = ref #>> '{}')")
    assert dangling == []
    # loading again is harmless
    before = q("SELECT count(*) FROM smart.fhir_resources")[0][0]
    r = migrate("--demo", conninfo)
    assert r.returncode == 0, r.stderr
    assert q("SELECT count(*) FROM smart.fhir_resources")[0][0] == before
    assert q("SELECT resource #>> '{meta,versionId}' FROM smart.fhir_resources "
             "WHERE resource_type = 'Patient' AND id = 'pt-1'")[0][0] == "2"
    assert os.path.getsize(os.path.join(SQLDIR, "demo.sql")) < 1_000_000
