"""The Django admin of the books and records, for the admin's autodiscovery (which imports records.admin).

Each sub-domain registers its models in its own admin module (records/reference/admin.py ...);
importing them here registers them. Rows change only through services; nothing is deleted from
the admin: records are retained (backoffice.core.admin).
"""

from records.approvals import admin as approvals_admin
from records.audit import admin as audit_admin
from records.cash import admin as cash_admin
from records.exports import admin as exports_admin
from records.positions import admin as positions_admin
from records.reference import admin as reference_admin
from records.retention import admin as retention_admin
from records.trades import admin as trades_admin
from records.trades.files import admin as trade_files_admin

__all__ = ["approvals_admin", "audit_admin", "cash_admin", "exports_admin", "positions_admin", "reference_admin",
           "retention_admin", "trade_files_admin", "trades_admin"]
