"""CSV and XLSX downloads of the rating pages: ``/download/rates.csv|xlsx``, ``/download/billing.csv|xlsx``,
``/download/billing-losses.csv|xlsx`` (admins), ``/download/billing-unrated.csv|xlsx``.

The login guard answers 401 without a session; every query takes the scope of the logged-in user,
so a customer only ever gets their own plan's rates and their own calls. Rows are streamed as they
are read. Text cells starting with = + - @ get a leading apostrophe (``data.core.spreadsheet``); money
is written exactly, as decimal text. In XLSX (``data.core.spreadsheet``) numbers are number cells, phone
numbers and accountcodes text cells.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal

from flask import Blueprint, Response, abort, request, stream_with_context

from data.admin import acl
from data.core.scope import current_scope
from data.core.spreadsheet import XLSX_MIMETYPE, safe_cell, xlsx_chunks
from data.rating import billing, rates
from routes.access import allow

bp = Blueprint("rating_downloads", __name__)

RATE_FIELDS = [
    "prefix",
    "destination",
    "country_code",
    "country",
    "retail_rate",
    "connection_fee",
    "increment_first",
    "increment_next",
    "effective_from",
    "effective_to",
    "currency",
]
CALL_FIELDS = [
    "id",
    "starting_date",
    "customer",
    "accountcode",
    "destination_number",
    "normalised_number",
    "country",
    "billsec",
]
LOSS_FIELDS = CALL_FIELDS + ["carrier", "buy_rate", "buy_cost", "sell_rate", "sell_cost", "margin"]
UNRATED_FIELDS = CALL_FIELDS + ["rating_status", "reason"]


def _cell(value):
    if isinstance(value, Decimal):
        return format(value, "f")  # a number, even when negative: no apostrophe
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return safe_cell(value)


def _csv(fields: list[str], rows: Iterable[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(row.get(f)) for f in fields])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _download(name: str, fields: list[str], rows: Iterable[dict], fmt: str = "csv") -> Response:
    """``rows`` as ``name``.csv or ``name``.xlsx (``fmt``), streamed."""
    if fmt == "xlsx":
        body = xlsx_chunks(fields, ([row.get(f) for f in fields] for row in rows), name[:31])
        mimetype = XLSX_MIMETYPE
    elif fmt == "csv":
        body, mimetype = stream_with_context(_csv(fields, rows)), "text/csv"
    else:
        abort(404)
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return None
    if not value.isdigit():
        abort(400, f"{name} must be a number")
    return int(value)


def _period(scope) -> billing.Period:
    try:
        return billing.period_from_args(request.args.get("first"), request.args.get("last"), billing.today_in(scope))
    except ValueError as exc:
        abort(400, str(exc))


@bp.get("/download/rates.<fmt>")
@allow(acl.page("/rates"))
def rates_csv(fmt: str):
    scope = current_scope()
    found = rates.customer_rates(
        scope, voip_plan_id=_int_arg("plan"), search=request.args.get("search", ""), limit=None
    )
    return _download("rates", RATE_FIELDS, found, fmt)


@bp.get("/download/billing.<fmt>")
@allow(acl.page("/billing"))
def billing_csv(fmt: str):
    scope = current_scope()
    group = request.args.get("group", "day")
    allowed = billing.GROUPINGS if scope.is_admin else billing.CUSTOMER_GROUPINGS
    if group not in allowed:
        abort(400, f"group must be one of {', '.join(allowed)}")
    customer = _int_arg("customer") if scope.is_admin else None
    summary = billing.billing_summary(scope, _period(scope), customer=customer)
    fields = [group, "calls", "answered", "billsec", "cost", "unrated_calls"]  # a customer's cost: what they pay
    # only these columns: never the grouping flags (by_customer, ...) of the query
    if scope.is_admin:
        fields[5:5] = ["revenue", "margin", "margin_percent", "loss_calls"]
    return _download(f"billing-by-{group}", fields, [*summary[group], {group: "total", **summary["total"]}], fmt)


@bp.get("/download/billing-losses.<fmt>")
@allow(acl.ADMIN)  # the billing page shows losses to admins only
def losses_csv(fmt: str):
    scope = current_scope()
    rows = billing.iter_calls("losses", scope, _period(scope), customer=_int_arg("customer"))
    return _download("loss-making-calls", LOSS_FIELDS, rows, fmt)


@bp.get("/download/billing-unrated.<fmt>")
@allow(acl.page("/billing"))
def unrated_csv(fmt: str):
    scope = current_scope()
    customer = _int_arg("customer") if scope.is_admin else None
    rows = billing.iter_calls("unrated", scope, _period(scope), customer=customer)
    return _download("unrated-calls", UNRATED_FIELDS, rows, fmt)
