"""Your profile (every user): name, e-mail, time zone, password, and API tokens."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_login import current_user

from components.admin import form_row, table
from data.admin import accounts, acl

dash.register_page(__name__, path="/profile", name="Profile", order=200, access=acl.ANY_USER, nav=False)

TOKEN_COLUMNS = [("name", "Name"), ("created_at", "Created"), ("last_used_at", "Last used")]


def tokens_table(user_id: int):
    try:
        from data.admin import api_tokens
    except ImportError:  # pragma: no cover - the token module comes with the export work
        return html.P("API tokens are not available.", className="small")
    rows = [t for t in api_tokens.tokens_of(user_id) if t["revoked_at"] is None]
    return table(rows, TOKEN_COLUMNS, "No API token.", table_id="profile-tokens-table")


def token_options(user_id: int) -> list[dict]:
    from data.admin import api_tokens

    return [
        {"label": f"{t['name'] or '(unnamed)'} · created {t['created_at']:%Y-%m-%d %H:%M}", "value": str(t["id"])}
        for t in api_tokens.tokens_of(user_id)
        if t["revoked_at"] is None
    ]


def layout(**_query):
    user = accounts.user_detail(current_user.id)
    may_use_api = "feature:api" in acl.current_permissions()
    details = dbc.Card(
        dbc.CardBody(
            [
                html.H5("Profile", className="card-title"),
                form_row("Username", html.Span(user["username"], id="profile-username")),
                form_row("Role", html.Span(user["role"])),
                form_row("Full name", dbc.Input(id="profile-full-name", value=user["full_name"], maxlength=200)),
                form_row(
                    "E-mail",
                    dbc.Input(id="profile-email", type="email", value=user["email"] or "", maxlength=254),
                    "For password resets and your mailed reports.",
                ),
                form_row(
                    "Time zone",
                    dcc.Dropdown(
                        id="profile-timezone",
                        options=accounts.timezone_names(),
                        value=user["timezone"],
                        clearable=False,
                    ),
                    "Reports, dates and days are in this zone.",
                ),
                html.P(
                    ["Report recipients and schedules: see ", html.A("Mail report", href="/mail-report"), "."],
                    className="small",
                ),
                dbc.Button("Save", id="profile-save", color="primary", size="sm"),
                html.Div(id="profile-message", className="mt-2"),
            ]
        ),
        className="mb-3",
    )
    password = dbc.Card(
        dbc.CardBody(
            [
                html.H5("Change your password", className="card-title"),
                form_row(
                    "Current password",
                    dbc.Input(id="profile-password-current", type="password", autocomplete="current-password"),
                ),
                form_row(
                    "New password",
                    dbc.Input(id="profile-password-new", type="password", autocomplete="new-password"),
                    "At least 8 characters.",
                ),
                form_row(
                    "New password again",
                    dbc.Input(id="profile-password-again", type="password", autocomplete="new-password"),
                ),
                dbc.Button("Change password", id="profile-password-save", color="primary", size="sm"),
                html.Div(id="profile-password-message", className="mt-2"),
            ]
        ),
        className="mb-3",
    )
    tokens = (
        dbc.Card(
            dbc.CardBody(
                [
                    html.H5("API tokens", className="card-title"),
                    html.P(
                        [
                            "For scripts and other systems: ",
                            html.Code("Authorization: Bearer <token>"),
                            " on ",
                            html.A("/api/v1/", href="/api/v1/openapi.json"),
                            ". A token acts as you, with your permissions.",
                        ],
                        className="small",
                    ),
                    dbc.InputGroup(
                        [
                            dbc.Input(id="profile-token-name", placeholder="What it is for", maxlength=100),
                            dbc.Button("Create a token", id="profile-token-create", color="secondary"),
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
                                placeholder="Token to revoke",
                            ),
                            dbc.Button("Revoke", id="profile-token-revoke", color="danger", outline=True),
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
    return html.Div(
        [
            html.H2("Your profile"),
            dbc.Row([dbc.Col([details, password], lg=6), dbc.Col(tokens, lg=6)]),
        ]
    )
