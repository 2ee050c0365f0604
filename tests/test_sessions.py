"""Server-side sessions: a row per login (who, when, from where), ended by logout, an admin, the profile page and
idleness. A cookie copied before the end is worth nothing after it, for pages, the API and downloads."""

from __future__ import annotations

from data.admin import sessions, users
from data.core import db
from routes.auth import SESSION_TOKEN
from tests.conftest import csrf_token_from, login
from tests.dash_client import dash_call, dash_request


def _session(app, username: str, password: str, agent: str = "pytest-browser/1.0"):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    assert login(client, username, password).status_code == 302
    return client


def _copy(app, client):
    """Another client holding a copy of ``client``'s session cookie (what a thief would keep)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _reads(client) -> bool:
    page = client.get("/profile").status_code == 200
    api = client.get("/api/v1/switches").status_code == 200
    download = client.get("/download/cdrs.csv").status_code == 200
    assert page == api == download, (page, api, download)
    return page


def _logout(client):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/logout", data={"csrf_token": token})


def test_a_login_records_its_session_and_logout_ends_every_copy_of_the_cookie(app):
    rita = users.create_user("rita", "rita-pw-0001", "admin")
    client = _session(app, "rita", "rita-pw-0001")
    [row] = sessions.sessions_of(rita.id)
    assert row["address"] == "127.0.0.1" and row["user_agent"] == "pytest-browser/1.0"
    assert row["created_at"] <= row["last_seen_at"]
    with client.session_transaction() as cookie:
        assert set(cookie) >= {SESSION_TOKEN, "_user_id"}
        assert db.scalar("SELECT count(*) FROM user_session WHERE token_hash = :t", t=cookie[SESSION_TOKEN]) == 0
    thief = _copy(app, client)
    assert _reads(thief)

    assert _logout(client).status_code == 302
    assert sessions.sessions_of(rita.id) == []
    assert not _reads(thief) and not _reads(client)


def test_an_idle_session_ends(app):
    ivy = users.create_user("ivy", "ivy-pw-0001", "customer")
    client = _session(app, "ivy", "ivy-pw-0001")
    assert client.get("/profile").status_code == 200
    db.execute("UPDATE user_session SET last_seen_at = now() - interval '119 minutes' WHERE user_id = :u", u=ivy.id)
    assert client.get("/profile").status_code == 200  # used within SESSION_IDLE_MINUTES (120): seen again now
    assert db.scalar("SELECT last_seen_at > now() - interval '1 minute' FROM user_session WHERE user_id = :u", u=ivy.id)
    db.execute("UPDATE user_session SET last_seen_at = now() - interval '121 minutes' WHERE user_id = :u", u=ivy.id)
    assert client.get("/profile").status_code == 302
    assert db.scalar("SELECT count(*) FROM user_session WHERE user_id = :u", u=ivy.id) == 0
    client = _session(app, "ivy", "ivy-pw-0001")
    db.execute("UPDATE user_session SET created_at = now() - interval '169 hours' WHERE user_id = :u", u=ivy.id)
    assert client.get("/profile").status_code == 302  # SESSION_MAX_HOURS, however busy


def test_the_profile_lists_ones_sessions_and_ends_any_of_them(app):
    pat = users.create_user("pat", "pat-pw-0001", "customer")
    users.create_user("other", "other-pw-0001", "customer")
    here = _session(app, "pat", "pat-pw-0001", agent="Firefox here")
    there = _session(app, "pat", "pat-pw-0001", agent="Chrome there")
    stranger = _session(app, "other", "other-pw-0001")
    page = here.get("/profile")
    assert page.status_code == 200
    listed = dash_call(here, "end_session", [None], [None])  # nothing chosen: a warning, nothing ends
    assert "Choose one of your sessions" in str(listed)
    by_agent = {s["user_agent"]: s["id"] for s in sessions.sessions_of(pat.id)}
    assert set(by_agent) == {"Firefox here", "Chrome there"}
    [theirs] = sessions.sessions_of(users.get_user_by_name("other").id)

    refused = dash_call(here, "end_session", [1], [str(theirs["id"])])  # another user's session: refused
    assert "Choose one of your sessions" in str(refused) and _reads(stranger)

    ended = dash_call(here, "end_session", [1], [str(by_agent["Chrome there"])])
    assert "Session ended" in str(ended) and "Chrome there" not in str(ended)
    assert not _reads(there) and _reads(here)
    ended = dash_call(here, "end_session", [1], [str(by_agent["Firefox here"])])  # one's own, this one
    assert "you are logged out" in str(ended) and not _reads(here)
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'end-session'") == 2


def test_an_admin_ends_a_users_sessions_but_not_their_tokens(app, admin_client):
    from data.admin import api_tokens

    tom = users.create_user("tom", "tom-pw-0001", "admin")
    tom_browser, tom_laptop = _session(app, "tom", "tom-pw-0001"), _session(app, "tom", "tom-pw-0001")
    token = api_tokens.create_token(tom.id, "script")
    result = dash_call(admin_client, "end_user_sessions", [1], [str(tom.id)])
    assert "2 session(s) ended" in str(result)
    assert not _reads(tom_browser) and not _reads(tom_laptop)
    assert admin_client.get("/profile").status_code == 200
    assert app.test_client().get("/api/v1/switches", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    admin = users.get_user_by_name("admin")
    other_admin_session = _session(app, "admin", "admin-secret")
    dash_call(admin_client, "end_user_sessions", [1], [str(admin.id)])  # one's own: the one in use stays
    assert admin_client.get("/profile").status_code == 200 and not _reads(other_admin_session)
    customer = _session(app, "tom", "tom-pw-0001")
    users.create_user("cus", "cus-pw-0001", "customer")
    refused = dash_request(_session(app, "cus", "cus-pw-0001"), "end_user_sessions", [1], [str(tom.id)])
    assert refused.status_code == 403 and _reads(customer)


def test_deactivating_a_user_ends_their_sessions(app):
    una = users.create_user("una2", "una-pw-0001", "customer")
    client = _session(app, "una2", "una-pw-0001")
    db.execute("UPDATE app_user SET is_active = false WHERE id = :id", id=una.id)
    assert db.scalar("SELECT count(*) FROM user_session WHERE user_id = :u", u=una.id) == 0
    assert client.get("/profile").status_code == 302
