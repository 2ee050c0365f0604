"""Go (RE2) regexps translated to Python ``re`` syntax, with a guard against slow regexps.

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
from dataclasses import dataclass

MAX_REGEXP_INPUT = 4096
REGEXP_STEP_BUDGET = 4_000_000
MIN_REGEXP_INPUT = 32
GO_MAX_REPEAT = 1000  # Go rejects larger repeat counts


class GoPatternError(Exception):
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


class GoRegexpTranslator:
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
            raise GoPatternError(self.stack[-1].start, "missing closing )")
        if self.stack[0].branches > 1:
            self.alternations.append(self.stack[0].branches)
            self.anchored = False
        python_pattern = "".join(self.pieces)
        try:
            compiled = re.compile(python_pattern, re.ASCII)
        except re.error as exc:
            raise GoPatternError(self._source_position(exc.pos or 0), exc.msg) from None
        max_input = self._max_input_length()
        if max_input < MIN_REGEXP_INPUT:
            raise GoPatternError(
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

    def _close_group(self, position: int) -> int:
        if len(self.stack) == 1:
            raise GoPatternError(position, "unexpected )")
        group = self.stack.pop()
        if group.branches > 1:
            self.alternations.append(group.branches)
        self.stack[-1].risky |= group.risky
        self._emit(")", position, "group")
        self.last_group = group
        return position + 1

    def _repeat(self, position: int) -> int:
        repeat = _REPEAT.match(self.pattern, position)
        if repeat is None:  # Go takes a { that starts no valid repeat (like {,3}) literally
            self._emit("\\{", position, "atom")
            return position + 1
        low = int(repeat.group(1))
        high = low if repeat.group(2) is None else (int(repeat.group(3)) if repeat.group(3) else None)
        if low > GO_MAX_REPEAT or (high is not None and (high > GO_MAX_REPEAT or high < low)):
            raise GoPatternError(position, f"invalid repeat count {repeat.group(0)}")
        return self._quantifier(position, repeat.end(), low, high)

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
            return self._close_group(position)
        if char == "|":
            self.stack[-1].branches += 1
            self.stack[-1].risky = True
            self._emit("|", position, None)
            return position + 1
        if char in _SIMPLE_QUANTIFIERS:
            low, high = _SIMPLE_QUANTIFIERS[char]
            return self._quantifier(position, position + 1, low, high)
        if char == "{":
            return self._repeat(position)
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
            raise GoPatternError(position, "nothing to repeat")
        if self.last == "quantified":
            raise GoPatternError(position, "invalid nested repetition operator")
        if self.pattern.startswith("?", end):  # lazy
            end += 1
        repeats = high is None or high > 1
        if repeats and self.last == "group" and self.last_group is not None and self.last_group.risky:
            raise GoPatternError(
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
                raise GoPatternError(position, "lookaround assertions are not supported (Go RE2 syntax)")
        named = re.compile(r"\(\?P?<([^>]*)>").match(pattern, position)
        if named:
            if not re.fullmatch(r"[A-Za-z0-9_]+", named.group(1)):
                raise GoPatternError(position, f"invalid capture group name {named.group(1)!r}")
            self.stack.append(_Group(position, parent.multiline))
            self._emit(f"(?P<{named.group(1)}>", position, None)
            return named.end()
        flags = _FLAGS.match(pattern, position)
        if flags is None:
            raise GoPatternError(position, "invalid or unsupported group syntax")
        set_flags, cleared_flags, terminator = flags.group(1), flags.group(2), flags.group(3)
        if "U" in set_flags + (cleared_flags or ""):
            raise GoPatternError(position, "the U (ungreedy) flag is not supported")
        if not set_flags and not cleared_flags:
            if terminator == ")":
                raise GoPatternError(position, "empty flag group")
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
            raise GoPatternError(position, "flags like (?i) are only supported at the start; use (?i:...)")
        parent.multiline = multiline
        self._emit(flags.group(0), position, None)
        self.seen_token = False  # a leading flag group does not stop ^ from anchoring the pattern
        return flags.end()

    def _escape(self, position: int, in_class: bool) -> tuple[str, int, str | None]:
        """Translate the escape at ``position``: (Python text, end, kind for a following quantifier)."""
        pattern = self.pattern
        if position + 1 >= len(pattern):
            raise GoPatternError(position, "trailing backslash at end of expression")
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
                    raise GoPatternError(position, "invalid escape sequence \\x{...}")
                return f"\\U{int(digits, 16):08x}", close + 1, "atom"
            if len(pattern) >= position + 4 and all(d in _HEX for d in pattern[position + 2 : position + 4]):
                return pattern[position : position + 4], position + 4, "atom"
            raise GoPatternError(position, "invalid escape sequence \\x")
        if char in _OCTAL:
            end = position + 2
            if char != "0" and not pattern.startswith(tuple(_OCTAL), end):
                raise GoPatternError(position, "backreferences are not supported (Go RE2 syntax)")
            value = int(char)
            while end < min(position + 4, len(pattern)) and pattern[end] in _OCTAL:
                value = value * 8 + int(pattern[end])
                end += 1
            return f"\\U{value:08x}", end, "atom"
        if char in "89":
            raise GoPatternError(position, "backreferences are not supported (Go RE2 syntax)")
        if char == "Q" and not in_class:
            close = pattern.find("\\E", position + 2)
            literal = pattern[position + 2 :] if close < 0 else pattern[position + 2 : close]
            end = len(pattern) if close < 0 else close + 2
            return re.escape(literal), end, "atom" if literal else self.last
        if char in "pP":
            raise GoPatternError(position, "Unicode classes (\\p, \\P) are not supported")
        if char.isascii() and char.isalnum():
            raise GoPatternError(position, f"invalid escape sequence \\{char}")
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
                raise GoPatternError(position, "missing closing ]")
            char = pattern[index]
            if char == "]" and not first:
                parts.append("]")
                return "".join(parts), index + 1
            first = False
            if pattern.startswith("[:", index) and ":]" in pattern[index + 2 :]:
                close = pattern.index(":]", index + 2)
                name = pattern[index + 2 : close]
                if name not in _POSIX_CLASSES:
                    raise GoPatternError(index, f"unsupported character class [:{name}:]")
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
