"""Whose calls a request may see, decided on the server from the logged-in user.

Every query over calls takes a ``Scope`` and applies ``Scope.cdr_filter``; nothing the browser
sends can widen it. Admins see everything; a customer sees only the CDRs of their accountcodes
(``cdr.user_id``, set at import from ``user_accountcode``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    user_id: int | None  # None: every customer (admin)
    timezone: str = "UTC"

    @property
    def is_admin(self) -> bool:
        return self.user_id is None

    def cdr_filter(self, alias: str = "cdr") -> tuple[str, dict]:
        """SQL condition and parameters restricting rows of a table with a ``user_id`` column."""
        if self.user_id is None:
            return "TRUE", {}
        return f"{alias}.user_id = :scope_user_id", {"scope_user_id": self.user_id}


def scope_for(user) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionError("no logged-in user")
    return Scope(user_id=None if user.is_admin else user.id, timezone=user.timezone)


def current_actor():
    """The logged-in user of the current request, as the audit log records who did a change."""
    from flask_login import current_user

    return current_user._get_current_object()


def current_scope() -> Scope:
    """The scope of the user of the current request."""
    from flask_login import current_user

    return scope_for(current_user)
