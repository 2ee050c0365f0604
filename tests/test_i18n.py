"""Seven languages: complete catalogs, the request's language (user setting, Accept-Language, English), local
number formats, ``<html lang>``, and a pseudo-locale that finds any text of a translated page shown without
going through gettext."""

from __future__ import annotations

import gettext
import io
import re
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal
from html.parser import HTMLParser
from importlib.metadata import version
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from data.core import i18n
from data.core.i18n import LANGUAGES, TRANSLATIONS
from tests.conftest import login
from tests.test_admin import ADMIN

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def catalog(language: str) -> Catalog:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return read_po(po_file, locale=language)


def extracted_ids(tmp_path) -> set:
    """What ``make translations`` would extract from the code now."""
    pot = tmp_path / "now.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg", "-k", "N_", "-k", "_"]
        + ["-k", "gettext", "-k", "ngettext:1,2", "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
        check=True,
        cwd=TRANSLATIONS.parent,
        capture_output=True,
    )
    with pot.open("rb") as pot_file:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot_file) if m.id}


# ------------------------------------------------------------------------------------------------ catalogs


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_message_is_translated_and_none_is_fuzzy(language, tmp_path_factory):
    messages = catalog(language)
    assert not messages.fuzzy, "the catalog's header is fuzzy: gettext would skip the whole catalog"
    problems = []
    for message in messages:
        if not message.id:
            continue
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(texts):
            problems.append(f"untranslated: {message.id!r}")
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        if any(set(PLACEHOLDER.findall(text)) != wanted for text in texts if text):
            problems.append(f"placeholders differ: {message.id!r}")
        if message.pluralizable and len(texts) != messages.num_plurals:
            problems.append(f"{len(texts)} plural forms, {messages.num_plurals} wanted: {message.id!r}")
    # what pybabel compile refuses (a "% o" read as a python-format placeholder, say)
    problems += [f"{message.id!r}: {error}" for message, errors in messages.check() for error in errors]
    assert problems == []


def test_the_catalogs_hold_every_message_the_code_marks(tmp_path):
    """A text marked in the code but missing from the catalogs would show in English (run make translations)."""
    marked = extracted_ids(tmp_path)
    assert len(marked) > 50
    for language in LANGUAGES:
        in_catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(language) if m.id}
        assert marked - in_catalog == set(), language


def test_an_empty_text_stays_empty_not_the_catalogs_header(app):
    assert i18n.gettext("") == ""  # gettext's own answer for "" is the catalog's header (an empty column title)


def test_russian_has_three_plural_forms():
    form = gettext.c2py(catalog("ru").plural_expr)  # which of the forms a number takes
    assert catalog("ru").num_plurals == 3
    assert [form(n) for n in (1, 3, 5, 11, 21, 22, 25)] == [0, 1, 2, 2, 0, 1, 2]


# ------------------------------------------------------------------------------------------------- formats


def test_numbers_percentages_and_money_as_each_locale_writes_them():
    nbsp, narrow = "\u00a0", "\u202f"
    assert i18n.number(1234567.891, "en", 2) == "1,234,567.89"
    assert i18n.number(1234567.891, "de", 2) == "1.234.567,89"
    assert i18n.number(1234567.891, "fr", 2) == f"1{narrow}234{narrow}567,89"
    assert i18n.number(1234567.891, "ru", 2) == f"1{nbsp}234{nbsp}567,89"
    assert i18n.number(None, "de") == "–"
    assert i18n.percent(Decimal("0.6155"), "en") == "61.6%"
    assert i18n.percent(Decimal("0.6155"), "de") == f"61,6{nbsp}%"
    assert i18n.percent(Decimal("0.6"), "es") == f"60,0{nbsp}%"
    assert i18n.money(Decimal("1234.5"), "EUR", "en") == "€1,234.50"
    assert i18n.money(Decimal("1234.5"), "EUR", "de") == f"1.234,50{nbsp}€"
    assert i18n.money(Decimal("0.012345"), "USD", "en", digits=4) == "$0.0123"
    assert i18n.plotly_separators("en") == ".," and i18n.plotly_separators("de") == ",."
    assert i18n.plotly_separators("ru") == "," + nbsp


def test_dates_follow_the_locale():
    moment = datetime(2026, 3, 1, 14, 5, tzinfo=timezone.utc)
    assert i18n.moment(moment, "de") == "01.03.2026, 14:05:00"
    assert i18n.moment(moment, "en").startswith("Mar 1, 2026")
    assert "мар" in i18n.moment(moment, "ru")


def test_plotly_gets_each_locales_month_and_day_names_and_date_order():
    russian, german, portuguese = (i18n.plotly_locale(code)["format"] for code in ("ru", "de", "pt"))
    assert russian["months"][0] == "январь" and russian["shortMonths"][0] == "янв."  # stand-alone, not "января"
    assert german["days"][0] == "Sonntag" and german["days"][1] == "Montag"  # plotly counts from Sunday
    assert (russian["date"], german["date"], portuguese["date"]) == ("%d.%m.%Y", "%d.%m.%Y", "%d/%m/%Y")
    assert (german["decimal"], german["thousands"]) == (",", ".")
    with i18n.speaking("fr"):
        assert i18n.plotly_locale("fr")["dictionary"]["Reset axes"] == i18n.gettext("Reset axes") != "Reset axes"


