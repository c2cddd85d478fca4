// openid-client-flow.mjs: the certified relying-party library openid-client
// (v6) against smartauth, every check done by the library itself:
// discovery (issuer must match), authorization code + PKCE through smartauth's
// real pages in headless Chromium, the callback (state, RFC 9207 iss), the
// token response and id_token (signature from the JWKS, iss, aud, exp, iat,
// nonce), a FHIR read with the access token, then refresh, introspection and
// revocation through the library's API.
//
// Argument (JSON): {fhirBase, authBase, clientId, clientSecret (absent for a
//   public client), authMethod ("basic", the default, or "post": how the
//   secret is sent), redirectUri, scope, username, password, name, outDir,
//   chromium, introspector: {clientId, clientSecret} (a confidential client
//   that introspects when the flow's client is public), stranger: {clientId,
//   clientSecret} (a confidential client that may not see the token),
//   lifecycle: bool (run the introspection and revocation steps)}
// Report steps, in order: discovery, authorize, code-grant, fhir-read,
// refresh, introspect-access, introspect-by-stranger, introspect-refresh, revoke-refresh,
// introspect-after-revoke, refresh-after-revoke, code-replay.

import http from 'node:http';
import * as client from 'openid-client';
import { launch, reporter, throughSmartauth, screenshot, bodyText, describe } from './browser.mjs';

const cfg = JSON.parse(process.argv[2]);
const report = reporter();
const insecure = { execute: [client.allowInsecureRequests] };   // http on loopback only
let browser;

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

async function configFor(id, secret, method) {
  const auth = !secret ? client.None()
    : method === 'post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
  return client.discovery(new URL(cfg.fhirBase), id, undefined, auth, insecure);
}

// The library's own error for a call that must fail: its class, code and
// the OAuth error the server answered.
async function mustFail(fn) {
  try {
    await fn();
  } catch (e) {
    return { refused: describe(e), oauthError: e.error || (e.cause && e.cause.error) || null,
      status: e.status || (e.response && e.response.status) || null };
  }
  throw new Error('the call succeeded but should have been refused');
}

try {
  let config;
  let introspector;
  let callback;
  let checks;
  let tokens;
  let refreshed;

  await report.run('discovery', async () => {
    config = await configFor(cfg.clientId, cfg.clientSecret, cfg.authMethod);
    const m = config.serverMetadata();
    return { issuer: m.issuer, metadata: m };
  });

  await report.run('authorize', async () => {
    if (!config) throw new Error('no configuration (discovery failed)');
    const verifier = client.randomPKCECodeVerifier();
    checks = { pkceCodeVerifier: verifier, expectedState: client.randomState(),
      expectedNonce: client.randomNonce(), idTokenExpected: true };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: cfg.redirectUri, scope: cfg.scope, aud: cfg.fhirBase,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256', state: checks.expectedState, nonce: checks.expectedNonce,
    });
    const b = await launch(cfg);
    browser = b.browser;
    const page = await b.context.newPage();
    // The app's redirect URI: a listener on its loopback port that records
    // the callback (the library reads code, state and iss from it).
    const cb = new URL(cfg.redirectUri);
    const server = http.createServer((req, res) => {
      const u = new URL(req.url, cfg.redirectUri);
      if (u.pathname === cb.pathname) callback = u.href;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('callback received');
    });
    await new Promise((ok, fail) => {
      server.once('error', fail);
      server.listen(Number(cb.port), cb.hostname, ok);
    });
    server.unref();
    try {
      await page.goto(url.href);
      const pages = await throughSmartauth(page, cfg, cfg, cfg.authBase);
      if (!callback) throw new Error(`never redirected to the app; pages ${pages}: ${await bodyText(page)}`);
      return { pages, callback: Object.fromEntries(new URL(callback).searchParams) };
    } catch (e) {
      await screenshot(page, cfg, 'failed');
      throw e;
    }
  });

  await report.run('code-grant', async () => {
    if (!callback) throw new Error('no callback (authorize failed)');
    tokens = await client.authorizationCodeGrant(config, new URL(callback), checks);
    const idc = tokens.claims();
    return { tokenType: tokens.token_type, scope: tokens.scope, patient: tokens.patient,
      hasRefresh: Boolean(tokens.refresh_token), expiresIn: tokens.expiresIn(),
      idToken: idc, accessClaims: claimsOf(tokens.access_token) };
  });

  await report.run('fhir-read', async () => {
    if (!tokens) throw new Error('no access token');
    const own = await client.fetchProtectedResource(config, tokens.access_token,
      new URL(`${cfg.fhirBase}/Patient/${tokens.patient}`), 'GET');
    const other = await client.fetchProtectedResource(config, tokens.access_token,
      new URL(`${cfg.fhirBase}/Patient/${cfg.otherPatient || 'pt-2'}`), 'GET');
    const body = await own.json();
    return { status: own.status, resourceType: body.resourceType, id: body.id,
      otherStatus: other.status };
  });

  await report.run('refresh', async () => {
    if (!tokens || !tokens.refresh_token) throw new Error('no refresh token was issued');
    refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    const idc = refreshed.id_token ? refreshed.claims() : null;
    return { scope: refreshed.scope, patient: refreshed.patient,
      rotated: refreshed.refresh_token !== tokens.refresh_token,
      newAccess: refreshed.access_token !== tokens.access_token, idToken: idc };
  });

  if (cfg.lifecycle) {
    const rt = refreshed ? refreshed.refresh_token || tokens.refresh_token : tokens && tokens.refresh_token;
    const at = refreshed ? refreshed.access_token : tokens && tokens.access_token;
    await report.run('introspect-access', async () => {
      introspector = cfg.introspector
        ? await configFor(cfg.introspector.clientId, cfg.introspector.clientSecret) : config;
      return { result: await client.tokenIntrospection(introspector, at) };
    });
    if (cfg.stranger) {
      await report.run('introspect-by-stranger', async () => {
        const stranger = await configFor(cfg.stranger.clientId, cfg.stranger.clientSecret);
        return { result: await client.tokenIntrospection(stranger, at) };
      });
    }
    await report.run('introspect-refresh', async () => {
      return { result: await client.tokenIntrospection(introspector || config, rt,
        { token_type_hint: 'refresh_token' }) };
    });
    await report.run('revoke-refresh', async () => {
      await client.tokenRevocation(config, rt, { token_type_hint: 'refresh_token' });
      return {};
    });
    await report.run('introspect-after-revoke', async () => {
      return { refresh: await client.tokenIntrospection(introspector || config, rt),
        access: await client.tokenIntrospection(introspector || config, at) };
    });
    await report.run('refresh-after-revoke', async () =>
      mustFail(() => client.refreshTokenGrant(config, rt)));
  }

  // Last: a replayed code also revokes everything it issued.
  await report.run('code-replay', async () => {
    if (!callback) throw new Error('no callback');
    return mustFail(() => client.authorizationCodeGrant(config, new URL(callback), checks));
  });
} catch (e) {
  report.steps.push({ name: 'script', ok: false, error: String(e && e.stack || e) });
} finally {
  if (browser) await browser.close().catch(() => {});
  report.print();
}
