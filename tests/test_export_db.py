"""CDR exports through the database: the reference sample end to end, SQL rendering against the Python writer,
templates validated at save time, masking, preview, files, the history and the shell command."""

import hashlib
import io
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from data.core import db
from data.export import CGR_CSV_TEMPLATE, cdr_query, exporter, library, load_cdre_profile
from data.export.compiled import RowAccess
from data.export.formats import _ExportWriter
from data.export.sqlrender import sql_rendering
from data.export.templates import TemplateError
from tests.cdr_factory import AWKWARD_TEXTS, ensure_switch, insert_calls

UTC = timezone.utc
SAMPLE_LINE = (  # the reference page's sample export line
    "dbafe9c8614c785a65aabd116dd3959c3c56f7f6,default,*voice,dsafdsaf,rated,*out,cgrates.org,call,"
    "1001,1001,1002,2013-11-07T08:42:25Z,2013-11-07T08:42:26Z,10000000000,1.0100\n"
)
SETUP = datetime(2013, 11, 7, 8, 42, 25, tzinfo=UTC)


def sample_cdr(switch_id: int, user_id: int | None, **overrides) -> dict:
    row = {
        "switch_id": switch_id,
        "callid": "dsafdsaf",
        "starting_date": SETUP,
        "answered_date": SETUP + timedelta(seconds=1),
        "duration": 11,
        "billsec": 10,
        "progresssec": 1,
        "hangup_cause_id": 16,
        "direction": 2,
        "cdr_source_type": 3,
        "accountcode": "1001",
        "user_id": user_id,
        "country_code": None,
        "destination_number": "1002",
        "buy_cost": None,
        "sell_cost": Decimal("1.01"),
    }
    row.update(overrides)
    return row


@pytest.fixture(scope="module")
def sample(app):
    from data.admin import users

    customer = users.create_user("cgr-customer", "pass-word-1", "customer", accountcodes=("1001",))
    db.execute("UPDATE app_user SET tenant = 'cgrates.org' WHERE id = :id", id=customer.id)
    switch_id = ensure_switch("cgr-switch", "192.168.1.1")
    insert_calls([sample_cdr(switch_id, customer.id)])
    return {"switch_id": switch_id, "user_id": customer.id}


def export_text(run: exporter.ExportRun) -> tuple[str, object]:
    out = io.StringIO(newline="")
    with db.raw_connection() as conn:
        summary = exporter.stream_export(conn, run, out)
    return out.getvalue(), summary


# --- the reference sample, end to end -------------------------------------------------------------


@pytest.mark.parametrize("sql_rendering", [True, False], ids=["sql", "python"])
def test_reference_sample_line_byte_for_byte_from_the_database(sample, sql_rendering):
    flt = cdr_query.ExportFilter(time_start=SETUP, time_end=SETUP + timedelta(minutes=1))
    run = exporter.ExportRun(CGR_CSV_TEMPLATE, flt, default_tenant="other-tenant", sql_rendering=sql_rendering)
    text, summary = export_text(run)
    assert text == SAMPLE_LINE
    assert summary.exported_cgrids == ["dbafe9c8614c785a65aabd116dd3959c3c56f7f6"]
    assert summary.total_cost == Decimal("1.01") and summary.unexported == {}


def test_reference_sample_to_a_file_recorded_in_the_history(sample):
    run = exporter.adhoc_run(
        CGR_CSV_TEMPLATE, cdr_query.ExportFilter(time_start=SETUP, time_end=SETUP + timedelta(hours=1))
    )
    result = exporter.export_to_file(run, exporter.Actor("ui", "admin", user_id=1), directory="db-tests")
    assert result.path.read_bytes() == SAMPLE_LINE.encode()
    assert result.path.parent == exporter.export_root() / "db-tests"
    assert result.path.name == f"cdrs_{int(run.now.timestamp())}.csv"
    entry = exporter.history_entry(result.history_id)
    assert entry["sha256"] == hashlib.sha256(SAMPLE_LINE.encode()).hexdigest() == result.sha256
    assert (entry["total_records"], entry["total_cost"], entry["actor"], entry["source"]) == (
        1,
        Decimal("1.01"),
        "admin",
        "ui",
    )
    assert entry["finalized"] and entry["time_start"] == SETUP and entry["bytes"] == len(SAMPLE_LINE)
    assert not list(result.path.parent.glob(".*.part"))


