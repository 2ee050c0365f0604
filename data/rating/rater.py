"""Rating: the price of every call, from the customer's VoIP plan (see docs/rating.md).

The pricing formula lives here twice, on purpose and nowhere else: in Python (``billed_seconds``,
``call_cost``, used by the simulator and the tests) and in SQL (the ``rating_billed_seconds`` and
``rating_call_cost`` functions of migration 0004, used set-based by the import and re-rating). A test
checks that both agree on many cases.

Which rates apply (the same set-based statements for the import, re-rating and the simulator):

- sell price: the retail rate on the longest matching prefix in force (two retail plans alike: the
  lower rate);
- buy price (LCR): among the plan's carriers, the longest matching prefix in force, then the cheapest
  rate on it; ties go to the provider's priority (lower first), then the provider id;
- banned: a ban prefix of the plan matches the number: no price.
- internal calls (no country, and fewer significant digits than PN_MIN_DIGITS or matching
  INTERNAL_PATTERNS: ``data.core.normalise``) never match a prefix: they are priced by the plan's
  internal rates (``rate.kind = 'internal'``: the cheapest retail one sells, the cheapest carrier one
  buys), 0 when the plan has none or the call has no plan.

Public: ``RatingStatus``, ``billed_seconds``, ``call_cost``, ``rate_staged_calls`` (the import's hook),
``refresh_rating_cache``, ``rerate``, ``run_rerate_queue`` (the "rerate" job), and the queue's names from
``data.rating.rerate_queue`` (``queue_rerate``, ``rerate_requests``...). The simulator is
``data.rating.simulator``.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from enum import IntEnum

from psycopg2 import sql

from data.core import db
from data.core.settings import load_settings
from data.rating.rerate_queue import (  # noqa: F401 - the queue's public names, as before
    describe_rerate,
    finish_request,
    latest_customer_rerate,
    period_bounds,
    queue_customer_rerate,
    queue_rerate,
    queue_rerate_on,
    report_progress,
    rerate_progress,
    rerate_requests,
)

log = logging.getLogger("dialstat.rating")


class RatingStatus(IntEnum):
    """``cdr.rating_status``: the one list of rating outcomes (NULL: not rated yet)."""

    RATED = 1  # sell and buy price found
    NO_RETAIL_RATE = 2  # the customer's plan has no retail rate for the number (buy price kept if found)
    NO_CARRIER_RATE = 3  # no carrier of the plan has a rate for the number (sell price kept)
    BANNED = 4  # the number matches a ban prefix of the plan: no price
    ZERO_DURATION = 5  # billsec = 0: costs 0, connection fee included; rates and carrier recorded if found
    IMPORTED = 6  # the CDR arrived with prices: kept as they are (until re-rated)
    NO_PLAN = 7  # the call has no customer, or the customer has no VoIP plan
    INTERNAL = 8  # an internal call: priced by the plan's internal rates only, 0 without one

    @property
    def unrated(self) -> bool:
        """Whether the call lacks a price it should have (billing's "unrated" reasons)."""
        return self in (
            RatingStatus.NO_RETAIL_RATE,
            RatingStatus.NO_CARRIER_RATE,
            RatingStatus.BANNED,
            RatingStatus.NO_PLAN,
        )

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").lower()


MAX_DECIMALS = 5  # cdr's price columns are numeric(14, 5)


def rating_decimals() -> int:
    """RATING_DECIMALS, checked: costs cannot be stored with more places than cdr's columns have."""
    decimals = load_settings().rating_decimals
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"RATING_DECIMALS must be between 0 and {MAX_DECIMALS}, not {decimals}")
    return decimals


# --- The pricing formula (Python side; the SQL side is in migration 0004) ---


