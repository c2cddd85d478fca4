// openidc-login.mjs: a user in headless Chromium opens pages protected by
// mod_auth_openidc, is sent to smartauth, logs in and consents there, and
// comes back to the page, which shows the claims mod_auth_openidc passed.
//
// Argument (JSON): {authBase, name, outDir, chromium,
//   visits: [{name, url, username, password, decision, uncheck, signOut,
//             clearRpCookies, headers (sent with every request)}]}
// All visits share one browser (one cookie jar), so the second visit shows
// what single sign-on does.  Report: steps "visit:<name>", each with
//   authorize   the query of the authorization request the module sent
//   pages       smartauth page kinds seen (login, consent, ...)
//   status/url  of the last page; claims {sub, fhirUser, remoteUser, iss,
//               headerFhirUser, headerDashFhirUser (request headers)}
//   cookies     names of the browser's cookies afterwards
//   text        the start of the last page's text

import { launch, reporter, throughSmartauth, screenshot, bodyText } from './browser.mjs';

const cfg = JSON.parse(process.argv[2]);
const report = reporter();
let browser;

try {
  const b = await launch(cfg);
  browser = b.browser;
  const page = await b.context.newPage();
  let authorize = null;
  let last = { status: 0, url: '' };
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.url().startsWith(cfg.authBase + '/authorize?'))
      authorize = Object.fromEntries(new URL(r.url()).searchParams);
  });
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame())
      last = { status: r.status(), url: r.url() };
  });

  for (const v of cfg.visits) {
    await report.run(`visit:${v.name}`, async () => {
      authorize = null;
      if (v.clearRpCookies) {
        const keep = (await b.context.cookies()).filter((c) => !c.name.startsWith('mod_auth_openidc'));
        await b.context.clearCookies();
        if (keep.length) await b.context.addCookies(keep);
      }
      await page.setExtraHTTPHeaders(v.headers || {});
      try {
        await page.goto(v.url);
        const pages = await throughSmartauth(page, { ...cfg, name: `${cfg.name}-${v.name}` }, v, cfg.authBase);
        await page.waitForLoadState('load');
        const claims = {};
        for (const [k, id] of [['sub', 'sub'], ['fhirUser', 'fhirUser'],
          ['remoteUser', 'remote-user'], ['iss', 'iss'], ['headerFhirUser', 'header-fhirUser'],
          ['headerDashFhirUser', 'header-dash-fhirUser']]) {
          const loc = page.locator(`#${id}`);
          if (await loc.count()) claims[k] = (await loc.innerText()).trim();
        }
        await screenshot(page, { ...cfg, name: `${cfg.name}-${v.name}` }, 'final');
        const cookies = (await b.context.cookies()).map((c) => c.name);
        return { authorize, pages, status: last.status, url: page.url(), claims,
          cookies, text: await bodyText(page) };
      } catch (e) {
        await screenshot(page, { ...cfg, name: `${cfg.name}-${v.name}` }, 'failed');
        e.message += ` (at ${page.url()}: ${(await bodyText(page)).slice(0, 200)})`;
        throw e;
      }
    });
  }
} catch (e) {
  report.steps.push({ name: 'browser', ok: false, error: String(e && e.stack || e) });
} finally {
  if (browser) await browser.close().catch(() => {});
  report.print();
}
