"""Canonical JSON: one serialization for hashes and signatures, byte for byte what each caller wrote before.

The audit trail's content hashes and block headers, the export manifests' and tombstones'
signatures and the JSON cells of the CSV exports were made by separate json.dumps expressions.
The old expressions are copied here verbatim: for every value they could serialize, the kernel
function must give the same bytes, or the records already written would no longer verify.
"""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core.canonical import canonical_json, canonical_json_bytes, json_default
from backoffice.core.fields import format_decimal

# The expressions as they stood ----------------------------------------------------------------


def old_audit_json_default(value):  # records.audit.services.audit._json_default, less models.Model
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def old_audit_canonical_json_text(value) -> str:  # records.audit.services.audit.canonical_json_text
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def old_audit_before_after(data) -> str:  # records.audit.services.audit._canonical_json, string keys
    return json.dumps(data, default=old_audit_json_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def old_signing_canonical_json(content) -> bytes:  # records.exports.signing.canonical_json
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def old_block_header(header) -> bytes:  # records.audit.services.audit_chain.block_hash
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def old_exports_json_default(value):  # records.exports.services._json_default
    if isinstance(value, Decimal):
        return format_decimal(value)
    return str(value)


def old_exports_json(value) -> str:  # records.exports.services._json, before the formula guard
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=old_exports_json_default)


# Values ----------------------------------------------------------------------------------------

# Any text but lone surrogates (UTF-8 cannot hold them): accents, CJK, emoji, controls, quotes.
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
decimals = st.decimals(allow_nan=False, allow_infinity=False)
dates = st.dates() | st.datetimes(timezones=st.none() | st.timezones()) | st.times()
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text


def containers(inner):
    # A dict's keys are all text or all integers (json cannot sort a mix).
    return (st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)
            | st.dictionaries(st.integers(), inner, max_size=3))


native = st.recursive(scalars, containers, max_leaves=12)  # what JSON holds as read back from the database
with_decimals = st.recursive(scalars | decimals, containers, max_leaves=12)
with_dates = st.recursive(scalars | decimals | dates, containers, max_leaves=12)


@settings(max_examples=500, deadline=None)
@given(native)
def test_json_values_serialize_exactly_as_the_audit_hash_and_the_signatures_did(value):
    assert canonical_json(value) == old_audit_canonical_json_text(value)
    assert canonical_json_bytes(value) == old_signing_canonical_json(value)


@settings(max_examples=500, deadline=None)
@given(with_dates)
def test_decimals_and_dates_serialize_exactly_as_audit_snapshots_did(value):
    assert canonical_json(value) == old_audit_before_after(value)


@settings(max_examples=300, deadline=None)
@given(with_decimals)
def test_decimals_serialize_exactly_as_the_csv_export_json_cells_did(value):
    assert canonical_json(value) == old_exports_json(value)


hex_digests = st.text("0123456789abcdef", min_size=64, max_size=64)


@settings(max_examples=300, deadline=None)
@given(first=st.integers(min_value=1, max_value=2**63 - 1), count=st.integers(min_value=1, max_value=50_000),
       records_hash=hex_digests, prev_hash=hex_digests,
       sealed_at=st.datetimes(timezones=st.just(dt.UTC)))
def test_block_headers_serialize_exactly_as_the_chain_was_sealed(first, count, records_hash, prev_hash, sealed_at):
    header = {"first_record_id": first, "last_record_id": first + count - 1, "record_count": count,
              "records_hash": records_hash, "prev_hash": prev_hash,
              "sealed_at": sealed_at.isoformat(timespec="microseconds")}
    assert canonical_json_bytes(header) == old_block_header(header)


# The rule itself ---------------------------------------------------------------------------------

def test_keys_sorted_compact_utf8_decimals_as_plain_text_dates_iso():
    value = {"z": [Decimal("1E+2"), Decimal("-0.50"), Decimal("0.000001")], "a": "Zürich ½ 東京",
             "d": dt.date(2026, 1, 2), "t": dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), "n": None,
             "b": True, "i": 7}
    expected = ('{"a":"Zürich ½ 東京","b":true,"d":"2026-01-02","i":7,"n":null,'
                '"t":"2026-01-02T03:04:05.000006+00:00","z":["100","-0.5","0.000001"]}')
    assert canonical_json(value) == expected
    assert canonical_json_bytes(value) == expected.encode()


def test_anything_else_is_refused_unless_the_caller_says_how_to_write_it():
    with pytest.raises(TypeError, match="set"):
        canonical_json({"a": {1, 2}})

    def sorted_sets(value):
        return sorted(value) if isinstance(value, set) else json_default(value)

    assert canonical_json({"a": {2, 1}, "b": Decimal("1.50")}, default=sorted_sets) == '{"a":[1,2],"b":"1.5"}'
