"""Callbacks of the rate management page (admins only: every data function refuses other scopes)."""

import base64
import binascii
from datetime import date
from decimal import Decimal, InvalidOperation

import dash_bootstrap_components as dbc
import psycopg2
import sqlalchemy.exc
from dash import Input, Output, html

from callbacks.forms import Refused, form_action
from components.rating import grid_rows
from data.admin import acl
from data.core.i18n import gettext as _
from data.core.scope import current_actor, current_scope
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
        return _("That name is already taken (or the plan is still in use).")
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


def _form_action(button: str, fields: tuple, feedback: str = "rate-admin-feedback"):
    """A button of the page's forms (callbacks/forms.py): the lists reload after it succeeded."""
    return form_action(callback, button, fields, feedback, "rate-admin-refresh", USER_ERRORS, _error_text, _feedback)


@_form_action("rate-admin-provider-add", ("rate-admin-provider-name", "rate-admin-provider-priority"))
def add_provider(name, priority):
    rates.create_provider(current_scope(), name or "", priority=int(priority if priority is not None else 100))
    return f"Provider {name} added."


PLAN_FIELDS = ("name", "kind", "provider", "currency")


@_form_action("rate-admin-plan-add", tuple(f"rate-admin-plan-{f}" for f in PLAN_FIELDS))
def add_plan(name, kind, provider, currency):
    rates.create_rate_plan(
        current_scope(),
        name or "",
        kind,
        provider_id=provider if kind == "carrier" else None,
        currency=(currency or "").strip().upper(),
    )
    return f"Rate plan {name} created."


@callback(Output("rate-admin-deck-filename", "children"), Input("rate-admin-deck-file", "filename"))
def show_deck_name(filename):
    return filename or ""


def _deck_text(contents: str) -> str:
    """The text of an uploaded file (Dash gives "data:<type>;base64,<data>")."""
    try:
        raw = base64.b64decode(contents.partition(",")[2], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(_("the file could not be read")) from None
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


DECK_FIELDS = (("rate-admin-deck-file", "contents"), "rate-admin-deck-plan", "rate-admin-deck-replace")


@_form_action("rate-admin-deck-import", DECK_FIELDS, feedback="rate-admin-deck-result")
def import_deck(contents, plan, replace_all):
    if not plan or not contents:
        raise Refused(_("Choose a plan and a file."))
    try:
        count = rates.import_rate_deck(current_scope(), plan, _deck_text(contents), replace_all=bool(replace_all))
    except RateDeckError as exc:
        raise Refused(deck_errors(exc)) from None
    return f"{count:,} rate(s) imported. Calls already stored keep their prices until re-rated."


DERIVE_FIELDS = ("rate-admin-derive-carrier", "rate-admin-derive-retail", "rate-admin-derive-percent")


@_form_action("rate-admin-derive", DERIVE_FIELDS, feedback="rate-admin-derive-result")
def derive(carrier, retail, percent):
    if not carrier or not retail or percent is None:
        raise Refused(_("Choose a carrier plan, a retail plan and a percentage."))
    try:
        count = rates.derive_retail_rates(current_scope(), carrier, retail, Decimal(str(percent)))
    except InvalidOperation as exc:
        raise Refused(str(exc)) from None
    return f"{count:,} retail rate(s) derived at +{percent} %."


@callback(
    Output("rate-admin-rates", "rowData"),
    Input("rate-admin-view-plan", "value"),
    Input("rate-admin-view-search", "value"),
    Input("rate-admin-refresh", "data"),
)
def view_rates(plan, search, _refresh):
    return grid_rows(rates.plan_rates(current_scope(), plan, search=search or "")) if plan else []


@_form_action("rate-admin-ban-add", ("rate-admin-ban-name", "rate-admin-ban-prefixes"))
def add_ban_plan(name, prefixes):
    listed = [p.strip() for p in (prefixes or "").replace(";", ",").split(",") if p.strip()]
    if not (name or "").strip():
        raise ValueError(_("a ban plan needs a name"))
    rates.create_ban_plan(current_scope(), name, listed)
    return f"Ban plan {name} created with {len(listed)} prefix(es)."


VOIP_FIELDS = ("rate-admin-voip-name", "rate-admin-voip-rate-plans", "rate-admin-voip-ban-plans")


@_form_action("rate-admin-voip-add", VOIP_FIELDS)
def add_voip_plan(name, rate_plans, ban_plans):
    if not (name or "").strip():
        raise ValueError(_("a VoIP plan needs a name"))
    rates.create_voip_plan(current_scope(), name, rate_plans or [], ban_plans or [])
    return f"VoIP plan {name} created."


@_form_action("rate-admin-assign", ("rate-admin-assign-customer", "rate-admin-assign-plan"))
def assign_plan(customer, plan):
    if not customer:
        raise Refused(_("Choose a customer."))
    queued = rates.assign_voip_plan(current_scope(), customer, plan)
    if queued:
        return (
            f"Plan assigned. Re-rating #{queued['request_id']} of the customer's {queued['calls']:,} stored calls is "
            "queued (see the requests below); until it runs they keep their old prices."
        )
    return _("Plan assigned. The customer has no stored calls to re-rate.")


RERATE_FIELDS = (
    ("rate-admin-rerate-period", "start_date"),
    ("rate-admin-rerate-period", "end_date"),
    "rate-admin-rerate-customer",
)


@_form_action("rate-admin-rerate", RERATE_FIELDS)
def queue_rerate(first, last, customer):
    if not first or not last:
        raise Refused(_("Choose the period to re-rate."))
    first_day, last_day = date.fromisoformat(first), date.fromisoformat(last)
    request_id = rater.queue_rerate(first_day, last_day, customer, requested_by=current_actor().username)
    return f"Re-rating request {request_id} queued: it runs within a minute."
