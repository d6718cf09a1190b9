"""The surveillance scenarios: each ONE set-based SQL statement over a trade date that returns only its hits.

Every scenario reads the rules of its kind in force on the run date, passes them to its statement as a
`rules` CTE (unnest of arrays: one row per rule, with its scope, threshold and parameters), and turns the
rows it returns into AlertDrafts for compliance.alerts.services.alerts_raise. No scenario loops over trades
in Python: the statement does the grouping, windows and joins; Python only shapes the (few) hits.

Scope in SQL (compliance/rules/selectors.py says the rule): the statement collects the distinct (account,
instrument) pairs it looks at, joins each to every rule whose scope covers it (ALL; ACCOUNT = the account's
code; INSTRUMENT = the ISIN; ASSET_CLASS = the instrument's asset class) and keeps, per pair, the rules of the
most specific covering level (``level = min(level) OVER (PARTITION BY pair)``): every rule at that level
applies. Trades then join their pair's applying rules. Cash movements have no instrument: for STRUCTURING
only ALL and ACCOUNT scopes can cover an account.

Windows counted in "trade dates" (wash trades, ADV) or "value dates" (structuring) are weekdays
(numpy busday): a market holiday inside a window widens it by a day.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import numpy as np
from django.db import connection

from compliance.alerts.models import SubjectType
from compliance.alerts.services import AlertDraft
from compliance.rules.models import ComplianceRule, RuleKind, RuleScope
from compliance.rules.selectors import SCOPE_ORDER

EVIDENCE_CAP = 50
# Sorts and hashes over a day's million trades in memory rather than on disk, for the scenario statements only.
SCENARIO_WORK_MEM = "256MB"
EXCLUDED_STATUSES = ("CANCELLED", "REJECTED")
_LEVEL = {scope: n for n, scope in enumerate(SCOPE_ORDER)}

# Defaults of each kind's parameters (compliance migration 0003 seeds the same).
DEFAULT_PARAMS = {
    RuleKind.WASH_TRADE: {"window_days": 0},
    RuleKind.LARGE_TRADE: {"adv_days": 20, "min_days": 5},
    RuleKind.STRUCTURING: {"near_pct": "10", "window_days": 5, "min_count": 3, "currency": "USD"},
    RuleKind.MARKING_CLOSE: {"window_minutes": 15},
    RuleKind.FAIL_CLOSE_OUT: {},
}


def weekday_shift(day: date, days: int) -> date:
    """The weekday `days` weekdays from `day` (negative: before); a weekend day first rolls back to Friday."""
    return np.busday_offset(np.datetime64(day, "D"), days, roll="backward").astype(date)


def _int(rule: ComplianceRule, name: str) -> int:
    value = rule.params.get(name, DEFAULT_PARAMS[rule.kind].get(name))
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return int(DEFAULT_PARAMS[rule.kind][name])


def _decimal(rule: ComplianceRule, name: str) -> Decimal:
    value = rule.params.get(name, DEFAULT_PARAMS[rule.kind].get(name))
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(str(DEFAULT_PARAMS[rule.kind][name]))


def _rules_cte(rules: list[ComplianceRule], extra: dict[str, tuple[str, list]]) -> tuple[str, dict]:
    """The `rules` CTE: rule_id, level, scope, scope_value, threshold and the kind's parameters (extra:
    column -> (SQL array type, values))."""
    params = {"r_id": [r.pk for r in rules], "r_level": [_LEVEL[RuleScope(r.scope)] for r in rules],
              "r_scope": [r.scope for r in rules], "r_value": [r.scope_value for r in rules],
              "r_threshold": [r.threshold for r in rules]}
    arrays = ["%(r_id)s::bigint[]", "%(r_level)s::int[]", "%(r_scope)s::text[]", "%(r_value)s::text[]",
              "%(r_threshold)s::numeric[]"]
    names = ["rule_id", "level", "scope", "scope_value", "threshold"]
    for column, (sql_type, values) in extra.items():
        params[f"r_{column}"] = values
        arrays.append(f"%(r_{column})s::{sql_type}[]")
        names.append(column)
    sql = f"rules AS (SELECT * FROM unnest({', '.join(arrays)}) AS r({', '.join(names)}))"  # noqa: S608 - names are ours
    return sql, params


# The rules applying to each (account, instrument) pair of the `pairs` CTE: the most specific covering level's.
_APPLYING = """
applying AS (
    SELECT x.account_id, x.instrument_id, x.rule_id FROM (
        SELECT p.account_id, p.instrument_id, r.rule_id, r.level,
               min(r.level) OVER (PARTITION BY p.account_id, p.instrument_id) AS best
        FROM pairs AS p
        JOIN records_account AS a ON a.id = p.account_id
        JOIN records_instrument AS i ON i.id = p.instrument_id
        JOIN rules AS r ON (r.scope = 'ALL' OR (r.scope = 'ACCOUNT' AND a.code = r.scope_value)
                            OR (r.scope = 'INSTRUMENT' AND i.isin = r.scope_value)
                            OR (r.scope = 'ASSET_CLASS' AND i.asset_class = r.scope_value))
    ) AS x
    WHERE x.level = x.best
)"""


# When every rule is of scope ALL (the default rules), every rule applies to every pair: no pairs to resolve.
_APPLYING_ALL = ("applying AS (SELECT NULL::bigint AS account_id, NULL::bigint AS instrument_id, "
                 "NULL::bigint AS rule_id)")


def _scoping(rules: list[ComplianceRule], alias: str) -> dict:
    """The `applying` CTE and the join of a statement's rows (`alias`) to the rules applying to them."""
    if all(r.scope == RuleScope.ALL for r in rules):
        return {"applying": _APPLYING_ALL, "join": "CROSS JOIN (SELECT rule_id FROM rules) AS ap"}
    return {"applying": _APPLYING, "join": (f"JOIN applying AS ap ON ap.account_id = {alias}.account_id "
                                            f"AND ap.instrument_id = {alias}.instrument_id")}


