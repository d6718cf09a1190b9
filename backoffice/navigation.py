"""The dashboard navigation: one registry of sections and entries, filtered per request.

Each entry names a URL. An entry whose URL does not reverse (its app has not registered the page
yet) is left out, so a later issue adds a page by adding its entry here, never a placeholder.
"""

from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse

from backoffice.core import roles


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    # Empty: any signed-in user. Otherwise the user needs one of these roles (superusers see all).
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    title: str
    entries: list[Entry] = field(default_factory=list)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    active: bool


@dataclass(frozen=True)
class NavSection:
    title: str
    links: list[NavLink]


RECORDS_KEEPERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
ACCOUNTANTS = (roles.ACCOUNTING, roles.OPERATIONS, roles.COMPLIANCE)

# Later issues add their pages here (trades, clearing, settlements, accounting, compliance, records).
NAV = [
    Section("Overview", [
        Entry("Home", "home"),
    ]),
    Section("Trading", [
        Entry("Blotter", "records:trades"),
        Entry("Trade files", "records:trade-files", (roles.FRONT_OFFICE, roles.OPERATIONS)),
        Entry("Inventory", "records:inventory"),
    ]),
    Section("Clearing", [
        Entry("Confirmations", "clearing:confirmations", RECORDS_KEEPERS),
        Entry("Breaks", "clearing:breaks", RECORDS_KEEPERS),
        Entry("Clearing runs", "clearing:runs", RECORDS_KEEPERS),
        Entry("Obligations", "clearing:obligations", RECORDS_KEEPERS),
    ]),
    Section("Settlements", [
        Entry("Settlement queue", "settlements:instructions", RECORDS_KEEPERS),
        Entry("Settlement runs", "settlements:runs", RECORDS_KEEPERS),
        Entry("Fails", "settlements:fails", RECORDS_KEEPERS),
        Entry("Standing instructions", "settlements:ssis", RECORDS_KEEPERS),
    ]),
    Section("Accounting", [
        Entry("Trial balance", "accounting:trial-balance", ACCOUNTANTS),
        Entry("Ledger", "accounting:ledger", ACCOUNTANTS),
        Entry("Journal", "accounting:journal-entries", ACCOUNTANTS),
        Entry("P&L", "accounting:pnl", ACCOUNTANTS),
        Entry("Statements", "accounting:statements", ACCOUNTANTS),
        Entry("Reconciliation", "accounting:reconciliation", ACCOUNTANTS),
        Entry("Posting", "accounting:posting", ACCOUNTANTS),
        Entry("Chart of accounts", "accounting:chart", ACCOUNTANTS),
        Entry("Periods", "accounting:periods", ACCOUNTANTS),
    ]),
    Section("Compliance", [
        Entry("Alerts", "compliance:alerts", (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)),
        Entry("Daily summary", "compliance:summary", (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)),
        Entry("Rules", "compliance:rules", (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)),
        Entry("Restricted list", "compliance:restricted-list",
              (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)),
        Entry("Surveillance", "compliance:surveillance", (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)),
        Entry("Locates and borrows", "compliance:locates",
              (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING, roles.FRONT_OFFICE)),
        Entry("Penalty box", "compliance:penalty-box",
              (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING, roles.FRONT_OFFICE)),
    ]),
    Section("Books and records", [
        Entry("Positions", "records:positions"),
        Entry("Cash balances", "records:cash-balances"),
    ]),
    Section("Reference data", [
        Entry("Instruments", "records:instruments"),
        Entry("Accounts", "records:accounts"),
        Entry("Counterparties", "records:counterparties"),
        Entry("Prices", "records:prices"),
    ]),
    Section("Records", [
        Entry("Pending approvals", "records:approvals", roles=roles.ALL_ROLES),
        Entry("Audit trail", "records:audit", roles=(roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)),
        Entry("Retention and holds", "records:retention", roles=RECORDS_KEEPERS),
        Entry("Exports", "records:exports", roles=RECORDS_KEEPERS),
    ]),
    Section("Operations", [
        Entry("Batch jobs", "jobs", roles=RECORDS_KEEPERS),
        Entry("End of day", "eod:runs", roles=RECORDS_KEEPERS),
    ]),
]


def _reverse_or_none(url_name: str) -> str | None:
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def _active_url(path: str, urls: list[str]) -> str | None:
    """Return the URL of the entry the path belongs to: the longest one it starts with.

    "/" only matches itself, or every page would belong to Home.
    """
    matches = [url for url in urls if path == url or (url != "/" and path.startswith(url))]
    return max(matches, key=len, default=None)


def navigation_for(*, user, path: str, nav: list[Section] | None = None) -> list[NavSection]:
    """Return the sections and links the user may see, with the current page's link marked active.

    Sections left with no link are dropped.
    """
    visible = []
    for section in NAV if nav is None else nav:
        links = []
        for entry in section.entries:
            if entry.roles and not roles.user_has_role(user, *entry.roles):
                continue
            url = _reverse_or_none(entry.url_name)
            if url is not None:
                links.append((entry.label, url))
        if links:
            visible.append((section.title, links))
    active = _active_url(path, [url for _title, links in visible for _label, url in links])
    return [
        NavSection(title, [NavLink(label, url, url == active) for label, url in links])
        for title, links in visible
    ]
