"""Book staged trade-file rows set-based in SQL: the trade-file job's path, with the bulk endpoint's outcomes.

A chunk of staged rows (records_tradefilerow, every field as text) is booked in a handful of statements
instead of through records.trades.bulk.trade_submit_raw item by item:

1. **Parsing in SQL.** A CSV row whose every field is in the plain form clients send (printable ASCII text
   without surrounding blanks, within its length; BUY or SELL; plain unsigned decimals within their digits and
   places, positive where they must be; YYYY-MM-DD dates that exist; an active ISO 4217 currency) is exactly
   what parse_trade accepts as it is: its canonical decimals and request hash are computed in SQL
   (`_CLEAN_SQL`). Every other row (an NDJSON line, a row refused when staged, a blank or odd field) goes
   through parse_trade in Python, row by row: its errors, or its parsed values, which join the clean ones.
   Nothing the SQL accepts is refused by parse_trade (a property test holds the two to it); a value the SQL
   does not take is simply parsed in Python.
2. **One read of what the rows are checked against**: the valid rows in line order with their account,
   counterparty and instrument ids by join and the submitter's earlier trade with the same external_ref.
3. **The decisions, in Python over those tuples**, as records.trades.services._submit_batch_once takes them
   (the same code order and the same words): idempotency (earlier submissions, repeats inside the chunk, the
   first row of a ref is the one booked), reference data, calendars once per distinct key, then the pre-trade
   checks through records.trades.pretrade (the compliance rules, which load their data in one round trip).
4. **Booking in SQL**: the trades, their BOOK/HOLD events and their audit records in one INSERT ... SELECT each
   (one statement), the audit `after` (snapshot(trade), canonical JSON) and content hash computed in SQL
   byte for byte as records.audit.services.audit.audit_rows computes them (tested); positions moved by
   positions_apply (with its audit records) and the trade hooks run, as the bulk path does.

The outcome of every row is the bulk endpoint's (tests/records/test_properties_trade_files.py holds the two
paths to it record by record). Call inside the chunk's transaction; a concurrent booking of one of the refs
(the unique constraint) retries the chunk, as trade_submit_batch does.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backoffice.core.bulk import allocate_ids, batch_value
from backoffice.core.canonical import canonical_json
from backoffice.core.context import correlation_id
from backoffice.core.fields import AMOUNT, PRICE, QUANTITY
from records.audit.services.audit import actor_fields, record_type_of
from records.positions.services import PositionDelta, positions_apply
from records.reference.models import Account, Counterparty, Instrument
from records.reference.validators import iso4217_codes
from records.trades import hooks
from records.trades.bulk import BodyError
from records.trades.hooks import trade_hooks_run
from records.trades.input import parse_trade
from records.trades.models import Trade, TradeEvent
from records.trades.pretrade import HOLD, REJECT, TradeCandidate, run_pretrade_checks
from records.trades.services import _NOT_AUDITED, _TRADE_FIELDS, TradeDates

CREATED, DUPLICATE, REJECTED = "created", "duplicate", "rejected"
_TRADE = record_type_of(Trade)

# The staged columns a chunk reads, in TradeFileRow's order.
STAGED = ("external_ref", "account", "counterparty", "instrument", "side", "quantity", "price", "trade_date",
          "currency", "settlement_date", "commission")


# --- 1. Parsing in SQL --------------------------------------------------------------------------------------

def sql_text(column: str, max_length: int) -> str:
    """True when parse_text(value, max_length) returns the value as it is: printable ASCII, no blank at either
    end (nothing for strip() to take), not empty, at most max_length characters."""
    return f"({column} ~ '^[!-~]([ -~]*[!-~])?$' AND char_length({column}) <= {int(max_length)})"


def sql_decimal(column: str, kind: tuple[int, int], *, positive: bool) -> str:
    """True when parse_decimal's fast path takes the text as it is: a plain unsigned decimal without a leading
    zero, at most max_digits - places whole digits and `places` places once trailing zeros go; not zero if it
    must be positive (parse_decimal refuses it then)."""
    max_digits, places = kind
    return (f"({column} ~ '^(0|[1-9][0-9]*)([.][0-9]+)?$' "
            f"AND length(split_part({column}, '.', 1)) <= {max_digits - places} "
            f"AND length(rtrim(split_part({column}, '.', 2), '0')) <= {places}"
            + (f" AND {column} ~ '[1-9]')" if positive else ")"))


def sql_canonical_decimal(column: str) -> str:
    """format_decimal(Decimal(text)) of a plain decimal text: trailing zeros after the point, then the point, go."""
    return f"(CASE WHEN strpos({column}, '.') > 0 THEN rtrim(rtrim({column}, '0'), '.') ELSE {column} END)"


def sql_date(column: str) -> str:
    """True when parse_date takes the text: YYYY-MM-DD, a day that exists (year 1 to 9999). Nested CASEs: the
    casts run only on digits."""
    y, m, d = (f"substr({column}, 1, 4)::int", f"substr({column}, 6, 2)::int", f"substr({column}, 9, 2)::int")
    return (f"(CASE WHEN {column} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' THEN "
            f"(CASE WHEN {y} >= 1 AND {m} BETWEEN 1 AND 12 AND {d} >= 1 "
            f"THEN {d} <= extract(day FROM make_date({y}, {m}, 1) + interval '1 month' - interval '1 day') "
            f"ELSE false END) ELSE false END)")


def _clean_condition() -> str:
    return " AND ".join([
        "s.payload IS NULL", "s.problem IS NULL",
        sql_text("s.external_ref", 64), sql_text("s.account", 30), sql_text("s.counterparty", 30),
        sql_text("s.instrument", 12), "s.side = ANY(%(sides)s)",
        sql_decimal("s.quantity", QUANTITY, positive=True), sql_decimal("s.price", PRICE, positive=True),
        sql_date("s.trade_date"),
        "(s.currency IS NULL OR s.currency = ANY(%(currencies)s))",
        f"(s.settlement_date IS NULL OR {sql_date('s.settlement_date')})",
        f"(s.commission IS NULL OR {sql_decimal('s.commission', AMOUNT, positive=False)})",
    ])


def sql_request_hash(external_ref, account, counterparty, instrument, side, quantity, price, trade_date, currency,
                     settlement_date, commission) -> str:
    """TradeInput.request_hash in SQL over canonical texts (dates as YYYY-MM-DD, absent as null)."""
    parts = [external_ref, account, counterparty, instrument, side, quantity, price, trade_date,
             f"coalesce({currency}, '')", f"coalesce({settlement_date}, '')", commission]
    return f"encode(sha256(convert_to({' || chr(31) || '.join(parts)}, 'UTF8')), 'hex')"


# The valid rows of a chunk, in canonical form: parsed by SQL (clean rows) or by parse_trade (the others).
_ROWS_TABLE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS records_tradefile_valid (row_id bigint PRIMARY KEY, seq int NOT NULL, "
    "external_ref text, account text, counterparty text, instrument text, side text, quantity text, price text, "
    "trade_date date, currency text, settlement_date date, commission text, request_hash text, "
    "raw_quantity text, raw_price text, raw_commission text) ON COMMIT DELETE ROWS")
# What a booked trade takes from the Python decisions.
_BOOK_TABLE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS records_tradefile_book (row_id bigint PRIMARY KEY, trade_id bigint, "
    "account_id bigint, counterparty_id bigint, instrument_id bigint, currency text, settlement_date date, "
    "status text, hold_reasons text, event_reason text) ON COMMIT DELETE ROWS")

_CLEAN_SQL = (
    "INSERT INTO records_tradefile_valid SELECT s.id, s.seq, s.external_ref, s.account, s.counterparty, "  # noqa: S608
    "s.instrument, s.side, s.q, s.p, s.trade_date::date, s.currency, s.settlement_date::date, s.c, "
    + sql_request_hash("s.external_ref", "s.account", "s.counterparty", "s.instrument", "s.side", "s.q", "s.p",
                       "s.trade_date", "s.currency", "s.settlement_date", "s.c")
    + ", s.quantity, s.price, s.commission FROM (SELECT s.*, "
    + sql_canonical_decimal("s.quantity") + " AS q, " + sql_canonical_decimal("s.price") + " AS p, "
    + "coalesce(" + sql_canonical_decimal("s.commission") + ", '0') AS c, "
    + _clean_condition() + " AS clean FROM records_tradefilerow s "
    "WHERE s.file_id = %(file)s AND s.seq >= %(start)s AND s.seq < %(stop)s) s WHERE s.clean")
# The rows SQL did not parse, for parse_trade.
_OTHER_SQL = (
    "SELECT s.id, s.seq, " +  # noqa: S608 - built from constants
    ", ".join(f"s.{c}" for c in STAGED) + ", s.payload, s.problem "
    "FROM records_tradefilerow s WHERE s.file_id = %(file)s AND s.seq >= %(start)s AND s.seq < %(stop)s "
    "AND NOT EXISTS (SELECT 1 FROM records_tradefile_valid v WHERE v.row_id = s.id) ORDER BY s.seq")
_COPY_VALID = ("COPY records_tradefile_valid (row_id, seq, external_ref, account, counterparty, instrument, side, "
               "quantity, price, trade_date, currency, settlement_date, commission, request_hash) FROM STDIN")
# 2. The valid rows with what they are checked against.
_READ_SQL = (
    "SELECT v.row_id, v.seq, v.external_ref, v.account, v.counterparty, v.instrument, v.side, "
    "coalesce(v.raw_quantity, v.quantity), coalesce(v.raw_price, v.price), v.trade_date, v.currency, "
    "v.settlement_date, coalesce(v.raw_commission, v.commission), v.request_hash, a.id, c.id, i.id, t.id, "
    "t.request_hash "
    "FROM records_tradefile_valid v "
    "LEFT JOIN records_account a ON a.code = v.account "
    "LEFT JOIN records_counterparty c ON c.code = v.counterparty "
    "LEFT JOIN records_instrument i ON i.isin = v.instrument "
    # An index lookup per row (the unique ref per submitter), never a scan of the submitter's trades.
    "LEFT JOIN LATERAL (SELECT t.id, t.request_hash FROM records_trade t WHERE t.external_ref = v.external_ref "
    "AND t.submitted_by_id = %(submitter)s LIMIT 1) t ON true ORDER BY v.seq")


# --- 4. Booking in SQL ----------------------------------------------------------------------------------------

def sql_json_string(expression: str) -> str:
    """The JSON text of a string without control characters as json's encoder writes it with ensure_ascii=False
    (canonical_json): in quotes, a backslash and a quote escaped, nothing else (non-ASCII stays as it is). Text
    a trade holds has no control character (parse_text refuses them; the other values are codes), so the two
    replaces are the whole escaping, four times cheaper than to_json."""
    return f"('\"' || replace(replace(({expression})::text, '\\', '\\\\'), '\"', '\\\"') || '\"')"


# The values of a booked trade's row (TradeRow's columns) as canonical texts, from the chunk's tables.
_TRADE_TEXT = {
    "id": "b.trade_id::text", "external_ref": "v.external_ref", "submitted_by_id": "%(submitter_text)s",
    "account_id": "b.account_id::text", "counterparty_id": "b.counterparty_id::text",
    "instrument_id": "b.instrument_id::text", "side": "v.side", "quantity": "v.quantity", "price": "v.price",
    "currency": "b.currency", "trade_date": "to_char(v.trade_date, 'YYYY-MM-DD')",
    "settlement_date": "to_char(b.settlement_date, 'YYYY-MM-DD')", "commission": "v.commission",
    "status": "b.status", "match_status": "%(match_status)s", "version": "'1'", "settled_quantity": "'0'",
    "request_hash": "v.request_hash", "hold_reasons": "b.hold_reasons", "created_at": "%(stamp)s",
    "updated_at": "%(stamp)s",
}


def _audit_after_sql() -> str:
    """snapshot(trade) serialized canonically, in SQL: keys sorted by attname, what
    records.trades.services._audit_json_plan writes for each kind of field."""
    parts = []
    for f in sorted(_TRADE_FIELDS, key=lambda f: f.attname):
        if f.name in _NOT_AUDITED:
            continue
        value = _TRADE_TEXT[f.column]
        kind = f.get_internal_type()
        if kind in ("AutoField", "BigAutoField", "ForeignKey", "IntegerField", "BigIntegerField",
                    "PositiveIntegerField", "PositiveBigIntegerField", "SmallIntegerField"):
            sql = f"coalesce({value}, 'null')" if f.null else value
        elif kind in ("CharField", "TextField"):
            sql = sql_json_string(value)
        elif kind in ("DecimalField", "DateField"):
            sql = f"'\"' || {value} || '\"'"
        elif kind == "JSONField":
            sql = value
        else:  # pragma: no cover - services._audit_json_plan refuses the same at import
            raise AssertionError(f"no audit form for {f.name} ({kind})")
        parts.append(f"'{json.dumps(f.attname)}:' || {sql}")
    return "('{' || " + " || ',' || ".join(parts) + " || '}')"


_TRADE_COLUMNS = tuple(_TRADE_TEXT)
_TRADE_TYPES = {f.column: f.db_type(connection) for f in _TRADE_FIELDS}


def _book_sql() -> str:
    """One statement: the trades, their events, their audit records (content hash as audit_rows computes it)."""
    casts = ", ".join(f"({_TRADE_TEXT[c]})::{_cast(c)}" for c in _TRADE_COLUMNS)
    after = _audit_after_sql()
    return (
        "WITH src AS (SELECT b.trade_id, b.status, b.event_reason, " + after + " AS after "  # noqa: S608
        "FROM records_tradefile_book b JOIN records_tradefile_valid v ON v.row_id = b.row_id), "
        "trades AS (INSERT INTO records_trade (" + ", ".join(_TRADE_COLUMNS) + ") SELECT " + casts
        + " FROM records_tradefile_book b JOIN records_tradefile_valid v ON v.row_id = b.row_id ORDER BY b.trade_id), "
        "events AS (INSERT INTO records_tradeevent (trade_id, at, actor_id, actor_label, action, from_status, "
        "to_status, reason) SELECT trade_id, %(stamp)s::timestamptz, %(user_id)s, %(label)s, "
        "CASE WHEN status = %(held)s THEN %(hold_action)s ELSE %(book_action)s END, %(new)s, status, event_reason "
        "FROM src ORDER BY trade_id) "
        "INSERT INTO records_auditrecord (at, actor_id, actor_label, action, record_type, record_id, before, after, "
        "reason, correlation_id, content_hash) SELECT %(stamp)s::timestamptz, %(user_id)s, %(label)s, 'CREATE', "
        "%(record_type)s, trade_id::text, NULL, after::jsonb, '', %(corr)s, "
        "encode(sha256(convert_to(%(head)s || ',' || %(record_type_json)s || ',\"' || trade_id::text || "
        "'\",null,' || after || ',' || %(tail)s, 'UTF8')), 'hex') FROM src ORDER BY src.trade_id")


def _cast(column: str) -> str:
    return _TRADE_TYPES[column]


_BOOK_SQL = _book_sql()


def audit_head_tail(*, now, user_id, label: str, action: str, reason: str, corr: str) -> tuple[str, str]:
    """The pieces of an audit record's canonical serialization that a batch shares, as audit_rows builds them."""
    import datetime as dt

    head = canonical_json([now.astimezone(dt.UTC).isoformat(timespec="microseconds"), user_id, label, action])[:-1]
    tail = canonical_json([reason, corr])[1:]
    return head, tail


