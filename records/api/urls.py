from django.urls import path

from . import approval_views, audit_views, records_views, trade_views, views

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

urlpatterns += [
    path("trades/", trade_views.TradeListCreateApi.as_view(), name="api-trades"),
    path("trades/bulk/", trade_views.TradeBulkApi.as_view(), name="api-trades-bulk"),
    path("trades/<int:trade_id>/", trade_views.TradeDetailApi.as_view(), name="api-trade"),
    path("trades/<int:trade_id>/cancel/", trade_views.TradeCancelApi.as_view(), name="api-trade-cancel"),
    path("trades/<int:trade_id>/amend/", trade_views.TradeAmendApi.as_view(), name="api-trade-amend"),
    path("trades/<int:trade_id>/release/", trade_views.TradeReleaseApi.as_view(), name="api-trade-release"),
    path("inventory/", trade_views.InventoryApi.as_view(), name="api-inventory"),
]

urlpatterns += [
    path("records/audit/", audit_views.AuditListApi.as_view(), name="api-audit"),
    path("records/audit/verify/", audit_views.AuditVerifyApi.as_view(), name="api-audit-verify"),
]

urlpatterns += [
    path("records/exports/<str:kind>.csv", records_views.ExportCsvApi.as_view(), name="api-records-export"),
    path("records/manifests/", records_views.ManifestListCreateApi.as_view(), name="api-records-manifests"),
]

urlpatterns += [
    path("approvals/", approval_views.ApprovalListCreateApi.as_view(), name="api-approvals"),
    path("approvals/<int:change_id>/", approval_views.ApprovalDetailApi.as_view(), name="api-approval"),
    path("approvals/<int:change_id>/approve/", approval_views.ApprovalApproveApi.as_view(),
         name="api-approval-approve"),
    path("approvals/<int:change_id>/reject/", approval_views.ApprovalRejectApi.as_view(), name="api-approval-reject"),
    path("approvals/<int:change_id>/withdraw/", approval_views.ApprovalWithdrawApi.as_view(),
         name="api-approval-withdraw"),
]
