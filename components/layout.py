"""The application shell: navbar built from the page registry, theme switch, page container."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from data.core.i18n import N_
from data.core.i18n import gettext as _

# The navbar's menus: a section and the paths of its pages, in order. Admin-only pages not listed
# here go into the "Admin" menu; other pages not listed stand on their own.
NAV_SECTIONS = [
    (N_("Reports"), ["/overview", "/daily-comparison", "/countries", "/world-map", "/concurrent-calls", "/cdrs"]),
    (N_("Billing"), ["/rates", "/rates/simulator", "/billing", "/admin/rates"]),
    (N_("Alarms"), ["/alarms", "/alarm-report", "/threats", "/destination-alerts"]),
    (N_("Mail & exports"), ["/mail-report", "/exports", "/admin/outbox"]),
]


def _menu(label: str, pages: list[dict], menu_id: str) -> dbc.DropdownMenu:
    return dbc.DropdownMenu(
        [dbc.DropdownMenuItem(_(p["name"]), href=p["relative_path"]) for p in pages],
        label=_(label),
        nav=True,
        in_navbar=True,
        id=menu_id,
    )


def nav_links(pages: list[dict], is_admin: bool) -> list:
    """Links to the pages the user may see, grouped in menus (``NAV_SECTIONS``, then "Admin").

    Pages with ``nav=False`` (the profile page: linked from the user's name) are left out.
    """
    visible = [p for p in pages if (is_admin or not p.get("admin_only")) and p.get("nav", True)]
    by_path = {p["path"]: p for p in visible}
    in_sections = {path for _label, paths in NAV_SECTIONS for path in paths}
    links = [
        dbc.NavItem(dbc.NavLink(_(p["name"]), href=p["relative_path"], active="exact"))
        for p in visible
        if p["path"] not in in_sections and not p.get("admin_only")
    ]
    for label, paths in NAV_SECTIONS:
        section = [by_path[path] for path in paths if path in by_path]
        if section:
            links.append(_menu(label, section, f"nav-{label.split()[0].lower()}-menu"))
    admin_pages = [p for p in visible if p.get("admin_only") and p["path"] not in in_sections]
    if admin_pages:
        links.append(_menu(N_("Admin"), admin_pages, "nav-admin-menu"))
    return links


def logout_form(csrf_token: str) -> html.Form:
    # A real form post: logout changes state, so it is a POST with a CSRF token, never a link.
    return html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=csrf_token),
            dbc.Button(_("Log out"), id="logout-button", type="submit", color="light", size="sm", outline=True),
        ],
        action="/logout",
        method="POST",
        className="ms-2",
    )


def navbar(pages: list[dict], username: str, is_admin: bool, timezone: str, csrf_token: str) -> dbc.Navbar:
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("Dialstat", href="/"),
                dbc.NavbarToggler(id="navbar-toggler"),
                dbc.Collapse(
                    [
                        dbc.Nav(nav_links(pages, is_admin), navbar=True, className="me-auto"),
                        html.A(
                            f"{username} · {timezone}",
                            id="navbar-user",
                            href="/profile",
                            title=_("Your profile"),
                            className="navbar-text small me-3 text-decoration-none",
                        ),
                        dbc.Switch(id="theme-switch", label=_("Dark"), value=False, className="navbar-text mb-0"),
                        logout_form(csrf_token),
                    ],
                    id="navbar-collapse",
                    navbar=True,
                    is_open=False,
                ),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        expand="lg",
        className="mb-3",
    )


def app_shell(nav: dbc.Navbar, content) -> html.Div:
    return html.Div(
        [
            dcc.Store(id="theme-store", storage_type="local"),
            nav,
            dbc.Container(content, fluid=True, className="pb-4"),
        ]
    )


def page_layout(title: str, *children, intro=None) -> html.Div:
    """A page: its title, a line saying what it shows (``intro``), then its content."""
    head = [html.H2(title)] + ([html.P(intro, className="text-body-secondary")] if intro is not None else [])
    return html.Div([*head, *children])


def forbidden() -> dbc.Alert:
    return dbc.Alert(_("You do not have access to this page."), color="warning")
