"""The database side of CDR exports: stored templates and masking lists, streaming CDRs into files,
the export history, and scheduled exports with their watermark (see docs/export.md).

Which CDRs an export takes
    Answered calls only (``answered_date`` set), with an interval on the answer time
    ``time_start <= answered_date < time_end`` (both optional). Unanswered calls have no answer time
    and no cost: CGRateS exports rated calls, and a billing export is what operators use this for.

Files
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
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text

from data.core import audit, db
from data.core.settings import load_settings

from .compiled import RowAccess
from .fields import CGRATES_ALIASES, COLUMN_FIELDS, CONSTANT_FIELDS, parse_time
from .formats import ExportError, ExportSummary, _ExportWriter, export_file_name, write_export
from .sqlrender import SqlRendering, sql_rendering
from .templates import BUILTIN_TEMPLATES, ExportField, ExportTemplate, TemplateError, load_cdre_profile

log = logging.getLogger("dialstat.export")
UTC = timezone.utc

FETCH_BATCH = 10_000  # rows per round trip of the server-side cursor
MAX_RING = timedelta(days=1)  # an interval export reads calls set up at most this long before time_start
HORIZON_WAIT_SECONDS = 30.0  # how long a scheduled run waits for in-flight imports to commit
UNEXPORTED_KEPT = 1000  # unexported CDRs listed in a history entry (the count is always exact)
PREVIEW_ROWS = 5
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._*-]{0,99}")
_PREFIX = re.compile(r"\+?[0-9]{1,20}")


class ExportRefused(ExportError):
    """A request that cannot be carried out as asked (bad path, unknown template...); nothing was written."""


# --- Templates and masking lists -----------------------------------------------------------------


def parse_profile_text(source: str) -> dict:
    """A ``cdre`` profile from JSON or YAML text (the template editor, files); TemplateError if unreadable."""
    try:
        data = yaml.safe_load(source) if source.strip() else None
    except yaml.YAMLError as exc:
        raise TemplateError([f"cannot parse the profile: {exc}"]) from None
    if not isinstance(data, dict):
        raise TemplateError(["a cdre profile must be a mapping of settings (JSON object or YAML mapping)"])
    return data


def validate_template(name: str, profile: dict) -> ExportTemplate:
    """The template a profile makes, with every problem raised at once (TemplateError), as on save."""
    problems = []
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append("name: 1 to 100 letters, digits, spaces or . _ * - (starting with a letter or digit)")
    elif name in BUILTIN_TEMPLATES:
        problems.append(f"name: {name!r} is a built-in template")
    try:
        template = load_cdre_profile(profile, name=name if isinstance(name, str) else "custom")
    except TemplateError as exc:
        problems.extend(exc.problems)
        template = None
    if (
        template is not None
        and template.mask_destination_id
        and template.mask_destination_id not in {row["name"] for row in list_destination_lists()}
    ):
        problems.append(f"mask_destination_id: no destination list named {template.mask_destination_id!r}")
    if problems:
        raise TemplateError(problems)
    return template


_SCHEDULE_AUDITED = "name, template_name, period_seconds, export_dir, enabled"


def _row(conn, sql: str, **params) -> dict | None:
    found = conn.execute(text(sql), params).mappings().first()
    return dict(found) if found is not None else None


def _audit(conn, action: str, target_type: str, target_id, before: dict | None, after: dict | None) -> None:
    """Template, destination list and schedule changes, in the audit log as the logged-in admin (or "system")."""
    audit.record(conn, audit.current_actor(), action, target_type, target_id, before, after)


def save_template(name: str, profile: dict | str, user_id: int | None = None) -> ExportTemplate:
    """Validate and store (insert or replace) a template; TemplateError lists every problem."""
    if isinstance(profile, str):
        profile = parse_profile_text(profile)
    template = validate_template(name, profile)
    stored = template.to_cdre_profile()
    with db.transaction() as conn:
        before = _row(conn, "SELECT profile FROM export_template WHERE name = :n FOR UPDATE", n=name)
        conn.execute(
            text(
                """INSERT INTO export_template (name, profile, created_by) VALUES (:n, CAST(:p AS jsonb), :u)
               ON CONFLICT (name) DO UPDATE SET profile = EXCLUDED.profile, updated_at = now()"""
            ),
            {"n": name, "p": json.dumps(stored), "u": user_id},
        )
        _audit(conn, "update" if before else "create", "export_template", name, before, {"profile": stored})
    return template


def delete_template(name: str) -> None:
    used = [r["name"] for r in db.rows("SELECT name FROM export_schedule WHERE template_name = :n", n=name)]
    if used:
        raise ExportRefused(f"template {name!r} is used by the schedules {', '.join(used)}")
    with db.transaction() as conn:
        before = _row(conn, "DELETE FROM export_template WHERE name = :n RETURNING profile", n=name)
        if before:
            _audit(conn, "delete", "export_template", name, before, None)


def list_templates() -> list[dict]:
    """Built-in templates first, then the stored ones: name, builtin, profile (dict), updated_at."""
    builtin = [
        {"name": t.name, "builtin": True, "profile": t.to_cdre_profile(), "updated_at": None}
        for t in BUILTIN_TEMPLATES.values()
    ]
    stored = db.rows("SELECT name, false AS builtin, profile, updated_at FROM export_template ORDER BY name")
    return builtin + stored


def get_template(name: str) -> ExportTemplate:
    """A built-in or stored template by name; ExportRefused when there is none."""
    if name in BUILTIN_TEMPLATES:
        return BUILTIN_TEMPLATES[name]
    found = db.rows("SELECT profile FROM export_template WHERE name = :n", n=name)
    if not found:
        raise ExportRefused(f"no export template named {name!r}")
    return load_cdre_profile(found[0]["profile"], name=name)


def save_destination_list(name: str, prefixes: Iterable[str], description: str = "") -> list[str]:
    """Store a destination prefix list (masking); returns the cleaned prefixes. ExportRefused if invalid."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ExportRefused("a destination list name is 1 to 100 letters, digits, spaces or . _ * -")
    cleaned = sorted({p.strip() for p in prefixes if p and p.strip()})
    bad = [p for p in cleaned if not _PREFIX.fullmatch(p)]
    if bad:
        raise ExportRefused(f"prefixes are digits, with an optional leading +: {', '.join(bad)}")
    with db.transaction() as conn:
        before = _row(
            conn, "SELECT prefixes, description FROM export_destination_list WHERE name = :n FOR UPDATE", n=name
        )
        conn.execute(
            text("""INSERT INTO export_destination_list (name, prefixes, description) VALUES (:n, :p, :d)
                             ON CONFLICT (name) DO UPDATE SET prefixes = EXCLUDED.prefixes,
                                 description = EXCLUDED.description, updated_at = now()"""),
            {"n": name, "p": cleaned, "d": description},
        )
        _audit(
            conn,
            "update" if before else "create",
            "destination_list",
            name,
            before,
            {"prefixes": cleaned, "description": description},
        )
    return cleaned


