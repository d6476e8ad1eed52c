"""The datastore's background jobs (huey): loading a large uploaded table file, and the
periodic checks — upper-level feeds (R-26.1), interface health probes, stale data (R-21.1).

A task only wires a service to the queue: ``services.loads.run_queued_load`` does the work and
reports its progress to the cache, where every web server can read it
(``services.loads.load_progress``).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import services
from .services import apis, feeds, loads

logger = logging.getLogger(__name__)


@db_task()
def run_load(
    token: str, user_id: int | None, resource_id: int, stored: str, filename: str, mode: str, quarantine: bool
) -> int | None:
    version = loads.run_queued_load(token, user_id, resource_id, stored, filename, mode, quarantine)
    return version.pk if version is not None else None


@db_periodic_task(crontab(minute="*/15"))
def run_due_feeds() -> None:
    # Every quarter hour; each feed is fetched at most hourly (run_due_feeds' own interval).
    versions = feeds.run_due_feeds()
    if versions:
        logger.info("upstream feeds: %d checked", len(versions))


@db_periodic_task(crontab(minute="7"))
def probe_interfaces() -> None:
    results = apis.probe_all()
    failing = [pk for pk, result in results.items() if not result.ok]
    if failing:
        logger.warning("interface probes failing for resources %s", failing)


@db_periodic_task(crontab(hour="0", minute="30"))  # huey's clock is UTC: 08:30 in Yingkou
def flag_stale_resources() -> None:
    services.flag_stale_resources()
