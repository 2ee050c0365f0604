"""Helpers shared by the ingest tests."""

from __future__ import annotations

from pathlib import Path

from data.core import db

SAMPLES = Path(__file__).resolve().parent / "samples"


def calls(where: str = "TRUE", **params) -> dict[str, dict]:
    """Stored calls by callid."""
    return {
        r["callid"]: r
        for r in db.rows(
            f"""SELECT c.*, s.name AS switch_name FROM cdr c JOIN switch s ON s.id = c.switch_id
            WHERE {where} ORDER BY c.callid""",
            **params,
        )
    }


def reset_calls() -> None:
    with db.transaction() as conn:
        conn.exec_driver_sql("TRUNCATE cdr, cdr_call_key, import_batch, import_reject CASCADE")
