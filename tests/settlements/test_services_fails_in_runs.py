# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""Fails through real settlement runs, with the fails steps appended (JOB_STEP_EXTENSIONS["settlement-run"]): the
run that opens a fail to deliver gives it its Reg SHO deadline; each run accrues the penalties of the settlement
day before it, until the fail settles."""

from datetime import date
from decimal import Decimal

import pytest

from settlements.fails import selectors
from settlements.models import FailPenalty, SettlementFail
from tests.data import price
from tests.settlements.helpers_settlement import (  # noqa: F401
    NEXT_DAY,
    SETTLES,
    book_and_instruct,
    firm,
    hold,
    own_steps_only,
    settle,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_fail_steps(settings, own_steps_only):
    settings.JOB_STEP_EXTENSIONS = {"settlement-run": ["settlements.fails.jobs.settlement_run_steps"]}


def test_a_fail_gets_its_deadline_from_its_run_and_a_penalty_for_each_day_until_it_settles(firm, with_fail_steps):
    (instruction,) = book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "SELL", "100", "189.25"))
    price(firm.instruments["AAPL"], SETTLES, "190")

    first = settle(SETTLES)  # nothing to deliver: fails

    fail = SettlementFail.objects.get(instruction=instruction)
    assert [step["name"] for step in first.job.steps] == ["settle", "fail-regsho", "fail-penalties"]
    assert (fail.kind, fail.cause, fail.failed_on, fail.regsho_basis, fail.close_out_deadline) == (
        "DELIVER", "SECURITIES", SETTLES, "LONG", date(2026, 11, 27))
    assert not FailPenalty.objects.exists()  # the run of the 23rd accrues the 20th: the fail was not open

    settle(NEXT_DAY)  # still short: the run of the 24th accrues the 23rd
    hold(firm, "ACC-001", "AAPL", "100")
    settle(date(2026, 11, 25))  # delivered: the run of the 25th accrues the 24th, then the fail is closed
    settle(date(2026, 11, 27))  # the 26th: DTC shut, and the fail is closed anyway

    fail.refresh_from_db()
    assert fail.closed_on == date(2026, 11, 25)
    # 100 x 190 x 1 bp a day
    assert list(FailPenalty.objects.order_by("penalty_date").values_list("penalty_date", "unsettled_quantity",
                                                                         "amount")) == [
        (SETTLES, Decimal("100"), Decimal("1.90")), (NEXT_DAY, Decimal("100"), Decimal("1.90"))]
    # Seen as of the 24th, it still had all 100 to deliver (settled since).
    assert selectors.fail_list(as_of=NEXT_DAY).get().unsettled_on == Decimal("100")
    assert selectors.fail_list(as_of=date(2026, 11, 25)).count() == 0
