"""Discovery, JWKS and health through every shipped web-server setup."""
import base64
import glob
import hashlib
import json
import os
import subprocess
import time

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import ROOT, BUILD

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def b64u(n, length=None):
    length = length or (n.bit_length() + 7) // 8
    return base64.urlsafe_b64encode(n.to_bytes(length, "big")).rstrip(b"=").decode()


def expected_public_jwks(keydir):
    """The public JWKs computed independently from the key files (RFC 7638 kids)."""
    out = {}
    for path in glob.glob(os.path.join(keydir, "*.pem")):
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        pub = key.public_key().public_numbers()
        if isinstance(key, rsa.RSAPrivateKey):
            members = {"e": b64u(pub.e), "kty": "RSA", "n": b64u(pub.n)}
        else:
            size = (key.curve.key_size + 7) // 8
            crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[key.curve.name]
            members = {"crv": crv, "kty": "EC", "x": b64u(pub.x, size), "y": b64u(pub.y, size)}
        canon = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
        kid = base64.urlsafe_b64encode(hashlib.sha256(canon).digest()).rstrip(b"=").decode()
        out[kid] = members
    return out


def test_smart_configuration_fields(web):
    r = requests.get(web.fhir_base + "/.well-known/smart-configuration",
                     headers={"Accept": "application/json", "Origin": "https://app.example"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in r.headers["Cache-Control"]
    doc = r.json()
    assert doc["authorization_endpoint"] == web.auth_base + "/authorize"
    assert doc["token_endpoint"] == web.auth_base + "/token"
    assert doc["jwks_uri"] == web.auth_base + "/jwks"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert isinstance(doc["capabilities"], list)
    assert all(isinstance(c, str) for c in doc["capabilities"])
    for key in ("grant_types_supported", "response_types_supported",
                "token_endpoint_auth_methods_supported", "scopes_supported"):
        assert isinstance(doc[key], list), key
    # Nothing is advertised that this build does not do.
    if "sso-openid-connect" in doc["capabilities"]:
        assert doc["issuer"] == web.fhir_base
    else:
        assert "issuer" not in doc
    # Backend services, asymmetric client authentication, introspection
    # and revocation (issue 4) are advertised and consistent.
    assert doc["introspection_endpoint"] == web.auth_base + "/introspect"
    assert doc["revocation_endpoint"] == web.auth_base + "/revoke"
    assert doc["grant_types_supported"] == ["authorization_code", "refresh_token",
                                            "client_credentials"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "private_key_jwt"]
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == [
        "RS384", "ES384", "RS256", "ES256", "RS512", "ES512"]
    assert "client-confidential-asymmetric" in doc["capabilities"]
    assert "client-confidential-symmetric" in doc["capabilities"]
    assert doc["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "private_key_jwt"]
    assert doc["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    assert "system/*.rs" in doc["scopes_supported"]


def test_advertised_endpoints_answer(web):
    """Every advertised endpoint exists: introspection and revocation answer
    a request without credentials with 401 invalid_client, not 404."""
    doc = requests.get(web.fhir_base + "/.well-known/smart-configuration").json()
    for key in ("introspection_endpoint", "revocation_endpoint"):
        r = requests.post(doc[key], data={"token": "x"})
        assert r.status_code == 401, key
        assert r.json()["error"] == "invalid_client"
    r = requests.post(doc["token_endpoint"], data={"grant_type": "client_credentials",
                                                   "scope": "system/*.rs"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_openid_configuration_fields(web):
    r = requests.get(web.fhir_base + "/.well-known/openid-configuration")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["issuer"] == web.fhir_base
    assert doc["jwks_uri"] == web.auth_base + "/jwks"
    assert doc["authorization_endpoint"] == web.auth_base + "/authorize"
    assert doc["token_endpoint"] == web.auth_base + "/token"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["subject_types_supported"] == ["public"]
    assert "fhirUser" in doc["claims_supported"]
    smart = requests.get(web.fhir_base + "/.well-known/smart-configuration").json()
    for k in ("authorization_endpoint", "token_endpoint", "jwks_uri", "grant_types_supported",
              "token_endpoint_auth_methods_supported",
              "token_endpoint_auth_signing_alg_values_supported",
              "introspection_endpoint", "revocation_endpoint"):
        assert doc[k] == smart[k], k


def test_jwks_publishes_only_public_parts_with_thumbprint_kids(web, keydir):
    r = requests.get(web.auth_base + "/jwks")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    keys = r.json()["keys"]
    want = expected_public_jwks(keydir)
    assert {k["kid"] for k in keys} == set(want)
    for k in keys:
        assert not (PRIVATE_MEMBERS & set(k)), f"private member in {k['kid']}"
        assert k["use"] == "sig"
        for member, value in want[k["kid"]].items():
            assert k[member] == value
        assert k["alg"] == ("RS256" if k["kty"] == "RSA" else "ES256")


def test_discovery_conditional_get_returns_304(web):
    url = web.fhir_base + "/.well-known/smart-configuration"
    etag = requests.get(url).headers["ETag"]
    r = requests.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""


def test_discovery_cors_preflight(web):
    r = requests.options(web.auth_base + "/jwks", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in r.headers["Access-Control-Allow-Methods"]


def test_discovery_wrong_method_is_405(web):
    r = requests.post(web.fhir_base + "/.well-known/smart-configuration", data="x=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 405
    assert "GET" in r.headers["Allow"]
    assert r.json()["error"] == "invalid_request"
    r = requests.delete(web.auth_base + "/jwks")
    assert r.status_code == 405


def test_health_ok(web):
    r = requests.get(web.auth_base + "/health")
    assert r.status_code == 200
    assert r.json()["status"] == "pass"
    assert r.headers["Cache-Control"] == "no-store"


def test_health_503_while_postgres_down_then_recovers_without_web_restart(web, pg):
    assert requests.get(web.auth_base + "/health").status_code == 200
    pg.stop()
    try:
        # Every worker process must notice; ask several times.
        for _ in range(6):
            r = requests.get(web.auth_base + "/health", timeout=10)
            assert r.status_code == 503
            assert int(r.headers["Retry-After"]) > 0
            assert r.json()["status"] == "fail"
    finally:
        pg.start()
    deadline = time.time() + 10
    codes = []
    while time.time() < deadline:
        codes.append(requests.get(web.auth_base + "/health", timeout=10).status_code)
        if codes[-3:] == [200, 200, 200]:
            break
        time.sleep(0.2)
    assert codes[-3:] == [200, 200, 200], codes
    # No worker crashed: the error log has no segfaults or aborts.
    log = web.error_log()
    assert "Segmentation fault" not in log and "signal 11" not in log.lower()


def test_every_family_of_the_url_map_reaches_its_program(web):
    """Every URL of the map reaches a program (not the web server's 404)."""
    r = requests.post(web.auth_base + "/token", data={"grant_type": "authorization_code"})
    assert r.headers["Content-Type"].startswith("application/json")
    assert "error" in r.json()
    r = requests.get(web.fhir_base + "/Patient/pt-1")
    assert r.json()["resourceType"] == "OperationOutcome"
    r = requests.get(web.fhir_base + "/metadata")
    assert r.json()["resourceType"] == "CapabilityStatement"
    r = requests.post(web.base + "/rpc", json={"method": "aidbox.smart/get-launch-uri"})
    assert "message" in r.json()["error"]
    r = requests.get(web.auth_base + "/authorize")
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["X-Frame-Options"] == "DENY"


def test_mount_prefix_discovery_urls(web_prefixed):
    w = web_prefixed
    r = requests.get(w.base + "/fhir/.well-known/smart-configuration")
    assert r.status_code == 200
    doc = r.json()
    assert doc["token_endpoint"] == w.base + "/auth/token"
    assert doc["jwks_uri"].startswith(w.base + "/auth/")
    assert requests.get(doc["jwks_uri"]).status_code == 200
    assert requests.get(w.base + "/auth/health").status_code == 200
    # Nothing is served outside the prefix.
    assert requests.get(f"http://127.0.0.1:{w.port}/auth/health").status_code == 404


def test_discovery_runs_as_plain_cgi_without_a_web_server(keydir, pg):
    env = {"PATH": "/usr/bin:/bin", "SMARTAUTH_DATABASE": pg.conninfo, "SMARTAUTH_KEY_DIR": keydir,
           "REQUEST_METHOD": "GET", "REQUEST_URI": "/fhir/.well-known/smart-configuration"}
    r = subprocess.run([os.path.join(BUILD, "cgi-bin", "discovery")], env=env,
                       capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: 200 OK")
    assert json.loads(body)["token_endpoint"] == "http://127.0.0.1:8080/auth/token"


def test_discovery_refuses_to_start_with_bad_config_in_one_line(keydir):
    env = {"PATH": "/usr/bin:/bin", "SMARTAUTH_DATABASE": "dbname=x", "SMARTAUTH_KEY_DIR": keydir,
           "SMARTAUTH_CODE_LIFETIME": "forever", "REQUEST_METHOD": "GET",
           "REQUEST_URI": "/auth/jwks"}
    r = subprocess.run([os.path.join(BUILD, "cgi-bin", "discovery")], env=env,
                       capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "code_lifetime" in lines[0] and "SMARTAUTH_CODE_LIFETIME" in lines[0]


def test_discovery_refuses_to_start_without_keys(tmp_path):
    empty = tmp_path / "keys"
    empty.mkdir()
    env = {"PATH": "/usr/bin:/bin", "SMARTAUTH_DATABASE": "dbname=x", "SMARTAUTH_KEY_DIR": str(empty),
           "REQUEST_METHOD": "GET", "REQUEST_URI": "/auth/jwks"}
    r = subprocess.run([os.path.join(BUILD, "cgi-bin", "discovery")], env=env,
                       capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "no signing keys" in r.stderr
