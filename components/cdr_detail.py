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

from data.core.i18n import DEFAULT_LANGUAGE, N_, current_language, moment, money, number
from data.core.i18n import gettext as _

DIRECTIONS = {1: N_("inbound"), 2: N_("outbound")}
DIRECTION_NAMES = {name: name for name in DIRECTIONS.values()}  # the grid's rows name them, not number them
FLAG_KINDS = {"blacklist": N_("blacklist"), "whitelist": N_("whitelist"), "threat": N_("threat")}
_SHOWN_ELSEWHERE = {"extradata"}


def local_time(value: datetime | None, tz: str) -> str:
    """ "Mon 7 Dec 2026, 14:03:12 CET" in the user's zone (the locale's date format in other languages)."""
    if value is None:
        return "–"
    local = value.astimezone(ZoneInfo(tz))
    language = current_language()
    if language != DEFAULT_LANGUAGE:
        return f"{moment(local, language)} {local.tzname()}"
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M:%S} {local.tzname()}"


def grid_texts(rows: list[dict]) -> list[dict]:
    """The grid's rows with their words (direction, flag kinds) in the user's language."""
    for row in rows:
        if row.get("direction") in DIRECTION_NAMES:
            row["direction"] = _(DIRECTION_NAMES[row["direction"]])
        if row.get("flag_kinds"):
            kinds = row["flag_kinds"].split(", ")
            row["flag_kinds"] = ", ".join(_(FLAG_KINDS[k]) if k in FLAG_KINDS else k for k in kinds)
        if row.get("flag"):  # the tooltip; "flag" itself stays as stored (the row's colour reads it)
            row["flag_text"] = flag_text(row["flag"])
    return rows


def seconds_text(seconds: int | None) -> str:
    """ "1 min 35 s (95 s)"; "42 s"."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return _("%(seconds)s s", seconds=seconds)
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        text = _("%(hours)s h %(minutes)s min %(seconds)s s", hours=hours, minutes=minutes, seconds=rest)
    else:
        text = _("%(minutes)s min %(seconds)s s", minutes=minutes, seconds=rest)
    return _("%(duration)s (%(seconds)s s)", duration=text, seconds=seconds)


def _money(value, currency: str | None) -> str:
    """An amount with all its digits (rates have more than cents), the locale's way outside English."""
    if value is None:
        return "–"
    amount = Decimal(value).normalize()
    language = current_language()
    if language == DEFAULT_LANGUAGE:
        return f"{amount:f} {currency or ''}".strip()
    digits = max(-amount.as_tuple().exponent, 0)
    return money(amount, currency, language, digits) if currency else number(amount, language, digits)


