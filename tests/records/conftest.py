"""Fixtures of the records tests.

Each is defined next to the helpers of its sub-domain (helpers_<sub-domain>.py) or, for the dashboard pages,
in tests/pages.py, which tests/backoffice/ shares; importing them here offers them to every test module of
tests/records/. A name means one thing: the retention tests' firm and the export tests' export_book are not
the dashboard's `book`, and test_audit_coverage.py's walk_world is not the maker-checker tests' `world`.
"""

from tests.pages import book, operator, signed_in
from tests.records.helpers_admin import admin_signed_in, admin_web, web
from tests.records.helpers_approvals import world
from tests.records.helpers_exports import day, export_book
from tests.records.helpers_retention import clerk, firm, today
from tests.records.helpers_trades import amended, blotter, many_trades, oms, refdata

__all__ = [
    "admin_signed_in", "admin_web", "amended", "blotter", "book", "clerk", "day", "export_book", "firm", "many_trades",
    "oms", "operator", "refdata", "signed_in", "today", "web", "world",
]
