"""Every change of owner moves the rollup sums in the same transaction.

The defect (issue 16): ``create-user NAME --accountcode CODE`` for a code whose calls were stored gave
the calls to the new customer but left every rollup level under the old owner. A Hypothesis property
test runs random sequences of imports, new customers (admin page and shell command), accountcode
changes, re-ratings and deletions, and after each step compares every rollup level with a rebuild
from ``cdr`` (``tests.test_admin._rollups_equal_a_rebuild``).
"""

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.admin import accounts, users
from data.core import db
from data.core.rollups import KEYS
from data.ingest import import_file
from data.ingest.fields import CDR_STATS_FIELDS
from data.rating import rates
from data.rating.rater import rerate
from tests.rating_setup import ADMIN as ADMIN_SCOPE
from tests.test_admin import ADMIN, NOW, _rollups_equal_a_rebuild

CODES = ("c1", "c2", "c3", "c4")
NUMBERS = ("+34650104877", "+447700900123", "12", "+12125550100")


def _import(tmp_dir, step: int, code: str, calls: int) -> None:
    lines = [",".join(CDR_STATS_FIELDS)]
    for n in range(calls):
        start = NOW - timedelta(hours=1 + n % 7, minutes=7 * n % 60)
        billsec = (0, 12, 75)[n % 3]
        lines.append(
            f"10.9.0.1,1,own-{step}-{n}-{code},900,C,{NUMBERS[n % len(NUMBERS)]},,,,{start:%Y-%m-%d %H:%M:%S},"
            f"{billsec + 4},{billsec},,,,{16 if billsec else 17},,2,,{code},,,,,{{}}"
        )
    path = tmp_dir / f"own-{step}.csv"
    path.write_text("\n".join(lines) + "\n")
    assert import_file(path).line().startswith(f"accepted={calls} ")


def _customers() -> list[int]:
    return [r["id"] for r in db.rows("SELECT id FROM app_user WHERE role = 'customer' ORDER BY id")]


def _reset() -> None:
    tables = ", ".join(KEYS)
    with db.transaction() as conn:
        conn.exec_driver_sql(f"TRUNCATE cdr, cdr_call_key, import_batch, {tables} CASCADE")
        conn.exec_driver_sql("DELETE FROM app_user WHERE role = 'customer'")


STEP = st.one_of(
    st.tuples(st.just("import"), st.sampled_from(CODES), st.integers(1, 12)),
    st.tuples(st.just("create"), st.sets(st.sampled_from(CODES), max_size=2), st.booleans()),
    st.tuples(st.just("codes"), st.integers(0, 3), st.sets(st.sampled_from(CODES), max_size=3)),
    st.tuples(st.just("plan"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 3)),
)


def test_the_new_customer_of_stored_calls_gets_their_sums_from_the_shell_command(app, tmp_path):
    _reset()
    _import(tmp_path, 0, "c1", 5)
    users.create_user("shell-made", "pass-word-1", "customer", accountcodes=("c1",))
    owner = db.scalar("SELECT id FROM app_user WHERE username = 'shell-made'")
    assert db.scalar("SELECT sum(attempts) FROM cdr_rollup_hour WHERE user_id = :u", u=owner) == 5
    _rollups_equal_a_rebuild()


def test_a_deleted_customer_leaves_its_calls_and_sums_with_no_customer(app, tmp_path):
    _reset()
    _import(tmp_path, 0, "c2", 4)
    owner = accounts.create_user(ADMIN, username="leaving", password="pass-word-1", accountcodes="c2")
    assert accounts.delete_customer(ADMIN, owner) == {"moved_calls": 4}
    assert db.scalar("SELECT count(*) FROM cdr WHERE user_id IS NULL AND accountcode = 'c2'") == 4
    assert db.scalar("SELECT sum(attempts) FROM cdr_rollup_hour WHERE user_id = :u", u=owner) is None
    _rollups_equal_a_rebuild()


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(STEP, min_size=2, max_size=6))
def test_every_rollup_level_equals_a_rebuild_after_each_change_of_owner(app, tmp_path_factory, steps):
    _reset()
    tmp_dir = tmp_path_factory.mktemp("own")
    plan = db.scalar("SELECT id FROM voip_plan ORDER BY id LIMIT 1") or rates.create_voip_plan(
        ADMIN_SCOPE, "ownership", []
    )
    for number, step in enumerate(steps):
        customers = _customers()
        kind = step[0]
        if kind == "import":
            _import(tmp_dir, number, step[1], step[2])
        elif kind == "create":
            taken = {r["accountcode"] for r in db.rows("SELECT accountcode FROM user_accountcode")}
            codes = sorted(step[1] - taken)
            name = f"owner{number}"
            if step[2]:
                accounts.create_user(ADMIN, username=name, password="pass-word-1", accountcodes=codes)
            else:  # the shell command's path
                users.create_user(name, "pass-word-1", "customer", accountcodes=tuple(codes))
        elif kind == "codes" and customers:
            accounts.update_user(ADMIN, customers[step[1] % len(customers)], accountcodes=sorted(step[2]))
        elif kind == "plan" and customers:
            rates.assign_voip_plan(ADMIN_SCOPE, customers[step[1] % len(customers)], plan if step[2] else None)
            rerate(NOW.date() - timedelta(days=1), NOW.date())
        elif kind == "delete" and customers:
            accounts.delete_customer(ADMIN, customers[step[1] % len(customers)])
        if db.scalar("SELECT count(*) FROM cdr"):
            _rollups_equal_a_rebuild()
