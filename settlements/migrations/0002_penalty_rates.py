"""Seed the CSDR cash penalty rates (editable reference data; each row names its source).

Securities: the daily rates of the Annex to Commission Delegated Regulation (EU) 2017/389, as amended by
Commission Delegated Regulation (EU) 2021/70 (in force 1 February 2022), applied to the reference value
of the instruments not delivered: liquid shares 1.0 bp, illiquid shares 0.5 bp, sovereign debt 0.10 bp,
other debt 0.20 bp, all other financial instruments (ETFs, funds) 0.5 bp. Our instruments do not say
whether a share is liquid (ESMA's liquidity assessment under MiFIR), so shares take the liquid rate.
Cash: point (2) of the Annex: the official interest rate for overnight credit of the central bank of
the settlement currency, floored at zero, per day (/365): the ECB's marginal lending facility rate,
2.40% from 11 June 2025, as the default for every currency until a rate per currency is kept.
"""

import datetime as dt
from decimal import Decimal

from django.db import migrations

SECURITIES_SOURCE = "Delegated Regulation (EU) 2017/389 Annex, as amended by (EU) 2021/70"
CASH_SOURCE = "Delegated Regulation (EU) 2017/389 Annex point 2: ECB marginal lending rate 2.40% / 365"
EFFECTIVE = dt.date(2022, 2, 1)
BP = Decimal("0.0001")
SECURITIES = {"EQUITY": Decimal("1.0") * BP, "ETF": Decimal("0.5") * BP, "FUND": Decimal("0.5") * BP,
              "GOVT_BOND": Decimal("0.10") * BP, "CORP_BOND": Decimal("0.20") * BP}
CASH = (Decimal("0.024") / 365).quantize(Decimal("1E-10"))


def seed(apps, schema_editor):
    PenaltyRate = apps.get_model("settlements", "PenaltyRate")
    for asset_class, rate in SECURITIES.items():
        PenaltyRate.objects.get_or_create(asset_class=asset_class, fail_type="SECURITIES", effective_from=EFFECTIVE,
                                          defaults={"rate": rate, "source": SECURITIES_SOURCE})
        PenaltyRate.objects.get_or_create(asset_class=asset_class, fail_type="CASH", effective_from=EFFECTIVE,
                                          defaults={"rate": CASH, "source": CASH_SOURCE})


class Migration(migrations.Migration):
    dependencies = [("settlements", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
