"""The chart of accounts the posting rules need (accounting/posting/rules.py), seeded once.

Codes follow the usual numbering (1 assets, 2 liabilities, 3 equity, 4 revenue, 5 expenses);
admins add accounts and rename them in the admin, under maker-checker.
"""

from django.db import migrations

# (code, name, type, parent code, role, monetary)
CHART = [
    ("1000", "Assets", "ASSET", None, None, True),
    ("1100", "Cash at banks and depositories", "ASSET", "1000", "CASH", True),
    ("1200", "Receivable for securities sold", "ASSET", "1000", "RECEIVABLE_SALES", True),
    ("1220", "Net settlement obligations with counterparties", "ASSET", "1000", "NET_OBLIGATIONS", True),
    ("1250", "Fail penalties receivable", "ASSET", "1000", "PENALTIES_RECEIVABLE", True),
    ("1300", "Investments at cost", "ASSET", "1000", "INVESTMENTS", False),
    ("1310", "Investments valuation adjustment", "ASSET", "1000", "VALUATION", False),
    ("2000", "Liabilities", "LIABILITY", None, None, True),
    ("2100", "Payable for securities purchased", "LIABILITY", "2000", "PAYABLE_PURCHASES", True),
    ("2150", "Commissions payable", "LIABILITY", "2000", "COMMISSIONS_PAYABLE", True),
    ("2200", "Fail penalties payable", "LIABILITY", "2000", "PENALTIES_PAYABLE", True),
    ("2300", "Account holders' cash", "LIABILITY", "2000", "ACCOUNT_FUNDS", True),
    ("3000", "Equity", "EQUITY", None, None, False),
    ("3100", "Securities contributed by account holders", "EQUITY", "3000", "SECURITIES_CONTRIBUTED", False),
    ("3200", "Retained earnings", "EQUITY", "3000", "RETAINED_EARNINGS", False),
    ("4000", "Revenue and trading gains", "REVENUE", None, None, False),
    ("4100", "Realized gain or loss on investments", "REVENUE", "4000", "REALIZED_PNL", False),
    ("4200", "Unrealized gain or loss on investments", "REVENUE", "4000", "UNREALIZED_PNL", False),
    ("4300", "Fail penalty income", "REVENUE", "4000", "PENALTY_INCOME", False),
    ("4400", "FX revaluation gain or loss", "REVENUE", "4000", "FX_REVALUATION", False),
    ("4500", "Settlement rounding differences", "REVENUE", "4000", "SETTLEMENT_DIFFERENCES", False),
    ("5000", "Expenses", "EXPENSE", None, None, False),
    ("5100", "Commission expense", "EXPENSE", "5000", "COMMISSION_EXPENSE", False),
    ("5200", "Fail penalty expense", "EXPENSE", "5000", "PENALTY_EXPENSE", False),
]


def seed(apps, schema_editor):
    GLAccount = apps.get_model("accounting", "GLAccount")
    by_code = {}
    for code, name, type_, parent, role, monetary in CHART:
        account, _ = GLAccount.objects.get_or_create(
            code=code, defaults={"name": name, "type": type_, "parent": by_code.get(parent), "role": role,
                                 "is_monetary": monetary})
        by_code[code] = account


class Migration(migrations.Migration):
    dependencies = [("accounting", "0002_ledger_guards")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
