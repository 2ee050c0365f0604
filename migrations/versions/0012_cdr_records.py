"""One row per CDR record: the record tag and the call link, rejects by record, safer date and JSON checks.

- ``cdr.record_tag``: what tells a record apart from the switch's other records with the same callid
  (Asterisk 12+ ``sequence``, else its ``dstchannel``; Kamailio's record kind); NULL when the callid alone
  identifies the record. ``cdr_call_key.callid`` holds the record's key: the callid, followed by
  U+001F and the tag when there is one (a control character no accepted callid holds).
- ``cdr.linkedid``: the call the record belongs to (Asterisk ``linkedid``, FreeSWITCH A leg's uuid);
  NULL when it is the record's own callid.
- ``import_reject.record_index``: a record's place on its line (JSON and YAML put several on one).
- Asterisk records already stored get their tag and link from ``extradata`` (where the import kept
  ``sequence``, ``dstchannel`` and ``linkedid``), and their keys are re-keyed the same way, so that
  re-importing their file still adds nothing.
- ``ingest_is_datetime`` refuses years before 1 and UTC offsets PostgreSQL cannot hold (beyond
  ±15:59), which made the cast fail and the whole batch with it; ``ingest_is_json_object`` refuses
  JSON that ``jsonb`` refuses (``\\u0000``, a lone surrogate escape).
"""

from alembic import op

revision = "0012"
down_revision = "0011"

DATETIME_CHECK = r"""
CREATE OR REPLACE FUNCTION ingest_is_datetime(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT t ~ '^[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[ T]([01]\d|2[0-3]):[0-5]\d'
               '(:[0-5]\d(\.\d{1,9})?)?(Z|[+-](0\d|1[0-5])(:?[0-5]\d)?)?$'
       AND (substr(t, 9, 2) <= '28' OR substr(t, 9, 2)::int <= CASE substr(t, 6, 2)
               WHEN '02' THEN CASE WHEN substr(t, 1, 4)::int % 4 = 0
                                        AND (substr(t, 1, 4)::int % 100 <> 0 OR substr(t, 1, 4)::int % 400 = 0)
                                   THEN 29 ELSE 28 END
               WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 WHEN '11' THEN 30
               ELSE 31 END)
$$;
"""

# A text with a \u escape is tried as jsonb in a sub-transaction (rare: switches write UTF-8); others by IS JSON.
JSON_CHECK = r"""
CREATE OR REPLACE FUNCTION ingest_jsonb_object_ok(t text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN jsonb_typeof(t::jsonb) = 'object';
EXCEPTION WHEN others THEN
    RETURN false;
END $$;
CREATE OR REPLACE FUNCTION ingest_is_json_object(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN strpos(t, '\u') = 0 THEN t IS JSON OBJECT ELSE ingest_jsonb_object_ok(t) END
$$;
"""


def upgrade() -> None:
    op.execute("ALTER TABLE cdr ADD COLUMN IF NOT EXISTS record_tag text, ADD COLUMN IF NOT EXISTS linkedid text")
    op.execute("ALTER TABLE import_reject ADD COLUMN IF NOT EXISTS record_index integer")
    op.execute(DATETIME_CHECK)
    op.execute(JSON_CHECK)
    op.execute(
        """UPDATE cdr SET record_tag = coalesce(extradata->>'sequence', nullif(extradata->>'dstchannel', '')),
                          linkedid = nullif(extradata->>'linkedid', '')
           WHERE cdr_source_type = 4 AND record_tag IS NULL
             AND (extradata ? 'sequence' OR extradata ? 'dstchannel' OR extradata ? 'linkedid')"""
    )
    op.execute(
        """UPDATE cdr_call_key k SET callid = c.callid || E'\\x1f' || c.record_tag
           FROM cdr c WHERE c.record_tag IS NOT NULL AND c.switch_id = k.switch_id AND c.callid = k.callid"""
    )


def downgrade() -> None:
    # A call's records collapse to one key again: the first of each callid keeps it.
    op.execute(
        """DELETE FROM cdr_call_key a USING cdr_call_key b
           WHERE strpos(a.callid, E'\\x1f') > 0 AND a.switch_id = b.switch_id
             AND split_part(a.callid, E'\\x1f', 1) = split_part(b.callid, E'\\x1f', 1) AND b.callid < a.callid"""
    )
    op.execute(
        """UPDATE cdr_call_key SET callid = split_part(callid, E'\\x1f', 1) WHERE strpos(callid, E'\\x1f') > 0"""
    )
    op.execute("ALTER TABLE cdr DROP COLUMN IF EXISTS record_tag, DROP COLUMN IF EXISTS linkedid")
    op.execute("ALTER TABLE import_reject DROP COLUMN IF EXISTS record_index")
    version = op.get_bind().exec_driver_sql("SHOW server_version_num").scalar()
    if int(version) >= 160000:  # 0002's definition again; before 16 it tried jsonb itself
        op.execute(
            "CREATE OR REPLACE FUNCTION ingest_is_json_object(t text) RETURNS boolean "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT t IS JSON OBJECT $$"
        )
    else:
        op.execute(
            "CREATE OR REPLACE FUNCTION ingest_is_json_object(t text) RETURNS boolean "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ingest_jsonb_object_ok(t) $$"
        )
    if int(version) >= 160000:
        op.execute("DROP FUNCTION IF EXISTS ingest_jsonb_object_ok(text)")
