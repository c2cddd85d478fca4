-- defaults.sql: the AccessPolicies smartauth ships (DESIGN §4,
-- reference/matcho.md "Defaults shipped in sql/").  scripts/migrate loads
-- this file once, on the first run, and records it in smart.migrations: a
-- DBA may then change or delete these policies with smart.put/smart.delete
-- and later upgrades leave them alone.
--
-- The paths assume the gateway is mounted at /fhir; a server mounted under
-- a prefix (say /smart/fhir) needs these patterns adjusted.
-- No default lets anyone call POST /rpc: link the EHR's Client explicitly.
--
-- The first three are the SMART seed's patient policies, verbatim.

SELECT smart.put($json$
[
 {"resourceType": "AccessPolicy", "id": "patient-smart", "engine": "matcho", "roleName": "patient",
  "matcho": {"uri": "#/fhir/.*", "params": {"patient": ".role.links.patient.id"}}},

 {"resourceType": "AccessPolicy", "id": "smart-patient-read", "engine": "matcho", "roleName": "patient",
  "matcho": {"uri": "#/fhir/Patient/.*", "params": {"id": ".role.links.patient.id"}}},

 {"resourceType": "AccessPolicy", "id": "smart-patient-search-self", "engine": "matcho", "roleName": "patient",
  "matcho": {"uri": "#/fhir/Patient", "params": {"_id": ".role.links.patient.id"}}},

 {"resourceType": "AccessPolicy", "id": "patient-read-own", "engine": "matcho", "roleName": "patient",
  "description": "A patient reads resources by id; the gateway's compartment check refuses anything outside the patient's compartment.",
  "matcho": {"request-method": "get",
             "uri": "#^/fhir/[A-Za-z]+/[^/]+(/_history(/[^/]+)?)?$"}},

 {"resourceType": "AccessPolicy", "id": "practitioner-all", "engine": "matcho", "roleName": "practitioner",
  "matcho": {"uri": "#^/fhir(/|$)"},
  "description": "Practitioners: the whole FHIR API, limited by their app's SMART scopes (EHR launch calls need a policy linked to the EHR client)."},

 {"resourceType": "AccessPolicy", "id": "backend-clients", "engine": "matcho",
  "description": "Backend services (client_credentials): the FHIR API, limited by their system/ scopes.",
  "matcho": {"client": {"grant_types": {"$contains": "client_credentials"}},
             "uri": "#^/fhir/"}}
]
$json$::jsonb);
