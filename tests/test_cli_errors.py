"""Shell commands answer bad input with one line (``Error: ...``, exit status 1), never a traceback: e.g.
``create-user --accountcode`` with a code another customer owns ended in a raw IntegrityError traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from data.admin import users

BAD_INPUTS = [
    (["create-user", "ann-cli", "--password", "pw-000001", "--accountcode", "owned-1"], "owned-1"),
    (["create-user", "owner-cli", "--password", "pw-000001"], "is taken"),
    (["create-user", "x-cli", "--password", "pw-000001", "--timezone", "Mars/Olympus"], "unknown time zone"),
    (["test-alarm", "999999"], None),
    (["switch-key", "no-such-switch"], None),
    (["export-cdrs", "--template", "no-such-template"], "no-such-template"),
    (["export-cdrs", "--from", "yesterday-ish"], None),
    (["export-cdrs", "--reexport", "999999"], None),
    (["rerate", "--from", "2026-01-02", "--to", "2026-01-01", "--customer", "nobody-here"], None),
    (["run-job", "no-such-job"], None),
    (["send-daily-report", "--user", "nobody-here"], None),
]


@pytest.fixture(scope="module")
def owner(app):
    return users.create_user("owner-cli", "pw-000001", "customer", accountcodes=("owned-1",))


@pytest.mark.parametrize(("args", "mentions"), BAD_INPUTS, ids=[" ".join(a[:2]) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_and_no_traceback(app, owner, args, mentions):
    result = app.test_cli_runner().invoke(args=args)
    output = result.output.strip()
    assert "Traceback" not in output
    if result.exit_code == 0:  # some are not errors (nothing to do): then nothing went wrong either
        assert args[0] != "create-user", output
        return
    assert isinstance(result.exception, SystemExit), (output, result.exception)
    if result.exit_code == 2:  # click's own usage error: the usage, then one error line
        assert output.splitlines()[-1].startswith("Error: "), output
    else:
        assert result.exit_code == 1 and output.startswith("Error: ") and len(output.splitlines()) == 1, output
    if mentions:
        assert mentions in output


def test_a_real_shell_prints_one_line(app, owner):
    """The same through ``flask`` in its own process, as an admin would type it."""
    env = {**os.environ, "SCHEDULER": "off"}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "create-user", "bea-cli", "--password", "pw-000001"]
        + ["--accountcode", "owned-1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "Error: accountcode already owned: 'owned-1' (owned by 'owner-cli')"
    assert users.get_user_by_name("bea-cli") is None
