"""The catalog's background jobs (huey): the offline batch import (R-13.2), and the daily
removal of old import files.

A task only wires a service to the queue: ``services.run_import`` does the work, and the
progress it reports goes to the cache, where every web server can read it
(``selectors.import_progress``).
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import services
from .selectors import PROGRESS_TTL, progress_key

logger = logging.getLogger(__name__)


def cache_progress(import_id: int) -> services.Progress:
    key = progress_key(import_id)

    def write(phase: str, done: int, total: int) -> None:
        try:
            cache.set(key, {"phase": phase, "done": done, "total": total, "at": time.time()}, PROGRESS_TTL)
        except Exception:  # progress is a courtesy: never let it stop an import
            logger.warning("catalog import %s: progress not written", import_id, exc_info=True)

    return write


@db_task()
def run_catalog_import(import_id: int) -> None:
    services.run_import(import_id, progress=cache_progress(import_id))


@db_periodic_task(crontab(hour="19", minute="17"))  # huey's clock is UTC: 03:17 in Yingkou
def prune_catalog_import_files() -> None:
    removed = services.prune_import_files()
    if removed:
        logger.info("catalog imports: removed the files of %d old imports", removed)
