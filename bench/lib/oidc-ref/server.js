/*
 * The peer reference of bench/run: node oidc-provider 9 on 127.0.0.1,
 * configured for the grants smartauth is compared on, with the same load:
 *
 *   refresh_token        public client, rotation, RS256 JWT access token
 *                        (scope without openid: no id_token)
 *   authorization_code   public client, PKCE S256, RS256 JWT access token
 *                        and RS256 id_token (scope openid)
 *   client_credentials   client_secret_basic, RS256 JWT access token
 *   introspection        of an opaque access token (oidc-provider keeps no
 *                        record of its JWT access tokens, so it introspects
 *                        only opaque ones)
 *
 * State lives in a Map in this process (the adapter below): nothing is
 * persisted.  oidc-provider's own in-memory adapter is an LRU of 1,000
 * entries, too small to hold the tokens and codes made for one run.
 *
 * Environment:
 *   BENCH_PORT   port to listen on (127.0.0.1 only)
 *   BENCH_MINT   how many refresh tokens and authorization codes to make
 *                before listening (0)
 *   BENCH_OUT    directory for the form bodies, one per line:
 *                oidc-refresh.bodies and oidc-code.bodies
 *
 * Prints "ready" on standard output once it listens.
 */
import { generateKeyPairSync, createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import Provider from 'oidc-provider';

const port = Number(process.env.BENCH_PORT || 0);
const mint = Number(process.env.BENCH_MINT || 0);
const out = process.env.BENCH_OUT || '.';
const issuer = `http://127.0.0.1:${port}`;
const FHIR = 'https://fhir.bench/fhir';
const OPAQUE = 'urn:bench:opaque';
const REDIRECT = 'https://bench.example/cb';

/* ---- an unbounded in-memory adapter ------------------------------------ */
const store = new Map();
const byGrant = new Map();
const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken']);

class MapAdapter {
  constructor(name) { this.name = name; }

  key(id) { return `${this.name}:${id}`; }

  async upsert(id, payload) {
    const k = this.key(id);
    store.set(k, payload);
    if (payload.grantId && grantable.has(this.name)) {
      let l = byGrant.get(payload.grantId);
      if (!l) byGrant.set(payload.grantId, (l = []));
      l.push(k);
    }
  }

  async find(id) { return store.get(this.key(id)); }

  async findByUid() { return undefined; }

  async findByUserCode() { return undefined; }

  async consume(id) {
    const p = store.get(this.key(id));
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    const l = byGrant.get(grantId);
    if (l) l.forEach((k) => store.delete(k));
    byGrant.delete(grantId);
  }
}

/* ---- the provider ------------------------------------------------------- */
const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
Object.assign(jwk, { kid: 'bench-rs256', use: 'sig', alg: 'RS256' });

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  jwks: { keys: [jwk] },
  clients: [
    {
      client_id: 'bench-public',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT],
    },
    {
      client_id: 'bench-cc',
      client_secret: 'bench-cc-secret-0123456789',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  scopes: ['openid', 'offline_access'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => FHIR,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => (resource === OPAQUE
        ? { scope: 'system/*.rs', accessTokenFormat: 'opaque', accessTokenTTL: 3600 }
        : {
          scope: 'patient/*.rs system/*.rs',
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'RS256' } },
        }),
    },
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 3600,
    ClientCredentials: 3600,
    Grant: 86400,
    IdToken: 3600,
    RefreshToken: 86400,
  },
  rotateRefreshToken: true,
});

/* ---- tokens and codes to redeem, each presented once ------------------- */
const b64u = (buf) => buf.toString('base64url');

async function makeGrant(oidcScope) {
  const grant = new provider.Grant({ accountId: 'alice', clientId: 'bench-public' });
  grant.addOIDCScope(oidcScope);
  grant.addResourceScope(FHIR, 'patient/*.rs');
  return grant.save();
}

async function mintAll() {
  const client = await provider.Client.find('bench-public');
  const now = Math.floor(Date.now() / 1000);
  const refresh = [];
  const code = [];
  for (let i = 0; i < mint; i += 1) {
    const grantId = await makeGrant('offline_access');
    const rt = new provider.RefreshToken({
      accountId: 'alice', client, grantId, scope: 'offline_access patient/*.rs',
      resource: FHIR, gty: 'authorization_code', authTime: now, iiat: now,
    });
    refresh.push(`grant_type=refresh_token&client_id=bench-public&refresh_token=${await rt.save()}`);

    const verifier = b64u(randomBytes(32));
    const challenge = b64u(createHash('sha256').update(verifier).digest());
    const ac = new provider.AuthorizationCode({
      accountId: 'alice', client, grantId: await makeGrant('openid offline_access'),
      scope: 'openid offline_access patient/*.rs', resource: FHIR,
      redirectUri: REDIRECT, codeChallenge: challenge, codeChallengeMethod: 'S256', authTime: now,
    });
    code.push(`grant_type=authorization_code&client_id=bench-public&redirect_uri=${encodeURIComponent(REDIRECT)}`
      + `&code=${await ac.save()}&code_verifier=${verifier}`);
  }
  writeFileSync(join(out, 'oidc-refresh.bodies'), `${refresh.join('\n')}\n`);
  writeFileSync(join(out, 'oidc-code.bodies'), `${code.join('\n')}\n`);
}

await mintAll();
provider.listen(port, '127.0.0.1', () => { process.stdout.write('ready\n'); });
