"""Form buttons that change something: one way to register their callback, show the outcome and make the
page reload its lists (a ``dcc.Store`` counter that the list callbacks take as input)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, no_update


class Refused(Exception):
    """Raised by a form action: ``content`` (text or components) is shown as the reason, nothing changed."""

    def __init__(self, content):
        super().__init__(str(content))
        self.content = content


def clicked() -> bool:
    """Whether the running callback comes from a click: a button drawn anew (say, in a list that was drawn
    again) triggers its callbacks too, with no clicks."""
    return bool(ctx.triggered and ctx.triggered[0].get("value"))


def add_or_delete(add_button: str, add, delete, refused=()):
    """Carry out the click in a list that has an add button and a delete button per row (``{"type": ...,
    "id": row}``): ``add()``, or ``delete(row)``. Returns the feedback: what ``add`` returned ("" for
    nothing), the reason ``add`` was refused (one of ``refused``), or no_update."""
    trigger = ctx.triggered_id
    if trigger == add_button and clicked():
        try:
            return add() or ""
        except refused as exc:
            return outcome_alert(str(exc), False)
    if isinstance(trigger, dict) and clicked():
        delete(trigger["id"])
    return no_update


def values_of(*component_ids: str) -> list[State]:
    """The ``value`` of each component, as callback states (a form's fields)."""
    return [State(component_id, "value") for component_id in component_ids]


def outcome_alert(content, ok: bool) -> dbc.Alert:
    return dbc.Alert(content, color="success" if ok else "danger", className="mb-0")


def form_action(
    callback,
    button: str,
    fields: tuple,
    feedback: str,
    counter: str,
    refused=(),
    describe=str,
    alert=outcome_alert,
):
    """Register the decorated function as the callback of ``button``: it gets each of ``fields`` (a
    component id, whose ``value`` it reads, or an ``(id, property)`` pair) and returns what to show on
    success (the counter then goes up). :class:`Refused`, and the exceptions in ``refused`` (shown as
    ``describe`` words them), show their reason instead and change nothing. ``alert(content, ok)`` draws
    the outcome. ``callback`` is the module's (it declares the page's access)."""

    def register(func):
        def run(_clicks, *args):
            *values, count = args
            try:
                shown = func(*values)
            except Refused as exc:
                return alert(exc.content, False), no_update
            except refused as exc:
                return alert(describe(exc), False), no_update
            return alert(shown, True), (count or 0) + 1

        run.__name__ = run.__qualname__ = func.__name__  # tests and logs know the callback by its name
        run.__doc__ = func.__doc__
        outputs = (Output(feedback, "children", allow_duplicate=True), Output(counter, "data", allow_duplicate=True))
        states = (*(State(*field) if isinstance(field, tuple) else State(field, "value") for field in fields),)
        states = (*states, State(counter, "data"))
        return callback(*outputs, Input(button, "n_clicks"), *states, prevent_initial_call=True)(run)

    return register
