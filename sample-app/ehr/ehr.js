/*
 * ehr.js: the demo EHR page.  It shows how an EHR opens a SMART app in
 * its context (SMART App Launch 2.2 "EHR launch") with smartauth:
 *
 *   1. the clinician signs in to the EHR, which is itself a SMART client
 *      ("demo-ehr", public, PKCE) holding user/ scopes to list patients,
 *      visits and documents through the FHIR gateway;
 *   2. the clinician picks a patient, optionally a visit and a document,
 *      and an app;
 *   3. the page asks smartauth for a launch with POST {base}/rpc,
 *      method aidbox.smart/get-launch-uri, authenticated by its own
 *      Bearer access token (DESIGN §2).  The AccessPolicy "demo-ehr-rpc"
 *      lets this client launch apps only as the signed-in practitioner;
 *   4. the app opens in a new window at the returned uri
 *      (launch_uri?iss=...&launch=...).
 * A real EHR usually makes step 3 from its server with its client
 * credentials (HTTP Basic); the demo's "ehr" client shows that variant.
 */
(function () {
	"use strict";

	var CLIENT_ID = "demo-ehr";
	var SCOPE = "openid fhirUser user/Patient.rs user/Encounter.rs user/DocumentReference.rs";

	function $(id) { return document.getElementById(id); }

	function el(tag, text, cls) {
		var e = document.createElement(tag);
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		if (cls)
			e.className = cls;
		return e;
	}

	function option(value, label) {
		var o = el("option", label);
		o.value = value;
		return o;
	}

	function fhirBase() {
		return new URL("../fhir", window.location.href).href;
	}

	function fail(title, detail) {
		var box = $("failure");
		box.textContent = "";
		box.appendChild(el("p", title));
		if (detail)
			box.appendChild(el("p", detail, "detail"));
		box.hidden = false;
		$("loading").hidden = true;
		document.body.setAttribute("data-state", "error");
	}

	function signin() {
		FHIR.oauth2.authorize({
			clientId: CLIENT_ID,
			scope: SCOPE,
			iss: fhirBase(),
			redirectUri: "index.html",
			pkceMode: "required",
			completeInTarget: true
		}).catch(function (e) {
			fail("Signing in could not start.", e && e.message ? e.message : String(e));
		});
	}

	function showSignin() {
		$("loading").hidden = true;
		$("signin").hidden = false;
		$("signin-button").addEventListener("click", signin);
		document.body.setAttribute("data-state", "signed-out");
	}

	function humanName(names) {
		if (!Array.isArray(names) || names.length === 0)
			return null;
		var n = names.filter(function (x) { return x.use === "official"; })[0] || names[0];
		return n.text || [].concat(n.given || [], n.family ? [n.family] : []).join(" ");
	}

	function codeText(cc) {
		if (!cc)
			return null;
		return cc.text || ((cc.coding || [])[0] || {}).display || null;
	}

	function fill(select, items, none) {
		select.textContent = "";
		if (none)
			select.appendChild(option("", none));
		items.forEach(function (it) { select.appendChild(option(it[0], it[1])); });
	}

	/* Fills the visit and document lists for the chosen patient. */
	function loadPatientContext(client) {
		var form = $("launch-form"), pid = $("patient").value;
		if (!pid || form.getAttribute("data-patient") === pid)
			return Promise.resolve();
		form.setAttribute("data-patient", pid);
		form.setAttribute("data-context", "loading");
		$("launch-button").disabled = true;
		var enc = client.request("Encounter?patient=" + encodeURIComponent(pid),
		    { flat: true, pageLimit: 1 }).then(function (list) {
			if ($("patient").value !== pid)
				return;
			list.sort(function (a, b) {
				return String((b.period || {}).start).localeCompare(String((a.period || {}).start));
			});
			fill($("encounter"), list.map(function (e) {
				return [e.id, String((e.period || {}).start || "").slice(0, 10) + " " +
				    (codeText((e.type || [])[0]) || "visit") + " (" + e.id + ")"];
			}), "No visit");
		});
		var docs = client.request("DocumentReference?patient=" + encodeURIComponent(pid),
		    { flat: true, pageLimit: 1 }).then(function (list) {
			if ($("patient").value !== pid)
				return;
			fill($("document"), list.map(function (d) {
				return [d.id, (d.description || codeText(d.type) || "document") + " (" + d.id + ")"];
			}), "No document");
		});
		return Promise.all([enc, docs]).then(function () {
			if ($("patient").value !== pid)
				return;	/* another patient was chosen meanwhile */
			form.setAttribute("data-context", "loaded:" + pid);
			$("launch-button").disabled = false;
		}, function (e) {
			form.setAttribute("data-context", "failed");
			$("launch-status").textContent = "";
			$("launch-status").appendChild(el("p", "The visits and documents of this patient " +
			    "could not be loaded: " + (e && e.message ? e.message.split("\n")[0] : e), "alert"));
		});
	}

	function launch(client, event) {
		event.preventDefault();
		var status = $("launch-status");
		var pid = $("patient").value, encounter = $("encounter").value, doc = $("document").value;
		var app = document.querySelector("input[name=app]:checked").value;
		var ctx = { patient: pid };
		if (encounter)
			ctx.encounter = encounter;
		if (doc)
			ctx.fhirContext = [{ reference: "DocumentReference/" + doc }];
		var body = {
			method: "aidbox.smart/get-launch-uri",
			params: { user: client.getIdToken().sub, iss: client.state.serverUrl, client: app, ctx: ctx }
		};
		/* Opened now, while the click still allows a new window. */
		var win = window.open("", "_blank");
		status.textContent = "";
		status.appendChild(el("p", "Asking smartauth for a launch…", "muted"));
		fetch(client.state.serverUrl.replace(/\/fhir\/?$/, "/rpc"), {
			method: "POST",
			headers: {
				"Content-Type": "application/json",
				"Authorization": "Bearer " + client.state.tokenResponse.access_token
			},
			body: JSON.stringify(body)
		}).then(function (r) {
			return r.json().then(function (j) { return { status: r.status, body: j }; });
		}).then(function (res) {
			status.textContent = "";
			if (res.status !== 200 || !res.body.result) {
				if (win)
					win.close();
				var box = el("div", null, "alert");
				box.setAttribute("role", "alert");
				box.appendChild(el("p", "smartauth refused the launch (" + res.status + ")."));
				box.appendChild(el("p", res.body.error && res.body.error.message ?
				    res.body.error.message : JSON.stringify(res.body), "detail"));
				status.appendChild(box);
				return;
			}
			var uri = res.body.result.uri;
			var p = el("p", null, "notice");
			p.id = "launched";
			p.appendChild(document.createTextNode("Opened the app in a new window. "));
			var a = el("a", "Open it again");
			a.href = uri;
			a.target = "_blank";
			a.rel = "noopener";
			a.id = "launch-link";
			p.appendChild(a);
			p.appendChild(el("span", " (a launch can be used once).", "muted"));
			status.appendChild(p);
			if (win) {
				win.opener = null;
				win.location.href = uri;
			}
		}).catch(function (e) {
			if (win)
				win.close();
			status.textContent = "";
			status.appendChild(el("p", "The launch failed: " + (e && e.message ? e.message : e), "alert"));
		});
	}

	function start(client) {
		var fhirUser = client.getFhirUser();
		var idToken = client.getIdToken() || {};
		$("ehr-user").textContent = idToken.sub || "?";
		$("ehr-fhiruser").textContent = fhirUser || "";
		$("ehr-logout").href = String(client.state.authorizeUri || "").replace(/\/authorize$/, "/logout");
		return client.request("Patient?_count=100", { flat: true, pageLimit: 1 }).then(function (list) {
			list.sort(function (a, b) {
				return String(humanName(a.name)).localeCompare(String(humanName(b.name)));
			});
			fill($("patient"), list.map(function (p) {
				return [p.id, humanName(p.name) + " — born " + (p.birthDate || "?") + " (" + p.id + ")"];
			}));
			$("patient").addEventListener("change", function () { loadPatientContext(client); });
			$("launch-form").addEventListener("submit", function (e) { launch(client, e); });
			return loadPatientContext(client);
		}).then(function () {
			$("loading").hidden = true;
			$("ehr").hidden = false;
			document.body.setAttribute("data-state", "ready");
		});
	}

	var q = new URLSearchParams(window.location.search);
	if (q.get("error")) {
		fail("Signing in to the EHR did not complete.", q.get("error") +
		    (q.get("error_description") ? ": " + q.get("error_description") : ""));
		return;
	}
	if (!q.get("code") && !sessionStorage.getItem("SMART_KEY")) {
		showSignin();
		return;
	}
	FHIR.oauth2.ready().then(function (client) {
		if (client.state.clientId !== CLIENT_ID) {
			showSignin();
			return null;
		}
		return start(client);
	}).catch(function (e) {
		var msg = e && e.message ? e.message : String(e);
		if (/No 'state'|No state found|expired/i.test(msg)) {
			showSignin();
			return;
		}
		fail("The EHR could not load.", msg);
	});
})();
