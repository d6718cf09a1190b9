import django_filters
from django.db.models import Q

from backoffice.core.api import StrictDateFilter
from records.reference.models import Account, Counterparty, Instrument, Price


class InstrumentFilter(django_filters.FilterSet):
    asset_class = django_filters.ChoiceFilter(choices=Instrument.AssetClass.choices)
    market = django_filters.CharFilter(field_name="market_id")
    currency = django_filters.CharFilter()
    search = django_filters.CharFilter(method="filter_search", help_text="ISIN, symbol or name contains")

    class Meta:
        model = Instrument
        fields = ["asset_class", "market", "currency", "search"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(isin__icontains=value) | Q(symbol__icontains=value) | Q(name__icontains=value))


class AccountFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Account.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Account.Status.choices)
    base_currency = django_filters.CharFilter()

    class Meta:
        model = Account
        fields = ["kind", "status", "base_currency"]


class CounterpartyFilter(django_filters.FilterSet):
    is_ccp = django_filters.BooleanFilter()
    clears_through = django_filters.CharFilter(field_name="clears_through__code")

    class Meta:
        model = Counterparty
        fields = ["is_ccp", "clears_through"]


class PriceFilter(django_filters.FilterSet):
    instrument = django_filters.CharFilter(field_name="instrument__isin", help_text="ISIN")
    date_from = StrictDateFilter(field_name="price_date", lookup_expr="gte")
    date_to = StrictDateFilter(field_name="price_date", lookup_expr="lte")
    source = django_filters.CharFilter()

    class Meta:
        model = Price
        fields = ["instrument", "date_from", "date_to", "source"]
