"""smartflow: drive smartauth's real authorization pages the way a browser does.

Every step goes through the HTML the server sends: forms are parsed with
html.parser (hidden fields, checked boxes and radios included), only the
clicked submit button is sent, cookies live in a requests.Session, and the
final redirect to the app is read from the Location header, never followed.
There is no shortcut endpoint.

    from smartflow import start

    r = start(server, "my-app", "https://app.example/cb",
              "openid fhirUser launch/patient patient/*.rs offline_access",
              username="alice", password="alice-password")
    assert r.kind == "redirect" and r.code
    # token exchange: code=r.code, redirect_uri=..., code_verifier=r.verifier

start(server, client_id, redirect_uri, scope, ...) sends the authorization
request (GET, or POST with method="POST"), then answers each page:

    login      username= / password= (the page is returned as it is when no
               username is given, or when it comes back after a submission:
               wrong password, throttling)
    patient    patient="pt-2" (default: the first radio); a value that is not
               offered is sent anyway (attack tests)
    encounter  encounter="enc-1-1" (default: the first radio)
    consent    uncheck=["offline_access"] removes scopes, decision="allow"|"deny"

and returns a FlowResult:
    kind       "redirect" (to the app), or the page it stopped at: "login",
               "patient", "encounter", "consent", "error"
    query      the redirect's query parameters (single values): code, state,
               iss, or error, error_description
    code, error  shortcuts into query
    verifier   the PKCE code_verifier to send to the token endpoint
    state, nonce  what was sent
    response   the last requests.Response; pages: [(kind, Response), ...]
    session    the requests.Session (pass session= to start() again for SSO)

browser(source_address) gives a fresh cookie jar, optionally connecting from
another loopback address (failed logins count per address: keep them off
127.0.0.1).  sha256_hex(s) is how the server stores codes, cookies, launch ids.

Options: launch=, aud= (default server.fhir_base), state=, nonce=, prompt=,
code_challenge_method=, extra={param: value} (None drops a parameter), omit=[...],
session=, method="GET"|"POST", stop_at="patient" (return when that page shows).  Lower-level helpers for attack tests:
parse_forms(html), form_data(form, button=..., overrides=...), pkce_pair().
"""
import base64
import hashlib
import secrets
import urllib.parse
from html.parser import HTMLParser

import requests
from requests.adapters import HTTPAdapter

__all__ = ["start", "FlowResult", "Form", "parse_forms", "form_data", "pkce_pair",
           "page_kind", "query_of", "browser", "sha256_hex"]


def sha256_hex(s):
    """How smartauth stores every presented secret (codes, cookies, launch ids)."""
    return hashlib.sha256(s.encode()).hexdigest()


class _SourceAddress(HTTPAdapter):
    def __init__(self, address):
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._address, 0)
        return super().init_poolmanager(*args, **kwargs)


def browser(source_address=None):
    """A fresh browser (requests.Session with its own cookie jar).

    source_address ("127.0.0.23") makes its connections come from another
    loopback address, so that tests of per-address login throttling (and
    tests with failed logins) never throttle everybody else on 127.0.0.1.
    """
    s = requests.Session()
    if source_address is not None:
        s.mount("http://", _SourceAddress(source_address))
    return s


