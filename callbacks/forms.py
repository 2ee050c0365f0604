"""Form buttons that change something: one way to register their callback, show the outcome and make the
page reload its lists (a ``dcc.Store`` counter that the list callbacks take as input)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, no_update


class Refused(Exception):
    """Raised by a form action: ``content`` (text or components) is shown as the reason, nothing changed."""

    def __init__(self, content):
        super().__init__(str(content))
        self.content = content


def form_action(callback, button: str, fields: tuple[str, ...], feedback: str, counter: str, refused=()):
    """Register the decorated function as the callback of ``button``: it gets the ``value`` of each of
    ``fields`` and returns what to show on success (the counter then goes up). :class:`Refused`, and the
    exceptions in ``refused``, show their reason instead and change nothing. ``callback`` is the module's
    (it declares the page's access)."""

    def register(func):
        def run(_clicks, *args):
            *values, count = args
            try:
                shown = func(*values)
            except Refused as exc:
                return dbc.Alert(exc.content, color="danger", className="mb-0"), no_update
            except refused as exc:
                return dbc.Alert(str(exc), color="danger", className="mb-0"), no_update
            return dbc.Alert(shown, color="success", className="mb-0"), (count or 0) + 1

        run.__name__ = run.__qualname__ = func.__name__  # tests and logs know the callback by its name
        run.__doc__ = func.__doc__
        outputs = (Output(feedback, "children", allow_duplicate=True), Output(counter, "data", allow_duplicate=True))
        states = (*(State(field, "value") for field in fields), State(counter, "data"))
        return callback(*outputs, Input(button, "n_clicks"), *states, prevent_initial_call=True)(run)

    return register
