"""Bulk submission of raw trade bodies: the per-item answer of POST /api/v1/trades/bulk/.

The bulk endpoint's function. The trade-file job books its chunks set-based in SQL instead
(records.trades.booking_sql), taking the same decisions in the same words (BodyError is shared), and
tests/records/test_properties_trade_files.py holds a row of a file to an item of a bulk request.
"""

from collections.abc import Sequence

from records.trades import services as trade_services
from records.trades.input import parse_trade

OUTCOMES = ("created", "duplicate", "rejected")


def trade_submit_raw(*, submitted_by, items: Sequence) -> list[dict]:
    """Parse and book raw trade bodies (dicts as a client sent them, or anything else it sent); return,
    in order, {"index", "status": created|duplicate|rejected, "id" or "errors"} per item.

    `items` may hold (index, errors) pairs of BodyError for items refused before parsing (a line of a file
    that is not JSON): they answer rejected with those errors.
    """
    parsed, results = [], {}
    for index, raw in enumerate(items):
        if isinstance(raw, BodyError):
            results[index] = {"index": index, "status": "rejected", "errors": raw.errors}
            continue
        item, errors = parse_trade(raw)
        if errors:
            results[index] = {"index": index, "status": "rejected", "errors": errors}
        else:
            parsed.append((index, item))
    if parsed:
        for index, result in trade_services.trade_submit_batch(submitted_by=submitted_by, items=parsed).items():
            if result.status in (trade_services.CREATED, trade_services.DUPLICATE):
                results[index] = {"index": index, "status": result.status, "id": result.trade_id}
            else:
                results[index] = {"index": index, "status": "rejected", "errors": result.errors}
    return [results[i] for i in range(len(items))]


class BodyError:
    """An item refused before it could be read as a trade body, with its field errors."""

    __slots__ = ("errors",)

    def __init__(self, errors: dict):
        self.errors = errors