def test_a_file_is_never_overwritten(sample):
    run = exporter.adhoc_run(
        CGR_CSV_TEMPLATE, cdr_query.ExportFilter(time_start=SETUP, time_end=SETUP + timedelta(hours=1))
    )
    first = exporter.export_to_file(run, exporter.Actor("ui", "admin"), directory="same-second")
    second = exporter.export_to_file(run, exporter.Actor("ui", "admin"), directory="same-second")
    assert second.path.name == first.path.name.replace(".csv", "_2.csv")
    assert first.path.read_text() == second.path.read_text() == SAMPLE_LINE


def test_unanswered_calls_and_calls_outside_the_interval_are_not_exported(sample):
    switch_id = sample["switch_id"]
    insert_calls(
        [
            sample_cdr(switch_id, None, callid="unanswered", answered_date=None, billsec=0, sell_cost=None),
            sample_cdr(switch_id, None, callid="at-the-end", answered_date=SETUP + timedelta(minutes=1)),
            sample_cdr(switch_id, None, callid="just-before-end", answered_date=SETUP + timedelta(seconds=59)),
        ]
    )
    text, _ = export_text(
        exporter.ExportRun(
            CGR_CSV_TEMPLATE,
            cdr_query.ExportFilter(time_start=SETUP + timedelta(seconds=1), time_end=SETUP + timedelta(minutes=1)),
        )
    )
    assert [line.split(",")[3] for line in text.splitlines()] == ["dsafdsaf", "just-before-end"]  # [start, end)
    everything, _ = export_text(exporter.ExportRun(CGR_CSV_TEMPLATE, cdr_query.ExportFilter()))
    assert "unanswered" not in everything and "at-the-end" in everything


# --- SQL rendering is byte-identical to the Python writer -------------------------------------------


@pytest.fixture(scope="module")
def varied(sample):
    """3,000 CDRs with awkward values, several customers and tenants, switches and source types."""
    from data.admin import users

    rng = random.Random(8)
    tenants = [None, "", "acme,inc", "tenant one", "t2"]
    customers = []
    for number, tenant in enumerate(tenants):
        user = users.create_user(f"varied{number}", "pass-word-1", "customer", accountcodes=(f"acc{number}",))
        db.execute("UPDATE app_user SET tenant = :t WHERE id = :id", t=tenant, id=user.id)
        customers.append((f"acc{number}", user.id))
    customers += [("1001", sample["user_id"]), ("", None), (None, None), ('we"ird,acct', None)]
    switches = [sample["switch_id"], ensure_switch("sw-b", "10.1.2.3"), ensure_switch("sw-c", "fe80::1")]
    base = datetime(2024, 3, 1, tzinfo=UTC)
    calls = []
    for number in range(3000):
        start = base + timedelta(seconds=rng.randrange(86400 * 20), microseconds=rng.choice([0, 0, 500000, 123]))
        accountcode, user_id = rng.choice(customers)
        answered = rng.random() < 0.85
        calls.append(
            sample_cdr(
                rng.choice(switches),
                user_id,
                callid=rng.choice(AWKWARD_TEXTS + [f"call-{number}"] * 10) + str(number),
                starting_date=start,
                answered_date=start + timedelta(seconds=rng.randrange(0, 40)) if answered else None,
                billsec=rng.randrange(1, 4000) if answered else 0,
                direction=rng.choice([1, 2, 2]),
                cdr_source_type=rng.choice([0, 1, 3, 5]),
                accountcode=accountcode,
                destination_number=rng.choice(
                    ["4986517174963", "33612345678", "1002", "+4930123", "", None, "49 30 1234", "12"]
                ),
                sell_cost=rng.choice(
                    [
                        None,
                        Decimal("0"),
                        Decimal("-0.00004"),
                        Decimal("0.00005"),
                        Decimal("1.01"),
                        Decimal(rng.randrange(0, 10**9)) / 100000,
                    ]
                ),
            )
        )
    calls.append(sample_cdr(switches[0], None, callid="", starting_date=base))  # no cgrid: not exported
    insert_calls(calls)
    library.save_destination_list("PREMIUM", ["4986", "336"])
    return {"start": base}