# --- The chunk ----------------------------------------------------------------------------------------------

@dataclass
class Row:
    """A valid row of the chunk as the decisions see it."""

    row_id: int
    seq: int
    external_ref: str
    account: str
    counterparty: str
    instrument: str
    side: str
    quantity: Decimal
    price: Decimal
    trade_date: date
    currency: str | None
    settlement_date: date | None
    commission: Decimal
    request_hash: str
    account_id: int | None
    counterparty_id: int | None
    instrument_id: int | None
    earlier_id: int | None
    earlier_hash: str | None


def book_chunk(*, file_id: int, start: int, stop: int, submitted_by, body: Callable) -> list[tuple]:
    """Book the staged rows of a file with seq in [start, stop); return (row id, status, trade id, errors) per row,
    in line order. `body(staged)` turns a staged row (fields, payload, problem) the SQL did not parse into the
    bulk item (or BodyError). Call inside a transaction."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _book_chunk_once(file_id, start, stop, submitted_by, body)
        except IntegrityError:
            # Only the unique (submitter, external_ref) constraint can race; a retry sees the winner.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _book_chunk_once(file_id, start, stop, submitted_by, body) -> list[tuple]:
    window = {"file": file_id, "start": start, "stop": stop}
    outcomes: dict[int, tuple] = {}  # seq -> (row id, status, trade id, errors)
    with connection.cursor() as cursor:
        parse_in_sql(cursor, window)
        cursor.execute(_OTHER_SQL, window)
        others = cursor.fetchall()
        decimals: dict[int, tuple] = {}  # row id -> parse_trade's decimals, for the rows it parsed
        if others:
            parsed = []
            for row_id, seq, *staged in others:
                raw = body(staged)
                if isinstance(raw, BodyError):
                    outcomes[seq] = (row_id, REJECTED, None, raw.errors)
                    continue
                item, errors = parse_trade(raw)
                if errors:
                    outcomes[seq] = (row_id, REJECTED, None, errors)
                    continue
                quantity, price, commission = item.canonical_decimals
                decimals[row_id] = (item.quantity, item.price, item.commission)
                parsed.append((row_id, seq, item.external_ref, item.account, item.counterparty, item.instrument,
                               item.side, quantity, price, item.trade_date, item.currency, item.settlement_date,
                               commission, item.request_hash()))
            if parsed:
                with cursor.cursor.copy(_COPY_VALID) as copy:
                    for values in parsed:
                        copy.write_row(values)
        submitter = getattr(submitted_by, "pk", None)
        cursor.execute(_READ_SQL, {"submitter": submitter})
        rows = [_row(r, decimals) for r in cursor.fetchall()]
    if rows:
        for seq, outcome in _decide_and_book(rows, submitted_by).items():
            outcomes[seq] = outcome
    return [outcomes[seq] for seq in sorted(outcomes)]


def parse_in_sql(cursor, window: dict) -> None:
    """Fill records_tradefile_valid (emptied first) with the rows of the window SQL parses (the clean ones)."""
    cursor.execute(_ROWS_TABLE)
    cursor.execute(_BOOK_TABLE)
    cursor.execute("TRUNCATE records_tradefile_valid, records_tradefile_book")
    cursor.execute(_CLEAN_SQL, {**window, "sides": list(Trade.Side.values), "currencies": sorted(iso4217_codes())})


def _row(r: tuple, decimals: dict) -> Row:
    (row_id, seq, ref, account, counterparty, instrument, side, quantity, price, trade_date, currency,
     settlement_date, commission, request_hash, account_id, counterparty_id, instrument_id, earlier_id,
     earlier_hash) = r
    # The decimals as parse_trade makes them: its own for a row it parsed, else Decimal of the text sent (what
    # its fast path returns); an absent commission is TradeInput's default.
    parsed = decimals.get(row_id)
    if parsed is not None:
        quantity, price, commission = parsed
    else:
        quantity, price = Decimal(quantity), Decimal(price)
        commission = Decimal(commission) if commission is not None else Decimal(0)
    return Row(row_id, seq, ref, account, counterparty, instrument, side, quantity, price, trade_date, currency,
               settlement_date, commission, request_hash, account_id, counterparty_id, instrument_id, earlier_id,
               earlier_hash)


def _conflict(row: Row) -> dict:
    return {"external_ref": [f"external_ref {row.external_ref!r} was already used for a different trade."]}


def _decide_and_book(rows: Sequence[Row], submitted_by) -> dict[int, tuple]:
    """records.trades.services._submit_batch_once over the chunk's valid rows (steps in its order, its words),
    then the booking in SQL. Returns seq -> (row id, status, trade id, errors)."""
    out: dict[int, tuple] = {}
    first_in_batch: dict[str, Row] = {}
    fresh: list[Row] = []
    repeats: list[Row] = []
    # 1. Idempotency: earlier submissions by this submitter, then repeats inside the chunk.
    for row in rows:
        if row.earlier_id is not None:
            out[row.seq] = ((row.row_id, DUPLICATE, row.earlier_id, None) if row.earlier_hash == row.request_hash
                            else (row.row_id, REJECTED, None, _conflict(row)))
        elif row.external_ref in first_in_batch:
            if first_in_batch[row.external_ref].request_hash == row.request_hash:
                repeats.append(row)  # the outcome of the first, once known
            else:
                out[row.seq] = (row.row_id, REJECTED, None, _conflict(row))
        else:
            first_in_batch[row.external_ref] = row
            fresh.append(row)

    # 2. Reference data and calendars (each distinct key worked out once).
    accounts = Account.objects.in_bulk({r.account_id for r in fresh if r.account_id is not None})
    counterparties = Counterparty.objects.in_bulk({r.counterparty_id for r in fresh if r.counterparty_id is not None})
    instruments = Instrument.objects.select_related("market").in_bulk(
        {r.instrument_id for r in fresh if r.instrument_id is not None})
    resolved: list[tuple[Row, str, date]] = []
    dates = TradeDates()
    for row in fresh:
        errors: dict[str, list[str]] = {}
        instrument = instruments.get(row.instrument_id)
        settlement_date = dates.validate(
            errors, account=row.account, account_known=row.account_id is not None, counterparty=row.counterparty,
            counterparty_known=row.counterparty_id is not None, isin=row.instrument, instrument=instrument,
            trade_date=row.trade_date, settlement_date=row.settlement_date)
        if errors:
            out[row.seq] = (row.row_id, REJECTED, None, errors)
            continue
        resolved.append((row, row.currency or instrument.currency, settlement_date))

    # 3. Pre-trade checks over the chunk, through the records.trades.pretrade hook.
    checks = run_pretrade_checks([
        TradeCandidate(index=row.seq, account=accounts[row.account_id],
                       counterparty=counterparties[row.counterparty_id], instrument=instruments[row.instrument_id],
                       side=row.side, quantity=row.quantity, price=row.price, currency=currency,
                       trade_date=row.trade_date, settlement_date=settlement_date, commission=row.commission,
                       external_ref=row.external_ref)
        for row, currency, settlement_date in resolved
    ])
    by_index = checks.by_index
    to_book = []
    for entry in resolved:
        row = entry[0]
        found = by_index.get(row.seq)
        rejections = [o.reason for o in found if o.action == REJECT] if found else ()
        if rejections:
            out[row.seq] = (row.row_id, REJECTED, None, {"compliance": rejections})
        else:
            to_book.append((entry, [o.reason for o in found if o.action == HOLD] if found else []))

    # 4. Book.
    if to_book:
        _book(to_book, submitted_by, out)
    for row in repeats:
        first = out[first_in_batch[row.external_ref].seq]
        # A repeat of the chunk's first row with a ref: that row's trade, or its rejection.
        out[row.seq] = (row.row_id, DUPLICATE, first[2], None) if first[1] == CREATED else \
            (row.row_id, first[1], first[2], first[3])
    return out


def _book(to_book: list, submitted_by, out: dict) -> None:
    now = timezone.now()
    user, label = actor_fields(submitted_by)
    user_id = user.pk if user is not None else None
    trade_ids = allocate_ids(Trade, len(to_book))
    booked, held = Trade.Status.BOOKED, Trade.Status.HELD
    deltas: dict[tuple[int, int], PositionDelta] = {}
    with connection.cursor() as cursor:
        with cursor.cursor.copy("COPY records_tradefile_book (row_id, trade_id, account_id, counterparty_id, "
                                "instrument_id, currency, settlement_date, status, hold_reasons, event_reason) "
                                "FROM STDIN") as copy:
            write = copy.write_row
            for ((row, currency, settlement_date), hold_reasons), trade_id in zip(to_book, trade_ids, strict=True):
                status = held if hold_reasons else booked
                write((row.row_id, trade_id, row.account_id, row.counterparty_id, row.instrument_id, currency,
                       settlement_date, status, canonical_json(hold_reasons) if hold_reasons else "[]",
                       "; ".join(hold_reasons)))
                out[row.seq] = (row.row_id, CREATED, trade_id, None)
                if status == booked:
                    key = (row.account_id, row.instrument_id)
                    delta = deltas.get(key)
                    if delta is None:
                        delta = deltas[key] = PositionDelta()
                    delta.add_booking(row.side, row.quantity)
        head, tail = audit_head_tail(now=now, user_id=user_id, label=label, action="CREATE", reason="",
                                     corr=correlation_id())
        cursor.execute(_BOOK_SQL, {
            "stamp": batch_value(now), "user_id": user_id, "label": label,
            "submitter_text": None if user_id is None else str(user_id),
            "match_status": Trade.MatchStatus.UNMATCHED, "held": held, "hold_action": TradeEvent.Action.HOLD,
            "book_action": TradeEvent.Action.BOOK, "new": Trade.Status.NEW, "record_type": _TRADE,
            "record_type_json": canonical_json(_TRADE), "corr": correlation_id(), "head": head, "tail": tail})
    positions_apply(deltas, actor=submitted_by)
    trade_hooks_run(trade_ids=trade_ids, event=hooks.BOOKED, actor=submitted_by)
