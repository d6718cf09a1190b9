"""Changes to users, roles and API tokens are audited, whichever way they are made."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from records.audit.models import AuditRecord
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def audits(record_type="auth.user"):
    return list(AuditRecord.objects.filter(record_type=record_type).order_by("id"))


def test_creating_a_user_and_granting_a_role_are_audited():
    user = make_user("alice", "operations")
    rows = audits()
    assert [r.action for r in rows] == ["CREATE", "ROLES"]
    assert rows[0].after["username"] == "alice" and "password" not in rows[0].after
    assert rows[1].before == {"roles": []} and rows[1].after == {"roles": ["operations"]}
    user.groups.remove(Group.objects.get(name="operations"))
    assert audits()[-1].after == {"roles": []}


def test_changes_through_the_admin_name_the_admin(client):
    admin = make_user("boss", superuser=True)
    target = make_user("bob")
    client.force_login(admin)
    response = client.post(f"/admin/auth/user/{target.pk}/change/", {
        "username": "bob", "first_name": "Bob", "last_name": "", "email": "", "is_active": "on",
        "groups": [Group.objects.get(name="compliance").pk], "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01", "initial-date_joined_1": "00:00:00",
    })
    assert response.status_code == 302, response.content[:500]
    changes = [r for r in audits() if r.record_id == str(target.pk) and r.actor_label == "boss"]
    assert {r.action for r in changes} == {"UPDATE", "ROLES"}
    roles = next(r for r in changes if r.action == "ROLES")
    assert roles.after == {"roles": ["compliance"]} and roles.actor == admin


def test_logging_in_is_not_a_change_to_the_user(client):
    make_user("carol")
    before = len(audits())
    assert client.login(username="carol", password="pw-carol")
    assert len(audits()) == before


def test_password_change_and_deletion_are_audited():
    user = make_user("dave")
    user.set_password("another-secret-1")
    user.save()
    assert audits()[-1].reason == "password changed"
    user_id = user.pk
    user.delete()
    assert audits()[-1].action == "DELETE" and audits()[-1].record_id == str(user_id)


def test_api_tokens_issued_and_revoked_are_audited_without_the_key(capsys):
    make_user("erin")
    call_command("drf_create_token", "erin")
    token = Token.objects.get(user__username="erin")
    row = audits("authtoken.token")[-1]
    assert row.action == "CREATE" and token.key not in str(row.after)
    token.delete()
    assert audits("authtoken.token")[-1].action == "DELETE"


def test_role_groups_changes_are_audited():
    group = Group.objects.create(name="auditors")
    group.delete()
    assert [r.action for r in audits("auth.group")] == ["CREATE", "DELETE"]
    assert User.objects.count() == 0
