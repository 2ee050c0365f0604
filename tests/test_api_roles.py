"""Customers' API views list customer fields only (``/api/v1/cdrs/<id>`` used to give a customer the call's
destination_alert, alert_reason, import_id, rating_status and user_id); the OpenAPI document has a schema per role."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from data.admin import api_tokens, users
from data.cdr_search.search import CUSTOMER_FIELDS
from data.core import db
from tests.cdr_factory import UTC, customers_with_calls

OPERATOR_FIELDS = ("destination_alert", "alert_reason", "import_id", "rating_status", "user_id", "buy_cost", "customer")


@pytest.fixture(scope="module")
def world(app):
    app.test_client().get("/login")
    [customer] = customers_with_calls("role", "10.73.0.1", {"rl": 2}, datetime.now(UTC) - timedelta(hours=2))
    db.execute(
        "UPDATE cdr SET destination_alert = true, alert_reason = 'premium destination', rating_status = 1 "
        "WHERE user_id = :u",
        u=customer.id,
    )
    cdr_id = db.scalar("SELECT min(id) FROM cdr WHERE user_id = :u", u=customer.id)
    admin = users.get_user_by_name("admin")
    return {
        "cdr_id": cdr_id,
        "customer": {"Authorization": f"Bearer {api_tokens.create_token(customer.id, 'roles')}"},
        "admin": {"Authorization": f"Bearer {api_tokens.create_token(admin.id, 'roles')}"},
    }


def test_a_customer_sees_customer_fields_only(client, world):
    response = client.get(f"/api/v1/cdrs/{world['cdr_id']}", headers=world["customer"])
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) <= set(CUSTOMER_FIELDS) and {"id", "starting_date", "destination_number"} <= set(body)
    assert not set(OPERATOR_FIELDS) & set(body)


def test_an_admin_sees_every_field(client, world):
    body = client.get(f"/api/v1/cdrs/{world['cdr_id']}", headers=world["admin"]).get_json()
    assert body["destination_alert"] is True and body["alert_reason"] == "premium destination"
    assert {"import_id", "rating_status", "user_id", "buy_cost"} <= set(body)


def test_the_openapi_document_has_a_schema_per_role(client, world):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    customer, admin = schemas["CustomerCdrDetail"], schemas["AdminCdrDetail"]
    assert customer["additionalProperties"] is False and not set(OPERATOR_FIELDS) & set(customer["properties"])
    assert set(OPERATOR_FIELDS) <= set(admin["properties"])
    detail = document["paths"]["/api/v1/cdrs/{cdr_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert detail["schema"] == {"$ref": "#/components/schemas/CdrDetail"}
    as_customer = client.get(f"/api/v1/cdrs/{world['cdr_id']}", headers=world["customer"]).get_json()
    as_admin = client.get(f"/api/v1/cdrs/{world['cdr_id']}", headers=world["admin"]).get_json()
    assert set(as_customer) <= set(customer["properties"]) and set(customer["required"]) <= set(as_customer)
    assert admin.get("additionalProperties", True) is not False  # every stored column, new ones included
    assert set(OPERATOR_FIELDS) - {"customer"} <= set(as_admin) and not set(as_admin) <= set(customer["properties"])