def _fetch(sql: str, params: dict) -> list[dict]:
    """Run a scenario's statement without nested-loop joins: return its rows as dicts. Call inside a transaction.

    The planner cannot estimate the CTEs (the unnested rules, the pairs and the rules applying to them: it guesses
    one row where there are hundreds of thousands), and a nested loop over a million trades on such a guess runs
    for minutes (bench/README.md, "Surveillance"); hash and merge joins stay linear whatever the estimate. JIT is
    off too: the cost that disables nested loops would make PostgreSQL compile every plan, for seconds.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), current_setting('work_mem')")
        jit, work_mem = cursor.fetchone()
        cursor.execute("SELECT set_config('enable_nestloop', 'off', true), set_config('jit', 'off', true), "
                       "set_config('work_mem', %s, true)", [SCENARIO_WORK_MEM])
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        cursor.execute("SELECT set_config('enable_nestloop', 'on', true), set_config('jit', %s, true), "
                       "set_config('work_mem', %s, true)", [jit, work_mem])
    return rows


def num(value) -> str:
    """A decimal as plain text without trailing zeros ("100", "190.5")."""
    if value is None:
        return ""
    value = Decimal(value)
    if value == value.to_integral():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.normalize(), "f")


def _trade_label(side, quantity, symbol, price, account, trade_date) -> str:
    return f"{side} {num(quantity)} {symbol} @ {num(price)} ({account}, {trade_date})"


@dataclass
class ScenarioOutcome:
    drafts: list[AlertDraft]
    extra: dict


# --- WASH_TRADE ---------------------------------------------------------------------------------------------

_WASH = """
WITH {rules},
win AS (
    -- the buys and sells of each account, instrument and trade date: what the owners' groups add up
    SELECT t.account_id, t.instrument_id, t.trade_date, count(*) AS trades,
           sum(t.quantity) FILTER (WHERE t.side = 'BUY') AS buy_qty,
           sum(t.quantity * t.price) FILTER (WHERE t.side = 'BUY') AS buy_value,
           sum(t.quantity) FILTER (WHERE t.side = 'SELL') AS sell_qty,
           sum(t.quantity * t.price) FILTER (WHERE t.side = 'SELL') AS sell_value
    FROM records_trade AS t
    WHERE t.trade_date BETWEEN %(start)s AND %(day)s AND t.status <> ALL(%(excluded)s)
    GROUP BY t.account_id, t.instrument_id, t.trade_date
),
pairs AS (SELECT DISTINCT account_id, instrument_id FROM win),
{applying},
grouped AS (
    SELECT ap.rule_id, coalesce(nullif(a.beneficial_owner, ''), a.code) AS owner, w.instrument_id,
           sum(w.trades) AS trades, sum(w.buy_qty) AS buy_qty, sum(w.buy_value) AS buy_value,
           sum(w.sell_qty) AS sell_qty, sum(w.sell_value) AS sell_value,
           min(w.account_id) AS first_account, count(DISTINCT w.account_id) AS accounts
    FROM win AS w
    {join}
    JOIN rules AS r ON r.rule_id = ap.rule_id
    JOIN records_account AS a ON a.id = w.account_id
    WHERE w.trade_date >= r.window_start
    GROUP BY ap.rule_id, coalesce(nullif(a.beneficial_owner, ''), a.code), w.instrument_id
    HAVING bool_or(w.trade_date = %(day)s) AND sum(w.buy_qty) > 0 AND sum(w.sell_qty) > 0
),
hits AS (
    SELECT g.*, g.buy_value / g.buy_qty AS buy_vwap, g.sell_value / g.sell_qty AS sell_vwap
    FROM grouped AS g
)
SELECT h.rule_id, h.owner, h.instrument_id, h.first_account, h.trades, h.accounts, h.buy_qty, h.sell_qty,
       round(h.buy_vwap, 6) AS buy_vwap, round(h.sell_vwap, 6) AS sell_vwap,
       round(abs(h.buy_vwap - h.sell_vwap) * 200 / (h.buy_vwap + h.sell_vwap), 4) AS diff_pct,
       i.isin, i.symbol,
       (SELECT json_agg(json_build_array(t.id, t.side, t.quantity::text, t.price::text,
                                         (SELECT ac.code FROM records_account AS ac WHERE ac.id = t.account_id),
                                         t.trade_date) ORDER BY t.id)
        FROM (SELECT t.* FROM records_trade AS t
              WHERE t.instrument_id = h.instrument_id AND t.trade_date BETWEEN r.window_start AND %(day)s
                AND t.status <> ALL(%(excluded)s)
                -- an array, not a join: the (account, instrument, trade date) index finds the few trades
                AND t.account_id = ANY(ARRAY(SELECT o.id FROM records_account AS o
                                             WHERE coalesce(nullif(o.beneficial_owner, ''), o.code) = h.owner))
              ORDER BY t.id LIMIT {cap}) AS t) AS listed
