"""Dashboard pages of the books and records, under /records/."""

from django.urls import path

from . import views

app_name = "records"

urlpatterns = [
    path("instruments/", views.instrument_list, name="instruments"),
    path("accounts/", views.account_list, name="accounts"),
    path("counterparties/", views.counterparty_list, name="counterparties"),
    path("prices/", views.price_list, name="prices"),
    path("cash/", views.cash_balance_list, name="cash-balances"),
    path("positions/", views.position_list, name="positions"),
    path("trades/", views.trade_list, name="trades"),
    path("trades/export.csv", views.trade_export, name="trades-export"),
    path("trades/<int:trade_id>/", views.trade_detail, name="trade-detail"),
    path("inventory/", views.inventory, name="inventory"),
]
