import pytest

from data.core import db


@pytest.mark.parametrize(
    "number,country",
    [
        ("34650104877", "ES"),
        ("447700900123", "GB"),
        ("12125550123", "US"),
        ("4915112345678", "DE"),
        ("38344123456", "XK"),
        ("14165550123", "CA"),
        ("18765551234", "JM"),
        ("77012345678", "KZ"),
        ("74951234567", "RU"),
        ("441481123456", "GG"),
        ("33142685300", "FR"),
        ("919876543210", "IN"),
    ],
)
def test_dial_prefix_resolves_real_numbers(number, country):
    found = db.scalar(
        """SELECT country_code FROM dial_prefix WHERE :n LIKE prefix || '%'
           ORDER BY length(prefix) DESC LIMIT 1""",
        n=number,
    )
    assert found == country


def test_every_country_has_codes_and_kosovo_is_there():
    assert db.scalar("SELECT name FROM country WHERE code = 'XK'") == "Kosovo"
    assert db.scalar("SELECT alpha3 FROM country WHERE code = 'ES'") == "ESP"
    assert db.scalar("SELECT count(*) FROM country") >= 249


def test_hangup_causes_and_sip_map():
    assert db.scalar("SELECT name FROM hangup_cause WHERE code = 17") == "USER_BUSY"
    # answered, busy, no answer (18, 19), rejected (21) and rejected by a feature at the destination (24)
    assert db.scalar("SELECT count(*) FROM hangup_cause WHERE ner_success") == 6
    assert db.scalar("SELECT q850_code FROM sip_cause WHERE sip_code = 486") == 17
    assert db.scalar("SELECT q850_code FROM sip_cause WHERE sip_code = 404") == 1
