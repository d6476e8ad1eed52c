"""The open platform's periodic jobs (huey). A task only wires a service to the queue; the
service decides who is told what, once."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .services import applications


@db_periodic_task(crontab(minute="15"))  # hourly: a reminder is sent once, whenever it first applies
def remind_due_applications() -> None:
    applications.remind_due_applications()
