"""Random CSV, JSON and YAML records, through the file import and the push API: the ingest's invariants hold.

- no exception escapes (the push answers 200 or 400);
- accepted + duplicates + rejected equals the records written;
- cdr holds as many rows as cdr_call_key;
- the rollups equal a rebuild from cdr;
- importing the same input again accepts nothing.

Bounded (a fixed number of examples, no database of examples) to stay under a minute in CI.
"""

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from data.core import db
from data.core.rollups import KEYS, MEASURES, rebuild_rollups
from data.ingest import import_file
from data.ingest.switches import rotate_push_key
from tests.ingest_helpers import reset_calls

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FIELDS = ("switch", "callid", "destination_number", "starting_date", "duration", "billsec", "accountcode", "extradata")

hostile_text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()),  # anything: NUL, controls, lone surrogates
    max_size=30,
) | st.sampled_from(["", " ", "\r", "\n", "\r\n", '"', ",", "\\", "\\.", "\u0000", "\ud800", "A" * 9000])


def mostly(valid, hostile):
    """Valid seven times in eight: records with several fields then pass, and mix with rejected ones."""
    return st.one_of(*[valid] * 7, hostile)


dates = mostly(
    st.datetimes(datetime(2024, 3, 1), datetime(2024, 3, 3)).map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))
    | st.integers(0, 600).map(lambda m: (NOW - timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:%S")),
    st.sampled_from(["2024-03-01 10:00:00+99:00", "0000-01-01 00:00", "2024-02-30 10:00", "1709287200", "soon"])
    | hostile_text,
)
numbers = mostly(st.integers(0, 4000), st.integers(-(10**30), 10**30) | st.floats(allow_nan=True) | hostile_text)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=12,
)
records = st.lists(
    st.fixed_dictionaries(
        {
            "switch": mostly(st.sampled_from(["10.8.0.1", "10.8.0.2"]), hostile_text),
            "callid": mostly(st.sampled_from([f"p-{n}" for n in range(12)]), hostile_text),
            "destination_number": mostly(st.sampled_from(["+34650104877", "0033142685300", "2001"]), hostile_text),
            "starting_date": dates,
            "duration": numbers,
            "billsec": numbers,
        },
        optional={"accountcode": mostly(st.sampled_from(["acme-01", "1001"]), hostile_text), "extradata": json_values},
    ),
    max_size=12,
)


def _csv_bytes(rows: list[dict], newline: str, bom: bool) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_ALL)
    writer.writerow(FIELDS)
    for row in rows:
        cells = []
        for name in FIELDS:
            value = row.get(name, "")
            cells.append(json.dumps(value) if name == "extradata" and value != "" else str(value))
        writer.writerow(cells)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8", errors="surrogatepass")


def _yaml_bytes(rows: list[dict], flow: bool) -> bytes:
    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True

    text = yaml.dump(rows, Dumper=NoAliases, default_flow_style=flow, allow_unicode=False, width=1 << 20)
    return text.encode("utf-8", errors="surrogatepass")


def _rollups() -> dict:
    return {
        table: [
            tuple(r.values())
            for r in db.rows(
                f"SELECT {', '.join(key + MEASURES)} FROM {table} WHERE attempts <> 0 ORDER BY {', '.join(key)}"
            )
        ]
        for table, key in KEYS.items()
    }


def _check_invariants(first, second, written: int) -> None:
    event(f"accepted {'some' if first.accepted else 'none'}, rejected {'some' if first.rejected else 'none'}")
    assert first.accepted + first.duplicates + first.rejected == written == first.rows_read
    assert second.accepted == 0 and second.rows_read == written
    assert db.scalar("SELECT count(*) FROM cdr") == db.scalar("SELECT count(*) FROM cdr_call_key") == first.accepted
    incremental = _rollups()
    span = db.rows("SELECT min(starting_date) AS first, max(starting_date) AS last FROM cdr")[0]
    if span["first"] is not None:
        rebuild_rollups(span["first"], span["last"] + timedelta(days=1))
    assert _rollups() == incremental


@pytest.fixture
def empty(app):
    def reset():
        reset_calls()
        for table in KEYS:
            db.execute(f"DELETE FROM {table}")

    return reset


PROPERTY = settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=False
)


@PROPERTY
@given(
    rows=records,
    shape=st.sampled_from(["csv-lf", "csv-crlf", "csv-cr", "json-array-one-line", "json-lines", "yaml", "yaml-flow"]),
    bom=st.booleans(),
)
def test_random_files_keep_the_invariants(tmp_path_factory, empty, rows, shape, bom):
    empty()
    path = tmp_path_factory.mktemp("prop") / "input"
    if shape.startswith("csv"):
        newline = {"csv-lf": "\n", "csv-crlf": "\r\n", "csv-cr": "\r"}[shape]
        path.write_bytes(_csv_bytes(rows, newline, bom))
        fmt = "cdr-stats-csv"
    elif shape.startswith("json"):
        dumped = [json.dumps(r, ensure_ascii=bool(bom)) for r in rows]
        text = "[" + ", ".join(dumped) + "]" if shape == "json-array-one-line" else "\n".join(dumped) + "\n"
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        fmt = "cdr-stats-json"
    else:
        path.write_bytes(_yaml_bytes(rows, shape == "yaml-flow"))
        fmt = "cdr-stats-yaml"
    first = import_file(path, fmt)
    second = import_file(path, fmt)
    if fmt == "cdr-stats-yaml" and rows and first.rows_read == 1 and len(rows) != 1:
        written = 1  # PyYAML could not read its own output (one reject for the file)
    else:
        written = len(rows)
    _check_invariants(first, second, written)


@PROPERTY
@given(rows=records)
def test_random_pushes_keep_the_invariants(app, empty, rows):
    empty()
    _, key = rotate_push_key("prop-push")
    client = app.test_client()
    body = json.dumps(rows).encode()
    answers = []
    for _ in range(2):
        response = client.post(
            "/api/v1/cdr", data=body, content_type="application/json", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code in (200, 400), response.get_data(as_text=True)
        answers.append(response.get_json())
    if "error" in answers[0]:
        assert db.scalar("SELECT count(*) FROM cdr") == 0
        return
    first, second = answers
    assert first["accepted"] + first["duplicates"] + first["rejected"] == len(rows)
    assert second["accepted"] == 0
    assert db.scalar("SELECT count(*) FROM cdr") == db.scalar("SELECT count(*) FROM cdr_call_key") == first["accepted"]
    incremental = _rollups()
    span = db.rows("SELECT min(starting_date) AS first, max(starting_date) AS last FROM cdr")[0]
    if span["first"] is not None:
        rebuild_rollups(span["first"], span["last"] + timedelta(days=1))
    assert _rollups() == incremental