SQL_TEMPLATES = {
    "cgr-csv": CGR_CSV_TEMPLATE,
    "semicolon-masked": load_cdre_profile(
        {
            "field_separator": ";",
            "mask_destination_id": "PREMIUM",
            "mask_length": 3,
            "cost_rounding_decimals": 2,
            "cost_multiply_factor": "1.2",
            "cost_shift_digits": 2,
            "usage_unit": "seconds",
            "content_fields": [
                {"tag": "Id", "value": "cgrid"},
                {"tag": "Const", "type": "*constant", "value": "a;b"},
                {"tag": "Host", "value": "cdrhost"},
                {"tag": "Source", "value": "cdrsource"},
                {"tag": "Dest", "value": "destination"},
                {"tag": "Masked", "type": "*masked_destination"},
                {"tag": "Composed", "value": "^x:pre-;account;^y:-;tenant"},
                {"tag": "Dir", "value": "Direction"},
                {"tag": "Usage", "value": "usage"},
                {"tag": "Cost", "value": "cost"},
                {"tag": "Answer", "value": "answer_time"},
                {"tag": "Raw", "value": "billsec"},
                {"tag": "Buy", "value": "sell_cost"},
                {"tag": "Export", "type": "*handler", "value": "*export_id"},
                {"tag": "Again", "value": "cgrid"},
                {"tag": "Callid", "value": "callid"},
            ],
        }
    ),
    "tab-trailer": load_cdre_profile(
        {
            "field_separator": "\t",
            "content_fields": [{"tag": "Acc", "value": "accid"}, {"tag": "T", "value": "tenant"}],
            "trailer_fields": [
                {"tag": "N", "type": "*handler", "value": "*cdrs_number"},
                {"tag": "Last", "type": "*handler", "value": "*last_cdr_atime"},
            ],
        }
    ),
}


@pytest.mark.parametrize("name", list(SQL_TEMPLATES))
def test_sql_rendering_is_byte_identical_to_the_python_writer(varied, name):
    template = SQL_TEMPLATES[name]
    value_format = template.value_format(mask_prefixes=("4986", "336"))
    writer = _ExportWriter(template, value_format, "x", datetime.now(UTC), False, RowAccess())
    assert sql_rendering(template, value_format, writer._handler_text) is not None, "eligible for SQL rendering"
    now = datetime(2024, 4, 1, tzinfo=UTC)
    runs = [
        exporter.ExportRun(
            template,
            cdr_query.ExportFilter(),
            export_id="e;1",
            now=now,
            default_tenant="dflt",
            mask_prefixes=("4986", "336"),
            sql_rendering=flag,
        )
        for flag in (True, False)
    ]
    (sql_text, sql_summary), (python_text, python_summary) = export_text(runs[0]), export_text(runs[1])
    assert sql_text == python_text
    assert sql_text.count("\n") >= 2500
    assert sql_summary == python_summary
    assert any(key.startswith("id:") for key in sql_summary.unexported)  # the CDR without a callid


def test_templates_without_a_field_sql_renders_take_the_python_path(varied):
    regexp = load_cdre_profile(
        {"content_fields": [{"tag": "D", "value": r"~destination:s/^49(\d+)/0$1/"}, {"tag": "Id", "value": "cgrid"}]}
    )
    fwv = load_cdre_profile(
        {
            "export_format": "fwv",
            "content_fields": [{"tag": "A", "value": "account", "width": 8, "strip": "right", "padding": "right"}],
        }
    )
    for template, rendered in ((regexp, False), (fwv, True)):
        writer = _ExportWriter(template, template.value_format(), "", datetime.now(UTC), False, RowAccess())
        assert (sql_rendering(template, template.value_format(), writer._handler_text) is not None) is rendered
        text, summary = export_text(exporter.ExportRun(template, cdr_query.ExportFilter(id_through=300)))
        assert summary.total_records and text.count("\n") == summary.total_records


# --- templates in the database ---------------------------------------------------------------------


def test_a_bad_template_is_refused_when_saved_with_the_rule_and_position(app):
    profile = {"content_fields": [{"tag": "Dest", "value": r"~destination:s/^(\d+/$1/"}]}
    with pytest.raises(TemplateError) as refused:
        library.save_template("broken", profile)
    problem = "\n".join(refused.value.problems)
    assert r"RSR rule '~destination:s/^(\d+/$1/'" in problem and "offset 16" in problem  # the unclosed (
    assert "missing closing )" in problem and "content_fields[0]" in problem
    assert all(row["name"] != "broken" for row in library.list_templates())
    with pytest.raises(TemplateError, match="built-in"):
        library.save_template("cgr-csv", {"content_fields": [{"tag": "A", "value": "account"}]})
    with pytest.raises(TemplateError, match="no destination list named 'NOPE'"):
        library.save_template("masked", {"mask_destination_id": "NOPE", "content_fields": [{"value": "account"}]})


