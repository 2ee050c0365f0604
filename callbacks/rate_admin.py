"""Callbacks of the rate management page (admins only: every data function refuses other scopes)."""

import base64
import binascii
from datetime import date
from decimal import Decimal, InvalidOperation

import dash_bootstrap_components as dbc
import psycopg2
import sqlalchemy.exc
from dash import Input, Output, State, html

from components.rating import grid_rows
from data.admin import acl
from data.core.scope import current_scope
from data.rating import rater, rates
from data.rating.rates import RateDeckError
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/admin/rates"))

# What an admin can get wrong: shown on the page, never a stack trace.
USER_ERRORS = (ValueError, PermissionError, sqlalchemy.exc.IntegrityError, psycopg2.IntegrityError)


def _feedback(message: str, ok: bool = True) -> dbc.Alert:
    return dbc.Alert(message, color="success" if ok else "warning", dismissable=True, duration=8000 if ok else None)


def _options(rows: list[dict], label: str = "name") -> list[dict]:
    return [{"label": r[label], "value": r["id"]} for r in rows]


def _error_text(exc: Exception) -> str:
    if isinstance(exc, (sqlalchemy.exc.IntegrityError, psycopg2.IntegrityError)):
        return "That name is already taken (or the plan is still in use)."
    return str(exc)


@callback(
    Output("rate-admin-providers", "rowData"),
    Output("rate-admin-plans", "rowData"),
    Output("rate-admin-bans", "rowData"),
    Output("rate-admin-voip-plans", "rowData"),
    Output("rate-admin-rerate-requests", "rowData"),
    Output("rate-admin-plan-provider", "options"),
    Output("rate-admin-deck-plan", "options"),
    Output("rate-admin-derive-carrier", "options"),
    Output("rate-admin-derive-retail", "options"),
    Output("rate-admin-view-plan", "options"),
    Output("rate-admin-voip-rate-plans", "options"),
    Output("rate-admin-voip-ban-plans", "options"),
    Output("rate-admin-assign-customer", "options"),
    Output("rate-admin-assign-plan", "options"),
    Output("rate-admin-rerate-customer", "options"),
    Input("rate-admin-refresh", "data"),
)
def load_lists(_refresh):
    scope = current_scope()
    providers, plans = rates.providers(scope), rates.rate_plans(scope)
    bans, voip_plans, customers = rates.ban_plans(scope), rates.voip_plans(scope), rates.customers(scope)
    plan_options = [{"label": f"{p['name']} ({p['kind']}, {p['currency']})", "value": p["id"]} for p in plans]
    customer_options = [
        {"label": f"{c['username']} ({c['voip_plan'] or 'no plan'})", "value": c["id"]} for c in customers
    ]
    return (
        grid_rows(providers),
        grid_rows(plans),
        grid_rows(bans),
        grid_rows(voip_plans),
        grid_rows(rater.rerate_requests()),
        _options(providers),
        plan_options,
        [o for o, p in zip(plan_options, plans, strict=True) if p["kind"] == "carrier"],
        [o for o, p in zip(plan_options, plans, strict=True) if p["kind"] == "retail"],
        plan_options,
        plan_options,
        _options(bans),
        customer_options,
        _options(voip_plans),
        customer_options,
    )


def _refreshed(refresh: int | None) -> int:
    return (refresh or 0) + 1


@callback(
    Output("rate-admin-feedback", "children", allow_duplicate=True),
    Output("rate-admin-refresh", "data", allow_duplicate=True),
    Input("rate-admin-provider-add", "n_clicks"),
    State("rate-admin-provider-name", "value"),
    State("rate-admin-provider-priority", "value"),
    State("rate-admin-refresh", "data"),
    prevent_initial_call=True,
)
def add_provider(_, name, priority, refresh):
    try:
        rates.create_provider(current_scope(), name or "", priority=int(priority if priority is not None else 100))
    except USER_ERRORS as exc:
        return _feedback(_error_text(exc), ok=False), refresh
    return _feedback(f"Provider {name} added."), _refreshed(refresh)


