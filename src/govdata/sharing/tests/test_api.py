"""The sharing API (/api/v1/sharing/) for signed-in government users: requests, grants, reads
within access, the holder lookup and documents with receipts — the same services as the pages."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from govdata.audit.models import AuditEvent
from govdata.common import clock as platform_clock
from govdata.datastore.tests import corpus as c

BASE = "/api/v1/sharing"


@pytest.fixture
def api(client):
    def call(user, method, path, payload=None, **extra):
        client.force_login(user)
        if method == "get":
            return client.get(BASE + path, payload or {}, **extra)
        return client.post(BASE + path, json.dumps(payload or {}), content_type="application/json", **extra)

    return call


def _request(api, yk, people, civil_system):
    today = platform_clock.today()
    return api(
        yk.civil_admin, "post", "/requests",
        {
            "entry_id": people.entry_id, "system_id": civil_system.pk, "items": ["sfzh", "xm", "sjhm"],
            "purpose": "低保资格审核", "legal_duty": "《社会救助暂行办法》", "scope": "救助科",
            "period_start": today.isoformat(), "period_end": (today + dt.timedelta(days=90)).isoformat(),
        },
    )


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-22.1")
def test_request_approve_accept_and_read_within_the_grant(api, yk, people, civil_system):
    response = _request(api, yk, people, civil_system)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "submitted" and created["overdue"] is False
    assert api(yk.civil_admin, "get", f"/resources/{people.pk}/records").status_code == 403
    assert api(yk.gz_health_admin, "get", f"/requests/{created['id']}").status_code == 404
    assert api(yk.civil_admin, "post", f"/requests/{created['id']}/approve", {}).status_code == 403
    rejected = api(yk.police_admin, "post", f"/requests/{created['id']}/reject", {"basis": ""})
    assert rejected.status_code == 422 and "basis" in rejected.json()["errors"]

    grant = api(yk.police_admin, "post", f"/requests/{created['id']}/approve", {"items": ["sfzh", "xm"]}).json()
    assert grant["items"] == ["sfzh", "xm"] and grant["accepted_at"] is None
    assert api(yk.civil_admin, "post", f"/grants/{grant['id']}/accept").status_code == 200
    rows = api(yk.civil_admin, "get", f"/resources/{people.pk}/records", {"limit": 2}).json()
    assert [f["code"] for f in rows["fields"]] == ["sfzh", "xm"] and len(rows["records"]) == 2
    assert all(f["masked"] for f in rows["fields"])
    outside = api(yk.civil_admin, "get", f"/resources/{people.pk}/records", {"fields": "sjhm"})
    assert outside.status_code == 403 and "sjhm" in outside.json()["detail"]
    assert api(yk.civil_admin, "post", f"/requests/{created['id']}/approve", {}).status_code in (403, 409)
    revoked = api(yk.police_admin, "post", f"/grants/{grant['id']}/revoke", {"reason": "超范围使用"})
    assert revoked.status_code == 200
    assert api(yk.civil_admin, "get", f"/resources/{people.pk}/records").status_code == 403
    reads = AuditEvent.objects.filter(action="sharing.read", object_id=str(people.pk))
    assert reads.filter(details__outcome="allowed").count() == 1 and reads.filter(details__outcome="refused").count() == 3


@pytest.mark.req("R-25.1")
@pytest.mark.req("R-24.1")
def test_lookup_then_an_extract_with_a_receipt_that_verifies(api, client, yk, people, civil_system, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    created = _request(api, yk, people, civil_system).json()
    grant = api(yk.police_admin, "post", f"/requests/{created['id']}/approve", {}).json()
    api(yk.civil_admin, "post", f"/grants/{grant['id']}/accept")
    someone = c.id_number(3)
    found = api(yk.civil_admin, "post", "/lookup", {"holder_id": someone}).json()
    assert [(h["resource_id"], h["access"], h["records"]) for h in found] == [(people.pk, "grant", 1)]
    bad = api(yk.civil_admin, "post", "/lookup", {"holder_id": "123"})
    assert bad.status_code == 422 and "holder_id" in bad.json()["errors"]

    extract = api(yk.civil_admin, "get", found[0]["obtain"].removeprefix(BASE) + someone)
    assert extract.status_code == 200, extract.content
    number = extract["X-GovData-Receipt"]
    receipt = api(yk.civil_admin, "get", f"/receipts/{number}")
    assert receipt.status_code == 200 and receipt.json()["metadata"]["rows"] == 1
    assert api(yk.gz_health_admin, "get", f"/receipts/{number}").status_code == 404

    def verify(content):
        files = {"file": SimpleUploadedFile("extract.csv", content), "receipt": SimpleUploadedFile("r.json", receipt.content)}
        return client.post(BASE + "/receipts/verify", files)

    assert verify(extract.content).json()["valid"] is True
    tampered = verify(extract.content + b"\n")
    assert tampered.json()["valid"] is False and tampered.json()["problems"]
