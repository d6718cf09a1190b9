"""Confirmation matching (clearing.matching.services): exact matches, tolerances, mismatches, retries."""

from tests.clearing.helpers_matching import firm  # noqa: F401


def test_smoke(firm):
    trade = firm.trade("T-1")
    c = firm.mirror_of(trade)
    assert c.match_status == "MATCHED"
    assert c.trade_id == trade.pk
    trade.refresh_from_db()
    assert trade.match_status == "MATCHED"
    c2 = firm.confirm("C-2", quantity="50")
    assert c2.match_status == "UNMATCHED", c2.mismatches
    t2 = firm.trade("T-2", quantity="60")
    c2.refresh_from_db()
    assert c2.match_status == "MISMATCHED"
    assert c2.mismatches == [{"field": "quantity", "ours": "60", "theirs": "50"}]
