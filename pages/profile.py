"""Your profile (every user): name, e-mail, time zone, password, and API tokens."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_login import current_user

from components.admin import ROLE_NAMES, form_row, language_choice, table
from components.layout import page_layout
from data.admin import accounts, acl, sessions
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/profile", name=N_("Profile"), order=200, access=acl.ANY_USER, nav=False)

TOKEN_COLUMNS = [("name", N_("Name")), ("created_at", N_("Created")), ("last_used_at", N_("Last used"))]


def tokens_table(user_id: int):
    try:
        from data.admin import api_tokens
    except ImportError:  # pragma: no cover - the token module comes with the export work
        return html.P(_("API tokens are not available."), className="small")
    rows = [t for t in api_tokens.tokens_of(user_id) if t["revoked_at"] is None]
    return table(rows, TOKEN_COLUMNS, _("No API token."), table_id="profile-tokens-table")


def token_options(user_id: int) -> list[dict]:
    from data.admin import api_tokens

    return [
        {
            "label": _("%(name)s · created %(when)s")
            % {"name": t["name"] or _("(unnamed)"), "when": f"{t['created_at']:%Y-%m-%d %H:%M}"},
            "value": str(t["id"]),
        }
        for t in api_tokens.tokens_of(user_id)
        if t["revoked_at"] is None
    ]


SESSION_COLUMNS = [
    ("created_at", N_("Logged in")),
    ("last_seen_at", N_("Last seen")),
    ("address", N_("Address")),
    ("user_agent", N_("Browser")),
]


def sessions_table(user_id: int, current_id: int | None):
    rows = [
        {**s, "address": (s["address"] or "") + (_(" (this one)") if s["id"] == current_id else "")}
        for s in sessions.sessions_of(user_id)
    ]
    return table(rows, SESSION_COLUMNS, _("No session."), table_id="profile-sessions-table")


def session_options(user_id: int, current_id: int | None) -> list[dict]:
    return [
        {
            "label": _("%(address)s · since %(when)s")
            % {"address": s["address"] or "?", "when": f"{s['created_at']:%Y-%m-%d %H:%M}"}
            + (_(" (this one)") if s["id"] == current_id else ""),
            "value": str(s["id"]),
        }
        for s in sessions.sessions_of(user_id)
    ]


def sessions_card(user_id: int):
    from routes.auth import current_session_id

    current_id = current_session_id()
    return dbc.Card(
        dbc.CardBody(
            [
                html.H5(_("Your sessions"), className="card-title"),
                html.P(
                    _(
                        "Where you are logged in. End any you do not recognise; a session also ends after a while "
                        "unused."
                    ),
                    className="small",
                ),
                html.Div(sessions_table(user_id, current_id), id="profile-sessions"),
                dbc.InputGroup(
                    [
                        dbc.Select(
                            id="profile-session-select",
                            options=session_options(user_id, current_id),
                            placeholder=_("Session to end"),
                        ),
                        dbc.Button(_("End session"), id="profile-session-end", color="danger", outline=True),
                    ],
                    size="sm",
                ),
                html.Div(id="profile-session-message", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def layout(**_query):
    user = accounts.user_detail(current_user.id)
    may_use_api = "feature:api" in acl.current_permissions()
    details = dbc.Card(
        dbc.CardBody(
            [
                html.H5(_("Profile"), className="card-title"),
                form_row(_("Username"), html.Span(user["username"], id="profile-username")),
                form_row(_("Role"), html.Span(_(ROLE_NAMES[user["role"]]))),
                form_row(_("Full name"), dbc.Input(id="profile-full-name", value=user["full_name"], maxlength=200)),
                form_row(
                    _("E-mail"),
                    dbc.Input(id="profile-email", type="email", value=user["email"] or "", maxlength=254),
                    _("For password resets and your mailed reports."),
                ),
                form_row(
                    _("Time zone"),
                    dcc.Dropdown(
                        id="profile-timezone",
                        options=accounts.timezone_names(),
                        value=user["timezone"],
                        clearable=False,
                    ),
                    _("Reports, dates and days are in this zone."),
                ),
                form_row(
                    _("Language"),
                    language_choice("profile-language", user["language"]),
                    _("Empty: your browser's language."),
                ),
                html.P(
                    [_("Report recipients and schedules: see "), html.A(_("Mail report"), href="/mail-report"), "."],
                    className="small",
                ),
                dbc.Button(_("Save"), id="profile-save", color="primary", size="sm"),
                html.Div(id="profile-message", className="mt-2"),
            ]
        ),
        className="mb-3",
    )
    password = dbc.Card(
        dbc.CardBody(
            [
                html.H5(_("Change your password"), className="card-title"),
                form_row(
                    _("Current password"),
                    dbc.Input(id="profile-password-current", type="password", autocomplete="current-password"),
                ),
                form_row(
                    _("New password"),
                    dbc.Input(id="profile-password-new", type="password", autocomplete="new-password"),
                    _("At least 8 characters."),
                ),
                form_row(
                    _("New password again"),
                    dbc.Input(id="profile-password-again", type="password", autocomplete="new-password"),
                ),
                dbc.Button(_("Change password"), id="profile-password-save", color="primary", size="sm"),
                html.Div(id="profile-password-message", className="mt-2"),
            ]
        ),
        className="mb-3",
    )
    tokens = (
        dbc.Card(
            dbc.CardBody(
                [
                    html.H5(_("API tokens"), className="card-title"),
                    html.P(
                        [
                            _("For scripts and other systems: "),
                            html.Code("Authorization: Bearer <token>"),
                            _(" on "),
                            html.A("/api/v1/", href="/api/v1/openapi.json"),
                            _(". A token acts as you, with your permissions."),
                        ],
                        className="small",
                    ),
                    dbc.InputGroup(
                        [
                            dbc.Input(id="profile-token-name", placeholder=_("What it is for"), maxlength=100),
                            dbc.Button(_("Create a token"), id="profile-token-create", color="secondary"),
                        ],
                        size="sm",
                        className="mb-2",
                    ),
                    html.Div(id="profile-token-message"),
                    html.Div(tokens_table(user["id"]), id="profile-tokens"),
                    dbc.InputGroup(
                        [
                            dbc.Select(
                                id="profile-token-select",
                                options=token_options(user["id"]),
                                placeholder=_("Token to revoke"),
                            ),
                            dbc.Button(_("Revoke"), id="profile-token-revoke", color="danger", outline=True),
                        ],
                        size="sm",
                    ),
                ]
            ),
            className="mb-3",
        )
        if may_use_api
        else None
    )
    return page_layout(
        _("Your profile"),
        dbc.Row([dbc.Col([details, password], lg=6), dbc.Col([sessions_card(user["id"]), tokens], lg=6)]),
    )
