"""What a compliance rule may say, kind by kind: checked when a rule is proposed and again when it is applied.

KINDS describes every kind of RuleKind (docs/compliance.md "Rules" lists the same): whether it is a
pre-trade check or a surveillance scenario, what its threshold means (and whether it has one), and its
parameters with their types and defaults. A rule is held as a payload (JSON: decimals and dates as text,
the scope's account by code, instrument by ISIN); each refusal is a BusinessRuleError on the field at
fault (the API's 400). The checks:

- code: letters, digits, '-' or '_', starting with a letter or digit, up to 50; unique; never changes;
- kind: one of RuleKind; never changes (it gives the threshold its meaning: a new kind is a new rule);
- threshold: required or forbidden by the kind; a percentage is 0 < x <= 100, an amount or a quantity > 0,
  the buying power that must remain >= 0;
- params: an object of the kind's parameters only (an unknown one is refused), each of its type; the
  kind's defaults fill in the ones not given;
- action: ALERT only for surveillance kinds; REJECT, HOLD or ALERT for pre-trade ones;
- scope and scope_value: empty for ALL, else an existing account code, ISIN or asset class; a structuring
  rule (cash movements have no instrument) is scoped to all or to an account;
- effective_to not before effective_from; no control character (NUL included) anywhere.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from backoffice.core.exceptions import BusinessRuleError
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
from compliance.rules.models import (
    PRETRADE_KINDS,
    ComplianceRule,
    RuleAction,
    RuleKind,
    RuleScope,
    Severity,
)
from records.reference import selectors as reference_selectors
from records.reference.models import Instrument
from records.reference.validators import parse_currency

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$")
NAME_MAX_LENGTH = 200
REASON_MAX_LENGTH = 500

PRETRADE = "PRETRADE"
SURVEILLANCE = "SURVEILLANCE"
STAGES = {PRETRADE: "Pre-trade", SURVEILLANCE: "Surveillance"}

# Threshold units.
NONE = "none"
PERCENT = "percent"
AMOUNT_UNIT = "amount"
QUANTITY_UNIT = "quantity"
REMAINING = "remaining"


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # "decimal" (text), "percent" (text, 0 < x <= 100), "int", "currency", "per_currency"
    default: object
    help: str
    minimum: int = 0
    maximum: int | None = None


@dataclass(frozen=True)
class KindSpec:
    kind: str
    stage: str
    threshold: str  # NONE, PERCENT, AMOUNT_UNIT, QUANTITY_UNIT, REMAINING
    unit: str  # the threshold's unit as shown next to it ("%", "in the trade currency", ...)
    checks: str  # what the kind looks for (one sentence)
    params: tuple[Param, ...] = field(default=())
    scopes: tuple[str, ...] = tuple(RuleScope.values)
    short_unit: str = ""  # the unit in a table column ("trade ccy", "% of ADV")

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(RuleAction.values) if self.stage == PRETRADE else (RuleAction.ALERT,)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


KINDS: dict[str, KindSpec] = {spec.kind: spec for spec in (
    KindSpec(RuleKind.ACCOUNT_STATUS, PRETRADE, NONE, "",
             "The account is active (not suspended or closed) and its KYC review is not past due."),
    KindSpec(RuleKind.BUYING_POWER, PRETRADE, REMAINING, "in the account's base currency",
             "A buy's cost stays within the projected available cash plus the credit limit, leaving at least "
             "the threshold.", short_unit="base ccy"),
    KindSpec(RuleKind.SHORT_SALE, PRETRADE, NONE, "",
             "A sale the trade-date position does not cover (a short sale) has a locate or borrow for the account "
             "and instrument; an account in the Reg SHO penalty box is refused."),
    KindSpec(RuleKind.POSITION_LIMIT, PRETRADE, QUANTITY_UNIT, "units (absolute position)",
             "The projected position after the trade stays within the maximum absolute quantity.", short_unit="units"),
    KindSpec(RuleKind.CONCENTRATION, PRETRADE, PERCENT, "% of the account's gross market value",
             "The projected position after the trade stays within the maximum share of the account's gross "
             "market value.",
             (Param("min_portfolio_value", "decimal", "0",
                    "Portfolios of a smaller gross market value (base currency) are not checked."),),
             short_unit="% of GMV"),
    KindSpec(RuleKind.NOTIONAL, PRETRADE, AMOUNT_UNIT, "in the trade currency",
             "A trade's notional (quantity x price) stays within the maximum.",
             (Param("per_currency", "per_currency", {},
                    "Another maximum for trades in a currency, e.g. {\"JPY\": \"30000000000\"}."),),
             short_unit="trade ccy"),
    KindSpec(RuleKind.QUANTITY, PRETRADE, QUANTITY_UNIT, "units per trade",
             "A trade's quantity stays within the maximum.", short_unit="units"),
    KindSpec(RuleKind.PRICE_DEVIATION, PRETRADE, PERCENT, "% away from the last price",
             "A trade's price is within the percentage of the instrument's last price.", short_unit="% from last"),
    KindSpec(RuleKind.WASH_TRADE, SURVEILLANCE, PERCENT, "% price band",
             "The same beneficial owner bought and sold the same instrument within the window at prices within "
             "the band.",
             (Param("window_days", "int", 0, "Days between the buy and the sale (0: the same trade date).",
                    maximum=30),), short_unit="% band"),
    KindSpec(RuleKind.LARGE_TRADE, SURVEILLANCE, PERCENT, "% of the average daily volume",
             "A trade's quantity above the percentage of the instrument's average daily volume.",
             (Param("adv_days", "int", 20, "Trading days the average daily volume is taken over.", minimum=1,
                    maximum=250),
              Param("min_days", "int", 5, "Fewer days of volume than this: no average, no alert.", minimum=1,
                    maximum=250)), short_unit="% of ADV"),
    KindSpec(RuleKind.STRUCTURING, SURVEILLANCE, AMOUNT_UNIT, "the reporting threshold, in params.currency",
             "Several deposits or withdrawals of an account just under the reporting threshold within the window.",
             (Param("near_pct", "percent", "10", "How far under the threshold counts as just under (%)."),
              Param("window_days", "int", 5, "Days the movements are counted over.", minimum=1, maximum=90),
              Param("min_count", "int", 3, "Movements just under the threshold that raise an alert.", minimum=2,
                    maximum=1000),
              Param("currency", "currency", "USD", "The currency of the threshold and of the movements counted.")),
             scopes=(RuleScope.ALL, RuleScope.ACCOUNT), short_unit="ccy"),
    KindSpec(RuleKind.MARKING_CLOSE, SURVEILLANCE, PERCENT, "% move of the close against the previous close",
             "Trades in the last minutes before the close of a day whose close moved by more than the percentage.",
             (Param("window_minutes", "int", 15, "Minutes before the close that count.", minimum=1,
                    maximum=480),), short_unit="% move"),
    KindSpec(RuleKind.FAIL_CLOSE_OUT, SURVEILLANCE, NONE, "",
             "A fail to deliver still open past its Reg SHO close-out deadline: the account goes into the "
             "pre-borrow requirement (penalty box)."),
)}

assert set(KINDS) == set(RuleKind.values), "every RuleKind needs its KindSpec"

# The fields of a rule a payload holds, in the order shown; which of them a change may change.
FIELDS = ("code", "name", "kind", "scope", "scope_value", "threshold", "params", "action", "severity", "active",
          "effective_from", "effective_to")
CHANGEABLE = ("name", "scope", "scope_value", "threshold", "params", "action", "severity", "active",
              "effective_from", "effective_to")


def kind_spec(kind: str) -> KindSpec:
    return KINDS[kind]


def stage_of(kind: str) -> str:
    return PRETRADE if kind in PRETRADE_KINDS else SURVEILLANCE


def _error(message: str, name: str) -> BusinessRuleError:
    return BusinessRuleError(message, field=name)


def parse_rule_code(value, *, field: str = "code") -> str:
    if value is None:
        raise _error(NULL, field)
    if not isinstance(value, str) or not CODE.fullmatch(value.strip()):
        raise _error("A rule code: letters, digits, '-' or '_', starting with a letter or digit, up to 50 "
                     "characters.", field)
    return value.strip()


def _text(value, name: str, *, max_length: int, allow_blank: bool) -> str:
    if value is None:
        value = ""
    try:
        return parse_text(value, max_length=max_length, allow_blank=allow_blank)
    except InputError as exc:
        raise _error(exc.message, name) from None


def _choice(value, name: str, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        shown = repr(value) if isinstance(value, str) else "That"
        raise _error(f"{shown} is not a valid choice ({', '.join(choices)}).", name)
    return value


def _boolean(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise _error("Must be true or false.", name)
    return value


def _date(value, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return parse_date(value)
    except InputError as exc:
        raise _error(exc.message, name) from None


def _decimal(value, name: str, *, positive: bool = False, non_negative: bool = False) -> Decimal:
    try:
        return parse_decimal(value, kind=AMOUNT, positive=positive, non_negative=non_negative)
    except InputError as exc:
        raise _error(exc.message, name) from None


def _percent(value, name: str) -> Decimal:
    number = _decimal(value, name, positive=True)
    if number > 100:
        raise _error("A percentage: more than 0 and at most 100.", name)
    return number


def parse_threshold(spec: KindSpec, value) -> Decimal | None:
    """The threshold of a rule of this kind (None where the kind has none)."""
    if spec.threshold == NONE:
        if value is not None and value != "":
            raise _error(f"A {spec.kind} rule has no threshold: leave it empty (null).", "threshold")
        return None
    if value is None or value == "":
        raise _error(f"A {spec.kind} rule needs a threshold ({spec.unit}).", "threshold")
    if spec.threshold == PERCENT:
        return _percent(value, "threshold")
    if spec.threshold == REMAINING:
        return _decimal(value, "threshold", non_negative=True)
    return _decimal(value, "threshold", positive=True)


def _param_value(param: Param, value):
    where = f"params.{param.name}"
    if param.type in ("decimal", "percent"):
        try:
            number = _percent(value, "params") if param.type == "percent" else _decimal(value, "params",
                                                                                     non_negative=True)
        except BusinessRuleError as exc:
            raise _error(f"{where}: {exc.message}", "params") from None
        return format_decimal(number)
    if param.type == "int":
        number = value
        if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
            number = int(value.strip())
        if isinstance(number, bool) or not isinstance(number, int):
            raise _error(f"{where}: a whole number is required.", "params")
        if number < param.minimum or (param.maximum is not None and number > param.maximum):
            limit = f" and at most {param.maximum}" if param.maximum is not None else ""
            raise _error(f"{where}: at least {param.minimum}{limit}.", "params")
        return number
    if param.type == "currency":
        try:
            return parse_currency(value)
        except InputError as exc:
            raise _error(f"{where}: {exc.message}", "params") from None
    # per_currency: {"JPY": "30000000000", ...}
    if not isinstance(value, dict):
        raise _error(f"{where}: an object of currency codes and maximums, e.g. {{\"JPY\": \"30000000000\"}}.",
                     "params")
    limits = {}
    for currency, limit in value.items():
        try:
            code = parse_currency(currency)
        except InputError as exc:
            raise _error(f"{where}: {exc.message}", "params") from None
        try:
            limits[code] = format_decimal(parse_decimal(limit, kind=AMOUNT, positive=True))
        except InputError as exc:
            raise _error(f"{where}.{code}: {exc.message}", "params") from None
    return dict(sorted(limits.items()))


def parse_params(spec: KindSpec, value) -> dict:
    """The kind's parameters, typed as a payload holds them, with the defaults of those not given."""
    if value is None or value == "":
        value = {}
    if not isinstance(value, dict):
        raise _error("An object of the kind's parameters.", "params")
    allowed = [param.name for param in spec.params]
    unknown = sorted(str(name) for name in value if name not in allowed)
    if unknown:
        expected = f"expected only {', '.join(allowed)}" if allowed else "this kind takes none"
        raise _error(f"Unknown parameter {unknown[0]!r} for {spec.kind}: {expected}.", "params")
    params = {}
    for param in spec.params:
        params[param.name] = _param_value(param, value[param.name]) if param.name in value else param.default
    if spec.kind == RuleKind.LARGE_TRADE and params["min_days"] > params["adv_days"]:
        raise _error("params.min_days: at most params.adv_days.", "params")
    return params


