"""The API of the accounting reports (included by accounting/api_urls.py under /api/v1/accounting/).

API.md "Accounting". Thin: parse the query, call the selectors (accounting/reports/selectors.py), shape.
Accounting, operations and compliance read; every report is a GET.

- GET trial-balance/?as_of=&account=&currency=: per GL account and currency, with totals (all pages)
- GET ledger/?gl_account= (required)&account=&currency=&date_from=&date_to=: a GL account's lines,
  with opening, running and closing balances
- GET pnl/?account=&as_of=&instrument=: realized, unrealized, commissions per account and instrument
- GET income-statement/?date_from=&date_to=&account=, GET balance-sheet/?as_of=&account=: in base
"""

from datetime import date

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounting.reports import selectors
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import (
    AMOUNT,
    DECIMAL_SCHEMA,
    PRICE,
    QUANTITY,
    InputError,
    StrictDateField,
    StrictDecimalField,
    format_decimal,
)
from backoffice.core.pagination import PageNumberPagination
from backoffice.core.permissions import HasRole
from backoffice.core.replica import ReplicaReadsMixin
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from records.reference import selectors as reference_selectors
from records.reference.validators import parse_currency

READERS = (ACCOUNTING, OPERATIONS, COMPLIANCE)
ReportRole = HasRole(ACCOUNTING, read=READERS)

_DECIMAL = dict(DECIMAL_SCHEMA)
_NULLABLE_DECIMAL = {**DECIMAL_SCHEMA, "nullable": True}
_DATE = {"type": "string", "format": "date"}


def _object(properties: dict, **extra) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties), **extra}


def _list(item: dict) -> dict:
    return {"type": "array", "items": item}


# --- query parameters ---

