"""The organisation pages: who sees what, who may change what, and what a change files."""

from __future__ import annotations

import pytest
from django.urls import reverse

from govdata import testing as t
from govdata.orgs import services
from govdata.orgs.models import Contact, ContactChange, ContactRole, Department, InformationSystem, Role, User

pytestmark = pytest.mark.django_db


def file(yk, department, role=ContactRole.STAFF, **values):
    defaults = {"role": role, "name": "王明", "post": "科长", "mobile": "13912345678"}
    return services.file_contact(t.actor(yk.bureau), department, **{**defaults, **values})


def contact_post(contact, **changes):
    data = {name: getattr(contact, name) for name in services.CONTACT_FIELDS}
    data.update(changes)
    return data


def page_text(response) -> str:
    return response.content.decode()


# --- departments list ----------------------------------------------------------------------


@pytest.mark.req("R-6.1")
@pytest.mark.req("R-5.1")
def test_bureau_sees_every_department_in_chinese(client, yk):
    file(yk, yk.police)
    client.force_login(yk.bureau)
    response = client.get(reverse("orgs:departments"))
    assert response.status_code == 200
    text = page_text(response)
    for department in (yk.police, yk.civil, yk.gz_health, yk.bureau_dept):
        assert department.name in text
    assert "部门管理" in text and "统一社会信用代码" in text and "在册联络人" in text
    assert "新建部门" in text
    assert yk.police.credit_code in text
    # Filters: by region and by kind.
    response = client.get(reverse("orgs:departments"), {"region": yk.gaizhou.pk})
    assert [d.name for d in response.context["departments"]] == ["盖州市卫生健康局"]
    response = client.get(reverse("orgs:departments"), {"kind": "public_enterprise"})
    assert response.context["departments"] == []
    rows = {d.name: d.active_contacts for d in client.get(reverse("orgs:departments")).context["departments"]}
    assert rows["营口市公安局"] == 1 and rows["营口市民政局"] == 0


@pytest.mark.req("R-5.1")
@pytest.mark.req("R-6.1")
def test_region_admin_lists_only_their_region(client, yk):
    other_county = t.department("大石桥市教育局", yk.regions["大石桥市"])
    client.force_login(yk.gz_admin)
    response = client.get(reverse("orgs:departments"))
    assert response.status_code == 200
    names = [d.name for d in response.context["departments"]]
    assert names == ["盖州市卫生健康局"]
    text = page_text(response)
    assert yk.police.name not in text and other_county.name not in text
    # The region filter offers only their own region; asking for another shows nothing of it.
    assert list(response.context["filters"].fields["region"].queryset) == [yk.gaizhou]
    response = client.get(reverse("orgs:departments"), {"region": yk.city.pk})
    assert yk.police.name not in page_text(response)


