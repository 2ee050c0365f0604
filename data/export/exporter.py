"""Export runs: streaming CDRs into files, the files themselves, and the export history.

A file is written under a temporary name beside its final one (``.<name>.<random>.part``), fsynced,
recorded in ``export_history`` (with its sha256) in a transaction, and only then linked to its final
name, never overwriting a file (``cdrs_1384104724_2.csv`` when ``cdrs_1384104724.csv`` exists).
A crash between the commit and the rename is repaired by :func:`finalize_pending_files`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from data.core import db
from data.core.settings import load_settings

from .cdr_query import ExportFilter, rendered_query, typed_query
from .compiled import RowAccess
from .fields import parse_time
from .formats import ExportSummary, _ExportWriter, export_file_name, write_export
from .library import ExportRefused, get_template, mask_prefixes
from .sqlrender import sql_rendering
from .templates import ExportTemplate

log = logging.getLogger("dialstat.export")
UTC = timezone.utc
FETCH_BATCH = 10_000  # rows per round trip of the server-side cursor
UNEXPORTED_KEPT = 1000  # unexported CDRs listed in a history entry (the count is always exact)
PREVIEW_ROWS = 5
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


# --- Streaming an export --------------------------------------------------------------------------


@dataclass
class ExportRun:
    """Everything one export run needs besides the CDRs."""

    template: ExportTemplate
    flt: ExportFilter = field(default_factory=ExportFilter)
    export_id: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    default_tenant: str = ""
    mask_prefixes: tuple[str, ...] = ()
    keep_exported_cgrids: bool = True
    sql_rendering: bool = True  # False forces the Python writer (tests compare both)


def stream_export(conn, run: ExportRun, out) -> ExportSummary:
    """Stream the CDRs of ``run`` from ``conn`` (a psycopg2 connection in a transaction) into ``out``.

    A server-side cursor fetches :data:`FETCH_BATCH` rows at a time, so memory stays flat however many
    CDRs there are. PostgreSQL renders what it can of the records (sqlrender.py), Python the rest.
    """
    template = run.template
    value_format = template.value_format(default_tenant=run.default_tenant, mask_prefixes=run.mask_prefixes)
    probe = _ExportWriter(template, value_format, run.export_id, run.now, False, RowAccess())
    rendering = None
    if run.sql_rendering and _counts_characters(conn):
        rendering = sql_rendering(template, value_format, probe._handler_text)
    with conn.cursor() as setup:
        # Timestamps arrive in UTC (the fast formatting path), rendered times in ISO; sorting by id in memory.
        setup.execute("SET LOCAL TIME ZONE 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL work_mem = '256MB'")
    cursor = conn.cursor(name=f"export_{secrets.token_hex(6)}")
    cursor.itersize = FETCH_BATCH
    try:
        common = dict(
            export_id=run.export_id,
            now=run.now,
            default_tenant=run.default_tenant,
            mask_prefixes=run.mask_prefixes,
            keep_exported_cgrids=run.keep_exported_cgrids,
        )
        if rendering is not None:
            sql, params, columns = rendered_query(rendering, template, run.flt)
            cursor.execute(sql, params)
            return write_export(template, cursor, out, columns=columns, rendered=rendering, **common)
        sql, params, columns = typed_query(template, run.flt)
        cursor.execute(sql, params)
        return write_export(template, cursor, out, columns=columns, **common)
    finally:
        cursor.close()


def _counts_characters(conn) -> bool:
    """Whether the database counts characters as Python does (UTF8), which SQL width fitting needs."""
    with conn.cursor() as cur:
        cur.execute("SHOW server_encoding")
        return cur.fetchone()[0] == "UTF8"


def preview(template: ExportTemplate, *, limit: int = PREVIEW_ROWS, mask_list: str | None = None) -> dict:
    """The template applied to the ``limit`` newest answered CDRs: text, summary and the CDRs' ids."""
    import io

    run = ExportRun(
        template,
        export_id="preview",
        default_tenant=load_settings().export_default_tenant,
        mask_prefixes=mask_prefixes(template.mask_destination_id if mask_list is None else mask_list),
    )
    sql, params, columns = typed_query(template, ExportFilter(), newest_first=True, limit=limit)
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute("SET LOCAL TIME ZONE 'UTC'")
        cur.execute(sql, params)
        rows = list(reversed(cur.fetchall()))
    out = io.StringIO(newline="")
    summary = write_export(
        template,
        rows,
        out,
        columns=columns,
        export_id=run.export_id,
        now=run.now,
        default_tenant=run.default_tenant,
        mask_prefixes=run.mask_prefixes,
    )
    return {"text": out.getvalue(), "summary": summary, "ids": [row[0] for row in rows]}


# --- Files ------------------------------------------------------------------------------------------


def export_root() -> Path:
    return Path(load_settings().export_dir).resolve()


