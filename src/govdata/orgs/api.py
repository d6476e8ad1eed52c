"""Organisations API: the same selectors and services as the pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.responses import Status

from govdata.common.actor import Actor

from . import selectors, services
from .models import Contact, Department
from .permissions import can_view_department, require

router = Router(tags=["orgs"])


class DepartmentOut(Schema):
    id: int
    name: str
    short_name: str
    credit_code: str
    region_id: int
    parent_id: int | None
    kind: str
    sector: str
    is_active: bool


class ContactIn(Schema):
    role: str
    name: str
    post: str
    mobile: str
    office_phone: str = ""
    email: str = ""


class ContactPatch(Schema):
    role: str | None = None
    name: str | None = None
    post: str | None = None
    mobile: str | None = None
    office_phone: str | None = None
    email: str | None = None


class ContactOut(ContactIn):
    id: int
    department_id: int
    is_active: bool
    confirmed_at: str
    stale: bool

    @staticmethod
    def resolve_confirmed_at(obj: Contact) -> str:
        return obj.confirmed_at.isoformat()

    @staticmethod
    def resolve_stale(obj: Contact) -> bool:
        return selectors.is_stale(obj)


@router.get("/departments", response=list[DepartmentOut])
def list_departments(request):
    """The directory of active departments (any signed-in user)."""
    return list(selectors.directory())


@router.get("/departments/{department_id}/contacts", response=list[ContactOut])
def list_contacts(request, department_id: int):
    department = get_object_or_404(Department, pk=department_id)
    require(can_view_department(request.user, department))
    return list(selectors.contacts_visible_to(request.user).filter(department=department, is_active=True))


@router.post("/departments/{department_id}/contacts", response={201: ContactOut})
def file_contact(request, department_id: int, payload: ContactIn):
    department = get_object_or_404(Department, pk=department_id)
    return Status(201, services.file_contact(Actor.from_request(request), department, **payload.dict()))


@router.patch("/contacts/{contact_id}", response=ContactOut)
def update_contact(request, contact_id: int, payload: ContactPatch):
    contact = get_object_or_404(selectors.contacts_visible_to(request.user), pk=contact_id)
    return services.update_contact(Actor.from_request(request), contact, **payload.dict(exclude_none=True))


@router.post("/contacts/{contact_id}/confirm", response=ContactOut)
def confirm_contact(request, contact_id: int):
    contact = get_object_or_404(selectors.contacts_visible_to(request.user), pk=contact_id)
    return services.confirm_contact(Actor.from_request(request), contact)
