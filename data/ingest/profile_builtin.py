"""The built-in import profiles, each written from its format's public definition (named in its description).

They are read-only: an operator copies one (as YAML) to make a variant. Saved profiles may not take
their names.
"""

from __future__ import annotations

ASTERISK_CUSTOM_NAMES = [
    "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata", "start", "answer", "end",
    "duration", "billsec", "disposition", "amaflags", "accountcode", "uniqueid", "userfield", "sequence",
]  # fmt: skip
ASTERISK_CSV_NAMES = [
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata", "start",
    "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield", "peeraccount",
    "linkedid", "sequence",
]  # fmt: skip
FREESWITCH_EXAMPLE_NAMES = [
    "caller_id_name", "caller_id_number", "destination_number", "context", "start_stamp", "answer_stamp",
    "end_stamp", "duration", "billsec", "hangup_cause", "uuid", "bleg_uuid", "accountcode", "read_codec",
    "write_codec",
]  # fmt: skip
CDR_STATS_2_NAMES = [
    "caller_id_number", "caller_id_name", "destination_number", "duration", "billsec", "hangup_cause_id",
    "direction", "uuid", "remote_media_ip", "start_uepoch", "answer_uepoch", "end_uepoch", "mduration", "billmsec",
    "read_codec", "write_codec", "accountcode",
]  # fmt: skip
CGR_CSV_NAMES = [
    "cgrid", "mediation_runid", "tor", "accid", "reqtype", "direction", "tenant", "category", "account", "subject",
    "destination", "setup_time", "answer_time", "usage", "cost",
]  # fmt: skip
# The caller's name out of Asterisk's clid ("Alice" <1001>), the number being src.
_CLID_NAME = r'~clid:s/^"([^"]*)"/${1}/'

# Both Asterisk layouts name their columns as the CDR() function does.
_ASTERISK_FIELDS = {
    "caller_id_name": _CLID_NAME,
    "caller_id_number": "src",
    "destination_number": "dst",
    "channel": "channel",
    "starting_date": "start",
    "answered_date": "answer",
    "ending_date": "end",
    "duration": "duration",
    "billsec": "billsec",
    "disposition": "disposition",
    "accountcode": "accountcode",
    "callid": "uniqueid",
    "record_tag": "sequence",
}
_FREESWITCH_FIELDS = {
    "caller_id_name": "caller_id_name",
    "caller_id_number": "caller_id_number",
    "destination_number": "destination_number",
    "starting_date": "start_stamp",
    "answered_date": "answer_stamp",
    "ending_date": "end_stamp",
    "duration": "duration",
    "billsec": "billsec",
    "hangup_cause": "hangup_cause",
    "callid": "uuid",
    "accountcode": "accountcode",
}

BUILTIN_PROFILES: list[dict] = [
    {
        "name": "asterisk-cdr-custom",
        "description": "Asterisk cdr_custom with the Master.csv mapping of Asterisk's sample cdr_custom.conf "
        "(configs/samples/cdr_custom.conf.sample): clid first, accountcode 16th, sequence last.",
        "header": False,
        "columns": 19,
        "names": ASTERISK_CUSTOM_NAMES,
        "source_type": "asterisk",
        "fields": _ASTERISK_FIELDS,
    },
    {
        "name": "asterisk-cdr-csv",
        "description": "Asterisk cdr_csv (Master.csv) with loguniqueid, loguserfield and newcdrcolumns "
        "(cdr/cdr_csv.c): peeraccount, linkedid and sequence after userfield.",
        "header": False,
        "columns": 21,
        "names": ASTERISK_CSV_NAMES,
        "source_type": "asterisk",
        "fields": {**_ASTERISK_FIELDS, "linkedid": "linkedid"},
    },
    {
        "name": "freeswitch-csv-example",
        "description": "FreeSWITCH mod_cdr_csv, the 'example' template of cdr_csv.conf.xml (15 quoted fields).",
        "header": False,
        "columns": 15,
        "names": FREESWITCH_EXAMPLE_NAMES,
        "source_type": "freeswitch",
        "fields": _FREESWITCH_FIELDS,
    },
    {
        "name": "freeswitch-csv-sql",
        "description": "FreeSWITCH mod_cdr_csv, the 'sql' template of cdr_csv.conf.xml: one INSERT INTO cdr VALUES "
        "(...); statement a line, 13 values.",
        "header": False,
        "columns": 13,
        "names": FREESWITCH_EXAMPLE_NAMES[:13],
        "source_type": "freeswitch",
        "line_pattern": r"^\s*INSERT INTO \w+ VALUES \((.*)\);\s*$",
        "fields": _FREESWITCH_FIELDS,
    },
    {
        "name": "freeswitch-csv-spreadsheet",
        "description": "A FreeSWITCH 'example' template file saved again by a spreadsheet: quotes only where a "
        "value holds a comma, times written year/month/day hour:minute (2020/2/10 22:41).",
        "header": False,
        "columns": 15,
        "names": FREESWITCH_EXAMPLE_NAMES,
        "source_type": "freeswitch",
        "dates": "%Y/%m/%d %H:%M",
        "fields": _FREESWITCH_FIELDS,
    },
    {
        "name": "kamailio-acc-csv",
        "description": "Kamailio acc table rows exported as CSV with their header (acc-create.sql, plus the "
        "db_extra columns of Kamailio's default kamailio.cfg): one record per transaction; INVITE rows are the "
        "calls, others (BYE, ACK) are rejected as such.",
        "source_type": "kamailio",
        "answered": "sip_code=200",
        "keep": "record_tag=INVITE",
        "fields": {
            "callid": "callid",
            "record_tag": "method",
            "starting_date": "time",
            "sip_code": "sip_code",
            "caller_id_number": "src_user",
            "destination_number": "dst_ouser",
        },
    },
    {
        "name": "cdr-stats-2-import",
        "description": "CDR-Stats 2.x 'Import CDR' page with its default column mapping (column-1 to column-17 "
        "in the order of cdr/constants.py CDR_FIELD_LIST), times as FreeSWITCH microsecond epochs.",
        "header": False,
        "columns": 17,
        "names": CDR_STATS_2_NAMES,
        "source_type": "freeswitch",
        "dates": "epoch_us",
        "fields": {
            "caller_id_number": "caller_id_number",
            "caller_id_name": "caller_id_name",
            "destination_number": "destination_number",
            "duration": "duration",
            "billsec": "billsec",
            "hangup_cause_id": "hangup_cause_id",
            "direction": "direction",
            "callid": "uuid",
            "starting_date": "start_uepoch",
            "answered_date": "answer_uepoch",
            "ending_date": "end_uepoch",
            "accountcode": "accountcode",
        },
    },
    {
        "name": "cgr-csv",
        "description": "CGRateS cgr-csv export (cdre), as Dialstat's default export template writes it: usage "
        "in nanoseconds, times in RFC 3339.",
        "header": False,
        "columns": 15,
        "names": CGR_CSV_NAMES,
        "fields": {
            "callid": "accid",
            "accountcode": "account",
            "destination_number": "destination",
            "starting_date": "setup_time",
            "answered_date": "answer_time",
            "billsec": r"~usage:s/^(\d+)\d{9}$/${1}/",
            "direction": r"~direction:s/^\*(in|out)$/${1}/",
            "sell_cost": "cost",
        },
        "extradata": ["cgrid", "tenant"],
    },
]
BUILTIN_NAMES = frozenset(p["name"] for p in BUILTIN_PROFILES)
