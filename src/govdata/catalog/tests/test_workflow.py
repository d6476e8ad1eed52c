import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.catalog import selectors, services
from govdata.catalog.models import CatalogEntry, Classification, EntryVersion
from govdata.catalog.seed import seed_classification
from govdata.common.fsm import IllegalTransition
from govdata.notifications.models import Notification

Status = EntryVersion.Status


def entry_values(**overrides):
    values = {
        "name": "社会保险参保信息",
        "summary": "全市职工和城乡居民社会保险参保登记、缴费状态信息",
        "format_category": "database",
        "format_type": "oracle",
        "share_type": "conditional",
        "share_conditions": "仅用于社会保障待遇资格核验",
        "share_method": "platform",
        "platform_mode": "api",
        "open_type": "not_open",
        "open_basis": "涉及个人信息,依据《个人信息保护法》不予开放",
        "update_cycle": "daily",
        "domains": ["social_security"],
    }
    values.update(overrides)
    return values


ITEMS = [
    {"name": "公民身份号码", "code": "sfzh", "data_type": "C", "length": 18, "required": True, "is_key": True, "sensitive": True},
    {"name": "姓名", "code": "xm", "data_type": "C", "length": 50, "required": True, "sensitive": True},
    {"name": "参保险种", "code": "cbxz", "data_type": "C", "length": 20},
    {"name": "参保日期", "code": "cbrq", "data_type": "D"},
]


@pytest.fixture
def cls(db):
    seed_classification(Classification)
    return {c.code: c for c in Classification.objects.all()}


def create(yk, cls, code="202", user=None, **overrides):
    return services.create_entry(t.actor(user or yk.police_admin), yk.police, cls[code], entry_values(**overrides), ITEMS)


@pytest.mark.req("R-12.1")
@pytest.mark.req("R-11.1")
def test_full_review_cycle_with_return_and_resubmit(yk, cls, clock):
    entry = create(yk, cls)
    assert entry.code == "202/000001"
    assert entry.working.status == Status.DRAFT and entry.published is None
    services.submit(t.actor(yk.police_admin), entry)
    assert Notification.objects.filter(recipient=yk.bureau, category="catalog.review").exists()

    with pytest.raises(ValidationError) as err:
        services.return_entry(t.actor(yk.bureau), entry, "  ")
    assert "reason" in err.value.message_dict
    services.return_entry(t.actor(yk.bureau), entry, "共享条件不明确")
    entry.refresh_from_db()
    assert entry.working.status == Status.RETURNED and entry.working.return_reason == "共享条件不明确"
    assert Notification.objects.filter(department=yk.police, category="catalog.returned").exists()

    services.save_draft(t.actor(yk.police_staff), entry, entry_values(share_conditions="用于社保待遇资格认证"), ITEMS)
    services.submit(t.actor(yk.police_admin), entry)
    services.publish(t.actor(yk.bureau), entry)
    entry.refresh_from_db()
    assert entry.working is None and entry.published.status == Status.PUBLISHED
    assert entry.published.publish_date == dt.date(2026, 3, 2)
    actions = list(AuditEvent.objects.filter(object_id=str(entry.pk)).values_list("action", flat=True))
    assert actions == [
        "catalog.entry.create",
        "catalog.entry.submit",
        "catalog.entry.return",
        "catalog.entry.edit",
        "catalog.entry.submit",
        "catalog.entry.publish",
    ]


@pytest.mark.req("R-12.1")
def test_illegal_transitions_raise_one_error_type(yk, cls):
    entry = create(yk, cls)
    with pytest.raises(IllegalTransition):
        services.publish(t.actor(yk.bureau), entry)  # a draft cannot be published
    with pytest.raises(IllegalTransition):
        services.return_entry(t.actor(yk.bureau), entry, "x")
    services.submit(t.actor(yk.police_admin), entry)
    with pytest.raises(IllegalTransition):
        services.submit(t.actor(yk.police_admin), entry)
    with pytest.raises(ValidationError):
        services.save_draft(t.actor(yk.police_admin), entry, entry_values(), ITEMS)  # under review
    services.withdraw(t.actor(yk.police_admin), entry)
    entry.refresh_from_db()
    assert entry.working.status == Status.DRAFT


@pytest.mark.req("R-12.1")
@pytest.mark.req("R-6.1")
def test_review_scope_bureau_and_region_admin(yk, cls):
    city_entry = create(yk, cls)
    county_entry = services.create_entry(
        t.actor(yk.gz_health_admin), yk.gz_health, cls["201"], entry_values(name="盖州市医疗机构名录"), ITEMS
    )
    services.submit(t.actor(yk.police_admin), city_entry)
    services.submit(t.actor(yk.gz_health_admin), county_entry)
    assert list(selectors.review_queue(yk.gz_admin)) == [county_entry]
    assert set(selectors.review_queue(yk.bureau)) == {city_entry, county_entry}
    with pytest.raises(PermissionDenied):
        services.publish(t.actor(yk.gz_admin), city_entry)
    with pytest.raises(PermissionDenied):
        services.publish(t.actor(yk.police_admin), city_entry)  # no self-review
    services.publish(t.actor(yk.gz_admin), county_entry)
    assert CatalogEntry.objects.get(pk=county_entry.pk).published is not None


@pytest.mark.req("R-11.1")
def test_only_own_department_compiles_and_only_admin_submits(yk, cls):
    with pytest.raises(PermissionDenied):
        services.create_entry(t.actor(yk.civil_admin), yk.police, cls["202"], entry_values(), ITEMS)
    entry = create(yk, cls, user=yk.police_staff)
    with pytest.raises(PermissionDenied):
        services.submit(t.actor(yk.police_staff), entry)
    with pytest.raises(PermissionDenied):
        services.save_draft(t.actor(yk.civil_admin), entry, entry_values(), ITEMS)