FROM hits AS h
JOIN rules AS r ON r.rule_id = h.rule_id
JOIN records_instrument AS i ON i.id = h.instrument_id
WHERE abs(h.buy_vwap - h.sell_vwap) * 200 <= r.threshold * (h.buy_vwap + h.sell_vwap)
ORDER BY h.rule_id, h.owner, h.instrument_id
"""


def wash_trades(*, day: date, rules: list[ComplianceRule]) -> ScenarioOutcome:
    """Same beneficial owner bought and sold the same instrument within the window, VWAPs within threshold %.

    The difference is |buy VWAP - sell VWAP| over their mean. One alert per rule, owner, instrument and run date.
    """
    rules = [r for r in rules if r.threshold is not None]
    if not rules:
        return ScenarioOutcome([], {})
    starts = [weekday_shift(day, -_int(r, "window_days")) if _int(r, "window_days") else day for r in rules]
    cte, params = _rules_cte(rules, {"window_start": ("date", starts)})
    sql = _WASH.format(rules=cte, cap=EVIDENCE_CAP, **_scoping(rules, "w"))
    rows = _fetch(sql, {**params, "start": min(starts), "day": day, "excluded": list(EXCLUDED_STATUSES)})
    by_id = {r.pk: r for r in rules}
    drafts = []
    for row in rows:
        records = [{"type": "TRADE", "id": t[0], "label": _trade_label(t[1], t[2], row["symbol"], t[3], t[4], t[5])}
                   for t in row["listed"] or []]
        drafts.append(AlertDraft(
            rule=by_id[row["rule_id"]], subject_type=SubjectType.ACCOUNT, subject_id=row["first_account"],
            dedupe_key=f"wash:{row['owner']}:{row['instrument_id']}:{day.isoformat()}", business_date=day,
            account_id=row["first_account"], instrument_id=row["instrument_id"],
            summary=(f"Wash trades: {row['owner']} bought {num(row['buy_qty'])} and sold {num(row['sell_qty'])} "
                     f"{row['symbol']} at VWAPs {num(row['buy_vwap'])} / {num(row['sell_vwap'])} "
                     f"({num(row['diff_pct'])}% apart)"),
            evidence={"records": records, "figures": {
                "beneficial_owner": row["owner"], "instrument": row["isin"], "trades": str(row["trades"]),
                "trades_listed": str(len(records)), "accounts": str(row["accounts"]),
                "buy_quantity": num(row["buy_qty"]), "sell_quantity": num(row["sell_qty"]),
                "buy_vwap": num(row["buy_vwap"]), "sell_vwap": num(row["sell_vwap"]),
                "difference_pct": num(row["diff_pct"]), "threshold_pct": num(by_id[row["rule_id"]].threshold)}}))
    return ScenarioOutcome(drafts, {})


# --- LARGE_TRADE --------------------------------------------------------------------------------------------

_LARGE = """
WITH {rules},
today AS (
    SELECT t.id, t.account_id, t.instrument_id, t.side, t.quantity, t.price
    FROM records_trade AS t
    WHERE t.trade_date = %(day)s AND t.status <> ALL(%(excluded)s)
),
pairs AS (SELECT DISTINCT account_id, instrument_id FROM today),
{applying},
adv AS (
    SELECT r.rule_id, h.instrument_id, count(DISTINCT h.trade_date) AS days, sum(h.quantity) AS volume
    FROM records_trade AS h
    JOIN rules AS r ON h.trade_date >= r.adv_start
    WHERE h.trade_date >= %(start)s AND h.trade_date < %(day)s AND h.status <> ALL(%(excluded)s)
    GROUP BY r.rule_id, h.instrument_id
),
hits AS (
    SELECT d.id, d.account_id, d.instrument_id, d.side, d.quantity, d.price, ap.rule_id, v.days, v.volume
    FROM today AS d
    {join}
    JOIN rules AS r ON r.rule_id = ap.rule_id
    JOIN adv AS v ON v.rule_id = ap.rule_id AND v.instrument_id = d.instrument_id
    WHERE v.days >= r.min_days AND d.quantity * v.days * 100 > r.threshold * v.volume
)
SELECT d.*, round(d.volume / d.days, 6) AS adv, round(d.quantity * d.days * 100 / d.volume, 4) AS pct_of_adv,
       a.code AS account, i.isin, i.symbol
