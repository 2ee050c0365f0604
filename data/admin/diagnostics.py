"""What the Diagnostic page shows: is Dialstat configured right, and are calls coming in?

Every function is cheap on 10M calls (catalog queries, the rollups, index-ordered maxima) and
survives a missing table (the ingestion and mail tables come with their own migrations).
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

from data.admin import retention
from data.core import db
from data.core.i18n import gettext as _
from data.core.settings import load_settings


def _has_table(name: str) -> bool:
    return db.scalar("SELECT to_regclass(:n) IS NOT NULL", n=name)


def database() -> dict:
    """Server version, database size, the biggest tables, the cdr partitions and their fate, the read replicas."""
    info = db.rows("""SELECT current_setting('server_version') AS version, version() AS full_version,
                             current_database() AS name, pg_database_size(current_database()) AS bytes,
                             (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS connections,
                             current_setting('max_connections')::int AS max_connections""")[0]
    info["partitions"] = retention.fates()
    info["next_retention_run"] = retention.next_run()
    info["retention"] = load_settings().retention
    info["replicas"] = db.replica_status()
    info["tables"] = db.rows(  # a partitioned table's size and rows are its partitions'
        """SELECT c.relname AS name, t.bytes, t.estimated_rows
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           CROSS JOIN LATERAL (
               SELECT sum(pg_total_relation_size(p.relid))::bigint AS bytes,
                      sum(GREATEST(pc.reltuples, 0))::bigint AS estimated_rows
               FROM pg_partition_tree(c.oid) p JOIN pg_class pc ON pc.oid = p.relid
               WHERE p.isleaf) t
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           ORDER BY t.bytes DESC NULLS LAST LIMIT 12"""
    )
    return info


def calls_per_day_and_switch(days: int = 14) -> list[dict]:
    """Calls per UTC day and switch over the last ``days`` days (from the rollups)."""
    return db.rows(
        """SELECT (date_trunc('day', r.bucket AT TIME ZONE 'UTC'))::date AS day, s.name AS switch,
                  sum(r.attempts)::bigint AS calls
           FROM cdr_rollup_hour r JOIN switch s ON s.id = r.switch_id
           WHERE r.bucket >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                             - make_interval(days => :days - 1)
           GROUP BY 1, 2 ORDER BY 1 DESC, 2""",
        days=days,
    )


def imports() -> dict:
    """The CDR-Pusher table's backlog, the last import of each source, and the collectors' state."""
    result: dict = {"backlog": None, "last_per_source": [], "collectors": []}
    if _has_table("cdr_import"):
        result["backlog"] = db.scalar("SELECT count(*) FROM cdr_import WHERE NOT imported")
        result["oldest_pending"] = db.scalar("SELECT min(starting_date) FROM cdr_import WHERE NOT imported")
    if _has_table("import_batch"):
        result["last_per_source"] = db.rows(
            """SELECT DISTINCT ON (source) source, format, file_name, started_at, finished_at, status, rows_read,
                      accepted, duplicates, rejected, error
               FROM import_batch WHERE NOT dry_run ORDER BY source, started_at DESC"""
        )
    if _has_table("collector_state"):
        result["collectors"] = db.rows(
            "SELECT source_key, high_water, rows_read, last_run_at, last_error FROM collector_state ORDER BY source_key"
        )
    return result


def rollup_lag() -> dict:
    """The newest call stored and the newest rollup buckets; the lag is the gap between them."""
    row = db.rows("""SELECT (SELECT max(starting_date) FROM cdr) AS newest_call,
                            (SELECT max(bucket) FROM cdr_rollup_minute) AS newest_minute,
                            (SELECT max(bucket) FROM cdr_rollup_hour) AS newest_hour""")[0]
    row["lag_seconds"], row["missing"] = None, False
    if row["newest_call"] is not None:
        recent = (datetime.now(timezone.utc) - row["newest_call"]).days < load_settings().rollup_minute_days
        newest, resolution = (row["newest_minute"], 60) if recent else (row["newest_hour"], 900)
        if newest is None:
            row["missing"] = True  # calls and no rollup: run refresh-rollups
        else:  # the newest call falls in the newest bucket when the rollups are current
            row["lag_seconds"] = max(0.0, (row["newest_call"] - newest).total_seconds() - resolution)
    return row


def unknown_causes() -> list[dict]:
    """Hangup causes stored on calls that neither Q.850 nor FreeSWITCH defines (the ``hangup_cause``
    table): shown as "cause N (unknown)" and counted in NER as failures. From the hour level's cause sums."""
    return db.rows("""SELECT r.hangup_cause_id AS code, 'cause ' || r.hangup_cause_id || ' (unknown)' AS name,
                             sum(r.attempts) AS calls, min(r.bucket) AS first_seen, max(r.bucket) AS last_seen
                      FROM cdr_rollup_hour_cause r
                      WHERE NOT EXISTS (SELECT 1 FROM hangup_cause h WHERE h.code = r.hangup_cause_id)
                      GROUP BY r.hangup_cause_id HAVING sum(r.attempts) > 0 ORDER BY calls DESC, code""")


def jobs(scheduled) -> list[dict]:
    """Every scheduled job (``jobs.scheduler.scheduled_jobs()``, given by the caller): period, last runs
    (newest first), durations and failures of the last day."""
    stats = {
        r["job"]: r
        for r in db.rows(
            """SELECT job, count(*) AS runs_24h,
                  count(*) FILTER (WHERE status = 'failed') AS failed_24h,
                  avg(extract(epoch FROM finished_at - started_at)) AS avg_seconds,
                  max(extract(epoch FROM finished_at - started_at)) AS max_seconds
           FROM job_run WHERE started_at > now() - interval '1 day' GROUP BY job"""
        )
    }
    recent: dict[str, list] = {}
    for r in db.rows(
        """SELECT * FROM (
                   SELECT job, started_at, finished_at, status, host, left(error, 300) AS error,
                          extract(epoch FROM finished_at - started_at) AS seconds,
                          row_number() OVER (PARTITION BY job ORDER BY started_at DESC) AS n
                   FROM job_run WHERE started_at > now() - interval '30 days') r
               WHERE n <= 5 ORDER BY job, started_at DESC"""
    ):
        recent.setdefault(r["job"], []).append(r)
    result = []
    for job in scheduled:
        s = stats.get(job.name, {})
        runs = recent.get(job.name, [])
        last_failure = next((r for r in runs if r["status"] == "failed"), None)
        result.append(
            {
                "job": job.name,
                "period_seconds": job.period_seconds,
                "runs_24h": s.get("runs_24h", 0),
                "failed_24h": s.get("failed_24h", 0),
                "avg_seconds": s.get("avg_seconds"),
                "max_seconds": s.get("max_seconds"),
                "last_run": runs[0]["started_at"] if runs else None,
                "last_status": runs[0]["status"] if runs else None,
                "last_error": last_failure["error"] if last_failure else None,
                "recent": runs,
            }
        )
    return result


def mail_configuration() -> dict:
    """The outgoing mail settings (the password only says whether it is set) and the outbox's state."""
    mail = dict(load_settings().mail)
    mail["MAIL_PASSWORD"] = "set" if mail.get("MAIL_PASSWORD") else "not set"
    mail["PUBLIC_URL"] = load_settings().ops.public_url or (
        "not set: mails with a link (password resets) are refused unless the site is reached by a local name"
    )
    outbox = None
    if _has_table("mail_outbox"):
        try:
            from data.core.mailer import outbox_counts

            outbox = outbox_counts()
        except ImportError:  # pragma: no cover
            outbox = None
    return {"settings": mail, "outbox": outbox}


def send_test_mail(recipient: str) -> dict:
    """Queue a test message to ``recipient`` (sent right away if the server answers); its outbox state."""
    from data.core.mailer import parse_addresses, queue_mail

    valid, _invalid = parse_addresses([recipient or ""])
    if not valid:
        raise ValueError(f"{recipient!r} is not an e-mail address")
    outbox_id = queue_mail(
        valid,
        "Test message",
        "This is a test message from Dialstat's Diagnostic page.\nIf you can read it, outgoing mail works.\n",
    )
    if outbox_id is None:
        raise ValueError(_("the message could not be queued"))
    row = db.rows("SELECT id, sent_at, attempts, last_error, smtp_reply FROM mail_outbox WHERE id = :id", id=outbox_id)[
        0
    ]
    return row


def disk() -> list[dict]:
    """Free space where Dialstat writes: var/ (logs, exports, the embedded database), and PostgreSQL's data."""
    settings = load_settings()
    places = {"var (logs, imports, exports)": settings.var_dir, "exports": settings.export_dir}
    if not settings.database_url:
        places["embedded database"] = settings.var_dir / "pgdata"
    result = []
    seen = set()
    for label, path in places.items():
        path = path if path.exists() else path.parent
        try:
            usage = shutil.disk_usage(path)
        except OSError:
            continue
        key = (usage.total, usage.used)
        note = " (same disk as above)" if key in seen else ""
        seen.add(key)
        result.append(
            {
                "place": label + note,
                "path": str(path),
                "total": usage.total,
                "used": usage.used,
                "free": usage.free,
                "free_ratio": usage.free / usage.total if usage.total else None,
            }
        )
    return result


def human_bytes(value) -> str:
    if value is None:
        return "–"
    value = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TB"
