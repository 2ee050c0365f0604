from data.admin import password_reset, sessions
from data.admin.housekeeping import take_db_snapshot


def run() -> dict:
    snapshot = take_db_snapshot()
    purged = {"sessions_ended": sessions.purge_expired(), "reset_links_purged": password_reset.purge_expired()}
    return {**snapshot, **purged}
