"""Dashboard pages of the books and records, under /records/."""

from django.urls import path

from . import approval_views, views

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

urlpatterns += [
    path("approvals/", approval_views.approvals_page, name="approvals"),
    path("approvals/<int:change_id>/approve/", approval_views.approval_approve, name="approval-approve"),
    path("approvals/<int:change_id>/reject/", approval_views.approval_reject, name="approval-reject"),
    path("approvals/<int:change_id>/withdraw/", approval_views.approval_withdraw, name="approval-withdraw"),
]
