"""Each of the seven languages in a real browser: a user with that language logs in and reads the navbar, the
dashboard's KPIs and their profile in it, with <html lang> set and numbers written the locale's way."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from data.core.i18n import LANGUAGES, percent, speaking
from data.core.i18n import gettext as _
from tests.cdr_factory import call, ensure_switch, insert_calls
from tests.conftest import browser_login
from tests.test_admin import ADMIN


@pytest.fixture(scope="module")
def speakers(app):
    from data.admin import accounts

    for language in LANGUAGES:
        accounts.create_user(ADMIN, username=f"lang-{language}", password="pw-of-1234", role="admin", language=language)
    switch = ensure_switch("i18n-sw", "10.77.0.1")
    now = datetime.now(timezone.utc) - timedelta(seconds=20)
    # three calls just now, two answered: ASR 66.7 %, which every locale writes its own way
    calls = [call(switch, now - timedelta(seconds=i), billsec=[60, 0, 90][i], callid=f"i18n-{i}") for i in range(3)]
    insert_calls(calls)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_user_reads_the_app_in_their_language(page, speakers, language):
    browser_login(page, f"lang-{language}", "pw-of-1234")
    page.wait_for_selector("#nav-reports-menu")
    assert page.get_attribute("html", "lang") == language
    with speaking(language):
        reports, profile, asr = _("Reports"), _("Your profile"), percent(2 / 3, language)
        calls, hour_title = _("Calls"), _("Calls and minutes per hour (the last hour so far)")
    assert page.inner_text("#nav-reports-menu").strip() == reports
    page.wait_for_function("text => document.body.innerText.includes(text)", arg=asr, timeout=20_000)
    assert page.inner_text("#kpi-calls-label").strip() == calls  # a KPI's name
    assert hour_title in page.inner_text("body")  # a chart's title
    page.wait_for_selector("#dashboard-hourly-graph .ytitle", timeout=20_000)
    assert calls in page.locator("#dashboard-hourly-graph .ytitle").all_text_contents()  # its axis title (SVG)
    page.goto("/profile")
    page.wait_for_selector("h2")
    assert page.inner_text("h2") == profile
    assert page.console_errors == []
