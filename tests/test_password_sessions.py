"""A new password ends the user's other sessions: self-service on the profile page (this session stays), an
admin's reset on the users page (the admin's own session stays, also when it is their own password), the
mailed reset link, and the shell. Changes that are not the password end nothing."""

import re
import time

import pytest

from data.admin import accounts, users
from data.core import report_cache
from routes.auth import SESSION_TOKEN
from tests.conftest import browser_login, change_password, login
from tests.dash_client import dash_call, dash_request
from tests.test_password_reset import LINK, _ask, _choose, _wait_for_mail


def _session(app, username: str, password: str):
    client = app.test_client()
    assert login(client, username, password).status_code == 302
    return client


def _logged_in(client) -> bool:
    """Whether the client's session is still accepted, for a page and for Dash's endpoints."""
    page = client.get("/profile")
    layout = client.get("/_dash-layout")
    assert (page.status_code == 200) == (layout.status_code == 200), (page.status_code, layout.status_code)
    if page.status_code == 302:
        assert "/login" in page.headers["Location"] and layout.status_code == 401
    return page.status_code == 200


def _change_own(client, current: str, new: str) -> str:
    result = dash_call(client, "change_password", [1], [current, new, new])
    return str(result[("profile-password-message", "children")])


def _save_user(client, user_id: int, password: str = "", timezone: str = "UTC"):
    detail = accounts.user_detail(user_id)
    state = [
        str(user_id),
        detail["username"],
        password,
        detail["role"],
        True,
        detail["full_name"],
        "",
        timezone,
        "",
        "",
        [],
        "",
        "",
        True,
    ]
    return dash_call(client, "save_user", [1], state)


@pytest.fixture(scope="module")
def sam(app):
    return users.create_user("sam", "sam-pw-0001", "customer")


def test_a_changed_password_ends_the_other_sessions_and_keeps_this_one(app, sam):
    here, elsewhere, third = (_session(app, "sam", "sam-pw-0001") for _ in range(3))
    assert "current password is wrong" in _change_own(here, "not-it-0001", "sam-pw-0002")
    assert all(_logged_in(c) for c in (here, elsewhere, third))  # a refused change ends nothing

    assert "Your password is changed" in _change_own(here, "sam-pw-0001", "sam-pw-0002")
    assert _logged_in(here)
    assert not _logged_in(elsewhere) and not _logged_in(third)
    assert dash_request(elsewhere, "save_profile", [1], ["Evil", "", "UTC", ""]).status_code == 401
    # this session keeps working, callbacks included, and can change the password again
    assert "Saved" in str(dash_call(here, "save_profile", [1], ["Sam", "", "UTC", ""])[("profile-message", "children")])
    assert "Your password is changed" in _change_own(here, "sam-pw-0002", "sam-pw-0003")
    assert _logged_in(here)
    # logging in again takes the new password only
    assert login(app.test_client(), "sam", "sam-pw-0002").status_code == 401
    assert _logged_in(_session(app, "sam", "sam-pw-0003"))


def test_an_admin_setting_a_users_password_ends_that_users_sessions_only(app, admin_client):
    tia = users.create_user("tia", "tia-pw-0001", "customer")
    tia_session = _session(app, "tia", "tia-pw-0001")
    other_user = _session(app, "sam", "sam-pw-0003")

    saved = _save_user(admin_client, tia.id, timezone="Europe/Madrid")  # no new password: nothing ends
    assert "Saved 'tia'" in str(saved[("admin-user-message", "children")])
    assert _logged_in(tia_session)

    saved = _save_user(admin_client, tia.id, password="tia-pw-0002")
    assert "Saved 'tia'" in str(saved[("admin-user-message", "children")])
    assert not _logged_in(tia_session)
    assert _logged_in(admin_client) and _logged_in(other_user)
    assert _logged_in(_session(app, "tia", "tia-pw-0002"))


