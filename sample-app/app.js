/*
 * app.js: the sample SMART app's main page (the registered redirect URI).
 *
 * FHIR.oauth2.ready() completes the launch that launch.js started: it
 * checks state, exchanges the code at the token endpoint (with the PKCE
 * verifier, and the secret for the confidential client) and returns a
 * client bound to the access token and the launch context.  The page then
 * shows what a SMART app gets from smartauth:
 *   - the patient banner (SMART 2.2 "need_patient_banner"): name, gender,
 *     birth date, record number;
 *   - the launch: EHR or standalone, client, the signed-in user (fhirUser
 *     from the id_token), the encounter and fhirContext an EHR passed on;
 *   - the granted scopes, and the requested ones that were not granted;
 *   - the patient's laboratory results and vital signs, read through the
 *     FHIR gateway, or the reason the gateway refused to give them.
 * An error returned by the authorization server (access_denied,
 * login_required, ...) is explained in plain words.
 *
 * Everything shown is put into the page with textContent: data from the
 * server is never parsed as HTML.
 */
(function () {
	"use strict";

	var ERRORS = {
		access_denied: "Access was not allowed: the request to connect this app to the health " +
		    "record was declined.",
		login_required: "You are not signed in to the health record, so the app could not " +
		    "connect without showing the sign-in page.",
		consent_required: "The app needs your permission before it can connect; launch it " +
		    "normally to be asked.",
		interaction_required: "The health record needs you to choose or confirm something " +
		    "before the app can connect; launch it normally.",
		invalid_scope: "The app asked for permissions that the health record does not offer.",
		invalid_request: "The health record could not understand the app's request.",
		unauthorized_client: "This app is not allowed to connect in this way.",
		server_error: "The health record had a problem; please try again later.",
		temporarily_unavailable: "The health record is busy; please try again in a moment."
	};

	function $(id) { return document.getElementById(id); }

	function setText(id, s) {
		$(id).textContent = s === undefined || s === null || s === "" ? "—" : String(s);
	}

	function el(tag, text, cls) {
		var e = document.createElement(tag);
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		if (cls)
			e.className = cls;
		return e;
	}

	function clientIdGuess() {
		return sessionStorage.getItem("sample-app-client") || "sample-app";
	}

	/* Links to launch again and to sign out, shown with a failure too. */
	function sessionLinks(authorizeUri, clientId) {
		var div = el("div", null, "actions");
		var again = el("a", "Launch the app again", "button");
		again.href = "launch.html" + (clientId !== "sample-app" ?
		    "?client=" + encodeURIComponent(clientId) : "");
		again.id = "launch-again";
		div.appendChild(again);
		if (authorizeUri) {
			var out = el("a", "Sign out of the health record", "button secondary");
			out.href = logoutUri(authorizeUri);
			div.appendChild(out);
		}
		return div;
	}

	/* smartauth's sign-out page sits beside its authorization endpoint. */
	function logoutUri(authorizeUri) {
		return authorizeUri.replace(/\/authorize$/, "/logout");
	}

	function fail(title, detail, code) {
		var box = $("failure");
		box.textContent = "";
		box.appendChild(el("p", title));
		if (detail)
			box.appendChild(el("p", detail, "detail"));
		if (code)
			box.setAttribute("data-error", code);
		box.appendChild(sessionLinks(null, clientIdGuess()));
		box.hidden = false;
		$("loading").hidden = true;
		document.body.setAttribute("data-state", "error");
	}

	function humanName(names) {
		if (!Array.isArray(names) || names.length === 0)
			return null;
		var n = names.filter(function (x) { return x.use === "official"; })[0] || names[0];
		if (n.text)
			return n.text;
		return [].concat(n.prefix || [], n.given || [], n.family ? [n.family] : []).join(" ");
	}

	function mrn(identifiers) {
		var found = (identifiers || []).filter(function (i) {
			return i.type && (i.type.coding || []).some(function (c) { return c.code === "MR"; });
		})[0];
		return found ? found.value : null;
	}

	function codeText(cc) {
		if (!cc)
			return null;
		if (cc.text)
			return cc.text;
		var c = (cc.coding || [])[0];
		return c ? c.display || c.code : null;
	}

	/* UCUM codes that read better as symbols. */
	var UNITS = { "Cel": "°C", "[degF]": "°F" };

	function unitText(u) {
		return u ? (UNITS[u] || u) : "";
	}

	function quantity(q) {
		if (!q || q.value === undefined)
			return null;
		return q.value + (q.unit ? " " + unitText(q.unit) : "");
	}

	function obsValue(o) {
		if (o.valueQuantity)
			return quantity(o.valueQuantity);
		if (o.valueString !== undefined)
			return o.valueString;
		if (o.valueCodeableConcept)
			return codeText(o.valueCodeableConcept);
		if (Array.isArray(o.component) && o.component.length > 0) {
			/* Blood pressure and the like: "120/80 mmHg". */
			var unit = null;
			var values = o.component.map(function (c) {
				if (c.valueQuantity) {
					unit = c.valueQuantity.unit || unit;
					return c.valueQuantity.value;
				}
				return "?";
			});
			return values.join("/") + (unit ? " " + unit : "");
		}
		return null;
	}

	function interpretation(o) {
		var c = o.interpretation && o.interpretation[0] && (o.interpretation[0].coding || [])[0];
		if (!c || c.code === "N")
			return null;
		return c.display || c.code;
	}

	function range(o) {
		var r = o.referenceRange && o.referenceRange[0];
		if (!r)
			return null;
		if (r.text)
			return r.text;
		var lo = r.low ? r.low.value : null, hi = r.high ? r.high.value : null;
		var unit = unitText((r.low && r.low.unit) || (r.high && r.high.unit));
		if (lo !== null && hi !== null)
			return lo + "–" + hi + (unit ? " " + unit : "");
		if (lo !== null)
			return "≥ " + lo + (unit ? " " + unit : "");
		if (hi !== null)
			return "≤ " + hi + (unit ? " " + unit : "");
		return null;
	}

	function day(s) {
		return s ? String(s).slice(0, 10) : null;
	}

	/* The OperationOutcome's words, from the error fhirclient throws. */
	function outcomeText(e) {
		var msg = e && e.message ? String(e.message) : "";
		var at = msg.indexOf("{");
		if (at >= 0) {
			try {
				var oo = JSON.parse(msg.slice(at));
				var words = (oo.issue || []).map(function (i) {
					return i.diagnostics || (i.details && i.details.text) || i.code;
				}).filter(Boolean);
				if (words.length > 0)
					return words.join("; ");
			} catch (ignored) { /* not JSON: fall through */ }
		}
		return msg.split("\n")[0];
	}

	function scopeAllowsRead(granted, type) {
		return granted.some(function (s) {
			var m = /^(patient|user)\/([A-Za-z*]+)\.(read|\*|[cruds]+)(\?.*)?$/.exec(s);
			return m && (m[2] === "*" || m[2] === type) &&
			    (m[3] === "read" || m[3] === "*" || m[3].indexOf("r") >= 0 || m[3].indexOf("s") >= 0);
		});
	}

	/*
	 * Loads one category of the patient's observations into a table, or
	 * explains why the gateway refused.  Resolves in both cases.
	 */
	function loadObservations(client, pid, category, tableId, statusId, withRange, granted) {
		var status = $(statusId), table = $(tableId), body = table.querySelector("tbody");
		var what = category === "laboratory" ? "laboratory results" : "vital signs";
		var url = "Observation?patient=" + encodeURIComponent(pid) + "&category=" + category +
		    "&_sort=-date&_count=100";
		return client.request(url, { flat: true, pageLimit: 1 }).then(function (list) {
			status.textContent = "";
			list = (list || []).filter(function (r) { return r && r.resourceType === "Observation"; });
			if (list.length === 0) {
				status.appendChild(el("p", "No " + what + " on record.", "muted"));
				return;
			}
			list.forEach(function (o) {
				var tr = document.createElement("tr");
				tr.setAttribute("data-id", o.id);
				tr.setAttribute("data-subject", o.subject ? o.subject.reference : "");
				tr.appendChild(el("td", day(o.effectiveDateTime || o.issued), "num"));
				tr.appendChild(el("td", codeText(o.code)));
				var v = el("td", obsValue(o) || "—", "num");
				var flag = interpretation(o);
				if (flag) {
					v.appendChild(document.createTextNode(" "));
					v.appendChild(el("span", flag, "flag"));
				}
				tr.appendChild(v);
				if (withRange)
					tr.appendChild(el("td", range(o) || "", "optional"));
				body.appendChild(tr);
			});
			table.hidden = false;
			status.appendChild(el("p", list.length + " " + what + ", newest first.", "muted"));
		}).catch(function (e) {
			status.textContent = "";
			var box = el("div", null, "alert");
			box.setAttribute("role", "alert");
			box.setAttribute("data-refused", String(e && e.status || "error"));
			box.id = tableId + "-refused";
			if (e && (e.status === 401 || e.status === 403)) {
				box.appendChild(el("p", "This app may not read the patient's " + what + "."));
				box.appendChild(el("p", scopeAllowsRead(granted, "Observation") ?
				    "The health record refused the request." :
				    "Permission to read observations (Observation) was not granted " +
				    "when the app was connected.", "detail"));
				box.appendChild(el("p", "Server: " + e.status + " " + (e.statusText || "") +
				    " — " + outcomeText(e), "detail"));
			} else {
				box.appendChild(el("p", "The " + what + " could not be loaded."));
				box.appendChild(el("p", outcomeText(e), "detail"));
			}
			status.appendChild(box);
		});
	}

	function showContext(client, tr) {
		var has = false;
		if (tr.encounter) {
			has = true;
			var enc = $("encounter");
			enc.textContent = "";
			enc.setAttribute("data-encounter", tr.encounter);
			enc.appendChild(el("code", "Encounter/" + tr.encounter));
			client.request("Encounter/" + encodeURIComponent(tr.encounter)).then(function (e) {
				var words = [codeText((e.type || [])[0]), day(e.period && e.period.start),
				    e.status].filter(Boolean).join(", ");
				if (words)
					enc.appendChild(el("span", " " + words));
			}).catch(function () { /* the id alone still says which */ });
		} else {
			setText("encounter", null);
		}
		var list = $("fhir-context");
		list.textContent = "";
		(Array.isArray(tr.fhirContext) ? tr.fhirContext : []).forEach(function (c) {
			has = true;
			var label = c.reference || c.canonical ||
			    (c.identifier ? (c.type || "") + " identifier " + c.identifier.value : JSON.stringify(c));
			var li = el("li");
			li.setAttribute("data-reference", label);
			li.appendChild(el("code", label));
			if (c.role)
				li.appendChild(el("span", " (" + c.role + ")", "muted"));
			list.appendChild(li);
			if (c.reference && /^DocumentReference\//.test(c.reference)) {
				client.request(c.reference).then(function (d) {
					var words = d.description || codeText(d.type);
					if (words)
						li.appendChild(el("span", " " + words));
				}).catch(function () { /* shown by reference only */ });
			}
		});
		if (list.children.length === 0)
			list.appendChild(el("li", "none", "muted"));
		$("context-facts").hidden = !has;
		$("no-context").hidden = has;
	}

	function show(client) {
		var tr = client.state.tokenResponse || {};
		var granted = String(tr.scope || "").split(/\s+/).filter(Boolean);
		var requested = String(client.state.scope || "").split(/\s+/).filter(Boolean);
		var ehr = requested.indexOf("launch") >= 0;
		var pid = client.patient.id;

		setText("launch-kind", ehr ? "from the EHR (EHR launch)" : "on its own (standalone launch)");
		setText("client-id", client.state.clientId);
		setText("fhir-server", client.state.serverUrl);
		var fhirUser = client.getFhirUser();
		setText("user-fhiruser", fhirUser);
		var idToken = client.getIdToken();
		setText("user-name", idToken && idToken.sub ? idToken.sub : null);

		var ul = $("scopes");
		granted.forEach(function (s) { ul.appendChild(el("li", s)); });
		var missing = requested.filter(function (s) { return granted.indexOf(s) < 0; });
		if (missing.length > 0) {
			$("scopes-missing").textContent = "Asked for but not granted: " + missing.join(", ");
			$("scopes-missing").hidden = false;
		}

		$("relaunch").href = "launch.html?prompt=none" + (client.state.clientId !== "sample-app" ?
		    "&client=" + encodeURIComponent(client.state.clientId) : "");
		$("logout").href = logoutUri(client.state.authorizeUri || "");

		showContext(client, tr);

		if (!pid) {
			fail("The health record did not say which patient to show.",
			    "Launch the app again and choose a patient.", "no_patient");
			return null;
		}
		$("patient-id").textContent = pid;
		$("patient-banner").setAttribute("data-patient", pid);
		return client.patient.read().then(function (p) {
			setText("patient-name", humanName(p.name));
			setText("patient-gender", p.gender);
			setText("patient-birthdate", p.birthDate);
			setText("patient-mrn", mrn(p.identifier));
			if (fhirUser === "Patient/" + pid)
				setText("user-name", humanName(p.name));
			$("loading").hidden = true;
			$("app").hidden = false;
			return Promise.all([
				loadObservations(client, pid, "laboratory", "labs", "labs-status", true, granted),
				loadObservations(client, pid, "vital-signs", "vitals", "vitals-status", false, granted)
			]);
		}, function (e) {
			fail("The patient's record could not be read.", outcomeText(e), "patient_read");
			return null;
		}).then(function () {
			if (document.body.getAttribute("data-state") !== "error")
				document.body.setAttribute("data-state", "ready");
		});
	}

	var q = new URLSearchParams(window.location.search);
	if (q.get("error")) {
		var code = q.get("error");
		fail(ERRORS[code] || "The health record refused to connect the app.",
		    "Error " + code + (q.get("error_description") ? ": " + q.get("error_description") : ""),
		    code);
		return;
	}
	FHIR.oauth2.ready().then(show).catch(function (e) {
		var msg = e && e.message ? e.message : String(e);
		if (/No 'state' parameter|No state found/i.test(msg))
			fail("The app was opened without a launch.", "Start it from launch.html or from the EHR.",
			    "no_launch");
		else
			fail("The app could not connect to the health record.", msg, "ready");
	});
})();
