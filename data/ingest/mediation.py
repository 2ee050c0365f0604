"""The set-based SQL that turns staged text rows into calls: check, convert, normalise, dedup, store.

All of it runs on one batch at a time, in the batch's transaction, on session temp tables:

- ``ingest_stage``: the rows as read (text), with their line number, raw text and any problem found
  while reading;
- ``ingest_calls``: the same rows with cdr's columns (plus ``lineno`` and ``reason``), which the rating
  and the rollups read;
- ``ingest_switch_map``: the batch's switch values → switch id and time zone (resolved in Python);
- ``ingest_new``: the records whose key this batch claimed first.

Rows are told apart by ``recno``, their place in the input (one per record, from a session sequence):
``lineno`` is where the record starts and ``recidx`` its place among the records starting on that line
(JSON and YAML can hold many on one line). A record's key is ``record_key_sql``: (switch, callid, record_tag).

Checks are done with regular expressions before any cast, so a bad value makes a reject with its
reason and never aborts the statement. Identifiers put into SQL here come from the constant field lists.
"""

from __future__ import annotations

from functools import lru_cache

from data.core import db
from data.core.cdr_columns import PARTY_COLUMNS, PRICE_COLUMNS, SECONDS_COLUMNS
from data.core.normalise import normalise_sql
from data.core.settings import NumberPlan
from data.ingest.fields import (
    ANSWERED_CAUSE,
    CANONICAL_FIELDS,
    DISPOSITION_CAUSES,
    MAX_LENGTHS,
    MAX_SWITCH_LENGTH,
    UNKNOWN_DISPOSITION_CAUSE,
    UNKNOWN_SIP_CAUSE,
)

# cdr's columns the import fills, in the order of ingest_calls' INSERT (id comes from cdr's sequence).
CALL_COLUMNS = (
    "switch_id",
    "cdr_source_type",
    "callid",
    *PARTY_COLUMNS,
    "starting_date",
    "answered_date",
    *SECONDS_COLUMNS,
    "hangup_cause_id",
    "direction",
    "accountcode",
    "user_id",
    *PRICE_COLUMNS,
    "carrier_id",
    "rating_status",
    "import_id",
    "extradata",
    "record_tag",
    "linkedid",
)
# Raw values kept in extradata when the source gives them (the cdr table has no column for them).
KEPT_IN_EXTRADATA = ("state", "channel", "disposition", "sip_code", "hangup_cause", "ending_date")
EARLIEST_CALL = "2000-01-01"

SESSION_SETUP = """
SET TIME ZONE 'UTC';
CREATE TEMP SEQUENCE IF NOT EXISTS ingest_stage_line;
CREATE TEMP SEQUENCE IF NOT EXISTS ingest_stage_record;
CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
    recno bigint NOT NULL DEFAULT nextval('ingest_stage_record'),
    lineno bigint NOT NULL DEFAULT nextval('ingest_stage_line'),
    recidx integer,
    raw text,
    problem text,
    {fields}
);
CREATE TEMP TABLE IF NOT EXISTS ingest_switch_map (value text PRIMARY KEY, switch_id integer, timezone text);
CREATE TEMP TABLE IF NOT EXISTS ingest_calls AS SELECT * FROM cdr WITH NO DATA;
ALTER TABLE ingest_calls ADD COLUMN IF NOT EXISTS recno bigint, ADD COLUMN IF NOT EXISTS lineno bigint,
    ADD COLUMN IF NOT EXISTS recidx integer, ADD COLUMN IF NOT EXISTS reason text;
CREATE TEMP TABLE IF NOT EXISTS ingest_new (recno bigint);
""".format(fields=",\n    ".join(f"{name} text" for name in CANONICAL_FIELDS))

CLEAR = "TRUNCATE ingest_stage, ingest_switch_map, ingest_calls, ingest_new"

STAGE_COLUMNS = ("lineno", "recidx", "raw", "problem", *CANONICAL_FIELDS)


