"""The call detail of the CDR search: one call read by a person, not a database row.

Names instead of ids (switch, source type, customer, hangup cause), words instead of codes (direction, rating
status), times in the user's zone, durations in minutes and seconds, the flags, and how the price was made
(``data.rating.explain``). Every stored field stays reachable under "All stored fields".
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import html

from data.core.i18n import gettext as _

DIRECTIONS = {1: "inbound", 2: "outbound"}
_SHOWN_ELSEWHERE = {"extradata"}


def local_time(value: datetime | None, tz: str) -> str:
    """ "Mon 7 Dec 2026, 14:03:12 CET" in the user's zone."""
    if value is None:
        return "–"
    local = value.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M:%S} {local.tzname()}"


def seconds_text(seconds: int | None) -> str:
    """ "1 min 35 s (95 s)"; "42 s"."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours} h {minutes} min {rest} s" if hours else f"{minutes} min {rest} s"
    return f"{text} ({seconds} s)"


def _money(value, currency: str | None) -> str:
    if value is None:
        return "–"
    return f"{Decimal(value).normalize():f} {currency or ''}".strip()


def _rows(pairs: list[tuple[str, object]]) -> list:
    return [
        html.Tr([html.Th(label, className="fw-normal text-body-secondary w-25"), html.Td(value)])
        for label, value in pairs
        if value not in (None, "")
    ]


def _section(title: str, pairs: list[tuple[str, object]]) -> list:
    rows = _rows(pairs)
    if not rows:
        return []
    return [html.H6(title, className="mt-2"), dbc.Table(html.Tbody(rows), size="sm", className="mb-2")]


def _flag(row: dict):
    if not row.get("flag"):
        return None
    color = "danger" if "blacklist" in row["flag"] or "threat" in row["flag"] else "success"
    return dbc.Badge(row["flag"], color=color, className="text-wrap text-start", id="cdr-detail-flag")


def _side_text(side: dict | None, billsec: int, who: str) -> list:
    """One side of the price (sell or buy) as sentences."""
    if side is None:
        return [html.Div(f"No {who} price.")]
    price = side.get("price")
    if price is None:
        return [
            html.Div(f"Rate {side['rate']} per minute; cost {_money(side['stored_cost'], None)}."),
            html.Div("The rate is no longer in the plan (changed since the call was rated).", className="small"),
        ]
    currency = price["currency"]
    where = f"prefix {price['prefix']}" if price["prefix"] else "internal rate"
    destination = f" ({price['destination']})" if price.get("destination") else ""
    plan = f"rate plan {price['rate_plan']}" + (f", carrier {price['carrier']}" if price.get("carrier") else "")
    fee = Decimal(price["connection_fee"])
    formula = f"{_money(price['rate'], None)} × {side['billed_seconds']} s / 60"
    if fee:
        formula = f"{_money(fee, None)} connection fee + " + formula
    lines = [
        html.Div([html.Strong(f"{_money(price['rate'], currency)} per minute"), f" on {where}{destination}, {plan}."]),
        html.Div(
            f"Billed {side['billed_seconds']} s for {billsec} s: first increment {price['increment_first']} s, "
            f"then by {price['increment_next']} s."
        ),
        html.Div([f"Cost = {formula} = ", html.Strong(_money(side["stored_cost"], currency))]),
    ]
    if not side.get("matches", True):
        lines.append(
            html.Div(
                f"The rates give {_money(side['cost'], currency)} today: they changed since the call was rated.",
                className="small text-warning-emphasis",
            )
        )
    return lines


def rating_section(explanation: dict | None) -> list:
    if explanation is None:
        return []
    pairs = [
        ("Status", explanation["status_text"]),
        ("VoIP plan", explanation["voip_plan"]),
        ("Sell price", _side_text(explanation["sell"], explanation["billsec"] or 0, "sell")),
    ]
    if "buy" in explanation:  # admins only
        pairs.append(("Buy price", _side_text(explanation["buy"], explanation["billsec"] or 0, "buy")))
    return [html.Div(_section("Rating", pairs), id="cdr-detail-rating")]


def _number(row: dict, key: str, name_key: str | None = None) -> str | None:
    value = row.get(key)
    name = row.get(name_key) if name_key else None
    return f"{value} ({name})" if value and name else value


def detail_title(row: dict, tz: str) -> str:
    return f"Call to {row.get('destination_number') or '?'} · {local_time(row.get('starting_date'), tz)}"


def detail_body(row: dict, tz: str, explanation: dict | None) -> list:
    """The call detail: sections for the call, its parties, where it came from, its flags and its price."""
    country = f"{row['country']} ({row['country_code'].strip()})" if row.get("country") else row.get("country_code")
    cause = row.get("hangup_cause")
    if row.get("hangup_cause_id") is not None:
        cause = f"{row['hangup_cause_id']} · {cause}"
    body = [
        *_section(
            "Call",
            [
                ("Started", local_time(row.get("starting_date"), tz)),
                ("Answered", local_time(row["answered_date"], tz) if row.get("answered_date") else "not answered"),
                ("Duration", seconds_text(row.get("duration"))),
                ("Billed time", seconds_text(row.get("billsec"))),
                ("Post-dial delay", seconds_text(row.get("progresssec")) if row.get("progresssec") else None),
                ("Direction", DIRECTIONS.get(row.get("direction"), row.get("direction"))),
                ("Hangup cause", cause),
                ("Flags", _flag(row)),
            ],
        ),
        *_section(
            "Parties",
            [
                ("Caller", _number(row, "caller_id_number", "caller_id_name")),
                ("Destination (dialled)", row.get("destination_number")),
                ("International number", f"+{row['normalised_number']}" if row.get("normalised_number") else None),
                ("Country", country),
                ("Accountcode", row.get("accountcode")),
                ("Customer", row.get("customer")),
            ],
        ),
        *_section(
            "Source",
            [
                ("Switch", row.get("switch")),
                ("Record type", row.get("source_type")),
                ("Call-ID", html.Code(row["callid"]) if row.get("callid") else None),
            ],
        ),
        *rating_section(explanation),
    ]
    stored = [
        html.Tr([html.Th(key, className="fw-normal text-body-secondary"), html.Td(_stored(value))])
        for key, value in row.items()
        if key not in _SHOWN_ELSEWHERE
    ]
    body.append(
        html.Details(
            [
                html.Summary("All stored fields"),
                dbc.Table(html.Tbody(stored), size="sm", striped=True, className="mt-2"),
                html.H6("extradata"),
                html.Pre(
                    json.dumps(row.get("extradata") or {}, indent=2, sort_keys=True, ensure_ascii=False, default=str),
                    id="cdr-search-detail-extradata",
                    className="bg-body-tertiary p-2 rounded small",
                ),
            ],
            className="mt-2",
        )
    )
    return body


def _stored(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def saved_search_items(saved: list[dict]) -> list:
    """The user's saved searches as menu items: each opens the search page with its query string, and its ×
    deletes it (after asking: callbacks/cdr_search.py)."""
    if not saved:
        return [dbc.DropdownMenuItem("None yet: name the current search and save it", disabled=True)]
    return [
        html.Div(
            [
                dbc.DropdownMenuItem(
                    s["name"], href="/cdrs" + (f"?{s['query']}" if s["query"] else ""), external_link=True
                ),
                html.Button(
                    id={"type": "cdr-search-saved-delete", "id": s["id"]},
                    className="btn-close me-2",
                    title=_("Delete “%(name)s”", name=s["name"]),
                    **{"aria-label": _("Delete “%(name)s”", name=s["name"])},
                ),
            ],
            className="d-flex align-items-center",
        )
        for s in saved
    ]
