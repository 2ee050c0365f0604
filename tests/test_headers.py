"""Response headers: the Content-Security-Policy on every answer, ``Cache-Control: no-store`` on everything
behind the login (pages, callbacks, the API, downloads), and a Server header that names no version."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.dash_client import dash_request


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/profile",
        "/_dash-layout",
        "/_dash-dependencies",
        "/api/v1/switches",
        "/api/v1/cdrs",
        "/api/v1/openapi.json",
        "/download/cdrs.csv",
        "/download/cdrs.json",
        "/login",
    ],
)
def test_everything_behind_the_login_is_no_store(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "Werkzeug" not in response.headers.get("Server", "")


def test_callbacks_answer_no_store(admin_client):
    response = dash_request(admin_client, "refresh_dashboard", [None, None, None, None])
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(admin_client):
    response = admin_client.get("/assets/00-bootstrap.min.css")
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")


def test_the_running_server_names_no_version(live_server):
    """Werkzeug's server said "Werkzeug/3.1.9 Python/3.11.7"; gunicorn says "gunicorn" only."""
    with urllib.request.urlopen(f"{live_server}/healthz") as response:
        servers = response.headers.get_all("Server")
    assert servers == ["Dialstat"]


def test_the_json_api_keeps_its_cache_control(admin_client):
    response = admin_client.get("/api/v1/switches")
    assert json.loads(response.get_data())  # a JSON body, and no-store (above) also on API answers
    assert response.headers.get("Expires") is None
