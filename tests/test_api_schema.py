"""The OpenAPI document, and schemathesis against it, in process (WSGI): no 500 on any generated input,
every answer in the documented status codes and shapes.

Each operation gets a bounded number of generated examples (``EXAMPLES``), so the run stays well
under 30 seconds. ``positive_data_acceptance`` is left out: some schema-valid combinations are
refused with 400 on purpose (``to`` before ``from``, hourly KPIs over years).
"""

import time
from datetime import datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from data.admin import api_tokens, users
from tests.cdr_factory import UTC, call, ensure_switch, insert_calls

EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def tokens(app):
    customer = users.create_user("schema-cust", "schema-pw-1", "customer", accountcodes=("s1",))
    switch = ensure_switch("schema-sw", "10.77.0.1")
    now = datetime.now(UTC)
    insert_calls(
        [
            call(
                switch,
                now - timedelta(hours=h),
                billsec=h * 7,
                accountcode="s1" if h % 2 else None,
                user_id=customer.id if h % 2 else None,
                callid=f"schema-{h}",
            )
            for h in range(1, 12)
        ]
    )
    admin_id = users.get_user_by_name("admin").id
    return {
        "admin": api_tokens.create_token(admin_id, "schemathesis"),
        "customer": api_tokens.create_token(customer.id, "schemathesis"),
    }


def test_the_openapi_document_lists_every_api_route(app, client):
    response = client.get("/api/v1/openapi.json")  # public: tools read it before they have a token
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.0")
    assert {"bearerAuth", "basicAuth"} <= set(document["components"]["securitySchemes"])
    paths = set(document["paths"])
    assert {
        "/api/v1/switches",
        "/api/v1/switches/{switch_id}",
        "/api/v1/cdrs",
        "/api/v1/cdrs/{cdr_id}",
        "/api/v1/kpis",
    } <= paths
    for rule in app.url_map.iter_rules():  # the push and rates APIs too, when they are there
        if rule.rule.startswith("/api/v1/") and rule.endpoint not in ("api_v1.openapi",):
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
            assert path in paths, path


def _fuzz(operation, headers: dict, examples: int) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_schemathesis_finds_no_server_error(app, tokens):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    started = time.monotonic()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for who in ("admin", "customer"):
            _fuzz(operation, {"Authorization": f"Bearer {tokens[who]}"}, EXAMPLES if who == "admin" else EXAMPLES // 4)
    assert operations >= 6
    assert time.monotonic() - started < 30
