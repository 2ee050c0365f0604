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

from data.core.kpis import DASH, Totals, format_kpi

_chart_lock = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe

FONT = "font-family:Arial,Helvetica,sans-serif;"
TABLE = "border-collapse:collapse;width:100%;margin:0 0 18px 0;font-size:13px;"
TH = "text-align:left;padding:5px 8px;border-bottom:2px solid #adb5bd;background:#f1f3f5;white-space:nowrap;"
TD = "padding:4px 8px;border-bottom:1px solid #dee2e6;"
NUM = "text-align:right;white-space:nowrap;"
H2 = "font-size:16px;margin:22px 0 8px 0;color:#0d3b66;"
NOWRAP = {"Start"}


def metrics(is_admin: bool) -> list[tuple[str, str, str]]:
    """(key, title, format kind) of the KPIs a report shows; money depends on who reads it."""
    base = [
        ("calls", "Calls", "number"),
        ("answered", "Answered", "number"),
        ("minutes", "Minutes", "minutes"),
        ("asr", "ASR", "percent"),
        ("acd", "ACD", "seconds"),
        ("cost", "Cost", "money"),
    ]
    return base + ([("revenue", "Revenue", "money"), ("margin", "Margin", "money")] if is_admin else [])


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
        return f"{(Decimal(current) - Decimal(previous)) * 100:+.1f} pt"
    if not previous:
        return DASH
    return f"{(Decimal(current) - Decimal(previous)) / Decimal(previous) * 100:+.1f} %"


def _fmt_share(value) -> str:
    return format_kpi(value, "percent")


