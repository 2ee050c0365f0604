"""CGR-RSR field rules, as used by CGRateS export templates.

A rule is one of:

* ``field_id`` -- the CDR field's value as it is;
* ``~field_id:s/search/template/`` -- regexp search and replace; more ``:s/search/template/`` parts may
  follow and are applied in order, each to the previous result;
* ``^field_id:static_value`` -- the static value, whatever the CDR holds (``^value`` alone gives ``value``).

Regexp parts
    The rule is split on the literal ``:s/``. Inside a part ``\\/`` is a slash that belongs to the regexp
    (in the template it stands for ``/``); the search regexp ends at the first unescaped ``/`` and the part
    ends at the last one, which must close it. When the search matches, the result is the template expanded
    with the first match's groups; the text around the match is dropped, as CGRateS does. No match leaves
    the value unchanged. Rules are applied to empty values too.

Templates follow Go's ``Regexp.Expand`` (see :func:`expand_go_template`).

Regexps are written in Go (RE2) syntax and run on Python's ``re``. :func:`translate_go_regexp` turns the
differences that matter into Python syntax (``\\z``, ``\\Q...\\E``, ``(?<name>``, octal and ``\\x{...}``
escapes, POSIX classes, ASCII-only ``\\d \\w \\s \\b``, ``$`` meaning end of text) and rejects what RE2
does not have (backreferences, lookarounds).

The translation and its guard against slow regexps live in ``go_regexp.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .go_regexp import GoPatternError, GoRegexpTranslator

_REGEXP_PART_SEPARATOR = ":s/"


class RSRError(ValueError):
    """A CGR-RSR rule that cannot be parsed, or cannot be applied to a value.

    ``position`` is the character offset in ``rule`` where the problem is.
    """

    def __init__(self, rule: str, position: int, reason: str):
        self.rule = rule
        self.position = position
        self.reason = reason
        # The rule is quoted verbatim, not with repr(), so that \d does not show as \\d.
        super().__init__(f"RSR rule '{rule}', offset {position}: {reason}")


@dataclass(frozen=True)
class RegexpRule:
    """One ``:s/search/template/`` part of a regexp rule."""

    search: str  # as written, in Go syntax
    template: str  # Go Regexp.Expand template, with \/ already turned into /
    pattern: re.Pattern
    offset: int  # where the search regexp starts in the rule text
    max_input_length: int

    def __post_init__(self) -> None:
        # The template parsed once: exports apply it to every CDR.
        object.__setattr__(self, "_expand", compile_go_template(self.template, self.pattern))

    def apply(self, value: str, rule: str) -> str:
        if len(value) > self.max_input_length:
            raise RSRError(
                rule,
                self.offset,
                f"value is {len(value)} characters long; this regexp takes at most "
                f"{self.max_input_length} (limit against slow regexps)",
            )
        match = self.pattern.search(value)
        if match is None:
            return value
        return self._expand(match)


@dataclass(frozen=True)
class RSRField:
    """A parsed CGR-RSR rule."""

    rule: str
    field_id: str
    static_value: str | None = None
    regexp_rules: tuple[RegexpRule, ...] = ()

    @property
    def is_static(self) -> bool:
        return self.static_value is not None

    def apply(self, value: str) -> str:
        """The rule's output for ``value``, the text of field ``field_id``."""
        if self.static_value is not None:
            return self.static_value
        for regexp_rule in self.regexp_rules:
            value = regexp_rule.apply(value, self.rule)
        return value


def parse_rsr(text: str) -> RSRField:
    """Parse one CGR-RSR rule; raises :class:`RSRError` naming the rule and the offset of the problem."""
    if not text:
        raise RSRError(text, 0, "empty field rule")
    if text[0] == "^":
        field_id, separator, value = text[1:].partition(":")
        if not field_id:
            raise RSRError(text, 1, "missing field id after '^'")
        return RSRField(rule=text, field_id=field_id, static_value=value if separator else field_id)
    if text[0] != "~":
        _check_field_id(text, text, 0)
        return RSRField(rule=text, field_id=text)

    chunks = text.split(_REGEXP_PART_SEPARATOR)
    field_id = chunks[0][1:]
    if not field_id:
        raise RSRError(text, 1, "missing field id after '~'")
    _check_field_id(field_id, text, 1)
    if len(chunks) == 1:
        raise RSRError(text, len(text), "missing ':s/search/template/' part")
    rules = []
    offset = len(chunks[0]) + len(_REGEXP_PART_SEPARATOR)
    for chunk in chunks[1:]:
        rules.append(_parse_regexp_part(text, chunk, offset))
        offset += len(chunk) + len(_REGEXP_PART_SEPARATOR)
    return RSRField(rule=text, field_id=field_id, regexp_rules=tuple(rules))


def validate_rsr(text: str) -> None:
    """Raise :class:`RSRError` if ``text`` is not a valid rule (for checks at template-save time)."""
    parse_rsr(text)


def split_rsr_list(text: str) -> list[str]:
    """Split a ``,`` or ``;`` separated list of rules, as in CGRateS ``*composed`` values.

    A separator inside an unfinished ``:s/.../.../`` part belongs to the regexp or template (as in
    ``\\d{1,3}``), so it does not split. Whitespace around items is dropped.
    """
    items = []
    start = 0
    for separator in re.finditer(r"[,;]", text):
        if _is_unfinished_regexp_rule(text[start : separator.start()]):
            continue
        items.append((start, text[start : separator.start()]))
        start = separator.end()
    items.append((start, text[start:]))
    result = []
    for item_start, item in items:
        if not item.strip():
            raise RSRError(text, item_start, "empty field in the list")
        result.append(item.strip())
    return result


