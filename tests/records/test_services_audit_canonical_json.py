"""The audit trail serializes through the kernel's canonical JSON: before/after snapshots and the bulk
path's hashed text are, byte for byte, what the audit's own json.dumps expressions made before."""

import datetime as dt
import json
import uuid
from decimal import Decimal

from django.db import models
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core.fields import format_decimal
from records.audit.services.audit import _canonical_json, _jsonable
from records.reference.models import Account


def old_json_default(value):  # records.audit.services.audit._json_default as it stood
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return str(value)


def old_jsonable(data):
    return None if data is None else json.loads(json.dumps(data, default=old_json_default, sort_keys=True))


def old_canonical_json(data) -> str:
    if data is None:
        return "null"
    if all(type(key) is str for key in data):
        return json.dumps(data, default=old_json_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(json.loads(json.dumps(data, default=old_json_default)), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)
# What a snapshot may hold: JSON's types, decimals, dates and times, a related instance, a UUID, a duration.
odd = (st.builds(lambda pk: Account(pk=pk), st.integers(min_value=1, max_value=10**9)) | st.uuids()
       | st.timedeltas())
scalars = (st.none() | st.booleans() | st.integers() | text | st.decimals(allow_nan=False, allow_infinity=False)
           | st.dates() | st.datetimes(timezones=st.none() | st.just(dt.UTC)) | st.times() | odd)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                      max_leaves=10)
snapshots = st.none() | st.dictionaries(text, values, max_size=5) | st.dictionaries(st.integers(), values, max_size=3)


@settings(max_examples=400, deadline=None)
@given(snapshots)
def test_snapshots_serialize_and_normalize_exactly_as_before(data):
    assert _canonical_json(data) == old_canonical_json(data)
    assert _jsonable(data) == old_jsonable(data)


def test_a_uuid_keeps_its_text_and_a_related_instance_its_key():
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert _canonical_json({"u": key, "account": Account(pk=7), "n": Decimal("2.50")}) == (
        '{"account":7,"n":"2.5","u":"12345678-1234-5678-1234-567812345678"}')