def _fmt_time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else DASH


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
        headers += [f"{label} ({period.short})", "Change"]
    rows = []
    for key, title, kind in cols:
        row = [title, format_kpi(current[key], kind)]
        for _, _, values in others:
            row += [format_kpi(values[key], kind), change(current[key], values[key], kind)]
        rows.append(row)
    sections.append(("Totals", headers, rows, set(range(1, len(headers)))))

    sections.append(
        (
            "Call status",
            ["Status", "Calls", "Share"],
            [[r["label"], format_kpi(r["calls"]), _fmt_share(r["share"])] for r in data.statuses],
            {1, 2},
        )
    )

    total = data.totals.attempts
    sections.append(
        (
            "Hangup causes",
            ["Hangup cause", "Code", "Calls", "Answered", "Share"],
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
    sections.append(("Top 5 countries", ["Country", *kpi_headers], country_rows, set(range(1, len(cols) + 1))))

    if data.customers is not None:
        customer_rows = []
        for r in data.customers:
            values = _row_values(r, admin)
            customer_rows.append([r["label"], *(format_kpi(values[k], kind) for k, _, kind in cols)])
        sections.append(("Per customer", ["Customer", *kpi_headers], customer_rows, set(range(1, len(cols) + 1))))

    call_headers = [
        "Start",
        *(["Customer"] if admin else []),
        "Destination",
        "Country",
        "Duration",
        "Billsec",
        "Hangup cause",
        "Cost",
        *(["Revenue"] if admin else []),
    ]
    call_rows = []
    for c in data.last_calls:
        cause = c["cause"] or (f"cause {c['cause_code']}" if c["cause_code"] is not None else DASH)
        call_rows.append(
            [
                _fmt_time(c["start"]),
                *([c["customer"] or DASH] if admin else []),
                c["destination"] or DASH,
                c["country"] or DASH,
                f"{c['duration']} s",
                f"{c['billsec']} s",
                cause,
                _fmt_money(c["buy_cost"] if admin else c["sell_cost"]),
                *([_fmt_money(c["sell_cost"])] if admin else []),
            ]
        )
    numeric = {call_headers.index(h) for h in ("Duration", "Billsec", "Cost", "Revenue") if h in call_headers}
    sections.append(("Last 10 calls", call_headers, call_rows, numeric))
    return sections


def _intro(data) -> str:
    whose = "all traffic, every customer" if data.is_admin else f"the traffic of {data.user.username}"
    return f"{data.period.label}, {whose}. Times in {data.timezone}."


def title(data) -> str:
    return f"{data.period.kind.capitalize()} report"


# --- HTML ---------------------------------------------------------------------------------------------------


def _html_table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    if not rows:
        return f'<p style="margin:0 0 18px 0;color:#6c757d;{FONT}font-size:13px;">No calls.</p>'
    styles = [NUM if i in numeric else ("white-space:nowrap;" if h in NOWRAP else "") for i, h in enumerate(headers)]
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
    unit = "hour" if data.traffic_unit == "hour" else "day"
    chart = (
        f'<img src="{escape(chart_src)}" alt="Calls per {unit}" width="680" '
        f'style="display:block;width:100%;max-width:680px;height:auto;border:0;">'
        if chart_src
        else f'<p style="color:#6c757d;font-size:13px;">The chart could not be drawn; the calls per {unit} are in '
        f"the attached CSV.</p>"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
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
    parts += [f'<h2 style="{H2}">Calls per {unit}</h2>', chart]
    for name, headers, rows, numeric in rest:
        parts += [f'<h2 style="{H2}">{escape(name)}</h2>', _html_table(headers, rows, numeric)]
    parts += [
        '<p style="margin:24px 0 0 0;font-size:12px;color:#6c757d;">The summary is attached as CSV. '
        "Change who receives this report, and which reports, on the Mail report page of Dialstat.</p>",
        "</div></body></html>",
    ]
    return "\n".join(parts) + "\n"


# --- plain text ---------------------------------------------------------------------------------------------


def _text_table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    if not rows:
        return "No calls.\n"
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
    unit = "hour" if data.traffic_unit == "hour" else "day"
    traffic = [
        [
            r["label"],
            format_kpi(r["attempts"]),
            format_kpi(r["answered"]),
            format_kpi(Decimal(r["billsec_sum"] or 0) / 60, "minutes"),
        ]
        for r in data.traffic
    ]
    name = f"Calls per {unit}"
    out += [name, "=" * len(name), _text_table([unit.capitalize(), "Calls", "Answered", "Minutes"], traffic, {1, 2, 3})]
    out.append(
        "The summary is attached as CSV. Change who receives this report, and which reports, on the "
        "Mail report page of Dialstat."
    )
    return "\n".join(out) + "\n"


# --- CSV ----------------------------------------------------------------------------------------------------


def _csv_number(value, digits: int) -> str:
    if value is None:
        return ""
    return f"{Decimal(value):.{digits}f}"


def render_csv(data) -> bytes:
    """The summary as one CSV: a ``section`` column, then a label and exact values (ratios as fractions)."""
    admin = data.is_admin
    money = ["cost", "revenue", "margin"] if admin else ["cost"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "label", "calls", "answered", "minutes", "asr", "acd_seconds", *money, "share"])

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
        kpi_row("comparison", f"{label} {period.first.isoformat()}..{period.last.isoformat()}", t)
    total = data.totals.attempts
    for r in data.statuses:
        writer.writerow(
            ["status", r["label"], r["calls"], "", "", "", "", *([""] * len(money)), _csv_number(r["share"], 4)]
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
        ax.bar(positions, answered, color="#0d6efd", label="Answered", width=0.8)
        ax.bar(positions, other, bottom=answered, color="#adb5bd", label="Not answered", width=0.8)
        step = 1 if len(labels) <= 24 else 2
        ax.set_xticks(positions[::step], labels[::step], fontsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("Calls", fontsize=8)
        unit = "hour" if data.traffic_unit == "hour" else "day"
        ax.set_title(f"Calls per {unit}, {data.period.label} ({data.timezone})", fontsize=9, loc="left")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if not any(answered) and not any(other):
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, "No calls", transform=ax.transAxes, ha="center", va="center", color="#6c757d")
        else:
            ax.legend(
                frameon=False, fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, borderaxespad=0.2
            )
        fig.subplots_adjust(left=0.08, right=0.99, top=0.9, bottom=0.1)  # fixed: tight_layout costs a draw
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
