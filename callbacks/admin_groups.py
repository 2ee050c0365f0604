"""Callbacks of the groups page (admins only: each checks, whatever the page guard does)."""

from dash import Input, Output, ctx, no_update

from callbacks.forms import values_of
from components.admin import error, message
from data.admin import acl
from data.core.i18n import gettext as _
from data.core.scope import current_actor
from pages.admin_groups import group_options, groups_table
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/admin/groups"))


@callback(
    Output("admin-group-name", "value"),
    Output("admin-group-description", "value"),
    Output("admin-group-permissions", "value"),
    Input("admin-group-select", "value"),
    prevent_initial_call=True,
)
def fill_group_form(selected):
    group = acl.get_group(int(selected)) if selected and selected != "new" else None
    if group is None:
        return "", "", []
    return group["name"], group["description"], list(group["permissions"])


@callback(
    Output("admin-group-message", "children"),
    Output("admin-group-select", "options"),
    Output("admin-group-select", "value"),
    Output("admin-groups", "children"),
    Input("admin-group-save", "n_clicks"),
    Input("admin-group-delete", "n_clicks"),
    *values_of("admin-group-select", "admin-group-name", "admin-group-description", "admin-group-permissions"),
    prevent_initial_call=True,
)
def save_group(_save, _delete, selected, name, description, permissions):
    actor = current_actor()
    try:
        if ctx.triggered_id == "admin-group-delete":
            if not selected or selected == "new":
                return message(_("Choose a group to delete."), "warning"), no_update, no_update, no_update
            acl.delete_group(actor, int(selected))
            return message(_("Group deleted."), "success"), group_options(), "new", groups_table()
        if not selected or selected == "new":
            group_id = acl.create_group(actor, name or "", permissions or [], description or "")
            text = f"Created group {name!r}."
        else:
            group_id = int(selected)
            acl.update_group(
                actor, group_id, name=name or "", permissions=permissions or [], description=description or ""
            )
            text = f"Saved group {name!r}."
    except ValueError as exc:
        return error(exc), no_update, no_update, no_update
    return message(text, "success", "admin-group-saved"), group_options(), str(group_id), groups_table()
