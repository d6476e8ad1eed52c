"""Public accounts (issue #6, item 5): a natural person, or a legal person or other
organisation through a contact, registers to apply for on-application data (Art. 29), to give
feedback and to hold a personal API token."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.validators import mobile_problem
from govdata.orgs import services as org_services
from govdata.orgs.models import Role, User

from ..models import PublicProfile

Kind = PublicProfile.Kind
# What each kind must give besides the account itself; the others stay empty.
KIND_FIELDS = {Kind.NATURAL: ("id_number",), Kind.LEGAL: ("organisation", "credit_code")}


def _normal(name: str, value: str) -> str:
    """Codes are compared in capitals (an ID number's check character may be typed "x")."""
    value = (value or "").strip()
    return value if name == "organisation" else value.upper()


def _profile(kind: str, values: dict[str, str]) -> tuple[PublicProfile, dict[str, list[str]]]:
    """The profile to save and what is wrong with it, by field."""
    if kind not in KIND_FIELDS:
        return PublicProfile(), {"kind": [_("Choose natural person or legal person.")]}
    given = {name: _normal(name, values.get(name, "")) for name in KIND_FIELDS[kind]}
    profile = PublicProfile(kind=kind, registered_at=clock.now(), **given)
    problems: dict[str, list[str]] = {}
    for name, value in given.items():
        if not value:
            problems[name] = [_("This field is required.")]
    try:
        profile.full_clean(exclude=["user", *problems], validate_constraints=False)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            problems.setdefault(name, []).extend(messages)
    if "id_number" in given and "id_number" not in problems:
        if PublicProfile.objects.filter(id_number=profile.id_number).exists():
            problems["id_number"] = [_("An account is already registered with this ID number.")]
    return profile, problems


@transaction.atomic
def register(
    actor: Actor,
    *,
    kind: str,
    username: str,
    password: str,
    full_name: str,
    mobile: str,
    email: str = "",
    **kind_values: str,
) -> User:
    """Create a public user: ``full_name`` is the person's real name or, for an organisation,
    its contact's; ``kind_values`` are the ID number (natural person) or the organisation name
    and unified social credit code (legal person). Every problem is reported at once, by
    field, and nothing is saved unless all is well."""
    unknown = set(kind_values).difference(*KIND_FIELDS.values())
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})
    profile, problems = _profile(kind, kind_values)
    for name, value in (("full_name", full_name), ("mobile", mobile)):
        if not (value or "").strip():
            problems[name] = [_("This field is required.")]
    wrong_mobile = "mobile" not in problems and mobile_problem(mobile)
    if wrong_mobile:  # checked here too: a bad password stops create_user before it checks the mobile
        problems["mobile"] = [wrong_mobile]
    user = None
    try:
        # The platform creates the account on the applicant's own request: no one grants it.
        with transaction.atomic():
            user = org_services.create_user(
                Actor(system=True, ip=actor.ip),
                username=username,
                password=password,
                full_name=full_name,
                mobile=(mobile or "").strip(),
                email=(email or "").strip(),
                role=Role.PUBLIC_USER,
            )
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            known = problems.setdefault(name, [])
            known.extend(m for m in messages if m not in known)
    if problems:
        raise ValidationError(problems)  # the atomic block rolls the user back too
    profile.user = user
    profile.save()
    record(Actor(user=user, ip=actor.ip), "opendata.account.register", user, details={"kind": kind})
    return user

