"""Standing settlement instructions (SSIs): where a counterparty settles in a market. Reference data.

Changed under maker-checker (DESIGN.md §8): the dashboard, the API and the admin propose an
"ssi.change" (settlements/instructions/kinds.py); approving it calls ssi_create or ssi_update here
as the approver. Each save is audited and then refreshes the counterparty's open instructions
(instructions_ssi_refresh): HELD ones the SSI now covers become PENDING.

Which SSI covers an instruction: the counterparty's for the instrument's market effective on the
settlement date, else its market-null one; among several effective ones, the one that started
last. So a new SSI from a date supersedes an open-ended older one from that date on, without the
older one being ended first.
"""

from datetime import date

from django.db import IntegrityError, transaction

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from records.audit.services.audit import Actor, audit_log, snapshot
from records.reference.models import Counterparty, Market
from settlements.instructions.services.instructions import instructions_ssi_refresh
from settlements.instructions.validators import CHANGEABLE_FIELDS, check_effective_range, ssi_values
from settlements.models import StandingSettlementInstruction


def _refresh(ssi: StandingSettlementInstruction, *, actor: Actor, reason: str) -> dict:
    return instructions_ssi_refresh(actor=actor, counterparty_id=ssi.counterparty_id,
                                    reason=reason or f"standing settlement instruction {ssi.pk} saved")


def _duplicate(counterparty: Counterparty, market: Market | None, effective_from: date) -> ConflictError:
    where = market.mic if market is not None else "any market"
    return ConflictError(f"{counterparty.code} already has a standing settlement instruction for {where} "
                         f"effective from {effective_from.isoformat()}: change that one instead.")


@transaction.atomic
def ssi_create(*, actor: Actor, counterparty: Counterparty, market: Market | None, depository_bic: str,
               place_of_settlement_bic: str, agent_bic: str, safekeeping_account: str, effective_from: date,
               effective_to: date | None = None, reason: str = "") -> StandingSettlementInstruction:
    """Create a counterparty's SSI for a market (None: any market); release the instructions it now covers.

    BICs are checked (ISO 9362) and upper-cased; ConflictError when the counterparty already has one
    for the market starting on the same day.
    """
    values = ssi_values({"depository_bic": depository_bic, "place_of_settlement_bic": place_of_settlement_bic,
                         "agent_bic": agent_bic, "safekeeping_account": safekeeping_account,
                         "effective_from": effective_from, "effective_to": effective_to}, creating=True)
    check_effective_range(values["effective_from"], values["effective_to"])
    try:
        with transaction.atomic():
            ssi = StandingSettlementInstruction.objects.create(counterparty=counterparty, market=market, **values)
    except IntegrityError:
        raise _duplicate(counterparty, market, values["effective_from"]) from None
    audit_log(actor=actor, action="CREATE", instance=ssi, after=snapshot(ssi), reason=reason)
    _refresh(ssi, actor=actor, reason=reason)
    return ssi


@transaction.atomic
def ssi_update(*, actor: Actor, ssi_id: int, changes: dict, reason: str = "") -> StandingSettlementInstruction:
    """Change an SSI's BICs, safekeeping account or effective dates; refresh the instructions of its counterparty.

    Its counterparty and market never change (propose a new SSI instead). A change that changes nothing
    writes nothing.
    """
    unknown = sorted(set(changes) - set(CHANGEABLE_FIELDS))
    if unknown:
        raise BusinessRuleError(f"Cannot be changed; change one of {', '.join(CHANGEABLE_FIELDS)}.", field=unknown[0])
    ssi = (StandingSettlementInstruction.objects.select_for_update(of=("self",))
           .select_related("counterparty", "market").filter(pk=ssi_id).first())
    if ssi is None:
        raise BusinessRuleError(f"Unknown standing settlement instruction {ssi_id}.", field="id")
    values = ssi_values(changes, creating=False)
    check_effective_range(values.get("effective_from", ssi.effective_from),
                          values.get("effective_to", ssi.effective_to))
    changed = {name: value for name, value in values.items() if getattr(ssi, name) != value}
    if not changed:
        return ssi
    before = snapshot(ssi)
    for name, value in changed.items():
        setattr(ssi, name, value)
    try:
        with transaction.atomic():
            ssi.save(update_fields=[*changed, "updated_at"])
    except IntegrityError:
        raise _duplicate(ssi.counterparty, ssi.market, ssi.effective_from) from None
    audit_log(actor=actor, action="UPDATE", instance=ssi, before=before, after=snapshot(ssi), reason=reason)
    _refresh(ssi, actor=actor, reason=reason)
    return ssi
