"""The one domain error type, and its mapping to HTTP in the API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler


class BusinessRuleError(Exception):
    """A request that breaks a business rule. The API answers 400 with field messages.

    `field` names the input it concerns (``non_field_errors`` when none does). Several reasons
    under one field (every failed pre-trade check, say) go as `messages`; `message` joins them.
    """

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str = "", *, field: str | None = None, code: str = "invalid",
                 messages: list[str] | None = None):
        self.messages = list(messages) if messages else [message]
        self.message = "; ".join(self.messages)
        super().__init__(self.message)
        self.field = field or "non_field_errors"
        self.code = code

    def as_dict(self) -> dict:
        return {self.field: self.messages}


class ConflictError(BusinessRuleError):
    """A request that conflicts with the current state or an earlier request: 409."""

    status_code = status.HTTP_409_CONFLICT

    def as_dict(self) -> dict:
        return {"detail": self.message}


class ForbiddenError(BusinessRuleError):
    """A request the user may not make, whatever their role allows elsewhere: 403.

    E.g. approving one's own proposal (maker-checker), or deciding a kind of change one's roles
    do not cover.
    """

    status_code = status.HTTP_403_FORBIDDEN

    def as_dict(self) -> dict:
        return {"detail": self.message}


def api_exception_handler(exc, context):
    """Map domain errors to 400/403/409 (by their status_code) and Django validation errors to 400s."""
    if isinstance(exc, BusinessRuleError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = DRFValidationError(detail=detail)
    return exception_handler(exc, context)
