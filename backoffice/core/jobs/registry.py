"""The registry of job kinds: apps register theirs (from AppConfig.ready), the kernel runs them.

A kind declares its steps; a step declares its chunks and the function that does one chunk.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from backoffice.core.exceptions import BusinessRuleError

# What a chunk returns: the rows it affected, or a dict with "rows" and whatever the job should
# keep as that chunk's result (JSON-ready).
ChunkOutcome = int | dict


@dataclass(frozen=True)
class Step:
    """One step of a job: `chunks` chunks, numbered from 0, each done by `run(job, index)`.

    atomic=True: the chunk's work and its completion row commit in one transaction, so a chunk is
    done exactly once. atomic=False is for work that manages its own transactions or writes files
    (it must then be idempotent itself): the completion row is written after the work returns.
    """

    name: str
    chunks: int
    run: Callable[[Any, int], ChunkOutcome]
    atomic: bool = True


@dataclass(frozen=True)
class JobKind:
    """A kind of batch job. plan(parameters) returns its steps, called when a run starts.

    parse(parameters) validates and normalizes the parameters when a run is created (raise
    BusinessRuleError to refuse them); roles may start it besides superusers.
    """

    name: str
    title: str
    plan: Callable[[dict], list[Step]]
    parse: Callable[[dict], dict] = field(default=lambda parameters: dict(parameters))


JOB_KINDS: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> JobKind:
    """Register a kind of job (idempotent by name: a later registration replaces an earlier one)."""
    JOB_KINDS[kind.name] = kind
    return kind


def job_kind_get(name: str) -> JobKind:
    """Return the registered kind, or raise BusinessRuleError naming the known ones."""
    kind = JOB_KINDS.get(name)
    if kind is None:
        raise BusinessRuleError(f"Unknown kind of job {name!r} (known: {', '.join(sorted(JOB_KINDS)) or 'none'}).",
                                field="kind")
    return kind


@cache
def _extensions(kind: str) -> tuple[Callable[[dict], list[Step]], ...]:
    paths = getattr(settings, "JOB_STEP_EXTENSIONS", {}).get(kind, [])
    try:
        return tuple(import_string(path) for path in paths)
    except ImportError as exc:
        raise ImproperlyConfigured(f"JOB_STEP_EXTENSIONS[{kind!r}]: {exc}") from exc


@receiver(setting_changed)
def _reset_extensions(*, setting, **kwargs):
    if setting == "JOB_STEP_EXTENSIONS":
        _extensions.cache_clear()


def job_plan(kind: JobKind, parameters: dict) -> list[Step]:
    """The steps of a run: the kind's own, then those settings.JOB_STEP_EXTENSIONS appends to the kind.

    JOB_STEP_EXTENSIONS maps a kind to dotted paths of functions ``steps(parameters) -> list[Step]``:
    how the project composes an upper app's step after a lower app's job (settlement instructions after
    netting) without the lower app importing the upper one.
    """
    steps = list(kind.plan(parameters))
    for extension in _extensions(kind.name):
        steps.extend(extension(parameters))
    return steps
