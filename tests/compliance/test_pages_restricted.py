"""The restricted list's page (/compliance/restricted-list/): compliance, operations and accounting read it;
compliance adds entries and ends them (with a reason, after a confirmation); front office is refused.
"""

from datetime import date, timedelta

import lxml.html
import pytest
from django.db import transaction
from django.utils import timezone

from compliance.restricted import services
from compliance.restricted.models import RestrictedInstrument
from records.audit.models import AuditRecord
from tests.conftest import APPLE, MICROSOFT, make_user
from tests.pages import table_rows

pytestmark = pytest.mark.django_db
URL = "/compliance/restricted-list/"
ADD = "/compliance/restricted-list/add/"


@pytest.fixture
def officer(db):
    return make_user("officer", "compliance")


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def signed_in_as(client, *roles):
    client.force_login(make_user("-".join(roles) or "none", *roles))
    return client


def restrict(instrument, effective_from, effective_to=None, reason="Advisory mandate", actor="test"):
    with transaction.atomic():
        return services.restricted_create(actor=actor, instrument=instrument, reason=reason,
                                          effective_from=effective_from, effective_to=effective_to)


def state():
    return (list(RestrictedInstrument.objects.order_by("id").values()),
            AuditRecord.objects.filter(record_type="compliance.restrictedinstrument").count())


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={URL}"


@pytest.mark.parametrize("role", ["operations", "accounting", "compliance"])
def test_readers_see_the_page(client, instruments, role):
    response = signed_in_as(client, role).get(URL)
    assert response.status_code == 200
    assert (b'id="restricted-form"' in response.content) is (role == "compliance")


def test_front_office_is_refused(client, instruments):
    assert signed_in_as(client, "front_office").get(URL).status_code == 403
    assert client.post(ADD, {"instrument": APPLE, "effective_from": "2026-11-01", "reason": "r"}).status_code == 403
    assert not RestrictedInstrument.objects.exists()


def test_the_table_shows_current_entries_by_default_and_past_ones_on_request(officer_client, instruments):
    today = timezone.localdate()
    past = restrict(instruments["AAPL"], today - timedelta(days=9), today - timedelta(days=2), reason="Old mandate")
    current = restrict(instruments["AAPL"], today - timedelta(days=1), reason="MNPI")
    future = restrict(instruments["MSFT"], today + timedelta(days=2), today + timedelta(days=5), reason="Deal")

    def ids(query=""):
        return [row[0] for row in table_rows(officer_client.get(URL + query), "restricted")]

    rows = table_rows(officer_client.get(URL), "restricted")
    assert [row[:7] for row in rows] == [
        [str(future.pk), MICROSOFT, "Microsoft", (today + timedelta(days=2)).isoformat(),
         (today + timedelta(days=5)).isoformat(), "Upcoming", "Deal"],
        [str(current.pk), APPLE, "Apple Inc.", (today - timedelta(days=1)).isoformat(), "—", "In effect", "MNPI"],
    ]
    assert ids("?state=ENDED") == [str(past.pk)]
    assert ids("?state=ALL") == [str(future.pk), str(current.pk), str(past.pk)]
    assert ids("?state=ACTIVE") == [str(current.pk)]
    assert ids(f"?active_on={(today - timedelta(days=3)).isoformat()}") == [str(past.pk)]
    assert ids("?instrument=MSFT") == [str(future.pk)]
    response = officer_client.get(URL + "?instrument=NOPE")
    assert ids("?instrument=NOPE") == [] and b"No instrument with ISIN or symbol" in response.content


def test_compliance_adds_an_entry(officer_client, officer, instruments):
    response = officer_client.post(ADD, {"instrument": APPLE.lower(), "effective_from": "2026-11-01",
                                         "effective_to": "", "reason": "Advisory mandate: MNPI"})
    assert response.status_code == 302 and response["Location"] == URL
    entry = RestrictedInstrument.objects.get()
    assert (entry.instrument.isin, entry.effective_from, entry.effective_to, entry.reason, entry.created_by) == (
        APPLE, date(2026, 11, 1), None, "Advisory mandate: MNPI", officer)
    page = officer_client.get(URL)
    assert f"{APPLE} is on the restricted list from 2026-11-01 (entry {entry.pk}).".encode() in page.content


