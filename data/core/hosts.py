"""Host names: which Host headers the site answers (``ALLOWED_HOSTS``) and which names are local.

A request's Host header is whatever the client wrote: only a name in ``ALLOWED_HOSTS`` is answered, so
nothing built from it (redirects, links) can point elsewhere. ``example.com`` allows that name,
``.example.com`` also its subdomains, ``*`` any name (behind a proxy that checks it).
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


def host_name(host: str) -> str:
    """The name of a Host header (``name:port``, ``[::1]:8050``), lower case; "" when it does not parse."""
    try:
        return (urlsplit("//" + (host or "")).hostname or "").rstrip(".")
    except ValueError:
        return ""


def is_local(host: str) -> bool:
    """Whether ``host`` names this machine (a site nobody else reaches by that name)."""
    name = host_name(host)
    return name in LOCAL_NAMES or name.endswith(".localhost") or name.startswith("127.")


def is_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    name = host_name(host)
    if not name:
        return False
    for pattern in allowed:
        pattern = pattern.strip().lower().rstrip(".")
        if pattern == "*" or name == pattern.strip("[]"):
            return True
        if pattern.startswith(".") and (name == pattern[1:] or name.endswith(pattern)):
            return True
    return False
