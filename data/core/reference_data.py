"""Reference tables built from public sources, not typed by hand.

- countries: ISO 3166 from ``pycountry`` (plus Kosovo, which ISO has not assigned).
- dial prefixes: country calling codes from ``phonenumbers``. Where several countries share a
  calling code (NANP +1, +7, +44, ...), the longer prefixes of the smaller countries are found by
  asking ``phonenumbers`` which region owns sample numbers under each prefix.
- hangup causes and the SIP → Q.850 map: the CSV tables shipped in ``data/reference/``.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

import phonenumbers
import pycountry
from phonenumbers import PhoneNumber
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"

# ISO 3166 has no code for Kosovo; XK/XKX is the user-assigned code everyone uses (EU, phonenumbers).
COUNTRY_OVERRIDES = {"XK": ("XKX", "Kosovo")}
# Calling codes that phonenumbers gives to a region pycountry lacks, or to no region at all.
PREFIX_OVERRIDES = {"383": "XK"}

# Digits tried after a prefix to ask phonenumbers who owns it (a few subscriber-number shapes).
_SAMPLE_TAILS = ("2345678", "5550123", "9876543", "4567890", "3210987", "6543210", "8123456", "7000000", "1234567")


def countries() -> list[tuple[str, str, str]]:
    """(alpha-2, alpha-3, English name) for every country."""
    rows = {c.alpha_2: (c.alpha_2, c.alpha_3, getattr(c, "common_name", None) or c.name) for c in pycountry.countries}
    for alpha2, (alpha3, name) in COUNTRY_OVERRIDES.items():
        rows[alpha2] = (alpha2, alpha3, name)
    return sorted(rows.values())


def _owners(cc: int, prefix: str, length: int) -> set[str]:
    """Regions that own sample numbers starting with ``prefix`` (national digits)."""
    owners = set()
    for tail in _SAMPLE_TAILS:
        national = (prefix + tail * 2)[:length]
        region = phonenumbers.region_code_for_number(PhoneNumber(country_code=cc, national_number=int(national)))
        if region and region != "001":
            owners.add(region)
    return owners


def _sub_prefixes(cc: int, main: str, regions: set[str]) -> dict[str, str]:
    """Prefixes (after the calling code) owned by a region other than the main one."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(main)
    length = max(metadata.general_desc.possible_length or (10,))
    found: dict[str, str] = {}

    def explore(prefix: str) -> None:
        owners = _owners(cc, prefix, length) & regions
        if len(owners) == 1 and len(prefix) >= 2:
            (owner,) = owners
            if owner != main:
                found[prefix] = owner
        elif owners - {main} and len(prefix) < 5:
            for digit in "0123456789":
                explore(prefix + digit)

    for head in range(10, 100):  # national numbers after a calling code do not start with 0
        explore(f"{head:02d}")
    return _compact(found)


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


@lru_cache(maxsize=1)
def dial_prefixes() -> dict[str, str]:
    """Dial prefix (digits, no +) → ISO alpha-2 country."""
    known = {alpha2 for alpha2, _, _ in countries()}
    result: dict[str, str] = {}
    for cc, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        regions = [r for r in regions if r in known]
        if not regions:
            continue
        main = phonenumbers.region_code_for_country_code(cc)
        main = main if main in known else regions[0]
        result[str(cc)] = main
        if len(regions) > 1:
            for sub, owner in _sub_prefixes(cc, main, set(regions)).items():
                result[f"{cc}{sub}"] = owner
    result.update(PREFIX_OVERRIDES)
    return result


def _leading_int(text: str) -> int | None:
    match = re.match(r"\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def hangup_causes() -> list[dict]:
    """Every Q.850 cause (plus FreeSWITCH's own 4xx-6xx codes) with name, class and SIP mapping."""
    rows = []
    with open(REFERENCE_DIR / "q850-causes.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            name = row["name"].strip()
            if name.startswith("("):  # the table explains itself instead of naming code 47
                quoted = re.search(r'"([^"]+)"', name)
                described = quoted.group(1) if quoted else f"cause {row['q850_code']}"
                name = re.sub(r"\W+", "_", described).strip("_").upper()
            rows.append(
                {
                    "code": int(row["q850_code"]),
                    "name": name,
                    "class": row["class"].strip(),
                    "sip_response": (row["sip_response_rfc3398"] or row["sip_response_freeswitch"]).strip() or None,
                    "ner_success": row["counts_as_ner_success"].strip().upper() == "Y",
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
