"""The alerts API: the list and its filters (a bad value is a 400), one alert with its history, the steps of a
case (409 when the state forbids, 400 for bad input), bulk assignment, and the roles (403, 401)."""

from datetime import date

import pytest
from django.utils import timezone

from compliance.alerts import services
from compliance.alerts.models import Alert
from tests.compliance.alerts_data import age, raise_alerts
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/compliance/alerts/"


@pytest.fixture
def alerts(accounts, instruments, compliance_user):
    """Three wash-trade alerts of ACC-001 in AAPL (the first overdue), two structuring alerts of HOUSE (one closed)."""
    wash = raise_alerts(3, account=accounts["ACC-001"], instrument=instruments["AAPL"])
    structuring = raise_alerts(2, rule_code="structuring", account=accounts["HOUSE"], subject_type="CASH_MOVEMENT")
    age(wash[0], hours=30)  # HIGH: 24 h SLA
    services.alert_assign(actor=compliance_user, alert_id=wash[1].pk, owner=compliance_user)
    services.alert_close(actor=compliance_user, alert_id=structuring[1].pk, disposition="Payroll deposits.")
    return {"wash": wash, "structuring": structuring}


def _ids(response):
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_an_alert_answers_every_field_with_its_evidence_and_history(compliance_client, alerts):
    alert = alerts["wash"][0]
    body = compliance_client.get(f"{URL}{alert.pk}/").json()
    assert body["rule"] == "wash-trades" and body["rule_version"] == 1 and body["kind"] == "WASH_TRADE"
    assert body["severity"] == "HIGH" and body["state"] == "OPEN" and body["owner"] is None
    assert body["subject"] == {"type": "TRADE", "id": 1, "label": "TRADE 1 label"}
    assert body["account"] == "ACC-001" and body["instrument"] == "US0378331005"
    assert body["business_date"] == "2026-12-01" and body["disposition"] == ""
    assert body["evidence"]["records"] == [{"type": "TRADE", "id": 1, "label": "TRADE 1 label"}]
    assert body["sla_breached"] is True and 29.9 <= body["age_hours"] <= 30.2
    assert body["escalated_at"] is None and body["closed_at"] is None
    assert {"opened_at", "due_at", "summary"} <= set(body)
    assert [(e["action"], e["to_state"], e["actor"]) for e in body["history"]] == [("OPEN", "OPEN", "surveillance")]


def test_the_list_is_paginated_newest_first(compliance_client, alerts):
    body = compliance_client.get(URL, {"page_size": 2}).json()
    assert body["count"] == 5 and len(body["results"]) == 2 and body["next"]
    assert compliance_client.get(URL, {"page_size": "all"}).status_code == 400


def test_filters(compliance_client, alerts, compliance_user):
    wash, structuring = alerts["wash"], alerts["structuring"]
    every = sorted(a.pk for a in wash + structuring)
    assert _ids(compliance_client.get(URL)) == every
    assert _ids(compliance_client.get(URL, {"status": "CLOSED"})) == [structuring[1].pk]
    assert _ids(compliance_client.get(URL, {"status": "NOT_CLOSED"})) == sorted(every[:-1])
    assert _ids(compliance_client.get(URL, {"severity": "HIGH"})) == every  # both rules are HIGH
    assert _ids(compliance_client.get(URL, {"severity": "MEDIUM"})) == []
    assert _ids(compliance_client.get(URL, {"rule": "wash-trades"})) == [a.pk for a in wash]
    assert _ids(compliance_client.get(URL, {"kind": "STRUCTURING"})) == [a.pk for a in structuring]
    assert _ids(compliance_client.get(URL, {"account": "HOUSE"})) == [a.pk for a in structuring]
    assert _ids(compliance_client.get(URL, {"instrument": "US0378331005"})) == [a.pk for a in wash]
    assert _ids(compliance_client.get(URL, {"owner": compliance_user.username})) == [wash[1].pk]
    assert _ids(compliance_client.get(URL, {"owner": "unassigned"})) == sorted(set(every) - {wash[1].pk})
    assert _ids(compliance_client.get(URL, {"overdue": "true"})) == [wash[0].pk]
    assert _ids(compliance_client.get(URL, {"overdue": "false"})) == sorted(set(every) - {wash[0].pk})
    today = timezone.localdate().isoformat()
    assert _ids(compliance_client.get(URL, {"date_from": today, "date_to": today})) == sorted(every[1:])
    assert _ids(compliance_client.get(URL, {"date_to": date(2020, 1, 1).isoformat()})) == []


@pytest.mark.parametrize(("param", "value"), [
    ("severity", "URGENT"), ("status", "open"), ("kind", "NOPE"), ("rule", "no-such-rule"), ("account", "NOPE"),
    ("owner", "ghost"), ("date_from", "2026-13-01"), ("date_to", "01/12/2026"), ("overdue", "yes"),
    ("instrument", "XX0000000000"), ("account", "A\x00B"), ("severity", ""),
])
def test_a_bad_filter_value_is_a_400_naming_it(compliance_client, alerts, param, value):
    response = compliance_client.get(URL, {param: value})
    assert response.status_code == 400 and param in response.json()


