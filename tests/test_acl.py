"""Groups and permissions, enforced on the server: page layouts, the navbar, every callback, downloads."""

import pytest

from data.admin import accounts, acl, users
from tests.conftest import login
from tests.dash_client import _callbacks, callback_body, dash_call, dash_request

ADMIN = users.User(id=1, username="admin", email=None, role="admin", timezone="UTC")
REPORTS = [acl.page_permission("/"), acl.page_permission("/overview")]


@pytest.fixture(scope="module")
def people(app):
    app.test_client().get("/login")  # the page registry and callbacks are complete after the first request
    free = users.create_user("free", "free-pw-123", "customer", accountcodes=("f1",))
    limited = users.create_user("limited", "limited-pw-1", "customer", accountcodes=("l1",))
    group = acl.create_group(ADMIN, "Reports only", REPORTS, "dashboard and overview")
    accounts.update_user(ADMIN, limited.id, group_ids=[group])
    return {"free": free, "limited": limited, "group": group}


def _client(app, username, password):
    c = app.test_client()
    assert login(c, username, password).status_code == 302
    return c


def test_permission_rules(people):
    free = acl.permissions_of(people["free"])
    assert acl.page_permission("/cdrs") in free and "feature:api" in free and acl.page_permission("/profile") in free
    assert acl.page_permission("/admin/users") not in free
    limited = acl.permissions_of(people["limited"])
    assert limited == frozenset(REPORTS + [acl.page_permission("/profile")])
    assert acl.page_permission("/admin/users") in acl.permissions_of(users.get_user(1))
    grantable = {p.key for p in acl.grantable_permissions()}
    assert acl.page_permission("/admin/users") not in grantable and acl.page_permission("/profile") not in grantable
    assert {acl.page_permission("/cdrs"), "feature:api"} <= grantable


def test_groups_refuse_unknown_or_admin_permissions_and_duplicate_names(people):
    with pytest.raises(ValueError, match="cannot be granted"):
        acl.create_group(ADMIN, "sneaky", [acl.page_permission("/admin/users")])
    with pytest.raises(ValueError, match="cannot be granted"):
        acl.create_group(ADMIN, "typo", ["page:/nowhere"])
    with pytest.raises(ValueError, match="already exists"):
        acl.create_group(ADMIN, "Reports only", [])


def test_the_navbar_shows_only_the_allowed_pages(app, people):
    layout = _client(app, "limited", "limited-pw-1").get("/_dash-layout").get_data(as_text=True)
    assert '"Dashboard"' in layout and '"Overview"' in layout
    assert '"CDR search"' not in layout and '"Countries"' not in layout and "Admin" not in layout
    free = _client(app, "free", "free-pw-123").get("/_dash-layout").get_data(as_text=True)
    assert '"CDR search"' in free and '"Users and customers"' not in free
    admin_layout = _client(app, "admin", "admin-secret").get("/_dash-layout").get_data(as_text=True)
    assert '"Users and customers"' in admin_layout and "nav-admin-menu" in admin_layout


def test_pages_outside_the_group_render_a_refusal(app, people):
    client = _client(app, "limited", "limited-pw-1")
    assert "You do not have access" in str(dash_call(client, "update", ["/cdrs", ""]))
    assert "You do not have access" in str(dash_call(client, "update", ["/admin/groups", ""]))
    assert "You do not have access" not in str(dash_call(client, "update", ["/overview", ""]))
    assert "Your profile" in str(dash_call(client, "update", ["/profile", ""]))


def test_callbacks_of_pages_outside_the_group_answer_403(app, people):
    client = _client(app, "limited", "limited-pw-1")
    refused = dash_request(client, "refresh_by_day", ["?preset=7d"])
    assert refused.status_code == 403
    assert dash_request(client, "refresh_dashboard", [None, None, None, None]).status_code == 200
    assert dash_request(client, "fill_filter_options", ["filter-switch"], [None]).status_code == 200  # filter bar
    free = _client(app, "free", "free-pw-123")
    assert dash_request(free, "refresh_by_day", ["?preset=7d"]).status_code == 200


def test_downloads_of_pages_outside_the_group_answer_403(app, people):
    assert _client(app, "limited", "limited-pw-1").get("/download/cdrs.csv?preset=7d").status_code == 403
    assert _client(app, "free", "free-pw-123").get("/download/cdrs.csv?preset=7d").status_code == 200


def test_changing_the_group_changes_access_at_the_next_request(app, people):
    client = _client(app, "limited", "limited-pw-1")
    assert dash_request(client, "refresh_by_day", ["?preset=7d"]).status_code == 403
    acl.update_group(ADMIN, people["group"], permissions=REPORTS + [acl.page_permission("/cdrs")])
    try:
        assert dash_request(client, "refresh_by_day", ["?preset=7d"]).status_code == 200
    finally:
        acl.update_group(ADMIN, people["group"], permissions=REPORTS)
    assert dash_request(client, "refresh_by_day", ["?preset=7d"]).status_code == 403


def test_the_groups_page_saves_a_group(app, people, admin_client):
    result = dash_call(admin_client, "save_group", [1, None], ["new", "Search", "", [acl.page_permission("/cdrs")]])
    assert "Created group 'Search'" in str(result[("admin-group-message", "children")])
    group = next(g for g in acl.list_groups() if g["name"] == "Search")
    assert group["permissions"] == [acl.page_permission("/cdrs")]
    body = callback_body(_callbacks(admin_client), "save_group", [1, 1], [str(group["id"]), "Search", "", []])
    body["changedPropIds"] = ["admin-group-delete.n_clicks"]
    deleted = admin_client.post("/_dash-update-component", json=body).get_json()["response"]
    assert deleted["admin-group-select"]["value"] == "new"
    assert all(g["name"] != "Search" for g in acl.list_groups())
