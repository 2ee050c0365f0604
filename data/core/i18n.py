"""Languages and local formats: the seven languages CDR-Stats shipped, how a request's language is chosen, and
numbers, money and times written the locale's way (Babel's CLDR data).

Messages go through ``gettext`` here at the moment they are shown (a layout, a callback, a mail), so each
user reads their own language: in a request the language Flask-Babel chose for it (``routes.i18n``), in a job
the one set with ``speaking(language)`` (a mail in its recipient's language). ``N_`` only marks a text for the
catalogs where it is defined (a page's name), and whoever shows it translates it with ``gettext``.

Technical identifiers that machines read (export and API field names, CSV column names of exports, the
``accepted=N`` line of ``import-cdr``) stay English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale, UnknownLocaleError, numbers
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import has_request_context

from data.core.settings import ROOT

DEFAULT_LANGUAGE = "en"
# The languages of the interface, with their own names (a language is chosen by someone who reads it).
LANGUAGES = {
    "de": "Deutsch",
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "it": "Italiano",
    "pt": "Português",
    "ru": "Русский",
}
TRANSLATIONS = ROOT / "translations"


_speaking: ContextVar[str | None] = ContextVar("speaking", default=None)
CATALOGS: dict[str, NullTranslations] = {}  # loaded once per process and language


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Messages and formats in ``language`` (English when None) inside the block, whatever the request."""
    token = _speaking.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _speaking.reset(token)


def current_language() -> str:
    forced = _speaking.get()
    if forced:
        return forced
    if has_request_context():
        from flask_babel import get_locale

        return str(get_locale() or DEFAULT_LANGUAGE)
    return DEFAULT_LANGUAGE


def _translations(language: str) -> NullTranslations:
    if language not in CATALOGS:
        CATALOGS[language] = Translations.load(str(TRANSLATIONS), [language])
    return CATALOGS[language]


