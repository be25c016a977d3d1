// panva's oidc-provider (a certified OpenID Provider) as the national IdP of one country, set up
// through its documented configuration: one client (the gateway), the signing keys, the claims
// per scope, the country's acr values, findAccount over a fixed list of synthetic citizens, and
// loadExistingGrant pre-approving the gateway (a first-party client: no consent screen).
//
// The one piece that is not configuration is the IdP's login page, which oidc-provider leaves
// to whoever deploys it: its built-in development pages (features.devInteractions) finish a
// login with an accountId only, so an ID token from them never carries `acr`, whatever the
// request asks. The page below is the smallest login a national IdP would deploy, through
// oidc-provider's documented interaction API (interactionDetails / interactionFinished): the
// citizen types their civil number, the IdP authenticates them with its mobile PKI method and
// reports that method as `acr` (oidc-provider then puts it in the ID token when asked).
// Nothing of oidc-provider is patched or wrapped.
//
// Usage (run by tests/src/certified.rs):
//   JISR_CLIENT_SECRET=... node oidc-provider-idp.mjs --client-id jisr --redirect-uri URI \
//     --acr-values 'urn:a urn:b' --accounts accounts.json [--alg PS256]
// accounts.json: {"<login>": {"sub": "...", "id_token": {...}, "userinfo": {...}}, ...}; the
// keys of "id_token" are the claims of the `openid` scope, those of "userinfo" of `profile`.
// Listens on a free loopback port and prints one JSON line {"issuer": ...} once it answers;
// runs until killed.

import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string' },
    'acr-values': { type: 'string', default: '' },
    // The acr of the IdP's one authentication method, reported for every login.
    'login-acr': { type: 'string' },
    accounts: { type: 'string' },
    alg: { type: 'string', default: 'PS256' },
  },
});
for (const name of ['client-id', 'redirect-uri', 'accounts', 'login-acr']) {
  if (!args[name]) fail(`missing --${name}`);
}
const clientSecret = process.env.JISR_CLIENT_SECRET;
if (!clientSecret) fail('missing JISR_CLIENT_SECRET in the environment');

function fail(message) {
  process.stderr.write(`${JSON.stringify({ error: message })}\n`);
  process.exit(1);
}

const accounts = JSON.parse(await readFile(args.accounts, 'utf8'));
const idTokenClaims = new Set();
const userinfoClaims = new Set();
for (const account of Object.values(accounts)) {
  Object.keys(account.id_token ?? {}).forEach((c) => idTokenClaims.add(c));
  Object.keys(account.userinfo ?? {}).forEach((c) => userinfoClaims.add(c));
}

// A fresh signing key per run, as a JWK (oidc-provider's `jwks` option).
const signingKey = {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: `om-${Date.now().toString(36)}`,
  use: 'sig',
};

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: args['client-id'],
        client_secret: clientSecret,
        redirect_uris: [args['redirect-uri']],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: args.alg,
      },
    ],
    jwks: { keys: [signingKey] },
    claims: {
      acr: null,
      auth_time: null,
      openid: ['sub', ...idTokenClaims],
      profile: [...userinfoClaims],
    },
    acrValues: args['acr-values'].split(' ').filter(Boolean),
    enabledJWA: { idTokenSigningAlgValues: [args.alg] },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // The gateway is the IdP's own registered relying party: consent is pre-established
    // (oidc-provider's documented pattern for first-party clients).
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile');
      await grant.save();
      return grant;
    },
    async findAccount(ctx, sub) {
      const account = Object.values(accounts).find((a) => a.sub === sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, ...account.id_token, ...account.userinfo };
        },
      };
    },
  });
  const oidc = provider.callback();
  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    const uid = url.pathname.match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (!uid) return oidc(req, res);
    login(provider, req, res, Boolean(uid[2])).catch((e) => {
      res.statusCode = 400;
      res.end(`login failed: ${e.message}`);
    });
  });
  process.stdout.write(`${JSON.stringify({ issuer, kid: signingKey.kid })}\n`);
});
/** The IdP's login page: GET shows the form, POST signs the citizen in by civil number. */
async function login(provider, req, res, submitted) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== 'login') throw new Error(`unexpected prompt ${details.prompt.name}`);
  if (!submitted) {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><title>Oman eID (oidc-provider)</title>
<form method="post" action="/interaction/${details.uid}/login">
<input name="login" autocomplete="username"><button>Sign in with mobile PKI</button></form>`);
    return;
  }
  let body = '';
  for await (const chunk of req) body += chunk;
  const civilNumber = new URLSearchParams(body).get('login');
  const account = accounts[civilNumber];
  const result = account
    ? { login: { accountId: account.sub, acr: args['login-acr'] } }
    : { error: 'access_denied', error_description: 'unknown civil number' };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

process.on('SIGTERM', () => server.close(() => process.exit(0)));
