"""openid-client as a SMART Backend Services client: private_key_jwt with an
ES384 key from the client's registered JWKS, client_credentials, a FHIR read,
introspection and revocation through the library's API
(js/openid-client-backend.mjs, run once; each test checks one step)."""
import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import step

CLIENT = "rp-openid-client-backend"


def b64u(n, size):
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def backend(node_run, server, demo):
    key = ec.generate_private_key(ec.SECP384R1())
    nums = key.public_key().public_numbers()
    kid = "rp-backend-es384"
    demo.exec("SELECT smart.put(%s::jsonb)", (json.dumps({
        "resourceType": "Client", "id": CLIENT, "name": "openid-client backend service",
        "grant_types": ["client_credentials"], "scope": "system/*.rs",
        "jwks": {"keys": [{"kty": "EC", "crv": "P-384", "x": b64u(nums.x, 48),
                           "y": b64u(nums.y, 48), "kid": kid, "alg": "ES384",
                           "use": "sig"}]}}),))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return node_run("openid-client-backend.mjs", {
        "fhirBase": server.fhir_base, "clientId": CLIENT, "privateKeyPem": pem, "kid": kid,
        "scope": "system/*.rs"})


def test_discovery_advertises_private_key_jwt_es384_and_client_credentials(backend):
    s = step(backend, "discovery")
    assert "private_key_jwt" in s["authMethods"]
    assert "ES384" in s["signingAlgs"]
    assert "client_credentials" in s["grantTypes"]


def test_library_signed_es384_assertion_gets_a_system_token(backend, server):
    s = step(backend, "client-credentials")
    assert s["scope"] == "system/*.rs"
    assert s["tokenType"].lower() == "bearer"
    assert 0 < s["expiresIn"] <= 300
    assert not s["hasRefresh"]
    assert s["accessClaims"]["client_id"] == CLIENT
    assert s["accessClaims"]["iss"] == server.fhir_base


def test_system_token_reads_fhir_through_library(backend):
    s = step(backend, "fhir-read")
    assert (s["status"], s["resourceType"], s["id"]) == (200, "Patient", "pt-1")


def test_backend_introspects_its_own_token_through_library(backend):
    r = step(backend, "introspect")["result"]
    assert r["active"] is True and r["client_id"] == CLIENT
    assert r["scope"] == "system/*.rs"


def test_token_revoked_through_library_stops_working_at_once(backend):
    s = step(backend, "revoke")
    assert s["fhirStatusAfter"] == 401, s
    assert step(backend, "introspect-after-revoke")["result"] == {"active": False}


def test_library_default_assertion_audience_gets_a_token_or_a_precise_invalid_client(backend):
    """openid-client signs aud = the issuer by default (RFC 7523bis); the
    answer must be a token or a clean 401 invalid_client, never a crash."""
    s = step(backend, "default-audience")
    if not s["accepted"]:
        assert s["oauthError"] == "invalid_client" and s["status"] == 401, s
        assert "aud" in s["description"], s
        # RFC 6749 5.2: no challenge for a client that authenticated in the body.
        assert not s["challenges"], s
