"""Providers, rate plans and their rates, ban plans, VoIP plans; rate-deck import; rate search.

Every rate is a version in force over [effective_from, effective_to). Storing rates keeps one rule:
a version ends at its own end or where the next version of the same plan and prefix starts,
whichever comes first. Storing a version with the same (plan, prefix, effective_from) replaces it.

Admin functions take a ``Scope`` and refuse a customer's (PermissionError). Customer-facing
functions only ever read the plan of the scope's own user.

Every change is written to the audit log (``data.core.audit``) in the change's transaction, by the logged-in
user of the request ("system" from the shell and jobs): the object before and after, and for stored
rates the plan's version counts and what came in (never the rates themselves: a deck is thousands).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from data.core import audit, db
from data.core.i18n import gettext as _
from data.core.scope import Scope
from data.rating.customer_rates import (  # noqa: F401 - the customer side's names, as before
    RATE_SORT_FIELDS,
    banned_prefix,
    customer_rates,
    search_condition,
    voip_plan_of,
)
from data.rating.rate_deck import (  # noqa: F401 - the deck's names, as before
    DECK_COLUMNS,
    INTERNAL_PREFIX,
    MAX_RATE,
    OPTIONAL_DECK_COLUMNS,
    PREFIX,
    RATE_DECIMALS,
    RateDeckError,
    RateRow,
    parse_moment,
    parse_rate_deck,
)

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def require_admin(scope: Scope) -> None:
    if not scope.is_admin:
        raise PermissionError(_("rate management is for admins"))


# --- Audit snapshots: each object as the audit log shows it before and after a change ---


def _snapshot(conn, sql: str, object_id) -> dict | None:
    found = conn.exec_driver_sql(sql, {"id": object_id}).mappings().first()
    return dict(found) if found else None


def _provider(conn, provider_id: int) -> dict | None:
    return _snapshot(conn, "SELECT id, name, priority, description FROM provider WHERE id = %(id)s", provider_id)


def _rate_plan(conn, plan_id: int) -> dict | None:
    return _snapshot(
        conn, "SELECT id, name, kind, provider_id, currency, description FROM rate_plan WHERE id = %(id)s", plan_id
    )


def _ban_plan(conn, ban_plan_id: int) -> dict | None:
    return _snapshot(
        conn,
        """SELECT b.id, b.name, b.description,
                                     ARRAY(SELECT prefix FROM ban_prefix WHERE ban_plan_id = b.id ORDER BY prefix)
                                         AS prefixes
                              FROM ban_plan b WHERE b.id = %(id)s""",
        ban_plan_id,
    )


def _voip_plan(conn, voip_plan_id: int) -> dict | None:
    return _snapshot(
        conn,
        """SELECT v.id, v.name, v.description,
                                     ARRAY(SELECT rate_plan_id FROM voip_plan_rate_plan WHERE voip_plan_id = v.id
                                           ORDER BY 1) AS rate_plan_ids,
                                     ARRAY(SELECT ban_plan_id FROM voip_plan_ban_plan WHERE voip_plan_id = v.id
                                           ORDER BY 1) AS ban_plan_ids
                              FROM voip_plan v WHERE v.id = %(id)s""",
        voip_plan_id,
    )


# --- Providers, plans, VoIP plans ---


def create_provider(scope: Scope, name: str, *, priority: int = 100, description: str = "") -> int:
    require_admin(scope)
    if not name.strip():
        raise ValueError(_("a provider needs a name"))
    with db.transaction() as conn:
        provider_id = conn.exec_driver_sql(
            "INSERT INTO provider (name, priority, description) VALUES (%(n)s, %(p)s, %(d)s) RETURNING id",
            {"n": name.strip(), "p": int(priority), "d": description},
        ).scalar()
        audit.record(conn, audit.current_actor(), "create", "provider", provider_id, None, _provider(conn, provider_id))
    return provider_id


def update_provider(scope: Scope, provider_id: int, *, priority: int) -> None:
    require_admin(scope)
    with db.transaction() as conn:
        before = _provider(conn, provider_id)
        if before is None:
            raise ValueError(f"no provider {provider_id}")
        conn.exec_driver_sql(
            "UPDATE provider SET priority = %(p)s WHERE id = %(id)s", {"p": int(priority), "id": provider_id}
        )
        after = _provider(conn, provider_id)
        if after != before:
            audit.record(conn, audit.current_actor(), "update", "provider", provider_id, before, after)


def create_rate_plan(
    scope: Scope, name: str, kind: str, *, provider_id: int | None = None, currency: str = "USD", description: str = ""
) -> int:
    """A retail plan (what customers pay) or a carrier plan (what ``provider_id`` charges)."""
    require_admin(scope)
    if kind not in ("retail", "carrier"):
        raise ValueError(_("kind must be 'retail' or 'carrier'"))
    if (kind == "carrier") != (provider_id is not None):
        raise ValueError(_("a carrier plan needs a provider; a retail plan has none"))
    if not _CURRENCY.match(currency or ""):
        raise ValueError(f"currency must be a 3-letter ISO code, not {currency!r}")
    if not name.strip():
        raise ValueError(_("a plan needs a name"))
    with db.transaction() as conn:
        plan_id = conn.exec_driver_sql(
            "INSERT INTO rate_plan (name, kind, provider_id, currency, description) "
            "VALUES (%(n)s, %(k)s, %(p)s, %(c)s, %(d)s) RETURNING id",
            {"n": name.strip(), "k": kind, "p": provider_id, "c": currency, "d": description},
        ).scalar()
        audit.record(conn, audit.current_actor(), "create", "rate_plan", plan_id, None, _rate_plan(conn, plan_id))
    return plan_id


def create_ban_plan(scope: Scope, name: str, prefixes: list[str] = (), *, description: str = "") -> int:
    require_admin(scope)
    cleaned = _ban_prefixes(prefixes)
    with db.transaction() as conn:
        plan_id = conn.exec_driver_sql(
            "INSERT INTO ban_plan (name, description) VALUES (%(n)s, %(d)s) RETURNING id",
            {"n": name.strip(), "d": description},
        ).scalar()
        _insert_ban_prefixes(conn, plan_id, cleaned, "")
        audit.record(conn, audit.current_actor(), "create", "ban_plan", plan_id, None, _ban_plan(conn, plan_id))
    return plan_id


def _ban_prefixes(prefixes: list[str]) -> list[str]:
    cleaned = []
    for prefix in prefixes:
        match = PREFIX.match(str(prefix).strip())
        if not match:
            raise ValueError(f"a ban prefix is 1 to 20 digits, not {prefix!r}")
        cleaned.append(match.group(1))
    return cleaned


def _insert_ban_prefixes(conn, ban_plan_id: int, prefixes: list[str], destination: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO ban_prefix (ban_plan_id, prefix, destination) "
        "SELECT %(id)s, p, %(d)s FROM unnest(%(p)s::text[]) p ON CONFLICT DO NOTHING",
        {"id": ban_plan_id, "p": prefixes, "d": destination},
    )


def _change_ban_plan(conn, ban_plan_id: int, action: str, change) -> None:
    """Run ``change(conn)`` on a ban plan and audit it when its prefixes changed."""
    before = _ban_plan(conn, ban_plan_id)
    if before is None:
        raise ValueError(f"no ban plan {ban_plan_id}")
    change(conn)
    after = _ban_plan(conn, ban_plan_id)
    if after != before:
        audit.record(conn, audit.current_actor(), action, "ban_plan", ban_plan_id, before, after)


def add_ban_prefixes(scope: Scope, ban_plan_id: int, prefixes: list[str], destination: str = "") -> None:
    require_admin(scope)
    cleaned = _ban_prefixes(prefixes)
    with db.transaction() as conn:
        _change_ban_plan(
            conn, ban_plan_id, "add-ban-prefixes", lambda c: _insert_ban_prefixes(c, ban_plan_id, cleaned, destination)
        )


def remove_ban_prefix(scope: Scope, ban_plan_id: int, prefix: str) -> None:
    require_admin(scope)
    with db.transaction() as conn:
        _change_ban_plan(
            conn,
            ban_plan_id,
            "remove-ban-prefix",
            lambda c: c.exec_driver_sql(
                "DELETE FROM ban_prefix WHERE ban_plan_id = %(id)s AND prefix = %(p)s", {"id": ban_plan_id, "p": prefix}
            ),
        )


def create_voip_plan(
    scope: Scope, name: str, rate_plan_ids: list[int], ban_plan_ids: list[int] = (), *, description: str = ""
) -> int:
    """A VoIP plan: its retail plans, its carrier plans (LCR among them) and its ban plans."""
    require_admin(scope)
    with db.transaction() as conn:
        plan_id = conn.exec_driver_sql(
            "INSERT INTO voip_plan (name, description) VALUES (%(n)s, %(d)s) RETURNING id",
            {"n": name.strip(), "d": description},
        ).scalar()
        _set_members(conn, plan_id, rate_plan_ids, ban_plan_ids)
        audit.record(conn, audit.current_actor(), "create", "voip_plan", plan_id, None, _voip_plan(conn, plan_id))
    return plan_id


def set_voip_plan_members(
    scope: Scope, voip_plan_id: int, rate_plan_ids: list[int], ban_plan_ids: list[int] = ()
) -> None:
    """Replace the rate plans and ban plans of a VoIP plan. Its rate plans must share one currency,
    so that cost, revenue and margin add up."""
    require_admin(scope)
    with db.transaction() as conn:
        before = _voip_plan(conn, voip_plan_id)
        if before is None:
            raise ValueError(f"no VoIP plan {voip_plan_id}")
        _set_members(conn, voip_plan_id, rate_plan_ids, ban_plan_ids)
        after = _voip_plan(conn, voip_plan_id)
        if after != before:
            audit.record(conn, audit.current_actor(), "update", "voip_plan", voip_plan_id, before, after)


def _set_members(conn, voip_plan_id: int, rate_plan_ids: list[int], ban_plan_ids: list[int]) -> None:
    currencies = (
        conn.exec_driver_sql(
            "SELECT array_agg(DISTINCT currency) FROM rate_plan WHERE id = ANY(%(ids)s)", {"ids": list(rate_plan_ids)}
        ).scalar()
        or []
    )
    if len(currencies) > 1:
        raise ValueError(f"the plans of a VoIP plan must share one currency, not {', '.join(currencies)}")
    conn.exec_driver_sql("DELETE FROM voip_plan_rate_plan WHERE voip_plan_id = %(v)s", {"v": voip_plan_id})
    conn.exec_driver_sql("DELETE FROM voip_plan_ban_plan WHERE voip_plan_id = %(v)s", {"v": voip_plan_id})
    conn.exec_driver_sql(
        "INSERT INTO voip_plan_rate_plan SELECT %(v)s, unnest(%(ids)s::integer[])",
        {"v": voip_plan_id, "ids": list(rate_plan_ids)},
    )
    conn.exec_driver_sql(
        "INSERT INTO voip_plan_ban_plan SELECT %(v)s, unnest(%(ids)s::integer[])",
        {"v": voip_plan_id, "ids": list(ban_plan_ids)},
    )


def assign_voip_plan(scope: Scope, user_id: int, voip_plan_id: int | None) -> dict | None:
    """Give a customer a VoIP plan (None: none), and queue a re-rating of their stored calls (which keep
    their prices until it runs, within a minute). Returns the queued request (``queue_customer_rerate``)."""
    from data.rating.rerate_queue import queue_customer_rerate

    require_admin(scope)
    queued = None
    with db.transaction() as conn:
        before = conn.exec_driver_sql(
            "SELECT voip_plan_id FROM app_user WHERE id = %(u)s FOR UPDATE", {"u": user_id}
        ).first()
        if before is None:
            raise ValueError(f"no user {user_id}")
        conn.exec_driver_sql(
            "UPDATE app_user SET voip_plan_id = %(v)s WHERE id = %(u)s", {"v": voip_plan_id, "u": user_id}
        )
        if before[0] != voip_plan_id:
            audit.record(
                conn,
                audit.current_actor(),
                "assign-voip-plan",
                "user",
                user_id,
                {"voip_plan_id": before[0]},
                {"voip_plan_id": voip_plan_id},
            )
            queued = queue_customer_rerate(conn, user_id, f"VoIP plan {before[0]} -> {voip_plan_id}")
    return queued


def providers(scope: Scope) -> list[dict]:
    require_admin(scope)
    return db.rows("""SELECT p.id, p.name, p.priority, p.description,
                             (SELECT string_agg(name, ', ' ORDER BY name) FROM rate_plan
                              WHERE provider_id = p.id) AS plans
                      FROM provider p ORDER BY p.priority, p.name""")


def rate_plans(scope: Scope, kind: str | None = None) -> list[dict]:
    require_admin(scope)
    return db.rows(
        """SELECT p.id, p.name, p.kind, p.currency, p.description, pr.name AS provider,
                             (SELECT count(*) FROM rate r WHERE r.rate_plan_id = p.id) AS rates
                      FROM rate_plan p LEFT JOIN provider pr ON pr.id = p.provider_id
                      WHERE :kind IS NULL OR p.kind = :kind ORDER BY p.kind DESC, p.name""",
        kind=kind,
    )


def ban_plans(scope: Scope) -> list[dict]:
    require_admin(scope)
    return db.rows("""SELECT b.id, b.name, b.description,
                             (SELECT string_agg(prefix, ', ' ORDER BY prefix) FROM ban_prefix WHERE ban_plan_id = b.id)
                                 AS prefixes
                      FROM ban_plan b ORDER BY b.name""")


def pickable_voip_plans(scope: Scope) -> list[dict]:
    """The plans a plan picker offers: every plan to an admin, none to a customer (their plan is theirs)."""
    return voip_plans(scope) if scope.is_admin else []


def voip_plans(scope: Scope) -> list[dict]:
    require_admin(scope)
    return db.rows("""SELECT v.id, v.name, v.description,
                             (SELECT string_agg(p.name, ', ' ORDER BY p.name) FROM voip_plan_rate_plan m
                              JOIN rate_plan p ON p.id = m.rate_plan_id
                              WHERE m.voip_plan_id = v.id AND p.kind = 'retail') AS retail_plans,
                             (SELECT string_agg(p.name, ', ' ORDER BY p.name) FROM voip_plan_rate_plan m
                              JOIN rate_plan p ON p.id = m.rate_plan_id
                              WHERE m.voip_plan_id = v.id AND p.kind = 'carrier') AS carrier_plans,
                             (SELECT string_agg(b.name, ', ' ORDER BY b.name) FROM voip_plan_ban_plan m
                              JOIN ban_plan b ON b.id = m.ban_plan_id WHERE m.voip_plan_id = v.id) AS ban_plans,
                             (SELECT string_agg(u.username, ', ' ORDER BY u.username) FROM app_user u
                              WHERE u.voip_plan_id = v.id) AS customers
                      FROM voip_plan v ORDER BY v.name""")


def customers(scope: Scope) -> list[dict]:
    require_admin(scope)
    return db.rows("""SELECT u.id, u.username, u.voip_plan_id, v.name AS voip_plan
                      FROM app_user u LEFT JOIN voip_plan v ON v.id = u.voip_plan_id
                      WHERE u.role = 'customer' ORDER BY u.username""")


# --- Storing rates ---


_INCOMING_COLUMNS = (*DECK_COLUMNS, *OPTIONAL_DECK_COLUMNS)

# The versions of incoming_rate replace those with the same (plan, prefix, effective_from); then every
# touched prefix's versions are cut where the next one starts; a new version gets its country.
_STORE_SQL = """
DELETE FROM rate r USING incoming_rate i
WHERE r.rate_plan_id = %(plan)s AND r.prefix = i.prefix AND r.effective_from = i.effective_from;

