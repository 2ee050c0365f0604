"""One throttle for every way in: the login form, HTTP basic auth and bearer tokens count failed logins against
the client's address (LOGIN_RATE_LIMIT: 10 a minute) and against the username (LOCKOUT_FAILURES: 5 in a row) the
same way, and a password that works clears the username's count."""

from __future__ import annotations

import base64
import itertools

import pytest

from data.admin import api_tokens, lockout, users
from data.core import db
from tests.conftest import csrf_token_from

_addresses = (f"10.77.{i // 250}.{i % 250 + 1}" for i in itertools.count())


@pytest.fixture
def address(app):
    """A client address of its own per test: the address counts live as long as the process."""
    return next(_addresses)


def _client(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _basic(client, username: str, password: str):
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return client.get("/api/v1/switches", headers={"Authorization": f"Basic {credentials}"})


def _bearer(client, token: str):
    return client.get("/api/v1/switches", headers={"Authorization": f"Bearer {token}"})


def _form(client, username: str, password: str):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def _failures(username: str) -> int:
    return db.scalar("SELECT failures FROM login_failure WHERE username = :u", u=username) or 0


@pytest.fixture(scope="module")
def kim(app):
    return users.create_user("kim", "kim-pw-0001", "admin")


def test_basic_auth_is_throttled_per_address(app, kim, address):
    client = _client(app, address)
    answers = [_basic(client, f"guess-{i}", "wrong").status_code for i in range(12)]  # other names: no lockout
    assert answers[:10] == [401] * 10 and answers[10:] == [429, 429]
    assert _basic(client, "kim", "kim-pw-0001").status_code == 429  # even the right password, from there
    assert _basic(_client(app, next(_addresses)), "kim", "kim-pw-0001").status_code == 200  # elsewhere: fine


def test_after_the_form_answered_429_basic_auth_and_tokens_do_too(app, kim, address):
    token = api_tokens.create_token(kim.id, "throttle")
    client = _client(app, address)
    answers = [_form(client, f"form-guess-{i}", "wrong").status_code for i in range(11)]
    assert answers[-1] == 429
    assert _basic(client, "kim", "kim-pw-0001").status_code == 429
    assert _bearer(client, token).status_code == 429
    assert _bearer(_client(app, next(_addresses)), token).status_code == 200


def test_wrong_tokens_count_against_the_address_and_then_the_form_answers_429(app, kim, address):
    client = _client(app, address)
    answers = [_bearer(client, f"dst_not-a-token-{i}").status_code for i in range(10)]
    assert answers == [401] * 10
    assert _form(client, "kim", "kim-pw-0001").status_code == 429


def test_form_and_basic_auth_failures_add_up_per_username_and_lock_it_for_both(app, kim):
    lockout.clear("kim")
    places = [_client(app, next(_addresses)) for _ in range(5)]  # from several addresses: under their limits
    assert _form(places[0], "kim", "wrong").status_code == 401
    assert _basic(places[1], "kim", "wrong").status_code == 401
    assert _form(places[2], "kim", "wrong").status_code == 401
    assert _basic(places[3], "kim", "wrong").status_code == 401
    assert _failures("kim") == 4
    assert _basic(places[4], "kim", "wrong").status_code == 401  # the fifth: locked
    assert lockout.is_locked("kim")
    assert _basic(places[4], "kim", "kim-pw-0001").status_code == 401
    assert _form(places[3], "kim", "kim-pw-0001").status_code == 401
    lockout.clear("kim")


def test_a_successful_basic_auth_clears_the_usernames_count(app, kim, address):
    lockout.clear("kim")
    client = _client(app, address)
    for _ in range(4):
        assert _basic(client, "kim", "wrong").status_code == 401
    assert _failures("kim") == 4
    assert _basic(client, "kim", "kim-pw-0001").status_code == 200
    assert _failures("kim") == 0
    assert _basic(client, "kim", "wrong").status_code == 401 and not lockout.is_locked("kim")
    lockout.clear("kim")


def test_a_token_still_works_while_the_username_is_locked_by_password_guesses(app, kim, address):
    token = api_tokens.create_token(kim.id, "locked-name")
    places = [_client(app, next(_addresses)) for _ in range(5)]
    for place in places:
        _form(place, "kim", "wrong")
    assert lockout.is_locked("kim")
    assert _bearer(_client(app, address), token).status_code == 200
    lockout.clear("kim")
