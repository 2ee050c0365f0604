"""Callbacks of the live sources page (admins)."""

from dash import Input, Output, no_update

from callbacks.forms import values_of
from components.admin import error, message
from data.admin import acl
from data.core.i18n import gettext as _
from data.core.scope import current_actor
from data.live.poller import poll_switch
from data.live.store import live_sources, set_live_source, source_table
from pages.admin_live import sources_table
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/admin/live-sources"))


@callback(
    [Output("admin-live-kind", "value"), Output("admin-live-address", "value"), Output("admin-live-username", "value")],
    Input("admin-live-switch", "value"),
    prevent_initial_call=True,
)
def fill_live_form(selected):
    found = [s for s in source_table() if str(s["id"]) == selected]
    if not found:
        return "off", "", ""
    return found[0]["kind"] or "off", found[0]["address"], found[0]["username"]


@callback(
    [Output("admin-live-message", "children"), Output("admin-live-sources", "children")],
    Input("admin-live-save", "n_clicks"),
    *values_of(
        "admin-live-switch", "admin-live-kind", "admin-live-address", "admin-live-username", "admin-live-secret"
    ),
    prevent_initial_call=True,
)
def save_live_source(_clicks, selected, kind, address, username, secret):
    if not selected:
        return message(_("Choose a switch."), "warning"), no_update
    switch_id = int(selected)
    try:
        if not secret:  # an empty field keeps the stored secret (it is never sent to the browser)
            secret = next((s["secret"] for s in live_sources() if s["id"] == switch_id), "")
        chosen = None if kind == "off" else kind
        set_live_source(switch_id, chosen, address or "", username or "", secret, actor=current_actor())
    except ValueError as exc:
        return error(exc), no_update
    if chosen is None:
        return message(_("Saved: not polled."), "success", "admin-live-saved"), sources_table()
    (source,) = [s for s in live_sources() if s["id"] == switch_id]
    result = poll_switch(source)
    if "unreachable" in result:
        return message(f"Saved, but the switch did not answer: {result['unreachable']}", "warning"), sources_table()
    text = f"Saved; the switch answers: {result['calls']} calls in progress."
    return message(text, "success", "admin-live-saved"), sources_table()
