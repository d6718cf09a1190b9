"""Seed the price tolerances of confirmation matching per asset class (editable in the admin)."""

from decimal import Decimal

from django.db import migrations

# Basis points of our price. Equities and funds trade in cents on prices of tens to hundreds, so one
# basis point absorbs a counterparty's rounding of an average price; bonds are quoted to 1/256 of a point.
TOLERANCES = {
    "EQUITY": Decimal("1"),
    "ETF": Decimal("1"),
    "GOVT_BOND": Decimal("0.5"),
    "CORP_BOND": Decimal("1"),
    "FUND": Decimal("0"),
}


def seed(apps, schema_editor):
    MatchTolerance = apps.get_model("clearing", "MatchTolerance")
    for asset_class, bps in TOLERANCES.items():
        MatchTolerance.objects.get_or_create(asset_class=asset_class, defaults={"price_tolerance_bps": bps})


class Migration(migrations.Migration):
    dependencies = [("clearing", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
