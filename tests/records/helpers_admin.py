"""The admin tests' signed-in client and admin URLs (the fixtures are offered to every test module here by
tests/records/conftest.py)."""

import pytest
from django.urls import reverse


def url(model, view, *args):
    return reverse(f"admin:records_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def web(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def admin_web(web):
    """`web`, under the name the maker-checker admin tests give it."""
    return web


@pytest.fixture
def admin_signed_in(web):
    """`web`, under the name the trade and position admin tests give it."""
    return web
