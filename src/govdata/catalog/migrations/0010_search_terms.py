"""The catalog's own term index (``search``'s "term index"), the same on both databases,
replaces SQLite FTS5 and PostgreSQL's tsvector: scoring every match in the database was what
made a broad word slow (#3). Filled from the existing search rows."""

from importlib import import_module

from django.db import migrations, models

fulltext = import_module("govdata.catalog.migrations.0004_fulltext")


def fill(apps, schema_editor):
    from govdata.catalog.search import build_terms

    SearchEntry = apps.get_model("catalog", "SearchEntry")
    SearchTerm = apps.get_model("catalog", "SearchTerm")
    terms = build_terms(SearchEntry.objects.values_list("id", "document").iterator(chunk_size=5000))
    SearchTerm.objects.bulk_create(
        (SearchTerm(word=word, level=level, rows=data) for word, level, data in terms), batch_size=1000
    )


def rebuild_fulltext(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("INSERT INTO catalog_search_fts(catalog_search_fts) VALUES ('rebuild')", params=None)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_drop_search_newest_index")]

    operations = [
        migrations.CreateModel(
            name="SearchTerm",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("word", models.CharField(max_length=100)),
                ("level", models.PositiveSmallIntegerField()),
                ("rows", models.BinaryField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("word", "level"), name="catalog_searchterm_word_level")
                ],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(
            fulltext._run({"sqlite": fulltext.SQLITE_BACKWARD, "postgresql": fulltext.POSTGRES_BACKWARD}),
            fulltext._run({"sqlite": fulltext.SQLITE_FORWARD, "postgresql": fulltext.POSTGRES_FORWARD}),
        ),
        migrations.RunPython(migrations.RunPython.noop, rebuild_fulltext),
    ]
