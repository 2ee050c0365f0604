"""Imports started from the web page: the uploaded file is saved, then imported in a background thread
while the page polls the import's progress (``import_batch.bytes_done``)."""

from __future__ import annotations

import base64
import logging
import re
import threading
import uuid
from pathlib import Path

from data.core.settings import load_settings
from data.ingest.imports import get_import, list_imports
from data.ingest.pipeline import PreparedImport, prepare_file_import
from data.ingest.rejects import list_rejects

log = logging.getLogger("dialstat.ingest")
MAX_UPLOAD_BYTES = 256 << 20  # larger files: import-cdr or the watched folder


def upload_dir() -> Path:
    path = load_settings().var_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_upload(filename: str, contents: str) -> Path:
    """Write a dcc.Upload ``data:...;base64,...`` payload to a private file; returns its path."""
    _, _, payload = contents.partition(",")
    data = base64.b64decode(payload)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file is larger than {MAX_UPLOAD_BYTES >> 20} MB: use import-cdr or the watched folder")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename or "upload").name)[-80:]
    path = upload_dir() / f"{uuid.uuid4().hex}-{safe}"
    path.write_bytes(data)
    return path


def _run(prepared: PreparedImport, path: Path) -> None:
    try:
        prepared.run()
    except Exception:  # recorded on the import (status failed, error); the page shows it
        log.exception("upload import %s failed", prepared.import_id)
    finally:
        path.unlink(missing_ok=True)


def start_upload_import(filename: str, contents: str, fmt: str, switch: str | None, created_by: int | None) -> int:
    """Save and start importing an uploaded file; returns the import id (``FormatError``: nothing started)."""
    path = save_upload(filename, contents)
    try:
        prepared = prepare_file_import(
            path, fmt, switch or None, source="upload", created_by=created_by, file_name=Path(filename).name
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    threading.Thread(target=_run, args=(prepared, path), name=f"import-{prepared.import_id}", daemon=True).start()
    return prepared.import_id


def import_progress(import_id: int) -> dict | None:
    """The import's counts, state and share of the file done (0-100)."""
    found = get_import(import_id)
    if found is None:
        return None
    total = found["bytes_total"] or 0
    done = total if found["state"] == "done" else min(found["bytes_done"] or 0, total)
    found["percent"] = round(100 * done / total) if total else (100 if found["state"] != "running" else 0)
    return found


__all__ = ["MAX_UPLOAD_BYTES", "import_progress", "list_imports", "list_rejects", "start_upload_import"]
