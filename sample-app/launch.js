/*
 * launch.js: starts a SMART App Launch (SMART App Launch 2.2 §"Launch App")
 * with the fhirclient library.
 *
 *   EHR launch          the EHR opens launch.html?iss=<FHIR base>&launch=<id>
 *   standalone launch   launch.html, optionally with
 *                         iss=<FHIR base>   (default: ../fhir beside this app)
 *                         client=<id>       sample-app (public, PKCE; default)
 *                                           or sample-app-confidential
 *                         prompt=none|login|consent   (OpenID Connect Core
 *                                           §3.1.2.1; added to the request)
 *
 * fhirclient reads the server's .well-known/smart-configuration, makes the
 * PKCE pair and state, keeps them in sessionStorage and redirects to the
 * authorization endpoint; index.html completes the launch.
 */
(function () {
	"use strict";

	/*
	 * The demo registers both clients.  A confidential client's secret
	 * belongs on a server: it is here only so that the demo can show a
	 * browser-completed confidential launch against a loopback server.
	 */
	var CLIENTS = {
		"sample-app": {},
		"sample-app-confidential": { clientSecret: "sample-secret" }
	};
	/* What the app reads: the patient, their observations and encounters,
	 * and the documents an EHR may hand over as fhirContext. */
	var DATA_SCOPES = "patient/Patient.rs patient/Observation.rs " +
	    "patient/Encounter.rs patient/DocumentReference.rs";

	function fail(message) {
		var box = document.getElementById("failure");
		box.textContent = "";
		var p = document.createElement("p");
		p.textContent = "The app could not start: " + message;
		box.appendChild(p);
		box.hidden = false;
		document.getElementById("status").hidden = true;
		document.body.setAttribute("data-state", "error");
	}

	var q = new URLSearchParams(window.location.search);
	var clientId = q.get("client") || "sample-app";
	if (!Object.prototype.hasOwnProperty.call(CLIENTS, clientId)) {
		fail("unknown client \"" + clientId + "\" (use sample-app or sample-app-confidential).");
		return;
	}
	var ehrLaunch = q.has("launch");
	if (ehrLaunch && !q.get("iss")) {
		fail("the EHR sent a launch id without iss (the FHIR server's address).");
		return;
	}
	var prompt = q.get("prompt");
	if (prompt !== null && !/^(none|login|consent)$/.test(prompt)) {
		fail("prompt must be none, login or consent.");
		return;
	}
	var iss = q.get("iss") || new URL("../fhir", window.location.href).href;
	var scope = (ehrLaunch ? "launch" : "launch/patient") + " openid fhirUser " + DATA_SCOPES;

	var options = {
		clientId: clientId,
		scope: scope,
		iss: iss,
		redirectUri: "index.html",
		pkceMode: "required",
		/* Whatever window the EHR opened us in, finish here. */
		completeInTarget: true,
		noRedirect: true
	};
	if (ehrLaunch)
		options.launch = q.get("launch");
	if (CLIENTS[clientId].clientSecret)
		options.clientSecret = CLIENTS[clientId].clientSecret;
	/* Remembered for index.html's "launch again" links. */
	sessionStorage.setItem("sample-app-client", clientId);

	FHIR.oauth2.authorize(options).then(function (url) {
		var u = new URL(url);
		if (prompt !== null)
			u.searchParams.set("prompt", prompt);
		window.location.assign(u.href);
	}).catch(function (e) {
		fail(e && e.message ? e.message : String(e));
	});
})();
