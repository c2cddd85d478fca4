// scenario.mjs: drives Debian's chromium (headless, through playwright-core)
// through one user scenario against smartauth, the sample SMART app and the
// demo EHR page, and prints one JSON line for the Python tests to assert on:
//
//   node js/scenario.mjs NAME '{"base": "http://127.0.0.1:PORT", "out": DIR, ...}'
//
//   {"ok": true, "steps": [{"step", "url", "title", "screenshot"}], "app": {...},
//    "documents": [{"url", "status"}], ...}
//   {"ok": false, "step": "<the step that failed>", "error": "...", "steps": [...]}
//
// Every page reached is screenshotted into DIR (NN-step.png); on failure every
// open page is screenshotted as failure-N.png.  Each run uses a fresh browser
// profile: no cookies or storage carry over between scenarios.
import { chromium } from "playwright-core";
import path from "node:path";

import { scenarios } from "./scenarios.mjs";

const [, , name, argJson] = process.argv;
const args = JSON.parse(argJson || "{}");
const result = { ok: false, scenario: name, steps: [], documents: [] };
let current = "start";
let browser;

function print() {
	process.stdout.write(JSON.stringify(result) + "\n");
}

async function main() {
	const run = scenarios[name];
	if (!run)
		throw new Error(`no scenario ${name}; known: ${Object.keys(scenarios).join(", ")}`);
	browser = await chromium.launch({
		executablePath: process.env.SMARTAUTH_CHROMIUM || "/usr/bin/chromium",
		headless: true,
		args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
	});
	const context = await browser.newContext({
		viewport: args.viewport || { width: 1100, height: 900 },
		locale: "en-US",
	});
	context.setDefaultTimeout(args.timeout || 15000);
	let shotNo = 0;
	const t = {
		args,
		result,
		context,
		// Names the step that is running, for the failure report.
		step(label) { current = label; },
		// Screenshot of the page as the user sees it now, recorded as a step.
		async shot(page, label) {
			shotNo += 1;
			const file = path.join(args.out, `${String(shotNo).padStart(2, "0")}-${label}.png`);
			await page.screenshot({ path: file, fullPage: true });
			result.steps.push({ step: label, url: page.url(), title: await page.title(), screenshot: file });
		},
		// Records every top-level document the page loads (status and URL).
		watch(page) {
			page.on("response", (r) => {
				if (r.request().isNavigationRequest() && r.frame() === page.mainFrame())
					result.documents.push({ url: r.url(), status: r.status() });
			});
			page.on("pageerror", (e) => {
				(result.pageErrors = result.pageErrors || []).push(String(e && e.message || e));
			});
		},
	};
	await run(t);
	result.ok = true;
}

try {
	await main();
} catch (e) {
	result.ok = false;
	result.step = current;
	result.error = String(e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e);
	if (browser) {
		let i = 0;
		for (const ctx of browser.contexts()) {
			for (const p of ctx.pages()) {
				i += 1;
				try {
					const file = path.join(args.out, `failure-${i}.png`);
					await p.screenshot({ path: file, fullPage: true });
					result.steps.push({ step: `failure-${i}`, url: p.url(), title: await p.title(), screenshot: file });
				} catch (ignored) { /* a closed page */ }
			}
		}
	}
}
if (browser)
	await browser.close().catch(() => {});
print();
process.exit(result.ok ? 0 : 1);
