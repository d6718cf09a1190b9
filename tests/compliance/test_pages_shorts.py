"""The pages of locates and borrows (/compliance/locates/) and of the penalty box (/compliance/penalty-box/):
compliance, operations, accounting and front office read them; compliance and operations record and end
locates; compliance releases from the penalty box; each refusal changes nothing."""

from datetime import timedelta
from decimal import Decimal

import lxml.html
import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.utils import timezone

from compliance.shorts import services
from compliance.shorts.models import Locate, PenaltyBoxEntry
from records.audit.models import AuditRecord
from tests.conftest import APPLE, MICROSOFT, make_user

pytestmark = pytest.mark.django_db
URL, ADD = "/compliance/locates/", "/compliance/locates/add/"
BOX = "/compliance/penalty-box/"


def signed_in_as(client, *roles):
    client.force_login(make_user("-".join(roles) or "none", *roles))
    return client


def doc(response):
    return lxml.html.fromstring(response.content.decode())


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def record(accounts, instruments, *, reference="LOC-1", kind="LOCATE", quantity="5000", valid_from=None,
           account="ACC-001", instrument="AAPL"):
    with transaction.atomic():
        return services.locate_create(actor="test", account=accounts[account], instrument=instruments[instrument],
                                      kind=kind, quantity=quantity, source="Prime broker A", reference=reference,
                                      valid_from=valid_from or timezone.localdate())


def state():
    return (list(Locate.objects.order_by("id").values()),
            AuditRecord.objects.filter(record_type="compliance.locate").count())


def form_data(**changes):
    return {"account": "ACC-001", "instrument": APPLE, "kind": "BORROW", "quantity": "12,500", "source": "Lender B",
            "reference": "BRW-77", "valid_from": timezone.localdate().isoformat(), "valid_to": "", **changes}


def test_anonymous_is_sent_to_log_in(client):
    assert client.get(URL).status_code == 302
    assert client.get(BOX).status_code == 302


@pytest.mark.parametrize("role", ["operations", "accounting", "compliance", "front_office"])
def test_readers_see_the_pages_and_writers_the_forms(client, accounts, instruments, role):
    record(accounts, instruments)
    page = signed_in_as(client, role).get(URL)
    assert page.status_code == 200
    assert bool(doc(page).xpath('//form[@id="locate-form"]')) is (role in ("operations", "compliance"))
    assert bool(doc(page).xpath('//table[@id="locates"]//form')) is (role in ("operations", "compliance"))
    assert client.get(BOX).status_code == 200


def test_no_role_is_refused(client, accounts, instruments):
    signed_in_as(client)
    assert client.get(URL).status_code == 403
    assert client.get(BOX).status_code == 403


def test_the_table_the_states_and_the_totals(client, accounts, instruments):
    today = timezone.localdate()
    record(accounts, instruments, reference="L-TODAY", quantity="1000")
    record(accounts, instruments, reference="B-OPEN", kind="BORROW", quantity="250.5",
           valid_from=today - timedelta(days=4))
    record(accounts, instruments, reference="L-NEXT", valid_from=today + timedelta(days=1), instrument="MSFT")
    record(accounts, instruments, reference="L-PAST", valid_from=today - timedelta(days=3))
    page = doc(signed_in_as(client, "compliance").get(URL))
    refs = page.xpath('//table[@id="locates"]/tbody/tr/td[5]/div/text()')
    assert sorted(refs) == ["B-OPEN", "L-NEXT", "L-TODAY"]  # past ones only when asked
    states = dict(zip(refs, [s.strip() for s in page.xpath('//table[@id="locates"]/tbody/tr/td[8]/span/text()')],
                      strict=True))
    assert states == {"B-OPEN": "In force", "L-NEXT": "Upcoming", "L-TODAY": "In force"}
    totals = [[c.text_content().strip() for c in row.xpath("td")]
              for row in page.xpath('//table[@id="totals"]/tbody/tr')]
    assert totals == [["ACC-001", APPLE, "Apple Inc.", "1,000", "250.5", "1,250.5", "2"]]
    past = doc(client.get(f"{URL}?state=ENDED"))
    assert past.xpath('//table[@id="locates"]/tbody/tr/td[5]/div/text()') == ["L-PAST"]
    on_day = doc(client.get(f"{URL}?active_on={(today + timedelta(days=1)).isoformat()}"))
    assert sorted(on_day.xpath('//table[@id="locates"]/tbody/tr/td[5]/div/text()')) == ["B-OPEN", "L-NEXT"]
    only = doc(client.get(f"{URL}?instrument=MSFT&state=ALL"))
    assert only.xpath('//table[@id="locates"]/tbody/tr/td[5]/div/text()') == ["L-NEXT"]


