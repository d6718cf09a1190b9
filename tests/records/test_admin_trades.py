"""The trade admin: trades, versions and lifecycle events are read-only, searchable, and cheap to list."""

import lxml.html
import pytest

from tests.conftest import SAP

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["trade", "tradeversion", "tradeevent"])
def test_trade_admin_is_read_only(admin_signed_in, amended, model):
    changelist = admin_signed_in.get(f"/admin/records/{model}/")
    assert changelist.status_code == 200
    assert f"/admin/records/{model}/add/".encode() not in changelist.content
    assert admin_signed_in.get(f"/admin/records/{model}/add/").status_code == 403
    obj_id = {"trade": amended.pk, "tradeversion": amended.versions.first().pk,
              "tradeevent": amended.events.first().pk}[model]
    view = admin_signed_in.get(f"/admin/records/{model}/{obj_id}/change/")
    assert view.status_code == 200
    assert b'name="_save"' not in view.content
    assert admin_signed_in.get(f"/admin/records/{model}/{obj_id}/delete/").status_code == 403
    assert admin_signed_in.post(f"/admin/records/{model}/{obj_id}/change/", {}).status_code == 403


def test_trade_admin_page_shows_versions_and_lifecycle_inline(admin_signed_in, amended):
    content = admin_signed_in.get(f"/admin/records/trade/{amended.pk}/change/").content.decode()
    assert "Superseded versions" in content and "Lifecycle" in content
    assert "Price per fill report" in content and "Second fill allocated" in content
    assert "189.25" in content  # version 1's price, as a plain decimal


@pytest.mark.parametrize(("query", "expected"), [
    ("q=OMS-0001", ["OMS-0001"]),
    ("q=OMS-001*", ["OMS-0011", "OMS-0010"]),
    ("q=house", ["OMS-0011", "OMS-0003", "OMS-0002"]),
    (f"q={SAP}", ["OMS-0003"]),
    ("status__exact=HELD", ["BIG-0001"]),
    ("side__exact=SELL", ["OMS-0011", "OMS-0010", "OMS-0002"]),
])
def test_trade_admin_search_and_filters(admin_signed_in, blotter, query, expected):
    response = admin_signed_in.get(f"/admin/records/trade/?{query}")
    doc = lxml.html.fromstring(response.content.decode())
    assert [" ".join(td.text_content().split()) for td in doc.xpath('//table[@id="result_list"]//td[1]')] == expected


def test_trade_admin_list_costs_a_fixed_number_of_queries(admin_signed_in, many_trades,
                                                           django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        assert admin_signed_in.get("/admin/records/trade/").status_code == 200
