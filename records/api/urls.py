from django.urls import path

from . import views

urlpatterns = [
    path("instruments/", views.InstrumentListCreateApi.as_view(), name="api-instruments"),
    path("instruments/<str:isin>/", views.InstrumentDetailApi.as_view(), name="api-instrument"),
    path("instruments/<str:isin>/price/", views.InstrumentLatestPriceApi.as_view(), name="api-instrument-price"),
    path("accounts/", views.AccountListCreateApi.as_view(), name="api-accounts"),
    path("accounts/<str:code>/", views.AccountDetailApi.as_view(), name="api-account"),
    path("counterparties/", views.CounterpartyListCreateApi.as_view(), name="api-counterparties"),
    path("counterparties/<str:code>/", views.CounterpartyDetailApi.as_view(), name="api-counterparty"),
    path("markets/", views.MarketListApi.as_view(), name="api-markets"),
    path("prices/", views.PriceListUpsertApi.as_view(), name="api-prices"),
    path("fx-rates/", views.FxRateUpsertApi.as_view(), name="api-fx-rates"),
    path("settlement-date/", views.SettlementDateApi.as_view(), name="api-settlement-date"),
    path("cash/", views.CashMovementApi.as_view(), name="api-cash"),
    path("cash/balances/", views.CashBalanceListApi.as_view(), name="api-cash-balances"),
]
