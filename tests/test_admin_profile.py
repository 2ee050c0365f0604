"""The profile page: every user changes their own details and password and manages their API tokens."""

import pytest

from data.admin import accounts, acl, api_tokens, users
from data.core import audit, db
from tests.conftest import login
from tests.dash_client import _callbacks, callback_body, dash_call


@pytest.fixture(scope="module")
def pat(app):
    return users.create_user("pat", "pat-pw-1234", "customer", email="pat@example.com")


def _client(app, username, password):
    c = app.test_client()
    assert login(c, username, password).status_code == 302
    return c


def _revoke(client, token_id):
    body = callback_body(_callbacks(client), "manage_tokens", [None, 1], [None, str(token_id)])
    body["changedPropIds"] = ["profile-token-revoke.n_clicks"]
    return client.post("/_dash-update-component", json=body)


def test_a_user_changes_their_details_and_the_zone_gets_daily_rollups(app, pat):
    client = _client(app, "pat", "pat-pw-1234")
    result = dash_call(
        client, "save_profile", [1], ["Pat P", "pat@new.example.com", "America/Argentina/Buenos_Aires", ""]
    )
    assert "Saved" in str(result[("profile-message", "children")])
    detail = accounts.user_detail(pat.id)
    assert (detail["full_name"], detail["email"], detail["timezone"]) == (
        "Pat P",
        "pat@new.example.com",
        "America/Argentina/Buenos_Aires",
    )
    assert db.scalar("SELECT count(*) FROM rollup_timezone WHERE tz = 'America/Argentina/Buenos_Aires'") == 1
    bad = dash_call(client, "save_profile", [2], ["Pat", "pat@", "UTC", ""])
    assert "not an e-mail address" in str(bad[("profile-message", "children")])
    row = audit.recent(1, target_type="user", target_id=str(pat.id))[0]
    assert row["actor"] == "pat" and row["after"]["timezone"] == "America/Argentina/Buenos_Aires"


def test_changing_the_password_needs_the_current_one(app, pat):
    client = _client(app, "pat", "pat-pw-1234")
    wrong = dash_call(client, "change_password", [1], ["nope", "pat-pw-5678", "pat-pw-5678"])
    assert "current password is wrong" in str(wrong[("profile-password-message", "children")])
    differ = dash_call(client, "change_password", [2], ["pat-pw-1234", "pat-pw-5678", "pat-pw-0000"])
    assert "differ" in str(differ[("profile-password-message", "children")])
    done = dash_call(client, "change_password", [3], ["pat-pw-1234", "pat-pw-5678", "pat-pw-5678"])
    assert "changed" in str(done[("profile-password-message", "children")])
    assert login(app.test_client(), "pat", "pat-pw-5678").status_code == 302


def test_tokens_are_created_shown_once_and_revoked_only_by_their_owner(app, pat, make_user):
    client = _client(app, "pat", "pat-pw-5678")
    created = dash_call(client, "manage_tokens", [1, None], ["reporting script", None])
    token = next(t for t in str(created[("profile-token-message", "children")]).split("'") if t.startswith("dst_"))
    assert (
        client.application.test_client()
        .get("/api/v1/switches", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 200
    )
    mine = api_tokens.tokens_of(pat.id)
    assert [t["name"] for t in mine] == ["reporting script"]
    assert "reporting script" in str(created[("profile-tokens", "children")]) and token not in str(
        created[("profile-tokens", "children")]
    )

    other = make_user("mallory", password="mallory-pw-1")
    thief = _client(app, "mallory", "mallory-pw-1")
    refused = _revoke(thief, mine[0]["id"]).get_json()["response"]
    assert "Choose one of your tokens" in str(refused)
    assert api_tokens.tokens_of(pat.id)[0]["revoked_at"] is None
    assert _revoke(client, mine[0]["id"]).status_code == 200
    assert api_tokens.tokens_of(pat.id)[0]["revoked_at"] is not None
    assert app.test_client().get("/api/v1/switches", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert other.id != pat.id


def test_a_customer_without_the_api_feature_gets_no_token(app, pat):
    group = acl.create_group(None, "no api", [acl.page_permission("/")])
    accounts.update_user(None, pat.id, group_ids=[group])
    try:
        client = _client(app, "pat", "pat-pw-5678")
        response = client.post(
            "/_dash-update-component",
            json=callback_body(_callbacks(client), "manage_tokens", [1, None], ["sneaky", None]),
        )
        assert response.status_code == 204  # PreventUpdate: nothing created
        assert all(t["name"] != "sneaky" for t in api_tokens.tokens_of(pat.id))
        assert "API tokens" not in str(dash_call(client, "update", ["/profile", ""]))
    finally:
        accounts.update_user(None, pat.id, group_ids=[])
        acl.delete_group(None, group)