def resolve_export_dir(directory: str | os.PathLike | None) -> Path:
    """EXPORT_DIR, or a directory inside it (relative to it, or absolute); ExportRefused for anything else."""
    root = export_root()
    if directory in (None, ""):
        return root
    if "\x00" in str(directory):
        raise ExportRefused("the export directory must be inside EXPORT_DIR")
    candidate = Path(directory)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if resolved != root and not resolved.is_relative_to(root):
        raise ExportRefused(f"the export directory must be EXPORT_DIR ({root}) or a directory inside it")
    return resolved


def check_file_name(name: str) -> str:
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name) or ".." in name:
        raise ExportRefused("a file name is letters, digits, '.', '_' or '-', and does not start with '.'")
    return name


def _sha256_and_size(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _link_no_clobber(temp: Path, wanted: Path) -> Path:
    """Give ``temp`` its final name, or ``<stem>_<n><suffix>`` when that is taken; never overwrite."""
    candidate, number = wanted, 1
    while True:
        try:
            os.link(temp, candidate)
        except FileExistsError:
            number += 1
            candidate = wanted.with_name(f"{wanted.stem}_{number}{wanted.suffix}")
            continue
        os.unlink(temp)
        _fsync_dir(candidate.parent)
        return candidate


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def finalize_file(history_id: int, temp: Path, wanted: Path) -> Path:
    final = _link_no_clobber(temp, wanted)
    db.execute(
        "UPDATE export_history SET file_path = :f, temp_path = NULL, finalized = true WHERE id = :id",
        f=str(final),
        id=history_id,
    )
    return final


def finalize_pending_files() -> int:
    """Finish exports committed but not renamed (a crash in between); returns how many were repaired."""
    repaired = 0
    for row in db.rows("SELECT id, file_path, temp_path FROM export_history WHERE NOT finalized ORDER BY id"):
        temp = Path(row["temp_path"]) if row["temp_path"] else None
        if temp is not None and temp.exists():
            finalize_file(row["id"], temp, Path(row["file_path"]))
            repaired += 1
        elif Path(row["file_path"]).exists():  # renamed, but the crash came before it was recorded
            db.execute("UPDATE export_history SET finalized = true, temp_path = NULL WHERE id = :id", id=row["id"])
        else:
            log.error("export %s: neither %s nor its temporary file exist", row["id"], row["file_path"])
    return repaired


# --- Export runs, recorded in the history ----------------------------------------------------------


@dataclass
class ExportResult:
    history_id: int | None
    path: Path | None
    summary: ExportSummary
    sha256: str = ""
    bytes: int = 0

    def answer(self, suppress_cgrids: bool = False) -> dict:
        """The JSON-RPC answer CGRateS gives (ExportedFilePath, TotalRecords, ...)."""
        s = self.summary
        return {
            "ExportedFilePath": str(self.path) if self.path else "",
            "TotalRecords": s.total_records,
            "TotalCost": float(s.total_cost),
            "FirstOrderId": s.first_order_id or 0,
            "LastOrderId": s.last_order_id or 0,
            "ExportedCgrIds": None if suppress_cgrids else s.exported_cgrids,
            "UnexportedCgrIds": None if suppress_cgrids else s.unexported,
        }


@dataclass(frozen=True)
class Actor:
    """Who runs an export: a user (UI, shell, JSON-RPC) or a schedule."""

    source: str  # ui | cli | jsonrpc | schedule
    name: str
    user_id: int | None = None
    schedule_id: int | None = None


def export_to_file(
    run: ExportRun,
    actor: Actor,
    *,
    directory: str | None = None,
    file_name: str | None = None,
    reexport_of: int | None = None,
    parameters: dict | None = None,
    confined: bool = True,
) -> ExportResult:
    """Export ``run`` into a new file under EXPORT_DIR, record it in the history, return the result.

    ``directory`` defaults to the template's ``export_dir``, then EXPORT_DIR; it must be inside EXPORT_DIR
    unless ``confined`` is False (the shell command, whose user can write anywhere anyway).
    """
    if directory not in (None, "") and not confined:
        target_dir = Path(directory).expanduser().resolve()
    else:
        target_dir = resolve_export_dir(directory if directory not in (None, "") else run.template.export_dir or None)
    name = check_file_name(file_name) if file_name else export_file_name(run.template, run.now)
    target_dir.mkdir(parents=True, exist_ok=True)
    with db.raw_connection() as conn:
        temp, summary, digest, size = write_temp_file(conn, run, target_dir, name)
        try:
            history_id = record_run(
                conn,
                run,
                actor,
                summary,
                target_dir / name,
                temp,
                digest,
                size,
                reexport_of=reexport_of,
                parameters=parameters,
            )
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    final = finalize_file(history_id, temp, target_dir / name)
    return ExportResult(history_id, final, summary, digest, size)


def write_temp_file(conn, run: ExportRun, directory: Path, name: str) -> tuple[Path, ExportSummary, str, int]:
    temp = directory / f".{name}.{secrets.token_hex(4)}.part"
    try:
        with open(temp, "w", encoding="utf-8", newline="", buffering=1 << 20) as out:
            summary = stream_export(conn, run, out)
            out.flush()
            os.fsync(out.fileno())
        digest, size = _sha256_and_size(temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, summary, digest, size


def record_run(
    conn,
    run: ExportRun,
    actor: Actor,
    summary: ExportSummary,
    wanted: Path,
    temp: Path,
    digest: str,
    size: int,
    *,
    reexport_of: int | None = None,
    parameters: dict | None = None,
) -> int:
    unexported = dict(list(summary.unexported.items())[:UNEXPORTED_KEPT])
    details = {"filter": run.flt.as_json(), "unexported": unexported, **(parameters or {})}
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO export_history (source, user_id, actor, schedule_id, reexport_of, template_name,
                   export_id, time_start, time_end, id_after, id_through, total_records, unexported_records,
                   total_cost, first_order_id, last_order_id, file_path, temp_path, bytes, sha256, parameters)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               RETURNING id""",
            (
                actor.source,
                actor.user_id,
                actor.name,
                actor.schedule_id,
                reexport_of,
                run.template.name,
                run.export_id,
                run.flt.time_start,
                run.flt.time_end,
                run.flt.id_after,
                run.flt.id_through,
                summary.total_records,
                len(summary.unexported),
                summary.total_cost,
                summary.first_order_id,
                summary.last_order_id,
                str(wanted),
                str(temp),
                size,
                digest,
                json.dumps(details, default=str),
            ),
        )
        return cur.fetchone()[0]


def list_history(limit: int = 50) -> list[dict]:
    return db.rows(
        """SELECT h.id, h.created_at, h.source, h.actor, h.template_name, h.time_start, h.time_end, h.id_after,
                  h.id_through, h.total_records, h.unexported_records, h.total_cost, h.file_path, h.sha256,
                  h.bytes, h.finalized, h.reexport_of, sc.name AS schedule_name
           FROM export_history h LEFT JOIN export_schedule sc ON sc.id = h.schedule_id
           ORDER BY h.id DESC LIMIT :limit""",
        limit=limit,
    )


def history_entry(history_id: int) -> dict | None:
    found = db.rows("SELECT * FROM export_history WHERE id = :id", id=history_id)
    return found[0] if found else None


def reexport(history_id: int, actor: Actor, template_name: str | None = None) -> ExportResult:
    """Export again the CDRs of a past export (same filter, id window and template unless given) to a new file,
    beside the first one (in EXPORT_DIR if that was outside). Re-exports are explicit: no watermark moves.
    """
    entry = history_entry(history_id)
    if entry is None:
        raise ExportRefused(f"no export #{history_id}")
    saved = entry["parameters"].get("filter", {})
    flt = ExportFilter(
        time_start=_as_time(saved.get("time_start")),
        time_end=_as_time(saved.get("time_end")),
        accounts=tuple(saved.get("accounts", ())),
        destination_prefixes=tuple(saved.get("destination_prefixes", ())),
        id_after=saved.get("id_after"),
        id_through=saved.get("id_through"),
    )
    template = get_template(template_name or entry["template_name"])
    run = ExportRun(
        template,
        flt,
        export_id=entry["export_id"],
        default_tenant=load_settings().export_default_tenant,
        mask_prefixes=mask_prefixes(template.mask_destination_id),
    )
    directory = os.path.dirname(entry["file_path"])
    try:
        resolve_export_dir(directory)
    except ExportRefused:  # a shell export written outside EXPORT_DIR: the copy goes to EXPORT_DIR
        directory = None
    return export_to_file(run, actor, directory=directory, reexport_of=history_id)


def _as_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def parse_interval_time(value: Any, name: str) -> datetime | None:
    """A TimeStart/TimeEnd: unix seconds (number or digits) or RFC3339 text; None when empty."""
    if value in (None, "", 0):
        return None
    if isinstance(value, bool):
        raise ExportRefused(f"{name}: expected unix seconds or an RFC3339 time")
    if isinstance(value, (int, float, Decimal)):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        try:
            moment = parse_time(value, UTC)
        except ValueError:
            moment = None
        if moment is not None:
            return moment
    raise ExportRefused(f"{name}: expected unix seconds or an RFC3339 time, not {value!r}")


def parse_user_time(value: str | None, name: str) -> datetime | None:
    """A time typed by a person: a date (2024-01-31, midnight UTC), RFC3339, ``YYYY-MM-DD HH:MM`` (UTC) or
    unix seconds; None when empty; ExportRefused otherwise."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return parse_interval_time(int(value) if value.isdigit() else value, name)
    except ExportRefused:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ExportRefused(f"{name}: a date (2024-01-31), an RFC3339 time or unix seconds") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def adhoc_run(
    template: ExportTemplate,
    flt: ExportFilter,
    *,
    export_id: str = "",
    mask_list: str | None = None,
    keep_exported_cgrids: bool = True,
) -> ExportRun:
    """An ExportRun with the site's default tenant and the template's (or ``mask_list``'s) masking prefixes."""
    prefixes = mask_prefixes(template.mask_destination_id if mask_list is None else mask_list)
    return ExportRun(
        template,
        flt,
        export_id=export_id,
        default_tenant=load_settings().export_default_tenant,
        mask_prefixes=prefixes,
        keep_exported_cgrids=keep_exported_cgrids,
    )
