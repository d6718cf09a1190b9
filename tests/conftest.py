"""Fixtures shared by the whole suite: users per role, authenticated API clients, reference data."""

import importlib
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backoffice.core.context import correlation
from records.reference.models import Account, Counterparty, Instrument, Market
from records.reference.services import reference


def ensure_seed_data() -> None:
    """Recreate what data migrations seed (roles, markets, retention, match tolerances, penalty rates):
    transactional tests flush them."""
    from django.apps import apps

    seeds = [("backoffice.core.migrations.0001_role_groups", "create_groups"),
             ("records.migrations.0002_markets", "add_markets"),
             ("records.migrations.0006_retention_defaults_and_append_only", "add_policies"),
             ("records.migrations.0018_tradefile_retention_policy", "add_policy"),
             ("clearing.migrations.0002_match_tolerances", "seed"),
             ("settlements.migrations.0002_penalty_rates", "seed"),
             ("accounting.migrations.0003_chart_of_accounts", "seed"),
             ("compliance.migrations.0003_default_rules", "seed")]
    for module, function in seeds:
        getattr(importlib.import_module(module), function)(apps, None)


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    return bool(transactional or "transactional_db" in request.fixturenames or "live_server" in request.fixturenames)


@pytest.fixture(autouse=True)
def _seed_data_for_transactional_tests(request):
    if _transactional(request):
        request.getfixturevalue("transactional_db")
        ensure_seed_data()
        suspend_added_default_rules()


def suspend_added_default_rules() -> None:
    """Deactivate the default pre-trade rules the suite's hand-made trades would trip (buying power, short
    sales, price deviation: compliance migration 0003). Tests of them ask with @pytest.mark.default_rules."""
    from compliance.rules.models import ComplianceRule

    added = importlib.import_module("compliance.migrations.0003_default_rules").ADDED_PRETRADE
    ComplianceRule.objects.filter(code__in=added).update(active=False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        suspend_added_default_rules()


@pytest.fixture(autouse=True)
def _default_rules_when_asked(request):
    """@pytest.mark.default_rules: every default compliance rule is in force, as in a new firm."""
    if request.node.get_closest_marker("default_rules") is None:
        return
    request.getfixturevalue("_seed_data_for_transactional_tests")  # after a flush's reseeding
    if not _transactional(request):
        request.getfixturevalue("db")
    from compliance.rules.models import ComplianceRule

    added = importlib.import_module("compliance.migrations.0003_default_rules").ADDED_PRETRADE
    ComplianceRule.objects.filter(code__in=added).update(active=True)


@pytest.fixture(autouse=True)
def _exports_in_a_temporary_directory(settings, tmp_path_factory):
    """Books-and-records export files never land in the real var/ directory during tests."""
    settings.RECORDS_EXPORT_DIR = tmp_path_factory.mktemp("exports")


def make_user(username: str, *roles: str, superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, is_superuser=superuser,
                                    is_staff=superuser)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


def client_for(user: User) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def front_office_user(db):
    return make_user("fo", "front_office")


@pytest.fixture
def operations_user(db):
    return make_user("ops", "operations")


@pytest.fixture
def compliance_user(db):
    return make_user("comp", "compliance")


@pytest.fixture
def accounting_user(db):
    return make_user("acct", "accounting")


@pytest.fixture
def superuser(db):
    return make_user("root", superuser=True)


@pytest.fixture
def fo_client(front_office_user):
    return client_for(front_office_user)


@pytest.fixture
def ops_client(operations_user):
    return client_for(operations_user)


@pytest.fixture
def compliance_client(compliance_user):
    return client_for(compliance_user)


@pytest.fixture
def accounting_client(accounting_user):
    return client_for(accounting_user)


@pytest.fixture
def admin_client_api(superuser):
    return client_for(superuser)


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def in_request():
    """Run service calls under a correlation id, as a request would."""
    with correlation("req:test"):
        yield


APPLE = "US0378331005"
MICROSOFT = "US5949181045"
SAP = "DE0007164600"
VODAFONE = "GB00BH4HKS39"


@pytest.fixture
def instruments(db):
    from django.db import transaction

    with transaction.atomic():
        return {
            "AAPL": reference.instrument_create(actor="test", isin=APPLE, symbol="AAPL", name="Apple Inc.",
                                                asset_class="EQUITY", currency="USD", market="XNAS"),
            "MSFT": reference.instrument_create(actor="test", isin=MICROSOFT, symbol="MSFT", name="Microsoft",
                                                asset_class="EQUITY", currency="USD", market="XNAS"),
            "SAP": reference.instrument_create(actor="test", isin=SAP, symbol="SAP", name="SAP SE",
                                               asset_class="EQUITY", currency="EUR", market="XETR"),
            "VOD": reference.instrument_create(actor="test", isin=VODAFONE, symbol="VOD", name="Vodafone",
                                               asset_class="EQUITY", currency="GBP", market="XLON"),
        }


@pytest.fixture
def accounts(db):
    from django.db import transaction

    with transaction.atomic():
        return {
            "ACC-001": reference.account_create(actor="test", code="ACC-001", name="Client One", kind="CLIENT",
                                                base_currency="USD", credit_limit=Decimal("1000")),
            "HOUSE": reference.account_create(actor="test", code="HOUSE", name="House", kind="HOUSE",
                                              base_currency="USD"),
        }


LEI_A = "5493001KJTIIGC8Y1R12"  # Bloomberg LP
LEI_CCP = "549300EXMNSS6W5ZD872"


@pytest.fixture
def counterparties(db):
    from django.db import transaction

    with transaction.atomic():
        ccp = reference.counterparty_create(actor="test", code="NSCC", name="NSCC", lei=LEI_CCP, is_ccp=True,
                                            requires_matching=False)
        broker = reference.counterparty_create(actor="test", code="BRKR-A", name="Broker A", lei=LEI_A,
                                               clears_through="NSCC")
    return {"NSCC": ccp, "BRKR-A": broker}


__all__ = ["Account", "Counterparty", "Instrument", "Market", "client_for", "make_user"]
