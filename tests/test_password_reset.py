"""Forgotten password, end to end with a real SMTP server: the mail, the single-use link that expires, and
pages that reveal nothing about which accounts exist."""

import re
import time

import pytest

from data.admin import lockout, password_reset, users
from data.core import db
from tests.conftest import csrf_token_from, login

LINK = re.compile(r"http://localhost/password-reset/([A-Za-z0-9_-]+)")


def _client(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address  # the reset form is rate limited per address
    return client


def _ask(client, identifier: str):
    token = csrf_token_from(client.get("/password-reset").get_data(as_text=True))
    return client.post("/password-reset", data={"identifier": identifier, "csrf_token": token})


def _choose(client, link_token: str, password: str, again: str | None = None):
    page = client.get(f"/password-reset/{link_token}")
    if page.status_code != 200:
        return page
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(
        f"/password-reset/{link_token}",
        data={"password": password, "password2": password if again is None else again, "csrf_token": token},
    )


def _wait_for_mail(sink, count: int, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while len(sink.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sink.messages) >= count, "no mail arrived"
    return sink.messages[count - 1]


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


@pytest.fixture(scope="module")
def ruth(app):
    return users.create_user("ruth", "ruth-old-pw1", "customer", email="ruth@example.com")


def test_a_reset_link_is_mailed_works_once_and_sets_the_password(app, ruth, smtp_server):
    client = _client(app, "10.50.0.1")
    answer = _ask(client, "ruth")
    assert answer.status_code == 200 and "a link to reset its password is on its way" in answer.get_data(as_text=True)
    mail = _wait_for_mail(smtp_server, 1)
    assert mail["To"] == "ruth@example.com" and "Reset your password" in mail["Subject"]
    link = LINK.search(mail.get_body(("plain",)).get_content()).group(1)
    lockout.record_failure("ruth")  # a reset also clears failed logins

    assert _choose(client, link, "new-pw-1234", "other-pw-1234").status_code == 400  # the two differ
    assert _choose(client, link, "short").status_code == 400  # too short; the link stays valid
    done = _choose(client, link, "ruth-new-pw1")
    assert done.status_code == 200 and "Your password is changed" in done.get_data(as_text=True)
    assert login(app.test_client(), "ruth", "ruth-new-pw1").status_code == 302
    assert login(app.test_client(), "ruth", "ruth-old-pw1").status_code == 401

    again = _choose(client, link, "third-pw-1234")  # single use
    assert again.status_code == 404 and "invalid or has expired" in again.get_data(as_text=True)
    assert login(app.test_client(), "ruth", "ruth-new-pw1").status_code == 302


def test_the_request_page_reveals_nothing_about_accounts(app, ruth, smtp_server):
    client = _client(app, "10.50.0.2")
    answers = {
        name: _without_tokens(_ask(client, name).get_data(as_text=True))
        for name in ("ruth", "ruth@example.com", "no-such-user", "nobody@example.com")
    }
    assert len(set(answers.values())) == 1
    _wait_for_mail(smtp_server, 2)  # ruth by name and by address; nothing for the others
    time.sleep(0.3)
    assert len(smtp_server.messages) == 2
    assert {m["To"] for m in smtp_server.messages} == {"ruth@example.com"}


def test_a_link_expires_and_a_new_one_cancels_nothing_but_a_used_one_cancels_all(app, ruth, smtp_server):
    client = _client(app, "10.50.0.3")
    db.execute("DELETE FROM password_reset")
    _ask(client, "ruth")
    _ask(client, "ruth")
    links = [
        LINK.search(m.get_body(("plain",)).get_content()).group(1)
        for m in (_wait_for_mail(smtp_server, 1), _wait_for_mail(smtp_server, 2))
    ]
    assert password_reset.check_token(links[0]) and password_reset.check_token(links[1])
    db.execute(
        "UPDATE password_reset SET expires_at = now() - interval '1 second' WHERE token_hash = :h",
        h=password_reset._hash(links[0]),
    )
    assert _choose(client, links[0], "expired-pw-123").status_code == 404
    assert _choose(client, links[1], "ruth-newer-pw1").status_code == 200
    _ask(client, "ruth")
    third = LINK.search(_wait_for_mail(smtp_server, 3).get_body(("plain",)).get_content()).group(1)
    assert password_reset.reset_password(third, "ruth-final-pw1")
    assert not password_reset.check_token(third)


def test_unknown_tokens_and_disabled_accounts_get_the_same_invalid_page(app, ruth):
    client = _client(app, "10.50.0.4")
    assert _choose(client, "x" * 43, "whatever-123").status_code == 404
    assert client.get("/password-reset/" + "y" * 500).status_code == 404


def test_reset_requests_are_rate_limited_per_address(app, ruth):
    client = _client(app, "10.50.0.5")
    statuses = [_ask(client, "no-such-user").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
