"""Every change to resources. This module: mount, submit, re-review, suspend (Art. 18).
Loads live in ``services.loads``, files in ``services.files``, interfaces in ``services.apis``:
one app, several rooms of the same kind, because the datastore's actions are many."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.catalog.models import CatalogEntry, DataItem
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import next_state
from govdata.notifications.services import notify
from govdata.orgs.permissions import check
from govdata.orgs.selectors import overseers_of

from .. import permissions as perm
from .. import tables
from ..freshness import all_stale
from ..models import Check, Mask, Resource, ResourceColumn

Status = Resource.Status

# The re-review workflow as data: (state, action) -> next state.
TRANSITIONS = {
    (Status.DRAFT, "submit"): Status.SUBMITTED,
    (Status.RETURNED, "submit"): Status.SUBMITTED,
    (Status.SUBMITTED, "publish"): Status.PUBLISHED,
    (Status.SUBMITTED, "return"): Status.RETURNED,
    (Status.PUBLISHED, "suspend"): Status.SUSPENDED,
    (Status.SUSPENDED, "resume"): Status.PUBLISHED,
}

CONTENT_HINTS = (
    (re.compile(r"身份(证)?号|证件号码|sfzh", re.I), Check.ID_NUMBER),
    (re.compile(r"统一社会信用代码|tyshxydm", re.I), Check.CREDIT_CODE),
    (re.compile(r"手机", re.I), Check.MOBILE),
)
_NAME_WORDS = re.compile(r"^(姓名|.*人姓名|xm)$", re.I)
_BANK_WORDS = re.compile(r"银行卡|银行账号|卡号", re.I)


def suggest_column(item: DataItem) -> tuple[str, str]:
    """A content check and a masking rule suggested by an item's name and code; the provider
    can change both."""
    text = f"{item.name} {item.code}"
    content = next((rule for pattern, rule in CONTENT_HINTS if pattern.search(text)), Check.NONE)
    mask = Mask.NONE
    if item.sensitive:
        if content in (Check.ID_NUMBER, Check.MOBILE):
            mask = Mask.ID_NUMBER if content == Check.ID_NUMBER else Mask.MOBILE
        elif _NAME_WORDS.search(item.name.strip()) or _NAME_WORDS.search(item.code):
            mask = Mask.NAME
        elif _BANK_WORDS.search(text):
            mask = Mask.BANK_CARD
    return content, mask


def _event(actor: Actor, action: str, resource: Resource, **details: Any) -> None:
    record(actor, f"datastore.resource.{action}", resource, department=resource.entry.provider, details=details)


@transaction.atomic
def mount(actor: Actor, entry: CatalogEntry, *, kind: str, name: str, description: str = "") -> Resource:
    """Register a resource under a published catalog entry; a table resource gets its typed
    SQL table, one column per data item of the published version."""
    check(actor, perm.can_mount, entry)
    problems = {}
    if entry.published is None:
        problems["entry"] = _("Data is mounted under a published catalog entry.")
    if kind not in Resource.Kind.values:
        problems["kind"] = _("Choose table, files or interface.")
    if not (name or "").strip():
        problems["name"] = _("This field is required.")
    if problems:
        raise ValidationError(problems)
    resource = Resource.objects.create(
        entry=entry,
        kind=kind,
        name=name.strip(),
        description=(description or "").strip(),
        created_by=actor.user,
        created_at=clock.now(),
    )
    if kind == Resource.Kind.TABLE:
        columns = []
        for item in entry.published.items.all():
            content, mask = suggest_column(item)
            columns.append(
                ResourceColumn(
                    resource=resource,
                    position=item.position,
                    name=item.name,
                    code=item.code.lower(),
                    data_type=item.data_type,
                    length=item.length,
                    required=item.required,
                    is_key=item.is_key,
                    sensitive=item.sensitive,
                    content_check=content,
                    mask=mask,
                )
            )
        ResourceColumn.objects.bulk_create(columns)
        tables.create(tables.table_for(resource.table_name, columns))
    _event(actor, "mount", resource, kind=kind, name=resource.name, entry=entry.code)
    return resource


@transaction.atomic
def set_column_rules(actor: Actor, column: ResourceColumn, *, check_rule: str, mask: str) -> ResourceColumn:
    check(actor, perm.can_load, column.resource)
    problems = {}
    if check_rule not in Check.values:
        problems["content_check"] = _("Unknown content check.")
    if mask not in Mask.values:
        problems["mask"] = _("Unknown masking rule.")
    if problems:
        raise ValidationError(problems)
    old = (column.content_check, column.mask)
    column.content_check, column.mask = check_rule, mask
    column.save(update_fields=["content_check", "mask"])
    _event(actor, "column_rules", column.resource, column=column.code, old=list(old), new=[check_rule, mask])
    return column


def _move(resource: Resource, action: str) -> None:
    resource.status = next_state(TRANSITIONS, resource.status, action)


@transaction.atomic
def submit(actor: Actor, resource: Resource) -> Resource:
    check(actor, perm.can_submit, resource)
    _move(resource, "submit")
    resource.submitted_at, resource.return_reason = clock.now(), ""
    resource.save(update_fields=["status", "submitted_at", "return_reason"])
    _event(actor, "submit", resource)
    notify(
        subject=_("Resource submitted for re-review: %(name)s") % {"name": resource.name},
        body=f"{resource.entry.provider} · {resource.entry.code}",
        link=f"/datastore/resources/{resource.pk}/",
        category="datastore.review",
        users=overseers_of(resource.entry.provider).filter(roles__role="bureau_admin"),
    )
    return resource


def _decide(actor: Actor, resource: Resource, action: str, reason: str = "") -> Resource:
    check(actor, perm.can_review, resource)
    if action in ("return", "suspend") and not (reason or "").strip():
        raise ValidationError({"reason": _("Say why.")})
    _move(resource, action)
    if action in ("publish", "return"):
        resource.reviewed_by, resource.reviewed_at = actor.user, clock.now()
    if action == "return":
        resource.return_reason = reason.strip()
    if action == "suspend":
        resource.suspend_reason = reason.strip()
    # Only the workflow's fields: a load may have changed the row count meanwhile.
    resource.save(update_fields=["status", "reviewed_by", "reviewed_at", "return_reason", "suspend_reason"])
    _event(actor, action, resource, reason=reason.strip())
    notify(
        subject=_("Resource %(name)s: %(status)s") % {"name": resource.name, "status": resource.get_status_display()},
        body=reason.strip(),
        link=f"/datastore/resources/{resource.pk}/",
        category=f"datastore.{action}",
        departments=[resource.entry.provider],
    )
    return resource


@transaction.atomic
def publish(actor: Actor, resource: Resource) -> Resource:
    return _decide(actor, resource, "publish")


@transaction.atomic
def return_resource(actor: Actor, resource: Resource, reason: str) -> Resource:
    return _decide(actor, resource, "return", reason)


@transaction.atomic
def suspend(actor: Actor, resource: Resource, reason: str) -> Resource:
    return _decide(actor, resource, "suspend", reason)


@transaction.atomic
def resume(actor: Actor, resource: Resource) -> Resource:
    return _decide(actor, resource, "resume")


def flag_stale_resources() -> list[Resource]:
    """Tell each provider about its published tables that missed their update cycle (R-21.1),
    once per missed due date; the bureau reads the same list from ``freshness``. The body of a
    daily job."""
    flagged = []
    for fresh in all_stale():
        resource = fresh.resource
        if resource.stale_notice_for == fresh.next_due:
            continue
        with transaction.atomic():
            Resource.objects.filter(pk=resource.pk).update(stale_notice_for=fresh.next_due)
            resource.stale_notice_for = fresh.next_due
            record(
                Actor.platform(),
                "datastore.resource.stale",
                resource,
                department=resource.entry.provider,
                details={"due": fresh.next_due.isoformat()},
            )
            notify(
                subject=_("Data overdue: %(name)s") % {"name": resource.name},
                body=_("The next load was due by %(due)s under the update cycle of the catalog entry.")
                % {"due": fresh.next_due.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M")},
                link=f"/datastore/resources/{resource.pk}/",
                category="datastore.stale",
                departments=[resource.entry.provider],
            )
        flagged.append(resource)
    return flagged
