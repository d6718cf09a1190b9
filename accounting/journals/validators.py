"""The rules of a manual journal entry and of a manual reversal, checked when proposed and again when applied.

manual_entry_parse reads what a maker sent (the API's JSON, the page's form, a stored payload) and
either returns the entry, its records resolved, or raises ManualEntryInvalid with every message at
its field (lines nested per line, as DRF does), so nothing is written and the maker sees all of it.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from accounting.chart import selectors as chart_selectors
from accounting.models import JournalEntry
from accounting.periods import selectors as period_selectors
from accounting.posting.books import fx_rate_or_error
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import (
    AMOUNT,
    NULL,
    REQUIRED,
    InputError,
    format_decimal,
    parse_date,
    parse_decimal,
    parse_text,
)
from records.reference import selectors as reference_selectors
from records.reference.validators import parse_currency

MAX_LINES = 500
ENTRY_FIELDS = ("entry_date", "currency", "description", "account", "lines")
LINE_FIELDS = ("gl_account", "debit", "credit", "account", "instrument")
MANUAL_RULE = "MANUAL"
REVERSAL_RULE = "MANUAL_REVERSAL"


class ManualEntryInvalid(BusinessRuleError):
    """A manual entry refused: errors holds every message at its field ({"lines": [{...}, {}]} per line).

    The API answers them all (as_dict); message and field are the first, for a single-line reason.
    """

    def __init__(self, errors: dict):
        self.errors = errors
        name, first = _first(errors)
        super().__init__(first, field=name)

    def as_dict(self) -> dict:
        return self.errors


def _first(errors: dict) -> tuple[str, str]:
    name, value = next(iter(errors.items()))
    for number, item in enumerate(value, start=1):
        if isinstance(item, dict) and item:
            line_field, messages = next(iter(item.items()))
            return name, f"line {number}: {line_field}: {messages[0]}"
        if isinstance(item, str):
            return name, item
    return name, str(value)


@dataclass
class ManualLine:
    gl_account: object  # GLAccount
    amount: Decimal  # debit positive, credit negative
    account: object | None = None  # records' Account
    instrument: object | None = None  # records' Instrument

    def payload(self) -> dict:
        side = "debit" if self.amount > 0 else "credit"
        return {"gl_account": self.gl_account.code, side: format_decimal(abs(self.amount)),
                "account": self.account.code if self.account is not None else None,
                "instrument": self.instrument.isin if self.instrument is not None else None}


@dataclass
class ManualEntry:
    entry_date: date
    currency: str
    description: str
    account: object | None
    lines: list[ManualLine] = field(default_factory=list)
    fx_rate: Decimal = Decimal(1)

    @property
    def debits(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.amount > 0), Decimal(0))

    def payload(self) -> dict:
        return {"entry_date": self.entry_date.isoformat(), "currency": self.currency,
                "description": self.description, "account": self.account.code if self.account is not None else None,
                "lines": [line.payload() for line in self.lines]}


def closed_period_message(day: date) -> str:
    return (f"The period {day:%Y-%m} is closed: it takes no entries. Date the entry in an open period, or have "
            f"{day:%Y-%m} reopened (Periods).")


def _text(data: dict, name: str, errors: dict, *, max_length: int):
    if data.get(name) is None:
        errors[name] = [REQUIRED if name not in data else NULL]
        return None
    try:
        return parse_text(data[name], max_length=max_length)
    except InputError as exc:
        errors[name] = [exc.message]
        return None


def _key(value, max_length: int) -> bool:
    """A business key worth looking up: a printable string of at most max_length characters (PostgreSQL refuses
    a NUL in a text parameter: an answer of 500 otherwise)."""
    return isinstance(value, str) and len(value) <= max_length and value.isprintable()


def _trading_account(value, errors: dict, name: str = "account"):
    if value in (None, ""):
        return None
    account = reference_selectors.account_get(value) if _key(value, 30) else None
    if account is None:
        errors[name] = [f"Unknown account {value!r}."]
    return account


def _line(data, number: int, gl_accounts: dict) -> tuple[ManualLine | None, dict]:
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["Expected an object."]}
    unknown = sorted(set(data) - set(LINE_FIELDS))
    if unknown:
        errors[unknown[0]] = [f"Unknown field; expected one of {', '.join(LINE_FIELDS)}."]
    gl = None
    code = data.get("gl_account")
    if code in (None, ""):
        errors["gl_account"] = [REQUIRED]
    else:
        gl = gl_accounts.get(code) if _key(code, 20) else None
        if gl is None:
            errors["gl_account"] = [f"Unknown GL account {code!r}."]
        elif not gl.is_active:
            errors["gl_account"] = [f"{gl.code} {gl.name} is inactive: it takes no manual entries."]
        elif gl.has_children:
            errors["gl_account"] = [f"{gl.code} {gl.name} is a heading: post to one of its accounts."]
    sides = [side for side in ("debit", "credit") if data.get(side) not in (None, "")]
    amount = None
    if len(sides) != 1:
        errors["debit" if "debit" in sides or not sides else "credit"] = [
            "Give a debit or a credit, not both." if sides else "Give a debit or a credit."]
    else:
        side = sides[0]
        try:
            value = parse_decimal(data[side], kind=AMOUNT, positive=True)
        except InputError as exc:
            errors[side] = [exc.message]
        else:
            amount = value if side == "debit" else -value
    account = _trading_account(data.get("account"), errors)
    instrument = None
    isin = data.get("instrument")
    if isin not in (None, ""):
        instrument = reference_selectors.instrument_get(isin) if _key(isin, 12) else None
        if instrument is None:
            errors["instrument"] = [f"Unknown instrument {isin!r} (give its ISIN)."]
    if errors:
        return None, errors
    return ManualLine(gl, amount, account, instrument), {}


def manual_entry_parse(data) -> ManualEntry:
    """The manual entry data describes, checked against the books as they are; ManualEntryInvalid otherwise.

    At least two lines, each exactly one of debit or credit above zero on an active GL account that is not a
    heading; debits equal credits; a known ISO 4217 currency with an FX rate to the base currency on or before
    the entry date; the entry date in an open period.
    """
    if not isinstance(data, dict):
        raise ManualEntryInvalid({"non_field_errors": ["Expected an object."]})
    errors: dict = {}
    unknown = sorted(set(data) - set(ENTRY_FIELDS))
    if unknown:
        errors[unknown[0]] = [f"Unknown field; expected one of {', '.join(ENTRY_FIELDS)}."]
    entry_date = None
    if data.get("entry_date") in (None, ""):
        errors["entry_date"] = [REQUIRED]
    else:
        try:
            entry_date = parse_date(data["entry_date"])
        except InputError as exc:
            errors["entry_date"] = [exc.message]
        else:
            if period_selectors.period_is_closed(entry_date):
                errors["entry_date"] = [closed_period_message(entry_date)]
    currency = None
    if data.get("currency") in (None, ""):
        errors["currency"] = [REQUIRED]
    else:
        try:
            currency = parse_currency(data["currency"])
        except InputError as exc:
            errors["currency"] = [exc.message]
    fx_rate = None
    if currency is not None and entry_date is not None:
        try:
            fx_rate = fx_rate_or_error(currency, entry_date)
        except BusinessRuleError as exc:
            errors["currency"] = [exc.message]
    description = _text(data, "description", errors, max_length=200)
    account = _trading_account(data.get("account"), errors)
    lines: list[ManualLine] = []
    raw = data.get("lines")
    if not isinstance(raw, list):
        errors["lines"] = [REQUIRED if raw is None else "Expected a list of lines."]
    elif len(raw) < 2:
        errors["lines"] = ["An entry needs at least two lines: a debit and a credit."]
    elif len(raw) > MAX_LINES:
        errors["lines"] = [f"At most {MAX_LINES} lines."]
    else:
        codes = [line.get("gl_account") for line in raw if isinstance(line, dict)]
        gl_accounts = chart_selectors.gl_accounts_by_code(code for code in codes if _key(code, 20))
        parents = chart_selectors.gl_accounts_with_children(gl_accounts.values())
        for gl in gl_accounts.values():
            gl.has_children = gl.pk in parents
        line_errors = []
        for number, item in enumerate(raw, start=1):
            line, problems = _line(item, number, gl_accounts)
            line_errors.append(problems)
            if line is not None:
                if line.account is None:
                    line.account = account
                lines.append(line)
        if any(line_errors):
            errors["lines"] = line_errors
        else:
            debits = sum((line.amount for line in lines if line.amount > 0), Decimal(0))
            credits = -sum((line.amount for line in lines if line.amount < 0), Decimal(0))
            if debits != credits:
                errors["lines"] = [f"Debits {format_decimal(debits)} and credits {format_decimal(credits)} do not "
                                   f"balance (difference {format_decimal(debits - credits)})."]
    if errors:
        raise ManualEntryInvalid(errors)
    return ManualEntry(entry_date, currency, description, account, lines, fx_rate)


# Reversals ----------------------------------------------------------------------------------------

def reversal_check(entry: JournalEntry, entry_date: date) -> None:
    """Refuse reversing an entry that cannot be: ConflictError (409) for its state, BusinessRuleError (400) for
    the date."""
    if getattr(entry, "reversed_by", None) is not None:
        raise ConflictError(f"Journal entry {entry.pk} is already reversed by entry {entry.reversed_by.pk}.")
    if entry.reversal_of_id is not None:
        raise ConflictError(f"Journal entry {entry.pk} is itself the reversal of entry {entry.reversal_of_id}: "
                            "post a new manual entry instead.")
    if entry.source_type != JournalEntry.Source.MANUAL or entry.rule != MANUAL_RULE:
        raise ConflictError(f"Journal entry {entry.pk} was posted by the posting engine ({entry.rule}): correct its "
                            "source (amend or cancel the trade, ...) and the engine reverses it; or post a manual "
                            "adjusting entry.")
    if entry_date < entry.entry_date:
        raise BusinessRuleError(f"Not before the entry it reverses ({entry.entry_date.isoformat()}).",
                                field="entry_date")
    if period_selectors.period_is_closed(entry_date):
        raise BusinessRuleError(closed_period_message(entry_date), field="entry_date")
