// scenarios.mjs: what a user does, step by step, for each browser test.
// Each scenario receives t (see scenario.mjs: t.args, t.step, t.shot,
// t.watch, t.context, t.result) and fills t.result; the Python tests
// decide what is right.  Pages are found by what the user sees: the form
// fields of DESIGN §2a (username/password, patient, scope + decision) and
// the sample app's element ids.

const APP_DONE = 'body[data-state="ready"], body[data-state="error"]';

function url(t, p) {
	return t.args.base + p;
}

// Reads what the sample app shows (index.html) once it has finished loading.
async function appState(t, page, label) {
	t.step(`${label}: wait for the app`);
	await page.waitForURL(/\/sample-app\/index\.html/);
	await page.waitForSelector(APP_DONE, { timeout: 20000 });
	await t.shot(page, label);
	return page.evaluate(() => {
		const $ = (id) => document.getElementById(id);
		const txt = (id) => ($(id) ? $(id).textContent.trim() : null);
		const rows = (id) => Array.from(document.querySelectorAll(`#${id} tbody tr`)).map((tr) => ({
			id: tr.getAttribute("data-id"),
			subject: tr.getAttribute("data-subject"),
			cells: Array.from(tr.children).map((td) => td.textContent.trim()),
		}));
		const refused = (id) => ($(`${id}-refused`) ? {
			status: $(`${id}-refused`).getAttribute("data-refused"),
			text: $(`${id}-refused`).textContent.trim(),
		} : null);
		const failure = $("failure");
		const shown = (id) => $(id).checkVisibility();
		return {
			state: document.body.getAttribute("data-state"),
			failure: failure && shown("failure") ? {
				code: failure.getAttribute("data-error"),
				text: failure.textContent.trim(),
			} : null,
			patient: {
				id: $("patient-banner").getAttribute("data-patient"),
				name: txt("patient-name"),
				gender: txt("patient-gender"),
				birthDate: txt("patient-birthdate"),
				mrn: txt("patient-mrn"),
			},
			launchKind: txt("launch-kind"),
			client: txt("client-id"),
			fhirUser: txt("user-fhiruser"),
			userName: txt("user-name"),
			scopes: Array.from(document.querySelectorAll("#scopes li")).map((li) => li.textContent.trim()),
			scopesMissing: shown("scopes-missing") ? txt("scopes-missing") : null,
			encounter: $("encounter").getAttribute("data-encounter"),
			encounterText: txt("encounter"),
			fhirContext: Array.from(document.querySelectorAll("#fhir-context li[data-reference]"))
				.map((li) => li.getAttribute("data-reference")),
			contextShown: shown("context-facts"),
			appShown: shown("app"),
			labs: rows("labs"),
			vitals: rows("vitals"),
			labsRefused: refused("labs"),
			vitalsRefused: refused("vitals"),
			labsStatus: txt("labs-status"),
		};
	});
}

async function login(t, page, user, password) {
	t.step(`login page (${user})`);
	await page.waitForSelector("input[name=username]");
	await t.shot(page, "login");
	t.result.loginText = (await page.textContent("main")).trim();
	await page.fill("input[name=username]", user);
	await page.fill("input[name=password]", password);
	t.step(`submit login (${user})`);
	await page.getByRole("button", { name: "Sign in" }).click();
}

async function pickPatient(t, page, patient) {
	t.step(`patient picker (${patient})`);
	await page.waitForSelector("input[name=patient]");
	await t.shot(page, "patient-picker");
	t.result.pickerChoices = await page.$$eval("input[name=patient]", (l) => l.map((i) => i.value));
	await page.check(`input[name=patient][value="${patient}"]`);
	await page.getByRole("button", { name: "Continue" }).click();
}

// The consent page: unticks `uncheck`, screenshots, answers `decision`.
async function consent(t, page, label, { uncheck = [], decision = "allow" } = {}) {
	t.step(`${label}: consent page`);
	await page.waitForSelector("input[name=scope]");
	const offered = await page.$$eval("input[name=scope]", (l) => l.map((i) => i.value));
	for (const s of uncheck) {
		t.step(`${label}: untick ${s}`);
		await page.uncheck(`input[name=scope][value="${s}"]`);
	}
	await t.shot(page, `${label}-consent`);
	const text = (await page.textContent("main")).trim();
	t.step(`${label}: ${decision}`);
	await page.click(`button[name=decision][value=${decision}]`);
	return { offered, text };
}

