"""Reads of the ledger for the reports: trial balance, GL account ledger, P&L, income statement, balance sheet.

Every figure is summed by PostgreSQL from the journal lines (JournalLine.entry_date repeats the
entry's, so a balance as of a date reads the lines alone), or, for figures per GL account over the whole
firm, from their day totals (DayTotal: what each statement of lines added per GL account, currency and
day, kept by a trigger), which give the same sums from a table thousands of times smaller.
Amounts are signed as the ledger stores them (debit positive, credit negative) unless a function says
otherwise; the P&L and the statements turn credits into positive gains and positive revenue. The filters
are already parsed by the caller: None means "do not filter"; an account is a records Account (the
sub-ledger dimension).
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import Coalesce, Greatest, Round
from django.db.models.lookups import Exact

from accounting.models import DayTotal, GLAccount, JournalLine, PositionTotal
from backoffice.core.replica import read_connection
from records.reference.selectors import with_latest_price

ZERO = Decimal(0)
_AMOUNT = DecimalField(max_digits=24, decimal_places=4)
_QUANTITY = DecimalField(max_digits=24, decimal_places=6)
_VALUE = DecimalField(max_digits=48, decimal_places=14)

# The roles the P&L reads.
INVESTMENTS, REALIZED_PNL, COMMISSION_EXPENSE = "INVESTMENTS", "REALIZED_PNL", "COMMISSION_EXPENSE"
UNREALIZED_PNL = "UNREALIZED_PNL"
MARK_TO_MARKET = "MTM"  # the rule of a day's valuation entry (its next-day reversal is MTM_REVERSAL)
EXPORT_CHUNK = 2000  # rows fetched per round trip by the CSV downloads' server-side cursors


def base_currency() -> str:
    return settings.ACCOUNTING_BASE_CURRENCY


def _zero() -> Value:
    return Value(ZERO, output_field=_AMOUNT)


def _lines(*, date_to: date | None = None, date_from: date | None = None, account=None, instrument=None,
           currency: str | None = None, gl_account: GLAccount | None = None) -> QuerySet[JournalLine]:
    lines = JournalLine.objects.all()
    if date_to is not None:
        lines = lines.filter(entry_date__lte=date_to)
    if date_from is not None:
        lines = lines.filter(entry_date__gte=date_from)
    if account is not None:
        lines = lines.filter(account=account)
    if instrument is not None:
        lines = lines.filter(instrument=instrument)
    if currency is not None:
        lines = lines.filter(currency=currency)
    if gl_account is not None:
        lines = lines.filter(gl_account=gl_account)
    return lines


def _day_totals(*, date_to: date | None = None, date_from: date | None = None,
                currency: str | None = None) -> QuerySet[DayTotal]:
    """The day totals of every GL account in the range: summed, the same figures as the lines of the range."""
    totals = DayTotal.objects.all()
    if date_to is not None:
        totals = totals.filter(entry_date__lte=date_to)
    if date_from is not None:
        totals = totals.filter(entry_date__gte=date_from)
    if currency is not None:
        totals = totals.filter(currency=currency)
    return totals


def _sums_by(queryset: QuerySet, *, by: tuple[str, ...], columns: tuple[str, ...],
             counts: dict[str, str] | None = None) -> list[dict]:
    """Σ columns of an aggregated queryset's rows grouped by its `by` columns, in one statement.

    The queryset is one row per group already (values().annotate()); its rows are summed again
    here, by PostgreSQL, so that totals cover every row, not a page. counts names extra columns:
    {alias: SQL condition on the row t}, each the number of rows meeting it.
    """
    sql, params = queryset.order_by().query.sql_with_params()
    keys = ", ".join(f't."{name}"' for name in by)
    sums = [f'SUM(t."{name}") AS "{name}"' for name in columns]
    sums += [f'COUNT(*) FILTER (WHERE {condition}) AS "{alias}"' for alias, condition in (counts or {}).items()]
    select = ", ".join(([keys] if by else []) + sums)
    # Column names are the caller's constants; values travel as parameters.
    statement = f"SELECT {select} FROM ({sql}) AS t"  # noqa: S608
    if by:
        statement += f" GROUP BY {keys} ORDER BY {keys}"
    with read_connection().cursor() as cursor:
        cursor.execute(statement, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- chart of accounts ---

def gl_account_get(code: str) -> GLAccount | None:
    return GLAccount.objects.filter(code=code).first()


def gl_account_list() -> QuerySet[GLAccount]:
    return GLAccount.objects.order_by("code")


# --- trial balance ---

def trial_balance(*, as_of: date, account=None, currency: str | None = None) -> QuerySet:
    """Return one row per GL account and currency with lines dated on or before as_of, by code and currency.

    Each row (a dict): gl_account_id, gl_code, gl_name, gl_type, currency, balance (signed, debit
    positive), debit (the balance when positive, else 0), credit (minus the balance when negative,
    else 0), and the same in the base currency: base_balance, base_debit, base_credit.
    """
    balance, base_balance = Sum("amount"), Sum("base_amount")
    # The whole firm from the day totals; one trading account from its lines (the sub-ledger index).
    rows = (_day_totals(date_to=as_of, currency=currency) if account is None
            else _lines(date_to=as_of, account=account, currency=currency))
    return (rows
            .values("gl_account_id", "currency")
            .annotate(gl_code=F("gl_account__code"), gl_name=F("gl_account__name"), gl_type=F("gl_account__type"),
                      balance=balance, base_balance=base_balance,
                      debit=Greatest(balance, _zero()), credit=Greatest(-balance, _zero()),
                      base_debit=Greatest(base_balance, _zero()), base_credit=Greatest(-base_balance, _zero()))
            .order_by("gl_code", "currency"))


def trial_balance_totals(rows: list[dict]) -> dict:
    """Return the totals of trial_balance's rows, all of them (pass the evaluated list: one row per GL account and
    currency, a few hundred at most, summed here rather than by grouping the ledger again):
    {"per_currency": [{currency, debit, credit}], "base": {debit, credit}}. A ledger in balance has
    debit == credit in each currency and in base.
    """
    per_currency: dict[str, dict] = {}
    base = {"debit": ZERO, "credit": ZERO}
    for row in rows:
        total = per_currency.setdefault(row["currency"], {"currency": row["currency"], "debit": ZERO,
                                                          "credit": ZERO})
        total["debit"] += row["debit"] or ZERO
        total["credit"] += row["credit"] or ZERO
        base["debit"] += row["base_debit"] or ZERO
        base["credit"] += row["base_credit"] or ZERO
    return {"per_currency": [per_currency[currency] for currency in sorted(per_currency)], "base": base}


# --- the ledger of one GL account ---

@dataclass
class LedgerBalance:
    currency: str
    balance: Decimal
    base_balance: Decimal


def ledger_lines(*, gl_account: GLAccount, account=None, currency: str | None = None,
                 date_from: date | None = None, date_to: date | None = None) -> QuerySet[JournalLine]:
    """Return the GL account's lines in the range, oldest first (entry date, entry, line), with their entries.

    Each line has running (Σ amounts of its currency in the range up to and including it) and
    running_base (Σ base amounts, all currencies), computed by PostgreSQL window functions; add
    ledger_opening's balances to turn them into running balances.
    """
    order = [F("entry_date").asc(), F("entry_id").asc(), F("id").asc()]
    return (_lines(gl_account=gl_account, account=account, currency=currency, date_from=date_from, date_to=date_to)
            .select_related("entry", "account", "instrument")
            .annotate(running=Window(Sum("amount"), partition_by=[F("currency")], order_by=order),
                      running_base=Window(Sum("base_amount"), order_by=order))
            .order_by("entry_date", "entry_id", "id"))


class LedgerLines:
    """A GL account's lines in a range, oldest first (entry date, entry, line), as the pagers take them, each
    line of a slice with `running` and `running_base` as ledger_lines' window sums give them, whatever the size
    of the ledger.

    count(): the day totals' line counts (one trading account: its lines, by the sub-ledger index). A slice:
    one query for its lines (by the index on GL account, date, entry and line), then the sums of the range's
    lines before its first line (the day totals of the days before it, and that day's earlier lines), and the
    running sums through the slice added up here. No window over the whole ledger, no count of its lines.
    """

    def __init__(self, *, gl_account: GLAccount, account=None, currency: str | None = None,
                 date_from: date | None = None, date_to: date | None = None):
        self.scope = {"gl_account": gl_account, "account": account, "currency": currency}
        self.date_from, self.date_to = date_from, date_to

    def _lines(self) -> QuerySet[JournalLine]:
        return _lines(**self.scope, date_from=self.date_from, date_to=self.date_to)

    def count(self) -> int:
        if self.scope["account"] is not None:
            return self._lines().count()
        totals = _day_totals(date_from=self.date_from, date_to=self.date_to, currency=self.scope["currency"])
        return totals.filter(gl_account=self.scope["gl_account"]).aggregate(n=Sum("lines", default=0))["n"]

    def __len__(self) -> int:
        return self.count()

    def _before(self, first: JournalLine) -> tuple[dict[str, Decimal], Decimal]:
        """Σ amount per currency and Σ base amount of the range's lines before `first`."""
        earlier_days = (self._lines().filter(entry_date__lt=first.entry_date) if self.scope["account"] is not None
                        else _day_totals(date_from=self.date_from, date_to=first.entry_date - timedelta(days=1),
                                         currency=self.scope["currency"]).filter(gl_account=self.scope["gl_account"]))
        same_day = self._lines().filter(Q(entry_id__lt=first.entry_id) | Q(entry_id=first.entry_id, id__lt=first.id),
                                        entry_date=first.entry_date)
        by_currency: dict[str, Decimal] = defaultdict(Decimal)
        base = ZERO
        for rows in (earlier_days, same_day):
            for row in rows.order_by().values("currency").annotate(amount=Sum("amount"), base=Sum("base_amount")):
                by_currency[row["currency"]] += row["amount"]
                base += row["base"]
        return by_currency, base

    def __getitem__(self, key):
        if not isinstance(key, slice):
            raise TypeError("LedgerLines takes slices (pages) only.")
        lines = list(self._lines().select_related("entry", "account", "instrument")
                     .order_by("entry_date", "entry_id", "id")[key])
        if not lines:
            return lines
        running, running_base = self._before(lines[0])
        for line in lines:
            running[line.currency] += line.amount
            running_base += line.base_amount
            line.running, line.running_base = running[line.currency], running_base
        return lines


LEDGER_VALUES = ("entry_date", "entry_id", "entry__rule", "entry__source_type", "entry__source_id",
                 "entry__description", "account__code", "instrument__isin", "instrument__symbol", "currency",
                 "quantity", "amount", "base_amount", "running", "running_base")


def ledger_export(*, gl_account: GLAccount, opening: list[LedgerBalance], account=None, currency: str | None = None,
                  date_from: date | None = None, date_to: date | None = None) -> Iterator[dict]:
    """Yield every one of ledger_lines' lines (dicts of LEDGER_VALUES, no model instances, a server-side cursor)
    with debit, credit, base_debit, base_credit, running_balance and running_base_balance, opening's added."""
    by_currency = {b.currency: b.balance for b in opening}
    opening_base = sum((b.base_balance for b in opening), start=ZERO)
    lines = ledger_lines(gl_account=gl_account, account=account, currency=currency, date_from=date_from,
                         date_to=date_to)
    for line in lines.values(*LEDGER_VALUES).iterator(chunk_size=EXPORT_CHUNK):
        amount, base = line["amount"], line["base_amount"]
        line.update(debit=max(amount, ZERO), credit=max(-amount, ZERO), base_debit=max(base, ZERO),
                    base_credit=max(-base, ZERO),
                    running_balance=by_currency.get(line["currency"], ZERO) + line["running"],
                    running_base_balance=opening_base + line["running_base"])
        yield line


def _balances(lines: QuerySet) -> list[LedgerBalance]:
    return [LedgerBalance(row["currency"], row["balance"], row["base_balance"]) for row in
            lines.order_by().values("currency").annotate(balance=Sum("amount"), base_balance=Sum("base_amount"))
            .order_by("currency")]


def ledger_opening(*, gl_account: GLAccount, account=None, currency: str | None = None,
                   date_from: date | None = None) -> list[LedgerBalance]:
    """Return the GL account's balance per currency before date_from (none without date_from)."""
    if date_from is None:
        return []
    if account is None:  # the whole firm: the day totals
        return _balances(_day_totals(date_to=date_from - timedelta(days=1), currency=currency)
                         .filter(gl_account=gl_account))
    return _balances(_lines(gl_account=gl_account, account=account, currency=currency)
                     .filter(entry_date__lt=date_from))


def ledger_closing(*, gl_account: GLAccount, account=None, currency: str | None = None,
                   date_to: date | None = None) -> list[LedgerBalance]:
    """Return the GL account's balance per currency at the end of date_to (of every line without it)."""
    if account is None:  # the whole firm: the day totals
        return _balances(_day_totals(date_to=date_to, currency=currency).filter(gl_account=gl_account))
    return _balances(_lines(gl_account=gl_account, account=account, currency=currency, date_to=date_to))


def ledger_page_balances(lines, opening: list[LedgerBalance]) -> list:
    """Give a page of ledger_lines its debit, credit and running balances, ledger_opening's added (the
    page's lines only: the window sums come from PostgreSQL)."""
    by_currency = {b.currency: b.balance for b in opening}
    opening_base = sum((b.base_balance for b in opening), start=ZERO)
    for line in lines:
        line.debit, line.credit = max(line.amount, ZERO), max(-line.amount, ZERO)
        line.base_debit, line.base_credit = max(line.base_amount, ZERO), max(-line.base_amount, ZERO)
        line.running_balance = by_currency.get(line.currency, ZERO) + line.running
        line.running_base_balance = opening_base + line.running_base
    return lines


# --- P&L per account and instrument ---

def _role_sum(column: str, role: str, *, negate: bool = False):
    total = Coalesce(Sum(column, filter=Q(gl_account__role=role)), _zero() if column != "quantity" else
                     Value(ZERO, output_field=_QUANTITY))
    return -total if negate else total


PNL_ROLES = (INVESTMENTS, REALIZED_PNL, COMMISSION_EXPENSE)


def pnl_list(*, as_of: date, account=None, instrument=None) -> QuerySet:
    """Return the P&L of each trading account and instrument up to as_of, by account code and ISIN.

    One dict per (account, instrument, currency) with lines on investments, realized P&L or
    commission expense: realized (-Σ realized P&L lines: gains positive), commissions (Σ commission
    expense), quantity (Σ securities on investments), cost (Σ investments amounts: the cost still
    held), price and price_date (the instrument's latest price on or before as_of, by records'
    reference selectors; None if never priced), market_value (quantity x price at the amounts' four
    places, half away from zero; 0 when nothing is held, priced or not; None when unpriced),
    unrealized (market_value - cost; None when unpriced) and net (realized + unrealized - commissions,
    unrealized counted 0 when unpriced).

    The sums come from the position totals (PositionTotal, kept by a trigger) when no line of those accounts is
    dated after as_of, as for today's P&L; from the lines otherwise. Both give the same rows.
    """
    return _pnl_rows(as_of=as_of, account=account, instrument=instrument, from_totals=_totals_cover(as_of))


def _totals_cover(as_of: date) -> bool:
    """Whether the position totals are the P&L as of as_of: no line on the P&L's accounts is dated after it."""
    return not DayTotal.objects.filter(gl_account__role__in=PNL_ROLES, entry_date__gt=as_of).exists()


def _pnl_rows(*, as_of: date, account, instrument, from_totals: bool) -> QuerySet:
    names = {"account_code": F("account__code"), "isin": F("instrument__isin"), "symbol": F("instrument__symbol")}
    if from_totals:
        totals = PositionTotal.objects.all()
        if account is not None:
            totals = totals.filter(account=account)
        if instrument is not None:
            totals = totals.filter(instrument=instrument)
        pairs = (totals.values("account_id", "instrument_id", "currency")
                 .annotate(**names, realized=ExpressionWrapper(-F("realized_sum"), output_field=_AMOUNT),
                           commissions=ExpressionWrapper(F("commission_sum"), output_field=_AMOUNT),
                           quantity=ExpressionWrapper(F("quantity_sum"), output_field=_QUANTITY),
                           cost=ExpressionWrapper(F("cost_sum"), output_field=_AMOUNT)))
    else:
        lines = _lines(date_to=as_of, account=account, instrument=instrument).filter(gl_account__role__in=PNL_ROLES)
        pairs = (lines.values("account_id", "instrument_id", "currency")
                 .annotate(**names, realized=_role_sum("amount", REALIZED_PNL, negate=True),
                           commissions=_role_sum("amount", COMMISSION_EXPENSE),
                           quantity=_role_sum("quantity", INVESTMENTS),
                           cost=_role_sum("amount", INVESTMENTS)))
    pairs = with_latest_price(pairs, as_of=as_of, instrument_ref="instrument_id")
    market_value = Case(
        When(Exact(F("quantity"), Value(ZERO, output_field=_QUANTITY)), then=_zero()),
        default=Round(ExpressionWrapper(F("quantity") * F("latest_price"), output_field=_VALUE), 4),
        output_field=_AMOUNT)
    unrealized = ExpressionWrapper(F("market_value") - F("cost"), output_field=_AMOUNT)
    rows = (pairs.annotate(market_value=market_value)
            .annotate(unrealized=unrealized, price=F("latest_price"), price_date=F("latest_price_date"))
            .annotate(net=ExpressionWrapper(F("realized") + Coalesce(F("unrealized"), _zero()) - F("commissions"),
                                            output_field=_AMOUNT))
            .order_by("account_code", "isin", "currency"))
    if from_totals:
        rows.pnl_scope = {"as_of": as_of, "account": account, "instrument": instrument}
    return rows


# A page of the P&L from the position totals: its rows' keys in (account code, ISIN, currency) order, walked from
# the accounts' code index, each account's positions from the totals' (account, instrument, currency) index and
# sorted within the account (an incremental sort): a page reads a few accounts, not every position. Rows without
# a trading account come after every account's (ORDER BY's NULLS LAST). One statement whatever the page.
_PNL_PAGE_KEYS = """
SELECT u.id FROM (
    (SELECT 0 AS part, a.code, i.isin, t.currency, t.id FROM records_account AS a
     CROSS JOIN LATERAL (SELECT p.id, p.instrument_id, p.currency FROM accounting_positiontotal AS p
                         WHERE p.account_id = a.id
                           AND (%(instrument)s::bigint IS NULL OR p.instrument_id = %(instrument)s)) AS t
     LEFT JOIN records_instrument AS i ON i.id = t.instrument_id
     WHERE (%(account)s::bigint IS NULL OR a.id = %(account)s)
     ORDER BY a.code, i.isin, t.currency LIMIT %(end)s)
    UNION ALL
    (SELECT 1, NULL, i.isin, p.currency, p.id FROM accounting_positiontotal AS p
     LEFT JOIN records_instrument AS i ON i.id = p.instrument_id
     WHERE p.account_id IS NULL AND %(account)s::bigint IS NULL
       AND (%(instrument)s::bigint IS NULL OR p.instrument_id = %(instrument)s)
     ORDER BY i.isin, p.currency LIMIT %(end)s)
) AS u
ORDER BY u.part, u.code, u.isin, u.currency LIMIT %(limit)s OFFSET %(offset)s"""


class PnlPages:
    """pnl_list's rows as pages read them: rows[start:stop] is the QuerySet's slice, the same rows in the same
    order, found by their keys (_PNL_PAGE_KEYS, one statement) instead of joining and sorting every position for
    one page. count() is the QuerySet's."""

    def __init__(self, rows: QuerySet):
        self.rows = rows
        scope = rows.pnl_scope
        self.params = {"account": scope["account"] and scope["account"].pk,
                       "instrument": scope["instrument"] and scope["instrument"].pk}

    def count(self) -> int:
        return self.rows.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        start, stop = index.start or 0, index.stop
        if index.step is not None or start < 0 or stop is None or stop < start:
            return list(self.rows)[index]
        with read_connection().cursor() as cursor:
            cursor.execute(_PNL_PAGE_KEYS, {**self.params, "offset": start, "limit": stop - start, "end": stop})
            keys = [key for (key,) in cursor.fetchall()]
        return list(self.rows.filter(pk__in=keys)) if keys else []


def pnl_pages(rows: QuerySet):
    """What to page pnl_list's rows with: PnlPages over the position totals, the QuerySet itself over the lines."""
    return PnlPages(rows) if hasattr(rows, "pnl_scope") else rows


PNL_FIGURES = ("realized", "unrealized", "commissions", "net", "cost", "market_value")

# pnl_totals and pnl_by_instrument over the position totals: each row's market value at its instrument's latest
# price (joined once per instrument, not looked up per row), rounded per row as pnl_list rounds it, summed per
# instrument and currency first (a hash aggregate of a few hundred groups on the totals' own keys, no sort of every
# row by text), then per the caller's keys. Sums of sums are the sums: NULL only where every row's is (SUM). The
# first pass sums only the columns (numeric additions are what it costs: one per row and figure, on hundreds of
# thousands of positions); unrealized and net follow from those sums, exactly (numeric sums are exact): a row's
# unrealized counts where it has a market value (priced, or nothing held), so the instrument's is its market value
# less the cost of those rows, and net is realized + unrealized (0 when unpriced) - commissions.
_PNL_SUMS = """
WITH px AS (
    SELECT DISTINCT ON (instrument_id) instrument_id, price FROM records_price WHERE price_date <= %(as_of)s
    ORDER BY instrument_id, price_date DESC, updated_at DESC, id DESC),
per_instrument AS (
    SELECT t.instrument_id, t.currency, -SUM(t.realized_sum) AS realized, SUM(t.commission_sum) AS commissions,
           SUM(t.cost_sum) AS cost,
           SUM(CASE WHEN t.quantity_sum = 0 THEN 0 ELSE ROUND(t.quantity_sum * px.price, 4) END) AS market_value,
           SUM(t.cost_sum) FILTER (WHERE t.quantity_sum = 0 OR px.price IS NOT NULL) AS valued_cost,
           COUNT(*) FILTER (WHERE t.quantity_sum <> 0 AND px.price IS NULL) AS unpriced
    FROM accounting_positiontotal t
    LEFT JOIN px ON px.instrument_id = t.instrument_id
    WHERE (%(account)s::bigint IS NULL OR t.account_id = %(account)s)
      AND (%(instrument)s::bigint IS NULL OR t.instrument_id = %(instrument)s)
    GROUP BY t.instrument_id, t.currency)
SELECT {keys}, SUM(realized) AS realized, SUM(market_value - valued_cost) AS unrealized,
       SUM(commissions) AS commissions, SUM(realized + COALESCE(market_value - valued_cost, 0) - commissions) AS net,
       SUM(cost) AS cost, SUM(market_value) AS market_value, SUM(unpriced)::bigint AS unpriced
FROM per_instrument AS s LEFT JOIN records_instrument i ON i.id = s.instrument_id
GROUP BY {keys} ORDER BY {keys}"""


def _pnl_sums(rows: QuerySet, by: tuple[str, ...], *, sql_keys: str) -> list[dict]:
    scope = getattr(rows, "pnl_scope", None)
    if scope is None:
        return _sums_by(rows, by=by, columns=PNL_FIGURES, counts={"unpriced": 't."market_value" IS NULL'})
    keys = sql_keys  # the callers' constants: by, qualified
    params = {"as_of": scope["as_of"], "account": scope["account"] and scope["account"].pk,
              "instrument": scope["instrument"] and scope["instrument"].pk}
    with read_connection().cursor() as cursor:
        cursor.execute(_PNL_SUMS.format(keys=keys), params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def pnl_totals(rows: QuerySet) -> list[dict]:
    """Return pnl_list's rows summed per currency (every row, not a page): the figures of PNL_FIGURES,
    unrealized and market value over the priced rows, and how many rows are unpriced."""
    return _pnl_sums(rows, ("currency",), sql_keys="s.currency")


def pnl_by_instrument(rows: QuerySet) -> list[dict]:
    """Return pnl_list's rows summed per instrument and currency: isin, symbol, currency and PNL_FIGURES."""
    return _pnl_sums(rows, ("isin", "symbol", "currency"), sql_keys="i.isin, i.symbol, s.currency")


def pnl_totals_of(by_instrument: list[dict]) -> list[dict]:
    """Return pnl_totals from pnl_by_instrument's sums (the same figures without a second pass over every row).

    The instruments partition the rows, so their sums add up to the currency's; a figure that is None for
    every instrument of a currency (unrealized, market value: nothing priced) stays None, as SQL's SUM.
    """
    per_currency: dict[str, dict] = {}
    for row in by_instrument:
        total = per_currency.setdefault(row["currency"], {"currency": row["currency"],
                                                          **dict.fromkeys(PNL_FIGURES), "unpriced": 0})
        for name in PNL_FIGURES:
            if row[name] is not None:
                total[name] = row[name] if total[name] is None else total[name] + row[name]
        total["unpriced"] += row["unpriced"]
    return [per_currency[currency] for currency in sorted(per_currency)]


def pnl_by_day(*, as_of: date, account=None, instrument=None) -> list[dict]:
    """Return the P&L over time up to as_of in the base currency (gains positive), one row per date with realized
    P&L or a mark to market, oldest first: [{entry_date, realized, cumulative, unrealized, total}].

    realized: the date's realized P&L (None when no realized line is dated that day); cumulative: realized to the
    end of the date; unrealized: minus the date's MTM entries' lines on the unrealized P&L account (the valuation
    as of that date; its MTM_REVERSAL the next day is not counted), None without a mark to market that day;
    total: cumulative + unrealized, None without a mark to market. One statement, grouped by date by PostgreSQL,
    from the day totals for the whole firm, from the lines for one account or instrument.
    """
    if account is None and instrument is None:  # the whole firm: the day totals (per GL account, day and rule)
        realized, marked = Q(gl_account__role=REALIZED_PNL), Q(gl_account__role=UNREALIZED_PNL, rule=MARK_TO_MARKET)
        rows = _day_totals(date_to=as_of)
    else:
        realized = Q(gl_account__role=REALIZED_PNL)
        marked = Q(gl_account__role=UNREALIZED_PNL, entry__rule=MARK_TO_MARKET)
        rows = _lines(date_to=as_of, account=account, instrument=instrument)
    days = (rows
            .filter(realized | marked)
            .values("entry_date")
            .annotate(realized=-Sum("base_amount", filter=realized), unrealized=-Sum("base_amount", filter=marked))
            .order_by())
    sql, params = days.query.sql_with_params()
    cumulative = 'SUM(COALESCE(t."realized", 0)) OVER (ORDER BY t."entry_date")'
    # The inner statement is the ORM's (values travel as parameters); the rest is constant.
    statement = (f'SELECT t."entry_date", t."realized", {cumulative} AS "cumulative", t."unrealized", '  # noqa: S608
                 f'{cumulative} + t."unrealized" AS "total" FROM ({sql}) AS t ORDER BY t."entry_date"')
    with read_connection().cursor() as cursor:
        cursor.execute(statement, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- income statement and balance sheet, in the base currency ---

TYPE_LABELS = dict(GLAccount.Type.choices)
EARNINGS_LABEL = "Current-period earnings"


@dataclass
class StatementLine:
    """A GL account in a statement, signed as its type reads (assets and expenses: debits positive;
    liabilities, equity and revenue: credits positive). amount: its own lines; total: with its sub-accounts."""

    gl_account: str | None
    name: str
    type: str
    parent: str | None
    depth: int
    amount: Decimal
    total: Decimal
    has_children: bool = False


@dataclass
class StatementSection:
    type: str
    label: str
    lines: list[StatementLine] = field(default_factory=list)
    total: Decimal = ZERO


def _base_balances(lines: QuerySet, types) -> dict[int, Decimal]:
    """Σ base amounts per GL account of these types, of lines or of day totals."""
    return dict(lines.filter(gl_account__type__in=types).order_by().values("gl_account_id")
                .annotate(total=Sum("base_amount")).values_list("gl_account_id", "total"))


def _lines_or_totals(*, date_from: date | None = None, date_to: date | None = None, account=None) -> QuerySet:
    """The lines of one trading account, or the day totals of the whole firm: both sum to the same figures."""
    if account is None:
        return _day_totals(date_from=date_from, date_to=date_to)
    return _lines(date_from=date_from, date_to=date_to, account=account)


def _sections(types, balances: dict[int, Decimal]) -> list[StatementSection]:
    """The chart's accounts of the types as trees (each under its parent of the same type), with totals.

    An account shows when it is active or has a balance; a heading shows when any of its accounts does.
    """
    accounts = list(GLAccount.objects.filter(type__in=types).order_by("code"))
    by_id = {account.pk: account for account in accounts}
    children = defaultdict(list)
    roots = defaultdict(list)
    for account in accounts:
        parent = by_id.get(account.parent_id)
        if parent is not None and parent.type == account.type:
            children[parent.pk].append(account)
        else:
            roots[account.type].append(account)

    def sign(account) -> int:
        return 1 if account.type in GLAccount.DEBIT_NORMAL else -1

    def walk(account, depth, parent_code, out) -> Decimal:
        own = sign(account) * balances.get(account.pk, ZERO)
        line = StatementLine(gl_account=account.code, name=account.name, type=account.type, parent=parent_code,
                             depth=depth, amount=own, total=own, has_children=bool(children[account.pk]))
        at = len(out)
        out.append(line)
        for child in children[account.pk]:
            line.total += walk(child, depth + 1, account.code, out)
        if not account.is_active and not line.total and len(out) == at + 1:
            out.pop()  # an inactive account with nothing in it
        return line.total

    sections = []
    for type_ in types:
        section = StatementSection(type=type_, label=TYPE_LABELS[type_])
        for root in roots[type_]:
            section.total += walk(root, 0, None, section.lines)
        sections.append(section)
    return sections


@dataclass
class IncomeStatement:
    date_from: date
    date_to: date
    sections: list[StatementSection]
    revenue: Decimal
    expenses: Decimal
    net_income: Decimal


def income_statement(*, date_from: date, date_to: date, account=None) -> IncomeStatement:
    """Return revenue and expenses of the lines dated date_from to date_to in the base currency, with net income
    (revenue - expenses: gains positive)."""
    balances = _base_balances(_lines_or_totals(date_from=date_from, date_to=date_to, account=account),
                              GLAccount.INCOME_STATEMENT)
    sections = _sections(GLAccount.INCOME_STATEMENT, balances)
    revenue, expenses = (section.total for section in sections)
    return IncomeStatement(date_from=date_from, date_to=date_to, sections=sections, revenue=revenue,
                           expenses=expenses, net_income=revenue - expenses)


@dataclass
class BalanceSheet:
    as_of: date
    sections: list[StatementSection]
    assets: Decimal
    liabilities: Decimal
    equity: Decimal  # earnings included
    earnings: Decimal
    liabilities_and_equity: Decimal
    difference: Decimal  # assets - (liabilities + equity): 0 for the whole ledger


def balance_sheet(*, as_of: date, account=None) -> BalanceSheet:
    """Return assets, liabilities and equity at the end of as_of in the base currency.

    Equity includes the current-period earnings (revenue - expenses of every line to date not yet
    closed to retained earnings), as a line of its own, so that assets = liabilities + equity exactly
    for the whole ledger (every entry balances in base). Filtered to one trading account, entries
    whose other lines carry no account may leave a difference, which is reported.
    """
    lines = _lines_or_totals(date_to=as_of, account=account)
    balances = _base_balances(lines, GLAccount.BALANCE_SHEET)
    sections = _sections(GLAccount.BALANCE_SHEET, balances)
    pnl = lines.filter(gl_account__type__in=GLAccount.INCOME_STATEMENT).aggregate(total=Sum("base_amount"))["total"]
    earnings = -(pnl or ZERO)
    assets, liabilities, equity = sections
    equity.lines.append(StatementLine(gl_account=None, name=EARNINGS_LABEL, type=GLAccount.Type.EQUITY, parent=None,
                                      depth=0, amount=earnings, total=earnings))
    equity.total += earnings
    return BalanceSheet(as_of=as_of, sections=sections, assets=assets.total, liabilities=liabilities.total,
                        equity=equity.total, earnings=earnings,
                        liabilities_and_equity=liabilities.total + equity.total,
                        difference=assets.total - liabilities.total - equity.total)
