"""The input rules of standing settlement instructions: BICs, the safekeeping account, the effective dates.

One place every path reads an SSI through (the services, the maker-checker kind, the API, the
dashboard form, the admin), so the same value is refused the same way everywhere. Raises
BusinessRuleError naming the field.
"""

from datetime import date

from stdnum import bic as stdnum_bic
from stdnum.exceptions import ValidationError as StdnumError

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import InputError, date_param, parse_text

BIC_FIELDS = ("depository_bic", "place_of_settlement_bic", "agent_bic")
# What a change to an existing SSI may set: its counterparty and market are what it is for.
CHANGEABLE_FIELDS = (*BIC_FIELDS, "safekeeping_account", "effective_from", "effective_to")
SSI_FIELDS = ("counterparty", "market", *CHANGEABLE_FIELDS)
BIC_MESSAGE = ("Not a valid BIC (ISO 9362): 8 or 11 letters and digits, bank code (4 letters), "
               "country code (2 letters, ISO 3166), location (2) and optional branch (3).")


def parse_bic(value, *, field: str) -> str:
    """Return the BIC a client sent, upper-cased (ISO 9362: 8 or 11 characters, a known country code)."""
    try:
        text = parse_text(value, max_length=11)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field=field) from None
    try:
        return stdnum_bic.validate(text)
    except StdnumError:
        raise BusinessRuleError(BIC_MESSAGE, field=field) from None


def parse_safekeeping_account(value) -> str:
    """Return the counterparty's account at the depository: text, at most 35 characters (ISO 20022 Max35Text)."""
    try:
        return parse_text(value, max_length=35)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field="safekeeping_account") from None


def parse_ssi_date(value, *, field: str, required: bool) -> date | None:
    """Return a date given as a date or as YYYY-MM-DD text; None when not required and absent or null."""
    if value is None or value == "":
        if required:
            raise BusinessRuleError("This field is required.", field=field)
        return None
    return date_param(value, field=field)


def check_effective_range(effective_from: date, effective_to: date | None) -> None:
    if effective_to is not None and effective_to < effective_from:
        raise BusinessRuleError("Must not be before the effective-from date.", field="effective_to")


def ssi_values(data: dict, *, creating: bool) -> dict:
    """The typed values of the SSI fields present in data (all of them required when creating, but effective_to).

    counterparty and market are left as given (codes or records): the caller resolves them.
    """
    values = {}
    for name in BIC_FIELDS:
        if creating or name in data:
            values[name] = parse_bic(data.get(name), field=name)
    if creating or "safekeeping_account" in data:
        values["safekeeping_account"] = parse_safekeeping_account(data.get("safekeeping_account"))
    if creating or "effective_from" in data:
        values["effective_from"] = parse_ssi_date(data.get("effective_from"), field="effective_from", required=True)
    if creating or "effective_to" in data:
        values["effective_to"] = parse_ssi_date(data.get("effective_to"), field="effective_to", required=False)
    return values
