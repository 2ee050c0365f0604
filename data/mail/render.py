"""A mailed report rendered: HTML (tables with inline styles, for mail clients), plain text, CSV, chart PNG.

Pure functions of ``data.mail.reports.ReportData``. The same ``render_html`` makes the mail and the
browser preview; only the chart's ``src`` differs (``cid:`` in the mail, a ``data:`` URI in the page).
The chart is drawn with matplotlib's Agg renderer: a PNG (mail clients show SVG poorly) and no browser.
"""

from __future__ import annotations

import csv
import io
import threading
from decimal import Decimal
from html import escape

from data.core.i18n import DEFAULT_LANGUAGE, N_, current_language, gettext, moment, number
from data.core.kpis import DASH, Totals, format_kpi
from data.core.spreadsheet import safe_cell

_chart_lock = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe

FONT = "font-family:Arial,Helvetica,sans-serif;"
TABLE = "border-collapse:collapse;width:100%;margin:0 0 18px 0;font-size:13px;"
TH = "text-align:left;padding:5px 8px;border-bottom:2px solid #adb5bd;background:#f1f3f5;white-space:nowrap;"
TD = "padding:4px 8px;border-bottom:1px solid #dee2e6;"
NUM = "text-align:right;white-space:nowrap;"
H2 = "font-size:16px;margin:22px 0 8px 0;color:#0d3b66;"
NOWRAP = (N_("Start"),)  # headers whose column does not wrap


def metrics(is_admin: bool) -> list[tuple[str, str, str]]:
    """(key, title, format kind) of the KPIs a report shows; money depends on who reads it."""
    base = [
        ("calls", gettext("Calls"), "number"),
        ("answered", gettext("Answered"), "number"),
        ("minutes", gettext("Minutes"), "minutes"),
        ("asr", "ASR", "percent"),
        ("acd", "ACD", "seconds"),
        ("cost", gettext("Cost"), "money"),
    ]
    admin_only = [("revenue", gettext("Revenue"), "money"), ("margin", gettext("Margin"), "money")]
    return base + (admin_only if is_admin else [])


def kpi_values(t: Totals, is_admin: bool) -> dict:
    """Raw KPI values; "cost" is the buy cost for an admin, what the customer is charged for a customer."""
    values = {
        "calls": t.attempts,
        "answered": t.answered,
        "minutes": t.minutes,
        "asr": t.asr,
        "acd": t.acd,
        "cost": t.cost if is_admin else t.revenue,
    }
    if is_admin:
        values.update(revenue=t.revenue, margin=t.margin)
    return values


def _row_values(row: dict, is_admin: bool) -> dict:
    return kpi_values(Totals.from_row(row), is_admin)


def change(current, previous, kind: str) -> str:
    """Relative change, or the difference in points for a ratio; "–" without a base."""
    if current is None or previous is None:
        return DASH
    if kind == "percent":
        return gettext("%(points)s pt", points=_signed((Decimal(current) - Decimal(previous)) * 100))
    if not previous:
        return DASH
    return f"{_signed((Decimal(current) - Decimal(previous)) / Decimal(previous) * 100)} %"


def _signed(value: Decimal) -> str:
    return ("+" if value >= 0 else "-") + number(abs(value), current_language(), 1)


def _fmt_share(value) -> str:
    return format_kpi(value, "percent")


def _fmt_time(value) -> str:
    """A call's start: ISO in English (as the app shows times), the locale's own way in other languages."""
    if not value:
        return DASH
    language = current_language()
    return value.strftime("%Y-%m-%d %H:%M:%S") if language == DEFAULT_LANGUAGE else moment(value, language)


def _fmt_money(value) -> str:
    return DASH if value is None else format_kpi(value, "money")


# --- the report's tables, as (headers, rows, numeric columns) ---------------------------------------------


