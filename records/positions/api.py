"""The inventory API (docs/api-guide.md, "Inventory"): positions as of a date, valued. Thin: call a selector."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import DECIMAL_SCHEMA, PRICE, QUANTITY, StrictDateField, StrictDecimalField, format_decimal
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ALL_ROLES, FRONT_OFFICE, OPERATIONS
from records.positions import selectors
from records.reference import selectors as reference_selectors

InventoryRole = HasRole(FRONT_OFFICE, OPERATIONS, read=ALL_ROLES)


class InventoryQuery(serializers.Serializer):
    account = serializers.CharField(max_length=30, required=False)
    instrument = serializers.CharField(max_length=12, required=False, help_text="ISIN")
    as_of = StrictDateField(required=False, help_text="Default: today.")


class InventoryOutput(serializers.Serializer):
    account = serializers.CharField(source="account.code")
    instrument = serializers.CharField(source="instrument.isin")
    traded_quantity = StrictDecimalField(kind=QUANTITY, source="traded_as_of")
    settled_quantity = StrictDecimalField(kind=QUANTITY, source="settled_as_of")
    pending_receipt = StrictDecimalField(kind=QUANTITY, source="receipt_as_of")
    pending_delivery = StrictDecimalField(kind=QUANTITY, source="delivery_as_of")
    available_quantity = serializers.SerializerMethodField()
    price = StrictDecimalField(kind=PRICE, allow_null=True)
    price_date = serializers.DateField(allow_null=True)
    market_value = serializers.SerializerMethodField()
    currency = serializers.CharField(source="instrument.currency")

    # The figures derived from the position are the selector's (the inventory page shows the same).

    @extend_schema_field(DECIMAL_SCHEMA)
    def get_available_quantity(self, obj) -> str:
        """Settled holding not already promised to a pending delivery (never below zero)."""
        return format_decimal(selectors.inventory_available(obj))

    @extend_schema_field({**DECIMAL_SCHEMA, "nullable": True})
    def get_market_value(self, obj) -> str | None:
        """Trade-date quantity at the price, rounded half-even to the currency's minor unit."""
        return format_decimal(selectors.inventory_market_value(obj))


class InventoryApi(generics.ListAPIView):
    permission_classes = [InventoryRole]
    serializer_class = InventoryOutput

    @extend_schema(parameters=[InventoryQuery])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = InventoryQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if params.get("account") and reference_selectors.account_get(params["account"]) is None:
            raise BusinessRuleError(f"Unknown account {params['account']!r}.", field="account")
        if params.get("instrument") and reference_selectors.instrument_get(params["instrument"]) is None:
            raise BusinessRuleError(f"Unknown instrument {params['instrument']!r}.", field="instrument")
        return selectors.inventory_list(as_of=params.get("as_of") or timezone.localdate(),
                                        account_code=params.get("account"), isin=params.get("instrument"))