def test_templates_are_saved_from_json_or_yaml_and_read_back(app):
    yaml_text = "field_separator: ';'\ncontent_fields:\n  - {tag: Acc, value: account}\n  - {tag: C, value: cost}\n"
    saved = library.save_template("yaml-one", yaml_text)
    assert library.get_template("yaml-one") == saved and saved.field_separator == ";"
    library.save_template("json-one", '{"cdre": {"*default": {"content_fields": [{"tag": "A", "value": "accid"}]}}}')
    assert [f.value for f in library.get_template("json-one").content_fields] == ["accid"]
    assert {"cgr-csv", "yaml-one", "json-one"} <= {row["name"] for row in library.list_templates()}
    with pytest.raises(library.ExportRefused):
        library.get_template("missing")


def test_masking_with_a_destination_list(varied):
    library.save_destination_list("MOBILE", ["4986", "+49"])
    template = library.save_template(
        "masked-dest",
        {
            "mask_destination_id": "MOBILE",
            "mask_length": 4,
            "content_fields": [
                {"tag": "Dest", "value": "destination"},
                {"tag": "Masked", "type": "*masked_destination"},
            ],
        },
    )
    run = exporter.adhoc_run(template, cdr_query.ExportFilter(destination_prefixes=("4986", "+4930", "1002")))
    for flag in (True, False):
        run.sql_rendering = flag
        lines = set(export_text(run)[0].splitlines())
        assert lines == {"498651717****,1", "+493****,1", "1002,0"}
    with pytest.raises(library.ExportRefused):
        library.save_destination_list("BAD", ["49x"])


def test_preview_uses_the_five_newest_answered_cdrs(varied):
    result = exporter.preview(CGR_CSV_TEMPLATE)
    newest = [r["id"] for r in db.rows("SELECT id FROM cdr WHERE answered_date IS NOT NULL ORDER BY id DESC LIMIT 5")]
    assert result["ids"] == sorted(newest)
    assert result["text"].count("\n") + len(result["summary"].unexported) == 5


def test_export_directories_are_confined_to_export_dir(app):
    root = exporter.export_root()
    assert exporter.resolve_export_dir("monthly/2024") == root / "monthly" / "2024"
    assert exporter.resolve_export_dir(str(root / "abs")) == root / "abs"
    for outside in ("..", "../elsewhere", "/etc", "a/../../b", str(root) + "-sibling"):
        with pytest.raises(library.ExportRefused):
            exporter.resolve_export_dir(outside)
    link = root / "escape"
    root.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to("/tmp")
    with pytest.raises(library.ExportRefused):
        exporter.resolve_export_dir("escape")
    for bad in ("../x.csv", ".hidden", "a/b.csv", ""):
        with pytest.raises(library.ExportRefused):
            exporter.check_file_name(bad)


def test_shell_command_exports_and_reexports(app, sample, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "sample.csv"
    result = runner.invoke(
        args=[
            "export-cdrs",
            "--template",
            "cgr-csv",
            "--from",
            "2013-11-07T08:42:26Z",
            "--to",
            "1383813747",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == SAMPLE_LINE and "1 CDRs" in result.output
    history_id = int(result.output.rsplit("#", 1)[1].strip(" )\n"))
    again = runner.invoke(args=["export-cdrs", "--reexport", str(history_id)])
    assert again.exit_code == 0, again.output
    path = Path(again.output.split(":", 1)[0])
    assert path.read_text() == SAMPLE_LINE
    assert exporter.history_entry(int(again.output.rsplit("#", 1)[1].strip(" )\n")))["reexport_of"] == history_id
    refused = runner.invoke(args=["export-cdrs", "--template", "nope"])
    assert refused.exit_code != 0 and "no export template named 'nope'" in refused.output


def test_shell_command_loads_a_template_file(app, tmp_path):
    path = tmp_path / "cgrates.json"
    path.write_text(
        '{"cdre": {"*default": {"export_format": "*file_csv", "field_separator": "|", '
        '"content_fields": [{"tag": "Account", "type": "*composed", "value": "account"}]}}}'
    )
    result = app.test_cli_runner().invoke(args=["export-template", "load", str(path), "--name", "from-file"])
    assert result.exit_code == 0, result.output
    assert library.get_template("from-file").field_separator == "|"
    bad = tmp_path / "bad.yaml"
    bad.write_text("content_fields:\n  - {tag: X, value: '~account:s/(/x/'}\n")
    result = app.test_cli_runner().invoke(args=["export-template", "load", str(bad)])
    assert result.exit_code != 0 and "RSR rule" in result.output