def billed_seconds(billsec: int, increment_first: int, increment_next: int) -> int:
    """Seconds charged: the first increment, then whole next increments (61 s on 30/6 → 66 s)."""
    if billsec <= 0:
        return 0
    if billsec <= increment_first:
        return increment_first
    extra_increments = -(-(billsec - increment_first) // increment_next)  # ceiling division
    return increment_first + extra_increments * increment_next


def call_cost(rate: Decimal, connection_fee: Decimal, billed: int, decimals: int | None = None) -> Decimal:
    """connection_fee + rate × billed / 60, rounded half-up; a call billed 0 s costs nothing."""
    places = rating_decimals() if decimals is None else decimals
    quantum = Decimal(1).scaleb(-places)
    if billed <= 0:
        return Decimal(0).quantize(quantum)
    exact = connection_fee + Decimal(rate) * billed / 60
    return exact.quantize(quantum, rounding=ROUND_HALF_UP)


# --- Set-based rating (SQL) ---
#
# The answer for a call depends only on its plan, on the longest prefix P of its number among all the
# prefixes the plan prices or bans, and on the time. So the answers for every (plan, P, segment of time)
# are computed from the rates alone (thousands of rows, not millions) and cached in rating_cache_*
# until the rates change; each call then needs one longest-prefix search and one hash join.
#
# The search is a binary search on prefix lengths (Waldvogel et al., "Scalable high speed IP routing
# lookups", SIGCOMM 1997): a few hashed membership tests per call instead of one per length. A probe
# that hits a key of length L sends the search to longer lengths, a miss to shorter ones; "markers"
# (the heads of longer prefixes at the lengths where the search must turn towards them) are keys too,
# and each key's answer is the one of its longest matching real prefix. The tree is fixed (lengths 1
# to 20, as rate.prefix allows), so cached keys never depend on which plans a batch uses.

MAX_PREFIX_LENGTH = 20  # rate.prefix and ban_prefix.prefix: 1 to 20 digits


def _search_tree(lengths: list[int]):
    """The balanced binary search tree on ``lengths`` as nested (length, shorter, longer) tuples, and
    for each length the lengths of the markers needed to reach it (where the path turns longer)."""

    def build(sorted_lengths: list[int]):
        if not sorted_lengths:
            return None
        middle = len(sorted_lengths) // 2
        return (sorted_lengths[middle], build(sorted_lengths[:middle]), build(sorted_lengths[middle + 1 :]))

    tree = build(sorted(lengths))
    markers: dict[int, list[int]] = {}
    for length in lengths:
        node, path = tree, []
        while node[0] != length:
            if length > node[0]:
                path.append(node[0])
                node = node[2]
            else:
                node = node[1]
        markers[length] = path
    return tree, markers


SEARCH_TREE, MARKER_LENGTHS = _search_tree(list(range(1, MAX_PREFIX_LENGTH + 1)))


def _search_sql(tree, plan: str, number: str) -> sql.Composable:
    """SQL giving the length of the key to look up for ``number`` (NULL: no prefix of the plan matches).
    ``%(plan_ids)s`` limits the membership tests' hash tables to the plans at hand."""
    if tree is None:
        return sql.SQL("NULL::integer")
    length, shorter, longer = tree
    member = sql.SQL(
        "({plan}, left({number}, {length})) IN (SELECT voip_plan_id, key FROM rating_cache_key "
        "WHERE voip_plan_id = ANY(%(plan_ids)s) AND key_length = {length})"
    ).format(plan=sql.SQL(plan), number=sql.SQL(number), length=sql.Literal(length))
    hit = (
        sql.SQL("coalesce({longer}, {length})").format(
            longer=_search_sql(longer, plan, number), length=sql.Literal(length)
        )
        if longer
        else sql.Literal(length)
    )
    return sql.SQL("CASE WHEN {member} THEN {hit} ELSE {miss} END").format(
        member=member, hit=hit, miss=_search_sql(shorter, plan, number)
    )


# Builds the cached answers of the plans in %(plan_ids)s (in temp tables, then into the cache).
_BUILD_SQL = """
CREATE TEMP TABLE rating_price ON COMMIT DROP AS
    SELECT * FROM voip_plan_price WHERE voip_plan_id = ANY(%(plan_ids)s);
-- prefix_id: integer keys sort and hash much faster than text under a non-C collation.
CREATE TEMP TABLE rating_prefix ON COMMIT DROP AS
    SELECT row_number() OVER () AS prefix_id, voip_plan_id, prefix, length(prefix) AS prefix_length
    FROM (SELECT DISTINCT voip_plan_id, prefix FROM rating_price) p;
ANALYZE rating_price;
ANALYZE rating_prefix;

-- The prices that apply to numbers whose longest prefix is P: those of P and of its heads.
CREATE TEMP TABLE rating_ancestor ON COMMIT DROP AS
    SELECT u.prefix_id, length(p.prefix) AS prefix_length, p.kind, p.rate_id, p.provider_id, p.provider_priority,
           p.rate, p.connection_fee, p.increment_first, p.increment_next, p.effective_from, p.effective_to
    FROM rating_prefix u
    JOIN generate_series(1, %(max_length)s) k(length) ON k.length <= u.prefix_length
    JOIN rating_price p ON p.voip_plan_id = u.voip_plan_id AND p.prefix = left(u.prefix, k.length);
ANALYZE rating_ancestor;

-- Per P and segment of time where none of those prices starts or ends: the sell price, the LCR
-- carrier, and whether P is banned.
CREATE TEMP TABLE rating_match ON COMMIT DROP AS
WITH bound AS (
    SELECT prefix_id, effective_from AS at FROM rating_ancestor
    UNION SELECT prefix_id, effective_to FROM rating_ancestor WHERE effective_to IS NOT NULL
    UNION SELECT prefix_id, '-infinity' FROM rating_prefix
),
segment AS (
    SELECT prefix_id, at AS valid_from,
           coalesce(lead(at) OVER (PARTITION BY prefix_id ORDER BY at), 'infinity') AS valid_to
    FROM bound
),
in_force AS (
    SELECT s.valid_from, s.valid_to, a.*
    FROM segment s JOIN rating_ancestor a USING (prefix_id)
    WHERE a.effective_from <= s.valid_from AND (a.effective_to IS NULL OR a.effective_to >= s.valid_to)
),
sell AS (  -- the longest prefix; between retail plans pricing it alike, the lower rate
    SELECT DISTINCT ON (prefix_id, valid_from) * FROM in_force WHERE kind = 'retail'
    ORDER BY prefix_id, valid_from, prefix_length DESC, rate, connection_fee, rate_id
),
buy AS (  -- LCR: the longest prefix, then the cheapest rate, then the provider's priority
    SELECT DISTINCT ON (prefix_id, valid_from) * FROM in_force WHERE kind = 'carrier'
    ORDER BY prefix_id, valid_from, prefix_length DESC, rate, provider_priority, provider_id, rate_id
),
ban AS (
    SELECT DISTINCT prefix_id FROM rating_ancestor WHERE kind = 'ban'
)
SELECT s.prefix_id, s.valid_from, s.valid_to, ban.prefix_id IS NOT NULL AS banned,
       sell.rate AS sell_rate, sell.connection_fee AS sell_fee, sell.increment_first AS sell_first,
       sell.increment_next AS sell_next, buy.rate AS buy_rate, buy.connection_fee AS buy_fee,
       buy.increment_first AS buy_first, buy.increment_next AS buy_next, buy.provider_id AS carrier_id
FROM segment s
LEFT JOIN sell USING (prefix_id, valid_from)
LEFT JOIN buy USING (prefix_id, valid_from)
LEFT JOIN ban USING (prefix_id)
-- a time without any price or ban rates like a number without any prefix: the unpriced step does it
WHERE ban.prefix_id IS NOT NULL OR sell.rate IS NOT NULL OR buy.rate IS NOT NULL;

-- The keys: every prefix, and the markers, each with its best (longest) matching prefix, if any.
CREATE TEMP TABLE rating_key ON COMMIT DROP AS
WITH marker AS (
    SELECT DISTINCT u.voip_plan_id, left(u.prefix, m.marker_length) AS key
    FROM rating_prefix u
    JOIN unnest(%(marked_lengths)s::integer[], %(marker_lengths)s::integer[]) m(prefix_length, marker_length)
        USING (prefix_length)
    EXCEPT SELECT voip_plan_id, prefix FROM rating_prefix
),
marker_match AS (
    SELECT DISTINCT ON (m.voip_plan_id, m.key) m.voip_plan_id, m.key, u.prefix_id
    FROM marker m
    LEFT JOIN generate_series(1, %(max_length)s) k(length) ON k.length < length(m.key)
    LEFT JOIN rating_prefix u ON u.voip_plan_id = m.voip_plan_id AND u.prefix = left(m.key, k.length)
    ORDER BY m.voip_plan_id, m.key, u.prefix_length DESC NULLS LAST
)
SELECT voip_plan_id, prefix AS key, prefix_id FROM rating_prefix
UNION ALL
SELECT voip_plan_id, key, prefix_id FROM marker_match;

DELETE FROM rating_cache_key WHERE voip_plan_id = ANY(%(plan_ids)s);
DELETE FROM rating_cache_answer WHERE voip_plan_id = ANY(%(plan_ids)s);
INSERT INTO rating_cache_key (voip_plan_id, key_length, key) SELECT voip_plan_id, length(key), key FROM rating_key;
INSERT INTO rating_cache_answer
    SELECT k.voip_plan_id, k.key, m.valid_from, m.valid_to, m.banned, m.sell_rate, m.sell_fee, m.sell_first,
           m.sell_next, m.buy_rate, m.buy_fee, m.buy_first, m.buy_next, m.carrier_id
    FROM rating_key k JOIN rating_match m USING (prefix_id);
INSERT INTO rating_cache_plan (voip_plan_id, revision) SELECT unnest(%(plan_ids)s::integer[]), %(revision)s
ON CONFLICT (voip_plan_id) DO UPDATE SET revision = excluded.revision, built_at = now();
DROP TABLE rating_price, rating_prefix, rating_ancestor, rating_match, rating_key;
"""

_STALE_PLANS_SQL = """
SELECT coalesce(array_agg(p), '{}') FROM unnest(%(plan_ids)s::integer[]) p
WHERE NOT EXISTS (SELECT 1 FROM rating_cache_plan c
                  WHERE c.voip_plan_id = p AND c.revision = (SELECT revision FROM rating_revision))
"""


def _marker_params() -> dict:
    pairs = [(length, marker) for length, path in MARKER_LENGTHS.items() for marker in path]
    return {
        "marked_lengths": [p for p, _ in pairs],
        "marker_lengths": [m for _, m in pairs],
        "max_length": MAX_PREFIX_LENGTH,
    }


def refresh_rating_cache(plan_ids: list[int]) -> list[int]:
    """Rebuild the cached answers of those ``plan_ids`` whose rates changed since they were built, in a
    transaction of its own (so concurrent imports share it at once). Returns the plans rebuilt."""
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('dialstat:rating-cache'))")
        # The revision is read before the rates: a change committed meanwhile makes the cache look
        # older than it is (one more rebuild), never newer.
        cur.execute("SELECT coalesce((SELECT revision FROM rating_revision), 0)")
        revision = cur.fetchone()[0]
        cur.execute(_STALE_PLANS_SQL, {"plan_ids": plan_ids})
        stale = cur.fetchone()[0]
        if stale:
            started = time.monotonic()
            cur.execute(_BUILD_SQL, {"plan_ids": stale, "revision": revision, **_marker_params()})
            log.info("rating answers of VoIP plans %s rebuilt in %.2f s", stale, time.monotonic() - started)
    return stale


