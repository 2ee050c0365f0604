"""Callbacks of the profile page: every user changes their own details, password and API tokens."""

from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.forms import values_of
from components.admin import error, message
from data.admin import accounts, acl, sessions
from data.core.i18n import gettext as _
from pages.profile import session_options, sessions_table, token_options, tokens_table
from routes.access import callbacks_for
from routes.auth import current_session_id, forget_kept_sessions, renew_session

callback = callbacks_for(acl.page("/profile"))

PASSWORD_FIELDS = ("profile-password-current", "profile-password-new", "profile-password-again")


def _me():
    if not current_user.is_authenticated:
        raise PreventUpdate
    return current_user._get_current_object()


@callback(
    Output("profile-message", "children"),
    Input("profile-save", "n_clicks"),
    *values_of("profile-full-name", "profile-email", "profile-timezone", "profile-language"),
    prevent_initial_call=True,
)
def save_profile(_clicks, full_name, email, timezone, language):
    me = _me()
    try:
        accounts.set_own_profile(
            me, full_name=full_name or "", email=email or "", timezone=timezone or me.timezone, language=language or ""
        )
    except ValueError as exc:
        return error(exc)
    forget_kept_sessions()  # the next page this process serves reads the new zone and language
    saved = _("Saved. A new time zone or language applies from the next page you open.")
    return message(saved, "success", "profile-saved")


@callback(
    Output("profile-password-message", "children"),
    [Output(field, "value") for field in PASSWORD_FIELDS],
    Input("profile-password-save", "n_clicks"),
    *values_of(*PASSWORD_FIELDS),
    prevent_initial_call=True,
)
def change_password(_clicks, current, new, again):
    me = _me()
    if (new or "") != (again or ""):
        return message(_("The two new passwords differ."), "danger"), no_update, no_update, no_update
    try:
        accounts.change_own_password(me, current or "", new or "")
    except ValueError as exc:
        return error(exc), "", no_update, no_update
    renew_session()  # this session stays; the user's other sessions end
    return (
        message(
            _("Your password is changed. Your other sessions are logged out."), "success", "profile-password-changed"
        ),
        "",
        "",
        "",
    )


@callback(
    Output("profile-token-message", "children"),
    Output("profile-tokens", "children"),
    Output("profile-token-select", "options"),
    Output("profile-token-name", "value"),
    [Input("profile-token-create", "n_clicks"), Input("profile-token-revoke", "n_clicks")],
    [State("profile-token-name", "value"), State("profile-token-select", "value")],
    prevent_initial_call=True,
)
def manage_tokens(_create, _revoke, name, selected):
    me = _me()
    if "feature:api" not in acl.current_permissions():
        raise PreventUpdate
    from data.admin import api_tokens

    if ctx.triggered_id == "profile-token-revoke":
        if not selected or not selected.isdigit() or not api_tokens.revoke_own_token(me, int(selected)):
            return message(_("Choose one of your tokens."), "warning"), no_update, no_update, no_update
        return message(_("Token revoked."), "success"), tokens_table(me.id), token_options(me.id), no_update
    token = api_tokens.create_own_token(me, (name or "").strip()[:100])
    shown = message(
        [
            "Your new token (shown once: copy it now): ",
            html.Code(token, id="profile-token-value", className="user-select-all"),
        ],
        "warning",
    )
    return shown, tokens_table(me.id), token_options(me.id), ""


@callback(
    Output("profile-session-message", "children"),
    Output("profile-sessions", "children"),
    Output("profile-session-select", "options"),
    Input("profile-session-end", "n_clicks"),
    State("profile-session-select", "value"),
    prevent_initial_call=True,
)
def end_session(_clicks, selected):
    me = _me()
    if not selected or not str(selected).isdigit() or not sessions.end_one(me, int(selected)):
        return message(_("Choose one of your sessions."), "warning"), no_update, no_update
    forget_kept_sessions()
    current = current_session_id()
    text = _("Session ended.") if current is not None else _("This session ended: you are logged out.")
    return (
        message(text, "success", "profile-session-ended"),
        sessions_table(me.id, current),
        session_options(me.id, current),
    )
