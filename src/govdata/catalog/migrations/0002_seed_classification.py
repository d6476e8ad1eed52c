"""The classification tree of the 2017 guide, with the 14 themes of Art. 19."""

from django.db import migrations

from govdata.catalog.seed import seed_classification


def seed(apps, schema_editor):
    seed_classification(apps.get_model("catalog", "Classification"))


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