FROM hits AS d
JOIN records_account AS a ON a.id = d.account_id
JOIN records_instrument AS i ON i.id = d.instrument_id
ORDER BY d.rule_id, d.id
"""


def large_trades(*, day: date, rules: list[ComplianceRule]) -> ScenarioOutcome:
    """A trade whose quantity is above threshold % of the instrument's average daily volume (the firm's own
    booked volume over the adv_days trade dates before it, averaged over the days that had volume, when at
    least min_days had)."""
    rules = [r for r in rules if r.threshold is not None]
    if not rules:
        return ScenarioOutcome([], {})
    starts = [weekday_shift(day, -max(1, _int(r, "adv_days"))) for r in rules]
    cte, params = _rules_cte(rules, {"adv_start": ("date", starts),
                                     "min_days": ("int", [max(1, _int(r, "min_days")) for r in rules])})
    rows = _fetch(_LARGE.format(rules=cte, **_scoping(rules, "d")),
                  {**params, "start": min(starts), "day": day, "excluded": list(EXCLUDED_STATUSES)})
    by_id = {r.pk: r for r in rules}
    drafts = []
    for row in rows:
        rule = by_id[row["rule_id"]]
        label = _trade_label(row["side"], row["quantity"], row["symbol"], row["price"], row["account"], day)
        drafts.append(AlertDraft(
            rule=rule, subject_type=SubjectType.TRADE, subject_id=row["id"], dedupe_key=f"large:{row['id']}",
            business_date=day, account_id=row["account_id"], instrument_id=row["instrument_id"],
            summary=(f"Large trade: {label} is {num(row['pct_of_adv'])}% of the average daily volume "
                     f"{num(row['adv'])}"),
            evidence={"records": [{"type": "TRADE", "id": row["id"], "label": label}], "figures": {
                "quantity": num(row["quantity"]), "average_daily_volume": num(row["adv"]),
                "days_with_volume": str(row["days"]), "pct_of_adv": num(row["pct_of_adv"]),
                "threshold_pct": num(rule.threshold), "adv_days": str(_int(rule, "adv_days"))}}))
    return ScenarioOutcome(drafts, {})


# --- STRUCTURING --------------------------------------------------------------------------------------------

_STRUCTURING = """
WITH {rules},
moves AS (
    SELECT m.id, m.account_id, m.amount, m.currency, m.value_date, m.reference, m.kind AS direction
    FROM records_cashmovement AS m
    WHERE m.value_date BETWEEN %(start)s AND %(day)s AND m.kind IN ('DEPOSIT', 'WITHDRAWAL')
      -- only what some rule's band can hold: the rest never counts
      AND m.currency = ANY(%(currencies)s) AND abs(m.amount) >= %(lowest)s AND abs(m.amount) < %(highest)s
),
holders AS (SELECT DISTINCT account_id FROM moves),
applying AS (
    SELECT x.account_id, x.rule_id FROM (
        SELECT p.account_id, r.rule_id, r.level, min(r.level) OVER (PARTITION BY p.account_id) AS best
        FROM holders AS p
        JOIN records_account AS a ON a.id = p.account_id
        JOIN rules AS r ON (r.scope = 'ALL' OR (r.scope = 'ACCOUNT' AND a.code = r.scope_value))
    ) AS x
    WHERE x.level = x.best
),
near AS (
    SELECT ap.rule_id, m.*
    FROM moves AS m
    JOIN applying AS ap ON ap.account_id = m.account_id
    JOIN rules AS r ON r.rule_id = ap.rule_id
    WHERE m.currency = r.currency AND m.value_date >= r.window_start
      AND abs(m.amount) < r.threshold AND abs(m.amount) >= r.threshold * (1 - r.near_pct / 100)
)
SELECT n.rule_id, n.account_id, n.direction, count(*) AS movements, sum(abs(n.amount)) AS total,
       min(n.id) AS first_id, (array_agg(n.id ORDER BY n.value_date DESC, n.id DESC))[1] AS latest_id,
       min(n.value_date) AS first_date, max(n.currency) AS currency, a.code AS account,
       (array_agg(json_build_array(n.id, n.amount::text, n.value_date, n.reference)
                  ORDER BY n.value_date, n.id))[1:{cap}] AS listed
