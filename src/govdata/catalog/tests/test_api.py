import pytest

from govdata.catalog.models import Classification
from govdata.catalog.seed import seed_classification

from .test_workflow import ITEMS, entry_values


@pytest.fixture
def api(yk, client):
    seed_classification(Classification)

    def call(user, method, path, payload=None):
        client.force_login(user)
        return getattr(client, method)(f"/api/v1/catalog{path}", payload, content_type="application/json")

    return call


def new_entry(yk, **overrides):
    return {**entry_values(**overrides), "provider_id": yk.police.pk, "classification": "202", "items": ITEMS}


@pytest.mark.req("R-12.1")
@pytest.mark.req("R-16.1")
def test_api_workflow_and_draft_privacy(yk, api):
    created = api(yk.police_staff, "post", "/entries", new_entry(yk))
    assert created.status_code == 201, created.content
    entry_id = created.json()["id"]
    # Another department cannot read the draft by id, list or search.
    assert api(yk.civil_admin, "get", f"/entries/{entry_id}").status_code == 404
    assert api(yk.civil_admin, "get", "/entries").json() == []
    assert api(yk.police_staff, "post", f"/entries/{entry_id}/submit").status_code == 403
    assert api(yk.police_admin, "post", f"/entries/{entry_id}/submit").status_code == 200
    assert api(yk.police_admin, "post", f"/entries/{entry_id}/submit").status_code == 409
    refused = api(yk.bureau, "post", f"/entries/{entry_id}/return", {"reason": ""})
    assert refused.status_code == 422 and "reason" in refused.json()["errors"]
    published = api(yk.bureau, "post", f"/entries/{entry_id}/publish")
    assert published.json()["version"]["status"] == "published"
    found = api(yk.civil_admin, "get", "/search?q=参保日期")
    assert found.status_code == 200 and [r["id"] for r in found.json()["results"]] == [entry_id]
    assert found.json()["facets"]["share_type"] == {"conditional": 1}


@pytest.mark.req("R-13.2")
def test_api_validation_errors_name_fields(yk, api):
    bad = new_entry(yk, share_type="not_shared", share_basis="")
    bad["items"] = [{"name": "x", "code": "1x", "data_type": "Q"}]
    response = api(yk.police_admin, "post", "/entries", bad)
    assert response.status_code == 422
    assert {"share_basis", "items.1.code", "items.1.data_type"} <= set(response.json()["errors"])
    assert api(yk.civil_admin, "post", "/entries", new_entry(yk)).status_code == 403
