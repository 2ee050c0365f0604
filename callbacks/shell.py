"""Callbacks of the application shell: theme switch and navbar toggler (client-side)."""

from dash import Input, Output, State, clientside_callback

clientside_callback(
    """function(dark, stored) {
        const ctx = window.dash_clientside.callback_context;
        if (!ctx.triggered.length && stored !== undefined && stored !== null) { dark = stored; }
        document.documentElement.setAttribute('data-bs-theme', dark ? 'dark' : 'light');
        return [dark, dark];
    }""",
    Output("theme-store", "data"),
    Output("theme-switch", "value"),
    Input("theme-switch", "value"),
    State("theme-store", "data"),
)

clientside_callback(
    "function(n, open) { return n ? !open : open; }",
    Output("navbar-collapse", "is_open"),
    Input("navbar-toggler", "n_clicks"),
    State("navbar-collapse", "is_open"),
)