@pytest.mark.req("R-15.1")
def test_revision_keeps_published_visible_and_diffs_items(yk, cls):
    entry = create(yk, cls)
    services.submit(t.actor(yk.police_admin), entry)
    services.publish(t.actor(yk.bureau), entry)
    v1 = CatalogEntry.objects.get(pk=entry.pk).published
    draft = services.start_revision(t.actor(yk.police_staff), entry)
    assert draft.number == 2 and draft.based_on == v1
    items = [dict(i) for i in ITEMS[:3]] + [{"name": "缴费状态", "code": "jfzt", "data_type": "C", "length": 2}]
    items[1]["length"] = 100
    services.save_draft(t.actor(yk.police_staff), entry, entry_values(update_cycle="realtime"), items)
    # Another department still sees version 1 while version 2 is being edited.
    assert selectors.visible_version(yk.civil_admin, CatalogEntry.objects.get(pk=entry.pk)) == v1
    from govdata.catalog.diff import diff_versions

    diff = diff_versions(v1, EntryVersion.objects.get(pk=draft.pk))
    assert [(c.field, c.old, c.new) for c in diff.fields] == [("update_cycle", "daily", "realtime")]
    kinds = {(c.code, c.kind) for c in diff.items}
    assert kinds == {("cbrq", "removed"), ("jfzt", "added"), ("xm", "changed")}
    xm = next(c for c in diff.items if c.code == "xm")
    assert [(f.field, f.old, f.new) for f in xm.fields] == [("length", 50, 100)]

    services.submit(t.actor(yk.police_admin), entry)
    services.publish(t.actor(yk.bureau), entry)
    entry.refresh_from_db()
    assert entry.published.number == 2
    assert EntryVersion.objects.get(pk=v1.pk).status == Status.SUPERSEDED
    assert entry.versions.count() == 2


@pytest.mark.req("R-16.1")
def test_department_never_sees_another_departments_drafts(yk, cls):
    draft = create(yk, cls)
    published = create(yk, cls, name="居民户籍信息", code="101", share_type="unconditional", share_conditions="")
    services.submit(t.actor(yk.police_admin), published)
    services.publish(t.actor(yk.bureau), published)
    assert set(selectors.entries_visible_to(yk.civil_admin)) == {published}
    assert set(selectors.entries_visible_to(yk.police_staff)) == {draft, published}
    # Reviewers see what is submitted to them, not plain drafts.
    assert draft not in set(selectors.entries_visible_to(yk.bureau))
    services.submit(t.actor(yk.police_admin), draft)
    assert draft in set(selectors.entries_visible_to(yk.bureau))
    assert draft not in set(selectors.entries_visible_to(yk.gz_admin))  # a city entry
    assert draft not in set(selectors.entries_visible_to(yk.civil_admin))


@pytest.mark.req("R-15.1")
def test_quarterly_review_tracks_confirmed_and_overdue(yk, cls, clock):
    clock.set(dt.datetime(2026, 2, 10, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    entries = [create(yk, cls, name=f"资源{i}") for i in range(3)]
    for e in entries:
        services.submit(t.actor(yk.police_admin), e)
        services.publish(t.actor(yk.bureau), e)
    services.confirm_quarterly(t.actor(yk.police_admin), entries[0])
    with pytest.raises(PermissionDenied):
        services.confirm_quarterly(t.actor(yk.police_staff), entries[1])
    status = {s.department: s for s in selectors.quarterly_status(yk.bureau)}[yk.police]
    assert (status.published, status.confirmed, status.overdue_previous) == (3, 1, 0)
    # In the next quarter, the two never confirmed in Q1 are overdue; nothing confirmed yet in Q2.
    clock.set(dt.datetime(2026, 4, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    status = {s.department: s for s in selectors.quarterly_status(yk.bureau)}[yk.police]
    assert (status.confirmed, status.overdue_previous) == (0, 2)
    assert selectors.quarterly_status(yk.civil_admin) == []


@pytest.mark.req("R-15.2")
def test_legal_change_deadline_spans_holiday_and_is_answered_by_new_version(yk, cls, clock):
    sh = dt.timezone(dt.timedelta(hours=8))
    clock.set(dt.datetime(2026, 9, 28, 9, tzinfo=sh))
    entry = create(yk, cls)
    services.submit(t.actor(yk.police_admin), entry)
    services.publish(t.actor(yk.bureau), entry)
    change = services.record_legal_change(
        t.actor(yk.bureau), title="《社会保险法》修正", occurred_on=dt.date(2026, 9, 28), entries=[entry]
    )
    assert Notification.objects.filter(department=yk.police, category="catalog.legal_change").exists()
    [obligation] = selectors.legal_obligations(yk.police_admin)
    # 10 working days after Mon 28 Sep 2026 across National Day (Oct 1-7 off, Sun 20 Sep and
    # Sat 10 Oct worked): 29, 30 Sep, 8, 9, 10, 12, 13, 14, 15, 16 Oct.
    assert obligation.deadline.last_day == dt.date(2026, 10, 16)
    clock.set(dt.datetime(2026, 10, 17, 0, 0, 1, tzinfo=sh))
    assert obligation.overdue(clock.now())
    services.start_revision(t.actor(yk.police_admin), entry)
    services.submit(t.actor(yk.police_admin), entry)
    services.publish(t.actor(yk.bureau), entry)
    assert selectors.legal_obligations(yk.police_admin) == []
    assert change.entries.count() == 1
    with pytest.raises(PermissionDenied):
        services.record_legal_change(t.actor(yk.civil_admin), title="x", occurred_on=dt.date(2026, 9, 1), entries=[entry])
