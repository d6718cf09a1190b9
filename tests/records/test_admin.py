"""The records admin as a whole (records/admin.py registers every sub-domain's): every page opens, read-only
stays read-only, nothing is deleted. Saves through the services: test_admin_<sub-domain>.py."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from records.cash.models import CashBalance, CashMovement
from records.exports.models import ExportManifest
from records.positions.models import Position, StockMovement
from records.reference.models import Account, Counterparty, FxRate, Instrument, Market, Price
from records.retention.models import LegalHold
from records.trades.models import Trade
from records.trades.services import trade_amend
from tests.records.helpers_admin import url

pytestmark = pytest.mark.django_db

READ_ONLY = (AuditRecord, CashMovement, CashBalance, Position, StockMovement)
EDITABLE = (Market, Instrument, Account, Counterparty, Price, FxRate)


@pytest.fixture
def demo_data():
    call_command("load_demo", stdout=StringIO())


# Every page opens --------------------------------------------------------------------------------

def test_every_records_admin_page_opens_for_a_superuser_with_demo_data(web, demo_data):
    from records.audit.services.audit_chain import audit_seal

    call_command("load_demo", "--trades", "20", stdout=StringIO())
    trade = Trade.objects.order_by("id").first()
    trade_amend(actor=trade.submitted_by, trade_id=trade.pk, changes={"commission": Decimal("7")}, reason="admin test")
    audit_seal()
    from records.audit.services.audit_chain import audit_verification_run

    audit_verification_run(actor="job:test")
    from io import BytesIO

    from records.trades.files.services import trade_file_upload

    trade_file_upload(uploaded_by=trade.submitted_by, name="admin.csv", format="csv", stream=BytesIO(
        b"external_ref,account,counterparty,instrument,side,quantity,price,trade_date\nA-1,X,Y,Z,BUY,1,1,2026-11-20\n"))
    registered = [model for model in admin.site._registry if model._meta.app_label == "records"]
    assert set(READ_ONLY + EDITABLE) <= set(registered)
    from django.apps import apps

    assert set(apps.get_app_config("records").get_models()) == set(registered), "a records model has no admin"
    # Nothing here proposes a change, places a hold or makes a manifest: every other table has a row to open.
    assert {model for model in registered if not model.objects.exists()} == {ChangeRequest, ExportManifest, LegalHold}
    for model in registered:
        changelist = web.get(url(model, "changelist"))
        assert changelist.status_code == 200, model
        assert web.get(url(model, "changelist"), {"q": "A"}).status_code == 200, model
        obj = model.objects.order_by("pk").first()
        if obj is not None:  # tables later issues fill (approvals, holds, manifests) may still be empty
            assert web.get(url(model, "change", obj.pk)).status_code == 200, model
        expected_add = 200 if model in EDITABLE else 403
        assert web.get(url(model, "add")).status_code == expected_add, model


def test_list_filters_and_date_drilldown_work_on_the_big_tables(web, demo_data):
    price = Price.objects.order_by("-price_date").first()
    day = price.price_date
    drilldown = {"price_date__year": day.year, "price_date__month": day.month, "price_date__day": day.day}
    response = web.get(url(Price, "changelist"), drilldown)
    assert response.status_code == 200
    assert response.context["cl"].queryset.count() == Price.objects.filter(price_date=day).count()
    response = web.get(url(CashMovement, "changelist"), {"kind__exact": "DEPOSIT", "q": "HOUSE-EQ"})
    assert response.status_code == 200
    assert response.context["cl"].queryset.count() == 3
    response = web.get(url(AuditRecord, "changelist"), {"record_type": "records.instrument"})
    assert response.context["cl"].queryset.count() == 50
    assert web.get(url(Position, "changelist"), {"instrument__asset_class": "GOVT_BOND"}).status_code == 200


def test_the_admin_site_is_titled_for_the_back_office(web):
    assert "Back-office administration" in web.get(reverse("admin:index")).content.decode()


# Read-only models --------------------------------------------------------------------------------

def test_read_only_models_offer_no_add_change_or_delete(web, demo_data, rf, superuser):
    request = rf.get("/")
    request.user = superuser
    for model in READ_ONLY:
        model_admin = admin.site._registry[model]
        obj = model.objects.order_by("pk").first()
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request, obj), model
        assert not model_admin.has_delete_permission(request, obj), model
        assert model_admin.has_view_permission(request, obj), model

        changelist = web.get(url(model, "changelist")).content.decode()
        assert url(model, "add") not in changelist, model
        assert "delete_selected" not in changelist, model
        page = web.get(url(model, "change", obj.pk)).content.decode()
        assert 'name="_save"' not in page, model
        assert web.post(url(model, "change", obj.pk), {}).status_code == 403, model
        assert web.get(url(model, "delete", obj.pk)).status_code == 403, model
        assert web.post(url(model, "add"), {}).status_code == 403, model


def test_reference_data_cannot_be_deleted_in_the_admin(web, demo_data):
    for model in EDITABLE:
        obj = model.objects.order_by("pk").first()
        assert web.get(url(model, "delete", obj.pk)).status_code == 403, model
        assert web.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403, model
        assert model.objects.filter(pk=obj.pk).exists(), model
        assert "delete_selected" not in web.get(url(model, "changelist")).content.decode(), model
