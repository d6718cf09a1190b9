"""Helpers shared by the API layers of every app."""

from rest_framework import serializers


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
