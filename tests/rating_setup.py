"""A small, hand-checkable rating world shared by the rating tests.

Providers A (priority 1), B (2), C (3). One VoIP plan "standard" with retail plan "retail" and the
three carrier plans, banning 3490. All in EUR, rates from 2026-01-01 unless stated.

    retail   34    0.05 /min  60/60  fee 0.10
             3465  0.06       30/6               until 2026-02-01, then 0.07
             44    0.03       1/1
             33    0.00001    1/1                (for rounding)
    carrier A  34   0.01  60/60;  3465 0.02 30/6
            B  34   0.009 60/60;  3465 0.02 1/1  (ties A on 3465: A wins on priority)
            C  346  0.001 60/60                  (cheapest, but shorter than 3465)
               3467 0.004 60/60 until 2026-01-20 (then 3467 numbers fall back to 346)
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from data.core import db
from data.core.scope import Scope
from data.rating import rates

ADMIN = Scope(user_id=None)
UTC = timezone.utc
JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)

RETAIL_DECK = """prefix,destination,rate,connection_fee,increment_first,increment_next,effective_from,effective_to
34,Spain,0.05,0.10,60,60,2026-01-01,
3465,Spain mobile,0.06,0,30,6,2026-01-01,
3465,Spain mobile,0.07,0,30,6,2026-02-01,
44,United Kingdom,0.03,0,1,1,2026-01-01,
33,France,0.00001,0,1,1,2026-01-01,
"""
CARRIER_DECKS = {
    "A": "34,Spain,0.01,0,60,60,2026-01-01\n3465,Spain mobile,0.02,0,30,6,2026-01-01\n",
    "B": "34,Spain,0.009,0,60,60,2026-01-01\n3465,Spain mobile,0.02,0,1,1,2026-01-01\n",
    "C": "346,Spain 346,0.001,0,60,60,2026-01-01\n3467,Spain 3467,0.004,0,60,60,2026-01-01,2026-01-20\n",
}


def build_world(make_user=None) -> dict:
    """Create the plans above and two customers on them, plus one without a plan (customers with the password
    ``pass-word-1`` unless ``make_user(name, **fields)`` makes them)."""
    if make_user is None:
        from data.admin import users

        def make_user(name, **fields):
            return users.create_user(name, "pass-word-1", "customer", **fields)

    world = {"providers": {}, "carrier_plans": {}}
    for priority, name in enumerate("ABC", start=1):
        provider = rates.create_provider(ADMIN, f"Carrier {name}", priority=priority)
        plan = rates.create_rate_plan(ADMIN, f"carrier-{name}", "carrier", provider_id=provider, currency="EUR")
        rates.import_rate_deck(ADMIN, plan, CARRIER_DECKS[name])
        world["providers"][name] = provider
        world["carrier_plans"][name] = plan
    world["retail_plan"] = rates.create_rate_plan(ADMIN, "retail", "retail", currency="EUR")
    rates.import_rate_deck(ADMIN, world["retail_plan"], RETAIL_DECK)
    world["ban_plan"] = rates.create_ban_plan(ADMIN, "no premium", ["3490"])
    world["voip_plan"] = rates.create_voip_plan(
        ADMIN, "standard", [world["retail_plan"], *world["carrier_plans"].values()], [world["ban_plan"]]
    )
    world["alice"] = make_user("alice", accountcodes=("1001",))
    world["bob"] = make_user("bob", accountcodes=("2002",))
    world["carol"] = make_user("carol", accountcodes=("3003",))  # no VoIP plan
    for name in ("alice", "bob"):
        rates.assign_voip_plan(ADMIN, world[name].id, world["voip_plan"])
    return world


STAGE_COLUMNS = (
    "switch_id",
    "callid",
    "starting_date",
    "billsec",
    "duration",
    "user_id",
    "accountcode",
    "normalised_number",
    "destination_number",
    "buy_rate",
    "buy_cost",
    "sell_rate",
    "sell_cost",
)


def rate_in_stage(calls: list[dict]) -> list[dict]:
    """Rate ``calls`` the way the import does (in a stage table shaped like cdr); rows in input order."""
    from data.rating.rater import rate_staged_calls

    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE stage (LIKE cdr INCLUDING DEFAULTS) ON COMMIT DROP")
        for i, call in enumerate(calls):
            row = {"switch_id": 1, "callid": f"t{i}", "duration": call.get("billsec", 0), **call}
            row.setdefault("destination_number", row.get("normalised_number"))
            cur.execute(
                f"INSERT INTO stage ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})", tuple(row.values())
            )
        rate_staged_calls(cur, "stage")
        cur.execute("SELECT callid, buy_rate, buy_cost, sell_rate, sell_cost, carrier_id, rating_status FROM stage")
        names = [c.name for c in cur.description]
        found = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    return [found[f"t{i}"] if "callid" not in call else found[call["callid"]] for i, call in enumerate(calls)]


def money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


NUMBERS = [
    "+34650104877",
    "+34651000111",
    "+34911223344",
    "+34661234567",
    "+34671234567",
    "+447700900123",
    "+34901234567",
    "+12125550100",
    "+33123456789",
]
ACCOUNTS = ("1001", "2002", "3003")  # alice, bob, carol


def world_with_month(folder, calls: int, seed: int) -> dict:
    """build_world(), then ``calls`` January calls (write_month) imported from a file in ``folder``."""
    from data.ingest import import_file

    world = build_world()
    path = folder / "january.csv"
    write_month(path, calls=calls, seed=seed)
    import_file(path)
    return world


def write_month(path, calls: int = 1500, seed: int = 3) -> None:
    """A CDR-Stats CSV of ``calls`` calls over January 2026 to NUMBERS from ACCOUNTS."""
    from data.ingest.fields import CDR_STATS_FIELDS

    rng = random.Random(seed)
    lines = [",".join(CDR_STATS_FIELDS)]
    for n in range(calls):
        start = datetime(2026, 1, 1) + timedelta(seconds=rng.randrange(31 * 86400))
        billsec = rng.choice([0, 0, 1, 30, 31, 59, 60, 61, rng.randrange(1, 1800)])
        fields = {f: "" for f in CDR_STATS_FIELDS}
        fields.update(
            switch="10.0.0.1",
            cdr_source_type="1",
            callid=f"month-{n}",
            caller_id_number="900000000",
            destination_number=rng.choice(NUMBERS),
            starting_date=f"{start:%Y-%m-%d %H:%M:%S}",
            duration=str(billsec + 5),
            billsec=str(billsec),
            hangup_cause_id="16" if billsec else "19",
            direction="2",
            accountcode=rng.choice(ACCOUNTS),
            extradata="{}",
        )
        lines.append(",".join(fields[f] for f in CDR_STATS_FIELDS))
    path.write_text("\n".join(lines) + "\n")
