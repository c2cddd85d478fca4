"""The EHR launch RPC (POST /rpc, aidbox.smart/get-launch-uri; DESIGN section 2)
against a real Apache + mod_fcgid and PostgreSQL with the demo data.

The demo client `ehr` (secret `ehr-secret`) has an AccessPolicy linked to it
that allows POST /rpc; nothing else does.  Clients and policies this module
registers are named rpct-*.
"""
import base64
import glob
import hashlib
import http.client
import json
import os
import re
import time
import urllib.parse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

EHR = ("ehr", "ehr-secret")
LAUNCH_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")
SAMPLE_LAUNCH_URI = "http://127.0.0.1:8080/sample-app/launch.html"


# ---- helpers -------------------------------------------------------------

def put(pg, resource):
    pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps(resource),))


def sha256_hex(s):
    return hashlib.sha256(s.encode()).hexdigest()


def body_for(server, user="alice", client="sample-app", iss=None, ctx=None, method=None):
    params = {"user": user, "iss": server.fhir_base if iss is None else iss, "client": client}
    if ctx is not None:
        params["ctx"] = ctx
    return {"method": method or "aidbox.smart/get-launch-uri", "params": params}


def rpc(server, body, auth=EHR, headers=None, raw=None, path="/rpc"):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    data = raw if raw is not None else json.dumps(body)
    return requests.post(server.url(path), data=data, headers=h, auth=auth, timeout=30)


def error_message(r):
    doc = r.json()
    assert set(doc) == {"error"}, doc
    assert isinstance(doc["error"]["message"], str) and doc["error"]["message"]
    return doc["error"]["message"]


def rsa_key(keydir):
    for path in sorted(glob.glob(os.path.join(keydir, "*.pem"))):
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    raise RuntimeError("no RSA key in " + keydir)


def b64u_int(n):
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def rfc7638_kid(key):
    pub = key.public_key().public_numbers()
    canon = json.dumps({"e": b64u_int(pub.e), "kty": "RSA", "n": b64u_int(pub.n)},
                       separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canon).digest()).rstrip(b"=").decode()


def mint(pg, server, keydir, client_id, user_id, *, lifetime=600, record=True, aud=None,
         key=None, kid=None, typ="at+jwt", row_lifetime=None):
    """Signs an access token as the token endpoint would and records its row."""
    key = key or rsa_key(keydir)
    now = int(time.time())
    jti = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    claims = {"iss": server.fhir_base, "sub": user_id or client_id,
              "aud": server.fhir_base if aud is None else aud,
              "exp": now + lifetime, "iat": now, "jti": jti, "client_id": client_id,
              "scope": "launch openid fhirUser"}
    token = jwt.encode(claims, key, algorithm="RS256",
                       headers={"kid": kid or rfc7638_kid(key), "typ": typ})
    if record:
        pg.exec("INSERT INTO smart.access_tokens (jti, client_id, user_id, scope, expires_at) "
                "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))",
                (jti, client_id, user_id, claims["scope"],
                 row_lifetime if row_lifetime is not None else lifetime))
    return token, jti


def bearer(token):
    return {"Authorization": "Bearer " + token}


@pytest.fixture(scope="module")
def rpc_clients(demo):
    """A client with a launch URI that has a query, and two bearer-holding
    clients: one linked to a /rpc policy, one not."""
    put(demo, {"resourceType": "Client", "id": "rpct-app-query", "secret": "x-secret",
               "grant_types": ["authorization_code"],
               "auth": {"authorization_code": {"redirect_uri": "https://app.example/cb"}},
               "smart": {"launch_uri": "https://app.example/launch?tenant=a"}})
    put(demo, {"resourceType": "Client", "id": "rpct-no-launch", "secret": "x-secret",
               "grant_types": ["authorization_code"],
               "auth": {"authorization_code": {"redirect_uri": "https://app.example/cb"}}})
    for cid in ("rpct-bearer-linked", "rpct-bearer-unlinked"):
        put(demo, {"resourceType": "Client", "id": cid, "secret": "x-secret",
                   "grant_types": ["authorization_code"],
                   "auth": {"authorization_code": {"redirect_uri": "https://app.example/cb"}}})
    put(demo, {"resourceType": "AccessPolicy", "id": "rpct-bearer-rpc", "engine": "matcho",
               "link": [{"resourceType": "Client", "id": "rpct-bearer-linked"}],
               "matcho": {"uri": "/rpc", "request-method": "post",
                          "user": {"id": "dr-smith"}}})
    return demo


# ---- success -------------------------------------------------------------