# Trimmed: the values that identify a call or its owner, and the times (checked by position). Other values
# are only tested by patterns that allow surrounding spaces (trimming every field costs a copy of each).
_TRIMMED = frozenset(
    {
        "callid",
        "accountcode",
        "starting_date",
        "answered_date",
        "ending_date",
        "direction",
        "cdr_source_type",
        "hangup_cause_id",
        "sip_code",
        "disposition",
        "hangup_cause",
        "record_tag",
        "linkedid",
    }
)


def _text(name: str, fields: frozenset[str]) -> str:
    """The staged text of a field, NULL when empty or when the source has no such field."""
    if name not in fields:
        return "NULL::text"
    return f"nullif(btrim(s.{name}), '')" if name in _TRIMMED else f"nullif(s.{name}, '')"


# The whole-number fields, checked together by one regular expression in the common case where all
# are plain digits (``ints_ok``); each is checked on its own only when that fails.
_INTEGER_FIELDS = (
    ("duration", 9),
    ("billsec", 9),
    ("progresssec", 9),
    ("answersec", 9),
    ("waitsec", 9),
    ("hangup_cause_id", 4),
    ("cdr_source_type", 1),
)


def _ints_ok(fields: frozenset[str]) -> str:
    present = [(n, d) for n, d in _INTEGER_FIELDS if n in fields]
    if not present:
        return "true"
    joined = ", ',', ".join(f"s.{n}" for n, _ in present)
    pattern = ",".join(f"\\d{{0,{d}}}" for _, d in present)
    return f"concat({joined}) ~ '^{pattern}$'"


def _whole_seconds(name: str) -> str:
    return (
        f"CASE WHEN ints_ok OR t_{name} ~ '^\\s*\\d{{1,9}}\\s*$' THEN t_{name}::integer "
        f"WHEN t_{name} ~ '^\\s*\\d{{1,9}}\\.\\d+\\s*$' THEN round(t_{name}::numeric)::integer END"
    )


def _money(name: str) -> str:
    return f"CASE WHEN t_{name} ~ '^\\s*-?\\d{{1,9}}(\\.\\d+)?\\s*$' THEN t_{name}::numeric(14, 5) END"


# What each numeric field must be, in the order a record's reasons are tried.
_NUMBER_FIELDS = {
    "a number of seconds": SECONDS_COLUMNS,
    "a Q.850 cause code": ("hangup_cause_id",),
    "a SIP response code": ("sip_code",),
    "1 (inbound) or 2 (outbound)": ("direction",),
    "a source type (0 to 9)": ("cdr_source_type",),
    "a number": PRICE_COLUMNS,
}


def _bad(name: str, label: str) -> str:
    """A reason: the field's value (quoted, cut at 60 characters) and what it is not."""
    return (
        f"WHEN t_{name} IS NOT NULL AND v_{name} IS NULL THEN format('{name} %%L is not {label}', left(t_{name}, 60))"
    )


