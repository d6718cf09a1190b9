"""CSV: one cell rule (formula guard on every text cell, plain decimals, UTC timestamps), RFC 4180 lines
that the standard csv reader parses back to exactly those cells, and blocks of whole lines."""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core import csv_export
from backoffice.core.csv_export import FORMULA_STARTS, csv_blocks, csv_cell, csv_lines


class Side(str):
    """A str subclass, as Django's TextChoices are."""


class Odd:
    def __str__(self):
        return "=odd()"


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(("value", "cell"), [
    (None, ""), (True, "true"), (False, "false"), (7, "7"), (-7, "-7"), (1.5, "1.5"),
    (Decimal("1E+2"), "100"), (Decimal("0.000001"), "0.000001"), (Decimal("-5.50"), "-5.5"), (Decimal("-0"), "0"),
    ("plain", "plain"), ("OMS=1", "OMS=1"), ("", ""),
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    (Side("=BUY"), "'=BUY"), (Odd(), "'=odd()"),
    (dt.date(2026, 1, 2), "2026-01-02"),
    (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2026-01-02T03:04:05+00:00"),
    (dt.datetime(2026, 1, 2, 3, 4, 5, 123, tzinfo=NEW_YORK), "2026-01-02T08:04:05.000123+00:00"),
    (dt.datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05"),
    ({"b": Decimal("1.50"), "a": 1, "c": "=x"}, '{"a":1,"b":"1.5","c":"=x"}'), ([1, "é"], '[1,"é"]'),
])
def test_cells(value, cell):
    assert csv_cell(value) == cell


def test_every_formula_start_is_guarded():
    assert len(FORMULA_STARTS) == 6
    for start in FORMULA_STARTS:
        assert csv_cell(start + "A1") == "'" + start + "A1"


def parse(lines) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines), newline="")))


# Text as it may come from a front-office system: any character but NUL and lone surrogates
# (neither PostgreSQL nor UTF-8 holds them), commas, quotes, line breaks and formula starts included.
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=15)
decimals = st.decimals(min_value=Decimal("-1E12"), max_value=Decimal("1E12"), places=6)
values = st.none() | texts | decimals | st.integers() | st.dates() | st.datetimes(timezones=st.just(dt.UTC))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(texts, values, decimals), max_size=6))
def test_lines_parse_back_with_the_csv_reader_to_the_exact_cells(rows):
    parsed = parse(csv_lines(["text", "any", "amount"], rows))
    assert parsed[0] == ["text", "any", "amount"]
    assert len(parsed) == len(rows) + 1
    for (text, value, amount), (text_cell, value_cell, amount_cell) in zip(rows, parsed[1:], strict=True):
        assert text_cell == ("'" + text if text.startswith(FORMULA_STARTS) else text)
        assert value_cell == csv_cell(value)
        assert Decimal(amount_cell) == amount  # never guarded, never an exponent
        assert "E" not in amount_cell


def test_lines_end_with_crlf_and_quote_only_what_needs_it():
    assert list(csv_lines(["a", "b"], [("x,y", 'say "hi"'), ("line\nbreak", Decimal("2.50"))])) == [
        "a,b\r\n", '"x,y","say ""hi"""\r\n', '"line\nbreak",2.5\r\n']


def test_blocks_are_whole_lines_of_at_least_the_size_and_the_rest_last():
    lines = ["aaaa\r\n", "bb\r\n", "c\r\n", "dddddd\r\n", "e\r\n"]
    assert list(csv_blocks(lines, size=8)) == ["aaaa\r\nbb\r\n", "c\r\ndddddd\r\n", "e\r\n"]
    assert list(csv_blocks(lines, size=1)) == lines
    assert list(csv_blocks(lines)) == ["".join(lines)]  # 64 KiB by default
    assert list(csv_blocks([])) == []


def test_the_default_block_size_is_read_when_the_blocks_are(monkeypatch):
    blocks = csv_blocks(["ab\r\n", "cd\r\n"])
    monkeypatch.setattr(csv_export, "BLOCK_BYTES", 1)
    assert list(blocks) == ["ab\r\n", "cd\r\n"]