@callback(
    Output("rate-admin-feedback", "children", allow_duplicate=True),
    Output("rate-admin-refresh", "data", allow_duplicate=True),
    Input("rate-admin-plan-add", "n_clicks"),
    State("rate-admin-plan-name", "value"),
    State("rate-admin-plan-kind", "value"),
    State("rate-admin-plan-provider", "value"),
    State("rate-admin-plan-currency", "value"),
    State("rate-admin-refresh", "data"),
    prevent_initial_call=True,
)
def add_plan(_, name, kind, provider, currency, refresh):
    try:
        rates.create_rate_plan(
            current_scope(),
            name or "",
            kind,
            provider_id=provider if kind == "carrier" else None,
            currency=(currency or "").strip().upper(),
        )
    except USER_ERRORS as exc:
        return _feedback(_error_text(exc), ok=False), refresh
    return _feedback(f"Rate plan {name} created."), _refreshed(refresh)


@callback(Output("rate-admin-deck-filename", "children"), Input("rate-admin-deck-file", "filename"))
def show_deck_name(filename):
    return filename or ""


def _deck_text(contents: str) -> str:
    """The text of an uploaded file (Dash gives "data:<type>;base64,<data>")."""
    try:
        raw = base64.b64decode(contents.partition(",")[2], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the file could not be read") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def deck_errors(error: RateDeckError) -> html.Div:
    return html.Div(
        [
            dbc.Alert(f"Nothing imported: {len(error.errors)} bad line(s).", color="danger", className="mb-2"),
            html.Ul([html.Li(f"line {line}: {reason}") for line, reason in error.errors[:200]], className="small"),
        ],
        id="rate-admin-deck-errors",
    )


@callback(
    Output("rate-admin-deck-result", "children"),
    Output("rate-admin-refresh", "data", allow_duplicate=True),
    Input("rate-admin-deck-import", "n_clicks"),
    State("rate-admin-deck-file", "contents"),
    State("rate-admin-deck-plan", "value"),
    State("rate-admin-deck-replace", "value"),
    State("rate-admin-refresh", "data"),
    prevent_initial_call=True,
)
def import_deck(_, contents, plan, replace_all, refresh):
    if not plan or not contents:
        return _feedback("Choose a plan and a file.", ok=False), refresh
    try:
        count = rates.import_rate_deck(current_scope(), plan, _deck_text(contents), replace_all=bool(replace_all))
    except RateDeckError as exc:
        return deck_errors(exc), refresh
    except USER_ERRORS as exc:
        return _feedback(_error_text(exc), ok=False), refresh
    return _feedback(f"{count:,} rate(s) imported. Calls already stored keep their prices until re-rated."), _refreshed(
        refresh
    )


@callback(
    Output("rate-admin-derive-result", "children"),
    Output("rate-admin-refresh", "data", allow_duplicate=True),
    Input("rate-admin-derive", "n_clicks"),
    State("rate-admin-derive-carrier", "value"),
    State("rate-admin-derive-retail", "value"),
    State("rate-admin-derive-percent", "value"),
    State("rate-admin-refresh", "data"),
    prevent_initial_call=True,
)
def derive(_, carrier, retail, percent, refresh):
    if not carrier or not retail or percent is None:
        return _feedback("Choose a carrier plan, a retail plan and a percentage.", ok=False), refresh
    try:
        count = rates.derive_retail_rates(current_scope(), carrier, retail, Decimal(str(percent)))
    except (InvalidOperation, *USER_ERRORS) as exc:
        return _feedback(_error_text(exc), ok=False), refresh
    return _feedback(f"{count:,} retail rate(s) derived at +{percent} %."), _refreshed(refresh)


@callback(
    Output("rate-admin-rates", "rowData"),
    Input("rate-admin-view-plan", "value"),
    Input("rate-admin-view-search", "value"),
    Input("rate-admin-refresh", "data"),
)
def view_rates(plan, search, _refresh):
    return grid_rows(rates.plan_rates(current_scope(), plan, search=search or "")) if plan else []


@callback(
    Output("rate-admin-feedback", "children", allow_duplicate=True),
    Output("rate-admin-refresh", "data", allow_duplicate=True),
    Input("rate-admin-ban-add", "n_clicks"),
    State("rate-admin-ban-name", "value"),
    State("rate-admin-ban-prefixes", "value"),
    State("rate-admin-refresh", "data"),
    prevent_initial_call=True,
)
def add_ban_plan(_, name, prefixes, refresh):
    listed = [p.strip() for p in (prefixes or "").replace(";", ",").split(",") if p.strip()]
    try:
        if not (name or "").strip():
            raise ValueError("a ban plan needs a name")
        rates.create_ban_plan(current_scope(), name, listed)
    except USER_ERRORS as exc:
        return _feedback(_error_text(exc), ok=False), refresh
    return _feedback(f"Ban plan {name} created with {len(listed)} prefix(es)."), _refreshed(refresh)


@callback(
    Output("rate-admin-feedback", "children", allow_duplicate=True),
    Output("rate-admin-refresh", "data", allow_duplicate=True),
    Input("rate-admin-voip-add", "n_clicks"),
    State("rate-admin-voip-name", "value"),
    State("rate-admin-voip-rate-plans", "value"),
    State("rate-admin-voip-ban-plans", "value"),
    State("rate-admin-refresh", "data"),
    prevent_initial_call=True,
)
def add_voip_plan(_, name, rate_plans, ban_plans, refresh):
    try:
        if not (name or "").strip():
            raise ValueError("a VoIP plan needs a name")
        rates.create_voip_plan(current_scope(), name, rate_plans or [], ban_plans or [])
    except USER_ERRORS as exc:
        return _feedback(_error_text(exc), ok=False), refresh
    return _feedback(f"VoIP plan {name} created."), _refreshed(refresh)


@callback(
    Output("rate-admin-feedback", "children", allow_duplicate=True),
    Output("rate-admin-refresh", "data", allow_duplicate=True),
    Input("rate-admin-assign", "n_clicks"),
    State("rate-admin-assign-customer", "value"),
    State("rate-admin-assign-plan", "value"),
    State("rate-admin-refresh", "data"),
    prevent_initial_call=True,
)
def assign_plan(_, customer, plan, refresh):
    if not customer:
        return _feedback("Choose a customer.", ok=False), refresh
    try:
        queued = rates.assign_voip_plan(current_scope(), customer, plan)
    except USER_ERRORS as exc:
        return _feedback(_error_text(exc), ok=False), refresh
    if queued:
        return _feedback(
            f"Plan assigned. Re-rating #{queued['request_id']} of the customer's {queued['calls']:,} stored calls is "
            "queued (see the requests below); until it runs they keep their old prices."
        ), _refreshed(refresh)
    return _feedback("Plan assigned. The customer has no stored calls to re-rate."), _refreshed(refresh)


@callback(
    Output("rate-admin-feedback", "children", allow_duplicate=True),
    Output("rate-admin-refresh", "data", allow_duplicate=True),
    Input("rate-admin-rerate", "n_clicks"),
    State("rate-admin-rerate-period", "start_date"),
    State("rate-admin-rerate-period", "end_date"),
    State("rate-admin-rerate-customer", "value"),
    State("rate-admin-refresh", "data"),
    prevent_initial_call=True,
)
def queue_rerate(_, first, last, customer, refresh):
    if not first or not last:
        return _feedback("Choose the period to re-rate.", ok=False), refresh
    from flask_login import current_user

    try:
        request_id = rater.queue_rerate(
            date.fromisoformat(first), date.fromisoformat(last), customer, requested_by=current_user.username
        )
    except ValueError as exc:
        return _feedback(str(exc), ok=False), refresh
    return _feedback(f"Re-rating request {request_id} queued: it runs within a minute."), _refreshed(refresh)
