"""The cash API (docs/api-guide.md, "Reference data": cash): book a movement, list movements and balances.

Views parse input, call one service or selector, and shape the output.
"""

import django_filters
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from backoffice.core.api import StrictDateFilter
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import AMOUNT, StrictDateField, StrictDecimalField
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ALL_ROLES, FRONT_OFFICE, OPERATIONS
from records.cash import selectors, services
from records.cash.models import CashBalance, CashMovement
from records.reference import selectors as reference_selectors
from records.reference.api.serializers import CurrencyField

CashRole = HasRole(FRONT_OFFICE, OPERATIONS, read=ALL_ROLES)


# Serializers ----------------------------------------------------------------------------------

class CashMovementInput(serializers.Serializer):
    account = serializers.CharField(max_length=30)
    currency = CurrencyField()
    amount = StrictDecimalField(kind=AMOUNT, help_text="Deposit positive, withdrawal negative.")
    value_date = StrictDateField()  # YYYY-MM-DD only, as a cash adjustment's (records.approvals) is read
    reference = serializers.RegexField(r"^\S(.*\S)?$", max_length=100,
                                       error_messages={"invalid": "Must not start or end with spaces."})
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CashMovementOutput(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code")
    amount = StrictDecimalField(kind=AMOUNT)

    class Meta:
        model = CashMovement
        fields = ["id", "account", "currency", "amount", "value_date", "reference", "kind", "description",
                  "created_at"]


class CashBalanceOutput(serializers.Serializer):
    account = serializers.CharField(source="account.code")
    currency = serializers.CharField()
    balance = StrictDecimalField(kind=AMOUNT, help_text="The sum of the account's cash movements in the currency.")
    available = StrictDecimalField(kind=AMOUNT, source="available_amount",
                                   help_text="balance - reserved + credit_limit: what the account can still pay.")
    reserved = StrictDecimalField(kind=AMOUNT, help_text="Earmarked for settlement instructions that pay cash and "
                                                         "have not settled yet.")
    credit_limit = StrictDecimalField(kind=AMOUNT, help_text="The account's credit limit.")


# Filters --------------------------------------------------------------------------------------

class CashBalanceFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__code")
    currency = django_filters.CharFilter()

    class Meta:
        model = CashBalance
        fields = ["account", "currency"]


class CashMovementFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__code")
    currency = django_filters.CharFilter()
    kind = django_filters.ChoiceFilter(choices=CashMovement.Kind.choices)
    date_from = StrictDateFilter(field_name="value_date", lookup_expr="gte")
    date_to = StrictDateFilter(field_name="value_date", lookup_expr="lte")
    reference = django_filters.CharFilter()

    class Meta:
        model = CashMovement
        fields = ["account", "currency", "kind", "date_from", "date_to", "reference"]


# Views ----------------------------------------------------------------------------------------

def _account_or_error(code: str, field: str = "account"):
    account = reference_selectors.account_get(code)
    if account is None:
        raise BusinessRuleError(f"Unknown account {code!r}.", field=field)
    return account


class CashMovementApi(generics.ListAPIView):
    permission_classes = [CashRole]
    serializer_class = CashMovementOutput
    filterset_class = CashMovementFilter

    def get_queryset(self):
        return selectors.cash_movement_list()

    @extend_schema(
        request=CashMovementInput,
        responses={201: CashMovementOutput,
                   200: OpenApiResponse(CashMovementOutput, description="Same reference and content: "
                                        "the existing movement, nothing booked.")},
        description="Book a cash movement, idempotent by `reference` (a different body with a used reference: 409).",
    )
    def post(self, request):
        data = CashMovementInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        account = _account_or_error(values.pop("account"))
        with transaction.atomic():
            result = services.cash_movement_create(actor=request.user, account=account, **values)
        return Response(CashMovementOutput(result.movement).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class CashBalanceListApi(generics.ListAPIView):
    permission_classes = [CashRole]
    serializer_class = CashBalanceOutput
    filterset_class = CashBalanceFilter

    def get_queryset(self):
        return selectors.cash_balance_list()

    @extend_schema(description="Cash balances per account and currency: balance, reserved (for settlement "
                               "instructions that pay and have not settled), the account's credit limit and "
                               "available = balance - reserved + credit limit.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
