"""CKAN result pages (issue #6): a page of ``package_search`` takes the same queries for one
dataset as for thirty (its dictionaries come from a fixed number of queries, not from
per-dataset loads), and every action that describes a dataset describes it the same way."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govdata import testing as t
from govdata.catalog import services as catalog_services
from govdata.catalog.models import CatalogEntry, Classification
from govdata.catalog.seed import seed_classification
from govdata.datastore import services as datastore_services

from .conftest import ITEMS, values

ACTION = "/api/3/action/"
DATASETS = 30


@pytest.fixture
def many(yk):
    """Thirty datasets of two departments in two regions, published through the services:
    themes, priority domains, file and interface resources (some not published), on
    application or unconditionally open, one imported from the provincial platform."""
    seed_classification(Classification)
    cls = {c.code: c for c in Classification.objects.all()}
    providers = [(yk.civil, yk.civil_admin), (yk.gz_health, yk.gz_health_admin)]
    domains = [[], ["transport"], ["credit", "social_security"]]
    entries = []
    for i in range(DATASETS):
        provider, admin = providers[i % 2]
        on_application = i % 4 == 0
        entry = catalog_services.create_entry(
            t.actor(admin),
            provider,
            cls["202" if i % 3 else "304"],
            values(
                name=f"测试数据集{i:02d}",
                summary=f"第{i}个",
                themes=[cls["202"], cls["206"]][: i % 3],
                domains=domains[i % 3],
                **(
                    {"open_type": "on_application", "open_conditions": "签署承诺", "open_basis": "涉及经营信息"}
                    if on_application
                    else {}
                ),
            ),
            ITEMS,
        )
        catalog_services.submit(t.actor(admin), entry)
        catalog_services.publish(t.actor(yk.bureau), entry)
        entry.refresh_from_db()
        entries.append(entry)
        for n in range(i % 3):
            kind = "api" if n else "file"
            resource = datastore_services.mount(t.actor(admin), entry, kind=kind, name=f"资源{i}-{n}")
            if (i + n) % 5:  # the others stay drafts, which the public never sees
                datastore_services.submit(t.actor(admin), resource)
                datastore_services.publish(t.actor(yk.bureau), resource)
    # Maintained on the provincial platform: described with its upper-level provider.
    CatalogEntry.objects.filter(pk=entries[1].pk).update(origin="provincial", origin_provider="辽宁省民政厅")
    return yk


def call(client, name: str, **params) -> dict:
    response = client.get(ACTION + name, params)
    body = json.loads(response.content)
    assert response.status_code == 200 and body["success"], body
    return body["result"]


def queries(client, **params) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        call(client, "package_search", **params)
    return [q["sql"] for q in captured.captured_queries]


def test_a_result_page_takes_the_same_queries_whatever_its_length(client, many):
    call(client, "package_search")  # the search's per-process table, loaded once
    empty, one, page = (queries(client, rows=rows, sort="name asc") for rows in (0, 1, DATASETS))
    assert call(client, "package_search", rows=DATASETS)["count"] == DATASETS
    assert len(page) == len(one)
    # The page itself: its entries, their themes, their resources.
    assert len(page) - len(empty) <= 3


def test_every_action_describes_a_dataset_alike(client, many):
    found = call(client, "package_search", rows=DATASETS, sort="name asc")["results"]
    assert [p["title"] for p in found] == [f"测试数据集{i:02d}" for i in range(DATASETS)]
    shown = {p["id"]: call(client, "package_show", id=p["name"]) for p in found}
    assert found == [shown[p["id"]] for p in found]
    by_department = [
        package
        for department in (many.civil, many.gz_health)
        for package in call(client, "organization_show", id=department.credit_code, include_datasets="true")[
            "packages"
        ]
    ]
    assert sorted(by_department, key=lambda p: p["id"]) == sorted(found, key=lambda p: p["id"])
    for package in found:
        for resource in package["resources"]:
            assert call(client, "resource_show", id=resource["id"]) == resource

    # What the page holds: the fixture's variety made it through.
    assert {p["license_id"] for p in found} == {"cc-by", "other-closed"}
    assert {len(p["groups"]) for p in found} == {0, 1, 2}
    assert {t["name"] for p in found for t in p["tags"]} == {"transport", "credit", "social_security"}
    assert {r["format"] for p in found for r in p["resources"]} == {"ORACLE", "API"}
    assert sum(p["num_resources"] for p in found) < sum(i % 3 for i in range(DATASETS))  # drafts left out
    extras = [{e["key"]: e["value"] for e in p["extras"]} for p in found]
    assert sum("origin_provider" in e for e in extras) == 1
    assert sum("open_conditions" in e for e in extras) == len(range(0, DATASETS, 4))
    assert {p["organization"]["name"] for p in found} == {
        many.civil.credit_code.lower(),
        many.gz_health.credit_code.lower(),
    }
