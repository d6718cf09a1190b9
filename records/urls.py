"""Dashboard pages of the books and records, under /records/."""

from django.urls import path

from . import approval_views, audit_views, retention_views, views

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
    path("retention/", retention_views.retention_page, name="retention"),
    path("retention/holds/", retention_views.legal_hold_place, name="legal-hold-place"),
    path("retention/holds/<int:hold_id>/release/", retention_views.legal_hold_release, name="legal-hold-release"),
    path("exports/", retention_views.exports_page, name="exports"),
    path("exports/<str:kind>.csv", retention_views.export_download, name="export-download"),
    path("exports/manifests/<str:business_date>/verify/", retention_views.manifest_verify, name="manifest-verify"),
    path("exports/manifests/<str:business_date>/<str:name>", retention_views.manifest_file, name="manifest-file"),
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
