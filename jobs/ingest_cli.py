"""Shell commands of the ingest: ``import-cdr``, ``collect``, ``switch-key``, ``demo-data``."""

from __future__ import annotations

import sys
import time

import click

from data.ingest.formats import FORMATS, FormatError
from jobs import ingest_jobs  # noqa: F401 - registers the ingest's scheduled jobs


class TerminalProgress:
    """One self-overwriting status line on stderr, only when it is a terminal."""

    def __init__(self, total_bytes: int | None):
        self.total, self.started, self.last = total_bytes, time.monotonic(), 0.0
        self.enabled = sys.stderr.isatty()

    def __call__(self, summary, position: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        rate = summary.rows_read / max(now - self.started, 1e-6)
        share = f" ({100 * position / self.total:.0f}%)" if self.total else ""
        sys.stderr.write(
            f"\r{summary.rows_read:,} rows read{share} · accepted {summary.accepted:,} · "
            f"duplicates {summary.duplicates:,} · rejected {summary.rejected:,} · {rate:,.0f} rows/s "
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def print_rejects(summary, limit: int = 20) -> None:
    for lineno, reason in summary.reject_samples[:limit]:
        click.echo(f"  line {lineno}: {reason}")
    if summary.rejected > len(summary.reject_samples[:limit]):
        more = summary.rejected - len(summary.reject_samples[:limit])
        where = f" (import {summary.import_id}: /download/rejects/{summary.import_id}.csv)" if summary.import_id else ""
        click.echo(f"  ... and {more} more{where}")


@click.command("import-cdr")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True)
@click.option("--switch", default=None, help="Switch (name or IP) of rows that do not name one.")
@click.option("--profile", default=None, help="Import profile: a saved or built-in profile's name, or a YAML file.")
@click.option("--dry-run", is_flag=True, help="Read and check everything, store nothing.")
def import_cdr(path, fmt, switch, profile, dry_run):
    """Import a CDR file (CDR-Stats CSV/JSON/XLSX/YAML, FreeSWITCH or Asterisk CSV, or any layout an import
    profile describes; gzip works)."""
    import os

    from data.ingest import archives
    from data.ingest.pipeline import import_file
    from data.ingest.profile_spec import ProfileError
    from data.ingest.profile_store import resolve_profile

    if archives.is_archive(path):  # a monthly archive (ARCHIVE_DIR) goes back as it was stored
        if dry_run:
            click.echo(f"{archives.verify_archive(path)['rows']} calls in the archive; read back and checked")
            return
        done = archives.restore_archive(path, progress=click.echo)
        click.echo(f"{done['rows_read']} archived calls read: {done['stored']} new, {done['duplicates']} duplicates")
        return
    progress = TerminalProgress(os.path.getsize(path))
    try:
        chosen = resolve_profile(profile) if profile else None
        summary = import_file(path, fmt, switch, dry_run, progress=progress, profile=chosen)
    except FormatError as exc:
        hint = " (--format, --profile, --switch)" if "cannot tell" in str(exc) or "which switch" in str(exc) else ""
        raise click.ClickException(f"{exc}{hint}") from exc
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        progress.close()
    verb = "checked (dry run, nothing stored)" if dry_run else f"imported as import {summary.import_id}"
    click.echo(
        f"{summary.rows_read} rows of {summary.format} {verb} in {summary.seconds:.1f} s ({summary.rate:,.0f} rows/s)"
    )
    print_rejects(summary)
    click.echo(summary.line())


@click.command("switch-key")
@click.argument("switch")
def switch_key(switch):
    """Create or replace the push API key of SWITCH (name or IP); the key is printed once, never stored."""
    from data.ingest.switches import rotate_push_key

    found, key = rotate_push_key(switch)
    click.echo(f"push key for switch {found['name']} (id {found['id']}); keep it, it is not shown again:")
    click.echo(key)


@click.command("demo-data")
@click.option("--days", default=30, show_default=True, help="Days of traffic, ending now.")
@click.option("--calls-per-day", default=3000, show_default=True, help="Calls on an ordinary weekday.")
@click.option("--seed", default=42, show_default=True, help="Same seed, same calls.")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no call yet (make run).")
@click.option("--delete", "delete", is_flag=True, help="Remove the demo data (calls, customers, switches).")
def demo_data_command(days, calls_per_day, seed, if_empty, delete):
    """Load demo traffic (labelled demo) through the real import, or remove it; see docs/demo-data.md."""
    from data.demo import demo_data

    if delete:
        counts = demo_data.delete_demo_data()
        click.echo("demo data deleted: " + " ".join(f"{k}={v}" for k, v in counts.items()))
        return
    if if_empty and demo_data.has_calls():
        click.echo("the database already holds calls: no demo data loaded")
        return
    progress = TerminalProgress(None)
    try:
        summary = demo_data.load_demo_data(days, calls_per_day, seed, progress=progress)
    finally:
        progress.close()
    click.echo(f"demo data (labelled demo): {summary.rows_read} calls over {days} days, import {summary.import_id}")
    click.echo("demo customers (username / password / accountcodes):")
    for customer in demo_data.CUSTOMERS:
        click.echo(f"  {customer.username} / {customer.password} / {', '.join(customer.accountcodes)}")
    click.echo(summary.line())


@click.command("collect")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
def collect_command(config):
    """Read the new CDRs of a switch's own store, with a CDR-Pusher config file (cdr-pusher.yaml)."""
    from pathlib import Path

    from data.ingest.collectors import CollectorError, collect

    try:
        summary = collect(Path(config))
    except CollectorError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{summary.rows_read} rows read from {config} (import {summary.import_id})")
    print_rejects(summary)
    click.echo(summary.line())


@click.command("delete-cdrs")
@click.option("--from", "first_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First UTC day.")
@click.option("--to", "last_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last UTC day (included).")
@click.option("--switch", default=None, help="Only this switch (name or IP).")
@click.option("--customer", default=None, help="Only this customer (username).")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted, delete nothing.")
def delete_cdrs(first_day, last_day, switch, customer, dry_run):
    """Delete calls with their keys and rollup sums in one transaction: importing them again stores them again."""
    from data.ingest.delete import DeleteError, delete_calls

    try:
        deleted = delete_calls(first_day.date(), last_day.date(), switch, customer, dry_run)
    except DeleteError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(deleted.line())


COMMANDS = [import_cdr, switch_key, demo_data_command, collect_command, delete_cdrs]
