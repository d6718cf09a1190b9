"""Helpers shared by the API layers of every app."""

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

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


def query_param(request, name: str) -> str | None:
    """The one value of a query parameter, or None when absent; given twice, a 400 naming it."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationError({name: ["Give this parameter once."]})
    return values[0] if values else None


_BOOLEANS = {"true": True, "false": False}


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, with every malformed filter parameter a 400 naming it (API.md, Conventions).

    django-filter ignores what it cannot read: `?is_ccp=maybe` or `?trade_date_from=` filter nothing
    and a client believes it filtered. Here a parameter given twice, an empty value for anything but
    free text, and a boolean other than `true` or `false` are refused.
    """

    def get_filterset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            for name, filter_ in filterset_class.base_filters.items():
                if isinstance(filter_, django_filters.MultipleChoiceFilter):
                    continue
                value = query_param(request, name)
                if value is None:
                    continue
                if isinstance(filter_, django_filters.BooleanFilter):
                    if value not in _BOOLEANS:
                        raise ValidationError({name: ["Give true or false."]})
                elif value == "" and type(filter_) is not django_filters.CharFilter:
                    raise ValidationError({name: ["Give a value, or leave the parameter out."]})
        return super().get_filterset(request, queryset, view)