def test_an_unknown_account_in_the_filter_matches_nothing_and_says_so(client, accounts, instruments):
    record(accounts, instruments)
    response = signed_in_as(client, "operations").get(f"{URL}?account=NOPE")
    assert response.status_code == 200
    page = doc(response)
    assert page.xpath('//table[@id="locates"]/tbody/tr/td[@class="empty"]')
    assert "No account 'NOPE'." in page.xpath('string(//form[@role="search"])')


def test_operations_records_a_borrow_from_the_form(client, accounts, instruments):
    response = signed_in_as(client, "operations").post(ADD, form_data(), follow=True)
    assert response.status_code == 200
    locate = Locate.objects.get()
    assert (locate.kind, locate.quantity, locate.valid_to, locate.reference, locate.created_by.username) == (
        "BORROW", Decimal("12500"), None, "BRW-77", "operations")
    assert flash(response) == [f"Borrow BRW-77 recorded: 12,500 {APPLE} for ACC-001, "
                               f"{timezone.localdate().isoformat()} to returned."]


@pytest.mark.parametrize(("changes", "field"), [
    ({"account": "NOPE"}, "add-account"), ({"instrument": "US0000000000"}, "add-instrument"),
    ({"quantity": "0"}, "add-quantity"), ({"quantity": "-5"}, "add-quantity"), ({"quantity": "abc"}, "add-quantity"),
    ({"kind": "LEND"}, "add-kind"), ({"source": "a\x00b"}, "add-source"), ({"reference": ""}, "add-reference"),
    ({"valid_from": "2026-11-20", "valid_to": "2026-11-19"}, "add-valid_to"), ({"valid_from": "x"}, "add-valid_from"),
])
def test_a_bad_form_is_a_400_with_the_error_at_the_field_and_records_nothing(client, accounts, instruments, changes,
                                                                             field):
    before = state()
    response = signed_in_as(client, "compliance").post(ADD, form_data(**changes))
    assert response.status_code == 400
    errors = doc(response).xpath(f'//form[@id="locate-form"]//input[@id="{field}"]/../div[@class="field-error"]'
                                 f'|//form[@id="locate-form"]//select[@id="{field}"]/../div[@class="field-error"]')
    assert errors, response.content.decode()[:2000]
    assert state() == before


def test_a_used_reference_is_shown_on_the_form(client, accounts, instruments):
    record(accounts, instruments, reference="BRW-77")
    before = state()
    response = signed_in_as(client, "compliance").post(ADD, form_data())
    assert response.status_code == 400
    assert "BRW-77" in doc(response).xpath('string(//form[@id="locate-form"])')
    assert state() == before


def test_ending_from_the_page_returns_a_borrow_and_a_second_end_says_why_not(client, accounts, instruments):
    today = timezone.localdate()
    borrow = record(accounts, instruments, reference="B-1", kind="BORROW", valid_from=today - timedelta(days=2))
    signed_in_as(client, "operations")
    refused = client.post(f"/compliance/locates/{borrow.pk}/end/", {"reason": " "}, follow=True)
    assert flash(refused) == [f"Locate {borrow.pk} was not ended: give the reason it ends."]
    assert Locate.objects.get().ended_at is None
    response = client.post(f"/compliance/locates/{borrow.pk}/end/", {"reason": "returned"}, follow=True)
    assert flash(response)[-1:] == [f"Borrow B-1 ended: it covers short sales up to "
                               f"{(today - timedelta(days=1)).isoformat()}, none from today on."]
    again = client.post(f"/compliance/locates/{borrow.pk}/end/", {"reason": "returned"}, follow=True)
    assert "already ended" in flash(again)[0]


