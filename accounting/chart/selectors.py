"""Reads of the chart of accounts: the accounts, their roles, the chart as a tree with its figures."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from accounting.models import DayTotal, GLAccount, JournalLine
from accounting.posting.rules import RULES

# A leg whose account is not a role (FX revaluation posts to each monetary account in turn).
_NOT_A_ROLE = "*monetary account*"


def rule_roles() -> frozenset[str]:
    """The roles the posting rules post to (accounting/posting/rules.py)."""
    return frozenset({leg.debit for leg in RULES} | {leg.credit for leg in RULES}) - {_NOT_A_ROLE}


def assignable_roles() -> list[str]:
    """The roles an account may take: those the rules post to, and those the chart already holds (seeded ones
    that the rules do not name yet, e.g. RETAINED_EARNINGS), sorted."""
    held = set(GLAccount.objects.exclude(role=None).values_list("role", flat=True))
    return sorted(rule_roles() | held)


def gl_account_list(*, type: str | None = None, search: str | None = None, role: str | None = None,
                    is_active: bool | None = None) -> QuerySet[GLAccount]:
    """Accounts by code; search matches part of the code or name, case-insensitively."""
    rows = GLAccount.objects.select_related("parent").order_by("code")
    if type:
        rows = rows.filter(type=type)
    if search:
        rows = rows.filter(Q(code__icontains=search) | Q(name__icontains=search))
    if role:
        rows = rows.filter(role=role)
    if is_active is not None:
        rows = rows.filter(is_active=is_active)
    return rows


def gl_account_get(code: str) -> GLAccount | None:
    # A NUL cannot be in a code, and PostgreSQL refuses it in a text parameter.
    if not isinstance(code, str) or "\x00" in code:
        return None
    return GLAccount.objects.select_related("parent").filter(code=code).first()


def gl_accounts_by_code(codes) -> dict[str, GLAccount]:
    wanted = {code for code in codes if isinstance(code, str) and "\x00" not in code}
    return {account.code: account for account in GLAccount.objects.filter(code__in=wanted)}


def gl_account_has_lines(account: GLAccount) -> bool:
    return JournalLine.objects.filter(gl_account=account).exists()


def gl_account_has_children(account: GLAccount) -> bool:
    return GLAccount.objects.filter(parent=account).exists()


def gl_accounts_with_children(accounts) -> set[int]:
    """The ids of those of the accounts that are headings (have sub-accounts)."""
    ids = [account.pk for account in accounts]
    return set(GLAccount.objects.filter(parent_id__in=ids).values_list("parent_id", flat=True).distinct())


def gl_account_figures(account_ids=None) -> dict[int, tuple[int, Decimal]]:
    """{GL account id: (number of lines, base balance debit positive)}, of the given accounts or of all."""
    totals = DayTotal.objects.all()  # the lines' day totals: the same sums, a small table
    if account_ids is not None:
        totals = totals.filter(gl_account_id__in=list(account_ids))
    return {row["gl_account_id"]: (row["n"], row["balance"] or Decimal(0))
            for row in totals.values("gl_account_id").order_by().annotate(n=Sum("lines"),
                                                                           balance=Sum("base_amount"))}


@dataclass
class ChartRow:
    """One account of the chart tree: its depth, its own lines and balance, and the balance of its subtree."""

    account: GLAccount
    depth: int
    lines: int
    balance: Decimal
    subtree_balance: Decimal
    has_children: bool


def chart_tree() -> list[ChartRow]:
    """The chart depth first by code (each account under its parent), with each account's lines and base balance
    (debit positive) and the balance of its subtree. Two queries, whatever the size of the ledger's chart."""
    accounts = list(GLAccount.objects.order_by("code"))
    figures = gl_account_figures()
    children: dict[int | None, list[GLAccount]] = {}
    for account in accounts:
        children.setdefault(account.parent_id, []).append(account)
    rows: list[ChartRow] = []

    def walk(account: GLAccount, depth: int, seen: frozenset) -> Decimal:
        lines, balance = figures.get(account.pk, (0, Decimal(0)))
        row = ChartRow(account, depth, lines, balance, balance, bool(children.get(account.pk)))
        rows.append(row)
        for child in children.get(account.pk, []):
            if child.pk not in seen:  # a cycle cannot be saved (validators), but never loop on one
                row.subtree_balance += walk(child, depth + 1, seen | {child.pk})
        return row.subtree_balance

    for root in children.get(None, []):
        walk(root, 0, frozenset({root.pk}))
    return rows
