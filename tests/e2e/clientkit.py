"""clientkit: the client records that the introspection and revocation
tests both register.

    REDIRECT, SCOPE            the redirect URI and the launch scope of the apps
    app_client(cid, secret)    an authorization_code app with refresh tokens;
                               public (no secret required) when secret is None
    backend_client(cid, secret, scope)  a client_credentials backend service
    put(pg, resources)         stores the resources with smart.put, as a DBA does
"""
import json

REDIRECT = "https://app.example/cb"
SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs"


def app_client(cid, secret):
    c = {"resourceType": "Client", "id": cid,
         "grant_types": ["authorization_code", "refresh_token"],
         "auth": {"authorization_code": {"redirect_uri": REDIRECT, "refresh_token": True,
                                         "secret_required": secret is not None}}}
    if secret:
        c["secret"] = secret
    return c


def backend_client(cid, secret, scope="system/*.rs"):
    return {"resourceType": "Client", "id": cid, "secret": secret,
            "grant_types": ["client_credentials"], "scope": scope}


def put(pg, resources):
    pg.exec("SELECT smart.put(%s::jsonb)", (json.dumps(resources),))
    return pg