_HAS_PRICES = "(s.buy_rate IS NOT NULL OR s.buy_cost IS NOT NULL OR s.sell_rate IS NOT NULL OR s.sell_cost IS NOT NULL)"

# Rows with an answer: priced in place. The key is computed once per call in the subquery (OFFSET 0
# keeps it there: as a hash join clause it would be evaluated again for every candidate row), and
# the calls are matched back to their rows by ctid.
_PRICE_SQL = """
UPDATE {target} s SET
    sell_rate = CASE WHEN NOT a.banned THEN a.sell_rate END,
    sell_cost = CASE WHEN NOT a.banned THEN
        rating_call_cost(a.sell_rate, a.sell_fee, rating_billed_seconds(s.billsec, a.sell_first, a.sell_next),
                         %(decimals)s) END,
    buy_rate = CASE WHEN NOT a.banned THEN a.buy_rate END,
    buy_cost = CASE WHEN NOT a.banned THEN
        rating_call_cost(a.buy_rate, a.buy_fee, rating_billed_seconds(s.billsec, a.buy_first, a.buy_next),
                         %(decimals)s) END,
    carrier_id = CASE WHEN NOT a.banned THEN a.carrier_id END,
    rating_status = CASE WHEN a.banned THEN %(BANNED)s
                         WHEN s.billsec <= 0 THEN %(ZERO_DURATION)s
                         WHEN a.sell_rate IS NULL THEN %(NO_RETAIL_RATE)s
                         WHEN a.buy_rate IS NULL THEN %(NO_CARRIER_RATE)s
                         ELSE %(RATED)s END
FROM (
    SELECT s.ctid AS row_ref, {plan} AS voip_plan_id, s.starting_date, left(s.normalised_number, {search}) AS key
    FROM {target} s {plan_join}
    -- a NULL on the left of a membership test would make it scan its whole hash table
    WHERE s.rating_status IS NULL AND NOT {has_prices} AND s.normalised_number IS NOT NULL
      AND {plan} = ANY(%(plan_ids)s)
    OFFSET 0
) c
JOIN rating_cache_answer a ON a.voip_plan_id = c.voip_plan_id AND a.key = c.key
                          AND c.starting_date >= a.valid_from AND c.starting_date < a.valid_to
WHERE s.ctid = c.row_ref AND a.voip_plan_id = ANY(%(plan_ids)s)
"""

