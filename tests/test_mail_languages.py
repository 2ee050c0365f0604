"""A mailed report in its recipient's language, sent through a real SMTP server (aiosmtpd): the subject, the
headings, the chart's text and the CSV header in Spanish, numbers and dates as Spain writes them."""

from __future__ import annotations

from decimal import Decimal

from babel.dates import format_date

from data.admin import accounts
from data.core import i18n
from data.mail import reports
from tests.test_admin import ADMIN
from tests.test_mail_reports import _csv_rows, _parts, _sql_totals, world  # noqa: F401 - world is a fixture


def test_a_daily_report_in_spanish_with_spanish_numbers(world, smtp_server):  # noqa: F811
    alice, day = world["alice"], world["day"]
    accounts.update_user(ADMIN, alice.id, language="es")
    try:
        result = reports.send_report_now(reports.report_user(alice.id), "daily")
    finally:
        accounts.update_user(ADMIN, alice.id, language=None)
    assert result["state"]["sent_at"] is not None
    [mail] = smtp_server.messages
    assert mail["Subject"] == f"[Dialstat] Informe diario {day.isoformat()} (alice)"
    parts = _parts(mail)
    html, text = parts["text/html"].get_content(), parts["text/plain"].get_content()
    assert '<html lang="es">' in html
    weekday = format_date(day, "EEEE", locale="es")  # "lunes"…
    for words in ("Totales", "Estado de las llamadas", "Llamadas por hora", "Últimas 10 llamadas", weekday):
        assert words in html and words in text
    assert "Calls" not in text and "Answered" not in html

    expected = _sql_totals(day, alice.id)
    asr = Decimal(expected["answered"]) / expected["calls"]
    assert i18n.percent(asr, "es") in html  # a decimal comma and a space before the sign: "61,5 %"
    assert "," in i18n.percent(asr, "es") or asr * 1000 % 10 == 0
    minutes = Decimal(expected["billsec"]) / 60
    assert i18n.number(minutes, "es") in html

    rows = _csv_rows(mail)
    assert list(rows[0])[:5] == ["seccion", "etiqueta", "llamadas", "contestadas", "minutos"]
    total = rows[0]
    assert int(total["llamadas"]) == expected["calls"]  # values stay exact, with a decimal point
    assert Decimal(total["minutos"]) == round(minutes, 2)


def test_without_a_language_the_report_stays_english(world, smtp_server):  # noqa: F811
    reports.send_report_now(reports.report_user(world["bob"].id), "daily")
    [mail] = smtp_server.messages
    assert mail["Subject"].startswith("[Dialstat] Daily report ")
    assert "Calls per hour" in _parts(mail)["text/plain"].get_content()