@lru_cache(maxsize=64)
def _convert_sql(fields: frozenset[str], plan: NumberPlan, longest_prefix: int) -> tuple[str, tuple]:
    number = normalise_sql("t_destination_number", plan)
    texts = ",\n".join(f"{_text(name, fields)} AS t_{name}" for name in CANONICAL_FIELDS)
    seconds = ",\n".join(f"{_whole_seconds(n)} AS v_{n}" for n in SECONDS_COLUMNS)
    money = ",\n".join(f"{_money(n)} AS v_{n}" for n in PRICE_COLUMNS)
    joins_prefix = " ".join(
        f"LEFT JOIN dial_prefix dp{k} ON dp{k}.prefix = left(n_lookup, {k})" for k in range(longest_prefix, 0, -1)
    )
    dialcode = "coalesce(" + ", ".join(f"dp{k}.prefix" for k in range(longest_prefix, 0, -1)) + ")"
    country = "coalesce(" + ", ".join(f"dp{k}.country_code" for k in range(longest_prefix, 0, -1)) + ")"
    kept = [n for n in KEPT_IN_EXTRADATA if n in fields]
    if kept:
        pairs = ", ".join(f"'{n}', t_{n}" for n in kept)
        extradata = (
            f"CASE WHEN {' AND '.join(f't_{n} IS NULL' for n in kept)} THEN v_extradata "
            f"ELSE v_extradata || jsonb_strip_nulls(jsonb_build_object({pairs})) END"
        )
    else:
        extradata = "v_extradata"
    cause_joins, cause_terms = [], ["v_hangup_cause_id"]
    if "hangup_cause" in fields:
        cause_joins.append("LEFT JOIN hangup_cause hcn ON hcn.name = upper(t_hangup_cause)")
        cause_terms.append("hcn.code")
    if "disposition" in fields:
        cause_joins.append(
            "LEFT JOIN unnest(%(disp_names)s::text[], %(disp_codes)s::integer[]) AS disp(name, code) "
            "ON disp.name = upper(t_disposition)"
        )
        cause_terms.append(
            f"CASE WHEN t_disposition IS NOT NULL THEN coalesce(disp.code, {UNKNOWN_DISPOSITION_CAUSE}) END"
        )
    if "sip_code" in fields:
        cause_joins.append(
            "LEFT JOIN sip_cause sc ON sc.sip_code = v_sip_code "
            "LEFT JOIN sip_cause scc ON scc.sip_code = v_sip_code / 100 * 100"
        )
        cause_terms.append(
            f"CASE WHEN v_sip_code IS NOT NULL THEN coalesce(sc.q850_code, scc.q850_code, {UNKNOWN_SIP_CAUSE}) END"
        )
    cause_terms.append(f"CASE WHEN answered_date IS NOT NULL THEN {ANSWERED_CAUSE} END")
    lengths = "\n           ".join(
        f"WHEN octet_length(t_{name}) > {limit} AND length(t_{name}) > {limit} "  # bytes first: no scan
        f"THEN '{name} is longer than {limit:,} characters'"
        for name, limit in MAX_LENGTHS.items()
        if name in fields
    )

    numbers = "\n           ".join(_bad(name, label) for label, names in _NUMBER_FIELDS.items() for name in names)
    sql = f"""
INSERT INTO ingest_calls ({", ".join(CALL_COLUMNS)}, recno, lineno, recidx, reason)
SELECT switch_id, coalesce(v_cdr_source_type, %(source_type)s), t_callid, t_caller_id_number, t_caller_id_name,
       t_destination_number, normalised, {dialcode}, {country}, starting_date, answered_date, duration, billsec,
       v_progresssec, v_answersec, v_waitsec, coalesce({", ".join(cause_terms)}), coalesce(v_direction, 2),
       t_accountcode, ua.user_id, v_buy_rate, v_buy_cost, v_sell_rate, v_sell_cost, NULL, NULL, %(import_id)s,
       {extradata}, t_record_tag, t_linkedid,
       recno, lineno, recidx,
       CASE
           WHEN problem IS NOT NULL THEN problem
           WHEN switch_id IS NULL THEN CASE
               WHEN length(btrim(t_switch)) > {MAX_SWITCH_LENGTH}
                   THEN 'switch is longer than {MAX_SWITCH_LENGTH} characters'
               WHEN t_switch ~ '[[:cntrl:]]' THEN 'switch holds a control character'
               ELSE 'switch is missing' END
           WHEN t_callid IS NULL THEN 'callid is missing'
           {lengths}
           WHEN t_callid ~ '[[:cntrl:]]' THEN 'callid holds a control character'
           WHEN t_record_tag ~ '[[:cntrl:]]' THEN 'record_tag holds a control character'
           WHEN t_starting_date IS NULL THEN 'starting_date is missing'
           WHEN starting_date IS NULL THEN format('starting_date %%L is not a date', left(t_starting_date, 60))
           WHEN starting_date < %(earliest)s::timestamptz OR starting_date > now() + interval '366 days'
               THEN format('starting_date %%L is out of range ({EARLIEST_CALL} to a year from now)', t_starting_date)
           WHEN date_trunc('month', starting_date AT TIME ZONE 'UTC')::date = ANY(%(archived_months)s::date[])
               THEN format('starting_date %%L is in a month archived by retention: import its archive', t_starting_date)
           WHEN t_answered_date IS NOT NULL AND v_answered_date IS NULL
               THEN format('answered_date %%L is not a date', left(t_answered_date, 60))
           WHEN t_ending_date IS NOT NULL AND v_ending_date IS NULL
               THEN format('ending_date %%L is not a date', left(t_ending_date, 60))
           {numbers}
           WHEN v_extradata IS NULL THEN 'extradata is not a JSON object'
       END
FROM (
    SELECT *, {number.normalised} AS normalised,
           CASE WHEN NOT ({number.internal}) THEN {number.normalised} END AS n_lookup,
           coalesce(v_answered_date, CASE WHEN billsec > 0
               THEN starting_date + make_interval(secs => greatest(duration - billsec, 0)) END) AS answered_date
    FROM (
        SELECT *, {number.digits} AS n_digits, {number.international} AS n_abroad,
               coalesce(v_duration, CASE WHEN v_ending_date IS NOT NULL
                   THEN greatest(round(extract(epoch FROM v_ending_date - starting_date)), 0)::integer END,
                   v_billsec, 0) AS duration,
               coalesce(v_billsec, CASE WHEN v_answered_date IS NOT NULL AND v_ending_date IS NOT NULL
                   THEN greatest(round(extract(epoch FROM v_ending_date - v_answered_date)), 0)::integer END,
                   0) AS billsec
        FROM (
            SELECT *,
                   ingest_to_timestamptz(t_starting_date, tz) AS starting_date,
                   ingest_to_timestamptz(t_answered_date, tz) AS v_answered_date,
                   ingest_to_timestamptz(t_ending_date, tz) AS v_ending_date,
                   {seconds},
                   {money},
                   CASE WHEN ints_ok OR t_hangup_cause_id ~ '^\\d{{1,4}}$' THEN t_hangup_cause_id::integer END
                       AS v_hangup_cause_id,
                   CASE WHEN t_sip_code ~ '^[1-6]\\d\\d$' THEN t_sip_code::integer END AS v_sip_code,
                   CASE lower(t_direction) WHEN '1' THEN 1 WHEN '2' THEN 2 WHEN 'inbound' THEN 1 WHEN 'outbound' THEN 2
                       WHEN 'in' THEN 1 WHEN 'out' THEN 2 END AS v_direction,
                   CASE WHEN ints_ok OR t_cdr_source_type ~ '^\\d$' THEN t_cdr_source_type::smallint END
                       AS v_cdr_source_type,
                   CASE WHEN t_extradata IS NULL OR t_extradata = '{{}}' OR btrim(t_extradata) = ''
                        THEN '{{}}'::jsonb
                        WHEN ingest_is_json_object(t_extradata) THEN t_extradata::jsonb END AS v_extradata,
                   {number.clean} AS n_clean
            FROM (
                SELECT s.recno, s.lineno, s.recidx, nullif(s.problem, '') AS problem, m.switch_id, m.timezone AS tz,
                       {_ints_ok(fields)} AS ints_ok,
                       {texts}
                FROM ingest_stage s LEFT JOIN ingest_switch_map m ON m.value = coalesce(btrim(s.switch), '')
                OFFSET 0
            ) t OFFSET 0
        ) c OFFSET 0
    ) d OFFSET 0
) n
LEFT JOIN user_accountcode ua ON ua.accountcode = t_accountcode
{joins_prefix}
{" ".join(cause_joins)}
"""
    params = {**number.params, "earliest": EARLIEST_CALL}
    if "disposition" in fields:
        params["disp_names"] = list(DISPOSITION_CAUSES)
        params["disp_codes"] = list(DISPOSITION_CAUSES.values())
    return sql, tuple(sorted(params.items()))


