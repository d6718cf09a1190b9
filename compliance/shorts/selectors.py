"""Reads of short-sale compliance: locates and borrows (lists, totals, what covers a set of accounts and
instruments on a day) and the Reg SHO penalty box.

A locate or borrow covers trade date day (locate_in_force_on) when valid_from <= day <= valid_to (valid_to
null: until returned) and it was not withdrawn: one ended on or before its first day (ended_at's local date
<= valid_from) never covers anything. One ended after it started keeps covering the days up to its valid_to
(services.locate_end set it to the day before it ended).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from compliance.shorts.models import Locate, PenaltyBoxEntry

# The states of a locate on a day, as conditions (locate_state_on).
ACTIVE, FUTURE, ENDED, WITHDRAWN, CURRENT = "ACTIVE", "FUTURE", "ENDED", "WITHDRAWN", "CURRENT"


def locate_withdrawn() -> Q:
    """The condition of a locate ended before it ever covered a day."""
    return Q(ended_at__isnull=False, ended_at__date__lte=F("valid_from"))


def locate_in_force_on(day: date) -> Q:
    """The condition of a locate or borrow covering short sales dated day."""
    return (Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day)) & ~locate_withdrawn())


def locate_state_on(state: str, day: date) -> Q:
    """The condition of a locate in state on day: ACTIVE (covers day), FUTURE (starts later), CURRENT (either),
    WITHDRAWN (ended before it started), ENDED (past its last day, or withdrawn)."""
    not_over = ~locate_withdrawn() & (Q(valid_to__isnull=True) | Q(valid_to__gte=day))
    return {ACTIVE: locate_in_force_on(day), FUTURE: not_over & Q(valid_from__gt=day), CURRENT: not_over,
            WITHDRAWN: locate_withdrawn(), ENDED: ~not_over}[state]


def locate_state(locate: Locate, day: date) -> str:
    """The state of one locate on day (as locate_state_on tells it)."""
    if locate.ended_at is not None and timezone.localtime(locate.ended_at).date() <= locate.valid_from:
        return WITHDRAWN
    if locate.valid_to is not None and locate.valid_to < day:
        return ENDED
    return FUTURE if locate.valid_from > day else ACTIVE


def locate_list(*, account=None, accounts=None, instrument=None, instruments=None, kind: str | None = None,
                active_on: date | None = None, state: str | None = None,
                today: date | None = None) -> QuerySet[Locate]:
    """Return the locates and borrows, latest start first.

    Filters (None: do not): account / accounts, instrument / instruments (records or lists of them), kind,
    active_on (those covering trades dated that day), state as of today (locate_state_on).
    """
    rows = (Locate.objects.select_related("account", "instrument", "created_by", "ended_by")
            .order_by("-valid_from", "-id"))
    if account is not None:
        rows = rows.filter(account=account)
    if accounts is not None:
        rows = rows.filter(account__in=accounts)
    if instrument is not None:
        rows = rows.filter(instrument=instrument)
    if instruments is not None:
        rows = rows.filter(instrument__in=instruments)
    if kind:
        rows = rows.filter(kind=kind)
    if active_on is not None:
        rows = rows.filter(locate_in_force_on(active_on))
    if state:
        rows = rows.filter(locate_state_on(state, today))
    return rows


def locate_get(locate_id) -> Locate | None:
    if isinstance(locate_id, bool) or not isinstance(locate_id, int):
        return None
    return locate_list().filter(pk=locate_id).first()


def locate_totals(*, day: date, rows: QuerySet[Locate] | None = None) -> list[dict]:
    """Return the quantity located and borrowed per account and instrument on day (one query), of rows (default
    all): [{account_code, isin, name, located, borrowed, total, count}], by account code then ISIN."""
    rows = Locate.objects.all() if rows is None else rows.order_by()
    return list(rows.filter(locate_in_force_on(day))
                .values(account_code=F("account__code"), isin=F("instrument__isin"), name=F("instrument__name"))
                .annotate(located=Sum("quantity", filter=Q(kind=Locate.Kind.LOCATE), default=Decimal(0)),
                          borrowed=Sum("quantity", filter=Q(kind=Locate.Kind.BORROW), default=Decimal(0)),
                          total=Sum("quantity"), count=Count("id"))
                .order_by("account_code", "isin"))


def locates_covering(*, pairs: Iterable[tuple[int, int]], day: date) -> dict[tuple[int, int], dict[str, Decimal]]:
    """Return {(account id, instrument id): {"LOCATE": quantity, "BORROW": quantity}} in force on day, for a set
    of (account id, instrument id) pairs (one query; a pair with none is absent)."""
    pairs = set(pairs)
    found: dict[tuple[int, int], dict[str, Decimal]] = defaultdict(lambda: {"LOCATE": Decimal(0),
                                                                            "BORROW": Decimal(0)})
    if not pairs:
        return found
    rows = (Locate.objects.filter(locate_in_force_on(day), account_id__in={a for a, _ in pairs},
                                  instrument_id__in={i for _, i in pairs})
            .values_list("account_id", "instrument_id", "kind").annotate(total=Sum("quantity")).order_by())
    for account_id, instrument_id, kind, total in rows:
        if (account_id, instrument_id) in pairs:
            found[(account_id, instrument_id)][kind] = total
    return found


# The penalty box ------------------------------------------------------------------------------------

def penalty_box_list(*, account=None, accounts=None, instrument=None, instruments=None,
                     is_open: bool | None = None) -> QuerySet[PenaltyBoxEntry]:
    """Return the penalty-box entries, latest first: open ones (released_on null) when is_open is True,
    released ones when False, all when None."""
    rows = (PenaltyBoxEntry.objects.select_related("account", "instrument", "released_by")
            .order_by("-since", "-id"))
    if account is not None:
        rows = rows.filter(account=account)
    if accounts is not None:
        rows = rows.filter(account__in=accounts)
    if instrument is not None:
        rows = rows.filter(instrument=instrument)
    if instruments is not None:
        rows = rows.filter(instrument__in=instruments)
    if is_open is not None:
        rows = rows.filter(released_on__isnull=is_open)
    return rows


def penalty_box_get(entry_id) -> PenaltyBoxEntry | None:
    if isinstance(entry_id, bool) or not isinstance(entry_id, int):
        return None
    return penalty_box_list().filter(pk=entry_id).first()


def penalty_box_open_pairs(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], PenaltyBoxEntry]:
    """Return {(account id, instrument id): its oldest open entry} for a set of pairs (one query)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    found: dict[tuple[int, int], PenaltyBoxEntry] = {}
    rows = (PenaltyBoxEntry.objects.filter(released_on__isnull=True, account_id__in={a for a, _ in pairs},
                                           instrument_id__in={i for _, i in pairs}).order_by("since", "id"))
    for entry in rows:
        found.setdefault((entry.account_id, entry.instrument_id), entry)
    return {key: entry for key, entry in found.items() if key in pairs}