# Internal calls: the plan's internal rates in force (the cheapest sell, the cheapest buy), 0 without.
# Before the prefix statement, which then skips them (rating_status is set): never a country's price.
_INTERNAL_SQL = """
UPDATE {target} s SET
    sell_rate = coalesce(c.sell_rate, 0),
    sell_cost = coalesce(rating_call_cost(c.sell_rate, c.sell_fee,
                         rating_billed_seconds(s.billsec, c.sell_first, c.sell_next), %(decimals)s), 0),
    buy_rate = coalesce(c.buy_rate, 0),
    buy_cost = coalesce(rating_call_cost(c.buy_rate, c.buy_fee,
                        rating_billed_seconds(s.billsec, c.buy_first, c.buy_next), %(decimals)s), 0),
    carrier_id = c.carrier_id,
    rating_status = %(INTERNAL)s
FROM (
    SELECT s.ctid AS row_ref, sell.rate AS sell_rate, sell.connection_fee AS sell_fee,
           sell.increment_first AS sell_first, sell.increment_next AS sell_next, buy.rate AS buy_rate,
           buy.connection_fee AS buy_fee, buy.increment_first AS buy_first, buy.increment_next AS buy_next,
           buy.provider_id AS carrier_id
    FROM {target} s {plan_join}
    LEFT JOIN LATERAL (
        SELECT * FROM voip_plan_internal_price p
        WHERE p.voip_plan_id = {plan} AND p.kind = 'retail' AND p.effective_from <= s.starting_date
          AND (p.effective_to IS NULL OR p.effective_to > s.starting_date)
        ORDER BY p.rate, p.connection_fee, p.rate_id LIMIT 1) sell ON true
    LEFT JOIN LATERAL (
        SELECT * FROM voip_plan_internal_price p
        WHERE p.voip_plan_id = {plan} AND p.kind = 'carrier' AND p.effective_from <= s.starting_date
          AND (p.effective_to IS NULL OR p.effective_to > s.starting_date)
        ORDER BY p.rate, p.provider_priority, p.provider_id, p.rate_id LIMIT 1) buy ON true
    WHERE s.rating_status IS NULL AND NOT {has_prices} AND {internal}
    OFFSET 0
) c
WHERE s.ctid = c.row_ref
"""