def test_launch_with_string_arguments(server):
    r = rpc(server, body_for(server, ctx={"patient": "pt-1"}))
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert "no-store" in r.headers["Cache-Control"]
    res = r.json()["result"]
    assert set(res) == {"uri", "launch", "iss", "launch-uri"}
    assert LAUNCH_ID.match(res["launch"])
    assert res["iss"] == server.fhir_base
    assert res["launch-uri"] == SAMPLE_LAUNCH_URI
    assert res["uri"] == (SAMPLE_LAUNCH_URI + "?iss=" + urllib.parse.quote(server.fhir_base, safe="")
                          + "&launch=" + res["launch"])
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(res["uri"]).query)
    assert q == {"iss": [server.fhir_base], "launch": [res["launch"]]}


def test_launch_with_reference_objects(server, demo):
    body = body_for(server, user={"id": "dr-smith", "resourceType": "User"},
                    client={"id": "sample-app", "resourceType": "Client"},
                    ctx={"patient": "pt-2"})
    r = rpc(server, body)
    assert r.status_code == 200, r.text
    launch = r.json()["result"]["launch"]
    rows = demo.query("SELECT user_id, client_id FROM smart.launch_contexts WHERE launch_hash = %s",
                      (sha256_hex(launch),))
    assert rows == [("dr-smith", "sample-app")]


@pytest.mark.parametrize("spelling", ["quoted", "quoted-trailing-slash", "trailing-slash"])
def test_launch_accepts_encoded_or_slashed_iss(server, spelling):
    iss = {"quoted": urllib.parse.quote(server.fhir_base, safe=""),
           "quoted-trailing-slash": urllib.parse.quote(server.fhir_base + "/", safe=""),
           "trailing-slash": server.fhir_base + "/"}[spelling]
    r = rpc(server, body_for(server, iss=iss))
    assert r.status_code == 200, r.text
    assert r.json()["result"]["iss"] == server.fhir_base


def test_launch_row_holds_only_the_hash_bound_to_user_client_and_context(server, demo):
    ctx = {"patient": "pt-1", "encounter": "enc-1-3",
           "fhirContext": [{"reference": "DocumentReference/doc-1-1"}],
           "intent": "reconcile-medications", "need_patient_banner": False}
    r = rpc(server, body_for(server, user="dr-smith", ctx=ctx))
    assert r.status_code == 200, r.text
    launch = r.json()["result"]["launch"]
    assert demo.query("SELECT count(*) FROM smart.launch_contexts WHERE launch_hash = %s",
                      (launch,)) == [(0,)]
    rows = demo.query(
        "SELECT client_id, user_id, context, used_at, "
        "extract(epoch FROM expires_at - created_at)::int, expires_at > now() "
        "FROM smart.launch_contexts WHERE launch_hash = %s", (sha256_hex(launch),))
    assert len(rows) == 1
    client_id, user_id, context, used_at, lifetime, live = rows[0]
    assert (client_id, user_id, used_at, live) == ("sample-app", "dr-smith", None, True)
    assert context == ctx
    assert 295 <= lifetime <= 305          # launch_lifetime default: 300 s


def test_launch_uri_with_query_gets_ampersand(server, rpc_clients):
    r = rpc(server, body_for(server, client="rpct-app-query"))
    assert r.status_code == 200, r.text
    res = r.json()["result"]
    assert res["uri"].startswith("https://app.example/launch?tenant=a&iss=")
    assert res["uri"].count("?") == 1
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(res["uri"]).query)
    assert q == {"tenant": ["a"], "iss": [server.fhir_base], "launch": [res["launch"]]}


def test_launch_ids_are_unique_per_call(server, demo):
    ids = set()
    for _ in range(5):
        r = rpc(server, body_for(server))
        assert r.status_code == 200, r.text
        ids.add(r.json()["result"]["launch"])
    assert len(ids) == 5
    hashes = [sha256_hex(i) for i in ids]
    assert demo.query("SELECT count(*) FROM smart.launch_contexts WHERE launch_hash = ANY(%s)",
                      (hashes,)) == [(5,)]


def test_launch_is_audited_with_user_client_and_patient(server, demo):
    r = rpc(server, body_for(server, user="bob", ctx={"patient": "pt-2"}))
    assert r.status_code == 200, r.text
    rows = demo.query("SELECT user_id, client_id, detail FROM smart.audit_events "
                      "WHERE event = 'rpc' AND outcome = 'success' ORDER BY id DESC LIMIT 1")
    user_id, client_id, detail = rows[0]
    assert (user_id, client_id) == ("bob", "sample-app")
    assert detail["patient"] == "pt-2"
    assert detail["caller_client"] == "ehr"
    assert detail["policy"] == "ehr-rpc"
    launch = r.json()["result"]["launch"]
    assert launch not in json.dumps(detail)


