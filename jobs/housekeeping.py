from data.admin.housekeeping import take_db_snapshot


def run() -> dict:
    return take_db_snapshot()
