"""The Live page in a real browser: it follows the stored state by itself every 2 s (no reload), and shows a
switch that stopped answering as unreachable since HH:MM."""

from __future__ import annotations

from datetime import datetime, timezone

from data.ingest.switches import find_or_create_switch
from data.live import store
from data.live.sources import LiveCall
from tests.conftest import browser_login


def test_live_page_updates_without_reload(page):
    switch_id, _ = find_or_create_switch("browser-live")
    store.set_live_source(switch_id, "kamailio", "http://127.0.0.1:9/RPC")  # the scheduler is off in tests
    store.save_poll(switch_id, [])
    browser_login(page, "admin", "admin-secret")
    page.wait_for_url("**/")
    page.goto("/live")
    page.wait_for_function("() => document.querySelector('#live-calls')?.textContent === '0'")
    now = datetime.now(timezone.utc)
    calls = [LiveCall(f"call-{i}", now, i % 2 == 0, "1001", "34911234567", "") for i in range(3)]
    store.save_poll(switch_id, calls)
    page.wait_for_function("() => document.querySelector('#live-calls')?.textContent === '3'", timeout=10_000)
    assert "Spain" in page.inner_text("#live-countries")
    store.save_failure(switch_id, "Kamailio JSON-RPC: connection refused", now)
    page.wait_for_function(
        "() => (document.querySelector('#live-switches')?.textContent || '').includes('unreachable since')",
        timeout=10_000,
    )
    assert page.inner_text("#live-calls") == "0"
    assert page.console_errors == []
    store.set_live_source(switch_id, None)
