"""The posting rules: one table, every role in the chart, every event balanced, and the docs show the same table."""

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounting.posting.rules import RULES, legs_of, lines_for, rules_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "accounting.md"
amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4, allow_nan=False)


def test_the_docs_show_the_rules_table_as_the_code_declares_it():
    text = DOCS.read_text()
    table = text.split("<!-- rules:start -->\n", 1)[1].split("\n<!-- rules:end -->", 1)[0]
    assert table == rules_markdown()


@pytest.mark.parametrize("event", sorted({leg.event for leg in RULES}))
@given(values=st.lists(amounts, min_size=4, max_size=4), quantity=st.decimals(min_value=0, max_value=10**6, places=6))
def test_every_event_posts_balanced_lines_whatever_the_amounts(event, values, quantity):
    names = sorted({leg.amount for leg in legs_of(event)})
    lines = lines_for(event, dict(zip(names, values, strict=False)), quantity=quantity)
    assert sum((line.amount for line in lines), Decimal(0)) == 0
    assert len({line.role for line in lines}) == len(lines)


def test_an_unknown_event_has_no_rule():
    with pytest.raises(KeyError, match="no posting rule"):
        legs_of("TRADE_TELEPORT")


def test_a_negative_amount_swaps_debit_and_credit():
    [investments, realized] = lines_for("TRADE_SELL", {"realized": Decimal("-5")})
    assert (investments.role, investments.amount, realized.role, realized.amount) == (
        "INVESTMENTS", Decimal("-5"), "REALIZED_PNL", Decimal("5"))
