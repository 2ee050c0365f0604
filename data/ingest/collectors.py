"""Collectors: read a switch's own CDR store with an operator's CDR-Pusher config (``cdr-pusher.yaml``).

The keys are CDR-Pusher's: ``storage_source`` (sqlite3, mysql, postgres), ``db_file``, ``db_dns``,
``db_table``, ``db_flag_field``, ``max_fetch_batch``, ``cdr_fields`` (``orig_field`` is an SQL expression
on the source, ``dest_field`` a CDR-Stats field or ``extradata``, ``type_field``), ``switch_ip`` and
``cdr_source_type``, and ``heartbeat`` (seconds between polls, 1 by default as in CDR-Pusher; the
scheduled job polls each config that often). Keys CDR-Pusher has not: ``db_url`` (any SQLAlchemy URL,
instead of db_file/db_dns) and ``db_key_field`` (the increasing key, default ``rowid`` on SQLite and ``id``
elsewhere). The pushing keys (``pg_datasourcename``, ``table_destination``, ...) are ignored: Dialstat is
the destination. A poll that finds nothing new records nothing (no import is started).

Progress is tracked in one of two ways, so that nothing is read twice and nothing is skipped:

- with ``db_flag_field`` (CDR-Pusher's way): the column is added to the source table if missing, rows
  whose flag is not 1 are read, and flagged once their batch is committed in Dialstat. A crash between
  the two reads those rows again next time; they count as duplicates, never stored twice.
- with ``db_flag_field: ""``: a high-water mark on the key, kept in ``collector_state`` in the same
  transaction as the batch (read-only access to the switch is enough). Suited to stores with one writer
  (SQLite files); with concurrent writers (MySQL), a row committed late under a lower id could be
  passed over: use the flag there.

The config file is trusted like CDR-Pusher's: its ``orig_field`` expressions run on the switch's database.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from data.core import db
from data.ingest import pipeline
from data.ingest.fields import CANONICAL_FIELDS
from data.ingest.imports import ImportSummary
from data.ingest.rows import StageChunk, batches_from_rows, canonical_from_mapping

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_GO_DSN = re.compile(
    r"^(?:(?P<user>[^:@]*)(?::(?P<password>[^@]*))?@)?(?:(?P<net>\w+)\((?P<addr>[^)]*)\))?/"
    r"(?P<db>[^?]*)(?:\?(?P<params>.*))?$"
)


class CollectorError(ValueError):
    """The config cannot be used (said before anything is read)."""


@dataclass(frozen=True)
class CdrField:
    orig_field: str
    dest_field: str
    type_field: str = "string"


@dataclass
class CollectorConfig:
    name: str
    url: str
    table: str
    fields: list[CdrField]
    flag_field: str = ""
    key_field: str = "id"
    batch_rows: int = 100
    switch_ip: str = ""
    source_type: int = 0
    heartbeat: float = 1.0
    connect_args: dict = field(default_factory=dict)

    @property
    def source_key(self) -> str:
        return f"{self.url}#{self.table}"


def mysql_url(dsn: str) -> str:
    """A Go MySQL DSN (``user:pass@tcp(host:3306)/db`` or ``user:pass@/db``) as an SQLAlchemy URL."""
    match = _GO_DSN.match(dsn.strip())
    if not match:
        raise CollectorError(f"db_dns {dsn!r} is not a MySQL DSN like user:password@tcp(host:3306)/database")
    from sqlalchemy.engine import URL

    host, port = None, None
    if match["addr"]:
        host, _, port_text = match["addr"].partition(":")
        port = int(port_text) if port_text else None
    return URL.create(
        "mysql+pymysql",
        username=match["user"] or None,
        password=match["password"] or None,
        host=host or "localhost",
        port=port,
        database=match["db"],
    ).render_as_string(hide_password=False)


def _sqlite_file(config_path: Path, db_file: str) -> Path:
    """``db_file`` as CDR-Pusher's configs give it (``./sqlitedb/cdr.db``): relative to the config's folder."""
    store = Path(db_file).expanduser()
    if not store.is_absolute():
        store = config_path.resolve().parent / store
    store = store.resolve()
    if not store.is_file():
        raise CollectorError(f"db_file {store}: no such file")
    if not os.access(store, os.R_OK):
        raise CollectorError(f"db_file {store}: cannot be read (permissions)")
    return store


def load_config(path: Path) -> CollectorConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CollectorError(f"{path}: cannot be read as a collector config ({exc})") from exc
    if not isinstance(raw, dict):
        raise CollectorError(f"{path}: a collector config is a YAML mapping")
    source = str(raw.get("storage_source") or raw.get("storage_source_type") or "sqlite3").lower()
    table = str(raw.get("db_table") or "cdr")
    if not _IDENTIFIER.match(table):
        raise CollectorError(f"db_table {table!r} is not a table name")
    connect_args = {}
    if raw.get("db_url"):
        url = str(raw["db_url"])
    elif source in ("sqlite3", "sqlite"):
        if not raw.get("db_file"):
            raise CollectorError("storage_source sqlite3 needs db_file")
        url = f"sqlite:///{_sqlite_file(Path(path), str(raw['db_file']))}"
    elif source == "mysql":
        url = mysql_url(str(raw.get("db_dns") or ""))
    elif source in ("postgres", "postgresql"):
        dsn = str(raw.get("db_dns") or "")
        if "://" in dsn:
            url = dsn
        else:  # a libpq key=value string, as CDR-Pusher's pg_datasourcename
            url, connect_args = "postgresql+psycopg2://", {"dsn": dsn}
    else:
        raise CollectorError(f"storage_source {source!r}: use sqlite3, mysql or postgres (or db_url)")
    if url.startswith(("postgres://", "postgresql://")):  # SQLAlchemy's default PostgreSQL driver is not installed
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    fields = [
        CdrField(str(f["orig_field"]), str(f["dest_field"]).strip().lower(), str(f.get("type_field", "string")))
        for f in raw.get("cdr_fields") or []
    ]
    unknown = [f.dest_field for f in fields if f.dest_field not in CANONICAL_FIELDS]
    if unknown:
        raise CollectorError(f"dest_field {', '.join(unknown)}: not a CDR-Stats field (or extradata)")
    if "callid" not in {f.dest_field for f in fields}:
        raise CollectorError("cdr_fields must give the callid")
    flag = str(raw.get("db_flag_field") or "")
    key = str(raw.get("db_key_field") or ("rowid" if url.startswith("sqlite") else "id"))
    for name, value in (("db_flag_field", flag), ("db_key_field", key)):
        if value and not _IDENTIFIER.match(value):
            raise CollectorError(f"{name} {value!r} is not a column name")
    return CollectorConfig(
        name=Path(path).stem,
        url=url,
        table=table,
        fields=fields,
        flag_field=flag,
        key_field=key,
        batch_rows=max(1, int(raw.get("max_fetch_batch") or 100)),
        switch_ip=str(raw.get("switch_ip") or "") or Path(path).stem,
        source_type=int(raw.get("cdr_source_type") or 0),
        heartbeat=_heartbeat(raw.get("heartbeat")),
        connect_args=connect_args,
    )


def _heartbeat(value) -> float:
    if value in (None, ""):
        return 1.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise CollectorError(f"heartbeat {value!r} is not a number of seconds") from None
    if not 0.1 <= seconds <= 3600:
        raise CollectorError(f"heartbeat {value!r}: give 0.1 to 3600 seconds")
    return seconds


class Collector:
    """Reads one config's source: each ``run`` reads batches until the source has nothing new. The engine
    (and its pooled connection) is kept between runs until ``close``."""

    def __init__(self, config: CollectorConfig, max_batches: int = 200):
        self.config, self.max_batches = config, max_batches
        self.engine: Engine = create_engine(config.url, connect_args=config.connect_args, pool_pre_ping=True)
        self._flag_column_checked = False  # once per collector, not at every heartbeat

    def _select(self) -> str:
        c = self.config
        columns = ", ".join(f.orig_field for f in c.fields)
        where = f"({c.flag_field} IS NULL OR {c.flag_field} <> 1)" if c.flag_field else f"{c.key_field} > :after"
        return (
            f"SELECT {c.key_field} AS dialstat_key, {columns} FROM {c.table} WHERE {where} "
            f"ORDER BY {c.key_field} LIMIT {int(c.batch_rows)}"
        )

    def _ensure_flag_column(self) -> None:
        with self.engine.begin() as conn:
            schema, _, table = self.config.table.rpartition(".")
            columns = {col["name"] for col in inspect(conn).get_columns(table, schema=schema or None)}
            if self.config.flag_field not in columns:
                conn.execute(
                    text(f"ALTER TABLE {self.config.table} ADD COLUMN {self.config.flag_field} INTEGER DEFAULT 0")
                )

    def _record(self, row) -> dict:
        record: dict = {"switch": self.config.switch_ip, "cdr_source_type": self.config.source_type}
        extradata = {}
        for f, value in zip(self.config.fields, row[1:], strict=True):
            if f.dest_field == "extradata":
                extradata[f.orig_field] = value  # as CDR-Pusher does: keyed by the source expression
            else:
                record[f.dest_field] = value
        if extradata:
            record["extradata"] = {
                k: v if isinstance(v, int | float | str | None) else str(v) for k, v in extradata.items()
            }
        return record

    def _staged_rows(self, rows, first_line: int):
        for i, row in enumerate(rows):
            values, problem = canonical_from_mapping(self._record(row))
            yield first_line + i, repr(tuple(row[1:]))[:4000], problem, values

    def _high_water(self) -> int:
        found = db.scalar("SELECT high_water FROM collector_state WHERE source_key = :k", k=self.config.source_key)
        return int(found or 0)

    def _fetch(self, after) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(self._select()), {"after": after}).fetchall()

    def chunks(self, after, rows: list) -> Iterator[StageChunk]:
        """Batches of new source rows, from ``rows`` (the first batch, already read) on. One worker: each
        batch is asked for once the previous is committed, which is when the flags of the previous batch can
        be set on the source."""
        c = self.config
        line = 1
        for batch in range(self.max_batches):
            if batch:
                rows = self._fetch(after)
            if not rows:
                return
            keys = [row[0] for row in rows]
            (chunk,) = list(
                batches_from_rows(self._staged_rows(rows, line), frozenset(CANONICAL_FIELDS), batch_rows=len(rows) + 1)
            )
            if not c.flag_field:
                chunk.after_store = self._save_high_water(max(keys), len(rows))
            yield chunk
            line += len(rows)
            if c.flag_field:  # the batch is committed: flag its rows on the source
                with self.engine.begin() as conn:
                    for start in range(0, len(keys), 1000):
                        part = keys[start : start + 1000]
                        marks = ", ".join(f":k{i}" for i in range(len(part)))
                        conn.execute(
                            text(f"UPDATE {c.table} SET {c.flag_field} = 1 WHERE {c.key_field} IN ({marks})"),
                            {f"k{i}": k for i, k in enumerate(part)},
                        )
            after = max(keys)
            if len(rows) < c.batch_rows:
                return

    def _save_high_water(self, high_water: int, rows: int):
        def save(cur) -> None:
            cur.execute(
                """INSERT INTO collector_state (source_key, high_water, rows_read, last_run_at)
                           VALUES (%(k)s, %(hw)s, %(n)s, now())
                           ON CONFLICT (source_key) DO UPDATE SET high_water = excluded.high_water,
                               rows_read = collector_state.rows_read + excluded.rows_read, last_run_at = now()""",
                {"k": self.config.source_key, "hw": high_water, "n": rows},
            )

        return save

    def run(self) -> ImportSummary:
        """Import what is new; nothing new: an empty summary, and no import recorded."""
        if self.config.flag_field and not self._flag_column_checked:
            self._ensure_flag_column()
            self._flag_column_checked = True
        after = self._high_water()
        first = self._fetch(after)
        if not first:
            return ImportSummary(format="collector")
        return pipeline.import_chunks(
            self.chunks(after, first),
            source="collector",
            fields=frozenset(CANONICAL_FIELDS),
            source_type=self.config.source_type,
            switch=self.config.switch_ip,
            fmt="collector",
            file_name=self.config.name,
            workers=1,
        )

    def close(self) -> None:
        self.engine.dispose()


def collect(config_path: Path, max_batches: int = 200) -> ImportSummary:
    collector = Collector(load_config(config_path), max_batches)
    try:
        return collector.run()
    finally:
        collector.close()


def _config_paths(config_dir: Path) -> list[Path]:
    return sorted(Path(config_dir).glob("*.y*ml")) if Path(config_dir).is_dir() else []


def collect_all(config_dir: Path, for_seconds: float = 0, clock=time.monotonic, sleep=time.sleep) -> dict:
    """Poll every ``*.yaml`` config of ``config_dir`` each ``heartbeat`` seconds for ``for_seconds`` (at least
    once each): the scheduled job runs this for most of its period. One failing config does not stop the
    others; it is tried again at its next heartbeat. Returns per config the polls and the rows' fate."""
    started = clock()
    collectors: dict[Path, Collector] = {}
    due: dict[Path, float] = {}
    results: dict[str, dict] = {}
    try:
        while True:
            paths = _config_paths(config_dir)
            for path in paths:
                if due.get(path, started) > clock():
                    continue
                result = results.setdefault(path.name, {"polls": 0, "accepted": 0, "duplicates": 0, "rejected": 0})
                result["polls"] += 1
                heartbeat = 1.0
                try:
                    if path not in collectors:
                        collectors[path] = Collector(load_config(path))
                    heartbeat = collectors[path].config.heartbeat
                    summary = collectors[path].run()
                    for key in ("accepted", "duplicates", "rejected"):
                        result[key] += getattr(summary, key)
                except Exception as exc:  # recorded on the job run; the other configs are still collected
                    result["failed"] = f"{type(exc).__name__}: {exc}"
                    stale = collectors.pop(path, None)
                    if stale is not None:
                        stale.close()
                due[path] = clock() + heartbeat
            if not paths or clock() - started >= for_seconds:
                return results
            sleep(max(0.0, min(due.get(p, 0) for p in paths) - clock()))
    finally:
        for collector in collectors.values():
            collector.close()
