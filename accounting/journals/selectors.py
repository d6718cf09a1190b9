"""Reads of journal entries: lists with their lines (loaded for the whole page at once), one entry, totals,
and where each entry came from (its source record's page)."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import DecimalField, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Greatest
from django.urls import NoReverseMatch, reverse

from accounting.models import GLAccount, JournalEntry, JournalLine
from backoffice.core.exceptions import BusinessRuleError
from records.approvals import selectors as approval_selectors
from records.cash.models import CashMovement
from records.reference.models import Account
from settlements.models import FailPenalty, SettlementMovement

_SOURCE = re.compile(r"^([A-Z]+)(?::(\d{1,18}))?$")


def parse_source(value: str) -> tuple[str, int | None]:
    """A source filter: a source type (TRADE) or one source record (TRADE:123); BusinessRuleError otherwise."""
    match = _SOURCE.fullmatch(value.strip().upper()) if isinstance(value, str) else None
    if match is None or match[1] not in JournalEntry.Source.values:
        raise BusinessRuleError(f"A source type ({', '.join(JournalEntry.Source.values)}), or one source record as "
                                "TYPE:ID (e.g. TRADE:123).", field="source")
    return match[1], int(match[2]) if match[2] else None


def _lines() -> QuerySet[JournalLine]:
    return JournalLine.objects.select_related("gl_account", "account", "instrument").order_by("id")


def journal_entry_list(*, date_from: date | None = None, date_to: date | None = None, account: str | None = None,
                       source: str | None = None, rule: str | None = None, gl_account: str | None = None,
                       currency: str | None = None, with_lines: bool = True,
                       newest_posted_first: bool = False) -> QuerySet[JournalEntry]:
    """Entries, newest first (by entry date, then id; or by id alone, for keyset pages), each with its lines
    prefetched for the whole page.

    account: the trading account's code, on the entry or on any of its lines; gl_account: a GL account code
    any of its lines is on; source: a type (TRADE) or one record (TRADE:123). An unknown code matches nothing.
    """
    rows = (JournalEntry.objects.select_related("account", "instrument", "posted_by", "reversed_by")
            .order_by("-id" if newest_posted_first else "-entry_date", "-id"))
    if with_lines:
        rows = rows.prefetch_related(Prefetch("lines", queryset=_lines()))
    if date_from:
        rows = rows.filter(entry_date__gte=date_from)
    if date_to:
        rows = rows.filter(entry_date__lte=date_to)
    if account:
        found = Account.objects.filter(code=account).values_list("id", flat=True).first()
        if found is None:
            return rows.none()
        rows = rows.filter(Q(account_id=found) | Exists(JournalLine.objects.filter(entry=OuterRef("pk"),
                                                                                   account_id=found)))
    if gl_account:
        found = GLAccount.objects.filter(code=gl_account).values_list("id", flat=True).first()
        if found is None:
            return rows.none()
        rows = rows.filter(Exists(JournalLine.objects.filter(entry=OuterRef("pk"), gl_account_id=found)))
    if source:
        source_type, source_id = parse_source(source)
        rows = rows.filter(source_type=source_type)
        if source_id is not None:
            rows = rows.filter(source_id=source_id)
    if rule:
        rows = rows.filter(rule=rule)
    if currency:
        rows = rows.filter(currency=currency)
    return rows


_AMOUNT = DecimalField(max_digits=24, decimal_places=4)
_ZERO = Value(Decimal(0), output_field=_AMOUNT)

# The journal's CSV: (header, what each line gives it), one row per line of each entry.
JOURNAL_LINE_EXPORT = (
    ("entry", F("entry_id")), ("entry_date", F("entry_date")), ("posted_at", F("entry__posted_at")),
    ("posted_by", F("entry__posted_by__username")), ("source_type", F("entry__source_type")),
    ("source_id", F("entry__source_id")), ("rule", F("entry__rule")), ("entry_account", F("entry__account__code")),
    ("description", F("entry__description")), ("reversal_of", F("entry__reversal_of_id")), ("line", F("id")),
    ("gl_account", F("gl_account__code")), ("gl_name", F("gl_account__name")), ("account", F("account__code")),
    ("isin", F("instrument__isin")), ("currency", F("currency")), ("quantity", F("quantity")),
    ("debit", Greatest(F("amount"), _ZERO)), ("credit", Greatest(-F("amount"), _ZERO)), ("fx_rate", F("fx_rate")),
    ("base_debit", Greatest(F("base_amount"), _ZERO)), ("base_credit", Greatest(-F("base_amount"), _ZERO)),
)


def journal_line_export(entries: QuerySet[JournalEntry], *, chunk_size: int = 2000) -> Iterator[tuple]:
    """Yield the lines of the entries (journal_entry_list's, any filters) as tuples in JOURNAL_LINE_EXPORT's
    order: newest posted entry first, its lines in order. No model instances and a server-side cursor: memory
    stays flat however many lines."""
    columns = {f"x_{name}": expression for name, expression in JOURNAL_LINE_EXPORT}
    return (JournalLine.objects.filter(entry_id__in=entries.order_by().values("id"))
            .annotate(**columns).order_by("-entry_id", "id")
            .values_list(*columns).iterator(chunk_size=chunk_size))


def journal_entry_get(entry_id) -> JournalEntry | None:
    if isinstance(entry_id, bool) or not isinstance(entry_id, int) or not 0 < entry_id < 2**63:
        return None
    return journal_entry_list().filter(pk=entry_id).first()


@dataclass(frozen=True)
class EntryTotals:
    currency: str
    debits: Decimal
    credits: Decimal


def journal_entry_totals(entries: QuerySet[JournalEntry]) -> tuple[list[EntryTotals], Decimal]:
    """Debits and credits of the entries' lines per currency, and their debits in the base currency."""
    lines = JournalLine.objects.filter(entry_id__in=entries.order_by().values("id"))
    per = (lines.values("currency").order_by("currency")
           .annotate(debits=Sum("amount", filter=Q(amount__gt=0)), credits=Sum("amount", filter=Q(amount__lt=0))))
    base = lines.filter(base_amount__gt=0).aggregate(total=Sum("base_amount"))["total"] or Decimal(0)
    return [EntryTotals(row["currency"], row["debits"] or Decimal(0), -(row["credits"] or Decimal(0)))
            for row in per], base


# Where an entry came from ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceLink:
    label: str
    url: str | None


def _url(name: str, *args, query: str = "") -> str | None:
    try:
        return reverse(name, args=args) + (f"?{query}" if query else "")
    except NoReverseMatch:  # a page another part of the project has not registered
        return None


def source_link(entry: JournalEntry) -> SourceLink:
    """The page of the record an entry posts (a trade, a settlement's instruction, a cash movement's balance, a
    fail, a net obligation, the approved proposal of a manual entry), or only its label where it has none."""
    kind, source_id = entry.source_type, entry.source_id
    Source = JournalEntry.Source
    if kind == Source.TRADE:
        return SourceLink(f"Trade {source_id}", _url("records:trade-detail", source_id))
    if kind == Source.SETTLEMENT:
        instruction_id = (SettlementMovement.objects.filter(pk=source_id)
                          .values_list("instruction_id", flat=True).first())
        if instruction_id is None:
            return SourceLink(f"Settlement movement {source_id}", None)
        return SourceLink(f"Settlement movement {source_id} of instruction {instruction_id}",
                          _url("settlements:instruction-detail", instruction_id))
    if kind == Source.CASH:
        movement = CashMovement.objects.filter(pk=source_id).select_related("account").first()
        if movement is None:
            return SourceLink(f"Cash movement {source_id}", None)
        return SourceLink(f"Cash movement {movement.reference} ({movement.account.code} {movement.currency})",
                          _url("records:cash-balances", query=f"account={movement.account.code}"
                                                               f"&currency={movement.currency}"))
    if kind == Source.PENALTY:
        fail_id = FailPenalty.objects.filter(pk=source_id).values_list("fail_id", flat=True).first()
        if fail_id is None:
            return SourceLink(f"Fail penalty {source_id}", None)
        return SourceLink(f"Penalty {source_id} of fail {fail_id}", _url("settlements:fail-detail", fail_id))
    if kind == Source.NETTING:
        return SourceLink(f"Net obligation {source_id}", _url("clearing:obligation-detail", source_id))
    if kind == Source.MANUAL:
        if entry.rule == "MANUAL_REVERSAL":
            change = (approval_selectors.change_request_list()
                      .filter(kind="journal.reversal", target_id=str(source_id), status="APPROVED").first())
            if change is None:
                return SourceLink(f"Reversal of entry {source_id}", _url("accounting:journal-entry", source_id))
            source_id = change.pk
        return SourceLink(f"Change request #{source_id}",
                          _url("records:audit", query=f"record_type=records.changerequest&record_id={source_id}"))
    return SourceLink(f"{entry.get_source_type_display()} {source_id}", None)
