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

Guard against slow regexps
    RE2 runs in linear time; Python's backtracking ``re`` does not: ``(a+)+$`` takes exponential time and
    even ``\\d*\\d*x`` takes cubic time on a long input. Python's ``re`` cannot be interrupted from another
    thread, so the guard works on sizes, decided when the rule is parsed:

    1. A repeated group (``*``, ``+``, ``{n,}``, ``{n,m}`` with m > 1) may not contain a variable
       repetition or an alternation: ``(a+)+``, ``(a|aa)*``, ``(a?){2,9}`` are rejected. Without them,
       the backtracking work is bounded by a product over the variable quantifiers and alternations.
    2. That product gives a worst-case step count for an input of n characters:
       ``(n+1 unless anchored by a leading ^) * prod(min(n+1, max-min+1) per variable quantifier)
       * prod(branches per alternation)``. Each regexp part accepts inputs up to the largest n whose
       count stays within :data:`REGEXP_STEP_BUDGET` (at most :data:`MAX_REGEXP_INPUT` characters);
       a part that could not even take :data:`MIN_REGEXP_INPUT` characters is rejected as too complex.
    3. A longer input raises :class:`RSRError` when the rule is applied; the exporter reports that CDR
       as not exported instead of hanging. The budget keeps the worst case to tens of milliseconds of
       CPython matching per value; typical rules (``^\\+49(\\d+)``, ``^.*(x)$``) take values of up to
       4096 characters, ``(\\d+)(\\d+)x`` up to 157.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

MAX_REGEXP_INPUT = 4096
REGEXP_STEP_BUDGET = 4_000_000
MIN_REGEXP_INPUT = 32

_REGEXP_PART_SEPARATOR = ":s/"
_GO_MAX_REPEAT = 1000  # Go rejects larger repeat counts


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
        translation = _GoRegexpTranslator(pattern).translate()
    except _PatternError as exc:
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
        translation = _GoRegexpTranslator(search).translate()
    except _PatternError as exc:
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


# --- Go regexp translation -------------------------------------------------------------------------


class _PatternError(Exception):
    def __init__(self, position: int, reason: str):
        super().__init__(reason)
        self.position = position
        self.reason = reason


@dataclass(frozen=True)
class _Translation:
    python_pattern: str
    pattern: re.Pattern
    max_input_length: int


class _Group:
    """An open group while scanning: what it contains matters for the nested-repetition check."""

    __slots__ = ("start", "multiline", "risky", "branches")

    def __init__(self, start: int, multiline: bool):
        self.start = start
        self.multiline = multiline
        self.risky = False  # contains a variable repetition or an alternation
        self.branches = 1


_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_ANCHOR_ESCAPES = {"A": "\\A", "z": "\\Z", "b": "\\b", "B": "\\B"}
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_FLAGS = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?([:)])")
_SIMPLE_QUANTIFIERS = {"*": (0, None), "+": (1, None), "?": (0, 1)}