def parse_scope_value(scope: str, value) -> str:
    """The scope's account code, ISIN or asset class, which must exist; empty for ALL."""
    text = _text(value, "scope_value", max_length=30, allow_blank=True)
    if scope == RuleScope.ALL:
        if text:
            raise _error("A rule for every trade names nothing: leave scope_value empty.", "scope_value")
        return ""
    if not text:
        raise _error(f"A rule of scope {scope} names its {_scope_noun(scope)}.", "scope_value")
    if scope == RuleScope.ACCOUNT:
        if reference_selectors.account_get(text) is None:
            raise _error(f"Unknown account {text!r} (give its code).", "scope_value")
        return text
    if scope == RuleScope.INSTRUMENT:
        isin = text.upper()
        if reference_selectors.instrument_get(isin) is None:
            raise _error(f"Unknown instrument {text!r} (give its ISIN).", "scope_value")
        return isin
    asset_class = text.upper()
    if asset_class not in Instrument.AssetClass.values:
        raise _error(f"{text!r} is not an asset class ({', '.join(Instrument.AssetClass.values)}).", "scope_value")
    return asset_class


def _scope_noun(scope: str) -> str:
    return {RuleScope.ACCOUNT: "account code", RuleScope.INSTRUMENT: "instrument's ISIN",
            RuleScope.ASSET_CLASS: "asset class"}.get(scope, "")