INSERT INTO rate (rate_plan_id, kind, prefix, destination, country_code, rate, connection_fee, increment_first,
                  increment_next, effective_from, effective_to)
SELECT %(plan)s, CASE WHEN i.prefix = '' THEN 'internal' ELSE 'prefix' END, i.prefix, i.destination,
       (SELECT d.country_code FROM dial_prefix d
        WHERE d.prefix = ANY(ARRAY(SELECT left(i.prefix, k) FROM generate_series(1, length(i.prefix)) k))
        ORDER BY length(d.prefix) DESC LIMIT 1),
       i.rate, i.connection_fee, i.increment_first, i.increment_next, i.effective_from, i.effective_to
FROM incoming_rate i;

UPDATE rate r SET effective_to = n.next_from
FROM (SELECT id, lead(effective_from) OVER (PARTITION BY prefix ORDER BY effective_from) AS next_from
      FROM rate WHERE rate_plan_id = %(plan)s AND prefix IN (SELECT prefix FROM incoming_rate)) n
WHERE r.id = n.id AND n.next_from IS NOT NULL AND (r.effective_to IS NULL OR r.effective_to > n.next_from);
"""

# With replace_all: the plan's other prefixes (not its internal rate) stop where the incoming rates start.
_END_MISSING_SQL = """
UPDATE rate r SET effective_to = %(start)s
WHERE r.rate_plan_id = %(plan)s AND r.kind = 'prefix' AND r.prefix NOT IN (SELECT prefix FROM incoming_rate)
  AND r.effective_from < %(start)s AND (r.effective_to IS NULL OR r.effective_to > %(start)s);
