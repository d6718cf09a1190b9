"""Reads of maker-checker change requests: what a user may decide, and what they proposed."""

from django.db.models import Q, QuerySet

from records.approvals.kinds import kinds_decidable_by
from records.approvals.models import ChangeRequest


def change_request_list() -> QuerySet[ChangeRequest]:
    return ChangeRequest.objects.select_related("proposed_by", "decided_by").order_by("-proposed_at", "-id")


def change_requests_visible_to(user) -> QuerySet[ChangeRequest]:
    """Return the change requests a user may see: their own, and every one of a kind they may decide."""
    if not user or not user.is_authenticated:
        return change_request_list().none()
    return change_request_list().filter(Q(proposed_by=user) | Q(kind__in=kinds_decidable_by(user)))


def change_requests_to_decide(user, *, kind: str | None = None) -> QuerySet[ChangeRequest]:
    """Return the pending changes the user may approve or reject: within their roles, proposed by others.

    Oldest first: the change waiting longest is decided first.
    """
    if not user or not user.is_authenticated:
        return change_request_list().none()
    rows = (change_request_list().filter(status=ChangeRequest.Status.PENDING, kind__in=kinds_decidable_by(user))
            .exclude(proposed_by=user))
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("proposed_at", "id")


def change_request_search(user, *, status: str | None = None, kind: str | None = None,
                          mine: bool = False) -> QuerySet[ChangeRequest]:
    """The approvals list: by default the pending changes the user may decide.

    mine: the user's own proposals (any status unless one is given). A status without mine: the
    changes of that status the user may see, other than their own.
    """
    if mine:
        rows = change_request_list().filter(proposed_by=user) if user and user.is_authenticated \
            else change_request_list().none()
    elif status is None:
        return change_requests_to_decide(user, kind=kind)
    else:
        rows = change_requests_visible_to(user).exclude(proposed_by=user)
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    return rows


def change_request_get(user, change_id: int) -> ChangeRequest | None:
    """Return the change request if the user may see it."""
    return change_requests_visible_to(user).filter(pk=change_id).first()


def change_request_exists(change_id: int) -> bool:
    return ChangeRequest.objects.filter(pk=change_id).exists()


def change_request_pending(*, kind: str, target_id) -> ChangeRequest | None:
    """Return the change of this kind awaiting approval for the target, if any (the oldest)."""
    return (ChangeRequest.objects.filter(kind=kind, target_id=str(target_id), status=ChangeRequest.Status.PENDING)
            .order_by("id").first())
