"""The API of the books and records, under /api/v1/: the sub-domains' API views."""

from django.urls import path

from records.approvals import api as approvals
from records.audit import api as audit
from records.cash import api as cash
from records.exports import api as exports
from records.positions import api as positions
from records.reference.api import views as reference
from records.trades.api import views as trades
from records.trades.files import api as trade_files

urlpatterns = [
    path("instruments/", reference.InstrumentListCreateApi.as_view(), name="api-instruments"),
    path("instruments/<str:isin>/", reference.InstrumentDetailApi.as_view(), name="api-instrument"),
    path("instruments/<str:isin>/price/", reference.InstrumentLatestPriceApi.as_view(), name="api-instrument-price"),
    path("accounts/", reference.AccountListCreateApi.as_view(), name="api-accounts"),
    path("accounts/<str:code>/", reference.AccountDetailApi.as_view(), name="api-account"),
    path("counterparties/", reference.CounterpartyListCreateApi.as_view(), name="api-counterparties"),
    path("counterparties/<str:code>/", reference.CounterpartyDetailApi.as_view(), name="api-counterparty"),
    path("markets/", reference.MarketListApi.as_view(), name="api-markets"),
    path("prices/", reference.PriceListUpsertApi.as_view(), name="api-prices"),
    path("fx-rates/", reference.FxRateUpsertApi.as_view(), name="api-fx-rates"),
    path("settlement-date/", reference.SettlementDateApi.as_view(), name="api-settlement-date"),
    path("cash/", cash.CashMovementApi.as_view(), name="api-cash"),
    path("cash/balances/", cash.CashBalanceListApi.as_view(), name="api-cash-balances"),
]

urlpatterns += [
    path("trades/", trades.TradeListCreateApi.as_view(), name="api-trades"),
    path("trades/bulk/", trades.TradeBulkApi.as_view(), name="api-trades-bulk"),
    path("trades/files/", trade_files.TradeFileListCreateApi.as_view(), name="api-trade-files"),
    path("trades/files/<int:file_id>/", trade_files.TradeFileDetailApi.as_view(), name="api-trade-file"),
    path("trades/files/<int:file_id>/report/", trade_files.TradeFileReportApi.as_view(),
         name="api-trade-file-report"),
    path("trades/<int:trade_id>/", trades.TradeDetailApi.as_view(), name="api-trade"),
    path("trades/<int:trade_id>/cancel/", trades.TradeCancelApi.as_view(), name="api-trade-cancel"),
    path("trades/<int:trade_id>/amend/", trades.TradeAmendApi.as_view(), name="api-trade-amend"),
    path("trades/<int:trade_id>/release/", trades.TradeReleaseApi.as_view(), name="api-trade-release"),
    path("trades/<int:trade_id>/reject/", trades.TradeRejectApi.as_view(), name="api-trade-reject"),
    path("inventory/", positions.InventoryApi.as_view(), name="api-inventory"),
]

urlpatterns += [
    path("records/audit/", audit.AuditListApi.as_view(), name="api-audit"),
    path("records/audit/verify/", audit.AuditVerifyApi.as_view(), name="api-audit-verify"),
]

urlpatterns += [
    path("records/exports/<str:kind>.csv", exports.ExportCsvApi.as_view(), name="api-records-export"),
    path("records/manifests/", exports.ManifestListCreateApi.as_view(), name="api-records-manifests"),
]

urlpatterns += [
    path("approvals/", approvals.ApprovalListCreateApi.as_view(), name="api-approvals"),
    path("approvals/<int:change_id>/", approvals.ApprovalDetailApi.as_view(), name="api-approval"),
    path("approvals/<int:change_id>/approve/", approvals.ApprovalApproveApi.as_view(),
         name="api-approval-approve"),
    path("approvals/<int:change_id>/reject/", approvals.ApprovalRejectApi.as_view(), name="api-approval-reject"),
    path("approvals/<int:change_id>/withdraw/", approvals.ApprovalWithdrawApi.as_view(),
         name="api-approval-withdraw"),
]
