"""Reject reasons in the reader's language, where a page shows them (the import page).

An import stores each reason in English, made by the database with the field's value in it
(``data.ingest.mediation``) or by a reader (``data.ingest.formats``): the rejects downloads, the command line
and the API give them as stored, for scripts and for support. Shown on a page, a reason of a known shape is
written again in the reader's language; the field name and the value stay as they are (an identifier, and the
file's own text). A reason of no known shape is shown as stored.
"""

from __future__ import annotations

import re

from data.core.i18n import DEFAULT_LANGUAGE, N_, current_language, gettext

_VALUE = r"(?P<field>\w+) (?P<value>E?'.*'|NULL)"
# What a field's value is not (``mediation._bad`` and the dates), each a whole sentence for the translators.
_IS_NOT = {
    "a date": N_("%(field)s %(value)s is not a date"),
    "a number of seconds": N_("%(field)s %(value)s is not a number of seconds"),
    "a number": N_("%(field)s %(value)s is not a number"),
    "a Q.850 cause code": N_("%(field)s %(value)s is not a Q.850 cause code"),
    "a SIP response code": N_("%(field)s %(value)s is not a SIP response code"),
    "1 (inbound) or 2 (outbound)": N_("%(field)s %(value)s is not 1 (inbound) or 2 (outbound)"),
    "a source type (0 to 9)": N_("%(field)s %(value)s is not a source type (0 to 9)"),
}
_IS_NOT_PATTERN = re.compile(rf"{_VALUE} is not (?P<what>.+)", re.S)
_SHAPES = (
    (re.compile(r"(?P<field>\w+) is missing"), N_("%(field)s is missing")),
    (re.compile(r"(?P<field>\w+) holds a control character"), N_("%(field)s holds a control character")),
    (
        re.compile(r"(?P<field>\w+) is longer than (?P<limit>[\d,]+) characters"),
        N_("%(field)s is longer than %(limit)s characters"),
    ),
    (
        re.compile(rf"{_VALUE} is out of range \((?P<earliest>[\d-]+) to a year from now\)", re.S),
        N_("%(field)s %(value)s is out of range (%(earliest)s to a year from now)"),
    ),
    (
        re.compile(rf"{_VALUE} is in a month archived by retention: import its archive", re.S),
        N_("%(field)s %(value)s is in a month archived by retention: import its archive"),
    ),
    (
        re.compile(r"expected (?P<wanted>\d+) fields, found (?P<found>\d+)"),
        N_("expected %(wanted)s fields, found %(found)s"),
    ),
    (re.compile(r"not valid CSV \((?P<error>.*)\)", re.S), N_("not valid CSV (%(error)s)")),
    (re.compile(r"extradata is not a JSON object"), N_("extradata is not a JSON object")),
)


def shown_reason(reason: str | None) -> str | None:
    """``reason`` (as stored) in the reader's language when it has a known shape; else as stored."""
    if not reason or current_language() == DEFAULT_LANGUAGE:
        return reason
    found = _IS_NOT_PATTERN.fullmatch(reason)
    if found and found["what"] in _IS_NOT:
        return gettext(_IS_NOT[found["what"]], field=found["field"], value=found["value"])
    for pattern, message in _SHAPES:
        if found := pattern.fullmatch(reason):
            return gettext(message, **found.groupdict())
    return reason
