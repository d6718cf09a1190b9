"""JSON parsing that never passes a binary float into the domain."""

import codecs
import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _reject_constant(name):
    raise ValueError(f"{name} is not a valid number")


class DecimalJSONParser(JSONParser):
    """Parse JSON numbers with a fraction or exponent as Decimal, from their exact text.

    A client sending ``50.25`` gets exactly 50.25; one sending ``0.30000000000000004`` (binary
    noise) gets all 17 places, which the field then refuses instead of silently rounding.
    NaN and Infinity are refused outright.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc
