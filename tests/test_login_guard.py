"""Without a session, every page, callback and route except static assets is refused."""

import json

import pytest

from data.admin import acl
from routes import access
from tests.conftest import csrf_token_from, login

STATIC = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")


def _concrete(rule) -> str:
    path = rule.rule
    for arg in rule.arguments:
        path = path.replace(f"<{arg}>", "x").replace(f"<path:{arg}>", "x/y").replace(f"<int:{arg}>", "1")
        path = path.replace(f"<string:{arg}>", "x")
    return path


def test_every_route_needs_a_login(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        path = _concrete(rule)
        if path.startswith(STATIC) or access.view_access(app, rule.endpoint) == acl.PUBLIC:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method)
            assert response.status_code in (401, 302), f"{method} {path} answered {response.status_code}"
            if response.status_code == 302:
                assert "/login" in response.headers["Location"]
            checked += 1
    assert checked >= 6


def test_public_routes_are_only_login_and_static(app):
    public = {
        r.rule
        for r in app.url_map.iter_rules()
        if access.view_access(app, r.endpoint) == acl.PUBLIC and not r.rule.startswith(STATIC)
    }
    assert public <= {
        "/login",
        "/healthz",
        "/api/v1/cdr",
        "/api/v1/openapi.json",
        "/password-reset",
        "/password-reset/<token>",
        "/jsonrpc",
    }  # /jsonrpc: its own API token check


def test_every_callback_answers_401_without_a_session(app, client):
    client.get("/login")  # Dash merges the registered callbacks on its first request
    callbacks = app.extensions["dash_app"].callback_map
    assert callbacks, "the app has callbacks"
    for output in callbacks:
        body = {"output": output, "inputs": [], "changedPropIds": []}
        response = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 401, output


@pytest.mark.parametrize("path", ["/", "/reports/dashboard", "/no-such-page"])
def test_pages_redirect_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_static_assets_are_public(client):
    assert client.get("/assets/00-bootstrap.min.css").status_code == 200


def test_login_rejects_a_wrong_password_and_accepts_the_right_one(client):
    assert login(client, "admin", "wrong").status_code == 401
    assert client.get("/_dash-layout").status_code == 401
    assert login(client, "admin", "admin-secret").status_code == 302
    assert client.get("/_dash-layout").status_code == 200


def test_login_needs_the_csrf_token(client):
    response = client.post("/login", data={"username": "admin", "password": "admin-secret"})
    assert response.status_code == 400


def test_logout_is_a_post_with_csrf(admin_client):
    admin_client.get("/logout")  # a GET (a link, an image tag) must not log anyone out
    assert admin_client.get("/_dash-layout").status_code == 200
    html = admin_client.get("/login").get_data(as_text=True)
    response = admin_client.post("/logout", data={"csrf_token": csrf_token_from(html)})
    assert response.status_code == 302
    assert admin_client.get("/_dash-layout").status_code == 401


def test_login_does_not_redirect_off_site(client):
    html = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login?next=https://evil.example/",
        data={"username": "admin", "password": "admin-secret", "csrf_token": csrf_token_from(html)},
    )
    assert response.headers["Location"] == "/"


def test_session_cookie_is_httponly_and_samesite(client):
    login(client, "admin", "admin-secret")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