def internal_call_sql(number: str, country: str, params: dict) -> str:
    """SQL: whether the call with the normalised ``number`` and ``country`` is internal under the number
    plan in force (an internal call has no country; its significant digits are its normalised number)."""
    from data.core.normalise import internal_sql
    from data.core.setting_overrides import effective_number_plan

    digits = internal_sql(number, effective_number_plan(), params)
    return f"({country} IS NULL AND {number} IS NOT NULL AND {digits})"


# The rest: prices that came with the CDR, or no plan, or no prefix of the plan matches the number.
_UNPRICED_SQL = """
UPDATE {target} s SET rating_status = CASE
    WHEN {has_prices} THEN %(IMPORTED)s
    WHEN s.billsec <= 0 THEN %(ZERO_DURATION)s
    WHEN {has_plan} THEN %(NO_RETAIL_RATE)s
    ELSE %(NO_PLAN)s END
WHERE s.rating_status IS NULL
"""

_STATUS_PARAMS = {status.name: int(status) for status in RatingStatus}


@contextmanager
def _hash_joins_only(cur):
    """Hash joins for one statement: a stage table often has no statistics, and a planner believing it
    holds one row picks nested loops that take minutes on a million. The settings are restored after."""
    cur.execute("SELECT current_setting('enable_nestloop'), current_setting('enable_mergejoin')")
    nestloop, mergejoin = cur.fetchone()
    cur.execute("SELECT set_config('enable_nestloop', 'off', true), set_config('enable_mergejoin', 'off', true)")
    try:
        yield
    finally:
        cur.execute(
            "SELECT set_config('enable_nestloop', %s, true), set_config('enable_mergejoin', %s, true)",
            (nestloop, mergejoin),
        )


