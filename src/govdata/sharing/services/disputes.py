"""Disputes between provider and consumer (R-27.1, Art. 27): either party escalates a rejected
share request or a verification answer to the bureau, which mediates and records a decision —
the answer upheld, access granted on its authority, or a correction ordered."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import next_state
from govdata.notifications.services import notify
from govdata.orgs.permissions import check
from govdata.orgs.selectors import overseers_of

from .. import permissions as perm
from ..models import Dispute, ShareRequest, VerificationRequest
from .requests import grant_by_decision
from .verification import order_correction

Status = Dispute.Status
Outcome = Dispute.Outcome

TRANSITIONS = {
    (Status.OPEN, "decide"): Status.DECIDED,
}
# What can be escalated: a refusal, or an answer to a verification request.
DISPUTABLE_REQUESTS = (ShareRequest.Status.REJECTED,)
DISPUTABLE_VERIFICATIONS = (VerificationRequest.Status.CONFIRMED, VerificationRequest.Status.CORRECTED)
# Which outcome fits which subject (upheld fits both).
SUBJECT_OUTCOMES = {"share_request": {Outcome.UPHELD, Outcome.GRANT}, "verification": {Outcome.UPHELD, Outcome.CORRECT}}


def _link(dispute: Dispute) -> str:
    return f"/sharing/disputes/{dispute.pk}/"


def _subject_field(dispute: Dispute) -> str:
    return "share_request" if dispute.share_request_id else "verification"


def _about(dispute: Dispute) -> str:
    if dispute.share_request_id:
        return _("share request for %(entry)s") % {"entry": dispute.share_request.entry.published.name}
    return _("verification of %(resource)s · %(item)s") % {
        "resource": dispute.verification.resource.name,
        "item": dispute.verification.item,
    }


@transaction.atomic
def open_dispute(
    actor: Actor,
    *,
    share_request: ShareRequest | None = None,
    verification: VerificationRequest | None = None,
    reason: str,
) -> Dispute:
    """Escalate a rejected share request or an answered verification request to the bureau.
    Either party's administrator may; one open dispute per subject."""
    if (share_request is None) == (verification is None):
        raise ValidationError({"share_request": _("Escalate either a rejected share request or an answered verification request.")})
    # Locked, so that two escalations of the same subject cannot both pass the check below.
    if share_request is not None:
        subject = ShareRequest.objects.select_for_update(of=("self",)).select_related("entry__published").get(pk=share_request.pk)
        field, disputable = "share_request", DISPUTABLE_REQUESTS
    else:
        subject = VerificationRequest.objects.select_for_update(of=("self",)).select_related("resource").get(pk=verification.pk)
        field, disputable = "verification", DISPUTABLE_VERIFICATIONS
    check(actor, perm.can_open_dispute, subject)
    if subject.status not in disputable:
        raise ValidationError(
            {field: _("Only a rejected share request or an answered verification request can be escalated.")}
        )
    if Dispute.objects.filter(**{field: subject}, status=Status.OPEN).exists():
        raise ValidationError({field: _("A dispute about this is already with the bureau.")})
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say what the bureau should decide and why.")})
    consumer, provider = subject.consumer, subject.provider
    raised_by = consumer if actor.user.department_id == consumer.pk else provider
    dispute = Dispute.objects.create(
        **{field: subject},
        raised_by=raised_by,
        other_party=provider if raised_by == consumer else consumer,
        reason=reason.strip(),
        opened_by=actor.user,
        opened_at=clock.now(),
    )
    record(actor, "sharing.dispute.open", dispute, department=raised_by, details={field: subject.pk, "reason": dispute.reason})
    notify(
        subject=_("Dispute raised by %(department)s: %(about)s") % {"department": raised_by, "about": _about(dispute)},
        body=dispute.reason,
        link=_link(dispute),
        category="sharing.dispute",
        users=overseers_of(provider).filter(roles__role="bureau_admin"),
        departments=[dispute.other_party],
    )
    return dispute


@transaction.atomic
def decide_dispute(actor: Actor, dispute: Dispute, *, outcome: str, decision: str) -> Dispute:
    """The bureau's decision: ``upheld`` (the answer stands), ``grant`` (the rejected request is
    granted on the bureau's authority) or ``correct`` (the provider is ordered to correct the
    record). Both parties are told."""
    check(actor, perm.can_mediate)
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    dispute.status = next_state(TRANSITIONS, dispute.status, "decide")
    problems = {}
    if outcome not in SUBJECT_OUTCOMES[_subject_field(dispute)]:
        problems["outcome"] = _("Choose an outcome for this kind of dispute: %(outcomes)s.") % {
            "outcomes": ", ".join(sorted(SUBJECT_OUTCOMES[_subject_field(dispute)]))
        }
    if not (decision or "").strip():
        problems["decision"] = _("Record the decision and its reasons.")
    if problems:
        raise ValidationError(problems)
    dispute.outcome, dispute.decision = outcome, decision.strip()
    dispute.decided_by, dispute.decided_at = actor.user, clock.now()
    dispute.save()
    if outcome == Outcome.GRANT:
        grant_by_decision(actor, dispute.share_request, dispute.decision)
    elif outcome == Outcome.CORRECT:
        order_correction(actor, dispute.verification, order=dispute.decision)
    record(actor, "sharing.dispute.decide", dispute, details={"outcome": outcome, "decision": dispute.decision})
    notify(
        subject=_("Dispute decided (%(outcome)s): %(about)s") % {"outcome": dispute.get_outcome_display(), "about": _about(dispute)},
        body=dispute.decision,
        link=_link(dispute),
        category="sharing.dispute.decide",
        departments=[dispute.raised_by, dispute.other_party],
    )
    return dispute
