"""Builds calls straight into ``cdr`` (and the rollups, as an import does) for report tests."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from data.admin import users
from data.core import db
from data.core.rollups import add_to_rollups

COLUMNS = (
    "switch_id",
    "callid",
    "starting_date",
    "answered_date",
    "duration",
    "billsec",
    "progresssec",
    "hangup_cause_id",
    "direction",
    "cdr_source_type",
    "accountcode",
    "user_id",
    "country_code",
    "destination_number",
    "buy_cost",
    "sell_cost",
)


def ensure_switch(name: str = "sw1", ip: str = "10.0.0.1") -> int:
    found = db.scalar("SELECT id FROM switch WHERE name = :n", n=name)
    if found:
        return found
    with db.transaction() as conn:
        return conn.exec_driver_sql(
            "INSERT INTO switch (name, ip) VALUES (%(n)s, %(ip)s) RETURNING id", {"n": name, "ip": ip}
        ).scalar()


def insert_calls(calls: list[dict]) -> None:
    """Insert calls (dicts with COLUMNS keys) and add them to the rollups in one transaction."""
    if not calls:
        return
    with db.raw_connection() as conn, conn.cursor() as cur:
        first = min(c["starting_date"] for c in calls)
        last = max(c["starting_date"] for c in calls)
        cur.execute("SELECT ensure_cdr_partitions(%s, %s)", (first, last))
        cur.execute("CREATE TEMP TABLE new_calls (LIKE cdr INCLUDING DEFAULTS) ON COMMIT DROP")
        placeholders = ", ".join(["%s"] * len(COLUMNS))
        cur.executemany(
            f"INSERT INTO new_calls ({', '.join(COLUMNS)}) VALUES ({placeholders})",
            [tuple(c.get(k) for k in COLUMNS) for c in calls],
        )
        cur.execute("INSERT INTO cdr SELECT * FROM new_calls")
        add_to_rollups(cur, "SELECT * FROM new_calls")
        cur.execute("DROP TABLE new_calls")


def call(switch_id: int, start: datetime, billsec: int = 0, cause: int = 16, **extra) -> dict:
    answered = billsec > 0
    row = {
        "switch_id": switch_id,
        "callid": extra.pop("callid", f"c{random.getrandbits(64):x}"),
        "starting_date": start,
        "answered_date": start + timedelta(seconds=3) if answered else None,
        "duration": billsec + 3 if answered else extra.pop("duration", 5),
        "billsec": billsec,
        "progresssec": 2,
        "hangup_cause_id": cause if answered else extra.pop("unanswered_cause", 17),
        "direction": 2,
        "cdr_source_type": 1,
        "accountcode": None,
        "user_id": None,
        "country_code": "ES",
        "destination_number": "34650104877",
        "buy_cost": None,
        "sell_cost": None,
    }
    row.update(extra)
    return row


def random_calls(
    n: int,
    switch_ids: list[int],
    start: datetime,
    days: int,
    rng: random.Random,
    accounts: list[tuple[str, int | None]] = (("", None),),
) -> list[dict]:
    calls = []
    for i in range(n):
        when = start + timedelta(seconds=rng.randrange(days * 86400))
        answered = rng.random() < 0.6
        accountcode, user_id = rng.choice(list(accounts))
        calls.append(
            call(
                rng.choice(switch_ids),
                when,
                billsec=rng.randrange(1, 900) if answered else 0,
                unanswered_cause=rng.choice([17, 19, 21, 34, 1, 31]),
                callid=f"r{i}-{rng.getrandbits(40):x}",
                country_code=rng.choice(["ES", "GB", "US", "DE", None]),
                accountcode=accountcode or None,
                user_id=user_id,
                buy_cost=round(rng.random(), 5),
                sell_cost=round(rng.random() * 1.3, 5),
                progresssec=rng.choice([None, 1, 2, 5]),
                direction=rng.choice([1, 2]),
            )
        )
    return calls


UTC = timezone.utc


def customers_with_calls(prefix: str, ip: str, calls_by_code: dict[str, int], now: datetime) -> list:
    """One customer per accountcode ("PREFIX-a", "PREFIX-b", ...; password "NAME-pw-1"), each with that many
    10-second calls, a minute apart, from an hour before ``now``, on switch "PREFIX-sw"."""
    switch = ensure_switch(f"{prefix}-sw", ip)
    customers, calls = [], []
    for letter, (code, count) in zip("abcdefgh", calls_by_code.items(), strict=False):
        name = f"{prefix}-{letter}"
        customer = users.create_user(name, f"{name}-pw-1", "customer", accountcodes=(code,))
        customers.append(customer)
        calls += [
            call(
                switch,
                now - timedelta(hours=1, minutes=i),
                billsec=10,
                accountcode=code,
                user_id=customer.id,
                callid=f"{code}-{i}",
            )
            for i in range(count)
        ]
    insert_calls(calls)
    return customers


# Values that trip up CSV writers, fixed widths and COPY: separators, quotes, edge spaces, control
# characters, wide and combining characters, numbers that look like numbers.
AWKWARD_TEXTS = [
    "plain",
    "with,comma",
    'with "quote"',
    " leading space",
    "\u2003em-space lead",
    "\\.",
    "",
    "tail ",
    "semi;colon",
    "new\nline",
    "tab\tinside",
    "\u00e9t\u00e9",
    "\u4e2d\u6587\u53f7\u7801",
    "\U0001f4de call",
    "e\u0301combining",
    "x\x1cfs",
    "a" * 40,
    "34",
    "0034612",
]
