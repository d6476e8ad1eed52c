"""Browsing pages are ordered from the per-process facet table (``search._walk``), no longer
by the database walking this index."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_catalog_import")]
    operations = [migrations.RemoveIndex(model_name="searchentry", name="search_newest_idx")]
