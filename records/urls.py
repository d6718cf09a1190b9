"""Dashboard pages of the books and records, under /records/."""

from django.urls import path

from records.approvals import views as approval_views
from records.audit import views as audit_views
from records.cash import views as cash_views
from records.exports import views as export_views
from records.positions import views as position_views
from records.reference import views as reference_views
from records.retention import views as retention_views
from records.trades import views as trade_views
from records.trades.files import views as trade_file_views

app_name = "records"

urlpatterns = [
    path("instruments/", reference_views.instrument_list, name="instruments"),
    path("accounts/", reference_views.account_list, name="accounts"),
    path("counterparties/", reference_views.counterparty_list, name="counterparties"),
    path("prices/", reference_views.price_list, name="prices"),
    path("cash/", cash_views.cash_balance_list, name="cash-balances"),
    path("positions/", position_views.position_list, name="positions"),
    path("trades/", trade_views.trade_list, name="trades"),
    path("trades/export.csv", trade_views.trade_export, name="trades-export"),
    path("trades/files/", trade_file_views.trade_files, name="trade-files"),
    path("trades/files/upload/", trade_file_views.trade_file_upload, name="trade-file-upload"),
    path("trades/files/<int:file_id>/report.csv", trade_file_views.trade_file_report, name="trade-file-report"),
    path("trades/<int:trade_id>/", trade_views.trade_detail, name="trade-detail"),
    path("trades/<int:trade_id>/amend/", trade_views.trade_amend, name="trade-amend"),
    path("trades/<int:trade_id>/cancel/", trade_views.trade_cancel, name="trade-cancel"),
    path("trades/<int:trade_id>/release/", trade_views.trade_release, name="trade-release"),
    path("trades/<int:trade_id>/reject/", trade_views.trade_reject, name="trade-reject"),
    path("inventory/", position_views.inventory, name="inventory"),
]

urlpatterns += [
    path("retention/", retention_views.retention_page, name="retention"),
    path("retention/holds/", retention_views.legal_hold_place, name="legal-hold-place"),
    path("retention/holds/<int:hold_id>/release/", retention_views.legal_hold_release, name="legal-hold-release"),
    path("exports/", export_views.exports_page, name="exports"),
    path("exports/<str:kind>.csv", export_views.export_download, name="export-download"),
    path("exports/manifests/<str:business_date>/verify/", export_views.manifest_verify, name="manifest-verify"),
    path("exports/manifests/<str:business_date>/<str:name>", export_views.manifest_file, name="manifest-file"),
]

urlpatterns += [
    path("audit/", audit_views.audit_page, name="audit"),
    path("audit/verify/", audit_views.audit_verify, name="audit-verify"),
    path("audit/<int:record_id>/", audit_views.audit_detail, name="audit-detail"),
]

urlpatterns += [
    path("approvals/", approval_views.approvals_page, name="approvals"),
    path("approvals/<int:change_id>/approve/", approval_views.approval_approve, name="approval-approve"),
    path("approvals/<int:change_id>/reject/", approval_views.approval_reject, name="approval-reject"),
    path("approvals/<int:change_id>/withdraw/", approval_views.approval_withdraw, name="approval-withdraw"),
]
