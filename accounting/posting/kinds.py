"""The names of accounting's kinds of batch job (accounting/posting/services.py plans them)."""

POSTING = "accounting-posting"
MARK_TO_MARKET = "accounting-mark-to-market"
EOD = "accounting-eod"
KINDS = (POSTING, MARK_TO_MARKET, EOD)