def _rows(pairs: list[tuple[str, object]]) -> list:
    return [
        html.Tr(
            [
                html.Th(label, className="fw-normal text-body-secondary w-25"),
                html.Td(value, className="text-break"),  # a long cause name or number wraps on a phone
            ]
        )
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
    return dbc.Badge(flag_text(row["flag"]), color=color, className="text-wrap text-start", id="cdr-detail-flag")


def flag_text(flag: str) -> str:
    """``blacklist: <rule>; threat: <kinds>`` with each kind in the user's language (rules are names)."""
    parts = []
    for part in flag.split("; "):
        kind, sep, rest = part.partition(":")
        parts.append((_(FLAG_KINDS[kind]) if kind in FLAG_KINDS else kind) + sep + rest)
    return "; ".join(parts)


def _side_text(side: dict | None, billsec: int, missing: str) -> list:
    """One side of the price (sell or buy) as sentences; ``missing`` says there is none."""
    if side is None:
        return [html.Div(missing)]
    price = side.get("price")
    if price is None:
        return [
            html.Div(
                _(
                    "Rate %(rate)s per minute; cost %(cost)s.",
                    rate=_money(side["rate"], None),
                    cost=_money(side["stored_cost"], None),
                )
            ),
            html.Div(_("The rate is no longer in the plan (changed since the call was rated)."), className="small"),
        ]
    currency = price["currency"]
    destination = f" ({price['destination']})" if price.get("destination") else ""
    plan = _("rate plan %(plan)s", plan=price["rate_plan"])
    if price.get("carrier"):
        plan = _("%(plan)s, carrier %(carrier)s", plan=plan, carrier=price["carrier"])
    fee = Decimal(price["connection_fee"])
    formula = _("%(rate)s × %(billed)s s / 60", rate=_money(price["rate"], None), billed=side["billed_seconds"])
    if fee:
        formula = _("%(fee)s connection fee + %(formula)s", fee=_money(fee, None), formula=formula)
    lines = [
        html.Div(
            [
                html.Strong(_("%(rate)s per minute", rate=_money(price["rate"], currency))),
                " " + _on_what(price["prefix"], destination, plan),
            ]
        ),
        html.Div(
            _(
                "Billed %(billed)s s for %(billsec)s s: first increment %(first)s s, then by %(next)s s.",
                billed=side["billed_seconds"],
                billsec=billsec,
                first=price["increment_first"],
                next=price["increment_next"],
            )
        ),
        html.Div(
            [_("Cost = %(formula)s =", formula=formula) + " ", html.Strong(_money(side["stored_cost"], currency))]
        ),
    ]
    if not side.get("matches", True):
        lines.append(
            html.Div(
                _(
                    "The rates give %(cost)s today: they changed since the call was rated.",
                    cost=_money(side["cost"], currency),
                ),
                className="small text-warning-emphasis",
            )
        )
    return lines


def _on_what(prefix: str | None, destination: str, plan: str) -> str:
    """Which rate priced the call: " on prefix 3465 (Spain mobile), rate plan retail." (one sentence each, so each
    language words it as a whole)."""
    if prefix:
        return _("on prefix %(prefix)s%(destination)s, %(plan)s.", prefix=prefix, destination=destination, plan=plan)
    return _("on internal rate%(destination)s, %(plan)s.", destination=destination, plan=plan)


def rating_section(explanation: dict | None) -> list:
    if explanation is None:
        return []
    billsec = explanation["billsec"] or 0
    pairs = [
        (_("Status"), explanation["status_text"]),
        (_("VoIP plan"), explanation["voip_plan"]),
        (_("Sell price"), _side_text(explanation["sell"], billsec, _("No sell price."))),
    ]
    if "buy" in explanation:  # admins only
        pairs.append((_("Buy price"), _side_text(explanation["buy"], billsec, _("No buy price."))))
    return [html.Div(_section(_("Rating"), pairs), id="cdr-detail-rating")]


def _number(row: dict, key: str, name_key: str | None = None) -> str | None:
    value = row.get(key)
    name = row.get(name_key) if name_key else None
    return f"{value} ({name})" if value and name else value


def _direction(value) -> str | None:
    """The direction's word, whether the row has its code (1, 2) or its name (inbound, outbound)."""
    word = DIRECTIONS.get(value) or DIRECTION_NAMES.get(value)
    return _(word) if word else value


def detail_title(row: dict, tz: str) -> str:
    return _(
        "Call to %(number)s · %(time)s",
        number=row.get("destination_number") or "?",
        time=local_time(row.get("starting_date"), tz),
    )


def detail_body(row: dict, tz: str, explanation: dict | None) -> list:
    """The call detail: sections for the call, its parties, where it came from, its flags and its price."""
    country = f"{row['country']} ({row['country_code'].strip()})" if row.get("country") else row.get("country_code")
    cause = row.get("hangup_cause")
    if row.get("hangup_cause_id") is not None:
        cause = f"{row['hangup_cause_id']} · {cause}"
    body = [
        *_section(
            _("Call"),
            [
                (_("Started"), local_time(row.get("starting_date"), tz)),
                (
                    _("Answered"),
                    local_time(row["answered_date"], tz) if row.get("answered_date") else _("not answered"),
                ),
                (_("Duration"), seconds_text(row.get("duration"))),
                (_("Billed time"), seconds_text(row.get("billsec"))),
                (_("Post-dial delay"), seconds_text(row.get("progresssec")) if row.get("progresssec") else None),
                (_("Direction"), _direction(row.get("direction"))),
                (_("Hangup cause"), cause),
                (_("Flags"), _flag(row)),
            ],
        ),
        *_section(
            _("Parties"),
            [
                (_("Caller"), _number(row, "caller_id_number", "caller_id_name")),
                (_("Destination (dialled)"), row.get("destination_number")),
                (_("International number"), f"+{row['normalised_number']}" if row.get("normalised_number") else None),
                (_("Country"), country),
                (_("Accountcode"), row.get("accountcode")),
                (_("Customer"), row.get("customer")),
            ],
        ),
        *_section(
            _("Source"),
            [
                (_("Switch"), row.get("switch")),
                (_("Record type"), row.get("source_type")),
                (_("Call-ID"), html.Code(row["callid"]) if row.get("callid") else None),
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
                html.Summary(_("All stored fields")),
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
        return [dbc.DropdownMenuItem(_("None yet: name the current search and save it"), disabled=True)]
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
