"""Signing in through the browser and finding one's way around."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_operator_signs_in_sees_todays_figures_and_opens_the_instruments(page, live_server, demo_book, operator,
                                                                         login, screenshot):
    page.goto(f"{live_server.url}/records/instruments/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/records/instruments/$"))
    screenshot("login")

    login("jdoe", "pw-jdoe")

    # The login form sends the user back where they were going.
    expect(page).to_have_url(f"{live_server.url}/records/instruments/")
    page.get_by_role("link", name="Home").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(page.locator(".topbar-user")).to_have_text("Jane Doe")
    expect(page.locator("[data-figure=instruments]")).to_have_text("16")
    expect(page.locator("[data-figure=active-accounts]")).to_have_text("5")
    expect(page.locator("[data-figure=counterparties]")).to_have_text("6")
    expect(page.locator("[data-figure=positions]")).to_have_text("13")
    expect(page.locator("#cash-totals tbody tr")).to_have_count(3)
    from django.conf import settings

    expect(page.locator("#system")).to_contain_text(settings.CELERY_BROKER_URL.split(":", 1)[0])
    expect(page.locator(".sidenav a.active")).to_have_text("Home")
    screenshot("home")

    page.get_by_role("navigation").get_by_role("link", name="Instruments").click()
    expect(page.get_by_role("heading", name="Instruments")).to_be_visible()
    expect(page.locator(".sidenav a.active")).to_have_text("Instruments")
    expect(page.locator("#instruments tbody tr")).to_have_count(16)
    screenshot("instruments")

    # Choosing a market applies the filter at once.
    page.get_by_label("Market").select_option("XETR")
    expect(page).to_have_url(re.compile(r"market=XETR"))
    expect(page.locator("#instruments tbody tr td:nth-child(2)")).to_have_text(["SAP", "SIE"])


def test_wrong_password_is_refused_and_logout_ends_the_session(page, live_server, operator, login):
    login("jdoe", "not-the-password")
    expect(page.locator(".auth-card .msg-error")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    login("jdoe", "pw-jdoe")
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
