"""Verification of shared data (校核, R-23, Art. 23): a consumer challenges one value of a
record, on its own account or on behalf of a citizen or organisation, who is never sent to the
provider (R-23.2); the provider answers within 5 working days — confirmed correct, or corrected
by a new data version of the table linked to the request (R-23.1); and where a citizen presents
valid proof the consumer records an override and proceeds with that value (R-23.3).

A bureau decision in a dispute (R-27.1) may order a correction after the provider's answer:
the request then waits for the provider's correction again, with a new 5-working-day deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import next_state
from govdata.datastore import query
from govdata.datastore.models import DataVersion, Resource
from govdata.datastore.services import files, loads
from govdata.notifications.services import notify
from govdata.orgs.permissions import check
from govdata.workdays.calendar import deadline, local_date

from .. import permissions as perm
from ..models import Evidence, Override, VerificationRequest
from .requests import remind_due

Status = VerificationRequest.Status
ANSWER_WORKING_DAYS = 5  # Art. 23
MAX_EVIDENCE_FILES = 10
EVIDENCE_FOLDER = "sharing/evidence"

TRANSITIONS = {
    (Status.SUBMITTED, "confirm"): Status.CONFIRMED,
    (Status.SUBMITTED, "correct"): Status.CORRECTED,
    # A bureau decision orders a correction the provider's answer did not make.
    (Status.CONFIRMED, "order"): Status.ORDERED,
    (Status.CORRECTED, "order"): Status.ORDERED,
    (Status.ORDERED, "correct"): Status.CORRECTED,
}
PENDING = (Status.SUBMITTED, Status.ORDERED)  # waiting for the provider


def _link(verification: VerificationRequest) -> str:
    return f"/sharing/verifications/{verification.pk}/"


def _title(verification: VerificationRequest) -> str:
    return f"{verification.resource.name} · {verification.item}"


# --- the record challenged ----------------------------------------------------------------------


def _columns(resource: Resource) -> dict[str, query.ColumnSpec]:
    if resource.kind != Resource.Kind.TABLE:
        raise ValidationError({"resource": _("Only the records of table resources can be verified.")})
    return {column.code: column for column in query.columns_of(resource)}


def _clean_key(columns: dict[str, query.ColumnSpec], key: Any) -> dict[str, str]:
    """``key`` as {key column code: text}, naming exactly the table's key items."""
    key_codes = [code for code, column in columns.items() if column.is_key]
    if not key_codes:
        raise ValidationError({"key": _("This table has no key items, so its records cannot be named.")})
    expected = _("Name the record by its key items: %(codes)s.") % {"codes": ", ".join(key_codes)}
    if not isinstance(key, dict):
        raise ValidationError({"key": expected})
    given = {str(code).strip().lower(): "" if value is None else str(value).strip() for code, value in key.items()}
    if set(given) != set(key_codes) or not all(given.values()):
        raise ValidationError({"key": expected})
    return {code: given[code] for code in key_codes}


def _row(resource: Resource, key: dict[str, str], projection: Any) -> dict[str, Any]:
    """The record with ``key``, read by the query engine within ``projection`` (so a consumer
    cannot name a record by items it may not read), unmasked: it is the value on record that
    is challenged."""
    try:
        result = query.run(
            resource,
            query.Query(
                projection=projection,
                masked=False,
                filters=[query.Filter(code, "eq", value) for code, value in key.items()],
                limit=1,
            ),
        )
    except query.QueryError as exc:
        raise ValidationError({"key": exc.messages}) from None
    if not result.rows:
        raise ValidationError({"key": _("No record of this table has this key.")})
    return result.rows[0]


def _locate(
    resource: Resource, key: Any, item: str, readable: frozenset[str] | None
) -> tuple[query.ColumnSpec, dict[str, str], dict[str, Any]]:
    """The item's column, the cleaned key and the record, for a consumer that may read the
    ``readable`` items (None: all)."""
    columns = _columns(resource)
    code = (item or "").strip().lower()
    if code not in columns:
        raise ValidationError({"item": _("Choose a data item of this table.")})
    if readable is not None and code not in readable:
        raise ValidationError({"item": _("Your department may not read this data item.")})
    key = _clean_key(columns, key)
    row = _row(resource, key, query.ALL if readable is None else readable)
    return columns[code], key, row


