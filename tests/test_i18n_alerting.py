"""Alarms, the alarm report, threat control and destination alerts in the reader's language: their callbacks
over HTTP for admins reading Spanish and Russian, an alarm's e-mail in its owner's language through a real
SMTP server (aiosmtpd), and the charts' hover, legend and note texts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from data.admin import accounts
from data.alerting import alarm_evaluation, alarms, destination_alerts
from data.core import i18n
from data.core.scope import Scope
from tests.conftest import login
from tests.dash_client import dash_call
from tests.test_admin import ADMIN
from tests.test_alarm_pages import form
from tests.test_alarm_support import make_call, spread, store, switch
from tests.test_alarms import DELAY, H2, traffic  # noqa: F401 - traffic is a fixture
from tests.test_threats import NOW


@pytest.fixture(scope="module")
def readers(app):
    return {
        language: accounts.create_user(
            ADMIN,
            username=f"reads-{language}",
            password="pass-word-1",
            role="admin",
            email=f"reads-{language}@example.com",
            language=language,
        )
        for language in ("es", "ru")
    }


def client_of(app, language):
    client = app.test_client()
    assert login(client, f"reads-{language}", "pass-word-1").status_code == 302
    return client


def text_of(out: dict, component: str, prop: str = "children") -> str:
    return json.dumps(out[(component, prop)], ensure_ascii=False)


def test_the_alarms_page_answers_in_spanish(app, readers):
    client = client_of(app, "es")
    out = dash_call(client, "alarm_save", [1], [0, *form(name="caídas", threshold=None)])
    assert "Indique un umbral." in text_of(out, "alarm-feedback")
    out = dash_call(client, "alarm_save", [1], [0, *form(name="caídas")])
    saved = text_of(out, "alarm-feedback")
    assert "«caídas» guardada: Llamadas (todo el tráfico) por hora: mayor que 0." in saved
    assert out[("alarm-form-title", "children")] == "Editar la alarma «caídas»"
    listing = text_of(dash_call(client, "alarm_list_refresh", [1]), "alarm-list")
    for words in ("Nombre", "Regla", "Gravedad", "Último periodo", "aviso", "activa", "Editar"):
        assert words in listing, words
    assert "Severity" not in listing and "never evaluated" not in listing
    assert "Project-Id-Version" not in listing  # an empty header is not a message (gettext("") is the catalog header)


def test_an_alarm_mails_its_owner_in_russian_and_the_report_reads_in_russian(app, readers, traffic, smtp_server):  # noqa: F811
    owner_id = readers["ru"]
    alarm = alarms.save_alarm(
        Scope(user_id=None),
        {"name": "трафик", "metric": "calls", "period": "hour", "condition": "gt", "threshold": "40"}
        | {"min_attempts": "10", "severity": "critical", "user_id": owner_id},
    )
    try:
        alarm_evaluation.run_due(now=H2 + DELAY)  # 50 calls in 11:00–12:00
    finally:
        alarms.set_status(Scope(user_id=None), alarm.id, "inactive")
    [mail] = [m for m in smtp_server.messages if m.envelope_to == ["reads-ru@example.com"]]
    assert mail["Subject"] == "[Dialstat] [CRITICAL] трафик: Вызовы 50 > 40"
    body = mail.get_body(("plain",)).get_content()
    assert "Тревога 'трафик' сработала: Вызовы 50 > 40." in body
    assert "Правило: Вызовы (весь трафик) за час: больше 40" in body
    assert "Измерено: 50, попыток: 50" in body and "Порог: 40" in body and "Важность: критическая" in body
    assert "Measured" not in body and "Rule" not in body

    client = client_of(app, "ru")
    out = dash_call(client, "alarm_report_refresh", [alarm.id, 0, False, True, 0])
    assert out[("alarm-report-count", "children")] == "1 срабатывание"
    report = text_of(out, "alarm-report-table-wrap")
    for words in ("Период с", "Важность", "Измерено", "Подтвердить", "критическая", "Вызовы 50 > 40"):
        assert words in report, words


def test_threat_control_answers_in_spanish(app, readers):
    sw = switch("i18n-threat-sw", "10.8.1.1")
    start = NOW - timedelta(hours=2)
    store([make_call(sw, t, 60, accountcode="rp", normalised_number="447700900999") for t in spread(start, 7000, 60)])
    out = dash_call(client_of(app, "es"), "threats_refresh", [1, None])
    current = text_of(out, "threats-current")
    assert "+447700900999 marcado 60 veces" in current and "Número repetido" in current
    assert "60 llamadas a +447700900999 en 180 minutos desde los códigos de cuenta rp" in current
    assert "Coste en riesgo" in current and "Llamadas →" in current
    assert text_of(out, "threats-high-cost").count("Ninguna llamada a un destino de coste alto.") == 1
    assert "Aún no se ha notificado ninguna amenaza." in text_of(out, "threats-history")
    assert "dialled" not in current and "Cost at risk" not in current


def test_the_number_check_of_destination_alerts_answers_in_russian(app, readers):
    destination_alerts.add_rule("blacklist", None, "88216", "Thuraya")
    out = dash_call(client_of(app, "ru"), "check_number", [1, None], ["+88216123456"])
    checked = text_of(out, "check-result")
    assert "Отмечен: чёрный список, префикс 88216" in checked and "Нормализован: 88216123456" in checked
    out = dash_call(client_of(app, "ru"), "destination_rules", [None, []], ["blacklist", None, None, "", 0])
    rules = text_of(out, "rule-list-table")
    assert "Чёрный список" in rules and "префикс 88216" in rules and "Страна или префикс" in rules


def test_the_charts_hover_legend_and_notes_in_russian():
    from components.figures import choropleth_figure, themed
    from components.live import sparkline_figure
    from components.time_figures import time_series_figure

    country = {"alpha3": "ESP", "label": "Испания", "calls": 1234, "minutes": 10.5, "acd": 30, "asr": 0.5, "cost": 1}
    rows = [
        {"period": "2026-03-01 10:00", "series": "Вызовы", "calls": 3},
        {"period": "2026-03-01 11:00", "series": "Вызовы", "calls": 2, "partial": True},
    ]
    with i18n.speaking("ru"):
        world_map = themed(choropleth_figure([country], "cost", "EUR"), dark=False)
        hours = time_series_figure(rows, "calls", "hour", "2026-03-01 12:00", compare=rows)
        live = sparkline_figure([{"minute": NOW, "calls": 4}])
    hover = world_map["data"][0]["hovertemplate"]
    assert "Вызовы: %{customdata[0]:,}" in hover and "Минуты: %{customdata[1]:,.0f}" in hover
    assert "Стоимость: %{customdata[4]:,.2f} EUR" in hover and "ASR: %{customdata[3]:.1%}" in hover
    assert world_map["layout"]["separators"] == ",\u00a0"  # 1 234,5 as Russian writes it
    assert world_map["data"][0]["colorbar"]["title"]["text"] == "Стоимость (EUR)"
    previous = hours["data"][-1]
    assert previous["name"] == "предыдущий период" and "<extra>предыдущий период</extra>" in previous["hovertemplate"]
    assert [note["text"] for note in hours["layout"]["annotations"]] == ["неполный: на текущий момент"]
    assert live["data"][0]["hovertemplate"] == "%{x|%H:%M}: вызовов: %{y}<extra></extra>"
    english = time_series_figure(rows, "calls", "hour", "2026-03-01 12:00", compare=rows)
    assert english["data"][-1]["hovertemplate"] == "%{text}: %{y}<extra>previous period</extra>"


def test_a_threat_is_mailed_once_per_language_of_the_admins(app, readers, smtp_server):
    from data.alerting import threats

    found = threats.run_job(NOW)  # the repeated number stored by the test above
    assert found["new"] >= 1
    mails = {tuple(m.envelope_to): m for m in smtp_server.messages if "447700900999" in m["Subject"]}
    assert set(mails) == {("reads-es@example.com",), ("reads-ru@example.com",)}
    assert mails[("reads-es@example.com",)]["Subject"] == "[Dialstat] Amenaza: +447700900999 marcado 60 veces"
    assert mails[("reads-ru@example.com",)]["Subject"] == "[Dialstat] Угроза: +447700900999 набран 60 раз"
    body = mails[("reads-ru@example.com",)].get_body(("plain",)).get_content()
    assert "Вызовов на +447700900999: 60 за 180 мин" in body and "Окно: с " in body
