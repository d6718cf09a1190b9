"""Every model of the records app, for Django and for the migrations.

The models live in the sub-domain packages (records/reference/models.py, records/trades/models.py ...);
this module only re-exports them, so Django finds every model of the app when it loads it and
``records.models.X`` keeps working for the migrations. Code imports a model from its sub-domain's
models module instead.
"""

from records.approvals.models import ChangeRequest
from records.audit.models import (
    AppendOnlyModel,
    AppendOnlyQuerySet,
    AuditBlock,
    AuditRecord,
    AuditSeal,
    AuditVerification,
)
from records.cash.models import CashBalance, CashMovement
from records.exports.models import ExportManifest
from records.positions.models import PendingSettlementTotal, Position, StockMovement
from records.reference.models import Account, Counterparty, FxRate, Instrument, Market, Price, SettlementCalendar
from records.retention.models import LegalHold, RetentionPolicy
from records.trades.files.models import TradeFile, TradeFileRow
from records.trades.models import Trade, TradeEvent, TradeVersion

__all__ = [
    "Account",
    "AppendOnlyModel",
    "AppendOnlyQuerySet",
    "AuditBlock",
    "AuditRecord",
    "AuditSeal",
    "AuditVerification",
    "CashBalance",
    "CashMovement",
    "ChangeRequest",
    "Counterparty",
    "ExportManifest",
    "FxRate",
    "Instrument",
    "LegalHold",
    "Market",
    "PendingSettlementTotal",
    "Position",
    "Price",
    "RetentionPolicy",
    "SettlementCalendar",
    "StockMovement",
    "Trade",
    "TradeEvent",
    "TradeFile",
    "TradeFileRow",
    "TradeVersion",
]
