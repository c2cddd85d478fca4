// openid-client-backend.mjs: a SMART Backend Services client built on
// openid-client (v6): private_key_jwt client authentication with an ES384
// key, grant_type=client_credentials, a FHIR read, introspection and
// revocation, every request made and checked by the library.
//
// Argument (JSON): {fhirBase, clientId, privateKeyPem (PKCS#8, P-384), kid,
//   scope}
// Report steps: discovery, client-credentials, fhir-read, introspect,
// revoke, introspect-after-revoke, default-audience.
//
// openid-client puts the issuer into the assertion's aud by default
// (draft-ietf-oauth-rfc7523bis); SMART Backend Services wants the token
// endpoint URL, so the main steps set aud to it with the library's
// modifyAssertion hook, and default-audience records what smartauth answers
// to the library's default.

import crypto from 'node:crypto';
import * as client from 'openid-client';
import { reporter, describe } from './browser.mjs';

const cfg = JSON.parse(process.argv[2]);
const report = reporter();
const insecure = { execute: [client.allowInsecureRequests] };   // http on loopback only

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

try {
  const der = crypto.createPrivateKey(cfg.privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const key = await crypto.webcrypto.subtle.importKey('pkcs8', der,
    { name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign']);
  let config;
  let token;

  await report.run('discovery', async () => {
    let tokenEndpoint;
    config = await client.discovery(new URL(cfg.fhirBase), cfg.clientId, undefined,
      client.PrivateKeyJwt({ key, kid: cfg.kid }, {
        [client.modifyAssertion]: (header, payload) => { payload.aud = tokenEndpoint; },
      }), insecure);
    tokenEndpoint = config.serverMetadata().token_endpoint;
    const m = config.serverMetadata();
    return { tokenEndpoint, authMethods: m.token_endpoint_auth_methods_supported,
      signingAlgs: m.token_endpoint_auth_signing_alg_values_supported,
      grantTypes: m.grant_types_supported };
  });

  await report.run('client-credentials', async () => {
    if (!config) throw new Error('no configuration (discovery failed)');
    token = await client.clientCredentialsGrant(config, { scope: cfg.scope });
    return { scope: token.scope, tokenType: token.token_type, expiresIn: token.expires_in,
      hasRefresh: Boolean(token.refresh_token), accessClaims: claimsOf(token.access_token) };
  });

  await report.run('fhir-read', async () => {
    if (!token) throw new Error('no access token');
    const r = await client.fetchProtectedResource(config, token.access_token,
      new URL(`${cfg.fhirBase}/Patient/pt-1`), 'GET');
    const body = await r.json();
    return { status: r.status, resourceType: body.resourceType, id: body.id };
  });

  await report.run('introspect', async () => {
    if (!token) throw new Error('no access token');
    return { result: await client.tokenIntrospection(config, token.access_token) };
  });

  await report.run('revoke', async () => {
    if (!token) throw new Error('no access token');
    await client.tokenRevocation(config, token.access_token, { token_type_hint: 'access_token' });
    const after = await client.fetchProtectedResource(config, token.access_token,
      new URL(`${cfg.fhirBase}/Patient/pt-1`), 'GET').then((r) => r.status,
      (e) => e.status || (e.response && e.response.status) || describe(e));
    return { fhirStatusAfter: after };
  });

  await report.run('introspect-after-revoke', async () => {
    if (!token) throw new Error('no access token');
    return { result: await client.tokenIntrospection(config, token.access_token) };
  });

  await report.run('default-audience', async () => {
    const plain = await client.discovery(new URL(cfg.fhirBase), cfg.clientId, undefined,
      client.PrivateKeyJwt({ key, kid: cfg.kid }), insecure);
    try {
      const t = await client.clientCredentialsGrant(plain, { scope: cfg.scope });
      return { accepted: true, scope: t.scope };
    } catch (e) {
      // A 401 invalid_client comes back as the library's OAuth error (the
      // server sends no WWW-Authenticate challenge to a client that did not
      // use the Authorization header); a challenge error would carry the
      // body unread instead.
      let body = null;
      if (e.response && !e.response.bodyUsed)
        body = await e.response.json().catch(() => null);
      const challenges = Array.isArray(e.cause) ? e.cause : [];
      return { accepted: false, refused: describe(e), status: e.status || null,
        oauthError: e.error || (body && body.error) || null,
        description: e.error_description || (body && body.error_description) || null,
        challenges };
    }
  });
} catch (e) {
  report.steps.push({ name: 'script', ok: false, error: String(e && e.stack || e) });
} finally {
  report.print();
}