def rule_values(data: dict) -> dict:
    """A whole rule checked: its typed values (threshold a Decimal, dates as dates), or a BusinessRuleError."""
    if not isinstance(data, dict):
        raise BusinessRuleError("Must be an object.")
    for name in ("code", "kind", "action"):
        if data.get(name) in (None, ""):
            raise _error(REQUIRED, name)
    values = {"code": parse_rule_code(data["code"]),
              "kind": _choice(data["kind"], "kind", RuleKind.values)}
    spec = KINDS[values["kind"]]
    values["name"] = _text(data.get("name", ""), "name", max_length=NAME_MAX_LENGTH, allow_blank=True)
    values["scope"] = _choice(data.get("scope", RuleScope.ALL), "scope", RuleScope.values)
    if values["scope"] not in spec.scopes:
        raise _error(f"A {spec.kind} rule applies to {' or '.join(spec.scopes)} only.", "scope")
    values["scope_value"] = parse_scope_value(values["scope"], data.get("scope_value", ""))
    values["threshold"] = parse_threshold(spec, data.get("threshold"))
    values["params"] = parse_params(spec, data.get("params"))
    values["action"] = _choice(data["action"], "action", RuleAction.values)
    if values["action"] not in spec.actions:
        raise _error(f"A surveillance rule ({spec.kind}) only raises alerts: action ALERT.", "action")
    values["severity"] = _choice(data.get("severity", Severity.MEDIUM), "severity", Severity.values)
    values["active"] = _boolean(data.get("active", True), "active")
    values["effective_from"] = _date(data.get("effective_from"), "effective_from")
    values["effective_to"] = _date(data.get("effective_to"), "effective_to")
    if values["effective_from"] and values["effective_to"] and values["effective_to"] < values["effective_from"]:
        raise _error("Must not be before effective_from.", "effective_to")
    return values