def _table(name: str) -> sql.Composable:
    return sql.SQL(".").join(sql.Identifier(part) for part in name.split("."))


@dataclass(frozen=True)
class _PlanOfRow:
    """How the rating statements find the VoIP plan of a row ``s``: SQL to join (and to join keeping the
    rows without a plan), the plan, whether any."""

    join: str
    outer_join: str
    plan: str
    has_plan: str


# Calls: the plan of their customer. Simulated calls: a voip_plan_id column of their own.
_CUSTOMER_PLAN = _PlanOfRow(
    "JOIN app_user u ON u.id = s.user_id",
    "LEFT JOIN app_user u ON u.id = s.user_id",
    "u.voip_plan_id",
    "s.user_id IN (SELECT id FROM app_user WHERE voip_plan_id IS NOT NULL)",
)
_OWN_PLAN = _PlanOfRow("", "", "s.voip_plan_id", "s.voip_plan_id IS NOT NULL")


def _rate_table(cur, target: sql.Composable, plan_of_row: _PlanOfRow = _CUSTOMER_PLAN) -> None:
    """Rate the rows of ``target`` whose rating_status is NULL (a stage-shaped table, not ``cdr``)."""
    parts = {
        "target": target,
        "plan_join": sql.SQL(plan_of_row.join),
        "plan": sql.SQL(plan_of_row.plan),
        "has_plan": sql.SQL(plan_of_row.has_plan),
        "has_prices": sql.SQL(_HAS_PRICES),
    }
    cur.execute(
        sql.SQL(
            "SELECT coalesce(array_agg(DISTINCT {plan}), '{{}}') FROM {target} s {plan_join} "
            "WHERE s.rating_status IS NULL AND {plan} IS NOT NULL"
        ).format(**parts)
    )
    plan_ids = cur.fetchone()[0]
    params = {**_STATUS_PARAMS, "decimals": rating_decimals(), "plan_ids": plan_ids}
    internal = internal_call_sql("s.normalised_number", "s.country_code", params)
    cur.execute(
        sql.SQL(_INTERNAL_SQL).format(
            **{**parts, "plan_join": sql.SQL(plan_of_row.outer_join), "internal": sql.SQL(internal)}
        ),
        params,
    )
    if plan_ids:
        cur.execute(_STALE_PLANS_SQL, {"plan_ids": plan_ids})
        if cur.fetchone()[0]:
            refresh_rating_cache(plan_ids)
        search = _search_sql(SEARCH_TREE, plan_of_row.plan, "s.normalised_number")
        with _hash_joins_only(cur):
            cur.execute(sql.SQL(_PRICE_SQL).format(search=search, **parts), params)
    cur.execute(sql.SQL(_UNPRICED_SQL).format(**parts), params)


def rate_staged_calls(cur, stage_table: str) -> None:
    """Fill buy/sell rate and cost, carrier_id and rating_status on the rows of ``stage_table``.

    Called by the ingest pipeline, on its psycopg2 cursor, before the staged rows are inserted into
    ``cdr``. The stage table has cdr's columns. Rows that arrive with prices keep them (status
    IMPORTED); rows whose rating_status is already set are left alone.
    """
    started = time.monotonic()
    _rate_table(cur, _table(stage_table))
    log.debug("rated %s in %.3f s", stage_table, time.monotonic() - started)


# --- Re-rating ---