def tables(data) -> list[tuple[str, list[str], list[list[str]], set[int]]]:
    """Every section of the report: (title, headers, rows of text, indexes of numeric columns)."""
    admin = data.is_admin
    cols = metrics(admin)
    sections = []

    current = kpi_values(data.totals, admin)
    others = [(label, period, kpi_values(t, admin)) for label, period, t in data.comparisons]
    headers = ["", data.period.short]
    for label, period, _ in others:
        headers += [f"{gettext(label)} ({period.short})", gettext("Change")]
    rows = []
    for key, title, kind in cols:
        row = [title, format_kpi(current[key], kind)]
        for _, _, values in others:
            row += [format_kpi(values[key], kind), change(current[key], values[key], kind)]
        rows.append(row)
    sections.append((gettext("Totals"), headers, rows, set(range(1, len(headers)))))

    sections.append(
        (
            gettext("Call status"),
            [gettext("Status"), gettext("Calls"), gettext("Share")],
            [[gettext(r["label"]), format_kpi(r["calls"]), _fmt_share(r["share"])] for r in data.statuses],
            {1, 2},
        )
    )

    total = data.totals.attempts
    sections.append(
        (
            gettext("Hangup causes"),
            [gettext("Hangup cause"), gettext("Code"), gettext("Calls"), gettext("Answered"), gettext("Share")],
            [
                [
                    r["label"],
                    DASH if r.get("code") is None else str(r["code"]),
                    format_kpi(r["attempts"]),
                    format_kpi(r["answered"]),
                    _fmt_share(r["attempts"] / total if total else None),
                ]
                for r in data.causes
            ],
            {2, 3, 4},
        )
    )

    kpi_headers = [title for _, title, _ in cols]
    country_rows = []
    for r in data.countries:
        values = _row_values(r, admin)
        country_rows.append([r["label"], *(format_kpi(values[k], kind) for k, _, kind in cols)])
    numeric = set(range(1, len(cols) + 1))
    sections.append((gettext("Top 5 countries"), [gettext("Country"), *kpi_headers], country_rows, numeric))

    if data.customers is not None:
        customer_rows = []
        for r in data.customers:
            values = _row_values(r, admin)
            customer_rows.append([r["label"], *(format_kpi(values[k], kind) for k, _, kind in cols)])
        sections.append((gettext("Per customer"), [gettext("Customer"), *kpi_headers], customer_rows, numeric))

    call_headers = [
        gettext("Start"),
        *([gettext("Customer")] if admin else []),
        gettext("Destination"),
        gettext("Country"),
        gettext("Duration"),
        "Billsec",
        gettext("Hangup cause"),
        gettext("Cost"),
        *([gettext("Revenue")] if admin else []),
    ]
    call_rows = []
    for c in data.last_calls:
        cause = c["cause"] or (gettext("cause %(code)s", code=c["cause_code"]) if c["cause_code"] is not None else DASH)
        call_rows.append(
            [
                _fmt_time(c["start"]),
                *([c["customer"] or DASH] if admin else []),
                c["destination"] or DASH,
                c["country"] or DASH,
                format_kpi(c["duration"], "seconds"),
                format_kpi(c["billsec"], "seconds"),
                cause,
                _fmt_money(c["buy_cost"] if admin else c["sell_cost"]),
                *([_fmt_money(c["sell_cost"])] if admin else []),
            ]
        )
    numbers = {gettext("Duration"), "Billsec", gettext("Cost"), gettext("Revenue")}
    numeric = {i for i, h in enumerate(call_headers) if h in numbers}
    sections.append((gettext("Last 10 calls"), call_headers, call_rows, numeric))
    return sections


def _intro(data) -> str:
    if data.is_admin:
        return gettext(
            "%(period)s, all traffic, every customer. Times in %(zone)s.", period=data.period.label, zone=data.timezone
        )
    return gettext(
        "%(period)s, the traffic of %(user)s. Times in %(zone)s.",
        period=data.period.label,
        user=data.user.username,
        zone=data.timezone,
    )


TITLES = {"daily": N_("Daily report"), "weekly": N_("Weekly report"), "monthly": N_("Monthly report")}


def title(data) -> str:
    return gettext(TITLES[data.period.kind])


def _per_unit(data) -> str:
    return gettext("Calls per hour") if data.traffic_unit == "hour" else gettext("Calls per day")


