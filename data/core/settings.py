"""Every setting Dialstat reads from the environment, in one place.

Nothing else reads ``os.environ``: code receives a ``Settings`` object (``load_settings()``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _env_list(name: str, default: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in (_env(name, default) or "").split(",") if p.strip())


@dataclass(frozen=True)
class NumberPlan:
    """CDR-Stats' phone number normalisation settings, with its defaults."""

    prefix_to_ignore: tuple[str, ...] = ("+", "0", "00", "000", "0000", "00000", "011", "55555", "99999")
    pn_min_digits: int = 6
    pn_max_digits: int = 9
    local_dialcode: str = "1"
    prefix_limit_min: int = 2
    prefix_limit_max: int = 5
    # Dialstat's additions (docs/ingestion.md): ignored prefixes that mean "dialled abroad", and dial
    # patterns (Asterisk style: 9XXX, 2[0-4]XX) of numbers that are internal whatever their length.
    international_prefixes: tuple[str, ...] = ("00", "011")
    internal_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpsSettings:
    """Running in production: security, logging, the scheduler's test job (docs/administration.md)."""

    login_rate_limit: str = "10 per minute"  # LOGIN_RATE_LIMIT: failed logins per client address
    lockout_failures: int = 5  # LOCKOUT_FAILURES: failed logins in a row that lock a username ...
    lockout_minutes: int = 15  # LOCKOUT_MINUTES: ... for this long
    ratelimit_storage_uri: str = "memory://"  # RATELIMIT_STORAGE_URI (Flask-Limiter storage)
    trusted_proxies: int = 0  # TRUSTED_PROXIES: reverse proxies in front whose X-Forwarded-* are trusted
    public_url: str | None = None  # PUBLIC_URL: the site's address, for links in e-mails
    # ALLOWED_HOSTS: Host headers answered (others get 400); ".example.com" also allows its subdomains
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
    session_idle_minutes: int = 120  # SESSION_IDLE_MINUTES: a session unused this long ends
    session_max_hours: int = 168  # SESSION_MAX_HOURS: a session ends this long after its login, used or not
    export_max_seconds: int = 3600  # EXPORT_MAX_SECONDS: an export stops after this long, its query cancelled (0: none)
    export_max_bytes: int = 20_000_000_000  # EXPORT_MAX_BYTES: ... or past this size (0: none)
    password_reset_minutes: int = 60  # PASSWORD_RESET_MINUTES: lifetime of a reset link
    log_level: str = "INFO"  # LOG_LEVEL
    scheduler_test_job_seconds: int = 0  # SCHEDULER_TEST_JOB_SECONDS: > 0 adds a no-op job (tests)
    report_cache_seconds: int = 0  # REPORT_CACHE_SECONDS: report results kept per scope and filter (make serve: 5)


def _ops_settings() -> OpsSettings:
    return OpsSettings(
        login_rate_limit=_env("LOGIN_RATE_LIMIT", OpsSettings.login_rate_limit),
        lockout_failures=_env_int("LOCKOUT_FAILURES", OpsSettings.lockout_failures),
        lockout_minutes=_env_int("LOCKOUT_MINUTES", OpsSettings.lockout_minutes),
        ratelimit_storage_uri=_env("RATELIMIT_STORAGE_URI", OpsSettings.ratelimit_storage_uri),
        trusted_proxies=_env_int("TRUSTED_PROXIES", 0),
        public_url=_env("PUBLIC_URL"),
        allowed_hosts=_env_list("ALLOWED_HOSTS", ",".join(OpsSettings.allowed_hosts)),
        session_idle_minutes=_env_int("SESSION_IDLE_MINUTES", OpsSettings.session_idle_minutes),
        session_max_hours=_env_int("SESSION_MAX_HOURS", OpsSettings.session_max_hours),
        export_max_seconds=_env_int("EXPORT_MAX_SECONDS", OpsSettings.export_max_seconds),
        export_max_bytes=_env_int("EXPORT_MAX_BYTES", OpsSettings.export_max_bytes),
        password_reset_minutes=_env_int("PASSWORD_RESET_MINUTES", OpsSettings.password_reset_minutes),
        log_level=(_env("LOG_LEVEL", "INFO") or "INFO").upper(),
        scheduler_test_job_seconds=_env_int("SCHEDULER_TEST_JOB_SECONDS", 0),
        report_cache_seconds=_env_int("REPORT_CACHE_SECONDS", OpsSettings.report_cache_seconds),
    )


@dataclass(frozen=True)
class Retention:
    """How long stored data is kept (docs/administration.md, *Retention*); 0 keeps it for ever."""

    cdr_months: int = 0  # CDR_RETENTION_MONTHS: raw calls, whole monthly partitions, archived before dropping
    rollup_months: int = 0  # ROLLUP_RETENTION_MONTHS: the hour and day rollups (longer than the calls)
    reject_days: int = 90  # REJECT_RETENTION_DAYS: rejected records of imports
    import_days: int = 400  # IMPORT_RETENTION_DAYS: import bookkeeping (batches, pushed-file rows)
    archive_dir: Path | None = None  # ARCHIVE_DIR: where the monthly archives go (var/archive)