def _differs(column: query.ColumnSpec, text: str, field: str, row: dict[str, Any]) -> str:
    """``text`` (required, of the column's type) when it differs from the value on record."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: _("This field is required.")})
    if query.coerce(column, text, field) == row[column.code]:
        raise ValidationError({field: _("This is the value on record.")})
    return text


def _as_text(column: query.ColumnSpec, value: Any) -> str:
    return query.as_text(column.data_type, value) or ""


# --- evidence files -----------------------------------------------------------------------------


@contextmanager
def _evidence(uploads: Sequence[Any]) -> Iterator[list[tuple[str, files.Incoming, str]]]:
    """Each evidence file (an ``UploadedFile`` or a named binary file) checked by content and
    size like a file resource's, and kept in storage for the duration of the database write;
    all are deleted again if the write fails."""
    uploads = list(uploads or ())
    if len(uploads) > MAX_EVIDENCE_FILES:
        raise ValidationError({"evidence": _("At most %(n)d evidence files.") % {"n": MAX_EVIDENCE_FILES}})
    with ExitStack() as stack:
        kept = []
        for upload in uploads:
            raw_name = getattr(upload, "name", "") or ""
            try:
                name = files.clean_name(raw_name)
                incoming = stack.enter_context(files.spool(upload, name))
            except ValidationError as exc:
                problem = "; ".join(exc.messages)
                raise ValidationError({"evidence": f"{raw_name}: {problem}"}) from None
            kept.append((name, incoming, stack.enter_context(files.stored(incoming, EVIDENCE_FOLDER))))
        yield kept


def _attach(actor: Actor, kept: list[tuple[str, files.Incoming, str]], **owner: Any) -> list[dict[str, Any]]:
    """Evidence rows for the stored files; their names and digests for the audit event."""
    now = clock.now()
    Evidence.objects.bulk_create(
        Evidence(
            name=name,
            storage_name=storage_name,
            content_type=incoming.file_type.content_type,
            size=incoming.size,
            sm3=incoming.sm3,
            uploaded_by=actor.user,
            uploaded_at=now,
            **owner,
        )
        for name, incoming, storage_name in kept
    )
    return [{"name": name, "sm3": incoming.sm3, "size": incoming.size} for name, incoming, _s in kept]


def _clean_on_behalf(name: str, holder_id: str) -> tuple[str, str]:
    """Both or neither: the citizen or organisation (R-23.2) and their ID number or credit code."""
    name, holder_id = (name or "").strip(), (holder_id or "").strip().upper()
    problems = {}
    if holder_id and not name:
        problems["on_behalf_name"] = _("Name the person or organisation the request is made for.")
    if name and not holder_id:
        problems["on_behalf_id"] = _("Enter their ID number or unified social credit code.")
    elif holder_id and (problem := files.holder_id_problem(holder_id)):
        problems["on_behalf_id"] = problem
    limit = VerificationRequest._meta.get_field("on_behalf_name").max_length
    if len(name) > limit:
        problems["on_behalf_name"] = _("At most %(n)d characters.") % {"n": limit}
    if problems:
        raise ValidationError(problems)
    return name, holder_id


# --- actions ----------------------------------------------------------------------------------


def file_verification(
    actor: Actor,
    resource: Resource,
    *,
    key: dict[str, Any],
    item: str,
    claimed_value: str,
    explanation: str = "",
    on_behalf_name: str = "",
    on_behalf_id: str = "",
    evidence: Sequence[Any] = (),
) -> VerificationRequest:
    """Challenge the value of ``item`` in the record with ``key`` of a table the consumer's
    department can read. Receipt is now: the answer is due by the end of the 5th working day
    after today (``workdays``)."""
    check(actor, perm.can_verify, resource)
    readable = perm.decide_for_user(actor.user, resource).items
    column, key, row = _locate(resource, key, item, readable)
    claimed = _differs(column, claimed_value, "claimed_value", row)
    on_behalf_name, on_behalf_id = _clean_on_behalf(on_behalf_name, on_behalf_id)
    # The stored files are deleted again if the rows below do not commit.
    with _evidence(evidence) as kept, transaction.atomic():
        now = clock.now()
        verification = VerificationRequest.objects.create(
            resource=resource,
            consumer_id=actor.user.department_id,
            provider=resource.entry.provider,
            key=key,
            item=column.code,
            recorded_value=_as_text(column, row[column.code]),
            claimed_value=claimed,
            explanation=(explanation or "").strip(),
            on_behalf_name=on_behalf_name,
            on_behalf_id=on_behalf_id,
            requested_by=actor.user,
            received_at=now,
            due_at=deadline(now, ANSWER_WORKING_DAYS).due,
        )
        attached = _attach(actor, kept, verification=verification)
        record(
            actor,
            "sharing.verification.file",
            verification,
            department=verification.consumer,
            details={
                "resource": resource.pk,
                "key": key,
                "item": column.code,
                "claimed": claimed,
                "on_behalf": bool(on_behalf_id),
                "evidence": attached,
            },
        )
        notify(
            subject=_("Verification request on %(title)s from %(consumer)s")
            % {"title": _title(verification), "consumer": verification.consumer},
            body=_("Answer by %(due)s.") % {"due": local_date(verification.due_at).isoformat()},
            link=_link(verification),
            category="sharing.verification",
            departments=[verification.provider],
        )
    return verification


def _locked(verification: VerificationRequest) -> VerificationRequest:
    return VerificationRequest.objects.select_for_update(of=("self",)).select_related("resource__entry").get(pk=verification.pk)


def _answer(actor: Actor, verification: VerificationRequest, action: str, answer: str) -> None:
    check(actor, perm.can_answer_verification, verification)
    verification.status = next_state(TRANSITIONS, verification.status, action)
    if not (answer or "").strip():
        raise ValidationError({"answer": _("Tell the consumer what was verified.")})
    verification.answer = answer.strip()
    verification.answered_at, verification.answered_by = clock.now(), actor.user


def _tell_consumer(verification: VerificationRequest, subject: str) -> None:
    notify(
        subject=subject % {"title": _title(verification)},
        body=verification.answer,
        link=_link(verification),
        category=f"sharing.verification.{verification.status}",
        departments=[verification.consumer],
    )


@transaction.atomic
def confirm_correct(actor: Actor, verification: VerificationRequest, answer: str) -> VerificationRequest:
    """The record is right: say how it was verified."""
    verification = _locked(verification)
    _answer(actor, verification, "confirm", answer)
    verification.save()
    record(
        actor,
        "sharing.verification.confirm",
        verification,
        department=verification.provider,
        details={"answer": verification.answer},
    )
    _tell_consumer(verification, _("Verified and confirmed correct: %(title)s"))
    return verification


@transaction.atomic
def correct(
    actor: Actor, verification: VerificationRequest, answer: str, value: str | None = None
) -> VerificationRequest:
    """The record was wrong: ``value`` (by default the value the consumer claimed) replaces it
    through the datastore's load service — the whole record upserted by its key, so it is
    validated like any load and becomes a new data version, linked from the request."""
    verification = _locked(verification)
    _answer(actor, verification, "correct", answer)
    resource = verification.resource
    columns = _columns(resource)
    column = columns[verification.item]
    row = _row(resource, verification.key, query.ALL)  # as it is now, not as it was when filed
    new = _differs(column, verification.claimed_value if value is None else str(value), "value", row)
    corrected = {code: query.as_text(columns[code].data_type, current) for code, current in row.items()}
    corrected[column.code] = new
    version = loads.push_rows(actor, resource, [corrected], mode=DataVersion.Mode.UPSERT)
    if version.status != DataVersion.Status.DONE:
        # Raising rolls back the refused version too: the table and the request stay as they were.
        reasons = [f"{problem['column']}: {problem['reason']}" for problem in version.report] or [version.message]
        raise ValidationError({"value": reasons})
    verification.correction = version
    verification.save()
    record(
        actor,
        "sharing.verification.correct",
        verification,
        department=verification.provider,
        details={
            "answer": verification.answer,
            "key": verification.key,
            "item": column.code,
            "old": _as_text(column, row[column.code]),
            "new": new,
            "version": version.number,
        },
    )
    _tell_consumer(verification, _("Verified and corrected: %(title)s"))
    return verification


@transaction.atomic
def order_correction(actor: Actor, verification: VerificationRequest, *, order: str) -> VerificationRequest:
    """The bureau's decision in a dispute orders the provider to correct the record (R-27.1):
    the request waits for ``correct`` again, due 5 working days from the order."""
    check(actor, perm.can_mediate)
    verification = _locked(verification)
    verification.status = next_state(TRANSITIONS, verification.status, "order")
    if not (order or "").strip():
        raise ValidationError({"decision": _("This field is required.")})
    now = clock.now()
    verification.due_at, verification.reminded = deadline(now, ANSWER_WORKING_DAYS).due, []
    verification.save()
    record(
        actor,
        "sharing.verification.order",
        verification,
        department=verification.provider,
        details={"order": order.strip(), "due": verification.due_at.isoformat()},
    )
    notify(
        subject=_("Correction ordered by the bureau: %(title)s") % {"title": _title(verification)},
        body=_("%(order)s\nCorrect the record by %(due)s.")
        % {"order": order.strip(), "due": local_date(verification.due_at).isoformat()},
        link=_link(verification),
        category="sharing.verification.order",
        departments=[verification.provider],
    )
    return verification


def record_override(
    actor: Actor,
    resource: Resource,
    *,
    key: dict[str, Any],
    item: str,
    value_used: str,
    proof: str,
    verification: VerificationRequest | None = None,
    evidence: Sequence[Any] = (),
) -> Override:
    """A citizen presented valid proof that the record is wrong: the consumer proceeds with
    ``value_used`` rather than refuse over the mismatch (R-23.3). The proof is described (and
    may be attached), the override audited and the provider told."""
    check(actor, perm.can_verify, resource)
    readable = perm.decide_for_user(actor.user, resource).items
    column, key, row = _locate(resource, key, item, readable)
    value_used = _differs(column, value_used, "value_used", row)
    problems = {}
    if not (proof or "").strip():
        problems["proof"] = _("Describe the proof presented.")
    if verification is not None and (
        verification.consumer_id != actor.user.department_id
        or verification.resource_id != resource.pk
        or verification.key != key
        or verification.item != column.code
    ):
        problems["verification"] = _("Choose your department's verification request on this record and item.")
    if problems:
        raise ValidationError(problems)
    with _evidence(evidence) as kept, transaction.atomic():
        override = Override.objects.create(
            verification=verification,
            resource=resource,
            consumer_id=actor.user.department_id,
            key=key,
            item=column.code,
            value_used=value_used,
            proof=proof.strip(),
            recorded_by=actor.user,
            recorded_at=clock.now(),
        )
        attached = _attach(actor, kept, override=override)
        record(
            actor,
            "sharing.override.record",
            override,
            department=override.consumer,
            details={
                "resource": resource.pk,
                "key": key,
                "item": column.code,
                "recorded": _as_text(column, row[column.code]),
                "value_used": value_used,
                "proof": override.proof,
                "verification": verification.pk if verification is not None else None,
                "evidence": attached,
            },
        )
        notify(
            subject=_("%(consumer)s proceeded on a citizen's proof: %(title)s")
            % {"consumer": override.consumer, "title": f"{resource.name} · {column.code}"},
            body=_("Value on record: %(recorded)s. Value used: %(used)s. Proof: %(proof)s")
            % {"recorded": _as_text(column, row[column.code]), "used": value_used, "proof": override.proof},
            link=_link(verification) if verification is not None else "",
            category="sharing.override",
            departments=[resource.entry.provider],
        )
    return override


# --- reminders (a periodic job) ---------------------------------------------------------------

REMINDER_SUBJECTS = {
    "due_tomorrow": gettext_lazy("Verification request due tomorrow: %(title)s"),
    "due_today": gettext_lazy("Verification request due today: %(title)s"),
    "overdue": gettext_lazy("Verification request overdue: %(title)s"),
}


def remind_due_verifications(now: dt.datetime | None = None) -> list[VerificationRequest]:
    """The deadline reminders of verification requests waiting for the provider's answer or
    ordered correction (``requests.remind_due``)."""
    return remind_due(
        VerificationRequest.objects.filter(status__in=PENDING).select_related("resource", "provider", "consumer"),
        now,
        subject=lambda verification, kind: REMINDER_SUBJECTS[kind] % {"title": _title(verification)},
        link=_link,
        category="sharing.verification",
    )
