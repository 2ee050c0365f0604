"""Access is declared where each page, callback, route and download is registered, and refused by default.

The URL map and the Dash callback map are enumerated: nothing may lack a declaration, and a customer
without a permission gets 403 from every callback and route that needs one.
"""

from __future__ import annotations

import json
import re

import pytest

from data.admin import accounts, acl, users
from routes import access
from tests.conftest import login


def _dash_app(app):
    app.test_client().get("/login")  # Dash merges its callbacks into the app on the first request
    return app.extensions["dash_app"]


def _sample_url(rule) -> str:
    """A concrete URL for a rule, its variables filled with harmless values."""
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "x", rule.rule)


def _callback_post(client, output: str):
    body = {"output": output, "outputs": [], "inputs": [], "state": [], "changedPropIds": []}
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")


@pytest.fixture(scope="module")
def nobody(app):
    """A customer whose only group grants nothing: only what every logged-in user may use is left."""
    admin = users.get_user(1)
    user = users.create_user("nobody", "nobody-pw-1", "customer")
    accounts.update_user(admin, user.id, group_ids=[acl.create_group(admin, "Nothing", [])])
    client = app.test_client()
    assert login(client, "nobody", "nobody-pw-1").status_code == 302
    client.permissions = acl.permissions_of(users.get_user(user.id))
    return client


def test_every_route_and_callback_declares_its_access(app):
    missing = access.undeclared(app, _dash_app(app))
    assert missing == [], "\n".join(missing)


def test_every_page_declares_its_access(app):
    import dash

    _dash_app(app)
    undeclared = [p["path"] for p in dash.page_registry.values() if not isinstance(p.get("access"), acl.Access)]
    assert undeclared == []


def test_a_customer_without_permissions_is_refused_every_callback_that_needs_one(app, nobody):
    dash_app = _dash_app(app)
    checked = 0
    for output in dash_app.callback_map:
        declared = access.callback_access(dash_app, output)
        if acl.allows(declared, nobody.permissions, logged_in=True):
            continue  # the profile page and the shell: every logged-in user's
        response = _callback_post(nobody, output)
        assert response.status_code == 403, (output, declared, response.status_code)
        checked += 1
    assert checked > 50  # the admin pages, the reports, the search: most callbacks need a permission


def test_a_customer_without_permissions_is_refused_every_route_that_needs_one(app, nobody):
    checked = 0
    for rule in app.url_map.iter_rules():
        declared = access.view_access(app, rule.endpoint)
        if rule.endpoint == access.CALLBACK_ENDPOINT or acl.allows(declared, nobody.permissions, logged_in=True):
            continue
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS", "HEAD"})[0]
        response = nobody.open(_sample_url(rule), method=method)
        assert response.status_code == 403, (rule.rule, declared, response.status_code)
        checked += 1
    assert checked >= 10  # the API, the downloads, the exports


def test_what_declares_nothing_is_refused_even_to_an_admin(app, admin_client):
    dash_app = _dash_app(app)
    output = next(o for o in dash_app.callback_map if "dashboard" in o)
    spec = dash_app.callback_map[output]
    declared_callback = spec["callback"]
    spec["callback"] = lambda *args, **kwargs: None  # what a callback registered with plain dash.callback is
    try:
        assert _callback_post(admin_client, output).status_code == 403
    finally:
        spec["callback"] = declared_callback
    view = app.view_functions["health.healthz"]
    app.view_functions["health.healthz"] = lambda: "reached"  # a route without @allow
    try:
        assert admin_client.get("/healthz").status_code == 403
    finally:
        app.view_functions["health.healthz"] = view
    assert admin_client.get("/healthz").status_code in (200, 503)


def test_logged_out_requests_are_sent_to_log_in(app, client):
    assert client.get("/cdrs").status_code == 302
    assert client.get("/api/v1/switches").status_code == 401
    assert _callback_post(client, next(iter(_dash_app(app).callback_map))).status_code == 401
    assert client.get("/healthz").status_code in (200, 503)  # public
