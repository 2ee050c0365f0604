"""Each of the seven languages in a real browser: a user with that language logs in and opens every page of the
navbar. Each page has <html lang> set, the navbar and the page's heading in that language, chart axis titles
from the catalog, and no console error; the dashboard shows its KPIs and an ASR written the locale's way, and
the overview's time axis names the months in that language (plotly.js's locale, served by the app)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import dash
import pytest
from babel.messages.pofile import read_po

from data.core.i18n import LANGUAGES, TRANSLATIONS, percent, plotly_locale, speaking
from data.core.i18n import gettext as _
from tests.cdr_factory import call, ensure_switch, insert_calls
from tests.conftest import browser_login
from tests.test_admin import ADMIN

CHART_TITLES = ".js-plotly-plot .xtitle, .js-plotly-plot .ytitle"
# every chart drawn and no callback still running (Dash marks what it is updating)
CHARTS_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('.main-svg'))
    && !document.querySelector('[data-dash-is-loading="true"]')"""
# in-app navigation, as dcc.Link does it: the page changes without reloading the scripts
GO_TO = "path => { history.pushState({}, '', path); dispatchEvent(new CustomEvent('_dashprivate_pushstate')); }"


@pytest.fixture(scope="module")
def speakers(app):
    from data.admin import accounts

    for language in LANGUAGES:
        accounts.create_user(ADMIN, username=f"lang-{language}", password="pw-of-1234", role="admin", language=language)
    switch = ensure_switch("i18n-sw", "10.77.0.1")
    now = datetime.now(timezone.utc) - timedelta(seconds=20)
    # three calls just now, two answered: ASR 66.7 %, which every locale writes its own way
    calls = [call(switch, now - timedelta(seconds=i), billsec=[60, 0, 90][i], callid=f"i18n-{i}") for i in range(3)]
    # and one two months ago, so that a year's time axis has months to name
    calls.append(call(switch, now - timedelta(days=62), billsec=30, callid="i18n-old"))
    insert_calls(calls)


def _first_heading(component) -> str | None:
    if type(component).__name__ == "H2":
        return component.children
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and hasattr(child, "to_plotly_json") and (found := _first_heading(child)):
            return found
    return None


@pytest.fixture(scope="module")
def headings(app, speakers) -> dict[str, dict[str, str]]:
    """Each page's heading in each language, as its layout writes it for an admin."""
    from flask_login import login_user

    from data.admin import users

    found: dict[str, dict[str, str]] = {}
    with app.test_request_context("/"):
        login_user(users.get_user_by_name("admin"))
        for page in dash.page_registry.values():
            for language in LANGUAGES:
                with speaking(language):
                    found.setdefault(page["path"], {})[language] = _first_heading(page["layout"]())
    return found


def catalog_patterns(language: str) -> list[re.Pattern]:
    """Every translated message of ``language`` as a pattern, its placeholders matching any text."""
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    texts = [m.string if isinstance(m.string, str) else m.string[0] for m in catalog if m.id and m.string]
    return [re.compile(re.sub(r"%\\\(\w+\\\)s", ".+", re.escape(text))) for text in set(texts)]


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_user_reads_every_page_in_their_language(page, speakers, headings, language):
    browser_login(page, f"lang-{language}", "pw-of-1234")
    page.wait_for_selector("#nav-reports-menu")
    with speaking(language):
        reports, calls, asr = _("Reports"), _("Calls"), percent(2 / 3, language)
        hour_title = _("Calls and minutes per hour (the last hour so far)")
    patterns = catalog_patterns(language)
    for path, heading in sorted(headings.items()):
        page.evaluate(GO_TO, path)
        page.wait_for_function("text => document.querySelector('h2')?.innerText === text", arg=heading[language])
        assert page.get_attribute("html", "lang") == language, path
        assert page.inner_text("#nav-reports-menu").strip() == reports, path
        if page.locator(".js-plotly-plot").count():
            page.wait_for_function(CHARTS_DRAWN, timeout=20_000)
            titles = {t.strip() for t in page.locator(CHART_TITLES).all_text_contents() if t.strip()}
            untranslated = [t for t in titles if not any(p.fullmatch(t) for p in patterns)]
            assert untranslated == [], f"{path}: axis titles outside the {language} catalog: {untranslated}"
        assert page.console_errors == [], path

    page.goto("/")  # the dashboard: KPI names, a chart title, an axis title, and a number the locale's way
    page.wait_for_function("text => document.body.innerText.includes(text)", arg=asr, timeout=20_000)
    assert page.inner_text("#kpi-calls-label").strip() == calls
    assert hour_title in page.inner_text("body")
    page.wait_for_selector("#dashboard-hourly-graph .ytitle", timeout=20_000)
    assert calls in page.locator("#dashboard-hourly-graph .ytitle").all_text_contents()

    page.goto("/overview?preset=12m")  # a year's axis: months named by plotly.js in the user's language
    page.wait_for_selector(".js-plotly-plot .xtick text", timeout=20_000)
    ticks = " ".join(page.locator(".js-plotly-plot .xtick text").all_text_contents())
    months = set(plotly_locale(language)["format"]["shortMonths"])
    named = set(re.findall(r"[^\W\d_]+\.?", ticks))
    assert named and named <= months, f"{ticks!r}: not {language} month names"
    assert page.console_errors == []