class CurrencyQueryField(serializers.CharField):
    """An ISO 4217 currency code (USD, never usd)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 3)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return parse_currency(super().to_internal_value(data))
        except InputError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None


class AccountQuery(serializers.Serializer):
    account = serializers.CharField(max_length=30, required=False,
                                    help_text="Trading account code (the sub-ledger): only its lines.")


class TrialBalanceQuery(AccountQuery):
    as_of = StrictDateField(required=False, help_text="YYYY-MM-DD; default today. Lines dated on or before it.")
    currency = CurrencyQueryField(required=False, help_text="Only this currency's rows.")


class LedgerQuery(AccountQuery):
    gl_account = serializers.CharField(max_length=20, help_text="GL account code (chart of accounts).")
    currency = CurrencyQueryField(required=False)
    date_from = StrictDateField(required=False, help_text="YYYY-MM-DD; lines before it make the opening balance.")
    date_to = StrictDateField(required=False, help_text="YYYY-MM-DD; default: every line.")

    def validate(self, attrs):
        _check_range(attrs.get("date_from"), attrs.get("date_to"))
        return attrs


class PnlQuery(AccountQuery):
    as_of = StrictDateField(required=False, help_text="YYYY-MM-DD; default today. Lines and prices up to it.")
    instrument = serializers.CharField(max_length=12, required=False, help_text="ISIN.")


class IncomeStatementQuery(AccountQuery):
    date_from = StrictDateField(required=False, help_text="YYYY-MM-DD; default 1 January of date_to's year.")
    date_to = StrictDateField(required=False, help_text="YYYY-MM-DD; default today.")

    def validate(self, attrs):
        _check_range(attrs.get("date_from"), attrs.get("date_to") or timezone.localdate())
        return attrs


class BalanceSheetQuery(AccountQuery):
    as_of = StrictDateField(required=False, help_text="YYYY-MM-DD; default today.")


def _check_range(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})


def _query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def _account(code: str | None):
    """The trading account a query names, or a 400 naming the parameter."""
    if not code:
        return None
    account = reference_selectors.account_get(code)
    if account is None:
        raise BusinessRuleError(f"Unknown account {code!r}.", field="account")
    return account


def _instrument(isin: str | None):
    if not isin:
        return None
    instrument = reference_selectors.instrument_get(isin)
    if instrument is None:
        raise BusinessRuleError(f"Unknown instrument {isin!r} (give an ISIN).", field="instrument")
    return instrument


def _gl_account(code: str):
    gl_account = selectors.gl_account_get(code)
    if gl_account is None:
        raise ValidationError({"gl_account": [f"Unknown GL account {code!r}: see /api/v1/accounting/ chart of "
                                              "accounts for the codes."]})
    return gl_account


# --- paginated reports with figures beside the page ---

class ReportPagination(PageNumberPagination):
    """The project's page shape {count, next, previous, results}, plus the report's own keys (figures),
    which the view sets before answering and extra_schema describes."""

    extra_schema: dict = {}

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data.update(getattr(self, "figures", {}))
        return response

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"].update(self.extra_schema)
        paginated["required"] = [*paginated.get("required", []), *self.extra_schema]
        return paginated


def _pagination(name: str, extra_schema: dict) -> type[ReportPagination]:
    return type(name, (ReportPagination,), {"extra_schema": extra_schema})


class ReportListApi(ReplicaReadsMixin, generics.ListAPIView):
    permission_classes = [ReportRole]
    filter_backends = []

    def report_figures(self, rows) -> dict:
        return {}

    def pages_of(self, rows):
        """What the paginator pages (the rows themselves unless a report pages them faster)."""
        return rows

    def list(self, request, *args, **kwargs):
        rows = self.get_queryset()
        page = self.paginate_queryset(self.pages_of(rows))
        self.paginator.figures = self.report_figures(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- trial balance ---

class TrialBalanceRowOutput(serializers.Serializer):
    gl_account = serializers.CharField(source="gl_code", help_text="GL account code.")
    name = serializers.CharField(source="gl_name")
    type = serializers.ChoiceField(source="gl_type", choices=selectors.GLAccount.Type.choices)
    currency = serializers.CharField()
    debit = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="The balance when it is a debit, else 0.")
    credit = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="Minus the balance when it is a credit, "
                                                                      "else 0.")
    balance = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="Σ lines in the currency (debit positive).")
    base_debit = StrictDecimalField(kind=AMOUNT, read_only=True)
    base_credit = StrictDecimalField(kind=AMOUNT, read_only=True)
    base_balance = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="Σ lines' base-currency amounts.")


_DEBIT_CREDIT = {"debit": _DECIMAL, "credit": _DECIMAL}
TrialBalancePagination = _pagination("TrialBalancePagination", {
    "as_of": _DATE,
    "base_currency": {"type": "string"},
    "totals": _object({
        "per_currency": _list(_object({"currency": {"type": "string"}, **_DEBIT_CREDIT})),
        "base": _object(dict(_DEBIT_CREDIT)),
    }, description="Σ debit and Σ credit of every row (all pages), per currency and in the base currency: equal "
                   "when the ledger balances."),
})


def _debit_credit(row: dict) -> dict:
    return {"debit": format_decimal(row["debit"]), "credit": format_decimal(row["credit"])}


class TrialBalanceApi(ReportListApi):
    serializer_class = TrialBalanceRowOutput
    pagination_class = TrialBalancePagination

    def get_queryset(self):
        query = _query(TrialBalanceQuery, self.request)
        self.as_of = query.get("as_of") or timezone.localdate()
        # A few hundred rows at most: evaluated once, paged and totalled in memory (one GROUP BY of the ledger).
        return list(selectors.trial_balance(as_of=self.as_of, account=_account(query.get("account")),
                                            currency=query.get("currency")))

    def report_figures(self, rows) -> dict:
        totals = selectors.trial_balance_totals(rows)
        return {"as_of": self.as_of.isoformat(), "base_currency": selectors.base_currency(),
                "totals": {"per_currency": [{"currency": row["currency"], **_debit_credit(row)}
                                            for row in totals["per_currency"]],
                           "base": _debit_credit(totals["base"])}}

    @extend_schema(parameters=[TrialBalanceQuery], description=(
        "One row per GL account and currency with lines dated on or before as_of, by code: the balance "
        "(debit positive) as debit or credit, in the currency and in the base currency, with the totals of "
        "every row (not only the page)."))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- the ledger of a GL account ---

class LedgerLineOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The journal line.")
    entry = serializers.IntegerField(source="entry_id", help_text="The journal entry.")
    entry_date = serializers.DateField()
    rule = serializers.CharField(source="entry.rule")
    source_type = serializers.CharField(source="entry.source_type")
    source_id = serializers.IntegerField(source="entry.source_id")
    description = serializers.CharField(source="entry.description")
    account = serializers.CharField(source="account.code", allow_null=True, default=None,
                                    help_text="Trading account code.")
    instrument = serializers.CharField(source="instrument.isin", allow_null=True, default=None, help_text="ISIN.")
    currency = serializers.CharField()
    quantity = StrictDecimalField(kind=QUANTITY, read_only=True, help_text="Securities moved (investments).")
    debit = StrictDecimalField(kind=AMOUNT, read_only=True)
    credit = StrictDecimalField(kind=AMOUNT, read_only=True)
    running_balance = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="Balance of the line's currency "
                                                                               "after it, opening included.")
    base_debit = StrictDecimalField(kind=AMOUNT, read_only=True)
    base_credit = StrictDecimalField(kind=AMOUNT, read_only=True)
    running_base_balance = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="Base-currency balance after "
                                                                                    "the line, all currencies.")


_BALANCE = _object({"currency": {"type": "string"}, "balance": _DECIMAL, "base_balance": _DECIMAL})
LedgerPagination = _pagination("LedgerPagination", {
    "gl_account": _object({"code": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"}}),
    "date_from": {**_DATE, "nullable": True},
    "date_to": {**_DATE, "nullable": True},
    "base_currency": {"type": "string"},
    "opening": _list(_BALANCE) | {"description": "Balances per currency before date_from (empty without it)."},
    "opening_base_balance": _DECIMAL,
    "closing": _list(_BALANCE) | {"description": "Balances per currency at the end of date_to (all pages)."},
    "closing_base_balance": _DECIMAL,
})


def _balances(balances) -> list[dict]:
    return [{"currency": b.currency, "balance": format_decimal(b.balance),
             "base_balance": format_decimal(b.base_balance)} for b in balances]


class LedgerApi(ReportListApi):
    serializer_class = LedgerLineOutput
    pagination_class = LedgerPagination

    def get_queryset(self):
        query = _query(LedgerQuery, self.request)
        self.gl_account = _gl_account(query["gl_account"])
        self.filters = {"gl_account": self.gl_account, "account": _account(query.get("account")),
                        "currency": query.get("currency")}
        self.date_from, self.date_to = query.get("date_from"), query.get("date_to")
        self.opening = selectors.ledger_opening(**self.filters, date_from=self.date_from)
        return selectors.LedgerLines(**self.filters, date_from=self.date_from, date_to=self.date_to)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return selectors.ledger_page_balances(page, self.opening)

    def report_figures(self, rows) -> dict:
        closing = selectors.ledger_closing(**self.filters, date_to=self.date_to)
        return {"gl_account": {"code": self.gl_account.code, "name": self.gl_account.name,
                               "type": self.gl_account.type},
                "date_from": self.date_from and self.date_from.isoformat(),
                "date_to": self.date_to and self.date_to.isoformat(),
                "base_currency": selectors.base_currency(),
                "opening": _balances(self.opening),
                "opening_base_balance": format_decimal(sum((b.base_balance for b in self.opening),
                                                           start=selectors.ZERO)),
                "closing": _balances(closing),
                "closing_base_balance": format_decimal(sum((b.base_balance for b in closing), start=selectors.ZERO))}

    @extend_schema(parameters=[LedgerQuery], description=(
        "The lines of one GL account, oldest first (entry date, entry, line), with the balance before date_from, "
        "the running balance after each line (per currency, and in base over all currencies) and the balance at "
        "the end of date_to. 400 for an unknown GL account code."))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- P&L ---

class PnlOutput(serializers.Serializer):
    account = serializers.CharField(source="account_code", allow_null=True, help_text="Trading account code.")
    instrument = serializers.CharField(source="isin", allow_null=True, help_text="ISIN.")
    symbol = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    quantity = StrictDecimalField(kind=QUANTITY, read_only=True, help_text="Σ securities on investments.")
    cost = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="Σ investments lines: the cost still held.")
    price = StrictDecimalField(kind=PRICE, read_only=True, allow_null=True,
                               help_text="Latest price on or before as_of; null if never priced.")
    price_date = serializers.DateField(allow_null=True)
    priced = serializers.SerializerMethodField(help_text="False: no price, unrealized is null.")
    market_value = StrictDecimalField(kind=AMOUNT, read_only=True, allow_null=True,
                                      help_text="quantity × price at four places (0 when nothing is held).")
    realized = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="−Σ realized P&L lines: gains positive.")
    unrealized = StrictDecimalField(kind=AMOUNT, read_only=True, allow_null=True,
                                    help_text="market_value − cost; null when unpriced.")
    commissions = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="Σ commission expense lines.")
    net = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="realized + unrealized − commissions "
                                                                   "(unrealized as 0 when unpriced).")

    def get_priced(self, row) -> bool:
        return row["market_value"] is not None


_PNL_TOTAL = _object({"currency": {"type": "string"}, **dict.fromkeys(selectors.PNL_FIGURES, _DECIMAL),
                      "unpriced": {"type": "integer"}})
_PNL_TOTAL["properties"]["unrealized"] = _DECIMAL
PnlPagination = _pagination("PnlPagination", {
    "as_of": _DATE,
    "totals": _list(_PNL_TOTAL) | {"description": "Per currency, every row (all pages); unrealized and market "
                                                  "value of the priced rows, unpriced: how many are not."},
})


class PnlApi(ReportListApi):
    serializer_class = PnlOutput
    pagination_class = PnlPagination

    def get_queryset(self):
        query = _query(PnlQuery, self.request)
        self.as_of = query.get("as_of") or timezone.localdate()
        return selectors.pnl_list(as_of=self.as_of, account=_account(query.get("account")),
                                  instrument=_instrument(query.get("instrument")))

    def pages_of(self, rows):
        return selectors.pnl_pages(rows)

    def report_figures(self, rows) -> dict:
        return {"as_of": self.as_of.isoformat(), "totals": [
            {"currency": row["currency"], "unpriced": row["unpriced"],
             **{name: format_decimal(row[name] or selectors.ZERO) for name in selectors.PNL_FIGURES}}
            for row in selectors.pnl_totals(rows)]}

    @extend_schema(parameters=[PnlQuery], description=(
        "P&L per trading account and instrument up to as_of: realized (gains positive), commissions, "
        "quantity and cost held, the latest price on or before as_of and the unrealized P&L at it "
        "(null, priced false, without a price), net; totals per currency."))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- income statement and balance sheet ---

class StatementLineOutput(serializers.Serializer):
    gl_account = serializers.CharField(allow_null=True, help_text="GL account code; null for current-period "
                                                                  "earnings.")
    name = serializers.CharField()
    type = serializers.CharField()
    parent = serializers.CharField(allow_null=True, help_text="The parent GL account's code.")
    depth = serializers.IntegerField(help_text="0 for a top-level account.")
    amount = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="Its own lines, signed as its type reads.")
    total = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="With its sub-accounts.")


class StatementSectionOutput(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    lines = StatementLineOutput(many=True)
    total = StrictDecimalField(kind=AMOUNT, read_only=True)


class IncomeStatementOutput(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    base_currency = serializers.CharField()
    account = serializers.CharField(allow_null=True)
    sections = StatementSectionOutput(many=True, help_text="Revenue (credits positive), then expenses (debits "
                                                           "positive).")
    revenue = StrictDecimalField(kind=AMOUNT, read_only=True)
    expenses = StrictDecimalField(kind=AMOUNT, read_only=True)
    net_income = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="revenue − expenses.")


class BalanceSheetOutput(serializers.Serializer):
    as_of = serializers.DateField()
    base_currency = serializers.CharField()
    account = serializers.CharField(allow_null=True)
    sections = StatementSectionOutput(many=True, help_text="Assets (debits positive), liabilities and equity "
                                                           "(credits positive); equity ends with current-period "
                                                           "earnings.")
    assets = StrictDecimalField(kind=AMOUNT, read_only=True)
    liabilities = StrictDecimalField(kind=AMOUNT, read_only=True)
    equity = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="Current-period earnings included.")
    earnings = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="Revenue − expenses of every line to "
                                                                        "date.")
    liabilities_and_equity = StrictDecimalField(kind=AMOUNT, read_only=True)
    difference = StrictDecimalField(kind=AMOUNT, read_only=True, help_text="assets − (liabilities + equity): 0 "
                                                                          "for the whole ledger.")


class IncomeStatementApi(ReplicaReadsMixin, generics.GenericAPIView):
    permission_classes = [ReportRole]
    serializer_class = IncomeStatementOutput

    @extend_schema(parameters=[IncomeStatementQuery], description=(
        "Revenue and expenses of the lines dated date_from to date_to, in the base currency, GL accounts in "
        "their hierarchy with subtotals, and net income."))
    def get(self, request):
        query = _query(IncomeStatementQuery, request)
        date_to = query.get("date_to") or timezone.localdate()
        date_from = query.get("date_from") or date(date_to.year, 1, 1)
        account = _account(query.get("account"))
        statement = selectors.income_statement(date_from=date_from, date_to=date_to, account=account)
        statement.base_currency = selectors.base_currency()
        statement.account = account and account.code
        return Response(IncomeStatementOutput(statement).data)


class BalanceSheetApi(ReplicaReadsMixin, generics.GenericAPIView):
    permission_classes = [ReportRole]
    serializer_class = BalanceSheetOutput

    @extend_schema(parameters=[BalanceSheetQuery], description=(
        "Assets, liabilities and equity at the end of as_of, in the base currency, GL accounts in their "
        "hierarchy with subtotals; equity includes the current-period earnings, so assets = liabilities + "
        "equity."))
    def get(self, request):
        query = _query(BalanceSheetQuery, request)
        account = _account(query.get("account"))
        sheet = selectors.balance_sheet(as_of=query.get("as_of") or timezone.localdate(), account=account)
        sheet.base_currency = selectors.base_currency()
        sheet.account = account and account.code
        return Response(BalanceSheetOutput(sheet).data)


urlpatterns = [
    path("trial-balance/", TrialBalanceApi.as_view(), name="api-accounting-trial-balance"),
    path("ledger/", LedgerApi.as_view(), name="api-accounting-ledger"),
    path("pnl/", PnlApi.as_view(), name="api-accounting-pnl"),
    path("income-statement/", IncomeStatementApi.as_view(), name="api-accounting-income-statement"),
    path("balance-sheet/", BalanceSheetApi.as_view(), name="api-accounting-balance-sheet"),
]
