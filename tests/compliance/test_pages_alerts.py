"""The alert pages: the queue (filters, counts, SLA highlights, bulk assign), an alert's page (evidence linked,
history, the steps its state allows), and the daily summary (exact figures on a small dataset)."""

from datetime import timedelta

import lxml.html
import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from compliance.alerts import services
from compliance.alerts.models import Alert, AlertEvent
from compliance.shorts.models import PenaltyBoxEntry
from records.trades.models import Trade, TradeEvent
from tests.compliance.alerts_data import age, raise_alerts
from tests.conftest import make_user
from tests.pages import table_rows
from tests.settlements.helpers_fails import desk  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db
QUEUE = "/compliance/alerts/"
SUMMARY = "/compliance/summary/"


@pytest.fixture
def officer(db):
    return make_user("officer", "compliance")


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def _doc(response):
    return lxml.html.fromstring(response.content.decode())


def _row_classes(response) -> dict[int, str]:
    rows = _doc(response).xpath('//table[@id="alerts"]/tbody/tr[@data-alert]')
    return {int(tr.get("data-alert")): tr.get("class") or "" for tr in rows}


def test_anonymous_is_sent_to_log_in_and_front_office_refused(client):
    assert client.get(QUEUE).status_code == 302
    client.force_login(make_user("fo", "front_office"))
    assert client.get(QUEUE).status_code == 403
    assert client.get(SUMMARY).status_code == 403
    assert client.post(f"{QUEUE}assign/", {"ids": [1], "owner": "x"}).status_code == 403


@pytest.mark.parametrize("role", ["operations", "accounting"])
def test_readers_see_the_queue_without_the_work_controls(client, accounts, role):
    alert = raise_alerts(1, account=accounts["ACC-001"])[0]
    client.force_login(make_user("reader", role))
    response = client.get(QUEUE)
    assert [row[0] for row in table_rows(response, "alerts")] == [str(alert.pk)]
    assert not _doc(response).xpath('//form[@id="bulk-form"]')
    page = client.get(f"{QUEUE}{alert.pk}/")
    assert page.status_code == 200 and not _doc(page).xpath('//section[@id="work-alert"]')
    assert client.post(f"{QUEUE}{alert.pk}/close/", {"disposition": "x"}).status_code == 403


def test_the_queue_highlights_breached_and_near_breach_slas_and_counts_them(officer_client, accounts):
    fresh, near, breached, closed = raise_alerts(4, account=accounts["ACC-001"])
    age(near, hours=20)      # HIGH: 24 h, 4 h left (the last quarter)
    age(breached, hours=25)  # 1 h past due
    age(closed, hours=30)
    with transaction.atomic():
        services.alert_close(actor="test", alert_id=closed.pk, disposition="Known client pattern.")
    response = officer_client.get(QUEUE)
    classes = _row_classes(response)
    assert set(classes) == {fresh.pk, near.pk, breached.pk}  # open ones by default
    assert classes[breached.pk] == "sla-breached" and classes[near.pk] == "sla-near" and classes[fresh.pk] == ""
    doc = _doc(response)
    assert doc.xpath('string(//*[@id="count-overdue"]//*[@class="count-value"])') == "1"
    assert doc.xpath('string(//*[@id="count-state-CLOSED"]//*[@class="count-value"])') == "1"
    assert doc.xpath('string(//*[@id="count-state-OPEN"]//*[@class="count-value"])') == "3"
    assert doc.xpath('string(//*[@id="count-severity-HIGH"]//*[@class="count-value"])') == "3"
    assert doc.xpath('string(//*[@id="count-unassigned"]//*[@class="count-value"])') == "3"
    assert set(_row_classes(officer_client.get(QUEUE + "?overdue=on"))) == {breached.pk}
    assert set(_row_classes(officer_client.get(QUEUE + "?state=ALL"))) == {fresh.pk, near.pk, breached.pk, closed.pk}
    assert set(_row_classes(officer_client.get(QUEUE + "?state=CLOSED"))) == {closed.pk}


def test_queue_filters(officer_client, officer, accounts):
    mine = raise_alerts(2, account=accounts["ACC-001"])
    house = raise_alerts(1, rule_code="structuring", account=accounts["HOUSE"], subject_type="CASH_MOVEMENT")
    with transaction.atomic():
        services.alert_assign(actor="test", alert_id=mine[0].pk, owner=officer)
    assert set(_row_classes(officer_client.get(QUEUE + "?account=HOUSE"))) == {house[0].pk}
    assert set(_row_classes(officer_client.get(QUEUE + "?rule=wash-trades"))) == {a.pk for a in mine}
    assert set(_row_classes(officer_client.get(QUEUE + "?kind=STRUCTURING"))) == {house[0].pk}
    assert set(_row_classes(officer_client.get(QUEUE + "?owner=officer"))) == {mine[0].pk}
    assert set(_row_classes(officer_client.get(QUEUE + "?owner=unassigned"))) == {mine[1].pk, house[0].pk}
    assert set(_row_classes(officer_client.get(QUEUE + "?severity=CRITICAL"))) == set()
    response = officer_client.get(QUEUE + "?account=NOPE")  # a mistyped account shows nothing, and says so
    assert _row_classes(response) == {} and "No account &#x27;NOPE&#x27;" in response.content.decode()
    today = timezone.localdate()
    assert set(_row_classes(officer_client.get(f"{QUEUE}?date_from={today}&date_to={today}"))) == \
        {mine[0].pk, mine[1].pk, house[0].pk}
    assert _row_classes(officer_client.get(f"{QUEUE}?date_to={today - timedelta(days=1)}")) == {}


