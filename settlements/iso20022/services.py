"""Writes of the ISO 20022 messages: settlement statuses imported back from the depository.

A status message (sese.024/025-like) says of one of our instructions that it SETTLED, or FAILED
with the counterparty's reason. Each is kept once (StatusMessage, unique by the message's own id)
with its effect, in one transaction:

* FAILED records the counterparty's failure on the instruction (the instructions service
  instruction_counterparty_fail): it will not settle until that is cleared (DESIGN.md §6);
* SETTLED settles what is left of it as the depository reports (the runs service
  instruction_settle_confirmed: movement, positions, cash, fail closed).

The same message again (same id, instruction, status and reason) changes nothing and gets the same
answer; the id with other content is a ConflictError.
"""

from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import InputError, parse_text
from records.audit.services.audit import actor_fields, audit_log, snapshot
from settlements.instructions.services.instructions import instruction_counterparty_fail
from settlements.models import SettlementInstruction, StatusMessage
from settlements.runs.services import instruction_settle_confirmed

SETTLED, FAILED = "SETTLED", "FAILED"
STATUSES = (SETTLED, FAILED)

# The message row first, as the guard: a second delivery of the same id waits for the first to commit,
# then finds it (DO NOTHING) and is compared with it.
_INSERT = """
INSERT INTO settlements_statusmessage (instruction_id, status, reason, received_at, received_by_id, message_id)
VALUES (%(instruction)s, %(status)s, %(reason)s, %(now)s, %(user)s, %(message_id)s)
ON CONFLICT (message_id) DO NOTHING
RETURNING id
"""


def _text(value, *, field: str, max_length: int, allow_blank: bool = False) -> str:
    try:
        return parse_text(value, max_length=max_length, allow_blank=allow_blank)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field=field) from None


@transaction.atomic
def status_message_receive(*, actor, message_id: str, instruction_id: int, status: str,
                           reason: str = "") -> tuple[StatusMessage, bool]:
    """Keep a depository's status message and apply it; return (the message, whether it is new).

    Raises BusinessRuleError for an unknown status or instruction, or a FAILED without a reason;
    ConflictError for a message id received before with other content, or an instruction the status
    cannot apply to (the services' own: settled or cancelled for FAILED, held or cancelled for SETTLED).
    """
    message_id = _text(message_id, field="message_id", max_length=64)
    reason = _text(reason or "", field="reason", max_length=200, allow_blank=True)
    if status not in STATUSES:
        raise BusinessRuleError(f"Give {' or '.join(STATUSES)}.", field="status")
    if status == FAILED and not reason:
        raise BusinessRuleError("A FAILED status needs the reason the counterparty gave.", field="reason")
    if not SettlementInstruction.objects.filter(pk=instruction_id).exists():
        raise BusinessRuleError(f"No instruction {instruction_id}.", field="instruction")
    user, _label = actor_fields(actor)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, {"instruction": instruction_id, "status": status, "reason": reason,
                                 "now": timezone.now(), "user": user.pk if user is not None else None,
                                 "message_id": message_id})
        inserted = cursor.fetchone()
    if inserted is None:
        earlier = StatusMessage.objects.get(message_id=message_id)
        if (earlier.instruction_id, earlier.status, earlier.reason) != (instruction_id, status, reason):
            raise ConflictError(f"Message {message_id} was received before with other content (instruction "
                                f"{earlier.instruction_id}, {earlier.status}"
                                + (f", {earlier.reason!r}" if earlier.reason else "") + ").")
        return earlier, False
    message = StatusMessage.objects.get(pk=inserted[0])
    audit_log(actor=actor, action="CREATE", instance=message, after=snapshot(message),
              reason=f"status message {message_id} from the depository")
    if status == FAILED:
        instruction_counterparty_fail(actor=actor, instruction_id=instruction_id, reason=reason)
    else:
        note = f"depository status message {message_id}: settled" + (f" ({reason})" if reason else "")
        instruction_settle_confirmed(actor=actor, instruction_id=instruction_id, reason=note)
    return message, True
