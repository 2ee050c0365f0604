"""The canonical CDR every source is turned into: CDR-Stats' import field names, plus a few that switch
formats carry (answer and end times, Asterisk's disposition, Kamailio's SIP code).

Every value is text until the set-based conversion in SQL (``pipeline``) checks and converts it.
"""

from __future__ import annotations

# The header of CDR-Stats' "CDR Manual Import" (and of the CDR-Pusher ``cdr_import`` table), in order.
CDR_STATS_FIELDS = (
    "switch",
    "cdr_source_type",
    "callid",
    "caller_id_number",
    "caller_id_name",
    "destination_number",
    "dialcode",
    "state",
    "channel",
    "starting_date",
    "duration",
    "billsec",
    "progresssec",
    "answersec",
    "waitsec",
    "hangup_cause_id",
    "hangup_cause",
    "direction",
    "country_code",
    "accountcode",
    "buy_rate",
    "buy_cost",
    "sell_rate",
    "sell_cost",
    "extradata",
)
# Fields a switch's own format gives and CDR-Stats' header has not.
# ``record_tag`` tells apart the records a switch writes with one callid (Asterisk 12+ ``sequence``, Kamailio's
# record kind); ``linkedid`` names the call a record belongs to (Asterisk ``linkedid``, FreeSWITCH's A leg).
EXTRA_FIELDS = ("answered_date", "ending_date", "disposition", "sip_code", "record_tag", "linkedid")
CANONICAL_FIELDS = CDR_STATS_FIELDS + EXTRA_FIELDS

# Values of ``cdr_source_type`` (the ``cdr_source_type`` table).
SOURCE_TYPES = {
    "unknown": 0,
    "csv": 1,
    "api": 2,
    "freeswitch": 3,
    "asterisk": 4,
    "yate": 5,
    "kamailio": 6,
    "opensips": 7,
    "sipwise": 8,
    "veraz": 9,
}

# Asterisk ``disposition`` → Q.850 cause, as in the reference's CDR-Pusher configuration for Asterisk
# (anything else: 41, NORMAL_TEMPORARY_FAILURE, as there).
DISPOSITION_CAUSES = {
    "ANSWER": 16,
    "ANSWERED": 16,
    "BUSY": 17,
    "NOANSWER": 19,
    "NO ANSWER": 19,
    "CANCEL": 21,
    "CANCELED": 21,
    "CONGESTION": 34,
    "CHANUNAVAIL": 47,
    "DONTCALL": 21,
    "TORTURE": 21,
    "INVALIDARGS": 47,
    "FAIL": 41,
    "FAILED": 41,
}
UNKNOWN_DISPOSITION_CAUSE = 41
# A SIP final response with no row in ``sip_cause`` takes its class's (x00) mapping, else this cause
# (41, as the reference's Kamailio configuration does for any code it does not list).
UNKNOWN_SIP_CAUSE = 41
ANSWERED_CAUSE = 16  # NORMAL_CLEARING: an answered call that arrives without a cause

MAX_CALLID_LENGTH = 255  # a longer key would not fit a B-tree entry; no switch makes one
# Longest values accepted (longer: a reject). Asterisk's own limits are 80 (AST_MAX_ACCOUNT_CODE,
# AST_MAX_EXTENSION); numbers may arrive as SIP URIs, names and channels are free text. accountcode and
# callid are indexed: a B-tree entry holds at most about 2,700 bytes.
MAX_LENGTHS = {
    "callid": MAX_CALLID_LENGTH,
    "record_tag": 255,
    "linkedid": 255,
    "accountcode": 80,
    "caller_id_number": 128,
    "destination_number": 128,
    "caller_id_name": 1024,
    "channel": 255,
    "state": 80,
    "hangup_cause": 80,
    "disposition": 80,
    "extradata": 65_536,
}
MAX_SWITCH_LENGTH = 80  # a switch named by a row (created when unknown): a name or an IP, never longer
MAX_NESTING = 32  # levels of JSON/YAML objects and lists in one CDR (extradata included)
