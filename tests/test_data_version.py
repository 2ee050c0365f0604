"""The data version open dashboards ask about: advanced by every import that stored calls (push, collector,
file), after its commit; not by an import that stored nothing (all duplicates, all rejects) or a dry run."""

from __future__ import annotations

import json

from data.ingest.pipeline import import_file
from data.ingest.switches import rotate_push_key
from data.live.freshness import data_version
from tests.dash_client import dash_call

CDR = {
    "switch": "fs-fresh",
    "callid": "fresh-1",
    "caller_id_number": "1001",
    "destination_number": "34911234567",
    "starting_date": "2026-12-01 10:00:00",
    "duration": 30,
    "billsec": 25,
    "hangup_cause_id": 16,
}


def push(client, key, body):
    return client.post("/api/v1/cdr", json=body, headers={"Authorization": f"Bearer {key}"}).get_json()


def test_pushed_calls_move_the_version_once_per_stored_batch(client, tmp_path):
    _, key = rotate_push_key("fs-fresh")
    before = data_version()
    assert push(client, key, CDR)["accepted"] == 1
    assert data_version() == before + 1
    assert push(client, key, CDR)["duplicates"] == 1  # nothing stored: nothing to redraw
    assert data_version() == before + 1
    assert push(client, key, {**CDR, "starting_date": "yesterday"})["rejected"] == 1
    assert data_version() == before + 1
    sample = tmp_path / "calls.json"
    sample.write_text(json.dumps([{**CDR, "callid": "fresh-2"}]))
    assert import_file(sample, switch="fs-fresh", dry_run=True).accepted == 1
    assert data_version() == before + 1
    assert import_file(sample, switch="fs-fresh").accepted == 1
    assert data_version() == before + 2


def test_the_dashboard_redraws_only_when_the_version_moved(admin_client):
    drawn = dash_call(admin_client, "refresh_dashboard", [None, None, None, None])[("dashboard-drawn-version", "data")]
    assert drawn == data_version()
    asked = dash_call(admin_client, "check_data_version", [5], [drawn])
    assert ("dashboard-version", "data") not in asked  # unchanged: no redraw
    asked = dash_call(admin_client, "check_data_version", [6], [drawn - 1])
    assert asked[("dashboard-version", "data")] == drawn