def test_an_admin_setting_their_own_password_keeps_the_session_they_used(app):
    users.create_user("boss", "boss-pw-0001", "admin")
    boss = users.get_user_by_name("boss")
    here, elsewhere = _session(app, "boss", "boss-pw-0001"), _session(app, "boss", "boss-pw-0001")
    _save_user(here, boss.id, password="boss-pw-0002")
    assert _logged_in(here) and not _logged_in(elsewhere)


def test_the_mailed_reset_link_ends_every_session(app, smtp_server):
    users.create_user("uma", "uma-pw-0001", "customer", email="uma@example.com")
    uma_session = _session(app, "uma", "uma-pw-0001")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.60.0.1"
    _ask(client, "uma")
    link = LINK.search(_wait_for_mail(smtp_server, 1).get_body(("plain",)).get_content()).group(1)
    assert _logged_in(uma_session)
    done = _choose(client, link, "uma-pw-0002")
    assert done.status_code == 200 and "sessions opened before are logged out" in done.get_data(as_text=True)
    assert not _logged_in(uma_session)
    assert _logged_in(_session(app, "uma", "uma-pw-0002"))


def test_a_password_set_from_the_shell_ends_sessions(app):
    vic = users.create_user("vic", "vic-pw-0001", "customer")
    vic_session = _session(app, "vic", "vic-pw-0001")
    users.set_password(vic.id, "vic-pw-0002")
    assert not _logged_in(vic_session)


def test_a_session_without_a_live_token_is_refused(app):
    users.create_user("wes", "wes-pw-0001", "customer")
    client = _session(app, "wes", "wes-pw-0001")
    with client.session_transaction() as session:
        token = session[SESSION_TOKEN]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        session[SESSION_TOKEN] = "A" * 43  # forged
    assert not _logged_in(client)
    with client.session_transaction() as session:
        del session[SESSION_TOKEN]  # a cookie from before server-side sessions
    assert not _logged_in(client)
    with client.session_transaction() as session:
        session[SESSION_TOKEN] = token
    assert _logged_in(client)


def test_with_users_kept_a_moment_this_session_stays_and_the_others_end_within_it(app, monkeypatch):
    """REPORT_CACHE_SECONDS keeps each session for LOOKUP_SECONDS (routes/auth.py): the changing session goes on,
    and the other sessions end at once in this process."""
    monkeypatch.setenv("REPORT_CACHE_SECONDS", "60")
    monkeypatch.setattr(report_cache, "LOOKUP_SECONDS", 0.3)
    report_cache.clear()
    try:
        users.create_user("yan", "yan-pw-0001", "customer")
        here, elsewhere = _session(app, "yan", "yan-pw-0001"), _session(app, "yan", "yan-pw-0001")
        assert _logged_in(here) and _logged_in(elsewhere)  # both read through the kept user now
        assert "Your password is changed" in _change_own(here, "yan-pw-0001", "yan-pw-0002")
        assert _logged_in(here) and not _logged_in(elsewhere)
        time.sleep(0.4)
        assert not _logged_in(elsewhere) and _logged_in(here)
    finally:
        report_cache.clear()


def test_two_browsers_one_changes_the_password(browser, live_server, app):
    users.create_user("xia", "xia-pw-0001", "customer")
    contexts = [browser.new_context(base_url=live_server) for _ in range(2)]
    try:
        here, elsewhere = (c.new_page() for c in contexts)
        for pg in (here, elsewhere):
            browser_login(pg, "xia", "xia-pw-0001")
            pg.wait_for_selector(".navbar")
        here.goto("/profile")
        change_password(here, "xia-pw-0001", "xia-pw-0002")
        here.wait_for_selector("#profile-password-changed >> text=Your other sessions are logged out")
        elsewhere.goto("/profile")
        elsewhere.wait_for_selector("#username")  # the login page
        assert "/login" in elsewhere.url
        here.goto("/profile")
        here.wait_for_selector("#profile-password-current")
        here.fill("#profile-full-name", "Xia X")
        here.click("#profile-save")
        here.wait_for_selector("#profile-saved")
        assert (
            users.get_user_by_name("xia") is not None
            and accounts.user_detail(users.get_user_by_name("xia").id)["full_name"] == "Xia X"
        )
    finally:
        for context in contexts:
            context.close()
