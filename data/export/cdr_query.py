"""Which CDRs an export takes, and the SQL that reads them (typed rows, or records PostgreSQL renders).

Answered calls only (``answered_date`` set), with an interval on the answer time
``time_start <= answered_date < time_end`` (both optional). Unanswered calls have no answer time
and no cost: CGRateS exports rated calls, and a billing export is what operators use this for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from data.core import db

from .fields import CGRATES_ALIASES, COLUMN_FIELDS, CONSTANT_FIELDS
from .sqlrender import SqlRendering
from .templates import ExportField, ExportTemplate

MAX_RING = timedelta(days=1)  # an interval export reads calls set up at most this long before time_start


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
