// A real browser (Debian's headless Chromium, driven by playwright-core) signs in to the
// operators' dashboard through the development operator IdP, as `ops-admin`, and takes a
// screenshot of the dashboard in Arabic (right-to-left) and in English at a wall-screen
// size. Chromium enforces the dashboard's CSP (script-src 'self', connect-src 'self'), and
// the page's script polls /api/overview meanwhile.
//
// Usage (run by tests/e2e/dashboard.rs):
//   node dashboard-flow.mjs --admin http://127.0.0.1:PORT --screenshots DIR \
//     [--account ops-admin] [--chromium /usr/bin/chromium]
// Prints one JSON object to stdout; on failure prints {"error": ...} to stderr and exits 1.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    admin: { type: 'string' },
    screenshots: { type: 'string' },
    account: { type: 'string', default: 'ops-admin' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});

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
const failedResources = [];
const apiPolls = [];
let browser;

async function report(e) {
  const out = {
    error: `${e?.name ?? 'Error'}: ${e?.message ?? e}`,
    console: consoleMessages,
    failed_resources: failedResources,
  };
  process.stderr.write(`${JSON.stringify(out)}\n`);
  await browser?.close().catch(() => {});
  process.exit(1);
}

async function view(page) {
  return page.evaluate(() => ({
    url: location.pathname + location.search,
    lang: document.documentElement.lang,
    dir: document.documentElement.dir,
    body_direction: getComputedStyle(document.body).direction,
    title: document.title,
    stylesheets: [...document.styleSheets].filter((s) => s.cssRules.length > 0).length,
    panels: [...document.querySelectorAll('section.panel')].map((s) => s.id),
    matrix_rows: document.querySelectorAll('table.matrix tbody tr').length,
    charts: document.querySelectorAll('figure.chart svg').length,
    text: document.body.innerText.slice(0, 4000),
  }));
}

async function main() {
  const started = performance.now();
  if (!args.admin || !args.screenshots) throw new Error('--admin and --screenshots are required');
  await mkdir(args.screenshots, { recursive: true });
  const admin = new URL(args.admin).origin;
  browser = await chromium.launch({ executablePath: args.chromium, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('console', (m) => consoleMessages.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => consoleMessages.push({ type: 'pageerror', text: String(e) }));
  page.on('response', (r) => {
    if (r.status() >= 400) failedResources.push({ status: r.status(), url: r.url().split('?')[0] });
    if (r.url().endsWith('/api/overview')) apiPolls.push(r.status());
  });
  page.on('requestfailed', (r) => failedResources.push({ failure: r.failure()?.errorText, url: r.url().split('?')[0] }));

  // Anonymous: the dashboard sends the browser to sign in at the operator IdP.
  await page.goto(`${admin}/`, { waitUntil: 'load' });
  if (new URL(page.url()).origin === admin) throw new Error(`not sent to the operator IdP: ${page.url()}`);
  const idpOrigin = new URL(page.url()).origin;
  const account = page.locator(`ul li:has-text("${args.account}") a`).first();
  if ((await account.count()) === 0) throw new Error(`no account ${args.account} at the operator IdP`);
  await Promise.all([
    page.waitForURL((u) => u.origin === admin && u.pathname === '/', { timeout: STEP_TIMEOUT_MS }),
    account.click(),
  ]);
  await page.waitForSelector('#matrix');

  const shots = {};
  const views = {};
  for (const lang of ['ar', 'en']) {
    await page.goto(`${admin}/?lang=${lang}`, { waitUntil: 'load' });
    await page.waitForSelector('#matrix');
    // Let the script poll the API at least once.
    await page.waitForResponse((r) => r.url().endsWith('/api/overview'), { timeout: STEP_TIMEOUT_MS });
    views[lang] = await view(page);
    shots[lang] = join(args.screenshots, `dashboard-${lang}.png`);
    await page.screenshot({ path: shots[lang], fullPage: true });
  }
  // A phone, in Arabic: the panels stack.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${admin}/?lang=ar`, { waitUntil: 'load' });
  await page.waitForSelector('#matrix');
  shots.phone = join(args.screenshots, 'dashboard-ar-phone.png');
  await page.screenshot({ path: shots.phone, fullPage: true });
  const cspViolations = consoleMessages.filter((m) => /Content Security Policy/i.test(m.text));
  const summary = {
    chromium: browser.version(),
    idp_origin: idpOrigin,
    views,
    screenshots: shots,
    api_polls: apiPolls,
    csp_violations: cspViolations,
    console: consoleMessages,
    failed_resources: failedResources,
    elapsed_ms: Math.round(performance.now() - started),
  };
  await browser.close();
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

main().catch(report);
