"""The price tolerance of matching per asset class (clearing.MatchTolerance), changed with an audit record."""

from decimal import Decimal

from django.db import transaction

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import InputError, parse_decimal
from clearing.models import MatchTolerance
from records.audit.models import Actor
from records.audit.services.audit import audit_log, snapshot
from records.reference.models import Instrument

BPS = (8, 4)  # MatchTolerance.price_tolerance_bps: max_digits, decimal_places
MAX_BPS = Decimal(1000)  # 10%: beyond it a "match" says nothing


@transaction.atomic
def match_tolerance_set(*, actor: Actor, asset_class: str, price_tolerance_bps, reason: str) -> MatchTolerance:
    """Set the price tolerance of an asset class (created if missing). A no-op when unchanged.

    It applies to matching from now on; confirmations already matched or mismatched stay as they are
    until they are matched again (the matching job, "Match now").
    """
    if asset_class not in Instrument.AssetClass.values:
        raise BusinessRuleError(f"{asset_class!r} is not an asset class.", field="asset_class")
    try:
        bps = parse_decimal(price_tolerance_bps, kind=BPS, non_negative=True)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field="price_tolerance_bps") from None
    if bps > MAX_BPS:
        raise BusinessRuleError(f"At most {MAX_BPS} bp (10% of the price).", field="price_tolerance_bps")
    if not (reason or "").strip():
        raise BusinessRuleError("Say why the tolerance changes.", field="reason")
    tolerance = MatchTolerance.objects.select_for_update().filter(asset_class=asset_class).first()
    if tolerance is None:
        tolerance = MatchTolerance.objects.create(asset_class=asset_class, price_tolerance_bps=bps)
        audit_log(actor=actor, action="CREATE", instance=tolerance, after=snapshot(tolerance), reason=reason.strip())
        return tolerance
    if tolerance.price_tolerance_bps == bps:
        return tolerance
    before = snapshot(tolerance)
    tolerance.price_tolerance_bps = bps
    tolerance.save(update_fields=["price_tolerance_bps", "updated_at"])
    audit_log(actor=actor, action="UPDATE", instance=tolerance, before=before, after=snapshot(tolerance),
              reason=reason.strip())
    return tolerance