def archived_months() -> list:
    """The months retention archived and dropped, not restored since (data/admin/retention.py)."""
    return [r["month"] for r in db.rows("SELECT DISTINCT month FROM cdr_archive")]


def convert_sql(
    fields: frozenset[str], plan: NumberPlan, longest_prefix: int, import_id: int, source_type: int
) -> tuple[str, dict]:
    """The INSERT filling ``ingest_calls`` from ``ingest_stage`` (one row per staged row, ``reason`` set
    on the rows to reject)."""
    sql, params = _convert_sql(fields, plan, longest_prefix)
    archived = archived_months()  # retention's dropped months: their calls would be counted twice
    return sql, {**dict(params), "import_id": import_id, "source_type": source_type, "archived_months": archived}


def _csv_cell(name: str) -> str:
    return (
        f"CASE WHEN s.{name} ~ '[\",\\r\\n]' THEN '\"' || replace(s.{name}, '\"', '\"\"') || '\"' "
        f"ELSE coalesce(s.{name}, '') END"
    )


def rejects_sql(csv_columns: tuple[str, ...]) -> str:
    """Copies the batch's rejected rows to ``import_reject``; rows COPYed as CSV have their line rebuilt."""
    if csv_columns:
        rebuilt = " || ',' || ".join(_csv_cell(c) if c else "''" for c in csv_columns)
        raw = f"coalesce(s.raw, {rebuilt})"
    else:
        raw = "s.raw"
    return f"""INSERT INTO import_reject (import_id, lineno, record_index, raw, reason)
               SELECT %(import_id)s, c.lineno, c.recidx, {raw}, {REJECT_REASON_SQL}
               FROM ingest_calls c JOIN ingest_stage s ON s.recno = c.recno
               WHERE c.reason IS NOT NULL ORDER BY c.recno"""