_DESTINATION_LIST = "SELECT name, prefixes, description, updated_at FROM export_destination_list"


def list_destination_lists() -> list[dict]:
    return db.rows(f"{_DESTINATION_LIST} ORDER BY name")


def get_destination_list(name: str) -> dict | None:
    found = db.rows(f"{_DESTINATION_LIST} WHERE name = :n", n=name)
    return found[0] if found else None


def mask_prefixes(list_name: str) -> tuple[str, ...]:
    """The prefixes of a destination list ("" names none); ExportRefused for an unknown list."""
    if not list_name:
        return ()
    found = get_destination_list(list_name)
    if found is None:
        raise ExportRefused(f"no destination list named {list_name!r}")
    return tuple(found["prefixes"])


# --- Which CDRs, and the SQL that reads them ---------------------------------------------------


@dataclass(frozen=True)
class ExportFilter:
    """Which CDRs an export takes (answered calls only, see the module docstring)."""

    time_start: datetime | None = None  # answer time, inclusive
    time_end: datetime | None = None  # answer time, exclusive
    accounts: tuple[str, ...] = ()  # accountcodes, exactly
    destination_prefixes: tuple[str, ...] = ()
    id_after: int | None = None  # CDR ids (order ids) greater than this ...
    id_through: int | None = None  # ... and up to this one, inclusive

    def where(self) -> tuple[str, dict]:
        conditions, params = ["c.answered_date IS NOT NULL"], {}
        if self.time_start is not None:
            conditions += ["c.answered_date >= %(time_start)s", "c.starting_date >= %(setup_from)s"]
            params.update(time_start=self.time_start, setup_from=self.time_start - MAX_RING)
        if self.time_end is not None:  # set up before it was answered: prunes partitions
            conditions += ["c.answered_date < %(time_end)s", "c.starting_date < %(time_end)s"]
            params["time_end"] = self.time_end
        if self.accounts:
            conditions.append("c.accountcode = ANY(%(accounts)s)")
            params["accounts"] = list(self.accounts)
        if self.destination_prefixes:
            conditions.append("c.destination_number ^@ ANY(%(destination_prefixes)s::text[])")
            params["destination_prefixes"] = list(self.destination_prefixes)
        if self.id_after is not None:
            conditions.append("c.id > %(id_after)s")
            params["id_after"] = self.id_after
        if self.id_through is not None:
            conditions.append("c.id <= %(id_through)s")
            params["id_through"] = self.id_through
        return " AND ".join(conditions), params

    def as_json(self) -> dict:
        return {
            k: (v.isoformat() if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(self).items()
            if v not in (None, ())
        }


@lru_cache(maxsize=1)
def cdr_columns() -> frozenset[str]:
    """The columns of the cdr table (read once per process)."""
    return frozenset(
        r["column_name"]
        for r in db.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'cdr'"
        )
    )


