"""Reject reasons shown on the import page in the reader's language: the reasons a real import stores (English,
for the downloads, the command line and the API) are written again in Russian, the field names and the
file's values kept; a reason of no known shape is shown as stored, and nothing raises on any text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from data.core.i18n import speaking
from data.ingest import import_file
from data.ingest.reject_texts import shown_reason
from data.ingest.rejects import list_rejects
from tests.ingest_helpers import SAMPLES, reset_calls


def test_every_reason_of_a_real_import_is_shown_in_russian_with_its_field_and_value(app):
    reset_calls()
    summary = import_file(SAMPLES / "cdr_stats_mixed.csv")  # seven broken rows, each broken its own way
    stored = [r["reason"] for r in list_rejects(summary.import_id)]
    assert len(stored) == 7
    with speaking("ru"):
        shown = [shown_reason(reason) for reason in stored]
    assert all(reason != text and not text.isascii() for reason, text in zip(stored, shown, strict=True)), shown
    assert shown[0] == "starting_date 'yesterday' — не дата"
    assert "'abc'" in shown[2] and shown[2].startswith("duration ")  # the field and the file's value as they were
    with speaking("en"):
        assert [shown_reason(reason) for reason in stored] == stored


def test_reasons_of_other_shapes_are_shown_as_stored():
    with speaking("de"):
        assert shown_reason("db_file x: no such file") == "db_file x: no such file"
        assert shown_reason("switch 'sw' is not a colour") == "switch 'sw' is not a colour"  # not a known "is not"
        assert shown_reason("") == "" and shown_reason(None) is None


@given(st.text())
def test_any_text_is_shown_without_error(reason):
    for language in ("en", "fr", "ru"):
        with speaking(language):
            assert isinstance(shown_reason(reason), str)