def pkce_pair():
    """A fresh (code_verifier, S256 code_challenge) pair (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


class Form:
    """One <form>: action, method and its controls in document order."""

    def __init__(self, action, method):
        self.action = action
        self.method = (method or "get").lower()
        self.controls = []  # dicts: tag, type, name, value, checked
        self.labels = {}    # id -> label text

    def values(self, name):
        return [c["value"] for c in self.controls if c["name"] == name and c["tag"] == "input"]

    def has(self, name, type_=None):
        return any(c["name"] == name and (type_ is None or c["type"] == type_)
                   for c in self.controls)

    def buttons(self):
        return [c for c in self.controls if c["tag"] == "button" or c["type"] == "submit"]

    def hidden(self):
        return {c["name"]: c["value"] for c in self.controls if c["type"] == "hidden"}


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.form = None
        self.button = None
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.form = Form(a.get("action", ""), a.get("method", "get"))
            self.forms.append(self.form)
        elif self.form is not None and tag == "input":
            self.form.controls.append({
                "tag": "input", "type": a.get("type", "text").lower(), "name": a.get("name"),
                "value": a.get("value", "on" if a.get("type") in ("checkbox", "radio") else ""),
                "checked": "checked" in a, "id": a.get("id")})
        elif self.form is not None and tag == "button":
            self.button = {"tag": "button", "type": a.get("type", "submit").lower(),
                           "name": a.get("name"), "value": a.get("value", ""), "checked": False,
                           "label": ""}
            self.form.controls.append(self.button)

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "button":
            self.button = None

    def handle_data(self, data):
        self.text.append(data)
        if self.button is not None:
            self.button["label"] += data


def parse_forms(html):
    """All forms of a page (list of Form)."""
    p = _Parser()
    p.feed(html)
    p.close()
    return p.forms


def page_text(html):
    p = _Parser()
    p.feed(html)
    p.close()
    return " ".join(" ".join(p.text).split())


def form_data(form, button=None, overrides=None, uncheck=(), choose=None):
    """What a browser sends for form: successful controls plus the clicked button.

    button: (name, value) of the submit button clicked, or None for the first
    one (pressing Enter).  overrides: {name: value or list or None} replaces
    (None removes) fields.  uncheck: checkbox values to untick.  choose:
    {radio name: value} to select.
    """
    data = []
    choose = choose or {}
    for c in form.controls:
        if c["tag"] == "button" or c["type"] == "submit":
            continue
        name = c["name"]
        if not name:
            continue
        if c["type"] == "checkbox":
            if c["checked"] and c["value"] not in uncheck:
                data.append((name, c["value"]))
        elif c["type"] == "radio":
            if name in choose:
                if c["value"] == choose[name]:
                    data.append((name, c["value"]))
            elif c["checked"]:
                data.append((name, c["value"]))
        else:
            data.append((name, c["value"]))
    for name, value in (choose or {}).items():
        if not any(n == name for n, _ in data):
            data.append((name, value))  # a value that is not offered: sent anyway
    buttons = form.buttons()
    if button is None and buttons:
        b = buttons[0]
        if b["name"]:
            data.append((b["name"], b["value"]))
    elif button is not None:
        data.append(button)
    for name, value in (overrides or {}).items():
        data = [(n, v) for n, v in data if n != name]
        if value is None:
            continue
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            data.append((name, v))
    return data


def page_kind(resp):
    """Which page a response is: redirect, login, patient, encounter, consent, error."""
    if resp.status_code in (301, 302, 303, 307, 308):
        return "redirect"
    for f in parse_forms(resp.text):
        if f.has("username"):
            return "login"
        if f.has("patient", "radio"):
            return "patient"
        if f.has("q", "search"):
            return "patient"
        if f.has("encounter", "radio"):
            return "encounter"
        if f.has("scope", "checkbox"):
            return "consent"
    return "error"


def query_of(location):
    """Single-valued query parameters of a URL."""
    q = urllib.parse.urlsplit(location).query
    return {k: v[0] for k, v in urllib.parse.parse_qs(q, keep_blank_values=True).items()}


class FlowResult:
    def __init__(self):
        self.kind = None
        self.query = {}
        self.location = None
        self.response = None
        self.pages = []
        self.verifier = None
        self.challenge = None
        self.state = None
        self.nonce = None
        self.session = None

    @property
    def code(self):
        return self.query.get("code")

    @property
    def error(self):
        return self.query.get("error")

    @property
    def text(self):
        return page_text(self.response.text) if self.response is not None else ""

    def __repr__(self):
        return f"<FlowResult {self.kind} {self.query or ''} status={getattr(self.response, 'status_code', None)}>"


def _submit(session, resp, form, data):
    url = urllib.parse.urljoin(resp.url, form.action or resp.url)
    if form.method == "post":
        return session.post(url, data=data, allow_redirects=False)
    return session.get(url, params=data, allow_redirects=False)


def start(server, client_id, redirect_uri, scope, *, username=None, password=None,
          patient=None, encounter=None, decision="allow", uncheck=(), session=None,
          launch=None, aud=None, state=None, nonce=None, prompt=None,
          code_challenge_method="S256", extra=None, omit=(), method="GET", stop_at=None,
          max_steps=12):
    """Runs one authorization request through the pages; see the module docstring."""
    r = FlowResult()
    r.session = session or requests.Session()
    r.verifier, r.challenge = pkce_pair()
    r.state = state if state is not None else secrets.token_urlsafe(16)
    r.nonce = nonce
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": scope, "state": r.state, "aud": aud if aud is not None else server.fhir_base,
              "code_challenge": r.challenge, "code_challenge_method": code_challenge_method}
    if nonce is not None:
        params["nonce"] = nonce
    if launch is not None:
        params["launch"] = launch
    if prompt is not None:
        params["prompt"] = prompt
    for k, v in (extra or {}).items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    for k in omit:
        params.pop(k, None)
    url = server.auth_base + "/authorize"
    if method.upper() == "POST":
        resp = r.session.post(url, data=params, allow_redirects=False)
    else:
        resp = r.session.get(url, params=params, allow_redirects=False)

    logged_in = False
    last = None
    for _ in range(max_steps):
        kind = page_kind(resp)
        r.pages.append((kind, resp))
        r.response = resp
        r.kind = kind
        if kind == last and kind in ("patient", "encounter", "consent"):
            return r  # the server refused what was submitted: let the caller look
        if kind == stop_at:
            return r
        last = kind
        if kind == "redirect":
            loc = urllib.parse.urljoin(resp.url, resp.headers["Location"])
            if loc.startswith(server.base + "/") and not loc.startswith(redirect_uri):
                resp = r.session.get(loc, allow_redirects=False)  # e.g. after authorize-post
                continue
            r.location = loc
            r.query = query_of(loc)
            return r
        forms = parse_forms(resp.text)
        if kind == "login":
            if username is None or logged_in:
                return r
            form = next(f for f in forms if f.has("username"))
            data = form_data(form, overrides={"username": username, "password": password or ""})
            logged_in = True
        elif kind == "patient":
            form = next((f for f in forms if f.has("patient", "radio")), None)
            if form is None:
                return r
            choice = patient if patient is not None else form.values("patient")[0]
            data = form_data(form, choose={"patient": choice})
        elif kind == "encounter":
            form = next(f for f in forms if f.has("encounter", "radio"))
            choice = encounter if encounter is not None else form.values("encounter")[0]
            data = form_data(form, choose={"encounter": choice})
        elif kind == "consent":
            if decision is None:
                return r
            form = next(f for f in forms if f.has("scope", "checkbox"))
            data = form_data(form, button=("decision", decision), uncheck=tuple(uncheck))
        else:
            return r
        resp = _submit(r.session, resp, form, data)
    raise AssertionError(f"authorization flow did not finish in {max_steps} steps: {r!r}")
