"""No repeated submission (R-25.1): a department learns what the platform holds about a
holder only where it may obtain it — files and records alike — and every lookup is audited."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.datastore import services as datastore
from govdata.datastore.services import files, loads
from govdata.datastore.tests import corpus as c
from govdata.datastore.tests.conftest import published_entry
from govdata.datastore.tests.test_files import _pdf
from govdata.sharing.services import access, lookup
from govdata.sharing.services import requests as sharing

from .conftest import ask, person_table, publish

PERSON = c.id_number(7)


@pytest.fixture
def holdings(yk):
    records = person_table(yk, rows=0)  # conditional, keyed by 公民身份号码
    loads.load_table(
        t.actor(yk.police_staff), records, io.BytesIO(c.csv_bytes(c.PERSON_HEADER, [c.person(7), c.person(8)])),
        filename="p.csv", mode="replace",
    )
    licences = datastore.mount(
        t.actor(yk.police_admin),
        published_entry(yk, name="居民身份证电子证照", share_type="unconditional", share_conditions=""),
        kind="file", name="电子证照",
    )
    files.upload_file(
        t.actor(yk.police_staff), licences, io.BytesIO(_pdf()), name="身份证.pdf",
        licence={"holder_id": PERSON, "holder_name": "张七", "licence_number": "YK0007", "issuer": "营口市公安局"},
    )
    return {"records": records, "licences": publish(yk, licences)}


@pytest.mark.req("R-25.1")
def test_a_holder_is_found_only_where_the_department_may_obtain_the_data(yk, holdings, civil_system):
    reader = access.reader_for(t.actor(yk.civil_admin))
    found = lookup.lookup_holder(reader, PERSON.lower())
    assert [(h.resource, h.file is not None) for h in found] == [(holdings["licences"], True)]  # no grant: no record

    grant = sharing.approve(t.actor(yk.police_admin), ask(yk, holdings["records"], civil_system), items=["xm"])
    sharing.accept_grant(t.actor(yk.civil_admin), grant)
    assert [h.resource for h in lookup.lookup_holder(reader, PERSON)] == [holdings["licences"]]  # key not granted

    grant = sharing.approve(t.actor(yk.police_admin), ask(yk, holdings["records"], civil_system), items=["sfzh", "xm"])
    sharing.accept_grant(t.actor(yk.civil_admin), grant)
    found = lookup.lookup_holder(reader, PERSON)
    assert [(h.resource, h.records) for h in found if h.key_column] == [(holdings["records"], 1)]
    assert lookup.lookup_holder(reader, c.id_number(99)) == []

    events = AuditEvent.objects.filter(action="sharing.lookup", department_id=yk.civil.pk)
    assert events.count() == 4 and events.latest("pk").details["holder_id"] == c.id_number(99)


@pytest.mark.req("R-25.1")
def test_an_invalid_number_names_the_field_and_others_see_nothing(yk, holdings):
    with pytest.raises(ValidationError) as caught:
        lookup.lookup_holder(access.reader_for(t.actor(yk.civil_admin)), PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1"))
    assert "holder_id" in caught.value.message_dict
    assert lookup.lookup_holder(access.reader_for(t.actor(yk.evaluator)), PERSON) == []  # no department
