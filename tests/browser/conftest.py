"""Browser tests: headless Chromium (Debian's, launched by path) against Django's live server.

Without /usr/bin/chromium the tests are skipped, unless BACKOFFICE_REQUIRE_BROWSER=1 says they
must run (CI), in which case they fail. Screenshots go to test-artifacts/screenshots/<name>.png.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.conftest import make_user
from tests.data import build_demo_book

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls there without this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}


def pytest_collection_modifyitems(items):
    # Every browser test needs the live server's real transactions, and the data the migrations
    # load (markets, role groups) restored after an earlier transactional test flushed it.
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"Chromium not found at {CHROMIUM}: run `make browser-deps` (Debian's chromium package)"
        if os.environ.get("BACKOFFICE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}; BACKOFFICE_REQUIRE_BROWSER=1 requires the browser tests to run", pytrace=False)
        pytest.skip(reason)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT, "locale": "en-US"}


@pytest.fixture
def page(page):
    # A page that is not there in five seconds on a local server is a failure, not a wait.
    page.set_default_timeout(5_000)
    return page


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot: screenshot("home") writes test-artifacts/screenshots/home.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
def demo_book(transactional_db):
    return build_demo_book(today=timezone.localdate())


@pytest.fixture
def operator(transactional_db):
    """An operations user with a known password and a display name."""
    user = make_user("jdoe", "operations")
    user.first_name, user.last_name = "Jane", "Doe"
    user.save(update_fields=["first_name", "last_name"])
    return user


@pytest.fixture
def login(page, live_server):
    """Sign in through the login form (the one on screen, if any); return the live server's base URL."""

    def sign_in(username: str, password: str) -> str:
        if "/accounts/login/" not in page.url:
            page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return live_server.url

    return sign_in
