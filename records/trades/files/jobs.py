"""The trade-file job (kind trade-file): book a staged trade file chunk by chunk, then report."""

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from records.trades.files import services
from records.trades.files.models import TradeFile


def _parse(parameters: dict) -> dict:
    file_id = parameters.get("file_id")
    if isinstance(file_id, bool) or not isinstance(file_id, int) or not TradeFile.objects.filter(pk=file_id).exists():
        raise BusinessRuleError("Give the id of an uploaded trade file.", field="file_id")
    return {"file_id": file_id}


def _book(job, index: int) -> int:
    # The rows it booked (no result of its own: the job's result is the report step's summary).
    return services.trade_file_book_chunk(file_id=job.parameters["file_id"], job_id=job.pk)


def _finish(job, index: int) -> dict:
    return services.trade_file_finish(file_id=job.parameters["file_id"])


def _plan(parameters: dict) -> list[Step]:
    row_count = TradeFile.objects.filter(pk=parameters["file_id"]).values_list("row_count", flat=True).first()
    if row_count is None:
        # A failed run resumed after the retention purge removed its file (records.retention.rules).
        raise BusinessRuleError(f"Trade file {parameters['file_id']} is gone (purged after its retention period): "
                                "nothing to book.", field="file_id")
    # Each chunk books the next CHUNK_ROWS rows not booked yet (services.trade_file_book_chunk), so the
    # chunks cover the file whichever of them a rerun finds done.
    return [Step("book", services.chunk_count(row_count), _book), Step("report", 1, _finish)]


job_kind_register(JobKind(services.TRADE_FILE, "Trade file booking", _plan, _parse))
