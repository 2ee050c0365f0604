"""Callbacks of the switches page (admins only: each checks, whatever the page guard does)."""

from dash import Input, Output, ctx, html, no_update

from callbacks.forms import values_of
from components.admin import error, message
from data.admin import accounts, acl
from data.core.i18n import gettext as _
from data.core.scope import current_actor
from pages.admin_switches import switch_options, switches_table
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/admin/switches"))


@callback(
    Output("admin-switch-name", "value"),
    Output("admin-switch-ip", "value"),
    Output("admin-switch-source-type", "value"),
    Output("admin-switch-timezone", "value"),
    Input("admin-switch-select", "value"),
    prevent_initial_call=True,
)
def fill_switch_form(selected):
    found = [s for s in accounts.list_switches() if str(s["id"]) == selected]
    if not found:
        return "", "", "0", _("UTC")
    s = found[0]
    return s["name"], s["ip"], str(s["source_type"]), s["timezone"]


@callback(
    Output("admin-switch-message", "children"),
    Output("admin-switch-select", "options"),
    Output("admin-switch-select", "value"),
    Output("admin-switches", "children"),
    Input("admin-switch-save", "n_clicks"),
    Input("admin-switch-rotate", "n_clicks"),
    *values_of(
        "admin-switch-select",
        "admin-switch-name",
        "admin-switch-ip",
        "admin-switch-source-type",
        "admin-switch-timezone",
    ),
    prevent_initial_call=True,
)
def save_switch(_save, _rotate, selected, name, ip, source_type, timezone):
    actor = current_actor()
    try:
        if ctx.triggered_id == "admin-switch-rotate":
            if not selected or selected == "new":
                return message(_("Save the switch first."), "warning"), no_update, no_update, no_update
            key = accounts.rotate_switch_key(actor, int(selected))
            shown = message(
                [
                    "New push API key (shown once: copy it now; the previous key no longer works): ",
                    html.Code(key, id="admin-switch-key", className="user-select-all"),
                ],
                "warning",
            )
            return shown, no_update, no_update, switches_table()
        if not selected or selected == "new":
            switch_id = accounts.create_switch(actor, name or "", ip or "", int(source_type or 0), timezone or _("UTC"))
            text = f"Created switch {name!r}."
        else:
            switch_id = int(selected)
            accounts.update_switch(actor, switch_id, name or "", ip or "", int(source_type or 0), timezone or _("UTC"))
            text = f"Saved switch {name!r}."
    except ValueError as exc:
        return error(exc), no_update, no_update, no_update
    return message(text, "success", "admin-switch-saved"), switch_options(), str(switch_id), switches_table()
