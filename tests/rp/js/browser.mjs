// browser.mjs: headless Chromium (Debian's binary, driven by playwright-core)
// going through smartauth's login, patient picker and consent pages the way
// a user does, plus the step bookkeeping the relying-party scripts share.
//
// A script is given one JSON argument and prints one JSON line, its report:
//   {"steps": [{"name", "ok", "error"?, ...data}], ...}
// Steps run in order; a failed step is recorded with its error and the
// screenshot of the page at that moment, and the script goes on with the
// next independent step when it can.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

export function reporter() {
  const report = { steps: [] };
  report.run = async (name, fn) => {
    const s = { name, ok: false };
    report.steps.push(s);
    try {
      const data = await fn();
      Object.assign(s, data || {});
      s.ok = true;
      return data;
    } catch (e) {
      s.error = describe(e);
      return undefined;
    }
  };
  report.print = () => process.stdout.write('\n' + JSON.stringify(report) + '\n');
  return report;
}

// The message of an error, with the OAuth error of the response the
// library rejected, when there is one.
export function describe(e) {
  if (e == null) return String(e);
  let m = `${e.name || 'Error'}: ${e.message}`;
  if (e.code) m += ` [${e.code}]`;
  if (e.error) m += ` error=${e.error}`;
  if (e.error_description) m += ` (${e.error_description})`;
  if (!e.error && e.cause && e.cause !== e && typeof e.cause === 'object') {
    const c = e.cause;
    if (c.error) m += ` error=${c.error}`;
    if (c.error_description) m += ` (${c.error_description})`;
    if (c.message && !c.error) m += ` cause: ${c.message}`;
  }
  return m;
}

export async function launch(cfg) {
  const browser = await chromium.launch({
    executablePath: cfg.chromium || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  context.setDefaultTimeout(15000);
  context.setDefaultNavigationTimeout(15000);
  return { browser, context };
}

let shotNumber = 0;

export async function screenshot(page, cfg, label) {
  if (!cfg.outDir) return undefined;
  fs.mkdirSync(cfg.outDir, { recursive: true });
  const file = path.join(cfg.outDir,
    `${cfg.name || 'rp'}-${String(++shotNumber).padStart(2, '0')}-${label}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true });
    return file;
  } catch {
    return undefined;
  }
}

// What kind of smartauth page is showing: login, patient, encounter,
// consent, logout (the sign-out confirmation), or other (anything else: an error page, or the relying party).
export async function pageKind(page) {
  if (await page.locator('input[name="password"]').count()) return 'login';
  if (await page.locator('input[name="patient"]').count()) return 'patient';
  if (await page.locator('input[name="encounter"]').count()) return 'encounter';
  if (await page.locator('button[name="decision"]').count()) return 'consent';
  if (new URL(page.url()).pathname.endsWith('/logout') &&
      await page.locator('form input[name="csrf"]').count()) return 'logout';
  return 'other';
}

// Answers smartauth's pages until the browser leaves them (or max pages):
//   opts.username / opts.password   for the login page
//   opts.decision                   "allow" (default) or "deny" on consent
//   opts.uncheck                    scopes to untick on the consent page
//   opts.signOut                    confirm on the sign-out page
// Returns the list of page kinds seen, in order.
export async function throughSmartauth(page, cfg, opts, authBase) {
  const seen = [];
  for (let i = 0; i < 6; i++) {
    await page.waitForLoadState('load');
    if (!page.url().startsWith(authBase)) break;
    const kind = await pageKind(page);
    seen.push(kind);
    await screenshot(page, cfg, kind);
    if (kind === 'other' || (kind === 'logout' && !opts.signOut)) break;
    if (kind === 'login') {
      if (seen.filter((k) => k === 'login').length > 1)
        throw new Error(`login page shown again after submitting (wrong password?): ${await bodyText(page)}`);
      await page.fill('input[name="username"]', opts.username);
      await page.fill('input[name="password"]', opts.password);
      await Promise.all([page.waitForNavigation(), page.locator('form:has(input[name="password"]) [type="submit"]').first().click()]);
    } else if (kind === 'patient' || kind === 'encounter') {
      await page.locator(`input[name="${kind}"]`).first().check();
      await Promise.all([page.waitForNavigation(), page.locator(`form:has(input[name="${kind}"]) [type="submit"]`).first().click()]);
    } else if (kind === 'consent') {
      for (const s of opts.uncheck || [])
        await page.locator(`input[name="scope"][value="${s}"]`).uncheck();
      const decision = opts.decision || 'allow';
      await Promise.all([page.waitForNavigation(), page.locator(`button[name="decision"][value="${decision}"]`).click()]);
    } else if (kind === 'logout') {
      await Promise.all([page.waitForNavigation(), page.locator('form:has(input[name="csrf"]) [type="submit"]').first().click()]);
    }
  }
  return seen;
}

export async function bodyText(page) {
  try {
    return (await page.locator('body').innerText()).slice(0, 500);
  } catch {
    return '';
  }
}