@pytest.mark.req("R-5.1")
@pytest.mark.req("R-6.1")
def test_region_admin_edits_a_county_department_of_their_region_but_not_a_city_one(client, yk):
    client.force_login(yk.gz_admin)
    edit = reverse("orgs:department_edit", args=[yk.gz_health.pk])
    response = client.get(edit)
    assert response.status_code == 200 and "修改部门信息" in page_text(response)
    data = {
        "name": yk.gz_health.name,
        "short_name": "盖州卫健",
        "credit_code": yk.gz_health.credit_code,
        "region": yk.gaizhou.pk,
        "parent": "",
        "kind": "government",
        "sector": "",
        "is_active": "on",
    }
    response = client.post(edit, data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("orgs:department", args=[yk.gz_health.pk])
    assert "已保存" in page_text(response)
    yk.gz_health.refresh_from_db()
    assert yk.gz_health.short_name == "盖州卫健"

    # The city's police bureau is outside their jurisdiction: no page, no edit.
    assert client.get(reverse("orgs:department", args=[yk.police.pk])).status_code == 403
    assert client.get(reverse("orgs:department_edit", args=[yk.police.pk])).status_code == 403
    response = client.post(
        reverse("orgs:department_edit", args=[yk.police.pk]),
        {**data, "name": yk.police.name, "credit_code": yk.police.credit_code, "short_name": "改了"},
    )
    assert response.status_code == 403
    yk.police.refresh_from_db()
    assert yk.police.short_name == "市公安局"
    # Nor can they move their county department into the city.
    response = client.post(edit, {**data, "region": yk.city.pk})
    assert response.status_code == 200 and "region" in response.context["form"].errors
    yk.gz_health.refresh_from_db()
    assert yk.gz_health.region == yk.gaizhou


@pytest.mark.req("R-6.1")
def test_bureau_creates_a_department_and_a_bad_credit_code_is_a_field_error(client, yk):
    client.force_login(yk.bureau)
    url = reverse("orgs:department_create")
    assert "新建部门" in page_text(client.get(url))
    data = {
        "name": "营口市自来水公司",
        "short_name": "市自来水",
        "credit_code": "91210800ABCDEFGH0X",
        "region": yk.city.pk,
        "parent": "",
        "kind": "public_enterprise",
        "sector": "water",
        "is_active": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "credit_code" in response.context["form"].errors
    assert "统一社会信用代码" in page_text(response)
    assert not Department.objects.filter(name="营口市自来水公司").exists()

    response = client.post(url, {**data, "sector": ""})
    assert "sector" in response.context["form"].errors

    response = client.post(url, {**data, "credit_code": t.credit_code()})
    created = Department.objects.get(name="营口市自来水公司")
    assert response.status_code == 302 and response.url == reverse("orgs:department", args=[created.pk])
    assert created.sector == "water" and created.kind == "public_enterprise"


@pytest.mark.req("R-6.2")
def test_department_roles_cannot_list_or_create_departments(client, yk):
    client.force_login(yk.police_admin)
    assert client.get(reverse("orgs:departments")).status_code == 403
    assert client.get(reverse("orgs:department_create")).status_code == 403
    assert client.get(reverse("orgs:department_edit", args=[yk.police.pk])).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, yk):
    response = client.get(reverse("orgs:department", args=[yk.police.pk]))
    assert response.status_code == 302 and response.url.startswith(reverse("web:login"))


# --- department detail and contacts --------------------------------------------------------


@pytest.mark.req("R-7.1")
@pytest.mark.req("R-6.2")
def test_department_admin_sees_their_department_with_contacts_grouped_and_stale_flagged(client, yk, clock):
    leader = file(yk, yk.police, ContactRole.LEADER, name="李强", post="副局长", mobile="13800000001")
    clock.advance(days=100)
    staff = file(yk, yk.police, ContactRole.STAFF, name="赵敏", post="科员", mobile="13800000002")
    client.force_login(yk.police_admin)
    response = client.get(reverse("orgs:department", args=[yk.police.pk]))
    assert response.status_code == 200
    text = page_text(response)
    for chinese in ("基本信息", "备案联络人", "分管领导", "工作专班成员", "专人联络员", "政务信息系统", "统一社会信用代码"):
        assert chinese in text
    groups = {g.role: g for g in response.context["groups"]}
    assert [r.contact for r in groups["leader"].rows] == [leader]
    assert [r.contact for r in groups["staff"].rows] == [staff]
    assert groups["team"].rows == []
    stale = {r.contact.pk: r for g in groups.values() for r in g.rows}
    assert stale[leader.pk].stale and not stale[staff.pk].stale
    assert "已过期" in text and "请于 2026-06-02 前确认" in text  # leader filed 2026-03-02
    assert response.context["stale_count"] == 1
    # A manager gets the buttons.
    assert reverse("orgs:contact_edit", args=[leader.pk]) in text
    assert reverse("orgs:contact_create", args=[yk.police.pk]) in text
    assert reverse("orgs:contact_confirm_all", args=[yk.police.pk]) in text
    assert reverse("orgs:user_create", args=[yk.police.pk]) in text

    # Confirming the stale contact clears the flag and files a confirmation.
    response = client.post(reverse("orgs:contact_confirm", args=[leader.pk]), follow=True)
    assert "已确认 李强 的信息无误" in page_text(response)
    assert not any(r.stale for g in response.context["groups"] for r in g.rows)
    assert leader.changes.filter(kind=ContactChange.Kind.CONFIRMED).count() == 1

    response = client.post(reverse("orgs:contact_confirm_all", args=[yk.police.pk]), follow=True)
    assert "已确认 2 名联络人的信息无误" in page_text(response)


@pytest.mark.req("R-7.1")
def test_contact_edit_through_the_form_files_a_change_with_the_old_values(client, yk):
    contact = file(yk, yk.police, ContactRole.STAFF, name="王明", mobile="13912345678")
    client.force_login(yk.police_admin)
    url = reverse("orgs:contact_edit", args=[contact.pk])
    response = client.get(url)
    assert response.status_code == 200 and "修改联络人" in page_text(response) and "手机号码" in page_text(response)
    response = client.post(url, contact_post(contact, mobile="13698765432", post="副科长"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("orgs:department", args=[yk.police.pk]))
    text = page_text(response)
    assert "已保存" in text and "13698765432" in text
    change = contact.changes.get(kind=ContactChange.Kind.UPDATED)
    assert change.old_values == {"mobile": "13912345678", "post": "科长"}
    assert change.new_values == {"mobile": "13698765432", "post": "副科长"}
    assert change.changed_by == yk.police_admin
    contact.refresh_from_db()
    assert contact.mobile == "13698765432"

    history = client.get(reverse("orgs:contact_history", args=[contact.pk]))
    assert history.status_code == 200
    text = page_text(history)
    assert "王明 的变更记录" in text and "变更" in text and "备案" in text
    assert "13912345678" in text and "13698765432" in text and "手机号码" in text


@pytest.mark.req("R-7.1")
def test_a_bad_mobile_number_is_a_field_error_naming_the_field_and_saves_nothing(client, yk):
    contact = file(yk, yk.police)
    changes_before = ContactChange.objects.count()
    client.force_login(yk.police_admin)

    response = client.post(reverse("orgs:contact_edit", args=[contact.pk]), contact_post(contact, mobile="1234567"))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["mobile"]
    text = page_text(response)
    assert "未保存任何内容" in text
    assert "<strong>手机号码</strong>" in text  # the summary names the field
    assert 'data-field="mobile"' in text and "is-invalid" in text
    contact.refresh_from_db()
    assert contact.mobile == "13912345678"
    assert ContactChange.objects.count() == changes_before

    response = client.post(
        reverse("orgs:contact_create", args=[yk.police.pk]),
        {"role": "leader", "name": "张三", "post": "局长", "mobile": "02345678901"},
    )
    assert response.status_code == 200 and "mobile" in response.context["form"].errors
    assert not Contact.objects.filter(name="张三").exists()
    assert ContactChange.objects.count() == changes_before


@pytest.mark.req("R-7.1")
def test_department_admin_files_and_removes_a_contact_and_history_keeps_it(client, yk):
    client.force_login(yk.police_admin)
    response = client.post(
        reverse("orgs:contact_create", args=[yk.police.pk]),
        {"role": "team", "name": "孙丽", "post": "数据专班组长", "mobile": "13700000003", "email": "sunli@yk.gov.cn"},
        follow=True,
    )
    assert "联络人已备案" in page_text(response)
    contact = Contact.objects.get(name="孙丽")
    assert contact.department == yk.police and contact.role == "team"

    assert client.get(reverse("orgs:contact_remove", args=[contact.pk])).status_code == 405
    response = client.post(reverse("orgs:contact_remove", args=[contact.pk]), follow=True)
    assert "已将 孙丽 从备案联络人中移除" in page_text(response)
    contact.refresh_from_db()
    assert not contact.is_active
    assert response.context["removed"] == [contact]
    kinds = list(contact.changes.values_list("kind", flat=True))
    assert kinds == ["removed", "created"]
    text = page_text(client.get(reverse("orgs:contact_history", args=[contact.pk])))
    assert "已移除" in text and "数据专班组长" in text
    # A removed contact cannot be edited any more.
    response = client.post(reverse("orgs:contact_edit", args=[contact.pk]), contact_post(contact, name="孙丽丽"), follow=True)
    assert "该联络人已被移除" in page_text(response)
    contact.refresh_from_db()
    assert contact.name == "孙丽"


@pytest.mark.req("R-6.2")
@pytest.mark.req("R-7.1")
@pytest.mark.req("R-9.1")
def test_department_admin_cannot_reach_another_departments_records(client, yk):
    civil_contact = file(yk, yk.civil, name="周平")
    civil_system = services.register_system(
        t.actor(yk.civil_admin), yk.civil, name="社会救助系统", owner="救助科", status="existing"
    )
    client.force_login(yk.police_admin)
    assert client.get(reverse("orgs:department", args=[yk.civil.pk])).status_code == 403
    for name in ("contact_edit", "contact_history"):
        assert client.get(reverse(f"orgs:{name}", args=[civil_contact.pk])).status_code == 404
    assert client.post(reverse("orgs:contact_edit", args=[civil_contact.pk]), contact_post(civil_contact, name="x")).status_code == 404
    for name in ("contact_confirm", "contact_remove"):
        assert client.post(reverse(f"orgs:{name}", args=[civil_contact.pk])).status_code == 404
    for name in ("contact_create", "system_create", "user_create"):
        assert client.get(reverse(f"orgs:{name}", args=[yk.civil.pk])).status_code == 403
    response = client.post(
        reverse("orgs:contact_create", args=[yk.civil.pk]),
        {"role": "staff", "name": "入侵者", "post": "x", "mobile": "13900000000"},
    )
    assert response.status_code == 403
    assert client.post(reverse("orgs:contact_confirm_all", args=[yk.civil.pk])).status_code == 403
    assert client.get(reverse("orgs:system_edit", args=[civil_system.pk])).status_code == 404
    response = client.post(
        reverse("orgs:system_edit", args=[civil_system.pk]),
        {"name": "改名", "owner": "x", "status": "new", "is_active": "on"},
    )
    assert response.status_code == 404
    assert client.post(reverse("orgs:user_set_active", args=[yk.civil_admin.pk]), {"active": "0"}).status_code == 404
    civil_contact.refresh_from_db()
    civil_system.refresh_from_db()
    yk.civil_admin.refresh_from_db()
    assert civil_contact.name == "周平" and civil_contact.is_active
    assert civil_system.name == "社会救助系统"
    assert yk.civil_admin.is_active
    assert not Contact.objects.filter(name="入侵者").exists()


@pytest.mark.req("R-6.1")
@pytest.mark.req("R-7.1")
def test_evaluator_reads_everything_but_gets_no_buttons_and_posts_are_refused(client, yk):
    contact = file(yk, yk.police)
    system = services.register_system(t.actor(yk.police_admin), yk.police, name="警务综合平台", owner="科信处", status="existing")
    client.force_login(yk.evaluator)
    response = client.get(reverse("orgs:departments"))
    assert response.status_code == 200 and "新建部门" not in page_text(response)
    assert all(not d.can_edit for d in response.context["departments"])

    response = client.get(reverse("orgs:department", args=[yk.police.pk]))
    assert response.status_code == 200
    text = page_text(response)
    assert "王明" in text and "警务综合平台" in text
    for url in (
        reverse("orgs:contact_edit", args=[contact.pk]),
        reverse("orgs:contact_confirm", args=[contact.pk]),
        reverse("orgs:contact_remove", args=[contact.pk]),
        reverse("orgs:contact_create", args=[yk.police.pk]),
        reverse("orgs:contact_confirm_all", args=[yk.police.pk]),
        reverse("orgs:system_create", args=[yk.police.pk]),
        reverse("orgs:system_edit", args=[system.pk]),
        reverse("orgs:user_create", args=[yk.police.pk]),
        reverse("orgs:department_edit", args=[yk.police.pk]),
        reverse("orgs:user_set_active", args=[yk.police_staff.pk]),
    ):
        assert url not in text, url
    assert reverse("orgs:contact_history", args=[contact.pk]) in text
    assert client.get(reverse("orgs:contact_history", args=[contact.pk])).status_code == 200

    before = ContactChange.objects.count()
    assert client.get(reverse("orgs:contact_edit", args=[contact.pk])).status_code == 403
    assert client.post(reverse("orgs:contact_edit", args=[contact.pk]), contact_post(contact, name="改")).status_code == 403
    assert client.post(reverse("orgs:contact_confirm", args=[contact.pk])).status_code == 403
    assert client.post(reverse("orgs:contact_remove", args=[contact.pk])).status_code == 403
    assert client.post(reverse("orgs:contact_confirm_all", args=[yk.police.pk])).status_code == 403
    response = client.post(
        reverse("orgs:contact_create", args=[yk.police.pk]),
        {"role": "staff", "name": "评估员", "post": "x", "mobile": "13900000000"},
    )
    assert response.status_code == 403
    response = client.post(
        reverse("orgs:system_edit", args=[system.pk]), {"name": "改名", "owner": "x", "status": "new", "is_active": "on"}
    )
    assert response.status_code == 403
    assert client.post(reverse("orgs:user_set_active", args=[yk.police_staff.pk]), {"active": "0"}).status_code == 403
    assert ContactChange.objects.count() == before
    contact.refresh_from_db()
    system.refresh_from_db()
    yk.police_staff.refresh_from_db()
    assert contact.name == "王明" and contact.is_active and system.name == "警务综合平台" and yk.police_staff.is_active


@pytest.mark.req("R-6.2")
@pytest.mark.req("R-7.1")
def test_department_staff_reads_their_department_without_edit_rights(client, yk):
    contact = file(yk, yk.police)
    client.force_login(yk.police_staff)
    response = client.get(reverse("orgs:department", args=[yk.police.pk]))
    assert response.status_code == 200 and "王明" in page_text(response)
    assert reverse("orgs:contact_edit", args=[contact.pk]) not in page_text(response)
    assert client.post(reverse("orgs:contact_confirm", args=[contact.pk])).status_code == 403


# --- information systems -------------------------------------------------------------------


@pytest.mark.req("R-9.1")
def test_department_admin_registers_and_edits_an_information_system(client, yk):
    client.force_login(yk.police_admin)
    url = reverse("orgs:system_create", args=[yk.police.pk])
    assert "登记政务信息系统" in page_text(client.get(url))
    data = {"name": "人口信息管理系统", "owner": "户政处", "status": "existing", "connected": "on", "interface_notes": "REST 推送", "is_active": "on"}
    response = client.post(url, data, follow=True)
    assert "政务信息系统已登记" in page_text(response)
    system = InformationSystem.objects.get(name="人口信息管理系统")
    assert system.department == yk.police and system.connected
    assert "人口信息管理系统" in page_text(response) and "已建" in page_text(response)

    # A second system of the same name is refused on the form, nothing written.
    response = client.post(url, data)
    assert response.status_code == 200 and response.context["form"].errors
    assert InformationSystem.objects.filter(department=yk.police).count() == 1

    edit = reverse("orgs:system_edit", args=[system.pk])
    response = client.post(edit, {**data, "connected": "", "owner": "科技信息化处"}, follow=True)
    assert "已保存" in page_text(response)
    system.refresh_from_db()
    assert system.owner == "科技信息化处" and not system.connected


# --- users ---------------------------------------------------------------------------------


@pytest.mark.req("R-6.2")
def test_department_admin_creates_a_user_and_deactivates_one(client, yk):
    client.force_login(yk.police_admin)
    url = reverse("orgs:user_create", args=[yk.police.pk])
    response = client.get(url)
    assert response.status_code == 200 and "创建账号" in page_text(response)
    # Only department roles are offered.
    assert {v for v, _label in response.context["form"].fields["role"].choices} == {
        Role.DEPARTMENT_ADMIN,
        Role.DEPARTMENT_STAFF,
        Role.SECURITY_OFFICER,
    }
    data = {"username": "police-new", "full_name": "钱进", "role": "department_staff", "mobile": "", "email": "",
            "password": t.PASSWORD, "password2": t.PASSWORD}
    response = client.post(url, {**data, "password": "12345678", "password2": "12345678"})
    assert "password" in response.context["form"].errors
    assert not User.objects.filter(username="police-new").exists()
    response = client.post(url, {**data, "role": "bureau_admin"})
    assert "role" in response.context["form"].errors

    response = client.post(url, data, follow=True)
    assert "账号 police-new 已创建" in page_text(response)
    created = User.objects.get(username="police-new")
    assert created.department == yk.police
    assert list(created.roles.values_list("role", flat=True)) == ["department_staff"]
    assert "部门工作人员" in page_text(response)

    response = client.post(url, data)
    assert "username" in response.context["form"].errors

    response = client.post(reverse("orgs:user_set_active", args=[created.pk]), {"active": "0"}, follow=True)
    created.refresh_from_db()
    assert not created.is_active and "账号 police-new 已停用" in page_text(response)
    client.post(reverse("orgs:user_set_active", args=[created.pk]), {"active": "1"})
    created.refresh_from_db()
    assert created.is_active
    # Never one's own account.
    assert client.post(reverse("orgs:user_set_active", args=[yk.police_admin.pk]), {"active": "0"}).status_code == 403
    yk.police_admin.refresh_from_db()
    assert yk.police_admin.is_active


# --- contact report ------------------------------------------------------------------------


@pytest.mark.req("R-7.1")
@pytest.mark.req("R-5.1")
def test_contact_report_lists_departments_needing_attention_worst_first(client, yk, clock):
    # Police: complete and fresh. Civil: a stale leader and a stale staff contact.
    # Bureau department and Gaizhou health: nothing filed (both roles missing).
    file(yk, yk.civil, ContactRole.LEADER, name="吴刚")
    file(yk, yk.civil, ContactRole.STAFF, name="郑丽")
    file(yk, yk.gz_health, ContactRole.LEADER, name="冯军")
    clock.advance(days=120)
    file(yk, yk.police, ContactRole.LEADER, name="李强")
    file(yk, yk.police, ContactRole.STAFF, name="赵敏")

    client.force_login(yk.bureau)
    response = client.get(reverse("orgs:contact_report"))
    assert response.status_code == 200
    text = page_text(response)
    assert "联络人备案" in text and "缺少的联络人" in text and "上次确认 2026-03-02" in text
    names = [row.department.name for row in response.context["rows"]]
    assert names == ["营口市大数据管理局", "盖州市卫生健康局", "营口市民政局"]
    assert "营口市公安局" not in names
    civil = response.context["rows"][2]
    assert sorted(c.name for c, _due in civil.stale) == sorted(["吴刚", "郑丽"])

    response = client.get(reverse("orgs:contact_report"), {"all": "1"})
    assert [row.department.name for row in response.context["rows"]][-1] == "营口市公安局"

    # A region admin sees only their region; department roles do not see the report.
    client.force_login(yk.gz_admin)
    response = client.get(reverse("orgs:contact_report"))
    assert [row.department.name for row in response.context["rows"]] == ["盖州市卫生健康局"]
    client.force_login(yk.police_admin)
    assert client.get(reverse("orgs:contact_report")).status_code == 403
