"""Console authentication over HTTP: sign in once with the API token, a session cookie
(HttpOnly, SameSite=Strict, Secure behind TLS), CSRF on every change, sign out, and no
console route that answers without a session."""

from __future__ import annotations

import re

import falcon.testing
from tributary_api.auth import CONSOLE, OPEN
from tributary_api.console.signin import safe_next
from tributary_api.routes import ROUTES

from tests.api.conftest import API_TOKEN, Api

LOGIN_NONCE = re.compile(r'name="login_nonce" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """A cookie-keeping client on the app, as a browser would be."""

    def __init__(self, api: Api, scheme: str = "http") -> None:
        self.client = api.client
        self.jar: dict[str, str] = {}
        self.scheme = scheme
        self.last: falcon.testing.Result | None = None

    def request(self, method: str, path: str, **kw: object) -> falcon.testing.Result:
        headers = dict(kw.pop("headers", {}) or {})  # type: ignore[call-overload]
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if self.scheme == "https":
            headers["X-Forwarded-Proto"] = "https"
        result = self.client.simulate_request(method, path, headers=headers, **kw)
        for name, cookie in result.cookies.items():
            if cookie.value and (cookie.max_age is None or cookie.max_age > 0):
                self.jar[name] = cookie.value
            else:
                self.jar.pop(name, None)
        self.last = result
        return result

    def get(self, path: str, **kw: object) -> falcon.testing.Result:
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict[str, str] | None = None, **kw: object):
        return self.request(
            "POST",
            path,
            body="&".join(f"{k}={v}" for k, v in (form or {}).items()),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            **kw,
        )

    def sign_in(self, token: str = API_TOKEN) -> falcon.testing.Result:
        form = self.get("/console/login")
        nonce = LOGIN_NONCE.search(form.text)
        assert nonce, form.text
        return self.post("/console/login", {"login_nonce": nonce.group(1), "token": token})

    def csrf(self, path: str = "/console/scheduler") -> str:
        found = CSRF.search(self.get(path).text)
        assert found
        return found.group(1)


def test_pages_need_a_session_and_sign_in_opens_one(api: Api) -> None:
    browser = Browser(api)

    # Without a session every page is refused and sends the browser to sign in
    first = browser.get("/console/jobs?status=failed")
    assert first.status_code == 401
    assert 'url=/console/login?next=%2Fconsole%2Fjobs%3Fstatus%3Dfailed"' in first.text

    # A wrong token is refused and opens nothing
    wrong = browser.sign_in("not-the-token")
    assert wrong.status_code == 401 and "tributary_session" not in browser.jar

    # The API token opens a session: HttpOnly, SameSite=Strict, not Secure over plain HTTP
    right = browser.sign_in()
    assert right.status_code == 303 and right.headers["location"] == "/console"
    cookie = right.cookies["tributary_session"]
    assert cookie.http_only and cookie.same_site == "Strict" and not cookie.secure
    assert cookie.path == "/console"
    assert API_TOKEN not in cookie.value
    overview = browser.get("/console")
    assert overview.status_code == 200 and "Bands" in overview.text
    assert "nonce-" in overview.headers["content-security-policy"]


def test_the_session_cookie_is_secure_behind_tls(api: Api) -> None:
    browser = Browser(api, scheme="https")
    cookie = browser.sign_in().cookies["tributary_session"]
    assert cookie.secure and cookie.http_only and cookie.same_site == "Strict"


def test_changes_need_the_csrf_token(api: Api) -> None:
    row = api.connect("u1")
    browser = Browser(api)
    browser.sign_in()
    token = browser.csrf()

    # Without or with a wrong CSRF token a change is refused and nothing changes
    for form in ({}, {"csrf": "forged"}):
        refused = browser.post(f"/console/connections/{row['id']}/pause", form)
        assert refused.status_code == 403
    assert api.sql("SELECT status FROM connections")[0]["status"] == "active"

    # With it, the change is made (form field or htmx header alike)
    done = browser.post(f"/console/connections/{row['id']}/pause", {"csrf": token})
    assert done.status_code == 303
    assert api.sql("SELECT status FROM connections")[0]["status"] == "paused"
    resumed = browser.request(
        "POST", f"/console/connections/{row['id']}/resume", headers={"X-CSRF-Token": token}
    )
    assert resumed.status_code == 303
    assert api.sql("SELECT status FROM connections")[0]["status"] == "active"


def test_sign_out_ends_the_session_for_good(api: Api) -> None:
    browser = Browser(api)
    browser.sign_in()
    stolen = browser.jar["tributary_session"]
    token = browser.csrf()
    out = browser.post("/console/logout", {"csrf": token})
    assert out.status_code == 303 and "tributary_session" not in browser.jar

    # The old cookie value no longer opens anything
    replayed = api.client.simulate_get(
        "/console/jobs", headers={"Cookie": f"tributary_session={stolen}"}
    )
    assert replayed.status_code == 401


def test_sign_in_needs_its_own_form(api: Api) -> None:
    # A POST that did not come from the sign-in form (no nonce cookie) opens nothing
    forged = api.client.simulate_post(
        "/console/login",
        body=f"token={API_TOKEN}&login_nonce=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert forged.status_code == 403 and "tributary_session" not in forged.cookies


def test_no_console_route_answers_without_a_session(api: Api) -> None:
    # Every console route but sign-in, each method it has, without a session
    paths = {
        ("GET", "/console"),
        ("GET", "/console/panel/overview"),
        ("GET", "/console/jobs"),
        ("GET", "/console/jobs/00000000-0000-0000-0000-000000000000"),
        ("GET", "/console/dead-letters"),
        ("GET", "/console/dead-letters/00000000-0000-0000-0000-000000000000"),
        ("POST", "/console/dead-letters/replay"),
        ("POST", "/console/dead-letters/purge"),
        ("GET", "/console/connections"),
        ("POST", "/console/connections/00000000-0000-0000-0000-000000000000/pause"),
        ("GET", "/console/scheduler"),
        ("GET", "/console/static/htmx.min.js"),
        ("POST", "/console/logout"),
    }
    for method, path in sorted(paths):
        result = api.client.simulate_request(method, path)
        assert result.status_code == 401, (method, path, result.status_code)
        assert "<table" not in result.text and "var htmx" not in result.text
    # An htmx poll is told where to sign in instead of receiving the sign-in page
    poll = api.client.simulate_get("/console/panel/overview", headers={"HX-Request": "true"})
    assert poll.status_code == 401 and poll.headers["hx-redirect"] == "/console/login"
    # The api's bearer token is not a console session
    bearer = api.get("/console/jobs")
    assert bearer.status_code == 401


def test_every_console_route_takes_the_session_but_sign_in() -> None:
    declared = {r.template: r.family for r in ROUTES if r.template.startswith("/console")}
    assert {t for t, f in declared.items() if f == OPEN} == {"/console/login"}
    assert set(declared.values()) == {OPEN, CONSOLE}


def test_after_sign_in_only_console_paths_are_followed() -> None:
    assert safe_next("/console/jobs?status=failed") == "/console/jobs?status=failed"
    for hostile in ("https://evil.example/", "//evil.example", "/console//evil", "/api/x", None):
        assert safe_next(hostile) == "/console"
