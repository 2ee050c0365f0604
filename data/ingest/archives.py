"""Archives of stored calls (docs/administration.md, *Retention and archives*): the calls of one monthly ``cdr``
partition as gzip-compressed CSV (every column, header first, as PostgreSQL's COPY writes them) beside a JSON
manifest (rows, range, sums, SHA-256 of the file and of the CSV). Written, read back and checked before the
partition is dropped (``data.admin.retention``); ``import-cdr`` restores one (``restore_archive``).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from data.core import db, rollups
from data.ingest.mediation import record_key_sql

FORMAT = "dialstat-cdr-archive/1"
SUFFIX = ".csv.gz"
MANIFEST_SUFFIX = ".manifest.json"
_SUMMED = ("duration", "billsec", "buy_cost", "sell_cost")


class ArchiveError(Exception):
    """An archive that does not hold what its manifest (or the database) says."""


def manifest_path(archive: Path) -> Path:
    return archive.with_name(archive.name.removesuffix(SUFFIX) + MANIFEST_SUFFIX)


def is_archive(path: str | Path) -> bool:
    """A file written by ``write_archive`` (its manifest is beside it)."""
    path = Path(path)
    return path.name.endswith(SUFFIX) and manifest_path(path).exists()


class _Hashing(io.RawIOBase):
    """A write-only stream that hashes and counts what goes through it into ``target``."""

    def __init__(self, target):
        self.target, self.sha, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.target.write(data)


def _columns(cur) -> list[str]:
    cur.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'cdr'::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum"
    )
    return [r[0] for r in cur.fetchall()]


def _file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _figures(cur, table: str) -> dict:
    """What the archive must hold: rows, first and last call, the sums of its measures (psycopg2 cursor)."""
    sums = ", ".join(f"COALESCE(sum({c}), 0)" for c in _SUMMED)
    cur.execute(f"SELECT count(*), min(starting_date), max(starting_date), {sums} FROM {table}")
    count, first, last, *totals = cur.fetchone()
    return {
        "rows": count,
        "first_call": first.isoformat() if first else None,
        "last_call": last.isoformat() if last else None,
        "sums": {c: str(v) for c, v in zip(_SUMMED, totals, strict=True)},
    }


def write_archive(cur, table: str, path: Path, bounds: tuple[datetime, datetime]) -> dict:
    """COPY every call of ``table`` (a detached partition: nothing writes to it) to ``path`` and write its manifest
    (each through a temporary file, synced, then renamed). Returns the manifest."""
    columns = _columns(cur)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as raw:
        with gzip.GzipFile(filename=path.name.removesuffix(".gz"), mode="wb", fileobj=raw, compresslevel=6) as gz:
            hashing = _Hashing(gz)
            cur.copy_expert(
                f"COPY (SELECT {', '.join(columns)} FROM {table} ORDER BY starting_date, id) "
                "TO STDOUT WITH (FORMAT csv, HEADER)",
                hashing,
            )
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, path)
    manifest = {
        "format": FORMAT,
        "table": table,
        "range": [bounds[0].isoformat(), bounds[1].isoformat()],
        "columns": columns,
        **_figures(cur, table),
        "csv_bytes": hashing.size,
        "csv_sha256": hashing.sha.hexdigest(),
        "file": path.name,
        "file_bytes": path.stat().st_size,
        "file_sha256": _file_sha256(path),
        "written_at": datetime.now(timezone.utc).isoformat(),
    }
    _write_json(manifest_path(path), manifest)
    return manifest


def _write_json(path: Path, value: dict) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w") as f:
        json.dump(value, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_manifest(path: Path) -> dict:
    manifest = json.loads(manifest_path(path).read_text())
    if manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path.name}: not a Dialstat call archive ({manifest.get('format')!r})")
    return manifest


def verify_archive(path: Path) -> dict:
    """Read the archive back whole: its file checksum, the CSV's checksum, its rows and sums must be the manifest's.
    Returns the manifest; raises ArchiveError naming what differs."""
    manifest = read_manifest(path)
    if _file_sha256(path) != manifest["file_sha256"]:
        raise ArchiveError(f"{path.name}: the file's SHA-256 is not the manifest's")
    sha, count = hashlib.sha256(), 0
    sums = dict.fromkeys(_SUMMED, Decimal(0))
    with gzip.open(path, "rb") as gz:
        tee = _Tee(gz, sha)
        text = io.TextIOWrapper(io.BufferedReader(tee), encoding="utf-8", newline="")
        reader = csv.reader(text)
        header = next(reader)
        if header != manifest["columns"]:
            raise ArchiveError(f"{path.name}: its columns are not the manifest's")
        where = [header.index(c) for c in _SUMMED]
        for row in reader:
            count += 1
            for column, i in zip(_SUMMED, where, strict=True):
                if row[i]:
                    sums[column] += Decimal(row[i])
        size = tee.size
    if (count, size, sha.hexdigest()) != (manifest["rows"], manifest["csv_bytes"], manifest["csv_sha256"]):
        raise ArchiveError(f"{path.name}: read back {count} rows, {size} bytes: not the manifest's")
    if {c: str(v) for c, v in sums.items()} != {c: str(Decimal(v)) for c, v in manifest["sums"].items()}:
        raise ArchiveError(f"{path.name}: its sums are not the manifest's")
    return manifest


class _Tee(io.RawIOBase):
    """Reads from ``source`` and hashes what was read."""

    def __init__(self, source, sha):
        self.source, self.sha, self.size = source, sha, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.source.read(len(buffer))
        self.sha.update(data)
        self.size += len(data)
        buffer[: len(data)] = data
        return len(data)


def restore_archive(path: str | Path, progress: Callable[[str], None] | None = None) -> dict:
    """Put an archive's calls back in ``cdr``: a call is new only if its key (switch, callid, record tag) is not in
    ``cdr_call_key``; the others count as duplicates. The rollups of the days it covers are then recomputed from
    ``cdr`` (they kept the archived calls: adding the restored ones to them would count them twice)."""
    path = Path(path)
    manifest = verify_archive(path)
    columns = manifest["columns"]
    with db.raw_connection() as conn, conn.cursor() as cur:
        if manifest["rows"]:
            cur.execute("SELECT ensure_cdr_partitions(%s, %s)", (manifest["first_call"], manifest["last_call"]))
        cur.execute("CREATE TEMP TABLE archived_calls (LIKE cdr INCLUDING DEFAULTS) ON COMMIT DROP")
        with gzip.open(path, "rb") as gz:
            cur.copy_expert(f"COPY archived_calls ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, HEADER)", gz)
        cur.execute(
            f"""CREATE TEMP TABLE claimed_keys ON COMMIT DROP AS WITH claimed AS (
                    INSERT INTO cdr_call_key (switch_id, callid, starting_date)
                    SELECT switch_id, {record_key_sql()}, starting_date FROM archived_calls
                    ORDER BY switch_id, {record_key_sql()} COLLATE "C"
                    ON CONFLICT DO NOTHING RETURNING switch_id, callid)
                SELECT * FROM claimed"""
        )
        cur.execute(
            f"""INSERT INTO cdr ({", ".join(columns)}) SELECT {", ".join(f"a.{c}" for c in columns)}
                FROM archived_calls a JOIN claimed_keys k
                  ON k.switch_id = a.switch_id AND k.callid = {record_key_sql("a")}"""
        )
        stored = cur.rowcount
        cur.execute("DELETE FROM cdr_archive WHERE file = %s", (path.name,))  # its month takes imports again
        # Restored ids were issued by this sequence or another database's: new calls must not meet them.
        cur.execute(
            "SELECT setval(s, greatest((SELECT max(id) FROM cdr), nextval(s))) "
            "FROM pg_get_serial_sequence('cdr', 'id') s"
        )
    if progress:
        progress(
            f"{stored} calls restored; recomputing the rollups of {manifest['range'][0]} .. {manifest['range'][1]}"
        )
    if stored:
        start, end = (datetime.fromisoformat(v) for v in manifest["range"])
        rollups.rebuild_rollups(start, end)
    return {"rows_read": manifest["rows"], "stored": stored, "duplicates": manifest["rows"] - stored}
