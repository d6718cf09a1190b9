"""What the netting and settlement benchmarks share: LEIs, a fresh settlement date, the columns they COPY
into records_trade, and a process's peak RSS. Import after django.setup()."""

import resource
from datetime import date, timedelta
from pathlib import Path

from django.db import connection
from stdnum.iso7064 import mod_97_10

TRADE_COLUMNS = ("external_ref", "submitted_by_id", "account_id", "counterparty_id", "instrument_id", "side",
                 "quantity", "price", "currency", "trade_date", "settlement_date", "commission", "status",
                 "match_status", "version", "settled_quantity", "request_hash", "hold_reasons", "created_at",
                 "updated_at")


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM): unlike ru_maxrss, not inherited from the parent across exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def lei(stem: str, n: int) -> str:
    """A valid LEI: the 12-character stem, n in six digits, ISO 7064 check digits."""
    body = f"{stem}{n:06d}"
    return body + mod_97_10.calc_check_digits(body)


def fresh_settlement_date(first: date) -> date:
    """The first XNAS settlement day from `first` on with no trades settling: each run takes a date of its own."""
    from records.reference.models import Market
    from records.reference.services.calendar import is_settlement_day

    market = Market.objects.get(mic="XNAS")
    day = first
    with connection.cursor() as cursor:
        while True:
            if is_settlement_day(market=market, day=day):
                cursor.execute("SELECT 1 FROM records_trade WHERE settlement_date = %s LIMIT 1", [day])
                if cursor.fetchone() is None:
                    return day
            day += timedelta(days=1)
