// A real browser (Debian's headless Chromium, driven by playwright-core) clicks through the
// Arabic sign-in: the demo agency's "sign in" → the gateway's country picker (right-to-left) →
// the national IdP's citizen list → the consent page (right-to-left) → back at the agency,
// signed in. Chromium enforces the gateway's CSP for real, including form-action on the
// redirect that follows each form POST.
//
// Usage (run by tests/e2e/interop.rs):
//   node browser-flow.mjs --agency http://127.0.0.1:PORT --gateway http://127.0.0.1:PORT \
//     --country SA --screenshots DIR [--chromium /usr/bin/chromium]
// Prints one JSON object to stdout; on failure prints {"error": ..., "console": [...]} to
// stderr and exits 1.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    agency: { type: 'string' },
    gateway: { type: 'string' },
    country: { type: 'string' },
    screenshots: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});

// Without the background-networking flags Chromium keeps calling Google, which this closed
// network refuses; --no-sandbox because CI runs as root in a container.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const STEP_TIMEOUT_MS = 15_000;

const consoleMessages = [];
const navigations = [];
const failedResources = [];
let browser;

/** Stops the run: reported (with the console) and the browser closed by `main().catch`. */
class Failure extends Error {
  constructor(message, detail) {
    super(message);
    this.detail = detail;
  }
}

function fail(message, detail) {
  throw new Failure(message, detail);
}

async function report(e) {
  const out = { error: e instanceof Failure ? e.message : `${e?.name ?? 'Error'}: ${e?.message ?? e}` };
  const detail = e instanceof Failure ? e.detail : e?.stack;
  if (detail) out.detail = String(detail).slice(0, 2000);
  out.console = consoleMessages;
  out.failed_resources = failedResources;
  out.navigations = navigations;
  process.stderr.write(`${JSON.stringify(out)}\n`);
  await browser?.close().catch(() => {});
  process.exit(1);
}

/** Direction and language of the document and of its Arabic and English text blocks. */
async function direction(page, what) {
  const view = await page.evaluate((what) => {
    const html = document.documentElement;
    const block = (lang) => {
      const el = document.querySelector(`main [lang="${lang}"]`);
      if (!el) return null;
      const style = getComputedStyle(el);
      return { tag: el.tagName.toLowerCase(), text: el.textContent.trim().slice(0, 80), direction: style.direction, text_align: style.textAlign };
    };
    return {
      what,
      url: location.href,
      title: document.title,
      dir: html.dir,
      lang: html.lang,
      body_direction: getComputedStyle(document.body).direction,
      stylesheets: [...document.styleSheets].filter((s) => s.cssRules.length > 0).length,
      arabic_block: block('ar'),
      english_block: block('en'),
    };
  }, what);
  return { ...view, url: redact(view.url) };
}

function expectRtl(view) {
  const problems = [];
  if (view.dir !== 'rtl') problems.push(`document dir is "${view.dir}"`);
  if (view.lang !== 'ar') problems.push(`document lang is "${view.lang}"`);
  if (view.body_direction !== 'rtl') problems.push(`body computes direction ${view.body_direction}`);
  if (view.stylesheets < 1) problems.push('no stylesheet applied');
  if (!view.arabic_block) problems.push('no Arabic text block');
  else if (view.arabic_block.direction !== 'rtl') {
    problems.push(`Arabic block computes direction ${view.arabic_block.direction}`);
  }
  if (view.english_block && view.english_block.direction !== 'ltr') {
    problems.push(`English block computes direction ${view.english_block.direction}`);
  }
  if (problems.length) fail(`${view.what}: not right-to-left: ${problems.join('; ')}`, JSON.stringify(view));
}

/** Clicks and waits for the main frame to load a URL that satisfies `arrived`. */
async function clickTo(page, selector, arrived, what) {
  const target = page.locator(selector).first();
  if ((await target.count()) === 0) fail(`${what}: nothing matches ${selector} on ${page.url()}`);
  try {
    await Promise.all([
      page.waitForURL(arrived.test, { timeout: STEP_TIMEOUT_MS, waitUntil: 'load' }),
      target.click({ timeout: STEP_TIMEOUT_MS }),
    ]);
  } catch (e) {
    fail(`${what}: the browser did not reach ${arrived.description} (still at ${page.url()})`, e.message);
  }
}