DELETE FROM rate r
WHERE r.rate_plan_id = %(plan)s AND r.kind = 'prefix' AND r.prefix NOT IN (SELECT prefix FROM incoming_rate)
  AND r.effective_from >= %(start)s;
"""


def _plan_versions(cur, rate_plan_id: int) -> int:
    cur.execute("SELECT count(*) FROM rate WHERE rate_plan_id = %s", (rate_plan_id,))
    return cur.fetchone()[0]


def _store_incoming(cur, rate_plan_id: int, replace_all: bool, action: str, details: dict) -> int:
    """Store the rows of the temp table ``incoming_rate`` into ``rate_plan_id`` (on ``cur``'s transaction),
    audited as ``action`` with ``details`` (where the rates came from)."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('dialstat:rate_plan:' || %s))", (rate_plan_id,))
    cur.execute("ANALYZE incoming_rate")
    before = _plan_versions(cur, rate_plan_id)
    if replace_all:
        cur.execute("SELECT min(effective_from) FROM incoming_rate")
        start = cur.fetchone()[0]
        if start is not None:
            cur.execute(_END_MISSING_SQL, {"plan": rate_plan_id, "start": start})
    cur.execute(_STORE_SQL, {"plan": rate_plan_id})
    cur.execute("SELECT count(*), count(DISTINCT prefix), min(effective_from), max(effective_from) FROM incoming_rate")
    stored, prefixes, first_from, last_from = cur.fetchone()
    audit.record_on_cursor(
        cur,
        audit.current_actor(),
        action,
        "rate_plan",
        rate_plan_id,
        {"rate_versions": before},
        {
            **details,
            "rate_versions": _plan_versions(cur, rate_plan_id),
            "stored": stored,
            "prefixes": prefixes,
            "effective_from": [first_from, last_from],
            "replace_all": replace_all,
        },
    )
    return stored