FROM near AS n
JOIN rules AS r ON r.rule_id = n.rule_id
JOIN records_account AS a ON a.id = n.account_id
GROUP BY n.rule_id, n.account_id, n.direction, r.min_count, a.code
HAVING count(*) >= r.min_count AND bool_or(n.value_date = %(day)s)
ORDER BY n.rule_id, n.account_id, n.direction
"""


def structuring(*, day: date, rules: list[ComplianceRule]) -> ScenarioOutcome:
    """Deposits (or, separately, withdrawals) of an account in the rule's currency just under the threshold
    ([threshold x (1 - near_pct/100), threshold)) within window_days value dates ending on the run date, at
    least min_count of them, one of them on the run date. Only ALL and ACCOUNT scopes cover cash."""
    rules = [r for r in rules if r.threshold is not None and r.scope in (RuleScope.ALL, RuleScope.ACCOUNT)]
    if not rules:
        return ScenarioOutcome([], {})
    starts = [weekday_shift(day, -(max(1, _int(r, "window_days")) - 1)) for r in rules]
    cte, params = _rules_cte(rules, {
        "window_start": ("date", starts),
        "currency": ("text", [str(r.params.get("currency", "USD")).upper() for r in rules]),
        "near_pct": ("numeric", [_decimal(r, "near_pct") for r in rules]),
        "min_count": ("int", [max(1, _int(r, "min_count")) for r in rules])})
    rows = _fetch(_STRUCTURING.format(rules=cte, cap=EVIDENCE_CAP), {
        **params, "start": min(starts), "day": day, "currencies": sorted(set(params["r_currency"])),
        "lowest": min(r.threshold * (1 - _decimal(r, "near_pct") / 100) for r in rules),
        "highest": max(r.threshold for r in rules)})
    by_id = {r.pk: r for r in rules}
    drafts = []
    for row in rows:
        rule = by_id[row["rule_id"]]
        direction = "deposits" if row["direction"] == "DEPOSIT" else "withdrawals"
        records = [{"type": "CASH_MOVEMENT", "id": m[0],
                    "label": f"{m[3]}: {num(m[1])} {row['currency']} value {m[2]}"
                             + (" (latest)" if m[0] == row["latest_id"] else "")}
                   for m in row["listed"]]
        records.append({"type": "ACCOUNT", "id": row["account_id"], "label": row["account"]})
        drafts.append(AlertDraft(
            rule=rule, subject_type=SubjectType.ACCOUNT, subject_id=row["account_id"],
            dedupe_key=f"structuring:{row['account_id']}:{row['direction']}:{row['first_id']}", business_date=day,
            account_id=row["account_id"],
            summary=(f"Structuring: {row['account']} made {row['movements']} {direction} just under "
                     f"{num(rule.threshold)} {row['currency']} from {row['first_date']} to {day} "
                     f"(total {num(row['total'])})"),
            evidence={"records": records, "figures": {
                "direction": row["direction"], "movements": str(row["movements"]), "total": num(row["total"]),
                "currency": row["currency"], "threshold": num(rule.threshold),
                "near_pct": num(_decimal(rule, "near_pct")), "window_days": str(_int(rule, "window_days")),
                "min_count": str(_int(rule, "min_count")), "latest_movement": str(row["latest_id"])}}))
    return ScenarioOutcome(drafts, {})


# --- MARKING_CLOSE ------------------------------------------------------------------------------------------

_MARKING = """
WITH {rules},
closes AS (SELECT * FROM unnest(%(mics)s::text[], %(close_at)s::timestamptz[]) AS c(mic, close_at)),
late AS (
    SELECT t.id, t.account_id, t.instrument_id, t.side, t.quantity, t.price, t.created_at, c.close_at
    FROM records_trade AS t
    JOIN records_instrument AS i ON i.id = t.instrument_id
    JOIN closes AS c ON c.mic = i.market_id
    WHERE t.trade_date = %(day)s AND t.status <> ALL(%(excluded)s)
      AND t.created_at <= c.close_at AND t.created_at >= c.close_at - %(widest)s * interval '1 minute'
),
pairs AS (SELECT DISTINCT account_id, instrument_id FROM late),
{applying},
previous AS (
    SELECT DISTINCT ON (p.instrument_id) p.instrument_id, p.price, p.price_date
    FROM records_price AS p
    WHERE p.instrument_id IN (SELECT DISTINCT instrument_id FROM pairs) AND p.price_date < %(day)s
    ORDER BY p.instrument_id, p.price_date DESC, p.source
),
closing AS (
    SELECT DISTINCT ON (p.instrument_id) p.instrument_id, p.price
    FROM records_price AS p
    WHERE p.instrument_id IN (SELECT DISTINCT instrument_id FROM pairs) AND p.price_date = %(day)s
    ORDER BY p.instrument_id, p.source
)
SELECT d.id, d.account_id, d.instrument_id, d.side, d.quantity, d.price, d.created_at, d.close_at, ap.rule_id,
       pv.price AS previous_close, pv.price_date AS previous_date, cl.price AS day_close,
       round((cl.price - pv.price) * 100 / pv.price, 4) AS close_move_pct,
       a.code AS account, i.isin, i.symbol
