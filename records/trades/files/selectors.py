"""Reads of trade files: the list, one file, and its per-row report (streamed, a page of rows at a time)."""

from collections.abc import Iterator

from django.db.models import QuerySet

from records.trades.files.models import TradeFile, TradeFileRow

REPORT_COLUMNS = ("line", "external_ref", "status", "trade_id", "errors")
_PAGE = 5_000


def trade_file_list(*, uploaded_by=None) -> QuerySet[TradeFile]:
    """Trade files, newest first, with their job; only one user's when uploaded_by is given."""
    files = TradeFile.objects.select_related("job", "uploaded_by").order_by("-id")
    return files if uploaded_by is None else files.filter(uploaded_by=uploaded_by)


def trade_file_get(file_id: int) -> TradeFile | None:
    return trade_file_list().filter(pk=file_id).first()



def trade_file_report(file: TradeFile, *, rejected_only: bool = False) -> Iterator[dict]:
    """Every row's outcome in line order, read a page at a time (keyset on seq): line, external_ref,
    status (created, duplicate, rejected; empty while not booked), trade_id, errors (a dict or None).

    An NDJSON row's external_ref is read from its line when the line is a JSON object with one."""
    import json

    rows = TradeFileRow.objects.filter(file=file)
    if rejected_only:
        rows = rows.filter(outcome=TradeFileRow.Outcome.REJECTED)
    after = -1
    while True:
        page = list(rows.filter(seq__gt=after).order_by("seq").values(
            "seq", "line", "external_ref", "payload", "outcome", "trade_id", "errors")[:_PAGE])
        for row in page:
            ref = row["external_ref"]
            if ref is None and row["payload"] is not None:
                try:
                    body = json.loads(row["payload"])
                except ValueError:
                    body = None
                ref = body.get("external_ref") if isinstance(body, dict) else None
                ref = ref if isinstance(ref, str) else None
            yield {"line": row["line"], "external_ref": ref or "", "status": row["outcome"] or "",
                   "trade_id": row["trade_id"], "errors": row["errors"]}
        if len(page) < _PAGE:
            return
        after = page[-1]["seq"]