// Width of horizontal scrolling on the page (0: fits the viewport).
async function overflow(page) {
	return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

// A standalone launch of the sample app through every page.
async function standalone(t, page) {
	const a = t.args;
	const q = new URLSearchParams();
	if (a.client)
		q.set("client", a.client);
	t.step("open launch.html");
	await page.goto(url(t, "/sample-app/launch.html" + (q.toString() ? "?" + q : "")));
	await login(t, page, a.user, a.password);
	if (a.patient)
		await pickPatient(t, page, a.patient);
	t.result.consent = await consent(t, page, "app", { uncheck: a.uncheck || [], decision: a.decision || "allow" });
	t.result.app = await appState(t, page, "app");
}

export const scenarios = {
	// Standalone launch: login, [picker], consent, app.
	async standalone(t) {
		const page = await t.context.newPage();
		t.watch(page);
		await standalone(t, page);
	},

	// Standalone launch, then "Launch again (prompt=none)" from the app.
	async relaunch(t) {
		const page = await t.context.newPage();
		t.watch(page);
		await standalone(t, page);
		const before = t.result.documents.length;
		t.step("click Launch again (prompt=none)");
		await page.click("#relaunch");
		await page.waitForURL(/\/sample-app\/index\.html\?.*(code|error)=/);
		t.result.relaunch = await appState(t, page, "relaunch");
		t.result.relaunchDocuments = t.result.documents.slice(before);
	},

	// Standalone launch, sign out from the app, then a prompt=none launch.
	async logout(t) {
		const page = await t.context.newPage();
		t.watch(page);
		await standalone(t, page);
		t.step("click Sign out in the app");
		await page.click("#logout");
		await page.waitForSelector("form button[type=submit]");
		await t.shot(page, "logout-confirm");
		t.result.logoutText = (await page.textContent("main")).trim();
		t.step("confirm sign out");
		await page.getByRole("button", { name: "Sign out" }).click();
		await page.waitForLoadState();
		await t.shot(page, "signed-out");
		t.result.signedOutText = (await page.textContent("main")).trim();
		t.step("launch again with prompt=none");
		await page.goto(url(t, "/sample-app/launch.html?prompt=none"));
		t.result.after = await appState(t, page, "after-logout");
	},

	// The demo EHR page: sign in, pick patient/visit/document, launch the app.
	async ehr(t) {
		const a = t.args;
		const page = await t.context.newPage();
		t.watch(page);
		t.step("open the EHR page");
		await page.goto(url(t, "/ehr/index.html"));
		await page.waitForSelector('body[data-state="signed-out"]');
		await t.shot(page, "ehr-signed-out");
		t.step("EHR: sign in");
		await page.click("#signin-button");
		await login(t, page, a.user, a.password);
		t.result.ehrConsent = await consent(t, page, "ehr");
		t.step("EHR: wait for the patient list");
		await page.waitForSelector('body[data-state="ready"], body[data-state="error"]');
		if (await page.getAttribute("body", "data-state") !== "ready")
			throw new Error("EHR page: " + (await page.textContent("#failure")));
		t.result.ehrPatients = await page.$$eval("#patient option", (l) => l.map((o) => o.value));
		t.step(`EHR: choose patient ${a.patient}`);
		await page.selectOption("#patient", a.patient);
		await page.waitForSelector(`#launch-form[data-context="loaded:${a.patient}"]`, { state: "attached" });
		if (a.encounter) {
			t.step(`EHR: choose visit ${a.encounter}`);
			await page.waitForSelector(`#encounter option[value="${a.encounter}"]`, { state: "attached" });
			await page.selectOption("#encounter", a.encounter);
		}
		if (a.document) {
			t.step(`EHR: choose document ${a.document}`);
			await page.waitForSelector(`#document option[value="${a.document}"]`, { state: "attached" });
			await page.selectOption("#document", a.document);
		}
		if (a.client)
			await page.check(`input[name=app][value="${a.client}"]`);
		await t.shot(page, "ehr-ready");
		t.step("EHR: launch the app");
		const [app] = await Promise.all([
			t.context.waitForEvent("page"),
			page.click("#launch-button"),
		]);
		t.watch(app);
		await page.waitForSelector("#launched, #launch-status .alert");
		await t.shot(page, "ehr-launched");
		t.result.ehrLaunchStatus = (await page.textContent("#launch-status")).trim();
		t.step("app window: consent");
		t.result.consent = await consent(t, app, "app", { uncheck: a.uncheck || [] });
		t.result.app = await appState(t, app, "app");
	},

	// Each page of a standalone launch at a phone's width: overflow measured.
	async mobile(t) {
		const page = await t.context.newPage();
		t.watch(page);
		const a = t.args;
		const widths = {};
		t.step("open launch.html");
		await page.goto(url(t, "/sample-app/launch.html"));
		await page.waitForSelector("input[name=username]");
		widths.login = await overflow(page);
		await login(t, page, a.user, a.password);
		await pickPatient(t, page, a.patient);
		await page.waitForSelector("input[name=scope]");
		widths.consent = await overflow(page);
		t.result.consent = await consent(t, page, "app");
		t.result.app = await appState(t, page, "app");
		widths.app = await overflow(page);
		// Every cell of the result tables fits on the screen, none is cut off.
		widths.appCells = await page.evaluate(() => Math.max(0, ...Array.from(
			document.querySelectorAll("td")).filter((td) => td.checkVisibility())
			.map((td) => Math.ceil(td.getBoundingClientRect().right - window.innerWidth))));
		t.step("EHR page, signed out");
		await page.goto(url(t, "/ehr/index.html"));
		await page.waitForSelector('body[data-state="signed-out"]');
		widths.ehr = await overflow(page);
		await t.shot(page, "ehr");
		t.result.overflow = widths;
	},
};
