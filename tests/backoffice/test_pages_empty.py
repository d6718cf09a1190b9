"""Every list page says once that a table is empty: one empty-state row spanning the table, no second message.

Each page is rendered with no data of its own. For every table on it (table.grid) with no rows,
exactly one empty-state element (td.empty) inside it, spanning every column; for a table with rows,
none. Outside the tables, no other empty-state message: the pager shows no count when there is
nothing to count, and a list that is not a table (the approvals to decide) has one .empty-note.
"""

import lxml.html
import pytest
from django.utils import timezone

from records.audit.models import AuditRecord
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

EMPTY_STATES = '//*[contains(concat(" ", normalize-space(@class), " "), " empty ") or ' \
               'contains(concat(" ", normalize-space(@class), " "), " empty-note ")]'

# page -> {table id: the empty-state message}; a page's other tables have rows (seeded by migrations).
PAGES = {
    "/": {"cash-totals": "No cash balances yet."},
    "/jobs/": {"jobs": "No job runs yet: the scheduled jobs, the API and the pages that start jobs add them here."},
    "/jobs/?status=FAILED": {"jobs": "No job runs match these filters."},
    "/records/instruments/": {"instruments": "No instruments match these filters."},
    "/records/accounts/": {"accounts": "No accounts match these filters."},
    "/records/counterparties/": {"counterparties": "No counterparties match these filters."},
    "/records/prices/": {"prices": "No prices match these filters."},
    "/records/cash/": {"cash-balances": "No cash balances match these filters."},
    "/records/positions/": {"positions": "No positions match these filters."},
    "/records/trades/": {"trades": "No trades match these filters."},
    "/records/inventory/": {"inventory": "No positions on {today}.",
                            "pending-settlements": "Nothing left to settle: every booked trade has settled."},
    "/clearing/confirmations/": {"confirmations": "No confirmations received yet: counterparties send them through "
                                                  "the API, or upload their file."},
    "/clearing/breaks/": {"breaks": "No breaks: every confirmation received has matched a trade or been resolved."},
    "/clearing/runs/": {"runs": "No clearing runs yet: the beat nets the next settlement date every weekday at the "
                                "cut-off, or run netting for a date above."},
    "/clearing/obligations/": {"obligations": "No obligations yet: a clearing run creates them from the trades it "
                                              "nets."},
    "/settlements/instructions/": {"instructions": "Nothing open: every instruction has settled or been cancelled."},
    "/settlements/ssis/": {"ssis": "No standing settlement instructions yet: every instruction is held until its "
                                   "counterparty has one."},
    # The aging charts are not tables: their panel says once that there is nothing to chart.
    "/settlements/fails/": {None: "No open fails on {today}.",
                            "close-out-table": "No Reg SHO close-out is due or overdue on {today}.",
                            "fail-table": "No fails open on {today}: every instruction due by then settled.",
                            "penalty-summary": "No penalties accrued in {month}: a day's penalties accrue once it is "
                                               "over, as the next settlement run ends (or the early beat, or Accrue "
                                               "below)."},
    "/settlements/runs/": {"runs": "No settlement runs yet: the beat settles today every weekday at 15:30, or run "
                                   "settlement for a date above."},
    "/records/retention/": {"active-holds": "No active legal holds.", "tombstones": "Nothing purged yet.",
                            "released-holds": "No released holds."},
    "/records/exports/": {"manifests": "No manifests yet: the daily export job writes one per business date."},
    # The users the test signs in are audited: a filter that matches none of them.
    "/records/audit/?record_type=records.trade": {"audit": "No audit records match these filters."},
    "/records/audit/?record_type=records.trade&after=1": {"audit": "No audit records match these filters."},
    "/records/approvals/?tab=mine": {"my-proposals": "You have proposed no changes."},
}


@pytest.fixture
def clerk(client):
    client.force_login(make_user("clerk", superuser=True))
    return client


def _text(element) -> str:
    return " ".join(element.text_content().split())


def _columns(table) -> int:
    header = table.xpath("./thead/tr")
    return sum(int(cell.get("colspan", 1)) for cell in header[-1].xpath("./th|./td")) if header else 0


def _name(table) -> str:
    named = table.xpath("ancestor-or-self::*[@id][1]")
    return named[-1].get("id") if named else "?"


def empty_states(html: str) -> dict:
    """Return {table id: [empty-state texts]} for every empty grid table (a table without an id by the
    id of its section), and None: [the empty-state messages outside any table]."""
    doc = lxml.html.fromstring(html)
    found = {None: [_text(el) for el in doc.xpath(EMPTY_STATES) if not el.xpath("ancestor::table")]}
    # A pager with nothing to count says nothing ("No rows" would be the table's message again).
    found[None] += [_text(el) for el in doc.xpath('//*[@class="pager-count"]')
                    if _text(el) and not any(ch.isdigit() for ch in _text(el))]
    for table in doc.xpath('//table[contains(@class, "grid")]'):
        rows = [tr for tr in table.xpath("./tbody/tr") if not tr.xpath('./td[contains(@class, "empty")]')]
        states = table.xpath("." + EMPTY_STATES)
        if rows:
            assert not states, f"table {_name(table)} has rows and an empty-state message"
            continue
        for state in states:
            assert int(state.get("colspan", 1)) == _columns(table), f"{_name(table)}: the message spans a part"
        found[_name(table)] = [_text(state) for state in states]
    return found


@pytest.mark.parametrize("url", sorted(PAGES))
def test_each_empty_table_shows_one_message_and_nothing_else_says_it_again(clerk, url):
    response = clerk.get(url)
    assert response.status_code == 200
    today = timezone.localdate()
    month = f"{today:%B %Y} up to {today.day} {today:%b}"
    expected = {table: [message.format(today=today.isoformat(), month=month)]
                for table, message in PAGES[url].items()}
    assert empty_states(response.content.decode()) == {None: [], **expected}


def test_with_nothing_to_decide_the_approvals_page_says_so_once(clerk):
    assert empty_states(clerk.get("/records/approvals/").content.decode()) == {None: [
        "Nothing awaits your decision. Changes you propose yourself are decided by someone else: see My proposals."]}


def test_an_audit_record_made_alone_says_once_that_nothing_else_was_changed_with_it(clerk):
    record = AuditRecord.objects.filter(record_type="auth.user", correlation_id="").earliest("id")
    states = empty_states(clerk.get(f"/records/audit/{record.pk}/").content.decode())
    # Its history holds the record itself; nothing else came from its request or job.
    assert states == {None: [], "same-cause": ["Not made by a request or a job: nothing else to show."]}
