"""Template filters of clearing's netting pages: ratios as percentages, durations as operations staff read them."""

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def percent(ratio):
    """A ratio (0.9512) as a percentage with one decimal ("95.1%"); empty for None."""
    if ratio is None or ratio == "":
        return ""
    value = (Decimal(ratio) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{value}%"


@register.filter
def duration(delta):
    """A timedelta as "4.2 s", "3 min 05 s" or "1 h 02 min"; empty for None."""
    if delta is None:
        return ""
    seconds = delta.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {second:02d} s"
    hours, minute = divmod(minutes, 60)
    return f"{hours} h {minute:02d} min"


@register.filter
def add_amounts(left, right):
    """The exact sum of two decimals (Django's add filter goes through int or float)."""
    if left is None or right is None:
        return None
    return Decimal(left) + Decimal(right)


@register.filter
def job_percent(job):
    """A job's completed share as "33%", rounded down: "100%" only once it has completed (as the jobs page)."""
    if job.status == "COMPLETED":
        return "100%"
    return f"{min(99, int(job.progress * 100))}%"


@register.filter
def job_chunks(job):
    """"9/27 chunks"; "waiting for a worker" before a worker has planned the run (as the jobs page)."""
    if job.chunks_total:
        return f"{job.chunks_done}/{job.chunks_total} chunks"
    return "waiting for a worker" if job.status == "QUEUED" else ""
