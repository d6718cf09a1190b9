"""Reads of the restricted list: the list with its filters, and the entries restricting a set of instruments.

An entry restricts a trade date day when effective_from <= day <= effective_to (effective_to null: no
end) and it was not withdrawn (restricted_effective_on).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import Q, QuerySet

from compliance.restricted.models import RestrictedInstrument


def restricted_effective_on(day: date) -> Q:
    """The condition of an entry restricting trades dated day."""
    return (Q(withdrawn=False, effective_from__lte=day)
            & (Q(effective_to__isnull=True) | Q(effective_to__gte=day)))


# The states of an entry on a day (RestrictedInstrument.state_on), as conditions.
ACTIVE, FUTURE, ENDED, CURRENT = "ACTIVE", "FUTURE", "ENDED", "CURRENT"


def restricted_state_on(state: str, day: date) -> Q:
    """The condition of an entry in state on day: ACTIVE, FUTURE (not started), CURRENT (either), ENDED
    (withdrawn, or its last day is past)."""
    not_over = Q(withdrawn=False) & (Q(effective_to__isnull=True) | Q(effective_to__gte=day))
    return {ACTIVE: restricted_effective_on(day), FUTURE: not_over & Q(effective_from__gt=day),
            CURRENT: not_over, ENDED: ~not_over}[state]


def restricted_list(*, instrument=None, instruments=None, active_on: date | None = None,
                    state: str | None = None, today: date | None = None) -> QuerySet[RestrictedInstrument]:
    """Return the entries, latest start first.

    Filters (None: do not): instrument (a record), instruments (a list of them), active_on (those
    restricting trades dated that day), state as of today (restricted_state_on).
    """
    rows = (RestrictedInstrument.objects.select_related("instrument", "created_by", "ended_by")
            .order_by("-effective_from", "-id"))
    if instrument is not None:
        rows = rows.filter(instrument=instrument)
    if instruments is not None:
        rows = rows.filter(instrument__in=instruments)
    if active_on is not None:
        rows = rows.filter(restricted_effective_on(active_on))
    if state:
        rows = rows.filter(restricted_state_on(state, today))
    return rows


def restricted_get(entry_id) -> RestrictedInstrument | None:
    if isinstance(entry_id, bool) or not isinstance(entry_id, int):
        return None
    return restricted_list().filter(pk=entry_id).first()


def restricted_covering(*, instrument_ids: Iterable[int], date_from: date,
                        date_to: date) -> dict[int, list[RestrictedInstrument]]:
    """Return {instrument id: its entries restricting any day of [date_from, date_to]}, oldest first (one query).

    The caller tells which days of the range each entry covers (RestrictedInstrument.restricts).
    """
    ids = set(instrument_ids)
    found: dict[int, list[RestrictedInstrument]] = defaultdict(list)
    if not ids:
        return found
    rows = (RestrictedInstrument.objects
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=date_from),
                    instrument_id__in=ids, withdrawn=False, effective_from__lte=date_to)
            .order_by("id").only("id", "instrument_id", "reason", "effective_from", "effective_to", "withdrawn"))
    for entry in rows:
        found[entry.instrument_id].append(entry)
    return found


def restricted_active_on(instrument_ids: Iterable[int], day: date) -> dict[int, list[RestrictedInstrument]]:
    """Return {instrument id: its entries restricting trades dated day}, oldest first, for a set of ids (one query)."""
    return restricted_covering(instrument_ids=instrument_ids, date_from=day, date_to=day)