# The reason as shown: a record after the first of its line says which it is.
REJECT_REASON_SQL = (
    "CASE WHEN c.recidx > 1 THEN format('record %%s of the line: %%s', c.recidx, c.reason) ELSE c.reason END"
)


# A record's key in cdr_call_key: its callid, and its tag after U+001F (a control character no accepted callid
# holds) when the switch writes several records with one callid.
def record_key_sql(table: str = "") -> str:
    prefix = f"{table}." if table else ""
    return f"{prefix}callid || coalesce(E'\\x1f' || {prefix}record_tag, '')"


RECORD_KEY_SQL = record_key_sql()

# Claims the key of the first record of each in the batch; the keys are inserted in index
# order, so that two batches claiming the same keys wait for each other instead of deadlocking. (Byte
# order: the same as the key's C.UTF-8 or C order for the ASCII callids switches make, and a cheaper sort.)
CLAIM_SQL = f"""
WITH firsts AS MATERIALIZED (
    SELECT DISTINCT ON (switch_id, record_key COLLATE "C") switch_id, record_key, starting_date, recno
    FROM (SELECT switch_id, {RECORD_KEY_SQL} AS record_key, starting_date, recno FROM ingest_calls) k
    ORDER BY switch_id, record_key COLLATE "C", recno
), claimed AS (
    INSERT INTO cdr_call_key (switch_id, callid, starting_date)
    SELECT switch_id, record_key, starting_date FROM firsts ORDER BY switch_id, record_key COLLATE "C"
    ON CONFLICT DO NOTHING
    RETURNING switch_id, callid AS record_key
)
INSERT INTO ingest_new (recno) SELECT f.recno FROM firsts f JOIN claimed c USING (switch_id, record_key)
"""
DROP_DUPLICATES_SQL = "DELETE FROM ingest_calls c WHERE NOT EXISTS (SELECT 1 FROM ingest_new n WHERE n.recno = c.recno)"
MONTHS_SQL = "SELECT DISTINCT date_trunc('month', starting_date AT TIME ZONE 'UTC')::date FROM ingest_calls"
# In time order: cdr's time indexes then grow at a few places instead of everywhere at once.
_STORED_COLUMNS = ", ".join((*CALL_COLUMNS, "destination_alert", "alert_reason"))  # + the blacklist's flags
STORE_SQL = f"INSERT INTO cdr ({_STORED_COLUMNS}) SELECT {_STORED_COLUMNS} FROM ingest_calls ORDER BY starting_date"
NEW_CALLS_SQL = f"SELECT {', '.join(CALL_COLUMNS)} FROM ingest_calls"