def test_bulk_assign_from_the_queue(officer_client, officer):
    alerts = raise_alerts(3)
    with transaction.atomic():
        services.alert_close(actor="test", alert_id=alerts[2].pk, disposition="dup")
    response = officer_client.post(f"{QUEUE}assign/", {"ids": [a.pk for a in alerts], "owner": "officer",
                                                       "next": "/compliance/alerts/?severity=HIGH"}, follow=True)
    assert response.redirect_chain[-1][0] == "/compliance/alerts/?severity=HIGH"
    assert "2 alerts assigned to officer; 1 closed, left as it was." in response.content.decode()
    assert list(Alert.objects.filter(owner=officer).order_by("pk").values_list("pk", flat=True)) == \
        [alerts[0].pk, alerts[1].pk]
    # an outside "next" is not followed; no ticks is a message, not an error page
    response = officer_client.post(f"{QUEUE}assign/", {"owner": "officer", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == QUEUE


def test_the_alert_page_links_its_evidence_and_shows_its_history(officer_client, accounts, instruments):
    alert = raise_alerts(1, account=accounts["ACC-001"], instrument=instruments["AAPL"])[0]
    Alert.objects.filter(pk=alert.pk).update(evidence={
        "records": [{"type": "TRADE", "id": 41, "label": "BUY 100 AAPL @ 190"},
                    {"type": "ACCOUNT", "id": accounts["ACC-001"].pk, "label": "ACC-001 Client One"},
                    {"type": "FAIL", "id": 7, "label": "fail 7"},
                    {"type": "CASH_MOVEMENT", "id": 9, "label": "deposit 9,900 USD"},
                    {"type": "INSTRUMENT", "id": instruments["AAPL"].pk, "label": "AAPL"}],
        "figures": {"price_band_pct": "0.5"}})
    response = officer_client.get(f"{QUEUE}{alert.pk}/")
    links = [a.get("href") for a in _doc(response).xpath('//table[@id="evidence-records"]//td[2]/a')]
    assert links == [reverse("records:trade-detail", args=[41]), reverse("records:accounts") + "?search=ACC-001",
                     reverse("settlements:fail-detail", args=[7]),
                     reverse("records:cash-balances") + "?account=ACC-001",
                     reverse("records:instruments") + "?search=US0378331005"]
    assert "Price band pct" in response.content.decode()
    steps = {f.get("id") for f in _doc(response).xpath('//section[@id="work-alert"]//form')}
    assert steps == {"investigate-form", "assign-form", "escalate-form", "close-form", "note-form"}


def test_working_an_alert_from_its_page(officer_client, officer):
    alert = raise_alerts(1)[0]
    url = f"{QUEUE}{alert.pk}/"
    assert officer_client.post(url + "investigate/").status_code == 302
    assert officer_client.post(url + "escalate/", {"note": "Needs the MLRO."}).status_code == 302
    response = officer_client.post(url + "close/", {"disposition": "   "})
    assert response.status_code == 400 and "This field may not be blank." in response.content.decode()
    response = officer_client.post(url + "close/", {"disposition": "Filed a SAR."}, follow=True)
    assert f"Alert {alert.pk} is closed." in response.content.decode()
    alert.refresh_from_db()
    assert (alert.state, alert.owner, alert.disposition) == ("CLOSED", officer, "Filed a SAR.")
    steps = {f.get("id") for f in _doc(response).xpath('//section[@id="work-alert"]//form')}
    assert steps == {"reopen-form", "note-form"}
    timeline = [li.xpath("string(.//span[@class='strong'])")
                for li in _doc(response).xpath('//ol[@class="timeline"]/li')]
    assert timeline == ["Opened", "Investigation started", "Escalated", "Closed"]
    # a step the state forbids is a message, nothing changes
    response = officer_client.post(url + "escalate/", {"note": "again"}, follow=True)
    assert "it cannot be escalated" in response.content.decode()
    assert AlertEvent.objects.filter(alert=alert).count() == 4
    assert officer_client.post(url + "explode/").status_code == 404


def test_the_daily_summary_counts_exactly(officer_client, desk, accounts, instruments):  # noqa: F811
    today = timezone.localdate()
    wash = raise_alerts(3, account=accounts["ACC-001"])                       # HIGH, opened today
    raise_alerts(1, rule_code="large-trade", start=50)                        # MEDIUM, opened today
    fail_rule = raise_alerts(1, rule_code="fail-close-out", subject_type="FAIL", start=70)[0]  # CRITICAL
    old = raise_alerts(1, rule_code="large-trade", start=60)[0]
    Alert.objects.filter(pk=old.pk).update(opened_at=timezone.now() - timedelta(days=3),
                                           due_at=timezone.now() - timedelta(hours=1))  # opened earlier, overdue
    with transaction.atomic():
        services.alert_close(actor="test", alert_id=wash[0].pk, disposition="ok")
        services.alert_escalate(actor="test", alert_id=wash[1].pk, note="why")
    held = desk.trade("AAPL", "BUY")
    desk.trade("MSFT", "BUY")  # booked, not held
    Trade.objects.filter(pk=held.pk).update(status="HELD", hold_reasons=["Price 25% away from the last price"])
    # As the services do, the change of status has its lifecycle event (what finds held trades: trades_in_status).
    TradeEvent.objects.create(trade=held, at=timezone.now(), actor_label="test", action="HOLD", from_status="BOOKED",
                              to_status="HELD")
    late = desk.fail(close_out_deadline=today - timedelta(days=1))
    desk.fail(close_out_deadline=today)                                         # due today: not past
    desk.fail(close_out_deadline=today - timedelta(days=2), closed_on=today - timedelta(days=1))  # closed
    PenaltyBoxEntry.objects.create(account=accounts["ACC-001"], instrument=instruments["AAPL"], fail_id=late.pk,
                                   close_out_deadline=late.close_out_deadline, since=today, reason="late close-out")
    PenaltyBoxEntry.objects.create(account=accounts["HOUSE"], instrument=instruments["MSFT"], fail_id=999,
                                   close_out_deadline=today - timedelta(days=9), since=today - timedelta(days=8),
                                   reason="old", released_on=today - timedelta(days=2))  # released: out

    response = officer_client.get(SUMMARY)
    doc = _doc(response)

    def figure(name):
        return doc.xpath(f'string(//*[@id="figure-{name}"]//*[@class="figure-value"])')

    assert (figure("opened"), figure("closed"), figure("open"), figure("overdue")) == ("5", "1", "5", "1")
    assert (figure("held"), figure("fails"), figure("penalty-box")) == ("1", "1", "1")
    opened = [[" ".join(td.text_content().split()) for td in tr.xpath("./td")]
              for tr in doc.xpath('//section[@id="opened"]//tbody/tr')]
    assert opened == [["Fail close out", "1", "0", "0", "0", "1"], ["Large trade", "0", "0", "1", "0", "1"],
                      ["Wash trade", "0", "3", "0", "0", "3"]]
    closed = [[" ".join(td.text_content().split()) for td in tr.xpath("./td")]
              for tr in doc.xpath('//section[@id="closed"]//tbody/tr')]
    assert closed == [["Wash trade", "0", "1", "0", "0", "1"]]
    held_rows = doc.xpath('//section[@id="held-trades"]//tbody/tr/td[1]/a/@href')
    assert held_rows == [reverse("records:trade-detail", args=[held.pk])]
    assert doc.xpath('//section[@id="fails-past-deadline"]//tbody/tr/td[1]/a/@href') == \
        [reverse("settlements:fail-detail", args=[late.pk])]
    assert [td.text_content() for td in doc.xpath('//section[@id="penalty-box"]//tbody/tr/td[1]')] == ["ACC-001"]
    assert fail_rule.severity == "CRITICAL"

    # another day: nothing opened or closed then; the penalty-box entry released two days ago was in force
    earlier = officer_client.get(f"{SUMMARY}?day={(today - timedelta(days=3)).isoformat()}")
    doc = _doc(earlier)
    assert doc.xpath('string(//*[@id="figure-opened"]//*[@class="figure-value"])') == "1"  # the old one
    assert doc.xpath('string(//*[@id="figure-penalty-box"]//*[@class="figure-value"])') == "1"
    assert officer_client.get(f"{SUMMARY}?day=nonsense").status_code == 200  # shown as a form error, today used


def test_the_summary_blocks_are_one_query_each(officer_client, django_assert_max_num_queries):
    raise_alerts(20)
    with django_assert_max_num_queries(25):
        assert officer_client.get(SUMMARY).status_code == 200


def test_the_navigation_lists_alerts_first_then_the_summary(officer_client):
    from tests.pages import nav_links

    labels = [label for label, _href, _active in nav_links(officer_client.get(QUEUE))]
    start = labels.index("Alerts")
    assert labels[start + 1] == "Daily summary"