/** URL predicates by origin (every server is on 127.0.0.1, so a string prefix could lie). */
const at = (origin, path) => ({
  description: `${origin}${path ?? ''}`,
  test: (u) => u.origin === origin && (path === undefined || u.pathname === path),
});
const awayFrom = (origin) => ({
  description: `somewhere other than ${origin}`,
  test: (u) => u.protocol.startsWith('http') && u.origin !== origin,
});

async function main() {
  const started = performance.now();
  for (const name of ['agency', 'gateway', 'country', 'screenshots']) {
    if (!args[name]) fail(`missing --${name}`);
  }
  await mkdir(args.screenshots, { recursive: true });
  browser = await chromium.launch({
    executablePath: args.chromium,
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: 30_000,
  });
  const context = await browser.newContext({
    locale: 'ar',
    viewport: { width: 1000, height: 900 },
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('console', (m) =>
    consoleMessages.push({ type: m.type(), text: m.text(), page: redact(page.url()) }),
  );
  page.on('pageerror', (e) =>
    consoleMessages.push({ type: 'pageerror', text: String(e), page: redact(page.url()) }),
  );
  page.on('response', (r) => {
    if (r.status() >= 400) failedResources.push({ status: r.status(), url: redact(r.url()) });
  });
  page.on('requestfailed', (r) =>
    failedResources.push({ failure: r.failure()?.errorText, url: redact(r.url()) }),
  );
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations.push(redact(f.url()));
  });

  // The agency starts the OIDC flow (ui_locales "ar en"): the gateway's picker, in Arabic.
  const response = await page.goto(`${args.agency}/login`, { waitUntil: 'load' });
  const gateway = new URL(args.gateway).origin;
  const agency = new URL(args.agency).origin;
  if (new URL(page.url()).origin !== gateway) fail(`agency /login did not reach the gateway: ${page.url()}`);
  if (response?.status() !== 200) fail(`picker: status ${response?.status()}`);
  const picker = await direction(page, 'picker');
  expectRtl(picker);
  const pickerShot = join(args.screenshots, 'picker-ar.png');
  await page.screenshot({ path: pickerShot, fullPage: true });

  // Saudi Arabia (or --country): a form POST, then a 303 to the national IdP.
  const country = args.country.toUpperCase();
  await clickTo(page, `button[name="country"][value="${country}"]`, awayFrom(gateway), 'picker');
  const idpOrigin = new URL(page.url()).origin;
  await page.waitForSelector('ul li a');

  // The national IdP's list of synthetic citizens: the first one.
  const citizenLink = page.locator('ul li a').first();
  const citizen = (await citizenLink.innerText()).trim();
  await clickTo(page, 'ul li a', at(gateway), 'national IdP');

  // The consent page, in Arabic.
  const consent = await direction(page, 'consent');
  expectRtl(consent);
  const shares = await page.$$eval('dl.attributes .attribute', (rows) =>
    rows.map((r) => ({ claim: r.dataset.claim, value: r.querySelector('dd')?.textContent.trim() })),
  );
  const consentShot = join(args.screenshots, 'consent-ar.png');
  await page.screenshot({ path: consentShot, fullPage: true });

  // Share: a form POST, then a 303 to the agency's redirect URI, then the agency's home.
  await clickTo(page, 'button[name="decision"][value="allow"]', at(agency, '/'), 'consent');
  const agencyText = await page.locator('body').innerText();
  if (!agencyText.includes('jisr_gcc')) fail('agency: the page does not show jisr_gcc', agencyText);
  const agencyShot = join(args.screenshots, 'agency.png');
  await page.screenshot({ path: agencyShot, fullPage: true });

  const cspViolations = consoleMessages.filter((m) => /Content Security Policy/i.test(m.text));
  const summary = {
    chromium: browser.version(),
    picker,
    idp_origin: idpOrigin,
    citizen,
    consent: { ...consent, shares },
    agency: { url: page.url(), text: agencyText },
    screenshots: { picker: pickerShot, consent: consentShot, agency: agencyShot },
    csp_violations: cspViolations,
    console: consoleMessages,
    failed_resources: failedResources,
    navigations,
    elapsed_ms: Math.round(performance.now() - started),
  };
  await browser.close();
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

function redact(url) {
  try {
    const u = new URL(url);
    for (const k of ['code', 'state', 'nonce', 'code_challenge']) {
      if (u.searchParams.has(k)) u.searchParams.set(k, '…');
    }
    return u.href;
  } catch {
    return url;
  }
}

main().catch(report);
