"""Imports started from the web page: the uploaded file is kept (named by a token) while the page previews
it and runs a dry run, then imported in a background thread while the page polls the import's progress
(``import_batch.bytes_done``). A dry run's import row is deleted when it ends: its summary is kept in
a file beside the uploads (``dry-run-ID.json``), for the page to show whichever web worker it asks."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from data.core.settings import load_settings
from data.ingest.imports import ImportSummary, get_import, list_imports
from data.ingest.pipeline import PreparedImport, prepare_file_import
from data.ingest.rejects import list_rejects

log = logging.getLogger("dialstat.ingest")
MAX_UPLOAD_BYTES = 256 << 20  # larger files: import-cdr or the watched folder
KEEP_UPLOADS_SECONDS = 24 * 3600  # an upload left without an import
_TOKEN = re.compile(r"^[0-9a-f]{32}-[A-Za-z0-9._-]{1,80}$")


def upload_dir() -> Path:
    path = load_settings().var_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _forget_old_uploads(folder: Path) -> None:
    limit = time.time() - KEEP_UPLOADS_SECONDS
    for old in folder.iterdir():
        if old.is_file() and old.stat().st_mtime < limit:
            old.unlink(missing_ok=True)


def save_upload(filename: str, contents: str) -> Path:
    """Write a dcc.Upload ``data:...;base64,...`` payload to a private file; returns its path."""
    _, _, payload = contents.partition(",")
    data = base64.b64decode(payload)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file is larger than {MAX_UPLOAD_BYTES >> 20} MB: use import-cdr or the watched folder")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename or "upload").name)[-80:]
    folder = upload_dir()
    _forget_old_uploads(folder)
    path = folder / f"{uuid.uuid4().hex}-{safe}"
    path.write_bytes(data)
    return path


def uploaded_file(token: str) -> Path:
    """The kept upload a page's token names (``ValueError`` when it is not one, or is gone)."""
    path = upload_dir() / token
    if not _TOKEN.match(token or "") or not path.is_file():
        raise ValueError("the uploaded file is gone: upload it again")
    return path


def original_name(token: str) -> str:
    return token.split("-", 1)[-1]


def _run(prepared: PreparedImport, path: Path, keep: bool) -> None:
    try:
        summary = prepared.run()
        if prepared.options.get("dry_run"):
            _dry_run_file(prepared.import_id).write_text(json.dumps(asdict(summary)))
    except Exception:  # recorded on the import (status failed, error); the page shows it
        log.exception("upload import %s failed", prepared.import_id)
    finally:
        if not keep:
            path.unlink(missing_ok=True)


def start_upload_import(
    filename: str,
    contents: str | None,
    fmt: str,
    switch: str | None,
    created_by: int | None,
    *,
    token: str | None = None,
    profile: dict | None = None,
    dry_run: bool = False,
) -> int:
    """Import an upload (new ``contents``, or the kept one ``token`` names) in a background thread; returns
    the import id (``FormatError``/``ProfileError``: nothing started). A dry run keeps the file."""
    path = uploaded_file(token) if token else save_upload(filename, contents)
    try:
        prepared = prepare_file_import(
            path,
            fmt,
            switch or None,
            dry_run,
            source="upload",
            created_by=created_by,
            file_name=Path(filename).name,
            profile=profile,
        )
    except BaseException:
        if not token:
            path.unlink(missing_ok=True)
        raise
    thread = threading.Thread(
        target=_run, args=(prepared, path, dry_run), name=f"import-{prepared.import_id}", daemon=True
    )
    thread.start()
    return prepared.import_id


def _dry_run_file(import_id: int) -> Path:
    return upload_dir() / f"dry-run-{int(import_id)}.json"


def dry_run_result(import_id: int) -> ImportSummary | None:
    """The summary of a finished dry run (None while it runs, or when unknown)."""
    try:
        kept = json.loads(_dry_run_file(import_id).read_text())
    except (OSError, ValueError):
        return None
    kept["reject_samples"] = [tuple(sample) for sample in kept["reject_samples"]]
    return ImportSummary(**kept)


def import_progress(import_id: int) -> dict | None:
    """The import's counts, state and share of the file done (0-100)."""
    found = get_import(import_id)
    if found is None:
        return None
    total = found["bytes_total"] or 0
    done = total if found["state"] == "done" else min(found["bytes_done"] or 0, total)
    found["percent"] = round(100 * done / total) if total else (100 if found["state"] != "running" else 0)
    return found


__all__ = [
    "MAX_UPLOAD_BYTES",
    "dry_run_result",
    "import_progress",
    "list_imports",
    "list_rejects",
    "original_name",
    "save_upload",
    "start_upload_import",
    "uploaded_file",
]
