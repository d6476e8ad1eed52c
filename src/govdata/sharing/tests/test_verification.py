"""Verification of shared data (R-23.1, R-23.2, R-23.3): filing on a readable record, the
5-working-day answer, confirmation, correction as a new data version, overrides on a citizen's
proof, reminders and visibility — role by role, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common import clock as platform_clock
from govdata.common.fsm import IllegalTransition
from govdata.datastore import query
from govdata.datastore.models import DataVersion
from govdata.datastore.services import loads
from govdata.datastore.tests import corpus as c
from govdata.notifications.models import Notification
from govdata.orgs.models import Role
from govdata.sharing import selectors
from govdata.sharing.models import Evidence, Override, VerificationRequest
from govdata.sharing.services import verification as verify

from .conftest import PDF, UNCONDITIONAL, file_resource, person_table

SHANGHAI = platform_clock.SHANGHAI
ID1, NAME1, ID2 = c.id_number(1), "张1", c.id_number(2)


def row(resource, id_number=ID1):
    return query.run(resource, query.Query(projection=query.ALL, masked=False, filters=[("sfzh", "eq", id_number)])).rows[0]


def challenge(yk, resource, user=None, **overrides):
    values = {"key": {"sfzh": ID1}, "item": "xm", "claimed_value": "汪芳", "explanation": "户籍底册为“汪芳”", **overrides}
    return verify.file_verification(t.actor(user or yk.civil_admin), resource, **values)


def sm3(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


# --- filing --------------------------------------------------------------------------------


@pytest.mark.req("R-23.1")
def test_filing_starts_five_working_days_across_the_national_day_holiday(yk, verification_table, verification_grant, clock):
    clock.set(dt.datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI))
    v = challenge(yk, verification_table)
    # 1-7 October off; Saturday 10 October is a make-up working day: 8, 9, 10, 12, 13 October
    assert v.due_at == dt.datetime(2026, 10, 13, 23, 59, 59, tzinfo=SHANGHAI)
    assert (v.status, v.consumer, v.provider, v.requested_by) == ("submitted", yk.civil, yk.police, yk.civil_admin)
    assert (v.key, v.item, v.recorded_value, v.claimed_value) == ({"sfzh": ID1}, "xm", NAME1, "汪芳")
    inbox = Notification.objects.get(department=yk.police, category="sharing.verification")
    assert "2026-10-13" in inbox.body and inbox.link == f"/sharing/verifications/{v.pk}/"
    event = AuditEvent.objects.get(action="sharing.verification.file", object_id=str(v.pk))
    assert event.department_id == yk.civil.pk and event.details["claimed"] == "汪芳" and event.details["key"] == {"sfzh": ID1}


@pytest.mark.req("R-23.1")
def test_the_record_is_named_by_its_key_items_and_must_exist(yk, verification_table, verification_grant):
    for key in ({"xm": NAME1}, {"sfzh": ID1, "xm": NAME1}, {"sfzh": " "}, "not a mapping"):
        with pytest.raises(ValidationError) as caught:
            challenge(yk, verification_table, key=key)
        assert "sfzh" in caught.value.message_dict["key"][0], key
    with pytest.raises(ValidationError) as caught:
        challenge(yk, verification_table, key={"SFZH": c.id_number(99)})
    assert list(caught.value.message_dict) == ["key"]
    with pytest.raises(ValidationError) as caught:
        challenge(yk, verification_table, item="nope")
    assert list(caught.value.message_dict) == ["item"]
    assert not VerificationRequest.objects.exists()


@pytest.mark.req("R-23.1")
def test_the_claimed_value_is_required_of_the_items_type_and_not_the_value_on_record(yk, verification_table, verification_grant):
    for item, claimed in (("xm", " "), ("xm", NAME1), ("ysr", "3500"), ("ysr", "三千五")):
        with pytest.raises(ValidationError) as caught:
            challenge(yk, verification_table, item=item, claimed_value=claimed)
        assert list(caught.value.message_dict) == ["claimed_value"], (item, claimed)
    v = challenge(yk, verification_table, item="ysr", claimed_value="1,900")
    assert (v.recorded_value, v.claimed_value) == ("3500.00", "1,900")


@pytest.mark.req("R-23.1")
def test_only_a_consumer_that_can_read_the_item_files(yk, verification_table, verification_grant):
    # no grant on conditional data; the provider itself; city roles
    for user in (yk.gz_health_admin, yk.police_admin, yk.police_staff, yk.bureau, yk.evaluator, yk.gz_admin):
        with pytest.raises(PermissionDenied):
            challenge(yk, verification_table, user=user)
    # a granted consumer, but an item outside the grant
    with pytest.raises(ValidationError) as caught:
        challenge(yk, verification_table, item="sjhm", claimed_value="13900009999")
    assert list(caught.value.message_dict) == ["item"]
    # staff of the granted department may file too
    staff = t.user(Role.DEPARTMENT_STAFF, yk.civil, username="civil-staff")
    assert challenge(yk, verification_table, user=staff).requested_by == staff


@pytest.mark.req("R-23.1")
def test_unconditional_data_is_verified_without_a_grant_and_only_tables_have_records(yk):
    open_table = person_table(yk, 3, **UNCONDITIONAL)
    v = challenge(yk, open_table, user=yk.gz_health_admin, item="sjhm", claimed_value="13900009999")
    assert v.consumer == yk.gz_health and v.recorded_value == "13904170001"
    files, _stored = file_resource(yk, **UNCONDITIONAL)
    with pytest.raises(ValidationError) as caught:
        challenge(yk, files, user=yk.gz_health_admin)
    assert list(caught.value.message_dict) == ["resource"]


@pytest.mark.req("R-23.2")
def test_the_consumer_files_on_behalf_of_a_citizen_or_an_organisation(yk, verification_table, verification_grant):
    v = challenge(yk, verification_table, on_behalf_name="汪芳", on_behalf_id=ID1.lower())
    assert (v.on_behalf_name, v.on_behalf_id, v.consumer) == ("汪芳", ID1, yk.civil)
    company = t.credit_code("210800", 4321)
    v2 = challenge(yk, verification_table, claimed_value="王方", on_behalf_name="营口市某有限公司", on_behalf_id=company)
    assert v2.on_behalf_id == company
    for name, holder, field in (("汪芳", c.bad_check(ID1), "on_behalf_id"), ("汪芳", "", "on_behalf_id"), ("", ID1, "on_behalf_name")):
        with pytest.raises(ValidationError) as caught:
            challenge(yk, verification_table, on_behalf_name=name, on_behalf_id=holder)
        assert list(caught.value.message_dict) == [field], (name, holder)
    # the provider is told by the platform, from the consumer department: nobody is sent in person
    assert Notification.objects.filter(department=yk.police, category="sharing.verification").count() == 2


@pytest.mark.req("R-23.1")
def test_evidence_files_are_checked_stored_and_digested(yk, verification_table, verification_grant, evidence_media):
    v = challenge(yk, verification_table, evidence=[SimpleUploadedFile("户口簿.pdf", PDF), SimpleUploadedFile("证明.pdf", PDF + b"%2")])
    kept = list(v.evidence.order_by("pk"))
    assert [(e.name, e.content_type, e.size, e.sm3) for e in kept] == [
        ("户口簿.pdf", "application/pdf", len(PDF), sm3(PDF)),
        ("证明.pdf", "application/pdf", len(PDF) + 2, sm3(PDF + b"%2")),
    ]
    assert all(e.storage_name.startswith("sharing/evidence/") and default_storage.exists(e.storage_name) for e in kept)
    assert AuditEvent.objects.get(action="sharing.verification.file").details["evidence"][0]["sm3"] == sm3(PDF)

    before = sorted(p.name for p in evidence_media.rglob("*") if p.is_file())
    with pytest.raises(ValidationError) as caught:
        challenge(yk, verification_table, evidence=[SimpleUploadedFile("ok.pdf", PDF), SimpleUploadedFile("run.pdf", b"MZ\x90\x00" * 64)])
    assert "run.pdf" in caught.value.message_dict["evidence"][0]
    # refused: no request, no evidence row, and the accepted first file was not left in storage
    assert VerificationRequest.objects.count() == 1 and Evidence.objects.count() == 2
    assert sorted(p.name for p in evidence_media.rglob("*") if p.is_file()) == before


# --- answering -----------------------------------------------------------------------------


@pytest.mark.req("R-23.1")
def test_the_provider_administrator_confirms_with_an_answer(yk, verification_table, verification_grant, clock):
    v = challenge(yk, verification_table)
    for user in (yk.police_staff, yk.civil_admin, yk.gz_health_admin, yk.bureau):
        with pytest.raises(PermissionDenied):
            verify.confirm_correct(t.actor(user), v, "核实无误")
    with pytest.raises(ValidationError) as caught:
        verify.confirm_correct(t.actor(yk.police_admin), v, " ")
    assert list(caught.value.message_dict) == ["answer"]
    v = verify.confirm_correct(t.actor(yk.police_admin), v, "经核对户籍底册，姓名为“王芳”，记录无误。")
    assert (v.status, v.answered_by, v.answered_at, v.correction) == ("confirmed", yk.police_admin, clock.now(), None)
    told = Notification.objects.get(department=yk.civil, category="sharing.verification.confirmed")
    assert told.body == v.answer
    assert AuditEvent.objects.filter(action="sharing.verification.confirm", object_id=str(v.pk)).exists()
    assert row(verification_table)["xm"] == NAME1
    with pytest.raises(IllegalTransition):
        verify.confirm_correct(t.actor(yk.police_admin), v, "再次确认")
    with pytest.raises(IllegalTransition):
        verify.correct(t.actor(yk.police_admin), v, "更正")


@pytest.mark.req("R-23.1")
def test_a_correction_is_a_new_data_version_that_changes_the_row(yk, verification_table, verification_grant, clock):
    v = challenge(yk, verification_table)
    before = row(verification_table)
    versions = DataVersion.objects.filter(resource=verification_table).count()
    for user in (yk.police_staff, yk.civil_admin):
        with pytest.raises(PermissionDenied):
            verify.correct(t.actor(user), v, "更正")
    clock.advance(hours=2)
    v = verify.correct(t.actor(yk.police_admin), v, "户籍底册为“汪芳”，已更正。")
    assert (v.status, v.answered_by) == ("corrected", yk.police_admin)
    version = v.correction
    assert (version.number, version.mode, version.status, version.rows_loaded, version.loaded_by) == (
        versions + 1,
        "upsert",
        "done",
        1,
        yk.police_admin,
    )
    verification_table.refresh_from_db()
    assert verification_table.current_version == version and verification_table.row_count == 3
    assert row(verification_table) == {**before, "xm": "汪芳"}  # only the item changed
    assert row(verification_table, ID2)["xm"] == "张2"
    event = AuditEvent.objects.get(action="sharing.verification.correct", object_id=str(v.pk))
    assert event.details | {"answer": None} == {
        "answer": None,
        "key": {"sfzh": ID1},
        "item": "xm",
        "old": NAME1,
        "new": "汪芳",
        "version": version.number,
    }
    assert AuditEvent.objects.filter(action="datastore.load", details__version=version.number).exists()
    assert Notification.objects.filter(department=yk.civil, category="sharing.verification.corrected").exists()
    with pytest.raises(IllegalTransition):
        verify.correct(t.actor(yk.police_admin), v, "再次更正")


@pytest.mark.req("R-23.1")
def test_the_provider_may_correct_to_another_value_of_the_items_type(yk, verification_table, verification_grant):
    v = challenge(yk, verification_table, item="ysr", claimed_value="1900")
    v = verify.correct(t.actor(yk.police_admin), v, "核定月收入为1950.5元", value="1950.5")
    assert str(row(verification_table)["ysr"]) == "1950.50" and v.correction.status == "done"


@pytest.mark.req("R-23.1")
def test_a_correction_the_table_refuses_changes_nothing(yk, verification_table, verification_grant):
    v = challenge(yk, verification_table)
    versions = DataVersion.objects.count()
    with pytest.raises(ValidationError) as caught:  # xm holds at most 50 characters
        verify.correct(t.actor(yk.police_admin), v, "更正", value="张" * 51)
    assert "xm" in caught.value.message_dict["value"][0]
    with pytest.raises(ValidationError) as caught:
        verify.correct(t.actor(yk.police_admin), v, "更正", value=NAME1)
    assert list(caught.value.message_dict) == ["value"]
    v.refresh_from_db()
    assert (v.status, v.correction, DataVersion.objects.count()) == ("submitted", None, versions)
    assert row(verification_table)["xm"] == NAME1


@pytest.mark.req("R-23.1")
def test_a_record_gone_since_filing_cannot_be_corrected(yk, verification_table, verification_grant):
    v = challenge(yk, verification_table)
    loads.push_rows(t.actor(yk.police_staff), verification_table, [dict(zip(c.PERSON_HEADER, c.person(2)))], mode="replace")
    with pytest.raises(ValidationError) as caught:
        verify.correct(t.actor(yk.police_admin), v, "更正")
    assert list(caught.value.message_dict) == ["key"]


# --- overrides (R-23.3) ----------------------------------------------------------------------


@pytest.mark.req("R-23.3")
def test_an_override_on_a_citizens_proof_is_audited_and_told_to_the_provider(yk, verification_table, verification_grant, evidence_media, clock):
    v = challenge(yk, verification_table)
    override = verify.record_override(
        t.actor(yk.civil_admin),
        verification_table,
        key={"sfzh": ID1},
        item="xm",
        value_used="汪芳",
        proof="申请人出示户口簿原件，姓名为“汪芳”，已核验。",
        verification=v,
        evidence=[SimpleUploadedFile("户口簿.pdf", PDF)],
    )
    assert (override.consumer, override.recorded_by, override.recorded_at, override.verification) == (
        yk.civil,
        yk.civil_admin,
        clock.now(),
        v,
    )
    assert [e.sm3 for e in override.evidence.all()] == [sm3(PDF)]
    event = AuditEvent.objects.get(action="sharing.override.record", object_id=str(override.pk))
    assert (event.department_id, event.actor_label) == (yk.civil.pk, "civil-admin")
    assert {k: event.details[k] for k in ("recorded", "value_used", "verification")} == {"recorded": NAME1, "value_used": "汪芳", "verification": v.pk}
    assert "户口簿" in event.details["proof"]
    told = Notification.objects.get(department=yk.police, category="sharing.override")
    assert NAME1 in told.body and "汪芳" in told.body
    assert row(verification_table)["xm"] == NAME1  # the record itself is the provider's to correct


@pytest.mark.req("R-23.3")
def test_an_override_needs_proof_a_readable_record_and_a_matching_request(yk, verification_table, verification_grant):
    def override(user=yk.civil_admin, **overrides):
        values = {"key": {"sfzh": ID1}, "item": "xm", "value_used": "汪芳", "proof": "户口簿原件", **overrides}
        return verify.record_override(t.actor(user), verification_table, **values)

    with pytest.raises(ValidationError) as caught:
        override(proof=" ")
    assert list(caught.value.message_dict) == ["proof"]
    other = challenge(yk, verification_table, key={"sfzh": ID2}, claimed_value="李娜")
    with pytest.raises(ValidationError) as caught:
        override(verification=other)
    assert list(caught.value.message_dict) == ["verification"]
    with pytest.raises(ValidationError) as caught:
        override(item="sjhm")
    assert list(caught.value.message_dict) == ["item"]
    for user in (yk.gz_health_admin, yk.police_admin, yk.bureau):
        with pytest.raises(PermissionDenied):
            override(user=user)
    assert not Override.objects.exists()
    assert override(verification=None).verification is None


# --- deadlines, reminders, visibility --------------------------------------------------------


@pytest.mark.req("R-23.1")
def test_reminders_the_day_before_on_the_day_and_when_overdue_once_each(yk, verification_table, verification_grant, clock):
    clock.set(dt.datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI))
    v = challenge(yk, verification_table)
    answered = challenge(yk, verification_table, key={"sfzh": ID2}, claimed_value="李娜")
    verify.confirm_correct(t.actor(yk.police_admin), answered, "无误")
    assert verify.remind_due_verifications() == []
    clock.set(dt.datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI))
    assert verify.remind_due_verifications() == [v]
    assert verify.remind_due_verifications() == []
    clock.set(dt.datetime(2026, 10, 13, 9, 0, tzinfo=SHANGHAI))
    assert verify.remind_due_verifications() == [v]
    assert list(selectors.overdue_verifications(yk.bureau)) == []
    clock.set(dt.datetime(2026, 10, 14, 0, 0, 1, tzinfo=SHANGHAI))
    assert verify.remind_due_verifications() == [v]
    reminders = Notification.objects.filter(category__startswith="sharing.verification.")
    assert sorted(reminders.filter(category__contains=".due_").values_list("category", flat=True)) == [
        "sharing.verification.due_today",
        "sharing.verification.due_tomorrow",
    ]
    overdue = reminders.filter(category="sharing.verification.overdue")
    assert {n.department_id for n in overdue if n.department_id} == {yk.police.pk, yk.civil.pk}
    assert overdue.filter(recipient=yk.bureau).exists()
    for user in (yk.police_admin, yk.civil_admin, yk.bureau):
        assert list(selectors.overdue_verifications(user)) == [v], user
    assert list(selectors.overdue_verifications(yk.gz_health_admin)) == []


@pytest.mark.req("R-23.1")
def test_verifications_are_visible_to_both_parties_and_the_bureau_only(yk, verification_table, verification_grant):
    v = challenge(yk, verification_table)
    answered = challenge(yk, verification_table, key={"sfzh": ID2}, claimed_value="李娜")
    verify.confirm_correct(t.actor(yk.police_admin), answered, "无误")
    for user in (yk.police_admin, yk.police_staff, yk.civil_admin, yk.bureau, yk.evaluator):
        assert selectors.verifications_visible_to(user).count() == 2, user
        assert selectors.get_verification(user, v.pk) == v
    for user in (yk.gz_health_admin, yk.gz_admin, None):
        assert selectors.verifications_visible_to(user).count() == 0, user
        with pytest.raises(Http404):
            selectors.get_verification(user, v.pk)
    assert list(selectors.verifications_received(yk.police_admin)) == [v, answered]  # waiting first
    assert list(selectors.verifications_received(yk.civil_admin)) == []
    assert set(selectors.verifications_made(yk.civil_admin)) == {v, answered}