def rule_view(rule: ComplianceRule) -> dict:
    """A rule as a payload holds it (JSON: decimals and dates as text): its before, in a change's diff."""
    return {"code": rule.code, "name": rule.name, "kind": rule.kind, "scope": rule.scope,
            "scope_value": rule.scope_value, "threshold": format_decimal(rule.threshold),
            "params": rule.params, "action": rule.action, "severity": rule.severity, "active": rule.active,
            "effective_from": rule.effective_from.isoformat() if rule.effective_from else None,
            "effective_to": rule.effective_to.isoformat() if rule.effective_to else None}


def as_payload(values: dict) -> dict:
    """Typed values (rule_values) as a payload holds them."""
    out = {}
    for name, value in values.items():
        if isinstance(value, Decimal):
            value = format_decimal(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[name] = value
    return out


def _only(data: dict, allowed) -> None:
    unknown = sorted(str(name) for name in data if name not in allowed)
    if unknown:
        raise _error(f"Unknown field; expected one of {', '.join(allowed)}.", unknown[0])


def rule_create_check(payload: dict) -> dict:
    """The typed values of a new rule, or a BusinessRuleError on the first field at fault."""
    if not isinstance(payload, dict):
        raise BusinessRuleError("Must be an object.")
    _only(payload, FIELDS)
    values = rule_values(payload)
    if ComplianceRule.objects.filter(code=values["code"]).exists():
        raise _error(f"A rule with code {values['code']} already exists.", "code")
    return values


def rule_update_check(rule: ComplianceRule, changes: dict) -> dict:
    """The typed values of the changes that differ from the rule (the rule they make checked whole), or a
    BusinessRuleError when one breaks a rule or none changes anything."""
    if not isinstance(changes, dict):
        raise _error("Must be an object.", "changes")
    if "code" in changes or "kind" in changes:
        name = "code" if "code" in changes else "kind"
        raise _error(f"A rule's {name} never changes: propose a new rule (and deactivate this one) instead.", name)
    _only(changes, CHANGEABLE)
    current = rule_view(rule)
    merged = {**current, **changes}
    if "scope" in changes and changes["scope"] == RuleScope.ALL and "scope_value" not in changes:
        merged["scope_value"] = ""  # a rule made to cover every trade names nothing
    values = rule_values(merged)
    asked = set(changes) | ({"scope_value"} if merged["scope_value"] != current["scope_value"] else set())
    shown = as_payload(values)
    changed = {name: values[name] for name in CHANGEABLE if name in asked and shown[name] != current[name]}
    if not changed:
        raise BusinessRuleError("The change changes nothing.")
    return changed
