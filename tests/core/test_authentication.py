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


def test_token_user_and_roles_come_in_one_query(django_assert_num_queries, rf):
    """The user is the real one (every field), with exactly its role groups; other groups are ignored."""
    from rest_framework.authtoken.models import Token

    from backoffice.core import roles
    from backoffice.core.authentication import TokenAuthentication

    user = make_user("two-roles", "front_office", "operations")
    user.groups.add(Group.objects.create(name="book-club"))
    key = Token.objects.get_or_create(user=user)[0].key
    request = rf.get("/", HTTP_AUTHORIZATION=f"Token {key}")
    with django_assert_num_queries(1):
        authenticated, token = TokenAuthentication().authenticate(request)
        assert roles.user_roles(authenticated) == {"front_office", "operations"}
    assert token.key == key and token.user is authenticated
    for field in type(user)._meta.concrete_fields:
        assert getattr(authenticated, field.attname) == getattr(user, field.attname), field.name
    assert not authenticated._state.adding

    loner = make_user("no-roles")
    request = rf.get("/", HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=loner)[0].key}")
    with django_assert_num_queries(1):
        authenticated, _ = TokenAuthentication().authenticate(request)
        assert roles.user_roles(authenticated) == set()
        assert not roles.user_has_role(authenticated, *roles.ALL_ROLES)


def test_a_token_with_a_nul_character_is_401_not_500(instruments):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")
    response = client.get("/api/v1/instruments/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
