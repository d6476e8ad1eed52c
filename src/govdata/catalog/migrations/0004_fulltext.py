"""Database-specific full-text structures for catalog_searchentry.document (jieba tokens)."""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE catalog_search_fts USING fts5("
    "document, content='catalog_searchentry', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER catalog_search_ai AFTER INSERT ON catalog_searchentry BEGIN "
    "INSERT INTO catalog_search_fts(rowid, document) VALUES (new.id, new.document); END",
    "CREATE TRIGGER catalog_search_ad AFTER DELETE ON catalog_searchentry BEGIN "
    "INSERT INTO catalog_search_fts(catalog_search_fts, rowid, document) VALUES ('delete', old.id, old.document); END",
    "CREATE TRIGGER catalog_search_au AFTER UPDATE ON catalog_searchentry BEGIN "
    "INSERT INTO catalog_search_fts(catalog_search_fts, rowid, document) VALUES ('delete', old.id, old.document); "
    "INSERT INTO catalog_search_fts(rowid, document) VALUES (new.id, new.document); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS catalog_search_au",
    "DROP TRIGGER IF EXISTS catalog_search_ad",
    "DROP TRIGGER IF EXISTS catalog_search_ai",
    "DROP TABLE IF EXISTS catalog_search_fts",
]
POSTGRES_FORWARD = [
    "ALTER TABLE catalog_searchentry ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', document)) STORED",
    "CREATE INDEX catalog_search_vector_gin ON catalog_searchentry USING GIN (search_vector)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS catalog_search_vector_gin",
    "ALTER TABLE catalog_searchentry DROP COLUMN IF EXISTS search_vector",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_search_entry")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
