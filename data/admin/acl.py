"""Groups and permissions (ACL): which pages and features a user may use.

The rules (docs/administration.md):

- A permission is a string: ``page:<path>`` for every page of the app (its Dash path, e.g.
  ``page:/cdrs``), or ``feature:<name>`` for what is not a page (``feature:api``: the REST API and
  API tokens).
- Admins have every permission.
- A customer in no group keeps the default customer permissions: every page that is not admin-only,
  and every feature.
- A customer in one or more groups has the union of their groups' permissions, and only those.
- Admin-only pages are never granted to customers, whatever a group holds; pages registered with
  ``always_allowed=True`` (the profile page) are open to every logged-in user.

Every page, callback, route and download declares an :class:`Access` where it is registered
(``register_page(..., access=...)``, ``routes.access.callbacks_for``, ``routes.access.allow``); the one
guard (``routes/access.py``) refuses whatever declares nothing. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from data.core import audit, db
from data.core.i18n import gettext as _
from data.core.report_cache import Recent


@dataclass(frozen=True)
class Permission:
    key: str
    label: str
    admin_only: bool = False
    always: bool = False  # open to every logged-in user


@dataclass(frozen=True)
class Access:
    """Who may use a page, callback, route or download, declared where it is registered."""

    kind: str  # "public", "user", "admin", "own page", "page" (that page's access), "permissions"
    permissions: tuple[str, ...] = ()
    path: str | None = None

    def __str__(self) -> str:
        return {"page": f"the page {self.path}", "permissions": " and ".join(self.permissions)}.get(
            self.kind, self.kind
        )


PUBLIC = Access("public")  # no login: the view authenticates by itself, if at all
ANY_USER = Access("user")  # every logged-in user
ADMIN = Access("admin")
PAGE = Access("own page")  # in register_page: the page's own permission, page:<path>, grantable to groups


def needs(*permissions: str) -> Access:
    """Logged in, with every one of ``permissions``."""
    return Access("permissions", tuple(permissions))


def page(path: str) -> Access:
    """Whatever the page at ``path`` declared: for its callbacks and downloads."""
    return Access("page", path=path)


FEATURES = {
    "feature:api": "REST API and API tokens",
}
_pages: dict[str, Permission] = {}
_page_access: dict[str, Access] = {}  # path -> what the page declared


def page_permission(path: str) -> str:
    return f"page:{path}"


def register_pages(pages: Iterable[dict]) -> list[str]:
    """Make every page of the app a permission (called once the Dash page registry is filled).

    Returns the paths of pages that declare no ``access``: the guard refuses them to everyone."""
    undeclared = []
    for entry in pages:
        access = entry.get("access")
        if not isinstance(access, Access) or access.kind not in ("user", "admin", "own page", "public"):
            undeclared.append(entry["path"])
            continue
        _page_access[entry["path"]] = access
        entry["admin_only"] = access == ADMIN  # read by the navbar's sections
        key = page_permission(entry["path"])
        _pages[key] = Permission(key, entry.get("name") or entry["path"], access == ADMIN, access == ANY_USER)
    return undeclared


def allows(access: Access | None, permissions, logged_in: bool) -> bool:
    """Does ``access`` let in a request with ``permissions``? Nothing declared lets nobody in."""
    if access is None:
        return False
    if access.kind == "public":
        return True
    if not logged_in:
        return False
    if access.kind == "page":
        declared = _page_access.get(access.path)
        if declared == PAGE:
            declared = needs(page_permission(access.path))
        return allows(declared, permissions, logged_in)
    if access.kind == "own page":
        return False  # only meaningful on a page: resolved with the page's path above
    if access.kind == "user":
        return True
    if access.kind == "admin":
        return permissions is ALL
    return all(p in permissions for p in access.permissions)


def all_permissions() -> list[Permission]:
    return sorted(_pages.values(), key=lambda p: p.key) + [Permission(k, v) for k, v in FEATURES.items()]


def grantable_permissions() -> list[Permission]:
    """What a group may grant: the customer pages (not admin-only, not open to all) and the features."""
    return [p for p in all_permissions() if not p.admin_only and not p.always]


def default_customer_permissions() -> frozenset[str]:
    return frozenset(p.key for p in all_permissions() if not p.admin_only)


class AllPermissions:
    """An admin's permissions: contains everything."""

    def __contains__(self, item) -> bool:
        return True

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        return iter([p.key for p in all_permissions()])

    def __repr__(self) -> str:
        return "ALL"


