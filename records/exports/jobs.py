"""The exports' batch job: write and sign a business date's exports (kind daily-exports)."""

from datetime import date, timedelta

from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from records.exports import services as exports

DAILY_EXPORTS = "daily-exports"


def _day(parameters: dict, name: str) -> date | None:
    value = parameters.get(name)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BusinessRuleError("Give a date as YYYY-MM-DD.", field=name) from None


def _parse(parameters: dict) -> dict:
    """Fix the business date when the run is created (default yesterday), so a retry tomorrow exports the same day."""
    business_date = _day(parameters, "business_date") or timezone.localdate() - timedelta(days=1)
    date_from, date_to = _day(parameters, "date_from"), _day(parameters, "date_to")
    return {"business_date": business_date.isoformat(), "date_from": date_from and date_from.isoformat(),
            "date_to": date_to and date_to.isoformat()}


def _export(job, index: int) -> dict:
    parameters = job.parameters
    manifest = exports.export_manifest_create(
        business_date=_day(parameters, "business_date"), date_from=_day(parameters, "date_from"),
        date_to=_day(parameters, "date_to"), actor=job.started_by or exports.EXPORT_ACTOR)
    return {"rows": sum(entry["rows"] for entry in manifest.files), "manifest_id": manifest.pk,
            "business_date": manifest.business_date.isoformat()}


def _plan(parameters: dict) -> list[Step]:
    # Not atomic: the export writes files and reads from its own REPEATABLE READ snapshot; it is
    # idempotent per business date (a rerun returns the date's manifest).
    return [Step("export", 1, _export, atomic=False)]


job_kind_register(JobKind(DAILY_EXPORTS, "Daily books-and-records exports", _plan, _parse))