def test_the_plotly_locales_script_is_served_to_users_and_queues_every_language_but_english(app, client):
    assert client.get("/i18n/plotly-locales.js").status_code in (302, 401)  # behind the login, like the charts
    login(client, "admin", "admin-secret")
    answer = client.get("/i18n/plotly-locales.js")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    script = answer.get_data(as_text=True)
    assert script.startswith("window.PlotlyLocales = ")
    assert all(f'"name": "{code}"' in script for code in LANGUAGES if code != "en") and '"name": "en"' not in script


def test_country_names_in_each_language_and_english_from_the_reference_table():
    rows = [
        {"label": "United Kingdom", "code": "GB", "calls": 3},
        {"label": "Kosovo", "code": "XK", "calls": 2},
        {"label": "Unknown", "code": "", "calls": 1},
        {"label": "Other", "calls": 4},  # the rest of a top 10: no code, left as the caller wrote it
    ]
    assert [r["label"] for r in i18n.with_country_names(rows, "ru")] == [
        "Великобритания",
        "Косово",
        "Неизвестно",
        "Other",
    ]
    assert [r["label"] for r in i18n.with_country_names(rows, "de")][:3] == [
        "Vereinigtes Königreich",
        "Kosovo",
        "Unbekannt",
    ]
    assert i18n.with_country_names(rows, "en") == rows
    assert i18n.country_name("QQ", "QQ", "es") == "QQ"  # a code CLDR does not know keeps its table name


def test_the_browser_language_is_matched_on_its_primary_tag_and_english_is_the_fallback():
    assert i18n.best_language([("pt-BR", 1.0), ("en", 0.5)]) == "pt"
    assert i18n.best_language([("zh-CN", 1.0)]) == "en"
    assert i18n.best_language([("xx", 1.0), ("ru", 0.8), ("de", 0.9)]) == "de"
    assert i18n.best_language([("fr", 0.0), ("it", 0.3)]) == "it"  # q=0 means "not this one"
    assert i18n.best_language([]) == "en"


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unknown language"):
        i18n.valid_language("xx")
    assert i18n.valid_language("") is None and i18n.valid_language("ru") == "ru"


# ------------------------------------------------------------------------------------------- per request