def test_the_steps_through_the_api(compliance_client, compliance_user, alerts):
    alert = alerts["wash"][2]
    make_user("senior", "compliance")
    assert compliance_client.post(f"{URL}{alert.pk}/assign/", {"owner": "senior"}, format="json").json()["owner"] == \
        "senior"
    assert compliance_client.post(f"{URL}{alert.pk}/investigate/", format="json").json()["state"] == "INVESTIGATING"
    body = compliance_client.post(f"{URL}{alert.pk}/notes/", {"note": "Called the client."}, format="json").json()
    assert body["history"][-1]["action"] == "NOTE" and body["history"][-1]["note"] == "Called the client."
    body = compliance_client.post(f"{URL}{alert.pk}/escalate/", {"note": "Pattern over a week."}, format="json").json()
    assert body["state"] == "ESCALATED" and body["escalated_at"]
    body = compliance_client.post(f"{URL}{alert.pk}/close/", {"disposition": "Referred to the MLRO."},
                                  format="json").json()
    assert body["state"] == "CLOSED" and body["disposition"] == "Referred to the MLRO." and body["closed_at"]
    response = compliance_client.post(f"{URL}{alert.pk}/close/", {"disposition": "again"}, format="json")
    assert response.status_code == 409 and "CLOSED" in response.json()["detail"]
    body = compliance_client.post(f"{URL}{alert.pk}/reopen/", {"reason": "New evidence."}, format="json").json()
    assert body["state"] == "INVESTIGATING" and body["disposition"] == ""
    assert [e["action"] for e in body["history"]] == ["OPEN", "ASSIGN", "INVESTIGATE", "NOTE", "ESCALATE", "CLOSE",
                                                      "REOPEN"]


@pytest.mark.parametrize("body", [{}, {"disposition": ""}, {"disposition": "   "}, {"disposition": 5},
                                  {"disposition": "a\x00b"}, {"disposition": "x" * 2001}, {"disposition": None},
                                  {"disposition": "ok", "extra": 1}, ["disposition"]])
def test_close_needs_a_disposition(compliance_client, alerts, body):
    alert = alerts["wash"][2]
    response = compliance_client.post(f"{URL}{alert.pk}/close/", body, format="json")
    assert response.status_code == 400
    alert.refresh_from_db()
    assert alert.state == "OPEN"


def test_escalating_twice_is_a_conflict_and_assigning_to_operations_a_bad_request(compliance_client, alerts):
    alert = alerts["wash"][2]
    assert compliance_client.post(f"{URL}{alert.pk}/escalate/", {"note": "x"}, format="json").status_code == 200
    assert compliance_client.post(f"{URL}{alert.pk}/escalate/", {"note": "x"}, format="json").status_code == 409
    assert compliance_client.post(f"{URL}{alert.pk}/escalate/", {}, format="json").status_code == 400
    make_user("ops2", "operations")
    response = compliance_client.post(f"{URL}{alert.pk}/assign/", {"owner": "ops2"}, format="json")
    assert response.status_code == 400 and "compliance role" in response.json()["owner"][0]
    assert compliance_client.post(f"{URL}{alert.pk}/assign/", {"owner": 3}, format="json").status_code == 400


def test_an_unknown_alert_is_a_404(compliance_client):
    assert compliance_client.get(f"{URL}999999/").status_code == 404
    assert compliance_client.post(f"{URL}999999/close/", {"disposition": "x"}, format="json").status_code == 404


def test_bulk_assign(compliance_client, compliance_user, alerts):
    wash, structuring = alerts["wash"], alerts["structuring"]
    ids = [wash[0].pk, wash[1].pk, wash[2].pk, structuring[1].pk]
    response = compliance_client.post(f"{URL}assign/", {"ids": ids, "owner": compliance_user.username}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"owner": compliance_user.username, "assigned": [wash[0].pk, wash[2].pk],
                               "unchanged": [wash[1].pk], "skipped_closed": [structuring[1].pk]}
    assert Alert.objects.filter(owner=compliance_user).count() == 3


@pytest.mark.parametrize("body", [{"ids": [], "owner": "x"}, {"ids": [999999], "owner": "{owner}"},
                                  {"ids": "1", "owner": "{owner}"}, {"ids": ["a"], "owner": "{owner}"},
                                  {"owner": "{owner}"}, {"ids": [1]}, {"ids": [1], "owner": "{owner}", "x": 1}])
def test_bulk_assign_bad_bodies_are_400(compliance_client, compliance_user, alerts, body):
    body = {k: (v.format(owner=compliance_user.username) if isinstance(v, str) else v) for k, v in body.items()}
    assert compliance_client.post(f"{URL}assign/", body, format="json").status_code == 400
    assert not Alert.objects.filter(owner=compliance_user).exclude(pk=alerts["wash"][1].pk).exists()


def test_roles(alerts, ops_client, accounting_client, fo_client, anon_client):
    alert = alerts["wash"][2]
    for client in (ops_client, accounting_client):
        assert client.get(URL).status_code == 200
        assert client.get(f"{URL}{alert.pk}/").status_code == 200
        assert client.post(f"{URL}{alert.pk}/close/", {"disposition": "x"}, format="json").status_code == 403
        assert client.post(f"{URL}assign/", {"ids": [alert.pk], "owner": "x"}, format="json").status_code == 403
    assert fo_client.get(URL).status_code == 403
    assert anon_client.get(URL).status_code == 401
    assert anon_client.post(f"{URL}{alert.pk}/close/", {"disposition": "x"}, format="json").status_code == 401
    alert.refresh_from_db()
    assert alert.state == "OPEN"


def test_a_superuser_may_work_alerts(superuser, alerts):
    client = client_for(superuser)
    alert = alerts["wash"][2]
    assert client.post(f"{URL}{alert.pk}/close/", {"disposition": "ok"}, format="json").status_code == 200
