"""Trade hooks: what the apps above records do when trades arrive or change, without records importing them.

settings.TRADE_HOOKS lists dotted paths of functions ``hook(*, trade_ids, event, actor)``, called in
the transaction that booked or changed the trades, after the change (so a hook sees the trades as
they now are and its writes commit or roll back with them). Clearing's confirmation matching is
one: a trade arriving after its confirmation is matched at once. Keep hooks set-based: trade
capture calls them once per batch.
"""

from collections.abc import Sequence
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

BOOKED = "booked"  # new trades, BOOKED or HELD
AMENDED = "amended"
CANCELLED = "cancelled"
RELEASED = "released"
REJECTED = "rejected"  # a held trade rejected: it never entered the position


@cache
def get_trade_hooks() -> tuple:
    hooks = []
    for path in getattr(settings, "TRADE_HOOKS", []):
        try:
            hooks.append(import_string(path))
        except ImportError as exc:
            raise ImproperlyConfigured(f"TRADE_HOOKS: cannot import {path!r}") from exc
    return tuple(hooks)


@receiver(setting_changed)
def _reset_hooks(*, setting, **kwargs):
    if setting == "TRADE_HOOKS":
        get_trade_hooks.cache_clear()


def trade_hooks_run(*, trade_ids: Sequence[int], event: str, actor) -> None:
    """Call every configured hook with the trades and what happened to them. Call inside the transaction."""
    if not trade_ids:
        return
    for hook in get_trade_hooks():
        hook(trade_ids=list(trade_ids), event=event, actor=actor)
