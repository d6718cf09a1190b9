from django.db import migrations

# MIC, name, country, settlement calendar. Data, not code: admins add markets in the admin.
MARKETS = [
    ("XNYS", "New York Stock Exchange", "US", "DTC"),
    ("XNAS", "Nasdaq", "US", "DTC"),
    ("XLON", "London Stock Exchange", "GB", "CREST"),
    ("XETR", "Xetra (Deutsche Boerse)", "DE", "T2S"),
    ("XFRA", "Frankfurt Stock Exchange", "DE", "T2S"),
    ("XPAR", "Euronext Paris", "FR", "T2S"),
    ("XAMS", "Euronext Amsterdam", "NL", "T2S"),
    ("XBRU", "Euronext Brussels", "BE", "T2S"),
    ("XMIL", "Borsa Italiana", "IT", "T2S"),
    ("XMAD", "Bolsa de Madrid", "ES", "T2S"),
    ("XSWX", "SIX Swiss Exchange", "CH", "EXCHANGE"),
    ("XTSE", "Toronto Stock Exchange", "CA", "EXCHANGE"),
    ("XTKS", "Tokyo Stock Exchange", "JP", "EXCHANGE"),
    ("XHKG", "Hong Kong Exchanges", "HK", "EXCHANGE"),
]


def add_markets(apps, schema_editor):
    Market = apps.get_model("records", "Market")
    for mic, name, country, calendar in MARKETS:
        Market.objects.update_or_create(
            mic=mic, defaults={"name": name, "country": country, "settlement_calendar": calendar}
        )


class Migration(migrations.Migration):
    dependencies = [("records", "0001_initial")]
    operations = [migrations.RunPython(add_markets, migrations.RunPython.noop)]
