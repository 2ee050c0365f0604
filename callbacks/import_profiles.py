"""Callbacks of the import profile editor: load a profile (or a YAML file) into the form, show the uploaded
file through the edited profile live, save (refused with each setting and reason), delete, download YAML."""

from __future__ import annotations

import base64

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.import_cdr import page_message
from components.import_profiles import preview_table, problem_list
from data.admin import acl
from data.core.i18n import gettext as _
from data.ingest.formats import FormatError
from data.ingest.preview import preview_file
from data.ingest.profile_builtin import BUILTIN_NAMES
from data.ingest.profile_form import form_from_profile, profile_from_form
from data.ingest.profile_spec import ProfileError, check_profile, profile_from_yaml, profile_to_yaml
from data.ingest.profile_store import delete_profile, get_profile, profile_names, save_profile
from data.ingest.uploads import uploaded_file
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/admin/import"))
SETTINGS = {"type": "import-profile-setting", "key": ALL}
RULES = {"type": "import-profile-rule", "field": ALL}
NEW_PROFILE = {"name": "", "header": True, "fields": {}}


def editor_form(dependency) -> list:
    """The editor's form as callback dependencies of one kind (Output, Input or State): its settings, its field
    rules, and what the profile holds that the form does not show."""
    return [dependency(SETTINGS, "value"), dependency(RULES, "value"), dependency("import-profile-carried", "data")]


def _values(ids: list[dict], values: list, key: str) -> dict:
    return {i[key]: v for i, v in zip(ids, values, strict=True)}


def _pattern_ids(kind: str) -> list[dict]:
    """The ids of the ``kind`` pattern's inputs or states, in the order Dash gives their values."""
    for entry in [*ctx.inputs_list, *ctx.states_list]:
        if isinstance(entry, list) and entry and entry[0]["id"].get("type") == kind:
            return [e["id"] for e in entry]
    return []


def _edited(settings: list, rules: list, carried: dict | None) -> dict:
    """The profile the form holds (states in layout order, as Dash gives them)."""
    setting_ids, rule_ids = _pattern_ids("import-profile-setting"), _pattern_ids("import-profile-rule")
    values = _values(setting_ids, settings, "key")
    values["carried"] = carried or {}
    return profile_from_form(values, _values(rule_ids, rules, "field"))


@callback(
    Output("import-profile-choice", "options"),
    [Input("import-profile-saved", "data"), Input("import-profile-choice", "id")],
)
def show_profiles(_saved, _id):
    return [{"label": _("New profile"), "value": ""}] + [
        {"label": _("%(name)s (built-in)", name=name) if builtin else name, "value": name}
        for name, builtin in profile_names()
    ]


@callback(
    [*editor_form(Output), Output("import-profile-message", "children")],
    [Input("import-profile-choice", "value"), Input("import-profile-yaml-upload", "contents")],
)
def load_profile(choice, yaml_contents):
    message = None
    if ctx.triggered_id == "import-profile-yaml-upload" and yaml_contents:
        try:
            text = base64.b64decode(yaml_contents.partition(",")[2]).decode("utf-8")
            profile = profile_from_yaml(text)
        except (ProfileError, UnicodeDecodeError, ValueError) as exc:
            problems = getattr(exc, "problems", [("file", _("not a YAML profile"))])
            return no_update, no_update, no_update, problem_list(problems)
        message = dbc.Alert(_("Loaded %(name)s from the file: save it to keep it.", name=profile["name"]), color="info")
    else:
        profile = (get_profile(choice) if choice else None) or NEW_PROFILE
    settings, rules = form_from_profile(profile)
    setting_ids = [o["id"]["key"] for o in ctx.outputs_list[0]]
    rule_ids = [o["id"]["field"] for o in ctx.outputs_list[1]]
    return (
        [settings.get(k, "") for k in setting_ids],
        [rules.get(f, "") for f in rule_ids],
        settings["carried"],
        message,
    )


@callback(
    Output("import-profile-preview", "children"),
    [*editor_form(Input), Input("import-file", "data")],
    State("import-switch", "value"),
    prevent_initial_call=True,
)
def live_preview(settings, rules, carried, upload, switch):
    if not upload:
        return dbc.Alert(_("Upload a file above to see it through this profile."), color="light")
    profile = _edited(settings, rules, carried)
    try:
        checked = check_profile({**profile, "name": profile["name"] or "unsaved"})
        return preview_table(preview_file(uploaded_file(upload["token"]), profile=checked, switch=switch))
    except ProfileError as exc:
        return dbc.Alert([_("Not ready:") + " ", "; ".join(f"{w}: {r}" for w, r in exc.problems)], color="warning")
    except (FormatError, ValueError) as exc:
        return dbc.Alert(page_message(exc), color="warning")


@callback(
    Output("import-profile-message", "children", allow_duplicate=True),
    Output("import-profile-saved", "data"),
    Output("import-profile-choice", "value"),
    Input("import-profile-save", "n_clicks"),
    [*editor_form(State), State("import-profile-choice", "value")],
    prevent_initial_call=True,
)
def save(_n, settings, rules, carried, choice):
    profile = _edited(settings, rules, carried)
    replacing = choice if choice and choice not in BUILTIN_NAMES else None
    try:
        saved = save_profile(profile, current_user.id, replacing=replacing)
    except ProfileError as exc:
        return problem_list(exc.problems), no_update, no_update
    saved_message = dbc.Alert(_("Profile %(name)s saved.", name=saved["name"]), color="success")
    return saved_message, saved["name"], saved["name"]


@callback(
    Output("import-profile-message", "children", allow_duplicate=True),
    Output("import-profile-saved", "data", allow_duplicate=True),
    Output("import-profile-choice", "value", allow_duplicate=True),
    Input("import-profile-delete", "n_clicks"),
    State("import-profile-choice", "value"),
    prevent_initial_call=True,
)
def delete(_n, choice):
    if not choice or choice in BUILTIN_NAMES:
        return (
            dbc.Alert(_("Choose a saved profile to delete (built-in ones stay)."), color="warning"),
            no_update,
            no_update,
        )
    delete_profile(choice)
    return dbc.Alert(_("Profile %(name)s deleted.", name=choice), color="success"), f"-{choice}", ""


@callback(
    Output("import-profile-yaml-download", "data"),
    Output("import-profile-message", "children", allow_duplicate=True),
    Input("import-profile-yaml", "n_clicks"),
    editor_form(State),
    prevent_initial_call=True,
)
def download_yaml(n_clicks, settings, rules, carried):
    if not n_clicks:
        raise PreventUpdate
    profile = _edited(settings, rules, carried)
    try:
        checked = check_profile(profile)
    except ProfileError as exc:
        return no_update, problem_list(exc.problems)
    return dcc.send_string(profile_to_yaml(checked), f"{checked['name']}.yaml"), None