FOOTER = N_(
    "The summary is attached as CSV. Change who receives this report, and which reports, on the Mail report page "
    "of Dialstat."
)


# --- HTML ---------------------------------------------------------------------------------------------------


def _html_table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    if not rows:
        return f'<p style="margin:0 0 18px 0;color:#6c757d;{FONT}font-size:13px;">{escape(gettext("No calls."))}</p>'
    nowrap = {gettext(h) for h in NOWRAP}
    styles = [NUM if i in numeric else ("white-space:nowrap;" if h in nowrap else "") for i, h in enumerate(headers)]
    head = "".join(f'<th style="{TH}{styles[i]}">{escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td style="{TD}{styles[i]}">{escape(str(v))}</td>' for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return (
        f'<table role="table" cellpadding="0" cellspacing="0" border="0" style="{TABLE}{FONT}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def render_html(data, chart_src: str | None) -> str:
    """The report as one HTML document; ``chart_src`` is where the chart comes from (None: no chart)."""
    sections = tables(data)
    per_unit = _per_unit(data)
    no_chart = gettext("The chart could not be drawn; its figures are in the attached CSV.")
    chart = (
        f'<img src="{escape(chart_src)}" alt="{escape(per_unit)}" width="680" '
        f'style="display:block;width:100%;max-width:680px;height:auto;border:0;">'
        if chart_src
        else f'<p style="color:#6c757d;font-size:13px;">{escape(no_chart)}</p>'
    )
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{current_language()}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title(data))} {escape(data.period.short)}</title></head>",
        f'<body style="margin:0;padding:0;background:#ffffff;color:#212529;{FONT}">',
        f'<div style="max-width:760px;margin:0 auto;padding:16px;{FONT}">',
        f'<h1 style="font-size:20px;margin:0 0 4px 0;color:#0d3b66;">{escape(title(data))} · '
        f"{escape(data.period.label)}</h1>",
        f'<p style="margin:0 0 12px 0;font-size:13px;color:#495057;">{escape(_intro(data))}</p>',
    ]
    first, *rest = sections
    parts += [f'<h2 style="{H2}">{escape(first[0])}</h2>', _html_table(*first[1:])]
    parts += [f'<h2 style="{H2}">{escape(per_unit)}</h2>', chart]
    for name, headers, rows, numeric in rest:
        parts += [f'<h2 style="{H2}">{escape(name)}</h2>', _html_table(headers, rows, numeric)]
    parts += [
        f'<p style="margin:24px 0 0 0;font-size:12px;color:#6c757d;">{escape(gettext(FOOTER))}</p>',
        "</div></body></html>",
    ]
    return "\n".join(parts) + "\n"


# --- plain text ---------------------------------------------------------------------------------------------


def _text_table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    if not rows:
        return gettext("No calls.") + "\n"
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]

    def line(values):
        cells = [
            str(v).rjust(w) if i in numeric else str(v).ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]) + "\n"


def render_text(data) -> str:
    sections = tables(data)
    out = [f"{title(data)} · {data.period.label}", _intro(data), ""]
    for name, headers, rows, numeric in sections:
        out += [name, "=" * len(name), _text_table(headers, rows, numeric)]
    traffic = [
        [
            r["label"],
            format_kpi(r["attempts"]),
            format_kpi(r["answered"]),
            format_kpi(Decimal(r["billsec_sum"] or 0) / 60, "minutes"),
        ]
        for r in data.traffic
    ]
    name = _per_unit(data)
    unit = gettext("Hour") if data.traffic_unit == "hour" else gettext("Day")
    headers = [unit, gettext("Calls"), gettext("Answered"), gettext("Minutes")]
    out += [name, "=" * len(name), _text_table(headers, traffic, {1, 2, 3}), gettext(FOOTER)]
    return "\n".join(out) + "\n"


# --- CSV ----------------------------------------------------------------------------------------------------


def _csv_number(value, digits: int) -> str:
    if value is None:
        return ""
    return f"{Decimal(value):.{digits}f}"


