"""The datastore's background jobs (huey): loading a large uploaded table file.

A task only wires a service to the queue: ``services.loads.run_queued_load`` does the work and
reports its progress to the cache, where every web server can read it
(``services.loads.load_progress``).
"""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from .services import loads


@db_task()
def run_load(
    token: str, user_id: int | None, resource_id: int, stored: str, filename: str, mode: str, quarantine: bool
) -> int | None:
    version = loads.run_queued_load(token, user_id, resource_id, stored, filename, mode, quarantine)
    return version.pk if version is not None else None
