import pytest
from django.core.exceptions import ValidationError

from govdata import testing as t
from govdata.catalog import services
from govdata.catalog.models import CatalogEntry, Classification
from govdata.catalog.rules import check_version
from govdata.catalog.seed import seed_classification

from .test_workflow import ITEMS, entry_values


@pytest.fixture
def cls(db):
    seed_classification(Classification)
    return {c.code: c for c in Classification.objects.all()}


def problems(values, items=ITEMS, classification=None):
    return check_version(values, items, classification)


@pytest.mark.req("R-19.1")
@pytest.mark.parametrize("code", ["101", "102", "103", "105"])
def test_base_resources_must_be_shared_unconditionally(cls, code):
    found = problems(entry_values(), classification=cls[code])
    assert "share_type" in found
    assert "share_type" not in problems(entry_values(share_type="unconditional"), classification=cls[code])
    # Social credit (104) is a base class without that obligation.
    assert "share_type" not in problems(entry_values(), classification=cls["104"])


@pytest.mark.req("R-17.1")
def test_sharing_rules():
    assert "share_conditions" in problems(entry_values(share_conditions=""))
    assert "share_basis" in problems(entry_values(share_type="not_shared", share_conditions=""))
    ok = problems(entry_values(share_type="not_shared", share_basis="《中华人民共和国保守国家秘密法》第十条"))
    assert ok == {}
    assert "share_type" in problems(entry_values(share_type="partly"))
    assert "platform_mode" in problems(entry_values(platform_mode=""))
    assert "platform_mode" in problems(entry_values(share_method="email"))
    assert problems(entry_values(share_method="media", platform_mode="")) == {}


@pytest.mark.req("R-28.1")
@pytest.mark.req("R-30.1")
def test_opening_rules():
    assert "open_basis" in problems(entry_values(open_basis=""))
    assert "open_conditions" in problems(entry_values(open_type="on_application"))
    assert problems(entry_values(open_type="unconditional", open_basis="", share_type="unconditional")) == {}
    assert "open_type" in problems(
        entry_values(share_type="not_shared", share_basis="依据", open_type="unconditional", open_basis="")
    )


@pytest.mark.req("R-13.1")
@pytest.mark.req("R-14.1")
def test_guide_vocabularies_and_formats():
    assert "format_type" in problems(entry_values(format_type="mysql"))
    assert "format_type" not in problems(entry_values(format_category="spreadsheet", format_type="et"))
    assert "format_description" in problems(entry_values(format_category="self_describing", format_type=""))
    assert "update_cycle_note" in problems(entry_values(update_cycle="other"))
    assert "update_cycle" in problems(entry_values(update_cycle="hourly"))
    assert "domains" in problems(entry_values(domains=["tourism"]))
    assert "is_classified" in problems(entry_values(is_classified=True))
    for field in ("name", "summary", "share_type", "open_type", "update_cycle", "format_category", "share_method"):
        assert field in problems(entry_values(**{field: ""})), field


@pytest.mark.req("R-13.1")
def test_data_item_rules():
    bad = [
        {"name": "", "code": "9abc", "data_type": "X", "length": 0},
        {"name": "姓名", "code": "xm", "data_type": "C"},
        {"name": "姓名2", "code": "XM", "data_type": "C", "length": 5, "is_key": True},
    ]
    found = problems(entry_values(), bad)
    assert set(found) >= {
        "items.1.name",
        "items.1.code",
        "items.1.data_type",
        "items.1.length",
        "items.2.length",
        "items.3.code",
        "items.3.required",
    }
    assert "items" in problems(entry_values(), [])


@pytest.mark.req("R-13.1")
def test_service_refuses_invalid_entry_and_writes_nothing(yk, cls):
    before = CatalogEntry.objects.count()
    with pytest.raises(ValidationError) as err:
        services.create_entry(t.actor(yk.police_admin), yk.police, cls["101"], entry_values(), ITEMS)
    assert "share_type" in err.value.message_dict
    assert CatalogEntry.objects.count() == before
    assert Classification.objects.get(code="101").last_serial == 0  # no code was consumed
    with pytest.raises(ValidationError) as err:
        services.create_entry(
            t.actor(yk.police_admin), yk.police, cls["202"], entry_values(related_codes=["999/000001"]), ITEMS
        )
    assert "related_codes" in err.value.message_dict


@pytest.mark.req("R-14.1")
def test_contact_must_belong_to_provider(yk, cls):
    from govdata.orgs import services as org_services

    other = org_services.file_contact(
        t.actor(yk.civil_admin), yk.civil, role="staff", name="王敏", post="科员", mobile="13904171234"
    )
    with pytest.raises(ValidationError) as err:
        services.create_entry(t.actor(yk.police_admin), yk.police, cls["202"], entry_values(contact=other), ITEMS)
    assert "contact" in err.value.message_dict
    own = org_services.file_contact(
        t.actor(yk.police_admin), yk.police, role="staff", name="李强", post="科员", mobile="13904175678"
    )
    entry = services.create_entry(t.actor(yk.police_admin), yk.police, cls["202"], entry_values(contact=own), ITEMS)
    assert entry.working.contact == own