def parse_rsr_list(text: str) -> tuple[RSRField, ...]:
    """Parse a ``,``/``;`` separated list of rules (see :func:`split_rsr_list`)."""
    return tuple(parse_rsr(item) for item in split_rsr_list(text))


def expand_go_template(template: str, match: re.Match) -> str:
    """Expand ``template`` with the groups of ``match`` the way Go's ``Regexp.Expand`` does.

    ``$name`` or ``${name}`` is replaced by the group; the name is the longest run of letters, digits and
    underscores, so ``$1x`` refers to a group named ``1x`` (empty). A name made of digits is a group number,
    except with a leading zero. A group that does not exist or did not take part in the match is empty.
    ``$$`` is a ``$``; a ``$`` not followed by a valid name or ``{name}`` is copied as it is.
    """
    return compile_go_template(template, match.re)(match)


def compile_go_template(template: str, pattern: re.Pattern) -> Callable[[re.Match], str]:
    """:func:`expand_go_template` for one template and pattern, parsed once: a function of the match."""
    parts: list[str | int] = []  # literal text, or a group number (-1: always empty)
    position = 0
    while True:
        dollar = template.find("$", position)
        if dollar < 0:
            parts.append(template[position:])
            break
        parts.append(template[position:dollar])
        position = dollar + 1
        if template.startswith("$", position):
            parts.append("$")
            position += 1
            continue
        reference = _template_reference(template, position)
        if reference is None:
            parts.append("$")
            continue
        name, number, position = reference
        if number < 0:
            number = pattern.groupindex.get(name, -1)
        parts.append(number if 0 <= number <= pattern.groups else -1)
    merged: list[str | int] = []  # adjacent literals joined
    for part in parts:
        if part == "" or part == -1:
            continue
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    groups = tuple(part for part in merged if isinstance(part, int))
    if not groups:
        text = "".join(merged)  # type: ignore[arg-type]
        return lambda _match: text
    if len(merged) == 1:
        (group,) = groups
        return lambda match: match.group(group) or ""
    if len(merged) == 2 and isinstance(merged[0], str):
        prefix, group = merged
        return lambda match: prefix + (match.group(group) or "")
    frozen = tuple(merged)
    return lambda match: "".join([part if part.__class__ is str else (match.group(part) or "") for part in frozen])


def translate_go_regexp(pattern: str) -> tuple[str, int]:
    """Translate a Go (RE2) regexp to Python ``re`` syntax.

    Returns the Python pattern (to compile with ``re.ASCII``) and the longest input the regexp may run on
    (see the module docstring). Raises :class:`RSRError` with ``rule`` set to ``pattern``.
    """
    try:
        translation = GoRegexpTranslator(pattern).translate()
    except GoPatternError as exc:
        raise RSRError(pattern, exc.position, exc.reason) from None
    return translation.python_pattern, translation.max_input_length


# --- parsing helpers -------------------------------------------------------------------------------


def _check_field_id(field_id: str, rule: str, offset: int) -> None:
    for index, char in enumerate(field_id):
        if char.isspace():
            raise RSRError(rule, offset + index, "whitespace in field id")


def _unescaped_slashes(text: str) -> list[int]:
    """Offsets of the ``/`` in ``text`` that are not escaped by a backslash."""
    slashes = []
    index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == "/":
            slashes.append(index)
        index += 1
    return slashes


def _is_unfinished_regexp_rule(text: str) -> bool:
    text = text.strip()
    if not text.startswith("~") or _REGEXP_PART_SEPARATOR not in text:
        return False
    last_part = text.split(_REGEXP_PART_SEPARATOR)[-1]
    slashes = _unescaped_slashes(last_part)
    return len(slashes) < 2 or slashes[-1] != len(last_part) - 1


def _parse_regexp_part(rule: str, chunk: str, offset: int) -> RegexpRule:
    slashes = _unescaped_slashes(chunk)
    if not slashes:
        raise RSRError(rule, offset + len(chunk), "missing '/' after the search regexp")
    if len(slashes) == 1:
        raise RSRError(rule, offset + len(chunk), "missing closing '/' after the template")
    end = slashes[-1]
    if end != len(chunk) - 1:
        raise RSRError(rule, offset + end + 1, f"unexpected text {chunk[end + 1 :]!r} after the closing '/'")
    search = chunk[: slashes[0]]
    if not search:
        raise RSRError(rule, offset, "empty search regexp")
    try:
        translation = GoRegexpTranslator(search).translate()
    except GoPatternError as exc:
        raise RSRError(rule, offset + exc.position, exc.reason) from None
    return RegexpRule(
        search=search,
        template=chunk[slashes[0] + 1 : end].replace("\\/", "/"),
        pattern=translation.pattern,
        offset=offset,
        max_input_length=translation.max_input_length,
    )


def _template_reference(template: str, position: int) -> tuple[str, int, int] | None:
    """Parse ``name`` or ``{name}`` after a ``$``: (name, group number or -1, end), None if malformed."""
    braced = template.startswith("{", position)
    start = end = position + 1 if braced else position
    while end < len(template) and _is_name_char(template[end]):
        end += 1
    if end == start:
        return None
    name = template[start:end]
    if braced:
        if not template.startswith("}", end):
            return None
        end += 1
    # Go reads at most 9 ASCII digits as a number and refuses leading zeros; anything else is a name.
    is_number = name.isascii() and name.isdigit() and len(name) <= 9 and (name == "0" or name[0] != "0")
    return name, int(name) if is_number else -1, end


def _is_name_char(char: str) -> bool:
    # Go's unicode.IsLetter / IsDigit: categories L* and Nd (isalnum would also take other numerics like ²).
    return char.isalpha() or char.isdecimal() or char == "_"