_JOINED = {  # row key -> (SQL, join)
    "switch_ip": ("s.ip", "s"),
    "cdr_source_type_name": ("st.name", "st"),
    "tenant": ("u.tenant", "u"),
}
_JOIN_SQL = {
    "s": "JOIN switch s ON s.id = c.switch_id",
    "st": "LEFT JOIN cdr_source_type st ON st.id = c.cdr_source_type",
    "u": "LEFT JOIN app_user u ON u.id = c.user_id",
}
_ID_COLUMNS = {
    "cgrid": ("callid", "starting_date"),
    "direction": ("direction",),
    "tenant": ("tenant",),
    "cdrsource": ("cdr_source_type_name", "cdr_source_type"),
}
_ALWAYS = ("id", "callid", "starting_date", "answered_date", "billsec", "sell_cost")


def row_columns(template: ExportTemplate) -> list[str]:
    """The row keys a template needs: the CDR basics, its fields' columns, ``extradata`` for unknown ids."""
    return list(dict.fromkeys([*_ALWAYS, *field_columns(template.content_fields)]))


def field_columns(export_fields: Iterable[ExportField]) -> list[str]:
    """The row keys some content fields read (``extradata`` for ids that are neither CGRateS's nor columns)."""
    export_fields = list(export_fields)
    columns: list[str] = []
    field_ids = {
        CGRATES_ALIASES.get(rule.field_id, rule.field_id)
        for export_field in export_fields
        for rule in export_field.rsr_fields
        if not rule.is_static
    }
    if any(f.type == "*masked_destination" for f in export_fields):
        field_ids.add("destination")
    for field_id in sorted(field_ids):
        if field_id in CONSTANT_FIELDS:
            continue
        keys = _ID_COLUMNS.get(field_id) or (COLUMN_FIELDS.get(field_id, field_id),)
        for key in keys:
            if key not in cdr_columns() and key not in _JOINED:
                key = "extradata"
            if key not in columns:
                columns.append(key)
    return columns


