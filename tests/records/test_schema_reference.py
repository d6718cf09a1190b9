"""A reference-data field is read by the same rule whichever way it comes in: created directly through the
API, changed through the API (a maker-checker proposal, parsed twice: by the serializer, then by the
change kind), or proposed directly as a maker-checker payload."""

import json

import pytest

from records.approvals.models import ChangeRequest
from records.reference.models import Account

pytestmark = pytest.mark.django_db


def send(client, method, url, body):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


NEW_ACCOUNT = {"code": "ACC-NEW", "name": "New client", "kind": "CLIENT", "base_currency": "USD"}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "Tab\there", "Must not contain control characters."),
    ("name", 123, "Not a valid string."),
    ("name", None, "This field may not be null."),
    ("name", "x" * 201, "Ensure this field has no more than 200 characters."),
    ("base_currency", "usd", "Unknown ISO 4217 currency code: 'usd'."),
    ("base_currency", "XYZ", "Unknown ISO 4217 currency code: 'XYZ'."),
    ("credit_limit", True, "A valid number is required."),
    ("credit_limit", "", "A valid number is required."),
    ("credit_limit", "1.00001", "Ensure that there are no more than 4 decimal places."),
    ("credit_limit", "-1", "Must not be negative."),
])
def test_create_change_and_proposal_refuse_a_bad_account_field_alike(ops_client, accounts, field, value, message):
    created = send(ops_client, "post", "/api/v1/accounts/", {**NEW_ACCOUNT, field: value})
    changed = send(ops_client, "patch", "/api/v1/accounts/ACC-001/", {field: value})
    proposed = send(ops_client, "post", "/api/v1/approvals/", {
        "kind": "account.update", "reason": "test", "payload": {"code": "ACC-001", "changes": {field: value}}})

    assert (created.status_code, created.json()) == (400, {field: [message]})
    assert (changed.status_code, changed.json()) == (400, {field: [message]})
    assert (proposed.status_code, proposed.json()) == (400, {"payload": {field: [message]}})
    assert not Account.objects.filter(code="ACC-NEW").exists() and not ChangeRequest.objects.exists()


def test_text_is_stripped_on_every_path(ops_client, accounts):
    created = send(ops_client, "post", "/api/v1/accounts/", {**NEW_ACCOUNT, "name": "  Spaced  ",
                                                              "base_currency": " EUR "})
    assert created.status_code == 201, created.content
    assert (created.json()["name"], created.json()["base_currency"]) == ("Spaced", "EUR")
    proposed = send(ops_client, "post", "/api/v1/approvals/", {
        "kind": "account.update", "reason": "test", "payload": {"code": "ACC-001", "changes": {"name": " Renamed "}}})
    assert proposed.status_code == 201, proposed.content
    assert proposed.json()["payload"] == {"code": "ACC-001", "changes": {"name": "Renamed"}}
