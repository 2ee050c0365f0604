"""Migration 0011 moves the rollups off accountcode: existing sums are regrouped, none lost or doubled."""

from datetime import datetime, timedelta, timezone

from data.core import db, migrate
from data.core.rollups import MEASURES

T = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
OLD_KEY = (
    "bucket",
    "user_id",
    "accountcode",
    "switch_id",
    "country_code",
    "hangup_cause_id",
    "direction",
    "cdr_source_type",
)
# Two accountcodes in the same bucket, customer, switch, country and cause: one row after the migration.
ROWS = [
    (T, 0, "a1", 1, "ES", 16, 1, 3),
    (T, 0, "a2", 1, "ES", 16, 1, 3),
    (T, 0, "a1", 1, "GB", 17, 1, 3),
    (T + timedelta(minutes=1), 5, "a1", 2, "", 0, 2, 1),
]


def _insert(table: str, key_values: tuple, n: int) -> None:
    values = dict(zip(OLD_KEY, key_values, strict=True))
    measures = {m: n for m in MEASURES}
    columns = ", ".join([*values, *measures])
    db.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in [*values, *measures])})",
        **values,
        **measures,
    )


def test_rollup_rows_are_regrouped_into_the_new_keys(app):
    migrate.downgrade("0010")
    try:
        for table in ("cdr_rollup_minute", "cdr_rollup_hour"):
            for n, row in enumerate(ROWS, start=1):
                _insert(table, row, n)
    finally:
        migrate.upgrade()
    for table in ("cdr_rollup_minute", "cdr_rollup_hour"):
        rows = db.rows(f"SELECT * FROM {table} ORDER BY bucket, switch_id, country_code")
        assert [(r["bucket"], r["switch_id"], r["country_code"], r["attempts"]) for r in rows] == [
            (T, 1, "ES", 3),
            (T, 1, "GB", 3),
            (T + timedelta(minutes=1), 2, "", 4),
        ]
        assert all(r[m] == r["attempts"] for r in rows for m in MEASURES)  # every measure summed alike
    by_code = db.rows("SELECT bucket, accountcode, attempts FROM cdr_rollup_minute_account ORDER BY 1, 2")
    assert [(r["bucket"], r["accountcode"], r["attempts"]) for r in by_code] == [
        (T, "a1", 4),
        (T, "a2", 2),
        (T + timedelta(minutes=1), "a1", 4),
    ]


def test_the_rollups_leave_room_for_updates_in_place(app):
    options = {
        r["relname"]: r["reloptions"]
        for r in db.rows(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN "
            "('cdr_rollup_minute', 'cdr_rollup_minute_account', 'cdr_rollup_hour')"
        )
    }
    assert options == {
        "cdr_rollup_minute": ["fillfactor=50"],
        "cdr_rollup_minute_account": ["fillfactor=50"],
        "cdr_rollup_hour": ["fillfactor=70"],
    }
