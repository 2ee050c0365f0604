"""ALLOWED_HOSTS and PUBLIC_URL: a forged Host header gets 400, and links in mails never follow it (a reset asked
with ``Host: evil.example`` used to mail a valid token to http://evil.example/...)."""

from __future__ import annotations

import dataclasses
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data.admin import users
from data.core import db, hosts
from tests.conftest import csrf_token_from
from tests.test_password_reset import _wait_for_mail


@pytest.fixture
def allowed(app):
    """Set ALLOWED_HOSTS / PUBLIC_URL of the running app for one test."""
    original = app.config["DIALSTAT_SETTINGS"]

    def set_(**ops):
        app.config["DIALSTAT_SETTINGS"] = dataclasses.replace(original, ops=dataclasses.replace(original.ops, **ops))

    yield set_
    app.config["DIALSTAT_SETTINGS"] = original


@pytest.fixture(scope="module")
def hal(app):
    return users.create_user("hal", "hal-pw-0001", "customer", email="hal@example.com")


def _ask(client, identifier: str, base_url: str):
    token = csrf_token_from(client.get("/password-reset", base_url=base_url).get_data(as_text=True))
    return client.post("/password-reset", base_url=base_url, data={"identifier": identifier, "csrf_token": token})


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/switches", "/password-reset", "/assets/app.css"])
def test_other_host_names_get_400_by_default(client, path):
    assert client.get(path, base_url="http://evil.example").status_code == 400
    assert client.get(path, headers={"Host": "evil.example:8050"}).status_code == 400
    assert client.get(path, base_url="http://localhost:8050").status_code != 400
    assert client.get(path, base_url="http://127.0.0.1").status_code != 400


def test_allowed_hosts_names_and_subdomains(client, allowed):
    allowed(allowed_hosts=("stats.example.com", ".example.net"))
    assert client.get("/login", base_url="http://stats.example.com").status_code == 200
    assert client.get("/login", base_url="https://stats.example.com:8443").status_code == 200
    assert client.get("/login", base_url="http://a.example.net").status_code == 200
    assert client.get("/login", base_url="http://example.net").status_code == 200
    assert client.get("/login", base_url="http://evil-example.net").status_code == 400
    assert client.get("/login", base_url="http://localhost").status_code == 400  # not listed any more
    allowed(allowed_hosts=("*",))
    assert client.get("/login", base_url="http://anything.example").status_code == 200


@given(st.text(max_size=40))
def test_a_host_name_is_allowed_only_when_listed(host):
    if hosts.is_allowed(host, ("localhost",)):
        assert hosts.host_name(host) == "localhost"


def test_without_public_url_a_reset_on_a_non_local_name_mails_nothing_and_says_why(app, hal, smtp_server, allowed):
    allowed(allowed_hosts=("*",))  # a site behind a proxy that answers any name, PUBLIC_URL unset
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.90.0.1"
    answer = _ask(client, "hal", "http://evil.example")
    assert answer.status_code == 200 and "on its way" in answer.get_data(as_text=True)  # the page says the same
    deadline = time.monotonic() + 5
    refused = []
    while not refused and time.monotonic() < deadline:
        refused = db.rows("SELECT after FROM audit_log WHERE action = 'password-reset-refused'")
        time.sleep(0.05)
    assert refused and "PUBLIC_URL is not set" in refused[0]["after"]["reason"]
    assert "evil.example" in refused[0]["after"]["reason"]
    assert smtp_server.messages == []
    assert db.scalar("SELECT count(*) FROM password_reset") == 0


def test_links_are_built_from_public_url_whatever_the_host(app, hal, smtp_server, allowed):
    allowed(allowed_hosts=("*",), public_url="https://stats.example.com/dialstat")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.90.0.2"
    _ask(client, "hal", "http://evil.example")
    body = _wait_for_mail(smtp_server, 1).get_body(("plain",)).get_content()
    assert "https://stats.example.com/dialstat/password-reset/" in body and "evil.example" not in body


def test_a_local_site_without_public_url_links_to_its_local_name(app, hal, smtp_server):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.90.0.3"
    _ask(client, "hal", "http://localhost:8050")
    assert "http://localhost:8050/password-reset/" in _wait_for_mail(smtp_server, 1).get_body(("plain",)).get_content()


def test_the_diagnostic_page_says_whether_public_url_is_set(app):
    from data.admin import diagnostics

    assert "not set" in diagnostics.mail_configuration()["settings"]["PUBLIC_URL"]