def test_the_login_page_follows_accept_language(client):
    page = client.get("/login", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="es"' in page and "Iniciar sesión" in page and "Contraseña" in page
    page = client.get("/login", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert '<html lang="en"' in page and "Log in" in page


def test_a_wrong_login_is_told_in_the_browser_language(app, client):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    answer = client.post(
        "/login",
        data={"username": "nobody-here", "password": "x", "csrf_token": token},
        headers={"Accept-Language": "ru"},
    )
    assert answer.status_code == 401 and "Неверное имя пользователя или пароль." in answer.get_data(as_text=True)


@pytest.fixture(scope="module")
def polyglots(app):
    from data.admin import accounts

    made = {}
    for language in LANGUAGES:
        made[language] = accounts.create_user(
            ADMIN, username=f"speaks-{language}", password="pass-word-1", language=language, timezone="Europe/Madrid"
        )
    accounts.create_user(ADMIN, username="speaks-browser", password="pass-word-1")
    return made


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_users_language_wins_over_the_browser(app, polyglots, language):
    client = app.test_client()
    login(client, f"speaks-{language}", "pass-word-1")
    page = client.get("/profile", headers={"Accept-Language": "ja, en"}).get_data(as_text=True)
    assert f'<html lang="{language}">' in page


def test_without_a_setting_the_browser_decides_and_the_profile_saves_a_language(app, polyglots):
    from data.admin import accounts, users
    from routes.auth import forget_kept_sessions

    client = app.test_client()
    login(client, "speaks-browser", "pass-word-1")
    assert '<html lang="it">' in client.get("/", headers={"Accept-Language": "it"}).get_data(as_text=True)
    user = users.get_user_by_name("speaks-browser")
    accounts.set_own_profile(user, language="fr")
    forget_kept_sessions()  # as the profile's save does
    assert '<html lang="fr">' in client.get("/", headers={"Accept-Language": "it"}).get_data(as_text=True)
    accounts.set_own_profile(user, language="")
    assert users.get_user_by_name("speaks-browser").language is None
    with pytest.raises(ValueError, match="unknown language"):
        accounts.set_own_profile(user, language="tlh")


# ----------------------------------------------------------------------------------------------- pseudo


MARK_OPEN, MARK_CLOSE = "⟦", "⟧"
PSEUDO = "eo"  # a locale Babel knows and Dialstat has no catalog for


def pseudo_translations() -> Translations:
    """Every message of the catalogs wrapped in markers: a text shown without them bypassed gettext."""
    source = catalog("en")
    pseudo = Catalog(locale=PSEUDO)
    for message in source:
        if message.id:
            wrap = lambda text: f"{MARK_OPEN}{text}{MARK_CLOSE}"  # noqa: E731
            string = tuple(map(wrap, message.id)) if isinstance(message.id, tuple) else wrap(message.id)
            pseudo.add(message.id, string)
    buffer = io.BytesIO()
    write_mo(buffer, pseudo)
    buffer.seek(0)
    return Translations(fp=buffer)


def visible_texts(component) -> list[str]:
    """The texts a Dash component tree shows: children strings, labels, placeholders and titles."""
    found = []
    if isinstance(component, str):
        return [component]
    if isinstance(component, (list, tuple)):
        return [text for child in component for text in visible_texts(child)]
    if component is None or not hasattr(component, "to_plotly_json"):
        return found
    if type(component).__name__ in ("Td", "Code"):  # table cells are data, code is identifiers; headers are not
        return found
    for prop in ("children", "label", "placeholder", "title"):
        value = getattr(component, prop, None)
        if value is not None:
            found += visible_texts(value)
    return found  # a dropdown's options are data (users, switches, source types), left out


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.texts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.texts.append(data)


def unmarked(texts: list[str], allowed: set[str]) -> list[str]:
    """Texts with letters that no marker covers (data such as names and addresses are ``allowed``)."""
    problems = []
    for text in texts:
        outside, before = text, None
        while outside != before:  # innermost first: a translated text may hold translated parts
            before, outside = outside, re.sub(f"{MARK_OPEN}[^{MARK_OPEN}{MARK_CLOSE}]*{MARK_CLOSE}", "", outside)
        for data in allowed:
            outside = outside.replace(data, "")
        outside = re.sub(r"\b[A-Z][A-Z0-9_]+\b", "", outside)  # setting names (LOCAL_DIALCODE) are identifiers
        if re.search(r"[A-Za-z]{2,}", outside):
            problems.append(text)
    return problems


@pytest.fixture
def pseudo_request(app, polyglots):
    from flask_babel import force_locale, get_domain
    from flask_login import login_user

    from data.admin import users

    with app.test_request_context("/profile"):
        domain = get_domain()
        names = domain.domain if isinstance(domain.domain, (list, tuple)) else [domain.domain]
        domain.get_translations_cache(None)[(PSEUDO, names[0])] = pseudo_translations()  # Jinja's (login)
        i18n.CATALOGS[PSEUDO] = pseudo_translations()  # the code's
        login_user(users.get_user_by_name("admin"))  # admin pages too; the profile is every user's
        with force_locale(PSEUDO):
            yield


# Data the translated pages show as it is: names, product, addresses, identifiers.
DATA = {"Dialstat", "admin", "speaks-browser", "Europe/Madrid", "UTC", "Authorization: Bearer <token>", "/api/v1/"}
DATA.add(f"Werkzeug/{version('werkzeug')}")
DATA |= {
    "noc@example.com, …",
    "security@example.com, …",
    "https://example.net/hook",
}  # example addresses  # the user agent of the test client's sessions


# The pages still in English (docs/translations.md); every other page, new ones included, must show no text
# outside gettext. Take a page off this list when it is translated.
NOT_YET_TRANSLATED: set[str] = set()


def test_pseudo_locale_the_navbar_and_translated_pages_show_no_text_outside_gettext(pseudo_request):
    import dash

    from components.layout import navbar

    pages = sorted(dash.page_registry.values(), key=lambda p: p.get("order", 50))
    texts = visible_texts(navbar(pages, "speaks-browser", True, "UTC", "token"))
    translated = [page for page in pages if page["path"] not in NOT_YET_TRANSLATED]
    assert NOT_YET_TRANSLATED <= {page["path"] for page in pages}  # a renamed page is noticed
    for page in translated:
        path = page["path"]
        shown = visible_texts(page["layout"]())
        assert len(shown) > 1, path
        texts += shown
    languages = set(LANGUAGES.values()) | {"—"}  # each language in its own name, on purpose
    problems = unmarked(texts, DATA | languages)
    assert problems == [], "\n".join(problems)


def test_pseudo_locale_the_login_page_shows_no_text_outside_gettext(pseudo_request):
    from routes.auth import _login_page

    parser = _TextParser()
    parser.feed(_login_page(None, "/"))
    assert unmarked([t for t in parser.texts if t.strip()], DATA) == []
    assert any(MARK_OPEN in t for t in parser.texts)


def test_no_function_hides_gettext_behind_a_variable_named_underscore():
    """``def cb(_):`` or ``for x, _ in …`` in a function that also calls ``_("…")`` would call the variable."""
    import ast

    root = TRANSLATIONS.parent
    problems = []
    for path in sorted(root.glob("*/**/*.py")):
        if path.parts[len(root.parts)] not in ("pages", "callbacks", "components", "data", "routes", "jobs"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            bound = {a.arg for a in node.args.args + node.args.kwonlyargs}
            bound |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            calls = any(
                isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_" for n in ast.walk(node)
            )
            if "_" in bound and calls:
                problems.append(f"{path.relative_to(root)}:{node.lineno}")
    assert problems == []
