"""Every written form of every example number phonenumbers knows lands on its region.

phonenumbers ships an example number per region and number type (``example_number_for_type``). Each
is written in the forms CDRs carry (``+``, ``00``, ``+00``, ``011``, a DTMF tail, a ``sip:…@host``
URI, and the national form with the region's own trunk prefix), normalised by ``normalise_number``
(and by the import's SQL), and looked up in the ``dial_prefix`` table: the country must be the
region. Where phonenumbers' own patterns let several regions own a number range (shared ranges of
+1, +44, +61, +262, +590: ``reference_data.ambiguous_prefixes``), the table gives the range to the
first region in phonenumbers' order, which is also what ``phonenumbers.region_code_for_number``
says, and the test expects that (docs/ingestion.md, "Shared calling codes").
"""

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from data.core import db, reference_data
from data.core.normalise import INTERNATIONAL, NATIONAL, normalise_number, normalise_sql
from data.core.settings import NumberPlan

TYPES = [value for name, value in vars(PhoneNumberType).items() if name.isupper() and name != "UNKNOWN"]
KNOWN = {alpha2 for alpha2, _, _ in reference_data.countries()}
DEFAULT = NumberPlan()


def _examples() -> list[tuple[str, int, str, str]]:
    """(region, calling code, national significant number, the region phonenumbers gives it)."""
    found = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for number_type in TYPES:
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is None:
                continue
            nsn = phonenumbers.national_significant_number(example)
            found.add((region, example.country_code, nsn, phonenumbers.region_code_for_number(example)))
    return sorted(found)


EXAMPLES = _examples()
INTERNATIONAL_FORMS = {
    "+": "+{cc}{nsn}",
    "00": "00{cc}{nsn}",
    "+00": "+00{cc}{nsn}",
    "011": "011{cc}{nsn}",
    "DTMF tail": "+{cc}{nsn}#123",
    "w tail": "00{cc}{nsn}w45",
    "@host": "sip:+{cc}{nsn}@pbx.example.com",
    "+0 @host": "sip:+0{cc}{nsn}@10.0.0.1;user=phone",
    "bare": "{cc}{nsn}",
}


def _prefixes() -> dict[str, str]:
    return reference_data.dial_prefixes()


def test_the_examples_cover_every_region_and_type():
    regions = {region for region, *_ in EXAMPLES}
    assert len(EXAMPLES) > 1000
    assert regions == set(phonenumbers.SUPPORTED_REGIONS)


def test_examples_phonenumbers_places_elsewhere_lie_in_ranges_shared_under_one_calling_code():
    """E.g. AG's personal number 1 500 234 5678: a NANP-wide range, which phonenumbers gives to US."""
    moved = [(r, cc, pr) for r, cc, _, pr in EXAMPLES if pr != r]
    assert moved, "phonenumbers lists a few shared ranges under the smaller regions"
    for region, cc, placed in moved:
        assert placed in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[cc], (region, cc, placed)


@pytest.mark.parametrize("form", list(INTERNATIONAL_FORMS))
def test_every_form_of_every_example_lands_on_its_region(form):
    prefixes, wrong = _prefixes(), []
    for region, cc, nsn, placed in EXAMPLES:
        if region not in KNOWN:
            continue
        written = INTERNATIONAL_FORMS[form].format(cc=cc, nsn=nsn)
        result = normalise_number(written, DEFAULT, prefixes)
        if form != "bare" or len(f"{cc}{nsn}") > DEFAULT.pn_max_digits:
            assert result.kind == INTERNATIONAL, (written, result.steps)
        if result.normalised == f"{cc}{nsn}" and result.country_code == placed:
            continue
        if form == "bare" and result.kind == NATIONAL:
            continue  # without a prefix, up to PN_MAX_DIGITS digits are a national number: the plan's rule
        wrong.append((region, written, result.country_code, result.steps))
    assert wrong == []


def test_the_national_form_with_the_regions_trunk_prefix():
    """``0 20 7946 0123`` on a British plan: the trunk prefix goes, LOCAL_DIALCODE comes in front."""
    prefixes, wrong, checked = _prefixes(), [], 0
    for region, cc, nsn, placed in EXAMPLES:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        trunk = metadata.national_prefix
        if region not in KNOWN or not trunk or nsn.startswith(trunk):
            continue  # no trunk prefix (Spain, Italy), or one the national number itself starts with
        # the region's own plan: its trunk prefix ignored (Argentina's 011 is Buenos Aires after the trunk 0,
        # not an international prefix), national numbers of any length, its calling code in front
        plan = NumberPlan(
            prefix_to_ignore=(trunk,),
            international_prefixes=(),
            pn_min_digits=min(6, len(nsn)),
            pn_max_digits=17,
            local_dialcode=str(cc),
        )
        result = normalise_number(f"{trunk}{nsn}", plan, prefixes)
        checked += 1
        if (result.kind, result.normalised, result.country_code) != (NATIONAL, f"{cc}{nsn}", placed):
            wrong.append((region, f"{trunk}{nsn}", result.country_code, result.steps))
    assert checked > 600
    assert wrong == []


def test_the_import_sql_agrees_on_every_form(app):
    numbers = [form.format(cc=cc, nsn=nsn) for _, cc, nsn, _ in EXAMPLES for form in INTERNATIONAL_FORMS.values()] + [
        "+0034650104877",
        "0034650104877",
        "+34650104877",
        "34650104877",
        "00034650104877",
        "12",
        "9598",
    ]
    table = {r["prefix"]: r["country_code"] for r in db.rows("SELECT prefix, country_code FROM dial_prefix")}
    assert table == _prefixes()
    sql = normalise_sql("t_destination_number", DEFAULT)
    query = f"""
        SELECT normalised,
               (SELECT p.country_code FROM dial_prefix p WHERE NOT internal AND starts_with(normalised, p.prefix)
                ORDER BY length(p.prefix) DESC LIMIT 1)
        FROM (SELECT ord, {sql.normalised} AS normalised, {sql.internal} AS internal
              FROM (SELECT ord, {sql.digits} AS n_digits, {sql.international} AS n_abroad
                    FROM (SELECT ord, {sql.clean} AS n_clean
                          FROM unnest(%(numbers)s::text[]) WITH ORDINALITY AS u(t_destination_number, ord)
                          OFFSET 0) a OFFSET 0) b OFFSET 0) c
        ORDER BY ord"""
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute(query, {**sql.params, "numbers": numbers})
        got = [tuple(row) for row in cur.fetchall()]
    expected = [((r := normalise_number(n, DEFAULT, table)).normalised, r.country_code) for n in numbers]
    assert got == expected
    assert got[-7:] == [("34650104877", "ES")] * 5 + [("12", None), ("9598", None)]


def test_every_region_is_in_the_prefix_table():
    owners = set(_prefixes().values())
    missing = {
        region
        for region in phonenumbers.SUPPORTED_REGIONS
        if region in KNOWN
        and any(pr == region for r, _, _, pr in EXAMPLES if r == region)  # phonenumbers owns some of its numbers
    } - owners
    assert missing == set()
