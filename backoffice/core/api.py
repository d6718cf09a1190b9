"""Helpers shared by the API layers of every app."""

import django_filters
from django import forms
from rest_framework import serializers

from .fields import InputError, parse_date


class _StrictDateFormField(forms.DateField):
    """A form field reading YYYY-MM-DD only (parse_date), as every date the API takes is read."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_date(value)
        except InputError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


class StrictDateFilter(django_filters.DateFilter):
    """A date query parameter (`?trade_date=`, `?date_from=`): YYYY-MM-DD, else a 400 naming it.

    django-filter's own DateFilter takes every DATE_INPUT_FORMATS spelling ("11/20/2026",
    "20261120"), so the same date would be read differently in a body and in a query.
    """

    field_class = _StrictDateFormField


def validate_items(serializer_class: type[serializers.Serializer], items: list, *, context=None):
    """Validate each item on its own; return (validated items or None, errors per item or {}).

    Errors come back as a list aligned with the input, ``{}`` for a valid item, so a client
    can match every message to the item that caused it.
    """
    validated, errors = [], []
    for item in items:
        serializer = serializer_class(data=item, context=context or {})
        if serializer.is_valid():
            validated.append(serializer.validated_data)
            errors.append({})
        else:
            validated.append(None)
            errors.append(serializer.errors)
    return validated, errors