def _create_incoming(cur) -> None:
    cur.execute("""CREATE TEMP TABLE incoming_rate (
                       prefix text NOT NULL, destination text NOT NULL, rate numeric(14, 5) NOT NULL,
                       connection_fee numeric(14, 5) NOT NULL, increment_first integer NOT NULL,
                       increment_next integer NOT NULL, effective_from timestamptz NOT NULL,
                       effective_to timestamptz) ON COMMIT DROP""")


def _plan(cur, rate_plan_id: int) -> dict:
    cur.execute("SELECT id, kind, currency FROM rate_plan WHERE id = %s", (rate_plan_id,))
    found = cur.fetchone()
    if found is None:
        raise ValueError(f"no rate plan {rate_plan_id}")
    return {"id": found[0], "kind": found[1], "currency": found[2]}


def set_internal_rate(
    scope: Scope,
    rate_plan_id: int,
    rate: Decimal,
    *,
    connection_fee: Decimal = Decimal(0),
    increment_first: int = 60,
    increment_next: int = 60,
    effective_from: datetime | None = None,
) -> int:
    """Store the price of internal calls in a plan, from ``effective_from`` (now) on (docs/rating.md)."""
    require_admin(scope)
    row = RateRow(
        "",
        "internal calls",
        Decimal(rate),
        Decimal(connection_fee),
        increment_first,
        increment_next,
        effective_from or datetime.now(timezone.utc),
    )
    return _store_rows(rate_plan_id, [row], False, "store-internal-rate", {})


