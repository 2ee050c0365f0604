"""Call KPIs, computed from rollup sums at query time (never an average of averages).

Each function returns ``None`` when its denominator is zero; ``format_kpi`` shows that as "–".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.units import format_unit

from data.core.i18n import DEFAULT_LANGUAGE, N_, current_language, locale_of, number, percent

DASH = "–"

DEFINITIONS = {
    "calls": N_("Call attempts: every CDR, answered or not."),
    "minutes": N_("Billed minutes: the sum of billsec / 60."),
    "asr": N_("ASR (answer-seizure ratio) = answered calls / call attempts."),
    "acd": N_("ACD (ALOC, average call duration) = billsec of answered calls / answered calls."),
    "ner": N_(
        "NER (network effectiveness ratio) = (answered + user busy + no answer + call rejected, "
        "Q.850 16/17/18/19/21) / call attempts."
    ),
    "short_calls": N_("Short-call % = answered calls shorter than the short-call threshold / answered calls."),
    "pdd": N_("PDD (post-dial delay) = mean of progresssec over the calls that report it."),
    "cost": N_("Cost = sum of the buy cost (what carriers charge)."),
    "revenue": N_("Revenue = sum of the sell cost (what customers are charged)."),
    "margin": N_("Margin = revenue − cost; margin % = margin / revenue."),
}


def ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


class _Ratio:
    """A read-only attribute: ``ratio`` of two of the instance's attributes."""

    def __init__(self, numerator: str, denominator: str):
        self.numerator, self.denominator = numerator, denominator

    def __get__(self, totals, owner=None) -> Decimal | None:
        if totals is None:
            return self
        return ratio(getattr(totals, self.numerator), getattr(totals, self.denominator))


@dataclass(frozen=True)
class Totals:
    """The sums a rollup row (or a sum of rows) holds."""

    attempts: int = 0
    answered: int = 0
    ner_success: int = 0
    duration_sum: int = 0
    billsec_sum: int = 0
    short_calls: int = 0
    pdd_sum: int = 0
    pdd_count: int = 0
    buy_cost: Decimal = Decimal(0)
    sell_cost: Decimal = Decimal(0)

    @classmethod
    def from_row(cls, row: dict) -> Totals:
        return cls(**{name: row.get(name) or 0 for name in cls.__dataclass_fields__})

    # Ratios of two sums; None when the denominator is 0.
    asr = _Ratio("answered", "attempts")
    acd = _Ratio("billsec_sum", "answered")  # seconds per answered call
    ner = _Ratio("ner_success", "attempts")
    short_call_ratio = _Ratio("short_calls", "answered")
    pdd = _Ratio("pdd_sum", "pdd_count")

    @property
    def minutes(self) -> Decimal:
        return Decimal(self.billsec_sum) / 60

    @property
    def cost(self) -> Decimal:
        return Decimal(self.buy_cost)

    @property
    def revenue(self) -> Decimal:
        return Decimal(self.sell_cost)

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    margin_ratio = _Ratio("margin", "revenue")


def _rounded(value, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def kpi_numbers(t: Totals) -> dict:
    """The traffic KPIs of ``t`` as plain numbers (JSON as it is: charts, downloads, the API)."""
    return {
        "calls": int(t.attempts),
        "answered": int(t.answered),
        "minutes": round(float(t.minutes), 2),
        "asr": _rounded(t.asr, 4),
        "acd": _rounded(t.acd, 1),
        "ner": _rounded(t.ner, 4),
        "short_call_ratio": _rounded(t.short_call_ratio, 4),
        "pdd": _rounded(t.pdd, 2),
    }


def format_kpi(value, kind: str = "number", currency: str = "") -> str:
    """Display a KPI: percentages, seconds, minutes or money (with its ``currency`` code, when given);
    ``None`` (no denominator) is "–". Numbers are written the current language's way (``data.core.i18n``);
    English keeps its own style ("61.6 %")."""
    if value is None:
        return DASH
    value = Decimal(value)
    language = current_language()
    if language != DEFAULT_LANGUAGE:
        return f"{_format_local(value, kind, language)} {currency if kind == 'money' else ''}".rstrip()
    if kind == "percent":
        return f"{value * 100:.1f} %"
    if kind == "seconds":
        return f"{value:.0f} s"
    if kind == "money":
        return f"{value:,.2f} {currency}".rstrip()
    if kind == "minutes":
        return f"{value:,.0f}"
    return f"{value:,.0f}"


def _format_local(value: Decimal, kind: str, language: str) -> str:
    if kind == "percent":
        return percent(value, language, 1)
    if kind == "seconds":
        return format_unit(value, "duration-second", length="short", format="#,##0", locale=locale_of(language))
    return number(value, language, 2 if kind == "money" else 0)


def as_float(value) -> float | None:
    """For charts only: plotly needs floats; ``None`` stays a gap."""
    return None if value is None else float(value)
