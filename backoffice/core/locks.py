"""Row locks taken the same way everywhere."""

from django.db import IntegrityError, models, transaction


def lock_or_create(model: type[models.Model], **key) -> models.Model:
    """Return the row of `model` with this unique key, locked (SELECT ... FOR UPDATE); create it if missing.

    Call inside an atomic block. A row created concurrently by another transaction is not an error:
    the insert fails on the unique key in a savepoint, and the other transaction's row is locked
    once it commits. Callers locking several rows take them in a fixed order.
    """
    row = model.objects.select_for_update().filter(**key).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            model.objects.create(**key)
    except IntegrityError:
        pass  # created by a concurrent transaction; lock theirs below
    return model.objects.select_for_update().get(**key)
