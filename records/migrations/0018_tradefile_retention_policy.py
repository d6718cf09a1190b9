from django.db import migrations

# A trade file is a communication received from the front office, and its per-row report the answer
# sent back: SEC Rule 17a-4(b)(4), three years. The trades booked from it are blotter records kept six
# years under 17a-4(a) as records.trade, whatever becomes of the file.
RULE = "SEC Rule 17a-4(b)(4): three years (the file received and the per-row report sent)"


def add_policy(apps, schema_editor):
    RetentionPolicy = apps.get_model("records", "RetentionPolicy")
    RetentionPolicy.objects.get_or_create(record_type="records.tradefile",
                                          defaults={"retention_years": 3, "rule": RULE})


def remove_policy(apps, schema_editor):
    apps.get_model("records", "RetentionPolicy").objects.filter(record_type="records.tradefile").delete()


class Migration(migrations.Migration):
    dependencies = [("records", "0017_trade_hot_updates")]
    operations = [migrations.RunPython(add_policy, remove_policy)]
