"""Rate changes are in the audit log: providers, rate plans, decks, derived rates, deleted rates, ban plans,
VoIP plans and plan assignments, each with who, before and after, in the change's own transaction; a change
refused leaves no audit row; the audit page lists them."""

import base64
import hashlib
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from data.admin import users
from data.core import audit, db
from data.core.scope import Scope
from data.rating import rates
from tests.dash_client import dash_call

ADMIN = Scope(user_id=None)
DECK = (
    "prefix,destination,rate,connection_fee,increment_first,increment_next,effective_from\n"
    "34,Spain,0.05,0,60,60,2026-01-01\n3465,Spain mobile,0.09,0,60,60,2026-01-01\n"
)


def _upload(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def _rows(target_type: str, target_id=None) -> list[dict]:
    return audit.recent(50, target_type=target_type, target_id=None if target_id is None else str(target_id))


def _audit_count() -> int:
    return db.scalar("SELECT count(*) FROM audit_log")


@pytest.fixture(scope="module")
def customer(app):
    return users.create_user("rated-customer", "pass-word-1", "customer")


def test_changes_made_on_the_rate_admin_page_are_audited_as_the_admin(app, admin_client, customer):
    dash_call(admin_client, "add_provider", [1], ["Carrier Audit", 50, 0])
    provider = db.scalar("SELECT id FROM provider WHERE name = 'Carrier Audit'")
    [created] = _rows("provider", provider)
    assert (created["actor"], created["action"], created["before"]) == ("admin", "create", None)
    assert created["after"] == {"id": provider, "name": "Carrier Audit", "priority": 50, "description": ""}
    assert created["actor_id"] == 1 and created["request_id"] and created["ip"] == "127.0.0.1"

    dash_call(admin_client, "add_plan", [1], ["Carrier Audit rates", "carrier", provider, "eur", 0])
    dash_call(admin_client, "add_plan", [1], ["Retail audit", "retail", None, "EUR", 0])
    carrier = db.scalar("SELECT id FROM rate_plan WHERE name = 'Carrier Audit rates'")
    retail = db.scalar("SELECT id FROM rate_plan WHERE name = 'Retail audit'")
    [plan_row] = _rows("rate_plan", carrier)
    assert plan_row["action"] == "create" and plan_row["after"]["provider_id"] == provider
    assert plan_row["after"]["currency"] == "EUR" and plan_row["after"]["kind"] == "carrier"

    answer = dash_call(admin_client, "import_deck", [1], [_upload(DECK), carrier, False, 0])
    assert "2 rate(s) imported" in str(answer[("rate-admin-deck-result", "children")])
    deck_row = _rows("rate_plan", carrier)[0]
    assert (deck_row["actor"], deck_row["action"]) == ("admin", "import-rate-deck")
    assert deck_row["before"] == {"rate_versions": 0}
    assert deck_row["after"] == {
        "rate_versions": 2,
        "stored": 2,
        "prefixes": 2,
        "replace_all": False,
        "effective_from": ["2026-01-01T00:00:00+00:00"] * 2,
        "deck_sha256": hashlib.sha256(DECK.encode()).hexdigest(),
    }

    dash_call(admin_client, "derive", [1], [carrier, retail, 20, 0])
    derived = _rows("rate_plan", retail)[0]
    assert derived["action"] == "derive-rates" and derived["after"]["from_rate_plan_id"] == carrier
    assert derived["after"]["profit_percent"] == "20" and derived["after"]["rate_versions"] == 2

    dash_call(admin_client, "add_ban_plan", [1], ["Premium audit", "881, 3490", 0])
    ban = db.scalar("SELECT id FROM ban_plan WHERE name = 'Premium audit'")
    [ban_row] = _rows("ban_plan", ban)  # the plan and its prefixes are one change
    assert ban_row["after"]["prefixes"] == ["3490", "881"]

    dash_call(admin_client, "add_voip_plan", [1], ["VoIP audit", [retail, carrier], [ban], 0])
    voip = db.scalar("SELECT id FROM voip_plan WHERE name = 'VoIP audit'")
    [voip_row] = _rows("voip_plan", voip)
    assert voip_row["after"]["rate_plan_ids"] == sorted([retail, carrier])
    assert voip_row["after"]["ban_plan_ids"] == [ban]

    dash_call(admin_client, "assign_plan", [1], [customer.id, voip, 0])
    assigned = _rows("user", customer.id)[0]
    assert (assigned["action"], assigned["before"], assigned["after"]) == (
        "assign-voip-plan",
        {"voip_plan_id": None},
        {"voip_plan_id": voip},
    )
    before = _audit_count()
    dash_call(admin_client, "assign_plan", [2], [customer.id, voip, 0])  # the same plan again: nothing changed
    assert _audit_count() == before


def test_changes_from_the_shell_are_audited_as_system(app):
    provider = rates.create_provider(ADMIN, "Shell carrier", priority=10)
    rates.update_provider(ADMIN, provider, priority=20)
    update = _rows("provider", provider)[0]
    assert (update["actor"], update["actor_id"], update["action"]) == ("system", None, "update")
    assert (update["before"]["priority"], update["after"]["priority"]) == (10, 20)
    assert audit.summary(update) == "priority: 10 → 20"

    plan = rates.create_rate_plan(ADMIN, "Shell retail", "retail")
    moment = datetime(2026, 2, 1, tzinfo=timezone.utc)
    rates.store_rates(ADMIN, plan, [rates.RateRow("44", "UK", Decimal("0.01"), Decimal(0), 1, 1, moment)])
    stored = _rows("rate_plan", plan)[0]
    assert stored["action"] == "store-rates" and stored["after"]["rate_versions"] == 1

    rate_id = db.scalar("SELECT id FROM rate WHERE rate_plan_id = :p", p=plan)
    rates.delete_rate(ADMIN, rate_id)
    [deleted] = _rows("rate", rate_id)
    assert deleted["action"] == "delete" and deleted["after"] is None
    assert deleted["before"]["prefix"] == "44" and deleted["before"]["rate"] == "0.01000"
    assert deleted["before"]["rate_plan_id"] == plan and audit.summary(deleted) == "deleted"
    before = _audit_count()
    rates.delete_rate(ADMIN, rate_id)  # already gone: nothing deleted, nothing recorded
    assert _audit_count() == before

    ban = rates.create_ban_plan(ADMIN, "Shell bans", ["900"])
    rates.add_ban_prefixes(ADMIN, ban, ["+901", "900"])
    rates.remove_ban_prefix(ADMIN, ban, "900")
    changes = [
        (r["action"], r["before"] and r["before"]["prefixes"], r["after"]["prefixes"])
        for r in reversed(_rows("ban_plan", ban))
    ]
    assert changes == [
        ("create", None, ["900"]),
        ("add-ban-prefixes", ["900"], ["900", "901"]),
        ("remove-ban-prefix", ["900", "901"], ["901"]),
    ]

    voip = rates.create_voip_plan(ADMIN, "Shell VoIP", [plan])
    rates.set_voip_plan_members(ADMIN, voip, [plan], [ban])
    members = _rows("voip_plan", voip)[0]
    assert members["action"] == "update" and audit.summary(members) == f"ban_plan_ids: [] → [{ban}]"


def test_refused_changes_leave_no_audit_row(app):
    usd = rates.create_rate_plan(ADMIN, "Refused USD", "retail", currency="USD")
    eur = rates.create_rate_plan(ADMIN, "Refused EUR", "retail", currency="EUR")
    voip = rates.create_voip_plan(ADMIN, "Refused VoIP", [usd])
    before = _audit_count()
    with pytest.raises(rates.RateDeckError):
        rates.import_rate_deck(ADMIN, usd, "34,Spain,0.05,0,60,60,2026-01-01\n34x,Bad,1,0,60,60,2026-01-01\n")
    with pytest.raises(ValueError, match="share one currency"):
        rates.set_voip_plan_members(ADMIN, voip, [usd, eur])
    with pytest.raises(ValueError, match="share one currency"):
        rates.create_voip_plan(ADMIN, "Mixed VoIP", [usd, eur])
    with pytest.raises(ValueError, match="a ban prefix"):
        rates.create_ban_plan(ADMIN, "Bad bans", ["12a"])
    with pytest.raises(PermissionError):
        rates.create_provider(Scope(user_id=99), "Customer carrier")
    assert _audit_count() == before
    assert db.scalar("SELECT count(*) FROM voip_plan WHERE name = 'Mixed VoIP'") == 0
    assert db.scalar("SELECT count(*) FROM ban_plan WHERE name = 'Bad bans'") == 0


def test_the_audit_page_lists_rate_changes(app, admin_client):
    everything = str(dash_call(admin_client, "show_audit", ["", ""])[("admin-audit-table", "children")])
    assert "import-rate-deck" in everything and "assign-voip-plan" in everything
    plans = str(dash_call(admin_client, "show_audit", ["rate_plan", "admin"])[("admin-audit-table", "children")])
    assert "import-rate-deck" in plans and "derive-rates" in plans and "rate_plan" in plans
    assert "Shell retail" not in plans and "assign-voip-plan" not in plans  # by "system", and a user change
    from pages.admin_audit import KINDS

    assert {"provider", "rate_plan", "rate", "ban_plan", "voip_plan"} <= {k["value"] for k in KINDS}
