"""Reference tables built from public sources, not typed by hand.

- countries: ISO 3166 from ``pycountry`` (plus Kosovo, which ISO has not assigned).
- dial prefixes: country calling codes from ``phonenumbers``. Where several regions share a calling
  code (NANP +1, +7, +44, +590, ...), the longer prefixes of each region come from phonenumbers'
  metadata: its leading digits and national number patterns, read the way phonenumbers reads them.
- hangup causes and the SIP → Q.850 map: the CSV tables shipped in ``data/reference/``.
"""

from __future__ import annotations

import csv
import re
import re._parser as sre_parse
from functools import cache, lru_cache
from pathlib import Path

import phonenumbers
import pycountry
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"

# ISO 3166 has no code for Kosovo; XK/XKX is the user-assigned code everyone uses (EU, phonenumbers).
COUNTRY_OVERRIDES = {"XK": ("XKX", "Kosovo")}
# Calling codes that phonenumbers gives to a region pycountry lacks, or to no region at all.
PREFIX_OVERRIDES = {"383": "XK"}


def countries() -> list[tuple[str, str, str]]:
    """(alpha-2, alpha-3, English name) for every country."""
    rows = {c.alpha_2: (c.alpha_2, c.alpha_3, getattr(c, "common_name", None) or c.name) for c in pycountry.countries}
    for alpha2, (alpha3, name) in COUNTRY_OVERRIDES.items():
        rows[alpha2] = (alpha2, alpha3, name)
    return sorted(rows.values())


# --- Dial prefixes of regions sharing a calling code, from phonenumbers' metadata ---
#
# phonenumbers decides the region of a number of a shared calling code (region_code_for_number) by
# trying the code's regions in its metadata's order: a region with ``leading_digits`` owns the numbers
# those digits start; a region without owns the numbers its national number pattern accepts. The
# table applies the same rule to prefixes: a prefix goes to a region when every number under it that
# phonenumbers would give a region goes to that one. That needs "can some number starting with these
# digits match this pattern?", answered on the pattern's parse tree (no sample numbers).

_END = object()  # the digits ran out inside the pattern: some longer number may match


def _ends(items: list, digits: str, at: int):
    """Positions in ``digits`` where the pattern ``items`` (an sre parse list) can end, from ``at``,
    and _END when the digits run out before the pattern does."""
    if not items:
        yield at
        return
    for after in _item_ends(items[0], digits, at):
        if after is _END:
            yield _END
        else:
            yield from _ends(items[1:], digits, after)


def _item_ends(item, digits: str, at: int):
    op, arg = item
    name = str(op)
    if name == "AT":
        yield at
        return
    if name in ("MAX_REPEAT", "MIN_REPEAT"):
        low, high, sub = arg
        yield from _repeat_ends(list(sub), low, high, digits, at, 0)
        return
    if at == len(digits):
        yield _END
        return
    if name == "LITERAL":
        if digits[at] == chr(arg):
            yield at + 1
    elif name == "ANY":
        yield at + 1
    elif name == "IN":
        if _in_class(arg, digits[at]):
            yield at + 1
    elif name == "SUBPATTERN":
        yield from _ends(list(arg[-1]), digits, at)
    elif name == "BRANCH":
        for branch in arg[1]:
            yield from _ends(list(branch), digits, at)
    else:
        raise ValueError(f"unexpected pattern element {name}")


def _repeat_ends(sub: list, low: int, high, digits: str, at: int, count: int):
    if count >= low:
        yield at
    if count < high:
        for after in _ends(sub, digits, at):
            if after is _END:
                yield _END
            elif after != at:
                yield from _repeat_ends(sub, low, high, digits, after, count + 1)


def _in_class(members, char: str) -> bool:
    code, negate, found = ord(char), False, False
    for op, arg in members:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            found |= code == arg
        elif name == "RANGE":
            found |= arg[0] <= code <= arg[1]
        elif name == "CATEGORY":
            found |= str(arg) == "CATEGORY_DIGIT" and char.isdigit()
    return found != negate


@cache
def _parsed(pattern: str) -> list:
    return list(sre_parse.parse(pattern))


def could_start(pattern: str | None, digits: str) -> bool:
    """Whether some number starting with ``digits`` matches ``pattern`` whole."""
    if not pattern:
        return False
    return any(end is _END or end == len(digits) for end in _ends(_parsed(pattern), digits, 0))


def _claims(metadata, digits: str) -> str:
    """How a region claims the numbers starting with ``digits``: "all", "some" or "none"."""
    if metadata.leading_digits:
        if re.match(metadata.leading_digits, digits):
            return "all"
        return "some" if could_start(metadata.leading_digits, digits) else "none"
    return "some" if any(could_start(pattern, digits) for pattern in _type_patterns(metadata.id)) else "none"