_RERATE_STAGE_SQL = """
CREATE TEMP TABLE rerate_calls ON COMMIT DROP AS
SELECT id, starting_date, user_id, normalised_number, country_code, billsec,
       NULL::numeric(14, 5) AS buy_rate, NULL::numeric(14, 5) AS buy_cost, NULL::numeric(14, 5) AS sell_rate,
       NULL::numeric(14, 5) AS sell_cost, NULL::integer AS carrier_id, NULL::smallint AS rating_status
FROM cdr
WHERE starting_date >= %(start)s AND starting_date < %(end)s
  AND (%(user_id)s::integer IS NULL OR user_id = %(user_id)s)
"""

# Only rows whose price changed are written (a re-rating after a small rate change touches few rows).
_RERATE_APPLY_SQL = """
UPDATE cdr c SET buy_rate = r.buy_rate, buy_cost = r.buy_cost, sell_rate = r.sell_rate, sell_cost = r.sell_cost,
                 carrier_id = r.carrier_id, rating_status = r.rating_status
FROM rerate_calls r
WHERE c.starting_date >= %(start)s AND c.starting_date < %(end)s
  AND c.id = r.id AND c.starting_date = r.starting_date
  AND (c.buy_rate, c.buy_cost, c.sell_rate, c.sell_cost, c.carrier_id, c.rating_status)
      IS DISTINCT FROM (r.buy_rate, r.buy_cost, r.sell_rate, r.sell_cost, r.carrier_id, r.rating_status)
"""


def _day_chunks(first: datetime, last: datetime):
    """UTC days (each inside one monthly partition of cdr) covering [first, last)."""
    chunk_start = first
    while chunk_start < last:
        day = datetime(chunk_start.year, chunk_start.month, chunk_start.day, tzinfo=timezone.utc)
        chunk_end = min(day + timedelta(days=1), last)
        yield chunk_start, chunk_end
        chunk_start = chunk_end


def rerate(start: date | datetime, end: date | datetime, customer: int | None = None, progress=None) -> dict:
    """Re-price the calls of a period (of one customer's, with ``customer`` = user id) from the rates
    now in force, replacing any price, imported ones included, then rebuild the rollups of the days
    that changed. Works one UTC day at a time, each day in its own transaction, so a long period
    holds no long lock and a failure keeps the days already done (rollups included)."""
    from data.core.rollups import rebuild_rollups

    first, last = period_bounds(start, end)
    totals = {"calls": 0, "changed": 0, "days": 0}
    started = time.monotonic()
    chunks = list(_day_chunks(first, last))
    for chunk_start, chunk_end in chunks:
        params = {"start": chunk_start, "end": chunk_end, "user_id": customer}
        with db.raw_connection() as conn, conn.cursor() as cur:
            cur.execute(_RERATE_STAGE_SQL, params)
            calls = cur.rowcount
            if calls:
                _rate_table(cur, sql.Identifier("rerate_calls"))
                cur.execute(_RERATE_APPLY_SQL, params)
            changed = cur.rowcount if calls else 0
        if changed:
            rebuild_rollups(chunk_start, chunk_end)
        totals["calls"] += calls
        totals["changed"] += changed
        totals["days"] += 1
        if progress is not None:
            progress(totals["days"], len(chunks), totals["changed"])
    totals["seconds"] = round(time.monotonic() - started, 3)
    log.info("re-rated %s to %s (customer %s): %s", first, last, customer, totals)
    return totals


def run_rerate_queue() -> dict:
    """The "rerate" job: run the queued requests, oldest first, each recorded as done or failed."""
    done = failed = 0
    while True:
        with db.transaction() as conn:
            request = (
                conn.exec_driver_sql(
                    """UPDATE rerate_request SET status = 'running', started_at = clock_timestamp()
                   WHERE id = (SELECT id FROM rerate_request WHERE status = 'queued'
                               ORDER BY requested_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                   RETURNING id, period_start, period_end, user_id"""
                )
                .mappings()
                .first()
            )
        if request is None:
            return {"done": done, "failed": failed}
        try:
            result = rerate(
                request["period_start"],
                request["period_end"],
                request["user_id"],
                progress=lambda done, total, changed, rid=request["id"]: report_progress(rid, done, total, changed),
            )
        except Exception as exc:  # recorded on the request; the next ones still run
            log.exception("re-rating request %s failed", request["id"])
            finish_request(request["id"], "failed", error=f"{type(exc).__name__}: {exc}")
            failed += 1
        else:
            finish_request(request["id"], "done", calls=result["changed"])
            done += 1