def store_rates(scope: Scope, rate_plan_id: int, rows: list[RateRow], *, replace_all: bool = False) -> int:
    """Store rate versions into a plan in one transaction; returns how many were stored."""
    require_admin(scope)
    return _store_rows(rate_plan_id, rows, replace_all, "store-rates", {})


def _store_rows(rate_plan_id: int, rows: list[RateRow], replace_all: bool, action: str, details: dict) -> int:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(
            [
                row.prefix,
                row.destination,
                row.rate,
                row.connection_fee,
                row.increment_first,
                row.increment_next,
                row.effective_from.isoformat(),
                row.effective_to.isoformat() if row.effective_to else "",
            ]
        )
    buffer.seek(0)
    with db.raw_connection() as conn, conn.cursor() as cur:
        _plan(cur, rate_plan_id)
        _create_incoming(cur)
        # FORCE_NOT_NULL: an empty destination (or the internal rate's prefix) is '', not NULL
        cur.copy_expert(
            f"COPY incoming_rate ({', '.join(_INCOMING_COLUMNS)}) FROM STDIN "
            "WITH (FORMAT csv, FORCE_NOT_NULL (prefix, destination))",
            buffer,
        )
        return _store_incoming(cur, rate_plan_id, replace_all, action, details)


def import_rate_deck(scope: Scope, rate_plan_id: int, text: str, *, replace_all: bool = False) -> int:
    """Import a CSV rate deck into a plan: all lines or none. Returns the number of rates stored."""
    require_admin(scope)
    rows = parse_rate_deck(text)
    # The deck's checksum ties the audit row to the file an admin uploaded.
    details = {"deck_sha256": hashlib.sha256(text.encode()).hexdigest()}
    return _store_rows(rate_plan_id, rows, replace_all, "import-rate-deck", details)


