"""Sharing's periodic jobs (huey): deadline reminders of share requests and verifications. A
task only wires a service to the queue; the service decides who is told what, once."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .services import requests, verification


@db_periodic_task(crontab(minute="5"))  # hourly: a reminder is sent once, whenever it first applies
def remind_due_requests() -> None:
    requests.remind_due_requests()


@db_periodic_task(crontab(minute="10"))
def remind_due_verifications() -> None:
    verification.remind_due_verifications()