def _retention(var_dir: Path) -> Retention:
    kept = Retention(
        cdr_months=_env_int("CDR_RETENTION_MONTHS", 0),
        rollup_months=_env_int("ROLLUP_RETENTION_MONTHS", 0),
        reject_days=_env_int("REJECT_RETENTION_DAYS", Retention.reject_days),
        import_days=_env_int("IMPORT_RETENTION_DAYS", Retention.import_days),
        archive_dir=Path(_env("ARCHIVE_DIR", str(var_dir / "archive"))),
    )
    if kept.rollup_months and kept.cdr_months and kept.rollup_months < kept.cdr_months:
        raise ValueError("ROLLUP_RETENTION_MONTHS must be 0 (for ever) or at least CDR_RETENTION_MONTHS")
    return kept


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    var_dir: Path
    secret_key: str
    admin_user: str
    admin_password: str | None
    scheduler: str  # "embedded" (in the web process) or "off"
    import_dir: Path
    export_dir: Path
    default_timezone: str
    short_call_seconds: int
    rollup_minute_days: int
    secure_cookies: bool
    number_plan: NumberPlan = field(default_factory=NumberPlan)
    mail: dict = field(default_factory=dict)
    rating_decimals: int = 5  # RATING_DECIMALS: call costs rounded half-up to this many places (0..5)
    ops: OpsSettings = field(default_factory=OpsSettings)
    export_default_tenant: str = "cgrates.org"  # EXPORT_DEFAULT_TENANT: CGRateS tenant of customers without one
    collector_dir: Path | None = None  # COLLECTOR_DIR: CDR-Pusher style *.yaml configs the collect job runs
    embedded_db_listen: str = ""  # EMBEDDED_DB_LISTEN: host:port where the embedded database also listens
    read_database_url: str | None = None  # READ_DATABASE_URL: read replicas (one URL or several) for the reports
    retention: Retention = field(default_factory=lambda: Retention())

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"


def _secret_key(var_dir: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/."""
    key = _env("SECRET_KEY")
    if key:
        return key
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load_settings() -> Settings:
    var_dir = Path(_env("DIALSTAT_VAR_DIR", str(ROOT / "var"))).resolve()
    plan = NumberPlan(
        prefix_to_ignore=_env_list("PREFIX_TO_IGNORE", ",".join(NumberPlan.prefix_to_ignore)),
        pn_min_digits=_env_int("PN_MIN_DIGITS", 6),
        pn_max_digits=_env_int("PN_MAX_DIGITS", 9),
        local_dialcode=_env("LOCAL_DIALCODE", "1"),
        prefix_limit_min=_env_int("PREFIX_LIMIT_MIN", 2),
        prefix_limit_max=_env_int("PREFIX_LIMIT_MAX", 5),
        international_prefixes=_env_list("INTERNATIONAL_PREFIXES", ",".join(NumberPlan.international_prefixes)),
        internal_patterns=_env_list("INTERNAL_PATTERNS", ""),
    )
    mail = {
        "MAIL_SERVER": _env("MAIL_SERVER", "localhost"),
        "MAIL_PORT": _env_int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _env_bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": _env("MAIL_USERNAME"),
        "MAIL_PASSWORD": _env("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": _env("MAIL_DEFAULT_SENDER", "dialstat@localhost"),
        "MAIL_SUBJECT_PREFIX": _env("MAIL_SUBJECT_PREFIX", "[Dialstat] "),
        "MAIL_TIMEOUT": _env_int("MAIL_TIMEOUT", 10),
    }
    return Settings(
        database_url=_env("DATABASE_URL"),
        var_dir=var_dir,
        secret_key=_secret_key(var_dir),
        admin_user=_env("ADMIN_USER", "admin"),
        admin_password=_env("ADMIN_PASSWORD"),
        scheduler=_env("SCHEDULER", "embedded"),
        import_dir=Path(_env("IMPORT_DIR", str(var_dir / "import"))),
        export_dir=Path(_env("EXPORT_DIR", str(var_dir / "export"))),
        default_timezone=_env("DEFAULT_TIMEZONE", "UTC"),
        short_call_seconds=_env_int("SHORT_CALL_SECONDS", 6),
        rollup_minute_days=_env_int("ROLLUP_MINUTE_DAYS", 8),
        secure_cookies=_env_bool("SECURE_COOKIES", False),
        number_plan=plan,
        mail=mail,
        rating_decimals=_env_int("RATING_DECIMALS", 5),
        ops=_ops_settings(),
        export_default_tenant=_env("EXPORT_DEFAULT_TENANT", "cgrates.org"),
        collector_dir=Path(_env("COLLECTOR_DIR", str(var_dir / "collectors"))),
        embedded_db_listen=_env("EMBEDDED_DB_LISTEN", "") or "",
        read_database_url=_env("READ_DATABASE_URL"),
        retention=_retention(var_dir),
    )
