"""The one read path of shared data (R-20.1, R-20.2, R-22.1): decided, purposed, projected,
masked and audited — allowed reads and refusals alike."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.datastore import services as datastore
from govdata.datastore.services import files, loads
from govdata.datastore.tests import corpus as c
from govdata.datastore.tests.conftest import published_entry
from govdata.datastore.tests.test_files import _pdf
from govdata.sharing.services import access, receipts
from govdata.sharing.services import requests as sharing

from .conftest import ask, person_table


def reader(user):
    return access.reader_for(t.actor(user))


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-22.1")
def test_a_grant_reads_its_items_masked_for_its_purpose_and_every_read_is_audited(yk, people, civil_system):
    grant = sharing.approve(t.actor(yk.police_admin), ask(yk, people, civil_system), items=["sfzh", "xm"])
    sharing.accept_grant(t.actor(yk.civil_admin), grant)
    result = access.read_rows(reader(yk.civil_admin), people, {"limit": "3"}, purpose="")
    assert result.codes == ["sfzh", "xm"] and len(result.rows) == 3
    first = result.rows[0]
    assert first["xm"] == "张*" and first["sfzh"][:6] == "210802" and "*" in first["sfzh"]
    event = AuditEvent.objects.filter(action="sharing.read").latest("pk")
    assert event.purpose == grant.purpose and event.row_count == 3
    assert event.details["items"] == ["sfzh", "xm"] and event.details["grant"] == grant.pk
    assert event.details["outcome"] == "allowed" and event.department_id == yk.civil.pk

    with pytest.raises(PermissionDenied, match="sjhm"):
        access.read_rows(reader(yk.civil_admin), people, {"fields": "xm,sjhm"}, purpose="")
    with pytest.raises(PermissionDenied, match="purpose"):
        access.read_rows(reader(yk.civil_admin), people, {}, purpose="另作他用")
    refused = AuditEvent.objects.filter(action="sharing.read", details__outcome="refused")
    assert refused.count() == 2 and {e.row_count for e in refused} == {0}


@pytest.mark.req("R-20.2")
def test_without_a_grant_nothing_is_read_and_the_attempt_is_audited(yk, people):
    for user in (yk.civil_admin, yk.gz_health_admin):
        with pytest.raises(PermissionDenied):
            access.read_rows(reader(user), people, {}, purpose="核查")
    with pytest.raises(PermissionDenied):
        access.read_rows(reader(yk.bureau), people, {}, purpose="核查")  # the bureau is no department reader
    assert AuditEvent.objects.filter(action="sharing.read", details__outcome="refused").count() == 3
    assert not AuditEvent.objects.filter(action="sharing.read", details__outcome="allowed").exists()


@pytest.mark.req("R-20.1")
def test_unconditional_data_is_read_directly_with_a_stated_purpose(yk, civil_system):
    open_one = person_table(yk, rows=0, name="户籍人口统计", share_type="unconditional", share_conditions="")
    loads.load_table(
        t.actor(yk.police_staff), open_one, io.BytesIO(c.csv_bytes(c.PERSON_HEADER, [c.person(9)])), filename="p.csv", mode="replace"
    )
    with pytest.raises(PermissionDenied, match="purpose"):
        access.read_rows(reader(yk.civil_admin), open_one, {}, purpose=" ")
    result = access.read_rows(reader(yk.civil_admin), open_one, {}, purpose="低保核对")
    assert len(result.rows) == 1 and "*" in result.rows[0]["sfzh"]
    own = access.read_rows(reader(yk.police_staff), open_one, {}, purpose="自查")
    assert "*" not in own.rows[0]["sfzh"]  # the provider reads its own data unmasked


@pytest.mark.req("R-22.1")
def test_a_bad_query_is_a_clear_error_and_an_export_is_audited_when_complete(yk, people, civil_system):
    grant = sharing.approve(t.actor(yk.police_admin), ask(yk, people, civil_system))
    sharing.accept_grant(t.actor(yk.civil_admin), grant)
    with pytest.raises(ValidationError) as caught:
        access.read_rows(reader(yk.civil_admin), people, {"limit": "many"}, purpose="")
    assert "limit" in caught.value.message_dict
    stream = access.export_rows(reader(yk.civil_admin), people, {}, purpose="", fmt="csv")
    assert not AuditEvent.objects.filter(action="sharing.export").exists()
    body = b"".join(stream).decode("utf-8-sig")
    assert len(body.strip().splitlines()) == 6
    event = AuditEvent.objects.get(action="sharing.export")
    assert event.row_count == 5 and event.details["format"] == "csv"


@pytest.mark.req("R-24.1")
def test_an_extract_and_a_file_come_with_receipts_that_verify(yk, people, civil_system, settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    grant = sharing.approve(t.actor(yk.police_admin), ask(yk, people, civil_system), items=["sfzh", "xm"])
    sharing.accept_grant(t.actor(yk.civil_admin), grant)
    someone = c.id_number(2)
    content, receipt = access.extract_records(reader(yk.civil_admin), people, {"sfzh": someone}, purpose="")
    lines = content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and "张*" in lines[1]
    doc = receipts.document(receipt)
    assert receipts.verify(content, doc).valid
    assert doc["metadata"]["items"] == ["sfzh", "xm"] and doc["metadata"]["grant"] == grant.pk
    assert doc["metadata"]["obtained_by"] == yk.civil.name and doc["metadata"]["rows"] == 1
    assert not receipts.verify(content.replace("张*".encode(), "李*".encode()), doc).valid
    event = AuditEvent.objects.get(action="sharing.extract")
    assert event.details["receipt"] == receipt.number and event.row_count == 1
    monkeypatch.setattr(access, "EXTRACT_MAX_ROWS", 2)
    with pytest.raises(ValidationError) as caught:
        access.extract_records(reader(yk.civil_admin), people, {"sfzh__in": ",".join(c.id_number(i) for i in range(1, 6))}, purpose="")
    assert "filters" in caught.value.message_dict

    licences = datastore.mount(
        t.actor(yk.police_admin),
        published_entry(yk, name="电子证照", share_type="unconditional", share_conditions=""),
        kind="file", name="电子证照",
    )
    document = files.upload_file(
        t.actor(yk.police_staff), licences, io.BytesIO(_pdf()), name="证照.pdf", licence={"holder_id": someone, "holder_name": "张2"}
    )
    datastore.submit(t.actor(yk.police_admin), licences)
    datastore.publish(t.actor(yk.bureau), licences)
    obtained, file_receipt = access.obtain_file(reader(yk.civil_admin), document, purpose="核验身份")
    assert receipts.verify(obtained.read(), receipts.document(file_receipt)).valid
    with pytest.raises(PermissionDenied):
        access.obtain_file(reader(yk.civil_admin), document, purpose="")
