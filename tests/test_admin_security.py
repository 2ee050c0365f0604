"""Running in production: /healthz, security headers, secure cookies over HTTPS, login rate limiting and
lockout (revealing nothing about which accounts exist), request ids and the log files."""

import re

import pytest

from data.admin import lockout
from data.core import db
from data.core.settings import load_settings
from tests.conftest import csrf_token_from


def _client(app, address: str):
    """A test client from its own address: rate limits are per client address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _login(client, username: str, password: str):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_healthz_is_public_and_says_only_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_answers_503_when_the_database_is_down(client, monkeypatch):
    def broken():
        raise OSError("connection refused")

    monkeypatch.setattr(db, "engine", broken)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_data(as_text=True) == "unavailable"


@pytest.mark.parametrize("path", ["/login", "/healthz", "/_dash-layout", "/api/v1/switches", "/password-reset"])
def test_security_headers_on_every_answer(client, path):
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Request-Id"])


def test_cookies_are_secure_when_served_over_https(app):
    client = app.test_client()
    token = csrf_token_from(client.get("/login", base_url="https://dialstat.example").get_data(as_text=True))
    response = client.post(
        "/login",
        base_url="https://dialstat.example",
        headers={"Referer": "https://dialstat.example/login"},  # checked by CSRF over HTTPS
        data={"username": "admin", "password": "admin-secret", "csrf_token": token},
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_repeated_failures_lock_a_username_whether_it_exists_or_not(app, make_user, monkeypatch):
    monkeypatch.setenv("LOCKOUT_FAILURES", "3")  # read at each login; fewer slow password checks
    make_user("lock-me", password="lock-me-pw-1")
    client = _client(app, "10.20.0.1")
    failures = load_settings().ops.lockout_failures
    answers = {}
    for name in ("lock-me", "nobody-at-all"):
        for _ in range(failures - 1):
            response = _login(client, name, "wrong")
            assert response.status_code == 401 and "Wrong username or password" in response.get_data(as_text=True)
        last = _login(client, name, "wrong")
        answers[name] = re.sub(r'value="[^"]+"', "", last.get_data(as_text=True))
        assert "locked" in answers[name]
        lockout.clear(name)  # stay under the per-address rate limit for the next name
    assert answers["lock-me"] == answers["nobody-at-all"]  # a lockout says nothing about the account
    other = _client(app, "10.20.0.4")  # the first address has used up its failed logins for this minute
    for _ in range(failures):
        assert _login(other, "lock-me", "wrong").status_code == 401
    locked = _login(_client(app, "10.20.0.2"), "lock-me", "lock-me-pw-1")  # from anywhere, the right password
    assert locked.status_code == 401 and "locked" in locked.get_data(as_text=True)
    lockout.clear("lock-me")
    assert _login(_client(app, "10.20.0.3"), "lock-me", "lock-me-pw-1").status_code == 302


def test_failed_logins_are_rate_limited_per_address(app):
    client = _client(app, "10.30.0.1")
    for i in range(10):  # LOGIN_RATE_LIMIT: 10 failed logins a minute, different names (no lockout)
        assert _login(client, f"guess-{i}", "wrong").status_code == 401
    limited = _login(client, "admin", "admin-secret")
    assert limited.status_code == 429 and "Too many failed attempts" in limited.get_data(as_text=True)
    assert _login(_client(app, "10.30.0.2"), "admin", "admin-secret").status_code == 302  # other addresses
    for i in range(10):
        lockout.clear(f"guess-{i}")


def test_successful_logins_are_not_rate_limited(app):
    client = _client(app, "10.40.0.1")
    for _ in range(11):  # more than the 10 failed logins a minute allowed
        assert _login(client, "admin", "admin-secret").status_code == 302


def test_each_request_logs_one_line_with_its_id_and_user(app, admin_client):
    response = admin_client.get("/_dash-layout", headers={"X-Request-Id": "trace-abc-123"})
    assert response.headers["X-Request-Id"] == "trace-abc-123"
    assert (
        admin_client.get("/_dash-layout", headers={"X-Request-Id": "bad id <x>"}).headers["X-Request-Id"]
        != "bad id <x>"
    )  # only a sane id from a proxy is kept
    log_dir = load_settings().log_dir
    for handler in __import__("logging").getLogger().handlers:
        handler.flush()
    lines = [line for line in (log_dir / "app.log").read_text().splitlines() if "trace-abc-123" in line]
    assert len(lines) == 1 and "[trace-abc-123 admin]" in lines[0] and "GET /_dash-layout 200" in lines[0]


def test_jobs_and_imports_have_their_own_log_files(app):
    import logging

    logging.getLogger("dialstat.jobs").warning("job line\nwith a second line")
    logging.getLogger("dialstat.ingest").warning("import line")
    for handler in logging.getLogger().handlers:
        handler.flush()
    log_dir = load_settings().log_dir
    jobs, imports, main = ((log_dir / n).read_text() for n in ("jobs.log", "imports.log", "app.log"))
    assert "job line \\n with a second line" in jobs and "import line" not in jobs
    assert "import line" in imports and "job line" not in imports
    assert "job line" not in main and "import line" not in main


def test_the_web_process_does_not_run_the_scheduler_with_scheduler_off(app):
    from jobs import scheduler

    assert load_settings().scheduler == "off" and scheduler._running is None