def derive_retail_rates(scope: Scope, carrier_plan_id: int, retail_plan_id: int, profit_percent: Decimal) -> int:
    """Copy a carrier plan's rate versions into a retail plan, marked up by ``profit_percent`` (rate and
    connection fee, rounded half-up to 5 decimals; increments and dates kept). Returns the count."""
    require_admin(scope)
    factor = 1 + Decimal(str(profit_percent)) / 100
    if factor < 0:
        raise ValueError(_("the profit percentage cannot be below -100"))
    with db.raw_connection() as conn, conn.cursor() as cur:
        carrier, retail = _plan(cur, carrier_plan_id), _plan(cur, retail_plan_id)
        if carrier["kind"] != "carrier" or retail["kind"] != "retail":
            raise ValueError(_("derive from a carrier plan into a retail plan"))
        if carrier["currency"] != retail["currency"]:
            raise ValueError(f"the plans' currencies differ ({carrier['currency']}, {retail['currency']})")
        _create_incoming(cur)
        # numeric round() rounds half away from zero: half-up for these non-negative amounts
        cur.execute(
            """INSERT INTO incoming_rate
                       SELECT prefix, destination, round(rate * %(f)s, 5), round(connection_fee * %(f)s, 5),
                              increment_first, increment_next, effective_from, effective_to
                       FROM rate WHERE rate_plan_id = %(plan)s""",
            {"f": factor, "plan": carrier_plan_id},
        )
        return _store_incoming(
            cur,
            retail_plan_id,
            False,
            "derive-rates",
            {"from_rate_plan_id": carrier_plan_id, "profit_percent": str(profit_percent)},
        )


def markup(amount: Decimal, profit_percent: Decimal) -> Decimal:
    """The derived retail amount of ``derive_retail_rates``, in Python (for forms and tests)."""
    exact = Decimal(amount) * (1 + Decimal(str(profit_percent)) / 100)
    return exact.quantize(Decimal(1).scaleb(-RATE_DECIMALS), rounding=ROUND_HALF_UP)


def plan_rates(scope: Scope, rate_plan_id: int, *, search: str = "", limit: int = 5000) -> list[dict]:
    """Every version of a plan's rates (admin), newest first per prefix; ``search`` as in ``customer_rates``."""
    require_admin(scope)
    condition, params = search_condition(search)
    return db.rows(
        f"""SELECT r.id, r.prefix, r.destination, r.country_code, c.name AS country, r.rate,
                              r.connection_fee, r.increment_first, r.increment_next, r.effective_from,
                              r.effective_to
                       FROM rate r LEFT JOIN country c ON c.code = r.country_code
                       WHERE r.rate_plan_id = :plan AND {condition}
                       ORDER BY r.prefix, r.effective_from DESC LIMIT :limit""",
        plan=rate_plan_id,
        limit=limit,
        **params,
    )


def delete_rate(scope: Scope, rate_id: int) -> None:
    require_admin(scope)
    with db.transaction() as conn:
        deleted = (
            conn.exec_driver_sql(
                """DELETE FROM rate WHERE id = %(id)s
               RETURNING id, rate_plan_id, prefix, destination, country_code, rate, connection_fee, increment_first,
                         increment_next, effective_from, effective_to""",
                {"id": rate_id},
            )
            .mappings()
            .first()
        )
        if deleted is not None:
            audit.record(conn, audit.current_actor(), "delete", "rate", rate_id, dict(deleted), None)
