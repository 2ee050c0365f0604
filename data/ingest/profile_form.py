"""The import profile editor's form ⇄ a profile: the page's inputs hold text, a profile holds typed settings.

Nothing is checked here: ``profile_spec.check_profile`` refuses what is wrong, naming the setting, which
the editor shows beside its input.
"""

from __future__ import annotations

from data.ingest.profile_spec import DEFAULTS, normalised

# The editor's plain settings (input id suffix = setting name), in the order shown.
TEXT_SETTINGS = (
    "name",
    "description",
    "separator",
    "quote",
    "encoding",
    "record_path",
    "dates",
    "timezone",
    "answered",
    "keep",
    "switch",
)
CHOICE_SETTINGS = ("kind", "duration_unit", "source_type", "extradata")
NUMBER_SETTINGS = ("skip_lines", "columns")
CARRIED_SETTINGS = ("names", "line_pattern")  # kept as they are: the form has no input for them


def _number(text):
    text = "" if text is None else str(text).strip()
    return int(text) if text.isdigit() else (0 if text == "" else text)  # text left for the check to refuse


def _cause_values(text: str) -> dict:
    """``VALUE=CODE`` lines (or comma separated) → {value: code}; a line without ``=`` maps to itself."""
    values = {}
    for item in (text or "").replace(",", "\n").splitlines():
        if item.strip():
            value, _, code = item.rpartition("=")
            values[value.strip() or item.strip()] = int(code) if code.strip().isdigit() else code.strip()
    return values


def profile_from_form(settings: dict, field_rules: dict) -> dict:
    """A profile from the editor's values (``settings`` by setting name, ``field_rules`` by Dialstat field)."""
    profile = {key: (settings.get(key) or "") for key in TEXT_SETTINGS}
    profile["separator"] = "\t" if profile["separator"] in ("\\t", "tab") else profile["separator"] or ","
    for key in CHOICE_SETTINGS:
        profile[key] = settings.get(key) or DEFAULTS[key]
    for key in NUMBER_SETTINGS:
        profile[key] = _number(settings.get(key))
    profile["header"] = bool(settings.get("header"))
    profile["encoding"] = profile["encoding"] or "utf-8"
    profile["dates"] = profile["dates"] or "iso"
    profile["answered"] = profile["answered"] or "billsec"
    profile.update(settings.get("carried") or {})
    profile["fields"] = {name: rule.strip() for name, rule in field_rules.items() if rule and rule.strip()}
    cause_values = _cause_values(settings.get("cause_map"))
    default = profile.pop("cause_default", None)
    if cause_values or settings.get("cause_field"):
        profile["cause_map"] = {"field": settings.get("cause_field") or "", "values": cause_values}
        if default is not None:
            profile["cause_map"]["default"] = default
    return profile


def form_from_profile(profile: dict) -> tuple[dict, dict]:
    """(settings, field rules) as the editor's inputs show them."""
    p = normalised(profile)
    settings = {key: p[key] for key in (*TEXT_SETTINGS, *NUMBER_SETTINGS)}
    settings.update({key: p[key] if isinstance(p[key], str) else DEFAULTS[key] for key in CHOICE_SETTINGS})
    settings["separator"] = "\\t" if p["separator"] == "\t" else p["separator"]
    settings["header"] = p["header"]
    cause_map = p["cause_map"] or {}
    settings["cause_field"] = cause_map.get("field", "")
    settings["cause_map"] = "\n".join(f"{k}={v}" for k, v in (cause_map.get("values") or {}).items())
    settings["carried"] = {key: p[key] for key in CARRIED_SETTINGS if p[key] != DEFAULTS[key]}
    if isinstance(p["extradata"], list):
        settings["carried"]["extradata"] = p["extradata"]
    if cause_map.get("default") not in (None, ""):
        settings["carried"]["cause_default"] = cause_map["default"]
    rules = {name: rule if isinstance(rule, str) else "; ".join(map(str, rule)) for name, rule in p["fields"].items()}
    return settings, rules