def test_readers_cannot_write(client, accounts, instruments):
    locate = record(accounts, instruments)
    before = state()
    for role in ("accounting", "front_office"):
        signed_in_as(client, role)
        assert client.post(ADD, form_data()).status_code == 403
        assert client.post(f"/compliance/locates/{locate.pk}/end/", {"reason": "x"}).status_code == 403
    assert state() == before
    assert client.get(ADD).status_code == 405


# The penalty box --------------------------------------------------------------------------------------

def entry(accounts, instruments, *, fail_id=1, instrument="AAPL", released=False):
    today = timezone.localdate()
    return PenaltyBoxEntry.objects.create(
        account=accounts["ACC-001"], instrument=instruments[instrument], fail_id=fail_id,
        close_out_deadline=today - timedelta(days=10), since=today - timedelta(days=7), reason="fail past deadline",
        released_on=today if released else None)


def test_the_penalty_box_lists_accounts_in_it_with_the_fail_and_the_days(client, accounts, instruments):
    open_entry = entry(accounts, instruments, fail_id=41)
    entry(accounts, instruments, fail_id=42, instrument="MSFT", released=True)
    page = doc(signed_in_as(client, "operations").get(BOX))
    rows = page.xpath('//table[@id="penalty-box"]/tbody/tr')
    assert len(rows) == 1
    cells = [c.text_content().strip() for c in rows[0].xpath("td")]
    assert cells[:7] == ["ACC-001", f"{APPLE} AAPL", "Fail 41", open_entry.close_out_deadline.isoformat(),
                         open_entry.since.isoformat(), "7", "Pre-borrow required"]
    assert rows[0].xpath("td[3]/a/@href") == ["/settlements/fails/41/"]
    assert not rows[0].xpath(".//form")  # operations reads, compliance releases
    released = doc(client.get(f"{BOX}?show=RELEASED")).xpath('//table[@id="penalty-box"]/tbody/tr/td[3]')
    assert [c.text_content() for c in released] == ["Fail 42"]
    assert [c.text_content() for c in doc(client.get(f"{BOX}?show=ALL&instrument={MICROSOFT}")).xpath(
        '//table[@id="penalty-box"]/tbody/tr/td[3]')] == ["Fail 42"]


def test_compliance_releases_from_the_page_with_a_reason(client, accounts, instruments):
    box = entry(accounts, instruments)
    signed_in_as(client, "operations")
    assert client.post(f"{BOX}{box.pk}/release/", {"reason": "x"}).status_code == 403
    signed_in_as(client, "compliance")
    assert doc(client.get(BOX)).xpath(f'//form[@action="{BOX}{box.pk}/release/"]')
    refused = client.post(f"{BOX}{box.pk}/release/", {"reason": ""}, follow=True)
    assert flash(refused) == [f"Entry {box.pk} was not released: give the reason."]
    assert PenaltyBoxEntry.objects.get().released_on is None
    response = client.post(f"{BOX}{box.pk}/release/", {"reason": "bought in"}, follow=True)
    assert flash(response)[-1:] == [f"ACC-001 released from the penalty box for {APPLE}: its short sales there "
                                    f"no longer need a pre-borrow."]
    stored = PenaltyBoxEntry.objects.get()
    assert (stored.released_on, stored.release_reason, stored.released_by.username) == (
        timezone.localdate(), "bought in", "compliance")
    again = client.post(f"{BOX}{box.pk}/release/", {"reason": "again"}, follow=True)
    assert "already released" in flash(again)[0]
