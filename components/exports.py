"""Pieces of the Exports page: the destination lists table and the pickers of lists and schedules."""

from __future__ import annotations

from dash import html

from components.tables import header_table
from data.core.i18n import N_
from data.core.i18n import gettext as _

PREFIXES_SHOWN = 12  # a long list shows its first prefixes and how many more


def destination_lists_table(rows: list[dict]):
    cells = [
        html.Tr(
            [
                html.Td(r["name"]),
                html.Td(prefixes_text(r["prefixes"])),
                html.Td(r["description"]),
                html.Td(f"{r['updated_at']:%Y-%m-%d %H:%M}" if r["updated_at"] else ""),
            ]
        )
        for r in rows
    ]
    headers = (_("Name"), _("Prefixes"), _("Description"), _("Updated (UTC)"))
    return header_table(headers, cells, _("No destination list yet."), className="small", id="exports-destlists-table")


SCHEDULE_HEADERS = (
    N_("Name"),
    N_("Template"),
    N_("Period"),
    N_("Directory"),
    N_("Enabled"),
    N_("Watermark (CDR id)"),
    N_("Last run"),
    N_("Last error"),
)


def schedules_table(rows: list[dict], period_labels: dict[int, str]):
    cells = [
        html.Tr(
            [
                html.Td(r["name"]),
                html.Td(r["template_name"]),
                html.Td(period_labels.get(r["period_seconds"], f"every {r['period_seconds']} s")),
                html.Td(r["export_dir"] or "."),
                html.Td("yes" if r["enabled"] else "no"),
                html.Td(r["watermark_id"]),
                html.Td(f"{r['last_run_at']:%Y-%m-%d %H:%M:%S}" if r["last_run_at"] else ""),
                html.Td(r["last_error"] or ""),
            ]
        )
        for r in rows
    ]
    return header_table(
        SCHEDULE_HEADERS, cells, _("No scheduled exports yet."), className="small", id="exports-schedules-table"
    )


HISTORY_HEADERS = (
    "#",
    N_("When (UTC)"),
    N_("Who"),
    N_("Template"),
    N_("Interval / CDR ids"),
    N_("CDRs"),
    N_("Not exported"),
    N_("Cost"),
    N_("File"),
    "sha256",
)


def history_table(rows: list[dict]):
    return header_table(HISTORY_HEADERS, [_history_row(r) for r in rows], _("Nothing exported yet."), className="small")


def _history_row(r: dict) -> html.Tr:
    if r["id_through"] is not None:
        span = f"ids {r['id_after']}–{r['id_through']}"
    else:
        span = " – ".join(f"{t:%Y-%m-%d %H:%M}" if t else "…" for t in (r["time_start"], r["time_end"]))
    who = f"{r['actor']} ({r['source']})" + (f", re-export of #{r['reexport_of']}" if r["reexport_of"] else "")
    file_cell = export_download(r["id"], r["file_path"]) if r["finalized"] else html.Span(r["file_path"])
    return html.Tr(
        [
            html.Td(r["id"]),
            html.Td(f"{r['created_at']:%Y-%m-%d %H:%M:%S}"),
            html.Td(who),
            html.Td(r["template_name"]),
            html.Td(span),
            html.Td(r["total_records"]),
            html.Td(r["unexported_records"]),
            html.Td(str(r["total_cost"])),
            html.Td(file_cell),
            html.Td(html.Code(r["sha256"][:16] + "…")),
        ]
    )


def export_download(history_id: int | None, path) -> html.Span:
    """A link to download an export's file (nothing when there is no history row)."""
    if history_id is None:
        return html.Span("")
    return html.A(str(path), href=f"/download/export/{history_id}", id=f"exports-download-{history_id}")


def prefixes_text(prefixes: list[str]) -> str:
    shown = ", ".join(prefixes[:PREFIXES_SHOWN])
    more = len(prefixes) - PREFIXES_SHOWN
    return f"{shown} … ({more} more)" if more > 0 else (shown or "(none)")


def destination_list_options(rows: list[dict]) -> list[dict]:
    return [{"label": r["name"], "value": r["name"]} for r in rows]


def schedule_options(rows: list[dict]) -> list[dict]:
    return [{"label": f"{r['name']} ({r['template_name']})", "value": r["id"]} for r in rows]
