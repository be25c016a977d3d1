// Headless Chromium (playwright-core) walks the citizen's pages as a citizen would and takes
// screenshots on a desktop and a phone-sized viewport, in the language the demo agency asks
// for (its `/login?lang=ar|en`):
//
//   --flow consent: picker → national IdP → the consent page (screenshot) → share → the
//     agency; then Back, which replays the national IdP's answer: the "expired" page with its
//     "Start again at <agency>" button (screenshot).
//   --flow logout: as consent up to the agency, then the gateway's logout without a hint in
//     the agency's language (`ui_locales`): the confirmation page (screenshot), "Sign out",
//     the signed-out page (screenshot).
//   --flow error: the national IdP's ID token is refused (the test sets the fault): the
//     error page (screenshot), then its "Return to <agency>" button, which must land at the
//     agency's redirect URI with error, state and iss.
//
// Usage (run by tests/e2e/edges_citizen.rs):
//   node citizen-pages.mjs --agency URL --gateway URL --country SA --lang ar|en \
//     --flow consent|logout|error --screenshots DIR [--chromium /usr/bin/chromium]
// Prints one JSON object; on failure prints {"error": ...} to stderr and exits 1.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    agency: { type: 'string' },
    gateway: { type: 'string' },
    country: { type: 'string' },
    lang: { type: 'string' },
    flow: { type: 'string' },
    screenshots: { type: 'string' },
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
const DESKTOP = { width: 1000, height: 900 };
const PHONE = { width: 390, height: 844 };

let browser;
const consoleMessages = [];

function fail(message) {
  throw new Error(message);
}

/** Screenshots the page as it is on a desktop and on a phone; returns both paths. */
async function shoot(page, name) {
  const desktop = join(args.screenshots, `${name}.png`);
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: desktop, fullPage: true });
  const phone = join(args.screenshots, `${name}-phone.png`);
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: phone, fullPage: true });
  // Nothing may overflow sideways on a phone.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.setViewportSize(DESKTOP);
  return { desktop, phone, phone_overflow_px: overflow };
}

/** What the page is: its language, direction, main text and the button back to the agency. */
async function look(page) {
  return page.evaluate(() => {
    const back = document.querySelector('a.back');
    return {
      lang: document.documentElement.lang,
      dir: document.documentElement.dir,
      title: document.title,
      text: document.querySelector('main')?.innerText ?? '',
      back_text: back?.innerText ?? null,
      back_href: back?.href ?? null,
    };
  });
}

async function clickTo(page, selector, predicate, what) {
  const target = page.locator(selector).first();
  if ((await target.count()) === 0) fail(`${what}: nothing matches ${selector} on ${page.url()}`);
  await Promise.all([
    page.waitForURL(predicate, { timeout: STEP_TIMEOUT_MS, waitUntil: 'load' }),
    target.click({ timeout: STEP_TIMEOUT_MS }),
  ]);
}

async function main() {
  for (const name of ['agency', 'gateway', 'country', 'lang', 'flow', 'screenshots']) {
    if (!args[name]) fail(`missing --${name}`);
  }
  await mkdir(args.screenshots, { recursive: true });
  browser = await chromium.launch({ executablePath: args.chromium, args: CHROMIUM_ARGS, headless: true });
  const context = await browser.newContext({ locale: args.lang, viewport: DESKTOP, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('console', (m) => consoleMessages.push({ type: m.type(), text: m.text() }));
  const gateway = new URL(args.gateway).origin;
  const agency = new URL(args.agency).origin;
  const lang = args.lang;

  await page.goto(`${args.agency}/login?lang=${lang}`, { waitUntil: 'load' });
  if (new URL(page.url()).origin !== gateway) fail(`agency /login did not reach the gateway: ${page.url()}`);
  const country = args.country.toUpperCase();
  await clickTo(page, `button[name="country"][value="${country}"]`, (u) => u.origin !== gateway, 'picker');
  await page.waitForSelector('ul li a');
  await clickTo(page, 'ul li a', (u) => u.origin === gateway, 'national IdP');

  const out = { flow: args.flow, lang };
  if (args.flow === 'consent') {
    out.consent = await look(page);
    out.consent.shots = await shoot(page, `consent-${lang}`);
    await clickTo(page, 'button[name="decision"][value="allow"]', (u) => u.origin === agency, 'consent');
    // Back: the browser asks for the national IdP's answer again (the page is no-store).
    await page.goBack({ waitUntil: 'load' });
    if (new URL(page.url()).origin !== gateway) fail(`Back did not return to the gateway: ${page.url()}`);
    out.expired = await look(page);
    out.expired.shots = await shoot(page, `expired-${lang}`);
  } else if (args.flow === 'logout') {
    await clickTo(page, 'button[name="decision"][value="allow"]', (u) => u.origin === agency, 'consent');
    await page.goto(`${gateway}/logout?ui_locales=${lang}`, { waitUntil: 'load' });
    out.confirm = await look(page);
    out.confirm.shots = await shoot(page, `logout-confirm-${lang}`);
    await clickTo(
      page,
      'button[name="decision"][value="logout"]',
      (u) => u.pathname === '/logout/confirm',
      'logout confirmation',
    );
    out.signed_out = await look(page);
    out.signed_out.shots = await shoot(page, `signed-out-${lang}`);
  } else if (args.flow === 'error') {
    out.error = await look(page);
    out.error.shots = await shoot(page, `error-${lang}`);
    await clickTo(page, 'a.back', (u) => u.origin === agency, 'error page button');
    const landed = new URL(page.url());
    out.returned = {
      path: landed.pathname,
      error: landed.searchParams.get('error'),
      has_state: landed.searchParams.has('state'),
      iss: landed.searchParams.get('iss'),
    };
    // The agency's own page after it heard the error.
    out.returned.page = await page.locator('body').innerText();
  } else {
    fail(`unknown --flow ${args.flow}`);
  }
  out.console = consoleMessages;
  await browser.close();
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch(async (e) => {
  process.stderr.write(`${JSON.stringify({ error: String(e?.message ?? e), console: consoleMessages })}\n`);
  await browser?.close().catch(() => {});
  process.exit(1);
});
