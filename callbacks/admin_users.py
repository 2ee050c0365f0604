"""Callbacks of the users page (admins only: each checks, whatever the page guard does)."""

from dash import Input, Output, State, html, no_update

from callbacks.forms import values_of
from components.admin import error, message
from data.admin import accounts, acl, sessions
from data.core.i18n import gettext as _
from data.core.scope import current_actor
from data.rating import rater
from pages.admin_users import user_options, users_table
from routes.access import callbacks_for
from routes.auth import SESSION_TOKEN, forget_kept_sessions, renew_session

callback = callbacks_for(acl.page("/admin/users"))

FIELDS = (
    "username",
    "password",
    "role",
    "active",
    "full-name",
    "email",
    "timezone",
    "language",
    "accountcodes",
    "groups",
    "plan",
    "report-emails",
)


@callback(
    [Output(f"admin-user-{f}", "value") for f in FIELDS],
    Output("admin-user-message", "children", allow_duplicate=True),
    Input("admin-user-select", "value"),
    prevent_initial_call=True,
)
def fill_user_form(selected):
    if not selected or selected == "new":
        return "", "", "customer", True, "", "", _("UTC"), "", "", [], "", "", no_update
    user = accounts.user_detail(int(selected))
    if user is None:
        return *[no_update] * len(FIELDS), message(_("That user no longer exists."), "warning")
    return (
        user["username"],
        "",
        user["role"],
        user["is_active"],
        user["full_name"],
        user["email"] or "",
        user["timezone"],
        user["language"] or "",
        ", ".join(user["accountcodes"]),
        list(user["group_ids"]),
        str(user["voip_plan_id"] or ""),
        "\n".join(user.get("report_emails") or []),
        no_update,
    )


@callback(
    Output("admin-user-codes-hint", "children"),
    Input("admin-user-accountcodes", "value"),
    State("admin-user-select", "value"),
)
def accountcodes_hint(value, selected):
    """Before saving: which codes are new, who owns them now, and how many stored calls carry them."""
    try:
        codes = accounts.parse_accountcodes(value or "")
    except ValueError as exc:
        return error(exc)
    current = set()
    if selected and selected != "new":
        current = set((accounts.user_detail(int(selected)) or {}).get("accountcodes") or [])
    new = [c for c in codes if c not in current]
    if not new:
        return None
    owners = accounts.accountcode_owners(new)
    calls = accounts.calls_with_accountcodes(new)
    parts = [f"New accountcodes: {', '.join(new)}. {calls:,} stored calls carry them."]
    taken = [
        f"{code} (now {owner['username']})" for code, owner in owners.items() if str(owner["user_id"]) != str(selected)
    ]
    if taken:
        parts.append(f"Taken from another customer: {', '.join(taken)}.")
    return message(" ".join(parts), "info", "admin-user-codes-info")


@callback(
    Output("admin-user-message", "children"),
    Output("admin-user-select", "options"),
    Output("admin-user-select", "value"),
    Output("admin-users", "children"),
    Output("admin-user-password", "value", allow_duplicate=True),
    Output("admin-user-rerate-request", "data"),
    Input("admin-user-save", "n_clicks"),
    *values_of("admin-user-select", *(f"admin-user-{f}" for f in FIELDS), "admin-user-reassign"),
    prevent_initial_call=True,
)
def save_user(
    _clicks,
    selected,
    username,
    password,
    role,
    active,
    full_name,
    email,
    timezone,
    language,
    codes,
    groups,
    plan,
    report_emails,
    reassign,
):
    actor = current_actor()
    fields = {
        "username": username or "",
        "role": role,
        "is_active": bool(active),
        "full_name": full_name or "",
        "email": email or None,
        "timezone": timezone or _("UTC"),
        "language": language or None,
        "voip_plan_id": int(plan) if plan else None,
    }
    try:
        if not selected or selected == "new":
            moving = accounts.calls_with_accountcodes(accounts.parse_accountcodes(codes or "")) if reassign else 0
            user_id = accounts.create_user(
                actor,
                password=password or "",
                accountcodes=codes or "",
                group_ids=groups or [],
                reassign=bool(reassign),
                report_emails=report_emails or "",
                **fields,
            )
            text = f"Created {fields['role']} {fields['username']!r}."
            if moving:
                text += f" {moving:,} stored calls re-assigned."
            rerate_request = rater.latest_customer_rerate(user_id) if fields["voip_plan_id"] and moving else None
        else:
            user_id = int(selected)
            result = accounts.update_user(
                actor,
                user_id,
                password=password or None,
                accountcodes=codes or "",
                group_ids=groups or [],
                reassign=bool(reassign),
                report_emails=report_emails or "",
                **fields,
            )
            if password:  # the user's sessions end; the admin's own stays if they changed their own password
                renew_session()
            text = f"Saved {fields['username']!r}."
            if result.get("moved_calls"):
                text += f" {result['moved_calls']:,} stored calls re-assigned."
            queued = result.get("rerate")
            rerate_request = queued["request_id"] if queued else None
            if queued:
                text += f" Their {queued['calls']:,} stored calls are queued for re-rating on the new VoIP plan."
    except ValueError as exc:
        return error(exc), no_update, no_update, no_update, no_update, no_update
    saved = message(text, "success", "admin-user-saved")
    return saved, user_options(), str(user_id), users_table(), "", rerate_request


@callback(
    [Output("admin-user-rerate", "children"), Output("admin-user-rerate-poll", "disabled")],
    [Input("admin-user-rerate-request", "data"), Input("admin-user-rerate-poll", "n_intervals")],
    prevent_initial_call=True,
)
def follow_rerate(request_id, _ticks):
    """The queued re-rating's progress, every 2 s until it is done or failed."""
    if not request_id:
        return "", True
    progress = rater.rerate_progress(int(request_id))
    finished = progress is None or progress["status"] in ("done", "failed")
    return html.Span(rater.describe_rerate(progress), id="admin-user-rerate-state"), finished


@callback(
    Output("admin-user-message", "children", allow_duplicate=True),
    Input("admin-user-end-sessions", "n_clicks"),
    State("admin-user-select", "value"),
    prevent_initial_call=True,
)
def end_user_sessions(_clicks, selected):
    """Log the chosen user out everywhere; an admin ending their own keeps the session they are using."""
    from flask import session

    if not selected or not str(selected).isdigit():
        return message(_("Choose a user first."), "warning")
    user_id, actor = int(selected), current_actor()
    ended = sessions.end_all(actor, user_id, keep_token=session.get(SESSION_TOKEN) if actor.id == user_id else None)
    forget_kept_sessions()
    return message(f"{ended} session(s) ended.", "success", "admin-user-sessions-ended")