ALL = AllPermissions()


def permissions_of(user) -> frozenset[str]:
    """Everything ``user`` may use (``ALL`` for admins; empty when not logged in)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    if user.is_admin:
        return ALL
    found = _recent_grants.get(user.id)
    always = {p.key for p in _pages.values() if p.always}
    if not found:
        return default_customer_permissions() | always
    admin_only = {p.key for p in _pages.values() if p.admin_only}
    return frozenset({r["permission"] for r in found if r["permission"]} - admin_only) | always


def _grants_of(user_id: int) -> list[dict]:
    return db.rows(
        """SELECT ug.group_id, p.permission FROM user_group ug
           LEFT JOIN acl_group_permission p ON p.group_id = ug.group_id WHERE ug.user_id = :uid""",
        uid=user_id,
    )


_recent_grants = Recent(_grants_of)  # looked up on every request: kept a second (data/core/report_cache.py)


def current_permissions() -> frozenset[str]:
    """The permissions of the user of the current request, computed once per request."""
    from flask import g
    from flask_login import current_user

    if "dialstat_permissions" not in g:
        g.dialstat_permissions = permissions_of(current_user)
    return g.dialstat_permissions


def allowed(user, permission: str) -> bool:
    return permission in permissions_of(user)


def page_allowed(permissions: frozenset[str], entry: dict) -> bool:
    """May a logged-in user with ``permissions`` see ``entry`` (a Dash page registry entry)?"""
    return allows(page(entry["path"]), permissions, logged_in=bool(permissions))


def require(user, permission: str) -> None:
    if not allowed(user, permission):
        raise PermissionError(f"{permission} is not allowed")


# ---------------------------------------------------------------------------------------------------------
# Groups


def list_groups() -> list[dict]:
    return db.rows(
        """SELECT g.id, g.name, g.description, g.created_at,
                  COALESCE((SELECT array_agg(permission ORDER BY permission) FROM acl_group_permission
                            WHERE group_id = g.id), '{}') AS permissions,
                  (SELECT count(*) FROM user_group WHERE group_id = g.id) AS members
           FROM acl_group g ORDER BY g.name"""
    )


def get_group(group_id: int) -> dict | None:
    found = [g for g in list_groups() if g["id"] == group_id]
    return found[0] if found else None


def _snapshot(conn, group_id: int) -> dict | None:
    row = conn.execute(text("SELECT id, name, description FROM acl_group WHERE id = :id"), {"id": group_id}).mappings()
    row = row.first()
    if row is None:
        return None
    permissions = (
        conn.execute(
            text("SELECT permission FROM acl_group_permission WHERE group_id = :id ORDER BY permission"),
            {"id": group_id},
        )
        .scalars()
        .all()
    )
    return {**dict(row), "permissions": list(permissions)}


def _valid_permissions(permissions: Iterable[str]) -> list[str]:
    grantable = {p.key for p in grantable_permissions()}
    chosen = sorted(set(permissions or ()))
    unknown = [p for p in chosen if p not in grantable]
    if unknown:
        raise ValueError(f"these permissions cannot be granted: {', '.join(unknown)}")
    return chosen


def _write_permissions(conn, group_id: int, permissions: list[str]) -> None:
    conn.execute(text("DELETE FROM acl_group_permission WHERE group_id = :id"), {"id": group_id})
    if permissions:
        conn.execute(
            text("INSERT INTO acl_group_permission (group_id, permission) VALUES (:id, :p)"),
            [{"id": group_id, "p": p} for p in permissions],
        )


def create_group(actor, name: str, permissions: Iterable[str] = (), description: str = "") -> int:
    name = (name or "").strip()
    if not name:
        raise ValueError(_("a group needs a name"))
    chosen = _valid_permissions(permissions)
    try:
        with db.transaction() as conn:
            group_id = conn.execute(
                text("INSERT INTO acl_group (name, description) VALUES (:n, :d) RETURNING id"),
                {"n": name, "d": description or ""},
            ).scalar()
            _write_permissions(conn, group_id, chosen)
            audit.record(conn, actor, "create", "group", group_id, None, _snapshot(conn, group_id))
        _recent_grants.clear()
    except IntegrityError as exc:
        raise ValueError(f"a group named {name!r} already exists") from exc
    return group_id


def update_group(
    actor,
    group_id: int,
    name: str | None = None,
    permissions: Iterable[str] | None = None,
    description: str | None = None,
) -> None:
    try:
        with db.transaction() as conn:
            before = _snapshot(conn, group_id)
            if before is None:
                raise ValueError(_("no such group"))
            if name is not None:
                if not name.strip():
                    raise ValueError(_("a group needs a name"))
                conn.execute(text("UPDATE acl_group SET name = :n WHERE id = :id"), {"n": name.strip(), "id": group_id})
            if description is not None:
                conn.execute(
                    text("UPDATE acl_group SET description = :d WHERE id = :id"), {"d": description, "id": group_id}
                )
            if permissions is not None:
                _write_permissions(conn, group_id, _valid_permissions(permissions))
            after = _snapshot(conn, group_id)
            if after != before:
                audit.record(conn, actor, "update", "group", group_id, before, after)
        _recent_grants.clear()
    except IntegrityError as exc:
        raise ValueError(f"a group named {name!r} already exists") from exc


def delete_group(actor, group_id: int) -> None:
    with db.transaction() as conn:
        before = _snapshot(conn, group_id)
        if before is None:
            return
        before["members"] = (
            conn.execute(
                text(
                    "SELECT array_agg(u.username ORDER BY u.username) FROM user_group ug "
                    "JOIN app_user u ON u.id = ug.user_id WHERE ug.group_id = :id"
                ),
                {"id": group_id},
            ).scalar()
            or []
        )
        conn.execute(text("DELETE FROM acl_group WHERE id = :id"), {"id": group_id})
        audit.record(conn, actor, "delete", "group", group_id, before, None)
    _recent_grants.clear()


def group_ids_of(user_id: int, conn=None) -> list[int]:
    sql = "SELECT group_id FROM user_group WHERE user_id = :uid ORDER BY group_id"
    if conn is not None:
        return list(conn.execute(text(sql), {"uid": user_id}).scalars())
    return [r["group_id"] for r in db.rows(sql, uid=user_id)]


def set_user_groups(conn, user_id: int, group_ids: Iterable[int]) -> None:
    """Replace the user's groups, on ``conn`` (the caller audits the user change)."""
    wanted = sorted({int(g) for g in group_ids or ()})
    if wanted:
        known = set(conn.execute(text("SELECT id FROM acl_group WHERE id = ANY(:ids)"), {"ids": wanted}).scalars())
        if set(wanted) - known:
            raise ValueError(_("unknown group"))
    conn.execute(
        text("DELETE FROM user_group WHERE user_id = :uid AND NOT (group_id = ANY(:ids))"),
        {"uid": user_id, "ids": wanted},
    )
    if wanted:
        conn.execute(
            text("INSERT INTO user_group (user_id, group_id) VALUES (:uid, :gid) ON CONFLICT DO NOTHING"),
            [{"uid": user_id, "gid": g} for g in wanted],
        )
    _recent_grants.clear()  # before the commit: at worst a second of the old grants, as in other processes