_NUMBER_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@cache
def _type_patterns(region: str) -> tuple[str, ...]:
    """The patterns a number must match one of to be valid in ``region`` (phonenumbers' number types)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    descs = (getattr(metadata, name) for name in _NUMBER_TYPES)
    return tuple(d.national_number_pattern for d in descs if d is not None and d.national_number_pattern)


MAX_SUB_PREFIX = 5  # national digits examined under a shared code (IM 74576 needs 5)


def _owner(regions: list[str], digits: str) -> tuple[str | None, bool]:
    """(the first region of phonenumbers' order that can own a number under ``digits``, or None;
    whether it owns every number under them that any region owns)."""
    claims = [(region, _claims(phonenumbers.PhoneMetadata.metadata_for_region(region), digits)) for region in regions]
    for i, (region, claim) in enumerate(claims):
        if claim == "all":
            return region, True
        if claim == "some":
            by_pattern = not phonenumbers.PhoneMetadata.metadata_for_region(region).leading_digits
            later = any(c != "none" for _, c in claims[i + 1 :])
            # a region without leading digits takes what its pattern accepts, the rest may go to later ones
            return region, by_pattern and not later
    return None, True


def shared_prefixes(cc: int, regions: list[str], main: str) -> tuple[dict[str, str], dict[str, str]]:
    """({national prefix: region} where a region other than ``main`` owns every number under it,
    {national prefix: region} of prefixes still shared at MAX_SUB_PREFIX digits, given to the first
    region of phonenumbers' order that accepts numbers under them)."""
    found: dict[str, str] = {}
    shared: dict[str, str] = {}

    def explore(digits: str) -> None:
        owner, decided = _owner(regions, digits)
        if owner is None:
            return
        if not decided and len(digits) < MAX_SUB_PREFIX:
            for digit in "0123456789":
                explore(digits + digit)
            return
        if not decided:
            shared[digits] = owner
        if owner != main and digits:
            found[digits] = owner

    explore("")
    return _compact(found), shared


def _compact(prefixes: dict[str, str]) -> dict[str, str]:
    """Merge ten sibling prefixes with one owner into their parent, repeatedly."""
    changed = True
    while changed:
        changed = False
        parents: dict[str, set[str]] = {}
        for prefix, owner in prefixes.items():
            if len(prefix) > 1:
                parents.setdefault(prefix[:-1], set()).add(owner)
        for parent, owners in parents.items():
            children = [parent + d for d in "0123456789"]
            if len(owners) == 1 and all(c in prefixes for c in children):
                (owner,) = owners
                for c in children:
                    del prefixes[c]
                prefixes[parent] = owner
                changed = True
    return prefixes


def _regions_of(cc: int, known: set[str]) -> tuple[list[str], str | None]:
    regions = [r for r in COUNTRY_CODE_TO_REGION_CODE[cc] if r in known]
    if not regions:
        return [], None
    main = phonenumbers.region_code_for_country_code(cc)
    return regions, main if main in known else regions[0]


@lru_cache(maxsize=1)
def _shared_tables() -> dict[int, tuple[str, dict[str, str], dict[str, str]]]:
    known = {alpha2 for alpha2, _, _ in countries()}
    tables = {}
    for cc in COUNTRY_CODE_TO_REGION_CODE:
        regions, main = _regions_of(cc, known)
        if regions:
            tables[cc] = (main, *(shared_prefixes(cc, regions, main) if len(regions) > 1 else ({}, {})))
    return tables


def dial_prefixes() -> dict[str, str]:
    """Dial prefix (digits, no +) → ISO alpha-2 country."""
    result: dict[str, str] = {}
    for cc, (main, found, _) in _shared_tables().items():
        result[str(cc)] = main
        result.update({f"{cc}{sub}": owner for sub, owner in found.items()})
    result.update(PREFIX_OVERRIDES)
    return result


def ambiguous_prefixes() -> dict[str, str]:
    """Prefixes (calling code + national digits) under which phonenumbers' patterns still let more than
    one region own numbers at MAX_SUB_PREFIX digits, with the region the table gives them."""
    return {f"{cc}{sub}": owner for cc, (_, _, shared) in _shared_tables().items() for sub, owner in shared.items()}


def _leading_int(text: str) -> int | None:
    match = re.match(r"\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def hangup_causes() -> list[dict]:
    """Every cause ITU-T Q.850 defines, plus FreeSWITCH's own (0, 45, 52, 54, 142, 487, 5xx, 6xx), with
    name, class (the operator's grouping), Q.850 class and text, SIP mapping and NER success."""
    rows = []
    with open(REFERENCE_DIR / "q850-causes.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            rows.append(
                {
                    "code": int(row["q850_code"]),
                    "name": row["name"].strip(),
                    "class": row["class"].strip(),
                    "sip_response": (row["sip_response_rfc3398"] or row["sip_response_freeswitch"]).strip() or None,
                    "ner_success": row["counts_as_ner_success"].strip().upper() == "Y",
                    "source": row["source"].strip(),
                    "q850_class": row["q850_class"].strip(),
                    "description": row["description"].strip(),
                }
            )
    return rows


def sip_to_q850() -> dict[int, int]:
    """SIP final response → Q.850 cause: RFC 3398 where it says, else FreeSWITCH's mapping."""
    mapping = {}
    with open(REFERENCE_DIR / "sip-to-q850.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            code = _leading_int(row["rfc3398_8.2.6.1_q850"]) or _leading_int(row["freeswitch_sofia_q850"])
            if code is not None:
                mapping[int(row["sip_code"])] = code
    return mapping