@pytest.mark.parametrize(("data", "field"), [
    ({"instrument": "US0000000000"}, "instrument"),
    ({"effective_from": "2026-11-31"}, "effective_from"),
    ({"effective_to": "2026-10-01"}, "effective_to"),
    ({"reason": "  "}, "reason"),
    ({"reason": "a\x00b"}, "reason"),
    ({"reason": "x" * 501}, "reason"),
])
def test_a_refused_entry_is_shown_on_the_form_and_adds_nothing(officer_client, instruments, data, field):
    before = state()
    response = officer_client.post(ADD, {"instrument": APPLE, "effective_from": "2026-11-01", "effective_to": "",
                                         "reason": "r", **data})
    assert response.status_code == 400
    doc = lxml.html.fromstring(response.content.decode())
    assert doc.xpath(f'//form[@id="restricted-form"]//*[@name="{field}"]/ancestor::div[contains(@class, '
                     f'"has-error")]')
    assert state() == before


def test_compliance_ends_an_entry_with_a_reason_after_a_confirmation(officer_client, officer, instruments):
    today = timezone.localdate()
    entry = restrict(instruments["AAPL"], today - timedelta(days=3))
    page = lxml.html.fromstring(officer_client.get(URL).content.decode())
    [form] = page.xpath(f'//form[@action="/compliance/restricted-list/{entry.pk}/end/"]')
    assert form.get("data-confirm") == f"End entry {entry.pk} ({APPLE})? Trades dated from today on will book."
    response = officer_client.post(f"{URL}{entry.pk}/end/", {"reason": "Deal announced"})
    assert response.status_code == 302 and response["Location"] == URL
    entry.refresh_from_db()
    assert (entry.effective_to, entry.ended_by, entry.end_reason) == (today - timedelta(days=1), officer,
                                                                       "Deal announced")
    shown = officer_client.get(URL + "?state=ENDED")
    assert table_rows(shown, "restricted")[0][5] == "Ended"
    assert f"Entry {entry.pk} ({APPLE}) ended".encode() in shown.content


def test_ending_without_a_reason_or_twice_changes_nothing(officer_client, instruments):
    entry = restrict(instruments["AAPL"], timezone.localdate() - timedelta(days=3))
    before = state()
    response = officer_client.post(f"{URL}{entry.pk}/end/", {"reason": " "}, follow=True)
    assert f"Entry {entry.pk} was not ended: give the reason it ends.".encode() in response.content
    assert state() == before
    officer_client.post(f"{URL}{entry.pk}/end/", {"reason": "done"})
    before = state()
    response = officer_client.post(f"{URL}{entry.pk}/end/", {"reason": "again"}, follow=True)
    assert f"Restricted-list entry {entry.pk} was already ended on".encode() in response.content
    assert state() == before


@pytest.mark.parametrize("role", ["operations", "accounting", "front_office"])
def test_only_compliance_ends_an_entry(client, instruments, role):
    entry = restrict(instruments["AAPL"], timezone.localdate() - timedelta(days=3))
    before = state()
    assert signed_in_as(client, role).post(f"{URL}{entry.pk}/end/", {"reason": "x"}).status_code == 403
    assert state() == before


def test_the_admin_shows_entries_read_only(client, instruments):
    entry = restrict(instruments["AAPL"], date(2026, 11, 1), reason="Advisory mandate")
    client.force_login(make_user("root-admin", superuser=True))
    base = "/admin/compliance/restrictedinstrument/"
    changelist = client.get(base, {"q": APPLE})
    assert changelist.status_code == 200 and b"Advisory mandate" in changelist.content
    assert b"delete_selected" not in changelist.content and f"{base}add/".encode() not in changelist.content
    page = client.get(f"{base}{entry.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    before = state()
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{entry.pk}/change/", {"reason": "changed"}).status_code == 403
    assert client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert state() == before


def test_the_form_and_the_filter_bar_have_distinct_ids(officer_client, instruments):
    doc = lxml.html.fromstring(officer_client.get(URL).content.decode())
    ids = doc.xpath("//@id")
    assert len(ids) == len(set(ids))
    assert doc.xpath('//form[@id="restricted-form"]//label[@for="add-instrument"]')
