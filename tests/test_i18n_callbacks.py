"""The callbacks of the CDR search, billing and import pages answer in the reader's language: a Russian admin
gets Russian headers, messages and number formats over HTTP; and in the pseudo-locale what those callbacks
build (call detail, rating explanation, sums, progress, previews) shows no text outside gettext."""

from __future__ import annotations

import base64
import json
import re
from datetime import date

import pytest

from data.admin import accounts
from data.cdr_search.search import cdr_row
from data.core import db
from data.core.scope import Scope
from data.ingest import import_file
from data.rating.billing import Period, unrated_reasons
from data.rating.explain import explain_call
from tests.conftest import login
from tests.dash_client import _callbacks, callback_body, dash_call
from tests.ingest_helpers import SAMPLES
from tests.rating_setup import ADMIN, build_world, write_month
from tests.test_admin import ADMIN as ADMIN_USER
from tests.test_i18n import DATA, polyglots, pseudo_request, unmarked, visible_texts  # noqa: F401, F811 - fixtures

NBSP = "\u00a0"
JANUARY = ["2026-01-01", "2026-01-31"]
JANUARY_PERIOD = Period(date(2026, 1, 1), date(2026, 1, 31))
QUERY = "?start=2026-01-01&end=2026-01-31"


@pytest.fixture(scope="module")
def world(app, tmp_path_factory):
    world = build_world()
    path = tmp_path_factory.mktemp("calls") / "january.csv"
    write_month(path, calls=1200, seed=5)
    import_file(path)
    accounts.create_user(ADMIN_USER, username="ru-admin", password="pass-word-1", role="admin", language="ru")
    return world


@pytest.fixture
def russian(app, world):
    client = app.test_client()
    assert login(client, "ru-admin", "pass-word-1").status_code == 302
    return client


def _clicked(client, func_name: str, changed: str, inputs: list, state: list) -> str:
    """The callback's response (JSON text) as after a click on ``changed`` (``id.prop``)."""
    body = callback_body(_callbacks(client), func_name, inputs, state)
    body["changedPropIds"] = [changed]
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _outside_markers(text: str) -> str:
    """The text outside the pseudo-locale's markers, nested ones too (a message inside a message)."""
    while (inner := re.sub("⟦[^⟦⟧]*⟧", "", text)) != text:
        text = inner
    return text


def _rated_call() -> int:
    return db.scalar("SELECT id FROM cdr WHERE rating_status = 1 AND sell_cost > 0 ORDER BY id LIMIT 1")


def test_the_cdr_search_answers_in_russian(russian):
    call_id = _rated_call()
    detail = dash_call(russian, "open_detail", [{"rowId": str(call_id), "colId": "duration"}, None])
    assert detail[("cdr-search-detail-title", "children")].startswith("Вызов на ")
    body = json.dumps(detail[("cdr-search-detail-body", "children")], ensure_ascii=False)
    assert "Тарификация" in body and "Цена продажи" in body and "за минуту" in body and "тарифицирован" in body
    assert "Billed" not in body and "per minute" not in body
    by_day = dash_call(russian, "refresh_by_day", [QUERY])
    total = by_day[("cdr-search-total", "data")]
    calls = total["total"]
    assert calls > 1000 and total["text"] == f"{calls // 1000}{NBSP}{calls % 1000:03d} вызов" + (
        "а" if calls % 10 in (2, 3, 4) and calls % 100 not in (12, 13, 14) else "" if calls % 10 == 1 else "ов"
    )
    refused = json.loads(
        _clicked(russian, "saved_search_list", "cdr-search-save.n_clicks", [1, None, None], ["  ", QUERY, None])
    )
    assert refused["response"]["cdr-search-save-name"]["title"] == "Дайте поиску имя."
    missing = dash_call(russian, "open_detail", [{"rowId": "999999999"}, None])
    assert missing[("cdr-search-detail-title", "children")] == "CDR не найден"


