"""Property-based API fuzzing from our own OpenAPI schema, every check: never a 500, responses as documented,
schema-valid input accepted (or refused by a business rule: schemathesis.toml), invalid input refused."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import ignored_auth, negative_data_rejection

from backoffice.wsgi import application

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application


@pytest.fixture
def token(superuser, instruments, accounts, counterparties):
    from rest_framework.authtoken.models import Token

    # WSGI requests would close the test's connection; keep it open (ENVIRONMENT.md).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield Token.objects.create(user=superuser).key
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, token):
    response = case.call(headers={"Authorization": f"Token {token}"})
    # Every check but one: the in-process transport keeps the test's session, so schemathesis'
    # invalid-auth probe cannot work here (tests/records/test_api_reference.py checks 401s directly;
    # the CLI run in bench/README.md runs it). A bulk item missing a field is reported per item in a
    # 200, as API.md specifies, so the bulk's negative bodies are not refused.
    excluded = [ignored_auth]
    if case.operation.path == "/api/v1/trades/bulk/":
        excluded.append(negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded)
