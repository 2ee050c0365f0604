"""Which reader opens a file: a format, an import profile, or (``auto``) the format detected, else the
profile that scores best on the file's first lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from data.ingest.formats import detect_format, open_binary, open_source
from data.ingest.profile_read import HEAD_BYTES, choose_profile, open_profile_source
from data.ingest.profile_spec import check_profile
from data.ingest.profile_store import all_profiles
from data.ingest.rows import BATCH_ROWS, FormatError, Source


def file_head(path: Path) -> bytes:
    """The first bytes of the file's content (gunzipped)."""
    stream, _counter = open_binary(path)
    try:
        return stream.read(HEAD_BYTES)
    finally:
        stream.close()


def suggest(path: Path) -> dict:
    """What ``auto`` would read ``path`` with: ``{"format"|"profile": name, "why": text}``, or
    ``{"why": ...}`` naming the closest profile and what did not match."""
    head = file_head(path)
    try:
        return {"format": detect_format(head, path.name), "why": "its first line has the layout of that format"}
    except FormatError:
        pass
    chosen, why = choose_profile(head, all_profiles())
    return {"profile": chosen["name"], "why": why} if chosen else {"why": why}


def _with_profile(path: Path, profile: dict, why: str, batch_rows: int) -> tuple[Source, Callable[[], None]]:
    checked = check_profile(profile)
    source, close = open_profile_source(path, checked, batch_rows)
    source.extra.update(timezone=checked["timezone"], switch=checked["switch"], why=why)
    return source, close


def open_file(
    path: Path, fmt: str = "auto", profile: dict | None = None, batch_rows: int = BATCH_ROWS
) -> tuple[Source, Callable[[], None]]:
    """The batches of ``path`` and a function closing it; ``FormatError`` when nothing reads it (with
    ``auto``: the closest profile and what did not match)."""
    if profile is not None:
        return _with_profile(path, profile, f"import profile {profile.get('name')!r}", batch_rows)
    try:
        return open_source(path, fmt, batch_rows)
    except FormatError as exc:
        if fmt != "auto" or "cannot tell the format" not in str(exc):
            raise
        chosen, why = choose_profile(file_head(path), all_profiles())
        if chosen is None:
            raise FormatError(f"{exc}; {why}") from exc
        return _with_profile(path, chosen, why, batch_rows)
