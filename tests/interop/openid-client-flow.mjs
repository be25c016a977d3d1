// A certified OpenID Relying Party library (panva's openid-client) signs a citizen in through
// the Jisr gateway with no custom OIDC code: discovery, authorization URL with PKCE S256, state
// and nonce, the authorization response (iss checked per RFC 9207), the code exchange with
// client_secret_basic, ID token validation including its ES256 signature, and userinfo.
//
// The script is also the citizen's browser: plain fetch with manual redirects and a small cookie
// jar walks the gateway's country picker, the national IdP's citizen list and the consent page.
//
// Usage (run by tests/e2e/interop.rs):
//   JISR_CLIENT_SECRET=... node openid-client-flow.mjs \
//     --issuer http://127.0.0.1:PORT --client-id ID --redirect-uri URI --country SA --citizen ID
// Prints one JSON object to stdout; on failure prints {"error": ...} to stderr and exits 1.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as client from 'openid-client';

const { values: args } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string' },
    country: { type: 'string' },
    citizen: { type: 'string' },
    'ui-locales': { type: 'string', default: 'en ar' },
  },
});
for (const name of ['issuer', 'client-id', 'redirect-uri', 'country', 'citizen']) {
  if (!args[name]) fail(`missing --${name}`);
}
const clientSecret = process.env.JISR_CLIENT_SECRET;
if (!clientSecret) fail('missing JISR_CLIENT_SECRET in the environment');

const HOP_TIMEOUT_MS = 10_000;
const MAX_HOPS = 20;

/** A browser's cookies for one host: cookies ignore the port (RFC 6265), as browsers do. */
class CookieJar {
  #cookies = new Map(); // `${host}\n${name}` -> value

  store(url, response) {
    const host = new URL(url).hostname;
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a));
      const key = `${host}\n${name}`;
      if (expired || value === '') this.#cookies.delete(key);
      else this.#cookies.set(key, value);
    }
  }

  header(url) {
    const host = new URL(url).hostname;
    const pairs = [];
    for (const [key, value] of this.#cookies) {
      const [h, name] = key.split('\n');
      if (h === host) pairs.push(`${name}=${value}`);
    }
    return pairs.join('; ');
  }
}

const jar = new CookieJar();
const hops = [];

/** One request, no redirect following; records the hop. */
async function hop(method, url, form) {
  const headers = { accept: 'text/html' };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const response = await fetch(url, {
    method,
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(HOP_TIMEOUT_MS),
  });
  jar.store(url, response);
  const location = response.headers.get('location');
  hops.push({ method, url: redact(url), status: response.status });
  return {
    status: response.status,
    location: location ? new URL(location, url).href : null,
    html: location ? '' : await response.text(),
    url,
  };
}

function redact(url) {
  const u = new URL(url);
  for (const k of ['code', 'state', 'nonce', 'code_challenge']) {
    if (u.searchParams.has(k)) u.searchParams.set(k, '…');
  }
  return u.href;
}

function decodeEntities(s) {
  return s
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The page's POST form: its action and hidden inputs, as a browser would submit them. */
function postForm(page, what) {
  const form = page.html.match(/<form\b[^>]*\bmethod="post"[^>]*>/i);
  if (!form) fail(`${what}: no POST form on ${redact(page.url)} (status ${page.status})`, page.html);
  const action = form[0].match(/\baction="([^"]*)"/i);
  const fields = {};
  for (const input of page.html.matchAll(/<input\b[^>]*>/gi)) {
    const tag = input[0];
    if (!/\btype="hidden"/i.test(tag)) continue;
    const name = tag.match(/\bname="([^"]*)"/i);
    const value = tag.match(/\bvalue="([^"]*)"/i);
    if (name) fields[decodeEntities(name[1])] = value ? decodeEntities(value[1]) : '';
  }
  return { action: new URL(decodeEntities(action ? action[1] : ''), page.url).href, fields };
}

/** The submit button `name=value` must be on the page (and enabled) for a click to send it. */
function requireButton(page, name, value, what) {
  const re = new RegExp(`<button\\b[^>]*\\bname="${name}"[^>]*\\bvalue="${value}"[^>]*>`, 'i');
  const button = page.html.match(re);
  if (!button) fail(`${what}: no button ${name}=${value}`, page.html);
  if (/\bdisabled\b/i.test(button[0])) fail(`${what}: button ${name}=${value} is disabled`);
}

