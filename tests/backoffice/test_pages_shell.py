"""The dashboard shell: signing in and out, the home page's figures, and the navigation."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from backoffice import navigation
from backoffice.navigation import Entry, Section, navigation_for
from records.audit.models import AuditRecord
from records.audit.services.audit import content_hash
from tests.conftest import make_user
from tests.pages import figures, nav_links, table_rows

pytestmark = pytest.mark.django_db

PAGES = ["home", "records:instruments", "records:accounts", "records:counterparties", "records:prices",
         "records:cash-balances", "records:positions"]


@pytest.mark.parametrize("url_name", PAGES)
def test_anonymous_user_is_sent_to_the_login_page(client, url_name):
    url = reverse(url_name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("url_name", PAGES)
def test_every_page_answers_for_a_signed_in_user_with_data(signed_in, book, url_name):
    response = signed_in.get(reverse(url_name))
    assert response.status_code == 200
    assert b"Log out" in response.content


def test_login_page_signs_in_and_returns_to_the_page_asked_for(client, operator):
    assert reverse("login") == "/accounts/login/" and reverse("logout") == "/accounts/logout/"
    assert reverse("home") == "/"
    page = client.get("/accounts/login/?next=/records/prices/")
    assert page.status_code == 200
    assert b'name="username"' in page.content and b'name="password"' in page.content

    response = client.post("/accounts/login/", {"username": "ops-dash", "password": "pw-ops-dash",
                                                "next": "/records/prices/"})
    assert response.status_code == 302
    assert response["Location"] == "/records/prices/"
    assert client.get("/").status_code == 200


def test_wrong_password_stays_on_the_login_page_with_an_error(client, operator):
    response = client.post("/accounts/login/", {"username": "ops-dash", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert client.get("/").status_code == 302


def test_logout_is_a_post_and_ends_the_session(signed_in):
    assert signed_in.get("/accounts/logout/").status_code == 405
    response = signed_in.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert signed_in.get("/").status_code == 302


def test_top_bar_shows_the_user_and_a_logout_form(signed_in, operator):
    operator.first_name, operator.last_name = "Jane", "Doe"
    operator.save()
    content = signed_in.get("/").content.decode()
    assert '<span class="topbar-user" title="Signed in as ops-dash">Jane Doe</span>' in content
    assert '<form method="post" action="/accounts/logout/" class="logout-form">' in content
    # Admin is offered to staff only.
    assert 'href="/admin/"' not in content


def test_home_shows_todays_figures_from_the_books(signed_in, book):
    # An audit record written yesterday is not one of today's.
    total_audit = AuditRecord.objects.count()
    yesterday = AuditRecord(at=timezone.now() - timedelta(days=1, hours=1), actor_label="job:x", action="UPDATE",
                            record_type="records.price", record_id="1", reason="", correlation_id="")
    yesterday.content_hash = content_hash(yesterday)
    yesterday.save(force_insert=True)  # the audit trail is append-only: add a record dated yesterday

    response = signed_in.get("/")
    assert figures(response) == {
        "instruments": "4",
        "active-accounts": "2",
        "counterparties": "2",
        "latest-price-date": book.d0.isoformat(),
        "instruments-priced": "2 of 4 instruments priced",
        "positions": "2",
        "audit-today": str(total_audit),
        "trades-today": "0",
        "trades-held": "0",
        "approvals-pending": "0",
    }
    assert table_rows(response, "cash-totals") == [
        ["EUR", "1", "250.50", "0.00", "1,250.50"],  # available: + ACC-001's credit limit of 1,000
        ["USD", "2", "4,999,999.75", "0.00", "5,000,999.75"],
    ]


def test_home_counts_todays_trades_held_trades_and_pending_approvals(signed_in, book, instruments, monkeypatch):
    from decimal import Decimal
    from types import SimpleNamespace

    from backoffice.dashboard import views as dashboard_views
    from records.approvals import services as approvals
    from records.reference.services.calendar import is_trading_session
    from records.trades import services as trades
    from records.trades.services import TradeInput
    from tests.conftest import VODAFONE, make_user

    oms = make_user("oms", "front_office", "operations")
    # "Today" is London's latest session (London's date is never behind UTC's: never in its future): on a
    # weekend or holiday the home page is asked as of that session, the day trades could be dated.
    london = instruments["VOD"].market

    def session_before(day):
        while not is_trading_session(market=london, day=day):
            day -= timedelta(days=1)
        return day

    today = session_before(timezone.localdate())
    monkeypatch.setattr(dashboard_views, "timezone", SimpleNamespace(localdate=lambda: today))

    def book_trade(ref, quantity, trade_date=today, price="0.72"):
        item = TradeInput(external_ref=ref, account="ACC-001", counterparty="BRKR-A", instrument=VODAFONE,
                          side="BUY", quantity=Decimal(quantity), price=Decimal(price), trade_date=trade_date)
        result = trades.trade_submit(submitted_by=oms, item=item)
        assert result.status == trades.CREATED, result.errors
        return result.trade_id

    book_trade("T-1", "1000")
    cancelled = book_trade("T-2", "2000")
    book_trade("T-OLD", "500", trade_date=session_before(today - timedelta(days=3)))
    book_trade("T-HELD", "1000000", price="60")  # 60m notional: held by the pre-trade notional check
    with transaction.atomic():
        trades.trade_cancel(actor=oms, trade_id=cancelled, reason="duplicate of T-1")
    approvals.change_propose(actor=oms, kind="account.update", reason="rename",
                             payload={"code": "ACC-001", "changes": {"name": "Client 1"}})

    shown = figures(signed_in.get("/"))
    assert (shown["trades-today"], shown["trades-held"], shown["approvals-pending"]) == ("3", "1", "1")


def test_home_with_no_data_shows_zeros_and_no_price_date(signed_in):
    response = signed_in.get("/")
    assert figures(response)["instruments"] == "0"
    assert figures(response)["latest-price-date"] == "none"
    assert b"No cash balances yet." in response.content


def test_system_box_names_the_engines_without_hosts_or_credentials(signed_in, settings):
    settings.CELERY_BROKER_URL = "redis://ops:s3cret@redis.internal:6379/0"
    content = signed_in.get("/").content.decode()
    assert "<dt>Broker</dt><dd>redis</dd>" in content
    from django.db import connection

    assert f"<dt>Database</dt><dd>{connection.display_name} " in content
    assert "s3cret" not in content and "redis.internal" not in content


def test_navigation_lists_every_registered_page_and_marks_the_current_one(signed_in, book):
    links = nav_links(signed_in.get("/records/prices/?instrument=AAPL"))
    assert links == [
        ("Home", "/", False),
        ("Blotter", "/records/trades/", False),
        ("Trade files", "/records/trades/files/", False),
        ("Inventory", "/records/inventory/", False),
        ("Confirmations", "/clearing/confirmations/", False),
        ("Breaks", "/clearing/breaks/", False),
        ("Clearing runs", "/clearing/runs/", False),
        ("Obligations", "/clearing/obligations/", False),
        ("Settlement queue", "/settlements/instructions/", False),
        ("Settlement runs", "/settlements/runs/", False),
        ("Fails", "/settlements/fails/", False),
        ("Standing instructions", "/settlements/ssis/", False),
        ("Trial balance", "/accounting/trial-balance/", False),
        ("Ledger", "/accounting/ledger/", False),
        ("Journal", "/accounting/journal-entries/", False),
        ("P&L", "/accounting/pnl/", False),
        ("Statements", "/accounting/statements/", False),
        ("Reconciliation", "/accounting/reconciliation/", False),
        ("Posting", "/accounting/posting/", False),
        ("Chart of accounts", "/accounting/chart/", False),
        ("Periods", "/accounting/periods/", False),
        ("Alerts", "/compliance/alerts/", False),
        ("Daily summary", "/compliance/summary/", False),
        ("Rules", "/compliance/rules/", False),
        ("Restricted list", "/compliance/restricted-list/", False),
        ("Surveillance", "/compliance/surveillance/", False),
        ("Locates and borrows", "/compliance/locates/", False),
        ("Penalty box", "/compliance/penalty-box/", False),
        ("Positions", "/records/positions/", False),
        ("Cash balances", "/records/cash/", False),
        ("Instruments", "/records/instruments/", False),
        ("Accounts", "/records/accounts/", False),
        ("Counterparties", "/records/counterparties/", False),
        ("Prices", "/records/prices/", True),
        ("Pending approvals", "/records/approvals/", False),
        ("Audit trail", "/records/audit/", False),
        ("Retention and holds", "/records/retention/", False),
        ("Exports", "/records/exports/", False),
        ("Batch jobs", "/jobs/", False),
        ("End of day", "/eod/", False),
    ]
    assert [active for _label, _url, active in nav_links(signed_in.get("/"))] == [True] + [False] * 39


def test_navigation_leaves_out_entries_whose_page_does_not_exist(signed_in, monkeypatch):
    nav = [
        Section("Overview", [Entry("Home", "home"), Entry("Jobs", "jobs-that-do-not-exist")]),
        Section("Compliance", [Entry("Alert queue", "compliance:alerts-that-do-not-exist"),
                               Entry("Surveillance", "compliance:surveillance-that-does-not-exist")]),
    ]
    monkeypatch.setattr(navigation, "NAV", nav)
    content = signed_in.get("/").content.decode()
    assert nav_links(signed_in.get("/")) == [("Home", "/", True)]
    # A section with no page left is not shown either.
    assert "Compliance" not in content and "Alert queue" not in content and "Jobs" not in content


def test_navigation_entries_restricted_to_a_role_show_only_to_that_role(db):
    nav = [Section("Accounting", [Entry("Trial balance", "records:prices", roles=("accounting",))]),
           Section("Overview", [Entry("Home", "home")])]
    operations = make_user("ops-only", "operations")
    accounting = make_user("acct-only", "accounting")
    root = make_user("root-nav", superuser=True)

    def titles(user):
        return [section.title for section in navigation_for(user=user, path="/", nav=nav)]

    assert titles(operations) == ["Overview"]
    assert titles(accounting) == ["Accounting", "Overview"]
    assert titles(root) == ["Accounting", "Overview"]


def test_login_page_shows_no_navigation(client):
    assert nav_links(client.get("/accounts/login/")) == []


def test_templates_and_static_files_load_nothing_from_outside():
    roots = [Path(settings.BASE_DIR) / "templates", Path(settings.BASE_DIR) / "records" / "templates",
             Path(settings.BASE_DIR) / "static" / "css", Path(settings.BASE_DIR) / "static" / "js"]
    offenders = [str(path) for root in roots for path in root.rglob("*") if path.is_file()
                 and any(marker in path.read_text() for marker in ("http://", "https://", "//cdn"))]
    assert offenders == []