def _select_sql(
    selects: Sequence[str],
    joins: Iterable[str],
    flt: ExportFilter,
    *,
    newest_first: bool = False,
    limit: int | None = None,
) -> tuple[str, dict]:
    where, params = flt.where()
    join_sql = " ".join(_JOIN_SQL[j] for j in ("s", "st", "u") if j in set(joins))
    sql = f"SELECT {', '.join(selects)} FROM cdr c {join_sql} WHERE {where} ORDER BY c.id"
    if newest_first:
        sql += " DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def typed_query(template: ExportTemplate, flt: ExportFilter, **kwargs) -> tuple[str, dict, list[str]]:
    """SQL reading the rows a template needs as typed values, for the Python writer; and their columns."""
    columns = row_columns(template)
    sql, params = _rows_sql(columns, flt, **kwargs)
    return sql, params, columns


def _rows_sql(columns: Sequence[str], flt: ExportFilter, **kwargs) -> tuple[str, dict]:
    selects, joins = [], set()
    for column in columns:
        if column in _JOINED:
            sql, join = _JOINED[column]
            selects.append(f"{sql} AS {column}")
            joins.add(join)
        else:
            selects.append(f"c.{column}")
    return _select_sql(selects, joins, flt, **kwargs)


def rendered_query(rendering: SqlRendering, template: ExportTemplate, flt: ExportFilter) -> tuple[str, dict, list[str]]:
    """SQL giving records rendered by the database, and the names of its columns (formats.write_rendered).

    Columns: the cgrid key, id, billsec, sell_cost, the answer time as text; ``failed`` when a row may need
    the Python writer (``rendering.can_fail``); the pieces (``piece:N``); the raw columns the Python cells read;
    and every raw column the Python writer reads (``fallback <column>``), NULL unless the row ``failed``.
    The names of what is not a CDR column have a space, which no field id has: a Python cell never reads them.

    The rows are read and sorted in a subquery, and rendered on top of it: sorting the narrow rows rather
    than the rendered text keeps the sort small. OFFSET 0 fences each level, so that a value is computed
    once per row however often the level above uses it.
    """
    typed = ["id", "billsec", "sell_cost"]  # as the Python writer reads them
    python_columns = [
        column
        for column in field_columns(template.content_fields[index] for index in rendering.python_fields)
        if column not in typed
    ]
    fallback_columns = row_columns(template) if rendering.can_fail else []
    inner, params = _rows_sql(
        list(dict.fromkeys([*_ALWAYS, *sorted(rendering.columns), *python_columns, *fallback_columns])), flt
    )
    carried = list(dict.fromkeys([*typed, "answered_date", *python_columns, *fallback_columns]))
    values = ", ".join(
        [
            *(f"c.{column}" for column in carried),
            *(f"{expression} AS {alias}" for alias, expression in rendering.values),
        ]
    )
    # Columns the level above reads only for the fallback, if any (answered_date too: the text is no datetime).
    fallback_only = [column for column in carried[len(typed) :] if column not in python_columns and fallback_columns]
    pieces = [f"piece_{index}" for index in range(len(rendering.pieces))]
    leading = ["cgrid_key", *typed, "answered_text"]
    selects = [*leading, *pieces, *python_columns]
    names = [
        "rendered cgrid_key",
        *typed,
        "rendered answered_text",
        *(f"rendered piece {index}" for index in range(len(pieces))),
        *python_columns,
    ]
    # The answer time as text ("2024-03-01 10:00:00.5" in UTC) sorts as the time does and is much cheaper to
    # fetch than a datetime; the writer only compares them, and reads back the first and last.
    rendered = (
        f"SELECT {rendering.key} AS cgrid_key, x.id, x.billsec, x.sell_cost, "
        f"(x.answered_date AT TIME ZONE 'UTC')::text AS answered_text, "
        f"{', '.join(f'{sql} AS {alias}' for sql, alias in zip(rendering.pieces, pieces, strict=True))}"
        f"{''.join(f', x.{column}' for column in python_columns)}"
        f"{''.join(f', x.{column}' for column in fallback_only)} "
        f"FROM (SELECT {values} FROM ({inner}) c OFFSET 0) x"
    )
    if rendering.can_fail:  # a level more, to test the pieces once computed
        failed = " OR ".join(f"{piece} IS NULL" for piece in pieces)
        selects[len(leading) : len(leading)] = [f"({failed}) AS failed"]
        names[len(leading) : len(leading)] = ["rendered failed"]
        selects += [f"CASE WHEN {failed} THEN {column} END" for column in fallback_columns]
        names += [f"fallback {column}" for column in fallback_columns]
        rendered = f"SELECT {', '.join(selects)} FROM ({rendered} OFFSET 0) y"
    overlap = set(params) & set(rendering.params)
    assert not overlap, overlap
    return rendered, {**params, **rendering.params}, names


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