/** Follows redirects until a page (2xx/4xx) or a redirect to `stopAt`. */
async function follow(first, stopAt) {
  let r = first;
  for (let i = 0; i < MAX_HOPS; i++) {
    if (r.location === null) return r;
    if (r.location.startsWith(stopAt)) return r;
    r = await hop('GET', r.location);
  }
  fail(`more than ${MAX_HOPS} redirects`);
}

function fail(message, detail) {
  const out = { error: message };
  if (detail) out.detail = String(detail).slice(0, 2000);
  if (hops.length) out.hops = hops;
  process.stderr.write(`${JSON.stringify(out)}\n`);
  process.exit(1);
}

async function main() {
  const started = performance.now();
  const redirectUri = args['redirect-uri'];

  // Discovery (the issuer in the document must equal the URL it was fetched from).
  const config = await client.discovery(
    new URL(args.issuer),
    args['client-id'],
    { id_token_signed_response_alg: 'ES256' },
    client.ClientSecretBasic(clientSecret),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  );
  const meta = config.serverMetadata();

  // The authorization request: PKCE S256, state and nonce, all from openid-client.
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ui_locales: args['ui-locales'],
  });

  // The citizen: the gateway's country picker…
  const picker = await follow(await hop('GET', authorizationUrl.href), redirectUri);
  if (picker.status !== 200) fail(`picker: status ${picker.status}`, picker.html);
  requireButton(picker, 'country', args.country, 'picker');
  const pickerForm = postForm(picker, 'picker');
  const toIdp = await hop('POST', pickerForm.action, { ...pickerForm.fields, country: args.country });
  if (toIdp.status !== 303 && toIdp.status !== 302) fail(`picker POST: status ${toIdp.status}`, toIdp.html);

  // …the national IdP's list of synthetic citizens: follow the citizen's link…
  const chooser = await follow(toIdp, redirectUri);
  if (chooser.status !== 200) fail(`national IdP: status ${chooser.status}`, chooser.html);
  const link = [...chooser.html.matchAll(/<a\b[^>]*\bhref="([^"]*)"/gi)]
    .map((m) => new URL(decodeEntities(m[1]), chooser.url))
    .find((u) => u.searchParams.get('login_hint') === args.citizen);
  if (!link) fail(`national IdP: no link for citizen ${args.citizen}`, chooser.html);

  // …back at the gateway, the consent page: allow.
  const consent = await follow(await hop('GET', link.href), redirectUri);
  if (consent.status !== 200) fail(`consent: status ${consent.status}`, consent.html);
  requireButton(consent, 'decision', 'allow', 'consent');
  const consentForm = postForm(consent, 'consent');
  const back = await hop('POST', consentForm.action, { ...consentForm.fields, decision: 'allow' });
  if (!back.location || !back.location.startsWith(redirectUri)) {
    fail(`consent POST: expected a redirect to ${redirectUri}, got ${back.status} ${back.location}`);
  }
  const callbackUrl = new URL(back.location);
  const callbackParams = [...callbackUrl.searchParams.keys()].sort();

  // openid-client takes over: the authorization response (state, iss) and the code exchange,
  // then validates the ID token (signature against the JWKS, alg, iss, aud, exp, iat, nonce).
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const [headerB64] = tokens.id_token.split('.');
  const idTokenHeader = JSON.parse(Buffer.from(headerB64, 'base64url').toString('utf8'));

  // userinfo with the access token; openid-client checks sub equals the ID token's.
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  const summary = {
    library: { 'openid-client': await packageVersion('openid-client') },
    discovery: {
      issuer: meta.issuer,
      authorization_response_iss_parameter_supported:
        meta.authorization_response_iss_parameter_supported ?? false,
      code_challenge_methods_supported: meta.code_challenge_methods_supported,
      id_token_signing_alg_values_supported: meta.id_token_signing_alg_values_supported,
    },
    authorization_request: Object.fromEntries(new URL(redact(authorizationUrl.href)).searchParams),
    callback_parameters: callbackParams,
    token_response: {
      token_type: tokens.token_type,
      expires_in: tokens.expiresIn(),
      has_refresh_token: Boolean(tokens.refresh_token),
    },
    id_token_header: { alg: idTokenHeader.alg, typ: idTokenHeader.typ, kid: idTokenHeader.kid },
    claims,
    userinfo,
    hops,
    elapsed_ms: Math.round(performance.now() - started),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

async function packageVersion(name) {
  const file = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(await readFile(file, 'utf8')).version;
}

main().catch((e) => {
  const detail = [e?.code, e?.error, e?.error_description, e?.cause?.message ?? e?.cause]
    .filter(Boolean)
    .join(' | ');
  fail(`${e?.name ?? 'Error'}: ${e?.message ?? e}`, detail || e?.stack);
});