def test_billing_answers_in_russian_with_russian_numbers(russian):
    page = dash_call(russian, "show_billing", [*JANUARY, None, "customer"])
    calls = page[("kpi-billing-calls", "children")]
    assert re.fullmatch(rf"\d{{1,3}}({NBSP}\d{{3}})*", calls) and NBSP in calls  # 1 200, not 1,200
    assert "," in page[("kpi-billing-cost", "children")]  # the decimal comma
    headers = [c["headerName"] for c in page[("billing-table", "columnDefs")]]
    assert headers[:3] == ["Клиент", "Вызовы", "Отвеченные"]
    summary = page[("billing-unrated-reasons", "children")]["props"]["children"]
    assert summary.startswith("с ценой ") and re.search(r"= [\d\u00a0]+ вызов(а|ов)?$", summary)
    unrated = dash_call(russian, "show_unrated_page", [*JANUARY, None, 1])
    assert unrated[("billing-unrated-calls-count", "children")].endswith("(в CSV — все)")
    reasons = {r["reason"] for r in unrated[("billing-unrated-calls", "rowData")]}
    assert reasons and reasons <= {"нет розничного тарифа", "нет тарифа оператора", "запрещён", "нет плана"} | {
        "не тарифицирован"
    }
    wrong = dash_call(russian, "show_billing", ["2026-01-31", "2026-01-01", None, "day"])
    assert wrong[("billing-error", "children")] == "период заканчивается раньше, чем начинается"


def test_the_import_page_answers_in_russian(russian, world):
    options = dash_call(russian, "show_reader_options", [None, "import-reader"])[("import-reader", "options")]
    assert options[0]["label"] == "Предложенный (авто)" and options[1]["label"].startswith("Формат: ")
    payload = "data:text/csv;base64," + base64.b64encode((SAMPLES / "cdr_stats_mixed.csv").read_bytes()).decode()
    upload = dash_call(russian, "receive_upload", [payload], ["mixed.csv"])
    assert re.fullmatch(r"mixed\.csv \(\d+,\d КБ\)", upload[("import-file-info", "children")])
    assert upload[("import-suggestion", "children")].startswith("Предложено: ")
    listing = dash_call(russian, "show_imports", [True, "import-list"])[("import-list", "children")]
    listing = json.dumps(listing, ensure_ascii=False)
    assert "ID импорта" in listing and "выполнен" in listing and "Источник" in listing
    refused = json.loads(_clicked(russian, "delete", "import-profile-delete.n_clicks", [1], [""]))
    assert "Выберите сохранённый профиль" in json.dumps(refused, ensure_ascii=False)


def test_pseudo_locale_what_the_callbacks_build_shows_no_text_outside_gettext(world, pseudo_request):  # noqa: F811
    from callbacks.billing import _list_page, unrated_summary
    from callbacks.import_cdr import _finished_import, _progress_label, reader_options
    from components.cdr_detail import (
        _side_text,
        detail_body,
        detail_title,
        grid_texts,
        saved_search_items,
        seconds_text,
    )
    from components.import_profiles import dry_run_summary, preview_table, problem_list
    from data.ingest.imports import ImportSummary

    scope = Scope(user_id=None, timezone="UTC")
    row = cdr_row(scope, _rated_call())
    explanation = explain_call(row["id"], with_buy_side=True)
    *sections, stored = detail_body(row, "UTC", explanation)
    assert stored.children[0].children == "⟦All stored fields⟧"  # the rest: field names and values, as stored
    texts = visible_texts(sections)  # the headings and labels; the values are in cells, checked here:
    texts += [explanation["status_text"], seconds_text(95), seconds_text(3725)]
    texts += visible_texts([_side_text(explanation[side], 61, "") for side in ("sell", "buy")])
    texts += [detail_title(row, "UTC"), *visible_texts(saved_search_items([]))]
    texts += [r["direction"] for r in grid_texts([{"direction": "inbound"}, {"direction": "outbound"}])]
    texts += visible_texts(unrated_summary(unrated_reasons(ADMIN, JANUARY_PERIOD)))
    texts += [_list_page("unrated", *JANUARY, None, 1)[1], *[o["label"] for o in reader_options()[:3]]]
    progress = {"state": "done", "percent": 100, "rows_read": 1500, "accepted": 1499, "duplicates": 1, "rejected": 0}
    texts += [_progress_label(progress), *visible_texts(_finished_import(1, progress))]
    summary = ImportSummary(rows_read=3, accepted=2, duplicates=1)
    texts += visible_texts([dry_run_summary(summary, "mixed.csv"), problem_list([("separator", "x")])])
    texts += visible_texts(preview_table({"rows": [{"line": 2, "answered": True}]}))
    shown_as_stored = {"mixed.csv", "separator"}  # a file's name, a profile setting's name
    problems = unmarked([_outside_markers(t) for t in texts if t], DATA | shown_as_stored)
    assert problems == [], "\n".join(problems)
    assert any("⟦" in t for t in texts)