class _GoRegexpTranslator:
    """One pass over a Go regexp: emits Python syntax and collects what the complexity guard needs."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.pieces: list[str] = []
        self.piece_sources: list[int] = []  # where each piece comes from in the Go pattern
        self.stack = [_Group(0, multiline=False)]
        self.variable_ranges: list[int | None] = []  # max-min of each variable quantifier, None if unbounded
        self.alternations: list[int] = []  # branch count of each group with a |
        self.last: str | None = None  # what a quantifier would apply to: None, "atom", "group", "quantified"
        self.last_group: _Group | None = None
        self.anchored = False
        self.seen_token = False

    def translate(self) -> _Translation:
        position = 0
        while position < len(self.pattern):
            position = self._token(position)
        if len(self.stack) > 1:
            raise _PatternError(self.stack[-1].start, "missing closing )")
        if self.stack[0].branches > 1:
            self.alternations.append(self.stack[0].branches)
            self.anchored = False
        python_pattern = "".join(self.pieces)
        try:
            compiled = re.compile(python_pattern, re.ASCII)
        except re.error as exc:
            raise _PatternError(self._source_position(exc.pos or 0), exc.msg) from None
        max_input = self._max_input_length()
        if max_input < MIN_REGEXP_INPUT:
            raise _PatternError(
                0,
                f"regexp too complex: with {len(self.variable_ranges)} variable repetitions it could only "
                f"run on values up to {max(max_input, 0)} characters; anchor it with ^ or use fixed counts "
                "like {3}",
            )
        return _Translation(python_pattern, compiled, max_input)

    def _emit(self, text: str, source: int, kind: str | None) -> None:
        """Add Python text; ``kind`` is what a following quantifier would repeat."""
        self.pieces.append(text)
        self.piece_sources.append(source)
        self.last = kind
        self.seen_token = True

    def _source_position(self, python_position: int) -> int:
        starts, total = [], 0
        for piece in self.pieces:
            starts.append(total)
            total += len(piece)
        if not self.pieces:
            return 0
        index = max(bisect_right(starts, python_position) - 1, 0)
        source = self.piece_sources[index]
        piece = self.pieces[index]
        if self.pattern.startswith(piece, source):  # copied verbatim: the offset inside it is exact
            return source + python_position - starts[index]
        return source

    def _token(self, position: int) -> int:
        pattern = self.pattern
        char = pattern[position]
        if char == "\\":
            text, end, kind = self._escape(position, in_class=False)
            if text == "\\A" and not self.seen_token and len(self.stack) == 1:
                self.anchored = True
            self._emit(text, position, kind)
            return end
        if char == "[":
            text, end = self._char_class(position)
            self._emit(text, position, "atom")
            return end
        if char == "(":
            return self._open_group(position)
        if char == ")":
            if len(self.stack) == 1:
                raise _PatternError(position, "unexpected )")
            group = self.stack.pop()
            if group.branches > 1:
                self.alternations.append(group.branches)
            self.stack[-1].risky |= group.risky
            self._emit(")", position, "group")
            self.last_group = group
            return position + 1
        if char == "|":
            self.stack[-1].branches += 1
            self.stack[-1].risky = True
            self._emit("|", position, None)
            return position + 1
        if char in _SIMPLE_QUANTIFIERS:
            low, high = _SIMPLE_QUANTIFIERS[char]
            return self._quantifier(position, position + 1, low, high)
        if char == "{":
            repeat = _REPEAT.match(pattern, position)
            if repeat is None:  # Go takes a { that starts no valid repeat (like {,3}) literally
                self._emit("\\{", position, "atom")
                return position + 1
            low = int(repeat.group(1))
            high = low if repeat.group(2) is None else (int(repeat.group(3)) if repeat.group(3) else None)
            if low > _GO_MAX_REPEAT or (high is not None and (high > _GO_MAX_REPEAT or high < low)):
                raise _PatternError(position, f"invalid repeat count {repeat.group(0)}")
            return self._quantifier(position, repeat.end(), low, high)
        if char == "^":
            if not self.seen_token and len(self.stack) == 1 and not self.stack[0].multiline:
                self.anchored = True
            self._emit("^", position, None)
            return position + 1
        if char == "$":  # without (?m) Go's $ is the end of the text, Python's also matches before a final \n
            self._emit("$" if self.stack[-1].multiline else "\\Z", position, None)
            return position + 1
        self._emit(char, position, "atom")
        return position + 1

    def _quantifier(self, position: int, end: int, low: int, high: int | None) -> int:
        if self.last is None:
            raise _PatternError(position, "nothing to repeat")
        if self.last == "quantified":
            raise _PatternError(position, "invalid nested repetition operator")
        if self.pattern.startswith("?", end):  # lazy
            end += 1
        repeats = high is None or high > 1
        if repeats and self.last == "group" and self.last_group is not None and self.last_group.risky:
            raise _PatternError(
                position,
                "a repeated group may not contain a variable repetition or an alternation "
                "(like (a+)+ or (a|b)*): it can take exponential time; use a character class or "
                "a single repetition instead",
            )
        if high != low:
            self.stack[-1].risky = True
            self.variable_ranges.append(None if high is None else high - low)
        self._emit(self.pattern[position:end], position, "quantified")
        return end

    def _open_group(self, position: int) -> int:
        pattern = self.pattern
        parent = self.stack[-1]
        if not pattern.startswith("(?", position):
            self.stack.append(_Group(position, parent.multiline))
            self._emit("(", position, None)
            return position + 1
        for lookaround in ("(?=", "(?!", "(?<=", "(?<!"):
            if pattern.startswith(lookaround, position):
                raise _PatternError(position, "lookaround assertions are not supported (Go RE2 syntax)")
        named = re.compile(r"\(\?P?<([^>]*)>").match(pattern, position)
        if named:
            if not re.fullmatch(r"[A-Za-z0-9_]+", named.group(1)):
                raise _PatternError(position, f"invalid capture group name {named.group(1)!r}")
            self.stack.append(_Group(position, parent.multiline))
            self._emit(f"(?P<{named.group(1)}>", position, None)
            return named.end()
        flags = _FLAGS.match(pattern, position)
        if flags is None:
            raise _PatternError(position, "invalid or unsupported group syntax")
        set_flags, cleared_flags, terminator = flags.group(1), flags.group(2), flags.group(3)
        if "U" in set_flags + (cleared_flags or ""):
            raise _PatternError(position, "the U (ungreedy) flag is not supported")
        if not set_flags and not cleared_flags:
            if terminator == ")":
                raise _PatternError(position, "empty flag group")
            self.stack.append(_Group(position, parent.multiline))
            self._emit("(?:", position, None)
            return flags.end()
        multiline = parent.multiline
        if "m" in set_flags:
            multiline = True
        if cleared_flags and "m" in cleared_flags:
            multiline = False
        if terminator == ":":
            self.stack.append(_Group(position, multiline))
            self._emit(flags.group(0), position, None)
            return flags.end()
        # Python only takes (?flags) at the very start of the pattern, where it means the same as in Go.
        if self.seen_token or cleared_flags is not None:
            raise _PatternError(position, "flags like (?i) are only supported at the start; use (?i:...)")
        parent.multiline = multiline
        self._emit(flags.group(0), position, None)
        self.seen_token = False  # a leading flag group does not stop ^ from anchoring the pattern
        return flags.end()

    def _escape(self, position: int, in_class: bool) -> tuple[str, int, str | None]:
        """Translate the escape at ``position``: (Python text, end, kind for a following quantifier)."""
        pattern = self.pattern
        if position + 1 >= len(pattern):
            raise _PatternError(position, "trailing backslash at end of expression")
        char = pattern[position + 1]
        if char in _ANCHOR_ESCAPES and not in_class:
            return _ANCHOR_ESCAPES[char], position + 2, None
        if char in "dDsSwWafnrtv":
            return pattern[position : position + 2], position + 2, "atom"
        if char == "x":
            if pattern.startswith("{", position + 2):
                close = pattern.find("}", position + 3)
                digits = pattern[position + 3 : close] if close > 0 else ""
                if not digits or any(d not in _HEX for d in digits) or int(digits, 16) > 0x10FFFF:
                    raise _PatternError(position, "invalid escape sequence \\x{...}")
                return f"\\U{int(digits, 16):08x}", close + 1, "atom"
            if len(pattern) >= position + 4 and all(d in _HEX for d in pattern[position + 2 : position + 4]):
                return pattern[position : position + 4], position + 4, "atom"
            raise _PatternError(position, "invalid escape sequence \\x")
        if char in _OCTAL:
            end = position + 2
            if char != "0" and not pattern.startswith(tuple(_OCTAL), end):
                raise _PatternError(position, "backreferences are not supported (Go RE2 syntax)")
            value = int(char)
            while end < min(position + 4, len(pattern)) and pattern[end] in _OCTAL:
                value = value * 8 + int(pattern[end])
                end += 1
            return f"\\U{value:08x}", end, "atom"
        if char in "89":
            raise _PatternError(position, "backreferences are not supported (Go RE2 syntax)")
        if char == "Q" and not in_class:
            close = pattern.find("\\E", position + 2)
            literal = pattern[position + 2 :] if close < 0 else pattern[position + 2 : close]
            end = len(pattern) if close < 0 else close + 2
            return re.escape(literal), end, "atom" if literal else self.last
        if char in "pP":
            raise _PatternError(position, "Unicode classes (\\p, \\P) are not supported")
        if char.isascii() and char.isalnum():
            raise _PatternError(position, f"invalid escape sequence \\{char}")
        return pattern[position : position + 2], position + 2, "atom"

    def _char_class(self, position: int) -> tuple[str, int]:
        pattern = self.pattern
        parts = ["["]
        index = position + 1
        if pattern.startswith("^", index):
            parts.append("^")
            index += 1
        first = True
        while True:
            if index >= len(pattern):
                raise _PatternError(position, "missing closing ]")
            char = pattern[index]
            if char == "]" and not first:
                parts.append("]")
                return "".join(parts), index + 1
            first = False
            if pattern.startswith("[:", index) and ":]" in pattern[index + 2 :]:
                close = pattern.index(":]", index + 2)
                name = pattern[index + 2 : close]
                if name not in _POSIX_CLASSES:
                    raise _PatternError(index, f"unsupported character class [:{name}:]")
                parts.append(_POSIX_CLASSES[name])
                index = close + 2
                continue
            if char == "\\":
                text, index, _ = self._escape(index, in_class=True)
                parts.append(text)
                continue
            # Escaped so that Python does not read them as (future) set operations or a nested set.
            parts.append("\\" + char if char in "[]&~|" else char)
            index += 1

    def _max_input_length(self) -> int:
        def steps(length: int) -> int:
            total = 1 if self.anchored else length + 1
            for variable_range in self.variable_ranges:
                total *= length + 1 if variable_range is None else min(length + 1, variable_range + 1)
            for branches in self.alternations:
                total *= branches
            return total

        if steps(0) > REGEXP_STEP_BUDGET:
            return -1
        low, high = 0, MAX_REGEXP_INPUT
        while low < high:  # largest length within the budget
            middle = (low + high + 1) // 2
            if steps(middle) <= REGEXP_STEP_BUDGET:
                low = middle
            else:
                high = middle - 1
        return low
