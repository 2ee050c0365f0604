"""The watched folder: files dropped into IMPORT_DIR are imported, then moved to ``done/`` or ``failed/``.

A file of a format without a switch column goes in a subfolder named after its switch
(``IMPORT_DIR/10.0.0.5/Master.csv``). A subfolder holding a ``.profile`` file (one line: an import
profile's name) reads its files with that profile; a subfolder named after a profile reads them with it
too (its switch is then the profile's default switch). A file is taken once its size has not changed for
``SETTLE_SECONDS`` (still being copied otherwise), moved to ``processing/`` (an atomic rename: one
importer per file), imported, then moved on with a timestamp; a failed file gets a ``.error.txt`` note.
A file left in ``processing/`` by a process that died is imported again: its committed batches count
as duplicates.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path

from data.ingest.pipeline import import_file
from data.ingest.profile_store import get_profile, resolve_profile

log = logging.getLogger("dialstat.ingest")
RESERVED = {"done", "failed", "processing"}
SETTLE_SECONDS = 5.0


def _candidates(root: Path, settle: float) -> list[tuple[Path, str | None]]:
    found = []
    now = time.time()
    for folder, switch in [(root, None)] + [
        (d, d.name) for d in sorted(root.iterdir()) if d.is_dir() and d.name not in RESERVED
    ]:
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.name.startswith(".") or path.suffix in (".part", ".tmp"):
                continue
            if now - path.stat().st_mtime >= settle:
                found.append((path, switch))
    return found


def _stamped(target_dir: Path, name: str) -> Path:
    target_dir.mkdir(parents=True, exist_ok=True)
    return target_dir / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{name}"


def folder_profile(root: Path, folder: str | None) -> tuple[dict | None, str | None]:
    """The import profile of a subfolder (its ``.profile`` file, or its name), and the switch of its files."""
    if not folder:
        return None, None
    marker = root / folder / ".profile"
    if marker.is_file():
        return resolve_profile(marker.read_text(encoding="utf-8").strip()), folder
    named = get_profile(folder)
    return (named, None) if named is not None else (None, folder)


def import_watched_folder(root: Path, settle: float = SETTLE_SECONDS) -> dict:
    """Import every settled file of ``root``; returns counts for the job's record."""
    root.mkdir(parents=True, exist_ok=True)
    processing = root / "processing"
    processing.mkdir(exist_ok=True)
    # Left over by a process that died mid-import: the same import again is safe.
    work = [(p, p.name.split("@@", 1)[0] or None if "@@" in p.name else None) for p in sorted(processing.iterdir())]
    for path, switch in _candidates(root, settle):
        claimed = processing / (f"{switch}@@{path.name}" if switch else path.name)
        try:
            path.rename(claimed)
        except FileNotFoundError:
            continue  # taken by another process
        work.append((claimed, switch))
    totals = {"files": 0, "failed": 0, "accepted": 0, "duplicates": 0, "rejected": 0}
    for path, switch in work:
        name = path.name.split("@@", 1)[-1]
        try:
            profile, switch = folder_profile(root, switch)
            summary = import_file(path, switch=switch, source="watch", file_name=name, profile=profile)
        except Exception as exc:  # an unreadable file goes to failed/, the others go on
            log.warning("watched file %s failed: %s", name, exc)
            target = _stamped(root / "failed", name)
            path.rename(target)
            target.with_name(target.name + ".error.txt").write_text(f"{type(exc).__name__}: {exc}\n")
            totals["failed"] += 1
            continue
        path.rename(_stamped(root / "done", name))
        totals["files"] += 1
        totals["accepted"] += summary.accepted
        totals["duplicates"] += summary.duplicates
        totals["rejected"] += summary.rejected
    return totals
