"""openid-client (npm, an OpenID-certified relying-party library) against
smartauth: discovery, authorization code + PKCE through the real pages, the
library's own id_token validation, then refresh, introspection (RFC 7662) and
revocation (RFC 7009) through its API.  One flow per client kind runs once
(js/openid-client-flow.mjs); each test checks one of its steps."""
import json

import pytest

from conftest import step

from conftest import free_port

# The node script listens there for the callback.
REDIRECT = f"http://127.0.0.1:{free_port()}/openid-client/callback"
SCOPE = "openid fhirUser launch/patient patient/*.rs offline_access"


def put(pg, resource):
    pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps(resource),))


@pytest.fixture(scope="module")
def rp_clients(demo):
    clients = {
        "confidential": {"id": "rp-openid-client", "secret": "rp-openid-client-secret-0123456789"},
        "public": {"id": "rp-openid-client-public", "secret": None},
    }
    for kind, c in clients.items():
        r = {"resourceType": "Client", "id": c["id"], "name": "openid-client " + kind,
             "grant_types": ["authorization_code", "refresh_token"],
             "auth": {"authorization_code": {
                 "redirect_uri": [REDIRECT], "refresh_token": True,
                 "secret_required": c["secret"] is not None}}}
        if c["secret"]:
            r["secret"] = c["secret"]
        else:
            r["auth"]["authorization_code"]["pkce"] = True
        put(demo, r)
    # A resource server: a confidential client registered with the
    # introspection scope, which may introspect every client's tokens.
    clients["resource-server"] = {"id": "rp-resource-server",
                                  "secret": "rp-resource-server-secret-0123456789"}
    put(demo, {"resourceType": "Client", "id": "rp-resource-server", "name": "Resource server",
               "secret": clients["resource-server"]["secret"],
               "grant_types": ["client_credentials"], "scope": "smartauth/introspect"})
    return clients


def flow(node_run, server, c, name, username, password, introspector=None, stranger=None,
         auth_method="basic", lifecycle=True):
    cfg = {"fhirBase": server.fhir_base, "authBase": server.auth_base,
           "clientId": c["id"], "redirectUri": REDIRECT, "scope": SCOPE,
           "username": username, "password": password, "name": name,
           "authMethod": auth_method, "lifecycle": lifecycle}
    if c["secret"]:
        cfg["clientSecret"] = c["secret"]
    if introspector:
        cfg["introspector"] = {"clientId": introspector["id"],
                               "clientSecret": introspector["secret"]}
    if stranger:
        cfg["stranger"] = {"clientId": stranger["id"], "clientSecret": stranger["secret"]}
    return node_run("openid-client-flow.mjs", cfg, timeout=180)


@pytest.fixture(scope="module")
def confidential(node_run, server, rp_clients):
    return flow(node_run, server, rp_clients["confidential"], "oc-confidential",
                "alice", "alice-password")


@pytest.fixture(scope="module")
def public(node_run, server, rp_clients):
    return flow(node_run, server, rp_clients["public"], "oc-public", "bob", "bob-password",
                introspector=rp_clients["resource-server"], stranger=rp_clients["confidential"])


@pytest.fixture(scope="module")
def secret_post(node_run, server, rp_clients):
    return flow(node_run, server, rp_clients["confidential"], "oc-secret-post",
                "dr-smith", "dr-smith-password", auth_method="post", lifecycle=False)


# ---- discovery


def test_discovery_issuer_is_the_fhir_base_and_library_accepts_it(confidential, server):
    s = step(confidential, "discovery")
    assert s["issuer"] == server.fhir_base
    m = s["metadata"]
    assert m["authorization_endpoint"] == server.auth_base + "/authorize"
    assert m["token_endpoint"] == server.auth_base + "/token"
    assert m["jwks_uri"] == server.auth_base + "/jwks"
    assert "S256" in m["code_challenge_methods_supported"]
    assert "RS256" in m["id_token_signing_alg_values_supported"]


def test_discovery_advertises_introspection_and_revocation_endpoints(confidential, server):
    m = step(confidential, "discovery")["metadata"]
    assert m.get("introspection_endpoint") == server.auth_base + "/introspect"
    assert m.get("revocation_endpoint") == server.auth_base + "/revoke"


# ---- authorization code + PKCE, id_token checked by the library


def test_confidential_client_code_flow_passes_library_callback_checks(confidential, server):
    s = step(confidential, "authorize")
    assert s["pages"][:2] == ["login", "consent"], s["pages"]
    # RFC 9207: the library compared iss with the discovered issuer.
    assert s["callback"]["iss"] == server.fhir_base


