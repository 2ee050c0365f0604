"""Demo data: realistic, deterministic traffic fed through the real import pipeline (see docs/demo-data.md).

Three switches in three time zones, five customers (some with several accountcodes), about sixty
destination countries with real number plans (from ``phonenumbers``), daily and weekly seasonality,
answer rates, durations and hangup causes like real traffic, and a handful of anomalies for the
alarms to find. Everything demo is marked (``is_demo`` on the switches, users and imports), so
``delete_demo_data`` removes exactly it.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import text

from data.admin import users
from data.core import db
from data.ingest import pipeline
from data.ingest.fields import CANONICAL_FIELDS, SOURCE_TYPES
from data.ingest.formats import batches_from_rows

_I = {name: i for i, name in enumerate(CANONICAL_FIELDS)}


@dataclass(frozen=True)
class DemoSwitch:
    name: str
    ip: str
    timezone: str
    source_type: str
    international_prefix: str  # how its users dial abroad
    home: str  # the country most of its traffic goes to


@dataclass(frozen=True)
class DemoCustomer:
    username: str
    password: str
    accountcodes: tuple[str, ...]
    switch: str
    traffic_share: float


SWITCHES = (
    DemoSwitch("demo-fs-london", "10.99.0.1", "Europe/London", "freeswitch", "00", "GB"),
    DemoSwitch("demo-ast-madrid", "10.99.0.2", "Europe/Madrid", "asterisk", "00", "ES"),
    DemoSwitch("demo-kam-newyork", "10.99.0.3", "America/New_York", "kamailio", "011", "US"),
)
CUSTOMERS = (
    DemoCustomer("demo-acme", "demo-acme-pass", ("acme-01", "acme-02"), "demo-fs-london", 0.30),
    DemoCustomer("demo-globex", "demo-globex-pass", ("globex-01",), "demo-kam-newyork", 0.20),
    DemoCustomer(
        "demo-initech", "demo-initech-pass", ("initech-01", "initech-02", "initech-03"), "demo-ast-madrid", 0.25
    ),
    DemoCustomer("demo-umbrella", "demo-umbrella-pass", ("umbrella-01",), "demo-fs-london", 0.10),
    DemoCustomer("demo-hooli", "demo-hooli-pass", ("hooli-01", "hooli-02"), "demo-kam-newyork", 0.15),
)
# About sixty destinations with a traffic weight (the switch's home country gets most of the rest).
DESTINATIONS = {
    "US": 8,
    "CA": 3,
    "MX": 2,
    "BR": 2,
    "AR": 1,
    "CO": 1,
    "CL": 1,
    "PE": 1,
    "GB": 6,
    "IE": 1,
    "FR": 5,
    "DE": 5,
    "ES": 5,
    "PT": 1,
    "IT": 4,
    "NL": 2,
    "BE": 2,
    "CH": 2,
    "AT": 1,
    "SE": 1,
    "NO": 1,
    "DK": 1,
    "FI": 1,
    "PL": 2,
    "CZ": 1,
    "HU": 1,
    "RO": 1,
    "GR": 1,
    "TR": 1,
    "RU": 1,
    "UA": 1,
    "IL": 1,
    "AE": 1,
    "SA": 1,
    "EG": 1,
    "MA": 2,
    "DZ": 1,
    "TN": 1,
    "SN": 1,
    "CI": 1,
    "NG": 1,
    "GH": 1,
    "KE": 1,
    "ZA": 1,
    "IN": 3,
    "PK": 1,
    "BD": 1,
    "CN": 2,
    "HK": 1,
    "JP": 1,
    "KR": 1,
    "PH": 1,
    "VN": 1,
    "TH": 1,
    "MY": 1,
    "SG": 1,
    "ID": 1,
    "AU": 1,
    "NZ": 1,
}
# Unanswered calls: Q.850 cause and weight.
FAILURE_CAUSES = ((19, 38), (17, 27), (487, 10), (21, 5), (1, 5), (34, 7), (41, 5), (28, 3))
HOURLY_PROFILE = (
    0.05,
    0.03,
    0.02,
    0.02,
    0.03,
    0.06,
    0.15,
    0.40,
    0.80,
    1.00,
    1.00,
    0.95,
    0.70,
    0.80,
    0.95,
    1.00,
    0.90,
    0.70,
    0.45,
    0.30,
    0.22,
    0.15,
    0.10,
    0.07,
)
WEEKDAY_FACTOR = (1.0, 1.05, 1.05, 1.0, 0.95, 0.35, 0.25)  # Monday .. Sunday


@dataclass(frozen=True)
class Anomaly:
    """A planted event the alarm features should find: when (days before the last day), what, whom."""

    name: str
    days_before_end: int
    start_hour_utc: int
    hours: int
    description: str


ANOMALIES = (
    Anomaly(
        "asr-collapse",
        3,
        14,
        1,
        "ASR collapse: 85% of the calls of switch demo-kam-newyork fail (congestion 34 / temporary failure 41)",
    ),
    Anomaly(
        "fraud-burst",
        2,
        2,
        2,
        "fraud burst: 400 answered calls from accountcode hooli-02 to Sierra Leone (+232 76 ...) at night",
    ),
    Anomaly(
        "new-country",
        1,
        15,
        3,
        "new destination country: accountcode globex-01 calls Japan (+81) for the first time, 12 calls",
    ),
    Anomaly("short-calls", 5, 10, 1, "short-call burst: 300 answered calls of 1 to 4 s from accountcode initech-02"),
    Anomaly(
        "hot-number", 4, 9, 9, "one number dialled many times: accountcode umbrella-01 calls +442079460999 250 times"
    ),
)


def _number_pool(region: str, rng: random.Random, size: int = 40) -> list[str]:
    """Real-looking international numbers (digits after the country code) of a region."""
    cc = str(phonenumbers.country_code_for_region(region))
    pool = []
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        national = str(example.national_number)
        keep = max(2, len(national) - 5)
        for _ in range(size // 2):
            tail = "".join(rng.choice("0123456789") for _ in range(len(national) - keep))
            pool.append(cc + national[:keep] + tail)
    return pool


class DemoTraffic:
    """Generates the calls, day by day, as canonical rows (deterministic for a seed and an end time)."""

    def __init__(self, days: int = 30, calls_per_day: int = 3000, seed: int = 42, end: datetime | None = None):
        self.days, self.calls_per_day, self.seed = days, calls_per_day, seed
        now = datetime.now(timezone.utc)
        self.end = (end or now).replace(minute=0, second=0, microsecond=0)
        self.start = (self.end - timedelta(days=days)).replace(hour=0)
        rng = random.Random(seed)
        self.pools = {region: _number_pool(region, rng) for region in sorted(DESTINATIONS)}
        self.pools["SL"] = ["23276" + "".join(rng.choice("0123456789") for _ in range(6)) for _ in range(30)]
        self.switches = {s.name: s for s in SWITCHES}
        self.zones = {s.name: ZoneInfo(s.timezone) for s in SWITCHES}
        # Cumulative weights, computed once: random.choices would otherwise redo them for every call.
        self.customer_weights = list(itertools.accumulate(c.traffic_share for c in CUSTOMERS))
        self.regions = list(DESTINATIONS)
        self.region_weights = list(itertools.accumulate(DESTINATIONS.values()))
        self.hour_weights = list(itertools.accumulate(HOURLY_PROFILE))
        self.failure_causes = [c for c, _ in FAILURE_CAUSES]
        self.failure_weights = list(itertools.accumulate(w for _, w in FAILURE_CAUSES))
        calling_code = {"GB": "44", "ES": "34", "US": "1"}
        self.dids = {
            c.username: calling_code[self.switches[c.switch].home] + str(rng.randrange(2000000000, 2099999999))
            for c in CUSTOMERS
        }

    def anomaly_window(self, anomaly: Anomaly) -> tuple[datetime, datetime]:
        last_day = self.end.replace(hour=0)
        start = last_day - timedelta(days=anomaly.days_before_end) + timedelta(hours=anomaly.start_hour_utc)
        return start, start + timedelta(hours=anomaly.hours)

    def _dialled(self, switch: DemoSwitch, cc_number: str, rng: random.Random) -> str:
        style = rng.random()
        if style < 0.55:
            return "+" + cc_number
        if style < 0.9:
            return switch.international_prefix + cc_number
        return "+" + cc_number + rng.choice(("#", "w")) + str(rng.randrange(10, 999))  # a DTMF tail

    def _row(
        self,
        rng: random.Random,
        seq: str,
        customer: DemoCustomer,
        accountcode: str,
        started: datetime,
        destination: str,
        answered: bool,
        billsec: int,
        cause: int,
        switch: DemoSwitch,
    ) -> list[str]:
        values = [""] * len(CANONICAL_FIELDS)
        ring = rng.randint(2, 18) if answered else rng.randint(3, 40)
        local = started.astimezone(self.zones[switch.name]).replace(tzinfo=None)
        values[_I["switch"]] = switch.ip
        values[_I["cdr_source_type"]] = str(SOURCE_TYPES[switch.source_type])
        values[_I["callid"]] = f"demo-{self.seed}-{seq}"
        values[_I["caller_id_number"]] = self.dids[customer.username]
        values[_I["caller_id_name"]] = customer.username.removeprefix("demo-").title()
        values[_I["destination_number"]] = destination
        values[_I["starting_date"]] = local.strftime("%Y-%m-%d %H:%M:%S")  # naive: the switch's local time
        values[_I["duration"]] = str(ring + billsec if answered else ring)
        values[_I["billsec"]] = str(billsec if answered else 0)
        values[_I["progresssec"]] = str(min(ring, rng.randint(1, 4)))
        values[_I["hangup_cause_id"]] = str(cause)
        values[_I["direction"]] = "2"
        values[_I["accountcode"]] = accountcode
        values[_I["extradata"]] = '{"demo": true}'
        return values

    def _normal_call(self, rng: random.Random, day_start: datetime, seq: str) -> list[str] | None:
        customer = rng.choices(CUSTOMERS, cum_weights=self.customer_weights)[0]
        switch = self.switches[customer.switch]
        hour = rng.choices(range(24), cum_weights=self.hour_weights)[0]
        local_day = day_start.astimezone(self.zones[switch.name])
        started_local = local_day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        started = started_local.astimezone(timezone.utc)
        if not self.start <= started < self.end:
            return None
        accountcode = rng.choice(customer.accountcodes)
        if rng.random() < 0.05:  # internal call to an extension
            destination, region = str(rng.randrange(100, 9999)), None
        else:
            region = (
                switch.home if rng.random() < 0.45 else rng.choices(self.regions, cum_weights=self.region_weights)[0]
            )
            if region == "JP" and accountcode == "globex-01":
                region = "KR"  # globex-01 has never called Japan: the "new country" anomaly needs that
            destination = self._dialled(switch, rng.choice(self.pools[region]), rng)
        asr = 0.62 if region == switch.home or region is None else 0.52
        window = self.anomaly_window(ANOMALIES[0])
        if switch.name == "demo-kam-newyork" and window[0] <= started < window[1]:
            asr = 0.15
        answered = rng.random() < asr
        billsec = int(min(7200, rng.lognormvariate(math.log(75), 1.1))) + 1 if answered else 0
        if answered:
            cause = 16
        elif asr < 0.2:
            cause = rng.choice((34, 41))
        else:
            cause = rng.choices(self.failure_causes, cum_weights=self.failure_weights)[0]
        return self._row(rng, seq, customer, accountcode, started, destination, answered, billsec, cause, switch)

    def _anomaly_calls(self, rng: random.Random) -> Iterator[list[str]]:
        by_code = {code: c for c in CUSTOMERS for code in c.accountcodes}
        plans = {
            "fraud-burst": ("hooli-02", 400, lambda: "+" + rng.choice(self.pools["SL"]), (60, 900)),
            "new-country": ("globex-01", 12, lambda: "011" + rng.choice(self.pools["JP"]), (30, 400)),
            "short-calls": ("initech-02", 300, lambda: "00" + rng.choice(self.pools["ES"]), (1, 4)),
            "hot-number": ("umbrella-01", 250, lambda: "+442079460999", (20, 200)),
        }
        for anomaly in ANOMALIES:
            if anomaly.name not in plans:
                continue
            accountcode, count, number, (low, high) = plans[anomaly.name]
            customer = by_code[accountcode]
            start, end = self.anomaly_window(anomaly)
            if start < self.start or end > self.end:
                continue
            span = int((end - start).total_seconds())
            for n in range(count):
                started = start + timedelta(seconds=rng.randrange(span))
                yield self._row(
                    rng,
                    f"{anomaly.name}-{n:04d}",
                    customer,
                    accountcode,
                    started,
                    number(),
                    True,
                    rng.randint(low, high),
                    16,
                    self.switches[customer.switch],
                )

    def rows(self) -> Iterator[list[str]]:
        """Every demo call, a day at a time (memory stays flat whatever the number of days)."""
        day = self.start
        while day < self.end:
            rng = random.Random(f"{self.seed}:{day.date().isoformat()}")
            weekday = WEEKDAY_FACTOR[day.weekday()]
            count = int(self.calls_per_day * weekday * rng.uniform(0.92, 1.08))
            for n in range(count):
                row = self._normal_call(rng, day, f"{day:%Y%m%d}-{n:06d}")
                if row is not None:
                    yield row
            day += timedelta(days=1)
        yield from self._anomaly_calls(random.Random(f"{self.seed}:anomalies"))


def create_demo_accounts() -> list[DemoCustomer]:
    """Demo switches and customers (idempotent): switches first, so that imports find their time zone."""
    with db.transaction() as conn:
        for s in SWITCHES:
            conn.execute(
                text("""INSERT INTO switch (name, ip, source_type, timezone, is_demo)
                                 VALUES (:name, :ip, :type, :tz, true) ON CONFLICT DO NOTHING"""),
                {"name": s.name, "ip": s.ip, "type": SOURCE_TYPES[s.source_type], "tz": s.timezone},
            )
    created = []
    for c in CUSTOMERS:
        if users.get_user_by_name(c.username) is None:
            user = users.create_user(c.username, c.password, "customer", timezone="UTC", accountcodes=c.accountcodes)
            with db.transaction() as conn:
                conn.execute(text("UPDATE app_user SET is_demo = true WHERE id = :id"), {"id": user.id})
            created.append(c)
    return created


DEMO_PROVIDERS = (("Demo Carrier A", 10, "60", "6"), ("Demo Carrier B", 20, "1", "1"))  # name, priority, increments


def create_demo_rate_plans() -> int | None:
    """Two carriers priced per dial prefix, a retail plan at cost + 35 %, one VoIP plan for the demo
    customers (idempotent), so that demo calls have costs, revenue and margins. Returns the VoIP plan."""
    from data.core.scope import Scope
    from data.rating import rates

    admin = Scope(user_id=None)
    if db.scalar("SELECT 1 FROM provider WHERE name = :n", n=DEMO_PROVIDERS[0][0]):
        return None
    prefixes = db.rows("SELECT p.prefix, c.name FROM dial_prefix p JOIN country c ON c.code = p.country_code")
    carrier_plans = []
    for index, (name, priority, first, step) in enumerate(DEMO_PROVIDERS):
        rng = random.Random(f"demo-rates:{name}")
        provider = rates.create_provider(admin, name, priority=priority, description="demo")
        plan = rates.create_rate_plan(admin, f"{name} rates", "carrier", provider_id=provider, description="demo")
        markup = 1 + index / 10  # carrier B is dearer, so LCR has a choice to make
        deck = "\n".join(
            f"{p['prefix']},{p['name'].replace(',', ' ')},{rng.uniform(0.004, 0.09) * markup:.5f},"
            f"0,{first},{step},2000-01-01"
            for p in prefixes
        )
        rates.import_rate_deck(admin, plan, deck)
        carrier_plans.append(plan)
    retail = rates.create_rate_plan(admin, "Demo retail", "retail", description="demo")
    rates.derive_retail_rates(admin, carrier_plans[0], retail, Decimal(35))
    voip_plan = rates.create_voip_plan(admin, "Demo plan", [retail, *carrier_plans], description="demo")
    for customer in CUSTOMERS:
        user = users.get_user_by_name(customer.username)
        if user is not None:
            rates.assign_voip_plan(admin, user.id, voip_plan)
    return voip_plan


def has_calls() -> bool:
    return bool(db.scalar("SELECT EXISTS (SELECT 1 FROM cdr)"))


def load_demo_data(
    days: int = 30, calls_per_day: int = 3000, seed: int = 42, end: datetime | None = None, progress=None
):
    """Create the demo accounts and import the demo traffic through the pipeline; returns the summary."""
    create_demo_accounts()
    create_demo_rate_plans()
    traffic = DemoTraffic(days, calls_per_day, seed, end)
    numbered = ((n, "", "", row) for n, row in enumerate(traffic.rows(), start=1))
    chunks = batches_from_rows(numbered, frozenset(CANONICAL_FIELDS))
    return pipeline.import_chunks(
        chunks,
        source="demo",
        fields=frozenset(CANONICAL_FIELDS),
        source_type=SOURCE_TYPES["csv"],
        fmt="demo",
        file_name=f"demo seed {seed}",
        is_demo=True,
        workers=pipeline.WORKERS,
        progress=progress,
    )


def delete_demo_data() -> dict:
    """Remove the demo calls, imports, customers and switches, then rebuild the rollups they touched."""
    span = db.rows("""SELECT min(starting_date) AS first, max(starting_date) AS last FROM cdr c
                      WHERE c.switch_id IN (SELECT id FROM switch WHERE is_demo)
                         OR c.import_id IN (SELECT id FROM import_batch WHERE is_demo)""")[0]
    with db.transaction() as conn:
        calls = conn.execute(
            text("""DELETE FROM cdr WHERE switch_id IN (SELECT id FROM switch WHERE is_demo)
                                        OR import_id IN (SELECT id FROM import_batch WHERE is_demo)""")
        ).rowcount
        conn.execute(text("DELETE FROM cdr_call_key WHERE switch_id IN (SELECT id FROM switch WHERE is_demo)"))
        imports = conn.execute(text("DELETE FROM import_batch WHERE is_demo")).rowcount
        customers = conn.execute(text("DELETE FROM app_user WHERE is_demo")).rowcount
        switches = conn.execute(text("DELETE FROM switch WHERE is_demo")).rowcount
    if span["first"] is not None:
        from data.core.rollups import rebuild_rollups

        rebuild_rollups(span["first"].date(), span["last"].date() + timedelta(days=1))
    return {"calls": calls, "imports": imports, "customers": customers, "switches": switches}