FROM late AS d
{join}
JOIN rules AS r ON r.rule_id = ap.rule_id
JOIN previous AS pv ON pv.instrument_id = d.instrument_id
JOIN closing AS cl ON cl.instrument_id = d.instrument_id
JOIN records_account AS a ON a.id = d.account_id
JOIN records_instrument AS i ON i.id = d.instrument_id
WHERE d.created_at >= d.close_at - r.window_minutes * interval '1 minute'
  AND ((d.side = 'BUY' AND d.price >= pv.price * (1 + r.threshold / 100)
                       AND cl.price >= pv.price * (1 + r.threshold / 100))
    OR (d.side = 'SELL' AND d.price <= pv.price * (1 - r.threshold / 100)
                        AND cl.price <= pv.price * (1 - r.threshold / 100)))
ORDER BY ap.rule_id, d.id
"""


def market_closes(day: date) -> dict[str, datetime]:
    """The session close (aware, UTC) of every market with instruments trading on `day`, by MIC
    (exchange-calendars)."""
    from records.reference.exchanges import exchange_calendar
    from records.reference.models import Market

    closes = {}
    # Only markets with instruments: building a calendar takes a good fraction of a second.
    for mic in Market.objects.filter(instruments__isnull=False).distinct().values_list("mic", flat=True):
        calendar = exchange_calendar(mic)
        if calendar.is_session(day.isoformat()):
            closes[mic] = calendar.session_close(day.isoformat()).to_pydatetime()
    return closes


def marking_close(*, day: date, rules: list[ComplianceRule]) -> ScenarioOutcome:
    """Trades captured (Trade.created_at: trades carry no execution time) within window_minutes before their
    market's close on the trade date, on the side that moved the close by threshold %: a BUY at or above the
    previous close x (1 + threshold%) with the day's close at or above that level too; a SELL symmetrically."""
    rules = [r for r in rules if r.threshold is not None]
    if not rules:
        return ScenarioOutcome([], {})
    closes = market_closes(day)
    if not closes:
        return ScenarioOutcome([], {})
    minutes = [_int(r, "window_minutes") for r in rules]
    cte, params = _rules_cte(rules, {"window_minutes": ("int", minutes)})
    rows = _fetch(_MARKING.format(rules=cte, **_scoping(rules, "d")), {
        **params, "day": day, "excluded": list(EXCLUDED_STATUSES), "widest": max(minutes),
        "mics": list(closes), "close_at": list(closes.values())})
    by_id = {r.pk: r for r in rules}
    drafts = []
    for row in rows:
        rule = by_id[row["rule_id"]]
        label = _trade_label(row["side"], row["quantity"], row["symbol"], row["price"], row["account"], day)
        before = row["close_at"] - row["created_at"]
        drafts.append(AlertDraft(
            rule=rule, subject_type=SubjectType.TRADE, subject_id=row["id"], dedupe_key=f"mark-close:{row['id']}",
            business_date=day, account_id=row["account_id"], instrument_id=row["instrument_id"],
            summary=(f"Marking the close: {label} captured {int(before.total_seconds() // 60)} min before the close; "
                     f"close {num(row['previous_close'])} -> {num(row['day_close'])} "
                     f"({num(row['close_move_pct'])}%)"),
            evidence={"records": [{"type": "TRADE", "id": row["id"], "label": label},
                                  {"type": "INSTRUMENT", "id": row["instrument_id"], "label": row["isin"]}],
                      "figures": {
                          "captured_at": row["created_at"].isoformat(), "market_close": row["close_at"].isoformat(),
                          "seconds_before_close": str(int(before.total_seconds())),
                          "previous_close": num(row["previous_close"]),
                          "previous_close_date": row["previous_date"].isoformat(),
                          "day_close": num(row["day_close"]), "close_move_pct": num(row["close_move_pct"]),
                          "threshold_pct": num(rule.threshold), "window_minutes": str(_int(rule, "window_minutes"))}}))
    return ScenarioOutcome(drafts, {})


