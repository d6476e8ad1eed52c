"""Data demands (供需对接, R-4.1, Art. 4 "demand-oriented"): a consumer department registers a
data need, the bureau routes it to the department that holds or should hold the data, and
that department answers with a catalog entry of its own (existing or newly drafted) or
declines with a reason."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.catalog.models import CatalogEntry
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import next_state
from govdata.notifications.services import notify
from govdata.orgs.models import Department
from govdata.orgs.permissions import check
from govdata.orgs.selectors import overseers_of

from .. import permissions as perm
from ..models import Demand

Status = Demand.Status

TRANSITIONS = {
    (Status.OPEN, "route"): Status.ROUTED,
    (Status.ROUTED, "answer"): Status.ANSWERED,
    (Status.ROUTED, "decline"): Status.DECLINED,
}


def _link(demand: Demand) -> str:
    return f"/sharing/demands/{demand.pk}/"


@transaction.atomic
def raise_demand(actor: Actor, *, title: str, description: str, purpose: str) -> Demand:
    """Register the actor's department's data need; the bureau is told, to route it."""
    check(actor, perm.can_raise_demand)
    values = {"title": (title or "").strip(), "description": (description or "").strip(), "purpose": (purpose or "").strip()}
    problems = {name: _("This field is required.") for name, value in values.items() if not value}
    limit = Demand._meta.get_field("title").max_length
    if len(values["title"]) > limit:
        problems["title"] = _("At most %(n)d characters.") % {"n": limit}
    if problems:
        raise ValidationError(problems)
    demand = Demand.objects.create(
        consumer_id=actor.user.department_id, raised_by=actor.user, raised_at=clock.now(), **values
    )
    record(actor, "sharing.demand.raise", demand, department=demand.consumer, details={"title": demand.title})
    notify(
        subject=_("Data demand from %(consumer)s: %(title)s") % {"consumer": demand.consumer, "title": demand.title},
        body=demand.description,
        link=_link(demand),
        category="sharing.demand",
        users=overseers_of(demand.consumer).filter(roles__role="bureau_admin"),
    )
    return demand


@transaction.atomic
def route_demand(actor: Actor, demand: Demand, provider: Department | None) -> Demand:
    """The bureau names the department to answer the demand."""
    check(actor, perm.can_route_demand, demand)
    demand = Demand.objects.select_for_update().get(pk=demand.pk)
    demand.status = next_state(TRANSITIONS, demand.status, "route")
    if provider is None or not provider.is_active or provider.pk == demand.consumer_id:
        raise ValidationError({"provider": _("Choose an active department other than the one in need.")})
    demand.provider, demand.routed_by, demand.routed_at = provider, actor.user, clock.now()
    demand.save()
    record(actor, "sharing.demand.route", demand, department=provider, details={"provider": provider.pk})
    notify(
        subject=_("Data demand routed to you: %(title)s") % {"title": demand.title},
        body=_("From %(consumer)s. Answer with a catalog entry of yours or a reason.") % {"consumer": demand.consumer},
        link=_link(demand),
        category="sharing.demand.route",
        departments=[provider],
    )
    notify(
        subject=_("Your data demand was routed to %(provider)s: %(title)s") % {"provider": provider, "title": demand.title},
        link=_link(demand),
        category="sharing.demand.route",
        departments=[demand.consumer],
    )
    return demand


@transaction.atomic
def answer_demand(actor: Actor, demand: Demand, *, entry: CatalogEntry | None = None, reason: str = "") -> Demand:
    """Answer with a catalog entry of the department's own (in any state: a new one may still
    be in review), optionally with a note; or decline, with the reason required."""
    check(actor, perm.can_answer_demand, demand)
    demand = Demand.objects.select_for_update().get(pk=demand.pk)
    demand.status = next_state(TRANSITIONS, demand.status, "answer" if entry is not None else "decline")
    reason = (reason or "").strip()
    if entry is not None and entry.provider_id != demand.provider_id:
        raise ValidationError({"entry": _("Answer with a catalog entry of your own department.")})
    if entry is None and not reason:
        raise ValidationError({"reason": _("Name a catalog entry that meets the need, or say why it cannot be met.")})
    demand.entry, demand.answer = entry, reason
    demand.answered_by, demand.answered_at = actor.user, clock.now()
    demand.save()
    record(
        actor,
        f"sharing.demand.{'answer' if entry is not None else 'decline'}",
        demand,
        department=demand.provider,
        details={"entry": entry.code if entry is not None else None, "reason": reason},
    )
    if entry is not None:
        subject = _("Your data demand was answered with %(entry)s: %(title)s") % {"entry": entry.code, "title": demand.title}
    else:
        subject = _("Your data demand was declined: %(title)s") % {"title": demand.title}
    notify(subject=subject, body=reason, link=_link(demand), category=f"sharing.demand.{demand.status}", departments=[demand.consumer])
    return demand
