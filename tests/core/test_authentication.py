"""API tokens: every request sees the user and their roles as they are now."""

import pytest
from django.contrib.auth.models import Group

from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db


def test_a_role_granted_or_revoked_counts_from_the_next_request(instruments):
    user = make_user("mover", "compliance")
    client = client_for(user)
    body = {"isin": "US88160R1014", "symbol": "TSLA", "name": "Tesla", "asset_class": "EQUITY", "currency": "USD",
            "market": "XNAS"}
    assert client.post("/api/v1/instruments/", body, format="json").status_code == 403  # compliance only reads
    user.groups.add(Group.objects.get(name="front_office"))
    assert client.post("/api/v1/instruments/", body, format="json").status_code == 201
    user.groups.clear()
    assert client.get("/api/v1/instruments/").status_code == 403


def test_a_bad_token_or_an_inactive_user_is_401(instruments):
    user = make_user("gone", "front_office")
    client = client_for(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get("/api/v1/instruments/").status_code == 401
    from rest_framework.test import APIClient

    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert stranger.get("/api/v1/instruments/").status_code == 401
    assert stranger.get("/api/v1/instruments/").json() == {"detail": "Invalid token."}


def test_a_superuser_token_needs_no_role(instruments):
    client = client_for(make_user("root2", superuser=True))
    assert client.get("/api/v1/instruments/").status_code == 200