# --- FAIL_CLOSE_OUT -----------------------------------------------------------------------------------------

# Fails to deliver still open on the run date after their Reg SHO close-out deadline.
_PAST_DEADLINE = """
SELECT f.id, f.close_out_deadline, f.failed_on, f.unsettled_quantity, f.regsho_basis,
       s.account_id, s.instrument_id, s.settlement_date
FROM settlements_settlementfail AS f
JOIN settlements_settlementinstruction AS s ON s.id = f.instruction_id
WHERE f.kind = 'DELIVER' AND f.close_out_deadline < %(day)s AND (f.closed_on IS NULL OR f.closed_on > %(day)s)
"""

_FAILS = """
WITH {rules},
fails AS ({past}),
pairs AS (SELECT DISTINCT account_id, instrument_id FROM fails),
{applying}
SELECT f.*, ap.rule_id, a.code AS account, i.isin, i.symbol
FROM fails AS f
{join}
JOIN records_account AS a ON a.id = f.account_id
JOIN records_instrument AS i ON i.id = f.instrument_id
ORDER BY ap.rule_id, f.id
"""


def fails_past_close_out(*, day: date, rules: list[ComplianceRule]) -> ScenarioOutcome:
    """One alert per fail to deliver still open on the run date after its close-out deadline."""
    if not rules:
        return ScenarioOutcome([], {})
    cte, params = _rules_cte(rules, {})
    rows = _fetch(_FAILS.format(rules=cte, past=_PAST_DEADLINE, **_scoping(rules, "f")), {**params, "day": day})
    by_id = {r.pk: r for r in rules}
    drafts = []
    for row in rows:
        label = (f"Fail to deliver {num(row['unsettled_quantity'])} {row['symbol']} ({row['account']}), "
                 f"failed {row['failed_on']}, close-out deadline {row['close_out_deadline']}")
        drafts.append(AlertDraft(
            rule=by_id[row["rule_id"]], subject_type=SubjectType.FAIL, subject_id=row["id"],
            dedupe_key=f"fail:{row['id']}", business_date=day, account_id=row["account_id"],
            instrument_id=row["instrument_id"],
            summary=f"{label}: past its Reg SHO close-out; the account is in the penalty box for {row['symbol']}",
            evidence={"records": [{"type": "FAIL", "id": row["id"], "label": label},
                                  {"type": "ACCOUNT", "id": row["account_id"], "label": row["account"]}],
                      "figures": {"close_out_deadline": row["close_out_deadline"].isoformat(),
                                  "failed_on": row["failed_on"].isoformat(),
                                  "unsettled_quantity": num(row["unsettled_quantity"]),
                                  "regsho_basis": row["regsho_basis"],
                                  "days_past_deadline": str((day - row["close_out_deadline"]).days)}}))
    return ScenarioOutcome(drafts, {})


def past_deadline_sql() -> str:
    """The statement listing fails to deliver open after their deadline on %(day)s (for the penalty box)."""
    return _PAST_DEADLINE