def test_launch_works_on_every_web_setup(web, demo):
    # Smoke test: the Authorization header and the JSON body reach the
    # program under mod_fcgid, mod_proxy_fcgi and lighttpd alike.
    body = {"method": "aidbox.smart/get-launch-uri",
            "params": {"user": "alice", "client": "sample-app", "iss": web.fhir_base}}
    r = rpc(web, body)
    assert r.status_code == 200, r.text
    assert r.json()["result"]["iss"] == web.fhir_base
    assert rpc(web, body, auth=("ehr", "wrong")).status_code == 401


def test_policy_sees_path_relative_to_the_mount_prefix(web_prefixed, demo):
    assert web_prefixed.base.endswith("/smart")
    body = {"method": "aidbox.smart/get-launch-uri",
            "params": {"user": "alice", "client": "sample-app", "iss": web_prefixed.fhir_base}}
    r = rpc(web_prefixed, body)
    assert r.status_code == 200, r.text
    assert r.json()["result"]["iss"] == web_prefixed.fhir_base


@pytest.mark.parametrize("path", ["//rpc", "/%72pc", "/x/../rpc", "/x/%2e%2e/rpc", "/./rpc"])
def test_path_spellings_are_normalised_before_policies(server, path):
    # Sent byte for byte (requests would tidy the path): Apache routes these
    # to /rpc, and the policy must see "/rpc" too, not the raw spelling.
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        c.request("POST", path, body=json.dumps(body_for(server)),
                  headers={"Content-Type": "application/json",
                           "Authorization": "Basic " + base64.b64encode(b"ehr:ehr-secret").decode()})
        r = c.getresponse()
        text = r.read().decode()
    finally:
        c.close()
    assert r.status == 200, text
    assert LAUNCH_ID.match(json.loads(text)["result"]["launch"])


# ---- who may call --------------------------------------------------------

def test_caller_without_matching_policy_is_forbidden(server, demo):
    r = rpc(server, body_for(server), auth=("sample-app-confidential", "sample-secret"))
    assert r.status_code == 403
    error_message(r)
    rows = demo.query("SELECT client_id, detail->>'uri' FROM smart.audit_events "
                      "WHERE event = 'denied' ORDER BY id DESC LIMIT 1")
    assert rows == [("sample-app-confidential", "/rpc")]


@pytest.mark.parametrize("auth,header", [
    (("ehr", "wrong-secret"), None),
    (("no-such-client", "ehr-secret"), None),
    (None, "Basic not-base64!"),
    (None, "Basic " + base64.b64encode(b"ehr-without-colon").decode()),
    (None, "Digest username=ehr"),
    (None, None),
])
def test_bad_client_credentials_are_401(server, auth, header):
    headers = {"Authorization": header} if header else {}
    r = rpc(server, body_for(server), auth=auth, headers=headers)
    assert r.status_code == 401
    assert "Basic" in r.headers["WWW-Authenticate"]
    error_message(r)


def test_public_client_cannot_authenticate_without_secret(server):
    r = rpc(server, body_for(server), auth=("sample-app", ""))
    assert r.status_code == 401