def _finalize(history_id: int, temp: Path, wanted: Path) -> Path:
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
            _finalize(row["id"], temp, Path(row["file_path"]))
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
        temp, summary, digest, size = _write_temp(conn, run, target_dir, name)
        try:
            history_id = _record(
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
    final = _finalize(history_id, temp, target_dir / name)
    return ExportResult(history_id, final, summary, digest, size)


def _write_temp(conn, run: ExportRun, directory: Path, name: str) -> tuple[Path, ExportSummary, str, int]:
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


def _record(
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


# --- Scheduled exports and their watermark -----------------------------------------------------------

PERIODS = {"every 5 minutes": 300, "every 15 minutes": 900, "hourly": 3600, "daily": 86400}


def save_schedule(
    name: str,
    template_name: str,
    period_seconds: int,
    export_dir: str = "",
    *,
    enabled: bool = True,
    user_id: int | None = None,
    schedule_id: int | None = None,
) -> int:
    """Create or update a schedule; ExportRefused when its settings are wrong."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ExportRefused("a schedule name is 1 to 100 letters, digits, spaces or . _ * -")
    get_template(template_name)
    if not isinstance(period_seconds, int) or period_seconds < 60:
        raise ExportRefused("the period is at least 60 seconds")
    resolve_export_dir(export_dir)
    values = dict(n=name, t=template_name, p=period_seconds, d=export_dir or "", e=enabled, u=user_id)
    with db.transaction() as conn:
        if schedule_id is None:
            before = None
            schedule_id = conn.execute(
                text(
                    """INSERT INTO export_schedule
                       (name, template_name, period_seconds, export_dir, enabled, created_by)
                   VALUES (:n, :t, :p, :d, :e, :u) RETURNING id"""
                ),
                values,
            ).scalar()
        else:
            before = _row(
                conn, f"SELECT {_SCHEDULE_AUDITED} FROM export_schedule WHERE id = :id FOR UPDATE", id=schedule_id
            )
            conn.execute(
                text("""UPDATE export_schedule SET name = :n, template_name = :t, period_seconds = :p,
                                     export_dir = :d, enabled = :e WHERE id = :id"""),
                {**values, "id": schedule_id},
            )
        after = _row(conn, f"SELECT {_SCHEDULE_AUDITED} FROM export_schedule WHERE id = :id", id=schedule_id)
        _audit(conn, "update" if before else "create", "export_schedule", schedule_id, before, after)
    return schedule_id


def list_schedules() -> list[dict]:
    return db.rows("SELECT * FROM export_schedule ORDER BY name")


def get_schedule(schedule_id: int) -> dict | None:
    found = db.rows("SELECT * FROM export_schedule WHERE id = :id", id=schedule_id)
    return found[0] if found else None


def delete_schedule(schedule_id: int) -> dict | None:
    """Delete a schedule (its export history stays); returns what it was, None if there was none."""
    with db.transaction() as conn:
        before = _row(conn, f"DELETE FROM export_schedule WHERE id = :id RETURNING {_SCHEDULE_AUDITED}", id=schedule_id)
        if before:
            _audit(conn, "delete", "export_schedule", schedule_id, before, None)
    return before


def rewind_schedule(schedule_id: int, watermark_id: int) -> None:
    """Set a schedule's watermark back (explicitly): its next run exports again every CDR after it."""
    with db.transaction() as conn:
        before = _row(conn, "SELECT watermark_id FROM export_schedule WHERE id = :id FOR UPDATE", id=schedule_id)
        conn.execute(
            text(
                "UPDATE export_schedule SET watermark_id = :w, pending_horizon = NULL, "
                "pending_holders = NULL WHERE id = :id"
            ),
            {"w": max(int(watermark_id), 0), "id": schedule_id},
        )
        if before:
            _audit(conn, "rewind", "export_schedule", schedule_id, before, {"watermark_id": max(int(watermark_id), 0)})


@dataclass(frozen=True)
class Horizon:
    """The CDR id horizon: ``id`` was the last id handed out, ``holders`` the transactions that may still
    hold ids up to it (virtual transaction ids holding the cdr id sequence's lock)."""

    id: int
    holders: tuple[str, ...]


def cdr_id_sequence() -> str:
    return db.scalar("SELECT pg_get_serial_sequence('cdr', 'id')")


def read_horizon(conn) -> Horizon:
    """Read the last CDR id handed out, then who may still hold an id up to it.

    ``nextval`` takes a RowExclusiveLock on the sequence until its transaction ends. So a transaction
    holding an uncommitted id below the horizon had already called nextval when the horizon was read,
    and still holds that lock when the holders are listed right after: it is one of ``holders``.
    """
    sequence = cdr_id_sequence()
    with conn.cursor() as cur:
        cur.execute("SELECT seqcache FROM pg_sequence WHERE seqrelid = %s::regclass", (sequence,))
        if cur.fetchone()[0] != 1:  # cached ids are handed out after the horizon is read: not safe
            raise ExportError(f"{sequence} must have CACHE 1 for scheduled exports (see docs/export.md)")
        cur.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {sequence}")
        last_id = cur.fetchone()[0]
        cur.execute(
            """SELECT DISTINCT virtualtransaction FROM pg_locks
               WHERE locktype = 'relation' AND relation = %s::regclass AND granted
                 AND pid IS DISTINCT FROM pg_backend_pid()""",
            (sequence,),
        )
        holders = tuple(sorted(r[0] for r in cur.fetchall()))
    return Horizon(last_id, holders)


def still_running(conn, holders: Sequence[str]) -> tuple[str, ...]:
    """The ones of ``holders`` still in progress (still holding the sequence's lock)."""
    if not holders:
        return ()
    with conn.cursor() as cur:
        cur.execute(
            """SELECT DISTINCT virtualtransaction FROM pg_locks
               WHERE locktype = 'relation' AND relation = %s::regclass AND virtualtransaction = ANY(%s)""",
            (cdr_id_sequence(), list(holders)),
        )
        return tuple(sorted(r[0] for r in cur.fetchall()))


def wait_for_horizon(wait_seconds: float) -> tuple[Horizon, tuple[str, ...]]:
    """Read the horizon and wait up to ``wait_seconds`` for its holders to end; returns it and who is left."""
    with db.raw_connection() as conn:
        conn.autocommit = True  # each poll sees the current locks, without holding a snapshot
        try:
            horizon = read_horizon(conn)
            left, deadline, pause = horizon.holders, time.monotonic() + wait_seconds, 0.02
            while left and time.monotonic() < deadline:
                time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
                pause = min(pause * 2, 1.0)
                left = still_running(conn, left)
            if left:
                left = still_running(conn, left)
        finally:
            conn.autocommit = False
    return horizon, left


@dataclass
class ScheduleRun:
    schedule_id: int
    name: str
    status: str  # exported | nothing-new | busy | waiting | failed
    id_after: int = 0
    id_through: int = 0
    result: ExportResult | None = None
    error: str | None = None

    def as_json(self) -> dict:
        data = {"schedule": self.name, "status": self.status, "id_after": self.id_after, "id_through": self.id_through}
        if self.result is not None:
            data.update(
                history_id=self.result.history_id, file=str(self.result.path), records=self.result.summary.total_records
            )
        if self.error:
            data["error"] = self.error
        return data


def run_schedule(
    schedule_id: int,
    *,
    wait_seconds: float = HORIZON_WAIT_SECONDS,
    tick: datetime | None = None,
    now: datetime | None = None,
) -> ScheduleRun:
    """Run one schedule: export the CDRs after its watermark, up to the safe horizon, exactly once.

    1. Read the id horizon and wait (briefly) for the transactions that may hold lower ids to end. If some
       are still running, fall back to the horizon an earlier run read, once its holders have all ended.
    2. In one transaction: lock the schedule row, stream ``watermark < id <= safe`` into a temporary file
       (fsynced), record the history entry, advance the watermark, commit.
    3. Rename the file to its final name (finalize_pending_files repairs a crash before that).
    """
    horizon, left = wait_for_horizon(wait_seconds)
    now = now or datetime.now(UTC)
    with db.raw_connection() as conn:
        with conn.cursor() as cur:
            cur.execute(
                """SELECT name, template_name, export_dir, watermark_id, pending_horizon, pending_holders
                   FROM export_schedule WHERE id = %s FOR UPDATE SKIP LOCKED""",
                (schedule_id,),
            )
            row = cur.fetchone()
        if row is None:
            return ScheduleRun(schedule_id, "", "busy")
        name, template_name, export_dir, watermark, pending_id, pending_holders = row
        if horizon.id < watermark:
            raise ExportError(
                f"schedule {name!r}: the cdr id sequence ({horizon.id}) is behind the watermark "
                f"({watermark}); was it reset? Rewind the schedule explicitly."
            )
        if not left:
            safe, pending = horizon.id, (None, None)
        else:  # imports in flight: use an earlier horizon if it is proven now, and keep (or start) waiting
            earlier_proven = pending_id is not None and not still_running(conn, pending_holders or ())
            safe = max(watermark, pending_id) if earlier_proven else watermark
            keep_earlier = pending_id is not None and not earlier_proven
            pending = (pending_id, pending_holders) if keep_earlier else (horizon.id, list(left))
        result, status = None, "nothing-new" if not left else "waiting"
        if safe > watermark:
            template = get_template(template_name)
            flt = ExportFilter(id_after=watermark, id_through=safe)
            run = ExportRun(
                template,
                flt,
                export_id=f"{name}-{safe}",
                now=now,
                default_tenant=load_settings().export_default_tenant,
                mask_prefixes=mask_prefixes(template.mask_destination_id),
                keep_exported_cgrids=False,
            )
            directory = resolve_export_dir(export_dir or template.export_dir or None)
            directory.mkdir(parents=True, exist_ok=True)
            file_name = export_file_name(template, now)
            temp, summary, digest, size = _write_temp(conn, run, directory, file_name)
            try:
                if summary.total_records or summary.unexported:
                    actor = Actor("schedule", f"schedule {name}", schedule_id=schedule_id)
                    history_id = _record(conn, run, actor, summary, directory / file_name, temp, digest, size)
                    result, status = ExportResult(history_id, None, summary, digest, size), "exported"
                _advance(conn, schedule_id, safe, pending, tick, None)
                conn.commit()
            except BaseException:
                conn.rollback()
                temp.unlink(missing_ok=True)
                raise
            if result is None:
                temp.unlink(missing_ok=True)
            else:
                result.path = _finalize(result.history_id, temp, directory / file_name)
        else:
            _advance(conn, schedule_id, watermark, pending, tick, None)
    return ScheduleRun(schedule_id, name, status, watermark, safe, result)


def _advance(conn, schedule_id: int, watermark: int, pending: tuple, tick: datetime | None, error: str | None) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE export_schedule SET watermark_id = %s, pending_horizon = %s, pending_holders = %s,
                   last_tick = coalesce(%s, last_tick), last_run_at = now(), last_error = %s WHERE id = %s""",
            (watermark, pending[0], pending[1], tick, error, schedule_id),
        )


def due_schedules(now: datetime) -> list[tuple[int, datetime]]:
    """Enabled schedules whose current period has not run yet, with that period's tick."""
    from data.core.job_runs import current_tick

    due = []
    for row in db.rows("SELECT id, period_seconds, last_tick FROM export_schedule WHERE enabled ORDER BY id"):
        tick = current_tick(row["period_seconds"], now)
        if row["last_tick"] is None or tick > row["last_tick"]:
            due.append((row["id"], tick))
    return due


def run_due_schedules(now: datetime | None = None, wait_seconds: float = HORIZON_WAIT_SECONDS) -> dict:
    """The scheduled job: repair unfinished files, then run every due schedule (one failing does not stop
    the others; its error is kept on the schedule)."""
    now = now or datetime.now(UTC)
    repaired = finalize_pending_files()
    runs = []
    for schedule_id, tick in due_schedules(now):
        try:
            runs.append(run_schedule(schedule_id, wait_seconds=wait_seconds, tick=tick, now=now).as_json())
        except Exception as exc:  # recorded on the schedule and in the job's details; the next tick retries
            log.exception("scheduled export %s failed", schedule_id)
            db.execute(
                "UPDATE export_schedule SET last_error = :e, last_run_at = now() WHERE id = :id",
                e=f"{type(exc).__name__}: {exc}",
                id=schedule_id,
            )
            runs.append({"schedule_id": schedule_id, "status": "failed", "error": str(exc)})
    return {"repaired_files": repaired, "runs": runs}


# --- Destination lists: what the Exports page's editor needs besides save and list -------------------


def prefixes_from_text(value: str | None) -> list[str]:
    """Prefixes typed in a form: separated by commas, semicolons, spaces or new lines."""
    return [p for p in re.split(r"[\s,;]+", value or "") if p]


def templates_masking_with(list_name: str) -> list[str]:
    """The stored templates whose ``mask_destination_id`` names this destination list."""
    return [
        r["name"]
        for r in db.rows(
            "SELECT name FROM export_template WHERE profile->>'mask_destination_id' = :n ORDER BY name", n=list_name
        )
    ]


def delete_destination_list(name: str) -> None:
    """Delete a destination list; ExportRefused when it is unknown or a stored template masks with it
    (that template could no longer export)."""
    with db.transaction() as conn:
        deleted = _row(
            conn,
            """DELETE FROM export_destination_list d WHERE d.name = :n AND NOT EXISTS (
                                    SELECT 1 FROM export_template t WHERE t.profile->>'mask_destination_id' = d.name)
                                RETURNING d.prefixes, d.description""",
            n=name,
        )
        if deleted:
            _audit(conn, "delete", "destination_list", name, deleted, None)
    if deleted is None:
        masking = templates_masking_with(name)
        if masking:
            raise ExportRefused(f"destination list {name!r} is used by the templates {', '.join(masking)}")
        raise ExportRefused(f"no destination list named {name!r}")
