"""CDR exports from the shell and on a schedule.

``flask --app app export-cdrs --template cgr-csv --from 2024-01-01 --to 2024-02-01 [--out PATH]``
``flask --app app export-template load FILE [--name NAME] [--profile PROFILE]``
``flask --app app export-schedules`` (run the due scheduled exports now; the scheduler does it every minute)
"""

from __future__ import annotations

import click

from data.export import cdr_query, exporter, library, schedules
from data.export.templates import TemplateError
from jobs.registry import ScheduledJob

SCHEDULE_CHECK_SECONDS = 60  # how often the due schedules are looked for; each runs once per its own period


def run_scheduled_exports() -> dict:
    return schedules.run_due_schedules()


JOBS = (ScheduledJob("export-schedules", run_scheduled_exports, SCHEDULE_CHECK_SECONDS),)


@click.command("export-cdrs")
@click.option("--template", "template_name", default="cgr-csv", show_default=True, help="Template name.")
@click.option("--from", "time_from", help="Answer time from (inclusive): date, RFC3339 or unix seconds; UTC.")
@click.option("--to", "time_to", help="Answer time to (exclusive).")
@click.option("--out", "out", help="Output file or directory (default: EXPORT_DIR/cdrs_<unix time>.csv).")
@click.option("--account", "accounts", multiple=True, help="Only this accountcode (repeatable).")
@click.option("--reexport", type=int, help="Export again the CDRs of this export history entry.")
def export_cdrs(template_name, time_from, time_to, out, accounts, reexport):
    """Export answered CDRs to a file with a template, recorded in the export history."""
    import getpass

    actor = exporter.Actor("cli", f"shell:{getpass.getuser()}")
    try:
        if reexport is not None:
            result = exporter.reexport(reexport, actor)
        else:
            flt = cdr_query.ExportFilter(
                time_start=exporter.parse_user_time(time_from, "--from"),
                time_end=exporter.parse_user_time(time_to, "--to"),
                accounts=tuple(accounts),
            )
            run = exporter.adhoc_run(library.get_template(template_name), flt)
            directory, file_name = _split_out(out)
            result = exporter.export_to_file(run, actor, directory=directory, file_name=file_name, confined=False)
    except (library.ExportRefused, TemplateError) as exc:
        raise click.ClickException(str(exc)) from None
    summary = result.summary
    click.echo(
        f"{result.path}: {summary.total_records} CDRs, total cost {summary.total_cost}, "
        f"sha256 {result.sha256} (export #{result.history_id})"
    )
    for cgrid, reason in list(summary.unexported.items())[:20]:
        click.echo(f"not exported {cgrid}: {reason}", err=True)
    if len(summary.unexported) > 20:
        click.echo(f"... and {len(summary.unexported) - 20} more not exported", err=True)


def _split_out(out: str | None) -> tuple[str | None, str | None]:
    if not out:
        return None, None
    from pathlib import Path

    path = Path(out).expanduser().resolve()
    if path.is_dir():
        return str(path), None
    return str(path.parent), path.name


@click.group("export-template")
def export_template():
    """Export templates (CGRateS cdre profiles)."""


@export_template.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", help="Template name (default: the profile's, or the file's name).")
@click.option("--profile", help="Which profile of a CGRateS config with several cdre profiles.")
def load_template(path, name, profile):
    """Validate and store a template from a JSON or YAML file with CGRateS cdre keys."""
    from pathlib import Path

    from data.export.templates import load_cdre_profile

    try:
        template = load_cdre_profile(path, profile=profile)
        saved = library.save_template(name or template.name or Path(path).stem, template.to_cdre_profile())
    except TemplateError as exc:
        raise click.ClickException("\n  ".join(["invalid template:", *exc.problems])) from None
    click.echo(f"saved template {saved.name!r} ({len(saved.content_fields)} content fields)")


@export_template.command("list")
def list_templates():
    for row in library.list_templates():
        click.echo(f"{row['name']}{' (built-in)' if row['builtin'] else ''}")


@click.command("export-schedules")
@click.option(
    "--wait",
    type=float,
    default=schedules.HORIZON_WAIT_SECONDS,
    show_default=True,
    help="Seconds to wait for in-flight imports to commit.",
)
def export_schedules(wait):
    """Run the due scheduled exports now."""
    click.echo(schedules.run_due_schedules(wait_seconds=wait))


COMMANDS = (export_cdrs, export_template, export_schedules)