def test_id_token_validated_by_library_names_the_user(confidential, server, rp_clients):
    s = step(confidential, "code-grant")
    idt = s["idToken"]
    assert idt["iss"] == server.fhir_base
    assert idt["sub"] == "alice"
    assert idt["aud"] in (rp_clients["confidential"]["id"], [rp_clients["confidential"]["id"]])
    assert idt["fhirUser"] == server.fhir_base + "/Patient/pt-1"
    assert idt["nonce"]
    assert idt["exp"] > idt["iat"]


def test_token_response_carries_launch_context_and_refresh_token(confidential):
    s = step(confidential, "code-grant")
    assert s["tokenType"].lower() == "bearer"
    assert s["patient"] == "pt-1"
    assert s["hasRefresh"]
    assert set(s["scope"].split()) >= {"openid", "fhirUser", "launch/patient", "patient/*.rs"}
    assert 0 < s["expiresIn"] <= 3600


def test_access_token_reads_own_patient_and_not_another(confidential):
    s = step(confidential, "fhir-read")
    assert (s["status"], s["resourceType"], s["id"]) == (200, "Patient", "pt-1")
    assert s["otherStatus"] == 404


def test_replayed_code_is_refused_with_invalid_grant(confidential):
    s = step(confidential, "code-replay")
    assert s["oauthError"] == "invalid_grant" and s["status"] == 400, s


def test_refresh_through_library_rotates_and_keeps_context(confidential):
    s = step(confidential, "refresh")
    assert s["newAccess"] and s["rotated"]
    assert s["patient"] == "pt-1"


def test_public_client_with_pkce_only_gets_tokens_and_valid_id_token(public, server):
    s = step(public, "code-grant")
    assert s["idToken"]["sub"] == "bob"
    assert s["idToken"]["fhirUser"] == server.fhir_base + "/Patient/pt-2"
    assert s["patient"] == "pt-2"
    step(public, "refresh")


def test_client_secret_post_code_flow_and_refresh_through_library(secret_post, server):
    """The same confidential client, sending its secret in the body
    (client_secret_post), as a practitioner picking a patient."""
    s = step(secret_post, "authorize")
    assert "patient" in s["pages"], s["pages"]
    g = step(secret_post, "code-grant")
    assert g["idToken"]["sub"] == "dr-smith"
    assert g["idToken"]["fhirUser"] == server.fhir_base + "/Practitioner/pr-1"
    assert g["patient"] == "pt-1", g   # the first patient offered
    r = step(secret_post, "refresh")
    assert r["rotated"] and r["patient"] == g["patient"]


# ---- introspection and revocation (RFC 7662, RFC 7009)


def test_introspection_of_access_token_through_library(confidential, server, rp_clients):
    r = step(confidential, "introspect-access")["result"]
    assert r["active"] is True
    assert r["client_id"] == rp_clients["confidential"]["id"]
    assert r["sub"] == "alice" and r["patient"] == "pt-1"
    assert r["iss"] == server.fhir_base and r["aud"] == server.fhir_base
    assert r["token_type"] == "Bearer" and r["exp"] > r["iat"]
    assert "patient/*.rs" in r["scope"].split()
    assert r["fhirUser"] == server.fhir_base + "/Patient/pt-1"


def test_introspection_of_refresh_token_through_library(confidential, rp_clients):
    r = step(confidential, "introspect-refresh")["result"]
    assert r["active"] is True and r["patient"] == "pt-1" and r["sub"] == "alice"
    assert r["client_id"] == rp_clients["confidential"]["id"]
    assert r["token_type"] == "refresh_token"
    assert "offline_access" in r["scope"].split()


def test_public_clients_token_introspected_by_resource_server(public, rp_clients):
    r = step(public, "introspect-access")["result"]
    assert r["active"] is True
    assert r["client_id"] == rp_clients["public"]["id"] and r["sub"] == "bob"
    assert r["patient"] == "pt-2"


def test_other_confidential_client_sees_public_clients_token_as_inactive(public):
    """RFC 7662 §2.2: a token the caller may not see is just inactive."""
    r = step(public, "introspect-by-stranger")["result"]
    assert r == {"active": False}


def test_revoked_refresh_token_family_is_inactive_and_cannot_refresh(confidential):
    step(confidential, "revoke-refresh")
    r = step(confidential, "introspect-after-revoke")
    assert r["refresh"] == {"active": False}
    assert r["access"] == {"active": False}
    s = step(confidential, "refresh-after-revoke")
    assert s["oauthError"] == "invalid_grant", s
