"""schemathesis's own command line against the running app, as CI runs it: every check on (server errors, status
codes, content types, response schemas and headers, negative data rejected — empty ``page_size=``, ``preset=``,
``start=``, ``end=`` included —, 405s with ``Allow``, authentication not ignored), the examples, coverage and
fuzzing phases, bounded to a couple of minutes (``MAX_EXAMPLES`` per operation)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from data.admin import api_tokens, users
from tests.cdr_factory import UTC, call, ensure_switch, insert_calls

MAX_EXAMPLES = 15
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
# positive_data_acceptance: some schema-valid combinations are refused with 400 on purpose (``to`` before ``from``,
# hourly KPIs over years), as the in-process test says.
EXCLUDED = "positive_data_acceptance"


@pytest.fixture(scope="module")
def admin_token(app):
    switch = ensure_switch("conf-sw", "10.79.0.1")
    now = datetime.now(UTC)
    insert_calls([call(switch, now - timedelta(hours=h), billsec=h, callid=f"conf-{h}") for h in range(1, 6)])
    return api_tokens.create_token(users.get_user_by_name("admin").id, "conformance")


def test_schemathesis_cli_with_every_check_finds_nothing(live_server, admin_token, monkeypatch, tmp_path):
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "100000 per minute")  # it sends wrong credentials on purpose
    done = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{live_server}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {admin_token}",
            "--checks",
            "all",
            "--exclude-checks",
            EXCLUDED,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20",
            "--generation-deterministic",
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
    )
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert "No issues found" in done.stdout or "passed" in done.stdout, report


@pytest.mark.parametrize("query", ["page_size=", "preset=", "start=", "end=", "cursor=", "accountcode=" + "a" * 401])
def test_empty_or_overlong_parameters_are_refused(client, admin_token, query):
    path = "/api/v1/switches" if query.startswith("page_size") else "/api/v1/cdrs"
    response = client.get(f"{path}?{query}", headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 400 and response.get_json()["detail"].startswith("parameter ")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("TRACE", "/api/v1/switches", "GET, HEAD, OPTIONS"),
        ("DELETE", "/api/v1/cdrs/1", "GET, HEAD, OPTIONS"),
        ("GET", "/api/v1/cdr", "POST, OPTIONS"),
        ("OPTIONS", "/api/v1/cdr", "POST, OPTIONS"),
    ],
)
def test_405_and_options_list_the_allowed_methods(client, admin_token, method, path, allow):
    response = client.open(path, method=method, headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == (200 if method == "OPTIONS" else 405)
    assert set(response.headers["Allow"].split(", ")) == set(allow.split(", "))