class SafeWriter:
    """A csv writer whose cells follow the spreadsheet rule (labels are names of customers, countries...)."""

    def __init__(self, writer):
        self._writer = writer

    def writerow(self, cells) -> None:
        self._writer.writerow([safe_cell(cell) for cell in cells])


CSV_COLUMNS = (
    N_("section"),
    N_("label"),
    N_("calls"),
    N_("answered"),
    N_("minutes"),
    N_("asr"),
    N_("acd_seconds"),
    N_("cost"),
    N_("revenue"),
    N_("margin"),
    N_("share"),
)


def render_csv(data) -> bytes:
    """The summary as one CSV: a ``section`` column, then a label and exact values (ratios as fractions)."""
    admin = data.is_admin
    money = ["cost", "revenue", "margin"] if admin else ["cost"]
    out = io.StringIO()
    writer = SafeWriter(csv.writer(out, lineterminator="\r\n"))
    # the header in the reader's language (English: the column names it always had); the values stay exact, with
    # a decimal point, for spreadsheets and scripts to read
    writer.writerow([gettext(name) for name in CSV_COLUMNS[:7]] + [gettext(m) for m in money] + [gettext("share")])

    def kpi_row(section: str, label: str, t: Totals, share=None):
        v = kpi_values(t, admin)
        writer.writerow(
            [
                section,
                label,
                v["calls"],
                v["answered"],
                _csv_number(v["minutes"], 2),
                _csv_number(v["asr"], 4),
                _csv_number(v["acd"], 1),
                *(_csv_number(v[m], 5) for m in money),
                _csv_number(share, 4),
            ]
        )

    kpi_row("total", f"{data.period.first.isoformat()}..{data.period.last.isoformat()}", data.totals)
    for label, period, t in data.comparisons:
        kpi_row("comparison", f"{gettext(label)} {period.first.isoformat()}..{period.last.isoformat()}", t)
    total = data.totals.attempts
    for r in data.statuses:
        writer.writerow(
            [
                "status",
                gettext(r["label"]),
                r["calls"],
                "",
                "",
                "",
                "",
                *([""] * len(money)),
                _csv_number(r["share"], 4),
            ]
        )
    for r in data.causes:
        label = r["label"] if r.get("code") is None else f"{r['label']} ({r['code']})"
        kpi_row("hangup_cause", label, Totals.from_row(r), r["attempts"] / total if total else None)
    for r in data.countries:
        kpi_row("country", r["label"], Totals.from_row(r))
    for r in data.customers or ():
        kpi_row("customer", r["label"], Totals.from_row(r))
    for r in data.traffic:
        kpi_row(data.traffic_unit, r["label"], Totals.from_row(r))
    return out.getvalue().encode("utf-8")


# --- the chart ------------------------------------------------------------------------------------------------


def render_chart_png(data) -> bytes:
    """Calls per hour (or day), answered and not answered stacked, as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels = [r["label"] for r in data.traffic]
    answered = [int(r["answered"] or 0) for r in data.traffic]
    other = [int(r["attempts"] or 0) - a for r, a in zip(data.traffic, answered, strict=True)]
    positions = list(range(len(labels)))
    with _chart_lock:
        fig = Figure(figsize=(6.8, 2.6), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.bar(positions, answered, color="#0d6efd", label=gettext("Answered"), width=0.8)
        ax.bar(positions, other, bottom=answered, color="#adb5bd", label=gettext("Not answered"), width=0.8)
        step = 1 if len(labels) <= 24 else 2
        ax.set_xticks(positions[::step], labels[::step], fontsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel(gettext("Calls"), fontsize=8)
        ax.yaxis.set_major_formatter(lambda value, _position: number(value, current_language()))
        ax.set_title(f"{_per_unit(data)}, {data.period.label} ({data.timezone})", fontsize=9, loc="left")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if not any(answered) and not any(other):
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, gettext("No calls."), transform=ax.transAxes, ha="center", va="center", color="#6c757d")
        else:
            ax.legend(
                frameon=False, fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, borderaxespad=0.2
            )
        fig.subplots_adjust(left=0.08, right=0.99, top=0.9, bottom=0.1)  # fixed: tight_layout costs a draw
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
