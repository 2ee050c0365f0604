"""Calls made of several records, counted as calls (Yeti's "uniq calls"): see docs/rollups.md.

The rollups count records: every CDR a switch writes is one attempt, as CDR-Stats counted them and as
each is rated. Asterisk 12+ writes a record per party A / party B pair (a queue ringing five members
writes five or more), FreeSWITCH one per leg, Kamailio's acc one per branch, so per-record ASR
understates how many callers were answered. Here the records are grouped by ``linkedid`` (the
record's own callid when it has none) within the switch:

- a call is answered when any of its records is, and NER-successful when any of its records is;
- its billed seconds are those of the records of the originating channel (callid = linkedid: the
  caller's time, a transfer's two parts included), or the longest record when none is;
- its attempts are the calls, whatever the number of records.

Records are taken by their own starting time in ``[start, end)``: a call whose records straddle the
range's edge is counted in part on each side.
"""

from __future__ import annotations

from datetime import datetime

from data.core import db
from data.core.rollups import rollup_params

_CALLS_SQL = """
WITH records AS (
    SELECT switch_id, coalesce(linkedid, callid) AS call, callid = coalesce(linkedid, callid) AS originating,
           (answered_date IS NOT NULL OR billsec > 0) AS answered, billsec,
           coalesce(hangup_cause_id = ANY(CAST(:ner_causes AS integer[])), false) AS ner_cause
    FROM cdr
    WHERE starting_date >= :start AND starting_date < :end
      AND (CAST(:switch_id AS integer) IS NULL OR switch_id = :switch_id)
), calls AS (
    SELECT count(*) AS records, bool_or(answered) AS answered, bool_or(answered OR ner_cause) AS ner_success,
           coalesce(sum(billsec) FILTER (WHERE originating), max(billsec)) AS billsec
    FROM records GROUP BY switch_id, call
)
SELECT count(*) AS calls, coalesce(sum(records), 0) AS records,
       count(*) FILTER (WHERE answered) AS answered, count(*) FILTER (WHERE ner_success) AS ner_success,
       coalesce(sum(billsec) FILTER (WHERE answered), 0) AS billsec
FROM calls
"""


def unique_call_totals(start: datetime, end: datetime, switch_id: int | None = None) -> dict:
    """Calls, records, answered and NER-successful calls, and billed seconds of answered calls, in
    ``[start, end)``; ASR = answered / calls, ACD = billsec / answered (``data.core.kpis``)."""
    ner_causes = rollup_params()["ner_causes"]
    return db.rows(_CALLS_SQL, start=start, end=end, switch_id=switch_id, ner_causes=ner_causes)[0]
