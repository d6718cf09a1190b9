"""The reference-data admin: adding saves through the services (audited), changing proposes a maker-checker
change, and a rule only a service knows is a form error, never a 500."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry

from backoffice.core.exceptions import ConflictError
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from records.reference.models import Account, Counterparty, FxRate, Instrument, Market, Price
from records.reference.services import reference
from tests.records.helpers_admin import url

from ..conftest import LEI_A

pytestmark = pytest.mark.django_db

APPLE = "US0378331005"


def audit_rows(record_type, **filters):
    return AuditRecord.objects.filter(record_type=f"records.{record_type}", **filters)


def instrument_form(**overrides):
    data = {"isin": APPLE, "symbol": "AAPL", "name": "Apple Inc.", "asset_class": "EQUITY", "currency": "USD",
            "market": "XNAS", "settlement_cycle": "", "reason": ""}
    return {**data, **overrides}


def account_form(**overrides):
    data = {"code": "CL-NEW", "name": "New Client", "kind": "CLIENT", "base_currency": "USD", "status": "ACTIVE",
            "cost_method": "FIFO", "allow_partial_settlement": "on", "credit_limit": "0", "reason": ""}
    return {**data, **overrides}


# Saves through the services ----------------------------------------------------------------------

def test_adding_an_instrument_goes_through_the_service_and_is_audited(web, superuser):
    response = web.post(url(Instrument, "add"), instrument_form(reason="new listing"))

    assert response.status_code == 302
    instrument = Instrument.objects.get(isin=APPLE)
    assert (instrument.symbol, instrument.market_id, instrument.is_active) == ("AAPL", "XNAS", True)
    record = audit_rows("instrument").get()
    assert (record.action, record.record_id, record.actor, record.reason) == (
        "CREATE", str(instrument.pk), superuser, "new listing")
    assert record.after["isin"] == APPLE
    assert record.correlation_id.startswith("req:")
    assert LogEntry.objects.filter(object_id=str(instrument.pk)).exists()


def approve_as_another_user(change_id):
    """Approve a change proposed in the admin as a second user (maker-checker)."""
    from records.approvals.services import change_approve

    from ..conftest import make_user

    checker = make_user("checker", "operations")
    change = change_approve(actor=checker, change_id=change_id)
    assert change.status == "APPROVED", change.result
    return checker


def test_changing_an_instrument_proposes_it_and_approval_applies_it_keeping_its_isin(web, instruments, superuser):
    apple = instruments["AAPL"]
    data = instrument_form(isin="US5949181045", name="Apple Inc. (renamed)", is_active="on")

    response = web.post(url(Instrument, "change", apple.pk), data)

    assert response.status_code == 302
    apple.refresh_from_db()
    assert (apple.isin, apple.name) == (APPLE, "Apple Inc.")
    proposal = ChangeRequest.objects.get()
    assert (proposal.kind, proposal.payload, proposal.proposed_by, proposal.reason) == (
        "instrument.update", {"isin": APPLE, "changes": {"name": "Apple Inc. (renamed)"}}, superuser,
        "proposed in the admin")
    assert not audit_rows("instrument", action="UPDATE").exists()

    checker = approve_as_another_user(proposal.pk)

    apple.refresh_from_db()
    assert (apple.isin, apple.name) == (APPLE, "Apple Inc. (renamed)")
    record = audit_rows("instrument", action="UPDATE").get()
    assert (record.actor, record.reason) == (checker, f"change request #{proposal.pk}: proposed in the admin")
    assert (record.before["name"], record.after["name"]) == ("Apple Inc.", "Apple Inc. (renamed)")


def test_a_bad_isin_is_a_form_error_and_saves_nothing(web):
    response = web.post(url(Instrument, "add"), instrument_form(isin="US0378331006"))

    assert response.status_code == 200
    assert "isin" in response.context["adminform"].form.errors
    assert "Not a valid ISIN" in response.content.decode()
    assert not Instrument.objects.exists()
    assert not AuditRecord.objects.filter(record_type__startswith="records.").exists()


def test_a_duplicate_account_code_is_a_form_error_not_a_500(web, accounts):
    before = AuditRecord.objects.count()

    response = web.post(url(Account, "add"), account_form(code="ACC-001", name="Impostor"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"code": ["Account with this Code already exists."]}
    assert Account.objects.get(code="ACC-001").name == "Client One"
    assert AuditRecord.objects.count() == before


def test_adding_an_account_goes_through_the_service(web, superuser):
    response = web.post(url(Account, "add"), account_form(credit_limit="250000.50"))

    assert response.status_code == 302
    account = Account.objects.get(code="CL-NEW")
    assert account.credit_limit == Decimal("250000.50")
    assert audit_rows("account", action="CREATE", record_id=str(account.pk), actor=superuser).exists()


def test_an_account_code_is_read_only_once_created(web, accounts):
    account = accounts["ACC-001"]
    response = web.post(url(Account, "change", account.pk),
                        account_form(code="ACC-999", name="Client One", credit_limit="1000", status="SUSPENDED"))

    assert response.status_code == 302
    proposal = ChangeRequest.objects.get()
    assert proposal.payload == {"code": "ACC-001", "changes": {"status": "SUSPENDED"}}
    approve_as_another_user(proposal.pk)
    account.refresh_from_db()
    assert (account.code, account.status) == ("ACC-001", "SUSPENDED")
    record = audit_rows("account", action="UPDATE").get()
    assert (record.before["status"], record.after["status"]) == ("ACTIVE", "SUSPENDED")


def test_a_rule_only_the_service_knows_is_a_form_error_and_the_trial_leaves_no_trace(web, counterparties):
    before = AuditRecord.objects.count()
    data = {"code": "CCP-2", "name": "Another CCP", "lei": "529900T8BM49AURSDO55", "is_ccp": "on",
            "clears_through": counterparties["NSCC"].pk, "requires_matching": "", "reason": ""}

    response = web.post(url(Counterparty, "add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["clears_through"] == ["A CCP does not clear through another CCP."]
    assert not Counterparty.objects.filter(code="CCP-2").exists()
    assert AuditRecord.objects.count() == before


def test_adding_a_counterparty_clearing_through_a_ccp(web, counterparties, superuser):
    data = {"code": "BRKR-B", "name": "Broker B", "lei": "529900T8BM49AURSDO55", "clears_through":
            counterparties["NSCC"].pk, "requires_matching": "on", "reason": ""}

    response = web.post(url(Counterparty, "add"), data)

    assert response.status_code == 302
    broker = Counterparty.objects.get(code="BRKR-B")
    assert broker.clears_through == counterparties["NSCC"]
    assert audit_rows("counterparty", action="CREATE", record_id=str(broker.pk), actor=superuser).exists()


def test_a_duplicate_lei_is_a_form_error(web, counterparties):
    data = {"code": "BRKR-C", "name": "Broker C", "lei": LEI_A, "clears_through": "", "reason": ""}

    response = web.post(url(Counterparty, "add"), data)

    assert response.status_code == 200
    assert "lei" in response.context["adminform"].form.errors
    assert not Counterparty.objects.filter(code="BRKR-C").exists()


def test_adding_a_price_in_another_currency_than_the_instruments_is_a_form_error(web, instruments):
    data = {"instrument": instruments["AAPL"].pk, "price_date": "2026-11-20", "price": "189.25", "currency": "EUR",
            "source": "DEFAULT", "reason": ""}

    response = web.post(url(Price, "add"), data)

    assert response.status_code == 200
    assert "currency" in response.context["adminform"].form.errors
    assert not Price.objects.exists()


def test_adding_and_changing_a_price_goes_through_the_upsert(web, instruments, superuser):
    data = {"instrument": instruments["AAPL"].pk, "price_date": "2026-11-20", "price": "189.25", "currency": "USD",
            "source": "DEFAULT", "reason": ""}
    assert web.post(url(Price, "add"), data).status_code == 302
    price = Price.objects.get()
    assert audit_rows("price", action="CREATE", record_id=str(price.pk), actor=superuser).exists()

    response = web.post(url(Price, "change", price.pk), {**data, "price": "190.10", "price_date": "2026-11-19",
                                                         "reason": "vendor correction"})

    assert response.status_code == 302
    price.refresh_from_db()
    assert (price.price, str(price.price_date), Price.objects.count()) == (Decimal("190.10"), "2026-11-20", 1)
    record = audit_rows("price", action="UPDATE").get()
    assert (record.before["price"], record.after["price"], record.reason) == ("189.25", "190.1", "vendor correction")


def test_changing_an_fx_rate_goes_through_the_upsert(web, superuser):
    data = {"base_currency": "EUR", "quote_currency": "USD", "rate_date": "2026-11-20", "rate": "1.0850",
            "source": "DEFAULT", "reason": ""}
    assert web.post(url(FxRate, "add"), data).status_code == 302
    fx = FxRate.objects.get()

    assert web.post(url(FxRate, "change", fx.pk), {**data, "rate": "1.0875"}).status_code == 302

    fx.refresh_from_db()
    assert fx.rate == Decimal("1.0875")
    assert list(audit_rows("fxrate").order_by("id").values_list("action", flat=True)) == ["CREATE", "UPDATE"]


def test_an_fx_rate_with_the_same_currency_twice_is_a_form_error(web):
    data = {"base_currency": "EUR", "quote_currency": "EUR", "rate_date": "2026-11-20", "rate": "1",
            "source": "DEFAULT", "reason": ""}

    response = web.post(url(FxRate, "add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"__all__": ["Constraint “fxrate_two_ccys” is violated."]}
    assert not FxRate.objects.exists()


def test_markets_are_audited_by_the_admin_itself(web, superuser):
    data = {"mic": "XSTO", "name": "Nasdaq Stockholm", "country": "SE", "settlement_calendar": "EXCHANGE"}
    assert web.post(url(Market, "add"), data).status_code == 302
    market = Market.objects.get(mic="XSTO")
    assert audit_rows("market", action="CREATE", record_id=str(market.pk), actor=superuser).exists()

    assert web.post(url(Market, "change", market.pk), {**data, "mic": "XXXX", "name": "Nasdaq Stockholm AB"}) \
        .status_code == 302

    market.refresh_from_db()
    assert (market.mic, market.name) == ("XSTO", "Nasdaq Stockholm AB")
    record = audit_rows("market", action="UPDATE").get()
    assert (record.before["name"], record.after["name"]) == ("Nasdaq Stockholm", "Nasdaq Stockholm AB")


def test_a_market_without_an_exchange_calendar_is_a_form_error(web):
    data = {"mic": "QQQQ", "name": "Nowhere", "country": "XX", "settlement_calendar": "EXCHANGE"}

    response = web.post(url(Market, "add"), data)

    assert response.status_code == 200
    assert "mic" in response.context["adminform"].form.errors
    assert not AuditRecord.objects.filter(record_type__startswith="records.").exists()


def test_a_rule_broken_between_the_trial_and_the_save_is_a_message_not_a_500(web, monkeypatch):
    real_create = reference.account_create
    calls = []

    def account_create_losing_a_race(**kwargs):
        calls.append(kwargs["code"])
        if len(calls) == 2:  # the real save, after the trial run passed
            raise ConflictError("Account with code 'CL-NEW' already exists.")
        return real_create(**kwargs)

    monkeypatch.setattr(reference, "account_create", account_create_losing_a_race)

    response = web.post(url(Account, "add"), account_form(), follow=True)

    assert response.status_code == 200
    assert "Not saved: Account with code" in response.content.decode()
    assert not Account.objects.filter(code="CL-NEW").exists()
    assert not AuditRecord.objects.filter(record_type__startswith="records.").exists()
    assert not LogEntry.objects.exists()
