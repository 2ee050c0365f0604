"""Every cause ITU-T Q.850 defines is named and classed; RFC 3398's SIP map points into the table; a cause
outside both Q.850 and FreeSWITCH is stored, shown as "cause N (unknown)", a failure in NER, and listed on
the diagnostic page."""

from datetime import date

from data.admin import diagnostics
from data.core import db
from data.core.report_filter import ReportFilter
from data.core.scope import Scope
from data.ingest import import_file
from data.ingest.fields import CDR_STATS_FIELDS
from data.reports.traffic import breakdown

# ITU-T Q.850 (05/1998) Table 1, with Amendment 1 (14, 23, 24, 25): cause value and its text.
Q850 = {
    1: "Unallocated (unassigned) number",
    2: "No route to specified transit network",
    3: "No route to destination",
    4: "Send special information tone",
    5: "Misdialled trunk prefix",
    6: "Channel unacceptable",
    7: "Call awarded and being delivered in an established channel",
    8: "Preemption",
    9: "Preemption - circuit reserved for reuse",
    14: "QoR: ported number",
    16: "Normal call clearing",
    17: "User busy",
    18: "No user responding",
    19: "No answer from user (user alerted)",
    20: "Subscriber absent",
    21: "Call rejected",
    22: "Number changed",
    23: "Redirection to new destination",
    24: "Call rejected due to feature at the destination",
    25: "Exchange routing error",
    26: "Non-selected user clearing",
    27: "Destination out of order",
    28: "Invalid number format (address incomplete)",
    29: "Facility rejected",
    30: "Response to STATUS ENQUIRY",
    31: "Normal, unspecified",
    34: "No circuit/channel available",
    38: "Network out of order",
    39: "Permanent frame mode connection out of service",
    40: "Permanent frame mode connection operational",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    43: "Access information discarded",
    44: "Requested circuit/channel not available",
    46: "Precedence call blocked",
    47: "Resource unavailable, unspecified",
    49: "Quality of Service not available",
    50: "Requested facility not subscribed",
    53: "Outgoing calls barred within CUG",
    55: "Incoming calls barred within CUG",
    57: "Bearer capability not authorized",
    58: "Bearer capability not presently available",
    62: "Inconsistency in designated outgoing access information and subscriber class",
    63: "Service or option not available, unspecified",
    65: "Bearer capability not implemented",
    66: "Channel type not implemented",
    69: "Requested facility not implemented",
    70: "Only restricted digital information bearer capability is available",
    79: "Service or option not implemented, unspecified",
    81: "Invalid call reference value",
    82: "Identified channel does not exist",
    83: "A suspended call exists, but this call identity does not",
    84: "Call identity in use",
    85: "No call suspended",
    86: "Call having the requested call identity has been cleared",
    87: "User not member of CUG",
    88: "Incompatible destination",
    90: "Non-existent CUG",
    91: "Invalid transit network selection",
    95: "Invalid message, unspecified",
    96: "Mandatory information element is missing",
    97: "Message type non-existent or not implemented",
    98: "Message not compatible with call state or message type non-existent or not implemented",
    99: "Information element/parameter non-existent or not implemented",
    100: "Invalid information element contents",
    101: "Message not compatible with call state",
    102: "Recovery on timer expiry",
    103: "Parameter non-existent or not implemented - passed on",
    110: "Message with unrecognized parameter discarded",
    111: "Protocol error, unspecified",
    127: "Interworking, unspecified",
}
# Q.850 section 2.2.5: the class is the cause value's top three bits (0-31 are both "normal event" classes).
CLASSES = [
    (31, "normal event"),
    (47, "resource unavailable"),
    (63, "service or option not available"),
    (79, "service or option not implemented"),
    (95, "invalid message"),
    (111, "protocol error"),
    (127, "interworking"),
]
# RFC 3398 section 8.2.6.1: SIP final response -> ISUP (Q.850) cause; 487, 488 and 606 have none there.
RFC3398 = {
    400: 41, 401: 21, 402: 21, 403: 21, 404: 1, 405: 63, 406: 79, 407: 21, 408: 102, 410: 22, 413: 127, 414: 127,
    415: 79, 416: 127, 420: 127, 421: 127, 423: 127, 480: 18, 481: 41, 482: 25, 483: 25, 484: 28, 485: 1, 486: 17,
    500: 41, 501: 79, 502: 38, 503: 41, 504: 102, 505: 127, 513: 127, 600: 17, 603: 21, 604: 1,
}  # fmt: skip
FREESWITCH_ONLY = {0, 45, 52, 54, 142, 487, 500, 501, 502, 503, *range(600, 614)}


def test_every_q850_cause_is_named_and_classed(app):
    stored = {r["code"]: r for r in db.rows("SELECT * FROM hangup_cause")}
    for code, text in Q850.items():
        row = stored[code]
        assert row["name"] and row["class"] and row["source"] == "Q.850", code
        assert row["description"] == text
        assert row["q850_class"] == next(name for top, name in CLASSES if code <= top)
    assert {code for code, row in stored.items() if row["source"] == "FreeSWITCH"} == FREESWITCH_ONLY
    assert set(stored) == set(Q850) | FREESWITCH_ONLY
    assert len({row["name"] for row in stored.values()}) == len(stored), "names are unique: imports look them up"


def test_the_sip_map_is_rfc_3398s_and_points_into_the_table(app):
    stored = {r["sip_code"]: r["q850_code"] for r in db.rows("SELECT sip_code, q850_code FROM sip_cause")}
    assert {sip: stored[sip] for sip in RFC3398} == RFC3398
    assert all(code in Q850 or code in FREESWITCH_ONLY for code in stored.values())


def test_an_unknown_cause_is_kept_shown_failed_and_listed(app, tmp_path):
    path = tmp_path / "causes.csv"
    row = "10.0.0.1,1,{id},900,C,+34650104877,,,,2026-01-15 10:00:00,30,0,,,,{cause},,2,,1001,,,,,{{}}\n"
    path.write_text(
        ",".join(CDR_STATS_FIELDS) + "\n" + "".join(row.format(id=f"cause-{c}", cause=c) for c in (26, 110, 17, 999))
    )
    assert import_file(path).line() == "accepted=4 duplicates=0 rejected=0"
    assert db.scalar("SELECT hangup_cause_id FROM cdr WHERE callid = 'cause-999'") == 999
    f = ReportFilter.for_days(date(2026, 1, 15), date(2026, 1, 15), "UTC")
    labels = {r["code"]: r["label"] for r in breakdown(Scope(user_id=None), f, "hangup_cause")}
    assert labels == {
        26: "NON_SELECTED_USER_CLEARING",
        110: "UNRECOGNIZED_PARAMETER_DISCARDED",
        17: "USER_BUSY",
        999: "cause 999 (unknown)",
    }
    # NER: the busy call is a user's outcome (success); 26, 110 and the unknown cause are failures
    assert db.scalar("SELECT sum(ner_success) FROM cdr_rollup_hour") == 1
    assert [(r["code"], r["name"], r["calls"]) for r in diagnostics.unknown_causes()] == [
        (999, "cause 999 (unknown)", 1)
    ]
