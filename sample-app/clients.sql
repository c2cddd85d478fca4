-- clients.sql: registers the sample SMART app and the demo EHR page for
-- the web server at :'base' (like http://127.0.0.1:8080, no trailing
-- slash).  Run by sample-app/deploy; sql/demo.sql holds the same clients
-- for the default port 8080, and the AccessPolicy "demo-ehr-rpc".
--
--   sample-app               public SMART app (PKCE)
--   sample-app-confidential  the same app as a confidential client
--   demo-ehr                 the demo EHR page (public, PKCE; user/ scopes;
--                            may call POST /rpc as its signed-in practitioner)
\set ON_ERROR_STOP 1
SELECT smart.put(replace($json$
[
 {"resourceType": "Client", "id": "sample-app", "name": "Sample SMART app (public)",
  "type": "smart-app",
  "grant_types": ["authorization_code", "refresh_token"],
  "auth": {"authorization_code": {
    "redirect_uri": "@BASE@/sample-app/index.html",
    "refresh_token": true, "secret_required": false, "pkce": true,
    "access_token_expiration": 3600, "refresh_token_expiration": 86400}},
  "smart": {"launch_uri": "@BASE@/sample-app/launch.html"}},

 {"resourceType": "Client", "id": "sample-app-confidential", "name": "Sample SMART app (confidential)",
  "type": "smart-app", "secret": "sample-secret",
  "grant_types": ["authorization_code", "refresh_token"],
  "auth": {"authorization_code": {
    "redirect_uri": "@BASE@/sample-app/index.html",
    "refresh_token": true, "secret_required": true,
    "access_token_expiration": 3600, "refresh_token_expiration": 86400}},
  "smart": {"launch_uri": "@BASE@/sample-app/launch.html?client=sample-app-confidential"}},

 {"resourceType": "Client", "id": "demo-ehr", "name": "Demo EHR",
  "type": "ehr",
  "grant_types": ["authorization_code"],
  "auth": {"authorization_code": {
    "redirect_uri": "@BASE@/ehr/index.html",
    "refresh_token": false, "secret_required": false, "pkce": true,
    "access_token_expiration": 3600}}}
]
$json$, '@BASE@', :'base')::jsonb);
