"""On PostgreSQL the nonce table is UNLOGGED: its rows bypass the write-ahead log, so the
insert every signed gateway call makes (in its own transaction) commits without waiting for a
WAL flush to disk. Nonces are only worth keeping for ``2 × GATEWAY_SIGNATURE_WINDOW`` seconds;
what an unlogged table gives up — its rows after a database crash (the table comes back empty)
and on streaming replicas (a promoted replica starts empty) — is the replay protection of the
requests signed in the last few minutes before such an event, the same trade-off as Redis
without an append-only file. SQLite has no such table kind: nothing to do there."""

from django.db import migrations


def _set(persistence: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            table = schema_editor.quote_name(apps.get_model("sharing", "UsedNonce")._meta.db_table)
            schema_editor.execute(f"ALTER TABLE {table} SET {persistence}")

    return run


class Migration(migrations.Migration):
    dependencies = [("sharing", "0002_alter_verificationrequest_status")]
    operations = [migrations.RunPython(_set("UNLOGGED"), _set("LOGGED"))]