def gettext(message: str, **variables) -> str:
    """``message`` in the current language, with ``%(name)s`` placeholders filled from ``variables``."""
    if not message:
        return message  # gettext("") is the catalog's header, never a text to show (an empty column title)
    text = _translations(current_language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    """The form for ``n`` (Russian has three), with ``%(num)s`` set to ``n``."""
    text = _translations(current_language()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def N_(message: str) -> str:  # noqa: N802 - gettext's own name for "mark only"
    """Mark ``message`` for the catalogs without translating it here (it is translated where it is shown)."""
    return message


def valid_language(code: str | None) -> str | None:
    """``code`` if it is one of ``LANGUAGES``, None for "follow the browser"; anything else is refused."""
    if code in (None, ""):
        return None
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}: one of {', '.join(LANGUAGES)}")
    return code


def best_language(accept_language: list[tuple[str, float]]) -> str:
    """The first of the browser's languages (``(tag, quality)`` pairs, best first) that Dialstat speaks,
    matched on the primary subtag (``pt-BR`` reads ``pt``); English when none is."""
    for tag, quality in sorted(accept_language, key=lambda pair: -pair[1]):
        primary = tag.split("-")[0].split("_")[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def locale_of(language: str | None) -> Locale:
    try:
        return Locale.parse(language or DEFAULT_LANGUAGE)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LANGUAGE)


# ----------------------------------------------------------------------------------------------- formats


def number(value, language: str | None, digits: int = 0) -> str:
    """``value`` with the locale's group and decimal signs and exactly ``digits`` decimals; – when None."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return numbers.format_decimal(Decimal(str(value)), format=pattern, locale=locale_of(language))


def percent(ratio, language: str | None, digits: int = 1) -> str:
    """A ratio (0.6155) as the locale writes a percentage (61.6%, 61,6 %), with ``digits`` decimals; – when
    None."""
    if ratio is None:
        return "–"
    locale = locale_of(language)
    pattern = locale.percent_formats[None].pattern.split(";")[0]
    last_digit = pattern.rfind("0")
    if digits:
        pattern = pattern[: last_digit + 1] + "." + "0" * digits + pattern[last_digit + 1 :]
    return numbers.format_percent(Decimal(str(ratio)), format=pattern, locale=locale)


def money(amount, currency: str, language: str | None, digits: int | None = None) -> str:
    """An amount with its currency the locale's way (1.234,50 € / $1,234.50), in the currency's own decimals
    or, given ``digits``, rounded to that many (rates per minute have more); – when None."""
    if amount is None:
        return "–"
    value = Decimal(str(amount))
    if digits is not None:
        value = value.quantize(Decimal(1).scaleb(-digits))
    return numbers.format_currency(
        value, currency, locale=locale_of(language), currency_digits=digits is None, decimal_quantization=digits is None
    )


def moment(instant: datetime | None, language: str | None, width: str = "medium") -> str:
    """A date and time the locale's way (``instant`` already in the user's zone); – when None."""
    if instant is None:
        return "–"
    return format_datetime(instant, format=width, tzinfo=instant.tzinfo, locale=locale_of(language))


def plotly_separators(language: str | None) -> str:
    """Plotly's ``layout.separators``: the locale's decimal sign, then its group sign."""
    locale = locale_of(language)
    return numbers.get_decimal_symbol(locale) + numbers.get_group_symbol(locale)


def first_weekday(language: str | None) -> int:
    """The first day of the week in the locale: 0 = Monday … 6 = Sunday (Babel's and Python's numbering)."""
    return locale_of(language).first_week_day


def country_name(code: str | None, english: str | None, language: str | None) -> str | None:
    """A country's name in ``language`` from its ISO 3166 alpha-2 ``code`` (CLDR's names); ``english`` (the
    reference table's name) in English, or when CLDR has no name for the code."""
    if not code or (language or DEFAULT_LANGUAGE) == DEFAULT_LANGUAGE:
        return english
    return locale_of(language).territories.get(code.strip().upper()) or english


def with_country_names(rows: list[dict], language: str | None = None) -> list[dict]:
    """Rows of a per-country breakdown (``label``, and ``code``: ISO alpha-2) with their labels in ``language``
    (the reader's when None); calls of no known country say so in it too."""
    language = language or current_language()
    with speaking(language):
        unknown = gettext(UNKNOWN_COUNTRY)

    def named(row: dict) -> dict:
        if row.get("code"):
            return {**row, "label": country_name(row["code"], row["label"], language)}
        return {**row, "label": unknown} if row.get("label") == UNKNOWN_COUNTRY else row  # "Other" stays as given

    return [named(row) for row in rows]


UNKNOWN_COUNTRY = N_("Unknown")  # the breakdown's label for calls of no known country (data/reports/traffic)

# plotly.js's own texts (mode bar, zoom hints): given to it in each language with ``plotly_locale``
PLOTLY_TEXTS = (
    N_("Autoscale"),
    N_("Box Select"),
    N_("Compare data on hover"),
    N_("Double-click to zoom back out"),
    N_("Download plot"),
    N_("Download plot as a png"),
    N_("Lasso Select"),
    N_("Pan"),
    N_("Reset axes"),
    N_("Reset view"),
    N_("Show closest data on hover"),
    N_("Snapshot succeeded"),
    N_("Taking snapshot - this may take a few seconds"),
    N_("Toggle Spike Lines"),
    N_("Zoom"),
    N_("Zoom in"),
    N_("Zoom out"),
)
_CLDR_TO_D3 = (("dd", "%d"), ("d", "%-d"), ("MM", "%m"), ("M", "%-m"))


def plotly_locale(language: str) -> dict:
    """A plotly.js locale module for ``language``: month and day names on time axes, the locale's date order
    and signs, plotly's own texts translated (plotly.js ships English only)."""
    locale = locale_of(language)
    date = re.sub(r"y+", "%Y", locale.date_formats["short"].pattern)
    for cldr, d3 in _CLDR_TO_D3:  # longest first: "dd" before "d"
        date = re.sub(rf"(?<![%-]){cldr}(?![a-zA-Z])", d3, date)
    monday_first = [locale.days["stand-alone"][width] for width in ("wide", "abbreviated")]
    months = [locale.months["stand-alone"][width] for width in ("wide", "abbreviated")]
    day_month = "%-d. %b" if language == "de" else "%-d %b"
    with speaking(language):
        dictionary = {text: gettext(text) for text in PLOTLY_TEXTS}
    return {
        "moduleType": "locale",
        "name": language,
        "dictionary": dictionary,
        "format": {
            "days": [monday_first[0][(day + 6) % 7] for day in range(7)],  # plotly counts from Sunday
            "shortDays": [monday_first[1][(day + 6) % 7] for day in range(7)],
            "months": [months[0][month] for month in range(1, 13)],
            "shortMonths": [months[1][month] for month in range(1, 13)],
            "date": date,
            "decimal": numbers.get_decimal_symbol(locale),
            "thousands": numbers.get_group_symbol(locale),
            "year": "%Y",
            "month": "%b %Y",
            "dayMonth": day_month,
            "dayMonthYear": day_month + " %Y",
        },
    }


# ------------------------------------------------------------------------------------------------ catalogs


def compile_catalogs(folder: Path = TRANSLATIONS) -> list[Path]:
    """Compile each ``messages.po`` whose ``.mo`` is missing or older (fuzzy entries are left out, as gettext
    does); returns the catalogs compiled. Called at start-up so that a checkout serves its own texts."""
    compiled = []
    for po_path in sorted(folder.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        compiled.append(mo_path)
    return compiled
