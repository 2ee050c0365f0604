"""Mailed reports: what goes in them, who gets them, and when.

A report covers a closed period in the user's time zone: ``daily`` the previous local day, ``weekly``
the previous ISO week (Monday to Sunday), ``monthly`` the previous calendar month. It holds the
totals (calls, minutes, ASR, ACD, cost) compared with two earlier periods, the call status and hangup
cause breakdown, the top 5 countries, the traffic chart, the last 10 calls and, for admins, one row per
customer. A customer's report holds only their traffic (``Scope``); an admin's holds everything.

Money: a customer sees what they are charged (the sell cost) as "Cost"; an admin sees the buy cost as
"Cost", the sell cost as "Revenue", and the margin.

Recipients are the user's own address plus their "emails to send a report". Which reports a user gets
is in ``mail_schedule``; without a row the daily report is on, weekly and monthly off.

``dispatch_reports`` (the ``mail-reports`` job) queues, after 06:00 local time, the report of every
enabled schedule whose period has closed, with the outbox key ``report:{user}:{kind}:{period start}``:
one mail per user, report and period, however many processes run it and however often.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date
from sqlalchemy import text

from data.core import db, mailer
from data.core.i18n import N_, country_name, current_language, gettext, locale_of, speaking, with_country_names
from data.core.kpis import Totals
from data.core.report_filter import ReportFilter, report_where
from data.core.rollups import MEASURES
from data.core.scope import Scope
from data.reports.traffic import breakdown, hourly_series, top_with_other, totals, traffic_by_time

log = logging.getLogger("dialstat.mail")

KINDS = ("daily", "weekly", "monthly")
SEND_AFTER = time(6, 0)  # local time from which the report of the closed period is sent
CHART_CID = "traffic-chart@dialstat"
MANUAL_SEND_SECONDS = 60  # "send now": at most one mail per user, report and period in this many seconds
STATUS_OF_CLASS = {  # translated where they are shown
    "ANSWERED_OR_NORMAL": N_("Not answered, normal clearing"),
    "BUSY": N_("Busy"),
    "NO_ANSWER": N_("No answer"),
    "REJECTED": N_("Rejected"),
    "CALLER_CANCEL": N_("Cancelled by the caller"),
    "NUMBER_ERROR": N_("Number error"),
    "NETWORK_FAILURE": N_("Network failure / congestion"),
    "OTHER": N_("Other"),
}


# --- periods --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str
    first: date
    last: date

    @property
    def label(self) -> str:
        """The period in words, in the current language (a daily report: the weekday and the date)."""
        locale = locale_of(current_language())
        if self.kind == "daily":
            return f"{format_date(self.first, 'EEEE', locale=locale)} {self.first.isoformat()}"
        if self.kind == "weekly":
            year, week, _ = self.first.isocalendar()
            span = f"{self.first.isoformat()} – {self.last.isoformat()}"
            return gettext("week %(week)s of %(year)s (%(span)s)", week=week, year=year, span=span)
        return format_date(self.first, "LLLL y", locale=locale)

    @property
    def short(self) -> str:
        if self.kind == "daily":
            return self.first.isoformat()
        if self.kind == "weekly":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first:%Y-%m}"

    def comparisons(self) -> list[tuple[str, Period]]:
        """The two periods a report compares with."""
        if self.kind == "daily":
            return [
                (N_("Day before"), period_containing("daily", self.first - timedelta(days=1))),
                (N_("Same day last week"), period_containing("daily", self.first - timedelta(days=7))),
            ]
        if self.kind == "weekly":
            return [
                (N_("Week before"), period_containing("weekly", self.first - timedelta(days=7))),
                (N_("Same week last year"), period_containing("weekly", self.first - timedelta(weeks=52))),
            ]
        return [
            (N_("Month before"), period_containing("monthly", self.first - timedelta(days=1))),
            (N_("Same month last year"), period_containing("monthly", self.first.replace(year=self.first.year - 1))),
        ]


def period_containing(kind: str, day: date) -> Period:
    if kind == "daily":
        return Period(kind, day, day)
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        return Period(kind, monday, monday + timedelta(days=6))
    if kind == "monthly":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(kind, first, following - timedelta(days=1))
    raise ValueError(f"report kind must be one of {', '.join(KINDS)}, not {kind!r}")


def report_period(kind: str, local_today: date) -> Period:
    """The last closed period on ``local_today``: yesterday, last week or last month."""
    if kind == "daily":
        return period_containing(kind, local_today - timedelta(days=1))
    if kind == "weekly":
        return period_containing(kind, local_today - timedelta(days=local_today.weekday() + 1))
    return period_containing(kind, local_today.replace(day=1) - timedelta(days=1))


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(tz: str, now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(zone_of(tz)).date()


# --- users, recipients, schedules -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportUser:
    id: int
    username: str
    role: str
    timezone: str
    email: str | None
    report_emails: tuple[str, ...] = ()
    language: str | None = None  # the reports' language; None: English (a mail has no browser to ask)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def scope(self) -> Scope:
        return Scope(user_id=None if self.is_admin else self.id, timezone=zone_of(self.timezone).key)

    @property
    def recipients(self) -> list[str]:
        return mailer.parse_addresses([self.email or "", *self.report_emails])[0]


_USER_COLUMNS = "u.id, u.username, u.role, u.timezone, u.email, u.report_emails, u.language"


def _user(row: dict) -> ReportUser:
    return ReportUser(**{**row, "report_emails": tuple(row["report_emails"] or ())})


def report_user(user_id: int) -> ReportUser | None:
    found = db.rows(f"SELECT {_USER_COLUMNS} FROM app_user u WHERE u.id = :id", id=user_id)
    return _user(found[0]) if found else None


def report_user_by_name(username: str) -> ReportUser | None:
    found = db.rows(f"SELECT {_USER_COLUMNS} FROM app_user u WHERE u.username = :u", u=username)
    return _user(found[0]) if found else None


def schedules_of(user_id: int) -> dict[str, bool]:
    """Which reports the user receives (daily on unless turned off; weekly and monthly off unless on)."""
    found = {
        r["kind"]: r["enabled"]
        for r in db.rows("SELECT kind, enabled FROM mail_schedule WHERE user_id = :id", id=user_id)
    }
    return {kind: found.get(kind, kind == "daily") for kind in KINDS}


def save_mail_settings(user_id: int, report_emails: Iterable[str], enabled_kinds: Iterable[str]) -> list[str]:
    """Store the user's extra report addresses and schedules; returns the addresses stored.

    Raises ValueError naming the invalid addresses (nothing is stored then).
    """
    valid, invalid = mailer.parse_addresses(list(report_emails))
    if invalid:
        raise ValueError(f"not an e-mail address: {', '.join(invalid)}")
    if len(valid) > 20:
        raise ValueError("at most 20 addresses")
    enabled = set(enabled_kinds or ())
    with db.transaction() as conn:
        conn.execute(
            text("UPDATE app_user SET report_emails = :emails WHERE id = :id"), {"emails": valid, "id": user_id}
        )
        for kind in KINDS:
            conn.execute(
                text("""INSERT INTO mail_schedule (user_id, kind, enabled) VALUES (:id, :kind, :on)
                                 ON CONFLICT (user_id, kind) DO UPDATE SET enabled = excluded.enabled,
                                     updated_at = now()"""),
                {"id": user_id, "kind": kind, "on": kind in enabled},
            )
    return valid


# --- the report's data ----------------------------------------------------------------------------------


@dataclass
class ReportData:
    user: ReportUser
    period: Period
    totals: Totals
    comparisons: list[tuple[str, Period, Totals]]
    statuses: list[dict]
    causes: list[dict]
    countries: list[dict]
    customers: list[dict] | None
    traffic: list[dict]  # label, attempts, answered, billsec_sum: one row per hour (daily) or day
    last_calls: list[dict]
    traffic_unit: str = "hour"
    extra: dict = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin

    @property
    def timezone(self) -> str:
        return self.user.scope.timezone


def period_filter(period: Period, tz: str) -> ReportFilter:
    return ReportFilter.for_days(period.first, period.last, tz)


def hangup_classes() -> dict[int, str]:
    return {r["code"]: r["class"].split("(")[0].strip() for r in db.rows("SELECT code, class FROM hangup_cause")}


def call_statuses(cause_rows: list[dict], classes: dict[int, str]) -> list[dict]:
    """Calls by status: answered, then the unanswered by the class of their hangup cause."""
    total = sum(r["attempts"] or 0 for r in cause_rows)
    answered = sum(r["answered"] or 0 for r in cause_rows)
    counts: dict[str, int] = {}
    for row in cause_rows:
        unanswered = (row["attempts"] or 0) - (row["answered"] or 0)
        if unanswered:
            label = STATUS_OF_CLASS.get(classes.get(row["code"], "OTHER"), STATUS_OF_CLASS["OTHER"])
            counts[label] = counts.get(label, 0) + unanswered
    rows = [{"label": N_("Answered"), "calls": answered}] if answered else []
    rows += [{"label": label, "calls": calls} for label, calls in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]
    for row in rows:
        row["share"] = row["calls"] / total if total else None
    return rows


def last_calls(scope: Scope, f: ReportFilter, limit: int = 10) -> list[dict]:
    condition, params = report_where(scope, f, alias="c", time_column="starting_date")
    rows = db.rows(
        f"""SELECT c.starting_date AT TIME ZONE :tz AS start, c.caller_id_number AS caller,
                   c.destination_number AS destination, COALESCE(co.name, c.country_code) AS country, c.country_code,
                   c.duration, c.billsec, c.hangup_cause_id AS cause_code, h.name AS cause,
                   c.buy_cost, c.sell_cost, u.username AS customer, c.accountcode
            FROM cdr c LEFT JOIN hangup_cause h ON h.code = c.hangup_cause_id
                 LEFT JOIN country co ON co.code = c.country_code LEFT JOIN app_user u ON u.id = c.user_id
            WHERE {condition}
            ORDER BY c.starting_date DESC, c.id DESC LIMIT :limit""",
        limit=limit,
        **params,
    )
    language = current_language()
    return [{**row, "country": country_name(row.pop("country_code"), row["country"], language)} for row in rows]


def traffic_rows(scope: Scope, period: Period) -> tuple[list[dict], str]:
    """Calls per local hour (a daily report: 00–23, 23 or 25 hours on DST days) or per day, gaps as zeros."""
    if period.kind == "daily":  # every hour that happened: 25 on the day clocks go back, 23 when they go forward
        rows = hourly_series(scope, period_filter(period, scope.timezone))
        return [{"label": r["label"], **{m: r.get(m) or 0 for m in MEASURES}} for r in rows], "hour"
    found: dict[date, dict] = {}
    for r in traffic_by_time(scope, period_filter(period, scope.timezone), unit="day"):
        agg = found.setdefault(r["period"].date(), dict.fromkeys(MEASURES, 0))
        for m in MEASURES:
            agg[m] += r.get(m) or 0
    rows, day = [], period.first
    while day <= period.last:
        rows.append(
            {
                "label": day.strftime("%d")
                if period.kind == "monthly"
                else format_date(day, "EEE dd", locale=locale_of(current_language())),
                **found.get(day, dict.fromkeys(MEASURES, 0)),
            }
        )
        day += timedelta(days=1)
    return rows, "day"


@db.reading
def report_data(user: ReportUser, period: Period) -> ReportData:
    scope = user.scope
    f = period_filter(period, scope.timezone)
    cause_rows = breakdown(scope, f, "hangup_cause")
    traffic, unit = traffic_rows(scope, period)
    return ReportData(
        user=user,
        period=period,
        totals=totals(scope, f),
        comparisons=[
            (label, other, totals(scope, period_filter(other, scope.timezone))) for label, other in period.comparisons()
        ],
        statuses=call_statuses(cause_rows, hangup_classes()),
        causes=top_with_other(cause_rows, "attempts", top=10),
        countries=with_country_names(breakdown(scope, f, "country", limit=5)),
        customers=breakdown(scope, f, "customer", order_by="attempts") if scope.is_admin else None,
        traffic=traffic,
        traffic_unit=unit,
        last_calls=last_calls(scope, f),
    )


# --- composing and sending ------------------------------------------------------------------------------


@dataclass
class MailReport:
    data: ReportData
    subject: str
    html: str  # as mailed: the chart is ``cid:CHART_CID``
    text: str
    csv_name: str
    csv: bytes
    chart_png: bytes | None

    def preview_html(self) -> str:
        """The mailed HTML with the chart inlined as a data: URI (for the browser)."""
        from data.mail.render import render_html

        src = f"data:image/png;base64,{base64.b64encode(self.chart_png).decode()}" if self.chart_png else None
        with speaking(self.data.user.language):  # the page shows the mail as its recipient reads it
            return render_html(self.data, src)

    @property
    def attachments(self) -> list[tuple[str, str, bytes]]:
        return [(self.csv_name, "text/csv", self.csv)]

    @property
    def inline_images(self) -> list[tuple[str, str, bytes]]:
        return [(CHART_CID, "image/png", self.chart_png)] if self.chart_png else []


def compose(data: ReportData) -> MailReport:
    from data.mail.render import render_chart_png, render_csv, render_html, render_text, title

    try:
        chart = render_chart_png(data)
    except Exception:  # the report goes out without its chart
        log.exception("traffic chart of %s's %s report could not be drawn", data.user.username, data.period.kind)
        chart = None
    who = gettext("all customers") if data.is_admin else data.user.username
    return MailReport(
        data=data,
        subject=f"{title(data)} {data.period.short} ({who})",
        html=render_html(data, f"cid:{CHART_CID}" if chart else None),
        text=render_text(data),
        csv_name=f"dialstat-{data.period.kind}-{data.period.short}-{data.user.username}.csv",
        csv=render_csv(data),
        chart_png=chart,
    )


def build_report(user: ReportUser, kind: str = "daily", day: date | None = None) -> MailReport:
    """The report of ``user`` for the period of ``kind`` containing ``day`` (default: the last closed one)."""
    period = period_containing(kind, day) if day else report_period(kind, local_today(user.timezone))
    with speaking(user.language):
        return compose(report_data(user, period))


def queue_report(user: ReportUser, report: MailReport, dedup_key: str | None = None) -> int | None:
    recipients = user.recipients
    if not recipients:
        raise ValueError(f"{user.username} has no e-mail address to send a report to")
    return mailer.queue_mail(
        recipients,
        report.subject,
        report.text,
        report.html,
        attachments=report.attachments,
        inline_images=report.inline_images,
        dedup_key=dedup_key,
    )


def send_report_now(user: ReportUser, kind: str = "daily", day: date | None = None, flood_control: bool = True) -> dict:
    """Build and queue ``user``'s report now (the page's "send now", the shell command); returns its state.

    With ``flood_control`` a second request for the same report within a minute queues nothing.
    """
    report = build_report(user, kind, day)
    key = None
    if flood_control:
        slot = int(datetime.now(timezone.utc).timestamp()) // MANUAL_SEND_SECONDS
        key = f"manual:{user.id}:{kind}:{report.data.period.first.isoformat()}:{slot}"
    outbox_id = queue_report(user, report, key)
    state = message_state(outbox_id) if outbox_id else None
    return {
        "id": outbox_id,
        "recipients": user.recipients,
        "period": report.data.period,
        "state": state,
        "subject": report.subject,
    }


def message_state(outbox_id: int) -> dict | None:
    found = db.rows(
        "SELECT sent_at, attempts, last_error, smtp_reply, next_attempt_at FROM mail_outbox WHERE id = :id",
        id=outbox_id,
    )
    return found[0] if found else None


# --- the scheduled reports ------------------------------------------------------------------------------


def report_key(user_id: int, kind: str, period: Period) -> str:
    return f"report:{user_id}:{kind}:{period.first.isoformat()}"


def due_reports(now: datetime | None = None) -> list[tuple[ReportUser, Period, str]]:
    """(user, period, outbox key) of every enabled schedule whose period closed and is not queued yet."""
    now = now or datetime.now(timezone.utc)
    candidates = []
    for row in db.rows(
        f"""SELECT {_USER_COLUMNS}, k.kind
            FROM app_user u CROSS JOIN unnest(CAST(:kinds AS text[])) AS k(kind)
                 LEFT JOIN mail_schedule s ON s.user_id = u.id AND s.kind = k.kind
            WHERE u.is_active AND COALESCE(s.enabled, k.kind = 'daily')
              AND (u.email IS NOT NULL OR cardinality(u.report_emails) > 0)
            ORDER BY u.id, k.kind""",
        kinds=list(KINDS),
    ):
        kind = row.pop("kind")
        user = _user(row)
        local = now.astimezone(zone_of(user.timezone))
        if local.time() < SEND_AFTER or not user.recipients:
            continue
        period = report_period(kind, local.date())
        candidates.append((user, period, report_key(user.id, kind, period)))
    if not candidates:
        return []
    queued = {
        r["dedup_key"]
        for r in db.rows(
            "SELECT dedup_key FROM mail_outbox WHERE dedup_key = ANY(:keys)", keys=[key for _, _, key in candidates]
        )
    }
    return [c for c in candidates if c[2] not in queued]


def dispatch_reports(now: datetime | None = None) -> dict:
    """Queue every due scheduled report (the ``mail-reports`` job). A second process queues nothing twice.

    One user's failure does not stop the others; the job fails at the end, naming them.
    """
    queued, skipped, errors = 0, 0, []
    for user, period, key in due_reports(now):
        try:
            with speaking(user.language):
                report = compose(report_data(user, period))
            if queue_report(user, report, dedup_key=key) is None:
                skipped += 1  # another process queued it meanwhile
            else:
                queued += 1
        except Exception as exc:
            log.exception("%s report of %s for %s failed", period.kind, user.username, period.short)
            errors.append(f"{user.username} {period.kind} {period.short}: {type(exc).__name__}: {exc}")
    if errors:
        raise RuntimeError(f"{len(errors)} report(s) could not be queued ({queued} queued):\n" + "\n".join(errors))
    return {"queued": queued, "already_queued": skipped}
