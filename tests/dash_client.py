"""Calls Dash callbacks over HTTP as the browser does, to test them with a real session."""

from __future__ import annotations

import json


def _callbacks(client) -> dict:
    client.get("/login")  # Dash merges the registered callbacks into the app on its first request
    return client.application.extensions["dash_app"].callback_map


def _outputs(spec) -> list[dict]:
    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    return [{"id": o.component_id, "property": o.component_property} for o in outputs]


def callback_body(callback_map: dict, func_name: str, inputs: list, state: list = (), ids: dict | None = None):
    """The JSON body the browser posts to /_dash-update-component for the callback named ``func_name``.

    ``ids`` gives the concrete id of pattern-matching (MATCH) components. Inputs left out at the end are
    None, as the browser sends for a component without a value (e.g. the theme before it was ever chosen).
    """
    key, spec = next(
        (k, s) for k, s in callback_map.items() if getattr(s.get("callback"), "__name__", None) == func_name
    )
    outputs = [_concrete(o, ids) for o in _outputs(spec)]
    assert len(inputs) <= len(spec["inputs"]), f"{func_name} takes {len(spec['inputs'])} inputs"
    inputs = [*inputs, *[None] * (len(spec["inputs"]) - len(inputs))]
    return {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [{**_concrete(i, ids), "value": v} for i, v in zip(spec["inputs"], inputs, strict=True)],
        "state": [{**_concrete(s, ids), "value": v} for s, v in zip(spec["state"], state, strict=True)],
        "changedPropIds": [],
    }


def dash_request(client, func_name: str, inputs: list, state: list = (), ids: dict | None = None):
    """POST the callback's request with the Flask test client; returns the raw response."""
    body = callback_body(_callbacks(client), func_name, inputs, state, ids)
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")


def _concrete(dep: dict, ids: dict | None) -> dict:
    if isinstance(dep["id"], dict) and ids:
        return {**dep, "id": {k: ids.get(k, v) for k, v in dep["id"].items()}}
    return dep


def dash_call(client, func_name: str, inputs: list, state: list = (), ids: dict | None = None) -> dict:
    """The callback's outputs as {(component id, property): value}; ids that are dicts are JSON strings."""
    response = dash_request(client, func_name, inputs, state, ids)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    result = {}
    for component, props in response.get_json()["response"].items():
        for prop, value in props.items():
            result[(component, prop)] = value
    return result


def chart_data(result: dict, chart: str):
    return result[(json.dumps({"chart": chart, "type": "chart-data"}, separators=(",", ":")), "data")]


def click(
    client, func_name: str, component: dict | str, inputs: list, state: list = (), prop: str = "n_clicks", value=1
):
    """Post a callback as the browser does when ``component`` was clicked: the inputs given stay, each None
    one is the clicked component (a list of it for a pattern-matching ALL input, ``component`` a dict id)."""
    body = callback_body(_callbacks(client), func_name, [None] * len(inputs), state)
    single = {"id": component, "property": prop, "value": value}
    body["inputs"] = [(single if isinstance(component, str) else [single]) if i is None else i for i in inputs]
    name = component if isinstance(component, str) else json.dumps(component, sort_keys=True, separators=(",", ":"))
    body["changedPropIds"] = [f"{name}.{prop}"]
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