def test_bearer_caller_allowed_when_a_policy_links_its_client(server, rpc_clients, keydir):
    token, _ = mint(rpc_clients, server, keydir, "rpct-bearer-linked", "dr-smith")
    r = rpc(server, body_for(server, ctx={"patient": "pt-3"}), auth=None, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert LAUNCH_ID.match(r.json()["result"]["launch"])


def test_bearer_policy_sees_the_tokens_user(server, rpc_clients, keydir):
    # The linked policy also requires user dr-smith: alice's token is refused.
    token, _ = mint(rpc_clients, server, keydir, "rpct-bearer-linked", "alice")
    r = rpc(server, body_for(server), auth=None, headers=bearer(token))
    assert r.status_code == 403


def test_bearer_caller_without_policy_is_forbidden(server, rpc_clients, keydir):
    token, _ = mint(rpc_clients, server, keydir, "rpct-bearer-unlinked", "dr-smith")
    r = rpc(server, body_for(server), auth=None, headers=bearer(token))
    assert r.status_code == 403


def test_revoked_bearer_stops_working_at_once(server, rpc_clients, keydir):
    token, jti = mint(rpc_clients, server, keydir, "rpct-bearer-linked", "dr-smith")
    assert rpc(server, body_for(server), auth=None, headers=bearer(token)).status_code == 200
    rpc_clients.exec("UPDATE smart.access_tokens SET revoked_at = now() WHERE jti = %s", (jti,))
    r = rpc(server, body_for(server), auth=None, headers=bearer(token))
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("attack", ["unrecorded", "expired-row", "wrong-aud", "foreign-key",
                                    "id-token-typ", "tampered", "lowercase-scheme-two-tokens"])
def test_bad_bearer_tokens_are_401(server, rpc_clients, keydir, attack):
    kw = {}
    if attack == "unrecorded":
        kw["record"] = False
    elif attack == "expired-row":
        kw["row_lifetime"] = -5
    elif attack == "wrong-aud":
        kw["aud"] = "https://other.example/fhir"
    elif attack == "foreign-key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kw["key"] = other
        kw["kid"] = rfc7638_kid(rsa_key(keydir))   # claims to be our key
    elif attack == "id-token-typ":
        kw["typ"] = "JWT"
    token, _ = mint(rpc_clients, server, keydir, "rpct-bearer-linked", "dr-smith", **kw)
    header = "Bearer " + token
    if attack == "tampered":
        h, p, s = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
        claims["sub"] = "alice"
        p = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        header = "Bearer " + ".".join((h, p, s))
    elif attack == "lowercase-scheme-two-tokens":
        header = "bearer " + token + " " + token
    r = rpc(server, body_for(server), auth=None, headers={"Authorization": header})
    assert r.status_code == 401, r.text
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_bearer_scheme_is_case_insensitive(server, rpc_clients, keydir):
    token, _ = mint(rpc_clients, server, keydir, "rpct-bearer-linked", "dr-smith")
    r = rpc(server, body_for(server), auth=None, headers={"Authorization": "bEaReR " + token})
    assert r.status_code == 200, r.text


def test_policy_change_takes_effect_without_restart(server, demo):
    caller = ("sample-app-confidential", "sample-secret")
    assert rpc(server, body_for(server), auth=caller).status_code == 403
    put(demo, {"resourceType": "AccessPolicy", "id": "rpct-temp-confidential", "engine": "matcho",
               "link": [{"resourceType": "Client", "id": "sample-app-confidential"}],
               "matcho": {"uri": "/rpc", "request-method": "post",
                          "body": {"params": {"client": "sample-app"}}}})
    try:
        r = rpc(server, body_for(server), auth=caller)
        assert r.status_code == 200, r.text
        # The policy looks into the body: another target client is not allowed.
        assert rpc(server, body_for(server, client="rpct-app-query"), auth=caller).status_code == 403
    finally:
        demo.exec("SELECT smart.delete('AccessPolicy', 'rpct-temp-confidential')")
    assert rpc(server, body_for(server), auth=caller).status_code == 403


def test_bearer_of_a_deactivated_client_stops_working(server, rpc_clients, keydir):
    cid = "rpct-bearer-deactivated"
    client = {"resourceType": "Client", "id": cid, "secret": "x-secret",
              "grant_types": ["authorization_code"],
              "auth": {"authorization_code": {"redirect_uri": "https://app.example/cb"}}}
    put(rpc_clients, client)
    put(rpc_clients, {"resourceType": "AccessPolicy", "id": "rpct-bearer-deactivated-rpc",
                      "engine": "matcho", "link": [{"resourceType": "Client", "id": cid}],
                      "matcho": {"uri": "/rpc", "request-method": "post"}})
    token, _ = mint(rpc_clients, server, keydir, cid, "dr-smith")
    assert rpc(server, body_for(server), auth=None, headers=bearer(token)).status_code == 200
    put(rpc_clients, dict(client, active=False))
    r = rpc(server, body_for(server), auth=None, headers=bearer(token))
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


# ---- bad arguments -------------------------------------------------------

def test_wrong_iss_is_400(server):
    for iss in ("https://evil.example/fhir", server.fhir_base + "x", server.base + "/auth", ""):
        r = rpc(server, body_for(server, iss=iss))
        assert r.status_code == 400, iss
        assert "iss" in error_message(r)


@pytest.mark.parametrize("field,value", [
    ("user", "no-such-user"),
    ("client", "no-such-client"),
    ("patient", "pt-does-not-exist"),
    ("encounter", "enc-does-not-exist"),
])
def test_unknown_targets_are_404(server, field, value):
    kw = {}
    if field in ("user", "client"):
        kw[field] = value
    else:
        kw["ctx"] = {field: value}
    r = rpc(server, body_for(server, **kw))
    assert r.status_code == 404
    assert field in error_message(r)


def test_inactive_target_user_is_404(server, demo):
    put(demo, {"resourceType": "User", "id": "rpct-inactive", "password": "pw-123456",
               "active": False})
    r = rpc(server, body_for(server, user="rpct-inactive"))
    assert r.status_code == 404
    assert "user" in error_message(r)


def test_encounter_of_another_patient_is_refused(server):
    r = rpc(server, body_for(server, ctx={"patient": "pt-2", "encounter": "enc-1-1"}))
    assert r.status_code == 400
    assert "encounter" in error_message(r)


def test_client_without_launch_uri_is_refused(server, rpc_clients):
    r = rpc(server, body_for(server, client="rpct-no-launch"))
    assert r.status_code == 400
    assert "launch_uri" in error_message(r)


@pytest.mark.parametrize("raw", [
    "{",
    "",
    '{"method": "aidbox.smart/get-launch-uri", "method": "x", "params": {}}',
    '{"method": "aidbox.smart/get-launch-uri", "params": {"user": "alice", "user": "bob"}}',
    "[]",
    '[{"method": "aidbox.smart/get-launch-uri"}]',
    '"aidbox.smart/get-launch-uri"',
    "null",
    '{"method": "aidbox.smart/get-launch-uri", "params": {"user": "alice\\u0000"}}',
])
def test_malformed_bodies_are_400(server, raw):
    r = rpc(server, None, raw=raw)
    assert r.status_code == 400, r.text
    error_message(r)


@pytest.mark.parametrize("mutate", [
    lambda b: b.update(method="aidbox.smart/other-method"),
    lambda b: b.update(method=5),
    lambda b: b.pop("method"),
    lambda b: b.update(params=[]),
    lambda b: b.pop("params"),
    lambda b: b["params"].update(user=5),
    lambda b: b["params"].pop("user"),
    lambda b: b["params"].update(user={"id": "alice", "resourceType": "Patient"}),
    lambda b: b["params"].update(client=["sample-app"]),
    lambda b: b["params"].update(client={"resourceType": "Client"}),
    lambda b: b["params"].pop("iss"),
    lambda b: b["params"].update(iss=["x"]),
    lambda b: b["params"].update(ctx=[]),
    lambda b: b["params"].update(ctx={"patient": 1}),
    lambda b: b["params"].update(ctx={"patient": "pt 1"}),
    lambda b: b["params"].update(ctx={"encounter": "Patient/enc-1-1"}),
    lambda b: b["params"].update(ctx={"fhirContext": "DocumentReference/doc-1-1"}),
    lambda b: b["params"].update(ctx={"fhirContext": [{"ref": "DocumentReference/x"}]}),
    lambda b: b["params"].update(ctx={"fhirContext": ["DocumentReference/x"]}),
    lambda b: b["params"].update(ctx={"need_patient_banner": "yes"}),
    lambda b: b["params"].update(ctx={"intent": 3}),
])
def test_wrong_types_and_unknown_method_are_400(server, mutate):
    body = body_for(server)
    mutate(body)
    r = rpc(server, body)
    assert r.status_code == 400, r.text
    error_message(r)


# ---- HTTP ----------------------------------------------------------------

def test_get_is_405(server):
    r = requests.get(server.url("/rpc"), auth=EHR, timeout=30)
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    error_message(r)


def test_text_plain_is_415(server):
    r = rpc(server, body_for(server), headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    error_message(r)


def test_form_body_is_415(server):
    r = requests.post(server.url("/rpc"), data={"method": "aidbox.smart/get-launch-uri"},
                      auth=EHR, timeout=30)
    assert r.status_code == 415


def test_oversized_body_is_413(server):
    body = body_for(server, ctx={"intent": "x" * 200000})
    r = rpc(server, body)
    assert r.status_code == 413
    error_message(r)


def test_json_with_charset_is_accepted(server):
    r = rpc(server, body_for(server), headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text


# ---- reliability ---------------------------------------------------------

def test_database_down_is_503_with_retry_after(server, demo):
    assert rpc(server, body_for(server)).status_code == 200
    demo.stop()
    try:
        r = rpc(server, body_for(server))
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0
        error_message(r)
    finally:
        demo.start()
    # And it recovers without a restart.
    deadline = time.time() + 15
    while True:
        r = rpc(server, body_for(server))
        if r.status_code == 200 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code == 200, r.text
